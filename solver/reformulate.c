/* solver/reformulate.c — exact linearization of a nonlinear program
 * (sv_reformulate, contract in solver/internal.h).
 *
 * Design. Every tree (a row's, the objective's) is rewritten bottom-up into
 * an affine form over the columns of a new program: the nlp's columns first,
 * in order, then auxiliary ones, each defined by linear rows. A subtree is
 * rewritten only when the rewrite is exact; the first term with no exact
 * rewrite stops everything (NULL and the reason), since a half-linearized
 * model is of no use to GLPK.
 *
 * The rewrites (each logs one line "where: term: method"):
 *  - constants fold; sums, negations, constant factors and divisors are
 *    affine (x^1, 2*(x+y)/4 ...);
 *  - a function of ONE integer column of small range (k^2, sqrt(k), 2^k, a
 *    product k*k, log(k) ...) is a table: f(L) + (f(U)-f(L))*(k-L) when k
 *    takes two values, else one-hot binaries d_v with k = sum v d_v and
 *    f = sum f(v) d_v; values where f is undefined are excluded (a domain
 *    guard: the model is undefined there); a function of up to four small
 *    integers (sqrt(k + m), k/(m + 3)) that nothing else rewrites is a joint
 *    table, one binary per combination;
 *  - products distribute over the affine factors (capped); a column times an
 *    affine form X is then: a fixed column, its value; a binary b, big-M from
 *    the interval of X over the column bounds (z = b*X:  L b <= z <= U b,
 *    X - U(1-b) <= z <= X - L(1-b), which for a binary X is the classic AND:
 *    z <= b, z <= X, z >= b + X - 1); an integer of small range, its binary
 *    expansion k = L + sum 2^j y_j and big-M per bit; n-ary products of
 *    binaries are one AND. Anything else (two continuous factors) refuses;
 *  - abs/min/max keep a polarity: +1 when the enclosing row or objective only
 *    wants the term small (a <= row, a minimised objective, signs tracked
 *    through sums and constant factors), -1 when it wants it large, 0 when it
 *    must be exact. max in +1 and min in -1 (abs = max(a, -a)) become
 *    epigraphs (t >= each argument); the other direction, and any use where
 *    the value must be exact, becomes the exact MILP form t = max(a_i) with
 *    one binary per argument (t <= a_i + M_i (1 - y_i), sum y_i = 1), which
 *    needs finite bounds, else refuses;
 *  - a row whose tree holds one ratio a/b with the affine b of constant sign
 *    over the bounds is multiplied out: lo*b <= S*b + k*a <= hi*b (S, the rest
 *    of the row, times b must itself be exact: typically S is constant);
 *    ratios elsewhere (and in the objective: no Charnes-Cooper) refuse.
 * Bounds: the columns' own, tightened by a few rounds of interval
 * propagation over the linear rows (implied bounds hold at every feasible
 * point, so a big-M from them is exact; models often bound a variable by a
 * constraint rather than by its declaration); an affine factor over several
 * columns also takes the range of a linear row over exactly its columns.
 * Safety: a big-M or table value beyond 1e9 refuses (numerically unsafe),
 * as do unbounded factors; sizes are capped (RF_MAX_*). Time is linear in
 * the trees except the subtree checks (constant? one column?), which stop
 * early and are bounded by the tree depth.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/internal.h"

#define RF_MAX_BIGM 1e9            /* a larger big-M or table value is unsafe */
#define RF_MAX_TABLE 1000          /* values of a tabulated integer column */
#define RF_MAX_JOINT 4             /* integer columns of one joint table */
#define RF_MAX_BITS_RANGE 1048576.0 /* integer factor expanded in binaries */
#define RF_MAX_POWER 16            /* x^k expanded as a product */
#define RF_MAX_EXPAND 100000u      /* terms of one distributed product */
#define RF_MAX_AUX 2000000u        /* auxiliary columns */
#define RF_MAX_NNZ 50000000u       /* nonzeros of the new program */
#define RF_MAX_LINES 100           /* detailed lines; the rest are counted */
#define RF_TEXT 100                /* a term's text in a line */
#define RF_AFF_TEXT 60             /* an affine factor's text in a line */

typedef enum {
    RK_AFFINE, RK_AND, RK_BIGM, RK_BITS, RK_TABLE, RK_EPI, RK_EXACT_MAX,
    RK_RATIO, RK_FREE, RK_REUSE, RK_COUNT
} rf_kind;

static const char *const kind_names[RK_COUNT] = {
    "affine after simplification", "products of binaries",
    "big-M products with a binary", "binary expansions of an integer factor",
    "tables of an integer column", "epigraphs (convex direction)",
    "exact max/min/abs with binaries", "ratios multiplied out",
    "terms of free or empty rows dropped", "products reusing an earlier auxiliary"
};

static _Thread_local char why_buf[512];

/* A term's text, truncated at lim (0: RF_TEXT) characters with "...". */
typedef struct { char s[RF_TEXT + 4]; size_t n, lim; int full; } pbuf;

/* An affine form c0 + sum coef[k] * x[col[k]] over the new program. */
typedef struct {
    int *col;
    double *coef;
    size_t n, cap;
    double c0;
} aff;

typedef struct { uint64_t key; int val; } slot;

enum { RF_BIN = 1, RF_INT = 2 };   /* an auxiliary column takes only 0/1, integers */

typedef struct {
    const fm_nlp *nlp;
    const fm_program *src;
    fm_program *out;
    size_t nsrc;
    /* per column of out (cols_cap): */
    unsigned char *flags;      /* RF_BIN, RF_INT (auxiliary columns) */
    int *pos;                  /* scratch, -1 */
    int *bits, *nbits;         /* binary expansion: first bit, or -1 */
    size_t cols_cap;
    double *x;                 /* nsrc, zero: the point a table evaluates */
    double *blo, *bhi;         /* nsrc: bounds, with those the linear rows imply */
    size_t *row_start;         /* nsrc + 1: the linear rows of each nlp column */
    size_t *row_list;          /*   (built on first use), and a zero scratch */
    double *weight;            /*   of nsrc coefficients */
    size_t implied;            /* columns whose bounds the rows tightened */
    int *onehot;               /* per nlp column: first one-hot binary, or -1 */
    slot *pairs;               /* (u,v) -> z = u*v */
    size_t npairs, pairs_cap;
    const char *where;         /* "row cap[1]" or "objective" */
    const char *element;       /* the element of new rows */
    const fm_expr *term;       /* the term being rewritten, for lines */
    char names[4][64];         /* see col_text */
    unsigned next_name;
    sv_strlist lines;
    size_t counts[RK_COUNT], logged[RK_COUNT];
    size_t aux_rows, total;
    int failed;
} rf;

/* ---- failures and lines ---- */

