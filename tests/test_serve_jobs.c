/* optagent serve's jobs over real HTTP, against the fake LLM server: a job
 * runs to the end and its report is `optagent eval`'s for the same run, in
 * every format; the errors of /v1/jobs (404, 409, 400, 403 for paths
 * outside --data-dir and symlinks out of it, 429 when too many wait);
 * cancel (queued and running); a job that survives SIGTERM and then
 * kill -9 of the server, and kill -9 of its batch process, finishing with
 * every problem recorded once; a resume that waits while another process
 * holds the run's lock and writes into the job's log; and a job whose LLM
 * endpoint refuses connections, failed with batch's reason for good.
 * A wait that times out prints the job's job.json, its log and the
 * server's stderr, so that a failure on a CI machine says why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "tests/support_serve.h"

#define KEY "sk-jobs-test-KEY-77a1c3e9d2"

static char base_env[600], xdg_config[1100], xdg_data[1100];
static char data_dir[64];             /* the running server's --data-dir (under the temp dir) */

static pid_t live_server;             /* the last server started, stopped after a failed test */

static int setup(void **state)
{
    return ts_cli_setup(state);
}

/* A test that failed left its server running (and its batch): stop it, so
 * that it does not keep working on a deleted temp dir. */
static int stop_left_server(void **state)
{
    (void)state;
    if (live_server > 0 && waitpid(live_server, NULL, WNOHANG) == 0) {
        ts_srv left = { .pid = live_server };
        ts_srv_stop(&left, SIGTERM, 10000);
    }
    live_server = 0;
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Starts a server on data dir DIR (under the test's temp dir) against f. */
static void start(ts_srv *s, ts_fake *f, const char *dir, const char *max_jobs)
{
    snprintf(base_env, sizeof base_env, "OPTAGENT_BASE_URL=%s", ts_fake_base_url(f));
    snprintf(xdg_config, sizeof xdg_config, "XDG_CONFIG_HOME=%s", ts_cli_path(""));
    snprintf(xdg_data, sizeof xdg_data, "XDG_DATA_HOME=%s", ts_cli_path(""));
    const char *args[] = { "--data-dir", ts_cli_path(dir), "--no-library", "--max-jobs", max_jobs, NULL };
    const char *env[] = { base_env, "OPTAGENT_MODEL=fake", xdg_config, xdg_data, "-OPENAI_BASE_URL",
                          "-OPENAI_API_KEY", "OPTAGENT_API_KEY=" KEY, "-OPTAGENT_TIME_LIMIT", NULL };
    char err[64];
    snprintf(data_dir, sizeof data_dir, "%s", dir);
    snprintf(err, sizeof err, "%s.err", dir);
    assert_int_equal(ts_srv_start(s, ts_cli_bin(), args, env, ts_cli_path(err)), 0);
    live_server = s->pid;
}

static cJSON *get_json(const ts_srv *s, const char *method, const char *path, const char *body, int want)
{
    char *out = NULL;
    int st = ts_srv_http(s->port, method, path, NULL, body, body ? strlen(body) : 0, &out);
    if (st != want) print_error("# %s %s: %d %s\n", method, path, st, out ? out : "");
    assert_int_equal(st, want);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    return j;
}

/* {"content": the file, "name": name, plus extra fields (",..." or "")}. */
static char *submit_body(const char *file, const char *name, const char *extra)
{
    size_t len;
    char *text = ts_read_file(file, &len);
    assert_non_null(text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "content", text);
    cJSON_AddStringToObject(o, "name", name);
    free(text);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (*extra) {
        size_t n = strlen(s);
        s = realloc(s, n + strlen(extra) + 1);
        s[n - 1] = 0;                 /* drop "}" */
        strcat(s, extra);
        strcat(s, "}");
    }
    return s;
}

static char *submit(const ts_srv *s, const char *body)
{
    cJSON *j = get_json(s, "POST", "/v1/jobs", body, 202);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "queued");
    char *id = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    cJSON_Delete(j);
    return id;
}

/* Prints the file (relative to the temp dir) on stderr as "# " lines. */
static void print_file(const char *label, const char *rel)
{
    size_t len;
    char *text = ts_read_file(ts_cli_path(rel), &len);
    print_error("# ---- %s (%s)%s\n", label, rel, text ? "" : ": missing");
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        print_error("#   %s\n", line);
    }
    free(text);
}

