/* agent/core/retrieve — the experience library's part of a run.
 *
 * Once per problem, before the first request: lib_search against the
 * problem text (BM25, no LLM call); with --retrieve llm a "check" request
 * (prompts/check.txt) asks which of the hits apply and keeps only those
 * listed in its {"applicable": [ids]}. The caller's candidates (learning's
 * verify) come after the kept hits. The prompt block is lib_format_for_prompt
 * of what is carried, verbatim; pipeline.c puts it into the system message,
 * which every request of the run repeats.
 *
 * Nothing here can fail a run: a search error or a check that fails (the
 * call, or a reply that is not the expected object) is recorded in
 * ag_retrieval and the run goes on, with no insights or with every hit —
 * an unreachable check must not cost the insights BM25 found. Only running
 * out of memory stops it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/internal.h"

static char *dup_s(const char *s) { return strdup(s ? s : ""); }

/* Parses the check reply into keep[] (1 for a hit listed as applicable).
 * 0, or -1 with the reason in why when the reply is malformed (keep[]
 * untouched then). */
static int parse_check(const char *reply, const lib_hit *hits, size_t nh, unsigned char *keep,
                       char *why, size_t whylen)
{
    cJSON *obj = NULL;
    char ewhy[256];
    if (ag_extract_object(reply, strlen(reply), "applicable", &obj, ewhy, sizeof ewhy) != AG_EXTRACT_OK) {
        snprintf(why, whylen, "%s", ewhy);
        return -1;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "applicable"), *e;
    int rc = 0;
    if (!cJSON_IsArray(list)) {
        snprintf(why, whylen, "\"applicable\" is not a list of ids");
        rc = -1;
    }
    for (e = rc ? NULL : list->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int64_t)e->valuedouble) {
            snprintf(why, whylen, "\"applicable\" holds something that is not an id");
            rc = -1;
            break;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < nh; i++) keep[i] = 0;
        cJSON_ArrayForEach(e, list)   /* ids that were not offered are ignored */
            for (size_t i = 0; i < nh; i++)
                if (lib_hit_id(&hits[i]) == (int64_t)e->valuedouble) keep[i] = 1;
    }
    cJSON_Delete(obj);
    return rc;
}

/* The check request: sets keep[] from its reply, or leaves every hit kept
 * and records why. -1 only when out of memory. */
static int check(const ag_chat *chat, ag_run *run, const lib_hit *hits, size_t nh,
                 unsigned char *keep, volatile int *cancel)
{
    ag_retrieval *r = &run->retrieval;
    char *list = NULL, *text = NULL;
    if (lib_format_hits(hits, nh, &list) != LIB_OK) return -1;
    const char *tmpl = ag_prompt("check");
    text = ag_template_fill(tmpl ? tmpl : "{{problem}}\n\n{{insights}}",
                            (const char *[]){ "problem", "insights" },
                            (const char *[]){ run->problem, list }, 2);
    free(list);
    if (!text) return -1;
    r->check_messages = cJSON_CreateArray();
    cJSON *m = cJSON_CreateObject();
    if (!r->check_messages || !m || !cJSON_AddStringToObject(m, "role", "user") ||
        !cJSON_AddStringToObject(m, "content", text)) {
        cJSON_Delete(m);
        free(text);
        return -1;
    }
    cJSON_AddItemToArray(r->check_messages, m);
    ag_llm_message msg = { "user", text };
    ag_chat_call call = { run->problem_id, "check", 0 };
    ag_llm_reply *reply = NULL;
    r->checked = 1;
    r->check_prompt_tokens = r->check_completion_tokens = -1;
    ag_llm_code lc = chat->fn(chat->ctx, &call, &msg, 1, cancel, &reply);
    free(text);
    if (reply) {
        r->check_prompt_tokens = reply->prompt_tokens;
        r->check_completion_tokens = reply->completion_tokens;
        r->check_latency_ms = reply->latency_ms;
        run->latency_ms += reply->latency_ms;
        if (reply->prompt_tokens > 0) run->prompt_tokens += reply->prompt_tokens;
        if (reply->completion_tokens > 0) run->completion_tokens += reply->completion_tokens;
    }
    char why[300];
    if (lc != AG_LLM_OK) {
        snprintf(why, sizeof why, "the check request failed (every hit kept): %s",
                 reply && reply->error ? reply->error : ag_llm_strerror(lc));
        r->check_error = strdup(why);
    } else {
        r->check_reply = dup_s(reply->content);
        char pwhy[256];
        if (r->check_reply && parse_check(r->check_reply, hits, nh, keep, pwhy, sizeof pwhy) != 0) {
            snprintf(why, sizeof why, "malformed check reply (every hit kept): %s", pwhy);
            r->check_error = strdup(why);
        }
    }
    ag_llm_reply_free(reply);
    return 0;
}

