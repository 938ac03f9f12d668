/* Tests of solver/: the GLPK backend on programs built directly with the
 * fm_program builder — statuses, solutions, duals, diagnostics, limits,
 * silence on stdout, export, and GLPK's error path; and the one solve path
 * from a formulation text (sv_run_*). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "solver/internal.h"   /* sv_ipopt_available */

/* Test-only switch of solver/glpk.c (not in solver.h): the next problem
 * built makes an invalid GLPK call, to exercise GLPK's error hook. */
void sv_test_glpk_fail_next(int on);

#define TOL 1e-6

/* ---- helpers -------------------------------------------------------------- */

static int col(fm_program *p, const char *name, fm_col_kind kind, double lo,
               double hi)
{
    int j = fm_program_add_col(p, name, kind, lo, hi);
    assert_true(j >= 0);
    return j;
}

static void row(fm_program *p, const char *name, const char *element,
                double lo, double hi, size_t n, const int *cols,
                const double *coefs)
{
    assert_true(fm_program_add_row(p, name, element, lo, hi, n, cols, coefs) >= 0);
}

static void objective(fm_program *p, fm_sense sense, double constant, size_t n,
                      const int *cols, const double *coefs)
{
    assert_int_equal(fm_program_set_objective(p, sense, "obj", constant, n,
                                              cols, coefs), 0);
}

static sv_options opts(int presolve, double time_limit_s)
{
    sv_options o;
    sv_options_default(&o);
    o.presolve = presolve;
    o.time_limit_s = time_limit_s;
    return o;
}

/* Solves and insists that a result comes back. */
static sv_result *solve(const fm_program *p, const sv_options *o, fm_diags *d)
{
    sv_code code = SV_ENOMEM;
    sv_result *r = sv_solve(p, o, d, &code);
    assert_non_null(r);
    assert_int_equal(code, SV_OK);
    return r;
}

static void expect_status(const sv_result *r, sv_status want)
{
    if (sv_result_status(r) != want)
        fail_msg("status %s, expected %s (%s)",
                 sv_status_name(sv_result_status(r)), sv_status_name(want),
                 sv_result_message(r));
}

/* The first diagnostic whose element is element, or NULL. */
static const fm_diag *find_diag(const fm_diags *d, const char *element)
{
    for (size_t i = 0; i < fm_diags_count(d); i++)
        if (strcmp(fm_diags_get(d, i)->element, element) == 0)
            return fm_diags_get(d, i);
    return NULL;
}

/* The classic  max 3x + 5y + z  s.t.  x <= 4, 2y <= 12, 3x + 2y + 3z <= 18.
 * Optimum x = 2, y = 6, z = 0, objective 36; duals 0, 1.5, 1; the reduced
 * cost of z is 1 - 3 * 1 = -2. */
static fm_program *classic_lp(void)
{
    fm_program *p = fm_program_new();
    assert_non_null(p);
    int x = col(p, "x", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    int z = col(p, "z", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "r1", "constraints[0] 'r1'", -HUGE_VAL, 4, 1, (int[]){x}, (double[]){1});
    row(p, "r2", "constraints[1] 'r2'", -HUGE_VAL, 12, 1, (int[]){y}, (double[]){2});
    row(p, "r3", "constraints[2] 'r3'", -HUGE_VAL, 18, 3, (int[]){x, y, z},
        (double[]){3, 2, 3});
    objective(p, FM_MAXIMIZE, 0, 3, (int[]){x, y, z}, (double[]){3, 5, 1});
    return p;
}

/* ---- tests ----------------------------------------------------------------- */

/* GLPK's presolver drops a row whose implied bound lies within 1e-3 of the
 * column's bound: maximize 100001 x s.t. 100001 x <= 1e6, 0 <= x <= 10 came
 * back "optimal" at x = 10 (objective 1000010). The presolved solution is
 * checked against the original rows and solved again when it violates one. */
static void test_presolve_never_violates_rows(void **state)
{
    (void)state;
    for (int mip = 0; mip <= 1; mip++) {
        fm_program *p = fm_program_new();
        assert_non_null(p);
        int x = col(p, "x", FM_COL_CONTINUOUS, 0, 10);
        int y = col(p, "y", mip ? FM_COL_INTEGER : FM_COL_CONTINUOUS, 0, 3);
        row(p, "c", "constraints[0] 'c'", -HUGE_VAL, 1e6, 1, (int[]){x}, (double[]){100001});
        objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, y}, (double[]){100001, 1});
        for (int presolve = 1; presolve >= 0; presolve--) {
            sv_options o = opts(presolve, 0);
            sv_result *r = solve(p, &o, NULL);
            expect_status(r, SV_STATUS_OPTIMAL);
            assert_float_equal(sv_result_objective(r), 1e6 + 3, 1e-6);
            assert_true(sv_result_values(r)[0] * 100001 <= 1e6 + 1e-6);
            if (presolve)
                assert_non_null(strstr(sv_result_log(r), "without GLPK's presolver"));
            sv_result_free(r);
        }
        fm_program_free(p);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sv_status_name(SV_STATUS_OPTIMAL), "optimal");
    assert_string_equal(sv_status_name(SV_STATUS_FEASIBLE), "feasible");
    assert_string_equal(sv_status_name(SV_STATUS_INFEASIBLE), "infeasible");
    assert_string_equal(sv_status_name(SV_STATUS_UNBOUNDED), "unbounded");
    assert_string_equal(sv_status_name(SV_STATUS_INF_OR_UNBD),
                        "infeasible_or_unbounded");
    assert_string_equal(sv_status_name(SV_STATUS_TIME_LIMIT), "time_limit");
    assert_string_equal(sv_status_name(SV_STATUS_INVALID), "invalid");
    assert_string_equal(sv_status_name(SV_STATUS_UNSUPPORTED), "unsupported");
    assert_string_equal(sv_status_name(SV_STATUS_INTERRUPTED), "interrupted");
    assert_string_equal(sv_status_name(SV_STATUS_VALID), "valid");
    const sv_code codes[] = {SV_OK, SV_EBACKEND, SV_ENOMEM, SV_EIO, SV_EARG,
                             SV_ENAME};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_non_null(sv_strerror(codes[i]));
        assert_true(strlen(sv_strerror(codes[i])) > 0);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(sv_strerror(codes[i]), sv_strerror(codes[k]));
    }
    char want[64];
    snprintf(want, sizeof want, "glpk %s", glp_version());
    assert_string_equal(sv_backend_name(), want);
    sv_options o;
    sv_options_default(&o);
    assert_true(o.time_limit_s <= 0);
    assert_true(o.mip_gap < 0);
    assert_int_equal(o.presolve, 1);
    assert_null(o.cancel);
}

