/* agent/extract — find the format-1 formulation in an LLM reply.
 *
 * Candidates, in the order they are tried:
 *   1. fenced code blocks: a line of three or more ` or ~ (any indentation,
 *      any info string or none: ```json, ```JSON, ```jsonc, ```, ~~~) up to
 *      a line of at least as many of the same character; a fence still open
 *      at the end of the reply is a candidate too (the reply was cut off).
 *      A block is a candidate when its content starts with '{' (a leading
 *      UTF-8 BOM and whitespace are skipped).
 *   2. balanced {...} objects in the text, outermost first, in text order.
 *      The matcher is iterative (no recursion, any depth) and skips braces
 *      inside double-quoted JSON strings ("sum{p in P} x[p]" is in every
 *      formulation; \" escapes are honoured). Quotes only count inside an
 *      object, so prose around it ("don't", "it's", a lone ") cannot derail
 *      it, and a string ends at a newline (JSON strings cannot hold one), so
 *      a stray quote or brace in prose spoils at most one line. Fence lines
 *      and <think> tags separate the text into parts matched independently.
 *      An object nested in another candidate is not a candidate of its own
 *      (the formulation's "objective" object is never taken alone).
 * Text inside <think>...</think> (DeepSeek-R1, QwQ) is the model's reasoning,
 * full of drafts, not its answer: its candidates come after all the others,
 * and its failures are reported only when the answer gives nothing.
 *
 * The first candidate that parses as a JSON object with "variables" and
 * "objective" wins — also when a later one is announced as a correction (a
 * reply holding a draft and then a "corrected formulation" yields the
 * draft; the solver's diagnostics then go back to the model). Two more
 * places are searched, still in candidate order: a parsed object that is not
 * a formulation is searched, outermost member first, for a member object
 * that is one ({"formulation": {...}} gives the inner object, printed by
 * cJSON); a candidate that mentions "variables"/"objective" but does not
 * parse is searched for objects inside it that mention them (a stray '{' in
 * prose paired with a stray '}' far below must not hide the formulation).
 *
 * Repairs, applied only to a candidate that does not parse as is: // line
 * comments and block comments outside strings are removed, and so is a comma
 * directly before } or ] (comments between them allowed); a leading BOM is
 * skipped. The returned text keeps the model's layout minus what was
 * removed (lines left empty are dropped). Nothing else is repaired:
 * single-quoted strings, unquoted keys, Python literals (True, None), NaN,
 * "..." elisions and missing commas leave the candidate invalid, and a
 * candidate mentioning "variables" or "objective" then gives
 * AG_EXTRACT_INVALID_JSON with the line, column and an excerpt.
 *
 * When nothing works the code says what was seen, in this order: the reply
 * ends inside a JSON object — a '{' followed by '"', or one whose text
 * mentions "variables"/"objective" — (TRUNCATED: the max_tokens cut-off),
 * or inside an unclosed <think>; a formulation-like candidate does not parse
 * (INVALID_JSON); JSON objects parse but none is a formulation
 * (NOT_FORMULATION, naming the keys); else NONE.
 *
 * Limits: replies over 4 MiB are refused; at most 64 candidates that mention
 * "variables"/"objective" are parsed (more are reported as a give-up), at
 * most 64 others are parsed only to name their keys (objects that cannot be
 * formulations are skipped without parsing, so 100 data objects before the
 * formulation do not hide it); at most 65536 outermost objects are
 * remembered. cJSON refuses nesting deeper than CJSON_NESTING_LIMIT (1000).
 * Nothing here prints.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/core/core.h"

#define EX_MAX_REPLY   ((size_t)4 * 1024 * 1024)
#define EX_MAX_TRIED   64
#define EX_MAX_PROBED  64
#define EX_MAX_OBJECTS 65536
#define EX_NOPOS       ((size_t)-1)

const char *ag_extract_strerror(ag_extract_code c)
{
    switch (c) {
    case AG_EXTRACT_OK: return "formulation found";
    case AG_EXTRACT_NONE: return "no JSON object in the reply";
    case AG_EXTRACT_TRUNCATED: return "reply cut off inside the JSON object";
    case AG_EXTRACT_NOT_FORMULATION: return "no JSON object in the reply is a formulation";
    case AG_EXTRACT_INVALID_JSON: return "the formulation is not valid JSON";
    }
    return "unknown extract result";
}

/* ---- small helpers -------------------------------------------------------- */

typedef struct { size_t start, end; } ex_span;
typedef struct { ex_span *v; size_t n, cap; } ex_spans;
typedef struct { uint32_t *v; size_t n, cap; } ex_stack;

