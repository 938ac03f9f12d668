/* The experience library (library/): storage, history, import/export of both
 * formats, bad input, schema and file safety, retrieval and hostile queries,
 * several writing processes. One concern per test. AlphaOPT's published
 * library.json is used when ../shared/alphaopt-library is there
 * ($OPTAGENT_SHARED overrides), skipped otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "library/library.h"
#include "tests/support.h"

static char *tmpdir;
static int counter;

static char *tmp_path(const char *name)
{
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%d-%s", tmpdir, ++counter, name);
    return p[k];
}

static lib *fresh(void)
{
    lib_code c;
    char err[512];
    lib *l = lib_open(tmp_path("lib.db"), 0, &c, err, sizeof err);
    if (!l) print_error("%s\n", err);
    assert_non_null(l);
    return l;
}

/* Adds the insight in json; returns its id. */
static int64_t add_json(lib *l, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    lib_insight in;
    char err[512];
    lib_code c = lib_insight_from_json(j, &in, err, sizeof err);
    cJSON_Delete(j);
    if (c) print_error("%s\n", err);
    assert_int_equal(c, LIB_OK);
    assert_int_equal(lib_add(l, &in), LIB_OK);
    int64_t id = in.id;
    lib_insight_clear(&in);
    return id;
}

/* lib_insight_from_json's code and message for json. */
static lib_code parse_err(const char *json, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    lib_insight in;
    lib_code c = lib_insight_from_json(j, &in, err, errlen);
    cJSON_Delete(j);
    lib_insight_clear(&in);
    return c;
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
    "balance per node.\", \"example\": \"Right: inflow - outflow = demand\"}"

#define PERCENT                                                                       \
    "{\"taxonomy\": [\"General Formulation\", \"Proportions\"],"                      \
    " \"condition\": \"Applies when a share is limited to a percent of the total "    \
    "output.\", \"explanation\": \"Write the share as a fraction of the sum.\","      \
    " \"example\": \"x <= 0.2*sum x\"}"

/* ---- storage ------------------------------------------------------------------ */

static void test_open_creates_private_parents(void **state)
{
    (void)state;
    char path[1100], dir[1024];
    snprintf(dir, sizeof dir, "%s/xdg/optagent", tmpdir);
    snprintf(path, sizeof path, "%s/library.db", dir);
    lib_code c;
    lib *l = lib_open(path, 0, &c, NULL, 0);
    assert_non_null(l);
    lib_close(l);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
}

static void test_default_path_uses_xdg(void **state)
{
    (void)state;
    char buf[512];
    setenv("XDG_DATA_HOME", "/data/me", 1);
    assert_int_equal(lib_default_path(buf, sizeof buf), 0);
    assert_string_equal(buf, "/data/me/optagent/library.db");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/me", 1);
    assert_int_equal(lib_default_path(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/me/.local/share/optagent/library.db");
}

static void test_add_get_keeps_every_field(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l,
        "{\"taxonomy\": [\"A\", \"B\", \"C\", \"D\"], \"condition\": \"Applies when x.\","
        " \"explanation\": \"e\", \"example\": \"ex\", \"source\": {\"problem\": \"p1\","
        " \"dataset\": \"nl4opt\", \"run\": \"r\", \"model\": \"m\"},"
        " \"stats\": {\"positive\": [\"p2\", \"p1\"], \"negative\": [\"p9\"],"
        " \"unretrieved\": []}, \"problems\": [{\"id\": \"p1\", \"text\": \"some problem\"}]}");
    lib_insight in;
    assert_int_equal(lib_get(l, id, &in), LIB_OK);
    assert_int_equal(in.ntaxonomy, 4);
    assert_string_equal(in.taxonomy[3], "D");
    assert_string_equal(in.src_dataset, "nl4opt");
    assert_int_equal(in.version, 1);
    assert_int_equal(in.stats[LIB_STAT_POSITIVE].n, 2);
    assert_string_equal(in.stats[LIB_STAT_POSITIVE].ids[0], "p2");   /* order kept */
    assert_int_equal(in.nproblems, 1);
    assert_string_equal(in.problems[0].text, "some problem");
    assert_non_null(in.created_at);
    lib_insight_clear(&in);
    lib_close(l);
}

static void test_taxonomy_tree_shipped_and_grown(void **state)
{
    (void)state;
    lib *l = fresh();
    cJSON *s;
    assert_int_equal(lib_stats(l, &s), LIB_OK);
    int before = cJSON_GetObjectItem(s, "taxonomy_labels")->valueint;
    cJSON_Delete(s);
    assert_true(before >= 3 + 15);
    add_json(l, FLOW);   /* shipped labels: nothing new */
    add_json(l, "{\"taxonomy\": [\"Solver and Format\", \"Brand New Label\"], \"condition\":"
                " \"c\", \"explanation\": \"e\", \"example\": \"\"}");
    assert_int_equal(lib_stats(l, &s), LIB_OK);
    assert_int_equal(cJSON_GetObjectItem(s, "taxonomy_labels")->valueint, before + 1);
    cJSON_Delete(s);
    lib_close(l);
}

/* ---- bad insights ------------------------------------------------------------------ */

static void test_missing_field_named(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(parse_err("{\"taxonomy\": [\"A\"], \"explanation\": \"e\", \"example\": \"\"}",
                               err, sizeof err), LIB_EINVALID);
    assert_non_null(strstr(err, "condition"));
    assert_int_equal(parse_err("{\"condition\": \"c\", \"explanation\": \"e\", \"example\": \"\"}",
                               err, sizeof err), LIB_EINVALID);
    assert_non_null(strstr(err, "taxonomy"));
}

static void test_oversized_field_refused(void **state)
{
    (void)state;
    size_t n = 50 * 1024;
    char *big = malloc(n + 256);
    assert_non_null(big);
    int k = snprintf(big, 256, "{\"taxonomy\": [\"A\"], \"condition\": \"c\", \"example\": \"\","
                               " \"explanation\": \"");
    memset(big + k, 'x', n);
    strcpy(big + k + n, "\"}");
    char err[512];
    assert_int_equal(parse_err(big, err, sizeof err), LIB_ETOOBIG);
    assert_non_null(strstr(err, "explanation"));
    assert_non_null(strstr(err, "16384"));
    free(big);
}

static void test_taxonomy_depth_limits(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(parse_err("{\"taxonomy\": [\"A\",\"B\",\"C\",\"D\",\"E\"], \"condition\": \"c\","
                               " \"explanation\": \"e\", \"example\": \"\"}", err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "taxonomy"));
    assert_int_equal(parse_err("{\"taxonomy\": [], \"condition\": \"c\", \"explanation\": \"e\","
                               " \"example\": \"\"}", err, sizeof err), LIB_EINVALID);
    assert_int_equal(parse_err("{\"taxonomy\": [\"A\", \"\"], \"condition\": \"c\","
                               " \"explanation\": \"e\", \"example\": \"\"}", err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "taxonomy[1]"));
}

static void test_unknown_field_refused(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(parse_err("{\"taxonomy\": [\"A\"], \"condition\": \"c\", \"explanaton\": \"e\","
                               " \"explanation\": \"e\", \"example\": \"\"}", err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "explanaton"));
    assert_int_equal(parse_err("{\"taxonomy\": [\"A\"], \"condition\": \"c\", \"explanation\": \"e\","
                               " \"example\": \"\", \"stats\": {\"good\": []}}", err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "stats.good"));
}

/* ---- edit, history, remove ----------------------------------------------------------- */

static void test_edit_keeps_old_version(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, FLOW);
    cJSON *f = cJSON_Parse("{\"condition\": \"Applies when pipes carry oil.\"}");
    lib_insight out;
    assert_int_equal(lib_edit(l, id, f, &out), LIB_OK);
    cJSON_Delete(f);
    assert_int_equal(out.version, 2);
    assert_string_equal(out.condition, "Applies when pipes carry oil.");
    lib_insight_clear(&out);
    f = cJSON_Parse("{\"example\": \"third\"}");
    assert_int_equal(lib_edit(l, id, f, &out), LIB_OK);   /* and again */
    cJSON_Delete(f);
    assert_int_equal(out.version, 3);
    assert_string_equal(out.taxonomy[1], "Network Flow");   /* untouched fields kept */
    lib_insight_clear(&out);
    lib_insight *h;
    size_t n;
    assert_int_equal(lib_history(l, id, &h, &n), LIB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].version, 1);
    assert_int_equal(h[1].version, 2);
    assert_non_null(strstr(h[0].condition, "transshipment"));
    lib_insights_free(h, n);
    lib_close(l);
}