static void test_lp_optimum_duals(void **state)
{
    (void)state;
    fm_program *p = classic_lp();
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        assert_true(sv_result_has_solution(r));
        assert_float_equal(sv_result_objective(r), 36, TOL);
        const double *x = sv_result_values(r);
        assert_non_null(x);
        assert_float_equal(x[0], 2, TOL);
        assert_float_equal(x[1], 6, TOL);
        assert_float_equal(x[2], 0, TOL);
        const double *act = sv_result_activities(r);
        assert_non_null(act);
        assert_float_equal(act[0], 2, TOL);
        assert_float_equal(act[1], 12, TOL);
        assert_float_equal(act[2], 18, TOL);
        const double *dual = sv_result_duals(r);
        assert_non_null(dual);
        assert_float_equal(dual[0], 0, TOL);
        assert_float_equal(dual[1], 1.5, TOL);
        assert_float_equal(dual[2], 1, TOL);
        const double *rc = sv_result_reduced_costs(r);
        assert_non_null(rc);
        assert_float_equal(rc[0], 0, TOL);
        assert_float_equal(rc[1], 0, TOL);
        assert_float_equal(rc[2], -2, TOL);
        assert_true(sv_result_time_ms(r) >= 0);
        assert_non_null(strstr(sv_result_log(r), "OPTIMAL"));
        assert_true(strlen(sv_result_message(r)) > 0);
        sv_result_free(r);
    }
    fm_program_free(p);
}

/* A 12-item knapsack, checked against brute-force enumeration. */
static void test_milp_knapsack(void **state)
{
    (void)state;
    enum { N = 12 };
    const double value[N] = {24, 13, 23, 15, 16, 31, 9, 27, 18, 20, 11, 29};
    const double weight[N] = {12, 7, 11, 8, 9, 17, 5, 14, 10, 11, 6, 16};
    const double cap = 50;
    double best = 0;
    for (unsigned s = 0; s < (1u << N); s++) {
        double v = 0, w = 0;
        for (int j = 0; j < N; j++)
            if (s >> j & 1) { v += value[j]; w += weight[j]; }
        if (w <= cap && v > best)
            best = v;
    }
    fm_program *p = fm_program_new();
    int cols[N];
    char name[32];
    for (int j = 0; j < N; j++) {
        snprintf(name, sizeof name, "take[%d]", j);
        cols[j] = col(p, name, FM_COL_BINARY, 0, 1);
    }
    row(p, "cap", "constraints[0] 'cap'", -HUGE_VAL, cap, N, cols, weight);
    objective(p, FM_MAXIMIZE, 0, N, cols, value);
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        assert_float_equal(sv_result_objective(r), best, TOL);
        const double *x = sv_result_values(r);
        double w = 0;
        for (int j = 0; j < N; j++) {
            assert_true(fabs(x[j]) < TOL || fabs(x[j] - 1) < TOL);
            w += weight[j] * x[j];
        }
        assert_true(w <= cap + TOL);
        assert_float_equal(sv_result_activities(r)[0], w, TOL);
        assert_null(sv_result_duals(r));        /* MILP: no duals */
        assert_null(sv_result_reduced_costs(r));
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_lp_infeasible(void **state)
{
    (void)state;
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "lo", NULL, 5, HUGE_VAL, 2, (int[]){x, y}, (double[]){1, 1});
    row(p, "hi", NULL, -HUGE_VAL, 3, 2, (int[]){x, y}, (double[]){1, 1});
    objective(p, FM_MINIMIZE, 0, 1, (int[]){x}, (double[]){1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_INFEASIBLE);
        assert_false(sv_result_has_solution(r));
        assert_null(sv_result_values(r));
        assert_null(sv_result_duals(r));
        assert_true(isnan(sv_result_objective(r)));
        sv_result_free(r);
    }
    fm_program_free(p);
}

/* Infeasible and with an improving ray at the same time: the presolver's
 * verdict must be resolved to infeasible, not unbounded. */
