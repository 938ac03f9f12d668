/* solver — the backend-independent half of solver/: names of codes and
 * statuses, option defaults, the clock, the result type and its accessors,
 * the program checks, and sv_solve, which picks a backend by the program's
 * class (the table below) and hands it a checked program.
 *
 * Adding a backend: one file defining a const sv_backend (solver/internal.h)
 * and one entry in backends[]. The order of the table is the preference: the
 * first backend that supports a class solves it. The run of a formulation
 * text (parse, check, compile, solve, report values) is in solver/run.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "solver/internal.h"

/* ---- names, options, clock ------------------------------------------------ */

/* Returns a static string; never NULL. */
const char *sv_strerror(sv_code code)
{
    switch (code) {
    case SV_OK:       return "success";
    case SV_EBACKEND: return "the solver backend failed internally";
    case SV_ENOMEM:   return "out of memory";
    case SV_EIO:      return "a file could not be written";
    case SV_EARG:     return "invalid argument";
    case SV_ENAME:    return "a name cannot be written in the export format";
    }
    return "unknown error";
}

/* Returns a static string; these exact words are the contract of
 * docs/FORMULATION.md ("What solve reports"), so they must not change. */
const char *sv_status_name(sv_status s)
{
    switch (s) {
    case SV_STATUS_OPTIMAL:     return "optimal";
    case SV_STATUS_FEASIBLE:    return "feasible";
    case SV_STATUS_INFEASIBLE:  return "infeasible";
    case SV_STATUS_UNBOUNDED:   return "unbounded";
    case SV_STATUS_INF_OR_UNBD: return "infeasible_or_unbounded";
    case SV_STATUS_TIME_LIMIT:  return "time_limit";
    case SV_STATUS_INVALID:     return "invalid";
    case SV_STATUS_UNSUPPORTED: return "unsupported";
    case SV_STATUS_INTERRUPTED: return "interrupted";
    case SV_STATUS_VALID:       return "valid";
    case SV_STATUS_LOCAL_OPTIMAL: return "local_optimal";
    }
    return "invalid";
}

/* Fills *o (caller's storage): no time limit, the backend's default MIP gap,
 * presolve on, no cancel flag. */
void sv_options_default(sv_options *o)
{
    if (!o)
        return;
    o->time_limit_s = 0.0;
    o->mip_gap = -1.0;
    o->presolve = 1;
    o->cancel = NULL;
    o->solver = SV_SOLVER_AUTO;
    o->starts = 5;
}

static const char *const solver_choice_names[] = {"auto", "glpk", "ipopt", "enum"};

const char *sv_solver_choice_name(sv_solver_choice c)
{
    return (unsigned)c < 4 ? solver_choice_names[c] : "auto";
}

int sv_solver_choice_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, solver_choice_names[i]))
            return i;
    return -1;
}

/* ---- the result ------------------------------------------------------------- */

sv_result *sv_result_new(void)
{
    sv_result *r = calloc(1, sizeof *r);
    if (r)
        r->objective = NAN;
    return r;
}

void sv_result_set(sv_result *r, sv_status st, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->status = st;
    free(r->message);
    r->message = strdup(buf);
}

void sv_result_drop_solution(sv_result *r)
{
    free(r->values);
    free(r->activities);
    free(r->duals);
    free(r->redcosts);
    free(r->basic);
    r->values = r->activities = r->duals = r->redcosts = NULL;
    r->basic = NULL;
    r->has_solution = 0;
    r->objective = NAN;
}

int sv_result_starts(const sv_result *r, int *agreed)
{
    if (agreed)
        *agreed = r ? r->starts_agreed : 0;
    return r ? r->starts : 0;
}

int sv_result_proven(const sv_result *r)
{
    return r && r->status == SV_STATUS_OPTIMAL && r->proven;
}

const char *sv_result_backend(const sv_result *r)
{
    return r && r->backend ? r->backend : sv_backend_name();
}

void sv_result_free(sv_result *r)
{
    if (!r)
        return;
    sv_result_drop_solution(r);
    free(r->log);
    free(r->message);
    free(r);
}

sv_status sv_result_status(const sv_result *r)
{
    return r ? r->status : SV_STATUS_INVALID;
}

int sv_result_has_solution(const sv_result *r)
{
    return r ? r->has_solution : 0;
}

