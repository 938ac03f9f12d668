/* Export to GNU MathProg: the algebra is translated, not the instantiated
 * rows, so `glpsol -m` re-derives every row with its own translator and a
 * differential test compares two independent instantiations.
 *
 * Sets given by elements and parameters given by data are written to the data
 * section from the values already read; ranges, derived sets, computed
 * parameters, bounds, the objective and constraints are written as algebra.
 * Tuple components that filter (a bound dummy or an expression) become a
 * fresh dummy plus an equality in the condition, which MathProg accepts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "formulate/internal.h"

#ifndef OPTAGENT_VERSION
#define OPTAGENT_VERSION "dev"
#endif

typedef struct {
    const fm_model *m;
    FILE *out;
    const char **slot_names;
    char (*gen)[32];        /* generated dummy names, per slot */
    int nslots;
    int fresh;              /* counter for filter dummies */
} writer;

/* MathProg built-ins that are not reserved in format 1 but would be read
 * as functions: such names get a trailing underscore. */
static const char *const mathprog_builtins[] = {
    "atan", "cos", "sin", "tan", "round", "trunc", "length", "substr", "sprintf",
    "time2str", "str2time", "gmtime", "irand224", "uniform01", "Uniform",
    "Normal01", "Normal", NULL
};

static void put_name(writer *w, const char *name)
{
    fputs(name, w->out);
    for (int i = 0; mathprog_builtins[i]; i++)
        if (!strcmp(name, mathprog_builtins[i])) { fputc('_', w->out); break; }
}

static void put_number(writer *w, double v)
{
    char buf[64];
    fm_format_number(buf, sizeof buf, v);
    if (v < 0) fprintf(w->out, "(%s)", buf);
    else fputs(buf, w->out);
}

static void put_quoted(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', out);
        fputc(*s, out);
    }
    fputc('\'', out);
}

/* An element as MathProg reads it: numeric texts bare, others quoted. */
static void put_sym(writer *w, fm_sym s)
{
    const fm_symtab *t = &w->m->syms;
    if (t->is_num[s]) fputs(fm_sym_text(t, s), w->out);
    else put_quoted(w->out, fm_sym_text(t, s));
}

static void put_literal(writer *w, const char *text)
{
    fm_sym s = fm_sym_find(&w->m->syms, text);
    if (s >= 0 && w->m->syms.is_num[s]) fputs(text, w->out);
    else put_quoted(w->out, text);
}

static void expr(writer *w, const fm_node *n);
static void setexpr(writer *w, const fm_node *s);

static const char *dummy_name(writer *w, int slot)
{
    if (slot < 0 || slot >= w->nslots) return "?";
    return w->slot_names[slot] ? w->slot_names[slot] : w->gen[slot];
}

/* Writes "{...}" for an indexing, naming its dummies in slot_names. */
static void indexing(writer *w, const fm_indexing *x)
{
    int nf = 0;
    int first_fresh = w->fresh;
    fputc('{', w->out);
    for (int i = 0; i < x->n; i++) {
        const fm_idx_entry *e = &x->entries[i];
        if (i) fputs(", ", w->out);
        if (e->ncomp > 1) fputc('(', w->out);
        for (int c = 0; c < e->ncomp; c++) {
            if (c) fputc(',', w->out);
            if (e->slots[c] >= 0) {
                int s = e->slots[c];
                if (s < w->nslots) {
                    w->slot_names[s] = e->names && e->names[c] ? e->names[c] : NULL;
                    snprintf(w->gen[s], sizeof w->gen[s], "oa_d%d", s + 1);
                }
                fputs(dummy_name(w, s), w->out);
            } else {
                fprintf(w->out, "oa_f%d", w->fresh + ++nf);
            }
        }
        if (e->ncomp > 1) fputc(')', w->out);
        fputs(" in ", w->out);
        setexpr(w, e->set);
        /* The set may name its own dummies in the same slots: rename ours. */
        for (int c = 0; c < e->ncomp; c++) {
            int s = e->slots[c];
            if (s >= 0 && s < w->nslots) {
                w->slot_names[s] = e->names && e->names[c] ? e->names[c] : NULL;
                snprintf(w->gen[s], sizeof w->gen[s], "oa_d%d", s + 1);
            }
        }
    }
    w->fresh += nf;
    if (nf || x->cond) {
        fputs(": ", w->out);
        int k = first_fresh, wrote = 0;
        for (int i = 0; i < x->n; i++) {
            const fm_idx_entry *e = &x->entries[i];
            for (int c = 0; c < e->ncomp; c++) {
                if (e->slots[c] >= 0) continue;
                if (wrote++) fputs(" and ", w->out);
                fprintf(w->out, "oa_f%d = ", ++k);
                expr(w, e->filters[c]);
            }
        }
        if (x->cond) {
            if (wrote) fputs(" and ", w->out);
            fputc('(', w->out);
            expr(w, x->cond);
            fputc(')', w->out);
        }
    }
    fputc('}', w->out);
}

