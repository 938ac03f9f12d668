/* agent/eval/datasets — benchmark files -> problems with golds. The rules
 * (formats, detection, ids, golds, caps, error form) are in agent/eval/eval.h.
 *
 * JSON Lines are streamed: one line is read (capped), parsed with cJSON and
 * turned into a problem before the next. A JSON array is read whole (capped)
 * and parsed once. The line of an array element named in an error is found
 * only then, by scanning the text. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "agent/eval/eval.h"

/* Golds that mean "no answer" (LLMOPT). */
static const double SENTINELS[] = {-99999.0, 4.08e35};
#define SENTINEL_RELTOL 1e-6
#define MAX_NUMBER_TEXT 128

struct ag_ds {
    char *path;
    char *name;             /* file stem, shared by every problem */
    ag_ds_format format;
    int jsonl;
    ag_ds_problem *p;
    size_t n, cap;
    size_t *slots;          /* id set: index + 1, 0 = empty; power of two */
    size_t nslots;
};

/* Where the loader is, for error messages. */
typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    int jsonl;
    size_t line;            /* JSON Lines: the current line */
    size_t record;          /* 1-based record, 0 before the first */
    const char *text;       /* array: the text after the skipped prefix */
    size_t textlen;
    size_t line_base;       /* newlines skipped before text */
} loader;

/* ---- names ------------------------------------------------------------------- */

static const char *const FORMAT_NAMES[] = {
    "auto", "alphaopt", "llmopt", "optmath", "optibench", "plain",
};

const char *ag_ds_format_name(ag_ds_format f)
{
    if ((unsigned)f < sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0]) return FORMAT_NAMES[f];
    return "unknown";
}

int ag_ds_format_parse(const char *s, ag_ds_format *out)
{
    if (!s) return -1;
    for (size_t i = 0; i < sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0]; i++)
        if (!strcmp(s, FORMAT_NAMES[i])) {
            if (out) *out = (ag_ds_format)i;
            return 0;
        }
    return -1;
}

const char *ag_gold_kind_name(ag_gold_kind k)
{
    switch (k) {
    case AG_GOLD_NONE: return "none";
    case AG_GOLD_NUMBER: return "number";
    case AG_GOLD_NO_SOLUTION: return "no_solution";
    case AG_GOLD_QUANTITIES: return "quantities";
    }
    return "unknown";
}

/* ---- errors ------------------------------------------------------------------- */

