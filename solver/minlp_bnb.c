/* solver/minlp_bnb.c — nonlinear branch-and-bound for integer nonlinear
 * programs the exhaustive and hybrid searches cannot take.
 *
 * Design: depth-first over boxes, each node's continuous relaxation solved
 * by Ipopt (sv_ipopt_solve, with the node's bounds; the root with --starts
 * starting points, the other nodes with one), branching on the most
 * fractional integer column (the nearer side first), incumbents from
 * rounding the relaxation (and, with continuous columns, a solve with the
 * integers fixed). Before Ipopt runs, a node is bounded by interval
 * arithmetic: a row that cannot hold in the box, or an objective that
 * cannot beat the incumbent, closes it for free. A pure integer model's
 * incumbent is polished at the end by +-1 moves. The relaxation's value
 * bounds the subtree only when the model is convex (sv_nlp_convex);
 * otherwise pruning by it is a heuristic and the answer is LOCAL_OPTIMAL.
 * Limits: the time limit (checked before every node; Ipopt honours it
 * within a node), BB_NODE_CAP nodes when there is none, the cancel flag,
 * and a cap on the memory of open nodes. A limit with an incumbent is
 * FEASIBLE, without one TIME_LIMIT; the message says which limit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/minlp_internal.h"

#define BB_NODE_CAP 1000            /* nodes when no time limit is set (~10 ms each) */
#define BB_OPEN_BYTES (256u << 20)  /* memory of the open nodes' boxes */
#define INT_TOL 1e-6                /* a relaxation value this near an integer is one */
#define POLISH_EVALS 20000          /* points the neighbourhood search evaluates */
#define POLISH_PAIRS 60             /* columns whose pairs it moves too */

typedef struct {
    double *lo, *hi;     /* ncols each, one allocation (lo owns it) */
    double bound;        /* the parent's relaxation value (sign applied) */
} bb_node;

typedef struct {
    const fm_nlp *n;
    const fm_program *p;
    size_t ncols;
    double sign;
    int convex, has_continuous;
    const sv_options *o;
    double start_ms, deadline_ms;
    fm_diags *diags;
    bb_node *open;
    size_t nopen, cap_open, max_open;
    mi_iv *box;
    double *best_x, *scratch, best;
    int have_best;
    size_t nodes, node_cap;
    int stop;                /* 1 time limit, 2 cancelled, 3 node cap, 4 memory */
    int incomplete;          /* a node ended without a verdict */
    int root_unbounded;
    int root_starts, root_agreed;
    sv_result *unsupported;  /* Ipopt refused the root: passed on */
    const double *box_lo, *box_hi;   /* the root's bounds */
    size_t polished;         /* improving moves of the neighbourhood search */
} bb_ctx;

static void free_node(bb_node *nd)
{
    free(nd->lo);
    nd->lo = nd->hi = NULL;
}

/* A node with a copy of lo/hi; 0, or -1 out of memory or beyond the cap. */
static int push(bb_ctx *b, const double *lo, const double *hi, double bound)
{
    if (b->nopen >= b->max_open) {
        b->stop = 4;
        return -1;
    }
    if (b->nopen == b->cap_open) {
        size_t cap = b->cap_open ? b->cap_open * 2 : 64;
        bb_node *o = realloc(b->open, cap * sizeof *o);
        if (!o)
            return -1;
        b->open = o;
        b->cap_open = cap;
    }
    double *mem = malloc((2 * b->ncols + 1) * sizeof *mem);
    if (!mem)
        return -1;
    memcpy(mem, lo, b->ncols * sizeof *mem);
    memcpy(mem + b->ncols, hi, b->ncols * sizeof *mem);
    b->open[b->nopen++] = (bb_node){ mem, mem + b->ncols, bound };
    return 0;
}

static double prune_slack(const bb_ctx *b)
{
    double s = 1e-9 * (1 + fabs(b->best));
    if (b->o->mip_gap > 0)
        s = fmax(s, b->o->mip_gap * fabs(b->best));
    return s;
}

/* Nonzero when the interval evaluator closes the box: a row cannot hold,
 * or the objective cannot beat the incumbent. */