static int refuse(rf *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pr(rf *r, pbuf *b, const fm_expr *e, int need);

/* Fails the rewrite: "where: term: reason" in why_buf. */
static int refuse(rf *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    pbuf t = {0};
    if (r->term)
        pr(r, &t, r->term, 0);
    int k = snprintf(why_buf, sizeof why_buf, "%s%s%s%s", r->where ? r->where : "",
                     r->where ? ": " : "", t.s, r->term ? ": " : "");
    size_t off = k > 0 && (size_t)k < sizeof why_buf ? (size_t)k : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why_buf + off, sizeof why_buf - off, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(rf *r) { return refuse(r, "out of memory"); }

/* ---- printing terms (truncated, so cost is bounded) ---- */


static void put(pbuf *b, const char *t)
{
    if (b->full)
        return;
    size_t len = strlen(t), lim = b->lim && b->lim < RF_TEXT ? b->lim : RF_TEXT;
    if (b->n + len > lim) {
        memcpy(b->s + b->n, "...", 4);
        b->n += 3;
        b->full = 1;
        return;
    }
    memcpy(b->s + b->n, t, len + 1);
    b->n += len;
}

static void put_num(pbuf *b, double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.10g", v);
    put(b, t);
}

static int prec_of(const fm_expr *e)
{
    switch (fm_expr_kind_of(e)) {
    case FM_EX_ADD: return 1;
    case FM_EX_MUL: case FM_EX_DIV: case FM_EX_IDIV: case FM_EX_MOD: return 2;
    case FM_EX_NEG: return 3;
    case FM_EX_POW: return 4;
    case FM_EX_CONST: return fm_expr_value(e) < 0 ? 3 : 5;
    default: return 5;
    }
}

/* A product whose first factor is a negative constant. */
static int neg_factor(const fm_expr *e)
{
    return fm_expr_kind_of(e) == FM_EX_MUL && fm_expr_nkids(e) >= 2
           && fm_expr_kind_of(fm_expr_kid(e, 0)) == FM_EX_CONST
           && fm_expr_value(fm_expr_kid(e, 0)) < 0;
}

static void pr(rf *r, pbuf *b, const fm_expr *e, int need)
{
    if (b->full)
        return;
    int paren = prec_of(e) < need;
    if (paren)
        put(b, "(");
    size_t nk = fm_expr_nkids(e);
    fm_expr_kind k = fm_expr_kind_of(e);
    static const char *const fn[] = {
        [FM_EX_ABS] = "abs", [FM_EX_SQRT] = "sqrt", [FM_EX_EXP] = "exp",
        [FM_EX_LOG] = "log", [FM_EX_LOG10] = "log10", [FM_EX_FLOOR] = "floor",
        [FM_EX_CEIL] = "ceil", [FM_EX_MIN] = "min", [FM_EX_MAX] = "max" };
    switch (k) {
    case FM_EX_CONST: put_num(b, fm_expr_value(e)); break;
    case FM_EX_COL: put(b, fm_program_col_name(r->src, (size_t)fm_expr_col(e))); break;
    case FM_EX_ADD: {   /* variable terms first, then the constants: "x - 1" */
        size_t done = 0;
        for (int consts = 0; consts < 2; consts++)
            for (size_t i = 0; i < nk && !b->full; i++) {
                const fm_expr *c = fm_expr_kid(e, i);
                if ((fm_expr_kind_of(c) == FM_EX_CONST) != consts)
                    continue;
                if (done++ && fm_expr_kind_of(c) == FM_EX_NEG) {
                    put(b, " - ");
                    pr(r, b, fm_expr_kid(c, 0), 2);
                } else if (done > 1 && neg_factor(c)) {   /* x + -2*y: x - 2*y */
                    put(b, " - ");
                    double v = -fm_expr_value(fm_expr_kid(c, 0));
                    if (v != 1) {
                        put_num(b, v);
                        put(b, "*");
                    }
                    for (size_t f = 1; f < fm_expr_nkids(c); f++) {
                        if (f > 1)
                            put(b, "*");
                        pr(r, b, fm_expr_kid(c, f), 2);
                    }
                } else if (done > 1 && consts && fm_expr_value(c) < 0) {
                    put(b, " - ");
                    put_num(b, -fm_expr_value(c));
                } else {
                    if (done > 1)
                        put(b, " + ");
                    pr(r, b, c, 1);
                }
            }
        break;
    }
    case FM_EX_MUL:
        for (size_t i = 0; i < nk && !b->full; i++) {
            if (i)
                put(b, "*");
            pr(r, b, fm_expr_kid(e, i), 2);
        }
        break;
    case FM_EX_DIV: case FM_EX_IDIV: case FM_EX_MOD:
        pr(r, b, fm_expr_kid(e, 0), 2);
        put(b, k == FM_EX_DIV ? "/" : k == FM_EX_IDIV ? " div " : " mod ");
        pr(r, b, fm_expr_kid(e, 1), 3);
        break;
    case FM_EX_NEG:
        put(b, "-");
        pr(r, b, fm_expr_kid(e, 0), 3);
        break;
    case FM_EX_POW:
        pr(r, b, fm_expr_kid(e, 0), 5);
        put(b, "^");
        pr(r, b, fm_expr_kid(e, 1), 5);
        break;
    default:
        put(b, fn[k]);
        put(b, "(");
        for (size_t i = 0; i < nk && !b->full; i++) {
            if (i)
                put(b, ", ");
            pr(r, b, fm_expr_kid(e, i), 0);
        }
        put(b, ")");
        break;
    }
    if (paren)
        put(b, ")");
}

/* A column's name for a message: the nlp's (stable), or a copy of an
 * auxiliary's (adding columns moves the new program's names); four copies
 * rotate, enough for one message. */
static const char *col_text(rf *r, int j)
{
    if ((size_t)j < r->nsrc)
        return fm_program_col_name(r->src, (size_t)j);
    char *b = r->names[r->next_name++ % 4];
    snprintf(b, sizeof r->names[0], "%s", fm_program_col_name(r->out, (size_t)j));
    return b;
}

static void pr_aff(rf *r, pbuf *b, const aff *a)
{
    if (b->n == 0 && !b->lim)
        b->lim = RF_AFF_TEXT;
    for (size_t k = 0; k < a->n && !b->full; k++) {
        double c = a->coef[k];
        if (k)
            put(b, c < 0 ? " - " : " + ");
        else if (c < 0)
            put(b, "-");
        if (fabs(c) != 1) {
            put_num(b, fabs(c));
            put(b, "*");
        }
        put(b, col_text(r, a->col[k]));
    }
    if (a->c0 != 0 || a->n == 0) {
        if (a->n)
            put(b, a->c0 < 0 ? " - " : " + ");
        put_num(b, a->n ? fabs(a->c0) : a->c0);
    }
}

/* 1 when a line of this kind is to be written in full; counts it. */
static int want_line(rf *r, rf_kind k)
{
    r->counts[k]++;
    r->total++;
    if (r->lines.n >= RF_MAX_LINES)
        return 0;
    r->logged[k]++;
    return 1;
}

static void line(rf *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(rf *r, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* %g prints a negative zero (a bound rounded inward from -1e-12) as
     * "-0": drop the sign of a lone zero */
    for (char *z = strstr(text, "-0"); z; z = strstr(z + 1, "-0"))
        if ((z == text || !isalnum((unsigned char)z[-1])) && !isalnum((unsigned char)z[2]) && z[2] != '.')
            memmove(z, z + 1, strlen(z));
    pbuf t = {0};
    if (r->term)
        pr(r, &t, r->term, 0);
    if (sv_strlist_addf(&r->lines, "%s: %s%s%s", r->where, t.s, r->term ? ": " : "", text) != 0)
        oom(r);
}

/* ---- affine forms ---- */

static void aff_free(aff *a)
{
    free(a->col);
    free(a->coef);
    memset(a, 0, sizeof *a);
}

static int aff_push(rf *r, aff *a, int col, double coef)
{
    if (coef == 0)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        int *c = realloc(a->col, cap * sizeof *c);
        if (!c)
            return oom(r);
        a->col = c;
        double *v = realloc(a->coef, cap * sizeof *v);
        if (!v)
            return oom(r);
        a->coef = v;
        a->cap = cap;
    }
    a->col[a->n] = col;
    a->coef[a->n++] = coef;
    return 0;
}

/* dst += s * src */
static int aff_add(rf *r, aff *dst, const aff *src, double s)
{
    dst->c0 += s * src->c0;
    for (size_t k = 0; k < src->n; k++)
        if (aff_push(r, dst, src->col[k], s * src->coef[k]) != 0)
            return -1;
    return 0;
}

/* Merges repeated columns and drops zero coefficients. */
static void aff_norm(rf *r, aff *a)
{
    size_t w = 0;
    for (size_t k = 0; k < a->n; k++) {
        int j = a->col[k];
        if (r->pos[j] >= 0) {
            a->coef[r->pos[j]] += a->coef[k];
        } else {
            r->pos[j] = (int)w;
            a->col[w] = j;
            a->coef[w++] = a->coef[k];
        }
    }
    size_t n = 0;
    for (size_t k = 0; k < w; k++) {
        r->pos[a->col[k]] = -1;
        if (a->coef[k] != 0) {
            a->col[n] = a->col[k];
            a->coef[n++] = a->coef[k];
        }
    }
    a->n = n;
}

static void col_bounds(rf *r, int j, double *lo, double *hi)
{
    if ((size_t)j < r->nsrc) {
        *lo = r->blo[j];
        *hi = r->bhi[j];
        return;
    }
    sv_col_bounds(r->out, (size_t)j, lo, hi);
}

/* Tightens column j's bound (upper when is_hi) to b, widened against
 * rounding and rounded inward for integers; 1 when it moved. */
static int tighten(rf *r, size_t j, int is_hi, double b, double scale)
{
    double slack = 1e-9 * (1 + fabs(b) + scale);
    int integer = fm_program_col_kind(r->src, j) != FM_COL_CONTINUOUS;
    if (is_hi) {
        b = integer ? floor(b + slack + 1e-6) : b + slack;
        double old = r->bhi[j];
        if (!(isinf(old) ? isfinite(b) : b < old - 1e-9 * (1 + fabs(old))) || b < r->blo[j])
            return 0;
        r->bhi[j] = b;
    } else {
        b = integer ? ceil(b - slack - 1e-6) : b - slack;
        double old = r->blo[j];
        if (!(isinf(old) ? isfinite(b) : b > old + 1e-9 * (1 + fabs(old))) || b > r->bhi[j])
            return 0;
        r->blo[j] = b;
    }
    return 1;
}

/* Bounds the linear rows imply (a few rounds of interval propagation):
 * they hold at every feasible point, so big-M values, tables and the signs
 * of denominators may use them. A bound that would cross the other is not
 * taken (the model is infeasible; the checks and GLPK say so). */
static void implied_bounds(rf *r)
{
    for (size_t j = 0; j < r->nsrc; j++)
        sv_col_bounds(r->src, j, &r->blo[j], &r->bhi[j]);
    unsigned char *moved = calloc(r->nsrc + 1, 1);
    if (!moved)
        return;                      /* only a loss of tightness */
    size_t nr = fm_program_nrows(r->src);
    for (int round = 0, changed = 1; round < 4 && changed; round++) {
        changed = 0;
        for (size_t i = 0; i < nr; i++) {
            if (fm_nlp_row_tree(r->nlp, i))
                continue;
            const int *cols;
            const double *coefs;
            size_t n = fm_program_row(r->src, i, &cols, &coefs);
            double lo, hi, amin = 0, amax = 0;
            size_t nmin = 0, nmax = 0;
            fm_program_row_bounds(r->src, i, &lo, &hi);
            for (size_t k = 0; k < n; k++) {
                double c = coefs[k], l = r->blo[cols[k]], u = r->bhi[cols[k]];
                double tmin = c > 0 ? c * l : c * u, tmax = c > 0 ? c * u : c * l;
                if (isfinite(tmin)) amin += tmin; else nmin++;
                if (isfinite(tmax)) amax += tmax; else nmax++;
            }
            for (size_t k = 0; k < n; k++) {
                size_t j = (size_t)cols[k];
                double c = coefs[k], l = r->blo[j], u = r->bhi[j];
                if (c == 0)
                    continue;
                double tmin = c > 0 ? c * l : c * u, tmax = c > 0 ? c * u : c * l;
                /* the other terms' least and greatest sums, when finite */
                double rmin = isfinite(tmin) ? (nmin ? NAN : amin - tmin) : (nmin == 1 ? amin : NAN);
                double rmax = isfinite(tmax) ? (nmax ? NAN : amax - tmax) : (nmax == 1 ? amax : NAN);
                int got = 0;
                if (isfinite(hi) && !isnan(rmin))
                    got |= tighten(r, j, c > 0, (hi - rmin) / c, fabs(amin) / fabs(c));
                if (isfinite(lo) && !isnan(rmax))
                    got |= tighten(r, j, c < 0, (lo - rmax) / c, fabs(amax) / fabs(c));
                if (got) {
                    changed = 1;
                    r->implied += !moved[j];
                    moved[j] = 1;
                }
            }
        }
    }
    free(moved);
}

/* The interval of a (normalized) over the column bounds. */
static void aff_range(rf *r, const aff *a, double *lo, double *hi)
{
    double l = a->c0, h = a->c0;
    for (size_t k = 0; k < a->n; k++) {
        double cl, ch, c = a->coef[k];
        col_bounds(r, a->col[k], &cl, &ch);
        l += c > 0 ? c * cl : c * ch;
        h += c > 0 ? c * ch : c * cl;
    }
    *lo = isnan(l) ? -HUGE_VAL : l;
    *hi = isnan(h) ? HUGE_VAL : h;
}

static int affine_rows_range(rf *r, const aff *B, double *lo, double *hi);

/* The range of a (normalized): its interval over the bounds, narrowed by
 * the linear rows over the same columns (sum x <= 20 bounds sum x). */
static int aff_bounds(rf *r, const aff *a, double *lo, double *hi)
{
    aff_range(r, a, lo, hi);
    return a->n >= 2 ? affine_rows_range(r, a, lo, hi) : 0;
}

/* ---- columns and rows of the new program ---- */

static int grow_cols(rf *r, size_t cap)
{
    unsigned char *f = realloc(r->flags, cap);
    if (f)
        r->flags = f;
    int *p = realloc(r->pos, cap * sizeof *p);
    if (p)
        r->pos = p;
    int *b = realloc(r->bits, cap * sizeof *b);
    if (b)
        r->bits = b;
    int *nb = realloc(r->nbits, cap * sizeof *nb);
    if (nb)
        r->nbits = nb;
    if (!f || !p || !b || !nb)
        return oom(r);
    for (size_t k = r->cols_cap; k < cap; k++) {
        f[k] = 0;
        p[k] = b[k] = -1;
        nb[k] = 0;
    }
    r->cols_cap = cap;
    return 0;
}

static int add_aux(rf *r, const char *tag, fm_col_kind kind, double lo, double hi, int flags)
{
    size_t n = fm_program_ncols(r->out);
    if (n - r->nsrc >= RF_MAX_AUX)
        return refuse(r, "the rewrite needs more than %u auxiliary columns", RF_MAX_AUX);
    if (n >= r->cols_cap && grow_cols(r, r->cols_cap * 2) != 0)
        return -1;
    char name[64];
    snprintf(name, sizeof name, "_%s%zu", tag, n - r->nsrc + 1);
    int j = fm_program_add_col(r->out, name, kind, lo, hi);
    if (j < 0)
        return oom(r);
    r->flags[j] = (unsigned char)flags;
    return j;
}

/* lo <= a <= hi, a's constant moved to the bounds. */
static int add_row(rf *r, double lo, double hi, aff *a)
{
    aff_norm(r, a);
    if (fm_program_nonzeros(r->out) + a->n > RF_MAX_NNZ)
        return refuse(r, "the rewrite needs more than %u nonzeros", RF_MAX_NNZ);
    char name[64];
    snprintf(name, sizeof name, "_aux%zu", ++r->aux_rows);
    if (fm_program_add_row(r->out, name, r->element, lo - a->c0, hi - a->c0,
                           a->n, a->col, a->coef) < 0)
        return oom(r);
    return 0;
}

/* lo <= sum coefs * cols + c <= hi for a few columns. */
static int add_row_cols(rf *r, double lo, double hi, size_t n, const int *cols,
                        const double *coefs)
{
    aff a = {0};
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = aff_push(r, &a, cols[k], coefs[k]);
    if (rc == 0)
        rc = add_row(r, lo, hi, &a);
    aff_free(&a);
    return rc;
}

static int is_binval(rf *r, int j)
{
    if ((size_t)j >= r->nsrc)
        return r->flags[j] & RF_BIN;
    double lo, hi;
    col_bounds(r, j, &lo, &hi);
    return fm_program_col_kind(r->out, (size_t)j) != FM_COL_CONTINUOUS && lo >= 0 && hi <= 1;
}

static int is_fixed(rf *r, int j)
{
    double lo, hi;
    col_bounds(r, j, &lo, &hi);
    return lo == hi && isfinite(lo);
}

static int is_intval(rf *r, int j)
{
    if ((size_t)j >= r->nsrc)
        return r->flags[j] & (RF_INT | RF_BIN);
    return fm_program_col_kind(r->out, (size_t)j) != FM_COL_CONTINUOUS;
}

/* Integer values only: integer columns, integer coefficients and constant. */
static int aff_intval(rf *r, const aff *a)
{
    if (a->c0 != floor(a->c0))
        return 0;
    for (size_t k = 0; k < a->n; k++)
        if (a->coef[k] != floor(a->coef[k]) || !is_intval(r, a->col[k]))
            return 0;
    return 1;
}

/* An integer-valued column whose range fits `cap` values (then *lo, *hi). */
static int int_range(rf *r, int j, double cap, double *lo, double *hi)
{
    if (!is_intval(r, j))
        return 0;
    col_bounds(r, j, lo, hi);
    return isfinite(*lo) && isfinite(*hi) && *hi >= *lo && *hi - *lo + 1 <= cap
           && fabs(*lo) <= RF_MAX_BIGM && fabs(*hi) <= RF_MAX_BIGM;
}

/* ---- subtree checks ---- */

static int is_const(const fm_expr *e)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    if (k == FM_EX_COL)
        return 0;
    for (size_t i = 0; i < fm_expr_nkids(e); i++)
        if (!is_const(fm_expr_kid(e, i)))
            return 0;
    return 1;
}

/* The columns e reads: 0 none, 1 one (*col), 2 more. */
static int columns_of(const fm_expr *e, int *col)
{
    if (fm_expr_kind_of(e) == FM_EX_COL) {
        int j = fm_expr_col(e);
        if (*col >= 0 && *col != j)
            return 2;
        *col = j;
        return 1;
    }
    int n = *col >= 0;
    for (size_t i = 0; i < fm_expr_nkids(e); i++) {
        int k = columns_of(fm_expr_kid(e, i), col);
        if (k == 2)
            return 2;
        if (k)
            n = 1;
    }
    return n;
}

/* ---- the rewrite ---- */

static int reform(rf *r, const fm_expr *e, int pol, double scale, aff *out);

/* One-hot binaries of nlp integer column j over [lo, hi]: the first of them. */
static int onehot_of(rf *r, int j, double lo, double hi)
{
    if (r->onehot[j] >= 0)
        return r->onehot[j];
    size_t nv = (size_t)(hi - lo) + 1;
    int first = -1;
    aff one = {0}, link = {0};
    int rc = 0;
    for (size_t v = 0; v < nv && rc == 0; v++) {
        int d = add_aux(r, "onehot", FM_COL_BINARY, 0, 1, RF_BIN | RF_INT);
        if (d < 0) { rc = -1; break; }
        if (first < 0)
            first = d;
        rc = aff_push(r, &one, d, 1);
        if (rc == 0)
            rc = aff_push(r, &link, d, (double)v);
    }
    if (rc == 0)
        rc = add_row(r, 1, 1, &one);
    if (rc == 0)
        rc = aff_push(r, &link, j, -1);
    if (rc == 0)
        rc = add_row(r, -lo, -lo, &link);   /* k = lo + sum v d_v */
    aff_free(&one);
    aff_free(&link);
    if (rc != 0)
        return -1;
    r->onehot[j] = first;
    return first;
}

/* e reads only nlp column j, integer of small range: scale*e as a table. */
static int table(rf *r, const fm_expr *e, int j, double lo, double hi, double scale, aff *out)
{
    size_t nv = (size_t)(hi - lo) + 1;
    double f[RF_MAX_TABLE];
    size_t defined = 0, first_bad = nv;
    for (size_t v = 0; v < nv; v++) {
        r->x[j] = lo + (double)v;
        f[v] = fm_expr_eval(e, r->x);
        r->x[j] = 0;
        if (isfinite(f[v]))
            defined++;
        else if (first_bad == nv)
            first_bad = v;
        if (isfinite(f[v]) && fabs(f[v]) > RF_MAX_BIGM)
            return refuse(r, "a value %g of the term at %s = %g is beyond 1e9: numerically "
                          "unsafe to tabulate", f[v], col_text(r, j), lo + (double)v);
    }
    const char *name = col_text(r, j);
    if (!defined)
        return refuse(r, "the term is undefined for every value of %s in [%g, %g]", name, lo, hi);
    char excl[120] = "";
    if (defined < nv)
        snprintf(excl, sizeof excl, "; %zu undefined value(s) excluded (first %s = %g)",
                 nv - defined, name, lo + (double)first_bad);
    if (nv == 1) {
        out->c0 += scale * f[0];
        if (want_line(r, RK_TABLE))
            line(r, "%s fixed at %g: the constant %g", name, lo, f[0]);
        return 0;
    }
    if (nv == 2 && defined == 2) {   /* f(lo) + (f(hi) - f(lo)) * (k - lo) */
        double slope = f[1] - f[0];
        out->c0 += scale * (f[0] - slope * lo);
        if (want_line(r, RK_TABLE))
            line(r, "%s takes two values: = %g + %g*(%s - %g), exact", name, f[0], slope, name, lo);
        return aff_push(r, out, j, scale * slope);
    }
    int d0 = onehot_of(r, j, lo, hi);
    if (d0 < 0)
        return -1;
    for (size_t v = 0; v < nv; v++) {
        if (isfinite(f[v])) {
            if (aff_push(r, out, d0 + (int)v, scale * f[v]) != 0)
                return -1;
        } else {
            double one = 1;
            int d = d0 + (int)v;
            if (add_row_cols(r, 0, 0, 1, &d, &one) != 0)   /* the domain guard */
                return -1;
        }
    }
    if (want_line(r, RK_TABLE))
        line(r, "%s integer in [%g, %g]: table of %zu values over one-hot binaries%s",
             col_text(r, j), lo, hi, nv, excl);   /* name's buffer was reused by onehot_of */
    return 0;
}

/* A table when e is a function of one nlp integer column of small range:
 * 1 done, 0 not applicable, -1 failed. */
static int try_table(rf *r, const fm_expr *e, double scale, aff *out)
{
    int j = -1;
    double lo, hi;
    if (columns_of(e, &j) != 1 || !int_range(r, j, RF_MAX_TABLE, &lo, &hi))
        return 0;
    return table(r, e, j, lo, hi, scale, out) == 0 ? 1 : -1;
}

/* Up to max distinct columns e reads, into cols (*n); 0 when there are more. */
static int columns_upto(const fm_expr *e, int *cols, size_t *n, size_t max)
{
    if (fm_expr_kind_of(e) == FM_EX_COL) {
        int j = fm_expr_col(e);
        for (size_t k = 0; k < *n; k++)
            if (cols[k] == j)
                return 1;
        if (*n == max)
            return 0;
        cols[(*n)++] = j;
        return 1;
    }
    for (size_t i = 0; i < fm_expr_nkids(e); i++)
        if (!columns_upto(fm_expr_kid(e, i), cols, n, max))
            return 0;
    return 1;
}

/* A table when e is a function of a few nlp integer columns whose joint
 * domain is small (sqrt(k + m), k/(m + 3), ...): one binary d_v per
 * combination v where e is defined, sum d_v = 1, each column x_j = sum v_j
 * d_v, e = sum e(v) d_v. 1 done, 0 not applicable, -1 failed. */
static int try_joint_table(rf *r, const fm_expr *e, double scale, aff *out)
{
    int cols[RF_MAX_JOINT];
    size_t n = 0, idx[RF_MAX_JOINT] = {0}, defined = 0;
    double lo[RF_MAX_JOINT], hi[RF_MAX_JOINT], size = 1;
    if (!columns_upto(e, cols, &n, RF_MAX_JOINT) || n < 2)
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (!int_range(r, cols[k], RF_MAX_TABLE, &lo[k], &hi[k]))
            return 0;
        size *= hi[k] - lo[k] + 1;
    }
    if (size > RF_MAX_TABLE)
        return 0;
    aff one = {0}, link[RF_MAX_JOINT];
    memset(link, 0, sizeof link);
    int rc = 0;
    for (size_t c = 0; c < (size_t)size && rc == 0; c++) {
        for (size_t k = 0; k < n; k++)
            r->x[cols[k]] = lo[k] + (double)idx[k];
        double f = fm_expr_eval(e, r->x);
        if (isfinite(f) && fabs(f) > RF_MAX_BIGM) {
            rc = refuse(r, "a value %g of the term is beyond 1e9: numerically unsafe to "
                        "tabulate", f);
        } else if (isfinite(f)) {
            int d = add_aux(r, "joint", FM_COL_BINARY, 0, 1, RF_BIN | RF_INT);
            rc = d < 0 ? -1 : aff_push(r, &one, d, 1);
            for (size_t k = 0; k < n && rc == 0; k++)
                rc = aff_push(r, &link[k], d, (double)idx[k]);
            if (rc == 0)
                rc = aff_push(r, out, d, scale * f);
            defined++;
        }
        for (size_t k = 0; k < n && ++idx[k] > (size_t)(hi[k] - lo[k]); k++)
            idx[k] = 0;   /* the next combination */
    }
    for (size_t k = 0; k < n; k++)
        r->x[cols[k]] = 0;
    if (rc == 0 && !defined)
        rc = refuse(r, "the term is undefined for every value of its integer variables");
    if (rc == 0)
        rc = add_row(r, 1, 1, &one);
    for (size_t k = 0; k < n && rc == 0; k++) {   /* x_j = lo_j + sum (v_j - lo_j) d_v */
        rc = aff_push(r, &link[k], cols[k], -1);
        if (rc == 0)
            rc = add_row(r, -lo[k], -lo[k], &link[k]);
    }
    aff_free(&one);
    for (size_t k = 0; k < n; k++)
        aff_free(&link[k]);
    if (rc == 0 && want_line(r, RK_TABLE)) {
        char names[200] = "";
        for (size_t k = 0; k < n; k++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", k ? ", " : "", col_text(r, cols[k]));
        }
        line(r, "a function of the integers %s: table of %zu combinations (%zu defined) over "
             "one-hot binaries", names, (size_t)size, defined);
    }
    return rc == 0 ? 1 : -1;
}

