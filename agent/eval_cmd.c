/* optagent eval (reports from a results database) and optagent merge. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/agent.h"
#include "agent/evaluate.h"
#include "agent/pipeline.h"
#include "db/db.h"

#define MAX_QUANTITIES 64

static const char eval_usage[] =
    "usage: optagent eval [--db FILE] [RUN] [options]\n"
    "       optagent eval [--db FILE] --compare RUN_A RUN_B\n"
    "\n"
    "Accuracy report of a batch run (default: the newest run in the database).\n"
    "\n"
    "options:\n"
    "  --db FILE         results database (default optagent-runs.db)\n"
    "  --match RULE      default: |a-g| <= 1e-4*max(1,|g|); alphaopt: |a-g| <= 0.1;\n"
    "                    orlm: both rounded to integers, then 5%% relative\n"
    "  --format F        markdown (default), json or html\n"
    "  -o FILE           write the report to FILE instead of standard output\n"
    "  --compare A B     what changed problem by problem from run A to run B\n";

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

/* Builds the evaluation of one run from its recorded problems. */
static ag_eval *load_eval(db *d, int64_t run, ag_match_rule rule, char *err, size_t errlen)
{
    db_problem_record *recs = NULL;
    size_t n = 0;
    db_code dc = db_problems_list(d, run, 0, &recs, &n);
    if (dc != DB_OK) { snprintf(err, errlen, "cannot read the run: %s", db_strerror(dc)); return NULL; }
    ag_eval *e = ag_eval_new(rule);
    for (size_t i = 0; e && i < n; i++) {
        const db_problem_record *r = &recs[i];
        ag_eval_quantity gq[MAX_QUANTITIES], rq[MAX_QUANTITIES];
        size_t ng = 0, nr = 0;
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
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(g, "kind"));
        const cJSON *q = cJSON_GetObjectItem(g, "quantities"), *v;
        it.gold.kind = AG_EVAL_GOLD_NONE;
        if (kind && !strcmp(kind, "number")) {
            it.gold.kind = AG_EVAL_GOLD_NUMBER;
            it.gold.value = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "value"));
        } else if (kind && !strcmp(kind, "no_solution")) it.gold.kind = AG_EVAL_GOLD_NO_SOLUTION;
        if (cJSON_GetArraySize(q) > 1) {
            cJSON_ArrayForEach(v, q) if (ng < MAX_QUANTITIES) { gq[ng].name = v->string; gq[ng].value = v->valuedouble; ng++; }
            it.gold.kind = AG_EVAL_GOLD_QUANTITIES;
            it.gold.quantities = gq;
            it.gold.nquantities = ng;
        }
        cJSON *res = r->result_json ? cJSON_Parse(r->result_json) : NULL;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(res, "report"))
            if (nr < MAX_QUANTITIES && cJSON_IsNumber(v)) { rq[nr].name = v->string; rq[nr].value = v->valuedouble; nr++; }
        it.reported = rq;
        it.nreported = nr;
        if (ag_eval_add(e, &it) != 0) {
            snprintf(err, errlen, "problem %s/%s: %s", r->dataset, r->problem_id, ag_eval_error(e));
            ag_eval_free(e);
            e = NULL;
        }
        cJSON_Delete(g);
        cJSON_Delete(res);
    }
    db_problems_free(recs, n);
    if (!e) return NULL;
    return e;
}