static int box_closed(bb_ctx *b, const double *lo, const double *hi)
{
    for (size_t j = 0; j < b->ncols; j++)
        b->box[j] = (mi_iv){ lo[j], hi[j], 0 };
    for (size_t i = 0; i < fm_program_nrows(b->p); i++)
        if (mi_row_excluded(b->n, i, mi_row_interval(b->n, i, b->box)))
            return 1;
    if (!b->have_best)
        return 0;
    mi_iv f = mi_objective_interval(b->n, b->box);
    double bound = b->sign > 0 ? f.lo : -f.hi;
    return bound >= b->best - prune_slack(b);
}

/* x as a candidate incumbent. */
static void offer(bb_ctx *b, const double *x)
{
    double f = b->sign * fm_nlp_eval_objective(b->n, x);
    if (!isfinite(f) || (b->have_best && f >= b->best) || !mi_point_feasible(b->n, x))
        return;
    b->best = f;
    b->have_best = 1;
    memcpy(b->best_x, x, b->ncols * sizeof *x);
}

static int is_integer_col(const bb_ctx *b, size_t j)
{
    return fm_program_col_kind(b->p, j) != FM_COL_CONTINUOUS;
}

static sv_result *relax(bb_ctx *b, const double *lo, const double *hi, int starts,
                        sv_code *code)
{
    sv_options no = *b->o;
    no.starts = starts;
    return sv_ipopt_solve(b->n, lo, hi, b->convex, &no, b->start_ms, b->diags, code);
}

/* The relaxation at x was integral but its rounding failed a row (the
 * continuous columns were placed for the fractional values): solve again
 * with the integer columns fixed to the rounded values. */
static int fixed_solve(bb_ctx *b, const double *lo, const double *hi, const double *xr,
                       sv_code *code)
{
    double *mem = malloc((2 * b->ncols + 1) * sizeof *mem);
    if (!mem) {
        *code = SV_ENOMEM;
        return -1;
    }
    double *flo = mem, *fhi = mem + b->ncols;
    for (size_t j = 0; j < b->ncols; j++) {
        flo[j] = is_integer_col(b, j) ? xr[j] : lo[j];
        fhi[j] = is_integer_col(b, j) ? xr[j] : hi[j];
    }
    sv_result *r = relax(b, flo, fhi, 1, code);
    free(mem);
    if (!r)
        return -1;
    if (r->has_solution && r->values) {
        memcpy(b->scratch, r->values, b->ncols * sizeof *b->scratch);
        for (size_t j = 0; j < b->ncols; j++)
            if (is_integer_col(b, j))
                b->scratch[j] = xr[j];
        offer(b, b->scratch);
    }
    sv_result_free(r);
    return 0;
}

/* The relaxation r of node nd solved: incumbent by rounding, then branch on
 * the most fractional integer column (nd's boxes are reused by one child).
 * 0, or -1 with *code set. */
