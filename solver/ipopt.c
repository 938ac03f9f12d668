/* solver/ipopt.c — the Ipopt backend: a local solve of a continuous
 * nonlinear program (sv_ipopt_solve, solver/internal.h).
 *
 * Loading: Ipopt, MUMPS and the Fortran runtime cost a process tens of
 * milliseconds in the dynamic loader, and `optagent solve` on an LP never
 * needs them. So nothing links libipopt: the first call dlopen()s
 * libipopt.so.1 and resolves the seven functions of its C interface
 * (<coin/IpStdCInterface.h>, used for the types only), as agent/llm/curl_dl.c
 * does for libcurl. A missing library gives status unsupported and a
 * diagnostic naming it. MUMPS is not reentrant: one solve at a time
 * (solve_lock).
 *
 * The problem Ipopt sees: the columns with their bounds (from the caller, or
 * the nlp's own; integrality ignored), tightened where a function needs it
 * (log(x), log10(x), 1/x with x >= 0: x >= 1e-10; sqrt(x): x >= 0), the rows
 * with their bounds, the objective (negated for a maximisation), and exact
 * derivatives from formulate/deriv.c, plus one linear row per affine
 * argument of log, sqrt or a fractional power keeping it in its domain. A
 * callback returns false on a value that is not finite, so Ipopt shortens
 * its step instead of failing. Before Ipopt, GLPK solves the linear rows,
 * those domain rows and the bounds as a feasibility LP: infeasible there is
 * infeasible, proven.
 * Ipopt prints nothing (print_level 0, no banner); the result's log gets one
 * line per start.
 *
 * Starting points, deterministic: 0 and 1 projected onto the bounds, the
 * midpoint of the box (a finite bound + 1 when the other is infinite), then
 * pseudo-random points of a fixed sequence. A convex model stops at the
 * first start that converges. Every returned point is checked against the
 * bounds and rows (1e-6, relative) before it counts; the best feasible
 * converged point wins, and the result says how many starts reached its
 * value (1e-6, relative). Statuses: OPTIMAL (proven) only for a convex
 * model, else LOCAL_OPTIMAL; FEASIBLE when a limit stopped a start at a
 * feasible point that did not converge; UNBOUNDED when a feasible point
 * passes 1e20; INFEASIBLE, unless the LP proved it, means only that no
 * start found a feasible point ("locally infeasible").
 */
#include <coin/IpStdCInterface.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/internal.h"

#define IPOPT_SONAME "libipopt.so.1"
#define IPOPT_NAME "ipopt 3.11"
#define FEAS_TOL 1e-6         /* rows and bounds, relative */
#define AGREE_TOL 1e-6        /* starts reaching the same value, relative */
#define UNBOUNDED_AT 1e20     /* a feasible objective beyond: unbounded */
#define DOMAIN_EPS 1e-10      /* x >= this where log(x) or 1/x needs x > 0 */
#define BIG_BOUND 1e20        /* Ipopt's infinity is 1e19 */
#define MAX_ITER 1000

static struct {
    IpoptProblem (*create)(Index, Number *, Number *, Index, Number *, Number *, Index,
                           Index, Index, Eval_F_CB, Eval_G_CB, Eval_Grad_F_CB,
                           Eval_Jac_G_CB, Eval_H_CB);
    void (*free_problem)(IpoptProblem);
    Bool (*str_option)(IpoptProblem, char *, char *);
    Bool (*num_option)(IpoptProblem, char *, Number);
    Bool (*int_option)(IpoptProblem, char *, Int);
    Bool (*set_intermediate)(IpoptProblem, Intermediate_CB);
    enum ApplicationReturnStatus (*solve)(IpoptProblem, Number *, Number *, Number *,
                                          Number *, Number *, Number *, UserDataPtr);
} ip;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t solve_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;
static char load_error[300];

static void load(void)
{
    void *h = dlopen(IPOPT_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error, "%s", e ? e : "dlopen failed");
        return;
    }
    struct { void **slot; const char *name; } syms[] = {
        { (void **)&ip.create, "CreateIpoptProblem" },
        { (void **)&ip.free_problem, "FreeIpoptProblem" },
        { (void **)&ip.str_option, "AddIpoptStrOption" },
        { (void **)&ip.num_option, "AddIpoptNumOption" },
        { (void **)&ip.int_option, "AddIpoptIntOption" },
        { (void **)&ip.set_intermediate, "SetIntermediateCallback" },
        { (void **)&ip.solve, "IpoptSolve" },
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(load_error, sizeof load_error, "%s has no %s", IPOPT_SONAME,
                     syms[i].name);
            dlclose(h);
            return;
        }
    }
    loaded = 1;   /* h stays open for the process */
}

