/* solver/minlp_bounds.c — bounds implied by the constraints (feasibility-
 * based bound tightening), so that integer variables declared without upper
 * bounds, as word problems write them ("x >= 0, integer", with a budget
 * row), still get a finite domain the exhaustive search can prove.
 *
 * Design: rounds over the rows. A row  lo <= sum of terms <= hi  (its linear
 * terms, and the terms of its tree when the tree is a sum) bounds each term
 * by the row's bounds minus the interval of the other terms (forward
 * intervals from minlp_interval.c, infinities counted apart so that one
 * unbounded term does not hide the others). A term's bound is then pushed
 * down through the operators that can be inverted on an interval: sums,
 * negation, products with a factor of fixed sign, integer and positive
 * powers, sqrt, exp, log, down to the columns. Integer columns round inward.
 * Every step is widened outward (the row tolerance of mi_feas_tol and a few
 * rounding errors), so no point the search would accept is ever cut off; an
 * empty domain is therefore a proof of infeasibility. Work is capped: at
 * most MAX_ROUNDS rounds (3 for models of more than 1e5 nodes and
 * nonzeros; the time limit and the cancel flag end them early), the push-down stops MAX_DEPTH levels into a tree,
 * and products of more than MAX_FACTORS factors are not inverted.
 */
#include <math.h>
#include <stdlib.h>
#include "solver/minlp_internal.h"

#define MAX_ROUNDS 20
#define MAX_DEPTH 12
#define MAX_FACTORS 8
#define REL_SLACK 1e-9
#define INT_SLACK 1e-6       /* 32.9999995 still allows 33 */

typedef struct {
    const fm_nlp *n;
    const fm_program *p;
    mi_iv *box;
    int changed, empty;
} tightener;

static mi_iv outward(double lo, double hi)
{
    mi_iv v = { lo - fabs(lo) * REL_SLACK - 1e-12, hi + fabs(hi) * REL_SLACK + 1e-12, 0 };
    return v;
}

/* Intersects column j with r. */
static void tighten_col(tightener *t, size_t j, mi_iv r)
{
    if (isnan(r.lo) || isnan(r.hi))
        return;
    mi_iv *b = &t->box[j];
    double lo = fmax(b->lo, r.lo), hi = fmin(b->hi, r.hi);
    if (fm_program_col_kind(t->p, j) != FM_COL_CONTINUOUS) {
        if (isfinite(lo))
            lo = ceil(lo - INT_SLACK);
        if (isfinite(hi))
            hi = floor(hi + INT_SLACK);
    }
    if (lo > hi) {
        t->empty = 1;
        return;
    }
    /* continuous bounds that creep by tiny steps do not count as progress */
    double eps = 1e-7 * (1 + fmax(fabs(lo), fabs(hi)));
    if (lo > b->lo + eps || hi < b->hi - eps)
        t->changed = 1;
    b->lo = lo;
    b->hi = hi;
}

/* Sums with infinities counted apart: the sum of all terms but one. */
typedef struct {
    double lo, hi;          /* finite parts */
    int ninf_lo, ninf_hi;   /* terms with an infinite bound */
} sum_info;

static void info_add(sum_info *s, mi_iv v)
{
    if (isinf(v.lo)) s->ninf_lo++; else s->lo += v.lo;
    if (isinf(v.hi)) s->ninf_hi++; else s->hi += v.hi;
}

/* Row bounds [rlo, rhi] minus the sum of every term but v. */
static mi_iv residual(const sum_info *s, mi_iv v, double rlo, double rhi)
{
    int inf_lo = s->ninf_lo - (isinf(v.lo) ? 1 : 0);
    int inf_hi = s->ninf_hi - (isinf(v.hi) ? 1 : 0);
    double others_lo = inf_lo ? -HUGE_VAL : s->lo - (isinf(v.lo) ? 0 : v.lo);
    double others_hi = inf_hi ? HUGE_VAL : s->hi - (isinf(v.hi) ? 0 : v.hi);
    double mag = fabs(s->lo) + fabs(s->hi);
    mi_iv r = outward(rlo - others_hi, rhi - others_lo);
    r.lo -= mag * 1e-14;
    r.hi += mag * 1e-14;
    return r;
}

static void push_down(tightener *t, const fm_expr *e, mi_iv r, int depth);

/* The kids of an ADD node given that their sum lies in r. */
static void push_sum(tightener *t, const fm_expr *e, mi_iv r, int depth)
{
    size_t nk = fm_expr_nkids(e);
    sum_info s = {0};
    for (size_t k = 0; k < nk; k++)
        info_add(&s, mi_expr_interval(fm_expr_kid(e, k), t->box));
    for (size_t k = 0; k < nk && !t->empty; k++) {
        const fm_expr *kid = fm_expr_kid(e, k);
        mi_iv v = mi_expr_interval(kid, t->box);
        push_down(t, kid, residual(&s, v, r.lo, r.hi), depth + 1);
    }
}

