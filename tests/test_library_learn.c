/* The library's learning API (library/learn.c and the learning part of
 * library/store.c): the prompt block, the content hash, recorded outcomes,
 * reflect replies, verified candidates with duplicate merging (also from 4
 * processes at once) and refinement scoring. One concern per test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "library/library.h"
#include "tests/support.h"

static char *tmpdir;
static int counter;

static char *tmp_path(const char *name)
{
    static char p[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%d-%s", tmpdir, ++counter, name);
    return p[k];
}

static lib *fresh(void)
{
    char err[512];
    lib *l = lib_open(tmp_path("lib.db"), 0, NULL, err, sizeof err);
    if (!l) print_error("%s\n", err);
    assert_non_null(l);
    return l;
}

static void parse(const char *json, lib_insight *in)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    char err[512];
    lib_code c = lib_insight_from_json(j, in, err, sizeof err);
    cJSON_Delete(j);
    if (c) print_error("%s\n", err);
    assert_int_equal(c, LIB_OK);
}

static int64_t add_json(lib *l, const char *json)
{
    lib_insight in;
    parse(json, &in);
    assert_int_equal(lib_add(l, &in), LIB_OK);
    int64_t id = in.id;
    lib_insight_clear(&in);
    return id;
}

static size_t count(lib *l)
{
    lib_insight *v;
    size_t n;
    assert_int_equal(lib_list(l, &v, &n), LIB_OK);
    lib_insights_free(v, n);
    return n;
}

#define FLOW                                                                          \
    "{\"taxonomy\": [\"Domain Modeling\", \"Network Flow\", \"Flow conservation\"],"  \
    " \"condition\": \"Applies when goods move through intermediate transshipment "   \
    "nodes of a network. Does NOT apply when exchange rates or tax brackets are "     \
    "involved.\", \"explanation\": \"When flow passes nodes, the best practice is a " \
    "balance per node; a common mistake is to forget the intermediate nodes.\","      \
    " \"example\": \"Wrong: no balance. Right: inflow - outflow = demand\"}"

/* FLOW reworded, as a second reflect would write it */
#define FLOW_AGAIN                                                                    \
    "{\"taxonomy\": [\"Domain Modeling\", \"Network Flow\", \"Flow conservation\"],"  \
    " \"condition\": \"Applies when goods move through intermediate transshipment "   \
    "nodes in a network. Does NOT apply when exchange rates or tax brackets matter.\"," \
    " \"explanation\": \"When flow passes through nodes, the best practice is one "   \
    "balance per node; a common mistake is forgetting intermediate nodes.\","         \
    " \"example\": \"Right: sum in - sum out = demand[n]\"}"

#define PERCENT                                                                       \
    "{\"taxonomy\": [\"General Formulation\", \"Proportions\"],"                      \
    " \"condition\": \"Applies when a share is limited to a percent of the total "    \
    "output.\", \"explanation\": \"Write the share as a fraction of the sum.\","      \
    " \"example\": \"x <= 0.2*sum x\"}"

#define NET_PROBLEM                                                                   \
    "A company ships goods from two factories through intermediate transshipment "   \
    "warehouses (nodes of a network) to three stores. Minimize the shipping cost."

#define DIET_PROBLEM                                                                  \
    "A farmer blends feed so that the diet of the cattle meets the nutrients "       \
    "protein and fat at minimum cost; grains are blended in the diet."

/* ---- the prompt block ------------------------------------------------------------ */

static void test_prompt_block_verbatim(void **state)
{
    (void)state;
    lib_insight in;
    parse(FLOW, &in);
    /* a condition well over 2,000 characters, with newlines and quotes */
    size_t big = 3000;
    char *cond = malloc(big + 1);
    for (size_t i = 0; i < big; i++) cond[i] = "Applies when \"x\"\n"[i % 17];
    cond[big] = '\0';
    free(in.condition);
    in.condition = cond;
    in.id = 12;
    in.version = 3;
    const lib_insight *v[] = {&in};
    char *text = NULL;
    assert_int_equal(lib_format_for_prompt(v, 1, &text), LIB_OK);
    assert_non_null(strstr(text, "Insights from earlier problems"));
    assert_non_null(strstr(text, "Apply those whose condition matches this problem"));
    assert_non_null(strstr(text, "Insight 12 (version 3)"));
    assert_non_null(strstr(text, "Domain Modeling > Network Flow > Flow conservation"));
    assert_non_null(strstr(text, cond));
    assert_non_null(strstr(text, in.explanation));
    assert_non_null(strstr(text, in.example));
    free(text);
    lib_insight_clear(&in);
}

