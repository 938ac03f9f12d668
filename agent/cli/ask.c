/* optagent ask: one problem in plain language -> a solved model. */
#define _GNU_SOURCE          /* getopt_long's struct option, sigaction */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/cli/cli.h"
#include "agent/llm/llm.h"
#include "agent/core/core.h"

#define MAX_PROBLEM_BYTES (1u << 20)
#define MAX_CORRECTIONS 20

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
    "  --show-model           print the final formulation readably (as optagent show)\n"
    "  --max-corrections N    correction rounds after the first answer (default 3)\n"
    "  --prompts-dir DIR      use DIR/NAME.txt instead of the built-in prompts\n"
    "  --time-limit S         solver time limit per attempt (seconds; default 60, 0 none)\n"
    "Experience library (insights from earlier problems, carried into the prompts):\n"
    "  --library PATH         the library file (default $XDG_DATA_HOME/optagent/library.db;\n"
    "                         when that does not exist, ask runs without one)\n"
    "  --no-library           no insights\n"
    "  --retrieve bm25|llm    bm25 (default): by the library's ranking alone; llm: the LLM\n"
    "                         also checks which of them apply (one more request)\n"
    "  -k N                   at most N insights (default 5)\n"
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

static void print_messages(const cJSON *msgs, int round)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        fprintf(stderr, "----- round %d, %s -----\n%s\n", round,
                cJSON_GetStringValue(cJSON_GetObjectItem(m, "role")),
                cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")));
    }
}

/* The last formulation: readable with --show-model (ag_formulation_render),
 * else its size in one line (the JSON is in --json). */
static void print_model(const char *formulation, int show_model)
{
    char err[256];
    char *text = show_model ? ag_formulation_render(formulation, strlen(formulation), err, sizeof err) : NULL;
    if (text) {
        printf("model:\n%s", text);
        free(text);
        return;
    }
    cJSON *f = cJSON_Parse(formulation);
    static const char *const parts[] = { "sets", "parameters", "variables", "constraints" };
    static const char *const one[] = { "set", "parameter", "variable", "constraint" };
    printf("model:");
    for (int i = 0; i < 4; i++) {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, parts[i]));
        printf("%s %d %s", i ? "," : "", n, n == 1 ? one[i] : parts[i]);
    }
    if (show_model) printf(" (cannot be shown: %s; --json has its JSON)\n", err);
    else printf(" (--show-model shows it, --json has its JSON)\n");
    cJSON_Delete(f);
}

static void print_run(const ag_run *run, int show_model)
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
            printf("  ");
            ag_print_name(v->string);
            printf(" = %.10g\n", v->valuedouble);
        }
        const cJSON *rep = cJSON_GetObjectItem(res, "report");
        any = 0;
        cJSON_ArrayForEach(v, rep) {
            if (!any++) printf("report:\n");
            if (!cJSON_IsNumber(v)) continue;
            printf("  ");
            ag_print_name(v->string);
            printf(" = %.10g\n", v->valuedouble);
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
    if (last->formulation) print_model(last->formulation, show_model);
    int calls = run->nattempts + run->retrieval.checked;
    printf("llm: %d call%s, %ld prompt + %ld completion tokens, %.0f ms\n", calls,
           calls == 1 ? "" : "s", run->prompt_tokens, run->completion_tokens, run->latency_ms);
}

/* What the library gave: the insights carried with their scores. */
static void print_insights(const ag_run *run)
{
    const ag_retrieval *r = &run->retrieval;
    if (!r->used) return;
    if (r->error) printf("library: %s\n", r->error);
    if (r->check_error) printf("library: %s\n", r->check_error);
    if (!r->ncarried) {
        printf("insights: none %s\n", r->nhits ? "applied (the check kept none)" : "retrieved");
        return;
    }
    printf("insights:");
    for (size_t i = 0; i < r->ncarried; i++)
        printf("%s %lld@%lld (score %.2f)", i ? "," : "", (long long)r->carried[i].id,
               (long long)r->carried[i].version, r->carried[i].score);
    printf("\n");
}

