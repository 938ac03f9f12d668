/* The agent pipeline over real HTTP to the fake OpenAI-compatible server:
 * first-try success, corrections driven by the exact diagnostics (the fake
 * server only answers the correction when the diagnostics are in it), the
 * correction limit, and every injected fault ending in a retry or a clear
 * error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"
#include "library/library.h"
#include "tests/library_insights.h"
#include "tests/support.h"
#include "tests/support_fake.h"
#include "solver/internal.h"   /* sv_ipopt_available */

#define KEY "sk-optagent-test-7f3e9c1d"

/* A correct formulation (optimum 420) and three broken variants. */
#define GOOD_JSON \
    "{\"format\": 1, \"name\": \"shop\"," \
    " \"sets\": [{\"name\": \"P\", \"elements\": [\"chair\", \"table\"]}]," \
    " \"parameters\": [{\"name\": \"profit\", \"index\": [\"P\"], \"values\": [30, 50]}," \
    "   {\"name\": \"hours\", \"index\": [\"P\"], \"values\": [2, 5]}," \
    "   {\"name\": \"boards\", \"index\": [\"P\"], \"values\": [3, 4]}]," \
    " \"variables\": [{\"name\": \"x\", \"index\": [\"P\"], \"type\": \"integer\"}]," \
    " \"objective\": {\"sense\": \"maximize\", \"expression\": \"sum{p in P} profit[p]*x[p]\"}," \
    " \"constraints\": [{\"name\": \"labor\", \"expression\": \"sum{p in P} hours[p]*x[p] <= 40\"}," \
    "   {\"name\": \"wood\", \"expression\": \"sum{p in P} boards[p]*x[p] <= 36\"}," \
    "   {\"name\": \"tables\", \"expression\": \"x['table'] >= 2\"}]}"

#define UNDECLARED_JSON \
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}]," \
    " \"objective\": {\"sense\": \"max\", \"expression\": \"price * x\"}," \
    " \"constraints\": [{\"name\": \"cap\", \"expression\": \"x <= 10\"}]}"

#define PRODUCT_JSON \
    "{\"format\": 1, \"variables\": [{\"name\": \"w\"}, {\"name\": \"h\"}]," \
    " \"objective\": {\"sense\": \"min\", \"expression\": \"w + h\"}," \
    " \"constraints\": [{\"name\": \"area\", \"expression\": \"w*h >= 24\"}]}"

#define INFEASIBLE_JSON \
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}]," \
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}," \
    " \"constraints\": [{\"name\": \"low\", \"expression\": \"x >= 10\"}," \
    "   {\"name\": \"high\", \"expression\": \"x <= 5\"}]}"

static char *fenced(const char *json)
{
    /* the way chat models answer: prose and a fenced block */
    size_t n = strlen(json) + 128;
    char *s = malloc(n);
    snprintf(s, n, "Here is the formulation.\n\n```json\n%s\n```\n", json);
    return s;
}

/* A REPLY object of the fake server's script with content text. */
static cJSON *reply_with(const char *content)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "content", content);
    cJSON *u = cJSON_AddObjectToObject(r, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 100);
    cJSON_AddNumberToObject(u, "completion_tokens", 50);
    return r;
}

static cJSON *fault(const char *kind, int status)
{
    cJSON *r = cJSON_CreateObject();
    if (kind) cJSON_AddStringToObject(r, "fault", kind);
    if (status) cJSON_AddNumberToObject(r, "status", status);
    return r;
}

static cJSON *rule(const char *task, const char *contains, cJSON *reply)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(r, "match");
    if (task) cJSON_AddStringToObject(m, "task", task);
    if (contains) cJSON_AddStringToObject(m, "content_contains", contains);
    cJSON_AddItemToObject(r, "reply", reply);
    return r;
}

static cJSON *rule_seq(const char *task, cJSON *seq)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(r, "match");
    if (task) cJSON_AddStringToObject(m, "task", task);
    cJSON_AddItemToObject(r, "sequence", seq);
    return r;
}

