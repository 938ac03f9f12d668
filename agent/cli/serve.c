/* optagent serve: the HTTP service (README, "Service").
 *
 * This file is the command: it parses the options, refuses to listen
 * beyond loopback without a token (unless --insecure), opens the run
 * database, the library and the LLM configuration once, starts the jobs
 * (serve_jobs.c) and libmicrohttpd (serve_http.c), and waits for SIGTERM or
 * SIGINT. Both signals are blocked in every thread and taken by sigwait in
 * the main thread, so no handler runs inside a request. Stopping:
 *   1. new connections are refused (MHD_quiesce_daemon) and new requests
 *      on open ones get 503;
 *   2. the requests in flight finish (up to --request-timeout + 5 s);
 *   3. libmicrohttpd stops; running jobs are stopped by batch's own clean
 *      stop and marked interrupted, to resume at the next start.
 * It also holds the request deadlines: a thread that sets the cancel flag
 * of a request (ask) once its time is up. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "agent/cli/serve.h"
#include "agent/llm/llm.h"

#define DEFAULT_PORT 8750
#define DEFAULT_MAX_BODY (8u << 20)
#define MAX_THREADS 256
#define MAX_DEADLINES 1024

static const char serve_usage[] =
    "usage: optagent serve [options]\n"
    "\n"
    "Runs optagent as an HTTP service with JSON endpoints (README, \"Service\"):\n"
    "  GET /healthz, POST /v1/solve, POST /v1/ask, POST /v1/jobs, GET /v1/jobs,\n"
    "  GET /v1/jobs/ID, GET /v1/jobs/ID/report?format=md|json|html,\n"
    "  DELETE /v1/jobs/ID, GET /v1/library/search?q=..., GET /metrics\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8750; port 0:\n"
    "                         any free port); the URL is printed on stderr\n"
    "  --token-file FILE      every request but /healthz needs\n"
    "                         'Authorization: Bearer TOKEN' (the file's first line)\n"
    "  --insecure             allow listening beyond loopback without a token\n"
    "  --threads N            libmicrohttpd's thread pool, and as many workers for\n"
    "                         the requests that take time (default 8)\n"
    "  --data-dir DIR         jobs live in DIR/jobs; paths given to /v1/jobs must be\n"
    "                         inside DIR (default $XDG_DATA_HOME/optagent/serve)\n"
    "  --db PATH              the run database of the jobs (default DIR/runs.db)\n"
    "  --max-body BYTES       largest request body (default 8M; K, M, G suffixes)\n"
    "  --request-timeout S    longest time a request may take (default 60)\n"
    "  --max-jobs N           jobs running at once (default 2; more wait in a queue)\n"
    "Experience library (for /v1/ask, jobs and /v1/library/search):\n"
    "  --library PATH, --no-library, --retrieve bm25|llm, -k N   as for optagent ask\n"
    "LLM endpoint (for /v1/ask and jobs): --base-url, --model, --api-key-file,\n"
    "  --config, --temperature, --max-tokens, --seed, --timeout (as for optagent ask)\n"
    "\n"
    "SIGTERM or SIGINT stops it: requests in flight finish, running jobs are\n"
    "marked interrupted and resume at the next start.\n";

/* ---- request deadlines ---- */

static struct {
    pthread_mutex_t mu;
    volatile int *cancel[MAX_DEADLINES];
    double at[MAX_DEADLINES];
    int run;
    pthread_t thread;
} deadlines = { .mu = PTHREAD_MUTEX_INITIALIZER };

int serve_deadline_begin(volatile int *cancel, double deadline_ms)
{
    int slot = -1;
    pthread_mutex_lock(&deadlines.mu);
    for (int i = 0; i < MAX_DEADLINES && slot < 0; i++)
        if (!deadlines.cancel[i]) { slot = i; deadlines.cancel[i] = cancel; deadlines.at[i] = deadline_ms; }
    pthread_mutex_unlock(&deadlines.mu);
    return slot;
}

void serve_deadline_end(int slot)
{
    if (slot < 0) return;
    pthread_mutex_lock(&deadlines.mu);
    deadlines.cancel[slot] = NULL;
    pthread_mutex_unlock(&deadlines.mu);
}