static void setexpr(writer *w, const fm_node *s)
{
    switch (s->kind) {
    case N_SETNAME: put_name(w, w->m->decls[s->id]->name); return;
    case S_RANGE:
        fputc('(', w->out);
        expr(w, s->kids[0]);
        fputs(" .. ", w->out);
        expr(w, s->kids[1]);
        if (s->kids[2] && !(s->kids[2]->kind == N_NUM && s->kids[2]->num == 1)) {
            fputs(" by ", w->out);
            expr(w, s->kids[2]);
        }
        fputc(')', w->out);
        return;
    case S_LIST:
        fputc('{', w->out);
        for (int i = 0; i < s->nkids; i++) {
            if (i) fputs(", ", w->out);
            const fm_node *e = s->kids[i];
            if (e->kind == N_TUPLE) {
                fputc('(', w->out);
                for (int k = 0; k < e->nkids; k++) { if (k) fputc(',', w->out); expr(w, e->kids[k]); }
                fputc(')', w->out);
            } else expr(w, e);
        }
        fputc('}', w->out);
        return;
    case S_INDEXING:
        indexing(w, s->idx);
        return;
    default:
        expr(w, s);
    }
}

static const char *cmp_text(int op)
{
    switch (op) {
    case C_LT: return "<";
    case C_LE: return "<=";
    case C_EQ: return "=";
    case C_NE: return "<>";
    case C_GE: return ">=";
    default: return ">";
    }
}

static const char *fold_op_text(int op)
{
    switch (op) {
    case N_ADD: return " + ";
    case N_SUB: return " - ";
    case N_MUL: return " * ";
    case N_DIV: return " / ";
    case N_IDIV: return " div ";
    case N_MOD: return " mod ";
    case N_AND: return " and ";
    default: return " or ";
    }
}

static void expr(writer *w, const fm_node *n)
{
    static const char *const funcs[] = { "abs", "min", "max", "sqrt", "exp", "log", "log10",
                                         "floor", "ceil", "card" };
    static const char *const iters[] = { "sum", "prod", "min", "max" };
    FILE *o = w->out;
    switch (n->kind) {
    case N_NUM: put_number(w, n->num); return;
    case N_STR: put_literal(w, n->str); return;
    case N_DUMMY: fputs(dummy_name(w, n->id), o); return;
    case N_PARAM: case N_VAR:
        put_name(w, w->m->decls[n->id]->name);
        if (n->nkids) {
            fputc('[', o);
            for (int i = 0; i < n->nkids; i++) { if (i) fputc(',', o); expr(w, n->kids[i]); }
            fputc(']', o);
        }
        return;
    case N_NEG: fputs("(-", o); expr(w, n->kids[0]); fputc(')', o); return;
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_IDIV: case N_MOD: case N_POW: {
        const char *op = n->kind == N_ADD ? " + " : n->kind == N_SUB ? " - " : n->kind == N_MUL ? " * "
                       : n->kind == N_DIV ? " / " : n->kind == N_IDIV ? " div " : n->kind == N_MOD ? " mod " : " ^ ";
        fputc('(', o); expr(w, n->kids[0]); fputs(op, o); expr(w, n->kids[1]); fputc(')', o);
        return;
    }
    case N_CALL:
        fprintf(o, "%s(", funcs[n->op]);
        for (int i = 0; i < n->nkids; i++) {
            if (i) fputs(", ", o);
            if (n->op == F_CARD) setexpr(w, n->kids[i]); else expr(w, n->kids[i]);
        }
        fputc(')', o);
        return;
    case N_ITER:
        fprintf(o, "(%s", iters[n->op]);
        indexing(w, n->idx);
        fputs(" (", o);
        expr(w, n->kids[0]);
        fputs("))", o);
        return;
    case N_IF:
        fputs("(if ", o); expr(w, n->kids[0]);
        fputs(" then ", o); expr(w, n->kids[1]);
        fputs(" else ", o); expr(w, n->kids[2]);
        fputc(')', o);
        return;
    case N_CMP:
        fputc('(', o); expr(w, n->kids[0]); fprintf(o, " %s ", cmp_text(n->op)); expr(w, n->kids[1]);
        fputc(')', o);
        return;
    case N_AND: case N_OR:
        fputc('(', o); expr(w, n->kids[0]); fputs(n->kind == N_AND ? " and " : " or ", o);
        expr(w, n->kids[1]); fputc(')', o);
        return;
    case N_NOT: fputs("(not ", o); expr(w, n->kids[0]); fputc(')', o); return;
    case N_FOLD:   /* MathProg's operators of one level are left-associative too */
        fputc('(', o);
        for (int i = 0; i < n->nkids; i++) {
            if (i) fputs(fold_op_text(n->ops[i]), o);
            expr(w, n->kids[i]);
        }
        fputc(')', o);
        return;
    case N_IN: {
        const fm_node *a = n->kids[0];
        fputc('(', o);
        if (a->kind == N_TUPLE) {
            fputc('(', o);
            for (int k = 0; k < a->nkids; k++) { if (k) fputc(',', o); expr(w, a->kids[k]); }
            fputc(')', o);
        } else expr(w, a);
        fputs(n->op ? " not in " : " in ", o);
        setexpr(w, n->kids[1]);
        fputc(')', o);
        return;
    }
    default:
        setexpr(w, n);
    }
}

