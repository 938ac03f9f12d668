/* Learning from failures, end to end over the fake server: `optagent
 * library refine` (a better condition replaces the old one, which stays in
 * the history; a worse one does not; an unreadable reply writes nothing)
 * and `optagent learn` (tests below). Talks real HTTP to tests/fake_llm. */
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "library/library.h"
#include "tests/support.h"
#include "tests/support_fake.h"
#include "tests/support_cli.h"

/* A fake server answering every request of task with content. */
static ts_fake *fake_for(const char *task, const char *content)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "task", task);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "reply"), "content", content);
    cJSON_AddItemToArray(rules, r);
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

/* ---- refine ---- */

#define PIPES "A water utility sends flow through a network of pipes from a reservoir to a town; " \
              "each pipe has a capacity in litres per second. Maximize the flow delivered."
#define PORTS "A shipping line moves containers between harbour terminals along sea lanes; each " \
              "lane carries at most a number of containers per week. Maximize the containers moved."
#define PIPE_CONDITION "Applies when flow is sent through a network of pipes with capacities " \
                       "from a reservoir. Does NOT apply when nothing flows along arcs."
#define GOOD_CONDITION "Applies when flow is sent through a network of pipes with capacities " \
                       "from a reservoir, or containers are moved between harbour terminals along " \
                       "sea lanes with weekly capacities. Does NOT apply when nothing flows along arcs."
#define BAD_CONDITION  "Applies when a bakery schedules ovens for bread and cakes in batches. " \
                       "Does NOT apply when nothing is baked."
#define BAKERY "A bakery schedules its ovens for bread and cakes in batches; each oven bakes " \
               "one batch at a time. Maximize the profit of the batches baked."

/* A library with one insight (id 1) proven on PIPES (positive) that missed
 * PORTS (unretrieved) and misfired on BAKERY (negative): the current
 * condition reaches neither PORTS nor BAKERY. */
static const char *refine_library(const char *name)
{
    const char *path = ts_cli_path(name);
    lib_code c;
    char err[256];
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    assert_non_null(l);
    lib_insight in;
    memset(&in, 0, sizeof in);
    in.taxonomy[0] = "Domain Modeling";
    in.taxonomy[1] = "Network Flow";
    in.ntaxonomy = 2;
    in.condition = PIPE_CONDITION;
    in.explanation = "When flow passes through capacitated arcs, the best practice is one flow "
                     "variable per arc bounded by its capacity with conservation at every node; "
                     "a common mistake is to forget conservation at intermediate nodes.";
    in.example = "Wrong: no balance at junctions. Right: inflow = outflow at each junction.";
    int64_t id = 0;
    int merged = 0;
    assert_int_equal(lib_add_verified(l, &in, "pipes", PIPES, &id, &merged), LIB_OK);
    assert_int_equal(id, 1);
    assert_int_equal(lib_record_stat(l, 1, "ports", PORTS, LIB_STAT_UNRETRIEVED), LIB_OK);
    assert_int_equal(lib_record_stat(l, 1, "bakery", BAKERY, LIB_STAT_NEGATIVE), LIB_OK);
    lib_close(l);
    return path;
}

static int64_t insight_version(const char *path, char **condition, size_t *nhistory)
{
    lib_code c;
    char err[256];
    lib *l = lib_open(path, LIB_OPEN_READONLY, &c, err, sizeof err);
    assert_non_null(l);
    lib_insight in, *h = NULL;
    assert_int_equal(lib_get(l, 1, &in), LIB_OK);
    assert_int_equal(lib_history(l, 1, &h, nhistory), LIB_OK);
    if (*nhistory) assert_string_equal(h[0].condition, PIPE_CONDITION);
    lib_insights_free(h, *nhistory);
    int64_t v = in.version;
    *condition = strdup(in.condition);
    lib_insight_clear(&in);
    lib_close(l);
    return v;
}

static const char *conditions_reply(const char *a, const char *b)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "Here are the rewrites.\n```json\n{\"conditions\": [\"%s\"%s%s%s]}\n```\n",
             a, b ? ", \"" : "", b ? b : "", b ? "\"" : "");
    return buf;
}

