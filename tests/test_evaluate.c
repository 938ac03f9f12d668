/* tests/test_evaluate — agent/eval grading and reports: matching rules, golds,
 * categories, pass@k, percentiles, the aggregate, comparison and the three
 * writers.
 *
 * Boundary cases are built from values whose difference is exactly the
 * tolerance in IEEE doubles (each such construction is asserted first, so a
 * test cannot pass by accident), and "just outside" is the next double.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agent/eval/eval.h"
#include "tests/support.h"

/* ---- helpers ------------------------------------------------------------------ */

static ag_eval_item item_number(const char *ds, const char *id, double gold, ag_outcome o,
                                int has_answer, double answer)
{
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = ds;
    it.id = id;
    it.gold.kind = AG_GOLD_NUMBER;
    it.gold.value = gold;
    it.outcome = o;
    it.has_answer = has_answer;
    it.answer = answer;
    it.latency_ms = NAN;
    return it;
}

static ag_eval_category judge(const ag_eval_item *it, ag_match_rule r)
{
    ag_eval_category c = AG_CAT_COUNT;
    assert_int_equal(ag_eval_judge(r, it, &c), 0);
    return c;
}

typedef ag_code (*writer_fn)(const ag_eval *, FILE *);

static char *render(writer_fn fn, const ag_eval *e)
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

static char *render_compare(const ag_eval_comparison *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ag_eval_write_compare_markdown(c, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0, l = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + l, needle)) n++;
    return n;
}

static int contains_nocase(const char *s, const char *needle)
{
    size_t l = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, l)) return 1;
    return 0;
}

/* An attribute like onload= / onclick= anywhere. */
static int has_event_handler(const char *s)
{
    for (const char *p = s; (p = strstr(p, " on")); p++) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z') q++;
        if (q > p + 3 && *q == '=') return 1;
    }
    return 0;
}

static void add_ok(ag_eval *e, const ag_eval_item *it)
{
    if (ag_eval_add(e, it) != 0) fail_msg("ag_eval_add: %s", ag_eval_error(e));
}

/* ---- rules -------------------------------------------------------------------- */

static void test_rule_names(void **state)
{
    (void)state;
    const ag_match_rule all[] = { AG_MATCH_DEFAULT, AG_MATCH_ALPHAOPT, AG_MATCH_ORLM };
    const char *names[] = { "default", "alphaopt", "orlm" };
    for (int i = 0; i < 3; i++) {
        ag_match_rule r = AG_MATCH_ORLM;
        assert_string_equal(ag_eval_rule_name(all[i]), names[i]);
        assert_int_equal(ag_eval_rule_parse(names[i], &r), 0);
        assert_int_equal(r, all[i]);
        const char *d = ag_eval_rule_description(all[i]);
        assert_non_null(d);
        assert_true(strlen(d) > 10);
        assert_null(strchr(d, '\n'));
    }
    assert_non_null(strstr(ag_eval_rule_description(AG_MATCH_DEFAULT), "1e-4"));
    assert_non_null(strstr(ag_eval_rule_description(AG_MATCH_ALPHAOPT), "0.1"));
    assert_non_null(strstr(ag_eval_rule_description(AG_MATCH_ORLM), "0.05"));
    ag_match_rule r = AG_MATCH_ALPHAOPT;
    assert_int_equal(ag_eval_rule_parse("ORLM", &r), -1);
    assert_int_equal(ag_eval_rule_parse("", &r), -1);
    assert_int_equal(ag_eval_rule_parse(NULL, &r), -1);
    assert_int_equal(r, AG_MATCH_ALPHAOPT);
    assert_string_equal(ag_eval_rule_name((ag_match_rule)42), "unknown");
    assert_int_equal(ag_eval_match((ag_match_rule)42, 1, 1), 0);
}

/* a - g == 1e-4 * max(1, |g|) exactly, then the next double outward. */
static void check_default_tie(double g, double a)
{
    double tol = 1e-4 * fmax(1.0, fabs(g));
    assert_true(fabs(a - g) == tol);   /* the construction is an exact tie */
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, a, g));
    double out = nextafter(a, a > g ? INFINITY : -INFINITY);
    assert_true(fabs(out - g) > tol);
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, out, g));
}

static void test_default_rule(void **state)
{
    (void)state;
    /* zero gold: absolute 1e-4 */
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 0.0, 0.0));
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, -0.0, 0.0));
    check_default_tie(0.0, 1e-4);
    check_default_tie(0.0, -1e-4);
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, 0.001, 0.0));
    /* ties: 1e-4 * 10000 == 1 exactly in doubles */
    check_default_tie(10000, 10001);
    check_default_tie(10000, 9999);
    /* negative golds */
    check_default_tie(-10000, -10001);
    check_default_tie(-10000, -9999);
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, 10000, -10000));
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, -0.00005, 0.0));
    /* large golds: relative */
    check_default_tie(1e8, 100010000.0);
    check_default_tie(1e12, 1.0001e12);
    check_default_tie(-1e12, -1.0001e12);
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, 1.0002e12, 1e12));
    /* small golds below 1 use the absolute floor */
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 0.50009, 0.5));
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, 0.5002, 0.5));
}

static void test_alphaopt_rule(void **state)
{
    (void)state;
    const ag_match_rule R = AG_MATCH_ALPHAOPT;
    /* zero gold: exact tie at 0.1 and the next double */
    assert_true(ag_eval_match(R, 0.1, 0.0));
    assert_true(ag_eval_match(R, -0.1, 0.0));
    assert_false(ag_eval_match(R, nextafter(0.1, 1.0), 0.0));
    assert_false(ag_eval_match(R, nextafter(-0.1, -1.0), 0.0));
    /* 0.2 - 0.1 == 0.1 in doubles: a tie */
    assert_true(0.2 - 0.1 == 0.1);
    assert_true(ag_eval_match(R, 0.2, 0.1));
    assert_false(ag_eval_match(R, nextafter(0.2, 1.0), 0.1));
    /* negative gold, tie on both sides */
    assert_true(ag_eval_match(R, -0.2, -0.1));
    assert_true(fabs(0.0 - -0.1) == 0.1);
    assert_true(ag_eval_match(R, 0.0, -0.1));
    assert_false(ag_eval_match(R, nextafter(-0.2, -1.0), -0.1));
    assert_true(ag_eval_match(R, -5.0625, -5.0));
    assert_false(ag_eval_match(R, -5.125, -5.0));
    /* large golds: still absolute 0.1 (exactly representable offsets) */
    assert_true(ag_eval_match(R, 1e6 + 0.0625, 1e6));
    assert_false(ag_eval_match(R, 1e6 + 0.125, 1e6));
    assert_false(ag_eval_match(R, 1e12 + 1, 1e12));
    /* decimal 1000.1 is above the tie in binary: documented, not a match */
    assert_true(1000.1 - 1000.0 > 0.1);
    assert_false(ag_eval_match(R, 1000.1, 1000.0));
    assert_true(ag_eval_match(R, 1000.0625, 1000.0));
}

