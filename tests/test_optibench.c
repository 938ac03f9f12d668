/* OptiBench's own protocol end to end: optagent batch on an OptiBench file
 * against the fake LLM server. The prompts carry every query name and no
 * gold value; three queries answered by name are right; a wrong secondary
 * quantity is right under the objective-only view (default) and wrong under
 * --match optibench, and the reports say which query failed; a missing query
 * gets a correction round (task "correct") naming it; a correction that ends
 * worse keeps the solved answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "tests/support.h"
#include "tests/support_fake.h"

static char *dir;
static char bin[512];

/* Golds no prompt text holds: a request containing one leaked it. */
#define CHAIRS 137
#define TABLES 291
#define PROFIT 18660   /* 30 * 137 + 50 * 291 */
static const char *const NAMES[] = { "Number of chairs", "Number of tables", "Maximum profit" };

/* A formulation answering chairs and tables by report entries (tables as
 * the expression given) and the profit by the objective's name. */
static char *formulation(const char *tables_expr, int with_tables)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "Here is the model.\n```json\n{\"format\":1,\"variables\":["
             "{\"name\":\"c\",\"type\":\"integer\",\"upper\":%d},"
             "{\"name\":\"t\",\"type\":\"integer\",\"upper\":%d}],"
             "\"objective\":{\"name\":\"Maximum_profit\",\"sense\":\"max\",\"expression\":\"30*c + 50*t\"},"
             "\"constraints\":[],\"report\":[{\"name\":\"Number of chairs\",\"expression\":\"c\"}%s%s%s]}\n```",
             CHAIRS, TABLES, with_tables ? ",{\"name\":\"Number of tables\",\"expression\":\"" : "",
             with_tables ? tables_expr : "", with_tables ? "\"}" : "");
    return strdup(buf);
}

static const char *path_of(const char *name)
{
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* An OptiBench file (a JSON array) with one problem "Problem NAME". */
static const char *write_problem(const char *file, const char *name)
{
    const char *p = path_of(file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "[{\"question\": \"Problem %s: a workshop builds chairs and tables within its "
               "limits. How many chairs and tables should it build, and what is the maximum "
               "profit?\", \"index\": 1, \"type\": \"linear-notable\", \"results\": "
               "{\"%s\": \"%d\", \"%s\": \"%d\", \"%s\": \"%d\"}}]\n",
            name, NAMES[0], CHAIRS, NAMES[1], TABLES, NAMES[2], PROFIT);
    fclose(f);
    return p;
}

static void add_rule(cJSON *rules, const char *task, const char *needle, const char *content)
{
    cJSON *r = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(r, "match");
    if (task) cJSON_AddStringToObject(m, "task", task);
    if (needle) cJSON_AddStringToObject(m, "content_contains", needle);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "reply"), "content", content);
    cJSON_AddItemToArray(rules, r);
}

static ts_fake *start(cJSON *rules)
{
    cJSON *script = cJSON_CreateObject();
    cJSON_AddItemToObject(script, "rules", rules);
    cJSON_AddStringToObject(script, "default", "no idea");
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st;
    char *o = ts_run_capture(cmd, NULL, &st);
    assert_non_null(o);
    if (out) *out = o;
    else free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs batch on file against f; its stdout in *out (may be NULL). */
static int batch(ts_fake *f, const char *file, const char *db, const char *extra, char **out)
{
    return sh(out, "env -u OPENAI_BASE_URL -u OPENAI_API_KEY XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s "
                   "OPTAGENT_BASE_URL=%s OPTAGENT_MODEL=fake %s/optagent batch %s --db %s "
                   "--no-library --no-progress %s 2>/dev/null",
              dir, dir, ts_fake_base_url(f), bin, file, db, extra ? extra : "");
}

static cJSON *eval_json(const char *db, const char *rule)
{
    char *o;
    assert_int_equal(sh(&o, "%s/optagent eval --db %s --match %s --format json", bin, db, rule), 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    assert_non_null(j);
    return j;
}

static long long query(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* What optagent itself wrote in request k (its system and user messages,
 * joined; the assistant messages are the LLM's own replies). */
static char *agent_text(cJSON *log, int k)
{
    cJSON *req = cJSON_GetArrayItem(log, k);
    assert_non_null(req);
    cJSON *body = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(req, "body")));
    assert_non_null(body);
    ts_str s = { 0 };
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(body, "messages")) {
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
        if (role && c && strcmp(role, "assistant")) ts_str_printf(&s, "%s\n", c);
    }
    cJSON_Delete(body);
    return s.s ? s.s : strdup("");
}

static void assert_names_and_no_gold(const char *text)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", NAMES[i]);
        if (!strstr(text, quoted)) fail_msg("the request does not name %s", quoted);
    }
    static const int golds[] = { CHAIRS, TABLES, PROFIT };
    for (size_t i = 0; i < sizeof golds / sizeof golds[0]; i++) {
        char g[32];
        snprintf(g, sizeof g, "%d", golds[i]);
        if (strstr(text, g)) fail_msg("the request carries the gold value %s", g);
    }
}

