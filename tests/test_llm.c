/* Tests of agent/llm over real HTTP to tests/fake_llm: the request it sends,
 * the reply it parses, what it retries (429 with Retry-After, 5xx, resets,
 * stalls, truncated or malformed bodies) and what it does not (other 4xx,
 * oversized responses), cancellation, keep-alive, and that the API key never
 * appears in an error, a log line or anything printed.
 *
 * Backoff is small (0.05 s base) so the suite stays fast; the slowest tests
 * are the ones that wait for a 1 s timeout or Retry-After. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "agent/llm/llm.h"
#include "tests/support.h"
#include "tests/support_fake.h"

#define KEY "sk-test-LEAKCHECK-7c1e4a90b2d35f68"

/* ---- log capture ---------------------------------------------------------- */

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static ts_str cap_log;
static int cap_lines;

static void capture(void *ctx, const char *line)
{
    (void)ctx;
    pthread_mutex_lock(&cap_mu);
    ts_str_printf(&cap_log, "%s\n", line);
    cap_lines++;
    pthread_mutex_unlock(&cap_mu);
}

static const char *logged(void)
{
    return cap_log.s ? cap_log.s : "";
}

static int setup(void **state)
{
    (void)state;
    ts_str_free(&cap_log);
    cap_lines = 0;
    ag_llm_set_log(capture, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ag_llm_set_log(NULL, NULL);
    if (strstr(logged(), KEY)) {
        print_error("# the key appeared in the log: %s\n", logged());
        return -1;
    }
    ts_str_free(&cap_log);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

static ts_fake *start(const char *script)
{
    ts_fake *f = ts_fake_start(script);
    if (!f) fail_msg("the fake server did not start (is build/tests/fake_llm built?)");
    return f;
}

/* A config for the fake: fast backoff, short timeouts. The strings are
 * borrowed (ag_llm_new copies them). */
static ag_llm_config fast_config(const char *base_url, const char *key)
{
    ag_llm_config c;
    ag_llm_config_default(&c);
    c.base_url = (char *)base_url;
    c.model = (char *)"test-model";
    c.api_key = (char *)key;
    c.connect_timeout_s = 2;
    c.timeout_s = 5;
    c.max_retries = 4;
    c.backoff_base_s = 0.05;
    c.backoff_max_s = 0.2;
    return c;
}

static const ag_llm_message two_msgs[] = {
    { "system", "You write formulations." },
    { "user", "Maximise profit of chairs and tables." },
};

/* One call with a fresh client. */
static ag_llm_code call(const ag_llm_config *c, const char *task, volatile int *cancel,
                        ag_llm_reply **r)
{
    ag_llm *l = ag_llm_new(c);
    assert_non_null(l);
    ag_llm_code code = ag_llm_chat(l, task, two_msgs, 2, cancel, r);
    ag_llm_free(l);
    assert_non_null(*r);
    return code;
}

/* The reply, its error and the log never hold the key. */
static void assert_no_key(const ag_llm_reply *r)
{
    if (r->error && strstr(r->error, KEY)) fail_msg("key in error: %s", r->error);
    if (r->content && strstr(r->content, KEY)) fail_msg("key in content");
    if (r->finish_reason && strstr(r->finish_reason, KEY)) fail_msg("key in finish_reason");
    if (strstr(logged(), KEY)) fail_msg("key in log: %s", logged());
}

/* rp (may be NULL) points at the reply: read only after got was computed,
 * whatever the order the arguments are evaluated in. */
static void expect_code(ag_llm_code got, ag_llm_code want, ag_llm_reply *const *rp)
{
    const ag_llm_reply *r = rp ? *rp : NULL;
    if (got != want)
        fail_msg("expected %s, got %s (%s)", ag_llm_strerror(want), ag_llm_strerror(got),
                 r && r->error ? r->error : "no error");
}

static int nrequests(ts_fake *f, int min)
{
    cJSON *a = ts_fake_requests(f, min);
    assert_non_null(a);
    int n = cJSON_GetArraySize(a);
    cJSON_Delete(a);
    return n;
}

/* Request i of the log (the array is returned in *all; delete it). */
static const cJSON *request_at(ts_fake *f, int i, cJSON **all)
{
    *all = ts_fake_requests(f, i + 1);
    assert_non_null(*all);
    const cJSON *r = cJSON_GetArrayItem(*all, i);
    if (!r) fail_msg("request %d was not logged", i);
    return r;
}

static const char *header(const cJSON *req, const char *name)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(req, "headers");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- a reply, the request ---------------------------------------------------- */

static void test_reply_ok(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"hello there\","
                       "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":22}}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    ag_llm_reply *r;
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    expect_code(code, AG_LLM_OK, &r);
    assert_string_equal(r->content, "hello there");
    assert_string_equal(r->finish_reason, "stop");
    assert_int_equal(r->prompt_tokens, 11);
    assert_int_equal(r->completion_tokens, 22);
    assert_int_equal(r->total_tokens, 33);
    assert_int_equal(r->http_status, 200);
    assert_int_equal(r->attempts, 1);
    assert_true(r->latency_ms > 0);
    assert_null(r->error);
    assert_int_equal(cap_lines, 0);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

static void test_request_shape(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"x\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    c.temperature = 0.3;
    c.seed = 7;
    c.max_tokens = 50;
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    ag_llm_reply_free(r);

    cJSON *all;
    const cJSON *req = request_at(f, 0, &all);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "path");
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, "/v1/chat/completions");
    v = cJSON_GetObjectItemCaseSensitive(req, "method");
    assert_string_equal(v->valuestring, "POST");
    assert_string_equal(header(req, "x-optagent-task"), "formulate");
    v = cJSON_GetObjectItemCaseSensitive(req, "task");
    assert_string_equal(v->valuestring, "formulate");
    assert_null(header(req, "authorization"));
    assert_non_null(header(req, "content-type"));
    assert_string_equal(header(req, "content-type"), "application/json");
    assert_string_equal(header(req, "user-agent"), "optagent/" OPTAGENT_VERSION);
    assert_null(header(req, "expect"));

    v = cJSON_GetObjectItemCaseSensitive(req, "body");
    assert_true(cJSON_IsString(v));
    cJSON *body = cJSON_Parse(v->valuestring);
    assert_non_null(body);
    assert_string_equal(cJSON_GetObjectItem(body, "model")->valuestring, "test-model");
    const cJSON *msgs = cJSON_GetObjectItem(body, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *m = cJSON_GetArrayItem(msgs, i);
        assert_string_equal(cJSON_GetObjectItem(m, "role")->valuestring, two_msgs[i].role);
        assert_string_equal(cJSON_GetObjectItem(m, "content")->valuestring, two_msgs[i].content);
    }
    assert_true(cJSON_GetObjectItem(body, "temperature")->valuedouble == 0.3);
    assert_int_equal((int)cJSON_GetObjectItem(body, "seed")->valuedouble, 7);
    assert_int_equal((int)cJSON_GetObjectItem(body, "max_tokens")->valuedouble, 50);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(body, "stream")));
    cJSON_Delete(body);
    cJSON_Delete(all);

    /* unset values are not sent; a trailing slash of the base URL is dropped */
    char url[256];
    snprintf(url, sizeof url, "%s/", ts_fake_base_url(f));
    c = fast_config(url, NULL);
    c.temperature = -1;
    c.seed = -1;
    c.max_tokens = 0;
    expect_code(call(&c, "correct", NULL, &r), AG_LLM_OK, &r);
    ag_llm_reply_free(r);
    req = request_at(f, 1, &all);
    assert_string_equal(cJSON_GetObjectItem(req, "path")->valuestring, "/v1/chat/completions");
    assert_string_equal(header(req, "x-optagent-task"), "correct");
    body = cJSON_Parse(cJSON_GetObjectItem(req, "body")->valuestring);
    assert_non_null(body);
    assert_null(cJSON_GetObjectItem(body, "temperature"));
    assert_null(cJSON_GetObjectItem(body, "seed"));
    assert_null(cJSON_GetObjectItem(body, "max_tokens"));
    cJSON_Delete(body);
    cJSON_Delete(all);
    ts_fake_stop(f);
}