int sv_ipopt_available(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

/* ---- domain guards ----
 *
 * log, log10, sqrt and fractional powers of an affine expression that is
 * not a single column (bounds handle those) get a linear row
 *     affine(x) >= 1e-10 (log) or >= 0 (sqrt, powers)
 * appended to the problem Ipopt sees, so that its restoration phase heads
 * back into the domain and a model whose domain is empty is reported
 * infeasible instead of wandering. */
#define MAX_GUARD_TERMS 1000000

typedef struct {
    size_t n, ncap;
    size_t *start;            /* n + 1 offsets into col/coef */
    double *lo;
    int *col;
    double *coef;
    size_t len, lcap;
    int full;                 /* out of memory or over the cap: no more */
} guards;

/* Appends scale * e to g when e is affine; -1 when it is not. */
static int affine_terms(const fm_expr *e, double scale, guards *g, double *c0)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t n = fm_expr_nkids(e);
    switch (k) {
    case FM_EX_CONST: *c0 += scale * fm_expr_value(e); return 0;
    case FM_EX_COL:
        if (g->len == g->lcap) {
            size_t cap = g->lcap ? g->lcap * 2 : 64;
            if (cap > MAX_GUARD_TERMS) return -1;
            int *c = realloc(g->col, cap * sizeof *c);
            if (c) g->col = c;
            double *f = c ? realloc(g->coef, cap * sizeof *f) : NULL;
            if (f) g->coef = f;
            if (!c || !f) { g->full = 1; return -1; }
            g->lcap = cap;
        }
        g->col[g->len] = fm_expr_col(e);
        g->coef[g->len++] = scale;
        return 0;
    case FM_EX_ADD:
        for (size_t i = 0; i < n; i++)
            if (affine_terms(fm_expr_kid(e, i), scale, g, c0) != 0) return -1;
        return 0;
    case FM_EX_NEG: return affine_terms(fm_expr_kid(e, 0), -scale, g, c0);
    case FM_EX_MUL: {
        const fm_expr *var = NULL;
        double f = 1;
        for (size_t i = 0; i < n; i++) {
            const fm_expr *t = fm_expr_kid(e, i);
            if (fm_expr_kind_of(t) == FM_EX_CONST) f *= fm_expr_value(t);
            else if (var) return -1;
            else var = t;
        }
        if (!var) { *c0 += scale * f; return 0; }
        return affine_terms(var, scale * f, g, c0);
    }
    case FM_EX_DIV: {
        const fm_expr *d = fm_expr_kid(e, 1);
        if (fm_expr_kind_of(d) != FM_EX_CONST || fm_expr_value(d) == 0) return -1;
        return affine_terms(fm_expr_kid(e, 0), scale / fm_expr_value(d), g, c0);
    }
    default: return -1;
    }
}

/* Adds a guard for every log/sqrt/fractional power of an affine argument
 * in e. Recursion is bounded by the tree depth. */
static void find_guards(const fm_expr *e, guards *g)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    double need = NAN;
    if (k == FM_EX_LOG || k == FM_EX_LOG10) need = DOMAIN_EPS;
    else if (k == FM_EX_SQRT) need = 0;
    else if (k == FM_EX_POW && fm_expr_kind_of(fm_expr_kid(e, 1)) == FM_EX_CONST) {
        double p = fm_expr_value(fm_expr_kid(e, 1));
        if (p != floor(p)) need = p < 0 ? DOMAIN_EPS : 0;
    }
    const fm_expr *a = fm_expr_nkids(e) ? fm_expr_kid(e, 0) : NULL;
    if (!isnan(need) && !g->full && fm_expr_kind_of(a) != FM_EX_COL) {
        size_t mark = g->len;
        double c0 = 0;
        if (affine_terms(a, 1, g, &c0) == 0 && g->len > mark) {
            if (g->n + 1 >= g->ncap) {
                size_t cap = g->ncap ? g->ncap * 2 : 16;
                size_t *st = realloc(g->start, cap * sizeof *st);
                if (st) g->start = st;
                double *lo = st ? realloc(g->lo, cap * sizeof *lo) : NULL;
                if (lo) g->lo = lo;
                if (!st || !lo) g->full = 1;
                else g->ncap = cap;
            }
            if (!g->full) {
                g->start[g->n] = mark;
                g->lo[g->n++] = need - c0;
                g->start[g->n] = g->len;
            } else {
                g->len = mark;
            }
        } else {
            g->len = mark;
        }
    }
    for (size_t i = 0; i < fm_expr_nkids(e); i++) find_guards(fm_expr_kid(e, i), g);
}

static void guards_free(guards *g)
{
    free(g->start); free(g->lo); free(g->col); free(g->coef);
}

/* The linear rows of n (those without a tree) and the guards over the
 * bounds lo/hi, as a program with a zero objective, solved by GLPK: when it
 * is infeasible the model is, provably (a local solver would only wander).
 * 1 proven infeasible, 0 not (or not known). */
