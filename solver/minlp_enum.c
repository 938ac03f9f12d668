/* solver/minlp_enum.c — exhaustive search of a small integer domain with
 * bound pruning: the proven optimum of an integer nonlinear program.
 *
 * Design: a depth-first search fixes the free columns one at a time (the
 * smallest ranges first, so that the widest loop is the innermost). Each
 * node is a box: the fixed columns are points, the others their full
 * ranges. When a column is fixed, the rows that mention it are bounded by
 * interval arithmetic over the box (minlp_interval.c) and the subtree is
 * skipped when a row cannot hold anywhere in it, or when the objective's
 * lower bound (upper bound for a maximisation) cannot beat the incumbent.
 * Children of a level of at most SORT_MAX values are visited best bound
 * first, which finds good incumbents early. A subtree of at most
 * TAIL_POINTS points is not bounded but evaluated point by point (bounding
 * a node costs a few points' evaluations, so it pays only above). The last
 * column is a plain loop of point evaluations (on tapes, minlp_tape.c):
 * objective first (cheap rejection), then the rows that mention the column
 * (the others were checked once before the loop). Pruning only ever drops
 * points that fail, so a search that ends is exact:
 * OPTIMAL (proven) or INFEASIBLE. The clock and the cancel flag are read
 * every CHECK_WORK units of work (about a node of a tree evaluated each), so
 * a limit stops the search within milliseconds.
 *
 * The hybrid search is the same walk over the integer columns only: the
 * continuous ones keep their bounds in the boxes (so the pruning stays
 * valid) and every integer point left is completed by one Ipopt solve with
 * the integers fixed. Ipopt's solves are local, so its answer is
 * LOCAL_OPTIMAL, but every integer assignment was tried, which
 * branch-and-bound on a nonconvex model does not promise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "solver/minlp_internal.h"

#define SORT_MAX 64            /* levels up to this many values: best first */
#define TAIL_POINTS 32         /* subtrees this small: points, no intervals */
#define CHECK_WORK 200000.0    /* work units between clock reads */

typedef struct {
    double v, bound;
} child;

typedef struct {
    const fm_nlp *n;
    size_t ncols, nrows;
    double sign;               /* +1 minimise, -1 maximise: search minimises sign*f */
    const double *lo, *hi;
    mi_iv *box;
    double *x;
    size_t *order, nfree;      /* free columns, in the order they are fixed */
    double *below;             /* below[d]: points under a node of depth d */
    size_t *dep_start, *dep_rows;   /* rows mentioning column j: dep_rows[dep_start[j]..] */
    unsigned char *obj_dep;    /* the objective mentions column j */
    child *kids;               /* SORT_MAX per level */
    size_t *row_tag, tag;      /* marks of rows (static_rows_hold) */
    mi_tape *tape;             /* point evaluations */
    /* hybrid: the continuous columns are left to Ipopt at each integer point */
    int hybrid, unbounded;
    const sv_options *o;
    double start_ms;
    fm_diags *diags;
    sv_code err;               /* why the search failed (stop == 3) */
    double *flo, *fhi, *scratch;
    double *best_x, best;
    int have_best;
    double leaf_cost, work, next_check, deadline_ms;
    volatile int *cancel;
    int stop;                  /* 1 time limit, 2 cancelled, 3 failed */
    double leaves, nodes;      /* points evaluated, interval nodes */
} enum_ctx;

/* Marks the columns of e in stamp[] with tag, appending new ones to out. */
static void collect_cols(const fm_expr *e, size_t *stamp, size_t tag, size_t *out,
                         size_t *nout)
{
    if (fm_expr_kind_of(e) == FM_EX_COL) {
        size_t j = (size_t)fm_expr_col(e);
        if (stamp[j] != tag) {
            stamp[j] = tag;
            out[(*nout)++] = j;
        }
        return;
    }
    for (size_t k = 0; k < fm_expr_nkids(e); k++)
        collect_cols(fm_expr_kid(e, k), stamp, tag, out, nout);
}

/* The columns a row (i < nrows) or the objective (i == nrows) mentions,
 * into out (ncols long, distinct); tag must differ from every earlier call's
 * (stamp remembers which columns the current call has seen). */
