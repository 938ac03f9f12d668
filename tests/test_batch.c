/* optagent batch, eval and merge as a user runs them: replay, the response
 * cache (a second run makes no LLM call and reports the same), kill -9 then
 * --resume, Ctrl-C, shards joined by merge, and bad input refused before
 * anything is sent. Talks real HTTP to the fake server. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "tests/support.h"
#include "tests/support_fake.h"

static char *dir;
static char bin[512];

#define GOOD(obj) \
    "Formulation:\n```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":" obj "}]," \
    "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```"

static char *path_of(const char *name)
{
    static char p[16][1024];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* n problems "q1".."qn" whose gold is i (the fake answers x <= i). */
static const char *write_problems(const char *name, int n)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 1; i <= n; i++)
        fprintf(f, "{\"id\": \"q%d\", \"question\": \"Problem number %d: maximize x up to %d.\", \"answer\": %d}\n",
                i, i, i, i);
    fclose(f);
    return p;
}

/* A script answering "Problem number i" with the formulation x <= i. */
static ts_fake *start_fake(int n, int delay_ms)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    for (int i = 1; i <= n; i++) {
        char needle[64], content[512], bound[16];
        snprintf(needle, sizeof needle, "Problem number %d:", i);
        snprintf(bound, sizeof bound, "%d", i);
        snprintf(content, sizeof content, "Formulation:\n```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":%s}],"
                 "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```", bound);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "content_contains", needle);
        cJSON *rep = cJSON_AddObjectToObject(r, "reply");
        cJSON_AddStringToObject(rep, "content", content);
        cJSON_AddNumberToObject(rep, "delay_ms", delay_ms);
        cJSON_AddItemToArray(rules, r);
    }
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

static char *env_for(ts_fake *f)
{
    static char e[1024];
    snprintf(e, sizeof e, "env -u OPENAI_BASE_URL -u OPENAI_API_KEY XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s "
             "OPTAGENT_BASE_URL=%s OPTAGENT_MODEL=fake", dir, dir, f ? ts_fake_base_url(f) : "");
    return e;
}

/* Runs a shell command line; returns the exit status, stdout in *out. */
static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    size_t len;
    int st;
    char *o = ts_run_capture(cmd, &len, &st);
    assert_non_null(o);
    if (out) *out = o; else free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static long long query(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* While a batch is starting, the file may exist before its tables: 0 then. */
static long long count_if_ready(const char *db)
{
    sqlite3 *h;
    long long v = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(h); return 0; }
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "select count(*) from problems", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

static char *integrity(const char *db)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    char *r = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) r = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return r;
}

static int fake_requests(ts_fake *f)
{
    cJSON *r = ts_fake_requests(f, 0);
    int n = cJSON_GetArraySize(r);
    cJSON_Delete(r);
    return n;
}

