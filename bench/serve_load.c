/* bench/serve_load — the load client of bench/serve_load.sh.
 *
 *   serve_load http PORT SECONDS CLIENTS FILE   CLIENTS threads, each on its
 *       own keep-alive connection, POST FILE to /v1/solve as fast as the
 *       server answers, for SECONDS;
 *   serve_load spawn BIN SECONDS CLIENTS FILE   the same with one
 *       `BIN solve --json FILE` process per request.
 * Prints one line: requests, errors (anything but a 200 / exit 0),
 * requests per second and the p50 / p95 / p99 latency in milliseconds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1u << 22)

static int spawn_mode, port;
static const char *bin, *file;
static char *request;
static size_t request_len;
static double deadline;
static double *lat;
static size_t nlat;
static long errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void record(double ms, int ok)
{
    pthread_mutex_lock(&mu);
    if (!ok) errors++;
    else if (nlat < MAX_SAMPLES) lat[nlat++] = ms;
    pthread_mutex_unlock(&mu);
}

static int connect_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { if (fd >= 0) close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One reply on a keep-alive connection: 1 for a 200, 0 for another status,
 * -1 when the connection failed. */
static int read_reply(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) { if (got >= cap - 1) return -1; continue; }
        char *cl = strcasestr(buf, "Content-Length:");
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0, head = (size_t)(end + 4 - buf);
        while (got < head + body) {
            if (head + body >= cap) return -1;
            r = recv(fd, buf + got, cap - 1 - got, 0);
            if (r <= 0) return -1;
            got += (size_t)r;
        }
        return !strncmp(buf, "HTTP/1.1 200", 12);
    }
}

static void *http_client(void *arg)
{
    (void)arg;
    static __thread char buf[1 << 20];
    int fd = connect_port();
    while (now_ms() < deadline) {
        if (fd < 0 && (fd = connect_port()) < 0) { record(0, 0); continue; }
        double t0 = now_ms();
        int ok = send(fd, request, request_len, MSG_NOSIGNAL) == (ssize_t)request_len ? read_reply(fd, buf, sizeof buf) : -1;
        record(now_ms() - t0, ok == 1);
        if (ok < 0) { close(fd); fd = -1; }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static void *spawn_client(void *arg)
{
    (void)arg;
    while (now_ms() < deadline) {
        double t0 = now_ms();
        /* posix_spawn (vfork-like): what a harness starting processes would use */
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        char *args[] = { (char *)bin, "solve", "--json", (char *)file, NULL };
        pid_t pid = -1;
        if (posix_spawn(&pid, bin, &fa, NULL, args, environ) != 0) pid = -1;
        posix_spawn_file_actions_destroy(&fa);
        int st = 1;
        if (pid > 0) waitpid(pid, &st, 0);
        record(now_ms() - t0, pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (!nlat) return 0;
    size_t i = (size_t)(p / 100 * (double)(nlat - 1) + 0.5);
    return lat[i];
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[1], "http") && strcmp(argv[1], "spawn"))) {
        fprintf(stderr, "usage: serve_load http PORT|spawn BIN SECONDS CLIENTS FILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    spawn_mode = !strcmp(argv[1], "spawn");
    if (spawn_mode) bin = argv[2];
    else port = atoi(argv[2]);
    double seconds = atof(argv[3]);
    int clients = atoi(argv[4]);
    file = argv[5];
    FILE *f = fopen(file, "rb");
    if (!f || clients < 1 || clients > 1024 || seconds <= 0) { fprintf(stderr, "serve_load: bad arguments\n"); return 2; }
    char body[1 << 16];
    size_t blen = fread(body, 1, sizeof body, f);
    fclose(f);
    request = malloc(blen + 256);
    request_len = (size_t)sprintf(request, "POST /v1/solve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                           "application/json\r\nContent-Length: %zu\r\n\r\n", blen);
    memcpy(request + request_len, body, blen);
    request_len += blen;
    lat = malloc(MAX_SAMPLES * sizeof *lat);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    if (!lat || !t) return 1;
    double t0 = now_ms();
    deadline = t0 + seconds * 1e3;
    for (int i = 0; i < clients; i++) pthread_create(&t[i], NULL, spawn_mode ? spawn_client : http_client, NULL);
    for (int i = 0; i < clients; i++) pthread_join(t[i], NULL);
    double el = (now_ms() - t0) / 1e3;
    qsort(lat, nlat, sizeof *lat, cmp);
    printf("%zu requests, %ld errors, %.1f req/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n", nlat, errors,
           nlat / el, pct(50), pct(95), pct(99));
    return errors ? 1 : 0;
}
