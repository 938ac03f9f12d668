/* solver/convex.c — cheap convexity detection of a nonlinear program
 * (sv_nlp_convex, solver/internal.h).
 *
 * One walk per tree computes each node's curvature (constant, affine,
 * convex, concave, unknown) and sign (nonnegative, nonpositive) by the
 * composition rules of disciplined convex programming; column signs come
 * from the bounds. Recognised: sums, positive (negative) multiples,
 * x^p (p even, or p >= 1 on x >= 0: convex; 0 < p < 1 on x >= 0: concave;
 * p < 0 on x >= 0: convex), c/u for c > 0 and u >= 0 affine, exp of a convex,
 * log and sqrt of a concave, abs of an affine, max of convexes, min of
 * concaves, u*u for one affine u, and the Euclidean norm sqrt(sum of squares
 * of affine terms) (the second-order cone). A row is convex when its body
 * (linear part + tree) is affine, convex with only an upper bound, or
 * concave with only a lower bound; also a product of nonnegative affine
 * factors >= c >= 0 with nothing else in the row (a superlevel set of a
 * geometric mean, e.g. w*h >= 24). Anything else is unknown, and unknown
 * means 0: a model is called convex only when these rules prove it.
 */
#include <math.h>
#include "solver/internal.h"

typedef enum { CV_CONST, CV_AFFINE, CV_CONVEX, CV_CONCAVE, CV_UNKNOWN } curvature;

typedef struct {
    curvature c;
    int nonneg, nonpos;   /* the sign, when known */
    double value;         /* CV_CONST */
} shape;

static shape unknown(void) { shape s = { CV_UNKNOWN, 0, 0, 0 }; return s; }

static shape negate(shape s)
{
    shape r = s;
    r.value = -s.value;
    r.nonneg = s.nonpos; r.nonpos = s.nonneg;
    if (s.c == CV_CONVEX) r.c = CV_CONCAVE;
    else if (s.c == CV_CONCAVE) r.c = CV_CONVEX;
    return r;
}

static shape scale(shape s, double k)
{
    if (k == 0) { shape z = { CV_CONST, 1, 1, 0 }; return z; }
    if (k < 0) s = negate(s), k = -k;
    s.value *= k;
    return s;
}

static int is_convex(curvature c) { return c == CV_CONST || c == CV_AFFINE || c == CV_CONVEX; }
static int is_concave(curvature c) { return c == CV_CONST || c == CV_AFFINE || c == CV_CONCAVE; }
static int is_affine(curvature c) { return c == CV_CONST || c == CV_AFFINE; }

/* Structural equality of two subtrees (u*u is a square). */
static int same_tree(const fm_expr *a, const fm_expr *b)
{
    fm_expr_kind k = fm_expr_kind_of(a);
    if (k != fm_expr_kind_of(b) || fm_expr_nkids(a) != fm_expr_nkids(b)) return 0;
    if (k == FM_EX_CONST) return fm_expr_value(a) == fm_expr_value(b);
    if (k == FM_EX_COL) return fm_expr_col(a) == fm_expr_col(b);
    for (size_t i = 0; i < fm_expr_nkids(a); i++)
        if (!same_tree(fm_expr_kid(a, i), fm_expr_kid(b, i))) return 0;
    return 1;
}

/* The walk's context: the columns' program, and a budget of visits, since
 * the square and norm rules look at a subtree again (a nested pattern could
 * otherwise cost exponential time): out of budget, everything is unknown. */
typedef struct { const fm_program *p; size_t budget; } cv_ctx;

static shape shape_of(cv_ctx *p, const fm_expr *e);

/* A square of an affine term: u^2 or u*u. */
static int affine_square(cv_ctx *p, const fm_expr *e)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    if (k == FM_EX_POW) {
        const fm_expr *x = fm_expr_kid(e, 1);
        return fm_expr_kind_of(x) == FM_EX_CONST && fm_expr_value(x) == 2
               && is_affine(shape_of(p, fm_expr_kid(e, 0)).c);
    }
    if (k == FM_EX_MUL && fm_expr_nkids(e) == 2)
        return same_tree(fm_expr_kid(e, 0), fm_expr_kid(e, 1))
               && is_affine(shape_of(p, fm_expr_kid(e, 0)).c);
    return 0;
}

/* sqrt(s) or s^0.5 where s is a sum of squares of affine terms (and
 * nonnegative constants): a Euclidean norm, convex. */
