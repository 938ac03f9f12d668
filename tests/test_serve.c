/* optagent serve over real HTTP on 127.0.0.1, against the fake LLM server:
 * every synchronous endpoint and its errors, each answer compared with what
 * the command line gives for the same input (solve --json, ask --json,
 * library search --json), the token, and the LLM key found in no reply,
 * metric or log line. Jobs: test_serve_jobs.c; hostile clients:
 * test_serve_hostile.c. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "tests/support_serve.h"

#define KEY "sk-serve-test-KEY-5f0c2a9e77"

static ts_fake *fake;
static ts_srv srv;
static char fake_env[600], libpath[1100];

static const char *const formulation =
    "{\"format\":1,\"sets\":[{\"name\":\"P\",\"elements\":[\"chair\",\"table\"]}],"
    "\"parameters\":[{\"name\":\"profit\",\"index\":[\"P\"],\"values\":[30,50]},"
    "{\"name\":\"hours\",\"index\":[\"P\"],\"values\":[2,5]}],"
    "\"variables\":[{\"name\":\"x\",\"index\":[\"P\"],\"type\":\"integer\"}],"
    "\"objective\":{\"sense\":\"maximize\",\"expression\":\"sum{p in P} profit[p]*x[p]\"},"
    "\"constraints\":[{\"name\":\"labor\",\"expression\":\"sum{p in P} hours[p]*x[p] <= 40\"}]}";

static const char *const invalid_formulation =
    "{\"format\":1,\"variables\":[{\"name\":\"x\"}],"
    "\"objective\":{\"sense\":\"maximize\",\"expression\":\"x + y\"},\"constraints\":[]}";

/* A script: "Problem number i" -> x <= i at once; "Slow problem" after 4 s. */
static ts_fake *start_fake(void)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    for (int i = 1; i <= 3; i++) {
        char needle[64], content[400];
        snprintf(needle, sizeof needle, "Problem number %d:", i);
        snprintf(content, sizeof content, "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":%d}],"
                 "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```", i);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "content_contains", needle);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "reply"), "content", content);
        cJSON_AddItemToArray(rules, r);
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "match"), "content_contains", "Medium problem");
    cJSON *mr = cJSON_AddObjectToObject(m, "reply");
    cJSON_AddStringToObject(mr, "content", "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":7}],"
                            "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```");
    cJSON_AddNumberToObject(mr, "delay_ms", 1000);
    cJSON_AddItemToArray(rules, m);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "content_contains", "Slow problem");
    cJSON *rep = cJSON_AddObjectToObject(r, "reply");
    cJSON_AddStringToObject(rep, "content", "no idea");
    cJSON_AddNumberToObject(rep, "delay_ms", 4000);
    cJSON_AddItemToArray(rules, r);
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    return f;
}

static int setup(void **state)
{
    if (ts_cli_setup(state) != 0) return -1;
    fake = start_fake();
    if (!fake) return -1;
    snprintf(fake_env, sizeof fake_env, "OPTAGENT_BASE_URL=%s", ts_fake_base_url(fake));
    snprintf(libpath, sizeof libpath, "%s", ts_cli_path("lib.db"));
    char *out = NULL;
    int rc = ts_cli_sh(&out, "%s/optagent library --library '%s' import '%s' 2>&1", ts_cli_bin(), libpath,
                       ts_library_data("insights.json"));
    free(out);
    if (rc != 0) return -1;
    char xdg[1100], data[1100];
    snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s", ts_cli_path(""));
    snprintf(data, sizeof data, "%s", ts_cli_path("data"));
    const char *args[] = { "--data-dir", data, "--library", libpath, "--request-timeout", "2",
                           "--max-body", "1M", "--threads", "4", NULL };
    const char *env[] = { fake_env, "OPTAGENT_MODEL=fake", "OPTAGENT_API_KEY=" KEY, xdg,
                          "-OPENAI_BASE_URL", "-OPENAI_API_KEY", "-OPTAGENT_TIME_LIMIT", NULL };
    return ts_srv_start(&srv, ts_cli_bin(), args, env, ts_cli_path("serve.err"));
}