static void *deadline_watch(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&deadlines.mu);
        int run = deadlines.run;
        double now = fm_clock_ms();
        for (int i = 0; i < MAX_DEADLINES; i++)
            if (deadlines.cancel[i] && now > deadlines.at[i]) *deadlines.cancel[i] = 1;
        pthread_mutex_unlock(&deadlines.mu);
        if (!run) return NULL;
    }
}

/* ---- options ---- */

/* "HOST:PORT", "[V6]:PORT". 0, or -1 after a usage message. */
static int parse_listen(const char *v, ag_serve *s)
{
    const char *colon = strrchr(v, ':');
    if (!colon) { ag_usage_error("serve", "--listen takes HOST:PORT, got '%s'", v); return -1; }
    const char *h = v;
    size_t hl = (size_t)(colon - v);
    if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') { h = v + 1; hl -= 2; }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!hl || hl >= sizeof s->host || end == colon + 1 || *end || port < 0 || port > 65535) {
        ag_usage_error("serve", "--listen takes HOST:PORT with a port from 0 to 65535, got '%s'", v);
        return -1;
    }
    memcpy(s->host, h, hl);
    s->host[hl] = 0;
    s->port = (int)port;
    return 0;
}

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost")) return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

/* BYTES with an optional K, M or G (powers of 1024). */
static int parse_size(const char *v, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || v[0] == '-') return -1;
    unsigned long long mult = 1;
    if (*end == 'K' || *end == 'k') mult = 1ull << 10;
    else if (*end == 'M' || *end == 'm') mult = 1ull << 20;
    else if (*end == 'G' || *end == 'g') mult = 1ull << 30;
    else if (*end) return -1;
    if (mult > 1 && end[1]) return -1;
    if (n == 0 || n > (1ull << 40) / mult) return -1;
    *out = (size_t)(n * mult);
    return 0;
}

/* The token: the file's first line without surrounding blanks. */
static int read_token(const char *path, ag_serve *s)
{
    char err[512];
    size_t len;
    char *text = ag_read_file(path, 1 << 16, &len, err, sizeof err);
    if (!text) { fprintf(stderr, "optagent serve: --token-file: %s\n", err); return -1; }
    char *p = text;
    while (*p == ' ' || *p == '\t') p++;
    size_t n = strcspn(p, "\r\n");
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    int rc = -1;
    if (!n) fprintf(stderr, "optagent serve: --token-file %s: the first line is empty\n", path);
    else if (n >= sizeof s->token) fprintf(stderr, "optagent serve: --token-file %s: the token is longer than %zu bytes\n", path, sizeof s->token - 1);
    else {
        memcpy(s->token, p, n);
        s->token[n] = 0;
        s->token_len = n;
        rc = 0;
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "optagent serve: warning: %s is readable by others (chmod 600 it)\n", path);
    }
    memset(text, 0, len);
    free(text);
    return rc;
}

/* mkdir -p. 0 or -1 (errno). */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p) { errno = ENAMETOOLONG; return -1; }
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            if (mkdir(p, 0700) != 0 && errno != EEXIST) return -1;
            *q = '/';
        }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

typedef struct {
    const char *listen, *token_file, *data_dir, *dbpath;
} serve_opts;

