/* The fake OpenAI-compatible server (tests/fake_llm) and its test-side
 * helper (tests/support_fake), driven over real HTTP with libcurl as the
 * client: envelope, rule matching, times/sequence, every fault, latency,
 * the request log, concurrency, keep-alive, bad requests and shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include "tests/support.h"
#include "tests/support_fake.h"

#define RESP_CAP (16 * 1024 * 1024)

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* hay contains needle, ignoring ASCII case (strcasestr is not POSIX). */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++) {
        size_t i = 0;
        while (i < n && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* ---- a small libcurl client --------------------------------------------------- */

typedef struct {
    CURLcode rc;
    long status;
    ts_str body;
    ts_str headers;
    double ms;
    long new_connects;
} http_result;

static void result_free(http_result *r)
{
    ts_str_free(&r->body);
    ts_str_free(&r->headers);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    ts_str *b = ud;
    if (b->len + sz * n > RESP_CAP) return 0;
    ts_str_append(b, p, sz * n);
    return sz * n;
}

/* {"model": model, "messages": [{"role":"system",...},{"role":"user","content": user}]} */
static char *chat_body(const char *model, const char *user)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    cJSON *sys = cJSON_CreateObject();
    cJSON_AddStringToObject(sys, "role", "system");
    cJSON_AddStringToObject(sys, "content", "You are a test.");
    cJSON_AddItemToArray(msgs, sys);
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "role", "user");
    cJSON_AddStringToObject(u, "content", user);
    cJSON_AddItemToArray(msgs, u);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

typedef struct {
    const char *task;        /* X-Optagent-Task, or NULL */
    const char *auth;        /* Authorization value, or NULL */
    const char *extra;       /* one more header line, or NULL */
    long timeout_ms;         /* 0: 10 s */
} req_opts;

static CURL *setup_easy(CURL *h, const ts_fake *f, const char *body, const req_opts *o,
                        struct curl_slist **hdrs, http_result *r, char *url, size_t urlcap)
{
    snprintf(url, urlcap, "%s/chat/completions", ts_fake_base_url(f));
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char line[512];
    if (o && o->task) {
        snprintf(line, sizeof line, "X-Optagent-Task: %s", o->task);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    if (o && o->auth) {
        snprintf(line, sizeof line, "Authorization: %s", o->auth);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    if (o && o->extra) *hdrs = curl_slist_append(*hdrs, o->extra);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o && o->timeout_ms ? o->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    return h;
}

/* POSTs body to <base>/chat/completions on handle h (a fresh one when NULL). */
static void post_on(CURL *h, const ts_fake *f, const char *body, const req_opts *o, http_result *r)
{
    memset(r, 0, sizeof *r);
    int own = h == NULL;
    if (own) h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdrs = NULL;
    char url[256];
    setup_easy(h, f, body, o, &hdrs, r, url, sizeof url);
    double t0 = mono_ms();
    r->rc = curl_easy_perform(h);
    r->ms = mono_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->new_connects);
    curl_slist_free_all(hdrs);
    if (own) curl_easy_cleanup(h);
    if (!r->body.s) ts_str_append(&r->body, "", 0);
}

static void post(const ts_fake *f, const char *body, const req_opts *o, http_result *r)
{
    post_on(NULL, f, body, o, r);
}

/* The content of choices[0].message, or NULL; *root (caller deletes). */
static const char *reply_content(const http_result *r, cJSON **root)
{
    *root = r->body.s ? cJSON_Parse(r->body.s) : NULL;
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(*root, "choices"), 0);
    cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ch, "message"),
                                                "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* Posts and checks a 200 whose content is want. */
static void expect_content(const ts_fake *f, const char *user, const char *task, const char *want)
{
    char *body = chat_body("m", user);
    req_opts o = {.task = task};
    http_result r;
    post(f, body, &o, &r);
    free(body);
    cJSON *root = NULL;
    if (r.rc != CURLE_OK || r.status != 200) print_error("# rc %d status %ld body %s\n", r.rc, r.status, r.body.s);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    const char *c = reply_content(&r, &root);
    assert_non_null(c);
    assert_string_equal(c, want);
    cJSON_Delete(root);
    result_free(&r);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1e300;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static ts_fake *start_ok(const char *script)
{
    ts_fake *f = ts_fake_start(script);
    assert_non_null(f);
    return f;
}

static void stop_ok(ts_fake *f)
{
    assert_int_equal(ts_fake_stop_status(f), 0);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_envelope_and_usage(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"content\": \"hello \\\"world\\\"\\n\","
                          " \"usage\": {\"prompt_tokens\": 7, \"completion_tokens\": 11}}}");
    char *body = chat_body("gpt-test-1", "hi");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(contains_ci(r.headers.s, "content-type: application/json"));
    cJSON *root = NULL;
    const char *c = reply_content(&r, &root);
    assert_non_null(root);
    assert_string_equal(c, "hello \"world\"\n");
    assert_non_null(str(root, "id"));
    assert_string_equal(str(root, "object"), "chat.completion");
    assert_string_equal(str(root, "model"), "gpt-test-1");
    assert_true(num(root, "created") > 1e9);
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    assert_int_equal(cJSON_GetArraySize(choices), 1);
    cJSON *ch = cJSON_GetArrayItem(choices, 0);
    assert_true(num(ch, "index") == 0);
    assert_string_equal(str(ch, "finish_reason"), "stop");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(ch, "message"), "role"), "assistant");
    cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    assert_true(num(u, "prompt_tokens") == 7);
    assert_true(num(u, "completion_tokens") == 11);
    assert_true(num(u, "total_tokens") == 18);
    cJSON_Delete(root);
    result_free(&r);
    stop_ok(f);
}