static int linear_part_infeasible(const fm_nlp *n, const double *lo, const double *hi,
                                  const guards *g, const sv_options *o, double start_ms)
{
    const fm_program *p = fm_nlp_program(n);
    size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p), lin = 0;
    for (size_t i = 0; i < nr; i++) lin += !fm_nlp_row_tree(n, i);
    if (lin + g->n == 0) return 0;
    fm_program *q = fm_program_new();
    int ok = q != NULL;
    for (size_t j = 0; j < nc && ok; j++)
        ok = fm_program_add_col(q, fm_program_col_name(p, j), FM_COL_CONTINUOUS,
                                lo[j] <= -BIG_BOUND ? -HUGE_VAL : lo[j],
                                hi[j] >= BIG_BOUND ? HUGE_VAL : hi[j]) >= 0;
    for (size_t i = 0; i < nr && ok; i++) {
        if (fm_nlp_row_tree(n, i)) continue;
        const int *cols;
        const double *coefs;
        size_t k = fm_program_row(p, i, &cols, &coefs);
        double rlo, rhi;
        fm_program_row_bounds(p, i, &rlo, &rhi);
        ok = fm_program_add_row(q, fm_program_row_name(p, i), fm_program_row_element(p, i),
                                rlo, rhi, k, cols, coefs) >= 0;
    }
    for (size_t k = 0; k < g->n && ok; k++)
        ok = fm_program_add_row(q, "domain", "", g->lo[k], HUGE_VAL, g->start[k + 1] - g->start[k],
                                g->col + g->start[k], g->coef + g->start[k]) >= 0;
    int infeasible = 0;
    if (ok && fm_program_set_objective(q, FM_MINIMIZE, "zero", 0, 0, NULL, NULL) == 0) {
        sv_options lo_opt = *o;
        lo_opt.solver = SV_SOLVER_GLPK;
        if (o->time_limit_s > 0) {
            lo_opt.time_limit_s = o->time_limit_s - (fm_clock_ms() - start_ms) / 1000;
            if (lo_opt.time_limit_s <= 0) { fm_program_free(q); return 0; }
        }
        sv_code code;
        sv_result *r = sv_solve(q, &lo_opt, NULL, &code);
        infeasible = r && sv_result_status(r) == SV_STATUS_INFEASIBLE;
        sv_result_free(r);
    }
    fm_program_free(q);
    return infeasible;
}

/* ---- the callbacks ---- */

typedef struct {
    fm_nlp_diff *diff;
    size_t ncols, nrows;
    double sign;              /* -1 for a maximisation */
    double deadline_ms;       /* <= 0: none */
    volatile int *cancel;
    int stopped;              /* 1 time limit, 2 cancelled */
    int iterations;           /* of the current start */
    int unbounded;            /* an iterate was feasible beyond UNBOUNDED_AT */
    int box_bounded;          /* every column has finite bounds: a large
                                 objective is large, not unbounded */
    double eval_ms;           /* time in the derivative callbacks */
    int *jrow, *jcol, *hrow, *hcol;
    const guards *guard;      /* rows nrows.. of Ipopt's problem */
    size_t jac_model;         /* Jacobian entries of the model's rows */
} ip_ctx;

static Bool cb_f(Index n, Number *x, Bool new_x, Number *obj, UserDataPtr u)
{
    (void)n; (void)new_x;
    ip_ctx *c = u;
    double f, t0 = fm_clock_ms();
    int bad = fm_nlp_diff_objective(c->diff, x, &f) != 0;
    c->eval_ms += fm_clock_ms() - t0;
    if (bad) return FALSE;
    *obj = c->sign * f;
    return TRUE;
}

static Bool cb_grad(Index n, Number *x, Bool new_x, Number *grad, UserDataPtr u)
{
    (void)new_x;
    ip_ctx *c = u;
    double t0 = fm_clock_ms();
    int bad = fm_nlp_diff_gradient(c->diff, x, grad) != 0;
    c->eval_ms += fm_clock_ms() - t0;
    if (bad) return FALSE;
    if (c->sign < 0)
        for (Index j = 0; j < n; j++) grad[j] = -grad[j];
    return TRUE;
}

static Bool cb_g(Index n, Number *x, Bool new_x, Index m, Number *g, UserDataPtr u)
{
    (void)n; (void)new_x; (void)m;
    ip_ctx *c = u;
    double t0 = fm_clock_ms();
    int ok = fm_nlp_diff_rows(c->diff, x, g) == 0;
    const guards *gd = c->guard;
    for (size_t k = 0; k < gd->n; k++) {
        double v = 0;
        for (size_t t = gd->start[k]; t < gd->start[k + 1]; t++) v += gd->coef[t] * x[gd->col[t]];
        g[c->nrows + k] = v;
    }
    c->eval_ms += fm_clock_ms() - t0;
    return ok;
}

static Bool cb_jac(Index n, Number *x, Bool new_x, Index m, Index nele, Index *irow,
                   Index *jcol, Number *values, UserDataPtr u)
{
    (void)n; (void)new_x; (void)m;
    ip_ctx *c = u;
    if (!values) {
        memcpy(irow, c->jrow, (size_t)nele * sizeof *irow);
        memcpy(jcol, c->jcol, (size_t)nele * sizeof *jcol);
        return TRUE;
    }
    double t0 = fm_clock_ms();
    int ok = fm_nlp_diff_jacobian(c->diff, x, values) == 0;
    if (c->guard->len)
        memcpy(values + c->jac_model, c->guard->coef, c->guard->len * sizeof *values);
    c->eval_ms += fm_clock_ms() - t0;
    return ok;
}