static const char *task_of(cJSON *log, int k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, k), "task"));
}

static const cJSON *problem0(const cJSON *report)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(report, "problems"), 0);
}

static const char *query_status(const cJSON *problem, const char *name)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(problem, "queries"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(q, "name")), name))
            return cJSON_GetStringValue(cJSON_GetObjectItem(q, "status"));
    return NULL;
}

static double overall(const cJSON *report, const char *group, const char *key)
{
    const cJSON *o = cJSON_GetObjectItem(report, "overall");
    if (group) o = cJSON_GetObjectItem(o, group);
    const cJSON *v = cJSON_GetObjectItem(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_three_queries_right_by_name(void **state)
{
    (void)state;
    char *good = formulation("t", 1);
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "formulate", "Problem alpha", good);
    ts_fake *f = start(rules);
    const char *file = write_problem("alpha.json", "alpha"), *db = path_of("alpha.db");
    char *out;
    assert_int_equal(batch(f, file, db, "--match optibench", &out), 0);
    assert_non_null(strstr(out, "1 problems, 1 with a gold answer, 1 correct"));
    assert_non_null(strstr(out, "rule optibench"));
    assert_non_null(strstr(out, "3 matched by name, 0 matched by value"));
    free(out);

    cJSON *log = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(log), 1);   /* nothing to correct */
    assert_string_equal(task_of(log, 0), "formulate");
    char *text = agent_text(log, 0);
    assert_non_null(strstr(text, "## The quantities asked for"));
    assert_names_and_no_gold(text);
    free(text);
    cJSON_Delete(log);

    cJSON *j = eval_json(db, "optibench");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "rule")), "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 1);
    assert_int_equal((int)overall(j, "queries", "by_name"), 3);
    assert_int_equal((int)overall(j, "queries", "by_value"), 0);
    const cJSON *p = problem0(j);
    for (size_t i = 0; i < 3; i++) assert_string_equal(query_status(p, NAMES[i]), "by_name");
    cJSON_Delete(j);
    ts_fake_stop(f);
    free(good);
}

