/* The self-correction loop: formulate, extract, check, solve; anything short
 * of an optimal solution goes back to the LLM with the exact diagnostics and
 * the previous reply, up to max_corrections rounds.
 *
 * The experience library's insights (retrieve.c, once per problem) go into
 * the system message in place of the formulate template's {{insights}}:
 * every request of the run repeats the system message, so the formulate (or
 * verify) request and every correct request carry the same block once, and
 * a template without insights reads exactly as before.
 *
 * Queries (the quantities a benchmark question asks for, by name) work the
 * same way: a block listing the names takes the place of {{queries}} in the
 * system message, and {{queries}} of the correct template repeats them. A
 * solved attempt that leaves a query unanswered is sent back once more (a
 * correction like any other) with the missing names as its diagnostics. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/internal.h"

#define MAX_FEEDBACK_BYTES (32u << 10)

void ag_pipeline_options_default(ag_pipeline_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_corrections = 3;
    sv_options_default(&o->solve);
    o->solve.time_limit_s = AG_DEFAULT_TIME_LIMIT_S;
    fm_limits_default(&o->limits);
}

int ag_pipeline_options_env(ag_pipeline_options *o, char *err, size_t errlen)
{
    const char *v = getenv("OPTAGENT_TIME_LIMIT");
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d) || d < 0) {
        snprintf(err, errlen, "OPTAGENT_TIME_LIMIT expects seconds (a number >= 0, 0 for none), got '%.64s'", v);
        return -1;
    }
    o->solve.time_limit_s = d;
    return 0;
}

const char *ag_outcome_name(ag_outcome o)
{
    switch (o) {
    case AG_OUTCOME_OK: return "ok";
    case AG_OUTCOME_LLM_ERROR: return "llm_error";
    case AG_OUTCOME_NO_JSON: return "no_json";
    case AG_OUTCOME_INVALID: return "invalid";
    case AG_OUTCOME_NONLINEAR: return "nonlinear";
    case AG_OUTCOME_INFEASIBLE: return "infeasible";
    case AG_OUTCOME_UNBOUNDED: return "unbounded";
    case AG_OUTCOME_TIME_LIMIT: return "time_limit";
    case AG_OUTCOME_SOLVER_ERROR: return "solver_error";
    case AG_OUTCOME_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}

static const char *guidance(ag_outcome o)
{
    switch (o) {
    case AG_OUTCOME_NO_JSON:
        return "No formulation was found in your reply.";
    case AG_OUTCOME_INVALID:
        return "The formulation failed its checks. Each diagnostic names the element and, where it matters, the index.";
    case AG_OUTCOME_NONLINEAR:
        return "The solver could not handle this nonlinear model (see the diagnostics). Write it with linear terms where the problem allows (binary variables with big-M, auxiliary variables, fixed factors); keep only smooth nonlinear terms the problem needs (products, powers, ratios with a positive denominator, sqrt, exp, log of positive quantities).";
    case AG_OUTCOME_INFEASIBLE:
        return "No solution satisfies all the constraints at once. Check the direction of each inequality, units, right-hand sides, integrality, and whether a requirement was stated more strictly than the problem says.";
    case AG_OUTCOME_UNBOUNDED:
        return "The objective can improve without limit: a constraint or a bound is missing (a capacity, a demand, nonnegativity), or the sense (maximize/minimize) is wrong.";
    case AG_OUTCOME_TIME_LIMIT:
        return "The solver reached its time limit without proving optimality. Simplify the model: tighter bounds, fewer integer variables, smaller big-M constants.";
    default:
        return "";
    }
}

/* Appends the diagnostics of a report to buf as one line each. */
static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > MAX_FEEDBACK_BYTES) return;   /* the LLM needs the first ones */
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *nb = realloc(*buf, c);
        if (!nb) return;
        *buf = nb; *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static char *diagnostics_text(const cJSON *report, const char *extract_why)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    append(&buf, &len, &cap, "");
    if (extract_why) {
        append(&buf, &len, &cap, "- ");
        append(&buf, &len, &cap, extract_why);
        append(&buf, &len, &cap, "\n");
    }
    const cJSON *dl = report ? cJSON_GetObjectItem(report, "diagnostics") : NULL, *d;
    int shown = 0;
    cJSON_ArrayForEach(d, dl) {
        const char *sev = cJSON_GetStringValue(cJSON_GetObjectItem(d, "severity"));
        const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(d, "element"));
        const char *ix = cJSON_GetStringValue(cJSON_GetObjectItem(d, "index"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(d, "message"));
        const char *hint = cJSON_GetStringValue(cJSON_GetObjectItem(d, "hint"));
        char line[1600];
        snprintf(line, sizeof line, "- %s %s%s%s: %s%s%s%s\n", sev ? sev : "", el ? el : "",
                 ix && *ix ? " " : "", ix ? ix : "", msg ? msg : "",
                 hint && *hint ? " (hint: " : "", hint && *hint ? hint : "", hint && *hint ? ")" : "");
        append(&buf, &len, &cap, line);
        shown++;
    }
    const char *smsg = report ? cJSON_GetStringValue(cJSON_GetObjectItem(report, "message")) : NULL;
    if (smsg) {
        append(&buf, &len, &cap, "- solver: ");
        append(&buf, &len, &cap, smsg);
        append(&buf, &len, &cap, "\n");
        shown++;
    }
    if (!shown && !extract_why) append(&buf, &len, &cap, "- (none)\n");
    return buf;
}

