/* agent/llm — an OpenAI-compatible chat-completions client over libcurl.
 *
 * One CURL easy handle per client, reused between calls so the connection is
 * kept alive. Each call builds the JSON body once and sends it up to
 * 1 + max_retries times.
 *
 * What is retried (with exponential backoff and full jitter: a uniform delay
 * in [0, min(backoff_max_s, backoff_base_s * 2^k)] before retry k+1):
 *   - HTTP 429 and every 5xx. A Retry-After header (seconds or an HTTP date)
 *     replaces the jittered delay, capped at backoff_max_s;
 *   - connection failures: could not connect, send/receive errors (resets),
 *     an empty reply, a body shorter than its Content-Length;
 *   - timeouts (connect or total, per attempt);
 *   - a 2xx whose body is not JSON, has no choices or no message content:
 *     proxies and overloaded servers produce these transiently.
 * Not retried: other statuses (1xx, 3xx, 4xx other than 429) → AG_LLM_EHTTP
 * with a <= 200-character excerpt of the server's error message (401/403
 * end with a hint to check the API key, 404 with one to check --model and
 * the base URL); a refused connection by a client that has never exchanged
 * anything (nothing listens at the base URL: waiting will not help) →
 * AG_LLM_ECONNECT at once with a hint to check OPTAGENT_BASE_URL — after
 * an exchange, a refusal is a server restarting and is retried; a response
 * over max_response_bytes → AG_LLM_ETOOBIG; name-resolution, TLS and other
 * libcurl errors → AG_LLM_ECONNECT at once; a bad configuration →
 * AG_LLM_ECONFIG before anything is sent.
 *
 * When every attempt failed, the code and the error line are the last
 * attempt's, with " (after N attempts)" appended. The cancel flag is polled
 * between attempts, every 50 ms while sleeping, and by libcurl's progress
 * callback during a transfer (at least once a second).
 *
 * Timeouts are per attempt: connect_timeout_s (CURLOPT_CONNECTTIMEOUT_MS) and
 * timeout_s for the whole exchange (CURLOPT_TIMEOUT_MS); a value <= 0 leaves
 * libcurl's default (300 s to connect, no total limit). max_response_bytes 0
 * means the 4 MiB default. Redirects are not followed (a 3xx is an
 * AG_LLM_EHTTP); only http:// and https:// are allowed. libcurl honours the
 * usual *_proxy variables.
 *
 * Requests: POST {base_url without trailing slashes}/chat/completions (a
 * base URL already ending in /chat/completions is used as it is); a NULL
 * task is sent as "chat"; a task must be 1..64 printable ASCII characters.
 * Replies: choices[0].message.content as a string, or an array of text parts
 * (joined); an empty string is a valid reply.
 *
 * The key lives only in this client (its config copy and the Authorization
 * header line). Every error line built here is passed through redact(), which
 * replaces any occurrence of the key by "[redacted]", so even a server that
 * echoes the Authorization header back cannot make it appear in a reply.
 * The reply content itself goes through ag_reply_clean (invalid UTF-8 made
 * U+FFFD, a key of AG_REDACT_MIN_KEY or more bytes made "[REDACTED]") as
 * soon as it is parsed, before it is returned to anyone.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include "agent/llm/llm.h"
#include "formulate/formulate.h"

#ifndef OPTAGENT_VERSION
#define OPTAGENT_VERSION "dev"
#endif

#define LLM_LOG_MAX       1024            /* one log line */
#define LLM_ERR_MAX       512             /* one error line */
#define LLM_EXCERPT_MAX   200             /* server message excerpt in errors */
#define LLM_REQUEST_MAX   ((size_t)32 << 20)   /* request body */
#define LLM_TASK_MAX      64
#define LLM_URL_MAX       4096
#define LLM_KEY_MAX       4096
#define LLM_RETRIES_MAX   100
#define LLM_RESPONSE_DEFAULT ((size_t)4 << 20)
#define LLM_SLICE_S       0.05            /* cancel polling while sleeping */
#define LLM_TIMEOUT_MAX_MS 1000000000L    /* ~11.6 days: keeps the long conversion sane */

static const char chat_path[] = "/chat/completions";

/* ---- result codes ---------------------------------------------------------- */

