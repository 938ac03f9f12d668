/* formulate/deriv.c — exact first and second derivatives of the nonlinear
 * program (formulate.h, "derivatives of the nonlinear program").
 *
 * Automatic differentiation over the expression trees, which are trees (no
 * shared subexpressions), so that the textbook identities are exact:
 *   - values: one forward pass per tree, every node's value kept (val[]);
 *   - gradients: one reverse pass, each node passing adjoint * d node/d kid
 *     down to its kids, columns accumulating into a dense work vector;
 *   - the Hessian of the Lagrangian: for a tree f and a node v with adjoint
 *     adj(v) = df/dv, f's Hessian is the sum over nodes v of
 *         adj(v) * sum_{a,b kids of v} d2v/du_a du_b * grad(u_a) grad(u_b)^T
 *     where grad(u_a) is the (sparse) gradient of kid a's subtree, computed
 *     by a reverse pass over that subtree alone. Only nodes with nonzero
 *     second partials (products, quotients, powers, sqrt, exp, log) pay; a
 *     sum of n squares costs O(n). Kids of one node have disjoint subtrees,
 *     so the gradients of all kids of a node fit one buffer of nnodes
 *     entries.
 * The sparsity structure (Jacobian rows, the Hessian's lower triangle) is
 * found once, by the same walk done symbolically (every branch counted,
 * whatever the values), and fixed: a hash of (row, col) gives each entry its
 * slot. The structure is the union over x, so a value may be 0 in a slot.
 *
 * Nonsmooth functions: abs gets the subgradient sign(u) (0 at 0), min/max
 * the derivative of the active kid (the first one reaching the value),
 * floor/ceil/div (truncated quotient) derivative 0 and mod the derivative of
 * u - v*floor(u/v) with floor held constant: all exact almost everywhere.
 * fm_nlp_diff_discontinuous names the first discontinuous function so that
 * a smooth solver can refuse the model rather than be misled.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/internal.h"

/* Hessian entries and pair visits of the symbolic pass: beyond these the
 * model is refused (FM_ELIMIT) rather than filling memory. */
#define LN10 2.302585092994045684
#define DIFF_MAX_HESS_NNZ 5000000u
#define DIFF_MAX_PAIR_VISITS 100000000u

struct fm_nlp_diff {
    const fm_nlp *p;
    size_t ncols, nrows, nnodes;
    const double *x;         /* the point of the forward pass */
    double *val;             /* nnodes: node values at the last forward pass */
    int32_t *active;         /* nnodes: min/max: the active kid */
    unsigned char *hascol;   /* nnodes: the subtree holds a column */
    double *dense;           /* ncols, all zero between calls */
    size_t *jac_start;       /* nrows + 1 */
    int *jac_col;            /* jac_start[nrows] */
    /* the Hessian's lower triangle: entries, and a hash (row, col) -> slot */
    int *hrow, *hcol;
    size_t hnnz, hcap_entries;
    uint64_t *hkey;          /* 0: empty; else ((row+1) << 32) | (col+1) */
    uint32_t *hslot;
    size_t hcap;             /* power of two */
    double *hval;            /* the values being accumulated (caller's) */
    /* kid gradients of one node */
    int *tcol;
    double *tval;
    size_t tlen;
    size_t *toff;            /* max kids + 1 */
    int symbolic;            /* the structure pass: record, do not add */
    int failed;              /* out of memory or over a limit */
    size_t visits;
    const char *discontinuous;
};

static size_t idx(const fm_nlp_diff *d, const fm_expr *e)
{
    return (size_t)(e - d->p->nodes);
}

/* ---- values ---- */

