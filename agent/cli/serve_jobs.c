/* serve_jobs.c — /v1/jobs: benchmark files run as persistent jobs.
 *
 * A job is `optagent batch` itself, run as a child process of the server
 * (this same program): batch's runner, run database, cache, replay, resume
 * and run lock are used unchanged, a job that crashes cannot take the
 * server with it, and cancelling is batch's own clean stop (SIGTERM: the
 * problems in flight are not recorded, the run is marked interrupted).
 *
 * Each job has a directory DATA_DIR/jobs/ID holding its input (the posted
 * content, or a copy of the file named by a path confined to --data-dir, so
 * that a resume always sees the same bytes), job.json (its options and
 * state, rewritten atomically: write, fsync, rename) and log (batch's
 * stderr). The job's results are the run batch records in the run
 * database; the run's uuid is read from batch's start line in the log, so
 * it is known even when the server died before it could record it.
 *
 * One thread (the manager) starts queued jobs while fewer than --max-jobs
 * run, reaps the processes and records how they ended. Children get
 * PR_SET_PDEATHSIG SIGTERM, tied to the manager thread, which lives as long
 * as the server: when the server is killed, even with -9, each batch stops
 * cleanly by itself. At start-up the jobs left queued, running or
 * interrupted are queued again and resumed with `batch --resume RUN`, which
 * skips the problems the run already holds: nothing is lost or done twice.
 * A resume that finds the run still locked (the previous batch is still
 * stopping) is retried a little later, and a batch process killed from
 * outside (kill -9, the OOM killer) or stopped by a SIGTERM / SIGINT this
 * server did not send (exit 143 / 130) is resumed up to MAX_CRASHES times.
 * Why a batch failed is read from what that start of it wrote (the log
 * from its size at spawn), never from the log's last line: a batch
 * orphaned by a server killed with -9 keeps writing its stop messages into
 * the same log, and its resume command, taken as the last line, once
 * turned a lock refusal into a failed job. Any other failure is final:
 * the job ends "failed" with batch's message (for an LLM endpoint that
 * refuses connections, batch's "connection refused: ..." line). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agent/cli/serve.h"
#include "agent/eval/eval.h"

#define MAX_KEPT_JOBS 10000        /* jobs the server remembers */
#define WAITING_PER_SLOT 16        /* queued + running beyond 16 x --max-jobs: 429 */
#define MAX_JOB_JSON (1u << 20)
#define MAX_INPUT_BYTES (256u << 20)   /* a file given by path */
#define MAX_JOB_ARGS 40
#define LOCK_RETRIES 200           /* a resume refused because the run is locked, every 250 ms */
#define STOP_GRACE_MS 30000.0      /* on shutdown, then SIGKILL */
#define MAX_CRASHES 3              /* a batch process stopped from outside is resumed this often */
#define LOG_TAIL 65536             /* of one start's log output, read for its failure */

typedef struct {
    char id[17];
    char state[16];                /* queued running finished failed cancelled interrupted */
    char name[128];
    char created[32];
    long seq;
    char run[DB_UUID_SIZE];
    char error[512];
    long problems;
    cJSON *args;                   /* batch's options for this job (strings) */
    pid_t pid;
    int cancel;
    int retries;
    double not_before;
    int count_pending;             /* ended: its LLM use is still to be counted */
    int crashes;                   /* times its process was killed or stopped from outside */
    off_t log_from;                /* the log's size when its batch was spawned */
} job;

struct serve_jobs {
    ag_serve *s;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    job **list;
    size_t n;
    long next_seq;
    int stop;
    pthread_t thread;
    char dir[PATH_MAX];
};

/* ---- files ---- */

static int job_path(const serve_jobs *j, const job *jb, const char *file, char *out, size_t len)
{
    return (size_t)snprintf(out, len, "%s/%s%s%s", j->dir, jb->id, file ? "/" : "", file ? file : "") >= len ? -1 : 0;
}

static int write_file_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(fd); unlink(tmp); return -1; }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) { unlink(tmp); return -1; }
    if (rename(tmp, path) != 0) { unlink(tmp); return -1; }
    return 0;
}

static void job_save(serve_jobs *j, const job *jb)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", jb->id);
    cJSON_AddStringToObject(o, "state", jb->state);
    cJSON_AddStringToObject(o, "name", jb->name);
    cJSON_AddStringToObject(o, "created_at", jb->created);
    cJSON_AddNumberToObject(o, "seq", (double)jb->seq);
    cJSON_AddStringToObject(o, "run", jb->run);
    cJSON_AddStringToObject(o, "error", jb->error);
    cJSON_AddNumberToObject(o, "problems", (double)jb->problems);
    cJSON_AddBoolToObject(o, "cancel", jb->cancel);
    cJSON_AddItemToObject(o, "args", cJSON_Duplicate(jb->args, 1));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char path[PATH_MAX];
    if (!s || job_path(j, jb, "job.json", path, sizeof path) != 0 || write_file_atomic(path, s, strlen(s)) != 0)
        fprintf(stderr, "optagent serve: job %s: cannot save its state: %s\n", jb->id, strerror(errno));
    free(s);
}