static int teardown(void **state)
{
    int rc = srv.pid ? ts_srv_stop(&srv, SIGTERM, 10000) : 0;   /* the last test stops it */
    ts_fake_stop(fake);
    ts_cli_teardown(state);
    return rc == 0 ? 0 : -1;
}

static int http(const char *method, const char *path, const char *body, char **out)
{
    return ts_srv_http(srv.port, method, path, NULL, body, body ? strlen(body) : 0, out);
}

/* The reply has the status want and an "error". */
static void assert_error_reply(const char *method, const char *path, const char *body, int want)
{
    char *out = NULL;
    int st = http(method, path, body, &out);
    if (st != want) print_error("# %s %s: %d %s\n", method, path, st, out ? out : "");
    assert_int_equal(st, want);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")));
    cJSON_Delete(j);
    free(out);
}

static void test_healthz_404_405(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(http("GET", "/healthz", NULL, &out), 200);
    cJSON *j = cJSON_Parse(out);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "ok");
    cJSON_Delete(j);
    free(out);
    assert_error_reply("GET", "/nope", NULL, 404);
    assert_error_reply("GET", "/v1/jobs/0123456789abcdef/other", NULL, 404);
    assert_error_reply("DELETE", "/healthz", NULL, 405);
    assert_non_null(strstr(ts_srv_last_headers(), "Allow: GET"));
    assert_error_reply("GET", "/v1/solve", NULL, 405);
    assert_non_null(strstr(ts_srv_last_headers(), "Allow: POST"));
    assert_error_reply("PUT", "/v1/jobs", "{}", 405);
}

/* a's and b's JSON equal once time_ms (a measurement) is dropped. */
static void assert_same_report(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    assert_non_null(x);
    assert_non_null(y);
    cJSON_DeleteItemFromObject(x, "time_ms");
    cJSON_DeleteItemFromObject(y, "time_ms");
    if (!cJSON_Compare(x, y, 1)) print_error("# server: %s\n# cli: %s\n", a, b);
    assert_true(cJSON_Compare(x, y, 1));
    cJSON_Delete(x);
    cJSON_Delete(y);
}

static void test_solve_is_solve_json(void **state)
{
    (void)state;
    const char *cases[][2] = { { formulation, "ok.json" }, { invalid_formulation, "bad.json" } };
    for (int i = 0; i < 2; i++) {
        const char *file = ts_cli_path(cases[i][1]);
        assert_int_equal(ts_write_file(file, cases[i][0], strlen(cases[i][0])), 0);
        char *cli = NULL, *out = NULL;
        int rc = ts_cli_sh(&cli, "%s/optagent solve --json '%s'", ts_cli_bin(), file);
        int st = http("POST", "/v1/solve", cases[i][0], &out);
        assert_int_equal(st, i == 0 ? 200 : 422);
        assert_int_equal(rc, i == 0 ? 0 : 1);
        assert_same_report(out, cli);
        if (i == 1) assert_non_null(strstr(out, "\"diagnostics\":[{"));
        free(cli);
        free(out);
    }
}

