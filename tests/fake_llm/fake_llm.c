/* tests/fake_llm — a scripted, OpenAI-compatible chat-completions server for
 * the test suite (no machine here reaches the internet).
 *
 *   fake_llm --script FILE.json [--log FILE.jsonl] [--port N]
 *            [--max-seconds S] [--max-body BYTES] [--max-connections N]
 *            [--watch-stdin]
 *
 * Binds 127.0.0.1, prints "PORT <n>\n" on stdout, then serves HTTP/1.1 with
 * keep-alive, one thread per connection, until SIGTERM/SIGINT, POST
 * /_shutdown, EOF on stdin (--watch-stdin) or the lifetime runs out. The
 * script format, the faults and the log are described in README.md beside
 * this file.
 *
 * Every wait (idle keep-alive, delay_ms, stall) polls a "stop" pipe whose
 * write end is closed at shutdown, so no connection thread can hold the
 * process up. Exit status: 0 after a normal shutdown, 2 on bad arguments or
 * a bad script, 3 when connection threads did not finish in time.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- limits ------------------------------------------------------------- */

#define HEAD_CAP         (64 * 1024)        /* request line + headers */
#define MAX_HEADERS      128
#define DEFAULT_MAX_BODY (8u * 1024 * 1024)
#define SCRIPT_CAP       (16 * 1024 * 1024)
#define MAX_TASK_KEYS    256                /* distinct keys in by_task */
#define TASK_KEY_CAP     128
#define IDLE_MS          60000              /* keep-alive idle timeout */
#define PARTIAL_MS       30000              /* a request half received */
#define WRITE_MS         10000              /* a blocked send */
#define DEFAULT_STALL_MS 30000
#define MAX_DELAY_MS     3600000
#define THREAD_STACK     (1024 * 1024)
#define SHUTDOWN_WAIT_MS 5000
#define LINGER_MS        1000               /* draining a closing connection */
#define LINGER_CAP       (16 * 1024 * 1024)

/* ---- global state ---------------------------------------------------------- */

static struct {
    cJSON *script;
    const cJSON *rules;        /* array or NULL */
    const cJSON *deflt;        /* reply object or NULL */
    int nrules;
    long *hits;                /* per rule */
    FILE *log;
    int stop_rd, stop_wr;      /* stop_wr closed at shutdown */
    int sig_rd, sig_wr;        /* signals and /_shutdown write a byte */
    double t0;
    size_t max_body;
    int max_conns;

    pthread_mutex_t mu;        /* guards everything below, and the log */
    long seq;
    long requests;
    cJSON *by_task;
    int in_flight, max_in_flight;
    int active_conns;
    long total_conns;
} G = {
    .stop_rd = -1, .stop_wr = -1, .sig_rd = -1, .sig_wr = -1,
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void fl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fl_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fake_llm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- a capped growing buffer ----------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap, limit;
    int over;                  /* something did not fit under limit */
} sbuf;

static int sb_add(sbuf *b, const char *p, size_t n)
{
    if (b->over) return -1;
    if (b->len + n + 1 > b->limit) {
        b->over = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        if (nc > b->limit) nc = b->limit;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->over = 1;
            return -1;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static int sb_str(sbuf *b, const char *s) { return sb_add(b, s, strlen(s)); }

static int sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->over = 1;
        return -1;
    }
    return sb_add(b, tmp, (size_t)n);
}

/* ---- small string helpers ------------------------------------------------------ */

static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0) return hay;
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return p;
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* ---- waiting and socket I/O ------------------------------------------------------- */

static int ms_until(double end)
{
    double left = end - now_ms();
    if (left <= 0) return 0;
    if (left > (double)INT_MAX) return INT_MAX;
    return (int)left + 1;
}

/* 1: fd ready for ev; 0: timed out; -1: shutdown (or poll failed). */
static int wait_io(int fd, short ev, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = ev}, {.fd = G.stop_rd, .events = POLLIN}};
        int n = poll(p, 2, ms_until(end));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (p[1].revents) return -1;
        if (p[0].revents) return 1;
        if (now_ms() >= end) return 0;
    }
}

/* Sleeps ms unless shutdown comes first (-1). With watch_fd >= 0 it also
 * returns -2 as soon as that client has closed or reset its connection. */
static int pause_ms(long ms, int watch_fd)
{
    double end = now_ms() + (double)ms;
    for (;;) {
        struct pollfd p[2] = {{.fd = G.stop_rd, .events = POLLIN}, {.fd = watch_fd, .events = POLLIN}};
        int n = poll(p, watch_fd >= 0 ? 2 : 1, ms_until(end));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (p[0].revents) return -1;
        if (watch_fd >= 0 && p[1].revents) {
            char c;
            ssize_t r = recv(watch_fd, &c, 1, MSG_PEEK);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return -2;
            if (r > 0) watch_fd = -1;   /* client sent more: stop watching it */
        }
        if (now_ms() >= end) return 0;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_io(fd, POLLOUT, WRITE_MS) != 1) return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

/* ---- connections and requests ----------------------------------------------------- */

typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
} conn;

typedef struct {
    char *name;    /* lowercased, points into head */
    char *value;   /* trimmed, points into head */
} header;

typedef struct {
    char *head;               /* NUL-separated copy of the head */
    char method[16];
    char *target;             /* points into head */
    char *path;               /* target without query, malloc'd */
    int http10;
    header hdrs[MAX_HEADERS];
    int nhdrs;
    char *body;               /* malloc'd, NUL-terminated */
    size_t body_len;
    int keep_alive;
} request;

static void request_free(request *rq)
{
    free(rq->head);
    free(rq->path);
    free(rq->body);
    memset(rq, 0, sizeof *rq);
}

static const char *get_header(const request *rq, const char *name)
{
    for (int i = 0; i < rq->nhdrs; i++)
        if (strcmp(rq->hdrs[i].name, name) == 0) return rq->hdrs[i].value;
    return NULL;
}

/* Reads more bytes, keeping c->len <= limit. >0 read, 0 EOF, -1 error,
 * timeout or shutdown. */