static void test_refine_better_variant_replaces(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-better.db");
    ts_fake *f = fake_for("refine", conditions_reply(BAD_CONDITION, GOOD_CONDITION));
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent library refine --library %s 2>&1", ts_cli_env(f), ts_cli_bin(), libp);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "replaced by variant 2"));
    assert_non_null(strstr(o, "1 replaced"));
    free(o);
    /* the request said what refine.txt says, with both problems' texts */
    cJSON *log = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(log), 1);
    char *req = cJSON_PrintUnformatted(cJSON_GetArrayItem(log, 0));
    assert_non_null(strstr(req, "refine"));
    assert_non_null(strstr(req, "harbour terminals"));
    assert_non_null(strstr(req, "network of pipes"));
    free(req);
    cJSON_Delete(log);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 2);
    assert_string_equal(cond, GOOD_CONDITION);
    assert_int_equal(nh, 1);   /* version 1 kept, checked in insight_version */
    free(cond);
}

static void test_refine_worse_variant_is_not_kept(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-worse.db");
    ts_fake *f = fake_for("refine", conditions_reply(BAD_CONDITION, NULL));
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent library refine 1 --library %s --json 2>&1", ts_cli_env(f), ts_cli_bin(), libp);
    assert_int_equal(code, 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    assert_non_null(j);
    cJSON *r = cJSON_GetArrayItem(j, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "replaced")));
    double cur = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "current"), "score")->valuedouble;
    double var = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "variants"), 0),
                                     "score")->valuedouble;
    assert_true(var < cur);
    cJSON_Delete(j);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 1);
    assert_string_equal(cond, PIPE_CONDITION);
    assert_int_equal(nh, 0);
    free(cond);
}

static void test_refine_malformed_reply_is_skipped(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-bad.db");
    ts_fake *f = fake_for("refine", "I would rather not. {\"conditions\": \"not a list\"}");
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent library refine --library %s 2>&1", ts_cli_env(f), ts_cli_bin(), libp);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "skipped"));
    assert_non_null(strstr(o, "nothing was written"));
    free(o);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 1);
    assert_string_equal(cond, PIPE_CONDITION);
    assert_int_equal(nh, 0);
    free(cond);
}


/* ---- learn, end to end ----
 *
 * The fake LLM makes one systematic mistake: on a counting problem ("Problem
 * A..") it leaves the counts continuous (a fractional answer) unless the
 * request carries the integrality insight (its explanation holds MARK).
 * Reflect on an A problem proposes that insight; on the refinery problem
 * (B1) it first answers nonsense, then a useless insight that does not fix
 * it. Every formulation is "maximize x with x <= v", v the answer. */

#define MARK "declare every count variable integer"
#define INSIGHT_A \
    "{\"insights\": [{\"taxonomy\": [\"General Formulation\", \"Integrality\", \"Integrality of counts\"], " \
    "\"condition\": \"Applies when the decisions count indivisible things such as trucks, crates, " \
    "pallets or workers, which must be whole numbers. Does NOT apply when the quantities are " \
    "divisible, such as litres of syrup, kilograms of sugar or hours of labour.\", " \
    "\"explanation\": \"When the decisions count indivisible things, the best practice is to " MARK \
    "; a common mistake is to leave them continuous and report a fractional optimum.\", " \
    "\"example\": \"Wrong: trucks continuous. Right: trucks with type integer.\"}]}"
#define INSIGHT_USELESS \
    "{\"insights\": [{\"taxonomy\": \"Domain Modeling > Blending\", \"condition\": \"Applies when " \
    "fuels are blended to meet an octane rating. Does NOT apply when nothing is blended.\", " \
    "\"explanation\": \"When fuels are blended, the best practice is to weight the octane by " \
    "volume; a common mistake is a plain average.\", \"example\": \"Wrong: (o1+o2)/2. Right: " \
    "volume-weighted octane.\"}]}"

typedef struct { const char *id, *text; double gold, wrong; } problem;

static const problem A1 = { "A1", "Problem A1: A depot loads crates onto trucks; each truck carries "
    "12 crates and 90 crates must leave today. Trucks are whole vehicles. How many trucks are needed?", 8, 7.5 };
static const problem A4 = { "A4", "Problem A4: A depot loads crates onto trucks; each truck carries "
    "20 crates and 130 crates must leave today. Trucks are whole vehicles. How many trucks are needed?", 7, 6.5 };
