/* agent/llm — an OpenAI-compatible chat-completions client over libcurl.
 *
 * Ownership, once for the whole file: ag_llm_new copies the config it is
 * given; replies (ag_llm_reply) are owned by the caller and freed with
 * ag_llm_reply_free. The API key is kept only in the client and the request
 * header: it never appears in errors, logs, replies or anything returned
 * (in reply content only keys of 8 or more bytes are replaced: see
 * ag_reply_clean).
 * A client may be used from one thread at a time; make one per thread.
 */
#ifndef OPTAGENT_AGENT_LLM_H
#define OPTAGENT_AGENT_LLM_H

#include <stddef.h>

typedef enum {
    AG_LLM_OK = 0,
    AG_LLM_ECONFIG,      /* no base URL / model, bad URL */
    AG_LLM_ECONNECT,     /* could not connect (after retries) */
    AG_LLM_ETIMEOUT,     /* connect or total timeout (after retries) */
    AG_LLM_EHTTP,        /* a non-retryable HTTP status (4xx), or 5xx/429 after retries */
    AG_LLM_ERESPONSE,    /* body not JSON, no choices, no content, truncated */
    AG_LLM_ETOOBIG,      /* response larger than max_response_bytes */
    AG_LLM_ENOMEM,
    AG_LLM_ECANCELLED    /* stopped by the cancel flag */
} ag_llm_code;

const char *ag_llm_strerror(ag_llm_code c);

typedef struct {
    char *base_url;          /* e.g. "https://api.openai.com/v1"; /chat/completions is appended */
    char *model;
    char *api_key;           /* NULL or "": no Authorization header */
    double temperature;      /* < 0: not sent */
    int max_tokens;          /* <= 0: not sent */
    long seed;               /* < 0: not sent */
    double connect_timeout_s;
    double timeout_s;        /* total, per attempt */
    int max_retries;         /* retries after the first attempt */
    double backoff_base_s;   /* first retry delay; doubles, with jitter */
    double backoff_max_s;
    size_t max_response_bytes;
} ag_llm_config;

/* Defaults: no URL/model/key, temperature 0, max_tokens 0 (unset), seed -1,
 * connect 10 s, total 120 s, 4 retries, backoff 1 s .. 30 s, 4 MiB cap. */
void ag_llm_config_default(ag_llm_config *c);
void ag_llm_config_free(ag_llm_config *c);   /* frees the strings */

typedef struct { const char *role; const char *content; } ag_llm_message;

typedef struct {
    char *content;           /* choices[0].message.content */
    char *finish_reason;     /* may be NULL */
    long prompt_tokens, completion_tokens, total_tokens;   /* -1 when absent */
    int http_status;
    int attempts;            /* 1 + retries used */
    double latency_ms;       /* whole call including retries */
    char *error;             /* one line, when the call failed; never the key */
} ag_llm_reply;

typedef struct ag_llm ag_llm;

ag_llm *ag_llm_new(const ag_llm_config *c);
void ag_llm_free(ag_llm *l);

/* Sends one chat completion. task is the X-Optagent-Task header value
 * ("formulate", "correct", ...). Returns the code; *out (always set, caller
 * frees) holds the content on success and the error line on failure.
 * cancel (may be NULL) is polled; when it becomes non-zero the call stops. */
ag_llm_code ag_llm_chat(ag_llm *l, const char *task, const ag_llm_message *msgs,
                        size_t nmsgs, volatile int *cancel, ag_llm_reply **out);
void ag_llm_reply_free(ag_llm_reply *r);

/* What every reply text goes through before it leaves the client: invalid
 * UTF-8 replaced by U+FFFD, then key (when at least AG_REDACT_MIN_KEY = 8
 * bytes) replaced by "[REDACTED]" (also in its '\/'-escaped spelling). For
 * replies that come from elsewhere (the cache). *text may be replaced (see
 * agent/text.h); 0, or -1 when out of memory. */
int ag_reply_clean(char **text, const char *key);

/* The default warning/log sink is stderr with the prefix "optagent: ".
 * Tests may redirect it. The message never contains the key. */
void ag_llm_set_log(void (*fn)(void *ctx, const char *line), void *ctx);

/* Sends one printf-style line (without the prefix, cut at 1 KiB, control
 * characters made spaces) to that sink. For the agent modules' warnings: the
 * caller makes sure the line holds no key. */
void ag_llm_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
