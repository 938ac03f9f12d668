/* Exact linearization (sv_reformulate): every rewrite kind is checked by
 * solving a small nonlinear formulation two ways that must agree:
 *   (a) sv_reformulate + sv_solve (GLPK) on the linear program it builds,
 *       the solution then checked on the nonlinear rows;
 *   (b) brute force in this file: every point of a grid over the columns
 *       (integers exactly, continuous ones on a step fine enough for the
 *       model's vertices), evaluated with fm_nlp_eval_row/objective;
 * and once more through the full path (sv_run_text: optimal, with
 * reformulations listed). Then the refusals (no exact rewrite, unsafe
 * big-M, unbounded factors), the hostile sizes (10^5 products in linear
 * time, deep nesting), memory running out at every budget (a fresh process
 * of this binary under RLIMIT_AS), and 300 random integer models compared
 * with brute force (REFORMULATE_SEED=n explores other ones). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "formulate/formulate.h"
#include "solver/solver.h"
#include "solver/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

typedef struct { const char *name; double lo, hi, step; } dom;

static fm_model *parse(const char *json)
{
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(json, strlen(json), NULL, d, &code);
    fm_diags_free(d);
    assert_non_null(m);
    assert_int_equal(code, FM_OK);
    assert_non_null(fm_model_nlp(m));
    return m;
}

static int feasible(const fm_nlp *n, const double *x, double tol)
{
    const fm_program *p = fm_nlp_program(n);
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        double lo, hi, v = fm_nlp_eval_row(n, i, x);
        fm_program_row_bounds(p, i, &lo, &hi);
        if (!isfinite(v) || v < lo - tol * (1 + fabs(lo)) || v > hi + tol * (1 + fabs(hi)))
            return 0;
    }
    return 1;
}

/* The best objective over the grid of the domains (every column named). */
static double brute_force(const fm_nlp *n, const dom *d, size_t nd)
{
    const fm_program *p = fm_nlp_program(n);
    size_t nc = fm_program_ncols(p);
    assert_int_equal(nc, nd);
    size_t *which = calloc(nc, sizeof *which), *steps = calloc(nc, sizeof *steps);
    double *x = calloc(nc, sizeof *x);
    for (size_t j = 0; j < nc; j++) {
        size_t k = 0;
        while (k < nd && strcmp(d[k].name, fm_program_col_name(p, j)))
            k++;
        assert_true(k < nd);
        which[j] = k;
        steps[j] = (size_t)floor((d[k].hi - d[k].lo) / d[k].step + 1e-9) + 1;
    }
    size_t *idx = calloc(nc, sizeof *idx);
    int maximize = fm_program_sense(p) == FM_MAXIMIZE;
    double best = maximize ? -HUGE_VAL : HUGE_VAL;
    for (;;) {
        for (size_t j = 0; j < nc; j++)
            x[j] = d[which[j]].lo + (double)idx[j] * d[which[j]].step;
        if (feasible(n, x, 1e-9)) {
            double v = fm_nlp_eval_objective(n, x);
            if (isfinite(v) && (maximize ? v > best : v < best))
                best = v;
        }
        size_t j = 0;
        while (j < nc && ++idx[j] == steps[j])
            idx[j++] = 0;
        if (j == nc)
            break;
    }
    free(which); free(steps); free(x); free(idx);
    return best;
}

static int has_line(const sv_strlist *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++)
        if (strstr(l->items[i], needle))
            return 1;
    return 0;
}

/* (a): the objective of the reformulated program's optimum, checked to be a
 * feasible point of the nonlinear program with the same objective. */
static double via_reformulation(const fm_nlp *n, sv_strlist *lines)
{
    const char *why = NULL;
    fm_program *lp = sv_reformulate(n, lines, &why);
    if (!lp)
        fail_msg("refused: %s", why ? why : "?");
    const fm_program *src = fm_nlp_program(n);
    assert_true(fm_program_ncols(lp) >= fm_program_ncols(src));
    for (size_t j = 0; j < fm_program_ncols(src); j++)
        assert_string_equal(fm_program_col_name(lp, j), fm_program_col_name(src, j));
    sv_code code;
    sv_result *r = sv_solve(lp, NULL, NULL, &code);
    assert_non_null(r);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    const double *x = sv_result_values(r);
    assert_true(feasible(n, x, 1e-6));
    double obj = fm_nlp_eval_objective(n, x);
    assert_true(fabs(obj - sv_result_objective(r)) <= 1e-6 * (1 + fabs(obj)));
    sv_result_free(r);
    fm_program_free(lp);
    assert_true(lines->n > 0);
    return obj;
}

