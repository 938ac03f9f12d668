/* solver/minlp_tape.c — the rows and objective of a nonlinear program
 * compiled to postfix tapes, for the millions of point evaluations of the
 * exhaustive search.
 *
 * Design: each tree becomes a flat array of instructions run on a small
 * value stack, with the row's linear part, bounds and tolerances next to it,
 * which avoids fm_expr_eval's recursion and pointer chasing (the search's
 * dominant cost). The operations, and their order (children left to right,
 * n-ary sums and products folded from the left, the linear part summed in
 * its order, then the constant, linear part and tree added in that order)
 * are exactly fm_expr_eval's and fm_nlp_eval_row's, so the values are
 * bit-identical (but for the sign of a zero from fmin/fmax of -0 and +0,
 * which C leaves open and compilers decide by swapping operands): the
 * search accepts and ranks the points the evaluators of formulate/ would,
 * and the solution reported is evaluated by them.
 */
#include <math.h>
#include <stdlib.h>
#include "solver/minlp_internal.h"

typedef struct {
    fm_expr_kind kind;
    int col;             /* FM_EX_COL */
    unsigned nk;         /* operands taken from the stack (n-ary ops) */
    double value;        /* FM_EX_CONST */
} instr;

typedef struct {
    size_t start, len;   /* instructions; len 0: no tree */
    size_t nterms;
    const int *cols;
    const double *coefs;
    double lo, hi;       /* bounds widened by the tolerance */
} piece;

struct mi_tape {
    instr *code;
    size_t ncode, cap;
    piece *rows;         /* nrows, then the objective */
    size_t nrows;
    double constant;
    double *stack;
    size_t depth, max_depth;
};

static int emit(mi_tape *t, fm_expr_kind kind, int col, unsigned nk, double value)
{
    if (t->ncode == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        instr *c = realloc(t->code, cap * sizeof *c);
        if (!c)
            return -1;
        t->code = c;
        t->cap = cap;
    }
    t->code[t->ncode++] = (instr){ kind, col, nk, value };
    /* stack height: constants and columns push one, an op of nk pops nk and
     * pushes one */
    if (kind == FM_EX_CONST || kind == FM_EX_COL)
        t->depth++;
    else
        t->depth = t->depth - nk + 1;
    if (t->depth > t->max_depth)
        t->max_depth = t->depth;
    return 0;
}

static int is_binary(fm_expr_kind k)
{
    return k == FM_EX_DIV || k == FM_EX_POW || k == FM_EX_IDIV || k == FM_EX_MOD;
}

/* Postfix code of e; missing operands are 0, as in fm_expr_eval. */
static int compile(mi_tape *t, const fm_expr *e)
{
    fm_expr_kind k = fm_expr_kind_of(e);
    size_t nk = fm_expr_nkids(e);
    if (k == FM_EX_CONST)
        return emit(t, k, 0, 0, fm_expr_value(e));
    if (k == FM_EX_COL)
        return emit(t, k, fm_expr_col(e), 0, 0);
    if (k == FM_EX_ADD || k == FM_EX_MUL || k == FM_EX_MIN || k == FM_EX_MAX) {
        if (nk == 0)
            return emit(t, FM_EX_CONST, 0, 0, 0);
        for (size_t i = 0; i < nk; i++)
            if (compile(t, fm_expr_kid(e, i)) != 0)
                return -1;
        return nk == 1 ? 0 : emit(t, k, 0, (unsigned)nk, 0);
    }
    size_t need = is_binary(k) ? 2 : 1;
    for (size_t i = 0; i < need; i++) {
        int rc = i < nk ? compile(t, fm_expr_kid(e, i)) : emit(t, FM_EX_CONST, 0, 0, 0);
        if (rc != 0)
            return -1;
    }
    return emit(t, k, 0, (unsigned)need, 0);
}

