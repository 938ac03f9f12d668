/* tests/support_fake — see support_fake.h. */
#include "tests/support.h"
#include "tests/support_fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAKE_MAX_ARGS   32
#define FAKE_START_MS   10000
#define FAKE_STOP_MS    5000
#define FAKE_LOG_MS     5000
#define FAKE_RESP_CAP   (16 * 1024 * 1024)

struct ts_fake {
    pid_t pid;
    int port;
    int stdin_wr;        /* the server's stdin (it exits on EOF) */
    int reaped;
    int status;          /* wait status once reaped */
    int lost;            /* reaped by someone else: status unknown */
    char *dir;
    char *log_path;
    char *err_path;
    char base_url[64];
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Prints the server's stderr as TAP comments. */
static void print_server_stderr(const ts_fake *f, int always)
{
    size_t len = 0;
    char *text = f->err_path ? ts_read_file(f->err_path, &len) : NULL;
    if (!text) return;
    if (len > 0 || always) {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            fprintf(stderr, "# fake_llm[%ld]: %s\n", (long)f->pid, line);
    }
    free(text);
}

static int decode_status(const ts_fake *f)
{
    int st = f->status;
    if (f->lost) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* Reaps the server if it has exited within timeout_ms. 1 reaped, 0 not. */
static int reap(ts_fake *f, int timeout_ms)
{
    if (f->reaped) return 1;
    double end = mono_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(f->pid, &st, WNOHANG);
        if (r == f->pid) {
            f->reaped = 1;
            f->status = st;
            return 1;
        }
        if (r < 0 && errno != EINTR) {   /* not our child any more (SIGCHLD ignored?) */
            f->reaped = 1;
            f->lost = 1;
            return 1;
        }
        if (mono_ms() >= end) return 0;
        sleep_ms(10);
    }
}

static void fake_free(ts_fake *f)
{
    if (f->stdin_wr >= 0) close(f->stdin_wr);
    if (f->dir) ts_rmtree(f->dir);
    free(f->dir);
    free(f->log_path);
    free(f->err_path);
    free(f);
}

/* Reads "PORT n\n" from fd within FAKE_START_MS. Returns the port, -1 on a
 * timeout, -2 when the server closed stdout first or wrote something else. */
static int read_port(int fd)
{
    char line[64];
    size_t len = 0;
    double end = mono_ms() + FAKE_START_MS;
    while (len + 1 < sizeof line) {
        double left = end - mono_ms();
        if (left <= 0) return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        ssize_t r = read(fd, line + len, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -2;
        len++;
        if (line[len - 1] == '\n') break;
    }
    line[len] = '\0';
    int port = -1;
    char nl = 0;
    if (sscanf(line, "PORT %d%c", &port, &nl) != 2 || nl != '\n' || port <= 0 || port > 65535)
        return -2;
    return port;
}

ts_fake *ts_fake_start_args(const char *script_json, const char *const *extra_args)
{
    ts_fake *f = calloc(1, sizeof *f);
    char *script_path = NULL;
    char bin[1024];
    int outp[2] = {-1, -1}, inp[2] = {-1, -1};
    const char *argv[FAKE_MAX_ARGS + 8];
    int argc = 0;
    if (!f) return NULL;
    f->stdin_wr = -1;
    f->pid = -1;

    const char *build = getenv("OPTAGENT_BUILD");
    if (!build || !*build) build = "build";
    snprintf(bin, sizeof bin, "%s/tests/fake_llm", build);
    struct stat st;
    if (stat(bin, &st) == 0 && S_ISDIR(st.st_mode))   /* objects live in tests/fake_llm/ */
        snprintf(bin, sizeof bin, "%s/tests/fake_llm/fake_llm", build);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "# ts_fake_start: %s is missing (make %s)\n", bin, bin);
        goto fail;
    }
    f->dir = ts_mkdtemp();
    if (!f->dir) {
        fprintf(stderr, "# ts_fake_start: cannot create a temp dir\n");
        goto fail;
    }
    script_path = path_join(f->dir, "script.json");
    f->log_path = path_join(f->dir, "requests.jsonl");
    f->err_path = path_join(f->dir, "stderr.txt");
    if (!script_path || !f->log_path || !f->err_path) goto fail;
    if (ts_write_file(script_path, script_json, strlen(script_json)) != 0) {
        fprintf(stderr, "# ts_fake_start: cannot write %s\n", script_path);
        goto fail;
    }

