/* Integer variable bounds round inward with an absolute tolerance of 1e-6
 * (issue 7, item 2; docs/FORMULATION.md "Integer bounds"). The old relative
 * tolerance moved large bounds outward: upper 1e9 became 1000000001 and
 * lower 5e9 became 4999999995, and the solver reported those as optimal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "formulate/formulate.h"
#include "solver/solver.h"

typedef struct {
    const char *lower, *upper;   /* JSON values ("null": the default) */
    double lo, hi;               /* the column's bounds after rounding */
} bound_case;

static const bound_case cases[] = {
    { "0", "1000000000", 0, 1e9 },
    { "5e9", "null", 5e9, HUGE_VAL },
    { "5000000000", "6e9", 5e9, 6e9 },
    { "0", "1099511627776", 0, 1099511627776.0 },          /* 2^40 */
    { "-1099511627776", "0", -1099511627776.0, 0 },
    { "1099511627775.5", "1099511627776.5", 1099511627776.0, 1099511627776.0 },
    { "0", "2.9999999", 0, 3 },                             /* within 1e-6 */
    { "3.0000001", "10", 3, 10 },
    { "0", "2.5", 0, 2 },
    { "2.5", "10", 3, 10 },
    { "1.00001", "9.99999", 2, 9 },                         /* beyond 1e-6 */
    { "-2.5", "-0.5", -2, -1 },
    { "\"2.5 * 2\"", "\"1e9 + 0.5\"", 5, 1e9 },            /* expressions */
};

static fm_model *build(const bound_case *c, fm_diags *d, const char *sense)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"type\": \"integer\","
             " \"lower\": %s, \"upper\": %s}],"
             " \"objective\": {\"sense\": \"%s\", \"expression\": \"x\"}, \"constraints\": []}",
             c->lower, c->upper, sense);
    fm_code code = FM_ENOMEM;
    fm_model *m = fm_model_parse(buf, strlen(buf), NULL, d, &code);
    if (code != FM_OK)
        fail_msg("%s: %s", buf, fm_diags_count(d) ? fm_diags_get(d, 0)->message : "?");
    return m;
}

static void test_column_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fm_diags *d = fm_diags_new();
        fm_model *m = build(&cases[i], d, "maximize");
        double lo, hi;
        fm_program_col_bounds(fm_model_program(m), 0, &lo, &hi);
        if (lo != cases[i].lo || hi != cases[i].hi)
            fail_msg("lower %s upper %s: got [%.17g, %.17g], expected [%.17g, %.17g]",
                     cases[i].lower, cases[i].upper, lo, hi, cases[i].lo, cases[i].hi);
        fm_model_free(m);
        fm_diags_free(d);
    }
}

/* The optimum of min x and max x is exactly the rounded bound. */
static void test_solved_optimum(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int s = 0; s < 2; s++) {
            double want = s ? cases[i].hi : cases[i].lo;
            if (!isfinite(want)) continue;
            fm_diags *d = fm_diags_new();
            fm_model *m = build(&cases[i], d, s ? "maximize" : "minimize");
            sv_options o;
            sv_options_default(&o);
            sv_code sc = SV_ENOMEM;
            sv_result *r = sv_solve(fm_model_program(m), &o, d, &sc);
            assert_non_null(r);
            if (sv_result_status(r) != SV_STATUS_OPTIMAL || sv_result_objective(r) != want)
                fail_msg("lower %s upper %s %s: %s objective %.17g, expected %.17g",
                         cases[i].lower, cases[i].upper, s ? "max" : "min",
                         sv_status_name(sv_result_status(r)), sv_result_objective(r), want);
            sv_result_free(r);
            fm_model_free(m);
            fm_diags_free(d);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_column_bounds),
        cmocka_unit_test(test_solved_optimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
