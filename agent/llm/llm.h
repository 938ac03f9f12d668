/* agent/llm — the LLM transport, the one public header of agent/llm/.
 *
 * The bottom of the agent: it knows HTTP, endpoints, keys and replies, and
 * nothing of formulations. Sections, in order:
 *   client         ag_llm_*: chat completions over libcurl (llm.c), with the
 *                  X-Optagent-Task header, retries and the key kept out of
 *                  everything returned;
 *   reply text     ag_utf8_*, ag_redact_key: what every reply goes through
 *                  (text.c);
 *   configuration  ag_llm_config_load: flags > environment > file (config.c);
 *   chat backends  ag_chat: where replies come from — the client (chat.c),
 *                  recorded replies (replay.c), the response cache in
 *                  front of another backend (cache.c);
 *   libcurl        loaded on first use (curl_dl.c).
 * Ownership is stated once per section below.
 */
#ifndef OPTAGENT_AGENT_LLM_H
#define OPTAGENT_AGENT_LLM_H

/* ---- the client: OpenAI-compatible chat completions over libcurl ----
 *
 * Ownership, once for the whole file: ag_llm_new copies the config it is
 * given; replies (ag_llm_reply) are owned by the caller and freed with
 * ag_llm_reply_free. The API key is kept only in the client and the request
 * header: it never appears in errors, logs, replies or anything returned
 * (in reply content only keys of 8 or more bytes are replaced: see
 * ag_reply_clean).
 * A client may be used from one thread at a time; make one per thread.
 */

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
    int endpoint_wrong;      /* 1 when the configuration is what failed, so every
                                further call fails the same way: the connection
                                was refused before this client ever exchanged
                                anything (not retried), or HTTP 401, 403 or 404.
                                error then ends with a hint naming the setting */
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

/* How much the client logs (process-wide): -1 no retry notes, 0 the retry
 * notes (default), 1 also one line per request ("formulate request: HTTP
 * 200, 1 attempt, 812 ms"). */
void ag_llm_set_verbosity(int level);

/* ---- reply text: byte-level fixes applied to text that comes from outside
 * (LLM replies) before it is stored or printed: UTF-8 repair and removal of
 * the API key.
 *
 * Both work in place when nothing needs changing (the common case: no copy
 * of a multi-megabyte reply), and otherwise replace *s with a new malloc'd
 * buffer and free the old one. They return 0, or -1 when out of memory (*s
 * is then left as it was).
 */


/* Keys shorter than this are not redacted from reply text: a 3-character
 * key would match ordinary words and mangle formulations. Error lines still
 * redact any key (see agent/llm.c). */
#define AG_REDACT_MIN_KEY 8

/* The marker that replaces the key. */
#define AG_REDACTED "[REDACTED]"

/* Replaces every invalid UTF-8 sequence in the NUL-terminated *s (bad lead
 * bytes, truncated or overlong sequences, surrogates, > U+10FFFF) by U+FFFD,
 * one per maximal invalid subpart. */
int ag_utf8_fix(char **s);

/* 1 when the n bytes at s are valid UTF-8. */
int ag_utf8_valid(const char *s, size_t n);

/* Replaces every occurrence of key in the NUL-terminated *s by AG_REDACTED;
 * also its JSON-escaped spelling ('/' written "\/") when the key holds a '/'.
 * key NULL or shorter than AG_REDACT_MIN_KEY: nothing is done. */
int ag_redact_key(char **s, const char *key);