static void test_edit_refuses_bad_fields(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, FLOW);
    cJSON *f = cJSON_Parse("{\"version\": 7}");
    assert_int_equal(lib_edit(l, id, f, NULL), LIB_EINVALID);
    cJSON_Delete(f);
    f = cJSON_Parse("{\"taxonomy\": \"flat\"}");
    assert_int_equal(lib_edit(l, id, f, NULL), LIB_EINVALID);
    cJSON_Delete(f);
    lib_insight in;
    assert_int_equal(lib_get(l, id, &in), LIB_OK);
    assert_int_equal(in.version, 1);   /* nothing half-written */
    lib_insight_clear(&in);
    f = cJSON_Parse("{\"condition\": \"x\"}");
    assert_int_equal(lib_edit(l, id + 100, f, NULL), LIB_ENOTFOUND);
    cJSON_Delete(f);
    lib_close(l);
}

static void test_rm_keeps_history_never_reuses_id(void **state)
{
    (void)state;
    lib *l = fresh();
    add_json(l, PERCENT);
    int64_t id = add_json(l, FLOW);
    assert_int_equal(lib_remove(l, id), LIB_OK);
    lib_insight in;
    assert_int_equal(lib_get(l, id, &in), LIB_ENOTFOUND);
    assert_int_equal(lib_remove(l, id), LIB_ENOTFOUND);
    lib_insight *h;
    size_t n;
    assert_int_equal(lib_history(l, id, &h, &n), LIB_OK);
    assert_int_equal(n, 1);
    lib_insights_free(h, n);
    int64_t next = add_json(l, FLOW);
    assert_true(next > id);
    lib_close(l);
}