static void test_lp_infeasible_with_ray(void **state)
{
    (void)state;
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, -HUGE_VAL, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, -HUGE_VAL, HUGE_VAL);
    row(p, "a", NULL, 1, HUGE_VAL, 1, (int[]){y}, (double[]){1});
    row(p, "b", NULL, -HUGE_VAL, 0, 1, (int[]){y}, (double[]){1});
    objective(p, FM_MAXIMIZE, 0, 1, (int[]){x}, (double[]){1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_INFEASIBLE);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_lp_unbounded(void **state)
{
    (void)state;
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "r", NULL, -HUGE_VAL, 1, 2, (int[]){x, y}, (double[]){1, -1});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, y}, (double[]){1, 1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_UNBOUNDED);
        assert_false(sv_result_has_solution(r));
        assert_null(sv_result_values(r));
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_milp_infeasible(void **state)
{
    (void)state;
    /* 2x + 2y = 3 has no integer solution though its relaxation has many. */
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_INTEGER, 0, 10);
    int y = col(p, "y", FM_COL_INTEGER, 0, 10);
    row(p, "odd", NULL, 3, 3, 2, (int[]){x, y}, (double[]){2, 2});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, y}, (double[]){1, 1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_INFEASIBLE);
        assert_null(sv_result_values(r));
        sv_result_free(r);
    }
    fm_program_free(p);

    /* Here even the relaxation is infeasible. */
    p = fm_program_new();
    x = col(p, "x", FM_COL_INTEGER, 0, 10);
    y = col(p, "y", FM_COL_CONTINUOUS, 0, 10);
    row(p, "lo", NULL, 5, HUGE_VAL, 2, (int[]){x, y}, (double[]){1, 1});
    row(p, "hi", NULL, -HUGE_VAL, 3, 2, (int[]){x, y}, (double[]){1, 1});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, y}, (double[]){1, 1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_INFEASIBLE);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_milp_unbounded_relaxation(void **state)
{
    (void)state;
    /* Integer-feasible (x = y = 0) with an unbounded relaxation: unbounded. */
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_INTEGER, 0, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "r", NULL, -HUGE_VAL, 0.5, 2, (int[]){x, y}, (double[]){1, -1});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, y}, (double[]){1, 1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_UNBOUNDED);
        assert_false(sv_result_has_solution(r));
        sv_result_free(r);
    }
    fm_program_free(p);

    /* Unbounded relaxation, but no integer point (2a + 2b = 1): infeasible. */
    p = fm_program_new();
    int a = col(p, "a", FM_COL_INTEGER, 0, HUGE_VAL);
    int b = col(p, "b", FM_COL_INTEGER, 0, HUGE_VAL);
    int t = col(p, "t", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "half", NULL, 1, 1, 2, (int[]){a, b}, (double[]){2, 2});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){a, t}, (double[]){1, 1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_INFEASIBLE);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_lo_gt_hi(void **state)
{
    (void)state;
    /* A row whose bounds cross. */
    fm_program *p = fm_program_new();
    int x = col(p, "x[chair]", FM_COL_CONTINUOUS, 0, 10);
    row(p, "cap[labor]", "constraints[0] 'cap'", 5, 3, 1, (int[]){x}, (double[]){1});
    objective(p, FM_MAXIMIZE, 0, 1, (int[]){x}, (double[]){1});
    fm_diags *d = fm_diags_new();
    sv_result *r = solve(p, NULL, d);
    expect_status(r, SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(r), "cap[labor]"));
    const fm_diag *g = find_diag(d, "constraints[0] 'cap'");
    assert_non_null(g);
    assert_int_equal(g->severity, FM_SEV_ERROR);
    assert_string_equal(g->index, "[labor]");
    assert_non_null(strstr(g->message, "5"));
    assert_non_null(strstr(g->message, "3"));
    assert_string_equal(sv_result_log(r), "");   /* GLPK was not called */
    sv_result_free(r);
    fm_diags_free(d);
    fm_program_free(p);

    /* A column whose bounds cross, and an integer one with no integer
     * inside its bounds. */
    p = fm_program_new();
    col(p, "x[chair]", FM_COL_CONTINUOUS, 2, 1);
    col(p, "n[s,a]", FM_COL_INTEGER, 0.2, 0.8);
    d = fm_diags_new();
    r = solve(p, NULL, d);
    expect_status(r, SV_STATUS_INFEASIBLE);
    g = find_diag(d, "variable 'x'");
    assert_non_null(g);
    assert_string_equal(g->index, "[chair]");
    g = find_diag(d, "variable 'n'");
    assert_non_null(g);
    assert_string_equal(g->index, "[s,a]");
    assert_non_null(strstr(g->message, "integer"));
    sv_result_free(r);
    fm_diags_free(d);
    fm_program_free(p);
}

static void test_binary_bounds(void **state)
{
    (void)state;
    fm_program *p = fm_program_new();
    int a = col(p, "a", FM_COL_BINARY, -5, 10);   /* -> [0, 1] */
    int b = col(p, "b", FM_COL_BINARY, 0.5, 1);   /* -> [1, 1] */
    int c = col(p, "c", FM_COL_BINARY, 0, 0);     /* -> [0, 0] */
    int d = col(p, "d", FM_COL_BINARY, -HUGE_VAL, HUGE_VAL);
    objective(p, FM_MAXIMIZE, 0, 4, (int[]){a, b, c, d}, (double[]){1, -1, 1, 2});
    sv_result *r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    const double *x = sv_result_values(r);
    assert_float_equal(x[a], 1, TOL);
    assert_float_equal(x[b], 1, TOL);
    assert_float_equal(x[c], 0, TOL);
    assert_float_equal(x[d], 1, TOL);
    assert_float_equal(sv_result_objective(r), 2, TOL);
    sv_result_free(r);
    fm_program_free(p);

    /* Minimizing: -5 would be the continuous answer; binary stops at 0. */
    p = fm_program_new();
    a = col(p, "a", FM_COL_BINARY, -5, 10);
    objective(p, FM_MINIMIZE, 0, 1, (int[]){a}, (double[]){1});
    r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    assert_float_equal(sv_result_values(r)[0], 0, TOL);
    sv_result_free(r);
    fm_program_free(p);
}

static void test_free_variables(void **state)
{
    (void)state;
    /* min x  s.t.  x >= -7,  x + y = 0, both free: x = -7, y = 7. */
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, -HUGE_VAL, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, -HUGE_VAL, HUGE_VAL);
    row(p, "floor", NULL, -7, HUGE_VAL, 1, (int[]){x}, (double[]){1});
    row(p, "sum", NULL, 0, 0, 2, (int[]){x, y}, (double[]){1, 1});
    objective(p, FM_MINIMIZE, 0, 1, (int[]){x}, (double[]){1});
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        assert_float_equal(sv_result_values(r)[0], -7, TOL);
        assert_float_equal(sv_result_values(r)[1], 7, TOL);
        assert_float_equal(sv_result_objective(r), -7, TOL);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_objective_constant(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        fm_program *p = fm_program_new();
        int x = col(p, "x", kind ? FM_COL_INTEGER : FM_COL_CONTINUOUS, 2.5, 9);
        objective(p, FM_MINIMIZE, 100, 1, (int[]){x}, (double[]){2});
        sv_result *r = solve(p, NULL, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        /* LP: x = 2.5; MILP: x = 3 (bound rounded inward). */
        assert_float_equal(sv_result_values(r)[0], kind ? 3 : 2.5, TOL);
        assert_float_equal(sv_result_objective(r), kind ? 106 : 105, TOL);
        sv_result_free(r);
        fm_program_free(p);
    }
}