/* a / b at corners of intervals, where inf / inf is the infinity of the
 * quotient's sign (the quotient of two growing numbers can be anything). */
static double corner_div(double a, double b)
{
    if (isinf(a) && isinf(b))
        return (a > 0) == (b > 0) ? HUGE_VAL : -HUGE_VAL;
    return a / b;
}

/* x / y for a y of fixed sign (0 not inside), widened. */
static mi_iv divide(mi_iv x, mi_iv y)
{
    double q[4] = { corner_div(x.lo, y.lo), corner_div(x.lo, y.hi),
                    corner_div(x.hi, y.lo), corner_div(x.hi, y.hi) };
    double lo = q[0], hi = q[0];
    for (int k = 0; k < 4; k++) {
        if (isnan(q[k]))
            return (mi_iv){ -HUGE_VAL, HUGE_VAL, 1 };
        lo = fmin(lo, q[k]);
        hi = fmax(hi, q[k]);
    }
    return outward(lo, hi);
}

static void push_product(tightener *t, const fm_expr *e, mi_iv r, int depth)
{
    size_t nk = fm_expr_nkids(e);
    if (nk > MAX_FACTORS)
        return;
    mi_iv v[MAX_FACTORS];
    for (size_t k = 0; k < nk; k++)
        v[k] = mi_expr_interval(fm_expr_kid(e, k), t->box);
    for (size_t k = 0; k < nk && !t->empty; k++) {
        mi_iv others = { 1, 1, 0 };
        for (size_t m = 0; m < nk; m++) {
            if (m == k)
                continue;
            double p[4] = { others.lo * v[m].lo, others.lo * v[m].hi,
                            others.hi * v[m].lo, others.hi * v[m].hi };
            double lo = p[0], hi = p[0];
            for (int q = 1; q < 4; q++) {
                lo = fmin(lo, p[q]);
                hi = fmax(hi, p[q]);
            }
            others = outward(lo, hi);
            others.maybe_nan = others.maybe_nan || v[m].maybe_nan || isnan(lo) || isnan(hi);
        }
        /* a factor of fixed sign, finite: kid = product / others */
        if (others.maybe_nan || !(others.lo > 0 || others.hi < 0))
            continue;
        push_down(t, fm_expr_kid(e, k), divide(r, others), depth + 1);
    }
}

/* kid ^ p in r, for a constant p. */
static void push_power(tightener *t, const fm_expr *base, double p, mi_iv r, int depth)
{
    if (!(p > 0) || isinf(p))
        return;
    if (p == nearbyint(p)) {
        if (fmod(p, 2) == 0) {
            if (r.hi < 0) {
                t->empty = 1;
                return;
            }
            double root = pow(r.hi, 1 / p);
            push_down(t, base, outward(-root, root), depth + 1);
        } else {
            double lo = copysign(pow(fabs(r.lo), 1 / p), r.lo);
            double hi = copysign(pow(fabs(r.hi), 1 / p), r.hi);
            push_down(t, base, outward(lo, hi), depth + 1);
        }
        return;
    }
    /* a fractional power is NaN below 0: the base is >= 0 where feasible */
    if (r.hi < 0) {
        t->empty = 1;
        return;
    }
    push_down(t, base, outward(r.lo > 0 ? pow(r.lo, 1 / p) : 0, pow(r.hi, 1 / p)),
              depth + 1);
}

/* Narrows the columns of e knowing that e's value lies in r at every
 * feasible point. */
static void push_down(tightener *t, const fm_expr *e, mi_iv r, int depth)
{
    if (t->empty || depth > MAX_DEPTH || isnan(r.lo) || isnan(r.hi))
        return;
    if (r.lo > r.hi) {
        t->empty = 1;
        return;
    }
    if (r.lo == -HUGE_VAL && r.hi == HUGE_VAL)
        return;
    const fm_expr *kid = fm_expr_nkids(e) ? fm_expr_kid(e, 0) : NULL;
    switch (fm_expr_kind_of(e)) {
    case FM_EX_COL:
        tighten_col(t, (size_t)fm_expr_col(e), r);
        break;
    case FM_EX_CONST:
        if (fm_expr_value(e) < r.lo || fm_expr_value(e) > r.hi)
            t->empty = 1;
        break;
    case FM_EX_NEG:
        push_down(t, kid, outward(-r.hi, -r.lo), depth + 1);
        break;
    case FM_EX_ADD:
        push_sum(t, e, r, depth);
        break;
    case FM_EX_MUL:
        push_product(t, e, r, depth);
        break;
    case FM_EX_POW:
        if (fm_expr_kind_of(fm_expr_kid(e, 1)) == FM_EX_CONST)
            push_power(t, kid, fm_expr_value(fm_expr_kid(e, 1)), r, depth);
        break;
    case FM_EX_SQRT:
        if (r.hi < 0) {
            t->empty = 1;
            break;
        }
        push_down(t, kid, outward(r.lo > 0 ? r.lo * r.lo : 0, r.hi * r.hi), depth + 1);
        break;
    case FM_EX_EXP:
        if (r.hi < 0) {
            t->empty = 1;
            break;
        }
        /* exp underflows to 0 below -745: no upper bound from a tiny r.hi */
        push_down(t, kid, outward(r.lo > 0 ? log(r.lo) : -HUGE_VAL,
                                  r.hi > 1e-300 ? log(r.hi) : HUGE_VAL), depth + 1);
        break;
    case FM_EX_LOG:
        push_down(t, kid, outward(exp(r.lo), exp(r.hi)), depth + 1);
        break;
    default:
        break;                       /* not inverted: no narrowing */
    }
}

