/* Evaluation and instantiation: sets, parameter data, columns, rows.
 *
 * Values are numbers, elements (interned symbols), truth values or affine
 * forms in the columns. Sums over a tuple set with bound components walk a
 * slice index built once per (set, bound components), so they cost what they
 * touch. Every member visited counts toward lim.max_steps.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "formulate/internal.h"

#define MAX_ERRORS_PER_ELEMENT 5

typedef struct lin {
    double c0;
    size_t n, cap;
    int *col;
    double *coef;
    struct lin *next_free;
} lin;

enum { V_NUM, V_SYM, V_LIN, V_LOG };
/* tree1: 0, or 1 + the node of the value's expression tree. A value gets a
 * tree once it is nonlinear; the other fields then keep what they held
 * before trees existed (e.g. x*y keeps x), so that the nonlinear
 * diagnostics, and which terms count as nonlinear, stay exactly as they
 * were. The tree is the true value. */
typedef struct { int k; double num; fm_sym sym; lin *l; int32_t tree1; } val;

typedef struct {
    fm_model *m;
    fm_diags *d;
    fm_decl *decl;          /* element being evaluated, for diagnostics */
    fm_sym *env;            /* dummy slots */
    const fm_sym *key;      /* the element's current instance, or NULL */
    int keylen;
    int failed;
    int errors;             /* diagnostics of this element */
    int nonlinear;          /* nonlinear terms in this element */
    const double *solution; /* report mode: variables are these values */
    lin *freelist;
} ectx;

static const val V0 = { V_NUM, 0, 0, NULL, 0 };

/* ---- diagnostics ---- */

static void index_text(const ectx *c, char *buf, size_t len)
{
    buf[0] = 0;
    if (!c->key || !c->keylen) return;
    size_t w = 0;
    w += snprintf(buf + w, len - w, "[");
    for (int i = 0; i < c->keylen && w < len; i++)
        w += snprintf(buf + w, len - w, "%s%s", i ? "," : "", fm_sym_text(&c->m->syms, c->key[i]));
    if (w < len) snprintf(buf + w, len - w, "]");
}

