/* optagent library — the experience library from the command line: list,
 * show, search, add, edit, rm, export, import, stats, refine. Every read
 * command takes --json. All the work is in library/ (and, for refine's LLM
 * exchange, agent/core/learn.c); this file parses options and prints. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"
#include "library/library.h"

static const char library_usage[] =
    "usage: optagent library COMMAND [ARGS] [--library PATH] [--json] [-k N]\n"
    "\n"
    "The experience library: insights learned from failed attempts, retrieved\n"
    "for later problems (see library/README.md).\n"
    "\n"
    "commands:\n"
    "  list                 every insight (--json: an array in the contract's format)\n"
    "  show ID              one insight in full, with its number of earlier versions\n"
    "  search TEXT          the insights that apply to a problem text, best first,\n"
    "                       with their scores and the words that matched\n"
    "  add [FILE|-]         add an insight (a JSON object; default: standard input)\n"
    "  edit ID [FILE|-]     replace fields from a JSON object; the old version is\n"
    "                       kept in the history and the version grows by one\n"
    "  rm ID                remove an insight (its versions stay in the history)\n"
    "  export [-o FILE]     the whole library as a JSON array\n"
    "  import FILE|-        insights from an export or AlphaOPT's library.json\n"
    "                       (all or nothing: one bad record imports none)\n"
    "  stats                counts by taxonomy and by statistics kind\n"
    "  refine [ID]          rewrite the conditions of insights that misfired or\n"
    "                       were missed (all with a negative or unretrieved\n"
    "                       problem, or ID): asks the LLM for -k conditions (task\n"
    "                       refine, default 3), scores each by re-running\n"
    "                       retrieval on the insight's problems, and replaces the\n"
    "                       condition only when one scores higher (the old\n"
    "                       version stays in the history)\n"
    "\n"
    "options:\n"
    "  --library PATH       the library file (default\n"
    "                       $XDG_DATA_HOME/optagent/library.db, created on first use)\n"
    "  --json               JSON on standard output (read commands)\n"
    "  -k N                 search: at most N insights (default 5); refine: N\n"
    "                       conditions asked per insight (default 3)\n"
    "  -o FILE              export: write to FILE instead of standard output\n"
    "  -h, --help           show this help\n"
    "refine's LLM endpoint: --base-url, --model, --api-key-file, --config,\n"
    "  --temperature, --max-tokens, --seed, --timeout (as for optagent ask), or\n"
    "  --llm replay:FILE.jsonl (recorded replies, id \"insight-ID\", task refine)\n";

#define MAX_INPUT (1024 * 1024)

static int usage_error(const char *fmt, const char *arg)
{
    return ag_usage_error("library", fmt, arg ? arg : "");
}

static int parse_id(const char *s, int64_t *id)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s || v < 1) return -1;
    *id = v;
    return 0;
}

static void print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    if (s) {
        puts(s);
        free(s);
    }
}

static void print_path(const lib_insight *in)
{
    for (int i = 0; i < in->ntaxonomy; i++) printf("%s%s", i ? " > " : "", in->taxonomy[i]);
}

static void print_insight(const lib_insight *in, size_t versions)
{
    printf("insight %lld (version %lld", (long long)in->id, (long long)in->version);
    if (versions) printf(", %zu earlier in the history", versions);
    printf(")\ntaxonomy:    ");
    print_path(in);
    printf("\ncondition:   %s\nexplanation: %s\nexample:     %s\n", in->condition,
           in->explanation, in->example);
    if (in->src_problem || in->src_dataset || in->src_run || in->src_model)
        printf("source:      %s%s%s%s%s%s%s\n", in->src_dataset ? in->src_dataset : "",
               in->src_dataset ? "/" : "", in->src_problem ? in->src_problem : "",
               in->src_run ? " run " : "", in->src_run ? in->src_run : "",
               in->src_model ? " model " : "", in->src_model ? in->src_model : "");
    printf("stats:      ");
    for (int k = 0; k < LIB_NSTATS; k++)
        printf(" %s %zu", lib_stat_name((lib_stat_kind)k), in->stats[k].n);
    printf("\n");
    for (size_t i = 0; i < in->nproblems; i++)
        printf("problem %s: %.200s%s\n", in->problems[i].id, in->problems[i].text,
               strlen(in->problems[i].text) > 200 ? "..." : "");
}

static int lib_failed(lib *l, lib_code c, const char *what)
{
    char msg[768];
    lib_errmsg(l, msg, sizeof msg);
    fprintf(stderr, "optagent library %s: %s\n", what, msg[0] ? msg : lib_strerror(c));
    return EXIT_FAILED;
}

/* Reads one JSON object from path ("-": standard input). */
static cJSON *read_object(const char *path, const char *what)
{
    char err[512];
    size_t len = 0;
    char *text = ag_read_file(path, MAX_INPUT, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "optagent library %s: cannot read %s\n", what, err);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(j)) {
        fprintf(stderr, "optagent library %s: %s: expected one JSON object\n", what,
                strcmp(path, "-") ? path : "standard input");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int cmd_list(lib *l, int json)
{
    lib_insight *v = NULL;
    size_t n = 0;
    if (json) {
        cJSON *a = NULL;
        lib_code c = lib_export(l, &a);
        if (c) return lib_failed(l, c, "list");
        print_json(a);
        cJSON_Delete(a);
        return EXIT_SOLVED;
    }
    lib_code c = lib_list(l, &v, &n);
    if (c) return lib_failed(l, c, "list");
    for (size_t i = 0; i < n; i++) {
        printf("%5lld  v%lld  ", (long long)v[i].id, (long long)v[i].version);
        print_path(&v[i]);
        printf("\n       %.100s%s\n", v[i].condition, strlen(v[i].condition) > 100 ? "..." : "");
    }
    if (!n) printf("(the library is empty)\n");
    lib_insights_free(v, n);
    return EXIT_SOLVED;
}

static int cmd_show(lib *l, int64_t id, int json)
{
    lib_insight in, *hist = NULL;
    size_t nh = 0;
    lib_code c = lib_get(l, id, &in);
    if (c) return lib_failed(l, c, "show");
    c = lib_history(l, id, &hist, &nh);
    if (c) {
        lib_insight_clear(&in);
        return lib_failed(l, c, "show");
    }
    if (json) {
        cJSON *j = lib_insight_to_json(&in);
        cJSON *h = j ? cJSON_AddArrayToObject(j, "history") : NULL;
        for (size_t i = 0; h && i < nh; i++) cJSON_AddItemToArray(h, lib_insight_to_json(&hist[i]));
        print_json(j);
        cJSON_Delete(j);
    } else {
        print_insight(&in, nh);
    }
    lib_insights_free(hist, nh);
    lib_insight_clear(&in);
    return EXIT_SOLVED;
}

static int cmd_search(lib *l, const char *text, size_t k, int json)
{
    lib_hit *h = NULL;
    size_t n = 0;
    lib_code c = lib_search(l, text, k, &h, &n);
    if (c) return lib_failed(l, c, "search");
    if (json) {
        cJSON *a = lib_hits_json(h, n);
        print_json(a);
        cJSON_Delete(a);
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%zu. insight %lld  score %.2f  (applies %.2f, does-not-apply %.2f, "
                   "explanation %.2f, taxonomy %.2f, problems %.2f; boost %.2f)\n   ",
                   i + 1, (long long)h[i].insight.id, h[i].score, h[i].applies,
                   h[i].not_applies > 0 ? -h[i].not_applies : 0.0, h[i].explanation, h[i].taxonomy, h[i].problems,
                   h[i].boost);
            print_path(&h[i].insight);
            printf("\n   matched: %s\n   %.160s%s\n", h[i].matched[0] ? h[i].matched : "-",
                   h[i].insight.condition, strlen(h[i].insight.condition) > 160 ? "..." : "");
        }
        if (!n) printf("no insight applies\n");
    }
    lib_hits_free(h, n);
    return EXIT_SOLVED;
}

