/* optagent eval (reports from a results database) and optagent merge. */
#define _GNU_SOURCE          /* getopt_long's struct option, open_memstream */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/llm/llm.h"
#include "agent/cli/cli.h"
#include "agent/eval/eval.h"
#include "agent/core/core.h"
#include "db/db.h"

static const char eval_usage[] =
    "usage: optagent eval [--db FILE] [RUN] [options]\n"
    "       optagent eval [--db FILE] --compare RUN_A RUN_B\n"
    "\n"
    "Accuracy report of a batch run (default: the newest run in the database).\n"
    "RUN is a run id, a uuid or a unique prefix of one (optagent runs lists them).\n"
    "\n"
    "options:\n"
    "  --db FILE         results database (default optagent-runs.db)\n"
    "  --match RULE      default: |a-g| <= 1e-4*max(1,|g|); alphaopt: |a-g| <= 0.1;\n"
    "                    orlm: both rounded to integers, then 5% relative;\n"
    "                    optibench: every queried quantity, |a-g| <= 1e-4 (absolute)\n"
    "  --format F        markdown (default), json or html\n"
    "  -o FILE           write the report to FILE instead of standard output\n"
    "  --compare A B     what changed problem by problem from run A to run B, with\n"
    "                    the experience library each used and the insights the\n"
    "                    problems that changed category carried\n";

static const char merge_usage[] =
    "usage: optagent merge OUT.db IN.db...\n"
    "\n"
    "Joins result databases (e.g. the shards of one evaluation) into OUT.db.\n"
    "Runs with the same uuid become one run whose problems are the union.\n";

static ag_outcome outcome_from(const char *s)
{
    for (int o = AG_OUTCOME_OK; o <= AG_OUTCOME_SOLVER_ERROR; o++)
        if (s && !strcmp(s, ag_outcome_name((ag_outcome)o))) return (ag_outcome)o;
    return AG_OUTCOME_LLM_ERROR;
}

/* The last diagnostic of a problem's last attempt, into buf: the LLM
 * call's error, the solver's first diagnostic (with its element, index and
 * hint), the solver's message, "no formulation found in the reply", or
 * the final status; "" when there is no attempt. */
static void last_diagnostic(const db_problem_info *p, char *buf, size_t len)
{
    buf[0] = 0;
    if (!p->nattempts) return;
    const db_attempt_info *a = &p->attempts[p->nattempts - 1];
    if (a->outcome && !strcmp(a->outcome, "llm_error")) {
        for (size_t i = p->ncalls; i-- > 0; )
            if (p->calls[i].error) { snprintf(buf, len, "LLM call: %s", p->calls[i].error); return; }
        snprintf(buf, len, "the LLM call failed");
        return;
    }
    cJSON *res = a->result_json ? cJSON_Parse(a->result_json) : NULL;
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "diagnostics"), 0);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(res, "status"));
    const char *smsg = cJSON_GetStringValue(cJSON_GetObjectItem(res, "message"));
    if (d) {
        const char *sev = cJSON_GetStringValue(cJSON_GetObjectItem(d, "severity"));
        const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(d, "element"));
        const char *ix = cJSON_GetStringValue(cJSON_GetObjectItem(d, "index"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(d, "message"));
        const char *hint = cJSON_GetStringValue(cJSON_GetObjectItem(d, "hint"));
        snprintf(buf, len, "%s %s%s%s: %s%s%s%s", sev ? sev : "", el ? el : "", ix && *ix ? " " : "",
                 ix ? ix : "", msg ? msg : "", hint && *hint ? " (hint: " : "", hint && *hint ? hint : "",
                 hint && *hint ? ")" : "");
    } else if (smsg) {
        snprintf(buf, len, "solver: %s", smsg);
    } else if (!a->formulation && a->reply) {
        snprintf(buf, len, "no formulation found in the reply");
    } else if (status) {
        snprintf(buf, len, "solved: status %s", status);
    } else if (a->outcome) {
        snprintf(buf, len, "outcome %s", a->outcome);
    }
    cJSON_Delete(res);
}