/* The 1-based line where element k (1-based) of the array text starts. */
static size_t element_line(const loader *L, size_t k)
{
    const char *s = L->text;
    size_t line = L->line_base + 1, count = 0;
    int depth = 0, in_str = 0, esc = 0, expect = 0;
    for (size_t i = 0; i < L->textlen; i++) {
        char ch = s[i];
        if (ch == '\n') line++;
        if (in_str) {
            if (esc) esc = 0;
            else if (ch == '\\') esc = 1;
            else if (ch == '"') in_str = 0;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
        if (ch == ',') {
            if (depth == 1) expect = 1;
            continue;
        }
        if (ch == '}' || ch == ']') {
            depth--;
            continue;
        }
        if (depth == 1 && expect) {
            if (++count == k) return line;
            expect = 0;
        }
        if (ch == '"') in_str = 1;
        else if (ch == '{' || ch == '[') {
            depth++;
            if (depth == 1) expect = 1;
        }
    }
    return 0;
}

static void location(const loader *L, size_t record, size_t line, char *buf, size_t n)
{
    if (L->jsonl && line)
        snprintf(buf, n, "%s:%zu", L->path, line);
    else if (!L->jsonl && record) {
        size_t el = element_line(L, record);
        if (el) snprintf(buf, n, "%s: record %zu (line %zu)", L->path, record, el);
        else snprintf(buf, n, "%s: record %zu", L->path, record);
    } else if (line)
        snprintf(buf, n, "%s:%zu", L->path, line);
    else
        snprintf(buf, n, "%s", L->path);
}

/* Writes "LOCATION: field "F": MESSAGE" (field may be NULL). Returns -1. */
static int fail_at(const loader *L, size_t record, size_t line, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_at(const loader *L, size_t record, size_t line, const char *field,
                   const char *fmt, ...)
{
    if (!L->err || !L->errlen) return -1;
    char loc[4200], msg[1024];
    location(L, record, line, loc, sizeof loc);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (field) snprintf(L->err, L->errlen, "%s: field \"%s\": %s", loc, field, msg);
    else snprintf(L->err, L->errlen, "%s: %s", loc, msg);
    return -1;
}

#define FAIL(L, field, ...) fail_at((L), (L)->record, (L)->line, (field), __VA_ARGS__)

static const char *json_type(const cJSON *v)
{
    if (!v) return "missing";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an unknown value";
}

/* ---- values -------------------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* s[0..n) trimmed, as a strict decimal: [+-] digits [. digits] [eE [+-] digits],
 * at least one digit before the exponent. Returns 0 with a finite *out, or -1. */
static int parse_decimal(const char *s, size_t n, double *out)
{
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    if (n == 0 || n >= MAX_NUMBER_TEXT) return -1;
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && is_digit(s[i])) i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) i++, digits++;
    }
    if (!digits) return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        while (i < n && is_digit(s[i])) i++, e++;
        if (!e) return -1;
    }
    if (i != n) return -1;
    /* strtod follows the locale's decimal point (as cJSON does). */
    char buf[MAX_NUMBER_TEXT];
    const struct lconv *lc = localeconv();
    char point = lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0] : '.';
    for (size_t k = 0; k < n; k++) buf[k] = s[k] == '.' ? point : s[k];
    buf[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int is_sentinel(double x)
{
    for (size_t i = 0; i < sizeof SENTINELS / sizeof SENTINELS[0]; i++)
        if (fabs(x - SENTINELS[i]) <= SENTINEL_RELTOL * fabs(SENTINELS[i])) return 1;
    return 0;
}

static int equals_nocase(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w) return 0;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = word[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

/* The gold answer in v (the value of key, may be NULL). */
static int parse_gold(const loader *L, const cJSON *v, const char *key, ag_ds_problem *p)
{
    p->gold_kind = AG_GOLD_NONE;
    p->gold = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (!isfinite(x)) return FAIL(L, key, "the number is out of range");
        if (!is_sentinel(x)) {
            p->gold_kind = AG_GOLD_NUMBER;
            p->gold = x;
        }
        return 0;
    }
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        const char *t = s;
        size_t tn = n;
        while (tn && is_space(*t)) t++, tn--;
        while (tn && is_space(t[tn - 1])) tn--;
        if (equals_nocase(t, tn, "no best solution")) {
            p->gold_kind = AG_GOLD_NO_SOLUTION;
            return 0;
        }
        double x;
        if (parse_decimal(s, n, &x) < 0)
            return FAIL(L, key, "the string \"%.80s\" is neither a number nor \"No Best Solution\"", s);
        if (!is_sentinel(x)) {
            p->gold_kind = AG_GOLD_NUMBER;
            p->gold = x;
        }
        return 0;
    }
    return FAIL(L, key, "%s is not a gold answer (expected a number, a numeric string, "
                "\"No Best Solution\" or null)", json_type(v));
}

static int make_id(const loader *L, const cJSON *v, const char *key, int required, char **out)
{
    char buf[64];
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required) return FAIL(L, key, "missing (every record needs an id)");
        snprintf(buf, sizeof buf, "%zu", L->record);
        *out = strdup(buf);
    } else if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (!isfinite(x)) return FAIL(L, key, "the number is out of range");
        if (x == 0) snprintf(buf, sizeof buf, "0");
        else if (x == floor(x) && fabs(x) < 1e15) snprintf(buf, sizeof buf, "%.0f", x);
        else snprintf(buf, sizeof buf, "%.17g", x);
        *out = strdup(buf);
    } else if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        if (n == 0) return FAIL(L, key, "the id is empty");
        if (n > AG_DS_MAX_ID_BYTES)
            return FAIL(L, key, "the id is longer than %u bytes", AG_DS_MAX_ID_BYTES);
        *out = strdup(v->valuestring);
    } else
        return FAIL(L, key, "an id must be a string or a number, not %s", json_type(v));
    if (!*out) return FAIL(L, key, "out of memory");
    return 0;
}