/* ---- import / export ---------------------------------------------------------------- */

static char *export_text(lib *l)
{
    cJSON *a;
    assert_int_equal(lib_export(l, &a), LIB_OK);
    char *s = cJSON_Print(a);
    cJSON_Delete(a);
    assert_non_null(s);
    return s;
}

static void test_export_import_round_trip(void **state)
{
    (void)state;
    lib *l = fresh();
    add_json(l, FLOW);
    int64_t id = add_json(l, PERCENT);
    cJSON *f = cJSON_Parse("{\"stats\": {\"positive\": [\"b\", \"a\"], \"irrelevant\": [\"z\"]},"
                           " \"problems\": [{\"id\": \"q\", \"text\": \"At most 20% ...\"}],"
                           " \"extra\": {\"note\": [1, 2]}}");
    assert_int_equal(lib_edit(l, id, f, NULL), LIB_OK);
    cJSON_Delete(f);
    char *one = export_text(l);
    lib *m = fresh();
    lib_import_stats s;
    char err[512];
    assert_int_equal(lib_import_text(m, one, strlen(one), "export", &s, err, sizeof err), LIB_OK);
    assert_int_equal(s.added, 2);
    char *two = export_text(m);
    assert_string_equal(one, two);
    /* importing it again changes nothing */
    assert_int_equal(lib_import_text(m, one, strlen(one), "export", &s, err, sizeof err), LIB_OK);
    assert_int_equal(s.unchanged, 2);
    assert_int_equal(count(m), 2);
    free(one);
    free(two);
    lib_close(l);
    lib_close(m);
}