static void job_free(job *jb)
{
    if (!jb) return;
    cJSON_Delete(jb->args);
    free(jb);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A job read back from DIR/ID/job.json, or NULL. */
static job *job_load(serve_jobs *j, const char *id)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s/job.json", j->dir, id) >= sizeof path) return NULL;
    size_t len;
    char err[256];
    char *text = ag_read_file(path, MAX_JOB_JSON, &len, err, sizeof err);
    if (!text) return NULL;
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    job *jb = o ? calloc(1, sizeof *jb) : NULL;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "args");
    if (!jb || !cJSON_IsArray(args)) { cJSON_Delete(o); free(jb); return NULL; }
    copy_str(jb->id, sizeof jb->id, id);
    copy_str(jb->state, sizeof jb->state, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "state")));
    copy_str(jb->name, sizeof jb->name, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name")));
    copy_str(jb->created, sizeof jb->created, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "created_at")));
    copy_str(jb->run, sizeof jb->run, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "run")));
    copy_str(jb->error, sizeof jb->error, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error")));
    jb->seq = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "seq"));
    jb->problems = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "problems"));
    jb->cancel = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cancel"));
    jb->args = cJSON_Duplicate(args, 1);
    const cJSON *a;
    int ok = jb->args && *jb->name && !strchr(jb->name, '/');
    cJSON_ArrayForEach(a, jb->args) ok = ok && cJSON_IsString(a);
    cJSON_Delete(o);
    if (!ok) { job_free(jb); return NULL; }
    return jb;
}

/* The run's uuid from batch's start line in the log ("optagent: run UUID:"
 * or "optagent: resuming run UUID:"), into jb->run. */
static void find_run_in_log(serve_jobs *j, job *jb)
{
    char path[PATH_MAX], buf[65536];
    if (*jb->run || job_path(j, jb, "log", path, sizeof path) != 0) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    static const char *const marks[] = { "optagent: run ", "optagent: resuming run " };
    for (size_t m = 0; m < 2; m++) {
        const char *p = strstr(buf, marks[m]);
        if (!p) continue;
        p += strlen(marks[m]);
        size_t k = strspn(p, "0123456789abcdef-");
        if (k == DB_UUID_SIZE - 1 && p[k] == ':') {
            memcpy(jb->run, p, k);
            jb->run[k] = 0;
            return;
        }
    }
}

/* What this start of the job's batch wrote to the log: the bytes from
 * jb->log_from (the log's size when it was spawned) on, at most the last
 * 64 KiB of them, into buf (NUL-terminated). Not the log's last line: a
 * batch orphaned by a server killed with -9 still writes its own stop
 * messages into the same log while the next server's batch fails. */
static void attempt_output(serve_jobs *j, const job *jb, char *buf, size_t cap)
{
    char path[PATH_MAX];
    *buf = 0;
    if (job_path(j, jb, "log", path, sizeof path) != 0) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = jb->log_from < end ? jb->log_from : end;
    if (end - from > (off_t)cap - 1) from = end - (off_t)cap + 1;
    ssize_t n = end > from ? pread(fd, buf, (size_t)(end - from), from) : 0;
    close(fd);
    buf[n > 0 ? n : 0] = 0;
}

/* batch's reason for failing, from its output text: the LLM endpoint's
 * error when it stopped on one ("optagent batch: connection refused: ...",
 * the line before "stopping: every request would fail the same way"),
 * otherwise its last message line (indented lines are the resume command
 * it suggests; empty lines are spacing). Without "optagent: ". */
static void failure_reason(const char *text, char *out, size_t len)
{
    const char *pick = NULL, *line = text;
    size_t pick_len = 0;
    int pick_is_endpoint = 0;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t k = eol ? (size_t)(eol - line) : strlen(line);
        size_t shown = k && line[k - 1] == '\r' ? k - 1 : k;
        int endpoint = !strncmp(line, "optagent batch: ", 16) && strncmp(line, "optagent batch: stopping:", 25);
        if (shown && line[0] != ' ' && line[0] != '\t' && !pick_is_endpoint) {
            pick = line;
            pick_len = shown;
            pick_is_endpoint = endpoint;
        }
        line += eol ? k + 1 : k;
    }
    *out = 0;
    if (!pick) return;
    for (size_t i = 0; i < 2; i++) {
        static const char *const prefixes[] = { "optagent batch: ", "optagent: " };
        size_t pl = strlen(prefixes[i]);
        if (pick_len >= pl && !strncmp(pick, prefixes[i], pl)) { pick += pl; pick_len -= pl; break; }
    }
    if (pick_len >= len) pick_len = len - 1;      /* the line's start says what failed */
    memcpy(out, pick, pick_len);
    out[pick_len] = 0;
}

/* ---- lifecycle ---- */

static int ended(const job *jb)
{
    return !strcmp(jb->state, "finished") || !strcmp(jb->state, "failed") || !strcmp(jb->state, "cancelled");
}

/* LLM calls, tokens and cache hits of a run that ended, for /metrics: one
 * problem's calls at a time (a run's messages may be large). Called
 * without the lock. */
