/* library/learn — what learning needs from the library besides storage: the
 * prompt block that carries insights into a request (verbatim), "id@version"
 * references, parsing a reflect reply into candidates, and refinement
 * scoring (retrieval re-run on the problems recorded for an insight, with
 * its condition or a proposed one, inside a transaction that is rolled
 * back). The SQL side (hash, statistics, duplicates, condition
 * replacement) is in store.c. See library/README.md, "Learning". */
#include "library/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lib_buf_add(lib_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return -1;
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
    return 0;
}

/* ---- the prompt block ---------------------------------------------------------- */

#define PROMPT_HEADING                                                                  \
    "## Insights from earlier problems\n\n"                                             \
    "Each insight was learned from an earlier problem and proven by the solver. Apply " \
    "those whose condition matches this problem and ignore the others (a \"Does NOT "   \
    "apply when\" part that matches counts against it).\n"

static int add_insight(lib_buf *b, const lib_insight *ins)
{
    char head[96];
    if (ins->id > 0)
        snprintf(head, sizeof head, "\n### Insight %" PRId64 " (version %" PRId64 ")\n",
                 ins->id, ins->version > 0 ? ins->version : 1);
    else
        snprintf(head, sizeof head, "\n### Insight\n");
    int bad = lib_buf_add(b, head) || lib_buf_add(b, "Taxonomy: ");
    for (int i = 0; !bad && i < ins->ntaxonomy; i++)
        bad = lib_buf_add(b, i ? " > " : "") || lib_buf_add(b, ins->taxonomy[i]);
    /* the fields verbatim, each whole: no cut, no rewording */
    return bad || lib_buf_add(b, "\nCondition: ") ||
           lib_buf_add(b, ins->condition ? ins->condition : "") ||
           lib_buf_add(b, "\nExplanation: ") ||
           lib_buf_add(b, ins->explanation ? ins->explanation : "") ||
           lib_buf_add(b, "\nExample: ") || lib_buf_add(b, ins->example ? ins->example : "") ||
           lib_buf_add(b, "\n");
}

lib_code lib_format_for_prompt(const lib_insight *const *v, size_t n, char **out)
{
    if (!out || (n && !v)) return LIB_EARG;
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!v[i]) return LIB_EARG;
    lib_buf b = {NULL, 0, 0};
    int bad = lib_buf_add(&b, n ? PROMPT_HEADING : "");
    for (size_t i = 0; !bad && i < n; i++) bad = add_insight(&b, v[i]);
    if (bad) {
        free(b.s);
        return LIB_ENOMEM;
    }
    *out = b.s;
    return LIB_OK;
}

lib_code lib_format_hits(const lib_hit *hits, size_t n, char **out)
{
    if (!out || (n && !hits)) return LIB_EARG;
    const lib_insight **v = calloc(n + 1, sizeof *v);
    if (!v) return LIB_ENOMEM;
    for (size_t i = 0; i < n; i++) v[i] = &hits[i].insight;
    lib_code c = lib_format_for_prompt(v, n, out);
    free(v);
    return c;
}

/* ---- references --------------------------------------------------------------------- */

void lib_insight_ref(const lib_insight *ins, char buf[LIB_REF_SIZE])
{
    snprintf(buf, LIB_REF_SIZE, "%" PRId64 "@%" PRId64, ins ? ins->id : 0,
             ins && ins->version > 0 ? ins->version : 1);
}

int64_t lib_hit_id(const lib_hit *h) { return h ? h->insight.id : 0; }
int64_t lib_hit_version(const lib_hit *h) { return h ? h->insight.version : 0; }

char *lib_hits_refs(const lib_hit *hits, size_t n)
{
    lib_buf b = {NULL, 0, 0};
    int bad = lib_buf_add(&b, "");
    for (size_t i = 0; !bad && i < n; i++) {
        char ref[LIB_REF_SIZE];
        lib_insight_ref(&hits[i].insight, ref);
        bad = lib_buf_add(&b, i ? "," : "") || lib_buf_add(&b, ref);
    }
    if (bad) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- reflect replies ---------------------------------------------------------------- */

/* "A > B > C" as labels, trimmed; empty labels are kept so that validation
 * names them. NULL when out of memory or not a string. */
static cJSON *split_path(const char *s)
{
    cJSON *a = cJSON_CreateArray();
    while (a && s) {
        const char *gt = strchr(s, '>');
        const char *e = gt ? gt : s + strlen(s);
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        char *label = strndup(s, (size_t)(t - s));
        if (!label || !cJSON_AddItemToArray(a, cJSON_CreateString(label))) {
            free(label);
            cJSON_Delete(a);
            return NULL;
        }
        free(label);
        s = gt ? gt + 1 : NULL;
    }
    return a;
}

/* One candidate in the contract's form, validated as any insight is. */
static lib_code parse_candidate(const cJSON *e, lib_insight *out, char *why, size_t whylen)
{
    if (!cJSON_IsObject(e)) {
        snprintf(why, whylen, "not an object");
        return LIB_EINVALID;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return LIB_ENOMEM;
    const cJSON *tax = cJSON_GetObjectItemCaseSensitive(e, "taxonomy");
    cJSON *t = NULL;
    if (cJSON_IsString(tax)) t = split_path(tax->valuestring);
    else if (tax) t = cJSON_Duplicate(tax, 1);
    if (t) cJSON_AddItemToObject(o, "taxonomy", t);
    static const char *const fields[] = {"condition", "explanation", "example"};
    for (int i = 0; i < 3; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, fields[i]);
        if (f) cJSON_AddItemToObject(o, fields[i], cJSON_Duplicate(f, 1));
    }
    lib_code c = LIB_OK;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "example");
    if (!ex) {   /* the validation allows an empty example; the contract asks for one */
        snprintf(why, whylen, "example: missing");
        c = LIB_EINVALID;
    }
    if (!c) c = lib_insight_from_json(o, out, why, whylen);
    if (!c && cJSON_IsString(ex) && !*ex->valuestring) {
        snprintf(why, whylen, "example: empty");
        lib_insight_clear(out);
        c = LIB_EINVALID;
    }
    cJSON_Delete(o);
    if (!c) out->version = 1;
    return c;
}