static ssize_t conn_fill(conn *c, size_t limit, int timeout_ms)
{
    if (c->len >= limit) return -1;
    if (c->cap < limit) {
        size_t nc = c->cap ? c->cap : 16384;
        while (nc < limit && nc - c->len < 65536) nc *= 2;
        if (nc > limit) nc = limit;
        if (nc > c->cap) {
            char *nb = realloc(c->buf, nc);
            if (!nb) return -1;
            c->buf = nb;
            c->cap = nc;
        }
    }
    size_t room = (c->cap < limit ? c->cap : limit) - c->len;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, room, 0);
        if (r > 0) {
            c->len += (size_t)r;
            return r;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (wait_io(c->fd, POLLIN, timeout_ms) != 1) return -1;
    }
}

static int send_raw_response(int fd, int status, const char *ctype,
                             const char *extra, const char *body, size_t blen,
                             size_t send_body, int keep)
{
    sbuf h = {.limit = HEAD_CAP};
    sb_printf(&h, "HTTP/1.1 %d %s\r\n", status, reason(status));
    sb_printf(&h, "Content-Type: %s\r\n", ctype ? ctype : "application/json");
    sb_printf(&h, "Content-Length: %zu\r\n", blen);
    sb_str(&h, "Server: fake_llm\r\n");
    if (extra) sb_str(&h, extra);
    sb_str(&h, keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    int rc = -1;
    if (h.over) goto out;
    if (send_body > blen) send_body = blen;
    if (sb_add(&h, body, send_body) != 0) {
        /* too big for one buffer: two writes */
        h.over = 0;
        h.len = strlen(h.s);
        if (write_all(fd, h.s, h.len) != 0) goto out;
        rc = write_all(fd, body, send_body);
        goto out;
    }
    rc = write_all(fd, h.s, h.len);
out:
    free(h.s);
    return rc;
}

/* An OpenAI-style error body. */
static char *error_body(int status, const char *message)
{
    const char *type = status >= 500 ? "server_error"
                     : status == 429 ? "rate_limit_error"
                     : "invalid_request_error";
    const char *code = status == 429 ? "rate_limit_exceeded"
                     : status == 401 ? "invalid_api_key"
                     : NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    char *out = NULL;
    if (!err) goto out;
    cJSON_AddStringToObject(err, "message", message);
    cJSON_AddStringToObject(err, "type", type);
    cJSON_AddNullToObject(err, "param");
    if (code) cJSON_AddStringToObject(err, "code", code);
    else cJSON_AddNullToObject(err, "code");
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

static int send_error(int fd, int status, const char *message, int keep)
{
    char *b = error_body(status, message);
    int rc = -1;
    if (b) rc = send_raw_response(fd, status, NULL, NULL, b, strlen(b), strlen(b), keep);
    free(b);
    return rc;
}

static int is_tchar(int ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Parses the head (c->buf[0..head_len)) into rq. Returns 0, or an HTTP
 * status to answer with and *why. */
static int parse_head(const char *buf, size_t head_len, request *rq, const char **why)
{
    *why = "malformed request";
    if (memchr(buf, '\0', head_len)) return 400;
    rq->head = malloc(head_len + 1);
    if (!rq->head) {
        *why = "out of memory";
        return 500;
    }
    memcpy(rq->head, buf, head_len);
    rq->head[head_len] = '\0';

    char *line = rq->head;
    char *eol = strstr(line, "\r\n");
    if (!eol) return 400;
    *eol = '\0';
    /* request line: METHOD SP target SP HTTP/1.x */
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof rq->method) return 400;
    for (char *p = line; p < sp1; p++)
        if (*p < 'A' || *p > 'Z') return 400;
    memcpy(rq->method, line, (size_t)(sp1 - line));
    rq->method[sp1 - line] = '\0';
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || sp2 == target || target[0] != '/') return 400;
    *sp2 = '\0';
    for (char *p = target; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) return 400;
    const char *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") == 0) rq->http10 = 0;
    else if (strcmp(version, "HTTP/1.0") == 0) rq->http10 = 1;
    else {
        *why = "unsupported HTTP version";
        return 400;
    }
    rq->target = target;
    size_t plen = strcspn(target, "?#");
    rq->path = malloc(plen + 1);
    if (!rq->path) {
        *why = "out of memory";
        return 500;
    }
    memcpy(rq->path, target, plen);
    rq->path[plen] = '\0';

    /* header lines, up to the empty line */
    for (line = eol + 2;; line = eol + 2) {
        eol = strstr(line, "\r\n");
        if (!eol) return 400;
        *eol = '\0';
        if (*line == '\0') break;
        if (rq->nhdrs >= MAX_HEADERS) {
            *why = "too many header fields";
            return 431;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            *why = "malformed header field";
            return 400;
        }
        for (char *p = line; p < colon; p++) {
            if (!is_tchar((unsigned char)*p)) {
                *why = "malformed header field name";
                return 400;
            }
            *p = (char)tolower((unsigned char)*p);
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        char *e = v + strlen(v);
        while (e > v && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        for (char *p = v; *p; p++)
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
                *why = "control character in a header field";
                return 400;
            }
        rq->hdrs[rq->nhdrs].name = line;
        rq->hdrs[rq->nhdrs].value = v;
        rq->nhdrs++;
    }
    return 0;
}

/* Parses every Content-Length field. 0 with *len, or a status. */
static int content_length(const request *rq, size_t max_body, size_t *len, const char **why)
{
    int seen = 0;
    size_t val = 0;
    *len = 0;
    for (int i = 0; i < rq->nhdrs; i++) {
        if (strcmp(rq->hdrs[i].name, "content-length") != 0) continue;
        const char *v = rq->hdrs[i].value;
        if (!*v || strlen(v) > 18) {
            *why = "bad Content-Length";
            return strlen(v) > 18 && strspn(v, "0123456789") == strlen(v) ? 413 : 400;
        }
        size_t x = 0;
        for (const char *p = v; *p; p++) {
            if (*p < '0' || *p > '9') {
                *why = "bad Content-Length";
                return 400;
            }
            x = x * 10 + (size_t)(*p - '0');
        }
        if (seen && x != val) {
            *why = "conflicting Content-Length fields";
            return 400;
        }
        seen = 1;
        val = x;
    }
    if (val > max_body) {
        *why = "request body too large";
        return 413;
    }
    *len = val;
    return 0;
}

/* Reads one request. 1: rq is ready; 0: close the connection (an error
 * response has been sent when one was due). */
static int read_request(conn *c, request *rq)
{
    memset(rq, 0, sizeof *rq);
    size_t head_len = 0;
    for (;;) {
        /* ignore empty lines before a request line */
        size_t skip = 0;
        while (skip + 1 < c->len && c->buf[skip] == '\r' && c->buf[skip + 1] == '\n') skip += 2;
        if (skip) {
            memmove(c->buf, c->buf + skip, c->len - skip);
            c->len -= skip;
        }
        for (size_t i = 0; i + 3 < c->len; i++)
            if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
                head_len = i + 4;
                break;
            }
        if (head_len) break;
        if (c->len >= HEAD_CAP) {
            send_error(c->fd, 431, "request head too large", 0);
            return 0;
        }
        ssize_t n = conn_fill(c, HEAD_CAP, c->len == 0 ? IDLE_MS : PARTIAL_MS);
        if (n <= 0) return 0;
    }

    const char *why = NULL;
    int st = parse_head(c->buf, head_len, rq, &why);
    if (st) {
        send_error(c->fd, st, why, 0);
        request_free(rq);
        return 0;
    }
    if (get_header(rq, "transfer-encoding")) {
        send_error(c->fd, 411, "Transfer-Encoding request bodies are not supported; send Content-Length", 0);
        request_free(rq);
        return 0;
    }
    size_t blen = 0;
    st = content_length(rq, G.max_body, &blen, &why);
    if (st) {
        send_error(c->fd, st, why, 0);
        request_free(rq);
        return 0;
    }
    const char *conn_h = get_header(rq, "connection");
    if (rq->http10) rq->keep_alive = conn_h && find_ci(conn_h, "keep-alive");
    else rq->keep_alive = !(conn_h && find_ci(conn_h, "close"));

    size_t total = head_len + blen;
    if (c->len < total) {
        const char *expect = get_header(rq, "expect");
        if (expect && strcasecmp(expect, "100-continue") == 0 && !rq->http10) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (write_all(c->fd, cont, sizeof cont - 1) != 0) {
                request_free(rq);
                return 0;
            }
        }
    }
    while (c->len < total) {
        ssize_t n = conn_fill(c, total, PARTIAL_MS);
        if (n <= 0) {
            request_free(rq);
            return 0;
        }
    }
    rq->body = malloc(blen + 1);
    if (!rq->body) {
        send_error(c->fd, 500, "out of memory", 0);
        request_free(rq);
        return 0;
    }
    memcpy(rq->body, c->buf + head_len, blen);
    rq->body[blen] = '\0';
    rq->body_len = blen;
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    return 1;
}

