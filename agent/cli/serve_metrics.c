/* serve_metrics.c — what /metrics reports, in the Prometheus text format.
 *
 * Counters are process-wide atomics (one server per process): requests by
 * route and status code, a latency histogram per route, LLM calls, tokens
 * and cache hits, and jobs by how they ended; gauges for requests in flight
 * and jobs queued or running come from the server's state when the page is
 * built. Status codes are counted in a fixed table of the codes the server
 * sends, anything else under "other", so no input can grow the set of
 * series. Nothing here ever sees the LLM key. */
#define _GNU_SOURCE          /* open_memstream */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/serve.h"

static const int codes[] = { 200, 202, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503, 504 };
#define NCODES (sizeof codes / sizeof *codes)
static const double buckets[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define NBUCKETS (sizeof buckets / sizeof *buckets)

static atomic_ulong requests[SERVE_ROUTE_COUNT][NCODES + 1];   /* last: other codes */
static atomic_ulong latency_le[SERVE_ROUTE_COUNT][NBUCKETS];
static atomic_ulong latency_count[SERVE_ROUTE_COUNT];
static atomic_ullong latency_sum_us[SERVE_ROUTE_COUNT];
static atomic_long llm_calls, llm_prompt_tokens, llm_completion_tokens, llm_cache_hits;
static atomic_long jobs_submitted, jobs_finished, jobs_failed, jobs_cancelled, jobs_interrupted;

static const char *const route_names[SERVE_ROUTE_COUNT] = {
    "/healthz", "/v1/solve", "/v1/ask", "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/report",
    "/v1/library/search", "/metrics", "other"
};

const char *serve_route_name(int route)
{
    return route >= 0 && route < SERVE_ROUTE_COUNT ? route_names[route] : "other";
}

void serve_metrics_request(int route, int status, double seconds)
{
    if (route < 0 || route >= SERVE_ROUTE_COUNT) route = SERVE_ROUTE_OTHER;
    size_t c = NCODES;
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i] == status) c = i;
    atomic_fetch_add(&requests[route][c], 1);
    for (size_t b = 0; b < NBUCKETS; b++)
        if (seconds <= buckets[b]) atomic_fetch_add(&latency_le[route][b], 1);
    atomic_fetch_add(&latency_count[route], 1);
    atomic_fetch_add(&latency_sum_us[route], (unsigned long long)(seconds > 0 ? seconds * 1e6 : 0));
}

void serve_metrics_llm(long calls, long prompt_tokens, long completion_tokens, long cache_hits)
{
    if (calls > 0) atomic_fetch_add(&llm_calls, calls);
    if (prompt_tokens > 0) atomic_fetch_add(&llm_prompt_tokens, prompt_tokens);
    if (completion_tokens > 0) atomic_fetch_add(&llm_completion_tokens, completion_tokens);
    if (cache_hits > 0) atomic_fetch_add(&llm_cache_hits, cache_hits);
}

void serve_metrics_job_submitted(void)
{
    atomic_fetch_add(&jobs_submitted, 1);
}

void serve_metrics_job_end(const char *state)
{
    if (!strcmp(state, "finished")) atomic_fetch_add(&jobs_finished, 1);
    else if (!strcmp(state, "cancelled")) atomic_fetch_add(&jobs_cancelled, 1);
    else if (!strcmp(state, "interrupted")) atomic_fetch_add(&jobs_interrupted, 1);
    else atomic_fetch_add(&jobs_failed, 1);
}

static void counter(FILE *f, const char *name, const char *help, long v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %ld\n", name, help, name, name, v);
}

char *serve_metrics_text(ag_serve *s, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    fputs("# HELP optagent_http_requests_total HTTP requests answered, by route and status code.\n"
          "# TYPE optagent_http_requests_total counter\n", f);
    for (int r = 0; r < SERVE_ROUTE_COUNT; r++)
        for (size_t c = 0; c <= NCODES; c++) {
            unsigned long v = atomic_load(&requests[r][c]);
            if (!v) continue;
            if (c < NCODES)
                fprintf(f, "optagent_http_requests_total{route=\"%s\",code=\"%d\"} %lu\n", route_names[r], codes[c], v);
            else
                fprintf(f, "optagent_http_requests_total{route=\"%s\",code=\"other\"} %lu\n", route_names[r], v);
        }
    fputs("# HELP optagent_http_request_duration_seconds Time from the request's first byte to the reply.\n"
          "# TYPE optagent_http_request_duration_seconds histogram\n", f);
    for (int r = 0; r < SERVE_ROUTE_COUNT; r++) {
        unsigned long count = atomic_load(&latency_count[r]);
        if (!count) continue;
        for (size_t b = 0; b < NBUCKETS; b++)
            fprintf(f, "optagent_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
                    route_names[r], buckets[b], atomic_load(&latency_le[r][b]));
        fprintf(f, "optagent_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
                route_names[r], count);
        fprintf(f, "optagent_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
                atomic_load(&latency_sum_us[r]) / 1e6);
        fprintf(f, "optagent_http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_names[r], count);
    }
    fprintf(f, "# HELP optagent_http_requests_in_flight Requests being answered.\n"
               "# TYPE optagent_http_requests_in_flight gauge\noptagent_http_requests_in_flight %d\n",
            atomic_load(&s->inflight));
    counter(f, "optagent_llm_calls_total", "LLM requests made (ask, and jobs as they finish).",
            atomic_load(&llm_calls));
    fputs("# HELP optagent_llm_tokens_total LLM tokens, by kind.\n# TYPE optagent_llm_tokens_total counter\n", f);
    fprintf(f, "optagent_llm_tokens_total{kind=\"prompt\"} %ld\n", atomic_load(&llm_prompt_tokens));
    fprintf(f, "optagent_llm_tokens_total{kind=\"completion\"} %ld\n", atomic_load(&llm_completion_tokens));
    counter(f, "optagent_llm_cache_hits_total", "LLM requests answered from the response cache.",
            atomic_load(&llm_cache_hits));
    counter(f, "optagent_jobs_submitted_total", "Jobs accepted.", atomic_load(&jobs_submitted));
    fputs("# HELP optagent_jobs_ended_total Jobs that ended, by final state.\n"
          "# TYPE optagent_jobs_ended_total counter\n", f);
    fprintf(f, "optagent_jobs_ended_total{state=\"finished\"} %ld\n", atomic_load(&jobs_finished));
    fprintf(f, "optagent_jobs_ended_total{state=\"failed\"} %ld\n", atomic_load(&jobs_failed));
    fprintf(f, "optagent_jobs_ended_total{state=\"cancelled\"} %ld\n", atomic_load(&jobs_cancelled));
    fprintf(f, "optagent_jobs_ended_total{state=\"interrupted\"} %ld\n", atomic_load(&jobs_interrupted));
    long queued = 0, running = 0;
    if (s->jobs) serve_jobs_counts(s->jobs, &queued, &running);
    fputs("# HELP optagent_jobs Jobs by state now.\n# TYPE optagent_jobs gauge\n", f);
    fprintf(f, "optagent_jobs{state=\"queued\"} %ld\n", queued);
    fprintf(f, "optagent_jobs{state=\"running\"} %ld\n", running);
    if (fclose(f) != 0) { free(buf); return NULL; }
    *len = n;
    return buf;
}