static uint64_t pair_key(int u, int v)
{
    if (u > v) { int t = u; u = v; v = t; }
    return ((uint64_t)(uint32_t)u << 32) | (uint32_t)v;
}

static int *pair_find(rf *r, uint64_t key)
{
    if (!r->pairs_cap)
        return NULL;
    size_t m = r->pairs_cap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & m;
    while (r->pairs[h].val >= 0) {
        if (r->pairs[h].key == key)
            return &r->pairs[h].val;
        h = (h + 1) & m;
    }
    return NULL;
}

static int pair_put(rf *r, uint64_t key, int val)
{
    if (2 * (r->npairs + 1) > r->pairs_cap) {
        size_t cap = r->pairs_cap ? r->pairs_cap * 2 : 1024;
        slot *s = malloc(cap * sizeof *s);
        if (!s)
            return oom(r);
        for (size_t k = 0; k < cap; k++)
            s[k].val = -1;
        slot *old = r->pairs;
        size_t oldcap = r->pairs_cap;
        r->pairs = s;
        r->pairs_cap = cap;
        r->npairs = 0;
        for (size_t k = 0; k < oldcap; k++)
            if (old[k].val >= 0)
                pair_put(r, old[k].key, old[k].val);
        free(old);
    }
    size_t m = r->pairs_cap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & m;
    while (r->pairs[h].val >= 0)
        h = (h + 1) & m;
    r->pairs[h].key = key;
    r->pairs[h].val = val;
    r->npairs++;
    return 0;
}