/* ---- script: replies and rules --------------------------------------------------- */

typedef enum {
    F_NONE, F_RESET, F_CLOSE, F_STALL, F_STALL_HEADERS, F_STALL_BODY,
    F_TRUNCATE, F_NOT_JSON, F_EMPTY_CHOICES, F_NO_CONTENT
} fault_kind;

static const struct { const char *name; fault_kind kind; } faults[] = {
    {"reset", F_RESET}, {"close", F_CLOSE}, {"stall", F_STALL},
    {"stall_headers", F_STALL_HEADERS}, {"stall_body", F_STALL_BODY},
    {"truncate", F_TRUNCATE}, {"not_json", F_NOT_JSON},
    {"empty_choices", F_EMPTY_CHOICES}, {"no_content", F_NO_CONTENT},
};

static int fault_lookup(const char *name, fault_kind *k)
{
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        if (strcmp(faults[i].name, name) == 0) {
            *k = faults[i].kind;
            return 0;
        }
    return -1;
}

typedef struct {
    int status;
    const cJSON *content;       /* string or null item; NULL: "" */
    long delay_ms, stall_ms;
    fault_kind fault;
    const char *fault_name;
    const cJSON *retry_after;   /* number or string, or NULL */
    const cJSON *usage;         /* object, null item (omit), or NULL (defaults) */
    const char *body;           /* raw body, or NULL */
    const cJSON *headers;       /* object of strings, or NULL */
    const cJSON *finish_reason; /* string or null item; NULL: "stop" */
    const char *content_type;
} reply_spec;

static const char *const reply_keys[] = {
    "content", "status", "delay_ms", "stall_ms", "fault", "retry_after", "usage",
    "body", "headers", "finish_reason", "content_type", "comment", NULL,
};

static int key_allowed(const char *k, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(k, *keys) == 0) return 1;
    return 0;
}

