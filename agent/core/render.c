/* agent/core/render — the readable rendering of a format-1 formulation.
 *
 * What a person reads instead of the JSON (the REPL's :formulation,
 * `optagent show`): a title, then sets, parameters, variables, the
 * objective, the constraints and the report, each in the expression syntax
 * of docs/FORMULATION.md. Design:
 *   - fm_model_parse validates: unreadable JSON is the one failure (its
 *     message, with the position, goes to err); a formulation that fails a
 *     check still renders, with its first error diagnostic appended, because
 *     that is when a reader most needs to see it;
 *   - the rendering itself reads the JSON with cJSON, declaration by
 *     declaration, so it shows what was written (expressions as they are,
 *     data as given) and copes with any shape: a key of the wrong type is
 *     skipped, never fatal;
 *   - width: lists (set elements, parameter values) stop at 10 / 6 entries or
 *     at WIDTH columns and then say how many there are; expressions are
 *     printed whole, however long;
 *   - every text from the JSON goes through put_text, which escapes control
 *     characters (C0, DEL, C1) and bytes that are not UTF-8, so nothing from
 *     the model reaches a terminal raw;
 *   - the output grows in one buffer capped at RENDER_MAX bytes.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/core.h"

#define WIDTH 100               /* the column lists and comments stay within */
#define SET_SHOW_ALL 10         /* a set up to this size is shown whole ... */
#define SET_SHOW 8              /* ... a larger one by its first 8 elements */
#define PARAM_SHOW 6            /* values shown of an indexed parameter */
#define ITEM_MAX 40             /* display columns of one list item */
#define MAX_LEVELS 20           /* index sets of one parameter walked */
#define RENDER_MAX ((size_t)64 << 20)

typedef struct {
    char *p;
    size_t n, cap;
    int failed;                 /* out of memory or over RENDER_MAX */
} rbuf;

static void put(rbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = cap <= RENDER_MAX ? realloc(b->p, cap) : NULL;
        if (!np) { b->failed = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(rbuf *b, const char *s) { put(b, s, strlen(s)); }

/* Our own text only (numbers, fixed words): never a string from the JSON. */
static void putf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(rbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (s[0] >= 0xf5 || k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return k;
}

/* A text from the JSON, with control characters and non-UTF-8 bytes escaped. */
static void put_text(rbuf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; ) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x7f) { put(b, s + i, 1); i++; continue; }
        size_t k = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (k == 2 && c == 0xc2 && u[i + 1] < 0xa0) {   /* C1 control, e.g. U+009B CSI */
            putf(b, "\\u%04x", u[i + 1]);
        } else if (k) {
            put(b, s + i, k);
        } else {
            k = 1;
            if (c == '\n') puts_(b, "\\n");
            else if (c == '\t') puts_(b, "\\t");
            else if (c == '\r') puts_(b, "\\r");
            else putf(b, "\\x%02x", c);
        }
        i += k;
    }
}

static size_t column(const rbuf *b)
{
    size_t i = b->n;
    while (i > 0 && b->p[i - 1] != '\n') i--;
    return b->n - i;
}

static void put_number(rbuf *b, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) putf(b, "%.0f", v);
    else putf(b, "%.15g", v);
}

/* A plain element text reads as itself; any other is quoted as in the
 * expression syntax ('O''Brien'). */
static void put_elem_text(rbuf *b, const char *s)
{
    int plain = *s != 0;
    for (const char *q = s; *q && plain; q++)
        plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                *q == '_' || *q == '.' || *q == '-' || *q == '+';
    if (plain) { put_text(b, s); return; }
    puts_(b, "'");
    for (const char *q = s; *q; q++) {
        if (*q == '\'') { puts_(b, "''"); continue; }
        char one[2] = { *q, 0 };
        size_t k = (unsigned char)*q >= 0x80 ? utf8_len((const unsigned char *)q, strlen(q)) : 0;
        if (k > 1) {                 /* keep a multi-byte character whole */
            char mb[5] = { 0 };
            memcpy(mb, q, k);
            put_text(b, mb);
            q += k - 1;
            continue;
        }
        put_text(b, one);
    }
    puts_(b, "'");
}