/* (c): the full path agrees. */
static void via_run(const char *json, double expect)
{
    sv_code code;
    sv_run *run = sv_run_text(json, strlen(json), NULL, &code);
    assert_non_null(run);
    assert_int_equal(code, SV_OK);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(sv_run_reformulation_count(run) > 0);
    assert_non_null(sv_run_reformulation(run, 0));
    const sv_result *res = sv_run_result(run);
    assert_true(fabs(sv_result_objective(res) - expect) <= 1e-6 * (1 + fabs(expect)));
    sv_run_free(run);
}

/* Solves json both ways (and the full path); lines must include `needle`. */
static void both_ways(const char *json, const dom *d, size_t nd, const char *needle)
{
    fm_model *m = parse(json);
    const fm_nlp *n = fm_model_nlp(m);
    sv_strlist lines = {0};
    double a = via_reformulation(n, &lines);
    double b = brute_force(n, d, nd);
    if (fabs(a - b) > 1e-6 * (1 + fabs(b)))
        fail_msg("reformulation %.9g, brute force %.9g", a, b);
    if (needle && !has_line(&lines, needle)) {
        for (size_t i = 0; i < lines.n; i++)
            print_message("line: %s\n", lines.items[i]);
        fail_msg("no line with \"%s\"", needle);
    }
    sv_strlist_free(&lines);
    fm_model_free(m);
    via_run(json, b);
}

/* The reason sv_reformulate gives for refusing json. */
static void refused(const char *json, const char *needle)
{
    fm_model *m = parse(json);
    sv_strlist lines = {0};
    const char *why = NULL;
    fm_program *lp = sv_reformulate(fm_model_nlp(m), &lines, &why);
    assert_null(lp);
    assert_int_equal(lines.n, 0);      /* untouched */
    assert_non_null(why);
    if (!strstr(why, needle))
        fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
    fm_model_free(m);
}

#define N(a) (sizeof(a) / sizeof *(a))

/* ---- products ---- */

static void test_binary_times_bounded(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"b\", \"type\": \"binary\"},"
        " {\"name\": \"x\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"5*b*x - 3*x - 8*b\"},"
        " \"constraints\": [{\"name\": \"cap\", \"expression\": \"x + 4*x*b <= 30\"}]}";
    const dom d[] = { { "b", 0, 1, 1 }, { "x", 0, 10, 0.5 } };
    both_ways(j, d, N(d), "product of binary b and x in [0, 10], big-M 10");
}

/* A binary times an affine term with a negative range, and (1-b)*x. */
static void test_binary_times_affine(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"b\", \"type\": \"binary\"},"
        " {\"name\": \"x\", \"lower\": -4, \"upper\": 6}, {\"name\": \"y\", \"upper\": 3}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"b*(x - 2*y) + (1 - b)*(y - x) + x/2\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x + y >= 1\"}]}";
    const dom d[] = { { "b", 0, 1, 1 }, { "x", -4, 6, 0.5 }, { "y", 0, 3, 0.5 } };
    both_ways(j, d, N(d), "big-M");
}

static void test_binary_products(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 3]}],"
        " \"variables\": [{\"name\": \"b\", \"index\": [\"I\"], \"type\": \"binary\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\":"
        "   \"10*prod{i in I} b[i] + 4*b[1]*b[2] - 3*sum{i in I} b[i] + 2*b[2]*b[3] - b[1]*b[1]\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"b[1]*b[2] + b[2]*b[3] <= 1\"}]}";
    const dom d[] = { { "b[1]", 0, 1, 1 }, { "b[2]", 0, 1, 1 }, { "b[3]", 0, 1, 1 } };
    both_ways(j, d, N(d), "product of 3 binaries");
    both_ways(j, d, N(d), "product of binaries b[1] and b[2]");
}

/* An integer factor of small range, expanded in binaries. */
static void test_integer_times_continuous(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"k\", \"type\": \"integer\", \"upper\": 7},"
        " {\"name\": \"x\", \"upper\": 5}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"3*x + 2*k - k*x/2\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"k*x <= 12\"},"
        "                   {\"name\": \"d\", \"expression\": \"x + k <= 9\"}]}";
    const dom d[] = { { "k", 0, 7, 1 }, { "x", 0, 5, 1.0 / 840 } };
    both_ways(j, d, N(d), "expanded in 3 binaries");
}

/* ---- abs / min / max ---- */