static int header_value_ok(const char *s)
{
    if (strlen(s) > 1000) return 0;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

static int check_int(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == (double)(long)v->valuedouble;
}

/* Validates a REPLY; a string REPLY is replaced by {"content": string} in
 * its parent (pass parent plus key, or array index when key is NULL). */
static int check_reply(cJSON *parent, const char *key, int index, const char *where)
{
    cJSON *r = key ? cJSON_GetObjectItemCaseSensitive(parent, key) : cJSON_GetArrayItem(parent, index);
    if (cJSON_IsString(r)) {
        cJSON *obj = cJSON_CreateObject();
        if (!obj || !cJSON_AddStringToObject(obj, "content", r->valuestring)) {
            cJSON_Delete(obj);
            return -1;
        }
        if (key) cJSON_ReplaceItemInObjectCaseSensitive(parent, key, obj);
        else cJSON_ReplaceItemInArray(parent, index, obj);
        return 0;
    }
    if (!cJSON_IsObject(r)) {
        fl_warn("%s: a reply must be an object or a string", where);
        return -1;
    }
    for (cJSON *it = r->child; it; it = it->next) {
        if (!key_allowed(it->string, reply_keys)) {
            fl_warn("%s: unknown reply field \"%s\"", where, it->string);
            return -1;
        }
        const char *k = it->string;
        int ok = 1;
        if (strcmp(k, "content") == 0 || strcmp(k, "finish_reason") == 0)
            ok = cJSON_IsString(it) || cJSON_IsNull(it);
        else if (strcmp(k, "status") == 0) ok = check_int(it, 100, 599);
        else if (strcmp(k, "delay_ms") == 0 || strcmp(k, "stall_ms") == 0)
            ok = check_int(it, 0, MAX_DELAY_MS);
        else if (strcmp(k, "fault") == 0) {
            fault_kind fk;
            ok = cJSON_IsNull(it) || (cJSON_IsString(it) && fault_lookup(it->valuestring, &fk) == 0);
            if (!ok) {
                fl_warn("%s: unknown fault (known: reset close stall stall_headers stall_body "
                      "truncate not_json empty_choices no_content)", where);
                return -1;
            }
        } else if (strcmp(k, "retry_after") == 0)
            ok = cJSON_IsNull(it) || (cJSON_IsNumber(it) && it->valuedouble >= 0) ||
                 (cJSON_IsString(it) && header_value_ok(it->valuestring));
        else if (strcmp(k, "usage") == 0) {
            ok = cJSON_IsNull(it) || cJSON_IsObject(it);
            for (cJSON *u = cJSON_IsObject(it) ? it->child : NULL; u && ok; u = u->next)
                ok = (strcmp(u->string, "prompt_tokens") == 0 ||
                      strcmp(u->string, "completion_tokens") == 0 ||
                      strcmp(u->string, "total_tokens") == 0) && check_int(u, 0, 1e12);
        } else if (strcmp(k, "body") == 0) ok = cJSON_IsString(it);
        else if (strcmp(k, "content_type") == 0)
            ok = cJSON_IsString(it) && header_value_ok(it->valuestring);
        else if (strcmp(k, "headers") == 0) {
            ok = cJSON_IsObject(it);
            for (cJSON *h = ok ? it->child : NULL; h && ok; h = h->next) {
                ok = cJSON_IsString(h) && header_value_ok(h->valuestring) && h->string[0];
                for (const char *p = h->string; ok && *p; p++) ok = is_tchar((unsigned char)*p);
            }
        }
        if (!ok) {
            fl_warn("%s: bad value for reply field \"%s\"", where, k);
            return -1;
        }
    }
    return 0;
}

static const char *const rule_keys[] = {"match", "reply", "sequence", "times", "comment", "name", NULL};
static const char *const match_keys[] = {"task", "body_contains", "content_contains", "header_contains",
                                         "model", "path_contains", NULL};
static const char *const top_keys[] = {"rules", "default", "comment", NULL};

static int load_script(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    int rc = -1;
    char where[64];
    if (!f) {
        fl_warn("cannot open script %s: %s", path, strerror(errno));
        return -1;
    }
    text = malloc(SCRIPT_CAP + 1);
    if (!text) goto out;
    size_t n = fread(text, 1, SCRIPT_CAP + 1, f);
    if (n > SCRIPT_CAP) {
        fl_warn("script %s is larger than %d bytes", path, SCRIPT_CAP);
        goto out;
    }
    const char *end = NULL;
    G.script = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!G.script) {
        fl_warn("script %s is not valid JSON (near byte %ld)", path,
              end ? (long)(end - text) : -1L);
        goto out;
    }
    if (!cJSON_IsObject(G.script)) {
        fl_warn("script %s: the top level must be an object", path);
        goto out;
    }
    for (cJSON *it = G.script->child; it; it = it->next)
        if (!key_allowed(it->string, top_keys)) {
            fl_warn("script: unknown top-level field \"%s\" (known: rules, default, comment)", it->string);
            goto out;
        }
    if (cJSON_GetObjectItemCaseSensitive(G.script, "default") &&
        check_reply(G.script, "default", 0, "default") != 0)
        goto out;
    G.deflt = cJSON_GetObjectItemCaseSensitive(G.script, "default");
    cJSON *rules = cJSON_GetObjectItemCaseSensitive(G.script, "rules");
    if (rules && !cJSON_IsArray(rules)) {
        fl_warn("script: \"rules\" must be an array");
        goto out;
    }
    G.rules = rules;
    G.nrules = rules ? cJSON_GetArraySize(rules) : 0;
    int i = 0;
    for (cJSON *r = rules ? rules->child : NULL; r; r = r->next, i++) {
        snprintf(where, sizeof where, "rule %d", i);
        if (!cJSON_IsObject(r)) {
            fl_warn("%s: must be an object", where);
            goto out;
        }
        for (cJSON *it = r->child; it; it = it->next)
            if (!key_allowed(it->string, rule_keys)) {
                fl_warn("%s: unknown field \"%s\" (known: match reply sequence times comment name)",
                      where, it->string);
                goto out;
            }
        cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "match");
        if (m && !cJSON_IsObject(m)) {
            fl_warn("%s: \"match\" must be an object", where);
            goto out;
        }
        for (cJSON *it = m ? m->child : NULL; it; it = it->next) {
            if (!key_allowed(it->string, match_keys)) {
                fl_warn("%s: unknown match field \"%s\" (known: task body_contains content_contains "
                      "header_contains model path_contains)", where, it->string);
                goto out;
            }
            if (!cJSON_IsString(it)) {
                fl_warn("%s: match field \"%s\" must be a string", where, it->string);
                goto out;
            }
        }
        cJSON *times = cJSON_GetObjectItemCaseSensitive(r, "times");
        if (times && !check_int(times, 0, 1e12)) {
            fl_warn("%s: \"times\" must be an integer >= 0", where);
            goto out;
        }
        int has_reply = cJSON_GetObjectItemCaseSensitive(r, "reply") != NULL;
        cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "sequence");
        if (has_reply == (seq != NULL)) {
            fl_warn("%s: give exactly one of \"reply\" and \"sequence\"", where);
            goto out;
        }
        if (has_reply && check_reply(r, "reply", 0, where) != 0) goto out;
        if (seq) {
            if (!cJSON_IsArray(seq) || cJSON_GetArraySize(seq) == 0) {
                fl_warn("%s: \"sequence\" must be a non-empty array", where);
                goto out;
            }
            for (int k = 0; k < cJSON_GetArraySize(seq); k++) {
                char w2[96];
                snprintf(w2, sizeof w2, "%s sequence[%d]", where, k);
                if (check_reply(seq, NULL, k, w2) != 0) goto out;
            }
        }
    }
    G.hits = calloc((size_t)(G.nrules > 0 ? G.nrules : 1), sizeof *G.hits);
    if (!G.hits) goto out;
    rc = 0;
