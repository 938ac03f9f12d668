/* solver/run.c — one run of a formulation text: parse and check (formulate/),
 * compile, solve (sv_solve), evaluate the report quantities; the result is a
 * typed record (sv_run) from which every caller builds its own output.
 *
 * Why here: every front end (optagent solve, the agent's pipeline, the
 * library, the REPL, the HTTP service) needs exactly these steps in exactly
 * this order, and the outputs must agree; solver/ is the lowest module that
 * sees both formulate/ and the backends. JSON is left to the edges
 * (agent/core/report.c).
 *
 * The report quantities are evaluated once, right after the solve, because
 * evaluating one can add a diagnostic: a second evaluation (once for the text
 * summary, once for JSON) would list it twice.
 */
#include <stdlib.h>
#include <string.h>
#include "solver/internal.h"

struct sv_run {
    sv_run_options opt;
    fm_diags *diags;
    fm_model *model;          /* NULL only when out of memory */
    sv_result *result;        /* NULL unless solved */
    sv_status status;
    double parse_ms;
    sv_report_value *reports; /* nreports, when the result has a solution */
    size_t nreports;
    sv_strlist reformulations; /* applied to a nonlinear model */
};

void sv_run_options_default(sv_run_options *o)
{
    if (!o)
        return;
    fm_limits_default(&o->limits);
    sv_options_default(&o->solve);
    o->check_only = 0;
}

void sv_run_free(sv_run *r)
{
    if (!r)
        return;
    free(r->reports);
    sv_strlist_free(&r->reformulations);
    sv_result_free(r->result);
    fm_model_free(r->model);
    fm_diags_free(r->diags);
    free(r);
}

/* The status of a parsed model: invalid, unsupported (valid, but its class
 * has no backend, or it was not compiled to a program: formulate/ compiles
 * linear models only), or valid. */
static sv_status parsed_status(const fm_model *m, fm_code code)
{
    if (!m || code != FM_OK)
        return SV_STATUS_INVALID;
    if (fm_model_nlp(m))
        return SV_STATUS_VALID;       /* a nonlinear program: sv_solve_nlp */
    if (!fm_model_program(m) || !sv_class_supported(fm_model_class(m)))
        return SV_STATUS_UNSUPPORTED;
    return SV_STATUS_VALID;
}

sv_run *sv_run_prepare(const char *json, size_t len, const sv_run_options *o,
                       sv_code *code)
{
    sv_code code_unused;
    sv_code *out_code = code ? code : &code_unused;
    *out_code = SV_OK;
    sv_run *r = calloc(1, sizeof *r);
    if (!r || !(r->diags = fm_diags_new())) {
        free(r);
        *out_code = SV_ENOMEM;
        return NULL;
    }
    if (o)
        r->opt = *o;
    else
        sv_run_options_default(&r->opt);
    double t0 = fm_clock_ms();
    fm_code fc;
    r->model = fm_model_parse(json, len, &r->opt.limits, r->diags, &fc);
    r->parse_ms = fm_clock_ms() - t0;
    r->status = parsed_status(r->model, fc);
    if (fc == FM_ENOMEM || !r->model)
        *out_code = SV_ENOMEM;
    return r;
}

/* Evaluates every report quantity on the solution; SV_ENOMEM or SV_OK. */
static sv_code eval_reports(sv_run *r)
{
    size_t n = fm_model_report_count(r->model);
    if (n == 0)
        return SV_OK;
    r->reports = calloc(n, sizeof *r->reports);
    if (!r->reports)
        return SV_ENOMEM;
    const double *x = sv_result_values(r->result);
    for (size_t k = 0; k < n; k++) {
        sv_report_value *v = &r->reports[k];
        v->name = "";
        v->ok = fm_model_report_eval(r->model, k, x, &v->name, &v->value,
                                     r->diags) == FM_OK;
        if (!v->ok)
            v->value = 0.0;
    }
    r->nreports = n;
    return SV_OK;
}

sv_code sv_run_solve(sv_run *r)
{
    if (!r)
        return SV_EARG;
    if (r->status != SV_STATUS_VALID || r->opt.check_only || r->result)
        return SV_OK;
    sv_code sc;
    const fm_nlp *nlp = fm_model_nlp(r->model);
    if (nlp)
        r->result = sv_solve_nlp(nlp, &r->opt.solve, &r->reformulations, r->diags, &sc);
    else
        r->result = sv_solve(fm_model_program(r->model), &r->opt.solve, r->diags, &sc);
    if (!r->result) {
        r->status = SV_STATUS_INVALID;   /* nothing trustworthy came out */
        return sc;
    }
    r->status = sv_result_status(r->result);
    if (sv_result_has_solution(r->result))
        return eval_reports(r);
    return SV_OK;
}

sv_run *sv_run_text(const char *json, size_t len, const sv_run_options *o,
                    sv_code *code)
{
    sv_code code_unused;
    sv_code *out_code = code ? code : &code_unused;
    sv_run *r = sv_run_prepare(json, len, o, out_code);
    if (r && *out_code == SV_OK)
        *out_code = sv_run_solve(r);
    return r;
}

/* ---- accessors: NULL-safe, like sv_result's ---- */

sv_status sv_run_status(const sv_run *r)
{
    return r ? r->status : SV_STATUS_INVALID;
}

const fm_model *sv_run_model(const sv_run *r)
{
    return r ? r->model : NULL;
}

const fm_program *sv_run_program(const sv_run *r)
{
    return r && r->model ? fm_model_program(r->model) : NULL;
}

const fm_diags *sv_run_diags(const sv_run *r)
{
    return r ? r->diags : NULL;
}

const sv_result *sv_run_result(const sv_run *r)
{
    return r ? r->result : NULL;
}

double sv_run_parse_ms(const sv_run *r)
{
    return r ? r->parse_ms : 0.0;
}

double sv_run_solve_ms(const sv_run *r)
{
    return r ? sv_result_time_ms(r->result) : 0.0;
}

const fm_nlp *sv_run_nlp(const sv_run *r)
{
    return r && r->model ? fm_model_nlp(r->model) : NULL;
}

const fm_program *sv_run_columns(const sv_run *r)
{
    const fm_nlp *n = sv_run_nlp(r);
    return n ? fm_nlp_program(n) : sv_run_program(r);
}

size_t sv_run_reformulation_count(const sv_run *r)
{
    return r ? r->reformulations.n : 0;
}

const char *sv_run_reformulation(const sv_run *r, size_t k)
{
    return r && k < r->reformulations.n ? r->reformulations.items[k] : NULL;
}

size_t sv_run_report_count(const sv_run *r)
{
    return r ? r->nreports : 0;
}

const sv_report_value *sv_run_report(const sv_run *r, size_t k)
{
    return r && k < r->nreports ? &r->reports[k] : NULL;
}
