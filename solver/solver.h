/* solver — solve a formulation: the one path from a formulation text to typed
 * results (sv_run_*), and below it the solve of a compiled program through a
 * backend chosen by the program's class (GLPK for LP and MILP).
 *
 * Layers inside solver/: run.c (parse -> check -> compile -> solve -> report
 * values, on top of formulate/), solver.c (statuses, options, result,
 * program checks, dispatch to a backend), one file per backend (glpk.c);
 * solver/internal.h is their shared, private interface; solver/README says
 * how to add a backend.
 *
 * Ownership, once for the whole API: an sv_result returned by sv_solve is owned
 * by the caller and freed with sv_result_free; an sv_run returned by
 * sv_run_text or sv_run_prepare is owned by the caller and freed with
 * sv_run_free, and owns everything its accessors return (model, program,
 * diagnostics, result, report values, names). Strings and arrays returned by
 * accessors are borrowed from their object. Inputs (program, JSON text,
 * options) are only read and may be freed once the call returns. Nothing here
 * prints: GLPK's terminal output is captured into the result's log, and a
 * GLPK internal error becomes an SV_EBACKEND result instead of aborting the
 * process.
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
    SV_STATUS_OPTIMAL,         /* proven: LP, MILP, exact reformulation,
                                * convex NLP, exhaustive integer search */
    SV_STATUS_FEASIBLE,        /* a limit was reached with an incumbent */
    SV_STATUS_INFEASIBLE,
    SV_STATUS_UNBOUNDED,
    SV_STATUS_INF_OR_UNBD,     /* infeasible_or_unbounded */
    SV_STATUS_TIME_LIMIT,      /* a limit was reached with no incumbent */
    SV_STATUS_INVALID,         /* the formulation failed its checks */
    SV_STATUS_UNSUPPORTED,     /* valid, but no backend handles its class */
    SV_STATUS_INTERRUPTED,     /* the cancel flag stopped the solve */
    SV_STATUS_VALID,           /* checked and compiled, not solved: the status
                                * of a check-only run; sv_solve never returns
                                * it */
    SV_STATUS_LOCAL_OPTIMAL    /* a nonlinear model solved to a local optimum
                                * that is not proven global (see
                                * sv_result_starts) */
} sv_status;

/* "optimal", "feasible", ..., "infeasible_or_unbounded", ..., "valid" */
const char *sv_status_name(sv_status s);

/* Which backend solves: auto chooses by class (LP/MILP: GLPK; a nonlinear
 * model: exact linearization for GLPK where possible, else Ipopt, or integer
 * search for integer nonlinear models). */
typedef enum {
    SV_SOLVER_AUTO, SV_SOLVER_GLPK, SV_SOLVER_IPOPT, SV_SOLVER_ENUM
} sv_solver_choice;

/* "auto", "glpk", "ipopt", "enum"; and back (-1 for an unknown name). */
const char *sv_solver_choice_name(sv_solver_choice c);
int sv_solver_choice_parse(const char *name);

typedef struct {
    double time_limit_s;   /* <= 0: none */
    double mip_gap;        /* relative; < 0: backend default */
    int presolve;          /* 1 (default) to use the backend's presolver */
    /* NULL (default), or a flag the caller (a signal handler, another
     * thread) sets nonzero to stop the solve: it then ends within about a
     * tenth of a second of GLPK's work with status SV_STATUS_INTERRUPTED
     * and no solution. Borrowed; only read. */
    volatile int *cancel;
    sv_solver_choice solver;   /* SV_SOLVER_AUTO by default */
    int starts;                /* starting points for a nonconvex nonlinear
                                * model (default 5; >= 1) */
} sv_options;

void sv_options_default(sv_options *o);


typedef struct sv_result sv_result;

/* Solves p with the first backend that handles its class (LP or MILP: GLPK).
 * Returns a result (caller frees) whose status says what happened, or NULL
 * with *code set when the backend failed outright (and, when diags is not
 * NULL, a diagnostic saying why). A class no backend handles gives a result
 * with SV_STATUS_UNSUPPORTED and a message naming the class. */
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
/* LP only, with the duals: 1 for a basic column (ncols) or row (nrows; the
 * row flags come after the column flags, so pass the program's ncols), 0
 * for a nonbasic one. A nonbasic column or row whose reduced cost or dual is
 * zero means the optimum may not be unique. */
const unsigned char *sv_result_col_basic(const sv_result *r);
const unsigned char *sv_result_row_basic(const sv_result *r, size_t ncols);
double sv_result_time_ms(const sv_result *r);
/* Nonlinear solves: how many starting points were run and how many reached
 * the best value (within 1e-6, relative); both 0 for LP/MILP. */
int sv_result_starts(const sv_result *r, int *agreed);
/* Nonzero when the status OPTIMAL is proven (always for LP/MILP); 0 for
 * LOCAL_OPTIMAL and every status without a solution. */
int sv_result_proven(const sv_result *r);
/* The backend that produced the result: "glpk 5.0", "ipopt 3.11.9", ... */
const char *sv_result_backend(const sv_result *r);
const char *sv_result_log(const sv_result *r);    /* GLPK's captured output */
const char *sv_result_message(const sv_result *r);/* why, in one line */

/* The backend of linear programs: "glpk 5.0". */
const char *sv_backend_name(void);

typedef enum { SV_EXPORT_LP, SV_EXPORT_MPS, SV_EXPORT_FIXED_MPS } sv_export_format;
/* Writes p as CPLEX LP, free MPS or fixed MPS through GLPK's writers.
 * errbuf (may be NULL) receives a one-line reason on failure. */
