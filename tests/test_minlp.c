/* The integer nonlinear search (solver/minlp*.c): each optimum is checked
 * against plain nested loops over the whole domain written here, apart from
 * the solver's pruning; infeasible models, domains too large to enumerate,
 * time limits, cancellation, NaN and division by zero; the interval
 * evaluator's soundness on random boxes for every operator; and, when Ipopt
 * is available, branch-and-bound (a convex model proven optimal, a
 * nonconvex one reported local_optimal). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "formulate/formulate.h"
#include "solver/solver.h"
#include "solver/internal.h"
#include "solver/minlp_internal.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
    fm_model *m;
    fm_diags *d;
    const fm_nlp *n;
} model;

static model load(const char *json)
{
    model mo;
    fm_code code;
    mo.d = fm_diags_new();
    mo.m = fm_model_parse(json, strlen(json), NULL, mo.d, &code);
    assert_non_null(mo.m);
    mo.n = fm_model_nlp(mo.m);
    if (!mo.n) {
        fprintf(stderr, "not a nonlinear model: %s\n", json);
        for (size_t k = 0; k < fm_diags_count(mo.d); k++)
            fprintf(stderr, "  %s\n", fm_diags_get(mo.d, k)->message);
    }
    assert_non_null(mo.n);
    return mo;
}

static void unload(model *mo)
{
    fm_model_free(mo->m);
    fm_diags_free(mo->d);
}

static int col_of(const fm_nlp *n, const char *name)
{
    const fm_program *p = fm_nlp_program(n);
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        if (!strcmp(fm_program_col_name(p, j), name))
            return (int)j;
    fail_msg("no column %s", name);
    return -1;
}

static sv_result *solve(const fm_nlp *n, int force_enum, double time_limit_s,
                        volatile int *cancel)
{
    sv_options o;
    sv_options_default(&o);
    o.time_limit_s = time_limit_s;
    o.cancel = cancel;
    sv_code code = SV_OK;
    sv_result *r = sv_minlp_solve(n, force_enum, &o, fm_clock_ms(), NULL, &code);
    assert_int_equal(code, SV_OK);
    assert_non_null(r);
    return r;
}

static int close_to(double a, double b)
{
    return fabs(a - b) <= 1e-7 * (1 + fabs(b));
}

/* A growable JSON text for generated models. */
typedef struct { char buf[16384]; size_t len; } text;

static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof t->buf - t->len);
    t->len += (size_t)k;
}

/* ---- optima against nested loops ------------------------------------------ */

/* max x*y - x  s.t.  2x + 3y <= 37, x*y >= 4 + y, integers in [0, 20]. */
static void test_integer_product(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0, \"upper\": 20},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0, \"upper\": 20}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x*y - x\"},"
        " \"constraints\": [{\"name\": \"cap\", \"expression\": \"2*x + 3*y <= 37\"},"
        "                   {\"name\": \"least\", \"expression\": \"x*y >= 4 + y\"}]}");
    double best = -HUGE_VAL;
    for (int x = 0; x <= 20; x++)
        for (int y = 0; y <= 20; y++)
            if (2 * x + 3 * y <= 37 && x * y >= 4 + y && x * y - x > best)
                best = x * y - x;
    sv_result *r = solve(mo.n, 0, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(sv_result_proven(r));
    assert_true(close_to(sv_result_objective(r), best));
    const double *v = sv_result_values(r);
    double x = v[col_of(mo.n, "x")], y = v[col_of(mo.n, "y")];
    assert_true(2 * x + 3 * y <= 37 && x * y >= 4 + y);
    assert_true(close_to(x * y - x, best));
    assert_string_equal(sv_result_backend(r), "exhaustive search");
    assert_non_null(sv_result_activities(r));
    sv_result_free(r);
    unload(&mo);
}

/* A knapsack of 12 items with pairwise profits (quadratic objective). */
static void test_quadratic_knapsack(void **state)
{
    (void)state;
    enum { N = 12 };
    double w[N], p[N], q[N][N];
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        w[i] = 3 + (seed >> 16) % 17;
        p[i] = 1 + (seed >> 8) % 23;
        for (int j = 0; j < N; j++) {
            seed = seed * 1103515245u + 12345u;
            q[i][j] = (double)((int)((seed >> 16) % 21) - 6);
        }
    }
    const double cap = 60;
    text t = {{0}, 0};
    add(&t, "{\"format\": 1, \"variables\": [");
    for (int i = 0; i < N; i++)
        add(&t, "%s{\"name\": \"x%d\", \"type\": \"binary\"}", i ? "," : "", i);
    add(&t, "], \"objective\": {\"sense\": \"max\", \"expression\": \"0");
    for (int i = 0; i < N; i++) {
        add(&t, " + %g*x%d", p[i], i);
        for (int j = i + 1; j < N; j++)
            add(&t, " + %g*x%d*x%d", q[i][j], i, j);
    }
    add(&t, "\"}, \"constraints\": [{\"name\": \"cap\", \"expression\": \"0");
    for (int i = 0; i < N; i++)
        add(&t, " + %g*x%d", w[i], i);
    add(&t, " <= %g\"}]}", cap);
    model mo = load(t.buf);
    double best = -HUGE_VAL;
    for (unsigned s = 0; s < (1u << N); s++) {
        double wt = 0, val = 0;
        for (int i = 0; i < N; i++) {
            if (!(s >> i & 1))
                continue;
            wt += w[i];
            val += p[i];
            for (int j = i + 1; j < N; j++)
                if (s >> j & 1)
                    val += q[i][j];
        }
        if (wt <= cap && val > best)
            best = val;
    }
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
}