static void eerr(ectx *c, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void eerr(ectx *c, const char *hint, const char *fmt, ...)
{
    c->failed = 1;
    if (c->errors++ >= MAX_ERRORS_PER_ELEMENT) return;
    char buf[900], idx[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    index_text(c, idx, sizeof idx);
    fm_diags_add(c->d, FM_SEV_ERROR, c->decl->label, idx, hint, "%s", buf);
}


static int count_step(ectx *c, size_t n)
{
    c->m->steps += n;
    if (c->m->steps > c->m->lim.max_steps) {
        if (!c->failed)
            eerr(c, "the model expands to too many terms; aggregate or shrink the sets",
                 "expansion exceeds the limit of %zu steps", c->m->lim.max_steps);
        c->m->steps = c->m->lim.max_steps + 1;
        return -1;
    }
    return 0;
}

/* ---- affine forms ---- */

static lin *lin_new(ectx *c)
{
    lin *l = c->freelist;
    if (l) { c->freelist = l->next_free; l->n = 0; l->c0 = 0; return l; }
    l = calloc(1, sizeof *l);
    if (!l) eerr(c, "", "out of memory");
    return l;
}

static void lin_release(ectx *c, lin *l)
{
    if (!l) return;
    l->next_free = c->freelist;
    c->freelist = l;
}

static void val_release(ectx *c, val *v)
{
    if (v->k == V_LIN) { lin_release(c, v->l); v->l = NULL; }
}

static int lin_push(ectx *c, lin *l, int col, double coef)
{
    if (l->n == l->cap) {
        if (l->n >= c->m->lim.max_nonzeros) {
            c->m->limit_hit = 1;
            if (!c->failed)
                eerr(c, "", "an expression has more than the limit of %zu terms", c->m->lim.max_nonzeros);
            return -1;
        }
        size_t cap = l->cap ? l->cap * 2 : 4;
        int *nc = realloc(l->col, cap * sizeof *nc);
        if (!nc) { eerr(c, "", "out of memory"); return -1; }
        l->col = nc;
        double *nf = realloc(l->coef, cap * sizeof *nf);
        if (!nf) { eerr(c, "", "out of memory"); return -1; }
        l->coef = nf;
        l->cap = cap;
    }
    l->col[l->n] = col; l->coef[l->n] = coef; l->n++;
    return 0;
}

/* dst += f * src */
static void lin_addto(ectx *c, lin *dst, const lin *src, double f)
{
    dst->c0 += f * src->c0;
    for (size_t i = 0; i < src->n; i++) lin_push(c, dst, src->col[i], f * src->coef[i]);
}

static void lin_scale(lin *l, double f)
{
    l->c0 *= f;
    for (size_t i = 0; i < l->n; i++) l->coef[i] *= f;
}

static void lin_text(const ectx *c, const lin *l, char *buf, size_t len)
{
    const fm_program *p = c->m->program;
    if (l->n == 1 && l->coef[0] == 1 && l->c0 == 0) {
        snprintf(buf, len, "%s", fm_program_col_name(p, l->col[0]));
        return;
    }
    size_t w = snprintf(buf, len, "(");
    for (size_t i = 0; i < l->n && w < len; i++) {
        if (i == 4) { w += snprintf(buf + w, len - w, " + ..."); break; }
        char num[40];
        fm_format_number(num, sizeof num, l->coef[i]);
        w += snprintf(buf + w, len - w, "%s%s%s%s", i ? " + " : "",
                      l->coef[i] == 1 ? "" : num, l->coef[i] == 1 ? "" : "*",
                      fm_program_col_name(p, l->col[i]));
    }
    if (l->c0 != 0 && w < len) {
        char num[40];
        fm_format_number(num, sizeof num, l->c0);
        w += snprintf(buf + w, len - w, " + %s", num);
    }
    if (w < len) snprintf(buf + w, len - w, ")");
}

static int has_vars(const val *v) { return v->k == V_LIN && v->l->n > 0; }

static void nonlinear(ectx *c, const char *what, const val *a, const val *b, const char *fn)
{
    c->nonlinear++;
    c->m->nonlinear++;
    if (c->nonlinear > MAX_ERRORS_PER_ELEMENT) return;
    char ta[200] = "", tb[200] = "", idx[300];
    if (a && a->k == V_LIN) lin_text(c, a->l, ta, sizeof ta);
    else if (a) fm_format_number(ta, sizeof ta, a->num);
    if (b && b->k == V_LIN) lin_text(c, b->l, tb, sizeof tb);
    else if (b) fm_format_number(tb, sizeof tb, b->num);
    index_text(c, idx, sizeof idx);
    /* Information, not an error: the term goes into the nonlinear program
     * (fm_model_nlp), which the nonlinear backends solve. */
    const char *hint = "solved as a nonlinear model; a linear formulation (fix one factor, "
                       "or introduce a variable and bounds) is proven optimal more often";
    if (!strcmp(what, "product"))
        fm_diags_add(c->d, FM_SEV_INFO, c->decl->label, idx, hint,
                     "nonlinear: product of variables %s*%s", ta, tb);
    else if (!strcmp(what, "division"))
        fm_diags_add(c->d, FM_SEV_INFO, c->decl->label, idx, hint,
                     "nonlinear: division by a variable %s/%s", ta, tb);
    else if (!strcmp(what, "power"))
        fm_diags_add(c->d, FM_SEV_INFO, c->decl->label, idx, hint,
                     "nonlinear: power of a variable %s^%s", ta, tb);
    else
        fm_diags_add(c->d, FM_SEV_INFO, c->decl->label, idx, hint,
                     "nonlinear: function of a variable %s(%s)", fn, ta);
}

/* ---- conversions ---- */

static val num_val(double x) { val v = V0; v.num = x; return v; }

static val finite_val(ectx *c, double x)
{
    if (!isfinite(x)) { eerr(c, "", "arithmetic overflow: the value is not finite"); return V0; }
    return num_val(x);
}

/* Coefficients and bounds that overflowed during scaling. */
static int lin_finite(ectx *c, const lin *l)
{
    int ok = isfinite(l->c0);
    for (size_t i = 0; i < l->n && ok; i++) ok = isfinite(l->coef[i]);
    if (!ok) eerr(c, "", "arithmetic overflow: a coefficient is not finite");
    return ok;
}

static int to_num(ectx *c, val *v, double *out)
{
    if (v->tree1) {   /* a nonlinear value where only a number can go */
        c->m->nlp_lost = 1;
        eerr(c, "", "expected a value without variables here");
        return -1;
    }
    switch (v->k) {
    case V_NUM: *out = v->num; return 0;
    case V_SYM:
        if (c->m->syms.is_num[v->sym]) { *out = c->m->syms.num[v->sym]; return 0; }
        eerr(c, "", "expected a number but got the element '%s'", fm_sym_text(&c->m->syms, v->sym));
        return -1;
    case V_LOG: eerr(c, "", "expected a number but got a condition"); return -1;
    default:
        if (v->l->n == 0) { *out = v->l->c0; return 0; }
        eerr(c, "", "expected a value without variables here");
        return -1;
    }
}

static int to_sym(ectx *c, val *v, fm_sym *out)
{
    if (v->k == V_SYM) { *out = v->sym; return 0; }
    double x;
    if (to_num(c, v, &x) != 0) return -1;
    if (fm_sym_from_number(&c->m->syms, x, out) != 0) { eerr(c, "", "out of memory"); return -1; }
    return 0;
}

/* Affine form of a value (takes ownership of v). */
static lin *to_lin(ectx *c, val *v)
{
    if (v->k == V_LIN) { lin *l = v->l; v->l = NULL; return l; }
    double x;
    if (to_num(c, v, &x) != 0) return NULL;
    lin *l = lin_new(c);
    if (l) l->c0 = x;
    return l;
}

/* ---- expression trees of nonlinear values ---- */

static int tree_room(ectx *c)
{
    fm_model *m = c->m;
    if (c->failed) return 0;
    if (!m->nlp && !(m->nlp = fm_nlp_new())) { eerr(c, "", "out of memory"); return 0; }
    if (m->nlp->nnodes >= m->lim.max_nonzeros) {
        m->limit_hit = 1;
        eerr(c, "", "nonlinear expressions have more than the limit of %zu nodes",
             m->lim.max_nonzeros);
        return 0;
    }
    return 1;
}

static int32_t tnode(ectx *c, fm_expr_kind k, double value, int col)
{
    if (!tree_room(c)) return -1;
    int32_t n = fm_nlp_node(c->m->nlp, k, value, col);
    if (n < 0) eerr(c, "", "out of memory");
    return n;
}

static int32_t tdepth(ectx *c, int32_t t)
{
    if (t >= 0 && c->m->nlp->nodes[t].depth > FM_MAX_TREE_DEPTH) {
        c->m->limit_hit = 1;
        eerr(c, "", "a nonlinear expression is nested deeper than the limit of %d",
             FM_MAX_TREE_DEPTH);
        return -1;
    }
    return t;
}

static void tkid(ectx *c, int32_t parent, int32_t kid)
{
    if (parent >= 0 && kid >= 0 && !c->failed) fm_nlp_add_kid(c->m->nlp, parent, kid);
}

static int32_t tbin(ectx *c, fm_expr_kind k, int32_t a, int32_t b)
{
    if (a < 0 || b < 0 || !tree_room(c)) return -1;
    int32_t n = fm_nlp_binary(c->m->nlp, k, a, b);
    if (n < 0) { eerr(c, "", "out of memory"); return -1; }
    return tdepth(c, n);
}

static int32_t tunary(ectx *c, fm_expr_kind k, int32_t a)
{
    if (a < 0) return -1;
    int32_t n = tnode(c, k, 0, -1);
    tkid(c, n, a);
    return tdepth(c, n);
}

static int32_t tree_term(ectx *c, int col, double coef)
{
    int32_t x = tnode(c, FM_EX_COL, 0, col);
    if (coef == 1) return x;
    return tbin(c, FM_EX_MUL, tnode(c, FM_EX_CONST, coef, -1), x);
}

/* The tree of an affine form (not consumed). */
static int32_t tree_of_lin(ectx *c, const lin *l)
{
    if (l->n == 0) return tnode(c, FM_EX_CONST, l->c0, -1);
    if (l->n == 1 && l->c0 == 0) return tree_term(c, l->col[0], l->coef[0]);
    int32_t s = tnode(c, FM_EX_ADD, 0, -1);
    if (l->c0 != 0) tkid(c, s, tnode(c, FM_EX_CONST, l->c0, -1));
    for (size_t i = 0; i < l->n && !c->failed; i++) tkid(c, s, tree_term(c, l->col[i], l->coef[i]));
    return c->failed ? -1 : tdepth(c, s);
}

/* The tree of v: the one it carries (taken from it), else one made from its
 * value. -1 on failure (c->failed is set). */
static int32_t tree_of(ectx *c, val *v)
{
    if (v->tree1) { int32_t t = v->tree1 - 1; v->tree1 = 0; return t; }
    switch (v->k) {
    case V_LIN: return tree_of_lin(c, v->l);
    case V_SYM:
        return tnode(c, FM_EX_CONST, c->m->syms.is_num[v->sym] ? c->m->syms.num[v->sym] : 0, -1);
    default: return tnode(c, FM_EX_CONST, v->num, -1);
    }
}

static void set_tree(ectx *c, val *v, int32_t t) { v->tree1 = t >= 0 && !c->failed ? t + 1 : 0; }

/* ---- evaluation ---- */

static val ev(ectx *c, fm_node *n);
static int truth(ectx *c, fm_node *n);

typedef int (*visit_fn)(ectx *c, void *arg);

/* Members of a set expression, materialized when it is not a declared set. */
typedef struct { fm_setval *sv; fm_setval tmp; int owned; } members;

static void members_free(members *mb)
{
    if (mb->owned) fm_tmap_free(&mb->tmp.members);
}

static int range_bounds(ectx *c, fm_node *s, double *lo, double *hi, double *by, size_t *count)
{
    val a = ev(c, s->kids[0]), b = ev(c, s->kids[1]), st = ev(c, s->kids[2]);
    int bad = c->failed || to_num(c, &a, lo) || to_num(c, &b, hi) || to_num(c, &st, by);
    val_release(c, &a); val_release(c, &b); val_release(c, &st);
    if (bad) return -1;
    if (*by == 0) { eerr(c, "", "range step 'by' is zero"); return -1; }
    double k = floor((*hi - *lo) / *by + 1e-9);
    if (k < 0) { *count = 0; return 0; }
    if (fabs(*lo) >= FM_MAX_EXACT_ELEMENT || fabs(*lo + *by * k) >= FM_MAX_EXACT_ELEMENT) {
        eerr(c, "numeric elements are integers below 2^53 in magnitude",
             "range %.17g..%.17g reaches 2^53 = 9007199254740992, where consecutive integers are no longer distinct numbers",
             *lo, *hi);
        return -1;
    }
    if (k + 1 > (double)c->m->lim.max_set_size) {
        char l1[40], l2[40];
        fm_format_number(l1, sizeof l1, *lo);
        fm_format_number(l2, sizeof l2, *hi);
        c->m->limit_hit = 1;
        eerr(c, "use a smaller range", "range %s..%s has %.0f members, over the limit of %zu",
             l1, l2, k + 1, c->m->lim.max_set_size);
        return -1;
    }
    *count = (size_t)k + 1;
    return 0;
}

static int collect_indexing(ectx *c, fm_indexing *x, fm_tmap *out);

static int get_members(ectx *c, fm_node *s, members *mb)
{
    memset(mb, 0, sizeof *mb);
    if (s->kind == N_SETNAME) {
        mb->sv = &c->m->decls[s->id]->setval;
        return 0;
    }
    mb->owned = 1;
    mb->sv = &mb->tmp;
    if (s->kind == S_RANGE) {
        double lo, hi, by;
        size_t n;
        fm_tmap_init(&mb->tmp.members, 1);
        mb->tmp.dimen = 1;
        if (range_bounds(c, s, &lo, &hi, &by, &n) != 0) return -1;
        if (count_step(c, n) != 0) return -1;
        for (size_t i = 0; i < n; i++) {
            fm_sym y;
            if (fm_sym_from_number(&c->m->syms, lo + by * (double)i, &y) != 0
                || fm_tmap_insert(&mb->tmp.members, &y, NULL) < 0) {
                eerr(c, "", "out of memory");
                return -1;
            }
        }
        return 0;
    }
    if (s->kind == S_LIST) {
        int dim = s->nkids && s->kids[0]->kind == N_TUPLE ? s->kids[0]->nkids : 1;
        fm_tmap_init(&mb->tmp.members, dim);
        mb->tmp.dimen = dim;
        fm_sym t[20];
        if (dim > 20) { eerr(c, "", "tuples have at most 20 components"); return -1; }
        for (int i = 0; i < s->nkids; i++) {
            fm_node *e = s->kids[i];
            for (int k = 0; k < dim; k++) {
                val v = ev(c, e->kind == N_TUPLE ? e->kids[k] : e);
                int bad = c->failed || to_sym(c, &v, &t[k]);
                val_release(c, &v);
                if (bad) return -1;
            }
            if (fm_tmap_insert(&mb->tmp.members, t, NULL) < 0) { eerr(c, "", "out of memory"); return -1; }
        }
        return 0;
    }
    /* S_INDEXING */
    int dim = 0;
    for (int i = 0; i < s->idx->n; i++) dim += s->idx->entries[i].ncomp;
    fm_tmap_init(&mb->tmp.members, dim);
    mb->tmp.dimen = dim;
    return collect_indexing(c, s->idx, &mb->tmp.members);
}

/* The slice of sv whose components in mask are bound; built on first use. */
static fm_slice *get_slice(ectx *c, fm_setval *sv, unsigned mask)
{
    for (fm_slice *s = sv->slices; s; s = s->link) if (s->mask == mask) return s;
    fm_slice *s = calloc(1, sizeof *s);
    int kd = 0;
    for (int k = 0; k < sv->dimen; k++) if (mask >> k & 1) kd++;
    size_t n = sv->members.n;
    if (!s || !(s->next = malloc((n ? n : 1) * sizeof *s->next))) {
        free(s);
        eerr(c, "", "out of memory");
        return NULL;
    }
    s->mask = mask;
    fm_tmap_init(&s->map, kd);
    fm_sym key[20];
    /* Reverse insertion keeps each chain in set order. */
    for (size_t i = n; i-- > 0;) {
        const fm_sym *t = sv->members.keys + i * sv->dimen;
        int w = 0;
        for (int k = 0; k < sv->dimen; k++) if (mask >> k & 1) key[w++] = t[k];
        int added;
        long e = fm_tmap_insert(&s->map, key, &added);
        if (e < 0) { fm_tmap_free(&s->map); free(s->next); free(s); eerr(c, "", "out of memory"); return NULL; }
        s->next[i] = added ? -1 : (int32_t)s->map.vals[e].i;
        s->map.vals[e].i = (int64_t)i;
    }
    s->link = sv->slices;
    sv->slices = s;
    return s;
}

typedef struct {
    fm_indexing *x;
    visit_fn fn;
    void *arg;
    fm_sym *keybuf;   /* receives every component, or NULL */
} iter_state;

static int iter_entry(ectx *c, iter_state *st, int ei, int keypos);

static int visit_member(ectx *c, iter_state *st, int ei, int keypos, const fm_sym *t,
                        const fm_sym *fvals)
{
    fm_idx_entry *e = &st->x->entries[ei];
    for (int k = 0; k < e->ncomp; k++) {
        if (e->slots[k] < 0 && t[k] != fvals[k]) return 0;
    }
    for (int k = 0; k < e->ncomp; k++) {
        if (e->slots[k] >= 0) c->env[e->slots[k]] = t[k];
        if (st->keybuf) st->keybuf[keypos + k] = t[k];
    }
    return iter_entry(c, st, ei + 1, keypos + e->ncomp);
}

static int iter_entry(ectx *c, iter_state *st, int ei, int keypos)
{
    if (c->failed) return -1;
    if (ei == st->x->n) {
        if (st->x->cond) {
            int t = truth(c, st->x->cond);
            if (t < 0) return -1;
            if (!t) return 0;
        }
        return st->fn(c, st->arg);
    }
    fm_idx_entry *e = &st->x->entries[ei];
    fm_sym fvals[20];
    unsigned mask = 0;
    if (e->ncomp > 20) { eerr(c, "", "tuples have at most 20 components"); return -1; }
    for (int k = 0; k < e->ncomp; k++) {
        if (e->slots[k] >= 0) continue;
        val v = ev(c, e->filters[k]);
        int bad = c->failed || to_sym(c, &v, &fvals[k]);
        val_release(c, &v);
        if (bad) return -1;
        mask |= 1u << k;
    }
    if (e->set->kind == S_RANGE) {   /* walk it; no need to build the set */
        double lo, hi, by;
        size_t n;
        if (range_bounds(c, e->set, &lo, &hi, &by, &n) != 0) return -1;
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            fm_sym y;
            if (count_step(c, 1) != 0) return -1;
            if (fm_sym_from_number(&c->m->syms, lo + by * (double)i, &y) != 0) {
                eerr(c, "", "out of memory");
                return -1;
            }
            rc = visit_member(c, st, ei, keypos, &y, fvals);
        }
        return rc;
    }
    members mb;
    if (get_members(c, e->set, &mb) != 0) { members_free(&mb); return -1; }
    fm_setval *sv = mb.sv;
    int rc = 0;
    if (mask && sv->members.n > 8) {
        fm_slice *sl = get_slice(c, sv, mask);
        if (!sl) { members_free(&mb); return -1; }
        fm_sym key[20];
        int w = 0;
        for (int k = 0; k < e->ncomp; k++) if (mask >> k & 1) key[w++] = fvals[k];
        long h = fm_tmap_find(&sl->map, key);
        for (long i = h >= 0 ? (long)sl->map.vals[h].i : -1; i >= 0 && rc == 0; i = sl->next[i]) {
            if (count_step(c, 1) != 0) { rc = -1; break; }
            rc = visit_member(c, st, ei, keypos, sv->members.keys + (size_t)i * sv->dimen, fvals);
        }
    } else {
        for (size_t i = 0; i < sv->members.n && rc == 0; i++) {
            if (count_step(c, 1) != 0) { rc = -1; break; }
            rc = visit_member(c, st, ei, keypos, sv->members.keys + i * sv->dimen, fvals);
        }
    }
    members_free(&mb);
    return rc;
}

static int iterate(ectx *c, fm_indexing *x, fm_sym *keybuf, visit_fn fn, void *arg)
{
    iter_state st = { x, fn, arg, keybuf };
    return iter_entry(c, &st, 0, 0);
}

typedef struct { fm_tmap *out; fm_sym *buf; } collect_arg;

static int collect_one(ectx *c, void *arg)
{
    collect_arg *a = arg;
    if (fm_tmap_insert(a->out, a->buf, NULL) < 0) { eerr(c, "", "out of memory"); return -1; }
    if (a->out->n > c->m->lim.max_set_size) {
        c->m->limit_hit = 1;
        eerr(c, "", "set has more than the limit of %zu members", c->m->lim.max_set_size);
        return -1;
    }
    return 0;
}

static int collect_indexing(ectx *c, fm_indexing *x, fm_tmap *out)
{
    fm_sym buf[64];
    int dim = 0;
    for (int i = 0; i < x->n; i++) dim += x->entries[i].ncomp;
    if (dim > 64) { eerr(c, "", "too many components"); return -1; }
    collect_arg a = { out, buf };
    return iterate(c, x, buf, collect_one, &a);
}

/* Membership of the tuple t in a set expression. */
static int set_contains(ectx *c, fm_node *s, const fm_sym *t, int dim)
{
    if (s->kind == N_SETNAME) {
        fm_setval *sv = &c->m->decls[s->id]->setval;
        return sv->dimen == dim && fm_tmap_find(&sv->members, t) >= 0;
    }
    if (s->kind == S_RANGE) {
        double lo, hi, by;
        size_t n;
        if (dim != 1 || !c->m->syms.is_num[t[0]]) return 0;
        if (range_bounds(c, s, &lo, &hi, &by, &n) != 0) return -1;
        double v = c->m->syms.num[t[0]], k = (v - lo) / by;
        return k >= 0 && k == floor(k) && k < (double)n;
    }
    members mb;
    int r = get_members(c, s, &mb);
    if (r == 0) r = mb.sv->dimen == dim && fm_tmap_find(&mb.sv->members, t) >= 0;
    members_free(&mb);
    return r;
}

static size_t set_card(ectx *c, fm_node *s)
{
    members mb;
    size_t n = 0;
    if (get_members(c, s, &mb) == 0) n = mb.sv->members.n;
    members_free(&mb);
    return n;
}

/* Is key (dimen of d) in the domain of indexed element d? */
static int in_domain(ectx *c, fm_decl *d, const fm_sym *key)
{
    fm_indexing *x = d->index;
    fm_sym env[64];
    if (d->nslots > 64) return 1;
    fm_sym *saved = c->env;
    c->env = env;
    int pos = 0, ok = 1;
    for (int i = 0; i < x->n && ok == 1; i++) {
        fm_idx_entry *e = &x->entries[i];
        for (int k = 0; k < e->ncomp && ok == 1; k++) {
            if (e->slots[k] >= 0) { env[e->slots[k]] = key[pos + k]; continue; }
            val v = ev(c, e->filters[k]);
            fm_sym f;
            if (c->failed || to_sym(c, &v, &f)) ok = -1;
            else if (f != key[pos + k]) ok = 0;
            val_release(c, &v);
        }
        if (ok == 1) ok = set_contains(c, e->set, key + pos, e->ncomp);
        pos += e->ncomp;
    }
    if (ok == 1 && x->cond) ok = truth(c, x->cond);
    c->env = saved;
    return ok;
}

static int eval_subscripts(ectx *c, fm_node *n, fm_sym *key)
{
    for (int k = 0; k < n->nkids; k++) {
        val v = ev(c, n->kids[k]);
        int bad = c->failed || to_sym(c, &v, &key[k]);
        val_release(c, &v);
        if (bad) return -1;
    }
    return 0;
}

static void key_text(ectx *c, const char *name, const fm_sym *key, int n, char *buf, size_t len)
{
    size_t w = snprintf(buf, len, "%s", name);
    if (!n) return;
    w += snprintf(buf + w, len - w, "[");
    for (int i = 0; i < n && w < len; i++)
        w += snprintf(buf + w, len - w, "%s%s", i ? "," : "", fm_sym_text(&c->m->syms, key[i]));
    if (w < len) snprintf(buf + w, len - w, "]");
}

static val ev_param(ectx *c, fm_node *n)
{
    fm_decl *p = c->m->decls[n->id];
    fm_sym key[64];
    if (n->nkids > 64 || eval_subscripts(c, n, key) != 0) return V0;
    long e = fm_tmap_find(&p->pvals, key);
    if (e >= 0) return num_val(p->pvals.vals[e].d);
    if (p->has_default && p->index) {
        int in = in_domain(c, p, key);
        if (in < 0) return V0;
        if (in) return num_val(p->default_value);
    } else if (p->has_default) {
        return num_val(p->default_value);
    }
    char t[300];
    key_text(c, p->name, key, n->nkids, t, sizeof t);
    eerr(c, "check the subscript against the parameter's index",
         "%s: the subscript is not in the index of parameter '%s'", t, p->name);
    return V0;
}

static val ev_var(ectx *c, fm_node *n)
{
    fm_decl *x = c->m->decls[n->id];
    fm_sym key[64];
    if (n->nkids > 64 || eval_subscripts(c, n, key) != 0) return V0;
    long e = fm_tmap_find(&x->cols, key);
    if (e < 0) {
        char t[300];
        key_text(c, x->name, key, n->nkids, t, sizeof t);
        eerr(c, "guard the reference with a condition or an if, or widen the variable's index",
             "%s: the subscript is not in the index of variable '%s'", t, x->name);
        return V0;
    }
    int col = (int)x->cols.vals[e].i;
    if (c->solution) return num_val(c->solution[col]);
    lin *l = lin_new(c);
    if (!l) return V0;
    if (lin_push(c, l, col, 1.0) != 0) { lin_release(c, l); return V0; }
    val v = { V_LIN, 0, 0, l, 0 };
    return v;
}

static double apply_func(ectx *c, int f, double x)
{
    switch (f) {
    case F_ABS: return fabs(x);
    case F_SQRT:
        if (x < 0) { eerr(c, "", "sqrt of a negative number"); return 0; }
        return sqrt(x);
    case F_EXP: return exp(x);
    case F_LOG:
        if (x <= 0) { eerr(c, "", "log of a number that is not positive"); return 0; }
        return log(x);
    case F_LOG10:
        if (x <= 0) { eerr(c, "", "log10 of a number that is not positive"); return 0; }
        return log10(x);
    case F_FLOOR: return floor(x);
    case F_CEIL: return ceil(x);
    default: return x;
    }
}

static const char *func_name(int f)
{
    static const char *const names[] = { "abs", "min", "max", "sqrt", "exp", "log", "log10",
                                         "floor", "ceil", "card" };
    return names[f];
}

static fm_expr_kind func_kind(int f)
{
    static const fm_expr_kind kinds[] = { FM_EX_ABS, FM_EX_MIN, FM_EX_MAX, FM_EX_SQRT,
                                          FM_EX_EXP, FM_EX_LOG, FM_EX_LOG10, FM_EX_FLOOR,
                                          FM_EX_CEIL };
    return kinds[f];
}

static val ev_call(ectx *c, fm_node *n)
{
    if (n->op == F_CARD) return num_val((double)set_card(c, n->kids[0]));
    double acc = 0;
    int32_t t = -1;   /* the call's node, once an argument is nonlinear */
    for (int i = 0; i < n->nkids; i++) {
        val a = ev(c, n->kids[i]);
        if (c->failed) { val_release(c, &a); return V0; }
        if (t < 0 && (a.tree1 || has_vars(&a))) {
            t = tnode(c, func_kind(n->op), 0, -1);
            if (i > 0) tkid(c, t, tnode(c, FM_EX_CONST, acc, -1));   /* min/max so far */
        }
        if (t >= 0) {
            /* the call is nonlinear: its value is the tree; the arguments'
             * plain values are stand-ins (log(exp(x)) is not log(0)) */
            tkid(c, t, tree_of(c, &a));
            if (has_vars(&a)) nonlinear(c, "function", &a, NULL, func_name(n->op));
            val_release(c, &a);
            continue;
        }
        double x;
        int bad = to_num(c, &a, &x);
        val_release(c, &a);
        if (bad) return V0;
        if (n->op == F_MIN) acc = i ? fmin(acc, x) : x;
        else if (n->op == F_MAX) acc = i ? fmax(acc, x) : x;
        else acc = apply_func(c, n->op, x);
    }
    if (c->failed) return V0;
    if (t < 0 && !isfinite(acc)) {
        eerr(c, "", "%s gives a value that is not finite", func_name(n->op));
        return V0;
    }
    val r = num_val(t < 0 ? acc : 0);
    set_tree(c, &r, tdepth(c, t));
    return r;
}

typedef struct {
    fm_node *body; int op; lin *acc; double num; int count; int has_lin;
    int32_t tree;   /* once a member is nonlinear: the operation's node */
} iter_arg;

static val mul(ectx *c, val a, val b, int pos);

/* The tree of the iteration, once a member's value is nonlinear: it starts
 * from what was accumulated before, then takes one child per member. */
static int iter_tree(ectx *c, iter_arg *a, val *v)
{
    int need = a->tree >= 0 || v->tree1;
    if (a->op == IT_PROD) need = need || (has_vars(v) && a->acc && a->acc->n > 0);
    else if (a->op != IT_SUM) need = need || has_vars(v);
    if (!need) return 0;
    if (a->tree < 0) {
        static const fm_expr_kind kinds[] = { FM_EX_ADD, FM_EX_MUL, FM_EX_MIN, FM_EX_MAX };
        a->tree = tnode(c, kinds[a->op], 0, -1);
        if (a->op == IT_SUM || a->op == IT_PROD) {
            if (a->acc) tkid(c, a->tree, tree_of_lin(c, a->acc));
            if (a->op == IT_SUM ? a->num != 0 : !a->acc)
                tkid(c, a->tree, tnode(c, FM_EX_CONST, a->num, -1));
        } else if (a->count > 1) {
            tkid(c, a->tree, tnode(c, FM_EX_CONST, a->num, -1));   /* min/max so far */
        }
    }
    tkid(c, a->tree, tree_of(c, v));
    a->tree = tdepth(c, a->tree);
    return c->failed ? -1 : 0;
}

static int iter_one(ectx *c, void *arg)
{
    iter_arg *a = arg;
    val v = ev(c, a->body);
    if (c->failed) { val_release(c, &v); return -1; }
    a->count++;
    if (iter_tree(c, a, &v) != 0) { val_release(c, &v); return -1; }
    if (a->op == IT_SUM) {
        if (v.k == V_LIN) {
            if (!a->acc && !(a->acc = lin_new(c))) { val_release(c, &v); return -1; }
            lin_addto(c, a->acc, v.l, 1.0);
            val_release(c, &v);
        } else {
            double x;
            if (to_num(c, &v, &x) != 0) return -1;
            a->num += x;
        }
        return c->failed ? -1 : 0;
    }
    if (a->op == IT_PROD) {
        if (has_vars(&v) || a->acc) {
            val acc = V0;
            if (a->acc) { acc.k = V_LIN; acc.l = a->acc; a->acc = NULL; }
            else acc = num_val(a->num);
            val r = mul(c, acc, v, a->body->pos);
            if (r.k == V_LIN) a->acc = r.l;
            else { double x; if (to_num(c, &r, &x) != 0) return -1; a->num = x; }
            return c->failed ? -1 : 0;
        }
        double x;
        if (to_num(c, &v, &x) != 0) return -1;
        a->num *= x;
        return 0;
    }
    if (has_vars(&v)) {
        nonlinear(c, "function", &v, NULL, a->op == IT_MIN ? "min" : "max");
        val_release(c, &v);
        return 0;
    }
    double x;
    if (to_num(c, &v, &x) != 0) return -1;
    val_release(c, &v);
    if (a->count == 1) a->num = x;
    else if (a->op == IT_MIN) a->num = fmin(a->num, x);
    else a->num = fmax(a->num, x);
    return 0;
}

static val ev_iter(ectx *c, fm_node *n)
{
    iter_arg a = { n->kids[0], n->op, NULL, n->op == IT_PROD ? 1.0 : 0.0, 0, 0, -1 };
    iterate(c, n->idx, NULL, iter_one, &a);
    if (a.tree >= 0 && !c->failed && c->m->nlp->nodes[a.tree].nkids == 1)
        a.tree = c->m->nlp->nodes[a.tree].first;   /* one member: no sum of one */
    if (c->failed) { lin_release(c, a.acc); return V0; }
    if ((n->op == IT_MIN || n->op == IT_MAX) && a.count == 0) {
        eerr(c, "", "%s over an empty set has no value", n->op == IT_MIN ? "min" : "max");
        return V0;
    }
    if (a.acc) {
        a.acc->c0 = n->op == IT_SUM ? a.acc->c0 + a.num : a.acc->c0;
        val v = { V_LIN, 0, 0, a.acc, 0 };
        set_tree(c, &v, a.tree);
        return v;
    }
    val r = num_val(a.num);
    set_tree(c, &r, a.tree);
    return r;
}

/* a * b, consuming both. */
static val mul(ectx *c, val a, val b, int pos)
{
    (void)pos;
    if (a.k == V_LIN || b.k == V_LIN) {
        if (has_vars(&a) && has_vars(&b)) {
            nonlinear(c, "product", &a, &b, NULL);
            val_release(c, &b);
            return a;
        }
        if (b.k == V_LIN && !has_vars(&a)) { val t = a; a = b; b = t; }
        /* a holds the variables (or both are constant forms) */
        double f;
        int bad = to_num(c, &b, &f);
        val_release(c, &b);
        if (bad) { val_release(c, &a); return V0; }
        if (a.k != V_LIN) { double x; if (to_num(c, &a, &x) != 0) return V0; return num_val(x * f); }
        lin_scale(a.l, f);
        return a;
    }
    double x, y;
    if (to_num(c, &a, &x) != 0 || to_num(c, &b, &y) != 0) return V0;
    return finite_val(c, x * y);
}

/* a OP b for a binary operator kind, consuming both; values as they were
 * before trees (arith_vals adds the tree). */
static val arith_plain(ectx *c, fm_node_kind kind, val a, val b)
{
    switch (kind) {
    case N_ADD: case N_SUB: {
        double s = kind == N_ADD ? 1 : -1;
        if (a.k == V_LIN || b.k == V_LIN) {
            lin *la = to_lin(c, &a);
            if (!la) { val_release(c, &b); return V0; }
            if (b.k == V_LIN) { lin_addto(c, la, b.l, s); val_release(c, &b); }
            else { double y; if (to_num(c, &b, &y) != 0) { lin_release(c, la); return V0; } la->c0 += s * y; }
            val v = { V_LIN, 0, 0, la, 0 };
            return v;
        }
        double x, y;
        if (to_num(c, &a, &x) != 0 || to_num(c, &b, &y) != 0) return V0;
        return finite_val(c, x + s * y);
    }
    case N_MUL:
        return mul(c, a, b, 0);
    case N_DIV: {
        if (has_vars(&b)) {
            nonlinear(c, "division", &a, &b, NULL);
            val_release(c, &b);
            return a;
        }
        double y;
        int bad = to_num(c, &b, &y);
        val_release(c, &b);
        if (bad) { val_release(c, &a); return V0; }
        if (y == 0) { val_release(c, &a); eerr(c, "", "division by zero"); return V0; }
        if (a.k == V_LIN) { lin_scale(a.l, 1 / y); return a; }
        double x;
        if (to_num(c, &a, &x) != 0) return V0;
        return finite_val(c, x / y);
    }
    case N_POW: {
        if (has_vars(&a) || has_vars(&b)) {
            nonlinear(c, "power", &a, &b, NULL);
            val_release(c, &b);
            if (has_vars(&a)) return a;
            val_release(c, &a);
            return b.k == V_LIN ? V0 : V0;
        }
        double x, y;
        if (to_num(c, &a, &x) != 0 || to_num(c, &b, &y) != 0) return V0;
        double r = pow(x, y);
        if (!isfinite(r)) { eerr(c, "", "power gives a value that is not finite"); return V0; }
        return num_val(r);
    }
    default: {   /* div, mod: numbers only */
        if (has_vars(&a) || has_vars(&b)) {
            nonlinear(c, "function", &a, NULL, kind == N_MOD ? "mod" : "div");
            val_release(c, &b);
            return a;
        }
        double x, y;
        if (to_num(c, &a, &x) != 0 || to_num(c, &b, &y) != 0) return V0;
        if (y == 0) { eerr(c, "", "division by zero"); return V0; }
        if (kind == N_IDIV) return num_val(trunc(x / y));
        return num_val(x - y * floor(x / y));
    }
    }
}

/* Is a OP b a nonlinear term (the cases arith_plain reports)? */
static int nonlinear_op(fm_node_kind kind, const val *a, const val *b)
{
    switch (kind) {
    case N_MUL: return has_vars(a) && has_vars(b);
    case N_DIV: return has_vars(b);
    case N_ADD: case N_SUB: return 0;
    default: return has_vars(a) || has_vars(b);   /* ^, div, mod */
    }
}

static fm_expr_kind tree_kind(fm_node_kind kind)
{
    switch (kind) {
    case N_ADD: case N_SUB: return FM_EX_ADD;
    case N_MUL: return FM_EX_MUL;
    case N_DIV: return FM_EX_DIV;
    case N_POW: return FM_EX_POW;
    case N_IDIV: return FM_EX_IDIV;
    default: return FM_EX_MOD;
    }
}

/* a OP b, consuming both, with the tree of the result once it is
 * nonlinear (a - b is a + (-b), so that sums stay flat). */
static val arith_vals(ectx *c, fm_node_kind kind, val a, val b)
{
    int32_t t = -1;
    int carried = a.tree1 || b.tree1;
    if (carried || nonlinear_op(kind, &a, &b)) {
        int32_t ta = tree_of(c, &a), tb = tree_of(c, &b);
        if (kind == N_SUB) tb = tunary(c, FM_EX_NEG, tb);
        t = tbin(c, tree_kind(kind), ta, tb);
    }
    if (carried) {
        /* A nonlinear operand's plain value is a stand-in: computing with it
         * could only raise false errors (1/exp(x) is no division by zero).
         * The result keeps an operand's variables, as nonlinear terms do. */
        val r;
        if (has_vars(&a)) { val_release(c, &b); r = a; }
        else if (has_vars(&b)) { val_release(c, &a); r = b; }
        else { val_release(c, &a); val_release(c, &b); r = num_val(0); }
        set_tree(c, &r, t);
        return r;
    }
    val r = arith_plain(c, kind, a, b);
    set_tree(c, &r, t);
    return r;
}

static val arith(ectx *c, fm_node *n)
{
    val a = ev(c, n->kids[0]);
    if (c->failed) { val_release(c, &a); return V0; }
    val b = ev(c, n->kids[1]);
    if (c->failed) { val_release(c, &a); val_release(c, &b); return V0; }
    return arith_vals(c, n->kind, a, b);
}

/* An arithmetic N_FOLD, left to right with one accumulator: the same result
 * as the left-nested tree, without recursing once per term. */
static val fold(ectx *c, fm_node *n)
{
    val acc = ev(c, n->kids[0]);
    for (int i = 1; i < n->nkids; i++) {
        if (c->failed) break;
        val b = ev(c, n->kids[i]);
        if (c->failed) { val_release(c, &b); break; }
        acc = arith_vals(c, (fm_node_kind)n->ops[i], acc, b);
    }
    if (c->failed) { val_release(c, &acc); return V0; }
    return acc;
}

static int is_logical_fold(const fm_node *n)
{
    return n->kind == N_FOLD && (n->ops[1] == N_AND || n->ops[1] == N_OR);
}

/* Compare two values: numbers numerically, elements by text when not both
 * numeric. Returns <0, 0, >0, or sets failed. */
static int compare(ectx *c, val *a, val *b, int order)
{
    if (has_vars(a) || has_vars(b)) {
        eerr(c, "conditions may use only parameters and dummies",
             "a condition depends on a variable");
        return 0;
    }
    fm_symtab *t = &c->m->syms;
    int an = a->k == V_NUM || a->k == V_LIN || (a->k == V_SYM && t->is_num[a->sym]);
    int bn = b->k == V_NUM || b->k == V_LIN || (b->k == V_SYM && t->is_num[b->sym]);
    if (an && bn) {
        double x, y;
        if (to_num(c, a, &x) != 0 || to_num(c, b, &y) != 0) return 0;
        return x < y ? -1 : x > y;
    }
    fm_sym x, y;
    if (to_sym(c, a, &x) != 0 || to_sym(c, b, &y) != 0) return 0;
    if (!order) return x != y;
    return strcmp(fm_sym_text(t, x), fm_sym_text(t, y));
}

/* Truth of a condition: 1, 0, or -1 on error. */
static int truth(ectx *c, fm_node *n)
{
    switch (n->kind) {
    case N_AND: { int a = truth(c, n->kids[0]); if (a <= 0) return a; return truth(c, n->kids[1]); }
    case N_OR: { int a = truth(c, n->kids[0]); if (a != 0) return a; return truth(c, n->kids[1]); }
    case N_NOT: { int a = truth(c, n->kids[0]); return a < 0 ? a : !a; }
    case N_CMP: {
        val a = ev(c, n->kids[0]);
        val b = ev(c, n->kids[1]);
        int r = c->failed ? 0 : compare(c, &a, &b, n->op != C_EQ && n->op != C_NE);
        val_release(c, &a); val_release(c, &b);
        if (c->failed) return -1;
        switch (n->op) {
        case C_LT: return r < 0;
        case C_LE: return r <= 0;
        case C_EQ: return r == 0;
        case C_NE: return r != 0;
        case C_GE: return r >= 0;
        default: return r > 0;
        }
    }
    case N_IN: {
        fm_node *a = n->kids[0];
        int dim = a->kind == N_TUPLE ? a->nkids : 1;
        fm_sym t[20];
        if (dim > 20) { eerr(c, "", "tuples have at most 20 components"); return -1; }
        for (int k = 0; k < dim; k++) {
            val v = ev(c, a->kind == N_TUPLE ? a->kids[k] : a);
            if (has_vars(&v)) {
                val_release(c, &v);
                eerr(c, "conditions may use only parameters and dummies", "a condition depends on a variable");
                return -1;
            }
            int bad = c->failed || to_sym(c, &v, &t[k]);
            val_release(c, &v);
            if (bad) return -1;
        }
        int r = set_contains(c, n->kids[1], t, dim);
        if (r < 0 || c->failed) return -1;
        return n->op ? !r : r;
    }
    case N_FOLD:
        if (is_logical_fold(n)) {   /* one chain is all "and" or all "or" */
            int want = n->ops[1] == N_OR;
            for (int i = 0; i < n->nkids; i++) {
                int a = truth(c, n->kids[i]);
                if (a < 0 || a == want) return a;
            }
            return !want;
        }
        /* an arithmetic chain */
        /* fall through */
    default: {
        val v = ev(c, n);
        if (has_vars(&v)) {
            val_release(c, &v);
            eerr(c, "conditions may use only parameters and dummies", "a condition depends on a variable");
            return -1;
        }
        double x;
        int bad = c->failed || to_num(c, &v, &x);
        val_release(c, &v);
        if (bad) return -1;
        return x != 0;
    }
    }
}

static val ev(ectx *c, fm_node *n)
{
    if (c->failed) return V0;
    switch (n->kind) {
    case N_NUM: return num_val(n->num);
    case N_STR: {
        val v = V0;
        v.k = V_SYM;
        if (fm_sym_intern(&c->m->syms, n->str, &v.sym) != 0) { eerr(c, "", "out of memory"); return V0; }
        return v;
    }
    case N_DUMMY: { val v = V0; v.k = V_SYM; v.sym = c->env[n->id]; return v; }
    case N_PARAM: return ev_param(c, n);
    case N_VAR: return ev_var(c, n);
    case N_NEG: {
        val a = ev(c, n->kids[0]);
        int32_t t = a.tree1 ? tunary(c, FM_EX_NEG, tree_of(c, &a)) : -1;
        if (a.k == V_LIN) { lin_scale(a.l, -1); set_tree(c, &a, t); return a; }
        double x;
        if (c->failed || to_num(c, &a, &x) != 0) return V0;
        val r = num_val(-x);
        set_tree(c, &r, t);
        return r;
    }
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_POW: case N_IDIV: case N_MOD:
        return arith(c, n);
    case N_CALL: return ev_call(c, n);
    case N_ITER: return ev_iter(c, n);
    case N_IF: {
        int t = truth(c, n->kids[0]);
        if (t < 0) return V0;
        return ev(c, n->kids[t ? 1 : 2]);
    }
    case N_FOLD:
        if (!is_logical_fold(n)) return fold(c, n);
        /* fall through */
    case N_CMP: case N_AND: case N_OR: case N_NOT: case N_IN: {
        int t = truth(c, n);
        if (t < 0) return V0;
        val v = V0; v.k = V_LOG; v.num = t;
        return v;
    }
    default:
        eerr(c, "", "this expression has no value here");
        return V0;
    }
}

/* ---- sets ---- */

static int json_elem_sym(ectx *c, const cJSON *j, fm_sym *out)
{
    if (cJSON_IsString(j)) {
        if (fm_sym_intern(&c->m->syms, j->valuestring, out) != 0) { eerr(c, "", "out of memory"); return -1; }
        return 0;
    }
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && j->valuedouble != floor(j->valuedouble)) {
        eerr(c, "elements are strings or integers; write \"2.5\" as a string", "expected a string or an integer element, got %g",
             j->valuedouble);
        return -1;
    }
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && fabs(j->valuedouble) >= FM_MAX_EXACT_ELEMENT) {
        /* A double cannot hold every integer from 2^53 on: 9007199254740993
         * reads as 9007199254740992, and two elements would silently be one. */
        eerr(c, "write such an element as a string, e.g. \"9007199254740993\"",
             "numeric element %.17g (as read) is 2^53 = 9007199254740992 or more in magnitude, "
             "where a number cannot keep neighbouring integers apart", j->valuedouble);
        return -1;
    }
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble)) {
        if (fm_sym_from_number(&c->m->syms, j->valuedouble, out) != 0) { eerr(c, "", "out of memory"); return -1; }
        return 0;
    }
    eerr(c, "elements are strings or integers", "expected an element (string or number), got %s",
         cJSON_IsNull(j) ? "null" : cJSON_IsBool(j) ? "a boolean" : cJSON_IsArray(j) ? "an array" : "an object");
    return -1;
}

