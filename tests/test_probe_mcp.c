/* optagent mcp under hostile input (the probe of the merged MCP server):
 * trailing junk after a message, ids echoed exactly as written (big
 * integers, exponents), the escape \u0000 in an id or an argument (cJSON
 * would cut the string), and a client that closes its end of stdout (the
 * server must stop cleanly, not die of SIGPIPE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "tests/support.h"
#include "tests/support_cli.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Runs "optagent mcp --no-library" on input; returns stdout (caller frees). */
static char *session(const char *input, int *code)
{
    const char *in = ts_cli_path("probe.jsonl");
    assert_int_equal(ts_write_file(in, input, strlen(input)), 0);
    char *out = NULL;
    *code = ts_cli_sh(&out, "env -u OPTAGENT_BASE_URL %s/optagent mcp --no-library <%s 2>%s",
                      ts_cli_bin(), in, ts_cli_path("probe.err"));
    assert_non_null(out);
    return out;
}

static void test_trailing_junk_is_a_parse_error(void **state)
{
    (void)state;
    int code;
    char *out = session("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} junk\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}{\"x\":1}\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}  \r\n", &code);
    assert_int_equal(code, 0);
    /* the first two lines are not one JSON value each: no result for ids 1 and 2 */
    assert_null(strstr(out, "\"id\":1,"));
    assert_null(strstr(out, "\"id\":2,"));
    assert_non_null(strstr(out, "\"id\":3,\"result\":{}"));
    const char *p = out;
    int parse_errors = 0;
    while ((p = strstr(p, "-32700"))) { parse_errors++; p++; }
    assert_int_equal(parse_errors, 2);
    free(out);
}

static void test_number_ids_echoed_as_written(void **state)
{
    (void)state;
    int code;
    char *out = session(
        "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567,\"method\":\"ping\"}\n"
        "{ \"params\": {\"id\": 5}, \"id\" : 123456789012345678901234567890 , \"jsonrpc\":\"2.0\","
        "\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"nope\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":-1E2,\"method\":\"ping\"}\n", &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567,\"result\":{}}"));
    assert_non_null(strstr(out, "\"id\":123456789012345678901234567890,\"result\":{}}"));
    assert_non_null(strstr(out, "\"id\":9007199254740993,\"error\":{\"code\":-32601"));
    assert_non_null(strstr(out, "\"id\":-1E2,\"result\""));
    free(out);
}