/* A box of integer sides in [1, 40] holding a volume of at least 1000 + 7,
 * with the least surface. */
static void test_integer_box(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"a\", \"type\": \"integer\", \"lower\": 1, \"upper\": 40},"
        " {\"name\": \"b\", \"type\": \"integer\", \"lower\": 1, \"upper\": 40},"
        " {\"name\": \"c\", \"type\": \"integer\", \"lower\": 1, \"upper\": 40}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"2*(a*b + b*c + c*a)\"},"
        " \"constraints\": [{\"name\": \"vol\", \"expression\": \"a*b*c >= 1007\"}]}");
    double best = HUGE_VAL;
    for (int a = 1; a <= 40; a++)
        for (int b = 1; b <= 40; b++)
            for (int c = 1; c <= 40; c++)
                if (a * b * c >= 1007 && 2.0 * (a * b + b * c + c * a) < best)
                    best = 2.0 * (a * b + b * c + c * a);
    sv_result *r = solve(mo.n, 0, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    const double *v = sv_result_values(r);
    assert_true(v[0] * v[1] * v[2] >= 1007);
    sv_result_free(r);
    unload(&mo);
}

/* log of a negative and division by zero inside the domain: those points
 * are infeasible, never a crash; the optimum is the loops'. */
static void test_nan_and_division_by_zero(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": -6, \"upper\": 6},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": -6, \"upper\": 6}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"1/x + y/(x - y) + log(y + 3)\"},"
        " \"constraints\": [{\"name\": \"r\", \"expression\": \"sqrt(x + 2) + min(x, y) <= 4\"}]}");
    double best = HUGE_VAL;
    for (int x = -6; x <= 6; x++)
        for (int y = -6; y <= 6; y++) {
            double f = 1.0 / x + (double)y / (x - y) + log(y + 3.0);
            double g = sqrt(x + 2.0) + fmin(x, y);
            if (isfinite(f) && isfinite(g) && g <= 4 + 1e-6 && f < best)
                best = f;
        }
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
}

/* x*y = 37 with x, y in [0, 10] has no solution (37 is prime). */
static void test_infeasible(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0, \"upper\": 10},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0, \"upper\": 10}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x^2 + y\"},"
        " \"constraints\": [{\"name\": \"p\", \"expression\": \"x*y = 37\"}]}");
    sv_result *r = solve(mo.n, 0, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_INFEASIBLE);
    assert_false(sv_result_has_solution(r));
    assert_non_null(strstr(sv_result_message(r), "exhaustive"));
    sv_result_free(r);
    unload(&mo);
}

/* An integer column whose bounds leave no integer: infeasible at once. */
static void test_empty_integer_bounds(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0.2, \"upper\": 0.7},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0, \"upper\": 3}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x*y\"}, \"constraints\": []}");
    sv_result *r = solve(mo.n, 0, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(r), "'x'"));
    sv_result_free(r);
    unload(&mo);
}

/* ---- what the exhaustive search refuses ---------------------------------- */

static const char *huge_domain =
    "{\"format\": 1, \"variables\": ["
    " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0, \"upper\": 1000000},"
    " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0, \"upper\": 1000000}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"(x - 3.3)^2 + (y - 7.6)^2 + x*y/1000\"},"
    " \"constraints\": [{\"name\": \"c\", \"expression\": \"x + y >= 5\"}]}";

/* 10^12 points: --solver enum refuses at once; auto goes to
 * branch-and-bound (or says Ipopt is missing) within the time limit. */
static void test_huge_domain(void **state)
{
    (void)state;
    model mo = load(huge_domain);
    double t0 = fm_clock_ms();
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_true(fm_clock_ms() - t0 < 100);
    assert_int_equal(sv_result_status(r), SV_STATUS_UNSUPPORTED);
    assert_non_null(strstr(sv_result_message(r), "1e+12 points"));
    sv_result_free(r);
    t0 = fm_clock_ms();
    r = solve(mo.n, 0, 2, NULL);
    assert_true(fm_clock_ms() - t0 < 2500);
    if (!sv_ipopt_available()) {
        assert_int_equal(sv_result_status(r), SV_STATUS_UNSUPPORTED);
        assert_non_null(strstr(sv_result_message(r), "Ipopt"));
    } else {
        assert_int_not_equal(sv_result_status(r), SV_STATUS_OPTIMAL);  /* not convex */
        if (sv_result_has_solution(r)) {
            const double *v = sv_result_values(r);
            assert_true(v[0] + v[1] >= 5 - 1e-6);
            assert_true(v[0] == nearbyint(v[0]) && v[1] == nearbyint(v[1]));
        }
    }
    sv_result_free(r);
    unload(&mo);
}

