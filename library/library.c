/* library — the JSON side of the experience library and its ranking: the
 * contract's insight format and AlphaOPT's library.json, validation with the
 * limits of library.h, import (validate everything, then one transaction),
 * export, edit (old version to the history), and retrieval (query words ->
 * quoted FTS5 terms -> BM25 per part -> score, threshold, top-k). The SQLite
 * side is store.c. See library/README.md for the ranking formula. */
#include "library/store.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- ranking constants (documented in library/README.md) ------------------ */

#define NEG_WEIGHT     1.0    /* "Does NOT apply" BM25 subtracted this many times */
#define THRESHOLD      1.5    /* minimum final score */
#define MIN_TERMS      2      /* distinct query words found in the positive parts */
#define POSTINGS_BUDGET 2000  /* query words kept, rarest first, while the
                                 insights holding them add up to at most this */
#define RELATIVE_CUT   0.50   /* and at least this fraction of the best score */
#define BOOST_MIN      0.80   /* statistics factor: 0.8 .. 1.2 */
#define BOOST_SPAN     0.40

/* ---- records --------------------------------------------------------------------- */

static void idlist_clear(lib_idlist *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->ids[i]);
    free(v->ids);
    v->ids = NULL;
    v->n = 0;
}

void lib_insight_clear(lib_insight *ins)
{
    if (!ins) return;
    for (int i = 0; i < LIB_MAX_TAXONOMY; i++) free(ins->taxonomy[i]);
    free(ins->condition);
    free(ins->explanation);
    free(ins->example);
    free(ins->src_problem);
    free(ins->src_dataset);
    free(ins->src_run);
    free(ins->src_model);
    free(ins->created_at);
    free(ins->updated_at);
    free(ins->extra);
    for (int k = 0; k < LIB_NSTATS; k++) idlist_clear(&ins->stats[k]);
    for (size_t i = 0; i < ins->nproblems; i++) {
        free(ins->problems[i].id);
        free(ins->problems[i].text);
    }
    free(ins->problems);
    memset(ins, 0, sizeof *ins);
}

void lib_insights_free(lib_insight *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) lib_insight_clear(&v[i]);
    free(v);
}

void lib_hits_free(lib_hit *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        lib_insight_clear(&h[i].insight);
        free(h[i].matched);
    }
    free(h);
}

int lib_insight_copy(lib_insight *dst, const lib_insight *src)
{
    cJSON *j = lib_insight_to_json(src);
    char err[256];
    memset(dst, 0, sizeof *dst);
    if (!j) return -1;
    lib_code c = lib_insight_from_json(j, dst, err, sizeof err);
    cJSON_Delete(j);
    return c ? -1 : 0;
}

/* ---- text -------------------------------------------------------------------------- */

char *lib_index_text(const char *s)
{
    if (!s) s = "";
    size_t n = 0;
    for (const char *p = s; *p; p++) n += (*p == '%' || *p == '$') ? 9 : 1;
    char *o = malloc(n + 1), *q = o;
    if (!o) return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '%') { memcpy(q, " percent ", 9); q += 9; }
        else if (*p == '$') { memcpy(q, " dollar  ", 9); q += 9; }
        else *q++ = *p;
    }
    *q = '\0';
    return o;
}

static const char *find_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, n)) return s;
    return NULL;
}

size_t lib_condition_split(const char *cond)
{
    if (!cond) return 0;
    static const char *const marks[] = {"not apply", "n't apply", "not applicable",
                                        "does not hold", NULL};
    const char *best = NULL;
    for (int i = 0; marks[i]; i++) {
        const char *m = find_nocase(cond, marks[i]);
        if (m && (!best || m < best)) best = m;
    }
    if (!best) return strlen(cond);
    const char *p = best;
    while (p > cond && !strchr(".!?\n;", p[-1])) p--;
    return (size_t)(p - cond);
}

/* ---- JSON in ------------------------------------------------------------------------ */

static lib_code bad(char *err, size_t errlen, lib_code c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static lib_code bad(char *err, size_t errlen, lib_code c, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return c;
}

/* A string field: required or not, its limit, empty allowed or not. */
static lib_code get_str(const cJSON *o, const char *key, const char *name, int required,
                        int nonempty, size_t max, char **out, char *err, size_t errlen)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return bad(err, errlen, LIB_EINVALID, "%s: missing", name);
        return LIB_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return bad(err, errlen, LIB_EINVALID, "%s: must be a string", name);
    size_t n = strlen(v->valuestring);
    if (n > max)
        return bad(err, errlen, LIB_ETOOBIG, "%s: %zu bytes, over the limit of %zu", name, n, max);
    if (nonempty && n == 0) return bad(err, errlen, LIB_EINVALID, "%s: empty", name);
    *out = strdup(v->valuestring);
    if (!*out) return bad(err, errlen, LIB_ENOMEM, "%s: out of memory", name);
    return LIB_OK;
}

static lib_code get_int(const cJSON *v, const char *name, int64_t *out, char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != floor(v->valuedouble))
        return bad(err, errlen, LIB_EINVALID, "%s: must be a whole number >= 1", name);
    *out = (int64_t)v->valuedouble;
    return LIB_OK;
}