/* ---- configuration: where the LLM endpoint, model and key come from ----
 *
 * Each setting is taken from the first source that gives it:
 *
 *   1. command-line flags (ag_llm_flags);
 *   2. OPTAGENT_BASE_URL, OPTAGENT_API_KEY, OPTAGENT_MODEL,
 *      OPTAGENT_TEMPERATURE, OPTAGENT_MAX_TOKENS, OPTAGENT_TIMEOUT;
 *   3. OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL;
 *   4. the config file: --config PATH (must exist), else
 *      $XDG_CONFIG_HOME/optagent/config, else ~/.config/optagent/config
 *      (skipped when absent);
 *   5. the defaults of ag_llm_config_default: no base URL, no model, no key.
 *
 * An environment variable that is empty (or only blanks) counts as unset.
 *
 * The key follows the endpoint it was configured with, so it is never sent to
 * a server it was not meant for:
 *   - --api-key, --api-key-file and OPTAGENT_API_KEY go with whichever base
 *     URL is chosen (they are set for optagent on purpose);
 *   - OPENAI_API_KEY (often set for other tools) is used only when the base
 *     URL comes from OPENAI_BASE_URL or its host is api.openai.com;
 *   - the config file's api_key is used only when the base URL comes from
 *     that file, or when the file sets no base_url.
 * ag_llm_sources.api_key says when a key was left out for this reason.
 *
 * Config file: "key = value" lines; blank lines and lines whose first
 * non-blank character is '#' are skipped; the value is trimmed and may be
 * quoted ("..." or '...'); a later line overrides an earlier one. Keys:
 * base_url, api_key, model, temperature, max_tokens, seed, timeout,
 * connect_timeout, max_retries. An unknown key is a warning naming file:line;
 * a line without '=' or a bad value is an error naming file:line. Lines are at
 * most 4096 bytes and the file at most 64 KiB.
 *
 * Values: temperature >= 0 or "none" (not sent; a negative flag value means
 * the same); max_tokens 0..10000000 (0: not sent); seed 0..2^53 or "none" (a
 * negative flag value: not sent); timeout and connect_timeout in seconds,
 * > 0 and <= 86400; max_retries 0..20.
 *
 * A config file holding api_key, and any --api-key-file, that is readable by
 * group or others (mode & 077) gets a warning through the log sink
 * (ag_llm_logf); the key is still used.
 *
 * A base URL must start with http:// or https://. When one is configured a
 * model must be too: there is no default model (servers disagree on names),
 * so the error is "no model configured (set --model or OPTAGENT_MODEL)".
 * With no base URL at all, loading succeeds with base_url NULL: the caller
 * decides whether an endpoint is needed.
 *
 * The key itself never appears in an error, a warning, a source or a
 * description.
 */


/* Flag values; NULL / have_* = 0 when the flag was not given. Borrowed. */
typedef struct {
    const char *base_url, *api_key, *api_key_file, *model, *config_file;
    double temperature;       /* < 0: do not send */
    int max_tokens;           /* 0: do not send */
    long seed;                /* < 0: do not send */
    double timeout_s;
    int have_temperature, have_max_tokens, have_seed, have_timeout;
} ag_llm_flags;

#define AG_LLM_SOURCE_MAX 512

/* Where the main settings came from, for `optagent config`:
 * "flag", "--api-key-file PATH", "OPTAGENT_BASE_URL", ...,
 * "config file PATH:LINE", "none". */
typedef struct {
    char base_url[AG_LLM_SOURCE_MAX];
    char api_key[AG_LLM_SOURCE_MAX];
    char model[AG_LLM_SOURCE_MAX];
    char config_file[AG_LLM_SOURCE_MAX];   /* the file read, or "" when none */
} ag_llm_sources;

/* Fills *out (ag_llm_config_default first; the strings are malloc'd and
 * owned by *out: ag_llm_config_free). flags may be NULL. The environment is
 * read with getenv. Returns 0, or -1 with a one-line error in err naming the
 * flag, variable or file:line, *out then holding the defaults and no string.
 * Warnings go to the log sink. */
int ag_llm_config_load(const ag_llm_flags *flags, ag_llm_config *out,
                       char *err, size_t errlen);

/* The same, also filling *src (may be NULL). */
int ag_llm_config_load_ex(const ag_llm_flags *flags, ag_llm_config *out,
                          ag_llm_sources *src, char *err, size_t errlen);

/* Writes a multi-line description of c into buf (len bytes, always
 * NUL-terminated when len > 0): base URL, model, whether a key is set (never
 * the key; user:password in the URL is hidden too), temperature, max_tokens,
 * seed, timeouts, retries. Returns the length the whole text needs (as
 * snprintf: >= len means it was cut), or -1 when c or buf is NULL. */
int ag_llm_config_describe(const ag_llm_config *c, char *buf, size_t len);

/* The command-line options every LLM command takes, defined once here:
 * --base-url, --model, --api-key-file, --config, --temperature,
 * --max-tokens, --seed, --timeout. Each takes a value. The commands put them
 * into their getopt_long tables (agent/cli: ag_args_llm_options) with val as
 * the option's code. */
enum {
    AG_LLM_OPT_BASE_URL = 0x4c00, AG_LLM_OPT_MODEL, AG_LLM_OPT_API_KEY_FILE, AG_LLM_OPT_CONFIG,
    AG_LLM_OPT_TEMPERATURE, AG_LLM_OPT_MAX_TOKENS, AG_LLM_OPT_SEED, AG_LLM_OPT_TIMEOUT
};
typedef struct { const char *name; int val; } ag_llm_option;
extern const ag_llm_option ag_llm_options[];   /* ends with { NULL, 0 } */