static void test_enum_refusals(void **state)
{
    (void)state;
    static const struct { const char *vars, *why; } cases[] = {
        { "{\"name\": \"x\", \"type\": \"integer\", \"lower\": 0, \"upper\": null}",
          "no finite upper bound" },
        { "{\"name\": \"x\", \"lower\": 0, \"upper\": 5}", "continuous" },
        { "{\"name\": \"x\", \"type\": \"integer\", \"lower\": 1e17, \"upper\": 1.00000000000001e17}",
          "2^52" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"format\": 1, \"variables\": [%s,"
                 " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0, \"upper\": 4}],"
                 " \"objective\": {\"sense\": \"min\", \"expression\": \"x*y\"}, \"constraints\": []}",
                 cases[k].vars);
        model mo = load(json);
        sv_result *r = solve(mo.n, 1, 0, NULL);
        assert_int_equal(sv_result_status(r), SV_STATUS_UNSUPPORTED);
        if (!strstr(sv_result_message(r), cases[k].why))
            fail_msg("case %zu: %s", k, sv_result_message(r));
        assert_non_null(strstr(sv_result_message(r), "--solver enum"));
        sv_result_free(r);
        unload(&mo);
    }
}

/* A continuous column fixed by its bounds is no obstacle. */
static void test_fixed_continuous(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"k\", \"lower\": 2.5, \"upper\": 2.5},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": -5, \"upper\": 5}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"(y - k)^2 * k\"},"
        " \"constraints\": []}");
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), 0.25 * 2.5));
    sv_result_free(r);
    unload(&mo);
}

/* A tree about 220 levels deep (nested sqrt and products) in the objective and
 * a row: every walker (intervals, implied bounds, tapes) copes. */
static void test_deep_tree(void **state)
{
    (void)state;
    enum { DEPTH = 55 };    /* the parser nests at most 200 deep */
    static char json[DEPTH * 24 + 1024];
    char *e = json + sprintf(json, "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": -3, \"upper\": 3}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"");
    for (int k = 0; k < DEPTH; k++)
        e += sprintf(e, "sqrt(1 + y*");
    e += sprintf(e, "x");
    for (int k = 0; k < DEPTH; k++)
        e += sprintf(e, ")");
    sprintf(e, "\"}, \"constraints\": [{\"name\": \"c\", \"expression\": \"x*y <= 7\"},"
            " {\"name\": \"d\", \"expression\": \"x <= 9\"}]}");
    model mo = load(json);
    double best = -HUGE_VAL;
    for (int x = 0; x <= 9; x++)
        for (int y = -3; y <= 3; y++) {
            if (x * y > 7)
                continue;
            double v = x;
            for (int k = 0; k < DEPTH; k++)
                v = sqrt(1 + y * v);
            if (isfinite(v) && v > best)
                best = v;
        }
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
}

/* ---- limits ----------------------------------------------------------------- */

/* 56^4 points where no interval prunes (x mod 7 cannot be bounded apart from
 * [0, 7]) and no point is feasible: the time limit stops it. */
static const char *slow_model =
    "{\"format\": 1, \"variables\": ["
    " {\"name\": \"a\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
    " {\"name\": \"b\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
    " {\"name\": \"c\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
    " {\"name\": \"d\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"sqrt(a*b + c*d + 1) + exp(a/100)\"},"
    " \"constraints\": [{\"name\": \"m\", \"expression\": \"(a*b*c*d + a + d) mod 7 = 6.5\"}]}";

static void test_time_limit(void **state)
{
    (void)state;
    model mo = load(slow_model);
    double t0 = fm_clock_ms();
    sv_result *r = solve(mo.n, 1, 0.2, NULL);
    double took = fm_clock_ms() - t0;
    assert_true(took < 300);
    assert_int_equal(sv_result_status(r), SV_STATUS_TIME_LIMIT);
    assert_false(sv_result_has_solution(r));
    sv_result_free(r);
    unload(&mo);
}

/* A time limit with an incumbent: feasible, not optimal. */
static void test_time_limit_with_incumbent(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"a\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
        " {\"name\": \"b\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
        " {\"name\": \"c\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55},"
        " {\"name\": \"d\", \"type\": \"integer\", \"lower\": 0, \"upper\": 55}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"(a*b*c + d) mod 1000\"},"
        " \"constraints\": []}");
    double t0 = fm_clock_ms();
    sv_result *r = solve(mo.n, 0, 0.15, NULL);
    assert_true(fm_clock_ms() - t0 < 250);
    assert_int_equal(sv_result_status(r), SV_STATUS_FEASIBLE);
    assert_true(sv_result_has_solution(r));
    assert_false(sv_result_proven(r));
    assert_non_null(strstr(sv_result_message(r), "time limit"));
    sv_result_free(r);
    unload(&mo);
}

