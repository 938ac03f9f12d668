/* solver/minlp.c — integer nonlinear programs (stub until it lands). */
#include "solver/internal.h"

sv_result *sv_minlp_solve(const fm_nlp *n, int force_enum, const sv_options *o,
                          double start_ms, fm_diags *diags, sv_code *code)
{
    (void)n; (void)force_enum; (void)o; (void)diags;
    sv_result *r = sv_result_new();
    if (!r) {
        *code = SV_ENOMEM;
        return NULL;
    }
    r->time_ms = fm_clock_ms() - start_ms;
    sv_result_set(r, SV_STATUS_UNSUPPORTED, "no integer nonlinear search yet");
    return r;
}