static int get_question(const loader *L, const cJSON *v, const char *key, char **out)
{
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return FAIL(L, key, "missing (every record needs a question)");
    if (!cJSON_IsString(v)) return FAIL(L, key, "must be a string, not %s", json_type(v));
    const char *s = v->valuestring;
    size_t n = strlen(s), i = 0;
    while (i < n && is_space(s[i])) i++;
    if (i == n) return FAIL(L, key, "the question is empty");
    if (n > AG_DS_MAX_QUESTION)
        return FAIL(L, key, "the question is %zu bytes, more than the limit of %zu", n,
                    AG_DS_MAX_QUESTION);
    *out = strdup(s);
    if (!*out) return FAIL(L, key, "out of memory");
    return 0;
}

/* 1 when name holds an ASCII letter or digit (a query is asked for by name,
 * and names are compared on those alone). */
static int has_alnum(const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if ((*c >= '0' && *c <= '9') || ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z')) return 1;
    return 0;
}

/* The quantities of object v (field "results" or "queries") into p, in
 * order; names_required: a name without a letter or digit is an error. */
static int get_quantities(const loader *L, const cJSON *v, const char *field, int names_required,
                          ag_ds_problem *p)
{
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v))
        return FAIL(L, field, "must be an object of name -> numeric string, not %s",
                    json_type(v));
    size_t count = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, v) count++;
    if (count == 0) return 0;
    if (count > AG_DS_MAX_QUANTITIES)
        return FAIL(L, field, "%zu entries, more than the limit of %u", count,
                    AG_DS_MAX_QUANTITIES);
    p->quantities = calloc(count, sizeof *p->quantities);
    if (!p->quantities) return FAIL(L, field, "out of memory");
    cJSON_ArrayForEach(c, v) {
        const char *name = c->string ? c->string : "";
        double x;
        if (names_required && !has_alnum(name))
            return FAIL(L, field, "key \"%.200s\": a query name needs a letter or digit", name);
        /* a longer name is never put in a prompt (agent/core), so it could
         * only be missed */
        if (strlen(name) > AG_MAX_QUERY_NAME)
            return FAIL(L, field, "key \"%.60s...\" is %zu bytes, more than the limit of %d for a "
                        "quantity's name", name, strlen(name), AG_MAX_QUERY_NAME);
        /* JSON leaves duplicate keys undefined (Python keeps the last, cJSON
         * both): a quantity asked twice with two golds is refused */
        for (size_t k = 0; k < p->nquantities; k++)
            if (!strcmp(p->quantities[k].name, name))
                return FAIL(L, field, "key \"%.200s\" appears twice", name);
        if (cJSON_IsString(c)) {
            if (parse_decimal(c->valuestring, strlen(c->valuestring), &x) < 0)
                return FAIL(L, field, "key \"%.200s\": \"%.80s\" is not a number", name,
                            c->valuestring);
        } else if (cJSON_IsNumber(c) && isfinite(c->valuedouble))
            x = c->valuedouble;
        else
            return FAIL(L, field, "key \"%.200s\": %s is not a number", name, json_type(c));
        ag_ds_quantity *q = &p->quantities[p->nquantities];
        q->name = strdup(name);
        if (!q->name) return FAIL(L, field, "out of memory");
        q->value = x;
        p->nquantities++;
    }
    return 0;
}

/* OptiBench "results": the quantities, and the last as the gold. */
static int get_results(const loader *L, const cJSON *v, ag_ds_problem *p)
{
    p->gold_kind = AG_GOLD_NONE;
    p->gold = 0;
    if (get_quantities(L, v, "results", 0, p) < 0) return -1;
    if (!p->nquantities) return 0;
    p->gold_kind = AG_GOLD_NUMBER;
    p->gold = p->quantities[p->nquantities - 1].value;
    return 0;
}

/* ---- formats -------------------------------------------------------------------- */

typedef struct {
    const char *question, *answer, *id;
    int id_required;
} format_keys;

static format_keys keys_of(ag_ds_format f)
{
    switch (f) {
    case AG_DS_ALPHAOPT: return (format_keys){"description", "ground_truth", "task_id", 1};
    case AG_DS_LLMOPT: return (format_keys){"question", "answer", "index", 0};
    case AG_DS_OPTMATH: return (format_keys){"en_question", "en_answer", "id", 0};
    case AG_DS_OPTIBENCH: return (format_keys){"question", NULL, "index", 0};
    case AG_DS_PLAIN: return (format_keys){"question", "answer", "id", 1};
    case AG_DS_AUTO: break;
    }
    return (format_keys){"question", "answer", "id", 1};
}