static void test_orlm_rule(void **state)
{
    (void)state;
    const ag_match_rule R = AG_MATCH_ORLM;
    /* zero gold: the answer must round to 0 */
    assert_true(ag_eval_match(R, 0.0, 0.0));
    assert_true(ag_eval_match(R, 0.49, 0.0));
    assert_true(ag_eval_match(R, -0.49, 0.0));
    assert_false(ag_eval_match(R, 0.5, 0.0));     /* half away from zero: 1 */
    assert_false(ag_eval_match(R, -0.5, 0.0));    /* -1 */
    assert_false(ag_eval_match(R, 1.0, 0.0));
    /* a gold that rounds to zero is a zero gold */
    assert_true(ag_eval_match(R, 0.3, 0.4));
    assert_false(ag_eval_match(R, 0.6, 0.4));
    /* tie: 0.05 * 100 == 5 exactly */
    assert_true(0.05 * 100.0 == 5.0);
    assert_true(ag_eval_match(R, 105.0, 100.0));
    assert_true(ag_eval_match(R, 95.0, 100.0));
    assert_true(ag_eval_match(R, 104.5, 100.0));   /* rounds to 105 */
    assert_false(ag_eval_match(R, 105.5, 100.0));  /* rounds to 106 */
    assert_false(ag_eval_match(R, 106.0, 100.0));
    assert_true(ag_eval_match(R, 94.5, 100.0));    /* rounds to 95 (away from zero) */
    assert_false(ag_eval_match(R, 94.49, 100.0));  /* 94 */
    /* negative golds */
    assert_true(ag_eval_match(R, -105.0, -100.0));
    assert_true(ag_eval_match(R, -104.5, -100.0)); /* -105 */
    assert_false(ag_eval_match(R, -105.5, -100.0)); /* -106 */
    assert_false(ag_eval_match(R, 100.0, -100.0));
    /* large golds */
    assert_true(0.05 * 1e9 == 5e7);
    assert_true(ag_eval_match(R, 1.05e9, 1e9));
    assert_false(ag_eval_match(R, 1.05e9 + 1, 1e9));
    assert_true(ag_eval_match(R, 0.95e9, 1e9));
    assert_false(ag_eval_match(R, 0.95e9 - 1, 1e9));
    /* small golds need the exact integer; the gold is rounded too */
    assert_true(ag_eval_match(R, 3.4, 2.5));       /* 3 vs 3 */
    assert_false(ag_eval_match(R, 2.4, 2.5));      /* 2 vs 3 */
    assert_false(ag_eval_match(R, 10.0, 9.0));
    assert_true(ag_eval_match(R, 21.0, 20.0));     /* 5% of 20 = 1 */
}

static void test_nonfinite(void **state)
{
    (void)state;
    const ag_match_rule rules[] = { AG_MATCH_DEFAULT, AG_MATCH_ALPHAOPT, AG_MATCH_ORLM };
    for (int i = 0; i < 3; i++) {
        ag_match_rule r = rules[i];
        assert_false(ag_eval_match(r, NAN, 0.0));
        assert_false(ag_eval_match(r, NAN, 1e9));
        assert_false(ag_eval_match(r, -NAN, -5.0));
        assert_false(ag_eval_match(r, INFINITY, 1e300));
        assert_false(ag_eval_match(r, -INFINITY, -1e300));
        assert_false(ag_eval_match(r, INFINITY, INFINITY));
        assert_false(ag_eval_match(r, 1.0, NAN));
        assert_false(ag_eval_match(r, 1.0, INFINITY));   /* inf tolerance */
        assert_false(ag_eval_match(r, 0.0, -INFINITY));
        assert_false(ag_eval_match(r, NAN, NAN));
        /* and through the judge: a NaN answer with outcome ok is wrong */
        ag_eval_item it = item_number("d", "p", 0.0, AG_OUTCOME_OK, 1, NAN);
        assert_int_equal(judge(&it, r), AG_CAT_WRONG_ANSWER);
    }
}

/* ---- golds and categories --------------------------------------------------------- */

static void test_no_best_solution(void **state)
{
    (void)state;
    static const struct { ag_outcome o; int has_answer; ag_eval_category want; } cases[] = {
        { AG_OUTCOME_INFEASIBLE, 0, AG_CAT_CORRECT },
        { AG_OUTCOME_UNBOUNDED, 0, AG_CAT_CORRECT },
        { AG_OUTCOME_INFEASIBLE, 1, AG_CAT_WRONG_ANSWER },
        { AG_OUTCOME_OK, 1, AG_CAT_WRONG_ANSWER },
        { AG_OUTCOME_OK, 0, AG_CAT_WRONG_ANSWER },
        { AG_OUTCOME_LLM_ERROR, 0, AG_CAT_LLM_ERROR },
        { AG_OUTCOME_NO_JSON, 0, AG_CAT_NO_JSON },
        { AG_OUTCOME_INVALID, 0, AG_CAT_INVALID },
        { AG_OUTCOME_NONLINEAR, 0, AG_CAT_NONLINEAR },
        { AG_OUTCOME_TIME_LIMIT, 0, AG_CAT_TIME_LIMIT },
        { AG_OUTCOME_TIME_LIMIT, 1, AG_CAT_TIME_LIMIT },
        { AG_OUTCOME_SOLVER_ERROR, 0, AG_CAT_SOLVER_ERROR },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ag_eval_item it = item_number("d", "p", 0, cases[i].o, cases[i].has_answer, 17.02);
        it.gold.kind = AG_GOLD_NO_SOLUTION;
        for (int r = 0; r < 3; r++) {
            ag_eval_category c = judge(&it, (ag_match_rule)r);
            if (c != cases[i].want)
                fail_msg("case %zu (%s, answer %d): got %s, want %s", i,
                         ag_outcome_name(cases[i].o), cases[i].has_answer,
                         ag_eval_category_name(c), ag_eval_category_name(cases[i].want));
        }
    }
}