static void test_import_bad_record_named_nothing_written(void **state)
{
    (void)state;
    lib *l = fresh();
    const char *text = "[" FLOW ",\n" PERCENT ",\n {\"taxonomy\": [\"A\"], \"condition\": 5,"
                       " \"explanation\": \"e\", \"example\": \"\"}]";
    char err[512];
    lib_import_stats s;
    assert_int_equal(lib_import_text(l, text, strlen(text), "bad.json", &s, err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "bad.json"));
    assert_non_null(strstr(err, "record 3"));
    assert_non_null(strstr(err, "condition"));
    assert_int_equal(count(l), 0);
    lib_close(l);
}

static void test_import_invalid_json_names_line(void **state)
{
    (void)state;
    lib *l = fresh();
    const char *text = "[\n" FLOW ",\n{\"taxonomy\": [\"A\"] \"condition\": \"c\"}]";
    char err[512];
    assert_int_equal(lib_import_text(l, text, strlen(text), "broken.json", NULL, err, sizeof err),
                     LIB_EINVALID);
    assert_non_null(strstr(err, "broken.json: line 3"));
    assert_int_equal(count(l), 0);
    lib_close(l);
}

static void test_import_alphaopt_fixture(void **state)
{
    (void)state;
    lib *l = fresh();
    char err[512];
    lib_import_stats s;
    assert_int_equal(lib_import_file(l, ts_library_data("alphaopt_sample.json"), &s, err, sizeof err),
                     LIB_OK);
    assert_int_equal(s.added, 3);
    lib_insight in;
    assert_int_equal(lib_get(l, 7, &in), LIB_OK);
    assert_int_equal(in.ntaxonomy, 3);
    assert_string_equal(in.taxonomy[2], "Flow Conservation");
    assert_int_equal(in.stats[LIB_STAT_IRRELEVANT].n, 2);
    assert_string_equal(in.stats[LIB_STAT_INVALID].ids[0], "B080");
    assert_non_null(strstr(in.extra, "\"iteration\":2"));
    lib_insight_clear(&in);
    assert_int_equal(lib_get(l, 12, &in), LIB_OK);
    assert_int_equal(in.version, 2);
    assert_non_null(strstr(in.extra, "F022"));   /* a task_id list kept */
    lib_insight_clear(&in);
    assert_int_equal(lib_get(l, 30, &in), LIB_OK);
    assert_int_equal(in.ntaxonomy, 2);           /* no sub-label */
    lib_insight_clear(&in);
    lib_close(l);
}

static void test_import_alphaopt_published(void **state)
{
    (void)state;
    const char *path = ts_alphaopt_library();
    if (!path) skip();
    lib *l = fresh();
    char err[512];
    lib_import_stats s;
    assert_int_equal(lib_import_file(l, path, &s, err, sizeof err), LIB_OK);
    assert_int_equal(s.records, 139);
    assert_int_equal(count(l), 139);
    /* every statistic kept: compare with the file itself */
    size_t len;
    char *text = ts_read_file(path, &len);
    cJSON *src = cJSON_Parse(text);
    free(text);
    assert_non_null(src);
    const cJSON *e;
    cJSON_ArrayForEach(e, src) {
        lib_insight in;
        int64_t id = (int64_t)cJSON_GetObjectItem(e, "insight_id")->valuedouble;
        assert_int_equal(lib_get(l, id, &in), LIB_OK);
        const cJSON *d = cJSON_GetObjectItem(e, "distribution");
        for (int k = 0; k < LIB_NSTATS; k++) {
            const cJSON *a = cJSON_GetObjectItem(d, lib_stat_name((lib_stat_kind)k));
            assert_int_equal((size_t)cJSON_GetArraySize(a), in.stats[k].n);
        }
        assert_string_equal(in.condition, cJSON_GetObjectItem(e, "condition")->valuestring);
        const cJSON *tax = cJSON_GetObjectItem(e, "taxonomy");
        assert_string_equal(in.taxonomy[0], tax->child->string);
        lib_insight_clear(&in);
    }
    cJSON_Delete(src);
    /* and its export round-trips */
    char *one = export_text(l);
    lib *m = fresh();
    assert_int_equal(lib_import_text(m, one, strlen(one), "x", &s, err, sizeof err), LIB_OK);
    char *two = export_text(m);
    assert_string_equal(one, two);
    free(one);
    free(two);
    lib_close(m);
    lib_close(l);
}