static void test_malformed_is_400(void **state)
{
    (void)state;
    assert_error_reply("POST", "/v1/solve", "{\"format\": 1,", 400);
    assert_error_reply("POST", "/v1/solve", "[1, 2]", 400);
    assert_error_reply("POST", "/v1/solve", "", 400);
    assert_error_reply("POST", "/v1/ask", "{\"problem\": \"caf\xc3\x28\"}", 400);   /* invalid UTF-8 */
    assert_error_reply("POST", "/v1/solve", "{\"format\": \"\xed\xa0\x80\"}", 400);  /* a surrogate */
    size_t depth = 200000;
    char *deep = malloc(2 * depth + 1);
    assert_non_null(deep);
    for (size_t i = 0; i < depth; i++) { deep[i] = '['; deep[2 * depth - 1 - i] = ']'; }
    deep[2 * depth] = 0;
    assert_error_reply("POST", "/v1/solve", deep, 400);
    assert_error_reply("POST", "/v1/jobs", deep, 400);
    free(deep);
    assert_error_reply("POST", "/v1/ask", "{\"problem\": 5}", 400);
    assert_error_reply("POST", "/v1/ask", "{\"problem\": \"   \"}", 400);
    assert_error_reply("POST", "/v1/ask", "{\"problem\": \"x\", \"max_corrections\": 99}", 400);
    assert_error_reply("POST", "/v1/ask", "{\"problem\": \"x\", \"extra\": 1}", 400);
    assert_error_reply("GET", "/v1/library/search", NULL, 400);
    assert_error_reply("GET", "/v1/library/search?q=flow&k=0", NULL, 400);
    char *out = NULL;
    assert_int_equal(http("GET", "/healthz", NULL, &out), 200);   /* still answering */
    free(out);
}

static void test_body_over_limit_is_413(void **state)
{
    (void)state;
    /* declared: refused before the body is read */
    char *out = NULL;
    int st = ts_srv_http(srv.port, "POST", "/v1/solve", "Content-Length: 104857600\r\n", NULL, 0, &out);
    assert_int_equal(st, 413);
    free(out);
    /* sent: 2 MiB against a 1 MiB limit */
    size_t n = 2u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = 0;
    assert_int_equal(ts_srv_http(srv.port, "POST", "/v1/solve", NULL, big, n, &out), 413);
    free(out);
    /* chunked, no length: discarded as it comes, 413 at its end */
    int fd = ts_srv_connect(srv.port);
    assert_true(fd >= 0);
    const char *head = "POST /v1/solve HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
    char chunk[64];
    snprintf(chunk, sizeof chunk, "%zx\r\n", n);
    assert_true(write(fd, chunk, strlen(chunk)) > 0);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, big + off, n - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    (void)!write(fd, "\r\n0\r\n\r\n", 7);
    char resp[256] = "";
    ssize_t r = read(fd, resp, sizeof resp - 1);
    close(fd);
    assert_true(r > 12);
    resp[r] = 0;
    assert_int_equal(atoi(resp + 9), 413);
    free(big);
}

/* Removes every measured time (they differ from run to run). */
static void drop_timings(cJSON *j)
{
    static const char *const names[] = { "llm_ms", "solve_ms", "latency_ms", "time_ms" };
    for (size_t i = 0; cJSON_IsObject(j) && i < sizeof names / sizeof *names; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(j, names[i]);
    cJSON *c;
    cJSON_ArrayForEach(c, j) drop_timings(c);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *slow_ask(void *arg)
{
    char *out = NULL;
    *(int *)arg = http("POST", "/v1/ask", "{\"problem\": \"Slow problem\"}", &out);
    free(out);
    return NULL;
}

static void test_ask_is_ask_json(void **state)
{
    (void)state;
    char *out = NULL, *cli = NULL;
    int st = http("POST", "/v1/ask", "{\"problem\": \"Problem number 2: maximize x up to 2.\", \"max_corrections\": 1}", &out);
    assert_int_equal(st, 200);
    const char *p = ts_cli_path("p2.txt");
    const char *text = "Problem number 2: maximize x up to 2.";
    assert_int_equal(ts_write_file(p, text, strlen(text)), 0);
    int rc = ts_cli_sh(&cli, "env -u OPENAI_BASE_URL -u OPENAI_API_KEY XDG_CONFIG_HOME=%s %s OPTAGENT_MODEL=fake "
                       "OPTAGENT_API_KEY=%s %s/optagent ask --json --library '%s' --max-corrections 1 -f '%s'",
                       ts_cli_path(""), fake_env, KEY, ts_cli_bin(), libpath, p);
    assert_int_equal(rc, 0);
    cJSON *a = cJSON_Parse(out), *b = cJSON_Parse(cli);
    assert_non_null(a);
    assert_non_null(b);
    /* measurements differ; everything else is the same record */
    drop_timings(a);
    drop_timings(b);
    if (!cJSON_Compare(a, b, 1)) print_error("# server: %s\n# cli: %s\n", out, cli);
    assert_true(cJSON_Compare(a, b, 1));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(a, "outcome")), "ok");
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "objective")) == 2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(out);
    free(cli);
    /* past --request-timeout (2 s): 504, well before the fake's 4 s; and
     * while it waits, other clients are answered at once */
    pthread_t t;
    int slow_status = 0;
    assert_int_equal(pthread_create(&t, NULL, slow_ask, &slow_status), 0);
    usleep(200000);
    for (int i = 0; i < 10; i++) {
        double t0 = now_ms();
        assert_int_equal(http("POST", "/v1/solve", formulation, &out), 200);
        free(out);
        assert_true(now_ms() - t0 < 2000);
    }
    pthread_join(t, NULL);
    assert_int_equal(slow_status, 504);
}