static void test_prompt_block_empty(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(lib_format_for_prompt(NULL, 0, &text), LIB_OK);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(lib_format_hits(NULL, 0, &text), LIB_OK);
    assert_string_equal(text, "");
    free(text);
}

static void test_hits_give_id_at_version(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, FLOW);
    assert_int_equal(lib_replace_condition(l, id, "Applies when goods move through "
                                           "transshipment nodes of a network.", NULL), LIB_OK);
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, NET_PROBLEM, 0, &h, &n), LIB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(lib_hit_id(&h[0]), id);
    assert_int_equal(lib_hit_version(&h[0]), 2);
    char *refs = lib_hits_refs(h, n), want[64];
    snprintf(want, sizeof want, "%lld@2", (long long)id);
    assert_string_equal(refs, want);
    free(refs);
    char *block;
    assert_int_equal(lib_format_hits(h, n, &block), LIB_OK);
    assert_non_null(strstr(block, h[0].insight.condition));
    free(block);
    lib_hits_free(h, n);
    lib_close(l);
}

/* ---- content hash ------------------------------------------------------------------ */

static void test_hash_stable_and_changes_on_edit(void **state)
{
    (void)state;
    lib *l = fresh();
    char h0[65], h1[65], h2[65], h3[65];
    assert_int_equal(lib_content_hash(l, h0), LIB_OK);
    assert_int_equal(strlen(h0), 64);
    int64_t id = add_json(l, FLOW);
    assert_int_equal(lib_content_hash(l, h1), LIB_OK);
    assert_string_not_equal(h0, h1);
    /* statistics are not content */
    assert_int_equal(lib_record_stat(l, id, "p1", "text", LIB_STAT_POSITIVE), LIB_OK);
    assert_int_equal(lib_content_hash(l, h2), LIB_OK);
    assert_string_equal(h1, h2);
    assert_int_equal(lib_replace_condition(l, id, "Applies when goods move.", NULL), LIB_OK);
    assert_int_equal(lib_content_hash(l, h3), LIB_OK);
    assert_string_not_equal(h2, h3);
    lib_close(l);
}

/* ---- outcomes ---------------------------------------------------------------------- */

static void test_stats_idempotent_latest_wins(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, FLOW);
    assert_int_equal(lib_record_stat(l, id, "p1", "first text", LIB_STAT_POSITIVE), LIB_OK);
    assert_int_equal(lib_record_stat(l, id, "p1", NULL, LIB_STAT_POSITIVE), LIB_OK);
    assert_int_equal(lib_record_stat(l, id, "p2", "other", LIB_STAT_NEGATIVE), LIB_OK);
    lib_insight g;
    assert_int_equal(lib_get(l, id, &g), LIB_OK);
    assert_int_equal(g.stats[LIB_STAT_POSITIVE].n, 1);
    assert_int_equal(g.stats[LIB_STAT_NEGATIVE].n, 1);
    lib_insight_clear(&g);
    /* a later outcome for p1 replaces the earlier one */
    assert_int_equal(lib_record_stat(l, id, "p1", NULL, LIB_STAT_NEGATIVE), LIB_OK);
    assert_int_equal(lib_get(l, id, &g), LIB_OK);
    assert_int_equal(g.stats[LIB_STAT_POSITIVE].n, 0);
    assert_int_equal(g.stats[LIB_STAT_NEGATIVE].n, 2);
    lib_insight_clear(&g);
    char *t;
    assert_int_equal(lib_problem_text(l, "p1", &t), LIB_OK);
    assert_string_equal(t, "first text");   /* NULL kept the stored text */
    free(t);
    assert_int_equal(lib_record_stat(l, id + 100, "p1", NULL, LIB_STAT_POSITIVE), LIB_ENOTFOUND);
    assert_int_equal(lib_record_stat(l, id, "p1", NULL, LIB_STAT_IRRELEVANT), LIB_EARG);
    lib_close(l);
}