static void test_equality_and_ranged_rows(void **state)
{
    (void)state;
    /* 2 <= x - y <= 4 and x + y = 10: max x gives (7, 3), min x (6, 4). */
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    int y = col(p, "y", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "band", NULL, 2, 4, 2, (int[]){x, y}, (double[]){1, -1});
    row(p, "total", NULL, 10, 10, 2, (int[]){x, y}, (double[]){1, 1});
    for (int sense = 0; sense < 2; sense++) {
        objective(p, sense ? FM_MINIMIZE : FM_MAXIMIZE, 0, 1, (int[]){x},
                  (double[]){1});
        sv_result *r = solve(p, NULL, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        const double *v = sv_result_values(r);
        const double *act = sv_result_activities(r);
        const double *dual = sv_result_duals(r);
        assert_float_equal(v[0], sense ? 6 : 7, TOL);
        assert_float_equal(v[1], sense ? 4 : 3, TOL);
        assert_float_equal(act[0], sense ? 2 : 4, TOL);
        assert_float_equal(act[1], 10, TOL);
        /* x = (band + total) / 2: each row's dual is 1/2. */
        assert_float_equal(dual[0], 0.5, TOL);
        assert_float_equal(dual[1], 0.5, TOL);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_empty_program(void **state)
{
    (void)state;
    /* No rows, no columns: the objective is its constant. */
    fm_program *p = fm_program_new();
    objective(p, FM_MAXIMIZE, 5, 0, NULL, NULL);
    sv_result *r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    assert_float_equal(sv_result_objective(r), 5, TOL);
    assert_non_null(sv_result_values(r));       /* a solution, if empty */
    assert_non_null(sv_result_activities(r));
    sv_result_free(r);
    fm_program_free(p);

    /* Columns but no rows, LP and MILP. */
    for (int kind = 0; kind < 2; kind++) {
        p = fm_program_new();
        int x = col(p, "x", kind ? FM_COL_INTEGER : FM_COL_CONTINUOUS, 1, 3);
        objective(p, FM_MINIMIZE, 0, 1, (int[]){x}, (double[]){1});
        r = solve(p, NULL, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        assert_float_equal(sv_result_values(r)[0], 1, TOL);
        assert_non_null(sv_result_activities(r));
        sv_result_free(r);
        fm_program_free(p);
    }
}

/* A market-split instance (4 equality rows over 40 binaries, right-hand
 * sides half the row sums): notoriously hard for branch-and-bound, and GLPK
 * does not finish it in seconds, let alone a millisecond. */
static fm_program *market_split(void)
{
    enum { N = 40, M = 4 };
    unsigned long long s = 12345;
    fm_program *p = fm_program_new();
    int cols[N];
    double val[N];
    char name[32];
    for (int j = 0; j < N; j++) {
        snprintf(name, sizeof name, "x[%d]", j);
        cols[j] = col(p, name, FM_COL_BINARY, 0, 1);
    }
    for (int j = 0; j < N; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        val[j] = (double)((s >> 33) % 100);
    }
    objective(p, FM_MAXIMIZE, 0, N, cols, val);
    for (int i = 0; i < M; i++) {
        double sum = 0;
        for (int j = 0; j < N; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            val[j] = (double)((s >> 33) % 100);
            sum += val[j];
        }
        snprintf(name, sizeof name, "split[%d]", i);
        double rhs = floor(sum / 2);
        row(p, name, "constraints[0] 'split'", rhs, rhs, N, cols, val);
    }
    return p;
}

static void test_time_limit(void **state)
{
    (void)state;
    fm_program *p = market_split();
    const double limits[] = {0.001, 0.3};
    for (size_t k = 0; k < 2; k++) {
        sv_options o = opts(1, limits[k]);
        sv_result *r = solve(p, &o, NULL);
        sv_status st = sv_result_status(r);
        if (st != SV_STATUS_FEASIBLE && st != SV_STATUS_TIME_LIMIT)
            fail_msg("status %s (%s)", sv_status_name(st), sv_result_message(r));
        assert_int_equal(sv_result_has_solution(r), st == SV_STATUS_FEASIBLE);
        /* GLPK honours the limit loosely, but not by seconds. */
        assert_true(sv_result_time_ms(r) < limits[k] * 1000 + 5000);
        sv_result_free(r);
    }
    fm_program_free(p);
}

/* A correlated multi-knapsack (4 rows over 40 binaries, capacities half the
 * row sums, profits the column sums): branch-and-bound finds incumbents at
 * once but does not prove optimality in many seconds. */
static fm_program *correlated_knapsack(void)
{
    enum { N = 40, M = 4 };
    unsigned long long s = 777;
    fm_program *p = fm_program_new();
    int cols[N];
    double val[N], profit[N] = {0};
    char name[32];
    for (int j = 0; j < N; j++) {
        snprintf(name, sizeof name, "x[%d]", j);
        cols[j] = col(p, name, FM_COL_BINARY, 0, 1);
    }
    for (int i = 0; i < M; i++) {
        double sum = 0;
        for (int j = 0; j < N; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            val[j] = (double)(20 + (s >> 33) % 80);
            sum += val[j];
            profit[j] += val[j];
        }
        snprintf(name, sizeof name, "cap[%d]", i);
        row(p, name, "constraints[0] 'cap'", -HUGE_VAL, floor(sum / 2), N, cols, val);
    }
    objective(p, FM_MAXIMIZE, 0, N, cols, profit);
    return p;
}

/* Checks that r's values satisfy p's rows and bounds (integrality too) and
 * reproduce its activities. */
static void expect_feasible_values(const fm_program *p, const sv_result *r)
{
    const double *x = sv_result_values(r);
    const double *act = sv_result_activities(r);
    assert_non_null(x);
    assert_non_null(act);
    for (size_t j = 0; j < fm_program_ncols(p); j++) {
        double lo, hi;
        fm_program_col_bounds(p, j, &lo, &hi);
        assert_true(x[j] >= lo - TOL && x[j] <= hi + TOL);
        if (fm_program_col_kind(p, j) != FM_COL_CONTINUOUS)
            assert_float_equal(x[j], round(x[j]), TOL);
    }
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        const int *cols;
        const double *coefs;
        size_t n = fm_program_row(p, i, &cols, &coefs);
        double a = 0, lo, hi;
        for (size_t k = 0; k < n; k++)
            a += coefs[k] * x[cols[k]];
        fm_program_row_bounds(p, i, &lo, &hi);
        assert_float_equal(act[i], a, 1e-6 * fmax(1, fabs(a)));
        assert_true(a >= lo - 1e-6 * fmax(1, fabs(lo)));
        assert_true(a <= hi + 1e-6 * fmax(1, fabs(hi)));
    }
}

static void test_time_limit_incumbent(void **state)
{
    (void)state;
    fm_program *p = correlated_knapsack();
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0.3);
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_FEASIBLE);
        assert_true(sv_result_has_solution(r));
        expect_feasible_values(p, r);
        assert_true(sv_result_objective(r) > 0);
        assert_null(sv_result_duals(r));
        assert_true(sv_result_time_ms(r) < 5300);
        sv_result_free(r);
    }
    fm_program_free(p);
}