static void test_categories_number_gold(void **state)
{
    (void)state;
    static const struct { ag_outcome o; ag_eval_category want; } cases[] = {
        { AG_OUTCOME_LLM_ERROR, AG_CAT_LLM_ERROR },
        { AG_OUTCOME_NO_JSON, AG_CAT_NO_JSON },
        { AG_OUTCOME_INVALID, AG_CAT_INVALID },
        { AG_OUTCOME_NONLINEAR, AG_CAT_NONLINEAR },
        { AG_OUTCOME_INFEASIBLE, AG_CAT_INFEASIBLE },
        { AG_OUTCOME_UNBOUNDED, AG_CAT_UNBOUNDED },
        { AG_OUTCOME_TIME_LIMIT, AG_CAT_TIME_LIMIT },
        { AG_OUTCOME_SOLVER_ERROR, AG_CAT_SOLVER_ERROR },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* even a matching answer from an untrusted attempt is not correct */
        ag_eval_item it = item_number("d", "p", 42, cases[i].o, 1, 42);
        assert_int_equal(judge(&it, AG_MATCH_DEFAULT), cases[i].want);
        it.has_answer = 0;
        assert_int_equal(judge(&it, AG_MATCH_DEFAULT), cases[i].want);
    }
    ag_eval_item it = item_number("d", "p", 42, AG_OUTCOME_OK, 1, 42);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    it.answer = 43;
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    assert_int_equal(judge(&it, AG_MATCH_ORLM), AG_CAT_CORRECT);   /* within 5% */
    it.has_answer = 0;
    it.answer = 42;
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    /* no gold: whatever the outcome */
    for (int o = AG_OUTCOME_OK; o <= AG_OUTCOME_SOLVER_ERROR; o++) {
        ag_eval_item n = item_number("d", "p", 0, (ag_outcome)o, 1, 1);
        n.gold.kind = AG_GOLD_NONE;
        assert_int_equal(judge(&n, AG_MATCH_DEFAULT), AG_CAT_NO_GOLD);
    }
    /* every category has a distinct name */
    for (int a = 0; a < AG_CAT_COUNT; a++)
        for (int b = a + 1; b < AG_CAT_COUNT; b++)
            assert_string_not_equal(ag_eval_category_name((ag_eval_category)a),
                                    ag_eval_category_name((ag_eval_category)b));
    assert_string_equal(ag_eval_category_name(AG_CAT_WRONG_ANSWER), "wrong_answer");
    assert_string_equal(ag_eval_category_name(AG_CAT_NO_GOLD), "no_gold");
}

static void test_no_gold_excluded(void **state)
{
    (void)state;
    ag_eval *e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    ag_eval_item a = item_number("d", "right", 5, AG_OUTCOME_OK, 1, 5);
    ag_eval_item b = item_number("d", "wrong", 5, AG_OUTCOME_OK, 1, 6);
    ag_eval_item c = item_number("d", "nogold", 0, AG_OUTCOME_OK, 1, 6);
    c.gold.kind = AG_GOLD_NONE;
    ag_eval_item d = item_number("d", "nogold2", 0, AG_OUTCOME_NO_JSON, 0, 0);
    d.gold.kind = AG_GOLD_NONE;
    add_ok(e, &a);
    add_ok(e, &b);
    add_ok(e, &c);
    add_ok(e, &d);
    ag_eval_totals t;
    assert_int_equal(ag_eval_totals_get(e, NULL, &t), 0);
    assert_int_equal(t.problems, 4);
    assert_int_equal(t.with_gold, 2);
    assert_int_equal(t.correct, 1);
    assert_true(t.accuracy == 0.5);
    assert_int_equal(t.category[AG_CAT_NO_GOLD], 2);
    assert_int_equal(t.category[AG_CAT_NO_JSON], 0);
    assert_int_equal(t.outcome[AG_OUTCOME_NO_JSON], 1);
    ag_eval_free(e);

    /* only ungraded problems: accuracy is NaN, not 0 */
    e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    add_ok(e, &c);
    assert_int_equal(ag_eval_totals_get(e, NULL, &t), 0);
    assert_int_equal(t.with_gold, 0);
    assert_true(isnan(t.accuracy));
    ag_eval_free(e);
}

/* ---- multi-quantity golds ------------------------------------------------------------- */

static ag_eval_item item_quantities(const ag_eval_quantity *gold, size_t ngold,
                                    const ag_eval_quantity *rep, size_t nrep, int has_obj,
                                    double obj)
{
    ag_eval_item it = item_number("optibench", "q", 0, AG_OUTCOME_OK, has_obj, obj);
    it.gold.kind = AG_GOLD_QUANTITIES;
    it.gold.quantities = gold;
    it.gold.nquantities = ngold;
    it.reported = rep;
    it.nreported = nrep;
    return it;
}

#define N(a) (sizeof (a) / sizeof (a)[0])

static void test_quantities_all_matched(void **state)
{
    (void)state;
    const ag_eval_quantity gold[] = { { "Number of chairs", 10 }, { "Number of tables", 4 },
                                      { "Maximum profit", 500 } };
    /* exact names, objective carrying the profit by value */
    const ag_eval_quantity rep[] = { { "Number of tables", 4 }, { "Number of chairs", 10 } };
    ag_eval_item it = item_quantities(gold, N(gold), rep, N(rep), 1, 500);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* names that differ entirely: matched by value */
    const ag_eval_quantity rep2[] = { { "x", 10.00001 }, { "y", 4 } };
    it = item_quantities(gold, N(gold), rep2, N(rep2), 1, 500);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* unnamed reported quantities match by value */
    const ag_eval_quantity rep3[] = { { NULL, 4 }, { NULL, 10 } };
    it = item_quantities(gold, N(gold), rep3, N(rep3), 1, 500);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* the rule applies per quantity */
    const ag_eval_quantity rep4[] = { { "x", 10.05 }, { "y", 4.05 } };
    it = item_quantities(gold, N(gold), rep4, N(rep4), 1, 500.09);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    assert_int_equal(judge(&it, AG_MATCH_ALPHAOPT), AG_CAT_CORRECT);
    /* a gold named like the objective binds to it */
    const ag_eval_quantity gobj[] = { { "Objective", 7 } };
    it = item_quantities(gobj, N(gobj), NULL, 0, 1, 7);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    it.answer = 8;
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
}