static int spans_push(ex_spans *a, size_t start, size_t end)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        ex_span *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv) return -1;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n].start = start;
    a->v[a->n].end = end;
    a->n++;
    return 0;
}

static int stack_push(ex_stack *st, size_t pos)
{
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 256;
        uint32_t *nv = realloc(st->v, nc * sizeof *nv);
        if (!nv) return -1;
        st->v = nv;
        st->cap = nc;
    }
    st->v[st->n++] = (uint32_t)pos;
    return 0;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static const char *find_str(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= len; i++) {
        const char *p = memchr(s + i, w[0], len - wl + 1 - i);
        if (!p) return NULL;
        i = (size_t)(p - s);
        if (!memcmp(p, w, wl)) return p;
    }
    return NULL;
}

static int has_bom(const char *s, size_t n)
{
    return n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
           (unsigned char)s[2] == 0xBF;
}

/* Does s[0, n) mention the key w: "w", 'w', or w: (unquoted)? */
static int mentions_key(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    size_t i = 0;
    for (;;) {
        const char *p = find_str(s + i, n - i, w);
        if (!p) return 0;
        size_t k = (size_t)(p - s);
        unsigned char before = k ? (unsigned char)s[k - 1] : ' ';
        size_t e = k + wl;
        unsigned char after = e < n ? (unsigned char)s[e] : ' ';
        if ((before == '"' || before == '\'') && after == before) return 1;
        if (!is_ident(before) && !is_ident(after)) {
            while (e < n && (s[e] == ' ' || s[e] == '\t')) e++;
            if (e < n && s[e] == ':') return 1;
        }
        i = k + 1;
    }
}

static int looks_like_formulation(const char *s, size_t n)
{
    return mentions_key(s, n, "variables") || mentions_key(s, n, "objective");
}

static int is_formulation(const cJSON *o)
{
    return cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, "variables") &&
           cJSON_GetObjectItemCaseSensitive(o, "objective");
}

/* 1-based line and column (in characters) of pos, counted from base. */
static void line_col(const char *s, size_t base, size_t pos, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = base; i < pos; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') { l++; c = 1; }
        else if ((ch & 0xC0) != 0x80) c++;
    }
    *line = l;
    *col = c;
}

static size_t line_of(const char *s, size_t pos)
{
    size_t l, c;
    line_col(s, 0, pos, &l, &c);
    return l;
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    for (char *p = why; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
}

/* Appends src[0, n) to dst (capacity cap, NUL-terminated), control
 * characters as spaces, whitespace runs collapsed, never splitting a UTF-8
 * sequence when out of room. */
static void append_clean(char *dst, size_t cap, const char *src, size_t n)
{
    size_t d = strlen(dst);
    for (size_t i = 0; i < n && d + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == ' ') {
            if (d > 0 && dst[d - 1] == ' ') continue;
            dst[d++] = ' ';
            continue;
        }
        size_t seq = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (i + seq > n || d + seq + 1 > cap) break;
        memcpy(dst + d, src + i, seq);
        d += seq;
        i += seq - 1;
    }
    dst[d] = 0;
}

/* ---- fences ----------------------------------------------------------------- */

typedef struct {
    size_t open_start;            /* first byte of the opening line */
    size_t body_start, body_end;  /* content */
    size_t next;                  /* first byte after the closing line */
    int closed;
} ex_fence;

typedef struct { ex_fence *v; size_t n, cap; } ex_fences;

/* Length of the run of ` or ~ opening the line [ls, le) (after indentation),
 * 0 when it is not a fence line; *ch gets the character, *after the index
 * after the run. */
static size_t fence_run(const char *s, size_t ls, size_t le, char *ch, size_t *after)
{
    size_t i = ls;
    if (ls == 0 && has_bom(s, le)) i = 3;
    while (i < le && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i >= le || (s[i] != '`' && s[i] != '~')) return 0;
    char c = s[i];
    size_t n = 0;
    while (i < le && s[i] == c) { i++; n++; }
    if (n < 3) return 0;
    *ch = c;
    *after = i;
    return n;
}