static int eval_set(ectx *c, fm_decl *d)
{
    fm_setval *sv = &d->setval;
    sv->dimen = d->set_dimen;
    fm_tmap_init(&sv->members, sv->dimen);
    if (d->form == SF_ELEMENTS) {
        const cJSON *el = d->elements_json, *it;
        fm_sym t[20];
        int i = 0;
        cJSON_ArrayForEach(it, el) {
            if (sv->dimen == 1 && !cJSON_IsArray(it)) {
                if (json_elem_sym(c, it, &t[0]) != 0) return -1;
            } else {
                if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != sv->dimen) {
                    eerr(c, "every element of a set has the same number of components",
                         "element %d: expected a tuple of %d components", i, sv->dimen);
                    return -1;
                }
                int k = 0;
                const cJSON *comp;
                cJSON_ArrayForEach(comp, it) if (json_elem_sym(c, comp, &t[k++]) != 0) return -1;
            }
            int added;
            if (fm_tmap_insert(&sv->members, t, &added) < 0) { eerr(c, "", "out of memory"); return -1; }
            if (!added) {
                c->key = t; c->keylen = sv->dimen;
                eerr(c, "list each element once", "duplicate element");
                c->key = NULL; c->keylen = 0;
                return -1;
            }
            if (sv->members.n > c->m->lim.max_set_size) {
                c->m->limit_hit = 1;
                eerr(c, "", "set has more than the limit of %zu members", c->m->lim.max_set_size);
                return -1;
            }
            i++;
        }
        return 0;
    }
    if (d->form == SF_RANGE) {
        fm_node tmp = { .kind = S_RANGE, .nkids = 3 };
        fm_node *kids[3] = { d->range_lo, d->range_hi, d->range_by };
        if (!kids[2]) {
            static fm_node one = { .kind = N_NUM, .num = 1, .id = -1 };
            kids[2] = &one;
        }
        tmp.kids = kids;
        members mb;
        int r = get_members(c, &tmp, &mb);
        if (r == 0) { fm_tmap_free(&sv->members); sv->members = mb.tmp.members; return 0; }
        members_free(&mb);
        return -1;
    }
    return collect_indexing(c, d->from, &sv->members);
}

