/* Reading a format-1 document: JSON checks, declarations, names, expression
 * parsing and name resolution. Evaluation and compilation are in compile.c.
 *
 * Memory: cJSON's allocations go through hooks installed once at start-up
 * (a constructor, before any thread runs; cJSON_InitHooks is process-wide).
 * While fm_model_parse reads a document the hooks count what cJSON asks for
 * against a per-thread budget (FM_JSON_BYTES_PER_INPUT_BYTE times the input,
 * plus 1 MiB) and record a failed allocation, so running out of memory is
 * reported as out of memory, not as a JSON syntax error. Outside a parse
 * they are plain malloc/free, so other cJSON users are unaffected (their
 * cJSON_Print results may still be freed with free()). The document is
 * freed as soon as sets and parameters have been read from it. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "formulate/internal.h"

/* ---- cJSON allocation hooks ---- */

static _Thread_local struct {
    int active;             /* inside cJSON_Parse* of fm_model_parse */
    int oom;                /* an allocation failed or exceeded the budget */
    size_t left;            /* bytes cJSON may still ask for */
} json_mem;

static _Thread_local size_t json_test_budget;   /* fm_test_json_budget */

void fm_test_json_budget(size_t bytes) { json_test_budget = bytes; }

static void *json_malloc(size_t n)
{
    if (json_mem.active) {
        if (n > json_mem.left) { json_mem.oom = 1; return NULL; }
        json_mem.left -= n;
    }
    void *p = malloc(n);
    if (!p && json_mem.active) json_mem.oom = 1;
    return p;
}

static void json_free(void *p) { free(p); }

__attribute__((constructor)) static void json_hooks_install(void)
{
    cJSON_Hooks h = { json_malloc, json_free };
    cJSON_InitHooks(&h);
}

void fm_limits_default(fm_limits *lim)
{
    lim->max_json_bytes = 64u << 20;
    lim->max_expr_bytes = 256u << 10;
    lim->max_depth = 200;
    lim->max_set_size = 2000000;
    lim->max_rows = 1000000;
    lim->max_cols = 1000000;
    lim->max_nonzeros = 10000000;
    lim->max_steps = 20000000;
}

#define MAX_NAME 255

typedef struct {
    fm_model *m;
    fm_diags *d;
    int errors;
    int limit;
} reader;

static void err(reader *r, const char *element, const char *index, const char *hint,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void err(reader *r, const char *element, const char *index, const char *hint,
                const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->errors++;
    fm_diags_add(r->d, FM_SEV_ERROR, element, index, hint, "%s", buf);
}

static void warn(reader *r, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(reader *r, const char *element, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fm_diags_add(r->d, FM_SEV_WARNING, element, "", "", "%s", buf);
}

/* ---- JSON text checks ---- */

static void line_col(const char *s, size_t off, int *line, int *col)
{
    *line = 1; *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') { (*line)++; *col = 1; } else (*col)++;
    }
}

/* Returns the offset of the first invalid UTF-8 sequence, or (size_t)-1. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        int len; unsigned min;
        if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
        else return i;
        if (i + len > n) return i;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
        i += len;
    }
    return (size_t)-1;
}

/* Finds the first escape \u0000 inside a JSON string of the raw text: cJSON
 * would cut the string there, so "x\u0000 * 1000" would read as "x". Tracks
 * where it is (the path of keys and array indices, e.g.
 * "constraints[1].expression") as it goes; the text is still checked by cJSON
 * afterwards, so this scan is lenient. Returns the offset of the backslash, or
 * (size_t)-1. */
#define NUL_PATH_DEPTH 32
static size_t json_nul_escape_at(const char *s, size_t n, char *path, size_t pathlen)
{
    struct { int obj; long index; size_t key, keylen; } st[NUL_PATH_DEPTH];
    int depth = 0, expect_key = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c != '"') {
            if (c == '{' || c == '[') {
                if (depth < NUL_PATH_DEPTH) {
                    st[depth].obj = c == '{'; st[depth].index = 0;
                    st[depth].key = 0; st[depth].keylen = 0;
                }
                depth++;
                expect_key = c == '{';
            } else if (c == '}' || c == ']') {
                if (depth > 0) depth--;
                expect_key = 0;
            } else if (c == ',' && depth > 0 && depth <= NUL_PATH_DEPTH) {
                if (st[depth - 1].obj) expect_key = 1; else st[depth - 1].index++;
            }
            i++;
            continue;
        }
        size_t start = ++i;
        int is_key = expect_key && depth > 0;
        for (; i < n && s[i] != '"'; i++) {
            if (s[i] != '\\') continue;
            if (i + 5 < n && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4)) {
                char p[400];
                size_t w = 0;
                p[0] = 0;
                int last = is_key ? depth - 1 : depth;
                for (int k = 0; k < last && k < NUL_PATH_DEPTH && w + 1 < sizeof p; k++) {
                    if (!st[k].obj)
                        w += snprintf(p + w, sizeof p - w, "[%ld]", st[k].index);
                    else
                        w += snprintf(p + w, sizeof p - w, "%s%.*s", k ? "." : "",
                                      (int)(st[k].keylen > 40 ? 40 : st[k].keylen), s + st[k].key);
                }
                if (is_key) snprintf(path, pathlen, "a key of %s", p[0] ? p : "the top-level object");
                else snprintf(path, pathlen, "%s", p[0] ? p : "the top-level string");
                return i;
            }
            i++;   /* the escaped character ("\\u0000" is a backslash, then text) */
        }
        if (is_key && depth <= NUL_PATH_DEPTH) {
            st[depth - 1].key = start; st[depth - 1].keylen = i - start;
            expect_key = 0;
        }
        i++;
    }
    return (size_t)-1;
}

/* ---- helpers ---- */

static char *label_of(const char *array, int idx, const char *name)
{
    char buf[MAX_NAME + 64];
    if (idx >= 0) snprintf(buf, sizeof buf, "%s[%d] '%s'", array, idx, name ? name : "?");
    else snprintf(buf, sizeof buf, "%s '%s'", array, name ? name : "?");
    return strdup(buf);
}

static const char *kind_word(fm_decl_kind k)
{
    switch (k) {
    case K_SET: return "set";
    case K_PARAM: return "parameter";
    case K_VAR: return "variable";
    case K_CON: return "constraint";
    case K_OBJ: return "objective";
    default: return "report quantity";
    }
}

/* The declaration (not a report) whose name was registered, or NULL. */
static fm_decl *find_decl(fm_model *m, const char *name)
{
    int i = fm_strmap_get(&m->names, name);
    return i < 0 ? NULL : m->decls[i];
}

static int decl_index(fm_model *m, fm_decl *d) { (void)m; return d->pos; }

/* Registers d under its (final) name; returns the declaration that already
 * has the name, or NULL. Out of memory is reported as an error. */
