/* solver/minlp.c — integer nonlinear programs: which search runs, and the
 * point checks the searches share.
 *
 * Design. First the bounds the rows imply (minlp_bounds.c) narrow the
 * integer columns; an empty domain is a proof of infeasibility. Then:
 * - every column integer (or continuous but fixed) with finite bounds, at
 *   most MI_ENUM_CAP points: the exhaustive search (minlp_enum.c), whose
 *   answer is proven;
 * - free continuous columns, a model not known to be convex, at most
 *   MI_HYBRID_CAP integer points: the hybrid search (minlp_enum.c), every
 *   integer point completed by Ipopt;
 * - anything else (an unbounded integer column, a larger domain, a convex
 *   model): nonlinear branch-and-bound (minlp_bnb.c).
 * --solver enum allows the exhaustive search only and says why it cannot
 * run; without Ipopt the last two are refused with the reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/minlp_internal.h"

#define MAX_EXACT 4503599627370496.0   /* 2^52: integers above are not all doubles */

/* ---- points ----------------------------------------------------------------- */

double mi_feas_tol(double b)
{
    return 1e-6 * fmax(1.0, fabs(b));
}

int mi_row_excluded(const fm_nlp *n, size_t i, mi_iv v)
{
    double lo, hi;
    fm_program_row_bounds(fm_nlp_program(n), i, &lo, &hi);
    return v.lo > hi + mi_feas_tol(hi) || v.hi < lo - mi_feas_tol(lo);
}

int mi_row_holds(const fm_nlp *n, size_t i, const double *x)
{
    double lo, hi, body = fm_nlp_eval_row(n, i, x);
    fm_program_row_bounds(fm_nlp_program(n), i, &lo, &hi);
    return isfinite(body) && body <= hi + mi_feas_tol(hi) && body >= lo - mi_feas_tol(lo);
}

int mi_point_feasible(const fm_nlp *n, const double *x)
{
    size_t nrows = fm_program_nrows(fm_nlp_program(n));
    for (size_t i = 0; i < nrows; i++)
        if (!mi_row_holds(n, i, x))
            return 0;
    return 1;
}

double mi_point_cost(const fm_nlp *n)
{
    const fm_program *p = fm_nlp_program(n);
    return 1 + (double)fm_nlp_nodes(n) + (double)fm_program_nonzeros(p)
           + (double)fm_program_nrows(p);
}

int mi_set_solution(sv_result *r, const fm_nlp *n, const double *x)
{
    const fm_program *p = fm_nlp_program(n);
    size_t ncols = fm_program_ncols(p), nrows = fm_program_nrows(p);
    double *v = malloc((ncols ? ncols : 1) * sizeof *v);
    double *a = malloc((nrows ? nrows : 1) * sizeof *a);
    if (!v || !a) {
        free(v);
        free(a);
        return -1;
    }
    memcpy(v, x, ncols * sizeof *v);
    for (size_t i = 0; i < nrows; i++)
        a[i] = fm_nlp_eval_row(n, i, x);
    sv_result_drop_solution(r);
    r->values = v;
    r->activities = a;
    r->objective = fm_nlp_eval_objective(n, x);
    r->has_solution = 1;
    return 0;
}

/* ---- the choice ---------------------------------------------------------- */

/* Why the exhaustive search cannot run (into why), or "" when it can; the
 * domain's size in *domain. */
static void enum_applicable(const fm_program *p, const double *lo, const double *hi,
                            char *why, size_t len, double *domain)
{
    *domain = 1;
    double log10_domain = 0;    /* the size when the product overflows */
    why[0] = '\0';
    for (size_t j = 0; j < fm_program_ncols(p); j++) {
        const char *name = fm_program_col_name(p, j);
        if (fm_program_col_kind(p, j) == FM_COL_CONTINUOUS && lo[j] != hi[j]) {
            snprintf(why, len, "column '%.80s' is continuous", name);
            return;
        }
        if (!isfinite(lo[j]) || !isfinite(hi[j])) {
            snprintf(why, len, "integer column '%.80s' has no finite %s bound", name,
                     isfinite(lo[j]) ? "upper" : "lower");
            return;
        }
        if (fabs(lo[j]) > MAX_EXACT || fabs(hi[j]) > MAX_EXACT) {
            snprintf(why, len, "the bounds of column '%.80s' are beyond 2^52", name);
            return;
        }
        *domain *= hi[j] - lo[j] + 1;
        log10_domain += log10(hi[j] - lo[j] + 1);
    }
    if (isinf(*domain))
        snprintf(why, len, "the integer domain has about 10^%.0f points, more than the "
                 "%.0g the exhaustive search visits", floor(log10_domain), MI_ENUM_CAP);
    else if (!(*domain <= MI_ENUM_CAP))
        snprintf(why, len, "the integer domain has %.3g points, more than the %.0g "
                 "the exhaustive search visits", *domain, MI_ENUM_CAP);
}