static const problem A5 = { "A5", "Problem A5: A depot loads crates onto trucks; each truck carries "
    "8 crates and 36 crates must leave today. Trucks are whole vehicles. How many trucks are needed?", 5, 4.5 };
static const problem A6 = { "A6", "Problem A6: A depot loads crates onto trucks; each truck carries "
    "16 crates and 56 crates must leave today. Trucks are whole vehicles. How many trucks are needed?", 4, 3.5 };
static const problem A2 = { "A2", "Problem A2: A warehouse ships pallets with trucks; each truck holds "
    "10 pallets and 45 pallets must ship. Count whole trucks. How many trucks are needed?", 5, 4.5 };
static const problem A3 = { "A3", "Problem A3: A farm hires workers to pack crates; each worker packs "
    "30 crates a day and 100 crates must be packed. Workers are whole people. How many workers are needed?", 4, 3.3333 };
static const problem B1 = { "B1", "Problem B1: A refinery blends two fuels into gasoline to meet an "
    "octane requirement. Maximize the profit of the blend.", 10, 12 };
static const problem D1 = { "D1", "Problem D1: A diet plan chooses servings of oatmeal and milk to meet "
    "protein and calcium requirements at the lowest price.", 3, 3 };
static const problem N1 = { "N1", "Problem N1: A kitchen mixes litres of syrup with kilograms of sugar, "
    "using hours of labour; quantities are divisible. Minimize the cost.", 6, 6 };

static void add_rule(cJSON *rules, const char *task, const char *contains, const char *body,
                     const char *content, int delay_ms)
{
    cJSON *r = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(r, "match");
    if (task) cJSON_AddStringToObject(m, "task", task);
    if (contains) cJSON_AddStringToObject(m, "content_contains", contains);
    if (body) cJSON_AddStringToObject(m, "body_contains", body);
    cJSON *rep = cJSON_AddObjectToObject(r, "reply");
    cJSON_AddStringToObject(rep, "content", content);
    cJSON_AddNumberToObject(rep, "delay_ms", delay_ms);
    cJSON_AddItemToArray(rules, r);
}

static const char *formulation(double v)
{
    static char b[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(b[k], sizeof b[k], "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":%.17g}],"
             "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```", v);
    return b[k];
}

/* The script above; reflect_a (NULL: INSIGHT_A in a fence) answers the
 * reflect requests of the A problems. */
static ts_fake *learn_fake_with(int delay_ms, const char *reflect_a)
{
    const problem *all[] = { &A1, &A2, &A3, &A4, &A5, &A6, &B1, &D1, &N1 };
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    add_rule(rules, "reflect", "Problem A", NULL,
             reflect_a ? reflect_a : "The counts were continuous.\n```json\n" INSIGHT_A "\n```", 0);
    /* B1: nonsense first, then a useless insight */
    cJSON *r = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(r, "match");
    cJSON_AddStringToObject(m, "task", "reflect");
    cJSON_AddStringToObject(m, "content_contains", "Problem B1");
    cJSON *seq = cJSON_AddArrayToObject(r, "sequence");
    cJSON_AddItemToArray(seq, cJSON_CreateString("I cannot tell what went wrong."));
    cJSON_AddItemToArray(seq, cJSON_CreateString("```json\n" INSIGHT_USELESS "\n```"));
    cJSON_AddItemToArray(rules, r);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "Problem %s:", all[i]->id);
        add_rule(rules, NULL, tag, MARK, formulation(all[i]->gold), delay_ms);
        add_rule(rules, NULL, tag, NULL, formulation(all[i]->wrong), delay_ms);
    }
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

static ts_fake *learn_fake(int delay_ms)
{
    return learn_fake_with(delay_ms, NULL);
}

static const char *write_problems(const char *name, const problem *const *v, size_t n)
{
    const char *p = ts_cli_path(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "{\"id\": \"%s\", \"question\": \"%s\", \"answer\": %.17g}\n", v[i]->id,
                v[i]->text, v[i]->gold);
    fclose(f);
    return p;
}

static int insights_in(const char *libp)
{
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s/optagent library list --json --library %s", ts_cli_bin(), libp), 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    return n;
}

/* Whether the formulate requests for problem id carried the insight (1),
 * none did (0), or there was no such request (-1). */
