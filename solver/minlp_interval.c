/* solver/minlp_interval.c — interval arithmetic over the expression trees
 * of a nonlinear program, for the pruning of the integer search.
 *
 * Design: the interval of a node is computed from its children's by the
 * extended-real rules of each operator (infinite endpoints are limits that
 * IEEE arithmetic reproduces), then widened outward by a few rounding errors,
 * so that a point evaluation by fm_expr_eval anywhere in the box lies inside.
 * NaN is tracked apart (mi_iv.maybe_nan): the interval holds the non-NaN
 * values, and the operators that can turn a NaN into a number (fmin, fmax,
 * pow(x, 0), pow(1, y)) widen their result accordingly. Anything the rules
 * below do not cover (a division by an interval holding 0, a power of a
 * base that may be negative with a non-integer exponent, ...) is the whole
 * line: no pruning, never a wrong one.
 */
#include <float.h>
#include <math.h>
#include "solver/minlp_internal.h"

#define ARITH_REL (4 * DBL_EPSILON)   /* one arithmetic operation */
#define LIBM_REL 1e-14                /* exp, log, pow, sqrt: a few ulp */

static mi_iv whole(void)
{
    mi_iv v = { -HUGE_VAL, HUGE_VAL, 1 };
    return v;
}

static mi_iv make(double lo, double hi, int maybe_nan)
{
    mi_iv v = { lo, hi, maybe_nan };
    if (isnan(lo) || isnan(hi) || lo > hi)
        return whole();
    return v;
}

/* Outward by rel of each endpoint's magnitude plus abs. */
static mi_iv widen(mi_iv v, double rel, double abs_slack)
{
    v.lo -= fabs(v.lo) * rel + abs_slack;
    v.hi += fabs(v.hi) * rel + abs_slack;
    return v;
}

static int contains(mi_iv v, double x)
{
    return v.lo <= x && x <= v.hi;
}

/* a*b at endpoints, where 0 * inf is 0: the limit of the finite products
 * (the point 0 * inf itself is NaN, flagged by the caller). */
static double endpoint_mul(double a, double b)
{
    if (a == 0 || b == 0)
        return 0;
    return a * b;
}

static int has_inf(mi_iv v)
{
    return isinf(v.lo) || isinf(v.hi);
}

static mi_iv iv_mul(mi_iv a, mi_iv b)
{
    double p[4] = { endpoint_mul(a.lo, b.lo), endpoint_mul(a.lo, b.hi),
                    endpoint_mul(a.hi, b.lo), endpoint_mul(a.hi, b.hi) };
    double lo = p[0], hi = p[0];
    for (int k = 1; k < 4; k++) {
        lo = fmin(lo, p[k]);
        hi = fmax(hi, p[k]);
    }
    int nan = a.maybe_nan || b.maybe_nan || (contains(a, 0) && has_inf(b))
              || (contains(b, 0) && has_inf(a));
    return widen(make(lo, hi, nan), ARITH_REL, 0);
}

static mi_iv iv_div(mi_iv a, mi_iv b)
{
    if (contains(b, 0))
        return whole();          /* x/0 is infinite or NaN: no pruning */
    mi_iv inv = make(1 / b.hi, 1 / b.lo, b.maybe_nan);
    inv = widen(inv, ARITH_REL, 0);
    mi_iv q = iv_mul(a, inv);
    if (has_inf(a) && has_inf(b))
        q.maybe_nan = 1;         /* inf/inf */
    return q;
}

/* Sum of terms with the rounding slack of the whole sum: the error of a
 * floating sum is bounded by n * eps * (sum of magnitudes). */
typedef struct {
    double lo, hi, mag;
    size_t n;
    int nan, neg_inf, pos_inf;
} sum_acc;

static void sum_add(sum_acc *s, mi_iv v)
{
    s->lo += v.lo;
    s->hi += v.hi;
    if (isfinite(v.lo))
        s->mag += fabs(v.lo);
    if (isfinite(v.hi))
        s->mag += fabs(v.hi);
    s->n++;
    s->nan |= v.maybe_nan;
    s->neg_inf |= v.lo == -HUGE_VAL;
    s->pos_inf |= v.hi == HUGE_VAL;
}

static mi_iv sum_result(const sum_acc *s)
{
    /* inf + -inf at some point of the box is NaN */
    mi_iv v = make(s->lo, s->hi, s->nan || (s->neg_inf && s->pos_inf));
    return widen(v, ARITH_REL, (double)(s->n + 1) * DBL_EPSILON * s->mag);
}