static void test_match_task_header(void **state)
{
    (void)state;
    ts_fake *f = start_ok(
        "{\"rules\": [{\"match\": {\"task\": \"formulate\"}, \"reply\": {\"content\": \"F\"}},"
        "             {\"match\": {\"task\": \"correct\"}, \"reply\": \"C\"}],"
        " \"default\": {\"content\": \"D\"}}");
    expect_content(f, "x", "formulate", "F");
    expect_content(f, "x", "correct", "C");
    expect_content(f, "x", NULL, "D");
    expect_content(f, "x", "formulatex", "D");
    cJSON *log = ts_fake_requests(f, 4);
    assert_int_equal(cJSON_GetArraySize(log), 4);
    assert_true(num(cJSON_GetArrayItem(log, 0), "rule") == 0);
    assert_true(num(cJSON_GetArrayItem(log, 1), "rule") == 1);
    assert_true(num(cJSON_GetArrayItem(log, 2), "rule") == -1);
    cJSON_Delete(log);
    stop_ok(f);
}

static void test_match_content_body_header(void **state)
{
    (void)state;
    ts_fake *f = start_ok(
        "{\"rules\": ["
        "  {\"match\": {\"content_contains\": \"say \\\"knapsack\\\"\"}, \"reply\": \"K\"},"
        "  {\"match\": {\"body_contains\": \"\\\\\\\"raw\\\\\\\"\"}, \"reply\": \"B\"},"
        "  {\"match\": {\"header_contains\": \"x-variant: blue\"}, \"reply\": \"H\"},"
        "  {\"match\": {\"task\": \"t\", \"content_contains\": \"both\"}, \"reply\": \"T\"}],"
        " \"default\": \"D\"}");
    expect_content(f, "please say \"knapsack\" now", NULL, "K");   /* decoded content */
    expect_content(f, "a \"raw\" quote", NULL, "B");              /* escaped body text */
    char *body = chat_body("m", "nothing");
    req_opts o = {.extra = "X-Variant: Blue"};
    http_result r;
    post(f, body, &o, &r);
    cJSON *root = NULL;
    assert_int_equal(r.status, 200);
    assert_string_equal(reply_content(&r, &root), "H");
    cJSON_Delete(root);
    result_free(&r);
    free(body);
    expect_content(f, "both", "t", "T");
    expect_content(f, "both", NULL, "D");        /* all match fields must hold */
    expect_content(f, "knapsack", NULL, "D");
    stop_ok(f);
}