static int has(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

static ag_ds_format detect(const cJSON *o)
{
    if (has(o, "results")) return AG_DS_OPTIBENCH;
    if (has(o, "en_question") || has(o, "en_answer")) return AG_DS_OPTMATH;
    if (has(o, "task_id") || has(o, "ground_truth") || (has(o, "description") && !has(o, "question")))
        return AG_DS_ALPHAOPT;
    if (has(o, "question")) {
        if (has(o, "index") || has(o, "ori")) return AG_DS_LLMOPT;
        if (has(o, "id")) return AG_DS_PLAIN;
        if (has(o, "answer")) return AG_DS_LLMOPT;
    }
    return AG_DS_AUTO;
}

static void problem_clear(ag_ds_problem *p)
{
    free(p->id);
    free(p->question);
    free(p->type);
    for (size_t i = 0; i < p->nquantities; i++) free(p->quantities[i].name);
    free(p->quantities);
    memset(p, 0, sizeof *p);
}

/* ---- the id set ---------------------------------------------------------------- */

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static int slots_grow(ag_ds *ds)
{
    size_t n = ds->nslots ? ds->nslots * 2 : 1024;
    size_t *s = calloc(n, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < ds->nslots; i++) {
        if (!ds->slots[i]) continue;
        size_t h = hash_str(ds->p[ds->slots[i] - 1].id) & (n - 1);
        while (s[h]) h = (h + 1) & (n - 1);
        s[h] = ds->slots[i];
    }
    free(ds->slots);
    ds->slots = s;
    ds->nslots = n;
    return 0;
}

/* Adds problem idx to the set. Returns 0, 1 with *other when its id is taken,
 * or -1 when out of memory. */
static int id_insert(ag_ds *ds, size_t idx, size_t *other)
{
    if ((idx + 1) * 2 > ds->nslots && slots_grow(ds) < 0) return -1;
    const char *id = ds->p[idx].id;
    size_t h = hash_str(id) & (ds->nslots - 1);
    while (ds->slots[h]) {
        if (!strcmp(ds->p[ds->slots[h] - 1].id, id)) {
            *other = ds->slots[h] - 1;
            return 1;
        }
        h = (h + 1) & (ds->nslots - 1);
    }
    ds->slots[h] = idx + 1;
    return 0;
}

/* ---- one record ------------------------------------------------------------------ */

static int unknown_shape(const loader *L, const cJSON *o)
{
    char keys[512] = "";
    size_t len = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, o) {
        int w = snprintf(keys + len, sizeof keys - len, "%s%s", len ? ", " : "",
                         c->string ? c->string : "");
        if (w < 0 || (size_t)w >= sizeof keys - len) {
            len = sizeof keys - 1;
            break;
        }
        len += (size_t)w;
    }
    return FAIL(L, NULL,
                "unknown record shape (keys: %s); expected alphaopt (task_id, description, "
                "ground_truth), llmopt (question, answer, index), optmath (en_question, "
                "en_answer), optibench (question, results) or plain (id, question, answer)",
                len ? keys : "none");
}

