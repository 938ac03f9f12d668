/* Derivatives of the nonlinear program (fm_nlp_diff, formulate/deriv.c):
 * for every operator and function, and nestings of them, the objective's
 * gradient, the rows' Jacobian and the Hessian of the Lagrangian (lower
 * triangle, fixed structure) are compared with central finite differences
 * of the values at pseudo-random points; the structure must hold every
 * entry the differences find nonzero. Points outside the domain report -1,
 * and the step functions are named. */
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

typedef struct {
    fm_diags *d;
    fm_model *m;
    const fm_nlp *n;
    fm_nlp_diff *df;
    size_t ncols, nrows;
} model;

/* A model over x, y, z (free) with objective obj and rows "r_k <= 100". */
static void load(model *t, const char *obj, const char *row1, const char *row2)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null},"
             " {\"name\": \"y\", \"lower\": null}, {\"name\": \"z\", \"lower\": null}],"
             " \"objective\": {\"sense\": \"min\", \"expression\": \"%s\"},"
             " \"constraints\": [{\"name\": \"a\", \"expression\": \"%s <= 100\"},"
             "                   {\"name\": \"b\", \"expression\": \"%s >= -100\"},"
             "                   {\"name\": \"c\", \"expression\": \"x + 2*y <= 7\"}]}",
             obj, row1, row2);
    fm_code code;
    t->d = fm_diags_new();
    t->m = fm_model_parse(json, strlen(json), NULL, t->d, &code);
    if (!t->m || !fm_model_nlp(t->m)) {
        for (size_t i = 0; i < fm_diags_count(t->d); i++)
            fprintf(stderr, "%s\n", fm_diags_get(t->d, i)->message);
        fail_msg("no nonlinear program for %s", json);
    }
    t->n = fm_model_nlp(t->m);
    t->ncols = fm_program_ncols(fm_nlp_program(t->n));
    t->nrows = fm_program_nrows(fm_nlp_program(t->n));
    t->df = fm_nlp_diff_new(t->n, &code);
    assert_non_null(t->df);
    assert_int_equal(code, FM_OK);
}

static void unload(model *t)
{
    fm_nlp_diff_free(t->df);
    fm_model_free(t->m);
    fm_diags_free(t->d);
}

static uint64_t rng = 88172645463325252ULL;
static double uniform(double lo, double hi)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return lo + (hi - lo) * (double)(rng >> 11) / 9007199254740992.0;
}

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1 + fabs(a) + fabs(b));
}

/* The gradient of the Lagrangian sigma*f + lambda'g at x (dense). */
static void lagrangian_grad(model *t, const double *x, double sigma, const double *lambda,
                            double *out)
{
    double grad[3], jac[64];
    int rows[64], cols[64];
    size_t nnz = fm_nlp_diff_jac_nnz(t->df);
    assert_true(nnz <= 64);
    fm_nlp_diff_jac_structure(t->df, rows, cols);
    assert_int_equal(fm_nlp_diff_gradient(t->df, x, grad), 0);
    assert_int_equal(fm_nlp_diff_jacobian(t->df, x, jac), 0);
    for (size_t j = 0; j < t->ncols; j++) out[j] = sigma * grad[j];
    for (size_t k = 0; k < nnz; k++) out[cols[k]] += lambda[rows[k]] * jac[k];
}