static fm_decl *register_name(reader *r, fm_decl *d)
{
    int old = -1;
    int rc = fm_strmap_put(&r->m->names, d->name, d->pos, &old);
    if (rc < 0) { err(r, d->label, "", "", "out of memory"); return NULL; }
    return rc == 0 ? r->m->decls[old] : NULL;
}

static void decl_free(fm_decl *d)
{
    if (!d) return;
    free(d->name); free(d->label); free(d->description);
    fm_indexing_free(d->index);
    fm_node_free(d->range_lo); fm_node_free(d->range_hi); fm_node_free(d->range_by);
    fm_indexing_free(d->from);
    fm_tmap_free(&d->setval.members);
    for (fm_slice *s = d->setval.slices, *n; s; s = n) {
        n = s->link;
        fm_tmap_free(&s->map); free(s->next); free(s);
    }
    fm_node_free(d->expr);
    fm_tmap_free(&d->pvals);
    fm_node_free(d->lower); fm_node_free(d->upper);
    fm_tmap_free(&d->cols);
    free(d);
}

void fm_model_drop_json(fm_model *m)
{
    if (!m->doc) return;
    for (size_t i = 0; i < m->ndecls; i++) {
        m->decls[i]->elements_json = NULL;
        m->decls[i]->values_json = NULL;
    }
    cJSON_Delete(m->doc);
    m->doc = NULL;
}

void fm_model_free(fm_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->ndecls; i++) decl_free(m->decls[i]);
    free(m->decls);
    free(m->reports);
    fm_strmap_free(&m->names);
    fm_strmap_free(&m->report_names);
    free(m->order);
    free(m->name);
    fm_symtab_free(&m->syms);
    fm_program_free(m->program);
    fm_nlp_free(m->nlp);
    cJSON_Delete(m->doc);
    free(m);
}

static fm_decl *add_decl(reader *r, fm_decl_kind kind, const char *array, int idx,
                         const char *name)
{
    fm_model *m = r->m;
    if (m->ndecls == m->decls_cap) {
        size_t cap = m->decls_cap ? m->decls_cap * 2 : 16;
        if (cap > INT32_MAX) return NULL;
        fm_decl **v = realloc(m->decls, cap * sizeof *v);
        if (!v) return NULL;
        m->decls = v;
        m->decls_cap = cap;
    }
    fm_decl *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->pos = (int)m->ndecls;
    d->kind = kind;
    d->json_index = idx;
    d->name = strdup(name);
    d->label = label_of(array, idx, name);
    if (!d->name || !d->label) { decl_free(d); return NULL; }
    m->decls[m->ndecls++] = d;
    return d;
}

/* Checks a name's form; returns 1 when usable. */
static int check_name(reader *r, const char *label, const char *name, const char *what)
{
    if (strlen(name) > MAX_NAME) {
        err(r, label, "", "use a shorter name",
            "%s name is %zu characters long, over the limit of %d", what, strlen(name), MAX_NAME);
        return 0;
    }
    if (!fm_is_valid_name(name)) {
        err(r, label, "", "names are letters, digits and _, starting with a letter or _",
            "'%s' is not a valid %s name", name, what);
        return 0;
    }
    if (fm_is_reserved(name)) {
        char hint[MAX_NAME + 32];
        snprintf(hint, sizeof hint, "rename it, e.g. '%s_'", name);
        err(r, label, "", hint, "'%s' is a reserved word and cannot be used as a %s name",
            name, what);
        return 0;
    }
    return 1;
}

static const char *json_type(const cJSON *j)
{
    if (!j) return "nothing";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "an unknown value";
}

static void check_keys(reader *r, const cJSON *obj, const char *label,
                       const char *const *known)
{
    fm_strmap seen = { 0 };   /* keys so far: linear in the number of keys */
    for (const cJSON *k = obj->child; k; k = k->next) {
        int rc = fm_strmap_put(&seen, k->string, 0, NULL);
        if (rc < 0) { err(r, label, "", "", "out of memory"); break; }
        if (rc == 0)
            err(r, label, "", "give each key once", "duplicate key \"%.80s\"", k->string);
        if (!strcmp(k->string, "description") && !cJSON_IsString(k))
            warn(r, label, "\"description\" is not a string and is ignored");
        int ok = 0;
        for (int i = 0; known[i]; i++) if (!strcmp(k->string, known[i])) ok = 1;
        if (!ok)
            warn(r, label, "unknown key \"%.80s\" is kept but not used", k->string);
    }
    fm_strmap_free(&seen);
}

/* Parses an expression string of an element's field into an AST. */
static fm_node *parse_field(reader *r, const char *label, const char *field,
                            const char *text, int constraint)
{
    size_t len = strlen(text);
    if (len > r->m->lim.max_expr_bytes) {
        err(r, label, "", "split it or use indexed parameters",
            "\"%s\" is %zu bytes long, over the limit of %zu", field, len, r->m->lim.max_expr_bytes);
        r->limit = 1;
        return NULL;
    }
    fm_parse_ctx ctx = { .src = text, .len = len, .max_depth = r->m->lim.max_depth };
    fm_node *n = constraint ? fm_parse_constraint(&ctx) : fm_parse_expr(&ctx);
    if (!n) {
        if (ctx.limit_hit) r->limit = 1;
        int show = ctx.err_pos < 0 ? 0 : ctx.err_pos;
        err(r, label, "", "", "in \"%s\" at column %d (\"%.30s\"): %s", field, show + 1,
            (size_t)show <= len ? text + show : "", ctx.err);
    }
    return n;
}

static fm_indexing *parse_index_field(reader *r, const char *label, const char *field,
                                      const char *text)
{
    size_t len = strlen(text);
    if (len > r->m->lim.max_expr_bytes) {
        err(r, label, "", "", "\"%s\" is %zu bytes long, over the limit of %zu", field, len,
            r->m->lim.max_expr_bytes);
        r->limit = 1;
        return NULL;
    }
    fm_parse_ctx ctx = { .src = text, .len = len, .max_depth = r->m->lim.max_depth };
    fm_indexing *x = fm_parse_indexing(&ctx);
    if (!x) {
        if (ctx.limit_hit) r->limit = 1;
        err(r, label, "", "an indexing looks like \"{i in I, j in J: i != j}\"",
            "in \"%s\" at column %d: %s", field, ctx.err_pos + 1, ctx.err);
    }
    return x;
}

/* A list-of-sets index ["R","P"] becomes the indexing {R, P} with anonymous
 * components (filled in by resolution once set dimensions are known). */
static fm_indexing *index_from_list(reader *r, const char *label, const cJSON *list)
{
    fm_indexing *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    int n = cJSON_GetArraySize(list);
    x->entries = calloc(n ? n : 1, sizeof *x->entries);
    if (!x->entries) { free(x); return NULL; }
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        if (!cJSON_IsString(it)) {
            err(r, label, "", "write \"index\": [\"P\"] or \"index\": \"{p in P}\"",
                "\"index\" entries must be set names (strings), got %s", json_type(it));
            fm_indexing_free(x);
            return NULL;
        }
        fm_idx_entry *e = &x->entries[x->n++];
        e->set = calloc(1, sizeof *e->set);
        if (!e->set) { fm_indexing_free(x); return NULL; }
        e->set->kind = N_SETNAME;
        e->set->id = -1;
        e->set->str = strdup(it->valuestring);
        if (!e->set->str) { fm_indexing_free(x); return NULL; }
    }
    return x;
}

