/* The nonlinear program (fm_model_nlp): for small nonlinear formulations the
 * built rows and objective (linear part + tree) are evaluated at given
 * points and compared with values computed by hand; the diagnostics and the
 * "no fm_program" of a nonlinear model stay as they were (the diagnostics
 * are information now that nonlinear models are solved); node counts stay
 * under the limit, which is enforced. */
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

static fm_model *parse(const char *json, const fm_limits *lim, fm_diags **d, fm_code *code)
{
    *d = fm_diags_new();
    return fm_model_parse(json, strlen(json), lim, *d, code);
}

static int col_of(const fm_program *p, const char *name)
{
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        if (!strcmp(fm_program_col_name(p, j), name)) return (int)j;
    return -1;
}

static int row_of(const fm_program *p, const char *name)
{
    for (size_t i = 0; i < fm_program_nrows(p); i++)
        if (!strcmp(fm_program_row_name(p, i), name)) return (int)i;
    return -1;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-9 * (1 + fabs(b)); }

/* Every node reachable from the trees, counted by walking them. */
static size_t walk(const fm_expr *e)
{
    size_t n = 1;
    for (size_t k = 0; k < fm_expr_nkids(e); k++) n += walk(fm_expr_kid(e, k));
    return n;
}

/* x*y in the objective, x*y <= 4 and a linear row. */
static void test_product(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"2*x*y + 3*x + 1\"},"
        " \"constraints\": [{\"name\": \"pr\", \"expression\": \"x*y - y <= 4\"},"
        "                   {\"name\": \"lin\", \"expression\": \"x + y >= 1\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    assert_int_equal(fm_model_class(m), FM_CLASS_NLP);
    assert_null(fm_model_program(m));          /* as before: nothing to solve */
    assert_int_equal(fm_diags_errors(d), 0);  /* the nonlinear terms are information */
    assert_true(fm_diags_count(d) >= 2);
    assert_int_equal(fm_diags_get(d, 0)->severity, FM_SEV_INFO);
    assert_non_null(strstr(fm_diags_get(d, 0)->message, "product of variables"));
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    const fm_program *p = fm_nlp_program(n);
    assert_int_equal(fm_program_ncols(p), 2);
    assert_int_equal(fm_program_nrows(p), 2);
    double x[2];
    x[col_of(p, "x")] = 3; x[col_of(p, "y")] = 5;
    assert_true(close_to(fm_nlp_eval_objective(n, x), 2 * 15 + 9 + 1));
    int r = row_of(p, "pr");
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)r, x), 15 - 5));
    double lo, hi;
    fm_program_row_bounds(p, (size_t)r, &lo, &hi);
    assert_true(lo == -HUGE_VAL && hi == 4);
    /* the linear term -y is in the row's linear part, x*y is the tree */
    const int *cols; const double *coefs;
    assert_int_equal(fm_program_row(p, (size_t)r, &cols, &coefs), 1);
    assert_int_equal(cols[0], col_of(p, "y"));
    const fm_expr *t = fm_nlp_row_tree(n, (size_t)r);
    assert_non_null(t);
    assert_int_equal(fm_expr_kind_of(t), FM_EX_MUL);
    assert_int_equal(fm_expr_nkids(t), 2);
    assert_int_equal(fm_expr_kind_of(fm_expr_kid(t, 0)), FM_EX_COL);
    r = row_of(p, "lin");
    assert_null(fm_nlp_row_tree(n, (size_t)r));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)r, x), 8));
    fm_model_free(m);
    fm_diags_free(d);
}

