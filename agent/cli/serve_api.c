/* serve_api.c — the synchronous endpoints of `optagent serve`, each the
 * CLI's own code path so that the service and the commands cannot drift:
 *   POST /v1/solve            sv_run_text + ag_solve_report: `solve --json`'s
 *                             report byte for byte (200 whatever the solver
 *                             found, 422 for invalid or unsupported);
 *   POST /v1/ask              ag_pipeline_run + ag_ask_record_json: the record
 *                             `ask --json` prints;
 *   GET /v1/library/search    lib_search + lib_hits_json: what
 *                             `library search --json` prints;
 *   GET /healthz              liveness, no token needed.
 * Each request has its own LLM client and cancel flag; the library handle
 * is shared (lib_search is serialized by its mutex). A request that runs
 * past --request-timeout is cancelled by its deadline (serve.c) and answered
 * 504. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/serve.h"
#include "agent/core/core.h"
#include "agent/llm/llm.h"

#define MAX_PROBLEM_BYTES (1u << 20)   /* as optagent ask */
#define MAX_CORRECTIONS 20

void serve_api_healthz(ag_serve *s, serve_reply *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", atomic_load(&s->stopping) ? "stopping" : "ok");
    cJSON_AddStringToObject(o, "version", OPTAGENT_VERSION);
    serve_reply_json(r, 200, o);
}

void serve_api_solve(ag_serve *s, const char *body, size_t len, serve_reply *r)
{
    /* not JSON at all is a malformed request (400); JSON that is not a
     * valid formulation is the solver's to diagnose (422) */
    cJSON *check = serve_parse_object(body, len, r);
    if (!check) return;
    cJSON_Delete(check);
    sv_run_options ro;
    sv_run_options_default(&ro);
    if (s->request_timeout_s > 0 && (ro.solve.time_limit_s <= 0 || ro.solve.time_limit_s > s->request_timeout_s))
        ro.solve.time_limit_s = s->request_timeout_s;
    sv_code code;
    sv_run *run = sv_run_text(body, len, &ro, &code);
    if (!run) { serve_reply_error(r, 500, "out of memory"); return; }
    cJSON *o = ag_solve_report(run, 1);
    sv_status st = sv_run_status(run);
    sv_run_free(run);
    if (!o) { serve_reply_error(r, 500, "out of memory"); return; }
    serve_reply_json(r, st == SV_STATUS_INVALID || st == SV_STATUS_UNSUPPORTED ? 422 : 200, o);
}

/* {"problem": TEXT, "max_corrections": N}: 0 with the fields, or -1 after
 * a 400 in r. */
static int ask_input(const cJSON *in, const char **problem, int *max_corr, serve_reply *r)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(in, "problem");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(in, "max_corrections");
    const cJSON *k;
    cJSON_ArrayForEach(k, in)
        if (strcmp(k->string, "problem") && strcmp(k->string, "max_corrections")) {
            serve_reply_error(r, 400, "unknown field \"%.100s\" (fields: problem, max_corrections)", k->string);
            return -1;
        }
    if (!cJSON_IsString(p)) { serve_reply_error(r, 400, "\"problem\" must be a string"); return -1; }
    size_t n = strlen(p->valuestring);
    if (n > MAX_PROBLEM_BYTES) { serve_reply_error(r, 400, "\"problem\" is longer than %u bytes", MAX_PROBLEM_BYTES); return -1; }
    if (strspn(p->valuestring, " \t\r\n") == n) { serve_reply_error(r, 400, "\"problem\" is empty"); return -1; }
    if (mc) {
        double v = cJSON_GetNumberValue(mc);
        if (!cJSON_IsNumber(mc) || v != floor(v) || v < 0 || v > MAX_CORRECTIONS) {
            serve_reply_error(r, 400, "\"max_corrections\" must be an integer from 0 to %d", MAX_CORRECTIONS);
            return -1;
        }
        *max_corr = (int)v;
    }
    *problem = p->valuestring;
    return 0;
}

void serve_api_ask(ag_serve *s, const char *body, size_t len, serve_reply *r)
{
    cJSON *in = serve_parse_object(body, len, r);
    if (!in) return;
    ag_pipeline_options po;
    ag_pipeline_options_default(&po);
    char err[256];
    ag_pipeline_options_env(&po, err, sizeof err);    /* checked at start-up */
    const char *problem = NULL;
    int max_corr = po.max_corrections;
    ag_llm *llm = NULL;
    ag_run *run = NULL;
    if (ask_input(in, &problem, &max_corr, r) != 0) goto out;
    if (!s->have_endpoint) {
        serve_reply_error(r, 503, "no LLM endpoint configured (start the server with --base-url and "
                                  "--model, or OPTAGENT_BASE_URL and OPTAGENT_MODEL)");
        goto out;
    }
    po.max_corrections = max_corr;
    ag_library_apply(&s->lib_flags, s->library, &po);
    if (s->request_timeout_s > 0 && (po.solve.time_limit_s <= 0 || po.solve.time_limit_s > s->request_timeout_s))
        po.solve.time_limit_s = s->request_timeout_s;
    llm = ag_llm_new(&s->cfg);
    if (!llm) {
        const char *why = ag_curl_load_error();
        serve_reply_error(r, 500, "cannot start the LLM client%s%s", why ? ": " : "", why ? why : "");
        goto out;
    }
    ag_chat chat = ag_chat_direct(llm);
    volatile int cancel = 0;
    int slot = serve_deadline_begin(&cancel, fm_clock_ms() + s->request_timeout_s * 1e3);
    run = ag_pipeline_run(&chat, &po, NULL, problem, &cancel);
    serve_deadline_end(slot);
    if (!run) { serve_reply_error(r, 500, "out of memory"); goto out; }
    serve_metrics_llm(run->nattempts + run->retrieval.checked, run->prompt_tokens, run->completion_tokens, 0);
    if (cancel) {
        serve_reply_error(r, 504, "the request took longer than the server's limit of %g s", s->request_timeout_s);
        goto out;
    }
    cJSON *o = ag_ask_record_json(run, s->library, s->libpath);
    if (!o) { serve_reply_error(r, 500, "out of memory"); goto out; }
    serve_reply_json(r, 200, o);     /* prints before the run it refers to is freed */
out:
    ag_run_free(run);
    ag_llm_free(llm);
    cJSON_Delete(in);
}

void serve_api_search(ag_serve *s, const char *query, const char *k, serve_reply *r)
{
    if (!query || strspn(query, " \t\r\n") == strlen(query)) {
        serve_reply_error(r, 400, "give the problem text as ?q=...");
        return;
    }
    if (strlen(query) > MAX_PROBLEM_BYTES) { serve_reply_error(r, 400, "q is too long"); return; }
    long kk = 0;
    if (k) {
        char *end;
        kk = strtol(k, &end, 10);
        if (end == k || *end || kk < 1 || kk > AG_LIBRARY_MAX_K) {
            serve_reply_error(r, 400, "k must be an integer from 1 to %d", AG_LIBRARY_MAX_K);
            return;
        }
    }
    if (!s->library) { serve_reply_json(r, 200, cJSON_CreateArray()); return; }
    lib_hit *h = NULL;
    size_t n = 0;
    lib_code c = lib_search(s->library, query, (size_t)kk, &h, &n);
    if (c != LIB_OK) { serve_reply_error(r, 500, "library search failed: %s", lib_strerror(c)); return; }
    cJSON *a = lib_hits_json(h, n);
    lib_hits_free(h, n);
    serve_reply_json(r, 200, a);
}