const char *ag_llm_strerror(ag_llm_code c)
{
    switch (c) {
    case AG_LLM_OK:         return "ok";
    case AG_LLM_ECONFIG:    return "bad LLM configuration";
    case AG_LLM_ECONNECT:   return "could not connect to the LLM endpoint";
    case AG_LLM_ETIMEOUT:   return "the LLM request timed out";
    case AG_LLM_EHTTP:      return "the LLM endpoint returned an HTTP error";
    case AG_LLM_ERESPONSE:  return "the LLM endpoint returned an invalid response";
    case AG_LLM_ETOOBIG:    return "the LLM response is too large";
    case AG_LLM_ENOMEM:     return "out of memory";
    case AG_LLM_ECANCELLED: return "cancelled";
    }
    return "unknown LLM error";
}

/* ---- log sink -------------------------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_level;   /* ag_llm_set_verbosity */

void ag_llm_set_verbosity(int level) { log_level = level; }
static void (*log_fn)(void *ctx, const char *line);
static void *log_ctx;

/* Installs fn (NULL: back to the default stderr sink). ctx is borrowed until
 * the next call. The sink is called under a lock: it must not log itself. */
void ag_llm_set_log(void (*fn)(void *ctx, const char *line), void *ctx)
{
    pthread_mutex_lock(&log_mu);
    log_fn = fn;
    log_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&log_mu);
}

/* Formats one line (cut at LLM_LOG_MAX, control characters made spaces) and
 * hands it to the sink. Borrows everything. */
void ag_llm_logf(const char *fmt, ...)
{
    char line[LLM_LOG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    pthread_mutex_lock(&log_mu);
    if (log_fn) log_fn(log_ctx, line);
    else fprintf(stderr, "optagent: %s\n", line);
    pthread_mutex_unlock(&log_mu);
}

/* ---- configuration ------------------------------------------------------- */

void ag_llm_config_default(ag_llm_config *c)
{
    memset(c, 0, sizeof *c);
    c->temperature = 0;
    c->max_tokens = 0;
    c->seed = -1;
    c->connect_timeout_s = 10;
    c->timeout_s = 120;
    c->max_retries = 4;
    c->backoff_base_s = 1;
    c->backoff_max_s = 30;
    c->max_response_bytes = LLM_RESPONSE_DEFAULT;
}

/* Frees the strings c owns and sets them to NULL (the numbers are kept). */
void ag_llm_config_free(ag_llm_config *c)
{
    if (!c) return;
    free(c->base_url);
    free(c->model);
    free(c->api_key);
    c->base_url = c->model = c->api_key = NULL;
}

/* ---- small helpers ------------------------------------------------------- */

static double now_s(void) { return fm_clock_ms() / 1e3; }

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A malloc'd copy of text (len bytes) with every occurrence of key replaced
 * by "[redacted]". key NULL/"" → a plain copy. NULL when out of memory. */
static char *redact(const char *text, size_t len, const char *key)
{
    static const char mark[] = "[redacted]";
    size_t klen = key ? strlen(key) : 0, n = 0;
    for (size_t i = 0; klen && i + klen <= len;) {
        if (!memcmp(text + i, key, klen)) { n++; i += klen; }
        else i++;
    }
    char *out = malloc(len + n * (sizeof mark - 1) + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (klen && i + klen <= len && !memcmp(text + i, key, klen)) {
            memcpy(out + o, mark, sizeof mark - 1);
            o += sizeof mark - 1;
            i += klen;
        } else {
            out[o++] = text[i++];
        }
    }
    out[o] = 0;
    return out;
}

/* Copies src (len bytes) into out (outlen) as one line: control characters
 * become spaces, runs of spaces collapse, the ends are trimmed and the text is
 * cut at max bytes on a UTF-8 boundary ("..." appended when cut). */
static void one_line(const char *src, size_t len, size_t max, char *out, size_t outlen)
{
    size_t o = 0, lim = max < outlen - 4 ? max : outlen - 4;
    int space = 1, cut = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            if (space) continue;
            ch = ' ';
            space = 1;
        } else {
            space = 0;
        }
        if (o >= lim) { cut = 1; break; }
        out[o++] = (char)ch;
    }
    if (cut)   /* back off to the start of a UTF-8 sequence */
        while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80) o--;
    while (o > 0 && out[o - 1] == ' ') o--;
    if (cut) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = 0;
}

/* ---- the client -------------------------------------------------------- */

