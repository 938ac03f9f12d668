/* The Ipopt backend (solver/ipopt.c) through the one solve path
 * (sv_run_text) and directly (sv_ipopt_solve, the contract of the integer
 * search): small models whose optima are known in closed form, a nonconvex
 * one reported as local_optimal with its starts, and hostile ones (a
 * denominator that may be zero, log of a negative, overflow, an unbounded
 * nonconvex objective, a time limit, the cancel flag) that must end in an
 * honest status. Skipped when libipopt cannot be loaded. */
#include "tests/support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "solver/internal.h"

static int setup(void **state)
{
    (void)state;
    return 0;
}

static sv_run *run_model(const char *json, const sv_options *o)
{
    sv_run_options ro;
    sv_run_options_default(&ro);
    if (o) ro.solve = *o;
    sv_code code;
    sv_run *r = sv_run_text(json, strlen(json), &ro, &code);
    assert_non_null(r);
    assert_int_equal(code, SV_OK);
    return r;
}

static void need_ipopt(void)
{
    if (!sv_ipopt_available()) skip();
}

static int near(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

/* The returned point satisfies the rows (1e-6) and gives the objective. */
static void assert_consistent(const sv_run *run)
{
    const sv_result *r = sv_run_result(run);
    const fm_nlp *n = sv_run_nlp(run);
    const fm_program *p = fm_nlp_program(n);
    const double *x = sv_result_values(r);
    assert_non_null(x);
    assert_true(near(fm_nlp_eval_objective(n, x), sv_result_objective(r), 1e-9));
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        double lo, hi, g = fm_nlp_eval_row(n, i, x);
        fm_program_row_bounds(p, i, &lo, &hi);
        assert_true(g >= lo - 1e-6 * (1 + fabs(lo)) && g <= hi + 1e-6 * (1 + fabs(hi)));
    }
}

/* Nonzero when the process has libipopt mapped. */
static int ipopt_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "libipopt")) found = 1;
    fclose(f);
    return found;
}

/* Runs first: a linear model never loads Ipopt (nor MUMPS, gfortran). */
static void test_lp_does_not_load_ipopt(void **state)
{
    (void)state;
    if (ipopt_mapped() < 0) skip();
    assert_int_equal(ipopt_mapped(), 0);
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 4\"}]}", NULL);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_int_equal(ipopt_mapped(), 0);
    sv_run_free(run);
    if (!sv_ipopt_available()) skip();
    assert_int_equal(ipopt_mapped(), 1);   /* loaded on first use */
}

static const char *garden =
    "{\"format\": 1, \"variables\": [{\"name\": \"w\"}, {\"name\": \"h\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"2*w + 2*h\"},"
    " \"constraints\": [{\"name\": \"area\", \"expression\": \"w*h >= 24\"}]}";

/* Fence of a 24 m2 rectangle: 4*sqrt(24), at a square; convex, so proven. */
static void test_garden(void **state)
{
    (void)state;
    need_ipopt();
    sv_run *run = run_model(garden, NULL);
    const sv_result *r = sv_run_result(run);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(sv_result_proven(r));
    assert_true(near(sv_result_objective(r), 4 * sqrt(24), 1e-6));
    assert_true(near(sv_result_values(r)[0], sqrt(24), 1e-5));
    assert_string_equal(sv_result_backend(r), "ipopt 3.11");
    int agreed;
    assert_true(sv_result_starts(r, &agreed) >= 1);
    assert_true(agreed >= 1);
    assert_consistent(run);
    sv_run_free(run);
}

/* The projection of (1, 2) on x + y <= 1: (0, 1), squared distance 2. */
static void test_convex_qp(void **state)
{
    (void)state;
    need_ipopt();
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null}, {\"name\": \"y\", \"lower\": null}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"(x - 1)^2 + (y - 2)^2\"},"
        " \"constraints\": [{\"name\": \"half\", \"expression\": \"x + y <= 1\"}]}", NULL);
    const sv_result *r = sv_run_result(run);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(sv_result_proven(r));
    assert_true(near(sv_result_objective(r), 2, 1e-7));
    assert_true(near(sv_result_values(r)[0], 0, 1e-6));
    assert_true(near(sv_result_values(r)[1], 1, 1e-6));
    assert_consistent(run);
    sv_run_free(run);
}

/* x^4 - 3x^2 + x on [-3, 3] has two local minima; whichever a start
 * reaches, the status is local_optimal, the point is a stationary point of
 * f (checked by Newton's method here), and the starts are reported. */
