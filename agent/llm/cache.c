/* agent/llm/cache — a chat backend that keeps replies in the SQLite
 * response cache (db_cache_*) in front of another backend.
 *
 * The key is the SHA-256 of the endpoint, the model and the canonical
 * request (task, sample, sampling settings, messages): a rerun with the same
 * inputs gets the same replies with no call. A cached reply comes back as it
 * was made (its tokens and the latency measured then), cleaned again in case
 * it was stored before replies were cleaned. offline turns a miss into an
 * error instead of a call. Every call, cached or not, is told to the
 * observer (batch records it with its problem); a failed cache write is told
 * to failed (batch stops on it). Nothing is shared between calls but the db
 * handle, which db/ serializes, so one ag_chat_cache per thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "agent/llm/llm.h"
#include "db/db.h"

#define STORED_CONTENT_MAX 65536

/* The canonical request: what decides the reply; its SHA-256 is the cache
 * key. stored != 0 gives the copy kept in the cache's request_json column,
 * for people to read: assistant contents (earlier replies, stored as those
 * attempts' replies already) over STORED_CONTENT_MAX bytes are written as
 * "[N bytes, sha256 HEX]" so a large reply is not stored once more. */
static char *request_json(const ag_llm_config *cfg, const char *task, int sample,
                          const ag_llm_message *msgs, size_t n, int stored)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", task);
    if (sample) cJSON_AddNumberToObject(o, "sample", sample);   /* samples are cached apart */
    cJSON_AddStringToObject(o, "model", cfg->model ? cfg->model : "");
    cJSON_AddNumberToObject(o, "temperature", cfg->temperature);
    cJSON_AddNumberToObject(o, "max_tokens", cfg->max_tokens);
    cJSON_AddNumberToObject(o, "seed", (double)cfg->seed);
    cJSON *a = cJSON_AddArrayToObject(o, "messages");
    for (size_t i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", msgs[i].role);
        size_t len = msgs[i].content ? strlen(msgs[i].content) : 0;
        if (stored && len > STORED_CONTENT_MAX && !strcmp(msgs[i].role, "assistant")) {
            char hex[DB_KEY_SIZE], text[128];
            db_sha256_hex(msgs[i].content, len, hex);
            snprintf(text, sizeof text, "[%zu bytes, sha256 %s]", len, hex);
            cJSON_AddStringToObject(m, "content", text);
        } else {
            cJSON_AddItemToObject(m, "content", cJSON_CreateStringReference(msgs[i].content));   /* no copy */
        }
        cJSON_AddItemToArray(a, m);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The cached reply under key, or NULL (a miss; also when out of memory:
 * *nomem is then set). */
static ag_llm_reply *cache_lookup(const ag_chat_cache *c, const char *key, int *nomem)
{
    char *resp = NULL;
    ag_llm_reply *r = NULL;
    *nomem = 0;
    if (db_cache_get(c->db, key, &resp) != DB_OK) { free(resp); return NULL; }
    cJSON *j = cJSON_Parse(resp);
    free(resp);
    const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(j, "content"));
    if (!content) { cJSON_Delete(j); return NULL; }
    r = calloc(1, sizeof *r);
    if (r) {
        r->content = strdup(content);
        r->http_status = 200;
        r->attempts = 0;
        const cJSON *pt = cJSON_GetObjectItem(j, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItem(j, "completion_tokens");
        r->prompt_tokens = cJSON_IsNumber(pt) ? (long)pt->valuedouble : -1;
        r->completion_tokens = cJSON_IsNumber(ct) ? (long)ct->valuedouble : -1;
        r->total_tokens = -1;
        /* The LLM's latency when the reply was made: a cached rerun reports
         * what the evaluation measured. */
        const cJSON *lat = cJSON_GetObjectItem(j, "latency_ms");
        r->latency_ms = cJSON_IsNumber(lat) ? lat->valuedouble : 0;
    }
    cJSON_Delete(j);
    /* A cache written before replies were cleaned may still hold the key. */
    if (r && r->content && ag_reply_clean(&r->content, c->cfg->api_key) != 0) {
        free(r->content);
        r->content = NULL;
    }
    if (!r || !r->content) { *nomem = 1; ag_llm_reply_free(r); return NULL; }
    return r;
}

/* Stores a fresh reply under key. A request the cache refuses (DB_EARG: it
 * looks like it holds a key) is just not cached; a failed write is told. */
static void cache_store(const ag_chat_cache *c, const ag_chat_call *call, const char *key,
                        const ag_llm_message *msgs, size_t n, const ag_llm_reply *r)
{
    char *req = request_json(c->cfg, call->task, c->sample, msgs, n, 1);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "content", r->content);
    cJSON_AddNumberToObject(j, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(j, "completion_tokens", (double)r->completion_tokens);
    cJSON_AddNumberToObject(j, "latency_ms", r->latency_ms);
    char *s = cJSON_PrintUnformatted(j);
    db_code pc = s && req ? db_cache_put(c->db, key, c->cfg->base_url, c->cfg->model, call->task, req, s)
                   : DB_ENOMEM;
    if (pc != DB_OK && pc != DB_EARG && pc != DB_ECONSTRAINT && c->failed) {
        char err[512], line[800];
        db_errmsg(c->db, err, sizeof err);
        snprintf(line, sizeof line, "could not store a reply in the response cache: %s (%s)",
                 db_strerror(pc), err);
        c->failed(c->ctx, line);
    }
    free(s);
    free(req);
    cJSON_Delete(j);
}

static void observe(const ag_chat_cache *c, const ag_chat_call *call, const char *key, int cached,
                    ag_llm_code code, const ag_llm_reply *r)
{
    if (c->observe) c->observe(c->ctx, call, key && *key ? key : NULL, cached, code, r);
}

static ag_llm_code cached_chat(void *ctx, const ag_chat_call *call, const ag_llm_message *msgs,
                               size_t n, volatile int *cancel, ag_llm_reply **out)
{
    ag_chat_cache *c = ctx;
    char key[DB_KEY_SIZE] = "";
    *out = NULL;
    if (c->use && c->db) {
        char *req = request_json(c->cfg, call->task, c->sample, msgs, n, 0);
        if (req) db_cache_key(c->cfg->base_url, c->cfg->model, req, key);
        free(req);    /* the key is made: do not hold the request during the call */
        int nomem = 0;
        if (*key && (*out = cache_lookup(c, key, &nomem))) {
            observe(c, call, key, 1, AG_LLM_OK, *out);
            return AG_LLM_OK;
        }
        if (nomem) return AG_LLM_ENOMEM;
    }
    if (c->offline) {
        ag_llm_reply *r = calloc(1, sizeof *r);
        *out = r;
        if (r) r->error = strdup("offline: the reply is not in the cache");
        observe(c, call, key, 0, AG_LLM_ERESPONSE, r);
        return AG_LLM_ERESPONSE;
    }
    ag_llm_code code = c->inner.fn(c->inner.ctx, call, msgs, n, cancel, out);
    if (code == AG_LLM_OK && c->use && c->db && *key) cache_store(c, call, key, msgs, n, *out);
    observe(c, call, key, 0, code, *out);
    return code;
}

ag_chat ag_chat_cached(ag_chat_cache *c)
{
    ag_chat ch = { cached_chat, c };
    return ch;
}