static Bool cb_hess(Index n, Number *x, Bool new_x, Number obj_factor, Index m,
                    Number *lambda, Bool new_lambda, Index nele, Index *irow,
                    Index *jcol, Number *values, UserDataPtr u)
{
    (void)n; (void)new_x; (void)m; (void)new_lambda;
    ip_ctx *c = u;
    if (!values) {
        memcpy(irow, c->hrow, (size_t)nele * sizeof *irow);
        memcpy(jcol, c->hcol, (size_t)nele * sizeof *jcol);
        return TRUE;
    }
    double t0 = fm_clock_ms();
    int ok = fm_nlp_diff_hessian(c->diff, x, c->sign * obj_factor, lambda, values) == 0;
    c->eval_ms += fm_clock_ms() - t0;
    return ok;
}

static Bool cb_iter(Index alg_mod, Index iter, Number obj, Number inf_pr, Number inf_du,
                    Number mu, Number d_norm, Number reg, Number alpha_du,
                    Number alpha_pr, Index ls_trials, UserDataPtr u)
{
    (void)alg_mod; (void)inf_du; (void)mu;
    (void)d_norm; (void)reg; (void)alpha_du; (void)alpha_pr; (void)ls_trials;
    ip_ctx *c = u;
    c->iterations = iter;
    if (!c->box_bounded && alg_mod == RegularMode && obj < -UNBOUNDED_AT && inf_pr <= FEAS_TOL) {
        c->unbounded = 1;   /* a feasible iterate with the objective past 1e20 */
        return FALSE;
    }
    if (c->cancel && *c->cancel) { c->stopped = 2; return FALSE; }
    if (c->deadline_ms > 0 && fm_clock_ms() >= c->deadline_ms) { c->stopped = 1; return FALSE; }
    return TRUE;
}

/* ---- bounds and starting points ---- */

/* Tightens the bounds of a column that a function needs positive or
 * nonnegative: log(x), log10(x), x^p with p < 0 and 1/x (when x >= 0
 * already) get x >= DOMAIN_EPS; sqrt(x) and x^p with p not an integer get
 * x >= 0. Counts the bounds moved. Recursion is bounded by the tree depth. */