/* Starts the fake server with rules; default reply: no JSON at all. */
static ts_fake *start(cJSON *rules)
{
    cJSON *script = cJSON_CreateObject();
    cJSON_AddItemToObject(script, "rules", rules);
    cJSON_AddItemToObject(script, "default", reply_with("I am not sure how to model this."));
    char *text = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(text);
    free(text);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

static ag_llm *client(ts_fake *f, double timeout_s, int retries)
{
    ag_llm_config c;
    ag_llm_config_default(&c);
    c.base_url = strdup(ts_fake_base_url(f));
    c.model = strdup("fake-model");
    c.api_key = strdup(KEY);
    c.timeout_s = timeout_s;
    c.connect_timeout_s = 2;
    c.max_retries = retries;
    c.backoff_base_s = 0.05;
    c.backoff_max_s = 0.2;
    ag_llm *l = ag_llm_new(&c);
    ag_llm_config_free(&c);
    assert_non_null(l);
    return l;
}

static ag_run *ask(ts_fake *f, int max_corrections, double timeout_s, int retries)
{
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);
    o.max_corrections = max_corrections;
    ag_llm *l = client(f, timeout_s, retries);
    ag_chat chat = ag_chat_direct(l);
    ag_run *r = ag_pipeline_run(&chat, &o, "p1", "A shop makes chairs and tables...", NULL);
    ag_llm_free(l);
    assert_non_null(r);
    return r;
}

/* The content of every message of request i, concatenated. */
static char *request_text(cJSON *reqs, int i)
{
    cJSON *req = cJSON_GetArrayItem(reqs, i);
    assert_non_null(req);
    cJSON *body = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(req, "body")));
    assert_non_null(body);
    size_t cap = 1, len = 0;
    char *all = calloc(1, 1);
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(body, "messages")) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
        size_t n = c ? strlen(c) : 0;
        cap += n + 1;
        all = realloc(all, cap);
        memcpy(all + len, c ? c : "", n);
        len += n;
        all[len++] = '\n';
        all[len] = 0;
    }
    cJSON_Delete(body);
    return all;
}

static const char *task_of(cJSON *reqs, int i)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i), "task"));
}

static void test_first_reply_solves(void **state)
{
    (void)state;
    char *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(good)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 10, 2);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->nattempts, 1);
    assert_true(r->has_objective);
    assert_true(ts_close(r->objective, 420));
    assert_true(r->proven);                      /* a MILP optimum is proven */
    assert_int_equal(r->prompt_tokens, 100);
    assert_int_equal(r->completion_tokens, 50);
    cJSON *reqs = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(reqs), 1);
    assert_string_equal(task_of(reqs, 0), "formulate");
    char *text = request_text(reqs, 0);
    assert_non_null(strstr(text, "A shop makes chairs and tables"));
    assert_non_null(strstr(text, "five-element formulation"));   /* the prompt */
    free(text);
    cJSON_Delete(reqs);
    ag_run_free(r);
    ts_fake_stop(f);
    free(good);
}

/* With the nonlinear backends, a nonlinear model's local optimum is a solved
 * outcome (not corrected), and the run says whether the optimum is proven.
 * Without them the model is unsupported (test_corrects_product_of_variables). */
static void test_local_optimum_is_trusted(void **state)
{
    (void)state;
    if (!sv_ipopt_available()) skip();
    char *prod = fenced(PRODUCT_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(prod)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 10, 2);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->nattempts, 1);
    assert_true(ts_close_tol(r->objective, 2 * sqrt(24.0), 1e-5));
    cJSON *j = ag_run_json(r);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "status"));
    assert_non_null(status);
    assert_true(!strcmp(status, "local_optimal") || !strcmp(status, "optimal"));
    assert_int_equal(r->proven, !strcmp(status, "optimal"));
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(j, "proven")), r->proven);
    cJSON_Delete(j);
    ag_run_free(r);
    ts_fake_stop(f);
    free(prod);
}