static void test_abs_sum(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"min\", \"expression\":"
        "   \"abs(x - 1) + abs(2*x - 5) + abs(x - 4) + abs(y - x) + 0.5*y\"},"
        " \"constraints\": [{\"name\": \"a\", \"expression\": \"abs(x - y) <= 2\"},"
        "                   {\"name\": \"m\", \"expression\": \"max(x, y) <= 6\"},"
        "                   {\"name\": \"n\", \"expression\": \"min(x, y) >= 1\"},"
        "                   {\"name\": \"g\", \"expression\": \"3 - 2*abs(x - 5) >= -5\"}]}";
    const dom d[] = { { "x", 0, 10, 0.25 }, { "y", 0, 10, 0.25 } };
    both_ways(j, d, N(d), "abs in its convex direction: epigraph");
}

static void test_maximise_min(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"max\", \"expression\":"
        "   \"min(x + y, 10 - x, 12 - 2*y) - 0.5*max(y - 4, 0) - abs(x - y)/3\"},"
        " \"constraints\": []}";
    const dom d[] = { { "x", 0, 10, 1.0 / 60 }, { "y", 0, 10, 1.0 / 60 } };
    both_ways(j, d, N(d), "min in its convex direction");
}

static void test_max_in_minimised_objective(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 3]}],"
        " \"parameters\": [{\"name\": \"a\", \"index\": [\"I\"], \"values\": [1, -2, 3]}],"
        " \"variables\": [{\"name\": \"x\", \"lower\": -5, \"upper\": 5}, {\"name\": \"y\", \"upper\": 4}],"
        " \"objective\": {\"sense\": \"min\", \"expression\":"
        "   \"max{i in I} (a[i]*x - y) + 2*max(y - 1, 1 - y)\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x + y >= 1\"}]}";
    const dom d[] = { { "x", -5, 5, 1.0 / 12 }, { "y", 0, 4, 1.0 / 12 } };
    both_ways(j, d, N(d), "max in its convex direction");
}

/* The nonconvex direction with finite bounds: exact with binaries. */
static void test_abs_nonconvex_exact(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"abs(x - 3) - y\"},"
        " \"constraints\": [{\"name\": \"e\", \"expression\": \"abs(y - 4) = 1\"},"
        "                   {\"name\": \"m\", \"expression\": \"min(x, y) <= 4\"},"
        "                   {\"name\": \"k\", \"expression\": \"x + 2*y <= 14\"}]}";
    const dom d[] = { { "x", 0, 10, 0.5 }, { "y", 0, 10, 0.5 } };
    both_ways(j, d, N(d), "abs in the nonconvex direction: exact with 2 binaries");
}

/* ---- ratios ---- */

static void test_ratio_rows(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10},"
        " {\"name\": \"z\", \"upper\": 30}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x + 2*y + z\"},"
        " \"constraints\": [{\"name\": \"r\", \"expression\": \"(2*x + 3*y)/(x + y + 1) >= 2\"},"
        "                   {\"name\": \"s\", \"expression\": \"1 <= (x + 1)/(y + 1) <= 2\"},"
        "                   {\"name\": \"t\", \"expression\": \"z/(y - 20) <= -1\"}]}";
    const dom d[] = { { "x", 0, 10, 0.5 }, { "y", 0, 10, 0.5 }, { "z", 0, 30, 0.5 } };
    both_ways(j, d, N(d), "ratio with denominator x + y + 1 > 0");
}

/* A denominator whose sign a linear row gives (x + y >= 1 as a row, here
 * scaled): not the bounds alone. */
static void test_ratio_sign_from_row(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 6}, {\"name\": \"y\", \"upper\": 6},"
        " {\"name\": \"z\", \"upper\": 12}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"z - x - y/2\"},"
        " \"constraints\": [{\"name\": \"d\", \"expression\": \"-3*x - 3*y <= -3\"},"
        "                   {\"name\": \"avg\", \"expression\": \"z/(x + y) <= 2\"}]}";
    const dom d[] = { { "x", 0, 6, 0.25 }, { "y", 0, 6, 0.25 }, { "z", 0, 12, 0.25 } };
    both_ways(j, d, N(d), "ratio with denominator x + y > 0");
}

/* ---- powers and functions of integers, affine leftovers ---- */