static double fwd(fm_nlp_diff *d, const fm_expr *e)
{
    size_t i = idx(d, e);
    double a = e->nkids ? fwd(d, e->kids[0]) : 0;
    double b = e->nkids > 1 ? fwd(d, e->kids[1]) : 0;
    double r = NAN;
    switch (e->kind) {
    case FM_EX_CONST: r = e->value; break;
    case FM_EX_COL: r = d->x[e->col]; break;
    case FM_EX_ADD: case FM_EX_MUL: case FM_EX_MIN: case FM_EX_MAX: {
        r = a;
        int32_t act = 0;
        for (int32_t k = 1; k < e->nkids; k++) {
            double y = k == 1 ? b : fwd(d, e->kids[k]);
            if (e->kind == FM_EX_ADD) r += y;
            else if (e->kind == FM_EX_MUL) r *= y;
            else if (e->kind == FM_EX_MIN ? y < r : y > r) { r = y; act = k; }
        }
        d->active[i] = act;
        break;
    }
    case FM_EX_DIV: r = a / b; break;
    case FM_EX_NEG: r = -a; break;
    case FM_EX_POW: r = pow(a, b); break;
    case FM_EX_ABS: r = fabs(a); break;
    case FM_EX_SQRT: r = sqrt(a); break;
    case FM_EX_EXP: r = exp(a); break;
    case FM_EX_LOG: r = log(a); break;
    case FM_EX_LOG10: r = log10(a); break;
    case FM_EX_FLOOR: r = floor(a); break;
    case FM_EX_CEIL: r = ceil(a); break;
    case FM_EX_IDIV: r = trunc(a / b); break;
    case FM_EX_MOD: r = a - b * floor(a / b); break;
    }
    d->val[i] = r;
    return r;
}

/* The value of kid k of e (after a forward pass). */
static double kv(const fm_nlp_diff *d, const fm_expr *e, int32_t k)
{
    return d->val[idx(d, e->kids[k])];
}

/* d e / d kid k at the last forward pass. */
static double partial(const fm_nlp_diff *d, const fm_expr *e, int32_t k)
{
    double a = e->nkids ? kv(d, e, 0) : 0;
    double b = e->nkids > 1 ? kv(d, e, 1) : 0;
    switch (e->kind) {
    case FM_EX_ADD: return 1;
    case FM_EX_MUL: {
        double p = 1;
        for (int32_t j = 0; j < e->nkids; j++)
            if (j != k) p *= kv(d, e, j);
        return p;
    }
    case FM_EX_DIV: return k == 0 ? 1 / b : -a / (b * b);
    case FM_EX_NEG: return -1;
    case FM_EX_POW:
        if (k == 0) {
            if (!d->hascol[idx(d, e->kids[1])]) {
                if (b == 0) return 0;
                if (b == 1) return 1;
                return b * pow(a, b - 1);
            }
            return b * pow(a, b - 1);
        }
        return d->val[idx(d, e)] * log(a);
    case FM_EX_ABS: return a > 0 ? 1 : a < 0 ? -1 : 0;
    case FM_EX_SQRT: return 0.5 / sqrt(a);
    case FM_EX_EXP: return exp(a);
    case FM_EX_LOG: return 1 / a;
    case FM_EX_LOG10: return 1 / (a * LN10);
    case FM_EX_MIN: case FM_EX_MAX: return k == d->active[idx(d, e)] ? 1 : 0;
    case FM_EX_MOD: return k == 0 ? 1 : -floor(a / b);
    default: return 0;   /* const, col, floor, ceil, div */
    }
}

/* ---- gradients ---- */

/* Adds adj * grad(e) into d->dense. */
static void rev(fm_nlp_diff *d, const fm_expr *e, double adj)
{
    if (adj == 0) return;
    if (e->kind == FM_EX_COL) { d->dense[e->col] += adj; return; }
    for (int32_t k = 0; k < e->nkids; k++)
        if (d->hascol[idx(d, e->kids[k])]) rev(d, e->kids[k], adj * partial(d, e, k));
}

/* Appends scale * grad(e) to the kid-gradient buffer (symbolic: every
 * column of the subtree, value 1). */
static void tangent(fm_nlp_diff *d, const fm_expr *e, double scale)
{
    if (e->kind == FM_EX_COL) {
        d->tcol[d->tlen] = e->col;
        d->tval[d->tlen++] = scale;
        return;
    }
    for (int32_t k = 0; k < e->nkids; k++) {
        if (!d->hascol[idx(d, e->kids[k])]) continue;
        if (d->symbolic) tangent(d, e->kids[k], 1);
        else {
            double s = scale * partial(d, e, k);
            if (s != 0) tangent(d, e->kids[k], s);
        }
    }
}

/* ---- the Hessian's structure and values ---- */

static uint64_t hkey_of(int r, int c) { return ((uint64_t)(uint32_t)(r + 1) << 32) | (uint32_t)(c + 1); }