static int find_fences(const char *s, size_t len, ex_fences *out)
{
    int in = 0;
    char och = 0;
    size_t orun = 0;
    ex_fence cur = {0, 0, 0, 0, 0};
    size_t ls = 0;
    while (ls < len) {
        const char *nl = memchr(s + ls, '\n', len - ls);
        size_t le = nl ? (size_t)(nl - s) : len;
        size_t next = nl ? le + 1 : len;
        char ch = 0;
        size_t after = 0;
        size_t run = fence_run(s, ls, le, &ch, &after);
        if (in) {
            if (run >= orun && ch == och) {
                size_t i = after;
                while (i < le && is_ws((unsigned char)s[i])) i++;
                if (i == le) {
                    cur.body_end = ls;
                    cur.next = next;
                    cur.closed = 1;
                    if (out->n == out->cap) {
                        size_t nc = out->cap ? out->cap * 2 : 16;
                        ex_fence *nv = realloc(out->v, nc * sizeof *nv);
                        if (!nv) return -1;
                        out->v = nv;
                        out->cap = nc;
                    }
                    out->v[out->n++] = cur;
                    in = 0;
                }
            }
        } else if (run && !(ch == '`' && memchr(s + after, '`', le - after))) {
            in = 1;
            och = ch;
            orun = run;
            cur.open_start = ls;
            cur.body_start = next;
            cur.closed = 0;
        }
        ls = next;
    }
    if (in) {
        cur.body_end = len;
        cur.next = len;
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 16;
            ex_fence *nv = realloc(out->v, nc * sizeof *nv);
            if (!nv) return -1;
            out->v = nv;
            out->cap = nc;
        }
        out->v[out->n++] = cur;
    }
    return 0;
}

/* ---- the brace matcher ------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t len;
    int has_think, think_open;     /* a <think> section; never closed */
    size_t think_a, think_b;       /* its extent [think_a, think_b) */
    ex_spans objs;                 /* outermost closed objects, text order */
    ex_spans inner;                /* scratch: objects inside a candidate */
    ex_stack st;
    size_t open_pos, open_depth;   /* object still open at the end of the reply */
} ex_ctx;

static int in_think(const ex_ctx *c, size_t pos)
{
    return c->has_think && pos >= c->think_a && pos < c->think_b;
}

/* Appends the outermost balanced objects of s[a, b) to objs; leaves the
 * braces still open at b in st. Objects already in objs lie before a, so
 * none of them is nested in a new one. */
static int scan_objects(ex_ctx *c, size_t a, size_t b, ex_spans *objs)
{
    const char *s = c->s;
    ex_stack *st = &c->st;
    size_t floor = objs->n;
    int in_str = 0;
    st->n = 0;
    for (size_t i = a; i < b; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\') {
                if (i + 1 < b && s[i + 1] != '\n') i++;
            } else if (ch == '"' || ch == '\n') {
                in_str = 0;
            }
            continue;
        }
        if (ch == '{') {
            if (stack_push(st, i)) return -1;
        } else if (ch == '}') {
            if (!st->n) continue;
            size_t start = st->v[--st->n];
            while (objs->n > floor && objs->v[objs->n - 1].start > start) objs->n--;
            if (objs->n < EX_MAX_OBJECTS && spans_push(objs, start, i + 1)) return -1;
        } else if (ch == '"' && st->n) {
            in_str = 1;
        }
    }
    return 0;
}

/* Scans the part [a, b), cut at the <think> boundaries; when b is the end
 * of the reply, remembers an object left open there that looks like JSON. */
static int scan_part(ex_ctx *c, size_t a, size_t b)
{
    size_t cuts[4];
    size_t n = 0;
    cuts[n++] = a;
    if (c->has_think && c->think_a > a && c->think_a < b) cuts[n++] = c->think_a;
    if (c->has_think && c->think_b > a && c->think_b < b) cuts[n++] = c->think_b;
    cuts[n++] = b;
    for (size_t k = 0; k + 1 < n; k++) {
        if (scan_objects(c, cuts[k], cuts[k + 1], &c->objs)) return -1;
        if (cuts[k + 1] != c->len || cuts[k] == cuts[k + 1]) continue;
        /* the reply ends inside an object: the first open brace that starts
         * a JSON object ('{' then '"'), else the outermost one when the
         * rest mentions "variables"/"objective" */
        c->open_pos = EX_NOPOS;
        for (size_t d = 0; d < c->st.n; d++) {
            size_t p = c->st.v[d], q = p + 1;
            size_t lim = d + 1 < c->st.n ? c->st.v[d + 1] : c->len;
            while (q < lim && is_ws((unsigned char)c->s[q])) q++;
            if (q < c->len && c->s[q] == '"') {
                c->open_pos = p;
                c->open_depth = c->st.n - d;
                break;
            }
        }
        if (c->open_pos == EX_NOPOS && c->st.n &&
            looks_like_formulation(c->s + c->st.v[0], c->len - c->st.v[0])) {
            c->open_pos = c->st.v[0];
            c->open_depth = c->st.n;
        }
    }
    return 0;
}

/* ---- parsing one candidate ------------------------------------------------------ */

/* Blanks (to spaces, mask 1) comments and trailing commas outside strings;
 * positions and newlines are kept. Returns the number of bytes removed. */