static void test_integer_powers(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"k\", \"type\": \"integer\", \"upper\": 8},"
        " {\"name\": \"j\", \"type\": \"integer\", \"upper\": 8}, {\"name\": \"b\", \"type\": \"binary\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\":"
        "   \"(k - 3.4)^2 + 2^j - 3*sqrt(k) + b^3 - 2*b^2 + k*k/4 + 2^3*b\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"k + j + b >= 6\"},"
        "                   {\"name\": \"l\", \"expression\": \"log(j) <= 1.5\"}]}";
    const dom d[] = { { "k", 0, 8, 1 }, { "j", 0, 8, 1 }, { "b", 0, 1, 1 } };
    both_ways(j, d, N(d), "table of 9 values");
    both_ways(j, d, N(d), "undefined value(s) excluded (first j = 0)");
    both_ways(j, d, N(d), "b takes two values");
}

static void test_affine_after_simplification(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 10}, {\"name\": \"y\", \"upper\": 10}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x^1 + y^1\"},"
        " \"constraints\": [{\"name\": \"a\", \"expression\": \"x^1 + 2*(x + y^1)/4 <= 6\"},"
        "                   {\"name\": \"b\", \"expression\": \"y^1*3 + (x + 1)*(2)^1 <= 14\"}]}";
    const dom d[] = { { "x", 0, 10, 1.0 / 28 }, { "y", 0, 10, 1.0 / 28 } };
    both_ways(j, d, N(d), "linear directly");
}

/* A fixed column is a constant factor; powers of sums of binaries expand;
 * an integer of range beyond the tables expands in binaries. */
static void test_fixed_and_expanded(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"a\", \"type\": \"binary\"}, {\"name\": \"c\", \"type\": \"binary\"},"
        " {\"name\": \"f\", \"lower\": 3, \"upper\": 3}, {\"name\": \"y\", \"upper\": 4},"
        " {\"name\": \"n\", \"type\": \"integer\", \"lower\": 0, \"upper\": 2000}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"(a + c)^2 - 3*a*c + f*y - n*n/1000 + 3*n\"},"
        " \"constraints\": [{\"name\": \"k\", \"expression\": \"y*f + a*y <= 13\"},"
        "                   {\"name\": \"q\", \"expression\": \"n*(a + 1) <= 1700\"}]}";
    const dom d[] = { { "a", 0, 1, 1 }, { "c", 0, 1, 1 }, { "f", 3, 3, 1 }, { "y", 0, 4, 0.25 },
                      { "n", 0, 2000, 1 } };
    both_ways(j, d, N(d), "expanded in 11 binaries");
}

/* Functions of a few small integers: a joint table (combinations where the
 * term is undefined, log(0) here, are excluded). */
static void test_joint_tables(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"k\", \"type\": \"integer\", \"upper\": 6},"
        " {\"name\": \"m\", \"type\": \"integer\", \"lower\": -2, \"upper\": 4}, {\"name\": \"x\", \"upper\": 3}],"
        " \"objective\": {\"sense\": \"max\", \"expression\":"
        "   \"3*sqrt(k + m + 2) - k/(m + 3) + 0.5*log(k*m + 3) + x - 2^(k - m)/16\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"k + m + x <= 7\"},"
        "                   {\"name\": \"t\", \"expression\": \"abs(k - m)^1.5 <= 5\"}]}";
    const dom d[] = { { "k", 0, 6, 1 }, { "m", -2, 4, 1 }, { "x", 0, 3, 0.25 } };
    both_ways(j, d, N(d), "a function of the integers k, m: table of 49 combinations");
}

/* Bounds the linear rows imply make big-M and denominators' signs exact
 * where the variables themselves have none (as models often write them). */
static void test_implied_bounds(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": [{\"name\": \"b\", \"type\": \"binary\"}, {\"name\": \"x\"},"
        " {\"name\": \"y\"}, {\"name\": \"k\", \"type\": \"integer\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"3*b*x - 2*x - b + k*y\"},"
        " \"constraints\": [{\"name\": \"cap\", \"expression\": \"x + y <= 8\"},"
        "                   {\"name\": \"low\", \"expression\": \"y >= 2\"},"
        "                   {\"name\": \"kk\", \"expression\": \"2*k <= 7\"},"
        "                   {\"name\": \"r\", \"expression\": \"x/y <= 2\"}]}";
    const dom d[] = { { "b", 0, 1, 1 }, { "x", 0, 8, 1.0 / 6 }, { "y", 0, 8, 1.0 / 6 }, { "k", 0, 3, 1 } };
    both_ways(j, d, N(d), "product of binary b and x in [0, 6");
    both_ways(j, d, N(d), "tightened from the linear rows");
    both_ways(j, d, N(d), "ratio with denominator y > 0");
}