/* Reads d's "index" into d->index (NULL: scalar). Returns 0, or -1 when an
 * index was given but could not be read (the reason is a diagnostic). */
static int read_index(reader *r, fm_decl *d, const cJSON *idx)
{
    d->index = NULL;
    if (!idx || cJSON_IsNull(idx)) return 0;
    if (cJSON_IsString(idx)) d->index = parse_index_field(r, d->label, "index", idx->valuestring);
    else if (cJSON_IsArray(idx)) {
        if (cJSON_GetArraySize(idx) == 0) return 0;
        d->index = index_from_list(r, d->label, idx);
    } else {
        err(r, d->label, "", "write \"index\": [\"P\"] or \"index\": \"{p in P}\"",
            "\"index\" expected a list of set names or an indexing string, got %s", json_type(idx));
    }
    return d->index ? 0 : -1;
}

/* A number or an expression string (bounds, range ends, defaults). */
static int read_num_or_expr(reader *r, fm_decl *d, const char *field, const cJSON *j,
                            fm_node **expr, double *num, int *is_num)
{
    *expr = NULL; *is_num = 0;
    if (cJSON_IsNumber(j)) {
        if (!isfinite(j->valuedouble)) {
            err(r, d->label, "", "", "\"%s\" is not a finite number", field);
            return -1;
        }
        *num = j->valuedouble; *is_num = 1;
        return 0;
    }
    if (cJSON_IsString(j)) {
        *expr = parse_field(r, d->label, field, j->valuestring, 0);
        return *expr ? 0 : -1;
    }
    err(r, d->label, "", "use a number, an expression string, or null",
        "\"%s\" expected a number or an expression, got %s", field, json_type(j));
    return -1;
}

/* ---- reading each kind of element ---- */

static const char *const set_keys[] = { "name", "description", "elements", "range", "from",
                                        "dimen", NULL };
static const char *const param_keys[] = { "name", "description", "index", "value", "values",
                                          "rows", "default", "expression", NULL };
static const char *const var_keys[] = { "name", "description", "index", "type", "lower",
                                        "upper", NULL };
static const char *const obj_keys[] = { "name", "description", "sense", "expression", NULL };
static const char *const con_keys[] = { "name", "description", "index", "expression", NULL };
static const char *const rep_keys[] = { "name", "description", "expression", NULL };
/* "$schema" names docs/formulation.schema.json for editors; not used. */
static const char *const top_keys[] = { "format", "name", "description", "sets", "parameters",
                                        "variables", "objective", "constraints", "report",
                                        "$schema", NULL };

static const char *get_string(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void set_description(fm_decl *d, const cJSON *o)
{
    const char *s = get_string(o, "description");
    if (s) d->description = strdup(s);
}

static fm_decl *start_decl(reader *r, fm_decl_kind kind, const char *array, int i,
                           const cJSON *o, const char *default_name)
{
    char pos[64];
    snprintf(pos, sizeof pos, "%s[%d]", array, i);
    if (!cJSON_IsObject(o)) {
        err(r, pos, "", "", "%s expected an object, got %s", pos, json_type(o));
        return NULL;
    }
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    const char *name = default_name;
    if (nm && !cJSON_IsString(nm)) {
        err(r, pos, "", "", "\"name\" expected a string, got %s", json_type(nm));
        return NULL;
    }
    if (nm) name = nm->valuestring;
    if (!name) {
        err(r, pos, "", "give it a \"name\"", "missing \"name\" of the %s", kind_word(kind));
        return NULL;
    }
    char shown[80];
    snprintf(shown, sizeof shown, "%.60s%s", name, strlen(name) > 60 ? "..." : "");
    fm_decl *d = add_decl(r, kind, array, i, shown);
    if (!d) { err(r, pos, "", "", "out of memory"); return NULL; }
    if (kind != K_REPORT) {
        if (!check_name(r, d->label, name, kind_word(kind))) return d;
        free(d->name);
        d->name = strdup(name);
        if (!d->name) { err(r, d->label, "", "", "out of memory"); return d; }
        fm_decl *prev = register_name(r, d);
        if (prev)
            err(r, d->label, "", "names are unique across sets, parameters, variables, constraints and the objective",
                "duplicate name '%s': already used by %s", name, prev->label);
    } else {
        free(d->name);
        d->name = strdup(name);
    }
    set_description(d, o);
    return d;
}

static void read_set(reader *r, int i, const cJSON *o)
{
    fm_decl *d = start_decl(r, K_SET, "sets", i, o, NULL);
    if (!d) return;
    check_keys(r, o, d->label, set_keys);
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(o, "elements");
    const cJSON *rg = cJSON_GetObjectItemCaseSensitive(o, "range");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "from");
    const cJSON *dm = cJSON_GetObjectItemCaseSensitive(o, "dimen");
    int forms = !!el + !!rg + !!fr;
    if (forms != 1) {
        err(r, d->label, "", "give exactly one of \"elements\", \"range\" or \"from\"",
            forms ? "a set has one form, this one has %d" : "missing \"elements\", \"range\" or \"from\"%.0d",
            forms);
        return;
    }
    int dimen = 0;
    if (dm) {
        if (!cJSON_IsNumber(dm) || dm->valuedouble < 1 || dm->valuedouble > FM_MAX_DIMEN
            || dm->valuedouble != (int)dm->valuedouble) {
            err(r, d->label, "", "", "\"dimen\" expected an integer from 1 to %d", FM_MAX_DIMEN);
            return;
        }
        dimen = (int)dm->valuedouble;
    }
    if (el) {
        if (!cJSON_IsArray(el)) {
            err(r, d->label, "", "", "\"elements\" expected an array, got %s", json_type(el));
            return;
        }
        d->form = SF_ELEMENTS;
        d->elements_json = el;
        const cJSON *first = el->child;
        int inferred = first && cJSON_IsArray(first) ? cJSON_GetArraySize(first) : 1;
        if (dimen && first && inferred != dimen) {
            err(r, d->label, "[0]", "", "element 0 has %d components but \"dimen\" is %d",
                inferred, dimen);
            return;
        }
        d->set_dimen = dimen ? dimen : inferred;
        if (d->set_dimen < 1 || d->set_dimen > FM_MAX_DIMEN) {
            err(r, d->label, "", "", "elements must have 1 to %d components", FM_MAX_DIMEN);
            return;
        }
    } else if (rg) {
        d->form = SF_RANGE;
        d->set_dimen = 1;
        if (dimen > 1) { err(r, d->label, "", "", "a range set has dimension 1"); return; }
        int n = cJSON_IsArray(rg) ? cJSON_GetArraySize(rg) : 0;
        if (n != 2 && n != 3) {
            err(r, d->label, "", "write \"range\": [1, 12] or [1, \"T\"]",
                "\"range\" expected [first, last] or [first, last, step]");
            return;
        }
        double num; int isn;
        fm_node *e;
        fm_node **dst[3] = { &d->range_lo, &d->range_hi, &d->range_by };
        for (int k = 0; k < n; k++) {
            if (read_num_or_expr(r, d, "range", cJSON_GetArrayItem(rg, k), &e, &num, &isn) != 0)
                return;
            if (isn) {
                e = calloc(1, sizeof *e);
                if (!e) return;
                e->kind = N_NUM; e->num = num; e->id = -1;
            }
            *dst[k] = e;
        }
    } else {
        if (!cJSON_IsString(fr)) {
            err(r, d->label, "", "", "\"from\" expected an indexing string, got %s", json_type(fr));
            return;
        }
        d->form = SF_FROM;
        d->from = parse_index_field(r, d->label, "from", fr->valuestring);
        if (!d->from) return;
        int comps = 0;
        for (int k = 0; k < d->from->n; k++) comps += d->from->entries[k].ncomp;
        d->set_dimen = comps;   /* anonymous entries are checked in resolution */
        if (dimen && comps && dimen != comps) {
            err(r, d->label, "", "", "\"from\" has %d dummies but \"dimen\" is %d", comps, dimen);
            return;
        }
    }
}