static void test_quantities_one_missing(void **state)
{
    (void)state;
    const ag_eval_quantity gold[] = { { "Number of chairs", 10 }, { "Number of tables", 4 },
                                      { "Maximum profit", 500 } };
    const ag_eval_quantity rep[] = { { "Number of chairs", 10 } };
    ag_eval_item it = item_quantities(gold, N(gold), rep, N(rep), 1, 500);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    /* no objective: the profit is missing */
    const ag_eval_quantity rep2[] = { { "Number of chairs", 10 }, { "Number of tables", 4 } };
    it = item_quantities(gold, N(gold), rep2, N(rep2), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    it.has_answer = 1;
    it.answer = 500;
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* one reported value cannot serve two gold quantities */
    const ag_eval_quantity g2[] = { { "a", 10 }, { "b", 10 } };
    const ag_eval_quantity r2[] = { { "z", 10 } };
    it = item_quantities(g2, N(g2), r2, N(r2), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    const ag_eval_quantity r3[] = { { "z", 10 }, { "w", 10 } };
    it = item_quantities(g2, N(g2), r3, N(r3), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* a greedy first choice fails here (p takes m, the only match of q);
     * the matching moves p to n */
    const ag_eval_quantity g3[] = { { "p", 10 }, { "q", 10.0015 } };
    const ag_eval_quantity r4[] = { { "m", 10.0008 }, { "n", 9.9995 } };
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 10.0008, 10));
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 10.0008, 10.0015));
    assert_true(ag_eval_match(AG_MATCH_DEFAULT, 9.9995, 10));
    assert_false(ag_eval_match(AG_MATCH_DEFAULT, 9.9995, 10.0015));
    it = item_quantities(g3, N(g3), r4, N(r4), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* an untrusted outcome is its own category, whatever was reported */
    it.outcome = AG_OUTCOME_TIME_LIMIT;
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_TIME_LIMIT);
}

static void test_quantities_loose_names(void **state)
{
    (void)state;
    const ag_eval_quantity gold[] = { { "Total_Cost ($)", 120 }, { "Number of Trucks", 3 } };
    /* case and punctuation differ; the objective is something else */
    const ag_eval_quantity rep[] = { { "total cost", 120 }, { "number-of-trucks", 3 } };
    ag_eval_item it = item_quantities(gold, N(gold), rep, N(rep), 1, 999);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* a right name with a wrong value is not rescued by a value elsewhere */
    const ag_eval_quantity rep2[] = { { "TOTAL COST", 121 }, { "numberoftrucks", 3 },
                                      { "spare", 120 } };
    it = item_quantities(gold, N(gold), rep2, N(rep2), 1, 120);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    /* a reported quantity named like a gold is not used for another gold by value */
    const ag_eval_quantity g2[] = { { "alpha", 5 }, { "beta", 5 } };
    const ag_eval_quantity r2[] = { { "Alpha", 5 }, { "gamma", 5 } };
    it = item_quantities(g2, N(g2), r2, N(r2), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    const ag_eval_quantity r3[] = { { "Alpha", 5 }, { "ALPHA!", 5 } };
    it = item_quantities(g2, N(g2), r3, N(r3), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
    /* names without a letter or digit never match by name: value decides */
    const ag_eval_quantity g3[] = { { "$$$", 2 } };
    const ag_eval_quantity r4[] = { { "%%%", 3 }, { "other", 2 } };
    it = item_quantities(g3, N(g3), r4, N(r4), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    /* letters only in ASCII are folded; digits count */
    const ag_eval_quantity g4[] = { { "x1", 1 }, { "x2", 2 } };
    const ag_eval_quantity r5[] = { { "X_2", 2 }, { "X 1", 1 } };
    it = item_quantities(g4, N(g4), r5, N(r5), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_CORRECT);
    const ag_eval_quantity r6[] = { { "X_2", 1 }, { "X 1", 2 } };   /* swapped values */
    it = item_quantities(g4, N(g4), r6, N(r6), 0, 0);
    assert_int_equal(judge(&it, AG_MATCH_DEFAULT), AG_CAT_WRONG_ANSWER);
}

/* ---- item checks and the aggregate ------------------------------------------------------ */

static void test_check_item(void **state)
{
    (void)state;
    char err[200];
    ag_eval_item ok = item_number("d", "p", 1, AG_OUTCOME_OK, 1, 1);
    assert_int_equal(ag_eval_check_item(&ok, err, sizeof err), 0);
    ag_eval_item it = ok;
    it.id = NULL;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    assert_non_null(strstr(err, "id"));
    it = ok;
    it.gold.value = NAN;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    it = ok;
    it.outcome = (ag_outcome)99;
    assert_int_equal(ag_eval_check_item(&it, NULL, 0), -1);
    it = ok;
    it.tokens = -1;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    it = ok;
    it.latency_ms = -1;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    it.latency_ms = INFINITY;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    it = ok;
    it.gold.kind = AG_GOLD_QUANTITIES;   /* no quantities */
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    ag_eval_quantity many[AG_EVAL_MAX_QUANTITIES + 1];
    for (size_t i = 0; i < N(many); i++) {
        many[i].name = NULL;
        many[i].value = (double)i;
    }
    it.gold.quantities = many;
    it.gold.nquantities = N(many);
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    it.gold.nquantities = AG_EVAL_MAX_QUANTITIES;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), 0);
    char *longid = malloc(AG_EVAL_MAX_NAME + 2);
    assert_non_null(longid);
    memset(longid, 'x', AG_EVAL_MAX_NAME + 1);
    longid[AG_EVAL_MAX_NAME + 1] = 0;
    it = ok;
    it.id = longid;
    assert_int_equal(ag_eval_check_item(&it, err, sizeof err), -1);
    free(longid);
    ag_eval_category c = AG_CAT_COUNT;
    it = ok;
    it.dataset = NULL;
    assert_int_equal(ag_eval_judge(AG_MATCH_DEFAULT, &it, &c), -1);
    assert_int_equal(c, AG_CAT_COUNT);

    /* the aggregate refuses invalid items and duplicates, and says why */
    ag_eval *e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    assert_int_equal(ag_eval_add(e, &it), AG_EFORMAT);
    assert_true(strlen(ag_eval_error(e)) > 0);
    add_ok(e, &ok);
    assert_string_equal(ag_eval_error(e), "");
    assert_int_equal(ag_eval_add(e, &ok), AG_EEXIST);
    assert_non_null(strstr(ag_eval_error(e), "twice"));
    ag_eval_item other = ok;
    other.dataset = "d2";        /* same id, other dataset: a different problem */
    add_ok(e, &other);
    assert_int_equal(ag_eval_count(e), 2);
    assert_null(ag_eval_new((ag_match_rule)7));
    ag_eval_free(e);
}

static void test_totals_aggregate(void **state)
{
    (void)state;
    ag_eval *e = ag_eval_new(AG_MATCH_ALPHAOPT);
    assert_non_null(e);
    assert_int_equal(ag_eval_rule(e), AG_MATCH_ALPHAOPT);
    /* nl4opt: 3 problems, 2 correct; mamo: 2 problems, 0 correct + 1 no gold */
    ag_eval_item it[6] = {
        item_number("nl4opt", "1", 10, AG_OUTCOME_OK, 1, 10.05),
        item_number("nl4opt", "2", 10, AG_OUTCOME_OK, 1, 10),
        item_number("nl4opt", "3", 10, AG_OUTCOME_INFEASIBLE, 0, 0),
        item_number("mamo", "1", 7, AG_OUTCOME_OK, 1, 8),
        item_number("mamo", "2", 7, AG_OUTCOME_NO_JSON, 0, 0),
        item_number("mamo", "3", 0, AG_OUTCOME_OK, 1, 3),
    };
    it[5].gold.kind = AG_GOLD_NONE;
    const long tokens[6] = { 100, 200, 300, 1000, 2000, 3000 };
    const int calls[6] = { 1, 1, 4, 1, 2, 3 };
    const double lat[6] = { 10, 20, 30, 40, NAN, 60 };
    for (int i = 0; i < 6; i++) {
        it[i].tokens = tokens[i];
        it[i].llm_calls = calls[i];
        it[i].latency_ms = lat[i];
        add_ok(e, &it[i]);
    }
    assert_int_equal(ag_eval_dataset_count(e), 2);
    assert_string_equal(ag_eval_dataset_name(e, 0), "nl4opt");
    assert_string_equal(ag_eval_dataset_name(e, 1), "mamo");
    assert_null(ag_eval_dataset_name(e, 2));

    ag_eval_totals t;
    assert_int_equal(ag_eval_totals_get(e, "nl4opt", &t), 0);
    assert_int_equal(t.problems, 3);
    assert_int_equal(t.with_gold, 3);
    assert_int_equal(t.correct, 2);
    assert_true(fabs(t.accuracy - 2.0 / 3.0) < 1e-15);
    assert_int_equal(t.category[AG_CAT_INFEASIBLE], 1);
    assert_true(t.tokens_mean == 200);
    assert_true(t.calls_mean == 2);
    assert_true(t.latency_p50 == 20 && t.latency_p90 == 30 && t.latency_p99 == 30);

    assert_int_equal(ag_eval_totals_get(e, "mamo", &t), 0);
    assert_int_equal(t.problems, 3);
    assert_int_equal(t.with_gold, 2);
    assert_int_equal(t.correct, 0);
    assert_true(t.accuracy == 0);
    assert_int_equal(t.category[AG_CAT_WRONG_ANSWER], 1);
    assert_int_equal(t.category[AG_CAT_NO_JSON], 1);
    assert_int_equal(t.category[AG_CAT_NO_GOLD], 1);
    assert_int_equal(t.latency_known, 2);
    assert_true(t.latency_p50 == 40 && t.latency_p99 == 60);

    assert_int_equal(ag_eval_totals_get(e, NULL, &t), 0);
    assert_int_equal(t.problems, 6);
    assert_int_equal(t.with_gold, 5);
    assert_int_equal(t.correct, 2);
    assert_true(t.accuracy == 0.4);
    assert_true(t.tokens_mean == 1100);
    assert_int_equal(t.tokens_total, 6600);
    assert_true(t.calls_mean == 2);
    assert_int_equal(t.latency_known, 5);
    /* 10 20 30 40 60: ranks ceil(2.5)=3, ceil(4.5)=5, ceil(4.95)=5 */
    assert_true(t.latency_p50 == 30 && t.latency_p90 == 60 && t.latency_p99 == 60);
    assert_true(t.latency_min == 10 && t.latency_max == 60);
    size_t sum = 0;
    for (int k = 0; k < AG_CAT_COUNT; k++) sum += t.category[k];
    assert_int_equal(sum, t.problems);   /* exactly one category each */

    assert_int_equal(ag_eval_totals_get(e, "nope", &t), AG_ENOTFOUND);
    const ag_eval_record *r = ag_eval_find(e, "mamo", "2");
    assert_non_null(r);
    assert_int_equal(r->category, AG_CAT_NO_JSON);
    assert_null(ag_eval_find(e, "mamo", "4"));
    assert_string_equal(ag_eval_get(e, 0)->id, "1");
    assert_null(ag_eval_get(e, 6));
    ag_eval_free(e);
}

static void test_many_problems(void **state)
{
    (void)state;
    ag_eval *e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    const char *ds[3] = { "a", "b", "c" };
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "p%d", i);
        ag_eval_item it = item_number(ds[i % 3], id, i, AG_OUTCOME_OK, 1, i % 4 ? i : i + 1);
        it.latency_ms = i;
        add_ok(e, &it);
    }
    assert_int_equal(ag_eval_count(e), 5000);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(id, sizeof id, "p%d", i);
        const ag_eval_record *r = ag_eval_find(e, ds[i % 3], id);
        assert_non_null(r);
        assert_string_equal(r->id, id);
        assert_null(ag_eval_find(e, ds[(i + 1) % 3], id));
    }
    ag_eval_totals t;
    assert_int_equal(ag_eval_totals_get(e, NULL, &t), 0);
    /* i % 4 == 0 answers i + 1: wrong except i = 0 (|1 - 0| > 1e-4 too) */
    assert_int_equal(t.correct, 5000 - 1250);
    assert_true(t.latency_p50 == 2499);   /* rank 2500 of 0..4999 */
    assert_true(t.latency_p99 == 4949);   /* rank 4950 */
    ag_eval_free(e);
}