/* ---- file safety ---------------------------------------------------------------------- */

static void test_newer_schema_refused(void **state)
{
    (void)state;
    const char *path = tmp_path("newer.db");
    lib *l = lib_open(path, 0, NULL, NULL, 0);
    assert_non_null(l);
    lib_close(l);
    sqlite3 *sq;
    assert_int_equal(sqlite3_open(path, &sq), SQLITE_OK);
    assert_int_equal(sqlite3_exec(sq, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(sq);
    lib_code c;
    char err[512];
    assert_null(lib_open(path, 0, &c, err, sizeof err));
    assert_int_equal(c, LIB_ESCHEMA);
    assert_non_null(strstr(err, "newer"));
}

static void test_corrupt_file_refused_untouched(void **state)
{
    (void)state;
    const char *path = tmp_path("corrupt.db");
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7 + 3);
    assert_int_equal(ts_write_file(path, junk, sizeof junk), 0);
    lib_code c;
    char err[512];
    assert_null(lib_open(path, 0, &c, err, sizeof err));
    assert_int_equal(c, LIB_ECORRUPT);
    assert_non_null(strstr(err, path));
    size_t len;
    char *after = ts_read_file(path, &len);
    assert_int_equal(len, sizeof junk);
    assert_memory_equal(after, junk, sizeof junk);
    free(after);
}

static void test_foreign_database_refused(void **state)
{
    (void)state;
    const char *path = tmp_path("other.db");
    sqlite3 *sq;
    assert_int_equal(sqlite3_open(path, &sq), SQLITE_OK);
    assert_int_equal(sqlite3_exec(sq, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(sq);
    lib_code c;
    char err[512];
    assert_null(lib_open(path, 0, &c, err, sizeof err));
    assert_int_equal(c, LIB_ESCHEMA);
    assert_non_null(strstr(err, "not an optagent library"));
}

static void test_readonly_reads_work_writes_refused(void **state)
{
    (void)state;
    const char *path = tmp_path("ro.db");
    lib *l = lib_open(path, 0, NULL, NULL, 0);
    assert_non_null(l);
    int64_t id = add_json(l, FLOW);
    lib_close(l);
    lib_code c;
    char err[512];
    l = lib_open(path, LIB_OPEN_READONLY, &c, err, sizeof err);
    if (!l) print_error("%s\n", err);
    assert_non_null(l);
    assert_true(lib_readonly(l));
    lib_insight in;
    assert_int_equal(lib_get(l, id, &in), LIB_OK);
    lib_insight_clear(&in);
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "goods through transshipment nodes", 0, &h, &n), LIB_OK);
    lib_hits_free(h, n);
    assert_int_equal(lib_remove(l, id), LIB_EREADONLY);
    lib_errmsg(l, err, sizeof err);
    assert_non_null(strstr(err, "read-only"));
    lib_close(l);
    /* the same through the file's permissions (not when root: root writes anyway) */
    if (geteuid() != 0) {
        assert_int_equal(chmod(path, 0444), 0);
        l = lib_open(path, 0, &c, err, sizeof err);
        assert_non_null(l);
        assert_int_equal(lib_remove(l, id), LIB_EREADONLY);
        lib_close(l);
        chmod(path, 0644);
    }
}

/* ---- retrieval ------------------------------------------------------------------------ */

static lib *small_library(void)
{
    lib *l = fresh();
    add_json(l, FLOW);
    add_json(l, PERCENT);
    add_json(l, "{\"taxonomy\": [\"General Formulation\", \"Integrality\"], \"condition\":"
                " \"Applies when variables count trucks, workers or machines. Does NOT apply"
                " when quantities are liters.\", \"explanation\": \"Declare counts integer.\","
                " \"example\": \"\"}");
    return l;
}

static void test_search_finds_applicable(void **state)
{
    (void)state;
    lib *l = small_library();
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "Oil moves from fields through intermediate pumping nodes "
                                   "of a pipeline network to a refinery.", 0, &h, &n), LIB_OK);
    assert_true(n >= 1);
    assert_string_equal(h[0].insight.taxonomy[1], "Network Flow");
    assert_true(h[0].applies > 0);
    assert_non_null(strstr(h[0].matched, "nodes"));
    lib_hits_free(h, n);
    lib_close(l);
}

