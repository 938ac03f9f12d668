/* Exports of odd models (the probe of the merged export work): a model
 * without constraints cannot go to CPLEX LP (GLPK's reader rejects the
 * empty "Subject To" its writer leaves) and says so instead of blaming
 * colliding names; its .mps and .mod still work. Report names with quotes,
 * % and unicode reach glpsol's output as written, with the same optimum. A
 * tab in an element is refused for .mod (glpsol would read a blank); a
 * constraint named R0000000 (GLPK's name for the MPS objective row) is
 * refused for .mps with that reason; a report quantity that fails at the
 * optimum no longer stops glpsol's printout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tests/support.h"
#include "tests/support_cli.h"

static const char *no_rows =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1},"
    " {\"name\": \"y\", \"lower\": -2, \"upper\": 4}],\n"
    " \"objective\": {\"sense\": \"max\", \"expression\": \"x + y + 7\"}, \"constraints\": [],\n"
    " \"report\": [{\"name\": \"it's 100% \\\"%s\\\" %n caf\\u00e9\", \"expression\": \"x + y\"}]}\n";

static void test_lp_without_rows_refused_clearly(void **state)
{
    (void)state;
    const char *f = ts_cli_path("norows.json");
    assert_int_equal(ts_write_file(f, no_rows, strlen(no_rows)), 0);
    char *out = NULL;
    int code = ts_cli_sh(&out, "%s/optagent solve %s --export %s 2>&1", ts_cli_bin(), f,
                         ts_cli_path("norows.lp"));
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(out, "without constraints"));
    assert_null(strstr(out, "collide"));
    free(out);
    FILE *lp = fopen(ts_cli_path("norows.lp"), "r");
    assert_null(lp);
    if (lp) fclose(lp);
    /* .mps and .mod of the same model are written */
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent solve %s --check --export %s >/dev/null 2>&1",
                               ts_cli_bin(), f, ts_cli_path("norows.mps")), 0);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent solve %s --check --export %s >/dev/null 2>&1",
                               ts_cli_bin(), f, ts_cli_path("norows.mod")), 0);
    if (!ts_have_program("glpsol")) {
        print_message("# glpsol not installed: the read-back is skipped\n");
        return;
    }
    /* fixed MPS, the maximization negated (docs/FORMULATION.md) */
    assert_int_equal(ts_cli_sh(&out, "glpsol --mps %s -o /dev/stdout 2>&1", ts_cli_path("norows.mps")), 0);
    assert_non_null(strstr(out, "Objective:  R0000000 = -12"));
    free(out);
    assert_int_equal(ts_cli_sh(&out, "glpsol -m %s 2>&1", ts_cli_path("norows.mod")), 0);
    assert_non_null(strstr(out, "it's 100% \"%s\" %n caf\xc3\xa9 = 5\n"));
    free(out);
}

/* glpsol reads a tab inside a MathProg string as a blank: elements "a b"
 * and "a<TAB>b" would be one duplicate element ("duplicate tuple 'a b'"),
 * so a tab is refused like the other control characters. */
static void test_tab_in_element_refused_for_mod(void **state)
{
    (void)state;
    const char *text =
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [\"a b\", \"a\\tb\"]}],\n"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"S\"], \"upper\": 1}],\n"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{s in S} x[s]\"}, \"constraints\": []}\n";
    const char *f = ts_cli_path("tab.json");
    assert_int_equal(ts_write_file(f, text, strlen(text)), 0);
    char *out = NULL;
    int code = ts_cli_sh(&out, "%s/optagent solve %s --check --export %s 2>&1", ts_cli_bin(), f,
                         ts_cli_path("tab.mod"));
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(out, "cannot be written in MathProg"));
    assert_non_null(strstr(out, "tab"));
    free(out);
    FILE *mod = fopen(ts_cli_path("tab.mod"), "r");
    assert_null(mod);
    if (mod) fclose(mod);
}

