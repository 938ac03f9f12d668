/* The experience library in ask, batch and eval, as a user runs them
 * against the fake server: insights retrieved by default and carried into
 * the requests, --no-library, --retrieve llm (a check request that drops an
 * insight), what runs and attempts record (library path and content hash,
 * ids@versions), a library that cannot be used refused before anything is
 * sent, a missing default library, --resume with a changed library, and
 * eval --compare showing what the library changed. */
#define _GNU_SOURCE          /* realpath */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "library/library.h"
#include "tests/library_insights.h"
#include "tests/support.h"
#include "tests/support_cli.h"

#define Q1 LIB_PROBLEM
#define Q2 LIB_UNRELATED

/* A formulation whose optimum is bound. */
static char *answer(int bound)
{
    char *s = malloc(512);
    snprintf(s, 512, "Formulation:\n```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":%d}],"
             "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```", bound);
    return s;
}

static void add_rule(cJSON *rules, const char *task, const char *contains, const char *content)
{
    cJSON *r = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(r, "match");
    if (task) cJSON_AddStringToObject(m, "task", task);
    cJSON_AddStringToObject(m, "content_contains", contains);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "reply"), "content", content);
    cJSON_AddItemToArray(rules, r);
}

/* q1 is right (3) only when insight 12 is in the request, wrong (5)
 * otherwise; q2 is always right (2). A check lists only 12. */
static ts_fake *start_fake(void)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    char *a3 = answer(3), *a5 = answer(5), *a2 = answer(2);
    add_rule(rules, "check", "MARKER-12", "```json\n{\"applicable\": [12]}\n```");
    add_rule(rules, NULL, "MARKER-12", a3);
    add_rule(rules, NULL, "furniture shop", a5);
    add_rule(rules, NULL, "refinery", a2);
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s); free(a3); free(a5); free(a2);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

static const char *problems(void)
{
    const char *p = ts_cli_path("problems.jsonl");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "{\"id\": \"q1\", \"question\": \"%s\", \"answer\": 3}\n", Q1);
    fprintf(f, "{\"id\": \"q2\", \"question\": \"%s\", \"answer\": 2}\n", Q2);
    fclose(f);
    return p;
}

/* The library file at path with the two insights; its content hash in hex. */
static void make_library(const char *path, char hex[65])
{
    char err[512];
    lib_code c;
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    assert_non_null(l);
    lib_import_stats st;
    assert_int_equal(lib_import_text(l, lib_insights, strlen(lib_insights), "t", &st, err, sizeof err), LIB_OK);
    assert_int_equal(lib_content_hash(l, hex), LIB_OK);
    lib_close(l);
}

/* One test's files: a fresh library named NAME-lib.db (hash in hex) and
 * the path of its results database NAME-runs.db. */
typedef struct {
    char lib[1100], db[1100], hex[65];
} files;

static void files_make(files *x, const char *name)
{
    char n[128];
    snprintf(n, sizeof n, "%s-lib.db", name);
    snprintf(x->lib, sizeof x->lib, "%s", ts_cli_path(n));
    snprintf(n, sizeof n, "%s-runs.db", name);
    snprintf(x->db, sizeof x->db, "%s", ts_cli_path(n));
    make_library(x->lib, x->hex);
}

/* The first column of the first row as text (malloc'd; NULL for NULL or no row). */
static char *query_text(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static int nrequests(ts_fake *f, const char *needle)
{
    cJSON *r = ts_fake_requests(f, 0), *q;
    int n = 0;
    cJSON_ArrayForEach(q, r) {
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(q, "body"));
        if (!needle || (body && strstr(body, needle))) n++;
    }
    cJSON_Delete(r);
    return n;
}

static char *read_err(void)
{
    size_t len;
    char *e = ts_read_file(ts_cli_path("err.txt"), &len);
    assert_non_null(e);
    return e;
}

/* batch with a library, then without; the db records what each carried;
 * eval --compare shows the libraries and the insights of the problem the
 * library fixed. */