/* 1 when the run answered from a replay file (its config's "llm"). */
static int run_replayed(db *d, int64_t run)
{
    db_run_info info;
    if (db_run_get(d, run, &info) != DB_OK) return 0;
    cJSON *c = cJSON_Parse(info.config_json ? info.config_json : "{}");
    const char *llm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "llm"));
    int yes = llm && !strcmp(llm, "replay");
    cJSON_Delete(c);
    db_run_info_clear(&info);
    return yes;
}

/* Builds the evaluation of one run from its recorded problems. With
 * details, a problem the run did not get right carries its last diagnostic
 * and reply (read one problem at a time: only the HTML report shows them). */
static ag_eval *load_eval(db *d, int64_t run, ag_match_rule rule, int details, char *err, size_t errlen)
{
    db_problem_info *recs = NULL;
    size_t n = 0;
    db_code dc = db_problems_list(d, run, 0, &recs, &n);
    if (dc != DB_OK) { snprintf(err, errlen, "cannot read the run: %s", db_strerror(dc)); return NULL; }
    ag_eval *e = ag_eval_new(rule);
    for (size_t i = 0; e && i < n; i++) {
        const db_problem_info *r = &recs[i];
        ag_eval_quantity gq[AG_EVAL_MAX_QUANTITIES], rq[AG_EVAL_MAX_REPORTED];
        ag_eval_item it;
        memset(&it, 0, sizeof it);
        it.dataset = r->dataset;
        it.id = r->problem_id;
        it.outcome = outcome_from(r->outcome);
        it.has_answer = r->has_answer;
        it.answer = r->answer;
        it.tokens = (r->prompt_tokens > 0 ? r->prompt_tokens : 0) + (r->completion_tokens > 0 ? r->completion_tokens : 0);
        it.llm_calls = r->llm_call_count;
        it.latency_ms = r->llm_ms;
        cJSON *g = r->gold_json ? cJSON_Parse(r->gold_json) : NULL;
        ag_eval_gold_from_json(g, rule, gq, AG_EVAL_MAX_QUANTITIES, &it.gold);
        cJSON *res = r->result_json ? cJSON_Parse(r->result_json) : NULL;
        it.nreported = ag_eval_reported_from_json(res, rq, AG_EVAL_MAX_REPORTED, &it.answer_name);
        it.reported = rq;
        /* a record from before "proven" was stored: only LP/MILP, all proven */
        const cJSON *pv = cJSON_GetObjectItem(res, "proven");
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(res, "status"));
        it.proven = pv ? cJSON_IsTrue(pv) : st && !strcmp(st, "optimal");
        db_problem_info full;
        char diag[1200];
        memset(&full, 0, sizeof full);
        if (details && r->correct != 1 &&
            db_problem_get(d, run, r->dataset, r->problem_id, &full) == DB_OK) {
            last_diagnostic(&full, diag, sizeof diag);
            it.diagnostic = *diag ? diag : NULL;
            it.reply = full.nattempts ? full.attempts[full.nattempts - 1].reply : NULL;
        }
        if (ag_eval_add(e, &it) != 0) {
            snprintf(err, errlen, "problem %s/%s: %s", r->dataset, r->problem_id, ag_eval_error(e));
            ag_eval_free(e);
            e = NULL;
        }
        db_problem_info_clear(&full);
        cJSON_Delete(g);
        cJSON_Delete(res);
    }
    db_problems_free(recs, n);
    if (!e) return NULL;
    return e;
}

/* ---- pass@k over samples (batch --samples K records ids as ID#s) ---- */

typedef struct { int ks[16]; double v[16]; int nk; int samples; size_t problems; } pass_table;

static int run_samples(db *d, int64_t run)
{
    db_run_info info;
    int k = 1;
    if (db_run_get(d, run, &info) != DB_OK) return 1;
    cJSON *c = info.config_json ? cJSON_Parse(info.config_json) : NULL;
    const cJSON *sm = cJSON_GetObjectItem(c, "samples");
    if (cJSON_IsNumber(sm) && sm->valuedouble >= 1) k = (int)sm->valuedouble;
    cJSON_Delete(c);
    db_run_info_clear(&info);
    return k;
}

/* Groups the samples of each problem (graded ones only) and computes pass@k
 * for k = 1, 2, 5, 10, ... up to the number of samples. */