/* An element, a tuple (bare: "s,a" — the caller adds parentheses), a number
 * or an expression bound. */
static void put_value(rbuf *b, const cJSON *v, int bare_tuple)
{
    if (cJSON_IsNumber(v)) put_number(b, v->valuedouble);
    else if (cJSON_IsString(v)) put_elem_text(b, v->valuestring);
    else if (cJSON_IsArray(v)) {
        if (!bare_tuple) puts_(b, "(");
        int first = 1;
        for (const cJSON *c = v->child; c; c = c->next, first = 0) {
            if (!first) puts_(b, ",");
            put_value(b, c, 0);
        }
        if (!bare_tuple) puts_(b, ")");
    } else puts_(b, cJSON_IsNull(v) ? "null" : "?");
}

/* A number, or an expression string as written. */
static void put_expr(rbuf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) put_text(b, v->valuestring);
    else put_value(b, v, 0);
}

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void put_name(rbuf *b, const cJSON *decl)
{
    const char *name = str_of(decl, "name");
    put_text(b, name ? name : "?");
}

/* "[P,R]" for a list of sets, "[p in P: ...]" for an indexing string. */
static void put_index(rbuf *b, const cJSON *decl)
{
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(decl, "index");
    if (cJSON_IsArray(ix)) {
        puts_(b, "[");
        int first = 1;
        for (const cJSON *c = ix->child; c; c = c->next, first = 0) {
            if (!first) puts_(b, ",");
            put_expr(b, c);
        }
        puts_(b, "]");
    } else if (cJSON_IsString(ix)) {
        const char *s = ix->valuestring, *e = s + strlen(s);
        while (*s == ' ') s++;
        while (e > s && e[-1] == ' ') e--;
        if (e - s >= 2 && *s == '{' && e[-1] == '}') { s++; e--; }
        char *inner = strndup(s, (size_t)(e - s));
        if (!inner) { b->failed = 1; return; }
        puts_(b, "[");
        put_text(b, inner);
        puts_(b, "]");
        free(inner);
    }
}

/* Words of text wrapped at WIDTH, each line "indent# ". */
static void put_comment_lines(rbuf *b, const char *text, int indent)
{
    rbuf t = { 0 };
    put_text(&t, text);
    if (t.failed) { b->failed = 1; free(t.p); return; }
    const char *s = t.p ? t.p : "";
    size_t room = WIDTH - (size_t)indent - 2;
    while (*s) {
        size_t n = strlen(s), cut = n;
        if (n > room) {
            cut = room;
            while (cut > 0 && s[cut] != ' ') cut--;
            if (cut == 0) cut = room;       /* one long word: cut it */
            while (cut < n && (s[cut] & 0xc0) == 0x80) cut++;
        }
        putf(b, "%*s# ", indent, "");
        put(b, s, cut);
        puts_(b, "\n");
        s += cut;
        while (*s == ' ') s++;
    }
    free(t.p);
}

/* Ends the current line with the element's description: "  # text" when it
 * fits, else on the lines below at indent + 2. */
static void end_line(rbuf *b, const cJSON *decl, int indent)
{
    const char *d = str_of(decl, "description");
    if (!d || !*d) { puts_(b, "\n"); return; }
    rbuf t = { 0 };
    put_text(&t, d);
    if (!t.failed && t.p && column(b) + 4 + t.n <= WIDTH) {
        puts_(b, "  # ");
        put(b, t.p, t.n);
        puts_(b, "\n");
    } else {
        puts_(b, "\n");
        put_comment_lines(b, d, indent + 2);
    }
    free(t.p);
}