static int serve_args(int argc, char **argv, ag_serve *s, serve_opts *o)
{
    enum { OPT_LISTEN = 0x100, OPT_TOKEN, OPT_THREADS, OPT_DB, OPT_DATA, OPT_MAX_BODY, OPT_TIMEOUT,
           OPT_MAX_JOBS, OPT_INSECURE };
    struct option longopts[24] = {
        { "help", no_argument, NULL, 'h' }, { "listen", required_argument, NULL, OPT_LISTEN },
        { "token-file", required_argument, NULL, OPT_TOKEN }, { "threads", required_argument, NULL, OPT_THREADS },
        { "db", required_argument, NULL, OPT_DB }, { "data-dir", required_argument, NULL, OPT_DATA },
        { "max-body", required_argument, NULL, OPT_MAX_BODY },
        { "request-timeout", required_argument, NULL, OPT_TIMEOUT },
        { "max-jobs", required_argument, NULL, OPT_MAX_JOBS }, { "insecure", no_argument, NULL, OPT_INSECURE },
    };
    size_t nl = ag_args_library_options(longopts + 10, 3);
    ag_args_llm_options(longopts + 10 + nl, 10);
    ag_args args = { "serve", argc, argv, "h" AG_LIBRARY_SHORTOPTS, longopts, 0, 0, 0, 0 };
    static char flag_names[SERVE_MAX_LLM_ARGS / 2][48];
    const char *v;
    long n;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        int lr = ag_arg_library("serve", &s->lib_flags, c, v);
        if (lr < 0) return EXIT_USAGE;
        if (lr) continue;
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(serve_usage, stdout); return EXIT_SOLVED;
        case OPT_LISTEN: if (parse_listen(v, s)) return EXIT_USAGE; break;
        case OPT_TOKEN: o->token_file = v; break;
        case OPT_DB: o->dbpath = v; break;
        case OPT_DATA: o->data_dir = v; break;
        case OPT_INSECURE: s->insecure = 1; break;
        case OPT_THREADS:
            if (ag_arg_long("serve", "--threads", v, 1, MAX_THREADS, &n)) return EXIT_USAGE;
            s->threads = (int)n;
            break;
        case OPT_MAX_JOBS:
            if (ag_arg_long("serve", "--max-jobs", v, 1, 64, &n)) return EXIT_USAGE;
            s->max_jobs = (int)n;
            break;
        case OPT_MAX_BODY:
            if (parse_size(v, &s->max_body))
                return ag_usage_error("serve", "--max-body takes a size in bytes (K, M, G suffixes), got '%s'", v);
            break;
        case OPT_TIMEOUT:
            if (ag_arg_double("serve", "--request-timeout", v, 0.1, 86400, &s->request_timeout_s)) return EXIT_USAGE;
            break;
        case AG_ARG_POSITIONAL:
            return ag_usage_error("serve", "unexpected argument '%s'", v);
        default:
            if (ag_arg_llm("serve", &s->llm_flags, c, v)) return EXIT_USAGE;
            /* passed on to the jobs' batch processes as given (never a key:
             * there is no flag for one) */
            for (const struct option *lo = longopts; lo->name; lo++)
                if (lo->val == c && s->nllm_args + 2 <= SERVE_MAX_LLM_ARGS) {
                    char *name = flag_names[s->nllm_args / 2];
                    snprintf(name, sizeof flag_names[0], "--%s", lo->name);
                    s->llm_args[s->nllm_args++] = name;
                    s->llm_args[s->nllm_args++] = v;
                    break;
                }
        }
    }
    return -1;
}

/* Data dir, database, token, library, LLM configuration. 0, or -1 said. */
static int serve_open(ag_serve *s, const serve_opts *o)
{
    char err[1024];
    if (o->token_file && read_token(o->token_file, s) != 0) return -1;
    if (!s->token_len && !is_loopback(s->host) && !s->insecure) {
        fprintf(stderr, "optagent serve: refusing to listen on %s without a token: give --token-file "
                        "FILE, or --insecure to serve anyone who can reach it\n", s->host);
        return -1;
    }
    char dd[PATH_MAX];
    if (o->data_dir) snprintf(dd, sizeof dd, "%s", o->data_dir);
    else {
        const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (xdg && *xdg) snprintf(dd, sizeof dd, "%s/optagent/serve", xdg);
        else if (home && *home) snprintf(dd, sizeof dd, "%s/.local/share/optagent/serve", home);
        else { fprintf(stderr, "optagent serve: neither XDG_DATA_HOME nor HOME is set: give --data-dir\n"); return -1; }
    }
    if (make_dirs(dd) != 0 || !realpath(dd, s->data_dir)) {
        fprintf(stderr, "optagent serve: --data-dir %s: %s\n", dd, strerror(errno));
        return -1;
    }
    if (o->dbpath) snprintf(s->dbpath, sizeof s->dbpath, "%s", o->dbpath);
    else if ((size_t)snprintf(s->dbpath, sizeof s->dbpath, "%s/runs.db", s->data_dir) >= sizeof s->dbpath) {
        fprintf(stderr, "optagent serve: --data-dir: the path is too long\n");
        return -1;
    }
    db_code dc;
    s->db = db_open(s->dbpath, &dc, err, sizeof err);
    if (!s->db) { fprintf(stderr, "optagent serve: %s: %s\n", s->dbpath, err); return -1; }
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    if (n <= 0) { fprintf(stderr, "optagent serve: cannot find its own program: %s\n", strerror(errno)); return -1; }
    s->exe[n] = 0;
    ag_pipeline_options po;
    ag_pipeline_options_default(&po);
    if (ag_pipeline_options_env(&po, err, sizeof err) != 0) { fprintf(stderr, "optagent serve: %s\n", err); return -1; }
    int missing = 0;
    if (ag_library_open("serve", &s->lib_flags, &s->library, s->libpath, sizeof s->libpath, &missing) != 0) return -1;
    if (missing)
        fprintf(stderr, "optagent serve: no experience library at %s: running without insights\n", s->libpath);
    if (ag_llm_config_load(&s->llm_flags, &s->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent serve: %s\n", err);
        return -1;
    }
    s->have_endpoint = s->cfg.base_url && *s->cfg.base_url && s->cfg.model && *s->cfg.model;
    if (!s->have_endpoint)
        fprintf(stderr, "optagent serve: no LLM endpoint configured: /v1/ask answers 503 and jobs need "
                        "\"replay\" or \"offline\"\n");
    return 0;
}

/* Waits for SIGTERM or SIGINT (blocked in every thread). */
static int wait_for_signal(const sigset_t *set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0) return sig;
    }
}