static void test_nonconvex_local(void **state)
{
    (void)state;
    need_ipopt();
    sv_options o;
    sv_options_default(&o);
    o.starts = 5;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": -3, \"upper\": 3}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x^4 - 3*x^2 + x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 3\"}]}", &o);
    const sv_result *r = sv_run_result(run);
    assert_int_equal(sv_run_status(run), SV_STATUS_LOCAL_OPTIMAL);
    assert_false(sv_result_proven(r));
    int agreed, starts = sv_result_starts(r, &agreed);
    assert_int_equal(starts, 5);
    assert_true(agreed >= 1 && agreed <= 5);
    /* the global minimiser: the root of 4x^3 - 6x + 1 near -1.3 */
    double x = -1.3;
    for (int i = 0; i < 50; i++) x -= (4 * x * x * x - 6 * x + 1) / (12 * x * x - 6);
    double best = x * x * x * x - 3 * x * x + x;
    assert_true(near(sv_result_objective(r), best, 1e-7));   /* five starts find it */
    assert_consistent(run);
    sv_run_free(run);
}

/* max x*y with x + y <= 10: 25, a bilinear (not provably concave) objective. */
static void test_maximise(void **state)
{
    (void)state;
    need_ipopt();
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x*y\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x + y <= 10\"}]}", NULL);
    assert_int_equal(sv_run_status(run), SV_STATUS_LOCAL_OPTIMAL);
    assert_true(near(sv_result_objective(sv_run_result(run)), 25, 1e-7));
    assert_consistent(run);
    sv_run_free(run);
}

/* The contract of the integer search: bounds from the caller, one start. */
static void test_bounds_from_caller(void **state)
{
    (void)state;
    need_ipopt();
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(garden, strlen(garden), NULL, d, &code);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    double lo[2] = {3, 0}, hi[2] = {3, HUGE_VAL};   /* w fixed to 3: h = 8 */
    sv_options o;
    sv_options_default(&o);
    o.starts = 1;
    sv_code sc;
    sv_result *r = sv_ipopt_solve(n, lo, hi, 1, &o, fm_clock_ms(), d, &sc);
    assert_non_null(r);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(near(sv_result_objective(r), 22, 1e-7));
    assert_true(near(sv_result_values(r)[1], 8, 1e-6));
    int agreed;
    assert_int_equal(sv_result_starts(r, &agreed), 1);
    sv_result_free(r);
    /* bounds that leave no feasible point: locally infeasible */
    double lo2[2] = {0, 0}, hi2[2] = {1, 1};
    r = sv_ipopt_solve(n, lo2, hi2, 0, &o, fm_clock_ms(), d, &sc);
    assert_non_null(r);
    assert_int_equal(sv_result_status(r), SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(r), "locally infeasible"));
    assert_false(sv_result_has_solution(r));
    sv_result_free(r);
    fm_model_free(m);
    fm_diags_free(d);
}

/* x + 1/x over [-1, 2]: the denominator may be zero and the objective has
 * no lower bound near 0-; whatever Ipopt meets, the answer is honest. */
static void test_division_by_maybe_zero(void **state)
{
    (void)state;
    need_ipopt();
    sv_options o;
    sv_options_default(&o);
    o.time_limit_s = 20;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": -1, \"upper\": 2}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x + 1/x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 2\"}]}", &o);
    sv_status st = sv_run_status(run);
    assert_true(st == SV_STATUS_LOCAL_OPTIMAL || st == SV_STATUS_UNBOUNDED
                || st == SV_STATUS_FEASIBLE || st == SV_STATUS_INFEASIBLE);
    if (sv_result_has_solution(sv_run_result(run))) {
        assert_consistent(run);
        assert_true(isfinite(sv_result_objective(sv_run_result(run))));
    }
    assert_true(sv_run_solve_ms(run) < 30000);
    sv_run_free(run);
    /* with x >= 0 the division gives x > 0: the minimum 2 at x = 1 */
    run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 2}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x + 1/x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 2\"}]}", &o);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(near(sv_result_objective(sv_run_result(run)), 2, 1e-7));
    sv_run_free(run);
}

/* log(x) with x <= -1: no point where log is defined. */
static void test_log_of_negative(void **state)
{
    (void)state;
    need_ipopt();
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null, \"upper\": -1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"log(x)\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= -1\"}]}", NULL);
    assert_int_equal(sv_run_status(run), SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(sv_run_result(run)), "x"));
    sv_run_free(run);
    /* log of an expression that is negative wherever the row holds */
    run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"log(x - y - 1)\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x - y <= 0\"}]}", NULL);
    /* x - y - 1 > 0 (the domain of log, a linear row) contradicts x - y <= 0 */
    assert_int_equal(sv_run_status(run), SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(sv_run_result(run)), "proven"));
    assert_false(sv_result_has_solution(sv_run_result(run)));
    sv_run_free(run);
}

