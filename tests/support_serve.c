/* tests/support_serve — see support_serve.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "tests/support.h"
#include "tests/support_serve.h"

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

int ts_srv_start(ts_srv *s, const char *bin, const char *const *args, const char *const *env,
                 const char *errpath)
{
    memset(s, 0, sizeof *s);
    snprintf(s->errpath, sizeof s->errpath, "%s", errpath);
    char exe[1024];
    snprintf(exe, sizeof exe, "%s/optagent", bin);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = exe;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    for (size_t i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    unlink(errpath);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(126);
        dup2(fd, 2);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        for (size_t i = 0; env && env[i]; i++) {
            if (env[i][0] == '-') { unsetenv(env[i] + 1); continue; }
            char *e = strdup(env[i]);
            putenv(e);
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    double t0 = now_ms();
    while (now_ms() - t0 < 30000) {
        size_t len;
        char *text = ts_read_file(errpath, &len);
        const char *p = text ? strstr(text, "listening on http://127.0.0.1:") : NULL;
        if (p) {
            s->port = atoi(p + strlen("listening on http://127.0.0.1:"));
            free(text);
            return s->port > 0 ? 0 : -1;
        }
        free(text);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "# optagent serve exited before listening (status %d)\n", st);
            s->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "# optagent serve did not say where it listens within 30 s\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s->pid = 0;
    return -1;
}

int ts_srv_stop(ts_srv *s, int sig, int timeout_ms)
{
    if (!s->pid) return -1;
    kill(s->pid, sig);
    double t0 = now_ms();
    int st;
    while (now_ms() - t0 < timeout_ms) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

int ts_srv_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char last_headers[8192];

const char *ts_srv_last_headers(void)
{
    return last_headers;
}

int ts_srv_http(int port, const char *method, const char *path, const char *headers,
                const char *body, size_t blen, char **out)
{
    if (out) *out = NULL;
    int fd = ts_srv_connect(port);
    if (fd < 0) return -1;
    ts_str req = { 0 };
    ts_str_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path,
                  headers ? headers : "");
    if (body) ts_str_printf(&req, "Content-Length: %zu\r\nContent-Type: application/json\r\n", blen);
    ts_str_printf(&req, "\r\n");
    int ok = send_all(fd, req.s, req.len) == 0;
    ts_str_free(&req);
    /* a refused body may be cut off by the server: its reply still counts */
    if (ok && body) send_all(fd, body, blen);
    ts_str resp = { 0 };
    double t0 = now_ms();
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int left = 30000 - (int)(now_ms() - t0);
        if (left <= 0 || poll(&p, 1, left) <= 0) break;
        char buf[65536];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        ts_str_append(&resp, buf, (size_t)r);
    }
    close(fd);
    int status = -1;
    if (resp.s && !strncmp(resp.s, "HTTP/1.", 7) && strlen(resp.s) > 12) status = atoi(resp.s + 9);
    const char *b = resp.s ? strstr(resp.s, "\r\n\r\n") : NULL;
    size_t hl = b ? (size_t)(b - resp.s) : 0;
    if (hl >= sizeof last_headers) hl = sizeof last_headers - 1;
    memcpy(last_headers, resp.s ? resp.s : "", hl);
    last_headers[hl] = 0;
    if (out && b) *out = strdup(b + 4);
    else if (out && status > 0) *out = strdup("");
    ts_str_free(&resp);
    return status;
}

char *ts_srv_stderr(const ts_srv *s)
{
    size_t len;
    return ts_read_file(s->errpath, &len);
}