static void test_batch_records_and_compare(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    const char *probs = problems();
    files x;
    files_make(&x, "compare");
    const char *lpath = x.lib, *db = x.db, *hex = x.hex;
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --no-library --no-progress 2>%s",
                         ts_cli_env(f), ts_cli_bin(), probs, db, ts_cli_path("err.txt"));
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "2 problems, 2 with a gold answer, 1 correct"));
    free(o);
    assert_int_equal(nrequests(f, "Insights from earlier"), 0);   /* --no-library: none sent */
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --library %s --out %s --no-progress 2>%s",
                     ts_cli_env(f), ts_cli_bin(), probs, db, lpath, ts_cli_path("out.jsonl"),
                     ts_cli_path("err.txt"));
    char *err = read_err();
    if (code) print_error("%s\n", err);
    assert_int_equal(code, 0);
    assert_non_null(strstr(err, "library "));
    free(err);
    assert_non_null(strstr(o, "2 problems, 2 with a gold answer, 2 correct"));
    free(o);

    /* run 1: no library (NULL); run 2: ids@versions, "" for a problem given none */
    char *s = query_text(db, "select insights from attempts where run_id = 1 and problem_id = 'q1'");
    assert_null(s);
    s = query_text(db, "select insights from attempts where run_id = 2 and problem_id = 'q1'");
    assert_string_equal(s, "12@1,7@1");
    free(s);
    s = query_text(db, "select insights from attempts where run_id = 2 and problem_id = 'q2'");
    assert_string_equal(s, "");
    free(s);
    /* the run records which library: path and content hash */
    s = query_text(db, "select config_json from runs where id = 2");
    cJSON *cfg = cJSON_Parse(s);
    free(s);
    cJSON *used = cJSON_GetObjectItem(cfg, "library");
    char real[4096];
    assert_non_null(realpath(lpath, real));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(used, "path")), real);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(used, "sha256")), hex);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "retrieve")), "bm25");
    cJSON_Delete(cfg);
    s = query_text(db, "select config_json from runs where id = 1");
    assert_non_null(strstr(s, "\"library\":\"none\""));
    free(s);
    /* the --out line names them too */
    size_t len;
    char *lines = ts_read_file(ts_cli_path("out.jsonl"), &len);
    assert_non_null(strstr(lines, "\"insights\":\"12@1,7@1\""));
    free(lines);

    code = ts_cli_sh(&o, "%s/optagent eval --db %s --compare 1 2", ts_cli_bin(), db);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "## Experience library"));
    assert_non_null(strstr(o, "| A | none |"));
    char line[4400];
    snprintf(line, sizeof line, "| B | %s (content sha256 %.16s, retrieval bm25) |", real, hex);
    assert_non_null(strstr(o, line));
    assert_non_null(strstr(o, "| problems/q1 | fixed | wrong_answer | correct | no library | 12@1, 7@1 |"));
    assert_null(strstr(o, "| problems/q2 |"));   /* unchanged: not listed */
    free(o);
    ts_fake_stop(f);
}

/* --retrieve llm: the check request is made (task check, recorded as an
 * LLM call) and the insight it leaves out is not carried. */
static void test_batch_retrieve_llm(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    const char *probs = problems();
    files x;
    files_make(&x, "llm");
    const char *lpath = x.lib, *db = x.db;
    int code = ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --library %s --retrieve llm -k 4 "
                         "--no-progress 2>/dev/null", ts_cli_env(f), ts_cli_bin(), probs, db, lpath);
    assert_int_equal(code, 0);
    char *s = query_text(db, "select insights from attempts where problem_id = 'q1'");
    assert_string_equal(s, "12@1");
    free(s);
    assert_int_equal(ts_cli_query(db, "select count(*) from llm_calls where task = 'check'"), 1);
    assert_int_equal(nrequests(f, "MARKER-7"), 1);      /* only in the check request */
    s = query_text(db, "select config_json from runs");
    assert_non_null(strstr(s, "\"retrieve\":\"llm\",\"k\":4"));
    free(s);
    ts_fake_stop(f);
}

/* --resume with a library that changed since the run started: a warning,
 * not a refusal. */
static void test_batch_resume_library_changed(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    const char *probs = problems();
    files x;
    files_make(&x, "resume");
    const char *lpath = x.lib, *db = x.db;
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --library %s --limit 1 "
                               "--no-progress 2>/dev/null", ts_cli_env(f), ts_cli_bin(), probs, db,
                               lpath), 0);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent library rm 7 --library %s >/dev/null", ts_cli_bin(),
                               lpath), 0);
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --library %s --resume 1 "
                               "--no-progress 2>%s", ts_cli_env(f), ts_cli_bin(), probs, db, lpath,
                               ts_cli_path("err.txt")), 0);
    char *err = read_err();
    assert_non_null(strstr(err, "warning: --resume 1: the run started with library"));
    free(err);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), 2);
    ts_fake_stop(f);
}

