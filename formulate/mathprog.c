/* Export to GNU MathProg: the algebra is translated, not the instantiated
 * rows, so `glpsol -m` re-derives every row with its own translator and a
 * differential test compares two independent instantiations.
 *
 * The text is what a person would write (docs/FORMULATION.md, "Exports"):
 *  - sets given by elements and parameters given by data go to the data
 *    section from the values already read; ranges, derived sets, computed
 *    parameters, bounds, the objective and constraints are algebra;
 *  - the formulation's own dummies: a list index is written "{P}", without
 *    dummies; a tuple component that filters (a bound dummy or an
 *    expression) stays in place as a MathProg slice, and only an entry whose
 *    every component filters (no 0-ary slice in MathProg) gets fresh dummies
 *    oa_fK with equalities in the condition (entry_form);
 *  - parentheses only where MathProg's precedence needs them (level_of,
 *    expr's min level); literal bounds as numbers, rounded inward for an
 *    integer variable as the compiler does;
 *  - after "solve;", a printf per report quantity that does not fail on the
 *    model (write_reports), guarded where it may still fail at the optimum
 *    (collect_guards: a variable in a denominator, sqrt or log).
 *
 * Nothing from the formulation reaches the file unchecked, since a .mod is
 * a program that glpsol runs (its `table ... OUT` statement writes files):
 *  - the model name only goes into the header comment, with control bytes
 *    and the comment terminator defused (put_comment);
 *  - declaration names and dummies are ASCII identifiers already; those
 *    MathProg cannot take verbatim (its built-in function names, more than
 *    MP_NAME_MAX bytes, or our reserved prefix "oa_") are written as
 *    oa_nK (declaration K) or oa_dK (dummy slot K), which cannot collide;
 *  - element texts and string literals are quoted with ' doubled; one that
 *    MathProg cannot hold (a control byte, tab included: glpsol reads it
 *    as a blank; or more than
 *    MP_NAME_MAX bytes) makes the export fail with a message naming it.
 * The text is built in memory and written out only when all of it is
 * valid, so a refused export leaves no partial program behind.
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

/* MathProg's limit on symbolic names and string literals (MAX_LENGTH in
 * GLPK's mpl.h): longer ones are "too long" errors in glpsol. */
#define MP_NAME_MAX 100

typedef struct {
    const fm_model *m;
    FILE *out;
    const char *where;      /* the declaration being written, for errors */
    char *err;              /* the first reason the export fails, or NULL */
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

/* 1 when MathProg reads name verbatim as the name we mean. */
static int name_safe(const char *name)
{
    if (!name || !fm_is_valid_name(name) || strlen(name) > MP_NAME_MAX) return 0;
    if (!strncmp(name, "oa_", 3)) return 0;   /* our generated names */
    for (int i = 0; mathprog_builtins[i]; i++)
        if (!strcmp(name, mathprog_builtins[i])) return 0;
    return 1;
}

/* Declaration id's name, or oa_n<id+1> when it cannot be written as it is. */
static void put_name(writer *w, size_t id)
{
    const char *name = w->m->decls[id]->name;
    if (name_safe(name)) fputs(name, w->out);
    else fprintf(w->out, "oa_n%zu", id + 1);
}

/* Records the first reason the export fails (the message is kept short). */
static void refuse(writer *w, const char *text, const char *why)
{
    if (w->err) return;
    char shown[48];
    size_t k = 0;
    for (const char *t = text; *t && k + 4 < sizeof shown; t++)
        shown[k++] = (unsigned char)*t < 0x20 || *t == 0x7F ? '?' : *t;
    shown[k] = '\0';
    size_t n = strlen(shown) + strlen(why) + strlen(w->where) + 96;
    w->err = malloc(n);
    if (w->err)
        snprintf(w->err, n, "%s: the text '%s%s' cannot be written in MathProg: %s", w->where,
                 shown, strlen(text) > k ? "..." : "", why);
}

/* A comment's text: no control bytes, and never the end of the comment. */
static void put_comment(FILE *out, const char *s)
{
    for (char prev = 0; *s; prev = *s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7F) fputc('?', out);
        else if (*s == '/' && prev == '*') fputs(" /", out);
        else fputc(*s, out);
    }
}

static void put_number(writer *w, double v)
{
    char buf[64];
    fm_format_number(buf, sizeof buf, v + 0.0);   /* never "-0" */
    fputs(buf, w->out);
}