/* ---- lists with a summary: "{a, b, ..., h, ... (25 elements)}" ---- */

typedef struct {
    char *item[SET_SHOW_ALL];
    size_t nitem, total;
} list;

static void list_free(list *l)
{
    for (size_t i = 0; i < l->nitem; i++) free(l->item[i]);
}

/* Takes the text of t (an item) into l, cut to ITEM_MAX columns. */
static void list_take(list *l, rbuf *t)
{
    if (t->failed || l->nitem >= SET_SHOW_ALL) { free(t->p); return; }
    if (!t->p) { t->p = strdup(""); if (!t->p) return; }
    if (t->n > ITEM_MAX) {
        size_t cut = ITEM_MAX - 3;
        while (cut > 0 && (t->p[cut] & 0xc0) == 0x80) cut--;
        memcpy(t->p + cut, "...", 4);
    }
    l->item[l->nitem++] = t->p;
}

/* Shows every item when there are at most all_max and they fit; else at
 * most show of them, as many as fit in WIDTH, then "... (N what)". */
static void put_list(rbuf *b, const list *l, size_t all_max, size_t show, const char *what)
{
    size_t col = column(b) + 2, need = 0;
    for (size_t i = 0; i < l->nitem; i++) need += strlen(l->item[i]) + 2;
    int whole = l->total == l->nitem && l->total <= all_max && col + need <= WIDTH;
    char tail[64];
    snprintf(tail, sizeof tail, "... (%zu %s)", l->total, what);
    puts_(b, "{");
    size_t shown = 0;
    for (size_t i = 0; i < l->nitem; i++) {
        size_t len = strlen(l->item[i]);
        if (!whole && (shown == show || (shown > 0 && col + len + 2 + strlen(tail) > WIDTH))) break;
        if (shown++) puts_(b, ", ");
        puts_(b, l->item[i]);
        col += len + 2;
    }
    if (!whole) {
        if (shown) puts_(b, ", ");
        puts_(b, tail);
    }
    puts_(b, "}");
}

/* ---- sets ---- */

static const cJSON *find_set(const cJSON *root, const char *name)
{
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "sets");
    const cJSON *s;
    cJSON_ArrayForEach(s, sets) {
        const char *n = str_of(s, "name");
        if (n && name && !strcmp(n, name)) return s;
    }
    return NULL;
}

/* The dimension of a set declaration: dimen, else its first element's. */
static int set_dimen(const cJSON *set)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(set, "dimen");
    if (cJSON_IsNumber(d)) return d->valueint;
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(set, "elements");
    const cJSON *first = cJSON_IsArray(el) ? el->child : NULL;
    return cJSON_IsArray(first) ? cJSON_GetArraySize(first) : 1;
}

static void put_range(rbuf *b, const cJSON *range)
{
    int k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, range) {
        puts_(b, k == 0 ? "" : k == 1 ? ".." : " by ");
        put_expr(b, c);
        k++;
    }
}

static void render_set(rbuf *b, const cJSON *s)
{
    puts_(b, "  ");
    put_name(b, s);
    int dimen = set_dimen(s);
    if (dimen > 1) putf(b, " dimen %d", dimen);
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(s, "elements");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(s, "range");
    const char *from = str_of(s, "from");
    if (cJSON_IsArray(el)) {
        list l = { .total = (size_t)cJSON_GetArraySize(el) };
        size_t want = l.total <= SET_SHOW_ALL ? l.total : SET_SHOW;
        for (const cJSON *e = el->child; e && l.nitem < want; e = e->next) {
            rbuf t = { 0 };
            put_value(&t, e, 0);
            list_take(&l, &t);
        }
        puts_(b, " = ");
        put_list(b, &l, SET_SHOW_ALL, SET_SHOW, l.total == 1 ? "element" : "elements");
        list_free(&l);
    } else if (cJSON_IsArray(range)) {
        puts_(b, " = ");
        put_range(b, range);
    } else if (from) {
        puts_(b, " = ");
        put_text(b, from);
    }
    end_line(b, s, 2);
}