static int expand(bb_ctx *b, bb_node *nd, const sv_result *r, int is_root, sv_code *code)
{
    double f = b->sign * fm_nlp_eval_objective(b->n, r->values);
    if (!isfinite(f))
        f = b->sign * r->objective;
    if (b->have_best && f >= b->best - prune_slack(b))
        return 0;
    size_t branch = b->ncols;
    double worst = INT_TOL;
    double *xr = b->scratch;
    for (size_t j = 0; j < b->ncols; j++) {
        double v = r->values[j];
        xr[j] = v;
        if (!is_integer_col(b, j))
            continue;
        double frac = fabs(v - nearbyint(v));
        xr[j] = fmin(fmax(nearbyint(v), nd->lo[j]), nd->hi[j]);
        if (frac > worst) {
            worst = frac;
            branch = j;
        }
    }
    int had = b->have_best;
    double before = b->best;
    offer(b, xr);
    int improved = b->have_best && (!had || b->best < before);
    if (!improved && b->has_continuous && (branch == b->ncols || is_root)) {
        /* xr is about to be overwritten by the fixed solve's scratch use */
        double *copy = malloc((b->ncols + 1) * sizeof *copy);
        if (!copy) {
            *code = SV_ENOMEM;
            return -1;
        }
        memcpy(copy, xr, b->ncols * sizeof *copy);
        int rc = fixed_solve(b, nd->lo, nd->hi, copy, code);
        free(copy);
        if (rc != 0)
            return -1;
    }
    if (branch == b->ncols)
        return 0;                      /* integral: the node is done */
    double v = r->values[branch], down = floor(v), up = down + 1;
    int down_first = v - down < 0.5;
    /* push the far side first, so the near side is explored next */
    double save_lo = nd->lo[branch], save_hi = nd->hi[branch];
    for (int side = 0; side < 2; side++) {
        int is_down = (side == 0) != down_first;
        nd->lo[branch] = is_down ? save_lo : fmax(up, save_lo);
        nd->hi[branch] = is_down ? fmin(down, save_hi) : save_hi;
        if (nd->lo[branch] <= nd->hi[branch] && push(b, nd->lo, nd->hi, f) != 0) {
            if (b->stop == 4)
                return 0;
            *code = SV_ENOMEM;
            return -1;
        }
    }
    return 0;
}

/* One node: limits, the interval test, the relaxation, its verdict.
 * 0, or -1 with *code set (the search then ends). */
static int process(bb_ctx *b, bb_node *nd, sv_code *code)
{
    int is_root = b->nodes == 0;
    if (b->o->cancel && *b->o->cancel) {
        b->stop = 2;
        return 0;
    }
    if (b->deadline_ms > 0 && fm_clock_ms() >= b->deadline_ms) {
        b->stop = 1;
        return 0;
    }
    if (b->nodes >= b->node_cap) {
        b->stop = 3;
        return 0;
    }
    if (b->have_best && nd->bound >= b->best - prune_slack(b))
        return 0;
    if (box_closed(b, nd->lo, nd->hi))
        return 0;
    b->nodes++;
    /* several starts at the root (the model's shape); one per node after,
     * as each Ipopt solve costs milliseconds (MUMPS' set-up dominates) */
    int starts = is_root ? b->o->starts : 1;
    sv_result *r = relax(b, nd->lo, nd->hi, starts, code);
    if (!r)
        return -1;
    int rc = 0;
    if (is_root) {
        b->root_starts = r->starts;
        b->root_agreed = r->starts_agreed;
    }
    switch (r->status) {
    case SV_STATUS_OPTIMAL:
    case SV_STATUS_LOCAL_OPTIMAL:
        if (r->has_solution && r->values)
            rc = expand(b, nd, r, is_root, code);
        else
            b->incomplete = 1;
        break;
    case SV_STATUS_INFEASIBLE:
        break;                          /* closed (a proof only when convex) */
    case SV_STATUS_UNBOUNDED:
    case SV_STATUS_INF_OR_UNBD:
        if (is_root)
            b->root_unbounded = 1;
        b->incomplete = 1;
        break;
    case SV_STATUS_TIME_LIMIT:
    case SV_STATUS_FEASIBLE:
        b->stop = 1;
        break;
    case SV_STATUS_INTERRUPTED:
        b->stop = 2;
        break;
    case SV_STATUS_UNSUPPORTED:
        if (is_root) {
            b->unsupported = r;
            return 0;
        }
        b->incomplete = 1;
        break;
    default:
        b->incomplete = 1;
        break;
    }
    sv_result_free(r);
    return rc;
}

/* Which limit stopped the search, into buf. */
static const char *limit_name(int stop, char *buf, size_t len)
{
    if (stop == 1)
        snprintf(buf, len, "the time limit was reached");
    else if (stop == 3)
        snprintf(buf, len, "the node cap (%d nodes, as no time limit was set) was "
                 "reached", BB_NODE_CAP);
    else
        snprintf(buf, len, "the memory cap of open nodes (%u MB) was reached",
                 BB_OPEN_BYTES >> 20);
    return buf;
}

static int out_of_time(const bb_ctx *b)
{
    return (b->o->cancel && *b->o->cancel)
           || (b->deadline_ms > 0 && fm_clock_ms() >= b->deadline_ms);
}