static void count_llm(serve_jobs *j, const char *run)
{
    int64_t run_id;
    if (!*run || db_run_find(j->s->db, run, &run_id) != DB_OK) return;
    db_problem_info *recs = NULL;
    size_t n = 0;
    if (db_problems_list(j->s->db, run_id, 0, &recs, &n) != DB_OK) return;
    long calls = 0, pt = 0, ct = 0, hits = 0;
    for (size_t i = 0; i < n; i++) {
        calls += recs[i].llm_call_count;
        pt += recs[i].prompt_tokens > 0 ? (long)recs[i].prompt_tokens : 0;
        ct += recs[i].completion_tokens > 0 ? (long)recs[i].completion_tokens : 0;
        db_problem_info p;
        if (db_problem_get(j->s->db, run_id, recs[i].dataset, recs[i].problem_id, &p) != DB_OK) continue;
        for (size_t c = 0; c < p.ncalls; c++) hits += p.calls[c].cached != 0;
        db_problem_info_clear(&p);
    }
    db_problems_free(recs, n);
    serve_metrics_llm(calls, pt, ct, hits);
}

/* Counts the LLM use of the jobs that ended since the last pass (the lock
 * is held on entry and exit, released while reading the database). */
static void count_ended(serve_jobs *j)
{
    for (;;) {
        char run[DB_UUID_SIZE] = "";
        for (size_t i = 0; i < j->n && !*run; i++)
            if (j->list[i]->count_pending) {
                j->list[i]->count_pending = 0;
                copy_str(run, sizeof run, j->list[i]->run);
            }
        if (!*run) return;
        pthread_mutex_unlock(&j->mu);
        count_llm(j, run);
        pthread_mutex_lock(&j->mu);
    }
}

static void set_end(serve_jobs *j, job *jb, const char *state)
{
    copy_str(jb->state, sizeof jb->state, state);
    jb->pid = 0;
    serve_metrics_job_end(state);
    /* an interrupted job is counted when it ends for good (its run holds
     * every call so far) */
    if (strcmp(state, "interrupted") && *jb->run) jb->count_pending = 1;
    job_save(j, jb);
}

/* A batch process stopped from outside rather than failing: killed by a
 * signal (kill -9, the OOM killer), or its own clean stop on SIGTERM or
 * SIGINT (exit 128 + the signal) that this server did not ask for (a
 * service manager's stop reaching the batch before the server). */
static int stopped_from_outside(int st)
{
    if (WIFSIGNALED(st)) return 1;
    return WIFEXITED(st) && (WEXITSTATUS(st) == 128 + SIGTERM || WEXITSTATUS(st) == 128 + SIGINT);
}

/* A job process ended with wait status st. */
static void reaped(serve_jobs *j, job *jb, int st)
{
    find_run_in_log(j, jb);
    jb->pid = 0;
    if (jb->cancel) { set_end(j, jb, "cancelled"); return; }
    if (j->stop) { set_end(j, jb, "interrupted"); return; }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { *jb->error = 0; set_end(j, jb, "finished"); return; }
    char *text = malloc(LOG_TAIL);
    char line[512] = "";
    int locked = 0;
    if (text) {
        attempt_output(j, jb, text, LOG_TAIL);
        locked = strstr(text, "being worked on by another optagent") != NULL;
        failure_reason(text, line, sizeof line);
        free(text);
    }
    if (locked && WIFEXITED(st) && WEXITSTATUS(st) == 1 && jb->retries < LOCK_RETRIES) {
        jb->retries++;                              /* the previous batch is still stopping */
        jb->not_before = fm_clock_ms() + 250;
        copy_str(jb->state, sizeof jb->state, "queued");
        return;
    }
    if (stopped_from_outside(st) && jb->crashes < MAX_CRASHES && *jb->run) {
        /* resumed, the problems it recorded kept */
        jb->crashes++;
        jb->not_before = fm_clock_ms() + 500;
        copy_str(jb->state, sizeof jb->state, "queued");
        if (WIFSIGNALED(st))
            fprintf(stderr, "optagent serve: job %s: the batch process was killed by signal %d; resuming it\n",
                    jb->id, WTERMSIG(st));
        else
            fprintf(stderr, "optagent serve: job %s: the batch process was stopped (exit %d); resuming it\n",
                    jb->id, WEXITSTATUS(st));
        job_save(j, jb);
        return;
    }
    if (WIFSIGNALED(st)) snprintf(jb->error, sizeof jb->error, "the batch process was killed by signal %d", WTERMSIG(st));
    else if (stopped_from_outside(st) && !*line)
        snprintf(jb->error, sizeof jb->error, "the batch process was stopped (exit %d)", WEXITSTATUS(st));
    else snprintf(jb->error, sizeof jb->error, "%s", *line ? line : "the batch process failed");
    set_end(j, jb, "failed");
}