/* z = u * X for a binary-valued column u and a nonconstant affine X without
 * u: big-M from X's interval. Returns z. */
static int bigm(rf *r, int u, const aff *X)
{
    double L, U;
    if (aff_bounds(r, X, &L, &U) != 0)
        return -1;
    pbuf t = {0};
    double M = fmax(fabs(L), fabs(U));
    if (!(M <= RF_MAX_BIGM) || r->lines.n < RF_MAX_LINES)   /* the text only when shown */
        pr_aff(r, &t, X);
    if (!isfinite(L) || !isfinite(U))
        return refuse(r, "product of binary %s and %s, which is unbounded ([%g, %g]): "
                      "big-M needs finite bounds", col_text(r, u), t.s, L, U);
    if (M > RF_MAX_BIGM)
        return refuse(r, "product of binary %s and %s in [%g, %g]: big-M %g is beyond 1e9, "
                      "numerically unsafe", col_text(r, u), t.s, L, U, M);
    int both = X->n == 1 && X->coef[0] == 1 && X->c0 == 0 && is_binval(r, X->col[0]);
    int z = add_aux(r, both ? "and" : "prod", FM_COL_CONTINUOUS, fmin(0, L), fmax(0, U),
                    both ? RF_BIN | RF_INT : aff_intval(r, X) ? RF_INT : 0);
    if (z < 0)
        return -1;
    /* L u <= z <= U u */
    int cz[2] = { z, u };
    double lo_c[2] = { 1, -L }, hi_c[2] = { 1, -U };
    if (L != 0 && add_row_cols(r, 0, HUGE_VAL, 2, cz, lo_c) != 0)
        return -1;
    if (U != 0 && add_row_cols(r, -HUGE_VAL, 0, 2, cz, hi_c) != 0)
        return -1;
    /* X - U(1-u) <= z <= X - L(1-u):  z - X - U u >= -U,  z - X - L u <= -L */
    for (int side = 0; side < 2; side++) {
        double m = side ? L : U;
        aff a = {0};
        int rc = aff_push(r, &a, z, 1);
        if (rc == 0)
            rc = aff_add(r, &a, X, -1);
        if (rc == 0)
            rc = aff_push(r, &a, u, -m);
        if (rc == 0)
            rc = side ? add_row(r, -HUGE_VAL, -m, &a) : add_row(r, -m, HUGE_VAL, &a);
        aff_free(&a);
        if (rc != 0)
            return -1;
    }
    if (both && want_line(r, RK_AND))
        line(r, "product of binaries %s and %s: z <= each, z >= %s + %s - 1",
             col_text(r, u), t.s, col_text(r, u), t.s);
    else if (!both && want_line(r, RK_BIGM))
        line(r, "product of binary %s and %s in [%g, %g], big-M %g", col_text(r, u), t.s, L, U, M);
    return z;
}

