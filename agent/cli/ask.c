/* optagent ask: one problem in plain language -> a solved model. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"
#include "agent/llm/llm.h"
#include "agent/core/core.h"

#define MAX_PROBLEM_BYTES (1u << 20)

static const char ask_usage[] =
    "usage: optagent ask \"PROBLEM TEXT\" [options]\n"
    "       optagent ask -f problem.txt [options]\n"
    "       optagent ask [options] < problem.txt\n"
    "\n"
    "Sends the problem to an OpenAI-compatible LLM, which writes a five-element\n"
    "formulation; optagent checks and solves it and sends the exact diagnostics\n"
    "back until the model solves to optimality (or the correction limit).\n"
    "\n"
    "options:\n"
    "  -f FILE                read the problem from FILE (- for standard input)\n"
    "  --json                 print the full record (every attempt) as JSON\n"
    "  --show-prompts         print every message sent to the LLM (on stderr)\n"
    "  --max-corrections N    correction rounds after the first answer (default 3)\n"
    "  --prompts-dir DIR      use DIR/NAME.txt instead of the built-in prompts\n"
    "  --time-limit S         solver time limit per attempt (seconds; default 60, 0 none)\n"
    "LLM endpoint (flag > OPTAGENT_* > OPENAI_* > config file):\n"
    "  --base-url URL         e.g. https://api.openai.com/v1\n"
    "  --model NAME\n"
    "  --api-key-file FILE    first line is the key (OPTAGENT_API_KEY / OPENAI_API_KEY)\n"
    "  --config FILE          instead of $XDG_CONFIG_HOME/optagent/config\n"
    "  --temperature T  --max-tokens N  --seed N  --timeout S\n"
    "\n"
    "exit status: 0 a trusted (optimal) answer, 1 none (see the outcome), 2 usage.\n";

/* Set by Ctrl-C: the LLM call or the GLPK solve in progress stops and the
 * run ends "interrupted". The handler is one-shot (SA_RESETHAND), so a
 * second Ctrl-C kills the process the usual way. */
static volatile int ask_cancel;

static void on_sigint(int sig)
{
    (void)sig;
    ask_cancel = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("optagent ask: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(ask_usage, stderr);
    return EXIT_USAGE;
}

static int num_arg(const char *opt, const char *s, double *out, int integer)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0 || (integer && v != floor(v))) {
        fprintf(stderr, "optagent ask: %s expects a non-negative %s, got '%s'\n", opt,
                integer ? "integer" : "number", s);
        return -1;
    }
    *out = v;
    return 0;
}

static void print_messages(const cJSON *msgs, int round)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        fprintf(stderr, "----- round %d, %s -----\n%s\n", round,
                cJSON_GetStringValue(cJSON_GetObjectItem(m, "role")),
                cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")));
    }
}