static void test_wrong_secondary_quantity(void **state)
{
    (void)state;
    char *off = formulation("t + 1", 1);   /* tables reported one too many */
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "formulate", "Problem beta", off);
    ts_fake *f = start(rules);
    const char *file = write_problem("beta.json", "beta"), *db = path_of("beta.db");
    char *out;
    const char *lines = path_of("beta.out");
    char extra[1200];
    snprintf(extra, sizeof extra, "--match optibench --out %s", lines);
    assert_int_equal(batch(f, file, db, extra, &out), 0);
    assert_non_null(strstr(out, "1 with a gold answer, 0 correct"));
    free(out);
    /* the --out line says each query's fate */
    size_t len;
    char *text = ts_read_file(lines, &len);
    assert_non_null(text);
    cJSON *line = cJSON_Parse(text);
    free(text);
    cJSON *qs = cJSON_GetObjectItem(line, "queries");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(qs, "Number of tables")), "wrong");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(qs, "Maximum profit")), "by_name");
    cJSON_Delete(line);

    /* the objective-only view: right */
    cJSON *d = eval_json(db, "default");
    assert_int_equal((int)overall(d, NULL, "correct"), 1);
    assert_null(cJSON_GetObjectItem(problem0(d), "queries"));
    cJSON_Delete(d);
    /* every query: wrong, and the report says which */
    cJSON *j = eval_json(db, "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 0);
    const cJSON *p = problem0(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "category")), "wrong_answer");
    assert_string_equal(query_status(p, "Number of tables"), "wrong");
    assert_string_equal(query_status(p, "Number of chairs"), "by_name");
    assert_string_equal(query_status(p, "Maximum profit"), "by_name");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "objective_right")));
    assert_int_equal((int)overall(j, "queries", "objective_only_right"), 1);
    assert_true(overall(j, "queries", "objective_only_right_share") == 1.0);
    cJSON_Delete(j);

    char *md;
    assert_int_equal(sh(&md, "%s/optagent eval --db %s --match optibench", bin, db), 0);
    assert_non_null(strstr(md, "wrong: \"Number of tables\" (gold 291, answer 292)"));
    assert_non_null(strstr(md, "Objective right but another quantity not: **100.0%**"));
    assert_non_null(strstr(md, "every queried quantity must match"));
    free(md);
    char *html;
    assert_int_equal(sh(&html, "%s/optagent eval --db %s --match optibench --format html", bin, db), 0);
    assert_non_null(strstr(html, "wrong: \"Number of tables\" (gold 291, answer 292)"));
    assert_non_null(strstr(html, "<th>queries not matched</th>"));
    free(html);
    ts_fake_stop(f);
    free(off);
}

static void test_missing_query_corrected(void **state)
{
    (void)state;
    char *partial = formulation(NULL, 0), *good = formulation("t", 1);
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "correct", "Problem gamma", good);
    add_rule(rules, "formulate", "Problem gamma", partial);
    ts_fake *f = start(rules);
    const char *file = write_problem("gamma.json", "gamma"), *db = path_of("gamma.db");
    char *out;
    assert_int_equal(batch(f, file, db, "--match optibench", &out), 0);
    assert_non_null(strstr(out, "1 correct"));
    free(out);

    cJSON *log = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(log), 2);
    assert_string_equal(task_of(log, 0), "formulate");
    assert_string_equal(task_of(log, 1), "correct");
    char *text = agent_text(log, 1);
    assert_non_null(strstr(text, "no entry named \"Number of tables\""));
    assert_null(strstr(text, "no entry named \"Number of chairs\""));
    assert_null(strstr(text, "no entry named \"Maximum profit\""));   /* the objective's name */
    assert_names_and_no_gold(text);
    free(text);
    cJSON_Delete(log);
    assert_int_equal(query(db, "select attempts from problems"), 2);
    assert_int_equal(query(db, "select count(*) from attempts where stage = 'correct'"), 1);
    cJSON *j = eval_json(db, "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 1);
    cJSON_Delete(j);
    ts_fake_stop(f);
    free(partial);
    free(good);
}

/* The correction of a missing query fails and the rounds run out: the run
 * keeps its solved answer (right on the objective, missing the query). */
static void test_failed_correction_keeps_the_answer(void **state)
{
    (void)state;
    char *partial = formulation(NULL, 0);
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "correct", "Problem delta", "I cannot do better.");
    add_rule(rules, "formulate", "Problem delta", partial);
    ts_fake *f = start(rules);
    const char *file = write_problem("delta.json", "delta"), *db = path_of("delta.db");
    assert_int_equal(batch(f, file, db, "--match optibench --max-corrections 1", NULL), 0);
    cJSON *log = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(log), 2);
    cJSON_Delete(log);
    assert_int_equal(query(db, "select count(*) from problems where outcome = 'ok' and answer is not null"), 1);
    cJSON *d = eval_json(db, "default");
    assert_int_equal((int)overall(d, NULL, "correct"), 1);
    cJSON_Delete(d);
    cJSON *j = eval_json(db, "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 0);
    const cJSON *p = problem0(j);
    assert_string_equal(query_status(p, "Number of tables"), "missing");
    assert_int_equal((int)overall(j, "queries", "missing"), 1);
    cJSON_Delete(j);
    ts_fake_stop(f);
    free(partial);
}