/* ---- reflect replies ----------------------------------------------------------------- */

static void test_candidates_good(void **state)
{
    (void)state;
    const char *r = "{\"insights\": [" FLOW ", {\"taxonomy\": \"General Formulation > "
                    "Proportions > Percentages as fractions\", \"condition\": \"Applies when "
                    "a percent is given.\", \"explanation\": \"When ..., the best practice is "
                    "a fraction.\", \"example\": \"Wrong: 20. Right: 0.2\", \"title\": \"x\"}]}";
    lib_insight *v;
    size_t n;
    char err[512];
    assert_int_equal(lib_candidates_from_json(r, strlen(r), &v, &n, err, sizeof err), LIB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(err, "");
    assert_int_equal(v[1].ntaxonomy, 3);
    assert_string_equal(v[1].taxonomy[1], "Proportions");
    assert_string_equal(v[1].taxonomy[2], "Percentages as fractions");
    assert_int_equal(v[0].id, 0);
    lib_insights_free(v, n);
}

static void test_candidates_missing_field_skips_one(void **state)
{
    (void)state;
    const char *r = "{\"insights\": [{\"taxonomy\": [\"Bounds\"], \"explanation\": \"e\","
                    " \"example\": \"x\"}, " PERCENT "]}";
    lib_insight *v;
    size_t n;
    char err[512];
    assert_int_equal(lib_candidates_from_json(r, strlen(r), &v, &n, err, sizeof err), LIB_OK);
    assert_int_equal(n, 1);
    assert_non_null(strstr(err, "insights[0]: condition: missing"));
    assert_string_equal(v[0].taxonomy[1], "Proportions");
    lib_insights_free(v, n);
}

static void test_candidates_malformed(void **state)
{
    (void)state;
    lib_insight *v;
    size_t n;
    char err[512];
    const char *bad[] = {"not json", "[1, 2]", "{\"insights\": 3}", "{\"insights\": []}",
                         "{\"insights\": [{\"taxonomy\": [], \"condition\": \"c\","
                         " \"explanation\": \"e\", \"example\": \"x\"}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lib_candidates_from_json(bad[i], strlen(bad[i]), &v, &n, err,
                                                  sizeof err), LIB_EINVALID);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_true(err[0] != '\0');
    }
}

static void test_candidates_oversize_named(void **state)
{
    (void)state;
    size_t big = 50 * 1024;
    char *r = malloc(big + 512);
    int k = sprintf(r, "{\"insights\": [{\"taxonomy\": [\"Bounds\"], \"condition\": \"c\","
                       " \"example\": \"x\", \"explanation\": \"");
    memset(r + k, 'a', big);
    strcpy(r + k + big, "\"}]}");
    lib_insight *v;
    size_t n;
    char err[512];
    assert_int_equal(lib_candidates_from_json(r, strlen(r), &v, &n, err, sizeof err),
                     LIB_ETOOBIG);
    assert_non_null(strstr(err, "explanation"));
    free(r);
    /* more than 3 valid: the first 3 are kept */
    const char *four = "{\"insights\": [" PERCENT "," FLOW "," PERCENT "," FLOW "]}";
    assert_int_equal(lib_candidates_from_json(four, strlen(four), &v, &n, err, sizeof err),
                     LIB_OK);
    assert_int_equal(n, 3);
    assert_non_null(strstr(err, "insights[3]"));
    lib_insights_free(v, n);
}

/* ---- verified candidates ---------------------------------------------------------------- */