struct ag_llm {
    ag_llm_config cfg;          /* deep copy; cfg.api_key is the only copy of the key */
    CURL *curl;
    char *url;                  /* base_url + "/chat/completions", or NULL */
    uint64_t rng;
    /* per attempt */
    char *body;                 /* the response body, NUL-terminated */
    size_t len, cap;
    int toobig;
    char retry_after[64];
    int have_retry_after;
    volatile int *cancel;
    char curl_err[CURL_ERROR_SIZE];
    int exchanged;              /* some HTTP response was received once */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    ag_llm *l = ud;
    size_t add = size * nmemb, max = l->cfg.max_response_bytes;
    if (add > max - l->len) { l->toobig = 1; return 0; }
    if (l->len + add + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 16384;
        while (cap < l->len + add + 1) cap *= 2;
        if (cap > max + 1) cap = max + 1;
        char *nb = realloc(l->body, cap);
        if (!nb) return 0;
        l->body = nb;
        l->cap = cap;
    }
    memcpy(l->body + l->len, data, add);
    l->len += add;
    l->body[l->len] = 0;
    return add;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    ag_llm *l = ud;
    size_t n = size * nmemb;
    static const char ra[] = "retry-after:";
    if (n >= 5 && !memcmp(data, "HTTP/", 5)) {   /* a new response (after 100 Continue) */
        l->have_retry_after = 0;
    } else if (n > sizeof ra - 1 && !strncasecmp(data, ra, sizeof ra - 1)) {
        const char *v = data + sizeof ra - 1;
        size_t vn = n - (sizeof ra - 1);
        while (vn && (*v == ' ' || *v == '\t')) { v++; vn--; }
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) vn--;
        if (vn < sizeof l->retry_after) {
            memcpy(l->retry_after, v, vn);
            l->retry_after[vn] = 0;
            l->have_retry_after = 1;
        }
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    ag_llm *l = ud;
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return l->cancel && *l->cancel ? 1 : 0;
}

static long to_ms(double s)
{
    if (!(s > 0)) return 0;                        /* 0: libcurl's default / none */
    double ms = ceil(s * 1000.0);
    return ms > (double)LLM_TIMEOUT_MAX_MS ? LLM_TIMEOUT_MAX_MS : (long)ms;
}

/* Copies c; the client owns the copy. Returns NULL when out of memory or
 * when libcurl cannot be initialised. The configuration is checked by
 * ag_llm_chat (AG_LLM_ECONFIG), not here. */
ag_llm *ag_llm_new(const ag_llm_config *c)
{
    if (!c) return NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) return NULL;
    ag_llm *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->cfg = *c;
    l->cfg.base_url = dup_or_null(c->base_url);
    l->cfg.model = dup_or_null(c->model);
    l->cfg.api_key = dup_or_null(c->api_key);
    if ((c->base_url && !l->cfg.base_url) || (c->model && !l->cfg.model) ||
        (c->api_key && !l->cfg.api_key))
        goto fail;
    if (!l->cfg.max_response_bytes) l->cfg.max_response_bytes = LLM_RESPONSE_DEFAULT;
    if (l->cfg.max_response_bytes > SIZE_MAX / 4) l->cfg.max_response_bytes = SIZE_MAX / 4;
    if (l->cfg.max_retries < 0) l->cfg.max_retries = 0;
    if (l->cfg.max_retries > LLM_RETRIES_MAX) l->cfg.max_retries = LLM_RETRIES_MAX;
    if (!(l->cfg.backoff_base_s >= 0)) l->cfg.backoff_base_s = 0;
    if (!(l->cfg.backoff_max_s >= 0)) l->cfg.backoff_max_s = 0;
    if (l->cfg.backoff_max_s > 3600) l->cfg.backoff_max_s = 3600;

    if (l->cfg.base_url && *l->cfg.base_url) {
        size_t n = strlen(l->cfg.base_url);
        while (n && l->cfg.base_url[n - 1] == '/') n--;
        size_t pn = sizeof chat_path - 1;
        int has_path = n >= pn && !memcmp(l->cfg.base_url + n - pn, chat_path, pn);
        if (n + pn < LLM_URL_MAX) {
            l->url = malloc(n + pn + 1);
            if (!l->url) goto fail;
            memcpy(l->url, l->cfg.base_url, n);
            memcpy(l->url + n, chat_path, has_path ? 0 : pn);
            l->url[n + (has_path ? 0 : pn)] = 0;
        }
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    l->rng = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)l ^
             ((uint64_t)getpid() << 16);
    if (!l->rng) l->rng = 0x9E3779B97F4A7C15ull;

    l->curl = curl_easy_init();
    if (!l->curl) goto fail;
    CURL *h = l->curl;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "optagent/" OPTAGENT_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, l);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, l);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, l);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, l->curl_err);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, to_ms(l->cfg.connect_timeout_s));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to_ms(l->cfg.timeout_s));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)l->cfg.max_response_bytes);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (l->url) curl_easy_setopt(h, CURLOPT_URL, l->url);
    return l;
