/* The pipeline's part of OptiBench's protocol, with a scripted chat backend
 * (no server): where the query names go and how they are written, the caps,
 * the correction naming the missing queries, the solved answer kept when
 * that correction ends worse, and a --prompts-dir template without the
 * placeholder. */
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

#define MAX_CALLS 8

/* Replies in order (the last repeats); what each call sent is kept. */
typedef struct {
    const char *const *replies;
    int nreplies, ncalls;
    char *sent[MAX_CALLS];      /* the messages joined, role-prefixed */
    char task[MAX_CALLS][16];
} script;

static ag_llm_code scripted(void *ctx, const ag_chat_call *call, const ag_llm_message *msgs,
                            size_t n, volatile int *cancel, ag_llm_reply **out)
{
    (void)cancel;
    script *s = ctx;
    ts_str all = { 0 };
    for (size_t i = 0; i < n; i++) ts_str_printf(&all, "[%s]\n%s\n", msgs[i].role, msgs[i].content);
    int k = s->ncalls++;
    if (k < MAX_CALLS) {
        s->sent[k] = all.s;
        snprintf(s->task[k], sizeof s->task[k], "%s", call->task);
    } else {
        ts_str_free(&all);
    }
    ag_llm_reply *r = calloc(1, sizeof *r);
    r->content = strdup(s->replies[k < s->nreplies ? k : s->nreplies - 1]);
    r->prompt_tokens = r->completion_tokens = 1;
    r->http_status = 200;
    r->attempts = 1;
    *out = r;
    return AG_LLM_OK;
}

static void script_free(script *s)
{
    for (int i = 0; i < s->ncalls && i < MAX_CALLS; i++) free(s->sent[i]);
}

#define MODEL(report) \
    "```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":7}]," \
    "\"objective\":{\"name\":\"Total_profit\",\"sense\":\"max\",\"expression\":\"3*x\"}," \
    "\"constraints\":[],\"report\":[" report "]}\n```"

static ag_run *run_with(script *s, const char *const *queries, size_t n, int max_corr)
{
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);
    o.max_corrections = max_corr;
    o.queries = queries;
    o.nqueries = n;
    ag_chat chat = { scripted, s };
    ag_run *r = ag_pipeline_run(&chat, &o, "p1", "Problem: make x.", NULL);
    assert_non_null(r);
    return r;
}

static void test_names_in_the_system_message(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL("{\"name\":\"Units of x\",\"expression\":\"x\"}") };
    script s = { replies, 1, 0, { 0 }, { { 0 } } };
    const char *q[] = { "Units of x", "Total profit", "say \"hi\"\\now" };
    ag_run *r = run_with(&s, q, 3, 2);
    /* the third query is never answered: corrections until the budget ends */
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(s.ncalls, 3);
    assert_string_equal(s.task[1], "correct");
    const char *sys = s.sent[0];
    assert_non_null(strstr(sys, "## The quantities asked for"));
    assert_non_null(strstr(sys, "- \"Units of x\"\n- \"Total profit\"\n- \"say \\\"hi\\\"\\\\now\"\n"));
    /* in the system message, before the answer instructions; the user message is the problem */
    assert_true(strstr(sys, "## The quantities asked for") < strstr(sys, "## Your answer"));
    assert_non_null(strstr(sys, "[user]\nProblem:\nProblem: make x.\n"));
    /* the correction names only the unanswered one (Total profit is the objective's name) */
    assert_non_null(strstr(s.sent[1], "no entry named \"say \\\"hi\\\"\\\\now\""));
    assert_null(strstr(s.sent[1], "no entry named \"Total profit\""));
    assert_null(strstr(s.sent[1], "no entry named \"Units of x\""));
    assert_non_null(strstr(s.sent[1], "keep a \"report\" entry named exactly as each"));
    /* the objective's name is recorded for the grader */
    const cJSON *res = r->attempts[r->answer].result;
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(res, "objective_name")), "Total_profit");
    ag_run_free(r);
    script_free(&s);
}

static void test_caps(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL("") };
    script s = { replies, 1, 0, { 0 }, { { 0 } } };
    enum { N = AG_MAX_QUERIES + 5 };
    const char *q[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "qq%03d", i);
        q[i] = names[i];
    }
    char *long_name = malloc(AG_MAX_QUERY_NAME + 2);
    memset(long_name, 'z', AG_MAX_QUERY_NAME + 1);
    long_name[AG_MAX_QUERY_NAME + 1] = 0;
    q[1] = long_name;
    q[2] = "";
    ag_run *r = run_with(&s, q, N, 0);
    assert_int_equal(s.ncalls, 1);   /* no correction budget */
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_non_null(strstr(s.sent[0], "\"qq000\""));
    assert_non_null(strstr(s.sent[0], "\"qq063\""));
    assert_null(strstr(s.sent[0], "\"qq064\""));   /* past AG_MAX_QUERIES */
    assert_null(strstr(s.sent[0], "zzzz"));        /* past AG_MAX_QUERY_NAME */
    assert_null(strstr(s.sent[0], "- \"\"\n"));    /* empty: not listed */
    ag_run_free(r);
    script_free(&s);
    free(long_name);
}

/* The query correction ends in a reply without a formulation: the run's
 * answer is the solved attempt. */
