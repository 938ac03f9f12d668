/* tests/test_datasets — agent/eval/datasets.c: the five formats, gold kinds, ids,
 * format detection, every error naming file, line/record and field, the caps,
 * and (when present) the published benchmark files under ../shared/benchmarks
 * ($OPTAGENT_SHARED overrides; skipped when absent).
 *
 * tests/data/datasets holds small files written for these tests (new
 * problems, not copies of benchmark text): one per format and one per kind
 * of broken file. Other broken inputs are written to a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/eval/eval.h"
#include "tests/support.h"

static char g_data[4096];     /* tests/data/datasets */
static char g_shared[4096];   /* the benchmarks folder, or "" */

/* ---- helpers ------------------------------------------------------------------ */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void find_dirs(void)
{
    static const char *const prefixes[] = {"", "../", "../../"};
    const char *src = getenv("OPTAGENT_SRCDIR");
    char root[1024] = "";   /* well under g_data and g_shared: no truncation */
    g_data[0] = 0;
    if (src && *src) {
        if (snprintf(root, sizeof root, "%s/", src) >= (int)sizeof root) root[0] = 0;
        snprintf(g_data, sizeof g_data, "%stests/data/datasets", root);
    } else {
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
            snprintf(g_data, sizeof g_data, "%stests/data/datasets", prefixes[i]);
            if (is_dir(g_data)) {
                snprintf(root, sizeof root, "%s", prefixes[i]);
                break;
            }
            g_data[0] = 0;
        }
        if (!g_data[0]) snprintf(g_data, sizeof g_data, "tests/data/datasets");
    }
    g_shared[0] = 0;
    const char *sh = getenv("OPTAGENT_SHARED");
    char buf[4200];
    if (sh && *sh) {
        snprintf(buf, sizeof buf, "%s/benchmarks/README.md", sh);
        if (is_file(buf)) snprintf(g_shared, sizeof g_shared, "%s/benchmarks", sh);
        else {
            snprintf(buf, sizeof buf, "%s/alphaopt", sh);
            if (is_dir(buf)) snprintf(g_shared, sizeof g_shared, "%s", sh);
        }
        return;
    }
    snprintf(g_shared, sizeof g_shared, "%s../shared/benchmarks", root);
    if (!is_dir(g_shared)) g_shared[0] = 0;
}

static char *data_path(const char *name)
{
    char buf[4400];
    snprintf(buf, sizeof buf, "%s/%s", g_data, name);
    char *p = strdup(buf);
    assert_non_null(p);
    return p;
}

static ag_ds *load_ok_path(const char *path, ag_ds_format fmt)
{
    char err[1024];
    ag_ds *ds = ag_ds_load(path, fmt, err, sizeof err);
    if (!ds) {
        print_error("# loading %s: %s\n", path, err);
        fail();
    }
    assert_string_equal(err, "");
    return ds;
}

static ag_ds *load_ok(const char *name, ag_ds_format fmt)
{
    char *p = data_path(name);
    ag_ds *ds = load_ok_path(p, fmt);
    free(p);
    return ds;
}

/* Loading path must fail, and the message must contain every substring
 * given (NULL-terminated). */
static void expect_error_path(const char *path, ag_ds_format fmt, ...)
{
    char err[2048];
    ag_ds *ds = ag_ds_load(path, fmt, err, sizeof err);
    if (ds) {
        print_error("# %s loaded (%zu records) but must fail\n", path, ag_ds_count(ds));
        ag_ds_free(ds);
        fail();
    }
    va_list ap;
    va_start(ap, fmt);
    const char *sub;
    int bad = 0;
    while ((sub = va_arg(ap, const char *))) {
        if (!strstr(err, sub)) {
            print_error("# message lacks \"%s\": %s\n", sub, err);
            bad = 1;
        }
    }
    va_end(ap);
    if (bad) fail();
}

static const ag_ds_problem *by_id(const ag_ds *ds, const char *id)
{
    for (size_t i = 0; i < ag_ds_count(ds); i++) {
        const ag_ds_problem *p = ag_ds_get(ds, i);
        if (!strcmp(p->id, id)) return p;
    }
    print_error("# no problem with id \"%s\"\n", id);
    fail();
    return NULL;
}

static void check_number(const ag_ds_problem *p, double gold)
{
    if (p->gold_kind != AG_GOLD_NUMBER || !ts_close(p->gold, gold)) {
        print_error("# id %s: gold %s %.17g, expected number %.17g\n", p->id,
                    ag_gold_kind_name(p->gold_kind), p->gold, gold);
        fail();
    }
}

static void check_kind(const ag_ds_problem *p, ag_gold_kind k)
{
    if (p->gold_kind != k) {
        print_error("# id %s: gold %s, expected %s\n", p->id, ag_gold_kind_name(p->gold_kind),
                    ag_gold_kind_name(k));
        fail();
    }
}

/* A temp dir for generated files. */
typedef struct {
    char *dir;
} tmp_fixture;

