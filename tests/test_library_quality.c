/* Retrieval quality of the experience library on tests/data/library:
 * insights.json (62 insights in the project's format), queries.json (52
 * problem texts with the ids of the insights that apply, 22 texts to which
 * none applies, one of them matching only a "Does NOT apply" part).
 *
 *   recall@5          share of problems with at least one applicable insight
 *                     among the hits (at most 5)
 *   precision@5       applicable hits / all hits, over those problems
 *   false retrieval   share of the unrelated texts that retrieve anything
 *
 * The same again with AlphaOPT's 139 insights added, when ../shared has them
 * (they share many words with the problems but none is listed as applicable,
 * so recall must hold and nothing unrelated may come up). The numbers are
 * printed; the floors are recall@5 >= 0.8, precision@5 >= 0.4, false
 * retrieval <= 0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "library/library.h"
#include "tests/support.h"

static char *tmpdir;

static lib *load(const char *name, const char *extra)
{
    char path[1100], err[1024];
    snprintf(path, sizeof path, "%s/%s.db", tmpdir, name);
    lib_code c;
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    assert_non_null(l);
    c = lib_import_file(l, ts_library_data("insights.json"), NULL, err, sizeof err);
    if (c) print_error("%s\n", err);
    assert_int_equal(c, LIB_OK);
    if (extra) {
        c = lib_import_file(l, extra, NULL, err, sizeof err);
        if (c) print_error("%s\n", err);
        assert_int_equal(c, LIB_OK);
    }
    return l;
}

typedef struct { double recall, precision, false_rate; int npos, nneg; } metrics;

static metrics measure(lib *l)
{
    size_t len;
    char *text = ts_read_file(ts_library_data("queries.json"), &len);
    assert_non_null(text);
    cJSON *q = cJSON_Parse(text);
    free(text);
    assert_non_null(q);
    metrics m = {0};
    int found = 0, hits_total = 0, hits_relevant = 0, falses = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(q, "relevant")) {
        const char *t = cJSON_GetObjectItem(e, "text")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(e, "ids");
        lib_hit *h;
        size_t n;
        assert_int_equal(lib_search(l, t, 5, &h, &n), LIB_OK);
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            int rel = 0;
            const cJSON *id;
            cJSON_ArrayForEach(id, ids) rel |= (int64_t)id->valuedouble == h[i].insight.id;
            hits_relevant += rel;
            any |= rel;
        }
        if (!any) print_message("# missed: %.70s\n", t);
        found += any;
        hits_total += (int)n;
        m.npos++;
        lib_hits_free(h, n);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(q, "none")) {
        lib_hit *h;
        size_t n;
        assert_int_equal(lib_search(l, e->valuestring, 5, &h, &n), LIB_OK);
        if (n) print_message("# false retrieval: %.60s -> insight %lld (%.2f)\n", e->valuestring,
                             (long long)h[0].insight.id, h[0].score);
        falses += n > 0;
        m.nneg++;
        lib_hits_free(h, n);
    }
    cJSON_Delete(q);
    m.recall = m.npos ? (double)found / m.npos : 0;
    m.precision = hits_total ? (double)hits_relevant / hits_total : 0;
    m.false_rate = m.nneg ? (double)falses / m.nneg : 1;
    print_message("# recall@5 %.3f  precision@5 %.3f  false retrieval %.3f  (%d problems, %d "
                  "unrelated)\n", m.recall, m.precision, m.false_rate, m.npos, m.nneg);
    return m;
}

static void test_quality_set_sizes(void **state)
{
    (void)state;
    lib *l = load("sizes", NULL);
    lib_insight *v;
    size_t n;
    assert_int_equal(lib_list(l, &v, &n), LIB_OK);
    assert_true(n >= 60);
    lib_insights_free(v, n);
    metrics m = measure(l);
    assert_true(m.npos >= 40);
    assert_true(m.nneg >= 20);
    lib_close(l);
}

static void test_quality_own_library(void **state)
{
    (void)state;
    lib *l = load("own", NULL);
    metrics m = measure(l);
    assert_true(m.recall >= 0.8);
    assert_true(m.precision >= 0.4);
    assert_true(m.false_rate <= 0.1);
    lib_close(l);
}

static void test_quality_with_alphaopt(void **state)
{
    (void)state;
    const char *a = ts_alphaopt_library();
    if (!a) skip();
    lib *l = load("alphaopt", a);
    metrics m = measure(l);
    assert_true(m.recall >= 0.8);
    assert_true(m.precision >= 0.4);
    assert_true(m.false_rate <= 0.1);
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
        cmocka_unit_test(test_quality_set_sizes),
        cmocka_unit_test(test_quality_own_library),
        cmocka_unit_test(test_quality_with_alphaopt),
    };
    return cmocka_run_group_tests_name("library_quality", tests, setup, teardown);
}