static void test_authorization_header(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"x\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    assert_no_key(r);
    ag_llm_reply_free(r);
    c.api_key = (char *)"";                 /* empty: no header */
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    ag_llm_reply_free(r);

    cJSON *all;
    const cJSON *req = request_at(f, 0, &all);
    assert_non_null(header(req, "authorization"));
    assert_string_equal(header(req, "authorization"), "Bearer " KEY);
    cJSON_Delete(all);
    req = request_at(f, 1, &all);
    assert_null(header(req, "authorization"));
    cJSON_Delete(all);
    ts_fake_stop(f);
}

static void test_content_parts_and_no_usage(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"body\":\"{\\\"choices\\\":[{\\\"message\\\":"
                       "{\\\"content\\\":[{\\\"type\\\":\\\"text\\\",\\\"text\\\":\\\"ab\\\"},"
                       "{\\\"type\\\":\\\"text\\\",\\\"text\\\":\\\"cd\\\"}]}}]}\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    assert_string_equal(r->content, "abcd");
    assert_null(r->finish_reason);
    assert_int_equal(r->prompt_tokens, -1);
    assert_int_equal(r->completion_tokens, -1);
    assert_int_equal(r->total_tokens, -1);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

static void test_keep_alive(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"x\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    ag_llm *l = ag_llm_new(&c);
    assert_non_null(l);
    for (int i = 0; i < 3; i++) {
        ag_llm_reply *r;
        expect_code(ag_llm_chat(l, "formulate", two_msgs, 2, NULL, &r), AG_LLM_OK, NULL);
        ag_llm_reply_free(r);
    }
    ag_llm_free(l);
    cJSON *st = ts_fake_stats(f);
    assert_non_null(st);
    const cJSON *conns = cJSON_GetObjectItem(st, "connections");
    assert_true(cJSON_IsNumber(conns));
    /* one for the three calls, one for the stats request itself */
    if (conns->valuedouble > 2) fail_msg("%g connections for 3 calls", conns->valuedouble);
    cJSON_Delete(st);
    ts_fake_stop(f);
}

/* ---- retried ---------------------------------------------------------------- */

static void test_429_retry_after(void **state)
{
    (void)state;
    ts_fake *f = start("{\"rules\":[{\"match\":{\"task\":\"formulate\"},\"sequence\":["
                       "{\"status\":429,\"retry_after\":1},{\"content\":\"ok\"}]}]}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.backoff_max_s = 2;
    ag_llm_reply *r;
    double t0 = now_ms();
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    double el = now_ms() - t0;
    expect_code(code, AG_LLM_OK, &r);
    assert_string_equal(r->content, "ok");
    assert_int_equal(r->attempts, 2);
    if (el < 1000 || r->latency_ms < 1000) fail_msg("retried after %.0f ms, before Retry-After", el);
    assert_int_equal(cap_lines, 1);
    assert_non_null(strstr(logged(),
                           "retrying formulate request after HTTP 429 in 1.0 s (attempt 2/5)"));
    assert_no_key(r);
    ag_llm_reply_free(r);
    assert_int_equal(nrequests(f, 2), 2);
    ts_fake_stop(f);
}

static void test_429_retry_after_capped(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"ok\"},\"rules\":[{\"times\":1,"
                       "\"reply\":{\"status\":429,\"retry_after\":60}}]}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    c.backoff_max_s = 0.3;
    ag_llm_reply *r;
    double t0 = now_ms();
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    double el = now_ms() - t0;
    assert_int_equal(r->attempts, 2);
    if (el < 250 || el > 5000) fail_msg("waited %.0f ms; expected backoff_max_s (300 ms)", el);
    assert_non_null(strstr(logged(), "in 0.3 s"));
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

/* A scripted sequence of failures, then a good reply: OK after n attempts. */
static void retried_then_ok(const char *first, int nfail, const char *why)
{
    char script[1024];
    snprintf(script, sizeof script,
             "{\"default\":{\"content\":\"finally\"},\"rules\":[{\"times\":%d,\"reply\":%s}]}",
             nfail, first);
    ts_fake *f = start(script);
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.timeout_s = 1;
    ag_llm_reply *r;
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    expect_code(code, AG_LLM_OK, &r);
    assert_string_equal(r->content, "finally");
    assert_int_equal(r->attempts, nfail + 1);
    assert_int_equal(r->http_status, 200);
    assert_int_equal(cap_lines, nfail);
    if (!strstr(logged(), why)) fail_msg("log lacks '%s': %s", why, logged());
    assert_no_key(r);
    ag_llm_reply_free(r);
    assert_int_equal(nrequests(f, nfail + 1), nfail + 1);
    ts_fake_stop(f);
}

static void test_500_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"status\":500}", 1, "after HTTP 500 in");
}

static void test_503_twice_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"status\":503}", 2, "(attempt 3/5)");
}