static const char *plural(size_t k)
{
    return k == 1 ? "" : "s";
}

/* A pure integer model's incumbent, improved by moves of one column by +-1
 * and, for up to POLISH_PAIRS columns, of two columns by +-1 each (first
 * improvement, repeated), while time and POLISH_EVALS evaluations last:
 * point evaluations cost microseconds, and branch-and-bound on a nonconvex
 * model can stop next to a better integer point. */
static void polish_moves(bb_ctx *b)
{
    double *x = b->scratch;
    size_t evals = 0, n = b->ncols;
    int better = 1;
    while (better && evals < POLISH_EVALS) {
        better = 0;
        if (out_of_time(b))
            return;
        size_t npair = n <= POLISH_PAIRS ? n : 0;
        for (size_t i = 0; i < n && !better && evals < POLISH_EVALS; i++)
            for (size_t j = i; j < (npair ? npair : i + 1) && !better; j++)
                for (int m = 0; m < (i == j ? 2 : 4) && !better; m++) {
                    memcpy(x, b->best_x, n * sizeof *x);
                    x[i] += m & 1 ? 1 : -1;
                    if (i != j)
                        x[j] += m & 2 ? 1 : -1;
                    if (x[i] < b->box_lo[i] || x[i] > b->box_hi[i]
                        || x[j] < b->box_lo[j] || x[j] > b->box_hi[j])
                        continue;
                    if ((++evals & 255) == 0 && out_of_time(b))
                        return;
                    double before = b->best;
                    offer(b, x);
                    if (b->best < before) {
                        better = 1;
                        b->polished++;
                    }
                }
    }
}

/* Fills r from the finished or stopped search. 0, or -1 out of memory. */
static int bb_report(sv_result *r, const bb_ctx *b)
{
    r->backend = MI_BB_NAME;
    r->starts = b->root_starts;
    r->starts_agreed = b->root_agreed;
    if (b->stop == 2) {
        sv_result_set(r, SV_STATUS_INTERRUPTED, "interrupted during branch-and-bound "
                      "(%zu node%s)", b->nodes, plural(b->nodes));
        return 0;
    }
    if (b->have_best && mi_set_solution(r, b->n, b->best_x) != 0)
        return -1;
    /* with no relaxation solved, intervals closed the root: a proof */
    int proven = (b->convex && !b->incomplete) || b->nodes == 0;
    char lim[120], moves[80] = "";
    if (b->polished)
        snprintf(moves, sizeof moves, " (%zu improving move%s of a neighbourhood "
                 "search)", b->polished, plural(b->polished));
    if (b->stop && b->have_best)
        sv_result_set(r, SV_STATUS_FEASIBLE, "branch-and-bound stopped after %zu "
                      "node%s: %s; the best integer point found%s, not proven optimal",
                      b->nodes, plural(b->nodes), limit_name(b->stop, lim, sizeof lim),
                      moves);
    else if (b->stop)
        sv_result_set(r, SV_STATUS_TIME_LIMIT, "branch-and-bound stopped after %zu "
                      "node%s: %s before any feasible integer point was found",
                      b->nodes, plural(b->nodes), limit_name(b->stop, lim, sizeof lim));
    else if (b->root_unbounded && !b->have_best)
        sv_result_set(r, SV_STATUS_UNBOUNDED, "the continuous relaxation is unbounded "
                      "(Ipopt), so branch-and-bound has no bound to work with");
    else if (b->have_best && proven) {
        sv_result_set(r, SV_STATUS_OPTIMAL, "nonlinear branch-and-bound over a convex "
                      "model, %zu node%s searched completely: proven optimal",
                      b->nodes, plural(b->nodes));
        r->proven = 1;
    } else if (b->have_best)
        sv_result_set(r, SV_STATUS_LOCAL_OPTIMAL, "nonlinear branch-and-bound, %zu "
                      "node%s: the best integer point found%s; %s, so this is not "
                      "proven globally optimal", b->nodes, plural(b->nodes), moves,
                      b->convex ? "some relaxations ended without a verdict"
                                : "the model is not known to be convex and the "
                                  "relaxations are local solves");
    else if (b->nodes == 0)
        sv_result_set(r, SV_STATUS_INFEASIBLE, "no point satisfies every constraint: "
                      "interval bounds over the variables' bounds exclude a constraint");
    else if (proven)
        sv_result_set(r, SV_STATUS_INFEASIBLE, "nonlinear branch-and-bound over a convex "
                      "model, %zu node%s: no integer point satisfies every constraint",
                      b->nodes, plural(b->nodes));
    else
        sv_result_set(r, SV_STATUS_INFEASIBLE, "nonlinear branch-and-bound, %zu node%s: "
                      "no feasible integer point found (the relaxations are local solves "
                      "of a model not known to be convex: not a proof)", b->nodes,
                      plural(b->nodes));
    return 0;
}