/* Nonzero when the hybrid search applies: some continuous column is free
 * and the integer columns are bounded, with at most MI_HYBRID_CAP points
 * (into *domain). */
static int hybrid_domain(const fm_program *p, const double *lo, const double *hi,
                         double *domain)
{
    int continuous = 0;
    *domain = 1;
    for (size_t j = 0; j < fm_program_ncols(p); j++) {
        if (fm_program_col_kind(p, j) == FM_COL_CONTINUOUS) {
            continuous |= lo[j] != hi[j];
            continue;
        }
        if (!(fabs(lo[j]) <= MAX_EXACT) || !(fabs(hi[j]) <= MAX_EXACT))
            return 0;
        *domain *= hi[j] - lo[j] + 1;
        if (*domain > MI_HYBRID_CAP)
            return 0;
    }
    return continuous;
}

static sv_result *status_only(sv_status st, const char *backend, const char *msg,
                              double start_ms, sv_code *code)
{
    sv_result *r = sv_result_new();
    if (!r) {
        *code = SV_ENOMEM;
        return NULL;
    }
    sv_result_set(r, st, "%s", msg);
    r->backend = backend;
    r->time_ms = fm_clock_ms() - start_ms;
    return r;
}

/* Ownership as sv_solve. */
sv_result *sv_minlp_solve(const fm_nlp *n, int force_enum, const sv_options *o,
                          double start_ms, fm_diags *diags, sv_code *code)
{
    *code = SV_OK;
    const fm_program *p = fm_nlp_program(n);
    size_t ncols = fm_program_ncols(p);
    double *lo = malloc((2 * ncols + 1) * sizeof *lo);
    if (!lo) {
        *code = SV_ENOMEM;
        return NULL;
    }
    double *hi = lo + ncols;
    char why[300] = "";
    sv_result *r = NULL;
    for (size_t j = 0; j < ncols && !why[0]; j++) {
        sv_col_bounds(p, j, &lo[j], &hi[j]);
        if (isnan(lo[j]) || isnan(hi[j])) {
            snprintf(why, sizeof why, "column '%.80s' has a NaN bound",
                     fm_program_col_name(p, j));
            r = status_only(SV_STATUS_INVALID, MI_ENUM_NAME, why, start_ms, code);
        } else if (lo[j] > hi[j]) {
            snprintf(why, sizeof why, "column '%.80s' has no %svalue within its bounds",
                     fm_program_col_name(p, j),
                     fm_program_col_kind(p, j) == FM_COL_CONTINUOUS ? "" : "integer ");
            r = status_only(SV_STATUS_INFEASIBLE, MI_ENUM_NAME, why, start_ms, code);
        }
    }
    if (why[0])
        goto out;
    int empty = mi_tighten_bounds(n, lo, hi, o, start_ms);
    if (empty < 0) {
        *code = SV_ENOMEM;
        goto out;
    }
    if (empty) {
        r = status_only(SV_STATUS_INFEASIBLE, MI_ENUM_NAME, "no point satisfies every "
                        "constraint: the bounds the constraints imply on the variables "
                        "are empty", start_ms, code);
        goto out;
    }
    double domain;
    enum_applicable(p, lo, hi, why, sizeof why, &domain);
    int ipopt = sv_ipopt_available();
    if (!why[0] && !force_enum && ipopt && domain * mi_point_cost(n) > MI_ENUM_WORK)
        snprintf(why, sizeof why, "%.3g points of %.3g units of work each is too "
                 "much", domain, mi_point_cost(n));
    if (!why[0]) {
        r = mi_enumerate(n, lo, hi, domain, 0, o, start_ms, diags, code);
    } else if (force_enum) {
        char msg[640];
        snprintf(msg, sizeof msg, "--solver enum searches bounded integer domains of at "
                 "most %.0g points only: %s", MI_ENUM_CAP, why);
        r = status_only(SV_STATUS_UNSUPPORTED, MI_ENUM_NAME, msg, start_ms, code);
    } else if (!ipopt) {
        char msg[640];
        snprintf(msg, sizeof msg, "integer nonlinear model: no exhaustive search (%s) "
                 "and branch-and-bound needs Ipopt, which is not available", why);
        r = status_only(SV_STATUS_UNSUPPORTED, MI_BB_NAME, msg, start_ms, code);
    } else if (hybrid_domain(p, lo, hi, &domain) && !sv_nlp_convex(n)) {
        r = mi_enumerate(n, lo, hi, domain, 1, o, start_ms, diags, code);
    } else {
        r = mi_branch_and_bound(n, lo, hi, o, start_ms, diags, code);
    }
out:
    free(lo);
    return r;
}