/* Starts jb's batch process (the caller holds the lock). */
static void spawn(serve_jobs *j, job *jb)
{
    const ag_serve *s = j->s;
    find_run_in_log(j, jb);
    char input[PATH_MAX], logp[PATH_MAX], kbuf[32];
    const char *argv[MAX_JOB_ARGS + SERVE_MAX_LLM_ARGS + 24];
    size_t n = 0;
    if (job_path(j, jb, jb->name, input, sizeof input) != 0 || job_path(j, jb, "log", logp, sizeof logp) != 0) {
        snprintf(jb->error, sizeof jb->error, "the job's path is too long");
        set_end(j, jb, "failed");
        return;
    }
    argv[n++] = s->exe;
    argv[n++] = "batch";
    argv[n++] = input;
    argv[n++] = "--db";
    argv[n++] = s->dbpath;
    argv[n++] = "--no-progress";
    const cJSON *a;
    cJSON_ArrayForEach(a, jb->args) if (n < MAX_JOB_ARGS) argv[n++] = a->valuestring;
    for (int i = 0; i < s->nllm_args; i++) argv[n++] = s->llm_args[i];
    if (s->lib_flags.off) argv[n++] = "--no-library";
    else if (s->lib_flags.path) { argv[n++] = "--library"; argv[n++] = s->lib_flags.path; }
    if (s->lib_flags.llm) { argv[n++] = "--retrieve"; argv[n++] = "llm"; }
    if (s->lib_flags.k) {
        snprintf(kbuf, sizeof kbuf, "%zu", s->lib_flags.k);
        argv[n++] = "-k";
        argv[n++] = kbuf;
    }
    if (*jb->run) { argv[n++] = "--resume"; argv[n++] = jb->run; }
    argv[n] = NULL;
    int logfd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat lst;
    jb->log_from = logfd >= 0 && fstat(logfd, &lst) == 0 ? lst.st_size : 0;
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = logfd >= 0 && nullfd >= 0 ? fork() : -1;
    if (pid == 0) {
        /* the child: only async-signal-safe calls until execv */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(1);
        setpgid(0, 0);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
            long max = sysconf(_SC_OPEN_MAX);
            for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
        }
        signal(SIGPIPE, SIG_DFL);    /* the server ignores it; batch should not */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(s->exe, (char *const *)argv);
        _exit(127);
    }
    int e = errno;
    if (logfd >= 0) close(logfd);
    if (nullfd >= 0) close(nullfd);
    if (pid < 0) {
        snprintf(jb->error, sizeof jb->error, "cannot start the batch process: %s", strerror(e));
        set_end(j, jb, "failed");
        return;
    }
    jb->pid = pid;
    copy_str(jb->state, sizeof jb->state, "running");
    job_save(j, jb);
}

static void *manager(void *arg)
{
    serve_jobs *j = arg;
    pthread_mutex_lock(&j->mu);
    double stop_since = 0;
    for (;;) {
        int running = 0;
        for (size_t i = 0; i < j->n; i++) {
            job *jb = j->list[i];
            if (!jb->pid) continue;
            int st;
            pid_t w = waitpid(jb->pid, &st, WNOHANG);
            if (w == jb->pid) reaped(j, jb, st);
            else if (w < 0 && errno == ECHILD) reaped(j, jb, 0x100);   /* lost: exit 1 */
            else {
                running++;
                find_run_in_log(j, jb);
            }
        }
        if (j->stop) {
            if (!stop_since) {
                stop_since = fm_clock_ms();
                for (size_t i = 0; i < j->n; i++)
                    if (j->list[i]->pid) kill(j->list[i]->pid, SIGTERM);
            } else if (fm_clock_ms() - stop_since > STOP_GRACE_MS) {
                for (size_t i = 0; i < j->n; i++)
                    if (j->list[i]->pid) kill(j->list[i]->pid, SIGKILL);
            }
            if (!running) break;
        } else {
            double now = fm_clock_ms();
            for (size_t i = 0; i < j->n && running < j->s->max_jobs; i++) {
                job *jb = j->list[i];
                if (!strcmp(jb->state, "queued") && now >= jb->not_before) {
                    spawn(j, jb);
                    running += jb->pid != 0;
                }
            }
        }
        count_ended(j);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&j->wake, &j->mu, &ts);
    }
    /* jobs that were waiting stay queued in their job.json: they start
     * at the next start */
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static int by_seq(const void *a, const void *b)
{
    const job *x = *(job *const *)a, *y = *(job *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int is_job_id(const char *s)
{
    return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

serve_jobs *serve_jobs_start(ag_serve *s)
{
    serve_jobs *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->s = s;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->wake, NULL);
    if ((size_t)snprintf(j->dir, sizeof j->dir, "%s/jobs", s->data_dir) >= sizeof j->dir ||
        (mkdir(j->dir, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "optagent serve: %s: %s\n", j->dir, strerror(errno));
        goto fail;
    }
    j->list = calloc(MAX_KEPT_JOBS, sizeof *j->list);
    DIR *d = j->list ? opendir(j->dir) : NULL;
    if (!d) { fprintf(stderr, "optagent serve: %s: %s\n", j->dir, strerror(errno)); goto fail; }
    size_t resumed = 0;
    for (struct dirent *e; (e = readdir(d)) && j->n < MAX_KEPT_JOBS; ) {
        if (!is_job_id(e->d_name)) continue;
        job *jb = job_load(j, e->d_name);
        if (!jb) { fprintf(stderr, "optagent serve: job %s: unreadable job.json, skipped\n", e->d_name); continue; }
        if (!ended(jb) && jb->cancel) {
            /* cancelled, but the server stopped before its batch did */
            copy_str(jb->state, sizeof jb->state, "cancelled");
            job_save(j, jb);
        } else if (!ended(jb)) {
            copy_str(jb->state, sizeof jb->state, "queued");
            resumed++;
        }
        if (jb->seq >= j->next_seq) j->next_seq = jb->seq + 1;
        j->list[j->n++] = jb;
    }
    closedir(d);
    qsort(j->list, j->n, sizeof *j->list, by_seq);
    if (resumed) fprintf(stderr, "optagent serve: %zu unfinished job%s queued again\n", resumed, resumed == 1 ? "" : "s");
    if (pthread_create(&j->thread, NULL, manager, j) != 0) {
        fprintf(stderr, "optagent serve: cannot start the job manager\n");
        goto fail;
    }
    return j;
fail:
    for (size_t i = 0; i < j->n; i++) job_free(j->list[i]);
    free(j->list);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->wake);
    free(j);
    return NULL;
}

void serve_jobs_stop(serve_jobs *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    for (size_t i = 0; i < j->n; i++) job_free(j->list[i]);
    free(j->list);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->wake);
    free(j);
}

void serve_jobs_counts(serve_jobs *j, long *queued, long *running)
{
    *queued = *running = 0;
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->n; i++) {
        if (!strcmp(j->list[i]->state, "queued")) ++*queued;
        else if (!strcmp(j->list[i]->state, "running")) ++*running;
    }
    pthread_mutex_unlock(&j->mu);
}