static void polish(bb_ctx *b)
{
    polish_moves(b);
    if (b->o->cancel && *b->o->cancel)
        b->stop = 2;              /* the contract: a cancelled solve has no answer */
}

static void free_ctx(bb_ctx *b)
{
    for (size_t k = 0; k < b->nopen; k++)
        free_node(&b->open[k]);
    free(b->open);
    free(b->box);
    free(b->best_x);
    free(b->scratch);
    sv_result_free(b->unsupported);
}

sv_result *mi_branch_and_bound(const fm_nlp *n, const double *lo, const double *hi,
                               const sv_options *o, double start_ms, fm_diags *diags,
                               sv_code *code)
{
    bb_ctx b = {0};
    b.n = n;
    b.p = fm_nlp_program(n);
    b.ncols = fm_program_ncols(b.p);
    b.sign = fm_program_sense(b.p) == FM_MAXIMIZE ? -1 : 1;
    b.convex = sv_nlp_convex(n);
    b.o = o;
    b.start_ms = start_ms;
    b.deadline_ms = o->time_limit_s > 0 ? start_ms + o->time_limit_s * 1000 : 0;
    b.box_lo = lo;
    b.box_hi = hi;
    b.node_cap = o->time_limit_s > 0 ? (size_t)-1 : BB_NODE_CAP;
    b.diags = diags;
    b.max_open = BB_OPEN_BYTES / ((2 * b.ncols + 1) * sizeof(double)) + 1;
    for (size_t j = 0; j < b.ncols; j++)
        b.has_continuous |= !is_integer_col(&b, j);
    size_t nc = b.ncols + 1;
    sv_result *r = sv_result_new();
    b.box = malloc(nc * sizeof *b.box);
    b.best_x = malloc(nc * sizeof *b.best_x);
    b.scratch = malloc(nc * sizeof *b.scratch);
    if (!r || !b.box || !b.best_x || !b.scratch || push(&b, lo, hi, -HUGE_VAL) != 0) {
        *code = SV_ENOMEM;
        goto fail;
    }
    while (b.nopen > 0 && !b.stop) {
        bb_node nd = b.open[--b.nopen];
        int rc = process(&b, &nd, code);
        free_node(&nd);
        if (rc != 0)
            goto fail;
        if (b.unsupported)
            break;
    }
    if (b.unsupported) {
        sv_result_free(r);
        r = b.unsupported;
        b.unsupported = NULL;
        sv_result_drop_solution(r);
        r->backend = MI_BB_NAME;
        sv_result_set(r, SV_STATUS_UNSUPPORTED, "branch-and-bound needs Ipopt at its "
                      "nodes: %s", r->message ? r->message : "refused");
    } else {
        /* a convex model's proven optimum has no better neighbour */
        int proven = b.convex && !b.incomplete && !b.stop;
        if (b.have_best && !b.has_continuous && b.stop != 2 && !proven)
            polish(&b);
        if (bb_report(r, &b) != 0) {
            *code = SV_ENOMEM;
            goto fail;
        }
    }
    free_ctx(&b);
    r->time_ms = fm_clock_ms() - start_ms;
    return r;
fail:
    free_ctx(&b);
    sv_result_free(r);
    return NULL;
}