/* ---- pass@k and percentiles ----------------------------------------------------------------- */

static double comb(int n, int k)
{
    double r = 1;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

static void test_pass_at_k(void **state)
{
    (void)state;
    assert_true(fabs(ag_eval_pass_at_k(5, 2, 1) - 0.4) < 1e-12);
    assert_true(fabs(ag_eval_pass_at_k(5, 2, 3) - 0.9) < 1e-12);
    assert_true(ag_eval_pass_at_k(5, 0, 1) == 0.0);
    assert_true(ag_eval_pass_at_k(5, 0, 5) == 0.0);
    assert_true(ag_eval_pass_at_k(5, 3, 3) == 1.0);   /* n - c = 2 < 3 */
    assert_true(ag_eval_pass_at_k(5, 5, 1) == 1.0);
    assert_true(ag_eval_pass_at_k(1, 1, 1) == 1.0);
    /* pass@1 is c/n */
    assert_true(fabs(ag_eval_pass_at_k(10, 3, 1) - 0.3) < 1e-12);
    /* against the binomial form */
    for (int n = 1; n <= 30; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k++) {
                double want = n - c < k ? 1.0 : 1.0 - comb(n - c, k) / comb(n, k);
                double got = ag_eval_pass_at_k(n, c, k);
                if (fabs(got - want) > 1e-9) fail_msg("n=%d c=%d k=%d: %g vs %g", n, c, k, got, want);
            }
    /* stable for large n (the binomials overflow doubles) */
    double p = ag_eval_pass_at_k(2000, 1, 1);
    assert_true(fabs(p - 1.0 / 2000) < 1e-15);
    p = ag_eval_pass_at_k(5000, 2500, 100);
    assert_true(p > 0.999 && p <= 1.0);
    /* impossible arguments */
    assert_true(isnan(ag_eval_pass_at_k(0, 0, 1)));
    assert_true(isnan(ag_eval_pass_at_k(5, 6, 1)));
    assert_true(isnan(ag_eval_pass_at_k(5, -1, 1)));
    assert_true(isnan(ag_eval_pass_at_k(5, 2, 0)));
    assert_true(isnan(ag_eval_pass_at_k(5, 2, 6)));
    /* dataset mean */
    const int n[3] = { 5, 5, 5 }, c[3] = { 2, 0, 5 };
    assert_true(fabs(ag_eval_pass_at_k_mean(n, c, 3, 1) - (0.4 + 0 + 1) / 3) < 1e-12);
    assert_true(fabs(ag_eval_pass_at_k_mean(n, c, 3, 3) - (0.9 + 0 + 1) / 3) < 1e-12);
    assert_true(isnan(ag_eval_pass_at_k_mean(n, c, 0, 1)));
    const int bad[1] = { 9 };
    assert_true(isnan(ag_eval_pass_at_k_mean(n, bad, 1, 1)));
}

static void test_percentiles(void **state)
{
    (void)state;
    const double v[10] = { 7, 3, 10, 1, 9, 2, 8, 4, 6, 5 };   /* 1..10 shuffled */
    assert_true(ag_eval_percentile(v, 10, 50) == 5);
    assert_true(ag_eval_percentile(v, 10, 90) == 9);
    assert_true(ag_eval_percentile(v, 10, 99) == 10);
    assert_true(ag_eval_percentile(v, 10, 100) == 10);
    assert_true(ag_eval_percentile(v, 10, 0) == 1);
    assert_true(ag_eval_percentile(v, 10, 10) == 1);
    assert_true(ag_eval_percentile(v, 10, 11) == 2);
    assert_true(v[0] == 7);   /* input untouched */
    double h[100];
    for (int i = 0; i < 100; i++) h[i] = 100 - i;   /* 100..1 */
    assert_true(ag_eval_percentile(h, 100, 50) == 50);
    assert_true(ag_eval_percentile(h, 100, 90) == 90);
    assert_true(ag_eval_percentile(h, 100, 99) == 99);
    const double one[1] = { 42 };
    assert_true(ag_eval_percentile(one, 1, 50) == 42);
    assert_true(ag_eval_percentile(one, 1, 99) == 42);
    const double two[2] = { 1, 2 };
    assert_true(ag_eval_percentile(two, 2, 50) == 1);   /* rank ceil(1) = 1 */
    assert_true(ag_eval_percentile(two, 2, 51) == 2);
    const double withnan[4] = { NAN, 3, NAN, 1 };
    assert_true(ag_eval_percentile(withnan, 4, 50) == 1);
    assert_true(ag_eval_percentile(withnan, 4, 90) == 3);
    const double allnan[2] = { NAN, NAN };
    assert_true(isnan(ag_eval_percentile(allnan, 2, 50)));
    assert_true(isnan(ag_eval_percentile(v, 0, 50)));
    assert_true(isnan(ag_eval_percentile(v, 10, 101)));
    assert_true(isnan(ag_eval_percentile(v, 10, -1)));
    assert_true(isnan(ag_eval_percentile(NULL, 3, 50)));
}

/* ---- comparison -------------------------------------------------------------------------------- */

static void test_compare(void **state)
{
    (void)state;
    ag_eval *a = ag_eval_new(AG_MATCH_DEFAULT), *b = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(a);
    assert_non_null(b);
    /* id: A -> B */
    ag_eval_item ia[] = {
        item_number("d", "fixed", 1, AG_OUTCOME_OK, 1, 2),            /* wrong -> correct */
        item_number("d", "broken", 1, AG_OUTCOME_OK, 1, 1),           /* correct -> infeasible */
        item_number("d", "wrong", 1, AG_OUTCOME_INFEASIBLE, 0, 0),    /* infeasible -> no_json */
        item_number("d", "right", 1, AG_OUTCOME_OK, 1, 1),            /* correct -> correct */
        item_number("d", "same", 1, AG_OUTCOME_INVALID, 0, 0),        /* invalid -> invalid */
        item_number("d", "ungraded", 0, AG_OUTCOME_OK, 1, 1),
        item_number("d", "onlyA", 1, AG_OUTCOME_OK, 1, 1),
    };
    ia[5].gold.kind = AG_GOLD_NONE;
    ag_eval_item ib[] = {
        item_number("d", "onlyB", 1, AG_OUTCOME_OK, 1, 1),
        item_number("d", "right", 1, AG_OUTCOME_OK, 1, 1),
        item_number("d", "wrong", 1, AG_OUTCOME_NO_JSON, 0, 0),
        item_number("d", "broken", 1, AG_OUTCOME_INFEASIBLE, 0, 0),
        item_number("d", "fixed", 1, AG_OUTCOME_OK, 1, 1),
        item_number("d", "same", 1, AG_OUTCOME_INVALID, 0, 0),
        item_number("d", "ungraded", 0, AG_OUTCOME_OK, 1, 1),
    };
    ib[6].gold.kind = AG_GOLD_NONE;
    for (size_t i = 0; i < N(ia); i++) add_ok(a, &ia[i]);
    for (size_t i = 0; i < N(ib); i++) add_ok(b, &ib[i]);
    ag_eval_comparison *c = ag_eval_compare(a, b);
    assert_non_null(c);
    assert_int_equal(c->nchanges, 8);
    assert_int_equal(c->count[AG_CHANGE_FIXED], 1);
    assert_int_equal(c->count[AG_CHANGE_BROKEN], 1);
    assert_int_equal(c->count[AG_CHANGE_STILL_WRONG], 2);
    assert_int_equal(c->count[AG_CHANGE_STILL_RIGHT], 1);
    assert_int_equal(c->count[AG_CHANGE_UNGRADED], 1);
    assert_int_equal(c->count[AG_CHANGE_ONLY_A], 1);
    assert_int_equal(c->count[AG_CHANGE_ONLY_B], 1);
    assert_int_equal(c->transitions[AG_CAT_WRONG_ANSWER][AG_CAT_CORRECT], 1);
    assert_int_equal(c->transitions[AG_CAT_CORRECT][AG_CAT_INFEASIBLE], 1);
    assert_int_equal(c->transitions[AG_CAT_INFEASIBLE][AG_CAT_NO_JSON], 1);
    assert_int_equal(c->transitions[AG_CAT_CORRECT][AG_CAT_CORRECT], 1);
    assert_int_equal(c->transitions[AG_CAT_INVALID][AG_CAT_INVALID], 1);
    assert_int_equal(c->transitions[AG_CAT_NO_GOLD][AG_CAT_NO_GOLD], 1);
    /* order: A's problems, then the B-only one */
    assert_string_equal(c->changes[0].id, "fixed");
    assert_int_equal(c->changes[0].kind, AG_CHANGE_FIXED);
    assert_int_equal(c->changes[0].before, AG_CAT_WRONG_ANSWER);
    assert_int_equal(c->changes[0].after, AG_CAT_CORRECT);
    assert_string_equal(c->changes[2].id, "wrong");
    assert_int_equal(c->changes[2].kind, AG_CHANGE_STILL_WRONG);
    assert_int_equal(c->changes[6].kind, AG_CHANGE_ONLY_A);
    assert_int_equal(c->changes[6].after, AG_CAT_COUNT);
    assert_string_equal(c->changes[7].id, "onlyB");
    assert_int_equal(c->changes[7].kind, AG_CHANGE_ONLY_B);
    assert_int_equal(c->total_a.correct, 3);
    assert_int_equal(c->total_b.correct, 3);

    char *md = render_compare(c);
    assert_non_null(strstr(md, "| fixed | 1 |"));
    assert_non_null(strstr(md, "| broken | 1 |"));
    assert_non_null(strstr(md, "| infeasible | no_json | 1 |"));
    assert_non_null(strstr(md, "| wrong_answer | correct | 1 |"));
    /* the transition table lists only changed categories */
    const char *tr = strstr(md, "## Category transitions");
    assert_non_null(tr);
    const char *tr_end = strstr(tr + 2, "\n## ");
    assert_non_null(tr_end);
    char *sect = strndup(tr, (size_t)(tr_end - tr));
    assert_non_null(sect);
    assert_non_null(strstr(sect, "| infeasible | no_json | 1 |"));
    assert_null(strstr(sect, "| invalid | invalid |"));
    assert_null(strstr(sect, "| correct | correct |"));
    free(sect);
    /* the lists name the problems */
    assert_non_null(strstr(md, "| d | fixed | wrong_answer | correct |"));
    assert_non_null(strstr(md, "| d | broken | correct | infeasible |"));
    assert_non_null(strstr(md, ag_eval_rule_description(AG_MATCH_DEFAULT)));
    assert_null(strstr(md, "Warning"));
    free(md);
    ag_eval_comparison_free(c);

    /* different rules are flagged */
    ag_eval *o = ag_eval_new(AG_MATCH_ORLM);
    assert_non_null(o);
    for (size_t i = 0; i < N(ib); i++) add_ok(o, &ib[i]);
    c = ag_eval_compare(a, o);
    assert_non_null(c);
    md = render_compare(c);
    assert_non_null(strstr(md, "Warning"));
    assert_non_null(strstr(md, ag_eval_rule_description(AG_MATCH_ORLM)));
    free(md);
    ag_eval_comparison_free(c);
    ag_eval_free(o);
    ag_eval_free(a);
    ag_eval_free(b);
}

/* ---- writers ------------------------------------------------------------------------------------- */

static const char *HOSTILE = "<script>alert(1)</script>&\"";

static ag_eval *sample_eval(ag_match_rule r)
{
    ag_eval *e = ag_eval_new(r);
    assert_non_null(e);
    ag_eval_item it[] = {
        item_number("nl4opt", "1", 100, AG_OUTCOME_OK, 1, 100),
        item_number("nl4opt", "2", 100, AG_OUTCOME_OK, 1, 103),
        item_number("nl4opt", HOSTILE, 100, AG_OUTCOME_NONLINEAR, 0, 0),
        item_number("mamo", "a|b", 0, AG_OUTCOME_OK, 1, 0),
        item_number("<b>set</b>", "x", 0, AG_OUTCOME_OK, 1, 1),
    };
    it[4].gold.kind = AG_GOLD_NONE;
    for (size_t i = 0; i < N(it); i++) {
        it[i].tokens = 1000 * (long)(i + 1);
        it[i].llm_calls = (int)i + 1;
        it[i].latency_ms = 100.0 * (double)(i + 1);
        add_ok(e, &it[i]);
    }
    return e;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x)) fail_msg("JSON: %s is not a number", key);
    return x->valuedouble;
}