/* A row over the same columns bounds a sum factor: big-M 4, not 30. */
static void test_bigm_from_row(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 3]}],"
        " \"variables\": [{\"name\": \"b\", \"index\": [\"I\"], \"type\": \"binary\"},"
        "  {\"name\": \"x\", \"index\": [\"I\"], \"upper\": 10}],"
        " \"objective\": {\"sense\": \"max\", \"expression\":"
        "   \"(sum{i in I} b[i]) * (sum{i in I} x[i]) - 2*b[1] - 3*b[2] - 4*b[3] - x[1]\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"sum{i in I} x[i] <= 4\"}]}";
    const dom d[] = { { "b[1]", 0, 1, 1 }, { "b[2]", 0, 1, 1 }, { "b[3]", 0, 1, 1 },
                      { "x[1]", 0, 10, 0.5 }, { "x[2]", 0, 10, 0.5 }, { "x[3]", 0, 10, 0.5 } };
    both_ways(j, d, N(d), "in [0, 4], big-M 4");
}

/* ---- refusals ---- */

static void test_refusals(void **state)
{
    (void)state;
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}, {\"name\": \"y\", \"upper\": 5}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"x*y\"}, \"constraints\": []}",
            "product of x and y, both continuous");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"abs(x)\"}, \"constraints\": []}",
            "abs in the nonconvex direction needs finite bounds");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null}, {\"name\": \"y\"}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"y\"},"
            " \"constraints\": [{\"name\": \"c\", \"expression\": \"abs(x - 1) >= y\"}]}",
            "row c: abs(x - 1): abs in the nonconvex direction");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}, {\"name\": \"y\", \"upper\": 5}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},"
            " \"constraints\": [{\"name\": \"r\", \"expression\": \"x/y <= 2\"}]}",
            "the denominator y may be zero");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}, {\"name\": \"y\", \"lower\": 1}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},"
            " \"constraints\": [{\"name\": \"r\", \"expression\": \"x/y + y/x <= 2\"}]}",
            "2 ratios with variable denominators in one row");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}, {\"name\": \"y\", \"upper\": 5}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"(x + y)^2\"}, \"constraints\": []}",
            "objective: (x + y)^2: product of x and x, both continuous");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}, {\"name\": \"y\", \"lower\": 1}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"x/y\"}, \"constraints\": []}",
            "not in an objective");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"x^2\"}, \"constraints\": []}",
            "both continuous");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"sqrt(x)\"}, \"constraints\": []}",
            "objective: sqrt(x): no exact linear form");
    /* hostile: unsafe big-M, unbounded factor, too wide an integer */
    refused("{\"format\": 1, \"variables\": [{\"name\": \"b\", \"type\": \"binary\"},"
            " {\"name\": \"x\", \"upper\": 1e12}],"
            " \"objective\": {\"sense\": \"max\", \"expression\": \"b*x - x\"}, \"constraints\": []}",
            "big-M 1e+12 is beyond 1e9, numerically unsafe");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"b\", \"type\": \"binary\"}, {\"name\": \"x\"}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"b*x + x\"}, \"constraints\": []}",
            "product of binary b and x, which is unbounded");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"k\", \"type\": \"integer\", \"upper\": 1e7},"
            " {\"name\": \"x\", \"upper\": 3}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"k*x\"}, \"constraints\": []}",
            "too large a range");
    refused("{\"format\": 1, \"variables\": [{\"name\": \"k\", \"type\": \"integer\", \"upper\": 40}],"
            " \"objective\": {\"sense\": \"min\", \"expression\": \"2^k\"}, \"constraints\": []}",
            "beyond 1e9: numerically unsafe");
}

/* The refusal leaves the model unsupported on the full path until a
 * nonlinear backend takes it, and --solver glpk says why. */
static void test_refusal_full_path(void **state)
{
    (void)state;
    const char *j = "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 5},"
                    " {\"name\": \"y\", \"upper\": 5}], \"objective\": {\"sense\": \"max\","
                    " \"expression\": \"x*y\"}, \"constraints\": [{\"expression\": \"x + y <= 4\"}]}";
    sv_run_options o;
    sv_run_options_default(&o);
    o.solve.solver = SV_SOLVER_GLPK;
    sv_code code;
    sv_run *run = sv_run_text(j, strlen(j), &o, &code);
    assert_non_null(run);
    assert_int_equal(sv_run_status(run), SV_STATUS_UNSUPPORTED);
    assert_int_equal(sv_run_reformulation_count(run), 0);
    assert_non_null(strstr(sv_result_message(sv_run_result(run)), "both continuous"));
    sv_run_free(run);
}

/* ---- hostile sizes ---- */