static void read_param(reader *r, int i, const cJSON *o)
{
    fm_decl *d = start_decl(r, K_PARAM, "parameters", i, o, NULL);
    if (!d) return;
    check_keys(r, o, d->label, param_keys);
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(o, "index");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(o, "values");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(o, "default");
    const cJSON *expr = cJSON_GetObjectItemCaseSensitive(o, "expression");
    if (read_index(r, d, idx) != 0) return;
    if (def) {
        if (!cJSON_IsNumber(def) || !isfinite(def->valuedouble)) {
            err(r, d->label, "", "", "\"default\" expected a number, got %s", json_type(def));
            return;
        }
        d->has_default = 1;
        d->default_value = def->valuedouble;
    }
    int forms = !!value + !!values + !!rows + !!expr;
    if (forms > 1) {
        err(r, d->label, "", "give one of \"value\", \"values\", \"rows\" or \"expression\"",
            "a parameter has one data form, this one has %d", forms);
        return;
    }
    if (expr) {
        if (!cJSON_IsString(expr)) {
            err(r, d->label, "", "", "\"expression\" expected a string, got %s", json_type(expr));
            return;
        }
        d->expr = parse_field(r, d->label, "expression", expr->valuestring, 0);
        return;
    }
    if (value) {
        if (d->index) {
            err(r, d->label, "", "use \"values\" for an indexed parameter",
                "\"value\" is for a scalar parameter but this one has an \"index\"");
            return;
        }
        if (cJSON_IsString(value)) {   /* a scalar given as an expression */
            d->expr = parse_field(r, d->label, "value", value->valuestring, 0);
            return;
        }
        if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) {
            err(r, d->label, "", "parameter values are numbers (there is no infinite value)",
                cJSON_IsNumber(value) ? "\"value\" is not a finite number%.0s"
                                      : "\"value\" expected a number, got %s", json_type(value));
            return;
        }
        d->values_json = value;
        return;
    }
    if (values || rows) {
        if (!d->index && values && cJSON_IsNumber(values)) { d->values_json = values; return; }
        if (!d->index) {
            err(r, d->label, "", "give an \"index\", or use \"value\"",
                "\"%s\" needs an \"index\"", values ? "values" : "rows");
            return;
        }
        d->values_json = values ? values : rows;
        d->values_are_rows = !!rows;
        return;
    }
    if (!d->has_default)
        err(r, d->label, "", "give \"value\", \"values\", \"rows\", \"expression\" or \"default\"",
            "missing data: the parameter has no value");
}

static void read_var(reader *r, int i, const cJSON *o)
{
    fm_decl *d = start_decl(r, K_VAR, "variables", i, o, NULL);
    if (!d) return;
    check_keys(r, o, d->label, var_keys);
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(o, "index");
    if (read_index(r, d, idx) != 0) return;
    const char *type = get_string(o, "type");
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (tj && !type) {
        err(r, d->label, "", "", "\"type\" expected a string, got %s", json_type(tj));
        return;
    }
    if (!type || !strcmp(type, "continuous")) d->var_type = 0;
    else if (!strcmp(type, "integer")) d->var_type = 1;
    else if (!strcmp(type, "binary")) d->var_type = 2;
    else {
        err(r, d->label, "", "use continuous, integer or binary",
            "unknown variable type \"%.40s\"", type);
        return;
    }
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(o, "lower");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(o, "upper");
    d->lower_is_num = 1; d->lower_num = 0;
    if (lo && cJSON_IsNull(lo)) { d->lower_free = 1; d->lower_is_num = 0; }
    else if (lo && read_num_or_expr(r, d, "lower", lo, &d->lower, &d->lower_num, &d->lower_is_num) != 0)
        return;
    if (hi && !cJSON_IsNull(hi)) {
        d->upper_set = 1;
        if (read_num_or_expr(r, d, "upper", hi, &d->upper, &d->upper_num, &d->upper_is_num) != 0)
            return;
    }
    if (d->var_type == 2 && ((lo && !cJSON_IsNull(lo)) || d->upper_set))
        warn(r, d->label, "bounds of a binary variable are ignored (it is 0 or 1)");
}

static void read_objective(reader *r, const cJSON *o)
{
    if (!cJSON_IsObject(o)) {
        err(r, "model", "", "", "\"objective\" expected an object, got %s", json_type(o));
        return;
    }
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    const char *name = cJSON_IsString(nm) ? nm->valuestring : "objective";
    if (nm && !cJSON_IsString(nm)) {
        err(r, "objective", "", "", "\"name\" expected a string, got %s", json_type(nm));
        return;
    }
    char shown[80];
    snprintf(shown, sizeof shown, "%.60s", name);
    fm_decl *d = add_decl(r, K_OBJ, "objective", -1, shown);
    if (!d) return;
    r->m->objective = d;
    if (nm) {
        if (!check_name(r, d->label, name, "objective")) return;
        free(d->name);
        d->name = strdup(name);
    }
    if (!d->name) { err(r, d->label, "", "", "out of memory"); return; }
    fm_decl *prev = register_name(r, d);
    if (prev)
        err(r, d->label, "", nm ? "names are unique across sets, parameters, variables, constraints and the objective"
                                : "give the objective a \"name\"",
            "duplicate name '%s': already used by %s", name, prev->label);
    set_description(d, o);
    check_keys(r, o, d->label, obj_keys);
    const char *sense = get_string(o, "sense");
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(o, "sense");
    if (sj && !sense) {
        err(r, d->label, "", "\"sense\": \"maximize\" or \"minimize\"",
            "\"sense\" expected a string, got %s", json_type(sj));
        return;
    }
    if (!sense) {
        err(r, d->label, "", "\"sense\": \"maximize\" or \"minimize\"", "missing \"sense\"");
        return;
    }
    if (!strcmp(sense, "maximize") || !strcmp(sense, "max")) d->maximize = 1;
    else if (!strcmp(sense, "minimize") || !strcmp(sense, "min")) d->maximize = 0;
    else {
        err(r, d->label, "", "use maximize or minimize", "unknown sense \"%.40s\"", sense);
        return;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "expression");
    if (!cJSON_IsString(e)) {
        err(r, d->label, "", "", e ? "\"expression\" expected a string, got %s"
                                   : "missing \"expression\"%.0s", json_type(e));
        return;
    }
    d->expr = parse_field(r, d->label, "expression", e->valuestring, 0);
}