out:
    if (f) fclose(f);
    free(text);
    return rc;
}

static void reply_spec_from(const cJSON *r, reply_spec *s)
{
    memset(s, 0, sizeof *s);
    s->status = 200;
    s->stall_ms = DEFAULT_STALL_MS;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "status"))) s->status = (int)v->valuedouble;
    s->content = cJSON_GetObjectItemCaseSensitive(r, "content");
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "delay_ms"))) s->delay_ms = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "stall_ms"))) s->stall_ms = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "fault")) && cJSON_IsString(v) &&
        fault_lookup(v->valuestring, &s->fault) == 0)
        s->fault_name = v->valuestring;
    v = cJSON_GetObjectItemCaseSensitive(r, "retry_after");
    s->retry_after = cJSON_IsNull(v) ? NULL : v;
    s->usage = cJSON_GetObjectItemCaseSensitive(r, "usage");
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "body"))) s->body = v->valuestring;
    s->headers = cJSON_GetObjectItemCaseSensitive(r, "headers");
    s->finish_reason = cJSON_GetObjectItemCaseSensitive(r, "finish_reason");
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "content_type"))) s->content_type = v->valuestring;
}

/* What the matcher looks at. */
typedef struct {
    const request *rq;
    const char *task;
    const char *model;
    const char *contents;     /* decoded message contents joined by "\n" */
} match_input;

static int header_line_contains(const request *rq, const char *needle)
{
    char line[HEAD_CAP];
    for (int i = 0; i < rq->nhdrs; i++) {
        snprintf(line, sizeof line, "%s: %s", rq->hdrs[i].name, rq->hdrs[i].value);
        if (find_ci(line, needle)) return 1;
    }
    return 0;
}

static int rule_matches(const cJSON *rule, const match_input *in)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(rule, "match");
    for (const cJSON *it = m ? m->child : NULL; it; it = it->next) {
        const char *k = it->string, *want = it->valuestring;
        if (strcmp(k, "task") == 0) {
            if (!in->task || strcmp(in->task, want) != 0) return 0;
        } else if (strcmp(k, "model") == 0) {
            if (!in->model || strcmp(in->model, want) != 0) return 0;
        } else if (strcmp(k, "body_contains") == 0) {
            if (!strstr(in->rq->body, want)) return 0;
        } else if (strcmp(k, "content_contains") == 0) {
            if (!in->contents || !strstr(in->contents, want)) return 0;
        } else if (strcmp(k, "header_contains") == 0) {
            if (!header_line_contains(in->rq, want)) return 0;
        } else if (strcmp(k, "path_contains") == 0) {
            if (!strstr(in->rq->target, want)) return 0;
        }
    }
    return 1;
}

/* Picks the reply; call with G.mu held. *rule_index is -1 for the default
 * (or no reply at all). */
static const cJSON *pick_reply(const match_input *in, int *rule_index)
{
    int i = 0;
    *rule_index = -1;
    for (const cJSON *r = G.rules ? G.rules->child : NULL; r; r = r->next, i++) {
        const cJSON *times = cJSON_GetObjectItemCaseSensitive(r, "times");
        if (times && (double)G.hits[i] >= times->valuedouble) continue;
        if (!rule_matches(r, in)) continue;
        long k = G.hits[i]++;
        *rule_index = i;
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "sequence");
        if (!seq) return cJSON_GetObjectItemCaseSensitive(r, "reply");
        int n = cJSON_GetArraySize(seq);
        return cJSON_GetArrayItem(seq, k < n ? (int)k : n - 1);
    }
    return G.deflt;
}

/* ---- the log and the counters ---------------------------------------------------- */

static void count_task_locked(const char *task)
{
    char key[TASK_KEY_CAP];
    snprintf(key, sizeof key, "%s", task ? task : "(none)");
    cJSON *it = cJSON_GetObjectItemCaseSensitive(G.by_task, key);
    if (!it && cJSON_GetArraySize(G.by_task) >= MAX_TASK_KEYS) {
        snprintf(key, sizeof key, "(other)");
        it = cJSON_GetObjectItemCaseSensitive(G.by_task, key);
    }
    if (it) cJSON_SetNumberValue(it, it->valuedouble + 1);
    else cJSON_AddNumberToObject(G.by_task, key, 1);
}

/* Counts the request and writes its log line; call with G.mu held. Returns
 * the sequence number. */
static long log_request_locked(const request *rq, const char *task, int rule,
                               int status, const char *fault)
{
    long seq = ++G.seq;
    G.requests++;
    count_task_locked(task);
    if (!G.log) return seq;
    cJSON *o = cJSON_CreateObject();
    char *line = NULL;
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddStringToObject(o, "method", rq->method);
    cJSON_AddStringToObject(o, "path", rq->target);
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    if (!h) goto out;
    for (int i = 0; i < rq->nhdrs; i++) {
        cJSON *prev = cJSON_GetObjectItemCaseSensitive(h, rq->hdrs[i].name);
        if (prev) {   /* a repeated field: join the values with ", " */
            size_t n = strlen(prev->valuestring) + 2 + strlen(rq->hdrs[i].value) + 1;
            char *joined = malloc(n);
            if (!joined) continue;
            snprintf(joined, n, "%s, %s", prev->valuestring, rq->hdrs[i].value);
            cJSON_ReplaceItemInObjectCaseSensitive(h, rq->hdrs[i].name, cJSON_CreateString(joined));
            free(joined);
        } else {
            cJSON_AddStringToObject(h, rq->hdrs[i].name, rq->hdrs[i].value);
        }
    }
    cJSON_AddStringToObject(o, "body", rq->body ? rq->body : "");
    if (task) cJSON_AddStringToObject(o, "task", task);
    else cJSON_AddNullToObject(o, "task");
    cJSON_AddNumberToObject(o, "time_ms", (double)(long long)((now_ms() - G.t0) * 1000.0) / 1000.0);
    cJSON_AddNumberToObject(o, "rule", rule);
    cJSON_AddNumberToObject(o, "status", status);
    if (fault) cJSON_AddStringToObject(o, "fault", fault);
    else cJSON_AddNullToObject(o, "fault");
    line = cJSON_PrintUnformatted(o);
    if (line) {
        fputs(line, G.log);
        fputc('\n', G.log);
        fflush(G.log);
    }
out:
    free(line);
    cJSON_Delete(o);
    return seq;
}