/* The formulate reply is broken; the correction is answered correctly only
 * when the request carries the diagnostic text. */
static void corrected_after(const char *broken_json, const char *diagnostic)
{
    char *bad = fenced(broken_json), *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(bad)));
    cJSON_AddItemToArray(rules, rule("correct", diagnostic, reply_with(good)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 10, 2);
    if (r->outcome != AG_OUTCOME_OK) {
        cJSON *j = ag_run_json(r);
        char *s = cJSON_Print(j);
        print_error("run:\n%s\n", s);
        free(s);
        cJSON_Delete(j);
    }
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->nattempts, 2);
    assert_true(ts_close(r->objective, 420));
    cJSON *reqs = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(reqs), 2);
    assert_string_equal(task_of(reqs, 1), "correct");
    char *text = request_text(reqs, 1);
    assert_non_null(strstr(text, diagnostic));
    /* the previous formulation goes back with the diagnostics */
    assert_non_null(strstr(text, bad));
    free(text);
    cJSON_Delete(reqs);
    ag_run_free(r);
    ts_fake_stop(f);
    free(bad);
    free(good);
}

static void test_corrects_undeclared_symbol(void **state)
{
    (void)state;
    corrected_after(UNDECLARED_JSON, "undeclared name 'price'");
}

/* A product of variables is solved now (Ipopt); a step function of a
 * continuous variable is what the nonlinear solver still refuses. */
#define STEP_JSON \
    "{\"format\": 1, \"variables\": [{\"name\": \"w\", \"upper\": 9}]," \
    " \"objective\": {\"sense\": \"max\", \"expression\": \"floor(w) + w*w\"}," \
    " \"constraints\": [{\"name\": \"cap\", \"expression\": \"w <= 9\"}]}"

static void test_corrects_product_of_variables(void **state)
{
    (void)state;
    corrected_after(sv_ipopt_available() ? STEP_JSON : PRODUCT_JSON,
                    sv_ipopt_available() ? "floor of a variable is a step function"
                                         : "product of variables w*h");
}

static void test_corrects_infeasible(void **state)
{
    (void)state;
    corrected_after(INFEASIBLE_JSON, "Result: infeasible");
}

static void test_corrects_reply_without_json(void **state)
{
    (void)state;
    char *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with("Let me think about the decision variables first.")));
    cJSON_AddItemToArray(rules, rule("correct", "no formulation found", reply_with(good)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 10, 2);
    assert_int_equal(r->attempts[0].outcome, AG_OUTCOME_NO_JSON);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->nattempts, 2);
    ag_run_free(r);
    ts_fake_stop(f);
    free(good);
}

static void test_stops_at_the_limit(void **state)
{
    (void)state;
    char *bad = fenced(UNDECLARED_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule(NULL, NULL, reply_with(bad)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 2, 10, 2);
    assert_int_equal(r->outcome, AG_OUTCOME_INVALID);
    assert_int_equal(r->nattempts, 3);
    assert_false(r->has_objective);
    cJSON *reqs = ts_fake_requests(f, 3);
    assert_int_equal(cJSON_GetArraySize(reqs), 3);
    cJSON *j = ag_run_json(r);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "outcome")), "invalid");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "attempts")), 3);
    assert_int_equal(cJSON_GetObjectItem(j, "corrections")->valueint, 2);
    cJSON_Delete(j);
    cJSON_Delete(reqs);
    ag_run_free(r);
    ts_fake_stop(f);
    free(bad);
}

/* fault first, then the good reply: the client retries through it */
static void retried_through(cJSON *first)
{
    char *good = fenced(GOOD_JSON);
    cJSON *seq = cJSON_CreateArray();
    cJSON_AddItemToArray(seq, first);
    cJSON_AddItemToArray(seq, reply_with(good));
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule_seq("formulate", seq));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 0, 3, 3);
    if (r->outcome != AG_OUTCOME_OK)
        print_error("llm error: %s\n", r->attempts[0].llm_error ? r->attempts[0].llm_error : "-");
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_true(r->attempts[0].http_attempts >= 2);
    ag_run_free(r);
    ts_fake_stop(f);
    free(good);
}