/* ---- parameters ---- */

typedef struct { fm_decl *d; fm_sym *key; } param_arg;

static int param_store(ectx *c, fm_decl *d, const fm_sym *key, double v, int check_domain)
{
    c->key = key; c->keylen = d->dimen;
    if (!isfinite(v)) { eerr(c, "", "value is not a finite number"); return -1; }
    if (check_domain && d->index) {
        int in = in_domain(c, d, key);
        if (in < 0) return -1;
        if (!in) {
            eerr(c, "data keys must be members of the parameter's index",
                 "key is not in the index of parameter '%s'", d->name);
            return -1;
        }
    }
    int added;
    long e = fm_tmap_insert(&d->pvals, key, &added);
    if (e < 0) { eerr(c, "", "out of memory"); return -1; }
    if (!added) { eerr(c, "give each entry once", "duplicate entry"); return -1; }
    d->pvals.vals[e].d = v;
    if (d->pvals.n > c->m->lim.max_set_size) {
        c->m->limit_hit = 1;
        eerr(c, "", "parameter has more than the limit of %zu entries", c->m->lim.max_set_size);
        return -1;
    }
    return 0;
}

static int computed_one(ectx *c, void *arg)
{
    param_arg *a = arg;
    c->key = a->key; c->keylen = a->d->dimen;
    val v = ev(c, a->d->expr);
    double x;
    if (c->failed || to_num(c, &v, &x) != 0) { val_release(c, &v); return -1; }
    return param_store(c, a->d, a->key, x, 0);
}