/* ---- submit ---- */

/* given (relative to the data dir, or absolute) as a regular file inside
 * the data dir after every symlink is resolved, into out. 0, or -1 after
 * a 400/403 in r. */
static int confine(const ag_serve *s, const char *field, const char *given, char *out, serve_reply *r)
{
    char joined[PATH_MAX];
    if (!*given || strlen(given) >= PATH_MAX / 2 || memchr(given, 0, strlen(given))) {
        serve_reply_error(r, 400, "\"%s\" is empty or too long", field);
        return -1;
    }
    int w = given[0] == '/' ? snprintf(joined, sizeof joined, "%s", given)
                            : snprintf(joined, sizeof joined, "%s/%s", s->data_dir, given);
    if (w < 0 || (size_t)w >= sizeof joined) {
        serve_reply_error(r, 400, "\"%s\" is too long", field);
        return -1;
    }
    if (!realpath(joined, out)) {
        serve_reply_error(r, 400, "\"%s\": cannot read %.300s: %s", field, given, strerror(errno));
        return -1;
    }
    size_t dl = strlen(s->data_dir);
    if (strncmp(out, s->data_dir, dl) || out[dl] != '/') {
        serve_reply_error(r, 403, "\"%s\": %.300s is outside the server's data directory", field, given);
        return -1;
    }
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISREG(st.st_mode)) {
        serve_reply_error(r, 400, "\"%s\": %.300s is not a regular file", field, given);
        return -1;
    }
    return 0;
}

/* Copies the confined file src to dst (at most MAX_INPUT_BYTES). 0 or -1 (r). */
static int copy_in(const char *field, const char *src, const char *dst, serve_reply *r)
{
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (in >= 0) close(in);
        serve_reply_error(r, 400, "\"%s\": cannot open the file", field);
        return -1;
    }
    if ((unsigned long long)st.st_size > MAX_INPUT_BYTES) {
        close(in);
        serve_reply_error(r, 413, "\"%s\": the file is larger than %u bytes", field, MAX_INPUT_BYTES);
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    char buf[65536];
    ssize_t n = 0;
    int ok = out >= 0;
    while (ok && (n = read(in, buf, sizeof buf)) > 0)
        ok = write(out, buf, (size_t)n) == n;
    ok = ok && n == 0;
    close(in);
    if (out >= 0 && (fsync(out) != 0 || close(out) != 0)) ok = 0;
    if (!ok) serve_reply_error(r, 500, "cannot copy the file into the job's directory");
    return ok ? 0 : -1;
}