static void test_fault_429_retry_after(void **state)
{
    (void)state;
    cJSON *f = fault(NULL, 429);
    cJSON_AddNumberToObject(f, "retry_after", 1);
    retried_through(f);
}

static void test_fault_500(void **state) { (void)state; retried_through(fault(NULL, 500)); }
static void test_fault_503(void **state) { (void)state; retried_through(fault(NULL, 503)); }
static void test_fault_reset(void **state) { (void)state; retried_through(fault("reset", 0)); }
static void test_fault_truncated(void **state) { (void)state; retried_through(fault("truncate", 0)); }
static void test_fault_stall(void **state) { (void)state; retried_through(fault("stall", 0)); }

/* A fault that never clears ends in a clear LLM error, not a hang. */
static void fails_clearly(cJSON *always, const char *words)
{
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule(NULL, NULL, always));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 1, 1);
    assert_int_equal(r->outcome, AG_OUTCOME_LLM_ERROR);
    assert_int_equal(r->nattempts, 1);
    assert_non_null(r->attempts[0].llm_error);
    if (!strstr(r->attempts[0].llm_error, words))
        print_error("error '%s' does not say '%s'\n", r->attempts[0].llm_error, words);
    assert_non_null(strstr(r->attempts[0].llm_error, words));
    assert_null(strstr(r->attempts[0].llm_error, KEY));
    ag_run_free(r);
    ts_fake_stop(f);
}

static void test_fault_not_json(void **state) { (void)state; fails_clearly(fault("not_json", 0), "JSON"); }
static void test_fault_empty_choices(void **state) { (void)state; fails_clearly(fault("empty_choices", 0), "choices"); }
static void test_fault_stall_forever(void **state) { (void)state; fails_clearly(fault("stall", 0), "time"); }
static void test_fault_401_not_retried(void **state)
{
    (void)state;
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule(NULL, NULL, fault(NULL, 401)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 3, 2, 3);
    assert_int_equal(r->outcome, AG_OUTCOME_LLM_ERROR);
    assert_non_null(strstr(r->attempts[0].llm_error, "401"));
    cJSON *reqs = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(reqs), 1);
    cJSON_Delete(reqs);
    ag_run_free(r);
    ts_fake_stop(f);
}

/* The key goes in the Authorization header and nowhere else. */
static void test_key_stays_in_the_header(void **state)
{
    (void)state;
    char *bad = fenced(UNDECLARED_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule(NULL, NULL, reply_with(bad)));
    ts_fake *f = start(rules);
    ag_run *r = ask(f, 1, 5, 1);
    cJSON *j = ag_run_json(r);
    char *s = cJSON_PrintUnformatted(j);
    assert_null(strstr(s, KEY));
    cJSON *reqs = ts_fake_requests(f, 2);
    const char *auth = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "headers"), "authorization"));
    assert_non_null(auth);
    assert_string_equal(auth, "Bearer " KEY);
    char *t0 = request_text(reqs, 0), *t1 = request_text(reqs, 1);
    assert_null(strstr(t0, KEY));
    assert_null(strstr(t1, KEY));
    free(t0); free(t1);
    free(s);
    cJSON_Delete(j);
    cJSON_Delete(reqs);
    ag_run_free(r);
    ts_fake_stop(f);
    free(bad);
}

/* ---- the experience library in the pipeline ---- */

/* A library file in dir holding lib_insights (or nothing when json is NULL). */
static lib *make_library(const char *dir, const char *json)
{
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/library.db", dir);
    lib_code c;
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    assert_non_null(l);
    if (json) {
        lib_import_stats st;
        assert_int_equal(lib_import_text(l, json, strlen(json), "test", &st, err, sizeof err), LIB_OK);
    }
    return l;
}

