/* optagent runs and the run ids every command takes: the listing (table
 * and --json), unique uuid prefixes in eval, --compare and --resume, an
 * ambiguous prefix refused with its candidates, eval/runs/--compare
 * refusing a database that does not exist (and not creating it), and
 * --resume printing the whole run's totals or saying the run is finished.
 * Runs the built binary against the fake LLM server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "db/db.h"

/* A batch of the n problems of probs into dbp (extra options opts); stdout
 * into *out (may be NULL). The exit status. */
static int batch(ts_fake *f, const char *probs, const char *dbp, const char *opts, char **out)
{
    return ts_cli_sh(out, "%s %s/optagent batch %s --db %s --no-progress --no-library %s 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, dbp, opts ? opts : "");
}

/* The uuid of run id in dbp (static buffer). */
static const char *uuid_of(const char *dbpath, int64_t id)
{
    static char u[DB_UUID_SIZE];
    db_code dc;
    char err[256];
    db *d = db_open(dbpath, &dc, err, sizeof err);
    assert_non_null(d);
    db_run_info info;
    assert_int_equal(db_run_get(d, id, &info), DB_OK);
    snprintf(u, sizeof u, "%s", info.uuid);
    db_run_info_clear(&info);
    db_close(d);
    return u;
}

static void test_runs_lists_every_run(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(3, 0, NULL);
    const char *probs = ts_cli_problems("l.jsonl", 3), *dbp = ts_cli_path("l.db");
    assert_int_equal(batch(f, probs, dbp, NULL, NULL), 0);
    assert_int_equal(batch(f, probs, dbp, "--limit 2", NULL), 0);
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s/optagent runs --db %s", ts_cli_bin(), dbp), 0);
    assert_non_null(strstr(o, "ACCURACY"));
    char u1[9], u2[9];
    snprintf(u1, sizeof u1, "%s", uuid_of(dbp, 1));
    snprintf(u2, sizeof u2, "%s", uuid_of(dbp, 2));
    char *l1 = strstr(o, u1), *l2 = strstr(o, u2);
    assert_non_null(l1);
    assert_non_null(l2);
    assert_true(l1 < l2);                       /* oldest first */
    assert_non_null(strstr(l1, "100.0% (3/3)"));
    assert_non_null(strstr(l2, "100.0% (2/2)"));
    assert_non_null(strstr(l1, "l.jsonl"));
    assert_non_null(strstr(l1, "fake"));         /* the model */
    assert_non_null(strstr(l1, "finished"));
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent runs --db %s --json", ts_cli_bin(), dbp), 0);
    cJSON *j = cJSON_Parse(o);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON *r = cJSON_GetArrayItem(j, 1);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "problems")), 2);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "accuracy")) == 1.0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "state")), "finished");
    cJSON_Delete(j);
    free(o);
    ts_fake_stop(f);
}

static void test_prefixes_everywhere(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(3, 0, NULL);
    const char *probs = ts_cli_problems("p.jsonl", 3), *dbp = ts_cli_path("p.db");
    assert_int_equal(batch(f, probs, dbp, "--limit 1", NULL), 0);
    assert_int_equal(batch(f, probs, dbp, NULL, NULL), 0);
    char a[9], b[9], *o;
    snprintf(a, sizeof a, "%s", uuid_of(dbp, 1));
    snprintf(b, sizeof b, "%s", uuid_of(dbp, 2));
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s %.6s", ts_cli_bin(), dbp, a), 0);
    assert_non_null(strstr(o, "1 correct of 1"));
    free(o);
    /* upper case and a hyphen-free prefix work too */
    char upper[9];
    for (int i = 0; i < 8; i++) upper[i] = (char)(a[i] >= 'a' && a[i] <= 'f' ? a[i] - 32 : a[i]);
    upper[8] = 0;
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s %s", ts_cli_bin(), dbp, upper), 0);
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s --compare %.5s %.5s", ts_cli_bin(), dbp, a, b), 0);
    assert_non_null(strstr(o, "comparison"));
    free(o);
    /* --resume with a prefix: the finished run says so */
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --no-library --no-progress --resume %.4s 2>&1",
                               ts_cli_env(f), ts_cli_bin(), probs, dbp, b), 0);
    assert_non_null(strstr(o, "is finished"));
    free(o);
    /* too short, unknown */
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s %.3s 2>&1", ts_cli_bin(), dbp, a), 1);
    assert_non_null(strstr(o, "at least 4"));
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s ffffffff0 2>&1", ts_cli_bin(), dbp), 1);
    assert_non_null(strstr(o, "no run"));
    free(o);
    ts_fake_stop(f);
}