static void test_library_search_is_cli_search(void **state)
{
    (void)state;
    const char *q = "A factory makes three paint types. No more than 15% of total output may be glossy.";
    char *out = NULL, *cli = NULL;
    assert_int_equal(http("GET", "/v1/library/search?q=A%20factory%20makes%20three%20paint%20types.%20No%20more"
                                 "%20than%2015%25%20of%20total%20output%20may%20be%20glossy.&k=3", NULL, &out), 200);
    assert_int_equal(ts_cli_sh(&cli, "%s/optagent library --library '%s' search --json -k 3 '%s'", ts_cli_bin(),
                               libpath, q), 0);
    cJSON *a = cJSON_Parse(out), *b = cJSON_Parse(cli);
    assert_true(cJSON_GetArraySize(a) >= 1);
    assert_true(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(out);
    free(cli);
}

static void test_metrics_and_no_key_anywhere(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(http("GET", "/metrics", NULL, &out), 200);
    assert_non_null(strstr(ts_srv_last_headers(), "text/plain; version=0.0.4"));
    assert_non_null(strstr(out, "optagent_http_requests_total{route=\"/v1/solve\",code=\"200\"}"));
    assert_non_null(strstr(out, "optagent_http_requests_total{route=\"/v1/solve\",code=\"422\"}"));
    assert_non_null(strstr(out, "optagent_http_requests_total{route=\"/v1/ask\",code=\"504\"}"));
    assert_non_null(strstr(out, "optagent_http_request_duration_seconds_bucket{route=\"/v1/ask\",le=\"+Inf\"}"));
    const char *calls = strstr(out, "\noptagent_llm_calls_total ");
    assert_non_null(calls);
    assert_true(atol(calls + strlen("\noptagent_llm_calls_total ")) >= 1);
    assert_non_null(strstr(out, "optagent_llm_tokens_total{kind=\"prompt\"}"));
    assert_non_null(strstr(out, "optagent_jobs{state=\"running\"}"));
    assert_null(strstr(out, KEY));
    free(out);
    /* the fake saw the key (it is sent to the endpoint), and nothing else did */
    cJSON *reqs = ts_fake_requests(fake, 1);
    char *log = cJSON_PrintUnformatted(reqs);
    assert_non_null(strstr(log, KEY));
    free(log);
    cJSON_Delete(reqs);
    char *err = ts_srv_stderr(&srv);
    assert_non_null(err);
    assert_null(strstr(err, KEY));
    free(err);
}

static void test_token(void **state)
{
    (void)state;
    const char *tf = ts_cli_path("token");
    const char *token = "s3cret-token-value\n";
    assert_int_equal(ts_write_file(tf, token, strlen(token)), 0);
    chmod(tf, 0600);
    ts_srv t;
    const char *args[] = { "--data-dir", ts_cli_path("data-token"), "--token-file", tf, "--no-library", NULL };
    const char *env[] = { "-OPTAGENT_BASE_URL", "-OPENAI_BASE_URL", "-OPTAGENT_MODEL", "-OPENAI_API_KEY",
                          "XDG_CONFIG_HOME=/nonexistent", NULL };
    assert_int_equal(ts_srv_start(&t, ts_cli_bin(), args, env, ts_cli_path("token.err")), 0);
    char *out = NULL;
    assert_int_equal(ts_srv_http(t.port, "GET", "/healthz", NULL, NULL, 0, &out), 200);   /* exempt */
    free(out);
    assert_int_equal(ts_srv_http(t.port, "POST", "/v1/solve", NULL, formulation, strlen(formulation), &out), 401);
    assert_non_null(strstr(ts_srv_last_headers(), "WWW-Authenticate: Bearer"));
    free(out);
    assert_int_equal(ts_srv_http(t.port, "GET", "/metrics", "Authorization: Bearer s3cret-token-valuX\r\n", NULL, 0, &out), 401);
    free(out);
    assert_int_equal(ts_srv_http(t.port, "GET", "/metrics", "Authorization: Bearer s3cret-token-value-and-more\r\n", NULL, 0, &out), 401);
    free(out);
    assert_int_equal(ts_srv_http(t.port, "GET", "/nope", NULL, NULL, 0, &out), 401);   /* no probing */
    free(out);
    const char *good = "Authorization: Bearer s3cret-token-value\r\n";
    assert_int_equal(ts_srv_http(t.port, "POST", "/v1/solve", good, formulation, strlen(formulation), &out), 200);
    free(out);
    /* no endpoint configured: 503 */
    const char *ask = "{\"problem\": \"Problem number 1: maximize x up to 1.\"}";
    assert_int_equal(ts_srv_http(t.port, "POST", "/v1/ask", good, ask, strlen(ask), &out), 503);
    free(out);
    assert_int_equal(ts_srv_stop(&t, SIGINT, 10000), 0);
    /* beyond loopback: refused without a token, unless --insecure */
    char *msg = NULL;
    int rc = ts_cli_sh(&msg, "%s/optagent serve --listen 0.0.0.0:0 --data-dir '%s' --no-library 2>&1", ts_cli_bin(),
                       ts_cli_path("data-token"));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(msg, "without a token"));
    free(msg);
    rc = ts_cli_sh(&msg, "%s/optagent serve --listen nohost 2>&1", ts_cli_bin());
    assert_int_equal(rc, 2);
    free(msg);
}