/* Checks every derivative of t at 10 points of [lo,hi]^3. */
static void check_at_random_points(model *t, double lo, double hi)
{
    const double h = 1e-5, tol = 2e-5;
    size_t n = t->ncols, m = t->nrows;
    assert_int_equal(n, 3);
    for (int trial = 0; trial < 10; trial++) {
        double x[3], xp[3], xm[3];
        for (size_t j = 0; j < n; j++) x[j] = uniform(lo, hi);
        /* gradient of the objective */
        double grad[3], f, fp, fm_;
        assert_int_equal(fm_nlp_diff_objective(t->df, x, &f), 0);
        assert_true(near(f, fm_nlp_eval_objective(t->n, x), 1e-12));
        assert_int_equal(fm_nlp_diff_gradient(t->df, x, grad), 0);
        for (size_t j = 0; j < n; j++) {
            memcpy(xp, x, sizeof x); memcpy(xm, x, sizeof x);
            xp[j] += h; xm[j] -= h;
            fm_nlp_diff_objective(t->df, xp, &fp);
            fm_nlp_diff_objective(t->df, xm, &fm_);
            double fd = (fp - fm_) / (2 * h);
            if (!near(grad[j], fd, tol))
                fail_msg("objective gradient %zu: %.10g, differences %.10g", j, grad[j], fd);
        }
        /* the Jacobian: dense reconstruction against differences */
        double g[8], gp[8], gm[8], jac[64], dense[8][3] = {{0}};
        int rows[64], cols[64];
        size_t nnz = fm_nlp_diff_jac_nnz(t->df);
        fm_nlp_diff_jac_structure(t->df, rows, cols);
        assert_int_equal(fm_nlp_diff_rows(t->df, x, g), 0);
        for (size_t i = 0; i < m; i++) assert_true(near(g[i], fm_nlp_eval_row(t->n, i, x), 1e-12));
        assert_int_equal(fm_nlp_diff_jacobian(t->df, x, jac), 0);
        for (size_t k = 0; k < nnz; k++) dense[rows[k]][cols[k]] += jac[k];
        for (size_t j = 0; j < n; j++) {
            memcpy(xp, x, sizeof x); memcpy(xm, x, sizeof x);
            xp[j] += h; xm[j] -= h;
            fm_nlp_diff_rows(t->df, xp, gp);
            fm_nlp_diff_rows(t->df, xm, gm);
            for (size_t i = 0; i < m; i++) {
                double fd = (gp[i] - gm[i]) / (2 * h);
                if (!near(dense[i][j], fd, tol))
                    fail_msg("jacobian (%zu,%zu): %.10g, differences %.10g", i, j,
                             dense[i][j], fd);
            }
        }
        /* the Hessian of the Lagrangian */
        double lambda[8], sigma = uniform(0.5, 2);
        for (size_t i = 0; i < m; i++) lambda[i] = uniform(-2, 2);
        size_t hn = fm_nlp_diff_hess_nnz(t->df);
        assert_true(hn <= 6);
        int hr[6], hc[6];
        double hv[6], H[3][3] = {{0}};
        int in_structure[3][3] = {{0}};
        fm_nlp_diff_hess_structure(t->df, hr, hc);
        assert_int_equal(fm_nlp_diff_hessian(t->df, x, sigma, lambda, hv), 0);
        for (size_t k = 0; k < hn; k++) {
            assert_true(hr[k] >= hc[k]);
            assert_false(in_structure[hr[k]][hc[k]]);   /* no entry twice */
            in_structure[hr[k]][hc[k]] = 1;
            H[hr[k]][hc[k]] = hv[k];
        }
        for (size_t j = 0; j < n; j++) {
            double lp[3], lm[3];
            memcpy(xp, x, sizeof x); memcpy(xm, x, sizeof x);
            xp[j] += h; xm[j] -= h;
            lagrangian_grad(t, xp, sigma, lambda, lp);
            lagrangian_grad(t, xm, sigma, lambda, lm);
            for (size_t i = j; i < n; i++) {
                double fd = (lp[i] - lm[i]) / (2 * h);
                if (!near(H[i][j], fd, 1e-4))
                    fail_msg("hessian (%zu,%zu): %.10g, differences %.10g%s", i, j, H[i][j],
                             fd, in_structure[i][j] ? "" : " (not in the structure)");
            }
        }
    }
}

static void check(const char *obj, const char *r1, const char *r2, double lo, double hi)
{
    model t;
    load(&t, obj, r1, r2);
    check_at_random_points(&t, lo, hi);
    unload(&t);
}

static void test_arithmetic(void **state)
{
    (void)state;
    check("x*y + 3*z", "x*y*z", "2*x - y*z + 1", -2, 2);            /* n-ary products */
    check("x/y + z", "(x + z)/(y*y + 1)", "-(x*z)", 0.5, 2);        /* quotient, negation */
    check("x*x*x - 2*y*y + x*y*z*x", "y*x - z", "x - y - z*z", -3, 3);
}

static void test_powers(void **state)
{
    (void)state;
    check("x^2 + y^3 + z^4", "x^0.5 + y^1.5", "(x + y)^2 + z^(-1)", 0.5, 3);  /* constant */
    check("x^y + z", "y^(x*z)", "2^x + x^1", 0.5, 2);               /* variable exponents */
    check("(x - y)^2 + (y - 2*z)^2", "x^0 + y^2", "z^(1/3)", 0.5, 2);
}