static int cmd_add(lib *l, const char *path, int json)
{
    cJSON *j = read_object(path, "add");
    if (!j) return EXIT_FAILED;
    lib_insight in;
    char why[512];
    lib_code c = lib_insight_from_json(j, &in, why, sizeof why);
    cJSON_Delete(j);
    if (c) {
        fprintf(stderr, "optagent library add: %s: %s\n",
                strcmp(path, "-") ? path : "standard input", why);
        return EXIT_FAILED;
    }
    c = lib_add(l, &in);
    if (c) {
        lib_insight_clear(&in);
        return lib_failed(l, c, "add");
    }
    if (json) printf("{\"id\": %lld}\n", (long long)in.id);
    else printf("added insight %lld\n", (long long)in.id);
    lib_insight_clear(&in);
    return EXIT_SOLVED;
}

static int cmd_edit(lib *l, int64_t id, const char *path, int json)
{
    cJSON *j = read_object(path, "edit");
    if (!j) return EXIT_FAILED;
    lib_insight out;
    lib_code c = lib_edit(l, id, j, &out);
    cJSON_Delete(j);
    if (c) return lib_failed(l, c, "edit");
    if (json) {
        cJSON *o = lib_insight_to_json(&out);
        print_json(o);
        cJSON_Delete(o);
    } else {
        printf("insight %lld is now version %lld\n", (long long)id, (long long)out.version);
    }
    lib_insight_clear(&out);
    return EXIT_SOLVED;
}

