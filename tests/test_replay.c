/* The replay backend: recorded replies keyed by problem id, task and round
 * drive the whole pipeline with no endpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"
#include "tests/support.h"

static char *dir;

static const char *write_replay(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
    return path;
}

/* One line of a replay file with content given as a JSON object (escaped). */
static char *line(const char *id, const char *task, int round, const char *content)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "task", task);
    if (round >= 0) cJSON_AddNumberToObject(o, "round", round);
    cJSON_AddStringToObject(o, "content", content);
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 11);
    cJSON_AddNumberToObject(u, "completion_tokens", 7);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static const char *good =
    "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":4}],"
    "\"objective\":{\"sense\":\"max\",\"expression\":\"3*x\"},\"constraints\":[]}\n```";
static const char *bad =
    "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\"}],"
    "\"objective\":{\"sense\":\"max\",\"expression\":\"3*x\"},\"constraints\":[]}\n```";

static void test_replay_drives_the_loop(void **state)
{
    (void)state;
    char *l1 = line("p1", "formulate", 0, bad), *l2 = line("p1", "correct", 1, good);
    char *l3 = line("p2", "formulate", -1, good);
    char text[8192];
    snprintf(text, sizeof text, "%s\n\n%s\n%s\n", l1, l2, l3);
    ag_replay *r = ag_replay_load(write_replay("ok.jsonl", text), text, sizeof text);
    assert_non_null(r);
    assert_int_equal(ag_replay_count(r), 3);
    ag_chat chat = ag_chat_replay(r);
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);

    ag_run *run = ag_pipeline_run(&chat, &o, "p1", "Maximize 3x.", NULL);
    assert_int_equal(run->nattempts, 2);
    assert_int_equal(run->attempts[0].outcome, AG_OUTCOME_UNBOUNDED);
    assert_int_equal(run->outcome, AG_OUTCOME_OK);
    assert_true(ts_close(run->objective, 12));
    assert_int_equal(run->prompt_tokens, 22);
    ag_run_free(run);

    run = ag_pipeline_run(&chat, &o, "p2", "Maximize 3x.", NULL);
    assert_int_equal(run->outcome, AG_OUTCOME_OK);
    ag_run_free(run);

    /* nothing recorded: a clear error, not a guess */
    run = ag_pipeline_run(&chat, &o, "p3", "Something else.", NULL);
    assert_int_equal(run->outcome, AG_OUTCOME_LLM_ERROR);
    assert_non_null(strstr(run->attempts[0].llm_error, "no recorded reply for problem 'p3'"));
    ag_run_free(run);

    ag_replay_free(r);
    free(l1); free(l2); free(l3);
}

/* A line with when_contains answers only requests containing its text, and
 * wins over a line without (whatever the order in the file). */
static void test_when_contains(void **state)
{
    (void)state;
    const char *text =
        "{\"id\":\"p\",\"task\":\"formulate\",\"round\":0,\"content\":\"plain\"}\n"
        "{\"id\":\"p\",\"task\":\"formulate\",\"when_contains\":\"INSIGHT\",\"content\":\"with\"}\n";
    char err[256];
    ag_replay *r = ag_replay_load(write_replay("when.jsonl", text), err, sizeof err);
    assert_non_null(r);
    ag_chat chat = ag_chat_replay(r);
    ag_chat_call call = { "p", "formulate", 0 };
    ag_llm_message with[] = { { "system", "rules; INSIGHT here" }, { "user", "q" } };
    ag_llm_message without[] = { { "system", "rules" }, { "user", "q" } };
    ag_llm_reply *rep = NULL;
    assert_int_equal(chat.fn(chat.ctx, &call, with, 2, NULL, &rep), AG_LLM_OK);
    assert_string_equal(rep->content, "with");
    ag_llm_reply_free(rep);
    assert_int_equal(chat.fn(chat.ctx, &call, without, 2, NULL, &rep), AG_LLM_OK);
    assert_string_equal(rep->content, "plain");
    ag_llm_reply_free(rep);
    ag_replay_free(r);
    assert_null(ag_replay_load(write_replay("bad.jsonl", "{\"id\":\"a\",\"task\":\"t\","
                                            "\"when_contains\":\"\",\"content\":\"x\"}\n"), err, sizeof err));
    assert_non_null(strstr(err, "when_contains"));
}

static void test_malformed_files(void **state)
{
    (void)state;
    char err[512];
    struct { const char *text, *want; } cases[] = {
        { "{\"id\":\"a\",\"task\":\"formulate\",\"content\":\"x\"}\nnot json\n", ":2: not a JSON object" },
        { "{\"task\":\"formulate\",\"content\":\"x\"}\n", ":1: field \"id\"" },
        { "{\"id\":\"a\",\"content\":\"x\"}\n", ":1: field \"task\"" },
        { "{\"id\":\"a\",\"task\":\"formulate\",\"content\":5}\n", ":1: field \"content\"" },
        { "{\"id\":\"a\",\"task\":\"formulate\",\"round\":-1,\"content\":\"x\"}\n", ":1: field \"round\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ag_replay *r = ag_replay_load(write_replay("bad.jsonl", cases[i].text), err, sizeof err);
        assert_null(r);
        if (!strstr(err, cases[i].want)) print_error("case %zu: '%s'\n", i, err);
        assert_non_null(strstr(err, cases[i].want));
        assert_non_null(strstr(err, "bad.jsonl"));
    }
    assert_null(ag_replay_load("/nonexistent/replay.jsonl", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/replay.jsonl"));
}

static int setup(void **state) { (void)state; dir = ts_mkdtemp(); return dir ? 0 : -1; }
static int teardown(void **state) { (void)state; ts_rmtree(dir); free(dir); return 0; }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_drives_the_loop),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_when_contains),
    };
    return cmocka_run_group_tests_name("replay", tests, setup, teardown);
}