static int write_content(const char *dst, const char *text, serve_reply *r)
{
    if (write_file_atomic(dst, text, strlen(text)) != 0) {
        serve_reply_error(r, 500, "cannot store the job's input: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* A dataset name usable as a file name: letters, digits, '.', '_', '-'. */
static void safe_name(const char *given, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = given ? given : ""; *p && o + 1 < len && o < 100; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || (c == '.' && o > 0);
        out[o++] = ok ? c : '_';
    }
    out[o] = 0;
    if (!o || !strcmp(out, "log") || !strcmp(out, "job.json") || !strcmp(out, "replay.jsonl") ||
        strstr(out, ".tmp"))
        snprintf(out, len, "problems.jsonl");
}

static const char *const option_fields[] = {
    "content", "path", "name", "format", "limit", "match", "samples", "max_corrections", "time_limit",
    "jobs", "no_cache", "offline", "replay", NULL
};

/* An integer option into args ("--limit" "5"). 0, or -1 after a 400. */
static int int_option(const cJSON *in, const char *field, const char *flag, double lo, double hi,
                      cJSON *args, serve_reply *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);
    if (!v) return 0;
    double d = cJSON_GetNumberValue(v);
    if (!cJSON_IsNumber(v) || d != floor(d) || d < lo || d > hi) {
        serve_reply_error(r, 400, "\"%s\" must be an integer from %g to %g", field, lo, hi);
        return -1;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f", d);
    cJSON_AddItemToArray(args, cJSON_CreateString(flag));
    cJSON_AddItemToArray(args, cJSON_CreateString(buf));
    return 0;
}

/* batch's options of the request into args; *fmt the format. 0, or -1 (r). */
static int job_options(const cJSON *in, cJSON *args, ag_ds_format *fmt, long *limit, long *samples,
                       serve_reply *r)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, in) {
        size_t i = 0;
        while (option_fields[i] && strcmp(option_fields[i], k->string)) i++;
        if (!option_fields[i]) {
            serve_reply_error(r, 400, "unknown field \"%.100s\"", k->string);
            return -1;
        }
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(in, "format");
    *fmt = AG_DS_AUTO;
    if (f && (!cJSON_IsString(f) || ag_ds_format_parse(f->valuestring, fmt) != 0)) {
        serve_reply_error(r, 400, "\"format\" must be auto, alphaopt, llmopt, optmath, optibench or plain");
        return -1;
    }
    if (f) {
        cJSON_AddItemToArray(args, cJSON_CreateString("--format"));
        cJSON_AddItemToArray(args, cJSON_CreateString(f->valuestring));
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, "match");
    ag_match_rule rule;
    if (m && (!cJSON_IsString(m) || ag_eval_rule_parse(m->valuestring, &rule) != 0)) {
        serve_reply_error(r, 400, "\"match\" must be default, alphaopt or orlm");
        return -1;
    }
    if (m) {
        cJSON_AddItemToArray(args, cJSON_CreateString("--match"));
        cJSON_AddItemToArray(args, cJSON_CreateString(m->valuestring));
    }
    if (int_option(in, "limit", "--limit", 0, 1e9, args, r) || int_option(in, "samples", "--samples", 1, 100, args, r) ||
        int_option(in, "max_corrections", "--max-corrections", 0, 20, args, r) ||
        int_option(in, "jobs", "-j", 1, 256, args, r))
        return -1;
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(in, "limit"), *sv = cJSON_GetObjectItemCaseSensitive(in, "samples");
    *limit = lv ? (long)lv->valuedouble : -1;
    *samples = sv ? (long)sv->valuedouble : 1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "time_limit");
    if (t) {
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0) || !isfinite(t->valuedouble)) {
            serve_reply_error(r, 400, "\"time_limit\" must be a number of seconds >= 0");
            return -1;
        }
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", t->valuedouble);
        cJSON_AddItemToArray(args, cJSON_CreateString("--time-limit"));
        cJSON_AddItemToArray(args, cJSON_CreateString(buf));
    }
    static const char *const flags[][2] = { { "no_cache", "--no-cache" }, { "offline", "--offline" } };
    for (size_t i = 0; i < 2; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(in, flags[i][0]);
        if (b && !cJSON_IsBool(b)) { serve_reply_error(r, 400, "\"%s\" must be true or false", flags[i][0]); return -1; }
        if (cJSON_IsTrue(b)) cJSON_AddItemToArray(args, cJSON_CreateString(flags[i][1]));
    }
    return 0;
}

static void new_id(char id[17])
{
    unsigned char b[8];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0) close(fd);
    if (n != (ssize_t)sizeof b) {      /* no urandom: time and address, still unique enough here */
        unsigned long long t = (unsigned long long)(fm_clock_ms() * 1000) ^ (unsigned long long)(uintptr_t)id;
        memcpy(b, &t, sizeof b);
    }
    for (int i = 0; i < 8; i++) snprintf(id + 2 * i, 3, "%02x", b[i]);
}

/* Removes the job directory made for a refused submit. */
static void remove_job_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d)); ) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The job's input, checked with batch's dataset loader: the number of
 * problems in *count. 0, or -1 after a 400 naming the line. */
static int check_input(const ag_serve *s, const char *path, ag_ds_format fmt, long limit, long samples,
                       long *count, serve_reply *r)
{
    char err[1024];
    ag_ds *ds = ag_ds_load(path, fmt, err, sizeof err);
    if (!ds) {
        /* the message names the copy; say it without the server's directories */
        char *at = strstr(err, s->data_dir);
        const char *msg = err;
        if (at == err) {
            msg = err + strlen(s->data_dir);
            const char *slash = strrchr(msg, '/');
            const char *colon = strchr(msg, ':');
            if (slash && (!colon || slash < colon)) msg = slash + 1;
        }
        serve_reply_error(r, 400, "the benchmark file is malformed: %s", msg);
        return -1;
    }
    long n = (long)ag_ds_count(ds);
    ag_ds_free(ds);
    if (limit >= 0 && n > limit) n = limit;
    *count = n * samples;
    if (!*count) { serve_reply_error(r, 400, "the benchmark file holds no problem"); return -1; }
    return 0;
}