static void test_cancel(void **state)
{
    (void)state;
    model mo = load(slow_model);
    volatile int stop = 1;
    sv_result *r = solve(mo.n, 0, 0, &stop);
    assert_int_equal(sv_result_status(r), SV_STATUS_INTERRUPTED);
    assert_false(sv_result_has_solution(r));
    sv_result_free(r);
    unload(&mo);
}

/* ---- through the run, with --solver enum --------------------------------- */

static void test_run_enum(void **state)
{
    (void)state;
    const char *j =
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"w\", \"type\": \"integer\", \"lower\": 1, \"upper\": 30},"
        " {\"name\": \"h\", \"type\": \"integer\", \"lower\": 1, \"upper\": 30}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"w*h\"},"
        " \"constraints\": [{\"name\": \"fence\", \"expression\": \"2*w + h <= 41\"}],"
        " \"report\": [{\"name\": \"area\", \"expression\": \"w*h\"}]}";
    double best = 0;
    for (int w = 1; w <= 30; w++)
        for (int h = 1; h <= 30; h++)
            if (2 * w + h <= 41 && w * h > best)
                best = w * h;
    sv_run_options o;
    sv_run_options_default(&o);
    o.solve.solver = SV_SOLVER_ENUM;
    sv_code code;
    sv_run *run = sv_run_text(j, strlen(j), &o, &code);
    assert_non_null(run);
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(sv_run_result(run)), best));
    assert_true(sv_result_proven(sv_run_result(run)));
    sv_run_free(run);
}

/* ---- the interval evaluator ------------------------------------------------ */

static double pick(unsigned *seed, const double *set, size_t n)
{
    *seed = *seed * 1103515245u + 12345u;
    return set[(*seed >> 16) % n];
}

/* For random boxes and random points in them: every value the point
 * evaluation gives lies in the interval, and a NaN is announced; the tape
 * of the search gives the evaluator's very bits (but for signed zeros). */
static void test_interval_soundness(void **state)
{
    (void)state;
    static const char *exprs[] = {
        "x*y*z", "x/y", "x^2", "x^3", "x^-1", "x^-2", "x^0.5", "x^-0.5", "x^y",
        "2^x", "abs(x - y)", "sqrt(x)", "exp(x)", "log(x)", "log10(y)", "floor(x/3)",
        "ceil(x*0.7)", "min(x, y, z)", "max(x, sqrt(y))", "min(log(x), 3)",
        "max(sqrt(x), log(y))", "x div y", "x mod 3", "x mod y", "-x*y + z",
        "exp(x*y) / (1 + z^2)", "sqrt(x^2 + y^2)", "max(x, y)^z", "(x - y)^2 * z",
        "log(x)^0", "1^log(x)", "(x - y)^(z/4)", "exp(exp(x))*0 + y", "1/(x*y - z)",
        "min(1/x, 2) + max(log(y), -1)", "x^1.5 + y^2.5", "(x*y)^-3", "-(x^4) / (y^2 + 1)",
    };
    static const double ends[] = {
        -1e6, -20, -3, -2.5, -1, -0.5, 0, 0, 0.5, 1, 2, 3, 7.5, 40, 1e6,
    };
    char json[512];
    unsigned seed = 12345;
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
        snprintf(json, sizeof json,
                 "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": null},"
                 " {\"name\": \"y\", \"lower\": null}, {\"name\": \"z\", \"lower\": null}],"
                 " \"objective\": {\"sense\": \"min\", \"expression\": \"%s\"},"
                 " \"constraints\": []}", exprs[e]);
        model mo = load(json);
        int ix = col_of(mo.n, "x"), iy = col_of(mo.n, "y"), iz = col_of(mo.n, "z");
        mi_tape *tape = mi_tape_new(mo.n);
        assert_non_null(tape);
        for (int b = 0; b < 300; b++) {
            mi_iv box[3];
            for (int k = 0; k < 3; k++) {
                double a = pick(&seed, ends, sizeof ends / sizeof ends[0]);
                double c = pick(&seed, ends, sizeof ends / sizeof ends[0]);
                box[k] = (mi_iv){ fmin(a, c), fmax(a, c), 0 };
            }
            mi_iv v = mi_objective_interval(mo.n, box);
            for (int s = 0; s < 30; s++) {
                double x[3];
                for (int k = 0; k < 3; k++) {
                    seed = seed * 1103515245u + 12345u;
                    double u = (double)(seed >> 8) / (double)(1u << 24);
                    int kind = (seed >> 4) % 4;
                    x[k] = kind == 0 ? box[k].lo : kind == 1 ? box[k].hi
                         : kind == 2 ? nearbyint(box[k].lo + u * (box[k].hi - box[k].lo))
                         : box[k].lo + u * (box[k].hi - box[k].lo);
                    if (x[k] < box[k].lo || x[k] > box[k].hi)
                        x[k] = box[k].lo;
                }
                double pt[3];
                pt[ix] = x[0];
                pt[iy] = x[1];
                pt[iz] = x[2];
                double f = fm_nlp_eval_objective(mo.n, pt);
                double ft = mi_tape_objective(tape, pt);
                /* the same bits; fmin/fmax may give either zero of -0 and +0
                 * (C leaves it open, and GCC swaps their operands), which
                 * pow and division carry to the infinity's sign */
                int same = memcmp(&f, &ft, sizeof f) == 0 || (isnan(f) && isnan(ft))
                           || (isinf(f) && isinf(ft)) || (f == 0 && ft == 0);
                if (!same)
                    fail_msg("%s at (%g, %g, %g): tape %.17g, evaluator %.17g", exprs[e],
                             x[0], x[1], x[2], ft, f);
                if (isnan(f)) {
                    if (!v.maybe_nan)
                        fail_msg("%s at (%g, %g, %g): NaN not announced by [%g, %g]",
                                 exprs[e], x[0], x[1], x[2], v.lo, v.hi);
                } else if (!(v.lo <= f && f <= v.hi)) {
                    fail_msg("%s at (%g, %g, %g) = %.17g outside [%.17g, %.17g] over "
                             "[%g,%g]x[%g,%g]x[%g,%g]", exprs[e], x[0], x[1], x[2], f,
                             v.lo, v.hi, box[ix].lo, box[ix].hi, box[iy].lo, box[iy].hi,
                             box[iz].lo, box[iz].hi);
                }
            }
        }
        mi_tape_free(tape);
        unload(&mo);
    }
}