/* ---- parameters ---- */

/* Walks a parameter's data, counting the values and keeping the first
 * PARAM_SHOW as "key: value" texts. */
typedef struct {
    const cJSON *level[MAX_LEVELS];  /* set declaration of each index position */
    int nlevel;
    rbuf key;                        /* the key of the value being walked */
    int ncomp;                       /* components in key */
    list out;
} walk;

static void walk_leaf(walk *w, const cJSON *v)
{
    w->out.total++;
    if (w->out.nitem >= PARAM_SHOW) return;
    rbuf t = { 0 };
    if (w->ncomp > 1) puts_(&t, "(");
    if (w->key.p) put(&t, w->key.p, w->key.n);
    puts_(&t, w->ncomp > 1 ? "): " : ": ");
    put_expr(&t, v);
    list_take(&w->out, &t);
}

static int want_key(const walk *w) { return w->out.nitem < PARAM_SHOW; }

static void key_push(walk *w, const cJSON *part, int bare)
{
    if (!want_key(w)) return;
    if (w->ncomp) puts_(&w->key, ",");
    put_value(&w->key, part, bare);
    w->ncomp += cJSON_IsArray(part) && bare ? cJSON_GetArraySize(part) : 1;
}

static void key_pop(walk *w, size_t mark, int ncomp)
{
    if (w->key.p && mark <= w->key.n) { w->key.n = mark; w->key.p[mark] = 0; }
    w->ncomp = ncomp;
}

/* A row [k1, ..., kN, value]. */
static void walk_row(walk *w, const cJSON *row)
{
    size_t mark = w->key.n;
    int nc = w->ncomp;
    const cJSON *c = row->child;
    for (; c && c->next; c = c->next) key_push(w, c, 1);
    if (c) walk_leaf(w, c);
    key_pop(w, mark, nc);
}

static void walk_keyed(walk *w, const cJSON *obj)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        size_t mark = w->key.n;
        int nc = w->ncomp;
        if (want_key(w)) {
            if (w->ncomp) puts_(&w->key, ",");
            put_elem_text(&w->key, c->string ? c->string : "");
            w->ncomp++;
        }
        if (cJSON_IsObject(c)) walk_keyed(w, c);
        else walk_leaf(w, c);
        key_pop(w, mark, nc);
    }
}

/* The i-th member of a set declaration as a key part: an element, a
 * number of a numeric range, else its position "#i". */
static void put_member(rbuf *b, const cJSON *set, int i)
{
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(set, "elements");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(set, "range");
    const cJSON *e = cJSON_IsArray(el) ? cJSON_GetArrayItem(el, i) : NULL;
    if (e) { put_value(b, e, 1); return; }
    const cJSON *lo = cJSON_GetArrayItem(range, 0), *step = cJSON_GetArrayItem(range, 2);
    if (cJSON_IsNumber(lo) && (!step || cJSON_IsNumber(step))) {
        put_number(b, lo->valuedouble + i * (step ? step->valuedouble : 1));
        return;
    }
    putf(b, "#%d", i + 1);
}

/* Arrays in set order, one level per set of the list index; a single tuple
 * set's data may also be rows of dimen+1. */
static void walk_array(walk *w, const cJSON *arr, int lvl)
{
    const cJSON *set = lvl < w->nlevel ? w->level[lvl] : NULL;
    int i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        if (cJSON_IsArray(c) && w->nlevel == 1 && lvl == 0 && set_dimen(set) > 1 &&
            cJSON_GetArraySize(c) == set_dimen(set) + 1) {
            walk_row(w, c);
            continue;
        }
        size_t mark = w->key.n;
        int nc = w->ncomp;
        if (want_key(w)) {
            if (w->ncomp) puts_(&w->key, ",");
            put_member(&w->key, set, i);
            w->ncomp += set_dimen(set);
        }
        if (cJSON_IsArray(c) && lvl + 1 < w->nlevel) walk_array(w, c, lvl + 1);
        else walk_leaf(w, c);
        key_pop(w, mark, nc);
    }
}