static int pass_at_k(const ag_eval *e, int samples, pass_table *t)
{
    size_t n = ag_eval_count(e);
    int *nn = calloc(n ? n : 1, sizeof *nn), *cc = calloc(n ? n : 1, sizeof *cc);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    size_t m = 0;
    if (!nn || !cc || !keys) { free(nn); free(cc); free(keys); return -1; }
    for (size_t i = 0; i < n; i++) {
        const ag_eval_record *r = ag_eval_get(e, i);
        if (r->category == AG_CAT_NO_GOLD) continue;
        const char *hash = strrchr(r->id, '#');
        size_t base = hash ? (size_t)(hash - r->id) : strlen(r->id);
        char key[1200];
        snprintf(key, sizeof key, "%s\x1f%.*s", r->dataset, (int)base, r->id);
        size_t g = 0;
        while (g < m && strcmp(keys[g], key)) g++;
        if (g == m) { keys[m] = strdup(key); m++; }
        nn[g]++;
        if (r->category == AG_CAT_CORRECT) cc[g]++;
    }
    memset(t, 0, sizeof *t);
    t->samples = samples;
    t->problems = m;
    static const int candidates[] = { 1, 2, 3, 5, 10, 20, 50, 100 };
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        int k = candidates[i];
        if (k > samples) break;
        /* a problem with fewer samples than k (an unfinished run) is left out */
        int *n2 = malloc((m ? m : 1) * sizeof *n2), *c2 = malloc((m ? m : 1) * sizeof *c2);
        size_t w = 0;
        for (size_t g = 0; n2 && c2 && g < m; g++)
            if (nn[g] >= k) { n2[w] = nn[g]; c2[w] = cc[g]; w++; }
        t->ks[t->nk] = k;
        t->v[t->nk] = w ? ag_eval_pass_at_k_mean(n2, c2, w, k) : NAN;
        t->nk++;
        free(n2); free(c2);
    }
    for (size_t g = 0; g < m; g++) free(keys[g]);
    free(keys); free(nn); free(cc);
    return 0;
}

static void pass_markdown(const pass_table *t, FILE *out)
{
    fprintf(out, "\n## pass@k (%d samples per problem, %zu problems with a gold)\n\n| k |", t->samples, t->problems);
    for (int i = 0; i < t->nk; i++) fprintf(out, " %d |", t->ks[i]);
    fputs("\n|---|", out);
    for (int i = 0; i < t->nk; i++) fputs("---:|", out);
    fputs("\n| pass@k |", out);
    for (int i = 0; i < t->nk; i++) {
        if (isnan(t->v[i])) fputs(" n/a |", out);
        else fprintf(out, " %.1f%% |", 100 * t->v[i]);
    }
    fputs("\n\nUnbiased estimator 1 - C(n-c, k)/C(n, k) over the samples of each problem, averaged.\n", out);
}

static int find_run(db *d, const char *which, int64_t *run, char *err, size_t errlen)
{
    if (which) {
        return ag_run_resolve(d, which, run, err, errlen);
    }
    db_run_info *runs = NULL;
    size_t n = 0;
    if (db_runs_list(d, &runs, &n) != DB_OK || n == 0) {
        db_runs_free(runs, n);
        snprintf(err, errlen, "the database has no run");
        return -1;
    }
    int64_t best = runs[0].id;
    for (size_t i = 1; i < n; i++) if (runs[i].id > best) best = runs[i].id;
    *run = best;
    db_runs_free(runs, n);
    return 0;
}

typedef struct {
    const char *dbpath, *format, *outpath, *run_arg, *cmp_a, *cmp_b;
    ag_match_rule rule;
} eval_opts;

/* Parses the command line into o. Returns -1 to go on, or the exit code
 * (--help, a usage error). */