/* ---- random models against brute force ------------------------------------ */

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* Random small models over x, y, z in [-6, 6] (declared as bounds, or as
 * rows on unbounded integers so that the bounds must be implied): the
 * search's status and optimum equal those of nested loops over the box with
 * the formulation's own evaluator and the same 1e-6 tolerance. */
static void test_random_against_brute_force(void **state)
{
    (void)state;
    static const char *terms[] = {
        "x*y", "x^2", "y^3", "abs(x - z)", "sqrt(z + 9)", "exp(x/4)", "log(y + 9)",
        "min(x, y)", "max(y, z)", "x*y*z", "(x + y)^2", "1/(z + 0.5)", "z mod 4",
        "floor(x/2)", "-x*z", "2^y", "x div 3", "sqrt(x)", "log(z)", "y/(x - 1)",
        "(x*y)^2", "exp(-z)*y", "x^4 - 3*y^2", "max(x*y, z^2, -4)", "abs(y)*x",
    };
    const size_t nterms = sizeof terms / sizeof terms[0];
    static const char *names[3] = { "x", "y", "z" };
    unsigned seed = 99;
    int solved = 0, infeasible = 0;
    for (int trial = 0; trial < 250; trial++) {
        text t = {{0}, 0};
        add(&t, "{\"format\": 1, \"variables\": [");
        int implied[3];
        for (int v = 0; v < 3; v++) {
            implied[v] = next_rand(&seed) % 3 == 0;
            if (implied[v])
                add(&t, "%s{\"name\": \"%s\", \"type\": \"integer\", \"lower\": null}",
                    v ? "," : "", names[v]);
            else
                add(&t, "%s{\"name\": \"%s\", \"type\": \"integer\", \"lower\": -6, "
                    "\"upper\": 6}", v ? "," : "", names[v]);
        }
        add(&t, "], \"objective\": {\"sense\": \"%s\", \"expression\": \"0",
            next_rand(&seed) % 2 ? "max" : "min");
        int nt = 1 + (int)(next_rand(&seed) % 3);
        for (int k = 0; k < nt; k++)
            add(&t, " + %d*(%s)", (int)(next_rand(&seed) % 7) - 3,
                terms[next_rand(&seed) % nterms]);
        add(&t, "\"}, \"constraints\": [");
        int nrows = (int)(next_rand(&seed) % 3);
        for (int i = 0; i < nrows; i++) {
            add(&t, "%s{\"name\": \"r%d\", \"expression\": \"%d*%s", i ? "," : "", i,
                (int)(next_rand(&seed) % 5) - 2, names[next_rand(&seed) % 3]);
            int m = 1 + (int)(next_rand(&seed) % 2);
            for (int k = 0; k < m; k++)
                add(&t, " + %d*(%s)", (int)(next_rand(&seed) % 5) - 2,
                    terms[next_rand(&seed) % nterms]);
            add(&t, " %s %d\"}", next_rand(&seed) % 2 ? "<=" : ">=",
                (int)(next_rand(&seed) % 41) - 20);
        }
        for (int v = 0; v < 3; v++)
            if (implied[v]) {
                int sq = next_rand(&seed) % 2;
                add(&t, "%s{\"name\": \"bound_%s\", \"expression\": \"%s\"}",
                    t.buf[t.len - 1] == '[' ? "" : ",", names[v],
                    sq ? (v == 0 ? "x^2 <= 36.5" : v == 1 ? "y^2 <= 36.5" : "z^2 <= 36.5")
                       : (v == 0 ? "-6 <= x <= 6" : v == 1 ? "-6 <= y <= 6" : "-6 <= z <= 6"));
            }
        add(&t, "]}");
        model mo = load(t.buf);
        const fm_program *p = fm_nlp_program(mo.n);
        int ix = col_of(mo.n, "x"), iy = col_of(mo.n, "y"), iz = col_of(mo.n, "z");
        double sign = fm_program_sense(p) == FM_MAXIMIZE ? -1 : 1, best = HUGE_VAL;
        for (int a = -6; a <= 6; a++)
            for (int b = -6; b <= 6; b++)
                for (int c = -6; c <= 6; c++) {
                    double pt[3];
                    pt[ix] = a;
                    pt[iy] = b;
                    pt[iz] = c;
                    double f = sign * fm_nlp_eval_objective(mo.n, pt);
                    if (!isfinite(f) || f >= best)
                        continue;
                    int ok = 1;
                    for (size_t i = 0; i < fm_program_nrows(p) && ok; i++) {
                        double lo, hi, body = fm_nlp_eval_row(mo.n, i, pt);
                        fm_program_row_bounds(p, i, &lo, &hi);
                        ok = isfinite(body) && body <= hi + 1e-6 * fmax(1, fabs(hi))
                             && body >= lo - 1e-6 * fmax(1, fabs(lo));
                    }
                    if (ok)
                        best = f;
                }
        sv_result *r = solve(mo.n, 1, 0, NULL);
        if (best == HUGE_VAL) {
            if (sv_result_status(r) != SV_STATUS_INFEASIBLE)
                fail_msg("%s\nexpected infeasible, got %s: %s", t.buf,
                         sv_status_name(sv_result_status(r)), sv_result_message(r));
            infeasible++;
        } else {
            if (sv_result_status(r) != SV_STATUS_OPTIMAL
                || !close_to(sign * sv_result_objective(r), best))
                fail_msg("%s\nexpected %.12g, got %s %.12g: %s", t.buf, sign * best,
                         sv_status_name(sv_result_status(r)), sv_result_objective(r),
                         sv_result_message(r));
            solved++;
        }
        sv_result_free(r);
        unload(&mo);
    }
    /* both kinds occur, so both paths were compared */
    assert_true(solved > 20 && infeasible > 5);
}