static int is_point(mi_iv v)
{
    return v.lo == v.hi && !v.maybe_nan;
}

/* base^k for an integer k (k != 0). */
static mi_iv pow_integer(mi_iv b, double k)
{
    double plo = pow(b.lo, k), phi = pow(b.hi, k);
    int even = fmod(k, 2) == 0;
    if (k < 0 && contains(b, 0))
        return whole();
    double lo = fmin(plo, phi), hi = fmax(plo, phi);
    if (k > 0 && even && b.lo < 0 && b.hi > 0)
        lo = 0;
    return widen(make(lo, hi, b.maybe_nan), LIBM_REL, 0);
}

static mi_iv iv_exp(mi_iv a)
{
    return widen(make(exp(a.lo), exp(a.hi), a.maybe_nan), LIBM_REL, 0);
}

/* log over the part of a that is >= 0 (negative values give NaN). */
static mi_iv iv_log(mi_iv a, int base10)
{
    if (a.hi < 0)
        return whole();
    double lo = fmax(a.lo, 0);
    double l = base10 ? log10(lo) : log(lo), h = base10 ? log10(a.hi) : log(a.hi);
    return widen(make(l, h, a.maybe_nan || a.lo < 0), LIBM_REL, 0);
}

static mi_iv iv_pow(mi_iv b, mi_iv e)
{
    mi_iv r;
    if (is_point(e) && e.lo == 0)
        return make(1, 1, 0);                 /* pow(anything, 0) = 1 */
    if (is_point(b) && b.lo == 1)
        return make(1, 1, 0);                 /* pow(1, anything) = 1 */
    if (is_point(e) && isfinite(e.lo) && e.lo == nearbyint(e.lo)) {
        r = pow_integer(b, e.lo);
    } else if (is_point(e) && isfinite(e.lo)) {
        /* a fractional power: NaN for a negative base */
        if (b.hi < 0)
            return whole();
        double lo = fmax(b.lo, 0), p = e.lo;
        double plo = pow(lo, p), phi = pow(b.hi, p);
        r = widen(make(fmin(plo, phi), fmax(plo, phi), b.maybe_nan || b.lo < 0),
                  LIBM_REL, 0);
    } else if (b.lo > 0) {
        r = iv_exp(iv_mul(iv_log(b, 0), e));  /* b^e = exp(e log b) */
        r.maybe_nan |= b.maybe_nan || e.maybe_nan;
    } else {
        return whole();
    }
    /* a NaN base with a zero exponent, or a NaN exponent of base 1, is 1 */
    if ((b.maybe_nan && contains(e, 0)) || (e.maybe_nan && contains(b, 1))) {
        r.lo = fmin(r.lo, 1);
        r.hi = fmax(r.hi, 1);
    }
    return r;
}

/* min or max of the children; with a possible NaN child (which fmin and
 * fmax skip) the hull of the children. */
static mi_iv iv_minmax(const fm_expr *e, const mi_iv *box, int is_min)
{
    size_t nk = fm_expr_nkids(e);
    mi_iv first = mi_expr_interval(fm_expr_kid(e, 0), box);
    double lo = first.lo, hi = first.hi, hull_lo = first.lo, hull_hi = first.hi;
    int nan = first.maybe_nan;
    for (size_t k = 1; k < nk; k++) {
        mi_iv v = mi_expr_interval(fm_expr_kid(e, k), box);
        nan |= v.maybe_nan;
        lo = is_min ? fmin(lo, v.lo) : fmax(lo, v.lo);
        hi = is_min ? fmin(hi, v.hi) : fmax(hi, v.hi);
        hull_lo = fmin(hull_lo, v.lo);
        hull_hi = fmax(hull_hi, v.hi);
    }
    if (nan)
        return make(hull_lo, hull_hi, 1);
    return make(lo, hi, 0);
}