static void test_replay_batch_and_report(void **state)
{
    (void)state;
    const char *probs = write_problems("p.jsonl", 3);
    const char *rep = path_of("r.jsonl");
    FILE *f = fopen(rep, "w");
    /* q1 right; q2 answers 5 (gold 2): wrong; q3 nothing recorded: llm error */
    fprintf(f, "{\"id\":\"q1\",\"task\":\"formulate\",\"content\":%s}\n", "\"```json\\n{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":1}],\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"},\\\"constraints\\\":[]}\\n```\"");
    fprintf(f, "{\"id\":\"q2\",\"task\":\"formulate\",\"content\":%s}\n", "\"```json\\n{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":5}],\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"},\\\"constraints\\\":[]}\\n```\"");
    fclose(f);
    const char *db = path_of("replay.db"), *out = path_of("replay.out");
    char *o;
    int code = sh(&o, "%s %s/optagent batch %s --llm replay:%s --db %s --out %s -j 2 --no-progress 2>/dev/null",
                  env_for(NULL), bin, probs, rep, db, out);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "3 problems, 3 with a gold answer, 1 correct"));
    free(o);
    assert_int_equal(query(db, "select count(*) from problems"), 3);
    assert_int_equal(query(db, "select count(*) from problems where correct = 1"), 1);
    assert_int_equal(query(db, "select count(*) from problems where outcome = 'llm_error'"), 1);
    /* the record says how sure each answer is: two LP optima, proven */
    assert_int_equal(query(db, "select count(*) from problems where outcome = 'ok'"
                               " and json_extract(result_json, '$.proven') = 1"), 2);
    /* a second run where q2 is fixed and q1 broken: --compare tells */
    const char *rep2 = path_of("r2.jsonl");
    FILE *f2 = fopen(rep2, "w");
    fprintf(f2, "{\"id\":\"q1\",\"task\":\"formulate\",\"content\":%s}\n", "\"```json\\n{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":7}],\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"},\\\"constraints\\\":[]}\\n```\"");
    fprintf(f2, "{\"id\":\"q2\",\"task\":\"formulate\",\"content\":%s}\n", "\"```json\\n{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":2}],\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"},\\\"constraints\\\":[]}\\n```\"");
    fclose(f2);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --llm replay:%s --db %s --no-progress 2>/dev/null",
                        env_for(NULL), bin, probs, rep2, db), 0);
    char *cmp;
    assert_int_equal(sh(&cmp, "%s/optagent eval --db %s --compare 1 2", bin, db), 0);
    assert_non_null(strstr(cmp, "| fixed | 1 |"));
    assert_non_null(strstr(cmp, "| broken | 1 |"));
    free(cmp);
    size_t len;
    char *lines = ts_read_file(out, &len);
    assert_non_null(lines);
    int n = 0;
    for (char *p = lines; (p = strchr(p, '\n')); p++) n++;
    assert_int_equal(n, 3);
    assert_non_null(strstr(lines, "\"proven\":true"));
    free(lines);

    code = sh(&o, "%s/optagent eval --db %s 1 --format json", bin, db);
    assert_int_equal(code, 0);
    cJSON *j = cJSON_Parse(o);
    assert_non_null(j);
    cJSON *overall = cJSON_GetObjectItem(j, "overall");
    assert_int_equal(cJSON_GetObjectItem(overall, "correct")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(overall, "with_gold")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(overall, "proven")->valueint, 2);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "rule")), "default");
    cJSON_Delete(j);
    free(o);
    code = sh(&o, "%s/optagent eval --db %s --format html", bin, db);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "<svg"));
    assert_null(strstr(o, "<script"));
    free(o);
}

static void test_cache_second_run_makes_no_call(void **state)
{
    (void)state;
    const char *probs = write_problems("c.jsonl", 12);
    ts_fake *f = start_fake(12, 30);
    const char *db = path_of("cache.db");
    char *o1, *o2, *r1, *r2;
    assert_int_equal(sh(&o1, "%s %s/optagent batch %s --db %s -j 4 --no-progress 2>/dev/null", env_for(f), bin, probs, db), 0);
    int first = fake_requests(f);
    assert_int_equal(first, 12);
    assert_int_equal(sh(&o2, "%s %s/optagent batch %s --db %s -j 4 --no-progress 2>/dev/null", env_for(f), bin, probs, db), 0);
    assert_int_equal(fake_requests(f), first);           /* nothing sent */
    assert_int_equal(query(db, "select count(*) from llm_calls where cached = 1"), 12);
    /* the two runs report the same */
    assert_int_equal(sh(&r1, "%s/optagent eval --db %s 1 --format json", bin, db), 0);
    assert_int_equal(sh(&r2, "%s/optagent eval --db %s 2 --format json", bin, db), 0);
    cJSON *a = cJSON_Parse(r1), *b = cJSON_Parse(r2);
    cJSON *oa = cJSON_GetObjectItem(a, "overall"), *ob = cJSON_GetObjectItem(b, "overall");
    assert_int_equal(cJSON_GetObjectItem(oa, "correct")->valueint, 12);
    assert_int_equal(cJSON_GetObjectItem(ob, "correct")->valueint, 12);
    /* the whole report, latencies included, is the same */
    char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
    assert_string_equal(sa, sb);
    free(sa); free(sb);
    cJSON_Delete(a); cJSON_Delete(b);
    /* --offline answers from the cache; --no-cache sends again */
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --offline --no-progress 2>/dev/null", env_for(NULL), bin, probs, db), 0);
    assert_int_equal(fake_requests(f), first);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --no-cache -j 4 --no-progress 2>/dev/null", env_for(f), bin, probs, db), 0);
    assert_int_equal(fake_requests(f), 2 * first);
    free(o1); free(o2); free(r1); free(r2);
    ts_fake_stop(f);
}

