/* OptiBench's protocol below the command line: --match optibench (every
 * query, 1e-4 absolute), name first and value only for queries no candidate
 * names, each query's fate and the "objective right, another quantity not"
 * share; golds built from what batch stores; plain records' "queries"; and
 * the published OptiBench files (when ../shared is present): every query of
 * every record, checked against an independent reading of the JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "agent/eval/eval.h"
#include "tests/support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const ag_eval_quantity GOLD[] = { { "Number of chairs", 10 }, { "Number of tables", 4 },
                                         { "Maximum profit", 500 } };

static ag_eval_item item(const ag_eval_quantity *rep, size_t nrep, double answer,
                         const char *answer_name)
{
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = "optibench";
    it.id = "1";
    it.outcome = AG_OUTCOME_OK;
    it.has_answer = 1;
    it.answer = answer;
    it.answer_name = answer_name;
    it.gold.kind = AG_GOLD_QUANTITIES;
    it.gold.quantities = GOLD;
    it.gold.nquantities = N(GOLD);
    it.gold.value = 500;
    it.gold.objective_gold = 1;
    it.reported = rep;
    it.nreported = nrep;
    it.latency_ms = NAN;
    return it;
}

static void test_rule(void **state)
{
    (void)state;
    ag_match_rule r = AG_MATCH_DEFAULT;
    assert_int_equal(ag_eval_rule_parse("optibench", &r), 0);
    assert_int_equal(r, AG_MATCH_OPTIBENCH);
    assert_string_equal(ag_eval_rule_name(r), "optibench");
    assert_non_null(strstr(ag_eval_rule_description(r), "1e-4 (absolute"));
    /* absolute: a relative rule would accept 18660.001 */
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 18660.001, 18660));
    assert_false(ag_eval_match(AG_MATCH_OPTIBENCH, 18660.001, 18660));
    assert_true(ag_eval_match(AG_MATCH_OPTIBENCH, 18660.00005, 18660));
    assert_true(ag_eval_match(AG_MATCH_OPTIBENCH, 0.00005, 0));
    assert_false(ag_eval_match(AG_MATCH_OPTIBENCH, NAN, 0));
}

static void test_statuses(void **state)
{
    (void)state;
    ag_eval_query q[N(GOLD)];
    ag_eval_category cat;
    /* all by name: the profit by the objective's name */
    const ag_eval_quantity rep[] = { { "number of chairs", 10 }, { "Number_of_Tables", 4 } };
    ag_eval_item it = item(rep, N(rep), 500, "Maximum_profit");
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 3);
    for (size_t i = 0; i < N(q); i++) assert_int_equal(q[i].status, AG_QUERY_BY_NAME);
    assert_int_equal(ag_eval_judge(AG_MATCH_OPTIBENCH, &it, &cat), 0);
    assert_int_equal(cat, AG_CAT_CORRECT);
    /* an unnamed objective answers the profit by value */
    it = item(rep, N(rep), 500, NULL);
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 3);
    assert_int_equal(q[2].status, AG_QUERY_BY_VALUE);
    assert_true(q[2].has_answer && q[2].answer == 500);
    /* a wrong value under the right name is not rescued by a coincidence */
    const ag_eval_quantity rep2[] = { { "Number of chairs", 10 }, { "Number of tables", 5 },
                                      { "spare", 4 } };
    it = item(rep2, N(rep2), 500, "Maximum_profit");
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 2);
    assert_int_equal(q[1].status, AG_QUERY_WRONG);
    assert_true(q[1].has_answer && q[1].answer == 5);
    assert_int_equal(ag_eval_judge(AG_MATCH_OPTIBENCH, &it, &cat), 0);
    assert_int_equal(cat, AG_CAT_WRONG_ANSWER);
    /* nothing named, no value: missing */
    const ag_eval_quantity rep3[] = { { "Number of chairs", 10 } };
    it = item(rep3, N(rep3), 500, "Maximum_profit");
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 2);
    assert_int_equal(q[1].status, AG_QUERY_MISSING);
    assert_false(q[1].has_answer);
    /* not a multi-quantity item, or too small an output */
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, 2), -1);
    it.outcome = AG_OUTCOME_INFEASIBLE;
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), -1);
    assert_string_equal(ag_eval_query_status_name(AG_QUERY_BY_VALUE), "by_value");
    assert_string_equal(ag_eval_query_status_name(AG_QUERY_COUNT), "unknown");
}