static ag_run *ask_with(ts_fake *f, const ag_pipeline_options *o, const char *problem)
{
    ag_llm *l = client(f, 10, 1);
    ag_chat chat = ag_chat_direct(l);
    ag_run *r = ag_pipeline_run(&chat, o, "p1", problem, NULL);
    ag_llm_free(l);
    assert_non_null(r);
    return r;
}

/* The prompt block of insight id as the library formats it. */
static char *block_of(lib *l, int64_t id)
{
    lib_insight ins;
    memset(&ins, 0, sizeof ins);
    assert_int_equal(lib_get(l, id, &ins), LIB_OK);
    const lib_insight *v[] = { &ins };
    char *s = NULL;
    assert_int_equal(lib_format_for_prompt(v, 1, &s), LIB_OK);
    lib_insight_clear(&ins);
    /* without the heading: the insight's own part */
    char *own = strdup(strstr(s, "### Insight"));
    free(s);
    return own;
}

/* Retrieved insights go verbatim into the formulate request and into the
 * correct request; the run and every attempt record them. */
static void test_library_insights_in_requests(void **state)
{
    (void)state;
    char *bad = fenced(UNDECLARED_JSON), *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", "MARKER-12", reply_with(bad)));
    cJSON_AddItemToArray(rules, rule("correct", "MARKER-7", reply_with(good)));
    ts_fake *f = start(rules);
    char *dir = ts_mkdtemp();
    lib *l = make_library(dir, lib_insights);
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);
    o.library = l;
    ag_run *r = ask_with(f, &o, LIB_PROBLEM);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_int_equal(r->nattempts, 2);
    assert_int_equal(r->retrieval.nhits, 2);
    assert_string_equal(r->retrieval.refs, "12@1,7@1");
    assert_true(r->retrieval.hits[0].score > r->retrieval.hits[1].score);
    for (int k = 0; k < 2; k++) {
        assert_string_equal(r->attempts[k].insights, "12@1,7@1");
        assert_int_equal(r->attempts[k].ncarried, 2);
        assert_int_equal(r->attempts[k].carried[1].id, 7);
    }
    cJSON *reqs = ts_fake_requests(f, 2);
    char *b12 = block_of(l, 12), *b7 = block_of(l, 7);
    for (int i = 0; i < 2; i++) {
        char *text = request_text(reqs, i);
        assert_non_null(strstr(text, "## Insights from earlier problems"));
        assert_non_null(strstr(text, b12));   /* verbatim, whole */
        assert_non_null(strstr(text, b7));
        /* once per request: the correct request repeats the system message */
        assert_null(strstr(strstr(text, b12) + 1, b12));
        free(text);
    }
    assert_string_equal(task_of(reqs, 1), "correct");
    cJSON *j = ag_run_json(r);
    cJSON *ins = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "attempts"), 1), "insights");
    assert_int_equal(cJSON_GetArraySize(ins), 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 0), "id")->valueint, 12);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 0), "version")->valueint, 1);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(ins, 0), "score")->valuedouble > 1.5);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "retrieval"), "refs")),
                        "12@1,7@1");
    cJSON_Delete(j);
    free(b12); free(b7);
    cJSON_Delete(reqs);
    ag_run_free(r);
    lib_close(l);
    ts_rmtree(dir);
    free(dir);
    ts_fake_stop(f);
    free(bad); free(good);
}

/* The body of the first logged request (the messages with model and
 * sampling), as sent. */
static char *first_body(ts_fake *f)
{
    cJSON *reqs = ts_fake_requests(f, 1);
    char *b = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body")));
    cJSON_Delete(reqs);
    return b;
}

/* No library, a library with nothing that applies, and one that is empty:
 * the request is the same, byte for byte, and its system message is the
 * formulate template as it was before the placeholder (the template with
 * "{{insights}}" taken out). */
