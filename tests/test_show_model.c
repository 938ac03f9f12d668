/* test_show_model — the readable formulation where a person looks at one:
 * `ask --show-model` prints the final formulation as `optagent show` does
 * (sets, variables with bounds and types, objective, constraints in the
 * expression syntax), and plain `ask` no longer prints its JSON, only its
 * size and where to see it. Against the fake LLM server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support.h"
#include "tests/support_cli.h"

static void test_ask_show_model(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(3, 0, NULL);
    char *out;
    int rc = ts_cli_sh(&out, "%s %s/optagent ask --no-library --show-model "
                       "'Problem number 3: maximize x up to 3.' 2>/dev/null",
                       ts_cli_env(f), ts_cli_bin());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "answer: 3\n"));
    /* the rendering: the variable with its bound, the objective in the syntax */
    assert_non_null(strstr(out, "model:\nformulation (unnamed)\n"));
    assert_non_null(strstr(out, "variables:\n  x >= 0, <= 3\n"));
    assert_non_null(strstr(out, "maximize objective: x\n"));
    assert_null(strstr(out, "\"variables\""));        /* no JSON */
    free(out);

    rc = ts_cli_sh(&out, "%s %s/optagent ask --no-library 'Problem number 2: maximize x up to 2.' 2>/dev/null",
                   ts_cli_env(f), ts_cli_bin());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "model: 0 sets, 0 parameters, 1 variable, 0 constraints (--show-model shows it"));
    assert_null(strstr(out, "\"variables\""));
    assert_null(strstr(out, "maximize objective"));
    free(out);
    ts_fake_stop(f);
}

static void test_ask_help_lists_show_model(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(ts_cli_sh(&out, "%s/optagent ask --help", ts_cli_bin()), 0);
    assert_non_null(strstr(out, "--show-model"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_show_model),
        cmocka_unit_test(test_ask_help_lists_show_model),
    };
    return cmocka_run_group_tests_name("show_model", tests, ts_cli_setup, ts_cli_teardown);
}