/* A problem without queries: no block, no extra round. */
static void test_no_queries_no_block(void **state)
{
    (void)state;
    char *good = formulation("t", 1);
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "formulate", "Problem epsilon", good);
    ts_fake *f = start(rules);
    const char *file = path_of("eps.jsonl"), *db = path_of("eps.db");
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"id\": \"e1\", \"question\": \"Problem epsilon: chairs and tables.\", \"answer\": %d}\n", PROFIT);
    fclose(fp);
    assert_int_equal(batch(f, file, db, "--match optibench", NULL), 0);
    cJSON *log = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(log), 1);
    char *text = agent_text(log, 0);
    assert_null(strstr(text, "quantities asked for"));
    assert_null(strstr(text, "{{queries}}"));
    free(text);
    cJSON_Delete(log);
    cJSON *j = eval_json(db, "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 1);
    cJSON_Delete(j);
    ts_fake_stop(f);
    free(good);
}

/* A plain record's "queries" are asked for by name too. */
static void test_plain_queries_asked(void **state)
{
    (void)state;
    char *good = formulation("t", 1);
    cJSON *rules = cJSON_CreateArray();
    add_rule(rules, "formulate", "Problem zeta", good);
    ts_fake *f = start(rules);
    const char *file = path_of("zeta.jsonl"), *db = path_of("zeta.db");
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"id\": \"z1\", \"question\": \"Problem zeta: chairs and tables.\", \"answer\": %d, "
                "\"queries\": {\"%s\": %d, \"%s\": \"%d\"}}\n", PROFIT, NAMES[0], CHAIRS, NAMES[1], TABLES);
    fclose(fp);
    assert_int_equal(batch(f, file, db, "--match optibench", NULL), 0);
    cJSON *log = ts_fake_requests(f, 1);
    char *text = agent_text(log, 0);
    assert_non_null(strstr(text, "\"Number of chairs\""));
    assert_non_null(strstr(text, "\"Number of tables\""));
    assert_null(strstr(text, "\"Maximum profit\""));   /* not a query here */
    free(text);
    cJSON_Delete(log);
    cJSON *j = eval_json(db, "optibench");
    assert_int_equal((int)overall(j, NULL, "correct"), 1);
    assert_int_equal((int)overall(j, "queries", "graded"), 2);
    cJSON_Delete(j);
    ts_fake_stop(f);
    free(good);
}

static void test_match_option_parsed(void **state)
{
    (void)state;
    char *o;
    assert_int_equal(sh(&o, "%s/optagent eval --match nope 2>&1", bin), 2);
    assert_non_null(strstr(o, "optibench"));
    free(o);
    assert_int_equal(sh(&o, "%s/optagent batch x.json --match nope 2>&1", bin), 2);
    assert_non_null(strstr(o, "optibench"));
    free(o);
    assert_int_equal(sh(&o, "%s/optagent batch --help", bin), 0);
    assert_non_null(strstr(o, "optibench"));
    free(o);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build");
    dir = ts_mkdtemp();
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_queries_right_by_name),
        cmocka_unit_test(test_wrong_secondary_quantity),
        cmocka_unit_test(test_missing_query_corrected),
        cmocka_unit_test(test_failed_correction_keeps_the_answer),
        cmocka_unit_test(test_no_queries_no_block),
        cmocka_unit_test(test_plain_queries_asked),
        cmocka_unit_test(test_match_option_parsed),
    };
    return cmocka_run_group_tests_name("optibench", tests, setup, teardown);
}