static size_t repair(char *buf, size_t n, unsigned char *mask)
{
    size_t removed = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
        } else if (ch == '/' && i + 1 < n && buf[i + 1] == '/') {
            while (i < n && buf[i] != '\n' && !(buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n')) {
                buf[i] = ' ';
                mask[i++] = 1;
                removed++;
            }
            i--;
        } else if (ch == '/' && i + 1 < n && buf[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(buf[j] == '*' && buf[j + 1] == '/')) j++;
            j = j + 1 < n ? j + 2 : n;
            for (size_t k = i; k < j; k++) {
                if (buf[k] == '\n' || buf[k] == '\r') continue;
                buf[k] = ' ';
                mask[k] = 1;
                removed++;
            }
            i = j - 1;
        }
    }
    /* a comma after a value, followed only by blanks and } or ] */
    in_str = 0;
    size_t comma = EX_NOPOS;
    char last = 0;   /* the last significant character before this one */
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            comma = EX_NOPOS;
        } else if (ch == ',') {
            comma = last && !strchr("[{,:", last) ? i : EX_NOPOS;
        } else if (ch == '}' || ch == ']') {
            if (comma != EX_NOPOS) {
                buf[comma] = ' ';
                mask[comma] = 1;
                removed++;
            }
            comma = EX_NOPOS;
        } else if (!is_ws((unsigned char)ch)) {
            comma = EX_NOPOS;
        }
        if (!is_ws((unsigned char)ch)) last = ch;
    }
    return removed;
}

/* The repaired text without the removed bytes; a line that had removals
 * loses its trailing blanks, and is dropped when nothing else is left. */
static char *compact(const char *orig, const unsigned char *mask, size_t n)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0, ls = 0;
    while (ls < n) {
        const char *nl = memchr(orig + ls, '\n', n - ls);
        size_t le = nl ? (size_t)(nl - orig) : n;
        size_t start = o;
        int touched = 0;
        for (size_t i = ls; i < le; i++) {
            if (mask[i]) touched = 1;
            else out[o++] = orig[i];
        }
        if (touched) {
            int cr = o > start && out[o - 1] == '\r';
            if (cr) o--;
            while (o > start && (out[o - 1] == ' ' || out[o - 1] == '\t')) o--;
            if (o == start) {
                ls = nl ? le + 1 : n;
                continue;
            }
            if (cr) out[o++] = '\r';
        }
        if (nl) out[o++] = '\n';
        ls = nl ? le + 1 : n;
    }
    out[o] = 0;
    return out;
}

typedef struct {
    cJSON *root;      /* parsed object, or NULL */
    char *text;       /* malloc'd text that parsed (after repairs) */
    int repaired;
    size_t errpos;    /* offset in the candidate of the parse error */
} ex_parse;

/* Parses s[0, n). Returns 0 (see p->root) or -1 when out of memory. */
static int parse_candidate(const char *s, size_t n, ex_parse *p)
{
    p->root = NULL;
    p->text = NULL;
    p->repaired = 0;
    p->errpos = 0;
    char *buf = malloc(n + 1);
    if (!buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, n + 1, &end, 1);
    if (root) {
        p->root = root;
        p->text = buf;
        return 0;
    }
    p->errpos = end && end >= buf ? (size_t)(end - buf) : 0;
    unsigned char *mask = calloc(n + 1, 1);
    if (!mask) { free(buf); return -1; }
    if (repair(buf, n, mask)) {
        end = NULL;
        root = cJSON_ParseWithLengthOpts(buf, n + 1, &end, 1);
        if (root) {
            p->text = compact(s, mask, n);
            if (!p->text) {
                cJSON_Delete(root);
                free(mask);
                free(buf);
                return -1;
            }
            p->root = root;
            p->repaired = 1;
        } else {
            p->errpos = end && end >= buf ? (size_t)(end - buf) : 0;
        }
    }
    free(mask);
    free(buf);
    if (p->errpos > n) p->errpos = n;
    return 0;
}

/* The outermost object in root (root itself first, then members breadth
 * first) that is a formulation, or NULL. */
static const cJSON *find_formulation(const cJSON *root, int *oom)
{
    if (is_formulation(root)) return root;
    size_t cap = 64, head = 0, tail = 0;
    const cJSON **q = malloc(cap * sizeof *q);
    if (!q) { *oom = 1; return NULL; }
    q[tail++] = root;
    const cJSON *found = NULL;
    while (head < tail && !found) {
        const cJSON *node = q[head++];
        for (const cJSON *ch = node->child; ch; ch = ch->next) {
            if (!cJSON_IsObject(ch) && !cJSON_IsArray(ch)) continue;
            if (is_formulation(ch)) { found = ch; break; }
            if (tail == cap) {
                const cJSON **nq = realloc(q, cap * 2 * sizeof *nq);
                if (!nq) { *oom = 1; free(q); return NULL; }
                q = nq;
                cap *= 2;
            }
            q[tail++] = ch;
        }
    }
    free(q);
    return found;
}