static int is_norm(cv_ctx *p, const fm_expr *arg)
{
    if (affine_square(p, arg)) return 1;   /* sqrt(u^2) = |u| */
    if (fm_expr_kind_of(arg) != FM_EX_ADD) return 0;
    for (size_t i = 0; i < fm_expr_nkids(arg); i++) {
        const fm_expr *t = fm_expr_kid(arg, i);
        if (fm_expr_kind_of(t) == FM_EX_CONST && fm_expr_value(t) >= 0) continue;
        if (!affine_square(p, t)) return 0;
    }
    return 1;
}

static shape pow_shape(cv_ctx *p, const fm_expr *e)
{
    shape a = shape_of(p, fm_expr_kid(e, 0)), b = shape_of(p, fm_expr_kid(e, 1));
    if (b.c != CV_CONST) return unknown();
    double q = b.value;
    if (a.c == CV_CONST) { shape r = { CV_CONST, 0, 0, pow(a.value, q) }; r.nonneg = r.value >= 0; r.nonpos = r.value <= 0; return r; }
    if (q == 1) return a;
    if (q == 0.5 && is_norm(p, fm_expr_kid(e, 0))) { shape r = { CV_CONVEX, 1, 0, 0 }; return r; }
    shape r = { CV_UNKNOWN, 0, 0, 0 };
    int even = q == floor(q) && fmod(q, 2) == 0;
    r.nonneg = even || a.nonneg;
    if (is_affine(a.c) && even && q > 0) r.c = CV_CONVEX;
    else if (a.nonneg && q >= 1 && is_convex(a.c)) r.c = CV_CONVEX;    /* nondecreasing convex */
    else if (even && q > 0 && a.nonpos && is_concave(a.c)) r.c = CV_CONVEX; /* u^2k, u <= 0 */
    else if (a.nonneg && q > 0 && q < 1 && is_concave(a.c)) r.c = CV_CONCAVE;
    else if (a.nonneg && q < 0 && is_concave(a.c)) r.c = CV_CONVEX;    /* nonincreasing convex */
    return r;
}

static shape mul_shape(cv_ctx *p, const fm_expr *e)
{
    size_t n = fm_expr_nkids(e);
    double k = 1;
    shape var = { CV_CONST, 1, 1, 1 };
    const fm_expr *vars[2] = { NULL, NULL };
    int nvar = 0;
    for (size_t i = 0; i < n; i++) {
        shape s = shape_of(p, fm_expr_kid(e, i));
        if (s.c == CV_CONST) { k *= s.value; continue; }
        if (nvar == 2) return unknown();
        vars[nvar++] = fm_expr_kid(e, i);
        var = s;
    }
    if (nvar == 0) { shape r = { CV_CONST, k >= 0, k <= 0, k }; return r; }
    if (nvar == 1) return scale(var, k);
    /* c * u * u with u affine: c times a square */
    if (same_tree(vars[0], vars[1]) && is_affine(var.c)) {
        shape sq = { CV_CONVEX, 1, 0, 0 };
        return scale(sq, k);
    }
    return unknown();
}

