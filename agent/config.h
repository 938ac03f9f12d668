/* agent/config — where the LLM endpoint, model and key come from.
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
#ifndef OPTAGENT_AGENT_CONFIG_H
#define OPTAGENT_AGENT_CONFIG_H

#include <stddef.h>
#include "agent/llm.h"

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

/* The command-line options every LLM command takes: --base-url, --model,
 * --api-key-file, --config, --temperature, --max-tokens, --seed, --timeout.
 * 1 when opt is one of them (it takes a value), else 0. */
int ag_llm_flag_takes_value(const char *opt);
/* Stores opt's value in f (strings are borrowed). Returns 0, or -1 with a
 * one-line reason in err for a bad number. */
int ag_llm_flag_set(ag_llm_flags *f, const char *opt, const char *value, char *err, size_t errlen);

/* The same, with " (from SOURCE)" after base URL, model and key and the
 * config file read. src may be NULL. */
int ag_llm_config_describe_sources(const ag_llm_config *c, const ag_llm_sources *src,
                                   char *buf, size_t len);

#endif