fail:
    ag_llm_free(l);
    return NULL;
}

/* Frees the client, its configuration copy and its connection. */
void ag_llm_free(ag_llm *l)
{
    if (!l) return;
    if (l->curl) curl_easy_cleanup(l->curl);
    if (l->cfg.api_key) memset(l->cfg.api_key, 0, strlen(l->cfg.api_key));
    ag_llm_config_free(&l->cfg);
    free(l->url);
    free(l->body);
    free(l);
}

void ag_llm_reply_free(ag_llm_reply *r)
{
    if (!r) return;
    free(r->content);
    free(r->finish_reason);
    free(r->error);
    free(r);
}

/* ---- randomness and sleeping ---------------------------------------------- */

static double rand01(ag_llm *l)
{
    uint64_t x = l->rng;                    /* xorshift64* */
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    l->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* Full jitter: uniform in [0, min(max, base * 2^k)]. */
static double backoff_delay(ag_llm *l, int k)
{
    double cap = ldexp(l->cfg.backoff_base_s, k > 60 ? 60 : k);
    if (cap > l->cfg.backoff_max_s) cap = l->cfg.backoff_max_s;
    return rand01(l) * cap;
}

/* Seconds from a Retry-After value (delta-seconds or an HTTP date), or -1. */
static double parse_retry_after(const char *v)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (end != v && !*end && !errno && isfinite(s))
        return s < 0 ? 0 : s;
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1) return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d;
}

/* Sleeps s seconds in LLM_SLICE_S slices. Returns -1 as soon as *cancel is
 * set, 0 otherwise. */
static int sleep_cancellable(double s, volatile int *cancel)
{
    double end = now_s() + s;
    for (;;) {
        if (cancel && *cancel) return -1;
        double left = end - now_s();
        if (left <= 0) return 0;
        if (left > LLM_SLICE_S) left = LLM_SLICE_S;
        struct timespec ts = { 0, (long)(left * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* ---- request and response bodies --------------------------------------- */

/* The request body as a malloc'd JSON text, or NULL with *code/err set. */
static char *build_body(const ag_llm *l, const ag_llm_message *msgs, size_t nmsgs,
                        ag_llm_code *code, char *err, size_t errlen)
{
    char *text = NULL;
    cJSON *root = cJSON_CreateObject(), *arr;
    *code = AG_LLM_ENOMEM;
    if (!root || !cJSON_AddStringToObject(root, "model", l->cfg.model)) goto out;
    if (!(arr = cJSON_AddArrayToObject(root, "messages"))) goto out;
    for (size_t i = 0; i < nmsgs; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            *code = AG_LLM_ECONFIG;
            snprintf(err, errlen, "message %zu has no %s", i, msgs[i].role ? "content" : "role");
            goto out;
        }
        cJSON *m = cJSON_CreateObject();
        if (!m) goto out;
        cJSON_AddItemToArray(arr, m);
        /* The content by reference: a multi-megabyte previous reply is not
         * copied into the tree, only printed into the body. */
        cJSON *c = cJSON_CreateStringReference(msgs[i].content);
        if (!cJSON_AddStringToObject(m, "role", msgs[i].role) || !c) { cJSON_Delete(c); goto out; }
        cJSON_AddItemToObject(m, "content", c);
    }
    if (l->cfg.temperature >= 0 && isfinite(l->cfg.temperature) &&
        !cJSON_AddNumberToObject(root, "temperature", l->cfg.temperature))
        goto out;
    if (l->cfg.max_tokens > 0 &&
        !cJSON_AddNumberToObject(root, "max_tokens", l->cfg.max_tokens))
        goto out;
    if (l->cfg.seed >= 0 && !cJSON_AddNumberToObject(root, "seed", (double)l->cfg.seed))
        goto out;
    if (!cJSON_AddFalseToObject(root, "stream")) goto out;
    text = cJSON_PrintUnformatted(root);
    if (!text) goto out;
    if (strlen(text) > LLM_REQUEST_MAX) {
        *code = AG_LLM_ETOOBIG;
        snprintf(err, errlen, "request body larger than %zu bytes", LLM_REQUEST_MAX);
        free(text);
        text = NULL;
        goto out;
    }
    *code = AG_LLM_OK;
out:
    cJSON_Delete(root);
    return text;
}

/* The error message of an error body: error.message, error (a string),
 * message or detail; NULL when none (borrowed from root). */
static const char *error_message(const cJSON *root)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsString(e)) return e->valuestring;
    if (cJSON_IsObject(e)) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (cJSON_IsString(m)) return m->valuestring;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (cJSON_IsString(m)) return m->valuestring;
    m = cJSON_GetObjectItemCaseSensitive(root, "detail");
    if (cJSON_IsString(m)) return m->valuestring;
    return NULL;
}

/* A one-line excerpt (<= LLM_EXCERPT_MAX bytes plus "...") of the server's
 * message in body, key redacted, into out. "" when the body is empty. */
static void body_excerpt(const ag_llm *l, char *out, size_t outlen)
{
    out[0] = 0;
    if (!l->len) return;
    const char *src = l->body;
    size_t n = l->len;
    cJSON *root = cJSON_ParseWithLength(l->body, l->len);
    const char *m = root ? error_message(root) : NULL;
    if (m) { src = m; n = strlen(m); }
    char *red = redact(src, n, l->cfg.api_key);
    if (red) one_line(red, strlen(red), LLM_EXCERPT_MAX, out, outlen);
    else snprintf(out, outlen, "(out of memory)");
    free(red);
    cJSON_Delete(root);
}

/* Concatenates the text parts of an array content ([{"type":"text","text"}]).
 * Returns a malloc'd string, or NULL when there is no text part. */
static char *join_parts(const cJSON *arr)
{
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, arr) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (cJSON_IsString(t)) n += strlen(t->valuestring);
        else if (cJSON_IsString(p)) n += strlen(p->valuestring);
        else return NULL;
    }
    if (!cJSON_GetArraySize(arr)) return NULL;
    char *s = malloc(n + 1), *o = s;
    if (!s) return NULL;
    cJSON_ArrayForEach(p, arr) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        const char *v = cJSON_IsString(t) ? t->valuestring : p->valuestring;
        size_t vn = strlen(v);
        memcpy(o, v, vn);
        o += vn;
    }
    *o = 0;
    return s;
}