static void test_reset_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"fault\":\"reset\"}", 1, "after a connection error");
}

static void test_stall_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"fault\":\"stall\",\"stall_ms\":5000}", 1, "after a timeout");
}

static void test_truncated_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"fault\":\"truncate\"}", 1, "retrying formulate request");
}

static void test_malformed_then_ok(void **state)
{
    (void)state;
    retried_then_ok("{\"fault\":\"not_json\"}", 1, "after an invalid response");
}

/* ---- retried until the end ----------------------------------------------------- */

static void test_stall_times_out(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"fault\":\"stall\",\"stall_ms\":10000}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.timeout_s = 1;
    c.max_retries = 1;
    ag_llm_reply *r;
    double t0 = now_ms();
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    double el = now_ms() - t0;
    expect_code(code, AG_LLM_ETIMEOUT, &r);
    assert_int_equal(r->attempts, 2);
    if (el < 1900 || el > 6000) fail_msg("two 1 s attempts took %.0f ms", el);
    assert_non_null(r->error);
    assert_non_null(strstr(r->error, "timed out"));
    assert_non_null(strstr(r->error, "(after 2 attempts)"));
    assert_null(r->content);
    assert_no_key(r);
    ag_llm_reply_free(r);
    assert_int_equal(nrequests(f, 2), 2);
    ts_fake_stop(f);
}

