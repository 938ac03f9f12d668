/* serve_http.c — the HTTP side of `optagent serve`, on libmicrohttpd.
 *
 * libmicrohttpd's thread pool (MHD_OPTION_THREAD_POOL_SIZE, epoll) accepts
 * and parses; idle and slow connections cost a socket and a little memory,
 * never a thread, and MHD_OPTION_CONNECTION_TIMEOUT closes the silent ones.
 * The access handler is called once when the headers are in, then once per
 * piece of body, then once more at the end:
 *   first call  the token (every route but /healthz), the route (404, 405)
 *               and a declared Content-Length over --max-body (413) are
 *               decided before any body is read, so a refused client never
 *               gets to send it (no 100 Continue);
 *   body        appended up to --max-body (a chunked body over it is
 *               discarded and answered 413 at its end); a body still
 *               arriving after the request time limit drops the connection
 *               (slowloris);
 *   last call   the handler of the route (serve_api.c, serve_jobs.c). The
 *               cheap ones (/healthz, /metrics, job status) answer at once;
 *               the others (a solve, an LLM pipeline, a job submit, a
 *               report, a search) are handed to the server's own worker
 *               threads while libmicrohttpd suspends the connection
 *               (MHD_suspend_connection), so a long request never holds a
 *               thread that other connections are waiting on; the worker
 *               resumes it and the next call sends the reply.
 * Every request counts in s->inflight from its first call to libmicrohttpd's
 * completion callback, which also records its route, code and latency for
 * /metrics. The token is compared in constant time. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "agent/cli/serve.h"
#include "agent/llm/llm.h"

#define MAX_JOB_ID 64

#define MAX_QUEUED 4096            /* requests waiting for a worker: 503 beyond */
#define MIN_BUFFER_BUDGET (256u << 20)   /* bodies held at once, all requests together:
                                            at least this, at least 4 x --max-body */

static atomic_size_t buffered;     /* body bytes held by every request */

enum { ARG_Q, ARG_K, ARG_FORMAT, ARG_MATCH, NARGS };

typedef struct request request;
struct request {
    int route;
    double t0;                 /* fm_clock_ms at the first call */
    char *body;
    size_t len, cap;
    int too_large;
    int busy;                  /* the bodies of all requests together were over budget */
    int status;                /* the reply sent (0: none yet) */
    char id[MAX_JOB_ID + 1];   /* the job of /v1/jobs/ID[/report] */
    char method[8];
    char *args[NARGS];         /* the query arguments a route reads (copies) */
    struct MHD_Connection *conn;
    atomic_int queued;         /* handed to a worker, its reply not sent yet */
    atomic_int done;           /* the worker's reply is in reply */
    serve_reply reply;
    request *next;
};

/* The workers: a FIFO of suspended requests. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head, *tail;
    size_t n;
    int stop;
    pthread_t *threads;
    int nthreads;
    ag_serve *s;
    double drain_until;        /* while stopping: queued requests still run until then */
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

void serve_reply_json(serve_reply *r, int status, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s && ag_utf8_fix(&s) != 0) { free(s); s = NULL; }
    r->status = s ? status : 500;
    r->body = s ? s : strdup("{\"error\":\"out of memory\"}");
    r->len = r->body ? strlen(r->body) : 0;
    r->type = "application/json";
}

void serve_reply_error(serve_reply *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    serve_reply_json(r, status, o);
}