sv_code sv_export(const fm_program *p, sv_export_format fmt, const char *path,
                  char *errbuf, size_t errlen);

/* The MPS flavour p can be written in with its own names: SV_EXPORT_FIXED_MPS
 * when every column and constraint name has at most 8 bytes and no blank or
 * control character (fixed MPS's name fields; glpsol --mps reads it), else
 * SV_EXPORT_MPS (free MPS, glpsol --freemps). The objective's name does not
 * decide: GLPK's MPS writer always names the objective row R0000000 (and cuts
 * the NAME record of fixed MPS to 8 bytes; its header comment keeps it). */
sv_export_format sv_export_mps_format(const fm_program *p);

/* ---- one run: formulation text in, typed results out ----------------------
 *
 * The one solve path of optagent: `optagent solve`, the agent's pipeline,
 * the experience library (verifying insights), the REPL and the HTTP service
 * all call sv_run_text (or sv_run_prepare + sv_run_solve) and build their
 * output (text, the contract's JSON report) from the accessors below, so
 * that they cannot drift apart. Steps: parse and check the format-1 text
 * (formulate/), compile it to a program, solve it (sv_solve), evaluate the
 * formulation's report quantities on the solution.
 */

typedef struct {
    fm_limits limits;     /* caps on the input (fm_limits_default) */
    sv_options solve;     /* time limit, MIP gap, presolve, cancel flag */
    int check_only;       /* parse, check and compile; do not solve */
} sv_run_options;

/* Fills *o: the default limits and solve options, check_only off. */
void sv_run_options_default(sv_run_options *o);

typedef struct sv_run sv_run;

/* Parses, checks, compiles and (unless o->check_only) solves the
 * formulation json (len bytes, need not be NUL-terminated; only read during
 * the call). o may be NULL for the defaults. Returns the run (caller frees
 * with sv_run_free), or NULL only when out of memory before anything could
 * be recorded. *code (may be NULL) is SV_OK, or: SV_ENOMEM when memory ran
 * out (while parsing: the run then has no program, status
 * SV_STATUS_INVALID), or the backend's failure code (SV_EBACKEND, ...; the
 * run has a program, no result, status SV_STATUS_INVALID, and a diagnostic
 * saying why). An invalid or unsupported formulation is not an error: see
 * the status. */
sv_run *sv_run_text(const char *json, size_t len, const sv_run_options *o,
                    sv_code *code);

/* The same in two steps, for a caller that acts on the compiled model before
 * solving (optagent solve --export): sv_run_prepare stops after compiling
 * (status SV_STATUS_VALID, or INVALID / UNSUPPORTED), sv_run_solve then
 * solves a VALID run unless it is check_only (SV_OK and nothing done
 * otherwise). sv_run_solve returns the code sv_run_text would set. */
sv_run *sv_run_prepare(const char *json, size_t len, const sv_run_options *o,
                       sv_code *code);
sv_code sv_run_solve(sv_run *r);
void sv_run_free(sv_run *r);

/* The overall status: SV_STATUS_INVALID (the formulation failed its checks,
 * or nothing could be solved), SV_STATUS_UNSUPPORTED (valid, but no backend
 * handles it, e.g. a nonlinear model without Ipopt or with a step function
 * of a variable), SV_STATUS_VALID (compiled, not solved: check-only), or the
 * solver's status. */
sv_status sv_run_status(const sv_run *r);
/* The parsed model (NULL only when memory ran out while parsing), and its
 * compiled program (NULL unless the formulation is valid and linear). */
const fm_model *sv_run_model(const sv_run *r);
const fm_program *sv_run_program(const sv_run *r);
/* The nonlinear program of a nonlinear model (NULL for a linear or invalid
 * one): see formulate.h. */
const fm_nlp *sv_run_nlp(const sv_run *r);
/* The columns of the model, whatever its class: the program of a linear
 * model, the linear part of a nonlinear one (fm_nlp_program: column names
 * and bounds, the order of sv_result_values); NULL when neither exists.
 * Not for export: a nonlinear model's rows lack their trees. */
const fm_program *sv_run_columns(const sv_run *r);
/* The exact reformulations applied to a nonlinear model so that GLPK could
 * solve it, one line each ("product of binary b and x: big-M with M=10"). */
size_t sv_run_reformulation_count(const sv_run *r);
const char *sv_run_reformulation(const sv_run *r, size_t k);   /* NULL past the end */
/* Every diagnostic, in order: parse and checks, solver, report quantities. */
const fm_diags *sv_run_diags(const sv_run *r);
/* The solver's result; NULL unless a solve ran and returned one. */
const sv_result *sv_run_result(const sv_run *r);
/* Milliseconds spent parsing, checking and compiling; and the solver's own
 * time (sv_result_time_ms; 0 without a result). */
double sv_run_parse_ms(const sv_run *r);
double sv_run_solve_ms(const sv_run *r);

/* The formulation's report quantities, evaluated on the solution: none
 * without a solution. ok is 0 when the evaluation failed (a diagnostic says
 * why; value is then 0). name is borrowed from the run. */
typedef struct {
    const char *name;
    double value;
    int ok;
} sv_report_value;

size_t sv_run_report_count(const sv_run *r);
/* NULL when k >= sv_run_report_count(r). */
const sv_report_value *sv_run_report(const sv_run *r, size_t k);

#endif