static void *medium_ask(void *arg)
{
    char *out = NULL;
    int *st = arg;
    st[0] = http("POST", "/v1/ask", "{\"problem\": \"Medium problem\"}", &out);
    st[1] = out && strstr(out, "\"objective\":7") != NULL;
    free(out);
    return NULL;
}

/* SIGTERM with a request in flight: it is answered, then the server exits 0
 * and refuses new connections. */
static void test_sigterm_finishes_requests(void **state)
{
    (void)state;
    pthread_t t;
    int st[2] = { 0, 0 };
    assert_int_equal(pthread_create(&t, NULL, medium_ask, st), 0);
    usleep(300000);
    int port = srv.port;
    assert_int_equal(ts_srv_stop(&srv, SIGTERM, 10000), 0);
    pthread_join(t, NULL);
    assert_int_equal(st[0], 200);
    assert_int_equal(st[1], 1);
    char *out = NULL;
    assert_int_equal(ts_srv_http(port, "GET", "/healthz", NULL, NULL, 0, &out), -1);
    free(out);
    char *err = ts_srv_stderr(&srv);
    assert_non_null(strstr(err, "stopping: 1 request in flight"));
    assert_null(strstr(err, KEY));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_404_405),
        cmocka_unit_test(test_solve_is_solve_json),
        cmocka_unit_test(test_malformed_is_400),
        cmocka_unit_test(test_body_over_limit_is_413),
        cmocka_unit_test(test_ask_is_ask_json),
        cmocka_unit_test(test_library_search_is_cli_search),
        cmocka_unit_test(test_metrics_and_no_key_anywhere),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_sigterm_finishes_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