static void test_5xx_exhausted(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"status\":503,\"content\":\"overloaded, try later\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.max_retries = 6;
    c.backoff_base_s = 0.05;
    c.backoff_max_s = 0.1;
    ag_llm_reply *r;
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    expect_code(code, AG_LLM_EHTTP, &r);
    assert_int_equal(r->http_status, 503);
    assert_int_equal(r->attempts, 7);
    assert_non_null(strstr(r->error, "HTTP 503"));
    assert_non_null(strstr(r->error, "overloaded, try later"));
    assert_non_null(strstr(r->error, "(after 7 attempts)"));
    assert_int_equal(cap_lines, 6);
    /* full jitter: every delay within [0, min(max, base * 2^k)] */
    const char *p = logged();
    for (int k = 0; k < 6; k++) {
        p = strstr(p, " in ");
        assert_non_null(p);
        double d = atof(p + 4);
        double cap = 0.05 * (1 << k);
        if (cap > 0.1) cap = 0.1;
        if (d < 0 || d > cap + 0.05) fail_msg("delay %g s over the cap %g s", d, cap);
        p += 4;
    }
    assert_no_key(r);
    ag_llm_reply_free(r);
    assert_int_equal(nrequests(f, 7), 7);
    ts_fake_stop(f);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const struct { const char *fault, *why; } cases[] = {
        { "not_json", "not JSON" },
        { "empty_choices", "no choices" },
        { "no_content", "no message content" },
        { "truncate", "truncated" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char script[256];
        snprintf(script, sizeof script, "{\"default\":{\"content\":\"x\",\"fault\":\"%s\"}}",
                 cases[i].fault);
        ts_fake *f = start(script);
        ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
        c.max_retries = 1;
        ag_llm_reply *r;
        ag_llm_code code = call(&c, "formulate", NULL, &r);
        if (code != AG_LLM_ERESPONSE || !r->error || !strstr(r->error, cases[i].why))
            fail_msg("%s: got %s (%s)", cases[i].fault, ag_llm_strerror(code),
                     r->error ? r->error : "no error");
        assert_int_equal(r->attempts, 2);
        assert_null(r->content);
        assert_no_key(r);
        ag_llm_reply_free(r);
        assert_int_equal(nrequests(f, 2), 2);
        ts_fake_stop(f);
    }
}

static void test_error_object_with_200(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"body\":\"{\\\"error\\\":{\\\"message\\\":"
                       "\\\"upstream model crashed\\\"}}\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    c.max_retries = 0;
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_ERESPONSE, &r);
    assert_non_null(strstr(r->error, "upstream model crashed"));
    assert_int_equal(r->attempts, 1);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

/* A port that was just free: bind, read it, close. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* Nothing listens at the URL: no retries (they cannot help), and the error
 * says which setting to check. */
static void test_connection_refused(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", free_port());
    ag_llm_config c = fast_config(url, KEY);
    c.max_retries = 2;
    c.backoff_base_s = 1;   /* a retry would show in the time */
    ag_llm_reply *r;
    double t0 = now_ms();
    ag_llm_code code = call(&c, "formulate", NULL, &r);
    expect_code(code, AG_LLM_ECONNECT, &r);
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(r->attempts, 1);
    assert_int_equal(r->http_status, 0);
    assert_int_equal(r->endpoint_wrong, 1);
    assert_int_equal(cap_lines, 0);
    assert_non_null(strstr(r->error, "connection refused"));
    assert_non_null(strstr(r->error, "OPTAGENT_BASE_URL"));
    assert_no_key(r);
    ag_llm_reply_free(r);
}

/* A client that has talked to the server treats a refusal as a restart
 * and retries it. */
static void test_refused_after_an_exchange_is_retried(void **state)
{
    (void)state;
    ts_fake *f = start("{\"rules\": [], \"default\": \"ok\"}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.max_retries = 2;
    ag_llm *l = ag_llm_new(&c);
    assert_non_null(l);
    ag_llm_reply *r;
    assert_int_equal(ag_llm_chat(l, "formulate", two_msgs, 2, NULL, &r), AG_LLM_OK);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
    ag_llm_code code = ag_llm_chat(l, "formulate", two_msgs, 2, NULL, &r);
    ag_llm_free(l);
    expect_code(code, AG_LLM_ECONNECT, &r);
    assert_int_equal(r->attempts, 3);
    assert_int_equal(r->endpoint_wrong, 0);
    assert_non_null(strstr(logged(), "after a connection error"));
    assert_non_null(strstr(r->error, "(after 3 attempts)"));
    ag_llm_reply_free(r);
}

/* 404 names --model (the message mentions the model, or not), 401 the key;
 * neither is retried. */
static void test_http_hints(void **state)
{
    (void)state;
    static const struct { const char *script, *want; } cases[] = {
        { "{\"rules\": [], \"default\": {\"status\": 404, \"content\": \"The model `test-model` does not exist\"}}",
          "check --model: the server does not know the model 'test-model'" },
        { "{\"rules\": [], \"default\": {\"status\": 404, \"content\": \"Not Found\"}}",
          "check --model 'test-model' and the base URL OPTAGENT_BASE_URL" },
        { "{\"rules\": [], \"default\": {\"status\": 401, \"content\": \"bad key\"}}",
          "check the API key" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ts_fake *f = start(cases[i].script);
        ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
        ag_llm_reply *r;
        expect_code(call(&c, "formulate", NULL, &r), AG_LLM_EHTTP, &r);
        if (!strstr(r->error, cases[i].want)) fail_msg("case %zu: %s", i, r->error);
        assert_int_equal(r->attempts, 1);
        assert_int_equal(r->endpoint_wrong, 1);
        assert_no_key(r);
        ag_llm_reply_free(r);
        ts_fake_stop(f);
    }
}

/* -v logs one line per request; --quiet drops the retry notes. */
static void test_verbosity(void **state)
{
    (void)state;
    ts_fake *f = start("{\"rules\": [{\"match\": {}, \"sequence\": [{\"status\": 500}, {\"content\": \"ok\"}]}], \"default\": \"ok\"}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    ag_llm_reply *r;
    ag_llm_set_verbosity(-1);
    assert_int_equal(call(&c, "formulate", NULL, &r), AG_LLM_OK);
    assert_int_equal(r->attempts, 2);
    assert_int_equal(cap_lines, 0);
    ag_llm_reply_free(r);
    ag_llm_set_verbosity(1);
    assert_int_equal(call(&c, "correct", NULL, &r), AG_LLM_OK);
    ag_llm_set_verbosity(0);
    assert_int_equal(cap_lines, 1);
    assert_non_null(strstr(logged(), "correct request: HTTP 200, 1 attempt"));
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

/* ---- not retried ---------------------------------------------------------------- */

static void test_4xx_not_retried(void **state)
{
    (void)state;
    static const int statuses[] = { 400, 401, 403, 404, 422 };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char script[256];
        snprintf(script, sizeof script,
                 "{\"default\":{\"status\":%d,\"content\":\"scripted client error %d\"}}",
                 statuses[i], statuses[i]);
        ts_fake *f = start(script);
        ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
        ag_llm_reply *r;
        ag_llm_code code = call(&c, "formulate", NULL, &r);
        expect_code(code, AG_LLM_EHTTP, &r);
        assert_int_equal(r->http_status, statuses[i]);
        assert_int_equal(r->attempts, 1);
        char want[64];
        snprintf(want, sizeof want, "HTTP %d: scripted client error %d", statuses[i], statuses[i]);
        if (!strstr(r->error, want)) fail_msg("error '%s' lacks '%s'", r->error, want);
        assert_null(strstr(r->error, "attempts"));
        assert_int_equal(cap_lines, 0);
        assert_no_key(r);
        ag_llm_reply_free(r);
        /* exactly one request: give a wrongly retrying client time to show */
        sleep_ms(200);
        assert_int_equal(nrequests(f, 1), 1);
        ts_fake_stop(f);
    }
}

static void test_error_excerpt_capped(void **state)
{
    (void)state;
    char msg[1200], script[1400];
    for (int i = 0; i < 1000; i++) msg[i] = (char)('a' + i % 26);
    msg[1000] = 0;
    memcpy(msg + 10, "\\n\\t", 4);     /* control characters in the message */
    snprintf(script, sizeof script, "{\"default\":{\"status\":400,\"content\":\"%s\"}}", msg);
    ts_fake *f = start(script);
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_EHTTP, &r);
    const char *colon = strstr(r->error, ": ");
    assert_non_null(colon);
    size_t n = strlen(colon + 2);
    if (n > 203) fail_msg("excerpt of %zu bytes: %s", n, r->error);
    assert_non_null(strstr(r->error, "..."));
    for (const char *p = r->error; *p; p++) assert_true((unsigned char)*p >= 0x20);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

static void test_too_big(void **state)
{
    (void)state;
    char script[6000];
    int o = snprintf(script, sizeof script, "{\"default\":{\"content\":\"");
    memset(script + o, 'z', 5000);
    snprintf(script + o + 5000, sizeof script - (size_t)o - 5000, "\"}}");
    ts_fake *f = start(script);
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.max_response_bytes = 1000;
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_ETOOBIG, &r);
    assert_int_equal(r->attempts, 1);
    assert_non_null(strstr(r->error, "1000 bytes"));
    assert_null(r->content);
    ag_llm_reply_free(r);
    /* the same reply fits a larger cap */
    c.max_response_bytes = 8000;
    expect_code(call(&c, "formulate", NULL, &r), AG_LLM_OK, &r);
    assert_int_equal(strlen(r->content), 5000);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

/* ---- a one-shot raw server, for a response the fake cannot make: a body
 * with no Content-Length, ended by closing the connection ---- */

typedef struct {
    int lfd;
    size_t fill;          /* bytes of content */
} raw_server;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void *raw_serve(void *arg)
{
    raw_server *s = arg;
    struct pollfd pf = { .fd = s->lfd, .events = POLLIN };
    if (poll(&pf, 1, 5000) != 1) return NULL;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[65536];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = recv(fd, buf + n, sizeof buf - 1 - n, 0)) > 0) {
        n += (size_t)got;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        long cl = 0;
        for (char *p = buf; p < end; p++)
            if (!strncmp(p, "\r\nContent-Length:", 17) || !strncmp(p, "\r\ncontent-length:", 17))
                cl = atol(p + 17);
        if (n >= (size_t)(end + 4 - buf) + (size_t)cl) break;
    }
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Connection: close\r\n\r\n{\"choices\":[{\"message\":{\"content\":\"";
    static const char tail[] = "\"}}]}";
    send_all(fd, head, sizeof head - 1);
    char chunk[1000];
    memset(chunk, 'z', sizeof chunk);
    for (size_t left = s->fill; left;) {
        size_t k = left < sizeof chunk ? left : sizeof chunk;
        send_all(fd, chunk, k);
        left -= k;
    }
    send_all(fd, tail, sizeof tail - 1);
    close(fd);
    return NULL;
}

/* Serves one response of fill content bytes without a Content-Length to a
 * client with a max_response_bytes of cap. */
static ag_llm_code raw_call(size_t fill, size_t cap, ag_llm_reply **r)
{
    raw_server s = { .fill = fill };
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s.lfd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    assert_int_equal(bind(s.lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(listen(s.lfd, 4), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, raw_serve, &s), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    ag_llm_config c = fast_config(url, NULL);
    c.max_retries = 0;
    c.max_response_bytes = cap;
    ag_llm_code code = call(&c, "formulate", NULL, r);
    pthread_join(th, NULL);
    close(s.lfd);
    return code;
}

static void test_too_big_without_length(void **state)
{
    (void)state;
    ag_llm_reply *r;
    expect_code(raw_call(200000, 10000, &r), AG_LLM_ETOOBIG, &r);
    assert_non_null(strstr(r->error, "10000 bytes"));
    ag_llm_reply_free(r);
    expect_code(raw_call(5000, 10000, &r), AG_LLM_OK, &r);
    assert_int_equal(strlen(r->content), 5000);
    ag_llm_reply_free(r);
}

static void test_bad_config(void **state)
{
    (void)state;
    static const struct { const char *url, *model, *key, *task; size_t nmsgs; const char *why; }
    cases[] = {
        { NULL, "m", NULL, "formulate", 2, "no base URL" },
        { "", "m", NULL, "formulate", 2, "no base URL" },
        { "http://127.0.0.1:9/v1", NULL, NULL, "formulate", 2, "no model" },
        { "ftp://127.0.0.1/v1", "m", NULL, "formulate", 2, "http://" },
        { "http://127.0.0.1:9/v1", "m", KEY "\n", "formulate", 2, "control" },
        { "http://127.0.0.1:9/v1", "m", NULL, "form\r\nX-Evil: 1", 2, "task" },
        { "http://127.0.0.1:9/v1", "m", NULL, "formulate", 0, "no messages" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ag_llm_config c = fast_config(cases[i].url, cases[i].key);
        c.model = (char *)cases[i].model;
        ag_llm *l = ag_llm_new(&c);
        assert_non_null(l);
        ag_llm_reply *r;
        ag_llm_code code = ag_llm_chat(l, cases[i].task, two_msgs, cases[i].nmsgs, NULL, &r);
        if (code != AG_LLM_ECONFIG || !r->error || !strstr(r->error, cases[i].why))
            fail_msg("case %zu: %s (%s)", i, ag_llm_strerror(code), r->error ? r->error : "");
        assert_int_equal(r->attempts, 0);
        assert_no_key(r);
        ag_llm_reply_free(r);
        ag_llm_free(l);
    }
    const ag_llm_message bad[] = { { "user", NULL } };
    ag_llm_config c = fast_config("http://127.0.0.1:9/v1", NULL);
    ag_llm *l = ag_llm_new(&c);
    ag_llm_reply *r;
    assert_int_equal(ag_llm_chat(l, "formulate", bad, 1, NULL, &r), AG_LLM_ECONFIG);
    assert_non_null(strstr(r->error, "message 0"));
    ag_llm_reply_free(r);
    ag_llm_free(l);
    for (int i = AG_LLM_OK; i <= AG_LLM_ECANCELLED; i++)
        assert_true(strlen(ag_llm_strerror((ag_llm_code)i)) > 0);
}

/* ---- cancellation ---------------------------------------------------------------- */

typedef struct { volatile int *flag; int after_ms; } canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    sleep_ms(c->after_ms);
    *c->flag = 1;
    return NULL;
}

static void cancel_case(const char *script, double backoff, double timeout_s, double max_ms)
{
    ts_fake *f = start(script);
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.max_retries = 50;
    c.backoff_base_s = backoff;
    c.backoff_max_s = backoff;
    c.timeout_s = timeout_s;
    volatile int flag = 0;
    canceller cc = { &flag, 300 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &cc), 0);
    ag_llm_reply *r;
    double t0 = now_ms();
    ag_llm_code code = call(&c, "formulate", &flag, &r);
    double el = now_ms() - t0;
    pthread_join(th, NULL);
    expect_code(code, AG_LLM_ECANCELLED, &r);
    if (el < 250 || el > max_ms) fail_msg("cancelled after %.0f ms", el);
    assert_non_null(strstr(r->error, "cancelled"));
    assert_true(r->attempts < 50);
    assert_no_key(r);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

static void test_cancel_during_backoff(void **state)
{
    (void)state;
    /* a 5 s Retry-After sleep, polled every 50 ms */
    cancel_case("{\"default\":{\"status\":503,\"retry_after\":5}}", 5, 5, 900);
}

static void test_cancel_during_transfer(void **state)
{
    (void)state;
    /* libcurl's progress callback runs at least once a second */
    cancel_case("{\"default\":{\"fault\":\"stall\",\"stall_ms\":20000}}", 0.05, 30, 2500);
}

static void test_cancel_before_start(void **state)
{
    (void)state;
    ts_fake *f = start("{\"default\":{\"content\":\"x\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), NULL);
    volatile int flag = 1;
    ag_llm_reply *r;
    expect_code(call(&c, "formulate", &flag, &r), AG_LLM_ECANCELLED, &r);
    assert_int_equal(r->attempts, 0);
    ag_llm_reply_free(r);
    cJSON *st = ts_fake_stats(f);
    assert_non_null(st);
    assert_int_equal((int)cJSON_GetObjectItem(st, "requests")->valuedouble, 0);
    cJSON_Delete(st);
    ts_fake_stop(f);
}

/* ---- the key never shows ---------------------------------------------------------- */

/* A server that echoes the key in its error message, and retries logged
 * through the default stderr sink: neither the error nor stderr shows it. */
static void test_key_never_leaks(void **state)
{
    (void)state;
    ts_fake *f = start("{\"rules\":["
                       "{\"match\":{\"task\":\"echo\"},\"reply\":{\"status\":401,"
                       "\"content\":\"Incorrect API key provided: " KEY ". Check it.\"}},"
                       "{\"match\":{\"task\":\"busy\"},\"reply\":{\"status\":429,"
                       "\"content\":\"slow down " KEY "\"}}],"
                       "\"default\":{\"status\":200,\"body\":\"{\\\"error\\\":\\\"bad key "
                       KEY "\\\"}\"}}");
    ag_llm_config c = fast_config(ts_fake_base_url(f), KEY);
    c.max_retries = 2;
    ag_llm_reply *r;

    expect_code(call(&c, "echo", NULL, &r), AG_LLM_EHTTP, &r);
    assert_non_null(strstr(r->error, "Incorrect API key provided: [redacted]. Check it."));
    assert_no_key(r);
    ag_llm_reply_free(r);

    expect_code(call(&c, "other", NULL, &r), AG_LLM_ERESPONSE, &r);
    assert_non_null(strstr(r->error, "bad key [redacted]"));
    assert_no_key(r);
    ag_llm_reply_free(r);

    /* the default sink writes to stderr: capture fd 2 */
    char *dir = ts_mkdtemp();
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/stderr", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    ag_llm_set_log(NULL, NULL);
    ag_llm_code code = call(&c, "busy", NULL, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ag_llm_set_log(capture, NULL);
    size_t n = 0;
    char *text = ts_read_file(path, &n);
    ts_rmtree(dir);
    free(dir);
    assert_non_null(text);
    expect_code(code, AG_LLM_EHTTP, &r);
    assert_non_null(strstr(r->error, "slow down [redacted]"));
    if (!strstr(text, "optagent: retrying busy request after HTTP 429 in "))
        fail_msg("stderr lacks the retry lines: %s", text);
    if (strstr(text, KEY)) fail_msg("key on stderr: %s", text);
    assert_no_key(r);
    free(text);
    ag_llm_reply_free(r);
    ts_fake_stop(f);
}

int main(void)
{
    /* nothing here may go through a proxy */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorization_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_parts_and_no_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_twice_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_object_with_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_after_an_exchange_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_hints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbosity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_4xx_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_excerpt_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_without_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_during_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_during_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_never_leaks, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ts_str_free(&cap_log);
    return rc;
}