static int json_number(ectx *c, const cJSON *j, double *out)
{
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble)) { *out = j->valuedouble; return 0; }
    eerr(c, "parameter values are numbers; leave a missing entry out and give a \"default\"",
         "expected a number, got %s", cJSON_IsString(j) ? "a string" : cJSON_IsNull(j) ? "null"
         : cJSON_IsBool(j) ? "a boolean" : cJSON_IsArray(j) ? "an array" : "an object");
    return -1;
}

/* Keyed objects: one nesting level per component. */
static int keyed(ectx *c, fm_decl *d, const cJSON *o, fm_sym *key, int level)
{
    if (level == d->dimen) {
        double v = 0;
        c->key = key; c->keylen = d->dimen;
        if (json_number(c, o, &v) != 0) return -1;
        return param_store(c, d, key, v, 1);
    }
    if (!cJSON_IsObject(o)) {
        c->key = key; c->keylen = level;
        eerr(c, "nest one object level per index set", "expected an object of %d more level%s, got %s",
             d->dimen - level, d->dimen - level == 1 ? "" : "s",
             cJSON_IsNumber(o) ? "a number" : cJSON_IsArray(o) ? "an array" : "another value");
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        fm_sym s = fm_sym_find(&c->m->syms, it->string);
        if (s < 0) {
            /* Intern it so the diagnostic can show it as the index. */
            if (fm_sym_intern(&c->m->syms, it->string, &s) != 0) { eerr(c, "", "out of memory"); return -1; }
            key[level] = s;
            c->key = key; c->keylen = level + 1;
            eerr(c, "data keys must be members of the parameter's index",
                 "key '%s' is not in the index of parameter '%s'", it->string, d->name);
            return -1;
        }
        key[level] = s;
        if (keyed(c, d, it, key, level + 1) != 0) return -1;
    }
    return 0;
}