static int add_record(ag_ds *ds, loader *L, const cJSON *o)
{
    if (!cJSON_IsObject(o)) return FAIL(L, NULL, "the record is %s, not a JSON object", json_type(o));
    if (ds->format == AG_DS_AUTO) {
        ds->format = detect(o);
        if (ds->format == AG_DS_AUTO) return unknown_shape(L, o);
    }
    if (ds->n >= AG_DS_MAX_RECORDS)
        return FAIL(L, NULL, "more than %u records", AG_DS_MAX_RECORDS);
    if (ds->n == ds->cap) {
        size_t nc = ds->cap ? ds->cap * 2 : 64;
        ag_ds_problem *np = realloc(ds->p, nc * sizeof *np);
        if (!np) return FAIL(L, NULL, "out of memory");
        ds->p = np;
        ds->cap = nc;
    }
    ag_ds_problem *p = &ds->p[ds->n];
    memset(p, 0, sizeof *p);
    format_keys k = keys_of(ds->format);
    if (get_question(L, cJSON_GetObjectItemCaseSensitive(o, k.question), k.question, &p->question) < 0)
        goto fail;
    if (make_id(L, cJSON_GetObjectItemCaseSensitive(o, k.id), k.id, k.id_required, &p->id) < 0)
        goto fail;
    if (ds->format == AG_DS_OPTIBENCH) {
        if (get_results(L, cJSON_GetObjectItemCaseSensitive(o, "results"), p) < 0) goto fail;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (t && !cJSON_IsNull(t)) {
            if (!cJSON_IsString(t)) {
                FAIL(L, "type", "must be a string, not %s", json_type(t));
                goto fail;
            }
            p->type = strdup(t->valuestring);
            if (!p->type) {
                FAIL(L, "type", "out of memory");
                goto fail;
            }
        }
    } else {
        if (parse_gold(L, cJSON_GetObjectItemCaseSensitive(o, k.answer), k.answer, p) < 0) goto fail;
        if (ds->format == AG_DS_PLAIN &&
            get_quantities(L, cJSON_GetObjectItemCaseSensitive(o, "queries"), "queries", 1, p) < 0)
            goto fail;
    }
    p->dataset = ds->name;
    p->record = L->jsonl ? L->line : L->record;
    size_t other = 0;
    int r = id_insert(ds, ds->n, &other);
    if (r < 0) {
        FAIL(L, NULL, "out of memory");
        goto fail;
    }
    if (r > 0) {
        const ag_ds_problem *q = &ds->p[other];
        if (L->jsonl)
            FAIL(L, k.id, "duplicate id \"%s\" (also line %zu)", p->id, q->record);
        else {
            size_t ql = element_line(L, q->record);
            FAIL(L, k.id, "duplicate id \"%s\" (also record %zu, line %zu)", p->id, q->record, ql);
        }
        goto fail;
    }
    ds->n++;
    return 0;
fail:
    problem_clear(p);
    return -1;
}

/* ---- containers ------------------------------------------------------------------ */

/* Reads one line (without its '\n') into *buf. Returns 1, 0 at the end, -1
 * when the line is too long, -2 on a read error or no memory, -3 when the
 * file passes the size limit. */
static int read_line(FILE *f, char **buf, size_t *cap, size_t *len, size_t *total)
{
    size_t n = 0;
    int ch, any = 0;
    while ((ch = getc_unlocked(f)) != EOF) {
        any = 1;
        if (++*total > AG_DS_MAX_FILE_BYTES) return -3;
        if (ch == '\n') break;
        if (n + 1 >= *cap) {
            if (n >= AG_DS_MAX_LINE_BYTES) return -1;
            size_t nc = *cap ? *cap * 2 : 1 << 16;
            if (nc > AG_DS_MAX_LINE_BYTES + 1) nc = AG_DS_MAX_LINE_BYTES + 1;
            char *nb = realloc(*buf, nc);
            if (!nb) return -2;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)ch;
    }
    if (ferror(f)) return -2;
    if (!any) return 0;
    (*buf)[n] = 0;
    *len = n;
    return 1;
}