static int setup_tmp(void **state)
{
    tmp_fixture *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->dir = ts_mkdtemp();
    if (!t->dir) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown_tmp(void **state)
{
    tmp_fixture *t = *state;
    ts_rmtree(t->dir);
    free(t->dir);
    free(t);
    return 0;
}

static char *write_tmp(const tmp_fixture *t, const char *name, const char *data, size_t len)
{
    char buf[4400];
    snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
    assert_int_equal(ts_write_file(buf, data, len), 0);
    char *p = strdup(buf);
    assert_non_null(p);
    return p;
}

/* ---- names --------------------------------------------------------------------- */

static void test_format_names(void **state)
{
    static const char *const names[] = {"auto", "alphaopt", "llmopt", "optmath", "optibench", "plain"};
    static const ag_ds_format fmts[] = {AG_DS_AUTO, AG_DS_ALPHAOPT, AG_DS_LLMOPT,
                                        AG_DS_OPTMATH, AG_DS_OPTIBENCH, AG_DS_PLAIN};
    for (size_t i = 0; i < 6; i++) {
        ag_ds_format f = AG_DS_AUTO;
        assert_int_equal(ag_ds_format_parse(names[i], &f), 0);
        assert_int_equal(f, fmts[i]);
        assert_string_equal(ag_ds_format_name(fmts[i]), names[i]);
    }
    ag_ds_format f = AG_DS_PLAIN;
    assert_int_equal(ag_ds_format_parse("AlphaOPT", &f), -1);
    assert_int_equal(ag_ds_format_parse("", &f), -1);
    assert_int_equal(ag_ds_format_parse("jsonl", &f), -1);
    assert_int_equal(ag_ds_format_parse(NULL, &f), -1);
    assert_int_equal(f, AG_DS_PLAIN);
    assert_string_equal(ag_ds_format_name((ag_ds_format)42), "unknown");
    assert_string_equal(ag_gold_kind_name(AG_GOLD_NUMBER), "number");
    assert_string_equal(ag_gold_kind_name(AG_GOLD_NONE), "none");
    assert_string_equal(ag_gold_kind_name(AG_GOLD_NO_SOLUTION), "no_solution");
}

/* ---- the project's sample files ----------------------------------------------- */

static void test_alphaopt(void **state)
{
    ag_ds *ds = load_ok("alphaopt.json", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 6);
    assert_int_equal(ag_ds_detected(ds), AG_DS_ALPHAOPT);
    assert_int_equal(ag_ds_is_jsonl(ds), 0);
    assert_string_equal(ag_ds_name(ds), "alphaopt");
    static const char *const ids[] = {"T01", "7", "T03", "T04", "T05", "T06"};
    for (size_t i = 0; i < 6; i++) {
        const ag_ds_problem *p = ag_ds_get(ds, i);
        assert_string_equal(p->id, ids[i]);
        assert_int_equal(p->record, i + 1);
        assert_string_equal(p->dataset, "alphaopt");
        assert_null(p->type);
        assert_int_equal(p->nquantities, 0);
    }
    assert_null(ag_ds_get(ds, 6));
    assert_true(!strncmp(ag_ds_get(ds, 0)->question, "A potter makes mugs", 19));
    check_number(ag_ds_get(ds, 0), 54);
    check_number(ag_ds_get(ds, 1), 0);                   /* zero is a real gold */
    check_kind(ag_ds_get(ds, 2), AG_GOLD_NONE);           /* null */
    check_number(ag_ds_get(ds, 3), 1250.75);              /* "  1250.75 " */
    check_number(ag_ds_get(ds, 4), -12);
    check_kind(ag_ds_get(ds, 5), AG_GOLD_NONE);           /* no ground_truth key */
    ag_ds_free(ds);
}

static void test_llmopt(void **state)
{
    ag_ds *ds = load_ok("llmopt.jsonl", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 6);
    assert_int_equal(ag_ds_detected(ds), AG_DS_LLMOPT);
    assert_int_equal(ag_ds_is_jsonl(ds), 1);
    static const size_t lines[] = {1, 2, 3, 5, 6, 7};   /* line 4 is blank */
    for (size_t i = 0; i < 6; i++) {
        const ag_ds_problem *p = ag_ds_get(ds, i);
        char id[8];
        snprintf(id, sizeof id, "%zu", i + 1);
        assert_string_equal(p->id, id);
        assert_int_equal(p->record, lines[i]);
        assert_string_equal(p->dataset, "llmopt");
    }
    check_number(ag_ds_get(ds, 0), 120);
    check_number(ag_ds_get(ds, 1), 64.5);                 /* "  64.5 " */
    check_kind(ag_ds_get(ds, 2), AG_GOLD_NONE);           /* -99999 */
    check_kind(ag_ds_get(ds, 3), AG_GOLD_NONE);           /* 4.08e35 as LLMOPT writes it */
    check_number(ag_ds_get(ds, 4), 0);
    check_number(ag_ds_get(ds, 5), -3.25);
    ag_ds_free(ds);
}

static void test_optmath_jsonl(void **state)
{
    ag_ds *ds = load_ok("optmath.jsonl", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 4);
    assert_int_equal(ag_ds_detected(ds), AG_DS_OPTMATH);
    assert_int_equal(ag_ds_is_jsonl(ds), 1);
    check_number(by_id(ds, "1"), 310);
    check_kind(by_id(ds, "2"), AG_GOLD_NO_SOLUTION);
    check_kind(by_id(ds, "3"), AG_GOLD_NO_SOLUTION);      /* any letter case */
    check_number(by_id(ds, "4"), 0);
    assert_true(!strncmp(by_id(ds, "1")->question, "A farmer plants oats", 20));
    ag_ds_free(ds);
}

/* The loaders and the evaluator share one gold kind: a loaded problem's gold
 * goes into an evaluation item as it is, and the names (stored in results
 * databases) include the evaluator's "quantities". */
static ag_eval_category judge_loaded(const ag_ds_problem *p, ag_outcome o, int has_answer,
                                     double answer)
{
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = p->dataset;
    it.id = p->id;
    it.gold.kind = p->gold_kind;
    it.gold.value = p->gold;
    it.outcome = o;
    it.has_answer = has_answer;
    it.answer = answer;
    it.latency_ms = NAN;
    ag_eval_category c = AG_CAT_COUNT;
    assert_int_equal(ag_eval_judge(AG_MATCH_DEFAULT, &it, &c), 0);
    return c;
}

static void test_gold_kind_shared_with_evaluator(void **state)
{
    (void)state;
    assert_string_equal(ag_gold_kind_name(AG_GOLD_QUANTITIES), "quantities");
    assert_string_equal(ag_gold_kind_name((ag_gold_kind)42), "unknown");
    ag_ds *ds = load_ok("optmath.jsonl", AG_DS_AUTO);
    const ag_ds_problem *num = by_id(ds, "1"), *nosol = by_id(ds, "2");
    assert_int_equal(judge_loaded(num, AG_OUTCOME_OK, 1, 310), AG_CAT_CORRECT);
    assert_int_equal(judge_loaded(num, AG_OUTCOME_OK, 1, 311), AG_CAT_WRONG_ANSWER);
    assert_int_equal(judge_loaded(nosol, AG_OUTCOME_INFEASIBLE, 0, 0), AG_CAT_CORRECT);
    assert_int_equal(judge_loaded(nosol, AG_OUTCOME_OK, 1, 310), AG_CAT_WRONG_ANSWER);
    ag_ds_free(ds);
    ds = load_ok("alphaopt.json", AG_DS_AUTO);
    assert_int_equal(judge_loaded(ag_ds_get(ds, 2), AG_OUTCOME_OK, 1, 1), AG_CAT_NO_GOLD);
    ag_ds_free(ds);
}

static void test_optmath_array(void **state)
{
    ag_ds *ds = load_ok("optmath_array.json", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 3);
    assert_int_equal(ag_ds_detected(ds), AG_DS_OPTMATH);
    assert_int_equal(ag_ds_is_jsonl(ds), 0);
    assert_string_equal(ag_ds_get(ds, 0)->id, "0");
    assert_string_equal(ag_ds_get(ds, 2)->id, "2");
    check_number(by_id(ds, "0"), 18);
    check_number(by_id(ds, "1"), 0);
    check_number(by_id(ds, "2"), -7.5);
    ag_ds_free(ds);
}

static void test_optibench(void **state)
{
    ag_ds *ds = load_ok("optibench.json", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 4);
    assert_int_equal(ag_ds_detected(ds), AG_DS_OPTIBENCH);
    const ag_ds_problem *p = by_id(ds, "0");
    assert_int_equal(p->nquantities, 3);
    assert_string_equal(p->quantities[0].name, "Number of chairs");
    assert_true(ts_close(p->quantities[0].value, 4));
    assert_string_equal(p->quantities[1].name, "Number of tables");
    assert_true(ts_close(p->quantities[1].value, 6));
    assert_string_equal(p->quantities[2].name, "Maximum profit");
    check_number(p, 270);                                 /* the last quantity */
    assert_string_equal(p->type, "linear-notable");
    p = by_id(ds, "1");
    assert_int_equal(p->nquantities, 1);
    check_number(p, -15.5);
    assert_string_equal(p->type, "nonlinear-table");
    p = by_id(ds, "2");
    assert_int_equal(p->nquantities, 0);
    check_kind(p, AG_GOLD_NONE);                          /* empty results */
    p = by_id(ds, "3");
    assert_int_equal(p->nquantities, 2);
    assert_true(ts_close(p->quantities[0].value, 2));     /* " 2 " */
    check_number(p, 1000);                                /* "1e3" */
    ag_ds_free(ds);
}

static void test_plain(void **state)
{
    ag_ds *ds = load_ok("plain.jsonl", AG_DS_AUTO);
    assert_int_equal(ag_ds_count(ds), 4);
    assert_int_equal(ag_ds_detected(ds), AG_DS_PLAIN);
    check_number(by_id(ds, "p-1"), 9);
    check_kind(by_id(ds, "2"), AG_GOLD_NO_SOLUTION);      /* number id -> "2" */
    check_kind(by_id(ds, "p-3"), AG_GOLD_NONE);
    check_kind(by_id(ds, "p-4"), AG_GOLD_NONE);
    ag_ds_free(ds);
}

/* A forced format reads other keys; the container is still detected. */
static void test_forced_format(void **state)
{
    char *p = data_path("plain.jsonl");
    ag_ds *ds = load_ok_path(p, AG_DS_LLMOPT);
    assert_int_equal(ag_ds_detected(ds), AG_DS_LLMOPT);
    assert_string_equal(ag_ds_get(ds, 1)->id, "2");       /* record number, not "id" */
    assert_string_equal(ag_ds_get(ds, 0)->id, "1");
    ag_ds_free(ds);
    free(p);
    p = data_path("llmopt.jsonl");
    expect_error_path(p, AG_DS_PLAIN, "llmopt.jsonl:1:", "field \"id\"", "missing", NULL);
    free(p);
    p = data_path("optmath_array.json");
    ds = load_ok_path(p, AG_DS_OPTMATH);
    assert_int_equal(ag_ds_count(ds), 3);
    ag_ds_free(ds);
    free(p);
    p = data_path("optibench.json");
    expect_error_path(p, AG_DS_ALPHAOPT, "optibench.json: record 1 (line 2)",
                      "field \"description\"", NULL);
    free(p);
}

/* ---- broken sample files ------------------------------------------------------- */

static void test_broken_files(void **state)
{
    char *p = data_path("bad_json_line3.jsonl");
    expect_error_path(p, AG_DS_AUTO, "bad_json_line3.jsonl:3:", "bad JSON", NULL);
    free(p);
    p = data_path("missing_question.json");
    expect_error_path(p, AG_DS_AUTO, "missing_question.json: record 2 (line 3)",
                      "field \"description\"", "missing", NULL);
    free(p);
    p = data_path("answer_array.jsonl");
    expect_error_path(p, AG_DS_AUTO, "answer_array.jsonl:2:", "field \"answer\"", "an array",
                      NULL);
    free(p);
    p = data_path("duplicate_ids.jsonl");
    expect_error_path(p, AG_DS_AUTO, "duplicate_ids.jsonl:3:", "field \"id\"",
                      "duplicate id \"a\"", "also line 1", NULL);
    free(p);
    p = data_path("unknown_shape.jsonl");
    expect_error_path(p, AG_DS_AUTO, "unknown_shape.jsonl:1:", "unknown record shape",
                      "keys: prompt, solution", NULL);
    free(p);
    p = data_path("empty.jsonl");
    expect_error_path(p, AG_DS_AUTO, "empty.jsonl", "empty file", NULL);
    free(p);
}

/* ---- generated inputs ------------------------------------------------------------- */

typedef struct {
    const char *content;
    ag_ds_format fmt;
    const char *subs[4];
} bad_case;

static void test_generated_errors(void **state)
{
    const tmp_fixture *t = *state;
    static const bad_case cases[] = {
        {"  \n\n\t", AG_DS_AUTO, {"empty file"}},
        {"[ ]", AG_DS_AUTO, {"no records"}},
        {"\n\n", AG_DS_AUTO, {"empty file"}},
        {"[\n  1\n]", AG_DS_AUTO, {": record 1 (line 2)", "a number, not a JSON object"}},
        {"[\n{\"id\":\"a\",\"question\":\"q\",\"answer\":1},\n\"x\"\n]", AG_DS_AUTO,
         {": record 2 (line 3)", "a string, not a JSON object"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"about 12\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\"", "\"about 12\" is neither a number"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":1}\n{\"id\":\"b\",\"question\":\"q\",\"answer\":\"1,234.5\"}\n",
         AG_DS_AUTO, {"g.jsonl:2:", "field \"answer\"", "1,234.5"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"infeasible\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\"", "infeasible"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\""}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":true}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\"", "a boolean"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":{\"v\":1}}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\"", "an object"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":1e999}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\"", "out of range"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"1e999\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\""}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"nan\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\""}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"0x10\"}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"answer\""}},
        {"{\"id\":\"a\",\"question\":12,\"answer\":1}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"question\"", "must be a string, not a number"}},
        {"{\"id\":\"a\",\"question\":\" \\n \",\"answer\":1}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"question\"", "empty"}},
        {"{\"id\":\"a\",\"question\":null,\"answer\":1}\n", AG_DS_PLAIN,
         {"g.jsonl:1:", "field \"question\"", "missing"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":1} x\n", AG_DS_AUTO,
         {"g.jsonl:1:", "text after the value"}},
        {"{\"id\":\"a\",\"question\":\"q\",\"answer\":1}\n\n[1]\n", AG_DS_AUTO,
         {"g.jsonl:3:", "an array, not a JSON object"}},
        {"{\n  \"id\": \"a\",\n  \"question\": \"q\",\n  \"answer\": 1\n}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "bad JSON", "one whole object per line"}},
        {"{\"id\":true,\"question\":\"q\",\"answer\":1}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"id\"", "string or a number, not a boolean"}},
        {"{\"id\":\"\",\"question\":\"q\",\"answer\":1}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"id\"", "empty"}},
        {"{\"question\":\"q\",\"answer\":1}\n{\"question\":\"q\",\"answer\":2,\"index\":1}\n",
         AG_DS_AUTO, {"g.jsonl:2:", "field \"index\"", "duplicate id \"1\"", "also line 1"}},
        {"{\"index\":0,\"question\":\"q\",\"results\":{\"x\":\"1\",\"Total\":\"n/a\"}}\n",
         AG_DS_AUTO, {"g.jsonl:1:", "field \"results\"", "key \"Total\"", "\"n/a\""}},
        {"{\"index\":0,\"question\":\"q\",\"results\":{\"Total\":null}}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"results\"", "key \"Total\": null"}},
        {"{\"index\":0,\"question\":\"q\",\"results\":[\"1\"]}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"results\"", "an array"}},
        {"{\"index\":0,\"question\":\"q\",\"results\":{\"T\":\"1\"},\"type\":3}\n", AG_DS_AUTO,
         {"g.jsonl:1:", "field \"type\""}},
        {"x\n", AG_DS_AUTO, {"g.jsonl:1:", "found 'x'"}},
        {"\n\n# comment\n", AG_DS_AUTO, {"g.jsonl:3:", "found '#'"}},
        {"{\"question\":\"q\",\"answer\":1,\"index\":1}\n\x01\n", AG_DS_AUTO,
         {"g.jsonl:2:", "bad JSON"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = write_tmp(t, "g.jsonl", cases[i].content, strlen(cases[i].content));
        char err[2048];
        ag_ds *ds = ag_ds_load(p, cases[i].fmt, err, sizeof err);
        if (ds) {
            print_error("# case %zu loaded but must fail\n", i);
            ag_ds_free(ds);
            fail();
        }
        if (!strstr(err, p)) {
            print_error("# case %zu: message does not name the file: %s\n", i, err);
            fail();
        }
        for (size_t k = 0; k < 4 && cases[i].subs[k]; k++)
            if (!strstr(err, cases[i].subs[k])) {
                print_error("# case %zu: message lacks \"%s\": %s\n", i, cases[i].subs[k], err);
                fail();
            }
        free(p);
    }
}