static void print_run(const ag_run *run)
{
    const ag_attempt *last = run->nattempts ? &run->attempts[run->nattempts - 1] : NULL;
    printf("outcome: %s after %d attempt%s\n", ag_outcome_name(run->outcome), run->nattempts,
           run->nattempts == 1 ? "" : "s");
    if (run->has_objective) printf("answer: %.10g\n", run->objective);
    if (!last) return;
    if (last->llm_error) printf("llm error: %s\n", last->llm_error);
    if (last->extract_why) printf("no formulation: %s\n", last->extract_why);
    const cJSON *res = last->result;
    if (res) {
        printf("status: %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(res, "status")));
        const cJSON *v, *vars = cJSON_GetObjectItem(res, "variables");
        int any = 0;
        cJSON_ArrayForEach(v, vars) {
            if (fabs(v->valuedouble) < 1e-9) continue;
            if (!any++) printf("solution:\n");
            printf("  %s = %.10g\n", v->string, v->valuedouble);
        }
        const cJSON *rep = cJSON_GetObjectItem(res, "report");
        any = 0;
        cJSON_ArrayForEach(v, rep) {
            if (!any++) printf("report:\n");
            if (cJSON_IsNumber(v)) printf("  %s = %.10g\n", v->string, v->valuedouble);
        }
        const cJSON *d, *dl = cJSON_GetObjectItem(res, "diagnostics");
        any = 0;
        cJSON_ArrayForEach(d, dl) {
            if (!any++) printf("diagnostics:\n");
            const char *ix = cJSON_GetStringValue(cJSON_GetObjectItem(d, "index"));
            printf("  %s: %s%s%s: %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(d, "severity")),
                   cJSON_GetStringValue(cJSON_GetObjectItem(d, "element")), ix && *ix ? " " : "",
                   ix ? ix : "", cJSON_GetStringValue(cJSON_GetObjectItem(d, "message")));
        }
    }
    if (last->formulation) {
        cJSON *f = cJSON_Parse(last->formulation);
        char *pretty = f ? cJSON_Print(f) : NULL;
        printf("formulation:\n%s\n", pretty ? pretty : last->formulation);
        free(pretty);
        cJSON_Delete(f);
    }
    printf("llm: %d call%s, %ld prompt + %ld completion tokens, %.0f ms\n", run->nattempts,
           run->nattempts == 1 ? "" : "s", run->prompt_tokens, run->completion_tokens, run->latency_ms);
}

/* Prints the record of ag_run_json one attempt at a time (the same JSON,
 * attempts indented less than cJSON_Print would), so multi-megabyte replies
 * are printed one attempt's worth at a time instead of all in one string.
 * Replies are repaired by the client, but the problem text is the user's
 * bytes: each piece is made valid UTF-8. 0, or -1 when out of memory. */
static int print_piece(char *s)
{
    if (!s || ag_utf8_fix(&s) != 0) { free(s); return -1; }
    fputs(s, stdout);
    free(s);
    return 0;
}

static int print_json(const ag_run *run)
{
    cJSON *o = ag_run_json(run);
    if (!o) return -1;
    cJSON *list = cJSON_DetachItemFromObject(o, "attempts");
    char *head = cJSON_Print(o);
    int rc = -1;
    size_t n = head ? strlen(head) : 0;
    if (n < 2 || head[n - 1] != '}') { free(head); goto out; }
    size_t m = n - 1;                       /* "{...}" without "}" and the newline */
    head[m] = 0;
    while (m && head[m - 1] == '\n') head[--m] = 0;
    int empty = !o->child;
    if (print_piece(head) != 0) goto out;
    printf("%s\n\t\"attempts\":\t[", empty ? "" : ",");
    const cJSON *a;
    int first = 1;
    cJSON_ArrayForEach(a, list) {
        if (!first) fputs(", ", stdout);
        first = 0;
        if (print_piece(cJSON_Print(a)) != 0) goto out;
    }
    fputs("]\n}\n", stdout);
    rc = 0;
out:
    cJSON_Delete(list);
    cJSON_Delete(o);
    return rc;
}

int ag_cmd_ask(int argc, char **argv)
{
    ag_llm_flags flags;
    memset(&flags, 0, sizeof flags);
    ag_pipeline_options po;
    ag_pipeline_options_default(&po);
    char env_err[200];
    if (ag_pipeline_options_env(&po, env_err, sizeof env_err) != 0) {
        fprintf(stderr, "optagent: %s\n", env_err);
        return EXIT_USAGE;
    }
    const char *text = NULL, *file = NULL, *prompts_dir = NULL;
    int json = 0, show = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(ask_usage, stdout); return EXIT_SOLVED; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--show-prompts")) { show = 1; continue; }
        if (ag_llm_flag_takes_value(a)) {
            if (i + 1 >= argc) return usage_error("%s needs a value", a);
            char err[200];
            if (ag_llm_flag_set(&flags, a, argv[++i], err, sizeof err) != 0) return usage_error("%s", err);
            continue;
        }
        static const char *const with_value[] = { "-f", "--max-corrections", "--prompts-dir", "--time-limit", NULL };
        int takes = 0;
        for (int k = 0; with_value[k]; k++) if (!strcmp(a, with_value[k])) takes = 1;
        if (takes) {
            if (i + 1 >= argc) return usage_error("%s needs a value", a);
            const char *v = argv[++i];
            double d;
            if (!strcmp(a, "-f")) file = v;
            else if (!strcmp(a, "--prompts-dir")) prompts_dir = v;
            else if (!strcmp(a, "--max-corrections")) {
                if (num_arg(a, v, &d, 1) != 0 || d > 20) return usage_error("--max-corrections is 0 to 20, got '%s'", v);
                po.max_corrections = (int)d;
            } else {
                if (num_arg(a, v, &d, 0) != 0) return EXIT_USAGE;
                po.solve.time_limit_s = d;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
        if (text) return usage_error("give the problem as one argument (quote it), got another: '%s'", a);
        text = a;
    }
    if (text && file) return usage_error("give the problem as text or with -f, not both%s", "");

    char err[512];
    if (prompts_dir && ag_prompts_load_dir(prompts_dir, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    ag_llm_config cfg;
    if (ag_llm_config_load(&flags, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    int rc = EXIT_FAILED;
    char *owned = NULL;
    ag_llm *llm = NULL;
    ag_run *run = NULL;
    if (!cfg.base_url || !*cfg.base_url) {
        fprintf(stderr, "optagent: no LLM endpoint configured: use --base-url and --model, or set "
                        "OPTAGENT_BASE_URL and OPTAGENT_MODEL (see README, \"Pointing it at an LLM\")\n");
        goto out;
    }
    if (!cfg.model || !*cfg.model) {
        fprintf(stderr, "optagent: no model configured: use --model or set OPTAGENT_MODEL\n");
        goto out;
    }
    if (!text) {
        size_t len;
        owned = ag_read_file(file ? file : "-", MAX_PROBLEM_BYTES, &len, err, sizeof err);
        if (!owned) { fprintf(stderr, "optagent: %s\n", err); goto out; }
        text = owned;
    }
    if (!*text || strspn(text, " \t\r\n") == strlen(text)) {
        fprintf(stderr, "optagent: the problem text is empty\n");
        goto out;
    }
    llm = ag_llm_new(&cfg);
    if (!llm) { fprintf(stderr, "optagent: cannot start the LLM client%s%s\n", ag_curl_load_error() ? ": " : "", ag_curl_load_error() ? ag_curl_load_error() : ""); goto out; }
    ag_chat chat = ag_chat_direct(llm);
    struct sigaction sa, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ask_cancel = 0;
    sigaction(SIGINT, &sa, &old_int);
    run = ag_pipeline_run(&chat, &po, NULL, text, &ask_cancel);
    sigaction(SIGINT, &old_int, NULL);
    if (!run) { fprintf(stderr, "optagent: out of memory\n"); goto out; }
    if (show)
        for (int k = 0; k < run->nattempts; k++) {
            print_messages(run->attempts[k].messages, k);
            if (run->attempts[k].reply)
                fprintf(stderr, "----- round %d, reply -----\n%s\n", k, run->attempts[k].reply);
        }
    if (json) {
        if (print_json(run) != 0) fprintf(stderr, "optagent: out of memory\n");
    } else {
        print_run(run);
    }
    rc = run->outcome == AG_OUTCOME_OK ? EXIT_SOLVED : EXIT_FAILED;
    if (run->outcome == AG_OUTCOME_INTERRUPTED) {
        fprintf(stderr, "optagent: interrupted\n");
        rc = EXIT_INTERRUPTED;
    }
out:
    ag_run_free(run);
    ag_llm_free(llm);
    ag_llm_config_free(&cfg);
    free(owned);
    return rc;
}