static void log_simple(const request *rq, int status)
{
    pthread_mutex_lock(&G.mu);
    log_request_locked(rq, get_header(rq, "x-optagent-task"), -1, status, NULL);
    pthread_mutex_unlock(&G.mu);
}

/* ---- handlers ---------------------------------------------------------------------- */

static int send_json(int fd, int status, cJSON *body, int keep)
{
    char *s = cJSON_PrintUnformatted(body);
    int rc = -1;
    if (s) rc = send_raw_response(fd, status, NULL, NULL, s, strlen(s), strlen(s), keep);
    else rc = send_error(fd, 500, "out of memory", keep);
    free(s);
    return rc;
}

static int handle_stats(conn *c, const request *rq)
{
    cJSON *o = cJSON_CreateObject();
    pthread_mutex_lock(&G.mu);
    cJSON_AddNumberToObject(o, "requests", (double)G.requests);
    cJSON_AddItemToObject(o, "by_task", cJSON_Duplicate(G.by_task, 1));
    cJSON_AddNumberToObject(o, "max_concurrent", G.max_in_flight);
    cJSON_AddNumberToObject(o, "in_flight", G.in_flight);
    cJSON_AddNumberToObject(o, "connections", (double)G.total_conns);
    cJSON_AddNumberToObject(o, "open_connections", G.active_conns);
    cJSON *hits = cJSON_AddArrayToObject(o, "rule_hits");
    for (int i = 0; hits && i < G.nrules; i++)
        cJSON_AddItemToArray(hits, cJSON_CreateNumber((double)G.hits[i]));
    pthread_mutex_unlock(&G.mu);
    int rc = send_json(c->fd, 200, o, rq->keep_alive);
    cJSON_Delete(o);
    return rc == 0 && rq->keep_alive;
}

static void request_shutdown(void)
{
    char b = 'x';
    ssize_t r = write(G.sig_wr, &b, 1);
    (void)r;
}

/* Decoded contents of every message, joined by "\n" (capped by the body size,
 * since decoding never makes text longer). */
static char *joined_contents(const cJSON *messages, size_t body_len)
{
    sbuf b = {.limit = body_len + 64};
    sb_str(&b, "");
    int first = 1;
    for (const cJSON *m = messages->child; m; m = m->next) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!first) sb_str(&b, "\n");
        first = 0;
        if (cJSON_IsString(content)) {
            sb_str(&b, content->valuestring);
        } else if (cJSON_IsArray(content)) {
            for (const cJSON *part = content->child; part; part = part->next) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
                if (cJSON_IsString(t)) sb_str(&b, t->valuestring);
            }
        }
    }
    if (b.over) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static char *envelope(const reply_spec *s, const char *model, long seq)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    char id[64];
    snprintf(id, sizeof id, "chatcmpl-fake-%ld", seq);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    cJSON_AddStringToObject(o, "model", model ? model : "fake-model");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    if (!choices) goto out;
    if (s->fault != F_EMPTY_CHOICES) {
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddItemToArray(choices, ch);
        cJSON_AddNumberToObject(ch, "index", 0);
        cJSON *msg = cJSON_AddObjectToObject(ch, "message");
        if (!msg) goto out;
        cJSON_AddStringToObject(msg, "role", "assistant");
        if (s->fault != F_NO_CONTENT) {
            if (cJSON_IsNull(s->content)) cJSON_AddNullToObject(msg, "content");
            else cJSON_AddStringToObject(msg, "content", s->content ? s->content->valuestring : "");
        }
        if (cJSON_IsNull(s->finish_reason)) cJSON_AddNullToObject(ch, "finish_reason");
        else cJSON_AddStringToObject(ch, "finish_reason",
                                     s->finish_reason ? s->finish_reason->valuestring : "stop");
    }
    if (!cJSON_IsNull(s->usage)) {
        double p = 10, cpl = 20, t = -1;
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(s->usage, "prompt_tokens"))) p = v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(s->usage, "completion_tokens"))) cpl = v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(s->usage, "total_tokens"))) t = v->valuedouble;
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        if (!u) goto out;
        cJSON_AddNumberToObject(u, "prompt_tokens", p);
        cJSON_AddNumberToObject(u, "completion_tokens", cpl);
        cJSON_AddNumberToObject(u, "total_tokens", t >= 0 ? t : p + cpl);
    }
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return out;
}

/* Sends the scripted reply. Returns 1 to keep the connection, 0 to close it
 * (c->fd is -1 afterwards when the fault already closed it). */