static lib_code add_label(lib_insight *o, const char *s, const char *name, char *err, size_t errlen)
{
    if (o->ntaxonomy >= LIB_MAX_TAXONOMY)
        return bad(err, errlen, LIB_EINVALID, "taxonomy: more than %d labels", LIB_MAX_TAXONOMY);
    size_t n = s ? strlen(s) : 0;
    if (!n) return bad(err, errlen, LIB_EINVALID, "%s: empty label", name);
    if (n > LIB_MAX_LABEL)
        return bad(err, errlen, LIB_ETOOBIG, "%s: %zu bytes, over the limit of %d", name, n,
                   LIB_MAX_LABEL);
    o->taxonomy[o->ntaxonomy] = strdup(s);
    if (!o->taxonomy[o->ntaxonomy]) return bad(err, errlen, LIB_ENOMEM, "out of memory");
    o->ntaxonomy++;
    return LIB_OK;
}

static lib_code get_idlist(const cJSON *a, const char *name, lib_idlist *out, char *err,
                           size_t errlen)
{
    if (!a || cJSON_IsNull(a)) return LIB_OK;
    if (!cJSON_IsArray(a)) return bad(err, errlen, LIB_EINVALID, "%s: must be an array", name);
    int n = cJSON_GetArraySize(a);
    if (n > LIB_MAX_STATS)
        return bad(err, errlen, LIB_ETOOBIG, "%s: %d entries, over the limit of %d", name, n,
                   LIB_MAX_STATS);
    out->ids = calloc((size_t)n + 1, sizeof *out->ids);
    if (!out->ids) return bad(err, errlen, LIB_ENOMEM, "out of memory");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        char id[LIB_MAX_ID + 1];
        if (cJSON_IsString(e) && e->valuestring) {
            if (strlen(e->valuestring) > LIB_MAX_ID || !*e->valuestring)
                return bad(err, errlen, LIB_EINVALID, "%s[%d]: a problem id of 1 to %d bytes",
                           name, i, LIB_MAX_ID);
            snprintf(id, sizeof id, "%s", e->valuestring);
        } else {
            return bad(err, errlen, LIB_EINVALID, "%s[%d]: must be a problem id (string)", name, i);
        }
        int dup = 0;
        for (size_t k = 0; k < out->n && !dup; k++) dup = !strcmp(out->ids[k], id);
        if (!dup && out->n < LIB_MAX_STATS) {   /* a repeated id is kept once */
            out->ids[out->n] = strdup(id);
            if (!out->ids[out->n]) return bad(err, errlen, LIB_ENOMEM, "out of memory");
            out->n++;
        }
        i++;
    }
    return LIB_OK;
}

static lib_code get_problems(const cJSON *a, lib_insight *o, char *err, size_t errlen)
{
    if (!a || cJSON_IsNull(a)) return LIB_OK;
    if (!cJSON_IsArray(a)) return bad(err, errlen, LIB_EINVALID, "problems: must be an array");
    int n = cJSON_GetArraySize(a);
    if (n > LIB_MAX_PROBLEMS)
        return bad(err, errlen, LIB_ETOOBIG, "problems: %d entries, over the limit of %d", n,
                   LIB_MAX_PROBLEMS);
    o->problems = calloc((size_t)n + 1, sizeof *o->problems);
    if (!o->problems) return bad(err, errlen, LIB_ENOMEM, "out of memory");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        char name[64];
        if (!cJSON_IsObject(e))
            return bad(err, errlen, LIB_EINVALID, "problems[%d]: must be an object {id, text}", i);
        lib_problem *p = &o->problems[o->nproblems];
        snprintf(name, sizeof name, "problems[%d].id", i);
        lib_code c = get_str(e, "id", name, 1, 1, LIB_MAX_ID, &p->id, err, errlen);
        if (c) return c;
        snprintf(name, sizeof name, "problems[%d].text", i);
        c = get_str(e, "text", name, 1, 1, LIB_MAX_FIELD, &p->text, err, errlen);
        if (c) {
            free(p->id);
            p->id = NULL;
            return c;
        }
        for (size_t k = 0; k < o->nproblems; k++)
            if (!strcmp(o->problems[k].id, p->id)) {
                free(p->id);
                free(p->text);
                p->id = p->text = NULL;
                return bad(err, errlen, LIB_EINVALID, "problems[%d].id: repeats %s", i,
                           o->problems[k].id);
            }
        o->nproblems++;
        i++;
    }
    return LIB_OK;
}

static lib_code set_extra(lib_insight *o, const cJSON *x, char *err, size_t errlen)
{
    if (!x || cJSON_IsNull(x)) return LIB_OK;
    if (!cJSON_IsObject(x)) return bad(err, errlen, LIB_EINVALID, "extra: must be an object");
    if (!x->child) return LIB_OK;
    o->extra = cJSON_PrintUnformatted(x);
    if (!o->extra) return bad(err, errlen, LIB_ENOMEM, "out of memory");
    if (strlen(o->extra) > LIB_MAX_EXTRA)
        return bad(err, errlen, LIB_ETOOBIG, "extra: %zu bytes, over the limit of %d",
                   strlen(o->extra), LIB_MAX_EXTRA);
    return LIB_OK;
}