/* UTF-8 as RFC 3629 allows it: no overlong forms, surrogates or values
 * above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        unsigned min, v;
        if ((c & 0xe0) == 0xc0) { k = 1; min = 0x80; v = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; min = 0x800; v = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; min = 0x10000; v = c & 0x07; }
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80) return 0;
            v = (v << 6) | (s[i + j] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
        i += k + 1;
    }
    return 1;
}

cJSON *serve_parse_object(const char *body, size_t len, serve_reply *r)
{
    if (!body || !len) { serve_reply_error(r, 400, "the request needs a JSON body"); return NULL; }
    if (!valid_utf8((const unsigned char *)body, len)) {
        serve_reply_error(r, 400, "the body is not valid UTF-8");
        return NULL;
    }
    const char *end = NULL;
    /* cJSON refuses nesting deeper than CJSON_NESTING_LIMIT (1000) instead
     * of recursing further, so deep input is an error, not a crash */
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!o) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        serve_reply_error(r, 400, "the body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        serve_reply_error(r, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* Constant-time comparison of the Authorization header with "Bearer TOKEN":
 * the time depends on the expected value's length only. */
static int token_ok(const ag_serve *s, const char *header)
{
    static const char prefix[] = "Bearer ";
    if (!header) return 0;
    size_t hl = strlen(header), pl = sizeof prefix - 1, want = pl + s->token_len;
    volatile unsigned diff = hl != want;
    for (size_t i = 0; i < want; i++) {
        unsigned char e = i < pl ? (unsigned char)prefix[i] : (unsigned char)s->token[i - pl];
        unsigned char g = i < hl ? (unsigned char)header[i] : 0;
        diff |= (unsigned)(e ^ g);
    }
    return diff == 0;
}

/* The route of url and whether method is allowed on it. Returns 0 with
 * q->route set, or -1 with a 404 or 405 in r. */
static int find_route(const char *url, const char *method, request *q, serve_reply *r)
{
    static const struct { const char *path; int route; const char *allow; } fixed[] = {
        { "/healthz", SERVE_ROUTE_HEALTHZ, "GET" },
        { "/metrics", SERVE_ROUTE_METRICS, "GET" },
        { "/v1/solve", SERVE_ROUTE_SOLVE, "POST" },
        { "/v1/ask", SERVE_ROUTE_ASK, "POST" },
        { "/v1/jobs", SERVE_ROUTE_JOBS, "GET, POST" },
        { "/v1/library/search", SERVE_ROUTE_LIBRARY_SEARCH, "GET" },
    };
    const char *allow = NULL;
    q->route = SERVE_ROUTE_OTHER;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!strcmp(url, fixed[i].path)) { q->route = fixed[i].route; allow = fixed[i].allow; }
    if (q->route == SERVE_ROUTE_OTHER && !strncmp(url, "/v1/jobs/", 9)) {
        const char *id = url + 9, *slash = strchr(id, '/');
        size_t n = slash ? (size_t)(slash - id) : strlen(id);
        if (n && n <= MAX_JOB_ID) {
            if (!slash) { q->route = SERVE_ROUTE_JOB; allow = "GET, DELETE"; }
            else if (!strcmp(slash, "/report")) { q->route = SERVE_ROUTE_JOB_REPORT; allow = "GET"; }
            memcpy(q->id, id, n);
            q->id[n] = 0;
        }
    }
    if (!allow) {
        q->route = SERVE_ROUTE_OTHER;
        serve_reply_error(r, 404, "no such endpoint");
        return -1;
    }
    /* allow is "GET", "POST", "GET, POST" or "GET, DELETE" */
    char m[16];
    snprintf(m, sizeof m, "%s", method);
    const char *hit = strstr(allow, m);
    size_t ml = strlen(m);
    if (!*m || !hit || (hit[ml] && hit[ml] != ',') || (hit != allow && hit[-1] != ' ')) {
        serve_reply_error(r, 405, "%.15s is not allowed on this endpoint (allowed: %s)", method, allow);
        r->allow = allow;
        return -1;
    }
    return 0;
}

/* Sends r (its body is taken over) and remembers the code for /metrics. */
static enum MHD_Result send_reply(struct MHD_Connection *c, request *q, serve_reply *r, int need_auth)
{
    struct MHD_Response *resp;
    if (r->body)
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) { free(r->body); return MHD_NO; }
    r->body = NULL;
    MHD_add_response_header(resp, "Content-Type", r->type ? r->type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->allow) MHD_add_response_header(resp, "Allow", r->allow);
    if (need_auth) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    q->status = r->status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* The handler of q's route, with the whole body. */
static void dispatch(ag_serve *s, request *q, serve_reply *r)
{
    switch (q->route) {
    case SERVE_ROUTE_HEALTHZ: serve_api_healthz(s, r); break;
    case SERVE_ROUTE_SOLVE: serve_api_solve(s, q->body, q->len, r); break;
    case SERVE_ROUTE_ASK: serve_api_ask(s, q->body, q->len, r); break;
    case SERVE_ROUTE_LIBRARY_SEARCH: serve_api_search(s, q->args[ARG_Q], q->args[ARG_K], r); break;
    case SERVE_ROUTE_JOBS:
        if (!strcmp(q->method, "POST")) serve_jobs_submit(s->jobs, q->body, q->len, r);
        else serve_jobs_list(s->jobs, r);
        break;
    case SERVE_ROUTE_JOB:
        if (!strcmp(q->method, "DELETE")) serve_jobs_cancel(s->jobs, q->id, r);
        else serve_jobs_get(s->jobs, q->id, r);
        break;
    case SERVE_ROUTE_JOB_REPORT:
        serve_jobs_report(s->jobs, q->id, q->args[ARG_FORMAT], q->args[ARG_MATCH], r);
        break;
    case SERVE_ROUTE_METRICS: {
        size_t n = 0;
        char *text = serve_metrics_text(s, &n);
        if (!text) { serve_reply_error(r, 500, "out of memory"); break; }
        r->status = 200;
        r->body = text;
        r->len = n;
        r->type = "text/plain; version=0.0.4; charset=utf-8";
        break;
    }
    default: serve_reply_error(r, 404, "no such endpoint");
    }
}

