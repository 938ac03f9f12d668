/* solver/minlp_internal.h — what the files of the integer nonlinear search
 * (solver/minlp*.c) share, and nothing else
 * includes.
 *
 * minlp.c chooses between the exhaustive search (minlp_enum.c: small,
 * bounded, all-integer domains), the hybrid search (minlp_enum.c: few
 * integer points, continuous columns left to Ipopt) and nonlinear
 * branch-and-bound over Ipopt relaxations (minlp_bnb.c), after narrowing the
 * bounds (minlp_bounds.c); all prune with the interval evaluator of
 * minlp_interval.c; points are checked on tapes (minlp_tape.c) or with
 * mi_point_feasible.
 */
#ifndef OPTAGENT_SOLVER_MINLP_INTERNAL_H
#define OPTAGENT_SOLVER_MINLP_INTERNAL_H

#include <stddef.h>
#include "solver/internal.h"

/* At most this many integer points are enumerated (the product of the free
 * columns' ranges): about ten seconds at a microsecond per point. */
#define MI_ENUM_CAP 1e7
/* The results' backends (sv_result_backend). */
#define MI_ENUM_NAME "exhaustive search"
#define MI_BB_NAME "branch-and-bound + ipopt"
#define MI_HYBRID_NAME "integer search + ipopt"
/* A model with continuous columns that is not known to be convex, whose
 * integer columns have at most this many points, is searched point by
 * point with Ipopt for the continuous columns (the hybrid search) rather
 * than by branch-and-bound, whose pruning is only heuristic there. */
#define MI_HYBRID_CAP 200
/* ... and, unless --solver enum asked for it, at most this much work
 * (points x mi_point_cost, about 5 ns a unit) when branch-and-bound is
 * there instead: a domain under the cap with thousands of rows would take
 * hours. */
#define MI_ENUM_WORK 3e9

/* ---- intervals ------------------------------------------------------------
 *
 * An interval holds every value, infinities included, that an expression
 * takes over a box of column values, except NaN; maybe_nan says whether NaN
 * is possible too (fmin, fmax and pow can swallow a NaN, so the parents must
 * know). The evaluator is conservative: when unsure it answers the whole
 * line. Bounds are widened by a few rounding errors per operation so that
 * the point evaluation (fm_expr_eval) of any point of the box lies inside. */
typedef struct {
    double lo, hi;
    int maybe_nan;
} mi_iv;

/* The interval of e over box (one per column). Recursion is bounded by
 * FM_MAX_TREE_DEPTH. */
mi_iv mi_expr_interval(const fm_expr *e, const mi_iv *box);
/* Row i's body (linear part + tree), and the objective (constant included),
 * over box. */
mi_iv mi_row_interval(const fm_nlp *n, size_t i, const mi_iv *box);
mi_iv mi_objective_interval(const fm_nlp *n, const mi_iv *box);

/* ---- points -------------------------------------------------------------- */

/* The tolerance of a row bound b: 1e-6, relative above 1. */
double mi_feas_tol(double b);
/* Nonzero when the interval v cannot meet row i's bounds (widened by the
 * tolerance): every point of the box violates the row. */
int mi_row_excluded(const fm_nlp *n, size_t i, mi_iv v);
/* Nonzero when row i holds at x within the tolerance, its body finite. */
int mi_row_holds(const fm_nlp *n, size_t i, const double *x);
/* Nonzero when every row of n holds at x within the tolerance and every
 * body is finite. */
int mi_point_feasible(const fm_nlp *n, const double *x);
/* The work of evaluating one point of n (tree nodes, nonzeros, rows). */
double mi_point_cost(const fm_nlp *n);
/* Copies x into r as its solution (values, activities of the rows, the
 * objective). 0, or -1 out of memory. */
int mi_set_solution(sv_result *r, const fm_nlp *n, const double *x);

/* ---- tapes (minlp_tape.c) ------------------------------------------------ */

/* The rows and objective of n compiled for fast point evaluation, with
 * values bit-identical to fm_nlp_eval_row / fm_nlp_eval_objective (but for
 * the sign of a zero from min/max of -0 and +0). Borrows n, which must
 * outlive it; not reentrant (one value stack). NULL when out of memory;
 * mi_tape_free(NULL) is a no-op. */
typedef struct mi_tape mi_tape;
mi_tape *mi_tape_new(const fm_nlp *n);
void mi_tape_free(mi_tape *t);
double mi_tape_objective(mi_tape *t, const double *x);
/* As mi_row_holds. */
int mi_tape_row_holds(mi_tape *t, size_t i, const double *x);

/* ---- implied bounds (minlp_bounds.c) ------------------------------------- */

/* Narrows the bounds lo/hi (ncols each) of the integer columns to what the
 * rows imply (continuous columns are narrowed internally, to propagate, but
 * left as they were). Stops early at o's time limit (from start_ms) or
 * cancel flag. 0, 1 when no point can satisfy the rows (a proof), or
 * -1 out of memory. */
int mi_tighten_bounds(const fm_nlp *n, double *lo, double *hi, const sv_options *o,
                      double start_ms);

/* ---- the exhaustive search ----------------------------------------------- */

/* Searches every integer point of the box lo/hi (ncols each; integral and
 * finite, fixed continuous columns have lo == hi) with bound pruning. The
 * caller checked that the domain has at most MI_ENUM_CAP points. The result
 * is OPTIMAL (proven) or INFEASIBLE, or at a limit FEASIBLE / TIME_LIMIT /
 * INTERRUPTED. hybrid: the continuous columns keep their bounds lo/hi
 * (within the interval pruning) and each integer point is completed by
 * sv_ipopt_solve; the result is then LOCAL_OPTIMAL, INFEASIBLE (not a
 * proof) or UNBOUNDED, or a limit's. NULL with *code set (SV_ENOMEM, or
 * Ipopt's failure, with a diagnostic in diags) when the search fails. */
sv_result *mi_enumerate(const fm_nlp *n, const double *lo, const double *hi,
                        double domain, int hybrid, const sv_options *o,
                        double start_ms, fm_diags *diags, sv_code *code);

/* ---- branch-and-bound (minlp_bnb.c) -------------------------------------- */

/* Nonlinear branch-and-bound over the box lo/hi (ncols each) with Ipopt at
 * the nodes (the caller checked sv_ipopt_available). OPTIMAL (proven) only
 * for a convex model searched completely, else LOCAL_OPTIMAL; INFEASIBLE,
 * UNBOUNDED (the root relaxation), UNSUPPORTED (Ipopt refused), a limit's
 * FEASIBLE / TIME_LIMIT, INTERRUPTED. NULL with *code set when memory runs
 * out or Ipopt fails (a diagnostic in diags). */
sv_result *mi_branch_and_bound(const fm_nlp *n, const double *lo, const double *hi,
                               const sv_options *o, double start_ms, fm_diags *diags,
                               sv_code *code);

#endif
