/* optagent mcp: a scripted MCP client session through the built binary —
 * initialize, tools/list (every tool with its JSON Schema), a call of each
 * tool (formulate_and_solve against the fake LLM server, search_insights on
 * a library made for the test), and the bad calls: a line that is not JSON,
 * an unknown method, an unknown tool, bad arguments, a batch, a message over
 * the size cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"

#define FORMULATION                                                                    \
    "{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":4},{\"name\":\"y\","        \
    "\"upper\":3}],\"objective\":{\"name\":\"profit\",\"sense\":\"maximize\","          \
    "\"expression\":\"3*x + 2*y\"},\"constraints\":[{\"name\":\"cap\",\"expression\":" \
    "\"x + y <= 5\"}]}"

#define INSIGHT                                                                         \
    "{\"taxonomy\": [\"Domain Modeling\", \"Network Flow\"], \"condition\": \"Applies "  \
    "when goods move through intermediate transshipment nodes of a network.\","        \
    " \"explanation\": \"Balance each node.\", \"example\": \"in - out = d\"}\n"

/* The replies of a session, by id ("null" for id null, in order). */
typedef struct {
    cJSON *by_id[32];
    cJSON *null_id[8];
    int n_null;
    char *stderr_text;
} session;

static void session_free(session *s)
{
    for (int i = 0; i < 32; i++) cJSON_Delete(s->by_id[i]);
    for (int i = 0; i < s->n_null; i++) cJSON_Delete(s->null_id[i]);
    free(s->stderr_text);
}

/* Runs "optagent mcp ARGS" with the lines of input on stdin; every stdout
 * line must be a JSON-RPC 2.0 message. */
static int run_session(session *s, const char *env, const char *args, const char *input)
{
    memset(s, 0, sizeof *s);
    const char *in = ts_cli_path("session.jsonl");
    assert_int_equal(ts_write_file(in, input, strlen(input)), 0);
    char *out = NULL;
    int code = ts_cli_sh(&out, "%s %s/optagent mcp %s <%s 2>%s", env ? env : "env -u OPTAGENT_BASE_URL",
                         ts_cli_bin(), args, in, ts_cli_path("mcp.err"));
    size_t len;
    s->stderr_text = ts_read_file(ts_cli_path("mcp.err"), &len);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *m = cJSON_Parse(line);
        if (!m) fail_msg("not a JSON line on stdout: %.200s", line);
        cJSON *v = cJSON_GetObjectItem(m, "jsonrpc");
        assert_true(cJSON_IsString(v) && !strcmp(v->valuestring, "2.0"));
        cJSON *id = cJSON_GetObjectItem(m, "id");
        assert_non_null(id);
        if (cJSON_IsNumber(id) && id->valueint >= 0 && id->valueint < 32) {
            assert_null(s->by_id[id->valueint]);    /* one reply per request */
            s->by_id[id->valueint] = m;
        } else if (cJSON_IsNull(id) && s->n_null < 8) {
            s->null_id[s->n_null++] = m;
        } else {
            cJSON_Delete(m);
        }
    }
    free(out);
    return code;
}

static int error_code(const cJSON *m)
{
    const cJSON *e = cJSON_GetObjectItem(m, "error");
    return e ? cJSON_GetObjectItem(e, "code")->valueint : 0;
}

static const cJSON *result_of(const cJSON *m)
{
    const cJSON *r = cJSON_GetObjectItem(m, "result");
    if (!r) fail_msg("expected a result: %s", cJSON_PrintUnformatted(m));
    return r;
}

static int is_error_result(const cJSON *m)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(result_of(m), "isError"));
}

static void test_initialize_and_list(void **state)
{
    (void)state;
    session s;
    int code = run_session(&s, NULL, "--no-library",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-03-26\",\"capabilities\":{},\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"1999-01-01\"}}\n");
    assert_int_equal(code, 0);
    const cJSON *init = result_of(s.by_id[1]);
    assert_string_equal(cJSON_GetObjectItem(init, "protocolVersion")->valuestring, "2025-03-26");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(init, "capabilities"), "tools"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(init, "serverInfo"), "name")->valuestring,
                        "optagent");
    /* an unknown version is answered with the latest the server speaks */
    assert_string_equal(cJSON_GetObjectItem(result_of(s.by_id[4]), "protocolVersion")->valuestring,
                        "2025-06-18");
    const cJSON *tools = cJSON_GetObjectItem(result_of(s.by_id[2]), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 3);
    static const char *const names[] = { "solve_formulation", "formulate_and_solve", "search_insights" };
    static const char *const required[] = { "formulation", "problem", "query" };
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetArrayItem(tools, i);
        assert_string_equal(cJSON_GetObjectItem(t, "name")->valuestring, names[i]);
        assert_true(strlen(cJSON_GetObjectItem(t, "description")->valuestring) > 40);
        const cJSON *schema = cJSON_GetObjectItem(t, "inputSchema");
        assert_string_equal(cJSON_GetObjectItem(schema, "type")->valuestring, "object");
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"), required[i]));
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(schema, "required"), 0)->valuestring,
                            required[i]);
    }
    assert_non_null(s.by_id[3]);
    assert_int_equal(s.n_null, 0);        /* the notification got no reply */
    session_free(&s);
}