static void test_offline_miss_is_an_error(void **state)
{
    (void)state;
    const char *probs = write_problems("off.jsonl", 2);
    const char *db = path_of("off.db");
    char *o;
    sh(&o, "%s %s/optagent batch %s --db %s --offline --no-progress 2>/dev/null", env_for(NULL), bin, probs, db);
    free(o);
    assert_int_equal(query(db, "select count(*) from problems where outcome = 'llm_error'"), 2);
    assert_int_equal(query(db, "select count(*) from llm_calls where error like '%not in the cache%'"), 2);
}

/* kill -9 in the middle, then --resume: what was finished is kept once, the
 * rest is done, and the database is intact. */
static void test_kill_then_resume(void **state)
{
    (void)state;
    int n = 40;
    const char *probs = write_problems("k.jsonl", n);
    ts_fake *f = start_fake(n, 150);
    const char *db = path_of("kill.db");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s/optagent batch %s --db %s -j 4 --no-progress 2>/dev/null >/dev/null",
             env_for(f), bin, probs, db);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait until some, not all, problems are recorded */
    long long done = 0;
    for (int t = 0; t < 200 && done < 8; t++) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        if (access(db, F_OK) == 0) done = count_if_ready(db);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    long long before = query(db, "select count(*) from problems");
    assert_true(before >= 8);
    assert_true(before < n);
    char *ic = integrity(db);
    assert_string_equal(ic, "ok");
    free(ic);
    int sent = fake_requests(f);
    char *o;
    assert_int_equal(sh(&o, "%s %s/optagent batch %s --db %s -j 4 --resume 1 --no-progress 2>/dev/null", env_for(f), bin, probs, db), 0);
    free(o);
    assert_int_equal(query(db, "select count(*) from problems"), n);
    assert_int_equal(query(db, "select count(distinct problem_id) from problems"), n);
    assert_int_equal(query(db, "select count(*) from runs"), 1);
    assert_int_equal(query(db, "select count(*) from problems p where (select count(*) from attempts a where a.run_id = p.run_id and a.problem_id = p.problem_id) = 0"), 0);
    ic = integrity(db);
    assert_string_equal(ic, "ok");
    free(ic);
    /* finished problems were not asked again (in-flight ones may be) */
    assert_true(fake_requests(f) - sent <= n - before + 4);
    ts_fake_stop(f);
}

/* --resume rewrites its --out file by renaming a new one over it: never
 * over something that is not a regular file (a symlink to /dev/null stands
 * for the device: renaming over the link would show the same mistake
 * without harming the machine if it came back). */
static void test_resume_out_device_untouched(void **state)
{
    (void)state;
    int n = 3;
    const char *probs = write_problems("dev.jsonl", n);
    ts_fake *f = start_fake(n, 0);
    const char *db = path_of("dev.db");
    const char *link = path_of("out-link");
    assert_int_equal(symlink("/dev/null", link), 0);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --out %s --limit 1 --no-progress 2>/dev/null >/dev/null",
                        env_for(f), bin, probs, db, link), 0);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --out %s --resume 1 --no-progress 2>/dev/null >/dev/null",
                        env_for(f), bin, probs, db, link), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(query(db, "select count(*) from problems"), n);
    ts_fake_stop(f);
}