static void put_param_data(rbuf *b, const cJSON *root, const cJSON *p)
{
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(p, "values");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(p, "rows");
    if (!cJSON_IsObject(values) && !cJSON_IsArray(values) && !cJSON_IsArray(rows)) return;
    walk w = { .nlevel = 0 };
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(p, "index"), *c;
    cJSON_ArrayForEach(c, ix)
        if (w.nlevel < MAX_LEVELS) w.level[w.nlevel++] = find_set(root, cJSON_IsString(c) ? c->valuestring : NULL);
    if (cJSON_IsObject(values)) walk_keyed(&w, values);
    else if (cJSON_IsArray(values) && cJSON_IsArray(ix)) walk_array(&w, values, 0);
    else {
        const cJSON *r, *all = cJSON_IsArray(rows) ? rows : values;
        cJSON_ArrayForEach(r, all)
            if (cJSON_IsArray(r)) walk_row(&w, r);
    }
    if (w.key.failed) b->failed = 1;
    puts_(b, " = ");
    put_list(b, &w.out, PARAM_SHOW, PARAM_SHOW, w.out.total == 1 ? "value" : "values");
    list_free(&w.out);
    free(w.key.p);
}

static void render_param(rbuf *b, const cJSON *root, const cJSON *p)
{
    puts_(b, "  ");
    put_name(b, p);
    put_index(b, p);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(p, "value");
    const cJSON *expr = cJSON_GetObjectItemCaseSensitive(p, "expression");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(p, "default");
    if (value || expr) {
        puts_(b, " = ");
        put_expr(b, expr ? expr : value);
    } else {
        put_param_data(b, root, p);
    }
    if (def) {
        puts_(b, " default ");
        put_expr(b, def);
    }
    end_line(b, p, 2);
}

/* ---- variables, objective, constraints, report ---- */

static void render_var(rbuf *b, const cJSON *v)
{
    puts_(b, "  ");
    put_name(b, v);
    put_index(b, v);
    const char *type = str_of(v, "type");
    if (type && strcmp(type, "continuous")) { puts_(b, " "); put_text(b, type); }
    if (!type || strcmp(type, "binary")) {
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(v, "lower");
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(v, "upper");
        int has_lo = !lo || !cJSON_IsNull(lo), has_up = up && !cJSON_IsNull(up);
        if (has_lo) {
            puts_(b, " >= ");
            if (lo) put_expr(b, lo); else puts_(b, "0");
        }
        if (has_up) {
            puts_(b, has_lo ? ", <= " : " <= ");
            put_expr(b, up);
        }
        if (!has_lo && !has_up) puts_(b, " free");
    }
    end_line(b, v, 2);
}

static void render_objective(rbuf *b, const cJSON *o)
{
    if (!cJSON_IsObject(o)) return;
    const char *sense = str_of(o, "sense");
    if (sense && (!strcmp(sense, "max") || !strcmp(sense, "maximize"))) puts_(b, "maximize");
    else if (sense && (!strcmp(sense, "min") || !strcmp(sense, "minimize"))) puts_(b, "minimize");
    else put_text(b, sense ? sense : "optimize");
    const char *name = str_of(o, "name");
    puts_(b, " ");
    put_text(b, name ? name : "objective");
    puts_(b, ": ");
    put_expr(b, cJSON_GetObjectItemCaseSensitive(o, "expression"));
    end_line(b, o, 0);
}

static void render_constraint(rbuf *b, const cJSON *c, int pos)
{
    puts_(b, "  ");
    if (str_of(c, "name")) put_name(b, c);
    else putf(b, "c%d", pos);
    put_index(b, c);
    puts_(b, ": ");
    put_expr(b, cJSON_GetObjectItemCaseSensitive(c, "expression"));
    end_line(b, c, 2);
}