static void test_times(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"rules\": [{\"reply\": \"A\", \"times\": 2},"
                          "            {\"match\": {\"task\": \"z\"}, \"reply\": \"never\", \"times\": 0}],"
                          " \"default\": \"D\"}");
    expect_content(f, "x", "z", "A");
    expect_content(f, "x", NULL, "A");
    expect_content(f, "x", "z", "D");
    expect_content(f, "x", NULL, "D");
    cJSON *st = ts_fake_stats(f);
    assert_non_null(st);
    cJSON *hits = cJSON_GetObjectItemCaseSensitive(st, "rule_hits");
    assert_true(cJSON_GetArrayItem(hits, 0)->valuedouble == 2);
    assert_true(cJSON_GetArrayItem(hits, 1)->valuedouble == 0);
    assert_true(num(st, "requests") == 4);
    assert_true(num(cJSON_GetObjectItemCaseSensitive(st, "by_task"), "z") == 2);
    cJSON_Delete(st);
    stop_ok(f);
}

static void test_sequence_429_then_200(void **state)
{
    (void)state;
    ts_fake *f = start_ok(
        "{\"rules\": [{\"match\": {\"task\": \"formulate\"}, \"sequence\": ["
        "   {\"status\": 429, \"retry_after\": 2},"
        "   {\"status\": 503},"
        "   {\"content\": \"ok\"}]}]}");
    char *body = chat_body("m", "x");
    req_opts o = {.task = "formulate"};
    http_result r;

    post(f, body, &o, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_true(contains_ci(r.headers.s, "\nRetry-After: 2\r\n"));
    cJSON *err = cJSON_Parse(r.body.s);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(err, "error");
    assert_non_null(str(e, "message"));
    assert_string_equal(str(e, "code"), "rate_limit_exceeded");
    cJSON_Delete(err);
    result_free(&r);

    post(f, body, &o, &r);
    assert_int_equal(r.status, 503);
    assert_false(contains_ci(r.headers.s, "Retry-After"));
    err = cJSON_Parse(r.body.s);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(err, "error"), "type"), "server_error");
    cJSON_Delete(err);
    result_free(&r);

    expect_content(f, "x", "formulate", "ok");
    expect_content(f, "x", "formulate", "ok");   /* the last reply repeats */
    free(body);

    /* no rule matched and no default: 400 */
    body = chat_body("m", "x");
    post(f, body, NULL, &r);
    assert_int_equal(r.status, 400);
    result_free(&r);
    free(body);
    stop_ok(f);
}

static void test_status_500_body(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"status\": 500, \"content\": \"boom\"}}");
    char *body = chat_body("m", "x");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    assert_int_equal(r.status, 500);
    cJSON *err = cJSON_Parse(r.body.s);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(err, "error");
    assert_string_equal(str(e, "message"), "boom");
    assert_string_equal(str(e, "type"), "server_error");
    cJSON_Delete(err);
    result_free(&r);
    stop_ok(f);
}

static void test_fault_reset(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"fault\": \"reset\"}}");
    char *body = chat_body("m", "x");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    print_message("# reset gave curl %d (%s)\n", r.rc, curl_easy_strerror(r.rc));
    assert_true(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_SEND_ERROR || r.rc == CURLE_GOT_NOTHING);
    result_free(&r);
    cJSON *log = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(log), 1);   /* the request was read first */
    assert_string_equal(str(cJSON_GetArrayItem(log, 0), "fault"), "reset");
    cJSON_Delete(log);
    stop_ok(f);
}

static void test_fault_close(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"fault\": \"close\"}}");
    char *body = chat_body("m", "x");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    assert_int_equal(r.rc, CURLE_GOT_NOTHING);
    result_free(&r);
    stop_ok(f);
}