static void test_array_errors(void **state)
{
    const tmp_fixture *t = *state;
    static const bad_case cases[] = {
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": 1},\n"
         " {\"description\": \"d\", \"ground_truth\": 2}\n]", AG_DS_AUTO,
         {"g.json: record 2 (line 3)", "field \"task_id\"", "missing"}},
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": 1},\n"
         " {\"task_id\": \"B\", \"description\": \"d\", \"ground_truth\": 2},\n"
         " {\"task_id\": \"A\", \"description\": \"d [x] {y}\", \"ground_truth\": 3}\n]",
         AG_DS_AUTO, {"g.json: record 3 (line 4)", "field \"task_id\"",
                      "duplicate id \"A\"", "also record 1, line 2"}},
        {"[\n {\"task_id\": 5, \"description\": \"d\", \"ground_truth\": 1},\n"
         " {\"task_id\": \"5\", \"description\": \"d\", \"ground_truth\": 1}\n]",
         AG_DS_AUTO, {"record 2 (line 3)", "duplicate id \"5\""}},
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": 1},\n"
         " {\"task_id\": \"B\", \"description\": \"d\" \"ground_truth\": 2}\n]", AG_DS_AUTO,
         {"g.json:3:", "bad JSON"}},
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": 1},\n", AG_DS_AUTO,
         {"g.json:", "bad JSON", "ends before the closing"}},
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": 1}\n]\n]\n",
         AG_DS_AUTO, {"g.json:4:", "after the closing"}},
        {"[\n {\"task_id\": \"A\", \"description\": \"d\", \"ground_truth\": [1]}\n]",
         AG_DS_AUTO, {"g.json: record 1 (line 2)", "field \"ground_truth\"", "an array"}},
        {"[{\"a\": 1, \"b\": 2}]", AG_DS_AUTO, {"g.json: record 1 (line 1)", "keys: a, b"}},
        {"[{}]", AG_DS_AUTO, {"record 1", "keys: none"}},
        {"\xEF\xBB", AG_DS_AUTO, {"g.json:1:", "0xEF"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = write_tmp(t, "g.json", cases[i].content, strlen(cases[i].content));
        char err[2048];
        ag_ds *ds = ag_ds_load(p, cases[i].fmt, err, sizeof err);
        if (ds) {
            print_error("# case %zu loaded but must fail\n", i);
            ag_ds_free(ds);
            fail();
        }
        for (size_t k = 0; k < 4 && cases[i].subs[k]; k++)
            if (!strstr(err, cases[i].subs[k])) {
                print_error("# case %zu: message lacks \"%s\": %s\n", i, cases[i].subs[k], err);
                fail();
            }
        free(p);
    }
}

