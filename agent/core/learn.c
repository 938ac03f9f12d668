/* Learning's LLM exchanges (see ../../shared/LIBRARY.md and
 * library/README.md, "Learning"): refinement of an insight's condition
 * (task refine) and, in learn_problem.c, the learning procedure of one
 * problem (solve, grade, reflect, verify).
 *
 * The library decides everything that can be decided without the LLM
 * (scores, duplicates, storage); this file only asks, reads the reply and
 * hands the result to the library. A reply that cannot be read skips its
 * insight: nothing is written on a reply that was not understood. Nothing
 * here prints; the records say what happened, the commands print them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/core.h"
#include "library/library.h"

#define MAX_OBJECT_STARTS 256   /* '{' positions tried in one reply */

/* ---- a JSON object holding a given key, out of a reply ---- */

/* Tries every '{' of s[a, b) in order: the first that parses (as far as its
 * object goes) as an object holding key wins. */
static cJSON *object_in(const char *s, size_t a, size_t b, const char *key, int *tries)
{
    for (size_t i = a; i < b && *tries < MAX_OBJECT_STARTS; i++) {
        if (s[i] != '{') continue;
        (*tries)++;
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(s + i, b - i, &end, 0);
        if (cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, key)) return j;
        cJSON_Delete(j);
    }
    return NULL;
}

cJSON *ag_reply_object(const char *reply, const char *key)
{
    if (!reply) return NULL;
    size_t len = strlen(reply);
    if (len > LIB_MAX_REPLY) return NULL;
    int tries = 0;
    /* fenced blocks first: prose before them may hold an example object */
    for (const char *f = strstr(reply, "```"); f; ) {
        const char *body = strchr(f + 3, '\n');
        if (!body) break;
        const char *close = strstr(body, "```");
        if (!close) close = reply + len;
        cJSON *j = object_in(reply, (size_t)(body - reply), (size_t)(close - reply), key, &tries);
        if (j) return j;
        f = *close ? strstr(close + 3, "```") : NULL;
    }
    return object_in(reply, 0, len, key, &tries);
}

/* ---- one exchange ---- */

/* Sends one user message as task on chat; *content (malloc'd) is the reply.
 * On failure err says why. */
static ag_code ask(const ag_chat *chat, const char *task, const char *problem_id, int round,
                   const char *text, volatile int *cancel, char **content, char *err, size_t errlen)
{
    ag_llm_message m = { "user", text };
    ag_llm_reply *r = NULL;
    ag_chat_call call = { problem_id ? problem_id : "", task, round };
    *content = NULL;
    ag_llm_code lc = chat->fn(chat->ctx, &call, &m, 1, cancel, &r);
    if (lc != AG_LLM_OK) {
        snprintf(err, errlen, "the %s request failed: %s", task,
                 r && r->error ? r->error : ag_llm_strerror(lc));
        ag_llm_reply_free(r);
        return AG_EIO;
    }
    *content = r->content ? r->content : strdup("");
    r->content = NULL;
    ag_llm_reply_free(r);
    return *content ? AG_OK : AG_ENOMEM;
}

/* ---- refinement ---- */

void ag_refine_record_clear(ag_refine_record *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nvariants; i++) free(r->variants[i].condition);
    free(r->variants);
    free(r->old_condition);
    memset(r, 0, sizeof *r);
}

/* The stored texts of the problems of one statistics list, one paragraph
 * each, or "(none)". NULL when out of memory. */
static char *problems_text(lib *l, const lib_idlist *ids)
{
    size_t len = 0, cap = 64;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = 0;
    for (size_t i = 0; i < ids->n; i++) {
        char *t = NULL;
        if (lib_problem_text(l, ids->ids[i], &t) != LIB_OK) continue;
        size_t need = len + strlen(t) + 8;
        if (need > cap) {
            char *ns = realloc(s, cap = need * 2);
            if (!ns) { free(t); free(s); return NULL; }
            s = ns;
        }
        len += (size_t)sprintf(s + len, "- %s\n\n", t);
        free(t);
    }
    if (!len) { free(s); return strdup("(none)"); }
    return s;
}