static void test_add_verified_merges_duplicate(void **state)
{
    (void)state;
    lib *l = fresh();
    lib_insight a, b, c;
    parse(FLOW, &a);
    parse(FLOW_AGAIN, &b);
    parse(PERCENT, &c);
    double sim = 0;
    assert_int_equal(lib_similarity(l, &a, &b, &sim), LIB_OK);
    assert_true(sim >= LIB_DUP_SAME_LEAF);
    int64_t id1, id2, id3;
    int merged;
    assert_int_equal(lib_add_verified(l, &a, "p1", NET_PROBLEM, &id1, &merged), LIB_OK);
    assert_int_equal(merged, 0);
    assert_int_equal(lib_add_verified(l, &b, "p2", "Another network of depots.", &id2, &merged),
                     LIB_OK);
    assert_int_equal(merged, 1);
    assert_int_equal(id2, id1);
    assert_int_equal(lib_add_verified(l, &c, "p3", "Blend with 20% wheat.", &id3, &merged),
                     LIB_OK);
    assert_int_equal(merged, 0);
    assert_true(id3 != id1);
    assert_int_equal(count(l), 2);
    lib_insight g;
    assert_int_equal(lib_get(l, id1, &g), LIB_OK);
    assert_string_equal(g.condition, a.condition);   /* the stored text is kept */
    assert_int_equal(g.nproblems, 2);
    assert_string_equal(g.src_problem, "p1");
    assert_int_equal(g.stats[LIB_STAT_POSITIVE].n, 1);
    assert_string_equal(g.stats[LIB_STAT_UNRETRIEVED].ids[0], "p2");
    lib_insight_clear(&g);
    lib_insight_clear(&a);
    lib_insight_clear(&b);
    lib_insight_clear(&c);
    lib_close(l);
}

static void test_add_verified_four_processes_store_once(void **state)
{
    (void)state;
    const char *path = tmp_path("shared.db");
    lib *l = lib_open(path, 0, NULL, NULL, 0);
    assert_non_null(l);
    lib_close(l);
    enum { PROCS = 4 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            lib *m = lib_open(path, 0, NULL, NULL, 0);
            int bad = !m;
            cJSON *j = cJSON_Parse(FLOW);
            lib_insight in;
            char err[256], pid[32], text[128];
            snprintf(pid, sizeof pid, "p%d", p);
            snprintf(text, sizeof text, "Network problem number %d with transshipment.", p);
            bad |= lib_insight_from_json(j, &in, err, sizeof err) != LIB_OK;
            int64_t id;
            int merged;
            bad |= !m || lib_add_verified(m, &in, pid, text, &id, &merged) != LIB_OK;
            lib_insight_clear(&in);
            cJSON_Delete(j);
            lib_close(m);
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    l = lib_open(path, 0, NULL, NULL, 0);
    lib_insight *v;
    size_t n;
    assert_int_equal(lib_list(l, &v, &n), LIB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].nproblems, PROCS);
    assert_int_equal(v[0].stats[LIB_STAT_POSITIVE].n + v[0].stats[LIB_STAT_UNRETRIEVED].n, PROCS);
    lib_insights_free(v, n);
    lib_close(l);
}

/* ---- refinement ---------------------------------------------------------------------- */

#define BROAD                                                                          \
    "{\"taxonomy\": [\"Domain Modeling\", \"Network Flow\"], \"condition\": \"Applies "\
    "when goods move through transshipment nodes of a network, or when nutrients are "\
    "blended in a diet.\", \"explanation\": \"Balance what enters and leaves.\","      \
    " \"example\": \"in = out\"}"
#define NARROW                                                                         \
    "Applies when goods move through transshipment nodes of a network. Does NOT "     \
    "apply when nutrients are blended in a diet."

static void test_refine_score_prefers_condition_that_fits(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, BROAD);
    add_json(l, PERCENT);
    assert_int_equal(lib_record_stat(l, id, "net", NET_PROBLEM, LIB_STAT_POSITIVE), LIB_OK);
    assert_int_equal(lib_record_stat(l, id, "diet", DIET_PROBLEM, LIB_STAT_NEGATIVE), LIB_OK);
    assert_int_equal(lib_record_stat(l, id, "none", NULL, LIB_STAT_UNRETRIEVED), LIB_OK);
    char h0[65], h1[65];
    assert_int_equal(lib_content_hash(l, h0), LIB_OK);
    lib_refine_score_t cur, nar;
    assert_int_equal(lib_refine_score(l, id, NULL, &cur), LIB_OK);
    assert_int_equal(cur.positive, 1);
    assert_int_equal(cur.positive_kept, 1);
    assert_int_equal(cur.negative, 1);
    assert_int_equal(cur.negative_avoided, 0);
    assert_int_equal(cur.no_text, 1);
    assert_int_equal(lib_refine_score(l, id, NARROW, &nar), LIB_OK);
    assert_int_equal(nar.positive_kept, 1);
    assert_int_equal(nar.negative_avoided, 1);
    assert_true(nar.score > cur.score);
    /* nothing was written */
    assert_int_equal(lib_content_hash(l, h1), LIB_OK);
    assert_string_equal(h0, h1);
    lib_refine_score_t again;
    assert_int_equal(lib_refine_score(l, id, NULL, &again), LIB_OK);
    assert_true(again.score == cur.score);
    lib_close(l);
}