/* BOM, CRLF, leading blank lines, string and fractional ids, sentinel strings. */
static void test_generated_ok(void **state)
{
    const tmp_fixture *t = *state;
    const char *text =
        "\xEF\xBB\xBF\r\n\n"
        "{\"question\": \"q1\", \"answer\": \"-99999\", \"index\": \"q-7\"}\r\n"
        "   \r\n"
        "{\"question\": \"q2\", \"answer\": \"4.08e35\", \"index\": 3.5}\r\n"
        "{\"question\": \"q3\", \"answer\": -99999.5, \"index\": -0}\r\n"
        "{\"question\": \"q4\", \"answer\": \" NO BEST SOLUTION \", \"index\": 1e20}\r\n"
        "{\"question\": \"q5\", \"answer\": \"+.5\", \"index\": 12}";   /* no final newline */
    char *p = write_tmp(t, "ok.jsonl", text, strlen(text));
    ag_ds *ds = load_ok_path(p, AG_DS_AUTO);
    assert_int_equal(ag_ds_detected(ds), AG_DS_LLMOPT);
    assert_int_equal(ag_ds_count(ds), 5);
    assert_string_equal(ag_ds_name(ds), "ok");
    assert_string_equal(ag_ds_path(ds), p);
    const ag_ds_problem *q = ag_ds_get(ds, 0);
    assert_string_equal(q->id, "q-7");
    assert_int_equal(q->record, 3);
    check_kind(q, AG_GOLD_NONE);
    q = ag_ds_get(ds, 1);
    assert_string_equal(q->id, "3.5");
    assert_int_equal(q->record, 5);
    check_kind(q, AG_GOLD_NONE);
    q = ag_ds_get(ds, 2);
    assert_string_equal(q->id, "0");
    check_number(q, -99999.5);                 /* not a sentinel */
    q = ag_ds_get(ds, 3);
    assert_string_equal(q->id, "1e+20");
    check_kind(q, AG_GOLD_NO_SOLUTION);
    q = ag_ds_get(ds, 4);
    assert_string_equal(q->id, "12");
    assert_string_equal(q->question, "q5");
    check_number(q, 0.5);
    assert_int_equal(q->record, 8);
    ag_ds_free(ds);
    free(p);

    /* an array preceded by blank lines; lines in errors count them */
    const char *arr = "\n\n[\n {\"id\": \"x\", \"question\": \"q\", \"answer\": 1},\n"
                      " {\"id\": \"x\", \"question\": \"q\", \"answer\": 2}\n]\n";
    p = write_tmp(t, "arr.json", arr, strlen(arr));
    expect_error_path(p, AG_DS_AUTO, "arr.json: record 2 (line 5)", "also record 1, line 4",
                      NULL);
    free(p);
}