static void read_constraint(reader *r, int i, const cJSON *o)
{
    char def[32];
    snprintf(def, sizeof def, "c%d", i + 1);
    fm_decl *d = start_decl(r, K_CON, "constraints", i, o, def);
    if (!d) return;
    check_keys(r, o, d->label, con_keys);
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(o, "index");
    if (read_index(r, d, idx) != 0) return;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "expression");
    if (!cJSON_IsString(e)) {
        err(r, d->label, "", "", e ? "\"expression\" expected a string, got %s"
                                   : "missing \"expression\"%.0s", json_type(e));
        return;
    }
    d->expr = parse_field(r, d->label, "expression", e->valuestring, 1);
    if (d->expr && (d->expr->op == C_LT || d->expr->op == C_GT || d->expr->num))
        warn(r, d->label, "strict relation < or > read as <= or >=");
}

static void read_report(reader *r, int i, const cJSON *o)
{
    fm_decl *d = start_decl(r, K_REPORT, "report", i, o, NULL);
    if (!d) return;
    check_keys(r, o, d->label, rep_keys);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "expression");
    if (!cJSON_IsString(e)) {
        err(r, d->label, "", "", e ? "\"expression\" expected a string, got %s"
                                   : "missing \"expression\"%.0s", json_type(e));
        return;
    }
    d->expr = parse_field(r, d->label, "expression", e->valuestring, 0);
    if (!d->name) return;
    int rc = fm_strmap_put(&r->m->report_names, d->name, (int)r->m->nreports, NULL);
    if (rc < 0) { err(r, d->label, "", "", "out of memory"); return; }
    if (rc == 0)
        err(r, d->label, "", "report names are the keys of the result", "duplicate report name '%s'", d->name);
    fm_model *m = r->m;
    if (m->nreports == m->reports_cap) {
        size_t cap = m->reports_cap ? m->reports_cap * 2 : 8;
        fm_decl **v = realloc(m->reports, cap * sizeof *v);
        if (!v) { err(r, d->label, "", "", "out of memory"); return; }
        m->reports = v;
        m->reports_cap = cap;
    }
    m->reports[m->nreports++] = d;
}

static const cJSON *get_array(reader *r, const cJSON *root, const char *key, int required)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!a || cJSON_IsNull(a)) {
        if (required)
            err(r, "model", "", "a formulation has sets, parameters, variables, objective and constraints",
                "missing \"%s\"", key);
        return NULL;
    }
    if (!cJSON_IsArray(a)) {
        err(r, "model", "", "", "\"%s\" expected an array, got %s", key, json_type(a));
        return NULL;
    }
    return a;
}

/* ---- resolution ---- */

/* The declarations a set or parameter uses (indices into decls; repeats are
 * harmless). A list, not a bitmap over all declarations, so memory and the
 * ordering stay linear in the size of the model. */
typedef struct { int *v; size_t n, cap; int nomem; } fm_deps;

typedef struct {
    reader *r;
    fm_decl *d;
    const char *field;
    char **names;          /* scope stack of dummy names */
    int depth, max_depth;
    int allow_vars;        /* objective, constraints, reports */
    int in_cond;           /* inside a condition, subscript or set expression */
    fm_deps *deps;         /* sets/params: the declarations it uses */
} resolver;

static void rerr(resolver *v, int pos, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void rerr(resolver *v, int pos, const char *hint, const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err(v->r, v->d->label, "", hint, "in \"%s\" at column %d: %s", v->field, pos + 1, buf);
}

static int scope_find(resolver *v, const char *name)
{
    for (int i = v->depth - 1; i >= 0; i--)
        if (v->names[i] && !strcmp(v->names[i], name)) return i;
    return -1;
}

static int scope_push(resolver *v, const char *name)
{
    if (v->depth >= 4096) return -1;
    char **nn = realloc(v->names, (v->depth + 1) * sizeof *nn);
    if (!nn) return -1;
    v->names = nn;
    v->names[v->depth] = (char *)name;
    v->depth++;
    if (v->depth > v->max_depth) v->max_depth = v->depth;
    return v->depth - 1;
}

static void resolve_node(resolver *v, fm_node *n);
static void resolve_indexing(resolver *v, fm_indexing *x);
static int set_dimen_of(resolver *v, fm_node *s);

static void note_dep(resolver *v, fm_decl *target)
{
    fm_deps *l = v->deps;
    if (!l || (l->n && l->v[l->n - 1] == target->pos)) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        int *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) { l->nomem = 1; return; }
        l->v = nv; l->cap = cap;
    }
    l->v[l->n++] = target->pos;
}

/* Resolves a set expression; returns its dimension (0 on error). */
static int resolve_set(resolver *v, fm_node *s)
{
    int saved = v->in_cond;
    v->in_cond = 1;
    int dim = 0;
    if (s->kind == N_SETNAME) {
        fm_decl *t = find_decl(v->r->m, s->str);
        if (scope_find(v, s->str) >= 0)
            rerr(v, s->pos, "", "expected a set but '%s' is a dummy index", s->str);
        else if (!t)
            rerr(v, s->pos, "declare it in \"sets\"", "undeclared set '%s'", s->str);
        else if (t->kind != K_SET)
            rerr(v, s->pos, "", "expected a set but '%s' is a %s", s->str, kind_word(t->kind));
        else {
            s->id = decl_index(v->r->m, t);
            note_dep(v, t);
            dim = t->set_dimen;
        }
    } else if (s->kind == S_RANGE) {
        for (int k = 0; k < 3; k++) resolve_node(v, s->kids[k]);
        dim = 1;
    } else if (s->kind == S_LIST) {
        for (int k = 0; k < s->nkids; k++) {
            fm_node *e = s->kids[k];
            int kd = e->kind == N_TUPLE ? e->nkids : 1;
            if (k == 0) dim = kd;
            else if (kd != dim) {
                rerr(v, e->pos, "", "elements of a literal set must all have %d components", dim);
                dim = 0;
                break;
            }
            if (e->kind == N_TUPLE) for (int c = 0; c < e->nkids; c++) resolve_node(v, e->kids[c]);
            else resolve_node(v, e);
        }
        if (!s->nkids) dim = 1;
    } else if (s->kind == S_INDEXING) {
        int base = v->depth;
        resolve_indexing(v, s->idx);
        dim = 0;
        for (int k = 0; k < s->idx->n; k++) dim += s->idx->entries[k].ncomp;
        v->depth = base;
    }
    v->in_cond = saved;
    return dim;
}