static size_t row_cols(const enum_ctx *c, size_t i, size_t *stamp, size_t tag,
                       size_t *out)
{
    const fm_program *p = fm_nlp_program(c->n);
    const int *cols;
    const double *coefs;
    size_t nt = i < c->nrows ? fm_program_row(p, i, &cols, &coefs)
                             : fm_program_objective(p, &cols, &coefs);
    const fm_expr *t = i < c->nrows ? fm_nlp_row_tree(c->n, i)
                                    : fm_nlp_objective_tree(c->n);
    size_t nout = 0;
    for (size_t k = 0; k < nt; k++) {
        size_t j = (size_t)cols[k];
        if (coefs[k] != 0 && stamp[j] != tag) {
            stamp[j] = tag;
            out[nout++] = j;
        }
    }
    if (t)
        collect_cols(t, stamp, tag, out, &nout);
    return nout;
}

/* The dependency lists: for each column, the rows that mention it, in two
 * passes (count, fill). 0, or -1 out of memory. */
static int build_deps(enum_ctx *c)
{
    size_t nc = c->ncols + 1;
    size_t *stamp = calloc(nc, sizeof *stamp);
    size_t *tmp = malloc(nc * sizeof *tmp);
    size_t *fill = malloc(nc * sizeof *fill);
    c->dep_start = calloc(nc, sizeof *c->dep_start);
    c->obj_dep = calloc(nc, 1);
    int rc = -1;
    if (!stamp || !tmp || !fill || !c->dep_start || !c->obj_dep)
        goto out;
    size_t tag = 0;
    for (size_t i = 0; i < c->nrows; i++) {
        size_t m = row_cols(c, i, stamp, ++tag, tmp);
        for (size_t k = 0; k < m; k++)
            c->dep_start[tmp[k]]++;
    }
    size_t m = row_cols(c, c->nrows, stamp, ++tag, tmp);
    for (size_t k = 0; k < m; k++)
        c->obj_dep[tmp[k]] = 1;
    size_t run = 0;                 /* counts -> starts */
    for (size_t j = 0; j < c->ncols; j++) {
        size_t cnt = c->dep_start[j];
        c->dep_start[j] = fill[j] = run;
        run += cnt;
    }
    c->dep_start[c->ncols] = run;
    c->dep_rows = malloc((run ? run : 1) * sizeof *c->dep_rows);
    if (!c->dep_rows)
        goto out;
    for (size_t i = 0; i < c->nrows; i++) {
        size_t mm = row_cols(c, i, stamp, ++tag, tmp);
        for (size_t k = 0; k < mm; k++)
            c->dep_rows[fill[tmp[k]]++] = i;
    }
    rc = 0;
out:
    free(stamp);
    free(tmp);
    free(fill);
    return rc;
}

/* Adds units of work; reads the clock and the cancel flag when due.
 * Nonzero when the search must stop. */
static int tick(enum_ctx *c, double units)
{
    c->work += units;
    if (c->work < c->next_check)
        return c->stop;
    c->next_check = c->work + CHECK_WORK;
    if (c->stop)
        return c->stop;
    if (c->cancel && *c->cancel)
        c->stop = 2;
    else if (c->deadline_ms > 0 && fm_clock_ms() >= c->deadline_ms)
        c->stop = 1;
    return c->stop;
}

/* A point: objective first (most points lose there once an incumbent
 * exists), then every row. */
static void leaf(enum_ctx *c)
{
    c->leaves++;
    double f = c->sign * mi_tape_objective(c->tape, c->x);
    if (!isfinite(f) || (c->have_best && f >= c->best))
        return;
    for (size_t i = 0; i < c->nrows; i++)
        if (!mi_tape_row_holds(c->tape, i, c->x))
            return;
    c->best = f;
    c->have_best = 1;
    memcpy(c->best_x, c->x, c->ncols * sizeof *c->x);
}

/* A point of the last level, where only column j moves: the rows that do
 * not mention j were checked once for the whole loop (static_rows_hold). */
static void last_leaf(enum_ctx *c, size_t j)
{
    c->leaves++;
    double f = c->sign * mi_tape_objective(c->tape, c->x);
    if (!isfinite(f) || (c->have_best && f >= c->best))
        return;
    for (size_t k = c->dep_start[j]; k < c->dep_start[j + 1]; k++)
        if (!mi_tape_row_holds(c->tape, c->dep_rows[k], c->x))
            return;
    c->best = f;
    c->have_best = 1;
    memcpy(c->best_x, c->x, c->ncols * sizeof *c->x);
}

/* The rows that do not mention column j, at the current point: all their
 * columns are fixed once only j is free. */
static int static_rows_hold(enum_ctx *c, size_t j)
{
    c->tag++;
    for (size_t k = c->dep_start[j]; k < c->dep_start[j + 1]; k++)
        c->row_tag[c->dep_rows[k]] = c->tag;
    for (size_t i = 0; i < c->nrows; i++)
        if (c->row_tag[i] != c->tag && !mi_tape_row_holds(c->tape, i, c->x))
            return 0;
    return 1;
}