static void test_replace_condition_keeps_history(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, BROAD);
    assert_int_equal(lib_record_stat(l, id, "diet", DIET_PROBLEM, LIB_STAT_NEGATIVE), LIB_OK);
    int64_t ver = 0;
    assert_int_equal(lib_replace_condition(l, id, NARROW, &ver), LIB_OK);
    assert_int_equal(ver, 2);
    lib_insight g, *h;
    size_t n;
    assert_int_equal(lib_get(l, id, &g), LIB_OK);
    assert_string_equal(g.condition, NARROW);
    assert_int_equal(g.stats[LIB_STAT_NEGATIVE].n, 1);
    lib_insight_clear(&g);
    assert_int_equal(lib_history(l, id, &h, &n), LIB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].version, 1);
    assert_non_null(strstr(h[0].condition, "or when nutrients"));
    lib_insights_free(h, n);
    assert_int_equal(lib_replace_condition(l, id + 50, NARROW, NULL), LIB_ENOTFOUND);
    assert_int_equal(lib_replace_condition(l, id, "", NULL), LIB_EINVALID);
    lib_close(l);
}

static void test_refine_candidates_listed(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t a = add_json(l, FLOW), b = add_json(l, PERCENT), c = add_json(l, BROAD);
    assert_int_equal(lib_record_stat(l, a, "p1", NULL, LIB_STAT_POSITIVE), LIB_OK);
    assert_int_equal(lib_record_stat(l, b, "p2", NULL, LIB_STAT_UNRETRIEVED), LIB_OK);
    assert_int_equal(lib_record_stat(l, c, "p3", NULL, LIB_STAT_NEGATIVE), LIB_OK);
    int64_t *ids;
    size_t n;
    assert_int_equal(lib_refine_candidates(l, &ids, &n), LIB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], b);
    assert_int_equal(ids[1], c);
    free(ids);
    lib_close(l);
}

static void test_taxonomy_paths_listed(void **state)
{
    (void)state;
    lib *l = fresh();
    add_json(l, "{\"taxonomy\": [\"Solver and Format\", \"Brand New Label\"],"
                " \"condition\": \"c\", \"explanation\": \"e\", \"example\": \"x\"}");
    char *t;
    assert_int_equal(lib_taxonomy_paths(l, &t), LIB_OK);
    assert_non_null(strstr(t, "General Formulation > Proportions > Percentages as fractions\n"));
    assert_non_null(strstr(t, "Solver and Format > Brand New Label\n"));
    assert_true(strstr(t, "Domain Modeling\n") < strstr(t, "Domain Modeling > Network Flow\n"));
    free(t);
    lib_close(l);
}

static int setup(void **state)
{
    (void)state;
    tmpdir = ts_mkdtemp();
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(tmpdir);
    free(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_block_verbatim),
        cmocka_unit_test(test_prompt_block_empty),
        cmocka_unit_test(test_hits_give_id_at_version),
        cmocka_unit_test(test_hash_stable_and_changes_on_edit),
        cmocka_unit_test(test_stats_idempotent_latest_wins),
        cmocka_unit_test(test_candidates_good),
        cmocka_unit_test(test_candidates_missing_field_skips_one),
        cmocka_unit_test(test_candidates_malformed),
        cmocka_unit_test(test_candidates_oversize_named),
        cmocka_unit_test(test_add_verified_merges_duplicate),
        cmocka_unit_test(test_add_verified_four_processes_store_once),
        cmocka_unit_test(test_refine_score_prefers_condition_that_fits),
        cmocka_unit_test(test_replace_condition_keeps_history),
        cmocka_unit_test(test_refine_candidates_listed),
        cmocka_unit_test(test_taxonomy_paths_listed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