static void put_quoted(writer *w, const char *s)
{
    FILE *out = w->out;
    size_t len = strlen(s);
    if (len > MP_NAME_MAX)
        refuse(w, s, "MathProg strings hold at most 100 bytes");
    for (const char *t = s; *t; t++)
        /* glpsol reads a tab in a string as a blank: 'a<TAB>b' would be
         * 'a b', another element, or a duplicate of one */
        if ((unsigned char)*t < 0x20 || *t == 0x7F) {
            refuse(w, s, "MathProg strings cannot hold control characters (tab, newline, ...)");
            break;
        }
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
    else put_quoted(w, fm_sym_text(t, s));
}

static void put_literal(writer *w, const char *text)
{
    fm_sym s = fm_sym_find(&w->m->syms, text);
    if (s >= 0 && w->m->syms.is_num[s]) fputs(text, w->out);
    else put_quoted(w, text);
}

/* MathProg's precedence levels, lowest first (GLPK's manual, "Hierarchy of
 * operations"); an operand whose level is below what its place needs is
 * parenthesized, and nothing else is. An iterated operator's operand and
 * the branches of an if are written as format 1 reads them (operand at the
 * multiplicative level, branches over + -), and an iterated operator or an
 * if inside a larger expression is parenthesized, which reads the same in
 * both languages. */
enum {
    LV_TOP, LV_OR, LV_AND, LV_NOT, LV_CMP, LV_ADD, LV_ITER, LV_MUL, LV_NEG, LV_POW, LV_ATOM
};

static void expr(writer *w, const fm_node *n, int min);
static void setexpr(writer *w, const fm_node *s);

static const char *dummy_name(writer *w, int slot)
{
    if (slot < 0 || slot >= w->nslots) return "?";
    return w->slot_names[slot] && name_safe(w->slot_names[slot]) ? w->slot_names[slot]
                                                                  : w->gen[slot];
}

static void name_slot(writer *w, const fm_idx_entry *e, int c)
{
    int s = e->slots[c];
    if (s < 0 || s >= w->nslots) return;
    w->slot_names[s] = e->names && e->names[c] ? e->names[c] : NULL;
    snprintf(w->gen[s], sizeof w->gen[s], "oa_d%d", s + 1);
}

/* How an entry is written: ENTRY_SET "S" (anonymous dummies nobody refers
 * to), ENTRY_TUPLE "(i,j) in S" with filtering components written in place
 * (a MathProg slice, which needs at least one new dummy), ENTRY_FRESH a
 * fresh dummy oa_fK per filtering component plus an equality in the
 * condition (every component filters: MathProg has no 0-ary slice). */
enum { ENTRY_SET, ENTRY_TUPLE, ENTRY_FRESH };

static int entry_form(const fm_idx_entry *e, int force_names)
{
    int anonymous = 1, named = 0;
    for (int c = 0; c < e->ncomp; c++) {
        if (e->slots[c] < 0) anonymous = 0;
        else if (e->names && e->names[c]) anonymous = 0, named = 1;
        else named = 1;
    }
    if (anonymous && !force_names) return ENTRY_SET;
    return named ? ENTRY_TUPLE : ENTRY_FRESH;
}

/* Writes "{...}" for an indexing, naming its dummies in slot_names.
 * force_names: name anonymous dummies too (setof's tuple needs them). */