static int eval_args(int argc, char **argv, eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dbpath = "optagent-runs.db";
    o->format = "markdown";
    o->rule = AG_MATCH_DEFAULT;
    enum { OPT_DB = 0x100, OPT_MATCH, OPT_FORMAT, OPT_COMPARE };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "db", required_argument, NULL, OPT_DB },
        { "match", required_argument, NULL, OPT_MATCH }, { "format", required_argument, NULL, OPT_FORMAT },
        { "compare", required_argument, NULL, OPT_COMPARE }, { NULL, 0, NULL, 0 }
    };
    ag_args args = { "eval", argc, argv, "ho:", longopts, 0, 0, 0, 0 };
    const char *v;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(eval_usage, stdout); return EXIT_SOLVED;
        case 'o': o->outpath = v; break;
        case OPT_DB: o->dbpath = v; break;
        case OPT_COMPARE:   /* two values: A, then the next argument */
            o->cmp_a = v;
            if (!(o->cmp_b = ag_args_take(&args))) return ag_usage_error("eval", "--compare needs two runs");
            break;
        case OPT_FORMAT:
            if (strcmp(v, "markdown") && strcmp(v, "md") && strcmp(v, "json") && strcmp(v, "html"))
                return ag_usage_error("eval", "--format is markdown, json or html, got '%s'", v);
            o->format = v;
            break;
        case OPT_MATCH:
            if (ag_eval_rule_parse(v, &o->rule) != 0)
                return ag_usage_error("eval", "unknown --match '%s' (default, alphaopt, orlm, optibench)", v);
            break;
        case AG_ARG_POSITIONAL:
            if (o->run_arg) return ag_usage_error("eval", "one run at a time (or --compare A B)");
            o->run_arg = v;
        }
    }
    return -1;
}

/* JSON and HTML with pass@k: the writer's output, with pass@k added. */
static ag_code write_with_pass(const ag_eval *ea, const char *format, const pass_table *pt, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return AG_ENOMEM;
    ag_code wr = !strcmp(format, "json") ? ag_eval_write_json(ea, mem) : ag_eval_write_html(ea, mem);
    fclose(mem);
    if (wr == 0 && !strcmp(format, "json")) {
        cJSON *j = cJSON_Parse(buf);
        cJSON *pk = cJSON_CreateObject();
        cJSON_AddNumberToObject(pk, "samples", pt->samples);
        for (int i = 0; i < pt->nk; i++) {
            char k[16];
            snprintf(k, sizeof k, "%d", pt->ks[i]);
            if (isnan(pt->v[i])) cJSON_AddNullToObject(pk, k); else cJSON_AddNumberToObject(pk, k, pt->v[i]);
        }
        cJSON_AddItemToObject(j, "pass_at_k", pk);
        char *s2 = j ? cJSON_Print(j) : NULL;
        if (s2 && ag_utf8_fix(&s2) != 0) { free(s2); s2 = NULL; }   /* valid UTF-8 out */
        if (s2) { fputs(s2, out); fputc('\n', out); } else wr = AG_ENOMEM;
        free(s2);
        cJSON_Delete(j);
    } else if (wr == 0) {
        char *end = strstr(buf, "</body>");
        fwrite(buf, 1, end ? (size_t)(end - buf) : len, out);
        fprintf(out, "<h2>pass@k (%d samples per problem)</h2>\n<table><tr><th>k</th>", pt->samples);
        for (int i = 0; i < pt->nk; i++) fprintf(out, "<th>%d</th>", pt->ks[i]);
        fputs("</tr>\n<tr><th>pass@k</th>", out);
        for (int i = 0; i < pt->nk; i++) {
            if (isnan(pt->v[i])) fputs("<td>n/a</td>", out);
            else fprintf(out, "<td>%.1f%%</td>", 100 * pt->v[i]);
        }
        fputs("</tr></table>\n", out);
        if (end) fputs(end, out);
    }
    free(buf);
    return wr;
}

/* ---- what the experience library changed (eval --compare) ---- */

/* The library run used, from its stored config (batch's "library"): the
 * path and the first 16 hex digits of its content hash, "none", or "not
 * recorded" (a run from a build before the library). */
static void run_library(db *d, int64_t run, char *buf, size_t len)
{
    db_run_info info;
    snprintf(buf, len, "not recorded");
    if (db_run_get(d, run, &info) != DB_OK) return;
    cJSON *cfg = cJSON_Parse(info.config_json ? info.config_json : "{}");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(cfg, "library");
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "path"));
    const char *hash = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "sha256"));
    const char *retr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "retrieve"));
    if (cJSON_IsString(l)) snprintf(buf, len, "%s", l->valuestring);
    else if (path && hash)
        snprintf(buf, len, "%.2000s (content sha256 %.16s, retrieval %s)", path, hash, retr ? retr : "bm25");
    cJSON_Delete(cfg);
    db_run_info_clear(&info);
}