static lib_code from_alphaopt(const cJSON *j, lib_insight *o, char *err, size_t errlen)
{
    lib_code c;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "insight_id");
    if (v && (c = get_int(v, "insight_id", &o->id, err, errlen))) return c;
    const cJSON *tax = cJSON_GetObjectItemCaseSensitive(j, "taxonomy");
    if (!cJSON_IsObject(tax) || !tax->child)
        return bad(err, errlen, LIB_EINVALID, "taxonomy: missing (an object stage -> label -> "
                   "[sub-labels])");
    /* The first path; AlphaOPT's entries have exactly one, any other is kept
     * verbatim in extra below. */
    const cJSON *stage = tax->child;
    if ((c = add_label(o, stage->string, "taxonomy (stage)", err, errlen))) return c;
    if (cJSON_IsObject(stage) && stage->child) {
        const cJSON *label = stage->child;
        if ((c = add_label(o, label->string, "taxonomy (label)", err, errlen))) return c;
        if (cJSON_IsArray(label) && label->child) {
            if (!cJSON_IsString(label->child))
                return bad(err, errlen, LIB_EINVALID, "taxonomy: sub-labels must be strings");
            if ((c = add_label(o, label->child->valuestring, "taxonomy (sub-label)", err, errlen)))
                return c;
        } else if (!cJSON_IsArray(label)) {
            return bad(err, errlen, LIB_EINVALID, "taxonomy: sub-labels must be an array");
        }
    } else if (!cJSON_IsObject(stage)) {
        return bad(err, errlen, LIB_EINVALID, "taxonomy: a stage must map to an object");
    }
    int one_path = !tax->child->next && cJSON_IsObject(stage) &&
                   (!stage->child || (!stage->child->next &&
                                      cJSON_GetArraySize(stage->child) <= 1));
    if ((c = get_str(j, "condition", "condition", 1, 1, LIB_MAX_FIELD, &o->condition, err, errlen)) ||
        (c = get_str(j, "explanation", "explanation", 1, 1, LIB_MAX_FIELD, &o->explanation, err,
                     errlen)) ||
        (c = get_str(j, "example", "example", 1, 0, LIB_MAX_FIELD, &o->example, err, errlen)))
        return c;
    v = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (v && (c = get_int(v, "version", &o->version, err, errlen))) return c;
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(j, "distribution");
    if (dist && !cJSON_IsNull(dist)) {
        if (!cJSON_IsObject(dist))
            return bad(err, errlen, LIB_EINVALID, "distribution: must be an object");
        const cJSON *e;
        cJSON_ArrayForEach(e, dist) {
            int k = 0;
            while (k < LIB_NSTATS && strcmp(e->string, lib_stat_name((lib_stat_kind)k))) k++;
            if (k == LIB_NSTATS)
                return bad(err, errlen, LIB_EINVALID, "distribution.%s: unknown list", e->string);
            char name[64];
            snprintf(name, sizeof name, "distribution.%s", e->string);
            if ((c = get_idlist(e, name, &o->stats[k], err, errlen))) return c;
        }
    }
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(j, "task_id");
    if (cJSON_IsString(tid) && strlen(tid->valuestring) <= LIB_MAX_ID && *tid->valuestring)
        o->src_problem = strdup(tid->valuestring);
    /* Everything else (iteration, occurrence, task_id, a second taxonomy
     * path...) is kept verbatim in extra. */
    cJSON *x = cJSON_CreateObject();
    if (!x || !cJSON_AddStringToObject(x, "format", "alphaopt")) {
        cJSON_Delete(x);
        return bad(err, errlen, LIB_ENOMEM, "out of memory");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        static const char *const known[] = {"insight_id", "taxonomy", "condition", "explanation",
                                            "example", "version", "distribution", NULL};
        int k = 0;
        while (known[k] && strcmp(known[k], e->string)) k++;
        if (known[k] && !(k == 1 && !one_path)) continue;
        cJSON_AddItemToObject(x, e->string, cJSON_Duplicate(e, 1));
    }
    c = set_extra(o, x, err, errlen);
    cJSON_Delete(x);
    return c;
}