static void test_question_cap(void **state)
{
    const tmp_fixture *t = *state;
    size_t n = AG_DS_MAX_QUESTION;
    char *text = malloc(n + 200);
    assert_non_null(text);
    for (int over = 0; over <= 1; over++) {
        size_t q = n + (size_t)over;
        size_t len = (size_t)sprintf(text, "{\"id\": 1, \"question\": \"");
        memset(text + len, 'a', q);
        len += q;
        len += (size_t)sprintf(text + len, "\", \"answer\": 1}\n");
        char *p = write_tmp(t, "big.jsonl", text, len);
        if (over) {
            expect_error_path(p, AG_DS_AUTO, "big.jsonl:1:", "field \"question\"", "limit", NULL);
        } else {
            ag_ds *ds = load_ok_path(p, AG_DS_AUTO);
            assert_int_equal(strlen(ag_ds_get(ds, 0)->question), n);
            ag_ds_free(ds);
        }
        free(p);
    }
    free(text);
}

static void test_line_cap(void **state)
{
    const tmp_fixture *t = *state;
    size_t n = AG_DS_MAX_LINE_BYTES + 10;
    char *text = malloc(n + 100);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "{\"id\": 1, \"question\": \"q\", \"answer\": 1}\n{\"id\": 2, \"question\": \"");
    memset(text + len, 'b', n);
    len += n;
    len += (size_t)sprintf(text + len, "\"}\n");
    char *p = write_tmp(t, "long.jsonl", text, len);
    expect_error_path(p, AG_DS_AUTO, "long.jsonl:2:", "longer than the limit", NULL);
    free(p);
    free(text);
}