/* ---- queries ---------------------------------------------------------------- */

static int ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

int ag_query_name_eq(const char *a, const char *b)
{
    if (!a || !b) return 0;
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    int any = 0;
    for (;;) {
        while (*p && !ascii_alnum(*p)) p++;
        while (*q && !ascii_alnum(*q)) q++;
        if (!*p || !*q) return !*p && !*q && any;
        if (ascii_lower(*p) != ascii_lower(*q)) return 0;
        any = 1;
        p++;
        q++;
    }
}

/* The queries listed and checked: the first AG_MAX_QUERIES, each of 1 to
 * AG_MAX_QUERY_NAME bytes. */
static size_t queries_count(const ag_pipeline_options *o)
{
    if (!o->queries) return 0;
    return o->nqueries < AG_MAX_QUERIES ? o->nqueries : AG_MAX_QUERIES;
}

static int query_usable(const char *q)
{
    return q && *q && strnlen(q, AG_MAX_QUERY_NAME + 1) <= AG_MAX_QUERY_NAME;
}

/* Appends name as a JSON string: verbatim, with only quotes, backslashes and
 * control characters escaped (a newline must not break the list). */
static void append_quoted(char **buf, size_t *len, size_t *cap, const char *name)
{
    cJSON *s = cJSON_CreateString(name);
    char *q = s ? cJSON_PrintUnformatted(s) : NULL;
    append(buf, len, cap, q ? q : "\"?\"");
    free(q);
    cJSON_Delete(s);
}

/* The system message's block: every query name on its own line, followed by
 * a blank line; "" without queries. NULL when out of memory. */
static char *queries_block(const ag_pipeline_options *o)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, shown = 0;
    append(&buf, &len, &cap, "");
    for (size_t i = 0; i < queries_count(o); i++) {
        if (!query_usable(o->queries[i])) continue;
        if (!shown++)
            append(&buf, &len, &cap,
                   "## The quantities asked for\n\n"
                   "The question asks for the quantities below. Give each one a \"report\" entry "
                   "whose \"name\" is exactly the text in quotes, copied as written (spaces, "
                   "capitals and punctuation included). The quantity that is the objective itself "
                   "may instead be answered by naming the objective after it (letters, digits and "
                   "_ only, e.g. \"objective\": {\"name\": \"Total_profit\", ...} for \"Total "
                   "profit\").\n");
        append(&buf, &len, &cap, "- ");
        append_quoted(&buf, &len, &cap, o->queries[i]);
        append(&buf, &len, &cap, "\n");
    }
    if (shown) append(&buf, &len, &cap, "\n");
    return buf;
}