static void test_ambiguous_prefix_lists_candidates(void **state)
{
    (void)state;
    const char *path = ts_cli_path("amb.db");
    db_code dc;
    char err[256];
    db *d = db_open(path, &dc, err, sizeof err);
    assert_non_null(d);
    int64_t id;
    assert_int_equal(db_run_create_with_uuid(d, "abcd1234-0000-4000-8000-000000000001", "batch", "{}", NULL, &id), DB_OK);
    assert_int_equal(db_run_create_with_uuid(d, "abcd1234-0000-4000-8000-000000000002", "batch", "{}", NULL, &id), DB_OK);
    db_close(d);
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s abcd12 2>&1", ts_cli_bin(), path), 1);
    assert_non_null(strstr(o, "ambiguous"));
    assert_non_null(strstr(o, "abcd1234-0000-4000-8000-000000000001"));
    assert_non_null(strstr(o, "abcd1234-0000-4000-8000-000000000002"));
    free(o);
    /* one more digit decides */
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s abcd1234000040008000000000000002 --format json 2>&1",
                               ts_cli_bin(), path), 0);
    free(o);
}

static void test_missing_database_is_refused_not_created(void **state)
{
    (void)state;
    const char *dbp = ts_cli_path("typo.db");
    const char *cmds[] = { "eval --db %s", "eval --db %s --compare 1 2", "runs --db %s" };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char fmt[256], *o;
        snprintf(fmt, sizeof fmt, "%%s/optagent %s 2>&1", cmds[i]);
        assert_int_equal(ts_cli_sh(&o, fmt, ts_cli_bin(), dbp), 1);
        if (!strstr(o, "no such results database")) fail_msg("%s: %s", cmds[i], o);
        free(o);
        assert_int_equal(access(dbp, F_OK), -1);
    }
}

static void test_resume_prints_the_whole_run(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(4, 0, NULL);
    const char *probs = ts_cli_problems("r.jsonl", 4), *dbp = ts_cli_path("r.db");
    char *o;
    assert_int_equal(batch(f, probs, dbp, "--limit 1", &o), 0);
    assert_non_null(strstr(o, "1 problems, 1 with a gold answer, 1 correct"));
    free(o);
    /* the run is finished at 1; resumed without --limit it does 3 more and
     * reports all 4 */
    assert_int_equal(batch(f, probs, dbp, "--resume 1", &o), 0);
    assert_non_null(strstr(o, "3 of 4 problems left"));
    assert_non_null(strstr(o, "4 problems, 4 with a gold answer, 4 correct (100.0%"));
    free(o);
    cJSON *before = ts_fake_requests(f, 4);
    int sent = cJSON_GetArraySize(before);
    cJSON_Delete(before);
    assert_int_equal(batch(f, probs, dbp, "--resume 1", &o), 0);
    assert_non_null(strstr(o, "is finished"));
    assert_non_null(strstr(o, "4 problems, 4 with a gold answer, 4 correct"));
    free(o);
    cJSON *after = ts_fake_requests(f, 0);
    assert_int_equal(cJSON_GetArraySize(after), sent);   /* nothing asked again */
    cJSON_Delete(after);
    assert_int_equal(ts_cli_query(dbp, "select count(*) from runs where status = 'finished'"), 1);
    ts_fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_lists_every_run),
        cmocka_unit_test(test_prefixes_everywhere),
        cmocka_unit_test(test_ambiguous_prefix_lists_candidates),
        cmocka_unit_test(test_missing_database_is_refused_not_created),
        cmocka_unit_test(test_resume_prints_the_whole_run),
    };
    return cmocka_run_group_tests_name("runs", tests, ts_cli_setup, ts_cli_teardown);
}