static void test_record_cap(void **state)
{
    const tmp_fixture *t = *state;
    const char *rec = "{\"question\":\"q\"}\n";
    size_t rl = strlen(rec), n = (size_t)AG_DS_MAX_RECORDS + 1;
    char *text = malloc(rl * n);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) memcpy(text + i * rl, rec, rl);
    char *p = write_tmp(t, "many.jsonl", text, rl * n);
    free(text);
    expect_error_path(p, AG_DS_LLMOPT, "many.jsonl:1000001:", "more than 1000000 records", NULL);
    free(p);
}

static void test_files_and_buffers(void **state)
{
    const tmp_fixture *t = *state;
    char err[512];
    char path[4400];
    snprintf(path, sizeof path, "%s/does-not-exist.jsonl", t->dir);
    assert_null(ag_ds_load(path, AG_DS_AUTO, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
    assert_null(ag_ds_load(t->dir, AG_DS_AUTO, err, sizeof err));
    assert_non_null(strstr(err, "directory"));
    assert_null(ag_ds_load(NULL, AG_DS_AUTO, err, sizeof err));
    assert_null(ag_ds_load("", AG_DS_AUTO, err, sizeof err));
    char *p = data_path("plain.jsonl");
    assert_null(ag_ds_load(p, (ag_ds_format)99, err, sizeof err));
    assert_non_null(strstr(err, "format"));
    free(p);
    /* NULL and tiny error buffers */
    p = data_path("answer_array.jsonl");
    assert_null(ag_ds_load(p, AG_DS_AUTO, NULL, 0));
    char small[8];
    memset(small, 'x', sizeof small);
    assert_null(ag_ds_load(p, AG_DS_AUTO, small, sizeof small));
    assert_int_equal(strlen(small), sizeof small - 1);
    free(p);
    /* NULL datasets */
    assert_int_equal(ag_ds_count(NULL), 0);
    assert_null(ag_ds_get(NULL, 0));
    ag_ds_free(NULL);
}

/* ---- the published benchmarks ------------------------------------------------- */

typedef struct {
    const char *file;
    ag_ds_format fmt;
    int jsonl;
    size_t count;
} shared_file;

static const shared_file SHARED[] = {
    {"alphaopt/complexor.json", AG_DS_ALPHAOPT, 0, 18},
    {"alphaopt/industryor.json", AG_DS_ALPHAOPT, 0, 82},
    {"alphaopt/logior.json", AG_DS_ALPHAOPT, 0, 92},
    {"alphaopt/mamo_complex.json", AG_DS_ALPHAOPT, 0, 111},
    {"alphaopt/mamo_easy.json", AG_DS_ALPHAOPT, 0, 545},
    {"alphaopt/nl4opt.json", AG_DS_ALPHAOPT, 0, 214},
    {"alphaopt/nlp4lp.json", AG_DS_ALPHAOPT, 0, 242},
    {"alphaopt/optibench.json", AG_DS_ALPHAOPT, 0, 403},
    {"alphaopt/industryor_train.json", AG_DS_ALPHAOPT, 0, 57},
    {"alphaopt/industryor_test.json", AG_DS_ALPHAOPT, 0, 25},
    {"alphaopt/logior_train.json", AG_DS_ALPHAOPT, 0, 64},
    {"alphaopt/logior_test.json", AG_DS_ALPHAOPT, 0, 28},
    {"alphaopt/mamo_complex_train.json", AG_DS_ALPHAOPT, 0, 77},
    {"alphaopt/mamo_complex_test.json", AG_DS_ALPHAOPT, 0, 34},
    {"alphaopt/nl4opt_train.json", AG_DS_ALPHAOPT, 0, 149},
    {"alphaopt/nl4opt_test.json", AG_DS_ALPHAOPT, 0, 64},
    {"alphaopt/nlp4lp_train.json", AG_DS_ALPHAOPT, 0, 169},
    {"alphaopt/nlp4lp_test.json", AG_DS_ALPHAOPT, 0, 73},
    {"llmopt/complexor.jsonl", AG_DS_LLMOPT, 1, 18},
    {"llmopt/industryor.jsonl", AG_DS_LLMOPT, 1, 100},
    {"llmopt/mamo_complex_test.jsonl", AG_DS_LLMOPT, 1, 211},
    {"llmopt/mamo_easy_test.jsonl", AG_DS_LLMOPT, 1, 652},
    {"llmopt/nl4opt_test.jsonl", AG_DS_LLMOPT, 1, 230},
    {"llmopt/nlp4lp.jsonl", AG_DS_LLMOPT, 1, 242},
    {"llmopt/optibench.jsonl", AG_DS_LLMOPT, 1, 605},
    {"llmopt/optmath_bench.jsonl", AG_DS_LLMOPT, 1, 166},
    {"llmopt/task3_test.jsonl", AG_DS_LLMOPT, 1, 410},
    {"optmath/MAMO_ComplexLP.json", AG_DS_OPTMATH, 1, 211},
    {"optmath/MAMO_EasyLP.json", AG_DS_OPTMATH, 1, 652},
    {"optmath/NL4OPT.json", AG_DS_OPTMATH, 1, 245},
    {"optmath/OptMATH_Bench.json", AG_DS_OPTMATH, 0, 166},
    {"optibench/OptiBench.json", AG_DS_OPTIBENCH, 0, 605},
    {"optibench/NL4OPT-E.json", AG_DS_OPTIBENCH, 0, 289},
};

static ag_ds *load_shared(const char *file)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", g_shared, file);
    return load_ok_path(path, AG_DS_AUTO);
}

static size_t count_kind(const ag_ds *ds, ag_gold_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < ag_ds_count(ds); i++) n += ag_ds_get(ds, i)->gold_kind == k;
    return n;
}