lib_code lib_insight_from_json(const cJSON *j, lib_insight *o, char *err, size_t errlen)
{
    lib_code c = LIB_OK;
    if (err && errlen) err[0] = '\0';
    memset(o, 0, sizeof *o);
    if (!cJSON_IsObject(j)) return bad(err, errlen, LIB_EINVALID, "an insight must be an object");
    const cJSON *tax = cJSON_GetObjectItemCaseSensitive(j, "taxonomy");
    if (cJSON_GetObjectItemCaseSensitive(j, "insight_id") ||
        cJSON_GetObjectItemCaseSensitive(j, "distribution") || cJSON_IsObject(tax)) {
        c = from_alphaopt(j, o, err, errlen);
        goto out;
    }
    static const char *const known[] = {"id", "taxonomy", "condition", "explanation", "example",
                                        "source", "version", "stats", "created_at",
                                        "updated_at", "problems", "extra", NULL};
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        int k = 0;
        while (known[k] && strcmp(known[k], e->string)) k++;
        if (!known[k]) {
            c = bad(err, errlen, LIB_EINVALID, "%s: unknown field", e->string);
            goto out;
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (v && !cJSON_IsNull(v) && (c = get_int(v, "id", &o->id, err, errlen))) goto out;
    if (!tax) {
        c = bad(err, errlen, LIB_EINVALID, "taxonomy: missing");
        goto out;
    }
    if (!cJSON_IsArray(tax) || cJSON_GetArraySize(tax) < 1 ||
        cJSON_GetArraySize(tax) > LIB_MAX_TAXONOMY) {
        c = bad(err, errlen, LIB_EINVALID, "taxonomy: must be an array of 1 to %d labels",
                LIB_MAX_TAXONOMY);
        goto out;
    }
    int i = 0;
    cJSON_ArrayForEach(e, tax) {
        char name[32];
        snprintf(name, sizeof name, "taxonomy[%d]", i++);
        if (!cJSON_IsString(e)) {
            c = bad(err, errlen, LIB_EINVALID, "%s: must be a string", name);
            goto out;
        }
        if ((c = add_label(o, e->valuestring, name, err, errlen))) goto out;
    }
    if ((c = get_str(j, "condition", "condition", 1, 1, LIB_MAX_FIELD, &o->condition, err, errlen)) ||
        (c = get_str(j, "explanation", "explanation", 1, 1, LIB_MAX_FIELD, &o->explanation, err,
                     errlen)) ||
        (c = get_str(j, "example", "example", 1, 0, LIB_MAX_FIELD, &o->example, err, errlen)) ||
        (c = get_str(j, "created_at", "created_at", 0, 1, 64, &o->created_at, err, errlen)) ||
        (c = get_str(j, "updated_at", "updated_at", 0, 1, 64, &o->updated_at, err, errlen)))
        goto out;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    if (src && !cJSON_IsNull(src)) {
        if (!cJSON_IsObject(src)) {
            c = bad(err, errlen, LIB_EINVALID, "source: must be an object");
            goto out;
        }
        cJSON_ArrayForEach(e, src) {
            if (strcmp(e->string, "problem") && strcmp(e->string, "dataset") &&
                strcmp(e->string, "run") && strcmp(e->string, "model")) {
                c = bad(err, errlen, LIB_EINVALID, "source.%s: unknown field", e->string);
                goto out;
            }
        }
        if ((c = get_str(src, "problem", "source.problem", 0, 0, LIB_MAX_ID, &o->src_problem, err,
                         errlen)) ||
            (c = get_str(src, "dataset", "source.dataset", 0, 0, LIB_MAX_ID, &o->src_dataset, err,
                         errlen)) ||
            (c = get_str(src, "run", "source.run", 0, 0, LIB_MAX_ID, &o->src_run, err, errlen)) ||
            (c = get_str(src, "model", "source.model", 0, 0, LIB_MAX_ID, &o->src_model, err,
                         errlen)))
            goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (v && !cJSON_IsNull(v) && (c = get_int(v, "version", &o->version, err, errlen))) goto out;
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(j, "stats");
    if (stats && !cJSON_IsNull(stats)) {
        if (!cJSON_IsObject(stats)) {
            c = bad(err, errlen, LIB_EINVALID, "stats: must be an object");
            goto out;
        }
        cJSON_ArrayForEach(e, stats) {
            int k = 0;
            while (k < LIB_NSTATS && strcmp(e->string, lib_stat_name((lib_stat_kind)k))) k++;
            if (k == LIB_NSTATS) {
                c = bad(err, errlen, LIB_EINVALID, "stats.%s: unknown kind (positive, negative, "
                        "unretrieved, irrelevant, invalid)", e->string);
                goto out;
            }
            char name[64];
            snprintf(name, sizeof name, "stats.%s", e->string);
            if ((c = get_idlist(e, name, &o->stats[k], err, errlen))) goto out;
        }
    }
    if ((c = get_problems(cJSON_GetObjectItemCaseSensitive(j, "problems"), o, err, errlen)))
        goto out;
    c = set_extra(o, cJSON_GetObjectItemCaseSensitive(j, "extra"), err, errlen);
out:
    if (c) lib_insight_clear(o);
    return c;
}

/* ---- JSON out -------------------------------------------------------------------- */

cJSON *lib_insight_to_json(const lib_insight *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    if (s->id > 0) ok &= cJSON_AddNumberToObject(o, "id", (double)s->id) != NULL;
    cJSON *tax = cJSON_AddArrayToObject(o, "taxonomy");
    ok &= tax != NULL;
    for (int i = 0; ok && i < s->ntaxonomy; i++)
        ok &= cJSON_AddItemToArray(tax, cJSON_CreateString(s->taxonomy[i]));
    ok = ok && cJSON_AddStringToObject(o, "condition", s->condition ? s->condition : "") &&
         cJSON_AddStringToObject(o, "explanation", s->explanation ? s->explanation : "") &&
         cJSON_AddStringToObject(o, "example", s->example ? s->example : "");
    cJSON *src = ok ? cJSON_AddObjectToObject(o, "source") : NULL;
    ok &= src != NULL;
    if (ok && s->src_problem) ok &= cJSON_AddStringToObject(src, "problem", s->src_problem) != NULL;
    if (ok && s->src_dataset) ok &= cJSON_AddStringToObject(src, "dataset", s->src_dataset) != NULL;
    if (ok && s->src_run) ok &= cJSON_AddStringToObject(src, "run", s->src_run) != NULL;
    if (ok && s->src_model) ok &= cJSON_AddStringToObject(src, "model", s->src_model) != NULL;
    if (ok) ok &= cJSON_AddNumberToObject(o, "version", (double)(s->version > 0 ? s->version : 1)) != NULL;
    cJSON *st = ok ? cJSON_AddObjectToObject(o, "stats") : NULL;
    ok &= st != NULL;
    for (int k = 0; ok && k < LIB_NSTATS; k++) {
        if (k >= LIB_STAT_IRRELEVANT && !s->stats[k].n) continue;   /* AlphaOPT's extras */
        cJSON *a = cJSON_AddArrayToObject(st, lib_stat_name((lib_stat_kind)k));
        ok &= a != NULL;
        for (size_t i = 0; ok && i < s->stats[k].n; i++)
            ok &= cJSON_AddItemToArray(a, cJSON_CreateString(s->stats[k].ids[i]));
    }
    if (ok && s->created_at) ok &= cJSON_AddStringToObject(o, "created_at", s->created_at) != NULL;
    if (ok && s->updated_at) ok &= cJSON_AddStringToObject(o, "updated_at", s->updated_at) != NULL;
    if (ok && s->nproblems) {
        cJSON *a = cJSON_AddArrayToObject(o, "problems");
        ok &= a != NULL;
        for (size_t i = 0; ok && i < s->nproblems; i++) {
            cJSON *p = cJSON_CreateObject();
            ok &= p && cJSON_AddItemToArray(a, p) &&
                  cJSON_AddStringToObject(p, "id", s->problems[i].id) &&
                  cJSON_AddStringToObject(p, "text", s->problems[i].text);
        }
    }
    if (ok && s->extra) {
        cJSON *x = cJSON_Parse(s->extra);
        ok &= x != NULL && cJSON_AddItemToObject(o, "extra", x);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Search hits as the JSON array that `library search --json`, the MCP tool
 * and the HTTP service print: rank, score, its parts, boost, matched words
 * and the insight. NULL when out of memory; the caller owns it. */
cJSON *lib_hits_json(const lib_hit *h, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddItemToArray(a, o);
        cJSON_AddNumberToObject(o, "rank", (double)(i + 1));
        cJSON_AddNumberToObject(o, "score", h[i].score);
        cJSON *p = cJSON_AddObjectToObject(o, "parts");
        cJSON_AddNumberToObject(p, "applies", h[i].applies);
        cJSON_AddNumberToObject(p, "does_not_apply", h[i].not_applies);
        cJSON_AddNumberToObject(p, "explanation", h[i].explanation);
        cJSON_AddNumberToObject(p, "taxonomy", h[i].taxonomy);
        cJSON_AddNumberToObject(p, "problems", h[i].problems);
        cJSON_AddNumberToObject(o, "boost", h[i].boost);
        cJSON_AddStringToObject(o, "matched", h[i].matched ? h[i].matched : "");
        cJSON_AddItemToObject(o, "insight", lib_insight_to_json(&h[i].insight));
    }
    return a;
}

int lib_insight_same(const lib_insight *a, const lib_insight *b)
{
    cJSON *ja = lib_insight_to_json(a), *jb = lib_insight_to_json(b);
    int same = 0;
    if (ja && jb) {
        cJSON_DeleteItemFromObjectCaseSensitive(ja, "id");
        cJSON_DeleteItemFromObjectCaseSensitive(jb, "id");
        if (!b->created_at) cJSON_DeleteItemFromObjectCaseSensitive(ja, "created_at");
        if (!b->updated_at) cJSON_DeleteItemFromObjectCaseSensitive(ja, "updated_at");
        same = cJSON_Compare(ja, jb, 1);
    }
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return same;
}

/* ---- paths ----------------------------------------------------------------------------- */

int lib_default_path(char *buf, size_t len)
{
    const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
    int n;
    if (x && x[0] == '/') n = snprintf(buf, len, "%s/optagent/library.db", x);
    else if (h && *h) n = snprintf(buf, len, "%s/.local/share/optagent/library.db", h);
    else return -1;
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- import / export ---------------------------------------------------------------- */

static size_t line_of(const char *text, const char *at)
{
    size_t line = 1;
    for (const char *p = text; p < at && *p; p++) line += *p == '\n';
    return line;
}

lib_code lib_import_text(lib *l, const char *text, size_t len, const char *name,
                         lib_import_stats *stats, char *err, size_t errlen)
{
    lib_import_stats s = {0};
    lib_insight *v = NULL;
    size_t n = 0;
    lib_code c = LIB_OK;
    char why[512];
    if (stats) *stats = s;
    if (err && errlen) err[0] = '\0';
    if (!l || !text) return LIB_EARG;
    if (!name) name = "input";
    if (len > LIB_MAX_FILE)
        return bad(err, errlen, LIB_ETOOBIG, "%s: %zu bytes, over the import limit of %d",
                   name, len, LIB_MAX_FILE);
    if (memchr(text, '\0', len))
        return bad(err, errlen, LIB_EINVALID, "%s: contains a NUL byte (not JSON text)", name);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        if (!at || at < text || at > text + len) at = text + len;
        return bad(err, errlen, LIB_EINVALID, "%s: line %zu: not valid JSON", name,
                   line_of(text, at));
    }
    const cJSON *arr = j;
    if (cJSON_IsObject(j) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "insights")))
        arr = cJSON_GetObjectItemCaseSensitive(j, "insights");
    size_t total = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 1;
    if (!cJSON_IsArray(arr) && !cJSON_IsObject(arr)) {
        c = bad(err, errlen, LIB_EINVALID, "%s: expected an array of insights", name);
        goto out;
    }
    v = calloc(total ? total : 1, sizeof *v);
    if (!v) {
        c = bad(err, errlen, LIB_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    const cJSON *e = cJSON_IsArray(arr) ? arr->child : arr;
    for (; e && n < total; e = e->next, n++) {
        c = lib_insight_from_json(e, &v[n], why, sizeof why);
        if (c) {
            c = bad(err, errlen, c, "%s: record %zu: %s", name, n + 1, why);
            goto out;
        }
    }
    s.records = n;
    c = lib_store_import(l, v, n, &s);
    if (c) lib_errmsg(l, err, errlen);
out:
    cJSON_Delete(j);
    lib_insights_free(v, n);
    if (stats && !c) *stats = s;
    return c;
}

lib_code lib_import_file(lib *l, const char *path, lib_import_stats *stats, char *err,
                         size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!l || !path) return LIB_EARG;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return bad(err, errlen, LIB_EOPEN, "cannot read %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    lib_code c = LIB_OK;
    while (buf) {
        if (len == cap) {
            if (cap > LIB_MAX_FILE) {
                c = bad(err, errlen, LIB_ETOOBIG, "%s: over the import limit of %d bytes", path,
                        LIB_MAX_FILE);
                goto out;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    if (!buf) {
        c = bad(err, errlen, LIB_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (ferror(f)) {
        c = bad(err, errlen, LIB_EIO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    c = lib_import_text(l, buf, len, path, stats, err, errlen);
out:
    free(buf);
    if (f != stdin) fclose(f);
    return c;
}

lib_code lib_export(lib *l, cJSON **out)
{
    lib_insight *v = NULL;
    size_t n = 0;
    if (!out) return LIB_EARG;
    *out = NULL;
    lib_code c = lib_list(l, &v, &n);
    if (c) return c;
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = lib_insight_to_json(&v[i]);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    lib_insights_free(v, n);
    if (!a) return lib_fail(l, LIB_ENOMEM, "out of memory exporting");
    *out = a;
    return LIB_OK;
}

/* ---- edit ------------------------------------------------------------------------------ */

lib_code lib_edit(lib *l, int64_t id, const cJSON *fields, lib_insight *out)
{
    static const char *const editable[] = {"taxonomy", "condition", "explanation", "example",
                                           "source", "stats", "problems", "extra", NULL};
    lib_insight cur, next;
    char why[512];
    cJSON *j = NULL;
    if (out) memset(out, 0, sizeof *out);
    if (!l || !cJSON_IsObject(fields)) return LIB_EARG;
    memset(&next, 0, sizeof next);
    lib_code c = lib_get(l, id, &cur);
    if (c) return c;
    j = lib_insight_to_json(&cur);
    if (!j) {
        c = lib_fail(l, LIB_ENOMEM, "out of memory");
        goto out;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, fields) {
        if (!strcmp(e->string, "id") || !strcmp(e->string, "version")) {
            const cJSON *was = cJSON_GetObjectItemCaseSensitive(j, e->string);
            if (!cJSON_Compare(was, e, 1)) {
                c = lib_fail(l, LIB_EINVALID, "%s: cannot be changed (it is %g)", e->string,
                             was ? was->valuedouble : 0.0);
                goto out;
            }
            continue;
        }
        int k = 0;
        while (editable[k] && strcmp(editable[k], e->string)) k++;
        if (!editable[k]) {
            c = lib_fail(l, LIB_EINVALID, "%s: not a field that can be edited", e->string);
            goto out;
        }
        cJSON *dup = cJSON_Duplicate(e, 1);
        if (!dup) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory");
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(j, e->string))
            cJSON_ReplaceItemInObjectCaseSensitive(j, e->string, dup);
        else
            cJSON_AddItemToObject(j, e->string, dup);
    }
    c = lib_insight_from_json(j, &next, why, sizeof why);
    if (c) {
        c = lib_fail(l, c, "insight %lld: %s", (long long)id, why);
        goto out;
    }
    c = lib_store_replace(l, id, &next);
    if (!c && out) c = lib_get(l, id, out);
out:
    cJSON_Delete(j);
    lib_insight_clear(&cur);
    lib_insight_clear(&next);
    return c;
}

lib_code lib_stats(lib *l, cJSON **out)
{
    if (!l || !out) return LIB_EARG;
    return lib_store_stats(l, out);
}

/* ---- retrieval ---------------------------------------------------------------------- */

static const char *const stopwords[] = {
    "a", "about", "above", "after", "all", "also", "an", "and", "any", "apply", "applies",
    "are", "as", "at", "be", "been", "being", "but", "by", "can", "could", "do", "does",
    "each", "for", "from", "has", "have", "how", "if", "in", "insight", "into", "is", "it",
    "its", "may", "more", "most", "must", "no", "not", "of", "on", "one", "only", "or",
    "other", "our", "per", "should", "so", "some", "such", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "those", "to", "under", "up",
    "us", "use", "used", "we", "what", "when", "where", "which", "while", "who", "will",
    "with", "would", "you", "your", NULL,
};

static int is_stopword(const char *w)
{
    for (int i = 0; stopwords[i]; i++)
        if (!strcmp(stopwords[i], w)) return 1;
    return 0;
}

static int word_byte(unsigned char ch) { return isalnum(ch) || ch >= 0x80; }

char *lib_content_words(const char *text)
{
    char *norm = lib_index_text(text);
    if (!norm) return NULL;
    char *out = malloc(strlen(norm) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)norm; out && *p;) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        const unsigned char *s = p;
        int digits = 1;
        while (word_byte(*p)) digits &= isdigit(*p++) != 0;
        size_t k = (size_t)(p - s);
        char w[64];
        if (k < 2 || digits) continue;
        if (k < sizeof w) {   /* a longer word is no stop word */
            for (size_t i = 0; i <= k; i++) w[i] = (char)tolower(i < k ? s[i] : 0);
            if (is_stopword(w)) continue;
        }
        if (o > out) *o++ = ' ';
        for (size_t i = 0; i < k; i++) *o++ = (char)tolower(s[i]);
    }
    if (out) *o = '\0';
    free(norm);
    return out;
}

typedef struct {
    char w[LIB_MAX_QUERY_TERMS][64];
    int64_t df[LIB_MAX_QUERY_TERMS];   /* insights holding the word (select_terms) */
    int n;
} terms;

/* The distinct words of text (lower case, no stop words, no bare numbers). */
static void query_terms(const char *text, terms *t)
{
    t->n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && t->n < LIB_MAX_QUERY_TERMS;) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        char w[64];
        size_t k = 0;
        int digits = 1;
        while (word_byte(*p)) {
            if (!isdigit(*p)) digits = 0;
            if (k + 1 < sizeof w) w[k++] = (char)tolower(*p);
            p++;
        }
        /* a word cut at the buffer's end must not end inside a UTF-8 sequence */
        while (k > 0 && ((unsigned char)w[k - 1] & 0xC0) == 0xC0) k--;
        w[k] = '\0';
        if (k < 2 || digits || is_stopword(w)) continue;
        int dup = 0;
        for (int i = 0; i < t->n && !dup; i++) dup = !strcmp(t->w[i], w);
        if (!dup) memcpy(t->w[t->n++], w, k + 1);
    }
}

/* "w1" OR "w2" ...: every term quoted, and a term holds only letters, digits
 * and UTF-8 bytes, so no FTS5 syntax (quotes, operators, NEAR, column
 * filters, '*', '^') can come from the text. NULL when out of memory. */
static char *fts_expression(const terms *t)
{
    size_t cap = 1;
    for (int i = 0; i < t->n; i++) cap += strlen(t->w[i]) + 6;
    char *q = malloc(cap), *p = q;
    if (!q) return NULL;
    for (int i = 0; i < t->n; i++)
        p += sprintf(p, "%s\"%s\"", i ? " OR " : "", t->w[i]);
    *p = '\0';
    return q;
}

/* Crude stem match for showing which words matched (the index uses Porter). */
static int word_matches(const char *term, const char *word, size_t wlen)
{
    size_t tl = strlen(term);
    size_t stem = tl <= 4 ? tl : (tl - 3 > 4 ? tl - 3 : 4);
    return wlen >= stem && !strncasecmp(word, term, stem) && wlen <= tl + 4;
}

static int text_has(const char *text, const char *term)
{
    for (const unsigned char *p = (const unsigned char *)text; p && *p;) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        const unsigned char *s = p;
        while (word_byte(*p)) p++;
        if (word_matches(term, (const char *)s, (size_t)(p - s))) return 1;
    }
    return 0;
}

typedef struct { char *s; size_t len, cap; int ok; } sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (!b->ok) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->ok = 0;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* "applies: w, w; explanation: w ..." over the parts of the insight. */
static char *matched_words(const lib_insight *ins, const terms *t)
{
    size_t split = lib_condition_split(ins->condition);
    char *applies = strndup(ins->condition, split);
    char *tax = NULL;
    sbuf b = {NULL, 0, 0, 1}, tb = {NULL, 0, 0, 1};
    for (int i = 0; i < ins->ntaxonomy; i++) {
        sb_add(&tb, ins->taxonomy[i]);
        sb_add(&tb, " / ");
    }
    for (size_t i = 0; i < ins->nproblems; i++) sb_add(&tb, ""); /* keeps tb valid */
    tax = tb.s;
    sbuf pb = {NULL, 0, 0, 1};
    for (size_t i = 0; i < ins->nproblems; i++) {
        sb_add(&pb, ins->problems[i].text);
        sb_add(&pb, "\n");
    }
    const char *names[5] = {"applies", "does not apply", "explanation", "taxonomy", "problems"};
    char *ia = lib_index_text(applies), *in = lib_index_text(ins->condition + split);
    char *ie = lib_index_text(ins->explanation), *ip = lib_index_text(pb.s ? pb.s : "");
    const char *texts[5] = {ia, in, ie, tax, ip};
    for (int part = 0; part < 5; part++) {
        int first = 1;
        for (int i = 0; i < t->n; i++) {
            if (!texts[part] || !text_has(texts[part], t->w[i])) continue;
            if (first) {
                if (b.len) sb_add(&b, "; ");
                sb_add(&b, names[part]);
                sb_add(&b, ": ");
                first = 0;
            } else {
                sb_add(&b, ", ");
            }
            sb_add(&b, t->w[i]);
        }
    }
    free(applies);
    free(tax);
    free(pb.s);
    free(ia);
    free(in);
    free(ie);
    free(ip);
    if (!b.ok || !b.s) {
        free(b.s);
        return strdup("");
    }
    return b.s;
}

/* Keeps the words that tell insights apart, as a "more like this" query
 * does: words no insight holds are dropped, the others taken rarest first
 * while the insights holding them add up to at most POSTINGS_BUDGET. The
 * words left out are in a large share of the library, so their idf is small
 * and they hardly move a score, but each would make every insight holding
 * it a candidate to score: this bounds the work of a search whatever the
 * library's size. */
typedef struct { int64_t df; int i; } term_df;

static int by_df(const void *a, const void *b)
{
    const term_df *x = a, *y = b;
    if (x->df != y->df) return x->df < y->df ? -1 : 1;
    return x->i - y->i;
}

static lib_code select_terms(lib *l, terms *t)
{
    term_df d[LIB_MAX_QUERY_TERMS];
    for (int i = 0; i < t->n; i++) {
        lib_code c = lib_store_doc_freq(l, t->w[i], &d[i].df);
        if (c) return c;
        d[i].i = i;
    }
    qsort(d, (size_t)t->n, sizeof d[0], by_df);
    terms kept;
    int64_t sum = 0;
    kept.n = 0;
    for (int k = 0; k < t->n; k++) {
        if (d[k].df == 0) continue;
        if (sum + d[k].df > POSTINGS_BUDGET) break;
        sum += d[k].df;
        kept.df[kept.n] = d[k].df;
        memcpy(kept.w[kept.n++], t->w[d[k].i], sizeof kept.w[0]);
    }
    *t = kept;
    return LIB_OK;
}

typedef struct {
    int64_t id;
    double raw, score, boost;
    double parts[5];
} cand;

static int by_score(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

lib_code lib_search(lib *l, const char *text, size_t k, lib_hit **hits, size_t *n)
{
    if (hits) *hits = NULL;
    if (n) *n = 0;
    if (!l || !text || !hits || !n) return LIB_EARG;
    if (k == 0) k = LIB_DEFAULT_K;
    if (k > 1000) k = 1000;
    terms t;
    char *norm = lib_index_text(text);
    if (!norm) return lib_fail(l, LIB_ENOMEM, "out of memory");
    query_terms(norm, &t);
    free(norm);
    lib_code c = select_terms(l, &t);
    if (c) return c;
    if (t.n < MIN_TERMS) return LIB_OK;   /* nothing could pass */
    char *q = fts_expression(&t);
    if (!q) return lib_fail(l, LIB_ENOMEM, "out of memory");
    store_row *rows = NULL;
    size_t nrows = 0, nc = 0;
    cand *cs = NULL;
    lib_hit *out = NULL;
    size_t nout = 0;
    c = lib_store_match(l, q, t.df, t.n, &rows, &nrows);
    if (c) goto out;
    cs = calloc(nrows + 1, sizeof *cs);
    if (!cs) {
        c = lib_fail(l, LIB_ENOMEM, "out of memory");
        goto out;
    }
    /* BM25's idf grows with the log of the library's size: divide by the idf
     * of a word found in one insight only, so one threshold serves a library
     * of 1 insight, 60 and 10,000. */
    int64_t size = nrows ? rows[0].nrow : 0;
    double scale = log(1.0 + ((double)size - 0.5) / 1.5);
    if (scale <= 0) scale = 1.0;
    /* Candidates: those that could pass the threshold with the best boost. */
    for (size_t i = 0; i < nrows; i++) {
        if (rows[i].terms < MIN_TERMS) continue;
        double raw = (rows[i].pos - NEG_WEIGHT * rows[i].neg) / scale;
        if (raw * (BOOST_MIN + BOOST_SPAN) < THRESHOLD) continue;
        cs[nc].id = rows[i].id;
        cs[nc].raw = cs[nc].score = raw;
        memcpy(cs[nc].parts, rows[i].parts, sizeof cs[nc].parts);
        nc++;
    }
    qsort(cs, nc, sizeof *cs, by_score);
    if (nc > 4 * k) nc = 4 * k;
    for (size_t i = 0; i < nc; i++) {
        int64_t pos = 0, neg = 0;
        if ((c = lib_store_counts(l, cs[i].id, &pos, &neg))) goto out;
        cs[i].boost = BOOST_MIN + BOOST_SPAN * ((double)pos + 1) / ((double)(pos + neg) + 2);
        cs[i].score = cs[i].raw * cs[i].boost;
    }
    qsort(cs, nc, sizeof *cs, by_score);
    out = calloc(k, sizeof *out);
    if (!out) {
        c = lib_fail(l, LIB_ENOMEM, "out of memory");
        goto out;
    }
    double best = nc ? cs[0].score : 0;
    for (size_t i = 0; i < nc && nout < k; i++) {
        if (cs[i].score < THRESHOLD || cs[i].score < RELATIVE_CUT * best) break;
        lib_hit *h = &out[nout];
        if ((c = lib_get(l, cs[i].id, &h->insight))) {
            if (c == LIB_ENOTFOUND) {   /* removed meanwhile by another process */
                c = LIB_OK;
                continue;
            }
            goto out;
        }
        nout++;
        const double *parts = cs[i].parts;
        h->score = cs[i].score;
        h->boost = cs[i].boost;
        /* on the scale of the score: score = (applies*w + explanation*w + ... -
         * not_applies) * boost */
        h->applies = parts[0] / scale;
        h->not_applies = parts[1] / scale;
        h->explanation = parts[2] / scale;
        h->taxonomy = parts[3] / scale;
        h->problems = parts[4] / scale;
        h->matched = matched_words(&h->insight, &t);
        if (!h->matched) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory");
            goto out;
        }
    }
out:
    free(q);
    free(rows);
    free(cs);
    if (c || !nout) {
        lib_hits_free(out, nout);
    } else {
        *hits = out;
        *n = nout;
    }
    return c;
}