/* ---- evidence for the failure message --------------------------------------------- */

typedef struct {
    int invalid;
    size_t inv_start, inv_end, inv_err;   /* in the reply */
    int notform, nf_var, nf_obj;
    size_t nf_pos;
    char nf_keys[200];
} ex_evidence;

static void keys_of(const cJSON *o, char *dst, size_t cap)
{
    dst[0] = 0;
    size_t shown = 0;
    for (const cJSON *ch = o->child; ch; ch = ch->next) {
        const char *k = ch->string ? ch->string : "";
        size_t kl = strlen(k);
        if (kl > 40) kl = 40;
        if (strlen(dst) + kl + 8 >= cap) {
            append_clean(dst, cap, ", ...", 5);
            return;
        }
        if (shown++) append_clean(dst, cap, ", ", 2);
        append_clean(dst, cap, "\"", 1);
        append_clean(dst, cap, k, kl);
        append_clean(dst, cap, "\"", 1);
    }
    if (!shown) append_clean(dst, cap, "none ({})", 9);
}

static void record_notform(ex_evidence *ev, const cJSON *root, size_t pos)
{
    int v = cJSON_GetObjectItemCaseSensitive(root, "variables") != NULL;
    int o = cJSON_GetObjectItemCaseSensitive(root, "objective") != NULL;
    /* keep the first object, unless a later one has one of the two keys */
    if (ev->notform && (ev->nf_var || ev->nf_obj || (!v && !o))) return;
    ev->notform = 1;
    ev->nf_var = v;
    ev->nf_obj = o;
    ev->nf_pos = pos;
    keys_of(root, ev->nf_keys, sizeof ev->nf_keys);
}

static const char *hint_at(const char *s, size_t a, size_t b, size_t pos)
{
    size_t q = pos;
    while (q < b && is_ws((unsigned char)s[q])) q++;
    if (q >= b) return "the object ends too early (unbalanced brackets?)";
    if (pos > a && s[pos - 1] == '\'') return "keys and strings need double quotes";
    unsigned char c = (unsigned char)s[q];
    size_t p = q;
    while (p > a && is_ws((unsigned char)s[p - 1])) p--;
    unsigned char prev = p > a ? (unsigned char)s[p - 1] : 0;
    if (c == '\'') return "keys and strings need double quotes";
    if (c == '.' && q + 2 < b && s[q + 1] == '.' && s[q + 2] == '.')
        return "\"...\" is not JSON: write out every value";
    if (c == '#') return "'#' comments are not JSON";
    if (is_ident(c) && !(c >= '0' && c <= '9')) {
        size_t e = q;
        while (e < b && is_ident((unsigned char)s[e])) e++;
        size_t wl = e - q;
        const char *w = s + q;
        if ((wl == 4 && (!memcmp(w, "True", 4) || !memcmp(w, "None", 4))) ||
            (wl == 5 && !memcmp(w, "False", 5)))
            return "Python literal: JSON has true, false and null";
        if ((wl == 3 && !memcmp(w, "NaN", 3)) || (wl == 8 && !memcmp(w, "Infinity", 8)))
            return "not a JSON number (leave a bound null)";
        if (prev == '{' || prev == ',') return "keys need double quotes";
        return "unquoted text: strings need double quotes";
    }
    if (c == '"' && prev == '"') return "missing ',' or ':'";
    if (c == '"' && (prev == '}' || prev == ']' || (prev >= '0' && prev <= '9') ||
                     prev == 'e' || prev == 'l'))
        return "missing comma";
    if ((c == '{' || c == '[') && (prev == '}' || prev == ']' || prev == '"'))
        return "missing comma";
    if ((c == '}' || c == ']') && prev == ':') return "missing value";
    if (c == '}' && prev == '[') return "unbalanced brackets";
    if (c == ']' && prev == '{') return "unbalanced brackets";
    return NULL;
}

/* ---- the search ------------------------------------------------------------------- */

typedef struct {
    size_t start, end;
    int nested;         /* found inside a candidate that did not parse */
} ex_cand;

typedef struct { ex_cand *v; size_t n, cap; } ex_cands;

static int cands_push(ex_cands *a, size_t start, size_t end, int nested)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        ex_cand *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv) return -1;
        a->v = nv;
        a->cap = nc;
    }
    ex_cand k = {start, end, nested};
    a->v[a->n++] = k;
    return 0;
}

