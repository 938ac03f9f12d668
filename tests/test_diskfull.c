/* A full disk during optagent batch (issue 7, item 8): a failed write —
 * the database commit, the --out file — stops the batch with an error naming
 * the file and the OS error, a non-zero exit and a run that is not
 * "finished"; a --resume afterwards completes with every problem exactly
 * once in the database and in --out.
 *
 * The full disk is simulated without root: RLIMIT_FSIZE in a forked child
 * (SIGXFSZ ignored, so writes past the limit fail with EFBIG, as they fail
 * with ENOSPC on a full disk), and /dev/full for --out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "tests/support.h"
#include "tests/support_cli.h"

/* Runs cmd under /bin/sh with every file limited to fsize bytes; stderr
 * goes to errpath (written before the limit matters: it stays small).
 * Returns the exit status (128 + signal). */
static int run_limited(const char *cmd, rlim_t fsize, const char *errpath)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
        struct rlimit rl = { fsize, fsize };
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_db_full_stops_and_resume_completes(void **state)
{
    (void)state;
    int n = 100;
    const char *probs = ts_cli_problems("p.jsonl", n);
    ts_fake *f = ts_cli_fake(n, 0, NULL);
    const char *db = ts_cli_path("full.db"), *out = ts_cli_path("full.jsonl"), *err = ts_cli_path("full.err");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s/optagent batch %s --db %s --out %s -j 4 --no-progress >/dev/null",
             ts_cli_env(f), ts_cli_bin(), probs, db, out);
    /* 160 KiB per file: the schema and a few problems fit, not 100. */
    int code = run_limited(cmd, 160 * 1024, err);
    size_t len;
    char *msg = ts_read_file(err, &len);
    assert_non_null(msg);
    if (code == 0 || !strstr(msg, db)) fprintf(stderr, "# exit %d, stderr:\n# %s\n", code, msg);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(msg, db));                       /* names the file */
    assert_non_null(strstr(msg, "disk full or file size limit")); /* and what failed */
    assert_non_null(strstr(msg, "--resume"));
    free(msg);
    long long stored = ts_cli_query(db, "select count(*) from problems");
    assert_true(stored < n);
    assert_int_equal(ts_cli_query(db, "select count(*) from runs where status = 'finished'"), 0);

    /* the limit lifted: resume finishes, each problem once in both */
    char *o;
    code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --out %s -j 4 --resume 1 --no-progress 2>&1",
                     ts_cli_env(f), ts_cli_bin(), probs, db, out);
    if (code) fprintf(stderr, "# %s\n", o);
    assert_int_equal(code, 0);
    free(o);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), n);
    assert_int_equal(ts_cli_query(db, "select count(distinct problem_id) from problems"), n);
    assert_int_equal(ts_cli_query(db, "select count(*) from runs where status = 'finished'"), 1);
    int distinct;
    assert_int_equal(ts_cli_lines(out, &distinct), n);
    assert_int_equal(distinct, n);
    ts_fake_stop(f);
}

static void test_out_write_error_is_reported(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0) { skip(); return; }
    int n = 5;
    const char *probs = ts_cli_problems("d.jsonl", n);
    ts_fake *f = ts_cli_fake(n, 0, NULL);
    const char *db = ts_cli_path("devfull.db");
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --out /dev/full -j 2 --no-progress 2>&1",
                         ts_cli_env(f), ts_cli_bin(), probs, db);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(o, "/dev/full"));
    assert_non_null(strstr(o, "No space left on device"));
    free(o);
    /* nothing is committed whose line did not reach --out */
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), 0);
    assert_int_equal(ts_cli_query(db, "select count(*) from runs where status = 'finished'"), 0);
    ts_fake_stop(f);
}

/* Duplicate and torn lines left in --out by earlier attempts are dropped on
 * resume: each committed problem appears once. */
static void test_resume_dedupes_out(void **state)
{
    (void)state;
    int n = 6;
    const char *probs = ts_cli_problems("r.jsonl", n);
    ts_fake *f = ts_cli_fake(n, 0, NULL);
    const char *db = ts_cli_path("dedupe.db"), *out = ts_cli_path("dedupe.jsonl");
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --out %s --limit 3 --no-progress 2>/dev/null",
                               ts_cli_env(f), ts_cli_bin(), probs, db, out), 0);
    assert_int_equal(ts_cli_lines(out, NULL), 3);
    /* a second copy of every line, a line of an uncommitted problem, a torn one */
    size_t len;
    char *s = ts_read_file(out, &len);
    assert_non_null(s);
    FILE *fp = fopen(out, "a");
    assert_non_null(fp);
    fputs(s, fp);
    /* lines of other runs stay: another run's uuid, or a problem not in this run */
    fputs("{\"run\":\"another\",\"dataset\":\"r\",\"id\":\"q1\"}\n{\"dataset\":\"zz\",\"id\":\"z1\"}\n", fp);
    fputs("{\"dataset\":\"r\",\"id\":\"q5\",\"outcome\":\"ok\"}\n{\"dataset\":\"r\",\"id\":\"q6\",\"outc", fp);
    fclose(fp);
    free(s);
    assert_int_equal(ts_cli_sh(NULL, "%s %s/optagent batch %s --db %s --out %s --resume 1 --no-progress 2>/dev/null",
                               ts_cli_env(f), ts_cli_bin(), probs, db, out), 0);
    int distinct;
    assert_int_equal(ts_cli_lines(out, &distinct), n + 2);
    assert_int_equal(distinct, n + 1);                   /* q1..q6 and z1 */
    s = ts_read_file(out, &len);
    assert_non_null(s);
    assert_non_null(strstr(s, "{\"run\":\"another\",\"dataset\":\"r\",\"id\":\"q1\"}\n"));
    assert_non_null(strstr(s, "{\"dataset\":\"zz\",\"id\":\"z1\"}\n"));
    assert_null(strstr(s, "\"id\":\"q5\",\"outcome\":\"ok\"}"));  /* the uncommitted q5 line went */
    free(s);
    assert_int_equal(ts_cli_query(db, "select count(*) from problems"), n);
    ts_fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_full_stops_and_resume_completes),
        cmocka_unit_test(test_out_write_error_is_reported),
        cmocka_unit_test(test_resume_dedupes_out),
    };
    return cmocka_run_group_tests_name("diskfull", tests, ts_cli_setup, ts_cli_teardown);
}