static int perform_reply(conn *c, const request *rq, const reply_spec *s,
                         const char *model, long seq)
{
    int keep = rq->keep_alive;
    char *body = NULL;
    size_t blen = 0;
    sbuf extra = {.limit = HEAD_CAP};
    int result = 0;

    if (s->delay_ms > 0 && pause_ms(s->delay_ms, -1) != 0) goto out;

    switch (s->fault) {
    case F_RESET: {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c->fd);
        c->fd = -1;
        goto out;
    }
    case F_CLOSE:
        goto out;
    case F_STALL:
        pause_ms(s->stall_ms, c->fd);
        goto out;
    default:
        break;
    }

    const char *ctype = s->content_type;
    if (s->fault == F_NOT_JSON) {
        body = strdup("<html>oops</html>");
        if (!ctype) ctype = "text/html";
    } else if (s->body) {
        body = strdup(s->body);
    } else if (s->status >= 200 && s->status < 300) {
        body = envelope(s, model, seq);
    } else {
        char msg[128];
        snprintf(msg, sizeof msg, "fake_llm: scripted HTTP %d", s->status);
        body = error_body(s->status, cJSON_IsString(s->content) ? s->content->valuestring : msg);
    }
    if (!body) {
        send_error(c->fd, 500, "fake_llm: out of memory", 0);
        goto out;
    }
    blen = strlen(body);

    sb_str(&extra, "");
    if (s->retry_after) {
        if (cJSON_IsString(s->retry_after))
            sb_printf(&extra, "Retry-After: %s\r\n", s->retry_after->valuestring);
        else
            sb_printf(&extra, "Retry-After: %.15g\r\n", s->retry_after->valuedouble);
    }
    for (const cJSON *h = s->headers ? s->headers->child : NULL; h; h = h->next) {
        sb_str(&extra, h->string);
        sb_str(&extra, ": ");
        sb_str(&extra, h->valuestring);
        sb_str(&extra, "\r\n");
    }
    if (extra.over) {
        send_error(c->fd, 500, "fake_llm: scripted headers too long", 0);
        goto out;
    }

    switch (s->fault) {
    case F_STALL_HEADERS:
    case F_STALL_BODY:
        if (send_raw_response(c->fd, s->status, ctype, extra.s, body, blen,
                              s->fault == F_STALL_BODY ? blen / 2 : 0, 1) == 0)
            pause_ms(s->stall_ms, c->fd);
        goto out;
    case F_TRUNCATE:
        send_raw_response(c->fd, s->status, ctype, extra.s, body, blen, blen / 2, 0);
        goto out;
    default:
        break;
    }
    if (send_raw_response(c->fd, s->status, ctype, extra.s, body, blen, blen, keep) != 0) goto out;
    result = keep;
out:
    free(body);
    free(extra.s);
    return result;
}

static int handle_chat(conn *c, const request *rq)
{
    const char *task = get_header(rq, "x-optagent-task");
    cJSON *req = NULL;
    char *contents = NULL;
    const char *model = NULL;
    const char *bad = NULL;
    int keep = 0;

    req = cJSON_ParseWithLength(rq->body, rq->body_len);
    if (!req || !cJSON_IsObject(req)) bad = "fake_llm: the request body is not a JSON object";
    else {
        const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
        if (cJSON_IsString(m)) model = m->valuestring;
        if (!cJSON_IsArray(messages)) bad = "fake_llm: \"messages\" must be an array";
        else if (!(contents = joined_contents(messages, rq->body_len))) bad = "fake_llm: out of memory";
    }
    if (bad) {
        log_simple(rq, 400);
        keep = send_error(c->fd, 400, bad, rq->keep_alive) == 0 && rq->keep_alive;
        goto out;
    }

    match_input in = {.rq = rq, .task = task, .model = model, .contents = contents};
    reply_spec s;
    int rule = -1;
    long seq;
    pthread_mutex_lock(&G.mu);
    const cJSON *reply = pick_reply(&in, &rule);
    if (reply) reply_spec_from(reply, &s);
    seq = log_request_locked(rq, task, rule, reply ? s.status : 400, reply ? s.fault_name : NULL);
    if (reply) {
        G.in_flight++;
        if (G.in_flight > G.max_in_flight) G.max_in_flight = G.in_flight;
    }
    pthread_mutex_unlock(&G.mu);
    if (!reply) {
        keep = send_error(c->fd, 400, "fake_llm: no rule matched and the script has no default",
                          rq->keep_alive) == 0 && rq->keep_alive;
        goto out;
    }
    keep = perform_reply(c, rq, &s, model, seq);
    pthread_mutex_lock(&G.mu);
    G.in_flight--;
    pthread_mutex_unlock(&G.mu);
out:
    cJSON_Delete(req);
    free(contents);
    return keep;
}

/* Returns 1 to keep the connection open. */
static int handle(conn *c, const request *rq)
{
    int keep = rq->keep_alive;
    if (strcmp(rq->path, "/_stats") == 0) return handle_stats(c, rq);
    if (strcmp(rq->path, "/_health") == 0) {
        static const char ok[] = "{\"ok\":true}";
        return send_raw_response(c->fd, 200, NULL, NULL, ok, sizeof ok - 1, sizeof ok - 1, keep) == 0 && keep;
    }
    if (strcmp(rq->path, "/_shutdown") == 0) {
        if (strcmp(rq->method, "POST") != 0)
            return send_error(c->fd, 405, "use POST /_shutdown", keep) == 0 && keep;
        static const char ok[] = "{\"ok\":true}";
        send_raw_response(c->fd, 200, NULL, NULL, ok, sizeof ok - 1, sizeof ok - 1, 0);
        request_shutdown();
        return 0;
    }
    if (ends_with(rq->path, "/chat/completions")) {
        if (strcmp(rq->method, "POST") != 0) {
            log_simple(rq, 405);
            return send_raw_response(c->fd, 405, NULL, "Allow: POST\r\n", "{}", 2, 2, keep) == 0 && keep;
        }
        return handle_chat(c, rq);
    }
    if (ends_with(rq->path, "/models") && strcmp(rq->method, "GET") == 0) {
        static const char models[] =
            "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\","
            "\"created\":0,\"owned_by\":\"fake_llm\"}]}";
        log_simple(rq, 200);
        return send_raw_response(c->fd, 200, NULL, NULL, models, sizeof models - 1,
                                 sizeof models - 1, keep) == 0 && keep;
    }
    log_simple(rq, 404);
    return send_error(c->fd, 404, "fake_llm: unknown path", keep) == 0 && keep;
}

/* Half-closes, then reads and drops what the client still sends (up to 1 s
 * or LINGER_CAP bytes) before closing: closing with unread input would send
 * a reset that can destroy the response we just wrote (413, 431, ...). */
static void lingering_close(int fd)
{
    char junk[4096];
    size_t dropped = 0;
    double end = now_ms() + LINGER_MS;
    shutdown(fd, SHUT_WR);
    while (dropped < LINGER_CAP) {
        double left = end - now_ms();
        if (left <= 0 || wait_io(fd, POLLIN, (int)left + 1) != 1) break;
        ssize_t r = recv(fd, junk, sizeof junk, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) break;
        dropped += (size_t)r;
    }
    close(fd);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    for (;;) {
        request rq;
        if (read_request(c, &rq) != 1) break;
        int keep = handle(c, &rq);
        request_free(&rq);
        if (!keep || c->fd < 0) break;
    }
    if (c->fd >= 0) lingering_close(c->fd);
    free(c->buf);
    free(c);
    pthread_mutex_lock(&G.mu);
    G.active_conns--;
    pthread_mutex_unlock(&G.mu);
    return NULL;
}