static void test_totals_and_reports(void **state)
{
    (void)state;
    ag_eval *e = ag_eval_new(AG_MATCH_OPTIBENCH);
    assert_non_null(e);
    const ag_eval_quantity right[] = { { "Number of chairs", 10 }, { "Number of tables", 4 } };
    const ag_eval_quantity off[] = { { "Number of chairs", 10 }, { "Number of tables", 5 } };
    const ag_eval_quantity part[] = { { "Number of chairs", 10 } };
    ag_eval_item a = item(right, N(right), 500, NULL);         /* correct, profit by value */
    ag_eval_item b = item(off, N(off), 500, "Maximum_profit"); /* objective right, tables wrong */
    b.id = "2";
    ag_eval_item c = item(part, N(part), 499, "Maximum_profit");   /* everything wrong */
    c.id = "3";
    assert_int_equal(ag_eval_add(e, &a), AG_OK);
    assert_int_equal(ag_eval_add(e, &b), AG_OK);
    assert_int_equal(ag_eval_add(e, &c), AG_OK);
    ag_eval_totals t;
    assert_int_equal(ag_eval_totals_get(e, NULL, &t), AG_OK);
    assert_int_equal(t.correct, 1);
    assert_int_equal(t.query_problems, 3);
    assert_int_equal(t.queries, 9);
    assert_int_equal(t.query_status[AG_QUERY_BY_VALUE], 1);
    assert_int_equal(t.query_status[AG_QUERY_WRONG], 2);   /* tables of b, profit of c */
    assert_int_equal(t.query_status[AG_QUERY_MISSING], 1);
    assert_int_equal(t.objective_only, 1);
    assert_true(fabs(t.objective_only_share - 1.0 / 3) < 1e-12);
    const ag_eval_record *rb = ag_eval_find(e, "optibench", "2");
    assert_non_null(rb);
    assert_int_equal(rb->objective_right, 1);
    assert_int_equal(rb->nqueries, 3);
    assert_string_equal(rb->queries[1].name, "Number of tables");
    assert_int_equal(ag_eval_find(e, "optibench", "3")->objective_right, 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(ag_eval_write_markdown(e, f), AG_OK);
    fclose(f);
    assert_non_null(strstr(buf, "**1 matched by value**"));
    assert_non_null(strstr(buf, "wrong: \"Number of tables\" (gold 4, answer 5); objective right"));
    assert_non_null(strstr(buf, "missing: \"Number of tables\" (gold 4)"));
    assert_non_null(strstr(buf, "(1 of 3)"));
    free(buf);
    cJSON *j = ag_eval_json(e);
    assert_non_null(j);
    cJSON *qs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "overall"), "queries");
    assert_int_equal(cJSON_GetObjectItem(qs, "by_value")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(qs, "objective_only_right")->valueint, 1);
    cJSON_Delete(j);
    ag_eval_free(e);
}

/* The objective's gold is the query the objective is named after, when it
 * is (OptiBench's objective is not always its last key). */
static void test_objective_by_name(void **state)
{
    (void)state;
    static const ag_eval_quantity gold[] = { { "Maximum profit", 500 }, { "Number of tables", 4 } };
    const ag_eval_quantity off[] = { { "Number of tables", 5 } };
    ag_eval *e = ag_eval_new(AG_MATCH_OPTIBENCH);
    ag_eval_item it = item(off, N(off), 500, "Maximum_profit");
    it.gold.quantities = gold;
    it.gold.nquantities = N(gold);
    it.gold.value = 4;   /* the last key, as the loader takes it: not the objective here */
    assert_int_equal(ag_eval_add(e, &it), AG_OK);
    assert_int_equal(ag_eval_get(e, 0)->objective_right, 1);
    /* unnamed, no objective gold: not known */
    it.id = "2";
    it.answer_name = NULL;
    it.gold.objective_gold = 0;
    assert_int_equal(ag_eval_add(e, &it), AG_OK);
    assert_int_equal(ag_eval_get(e, 1)->objective_right, -1);
    ag_eval_free(e);
}