static int find_run(db *d, const char *which, int64_t *run, char *err, size_t errlen)
{
    if (which) {
        if (db_run_find(d, which, run) != DB_OK) { snprintf(err, errlen, "no run '%s'", which); return -1; }
        return 0;
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

int ag_cmd_eval(int argc, char **argv)
{
    const char *dbpath = "optagent-runs.db", *format = "markdown", *outpath = NULL, *run_arg = NULL;
    const char *cmp_a = NULL, *cmp_b = NULL;
    ag_match_rule rule = AG_MATCH_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(eval_usage, stdout); return EXIT_SOLVED; }
        int two = !strcmp(a, "--compare");
        int one = !strcmp(a, "--db") || !strcmp(a, "--match") || !strcmp(a, "--format") || !strcmp(a, "-o");
        if (one || two) {
            if (i + 1 + two >= argc) { fprintf(stderr, "optagent eval: %s needs %s\n%s", a, two ? "two runs" : "a value", eval_usage); return EXIT_USAGE; }
            const char *v = argv[++i];
            if (two) { cmp_a = v; cmp_b = argv[++i]; }
            else if (!strcmp(a, "--db")) dbpath = v;
            else if (!strcmp(a, "-o")) outpath = v;
            else if (!strcmp(a, "--format")) {
                if (strcmp(v, "markdown") && strcmp(v, "md") && strcmp(v, "json") && strcmp(v, "html")) {
                    fprintf(stderr, "optagent eval: --format is markdown, json or html, got '%s'\n", v);
                    return EXIT_USAGE;
                }
                format = v;
            } else if (ag_eval_rule_parse(v, &rule) != 0) {
                fprintf(stderr, "optagent eval: unknown --match '%s' (default, alphaopt, orlm)\n", v);
                return EXIT_USAGE;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) { fprintf(stderr, "optagent eval: unknown option '%s'\n%s", a, eval_usage); return EXIT_USAGE; }
        if (run_arg) { fprintf(stderr, "optagent eval: one run at a time (or --compare A B)\n"); return EXIT_USAGE; }
        run_arg = a;
    }
    char err[1024];
    db_code dc;
    int rc = EXIT_FAILED;
    ag_eval *ea = NULL, *eb = NULL;
    FILE *out = stdout;
    db *d = db_open(dbpath, &dc, err, sizeof err);
    if (!d) { fprintf(stderr, "optagent: %s: %s\n", dbpath, err); return EXIT_FAILED; }
    int64_t ra, rb;
    if (find_run(d, cmp_a ? cmp_a : run_arg, &ra, err, sizeof err) != 0) { fprintf(stderr, "optagent: %s: %s\n", dbpath, err); goto out; }
    if (!(ea = load_eval(d, ra, rule, err, sizeof err))) { fprintf(stderr, "optagent: %s\n", err); goto out; }
    if (cmp_b) {
        if (find_run(d, cmp_b, &rb, err, sizeof err) != 0) { fprintf(stderr, "optagent: %s: %s\n", dbpath, err); goto out; }
        if (!(eb = load_eval(d, rb, rule, err, sizeof err))) { fprintf(stderr, "optagent: %s\n", err); goto out; }
    }
    if (outpath && !(out = fopen(outpath, "w"))) { fprintf(stderr, "optagent: %s: cannot write\n", outpath); out = stdout; goto out; }
    int wr;
    if (eb) {
        ag_eval_comparison *c = ag_eval_compare(ea, eb);
        wr = c ? ag_eval_write_compare_markdown(c, out) : -1;
        ag_eval_comparison_free(c);
    } else if (!strcmp(format, "json")) wr = ag_eval_write_json(ea, out);
    else if (!strcmp(format, "html")) wr = ag_eval_write_html(ea, out);
    else wr = ag_eval_write_markdown(ea, out);
    if (wr != 0 || fflush(out) != 0) { fprintf(stderr, "optagent: cannot write the report\n"); goto out; }
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
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) { fputs(merge_usage, stdout); return EXIT_SOLVED; }
    if (argc < 3) { fputs(merge_usage, stderr); return EXIT_USAGE; }
    char err[1024];
    db_code dc;
    db *d = db_open(argv[1], &dc, err, sizeof err);
    if (!d) { fprintf(stderr, "optagent: %s: %s\n", argv[1], err); return EXIT_FAILED; }
    int rc = EXIT_SOLVED;
    for (int i = 2; i < argc; i++) {
        db_merge_stats st;
        memset(&st, 0, sizeof st);
        err[0] = 0;
        dc = db_merge(d, argv[i], &st, err, sizeof err);
        if (dc != DB_OK) { fprintf(stderr, "optagent: merge %s: %s%s%s\n", argv[i], db_strerror(dc), *err ? ": " : "", err); rc = EXIT_FAILED; break; }
        fprintf(stderr, "optagent: merged %s: %lld runs new, %lld joined, %lld problems added, %lld already there%s%s\n",
                argv[i], (long long)st.runs_added, (long long)st.runs_joined, (long long)st.problems_added,
                (long long)st.problems_duplicate, *err ? "; " : "", err);
    }
    db_close(d);
    return rc;
}