static size_t count_zero(const ag_ds *ds)
{
    size_t n = 0;
    for (size_t i = 0; i < ag_ds_count(ds); i++) {
        const ag_ds_problem *p = ag_ds_get(ds, i);
        n += p->gold_kind == AG_GOLD_NUMBER && p->gold == 0;
    }
    return n;
}

static void test_shared_counts(void **state)
{
    if (!g_shared[0]) skip();
    for (size_t i = 0; i < sizeof SHARED / sizeof SHARED[0]; i++) {
        ag_ds *ds = load_shared(SHARED[i].file);
        if (ag_ds_count(ds) != SHARED[i].count || ag_ds_detected(ds) != SHARED[i].fmt ||
            ag_ds_is_jsonl(ds) != SHARED[i].jsonl) {
            print_error("# %s: %zu records as %s (%s), expected %zu as %s (%s)\n", SHARED[i].file,
                        ag_ds_count(ds), ag_ds_format_name(ag_ds_detected(ds)),
                        ag_ds_is_jsonl(ds) ? "jsonl" : "array", SHARED[i].count,
                        ag_ds_format_name(SHARED[i].fmt), SHARED[i].jsonl ? "jsonl" : "array");
            ag_ds_free(ds);
            fail();
        }
        for (size_t k = 0; k < ag_ds_count(ds); k++) {
            const ag_ds_problem *p = ag_ds_get(ds, k);
            assert_non_null(p->id);
            assert_true(strlen(p->question) > 20);
        }
        ag_ds_free(ds);
    }
}

static void test_shared_alphaopt(void **state)
{
    if (!g_shared[0]) skip();
    ag_ds *ds = load_shared("alphaopt/nl4opt.json");
    check_kind(by_id(ds, "F178"), AG_GOLD_NONE);          /* null */
    check_number(by_id(ds, "F000"), 5050);
    check_number(by_id(ds, "F001"), 125.4929565);
    assert_int_equal(count_kind(ds, AG_GOLD_NONE), 1);
    assert_int_equal(count_zero(ds), 14);                 /* README: 14 zero golds */
    assert_string_equal(by_id(ds, "F178")->dataset, "nl4opt");
    ag_ds_free(ds);
    ds = load_shared("alphaopt/mamo_easy.json");
    check_number(by_id(ds, "374"), -162);                 /* number task_id */
    check_number(by_id(ds, "0"), 10000);
    ag_ds_free(ds);
    ds = load_shared("alphaopt/complexor.json");
    check_number(by_id(ds, "8"), 10.33);
    ag_ds_free(ds);
    ds = load_shared("alphaopt/industryor.json");
    check_number(by_id(ds, "B000"), 219600);
    ag_ds_free(ds);
}