/* exp(exp(x)) overflows for x > 6.5; maximising it is unbounded. */
static void test_overflow(void **state)
{
    (void)state;
    need_ipopt();
    sv_options o;
    sv_options_default(&o);
    o.time_limit_s = 20;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"exp(exp(x))\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x >= -5\"}]}", &o);
    sv_status st = sv_run_status(run);
    assert_true(st == SV_STATUS_UNBOUNDED || st == SV_STATUS_INFEASIBLE
                || st == SV_STATUS_FEASIBLE || st == SV_STATUS_LOCAL_OPTIMAL);
    if (sv_result_has_solution(sv_run_result(run)))
        assert_true(isfinite(sv_result_objective(sv_run_result(run))));
    sv_run_free(run);
    /* minimising it is fine: the minimum over x >= -5 is exp(exp(-5)) */
    run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"exp(exp(x))\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x >= -5\"}]}", &o);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(near(sv_result_objective(sv_run_result(run)), exp(exp(-5)), 1e-7));
    sv_run_free(run);
}

/* min -x*y over x, y >= 0: unbounded, said so. */
static void test_unbounded_nonconvex(void **state)
{
    (void)state;
    need_ipopt();
    sv_options o;
    sv_options_default(&o);
    o.time_limit_s = 20;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"-x*y + x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x - y <= 1\"}]}", &o);
    sv_status st = sv_run_status(run);
    if (st != SV_STATUS_UNBOUNDED) {   /* a slow build (sanitizers) may reach the limit first */
        assert_true(st == SV_STATUS_FEASIBLE || st == SV_STATUS_TIME_LIMIT);
        assert_true(sv_run_solve_ms(run) >= 0.9 * o.time_limit_s * 1000);
    } else {
        assert_false(sv_result_has_solution(sv_run_result(run)));
    }
    sv_run_free(run);
}

/* A preset cancel flag: interrupted, no solution. */
static void test_cancel(void **state)
{
    (void)state;
    need_ipopt();
    volatile int stop = 1;
    sv_options o;
    sv_options_default(&o);
    o.cancel = &stop;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": -3, \"upper\": 3}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x^4 - 3*x^2 + x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 3\"}]}", &o);
    assert_int_equal(sv_run_status(run), SV_STATUS_INTERRUPTED);
    assert_false(sv_result_has_solution(sv_run_result(run)));
    sv_run_free(run);
}

/* A tiny time limit on a larger model ends at the limit, not later. */
static void test_time_limit(void **state)
{
    (void)state;
    need_ipopt();
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 300]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"], \"lower\": -2, \"upper\": 2}],"
        " \"objective\": {\"sense\": \"min\", \"expression\":"
        "   \"sum{i in I} (x[i]^4 - 3*x[i]^2 + x[i]*sin_free)\"},"
        " \"parameters\": [{\"name\": \"sin_free\", \"value\": 0.5}],"
        " \"constraints\": [{\"name\": \"c\", \"index\": \"{i in I}\", \"expression\":"
        "   \"x[i]*x[i] + (if i > 1 then x[i-1] else 0)^2 <= 3\"}]}";
    sv_options o;
    sv_options_default(&o);
    o.time_limit_s = 0.002;
    o.starts = 50;
    sv_run *run = run_model(j, &o);
    sv_status st = sv_run_status(run);
    assert_true(st == SV_STATUS_TIME_LIMIT || st == SV_STATUS_FEASIBLE
                || st == SV_STATUS_LOCAL_OPTIMAL);
    int agreed;
    assert_true(sv_result_starts(sv_run_result(run), &agreed) < 50);
    assert_true(sv_run_solve_ms(run) < 10000);   /* one iteration past the limit, on a loaded machine */
    sv_run_free(run);
}

/* floor of a variable: Ipopt refuses with a reason. */
static void test_step_function_refused(void **state)
{
    (void)state;
    need_ipopt();
    sv_options o;
    sv_options_default(&o);
    o.solver = SV_SOLVER_IPOPT;
    sv_run *run = run_model(
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"floor(x) + x*x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 5\"}]}", &o);
    assert_int_equal(sv_run_status(run), SV_STATUS_UNSUPPORTED);
    assert_non_null(strstr(sv_result_message(sv_run_result(run)), "floor"));
    sv_run_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_does_not_load_ipopt),
        cmocka_unit_test(test_garden),
        cmocka_unit_test(test_convex_qp),
        cmocka_unit_test(test_nonconvex_local),
        cmocka_unit_test(test_maximise),
        cmocka_unit_test(test_bounds_from_caller),
        cmocka_unit_test(test_division_by_maybe_zero),
        cmocka_unit_test(test_log_of_negative),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_unbounded_nonconvex),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_step_function_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