/* The insights a problem's requests carried (every attempt carries the
 * same): "12@3, 7@1", "none" (the library gave none), "no library", or
 * "-" when the problem is not in the run. */
static void problem_insights(db *d, int64_t run, const char *dataset, const char *id, char *buf,
                             size_t len)
{
    db_problem_info p;
    snprintf(buf, len, "-");
    if (db_problem_get(d, run, dataset, id, &p) != DB_OK) return;
    const char *ins = p.nattempts ? p.attempts[0].insights : NULL;
    if (!ins) snprintf(buf, len, "no library");
    else if (!*ins) snprintf(buf, len, "none");
    else {
        size_t o = 0;
        for (const char *s = ins; *s && o + 3 < len; s++) {   /* "12@3,7@1" -> "12@3, 7@1" */
            buf[o++] = *s;
            if (*s == ',') buf[o++] = ' ';
        }
        buf[o] = 0;
    }
    db_problem_info_clear(&p);
}

/* The "Experience library" section after the comparison's markdown. */
static void library_markdown(db *d, int64_t ra, int64_t rb, const ag_eval_comparison *c, FILE *out)
{
    char la[2200], lb[2200];
    run_library(d, ra, la, sizeof la);
    run_library(d, rb, lb, sizeof lb);
    fprintf(out, "\n## Experience library\n\n| run | library |\n|---|---|\n| A | %s |\n| B | %s |\n\n",
            la, lb);
    if (!strcmp(la, lb)) fputs("Both runs used the same library content.\n\n", out);
    size_t shown = 0;
    for (size_t i = 0; i < c->nchanges; i++) {
        const ag_eval_change *ch = &c->changes[i];
        if (ch->before == ch->after || ch->before == AG_CAT_COUNT || ch->after == AG_CAT_COUNT) continue;
        if (!shown++)
            fputs("Insights carried by the problems whose category changed:\n\n"
                  "| problem | change | A | B | insights A | insights B |\n|---|---|---|---|---|---|\n", out);
        char ia[1024], ib[1024];
        problem_insights(d, ra, ch->dataset, ch->id, ia, sizeof ia);
        problem_insights(d, rb, ch->dataset, ch->id, ib, sizeof ib);
        fprintf(out, "| %s%s%s | %s | %s | %s | %s | %s |\n", ch->dataset, *ch->dataset ? "/" : "", ch->id,
                ag_eval_change_name(ch->kind), ag_eval_category_name(ch->before),
                ag_eval_category_name(ch->after), ia, ib);
    }
    if (!shown) fputs("No problem changed category.\n", out);
}

/* The report of run ea (or of the comparison ea -> eb) in the chosen format. */
static ag_code write_report(db *d, int64_t ra, int64_t rb, const ag_eval *ea, const ag_eval *eb,
                        const char *format, FILE *out)
{
    ag_code wr;
    pass_table pt;
    int samples = eb ? 1 : run_samples(d, ra);
    int with_pass = samples > 1 && pass_at_k(ea, samples, &pt) == 0;
    int markdown = !strcmp(format, "markdown") || !strcmp(format, "md");
    if (with_pass && !markdown) {
        wr = write_with_pass(ea, format, &pt, out);
    } else if (eb) {
        ag_eval_comparison *c = ag_eval_compare(ea, eb);
        wr = c ? ag_eval_write_compare_markdown(c, out) : AG_ENOMEM;
        if (wr == AG_OK) library_markdown(d, ra, rb, c, out);
        ag_eval_comparison_free(c);
    } else if (!strcmp(format, "json")) wr = ag_eval_write_json(ea, out);
    else if (!strcmp(format, "html")) wr = ag_eval_write_html(ea, out);
    else {
        wr = ag_eval_write_markdown(ea, out);
        if (wr == 0 && with_pass) pass_markdown(&pt, out);
    }
    return wr;
}

ag_code ag_eval_report(db *d, const char *run, ag_match_rule rule, const char *format, FILE *out,
                       char *err, size_t errlen)
{
    int64_t ra;
    if (find_run(d, run, &ra, err, errlen) != 0) return AG_ENOTFOUND;
    ag_eval *ea = load_eval(d, ra, rule, !strcmp(format, "html"), err, errlen);
    if (!ea) return AG_EIO;
    ag_eval_set_replayed(ea, run_replayed(d, ra));
    ag_code wr = write_report(d, ra, 0, ea, NULL, format, out);
    if (wr != AG_OK) snprintf(err, errlen, "%s", wr == AG_ENOMEM ? "out of memory" : "cannot write the report");
    ag_eval_free(ea);
    return wr;
}