/* A dense 400 x 400 LP takes GLPK far more than a millisecond. Without the
 * presolver the starting basis (x = 0) is feasible, so a stop at the limit
 * still has feasible values to report. */
static void test_lp_time_limit(void **state)
{
    (void)state;
    enum { N = 400 };
    unsigned long long s = 99;
    fm_program *p = fm_program_new();
    int *cols = malloc(N * sizeof *cols);
    double *val = malloc(N * sizeof *val);
    assert_non_null(cols);
    assert_non_null(val);
    char name[32];
    for (int j = 0; j < N; j++) {
        snprintf(name, sizeof name, "x[%d]", j);
        cols[j] = col(p, name, FM_COL_CONTINUOUS, 0, HUGE_VAL);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            val[j] = (double)(1 + (s >> 33) % 100);
        }
        snprintf(name, sizeof name, "r[%d]", i);
        row(p, name, NULL, -HUGE_VAL, 1000, N, cols, val);
    }
    for (int j = 0; j < N; j++)
        val[j] = (double)(1 + (j * 37) % 101);
    objective(p, FM_MAXIMIZE, 0, N, cols, val);
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 0.001);
        sv_result *r = solve(p, &o, NULL);
        sv_status st = sv_result_status(r);
        if (presolve ? st != SV_STATUS_TIME_LIMIT && st != SV_STATUS_FEASIBLE
                     : st != SV_STATUS_FEASIBLE)
            fail_msg("presolve %d: status %s (%s)", presolve,
                     sv_status_name(st), sv_result_message(r));
        if (st == SV_STATUS_FEASIBLE) {
            expect_feasible_values(p, r);
            assert_null(sv_result_duals(r));   /* no optimal basis */
        } else {
            assert_null(sv_result_values(r));
        }
        sv_result_free(r);
    }
    free(cols);
    free(val);
    fm_program_free(p);
}

/* A dense N x N LP (rows r[i]: sum a_ij x_j <= 1000, a_ij in 1..100). */
static fm_program *dense_lp(int n)
{
    unsigned long long s = 99;
    fm_program *p = fm_program_new();
    int *cols = malloc((size_t)n * sizeof *cols);
    double *val = malloc((size_t)n * sizeof *val);
    assert_non_null(cols);
    assert_non_null(val);
    char name[32];
    for (int j = 0; j < n; j++) {
        snprintf(name, sizeof name, "x[%d]", j);
        cols[j] = col(p, name, FM_COL_CONTINUOUS, 0, HUGE_VAL);
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            val[j] = (double)(1 + (s >> 33) % 100);
        }
        snprintf(name, sizeof name, "r[%d]", i);
        row(p, name, NULL, -HUGE_VAL, 1000, (size_t)n, cols, val);
    }
    for (int j = 0; j < n; j++)
        val[j] = (double)(1 + (j * 37) % 101);
    objective(p, FM_MAXIMIZE, 0, (size_t)n, cols, val);
    free(cols);
    free(val);
    return p;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct canceller {
    volatile int *flag;
    int delay_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *k = arg;
    struct timespec ts = {k->delay_ms / 1000, (long)(k->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *k->flag = 1;
    return NULL;
}

/* Solves p with a cancel flag that another thread sets after 200 ms: the
 * result must be interrupted (never a solution, never optimal), soon. */
static void expect_cancelled(const fm_program *p, int presolve)
{
    volatile int flag = 0;
    struct canceller k = {&flag, 200};
    sv_options o = opts(presolve, 0);
    o.cancel = &flag;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &k), 0);
    double t0 = now_ms();
    sv_result *r = solve(p, &o, NULL);
    double ms = now_ms() - t0;
    pthread_join(th, NULL);
    if (getenv("SV_TEST_VERBOSE"))
        fprintf(stderr, "# cancelled after %.0f ms (presolve %d)\n", ms, presolve);
    expect_status(r, SV_STATUS_INTERRUPTED);
    assert_false(sv_result_has_solution(r));
    assert_null(sv_result_values(r));
    assert_true(isnan(sv_result_objective(r)));
    assert_non_null(strstr(sv_result_message(r), "interrupted"));
    /* The real promise is "within a second or two"; generous for slow CI. */
    if (ms > 20000)
        fail_msg("the cancelled solve took %.0f ms", ms);
    sv_result_free(r);
}

/* A hard MILP (branch-and-cut: the callback's glp_ios_terminate) and a big
 * LP (simplex: the terminal hook) both stop when the flag is set; a flag set
 * before the call stops it before GLPK starts; and a solve with a flag that
 * stays 0 is unaffected. */