static size_t hhash(uint64_t k, size_t cap)
{
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int hgrow(fm_nlp_diff *d)
{
    size_t cap = d->hcap ? d->hcap * 2 : 1024;
    uint64_t *k = calloc(cap, sizeof *k);
    uint32_t *s = malloc(cap * sizeof *s);
    if (!k || !s) { free(k); free(s); return -1; }
    for (size_t i = 0; i < d->hcap; i++) {
        if (!d->hkey[i]) continue;
        size_t h = hhash(d->hkey[i], cap);
        while (k[h]) h = (h + 1) & (cap - 1);
        k[h] = d->hkey[i]; s[h] = d->hslot[i];
    }
    free(d->hkey); free(d->hslot);
    d->hkey = k; d->hslot = s; d->hcap = cap;
    return 0;
}

/* The entry (r, c), r >= c: its slot, added in the symbolic pass. */
static void hadd(fm_nlp_diff *d, int r, int c, double v)
{
    if (d->failed) return;
    uint64_t key = hkey_of(r, c);
    if (d->symbolic) {
        if (++d->visits > DIFF_MAX_PAIR_VISITS) { d->failed = 2; return; }
        if ((d->hnnz + 1) * 2 > d->hcap && hgrow(d) != 0) { d->failed = 1; return; }
    }
    size_t h = hhash(key, d->hcap);
    while (d->hkey[h] && d->hkey[h] != key) h = (h + 1) & (d->hcap - 1);
    if (d->hkey[h]) {
        if (!d->symbolic) d->hval[d->hslot[h]] += v;
        return;
    }
    if (!d->symbolic) return;   /* cannot happen: the structure covers every walk */
    if (d->hnnz >= DIFF_MAX_HESS_NNZ) { d->failed = 2; return; }
    if (d->hnnz == d->hcap_entries) {
        size_t cap = d->hcap_entries ? d->hcap_entries * 2 : 256;
        int *nr = realloc(d->hrow, cap * sizeof *nr);
        if (nr) d->hrow = nr;
        int *nc = nr ? realloc(d->hcol, cap * sizeof *nc) : NULL;
        if (nc) d->hcol = nc;
        if (!nr || !nc) { d->failed = 1; return; }
        d->hcap_entries = cap;
    }
    d->hkey[h] = key;
    d->hslot[h] = (uint32_t)d->hnnz;
    d->hrow[d->hnnz] = r; d->hcol[d->hnnz] = c;
    d->hnnz++;
}

/* w * (ga gb^T + gb ga^T) (cross) or w * ga ga^T, lower triangle; ga and gb
 * are ranges of the kid-gradient buffer. */
static void hpairs(fm_nlp_diff *d, size_t a0, size_t a1, size_t b0, size_t b1,
                   int cross, double w)
{
    if (!d->symbolic && w == 0) return;
    for (size_t i = a0; i < a1 && !d->failed; i++)
        for (size_t j = b0; j < b1; j++) {
            int ci = d->tcol[i], cj = d->tcol[j];
            double v = w * d->tval[i] * d->tval[j];
            if (cross) {
                if (ci == cj) hadd(d, ci, cj, 2 * v);
                else hadd(d, ci > cj ? ci : cj, ci > cj ? cj : ci, v);
            } else if (ci >= cj) {
                hadd(d, ci, cj, v);
            }
        }
}

/* Second partial d2 e / d kid a d kid b at the last forward pass. */
static double partial2(const fm_nlp_diff *d, const fm_expr *e, int32_t ka, int32_t kb)
{
    double a = kv(d, e, 0);
    double b = e->nkids > 1 ? kv(d, e, 1) : 0;
    switch (e->kind) {
    case FM_EX_MUL: {
        if (ka == kb) return 0;
        double p = 1;
        for (int32_t j = 0; j < e->nkids; j++)
            if (j != ka && j != kb) p *= kv(d, e, j);
        return p;
    }
    case FM_EX_DIV:
        if (ka == 0 && kb == 0) return 0;
        if (ka != kb) return -1 / (b * b);
        return 2 * a / (b * b * b);
    case FM_EX_POW:
        if (!d->hascol[idx(d, e->kids[1])]) {
            if (b == 0 || b == 1) return 0;
            if (b == 2) return 2;
            return b * (b - 1) * pow(a, b - 2);
        }
        if (ka == 0 && kb == 0) return b * (b - 1) * pow(a, b - 2);
        if (ka != kb) return pow(a, b - 1) * (1 + b * log(a));
        return d->val[idx(d, e)] * log(a) * log(a);
    case FM_EX_SQRT: return -0.25 / (a * sqrt(a));
    case FM_EX_EXP: return exp(a);
    case FM_EX_LOG: return -1 / (a * a);
    case FM_EX_LOG10: return -1 / (a * a * LN10);
    default: return 0;
    }
}

static int smooth2(fm_expr_kind k)
{
    return k == FM_EX_MUL || k == FM_EX_DIV || k == FM_EX_POW || k == FM_EX_SQRT
           || k == FM_EX_EXP || k == FM_EX_LOG || k == FM_EX_LOG10;
}

/* Adds adj * Hessian(e) (symbolic: records its structure). */
static void hrev(fm_nlp_diff *d, const fm_expr *e, double adj)
{
    if (d->failed || (!d->symbolic && adj == 0) || !d->hascol[idx(d, e)]) return;
    if (e->kind == FM_EX_COL) return;
    if (smooth2(e->kind)) {
        /* the gradients of the kids that hold columns */
        d->tlen = 0;
        for (int32_t k = 0; k < e->nkids; k++) {
            d->toff[k] = d->tlen;
            if (d->hascol[idx(d, e->kids[k])]) tangent(d, e->kids[k], 1);
        }
        d->toff[e->nkids] = d->tlen;
        for (int32_t a = 0; a < e->nkids; a++) {
            if (d->toff[a] == d->toff[a + 1]) continue;
            for (int32_t b = a; b < e->nkids; b++) {
                if (d->toff[b] == d->toff[b + 1]) continue;
                double s = d->symbolic ? 1 : partial2(d, e, a, b);
                if (d->symbolic) {
                    /* structurally zero: x*x within one product kid, a
                     * numerator's square, a constant power's exponent */
                    if (a == b && (e->kind == FM_EX_MUL || (e->kind == FM_EX_DIV && a == 0)))
                        continue;
                }
                hpairs(d, d->toff[a], d->toff[a + 1], d->toff[b], d->toff[b + 1],
                       a != b, adj * s);
            }
        }
    }
    for (int32_t k = 0; k < e->nkids && !d->failed; k++) {
        if (!d->hascol[idx(d, e->kids[k])]) continue;
        hrev(d, e->kids[k], d->symbolic ? 1 : adj * partial(d, e, k));
    }
}

/* ---- building ---- */

static const char *discontinuous_name(fm_expr_kind k)
{
    switch (k) {
    case FM_EX_FLOOR: return "floor";
    case FM_EX_CEIL: return "ceil";
    case FM_EX_IDIV: return "div";
    case FM_EX_MOD: return "mod";
    default: return NULL;
    }
}

/* Marks hascol and finds the largest kid count; records discontinuities. */
static int scan(fm_nlp_diff *d, const fm_expr *e, size_t *maxkids)
{
    int has = e->kind == FM_EX_COL;
    if ((size_t)e->nkids > *maxkids) *maxkids = (size_t)e->nkids;
    for (int32_t k = 0; k < e->nkids; k++) has |= scan(d, e->kids[k], maxkids);
    d->hascol[idx(d, e)] = (unsigned char)has;
    if (has && !d->discontinuous) d->discontinuous = discontinuous_name(e->kind);
    return has;
}

static const fm_expr *tree_of_index(const fm_nlp_diff *d, size_t t)
{
    /* t < nrows: row t; t == nrows: the objective */
    return t < d->nrows ? fm_nlp_row_tree(d->p, t) : fm_nlp_objective_tree(d->p);
}

fm_nlp_diff *fm_nlp_diff_new(const fm_nlp *p, fm_code *code)
{
    fm_code code_unused;
    fm_code *out = code ? code : &code_unused;
    *out = FM_ENOMEM;
    fm_nlp_diff *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    const fm_program *prog = fm_nlp_program(p);
    d->p = p;
    d->ncols = fm_program_ncols(prog);
    d->nrows = fm_program_nrows(prog);
    d->nnodes = p->nnodes;
    size_t nn = d->nnodes ? d->nnodes : 1;
    d->val = calloc(nn, sizeof *d->val);
    d->active = calloc(nn, sizeof *d->active);
    d->hascol = calloc(nn, 1);
    d->tcol = malloc(nn * sizeof *d->tcol);
    d->tval = malloc(nn * sizeof *d->tval);
    d->dense = calloc(d->ncols ? d->ncols : 1, sizeof *d->dense);
    d->jac_start = calloc(d->nrows + 1, sizeof *d->jac_start);
    int *mark = malloc((d->ncols ? d->ncols : 1) * sizeof *mark);
    if (!d->val || !d->active || !d->hascol || !d->tcol || !d->tval || !d->dense
        || !d->jac_start || !mark)
        goto fail;
    size_t maxkids = 0;
    for (size_t t = 0; t <= d->nrows; t++) {
        const fm_expr *e = tree_of_index(d, t);
        if (e) scan(d, e, &maxkids);
    }
    d->toff = malloc((maxkids + 1) * sizeof *d->toff);
    if (!d->toff) goto fail;
    /* the Jacobian: each row's linear columns and tree columns, once */
    for (size_t j = 0; j < d->ncols; j++) mark[j] = -1;
    size_t nnz = 0, cap = 0;
    for (size_t i = 0; i < d->nrows; i++) {
        d->jac_start[i] = nnz;
        const int *cols;
        const double *coefs;
        size_t nl = fm_program_row(prog, i, &cols, &coefs);
        const fm_expr *e = fm_nlp_row_tree(p, i);
        d->tlen = 0;
        d->symbolic = 1;
        if (e && d->hascol[idx(d, e)]) tangent(d, e, 1);
        d->symbolic = 0;
        if (nnz + nl + d->tlen > cap) {
            size_t ncap = cap ? cap : 1024;
            while (ncap < nnz + nl + d->tlen) ncap *= 2;
            int *nc = realloc(d->jac_col, ncap * sizeof *nc);
            if (!nc) goto fail;
            d->jac_col = nc; cap = ncap;
        }
        for (size_t k = 0; k < nl + d->tlen; k++) {
            int c = k < nl ? cols[k] : d->tcol[k - nl];
            if (mark[c] == (int)i) continue;
            mark[c] = (int)i;
            d->jac_col[nnz++] = c;
        }
    }
    d->jac_start[d->nrows] = nnz;
    free(mark);
    mark = NULL;
    /* the Hessian's structure */
    d->symbolic = 1;
    if (hgrow(d) != 0) goto fail;
    for (size_t t = 0; t <= d->nrows && !d->failed; t++) {
        const fm_expr *e = tree_of_index(d, t);
        if (e) hrev(d, e, 1);
    }
    d->symbolic = 0;
    if (d->failed) {
        *out = d->failed == 2 ? FM_ELIMIT : FM_ENOMEM;
        fm_nlp_diff_free(d);
        return NULL;
    }
    *out = FM_OK;
    return d;
fail:
    free(mark);
    fm_nlp_diff_free(d);
    return NULL;
}

void fm_nlp_diff_free(fm_nlp_diff *d)
{
    if (!d) return;
    free(d->val); free(d->active); free(d->hascol); free(d->dense);
    free(d->jac_start); free(d->jac_col);
    free(d->hrow); free(d->hcol); free(d->hkey); free(d->hslot);
    free(d->tcol); free(d->tval); free(d->toff);
    free(d);
}

const char *fm_nlp_diff_discontinuous(const fm_nlp_diff *d)
{
    return d->discontinuous;
}

size_t fm_nlp_diff_jac_nnz(const fm_nlp_diff *d) { return d->jac_start[d->nrows]; }

void fm_nlp_diff_jac_structure(const fm_nlp_diff *d, int *rows, int *cols)
{
    for (size_t i = 0; i < d->nrows; i++)
        for (size_t k = d->jac_start[i]; k < d->jac_start[i + 1]; k++) {
            rows[k] = (int)i;
            cols[k] = d->jac_col[k];
        }
}

size_t fm_nlp_diff_hess_nnz(const fm_nlp_diff *d) { return d->hnnz; }

void fm_nlp_diff_hess_structure(const fm_nlp_diff *d, int *rows, int *cols)
{
    memcpy(rows, d->hrow, d->hnnz * sizeof *rows);
    memcpy(cols, d->hcol, d->hnnz * sizeof *cols);
}

/* ---- evaluation ---- */

/* The forward pass of tree e at x. */
static double fwd_x(fm_nlp_diff *d, const fm_expr *e, const double *x)
{
    d->x = x;
    return fwd(d, e);
}

static double tree_value(fm_nlp_diff *d, const fm_expr *e, const double *x)
{
    return e ? fwd_x(d, e, x) : 0;
}

static int finite_all(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return -1;
    return 0;
}

static double linear(const int *cols, const double *coefs, size_t n, const double *x)
{
    double s = 0;
    for (size_t k = 0; k < n; k++) s += coefs[k] * x[cols[k]];
    return s;
}

int fm_nlp_diff_objective(fm_nlp_diff *d, const double *x, double *f)
{
    const fm_program *prog = fm_nlp_program(d->p);
    const int *cols;
    const double *coefs;
    size_t n = fm_program_objective(prog, &cols, &coefs);
    *f = fm_program_objective_constant(prog) + linear(cols, coefs, n, x)
         + tree_value(d, fm_nlp_objective_tree(d->p), x);
    return isfinite(*f) ? 0 : -1;
}

int fm_nlp_diff_gradient(fm_nlp_diff *d, const double *x, double *grad)
{
    const fm_program *prog = fm_nlp_program(d->p);
    const int *cols;
    const double *coefs;
    size_t n = fm_program_objective(prog, &cols, &coefs);
    memset(d->dense, 0, d->ncols * sizeof *d->dense);
    for (size_t k = 0; k < n; k++) d->dense[cols[k]] += coefs[k];
    const fm_expr *e = fm_nlp_objective_tree(d->p);
    int bad = 0;
    if (e) {
        bad = !isfinite(fwd_x(d, e, x));
        if (!bad) rev(d, e, 1);
    }
    memcpy(grad, d->dense, d->ncols * sizeof *grad);
    memset(d->dense, 0, d->ncols * sizeof *d->dense);
    return bad ? -1 : finite_all(grad, d->ncols);
}

int fm_nlp_diff_rows(fm_nlp_diff *d, const double *x, double *g)
{
    const fm_program *prog = fm_nlp_program(d->p);
    for (size_t i = 0; i < d->nrows; i++) {
        const int *cols;
        const double *coefs;
        size_t n = fm_program_row(prog, i, &cols, &coefs);
        g[i] = linear(cols, coefs, n, x) + tree_value(d, fm_nlp_row_tree(d->p, i), x);
    }
    return finite_all(g, d->nrows);
}

int fm_nlp_diff_jacobian(fm_nlp_diff *d, const double *x, double *values)
{
    const fm_program *prog = fm_nlp_program(d->p);
    int bad = 0;
    for (size_t i = 0; i < d->nrows; i++) {
        const int *cols;
        const double *coefs;
        size_t n = fm_program_row(prog, i, &cols, &coefs);
        for (size_t k = 0; k < n; k++) d->dense[cols[k]] += coefs[k];
        const fm_expr *e = fm_nlp_row_tree(d->p, i);
        if (e && d->hascol[idx(d, e)]) {
            if (isfinite(fwd_x(d, e, x))) rev(d, e, 1);
            else bad = 1;
        }
        for (size_t k = d->jac_start[i]; k < d->jac_start[i + 1]; k++) {
            values[k] = d->dense[d->jac_col[k]];
            d->dense[d->jac_col[k]] = 0;
        }
    }
    return bad ? -1 : finite_all(values, d->jac_start[d->nrows]);
}

int fm_nlp_diff_hessian(fm_nlp_diff *d, const double *x, double sigma,
                        const double *lambda, double *values)
{
    memset(values, 0, d->hnnz * sizeof *values);
    d->hval = values;
    int bad = 0;
    for (size_t t = 0; t <= d->nrows; t++) {
        const fm_expr *e = tree_of_index(d, t);
        double w = t < d->nrows ? (lambda ? lambda[t] : 0) : sigma;
        if (!e || w == 0 || !d->hascol[idx(d, e)]) continue;
        if (!isfinite(fwd_x(d, e, x))) bad = 1;
        else hrev(d, e, w);
    }
    d->hval = NULL;
    return bad ? -1 : finite_all(values, d->hnnz);
}