static void test_solve_formulation(void **state)
{
    (void)state;
    session s;
    run_session(&s, NULL, "--no-library",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{\"formulation\":" FORMULATION "}}}\n"
        /* the same as a string */
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{\"formulation\":\"{\\\"format\\\":1}\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{\"formulation\":" FORMULATION ",\"time_limit\":-1}}}\n");
    const cJSON *r = result_of(s.by_id[1]);
    assert_false(is_error_result(s.by_id[1]));
    const cJSON *report = cJSON_GetObjectItem(r, "structuredContent");
    assert_string_equal(cJSON_GetObjectItem(report, "status")->valuestring, "optimal");
    assert_true(ts_close(cJSON_GetObjectItem(report, "objective")->valuedouble, 14.0));  /* x=4, y=1 */
    /* the text block is the same report */
    cJSON *text = cJSON_Parse(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "content"), 0)
                                  ->child->next->valuestring);
    assert_non_null(text);
    assert_true(ts_close(cJSON_GetObjectItem(text, "objective")->valuedouble, 14.0));
    cJSON_Delete(text);
    /* an invalid formulation: a tool error whose report names what is wrong */
    assert_true(is_error_result(s.by_id[2]));
    const cJSON *bad = cJSON_GetObjectItem(result_of(s.by_id[2]), "structuredContent");
    assert_string_equal(cJSON_GetObjectItem(bad, "status")->valuestring, "invalid");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(bad, "diagnostics")) >= 1);
    session_free(&s);
    (void)s;
}

static void test_bad_messages(void **state)
{
    (void)state;
    session s;
    int code = run_session(&s, NULL, "--no-library",
        "this is not json\n"
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"rm -rf\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"solve_formulation\",\"arguments\":{\"formulation\":{},\"shell\":\"x\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search_insights\",\"arguments\":{\"query\":\"x\",\"k\":1.5}}}\n"
        "{\"jsonrpc\":\"1.0\",\"id\":6,\"method\":\"ping\"}\n"
        "[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}]\n"
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":[1]}\n"
        "\n"
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"formulate_and_solve\",\"arguments\":{\"problem\":\"  \"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":\"bad\xff\xc3\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\"}\n");
    assert_int_equal(code, 0);
    assert_int_equal(s.n_null, 2);                       /* not JSON; the batch */
    assert_int_equal(error_code(s.null_id[0]), -32700);
    assert_int_equal(error_code(s.null_id[1]), -32600);
    assert_int_equal(error_code(s.by_id[1]), -32601);
    assert_int_equal(error_code(s.by_id[2]), -32602);
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(s.by_id[2], "error"), "message")
                               ->valuestring, "unknown tool"));
    assert_int_equal(error_code(s.by_id[3]), -32602);
    assert_int_equal(error_code(s.by_id[4]), -32602);   /* unknown argument */
    assert_int_equal(error_code(s.by_id[5]), -32602);   /* k not whole */
    assert_int_equal(error_code(s.by_id[6]), -32600);
    assert_null(s.by_id[7]);
    assert_int_equal(error_code(s.by_id[8]), -32602);
    assert_int_equal(error_code(s.by_id[9]), -32602);
    assert_int_equal(error_code(s.by_id[11]), -32602);  /* echoed as valid UTF-8 (parsed) */
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(s.by_id[11], "error"), "message")
                               ->valuestring, "bad\xef\xbf\xbd"));
    assert_non_null(s.by_id[10]);                        /* still answering */
    assert_int_equal(error_code(s.by_id[10]), 0);
    session_free(&s);
}