static int carried_insight(ts_fake *f, const char *id)
{
    cJSON *log = ts_fake_requests(f, 0), *e;
    char tag[32];
    snprintf(tag, sizeof tag, "Problem %s:", id);
    int seen = -1;
    cJSON_ArrayForEach(e, log) {
        const char *task = cJSON_GetStringValue(cJSON_GetObjectItem(e, "task"));
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(e, "body"));
        if (!task || strcmp(task, "formulate") || !body || !strstr(body, tag)) continue;
        if (seen < 0) seen = 0;
        if (strstr(body, MARK)) seen = 1;
    }
    cJSON_Delete(log);
    return seen;
}

static void test_learn_keeps_what_fixes_and_rejects_the_rest(void **state)
{
    (void)state;
    const problem *train[] = { &A1, &B1 };
    const char *probs = write_problems("train.jsonl", train, 2);
    const char *libp = ts_cli_path("learn.db"), *db = ts_cli_path("learn-runs.db");
    ts_fake *f = learn_fake(0);
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent learn %s --library %s --db %s -j 1 --no-progress 2>&1",
                  ts_cli_env(f), ts_cli_bin(), probs, libp, db);
    assert_int_equal(code, 0);
    /* A1 failed, reflect gave the insight, verify fixed it: stored. B1's
     * reflection was unreadable once, then useless: rejected. */
    assert_non_null(strstr(o, "0 right with the library as it was, 2 wrong"));
    assert_non_null(strstr(o, "1 insight(s) stored"));
    assert_non_null(strstr(o, "1 candidate(s) rejected"));
    free(o);
    assert_int_equal(insights_in(libp), 1);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent library show 1 --json --library %s", ts_cli_bin(), libp), 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    assert_non_null(j);
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "explanation")), MARK));
    cJSON *pos = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stats"), "positive");
    assert_int_equal(cJSON_GetArraySize(pos), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(pos, 0)), "A1");
    cJSON_Delete(j);
    /* the verify requests did not carry the gold; B1 was reflected on twice */
    cJSON *log = ts_fake_requests(f, 0), *e;
    int verify = 0, reflect_b1 = 0;
    cJSON_ArrayForEach(e, log) {
        const char *task = cJSON_GetStringValue(cJSON_GetObjectItem(e, "task"));
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(e, "body"));
        if (task && !strcmp(task, "verify")) {
            verify++;
            assert_null(strstr(body, "right answer"));
            assert_null(strstr(body, "optimal objective value is"));
        }
        if (task && !strcmp(task, "reflect") && strstr(body, "Problem B1")) reflect_b1++;
    }
    cJSON_Delete(log);
    assert_int_equal(verify, 2);
    assert_int_equal(reflect_b1, 2);
    ts_fake_stop(f);

    /* New problems of the same kind retrieve it and are solved; another
     * kind does not, nor one matching only its "Does NOT apply" part. */
    const problem *fresh[] = { &A2, &A3, &D1, &N1 };
    const char *newp = write_problems("new.jsonl", fresh, 4);
    f = learn_fake(0);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --library %s --db %s -j 2 --no-progress 2>&1",
              ts_cli_env(f), ts_cli_bin(), newp, libp, ts_cli_path("new-runs.db"));
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "4 problems, 4 with a gold answer, 4 correct"));
    free(o);
    assert_int_equal(carried_insight(f, "A2"), 1);
    assert_int_equal(carried_insight(f, "A3"), 1);
    assert_int_equal(carried_insight(f, "D1"), 0);
    assert_int_equal(carried_insight(f, "N1"), 0);
    ts_fake_stop(f);
    /* and without the library the same kind fails */
    f = learn_fake(0);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --no-library --db %s -j 2 --no-progress 2>&1",
              ts_cli_env(f), ts_cli_bin(), newp, ts_cli_path("nolib-runs.db"));
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "4 problems, 4 with a gold answer, 2 correct"));
    free(o);
    ts_fake_stop(f);
}