static void test_library_none_sends_the_same_bytes(void **state)
{
    (void)state;
    char *good = fenced(GOOD_JSON);
    char *dir = ts_mkdtemp();
    char *bodies[3];
    lib *l = make_library(dir, lib_insights);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/empty", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    lib *empty = make_library(sub, NULL);
    for (int i = 0; i < 3; i++) {
        cJSON *rules = cJSON_CreateArray();
        cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(good)));
        ts_fake *f = start(rules);
        ag_pipeline_options o;
        ag_pipeline_options_default(&o);
        o.library = i == 1 ? l : i == 2 ? empty : NULL;
        ag_run *r = ask_with(f, &o, LIB_UNRELATED);
        assert_int_equal(r->outcome, AG_OUTCOME_OK);
        if (i) {
            assert_int_equal(r->retrieval.used, 1);
            assert_int_equal(r->retrieval.nhits, 0);
            assert_string_equal(r->attempts[0].insights, "");   /* recorded, empty */
        } else {
            assert_null(r->attempts[0].insights);
        }
        bodies[i] = first_body(f);
        ag_run_free(r);
        ts_fake_stop(f);
    }
    assert_string_equal(bodies[0], bodies[1]);
    assert_string_equal(bodies[0], bodies[2]);
    cJSON *body = cJSON_Parse(bodies[0]);
    const char *sys = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"), 0), "content"));
    /* the template without its placeholders ({{queries}} too: no queries) */
    const char *tmpl = ag_prompt("formulate");
    assert_non_null(strstr(tmpl, "{{insights}}"));
    char *bare = ag_template_fill(tmpl, (const char *[]){ "insights", "queries" },
                                  (const char *[]){ "", "" }, 2);
    assert_int_equal(strlen(sys), strlen(tmpl) - strlen("{{insights}}") -
                     (strstr(tmpl, "{{queries}}") ? strlen("{{queries}}") : 0));
    assert_string_equal(sys, bare);
    free(bare);
    assert_null(strstr(bodies[0], "Insights from earlier"));
    cJSON_Delete(body);
    for (int i = 0; i < 3; i++) free(bodies[i]);
    lib_close(l);
    lib_close(empty);
    ts_rmtree(dir);
    free(dir);
    free(good);
}

/* --retrieve llm: a check request lists the hits; the one it leaves out is
 * not carried. A malformed check reply keeps every hit and is recorded. */
static void test_library_llm_check(void **state)
{
    (void)state;
    char *good = fenced(GOOD_JSON);
    char *dir = ts_mkdtemp();
    lib *l = make_library(dir, lib_insights);
    const char *checks[] = { "```json\n{\"applicable\": [7]}\n```", "I think both apply." };
    for (int i = 0; i < 2; i++) {
        cJSON *rules = cJSON_CreateArray();
        cJSON_AddItemToArray(rules, rule("check", "MARKER-12", reply_with(checks[i])));
        cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(good)));
        ts_fake *f = start(rules);
        ag_pipeline_options o;
        ag_pipeline_options_default(&o);
        o.library = l;
        o.retrieve_llm = 1;
        ag_run *r = ask_with(f, &o, LIB_PROBLEM);
        assert_int_equal(r->outcome, AG_OUTCOME_OK);
        assert_true(r->retrieval.checked);
        assert_int_equal(r->retrieval.nhits, 2);   /* what BM25 found is recorded */
        cJSON *reqs = ts_fake_requests(f, 2);
        assert_int_equal(cJSON_GetArraySize(reqs), 2);
        assert_string_equal(task_of(reqs, 0), "check");
        assert_string_equal(task_of(reqs, 1), "formulate");
        char *text = request_text(reqs, 1);
        if (i == 0) {
            assert_null(r->retrieval.check_error);
            assert_string_equal(r->attempts[0].insights, "7@1");
            assert_null(strstr(text, "MARKER-12"));
            assert_non_null(strstr(text, "MARKER-7"));
        } else {
            assert_non_null(r->retrieval.check_error);
            assert_non_null(strstr(r->retrieval.check_error, "malformed check reply"));
            assert_string_equal(r->attempts[0].insights, "12@1,7@1");
            assert_non_null(strstr(text, "MARKER-12"));
        }
        assert_int_equal(r->prompt_tokens, 200);   /* the check's tokens count */
        free(text);
        cJSON_Delete(reqs);
        ag_run_free(r);
        ts_fake_stop(f);
    }
    lib_close(l);
    ts_rmtree(dir);
    free(dir);
    free(good);
}