/* ---- out of memory ------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
/* The address space in use, in bytes (/proc/self/statm), or 0. */
static size_t vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* 40,000 binaries, all but 12 fixed by rows (the implied bounds find it),
 * solved in children whose address space is capped a little above what
 * they use: each ends with a result or SV_ENOMEM, never a crash. */
static void test_out_of_memory(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    skip();
#else
    const char *j =
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 40000]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"], \"type\": \"binary\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{i in I: i <= 12} i*x[i]*x[13 - i]\"},"
        " \"constraints\": [{\"name\": \"off\", \"index\": \"{i in I: i > 12}\","
        "   \"expression\": \"x[i] + x[i]*x[i] = 0\"},"
        "  {\"name\": \"few\", \"expression\": \"sum{i in I: i <= 12} x[i] <= 5\"}]}";
    model mo = load(j);
    int sane = 0, enomem = 0;
    for (size_t extra = 1 << 16; extra <= (size_t)64 << 20; extra *= 2) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { vm_bytes() + extra, vm_bytes() + extra };
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(10);
            sv_options o;
            sv_options_default(&o);
            sv_code code = SV_OK;
            sv_result *r = sv_minlp_solve(mo.n, 1, &o, fm_clock_ms(), NULL, &code);
            if (!r)
                _exit(code == SV_ENOMEM ? 20 : 11);
            int ok = sv_result_status(r) == SV_STATUS_OPTIMAL;
            sv_result_free(r);
            _exit(ok ? 0 : 12);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st))
            fail_msg("the child died of signal %d with %zu bytes to spare",
                     WIFSIGNALED(st) ? WTERMSIG(st) : 0, extra);
        int rc = WEXITSTATUS(st);
        if (rc != 0 && rc != 20)
            fail_msg("the child exited %d with %zu bytes to spare", rc, extra);
        sane += rc == 0;
        enomem += rc == 20;
    }
    /* the sweep saw both sides of the limit */
    assert_true(sane > 0);
    assert_true(enomem > 0);
    unload(&mo);
#endif
}

/* ---- branch-and-bound (needs Ipopt) ---------------------------------------- */

/* Convex: min (x - 2.4)^2 + (y + 1.7)^2 + (z - 0.5)^2 + x*... over integers
 * without upper bounds (so no enumeration), z continuous. */