static void indexing(writer *w, const fm_indexing *x, int force_names)
{
    int nf = 0;
    int first_fresh = w->fresh;
    fputc('{', w->out);
    for (int i = 0; i < x->n; i++) {
        const fm_idx_entry *e = &x->entries[i];
        int form = entry_form(e, force_names);
        if (i) fputs(", ", w->out);
        if (form != ENTRY_SET) {
            if (e->ncomp > 1) fputc('(', w->out);
            for (int c = 0; c < e->ncomp; c++) {
                if (c) fputc(',', w->out);
                if (e->slots[c] >= 0) {
                    name_slot(w, e, c);
                    fputs(dummy_name(w, e->slots[c]), w->out);
                } else if (form == ENTRY_TUPLE) {
                    expr(w, e->filters[c], LV_ADD);
                } else {
                    fprintf(w->out, "oa_f%d", w->fresh + ++nf);
                }
            }
            if (e->ncomp > 1) fputc(')', w->out);
            fputs(" in ", w->out);
        }
        setexpr(w, e->set);
        /* The set may name its own dummies in the same slots: rename ours. */
        for (int c = 0; c < e->ncomp; c++) name_slot(w, e, c);
    }
    w->fresh += nf;
    if (nf || x->cond) {
        fputs(": ", w->out);
        int k = first_fresh, wrote = 0;
        for (int i = 0; i < x->n; i++) {
            const fm_idx_entry *e = &x->entries[i];
            if (entry_form(e, force_names) != ENTRY_FRESH) continue;
            for (int c = 0; c < e->ncomp; c++) {
                if (e->slots[c] >= 0) continue;
                if (wrote++) fputs(" and ", w->out);
                fprintf(w->out, "oa_f%d = ", ++k);
                expr(w, e->filters[c], LV_ADD);
            }
        }
        if (x->cond) {
            if (wrote) fputs(" and ", w->out);
            expr(w, x->cond, wrote ? LV_AND + 1 : LV_OR);
        }
    }
    fputc('}', w->out);
}

static void tuple(writer *w, const fm_node *t)
{
    fputc('(', w->out);
    for (int k = 0; k < t->nkids; k++) {
        if (k) fputc(',', w->out);
        expr(w, t->kids[k], LV_ADD);
    }
    fputc(')', w->out);
}