/* Everything needed to tell why a job did not get where a test waited for
 * it: its job.json, its log (batch's stderr over every start) and the
 * server's stderr. */
static void print_job_files(const char *id)
{
    char rel[200];
    snprintf(rel, sizeof rel, "%s/jobs/%s/job.json", data_dir, id);
    print_file("job.json", rel);
    snprintf(rel, sizeof rel, "%s/jobs/%s/log", data_dir, id);
    print_file("the job's log", rel);
    snprintf(rel, sizeof rel, "%s.err", data_dir);
    print_file("the server's stderr", rel);
}

/* Polls the job until its state is want (or, with min_done > 0, until that
 * many problems are done); returns the last reply. */
static cJSON *wait_job(const ts_srv *s, const char *id, const char *want, int min_done)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    char *last = NULL;
    /* up to 2 minutes: a loaded CI machine can be slow to start batch */
    for (int i = 0; i < 2400; i++) {
        cJSON *j = get_json(s, "GET", path, NULL, 200);
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"));
        double done = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done"));
        if ((want && !strcmp(st, want)) || (min_done > 0 && done >= min_done)) {
            free(last);
            return j;
        }
        free(last);
        last = cJSON_PrintUnformatted(j);
        /* a job that ended otherwise never gets there: say so at once */
        int other_end = !strcmp(st, "failed") || !strcmp(st, "cancelled") || (min_done > 0 && !strcmp(st, "finished"));
        if (other_end && (!want || strcmp(st, want))) {
            print_error("# job %s: %s\n", id, last);
            free(last);
            print_job_files(id);
            fail();
        }
        cJSON_Delete(j);
        sleep_ms(50);
    }
    print_error("# job %s never reached %s; last seen: %s\n", id, want ? want : "its count", last);
    free(last);
    print_job_files(id);
    fail();
    return NULL;
}

/* The pid of the server's batch process (it may be between two starts:
 * waits up to 30 s), or 0 when the job ended meanwhile. */
static pid_t batch_child(const ts_srv *s, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    for (int i = 0; i < 600; i++) {
        cJSON *j = get_json(s, "GET", path, NULL, 200);
        int ended = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "finished");
        cJSON_Delete(j);
        if (ended) return 0;
        char *child = NULL;
        assert_int_equal(ts_cli_sh(&child, "cat /proc/%d/task/*/children 2>/dev/null", (int)s->pid), 0);
        pid_t pid = (pid_t)atoi(child);
        free(child);
        if (pid > 0) return pid;
        sleep_ms(50);
    }
    print_error("# the server started no batch process within 30 s\n");
    fail();
    return 0;
}