static void test_cancel(void **state)
{
    (void)state;
    fm_program *p = market_split();
    expect_cancelled(p, 1);
    expect_cancelled(p, 0);
    fm_program_free(p);

    p = dense_lp(1000);   /* GLPK needs 2-4 s for it uncancelled */
    expect_cancelled(p, 1);
    expect_cancelled(p, 0);
    volatile int set = 1;
    sv_options o = opts(1, 0);
    o.cancel = &set;
    sv_result *r = solve(p, &o, NULL);
    expect_status(r, SV_STATUS_INTERRUPTED);
    sv_result_free(r);
    fm_program_free(p);

    volatile int unset = 0;
    p = classic_lp();
    o = opts(1, 0);
    o.cancel = &unset;
    r = solve(p, &o, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    sv_result_free(r);
    fm_program_free(p);
}

/* A thread without a GLPK environment is left without one; one with an
 * environment keeps it, with its terminal-output switch as it was. */
static void test_glpk_env_restored(void **state)
{
    (void)state;
    fm_program *p = classic_lp();
    glp_free_env();
    sv_result *r = solve(p, NULL, NULL);
    sv_result_free(r);
    assert_int_equal(glp_init_env(), 0);   /* 0: there was none */

    glp_term_out(GLP_OFF);
    glp_prob *mine = glp_create_prob();
    glp_set_prob_name(mine, "mine");
    r = solve(p, NULL, NULL);
    assert_non_null(strstr(sv_result_log(r), "OPTIMAL"));
    sv_result_free(r);
    assert_int_equal(glp_term_out(GLP_ON), GLP_OFF);
    assert_string_equal(glp_get_prob_name(mine), "mine");   /* still alive */
    glp_delete_prob(mine);
    glp_free_env();
    fm_program_free(p);
}

static void test_mip_gap(void **state)
{
    (void)state;
    /* A 50% gap tolerance on a problem GLPK cannot close in seconds: it stops
     * at an incumbent within the tolerance, which is "feasible". */
    fm_program *p = correlated_knapsack();
    for (int presolve = 1; presolve >= 0; presolve--) {
        sv_options o = opts(presolve, 20);
        o.mip_gap = 0.5;
        sv_result *r = solve(p, &o, NULL);
        expect_status(r, SV_STATUS_FEASIBLE);
        assert_non_null(strstr(sv_result_message(r), "gap"));
        expect_feasible_values(p, r);
        assert_true(sv_result_time_ms(r) < 10000);
        sv_result_free(r);
    }
    fm_program_free(p);
}

static void test_nothing_on_stdout(void **state)
{
    (void)state;
    char path[] = "/tmp/optagent-stdout-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fm_program *lp = classic_lp();
    fm_program *mip = market_split();
    char exp_path[] = "/tmp/optagent-export-XXXXXX";
    int efd = mkstemp(exp_path);
    assert_true(efd >= 0);
    close(efd);

    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    /* Nothing may fail an assertion here: cmocka would print to the file. */
    sv_options o = opts(1, 0.05);
    sv_result *r1 = sv_solve(lp, NULL, NULL, NULL);
    sv_result *r2 = sv_solve(mip, &o, NULL, NULL);
    sv_code e1 = sv_export(lp, SV_EXPORT_LP, exp_path, NULL, 0);
    sv_code e2 = sv_export(lp, SV_EXPORT_MPS, "/nonexistent-dir/x.mps", NULL, 0);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    unlink(path);
    unlink(exp_path);
    assert_int_equal(st.st_size, 0);
    assert_non_null(r1);
    assert_non_null(r2);
    assert_true(strlen(sv_result_log(r1)) > 0);   /* GLPK did talk */
    assert_true(strlen(sv_result_log(r2)) > 0);
    assert_int_equal(e1, SV_OK);
    assert_int_equal(e2, SV_EIO);
    sv_result_free(r1);
    sv_result_free(r2);
    fm_program_free(lp);
    fm_program_free(mip);
}

/* Reads path back with GLPK itself (quietly) and returns its optimum; *dir
 * receives the objective direction read. */
static double reread_optimum(const char *path, int mps, int *dir)
{
    int prev = glp_term_out(GLP_OFF);
    glp_prob *lp = glp_create_prob();
    int ret = mps ? glp_read_mps(lp, GLP_MPS_FILE, NULL, path)
                  : glp_read_lp(lp, NULL, path);
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_ON;
    parm.msg_lev = GLP_MSG_OFF;
    int sret = ret == 0 ? glp_intopt(lp, &parm) : -1;
    double obj = glp_mip_obj_val(lp);
    int st = glp_mip_status(lp);
    *dir = glp_get_obj_dir(lp);
    glp_delete_prob(lp);
    glp_term_out(prev);
    assert_int_equal(ret, 0);
    assert_int_equal(sret, 0);
    assert_int_equal(st, GLP_OPT);
    return obj;
}

static char *slurp(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_export_roundtrip(void **state)
{
    (void)state;
    /* A small MILP with a ranged row, an equality, a constant and indexed
     * names, maximized and then minimized. */
    fm_program *p = fm_program_new();
    int x = col(p, "x[chair]", FM_COL_INTEGER, 0, 20);
    int y = col(p, "x[table]", FM_COL_INTEGER, 0, 20);
    int z = col(p, "slack", FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "hours[labor]", "constraints[0] 'hours'", -HUGE_VAL, 40, 2,
        (int[]){x, y}, (double[]){2, 3});
    row(p, "wood", NULL, 6, 60, 2, (int[]){x, y}, (double[]){3, 4});
    row(p, "bal", NULL, 2, 2, 2, (int[]){y, z}, (double[]){1, -1});
    char dir[] = "/tmp/optagent-solver-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lpf[64], mpsf[64];
    snprintf(lpf, sizeof lpf, "%s/p.lp", dir);
    snprintf(mpsf, sizeof mpsf, "%s/p.mps", dir);

    for (int sense = 0; sense < 2; sense++) {
        objective(p, sense ? FM_MINIMIZE : FM_MAXIMIZE, 7, 2, (int[]){x, y},
                  (double[]){30, 50});
        sv_result *r = solve(p, NULL, NULL);
        expect_status(r, SV_STATUS_OPTIMAL);
        double want = sv_result_objective(r);
        sv_result_free(r);
        assert_float_equal(want, sense ? 107 : 667, TOL);

        char err[256] = "x";
        assert_int_equal(sv_export(p, SV_EXPORT_LP, lpf, err, sizeof err), SV_OK);
        assert_string_equal(err, "");
        assert_int_equal(sv_export(p, SV_EXPORT_MPS, mpsf, err, sizeof err), SV_OK);

        /* MPS keeps the constant (as the objective row's RHS); a
         * maximization is written as minimizing the negated objective. */
        int gdir;
        double got = reread_optimum(mpsf, 1, &gdir);
        assert_int_equal(gdir, GLP_MIN);
        assert_float_equal(got, sense ? want : -want, TOL);
        assert_int_equal(strstr(slurp(mpsf), "NAME optagent_negated_maximization")
                             != NULL, !sense);

        /* CPLEX LP has no objective constant: GLPK writes it as a comment. */
        got = reread_optimum(lpf, 0, &gdir);
        assert_int_equal(gdir, sense ? GLP_MIN : GLP_MAX);
        assert_float_equal(got, want - 7, TOL);
        const char *text = slurp(lpf);
        assert_non_null(strstr(text, "constant term = 7"));
        assert_non_null(strstr(text, "x(chair)"));   /* GLPK's '[' -> '(' */
    }
    unlink(lpf);
    unlink(mpsf);
    rmdir(dir);
    fm_program_free(p);
}

static void test_export_errors(void **state)
{
    (void)state;
    fm_program *p = classic_lp();
    char err[256] = "";
    assert_int_equal(sv_export(p, SV_EXPORT_LP, "/nonexistent-dir/a/b.lp", err,
                               sizeof err), SV_EIO);
    assert_non_null(strstr(err, "/nonexistent-dir/a/b.lp"));
    assert_non_null(strstr(err, "Unable to create"));
    err[0] = '\0';
    assert_int_equal(sv_export(p, SV_EXPORT_MPS, "/nonexistent-dir/b.mps", err,
                               sizeof err), SV_EIO);
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_int_equal(sv_export(p, (sv_export_format)7, "/tmp/x", err, sizeof err),
                     SV_EARG);
    assert_true(strlen(err) > 0);
    assert_int_equal(sv_export(NULL, SV_EXPORT_LP, "/tmp/x", NULL, 0), SV_EARG);
    assert_int_equal(sv_export(p, SV_EXPORT_LP, NULL, NULL, 0), SV_EARG);
    fm_program_free(p);
}

static void test_glpk_error_hook(void **state)
{
    (void)state;
    fm_program *p = classic_lp();
    fm_diags *d = fm_diags_new();
    sv_code code = SV_OK;
    sv_test_glpk_fail_next(1);
    sv_result *r = sv_solve(p, NULL, d, &code);
    assert_null(r);
    assert_int_equal(code, SV_EBACKEND);
    const fm_diag *g = find_diag(d, "solver");
    assert_non_null(g);
    assert_non_null(strstr(g->message, "glp_set_col_kind"));
    fm_diags_free(d);

    /* GLPK works again after its environment was freed. */
    r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    assert_float_equal(sv_result_objective(r), 36, TOL);
    sv_result_free(r);

    /* Export goes through the same guard. */
    char err[256] = "";
    sv_test_glpk_fail_next(1);
    assert_int_equal(sv_export(p, SV_EXPORT_LP, "/tmp/never-written.lp", err,
                               sizeof err), SV_EBACKEND);
    assert_non_null(strstr(err, "glp_set_col_kind"));
    assert_int_equal(access("/tmp/never-written.lp", F_OK), -1);
    fm_program_free(p);
}

static void test_invalid_numbers(void **state)
{
    (void)state;
    fm_program *p = fm_program_new();
    int x = col(p, "x", FM_COL_CONTINUOUS, 0, 1);
    row(p, "bad[1]", "constraints[3] 'bad'", -HUGE_VAL, 1, 1, (int[]){x},
        (double[]){NAN});
    objective(p, FM_MAXIMIZE, 0, 1, (int[]){x}, (double[]){1});
    fm_diags *d = fm_diags_new();
    sv_result *r = solve(p, NULL, d);
    expect_status(r, SV_STATUS_INVALID);
    const fm_diag *g = find_diag(d, "constraints[3] 'bad'");
    assert_non_null(g);
    assert_string_equal(g->index, "[1]");
    sv_result_free(r);
    fm_diags_free(d);
    char err[256] = "";
    assert_int_equal(sv_export(p, SV_EXPORT_LP, "/tmp/never.lp", err, sizeof err),
                     SV_EARG);
    assert_non_null(strstr(err, "bad[1]"));
    fm_program_free(p);

    p = fm_program_new();
    col(p, "y", FM_COL_CONTINUOUS, HUGE_VAL, HUGE_VAL);   /* lower = +inf */
    r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_INVALID);
    sv_result_free(r);
    fm_program_free(p);

    assert_null(sv_solve(NULL, NULL, NULL, NULL));
}

/* Duplicate columns in a row mean a sum (GLPK itself would reject them),
 * and names GLPK would reject (too long, control characters) are cleaned. */
static void test_duplicates_and_odd_names(void **state)
{
    (void)state;
    char longname[700];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    longname[3] = '\n';
    longname[254] = (char)0xC3;   /* a 2-byte UTF-8 character across 255 */
    longname[255] = (char)0xA9;
    fm_program *p = fm_program_new();
    int x = col(p, longname, FM_COL_CONTINUOUS, 0, HUGE_VAL);
    row(p, "twice\tx", NULL, -HUGE_VAL, 4, 2, (int[]){x, x}, (double[]){1, 1});
    objective(p, FM_MAXIMIZE, 0, 2, (int[]){x, x}, (double[]){1, 2});
    sv_result *r = solve(p, NULL, NULL);
    expect_status(r, SV_STATUS_OPTIMAL);
    assert_float_equal(sv_result_values(r)[0], 2, TOL);
    assert_float_equal(sv_result_objective(r), 6, TOL);
    assert_float_equal(sv_result_activities(r)[0], 4, TOL);
    sv_result_free(r);
    char dir[] = "/tmp/optagent-solver-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/n.mps", dir);
    assert_int_equal(sv_export(p, SV_EXPORT_MPS, path, NULL, 0), SV_OK);
    unlink(path);
    rmdir(dir);
    fm_program_free(p);
}