static void test_fault_stall(void **state)
{
    (void)state;
    ts_fake *f = start_ok(
        "{\"rules\": [{\"match\": {\"task\": \"headers\"}, \"reply\": {\"fault\": \"stall_headers\"}},"
        "            {\"match\": {\"task\": \"body\"}, \"reply\": {\"fault\": \"stall_body\", \"content\": \"long enough text\"}},"
        "            {\"match\": {\"task\": \"ok\"}, \"reply\": \"alive\"}],"
        " \"default\": {\"fault\": \"stall\"}}");
    char *body = chat_body("m", "x");
    const char *tasks[] = {NULL, "headers", "body"};
    for (int i = 0; i < 3; i++) {
        req_opts o = {.task = tasks[i], .timeout_ms = 1000};
        http_result r;
        post(f, body, &o, &r);
        assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
        assert_true(r.ms >= 900 && r.ms < 10000);
        if (i > 0) assert_int_equal(r.status, 200);   /* the headers did arrive */
        result_free(&r);
    }
    free(body);
    expect_content(f, "x", "ok", "alive");   /* stalled threads block nobody */
    double t0 = mono_ms();
    stop_ok(f);
    assert_true(mono_ms() - t0 < 5000);
}

static void test_fault_truncate(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"fault\": \"truncate\", \"content\": \"0123456789\"}}");
    char *body = chat_body("m", "x");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    cJSON *parsed = cJSON_Parse(r.body.s);
    assert_true(r.rc == CURLE_PARTIAL_FILE || (r.rc == CURLE_OK && parsed == NULL));
    cJSON_Delete(parsed);
    assert_null(strstr(r.body.s, "usage"));   /* only the first half came */
    assert_true(r.body.len > 0);
    result_free(&r);
    stop_ok(f);
}

static void test_fault_not_json_and_shapes(void **state)
{
    (void)state;
    ts_fake *f = start_ok(
        "{\"rules\": [{\"match\": {\"task\": \"nj\"}, \"reply\": {\"fault\": \"not_json\"}},"
        "            {\"match\": {\"task\": \"ec\"}, \"reply\": {\"fault\": \"empty_choices\"}},"
        "            {\"match\": {\"task\": \"nc\"}, \"reply\": {\"fault\": \"no_content\"}},"
        "            {\"match\": {\"task\": \"raw\"}, \"reply\": {\"body\": \"{\\\"x\\\":1}\", \"status\": 202}},"
        "            {\"match\": {\"task\": \"nu\"}, \"reply\": {\"content\": null, \"usage\": null,"
        "                                                  \"finish_reason\": \"length\"}}]}");
    char *body = chat_body("m", "x");
    http_result r;
    cJSON *root;

    req_opts o = {.task = "nj"};
    post(f, body, &o, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.s, "<html>oops</html>");
    root = cJSON_Parse(r.body.s);
    assert_null(root);
    result_free(&r);

    o.task = "ec";
    post(f, body, &o, &r);
    assert_int_equal(r.status, 200);
    root = cJSON_Parse(r.body.s);
    assert_non_null(root);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "choices")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "choices")), 0);
    cJSON_Delete(root);
    result_free(&r);

    o.task = "nc";
    post(f, body, &o, &r);
    root = cJSON_Parse(r.body.s);
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0), "message");
    assert_non_null(msg);
    assert_null(cJSON_GetObjectItemCaseSensitive(msg, "content"));
    cJSON_Delete(root);
    result_free(&r);

    o.task = "raw";
    post(f, body, &o, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body.s, "{\"x\":1}");
    result_free(&r);

    o.task = "nu";
    post(f, body, &o, &r);
    root = cJSON_Parse(r.body.s);
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ch, "message"), "content")));
    assert_string_equal(str(ch, "finish_reason"), "length");
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "usage"));
    cJSON_Delete(root);
    result_free(&r);
    free(body);
    stop_ok(f);
}

static void test_delay(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"content\": \"late\", \"delay_ms\": 400}}");
    char *body = chat_body("m", "x");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    assert_int_equal(r.status, 200);
    assert_true(r.ms >= 400);
    result_free(&r);
    stop_ok(f);
}

