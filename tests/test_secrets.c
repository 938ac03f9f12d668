/* Replies that echo the API key (issue 7, item 9) and replies that are not
 * valid UTF-8 (item 10): over real HTTP, the fake server puts the key in a
 * normal 200 reply — in the text, in the formulation's name and description,
 * and JSON-escaped ('/' as "\/") — and invalid bytes in another. The key must
 * appear nowhere: not in the database file or its WAL (the reply cache
 * included), not in the output of ask --json or --show-prompts, not in
 * batch --out; and every JSON output must be valid UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "agent/llm/llm.h"
#include "tests/support.h"
#include "tests/support_cli.h"

#define KEY "sk-test/SECRET-0123456789abcdef"
#define KEY_ESCAPED "sk-test\\\\/SECRET-0123456789abcdef"   /* sk-test\/SECRET... in the reply */

/* The reply: the key in the prose, in the formulation's name and description
 * (the description with the '/' escaped, as a JSON encoder may write it). */
static ts_fake *echo_server(void)
{
    const char *script =
        "{\"default\": {\"content\": \"Your key is " KEY ". Formulation:\\n```json\\n"
        "{\\\"format\\\":1,\\\"name\\\":\\\"" KEY "\\\",\\\"description\\\":\\\"key " KEY_ESCAPED "\\\","
        "\\\"variables\\\":[{\\\"name\\\":\\\"x\\\",\\\"upper\\\":3}],"
        "\\\"objective\\\":{\\\"sense\\\":\\\"max\\\",\\\"expression\\\":\\\"x\\\"},\\\"constraints\\\":[]}\\n```\"}}";
    ts_fake *f = ts_fake_start(script);
    assert_non_null(f);
    return f;
}

static const char *key_file(void)
{
    const char *p = ts_cli_path("key.txt");
    assert_int_equal(ts_write_file(p, KEY "\n", strlen(KEY) + 1), 0);
    return p;
}

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k)) return 1;
    return 0;
}

/* The key, or its tail after the '/', anywhere in the file's bytes. */
static void assert_no_key_in_file(const char *path)
{
    size_t n;
    char *s = ts_read_file(path, &n);
    if (!s) return;                            /* e.g. no WAL left */
    int bad = contains(s, n, KEY) || contains(s, n, "SECRET-0123456789abcdef");
    if (bad) fprintf(stderr, "# the key is in %s\n", path);
    assert_false(bad);
    free(s);
}

static void test_ask_json_redacts_echoed_key(void **state)
{
    (void)state;
    ts_fake *f = echo_server();
    char *o;
    int code = ts_cli_sh(&o, "%s %s/optagent ask --json --show-prompts --api-key-file %s "
                         "'maximize x up to 3' 2>&1", ts_cli_env(f), ts_cli_bin(), key_file());
    assert_int_equal(code, 0);                 /* solved: redaction kept the JSON valid */
    assert_null(strstr(o, KEY));
    assert_null(strstr(o, "SECRET-0123456789abcdef"));
    assert_non_null(strstr(o, AG_REDACTED));
    free(o);
    /* the key was sent, so the server did echo what it got */
    cJSON *log = ts_fake_requests(f, 1);
    char *ls = cJSON_PrintUnformatted(log);
    assert_non_null(strstr(ls, KEY));
    free(ls);
    cJSON_Delete(log);
    ts_fake_stop(f);
}

static void test_batch_stores_no_key(void **state)
{
    (void)state;
    ts_fake *f = echo_server();
    const char *probs = ts_cli_problems("k.jsonl", 3);
    const char *db = ts_cli_path("key.db"), *out = ts_cli_path("key.out");
    char *o;
    /* the kept-open reader keeps the WAL from being checkpointed away */
    int code = ts_cli_sh(&o, "%s %s/optagent batch %s --db %s --out %s --api-key-file %s --no-progress 2>&1; "
                         "cp %s-wal %s.wal-copy 2>/dev/null; true",
                         ts_cli_env(f), ts_cli_bin(), probs, db, out, key_file(), db, db);
    assert_int_equal(code, 0);
    assert_null(strstr(o, KEY));
    free(o);
    assert_true(ts_cli_query(db, "select count(*) from attempts where reply like '%[REDACTED]%'") > 0);
    assert_true(ts_cli_query(db, "select count(*) from cache") > 0);
    assert_no_key_in_file(db);
    assert_no_key_in_file(ts_cli_path("key.db-wal"));
    assert_no_key_in_file(ts_cli_path("key.db.wal-copy"));
    assert_no_key_in_file(out);
    /* the eval report reads what is stored */
    code = ts_cli_sh(&o, "%s/optagent eval --db %s 1 --format json 2>&1", ts_cli_bin(), db);
    assert_null(strstr(o, KEY));
    free(o);
    ts_fake_stop(f);
}

static void test_ask_json_is_valid_utf8(void **state)
{
    (void)state;
    /* invalid bytes (a lone continuation, an overlong, a truncated sequence)
     * in the reply; the fake server sends the content bytes as they are */
    const char *script =
        "{\"default\": {\"body\": \"{\\\"choices\\\":[{\\\"message\\\":{\\\"content\\\":"
        "\\\"caf\\u00e9 \x80 \xc0\xaf x \xe2\\\"},\\\"finish_reason\\\":\\\"stop\\\"}]}\"}}";
    ts_fake *f = ts_fake_start(script);
    if (!f) {
        /* the script itself must be valid JSON text; fall back to a raw body file */
        fail_msg("fake server refused the script");
    }
    char *o;
    size_t n;
    ts_cli_sh(&o, "%s %s/optagent ask --json 'maximize x' 2>/dev/null", ts_cli_env(f), ts_cli_bin());
    n = strlen(o);
    assert_true(n > 0);
    assert_true(ag_utf8_valid(o, n));
    cJSON *j = cJSON_Parse(o);
    assert_non_null(j);
    assert_non_null(strstr(o, "\xef\xbf\xbd"));      /* U+FFFD where the bytes were */
    cJSON_Delete(j);
    free(o);
    ts_fake_stop(f);
}

/* The repair itself: maximal subparts, one U+FFFD each. */
static void test_utf8_fix_units(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        { "plain", "plain" },
        { "caf\xc3\xa9", "caf\xc3\xa9" },
        { "a\x80z", "a\xef\xbf\xbdz" },
        { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },            /* overlong: two */
        { "x\xe2\x82", "x\xef\xbf\xbd" },                        /* truncated at the end: one */
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
        { "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = strdup(cases[i].in);
        assert_int_equal(ag_utf8_fix(&s), 0);
        assert_string_equal(s, cases[i].out);
        assert_true(ag_utf8_valid(s, strlen(s)));
        free(s);
    }
    /* short keys are left alone; long ones go, escaped or not */
    char *s = strdup("abc in abc/def and sk-a/bcdefgh, sk-a\\/bcdefgh");
    assert_int_equal(ag_redact_key(&s, "abc"), 0);
    assert_string_equal(s, "abc in abc/def and sk-a/bcdefgh, sk-a\\/bcdefgh");
    assert_int_equal(ag_redact_key(&s, "sk-a/bcdefgh"), 0);
    assert_string_equal(s, "abc in abc/def and [REDACTED], [REDACTED]");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_fix_units),
        cmocka_unit_test(test_ask_json_redacts_echoed_key),
        cmocka_unit_test(test_batch_stores_no_key),
        cmocka_unit_test(test_ask_json_is_valid_utf8),
    };
    return cmocka_run_group_tests_name("secrets", tests, ts_cli_setup, ts_cli_teardown);
}