static void append_reason(char *err, size_t errlen, int i, const char *why)
{
    if (!err || !errlen) return;
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, "%sinsights[%d]: %s", n ? "; " : "", i, why);
}

lib_code lib_candidates_from_json(const char *json, size_t len, lib_insight **out, size_t *n,
                                  char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!json || !out || !n) return LIB_EARG;
    *out = NULL;
    *n = 0;
    char why[512];
    if (len > LIB_MAX_REPLY) {
        snprintf(err, errlen, "reply: %zu bytes, over the limit of %d", len, LIB_MAX_REPLY);
        return LIB_ETOOBIG;
    }
    cJSON *j = cJSON_ParseWithLength(json, len);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "insights");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(arr)) {
        snprintf(err, errlen, "reply: %s", j ? "not an object {\"insights\": [...]}"
                                             : "not valid JSON");
        cJSON_Delete(j);
        return LIB_EINVALID;
    }
    lib_insight *v = calloc(LIB_MAX_CANDIDATES, sizeof *v);
    lib_code c = v ? LIB_OK : LIB_ENOMEM, worst = LIB_EINVALID;
    size_t kept = 0;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (c) break;
        if (kept == LIB_MAX_CANDIDATES) {
            append_reason(err, errlen, i, "skipped: only the first 3 valid insights are kept");
        } else {
            lib_code pc = parse_candidate(e, &v[kept], why, sizeof why);
            if (pc == LIB_ENOMEM) c = pc;
            else if (pc) {
                if (pc == LIB_ETOOBIG) worst = pc;
                append_reason(err, errlen, i, why);
            } else {
                kept++;
            }
        }
        i++;
    }
    cJSON_Delete(j);
    if (!c && !kept) {
        if (err && errlen && !err[0]) snprintf(err, errlen, "reply: no insights");
        c = worst;
    }
    if (c) {
        lib_insights_free(v, kept);
        return c;
    }
    *out = v;
    *n = kept;
    return LIB_OK;
}

/* ---- refinement scoring --------------------------------------------------------------- */

static lib_code retrieved(lib *l, int64_t id, const char *text, int *yes)
{
    lib_hit *h = NULL;
    size_t nh = 0;
    *yes = 0;
    lib_code c = lib_search(l, text, LIB_DEFAULT_K, &h, &nh);
    for (size_t i = 0; !c && i < nh; i++) *yes |= h[i].insight.id == id;
    lib_hits_free(h, nh);
    return c;
}

static lib_code score_outcomes(lib *l, int64_t id, const store_outcome *v, size_t n,
                               lib_refine_score_t *s)
{
    for (size_t i = 0; i < n; i++) {
        size_t *total = v[i].kind == LIB_STAT_POSITIVE ? &s->positive
                      : v[i].kind == LIB_STAT_NEGATIVE ? &s->negative : &s->unretrieved;
        if (!v[i].text) {
            s->no_text++;
            continue;
        }
        (*total)++;
        int yes = 0;
        lib_code c = retrieved(l, id, v[i].text, &yes);
        if (c) return c;
        if (v[i].kind == LIB_STAT_POSITIVE) s->positive_kept += yes;
        else if (v[i].kind == LIB_STAT_NEGATIVE) s->negative_avoided += !yes;
        else s->unretrieved_now += yes;
    }
    size_t den = 2 * s->positive + s->unretrieved + s->negative;
    s->score = den ? (double)(2 * s->positive_kept + s->unretrieved_now + s->negative_avoided) /
                         (double)den
                   : 1.0;
    return LIB_OK;
}

lib_code lib_refine_score(lib *l, int64_t id, const char *condition, lib_refine_score_t *out)
{
    if (!l || !out) return LIB_EARG;
    memset(out, 0, sizeof *out);
    if (condition && (!*condition || strlen(condition) > LIB_MAX_FIELD))
        return lib_fail(l, !*condition ? LIB_EINVALID : LIB_ETOOBIG,
                        "condition: empty or over %d bytes", LIB_MAX_FIELD);
    store_outcome *v = NULL;
    size_t n = 0;
    lib_code c = lib_store_outcomes(l, id, &v, &n);
    if (c) return c;
    if (condition) c = lib_store_trial_begin(l, id, condition);
    if (!c) {
        c = score_outcomes(l, id, v, n, out);
        if (condition) lib_store_trial_end(l);
    }
    lib_store_outcomes_free(v, n);
    return c;
}