static void test_sigint_stops_cleanly(void **state)
{
    (void)state;
    int n = 30;
    const char *probs = write_problems("i.jsonl", n);
    ts_fake *f = start_fake(n, 300);
    const char *db = path_of("int.db");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s/optagent batch %s --db %s -j 2 --no-progress 2>/dev/null >/dev/null",
             env_for(f), bin, probs, db);
    pid_t pid = fork();
    if (pid == 0) { execl("/bin/sh", "sh", "-c", cmd, (char *)NULL); _exit(127); }
    long long done = 0;
    for (int t = 0; t < 200 && done < 3; t++) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        if (access(db, F_OK) == 0) done = count_if_ready(db);
    }
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);   /* 128 + SIGINT, as a shell reports it */
    long long kept = query(db, "select count(*) from problems");
    assert_true(kept >= 3 && kept < n);
    assert_int_equal(query(db, "select count(*) from runs where status = 'interrupted'"), 1);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s -j 4 --resume 1 --no-progress 2>/dev/null", env_for(f), bin, probs, db), 0);
    assert_int_equal(query(db, "select count(*) from problems"), n);
    assert_int_equal(query(db, "select count(*) from runs where status = 'finished'"), 1);
    ts_fake_stop(f);
}

static void test_shards_merge_to_the_whole(void **state)
{
    (void)state;
    int n = 20;
    const char *probs = write_problems("s.jsonl", n);
    ts_fake *f = start_fake(n, 0);
    const char *d1 = path_of("s1.db"), *d2 = path_of("s2.db"), *all = path_of("all.db");
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --shard 1/2 --no-progress 2>/dev/null", env_for(f), bin, probs, d1), 0);
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --shard 2/2 --no-progress 2>/dev/null", env_for(f), bin, probs, d2), 0);
    long long a = query(d1, "select count(*) from problems"), b = query(d2, "select count(*) from problems");
    assert_true(a > 0 && b > 0);
    assert_int_equal(a + b, n);
    assert_int_equal(sh(NULL, "%s/optagent merge %s %s %s 2>/dev/null", bin, all, d1, d2), 0);
    assert_int_equal(query(all, "select count(*) from problems"), n);
    assert_int_equal(query(all, "select count(distinct problem_id) from problems"), n);
    /* the shards were one evaluation: one run, reported whole */
    assert_int_equal(query(all, "select count(*) from runs"), 1);
    char *o;
    assert_int_equal(sh(&o, "%s/optagent eval --db %s --format json", bin, all), 0);
    cJSON *j = cJSON_Parse(o);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "overall"), "problems")->valueint, n);
    cJSON_Delete(j);
    free(o);
    /* the same shard twice gives the same problems */
    const char *d3 = path_of("s3.db");
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --shard 1/2 --no-progress 2>/dev/null", env_for(f), bin, probs, d3), 0);
    assert_int_equal(query(d3, "select count(*) from problems"), a);
    ts_fake_stop(f);
}

static void test_bad_input_sends_nothing(void **state)
{
    (void)state;
    ts_fake *f = start_fake(1, 0);
    const char *good = write_problems("g.jsonl", 2);
    const char *bad = path_of("bad.jsonl");
    const char *broken = "{\"id\":\"a\",\"question\":\"x\",\"answer\":1}\n{\"id\":\"b\",\"question\":\n";
    ts_write_file(bad, broken, strlen(broken));
    char *o;
    const char *errp = path_of("bad.err");
    int code = sh(&o, "%s %s/optagent batch %s %s --db %s --no-progress 2>%s", env_for(f), bin, good, bad,
                  path_of("bad.db"), errp);
    free(o);
    assert_int_equal(code, 1);
    size_t len;
    char *err = ts_read_file(errp, &len);
    assert_non_null(strstr(err, "bad.jsonl:2"));
    free(err);
    assert_int_equal(fake_requests(f), 0);
    assert_int_equal(sh(NULL, "%s/optagent batch --shard 3/2 %s 2>/dev/null", bin, good), 2);
    assert_int_equal(sh(NULL, "%s/optagent batch -j 0 %s 2>/dev/null", bin, good), 2);
    ts_fake_stop(f);
}