/* NAN without a solution. */
double sv_result_objective(const sv_result *r)
{
    return r ? r->objective : NAN;
}

const double *sv_result_values(const sv_result *r)
{
    return r ? r->values : NULL;
}

const double *sv_result_activities(const sv_result *r)
{
    return r ? r->activities : NULL;
}

const unsigned char *sv_result_col_basic(const sv_result *r)
{
    return r ? r->basic : NULL;
}

const unsigned char *sv_result_row_basic(const sv_result *r, size_t ncols)
{
    return r && r->basic ? r->basic + ncols : NULL;
}

const double *sv_result_duals(const sv_result *r)
{
    return r ? r->duals : NULL;
}

const double *sv_result_reduced_costs(const sv_result *r)
{
    return r ? r->redcosts : NULL;
}

double sv_result_time_ms(const sv_result *r)
{
    return r ? r->time_ms : 0.0;
}

/* Never NULL: "" when the backend said nothing. */
const char *sv_result_log(const sv_result *r)
{
    return r && r->log ? r->log : "";
}

const char *sv_result_message(const sv_result *r)
{
    return r && r->message ? r->message : "";
}

/* ---- checking the program ----------------------------------------------------- */

#define CHECK_MAX_DIAGS 20
/* Nonzero coefficients GLPK cannot work with: its scaling computes factors
 * from the extreme magnitudes, and beyond these it produces a zero or
 * infinite scale factor ("glp_set_sjj: invalid scale factor") or fails an
 * assertion in the simplex method. Such numbers are unit mistakes in
 * practice, so they are reported, naming the coefficient, before any backend
 * starts. */
#define COEF_MAX 1e30
#define COEF_MIN 1e-30

static int coef_out_of_range(double a)
{
    double m = fabs(a);
    return m != 0.0 && (m > COEF_MAX || m < COEF_MIN);
}

/* The index part of a name: "x[s,a]" gives "[s,a]" and *base_len 1; a name
 * without a trailing bracketed part gives "" and its whole length. */
static const char *index_part(const char *name, int *base_len)
{
    size_t n = strlen(name);
    const char *b = strchr(name, '[');
    size_t base = (b && b != name && name[n - 1] == ']') ? (size_t)(b - name) : n;
    *base_len = base > 200 ? 200 : (int)base;
    return base < n ? b : "";
}

/* Integer columns get integral bounds (GLPK's glp_intopt refuses fractional
 * ones); data noise within 1e-9 must not cut off a value. */
static double int_up(double x)
{
    double r = round(x);
    return fabs(x - r) <= 1e-9 * fmax(1.0, fabs(x)) ? r : ceil(x);
}

static double int_down(double x)
{
    double r = round(x);
    return fabs(x - r) <= 1e-9 * fmax(1.0, fabs(x)) ? r : floor(x);
}

void sv_col_bounds(const fm_program *p, size_t j, double *lo, double *hi)
{
    fm_program_col_bounds(p, j, lo, hi);
    fm_col_kind kind = fm_program_col_kind(p, j);
    if (kind == FM_COL_BINARY) {
        *lo = fmax(*lo, 0.0);
        *hi = fmin(*hi, 1.0);
    }
    if (kind != FM_COL_CONTINUOUS) {
        if (isfinite(*lo))
            *lo = int_up(*lo);
        if (isfinite(*hi))
            *hi = int_down(*hi);
    }
}

fm_class sv_program_class(const fm_program *p)
{
    size_t n = fm_program_ncols(p);
    for (size_t j = 0; j < n; j++)
        if (fm_program_col_kind(p, j) != FM_COL_CONTINUOUS)
            return FM_CLASS_MILP;
    return FM_CLASS_LP;
}

static int bad_bounds(double lo, double hi)
{
    return isnan(lo) || isnan(hi) || lo == HUGE_VAL || hi == -HUGE_VAL;
}

/* Records one problem: an error diagnostic (element/index borrowed) and, for
 * the first of its kind, the one-line message. */