static void test_json_output(void **state)
{
    (void)state;
    ag_eval *e = sample_eval(AG_MATCH_ORLM);
    char *s = render(ag_eval_write_json, e);
    cJSON *o = cJSON_Parse(s);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "rule")->valuestring, "orlm");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "rule_description")->valuestring,
                        ag_eval_rule_description(AG_MATCH_ORLM));
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(o, "overall");
    assert_non_null(ov);
    assert_true(json_num(ov, "problems") == 5);
    assert_true(json_num(ov, "with_gold") == 4);
    assert_true(json_num(ov, "correct") == 3);   /* 103 is within 5% under orlm */
    assert_true(json_num(ov, "no_gold") == 1);
    assert_true(json_num(ov, "accuracy") == 0.75);
    assert_true(json_num(ov, "tokens_per_problem") == 3000);
    assert_true(json_num(ov, "llm_calls_per_problem") == 3);
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(ov, "categories");
    assert_true(json_num(cats, "correct") == 3);
    assert_true(json_num(cats, "nonlinear") == 1);
    assert_true(json_num(cats, "no_gold") == 1);
    assert_true(json_num(cats, "wrong_answer") == 0);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(ov, "latency_ms");
    assert_true(json_num(lat, "p50") == 300);
    assert_true(json_num(lat, "p90") == 500);
    assert_true(json_num(lat, "p99") == 500);
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(o, "datasets");
    assert_int_equal(cJSON_GetArraySize(dl), 3);
    const cJSON *d0 = cJSON_GetArrayItem(dl, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d0, "name")->valuestring, "nl4opt");
    assert_true(fabs(json_num(d0, "accuracy") - 2.0 / 3.0) < 1e-12);
    const cJSON *d2 = cJSON_GetArrayItem(dl, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d2, "name")->valuestring, "<b>set</b>");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d2, "accuracy")));
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(o, "problems");
    assert_int_equal(cJSON_GetArraySize(pl), 5);
    const cJSON *p2 = cJSON_GetArrayItem(pl, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p2, "id")->valuestring, HOSTILE);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p2, "category")->valuestring, "nonlinear");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p2, "answer")));
    assert_true(json_num(p2, "gold") == 100);
    cJSON_Delete(o);
    free(s);
    ag_eval_free(e);
}

