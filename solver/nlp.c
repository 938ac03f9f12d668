/* solver/nlp.c — the dispatch of nonlinear programs (sv_solve_nlp) and the
 * small helpers the nonlinear backends share.
 *
 * Order, for --solver auto: an exact reformulation to a linear program first
 * (reformulate.c), because GLPK then proves optimality; otherwise an integer
 * model goes to the integer search (minlp.c) and a continuous one to Ipopt
 * (ipopt.c), told whether the model is provably convex (convex.c) so that a
 * convex optimum is reported as proven. Whatever backend solved, the result
 * is expressed on the nlp's own columns and rows: auxiliary columns of a
 * reformulation are dropped and the activities are the nonlinear rows'
 * bodies at the solution.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/internal.h"

int sv_strlist_addf(sv_strlist *l, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *copy = strdup(buf);
    char **items = copy ? realloc(l->items, (l->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(copy);
        return -1;
    }
    items[l->n++] = copy;
    l->items = items;
    return 0;
}

void sv_strlist_free(sv_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Re-expresses a result of the reformulated program on n: values of n's
 * columns only, activities of n's rows, no duals (they belong to the
 * reformulation). 0, or -1 out of memory. */
static int remap_to_nlp(sv_result *r, const fm_nlp *n)
{
    free(r->duals);
    free(r->redcosts);
    r->duals = r->redcosts = NULL;
    if (!r->has_solution)
        return 0;
    const fm_program *p = fm_nlp_program(n);
    size_t nrows = fm_program_nrows(p);
    double *act = malloc((nrows ? nrows : 1) * sizeof *act);
    if (!act)
        return -1;
    for (size_t i = 0; i < nrows; i++)
        act[i] = fm_nlp_eval_row(n, i, r->values);
    free(r->activities);
    r->activities = act;
    r->objective = fm_nlp_eval_objective(n, r->values);
    return 0;
}

static int has_integer_columns(const fm_nlp *n)
{
    const fm_program *p = fm_nlp_program(n);
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        if (fm_program_col_kind(p, j) != FM_COL_CONTINUOUS)
            return 1;
    return 0;
}

/* Ownership as sv_solve; applied (may be NULL) receives one line per
 * reformulation used. */
sv_result *sv_solve_nlp(const fm_nlp *n, const sv_options *opt, sv_strlist *applied,
                        fm_diags *diags, sv_code *code)
{
    double start_ms = fm_clock_ms();
    sv_code code_unused;
    sv_code *out_code = code ? code : &code_unused;
    *out_code = SV_OK;
    sv_options o;
    sv_options_default(&o);
    if (opt)
        o = *opt;
    if (o.starts < 1)
        o.starts = 1;
    /* what no backend should be given: the checks of sv_solve, on the
     * columns, linear parts and bounds */
    sv_checker k = {.diags = diags};
    sv_check_program(fm_nlp_program(n), &k);
    if (k.too_big || k.invalid || k.infeasible) {
        sv_result *r = sv_result_new();
        if (!r) {
            *out_code = SV_ENOMEM;
            return NULL;
        }
        r->time_ms = fm_clock_ms() - start_ms;
        if (k.too_big)
            sv_result_set(r, SV_STATUS_UNSUPPORTED, "%s", k.too_big_msg);
        else if (k.invalid)
            sv_result_set(r, SV_STATUS_INVALID, "%s", k.first_invalid);
        else
            sv_result_set(r, SV_STATUS_INFEASIBLE, "%s", k.first_infeasible);
        return r;
    }
    const char *why = NULL;
    if (o.solver == SV_SOLVER_AUTO || o.solver == SV_SOLVER_GLPK) {
        sv_strlist rewrites = {0};
        fm_program *lin = sv_reformulate(n, &rewrites, &why);
        if (lin) {
            sv_result *r = sv_solve(lin, &o, diags, out_code);
            fm_program_free(lin);
            if (r && remap_to_nlp(r, n) != 0) {
                sv_result_free(r);
                r = NULL;
                *out_code = SV_ENOMEM;
            }
            if (r && applied) {
                for (size_t i = 0; i < rewrites.n; i++)
                    if (sv_strlist_addf(applied, "%s", rewrites.items[i]) != 0)
                        break;
            }
            sv_strlist_free(&rewrites);
            return r;
        }
        sv_strlist_free(&rewrites);
        if (o.solver == SV_SOLVER_GLPK) {
            sv_result *r = sv_result_new();
            if (!r) {
                *out_code = SV_ENOMEM;
                return NULL;
            }
            r->time_ms = fm_clock_ms() - start_ms;
            sv_result_set(r, SV_STATUS_UNSUPPORTED, "GLPK solves linear models "
                          "only and this one has no exact linearization%s%s",
                          why ? ": " : "", why ? why : "");
            return r;
        }
    }
    if (o.solver == SV_SOLVER_ENUM || has_integer_columns(n))
        return sv_minlp_solve(n, o.solver == SV_SOLVER_ENUM, &o, start_ms, diags,
                              out_code);
    return sv_ipopt_solve(n, NULL, NULL, sv_nlp_convex(n), &o, start_ms, diags,
                          out_code);
}