static mi_iv iv_unary(fm_expr_kind kind, mi_iv a)
{
    switch (kind) {
    case FM_EX_NEG:
        return make(-a.hi, -a.lo, a.maybe_nan);
    case FM_EX_ABS:
        if (a.lo >= 0)
            return a;
        if (a.hi <= 0)
            return make(-a.hi, -a.lo, a.maybe_nan);
        return make(0, fmax(-a.lo, a.hi), a.maybe_nan);
    case FM_EX_SQRT:
        if (a.hi < 0)
            return whole();
        return widen(make(sqrt(fmax(a.lo, 0)), sqrt(a.hi), a.maybe_nan || a.lo < 0),
                     LIBM_REL, 0);
    case FM_EX_EXP:
        return iv_exp(a);
    case FM_EX_LOG:
        return iv_log(a, 0);
    case FM_EX_LOG10:
        return iv_log(a, 1);
    case FM_EX_FLOOR:
        return make(floor(a.lo), floor(a.hi), a.maybe_nan);
    case FM_EX_CEIL:
        return make(ceil(a.lo), ceil(a.hi), a.maybe_nan);
    default:
        return whole();
    }
}

/* kid 0 mod kid 1 = a - b*floor(a/b): within [0, b] for a positive constant
 * b when a/b is small enough for the rounding to stay inside; else whole. */
static mi_iv iv_mod(mi_iv a, mi_iv b)
{
    if (!is_point(b) || !(b.lo > 0) || !isfinite(b.lo) || a.maybe_nan
        || !(fabs(a.lo) <= 1e12 * b.lo) || !(fabs(a.hi) <= 1e12 * b.lo))
        return whole();
    return widen(make(0, b.lo, 0), ARITH_REL, b.lo * 1e-3);
}

mi_iv mi_expr_interval(const fm_expr *e, const mi_iv *box)
{
    fm_expr_kind kind = fm_expr_kind_of(e);
    size_t nk = fm_expr_nkids(e);
    switch (kind) {
    case FM_EX_CONST:
        return make(fm_expr_value(e), fm_expr_value(e), isnan(fm_expr_value(e)));
    case FM_EX_COL:
        return box[fm_expr_col(e)];
    case FM_EX_ADD: {
        sum_acc s = {0};
        for (size_t k = 0; k < nk; k++)
            sum_add(&s, mi_expr_interval(fm_expr_kid(e, k), box));
        return sum_result(&s);
    }
    case FM_EX_MUL: {
        mi_iv v = mi_expr_interval(fm_expr_kid(e, 0), box);
        for (size_t k = 1; k < nk; k++)
            v = iv_mul(v, mi_expr_interval(fm_expr_kid(e, k), box));
        return v;
    }
    case FM_EX_MIN:
    case FM_EX_MAX:
        return nk ? iv_minmax(e, box, kind == FM_EX_MIN) : whole();
    default:
        break;
    }
    if (nk < 1)
        return whole();
    mi_iv a = mi_expr_interval(fm_expr_kid(e, 0), box);
    if (nk < 2)
        return iv_unary(kind, a);
    mi_iv b = mi_expr_interval(fm_expr_kid(e, 1), box);
    switch (kind) {
    case FM_EX_DIV:
        return iv_div(a, b);
    case FM_EX_POW:
        return iv_pow(a, b);
    case FM_EX_IDIV: {
        mi_iv q = iv_div(a, b);     /* trunc is monotone */
        return make(trunc(q.lo), trunc(q.hi), q.maybe_nan);
    }
    case FM_EX_MOD:
        return iv_mod(a, b);
    default:
        return whole();
    }
}

/* The linear part of n cols/coefs over box, with the tree t (may be NULL)
 * and a constant. */
static mi_iv linear_plus_tree(size_t nterms, const int *cols, const double *coefs,
                              const fm_expr *t, double constant, const mi_iv *box)
{
    sum_acc s = {0};
    sum_add(&s, make(constant, constant, isnan(constant)));
    for (size_t k = 0; k < nterms; k++) {
        mi_iv c = make(coefs[k], coefs[k], isnan(coefs[k]));
        sum_add(&s, iv_mul(c, box[cols[k]]));
    }
    if (t)
        sum_add(&s, mi_expr_interval(t, box));
    return sum_result(&s);
}

mi_iv mi_row_interval(const fm_nlp *n, size_t i, const mi_iv *box)
{
    const int *cols;
    const double *coefs;
    size_t nt = fm_program_row(fm_nlp_program(n), i, &cols, &coefs);
    return linear_plus_tree(nt, cols, coefs, fm_nlp_row_tree(n, i), 0, box);
}

mi_iv mi_objective_interval(const fm_nlp *n, const mi_iv *box)
{
    const fm_program *p = fm_nlp_program(n);
    const int *cols;
    const double *coefs;
    size_t nt = fm_program_objective(p, &cols, &coefs);
    return linear_plus_tree(nt, cols, coefs, fm_nlp_objective_tree(n),
                            fm_program_objective_constant(p), box);
}