static long usage_num(const cJSON *usage, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e15) return -1;
    return (long)v->valuedouble;
}

/* Fills r->content, finish_reason and the token counts from a 2xx body.
 * Returns AG_LLM_OK, AG_LLM_ERESPONSE (err says why) or AG_LLM_ENOMEM. */
static ag_llm_code parse_reply(ag_llm *l, ag_llm_reply *r, char *err, size_t errlen)
{
    ag_llm_code code = AG_LLM_ERESPONSE;
    cJSON *root = cJSON_ParseWithLength(l->body ? l->body : "", l->len);
    if (!root) { snprintf(err, errlen, "response body is not JSON (%zu bytes)", l->len); goto out; }
    if (!cJSON_IsObject(root)) { snprintf(err, errlen, "response body is not a JSON object"); goto out; }
    if (l->cap > 65536) {   /* the tree has it all: do not hold a large body twice */
        free(l->body);
        l->body = NULL;
        l->len = l->cap = 0;
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsArray(choices) || !cJSON_GetArraySize(choices)) {
        const char *m = error_message(root);
        if (m) {
            char ex[LLM_EXCERPT_MAX + 8];
            char *red = redact(m, strlen(m), l->cfg.api_key);
            if (!red) { code = AG_LLM_ENOMEM; goto out; }
            one_line(red, strlen(red), LLM_EXCERPT_MAX, ex, sizeof ex);
            free(red);
            snprintf(err, errlen, "response has no choices: %s", ex);
        } else {
            snprintf(err, errlen, "response has no choices");
        }
        goto out;
    }
    const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (cJSON_IsString(content)) {
        /* Copied, not taken out of the tree: cJSON's allocator (its hooks
         * may count) must free what it allocated. The tree goes right after. */
        r->content = strdup(content->valuestring);
        if (!r->content) { code = AG_LLM_ENOMEM; goto out; }
    } else if (cJSON_IsArray(content) && (r->content = join_parts(content))) {
        /* text parts joined */
    } else {
        snprintf(err, errlen, "response has no message content");
        goto out;
    }
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(fr) && !(r->finish_reason = strdup(fr->valuestring))) {
        code = AG_LLM_ENOMEM;
        goto out;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    r->prompt_tokens = usage_num(usage, "prompt_tokens");
    r->completion_tokens = usage_num(usage, "completion_tokens");
    r->total_tokens = usage_num(usage, "total_tokens");
    /* The one choke point for reply text: everything downstream (pipeline,
     * cache, db, --out, ask --json, --show-prompts) sees only a repaired,
     * key-free reply. The tree is freed first so the large reply is not held
     * twice while it is rewritten. */
    cJSON_Delete(root);
    root = NULL;
    if (ag_reply_clean(&r->content, l->cfg.api_key) != 0
        || ag_reply_clean(&r->finish_reason, l->cfg.api_key) != 0) {
        code = AG_LLM_ENOMEM;
        goto out;
    }
    code = AG_LLM_OK;
out:
    if (code != AG_LLM_OK) {
        free(r->content);
        free(r->finish_reason);
        r->content = r->finish_reason = NULL;
    }
    cJSON_Delete(root);
    return code;
}

