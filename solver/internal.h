/* solver/internal.h — what the files of solver/ share, and nothing else may
 * include: the result type the backends fill, the program checks every
 * backend runs first, and the backend interface.
 *
 * A backend is one file (glpk.c today; Ipopt next) exporting one const
 * sv_backend; solver.c lists them in a table and sv_solve hands a program to
 * the first backend whose supports() accepts its class. The dispatcher does
 * what is common: the argument checks, the class lookup, the program checks
 * (sv_check_program) and the timing; a backend only builds, solves and fills
 * the result (sv_result_new, sv_result_set, and the arrays below).
 */
#ifndef OPTAGENT_SOLVER_INTERNAL_H
#define OPTAGENT_SOLVER_INTERNAL_H

#include <stddef.h>
#include "solver/solver.h"

/* ---- the result ----------------------------------------------------------- */

/* Everything is owned by the result and freed by sv_result_free. */
struct sv_result {
    sv_status status;
    int has_solution;
    double objective;        /* NAN without a solution */
    double *values;          /* ncols */
    double *activities;      /* nrows */
    double *duals;           /* nrows, optimal LP only */
    double *redcosts;        /* ncols, optimal LP only */
    unsigned char *basic;    /* ncols then nrows, optimal LP only: 1 basic */
    double time_ms;
    char *log;               /* the backend's output, or NULL ("") */
    char *message;
};

/* A result with no status message, no solution and a NAN objective; NULL
 * when out of memory. */
sv_result *sv_result_new(void);

/* Sets r's status and one-line message (copied; a failed copy leaves the
 * message empty rather than failing the solve). */
void sv_result_set(sv_result *r, sv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drops any solution (values, duals, objective): what a stopped search had
 * found is not a result. */
void sv_result_drop_solution(sv_result *r);

/* ---- the program checks --------------------------------------------------- */

/* The limits of the checks are GLPK's (M_MAX, N_MAX, NNZ_MAX in its
 * sources), the only backend of linear programs; the messages name it. */
#define SV_MAX_DIM 100000000u
#define SV_MAX_NNZ 500000000u

/* What sv_check_program found. Zero it, and set diags (may be NULL), before
 * the call. */
typedef struct {
    fm_diags *diags;        /* may be NULL */
    size_t reported;        /* diagnostics added so far */
    size_t omitted;         /* problems beyond the cap */
    int too_big, invalid, infeasible;
    char first_invalid[320], first_infeasible[320], too_big_msg[200];
} sv_checker;

/* Checks what no backend should be given: sizes beyond the limits, NaN or
 * infinite numbers where they make no sense and coefficients of magnitude
 * outside 1e-30..1e+30 (invalid), bounds with lo > hi (infeasible). Adds an
 * error diagnostic per problem (capped) to k->diags. */
void sv_check_program(const fm_program *p, sv_checker *k);

/* The bounds a backend gets for column j: binaries are [0,1] intersected
 * with the given bounds, integer kinds are rounded inward (a bound within
 * 1e-9, relative, of an integer is taken as that integer). Infinite bounds
 * stay. */
void sv_col_bounds(const fm_program *p, size_t j, double *lo, double *hi);

/* FM_CLASS_MILP when p has an integer or binary column, else FM_CLASS_LP. */
fm_class sv_program_class(const fm_program *p);

/* Nonzero when a backend of the table (solver.c) solves class c. */
int sv_class_supported(fm_class c);

/* ---- the backend interface ------------------------------------------------ */

typedef struct {
    /* "glpk 5.0"; may return a thread-local buffer. */
    const char *(*name)(void);
    /* Nonzero when the backend solves programs of class c. */
    int (*supports)(fm_class c);
    /* Solves p, which sv_check_program accepted; o is complete (defaults
     * filled). start_ms (fm_clock_ms) is when sv_solve began: the time
     * limit and the result's time count from it. Same contract as sv_solve:
     * a result, or NULL with *code set and a diagnostic in diags (may be
     * NULL). code is never NULL. */
    sv_result *(*solve)(const fm_program *p, const sv_options *o,
                        double start_ms, fm_diags *diags, sv_code *code);
} sv_backend;

extern const sv_backend sv_backend_glpk;

#endif