static int load_jsonl(ag_ds *ds, loader *L, FILE *f, size_t total)
{
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = -1;
    for (;;) {
        int r = read_line(f, &buf, &cap, &len, &total);
        if (r == 0) break;
        L->line++;
        if (r == -1) {
            fail_at(L, 0, L->line, NULL, "the line is longer than the limit of %zu bytes",
                    AG_DS_MAX_LINE_BYTES);
            goto out;
        }
        if (r == -3) {
            fail_at(L, 0, 0, NULL, "larger than the limit of %zu bytes", AG_DS_MAX_FILE_BYTES);
            goto out;
        }
        if (r < 0) {
            fail_at(L, 0, L->line, NULL, "read error: %s", errno ? strerror(errno) : "unknown");
            goto out;
        }
        while (len && is_space(buf[len - 1])) len--;
        size_t start = 0;
        while (start < len && is_space(buf[start])) start++;
        if (start == len) continue;
        L->record++;
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(buf + start, len - start, &end, 0);
        if (!o) {
            size_t col = end && end >= buf + start && end < buf + len ? (size_t)(end - buf) + 1 : len;
            if (col >= len)
                fail_at(L, 0, L->line, NULL, "bad JSON at column %zu, the end of the line "
                        "(JSON Lines hold one whole object per line)", col);
            else
                fail_at(L, 0, L->line, NULL, "bad JSON at column %zu", col);
            goto out;
        }
        if (end && end < buf + len) {
            fail_at(L, 0, L->line, NULL, "bad JSON: text after the value at column %zu",
                    (size_t)(end - buf) + 1);
            cJSON_Delete(o);
            goto out;
        }
        int ar = add_record(ds, L, o);
        cJSON_Delete(o);
        if (ar < 0) goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

static int load_array(ag_ds *ds, loader *L, FILE *f, size_t total, size_t size_hint)
{
    size_t cap = size_hint > total && size_hint - total < AG_DS_MAX_FILE_BYTES
                 ? size_hint - total + 1 : 1 << 16, n = 0;
    char *text = malloc(cap + 1);
    cJSON *root = NULL;
    int rc = -1;
    if (!text) {
        fail_at(L, 0, 0, NULL, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= AG_DS_MAX_FILE_BYTES) {
                if (getc_unlocked(f) == EOF) break;    /* exactly at the limit */
                fail_at(L, 0, 0, NULL, "larger than the limit of %zu bytes", AG_DS_MAX_FILE_BYTES);
                goto out;
            }
            size_t nc = cap * 2 > AG_DS_MAX_FILE_BYTES ? AG_DS_MAX_FILE_BYTES : cap * 2;
            char *nt = realloc(text, nc + 1);
            if (!nt) {
                fail_at(L, 0, 0, NULL, "out of memory");
                goto out;
            }
            text = nt;
            cap = nc;
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (n + total > AG_DS_MAX_FILE_BYTES) {
        fail_at(L, 0, 0, NULL, "larger than the limit of %zu bytes", AG_DS_MAX_FILE_BYTES);
        goto out;
    }
    if (ferror(f)) {
        fail_at(L, 0, 0, NULL, "read error");
        goto out;
    }
    text[n] = 0;
    L->text = text;
    L->textlen = n;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root) {
        size_t line = L->line_base + 1;
        const char *stop = end && end >= text && end < text + n ? end : text + n;
        for (const char *s = text; s < stop; s++) line += *s == '\n';
        int at_end = 1;
        for (const char *s = stop + (stop < text + n); s < text + n; s++)
            if (!is_space(*s)) at_end = 0;
        fail_at(L, 0, line, NULL, "bad JSON in the array%s",
                at_end ? " (the file ends before the closing ']')" : "");
        goto out;
    }
    for (const char *s = end ? end : text + n; s < text + n; s++)
        if (!is_space(*s)) {
            size_t line = L->line_base + 1;
            for (const char *t = text; t < s; t++) line += *t == '\n';
            fail_at(L, 0, line, NULL, "bad JSON: text after the closing ']'");
            goto out;
        }
    /* Each element is freed once read: the tree shrinks as the problems grow. */
    cJSON *o;
    while ((o = root->child)) {
        L->record++;
        if (add_record(ds, L, o) < 0) goto out;
        cJSON_Delete(cJSON_DetachItemViaPointer(root, o));
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    L->text = NULL;
    L->textlen = 0;
    return rc;
}

/* ---- the file --------------------------------------------------------------------- */

static char *stem_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b) n = (size_t)(dot - b);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, b, n);
    s[n] = 0;
    return s;
}

/* Opens path for reading: not a directory, not over the size limit.
 * *size_hint is its size when it is a regular file, else 0. NULL on error
 * (reported in L). */
static FILE *open_input(loader *L, const char *path, size_t *size_hint)
{
    FILE *f = fopen(path, "rb");
    *size_hint = 0;
    if (!f) {
        fail_at(L, 0, 0, NULL, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fail_at(L, 0, 0, NULL, "is a directory");
            goto fail;
        }
        if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > AG_DS_MAX_FILE_BYTES) {
            fail_at(L, 0, 0, NULL, "%jd bytes, larger than the limit of %zu bytes",
                    (intmax_t)st.st_size, AG_DS_MAX_FILE_BYTES);
            goto fail;
        }
        if (S_ISREG(st.st_mode)) *size_hint = (size_t)st.st_size;
    }
    return f;
fail:
    fclose(f);
    return NULL;
}

/* Skips an optional UTF-8 BOM and white space, counting the bytes (*total)
 * and newlines skipped. Returns the first significant character, '[' or
 * '{', left unread in f; -1 on anything else (reported in L). */
