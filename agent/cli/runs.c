/* optagent runs: the runs a results database holds, one line each (or
 * --json), and ag_run_resolve, the one way every command turns what a user
 * typed for a run into its id.
 *
 * A run is named by its numeric id, its whole uuid, or a unique prefix of
 * the uuid (as git takes a commit): the id wins when both could apply, a
 * prefix needs 4 characters (hyphens optional, any case), and an ambiguous
 * one is refused with the candidates listed. The listing reads
 * db_runs_list (a run's counts come from SQL) and the run's stored config
 * (files, model): nothing is loaded per problem. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"
#include "db/db.h"

#define PREFIX_MIN 4
#define CANDIDATES_SHOWN 5

static const char runs_usage[] =
    "usage: optagent runs [--db FILE] [--json]\n"
    "\n"
    "Lists the runs in a results database, oldest first: id, the start of its\n"
    "uuid, start date, command, input files, model, problems recorded, accuracy\n"
    "(correct of those with a gold answer) and state (running, finished,\n"
    "interrupted). Any command that takes a run (eval RUN, eval --compare A B,\n"
    "batch --resume RUN) takes its id, its uuid or a unique prefix of the uuid\n"
    "(at least 4 characters).\n"
    "\n"
    "options:\n"
    "  --db FILE     results database (default optagent-runs.db); it must exist\n"
    "  --json        one JSON array of runs instead of the table\n"
    "  -h, --help    show this help\n";

/* uuid without hyphens, lower case, into out (33 bytes). */
static void squeeze(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 1 < cap; in++)
        if (*in != '-') out[o++] = (char)tolower((unsigned char)*in);
    out[o] = 0;
}

int ag_run_resolve(struct db *d, const char *arg, int64_t *run_id, char *err, size_t errlen)
{
    size_t n = strlen(arg);
    if (n == 0) { snprintf(err, errlen, "an empty run id"); return -1; }
    if (db_run_find(d, arg, run_id) == DB_OK) return 0;   /* an id or a whole uuid */
    char want[64];
    squeeze(arg, want, sizeof want);
    size_t wn = strlen(want);
    int hex = wn > 0 && wn <= 32 && strspn(want, "0123456789abcdef") == wn;
    if (!hex || wn < PREFIX_MIN) {
        snprintf(err, errlen, "no run '%.60s' (give a run id, a uuid or at least %d characters "
                 "of one; optagent runs lists them)", arg, PREFIX_MIN);
        return -1;
    }
    db_run_info *runs = NULL;
    size_t nr = 0;
    if (db_runs_list(d, &runs, &nr) != DB_OK) {
        snprintf(err, errlen, "cannot read the runs");
        return -1;
    }
    size_t matches = 0, o = 0;
    char list[600] = "";
    for (size_t i = nr; i-- > 0; ) {   /* oldest first in the message */
        char have[64];
        squeeze(runs[i].uuid, have, sizeof have);
        if (strncmp(have, want, wn) != 0) continue;
        if (matches++ == 0) *run_id = runs[i].id;
        if (matches <= CANDIDATES_SHOWN && o < sizeof list)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%lld (%s)", matches > 1 ? ", " : "",
                                  (long long)runs[i].id, runs[i].uuid);
    }
    db_runs_free(runs, nr);
    if (matches == 1) return 0;
    if (matches == 0)
        snprintf(err, errlen, "no run '%.60s' (optagent runs lists them)", arg);
    else
        snprintf(err, errlen, "'%.60s' is ambiguous: it starts %zu runs: %s%s; give more of the "
                 "uuid or the run id", arg, matches, list,
                 matches > CANDIDATES_SHOWN ? ", ..." : "");
    return -1;
}

/* "a.jsonl, b.jsonl" from the run's config ("files"), cut to width. */
static void run_files(const cJSON *cfg, char *buf, size_t len)
{
    size_t o = 0;
    const cJSON *f;
    buf[0] = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(cfg, "files")) {
        const char *s = cJSON_GetStringValue(f);
        if (s && o < len) o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", s);
    }
    if (!buf[0]) snprintf(buf, len, "-");
}

/* The model the run asked, "replay" for recorded replies, "-" unknown. */
static const char *run_model(const cJSON *cfg)
{
    const char *llm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "llm"));
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "model"));
    if (llm) return llm;
    return model && *model ? model : "-";
}

/* "2026-12-02 13:20" from the stored "2026-12-02T13:20:05.123Z" (UTC). */
static void run_date(const char *at, char *buf, size_t len)
{
    snprintf(buf, len, "%.16s", at ? at : "-");
    char *t = strchr(buf, 'T');
    if (t) *t = ' ';
}