static void test_learn_j4_stores_the_insight_once(void **state)
{
    (void)state;
    const problem *train[] = { &A1, &A4, &A5, &A6 };
    const char *probs = write_problems("train4.jsonl", train, 4);
    const char *libp = ts_cli_path("learn4.db");
    ts_fake *f = learn_fake(300);   /* all four formulate before any insight is kept */
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent learn %s --library %s --db %s -j 4 --no-progress 2>&1",
                  ts_cli_env(f), ts_cli_bin(), probs, libp, ts_cli_path("learn4-runs.db"));
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "1 insight(s) stored, 3 merged into an existing one"));
    free(o);
    cJSON *st = ts_fake_stats(f);
    assert_true(cJSON_GetObjectItem(st, "max_concurrent")->valueint >= 2);
    cJSON_Delete(st);
    ts_fake_stop(f);
    assert_int_equal(insights_in(libp), 1);
}

/* Learning needs a library it can write: --no-library and a read-only file
 * are refused before anything is sent. */
static void test_learn_refuses_what_it_cannot_write(void **state)
{
    (void)state;
    const problem *train[] = { &A1 };
    const char *probs = write_problems("refuse.jsonl", train, 1);
    ts_fake *f = learn_fake(0);
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent learn %s --no-library --db %s 2>&1", ts_cli_env(f),
                         ts_cli_bin(), probs, ts_cli_path("refuse-runs.db"));
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(o, "learning needs a library"));
    free(o);
    const char *ro = refine_library("readonly.db");
    assert_int_equal(ts_cli_sh(NULL, "chmod 0444 %s", ro), 0);
    if (ts_cli_sh(NULL, "test -w %s", ro) != 0) {   /* root can write anyway: skip */
        code = ts_cli_sh(&o, "%s %s/optagent learn %s --library %s --db %s 2>&1", ts_cli_env(f),
                         ts_cli_bin(), probs, ro, ts_cli_path("refuse-runs2.db"));
        assert_int_not_equal(code, 0);
        assert_non_null(strstr(o, "read-only"));
        free(o);
    }
    cJSON *log = ts_fake_requests(f, 0);
    assert_int_equal(cJSON_GetArraySize(log), 0);
    cJSON_Delete(log);
    ts_fake_stop(f);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent learn --help", ts_cli_bin()), 0);
    assert_non_null(strstr(o, "usage: optagent learn FILE..."));
    free(o);
}

/* A reflect reply whose first candidate has no condition and 50 KB of
 * explanation: that one is skipped (and said), the valid one is verified
 * and kept. */
static void test_learn_skips_a_bad_candidate(void **state)
{
    (void)state;
    size_t big = 50 * 1024;
    char *reply = malloc(big + 4096);
    assert_non_null(reply);
    int o0 = sprintf(reply, "```json\n{\"insights\": [{\"taxonomy\": [\"General Formulation\"], "
                     "\"explanation\": \"");
    memset(reply + o0, 'x', big);
    sprintf(reply + o0 + big, "\", \"example\": \"e\"}, %s]}\n```", strchr(INSIGHT_A, '[') + 1);
    /* INSIGHT_A's array body ends with "]}": cut the extra closing */
    char *end = strstr(reply, "]}]}");
    assert_non_null(end);
    memmove(end, end + 2, strlen(end + 2) + 1);
    const problem *train[] = { &A1 };
    const char *probs = write_problems("bad-cand.jsonl", train, 1);
    const char *libp = ts_cli_path("bad-cand.db"), *db = ts_cli_path("bad-cand-runs.db");
    ts_fake *f = learn_fake_with(0, reply);
    free(reply);
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent learn %s --library %s --db %s --no-progress 2>&1",
                         ts_cli_env(f), ts_cli_bin(), probs, libp, db);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "1 insight(s) stored"));
    free(o);
    ts_fake_stop(f);
    assert_int_equal(insights_in(libp), 1);
    /* the record names what was skipped */
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "select result_json from problems", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *res = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(res);
    assert_non_null(strstr(res, "insights[0]: condition"));
    sqlite3_finalize(st);
    sqlite3_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refine_better_variant_replaces),
        cmocka_unit_test(test_refine_worse_variant_is_not_kept),
        cmocka_unit_test(test_refine_malformed_reply_is_skipped),
        cmocka_unit_test(test_learn_keeps_what_fixes_and_rejects_the_rest),
        cmocka_unit_test(test_learn_j4_stores_the_insight_once),
        cmocka_unit_test(test_learn_refuses_what_it_cannot_write),
        cmocka_unit_test(test_learn_skips_a_bad_candidate),
    };
    return cmocka_run_group_tests_name("learn", tests, ts_cli_setup, ts_cli_teardown);
}