/* The content of a fence as a candidate: [*a, *b) without the leading BOM
 * and surrounding whitespace; 0 when it does not start with '{'. */
static int fence_candidate(const char *s, const ex_fence *f, size_t *a, size_t *b)
{
    size_t i = f->body_start, j = f->body_end;
    for (;;) {
        while (i < j && is_ws((unsigned char)s[i])) i++;
        if (has_bom(s + i, j - i)) { i += 3; continue; }
        break;
    }
    while (j > i && is_ws((unsigned char)s[j - 1])) j--;
    if (i >= j || s[i] != '{') return 0;
    *a = i;
    *b = j;
    return 1;
}

typedef struct {
    const char *s;
    size_t len;
    ex_evidence ev[2];
    size_t tried, probed;
    int capped;
    int oom;
    char *json;         /* the result */
    int repaired;
} ex_search;

/* Tries one candidate; pushes the objects of a failed formulation-like one
 * onto work (in reverse order, so they pop in text order). Returns 1 when
 * the formulation is found. */
static int try_candidate(ex_search *x, ex_ctx *c, const ex_cand *k, int g, ex_cands *work)
{
    const char *s = x->s;
    size_t n = k->end - k->start;
    const char *t = s + k->start;
    int looks = looks_like_formulation(t, n);
    if (!looks) {
        /* cannot be a formulation: parse only to name its keys */
        if (x->ev[g].notform || x->probed >= EX_MAX_PROBED) return 0;
        size_t q = 1;
        while (q < n && is_ws((unsigned char)t[q])) q++;
        if (q < n && t[q] != '"' && t[q] != '}' && t[q] != '/') return 0;
        x->probed++;
    } else {
        if (x->tried >= EX_MAX_TRIED) { x->capped = 1; return 0; }
        x->tried++;
    }
    ex_parse p;
    if (parse_candidate(t, n, &p)) { x->oom = 1; return 0; }
    if (p.root) {
        int found = 0;
        if (cJSON_IsObject(p.root)) {
            const cJSON *f = looks ? find_formulation(p.root, &x->oom) : NULL;
            if (f == p.root) {
                x->json = p.text;
                p.text = NULL;
                x->repaired = p.repaired;
                found = 1;
            } else if (f) {
                char *printed = cJSON_Print(f);
                if (printed) {
                    size_t pl = strlen(printed);
                    x->json = malloc(pl + 1);
                    if (x->json) memcpy(x->json, printed, pl + 1);
                    else x->oom = 1;
                    cJSON_free(printed);
                    x->repaired = p.repaired;
                    found = x->json != NULL;
                } else {
                    x->oom = 1;
                }
            } else {
                record_notform(&x->ev[g], p.root, k->start);
            }
        }
        cJSON_Delete(p.root);
        free(p.text);
        return found;
    }
    if (!looks) return 0;
    /* a formulation-like candidate that does not parse */
    ex_evidence *ev = &x->ev[g];
    if (!ev->invalid || (k->nested && k->start >= ev->inv_start && k->end <= ev->inv_end)) {
        ev->invalid = 1;
        ev->inv_start = k->start;
        ev->inv_end = k->end;
        ev->inv_err = k->start + p.errpos;
        /* cJSON reports a key that is not a "string" ('name', name, #)
         * one byte after its first character: point at that character */
        size_t e = ev->inv_err;
        unsigned char kc = e > k->start + 1 ? (unsigned char)s[e - 1] : '"';
        if (kc != '"' && !is_ws(kc) && !(kc >= '0' && kc <= '9') && kc != '-') {
            size_t q = e - 1;
            while (q > k->start && is_ws((unsigned char)s[q - 1])) q--;
            if (q > k->start && (s[q - 1] == '{' || s[q - 1] == ',')) ev->inv_err = e - 1;
        }
    }
    /* look inside it for formulation-like objects */
    if (n > 2) {
        c->inner.n = 0;
        if (scan_objects(c, k->start + 1, k->end - 1, &c->inner)) { x->oom = 1; return 0; }
        for (size_t i = c->inner.n; i > 0; i--) {
            const ex_span *o = &c->inner.v[i - 1];
            if (!looks_like_formulation(s + o->start, o->end - o->start)) continue;
            if (cands_push(work, o->start, o->end, 1)) { x->oom = 1; break; }
        }
    }
    return 0;
}