/* Recursion is bounded by the tree depth (FM_MAX_TREE_DEPTH). */
static shape shape_of(cv_ctx *p, const fm_expr *e)
{
    if (p->budget == 0) return unknown();
    p->budget--;
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t n = fm_expr_nkids(e);
    /* products and powers look at their kids themselves */
    shape a = n && k != FM_EX_MUL && k != FM_EX_POW ? shape_of(p, fm_expr_kid(e, 0)) : unknown();
    shape r = unknown();
    switch (k) {
    case FM_EX_CONST:
        r.c = CV_CONST; r.value = fm_expr_value(e);
        r.nonneg = r.value >= 0; r.nonpos = r.value <= 0;
        return r;
    case FM_EX_COL: {
        double lo, hi;
        sv_col_bounds(p->p, (size_t)fm_expr_col(e), &lo, &hi);
        r.c = CV_AFFINE; r.nonneg = lo >= 0; r.nonpos = hi <= 0;
        return r;
    }
    case FM_EX_ADD: {
        int convex = 1, concave = 1, allconst = 1, nonneg = 1, nonpos = 1;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            shape s = i ? shape_of(p, fm_expr_kid(e, i)) : a;
            convex &= is_convex(s.c); concave &= is_concave(s.c);
            allconst &= s.c == CV_CONST; sum += s.value;
            nonneg &= s.nonneg; nonpos &= s.nonpos;
        }
        r.nonneg = nonneg; r.nonpos = nonpos;
        if (allconst) { r.c = CV_CONST; r.value = sum; }
        else if (convex && concave) r.c = CV_AFFINE;
        else if (convex) r.c = CV_CONVEX;
        else if (concave) r.c = CV_CONCAVE;
        return r;
    }
    case FM_EX_NEG: return negate(a);
    case FM_EX_MUL: return mul_shape(p, e);
    case FM_EX_DIV: {
        shape b = shape_of(p, fm_expr_kid(e, 1));
        if (b.c == CV_CONST) return b.value != 0 ? scale(a, 1 / b.value) : unknown();
        /* c / u, c > 0, u >= 0 concave: convex (and c < 0: concave) */
        if (a.c == CV_CONST && b.nonneg && is_concave(b.c)) {
            r.c = a.value > 0 ? CV_CONVEX : a.value < 0 ? CV_CONCAVE : CV_CONST;
            r.nonneg = a.value >= 0; r.nonpos = a.value <= 0;
        }
        return r;
    }
    case FM_EX_POW: return pow_shape(p, e);
    case FM_EX_ABS:
        r.nonneg = 1;
        if (is_affine(a.c)) r.c = a.c == CV_CONST ? CV_CONST : CV_CONVEX;
        r.value = fabs(a.value);
        return r;
    case FM_EX_SQRT:
        r.nonneg = 1;
        if (is_norm(p, fm_expr_kid(e, 0))) r.c = CV_CONVEX;
        else if (is_concave(a.c)) r.c = a.c == CV_CONST ? CV_CONST : CV_CONCAVE;
        r.value = sqrt(a.value);
        return r;
    case FM_EX_EXP:
        r.nonneg = 1;
        if (is_convex(a.c)) r.c = a.c == CV_CONST ? CV_CONST : CV_CONVEX;
        r.value = exp(a.value);
        return r;
    case FM_EX_LOG: case FM_EX_LOG10:
        if (is_concave(a.c)) r.c = a.c == CV_CONST ? CV_CONST : CV_CONCAVE;
        r.value = k == FM_EX_LOG ? log(a.value) : log10(a.value);
        return r;
    case FM_EX_MIN: case FM_EX_MAX: {
        int ok = 1, nonneg = 1, nonpos = 1;
        for (size_t i = 0; i < n; i++) {
            shape s = i ? shape_of(p, fm_expr_kid(e, i)) : a;
            ok &= k == FM_EX_MAX ? is_convex(s.c) : is_concave(s.c);
            nonneg &= s.nonneg; nonpos &= s.nonpos;
        }
        r.nonneg = nonneg; r.nonpos = nonpos;
        if (ok) r.c = k == FM_EX_MAX ? CV_CONVEX : CV_CONCAVE;
        return r;
    }
    default:
        return r;   /* floor, ceil, div, mod */
    }
}

/* A product of nonnegative affine factors (a positive constant allowed):
 * its geometric mean is concave, so  product >= c  with c >= 0 is convex. */
static int nonneg_product(cv_ctx *p, const fm_expr *e)
{
    if (fm_expr_kind_of(e) != FM_EX_MUL) return 0;
    for (size_t i = 0; i < fm_expr_nkids(e); i++) {
        shape s = shape_of(p, fm_expr_kid(e, i));
        if (!is_affine(s.c) || !s.nonneg) return 0;
        if (s.c == CV_CONST && s.value <= 0) return 0;
    }
    return 1;
}

int sv_nlp_convex(const fm_nlp *n)
{
    cv_ctx ctx = { fm_nlp_program(n), 8 * fm_nlp_nodes(n) + 100000 };
    cv_ctx *p = &ctx;
    const fm_expr *obj = fm_nlp_objective_tree(n);
    if (obj) {
        curvature c = shape_of(p, obj).c;
        if (fm_program_sense(p->p) == FM_MINIMIZE ? !is_convex(c) : !is_concave(c)) return 0;
    }
    for (size_t i = 0; i < fm_program_nrows(p->p); i++) {
        const fm_expr *t = fm_nlp_row_tree(n, i);
        if (!t) continue;
        double lo, hi;
        fm_program_row_bounds(p->p, i, &lo, &hi);
        curvature c = shape_of(p, t).c;
        if (p->budget == 0) return 0;
        if (is_affine(c)) continue;
        if (c == CV_CONVEX && lo == -HUGE_VAL) continue;
        if (c == CV_CONCAVE && hi == HUGE_VAL) continue;
        const int *cols;
        const double *coefs;
        if (hi == HUGE_VAL && lo >= 0 && fm_program_row(p->p, i, &cols, &coefs) == 0
            && nonneg_product(p, t))
            continue;
        return 0;
    }
    return 1;
}