static void test_one_insight_library_matches_until_removed(void **state)
{
    (void)state;
    lib *l = fresh();
    int64_t id = add_json(l, FLOW);
    const char *q = "Goods move through intermediate transshipment nodes of a network.";
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, q, 0, &h, &n), LIB_OK);
    assert_int_equal(n, 1);   /* BM25's idf stays positive with one insight */
    lib_hits_free(h, n);
    cJSON *f = cJSON_Parse("{\"condition\": \"Applies when pipes carry oil.\","
                           " \"explanation\": \"Limit each pipe.\"}");
    assert_int_equal(lib_edit(l, id, f, NULL), LIB_OK);
    cJSON_Delete(f);
    assert_int_equal(lib_search(l, q, 0, &h, &n), LIB_OK);
    assert_int_equal(n, 0);   /* the old words left the index */
    assert_int_equal(lib_search(l, "Oil pipes carry crude to the refinery network", 0, &h, &n),
                     LIB_OK);
    assert_int_equal(n, 1);
    lib_hits_free(h, n);
    assert_int_equal(lib_remove(l, id), LIB_OK);
    assert_int_equal(lib_search(l, "Oil pipes carry crude to the refinery network", 0, &h, &n),
                     LIB_OK);
    assert_int_equal(n, 0);
    lib_close(l);
}

static void test_unrelated_text_retrieves_nothing(void **state)
{
    (void)state;
    lib *l = small_library();
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "Write a poem about the autumn moon over the sea.", 0, &h, &n),
                     LIB_OK);
    assert_int_equal(n, 0);
    assert_null(h);
    lib_close(l);
}

static void test_does_not_apply_counts_against(void **state)
{
    (void)state;
    lib *l = small_library();
    lib_hit *h;
    size_t n;
    /* words found only in FLOW's "Does NOT apply" part */
    assert_int_equal(lib_search(l, "Explain exchange rates and tax brackets involved.", 0, &h, &n),
                     LIB_OK);
    assert_int_equal(n, 0);
    /* the same words added to an applicable text lower its score */
    const char *base = "Goods move through intermediate transshipment nodes of a network.";
    assert_int_equal(lib_search(l, base, 0, &h, &n), LIB_OK);
    assert_true(n >= 1);
    double plain = h[0].score;
    lib_hits_free(h, n);
    assert_int_equal(lib_search(l, "Goods move through intermediate transshipment nodes of a "
                                   "network; exchange rates and tax brackets are involved.",
                                0, &h, &n), LIB_OK);
    assert_true(n == 0 || h[0].score < plain);
    if (n) assert_true(h[0].not_applies > 0);
    lib_hits_free(h, n);
    lib_close(l);
}