static void setexpr(writer *w, const fm_node *s)
{
    switch (s->kind) {
    case N_SETNAME: put_name(w, (size_t)s->id); return;
    case S_RANGE:
        expr(w, s->kids[0], LV_ADD);
        fputs("..", w->out);
        expr(w, s->kids[1], LV_ADD);
        if (s->kids[2] && !(s->kids[2]->kind == N_NUM && s->kids[2]->num == 1)) {
            fputs(" by ", w->out);
            expr(w, s->kids[2], LV_ADD);
        }
        return;
    case S_LIST:
        fputc('{', w->out);
        for (int i = 0; i < s->nkids; i++) {
            if (i) fputs(", ", w->out);
            if (s->kids[i]->kind == N_TUPLE) tuple(w, s->kids[i]);
            else expr(w, s->kids[i], LV_ADD);
        }
        fputc('}', w->out);
        return;
    case S_INDEXING:
        indexing(w, s->idx, 0);
        return;
    default:
        expr(w, s, LV_ADD);
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

static const char *op_text(int op)
{
    switch (op) {
    case N_ADD: return " + ";
    case N_SUB: return " - ";
    case N_MUL: return " * ";
    case N_DIV: return " / ";
    case N_IDIV: return " div ";
    case N_MOD: return " mod ";
    case N_POW: return "^";
    case N_AND: return " and ";
    default: return " or ";
    }
}

static int op_level(int op)
{
    switch (op) {
    case N_ADD: case N_SUB: return LV_ADD;
    case N_MUL: case N_DIV: case N_IDIV: case N_MOD: return LV_MUL;
    case N_POW: return LV_POW;
    case N_AND: return LV_AND;
    default: return LV_OR;
    }
}

/* The level at which n is written without parentheses. */
static int level_of(const fm_node *n)
{
    switch (n->kind) {
    case N_NUM: return n->num < 0 ? LV_NEG : LV_ATOM;
    case N_NEG: return LV_NEG;
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_IDIV: case N_MOD: case N_POW:
    case N_AND: case N_OR:
        return op_level(n->kind);
    case N_FOLD: return op_level(n->ops[1]);
    case N_ITER: return LV_ITER;
    case N_IF: return LV_TOP;
    case N_CMP: case N_IN: return LV_CMP;
    case N_NOT: return LV_NOT;
    default: return LV_ATOM;
    }
}

/* The right operand of a binary operator: its own level plus one (left
 * associativity), and a negative operand in parentheses ("a - (-3)"). */
static void right_operand(writer *w, const fm_node *n, int op)
{
    int negative = n->kind == N_NEG || (n->kind == N_NUM && n->num < 0);
    expr(w, n, negative ? LV_ATOM : op == N_POW ? LV_POW : op_level(op) + 1);
}

static void expr_body(writer *w, const fm_node *n);

static void expr(writer *w, const fm_node *n, int min)
{
    int wrap = level_of(n) < min;
    if (wrap) fputc('(', w->out);
    expr_body(w, n);
    if (wrap) fputc(')', w->out);
}

static void expr_body(writer *w, const fm_node *n)
{
    static const char *const funcs[] = { "abs", "min", "max", "sqrt", "exp", "log", "log10",
                                         "floor", "ceil", "card" };
    static const char *const iters[] = { "sum", "prod", "min", "max" };
    FILE *o = w->out;
    switch (n->kind) {
    case N_NUM: {
        char buf[64];
        fm_format_number(buf, sizeof buf, n->num);
        fputs(buf, o);
        return;
    }
    case N_STR: put_literal(w, n->str); return;
    case N_DUMMY: fputs(dummy_name(w, n->id), o); return;
    case N_PARAM: case N_VAR:
        put_name(w, (size_t)n->id);
        if (n->nkids) {
            fputc('[', o);
            for (int i = 0; i < n->nkids; i++) { if (i) fputc(',', o); expr(w, n->kids[i], LV_ADD); }
            fputc(']', o);
        }
        return;
    case N_NEG: fputc('-', o); expr(w, n->kids[0], LV_NEG + 1); return;
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_IDIV: case N_MOD: case N_POW:
    case N_AND: case N_OR:
        /* ^ is right-associative: its left operand needs parentheses at its
         * own level, the right one does not */
        expr(w, n->kids[0], n->kind == N_POW ? LV_POW + 1 : op_level(n->kind));
        fputs(op_text(n->kind), o);
        right_operand(w, n->kids[1], n->kind);
        return;
    case N_FOLD:   /* MathProg's operators of one level are left-associative too */
        expr(w, n->kids[0], op_level(n->ops[1]));
        for (int i = 1; i < n->nkids; i++) {
            fputs(op_text(n->ops[i]), o);
            right_operand(w, n->kids[i], n->ops[i]);
        }
        return;
    case N_CALL:
        fprintf(o, "%s(", funcs[n->op]);
        for (int i = 0; i < n->nkids; i++) {
            if (i) fputs(", ", o);
            if (n->op == F_CARD) setexpr(w, n->kids[i]); else expr(w, n->kids[i], LV_OR);
        }
        fputc(')', o);
        return;
    case N_ITER:
        fputs(iters[n->op], o);
        indexing(w, n->idx, 0);
        fputc(' ', o);
        expr(w, n->kids[0], n->kids[0]->kind == N_ITER ? LV_ITER : LV_MUL);
        return;
    case N_IF:
        fputs("if ", o); expr(w, n->kids[0], LV_OR);
        fputs(" then ", o); expr(w, n->kids[1], LV_ADD);
        fputs(" else ", o);   /* "else if" chains as in format 1 */
        expr(w, n->kids[2], n->kids[2]->kind == N_IF ? LV_TOP : LV_ADD);
        return;
    case N_CMP:
        expr(w, n->kids[0], LV_ADD);
        fprintf(o, " %s ", cmp_text(n->op));
        expr(w, n->kids[1], LV_ADD);
        return;
    case N_NOT: fputs("not ", o); expr(w, n->kids[0], LV_CMP + 1); return;
    case N_IN: {
        const fm_node *a = n->kids[0];
        if (a->kind == N_TUPLE) tuple(w, a);
        else expr(w, a, LV_ADD);
        fputs(n->op ? " not in " : " in ", o);
        int bare = n->kids[1]->kind == N_SETNAME || n->kids[1]->kind == S_LIST ||
                   n->kids[1]->kind == S_INDEXING;
        if (!bare) fputc('(', o);
        setexpr(w, n->kids[1]);
        if (!bare) fputc(')', o);
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

static void write_set(writer *w, size_t id)
{
    const fm_decl *d = w->m->decls[id];
    w->where = d->label ? d->label : d->name;
    FILE *o = w->out;
    fputs("set ", o);
    put_name(w, id);
    if (d->set_dimen > 1) fprintf(o, " dimen %d", d->set_dimen);
    if (d->form == SF_RANGE) {
        fputs(" := ", o);
        expr(w, d->range_lo, LV_ADD);
        fputs("..", o);
        expr(w, d->range_hi, LV_ADD);
        if (d->range_by) { fputs(" by ", o); expr(w, d->range_by, LV_ADD); }
    } else if (d->form == SF_FROM) {
        fputs(" := setof", o);
        int fresh0 = w->fresh;
        indexing(w, d->from, 1);
        fputs(" (", o);
        int wrote = 0, k = fresh0;
        for (int i = 0; i < d->from->n; i++) {
            const fm_idx_entry *e = &d->from->entries[i];
            int form = entry_form(e, 1);
            for (int c = 0; c < e->ncomp; c++) {
                if (wrote++) fputc(',', o);
                if (e->slots[c] >= 0) fputs(dummy_name(w, e->slots[c]), o);
                else if (form == ENTRY_TUPLE) expr(w, e->filters[c], LV_ADD);
                else fprintf(o, "oa_f%d", ++k);
            }
        }
        fputc(')', o);
    }
    fputs(";\n", o);
}

static void write_param(writer *w, size_t id)
{
    const fm_decl *d = w->m->decls[id];
    w->where = d->label ? d->label : d->name;
    FILE *o = w->out;
    fputs("param ", o);
    put_name(w, id);
    if (d->index) indexing(w, d->index, 0);
    if (d->expr) {
        fputs(" := ", o);
        expr(w, d->expr, LV_TOP);
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

/* A bound as a person writes it: a number as it is (an integer variable's
 * already rounded inward, as the compiler does), an expression as written;
 * an integer variable's expression bound keeps the compiler's inward
 * rounding, tolerance included (compile.c), since glpsol refuses a
 * fractional bound on an integer column. */
static void write_bound(writer *w, const fm_decl *d, int upper)
{
    FILE *o = w->out;
    const fm_node *e = upper ? d->upper : d->lower;
    double num = upper ? d->upper_num : d->lower_num;
    fputs(upper ? "<= " : ">= ", o);
    if (!e) {
        if (d->var_type == 1) num = upper ? floor(num + FM_INT_BOUND_TOL) : ceil(num - FM_INT_BOUND_TOL);
        put_number(w, num);
        return;
    }
    if (d->var_type != 1) { expr(w, e, LV_ADD); return; }
    fputs(upper ? "floor(" : "ceil(", o);
    expr(w, e, LV_ADD);
    fprintf(o, " %s %g)", upper ? "+" : "-", FM_INT_BOUND_TOL);
}

static void write_var(writer *w, size_t id)
{
    const fm_decl *d = w->m->decls[id];
    w->where = d->label ? d->label : d->name;
    FILE *o = w->out;
    fputs("var ", o);
    put_name(w, id);
    if (d->index) indexing(w, d->index, 0);
    if (d->var_type == 1) fputs(" integer", o);
    if (d->var_type == 2) { fputs(" binary;\n", o); return; }
    int any = 0;
    if (!d->lower_free) { fputc(' ', o); write_bound(w, d, 0); any = 1; }
    if (d->upper_set) { fputs(any ? ", " : " ", o); write_bound(w, d, 1); }
    fputs(";\n", o);
}

static void write_constraint(writer *w, size_t id)
{
    const fm_decl *d = w->m->decls[id];
    w->where = d->label ? d->label : d->name;
    FILE *o = w->out;
    const fm_node *e = d->expr;
    fputs("s.t. ", o);
    put_name(w, id);
    if (d->index) indexing(w, d->index, 0);
    fputs(": ", o);
    int op = e->op == C_LT ? C_LE : e->op == C_GT ? C_GE : e->op;
    expr(w, e->kids[0], LV_ADD);
    fprintf(o, " %s ", cmp_text(op));
    expr(w, e->kids[1], LV_ADD);
    if (e->nkids == 3) { fprintf(o, " %s ", cmp_text(op)); expr(w, e->kids[2], LV_ADD); }
    fputs(";\n", o);
}

/* 1 unless report k fails on this model whatever the solution: it is tried
 * with every variable at 0, then at 1 (a division by a variable fails at 0
 * only), and counts as failing when both fail, e.g. a subscript outside an
 * index, which would stop glpsol with an error after its solve. */
static int report_evaluates(const fm_model *m, size_t k)
{
    size_t n = fm_program_ncols(m->program);
    double *x = calloc(n ? n : 1, sizeof *x);
    fm_diags *d = fm_diags_new();
    int ok = 1;
    if (x && d) {
        const char *name;
        double v;
        ok = fm_model_report_eval(m, k, x, &name, &v, d) == FM_OK;
        for (size_t j = 0; !ok && j < n; j++) x[j] = 1;
        if (!ok) ok = fm_model_report_eval(m, k, x, &name, &v, d) == FM_OK;
    }
    free(x);
    fm_diags_free(d);
    return ok;
}

/* A report name as a MathProg string (or comment) body: control characters
 * become '?', ' is doubled when quoted, cut to MathProg's 100 bytes without
 * splitting a character. */
static void put_report_name(FILE *o, const char *s, int quoted)
{
    size_t n = 0;
    for (const char *t = s ? s : ""; *t && n < MP_NAME_MAX - 4; t++, n++) {
        if ((*t & 0xC0) == 0xC0 && n + 4 >= MP_NAME_MAX - 4) break;
        if (*t == '\'' && quoted) { fputs("''", o); n++; }
        else if (*t == '/' && t > s && t[-1] == '*' && !quoted) fputs(" /", o);
        else fputc((unsigned char)*t < 0x20 || *t == 0x7F ? '?' : *t, o);
    }
}

/* Operands a report may fail on at the optimum (report_evaluates tries
 * only all-0 and all-1 points): a denominator, a sqrt or log argument that
 * holds a variable. glpsol stops at the first failing printf ("floating-point
 * zero divide", then "Model postsolving error", the later reports unprinted),
 * so such a printf is guarded by a condition and an "undefined" line stands
 * in for it. Not collected inside an iteration (its dummies are not in
 * scope of the guard) or an if's branches (only the taken one is
 * evaluated). */
#define MAX_REPORT_GUARDS 16
typedef struct {
    const fm_node *n[MAX_REPORT_GUARDS];
    const char *test[MAX_REPORT_GUARDS];     /* " != 0", " >= 0", " > 0" */
    int count;
} report_guards;

static int holds_var(const fm_node *n)
{
    if (!n) return 0;
    if (n->kind == N_VAR) return 1;
    for (int i = 0; i < n->nkids; i++)
        if (holds_var(n->kids[i])) return 1;
    return 0;
}

static void add_guard(report_guards *g, const fm_node *n, const char *test)
{
    if (g->count < MAX_REPORT_GUARDS && holds_var(n)) {
        g->n[g->count] = n;
        g->test[g->count++] = test;
    }
}

static int divides(int kind)
{
    return kind == N_DIV || kind == N_IDIV || kind == N_MOD;
}

static void collect_guards(const fm_node *n, report_guards *g)
{
    if (!n || n->kind == N_ITER) return;
    if (n->kind == N_IF) { collect_guards(n->kids[0], g); return; }
    if (divides(n->kind) && n->nkids == 2) add_guard(g, n->kids[1], " != 0");
    if (n->kind == N_FOLD)
        for (int i = 1; i < n->nkids; i++)
            if (divides(n->ops[i])) add_guard(g, n->kids[i], " != 0");
    if (n->kind == N_CALL && n->nkids == 1 && n->op == F_SQRT) add_guard(g, n->kids[0], " >= 0");
    if (n->kind == N_CALL && n->nkids == 1 && (n->op == F_LOG || n->op == F_LOG10))
        add_guard(g, n->kids[0], " > 0");
    for (int i = 0; i < n->nkids; i++) collect_guards(n->kids[i], g);
}

static void put_guards(writer *w, const report_guards *g)
{
    for (int i = 0; i < g->count; i++) {
        if (i) fputs(" and ", w->out);
        expr(w, g->n[i], LV_ADD);
        fputs(g->test[i], w->out);
    }
}

/* The report quantities, printed by glpsol after the solve: "printf '%s =
 * %g\n', 'NAME', EXPR;" (after solve, a variable stands for its value). A
 * display statement would print the bare value without the name. The name
 * is free text, so it never makes the export fail. A quantity that fails
 * on this model (report_evaluates) is left as a comment. */
static void write_reports(writer *w)
{
    FILE *o = w->out;
    for (size_t k = 0; k < w->m->nreports; k++) {
        const fm_decl *d = w->m->reports[k];
        if (!d->expr) continue;
        w->where = d->label ? d->label : "report";
        if (!report_evaluates(w->m, k)) {
            fputs("/* report '", o);
            put_report_name(o, d->name, 0);
            fputs("' is not printed: it fails on this model (see optagent solve) */\n", o);
            continue;
        }
        report_guards g = { .count = 0 };
        collect_guards(d->expr, &g);
        if (g.count) {
            fputs("printf{1..1: ", o);
            put_guards(w, &g);
            fputs("} ", o);
        } else {
            fputs("printf ", o);
        }
        fputs("'%s = %g\\n', '", o);
        put_report_name(o, d->name, 1);
        fputs("', ", o);
        expr(w, d->expr, LV_OR);
        fputs(";\n", o);
        if (g.count) {
            fputs("printf{1..1: not (", o);
            put_guards(w, &g);
            fputs(")} '%s is undefined at this solution (a division by zero or a function "
                  "outside its domain)\\n', '", o);
            put_report_name(o, d->name, 1);
            fputs("';\n", o);
        }
    }
}

static void write_data(writer *w)
{
    FILE *o = w->out;
    const fm_model *m = w->m;
    for (size_t i = 0; i < m->ndecls; i++) {
        const fm_decl *d = m->decls[i];
        w->where = d->label ? d->label : d->name;
        if (d->kind == K_SET && d->form == SF_ELEMENTS) {
            fputs("set ", o);
            put_name(w, i);
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
            put_name(w, i);
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

/* Ownership: m and out are the caller's; err (may be NULL) receives the
 * reason of an FM_EINVALID. Writes nothing to out unless the whole program
 * is valid MathProg. */
fm_code fm_model_export_mathprog(const fm_model *m, FILE *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!m || (!m->program && !m->nlp) || !m->objective) {   /* nonlinear: the expressions stay */
        if (err) snprintf(err, errlen, "the model is not a valid model");
        return FM_EINVALID;
    }
    int maxslots = 1;
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i]->nslots > maxslots) maxslots = m->decls[i]->nslots;
    for (size_t i = 0; i < m->nreports; i++)
        if (m->reports[i]->nslots > maxslots) maxslots = m->reports[i]->nslots;
    char *text = NULL;
    size_t textlen = 0;
    fm_code rc = FM_ENOMEM;
    writer w = { .m = m, .nslots = maxslots, .where = "model" };
    w.slot_names = calloc(maxslots, sizeof *w.slot_names);
    w.gen = calloc(maxslots, sizeof *w.gen);
    w.out = open_memstream(&text, &textlen);
    if (!w.slot_names || !w.gen || !w.out) goto out;

    fprintf(w.out, "/* exported by optagent %s from the format-1 model '", OPTAGENT_VERSION);
    put_comment(w.out, fm_model_name(m));
    fputs("' */\n\n", w.out);
    for (size_t i = 0; i < m->norder; i++) {   /* MathProg wants use after declaration */
        size_t id = (size_t)m->order[i];
        if (m->decls[id]->kind == K_SET) write_set(&w, id);
        else write_param(&w, id);
    }
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i]->kind == K_VAR) write_var(&w, i);
    const fm_decl *o = m->objective;
    w.where = o->label ? o->label : "objective";
    fprintf(w.out, "%s ", o->maximize ? "maximize" : "minimize");
    size_t oid = m->ndecls;
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i] == o) oid = i;
    if (oid < m->ndecls) put_name(&w, oid);
    else fputs(name_safe(o->name) ? o->name : "oa_objective", w.out);
    fputs(": ", w.out);
    expr(&w, o->expr, LV_TOP);
    fputs(";\n", w.out);
    for (size_t i = 0; i < m->ndecls; i++)
        if (m->decls[i]->kind == K_CON) write_constraint(&w, i);
    fputs("solve;\n", w.out);
    write_reports(&w);
    fputs("\ndata;\n", w.out);
    write_data(&w);
    fputs("end;\n", w.out);
    int bad = fclose(w.out) != 0;
    w.out = NULL;
    if (bad) goto out;
    if (w.err) {
        if (err) snprintf(err, errlen, "%s", w.err);
        rc = FM_EINVALID;
        goto out;
    }
    rc = fwrite(text, 1, textlen, out) == textlen && !ferror(out) ? FM_OK : FM_EIO;
    if (rc != FM_OK && err) snprintf(err, errlen, "the MathProg text could not be written");
out:
    if (rc == FM_ENOMEM && err) snprintf(err, errlen, "%s", fm_strerror(FM_ENOMEM));
    if (w.out) fclose(w.out);
    free(text);
    free(w.err);
    free(w.slot_names);
    free(w.gen);
    return rc;
}

fm_code fm_model_write_mathprog(const fm_model *m, FILE *out)
{
    return fm_model_export_mathprog(m, out, NULL, 0);
}