/* P += a * u * B for a binary-valued column u. */
static int binmul(rf *r, int u, const aff *B, double a, aff *P)
{
    aff rest = {0};
    double self = 0;
    int rc = 0;
    for (size_t k = 0; k < B->n && rc == 0; k++) {
        if (B->col[k] == u)
            self += B->coef[k];       /* u*u = u */
        else
            rc = aff_push(r, &rest, B->col[k], B->coef[k]);
    }
    if (rc == 0)
        rc = aff_push(r, P, u, a * (self + B->c0));
    if (rc == 0 && rest.n == 1) {     /* u * (beta v): z = u*v, shared */
        uint64_t key = pair_key(u, rest.col[0]);
        int *found = pair_find(r, key);
        int z = found ? *found : -1;
        if (z >= 0 && want_line(r, RK_REUSE))
            line(r, "product of %s and %s: the auxiliary %s of an earlier rewrite",
                 col_text(r, u), col_text(r, rest.col[0]), col_text(r, z));
        if (z < 0) {
            aff v = {0};
            rc = aff_push(r, &v, rest.col[0], 1);
            if (rc == 0)
                z = bigm(r, u, &v);
            aff_free(&v);
            if (z < 0 || pair_put(r, key, z) != 0)
                rc = -1;
        }
        if (rc == 0)
            rc = aff_push(r, P, z, a * rest.coef[0]);
    } else if (rc == 0 && rest.n > 1) {
        int z = bigm(r, u, &rest);
        rc = z < 0 ? -1 : aff_push(r, P, z, a);
    }
    aff_free(&rest);
    return rc;
}

/* Binary expansion of nlp integer column j: k = lo + sum 2^b y_b. */
static int bits_of(rf *r, int j, double lo, double hi)
{
    if (r->bits[j] >= 0)
        return r->bits[j];
    int nb = 0;
    while (ldexp(1, nb) - 1 < hi - lo)
        nb++;
    aff link = {0};
    int first = -1, rc = aff_push(r, &link, j, 1);
    for (int b = 0; b < nb && rc == 0; b++) {
        int y = add_aux(r, "bit", FM_COL_BINARY, 0, 1, RF_BIN | RF_INT);
        if (y < 0) { rc = -1; break; }
        if (first < 0)
            first = y;
        rc = aff_push(r, &link, y, -ldexp(1, b));
    }
    if (rc == 0)
        rc = add_row(r, lo, lo, &link);
    aff_free(&link);
    if (rc != 0)
        return -1;
    r->bits[j] = first;
    r->nbits[j] = nb;
    if (want_line(r, RK_BITS))
        line(r, "integer %s in [%g, %g] expanded in %d binaries for the product",
             col_text(r, j), lo, hi, nb);
    return first;
}

/* Can column u multiply any bounded affine form exactly? */
static int discrete(rf *r, int u)
{
    double lo, hi;
    return is_fixed(r, u) || is_binval(r, u) || int_range(r, u, RF_MAX_BITS_RANGE, &lo, &hi);
}

/* P += a * u * B. */
static int colmul(rf *r, int u, const aff *B, double a, aff *P)
{
    double lo, hi;
    if (is_fixed(r, u)) {
        col_bounds(r, u, &lo, &hi);
        return aff_add(r, P, B, a * lo);
    }
    if (is_binval(r, u))
        return binmul(r, u, B, a, P);
    int_range(r, u, RF_MAX_BITS_RANGE, &lo, &hi);
    int y0 = bits_of(r, u, lo, hi);
    if (y0 < 0 || aff_add(r, P, B, a * lo) != 0)
        return -1;
    for (int b = 0; b < r->nbits[u]; b++)
        if (binmul(r, y0 + b, B, a * ldexp(1, b), P) != 0)
            return -1;
    return 0;
}

/* P = A * B (both normalized), exactly, or a refusal. */
static int product2(rf *r, const aff *A, const aff *B, aff *P)
{
    if (A->n == 0)
        return aff_add(r, P, B, A->c0);
    if (B->n == 0)
        return aff_add(r, P, A, B->c0);
    int a_ok = 1, b_ok = 1, a_bad = -1, b_bad = -1;
    for (size_t k = 0; k < A->n && a_ok; k++)
        if (!discrete(r, A->col[k])) { a_ok = 0; a_bad = A->col[k]; }
    for (size_t k = 0; k < B->n && b_ok; k++)
        if (!discrete(r, B->col[k])) { b_ok = 0; b_bad = B->col[k]; }
    if (!a_ok && !b_ok)
        return refuse(r, "product of %s and %s, both continuous (or integers of too large a "
                      "range): no exact linear form", col_text(r, a_bad), col_text(r, b_bad));
    if (!a_ok) {
        const aff *t = A; A = B; B = t;
    }
    if ((double)A->n * (double)(B->n + 1) > RF_MAX_EXPAND)
        return refuse(r, "expanding the product gives more than %u terms", RF_MAX_EXPAND);
    if (aff_add(r, P, B, A->c0) != 0)
        return -1;
    for (size_t k = 0; k < A->n; k++)
        if (colmul(r, A->col[k], B, A->coef[k], P) != 0)
            return -1;
    aff_norm(r, P);
    return 0;
}

/* out += scale * prod(A[i]) for normalized affine factors (n >= 2), exactly:
 * single binaries make one AND, anything else distributes pairwise. */
static int product_affs(rf *r, const aff *const *A, size_t n, double scale, aff *out)
{
    int rc = 0, all_bin = 1;
    for (size_t i = 0; i < n; i++)
        all_bin = all_bin && A[i]->n == 1 && A[i]->coef[0] == 1 && A[i]->c0 == 0
                  && is_binval(r, A[i]->col[0]);
    if (all_bin && n > 2) {   /* one AND: z <= b_i, z >= sum b_i - (m-1) */
        aff sum = {0};
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = aff_push(r, &sum, A[i]->col[0], 1);
        aff_norm(r, &sum);
        for (size_t k = 0; k < sum.n; k++)
            sum.coef[k] = 1;     /* b*b = b: each binary once */
        if (rc == 0 && sum.n == 1) {
            rc = aff_push(r, out, sum.col[0], scale);
        } else if (rc == 0) {
            int z = add_aux(r, "and", FM_COL_CONTINUOUS, 0, 1, RF_BIN | RF_INT);
            double m = (double)sum.n;
            size_t nb = sum.n;
            for (size_t k = 0; k < sum.n && rc == 0 && z >= 0; k++) {
                int cz[2] = { z, sum.col[k] };
                double cf[2] = { 1, -1 };
                rc = add_row_cols(r, -HUGE_VAL, 0, 2, cz, cf);
            }
            if (z < 0)
                rc = -1;
            if (rc == 0)
                rc = aff_push(r, &sum, z, -1);
            if (rc == 0)
                rc = add_row(r, -HUGE_VAL, m - 1, &sum);   /* sum b - z <= m - 1 */
            if (rc == 0)
                rc = aff_push(r, out, z, scale);
            if (rc == 0 && want_line(r, RK_AND))
                line(r, "product of %zu binaries: z <= each, z >= their sum - %g", nb, m - 1);
        }
        aff_free(&sum);
        return rc;
    }
    aff P = {0};
    rc = aff_add(r, &P, A[0], 1);
    for (size_t i = 1; i < n && rc == 0; i++) {
        aff next = {0};
        rc = product2(r, &P, A[i], &next);
        aff_free(&P);
        P = next;
    }
    if (rc == 0)
        rc = aff_add(r, out, &P, scale);
    aff_free(&P);
    return rc;
}

/* out += scale * prod(f[i]) for nonconstant factor trees (n >= 2). */
static int product(rf *r, const fm_expr *const *f, size_t n, double scale, aff *out)
{
    aff *A = calloc(n, sizeof *A);
    const aff **ptr = calloc(n, sizeof *ptr);
    int rc = A && ptr ? 0 : oom(r);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = reform(r, f[i], 0, 1, &A[i]);
        aff_norm(r, &A[i]);
        ptr[i] = &A[i];
    }
    if (rc == 0)
        rc = product_affs(r, ptr, n, scale, out);
    for (size_t i = 0; A && i < n; i++)
        aff_free(&A[i]);
    free(A);
    free(ptr);
    return rc;
}