static void test_percent_sign_is_a_word(void **state)
{
    (void)state;
    lib *l = small_library();
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "No more than 20% of the output share.", 0, &h, &n), LIB_OK);
    assert_true(n >= 1);
    assert_string_equal(h[0].insight.taxonomy[1], "Proportions");
    assert_non_null(strstr(h[0].matched, "percent"));
    lib_hits_free(h, n);
    lib_close(l);
}

static void test_hostile_queries_are_safe(void **state)
{
    (void)state;
    lib *l = small_library();
    static const char *const q[] = {
        "\"", "\"unbalanced quote nodes", "NEAR(goods nodes, 2)", "applies: goods nodes",
        "{applies notapplies}: goods", "*", "nod*", "^goods", "goods AND OR NOT nodes",
        "(((", ")))", "- goods", "+", "''", "", "   ", "rowid = 1", "insight_fts MATCH 'x'",
        "\"goods\" NEAR/2 \"nodes\"", "a:b:c:d", "\\", "%%%", "$", "\xff\xfe", "nodes\xc3",
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        lib_hit *h;
        size_t n;
        lib_code c = lib_search(l, q[i], 0, &h, &n);
        if (c) {
            char err[512];
            lib_errmsg(l, err, sizeof err);
            print_error("query %zu: %s\n", i, err);
        }
        assert_int_equal(c, LIB_OK);
        lib_hits_free(h, n);
    }
    /* syntax in a real query is ignored, the words still count */
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "applies: \"goods\" NEAR(intermediate* ^transshipment) nodes "
                                   "network", 0, &h, &n), LIB_OK);
    assert_true(n >= 1);
    assert_string_equal(h[0].insight.taxonomy[1], "Network Flow");
    lib_hits_free(h, n);
    /* a very long query */
    char *big = malloc(200000);
    assert_non_null(big);
    for (size_t i = 0; i < 199999; i++) big[i] = "goods nodes \"NEAR( "[i % 19];
    big[199999] = '\0';
    assert_int_equal(lib_search(l, big, 0, &h, &n), LIB_OK);
    lib_hits_free(h, n);
    free(big);
    lib_close(l);
}

static void test_top_k_limits_hits(void **state)
{
    (void)state;
    lib *l = fresh();
    for (int i = 0; i < 12; i++) add_json(l, FLOW);
    for (int i = 0; i < 30; i++) add_json(l, PERCENT);   /* so that FLOW's words are rare */
    lib_hit *h;
    size_t n;
    const char *q = "Goods move through intermediate transshipment nodes of a network.";
    assert_int_equal(lib_search(l, q, 0, &h, &n), LIB_OK);
    assert_int_equal(n, LIB_DEFAULT_K);
    lib_hits_free(h, n);
    assert_int_equal(lib_search(l, q, 2, &h, &n), LIB_OK);
    assert_int_equal(n, 2);
    lib_hits_free(h, n);
    lib_close(l);
}

static void test_verified_insight_not_crowded_out(void **state)
{
    (void)state;
    lib *l = fresh();
    /* many imported insights that share words with the query ... */
    for (int i = 0; i < 30; i++)
        add_json(l, "{\"taxonomy\": [\"Domain Modeling\", \"Scheduling\"], \"condition\":"
                    " \"Applies when nurses work shifts in a hospital and the schedule covers"
                    " every day.\", \"explanation\": \"Cover each period.\", \"example\": \"\"}");
    /* ... and one proven on a similar problem */
    int64_t proven = add_json(l,
        "{\"taxonomy\": [\"Domain Modeling\", \"Assignment\"], \"condition\": \"Applies when"
        " staffing must respect a ratio of staff to clients.\", \"explanation\": \"staff*k >="
        " clients\", \"example\": \"\", \"stats\": {\"positive\": [\"w1\", \"w2\"]},"
        " \"problems\": [{\"id\": \"w1\", \"text\": \"The hospital ward needs at least one nurse"
        " for every four patients each day.\"}]}");
    lib_hit *h;
    size_t n;
    assert_int_equal(lib_search(l, "A hospital needs at least one nurse for every five patients "
                                   "on each day of the week.", 0, &h, &n), LIB_OK);
    assert_true(n >= 1);
    assert_int_equal(h[0].insight.id, proven);
    assert_true(h[0].problems > 0);
    lib_hits_free(h, n);
    lib_close(l);
}

