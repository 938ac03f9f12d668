/* --resume guards (issue 7, item 10): a run is worked on by one process at a
 * time (a second --resume refuses; a kill -9'd holder does not block), and a
 * resume with other input files or other answer-changing options refuses
 * and says what differs. Real processes against the fake server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "tests/support.h"
#include "tests/support_cli.h"

static pid_t spawn(const char *cmd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits until db holds at least k problems (or ~10 s). */
static long long wait_problems(const char *db, long long k)
{
    long long v = 0;
    for (int t = 0; t < 200 && v < k; t++) {
        sleep_ms(50);
        sqlite3 *h;
        if (access(db, F_OK) || sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) continue;
        sqlite3_busy_timeout(h, 2000);
        sqlite3_stmt *st;    /* the tables may not exist yet */
        if (sqlite3_prepare_v2(h, "select count(*) from problems", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        sqlite3_close(h);
    }
    return v;
}

static void test_second_resume_refuses_until_holder_dies(void **state)
{
    (void)state;
    int n = 30;
    const char *probs = ts_cli_problems("lock.jsonl", n);
    ts_fake *f = ts_cli_fake(n, 200, NULL);
    const char *db = ts_cli_path("lock.db");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s/optagent batch %s --db %s -j 1 --no-progress >/dev/null 2>&1",
             ts_cli_env(f), ts_cli_bin(), probs, db);
    pid_t first = spawn(cmd);
    assert_true(wait_problems(db, 2) >= 2);
    /* the first process holds the run: a resume now refuses */
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --no-progress 2>&1",
                         ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "being worked on by another optagent"));
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "process %ld", (long)first);
    assert_non_null(strstr(o, pidtext));
    free(o);
    kill(first, SIGKILL);
    int st;
    waitpid(first, &st, 0);
    long long before = ts_cli_query(db, "select count(*) from problems");
    assert_true(before < n);

    /* a slow resume holds it too; kill -9 of it frees the run at once */
    snprintf(cmd, sizeof cmd, "exec %s %s/optagent batch %s --db %s -j 1 --resume 1 --no-progress >/dev/null 2>&1",
             ts_cli_env(f), ts_cli_bin(), probs, db);
    pid_t second = spawn(cmd);
    assert_true(wait_problems(db, before + 1) > before);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "being worked on"));
    free(o);
    kill(second, SIGKILL);
    waitpid(second, &st, 0);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s -j 8 --resume 1 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db);
    if (code) fprintf(stderr, "# %s\n", o);
    assert_int_equal(code, 0);
    free(o);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), n);
    assert_int_equal(ts_cli_query(db, "select count(*) from runs where status = 'finished'"), 1);
    ts_fake_stop(f);
}

static void test_resume_refuses_other_files_and_options(void **state)
{
    (void)state;
    int n = 4;
    const char *probs = ts_cli_problems("mix.jsonl", n);
    ts_fake *f = ts_cli_fake(8, 0, NULL);
    const char *db = ts_cli_path("mix.db");
    /* an interrupted-like run: only 2 of 4 done (--limit is not part of the run) */
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --limit 2 --no-progress 2>/dev/null >/dev/null",
                               ts_cli_env(f), ts_cli_bin(), probs, db), 0);
    char *o;
    /* another file */
    const char *other = ts_cli_problems("other.jsonl", 8);
    int code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --no-progress 2>&1",
                         ts_cli_env(f), ts_cli_bin(), other, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "does not match the run"));
    assert_non_null(strstr(o, "files: the run has [\"mix.jsonl\"], this invocation [\"other.jsonl\"]"));
    free(o);
    /* the same name with other problems in it */
    ts_cli_problems("mix.jsonl", n + 3);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "files_sha256"));
    assert_null(strstr(o, "files: "));
    free(o);
    ts_cli_problems("mix.jsonl", n);          /* the original content back */
    /* other options that change answers */
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --model other --max-corrections 1 "
                     "--no-progress 2>&1", ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "model: the run has \"fake\", this invocation \"other\""));
    assert_non_null(strstr(o, "max_corrections"));
    free(o);
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 --shard 1/2 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "shard: the run has none"));
    free(o);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), 2);   /* nothing mixed in */
    /* the same files and options: resumes */
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --resume 1 -j 3 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db);
    if (code) fprintf(stderr, "# %s\n", o);
    assert_int_equal(code, 0);
    free(o);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), n);
    ts_fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_resume_refuses_until_holder_dies),
        cmocka_unit_test(test_resume_refuses_other_files_and_options),
    };
    return cmocka_run_group_tests_name("resume_guard", tests, ts_cli_setup, ts_cli_teardown);
}
