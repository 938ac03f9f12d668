/* Errors that tell the user what to do, and the batch displays a user
 * reads: a formulation given to batch points at solve; a refused
 * connection fails at once with a hint to check OPTAGENT_BASE_URL (ask,
 * and batch, which stops instead of recording a failure per problem); an
 * HTTP 404 about the model says to check --model; the progress line fits
 * the terminal's width; the HTML report shows the last diagnostic and the
 * escaped start of the reply of each problem not correct, leaves empty
 * categories out of its chart, and charts latency only when there is some. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Nothing listens there (port 1 needs root to bind). */
#define DEAD_URL "http://127.0.0.1:1/v1"

static void test_formulation_given_to_batch(void **state)
{
    (void)state;
    const char *form = ts_cli_path("model.json");
    const char *text = "{\"format\": 1,\n \"variables\": [{\"name\": \"x\", \"upper\": 3}],\n"
                       " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}}\n";
    assert_int_equal(ts_write_file(form, text, strlen(text)), 0);
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent batch %s --db %s 2>&1", ts_cli_env(NULL), ts_cli_bin(),
                               form, ts_cli_path("f.db")), 1);
    assert_non_null(strstr(o, "this looks like a formulation"));
    assert_non_null(strstr(o, "use optagent solve"));
    free(o);
}

static void test_refused_connection_fails_fast(void **state)
{
    (void)state;
    const char *probs = ts_cli_problems("dead.jsonl", 20), *dbp = ts_cli_path("dead.db");
    char *o;
    double t0 = now_ms();
    int rc = ts_cli_sh(&o, "env -u OPENAI_BASE_URL XDG_DATA_HOME=%s OPTAGENT_BASE_URL=" DEAD_URL
                           " OPTAGENT_MODEL=x %s/optagent batch %s --db %s --no-progress --no-cache 2>&1",
                       ts_cli_path(""), ts_cli_bin(), probs, dbp);
    double ms = now_ms() - t0;
    if (rc != 1 || ms > 3000) fail_msg("exit %d after %.0f ms:\n%s", rc, ms, o);
    assert_non_null(strstr(o, "connection refused"));
    assert_non_null(strstr(o, "check OPTAGENT_BASE_URL"));
    assert_non_null(strstr(o, "stopping"));
    assert_null(strstr(o, "retrying"));
    free(o);
    assert_int_equal(ts_cli_query(dbp, "select count(*) from problems"), 0);
    assert_int_equal(ts_cli_query(dbp, "select count(*) from runs where status = 'interrupted'"), 1);

    t0 = now_ms();
    rc = ts_cli_sh(&o, "env -u OPENAI_BASE_URL XDG_DATA_HOME=%s OPTAGENT_BASE_URL=" DEAD_URL
                       " OPTAGENT_MODEL=x %s/optagent ask 'maximize x' 2>&1", ts_cli_path(""), ts_cli_bin());
    ms = now_ms() - t0;
    if (rc != 1 || ms > 3000) fail_msg("ask: exit %d after %.0f ms:\n%s", rc, ms, o);
    assert_non_null(strstr(o, "check OPTAGENT_BASE_URL"));
    assert_null(strstr(o, "retrying"));   /* one attempt, no backoff */
    free(o);
}

static void test_unknown_model_says_check_model(void **state)
{
    (void)state;
    ts_fake *f = ts_fake_start("{\"rules\": [], \"default\": {\"status\": 404, \"content\": "
                               "\"The model `fake` does not exist or you do not have access to it.\"}}");
    assert_non_null(f);
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent ask --no-library 'maximize x' 2>&1", ts_cli_env(f),
                               ts_cli_bin()), 1);
    assert_non_null(strstr(o, "HTTP 404"));
    assert_non_null(strstr(o, "check --model"));
    free(o);
    ts_fake_stop(f);
}

/* Every rewrite of the progress line (between \r) is shorter than the
 * terminal: it never wraps. */