static void test_log_headers_and_body(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"rules\": [{\"match\": {\"task\": \"formulate\"}, \"reply\": \"F\"}],"
                          " \"default\": \"D\"}");
    char *b1 = chat_body("m1", "first \"quoted\"\nline");
    char *b2 = chat_body("m2", "second");
    req_opts o1 = {.task = "formulate", .auth = "Bearer sk-test-123"};
    http_result r;
    post(f, b1, &o1, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);
    post(f, b2, NULL, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);

    cJSON *log = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(log), 2);
    cJSON *e1 = cJSON_GetArrayItem(log, 0), *e2 = cJSON_GetArrayItem(log, 1);
    assert_true(num(e1, "seq") == 1);
    assert_true(num(e2, "seq") == 2);
    assert_string_equal(str(e1, "method"), "POST");
    assert_string_equal(str(e1, "path"), "/v1/chat/completions");
    cJSON *h1 = cJSON_GetObjectItemCaseSensitive(e1, "headers");
    assert_string_equal(str(h1, "x-optagent-task"), "formulate");
    assert_string_equal(str(h1, "authorization"), "Bearer sk-test-123");
    assert_string_equal(str(h1, "content-type"), "application/json");
    assert_non_null(str(h1, "host"));
    assert_string_equal(str(e1, "body"), b1);
    assert_string_equal(str(e1, "task"), "formulate");
    assert_true(num(e1, "rule") == 0);
    assert_true(num(e1, "time_ms") >= 0);
    assert_true(num(e2, "time_ms") >= num(e1, "time_ms"));
    assert_true(num(e1, "status") == 200);
    cJSON *h2 = cJSON_GetObjectItemCaseSensitive(e2, "headers");
    assert_null(cJSON_GetObjectItemCaseSensitive(h2, "authorization"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e2, "task")));
    assert_string_equal(str(e2, "body"), b2);
    assert_true(num(e2, "rule") == -1);
    cJSON_Delete(log);
    free(b1);
    free(b2);
    stop_ok(f);
}

static void test_concurrent_32(void **state)
{
    (void)state;
    enum { N = 32 };
    ts_fake *f = start_ok("{\"default\": {\"content\": \"par\", \"delay_ms\": 300}}");
    CURLM *m = curl_multi_init();
    assert_non_null(m);
    CURL *h[N];
    http_result r[N];
    struct curl_slist *hdrs[N];
    char url[N][256];
    char *body = chat_body("m", "x");
    for (int i = 0; i < N; i++) {
        memset(&r[i], 0, sizeof r[i]);
        h[i] = curl_easy_init();
        assert_non_null(h[i]);
        req_opts o = {.task = "batch"};
        setup_easy(h[i], f, body, &o, &hdrs[i], &r[i], url[i], sizeof url[i]);
        curl_multi_add_handle(m, h[i]);
    }
    double t0 = mono_ms();
    int running = 1;
    while (running && mono_ms() - t0 < 20000) {
        curl_multi_perform(m, &running);
        if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int done = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK) done++;
    for (int i = 0; i < N; i++) {
        long st = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &st);
        cJSON *root = NULL;
        const char *c = reply_content(&r[i], &root);
        if (st == 200 && c && strcmp(c, "par") == 0) r[i].status = 200;
        cJSON_Delete(root);
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        curl_slist_free_all(hdrs[i]);
    }
    curl_multi_cleanup(m);
    free(body);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        if (r[i].status == 200) ok++;
        result_free(&r[i]);
    }
    assert_int_equal(done, N);
    assert_int_equal(ok, N);
    cJSON *st = ts_fake_stats(f);
    assert_non_null(st);
    print_message("# max_concurrent %g over %g requests\n", num(st, "max_concurrent"), num(st, "requests"));
    assert_true(num(st, "requests") == N);
    assert_true(num(st, "max_concurrent") >= 16);
    assert_true(num(cJSON_GetObjectItemCaseSensitive(st, "by_task"), "batch") == N);
    cJSON_Delete(st);
    stop_ok(f);
}