static void domain_bounds(const fm_expr *e, double *lo, double *hi, int *moved)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t nk = fm_expr_nkids(e);
    const fm_expr *a = nk ? fm_expr_kid(e, 0) : NULL;
    int col = -1;
    double need = -HUGE_VAL;   /* the lower bound the argument needs */
    if ((k == FM_EX_LOG || k == FM_EX_LOG10) && fm_expr_kind_of(a) == FM_EX_COL) {
        col = fm_expr_col(a); need = DOMAIN_EPS;
    } else if (k == FM_EX_SQRT && fm_expr_kind_of(a) == FM_EX_COL) {
        col = fm_expr_col(a); need = 0;
    } else if (k == FM_EX_POW && fm_expr_kind_of(a) == FM_EX_COL
               && fm_expr_kind_of(fm_expr_kid(e, 1)) == FM_EX_CONST) {
        double p = fm_expr_value(fm_expr_kid(e, 1));
        col = fm_expr_col(a);
        need = p < 0 ? (p == floor(p) ? -HUGE_VAL : DOMAIN_EPS) : p != floor(p) ? 0 : -HUGE_VAL;
        if (p < 0 && p == floor(p) && lo[col] >= 0) need = DOMAIN_EPS;
    } else if (k == FM_EX_DIV && fm_expr_kind_of(fm_expr_kid(e, 1)) == FM_EX_COL) {
        int b = fm_expr_col(fm_expr_kid(e, 1));
        if (lo[b] >= 0 && lo[b] < DOMAIN_EPS) { lo[b] = DOMAIN_EPS; (*moved)++; }
        else if (hi[b] <= 0 && hi[b] > -DOMAIN_EPS) { hi[b] = -DOMAIN_EPS; (*moved)++; }
    }
    if (col >= 0 && lo[col] < need) { lo[col] = need; (*moved)++; }
    for (size_t i = 0; i < nk; i++) domain_bounds(fm_expr_kid(e, i), lo, hi, moved);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double next_uniform(unsigned long long *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Start k (0-based) into x. */
static void start_point(int k, size_t n, const double *lo, const double *hi, double *x)
{
    unsigned long long s = 0x9E3779B97F4A7C15ULL * (unsigned long long)(k + 1);
    for (size_t j = 0; j < n; j++) {
        int flo = lo[j] > -BIG_BOUND, fhi = hi[j] < BIG_BOUND;
        double u = next_uniform(&s);
        if (k == 0) x[j] = clamp(0, lo[j], hi[j]);
        else if (k == 1) x[j] = clamp(1, lo[j], hi[j]);
        else if (k == 2) x[j] = flo && fhi ? (lo[j] + hi[j]) / 2 : flo ? lo[j] + 1 : fhi ? hi[j] - 1 : 0;
        else if (flo && fhi) x[j] = lo[j] + u * (hi[j] - lo[j]);
        else if (flo) x[j] = lo[j] + 10 * u * u + u;
        else if (fhi) x[j] = hi[j] - 10 * u * u - u;
        else x[j] = 20 * u - 10;
    }
}

/* Nonzero when x satisfies the bounds and rows of n (within FEAS_TOL). */
static int feasible(const fm_nlp *n, const double *lo, const double *hi, const double *x,
                    double *act)
{
    const fm_program *p = fm_nlp_program(n);
    for (size_t j = 0; j < fm_program_ncols(p); j++) {
        if (!isfinite(x[j])) return 0;
        if (x[j] < lo[j] - FEAS_TOL * (1 + fabs(lo[j]))) return 0;
        if (x[j] > hi[j] + FEAS_TOL * (1 + fabs(hi[j]))) return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        double rlo, rhi, g = fm_nlp_eval_row(n, i, x);
        fm_program_row_bounds(p, i, &rlo, &rhi);
        act[i] = g;
        if (!isfinite(g) || g < rlo - FEAS_TOL * (1 + fabs(rlo))
            || g > rhi + FEAS_TOL * (1 + fabs(rhi)))
            ok = 0;
    }
    return ok;
}

static const char *ipopt_status_text(enum ApplicationReturnStatus s)
{
    switch (s) {
    case Solve_Succeeded: return "converged";
    case Solved_To_Acceptable_Level: return "converged to an acceptable level";
    case Infeasible_Problem_Detected: return "converged to a point of local infeasibility";
    case Search_Direction_Becomes_Too_Small: return "search direction too small";
    case Diverging_Iterates: return "iterates diverging";
    case User_Requested_Stop: return "stopped";
    case Feasible_Point_Found: return "feasible point found";
    case Maximum_Iterations_Exceeded: return "iteration limit";
    case Restoration_Failed: return "restoration phase failed";
    case Error_In_Step_Computation: return "error in step computation";
    case Maximum_CpuTime_Exceeded: return "time limit";
    case Not_Enough_Degrees_Of_Freedom: return "too few degrees of freedom (more equalities than variables)";
    case Invalid_Problem_Definition: return "invalid problem definition";
    case Invalid_Option: return "invalid option";
    case Invalid_Number_Detected: return "a function value is not finite";
    case Insufficient_Memory: return "out of memory";
    case Unrecoverable_Exception: return "unrecoverable exception";
    case NonIpopt_Exception_Thrown: return "exception in a callback";
    default: return "internal error";
    }
}

static int converged(enum ApplicationReturnStatus s)
{
    return s == Solve_Succeeded || s == Solved_To_Acceptable_Level;
}

/* ---- the solve ---- */

/* The log: one line per start, capped at 64 KiB. */
static void log_add(char **log, size_t *len, const char *line)
{
    size_t n = strlen(line);
    if (*len + n + 2 > 64 * 1024) return;
    char *b = realloc(*log, *len + n + 2);
    if (!b) return;
    memcpy(b + *len, line, n);
    b[*len + n] = '\n';
    b[*len + n + 1] = 0;
    *log = b;
    *len += n + 1;
}

/* What one solve allocates; freed by bufs_free. */
typedef struct {
    double *lo, *hi, *glo, *ghi, *x, *best, *act, *best_act, *mult_g, *local_vals;
    double *grad, *jac, *hess, *ones;   /* the check of a starting point */
} bufs;

static void bufs_free(bufs *b, ip_ctx *c)
{
    free(b->lo); free(b->hi); free(b->glo); free(b->ghi); free(b->x); free(b->best);
    free(b->act); free(b->best_act); free(b->mult_g); free(b->local_vals);
    free(b->grad); free(b->jac); free(b->hess); free(b->ones);
    free(c->jrow); free(c->jcol); free(c->hrow); free(c->hcol);
}

static int derivatives_defined(fm_nlp_diff *d, const bufs *b, const double *x)
{
    double f;
    return fm_nlp_diff_objective(d, x, &f) == 0 && fm_nlp_diff_gradient(d, x, b->grad) == 0
           && fm_nlp_diff_rows(d, x, b->act) == 0 && fm_nlp_diff_jacobian(d, x, b->jac) == 0
           && fm_nlp_diff_hessian(d, x, 1, b->ones, b->hess) == 0;
}

/* Ipopt stops at once when a derivative is not finite at the start (sqrt
 * or a power at 0 of a free column): moves the start off such points, up to
 * 8 deterministic steps growing tenfold, staying in the bounds. 0 when the
 * derivatives are still not defined there. */
static int nudge_into_domain(fm_nlp_diff *d, bufs *b, size_t nc, int k)
{
    unsigned long long s = 0xD1B54A32D192ED03ULL * (unsigned long long)(k + 7);
    double step = 1e-4;
    for (int tries = 0; tries < 8 && !derivatives_defined(d, b, b->x); tries++, step *= 10) {
        for (size_t j = 0; j < nc; j++) {
            double u = 0.5 + 0.5 * next_uniform(&s);
            double v = b->x[j] + step * (1 + fabs(b->x[j])) * u;
            if (v > b->hi[j]) v = b->x[j] - step * (1 + fabs(b->x[j])) * u;
            b->x[j] = clamp(v, b->lo[j], b->hi[j]);
        }
    }
    return derivatives_defined(d, b, b->x);
}

/* Nonzero when the log says bounds were tightened for a domain. */
static int moved_bounds(const char *log)
{
    return log && strstr(log, "bounds tightened") != NULL;
}

/* Column bounds for Ipopt: the caller's or the nlp's, tightened where a
 * function needs it; -1 (status set) when a column's domain is empty. */
static int prepare_bounds(const fm_nlp *n, const double *lo_in, const double *hi_in,
                          bufs *b, sv_result *r, char **log, size_t *loglen)
{
    const fm_program *p = fm_nlp_program(n);
    size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
    for (size_t j = 0; j < nc; j++) {
        if (lo_in && hi_in) { b->lo[j] = lo_in[j]; b->hi[j] = hi_in[j]; }
        else sv_col_bounds(p, j, &b->lo[j], &b->hi[j]);
    }
    int moved = 0;
    for (size_t i = 0; i <= nr; i++) {
        const fm_expr *e = i < nr ? fm_nlp_row_tree(n, i) : fm_nlp_objective_tree(n);
        if (e) domain_bounds(e, b->lo, b->hi, &moved);
    }
    for (size_t j = 0; j < nc; j++) {
        if (b->lo[j] > b->hi[j]) {
            sv_result_set(r, SV_STATUS_INFEASIBLE, "the bounds of %s leave it no value "
                          "where the functions of it are defined (log, sqrt, division)",
                          fm_program_col_name(p, j));
            return -1;
        }
        if (b->lo[j] < -BIG_BOUND) b->lo[j] = -BIG_BOUND;
        if (b->hi[j] > BIG_BOUND) b->hi[j] = BIG_BOUND;
    }
    if (moved) {
        char line[120];
        snprintf(line, sizeof line, "domain: %d bounds tightened so that log, sqrt, "
                 "division and powers are defined", moved);
        log_add(log, loglen, line);
    }
    for (size_t i = 0; i < nr; i++) {
        fm_program_row_bounds(p, i, &b->glo[i], &b->ghi[i]);
        if (b->glo[i] < -BIG_BOUND) b->glo[i] = -BIG_BOUND;
        if (b->ghi[i] > BIG_BOUND) b->ghi[i] = BIG_BOUND;
    }
    return 0;
}

sv_result *sv_ipopt_solve(const fm_nlp *n, const double *lo_in, const double *hi_in,
                          int convex, const sv_options *o, double start_ms,
                          fm_diags *diags, sv_code *code)
{
    *code = SV_OK;
    sv_result *r = sv_result_new();
    if (!r) { *code = SV_ENOMEM; return NULL; }
    r->backend = IPOPT_NAME;
    const fm_program *p = fm_nlp_program(n);
    size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
    fm_nlp_diff *diff = NULL;
    IpoptProblem prob = NULL;
    ip_ctx ctx = {0};
    bufs b = {0};
    guards gd = {0};
    char *log = NULL;
    size_t loglen = 0;
    char line[400];
    int oom = 0;
    int starts = o->starts < 1 ? 1 : o->starts;

    if (!sv_ipopt_available()) {
        if (diags)
            fm_diags_add(diags, FM_SEV_WARNING, "", "", "install coinor-libipopt1v5",
                         "the nonlinear solver Ipopt could not be loaded: %s", load_error);
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "the nonlinear solver Ipopt is not "
                      "available (%s)", load_error);
        goto done;
    }
    fm_code fc;
    diff = fm_nlp_diff_new(n, &fc);
    if (!diff) {
        if (fc == FM_ENOMEM) { oom = 1; goto done; }
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "the Hessian of this model has more than "
                      "5 million entries: too large for the nonlinear solver");
        goto done;
    }
    const char *step = fm_nlp_diff_discontinuous(diff);
    if (step) {
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "Ipopt needs smooth functions, and %s of a "
                      "variable is a step function (model it with an integer variable)", step);
        goto done;
    }
    for (size_t i = 0; i <= nr; i++) {
        const fm_expr *e = i < nr ? fm_nlp_row_tree(n, i) : fm_nlp_objective_tree(n);
        if (e) find_guards(e, &gd);
    }
    size_t jn = fm_nlp_diff_jac_nnz(diff), hn = fm_nlp_diff_hess_nnz(diff);
    size_t mg = nr + gd.n, jng = jn + gd.len;   /* with the guards */
    if (nc > 0x7fffffff || mg > 0x7fffffff || jng > 0x7fffffff || hn > 0x7fffffff) {
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "the model is too large for Ipopt");
        goto done;
    }
    size_t ncs = nc ? nc : 1, nrs = nr ? nr : 1, mgs = mg ? mg : 1;
    b.lo = malloc(ncs * sizeof *b.lo); b.hi = malloc(ncs * sizeof *b.hi);
    b.x = malloc(ncs * sizeof *b.x); b.best = malloc(ncs * sizeof *b.best);
    b.glo = malloc(mgs * sizeof *b.glo); b.ghi = malloc(mgs * sizeof *b.ghi);
    b.act = malloc(nrs * sizeof *b.act); b.best_act = malloc(nrs * sizeof *b.best_act);
    b.mult_g = malloc(mgs * sizeof *b.mult_g);
    b.local_vals = malloc((size_t)starts * sizeof *b.local_vals);
    b.grad = malloc(ncs * sizeof *b.grad);
    b.jac = malloc((jn ? jn : 1) * sizeof *b.jac);
    b.hess = malloc((hn ? hn : 1) * sizeof *b.hess);
    b.ones = malloc(nrs * sizeof *b.ones);
    ctx.jrow = malloc((jng ? jng : 1) * sizeof(int)); ctx.jcol = malloc((jng ? jng : 1) * sizeof(int));
    ctx.hrow = malloc((hn ? hn : 1) * sizeof(int)); ctx.hcol = malloc((hn ? hn : 1) * sizeof(int));
    if (!b.lo || !b.hi || !b.x || !b.best || !b.glo || !b.ghi || !b.act || !b.best_act
        || !b.mult_g || !b.local_vals || !b.grad || !b.jac || !b.hess || !b.ones || !ctx.jrow || !ctx.jcol || !ctx.hrow || !ctx.hcol) {
        oom = 1;
        goto done;
    }
    fm_nlp_diff_jac_structure(diff, ctx.jrow, ctx.jcol);
    fm_nlp_diff_hess_structure(diff, ctx.hrow, ctx.hcol);
    if (prepare_bounds(n, lo_in, hi_in, &b, r, &log, &loglen) != 0)
        goto done;
    for (size_t k = 0; k < gd.n; k++) {
        b.glo[nr + k] = gd.lo[k];
        b.ghi[nr + k] = BIG_BOUND;
        for (size_t t = gd.start[k]; t < gd.start[k + 1]; t++) {
            ctx.jrow[jn + t] = (int)(nr + k);
            ctx.jcol[jn + t] = gd.col[t];
        }
    }
    if (gd.n) {
        snprintf(line, sizeof line, "domain: %zu rows keep the arguments of log, sqrt and "
                 "fractional powers in their domain", gd.n);
        log_add(&log, &loglen, line);
    }
    ctx.guard = &gd;
    ctx.jac_model = jn;
    if (linear_part_infeasible(n, b.lo, b.hi, &gd, o, start_ms)) {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "infeasible: the linear constraints and bounds "
                      "alone%s have no solution (proven by GLPK)",
                      gd.n || moved_bounds(log) ? ", with the domains of log, sqrt and powers," : "");
        goto done;
    }
    for (size_t i = 0; i < nr; i++) b.ones[i] = 1;
    ctx.diff = diff;
    ctx.ncols = nc; ctx.nrows = nr;
    ctx.sign = fm_program_sense(p) == FM_MAXIMIZE ? -1 : 1;
    ctx.cancel = o->cancel;
    ctx.deadline_ms = o->time_limit_s > 0 ? start_ms + o->time_limit_s * 1000 : 0;
    ctx.box_bounded = 1;
    for (size_t j = 0; j < nc; j++)
        if (b.lo[j] <= -BIG_BOUND || b.hi[j] >= BIG_BOUND) ctx.box_bounded = 0;

    int run = 0, agreed = 0, nlocal = 0, have = 0 /* 1 feasible, 2 converged */;
    enum ApplicationReturnStatus best_status = Solve_Succeeded;
    int unbounded = 0, undefined = 0;
    double best_obj = HUGE_VAL;   /* minimised: sign applied */
    enum ApplicationReturnStatus last = Solve_Succeeded;
    pthread_mutex_lock(&solve_lock);
    prob = ip.create((Index)nc, b.lo, b.hi, (Index)mg, b.glo, b.ghi, (Index)jng, (Index)hn, 0,
                     cb_f, cb_g, cb_grad, cb_jac, cb_hess);
    if (prob) {
        ip.int_option(prob, "print_level", 0);
        ip.str_option(prob, "sb", "yes");
        ip.int_option(prob, "max_iter", MAX_ITER);
        ip.set_intermediate(prob, cb_iter);
    }
    for (int k = 0; prob && k < starts && !ctx.stopped && !unbounded; k++) {
        if (convex && have == 2) break;   /* a convex model's local optimum is global */
        double remain = ctx.deadline_ms > 0 ? (ctx.deadline_ms - fm_clock_ms()) / 1000 : 1e6;
        if (remain <= 0) { ctx.stopped = 1; break; }
        ip.num_option(prob, "max_cpu_time", remain);
        start_point(k, nc, b.lo, b.hi, b.x);
        if (!nudge_into_domain(diff, &b, nc, k)) {
            undefined++;
            run++;
            snprintf(line, sizeof line, "start %d: the functions are not defined there "
                     "(log, sqrt, division, powers); skipped", k + 1);
            log_add(&log, &loglen, line);
            continue;
        }
        double obj = NAN, t0 = fm_clock_ms();
        ctx.eval_ms = 0;
        ctx.iterations = 0;
        last = ip.solve(prob, b.x, NULL, &obj, b.mult_g, NULL, NULL, &ctx);
        double ms = fm_clock_ms() - t0;
        run++;
        double f = fm_nlp_eval_objective(n, b.x), fs = ctx.sign * f;
        int ok = feasible(n, b.lo, b.hi, b.x, b.act) && isfinite(f);
        int conv = ok && converged(last);
        /* past 1e20 over an unbounded box, or iterates running off to
         * infinity, at any start: one start's evidence is enough, even when
         * another converged to a stationary point */
        unbounded = !ctx.box_bounded && ((ok && fs < -UNBOUNDED_AT) || ctx.unbounded ||
                                         last == Diverging_Iterates);
        snprintf(line, sizeof line, "start %d: %s, objective %.10g, %s; %d iterations, "
                 "%.1f ms (derivatives %.1f ms, Ipopt and its linear solver %.1f ms)",
                 k + 1, ipopt_status_text(last), f, ok ? "feasible" : "not feasible",
                 ctx.iterations, ms, ctx.eval_ms, ms - ctx.eval_ms);
        log_add(&log, &loglen, line);
        if (!ok || unbounded) continue;
        if (conv) b.local_vals[nlocal++] = fs;
        /* a converged point beats any point of a stopped start */
        int take = conv ? (have < 2 || fs < best_obj) : (have == 0 || (have == 1 && fs < best_obj));
        if (take) {
            best_obj = fs;
            memcpy(b.best, b.x, nc * sizeof *b.x);
            memcpy(b.best_act, b.act, nr * sizeof *b.act);
            have = conv ? 2 : 1;
            best_status = last;
        }
    }
    pthread_mutex_unlock(&solve_lock);
    if (!prob) {
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "Ipopt refused the problem");
        goto done;
    }
    for (int k = 0; k < nlocal; k++)
        if (fabs(b.local_vals[k] - best_obj) <= AGREE_TOL * (1 + fabs(best_obj))) agreed++;
    r->starts = run;
    r->starts_agreed = have == 2 ? agreed : 0;
    if (ctx.stopped == 2) {
        sv_result_set(r, SV_STATUS_INTERRUPTED, "interrupted");
    } else if (unbounded) {
        sv_result_set(r, SV_STATUS_UNBOUNDED, "the objective passes %g at a feasible point "
                      "(%s without bound, found by a local solver)", UNBOUNDED_AT,
                      ctx.sign > 0 ? "decreasing" : "increasing");
    } else if (have) {
        r->values = malloc(ncs * sizeof *r->values);
        r->activities = malloc(nrs * sizeof *r->activities);
        if (!r->values || !r->activities) { oom = 1; goto done; }
        memcpy(r->values, b.best, nc * sizeof *b.best);
        memcpy(r->activities, b.best_act, nr * sizeof *b.best_act);
        r->objective = ctx.sign * best_obj;
        r->has_solution = 1;
        if (have == 2 && convex) {
            r->proven = 1;
            sv_result_set(r, SV_STATUS_OPTIMAL, "optimal: the model is convex, so the "
                          "local optimum Ipopt found is global");
        } else if (have == 2) {
            sv_result_set(r, SV_STATUS_LOCAL_OPTIMAL, "local optimum, not proven global: "
                          "%d of %d starting points reached this value", agreed, run);
        } else {
            sv_result_set(r, SV_STATUS_FEASIBLE, "a feasible point, not a local optimum: "
                          "Ipopt stopped (%s)", ctx.stopped == 1 ? "time limit"
                          : ipopt_status_text(best_status));
        }
    } else if (ctx.stopped == 1 || last == Maximum_CpuTime_Exceeded) {
        sv_result_set(r, SV_STATUS_TIME_LIMIT, "time limit reached before a feasible point "
                      "was found (%d starting points)", run);
    } else if (undefined == run) {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "locally infeasible: at none of %d starting "
                      "points are the functions defined (log, sqrt, division or powers of "
                      "negative or zero values): their domain may be empty", run);
    } else if (last == Diverging_Iterates) {
        sv_result_set(r, SV_STATUS_UNBOUNDED, "the iterates diverge (beyond 1e20): the "
                      "model looks unbounded, by a local solver's evidence");
    } else {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "locally infeasible: none of %d starting "
                      "points reached a feasible point (the last: %s); a nonconvex model "
                      "may still be feasible", run, ipopt_status_text(last));
    }
done:
    if (prob) ip.free_problem(prob);
    bufs_free(&b, &ctx);
    guards_free(&gd);
    fm_nlp_diff_free(diff);
    if (oom) {
        free(log);
        if (diags) fm_diags_add(diags, FM_SEV_ERROR, "", "", "", "ipopt: out of memory");
        sv_result_free(r);
        *code = SV_ENOMEM;
        return NULL;
    }
    free(r->log);
    r->log = log;
    r->time_ms = fm_clock_ms() - start_ms;
    return r;
}