/* out += scale * max(s_i * args_i), or, is_min, scale * min(...), with the
 * polarity of out. */
static int maxlike(rf *r, const fm_expr *e, int is_abs, int is_min, int pol,
                   double scale, aff *out)
{
    /* min(a) = -max(-a): work on M = max(sgn * a_i) with weight eff */
    double eff = is_min ? -scale : scale, sgn = is_min ? -1 : 1;
    int mpol = pol * (eff > 0 ? 1 : -1);   /* +1: M is wanted small */
    size_t n = is_abs ? 2 : fm_expr_nkids(e);
    aff *A = calloc(n, sizeof *A);
    double *range = calloc(2 * n, sizeof *range);   /* L_i, U_i of each argument */
    if (!A || !range) {
        free(A);
        free(range);
        return oom(r);
    }
    int rc = 0;
    if (is_abs) {
        rc = reform(r, fm_expr_kid(e, 0), 0, 1, &A[0]);
        if (rc == 0)
            rc = aff_add(r, &A[1], &A[0], -1);
    } else {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = reform(r, fm_expr_kid(e, i), mpol > 0 ? 1 : 0, sgn, &A[i]);
    }
    const char *fname = is_abs ? "abs" : is_min ? "min" : "max";
    double lmax = -HUGE_VAL, umax = -HUGE_VAL;
    int bounded = 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        aff_norm(r, &A[i]);
        rc = aff_bounds(r, &A[i], &range[2 * i], &range[2 * i + 1]);
        double L = range[2 * i], U = range[2 * i + 1];
        lmax = fmax(lmax, L);
        umax = fmax(umax, U);
        bounded = bounded && isfinite(L) && isfinite(U);
    }
    if (rc == 0 && n == 1) {
        rc = aff_add(r, out, &A[0], eff);
    } else if (rc == 0 && mpol > 0) {   /* epigraph: t >= each */
        int t = add_aux(r, "epi", FM_COL_CONTINUOUS, lmax, HUGE_VAL, 0);
        for (size_t i = 0; i < n && rc == 0 && t >= 0; i++) {
            aff row = {0};
            rc = aff_push(r, &row, t, 1);
            if (rc == 0)
                rc = aff_add(r, &row, &A[i], -1);
            if (rc == 0)
                rc = add_row(r, 0, HUGE_VAL, &row);
            aff_free(&row);
        }
        if (t < 0)
            rc = -1;
        if (rc == 0)
            rc = aff_push(r, out, t, eff);
        if (rc == 0 && want_line(r, RK_EPI))
            line(r, "%s in its convex direction: epigraph, t %s each argument%s",
                 fname, is_min ? "<=" : ">=", is_abs ? " and its negation" : "");
    } else if (rc == 0) {               /* exact: t = max with one binary per argument */
        const char *dir = mpol == 0 ? "its value must be exact" : "the nonconvex direction";
        if (!bounded)
            rc = refuse(r, "%s in %s needs finite bounds on its arguments for an exact "
                        "form (binaries and big-M); an argument is unbounded", fname, dir);
        double maxm = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            maxm = fmax(maxm, umax - range[2 * i]);
        if (rc == 0 && maxm > RF_MAX_BIGM)
            rc = refuse(r, "%s in %s: big-M %g is beyond 1e9, numerically unsafe", fname, dir, maxm);
        int intval = 1;
        for (size_t i = 0; i < n; i++)
            intval = intval && aff_intval(r, &A[i]);
        int t = rc == 0 ? add_aux(r, "max", FM_COL_CONTINUOUS, lmax, umax, intval ? RF_INT : 0) : -1;
        aff one = {0};
        for (size_t i = 0; i < n && rc == 0 && t >= 0; i++) {
            double M = umax - range[2 * i];
            int y = add_aux(r, "sel", FM_COL_BINARY, 0, 1, RF_BIN | RF_INT);
            aff row = {0};
            rc = y < 0 ? -1 : aff_push(r, &one, y, 1);
            if (rc == 0)
                rc = aff_push(r, &row, t, 1);
            if (rc == 0)
                rc = aff_add(r, &row, &A[i], -1);
            if (rc == 0)
                rc = add_row(r, 0, HUGE_VAL, &row);          /* t >= a_i */
            if (rc == 0)
                rc = aff_push(r, &row, y, M);
            if (rc == 0)
                rc = add_row(r, -HUGE_VAL, M, &row);         /* t - a_i + M y_i <= M */
            aff_free(&row);
        }
        if (rc == 0 && t < 0)
            rc = -1;
        if (rc == 0)
            rc = add_row(r, 1, 1, &one);
        aff_free(&one);
        if (rc == 0)
            rc = aff_push(r, out, t, eff);
        if (rc == 0 && want_line(r, RK_EXACT_MAX))
            line(r, "%s in %s: exact with %zu binaries (t = the selected argument), big-M %g",
                 fname, dir, n, maxm);
    }
    for (size_t i = 0; i < n; i++)
        aff_free(&A[i]);
    free(A);
    free(range);
    return rc;
}

static int fold(rf *r, const fm_expr *e, double scale, aff *out)
{
    double v = fm_expr_eval(e, r->x);
    if (!isfinite(v))
        return refuse(r, "a constant term has no finite value");
    out->c0 += scale * v;
    return 0;
}

/* Which term the lines name: the outermost nonlinear one being rewritten. */
static int reform_term(rf *r, const fm_expr *e, int pol, double scale, aff *out);

/* out += scale * e, where pol is the polarity of out (+1: out is wanted
 * small, -1 large, 0 exact). */
static int reform(rf *r, const fm_expr *e, int pol, double scale, aff *out)
{
    if (r->failed)
        return -1;
    switch (fm_expr_kind_of(e)) {
    case FM_EX_CONST:
        out->c0 += scale * fm_expr_value(e);
        return 0;
    case FM_EX_COL:
        return aff_push(r, out, fm_expr_col(e), scale);
    case FM_EX_ADD:
        for (size_t i = 0; i < fm_expr_nkids(e); i++)
            if (reform(r, fm_expr_kid(e, i), pol, scale, out) != 0)
                return -1;
        return 0;
    case FM_EX_NEG:
        return reform(r, fm_expr_kid(e, 0), pol, -scale, out);
    default: {
        const fm_expr *saved = r->term;
        if (!r->term)
            r->term = e;
        int rc = reform_term(r, e, pol, scale, out);
        r->term = saved;
        return rc;
    }
    }
}

static int reform_term(rf *r, const fm_expr *e, int pol, double scale, aff *out)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t nk = fm_expr_nkids(e);
    if (is_const(e))
        return fold(r, e, scale, out);
    if (k == FM_EX_MUL) {
        const fm_expr *stack_f[8];
        const fm_expr **f = nk <= 8 ? stack_f : malloc(nk * sizeof *f);
        if (!f)
            return oom(r);
        double c = 1;
        size_t m = 0;
        for (size_t i = 0; i < nk; i++) {
            const fm_expr *kid = fm_expr_kid(e, i);
            if (is_const(kid))
                c *= fm_expr_eval(kid, r->x);
            else
                f[m++] = kid;
        }
        int rc;
        if (!isfinite(c))
            rc = refuse(r, "a constant factor has no finite value");
        else if (c == 0)
            rc = 0;                      /* 0 * anything */
        else if (m == 1)
            rc = reform(r, f[0], pol, scale * c, out);
        else if ((rc = try_table(r, e, scale, out)) != 0)
            rc = rc > 0 ? 0 : -1;
        else
            rc = product(r, f, m, scale * c, out);
        if (f != stack_f)
            free(f);
        return rc;
    }
    if (k == FM_EX_NEG || k == FM_EX_ADD)
        return reform(r, e, pol, scale, out);
    if (k == FM_EX_DIV && is_const(fm_expr_kid(e, 1))) {
        double d = fm_expr_eval(fm_expr_kid(e, 1), r->x);
        if (d == 0 || !isfinite(d))
            return refuse(r, "division by %g", d);
        return reform(r, fm_expr_kid(e, 0), pol, scale / d, out);
    }
    if (k == FM_EX_POW && is_const(fm_expr_kid(e, 1))) {
        double p = fm_expr_eval(fm_expr_kid(e, 1), r->x);
        if (p == 1)
            return reform(r, fm_expr_kid(e, 0), pol, scale, out);
        if (p == 0) {
            out->c0 += scale;
            return 0;
        }
    }
    if (k == FM_EX_MAX || k == FM_EX_MIN || k == FM_EX_ABS) {
        /* the epigraph is cheaper than a table in the convex direction */
        double eff = k == FM_EX_MIN ? -scale : scale;
        if (pol * (eff > 0 ? 1 : -1) <= 0) {
            int t = try_table(r, e, scale, out);
            if (t)
                return t > 0 ? 0 : -1;
        }
        return maxlike(r, e, k == FM_EX_ABS, k == FM_EX_MIN, pol, scale, out);
    }
    int t = try_table(r, e, scale, out);
    if (t)
        return t > 0 ? 0 : -1;
    /* refusals name e when it is inside the term the message names */
    pbuf txt = {0};
    if (e != r->term) {
        pr(r, &txt, e, 0);
        put(&txt, ": ");
    }
    if (k == FM_EX_POW && is_const(fm_expr_kid(e, 1))) {
        double p = fm_expr_eval(fm_expr_kid(e, 1), r->x);
        if (p == floor(p) && p >= 2 && p <= RF_MAX_POWER) {   /* base once, p factors */
            aff base = {0};
            const aff *f[RF_MAX_POWER];
            int rc = reform(r, fm_expr_kid(e, 0), 0, 1, &base);
            aff_norm(r, &base);
            for (int i = 0; i < (int)p; i++)
                f[i] = &base;
            if (rc == 0)
                rc = product_affs(r, f, (size_t)p, scale, out);
            aff_free(&base);
            return rc;
        }
        if ((t = try_joint_table(r, e, scale, out)) != 0)
            return t > 0 ? 0 : -1;
        return refuse(r, "%sa power %g of a non-integer term has no exact linear form", txt.s, p);
    }
    if (k == FM_EX_DIV) {
        aff den = {0};
        int rc = reform(r, fm_expr_kid(e, 1), 0, 1, &den);
        if (rc == 0)
            aff_norm(r, &den);
        if (rc == 0 && den.n == 0) {
            if (den.c0 == 0)
                rc = refuse(r, "%sdivision by zero", txt.s);
            else
                rc = reform(r, fm_expr_kid(e, 0), pol, scale / den.c0, out);
        } else if (rc == 0 && (t = try_joint_table(r, e, scale, out)) != 0) {
            rc = t > 0 ? 0 : -1;
        } else if (rc == 0) {
            rc = refuse(r, "%sa ratio with a variable denominator is rewritten exactly only "
                        "as a term of a constraint (a/b <= c with b of known sign), not in "
                        "an objective (no Charnes-Cooper) nor inside another term", txt.s);
        }
        aff_free(&den);
        return rc;
    }
    if ((t = try_joint_table(r, e, scale, out)) != 0)
        return t > 0 ? 0 : -1;
    return refuse(r, "%sno exact linear form (a function of continuous variables, or "
                  "of integers of too large a range)", txt.s);
}

