/* tests/support_serve — drives `optagent serve` from a test over real HTTP
 * on 127.0.0.1: starts the server as a process (its stderr in a file),
 * reads the port it prints, and talks to it with a small blocking socket
 * client. Every exported symbol starts with ts_srv_. Nothing aborts: the
 * tests decide (NULL / -1 on failure with a "# " line on stderr). */
#ifndef OPTAGENT_TESTS_SUPPORT_SERVE_H
#define OPTAGENT_TESTS_SUPPORT_SERVE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char errpath[1024];      /* the server's stderr */
} ts_srv;

/* Starts bin/optagent serve --listen 127.0.0.1:0 with args (NULL-ended),
 * the environment entries env ("NAME=VALUE", NULL-ended; "-NAME" unsets),
 * stderr to errpath; waits up to 30 s for "listening on". 0 or -1. */
int ts_srv_start(ts_srv *s, const char *bin, const char *const *args, const char *const *env,
                 const char *errpath);
/* Sends sig and waits up to timeout_ms; the exit status (128+signal when
 * killed), or -1 when it is still running (then it is killed). */
int ts_srv_stop(ts_srv *s, int sig, int timeout_ms);

/* One request (Connection: close). headers: raw lines ("A: b\r\n") or
 * NULL; body NULL for none. The status, or -1 when no reply came within
 * 30 s; *out (may be NULL) the body, NUL-terminated (caller frees). */
int ts_srv_http(int port, const char *method, const char *path, const char *headers,
                const char *body, size_t blen, char **out);

/* The status line and headers of the last ts_srv_http reply. */
const char *ts_srv_last_headers(void);

/* A connected socket to 127.0.0.1:port, or -1. */
int ts_srv_connect(int port);

/* Everything the server wrote on stderr (caller frees), or NULL. */
char *ts_srv_stderr(const ts_srv *s);

#endif
