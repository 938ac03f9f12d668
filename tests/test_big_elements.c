/* Elements at or above 2^53 (issue 7, item 10): as JSON numbers they are
 * refused (9007199254740993 and 9007199254740992 read as the same double and
 * silently became one element; tests/corpus/invalid/data_*_2_53); as strings
 * they are texts, kept distinct, and parameter keys find them. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"

static void test_string_elements_stay_distinct(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"BIG\", \"elements\": [\"9007199254740993\", \"9007199254740992\"]}],"
        " \"parameters\": [{\"name\": \"w\", \"index\": [\"BIG\"],"
        "   \"values\": {\"9007199254740993\": 1, \"9007199254740992\": 2}}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"BIG\"], \"upper\": 1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{b in BIG} w[b] * x[b]\"},"
        " \"constraints\": [{\"name\": \"one\", \"expression\": \"x['9007199254740993'] <= 0.5\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code = FM_ENOMEM;
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    assert_int_equal(code, FM_OK);
    const fm_program *p = fm_model_program(m);
    assert_int_equal(fm_program_ncols(p), 2);
    assert_string_equal(fm_program_col_name(p, 0), "x[9007199254740993]");
    assert_string_equal(fm_program_col_name(p, 1), "x[9007199254740992]");
    const int *cols;
    const double *coefs;
    assert_int_equal(fm_program_objective(p, &cols, &coefs), 2);
    assert_true(coefs[0] == 1 && coefs[1] == 2);
    assert_int_equal(fm_program_row(p, 0, &cols, &coefs), 1);
    assert_int_equal(cols[0], 0);
    fm_model_free(m);
    fm_diags_free(d);
}

static void test_number_just_below_is_fine(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [9007199254740991, -9007199254740991]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"S\"], \"upper\": 1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{s in S} x[s]\"}, \"constraints\": []}";
    fm_diags *d = fm_diags_new();
    fm_code code = FM_ENOMEM;
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    assert_int_equal(code, FM_OK);
    assert_string_equal(fm_program_col_name(fm_model_program(m), 0), "x[9007199254740991]");
    fm_model_free(m);
    fm_diags_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_elements_stay_distinct),
        cmocka_unit_test(test_number_just_below_is_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