/* ---- main ---------------------------------------------------------------------------- */

static void on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;
    ssize_t r = write(G.sig_wr, &b, 1);
    (void)r;
    errno = saved;
}

static int set_flags(int fd, int nonblock)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return -1;
    if (nonblock) {
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    }
    return 0;
}

static void usage(void)
{
    fputs("usage: fake_llm --script FILE.json [--log FILE.jsonl] [--port N]\n"
          "                [--max-seconds S] [--max-body BYTES] [--max-connections N]\n"
          "                [--watch-stdin]\n", stderr);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void accept_one(int lfd, pthread_attr_t *attr)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) return;
    if (set_flags(fd, 1) != 0) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&G.mu);
    int full = G.active_conns >= G.max_conns;
    if (!full) {
        G.active_conns++;
        G.total_conns++;
    }
    pthread_mutex_unlock(&G.mu);
    if (full) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        ssize_t r = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
        (void)r;
        close(fd);
        return;
    }
    conn *c = calloc(1, sizeof *c);
    pthread_t th;
    if (c) {
        c->fd = fd;
        if (pthread_create(&th, attr, conn_main, c) == 0) return;
        free(c);
    }
    fl_warn("cannot start a connection thread");
    close(fd);
    pthread_mutex_lock(&G.mu);
    G.active_conns--;
    pthread_mutex_unlock(&G.mu);
}

int main(int argc, char **argv)
{
    const char *script = NULL, *log_path = NULL;
    long port = 0, max_seconds = 600, max_body = (long)DEFAULT_MAX_BODY, max_conns = 1024;
    int watch_stdin = 0;
    int lfd = -1, rc = 2;
    int attr_ok = 0;
    pthread_attr_t attr;
    int pipes_ok = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--watch-stdin") == 0) {
            watch_stdin = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--script") == 0) script = v;
        else if (strcmp(a, "--log") == 0) log_path = v;
        else if (strcmp(a, "--port") == 0 && parse_long(v, 0, 65535, &port) == 0) {}
        else if (strcmp(a, "--max-seconds") == 0 && parse_long(v, 1, 86400, &max_seconds) == 0) {}
        else if (strcmp(a, "--max-body") == 0 && parse_long(v, 0, 1L << 30, &max_body) == 0) {}
        else if (strcmp(a, "--max-connections") == 0 && parse_long(v, 1, 4096, &max_conns) == 0) {}
        else {
            fl_warn("bad argument %s %s", a, v);
            usage();
            return 2;
        }
    }
    if (!script) {
        usage();
        return 2;
    }
    G.t0 = now_ms();
    G.max_body = (size_t)max_body;
    G.max_conns = (int)max_conns;
    G.by_task = cJSON_CreateObject();
    if (!G.by_task) goto out;
    if (load_script(script) != 0) goto out;
    if (log_path && !(G.log = fopen(log_path, "a"))) {
        fl_warn("cannot open log %s: %s", log_path, strerror(errno));
        goto out;
    }

    int sp[2], st[2];
    if (pipe(sp) != 0) goto out;
    if (pipe(st) != 0) {
        close(sp[0]);
        close(sp[1]);
        goto out;
    }
    G.sig_rd = sp[0];
    G.sig_wr = sp[1];
    G.stop_rd = st[0];
    G.stop_wr = st[1];
    pipes_ok = 1;
    if (set_flags(G.sig_rd, 1) || set_flags(G.sig_wr, 1) || set_flags(G.stop_rd, 0) ||
        set_flags(G.stop_wr, 0))
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || set_flags(lfd, 1) != 0) {
        fl_warn("socket: %s", strerror(errno));
        goto out;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
        fl_warn("cannot listen on 127.0.0.1:%ld: %s", port, strerror(errno));
        goto out;
    }
    socklen_t alen = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) goto out;
    printf("PORT %d\n", (int)ntohs(addr.sin_port));
    fflush(stdout);

    if (pthread_attr_init(&attr) != 0) goto out;
    attr_ok = 1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, THREAD_STACK);

    double deadline = G.t0 + (double)max_seconds * 1000.0;
    for (;;) {
        struct pollfd p[3] = {
            {.fd = lfd, .events = POLLIN},
            {.fd = G.sig_rd, .events = POLLIN},
            {.fd = watch_stdin ? 0 : -1, .events = POLLIN},
        };
        int n = poll(p, 3, ms_until(deadline));
        if (n < 0 && errno != EINTR) {
            fl_warn("poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && p[1].revents) break;
        if (n > 0 && p[2].revents) {
            char junk[256];
            ssize_t r = read(0, junk, sizeof junk);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break;
        }
        if (now_ms() >= deadline) {
            fl_warn("lifetime of %ld s reached, exiting", max_seconds);
            break;
        }
        if (n > 0 && p[0].revents) accept_one(lfd, &attr);
    }
    rc = 0;

out:
    if (lfd >= 0) close(lfd);
    if (G.stop_wr >= 0) {
        close(G.stop_wr);   /* wakes every waiting connection thread */
        G.stop_wr = -1;
    }
    if (pipes_ok) {
        double end = now_ms() + SHUTDOWN_WAIT_MS;
        pthread_mutex_lock(&G.mu);
        while (G.active_conns > 0 && now_ms() < end) {
            pthread_mutex_unlock(&G.mu);
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&G.mu);
        }
        int left = G.active_conns;
        pthread_mutex_unlock(&G.mu);
        if (left > 0) {
            fl_warn("%d connection thread(s) did not finish", left);
            if (G.log) fflush(G.log);
            fflush(NULL);
            _exit(3);
        }
    }
    if (attr_ok) pthread_attr_destroy(&attr);
    if (G.log) fclose(G.log);
    if (G.sig_rd >= 0) close(G.sig_rd);
    if (G.sig_wr >= 0) close(G.sig_wr);
    if (G.stop_rd >= 0) close(G.stop_rd);
    cJSON_Delete(G.script);
    cJSON_Delete(G.by_task);
    free(G.hits);
    return rc;
}