static int cmd_export(lib *l, const char *out_path)
{
    cJSON *a = NULL;
    lib_code c = lib_export(l, &a);
    if (c) return lib_failed(l, c, "export");
    char *s = cJSON_Print(a);
    cJSON_Delete(a);
    if (!s) {
        fprintf(stderr, "optagent library export: out of memory\n");
        return EXIT_FAILED;
    }
    int rc = EXIT_SOLVED;
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f || fputs(s, f) == EOF || fputc('\n', f) == EOF || fflush(f)) rc = EXIT_FAILED;
    if (f && f != stdout && fclose(f)) rc = EXIT_FAILED;
    if (rc)
        fprintf(stderr, "optagent library export: cannot write %s: %s\n",
                out_path ? out_path : "standard output", strerror(errno));
    free(s);
    return rc;
}

static int cmd_import(lib *l, const char *path, int json)
{
    lib_import_stats s;
    char err[1024];
    lib_code c = lib_import_file(l, path, &s, err, sizeof err);
    if (c) {
        fprintf(stderr, "optagent library import: %s (nothing was imported)\n",
                err[0] ? err : lib_strerror(c));
        return EXIT_FAILED;
    }
    if (json)
        printf("{\"records\": %zu, \"added\": %zu, \"renumbered\": %zu, \"unchanged\": %zu}\n",
               s.records, s.added, s.renumbered, s.unchanged);
    else
        printf("imported %zu insight(s) from %s: %zu added, %zu with a new id (theirs was "
               "taken), %zu already there\n", s.records, path, s.added, s.renumbered,
               s.unchanged);
    return EXIT_SOLVED;
}

static int cmd_stats(lib *l, int json)
{
    cJSON *o = NULL;
    lib_code c = lib_stats(l, &o);
    if (c) return lib_failed(l, c, "stats");
    if (json) {
        print_json(o);
    } else {
        printf("%d insight(s), %d earlier version(s) in the history, %d taxonomy labels\n",
               cJSON_GetObjectItem(o, "insights")->valueint,
               cJSON_GetObjectItem(o, "versions_in_history")->valueint,
               cJSON_GetObjectItem(o, "taxonomy_labels")->valueint);
        const cJSON *stage, *lab;
        cJSON_ArrayForEach(stage, cJSON_GetObjectItem(o, "by_taxonomy")) {
            printf("  %-40s %d\n", stage->string, cJSON_GetObjectItem(stage, "count")->valueint);
            cJSON_ArrayForEach(lab, cJSON_GetObjectItem(stage, "labels"))
                printf("    %-38s %d\n", lab->string, lab->valueint);
        }
        printf("statistics:");
        cJSON_ArrayForEach(lab, cJSON_GetObjectItem(o, "stats"))
            printf(" %s %d", lab->string, lab->valueint);
        printf("\n");
    }
    cJSON_Delete(o);
    return EXIT_SOLVED;
}

