/* The nonlinear program: a linear program (columns, bounds, the linear part
 * of each row and of the objective) plus an expression tree per nonlinear
 * row and for a nonlinear objective (formulate.h, "the nonlinear program").
 *
 * compile.c builds the trees while it instantiates the model: all nodes of
 * all trees are in one array, children are a linked list of indices (a sum
 * over an index appends one child per member without copying), and each node
 * knows its depth so that the compiler can refuse trees deeper than
 * FM_MAX_TREE_DEPTH (every walker may then recurse). fm_nlp_finish, once the
 * array no longer moves, gives each node an array of child pointers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/internal.h"

fm_nlp *fm_nlp_new(void)
{
    fm_nlp *p = calloc(1, sizeof *p);
    if (p) p->obj_tree = -1;
    return p;
}

void fm_nlp_free(fm_nlp *p)
{
    if (!p) return;
    fm_program_free(p->program);
    free(p->nodes); free(p->kidptrs); free(p->row_tree);
    free(p);
}

int32_t fm_nlp_node(fm_nlp *p, fm_expr_kind kind, double value, int col)
{
    if (p->nnodes == p->nodes_cap) {
        size_t cap = p->nodes_cap ? p->nodes_cap * 2 : 256;
        if (cap > INT32_MAX) return -1;
        fm_expr *n = realloc(p->nodes, cap * sizeof *n);
        if (!n) return -1;
        p->nodes = n; p->nodes_cap = cap;
    }
    fm_expr *e = &p->nodes[p->nnodes];
    memset(e, 0, sizeof *e);
    e->kind = kind; e->value = value; e->col = col;
    e->first = e->last = e->next = -1;
    e->depth = 1;
    return (int32_t)p->nnodes++;
}

void fm_nlp_add_kid(fm_nlp *p, int32_t parent, int32_t kid)
{
    fm_expr *e = &p->nodes[parent];
    if (e->last >= 0) p->nodes[e->last].next = kid;
    else e->first = kid;
    e->last = kid;
    e->nkids++;
    if (p->nodes[kid].depth + 1 > e->depth) e->depth = p->nodes[kid].depth + 1;
}

/* Moves the children of b to the end of a's (b is then unused). */
static void splice(fm_nlp *p, int32_t a, int32_t b)
{
    fm_expr *ea = &p->nodes[a], *eb = &p->nodes[b];
    if (eb->first < 0) return;
    if (ea->last >= 0) p->nodes[ea->last].next = eb->first;
    else ea->first = eb->first;
    ea->last = eb->last;
    ea->nkids += eb->nkids;
    if (eb->depth > ea->depth) ea->depth = eb->depth;
    eb->first = eb->last = -1; eb->nkids = 0;
}

int32_t fm_nlp_binary(fm_nlp *p, fm_expr_kind kind, int32_t a, int32_t b)
{
    int flat = kind == FM_EX_ADD || kind == FM_EX_MUL;
    if (flat && p->nodes[a].kind == kind) {
        if (p->nodes[b].kind == kind) splice(p, a, b);
        else fm_nlp_add_kid(p, a, b);
        return a;
    }
    int32_t n = fm_nlp_node(p, kind, 0, -1);
    if (n < 0) return -1;
    fm_nlp_add_kid(p, n, a);
    if (flat && p->nodes[b].kind == kind) splice(p, n, b);
    else fm_nlp_add_kid(p, n, b);
    return n;
}

int fm_nlp_set_row(fm_nlp *p, size_t i, int32_t tree)
{
    if (i >= p->nrow_tree) {
        size_t cap = p->nrow_tree ? p->nrow_tree : 64;
        while (cap <= i) cap *= 2;
        int32_t *r = realloc(p->row_tree, cap * sizeof *r);
        if (!r) return -1;
        for (size_t k = p->nrow_tree; k < cap; k++) r[k] = -1;
        p->row_tree = r; p->nrow_tree = cap;
    }
    p->row_tree[i] = tree;
    return 0;
}