static void test_job_report_is_eval_report(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(4, 0, NULL);
    ts_srv s;
    start(&s, f, "data1", "2");
    char *body = submit_body(ts_cli_problems("bench.jsonl", 4), "bench.jsonl", "");
    char *id = submit(&s, body);
    free(body);
    cJSON *j = wait_job(&s, id, "finished", 0);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "problems")), 4);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done")), 4);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "correct")), 4);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "accuracy")) == 1.0);
    char run[64];
    snprintf(run, sizeof run, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "run")));
    cJSON_Delete(j);
    const char *formats[][2] = { { "md", "markdown" }, { "json", "json" }, { "html", "html" } };
    for (int i = 0; i < 3; i++) {
        char path[160], *out = NULL, *cli = NULL;
        snprintf(path, sizeof path, "/v1/jobs/%s/report?format=%s", id, formats[i][0]);
        assert_int_equal(ts_srv_http(s.port, "GET", path, NULL, NULL, 0, &out), 200);
        assert_int_equal(ts_cli_sh(&cli, "%s/optagent eval --db '%s' %s --format %s", ts_cli_bin(),
                                   ts_cli_path("data1/runs.db"), run, formats[i][1]), 0);
        assert_true(strlen(out) > 100);
        assert_string_equal(out, cli);
        free(out);
        free(cli);
    }
    /* the key reached the endpoint, and neither the job's files nor the
     * server's log */
    cJSON *reqs = ts_fake_requests(f, 1);
    char *seen = cJSON_PrintUnformatted(reqs);
    assert_non_null(strstr(seen, KEY));
    free(seen);
    cJSON_Delete(reqs);
    const char *files[] = { "log", "job.json" };
    for (int i = 0; i < 2; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "data1/jobs/%s/%s", id, files[i]);
        size_t len;
        char *text = ts_read_file(ts_cli_path(rel), &len);
        assert_non_null(text);
        assert_null(strstr(text, KEY));
        free(text);
    }
    char *err = ts_srv_stderr(&s);
    assert_null(strstr(err, KEY));
    free(err);
    /* its LLM calls reach /metrics once it has ended */
    long calls = 0;
    for (int i = 0; i < 100 && calls < 4; i++) {
        char *m = NULL;
        assert_int_equal(ts_srv_http(s.port, "GET", "/metrics", NULL, NULL, 0, &m), 200);
        const char *c = strstr(m, "\noptagent_llm_calls_total ");
        calls = c ? atol(c + strlen("\noptagent_llm_calls_total ")) : 0;
        free(m);
        if (calls < 4) sleep_ms(20);
    }
    assert_int_equal(calls, 4);
    /* errors of the job endpoints */
    char path[160];
    cJSON_Delete(get_json(&s, "GET", "/v1/jobs/0000000000000000", NULL, 404));
    cJSON_Delete(get_json(&s, "GET", "/v1/jobs/0000000000000000/report", NULL, 404));
    cJSON_Delete(get_json(&s, "DELETE", "/v1/jobs/0000000000000000", NULL, 404));
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    cJSON_Delete(get_json(&s, "DELETE", path, NULL, 409));
    snprintf(path, sizeof path, "/v1/jobs/%s/report?format=xml", id);
    cJSON_Delete(get_json(&s, "GET", path, NULL, 400));
    snprintf(path, sizeof path, "/v1/jobs/%s/report?match=nearly", id);
    cJSON_Delete(get_json(&s, "GET", path, NULL, 400));
    cJSON *list = get_json(&s, "GET", "/v1/jobs", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    /* paths: inside --data-dir only, after symlinks */
    const char *outside = ts_cli_problems("outside.jsonl", 2);
    char b[2048];
    snprintf(b, sizeof b, "{\"path\": \"%s\"}", outside);
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", b, 403));
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"path\": \"../outside.jsonl\"}", 403));
    assert_int_equal(symlink(outside, ts_cli_path("data1/link.jsonl")), 0);
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"path\": \"link.jsonl\"}", 403));
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"path\": \"missing.jsonl\"}", 400));
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"content\": \"{}\", \"path\": \"x\"}", 400));
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"content\": \"x\", \"limit\": -1}", 400));
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", "{\"content\": \"x\", \"shard\": \"1/2\"}", 400));
    cJSON *bad = get_json(&s, "POST", "/v1/jobs",
                          "{\"content\": \"{\\\"id\\\": \\\"a\\\", \\\"question\\\": \\\"q\\\", \\\"answer\\\": 1}\\n{oops\\n\"}", 400);
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(bad, "error"));
    assert_non_null(strstr(why, "problems.jsonl:2"));
    assert_null(strstr(why, ts_cli_path("")));      /* no server directories */
    cJSON_Delete(bad);
    /* a file inside the data dir is copied in and runs */
    ts_cli_problems("data1/inside.jsonl", 2);
    char *id2 = submit(&s, "{\"path\": \"inside.jsonl\", \"limit\": 1}");
    cJSON *j2 = wait_job(&s, id2, "finished", 0);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j2, "done")), 1);
    cJSON_Delete(j2);
    free(id2);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    ts_fake_stop(f);
    free(id);
}

static void test_cancel_and_too_many(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(3, 400, NULL);
    ts_srv s;
    start(&s, f, "data2", "1");
    char *body = submit_body(ts_cli_problems("slow.jsonl", 3), "slow.jsonl", ",\"jobs\": 1");
    char *ids[16];
    for (int i = 0; i < 16; i++) ids[i] = submit(&s, body);   /* 16 x --max-jobs 1 may wait */
    cJSON_Delete(get_json(&s, "POST", "/v1/jobs", body, 429));
    free(body);
    cJSON_Delete(wait_job(&s, ids[0], NULL, 1));     /* running, with a run in the database */
    char path[128];
    for (int i = 15; i >= 1; i--) {      /* queued: cancelled at once */
        snprintf(path, sizeof path, "/v1/jobs/%s", ids[i]);
        cJSON *j = get_json(&s, "DELETE", path, NULL, 200);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "cancelled");
        cJSON_Delete(j);
    }
    snprintf(path, sizeof path, "/v1/jobs/%s", ids[0]);   /* running: batch's clean stop */
    cJSON_Delete(get_json(&s, "DELETE", path, NULL, 202));
    cJSON *j = wait_job(&s, ids[0], "cancelled", 0);
    const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(j, "run"));
    assert_non_null(run);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT status = 'interrupted' FROM runs WHERE uuid = '%s'", run);
    assert_int_equal(ts_cli_query(ts_cli_path("data2/runs.db"), sql), 1);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done")) < 3);
    cJSON_Delete(j);
    cJSON_Delete(get_json(&s, "DELETE", path, NULL, 409));
    char *m = NULL;
    assert_int_equal(ts_srv_http(s.port, "GET", "/metrics", NULL, NULL, 0, &m), 200);
    assert_non_null(strstr(m, "optagent_jobs_ended_total{state=\"cancelled\"} 16"));
    free(m);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    for (int i = 0; i < 16; i++) free(ids[i]);
    ts_fake_stop(f);
}