int ag_reply_clean(char **text, const char *key)
{
    if (!*text) return 0;
    if (ag_utf8_fix(text) != 0) return -1;
    return ag_redact_key(text, key);
}

/* ---- one attempt -------------------------------------------------------- */

typedef struct {
    ag_llm_code code;
    int retry;              /* worth another attempt */
    int endpoint_wrong;     /* see ag_llm_reply */
    double retry_after;     /* seconds from Retry-After, or -1 */
    char why[64];           /* short reason for the retry log line */
    char err[LLM_ERR_MAX];  /* the error line when this is the last attempt */
} attempt_result;

static int retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_OPERATION_TIMEDOUT:
        return 1;
    default:
        return 0;
    }
}

/* Appends to a->err what to check after an HTTP status that no retry
 * fixes: the key (401, 403), the model and the URL (404). ex is the
 * server's message. */
static void http_hint(const ag_llm *l, long status, const char *ex, attempt_result *a)
{
    size_t n = strlen(a->err);
    if (status == 401 || status == 403) {
        a->endpoint_wrong = 1;
        snprintf(a->err + n, sizeof a->err - n, " (check the API key: OPTAGENT_API_KEY or "
                 "--api-key-file)");
    } else if (status == 404) {
        a->endpoint_wrong = 1;
        int about_model = 0;
        for (const char *p = ex; *p && !about_model; p++)
            about_model = !strncmp(p, "model", 5) || !strncmp(p, "Model", 5);
        snprintf(a->err + n, sizeof a->err - n, about_model
                 ? " (check --model: the server does not know the model '%.100s')"
                 : " (check --model '%.100s' and the base URL OPTAGENT_BASE_URL, which usually "
                   "ends in /v1)", l->cfg.model ? l->cfg.model : "");
    }
}