static void utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The input and replay files into the job's directory dir. 0, or -1 (r). */
static int store_inputs(const ag_serve *s, const cJSON *in, const char *dir, job *jb, cJSON *args, serve_reply *r)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(in, "content");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(in, "path");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
    const cJSON *replay = cJSON_GetObjectItemCaseSensitive(in, "replay");
    char real[PATH_MAX], dst[PATH_MAX + 200];
    if (!!content == !!path) { serve_reply_error(r, 400, "give either \"content\" or \"path\""); return -1; }
    if ((content && !cJSON_IsString(content)) || (path && !cJSON_IsString(path)) || (name && !cJSON_IsString(name)) ||
        (replay && !cJSON_IsString(replay))) {
        serve_reply_error(r, 400, "\"content\", \"path\", \"name\" and \"replay\" must be strings");
        return -1;
    }
    if (path && confine(s, "path", path->valuestring, real, r) != 0) return -1;
    if (content) safe_name(name ? name->valuestring : NULL, jb->name, sizeof jb->name);
    else {
        const char *base = strrchr(real, '/');
        safe_name(base ? base + 1 : real, jb->name, sizeof jb->name);
    }
    snprintf(dst, sizeof dst, "%s/%s", dir, jb->name);
    if (content ? write_content(dst, content->valuestring, r) : copy_in("path", real, dst, r)) return -1;
    if (replay) {
        if (confine(s, "replay", replay->valuestring, real, r) != 0) return -1;
        snprintf(dst, sizeof dst, "%s/replay.jsonl", dir);
        if (copy_in("replay", real, dst, r) != 0) return -1;
        char spec[PATH_MAX + 220];
        snprintf(spec, sizeof spec, "replay:%s", dst);
        cJSON_AddItemToArray(args, cJSON_CreateString("--llm"));
        cJSON_AddItemToArray(args, cJSON_CreateString(spec));
    }
    return 0;
}

static cJSON *job_json(serve_jobs *j, const job *jb, int details);

void serve_jobs_submit(serve_jobs *j, const char *body, size_t len, serve_reply *r)
{
    ag_serve *s = j->s;
    cJSON *in = serve_parse_object(body, len, r);
    if (!in) return;
    job *jb = calloc(1, sizeof *jb);
    char dir[PATH_MAX];
    int made = 0;
    ag_ds_format fmt;
    long limit, samples;
    if (!jb || !(jb->args = cJSON_CreateArray())) { serve_reply_error(r, 500, "out of memory"); goto fail; }
    if (job_options(in, jb->args, &fmt, &limit, &samples, r) != 0) goto fail;
    const cJSON *replay = cJSON_GetObjectItemCaseSensitive(in, "replay");
    if (!s->have_endpoint && !replay && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "offline"))) {
        serve_reply_error(r, 503, "no LLM endpoint configured: give \"replay\" or \"offline\", or start "
                                  "the server with --base-url and --model");
        goto fail;
    }
    pthread_mutex_lock(&j->mu);
    size_t waiting = 0;
    for (size_t i = 0; i < j->n; i++)
        waiting += !strcmp(j->list[i]->state, "queued") || !strcmp(j->list[i]->state, "running");
    int full = waiting >= (size_t)WAITING_PER_SLOT * (size_t)s->max_jobs || j->n >= MAX_KEPT_JOBS;
    pthread_mutex_unlock(&j->mu);
    if (full) { serve_reply_error(r, 429, "too many jobs waiting; try again later"); goto fail; }
    new_id(jb->id);
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", j->dir, jb->id) >= sizeof dir || mkdir(dir, 0700) != 0) {
        serve_reply_error(r, 500, "cannot create the job's directory: %s", strerror(errno));
        goto fail;
    }
    made = 1;
    if (store_inputs(s, in, dir, jb, jb->args, r) != 0) goto fail;
    char input[PATH_MAX + 200];
    snprintf(input, sizeof input, "%s/%s", dir, jb->name);
    if (check_input(s, input, fmt, limit, samples, &jb->problems, r) != 0) goto fail;
    copy_str(jb->state, sizeof jb->state, "queued");
    utc_now(jb->created, sizeof jb->created);
    pthread_mutex_lock(&j->mu);
    if (atomic_load(&s->stopping) || j->stop) {
        pthread_mutex_unlock(&j->mu);
        serve_reply_error(r, 503, "the server is shutting down");
        goto fail;
    }
    jb->seq = j->next_seq++;
    job_save(j, jb);
    j->list[j->n++] = jb;
    serve_metrics_job_submitted();
    cJSON *o = job_json(j, jb, 0);
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    cJSON_Delete(in);
    serve_reply_json(r, 202, o);
    return;
fail:
    if (made) remove_job_dir(dir);
    job_free(jb);
    cJSON_Delete(in);
}

/* ---- reading ---- */

static job *find_job(serve_jobs *j, const char *id)
{
    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->list[i]->id, id)) return j->list[i];
    return NULL;
}

/* The job as JSON (lock held); details: the run's progress from the
 * database. */