/* Routes that may take long: answered by a worker. */
static int slow_route(const request *q)
{
    return q->route == SERVE_ROUTE_SOLVE || q->route == SERVE_ROUTE_ASK || q->route == SERVE_ROUTE_LIBRARY_SEARCH ||
           q->route == SERVE_ROUTE_JOB_REPORT || (q->route == SERVE_ROUTE_JOBS && !strcmp(q->method, "POST"));
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.mu);
        while (!pool.head && !pool.stop) pthread_cond_wait(&pool.cv, &pool.mu);
        request *q = pool.head;
        double until = pool.drain_until;
        if (q) {
            pool.head = q->next;
            if (!pool.head) pool.tail = NULL;
            pool.n--;
        }
        pthread_mutex_unlock(&pool.mu);
        if (!q) return NULL;
        if (atomic_load(&pool.s->stopping) && fm_clock_ms() > until)
            serve_reply_error(&q->reply, 503, "the server is shutting down");
        else
            dispatch(pool.s, q, &q->reply);
        if (!q->reply.status) serve_reply_error(&q->reply, 500, "no reply");
        atomic_store(&q->done, 1);
        MHD_resume_connection(q->conn);
    }
}

/* Hands q to the workers (0), or -1 when too many wait. */
static int enqueue(request *q)
{
    pthread_mutex_lock(&pool.mu);
    int full = pool.n >= MAX_QUEUED || pool.stop;
    if (!full) {
        q->next = NULL;
        if (pool.tail) pool.tail->next = q; else pool.head = q;
        pool.tail = q;
        pool.n++;
        atomic_store(&q->queued, 1);
        pthread_cond_signal(&pool.cv);
    }
    pthread_mutex_unlock(&pool.mu);
    return full ? -1 : 0;
}

/* The first call: token, route, declared size. 1 when a reply was made. */
static int first_call(ag_serve *s, struct MHD_Connection *c, const char *url, const char *method,
                      request *q, serve_reply *r, int *need_auth)
{
    if (strcmp(url, "/healthz") && s->token_len &&
        !token_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))) {
        serve_reply_error(r, 401, "missing or wrong bearer token");
        *need_auth = 1;
        return 1;
    }
    if (find_route(url, method, q, r) != 0) return 1;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > s->max_body) {
            serve_reply_error(r, 413, "the body is larger than the server's limit of %zu bytes", s->max_body);
            return 1;
        }
    }
    if (atomic_load(&s->stopping)) {
        serve_reply_error(r, 503, "the server is shutting down");
        return 1;
    }
    return 0;
}

