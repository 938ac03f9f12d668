/* optagent solve --explain: how a model was solved and how sure the answer
 * is, for a linear model, a nonlinear one rewritten exactly for GLPK, and a
 * nonconvex one solved locally by Ipopt from several starts. */
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

static char *explain(const char *name, const char *formulation)
{
    const char *path = ts_cli_path(name);
    assert_int_equal(ts_write_file(path, formulation, strlen(formulation)), 0);
    char *out = NULL;
    assert_int_equal(ts_cli_sh(&out, "%s/optagent solve --explain %s 2>&1", ts_cli_bin(), path), 0);
    char *e = strstr(out, "explain:\n");
    if (!e) fail_msg("no explain section in: %s", out);
    return out;
}

static void test_linear(void **state)
{
    (void)state;
    char *out = explain("lin.json", "{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":4}],"
                        "\"objective\":{\"sense\":\"maximize\",\"expression\":\"x\"},\"constraints\":[]}");
    assert_non_null(strstr(out, "class LP: a linear model, solved by glpk"));
    assert_null(strstr(out, "rewrite:"));
    free(out);
}

static void test_exact_rewrite(void **state)
{
    (void)state;
    char *out = explain("ref.json", "{\"format\":1,\"variables\":[{\"name\":\"b\",\"type\":\"binary\"},"
                        "{\"name\":\"x\",\"upper\":10}],\"objective\":{\"sense\":\"maximize\","
                        "\"expression\":\"3*b*x - 2*x - b\"},\"constraints\":[{\"name\":\"cap\","
                        "\"expression\":\"x <= 8\"}]}");
    assert_non_null(strstr(out, "status: optimal"));
    assert_non_null(strstr(out, "objective: 7"));            /* b = 1, x = 8: 24 - 16 - 1 */
    assert_non_null(strstr(out, "exact linear rewrite"));
    assert_non_null(strstr(out, "rewrite: objective: 3*b*x: product of binary b"));
    free(out);
}

static void test_local_optimum(void **state)
{
    (void)state;
    char *out = explain("loc.json", "{\"format\":1,\"variables\":[{\"name\":\"x\",\"lower\":-2,"
                        "\"upper\":3}],\"objective\":{\"sense\":\"minimize\",\"expression\":"
                        "\"x^4 - 3*x^2 + x\"},\"constraints\":[]}");
    if (strstr(out, "ipopt") == NULL) {      /* no libipopt on this machine */
        free(out);
        skip();
    }
    assert_non_null(strstr(out, "status: local_optimal"));
    assert_non_null(strstr(out, "not proven: the model is not known to be convex"));
    assert_non_null(strstr(out, "starts: 5 starting points"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_exact_rewrite),
        cmocka_unit_test(test_local_optimum),
    };
    return cmocka_run_group_tests_name("explain", tests, ts_cli_setup, ts_cli_teardown);
}