/* "12@3,7@1" of the carried insights. NULL when out of memory. */
static char *refs_text(const lib_insight *const *v, size_t n)
{
    char *s = malloc(n * LIB_REF_SIZE + 1);
    if (!s) return NULL;
    size_t len = 0;
    s[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char ref[LIB_REF_SIZE];
        lib_insight_ref(v[i], ref);
        len += (size_t)snprintf(s + len, LIB_REF_SIZE + 1, "%s%s", i ? "," : "", ref);
    }
    return s;
}

static ag_insight_ref ref_of(const lib_insight *ins, double score, int candidate)
{
    return (ag_insight_ref){ ins->id, ins->version > 0 ? ins->version : 1, score, candidate };
}

int agi_retrieve(const ag_chat *chat, const ag_pipeline_options *o, ag_run *run,
                 volatile int *cancel, char **block)
{
    ag_retrieval *r = &run->retrieval;
    lib_hit *hits = NULL;
    size_t nh = 0, n = 0;
    const lib_insight **v = NULL;
    unsigned char *keep = NULL;
    int rc = -1;
    *block = NULL;
    r->k = o->retrieve_k ? o->retrieve_k : LIB_DEFAULT_K;
    r->method = o->retrieve_llm ? "llm" : "bm25";
    if (o->library) {
        r->used = 1;
        lib_code lc = lib_search(o->library, run->problem, r->k, &hits, &nh);
        if (lc == LIB_ENOMEM) goto out;
        if (lc != LIB_OK) {
            char m[512];
            lib_errmsg(o->library, m, sizeof m);
            char line[600];
            snprintf(line, sizeof line, "library search failed (no insights carried): %s",
                     *m ? m : lib_strerror(lc));
            if (!(r->error = strdup(line))) goto out;
            hits = NULL;
            nh = 0;
        }
    }
    size_t nx = o->extra ? o->nextra : 0;
    r->hits = calloc(nh + 1, sizeof *r->hits);
    r->carried = calloc(nh + nx + 1, sizeof *r->carried);
    keep = malloc(nh + 1);
    v = calloc(nh + nx + 1, sizeof *v);
    if (!r->hits || !r->carried || !keep || !v) goto out;
    for (size_t i = 0; i < nh; i++) {
        r->hits[i] = ref_of(&hits[i].insight, hits[i].score, 0);
        keep[i] = 1;
    }
    r->nhits = nh;
    if (o->retrieve_llm && nh && check(chat, run, hits, nh, keep, cancel) != 0) goto out;
    for (size_t i = 0; i < nh; i++)
        if (keep[i]) { v[n] = &hits[i].insight; r->carried[n++] = r->hits[i]; }
    for (size_t i = 0; i < nx; i++)
        if (o->extra[i]) { v[n] = o->extra[i]; r->carried[n++] = ref_of(o->extra[i], 0, 1); }
    r->ncarried = n;
    if (lib_format_for_prompt(v, n, block) != LIB_OK) goto out;
    if ((r->used || nx) && !(r->refs = refs_text(v, n))) goto out;
    rc = 0;
out:
    if (rc) { free(*block); *block = NULL; }
    lib_hits_free(hits, nh);
    free(keep);
    free(v);
    return rc;
}

void agi_retrieval_clear(ag_retrieval *r)
{
    free(r->hits);
    free(r->carried);
    free(r->refs);
    free(r->error);
    cJSON_Delete(r->check_messages);
    free(r->check_reply);
    free(r->check_error);
    memset(r, 0, sizeof *r);
}

cJSON *agi_refs_json(const ag_insight_ref *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) { cJSON_Delete(o); cJSON_Delete(a); return NULL; }
        cJSON_AddNumberToObject(o, "id", (double)v[i].id);
        cJSON_AddNumberToObject(o, "version", (double)v[i].version);
        if (v[i].candidate) {
            cJSON_AddNullToObject(o, "score");
            cJSON_AddTrueToObject(o, "candidate");
        } else {
            cJSON_AddNumberToObject(o, "score", v[i].score);
        }
    }
    return a;
}

cJSON *agi_retrieval_json(const ag_retrieval *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddBoolToObject(o, "library", r->used);
    cJSON_AddStringToObject(o, "method", r->method ? r->method : "bm25");
    cJSON_AddNumberToObject(o, "k", (double)r->k);
    cJSON_AddItemToObject(o, "hits", agi_refs_json(r->hits, r->nhits));
    cJSON_AddStringToObject(o, "refs", r->refs ? r->refs : "");
    if (r->error) cJSON_AddStringToObject(o, "error", r->error);
    if (r->checked) {
        cJSON *c = cJSON_AddObjectToObject(o, "check");
        if (r->check_reply) cJSON_AddStringToObject(c, "reply", r->check_reply);
        else cJSON_AddNullToObject(c, "reply");
        if (r->check_error) cJSON_AddStringToObject(c, "error", r->check_error);
        cJSON_AddNumberToObject(c, "prompt_tokens", (double)r->check_prompt_tokens);
        cJSON_AddNumberToObject(c, "completion_tokens", (double)r->check_completion_tokens);
        cJSON_AddNumberToObject(c, "latency_ms", r->check_latency_ms);
    }
    return o;
}