static cJSON *job_json(serve_jobs *j, const job *jb, int details)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", jb->id);
    cJSON_AddStringToObject(o, "state", jb->cancel && jb->pid ? "cancelling" : jb->state);
    cJSON_AddStringToObject(o, "name", jb->name);
    cJSON_AddStringToObject(o, "created_at", jb->created);
    cJSON_AddNumberToObject(o, "problems", (double)jb->problems);
    if (*jb->run) cJSON_AddStringToObject(o, "run", jb->run);
    else cJSON_AddNullToObject(o, "run");
    if (*jb->error) cJSON_AddStringToObject(o, "error", jb->error);
    if (!details) return o;
    int64_t run_id;
    db_run_info info;
    memset(&info, 0, sizeof info);
    if (*jb->run && db_run_find(j->s->db, jb->run, &run_id) == DB_OK && db_run_get(j->s->db, run_id, &info) == DB_OK) {
        cJSON_AddNumberToObject(o, "done", (double)info.done);
        cJSON_AddNumberToObject(o, "errors", (double)info.errors);
        cJSON_AddNumberToObject(o, "correct", (double)info.correct);
        if (info.done > 0) cJSON_AddNumberToObject(o, "accuracy", (double)info.correct / (double)info.done);
        else cJSON_AddNullToObject(o, "accuracy");
        cJSON_AddNumberToObject(o, "llm_calls", (double)info.llm_calls);
        cJSON_AddNumberToObject(o, "tokens", (double)((info.prompt_tokens > 0 ? info.prompt_tokens : 0) +
                                                      (info.completion_tokens > 0 ? info.completion_tokens : 0)));
        cJSON_AddStringToObject(o, "run_status", info.status ? info.status : "");
        db_run_info_clear(&info);
    } else {
        cJSON_AddNumberToObject(o, "done", 0);
        cJSON_AddNumberToObject(o, "errors", 0);
        cJSON_AddNumberToObject(o, "correct", 0);
        cJSON_AddNullToObject(o, "accuracy");
    }
    return o;
}

void serve_jobs_list(serve_jobs *j, serve_reply *r)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->n; i++) cJSON_AddItemToArray(a, job_json(j, j->list[i], 0));
    pthread_mutex_unlock(&j->mu);
    serve_reply_json(r, 200, a);
}

void serve_jobs_get(serve_jobs *j, const char *id, serve_reply *r)
{
    pthread_mutex_lock(&j->mu);
    job *jb = find_job(j, id);
    cJSON *o = jb ? job_json(j, jb, 1) : NULL;
    pthread_mutex_unlock(&j->mu);
    if (!jb) { serve_reply_error(r, 404, "no job %.64s", id); return; }
    serve_reply_json(r, 200, o);
}

void serve_jobs_cancel(serve_jobs *j, const char *id, serve_reply *r)
{
    pthread_mutex_lock(&j->mu);
    job *jb = find_job(j, id);
    int status = 202;
    char state[16] = "";
    if (jb) copy_str(state, sizeof state, jb->state);
    if (!jb) status = 404;
    else if (ended(jb)) status = 409;
    else if (jb->pid) {
        jb->cancel = 1;
        job_save(j, jb);             /* a restart before it stops does not resume it */
        kill(jb->pid, SIGTERM);      /* batch's clean stop; the manager records "cancelled" */
    } else {
        jb->cancel = 1;
        set_end(j, jb, "cancelled");
        status = 200;
    }
    cJSON *o = jb && status != 409 ? job_json(j, jb, 0) : NULL;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    if (status == 404) serve_reply_error(r, 404, "no job %.64s", id);
    else if (status == 409) serve_reply_error(r, 409, "the job has already ended (%s)", state);
    else serve_reply_json(r, status, o);
}

void serve_jobs_report(serve_jobs *j, const char *id, const char *format, const char *match, serve_reply *r)
{
    const char *fmt = format ? format : "md", *type;
    if (!strcmp(fmt, "md") || !strcmp(fmt, "markdown")) type = "text/markdown; charset=utf-8";
    else if (!strcmp(fmt, "json")) type = "application/json";
    else if (!strcmp(fmt, "html")) type = "text/html; charset=utf-8";
    else { serve_reply_error(r, 400, "format must be md, json or html"); return; }
    ag_match_rule rule = AG_MATCH_DEFAULT;
    if (match && ag_eval_rule_parse(match, &rule) != 0) {
        serve_reply_error(r, 400, "match must be default, alphaopt or orlm");
        return;
    }
    char run[DB_UUID_SIZE] = "";
    pthread_mutex_lock(&j->mu);
    job *jb = find_job(j, id);
    if (jb) {
        find_run_in_log(j, jb);
        copy_str(run, sizeof run, jb->run);
    }
    pthread_mutex_unlock(&j->mu);
    if (!jb) { serve_reply_error(r, 404, "no job %.64s", id); return; }
    if (!*run) { serve_reply_error(r, 409, "the job has no results yet"); return; }
    char *buf = NULL, err[1024] = "";
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) { serve_reply_error(r, 500, "out of memory"); return; }
    ag_code c = ag_eval_report(j->s->db, run, rule, fmt, mem, err, sizeof err);
    if (fclose(mem) != 0 && c == AG_OK) c = AG_ENOMEM;
    if (c != AG_OK) {
        free(buf);
        if (c == AG_ENOTFOUND) serve_reply_error(r, 409, "the job has no results yet");
        else serve_reply_error(r, 500, "cannot build the report: %s", err);
        return;
    }
    r->status = 200;
    r->body = buf;
    r->len = len;
    r->type = type;
}
