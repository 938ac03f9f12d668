/* optagent repl: the interactive session (optagent with no arguments on a
 * terminal). This file is the input side; the session and its commands are
 * repl_cmd.c, what they print repl_show.c (see repl.h).
 *
 * Input: a line starting with ':' is a command; any other line starts a
 * problem, continued line by line (prompt "...> ") until a blank line or
 * the end of input sends it. On a terminal lines come from libedit through
 * its callback interface: the process polls standard input itself, so a
 * Ctrl-C at the prompt (a flag set by the SIGINT handler) drops the line
 * being typed and shows a fresh prompt, and history and tab completion
 * (commands, then file names) are libedit's. The history file
 * ($XDG_STATE_HOME/optagent/history, or OPTAGENT_HISTFILE; /dev/null turns
 * it off) is mode 0600 and written after each entry. When standard input is
 * not a terminal the same input is read with getline: no prompt, no
 * history, no spinner, so that a session can be scripted.
 *
 * Waiting: while a request or a solve runs, Ctrl-C sets the pipeline's
 * cancel flag (the LLM client and GLPK poll it) and the prompt comes back;
 * on a terminal a thread draws a spinner with the elapsed time on stderr. */
#define _GNU_SOURCE          /* sigaction, strdup with -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <editline/readline.h>
#include "agent/cli/repl.h"

static volatile sig_atomic_t got_sigint;
static volatile int cancel_flag;

static void on_sigint(int sig)
{
    (void)sig;
    got_sigint = 1;
    cancel_flag = 1;
}

/* ---- waiting: cancel flag and spinner ---- */

static pthread_t spinner;
static int spinning;
static pthread_mutex_t spin_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spin_cv = PTHREAD_COND_INITIALIZER;
static int spin_stop;

static void *spin(void *arg)
{
    static const char frames[] = "|/-\\";
    struct timespec t0, now, until;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&spin_mu);
    for (int k = 0; !spin_stop; k++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double s = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "\r%c %.1fs (Ctrl-C cancels)", frames[k % 4], s);
        fflush(stderr);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&spin_cv, &spin_mu, &until);
    }
    pthread_mutex_unlock(&spin_mu);
    fputs("\r\033[K", stderr);
    fflush(stderr);
    return arg;
}

volatile int *repl_wait_begin(repl_session *s)
{
    cancel_flag = 0;
    got_sigint = 0;
    fflush(stdout);
    if (s->tty) {
        spin_stop = 0;
        spinning = pthread_create(&spinner, NULL, spin, NULL) == 0;
    }
    return &cancel_flag;
}

void repl_wait_end(repl_session *s)
{
    if (spinning) {
        pthread_mutex_lock(&spin_mu);
        spin_stop = 1;
        pthread_cond_signal(&spin_cv);
        pthread_mutex_unlock(&spin_mu);
        pthread_join(spinner, NULL);
        spinning = 0;
    }
    got_sigint = 0;
}

/* ---- history ---- */

static char histfile[4096];

/* The history file's path into histfile ("" when off), its folder made. */
static void history_open(void)
{
    const char *h = getenv("OPTAGENT_HISTFILE");
    histfile[0] = 0;
    if (h && *h) {
        if (strcmp(h, "/dev/null")) snprintf(histfile, sizeof histfile, "%s", h);
    } else {
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char dir[4000];
        if (state && *state) snprintf(dir, sizeof dir, "%s/optagent", state);
        else if (home && *home) snprintf(dir, sizeof dir, "%s/.local/state/optagent", home);
        else return;
        char *slash = strrchr(dir, '/');
        *slash = 0;
        mkdir(dir, 0700);               /* $XDG_STATE_HOME or ~/.local/state */
        *slash = '/';
        mkdir(dir, 0700);
        snprintf(histfile, sizeof histfile, "%s/history", dir);
    }
    using_history();
    if (*histfile) read_history(histfile);
}

static void history_add(const char *line)
{
    if (!*line) return;
    add_history(line);
    if (!*histfile) return;
    int fd = open(histfile, O_WRONLY | O_CREAT, 0600);   /* created private */
    if (fd >= 0) close(fd);
    write_history(histfile);
    chmod(histfile, 0600);
}

/* ---- completion: commands at the start of the line, then file names ---- */

/* The names match with their ':' or without it, as libedit may or may not
 * count ':' as a word break. */