static void test_keepalive_reuse(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": \"k\"}");
    CURL *h = curl_easy_init();
    assert_non_null(h);
    char *body = chat_body("m", "x");
    for (int i = 0; i < 3; i++) {
        http_result r;
        post_on(h, f, body, NULL, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.new_connects, i == 0 ? 1 : 0);
        result_free(&r);
    }
    /* a large body with Expect: 100-continue on the same connection */
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    char *bigbody = chat_body("m", big);
    free(big);
    req_opts o = {.extra = "Expect: 100-continue"};
    http_result r;
    post_on(h, f, bigbody, &o, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    result_free(&r);
    curl_easy_cleanup(h);
    cJSON *log = ts_fake_requests(f, 4);
    assert_int_equal(cJSON_GetArraySize(log), 4);
    assert_string_equal(str(cJSON_GetArrayItem(log, 3), "body"), bigbody);
    cJSON_Delete(log);
    free(bigbody);
    free(body);
    cJSON *st = ts_fake_stats(f);
    assert_true(num(st, "connections") == 2);   /* curl's one, and this GET */
    cJSON_Delete(st);
    stop_ok(f);
}

static int raw_status(const ts_fake *f, const char *req, size_t len)
{
    char *resp = ts_fake_raw(f, req, len, 5000);
    int st = -1;
    if (resp && sscanf(resp, "HTTP/1.1 %d", &st) != 1) st = -1;
    free(resp);
    return st;
}

static void test_bad_requests(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": \"fine\"}");
    const char *garbage = "GARBAGE\r\n\r\n";
    assert_int_equal(raw_status(f, garbage, strlen(garbage)), 400);
    const char *badhdr = "GET /_stats HTTP/1.1\r\nno colon here\r\n\r\n";
    assert_int_equal(raw_status(f, badhdr, strlen(badhdr)), 400);
    const char *chunked = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    int st = raw_status(f, chunked, strlen(chunked));
    assert_true(st == 411 || st == 400);
    const char *huge = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 9000000\r\n\r\n{}";
    assert_int_equal(raw_status(f, huge, strlen(huge)), 413);
    const char *badlen = "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 12x\r\n\r\n";
    assert_int_equal(raw_status(f, badlen, strlen(badlen)), 400);
    static const char nul[] = "GET /_st\0ats HTTP/1.1\r\n\r\n";
    assert_int_equal(raw_status(f, nul, sizeof nul - 1), 400);
    /* an over-long head */
    size_t n = 70000;
    char *longhead = malloc(n);
    assert_non_null(longhead);
    memcpy(longhead, "GET /", 5);
    memset(longhead + 5, 'a', n - 5);
    assert_int_equal(raw_status(f, longhead, n), 431);
    free(longhead);

    char *resp = NULL;
    assert_int_equal(ts_fake_http(f, "POST", "/v1/chat/completions", NULL, "{not json", &resp), 400);
    assert_non_null(strstr(resp, "\"error\""));
    free(resp);
    assert_int_equal(ts_fake_http(f, "POST", "/v1/chat/completions", NULL, "{\"model\":\"m\"}", NULL), 400);
    assert_int_equal(ts_fake_http(f, "POST", "/v1/nothing", NULL, "{}", NULL), 404);
    assert_int_equal(ts_fake_http(f, "GET", "/v1/chat/completions", NULL, NULL, NULL), 405);
    /* any path ending in /chat/completions, with a query string */
    assert_int_equal(ts_fake_http(f, "POST", "/openai/deployments/x/chat/completions?api-version=1",
                                  NULL, "{\"messages\":[]}", NULL), 200);
    /* HTTP/1.0 */
    const char *h10 = "POST /chat/completions HTTP/1.0\r\nContent-Length: 15\r\n\r\n{\"messages\":[]}";
    assert_int_equal(raw_status(f, h10, strlen(h10)), 200);

    cJSON *stats = ts_fake_stats(f);   /* still alive */
    assert_non_null(stats);
    cJSON_Delete(stats);
    expect_content(f, "x", NULL, "fine");
    stop_ok(f);
}

