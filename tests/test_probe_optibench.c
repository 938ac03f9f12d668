/* OptiBench queries under hostile data (the probe of the merged protocol):
 * query names equal after normalisation ("x_1", "x 1", "X1") told apart by
 * their exact names; a record with a duplicated key, more queries than are
 * graded, or a name too long to be asked for, refused by the loader (instead
 * of grading two golds for one name, only the first 64 of 10,000 queries, or
 * a query no prompt lists). Template placeholders in names and problem text
 * and the correction for colliding names: tests/test_optibench_prompts.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "agent/eval/eval.h"
#include "agent/core/core.h"
#include "tests/support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const ag_eval_quantity GOLD[] = { { "x_1", 3 }, { "x 1", 5 }, { "X1", 3 } };

static ag_eval_item item(const ag_eval_quantity *rep, size_t nrep)
{
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = "optibench";
    it.id = "1";
    it.outcome = AG_OUTCOME_OK;
    it.has_answer = 1;
    it.answer = 99;
    it.gold.kind = AG_GOLD_QUANTITIES;
    it.gold.quantities = GOLD;
    it.gold.nquantities = N(GOLD);
    it.reported = rep;
    it.nreported = nrep;
    it.latency_ms = NAN;
    return it;
}

static void test_colliding_names_told_apart(void **state)
{
    (void)state;
    ag_eval_query q[N(GOLD)];
    ag_eval_category cat;
    /* each answered under its exact name, in an order a loose match would mix up */
    const ag_eval_quantity all[] = { { "X1", 3 }, { "x 1", 5 }, { "x_1", 3 } };
    ag_eval_item it = item(all, N(all));
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 3);
    for (size_t i = 0; i < N(q); i++) assert_int_equal(q[i].status, AG_QUERY_BY_NAME);
    assert_int_equal(ag_eval_judge(AG_MATCH_OPTIBENCH, &it, &cat), 0);
    assert_int_equal(cat, AG_CAT_CORRECT);
    /* "x 1" answered 3 under its exact name: wrong, even though "x_1"'s 3 or
     * "X1"'s 3 could be matched to other golds loosely */
    const ag_eval_quantity wrong[] = { { "x_1", 3 }, { "x 1", 3 }, { "X1", 3 } };
    it = item(wrong, N(wrong));
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 2);
    assert_int_equal(q[1].status, AG_QUERY_WRONG);
    assert_true(q[1].has_answer && q[1].answer == 3);
    /* only "x_1" reported: it answers "x_1"; the other two are missing, not
     * "wrong: gold 3, answer 3" */
    const ag_eval_quantity one[] = { { "x_1", 3 } };
    it = item(one, N(one));
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 1);
    assert_int_equal(q[0].status, AG_QUERY_BY_NAME);
    assert_int_equal(q[1].status, AG_QUERY_MISSING);
    assert_int_equal(q[2].status, AG_QUERY_MISSING);
    /* no exact names: loose matching as before */
    const ag_eval_quantity loose[] = { { "x-1", 3 }, { "X_1", 5 }, { "x.1", 3 } };
    it = item(loose, N(loose));
    assert_int_equal(ag_eval_grade_queries(AG_MATCH_OPTIBENCH, &it, q, N(q)), 3);
}

static ag_ds *load_text(const char *text, char *err, size_t errlen)
{
    char *dir = ts_mkdtemp();
    char path[1024];
    snprintf(path, sizeof path, "%s/ob.json", dir);
    assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
    ag_ds *ds = ag_ds_load(path, AG_DS_OPTIBENCH, err, errlen);
    ts_rmtree(dir);
    free(dir);
    return ds;
}

static void test_duplicate_key_refused(void **state)
{
    (void)state;
    char err[512] = "";
    ag_ds *ds = load_text("[{\"question\": \"Problem\", \"index\": 1, \"results\": "
                          "{\"dup\": \"3\", \"x\": \"1\", \"dup\": \"4\"}}]", err, sizeof err);
    assert_null(ds);
    assert_non_null(strstr(err, "\"dup\" appears twice"));
    /* names equal only after normalisation are distinct queries */
    ds = load_text("[{\"question\": \"Problem\", \"index\": 1, \"results\": "
                   "{\"x_1\": \"3\", \"x 1\": \"5\"}}]", err, sizeof err);
    assert_non_null(ds);
    assert_int_equal(ag_ds_get(ds, 0)->nquantities, 2);
    ag_ds_free(ds);
}

static void test_too_many_queries_refused(void **state)
{
    (void)state;
    ts_str s = { 0 };
    ts_str_printf(&s, "[{\"question\": \"Problem\", \"index\": 1, \"results\": {");
    for (int i = 0; i < 10000; i++) ts_str_printf(&s, "%s\"q%d\": \"%d\"", i ? ", " : "", i, i);
    ts_str_printf(&s, "}}]");
    char err[512] = "";
    ag_ds *ds = load_text(s.s, err, sizeof err);
    free(s.s);
    /* grading the first 64 of 10,000 could call the problem correct */
    assert_null(ds);
    assert_non_null(strstr(err, "10000 entries"));
    assert_int_equal(AG_DS_MAX_QUANTITIES, AG_EVAL_MAX_QUANTITIES);
    /* a name longer than the prompts list (AG_MAX_QUERY_NAME) */
    ts_str t = { 0 };
    ts_str_printf(&t, "[{\"question\": \"Problem\", \"index\": 1, \"results\": {\"");
    for (int i = 0; i < AG_MAX_QUERY_NAME + 1; i++) ts_str_printf(&t, "n");
    ts_str_printf(&t, "\": \"1\"}}]");
    ds = load_text(t.s, err, sizeof err);
    free(t.s);
    assert_null(ds);
    assert_non_null(strstr(err, "more than the limit of 256"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colliding_names_told_apart),
        cmocka_unit_test(test_duplicate_key_refused),
        cmocka_unit_test(test_too_many_queries_refused),
    };
    return cmocka_run_group_tests_name("probe_optibench", tests, NULL, NULL);
}