/* The correct template's reminder: the names on one line, then a blank
 * line; "" without queries. NULL when out of memory. */
static char *queries_reminder(const ag_pipeline_options *o)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, shown = 0;
    append(&buf, &len, &cap, "");
    for (size_t i = 0; i < queries_count(o); i++) {
        if (!query_usable(o->queries[i])) continue;
        append(&buf, &len, &cap, shown++ ? ", " :
               "The question asks for these quantities: keep a \"report\" entry named exactly as "
               "each (or the objective named after its own): ");
        append_quoted(&buf, &len, &cap, o->queries[i]);
    }
    if (shown) append(&buf, &len, &cap, ".\n\n");
    return buf;
}

/* The name the formulation gives its objective, or NULL (none, or out of
 * memory). The caller frees. */
static char *objective_name(const char *formulation)
{
    cJSON *f = formulation ? cJSON_Parse(formulation) : NULL;
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f, "objective"), "name"));
    char *s = n && *n ? strdup(n) : NULL;
    cJSON_Delete(f);
    return s;
}

/* 1 when name is exactly one of the queries. */
static int is_query_name(const ag_pipeline_options *o, const char *name)
{
    for (size_t i = 0; name && i < queries_count(o); i++)
        if (o->queries[i] && !strcmp(o->queries[i], name)) return 1;
    return 0;
}

/* 1 when entry name answers query q, as the evaluator reads it
 * (agent/eval/grade.c): its exact name, or the same after normalisation
 * when it is not exactly another query's name ("x_1" does not answer "X1"
 * when "x_1" is also asked for). */
static int answers(const ag_pipeline_options *o, const char *name, const char *q)
{
    if (!name) return 0;
    if (!strcmp(name, q)) return 1;
    return ag_query_name_eq(name, q) && !is_query_name(o, name);
}

/* 1 when query q is answered by a solved attempt: a numeric "report" entry
 * or the objective's name equal to it. */
static int query_answered(const ag_pipeline_options *o, const cJSON *result, const char *q)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(result, "report"))
        if (cJSON_IsNumber(e) && answers(o, e->string, q)) return 1;
    return answers(o, cJSON_GetStringValue(cJSON_GetObjectItem(result, "objective_name")), q);
}

/* "- report: no entry named "Q"" for each query a solved attempt leaves
 * unanswered (NULL when none, or out of memory); *count how many. A name
 * without a letter or digit can never be matched: it is not asked again. */
static char *missing_queries(const ag_pipeline_options *o, const ag_attempt *a, size_t *count)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *count = 0;
    for (size_t i = 0; i < queries_count(o); i++) {
        const char *q = o->queries[i];
        if (!query_usable(q) || !ag_query_name_eq(q, q) || query_answered(o, a->result, q)) continue;
        if (!*count) append(&buf, &len, &cap, "");
        append(&buf, &len, &cap, "- report: no entry named ");
        append_quoted(&buf, &len, &cap, q);
        append(&buf, &len, &cap, " (and the objective is not named after it)\n");
        (*count)++;
    }
    return buf;
}

/* A solved attempt of a run with queries: its result records the
 * objective's name (what a query may be answered by). */
static void note_objective_name(ag_attempt *a)
{
    char *n = objective_name(a->formulation);
    if (n && a->result && !cJSON_GetObjectItem(a->result, "objective_name"))
        cJSON_AddStringToObject(a->result, "objective_name", n);
    free(n);
}

#define QUERY_GUIDANCE \
    "The model was solved, but the question asks for quantities your formulation does not " \
    "report. Keep what is right and add a \"report\" entry for each quantity listed below, " \
    "named exactly as written (the objective's own quantity may instead be answered by naming " \
    "the objective after it)."

void agi_add_message(cJSON *msgs, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(msgs, m);
}