/* ---- refine ---- */

static void print_score(const char *what, const lib_refine_score_t *s)
{
    printf("  %-10s score %.3f (positives kept %zu/%zu, unretrieved now found %zu/%zu, "
           "negatives avoided %zu/%zu%s)\n", what, s->score, s->positive_kept, s->positive,
           s->unretrieved_now, s->unretrieved, s->negative_avoided, s->negative,
           s->no_text ? ", some problems without a stored text" : "");
}

static cJSON *score_json(const lib_refine_score_t *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "score", s->score);
    cJSON_AddNumberToObject(o, "positive", (double)s->positive);
    cJSON_AddNumberToObject(o, "positive_kept", (double)s->positive_kept);
    cJSON_AddNumberToObject(o, "unretrieved", (double)s->unretrieved);
    cJSON_AddNumberToObject(o, "unretrieved_now", (double)s->unretrieved_now);
    cJSON_AddNumberToObject(o, "negative", (double)s->negative);
    cJSON_AddNumberToObject(o, "negative_avoided", (double)s->negative_avoided);
    cJSON_AddNumberToObject(o, "no_text", (double)s->no_text);
    return o;
}

static cJSON *refine_json(const ag_refine_record *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddNumberToObject(o, "version", (double)r->old_version);
    if (r->error[0]) cJSON_AddStringToObject(o, "skipped", r->error);
    cJSON_AddBoolToObject(o, "replaced", r->replaced);
    if (r->replaced) cJSON_AddNumberToObject(o, "new_version", (double)r->new_version);
    cJSON_AddItemToObject(o, "current", score_json(&r->current));
    cJSON *v = cJSON_AddArrayToObject(o, "variants");
    for (size_t i = 0; i < r->nvariants; i++) {
        cJSON *e = score_json(&r->variants[i].score);
        cJSON_AddStringToObject(e, "condition", r->variants[i].condition);
        cJSON_AddItemToArray(v, e);
    }
    return o;
}

static void refine_print(const ag_refine_record *r)
{
    printf("insight %lld (version %lld):\n", (long long)r->id, (long long)r->old_version);
    if (r->error[0] && !r->nvariants) {
        printf("  skipped: %s; nothing was written\n", r->error);
        return;
    }
    print_score("current", &r->current);
    for (size_t i = 0; i < r->nvariants; i++) {
        char what[32];
        snprintf(what, sizeof what, "variant %zu", i + 1);
        print_score(what, &r->variants[i].score);
        printf("             %.160s%s\n", r->variants[i].condition,
               strlen(r->variants[i].condition) > 160 ? "..." : "");
    }
    if (r->replaced)
        printf("  replaced by variant %d (scores %.3f > %.3f): now version %lld, version %lld "
               "kept in the history\n", r->best + 1, r->variants[r->best].score.score,
               r->current.score, (long long)r->new_version, (long long)r->old_version);
    else if (r->error[0]) printf("  kept: %s\n", r->error);
    else printf("  kept: no variant scores higher than the current condition (%.3f)\n",
                r->current.score);
}

/* The chat backend for refine: a replay file or the configured endpoint.
 * 0, or -1 said. */