/* sum{i in I} c[i] * x[i]^2 = 10 over a set, with a range and its constant. */
static void test_square_sum(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 4]}],"
        " \"parameters\": [{\"name\": \"c\", \"index\": [\"I\"], \"values\": [1, 2, 3, 4]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"], \"lower\": null}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{i in I} (c[i] * x[i]^2 - x[i])\"},"
        " \"constraints\": [{\"name\": \"ball\", \"expression\": \"1 <= sum{i in I} x[i]^2 + 2 <= 10\"},"
        "                   {\"name\": \"each\", \"index\": \"{i in I: i > 2}\", \"expression\": \"x[i]^2 >= x[i-1]\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    const fm_program *p = fm_nlp_program(n);
    assert_int_equal(fm_program_sense(p), FM_MAXIMIZE);
    double x[4];
    const double v[4] = { 1, -2, 0.5, 3 };
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "x[%d]", i + 1);
        x[col_of(p, name)] = v[i];
    }
    double obj = 0, sq = 0;
    for (int i = 0; i < 4; i++) { obj += (i + 1) * v[i] * v[i] - v[i]; sq += v[i] * v[i]; }
    assert_true(close_to(fm_nlp_eval_objective(n, x), obj));
    int r = row_of(p, "ball");
    double lo, hi;
    fm_program_row_bounds(p, (size_t)r, &lo, &hi);
    /* the constant 2 moved to the bounds */
    assert_true(close_to(lo, -1) && close_to(hi, 8));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)r, x), sq));
    r = row_of(p, "each[4]");
    assert_true(r >= 0);
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)r, x), 9 - 0.5));
    fm_program_row_bounds(p, (size_t)r, &lo, &hi);
    assert_true(lo == 0 && hi == HUGE_VAL);
    size_t nodes = 0;
    for (size_t i = 0; i < fm_program_nrows(p); i++)
        if (fm_nlp_row_tree(n, i)) nodes += walk(fm_nlp_row_tree(n, i));
    nodes += walk(fm_nlp_objective_tree(n));
    assert_true(nodes <= fm_nlp_nodes(n));
    assert_true(fm_nlp_nodes(n) < 200);
    fm_model_free(m);
    fm_diags_free(d);
}

/* A ratio, exp/log and abs, and min/max of variables; a MINLP. */
static void test_functions(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"},"
        "                               {\"name\": \"k\", \"type\": \"integer\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"(x + 1) / (y + 2)\"},"
        " \"constraints\": [{\"name\": \"el\", \"expression\": \"exp(x) + log(y) - 2 * log10(k) <= 7\"},"
        "                   {\"name\": \"ab\", \"expression\": \"abs(x - y) + sqrt(k) = 3\"},"
        "                   {\"name\": \"mm\", \"expression\": \"max(x, y, 2) - min(x, k) >= -1\"},"
        "                   {\"name\": \"po\", \"expression\": \"2 ^ x + x ^ 3 <= 100\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    assert_int_equal(fm_model_class(m), FM_CLASS_MINLP);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    const fm_program *p = fm_nlp_program(n);
    double x[3];
    double X = 1.5, Y = 0.25, K = 4;
    x[col_of(p, "x")] = X; x[col_of(p, "y")] = Y; x[col_of(p, "k")] = K;
    assert_true(close_to(fm_nlp_eval_objective(n, x), (X + 1) / (Y + 2)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "el"), x),
                         exp(X) + log(Y) - 2 * log10(K)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "ab"), x), fabs(X - Y) + sqrt(K)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "mm"), x),
                         fmax(fmax(X, Y), 2) - fmin(X, K)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "po"), x), pow(2, X) + pow(X, 3)));
    double lo, hi;
    fm_program_row_bounds(p, (size_t)row_of(p, "ab"), &lo, &hi);
    assert_true(lo == 3 && hi == 3);
    fm_model_free(m);
    fm_diags_free(d);
}

/* prod and min over an index, and a sum of products: flat n-ary nodes. */
static void test_iterated(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 3]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"]}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{i in I, j in I: i < j} x[i] * x[j]\"},"
        " \"constraints\": [{\"name\": \"p\", \"expression\": \"prod{i in I} x[i] >= 1\"},"
        "                   {\"name\": \"m\", \"expression\": \"min{i in I} x[i] + 0 * x[1] <= 5\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    const fm_program *p = fm_nlp_program(n);
    double x[3];
    x[col_of(p, "x[1]")] = 2; x[col_of(p, "x[2]")] = 3; x[col_of(p, "x[3]")] = 0.5;
    assert_true(close_to(fm_nlp_eval_objective(n, x), 6 + 1 + 1.5));
    const fm_expr *o = fm_nlp_objective_tree(n);
    assert_int_equal(fm_expr_kind_of(o), FM_EX_ADD);
    assert_int_equal(fm_expr_nkids(o), 3);
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "p"), x), 3));
    const fm_expr *t = fm_nlp_row_tree(n, (size_t)row_of(p, "p"));
    assert_int_equal(fm_expr_kind_of(t), FM_EX_MUL);
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "m"), x), 0.5));
    fm_model_free(m);
    fm_diags_free(d);
}

