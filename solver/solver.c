/* solver — the backend-independent parts: names of codes and statuses, and the
 * default options. The GLPK backend itself is in solver/glpk.c. */
#include "solver/solver.h"

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
    }
    return "invalid";
}

/* Fills *o (caller's storage): no time limit, GLPK's default MIP gap, presolve
 * on, no cancel flag. */
void sv_options_default(sv_options *o)
{
    if (!o)
        return;
    o->time_limit_s = 0.0;
    o->mip_gap = -1.0;
    o->presolve = 1;
    o->cancel = NULL;
}