/* ---- the one solve path: sv_run_text ---------------------------------------- */

static const char run_milp[] =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"type\": \"integer\", "
    "\"lower\": 0, \"upper\": 10}],"
    " \"objective\": {\"sense\": \"maximize\", \"expression\": \"3*x\"},"
    " \"constraints\": [{\"name\": \"cap\", \"expression\": \"2*x <= 9\"}],"
    " \"report\": [{\"name\": \"twice\", \"expression\": \"2*x\"},"
    "              {\"name\": \"bad\", \"expression\": \"x/0\"}]}";

static void test_run_solved(void **state)
{
    (void)state;
    sv_code code;
    sv_run *r = sv_run_text(run_milp, strlen(run_milp), NULL, &code);
    assert_non_null(r);
    assert_int_equal(code, SV_OK);
    assert_int_equal(sv_run_status(r), SV_STATUS_OPTIMAL);
    assert_non_null(sv_run_model(r));
    assert_non_null(sv_run_program(r));
    const sv_result *res = sv_run_result(r);
    assert_non_null(res);
    assert_true(fabs(sv_result_objective(res) - 12) < TOL);
    assert_true(sv_run_parse_ms(r) >= 0);
    assert_true(sv_run_solve_ms(r) == sv_result_time_ms(res));
    assert_int_equal(sv_run_report_count(r), 2);
    const sv_report_value *v = sv_run_report(r, 0);
    assert_string_equal(v->name, "twice");
    assert_true(v->ok);
    assert_true(fabs(v->value - 8) < TOL);
    v = sv_run_report(r, 1);
    assert_string_equal(v->name, "bad");
    assert_false(v->ok);                       /* division by zero */
    assert_true(fm_diags_count(sv_run_diags(r)) >= 1);
    assert_null(sv_run_report(r, 2));
    /* The solve is done: solving again changes nothing. */
    assert_int_equal(sv_run_solve(r), SV_OK);
    assert_ptr_equal(sv_run_result(r), res);
    sv_run_free(r);
}