static void test_worse_correction_keeps_the_answer(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL(""), "Sorry, no model." };
    script s = { replies, 2, 0, { 0 }, { { 0 } } };
    const char *q[] = { "Units of x" };
    ag_run *r = run_with(&s, q, 1, 1);
    assert_int_equal(s.ncalls, 2);
    assert_int_equal(r->nattempts, 2);
    assert_int_equal(r->attempts[1].outcome, AG_OUTCOME_NO_JSON);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->answer, 0);
    assert_true(r->has_objective && r->objective == 21);
    cJSON *j = ag_run_json(r);
    assert_int_equal(cJSON_GetObjectItem(j, "answer_round")->valueint, 0);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "objective")) == 21);
    assert_int_equal(cJSON_GetObjectItem(j, "corrections")->valueint, 1);
    cJSON_Delete(j);
    ag_run_free(r);
    script_free(&s);
}

/* Queries equal after normalisation: "x_1" answers "x_1" only, so "X1" is
 * asked for again, as the grader would count it missing. */
static void test_colliding_names_corrected(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL("{\"name\":\"x_1\",\"expression\":\"x\"}"),
        MODEL("{\"name\":\"x_1\",\"expression\":\"x\"},{\"name\":\"X1\",\"expression\":\"2*x\"}") };
    script s = { replies, 2, 0, { 0 }, { { 0 } } };
    const char *q[] = { "x_1", "X1" };
    ag_run *r = run_with(&s, q, 2, 2);
    assert_int_equal(s.ncalls, 2);
    assert_string_equal(s.task[1], "correct");
    assert_non_null(strstr(s.sent[1], "no entry named \"X1\""));
    assert_null(strstr(s.sent[1], "no entry named \"x_1\""));
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    ag_run_free(r);
    script_free(&s);
}

/* {{insights}}, {{queries}} and {{problem}} inside a query name or the
 * problem text are sent as written, not expanded. */
static void test_placeholders_verbatim(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL("{\"name\":\"{{insights}}\",\"expression\":\"x\"},"
                                                 "{\"name\":\"a {{queries}}\",\"expression\":\"x\"}") };
    script s = { replies, 1, 0, { 0 }, { { 0 } } };
    const char *q[] = { "{{insights}}", "a {{queries}}" };
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);
    o.max_corrections = 1;
    o.queries = q;
    o.nqueries = 2;
    ag_chat chat = { scripted, &s };
    ag_run *r = ag_pipeline_run(&chat, &o, "p1", "Make {{queries}} and {{insights}} and {{problem}}.", NULL);
    assert_non_null(r);
    assert_int_equal(s.ncalls, 1);
    assert_non_null(strstr(s.sent[0], "- \"{{insights}}\"\n- \"a {{queries}}\"\n"));
    assert_non_null(strstr(s.sent[0], "Problem:\nMake {{queries}} and {{insights}} and {{problem}}."));
    /* the block appears once: the name "a {{queries}}" did not pull in a second copy */
    const char *first = strstr(s.sent[0], "## The quantities asked for");
    assert_non_null(first);
    assert_null(strstr(first + 1, "## The quantities asked for"));
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    ag_run_free(r);
    script_free(&s);
}

/* Without queries nothing changes: one request, no block, no objective_name. */
static void test_without_queries(void **state)
{
    (void)state;
    static const char *const replies[] = { MODEL("") };
    script s = { replies, 1, 0, { 0 }, { { 0 } } };
    ag_run *r = run_with(&s, NULL, 0, 3);
    assert_int_equal(s.ncalls, 1);
    assert_null(strstr(s.sent[0], "quantities asked for"));
    assert_null(strstr(s.sent[0], "{{queries}}"));
    assert_null(cJSON_GetObjectItem(r->attempts[0].result, "objective_name"));
    assert_int_equal(r->answer, 0);
    ag_run_free(r);
    script_free(&s);
}

/* Last: --prompts-dir overrides stay for the process. A formulate template
 * without {{queries}} gets the block appended. */
static void test_template_without_placeholder(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp(), path[4200], err[256];
    snprintf(path, sizeof path, "%s/formulate.txt", dir);
    const char *tmpl = "Formulate it.\n";
    assert_int_equal(ts_write_file(path, tmpl, strlen(tmpl)), 0);
    assert_int_equal(ag_prompts_load_dir(dir, err, sizeof err), AG_OK);
    static const char *const replies[] = { MODEL("{\"name\":\"Units of x\",\"expression\":\"x\"}") };
    script s = { replies, 1, 0, { 0 }, { { 0 } } };
    const char *q[] = { "Units of x" };
    ag_run *r = run_with(&s, q, 1, 1);
    assert_int_equal(s.ncalls, 1);
    assert_non_null(strstr(s.sent[0], "[system]\nFormulate it.\n\n## The quantities asked for"));
    ag_run_free(r);
    script_free(&s);
    ts_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_in_the_system_message),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_worse_correction_keeps_the_answer),
        cmocka_unit_test(test_without_queries),
        cmocka_unit_test(test_colliding_names_corrected),
        cmocka_unit_test(test_placeholders_verbatim),
        cmocka_unit_test(test_template_without_placeholder),
    };
    return cmocka_run_group_tests_name("optibench_prompts", tests, NULL, NULL);
}