static void test_oversized_message_is_skipped(void **state)
{
    (void)state;
    size_t big = (17u << 20);
    char *input = malloc(big + 200);
    assert_non_null(input);
    memset(input, 'a', big);
    memcpy(input, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"pad\":\"", 47);
    strcpy(input + big, "\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
    session s;
    run_session(&s, NULL, "--no-library", input);
    free(input);
    assert_null(s.by_id[1]);
    assert_int_equal(s.n_null, 1);
    assert_int_equal(error_code(s.null_id[0]), -32600);
    assert_non_null(s.by_id[2]);
    session_free(&s);
}

static void test_formulate_and_solve_with_fake_llm(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(3, 0, NULL);
    session s;
    run_session(&s, ts_cli_env(f), "--no-library",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"formulate_and_solve\",\"arguments\":{\"problem\":\"Problem number 3: maximize x up to 3.\","
        "\"max_corrections\":1}}}\n");
    if (!s.by_id[1]) fail_msg("no reply; stderr: %s", s.stderr_text ? s.stderr_text : "");
    assert_false(is_error_result(s.by_id[1]));
    const cJSON *rec = cJSON_GetObjectItem(result_of(s.by_id[1]), "structuredContent");
    assert_non_null(rec);
    const cJSON *obj = cJSON_GetObjectItem(rec, "objective");
    assert_true(cJSON_IsNumber(obj));
    assert_true(ts_close(obj->valuedouble, 3.0));
    cJSON *reqs = ts_fake_requests(f, 1);
    assert_true(cJSON_GetArraySize(reqs) >= 1);
    cJSON_Delete(reqs);
    session_free(&s);
    ts_fake_stop(f);

    /* no endpoint configured: a tool error that says what to set */
    run_session(&s, "env -u OPTAGENT_BASE_URL -u OPENAI_BASE_URL -u OPTAGENT_MODEL HOME=/nonexistent",
                "--no-library",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"formulate_and_solve\",\"arguments\":{\"problem\":\"maximize x\"}}}\n");
    assert_true(is_error_result(s.by_id[1]));
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(result_of(s.by_id[1]), "content"), 0);
    assert_non_null(strstr(cJSON_GetObjectItem(t, "text")->valuestring, "OPTAGENT_BASE_URL"));
    session_free(&s);
}

static void test_search_insights(void **state)
{
    (void)state;
    const char *libp = ts_cli_path("mcp-lib.db");
    const char *ins = ts_cli_path("insight.json");
    assert_int_equal(ts_write_file(ins, INSIGHT, strlen(INSIGHT)), 0);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent library add %s --library %s >/dev/null 2>&1",
                               ts_cli_bin(), ins, libp), 0);
    session s;
    char args[1200];
    snprintf(args, sizeof args, "--library %s", libp);
    run_session(&s, NULL, args,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search_insights\",\"arguments\":{\"query\":\"goods shipped through transshipment "
        "nodes of a network\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search_insights\",\"arguments\":{\"query\":\"\\\"NEAR(x y) OR * AND\",\"k\":2}}}\n");
    assert_false(is_error_result(s.by_id[1]));
    const cJSON *hits = cJSON_GetObjectItem(cJSON_GetObjectItem(result_of(s.by_id[1]), "structuredContent"),
                                            "insights");
    assert_int_equal(cJSON_GetArraySize(hits), 1);
    const cJSON *insight = cJSON_GetObjectItem(cJSON_GetArrayItem(hits, 0), "insight");
    assert_non_null(strstr(cJSON_GetObjectItem(insight, "condition")->valuestring, "transshipment"));
    /* FTS operators are only words: an answer, not an error */
    assert_false(is_error_result(s.by_id[2]));
    session_free(&s);

    /* without a library: a tool error saying so */
    run_session(&s, NULL, "--no-library",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search_insights\",\"arguments\":{\"query\":\"flow\"}}}\n");
    assert_true(is_error_result(s.by_id[1]));
    session_free(&s);
}

static void test_help_and_usage(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(ts_cli_sh(&out, "%s/optagent mcp --help 2>/dev/null", ts_cli_bin()), 0);
    assert_non_null(strstr(out, "usage: optagent mcp"));
    free(out);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent mcp --frobnicate </dev/null >/dev/null 2>&1",
                               ts_cli_bin()), 2);
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent mcp extra </dev/null >/dev/null 2>&1",
                               ts_cli_bin()), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_and_list),
        cmocka_unit_test(test_solve_formulation),
        cmocka_unit_test(test_bad_messages),
        cmocka_unit_test(test_oversized_message_is_skipped),
        cmocka_unit_test(test_formulate_and_solve_with_fake_llm),
        cmocka_unit_test(test_search_insights),
        cmocka_unit_test(test_help_and_usage),
    };
    return cmocka_run_group_tests_name("mcp", tests, ts_cli_setup, ts_cli_teardown);
}