/* An integer point of the hybrid search: Ipopt places the continuous
 * columns (one start, the integer columns fixed); the point it finds is
 * checked on the tapes like any other. */
static void hybrid_leaf(enum_ctx *c)
{
    c->leaves++;
    const fm_program *p = fm_nlp_program(c->n);
    for (size_t j = 0; j < c->ncols; j++) {
        int cont = fm_program_col_kind(p, j) == FM_COL_CONTINUOUS;
        c->flo[j] = cont ? c->lo[j] : c->x[j];
        c->fhi[j] = cont ? c->hi[j] : c->x[j];
    }
    sv_options no = *c->o;
    no.starts = 1;
    sv_code code = SV_OK;
    sv_result *r = sv_ipopt_solve(c->n, c->flo, c->fhi, 0, &no, c->start_ms, c->diags,
                                  &code);
    if (!r) {
        c->err = code;
        c->stop = 3;
        return;
    }
    switch (r->status) {
    case SV_STATUS_OPTIMAL:
    case SV_STATUS_LOCAL_OPTIMAL:
    case SV_STATUS_FEASIBLE:
        if (r->has_solution && r->values) {
            for (size_t j = 0; j < c->ncols; j++)
                c->scratch[j] = c->flo[j] == c->fhi[j] ? c->flo[j] : r->values[j];
            double f = c->sign * mi_tape_objective(c->tape, c->scratch);
            int ok = isfinite(f) && !(c->have_best && f >= c->best);
            for (size_t i = 0; i < c->nrows && ok; i++)
                ok = mi_tape_row_holds(c->tape, i, c->scratch);
            if (ok) {
                c->best = f;
                c->have_best = 1;
                memcpy(c->best_x, c->scratch, c->ncols * sizeof *c->scratch);
            }
        }
        if (r->status == SV_STATUS_FEASIBLE)
            c->stop = 1;                /* Ipopt stopped at the time limit */
        break;
    case SV_STATUS_UNBOUNDED:
        c->unbounded = 1;
        break;
    case SV_STATUS_TIME_LIMIT:
        c->stop = 1;
        break;
    case SV_STATUS_INTERRUPTED:
        c->stop = 2;
        break;
    default:
        break;                          /* infeasible here (locally) */
    }
    sv_result_free(r);
}

static void fix(enum_ctx *c, size_t j, double v)
{
    c->box[j].lo = c->box[j].hi = v;
    c->box[j].maybe_nan = 0;
    c->x[j] = v;
}

/* Fixes column j to v and bounds the rows that mention it over the box.
 * Nonzero when the subtree may hold a better feasible point; *bound is then
 * the objective's bound there (sign applied). */
static int child_ok(enum_ctx *c, size_t j, double v, double parent_bound, double *bound)
{
    fix(c, j, v);
    c->nodes++;
    for (size_t k = c->dep_start[j]; k < c->dep_start[j + 1]; k++) {
        size_t i = c->dep_rows[k];
        if (mi_row_excluded(c->n, i, mi_row_interval(c->n, i, c->box)))
            return 0;
    }
    *bound = parent_bound;
    if (c->obj_dep[j]) {
        mi_iv f = mi_objective_interval(c->n, c->box);
        *bound = c->sign > 0 ? f.lo : -f.hi;
    }
    return !(c->have_best && *bound >= c->best);
}