static void run_attempt(ag_llm *l, ag_llm_reply *r, attempt_result *a)
{
    l->len = 0;
    if (l->body) l->body[0] = 0;
    l->toobig = 0;
    l->have_retry_after = 0;
    l->curl_err[0] = 0;
    a->retry = 0;
    a->endpoint_wrong = 0;
    a->retry_after = -1;
    a->why[0] = a->err[0] = 0;

    CURLcode rc = curl_easy_perform(l->curl);
    long status = 0;
    curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &status);
    r->http_status = (int)status;
    const char *cerr = l->curl_err[0] ? l->curl_err : curl_easy_strerror(rc);

    if (rc == CURLE_OK) {
        l->exchanged = 1;
        if (status >= 200 && status < 300) {
            a->code = parse_reply(l, r, a->err, sizeof a->err);
            if (a->code == AG_LLM_ERESPONSE) {
                a->retry = 1;
                snprintf(a->why, sizeof a->why, "an invalid response");
            }
            return;
        }
        char ex[LLM_EXCERPT_MAX + 8];
        body_excerpt(l, ex, sizeof ex);
        a->code = AG_LLM_EHTTP;
        snprintf(a->err, sizeof a->err, "HTTP %ld%s%s", status, *ex ? ": " : "", ex);
        if (status == 429 || (status >= 500 && status < 600)) {
            a->retry = 1;
            snprintf(a->why, sizeof a->why, "HTTP %ld", status);
            if (l->have_retry_after) a->retry_after = parse_retry_after(l->retry_after);
        }
        http_hint(l, status, ex, a);
        return;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        a->code = AG_LLM_ECANCELLED;
        snprintf(a->err, sizeof a->err, "cancelled");
        return;
    }
    if (l->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
        a->code = AG_LLM_ETOOBIG;
        snprintf(a->err, sizeof a->err, "response larger than %zu bytes",
                 l->cfg.max_response_bytes);
        return;
    }
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_OUT_OF_MEMORY) {
        a->code = AG_LLM_ENOMEM;
        snprintf(a->err, sizeof a->err, "out of memory while receiving the response");
        return;
    }
    a->retry = retryable_curl(rc);
    long os_errno = 0;
    if (rc == CURLE_COULDNT_CONNECT && curl_easy_getinfo(l->curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
        os_errno == ECONNREFUSED && !l->exchanged) {
        a->code = AG_LLM_ECONNECT;
        a->retry = 0;
        a->endpoint_wrong = 1;
        snprintf(a->err, sizeof a->err, "connection refused: %s: is the server running? check "
                 "OPTAGENT_BASE_URL (or --base-url)", cerr);
        return;
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        a->code = AG_LLM_ETIMEOUT;
        snprintf(a->why, sizeof a->why, "a timeout");
        snprintf(a->err, sizeof a->err, "timed out: %s", cerr);
        break;
    case CURLE_PARTIAL_FILE:
        a->code = AG_LLM_ERESPONSE;
        snprintf(a->why, sizeof a->why, "a truncated response");
        snprintf(a->err, sizeof a->err, "truncated response: %s", cerr);
        break;
    case CURLE_URL_MALFORMAT: case CURLE_UNSUPPORTED_PROTOCOL:
        a->code = AG_LLM_ECONFIG;
        snprintf(a->err, sizeof a->err, "bad base URL: %s", cerr);
        break;
    default:
        a->code = AG_LLM_ECONNECT;
        snprintf(a->why, sizeof a->why, "a connection error");
        snprintf(a->err, sizeof a->err, "connection failed: %s", cerr);
        break;
    }
}

/* ---- the call ---------------------------------------------------------- */

/* Checks what must hold before anything is sent; 0 or -1 with err set. */
static int check_call(const ag_llm *l, const char *task, size_t nmsgs, char *err, size_t errlen)
{
    if (!l->cfg.base_url || !*l->cfg.base_url) {
        snprintf(err, errlen, "no base URL configured (set --base-url or OPTAGENT_BASE_URL)");
        return -1;
    }
    if (!l->url) {
        snprintf(err, errlen, "base URL longer than %d bytes", LLM_URL_MAX);
        return -1;
    }
    if (strncmp(l->url, "http://", 7) && strncmp(l->url, "https://", 8)) {
        snprintf(err, errlen, "base URL must start with http:// or https://");
        return -1;
    }
    if (!l->cfg.model || !*l->cfg.model) {
        snprintf(err, errlen, "no model configured (set --model or OPTAGENT_MODEL)");
        return -1;
    }
    if (l->cfg.api_key) {
        size_t n = strlen(l->cfg.api_key);
        if (n > LLM_KEY_MAX) {
            snprintf(err, errlen, "API key longer than %d bytes", LLM_KEY_MAX);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)l->cfg.api_key[i] < 0x20 || l->cfg.api_key[i] == 0x7f) {
                snprintf(err, errlen, "API key contains control characters");
                return -1;
            }
    }
    size_t tn = strlen(task);
    if (!tn || tn > LLM_TASK_MAX) {
        snprintf(err, errlen, "task name must have 1 to %d characters", LLM_TASK_MAX);
        return -1;
    }
    for (size_t i = 0; i < tn; i++)
        if ((unsigned char)task[i] <= 0x20 || (unsigned char)task[i] >= 0x7f) {
            snprintf(err, errlen, "task name must be printable ASCII without spaces");
            return -1;
        }
    if (!nmsgs) {
        snprintf(err, errlen, "no messages to send");
        return -1;
    }
    return 0;
}

/* See llm.h. *out is always set (NULL only when even the reply could not be
 * allocated, with AG_LLM_ENOMEM). Borrows task, msgs and cancel. */
