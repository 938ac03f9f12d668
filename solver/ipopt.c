/* solver/ipopt.c — the Ipopt backend (stub until it lands). */
#include "solver/internal.h"

int sv_ipopt_available(void)
{
    return 0;
}

sv_result *sv_ipopt_solve(const fm_nlp *n, const double *lo, const double *hi,
                          int convex, const sv_options *o, double start_ms,
                          fm_diags *diags, sv_code *code)
{
    (void)n; (void)lo; (void)hi; (void)convex; (void)o; (void)diags;
    sv_result *r = sv_result_new();
    if (!r) {
        *code = SV_ENOMEM;
        return NULL;
    }
    r->time_ms = fm_clock_ms() - start_ms;
    sv_result_set(r, SV_STATUS_UNSUPPORTED, "no nonlinear solver backend yet");
    return r;
}
