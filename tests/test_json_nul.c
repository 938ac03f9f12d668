/* The escape \u0000 is refused wherever it appears (issue 7, item 5): cJSON
 * cut strings there, so "x\u0000 * 1000" was solved as "x". The corpus
 * (tests/corpus/invalid/json_nul_escape_*) covers each place; this checks
 * the scanner's edges: an escaped backslash followed by the text "u0000" is
 * not a NUL, and other control escapes are not mistaken for one. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"

static fm_code parse(const char *description, const char *expression, char *msg, size_t len)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"format\": 1, \"description\": \"%s\","
             " \"variables\": [{\"name\": \"x\", \"upper\": 10}],"
             " \"objective\": {\"sense\": \"max\", \"expression\": \"%s\"}, \"constraints\": []}",
             description, expression);
    fm_diags *d = fm_diags_new();
    fm_code code = FM_ENOMEM;
    fm_model *m = fm_model_parse(buf, strlen(buf), NULL, d, &code);
    snprintf(msg, len, "%s", fm_diags_errors(d) ? fm_diags_get(d, 0)->message : "");
    fm_model_free(m);
    fm_diags_free(d);
    return code;
}

static void test_escaped_backslash_is_not_nul(void **state)
{
    (void)state;
    char msg[1024];
    /* JSON text \\u0000: a backslash, then the characters u0000 */
    assert_int_equal(parse("a\\\\u0000b", "x", msg, sizeof msg), FM_OK);
    assert_int_equal(parse("a\\\\\\\\u0000b", "x", msg, sizeof msg), FM_OK);
    assert_int_equal(parse("\\u0001 \\u001f \\\"\\u0000x\\\"", "x", msg, sizeof msg), FM_EJSON);
    assert_non_null(strstr(msg, "in description"));
}

static void test_nul_after_escaped_backslash(void **state)
{
    (void)state;
    char msg[1024];
    /* \\ then \u0000: the NUL is real */
    assert_int_equal(parse("a\\\\\\u0000", "x", msg, sizeof msg), FM_EJSON);
    assert_non_null(strstr(msg, "(NUL)"));
    assert_non_null(strstr(msg, "in description"));
    assert_int_equal(parse("ok", "x\\u0000 * 1000", msg, sizeof msg), FM_EJSON);
    assert_non_null(strstr(msg, "in objective.expression"));
    assert_non_null(strstr(msg, "column "));
}

static void test_other_control_escapes(void **state)
{
    (void)state;
    char msg[1024];
    /* not NUL: kept in a description, a syntax error in an expression */
    assert_int_equal(parse("a\\u0001\\u001f\\ud83d\\ude00", "x", msg, sizeof msg), FM_OK);
    assert_int_equal(parse("ok", "x\\u0001 * 1000", msg, sizeof msg), FM_EINVALID);
    assert_non_null(strstr(msg, "unexpected control character 0x01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaped_backslash_is_not_nul),
        cmocka_unit_test(test_nul_after_escaped_backslash),
        cmocka_unit_test(test_other_control_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