static int by_bound(const void *a, const void *b)
{
    const child *x = a, *y = b;
    if (x->bound != y->bound)
        return x->bound < y->bound ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Every point of a small subtree (columns order[d..] free), in odometer
 * order: bounding its nodes would cost more than evaluating its points. */
static void tail(enum_ctx *c, size_t d)
{
    for (size_t k = d; k < c->nfree; k++)
        c->x[c->order[k]] = c->lo[c->order[k]];
    for (;;) {
        leaf(c);
        if (tick(c, c->leaf_cost))
            return;
        size_t k = c->nfree;
        for (;;) {
            if (k == d)
                return;                 /* every column wrapped: done */
            size_t j = c->order[--k];
            if (c->x[j] < c->hi[j]) {
                c->x[j] += 1;
                break;
            }
            c->x[j] = c->lo[j];
        }
    }
}

/* The subtree below depth d (columns order[0..d-1] fixed), whose objective
 * bound is bound. */
static void search(enum_ctx *c, size_t d, double bound)
{
    if (d == c->nfree) {
        if (c->hybrid)
            hybrid_leaf(c);
        else
            leaf(c);
        /* an Ipopt solve is worth a clock read */
        tick(c, c->hybrid ? CHECK_WORK : c->leaf_cost);
        return;
    }
    size_t j = c->order[d];
    double lo = c->lo[j], range = c->hi[j] - lo + 1;
    if (d + 1 < c->nfree && c->below[d] <= TAIL_POINTS && !c->hybrid) {
        tail(c, d);
        return;
    }
    if (d + 1 == c->nfree && !c->hybrid) {
        /* the last column: plain point evaluations */
        c->x[j] = lo;
        if (static_rows_hold(c, j))
            for (double k = 0; k < range && !c->stop; k++) {
                c->x[j] = lo + k;
                last_leaf(c, j);
                tick(c, c->leaf_cost);
            }
        else
            tick(c, c->leaf_cost);
    } else if (range <= SORT_MAX) {
        child *kids = c->kids + d * SORT_MAX;
        size_t nk = 0;
        for (double k = 0; k < range && !c->stop; k++) {
            double b;
            if (child_ok(c, j, lo + k, bound, &b))
                kids[nk++] = (child){ lo + k, b };
            tick(c, c->leaf_cost);
        }
        qsort(kids, nk, sizeof *kids, by_bound);
        for (size_t k = 0; k < nk && !c->stop; k++) {
            if (c->have_best && kids[k].bound >= c->best)
                break;                  /* sorted: the rest cannot win either */
            fix(c, j, kids[k].v);
            search(c, d + 1, kids[k].bound);
        }
    } else {
        for (double k = 0; k < range && !c->stop; k++) {
            double b;
            if (child_ok(c, j, lo + k, bound, &b))
                search(c, d + 1, b);
            tick(c, c->leaf_cost);
        }
    }
    c->box[j].lo = c->lo[j];
    c->box[j].hi = c->hi[j];
    c->box[j].maybe_nan = 0;
}

static int by_range(const void *a, const void *b, const double *lo, const double *hi)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double rx = hi[x] - lo[x], ry = hi[y] - lo[y];
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return (x > y) - (x < y);
}

/* Insertion sort of the free columns by range (there are few: the domain
 * is capped, so at most log2(MI_ENUM_CAP) have a range above 1). */
static void order_columns(enum_ctx *c)
{
    for (size_t a = 1; a < c->nfree; a++)
        for (size_t b = a; b > 0 && by_range(&c->order[b], &c->order[b - 1], c->lo, c->hi) < 0; b--) {
            size_t t = c->order[b];
            c->order[b] = c->order[b - 1];
            c->order[b - 1] = t;
        }
}

static void free_ctx(enum_ctx *c)
{
    free(c->box);
    free(c->x);
    free(c->best_x);
    free(c->order);
    free(c->below);
    free(c->kids);
    free(c->dep_start);
    free(c->dep_rows);
    free(c->obj_dep);
    free(c->row_tag);
    mi_tape_free(c->tape);
    free(c->flo);
}

/* The verdict of a hybrid search that ran to its end. */
static void hybrid_verdict(sv_result *r, const enum_ctx *c, double domain)
{
    if (c->unbounded)
        sv_result_set(r, SV_STATUS_UNBOUNDED, "Ipopt found the continuous variables' "
                      "problem unbounded at some integer point");
    else if (c->have_best)
        sv_result_set(r, SV_STATUS_LOCAL_OPTIMAL, "every one of the %.0f integer points "
                      "searched (%.0f solved by Ipopt for the continuous variables, the "
                      "rest pruned by bounds): the best found; Ipopt's solves are local "
                      "and the model is not known to be convex, so not proven globally "
                      "optimal", domain, c->leaves);
    else
        sv_result_set(r, SV_STATUS_INFEASIBLE, "none of the %.0f integer points gave "
                      "a feasible point (%.0f solved by Ipopt, the rest pruned by "
                      "bounds; local solves: not a proof)", domain, c->leaves);
}

