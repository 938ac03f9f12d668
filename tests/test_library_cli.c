/* optagent library through the built binary: help and usage errors, every
 * command, --json output, bad input files, a damaged library file. */
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
#include "tests/support.h"

static char *tmpdir;
static char bin[512];
static char libpath[1024];

#define FLOW                                                                          \
    "{\"taxonomy\": [\"Domain Modeling\", \"Network Flow\"], \"condition\": \"Applies " \
    "when goods move through intermediate transshipment nodes of a network.\","       \
    " \"explanation\": \"Balance each node.\", \"example\": \"in - out = d\"}\n"

typedef struct { int code; char *out; char *err; } run_result;

static void run_free(run_result *r) { free(r->out); free(r->err); }

static const char *write_tmp(const char *name, const char *text)
{
    static char p[8][1100];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    assert_int_equal(ts_write_file(p[k], text, strlen(text)), 0);
    return p[k];
}

/* "optagent library ARGS --library LIB", stdin from in_file or /dev/null. */
static run_result run(const char *in_file, const char *fmt, ...)
{
    char args[2048], cmd[8192], errp[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errp, sizeof errp, "%s/stderr.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "%s library %s --library '%s' 2>%s <%s", bin, args, libpath, errp,
             in_file ? in_file : "/dev/null");
    run_result r;
    size_t len;
    int st;
    r.out = ts_run_capture(cmd, &len, &st);
    assert_non_null(r.out);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r.err = ts_read_file(errp, &len);
    assert_non_null(r.err);
    return r;
}

static void fresh_library(const char *name)
{
    snprintf(libpath, sizeof libpath, "%s/%s", tmpdir, name);
}

static void test_help_on_stdout(void **state)
{
    (void)state;
    fresh_library("help.db");
    run_result r = run(NULL, "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: optagent library"));
    assert_string_equal(r.err, "");
    run_free(&r);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    fresh_library("usage.db");
    static const char *const bad[] = {"", "frobnicate", "show", "show abc", "show 0",
                                      "search", "list --bogus", "search x -k 0", "rm 1 2 3 4",
                                      "list extra"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = run(NULL, "%s", bad[i]);
        if (r.code != 2) print_error("'%s' exited %d\n", bad[i], r.code);
        assert_int_equal(r.code, 2);
        assert_non_null(strstr(r.err, "--help"));
        assert_string_equal(r.out, "");
        run_free(&r);
    }
}

/* Nothing misfired or was missed: nothing to refine, and no LLM is needed
 * (tests/test_learn.c refines over the fake server). */
static void test_refine_nothing_to_do(void **state)
{
    (void)state;
    fresh_library("refine.db");
    run_result r = run(NULL, "refine");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "nothing to refine"));
    run_free(&r);
}

static void test_add_list_show_search(void **state)
{
    (void)state;
    fresh_library("cmds.db");
    run_result r = run(write_tmp("flow.json", FLOW), "add");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "added insight 1"));
    run_free(&r);
    r = run(NULL, "list --json");
    assert_int_equal(r.code, 0);
    cJSON *a = cJSON_Parse(r.out);
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), 1);
    cJSON *first = cJSON_GetArrayItem(a, 0);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(first, "taxonomy")));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "stats"), "unretrieved"));
    cJSON_Delete(a);
    run_free(&r);
    r = run(NULL, "show 1 --json");
    assert_int_equal(r.code, 0);
    a = cJSON_Parse(r.out);
    assert_int_equal(cJSON_GetObjectItem(a, "version")->valueint, 1);
    cJSON_Delete(a);
    run_free(&r);
    r = run(NULL, "show 9");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "no insight 9"));
    run_free(&r);
    r = run(NULL, "search 'Oil goes through intermediate pumping nodes of a network'");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "insight 1"));
    assert_non_null(strstr(r.out, "score"));
    assert_non_null(strstr(r.out, "matched: applies: "));
    assert_non_null(strstr(r.out, "intermediate"));
    run_free(&r);
    r = run(NULL, "search 'NEAR(\"unbalanced * ^ col: OR' --json");
    assert_int_equal(r.code, 0);
    a = cJSON_Parse(r.out);
    assert_true(cJSON_IsArray(a));
    cJSON_Delete(a);
    run_free(&r);
}

