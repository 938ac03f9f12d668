/* The one option parser of every command (agent/cli/args.c), through the
 * built binary: "--opt=value" and "--opt value", "--" ends the options,
 * short options take attached values ("-j8", "-k5"), and a bad option gets
 * exactly two lines on stderr ("optagent CMD: WHAT" and "Try 'optagent CMD
 * --help'."), nothing on stdout, exit 2 — never the usage text. */
#define _DEFAULT_SOURCE      /* realpath */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <limits.h>
#include "tests/support.h"
#include "tests/support_cli.h"

typedef struct { int code; char *out; char *err; } result;

static void result_free(result *r) { free(r->out); free(r->err); }

/* Runs "optagent ARGS" in the temp dir with no LLM in the environment. */
static result run(const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *errp = ts_cli_path("stderr.txt");
    static char bin[4096];
    if (!*bin) assert_non_null(realpath(ts_cli_bin(), bin));   /* the command runs in the temp dir */
    result r;
    r.code = ts_cli_sh(&r.out, "cd %s && env -u OPTAGENT_BASE_URL -u OPENAI_BASE_URL -u OPTAGENT_MODEL "
                       "-u OPENAI_MODEL -u OPTAGENT_TIME_LIMIT XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s %s/optagent %s "
                       "2>%s </dev/null",
                       ts_cli_path(""), ts_cli_path("cfg"), ts_cli_path("data"), bin, args, errp);
    size_t len;
    r.err = ts_read_file(errp, &len);
    if (!r.out) r.out = strdup("");
    assert_non_null(r.err);
    return r;
}

/* cmd fails with exactly the two lines "optagent CMD: what" + the pointer. */
static void expect_usage(const char *cmd, const char *args, const char *what)
{
    result r = run("%s%s%s", cmd ? cmd : "", cmd ? " " : "", args);
    char want[1024], who[64];
    snprintf(who, sizeof who, "optagent%s%s", cmd ? " " : "", cmd ? cmd : "");
    snprintf(want, sizeof want, "%s: %s\nTry '%s --help'.\n", who, what, who);
    if (r.code != 2 || strcmp(r.err, want))
        print_error("'%s %s': exit %d, stderr:\n%s\n", cmd ? cmd : "", args, r.code, r.err);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    assert_null(strstr(r.err, "usage:"));
    result_free(&r);
}

static const char *const commands[] = { "solve", "ask", "batch", "eval", "merge", "library" };

static void test_unknown_option_one_line_and_pointer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        expect_usage(commands[i], "--bogus x", "unknown option '--bogus'");
        expect_usage(commands[i], "--bogus=1 x", "unknown option '--bogus'");
        expect_usage(commands[i], "-Z x", "unknown option '-Z'");
    }
    expect_usage(NULL, "--bogus", "unknown option '--bogus'");
    expect_usage(NULL, "frobnicate", "unknown command 'frobnicate'");
}

static void test_missing_value(void **state)
{
    (void)state;
    expect_usage("solve", "x.json --time-limit", "option '--time-limit' needs a value");
    expect_usage("ask", "'text' --max-corrections", "option '--max-corrections' needs a value");
    expect_usage("ask", "'text' --model", "option '--model' needs a value");   /* an LLM option */
    expect_usage("ask", "-f", "option '-f' needs a value");
    expect_usage("batch", "x.jsonl --db", "option '--db' needs a value");
    expect_usage("batch", "x.jsonl -j", "option '-j' needs a value");
    expect_usage("batch", "x.jsonl --seed", "option '--seed' needs a value");
    expect_usage("eval", "--db", "option '--db' needs a value");
    expect_usage("eval", "-o", "option '-o' needs a value");
    expect_usage("library", "list --library", "option '--library' needs a value");
    expect_usage("library", "search x -k", "option '-k' needs a value");
}