/* A constraint named R0000000 collides with the name GLPK's MPS writer
 * gives the objective row: the refusal names the real cause; .lp works. */
static void test_row_named_like_the_objective_row(void **state)
{
    (void)state;
    const char *text =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 4}, {\"name\": \"y\", \"upper\": 4}],\n"
        " \"objective\": {\"name\": \"obj\", \"sense\": \"max\", \"expression\": \"x + y\"},\n"
        " \"constraints\": [{\"name\": \"R0000000\", \"expression\": \"x + 2*y <= 5\"}]}\n";
    const char *f = ts_cli_path("r0.json");
    assert_int_equal(ts_write_file(f, text, strlen(text)), 0);
    char *out = NULL;
    int code = ts_cli_sh(&out, "%s/optagent solve %s --check --export %s 2>&1", ts_cli_bin(), f,
                         ts_cli_path("r0.mps"));
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(out, "GLPK's MPS writer gives the objective row"));
    free(out);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent solve %s --check --export %s >/dev/null 2>&1",
                               ts_cli_bin(), f, ts_cli_path("r0.lp")), 0);
}

/* A report that fails at the optimum (1/(x-2) at x = 2, sqrt and log of
 * something negative there) no longer stops glpsol before the later
 * quantities: each is guarded and says it is undefined. */
static void test_report_failing_at_the_optimum(void **state)
{
    (void)state;
    const char *text =
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [\"a\", \"b\"]}],\n"
        " \"parameters\": [{\"name\": \"w\", \"index\": [\"S\"], \"values\": [1, 2]}],\n"
        " \"variables\": [{\"name\": \"x\", \"upper\": 2}],\n"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": [],\n"
        " \"report\": [{\"name\": \"inv\", \"expression\": \"3 * 1/(x - 2)\"},\n"
        "            {\"name\": \"root\", \"expression\": \"sqrt(1.5 - x)\"},\n"
        "            {\"name\": \"lg\", \"expression\": \"log(3 - 1.5 * x) + 1\"},\n"
        "            {\"name\": \"per\", \"expression\": \"sum{s in S} w[s] / x\"},\n"
        "            {\"name\": \"ok\", \"expression\": \"x * 3 / 2\"}]}\n";
    const char *f = ts_cli_path("fails.json");
    assert_int_equal(ts_write_file(f, text, strlen(text)), 0);
    const char *mod = ts_cli_path("fails.mod");
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent solve %s --check --export %s >/dev/null 2>&1",
                               ts_cli_bin(), f, mod), 0);
    size_t len;
    char *m = ts_read_file(mod, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "printf{1..1: x - 2 != 0} "));
    assert_non_null(strstr(m, "printf{1..1: 1.5 - x >= 0} "));
    assert_non_null(strstr(m, "printf{1..1: 3 - 1.5 * x > 0} "));
    assert_non_null(strstr(m, "printf '%s = %g\\n', 'ok', "));   /* a constant denominator: no guard */
    free(m);
    if (!ts_have_program("glpsol")) return;
    char *out = NULL;
    assert_int_equal(ts_cli_sh(&out, "glpsol -m %s 2>&1", mod), 0);
    assert_non_null(strstr(out, "inv is undefined at this solution"));
    assert_non_null(strstr(out, "root is undefined at this solution"));
    assert_non_null(strstr(out, "lg is undefined at this solution"));
    assert_non_null(strstr(out, "per = 1.5\n"));
    assert_non_null(strstr(out, "ok = 3\n"));
    assert_non_null(strstr(out, "successfully processed"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_without_rows_refused_clearly),
        cmocka_unit_test(test_tab_in_element_refused_for_mod),
        cmocka_unit_test(test_row_named_like_the_objective_row),
        cmocka_unit_test(test_report_failing_at_the_optimum),
    };
    return cmocka_run_group_tests_name("probe_export", tests, ts_cli_setup, ts_cli_teardown);
}