int ag_cmd_eval(int argc, char **argv)
{
    eval_opts o;
    int rc = eval_args(argc, argv, &o);
    if (rc >= 0) return rc;
    char err[1024];
    db_code dc;
    rc = EXIT_FAILED;
    ag_eval *ea = NULL, *eb = NULL;
    FILE *out = stdout;
    if (ag_db_must_exist("eval", o.dbpath) != 0) return EXIT_FAILED;   /* never create one */
    db *d = db_open(o.dbpath, &dc, err, sizeof err);
    if (!d) { fprintf(stderr, "optagent: %s: %s\n", o.dbpath, err); return EXIT_FAILED; }
    int64_t ra, rb = 0;
    if (find_run(d, o.cmp_a ? o.cmp_a : o.run_arg, &ra, err, sizeof err) != 0) { fprintf(stderr, "optagent: %s: %s\n", o.dbpath, err); goto out; }
    int details = !strcmp(o.format, "html");
    if (!(ea = load_eval(d, ra, o.rule, details, err, sizeof err))) { fprintf(stderr, "optagent: %s\n", err); goto out; }
    ag_eval_set_replayed(ea, run_replayed(d, ra));
    if (o.cmp_b) {
        if (find_run(d, o.cmp_b, &rb, err, sizeof err) != 0) { fprintf(stderr, "optagent: %s: %s\n", o.dbpath, err); goto out; }
        if (!(eb = load_eval(d, rb, o.rule, 0, err, sizeof err))) { fprintf(stderr, "optagent: %s\n", err); goto out; }
    }
    if (o.outpath && !(out = fopen(o.outpath, "w"))) { fprintf(stderr, "optagent: %s: cannot write\n", o.outpath); out = stdout; goto out; }
    ag_code wr = write_report(d, ra, rb, ea, eb, o.format, out);
    if (wr == AG_ENOMEM) { fprintf(stderr, "optagent: out of memory\n"); goto out; }
    if (wr != AG_OK || fflush(out) != 0) { fprintf(stderr, "optagent: cannot write the report\n"); goto out; }
    rc = EXIT_SOLVED;
out:
    if (out != stdout) fclose(out);
    ag_eval_free(ea);
    ag_eval_free(eb);
    db_close(d);
    return rc;
}

int ag_cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    ag_args args = { "merge", argc, argv, "h", longopts, 0, 0, 0, 0 };
    const char *v, *paths[256];
    int npaths = 0;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        if (c == AG_ARG_ERROR) return EXIT_USAGE;
        if (c == 'h') { fputs(merge_usage, stdout); return EXIT_SOLVED; }
        if (npaths == (int)(sizeof paths / sizeof *paths)) return ag_usage_error("merge", "at most 256 databases");
        paths[npaths++] = v;
    }
    if (npaths < 2) return ag_usage_error("merge", "give OUT.db and at least one IN.db");
    char err[1024];
    db_code dc;
    db *d = db_open(paths[0], &dc, err, sizeof err);
    if (!d) { fprintf(stderr, "optagent: %s: %s\n", paths[0], err); return EXIT_FAILED; }
    int rc = EXIT_SOLVED;
    for (int i = 1; i < npaths; i++) {
        db_merge_stats st;
        memset(&st, 0, sizeof st);
        err[0] = 0;
        dc = db_merge(d, paths[i], &st, err, sizeof err);
        if (dc != DB_OK) { fprintf(stderr, "optagent: merge %s: %s%s%s\n", paths[i], db_strerror(dc), *err ? ": " : "", err); rc = EXIT_FAILED; break; }
        fprintf(stderr, "optagent: merged %s: %lld runs new, %lld joined, %lld problems added, %lld already there%s%s\n",
                paths[i], (long long)st.runs_added, (long long)st.runs_joined, (long long)st.problems_added,
                (long long)st.problems_duplicate, *err ? "; " : "", err);
    }
    db_close(d);
    return rc;
}