/* Fills r from the finished (or stopped) search. 0, or -1 out of memory. */
static int report(sv_result *r, const enum_ctx *c, double domain)
{
    const char *what = c->hybrid ? "search of the integer points" : "exhaustive search";
    r->backend = c->hybrid ? MI_HYBRID_NAME : MI_ENUM_NAME;
    if (c->stop == 2) {
        sv_result_set(r, SV_STATUS_INTERRUPTED, "interrupted during the %s (%.0f of "
                      "%.0g integer points evaluated)", what, c->leaves, domain);
        return 0;
    }
    if (c->have_best && mi_set_solution(r, c->n, c->best_x) != 0)
        return -1;
    if (c->stop == 1 && c->have_best)
        sv_result_set(r, SV_STATUS_FEASIBLE, "time limit reached during the %s (%.0f "
                      "of %.0g integer points evaluated, others pruned): the best point "
                      "found, not proven optimal", what, c->leaves, domain);
    else if (c->stop == 1)
        sv_result_set(r, SV_STATUS_TIME_LIMIT, "time limit reached during the %s "
                      "(%.0f of %.0g integer points evaluated): no feasible point found "
                      "yet", what, c->leaves, domain);
    else if (c->hybrid)
        hybrid_verdict(r, c, domain);
    else if (c->have_best) {
        sv_result_set(r, SV_STATUS_OPTIMAL, "exhaustive search of %.0f integer points "
                      "(%.0f evaluated, the rest pruned by bounds at %.0f nodes): "
                      "proven optimal", domain, c->leaves, c->nodes);
        r->proven = 1;
    } else
        sv_result_set(r, SV_STATUS_INFEASIBLE, "exhaustive search of %.0f integer "
                      "points (%.0f evaluated, the rest pruned by bounds at %.0f nodes): "
                      "none satisfies every constraint", domain, c->leaves, c->nodes);
    return 0;
}

sv_result *mi_enumerate(const fm_nlp *n, const double *lo, const double *hi,
                        double domain, int hybrid, const sv_options *o,
                        double start_ms, fm_diags *diags, sv_code *code)
{
    const fm_program *p = fm_nlp_program(n);
    enum_ctx c = {0};
    c.n = n;
    c.ncols = fm_program_ncols(p);
    c.nrows = fm_program_nrows(p);
    c.sign = fm_program_sense(p) == FM_MAXIMIZE ? -1 : 1;
    c.lo = lo;
    c.hi = hi;
    c.cancel = o->cancel;
    c.deadline_ms = o->time_limit_s > 0 ? start_ms + o->time_limit_s * 1000 : 0;
    c.next_check = 0;           /* the first tick reads the clock */
    c.leaf_cost = mi_point_cost(n);
    c.hybrid = hybrid;
    c.o = o;
    c.start_ms = start_ms;
    c.diags = diags;
    size_t nc = c.ncols + 1;
    c.flo = malloc(3 * nc * sizeof *c.flo);
    if (c.flo) {
        c.fhi = c.flo + nc;
        c.scratch = c.fhi + nc;
    }
    sv_result *r = sv_result_new();
    c.box = malloc(nc * sizeof *c.box);
    c.x = malloc(nc * sizeof *c.x);
    c.best_x = malloc(nc * sizeof *c.best_x);
    c.order = malloc(nc * sizeof *c.order);
    c.row_tag = calloc(c.nrows + 1, sizeof *c.row_tag);
    c.tape = mi_tape_new(n);
    if (!r || !c.flo || !c.row_tag || !c.tape || !c.box || !c.x || !c.best_x || !c.order || build_deps(&c) != 0)
        goto oom;
    for (size_t j = 0; j < c.ncols; j++) {
        c.box[j] = (mi_iv){ lo[j], hi[j], 0 };
        c.x[j] = lo[j];
        int cont = fm_program_col_kind(p, j) == FM_COL_CONTINUOUS;
        if (hi[j] > lo[j] && !(hybrid && cont))
            c.order[c.nfree++] = j;
    }
    order_columns(&c);
    c.kids = malloc((c.nfree ? c.nfree : 1) * SORT_MAX * sizeof *c.kids);
    c.below = malloc((c.nfree + 1) * sizeof *c.below);
    if (!c.kids || !c.below)
        goto oom;
    c.below[c.nfree] = 1;
    for (size_t d = c.nfree; d-- > 0;)
        c.below[d] = c.below[d + 1] * (hi[c.order[d]] - lo[c.order[d]] + 1);
    /* the root: a row that cannot hold anywhere in the box ends the search */
    int excluded = 0;
    for (size_t i = 0; i < c.nrows && !excluded; i++)
        excluded = mi_row_excluded(n, i, mi_row_interval(n, i, c.box));
    if (!excluded && !tick(&c, 0)) {
        mi_iv f = mi_objective_interval(n, c.box);
        search(&c, 0, c.sign > 0 ? f.lo : -f.hi);
    }
    if (c.stop == 3) {
        *code = c.err;
        free_ctx(&c);
        sv_result_free(r);
        return NULL;
    }
    if (report(r, &c, domain) != 0)
        goto oom;
    free_ctx(&c);
    r->time_ms = fm_clock_ms() - start_ms;
    return r;
oom:
    free_ctx(&c);
    sv_result_free(r);
    *code = SV_ENOMEM;
    return NULL;
}