static void test_functions(void **state)
{
    (void)state;
    check("exp(x) + log(y) + sqrt(z)", "log10(x*y) + exp(y - z)", "sqrt(x + y*z)", 0.5, 3);
    check("abs(x - y) + abs(z)", "abs(x*y - 1)", "max(x, y*z, 1) + min(x, y)", -3, 3);
    check("log(exp(x) + exp(y)) + sqrt(x^2 + y^2 + z^2)", "exp(log(x)*y)", "log(sqrt(x*z))",
          0.5, 3);
}

static void test_nested(void **state)
{
    (void)state;
    check("log(exp(x))", "sqrt(x*y) * (1 + exp(z))", "(sqrt(x*y) + 1)*z", 0.5, 2);
    check("exp(sqrt(log(x + 2)))*y", "min(x*y, exp(z))*x", "max(log(x), z*z)/y", 0.5, 2);
}

/* floor, ceil, div, mod: derivative zero (mod: one in its first argument)
 * between the steps, and the model is marked discontinuous. */
static void test_step_functions(void **state)
{
    (void)state;
    model t;
    load(&t, "floor(x) + ceil(y) + x*z", "x mod 3 + y div 2", "z");
    assert_non_null(fm_nlp_diff_discontinuous(t.df));
    double x[3] = {1.3, 2.6, 0.7}, grad[3];
    assert_int_equal(fm_nlp_diff_gradient(t.df, x, grad), 0);
    assert_true(near(grad[0], 0.7, 1e-12));   /* floor: 0, x*z: z */
    assert_true(near(grad[1], 0, 1e-12));
    assert_true(near(grad[2], 1.3, 1e-12));
    check_at_random_points(&t, 0.1, 0.9);     /* no step inside (0,1) for x, y */
    unload(&t);
    load(&t, "x*y", "x*x", "z");
    assert_null(fm_nlp_diff_discontinuous(t.df));
    unload(&t);
}

/* Outside the domain the evaluators say so instead of returning NaN. */
static void test_domain(void **state)
{
    (void)state;
    model t;
    load(&t, "log(x) + sqrt(y)", "1/z", "x*y");
    double bad_log[3] = {-1, 1, 1}, bad_div[3] = {1, 1, 0}, good[3] = {1, 1, 1};
    double f, grad[3], g[8], jac[64], hv[8], lambda[8] = {1, 1, 1};
    assert_int_equal(fm_nlp_diff_objective(t.df, bad_log, &f), -1);
    assert_int_equal(fm_nlp_diff_gradient(t.df, bad_log, grad), -1);
    assert_int_equal(fm_nlp_diff_rows(t.df, bad_div, g), -1);
    assert_int_equal(fm_nlp_diff_jacobian(t.df, bad_div, jac), -1);
    assert_int_equal(fm_nlp_diff_hessian(t.df, bad_div, 1, lambda, hv), -1);
    assert_int_equal(fm_nlp_diff_objective(t.df, good, &f), 0);
    assert_int_equal(fm_nlp_diff_hessian(t.df, good, 1, lambda, hv), 0);
    unload(&t);
}

/* A sum of many squares: the Hessian is the diagonal, not dense. */
static void test_sparse_structure(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 500]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"], \"lower\": null}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{i in I} (x[i] - i)^2\"},"
        " \"constraints\": [{\"name\": \"s\", \"expression\": \"sum{i in I} x[i]*x[i] <= 10\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    assert_non_null(m);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    fm_nlp_diff *df = fm_nlp_diff_new(n, &code);
    assert_non_null(df);
    assert_int_equal(fm_nlp_diff_hess_nnz(df), 500);
    assert_int_equal(fm_nlp_diff_jac_nnz(df), 500);
    double x[500], hv[500], lambda[1] = {3};
    for (int i = 0; i < 500; i++) x[i] = i;
    assert_int_equal(fm_nlp_diff_hessian(df, x, 1, lambda, hv), 0);
    for (int i = 0; i < 500; i++) assert_true(near(hv[i], 2 + 2 * 3, 1e-12));
    fm_nlp_diff_free(df);
    fm_model_free(m);
    fm_diags_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_powers),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_step_functions),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_sparse_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
