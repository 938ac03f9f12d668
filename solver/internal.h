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
    int starts, starts_agreed;  /* nonlinear solves (0 otherwise) */
    int proven;              /* optimality proven (see sv_result_proven) */
    const char *backend;     /* static string, or NULL (the GLPK name) */
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

/* ---- nonlinear programs ----------------------------------------------------
 *
 * A nonlinear model has an fm_nlp (formulate.h) instead of an fm_program.
 * sv_solve_nlp (solver.c) dispatches it: exact reformulation to a linear
 * program for GLPK first (reformulate.c), then, by class, the continuous
 * backend (ipopt.c) or the integer search (minlp.c). Every result of a
 * nonlinear solve has values for the nlp's columns (auxiliary columns of a
 * reformulation are dropped) and activities computed on the nonlinear rows.
 */

/* A list of one-line strings (reformulations applied, ...). Owned by whoever
 * holds the struct; sv_strlist_free frees the strings and the array. */
typedef struct { char **items; size_t n; } sv_strlist;
int sv_strlist_addf(sv_strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));     /* 0, or -1 out of memory */
void sv_strlist_free(sv_strlist *l);

/* reformulate.c: rewrites every nonlinear term of n exactly as linear rows
 * over added columns (big-M products with a binary, products of binaries,
 * abs/min/max in the convex direction as epigraphs, ratios with a provably
 * positive denominator, integer powers where exact). Returns a new program
 * (caller frees with fm_program_free) whose first fm_program_ncols(
 * fm_nlp_program(n)) columns are n's columns, and one line per rewrite added
 * to *applied; NULL (and *applied untouched) when some term has no exact
 * rewrite, the reason in *why (a static or thread-local string; may be NULL).
 * Nothing is added to diags unless memory runs out. */
fm_program *sv_reformulate(const fm_nlp *n, sv_strlist *applied,
                           const char **why);

/* ipopt.c: a local solve of the continuous relaxation of n (integrality
 * ignored) with column bounds lo/hi (ncols each; NULL: n's own), from
 * o->starts starting points (deterministic), within o's time limit counted
 * from start_ms. The result is LOCAL_OPTIMAL (or OPTIMAL with proven = 1 when
 * convex is nonzero), INFEASIBLE (locally: no start found a feasible point),
 * UNBOUNDED, TIME_LIMIT/FEASIBLE, INTERRUPTED. Same contract as sv_solve:
 * a result, or NULL with *code set and a diagnostic in diags. */
sv_result *sv_ipopt_solve(const fm_nlp *n, const double *lo, const double *hi,
                          int convex, const sv_options *o, double start_ms,
                          fm_diags *diags, sv_code *code);
/* Nonzero when Ipopt's library can be loaded (it is loaded on first use). */
int sv_ipopt_available(void);

/* convex.c: nonzero when n is provably convex (a minimisation of a convex
 * objective, or maximisation of a concave one, over affine rows and convex
 * rows on their <= side / concave on their >= side), by cheap structural
 * rules; 0 when unknown. */
int sv_nlp_convex(const fm_nlp *n);

/* minlp.c: an integer nonlinear program: exhaustive search with bound
 * pruning when the integer domain is small (OPTIMAL, proven), otherwise
 * nonlinear branch-and-bound with sv_ipopt_solve at the nodes (proven only
 * when the model is convex and the tree was searched completely); the time
 * limit and the incumbent reported honestly (FEASIBLE at a limit).
 * force_enum: the caller asked for --solver enum (refuse with a clear
 * message when the domain is too large or a column is continuous and not
 * fixed by the search). Same contract as sv_solve. */
sv_result *sv_minlp_solve(const fm_nlp *n, int force_enum, const sv_options *o,
                          double start_ms, fm_diags *diags, sv_code *code);

/* solver.c: dispatches a nonlinear program (see above); the entry point
 * run.c calls for a model whose class is NLP or MINLP. applied receives the
 * reformulations used (may be NULL). */
sv_result *sv_solve_nlp(const fm_nlp *n, const sv_options *o, sv_strlist *applied,
                        fm_diags *diags, sv_code *code);

#endif
