/* Ctrl-C and the default solver time limit, as a user meets them: the fake
 * LLM server answers with a hard MILP (a market-split instance GLPK does not
 * finish in minutes), and
 *  - SIGINT to `optagent ask` while GLPK runs ends it at once, "interrupted";
 *  - `ask --time-limit 1` ends with the time_limit outcome in about a second;
 *  - SIGINT to `optagent batch` stops the in-flight solve, marks the run
 *    interrupted and records nothing for that problem, which --resume redoes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "tests/support.h"
#include "tests/support_fake.h"

static char *dir;
static char bin[512];

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The market split of tests/test_solver.c (40 binaries, 4 equality rows
 * with right-hand sides half the row sums) as a fenced formulation reply. */
static char *hard_milp_reply(void)
{
    enum { N = 40, M = 4 };
    unsigned long long s = 12345;
    ts_str b = {0};
    ts_str_printf(&b, "Here it is.\n```json\n{\"format\": 1, \"name\": \"split\","
                      " \"sets\": [{\"name\": \"J\", \"elements\": [");
    for (int j = 0; j < N; j++)
        ts_str_printf(&b, "%s\"j%d\"", j ? ", " : "", j);
    ts_str_printf(&b, "]}], \"variables\": [{\"name\": \"x\", \"index\": [\"J\"],"
                      " \"type\": \"binary\"}], \"objective\": {\"sense\": \"maximize\","
                      " \"expression\": \"");
    for (int j = 0; j < N; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        ts_str_printf(&b, "%s%llu*x['j%d']", j ? " + " : "", (s >> 33) % 100, j);
    }
    ts_str_printf(&b, "\"}, \"constraints\": [");
    for (int i = 0; i < M; i++) {
        unsigned long long a[N], sum = 0;
        for (int j = 0; j < N; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            a[j] = (s >> 33) % 100;
            sum += a[j];
        }
        ts_str_printf(&b, "%s{\"name\": \"split%d\", \"expression\": \"", i ? ", " : "", i);
        for (int j = 0; j < N; j++)
            ts_str_printf(&b, "%s%llu*x['j%d']", j ? " + " : "", a[j], j);
        ts_str_printf(&b, " = %llu\"}", sum / 2);
    }
    ts_str_printf(&b, "]}\n```\n");
    return b.s;
}

/* A fake server answering every request with the hard MILP. */
static ts_fake *start_fake(void)
{
    char *reply = hard_milp_reply();
    cJSON *script = cJSON_CreateObject();
    cJSON_AddArrayToObject(script, "rules");
    cJSON *d = cJSON_AddObjectToObject(script, "default");
    cJSON_AddStringToObject(d, "content", reply);
    char *text = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(text);
    free(text);
    free(reply);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

/* Starts `optagent ARGS` (stdout and stderr into dir/NAME.out, .err) with
 * the fake server as its endpoint; returns its pid. */
static pid_t spawn(ts_fake *f, const char *name, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec env -u OPENAI_BASE_URL -u OPENAI_API_KEY -u OPTAGENT_TIME_LIMIT"
             " XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s OPTAGENT_BASE_URL=%s OPTAGENT_MODEL=fake"
             " %s/optagent %s >%s/%s.out 2>%s/%s.err",
             dir, dir, ts_fake_base_url(f), bin, args, dir, name, dir, name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to timeout_ms for pid; returns its exit code (128+signal when
 * killed), or kills it and fails the test when it does not end. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int st;
    for (int t = 0; t < timeout_ms; t += 20) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("optagent did not exit within %d ms", timeout_ms);
    return -1;
}

static char *output(const char *name, const char *suffix)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s%s", dir, name, suffix);
    size_t len;
    char *s = ts_read_file(p, &len);
    assert_non_null(s);
    return s;
}

/* Waits until the server has answered n requests, then lets GLPK start. */
static void wait_for_solve(ts_fake *f, int n)
{
    cJSON *reqs = ts_fake_requests(f, n);
    assert_non_null(reqs);
    assert_true(cJSON_GetArraySize(reqs) >= n);
    cJSON_Delete(reqs);
    sleep_ms(700);
}

static void test_ask_sigint_stops_glpk(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    pid_t pid = spawn(f, "ask", "ask 'split the market' --max-corrections 0");
    wait_for_solve(f, 1);
    double t0 = now_ms();
    assert_int_equal(kill(pid, SIGINT), 0);
    int code = wait_exit(pid, 15000);
    double ms = now_ms() - t0;
    char *out = output("ask", ".out"), *err = output("ask", ".err");
    if (code != 130)
        fail_msg("exit %d; stdout:\n%s\nstderr:\n%s", code, out, err);
    assert_non_null(strstr(out, "outcome: interrupted"));
    assert_non_null(strstr(out, "status: interrupted"));
    assert_null(strstr(out, "answer:"));
    assert_non_null(strstr(err, "interrupted"));
    /* The solver's limit is the default 60 s; Ctrl-C must not wait for it. */
    if (ms > 5000)
        fail_msg("ask took %.0f ms to stop after SIGINT", ms);
    free(out);
    free(err);
    ts_fake_stop(f);
}