static void test_gold_from_stored_json(void **state)
{
    (void)state;
    cJSON *g = cJSON_Parse("{\"kind\":\"number\",\"value\":500,\"quantities\":"
                           "{\"Number of chairs\":10,\"Number of tables\":4,\"Maximum profit\":500}}");
    ag_eval_quantity q[AG_EVAL_MAX_QUANTITIES];
    ag_eval_gold gold;
    ag_eval_gold_from_json(g, AG_MATCH_DEFAULT, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_NUMBER);   /* the objective-only view */
    assert_true(gold.value == 500);
    ag_eval_gold_from_json(g, AG_MATCH_OPTIBENCH, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_QUANTITIES);
    assert_int_equal(gold.nquantities, 3);
    assert_true(gold.objective_gold && gold.value == 500);
    assert_string_equal(gold.quantities[1].name, "Number of tables");
    cJSON_Delete(g);
    /* queries without an objective gold (a plain record without "answer") */
    g = cJSON_Parse("{\"kind\":\"none\",\"quantities\":{\"x\":1}}");
    ag_eval_gold_from_json(g, AG_MATCH_OPTIBENCH, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_QUANTITIES);
    assert_false(gold.objective_gold);
    ag_eval_gold_from_json(g, AG_MATCH_ORLM, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_NONE);
    cJSON_Delete(g);
    /* no queries: the objective under optibench too; garbage: no gold */
    g = cJSON_Parse("{\"kind\":\"no_solution\"}");
    ag_eval_gold_from_json(g, AG_MATCH_OPTIBENCH, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_NO_SOLUTION);
    cJSON_Delete(g);
    ag_eval_gold_from_json(NULL, AG_MATCH_OPTIBENCH, q, N(q), &gold);
    assert_int_equal(gold.kind, AG_GOLD_NONE);
    /* the reported side */
    cJSON *res = cJSON_Parse("{\"objective\":500,\"objective_name\":\"Maximum_profit\","
                             "\"report\":{\"a\":1,\"b\":null,\"c\":3}}");
    const char *name = NULL;
    assert_int_equal(ag_eval_reported_from_json(res, q, N(q), &name), 2);
    assert_string_equal(name, "Maximum_profit");
    assert_string_equal(q[1].name, "c");
    assert_int_equal(ag_eval_reported_from_json(res, q, 1, NULL), 1);
    cJSON_Delete(res);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    assert_int_equal(ts_write_file(p, text, strlen(text)), 0);
    return p;
}