static void test_job_survives_sigterm_and_kill9(void **state)
{
    (void)state;
    const int n = 8;
    ts_fake *f = ts_cli_fake(n, 250, NULL);
    ts_srv s;
    start(&s, f, "data3", "1");
    char *body = submit_body(ts_cli_problems("six.jsonl", n), "six.jsonl", ",\"jobs\": 1");
    char *id = submit(&s, body);
    free(body);
    cJSON_Delete(wait_job(&s, id, NULL, 1));
    /* SIGTERM: the server stops cleanly, the job is interrupted */
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 15000), 0);
    char jf[1200];
    snprintf(jf, sizeof jf, "data3/jobs/%s/job.json", id);
    size_t len;
    char *text = ts_read_file(ts_cli_path(jf), &len);
    assert_non_null(strstr(text, "\"state\":\"interrupted\""));
    free(text);
    /* restarted: it resumes; then kill -9 while it runs */
    start(&s, f, "data3", "1");
    cJSON *j = wait_job(&s, id, "running", 0);
    int done = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done"));
    cJSON_Delete(j);
    if (done < n - 2) cJSON_Delete(wait_job(&s, id, NULL, done + 1));   /* the resumed batch works */
    assert_int_equal(ts_srv_stop(&s, SIGKILL, 5000), 128 + SIGKILL);
    start(&s, f, "data3", "1");
    /* and the batch process itself killed with -9 while it works: resumed
     * at once */
    j = wait_job(&s, id, "running", 0);
    int before = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done"));
    cJSON_Delete(j);
    if (before < n - 1) cJSON_Delete(wait_job(&s, id, NULL, before + 1));
    pid_t child = batch_child(&s, id);
    if (child > 0) assert_int_equal(kill(child, SIGKILL), 0);
    j = wait_job(&s, id, "finished", 0);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done")), n);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "correct")), n);
    const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(j, "run"));
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM problems p JOIN runs r ON r.id = p.run_id WHERE r.uuid = '%s'", run);
    assert_int_equal(ts_cli_query(ts_cli_path("data3/runs.db"), sql), n);
    snprintf(sql, sizeof sql, "SELECT COUNT(DISTINCT problem_id) FROM problems p JOIN runs r ON r.id = p.run_id "
             "WHERE r.uuid = '%s'", run);
    assert_int_equal(ts_cli_query(ts_cli_path("data3/runs.db"), sql), n);
    assert_int_equal(ts_cli_query(ts_cli_path("data3/runs.db"), "SELECT COUNT(*) FROM runs"), 1);
    cJSON_Delete(j);
    /* every problem asked at least once, none more than once per interruption */
    cJSON *reqs = ts_fake_requests(f, n);
    int asked = cJSON_GetArraySize(reqs);
    assert_true(asked >= n && asked <= n + 3);
    cJSON_Delete(reqs);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    free(id);
    ts_fake_stop(f);
}

/* A resume refused because another process holds the run's lock, while
 * that process (a batch orphaned by a server killed with -9) keeps writing
 * its own stop messages into the job's log: the server waits for the lock
 * (the refusal is read from what its own batch wrote, not from the log's
 * last line) and the job then finishes. */