/* A linear model has a program and no nonlinear program. */
static void test_linear_has_none(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
        " \"constraints\": [{\"expression\": \"x >= 1\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    assert_non_null(fm_model_program(m));
    assert_null(fm_model_nlp(m));
    fm_model_free(m);
    fm_diags_free(d);
}

/* The node count is bounded by max_nonzeros: over it, a limit error. */
static void test_node_limit(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 50]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"]}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{i in I} x[i] * x[i]\"},"
        " \"constraints\": []}";
    fm_limits lim;
    fm_limits_default(&lim);
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, &lim, &d, &code);
    assert_int_equal(code, FM_OK);
    size_t used = fm_nlp_nodes(fm_model_nlp(m));
    assert_true(used >= 150 && used <= 400);   /* one product of two columns per member */
    fm_model_free(m);
    fm_diags_free(d);

    lim.max_nonzeros = 100;
    m = parse(j, &lim, &d, &code);
    assert_int_equal(code, FM_ELIMIT);
    assert_null(fm_model_nlp(m));
    int found = 0;
    for (size_t i = 0; i < fm_diags_count(d); i++)
        if (strstr(fm_diags_get(d, i)->message, "limit of 100 nodes")) found = 1;
    assert_true(found);
    fm_model_free(m);
    fm_diags_free(d);
}

/* Nonlinear values nested in functions, quotients and products build the
 * true tree (the plain value of a nonlinear term is a stand-in: log(exp(x))
 * is not log(0), 1/exp(x) no division by zero), and a nonlinear value
 * where only a number can go is an error, not a lost term. */
static void test_nested(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"log(exp(x)) + 1/exp(y)\"},"
        " \"constraints\": [{\"name\": \"p\", \"expression\": \"(sqrt(x*y) + 1) * log(exp(y) + 2) <= 9\"},"
        "                   {\"name\": \"q\", \"expression\": \"sqrt(sqrt(x*x + 1)) - log10(10*exp(x)) >= -5\"}]}";
    fm_diags *d; fm_code code;
    fm_model *m = parse(j, NULL, &d, &code);
    assert_int_equal(code, FM_OK);
    assert_int_equal(fm_diags_errors(d), 0);
    const fm_nlp *n = fm_model_nlp(m);
    assert_non_null(n);
    const fm_program *p = fm_nlp_program(n);
    double x[2];
    x[col_of(p, "x")] = 0.7; x[col_of(p, "y")] = 1.9;
    assert_true(close_to(fm_nlp_eval_objective(n, x), 0.7 + 1 / exp(1.9)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "p"), x),
                         (sqrt(0.7 * 1.9) + 1) * log(exp(1.9) + 2)));
    assert_true(close_to(fm_nlp_eval_row(n, (size_t)row_of(p, "q"), x),
                         sqrt(sqrt(0.49 + 1)) - log10(10 * exp(0.7))));
    fm_model_free(m);
    fm_diags_free(d);

    const char *bad =
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"range\": [1, 3]}],"
        " \"variables\": [{\"name\": \"x\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{s in S: s <= exp(x)} x\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 1\"}]}";
    m = parse(bad, NULL, &d, &code);
    assert_int_not_equal(code, FM_OK);
    assert_true(fm_diags_errors(d) >= 1);
    assert_null(m ? fm_model_nlp(m) : NULL);
    fm_model_free(m);
    fm_diags_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_product),
        cmocka_unit_test(test_square_sum),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_iterated),
        cmocka_unit_test(test_linear_has_none),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