static void test_nul_escape_refused(void **state)
{
    (void)state;
    int code;
    char *out = session(
        "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{\"formulation\":{\"format\":1,\"variables\":[{\"name\":"
        "\"x\",\"upper\":4}],\"objective\":{\"sense\":\"maximize\",\"expression\":\"x\\u0000 * 1000\"},"
        "\"constraints\":[]}}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\\\\u0000\",\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"ping\"}\n", &code);
    assert_int_equal(code, 0);
    /* the string id is not answered cut short ("a") */
    assert_null(strstr(out, "\"id\":\"a\""));
    assert_non_null(strstr(out, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600"));
    /* the expression is not solved as "x" (objective 4) */
    assert_non_null(strstr(out, "\"id\":2,\"error\":{\"code\":-32600"));
    assert_null(strstr(out, "\"objective\":4"));
    /* an id of invalid UTF-8 is refused, not answered with U+FFFD in it */
    assert_null(strstr(out, "\xef\xbf\xbd"));
    assert_non_null(strstr(out, "'id' is not valid UTF-8"));
    /* an escaped backslash followed by the text u0000 is no NUL */
    assert_non_null(strstr(out, "\"id\":\"x\\\\u0000\",\"result\":{}"));
    free(out);
}

static void test_closed_stdout_stops_cleanly(void **state)
{
    (void)state;
    /* 3000 tools/list requests: their replies overflow the pipe, which the
     * reader ('true') has already closed */
    size_t n = 3000;
    const char *line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n";
    char *input = malloc(n * strlen(line) + 1);
    assert_non_null(input);
    input[0] = 0;
    for (size_t i = 0, w = 0; i < n; i++, w += strlen(line)) memcpy(input + w, line, strlen(line) + 1);
    const char *in = ts_cli_path("many.jsonl");
    assert_int_equal(ts_write_file(in, input, strlen(input)), 0);
    free(input);
    const char *st = ts_cli_path("status");
    assert_int_equal(ts_cli_sh(NULL, "{ env -u OPTAGENT_BASE_URL %s/optagent mcp --no-library <%s "
                                     "2>%s; echo $? >%s; } | true",
                               ts_cli_bin(), in, ts_cli_path("pipe.err"), st), 0);
    size_t len;
    char *status = ts_read_file(st, &len);
    assert_non_null(status);
    assert_int_equal(atoi(status), 1);           /* not 141 (128 + SIGPIPE) */
    free(status);
    char *err = ts_read_file(ts_cli_path("pipe.err"), &len);
    assert_non_null(err);
    assert_non_null(strstr(err, "standard output is closed"));
    free(err);
}

/* A market-split MILP (hard for branch and bound) as a tools/call line. */
static char *hard_call(int id, const char *time_limit)
{
    size_t cap = 1 << 16, w = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    w += snprintf(b + w, cap - w, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                  "{\"name\":\"solve_formulation\",\"arguments\":{\"time_limit\":%s,\"formulation\":"
                  "{\"format\":1,\"sets\":[{\"name\":\"I\",\"elements\":[", id, time_limit);
    for (int i = 1; i <= 60; i++) w += snprintf(b + w, cap - w, "%s%d", i > 1 ? "," : "", i);
    w += snprintf(b + w, cap - w, "]},{\"name\":\"R\",\"elements\":[1,2,3,4]}],\"parameters\":"
                  "[{\"name\":\"w\",\"index\":[\"R\",\"I\"],\"values\":[");
    unsigned seed = 12345;
    long rhs[4] = { 0 };
    for (int r = 0; r < 4; r++) {
        w += snprintf(b + w, cap - w, "%s[", r ? "," : "");
        for (int i = 0; i < 60; i++) {
            seed = seed * 1103515245u + 12345u;
            int v = 1 + (int)((seed >> 16) % 99);
            rhs[r] += v;
            w += snprintf(b + w, cap - w, "%s%d", i ? "," : "", v);
        }
        w += snprintf(b + w, cap - w, "]");
    }
    w += snprintf(b + w, cap - w, "]},{\"name\":\"b\",\"index\":[\"R\"],\"values\":[%ld,%ld,%ld,%ld]}],"
                  "\"variables\":[{\"name\":\"x\",\"index\":[\"I\"],\"type\":\"binary\"},"
                  "{\"name\":\"s\",\"index\":[\"R\"]}],\"objective\":{\"sense\":\"min\","
                  "\"expression\":\"sum{r in R} s[r]\"},\"constraints\":["
                  "{\"name\":\"lo\",\"index\":\"{r in R}\",\"expression\":\"sum{i in I} w[r,i]*x[i] + s[r] >= b[r]\"},"
                  "{\"name\":\"hi\",\"index\":\"{r in R}\",\"expression\":\"sum{i in I} w[r,i]*x[i] - s[r] <= b[r]\"}"
                  "]}}}}\n", rhs[0] / 2, rhs[1] / 2, rhs[2] / 2, rhs[3] / 2);
    assert_true(w < cap);
    return b;
}

static void test_time_limit_zero_refused_and_small_honoured(void **state)
{
    (void)state;
    char *zero = hard_call(1, "0");
    char *small = hard_call(2, "0.01");
    char *input = malloc(strlen(zero) + strlen(small) + 1);
    assert_non_null(input);
    strcpy(input, zero);
    strcat(input, small);
    free(zero);
    free(small);
    int code;
    double t0 = now_ms();
    char *out = session(input, &code);
    double ms = now_ms() - t0;
    free(input);
    assert_int_equal(code, 0);
    /* 0 would mean "no limit": a solve that runs for hours */
    assert_non_null(strstr(out, "\"id\":1,\"error\":{\"code\":-32602"));
    assert_non_null(strstr(out, "\"id\":2,\"result\""));
    /* stopped by the limit, with or without an incumbent */
    assert_true(strstr(out, "\"status\":\"time_limit\"") || strstr(out, "\"status\":\"feasible\""));
    assert_true(ms < 20000);
    free(out);
}

/* A problem over 1 MiB (ask's limit) is refused before any LLM request. */
static void test_huge_problem_refused(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 10;
    const char *head = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                       "\"formulate_and_solve\",\"arguments\":{\"problem\":\"";
    const char *tail = "\"}}}\n";
    char *input = malloc(strlen(head) + n + strlen(tail) + 1);
    assert_non_null(input);
    strcpy(input, head);
    memset(input + strlen(head), 'x', n);
    strcpy(input + strlen(head) + n, tail);
    const char *in = ts_cli_path("huge.jsonl");
    assert_int_equal(ts_write_file(in, input, strlen(input)), 0);
    free(input);
    char *out = NULL;
    /* an endpoint nobody listens on: reaching it would be an llm_error result */
    assert_int_equal(ts_cli_sh(&out, "env OPTAGENT_BASE_URL=http://127.0.0.1:9/v1 OPTAGENT_MODEL=m "
                                     "%s/optagent mcp --no-library <%s 2>/dev/null", ts_cli_bin(), in), 0);
    assert_non_null(strstr(out, "\"id\":7,\"error\":{\"code\":-32602"));
    assert_non_null(strstr(out, "more than the limit"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trailing_junk_is_a_parse_error),
        cmocka_unit_test(test_number_ids_echoed_as_written),
        cmocka_unit_test(test_nul_escape_refused),
        cmocka_unit_test(test_closed_stdout_stops_cleanly),
        cmocka_unit_test(test_time_limit_zero_refused_and_small_honoured),
        cmocka_unit_test(test_huge_problem_refused),
    };
    return cmocka_run_group_tests_name("probe_mcp", tests, ts_cli_setup, ts_cli_teardown);
}