static char *command_gen(const char *text, int state)
{
    static size_t i, len;
    if (!state) { i = 0; len = strlen(text); }
    while (repl_command_names[i]) {
        const char *n = repl_command_names[i++];
        if (text[0] != ':') n++;
        if (!strncmp(n, text, len)) return strdup(n);
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    if (line[0] == ':' && start <= 1 && !strchr(line, ' ')) {
        rl_attempted_completion_over = 1;
        return rl_completion_matches(text, command_gen);
    }
    return NULL;   /* libedit's file name completion */
}

/* ---- reading a line ---- */

enum { LINE_OK, LINE_EOF, LINE_INTERRUPTED };

static char *cb_line;
static int cb_done;

static void on_line(char *line)
{
    cb_line = line;
    cb_done = 1;
}

/* One line from the terminal through libedit's callback interface. */
static int tty_line(const char *prompt, char **out)
{
    cb_line = NULL;
    cb_done = 0;
    got_sigint = 0;
    rl_callback_handler_install(prompt, on_line);
    while (!cb_done) {
        struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
        int r = poll(&p, 1, 200);
        if (got_sigint) {
            got_sigint = 0;
            rl_callback_handler_remove();
            fputs("^C\n", stdout);
            fflush(stdout);
            return LINE_INTERRUPTED;
        }
        if (r > 0) rl_callback_read_char();
        else if (r < 0 && errno != EINTR) break;
    }
    rl_callback_handler_remove();
    *out = cb_line;
    return cb_line ? LINE_OK : LINE_EOF;
}

/* One line from a pipe or file, without its newline. */
static int plain_line(char **out)
{
    static char *buf;
    static size_t cap;
    got_sigint = 0;
    ssize_t n = getline(&buf, &cap, stdin);
    if (n < 0 && got_sigint) {     /* Ctrl-C while reading: drop the problem so far */
        clearerr(stdin);
        return LINE_INTERRUPTED;
    }
    if (n < 0) { free(buf); buf = NULL; cap = 0; return LINE_EOF; }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
    *out = strdup(buf);
    return *out ? LINE_OK : LINE_EOF;
}

static int read_line(const repl_session *s, const char *prompt, char **out)
{
    *out = NULL;
    int rc = s->tty ? tty_line(prompt, out) : plain_line(out);
    if (rc == LINE_OK && s->tty) history_add(*out);
    return rc;
}

/* ---- the loop ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    int too_long;             /* over REPL_MAX_PROBLEM_BYTES: dropped when sent */
} problem_buf;

static void problem_add(problem_buf *p, const char *line)
{
    size_t n = strlen(line);
    if (p->too_long || p->len + n + 2 > REPL_MAX_PROBLEM_BYTES) { p->too_long = 1; return; }
    if (p->len + n + 2 > p->cap) {
        size_t c = (p->len + n + 2) * 2;
        char *nb = realloc(p->buf, c);
        if (!nb) { p->too_long = 1; return; }
        p->buf = nb;
        p->cap = c;
    }
    memcpy(p->buf + p->len, line, n);
    p->len += n;
    p->buf[p->len++] = '\n';
    p->buf[p->len] = 0;
}

static void problem_send(repl_session *s, problem_buf *p)
{
    if (p->too_long)
        repl_error(s, "the problem is longer than %u bytes: not sent", REPL_MAX_PROBLEM_BYTES);
    else if (p->len) {
        p->buf[p->len - 1] = 0;     /* the last line's newline */
        repl_ask(s, p->buf);
    }
    p->len = 0;
    p->too_long = 0;
    if (p->buf) p->buf[0] = 0;
}

static int is_blank(const char *line)
{
    return line[strspn(line, " \t\r")] == 0;
}

static void session_loop(repl_session *s)
{
    problem_buf p = { NULL, 0, 0, 0 };
    const char *prompt = s->color ? "\001\033[1m\001optagent>\001\033[0m\001 " : "optagent> ";
    while (!s->quit) {
        char *line;
        int in_problem = p.len || p.too_long;
        int rc = read_line(s, in_problem ? "...> " : prompt, &line);
        if (rc == LINE_INTERRUPTED) {   /* Ctrl-C at the prompt: drop what was typed */
            p.len = 0;
            p.too_long = 0;
            continue;
        }
        if (rc == LINE_EOF) {
            if (s->tty) fputs("\n", stdout);
            break;
        }
        if (in_problem) {
            if (is_blank(line)) problem_send(s, &p);
            else problem_add(&p, line);
        } else if (line[0] == ':') {
            repl_command(s, line);
        } else if (!is_blank(line)) {
            problem_add(&p, line);
        }
        free(line);
        fflush(stdout);
    }
    if (!s->quit) problem_send(s, &p);   /* the end of input sends the last problem */
    free(p.buf);
}

int ag_cmd_repl(int argc, char **argv)
{
    repl_session s;
    memset(&s, 0, sizeof s);
    int rc = repl_session_init(&s, argc, argv);
    if (rc >= 0) { repl_session_free(&s); return rc; }
    s.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    const char *nc = getenv("NO_COLOR");
    s.color = s.tty && !(nc && *nc);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;      /* no SA_RESTART: poll and reads return */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    if (s.tty) {
        rl_readline_name = "optagent";
        rl_attempted_completion_function = complete;
        history_open();
        printf("optagent %s: type a problem (a blank line sends it), :help for commands, "
               "Ctrl-D to quit\n", OPTAGENT_VERSION);
    }
    session_loop(&s);
    sigaction(SIGINT, &old, NULL);
    rc = s.failed ? EXIT_FAILED : EXIT_SOLVED;
    repl_session_free(&s);
    return rc;
}