static void test_bnb_convex(void **state)
{
    (void)state;
    if (!sv_ipopt_available())
        skip();
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": -100},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": -100},"
        " {\"name\": \"z\", \"lower\": -10, \"upper\": 10}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": "
        "  \"(x - 2.4)^2 + 2*(y + 1.7)^2 + (z - 0.5)^2 + x*0.1\"},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x + y + z >= 1.2\"}]}");
    /* independent: loops over x, y in [-20, 20]; z = clamp to the row */
    double best = HUGE_VAL;
    for (int x = -20; x <= 20; x++)
        for (int y = -20; y <= 20; y++) {
            double z = fmax(0.5, 1.2 - x - y);
            if (z > 10)
                continue;
            double f = (x - 2.4) * (x - 2.4) + 2 * (y + 1.7) * (y + 1.7)
                       + (z - 0.5) * (z - 0.5) + x * 0.1;
            if (f < best)
                best = f;
        }
    sv_result *r = solve(mo.n, 0, 20, NULL);
    if (sv_result_status(r) == SV_STATUS_OPTIMAL)
        assert_true(sv_result_proven(r));
    else   /* if the convexity check cannot tell, an honest local optimum */
        assert_int_equal(sv_result_status(r), SV_STATUS_LOCAL_OPTIMAL);
    assert_true(fabs(sv_result_objective(r) - best) <= 1e-4 * (1 + fabs(best)));
    sv_result_free(r);
    unload(&mo);
}

/* Nonconvex: min x*y over x*y >= 7.5, integers without upper bounds that
 * no row implies: branch-and-bound, honestly local. */
static void test_bnb_nonconvex(void **state)
{
    (void)state;
    if (!sv_ipopt_available())
        skip();
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 1},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 1}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x*y + 0.01*x\"},"
        " \"constraints\": [{\"name\": \"hyp\", \"expression\": \"x*y >= 7.5\"}]}");
    sv_result *r = solve(mo.n, 0, 20, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_LOCAL_OPTIMAL);
    assert_false(sv_result_proven(r));
    assert_string_equal(sv_result_backend(r), "branch-and-bound + ipopt");
    const double *v = sv_result_values(r);
    assert_true(v[0] * v[1] >= 7.5);
    /* the optimum is 1*8 + 0.01; a local answer is no better than that */
    assert_true(sv_result_objective(r) >= 8.01 - 1e-9);
    assert_true(sv_result_objective(r) <= 12);
    sv_result_free(r);
    unload(&mo);
}

/* Integers declared without upper bounds, bounded by the rows (a budget, a
 * disc): the implied bounds make the domain finite, and the answer proven. */
static void test_implied_bounds(void **state)
{
    (void)state;
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x*y - 2*x\"},"
        " \"constraints\": [{\"name\": \"budget\", \"expression\": \"3*x + 4*y <= 100\"}]}");
    double best = -HUGE_VAL;
    for (int x = 0; x <= 100; x++)
        for (int y = 0; y <= 100; y++)
            if (3 * x + 4 * y <= 100 && x * y - 2 * x > best)
                best = x * y - 2 * x;
    sv_result *r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(sv_result_proven(r));
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
    mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": null},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": null}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x*y + x\"},"
        " \"constraints\": [{\"name\": \"disc\", \"expression\": \"x^2 + sqrt(y^2 + 1)^2 <= 51.5\"}]}");
    best = -HUGE_VAL;
    for (int x = -10; x <= 10; x++)
        for (int y = -10; y <= 10; y++)
            if (x * x + y * y + 1 <= 51.5 && x * y + x > best)
                best = x * y + x;
    r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
    /* a product bounded above with factors >= 1 bounds each factor */
    mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 1},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x + 2.5*y - 0.1*x*y\"},"
        " \"constraints\": [{\"name\": \"area\", \"expression\": \"x*y <= 50\"}]}");
    best = -HUGE_VAL;
    for (int x = 1; x <= 50; x++)
        for (int y = 1; y <= 50; y++)
            if (x * y <= 50 && x + 2.5 * y - 0.1 * x * y > best)
                best = x + 2.5 * y - 0.1 * x * y;
    r = solve(mo.n, 1, 0, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    assert_true(close_to(sv_result_objective(r), best));
    sv_result_free(r);
    unload(&mo);
}

/* Few integer points and a continuous variable in a nonconvex model (n*s):
 * every integer point is solved for s by Ipopt (each subproblem is convex
 * in s, so the best is the global optimum, found by the loop over n with
 * s = 100/n), reported local_optimal as nothing proves it. */