/* Learning's verify: task "verify", a candidate (id 0) carried after the
 * retrieved insights; corrections stay "correct". */
static void test_library_verify_candidate(void **state)
{
    (void)state;
    char *bad = fenced(UNDECLARED_JSON), *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("verify", "CANDIDATE-MARKER", reply_with(bad)));
    cJSON_AddItemToArray(rules, rule("correct", "CANDIDATE-MARKER", reply_with(good)));
    ts_fake *f = start(rules);
    char *dir = ts_mkdtemp();
    lib *l = make_library(dir, lib_insights);
    lib_insight cand;
    memset(&cand, 0, sizeof cand);
    cand.taxonomy[0] = "General Formulation";
    cand.ntaxonomy = 1;
    cand.condition = "Applies when ... CANDIDATE-MARKER";
    cand.explanation = "When ...";
    cand.example = "Wrong: ... Right: ...";
    const lib_insight *extra[] = { &cand };
    ag_pipeline_options o;
    ag_pipeline_options_default(&o);
    o.library = l;
    o.extra = extra;
    o.nextra = 1;
    o.task = "verify";
    ag_run *r = ask_with(f, &o, LIB_PROBLEM);
    assert_int_equal(r->outcome, AG_OUTCOME_OK);
    assert_string_equal(r->attempts[0].stage, "verify");
    assert_string_equal(r->attempts[1].stage, "correct");
    assert_string_equal(r->attempts[0].insights, "12@1,7@1,0@1");
    assert_true(r->attempts[0].carried[2].candidate);
    cJSON *reqs = ts_fake_requests(f, 2);
    char *text = request_text(reqs, 0);
    assert_non_null(strstr(text, "### Insight\nTaxonomy: General Formulation\nCondition: Applies when ... CANDIDATE-MARKER"));
    free(text);
    cJSON_Delete(reqs);
    ag_run_free(r);
    lib_close(l);
    ts_rmtree(dir);
    free(dir);
    ts_fake_stop(f);
    free(bad); free(good);
}

/* ---- the optagent ask command, as a user runs it ---- */

static char *run_ask(ts_fake *f, const char *dir, const char *args, int *code, char **err)
{
    const char *b = getenv("OPTAGENT_BUILD");
    char cmd[4096], errpath[1024];
    snprintf(errpath, sizeof errpath, "%s/ask.err", dir);
    snprintf(cmd, sizeof cmd,
             "env -u OPENAI_BASE_URL -u OPENAI_API_KEY XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s %s%s%s "
             "%s/optagent ask %s 2>%s",
             dir, dir, f ? "OPTAGENT_BASE_URL=" : "", f ? ts_fake_base_url(f) : "",
             f ? " OPTAGENT_MODEL=fake" : "", b && *b ? b : "build", args, errpath);
    size_t len;
    int st;
    char *out = ts_run_capture(cmd, &len, &st);
    assert_non_null(out);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    *err = ts_read_file(errpath, &len);
    assert_non_null(*err);
    return out;
}