/* ask: the default library is used when it exists, its ids@versions and
 * the library are in --json; --no-library sends none; a missing default is
 * said once; a corrupt or missing --library is an error before anything
 * is sent. */
static void test_ask_library(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    char cmdline[2048];
    const char *env = ts_cli_env(f);   /* XDG_DATA_HOME is the temp dir */
    /* no default library yet: said once, runs without */
    snprintf(cmdline, sizeof cmdline, "%s %s/optagent ask '%s' 2>%s", env, ts_cli_bin(), Q1,
             ts_cli_path("err.txt"));
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s", cmdline), 0);   /* answered (5: the gold is not ask's) */
    free(o);
    char *err = read_err();
    const char *said = strstr(err, "no experience library at");
    assert_non_null(said);
    assert_null(strstr(said + 1, "no experience library at"));
    free(err);
    assert_int_equal(nrequests(f, "Insights from earlier"), 0);

    /* the default library, made where XDG_DATA_HOME points */
    char dpath[1100], hex[65];
    snprintf(dpath, sizeof dpath, "%s", ts_cli_path("optagent"));
    mkdir(dpath, 0700);
    snprintf(dpath, sizeof dpath, "%s", ts_cli_path("optagent/library.db"));
    make_library(dpath, hex);
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask --json '%s' 2>%s", env, ts_cli_bin(), Q1,
                               ts_cli_path("err.txt")), 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    assert_non_null(j);
    cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "attempts"), 0);
    cJSON *ins = cJSON_GetObjectItem(a0, "insights");
    assert_int_equal(cJSON_GetArraySize(ins), 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 0), "id")->valueint, 12);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 1), "id")->valueint, 7);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 1), "version")->valueint, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "library"), "sha256")), hex);
    cJSON_Delete(j);
    int before = nrequests(f, "Insights from earlier");
    assert_int_equal(before, 1);

    /* the summary names the insights; --no-library sends none */
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask '%s' 2>/dev/null", env, ts_cli_bin(), Q1), 0);
    assert_non_null(strstr(o, "insights: 12@1 (score "));
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask --no-library '%s' 2>/dev/null", env, ts_cli_bin(), Q1), 0);
    free(o);
    assert_int_equal(nrequests(f, "Insights from earlier"), before + 1);

    /* a corrupt library, a missing one: exit 1 naming the file, nothing sent */
    int sent = nrequests(f, NULL);
    const char *bad = ts_cli_path("corrupt.db");
    const char junk[] = "this is not a database, just some text that is long enough to look like a header....";
    ts_write_file(bad, junk, sizeof junk);
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask --library %s 'x' 2>%s", env, ts_cli_bin(), bad,
                               ts_cli_path("err.txt")), 1);
    free(o);
    err = read_err();
    assert_non_null(strstr(err, "corrupt.db"));
    free(err);
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent batch %s --library %s --db %s 2>%s", env, ts_cli_bin(),
                               problems(), bad, ts_cli_path("never.db"), ts_cli_path("err.txt")), 1);
    free(o);
    err = read_err();
    assert_non_null(strstr(err, "corrupt.db"));
    free(err);
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask --library %s 'x' 2>%s", env, ts_cli_bin(),
                               ts_cli_path("absent.db"), ts_cli_path("err.txt")), 1);
    free(o);
    err = read_err();
    assert_non_null(strstr(err, "absent.db: no such file"));
    free(err);
    assert_int_equal(nrequests(f, NULL), sent);
    /* usage errors */
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent ask --retrieve magic 'x' 2>/dev/null", env, ts_cli_bin()), 2);
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent ask --no-library --library %s 'x' 2>/dev/null", env,
                               ts_cli_bin(), bad), 2);
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch x.jsonl -k 0 2>/dev/null", env, ts_cli_bin()), 2);
    ts_fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_records_and_compare),
        cmocka_unit_test(test_batch_retrieve_llm),
        cmocka_unit_test(test_batch_resume_library_changed),
        cmocka_unit_test(test_ask_library),
    };
    return cmocka_run_group_tests_name("library_run", tests, ts_cli_setup, ts_cli_teardown);
}