static ag_outcome outcome_of(sv_status s)
{
    switch (s) {
    case SV_STATUS_OPTIMAL: case SV_STATUS_LOCAL_OPTIMAL: return AG_OUTCOME_OK;
    case SV_STATUS_INFEASIBLE: return AG_OUTCOME_INFEASIBLE;
    case SV_STATUS_UNBOUNDED: case SV_STATUS_INF_OR_UNBD: return AG_OUTCOME_UNBOUNDED;
    case SV_STATUS_FEASIBLE: case SV_STATUS_TIME_LIMIT: return AG_OUTCOME_TIME_LIMIT;
    case SV_STATUS_UNSUPPORTED: return AG_OUTCOME_NONLINEAR;
    case SV_STATUS_INTERRUPTED: return AG_OUTCOME_INTERRUPTED;
    default: return AG_OUTCOME_INVALID;
    }
}

/* Checks and solves one extracted formulation through the one solve path
 * (sv_run_text); fills a->result, a->outcome. A backend failure is a solver
 * error, reported with status invalid; running out of memory before a
 * program exists counts as invalid. */
static void check_and_solve(const ag_pipeline_options *o, ag_attempt *a, double *solve_ms,
                            volatile int *cancel)
{
    sv_run_options ro;
    sv_run_options_default(&ro);
    ro.limits = o->limits;
    ro.solve = o->solve;
    if (!ro.solve.cancel) ro.solve.cancel = cancel;
    double t0 = fm_clock_ms();
    sv_code code;
    sv_run *run = sv_run_text(a->formulation, strlen(a->formulation), &ro, &code);
    if (!run) a->outcome = AG_OUTCOME_SOLVER_ERROR;   /* out of memory */
    else if (code != SV_OK && sv_run_program(run)) a->outcome = AG_OUTCOME_SOLVER_ERROR;
    else a->outcome = outcome_of(sv_run_status(run));
    a->proven = run && sv_run_result(run) && sv_result_proven(sv_run_result(run));
    if (run) a->result = ag_solve_report(run, 0);
    *solve_ms += fm_clock_ms() - t0;
    sv_run_free(run);
}

/* The system message: the formulate template with the insight block in
 * place of {{insights}}. The block is followed by a blank line when there is
 * one and is "" otherwise, so that with no insights the text is the
 * template's without the placeholder, byte for byte. A template without the
 * placeholder (an older --prompts-dir) gets a non-empty block appended.
 * NULL when out of memory. */
/* s, then a newline and tail; s is freed. NULL when out of memory. */
static char *append_line(char *s, const char *tail)
{
    if (!s) return NULL;
    size_t a = strlen(s), b = strlen(tail);
    char *t = realloc(s, a + b + 2);
    if (!t) { free(s); return NULL; }
    t[a] = '\n';
    memcpy(t + a + 1, tail, b + 1);
    return t;
}

static char *system_text(const char *block, const char *qblock)
{
    const char *tmpl = ag_prompt("formulate");
    if (!tmpl) tmpl = "";
    int ins_here = !*block || strstr(tmpl, "{{insights}}");
    size_t b = strlen(block);
    char *val = malloc(b + 2);
    if (!val) return NULL;
    memcpy(val, block, b);
    memcpy(val + b, b ? "\n" : "", b ? 2 : 1);
    char *s = ag_template_fill(tmpl, (const char *[]){ "insights", "queries" },
                               (const char *[]){ ins_here ? val : "", qblock }, 2);
    free(val);
    if (!ins_here) s = append_line(s, block);
    if (*qblock && !strstr(tmpl, "{{queries}}")) s = append_line(s, qblock);
    return s;
}

/* The first user message: the problem, or for task "revise" the revise
 * template with the problem, the current formulation and the instruction.
 * NULL when out of memory. */