static void test_flag_given_a_value(void **state)
{
    (void)state;
    expect_usage("solve", "--json=1 x.json", "option '--json' takes no value");
    expect_usage("batch", "--offline=yes x.jsonl", "option '--offline' takes no value");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_usage("solve", "--time-limit=abc x.json", "--time-limit expects a non-negative number, got 'abc'");
    expect_usage("ask", "--max-corrections=21 x", "--max-corrections is 0 to 20, got '21'");
    expect_usage("ask", "--temperature=warm x", "--temperature expects a non-negative number, got 'warm'");
    expect_usage("batch", "-j0 x.jsonl", "-j is 1 to 256, got '0'");
    expect_usage("batch", "-j 300 x.jsonl", "-j is 1 to 256, got '300'");
    expect_usage("batch", "--samples=0 x.jsonl", "--samples is 1 to 100, got '0'");
    expect_usage("library", "search x -k0", "-k is 1 to 1000, got '0'");
    expect_usage("eval", "--format=pdf", "--format is markdown, json or html, got 'pdf'");
}

static const char *lp =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],\n"
    " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},\n"
    " \"constraints\": [{\"expression\": \"x <= 4\"}]}\n";

static void test_equals_and_separate_values(void **state)
{
    (void)state;
    assert_int_equal(ts_write_file(ts_cli_path("lp.json"), lp, strlen(lp)), 0);
    result r = run("solve lp.json --time-limit=5 --mip-gap 0.1 --export=lp.lp");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "objective: 4"));
    result_free(&r);
    size_t len;
    char *exported = ts_read_file(ts_cli_path("lp.lp"), &len);
    assert_non_null(exported);
    free(exported);
    r = run("solve --json lp.json --time-limit 5");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"status\""));
    result_free(&r);
    /* the library file given both ways */
    r = run("library list --library=%s", ts_cli_path("a.db"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "empty"));
    result_free(&r);
    r = run("library --library %s stats --json", ts_cli_path("a.db"));
    assert_int_equal(r.code, 0);
    result_free(&r);
}

static void test_double_dash_ends_options(void **state)
{
    (void)state;
    assert_int_equal(ts_write_file(ts_cli_path("-dash.json"), lp, strlen(lp)), 0);
    result r = run("solve -- -dash.json");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "objective: 4"));
    result_free(&r);
    /* without "--" it is an option */
    expect_usage("solve", "-dash.json", "unknown option '-d'");
    /* options before "--" still count */
    r = run("solve --check -- -dash.json");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "valid"));
    result_free(&r);
}

static void test_short_options_attach_and_cluster(void **state)
{
    (void)state;
    /* -j8 and -j 8 parse (the run then stops at the missing file: exit 1, not 2) */
    result r = run("batch -j8 --no-progress no-such.jsonl");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "no-such.jsonl"));
    result_free(&r);
    r = run("batch -j 8 --no-progress no-such.jsonl");
    assert_int_equal(r.code, 1);
    result_free(&r);
    /* -k5 and -k 5 */
    r = run("library --library=%s search flow -k5", ts_cli_path("b.db"));
    assert_int_equal(r.code, 0);
    result_free(&r);
    r = run("library --library=%s search flow -k 5 --json", ts_cli_path("b.db"));
    assert_int_equal(r.code, 0);
    result_free(&r);
    /* a cluster: -h and -k5 in one argument */
    r = run("library --library=%s -hk5", ts_cli_path("b.db"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: optagent library"));
    result_free(&r);
    /* -oFILE attached (eval: the database is missing, so exit 1, not 2) */
    r = run("eval --db=%s -oreport.md", ts_cli_path("none.db"));
    assert_int_not_equal(r.code, 2);
    result_free(&r);
}

static void test_help_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        for (int form = 0; form < 2; form++) {
            result r = run("%s %s", commands[i], form ? "-h" : "--help");
            if (r.code != 0) print_error("%s --help: exit %d\n", commands[i], r.code);
            assert_int_equal(r.code, 0);
            assert_non_null(strstr(r.out, "usage: optagent"));
            assert_string_equal(r.err, "");
            result_free(&r);
        }
    }
    result r = run("-h");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "commands:"));
    result_free(&r);
    r = run("--version");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "optagent "));
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_option_one_line_and_pointer),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_flag_given_a_value),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_equals_and_separate_values),
        cmocka_unit_test(test_double_dash_ends_options),
        cmocka_unit_test(test_short_options_attach_and_cluster),
        cmocka_unit_test(test_help_everywhere),
    };
    return cmocka_run_group_tests(tests, ts_cli_setup, ts_cli_teardown);
}