static void data_key(writer *w, const fm_sym *key, int dimen)
{
    for (int k = 0; k < dimen; k++) { fputc(' ', w->out); put_sym(w, key[k]); }
}

static void write_set(writer *w, const fm_decl *d)
{
    FILE *o = w->out;
    fputs("set ", o);
    put_name(w, d->name);
    if (d->set_dimen > 1) fprintf(o, " dimen %d", d->set_dimen);
    if (d->form == SF_RANGE) {
        fputs(" := ", o);
        fputc('(', o);
        expr(w, d->range_lo);
        fputs(" .. ", o);
        expr(w, d->range_hi);
        if (d->range_by) { fputs(" by ", o); expr(w, d->range_by); }
        fputc(')', o);
    } else if (d->form == SF_FROM) {
        fputs(" := setof", o);
        int fresh0 = w->fresh;
        indexing(w, d->from);
        fputs(" (", o);
        int wrote = 0, k = fresh0;
        for (int i = 0; i < d->from->n; i++) {
            const fm_idx_entry *e = &d->from->entries[i];
            for (int c = 0; c < e->ncomp; c++) {
                if (wrote++) fputc(',', o);
                if (e->slots[c] >= 0) fputs(dummy_name(w, e->slots[c]), o);
                else fprintf(o, "oa_f%d", ++k);
            }
        }
        fputc(')', o);
    }
    fputs(";\n", o);
}

static void write_param(writer *w, const fm_decl *d)
{
    FILE *o = w->out;
    fputs("param ", o);
    put_name(w, d->name);
    if (d->index) indexing(w, d->index);
    if (d->expr) {
        fputs(" := ", o);
        expr(w, d->expr);
    } else if (!d->index) {
        fputs(" := ", o);
        fm_sym none[1] = { 0 };
        long e = fm_tmap_find(&d->pvals, none);
        put_number(w, e >= 0 ? d->pvals.vals[e].d : d->default_value);
    } else if (d->has_default) {
        fputs(" default ", o);
        put_number(w, d->default_value);
    }
    fputs(";\n", o);
}

static void write_bound(writer *w, const fm_decl *d, int upper)
{
    FILE *o = w->out;
    const fm_node *e = upper ? d->upper : d->lower;
    double num = upper ? d->upper_num : d->lower_num;
    fputs(upper ? "<= " : ">= ", o);
    /* The compiler's inward rounding, tolerance included (compile.c). */
    if (d->var_type == 1) fputs(upper ? "floor(" : "ceil(", o);
    if (e) expr(w, e); else put_number(w, num);
    if (d->var_type == 1) fprintf(o, " %s %g)", upper ? "+" : "-", FM_INT_BOUND_TOL);
}