static int set_dimen_of(resolver *v, fm_node *s) { return resolve_set(v, s); }

static void resolve_indexing(resolver *v, fm_indexing *x)
{
    x->ndummies = 0;
    for (int i = 0; i < x->n; i++) {
        fm_idx_entry *e = &x->entries[i];
        int dim = set_dimen_of(v, e->set);
        if (!dim) continue;
        if (e->ncomp == 0) {   /* anonymous: one slot per component */
            e->ncomp = dim;
            e->names = calloc(dim, sizeof *e->names);
            e->slots = malloc(dim * sizeof *e->slots);
            e->filters = calloc(dim, sizeof *e->filters);
            if (!e->names || !e->slots || !e->filters) { e->ncomp = 0; continue; }
            for (int c = 0; c < dim; c++) {
                e->slots[c] = scope_push(v, NULL);
                x->ndummies++;
            }
            continue;
        }
        if (e->ncomp != dim) {
            rerr(v, e->pos, "", "the indexing names %d component%s but its set has %d",
                 e->ncomp, e->ncomp == 1 ? "" : "s", dim);
            continue;
        }
        /* Filters see only outer dummies; new dummies are pushed after. */
        int saved = v->in_cond;
        v->in_cond = 1;
        for (int c = 0; c < e->ncomp; c++) {
            if (e->names[c]) {
                int slot = scope_find(v, e->names[c]);
                if (slot >= 0 && e->ncomp == 1) {
                    rerr(v, e->pos, "use another name for the inner dummy",
                         "duplicate dummy '%s': it is already in scope", e->names[c]);
                } else if (slot >= 0) {
                    /* A bound tuple component filters. */
                    e->filters[c]->kind = N_DUMMY;
                    e->filters[c]->id = slot;
                } else if (find_decl(v->r->m, e->names[c])) {
                    fm_decl *t = find_decl(v->r->m, e->names[c]);
                    rerr(v, e->pos, "use another name for the dummy",
                         "dummy '%s' has the name of %s", e->names[c], t->label);
                } else {
                    fm_node_free(e->filters[c]);
                    e->filters[c] = NULL;
                }
            } else {
                resolve_node(v, e->filters[c]);
            }
        }
        v->in_cond = saved;
        for (int c = 0; c < e->ncomp; c++) {
            if (e->names[c] && !e->filters[c]) {
                for (int q = 0; q < c; q++)
                    if (e->names[q] && !e->filters[q] && !strcmp(e->names[q], e->names[c]))
                        rerr(v, e->pos, "", "duplicate dummy '%s' in one tuple", e->names[c]);
                e->slots[c] = scope_push(v, e->names[c]);
                x->ndummies++;
            } else e->slots[c] = -1;
        }
    }
    if (x->cond) {
        int saved = v->in_cond;
        v->in_cond = 1;
        resolve_node(v, x->cond);
        v->in_cond = saved;
    }
}

/* A name: a dummy, or a reference to a parameter or variable. */
static void resolve_name(resolver *v, fm_node *n)
{
    int slot = scope_find(v, n->str);
    if (slot >= 0) {
        if (n->nkids)
            rerr(v, n->pos, "", "'%s' is a dummy index and takes no subscripts", n->str);
        n->kind = N_DUMMY; n->id = slot;
        return;
    }
    fm_decl *t = find_decl(v->r->m, n->str);
    if (!t) {
        if (!strcmp(n->str, "Infinity"))
            rerr(v, n->pos, "there is no infinite value: leave the bound null, or drop the constraint",
                 "undeclared name 'Infinity'");
        else
            rerr(v, n->pos, "declare it, or check its spelling and case",
                 "undeclared name '%s'", n->str);
        return;
    }
    int want = t->kind == K_PARAM || t->kind == K_VAR ? t->dimen : 0;
    if (t->kind == K_SET) {
        rerr(v, n->pos, "use card(S) for its size", "expected a number but '%s' is a set", n->str);
        return;
    }
    if (t->kind == K_CON || t->kind == K_OBJ) {
        rerr(v, n->pos, "", "'%s' is a %s and has no value in expressions", n->str,
             kind_word(t->kind));
        return;
    }
    if (n->nkids != want) {
        if (want == 0)
            rerr(v, n->pos, "", "'%s' is not indexed and takes no subscript, got %d", n->str, n->nkids);
        else
            rerr(v, n->pos, "", "'%s' takes %d subscript%s, got %d", n->str, want,
                 want == 1 ? "" : "s", n->nkids);
    }
    if (t->kind == K_VAR) {
        if (!v->allow_vars)
            rerr(v, n->pos, "a parameter may use only sets, parameters and its own dummies",
                 "%s refers to variable '%s'", kind_word(v->d->kind), n->str);
        else if (v->in_cond)
            rerr(v, n->pos, "conditions and subscripts may use only parameters and dummies",
                 "variable '%s' used in a condition or subscript", n->str);
        n->kind = N_VAR;
    } else {
        n->kind = N_PARAM;
        note_dep(v, t);
    }
    n->id = decl_index(v->r->m, t);
    int saved = v->in_cond;
    v->in_cond = 1;
    for (int k = 0; k < n->nkids; k++) resolve_node(v, n->kids[k]);
    v->in_cond = saved;
}

static void resolve_node(resolver *v, fm_node *n)
{
    if (!n) return;
    switch (n->kind) {
    case N_NAME:
        resolve_name(v, n);
        return;
    case N_ITER: {
        int base = v->depth;
        resolve_indexing(v, n->idx);
        resolve_node(v, n->kids[0]);
        v->depth = base;
        return;
    }
    case N_IF: {
        int saved = v->in_cond;
        v->in_cond = 1;
        resolve_node(v, n->kids[0]);
        v->in_cond = saved;
        resolve_node(v, n->kids[1]);
        resolve_node(v, n->kids[2]);
        return;
    }
    case N_CALL:
        if (n->op == F_CARD) { resolve_set(v, n->kids[0]); return; }
        break;
    case N_IN: {
        fm_node *a = n->kids[0];
        if (a->kind == N_TUPLE) for (int k = 0; k < a->nkids; k++) resolve_node(v, a->kids[k]);
        else resolve_node(v, a);
        int dim = resolve_set(v, n->kids[1]);
        int have = a->kind == N_TUPLE ? a->nkids : 1;
        if (dim && dim != have)
            rerr(v, n->pos, "", "membership test of %d component%s in a set of dimension %d",
                 have, have == 1 ? "" : "s", dim);
        return;
    }
    case N_FOLD:
        if (n->ops[1] != N_AND && n->ops[1] != N_OR) break;
        /* fall through */
    case N_CMP: case N_AND: case N_OR: case N_NOT:
        if (!v->in_cond && v->d->kind != K_CON) {
            rerr(v, n->pos, "", "a condition is not a number");
            return;
        }
        break;
    case N_TUPLE:
        rerr(v, n->pos, "", "a tuple (a, b) is only allowed before 'in'");
        return;
    case N_SETNAME: case S_RANGE: case S_LIST: case S_INDEXING:
        resolve_set(v, n);
        return;
    default:
        break;
    }
    for (int k = 0; k < n->nkids; k++) resolve_node(v, n->kids[k]);
}