/* Arrays in set order (list-of-sets index only): one level per set. */
static int aligned(ectx *c, fm_decl *d, const cJSON *a, fm_sym *key, int entry, int pos)
{
    if (entry == d->index->n) {
        double v = 0;
        c->key = key; c->keylen = d->dimen;
        if (json_number(c, a, &v) != 0) return -1;
        return param_store(c, d, key, v, 0);
    }
    fm_idx_entry *e = &d->index->entries[entry];
    fm_setval *sv = &c->m->decls[e->set->id]->setval;
    c->key = key; c->keylen = pos;
    if (!cJSON_IsArray(a)) {
        eerr(c, "nest one array level per index set", "expected an array over set '%s', got %s",
             c->m->decls[e->set->id]->name, cJSON_IsNumber(a) ? "a number" : "another value");
        return -1;
    }
    int n = cJSON_GetArraySize(a);
    if ((size_t)n != sv->members.n) {
        eerr(c, "give one value per member, in set order", "%s: array has %d entr%s but set '%s' has %zu member%s",
             (size_t)n < sv->members.n ? "missing entries" : "extra entries (not in the set)",
             n, n == 1 ? "y" : "ies", c->m->decls[e->set->id]->name, sv->members.n,
             sv->members.n == 1 ? "" : "s");
        return -1;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        memcpy(key + pos, sv->members.keys + i * sv->dimen, sv->dimen * sizeof *key);
        if (aligned(c, d, it, key, entry + 1, pos + sv->dimen) != 0) return -1;
        i++;
    }
    return 0;
}

