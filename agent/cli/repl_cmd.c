/* The REPL's session and commands (see repl.h). Every LLM exchange goes
 * through ag_pipeline_run (a problem: task formulate; :revise: task revise,
 * with self-correction as usual); every formulation the user edited or
 * loaded is solved through sv_run_text, the one solve path, and reported
 * with ag_solve_report, so what the REPL shows is what solve and ask show.
 * A command that fails says why on stderr, marks the session failed (the
 * exit status) and leaves the session as it was. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "agent/cli/repl.h"

#define MAX_CORRECTIONS 20
#define MAX_SESSION_BYTES (64u << 20)

static const char repl_usage[] =
    "usage: optagent repl [options]\n"
    "       optagent                 (on a terminal)\n"
    "\n"
    "An interactive session: type a problem over one or more lines and send it\n"
    "with a blank line; then inspect, revise, edit, re-solve and export the model.\n"
    "Type :help in the session for its commands. When standard input is not a\n"
    "terminal the same input is read without prompt, history or spinner.\n"
    "\n"
    "options:\n"
    "  --max-corrections N    correction rounds after the first answer (default 3)\n"
    "  --prompts-dir DIR      use DIR/NAME.txt instead of the built-in prompts\n"
    "  --time-limit S         solver time limit per attempt (seconds; default 60)\n"
    "  --library PATH, --no-library, --retrieve bm25|llm, -k N   as for ask\n"
    "  --base-url URL  --model NAME  --api-key-file FILE  --config FILE\n"
    "  --temperature T  --max-tokens N  --seed N  --timeout S\n"
    "\n"
    "exit status: 0 when every command succeeded, 1 when one failed, 2 usage.\n";

void repl_error(repl_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs(s->color ? "\033[31moptagent: " : "optagent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(s->color ? "\033[0m\n" : "\n", stderr);
    va_end(ap);
    s->failed = 1;
}

/* Opens the library the flags name (none is fine); -1 after a message. */
static int open_library(repl_session *s)
{
    lib_close(s->library);
    s->library = NULL;
    int missing = 0;
    if (ag_library_open("repl", &s->lib, &s->library, s->libpath, sizeof s->libpath, &missing) != 0)
        return -1;
    ag_library_apply(&s->lib, s->library, &s->po);
    return 0;
}

static int parse_args(repl_session *s, int argc, char **argv, const char **prompts_dir)
{
    enum { OPT_MAX_CORR = 0x100, OPT_PROMPTS_DIR, OPT_TIME_LIMIT };
    struct option longopts[18] = {
        { "help", no_argument, NULL, 'h' },
        { "max-corrections", required_argument, NULL, OPT_MAX_CORR },
        { "prompts-dir", required_argument, NULL, OPT_PROMPTS_DIR },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
    };
    size_t nl = ag_args_library_options(longopts + 4, 3);
    ag_args_llm_options(longopts + 4 + nl, 10);   /* the last entry stays {0} */
    ag_args args = { "repl", argc, argv, "h" AG_LIBRARY_SHORTOPTS, longopts, 0, 0, 0, 0 };
    const char *v;
    long n;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        int lr = ag_arg_library("repl", &s->lib, c, v);
        if (lr < 0) return EXIT_USAGE;
        if (lr) continue;
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(repl_usage, stdout); return EXIT_SOLVED;
        case OPT_PROMPTS_DIR: *prompts_dir = v; break;
        case OPT_MAX_CORR:
            if (ag_arg_long("repl", "--max-corrections", v, 0, MAX_CORRECTIONS, &n)) return EXIT_USAGE;
            s->po.max_corrections = (int)n;
            break;
        case OPT_TIME_LIMIT:
            if (ag_arg_double("repl", "--time-limit", v, 0, INFINITY, &s->po.solve.time_limit_s))
                return EXIT_USAGE;
            break;
        case AG_ARG_POSITIONAL:
            return ag_usage_error("repl", "no arguments expected, got '%s'", v);
        default:
            if (ag_arg_llm("repl", &s->flags, c, v)) return EXIT_USAGE;
        }
    }
    return -1;
}