static void test_run_statuses(void **state)
{
    (void)state;
    sv_code code;
    const char *bad = "{\"format\": 1, \"variables\": [";
    sv_run *r = sv_run_text(bad, strlen(bad), NULL, &code);
    assert_non_null(r);
    assert_int_equal(code, SV_OK);             /* a bad text is not an error */
    assert_int_equal(sv_run_status(r), SV_STATUS_INVALID);
    assert_null(sv_run_program(r));
    assert_null(sv_run_result(r));
    assert_int_equal(sv_run_report_count(r), 0);
    assert_true(fm_diags_errors(sv_run_diags(r)) >= 1);
    sv_run_free(r);

    const char *nl = "{\"format\": 1, \"variables\": [{\"name\": \"w\", \"lower\": 1},"
                     " {\"name\": \"h\", \"lower\": 1}], \"objective\": {\"sense\":"
                     " \"minimize\", \"expression\": \"w + h\"}, \"constraints\":"
                     " [{\"name\": \"area\", \"expression\": \"w*h >= 24\"}]}";
    r = sv_run_text(nl, strlen(nl), NULL, &code);
    assert_int_equal(code, SV_OK);
    assert_int_equal(fm_model_class(sv_run_model(r)), FM_CLASS_NLP);
    assert_non_null(sv_run_nlp(r));
    assert_null(sv_run_program(r));               /* no linear program */
    assert_non_null(sv_run_columns(r));           /* but its columns */
    if (sv_ipopt_available()) {                   /* convex: a proven optimum */
        assert_int_equal(sv_run_status(r), SV_STATUS_OPTIMAL);
        assert_true(fabs(sv_result_objective(sv_run_result(r)) - 2 * sqrt(24)) < 1e-6);
    } else {
        assert_int_equal(sv_run_status(r), SV_STATUS_UNSUPPORTED);
    }
    sv_run_free(r);

    /* check_only: compiled, not solved; the two-step form solves nothing. */
    sv_run_options o;
    sv_run_options_default(&o);
    o.check_only = 1;
    r = sv_run_prepare(run_milp, strlen(run_milp), &o, &code);
    assert_int_equal(code, SV_OK);
    assert_int_equal(sv_run_status(r), SV_STATUS_VALID);
    assert_int_equal(sv_run_solve(r), SV_OK);
    assert_int_equal(sv_run_status(r), SV_STATUS_VALID);
    assert_null(sv_run_result(r));
    assert_string_equal(sv_status_name(sv_run_status(r)), "valid");
    sv_run_free(r);

    /* The cancel flag reaches the solver. */
    volatile int stop = 1;
    sv_run_options_default(&o);
    o.solve.cancel = &stop;
    r = sv_run_text(run_milp, strlen(run_milp), &o, &code);
    assert_int_equal(code, SV_OK);
    assert_int_equal(sv_run_status(r), SV_STATUS_INTERRUPTED);
    assert_int_equal(sv_run_report_count(r), 0);
    sv_run_free(r);

    /* NULL-safe accessors. */
    assert_int_equal(sv_run_status(NULL), SV_STATUS_INVALID);
    assert_null(sv_run_result(NULL));
    assert_int_equal(sv_run_solve(NULL), SV_EARG);
    sv_run_free(NULL);
}

static void test_clock(void **state)
{
    (void)state;
    double a = fm_clock_ms();
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    double b = fm_clock_ms();
    assert_true(b - a >= 1.9);
    assert_true(b - a < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lp_optimum_duals),
        cmocka_unit_test(test_milp_knapsack),
        cmocka_unit_test(test_lp_infeasible),
        cmocka_unit_test(test_lp_infeasible_with_ray),
        cmocka_unit_test(test_lp_unbounded),
        cmocka_unit_test(test_milp_infeasible),
        cmocka_unit_test(test_milp_unbounded_relaxation),
        cmocka_unit_test(test_lo_gt_hi),
        cmocka_unit_test(test_binary_bounds),
        cmocka_unit_test(test_free_variables),
        cmocka_unit_test(test_objective_constant),
        cmocka_unit_test(test_equality_and_ranged_rows),
        cmocka_unit_test(test_empty_program),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_time_limit_incumbent),
        cmocka_unit_test(test_lp_time_limit),
        cmocka_unit_test(test_glpk_env_restored),
        cmocka_unit_test(test_mip_gap),
        cmocka_unit_test(test_presolve_never_violates_rows),
        cmocka_unit_test(test_nothing_on_stdout),
        cmocka_unit_test(test_export_roundtrip),
        cmocka_unit_test(test_export_errors),
        cmocka_unit_test(test_glpk_error_hook),
        cmocka_unit_test(test_invalid_numbers),
        cmocka_unit_test(test_duplicates_and_odd_names),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_run_solved),
        cmocka_unit_test(test_run_statuses),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