static int refine_chat(const char *llm_arg, const ag_llm_flags *flags, ag_llm_config *cfg,
                       ag_replay **replay, ag_llm **client, ag_chat *chat)
{
    char err[1024];
    if (llm_arg) {
        if (!(*replay = ag_replay_load(llm_arg + 7, err, sizeof err))) {
            fprintf(stderr, "optagent library refine: %s\n", err);
            return -1;
        }
        *chat = ag_chat_replay(*replay);
        return 0;
    }
    if (ag_llm_config_load(flags, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent library refine: %s\n", err);
        return -1;
    }
    if (!cfg->base_url || !*cfg->base_url) {
        fprintf(stderr, "optagent library refine: no LLM endpoint configured: use --base-url "
                "and --model (or OPTAGENT_BASE_URL, OPTAGENT_MODEL), or --llm replay:FILE.jsonl\n");
        return -1;
    }
    if (!(*client = ag_llm_new(cfg))) {
        const char *why = ag_curl_load_error();
        fprintf(stderr, "optagent library refine: cannot start the LLM client%s%s\n",
                why ? ": " : "", why ? why : "");
        return -1;
    }
    *chat = ag_chat_direct(*client);
    return 0;
}

/* Refines insight id (0: every candidate of lib_refine_candidates). Exit
 * code: 0 when every insight was refined or kept, 1 when one was skipped. */
static int cmd_refine(lib *l, int64_t id, size_t k, int json, const char *llm_arg,
                      const ag_llm_flags *flags)
{
    int64_t *ids = NULL, one = id;
    size_t n = 0, skipped = 0, replaced = 0;
    if (id) { ids = &one; n = 1; }
    else {
        lib_code c = lib_refine_candidates(l, &ids, &n);
        if (c) return lib_failed(l, c, "refine");
    }
    if (!n) {
        if (json) puts("[]");
        else printf("no insight has a negative or unretrieved problem: nothing to refine\n");
        return EXIT_SOLVED;
    }
    ag_llm_config cfg;
    ag_llm_config_default(&cfg);
    ag_replay *replay = NULL;
    ag_llm *client = NULL;
    ag_chat chat;
    int rc = EXIT_FAILED;
    if (refine_chat(llm_arg, flags, &cfg, &replay, &client, &chat) != 0) goto out;
    cJSON *all = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < n; i++) {
        ag_refine_record r;
        ag_code c = ag_refine_insight(&chat, l, ids[i], k, NULL, &r);
        if (c != AG_OK) skipped++;
        if (r.replaced) replaced++;
        if (json) cJSON_AddItemToArray(all, refine_json(&r));
        else refine_print(&r);
        if (c != AG_OK && !json) fprintf(stderr, "optagent library refine: insight %lld "
                                         "skipped: %s\n", (long long)ids[i], r.error);
        ag_refine_record_clear(&r);
    }
    if (json) { print_json(all); cJSON_Delete(all); }
    else printf("refine: %zu insight(s), %zu replaced, %zu kept, %zu skipped\n", n, replaced,
                n - replaced - skipped, skipped);
    rc = skipped ? EXIT_FAILED : EXIT_SOLVED;
out:
    if (ids != &one) free(ids);
    ag_llm_free(client);
    ag_replay_free(replay);
    ag_llm_config_free(&cfg);
    return rc;
}