static void write_var(writer *w, const fm_decl *d)
{
    FILE *o = w->out;
    fputs("var ", o);
    put_name(w, d->name);
    if (d->index) indexing(w, d->index);
    if (d->var_type == 1) fputs(" integer", o);
    if (d->var_type == 2) { fputs(" binary;\n", o); return; }
    int any = 0;
    if (!d->lower_free) { fputc(' ', o); write_bound(w, d, 0); any = 1; }
    if (d->upper_set) { fputs(any ? ", " : " ", o); write_bound(w, d, 1); }
    fputs(";\n", o);
}

static void write_constraint(writer *w, const fm_decl *d)
{
    FILE *o = w->out;
    const fm_node *e = d->expr;
    fputs("s.t. ", o);
    put_name(w, d->name);
    if (d->index) indexing(w, d->index);
    fputs(": ", o);
    int op = e->op == C_LT ? C_LE : e->op == C_GT ? C_GE : e->op;
    expr(w, e->kids[0]);
    fprintf(o, " %s ", cmp_text(op));
    expr(w, e->kids[1]);
    if (e->nkids == 3) { fprintf(o, " %s ", cmp_text(op)); expr(w, e->kids[2]); }
    fputs(";\n", o);
}

static void write_data(writer *w)
{
    FILE *o = w->out;
    const fm_model *m = w->m;
    for (size_t i = 0; i < m->ndecls; i++) {
        const fm_decl *d = m->decls[i];
        if (d->kind == K_SET && d->form == SF_ELEMENTS) {
            fputs("set ", o);
            put_name(w, d->name);
            fputs(" :=", o);
            const fm_tmap *t = &d->setval.members;
            for (size_t k = 0; k < t->n; k++) {
                const fm_sym *key = t->keys + k * t->dimen;
                fputs("\n ", o);
                if (t->dimen > 1) {
                    fputc('(', o);
                    for (int c = 0; c < t->dimen; c++) { if (c) fputc(',', o); put_sym(w, key[c]); }
                    fputc(')', o);
                } else put_sym(w, key[0]);
            }
            fputs(";\n", o);
        }
        if (d->kind == K_PARAM && d->index && !d->expr && d->pvals.n) {
            fputs("param ", o);
            put_name(w, d->name);
            fputs(" :=", o);
            for (size_t k = 0; k < d->pvals.n; k++) {
                fputs("\n", o);
                data_key(w, d->pvals.keys + k * d->pvals.dimen, d->pvals.dimen);
                fputc(' ', o);
                char buf[64];
                fm_format_number(buf, sizeof buf, d->pvals.vals[k].d);
                fputs(buf, o);
            }
            fputs(";\n", o);
        }
    }
}

fm_code fm_model_write_mathprog(const fm_model *m, FILE *out)
{
    if (!m || !m->program || !m->objective) return FM_EINVALID;
    int maxslots = 1;
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i]->nslots > maxslots) maxslots = m->decls[i]->nslots;
    writer w = { .m = m, .out = out, .nslots = maxslots };
    w.slot_names = calloc(maxslots, sizeof *w.slot_names);
    w.gen = calloc(maxslots, sizeof *w.gen);
    if (!w.slot_names || !w.gen) { free(w.slot_names); free(w.gen); return FM_ENOMEM; }

    fprintf(out, "/* exported by optagent %s from the format-1 model '%s' */\n\n",
            OPTAGENT_VERSION, fm_model_name(m));
    for (size_t i = 0; i < m->norder; i++) {   /* MathProg wants use after declaration */
        const fm_decl *d = m->decls[m->order[i]];
        if (d->kind == K_SET) write_set(&w, d);
        else write_param(&w, d);
    }
    for (size_t i = 0; i < m->ndecls; i++) {
        const fm_decl *d = m->decls[i];
        if (d->kind == K_VAR) write_var(&w, d);
    }
    const fm_decl *o = m->objective;
    fprintf(out, "%s ", o->maximize ? "maximize" : "minimize");
    put_name(&w, o->name);
    fputs(": ", out);
    expr(&w, o->expr);
    fputs(";\n", out);
    for (size_t i = 0; i < m->ndecls; i++) {
        const fm_decl *d = m->decls[i];
        if (d->kind == K_CON) write_constraint(&w, d);
    }
    fputs("solve;\n\ndata;\n", out);
    write_data(&w);
    fputs("end;\n", out);
    free(w.slot_names);
    free(w.gen);
    return ferror(out) ? FM_EIO : FM_OK;
}