static void test_ask_command(void **state)
{
    (void)state;
    char *bad = fenced(UNDECLARED_JSON), *good = fenced(GOOD_JSON);
    cJSON *rules = cJSON_CreateArray();
    cJSON_AddItemToArray(rules, rule("formulate", "CUSTOM-PROMPT-MARKER", reply_with(good)));
    cJSON_AddItemToArray(rules, rule("formulate", NULL, reply_with(bad)));
    cJSON_AddItemToArray(rules, rule("correct", "undeclared name 'price'", reply_with(good)));
    ts_fake *f = start(rules);
    char *dir = ts_mkdtemp();
    char path[1024], args[2048];
    int code;
    char *err;

    /* text argument, summary */
    char *out = run_ask(f, dir, "'A shop makes chairs and tables'", &code, &err);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "outcome: ok after 2 attempts"));
    assert_non_null(strstr(out, "answer: 420"));
    assert_non_null(strstr(out, "x[table] = 6"));
    /* the formulation's size, not its JSON (ask --show-model shows it) */
    assert_non_null(strstr(out, "model: 1 set, 3 parameters, 1 variable, 3 constraints"));
    assert_null(strstr(out, "\"format\""));
    free(out); free(err);

    /* -f FILE, --json, --show-prompts */
    snprintf(path, sizeof path, "%s/problem.txt", dir);
    const char *problem = "A shop makes chairs and tables.\n";
    ts_write_file(path, problem, strlen(problem));
    snprintf(args, sizeof args, "-f %s --json --show-prompts", path);
    out = run_ask(f, dir, args, &code, &err);
    assert_int_equal(code, 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "outcome")), "ok");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "attempts")), 2);
    assert_true(ts_close(cJSON_GetObjectItem(j, "objective")->valuedouble, 420));
    cJSON_Delete(j);
    assert_non_null(strstr(err, "five-element formulation"));   /* prompts on stderr */
    assert_non_null(strstr(err, "undeclared name 'price'"));
    free(out); free(err);

    /* stdin, and --prompts-dir replacing the built-in prompt */
    char pdir[900];
    snprintf(pdir, sizeof pdir, "%s/prompts", dir);
    assert_int_equal(mkdir(pdir, 0700), 0);
    snprintf(path, sizeof path, "%s/formulate.txt", pdir);
    const char *prompt = "CUSTOM-PROMPT-MARKER: answer in format 1.\n";
    ts_write_file(path, prompt, strlen(prompt));
    snprintf(args, sizeof args, "--prompts-dir %s < %s/problem.txt", pdir, dir);
    out = run_ask(f, dir, args, &code, &err);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "outcome: ok after 1 attempt"));
    free(out); free(err);

    /* no endpoint: a clear error, exit 1 */
    out = run_ask(NULL, dir, "'anything'", &code, &err);
    assert_int_equal(code, 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "no LLM endpoint configured"));
    free(out); free(err);

    /* usage errors exit 2 */
    out = run_ask(f, dir, "--max-corrections many 'x'", &code, &err);
    assert_int_equal(code, 2);
    free(out); free(err);

    ts_rmtree(dir);
    free(dir);
    ts_fake_stop(f);
    free(bad); free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_reply_solves),
        cmocka_unit_test(test_local_optimum_is_trusted),
        cmocka_unit_test(test_corrects_undeclared_symbol),
        cmocka_unit_test(test_corrects_product_of_variables),
        cmocka_unit_test(test_corrects_infeasible),
        cmocka_unit_test(test_corrects_reply_without_json),
        cmocka_unit_test(test_stops_at_the_limit),
        cmocka_unit_test(test_fault_429_retry_after),
        cmocka_unit_test(test_fault_500),
        cmocka_unit_test(test_fault_503),
        cmocka_unit_test(test_fault_reset),
        cmocka_unit_test(test_fault_truncated),
        cmocka_unit_test(test_fault_stall),
        cmocka_unit_test(test_fault_not_json),
        cmocka_unit_test(test_fault_empty_choices),
        cmocka_unit_test(test_fault_stall_forever),
        cmocka_unit_test(test_fault_401_not_retried),
        cmocka_unit_test(test_key_stays_in_the_header),
        cmocka_unit_test(test_ask_command),
        cmocka_unit_test(test_library_insights_in_requests),
        cmocka_unit_test(test_library_none_sends_the_same_bytes),
        cmocka_unit_test(test_library_llm_check),
        cmocka_unit_test(test_library_verify_candidate),
    };
    return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