static void print_table(const db_run_info *runs, size_t n)
{
    printf("%4s  %-8s  %-16s  %-7s  %-24s  %-16s  %8s  %-15s  %s\n", "ID", "RUN", "STARTED (UTC)",
           "COMMAND", "FILES", "MODEL", "PROBLEMS", "ACCURACY", "STATE");
    for (size_t i = n; i-- > 0; ) {
        const db_run_info *r = &runs[i];
        cJSON *cfg = cJSON_Parse(r->config_json ? r->config_json : "{}");
        char files[256], date[32], acc[48], model[64], shown_files[32];
        run_files(cfg, files, sizeof files);
        /* a long list is cut with "..." so the columns stay aligned */
        if (strlen(files) > 24) snprintf(shown_files, sizeof shown_files, "%.21s...", files);
        else snprintf(shown_files, sizeof shown_files, "%s", files);
        snprintf(model, sizeof model, "%.16s", run_model(cfg));
        run_date(r->created_at, date, sizeof date);
        if (r->graded > 0)
            snprintf(acc, sizeof acc, "%.1f%% (%lld/%lld)", 100.0 * (double)r->correct / (double)r->graded,
                     (long long)r->correct, (long long)r->graded);
        else
            snprintf(acc, sizeof acc, "-");
        printf("%4lld  %.8s  %-16s  %-7.7s  %-24s  %-16s  %8lld  %-15s  %s%s%s\n", (long long)r->id,
               r->uuid, date, r->command ? r->command : "-", shown_files, model, (long long)r->problems,
               acc, r->status ? r->status : "-", r->shard && *r->shard ? " shard " : "",
               r->shard && *r->shard ? r->shard : "");
        cJSON_Delete(cfg);
    }
}

/* The runs as JSON (oldest first); -1 when out of memory. */
static int print_json(const db_run_info *runs, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = n; arr && i-- > 0; ) {
        const db_run_info *r = &runs[i];
        cJSON *cfg = cJSON_Parse(r->config_json ? r->config_json : "{}");
        cJSON *o = cJSON_CreateObject();
        char files[4096];
        cJSON_AddNumberToObject(o, "id", (double)r->id);
        cJSON_AddStringToObject(o, "uuid", r->uuid);
        cJSON_AddStringToObject(o, "created_at", r->created_at ? r->created_at : "");
        if (r->finished_at) cJSON_AddStringToObject(o, "finished_at", r->finished_at);
        else cJSON_AddNullToObject(o, "finished_at");
        cJSON_AddStringToObject(o, "command", r->command ? r->command : "");
        run_files(cfg, files, sizeof files);
        cJSON_AddStringToObject(o, "files", files);
        cJSON_AddStringToObject(o, "model", run_model(cfg));
        cJSON_AddNumberToObject(o, "problems", (double)r->problems);
        cJSON_AddNumberToObject(o, "with_gold", (double)r->graded);
        cJSON_AddNumberToObject(o, "correct", (double)r->correct);
        if (r->graded > 0) cJSON_AddNumberToObject(o, "accuracy", (double)r->correct / (double)r->graded);
        else cJSON_AddNullToObject(o, "accuracy");
        cJSON_AddStringToObject(o, "state", r->status ? r->status : "");
        if (r->shard && *r->shard) cJSON_AddStringToObject(o, "shard", r->shard);
        cJSON_AddItemToArray(arr, o);
        cJSON_Delete(cfg);
    }
    char *s = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (s && ag_utf8_fix(&s) != 0) { free(s); s = NULL; }
    if (!s) return -1;
    puts(s);
    free(s);
    return 0;
}

int ag_cmd_runs(int argc, char **argv)
{
    enum { OPT_DB = 0x100, OPT_JSON };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "db", required_argument, NULL, OPT_DB },
        { "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 }
    };
    ag_args args = { "runs", argc, argv, "h", longopts, 0, 0, 0, 0 };
    const char *v, *dbpath = "optagent-runs.db";
    int json = 0;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(runs_usage, stdout); return EXIT_SOLVED;
        case OPT_DB: dbpath = v; break;
        case OPT_JSON: json = 1; break;
        case AG_ARG_POSITIONAL: return ag_usage_error("runs", "unexpected argument '%s'", v);
        }
    }
    if (ag_db_must_exist("runs", dbpath) != 0) return EXIT_FAILED;
    char err[1024];
    db_code dc;
    db *d = db_open(dbpath, &dc, err, sizeof err);
    if (!d) { fprintf(stderr, "optagent runs: %s: %s\n", dbpath, err); return EXIT_FAILED; }
    db_run_info *runs = NULL;
    size_t n = 0;
    int rc = EXIT_FAILED;
    dc = db_runs_list(d, &runs, &n);
    if (dc != DB_OK) {
        db_errmsg(d, err, sizeof err);
        fprintf(stderr, "optagent runs: %s: %s\n", dbpath, *err ? err : db_strerror(dc));
        goto out;
    }
    if (json) {
        if (print_json(runs, n) != 0) { fprintf(stderr, "optagent runs: out of memory\n"); goto out; }
    } else if (n == 0) {
        fprintf(stderr, "optagent runs: %s holds no run yet\n", dbpath);
    } else {
        print_table(runs, n);
    }
    rc = fflush(stdout) == 0 ? EXIT_SOLVED : EXIT_FAILED;
out:
    db_runs_free(runs, n);
    db_close(d);
    return rc;
}