static char *products_model(size_t n)
{
    char *j = malloc(1024);
    snprintf(j, 1024,
             "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, %zu]}],"
             " \"variables\": [{\"name\": \"b\", \"index\": [\"I\"], \"type\": \"binary\"},"
             "                 {\"name\": \"x\", \"index\": [\"I\"], \"upper\": 10}],"
             " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{i in I} (b[i]*x[i] - 0.5*x[i] - b[i])\"},"
             " \"constraints\": [{\"name\": \"c\", \"expression\": \"sum{i in I} b[i]*x[i] <= 3*%zu\"}]}",
             n, n);
    return j;
}

static double reformulate_ms(size_t n, size_t *lines_out)
{
    char *j = products_model(n);
    fm_model *m = parse(j);
    sv_strlist lines = {0};
    const char *why = NULL;
    double t0 = fm_clock_ms();
    fm_program *lp = sv_reformulate(fm_model_nlp(m), &lines, &why);
    double ms = fm_clock_ms() - t0;
    assert_non_null(lp);
    /* n products shared by the objective and the row: n auxiliary columns */
    assert_int_equal(fm_program_ncols(lp), 3 * n);
    *lines_out = lines.n;
    if (n > 1000)
        assert_true(has_line(&lines, "more: big-M products with a binary"));
    fm_program_free(lp);
    sv_strlist_free(&lines);
    fm_model_free(m);
    free(j);
    return ms;
}

static void test_many_products_linear_time(void **state)
{
    (void)state;
    size_t l1, l2;
#ifdef UNDER_ASAN
    const size_t n = 20000;         /* the sanitizers make it ten times slower */
#else
    const size_t n = 100000;
#endif
    double small = reformulate_ms(n / 10, &l1);
    double big = reformulate_ms(n, &l2);
    print_message("%zu products: %.1f ms, %zu: %.1f ms\n", n / 10, small, n, big);
    assert_true(l2 <= 120);                 /* lines are capped */
    assert_true(big < 20000);               /* a loaded machine: generous */
    assert_true(big < 40 * small + 500);    /* linear, not quadratic */
    /* a small one solved both ways */
    char *j = products_model(4);
    const dom d[] = { { "b[1]", 0, 1, 1 }, { "b[2]", 0, 1, 1 }, { "b[3]", 0, 1, 1 }, { "b[4]", 0, 1, 1 },
                      { "x[1]", 0, 10, 1 }, { "x[2]", 0, 10, 1 }, { "x[3]", 0, 10, 1 }, { "x[4]", 0, 10, 1 } };
    both_ways(j, d, N(d), "big-M 10");
    free(j);
}

/* Memory running out at any point of the rewrite, in a fresh process (this
 * binary again, so that the heap does not depend on the tests before): it
 * parses the model, forbids new mappings (RLIMIT_AS at its current size),
 * fills the heap's free space, then frees `kb` of it for the rewrite. The
 * exit code: 0 built, 1 refused with "out of memory", more: wrong. */
static int oom_child(size_t kb)
{
    /* every kind of rewrite, 300 times */
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 300]}],"
        " \"variables\": [{\"name\": \"b\", \"index\": [\"I\"], \"type\": \"binary\"},"
        "  {\"name\": \"x\", \"index\": [\"I\"], \"upper\": 10},"
        "  {\"name\": \"k\", \"index\": [\"I\"], \"type\": \"integer\", \"upper\": 5}],"
        " \"objective\": {\"sense\": \"min\", \"expression\":"
        "   \"sum{i in I} (b[i]*x[i] + abs(x[i] - 3) + k[i]^2 - k[i]*x[i] + b[i]*b[1]*b[2])\"},"
        " \"constraints\": [{\"name\": \"m\", \"index\": \"{i in I}\", \"expression\": \"abs(x[i] - k[i]) >= 1\"},"
        "   {\"name\": \"r\", \"index\": \"{i in I}\", \"expression\": \"(x[i] + 1)/(k[i] + 1) <= 4\"}]}";
    /* blocks up to 32 MB (glibc's most) from the heap, and 24 MB of free
     * heap that stays */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    void *volatile reserve = malloc((size_t)24 << 20);   /* volatile: not elided */
    free(reserve);
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    enum { MAX_FILL = 1 << 20 };
    void **fill = malloc(MAX_FILL * sizeof *fill);
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!m || !fm_model_nlp(m) || !fill || !f || fscanf(f, "%ld", &pages) != 1)
        return 4;
    fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
    setrlimit(RLIMIT_AS, &rl);
    size_t nfill = 0, freed = 0;
    for (size_t size = 4096; size >= 32; size /= 4)
        while (nfill < MAX_FILL && (fill[nfill] = malloc(size)) != NULL)
            nfill++;
    for (size_t k = 0; k < nfill && freed < kb * 1024; k++) {
        freed += malloc_usable_size(fill[k]);
        free(fill[k]);
    }
    sv_strlist lines = {0};
    const char *why = NULL;
    fm_program *lp = sv_reformulate(fm_model_nlp(m), &lines, &why);
    if (lp)
        return fm_program_ncols(lp) > 900 && lines.n > 0 ? 0 : 5;
    return why && strstr(why, "out of memory") && lines.n == 0 ? 1 : 6;
}