/* The refine request's text for insight in. NULL when out of memory. */
static char *refine_prompt(lib *l, const lib_insight *in)
{
    const lib_insight *one = in;
    char *block = NULL, *text = NULL;
    char *helped = problems_text(l, &in->stats[LIB_STAT_POSITIVE]);
    char *misfired = problems_text(l, &in->stats[LIB_STAT_NEGATIVE]);
    char *missed = problems_text(l, &in->stats[LIB_STAT_UNRETRIEVED]);
    const char *tmpl = ag_prompt("refine");
    if (helped && misfired && missed && tmpl && lib_format_for_prompt(&one, 1, &block) == LIB_OK) {
        const char *keys[] = { "insight", "helped", "misfired", "missed" };
        const char *vals[] = { block, helped, misfired, missed };
        text = ag_template_fill(tmpl, keys, vals, 4);
    }
    free(block); free(helped); free(misfired); free(missed);
    return text;
}

/* Reads {"conditions": [...]} into r->variants (at most k, non-empty
 * strings within LIB_MAX_FIELD). AG_EFORMAT with the reason in r->error. */
static ag_code read_conditions(const char *reply, size_t k, ag_refine_record *r)
{
    cJSON *o = ag_reply_object(reply, "conditions");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "conditions"), *c;
    ag_code rc = AG_EFORMAT;
    if (!cJSON_IsArray(a)) {
        snprintf(r->error, sizeof r->error, "the refine reply holds no {\"conditions\": [...]} object");
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(a);
    r->variants = calloc(n ? n : 1, sizeof *r->variants);
    if (!r->variants) { rc = AG_ENOMEM; goto out; }
    cJSON_ArrayForEach(c, a) {
        if (r->nvariants == k) break;
        const char *s = cJSON_GetStringValue(c);
        if (!s || !*s || strlen(s) > LIB_MAX_FIELD) continue;
        if (!(r->variants[r->nvariants].condition = strdup(s))) { rc = AG_ENOMEM; goto out; }
        r->nvariants++;
    }
    if (!r->nvariants)
        snprintf(r->error, sizeof r->error, "the refine reply's \"conditions\" holds no usable "
                 "condition (each a non-empty string of at most %d bytes)", LIB_MAX_FIELD);
    else rc = AG_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Scores every variant; the best strictly above the current wins. */
static ag_code score_and_replace(lib *l, ag_refine_record *r)
{
    double best = r->current.score;
    r->best = -1;
    for (size_t i = 0; i < r->nvariants; i++) {
        lib_code c = lib_refine_score(l, r->id, r->variants[i].condition, &r->variants[i].score);
        if (c != LIB_OK) {
            char m[400];
            lib_errmsg(l, m, sizeof m);
            snprintf(r->error, sizeof r->error, "scoring a variant: %s", m[0] ? m : lib_strerror(c));
            return AG_EIO;
        }
        if (r->variants[i].score.score > best) { best = r->variants[i].score.score; r->best = (int)i; }
    }
    if (r->best < 0) return AG_OK;
    lib_code c = lib_replace_condition(l, r->id, r->variants[r->best].condition, &r->new_version);
    if (c != LIB_OK) {
        char m[400];
        lib_errmsg(l, m, sizeof m);
        snprintf(r->error, sizeof r->error, "replacing the condition: %s", m[0] ? m : lib_strerror(c));
        r->best = -1;
        return AG_EIO;
    }
    r->replaced = 1;
    return AG_OK;
}

ag_code ag_refine_insight(const ag_chat *chat, lib *l, int64_t id, size_t k,
                          volatile int *cancel, ag_refine_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    r->best = -1;
    lib_insight in;
    char *text = NULL, *reply = NULL, idbuf[40];
    lib_code lc = lib_get(l, id, &in);
    if (lc != LIB_OK) {
        snprintf(r->error, sizeof r->error, "insight %lld: %s", (long long)id, lib_strerror(lc));
        return AG_ENOTFOUND;
    }
    ag_code rc = AG_ENOMEM;
    r->old_version = in.version;
    if (!(r->old_condition = strdup(in.condition))) goto out;
    if ((lc = lib_refine_score(l, id, NULL, &r->current)) != LIB_OK) {
        snprintf(r->error, sizeof r->error, "scoring the current condition: %s", lib_strerror(lc));
        rc = AG_EIO;
        goto out;
    }
    if (!(text = refine_prompt(l, &in))) goto out;
    snprintf(idbuf, sizeof idbuf, "insight-%lld", (long long)id);
    if ((rc = ask(chat, "refine", idbuf, 0, text, cancel, &reply, r->error, sizeof r->error)) != AG_OK)
        goto out;
    if ((rc = read_conditions(reply, k ? k : 3, r)) != AG_OK) goto out;
    rc = score_and_replace(l, r);
out:
    free(text);
    free(reply);
    lib_insight_clear(&in);
    return rc;
}