static int rows_form(ectx *c, fm_decl *d, const cJSON *rows, fm_sym *key)
{
    if (!cJSON_IsArray(rows)) {
        eerr(c, "", "\"rows\" expected an array of [key..., value] rows");
        return -1;
    }
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != d->dimen + 1) {
            eerr(c, "each row is [key1, ..., keyN, value]",
                 "row %d: expected %d keys and a value", r, d->dimen);
            return -1;
        }
        int k = 0;
        const cJSON *it;
        double v = 0;
        cJSON_ArrayForEach(it, row) {
            if (k < d->dimen) {
                if (json_elem_sym(c, it, &key[k]) != 0) return -1;
            } else {
                c->key = key; c->keylen = d->dimen;
                if (json_number(c, it, &v) != 0) return -1;
            }
            k++;
        }
        if (param_store(c, d, key, v, 1) != 0) return -1;
        r++;
    }
    return 0;
}

typedef struct { fm_decl *d; fm_sym *key; int missing; } cover_arg;

static int cover_one(ectx *c, void *arg)
{
    cover_arg *a = arg;
    if (fm_tmap_find(&a->d->pvals, a->key) >= 0) return 0;
    a->missing++;
    c->key = a->key; c->keylen = a->d->dimen;
    eerr(c, "give every entry, or a \"default\"", "missing value for this entry of parameter '%s'",
         a->d->name);
    c->failed = 0;   /* keep looking, up to the per-element cap */
    return a->missing >= MAX_ERRORS_PER_ELEMENT ? -1 : 0;
}

static int eval_param(ectx *c, fm_decl *d)
{
    fm_tmap_init(&d->pvals, d->dimen);
    fm_sym key[64];
    if (d->dimen > 64) { eerr(c, "", "too many subscripts"); return -1; }
    if (!d->index) {
        double v;
        if (d->expr) {
            val x = ev(c, d->expr);
            if (c->failed || to_num(c, &x, &v) != 0) { val_release(c, &x); return -1; }
        } else if (d->values_json) {
            v = ((const cJSON *)d->values_json)->valuedouble;
        } else v = d->default_value;
        return param_store(c, d, key, v, 0);
    }
    if (d->expr) {
        param_arg a = { d, key };
        return iterate(c, d->index, key, computed_one, &a);
    }
    if (!d->values_json) return 0;   /* default only */
    const cJSON *v = d->values_json;
    int rc;
    int single_tuple = d->index->n == 1 && d->dimen >= 2;
    if (d->values_are_rows) rc = rows_form(c, d, v, key);
    else if (cJSON_IsObject(v)) rc = keyed(c, d, v, key, 0);
    else if (cJSON_IsArray(v) && single_tuple && v->child && cJSON_IsArray(v->child)
             && cJSON_GetArraySize(v->child) == d->dimen + 1)
        rc = rows_form(c, d, v, key);
    else if (cJSON_IsArray(v)) {
        int list_form = 1;
        for (int i = 0; i < d->index->n; i++)
            if (d->index->entries[i].set->kind != N_SETNAME || d->index->entries[i].names[0])
                list_form = 0;
        if (d->index->cond) list_form = 0;
        if (!list_form) {
            eerr(c, "arrays in set order need a list-of-sets index; use a keyed object or \"rows\"",
                 "array data for an indexing-string index");
            return -1;
        }
        rc = aligned(c, d, v, key, 0, 0);
    } else {
        eerr(c, "", "\"values\" expected an object or an array");
        return -1;
    }
    if (rc != 0 || d->has_default) return rc;
    cover_arg a = { d, key, 0 };
    c->key = NULL; c->keylen = 0;
    iterate(c, d->index, key, cover_one, &a);
    return a.missing || c->failed ? -1 : 0;
}

/* ---- variables, objective, constraints ---- */

typedef struct { fm_decl *d; fm_sym *key; } var_arg;

static int bound_value(ectx *c, fm_node *e, double *out)
{
    val v = ev(c, e);
    int bad = c->failed || to_num(c, &v, out);
    val_release(c, &v);
    return bad ? -1 : 0;
}

static int var_one(ectx *c, void *arg)
{
    var_arg *a = arg;
    fm_decl *d = a->d;
    c->key = a->key; c->keylen = d->dimen;
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    if (!d->lower_free) {
        if (d->lower) { if (bound_value(c, d->lower, &lo) != 0) return -1; }
        else lo = d->lower_num;
    }
    if (d->upper_set) {
        if (d->upper) { if (bound_value(c, d->upper, &hi) != 0) return -1; }
        else hi = d->upper_num;
    }
    fm_col_kind kind = FM_COL_CONTINUOUS;
    if (d->var_type == 1) {
        /* An integer variable's bounds round inward (GLPK refuses others),
         * with an absolute tolerance so 2.9999999 is 3: a relative one
         * moved large integral bounds outward (1e9 became 1e9 + 1). */
        kind = FM_COL_INTEGER;
        if (isfinite(lo)) lo = ceil(lo - FM_INT_BOUND_TOL);
        if (isfinite(hi)) hi = floor(hi + FM_INT_BOUND_TOL);
    }
    if (d->var_type == 2) { kind = FM_COL_BINARY; lo = 0; hi = 1; }
    char name[600];
    key_text(c, d->name, a->key, d->dimen, name, sizeof name);
    if (fm_program_ncols(c->m->program) >= c->m->lim.max_cols) {
        c->m->limit_hit = 1;
        eerr(c, "", "more than the limit of %zu variables", c->m->lim.max_cols);
        return -1;
    }
    int col = fm_program_add_col(c->m->program, name, kind, lo, hi);
    long e = col < 0 ? -1 : fm_tmap_insert(&d->cols, a->key, NULL);
    if (e < 0) { eerr(c, "", "out of memory"); return -1; }
    d->cols.vals[e].i = col;
    return 0;
}

static int eval_var(ectx *c, fm_decl *d)
{
    fm_tmap_init(&d->cols, d->dimen);
    fm_sym key[64];
    var_arg a = { d, key };
    if (!d->index) return var_one(c, &a);
    return iterate(c, d->index, key, var_one, &a);
}

/* Merges duplicate columns of l in place and drops zeros. pos is a scratch
 * array over columns, all -1 on entry and on exit. */
static void lin_merge(lin *l, int *pos)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        int col = l->col[i];
        if (pos[col] >= 0) { l->coef[pos[col]] += l->coef[i]; continue; }
        pos[col] = (int)w;
        l->col[w] = col; l->coef[w] = l->coef[i];
        w++;
    }
    size_t k = 0;
    for (size_t i = 0; i < w; i++) {
        pos[l->col[i]] = -1;
        if (l->coef[i] != 0) { l->col[k] = l->col[i]; l->coef[k] = l->coef[i]; k++; }
    }
    l->n = k;
}

typedef struct { fm_decl *d; fm_sym *key; int *pos; } con_arg;

/* Takes a child of a top-level sum into l when it is a constant, a column,
 * its negation or constant * column: 1 taken, 0 not. */
static int split_term(ectx *c, int32_t k, lin *l)
{
    const fm_expr *n = &c->m->nlp->nodes[k], *a, *b;
    switch (n->kind) {
    case FM_EX_CONST: l->c0 += n->value; return 1;
    case FM_EX_COL: return lin_push(c, l, n->col, 1) == 0;
    case FM_EX_NEG:
        a = &c->m->nlp->nodes[n->first];
        if (a->kind == FM_EX_CONST) { l->c0 -= a->value; return 1; }
        return a->kind == FM_EX_COL && lin_push(c, l, a->col, -1) == 0;
    case FM_EX_MUL:
        if (n->nkids != 2) return 0;
        a = &c->m->nlp->nodes[n->first];
        b = &c->m->nlp->nodes[n->last];
        if (a->kind == FM_EX_COL) { const fm_expr *t = a; a = b; b = t; }
        return a->kind == FM_EX_CONST && b->kind == FM_EX_COL && lin_push(c, l, b->col, a->value) == 0;
    default:
        return 0;
    }
}

/* Splits tree t into its linear terms and constant (added to l) and the
 * rest, returned (-1: nothing nonlinear is left). */
static int32_t tree_split(ectx *c, int32_t t, lin *l)
{
    fm_nlp *p = c->m->nlp;
    fm_expr *e = &p->nodes[t];
    if (e->kind != FM_EX_ADD) return split_term(c, t, l) ? -1 : t;
    int32_t k = e->first;
    e->first = e->last = -1;
    e->nkids = 0;
    while (k >= 0) {
        int32_t next = p->nodes[k].next;
        p->nodes[k].next = -1;
        if (!split_term(c, k, l)) fm_nlp_add_kid(p, t, k);
        k = next;
    }
    if (e->nkids == 0) return -1;
    return e->nkids == 1 ? e->first : t;
}

/* Adds the row lo <= body (+ tree) <= hi, releasing body. With a tree
 * (body NULL), the tree's linear terms and constant move to the row's
 * linear part and bounds. */
static int add_row(ectx *c, con_arg *a, lin *body, double lo, double hi, int32_t tree)
{
    fm_decl *d = a->d;
    if (tree >= 0) {
        if (!(body = lin_new(c))) return -1;
        tree = tree_split(c, tree, body);
        if (c->failed || !lin_finite(c, body)) { lin_release(c, body); return -1; }
        lo -= body->c0; hi -= body->c0;
    }
    lin_merge(body, a->pos);
    char name[600];
    key_text(c, d->name, a->key, d->dimen, name, sizeof name);
    fm_program *p = c->m->program;
    if (fm_program_nrows(p) >= c->m->lim.max_rows
        || fm_program_nonzeros(p) + body->n > c->m->lim.max_nonzeros) {
        c->m->limit_hit = 1;
        eerr(c, "", "the model exceeds the limit of %zu constraints or %zu nonzeros",
             c->m->lim.max_rows, c->m->lim.max_nonzeros);
        lin_release(c, body);
        return -1;
    }
    int r = fm_program_add_row(p, name, d->label, lo, hi, body->n, body->col, body->coef);
    lin_release(c, body);
    if (r < 0 || (tree >= 0 && fm_nlp_set_row(c->m->nlp, (size_t)r, tree) != 0)) {
        eerr(c, "", "out of memory");
        return -1;
    }
    return 0;
}