static void check_report(sv_checker *k, int invalid, const char *element,
                         const char *index, const char *hint,
                         const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void check_report(sv_checker *k, int invalid, const char *element,
                         const char *index, const char *hint,
                         const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *first = invalid ? k->first_invalid : k->first_infeasible;
    if (invalid ? !k->invalid++ : !k->infeasible++)
        snprintf(first, sizeof k->first_invalid, "%s", msg);
    if (!k->diags)
        return;
    if (k->reported >= CHECK_MAX_DIAGS) {
        k->omitted++;
        return;
    }
    k->reported++;
    /* Best effort: a full or failing diagnostics list must not stop us. */
    (void)fm_diags_add(k->diags, FM_SEV_ERROR, element, index, hint, "%s", msg);
}

/* Column bounds: numbers where they must be (invalid), lo > hi or no
 * integer value within them (infeasible). */
static void check_columns(const fm_program *p, sv_checker *k)
{
    size_t n = fm_program_ncols(p);
    char element[300];
    int base;
    for (size_t j = 0; j < n; j++) {
        const char *name = fm_program_col_name(p, j);
        const char *index = index_part(name, &base);
        double lo, hi;
        fm_program_col_bounds(p, j, &lo, &hi);
        snprintf(element, sizeof element, "variable '%.*s'", base, name);
        if (bad_bounds(lo, hi)) {
            check_report(k, 1, element, index, "",
                         "variable %s has bounds [%g, %g]; a bound must be a "
                         "number (lower not +inf, upper not -inf)", name, lo, hi);
            continue;
        }
        double elo, ehi;
        sv_col_bounds(p, j, &elo, &ehi);
        if (elo <= ehi)
            continue;
        int binary = fm_program_col_kind(p, j) == FM_COL_BINARY;
        if (lo <= hi)
            check_report(k, 0, element, index,
                         "widen the bounds or make the variable continuous",
                         "%s variable %s has no %s value within its bounds "
                         "[%g, %g], so the problem is infeasible",
                         binary ? "binary" : "integer", name,
                         binary ? "0/1" : "integer", lo, hi);
        else
            check_report(k, 0, element, index,
                         "check the data that give this variable's bounds",
                         "variable %s has lower bound %g above its upper "
                         "bound %g, so the problem is infeasible", name, lo, hi);
    }
}

/* The first bad coefficient of a row (row_name NULL: the objective), if
 * any: non-finite, or out of the range GLPK can scale. */
static void check_coefs(const fm_program *p, sv_checker *k, const char *element,
                        const char *index, const char *row_name, size_t n,
                        const int *cols, const double *coefs)
{
    const char *what = row_name ? "constraint " : "the objective";
    const char *rname = row_name ? row_name : "";
    for (size_t t = 0; t < n; t++) {
        const char *col = fm_program_col_name(p, (size_t)cols[t]);
        if (!isfinite(coefs[t])) {
            check_report(k, 1, element, index, "",
                         "%s%s has the coefficient %g for %s; "
                         "coefficients must be finite numbers", what, rname,
                         coefs[t], col);
            return;
        }
        if (coef_out_of_range(coefs[t])) {
            check_report(k, 1, element, index,
                         "rescale the units (thousands, millions) so that "
                         "coefficients stay within 1e-30..1e+30",
                         "%s%s has the coefficient %.10g for %s; GLPK cannot "
                         "scale coefficients of magnitude above %g or below %g",
                         what, rname, coefs[t], col, COEF_MAX, COEF_MIN);
            return;
        }
    }
}

/* Row bounds and coefficients. */
static void check_rows(const fm_program *p, sv_checker *k)
{
    size_t m = fm_program_nrows(p);
    char element[300];
    int base;
    const int *cols;
    const double *coefs;
    for (size_t i = 0; i < m; i++) {
        const char *name = fm_program_row_name(p, i);
        const char *index = index_part(name, &base);
        const char *el = fm_program_row_element(p, i);
        if (el && el[0])
            snprintf(element, sizeof element, "%s", el);
        else
            snprintf(element, sizeof element, "constraint '%.*s'", base, name);
        double lo, hi;
        fm_program_row_bounds(p, i, &lo, &hi);
        if (bad_bounds(lo, hi))
            check_report(k, 1, element, index, "",
                         "constraint %s has bounds [%g, %g]; a bound must be "
                         "a number (lower not +inf, upper not -inf)",
                         name, lo, hi);
        else if (lo > hi)
            check_report(k, 0, element, index,
                         "check the data that give this constraint's "
                         "right-hand sides",
                         "constraint %s requires %g <= ... <= %g, which no "
                         "point satisfies, so the problem is infeasible",
                         name, lo, hi);
        size_t rn = fm_program_row(p, i, &cols, &coefs);
        check_coefs(p, k, element, index, name, rn, cols, coefs);
    }
}

void sv_check_program(const fm_program *p, sv_checker *k)
{
    size_t n = fm_program_ncols(p), m = fm_program_nrows(p);
    size_t nnz = fm_program_nonzeros(p);
    if (n > SV_MAX_DIM || m > SV_MAX_DIM || nnz > SV_MAX_NNZ) {
        k->too_big = 1;
        snprintf(k->too_big_msg, sizeof k->too_big_msg,
                 "the program has %zu rows, %zu columns and %zu nonzeros; "
                 "GLPK takes at most %u rows/columns and %u nonzeros",
                 m, n, nnz, SV_MAX_DIM, SV_MAX_NNZ);
        return;
    }
    check_columns(p, k);
    const int *cols;
    const double *coefs;
    size_t on = fm_program_objective(p, &cols, &coefs);
    check_coefs(p, k, "objective", "", NULL, on, cols, coefs);
    if (!isfinite(fm_program_objective_constant(p)))
        check_report(k, 1, "objective", "", "",
                     "the objective has the constant %g; it must be a finite "
                     "number", fm_program_objective_constant(p));
    check_rows(p, k);
    if (k->omitted && k->diags)
        (void)fm_diags_add(k->diags, FM_SEV_INFO, "solver", "", "",
                           "%zu more problems like the above were not listed",
                           k->omitted);
}

/* ---- backends and dispatch ---------------------------------------------------- */

/* In order of preference. */
static const sv_backend *const backends[] = {
    &sv_backend_glpk,
};

static const sv_backend *backend_for(fm_class c)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->supports(c))
            return backends[i];
    return NULL;
}