int fm_nlp_finish(fm_nlp *p, fm_program *prog)
{
    size_t nk = 0;
    for (size_t i = 0; i < p->nnodes; i++) nk += (size_t)p->nodes[i].nkids;
    p->kidptrs = malloc((nk ? nk : 1) * sizeof *p->kidptrs);
    if (!p->kidptrs) return -1;
    size_t w = 0;
    for (size_t i = 0; i < p->nnodes; i++) {
        fm_expr *e = &p->nodes[i];
        e->kids = p->kidptrs + w;
        for (int32_t k = e->first; k >= 0; k = p->nodes[k].next) p->kidptrs[w++] = &p->nodes[k];
    }
    p->program = prog;
    return 0;
}

/* ---- reading ---- */

const fm_program *fm_nlp_program(const fm_nlp *p) { return p->program; }
size_t fm_nlp_nodes(const fm_nlp *p) { return p->nnodes; }

const fm_expr *fm_nlp_row_tree(const fm_nlp *p, size_t i)
{
    if (i >= p->nrow_tree || p->row_tree[i] < 0) return NULL;
    return &p->nodes[p->row_tree[i]];
}

const fm_expr *fm_nlp_objective_tree(const fm_nlp *p)
{
    return p->obj_tree < 0 ? NULL : &p->nodes[p->obj_tree];
}

fm_expr_kind fm_expr_kind_of(const fm_expr *e) { return e->kind; }
double fm_expr_value(const fm_expr *e) { return e->value; }
int fm_expr_col(const fm_expr *e) { return e->col; }
size_t fm_expr_nkids(const fm_expr *e) { return (size_t)e->nkids; }
const fm_expr *fm_expr_kid(const fm_expr *e, size_t k) { return e->kids[k]; }

/* Recursion is bounded by FM_MAX_TREE_DEPTH. */
double fm_expr_eval(const fm_expr *e, const double *x)
{
    double a = e->nkids ? fm_expr_eval(e->kids[0], x) : 0;
    double b = e->nkids > 1 ? fm_expr_eval(e->kids[1], x) : 0;
    switch (e->kind) {
    case FM_EX_CONST: return e->value;
    case FM_EX_COL: return x[e->col];
    case FM_EX_ADD: case FM_EX_MUL: case FM_EX_MIN: case FM_EX_MAX: {
        double r = a;
        if (e->nkids > 1) {
            if (e->kind == FM_EX_ADD) r += b;
            else if (e->kind == FM_EX_MUL) r *= b;
            else r = e->kind == FM_EX_MIN ? fmin(r, b) : fmax(r, b);
        }
        for (int32_t k = 2; k < e->nkids; k++) {
            double y = fm_expr_eval(e->kids[k], x);
            if (e->kind == FM_EX_ADD) r += y;
            else if (e->kind == FM_EX_MUL) r *= y;
            else r = e->kind == FM_EX_MIN ? fmin(r, y) : fmax(r, y);
        }
        return r;
    }
    case FM_EX_DIV: return a / b;
    case FM_EX_NEG: return -a;
    case FM_EX_POW: return pow(a, b);
    case FM_EX_ABS: return fabs(a);
    case FM_EX_SQRT: return sqrt(a);
    case FM_EX_EXP: return exp(a);
    case FM_EX_LOG: return log(a);
    case FM_EX_LOG10: return log10(a);
    case FM_EX_FLOOR: return floor(a);
    case FM_EX_CEIL: return ceil(a);
    case FM_EX_IDIV: return trunc(a / b);
    case FM_EX_MOD: return a - b * floor(a / b);
    }
    return NAN;
}

static double linear_part(size_t n, const int *cols, const double *coefs, const double *x)
{
    double s = 0;
    for (size_t k = 0; k < n; k++) s += coefs[k] * x[cols[k]];
    return s;
}

double fm_nlp_eval_row(const fm_nlp *p, size_t i, const double *x)
{
    const int *cols;
    const double *coefs;
    size_t n = fm_program_row(p->program, i, &cols, &coefs);
    const fm_expr *t = fm_nlp_row_tree(p, i);
    return linear_part(n, cols, coefs, x) + (t ? fm_expr_eval(t, x) : 0);
}

double fm_nlp_eval_objective(const fm_nlp *p, const double *x)
{
    const int *cols;
    const double *coefs;
    size_t n = fm_program_objective(p->program, &cols, &coefs);
    const fm_expr *t = fm_nlp_objective_tree(p);
    return fm_program_objective_constant(p->program) + linear_part(n, cols, coefs, x)
           + (t ? fm_expr_eval(t, x) : 0);
}