static double run(mi_tape *t, const piece *pc, const double *x)
{
    double *s = t->stack;
    size_t top = 0;
    const instr *in = t->code + pc->start, *end = in + pc->len;
    for (; in < end; in++) {
        switch (in->kind) {
        case FM_EX_CONST: s[top++] = in->value; break;
        case FM_EX_COL: s[top++] = x[in->col]; break;
        /* n-ary: folded from the left, one loop per operator */
        case FM_EX_ADD: {
            size_t base = top - in->nk;
            double r = s[base];
            for (size_t k = base + 1; k < top; k++)
                r += s[k];
            s[base] = r;
            top = base + 1;
            break;
        }
        case FM_EX_MUL: {
            size_t base = top - in->nk;
            double r = s[base];
            for (size_t k = base + 1; k < top; k++)
                r *= s[k];
            s[base] = r;
            top = base + 1;
            break;
        }
        case FM_EX_MIN: case FM_EX_MAX: {
            size_t base = top - in->nk;
            double r = s[base];
            for (size_t k = base + 1; k < top; k++)
                r = in->kind == FM_EX_MIN ? fmin(r, s[k]) : fmax(r, s[k]);
            s[base] = r;
            top = base + 1;
            break;
        }
        case FM_EX_DIV: top--; s[top - 1] = s[top - 1] / s[top]; break;
        case FM_EX_POW: top--; s[top - 1] = pow(s[top - 1], s[top]); break;
        case FM_EX_IDIV: top--; s[top - 1] = trunc(s[top - 1] / s[top]); break;
        case FM_EX_MOD: {
            top--;
            double a = s[top - 1], b = s[top];
            s[top - 1] = a - b * floor(a / b);
            break;
        }
        case FM_EX_NEG: s[top - 1] = -s[top - 1]; break;
        case FM_EX_ABS: s[top - 1] = fabs(s[top - 1]); break;
        case FM_EX_SQRT: s[top - 1] = sqrt(s[top - 1]); break;
        case FM_EX_EXP: s[top - 1] = exp(s[top - 1]); break;
        case FM_EX_LOG: s[top - 1] = log(s[top - 1]); break;
        case FM_EX_LOG10: s[top - 1] = log10(s[top - 1]); break;
        case FM_EX_FLOOR: s[top - 1] = floor(s[top - 1]); break;
        case FM_EX_CEIL: s[top - 1] = ceil(s[top - 1]); break;
        }
    }
    return s[0];
}

static double body(mi_tape *t, const piece *pc, const double *x)
{
    double lin = 0;
    for (size_t k = 0; k < pc->nterms; k++)
        lin += pc->coefs[k] * x[pc->cols[k]];
    return lin + (pc->len ? run(t, pc, x) : 0);
}

double mi_tape_objective(mi_tape *t, const double *x)
{
    const piece *pc = &t->rows[t->nrows];
    double lin = 0;
    for (size_t k = 0; k < pc->nterms; k++)
        lin += pc->coefs[k] * x[pc->cols[k]];
    return t->constant + lin + (pc->len ? run(t, pc, x) : 0);
}

int mi_tape_row_holds(mi_tape *t, size_t i, const double *x)
{
    const piece *pc = &t->rows[i];
    double v = body(t, pc, x);
    return isfinite(v) && v <= pc->hi && v >= pc->lo;
}

static int add_piece(mi_tape *t, piece *pc, const fm_expr *tree)
{
    pc->start = t->ncode;
    t->depth = 0;
    if (tree && compile(t, tree) != 0)
        return -1;
    pc->len = t->ncode - pc->start;
    return 0;
}

mi_tape *mi_tape_new(const fm_nlp *n)
{
    const fm_program *p = fm_nlp_program(n);
    mi_tape *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nrows = fm_program_nrows(p);
    t->rows = calloc(t->nrows + 1, sizeof *t->rows);
    if (!t->rows)
        goto fail;
    for (size_t i = 0; i < t->nrows; i++) {
        piece *pc = &t->rows[i];
        pc->nterms = fm_program_row(p, i, &pc->cols, &pc->coefs);
        double lo, hi;
        fm_program_row_bounds(p, i, &lo, &hi);
        pc->lo = lo - mi_feas_tol(lo);
        pc->hi = hi + mi_feas_tol(hi);
        if (add_piece(t, pc, fm_nlp_row_tree(n, i)) != 0)
            goto fail;
    }
    piece *obj = &t->rows[t->nrows];
    obj->nterms = fm_program_objective(p, &obj->cols, &obj->coefs);
    t->constant = fm_program_objective_constant(p);
    if (add_piece(t, obj, fm_nlp_objective_tree(n)) != 0)
        goto fail;
    t->stack = malloc((t->max_depth + 1) * sizeof *t->stack);
    if (!t->stack)
        goto fail;
    return t;
fail:
    mi_tape_free(t);
    return NULL;
}

void mi_tape_free(mi_tape *t)
{
    if (!t)
        return;
    free(t->code);
    free(t->rows);
    free(t->stack);
    free(t);
}
