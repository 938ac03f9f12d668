/* solver — solve a compiled linear program through a backend (GLPK first).
 *
 * Ownership, once for the whole API: an sv_result returned by sv_solve is owned
 * by the caller and freed with sv_result_free; strings and arrays returned by
 * its accessors are borrowed from it. The program passed in is only read and
 * may be freed once sv_solve returns. Nothing here prints: GLPK's terminal
 * output is captured into the result's log, and a GLPK internal error becomes
 * an SV_EBACKEND result instead of aborting the process.
 */
#ifndef OPTAGENT_SOLVER_H
#define OPTAGENT_SOLVER_H

#include <stddef.h>
#include "formulate/formulate.h"

typedef enum {
    SV_OK = 0,
    SV_EBACKEND,    /* the backend failed internally (GLPK error hook) */
    SV_ENOMEM,
    SV_EIO,         /* an export file could not be written */
    SV_EARG,        /* bad argument (unknown export format, ...) */
    SV_ENAME        /* a name cannot be written in the export format */
} sv_code;

const char *sv_strerror(sv_code code);

/* The statuses of the contract (docs/FORMULATION.md, "What solve reports"). */
typedef enum {
    SV_STATUS_OPTIMAL,
    SV_STATUS_FEASIBLE,        /* a limit was reached with an incumbent */
    SV_STATUS_INFEASIBLE,
    SV_STATUS_UNBOUNDED,
    SV_STATUS_INF_OR_UNBD,     /* infeasible_or_unbounded */
    SV_STATUS_TIME_LIMIT,      /* a limit was reached with no incumbent */
    SV_STATUS_INVALID,         /* the formulation failed its checks */
    SV_STATUS_UNSUPPORTED,     /* valid, but no backend handles its class */
    SV_STATUS_INTERRUPTED      /* the cancel flag stopped the solve */
} sv_status;

/* "optimal", "feasible", ..., "infeasible_or_unbounded", ... */
const char *sv_status_name(sv_status s);

typedef struct {
    double time_limit_s;   /* <= 0: none */
    double mip_gap;        /* relative; < 0: backend default */
    int presolve;          /* 1 (default) to use the backend's presolver */
    /* NULL (default), or a flag the caller (a signal handler, another
     * thread) sets nonzero to stop the solve: it then ends within about a
     * tenth of a second of GLPK's work with status SV_STATUS_INTERRUPTED
     * and no solution. Borrowed; only read. */
    volatile int *cancel;
} sv_options;

void sv_options_default(sv_options *o);

typedef struct sv_result sv_result;

/* Solves p. Returns a result (caller frees) whose status says what happened,
 * or NULL with *code set when the backend failed outright (and, when diags is
 * not NULL, a diagnostic saying why). */
sv_result *sv_solve(const fm_program *p, const sv_options *opt,
                    fm_diags *diags, sv_code *code);
void sv_result_free(sv_result *r);

sv_status sv_result_status(const sv_result *r);
int sv_result_has_solution(const sv_result *r);   /* optimal or feasible */
double sv_result_objective(const sv_result *r);
/* Column values (ncols), row activities (nrows); NULL without a solution. */
const double *sv_result_values(const sv_result *r);
const double *sv_result_activities(const sv_result *r);
/* LP only (NULL for MILP or without an optimal basis): row duals (nrows) and
 * column reduced costs (ncols). */
const double *sv_result_duals(const sv_result *r);
const double *sv_result_reduced_costs(const sv_result *r);
double sv_result_time_ms(const sv_result *r);
const char *sv_result_log(const sv_result *r);    /* GLPK's captured output */
const char *sv_result_message(const sv_result *r);/* why, in one line */

/* "glpk 5.0" */
const char *sv_backend_name(void);

typedef enum { SV_EXPORT_LP, SV_EXPORT_MPS } sv_export_format;
/* Writes p as CPLEX LP or free MPS through GLPK's writers. errbuf (may be
 * NULL) receives a one-line reason on failure. */
sv_code sv_export(const fm_program *p, sv_export_format fmt, const char *path,
                  char *errbuf, size_t errlen);

#endif