/* oom_child for budgets from none up to enough: a program, or NULL with "out
 * of memory", never a crash. Skipped under AddressSanitizer (its own
 * allocator and mappings). */
static void test_out_of_memory(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    skip();
#else
    int refused_oom = 0, built = 0;
    for (size_t kb = 0; kb <= 16384; kb = kb ? kb * 5 / 4 + 1 : 2) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char arg[32];
            snprintf(arg, sizeof arg, "%zu", kb);
            setenv("REFORMULATE_OOM_CHILD", arg, 1);
            execl("/proc/self/exe", "test_reformulate", (char *)NULL);
            _exit(7);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status))
            fail_msg("child killed by signal %d with %zu kB to spare", WTERMSIG(status), kb);
        int rc = WEXITSTATUS(status);
        if (rc > 1)
            fail_msg("child exit %d with %zu kB to spare", rc, kb);
        refused_oom += rc == 1;
        built += rc == 0;
    }
    print_message("out of memory: %d refused, %d built\n", refused_oom, built);
    assert_true(refused_oom >= 1 && built >= 1);
#endif
}

/* abs(abs(...(x - 1)...)) nested 60 deep: each level once (no blow-up). */
static void test_deep_nesting(void **state)
{
    (void)state;
    char j[4096], e[2048] = "";
    for (int i = 0; i < 60; i++)
        strcat(e, "abs(");
    strcat(e, "x - 1");
    for (int i = 0; i < 60; i++)
        strcat(e, ")");
    snprintf(j, sizeof j, "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": -3, \"upper\": 3}],"
             " \"objective\": {\"sense\": \"min\", \"expression\": \"%s - x/2\"}, \"constraints\": []}", e);
    const dom d[] = { { "x", -3, 3, 0.25 } };
    both_ways(j, d, N(d), "abs in its convex direction");
}

/* ---- random integer models, differential against brute force ---- */

static unsigned long long rng_state = 20261202ull;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng_state >> 33) % n);
}

typedef struct { char s[1200]; size_t n; } sbuf;

static void app(sbuf *b, const char *t)
{
    size_t len = strlen(t);
    assert_true(b->n + len < sizeof b->s);
    memcpy(b->s + b->n, t, len + 1);
    b->n += len;
}

/* A random expression over b1, b2 (binary), k in [0,3], m in [-2,2]. */
static void rand_expr(sbuf *b, int depth)
{
    static const char *const leaves[] = { "b1", "b2", "k", "m", "2", "1", "b1", "k" };
    static const char *const open[] = { "(", "(", "(", "(", "abs(", "min(", "max(", "(", "-(" };
    static const char *const mid[] = { " + ", " - ", " * ", " * ", "", ", ", ", ", "", "" };
    /* integer-valued throughout, so that every product has an exact form */
    static const char *const close[] = { ")", ")", ")", ")", ")", ")", ")", ")^2", ")*3" };
    unsigned op = depth <= 0 ? 99 : rnd(11);
    if (op >= 9) {
        app(b, leaves[rnd(8)]);
        return;
    }
    app(b, open[op]);
    rand_expr(b, depth - 1);
    if (mid[op][0]) {
        app(b, mid[op]);
        rand_expr(b, depth - 1);
    }
    app(b, close[op]);
}