static void test_ask_time_limit(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    double t0 = now_ms();
    pid_t pid = spawn(f, "tl", "ask 'split the market' --max-corrections 1 --time-limit 1");
    int code = wait_exit(pid, 30000);
    double ms = now_ms() - t0;
    char *out = output("tl", ".out"), *err = output("tl", ".err");
    if (code != 1)
        fail_msg("exit %d; stdout:\n%s\nstderr:\n%s", code, out, err);
    /* Both rounds hit the 1 s limit: a correction was asked for, and the
     * final outcome says why there is no trusted answer. */
    assert_non_null(strstr(out, "outcome: time_limit after 2 attempts"));
    assert_true(strstr(out, "status: time_limit") || strstr(out, "status: feasible"));
    cJSON *reqs = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(reqs), 2);
    cJSON_Delete(reqs);
    if (ms > 15000)
        fail_msg("two 1 s solves took %.0f ms", ms);
    free(out);
    free(err);

    /* OPTAGENT_TIME_LIMIT must be a number. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OPTAGENT_TIME_LIMIT=soon %s/optagent ask 'x' 2>&1", bin);
    int st;
    size_t len;
    char *o = ts_run_capture(cmd, &len, &st);
    assert_non_null(o);
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(o, "OPTAGENT_TIME_LIMIT"));
    free(o);
    ts_fake_stop(f);
}

static long long query(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void test_batch_sigint_then_resume(void **state)
{
    (void)state;
    ts_fake *f = start_fake();
    char probs[1024], db[1024], args[4096];
    snprintf(probs, sizeof probs, "%s/hard.jsonl", dir);
    const char *line = "{\"id\": \"h1\", \"question\": \"Split the market.\", \"answer\": 1}\n";
    assert_int_equal(ts_write_file(probs, line, strlen(line)), 0);
    snprintf(db, sizeof db, "%s/runs.db", dir);
    /* The limit (3 s) bounds the resumed run; the first is stopped before. */
    snprintf(args, sizeof args, "batch %s --db %s -j 1 --no-progress --no-cache"
             " --max-corrections 0 --time-limit 3", probs, db);
    pid_t pid = spawn(f, "batch", args);
    wait_for_solve(f, 1);
    double t0 = now_ms();
    assert_int_equal(kill(pid, SIGINT), 0);
    int code = wait_exit(pid, 15000);
    double ms = now_ms() - t0;
    char *err = output("batch", ".err");
    if (code != 130 || ms > 2500)
        fail_msg("exit %d after %.0f ms; stderr:\n%s", code, ms, err);
    assert_non_null(strstr(err, "interrupted"));
    /* the full command that resumes, on the line after "continue with:" */
    const char *cont = strstr(err, "continue with:\n  ");
    assert_non_null(cont);
    cont += strlen("continue with:\n  ");
    char resume_cmd[4096];
    snprintf(resume_cmd, sizeof resume_cmd, "%.*s", (int)strcspn(cont, "\n"), cont);
    free(err);
    assert_non_null(strstr(resume_cmd, "/optagent batch "));
    assert_non_null(strstr(resume_cmd, " --resume "));
    assert_int_equal(query(db, "select count(*) from runs where status = 'interrupted'"), 1);
    assert_int_equal(query(db, "select count(*) from problems"), 0);

    /* that command, as printed, redoes the interrupted problem (to its 3 s
     * limit) */
    const char *prog = strstr(resume_cmd, " batch ");
    assert_non_null(prog);
    snprintf(args, sizeof args, "%s", prog + 1);
    pid = spawn(f, "resume", args);
    code = wait_exit(pid, 30000);
    err = output("resume", ".err");
    if (code != 0)
        fail_msg("resume exit %d; stderr:\n%s", code, err);
    free(err);
    assert_int_equal(query(db, "select count(*) from problems"), 1);
    assert_int_equal(query(db, "select count(*) from problems where outcome = 'time_limit'"), 1);
    assert_int_equal(query(db, "select count(*) from runs where status = 'finished'"), 1);
    ts_fake_stop(f);
}

int main(void)
{
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build");
    dir = ts_mkdtemp();
    if (!dir)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_sigint_stops_glpk),
        cmocka_unit_test(test_ask_time_limit),
        cmocka_unit_test(test_batch_sigint_then_resume),
    };
    int rc = cmocka_run_group_tests_name("interrupt", tests, NULL, NULL);
    ts_rmtree(dir);
    free(dir);
    return rc;
}