/* ---- rows and the objective ---- */

typedef struct { const fm_expr *e; double scale; } leaf;
typedef struct { leaf *v; size_t n, cap; } leaves;

/* The additive terms of e (sums, negations, constant factors and divisors
 * flattened), each with its scale. */
static int collect(rf *r, const fm_expr *e, double scale, leaves *l)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t nk = fm_expr_nkids(e);
    if (k == FM_EX_ADD) {
        for (size_t i = 0; i < nk; i++)
            if (collect(r, fm_expr_kid(e, i), scale, l) != 0)
                return -1;
        return 0;
    }
    if (k == FM_EX_NEG)
        return collect(r, fm_expr_kid(e, 0), -scale, l);
    if (k == FM_EX_DIV && is_const(fm_expr_kid(e, 1))) {
        double d = fm_expr_eval(fm_expr_kid(e, 1), r->x);
        if (d != 0 && isfinite(d))
            return collect(r, fm_expr_kid(e, 0), scale / d, l);
    }
    if (k == FM_EX_MUL) {
        const fm_expr *other = NULL;
        double c = 1;
        size_t nonconst = 0;
        for (size_t i = 0; i < nk; i++) {
            const fm_expr *kid = fm_expr_kid(e, i);
            if (is_const(kid))
                c *= fm_expr_eval(kid, r->x);
            else {
                other = kid;
                nonconst++;
            }
        }
        if (nonconst == 1 && isfinite(c) && c != 0)
            return collect(r, other, scale * c, l);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        leaf *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return oom(r);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].e = e;
    l->v[l->n++].scale = scale;
    return 0;
}

/* A ratio with a variable denominator, other than a function of one small
 * integer column (a table then). */
static int is_ratio(rf *r, const fm_expr *e)
{
    if (fm_expr_kind_of(e) != FM_EX_DIV || is_const(fm_expr_kid(e, 1)))
        return 0;
    int j = -1;
    double lo, hi;
    return !(columns_of(e, &j) == 1 && int_range(r, j, RF_MAX_TABLE, &lo, &hi));
}

/* Adds the linear part of row i (or of the objective, i == SIZE_MAX). */
static int linear_part(rf *r, size_t i, aff *a)
{
    const int *cols;
    const double *coefs;
    size_t n = i == SIZE_MAX ? fm_program_objective(r->src, &cols, &coefs)
                             : fm_program_row(r->src, i, &cols, &coefs);
    for (size_t k = 0; k < n; k++)
        if (aff_push(r, a, cols[k], coefs[k]) != 0)
            return -1;
    return 0;
}

/* The linear rows of each nlp column (a transpose), on first use. */
static int column_rows(rf *r)
{
    if (r->row_start)
        return 0;
    size_t nr = fm_program_nrows(r->src), total = 0;
    size_t *start = calloc(r->nsrc + 2, sizeof *start);
    r->weight = calloc(r->nsrc + 1, sizeof *r->weight);
    if (!start || !r->weight) {
        free(start);
        return oom(r);
    }
    for (size_t i = 0; i < nr; i++) {
        const int *cols;
        const double *coefs;
        size_t n = fm_nlp_row_tree(r->nlp, i) ? 0 : fm_program_row(r->src, i, &cols, &coefs);
        for (size_t k = 0; k < n; k++)
            start[cols[k] + 2]++;
        total += n;
    }
    for (size_t j = 0; j < r->nsrc; j++)
        start[j + 2] += start[j + 1];
    size_t *list = malloc((total ? total : 1) * sizeof *list);
    if (!list) {
        free(start);
        return oom(r);
    }
    for (size_t i = 0; i < nr; i++) {
        const int *cols;
        const double *coefs;
        size_t n = fm_nlp_row_tree(r->nlp, i) ? 0 : fm_program_row(r->src, i, &cols, &coefs);
        for (size_t k = 0; k < n; k++)
            list[start[cols[k] + 1]++] = i;
    }
    r->row_start = start;       /* start[j] .. start[j+1]: the rows of column j */
    r->row_list = list;
    return 0;
}

/* Tightens [*lo, *hi], the range of B (normalized, over nlp columns), with
 * every linear row whose body is a multiple of B's: lo <= f*(B - c0) <= hi. */
static int affine_rows_range(rf *r, const aff *B, double *lo, double *hi)
{
    if (B->n == 0)
        return 0;
    for (size_t k = 0; k < B->n; k++)
        if ((size_t)B->col[k] >= r->nsrc)
            return 0;
    if (column_rows(r) != 0)
        return -1;
    for (size_t k = 0; k < B->n; k++)
        r->weight[B->col[k]] = B->coef[k];
    int j0 = B->col[0];
    for (size_t t = r->row_start[j0]; t < r->row_start[j0 + 1]; t++) {
        size_t i = r->row_list[t];
        const int *cols;
        const double *coefs;
        size_t n = fm_program_row(r->src, i, &cols, &coefs);
        if (n != B->n || r->weight[cols[0]] == 0)
            continue;
        double f = coefs[0] / r->weight[cols[0]];
        size_t k = 0;
        while (k < n && r->weight[cols[k]] != 0
               && fabs(coefs[k] - f * r->weight[cols[k]]) <= 1e-12 * fabs(coefs[k]))
            k++;
        if (k < n)
            continue;
        double rlo, rhi;
        fm_program_row_bounds(r->src, i, &rlo, &rhi);
        double a = (f > 0 ? rlo : rhi) / f + B->c0, b = (f > 0 ? rhi : rlo) / f + B->c0;
        if (a > *lo)
            *lo = a;
        if (b < *hi)
            *hi = b;
    }
    for (size_t k = 0; k < B->n; k++)
        r->weight[B->col[k]] = 0;
    return 0;
}