static char *user_text(const ag_pipeline_options *o, const char *problem)
{
    if (o->task && !strcmp(o->task, "revise")) {
        const char *keys[] = { "problem", "formulation", "instruction" };
        const char *vals[] = { problem, o->revise_formulation ? o->revise_formulation : "",
                               o->revise_instruction ? o->revise_instruction : "" };
        const char *tmpl = ag_prompt("revise");
        return ag_template_fill(tmpl ? tmpl : "Problem:\n{{problem}}\n\n{{formulation}}\n\n{{instruction}}",
                                keys, vals, 3);
    }
    return ag_template_fill("Problem:\n{{problem}}", (const char *[]){ "problem" },
                            (const char *[]){ problem }, 1);
}

static cJSON *build_messages(const ag_pipeline_options *o, const char *problem, const char *block,
                             const ag_attempt *prev, char **feedback_out)
{
    cJSON *msgs = cJSON_CreateArray();
    char *qblock = queries_block(o);
    char *sys = qblock ? system_text(block, qblock) : NULL;
    free(qblock);
    if (!sys) { cJSON_Delete(msgs); return NULL; }
    agi_add_message(msgs, "system", sys);
    free(sys);
    char *user = user_text(o, problem);
    agi_add_message(msgs, "user", user ? user : problem);
    free(user);
    if (prev) {
        /* The previous reply by reference (it lives in prev, freed after
         * these messages): a large reply is held once, not once per round. */
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddItemToObject(m, "content", cJSON_CreateStringReference(prev->reply ? prev->reply : ""));
        cJSON_AddItemToArray(msgs, m);
        const char *status = prev->result ? cJSON_GetStringValue(cJSON_GetObjectItem(prev->result, "status"))
                                          : ag_outcome_name(prev->outcome);
        if (prev->outcome == AG_OUTCOME_NO_JSON) status = "no formulation found";
        const char *guide = guidance(prev->outcome);
        char *diag;
        if (prev->outcome == AG_OUTCOME_OK) {   /* solved, but a query is unanswered */
            size_t n;
            status = "optimal, but quantities the question asks for are not reported";
            guide = QUERY_GUIDANCE;
            diag = missing_queries(o, prev, &n);
        } else {
            diag = diagnostics_text(prev->result, prev->extract_why);
        }
        char *remind = queries_reminder(o);
        const char *keys[] = { "status", "guidance", "diagnostics", "queries" };
        const char *vals[] = { status ? status : "", guide, diag ? diag : "", remind ? remind : "" };
        const char *tmpl = ag_prompt("correct");
        char *text = ag_template_fill(tmpl ? tmpl : "{{status}}\n{{guidance}}\n{{diagnostics}}{{queries}}",
                                      keys, vals, 4);
        agi_add_message(msgs, "user", text ? text : "");
        *feedback_out = text;
        free(diag);
        free(remind);
    }
    return msgs;
}

ag_llm_message *agi_llm_messages(const cJSON *msgs, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(msgs);
    ag_llm_message *v = calloc(*n ? *n : 1, sizeof *v);
    if (!v) return NULL;
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        v[i].role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
        v[i].content = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
        i++;
    }
    return v;
}