static int con_one(ectx *c, void *arg)
{
    con_arg *a = arg;
    fm_decl *d = a->d;
    fm_node *e = d->expr;
    c->key = a->key; c->keylen = d->dimen;
    int before = c->nonlinear;
    double lo = -HUGE_VAL, hi = HUGE_VAL, tlo = -HUGE_VAL, thi = HUGE_VAL;
    lin *body = NULL;
    int32_t tree = -1;   /* the row's body, when it is nonlinear */
    if (e->nkids == 2) {
        val l = ev(c, e->kids[0]);
        if (c->failed) { val_release(c, &l); return -1; }
        val r = ev(c, e->kids[1]);
        if (c->failed) { val_release(c, &l); val_release(c, &r); return -1; }
        if (l.tree1 || r.tree1 || c->nonlinear > before) {
            int32_t tl = tree_of(c, &l);
            tree = tbin(c, FM_EX_ADD, tl, tunary(c, FM_EX_NEG, tree_of(c, &r)));
            if (e->op != C_LE && e->op != C_LT) tlo = 0;
            if (e->op != C_GE && e->op != C_GT) thi = 0;
        }
        body = to_lin(c, &l);
        if (!body) { val_release(c, &r); return -1; }
        if (r.k == V_LIN) { lin_addto(c, body, r.l, -1); val_release(c, &r); }
        else { double y; if (to_num(c, &r, &y) != 0) { lin_release(c, body); return -1; } body->c0 -= y; }
        double rhs = 0.0 - body->c0;   /* no -0 bounds */
        if (e->op == C_LE || e->op == C_LT) hi = rhs;
        else if (e->op == C_GE || e->op == C_GT) lo = rhs;
        else lo = hi = rhs;
    } else {
        val a1 = ev(c, e->kids[0]);
        val b = ev(c, e->kids[1]);
        val a2 = ev(c, e->kids[2]);
        if (!c->failed && (b.tree1 || c->nonlinear > before)) tree = tree_of(c, &b);
        if (has_vars(&a1) || has_vars(&a2)) {
            eerr(c, "write it as two constraints", "the ends of a ranged constraint must not contain variables");
        }
        double x = 0, y = 0;
        if (!c->failed) { to_num(c, &a1, &x); to_num(c, &a2, &y); }
        val_release(c, &a1); val_release(c, &a2);
        if (c->failed) { val_release(c, &b); return -1; }
        body = to_lin(c, &b);
        if (!body) return -1;
        if (e->op == C_LE || e->op == C_LT) { lo = x - body->c0; hi = y - body->c0; tlo = x; thi = y; }
        else { hi = x - body->c0; lo = y - body->c0; thi = x; tlo = y; }
    }
    if (c->nonlinear > before) {
        lin_release(c, body);
        if (tree < 0 || c->failed) return c->failed ? -1 : 0;
        return add_row(c, a, NULL, tlo, thi, tree);
    }
    if (!lin_finite(c, body) || isnan(lo) || isnan(hi) || lo == HUGE_VAL || hi == -HUGE_VAL
        || (e->nkids == 3 && (!isfinite(lo) || !isfinite(hi)))) {
        if (!c->failed) eerr(c, "", "arithmetic overflow: a bound is not finite");
        lin_release(c, body);
        return -1;
    }
    return add_row(c, a, body, lo, hi, -1);
}

static void ectx_init(ectx *c, fm_model *m, fm_diags *d, fm_decl *decl, fm_sym *env)
{
    memset(c, 0, sizeof *c);
    c->m = m; c->d = d; c->decl = decl; c->env = env;
}

static void ectx_done(ectx *c)
{
    for (lin *l = c->freelist, *n; l; l = n) {
        n = l->next_free;
        free(l->col); free(l->coef); free(l);
    }
    c->freelist = NULL;
}

fm_code fm_compile(fm_model *m, const size_t *order, size_t norder, fm_diags *d)
{
    m->limit_hit = 0;
    int failed = 0;
    fm_sym *env = NULL;
    int *pos = NULL;
    int maxslots = 1;
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i]->nslots > maxslots) maxslots = m->decls[i]->nslots;
    env = calloc(maxslots, sizeof *env);
    m->program = fm_program_new();
    if (!env || !m->program) { free(env); return FM_ENOMEM; }
    ectx c;
    for (size_t k = 0; k < norder && !failed; k++) {
        fm_decl *dc = m->decls[order[k]];
        ectx_init(&c, m, d, dc, env);
        int r = dc->kind == K_SET ? eval_set(&c, dc) : eval_param(&c, dc);
        if (r != 0 || c.failed) failed = 1;
        ectx_done(&c);
    }
    /* Everything else comes from the syntax trees: free the document before
     * building the program (it was half of the peak memory). */
    fm_model_drop_json(m);
    int integer = 0;
    for (size_t k = 0; k < m->ndecls && !failed; k++) {
        fm_decl *dc = m->decls[k];
        if (dc->kind != K_VAR) continue;
        if (dc->var_type) integer = 1;
        ectx_init(&c, m, d, dc, env);
        if (eval_var(&c, dc) != 0 || c.failed) failed = 1;
        ectx_done(&c);
    }
    size_t ncols = fm_program_ncols(m->program);
    if (!failed) {
        pos = malloc((ncols ? ncols : 1) * sizeof *pos);
        if (!pos) failed = 1;
        else for (size_t j = 0; j < ncols; j++) pos[j] = -1;
    }
    if (!failed && m->objective) {
        fm_decl *o = m->objective;
        ectx_init(&c, m, d, o, env);
        val v = ev(&c, o->expr);
        int32_t tree = !c.failed && (v.tree1 || c.nonlinear) ? tree_of(&c, &v) : -1;
        lin *l = c.failed ? NULL : to_lin(&c, &v);
        int has_tree = tree >= 0;
        if (l && has_tree) {   /* nonlinear: the tree's linear terms, then the rest */
            l->n = 0; l->c0 = 0;
            m->nlp->obj_tree = tree_split(&c, tree, l);
        }
        if (l && (!c.nonlinear || has_tree) && !c.failed && lin_finite(&c, l)) {
            lin_merge(l, pos);
            if (fm_program_set_objective(m->program, o->maximize ? FM_MAXIMIZE : FM_MINIMIZE,
                                         o->name, l->c0, l->n, l->col, l->coef) != 0)
                eerr(&c, "", "out of memory");
        }
        lin_release(&c, l);
        if (c.failed) failed = 1;
        ectx_done(&c);
    }
    for (size_t k = 0; k < m->ndecls && !failed; k++) {
        fm_decl *dc = m->decls[k];
        if (dc->kind != K_CON) continue;
        ectx_init(&c, m, d, dc, env);
        fm_sym key[64];
        con_arg a = { dc, key, pos };
        if (!dc->index) con_one(&c, &a);
        else iterate(&c, dc->index, key, con_one, &a);
        if (c.nonlinear > MAX_ERRORS_PER_ELEMENT)
            fm_diags_add(d, FM_SEV_INFO, dc->label, "", "",
                         "nonlinear: %d more nonlinear terms not shown", c.nonlinear - MAX_ERRORS_PER_ELEMENT);
        if (c.failed) failed = 1;
        ectx_done(&c);
    }
    free(pos);
    free(env);
    m->cls = integer ? FM_CLASS_MILP : FM_CLASS_LP;
    if (m->nonlinear && !failed) {
        /* The program goes to the nonlinear program (fm_model_program stays
         * NULL: no backend solves it yet). */
        m->cls = integer ? FM_CLASS_MINLP : FM_CLASS_NLP;
        fm_code rc = FM_OK;
        if (m->nlp && !m->nlp_lost) {
            if (fm_nlp_finish(m->nlp, m->program) == 0) m->program = NULL;
            else rc = FM_ENOMEM;
        }
        if (m->program) { fm_nlp_free(m->nlp); m->nlp = NULL; }
        fm_program_free(m->program);
        m->program = NULL;
        return rc;
    }
    fm_nlp_free(m->nlp);
    m->nlp = NULL;
    if (failed) {
        fm_program_free(m->program);
        m->program = NULL;
        return m->limit_hit ? FM_ELIMIT : FM_EINVALID;
    }
    return FM_OK;
}

fm_code fm_model_report_eval(const fm_model *cm, size_t k, const double *x,
                             const char **name, double *value, fm_diags *diags)
{
    fm_model *m = (fm_model *)cm;   /* evaluation interns literals */
    if (k >= m->nreports || (!m->program && !m->nlp)) return FM_EINVALID;
    fm_decl *r = m->reports[k];
    *name = r->name;
    fm_sym env[256];
    if (r->nslots > 256) return FM_ELIMIT;
    ectx c;
    ectx_init(&c, m, diags, r, env);
    c.solution = x;
    m->steps = 0;
    val v = ev(&c, r->expr);
    double out = 0;
    if (!c.failed) to_num(&c, &v, &out);
    val_release(&c, &v);
    ectx_done(&c);
    if (c.failed) return FM_EINVALID;
    *value = out;
    return FM_OK;
}