static void test_markdown_output(void **state)
{
    (void)state;
    ag_eval *e = sample_eval(AG_MATCH_ALPHAOPT);
    char *s = render(ag_eval_write_markdown, e);
    assert_non_null(strstr(s, ag_eval_rule_description(AG_MATCH_ALPHAOPT)));
    assert_non_null(strstr(s, "Accuracy (rule alphaopt): **50.0%**"));
    assert_non_null(strstr(s, "accuracy (alphaopt)"));
    assert_non_null(strstr(s, "| **all** | 5 | 4 | 2 | 50.0% |"));
    assert_non_null(strstr(s, "| wrong_answer | 1 |"));
    /* data is escaped: no raw tags, pipes do not split cells */
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "<b>"));
    assert_non_null(strstr(s, "&lt;script&gt;"));
    assert_non_null(strstr(s, "&lt;b&gt;set&lt;/b&gt;"));
    free(s);
    ag_eval_free(e);
    /* a pipe or a newline in an id does not break the table row */
    e = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(e);
    ag_eval_item it = item_number("d", "a|b\nc", 1, AG_OUTCOME_OK, 1, 2);
    add_ok(e, &it);
    s = render(ag_eval_write_markdown, e);
    assert_non_null(strstr(s, "| d | a\\|b c | wrong_answer | ok | 1 | 2 |"));
    free(s);
    ag_eval_free(e);
}

