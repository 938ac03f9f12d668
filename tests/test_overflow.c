/* Numbers at the edges of double: a report quantity that overflows is null
 * with a diagnostic naming it; coefficients that overflow while compiling
 * are an error naming the element; and coefficients GLPK cannot scale
 * (beyond 1e+30 or below 1e-30, which made GLPK fail with "invalid scale
 * factor" or an assertion, reported as a bare solver failure) are refused
 * before GLPK starts, naming the element, the column and the value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "tests/support.h"

/* The first diagnostic on element with text in its message, or NULL. */
static const fm_diag *find(const fm_diags *d, const char *element, const char *text)
{
    for (size_t i = 0; i < fm_diags_count(d); i++) {
        const fm_diag *g = fm_diags_get(d, i);
        if (!strcmp(g->element, element) && strstr(g->message, text))
            return g;
    }
    return NULL;
}

static fm_model *parse(const char *json, fm_diags *d, fm_code *code)
{
    return fm_model_parse(json, strlen(json), NULL, d, code);
}

static void test_report_overflow(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1e300}],"
        " \"objective\": {\"sense\": \"maximize\", \"expression\": \"x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 1e300\"}],"
        " \"report\": [{\"name\": \"big\", \"expression\": \"x * 1e308\"},"
        "   {\"name\": \"e\", \"expression\": \"exp(1000)\"},"
        "   {\"name\": \"sum\", \"expression\": \"x/1e300*1e308 + x/1e300*1e308\"},"
        "   {\"name\": \"k\", \"expression\": \"1e308 * 1e308\"},"
        "   {\"name\": \"ok\", \"expression\": \"x / 1e300\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = parse(json, d, &code);
    assert_int_equal(code, FM_OK);
    sv_code sc;
    sv_result *r = sv_solve(fm_model_program(m), NULL, d, &sc);
    assert_non_null(r);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    const char *labels[] = {"report[0] 'big'", "report[1] 'e'", "report[2] 'sum'",
                            "report[3] 'k'"};
    for (size_t k = 0; k < 4; k++) {
        const char *name;
        double v = 0;
        size_t before = fm_diags_count(d);
        assert_int_not_equal(fm_model_report_eval(m, k, sv_result_values(r), &name, &v, d), FM_OK);
        assert_true(fm_diags_count(d) > before);
        if (!find(d, labels[k], "finite")) {
            ts_print_diags(d);
            fail_msg("no diagnostic names %s", labels[k]);
        }
    }
    const char *name;
    double v = 0;
    assert_int_equal(fm_model_report_eval(m, 4, sv_result_values(r), &name, &v, d), FM_OK);
    assert_true(ts_close(v, 1));
    sv_result_free(r);
    fm_model_free(m);
    fm_diags_free(d);
}

static void test_coefficient_overflow(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1}],"
        " \"objective\": {\"sense\": \"maximize\", \"expression\": \"x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"1e200*x*1e200 <= 1\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = parse(json, d, &code);
    assert_int_not_equal(code, FM_OK);
    assert_true(!m || !fm_model_program(m));
    if (!find(d, "constraints[0] 'c'", "not finite")) {
        ts_print_diags(d);
        fail_msg("the overflow does not name the constraint");
    }
    fm_model_free(m);
    fm_diags_free(d);
}

/* Before the check these gave "GLPK stopped with an internal error:
 * glp_set_sjj: j = 1; sjj = 0; invalid scale factor" (and an assertion in
 * the simplex method for the second). */
static void test_unscalable_coefficients(void **state)
{
    (void)state;
    const char *models[] = {
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10, \"type\": \"integer\"},"
        " {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"maximize\", \"expression\": \"1e300*x + 1e-300*y\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"1e300*x + 1e-300*y <= 1e301\"},"
        "   {\"name\": \"d\", \"expression\": \"1e-300*x + 1e300*y <= 1\"}]}",
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [\"a\", \"b\"]}],"
        " \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"maximize\", \"expression\": \"x + y\"},"
        " \"constraints\": [{\"name\": \"c\", \"index\": [\"S\"], \"expression\": "
        "   \"1e308*x + 1e-308*y <= 1e308\"},"
        "   {\"name\": \"d\", \"expression\": \"1e-308*x + 1e308*y <= 1\"}]}",
    };
    const char *want_el[] = {"constraints[0] 'c'", "constraints[0] 'c'"};
    const char *want_val[] = {"1e+300 for x", "1e+308 for x"};
    for (int k = 0; k < 2; k++) {
        fm_diags *d = fm_diags_new();
        fm_code code;
        fm_model *m = parse(models[k], d, &code);
        assert_int_equal(code, FM_OK);
        sv_code sc = SV_ENOMEM;
        sv_result *r = sv_solve(fm_model_program(m), NULL, d, &sc);
        assert_non_null(r);
        assert_int_equal(sc, SV_OK);
        assert_int_equal(sv_result_status(r), SV_STATUS_INVALID);
        assert_false(sv_result_has_solution(r));
        const fm_diag *g = find(d, want_el[k], want_val[k]);
        if (!g) {
            ts_print_diags(d);
            fail_msg("no diagnostic names %s and %s", want_el[k], want_val[k]);
        }
        assert_non_null(strstr(g->message, "scale"));
        if (k == 1)
            assert_string_equal(g->index, "[a]");
        /* The tiny coefficient of d is named too. */
        assert_non_null(find(d, "constraints[1] 'd'", "for x"));
        sv_result_free(r);
        fm_model_free(m);
        fm_diags_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_overflow),
        cmocka_unit_test(test_coefficient_overflow),
        cmocka_unit_test(test_unscalable_coefficients),
    };
    return cmocka_run_group_tests_name("overflow", tests, NULL, NULL);
}