static void render_report(rbuf *b, const cJSON *r)
{
    puts_(b, "  ");
    put_name(b, r);
    puts_(b, " = ");
    put_expr(b, cJSON_GetObjectItemCaseSensitive(r, "expression"));
    end_line(b, r, 2);
}

/* Each object of the array root[key] under a heading; nothing when empty. */
static void render_section(rbuf *b, const cJSON *root, const char *key, const char *heading)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *e;
    if (!cJSON_IsArray(arr) || !arr->child) return;
    puts_(b, heading);
    puts_(b, "\n");
    int pos = 0;
    cJSON_ArrayForEach(e, arr) {
        pos++;
        if (!cJSON_IsObject(e)) continue;
        if (!strcmp(key, "sets")) render_set(b, e);
        else if (!strcmp(key, "parameters")) render_param(b, root, e);
        else if (!strcmp(key, "variables")) render_var(b, e);
        else if (!strcmp(key, "constraints")) render_constraint(b, e, pos);
        else render_report(b, e);
    }
}

static void render_doc(rbuf *b, const cJSON *root)
{
    const char *name = str_of(root, "name");
    puts_(b, "formulation ");
    if (name) put_text(b, name); else puts_(b, "(unnamed)");
    puts_(b, "\n");
    const char *desc = str_of(root, "description");
    if (desc && *desc) put_comment_lines(b, desc, 0);
    render_section(b, root, "sets", "sets:");
    render_section(b, root, "parameters", "parameters:");
    render_section(b, root, "variables", "variables:");
    render_objective(b, cJSON_GetObjectItemCaseSensitive(root, "objective"));
    render_section(b, root, "constraints", "subject to:");
    render_section(b, root, "report", "report:");
}

/* "invalid: ELEMENT INDEX: MESSAGE" for the first error diagnostic. */
static void put_first_error(rbuf *b, const fm_diags *d, fm_code code)
{
    for (size_t i = 0; i < fm_diags_count(d); i++) {
        const fm_diag *g = fm_diags_get(d, i);
        if (g->severity != FM_SEV_ERROR) continue;
        puts_(b, "invalid: ");
        put_text(b, g->element);
        if (*g->index) { puts_(b, " "); put_text(b, g->index); }
        puts_(b, ": ");
        put_text(b, g->message);
        puts_(b, "\n");
        return;
    }
    putf(b, "invalid: %s\n", fm_strerror(code));
}

char *ag_formulation_render(const char *json, size_t len, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    *err = 0;
    if (!json) { snprintf(err, errlen, "no formulation"); return NULL; }
    rbuf b = { 0 };
    cJSON *root = NULL;
    fm_code code = FM_ENOMEM;
    fm_diags *d = fm_diags_new();
    fm_model *m = d ? fm_model_parse(json, len, NULL, d, &code) : NULL;
    if (!m || code == FM_EJSON) {
        const fm_diag *g = d && fm_diags_count(d) ? fm_diags_get(d, 0) : NULL;
        rbuf t = { 0 };
        put_text(&t, g ? g->message : fm_strerror(code));
        snprintf(err, errlen, "%s", t.p && !t.failed ? t.p : fm_strerror(code));
        free(t.p);
        goto out;
    }
    root = cJSON_ParseWithLength(json, len);
    if (!root) { snprintf(err, errlen, "json syntax error"); goto out; }
    render_doc(&b, root);
    if (code != FM_OK) put_first_error(&b, d, code);
    if (b.failed || !b.p) {
        snprintf(err, errlen, "%s", b.failed ? "out of memory (or the rendering is over its limit)" : "empty");
        free(b.p);
        b.p = NULL;
    }
out:
    cJSON_Delete(root);
    fm_model_free(m);
    fm_diags_free(d);
    return b.p;
}