/* ---- several processes ------------------------------------------------------------------ */

static void test_concurrent_writers(void **state)
{
    (void)state;
    const char *path = tmp_path("shared.db");
    lib *l = lib_open(path, 0, NULL, NULL, 0);
    assert_non_null(l);
    lib_close(l);
    enum { PROCS = 4, EACH = 25 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            lib *m = lib_open(path, 0, NULL, NULL, 0);
            int bad = !m;
            for (int i = 0; m && i < EACH; i++) {
                cJSON *j = cJSON_Parse(FLOW);
                lib_insight in;
                char err[256];
                bad |= lib_insight_from_json(j, &in, err, sizeof err) != LIB_OK;
                bad |= lib_add(m, &in) != LIB_OK;
                lib_insight_clear(&in);
                cJSON_Delete(j);
            }
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
    assert_int_equal(count(l), PROCS * EACH);
    lib_close(l);
}

static void test_stats_counts_kinds(void **state)
{
    (void)state;
    lib *l = fresh();
    char err[512];
    assert_int_equal(lib_import_file(l, ts_library_data("alphaopt_sample.json"), NULL, err, sizeof err),
                     LIB_OK);
    cJSON *s;
    assert_int_equal(lib_stats(l, &s), LIB_OK);
    assert_int_equal(cJSON_GetObjectItem(s, "insights")->valueint, 3);
    const cJSON *st = cJSON_GetObjectItem(s, "stats");
    assert_int_equal(cJSON_GetObjectItem(st, "positive")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(st, "irrelevant")->valueint, 2);
    const cJSON *dm = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "by_taxonomy"), "Domain Modeling");
    assert_int_equal(cJSON_GetObjectItem(dm, "count")->valueint, 1);
    cJSON_Delete(s);
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
        cmocka_unit_test(test_open_creates_private_parents),
        cmocka_unit_test(test_default_path_uses_xdg),
        cmocka_unit_test(test_add_get_keeps_every_field),
        cmocka_unit_test(test_taxonomy_tree_shipped_and_grown),
        cmocka_unit_test(test_missing_field_named),
        cmocka_unit_test(test_oversized_field_refused),
        cmocka_unit_test(test_taxonomy_depth_limits),
        cmocka_unit_test(test_unknown_field_refused),
        cmocka_unit_test(test_edit_keeps_old_version),
        cmocka_unit_test(test_edit_refuses_bad_fields),
        cmocka_unit_test(test_rm_keeps_history_never_reuses_id),
        cmocka_unit_test(test_export_import_round_trip),
        cmocka_unit_test(test_import_bad_record_named_nothing_written),
        cmocka_unit_test(test_import_invalid_json_names_line),
        cmocka_unit_test(test_import_alphaopt_fixture),
        cmocka_unit_test(test_import_alphaopt_published),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_corrupt_file_refused_untouched),
        cmocka_unit_test(test_foreign_database_refused),
        cmocka_unit_test(test_readonly_reads_work_writes_refused),
        cmocka_unit_test(test_search_finds_applicable),
        cmocka_unit_test(test_one_insight_library_matches_until_removed),
        cmocka_unit_test(test_unrelated_text_retrieves_nothing),
        cmocka_unit_test(test_does_not_apply_counts_against),
        cmocka_unit_test(test_percent_sign_is_a_word),
        cmocka_unit_test(test_hostile_queries_are_safe),
        cmocka_unit_test(test_top_k_limits_hits),
        cmocka_unit_test(test_verified_insight_not_crowded_out),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_stats_counts_kinds),
    };
    return cmocka_run_group_tests_name("library", tests, setup, teardown);
}