/* Stores option opt's (AG_LLM_OPT_*) value in f (strings are borrowed).
 * Returns 0, or -1 with a one-line reason in err ("--seed expects a
 * non-negative integer, got 'x'"). */
int ag_llm_flag_set(ag_llm_flags *f, int opt, const char *value, char *err, size_t errlen);

/* The same, with " (from SOURCE)" after base URL, model and key and the
 * config file read. src may be NULL. */
int ag_llm_config_describe_sources(const ag_llm_config *c, const ag_llm_sources *src,
                                   char *buf, size_t len);

/* ---- chat backends ---- */

/* Where replies come from: the HTTP client, or (batch) a cache or a replay
 * file in front of it. call says which problem, stage and round it is. */
typedef struct {
    const char *problem_id;   /* "" when there is none (optagent ask) */
    const char *task;         /* "formulate", "correct" */
    int round;
} ag_chat_call;

typedef ag_llm_code (*ag_chat_fn)(void *ctx, const ag_chat_call *call,
                                  const ag_llm_message *msgs, size_t nmsgs,
                                  volatile int *cancel, ag_llm_reply **out);

typedef struct {
    ag_chat_fn fn;
    void *ctx;
} ag_chat;

/* A backend that sends every call to the LLM client l. */
ag_chat ag_chat_direct(ag_llm *l);

/* ---- the response cache: a chat backend that answers from the SQLite
 * response cache of db/ (db_cache_*) and sends only misses to another
 * backend (cache.c). The key is the SHA-256 of endpoint, model and the
 * canonical request (task, sample, temperature, max_tokens, seed,
 * messages); a hit comes back with the tokens and latency measured when it
 * was made and is cleaned (ag_reply_clean) again.
 *
 * Ownership: the caller owns the ag_chat_cache and everything it points to
 * (borrowed for as long as the backend is used). One per thread: sample is
 * the caller's per-problem state; the db handle may be shared (db/
 * serializes it).
 */

struct db;

typedef struct {
    struct db *db;                 /* the cache's database */
    const ag_llm_config *cfg;      /* base_url, model, sampling: the key; api_key: cleaning */
    int use;                       /* 0: neither read nor write the cache */
    int offline;                   /* a miss is AG_LLM_ERESPONSE, never a call */
    int sample;                    /* 1..K with several samples per problem (cached
                                      apart), else 0; set before each problem */
    ag_chat inner;                 /* where misses go */
    /* Told of every call, cached or not: the cache key (NULL when none),
     * whether it was a hit, the code and the reply (may be NULL). May be NULL. */
    void (*observe)(void *ctx, const ag_chat_call *call, const char *key, int cached,
                    ag_llm_code code, const ag_llm_reply *r);
    /* Told when a fresh reply could not be stored (one line, no key). May be NULL. */
    void (*failed)(void *ctx, const char *why);
    void *ctx;                     /* for observe and failed */
} ag_chat_cache;

/* The backend: ctx is c. */
ag_chat ag_chat_cached(ag_chat_cache *c);

/* ---- replay: a chat backend that answers from recorded replies, so a run
 * can be reproduced with no endpoint at all (--llm replay:FILE.jsonl).
 *
 * The file holds one JSON object per line:
 *   {"id": "p7", "task": "formulate", "round": 0, "content": "...",
 *    "usage": {"prompt_tokens": 812, "completion_tokens": 240}}
 * "task" may be written "stage"; "round" may be left out (it then answers
 * every round of that task); "usage" is optional. "when_contains": TEXT
 * makes a line answer only requests some message of which contains TEXT,
 * and such a line wins over one without (then the exact round over any):
 * one file replays a problem as it was answered with and without an
 * insight in its request. A request with no recorded
 * reply fails with a clear error (AG_LLM_ERESPONSE), never a guess.
 * Ownership: ag_replay_load returns a replay the caller frees with
 * ag_replay_free; it is read-only afterwards and safe to share between
 * threads.
 */


typedef struct ag_replay ag_replay;

/* NULL with "FILE:LINE: reason" in err on a malformed file. */
ag_replay *ag_replay_load(const char *path, char *err, size_t errlen);
void ag_replay_free(ag_replay *r);
size_t ag_replay_count(const ag_replay *r);

/* The backend: ctx is the ag_replay. */
ag_chat ag_chat_replay(ag_replay *r);

/* ---- libcurl loaded on first use (see curl_dl.c): the binary does not
 * link libcurl, so commands that never open a connection never load it.
 * ---- */
/* NULL when libcurl is loaded (loading it now if needed), else why it could
 * not be: a static string, valid for the life of the process. */
const char *ag_curl_load_error(void);

#endif