static void test_bad_scripts(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "[]",
        "{\"rule\": []}",
        "{\"rules\": [{\"mach\": {\"task\": \"x\"}, \"reply\": \"a\"}]}",
        "{\"rules\": [{\"match\": {\"task\": 3}, \"reply\": \"a\"}]}",
        "{\"rules\": [{\"reply\": \"a\", \"sequence\": [\"b\"]}]}",
        "{\"rules\": [{\"sequence\": []}]}",
        "{\"default\": {\"fault\": \"explode\"}}",
        "{\"default\": {\"status\": 99}}",
        "{\"default\": {\"contnet\": \"typo\"}}",
        "{\"default\": {\"retry_after\": \"1\\r\\nX-Evil: 1\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ts_fake *f = ts_fake_start(bad[i]);
        if (f) print_error("# accepted a bad script: %s\n", bad[i]);
        assert_null(f);
    }
}

static void test_shutdown_endpoint(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": \"x\"}");
    pid_t pid = (pid_t)ts_fake_pid(f);
    assert_true(pid > 0);
    assert_int_equal(ts_fake_http(f, "POST", "/_shutdown", NULL, "", NULL), 200);
    assert_int_equal(ts_fake_wait_exit(f, 5000), 0);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    stop_ok(f);
}

static void test_stop_with_stalled_client(void **state)
{
    (void)state;
    ts_fake *f = start_ok("{\"default\": {\"fault\": \"stall\", \"stall_ms\": 600000}}");
    pid_t pid = (pid_t)ts_fake_pid(f);
    CURLM *m = curl_multi_init();
    CURL *h = curl_easy_init();
    http_result r;
    memset(&r, 0, sizeof r);
    struct curl_slist *hdrs = NULL;
    char url[256];
    char *body = chat_body("m", "x");
    req_opts o = {.timeout_ms = 30000};
    setup_easy(h, f, body, &o, &hdrs, &r, url, sizeof url);
    curl_multi_add_handle(m, h);
    int running = 1;
    double t0 = mono_ms();
    cJSON *log = NULL;
    while (mono_ms() - t0 < 5000) {   /* until the server has the request */
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
        cJSON_Delete(log);
        log = ts_fake_requests(f, 0);
        if (cJSON_GetArraySize(log) >= 1) break;
    }
    assert_int_equal(cJSON_GetArraySize(log), 1);
    cJSON_Delete(log);
    t0 = mono_ms();
    int rc = ts_fake_stop_status(f);
    double took = mono_ms() - t0;
    assert_int_equal(rc, 0);
    assert_true(took < 5000);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    curl_multi_remove_handle(m, h);
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    result_free(&r);
    free(body);
}

static void test_max_seconds(void **state)
{
    (void)state;
    const char *args[] = {"--max-seconds", "1", NULL};
    ts_fake *f = ts_fake_start_args("{\"default\": \"x\"}", args);
    assert_non_null(f);
    assert_int_equal(ts_fake_wait_exit(f, 10000), 0);
    stop_ok(f);
}

static void test_max_body_option(void **state)
{
    (void)state;
    const char *args[] = {"--max-body", "100", NULL};
    ts_fake *f = ts_fake_start_args("{\"default\": \"x\"}", args);
    assert_non_null(f);
    char *body = chat_body("m", "this message makes the body longer than one hundred bytes, "
                                "which the server must refuse");
    http_result r;
    post(f, body, NULL, &r);
    free(body);
    assert_int_equal(r.status, 413);
    result_free(&r);
    stop_ok(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_and_usage),
        cmocka_unit_test(test_match_task_header),
        cmocka_unit_test(test_match_content_body_header),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_sequence_429_then_200),
        cmocka_unit_test(test_status_500_body),
        cmocka_unit_test(test_fault_reset),
        cmocka_unit_test(test_fault_close),
        cmocka_unit_test(test_fault_stall),
        cmocka_unit_test(test_fault_truncate),
        cmocka_unit_test(test_fault_not_json_and_shapes),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_log_headers_and_body),
        cmocka_unit_test(test_concurrent_32),
        cmocka_unit_test(test_keepalive_reuse),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_bad_scripts),
        cmocka_unit_test(test_shutdown_endpoint),
        cmocka_unit_test(test_stop_with_stalled_client),
        cmocka_unit_test(test_max_seconds),
        cmocka_unit_test(test_max_body_option),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests_name("fake_llm", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