static void test_edit_rm_history(void **state)
{
    (void)state;
    fresh_library("edit.db");
    run_result r = run(write_tmp("flow2.json", FLOW), "add");
    run_free(&r);
    r = run(write_tmp("patch.json", "{\"explanation\": \"Write inflow minus outflow.\"}"),
            "edit 1");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "version 2"));
    run_free(&r);
    r = run(NULL, "show 1 --json");
    cJSON *a = cJSON_Parse(r.out);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(a, "history")), 1);
    cJSON_Delete(a);
    run_free(&r);
    r = run(NULL, "rm 1");
    assert_int_equal(r.code, 0);
    run_free(&r);
    r = run(NULL, "list --json");
    assert_string_equal(r.out, "[]\n");
    run_free(&r);
    r = run(NULL, "stats --json");
    a = cJSON_Parse(r.out);
    assert_int_equal(cJSON_GetObjectItem(a, "versions_in_history")->valueint, 2);
    cJSON_Delete(a);
    run_free(&r);
}

static void test_export_import_round_trip(void **state)
{
    (void)state;
    fresh_library("a.db");
    run_result r = run(write_tmp("f3.json", FLOW), "add");
    run_free(&r);
    char out[1100];
    snprintf(out, sizeof out, "%s/export.json", tmpdir);
    r = run(NULL, "export -o '%s'", out);
    assert_int_equal(r.code, 0);
    run_free(&r);
    r = run(NULL, "export");
    char *one = strdup(r.out);
    run_free(&r);
    fresh_library("b.db");
    r = run(NULL, "import '%s'", out);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "1 added"));
    run_free(&r);
    r = run(NULL, "export");
    assert_string_equal(r.out, one);
    run_free(&r);
    free(one);
}

static void test_import_bad_file_names_record(void **state)
{
    (void)state;
    fresh_library("bad.db");
    const char *p = write_tmp("bad.json", "[" FLOW ", {\"taxonomy\": [\"A\"], \"condition\": \"c\","
                                          " \"explanation\": \"e\"}]");
    run_result r = run(NULL, "import '%s'", p);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "bad.json: record 2: example: missing"));
    run_free(&r);
    r = run(NULL, "list --json");
    assert_string_equal(r.out, "[]\n");
    run_free(&r);
    r = run(NULL, "import '%s/nonexistent.json'", tmpdir);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "nonexistent.json"));
    run_free(&r);
}

static void test_damaged_library_left_alone(void **state)
{
    (void)state;
    const char *p = write_tmp("damaged.db", "this is not a database, and must stay so\n");
    snprintf(libpath, sizeof libpath, "%s", p);
    run_result r = run(NULL, "list");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "not an optagent library"));
    run_free(&r);
    size_t len;
    char *after = ts_read_file(p, &len);
    assert_string_equal(after, "this is not a database, and must stay so\n");
    free(after);
}

static void test_stats_text(void **state)
{
    (void)state;
    fresh_library("stats.db");
    run_result r = run(write_tmp("f4.json", FLOW), "add");
    run_free(&r);
    r = run(NULL, "stats");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "1 insight(s)"));
    assert_non_null(strstr(r.out, "Network Flow"));
    run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s/optagent", b && *b ? b : "build");
    tmpdir = ts_mkdtemp();
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(tmpdir);
    free(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_on_stdout),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_refine_nothing_to_do),
        cmocka_unit_test(test_add_list_show_search),
        cmocka_unit_test(test_edit_rm_history),
        cmocka_unit_test(test_export_import_round_trip),
        cmocka_unit_test(test_import_bad_file_names_record),
        cmocka_unit_test(test_damaged_library_left_alone),
        cmocka_unit_test(test_stats_text),
    };
    return cmocka_run_group_tests_name("library_cli", tests, setup, teardown);
}