/* Resolves everything a declaration holds. */
static void resolve_decl(reader *r, fm_decl *d, fm_deps *deps)
{
    resolver v = { .r = r, .d = d, .deps = deps };
    v.allow_vars = d->kind == K_OBJ || d->kind == K_CON || d->kind == K_REPORT;
    if (d->index) {
        v.field = "index";
        resolve_indexing(&v, d->index);
    }
    if (d->kind == K_SET) {
        v.field = "range";
        if (d->range_lo) { resolve_node(&v, d->range_lo); resolve_node(&v, d->range_hi);
                           resolve_node(&v, d->range_by); }
        if (d->from) {
            v.field = "from";
            resolve_indexing(&v, d->from);
            int dim = 0;
            for (int k = 0; k < d->from->n; k++) dim += d->from->entries[k].ncomp;
            d->set_dimen = dim;
        }
    }
    v.field = d->kind == K_CON ? "expression" : "expression";
    if (d->expr) {
        if (d->kind == K_CON) {
            for (int k = 0; k < d->expr->nkids; k++) resolve_node(&v, d->expr->kids[k]);
        } else resolve_node(&v, d->expr);
    }
    v.field = "lower";
    if (d->lower) resolve_node(&v, d->lower);
    v.field = "upper";
    if (d->upper) resolve_node(&v, d->upper);
    d->nslots = v.max_depth;
    free(v.names);
}

/* The number of subscripts of an indexed element, before full resolution. */
static int index_dimen(fm_model *m, fm_indexing *x)
{
    if (!x) return 0;
    int dim = 0;
    for (int i = 0; i < x->n; i++) {
        fm_idx_entry *e = &x->entries[i];
        if (e->ncomp) { dim += e->ncomp; continue; }
        fm_node *s = e->set;
        if (s->kind == N_SETNAME) {
            fm_decl *t = find_decl(m, s->str);
            dim += t && t->kind == K_SET ? t->set_dimen : 1;
        } else if (s->kind == S_LIST && s->nkids && s->kids[0]->kind == N_TUPLE) {
            dim += s->kids[0]->nkids;
        } else if (s->kind == S_INDEXING) {
            dim += index_dimen(m, s->idx);
        } else dim += 1;
    }
    return dim;
}

/* Orders sets and parameters so each comes after what it uses (depth first,
 * with an explicit stack: a chain of 100,000 parameters each using the one
 * before must not recurse 100,000 deep); a cycle is an error naming the
 * declaration where it closes. stack has room for ndecls entries. */
typedef struct { size_t i, next; } visit_frame;

static int visit(reader *r, size_t root, fm_deps *deps, visit_frame *stack,
                 size_t *order, size_t *norder)
{
    fm_decl **decls = r->m->decls;
    if (decls[root]->done) return 0;
    size_t top = 0;
    stack[top++] = (visit_frame){ root, 0 };
    decls[root]->visiting = 1;
    while (top) {
        visit_frame *f = &stack[top - 1];
        fm_deps *l = &deps[f->i];
        if (f->next == l->n) {
            decls[f->i]->visiting = 0;
            decls[f->i]->done = 1;
            order[(*norder)++] = f->i;
            top--;
            continue;
        }
        size_t j = (size_t)l->v[f->next++];
        fm_decl *t = decls[j];
        if (t->done) continue;
        if (t->visiting) {
            err(r, t->label, "", j == f->i ? "" : "define one of them without the other",
                "cycle: '%s' is defined in terms of itself", t->name);
            for (size_t k = 0; k < top; k++) decls[stack[k].i]->visiting = 0;
            return -1;
        }
        t->visiting = 1;
        stack[top++] = (visit_frame){ j, 0 };
    }
    return 0;
}

/* ---- public entry ---- */

const char *fm_model_name(const fm_model *m) { return m->name ? m->name : ""; }
fm_class fm_model_class(const fm_model *m) { return m->cls; }
const fm_program *fm_model_program(const fm_model *m) { return m->program; }
const fm_nlp *fm_model_nlp(const fm_model *m) { return m->nlp; }
size_t fm_model_report_count(const fm_model *m) { return m->nreports; }

/* ---- fm_model_parse, step by step ---- */

/* Byte-level checks of the text before cJSON sees it: size, NUL bytes,
 * UTF-8, and the escape \u0000 (cJSON would cut the string there). */
static fm_code check_json_text(reader *r, const char *json, size_t len)
{
    if (len > r->m->lim.max_json_bytes) {
        err(r, "json", "", "", "the json text is %zu bytes, over the limit of %zu",
            len, r->m->lim.max_json_bytes);
        return FM_ELIMIT;
    }
    int line, col;
    const char *nul = memchr(json, 0, len);
    if (nul) {
        line_col(json, (size_t)(nul - json), &line, &col);
        err(r, "json", "", "", "json syntax error: NUL byte at line %d, column %d", line, col);
        return FM_EJSON;
    }
    size_t bad = utf8_invalid_at((const unsigned char *)json, len);
    if (bad != (size_t)-1) {
        line_col(json, bad, &line, &col);
        err(r, "json", "", "JSON text must be UTF-8", "json syntax error: invalid UTF-8 at line %d, column %d", line, col);
        return FM_EJSON;
    }
    char where[512];
    size_t nul_esc = json_nul_escape_at(json, len, where, sizeof where);
    if (nul_esc != (size_t)-1) {
        line_col(json, nul_esc, &line, &col);
        err(r, "json", "", "remove the escape: no string of a formulation may contain NUL",
            "the escape \\u0000 (NUL) at line %d, column %d, in %s: NUL is not allowed in a string",
            line, col, where);
        return FM_EJSON;
    }
    return FM_OK;
}

/* Parses the text into *out under the per-thread memory budget (see the
 * header comment): one JSON value and nothing after it. */