ag_run *ag_pipeline_run(const ag_chat *chat, const ag_pipeline_options *o,
                        const char *problem_id, const char *problem,
                        volatile int *cancel)
{
    ag_run *run = calloc(1, sizeof *run);
    if (!run) return NULL;
    run->problem_id = strdup(problem_id ? problem_id : "");
    run->problem = strdup(problem);
    int rounds = 1 + (o->max_corrections > 0 ? o->max_corrections : 0);
    run->attempts = calloc(rounds, sizeof *run->attempts);
    if (!run->problem || !run->problem_id || !run->attempts) { ag_run_free(run); return NULL; }
    run->outcome = AG_OUTCOME_LLM_ERROR;
    char *block = NULL;
    if (agi_retrieve(chat, o, run, cancel, &block) != 0) { ag_run_free(run); return NULL; }
    /* a static name: the run outlives o */
    const char *first = !o->task ? "formulate" : !strcmp(o->task, "verify") ? "verify"
                      : !strcmp(o->task, "revise") ? "revise" : "formulate";
    int solved = -1;   /* the last solved attempt */
    for (int k = 0; k < rounds; k++) {
        ag_attempt *a = &run->attempts[k];
        ag_attempt *prev = k ? &run->attempts[k - 1] : NULL;
        run->nattempts = k + 1;
        a->round = k;
        a->stage = k ? "correct" : first;
        a->insights = run->retrieval.refs;
        a->carried = run->retrieval.carried;
        a->ncarried = run->retrieval.ncarried;
        a->prompt_tokens = a->completion_tokens = -1;
        a->messages = build_messages(o, problem, block, prev, &a->feedback);
        size_t n;
        ag_llm_message *msgs = a->messages ? agi_llm_messages(a->messages, &n) : NULL;
        if (!msgs) { a->outcome = AG_OUTCOME_LLM_ERROR; a->llm_error = strdup("out of memory"); break; }
        ag_llm_reply *reply = NULL;
        ag_chat_call call = { run->problem_id, a->stage, k };
        ag_llm_code lc = chat->fn(chat->ctx, &call, msgs, n, cancel, &reply);
        free(msgs);
        if (reply) {
            a->prompt_tokens = reply->prompt_tokens;
            a->completion_tokens = reply->completion_tokens;
            a->latency_ms = reply->latency_ms;
            a->http_attempts = reply->attempts;
            run->latency_ms += reply->latency_ms;
            if (reply->prompt_tokens > 0) run->prompt_tokens += reply->prompt_tokens;
            if (reply->completion_tokens > 0) run->completion_tokens += reply->completion_tokens;
        }
        if (lc != AG_LLM_OK) {
            a->outcome = lc == AG_LLM_ECANCELLED ? AG_OUTCOME_INTERRUPTED : AG_OUTCOME_LLM_ERROR;
            a->llm_error = strdup(reply && reply->error ? reply->error : ag_llm_strerror(lc));
            ag_llm_reply_free(reply);
            run->outcome = a->outcome;
            break;   /* the client already retried what can be retried */
        }
        a->reply = reply->content ? reply->content : strdup("");   /* taken over, not copied */
        reply->content = NULL;
        ag_llm_reply_free(reply);
        char why[512] = "";
        ag_extract_code ec = ag_extract_formulation(a->reply, strlen(a->reply), &a->formulation,
                                                    NULL, why, sizeof why);
        if (ec != AG_EXTRACT_OK) {
            a->outcome = AG_OUTCOME_NO_JSON;
            a->extract_why = strdup(*why ? why : ag_extract_strerror(ec));
        } else {
            check_and_solve(o, a, &run->solve_ms, cancel);
        }
        run->outcome = a->outcome;
        if (a->outcome == AG_OUTCOME_OK) {
            const cJSON *obj = cJSON_GetObjectItem(a->result, "objective");
            run->has_objective = cJSON_IsNumber(obj);
            run->objective = run->has_objective ? obj->valuedouble : 0;
            run->proven = a->proven;
            solved = k;
            if (!queries_count(o)) break;
            note_objective_name(a);
            size_t missing = 0;
            free(missing_queries(o, a, &missing));
            if (!missing || k + 1 == rounds || (cancel && *cancel)) break;
            continue;   /* a correction round names the missing queries */
        }
        if (a->outcome == AG_OUTCOME_SOLVER_ERROR || a->outcome == AG_OUTCOME_INTERRUPTED) break;
        if (cancel && *cancel) { run->outcome = AG_OUTCOME_INTERRUPTED; break; }
    }
    run->answer = run->nattempts ? run->nattempts - 1 : 0;
    if (run->outcome != AG_OUTCOME_OK) {
        /* A query correction that ended worse than a solved attempt (failed,
         * or the LLM call did) keeps that attempt's answer; a run cut short
         * by the cancel flag stays interrupted (redone on resume). */
        if (solved >= 0 && run->outcome != AG_OUTCOME_INTERRUPTED) {
            run->answer = solved;
            run->outcome = AG_OUTCOME_OK;
        } else {
            run->has_objective = 0;
        }
    }
    free(block);
    return run;
}