static void serve_stop(ag_serve *s, struct MHD_Daemon *d)
{
    double t0 = fm_clock_ms(), grace = s->request_timeout_s * 1e3 + 5000;
    serve_http_drain_until(t0 + grace);
    atomic_store(&s->stopping, 1);
    MHD_socket lsock = MHD_quiesce_daemon(d);
    int waiting = atomic_load(&s->inflight);
    if (waiting)
        fprintf(stderr, "optagent serve: stopping: %d request%s in flight\n", waiting, waiting == 1 ? "" : "s");
    while (atomic_load(&s->inflight) > 0 && fm_clock_ms() - t0 < grace) {
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    serve_http_workers_stop();      /* drains the queue: before libmicrohttpd, which
                                       must not stop with a connection suspended */
    MHD_stop_daemon(d);
    if (lsock != MHD_INVALID_SOCKET) close(lsock);
    serve_jobs_stop(s->jobs);
    s->jobs = NULL;
}

int ag_cmd_serve(int argc, char **argv)
{
    static ag_serve s;     /* large (paths, token); one server per process */
    memset(&s, 0, sizeof s);
    snprintf(s.host, sizeof s.host, "127.0.0.1");
    s.port = DEFAULT_PORT;
    s.threads = 8;
    s.max_body = DEFAULT_MAX_BODY;
    s.request_timeout_s = 60;
    s.max_jobs = 2;
    ag_llm_config_default(&s.cfg);
    serve_opts o = { 0 };
    int rc = serve_args(argc, argv, &s, &o);
    if (rc >= 0) return rc;
    rc = EXIT_FAILED;
    struct MHD_Daemon *d = NULL;
    int deadline_thread = 0;
    /* SIGTERM and SIGINT are taken by sigwait below: blocked before any
     * thread starts, so every thread inherits the mask */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    if (serve_open(&s, &o) != 0) goto out;
    deadlines.run = 1;
    if (pthread_create(&deadlines.thread, NULL, deadline_watch, NULL) != 0) {
        fprintf(stderr, "optagent serve: cannot start a thread\n");
        goto out;
    }
    deadline_thread = 1;
    if (!(s.jobs = serve_jobs_start(&s))) goto out;
    int port;
    if (!(d = serve_http_start(&s, &port))) goto out;
    int v6 = strchr(s.host, ':') != NULL;
    fprintf(stderr, "optagent serve: listening on http://%s%s%s:%d (data %s, database %s)\n", v6 ? "[" : "",
            s.host, v6 ? "]" : "", port, s.data_dir, s.dbpath);
    int sig = wait_for_signal(&set);
    fprintf(stderr, "optagent serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    serve_stop(&s, d);
    d = NULL;
    fprintf(stderr, "optagent serve: stopped\n");
    rc = EXIT_SOLVED;
out:
    if (d) { serve_http_workers_stop(); MHD_stop_daemon(d); }
    serve_jobs_stop(s.jobs);
    if (deadline_thread) {
        pthread_mutex_lock(&deadlines.mu);
        deadlines.run = 0;
        pthread_mutex_unlock(&deadlines.mu);
        pthread_join(deadlines.thread, NULL);
    }
    lib_close(s.library);
    db_close(s.db);
    ag_llm_config_free(&s.cfg);
    memset(s.token, 0, sizeof s.token);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