static void test_progress_fits_the_width(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(30, 20, NULL);
    const char *probs = ts_cli_problems("w.jsonl", 30);
    static const int widths[] = { 50, 36, 20 };
    for (size_t k = 0; k < sizeof widths / sizeof *widths; k++) {
        char *o, dbname[32];
        snprintf(dbname, sizeof dbname, "w%d.db", widths[k]);
        assert_int_equal(ts_cli_sh(&o, "%s COLUMNS=%d %s/optagent batch %s --db %s --progress -j 4 "
                                       "--no-library 2>&1 >/dev/null", ts_cli_env(f), widths[k],
                                   ts_cli_bin(), probs, ts_cli_path(dbname)), 0);
        int lines = 0, bars = 0;
        for (char *p = o; *p; ) {
            size_t n = strcspn(p, "\r\n");
            char seg[1024];
            snprintf(seg, sizeof seg, "%.*s", (int)(n < 1000 ? n : 1000), p);
            char *esc = strstr(seg, "\033[K");
            if (esc) *esc = 0;
            if (strstr(seg, "/30")) {   /* a progress line */
                lines++;
                if ((int)strlen(seg) > widths[k] - 1)
                    fail_msg("%d columns: %zu characters: '%s'", widths[k], strlen(seg), seg);
                if (seg[0] == '[') bars++;
            }
            p += n;
            while (*p == '\r' || *p == '\n') p++;
        }
        assert_true(lines >= 1);
        if (widths[k] >= 50) assert_true(bars >= 1);   /* 50 columns still have a bar */
        free(o);
    }
    ts_fake_stop(f);
}

static void test_html_report_details(void **state)
{
    (void)state;
    /* problem 1 is answered; problem 2 gets a reply with markup and no model */
    ts_fake *f = ts_fake_start(
        "{\"rules\": [{\"match\": {\"content_contains\": \"Problem number 1:\"}, \"reply\": {\"content\": "
        "\"```json\\n{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":1}],"
        "\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"}}\\n```\", \"delay_ms\": 30}}],"
        " \"default\": {\"content\": \"I cannot <script>alert(1)</script> & will not.\\nsecond line\", "
        "\"delay_ms\": 60}}");
    assert_non_null(f);
    const char *probs = ts_cli_problems("h.jsonl", 2), *dbp = ts_cli_path("h.db");
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --no-progress --no-library "
                                   "--max-corrections 0 2>&1", ts_cli_env(f), ts_cli_bin(), probs, dbp), 0);
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s --format html", ts_cli_bin(), dbp), 0);
    assert_non_null(strstr(o, "last diagnostic: no formulation found in the reply"));
    assert_non_null(strstr(o, "I cannot &lt;script&gt;alert(1)&lt;/script&gt; &amp; will not.\nsecond line"));
    assert_null(strstr(o, "<script>"));
    /* the category chart: correct and no_json only */
    const char *svg = strstr(o, "aria-label=\"problems per category\"");
    assert_non_null(svg);
    const char *end = strstr(svg, "</svg>");
    assert_non_null(end);
    int bars = 0;
    for (const char *p = svg; (p = strstr(p, "<title>")) && p < end; p++) bars++;
    assert_int_equal(bars, 2);
    /* a latency chart with its axis titles (the fake waited 30 and 60 ms) */
    assert_non_null(strstr(o, "LLM time per problem (ms)"));
    assert_non_null(strstr(o, ">problems</text>"));
    free(o);
    ts_fake_stop(f);

    /* replayed replies: a sentence instead of the chart */
    const char *rep = ts_cli_path("h.replies.jsonl");
    const char *line = "{\"id\": \"q1\", \"task\": \"formulate\", \"round\": 0, \"content\": \"```json\\n"
                       "{\\\"format\\\":1,\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":1}],"
                       "\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"}}\\n```\"}\n";
    assert_int_equal(ts_write_file(rep, line, strlen(line)), 0);
    const char *dbr = ts_cli_path("hr.db");
    int rc = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --no-progress --no-library --limit 1 "
                           "--llm replay:%s 2>&1", ts_cli_env(NULL), ts_cli_bin(), probs, dbr, rep);
    if (rc != 0) fail_msg("replay batch: %s", o);
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --db %s --format html", ts_cli_bin(), dbr), 0);
    assert_non_null(strstr(o, "replayed from a file"));
    assert_null(strstr(o, "latency histogram"));
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formulation_given_to_batch),
        cmocka_unit_test(test_refused_connection_fails_fast),
        cmocka_unit_test(test_unknown_model_says_check_model),
        cmocka_unit_test(test_progress_fits_the_width),
        cmocka_unit_test(test_html_report_details),
    };
    return cmocka_run_group_tests_name("cli_errors", tests, ts_cli_setup, ts_cli_teardown);
}