void ag_run_free(ag_run *r)
{
    if (!r) return;
    for (int k = 0; k < r->nattempts; k++) {
        ag_attempt *a = &r->attempts[k];
        cJSON_Delete(a->messages);
        free(a->reply); free(a->llm_error); free(a->formulation); free(a->extract_why);
        cJSON_Delete(a->result);
        free(a->feedback);
    }
    free(r->attempts);
    agi_retrieval_clear(&r->retrieval);
    free(r->problem_id);
    free(r->problem);
    free(r);
}

cJSON *ag_run_json(const ag_run *r)
{
    cJSON *o = cJSON_CreateObject();
    if (*r->problem_id) cJSON_AddStringToObject(o, "id", r->problem_id);
    cJSON_AddStringToObject(o, "problem", r->problem);
    cJSON_AddStringToObject(o, "outcome", ag_outcome_name(r->outcome));
    if (r->has_objective) cJSON_AddNumberToObject(o, "objective", r->objective);
    else cJSON_AddNullToObject(o, "objective");
    cJSON_AddBoolToObject(o, "proven", r->outcome == AG_OUTCOME_OK && r->proven);
    cJSON_AddNumberToObject(o, "corrections", r->nattempts > 0 ? r->nattempts - 1 : 0);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)r->completion_tokens);
    cJSON_AddNumberToObject(o, "llm_ms", r->latency_ms);
    cJSON_AddNumberToObject(o, "solve_ms", r->solve_ms);
    const ag_attempt *ans = r->nattempts ? &r->attempts[r->answer < r->nattempts ? r->answer : r->nattempts - 1] : NULL;
    if (ans && ans->result) cJSON_AddItemToObject(o, "result", cJSON_Duplicate(ans->result, 1));
    if (ans && r->answer != r->nattempts - 1) cJSON_AddNumberToObject(o, "answer_round", ans->round);
    if (r->retrieval.refs) cJSON_AddItemToObject(o, "retrieval", agi_retrieval_json(&r->retrieval));
    cJSON *list = cJSON_AddArrayToObject(o, "attempts");
    for (int k = 0; k < r->nattempts; k++) {
        const ag_attempt *a = &r->attempts[k];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "round", a->round);
        cJSON_AddStringToObject(j, "stage", a->stage);
        cJSON_AddStringToObject(j, "outcome", ag_outcome_name(a->outcome));
        if (a->insights) cJSON_AddItemToObject(j, "insights", agi_refs_json(a->carried, a->ncarried));
        /* References, not copies: the record of a run with multi-megabyte
         * replies holds no second copy of them (see pipeline.h). */
        if (a->messages) cJSON_AddItemReferenceToObject(j, "messages", a->messages);
        else cJSON_AddNullToObject(j, "messages");
        if (a->reply) cJSON_AddItemToObject(j, "reply", cJSON_CreateStringReference(a->reply));
        else cJSON_AddNullToObject(j, "reply");
        if (a->llm_error) cJSON_AddStringToObject(j, "llm_error", a->llm_error);
        cJSON *f = a->formulation ? cJSON_Parse(a->formulation) : NULL;
        if (f) cJSON_AddItemToObject(j, "formulation", f);
        else cJSON_AddNullToObject(j, "formulation");
        if (a->extract_why) cJSON_AddStringToObject(j, "extract_error", a->extract_why);
        if (a->result) cJSON_AddItemToObject(j, "result", cJSON_Duplicate(a->result, 1));
        if (a->feedback) cJSON_AddStringToObject(j, "feedback", a->feedback);
        cJSON_AddNumberToObject(j, "prompt_tokens", (double)a->prompt_tokens);
        cJSON_AddNumberToObject(j, "completion_tokens", (double)a->completion_tokens);
        cJSON_AddNumberToObject(j, "latency_ms", a->latency_ms);
        cJSON_AddNumberToObject(j, "http_attempts", a->http_attempts);
        cJSON_AddItemToArray(list, j);
    }
    return o;
}