/* One pass over row i: its terms (linear, then the tree's, a sum flattened
 * one level) each get the row's bounds minus the others. */
static void tighten_row(tightener *t, size_t i)
{
    double rlo, rhi;
    fm_program_row_bounds(t->p, i, &rlo, &rhi);
    rlo -= mi_feas_tol(rlo);
    rhi += mi_feas_tol(rhi);
    const int *cols;
    const double *coefs;
    size_t nt = fm_program_row(t->p, i, &cols, &coefs);
    const fm_expr *tree = fm_nlp_row_tree(t->n, i);
    int flat = tree && fm_expr_kind_of(tree) == FM_EX_ADD;
    size_t ntree = !tree ? 0 : flat ? fm_expr_nkids(tree) : 1;
    sum_info s = {0};
    for (size_t k = 0; k < nt; k++) {
        if (coefs[k] == 0 || !isfinite(coefs[k]))
            continue;
        mi_iv c = { coefs[k], coefs[k], 0 };
        mi_iv x = t->box[cols[k]];
        double p[4] = { c.lo * x.lo, c.lo * x.hi, c.hi * x.lo, c.hi * x.hi };
        info_add(&s, (mi_iv){ fmin(fmin(p[0], p[1]), fmin(p[2], p[3])),
                              fmax(fmax(p[0], p[1]), fmax(p[2], p[3])), 0 });
    }
    for (size_t k = 0; k < ntree; k++)
        info_add(&s, mi_expr_interval(flat ? fm_expr_kid(tree, k) : tree, t->box));
    if (isnan(s.lo) || isnan(s.hi))
        return;
    for (size_t k = 0; k < nt && !t->empty; k++) {
        if (coefs[k] == 0 || !isfinite(coefs[k]))
            continue;
        mi_iv x = t->box[cols[k]];
        double p[2] = { coefs[k] * x.lo, coefs[k] * x.hi };
        mi_iv v = { fmin(p[0], p[1]), fmax(p[0], p[1]), 0 };
        mi_iv r = residual(&s, v, rlo, rhi);
        mi_iv q = coefs[k] > 0 ? outward(r.lo / coefs[k], r.hi / coefs[k])
                               : outward(r.hi / coefs[k], r.lo / coefs[k]);
        tighten_col(t, (size_t)cols[k], q);
    }
    for (size_t k = 0; k < ntree && !t->empty; k++) {
        const fm_expr *e = flat ? fm_expr_kid(tree, k) : tree;
        mi_iv v = mi_expr_interval(e, t->box);
        push_down(t, e, residual(&s, v, rlo, rhi), 1);
    }
}

/* Nonzero when the time limit has passed or the solve was cancelled. */
static int out_of_time(const sv_options *o, double start_ms)
{
    return (o->cancel && *o->cancel)
           || (o->time_limit_s > 0 && fm_clock_ms() - start_ms >= o->time_limit_s * 1000);
}

int mi_tighten_bounds(const fm_nlp *n, double *lo, double *hi, const sv_options *o,
                      double start_ms)
{
    const fm_program *p = fm_nlp_program(n);
    size_t ncols = fm_program_ncols(p), nrows = fm_program_nrows(p);
    tightener t = { n, p, malloc((ncols + 1) * sizeof *t.box), 0, 0 };
    if (!t.box)
        return -1;
    for (size_t j = 0; j < ncols; j++)
        t.box[j] = (mi_iv){ lo[j], hi[j], 0 };
    /* big models get fewer rounds; a limit stops early (what was narrowed
     * so far is valid) */
    double size = (double)fm_nlp_nodes(n) + (double)fm_program_nonzeros(p);
    int rounds = size > 1e5 ? 3 : MAX_ROUNDS;
    for (int round = 0; round < rounds && !t.empty; round++) {
        t.changed = 0;
        for (size_t i = 0; i < nrows && !t.empty; i++) {
            tighten_row(&t, i);
            if ((i & 255) == 255 && out_of_time(o, start_ms))
                round = rounds;
        }
        if (!t.changed || out_of_time(o, start_ms))
            break;
    }
    if (!t.empty)
        for (size_t j = 0; j < ncols; j++)
            if (fm_program_col_kind(p, j) != FM_COL_CONTINUOUS) {
                lo[j] = t.box[j].lo;
                hi[j] = t.box[j].hi;
            }
    free(t.box);
    return t.empty;
}