static ag_extract_code finish_failure(const ex_search *x, const ex_ctx *c, char *why, size_t whylen)
{
    const char *s = x->s;
    const char *capnote = x->capped ? " (gave up after 64 candidate objects)" : "";
    for (int g = 0; g < 2; g++) {
        const ex_evidence *ev = &x->ev[g];
        if (c->open_pos != EX_NOPOS && in_think(c, c->open_pos) == g) {
            why_set(why, whylen,
                    "the reply was cut off before the JSON object closed (finish_reason "
                    "length?): the object opened at line %zu never closes (%zu brace%s still open)",
                    line_of(s, c->open_pos), c->open_depth, c->open_depth == 1 ? "" : "s");
            return AG_EXTRACT_TRUNCATED;
        }
        if (g == 1 && c->think_open && !x->ev[0].invalid && !x->ev[0].notform) {
            why_set(why, whylen,
                    "the reply was cut off inside its <think> reasoning, before the answer "
                    "(finish_reason length?)");
            return AG_EXTRACT_TRUNCATED;
        }
        if (ev->invalid) {
            size_t l, col;
            line_col(s, ev->inv_start, ev->inv_err, &l, &col);
            size_t from = ev->inv_err;
            for (int back = 0; back < 12 && from > ev->inv_start; back++) {
                from--;
                while (from > ev->inv_start && ((unsigned char)s[from] & 0xC0) == 0x80) from--;
            }
            /* not from the middle of a word */
            for (int back = 0; back < 10 && from > ev->inv_start && is_ident((unsigned char)s[from]) &&
                               is_ident((unsigned char)s[from - 1]); back++)
                from--;
            size_t to = ev->inv_err + 24 < ev->inv_end ? ev->inv_err + 24 : ev->inv_end;
            char raw[64] = "";
            append_clean(raw, sizeof raw, s + from, to - from);
            const char *excerpt = raw + (raw[0] == ' ');
            size_t el = strlen(raw);
            if (el && raw[el - 1] == ' ') raw[el - 1] = 0;
            const char *hint = hint_at(s, ev->inv_start, ev->inv_end, ev->inv_err);
            why_set(why, whylen,
                    "the formulation JSON (reply line %zu) does not parse at line %zu, "
                    "column %zu of the object, near `%s`%s%s%s",
                    line_of(s, ev->inv_start), l, col, excerpt, hint ? ": " : "",
                    hint ? hint : "", capnote);
            return AG_EXTRACT_INVALID_JSON;
        }
        if (ev->notform) {
            if (ev->nf_var != ev->nf_obj)
                why_set(why, whylen,
                        "the JSON object at line %zu of the reply has \"%s\" but no \"%s\" "
                        "(keys: %s)%s", line_of(s, ev->nf_pos),
                        ev->nf_var ? "variables" : "objective",
                        ev->nf_var ? "objective" : "variables", ev->nf_keys, capnote);
            else
                why_set(why, whylen,
                        "no JSON object in the reply is a formulation (an object with "
                        "\"variables\" and \"objective\"); the first, at line %zu, has keys: "
                        "%s%s", line_of(s, ev->nf_pos), ev->nf_keys, capnote);
            return AG_EXTRACT_NOT_FORMULATION;
        }
    }
    why_set(why, whylen,
            "the reply contains no JSON object: send the formulation as one JSON object "
            "(with \"variables\" and \"objective\") in a ```json block");
    return AG_EXTRACT_NONE;
}