static void test_shared_llmopt(void **state)
{
    if (!g_shared[0]) skip();
    size_t sentinels = 0;
    for (size_t i = 0; i < sizeof SHARED / sizeof SHARED[0]; i++) {
        if (SHARED[i].fmt != AG_DS_LLMOPT) continue;
        ag_ds *ds = load_shared(SHARED[i].file);
        sentinels += count_kind(ds, AG_GOLD_NONE);
        assert_int_equal(count_kind(ds, AG_GOLD_NO_SOLUTION), 0);
        ag_ds_free(ds);
    }
    assert_int_equal(sentinels, 4);                       /* industryor 3, nlp4lp 1 */
    ag_ds *ds = load_shared("llmopt/industryor.jsonl");
    check_kind(by_id(ds, "15"), AG_GOLD_NONE);            /* -99999 */
    check_kind(by_id(ds, "49"), AG_GOLD_NONE);
    check_kind(by_id(ds, "54"), AG_GOLD_NONE);
    check_number(by_id(ds, "79"), 435431000);
    ag_ds_free(ds);
    ds = load_shared("llmopt/nlp4lp.jsonl");
    check_kind(by_id(ds, "97"), AG_GOLD_NONE);            /* 4.08e35 */
    assert_int_equal(count_zero(ds), 20);                 /* README: 20 zero golds */
    ag_ds_free(ds);
    ds = load_shared("llmopt/mamo_easy_test.jsonl");
    check_number(by_id(ds, "648"), 1e12);                 /* "1000000000000" */
    check_number(by_id(ds, "645"), 24500);                /* "24500" */
    ag_ds_free(ds);
    ds = load_shared("llmopt/nl4opt_test.jsonl");
    check_number(by_id(ds, "17"), 700);                   /* "700.0" */
    ag_ds_free(ds);
    ds = load_shared("llmopt/optibench.jsonl");
    check_number(by_id(ds, "1"), 3600);
    check_number(by_id(ds, "2"), 395000);
    assert_int_equal(count_zero(ds), 18);
    ag_ds_free(ds);
}

static void test_shared_optmath(void **state)
{
    if (!g_shared[0]) skip();
    ag_ds *ds = load_shared("optmath/NL4OPT.json");
    assert_int_equal(count_kind(ds, AG_GOLD_NO_SOLUTION), 17);
    assert_int_equal(count_kind(ds, AG_GOLD_NONE), 0);
    check_kind(by_id(ds, "17"), AG_GOLD_NO_SOLUTION);     /* record number ids */
    check_kind(by_id(ds, "212"), AG_GOLD_NO_SOLUTION);
    check_number(by_id(ds, "1"), 1160);
    check_number(by_id(ds, "5"), 327.6595744680851);
    assert_int_equal(by_id(ds, "17")->record, 17);
    ag_ds_free(ds);
    ds = load_shared("optmath/MAMO_ComplexLP.json");
    check_number(by_id(ds, "208"), 172666.667);           /* " 172666.667" */
    check_number(by_id(ds, "1"), 57);
    ag_ds_free(ds);
    ds = load_shared("optmath/MAMO_EasyLP.json");
    check_number(by_id(ds, "1"), 10000);
    check_number(by_id(ds, "652"), 2000);
    ag_ds_free(ds);
    ds = load_shared("optmath/OptMATH_Bench.json");
    check_number(by_id(ds, "0"), 25);
    check_number(by_id(ds, "1"), 0);
    check_number(by_id(ds, "165"), 0.9026087285827841);
    ag_ds_free(ds);
}

static void test_shared_optibench(void **state)
{
    if (!g_shared[0]) skip();
    ag_ds *ds = load_shared("optibench/OptiBench.json");
    const ag_ds_problem *p = by_id(ds, "1");
    assert_int_equal(p->nquantities, 10);
    assert_string_equal(p->quantities[0].name, "Number of Trucks for GoodsX");
    assert_true(ts_close(p->quantities[0].value, 10));
    assert_string_equal(p->quantities[9].name, "Total Profit");
    check_number(p, 395000);
    p = by_id(ds, "604");
    assert_string_equal(p->type, "nonlinear-notable");
    check_number(p, 283200);                              /* "283200.00000000" */
    p = by_id(ds, "126");
    assert_int_equal(p->nquantities, 19);
    check_number(p, 103960);
    static const char *const types[] = {"linear-notable", "linear-table", "nonlinear-notable",
                                        "nonlinear-table"};
    static const size_t want[] = {342, 80, 133, 50};
    size_t got[4] = {0}, maxq = 0, minq = SIZE_MAX;
    for (size_t i = 0; i < ag_ds_count(ds); i++) {
        p = ag_ds_get(ds, i);
        for (size_t k = 0; k < 4; k++) got[k] += p->type && !strcmp(p->type, types[k]);
        if (p->nquantities > maxq) maxq = p->nquantities;
        if (p->nquantities < minq) minq = p->nquantities;
        assert_int_equal(p->gold_kind, AG_GOLD_NUMBER);
    }
    for (size_t k = 0; k < 4; k++) assert_int_equal(got[k], want[k]);
    assert_int_equal(minq, 1);
    assert_int_equal(maxq, 19);
    ag_ds_free(ds);
    ds = load_shared("optibench/NL4OPT-E.json");
    p = by_id(ds, "0");
    assert_int_equal(p->nquantities, 3);
    assert_string_equal(p->quantities[0].name, "Number of sled dog trips");
    assert_true(ts_close(p->quantities[0].value, 0));
    check_number(p, 3000);
    check_number(by_id(ds, "288"), 21);
    ag_ds_free(ds);
}

int main(void)
{
    find_dirs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_alphaopt),
        cmocka_unit_test(test_llmopt),
        cmocka_unit_test(test_optmath_jsonl),
        cmocka_unit_test(test_gold_kind_shared_with_evaluator),
        cmocka_unit_test(test_optmath_array),
        cmocka_unit_test(test_optibench),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_forced_format),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test_setup_teardown(test_generated_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_array_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_generated_ok, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_question_cap, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_line_cap, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_record_cap, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_files_and_buffers, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_shared_counts),
        cmocka_unit_test(test_shared_alphaopt),
        cmocka_unit_test(test_shared_llmopt),
        cmocka_unit_test(test_shared_optmath),
        cmocka_unit_test(test_shared_optibench),
    };
    return cmocka_run_group_tests_name("datasets", tests, NULL, NULL);
}