static void test_plain_queries(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp(), err[512];
    char *p = write_tmp(dir, "q.jsonl",
                        "{\"id\": \"a\", \"question\": \"q\", \"answer\": 5, \"queries\": {\"x\": \"1.5\", \"y\": 2}}\n"
                        "{\"id\": \"b\", \"question\": \"q\", \"answer\": 7}\n"
                        "{\"id\": \"c\", \"question\": \"q\", \"answer\": null, \"queries\": {\"z\": 0}}\n");
    ag_ds *ds = ag_ds_load(p, AG_DS_AUTO, err, sizeof err);
    assert_non_null(ds);
    assert_int_equal(ag_ds_detected(ds), AG_DS_PLAIN);
    const ag_ds_problem *a = ag_ds_get(ds, 0), *b = ag_ds_get(ds, 1), *c = ag_ds_get(ds, 2);
    assert_int_equal(a->nquantities, 2);
    assert_string_equal(a->quantities[0].name, "x");
    assert_true(a->quantities[0].value == 1.5);
    assert_int_equal(a->gold_kind, AG_GOLD_NUMBER);   /* the answer stays the gold */
    assert_true(a->gold == 5);
    assert_int_equal(b->nquantities, 0);
    assert_int_equal(c->gold_kind, AG_GOLD_NONE);
    assert_int_equal(c->nquantities, 1);
    ag_ds_free(ds);
    free(p);
    static const struct { const char *line, *says; } bad[] = {
        { "{\"id\": \"a\", \"question\": \"q\", \"answer\": 5, \"queries\": {\"$$\": 1}}\n", "letter or digit" },
        { "{\"id\": \"a\", \"question\": \"q\", \"answer\": 5, \"queries\": [1]}\n", "field \"queries\"" },
        { "{\"id\": \"a\", \"question\": \"q\", \"answer\": 5, \"queries\": {\"x\": \"about 3\"}}\n", "not a number" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        p = write_tmp(dir, "bad.jsonl", bad[i].line);
        assert_null(ag_ds_load(p, AG_DS_AUTO, err, sizeof err));
        if (!strstr(err, bad[i].says)) fail_msg("case %zu: %s", i, err);
        assert_non_null(strstr(err, ":1:"));
        free(p);
    }
    ts_rmtree(dir);
    free(dir);
}

/* ---- the published files ---- */

/* ../shared/benchmarks/optibench (or $OPTAGENT_SHARED/benchmarks/...), or
 * NULL when absent. */
static const char *optibench_dir(void)
{
    static char p[4096];
    struct stat st;
    const char *sh = getenv("OPTAGENT_SHARED");
    const char *cands[] = { "../shared", "../../shared" };
    if (sh && *sh) {
        snprintf(p, sizeof p, "%s/benchmarks/optibench", sh);
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? p : NULL;
    }
    for (size_t i = 0; i < N(cands); i++) {
        snprintf(p, sizeof p, "%s/benchmarks/optibench", cands[i]);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) return p;
    }
    return NULL;
}

/* Every query of every record of one file: the loader's quantities are the
 * "results" keys read independently, in order, each with a non-empty name
 * and at least one per record. Returns the number of queries. */
static size_t check_file(const char *dir, const char *name, size_t *records)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ag_ds *ds = ag_ds_load(path, AG_DS_AUTO, err, sizeof err);
    if (!ds) fail_msg("%s", err);
    assert_int_equal(ag_ds_detected(ds), AG_DS_OPTIBENCH);
    size_t len;
    char *text = ts_read_file(path, &len);
    assert_non_null(text);
    cJSON *arr = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(arr);
    assert_int_equal((size_t)cJSON_GetArraySize(arr), ag_ds_count(ds));
    size_t total = 0, k = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, arr) {
        const ag_ds_problem *p = ag_ds_get(ds, k++);
        const cJSON *res = cJSON_GetObjectItem(rec, "results"), *q;
        if (p->nquantities < 1) fail_msg("%s record %zu: no query", name, k);
        assert_int_equal((size_t)cJSON_GetArraySize(res), p->nquantities);
        size_t i = 0;
        cJSON_ArrayForEach(q, res) {
            const ag_ds_quantity *dq = &p->quantities[i++];
            if (!dq->name[0]) fail_msg("%s record %zu: query %zu has an empty name", name, k, i);
            assert_string_equal(dq->name, q->string);
            char *end;
            double v = cJSON_IsString(q) ? strtod(q->valuestring, &end) : q->valuedouble;
            assert_true(v == dq->value);
        }
        assert_true(p->gold_kind == AG_GOLD_NUMBER && p->gold == p->quantities[p->nquantities - 1].value);
        total += p->nquantities;
    }
    *records = ag_ds_count(ds);
    cJSON_Delete(arr);
    ag_ds_free(ds);
    return total;
}

static void test_published_files(void **state)
{
    (void)state;
    const char *dir = optibench_dir();
    if (!dir) skip();
    static const char *const files[] = { "OptiBench.json", "NL4OPT-E.json" };
    for (size_t i = 0; i < N(files); i++) {
        size_t records = 0, queries = check_file(dir, files[i], &records);
        print_message("# %s: %zu records, %zu queries, every one named\n", files[i], records, queries);
        assert_true(queries >= records);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_totals_and_reports),
        cmocka_unit_test(test_objective_by_name),
        cmocka_unit_test(test_gold_from_stored_json),
        cmocka_unit_test(test_plain_queries),
        cmocka_unit_test(test_published_files),
    };
    return cmocka_run_group_tests_name("optibench_grade", tests, NULL, NULL);
}