ag_extract_code ag_extract_formulation(const char *reply, size_t len, char **json,
                                       int *repaired, char *why, size_t whylen)
{
    if (json) *json = NULL;
    if (repaired) *repaired = 0;
    if (why && whylen) why[0] = 0;
    if (!reply) {
        why_set(why, whylen, "empty reply");
        return AG_EXTRACT_NONE;
    }
    if (len > EX_MAX_REPLY) {
        why_set(why, whylen, "reply too large (%zu bytes; the limit is %zu)", len, EX_MAX_REPLY);
        return AG_EXTRACT_NONE;
    }

    ex_ctx c;
    memset(&c, 0, sizeof c);
    c.s = reply;
    c.len = len;
    c.open_pos = EX_NOPOS;
    const char *ct = find_str(reply, len, "</think>");
    const char *ot = find_str(reply, len, "<think>");
    if (ct) {
        c.has_think = 1;
        c.think_a = ot && ot < ct ? (size_t)(ot - reply) : 0;
        c.think_b = (size_t)(ct - reply) + 8;
    } else if (ot) {
        c.has_think = 1;
        c.think_open = 1;
        c.think_a = (size_t)(ot - reply);
        c.think_b = len;
    }

    ex_fences fences = {NULL, 0, 0};
    ex_cands order = {NULL, 0, 0}, work = {NULL, 0, 0};
    ex_search x;
    memset(&x, 0, sizeof x);
    x.s = reply;
    x.len = len;
    ag_extract_code code = AG_EXTRACT_NONE;

    if (find_fences(reply, len, &fences)) goto oom;
    size_t prev = 0;
    for (size_t i = 0; i < fences.n; i++) {
        if (scan_part(&c, prev, fences.v[i].open_start)) goto oom;
        if (scan_part(&c, fences.v[i].body_start, fences.v[i].body_end)) goto oom;
        prev = fences.v[i].next;
    }
    if (prev < len && scan_part(&c, prev, len)) goto oom;

    /* the order: answer (fences, then objects), then the <think> section */
    for (int g = 0; g < 2; g++) {
        size_t first_fence = order.n;
        for (size_t i = 0; i < fences.n; i++) {
            size_t a, b;
            if (fence_candidate(reply, &fences.v[i], &a, &b) && in_think(&c, a) == g &&
                cands_push(&order, a, b, 0))
                goto oom;
        }
        size_t nfence = order.n, f = first_fence;
        for (size_t i = 0; i < c.objs.n; i++) {
            const ex_span *o = &c.objs.v[i];
            if (in_think(&c, o->start) != g) continue;
            /* both lists are in text order: skip a fence's content seen again */
            while (f < nfence && order.v[f].start < o->start) f++;
            int dup = f < nfence && order.v[f].start == o->start && order.v[f].end == o->end;
            if (!dup && cands_push(&order, o->start, o->end, 0)) goto oom;
        }
    }

    for (size_t i = 0; i < order.n && !x.json; i++) {
        int g = in_think(&c, order.v[i].start);
        work.n = 0;
        if (cands_push(&work, order.v[i].start, order.v[i].end, 0)) goto oom;
        while (work.n && !x.json) {
            ex_cand k = work.v[--work.n];
            try_candidate(&x, &c, &k, g, &work);
            if (x.oom) goto oom;
        }
    }

    if (x.json) {
        code = AG_EXTRACT_OK;
        if (json) *json = x.json;
        else free(x.json);
        if (repaired) *repaired = x.repaired;
    } else {
        code = finish_failure(&x, &c, why, whylen);
    }
    goto done;

oom:
    free(x.json);
    why_set(why, whylen, "out of memory while reading the reply");
    code = AG_EXTRACT_NONE;
done:
    free(fences.v);
    free(order.v);
    free(work.v);
    free(c.objs.v);
    free(c.inner.v);
    free(c.st.v);
    return code;
}

/* ---- any JSON object with a given member (check, reflect, refine replies) ---- */

/* Searches root (itself first, then its members depth first) for an object
 * holding key. */
static const cJSON *find_keyed(const cJSON *root, const char *key, int depth)
{
    if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) return NULL;
    if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, key)) return root;
    if (depth >= 16) return NULL;
    for (const cJSON *ch = root->child; ch; ch = ch->next) {
        const cJSON *f = find_keyed(ch, key, depth + 1);
        if (f) return f;
    }
    return NULL;
}

ag_extract_code ag_extract_object(const char *reply, size_t len, const char *key, cJSON **out,
                                  char *why, size_t whylen)
{
    if (out) *out = NULL;
    if (why && whylen) why[0] = 0;
    if (!reply || !key || !out) {
        why_set(why, whylen, "empty reply");
        return AG_EXTRACT_NONE;
    }
    if (len > AG_EXTRACT_MAX_OBJECT) {
        why_set(why, whylen, "reply too large (%zu bytes; the limit is %u)", len, AG_EXTRACT_MAX_OBJECT);
        return AG_EXTRACT_NONE;
    }
    int objects = 0, opened = 0, tries = 0;
    for (size_t i = 0; i < len && tries < AG_EXTRACT_MAX_TRIES; i++) {
        if (reply[i] != '{') continue;
        tries++;
        opened = 1;
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(reply + i, len - i, &end, 0);
        if (!root) continue;
        objects++;
        const cJSON *f = find_keyed(root, key, 0);
        if (f) {
            /* detach the object found from its parent (or take root itself) */
            cJSON *copy = f == root ? root : cJSON_Duplicate(f, 1);
            if (f != root) cJSON_Delete(root);
            if (!copy) { why_set(why, whylen, "out of memory"); return AG_EXTRACT_NONE; }
            *out = copy;
            return AG_EXTRACT_OK;
        }
        cJSON_Delete(root);
        /* skip what this object covered: its members were searched already */
        if (end && end > reply + i) i = (size_t)(end - reply) - 1;
    }
    if (objects) {
        why_set(why, whylen, "no JSON object with \"%s\" in the reply", key);
        return AG_EXTRACT_NOT_FORMULATION;
    }
    if (opened) {
        why_set(why, whylen, "the reply's JSON does not parse");
        return AG_EXTRACT_INVALID_JSON;
    }
    why_set(why, whylen, "the reply contains no JSON object");
    return AG_EXTRACT_NONE;
}