/* {"path", "sha256"} of the library used, or NULL (none). */
static cJSON *library_json(lib *l, const char *path)
{
    char hex[65];
    if (!l || lib_content_hash(l, hex) != LIB_OK) return NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "path", path);
    cJSON_AddStringToObject(j, "sha256", hex);
    return j;
}

cJSON *ag_ask_record_json(const ag_run *run, lib *l, const char *libpath)
{
    cJSON *o = ag_run_json(run);
    if (!o) return NULL;
    cJSON *library = library_json(l, libpath);
    cJSON_AddItemToObject(o, "library", library ? library : cJSON_CreateNull());
    cJSON *list = cJSON_DetachItemFromObject(o, "attempts");   /* last, as ask --json prints it */
    if (list) cJSON_AddItemToObject(o, "attempts", list);
    return o;
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

static int print_json(const ag_run *run, lib *l, const char *libpath)
{
    cJSON *o = ag_ask_record_json(run, l, libpath);
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

typedef struct {
    ag_llm_flags flags;
    ag_library_flags lib;
    ag_pipeline_options po;
    const char *text, *file, *prompts_dir;
    int json, show, show_model;
} ask_opts;

/* Parses the command line into o. Returns -1 to go on, or the exit code
 * (--help, a usage error). */
static int ask_args(int argc, char **argv, ask_opts *o)
{
    enum { OPT_JSON = 0x100, OPT_SHOW, OPT_MAX_CORR, OPT_PROMPTS_DIR, OPT_TIME_LIMIT, OPT_SHOW_MODEL };
    struct option longopts[24] = {
        { "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, OPT_JSON },
        { "show-prompts", no_argument, NULL, OPT_SHOW },
        { "max-corrections", required_argument, NULL, OPT_MAX_CORR },
        { "prompts-dir", required_argument, NULL, OPT_PROMPTS_DIR },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
        { "show-model", no_argument, NULL, OPT_SHOW_MODEL },
    };
    size_t nl = ag_args_library_options(longopts + 7, 3);
    ag_args_llm_options(longopts + 7 + nl, 24 - 8 - nl);   /* the last entry stays {0} */
    ag_args args = { "ask", argc, argv, "hf:" AG_LIBRARY_SHORTOPTS, longopts, 0, 0, 0, 0 };
    const char *v;
    long n;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        int lr = ag_arg_library("ask", &o->lib, c, v);
        if (lr < 0) return EXIT_USAGE;
        if (lr) continue;
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(ask_usage, stdout); return EXIT_SOLVED;
        case 'f': o->file = v; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_SHOW: o->show = 1; break;
        case OPT_SHOW_MODEL: o->show_model = 1; break;
        case OPT_PROMPTS_DIR: o->prompts_dir = v; break;
        case OPT_MAX_CORR:
            if (ag_arg_long("ask", "--max-corrections", v, 0, MAX_CORRECTIONS, &n)) return EXIT_USAGE;
            o->po.max_corrections = (int)n;
            break;
        case OPT_TIME_LIMIT:
            if (ag_arg_double("ask", "--time-limit", v, 0, INFINITY, &o->po.solve.time_limit_s))
                return EXIT_USAGE;
            break;
        case AG_ARG_POSITIONAL:
            if (o->text)
                return ag_usage_error("ask", "give the problem as one argument (quote it), got another: '%s'", v);
            o->text = v;
            break;
        default:
            if (ag_arg_llm("ask", &o->flags, c, v)) return EXIT_USAGE;
        }
    }
    if (o->text && o->file) return ag_usage_error("ask", "give the problem as text or with -f, not both");
    return -1;
}

/* Runs the pipeline with Ctrl-C stopping it (see ask_cancel). */
static ag_run *run_interruptible(ag_chat *chat, const ag_pipeline_options *po, const char *text)
{
    struct sigaction sa, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ask_cancel = 0;
    sigaction(SIGINT, &sa, &old_int);
    ag_run *run = ag_pipeline_run(chat, po, NULL, text, &ask_cancel);
    sigaction(SIGINT, &old_int, NULL);
    return run;
}

/* Prints the run as asked (--show-prompts, --json) and returns the exit code. */
static int print_outcome(const ag_run *run, const ask_opts *o, lib *l, const char *libpath)
{
    if (o->show)
        for (int k = 0; k < run->nattempts; k++) {
            print_messages(run->attempts[k].messages, k);
            if (run->attempts[k].reply)
                fprintf(stderr, "----- round %d, reply -----\n%s\n", k, run->attempts[k].reply);
        }
    if (o->json) {
        if (print_json(run, l, libpath) != 0) fprintf(stderr, "optagent: out of memory\n");
    } else {
        print_run(run, o->show_model);
        print_insights(run);
    }
    if (run->outcome == AG_OUTCOME_INTERRUPTED) {
        fprintf(stderr, "optagent: interrupted\n");
        return EXIT_INTERRUPTED;
    }
    return run->outcome == AG_OUTCOME_OK ? EXIT_SOLVED : EXIT_FAILED;
}

/* The configuration ask needs: an endpoint and a model. 0, or -1 said. */
static int endpoint_ok(const ag_llm_config *cfg)
{
    if (!cfg->base_url || !*cfg->base_url) {
        fprintf(stderr, "optagent: no LLM endpoint configured: use --base-url and --model, or set "
                        "OPTAGENT_BASE_URL and OPTAGENT_MODEL (see README, \"Pointing it at an LLM\")\n");
        return -1;
    }
    if (!cfg->model || !*cfg->model) {
        fprintf(stderr, "optagent: no model configured: use --model or set OPTAGENT_MODEL\n");
        return -1;
    }
    return 0;
}

int ag_cmd_ask(int argc, char **argv)
{
    ask_opts o;
    memset(&o, 0, sizeof o);
    ag_pipeline_options_default(&o.po);
    char err[512];
    if (ag_pipeline_options_env(&o.po, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_USAGE;
    }
    int rc = ask_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (o.prompts_dir && ag_prompts_load_dir(o.prompts_dir, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    ag_llm_config cfg;
    if (ag_llm_config_load(&o.flags, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    rc = EXIT_FAILED;
    char *owned = NULL;
    ag_llm *llm = NULL;
    ag_run *run = NULL;
    lib *library = NULL;
    char libpath[4096];
    int missing;
    const char *text = o.text;
    if (endpoint_ok(&cfg) != 0) goto out;
    /* before anything is sent: a library that cannot be used is an error */
    if (ag_library_open("ask", &o.lib, &library, libpath, sizeof libpath, &missing) != 0) goto out;
    if (missing && ag_cli_verbosity() >= 0)
        fprintf(stderr, "optagent: no experience library at %s: running without insights "
                        "(optagent learn creates one; --no-library silences this)\n", libpath);
    ag_library_apply(&o.lib, library, &o.po);
    if (!text) {
        size_t len;
        if ((!o.file || !strcmp(o.file, "-")) && isatty(STDIN_FILENO) && ag_cli_verbosity() >= 0)
            fprintf(stderr, "optagent ask: reading the problem from standard input (end it with "
                            "Ctrl-D; or give it as an argument or with -f FILE)\n");
        owned = ag_read_file(o.file ? o.file : "-", MAX_PROBLEM_BYTES, &len, err, sizeof err);
        if (!owned) { fprintf(stderr, "optagent: %s\n", err); goto out; }
        text = owned;
    }
    if (!*text || strspn(text, " \t\r\n") == strlen(text)) {
        fprintf(stderr, "optagent: the problem text is empty\n");
        goto out;
    }
    llm = ag_llm_new(&cfg);
    if (!llm) {
        const char *why = ag_curl_load_error();
        fprintf(stderr, "optagent: cannot start the LLM client%s%s\n", why ? ": " : "", why ? why : "");
        goto out;
    }
    ag_chat chat = ag_chat_direct(llm);
    run = run_interruptible(&chat, &o.po, text);
    if (!run) { fprintf(stderr, "optagent: out of memory\n"); goto out; }
    rc = print_outcome(run, &o, library, libpath);
out:
    ag_run_free(run);
    lib_close(library);
    ag_llm_free(llm);
    ag_llm_config_free(&cfg);
    free(owned);
    return rc;
}
