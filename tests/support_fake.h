/* tests/support_fake — drives tests/fake_llm, the scripted OpenAI-compatible
 * server, from a test program. Every exported symbol starts with ts_fake_.
 *
 * The server binary is $OPTAGENT_BUILD/tests/fake_llm (OPTAGENT_BUILD
 * defaults to "build"), or $OPTAGENT_BUILD/tests/fake_llm/fake_llm when the
 * former is the directory holding the server's objects. Each ts_fake has its own temp dir holding the script,
 * the request log and the server's stderr; the server's stdin is a pipe held
 * by this process, so the server also exits when the test program dies.
 * The script format is in tests/fake_llm/README.md.
 *
 * Nothing here aborts and nothing calls cmocka's fail(): failures are NULL or
 * -1 returns with one line on stderr starting with "# " (TAP comment), and
 * the tests decide. The server's stderr is printed the same way when it
 * exits abnormally or wrote anything (ASan reports show up there).
 */
#ifndef OPTAGENT_TESTS_SUPPORT_FAKE_H
#define OPTAGENT_TESTS_SUPPORT_FAKE_H

#include <stddef.h>
#include <cjson/cJSON.h>

typedef struct ts_fake ts_fake;

/* Writes script_json to a temp dir, starts the server (fork/exec, stdout
 * pipe) and reads "PORT n" within 10 s. NULL on failure (bad script, missing
 * binary, ...), with a message on stderr. */
ts_fake *ts_fake_start(const char *script_json);

/* The same with extra server arguments (NULL-terminated, may be NULL), e.g.
 * {"--max-seconds", "2", NULL} or {"--max-body", "1000", NULL}. */
ts_fake *ts_fake_start_args(const char *script_json, const char *const *extra_args);

/* "http://127.0.0.1:PORT/v1" — what optagent's base URL should be. */
const char *ts_fake_base_url(const ts_fake *f);
int ts_fake_port(const ts_fake *f);
long ts_fake_pid(const ts_fake *f);
const char *ts_fake_log_path(const ts_fake *f);   /* the JSONL request log */

/* All requests logged so far, as a cJSON array of the log objects (caller
 * deletes); waits until the log has at least min_count lines or 5 s pass,
 * and then returns what there is. NULL only when out of memory. */
cJSON *ts_fake_requests(ts_fake *f, int min_count);

/* GET /_stats as a cJSON object (caller deletes), or NULL. */
cJSON *ts_fake_stats(const ts_fake *f);

/* One request over a fresh connection (HTTP/1.1, Connection: close).
 * extra_headers are raw lines ("X-A: b\r\n"), body may be NULL. Returns the
 * status, or -1 when no response came within 10 s; *resp_body (may be NULL)
 * receives the response body (caller frees). */
int ts_fake_http(const ts_fake *f, const char *method, const char *path,
                 const char *extra_headers, const char *body, char **resp_body);

/* Sends len raw bytes on a fresh connection, half-closes it and returns
 * everything the server sent until it closed or timeout_ms passed
 * (NUL-terminated; caller frees), or NULL when it could not connect. */
char *ts_fake_raw(const ts_fake *f, const char *data, size_t len, int timeout_ms);

/* Waits up to timeout_ms for the server to exit on its own (POST /_shutdown,
 * --max-seconds). Returns its exit code, 128+signal when a signal killed it,
 * or -1 when it is still running. f stays valid; call ts_fake_stop after. */
int ts_fake_wait_exit(ts_fake *f, int timeout_ms);

/* Stops the server (closes its stdin, SIGTERM, waits up to 5 s, then
 * SIGKILL), removes the temp dir and frees f. Returns the server's exit code
 * (0 after a clean shutdown), 128+signal, or -1 when it had to be killed.
 * NULL is allowed (returns -1). */
int ts_fake_stop_status(ts_fake *f);
void ts_fake_stop(ts_fake *f);

#endif