int sv_class_supported(fm_class c)
{
    return backend_for(c) != NULL;
}

/* The backend of linear programs (the report's "solver"). */
const char *sv_backend_name(void)
{
    const sv_backend *b = backend_for(FM_CLASS_LP);
    return b ? b->name() : "none";
}

/* The result of a solve that ends before any backend starts. */
static sv_result *early_result(double start_ms, sv_code *code)
{
    sv_result *r = sv_result_new();
    if (!r) {
        *code = SV_ENOMEM;
        return NULL;
    }
    r->time_ms = fm_clock_ms() - start_ms;
    return r;
}

/* Ownership: see solver.h. The result is the caller's; p and opt are only
 * read. Diagnostics are added for the data problems found before solving
 * (lo > hi, non-finite numbers, size) and for backend failures; the outcome
 * of a solve itself is the result's status and message. */
sv_result *sv_solve(const fm_program *p, const sv_options *opt,
                    fm_diags *diags, sv_code *code)
{
    double start_ms = fm_clock_ms();
    sv_code code_unused;
    sv_code *out_code = code ? code : &code_unused;
    *out_code = SV_OK;
    if (!p) {
        *out_code = SV_EARG;
        if (diags)
            (void)fm_diags_add(diags, FM_SEV_ERROR, "solver", "", "",
                               "no program to solve");
        return NULL;
    }
    sv_options o;
    sv_options_default(&o);
    if (opt)
        o = *opt;
    fm_class cls = sv_program_class(p);
    const sv_backend *b = backend_for(cls);
    sv_checker k = {.diags = diags};
    if (b)
        sv_check_program(p, &k);
    if (b && !k.too_big && !k.invalid && !k.infeasible) {
        sv_result *res = b->solve(p, &o, start_ms, diags, out_code);
        if (res && res->status == SV_STATUS_OPTIMAL)
            res->proven = 1;   /* LP and MILP optima are proven */
        return res;
    }

    sv_result *r = early_result(start_ms, out_code);
    if (!r)
        return NULL;
    if (!b) {
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "no solver backend handles "
                      "%s programs", fm_class_name(cls));
    } else if (k.too_big) {
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "%s", k.too_big_msg);
        if (diags)
            (void)fm_diags_add(diags, FM_SEV_ERROR, "solver", "", "", "%s",
                               k.too_big_msg);
    } else if (k.invalid) {
        sv_result_set(r, SV_STATUS_INVALID, "%s", k.first_invalid);
    } else {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "%s", k.first_infeasible);
    }
    return r;
}