    argv[argc++] = bin;
    argv[argc++] = "--script";
    argv[argc++] = script_path;
    argv[argc++] = "--log";
    argv[argc++] = f->log_path;
    argv[argc++] = "--watch-stdin";
    for (int i = 0; extra_args && extra_args[i]; i++) {
        if (i >= FAKE_MAX_ARGS) {
            fprintf(stderr, "# ts_fake_start: too many extra arguments\n");
            goto fail;
        }
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;

    if (pipe(outp) != 0 || pipe(inp) != 0 || cloexec(outp[0]) || cloexec(outp[1]) ||
        cloexec(inp[0]) || cloexec(inp[1])) {
        fprintf(stderr, "# ts_fake_start: pipe: %s\n", strerror(errno));
        goto fail;
    }
    fflush(NULL);
    f->pid = fork();
    if (f->pid < 0) {
        fprintf(stderr, "# ts_fake_start: fork: %s\n", strerror(errno));
        goto fail;
    }
    if (f->pid == 0) {
        int efd = open(f->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (dup2(inp[0], 0) < 0 || dup2(outp[1], 1) < 0 || (efd >= 0 && dup2(efd, 2) < 0))
            _exit(127);
        execv(bin, (char *const *)argv);
        static const char msg[] = "exec of the fake_llm binary failed\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(inp[0]);
    inp[0] = -1;
    close(outp[1]);
    outp[1] = -1;
    f->stdin_wr = inp[1];
    inp[1] = -1;

    f->port = read_port(outp[0]);
    close(outp[0]);
    outp[0] = -1;
    if (f->port < 0) {
        if (f->port == -1)
            fprintf(stderr, "# ts_fake_start: the server did not report its port within %d s\n",
                    FAKE_START_MS / 1000);
        else
            fprintf(stderr, "# ts_fake_start: the server exited or failed before reporting its port\n");
        goto fail;
    }
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%d/v1", f->port);
    free(script_path);
    return f;

fail:
    if (f->pid > 0) {
        if (!reap(f, 200)) {
            kill(f->pid, SIGKILL);
            reap(f, FAKE_STOP_MS);
        }
        print_server_stderr(f, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) close(outp[i]);
        if (inp[i] >= 0) close(inp[i]);
    }
    free(script_path);
    fake_free(f);
    return NULL;
}

ts_fake *ts_fake_start(const char *script_json)
{
    return ts_fake_start_args(script_json, NULL);
}

const char *ts_fake_base_url(const ts_fake *f) { return f ? f->base_url : ""; }
int ts_fake_port(const ts_fake *f) { return f ? f->port : -1; }
long ts_fake_pid(const ts_fake *f) { return f ? (long)f->pid : -1; }
const char *ts_fake_log_path(const ts_fake *f) { return f ? f->log_path : ""; }

/* Parses every complete line of the log. *complete receives their count. */
static cJSON *parse_log(const ts_fake *f, int *complete)
{
    cJSON *arr = cJSON_CreateArray();
    size_t len = 0;
    *complete = 0;
    if (!arr) return NULL;
    char *text = ts_read_file(f->log_path, &len);
    if (!text) return arr;   /* no log yet */
    char *p = text;
    for (;;) {
        char *nl = memchr(p, '\n', len - (size_t)(p - text));
        if (!nl) break;       /* a line still being written */
        *nl = '\0';
        (*complete)++;
        cJSON *o = cJSON_Parse(p);
        if (o) cJSON_AddItemToArray(arr, o);
        else fprintf(stderr, "# ts_fake_requests: unparsable log line: %.200s\n", p);
        p = nl + 1;
    }
    free(text);
    return arr;
}

cJSON *ts_fake_requests(ts_fake *f, int min_count)
{
    if (!f) return NULL;
    double end = mono_ms() + FAKE_LOG_MS;
    for (;;) {
        int n = 0;
        cJSON *arr = parse_log(f, &n);
        if (!arr || n >= min_count || mono_ms() >= end) return arr;
        cJSON_Delete(arr);
        sleep_ms(10);
    }
}

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    cloexec(fd);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

char *ts_fake_raw(const ts_fake *f, const char *data, size_t len, int timeout_ms)
{
    if (!f) return NULL;
    int fd = connect_local(f->port);
    if (fd < 0) return NULL;
    ts_str b = {0};
    ts_str_append(&b, "", 0);
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;   /* the server may answer early (413) and close */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    double end = mono_ms() + timeout_ms;
    char chunk[8192];
    for (;;) {
        double left = end - mono_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (b.len + (size_t)r > FAKE_RESP_CAP) break;
        ts_str_append(&b, chunk, (size_t)r);
    }
    close(fd);
    if (!b.s) {
        b.s = calloc(1, 1);
    }
    return b.s;
}

int ts_fake_http(const ts_fake *f, const char *method, const char *path,
                 const char *extra_headers, const char *body, char **resp_body)
{
    if (resp_body) *resp_body = NULL;
    if (!f) return -1;
    ts_str req = {0};
    size_t blen = body ? strlen(body) : 0;
    ts_str_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n",
                  method, path, f->port);
    if (extra_headers) ts_str_append(&req, extra_headers, strlen(extra_headers));
    if (body) ts_str_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    ts_str_append(&req, "\r\n", 2);
    if (body) ts_str_append(&req, body, blen);
    if (!req.s) return -1;
    char *resp = ts_fake_raw(f, req.s, req.len, 10000);
    ts_str_free(&req);
    if (!resp) return -1;
    int status = -1;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) status = -1;
    const char *sep = strstr(resp, "\r\n\r\n");
    if (resp_body && sep) *resp_body = strdup(sep + 4);
    free(resp);
    return status;
}

cJSON *ts_fake_stats(const ts_fake *f)
{
    char *body = NULL;
    int st = ts_fake_http(f, "GET", "/_stats", NULL, NULL, &body);
    cJSON *o = st == 200 && body ? cJSON_Parse(body) : NULL;
    free(body);
    return o;
}

int ts_fake_wait_exit(ts_fake *f, int timeout_ms)
{
    if (!f || f->pid <= 0) return -1;
    if (!reap(f, timeout_ms)) return -1;
    return decode_status(f);
}

int ts_fake_stop_status(ts_fake *f)
{
    if (!f) return -1;
    int result = -1;
    if (f->pid > 0 && !f->reaped) {
        if (f->stdin_wr >= 0) {
            close(f->stdin_wr);
            f->stdin_wr = -1;
        }
        kill(f->pid, SIGTERM);
        if (!reap(f, FAKE_STOP_MS)) {
            fprintf(stderr, "# ts_fake_stop: fake_llm[%ld] ignored SIGTERM for %d s; killing it\n",
                    (long)f->pid, FAKE_STOP_MS / 1000);
            kill(f->pid, SIGKILL);
            reap(f, FAKE_STOP_MS);
            print_server_stderr(f, 0);
            fake_free(f);
            return -1;
        }
    }
    if (f->pid > 0) {
        result = decode_status(f);
        print_server_stderr(f, 0);
        if (result != 0)
            fprintf(stderr, "# ts_fake_stop: fake_llm[%ld] exited with status %d\n",
                    (long)f->pid, result);
    }
    fake_free(f);
    return result;
}

void ts_fake_stop(ts_fake *f)
{
    (void)ts_fake_stop_status(f);
}