static void check_balanced(const char *s, const char *open, const char *close)
{
    size_t o = count_substr(s, open), c = count_substr(s, close);
    if (o != c) fail_msg("%zu %s but %zu %s", o, open, c, close);
}

static void test_html_output(void **state)
{
    (void)state;
    ag_eval *e = sample_eval(AG_MATCH_DEFAULT);
    char *s = render(ag_eval_write_html, e);
    assert_true(!strncmp(s, "<!DOCTYPE html>", 15));
    assert_non_null(strstr(s, "</html>\n"));
    /* the hostile id and dataset are escaped */
    assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"));
    assert_non_null(strstr(s, "&lt;b&gt;set&lt;/b&gt;"));
    assert_false(contains_nocase(s, "<script"));
    assert_null(strstr(s, "<b>set"));
    /* self-contained: no URL, no external resource, no script */
    assert_false(contains_nocase(s, "http"));
    assert_false(contains_nocase(s, "url("));
    assert_false(contains_nocase(s, "@import"));
    assert_false(contains_nocase(s, "<link"));
    assert_false(contains_nocase(s, "src="));
    assert_false(contains_nocase(s, "href="));
    assert_false(contains_nocase(s, "javascript"));
    assert_false(has_event_handler(s));
    /* well-formed enough */
    assert_true(count_substr(s, "<svg") >= 3);
    check_balanced(s, "<svg", "</svg>");
    check_balanced(s, "<table", "</table>");
    check_balanced(s, "<tr>", "</tr>");
    check_balanced(s, "<g>", "</g>");
    check_balanced(s, "<text", "</text>");
    check_balanced(s, "<title>", "</title>");
    check_balanced(s, "<style>", "</style>");
    /* the rule goes with the accuracy */
    assert_non_null(strstr(s, "Accuracy (rule default): <b>50.0%</b>"));
    assert_non_null(strstr(s, "|a - g| &lt;= 1e-4"));
    assert_non_null(strstr(s, "p50 300 ms"));
    free(s);
    ag_eval_free(e);
}

static void test_empty_outputs(void **state)
{
    (void)state;
    ag_eval *e = ag_eval_new(AG_MATCH_ORLM);
    assert_non_null(e);
    char *s = render(ag_eval_write_json, e);
    cJSON *o = cJSON_Parse(s);
    assert_non_null(o);
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(o, "overall");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ov, "accuracy")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "problems")), 0);
    cJSON_Delete(o);
    free(s);
    s = render(ag_eval_write_markdown, e);
    assert_non_null(strstr(s, "Accuracy (rule orlm): **n/a**"));
    free(s);
    s = render(ag_eval_write_html, e);
    assert_non_null(strstr(s, "No latency recorded."));
    check_balanced(s, "<svg", "</svg>");
    assert_false(contains_nocase(s, "nan"));
    free(s);
    /* known data in the histogram: 20 bins of 10 ms from 100 to 300 */
    ag_eval *h = ag_eval_new(AG_MATCH_DEFAULT);
    assert_non_null(h);
    const double lat[5] = { 100, 105, 109.9, 300, 200 };
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "h%d", i);
        ag_eval_item x = item_number("d", id, 1, AG_OUTCOME_OK, 1, 1);
        x.latency_ms = lat[i];
        add_ok(h, &x);
    }
    s = render(ag_eval_write_html, h);
    assert_non_null(strstr(s, "<title>100 to 110 ms: 3</title>"));
    assert_non_null(strstr(s, "<title>200 to 210 ms: 1</title>"));
    assert_non_null(strstr(s, "<title>290 to 300 ms: 1</title>"));
    assert_non_null(strstr(s, "<title>110 to 120 ms: 0</title>"));
    free(s);
    ag_eval_free(h);
    /* one latency value: the histogram spans 10% around it (so its axis
     * ticks differ) and the value is the one bar, in the middle */
    ag_eval_item it = item_number("d", "p", 1, AG_OUTCOME_OK, 1, 1);
    it.latency_ms = 250;
    add_ok(e, &it);
    s = render(ag_eval_write_html, e);
    assert_int_equal(count_substr(s, "<svg"), 3);
    assert_int_equal(count_substr(s, " ms: 1</title>"), 1);
    assert_non_null(strstr(s, "<title>250 to "));
    assert_non_null(strstr(s, "<title>225 to "));    /* the first bin, empty */
    check_balanced(s, "<svg", "</svg>");
    assert_false(contains_nocase(s, "nan"));
    free(s);
    assert_int_equal(ag_eval_write_json(NULL, stdout), AG_EUSAGE);
    assert_int_equal(ag_eval_write_html(e, NULL), AG_EUSAGE);
    ag_eval_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_names),
        cmocka_unit_test(test_default_rule),
        cmocka_unit_test(test_alphaopt_rule),
        cmocka_unit_test(test_orlm_rule),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_no_best_solution),
        cmocka_unit_test(test_categories_number_gold),
        cmocka_unit_test(test_no_gold_excluded),
        cmocka_unit_test(test_quantities_all_matched),
        cmocka_unit_test(test_quantities_one_missing),
        cmocka_unit_test(test_quantities_loose_names),
        cmocka_unit_test(test_check_item),
        cmocka_unit_test(test_totals_aggregate),
        cmocka_unit_test(test_many_problems),
        cmocka_unit_test(test_pass_at_k),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_markdown_output),
        cmocka_unit_test(test_html_output),
        cmocka_unit_test(test_empty_outputs),
    };
    return cmocka_run_group_tests_name("evaluate", tests, NULL, NULL) ? 1 : 0;
}