int ag_cmd_library(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *pos[3] = {NULL, NULL, NULL}, *llm_arg = NULL;
    int json = 0, npos = 0, k_set = 0;
    size_t k = LIB_DEFAULT_K;
    ag_llm_flags flags;
    memset(&flags, 0, sizeof flags);
    enum { OPT_JSON = 0x100, OPT_LIBRARY, OPT_LLM };
    struct option longopts[24] = {
        { "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, OPT_JSON },
        { "library", required_argument, NULL, OPT_LIBRARY },
        { "llm", required_argument, NULL, OPT_LLM },
    };
    ag_args_llm_options(longopts + 4, 19);   /* the last entry stays {0} */
    ag_args args = { "library", argc, argv, "hk:o:", longopts, 0, 0, 0, 0 };
    const char *v;
    long n;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(library_usage, stdout); return EXIT_SOLVED;
        case OPT_JSON: json = 1; break;
        case 'o': out_path = v; break;
        case OPT_LIBRARY:
            if (!*v) return usage_error("--library needs a path%s", "");
            path = v;
            break;
        case 'k':
            if (ag_arg_long("library", "-k", v, 1, 1000, &n)) return EXIT_USAGE;
            k = (size_t)n;
            k_set = 1;
            break;
        case OPT_LLM:
            if (strncmp(v, "replay:", 7)) return usage_error("--llm takes replay:FILE.jsonl, got '%s'", v);
            llm_arg = v;
            break;
        case AG_ARG_POSITIONAL:
            if (npos == 3) return usage_error("too many arguments ('%s')", v);
            pos[npos++] = v;
            break;
        default:
            if (ag_arg_llm("library", &flags, c, v)) return EXIT_USAGE;
        }
    }
    if (!npos) return usage_error("no command given%s", "");
    const char *cmd = pos[0];
    static const struct { const char *name; int min, max; } cmds[] = {
        {"list", 1, 1}, {"show", 2, 2}, {"search", 2, 2}, {"add", 1, 2}, {"edit", 2, 3},
        {"rm", 2, 2}, {"export", 1, 1}, {"import", 2, 2}, {"stats", 1, 1}, {"refine", 1, 2},
    };
    size_t ci = 0;
    while (ci < sizeof cmds / sizeof cmds[0] && strcmp(cmds[ci].name, cmd)) ci++;
    if (ci == sizeof cmds / sizeof cmds[0]) return usage_error("unknown command '%s'", cmd);
    if (npos < cmds[ci].min || npos > cmds[ci].max)
        return usage_error(npos < cmds[ci].min ? "'%s' needs an argument"
                                               : "'%s': too many arguments", cmd);
    int64_t id = 0;
    if ((!strcmp(cmd, "show") || !strcmp(cmd, "edit") || !strcmp(cmd, "rm") ||
         (!strcmp(cmd, "refine") && npos > 1)) &&
        parse_id(pos[1], &id))
        return usage_error("'%s' is not an insight id (a whole number >= 1)", pos[1]);

    char defpath[1024];
    if (!path) {
        if (lib_default_path(defpath, sizeof defpath)) {
            fprintf(stderr, "optagent library: neither XDG_DATA_HOME nor HOME is set: "
                    "give --library PATH\n");
            return EXIT_FAILED;
        }
        path = defpath;
    }
    lib_code c;
    char err[1024];
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    if (!l) {
        fprintf(stderr, "optagent library: %s\n", err[0] ? err : lib_strerror(c));
        return EXIT_FAILED;
    }
    int rc;
    if (!strcmp(cmd, "list")) rc = cmd_list(l, json);
    else if (!strcmp(cmd, "show")) rc = cmd_show(l, id, json);
    else if (!strcmp(cmd, "search")) rc = cmd_search(l, pos[1], k, json);
    else if (!strcmp(cmd, "add")) rc = cmd_add(l, npos > 1 ? pos[1] : "-", json);
    else if (!strcmp(cmd, "edit")) rc = cmd_edit(l, id, npos > 2 ? pos[2] : "-", json);
    else if (!strcmp(cmd, "rm")) {
        c = lib_remove(l, id);
        rc = c ? lib_failed(l, c, "rm") : EXIT_SOLVED;
        if (!c) printf(json ? "{\"removed\": %lld}\n" : "removed insight %lld (kept in the "
                       "history)\n", (long long)id);
    } else if (!strcmp(cmd, "export")) rc = cmd_export(l, out_path);
    else if (!strcmp(cmd, "import")) rc = cmd_import(l, pos[1], json);
    else if (!strcmp(cmd, "refine")) rc = cmd_refine(l, id, k_set ? k : 3, json, llm_arg, &flags);
    else rc = cmd_stats(l, json);
    lib_close(l);
    return rc;
}
