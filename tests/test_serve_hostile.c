/* optagent serve against hostile clients, over real HTTP on 127.0.0.1:
 * 1,000 connections opened and left idle (fewer when the descriptor limit
 * says so), a slowloris body (one byte at a time), a 100 MB body, garbage
 * and huge headers — and all the while another client is answered at once.
 * The server runs with --request-timeout 2 and --max-body 1M. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "tests/support_serve.h"

static ts_srv srv;

static const char *const formulation =
    "{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":3}],"
    "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    if (ts_cli_setup(state) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    const char *args[] = { "--data-dir", ts_cli_path("data"), "--no-library", "--request-timeout", "2",
                           "--max-body", "1M", "--threads", "2", NULL };
    const char *env[] = { "-OPTAGENT_BASE_URL", "-OPENAI_BASE_URL", NULL };
    return ts_srv_start(&srv, ts_cli_bin(), args, env, ts_cli_path("serve.err"));
}

static int teardown(void **state)
{
    int rc = ts_srv_stop(&srv, SIGTERM, 10000);
    ts_cli_teardown(state);
    return rc == 0 ? 0 : -1;
}

/* Another client: a solve answered 200 within max_ms. */
static void answered_quickly(int max_ms)
{
    double t0 = now_ms();
    char *out = NULL;
    int st = ts_srv_http(srv.port, "POST", "/v1/solve", NULL, formulation, strlen(formulation), &out);
    double ms = now_ms() - t0;
    if (st != 200 || ms > max_ms) print_error("# solve: %d after %.0f ms\n", st, ms);
    assert_int_equal(st, 200);
    assert_true(ms <= max_ms);
    assert_non_null(strstr(out, "\"status\":\"optimal\""));
    free(out);
}

/* 1 when the server closed fd (EOF or reset) within ms. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, ms) <= 0) return 0;
    char buf[512];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

static void test_idle_connections(void **state)
{
    (void)state;
    struct rlimit rl;
    int want = 1000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1100 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 1100 ? rl.rlim_max : 1100;    /* as the server raises its own */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1100) {
        want = (int)rl.rlim_cur - 200;
        print_message("# the descriptor limit is %lu: %d idle connections instead of 1000\n",
                      (unsigned long)rl.rlim_cur, want);
    }
    int *fds = calloc((size_t)want, sizeof *fds);
    assert_non_null(fds);
    int n = 0;
    for (; n < want; n++)
        if ((fds[n] = ts_srv_connect(srv.port)) < 0) break;
    assert_int_equal(n, want);
    sleep_ms(100);              /* accepted by now */
    answered_quickly(2000);
    answered_quickly(2000);
    /* the silent ones are closed after the time limit (2 s) */
    sleep_ms(2500);
    int closed = 0;
    for (int i = 0; i < n; i++) closed += closed_within(fds[i], i < 10 ? 2000 : 0);
    for (int i = 0; i < n; i++) close(fds[i]);
    free(fds);
    assert_true(closed >= n * 9 / 10);
    answered_quickly(2000);
}

static void test_slowloris_body(void **state)
{
    (void)state;
    int fd = ts_srv_connect(srv.port);
    assert_true(fd >= 0);
    const char *head = "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{";
    assert_true(send(fd, head, strlen(head), MSG_NOSIGNAL) > 0);
    double t0 = now_ms();
    int cut = 0;
    while (!cut && now_ms() - t0 < 8000) {
        sleep_ms(250);
        if (send(fd, " ", 1, MSG_NOSIGNAL) != 1) cut = 1;
        answered_quickly(2000);
        if (closed_within(fd, 0)) cut = 1;
    }
    double ms = now_ms() - t0;
    close(fd);
    if (!cut) print_error("# the slow body was still accepted after %.0f ms\n", ms);
    assert_true(cut);
    assert_true(ms < 6000);
}

typedef struct {
    int port;
    size_t sent;
    int status;
} big_upload;

/* 100 MB declared and sent (as far as the server lets it). */
static void *upload(void *arg)
{
    big_upload *u = arg;
    u->status = -1;
    int fd = ts_srv_connect(u->port);
    if (fd < 0) return NULL;
    char head[200];
    size_t total = 100u << 20;
    snprintf(head, sizeof head, "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", total);
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    static char chunk[1 << 16];
    memset(chunk, ' ', sizeof chunk);
    while (u->sent < total) {
        ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (w <= 0) break;
        u->sent += (size_t)w;
    }
    char resp[256];
    ssize_t r = recv(fd, resp, sizeof resp - 1, 0);
    if (r > 12) { resp[r] = 0; u->status = atoi(resp + 9); }
    close(fd);
    return NULL;
}

static void test_100mb_body(void **state)
{
    (void)state;
    big_upload u = { srv.port, 0, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, upload, &u), 0);
    for (int i = 0; i < 5; i++) answered_quickly(2000);
    pthread_join(t, NULL);
    print_message("# 100 MB upload: %zu bytes taken, status %d\n", u.sent, u.status);
    /* refused from its headers: the server never reads the 100 MB */
    if (u.status != -1) assert_int_equal(u.status, 413);
    assert_true(u.sent < (100u << 20));
    char *out = NULL;
    assert_int_equal(ts_srv_http(srv.port, "POST", "/v1/solve", "Content-Length: 104857600\r\n", NULL, 0, &out), 413);
    free(out);
    answered_quickly(2000);
}

static void test_garbage_and_huge_headers(void **state)
{
    (void)state;
    int fd = ts_srv_connect(srv.port);
    assert_true(fd >= 0);
    const char *junk = "\x01\x02GARBAGE \xff\xfe\r\n\r\n";
    send(fd, junk, strlen(junk), MSG_NOSIGNAL);
    /* answered 400 (or not at all), then closed */
    char reply[4096] = "";
    size_t got = 0;
    for (double t0 = now_ms(); now_ms() - t0 < 3000; ) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t r = recv(fd, reply + got, sizeof reply - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    reply[got] = 0;
    assert_true(got == 0 || !strncmp(reply, "HTTP/1.1 400", 12));
    answered_quickly(2000);
    size_t n = 200000;
    char *h = malloc(n + 64);
    assert_non_null(h);
    memcpy(h, "X-Big: ", 7);
    memset(h + 7, 'a', n);
    memcpy(h + 7 + n, "\r\n", 3);
    char *out = NULL;
    int st = ts_srv_http(srv.port, "GET", "/healthz", h, NULL, 0, &out);
    free(out);
    free(h);
    assert_true(st == -1 || st == 413 || st == 431 || st == 400);
    answered_quickly(2000);
    /* invalid UTF-8 and deep nesting: 400 */
    char deep[60001];
    memset(deep, '{', 60000);
    deep[60000] = 0;
    assert_int_equal(ts_srv_http(srv.port, "POST", "/v1/solve", NULL, deep, strlen(deep), &out), 400);
    free(out);
    assert_int_equal(ts_srv_http(srv.port, "POST", "/v1/solve", NULL, "{\"a\": \"\xff\"}", 10, &out), 400);
    free(out);
    answered_quickly(2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections),
        cmocka_unit_test(test_slowloris_body),
        cmocka_unit_test(test_100mb_body),
        cmocka_unit_test(test_garbage_and_huge_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