static int container_start(loader *L, FILE *f, size_t *total, size_t *newlines)
{
    int c = getc_unlocked(f);
    if (c == 0xEF) {
        int c2 = getc_unlocked(f), c3 = c2 == 0xBB ? getc_unlocked(f) : EOF;
        if (c2 != 0xBB || c3 != 0xBF) {
            fail_at(L, 0, 1, NULL, "expected a JSON array or JSON Lines, found byte 0xEF");
            return -1;
        }
        *total += 3;
        c = getc_unlocked(f);
    }
    while (c != EOF && is_space((char)c)) {
        (*total)++;
        if (c == '\n') (*newlines)++;
        c = getc_unlocked(f);
    }
    if (ferror(f)) {
        fail_at(L, 0, 0, NULL, "read error: %s", strerror(errno));
        return -1;
    }
    if (c == EOF) {
        fail_at(L, 0, 0, NULL, "empty file (no records)");
        return -1;
    }
    if (c != '[' && c != '{') {
        if (c >= 0x20 && c < 0x7f)
            fail_at(L, 0, *newlines + 1, NULL, "expected a JSON array ('[') or JSON Lines "
                    "(one '{...}' object per line), found '%c'", c);
        else
            fail_at(L, 0, *newlines + 1, NULL, "expected a JSON array ('[') or JSON Lines "
                    "(one '{...}' object per line), found byte 0x%02X", (unsigned)c);
        return -1;
    }
    ungetc(c, f);
    return c;
}

/* Once loaded: the problems array trimmed to size, the id set dropped (it
 * only served the duplicate check). */
static void loaded_trim(ag_ds *ds)
{
    if (ds->n < ds->cap) {
        ag_ds_problem *np = realloc(ds->p, ds->n * sizeof *np);
        if (np) {
            ds->p = np;
            ds->cap = ds->n;
        }
    }
    free(ds->slots);
    ds->slots = NULL;
    ds->nslots = 0;
}

ag_ds *ag_ds_load(const char *path, ag_ds_format fmt, char *err, size_t errlen)
{
    loader L = {.path = path ? path : "(null)", .err = err, .errlen = errlen};
    ag_ds *ds = NULL;
    FILE *f = NULL;
    int ok = 0;
    size_t size_hint = 0, total = 0, newlines = 0;
    if (err && errlen) err[0] = 0;
    if (!path || !*path) {
        fail_at(&L, 0, 0, NULL, "no file name");
        goto out;
    }
    if ((unsigned)fmt > AG_DS_PLAIN) {
        fail_at(&L, 0, 0, NULL, "unknown format %d", (int)fmt);
        goto out;
    }
    if (!(f = open_input(&L, path, &size_hint))) goto out;
    ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->path = strdup(path)) || !(ds->name = stem_of(path))) {
        fail_at(&L, 0, 0, NULL, "out of memory");
        goto out;
    }
    ds->format = fmt;
    /* The first significant character decides the container. */
    int c = container_start(&L, f, &total, &newlines);
    if (c < 0) goto out;
    ds->jsonl = L.jsonl = c == '{';
    if (ds->jsonl) {
        L.line = newlines;
        if (load_jsonl(ds, &L, f, total) < 0) goto out;
    } else {
        L.line_base = newlines;
        if (load_array(ds, &L, f, total, size_hint) < 0) goto out;
    }
    if (ds->n == 0) {
        fail_at(&L, 0, 0, NULL, "no records");
        goto out;
    }
    loaded_trim(ds);
    ok = 1;
out:
    if (f) fclose(f);
    if (!ok) {
        ag_ds_free(ds);
        return NULL;
    }
    return ds;
}

size_t ag_ds_count(const ag_ds *ds)
{
    return ds ? ds->n : 0;
}

const ag_ds_problem *ag_ds_get(const ag_ds *ds, size_t i)
{
    return ds && i < ds->n ? &ds->p[i] : NULL;
}

ag_ds_format ag_ds_detected(const ag_ds *ds)
{
    return ds ? ds->format : AG_DS_AUTO;
}

int ag_ds_is_jsonl(const ag_ds *ds)
{
    return ds ? ds->jsonl : 0;
}

const char *ag_ds_path(const ag_ds *ds)
{
    return ds ? ds->path : NULL;
}

const char *ag_ds_name(const ag_ds *ds)
{
    return ds ? ds->name : NULL;
}

void ag_ds_free(ag_ds *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->n; i++) problem_clear(&ds->p[i]);
    free(ds->p);
    free(ds->slots);
    free(ds->path);
    free(ds->name);
    free(ds);
}
