/* The solve report of the contract (docs/FORMULATION.md, "What solve reports"),
 * built from a typed run (solver/solver.h, sv_run): the JSON edge of the one
 * solve path, shared by `optagent solve --json` and the pipeline's records. */
#include <math.h>
#include <stdio.h>
#include "agent/core/core.h"

static cJSON *diag_json(const fm_diag *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "severity", fm_severity_name(g->severity));
    cJSON_AddStringToObject(o, "element", g->element);
    cJSON_AddStringToObject(o, "index", g->index);
    cJSON_AddStringToObject(o, "message", g->message);
    cJSON_AddStringToObject(o, "hint", g->hint);
    return o;
}

/* Round-off from the simplex (1e-13 off an integer) is noise to a reader. */
double ag_tidy(double v)
{
    double r = round(v);
    if (fabs(v - r) <= 1e-9 * fmax(1.0, fabs(v))) return r == 0 ? 0 : r;
    return v;
}

double ag_row_slack(const fm_program *p, size_t i, double activity)
{
    double lo, hi, s = HUGE_VAL;
    fm_program_row_bounds(p, i, &lo, &hi);
    if (isfinite(hi)) s = hi - activity;
    if (isfinite(lo) && activity - lo < s) s = activity - lo;
    return s;
}

/* Variables, report quantities and, for an optimal LP, duals, slacks and
 * reduced costs. */
static void add_solution(cJSON *o, const sv_run *run)
{
    const fm_program *p = sv_run_columns(run);
    const sv_result *r = sv_run_result(run);
    cJSON *vars = cJSON_AddObjectToObject(o, "variables");
    cJSON *report = cJSON_AddObjectToObject(o, "report");
    if (!(r && p && sv_result_has_solution(r)))
        return;
    const double *x = sv_result_values(r);
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        cJSON_AddNumberToObject(vars, fm_program_col_name(p, j), ag_tidy(x[j]));
    for (size_t k = 0; k < sv_run_report_count(run); k++) {
        const sv_report_value *v = sv_run_report(run, k);
        if (v->ok)
            cJSON_AddNumberToObject(report, v->name, ag_tidy(v->value));
        else
            cJSON_AddNullToObject(report, v->name);
    }
    const double *duals = sv_result_duals(r), *act = sv_result_activities(r);
    if (!duals || !act)
        return;
    cJSON *dj = cJSON_AddObjectToObject(o, "duals");
    cJSON *sj = cJSON_AddObjectToObject(o, "slacks");
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        double s = ag_row_slack(p, i, act[i]);
        cJSON_AddNumberToObject(dj, fm_program_row_name(p, i), ag_tidy(duals[i]));
        if (isfinite(s)) cJSON_AddNumberToObject(sj, fm_program_row_name(p, i), ag_tidy(s));
        else cJSON_AddNullToObject(sj, fm_program_row_name(p, i));
    }
    const double *rc = sv_result_reduced_costs(r);
    if (!rc)
        return;
    cJSON *rj = cJSON_AddObjectToObject(o, "reduced_costs");
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        cJSON_AddNumberToObject(rj, fm_program_col_name(p, j), ag_tidy(rc[j]));
}

cJSON *ag_solve_report(const sv_run *run, int with_parse_time)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    sv_status status = sv_run_status(run);
    const fm_model *m = sv_run_model(run);
    const fm_program *p = sv_run_program(run);
    const sv_result *r = sv_run_result(run);
    cJSON_AddStringToObject(o, "status", sv_status_name(status));
    if (r && sv_result_has_solution(r)) cJSON_AddNumberToObject(o, "objective", ag_tidy(sv_result_objective(r)));
    else cJSON_AddNullToObject(o, "objective");
    const fm_nlp *nlp = sv_run_nlp(run);
    if (m && (p || nlp || status == SV_STATUS_UNSUPPORTED))
        cJSON_AddStringToObject(o, "class", fm_class_name(fm_model_class(m)));
    else cJSON_AddNullToObject(o, "class");
    /* the backend that solved (GLPK for a model never solved) */
    cJSON_AddStringToObject(o, "solver", r ? sv_result_backend(r) : sv_backend_name());
    if (r) cJSON_AddBoolToObject(o, "proven", sv_result_proven(r));
    int agreed = 0, starts = sv_result_starts(r, &agreed);
    if (starts > 0) {
        cJSON *sj = cJSON_AddObjectToObject(o, "starts");
        cJSON_AddNumberToObject(sj, "run", starts);
        cJSON_AddNumberToObject(sj, "agreed", agreed);
    }
    if (nlp) {
        cJSON *rf = cJSON_AddArrayToObject(o, "reformulations");
        for (size_t k = 0; k < sv_run_reformulation_count(run); k++)
            cJSON_AddItemToArray(rf, cJSON_CreateString(sv_run_reformulation(run, k)));
    }
    add_solution(o, run);
    cJSON_AddNumberToObject(o, "time_ms", sv_run_solve_ms(run) +
                            (with_parse_time ? sv_run_parse_ms(run) : 0));
    if (!p && nlp) p = fm_nlp_program(nlp);   /* the size of a nonlinear model */
    cJSON *size = cJSON_AddObjectToObject(o, "size");
    cJSON_AddNumberToObject(size, "rows", p ? (double)fm_program_nrows(p) : 0);
    cJSON_AddNumberToObject(size, "cols", p ? (double)fm_program_ncols(p) : 0);
    cJSON_AddNumberToObject(size, "nonzeros", p ? (double)fm_program_nonzeros(p) : 0);
    const fm_diags *diags = sv_run_diags(run);
    cJSON *dl = cJSON_AddArrayToObject(o, "diagnostics");
    for (size_t i = 0; i < fm_diags_count(diags); i++)
        cJSON_AddItemToArray(dl, diag_json(fm_diags_get(diags, i)));
    if (r && sv_result_message(r) && *sv_result_message(r))
        cJSON_AddStringToObject(o, "message", sv_result_message(r));
    return o;
}