ag_llm_code ag_llm_chat(ag_llm *l, const char *task, const ag_llm_message *msgs,
                        size_t nmsgs, volatile int *cancel, ag_llm_reply **out)
{
    double t0 = now_s();
    if (!out) return AG_LLM_ECONFIG;
    ag_llm_reply *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return AG_LLM_ENOMEM;
    r->prompt_tokens = r->completion_tokens = r->total_tokens = -1;

    char *body = NULL, *auth = NULL;
    struct curl_slist *hdrs = NULL;
    attempt_result a = { .code = AG_LLM_ENOMEM };
    int attempts = 0;

    if (!l) {
        a.code = AG_LLM_ECONFIG;
        snprintf(a.err, sizeof a.err, "no LLM client");
        goto out;
    }
    if (!task) task = "chat";
    if (check_call(l, task, nmsgs, a.err, sizeof a.err)) { a.code = AG_LLM_ECONFIG; goto out; }
    if (!msgs) { a.code = AG_LLM_ECONFIG; snprintf(a.err, sizeof a.err, "no messages"); goto out; }
    if (!(body = build_body(l, msgs, nmsgs, &a.code, a.err, sizeof a.err))) goto out;
    a.code = AG_LLM_ENOMEM;

    char line[LLM_TASK_MAX + 32];
    snprintf(line, sizeof line, "X-Optagent-Task: %s", task);
    struct curl_slist *t;
#define ADD_HDR(s) do { if (!(t = curl_slist_append(hdrs, (s)))) goto out; hdrs = t; } while (0)
    ADD_HDR("Content-Type: application/json");
    ADD_HDR("Accept: application/json");
    ADD_HDR("Expect:");
    ADD_HDR(line);
    if (l->cfg.api_key && *l->cfg.api_key) {
        static const char bearer[] = "Authorization: Bearer ";
        size_t kn = strlen(l->cfg.api_key);
        if (!(auth = malloc(sizeof bearer + kn))) goto out;
        memcpy(auth, bearer, sizeof bearer - 1);
        memcpy(auth + sizeof bearer - 1, l->cfg.api_key, kn + 1);
        ADD_HDR(auth);
    }
#undef ADD_HDR

    curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    l->cancel = cancel;

    int total = 1 + l->cfg.max_retries;
    for (;;) {
        if (cancel && *cancel) {
            a.code = AG_LLM_ECANCELLED;
            snprintf(a.err, sizeof a.err, "cancelled");
            break;
        }
        attempts++;
        run_attempt(l, r, &a);
        if (a.code == AG_LLM_OK || !a.retry || attempts >= total) break;
        double d = a.retry_after >= 0
            ? (a.retry_after < l->cfg.backoff_max_s ? a.retry_after : l->cfg.backoff_max_s)
            : backoff_delay(l, attempts - 1);
        if (log_level >= 0)
            ag_llm_logf("retrying %s request after %s in %.1f s (attempt %d/%d)",
                        task, a.why, d, attempts + 1, total);
        if (sleep_cancellable(d, cancel)) {
            a.code = AG_LLM_ECANCELLED;
            snprintf(a.err, sizeof a.err, "cancelled");
            break;
        }
    }
    if (a.code != AG_LLM_OK && a.code != AG_LLM_ECANCELLED && attempts > 1) {
        size_t n = strlen(a.err);
        snprintf(a.err + n, sizeof a.err - n, " (after %d attempts)", attempts);
    }
    r->endpoint_wrong = a.endpoint_wrong;
    if (log_level > 0)
        ag_llm_logf("%s request: HTTP %d%s, %d attempt%s, %.0f ms", task, r->http_status,
                    r->http_status ? "" : " (no response)", attempts, attempts == 1 ? "" : "s",
                    (now_s() - t0) * 1e3);
out:
    if (l) {
        l->cancel = NULL;
        curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        curl_easy_setopt(l->curl, CURLOPT_POSTFIELDS, (char *)NULL);
    }
    curl_slist_free_all(hdrs);
    if (auth) { memset(auth, 0, strlen(auth)); free(auth); }
    free(body);
    if (l && l->cap > 65536) {    /* do not keep a large body between calls */
        free(l->body);
        l->body = NULL;
        l->len = l->cap = 0;
    }
    r->attempts = attempts;
    r->latency_ms = (now_s() - t0) * 1e3;
    if (a.code != AG_LLM_OK) {
        if (!a.err[0]) snprintf(a.err, sizeof a.err, "%s", ag_llm_strerror(a.code));
        r->error = redact(a.err, strlen(a.err), l ? l->cfg.api_key : NULL);
        free(r->content);
        free(r->finish_reason);
        r->content = r->finish_reason = NULL;
    }
    return a.code;
}