static fm_code read_json_document(reader *r, const char *json, size_t len, cJSON **out)
{
    const char *end = NULL;
    size_t budget = len > (SIZE_MAX - (1u << 20)) / FM_JSON_BYTES_PER_INPUT_BYTE ? SIZE_MAX
                  : len * FM_JSON_BYTES_PER_INPUT_BYTE + (1u << 20);
    if (json_test_budget) budget = json_test_budget;
    json_mem.active = 1; json_mem.oom = 0; json_mem.left = budget;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    json_mem.active = 0;
    int line, col;
    if (json_mem.oom) {
        /* cJSON reports a failed allocation as a parse error: say what it was. */
        cJSON_Delete(doc);
        err(r, "json", "", "the machine (or its memory limit) has too little memory for this input",
            "out of memory while reading the JSON text (%zu bytes; reading may use up to %zu bytes)",
            len, budget);
        return FM_ENOMEM;
    }
    if (!doc) {
        /* cJSON sets end to the error position; its global error pointer is
         * shared between threads. */
        size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
        line_col(json, off, &line, &col);
        size_t k = 0;
        while (k < len && isspace((unsigned char)json[k])) k++;
        if (k == len)
            err(r, "json", "", "", "json syntax error: the input is empty");
        else
            err(r, "json", "", "check quotes, commas and brackets near there",
                "json syntax error at line %d, column %d", line, col);
        return FM_EJSON;
    }
    if (end) {
        while ((size_t)(end - json) < len && isspace((unsigned char)*end)) end++;
        if ((size_t)(end - json) < len) {
            line_col(json, (size_t)(end - json), &line, &col);
            err(r, "json", "", "send exactly one JSON object",
                "json syntax error: unexpected text after the object at line %d, column %d", line, col);
            cJSON_Delete(doc);
            return FM_EJSON;
        }
    }
    *out = doc;
    return FM_OK;
}

/* The document's top level: the object, its keys and "format", then every
 * declaration read in document order. */
static fm_code read_declarations(reader *r, const cJSON *doc)
{
    fm_model *m = r->m;
    if (!cJSON_IsObject(doc)) {
        err(r, "model", "", "a formulation is one JSON object {\"format\": 1, ...}",
            "expected a JSON object, got %s", json_type(doc));
        return FM_EJSON;
    }
    check_keys(r, doc, "model", top_keys);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    if (!fmt)
        warn(r, "model", "no \"format\": read as format 1");
    else if (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1) {
        if (cJSON_IsNumber(fmt))
            err(r, "model", "", "this version reads \"format\": 1",
                "unsupported \"format\" %g: expected 1", fmt->valuedouble);
        else
            err(r, "model", "", "this version reads \"format\": 1",
                "\"format\" expected the number 1, got %s", json_type(fmt));
        return FM_EINVALID;
    }
    const char *name = get_string(doc, "name");
    m->name = strdup(name ? name : "");

    const cJSON *sets = get_array(r, doc, "sets", 0);
    const cJSON *params = get_array(r, doc, "parameters", 0);
    const cJSON *vars = get_array(r, doc, "variables", 1);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "objective");
    const cJSON *cons = get_array(r, doc, "constraints", 1);
    const cJSON *rep = get_array(r, doc, "report", 0);
    if (!obj) err(r, "model", "", "add \"objective\": {\"sense\": ..., \"expression\": ...}",
                  "missing \"objective\"");
    const cJSON *it;
    int i = 0;
    if (sets) { i = 0; cJSON_ArrayForEach(it, sets) read_set(r, i++, it); }
    if (params) { i = 0; cJSON_ArrayForEach(it, params) read_param(r, i++, it); }
    if (vars) { i = 0; cJSON_ArrayForEach(it, vars) read_var(r, i++, it); }
    if (obj) read_objective(r, obj);
    if (cons) { i = 0; cJSON_ArrayForEach(it, cons) read_constraint(r, i++, it); }
    if (rep) { i = 0; cJSON_ArrayForEach(it, rep) read_report(r, i++, it); }
    if (vars && cJSON_GetArraySize(vars) == 0)
        warn(r, "model", "the model has no variables");
    return FM_OK;
}

/* Subscript counts of every declaration (resolution checks them). */
static void count_subscripts(reader *r)
{
    fm_model *m = r->m;
    for (size_t k = 0; k < m->ndecls; k++) {
        fm_decl *d = m->decls[k];
        d->dimen = index_dimen(m, d->index);
        if (d->dimen > FM_MAX_DIMEN) {
            err(r, d->label, "", "", "the index has %d components, over the limit of %d",
                d->dimen, FM_MAX_DIMEN);
            r->limit = 1;
        }
    }
}

/* Resolves every name, then orders sets and parameters by dependency into
 * m->order. FM_OK also when r->errors says resolution failed. */
static fm_code resolve_and_order(reader *r)
{
    fm_model *m = r->m;
    size_t nd = m->ndecls ? m->ndecls : 1;
    fm_deps *deps = calloc(nd, sizeof *deps);
    size_t *order = malloc(nd * sizeof *order);
    visit_frame *stack = NULL;
    fm_code code = FM_ENOMEM;
    if (!deps || !order) goto out;
    for (size_t k = 0; k < m->ndecls; k++) {
        fm_decl *d = m->decls[k];
        int data = d->kind == K_SET || d->kind == K_PARAM;
        resolve_decl(r, d, data ? &deps[k] : NULL);
        if (deps[k].nomem) goto out;
    }
    code = FM_OK;
    if (r->errors) goto out;
    stack = malloc(nd * sizeof *stack);
    if (!stack) { code = FM_ENOMEM; goto out; }
    size_t norder = 0;
    for (size_t k = 0; k < m->ndecls; k++) {
        fm_decl_kind kind = m->decls[k]->kind;
        if ((kind == K_SET || kind == K_PARAM) && visit(r, k, deps, stack, order, &norder) != 0)
            break;
    }
    if (r->errors) goto out;
    for (size_t k = 0; k < m->ndecls; k++) m->decls[k]->done = 0;
    m->order = order;
    m->norder = norder;
    order = NULL;
out:
    if (deps) for (size_t k = 0; k < m->ndecls; k++) free(deps[k].v);
    free(deps);
    free(stack);
    free(order);
    return code;
}

fm_model *fm_model_parse(const char *json, size_t len, const fm_limits *lim,
                         fm_diags *diags, fm_code *code)
{
    fm_code dummy;
    if (!code) code = &dummy;
    *code = FM_OK;
    fm_model *m = calloc(1, sizeof *m);
    if (!m) { *code = FM_ENOMEM; return NULL; }
    if (lim) m->lim = *lim; else fm_limits_default(&m->lim);
    reader rd = { .m = m, .d = diags }, *r = &rd;

    cJSON *doc = NULL;
    if ((*code = check_json_text(r, json, len)) != FM_OK ||
        (*code = read_json_document(r, json, len, &doc)) != FM_OK)
        return m;
    m->doc = doc;
    if ((*code = read_declarations(r, doc)) != FM_OK) goto out;
    if (r->errors) goto invalid;
    count_subscripts(r);
    if (r->errors) goto invalid;
    if ((*code = resolve_and_order(r)) != FM_OK) goto out;
    if (r->errors) goto invalid;
    *code = fm_compile(m, m->order, m->norder, diags);
    goto out;
invalid:
    *code = r->limit ? FM_ELIMIT : FM_EINVALID;
out:
    fm_model_drop_json(m);
    return m;
}