int repl_session_init(repl_session *s, int argc, char **argv)
{
    ag_pipeline_options_default(&s->po);
    ag_llm_config_default(&s->cfg);
    char err[512];
    if (ag_pipeline_options_env(&s->po, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_USAGE;
    }
    const char *prompts_dir = NULL;
    int rc = parse_args(s, argc, argv, &prompts_dir);
    if (rc >= 0) return rc;
    if (prompts_dir && ag_prompts_load_dir(prompts_dir, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    /* the endpoint is checked when a request is about to go: a session
     * that only solves, loads and exports needs none */
    if (ag_llm_config_load(&s->flags, &s->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    return open_library(s) != 0 ? EXIT_FAILED : -1;
}

static void clear_model(repl_session *s)
{
    free(s->formulation);
    s->formulation = NULL;
    cJSON_Delete(s->report);
    s->report = NULL;
    cJSON_Delete(s->record);
    s->record = NULL;
}

void repl_session_free(repl_session *s)
{
    clear_model(s);
    free(s->problem);
    free(s->library_arg);
    lib_close(s->library);
    ag_llm_config_free(&s->cfg);
}

/* ---- asking ---- */

static int endpoint_ok(repl_session *s)
{
    if (!s->cfg.base_url || !*s->cfg.base_url) {
        repl_error(s, "no LLM endpoint configured: use --base-url and --model, or set "
                      "OPTAGENT_BASE_URL and OPTAGENT_MODEL");
        return 0;
    }
    if (!s->cfg.model || !*s->cfg.model) {
        repl_error(s, "no model configured: use --model, :set model NAME or OPTAGENT_MODEL");
        return 0;
    }
    return 1;
}

/* Takes the run into the session: its record, and the last formulation and
 * report when it has one (a failed revise keeps the model it started from). */
static void take_run(repl_session *s, const char *problem, const ag_run *run)
{
    const ag_attempt *with = NULL;
    for (int k = run->nattempts - 1; k >= 0 && !with; k--)
        if (run->attempts[k].formulation) with = &run->attempts[k];
    cJSON *rec = ag_run_json(run);
    cJSON *copy = rec ? cJSON_Duplicate(rec, 1) : NULL;   /* rec refers to run's strings */
    cJSON_Delete(rec);
    if (with) {
        char *f = strdup(with->formulation);
        if (f) {
            free(s->formulation);
            s->formulation = f;
            cJSON_Delete(s->report);
            s->report = with->result ? cJSON_Duplicate(with->result, 1) : NULL;
        }
    }
    if (problem != s->problem) {
        char *p = strdup(problem);
        if (p) { free(s->problem); s->problem = p; }
    }
    cJSON_Delete(s->record);
    s->record = copy;
}

/* Runs the pipeline (task formulate, or revise when instruction is set) and
 * prints the answer. */
static void run_pipeline(repl_session *s, const char *problem, const char *instruction)
{
    if (!endpoint_ok(s)) return;
    ag_llm *llm = ag_llm_new(&s->cfg);
    if (!llm) {
        const char *why = ag_curl_load_error();
        repl_error(s, "cannot start the LLM client%s%s", why ? ": " : "", why ? why : "");
        return;
    }
    ag_pipeline_options po = s->po;
    if (instruction) {
        po.task = "revise";
        po.revise_formulation = s->formulation;
        po.revise_instruction = instruction;
    }
    ag_chat chat = ag_chat_direct(llm);
    volatile int *cancel = repl_wait_begin(s);
    ag_run *run = ag_pipeline_run(&chat, &po, NULL, problem, cancel);
    repl_wait_end(s);
    ag_llm_free(llm);
    if (!run) { repl_error(s, "out of memory"); return; }
    const ag_attempt *last = run->nattempts ? &run->attempts[run->nattempts - 1] : NULL;
    if (run->outcome == AG_OUTCOME_INTERRUPTED) {
        repl_error(s, "interrupted");
        ag_run_free(run);
        return;
    }
    take_run(s, problem, run);
    if (last && last->result) repl_show_summary(s, last->result);
    int corr = run->nattempts > 0 ? run->nattempts - 1 : 0;
    printf("outcome: %s after %d correction round%s\n", ag_outcome_name(run->outcome), corr,
           corr == 1 ? "" : "s");
    if (last && last->llm_error) repl_error(s, "LLM request failed: %s", last->llm_error);
    else if (last && last->extract_why) repl_error(s, "no formulation in the reply: %s", last->extract_why);
    else if (run->outcome != AG_OUTCOME_OK) s->failed = 1;
    ag_run_free(run);
}

void repl_ask(repl_session *s, const char *problem)
{
    clear_model(s);
    free(s->problem);
    s->problem = strdup(problem);
    if (!s->problem) { repl_error(s, "out of memory"); return; }
    run_pipeline(s, s->problem, NULL);
}

/* ---- solving the current formulation ---- */

static int need_formulation(repl_session *s)
{
    if (s->formulation) return 1;
    repl_error(s, "no formulation yet: type a problem (or :load a session)");
    return 0;
}

/* Checks and solves text through the one solve path; on success it becomes
 * the session's formulation and report and the summary is printed. 0, or
 * -1 after a message (the session keeps its model). */
static int solve_text(repl_session *s, const char *text)
{
    sv_run_options ro;
    sv_run_options_default(&ro);
    ro.limits = s->po.limits;
    ro.solve = s->po.solve;
    ro.solve.cancel = repl_wait_begin(s);
    sv_code code;
    sv_run *run = sv_run_text(text, strlen(text), &ro, &code);
    repl_wait_end(s);
    cJSON *rep = run ? ag_solve_report(run, 0) : NULL;
    char *f = strdup(text);
    if (!rep || !f) {
        free(f);
        cJSON_Delete(rep);
        sv_run_free(run);
        repl_error(s, "out of memory");
        return -1;
    }
    sv_status st = sv_run_status(run);
    sv_run_free(run);
    free(s->formulation);          /* text may be it: f is a copy */
    s->formulation = f;
    cJSON_Delete(s->report);
    s->report = rep;
    repl_show_summary(s, rep);
    if (code != SV_OK) { repl_error(s, "solver failed: %s", sv_strerror(code)); return -1; }
    if (st == SV_STATUS_INVALID || st == SV_STATUS_UNSUPPORTED || st == SV_STATUS_INTERRUPTED) {
        s->failed = 1;
        return -1;
    }
    return 0;
}

static void cmd_solve(repl_session *s, const char *arg)
{
    if (need_formulation(s)) solve_text(s, s->formulation);
}

static void cmd_revise(repl_session *s, const char *arg)
{
    if (!*arg) { repl_error(s, ":revise needs an instruction, e.g. :revise make x integer"); return; }
    if (!s->problem || !need_formulation(s)) {
        if (!s->problem) repl_error(s, "no problem yet: type one first");
        return;
    }
    run_pipeline(s, s->problem, arg);
}

/* Writes the formulation pretty-printed to path: 0, or -1 with err. */
static int write_json(const char *text, const char *path, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(text);
    char *pretty = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    FILE *f = fopen(path, "w");
    if (!f) { free(pretty); snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    int bad = fprintf(f, "%s\n", pretty ? pretty : text) < 0;
    free(pretty);
    if (fclose(f) != 0 || bad) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    return 0;
}

static void cmd_export(repl_session *s, const char *arg)
{
    if (!*arg) { repl_error(s, ":export needs a file name ending in .json, .lp, .mps or .mod"); return; }
    if (!need_formulation(s)) return;
    const char *dot = strrchr(arg, '.');
    const char *ext = dot ? dot + 1 : "";
    char err[600];
    if (!strcmp(ext, "json")) {
        if (write_json(s->formulation, arg, err, sizeof err) != 0) repl_error(s, "export failed: %s", err);
        else printf("exported to %s\n", arg);
        return;
    }
    if (strcmp(ext, "lp") && strcmp(ext, "mps") && strcmp(ext, "mod")) {
        repl_error(s, ":export FILE must end in .json, .lp, .mps or .mod, got '%s'", arg);
        return;
    }
    sv_run_options ro;
    sv_run_options_default(&ro);
    ro.limits = s->po.limits;
    sv_code code;
    sv_run *run = sv_run_prepare(s->formulation, strlen(s->formulation), &ro, &code);
    if (!run || !sv_run_program(run))
        repl_error(s, "nothing exported: the formulation is %s",
                   run && sv_run_status(run) == SV_STATUS_UNSUPPORTED ? "nonlinear" : "invalid");
    else if (ag_export_model(sv_run_model(run), arg, err, sizeof err) != 0)
        repl_error(s, "export failed: %s", err);
    else
        printf("exported to %s as %s\n", arg, ag_export_format_name(sv_run_model(run), arg));
    sv_run_free(run);
}

/* Runs $VISUAL or $EDITOR on path through the shell (the variable may hold
 * arguments, "emacs -nw"); the exit status, or -1 when it could not run. */
static int run_editor(const char *path)
{
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed) ed = getenv("EDITOR");
    if (!ed || !*ed) ed = "vi";
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void cmd_edit(repl_session *s, const char *arg)
{
    if (!need_formulation(s)) return;
    const char *tmp = getenv("TMPDIR");
    char path[4096], err[600];
    snprintf(path, sizeof path, "%s/optagent-edit-XXXXXX.json", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 5);
    if (fd < 0) { repl_error(s, "cannot create a file to edit: %s", strerror(errno)); return; }
    close(fd);
    char *text = NULL;
    if (write_json(s->formulation, path, err, sizeof err) != 0) {
        repl_error(s, "cannot write the file to edit: %s", err);
        goto out;
    }
    int rc = run_editor(path);
    if (rc != 0) {
        repl_error(s, "the editor exited with status %d: the formulation is unchanged", rc);
        goto out;
    }
    size_t len;
    text = ag_read_file(path, s->po.limits.max_json_bytes, &len, err, sizeof err);
    if (!text) { repl_error(s, "%s", err); goto out; }
    solve_text(s, text);
out:
    free(text);
    remove(path);
}

/* ---- settings ---- */

static void cmd_set(repl_session *s, const char *arg)
{
    char key[32];
    size_t k = strcspn(arg, " \t");
    const char *v = arg + k + strspn(arg + k, " \t");
    if (!k || k >= sizeof key || !*v) {
        repl_error(s, "usage: :set model|temperature|max-corrections|library VALUE");
        return;
    }
    memcpy(key, arg, k);
    key[k] = 0;
    char *end;
    errno = 0;
    if (!strcmp(key, "model")) {
        char *m = strdup(v);
        if (!m) { repl_error(s, "out of memory"); return; }
        free(s->cfg.model);
        s->cfg.model = m;
    } else if (!strcmp(key, "temperature")) {
        double t = strtod(v, &end);
        if (end == v || *end || errno || !(t >= 0 && t <= 2)) {
            repl_error(s, ":set temperature expects a number from 0 to 2, got '%s'", v);
            return;
        }
        s->cfg.temperature = t;
    } else if (!strcmp(key, "max-corrections")) {
        long n = strtol(v, &end, 10);
        if (end == v || *end || errno || n < 0 || n > MAX_CORRECTIONS) {
            repl_error(s, ":set max-corrections expects an integer from 0 to %d, got '%s'", MAX_CORRECTIONS, v);
            return;
        }
        s->po.max_corrections = (int)n;
    } else if (!strcmp(key, "library")) {
        ag_library_flags old = s->lib;
        char *p = strdup(v);
        if (!p) { repl_error(s, "out of memory"); return; }
        int off = !strcmp(v, "off") || !strcmp(v, "none");
        s->lib.off = off;
        s->lib.path = off ? NULL : p;
        if (open_library(s) != 0) {   /* said why; back to the one before */
            free(p);
            s->lib = old;
            open_library(s);
            s->failed = 1;
            return;
        }
        free(s->library_arg);
        s->library_arg = p;
    } else {
        repl_error(s, "unknown setting '%s': model, temperature, max-corrections or library", key);
        return;
    }
    printf("%s = %s\n", key, v);
}

/* ---- :save and :load: the whole session as one JSON object ---- */

static cJSON *dup_or_null(const cJSON *j)
{
    return j ? cJSON_Duplicate(j, 1) : cJSON_CreateNull();
}

static void cmd_save(repl_session *s, const char *arg)
{
    if (!*arg) { repl_error(s, ":save needs a file name"); return; }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "optagent_session", 1);
    cJSON_AddItemToObject(o, "problem", s->problem ? cJSON_CreateString(s->problem) : cJSON_CreateNull());
    cJSON *f = s->formulation ? cJSON_Parse(s->formulation) : NULL;
    cJSON_AddItemToObject(o, "formulation", f ? f : s->formulation ? cJSON_CreateString(s->formulation)
                                                                   : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "report", dup_or_null(s->report));
    cJSON_AddItemToObject(o, "record", dup_or_null(s->record));
    cJSON *set = cJSON_AddObjectToObject(o, "settings");
    cJSON_AddItemToObject(set, "model", s->cfg.model ? cJSON_CreateString(s->cfg.model) : cJSON_CreateNull());
    cJSON_AddNumberToObject(set, "temperature", s->cfg.temperature);
    cJSON_AddNumberToObject(set, "max_corrections", s->po.max_corrections);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *out = text ? fopen(arg, "w") : NULL;
    int bad = !out || fprintf(out, "%s\n", text) < 0;
    if (out && fclose(out) != 0) bad = 1;
    if (!text) repl_error(s, "out of memory");
    else if (bad) repl_error(s, "cannot save to %s: %s", arg, strerror(errno));
    else printf("saved to %s\n", arg);
    free(text);
}

/* The session object's members, checked: NULL with why in err. */
static const char *load_check(const cJSON *o, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItem(o, "optagent_session");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1) return "not an optagent session (no \"optagent_session\": 1)";
    const cJSON *p = cJSON_GetObjectItem(o, "problem");
    if (p && !cJSON_IsString(p) && !cJSON_IsNull(p)) return "\"problem\" must be a string or null";
    const char *names[] = { "formulation", "report", "record" };
    for (int i = 0; i < 3; i++) {
        const cJSON *m = cJSON_GetObjectItem(o, names[i]);
        /* a formulation may be text: an edit that is not JSON, saved as it was */
        if (m && !cJSON_IsObject(m) && !cJSON_IsNull(m) && !(i == 0 && cJSON_IsString(m))) {
            snprintf(err, errlen, "\"%s\" must be an object%s or null", names[i], i ? "" : ", a string");
            return err;
        }
    }
    return NULL;
}

static void load_settings(repl_session *s, const cJSON *set)
{
    const cJSON *m = cJSON_GetObjectItem(set, "model");
    const cJSON *t = cJSON_GetObjectItem(set, "temperature");
    const cJSON *c = cJSON_GetObjectItem(set, "max_corrections");
    char *dup = cJSON_IsString(m) ? strdup(m->valuestring) : NULL;
    if (dup) { free(s->cfg.model); s->cfg.model = dup; }
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble <= 2) s->cfg.temperature = t->valuedouble;
    if (cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble <= MAX_CORRECTIONS)
        s->po.max_corrections = (int)c->valuedouble;
}

static void cmd_load(repl_session *s, const char *arg)
{
    if (!*arg) { repl_error(s, ":load needs a file name"); return; }
    char err[600];
    size_t len;
    char *text = ag_read_file(arg, MAX_SESSION_BYTES, &len, err, sizeof err);
    if (!text) { repl_error(s, "cannot load: %s", err); return; }
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    const char *why = !cJSON_IsObject(o) ? "not valid JSON" : load_check(o, err, sizeof err);
    if (why) {
        repl_error(s, "cannot load %s: %s; the session is unchanged", arg, why);
        cJSON_Delete(o);
        return;
    }
    const cJSON *p = cJSON_GetObjectItem(o, "problem"), *f = cJSON_GetObjectItem(o, "formulation");
    char *problem = cJSON_IsString(p) ? strdup(p->valuestring) : NULL;
    char *form = cJSON_IsObject(f) ? cJSON_PrintUnformatted(f)
               : cJSON_IsString(f) ? strdup(f->valuestring) : NULL;
    clear_model(s);
    free(s->problem);
    s->problem = problem;
    s->formulation = form;
    cJSON *r = cJSON_DetachItemFromObject(o, "report"), *rec = cJSON_DetachItemFromObject(o, "record");
    if (cJSON_IsObject(r)) s->report = r; else cJSON_Delete(r);
    if (cJSON_IsObject(rec)) s->record = rec; else cJSON_Delete(rec);
    load_settings(s, cJSON_GetObjectItem(o, "settings"));
    cJSON_Delete(o);
    printf("loaded %s%s\n", arg, s->formulation ? "" : " (no formulation)");
    if (s->report) repl_show_summary(s, s->report);
}

/* ---- the command table ---- */

static void cmd_help(repl_session *s, const char *arg);

static void cmd_new(repl_session *s, const char *arg)
{
    clear_model(s);
    free(s->problem);
    s->problem = NULL;
    printf("new session: type a problem\n");
}

static void cmd_quit(repl_session *s, const char *arg) { s->quit = 1; }
static void cmd_formulation(repl_session *s, const char *arg)
{
    if (*arg && strcmp(arg, "json")) { repl_error(s, "usage: :formulation [json]"); return; }
    repl_show_formulation(s, *arg != 0);
}
static void cmd_solution(repl_session *s, const char *arg) { repl_show_solution(s); }
static void cmd_diagnostics(repl_session *s, const char *arg) { repl_show_diagnostics(s); }
static void cmd_attempts(repl_session *s, const char *arg) { repl_show_attempts(s); }
static void cmd_insights(repl_session *s, const char *arg) { repl_show_insights(s); }

static const struct {
    const char *name, *args, *help;
    void (*run)(repl_session *s, const char *arg);
} commands[] = {
    { ":help", "", "list the commands", cmd_help },
    { ":formulation", "[json]", "the current model, readably (json: the JSON)", cmd_formulation },
    { ":solution", "", "every variable, and duals and slacks of an LP", cmd_solution },
    { ":diagnostics", "", "the checker's and the solver's diagnostics", cmd_diagnostics },
    { ":attempts", "", "the correction history of the last request", cmd_attempts },
    { ":insights", "", "what the experience library gave, with scores", cmd_insights },
    { ":revise", "TEXT", "have the LLM change the model as TEXT says, then solve it", cmd_revise },
    { ":edit", "", "edit the formulation in $VISUAL / $EDITOR, then solve it", cmd_edit },
    { ":solve", "", "solve the current formulation again", cmd_solve },
    { ":export", "FILE", "write the model: .json, .lp, .mps or .mod", cmd_export },
    { ":set", "KEY VALUE", "model, temperature, max-corrections or library (a path, or off)", cmd_set },
    { ":save", "FILE", "save the whole session as JSON", cmd_save },
    { ":load", "FILE", "load a saved session", cmd_load },
    { ":new", "", "forget the problem and start again", cmd_new },
    { ":quit", "", "leave (also Ctrl-D)", cmd_quit },
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

const char *const repl_command_names[] = {
    ":help", ":formulation", ":solution", ":diagnostics", ":attempts", ":insights", ":revise",
    ":edit", ":solve", ":export", ":set", ":save", ":load", ":new", ":quit", NULL
};

static void cmd_help(repl_session *s, const char *arg)
{
    printf("Type a problem over one or more lines; a blank line sends it.\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char head[40];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        printf("  %-24s %s\n", head, commands[i].help);
    }
    printf("Ctrl-C cancels a request in flight; Ctrl-D quits.\n");
}

void repl_command(repl_session *s, const char *line)
{
    size_t n = strcspn(line, " \t");
    const char *arg = line + n + strspn(line + n, " \t");
    char *a = strdup(arg);
    if (!a) { repl_error(s, "out of memory"); return; }
    for (size_t k = strlen(a); k && strchr(" \t\r", a[k - 1]); k--) a[k - 1] = 0;
    size_t i = 0;
    while (i < NCOMMANDS && (strlen(commands[i].name) != n || strncmp(commands[i].name, line, n))) i++;
    if (i == NCOMMANDS) repl_error(s, "unknown command '%.*s' (:help lists them)", (int)(n > 64 ? 64 : n), line);
    else commands[i].run(s, a);
    free(a);
}
