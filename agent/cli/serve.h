/* agent/cli/serve.h — private to `optagent serve` (serve*.c), not a module
 * header: the server's state, the reply type every handler fills, and the
 * entry points of the parts in other files.
 *
 *   serve.c          the command: options, listening, signals, shutdown
 *   serve_http.c     libmicrohttpd's callbacks: bodies, limits, token,
 *                    routes, 404/405, the reply sent, metrics of each request
 *   serve_api.c      /v1/solve, /v1/ask, /v1/library/search, /healthz
 *   serve_jobs.c     /v1/jobs: persistent jobs run by batch's runner
 *   serve_metrics.c  /metrics: counters and the Prometheus text
 *   serve_mhd.c      libmicrohttpd loaded on first use
 *
 * Ownership: a serve_reply's body is malloc'd and taken over by whoever
 * sends it (serve_http.c); the server's strings are borrowed from argv or
 * owned by the server for its life. */
#ifndef OPTAGENT_AGENT_CLI_SERVE_H
#define OPTAGENT_AGENT_CLI_SERVE_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "agent/cli/cli.h"
#include "db/db.h"

#define SERVE_MAX_LLM_ARGS 16          /* LLM flags passed on to job processes */

/* What a handler answers: status, body and its type. */
typedef struct {
    int status;
    char *body;                  /* malloc'd, or NULL for none */
    size_t len;
    const char *type;            /* static Content-Type; NULL: application/json */
    const char *allow;           /* 405: the Allow header */
} serve_reply;

/* o as compact JSON (made valid UTF-8; o is deleted), with status. */
void serve_reply_json(serve_reply *r, int status, cJSON *o);
/* {"error": "..."} with status. */
void serve_reply_error(serve_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The body parsed as a JSON object: NULL after a 400 reply in r (not JSON,
 * not an object, nested deeper than cJSON allows, invalid UTF-8). */
cJSON *serve_parse_object(const char *body, size_t len, serve_reply *r);

typedef struct serve_jobs serve_jobs;

typedef struct {
    /* options */
    char host[256];
    int port;
    int threads;                 /* libmicrohttpd's pool, and as many workers */
    size_t max_body;
    double request_timeout_s;
    int max_jobs;
    int insecure;
    char token[4096];            /* "" : no token */
    size_t token_len;
    char data_dir[PATH_MAX];     /* realpath */
    char dbpath[PATH_MAX];
    char exe[PATH_MAX];          /* this program, for job processes */
    /* the LLM: configuration for /v1/ask, flags passed on to jobs */
    ag_llm_flags llm_flags;
    ag_llm_config cfg;
    int have_endpoint;
    const char *llm_args[SERVE_MAX_LLM_ARGS];   /* "--base-url", "URL", ... */
    int nllm_args;
    /* the experience library (read-only) for /v1/ask and search */
    ag_library_flags lib_flags;
    lib *library;
    char libpath[4096];
    /* run state */
    db *db;                      /* the run database (jobs' progress, reports) */
    serve_jobs *jobs;
    atomic_int inflight;         /* requests being answered */
    atomic_int stopping;
} ag_serve;

/* ---- serve_http.c ---- */
struct MHD_Daemon;
/* Starts libmicrohttpd on s->host:s->port with s->threads threads; the
 * port actually bound in *port. NULL after a message on stderr. */
struct MHD_Daemon *serve_http_start(ag_serve *s, int *port);
/* While stopping, requests already received are still answered until ms
 * (fm_clock_ms), then with 503. */
void serve_http_drain_until(double ms);
/* Stops the worker threads once they have answered every queued request
 * (503 after the stop began); call before MHD_stop_daemon. */
void serve_http_workers_stop(void);

/* ---- serve_api.c ---- */
void serve_api_healthz(ag_serve *s, serve_reply *r);
void serve_api_solve(ag_serve *s, const char *body, size_t len, serve_reply *r);
void serve_api_ask(ag_serve *s, const char *body, size_t len, serve_reply *r);
void serve_api_search(ag_serve *s, const char *query, const char *k, serve_reply *r);

/* ---- request deadlines (serve.c): *cancel is set once the deadline (in
 * fm_clock_ms milliseconds) passes. The slot for serve_deadline_end, or -1
 * when every slot is taken (the request then has no deadline but the solver
 * time limit). ---- */
int serve_deadline_begin(volatile int *cancel, double deadline_ms);
void serve_deadline_end(int slot);

/* ---- serve_jobs.c ---- */
/* Opens data_dir/jobs, queues again the jobs a previous server left
 * unfinished, starts the thread that runs them. NULL after a message. */
serve_jobs *serve_jobs_start(ag_serve *s);
/* Stops: running batch processes are told to stop (SIGTERM: their
 * unfinished problems are redone on resume), their jobs marked
 * interrupted, to resume at the next start. */
void serve_jobs_stop(serve_jobs *j);
void serve_jobs_submit(serve_jobs *j, const char *body, size_t len, serve_reply *r);
void serve_jobs_list(serve_jobs *j, serve_reply *r);
void serve_jobs_get(serve_jobs *j, const char *id, serve_reply *r);
void serve_jobs_cancel(serve_jobs *j, const char *id, serve_reply *r);
void serve_jobs_report(serve_jobs *j, const char *id, const char *format, const char *match,
                       serve_reply *r);
/* Counts by state for /metrics. */
void serve_jobs_counts(serve_jobs *j, long *queued, long *running);

/* ---- serve_metrics.c ---- */
enum {
    SERVE_ROUTE_HEALTHZ, SERVE_ROUTE_SOLVE, SERVE_ROUTE_ASK, SERVE_ROUTE_JOBS, SERVE_ROUTE_JOB,
    SERVE_ROUTE_JOB_REPORT, SERVE_ROUTE_LIBRARY_SEARCH, SERVE_ROUTE_METRICS, SERVE_ROUTE_OTHER,
    SERVE_ROUTE_COUNT
};
const char *serve_route_name(int route);
void serve_metrics_request(int route, int status, double seconds);
/* LLM calls, tokens and cache hits, from /v1/ask and from finished jobs. */
void serve_metrics_llm(long calls, long prompt_tokens, long completion_tokens, long cache_hits);
/* Job ends by final state ("finished", "failed", "cancelled", "interrupted"). */
void serve_metrics_job_end(const char *state);
void serve_metrics_job_submitted(void);
/* The Prometheus text exposition (version 0.0.4), malloc'd, in *len. */
char *serve_metrics_text(ag_serve *s, size_t *len);

/* ---- serve_mhd.c ---- */
/* NULL when libmicrohttpd is loaded (loading it now), else why not. */
const char *ag_mhd_load_error(void);

#endif