/* Frees q's body and gives its bytes back to the budget. */
static void release_body(request *q)
{
    atomic_fetch_sub(&buffered, q->cap);
    free(q->body);
    q->body = NULL;
    q->len = q->cap = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    ag_serve *s = cls;
    request *q = *con_cls;
    serve_reply r = { 0 };
    int need_auth = 0;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        q->t0 = fm_clock_ms();
        q->route = SERVE_ROUTE_OTHER;
        *con_cls = q;
        atomic_fetch_add(&s->inflight, 1);
        if (first_call(s, c, url, method, q, &r, &need_auth)) return send_reply(c, q, &r, need_auth);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (q->status) return MHD_YES;              /* answered already: discard */
        if (fm_clock_ms() - q->t0 > s->request_timeout_s * 1e3) return MHD_NO;   /* too slow: drop */
        size_t budget = s->max_body > MIN_BUFFER_BUDGET / 4 ? 4 * s->max_body : MIN_BUFFER_BUDGET;
        if (q->too_large || q->busy || n > s->max_body - q->len) {
            q->too_large = !q->busy;
            release_body(q);
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1) cap *= 2;
            if (atomic_fetch_add(&buffered, cap - q->cap) + (cap - q->cap) > budget) {
                atomic_fetch_sub(&buffered, cap - q->cap);
                q->busy = 1;
                release_body(q);
                return MHD_YES;
            }
            char *b = realloc(q->body, cap);
            if (!b) { atomic_fetch_sub(&buffered, cap - q->cap); return MHD_NO; }
            q->body = b;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload_data, n);
        q->len += n;
        q->body[q->len] = 0;
        return MHD_YES;
    }
    if (q->status) return MHD_YES;
    if (atomic_load(&q->queued)) {           /* resumed by its worker */
        if (!atomic_load(&q->done)) return MHD_YES;
        atomic_store(&q->queued, 0);
        return send_reply(c, q, &q->reply, 0);
    }
    if (q->too_large || q->busy) {
        if (q->busy) serve_reply_error(&r, 503, "the server holds too many request bodies; try again later");
        else serve_reply_error(&r, 413, "the body is larger than the server's limit of %zu bytes", s->max_body);
        return send_reply(c, q, &r, 0);
    }
    snprintf(q->method, sizeof q->method, "%s", method);
    static const char *const names[NARGS] = { "q", "k", "format", "match" };
    for (int i = 0; i < NARGS; i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i]);
        if (v && !(q->args[i] = strdup(v))) return MHD_NO;
    }
    if (slow_route(q)) {
        q->conn = c;
        MHD_suspend_connection(c);
        if (enqueue(q) == 0) return MHD_YES;
        MHD_resume_connection(c);
        serve_reply_error(&r, 503, "the server is busy; try again later");
        return send_reply(c, q, &r, 0);
    }
    dispatch(s, q, &r);
    if (!r.status) serve_reply_error(&r, 500, "no reply");
    return send_reply(c, q, &r, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    ag_serve *s = cls;
    request *q = *con_cls;
    if (!q) return;
    serve_metrics_request(q->route, q->status, (fm_clock_ms() - q->t0) / 1e3);
    atomic_fetch_sub(&s->inflight, 1);
    release_body(q);
    free(q->reply.body);      /* a reply never sent (the client went away) */
    for (int i = 0; i < NARGS; i++) free(q->args[i]);
    free(q);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages (a failed accept, a bad request line). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = 0;
    fprintf(stderr, "optagent serve: libmicrohttpd: %s\n", line);
}

struct MHD_Daemon *serve_http_start(ag_serve *s, int *port)
{
    const char *why = ag_mhd_load_error();
    if (why) { fprintf(stderr, "optagent serve: %s\n", why); return NULL; }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", s->port);
    int gai = getaddrinfo(s->host, portstr, &hints, &ai);
    if (gai != 0 || !ai) {
        fprintf(stderr, "optagent serve: --listen %s: %s\n", s->host, gai_strerror(gai));
        return NULL;
    }
    /* sockets are what a connection costs: leave room for the database,
     * the job processes' pipes and the library */
    struct rlimit rl;
    unsigned limit = 4096;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < limit + 128 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < limit + 128 ? rl.rlim_max : limit + 128;   /* the soft limit is often 1024 */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < limit + 128)
        limit = rl.rlim_cur > 192 ? (unsigned)rl.rlim_cur - 128 : 64;
    pool.s = s;
    pool.stop = 0;
    pool.threads = calloc((size_t)s->threads, sizeof *pool.threads);
    if (!pool.threads) { freeaddrinfo(ai); return NULL; }
    for (pool.nthreads = 0; pool.nthreads < s->threads; pool.nthreads++)
        if (pthread_create(&pool.threads[pool.nthreads], NULL, worker, NULL) != 0) break;
    if (!pool.nthreads) { fprintf(stderr, "optagent serve: cannot start a thread\n"); freeaddrinfo(ai); return NULL; }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->threads,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(s->request_timeout_s < 1 ? 1 : s->request_timeout_s + 0.5),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        fprintf(stderr, "optagent serve: cannot listen on %s:%d (in use, or not an address of this "
                        "machine?)\n", s->host, s->port);
        serve_http_workers_stop();
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : s->port;
    return d;
}

void serve_http_drain_until(double ms)
{
    pthread_mutex_lock(&pool.mu);
    pool.drain_until = ms;
    pthread_mutex_unlock(&pool.mu);
}

void serve_http_workers_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.nthreads; i++) pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
}