static void test_hybrid(void **state)
{
    (void)state;
    if (!sv_ipopt_available())
        skip();
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"n\", \"type\": \"integer\", \"lower\": 1, \"upper\": 30},"
        " {\"name\": \"s\", \"lower\": 0, \"upper\": 100}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"40*n + 0.7*s^2*n + 3*s\"},"
        " \"constraints\": [{\"name\": \"out\", \"expression\": \"n*s >= 100\"}]}");
    double best = HUGE_VAL;
    for (int n = 1; n <= 30; n++) {
        double sv = 100.0 / n;
        best = fmin(best, 40 * n + 0.7 * sv * sv * n + 3 * sv);
    }
    sv_result *r = solve(mo.n, 0, 30, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_LOCAL_OPTIMAL);
    assert_string_equal(sv_result_backend(r), "integer search + ipopt");
    if (fabs(sv_result_objective(r) - best) > 1e-5 * best)
        fail_msg("got %.9g, want %.9g", sv_result_objective(r), best);
    const double *v = sv_result_values(r);
    assert_true(v[0] == nearbyint(v[0]) && v[0] * v[1] >= 100 - 1e-4);
    sv_result_free(r);
    /* --solver enum refuses the continuous column */
    r = solve(mo.n, 1, 30, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_UNSUPPORTED);
    assert_non_null(strstr(sv_result_message(r), "'s' is continuous"));
    sv_result_free(r);
    unload(&mo);
}

/* No integer point in a small disc that meets x + y >= 1: infeasible. And
 * a row no point of the bounds can meet: closed by intervals at the root,
 * a proof even without Ipopt's help. */
static void test_bnb_infeasible(void **state)
{
    (void)state;
    if (!sv_ipopt_available())
        skip();
    model mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\", \"lower\": 0},"
        " {\"name\": \"y\", \"type\": \"integer\", \"lower\": 0}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x^2 + 3*y^2\"},"
        " \"constraints\": [{\"name\": \"disc\", \"expression\": \"x^2 + y^2 <= 0.5\"},"
        "                   {\"name\": \"lin\", \"expression\": \"x + y >= 1\"}]}");
    sv_result *r = solve(mo.n, 0, 20, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_INFEASIBLE);
    assert_false(sv_result_has_solution(r));
    sv_result_free(r);
    unload(&mo);
    mo = load(
        "{\"format\": 1, \"variables\": ["
        " {\"name\": \"x\", \"type\": \"integer\"},"
        " {\"name\": \"y\", \"type\": \"integer\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"x*y\"},"
        " \"constraints\": [{\"name\": \"neg\", \"expression\": \"x^2 + exp(y) <= -1\"}]}");
    r = solve(mo.n, 0, 20, NULL);
    assert_int_equal(sv_result_status(r), SV_STATUS_INFEASIBLE);
    assert_non_null(strstr(sv_result_message(r), "constraint"));
    sv_result_free(r);
    unload(&mo);
}

/* Integers summing to 10.5: every relaxation is feasible until all are
 * fixed, so the tree is endless; the time limit ends it, and the cancel
 * flag at once. */
static const char *endless =
    "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 12]}],"
    " \"variables\": [{\"name\": \"x\", \"index\": [\"I\"], \"type\": \"integer\","
    "   \"lower\": -1000000, \"upper\": 1000000}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{i in I} (x[i] - 0.3*i)^2\"},"
    " \"constraints\": [{\"name\": \"s\", \"expression\": \"sum{i in I} x[i] = 10.5\"}]}";

static void test_bnb_time_limit(void **state)
{
    (void)state;
    if (!sv_ipopt_available())
        skip();
    model mo = load(endless);
    double t0 = fm_clock_ms();
    sv_result *r = solve(mo.n, 0, 0.5, NULL);
    double took = fm_clock_ms() - t0;
    if (took > 800)
        fail_msg("a time limit of 0.5 s took %.0f ms", took);
    assert_int_equal(sv_result_status(r), SV_STATUS_TIME_LIMIT);
    assert_non_null(strstr(sv_result_message(r), "time limit"));
    sv_result_free(r);
    volatile int stop = 1;
    r = solve(mo.n, 0, 0, &stop);
    assert_int_equal(sv_result_status(r), SV_STATUS_INTERRUPTED);
    assert_false(sv_result_has_solution(r));
    sv_result_free(r);
    unload(&mo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_product),
        cmocka_unit_test(test_quadratic_knapsack),
        cmocka_unit_test(test_integer_box),
        cmocka_unit_test(test_nan_and_division_by_zero),
        cmocka_unit_test(test_infeasible),
        cmocka_unit_test(test_empty_integer_bounds),
        cmocka_unit_test(test_huge_domain),
        cmocka_unit_test(test_enum_refusals),
        cmocka_unit_test(test_fixed_continuous),
        cmocka_unit_test(test_implied_bounds),
        cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_time_limit_with_incumbent),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_run_enum),
        cmocka_unit_test(test_interval_soundness),
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_bnb_convex),
        cmocka_unit_test(test_bnb_nonconvex),
        cmocka_unit_test(test_bnb_infeasible),
        cmocka_unit_test(test_hybrid),
        cmocka_unit_test(test_bnb_time_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