static void test_random_integer_models(void **state)
{
    (void)state;
    static const char *const ops[] = { "<=", ">=", "=" };
    const dom d[] = { { "b1", 0, 1, 1 }, { "b2", 0, 1, 1 }, { "k", 0, 3, 1 }, { "m", -2, 2, 1 } };
    int solved = 0, infeasible = 0;
    const char *seed = getenv("REFORMULATE_SEED");   /* to explore other models */
    if (seed)
        rng_state = strtoull(seed, NULL, 10);
    for (int t = 0; t < 300; t++) {
        sbuf obj = {0}, con = {0}, con2 = {0};
        char j[5000];
        rand_expr(&obj, 3);
        rand_expr(&con, 3);
        rand_expr(&con2, 2);
        snprintf(j, sizeof j,
                 "{\"format\": 1, \"variables\": [{\"name\": \"b1\", \"type\": \"binary\"},"
                 " {\"name\": \"b2\", \"type\": \"binary\"},"
                 " {\"name\": \"k\", \"type\": \"integer\"%s},"
                 " {\"name\": \"m\", \"type\": \"integer\", \"lower\": %s, \"upper\": 2}],"
                 " \"objective\": {\"sense\": \"%s\", \"expression\": \"(%s + 0*b1*k)/%d\"},"
                 " \"constraints\": [{\"name\": \"c\", \"expression\": \"%s + 0*k*m %s %d\"},"
                 "                   {\"name\": \"e\", \"expression\": \"%s + 0*b2*m %s %d\"},"
                 "                   {\"name\": \"kb\", \"expression\": \"k + 0*b1 <= 3\"},"
                 "                   {\"name\": \"mb\", \"expression\": \"m - b1 + b1 >= -2\"}]}",
                 /* half the time the bounds of k and m are rows only */
                 t % 2 ? ", \"upper\": 3" : "", t % 2 ? "-2" : "null",
                 rnd(2) ? "max" : "min", obj.s, (int)rnd(3) + 1, con.s, ops[rnd(3)], (int)rnd(7) - 3,
                 con2.s, ops[rnd(2)], (int)rnd(5) - 1);
        fm_diags *dg = fm_diags_new();
        fm_code code;
        fm_model *m = fm_model_parse(j, strlen(j), NULL, dg, &code);
        fm_diags_free(dg);
        const fm_nlp *n = code == FM_OK ? fm_model_nlp(m) : NULL;
        if (!n) {   /* folded to a linear model, or a constant row the checks refuse */
            fm_model_free(m);
            continue;
        }
        double best = brute_force(n, d, N(d));
        sv_strlist lines = {0};
        const char *why = NULL;
        fm_program *lp = sv_reformulate(n, &lines, &why);
        if (!lp)
            fail_msg("refused %s: %s", j, why);
        sv_code sc;
        sv_result *r = sv_solve(lp, NULL, NULL, &sc);
        assert_non_null(r);
        if (isinf(best)) {
            sv_status st = sv_result_status(r);
            if (st != SV_STATUS_INFEASIBLE && st != SV_STATUS_INF_OR_UNBD)
                fail_msg("brute force infeasible, GLPK %s: %s", sv_status_name(st), j);
            infeasible++;
        } else {
            if (sv_result_status(r) != SV_STATUS_OPTIMAL)
                fail_msg("GLPK %s, brute force %g: %s", sv_status_name(sv_result_status(r)), best, j);
            double v = fm_nlp_eval_objective(n, sv_result_values(r));
            if (fabs(v - best) > 1e-6 * (1 + fabs(best)) || !feasible(n, sv_result_values(r), 1e-6))
                fail_msg("GLPK %.9g, brute force %.9g: %s", v, best, j);
            solved++;
        }
        sv_result_free(r);
        fm_program_free(lp);
        sv_strlist_free(&lines);
        fm_model_free(m);
    }
    print_message("random models: %d optimal, %d infeasible, all agree\n", solved, infeasible);
    assert_true(solved >= 100);
}

int main(void)
{
    const char *oom = getenv("REFORMULATE_OOM_CHILD");   /* see test_out_of_memory */
    if (oom)
        return oom_child((size_t)strtoull(oom, NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_times_bounded),
        cmocka_unit_test(test_binary_times_affine),
        cmocka_unit_test(test_binary_products),
        cmocka_unit_test(test_integer_times_continuous),
        cmocka_unit_test(test_abs_sum),
        cmocka_unit_test(test_maximise_min),
        cmocka_unit_test(test_max_in_minimised_objective),
        cmocka_unit_test(test_abs_nonconvex_exact),
        cmocka_unit_test(test_ratio_rows),
        cmocka_unit_test(test_ratio_sign_from_row),
        cmocka_unit_test(test_integer_powers),
        cmocka_unit_test(test_affine_after_simplification),
        cmocka_unit_test(test_fixed_and_expanded),
        cmocka_unit_test(test_joint_tables),
        cmocka_unit_test(test_implied_bounds),
        cmocka_unit_test(test_bigm_from_row),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusal_full_path),
        cmocka_unit_test(test_many_products_linear_time),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_random_integer_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