static void test_resume_waits_for_a_locked_run(void **state)
{
    (void)state;
    const int n = 4;
    ts_fake *f = ts_cli_fake(n, 250, NULL);
    ts_srv s;
    start(&s, f, "data4", "1");
    char *body = submit_body(ts_cli_problems("four.jsonl", n), "four.jsonl", ",\"jobs\": 1");
    char *id = submit(&s, body);
    free(body);
    cJSON *j = wait_job(&s, id, NULL, 1);
    char run[64], sql[200], rel[200];
    snprintf(run, sizeof run, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "run")));
    cJSON_Delete(j);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 15000), 0);
    snprintf(sql, sizeof sql, "SELECT id FROM runs WHERE uuid = '%s'", run);
    long long run_id = ts_cli_query(ts_cli_path("data4/runs.db"), sql);
    assert_true(run_id > 0);
    /* the lock batch takes: one byte at the run's id in DB.lock */
    int lock = open(ts_cli_path("data4/runs.db.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(lock >= 0);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)run_id, .l_len = 1 };
    assert_int_equal(fcntl(lock, F_SETLK, &fl), 0);
    snprintf(rel, sizeof rel, "data4/jobs/%s/log", id);
    char logpath[1200];
    snprintf(logpath, sizeof logpath, "%s", ts_cli_path(rel));
    start(&s, f, "data4", "1");
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    int refusals = 0;
    for (int i = 0; i < 2400 && refusals < 3; i++) {
        FILE *lf = fopen(logpath, "a");      /* the orphan's messages, as batch words them */
        assert_non_null(lf);
        fprintf(lf, "optagent: interrupted: 1 problems recorded; continue with:\n  optagent batch x --resume %s\n", run);
        fclose(lf);
        j = get_json(&s, "GET", path, NULL, 200);
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"));
        if (strcmp(st, "queued") && strcmp(st, "running")) {
            char *p = cJSON_PrintUnformatted(j);
            print_error("# job %s while its run was locked: %s\n", id, p);
            free(p);
            print_job_files(id);
            fail();
        }
        cJSON_Delete(j);
        size_t len;
        char *text = ts_read_file(logpath, &len);
        refusals = 0;
        for (const char *p = text; p && (p = strstr(p, "is being worked on by another optagent")); p++) refusals++;
        free(text);
        sleep_ms(20);
    }
    if (refusals < 3) print_job_files(id);
    assert_true(refusals >= 3);
    close(lock);                              /* the orphan ends */
    j = wait_job(&s, id, "finished", 0);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done")), n);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "run")), run);
    cJSON_Delete(j);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    free(id);
    ts_fake_stop(f);
}

/* A job whose LLM endpoint refuses connections: batch stops at once, and
 * the job ends "failed" with batch's reason (not the resume command it
 * suggests), not resumed again and again. */
static void test_refused_endpoint_fails_the_job(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(2, 0, NULL);
    ts_srv s;
    start(&s, f, "data5", "1");
    ts_fake_stop(f);                          /* its port now refuses connections */
    char *body = submit_body(ts_cli_problems("two.jsonl", 2), "two.jsonl", ",\"jobs\": 1");
    char *id = submit(&s, body);
    free(body);
    cJSON *j = wait_job(&s, id, "failed", 0);
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));
    assert_non_null(why);
    if (!strstr(why, "connection refused")) print_job_files(id);
    assert_non_null(strstr(why, "connection refused"));
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "done")), 0);
    cJSON_Delete(j);
    /* it stays failed, and a restart does not start it again */
    sleep_ms(1000);
    char rel[200];
    snprintf(rel, sizeof rel, "data5/jobs/%s/log", id);
    size_t len1, len2;
    char *log1 = ts_read_file(ts_cli_path(rel), &len1);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    ts_fake *f2 = ts_cli_fake(2, 0, NULL);
    start(&s, f2, "data5", "1");
    sleep_ms(1000);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    j = get_json(&s, "GET", path, NULL, 200);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "failed");
    cJSON_Delete(j);
    char *log2 = ts_read_file(ts_cli_path(rel), &len2);
    assert_int_equal(len1, len2);             /* no batch started since */
    free(log1);
    free(log2);
    assert_int_equal(ts_srv_stop(&s, SIGTERM, 10000), 0);
    free(id);
    ts_fake_stop(f2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_job_report_is_eval_report, stop_left_server),
        cmocka_unit_test_teardown(test_cancel_and_too_many, stop_left_server),
        cmocka_unit_test_teardown(test_job_survives_sigterm_and_kill9, stop_left_server),
        cmocka_unit_test_teardown(test_resume_waits_for_a_locked_run, stop_left_server),
        cmocka_unit_test_teardown(test_refused_endpoint_fails_the_job, stop_left_server),
    };
    return cmocka_run_group_tests(tests, setup, ts_cli_teardown);
}
