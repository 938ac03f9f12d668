/* Recorded replies keyed by (problem id, task, round), optionally also by
 * a text the request must contain ("when_contains": e.g. an insight the
 * request carried, so one file replays a problem before and after
 * learning). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "agent/llm/llm.h"

#define MAX_LINE_BYTES (8u << 20)
#define MAX_RECORDS 1000000

typedef struct {
    char *id, *task;
    int round;              /* -1: any round */
    char *content;
    char *when;             /* NULL, or a text some message must contain */
    long prompt_tokens, completion_tokens;
} record;

struct ag_replay {
    record *recs;
    size_t n, cap;
};

void ag_replay_free(ag_replay *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->recs[i].id); free(r->recs[i].task); free(r->recs[i].content);
        free(r->recs[i].when);
    }
    free(r->recs);
    free(r);
}

size_t ag_replay_count(const ag_replay *r) { return r->n; }

static int fail(char *err, size_t errlen, const char *path, size_t line, const char *why)
{
    snprintf(err, errlen, "%s:%zu: %s", path, line, why);
    return -1;
}

/* Parses one line into rec; returns 0 or -1 with err set. */
static int parse_line(const char *text, const char *path, size_t line, record *rec,
                      char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(text);
    int rc = -1;
    if (!j || !cJSON_IsObject(j)) { fail(err, errlen, path, line, "not a JSON object"); goto out; }
    const cJSON *id = cJSON_GetObjectItem(j, "id");
    const cJSON *task = cJSON_GetObjectItem(j, "task");
    if (!task) task = cJSON_GetObjectItem(j, "stage");
    const cJSON *round = cJSON_GetObjectItem(j, "round");
    const cJSON *content = cJSON_GetObjectItem(j, "content");
    const cJSON *when = cJSON_GetObjectItem(j, "when_contains");
    char idbuf[64];
    if (cJSON_IsNumber(id)) { snprintf(idbuf, sizeof idbuf, "%.0f", id->valuedouble); }
    else if (!cJSON_IsString(id)) { fail(err, errlen, path, line, "field \"id\": expected a string or a number"); goto out; }
    if (!cJSON_IsString(task)) { fail(err, errlen, path, line, "field \"task\": expected a string such as \"formulate\""); goto out; }
    if (!cJSON_IsString(content)) { fail(err, errlen, path, line, "field \"content\": expected a string"); goto out; }
    if (when && !(cJSON_IsString(when) && *when->valuestring)) {
        fail(err, errlen, path, line, "field \"when_contains\": expected a non-empty string");
        goto out;
    }
    if (round && !(cJSON_IsNumber(round) && round->valuedouble >= 0 && round->valuedouble < 1000)) {
        fail(err, errlen, path, line, "field \"round\": expected a number from 0");
        goto out;
    }
    rec->id = strdup(cJSON_IsString(id) ? id->valuestring : idbuf);
    rec->task = strdup(task->valuestring);
    rec->content = strdup(content->valuestring);
    rec->round = round ? (int)round->valuedouble : -1;
    rec->when = when ? strdup(when->valuestring) : NULL;
    const cJSON *usage = cJSON_GetObjectItem(j, "usage");
    const cJSON *pt = cJSON_GetObjectItem(usage, "prompt_tokens");
    const cJSON *ct = cJSON_GetObjectItem(usage, "completion_tokens");
    rec->prompt_tokens = cJSON_IsNumber(pt) ? (long)pt->valuedouble : -1;
    rec->completion_tokens = cJSON_IsNumber(ct) ? (long)ct->valuedouble : -1;
    if (!rec->id || !rec->task || !rec->content || (when && !rec->when)) {
        free(rec->id); free(rec->task); free(rec->content); free(rec->when);
        fail(err, errlen, path, line, "out of memory");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

ag_replay *ag_replay_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    ag_replay *r = calloc(1, sizeof *r);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int ok = r != NULL;
    while (ok && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)got > MAX_LINE_BYTES) { ok = !fail(err, errlen, path, lineno, "line too long"); break; }
        if (strspn(line, " \t\r\n") == (size_t)got) continue;
        if (r->n == MAX_RECORDS) { ok = !fail(err, errlen, path, lineno, "too many records"); break; }
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 64;
            record *nr = realloc(r->recs, nc * sizeof *nr);
            if (!nr) { ok = !fail(err, errlen, path, lineno, "out of memory"); break; }
            r->recs = nr; r->cap = nc;
        }
        if (parse_line(line, path, lineno, &r->recs[r->n], err, errlen) != 0) { ok = 0; break; }
        r->n++;
    }
    if (ok && ferror(f)) ok = !fail(err, errlen, path, lineno, "read error");
    free(line);
    fclose(f);
    if (!ok) { ag_replay_free(r); return NULL; }
    return r;
}

static int contains(const ag_llm_message *msgs, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (msgs[i].content && strstr(msgs[i].content, text)) return 1;
    return 0;
}

/* The best record for a call: a when_contains that holds beats none (one
 * that does not hold is skipped), then the exact round beats any round;
 * the first in the file among equals. */
static const record *find(const ag_replay *r, const char *id, const char *task, int round,
                          const ag_llm_message *msgs, size_t nmsgs)
{
    const record *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < r->n; i++) {
        const record *x = &r->recs[i];
        if (strcmp(x->id, id) || strcmp(x->task, task)) continue;
        if (x->round >= 0 && x->round != round) continue;
        if (x->when && !contains(msgs, nmsgs, x->when)) continue;
        int rank = (x->when ? 2 : 0) + (x->round == round);
        if (rank > best_rank) { best = x; best_rank = rank; }
    }
    return best;
}

static ag_llm_code replay_chat(void *ctx, const ag_chat_call *call, const ag_llm_message *msgs,
                               size_t nmsgs, volatile int *cancel, ag_llm_reply **out)
{
    (void)cancel;
    ag_llm_reply *rep = calloc(1, sizeof *rep);
    *out = rep;
    if (!rep) return AG_LLM_ENOMEM;
    rep->prompt_tokens = rep->completion_tokens = rep->total_tokens = -1;
    rep->attempts = 1;
    const record *x = find(ctx, call->problem_id, call->task, call->round, msgs, nmsgs);
    if (!x) {
        char buf[512];
        snprintf(buf, sizeof buf, "replay: no recorded reply for problem '%.200s', task %s, round %d",
                 call->problem_id, call->task, call->round);
        rep->error = strdup(buf);
        return AG_LLM_ERESPONSE;
    }
    rep->content = strdup(x->content);
    if (!rep->content) return AG_LLM_ENOMEM;
    rep->http_status = 200;
    rep->prompt_tokens = x->prompt_tokens;
    rep->completion_tokens = x->completion_tokens;
    if (x->prompt_tokens >= 0 && x->completion_tokens >= 0)
        rep->total_tokens = x->prompt_tokens + x->completion_tokens;
    return AG_LLM_OK;
}

ag_chat ag_chat_replay(ag_replay *r)
{
    ag_chat c = { replay_chat, r };
    return c;
}