/* --samples K: every problem answered K times, pass@k in the report. */
static void test_samples_pass_at_k(void **state)
{
    (void)state;
    const char *probs = write_problems("pk.jsonl", 2);
    /* problem 1: right, wrong, right; problem 2: always wrong (x <= 9) */
    const char *right = GOOD("1"), *wrong = GOOD("9");
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    cJSON *r1 = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r1, "match"), "content_contains", "Problem number 1:");
    cJSON *seq = cJSON_AddArrayToObject(r1, "sequence");
    cJSON_AddItemToArray(seq, cJSON_CreateString(right));
    cJSON_AddItemToArray(seq, cJSON_CreateString(wrong));
    cJSON_AddItemToArray(seq, cJSON_CreateString(right));
    cJSON_AddItemToArray(rules, r1);
    cJSON_AddItemToObject(script, "default", cJSON_CreateString(wrong));
    char *text = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(text);
    free(text);
    cJSON_Delete(script);
    assert_non_null(f);
    const char *db = path_of("pk.db");
    assert_int_equal(sh(NULL, "%s %s/optagent batch %s --db %s --samples 3 -j 1 --max-corrections 0 --no-progress 2>/dev/null",
                        env_for(f), bin, probs, db), 0);
    assert_int_equal(query(db, "select count(*) from problems"), 6);
    assert_int_equal(query(db, "select count(*) from problems where problem_id = 'q1#3'"), 1);
    assert_int_equal(fake_requests(f), 6);      /* samples are not served from one cache entry */
    char *o;
    assert_int_equal(sh(&o, "%s/optagent eval --db %s --format json", bin, db), 0);
    cJSON *j = cJSON_Parse(o);
    cJSON *pk = cJSON_GetObjectItem(j, "pass_at_k");
    assert_non_null(pk);
    assert_int_equal(cJSON_GetObjectItem(pk, "samples")->valueint, 3);
    assert_true(ts_close(cJSON_GetObjectItem(pk, "1")->valuedouble, 1.0 / 3));
    assert_true(ts_close(cJSON_GetObjectItem(pk, "2")->valuedouble, 0.5));
    assert_true(ts_close(cJSON_GetObjectItem(pk, "3")->valuedouble, 0.5));
    cJSON_Delete(j);
    free(o);
    assert_int_equal(sh(&o, "%s/optagent eval --db %s", bin, db), 0);
    assert_non_null(strstr(o, "## pass@k (3 samples per problem, 2 problems with a gold)"));
    assert_non_null(strstr(o, "| pass@k | 33.3% | 50.0% | 50.0% |"));
    free(o);
    assert_int_equal(sh(&o, "%s/optagent eval --db %s --format html", bin, db), 0);
    assert_non_null(strstr(o, "<h2>pass@k (3 samples per problem)</h2>"));
    assert_non_null(strstr(o, "</html>"));
    free(o);
    ts_fake_stop(f);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build");
    dir = ts_mkdtemp();
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_batch_and_report),
        cmocka_unit_test(test_cache_second_run_makes_no_call),
        cmocka_unit_test(test_offline_miss_is_an_error),
        cmocka_unit_test(test_kill_then_resume),
        cmocka_unit_test(test_resume_out_device_untouched),
        cmocka_unit_test(test_sigint_stops_cleanly),
        cmocka_unit_test(test_shards_merge_to_the_whole),
        cmocka_unit_test(test_bad_input_sends_nothing),
        cmocka_unit_test(test_samples_pass_at_k),
    };
    return cmocka_run_group_tests_name("batch", tests, setup, teardown);
}