/* Row i: lo <= S + k*a/b <= hi with the one ratio l->v[ri] multiplied out. */
static int ratio_row(rf *r, size_t i, leaves *l, size_t ri, double lo, double hi, int pol)
{
    const fm_expr *q = l->v[ri].e;
    double k = l->v[ri].scale;
    r->term = q;
    aff B = {0}, S = {0}, P = {0}, body = {0};
    int rc = reform(r, fm_expr_kid(q, 1), 0, 1, &B);
    double bl = 0, bh = 0;
    if (rc == 0) {
        aff_norm(r, &B);
        rc = aff_bounds(r, &B, &bl, &bh);   /* "x + y >= 1" as a row too */
    }
    pbuf bt = {0};
    pr_aff(r, &bt, &B);
    if (rc == 0 && B.n == 0) {   /* a constant after all */
        rc = B.c0 == 0 ? refuse(r, "division by zero") : 0;
        aff_free(&B);
        return rc ? rc : 1;
    }
    if (rc == 0 && !(bl > 0) && !(bh < 0))
        rc = refuse(r, "the denominator %s may be zero or change sign (range [%g, %g] over the "
                    "bounds): no exact rewrite of the ratio", bt.s, bl, bh);
    if (rc == 0 && bh < 0) {     /* k a/b = (-k) a/(-b) */
        for (size_t t = 0; t < B.n; t++)
            B.coef[t] = -B.coef[t];
        B.c0 = -B.c0;
        k = -k;
    }
    /* S*B, the rest of the row times b: exact products only */
    r->term = NULL;
    if (rc == 0)
        rc = linear_part(r, i, &S);
    for (size_t t = 0; t < l->n && rc == 0; t++)
        if (t != ri)
            rc = reform(r, l->v[t].e, 0, l->v[t].scale, &S);
    if (rc == 0) {
        aff_norm(r, &S);
        rc = product2(r, &S, &B, &P);
    }
    r->term = q;
    if (rc == 0)
        rc = aff_add(r, &body, &P, 1);
    if (rc == 0)
        rc = reform(r, fm_expr_kid(q, 0), pol, k, &body);
    /* body - bound*B  = 0 (lo == hi), <= 0 (hi), >= 0 (lo) */
    for (int side = 0; side < 2 && rc == 0; side++) {
        double bound = side ? lo : hi;
        if (!isfinite(bound) || (side && lo == hi))
            continue;
        int eq = lo == hi, le = !side;
        aff row = {0};
        rc = aff_add(r, &row, &body, 1);
        if (rc == 0)
            rc = aff_add(r, &row, &B, -bound);
        if (rc == 0) {
            aff_norm(r, &row);
            if (fm_program_add_row(r->out, fm_program_row_name(r->src, i), r->element,
                                   eq || !le ? -row.c0 : -HUGE_VAL,
                                   eq || le ? -row.c0 : HUGE_VAL, row.n, row.col, row.coef) < 0)
                rc = oom(r);
        }
        aff_free(&row);
    }
    if (rc == 0 && want_line(r, RK_RATIO))
        line(r, "ratio with denominator %s %s over the bounds: multiplied out", bt.s,
             bh < 0 ? "< 0" : "> 0");
    r->term = NULL;
    aff_free(&B);
    aff_free(&S);
    aff_free(&P);
    aff_free(&body);
    return rc;
}

static int do_row(rf *r, size_t i)
{
    const fm_expr *t = fm_nlp_row_tree(r->nlp, i);
    double lo, hi;
    fm_program_row_bounds(r->src, i, &lo, &hi);
    char where[320];
    snprintf(where, sizeof where, "row %s", fm_program_row_name(r->src, i));
    r->where = where;
    r->element = fm_program_row_element(r->src, i);
    r->term = NULL;
    int pol = lo == -HUGE_VAL ? (hi == HUGE_VAL ? 2 : 1) : hi == HUGE_VAL ? -1 : 0;
    aff body = {0};
    leaves l = {0};
    int rc = 0;
    size_t before = r->total;
    if (t && (!(lo <= hi) || lo == HUGE_VAL || hi == -HUGE_VAL)) {
        /* no value satisfies the bounds: the checks report the row as it is */
        r->term = t;
        if (want_line(r, RK_FREE))
            line(r, "empty bounds [%g, %g]: the row is kept for the checks, its term dropped", lo, hi);
        r->term = NULL;
        t = NULL;
    }
    if (t && pol == 2) {   /* a free row constrains nothing */
        r->term = t;
        if (want_line(r, RK_FREE))
            line(r, "free row (no bounds): its nonlinear term is not needed");
        r->term = NULL;
        t = NULL;
    }
    if (t) {
        rc = collect(r, t, 1, &l);
        size_t nratio = 0, ri = 0;
        for (size_t k = 0; k < l.n && rc == 0; k++)
            if (is_ratio(r, l.v[k].e)) {
                nratio++;
                ri = k;
            }
        if (rc == 0 && nratio > 1)
            rc = refuse(r, "%zu ratios with variable denominators in one row: no exact rewrite",
                        nratio);
        if (rc == 0 && nratio == 1) {
            rc = ratio_row(r, i, &l, ri, lo, hi, pol);
            if (rc <= 0)
                goto out;
            rc = 0;    /* the denominator was constant: an ordinary row */
        }
    }
    if (rc == 0)
        rc = linear_part(r, i, &body);
    for (size_t k = 0; k < l.n && rc == 0; k++)
        rc = reform(r, l.v[k].e, pol, l.v[k].scale, &body);
    if (rc == 0) {
        aff_norm(r, &body);
        if (fm_program_add_row(r->out, fm_program_row_name(r->src, i), r->element,
                               lo - body.c0, hi - body.c0, body.n, body.col, body.coef) < 0)
            rc = oom(r);
    }
    if (rc == 0 && t && r->total == before) {
        r->term = t;
        if (want_line(r, RK_AFFINE))
            line(r, "linear directly");
    }
out:
    r->term = NULL;
    aff_free(&body);
    free(l.v);
    return rc;
}

static int do_objective(rf *r)
{
    const fm_expr *t = fm_nlp_objective_tree(r->nlp);
    fm_sense sense = fm_program_sense(r->src);
    char where[320];
    const char *oname = fm_program_objective_name(r->src);
    snprintf(where, sizeof where, "objective%s%s", strcmp(oname, "objective") ? " " : "",
             strcmp(oname, "objective") ? oname : "");
    r->where = where;
    r->element = "objective";
    r->term = NULL;
    aff body = {0};
    leaves l = {0};
    size_t before = r->total;
    int rc = linear_part(r, SIZE_MAX, &body);
    if (rc == 0 && t)
        rc = collect(r, t, 1, &l);
    for (size_t k = 0; k < l.n && rc == 0; k++) {
        if (rc == 0)
            rc = reform(r, l.v[k].e, sense == FM_MINIMIZE ? 1 : -1, l.v[k].scale, &body);
    }
    if (rc == 0) {
        aff_norm(r, &body);
        if (fm_program_set_objective(r->out, sense, fm_program_objective_name(r->src),
                                     fm_program_objective_constant(r->src) + body.c0,
                                     body.n, body.col, body.coef) != 0)
            rc = oom(r);
    }
    if (rc == 0 && t && r->total == before) {
        r->term = t;
        if (want_line(r, RK_AFFINE))
            line(r, "linear directly");
    }
    r->term = NULL;
    aff_free(&body);
    free(l.v);
    return rc;
}

static int setup(rf *r, const fm_nlp *n)
{
    r->nlp = n;
    r->src = fm_nlp_program(n);
    r->nsrc = fm_program_ncols(r->src);
    r->out = fm_program_new();
    r->x = calloc(r->nsrc + 1, sizeof *r->x);
    r->blo = malloc((r->nsrc + 1) * sizeof *r->blo);
    r->bhi = malloc((r->nsrc + 1) * sizeof *r->bhi);
    r->onehot = malloc((r->nsrc + 1) * sizeof *r->onehot);
    if (!r->out || !r->x || !r->blo || !r->bhi || !r->onehot || grow_cols(r, r->nsrc + 64) != 0)
        return oom(r);
    implied_bounds(r);
    for (size_t j = 0; j <= r->nsrc; j++)
        r->onehot[j] = -1;
    for (size_t j = 0; j < r->nsrc; j++) {
        double lo, hi;
        fm_program_col_bounds(r->src, j, &lo, &hi);
        if (fm_program_add_col(r->out, fm_program_col_name(r->src, j),
                               fm_program_col_kind(r->src, j), lo, hi) < 0)
            return oom(r);
    }
    return 0;
}

static void teardown(rf *r)
{
    free(r->flags);
    free(r->pos);
    free(r->x);
    free(r->blo);
    free(r->bhi);
    free(r->onehot);
    free(r->bits);
    free(r->nbits);
    free(r->pairs);
    free(r->row_start);
    free(r->row_list);
    free(r->weight);
    sv_strlist_free(&r->lines);
}

/* The lines beyond RF_MAX_LINES, counted per kind. */
static void summary(rf *r)
{
    if (r->implied && r->total
        && sv_strlist_addf(&r->lines, "model: bounds of %zu column(s) tightened from the "
                           "linear rows (they hold at every feasible point) for big-M values, "
                           "tables and signs", r->implied) != 0)
        oom(r);
    for (int k = 0; k < RK_COUNT; k++)
        if (r->counts[k] > r->logged[k]
            && sv_strlist_addf(&r->lines, "... and %zu more: %s", r->counts[k] - r->logged[k],
                               kind_names[k]) != 0)
            oom(r);
}

fm_program *sv_reformulate(const fm_nlp *n, sv_strlist *applied, const char **why)
{
    rf r;
    memset(&r, 0, sizeof r);
    if (!n || !fm_nlp_program(n)) {
        if (why)
            *why = "no nonlinear program";
        return NULL;
    }
    int rc = setup(&r, n);
    for (size_t i = 0; rc == 0 && i < fm_program_nrows(r.src); i++)
        rc = do_row(&r, i);
    if (rc == 0)
        rc = do_objective(&r);
    if (rc == 0)
        summary(&r);
    if (rc == 0 && !r.failed && applied) {
        char **items = realloc(applied->items, (applied->n + r.lines.n + 1) * sizeof *items);
        if (!items) {
            rc = oom(&r);
        } else {
            applied->items = items;
            memcpy(items + applied->n, r.lines.items, r.lines.n * sizeof *items);
            applied->n += r.lines.n;
            free(r.lines.items);
            r.lines.items = NULL;
            r.lines.n = 0;
        }
    }
    if (rc != 0 || r.failed) {
        if (why)
            *why = why_buf;
        fm_program_free(r.out);
        r.out = NULL;
    }
    teardown(&r);
    return r.out;
}
