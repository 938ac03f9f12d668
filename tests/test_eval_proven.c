/* tests/test_eval_proven — the evaluation counts how many answers are proven
 * optima (LP, MILP, exact reformulation, convex NLP, exhaustive search)
 * against local optima of nonlinear models: per dataset and overall, in the
 * JSON totals, and in one sentence of the Markdown and HTML reports. A
 * proven flag on an item that is not an answer (outcome not ok) is not
 * counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agent/eval/eval.h"

static void add(ag_eval *e, const char *ds, const char *id, ag_outcome o, int proven)
{
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = ds;
    it.id = id;
    it.gold.kind = AG_GOLD_NUMBER;
    it.gold.value = 10;
    it.outcome = o;
    it.has_answer = o == AG_OUTCOME_OK;
    it.answer = 10;
    it.latency_ms = NAN;
    it.proven = proven;
    assert_int_equal(ag_eval_add(e, &it), AG_OK);
}

static char *render(ag_code (*fn)(const ag_eval *, FILE *), const ag_eval *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(e, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static ag_eval *sample(void)
{
    ag_eval *e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    add(e, "lp", "a", AG_OUTCOME_OK, 1);            /* proven */
    add(e, "lp", "b", AG_OUTCOME_OK, 1);            /* proven */
    add(e, "nl", "c", AG_OUTCOME_OK, 0);            /* local_optimal */
    add(e, "nl", "d", AG_OUTCOME_OK, 1);            /* convex: proven */
    add(e, "nl", "e", AG_OUTCOME_INFEASIBLE, 1);    /* not an answer: not counted */
    return e;
}

static void test_totals(void **state)
{
    (void)state;
    ag_eval *e = sample();
    ag_eval_totals t;
    assert_int_equal(ag_eval_totals_get(e, NULL, &t), AG_OK);
    assert_int_equal(t.outcome[AG_OUTCOME_OK], 4);
    assert_int_equal(t.proven, 3);
    assert_int_equal(ag_eval_totals_get(e, "nl", &t), AG_OK);
    assert_int_equal(t.outcome[AG_OUTCOME_OK], 2);
    assert_int_equal(t.proven, 1);
    assert_int_equal(ag_eval_totals_get(e, "lp", &t), AG_OK);
    assert_int_equal(t.proven, 2);
    const ag_eval_record *r = ag_eval_find(e, "nl", "e");
    assert_non_null(r);
    assert_int_equal(r->proven, 0);
    r = ag_eval_find(e, "nl", "c");
    assert_int_equal(r->proven, 0);
    assert_int_equal(ag_eval_find(e, "nl", "d")->proven, 1);
    ag_eval_free(e);
}

static void test_reports(void **state)
{
    (void)state;
    ag_eval *e = sample();
    char *md = render(ag_eval_write_markdown, e);
    assert_non_null(strstr(md, "Proven optima: 3 of 4 answers"));
    free(md);
    char *html = render(ag_eval_write_html, e);
    assert_non_null(strstr(html, "Proven optima: 3 of 4 answers"));
    free(html);
    char *js = render(ag_eval_write_json, e);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    /* the overall totals and each dataset's carry "proven" */
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "overall"), "proven");
    assert_true(cJSON_IsNumber(p));
    assert_int_equal((int)p->valuedouble, 3);
    const cJSON *ds;
    int seen = 0;
    cJSON_ArrayForEach(ds, cJSON_GetObjectItem(j, "datasets")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ds, "name"));
        const cJSON *dp = cJSON_GetObjectItem(ds, "proven");
        assert_true(cJSON_IsNumber(dp));
        assert_int_equal((int)dp->valuedouble, name && !strcmp(name, "lp") ? 2 : 1);
        seen++;
    }
    assert_int_equal(seen, 2);
    cJSON_Delete(j);
    free(js);
    ag_eval_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
