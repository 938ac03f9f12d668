/* test_render — ag_formulation_render (agent/core/render.c) and
 * `optagent show`: every valid corpus file renders and names each of its
 * declarations; the exact text of a small model covering every form (sets
 * by elements, range, step, tuples, from; scalar, expression, array, keyed,
 * rows, default, computed parameters; integer, binary, bounded and free
 * variables; descriptions; an unnamed constraint; report); long sets and
 * data summarised within the width; control characters escaped; an invalid
 * model rendered with its first error; unreadable JSON refused with its
 * position; the command's output, exit codes and messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"
#include "tests/support.h"

static const char shop_json[] =
    "{\"format\": 1, \"name\": \"shop\", \"description\": \"A small test model.\",\n"
    " \"sets\": [\n"
    "  {\"name\": \"P\", \"elements\": [\"chair\", \"table\"], \"description\": \"products\"},\n"
    "  {\"name\": \"T\", \"range\": [1, 12]},\n"
    "  {\"name\": \"EVEN\", \"range\": [2, \"2 * weeks\", 2]},\n"
    "  {\"name\": \"N\", \"elements\": [\"s\", \"a\", \"t\"]},\n"
    "  {\"name\": \"ARCS\", \"dimen\": 2, \"elements\": [[\"s\",\"a\"], [\"a\",\"t\"]]},\n"
    "  {\"name\": \"LINKS\", \"from\": \"{i in N, j in N: bw[i,j] > 0}\"},\n"
    "  {\"name\": \"Q\", \"elements\": [1, \"two\", \"O'Brien\"]}\n"
    " ],\n"
    " \"parameters\": [\n"
    "  {\"name\": \"weeks\", \"value\": 4},\n"
    "  {\"name\": \"half\", \"value\": \"weeks / 2\"},\n"
    "  {\"name\": \"price\", \"index\": [\"P\"], \"values\": [30, 50.5], \"description\": \"in set order\"},\n"
    "  {\"name\": \"use\", \"index\": [\"N\", \"P\"], \"values\": {\"s\": {\"chair\": 1, \"table\": 2}}, \"default\": 0},\n"
    "  {\"name\": \"cap\", \"index\": [\"ARCS\"], \"rows\": [[\"s\", \"a\", 8], [\"a\", \"t\", 4]]},\n"
    "  {\"name\": \"bw\", \"index\": [\"N\", \"N\"], \"default\": 1},\n"
    "  {\"name\": \"demand\", \"index\": [\"T\"], \"values\": [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]},\n"
    "  {\"name\": \"margin\", \"index\": \"{p in P}\", \"expression\": \"price[p] - 10\"}\n"
    " ],\n"
    " \"variables\": [\n"
    "  {\"name\": \"x\", \"index\": [\"P\"], \"type\": \"integer\", \"lower\": 0, \"upper\": null},\n"
    "  {\"name\": \"open\", \"index\": [\"N\"], \"type\": \"binary\"},\n"
    "  {\"name\": \"f\", \"index\": \"{(i,j) in ARCS}\", \"upper\": \"cap[i,j]\", \"description\": \"flow\"},\n"
    "  {\"name\": \"t\", \"lower\": null},\n"
    "  {\"name\": \"y\", \"lower\": null, \"upper\": 3}\n"
    " ],\n"
    " \"objective\": {\"name\": \"profit\", \"sense\": \"max\", \"expression\": \"sum{p in P} margin[p] * x[p] + t + y\"},\n"
    " \"constraints\": [\n"
    "  {\"name\": \"limit\", \"index\": \"{p in P}\", \"expression\": \"x[p] <= 10 * open['s']\", \"description\": \"per product\"},\n"
    "  {\"expression\": \"t <= half\"},\n"
    "  {\"name\": \"flow\", \"expression\": \"sum{(i,j) in ARCS} f[i,j] <= 100\"}\n"
    " ],\n"
    " \"report\": [{\"name\": \"chairs\", \"expression\": \"x['chair']\"}]\n"
    "}\n";

static const char shop_text[] =
    "formulation shop\n"
    "# A small test model.\n"
    "sets:\n"
    "  P = {chair, table}  # products\n"
    "  T = 1..12\n"
    "  EVEN = 2..2 * weeks by 2\n"
    "  N = {s, a, t}\n"
    "  ARCS dimen 2 = {(s,a), (a,t)}\n"
    "  LINKS = {i in N, j in N: bw[i,j] > 0}\n"
    "  Q = {1, two, 'O''Brien'}\n"
    "parameters:\n"
    "  weeks = 4\n"
    "  half = weeks / 2\n"
    "  price[P] = {chair: 30, table: 50.5}  # in set order\n"
    "  use[N,P] = {(s,chair): 1, (s,table): 2} default 0\n"
    "  cap[ARCS] = {(s,a): 8, (a,t): 4}\n"
    "  bw[N,N] default 1\n"
    "  demand[T] = {1: 5, 2: 6, 3: 7, 4: 8, 5: 9, 6: 10, ... (12 values)}\n"
    "  margin[p in P] = price[p] - 10\n"
    "variables:\n"
    "  x[P] integer >= 0\n"
    "  open[N] binary\n"
    "  f[(i,j) in ARCS] >= 0, <= cap[i,j]  # flow\n"
    "  t free\n"
    "  y <= 3\n"
    "maximize profit: sum{p in P} margin[p] * x[p] + t + y\n"
    "subject to:\n"
    "  limit[p in P]: x[p] <= 10 * open['s']  # per product\n"
    "  c2: t <= half\n"
    "  flow: sum{(i,j) in ARCS} f[i,j] <= 100\n"
    "report:\n"
    "  chairs = x['chair']\n";

static char *render(const char *json, char *err, size_t errlen)
{
    return ag_formulation_render(json, strlen(json), err, errlen);
}

/* Fails with both texts shown when they differ. */
static void expect_text(const char *got, const char *want)
{
    if (!got || strcmp(got, want)) {
        print_error("# want:\n");
        ts_print_long(want);
        print_error("# got:\n");
        ts_print_long(got ? got : "(NULL)");
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

/* No line of text is longer than max columns (bytes). */
static void expect_width(const char *text, size_t max)
{
    for (const char *s = text; *s; ) {
        size_t n = strcspn(s, "\n");
        if (n > max) print_error("# line of %zu: %.*s\n", n, (int)n, s);
        assert_true(n <= max);
        s += n + (s[n] != 0);
    }
}

static void test_shop_exact(void **state)
{
    (void)state;
    char err[256] = "x";
    char *got = render(shop_json, err, sizeof err);
    expect_text(got, shop_text);
    assert_string_equal(err, "");
    free(got);
}

/* The name of each declaration appears in the text. */
static void expect_names(const char *path, const char *text, const cJSON *root)
{
    static const char *const keys[] = { "sets", "parameters", "variables", "constraints", "report" };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, keys[k])) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (!cJSON_IsString(n)) continue;
            if (!strstr(text, n->valuestring)) print_error("# %s: %s '%s' not shown\n", path, keys[k], n->valuestring);
            assert_non_null(strstr(text, n->valuestring));
        }
    }
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "objective");
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "name");
    assert_non_null(strstr(text, cJSON_IsString(on) ? on->valuestring : "objective"));
}

static void test_corpus_valid(void **state)
{
    (void)state;
    char *dir = ts_corpus_dir("valid");
    size_t n = 0;
    char **files = ts_list_files(dir, ".json", &n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *json = ts_read_file(files[i], &len), err[256];
        assert_non_null(json);
        char *text = ag_formulation_render(json, len, err, sizeof err);
        if (!text) print_error("# %s: %s\n", files[i], err);
        assert_non_null(text);
        assert_true(strncmp(text, "formulation ", 12) == 0);
        assert_null(strstr(text, "\ninvalid: "));
        cJSON *root = cJSON_Parse(json);
        assert_non_null(root);
        expect_names(files[i], text, root);
        cJSON_Delete(root);
        free(text);
        free(json);
    }
    ts_free_list(files, n);
    free(dir);
}

/* Every invalid corpus file renders with an "invalid:" line, or is
 * refused with a reason (unreadable JSON); never a crash (asan). */
static void test_corpus_invalid(void **state)
{
    (void)state;
    char *dir = ts_corpus_dir("invalid");
    size_t n = 0;
    char **files = ts_list_files(dir, ".json", &n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *json = ts_read_file(files[i], &len), err[256] = "";
        assert_non_null(json);
        char *text = ag_formulation_render(json, len, err, sizeof err);
        if (text) assert_true(strncmp(text, "formulation ", 12) == 0);
        else assert_true(*err != 0);
        free(text);
        free(json);
    }
    ts_free_list(files, n);
    free(dir);
}

/* A model around one set and one parameter over it. */
static char *one_set_model(const char *set, const char *param)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"format\": 1, \"sets\": [%s], \"parameters\": [%s],"
             " \"variables\": [{\"name\": \"x\", \"index\": [\"S\"]}],"
             " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{s in S} x[s]\"},"
             " \"constraints\": []}", set, param);
    char err[256];
    char *text = render(buf, err, sizeof err);
    if (!text) print_error("# %s\n", err);
    assert_non_null(text);
    return text;
}

static void test_long_summarised(void **state)
{
    (void)state;
    char set[4096] = "{\"name\": \"S\", \"elements\": [", param[4096] = "{\"name\": \"w\", \"index\": [\"S\"], \"values\": [";
    for (int i = 1; i <= 25; i++) {
        snprintf(set + strlen(set), sizeof set - strlen(set), "%s\"e%d\"", i > 1 ? ", " : "", i);
        snprintf(param + strlen(param), sizeof param - strlen(param), "%s%d", i > 1 ? ", " : "", i * 10);
    }
    strcat(set, "]}");
    strcat(param, "]}");
    char *text = one_set_model(set, param);
    assert_non_null(strstr(text, "\n  S = {e1, e2, e3, e4, e5, e6, e7, e8, ... (25 elements)}\n"));
    assert_non_null(strstr(text, "\n  w[S] = {e1: 10, e2: 20, e3: 30, e4: 40, e5: 50, e6: 60, ... (25 values)}\n"));
    free(text);

    /* exactly 10 elements: shown whole */
    text = one_set_model("{\"name\": \"S\", \"range\": [1, 10]}",
                         "{\"name\": \"w\", \"index\": [\"S\"], \"values\": {\"1\": 5, \"2\": 6}, \"default\": 0}");
    assert_non_null(strstr(text, "\n  S = 1..10\n"));
    assert_non_null(strstr(text, "\n  w[S] = {1: 5, 2: 6} default 0\n"));
    free(text);
    text = one_set_model("{\"name\": \"S\", \"elements\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}",
                         "{\"name\": \"w\", \"index\": [\"S\"], \"values\": [1, 2, 3, 4, 5, 6]}");
    assert_non_null(strstr(text, "\n  S = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}\n"));
    assert_non_null(strstr(text, "\n  w[S] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6}\n"));
    free(text);

    /* long elements: as many as fit in the width, then the count; a long
     * description goes on the lines below */
    char big[4096] = "{\"name\": \"S\", \"description\": \"";
    for (int i = 0; i < 40; i++) strcat(big, "word ");
    strcat(big, "\", \"elements\": [");
    for (int i = 0; i < 5; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"a_rather_long_element_name_number_%d\"",
                 i ? ", " : "", i);
    strcat(big, "]}");
    text = one_set_model(big, "{\"name\": \"k\", \"value\": 1}");
    expect_width(text, 100);
    assert_non_null(strstr(text, "... (5 elements)}\n    # word word"));
    free(text);
}

static void test_control_escaped(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"name\": \"evil\\u001b[2J\\u0007\","
        " \"description\": \"line1\\nline2\\ttab \\u009b31m del\\u007f\","
        " \"sets\": [{\"name\": \"S\", \"elements\": [\"a\\u001bb\", \"tab\\there\"]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"S\"], \"description\": \"\\u001b]0;title\\u0007\"}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{s in S} x[s]\"},"
        " \"constraints\": [], \"report\": [{\"name\": \"r\\r\", \"expression\": \"x['a']\"}]}";
    char err[256];
    char *text = render(json, err, sizeof err);
    assert_non_null(text);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        assert_true(*p >= 0x20 || *p == '\n');
        assert_true(*p != 0x7f);
        if (*p == 0xc2) assert_true(p[1] >= 0xa0);
    }
    assert_non_null(strstr(text, "formulation evil\\x1b[2J\\x07\n"));
    assert_non_null(strstr(text, "# line1\\nline2\\ttab \\u009b31m del\\x7f\n"));
    assert_non_null(strstr(text, "S = {'a\\x1bb', 'tab\\there'}"));
    assert_non_null(strstr(text, "# \\x1b]0;title\\x07\n"));
    assert_non_null(strstr(text, "r\\r = x['a']"));
    free(text);
}

static void test_invalid_still_rendered(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"type\": \"integer\", \"upper\": 5}],"
        " \"objective\": {\"name\": \"z\", \"sense\": \"minimize\", \"expression\": \"x + y\"},"
        " \"constraints\": [{\"name\": \"lim\", \"expression\": \"x >= 1\"}]}";
    char err[256];
    char *text = render(json, err, sizeof err);
    expect_text(text,
                "formulation (unnamed)\n"
                "variables:\n"
                "  x integer >= 0, <= 5\n"
                "minimize z: x + y\n"
                "subject to:\n"
                "  lim: x >= 1\n"
                "invalid: objective 'z': in \"expression\" at column 5: undeclared name 'y'\n");
    free(text);
}

static void test_malformed_json(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(render("{\"format\": 1,\n  \"variables\": [}", err, sizeof err));
    assert_string_equal(err, "json syntax error at line 2, column 17");
    assert_null(render("", err, sizeof err));
    assert_string_equal(err, "json syntax error: the input is empty");
    assert_null(render("[1, 2]", err, sizeof err));
    assert_non_null(strstr(err, "expected a JSON object"));
    char *t = ag_formulation_render("[", 1, NULL, 0);   /* err may be NULL */
    assert_null(t);
    assert_null(ag_formulation_render(NULL, 0, err, sizeof err));
}

/* ---- optagent show ---- */

static char *g_tmp;

static char *run_show(const char *args, const char *stdin_path, int *status)
{
    const char *bin = getenv("OPTAGENT_BUILD") ? getenv("OPTAGENT_BUILD") : "build";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/optagent show %s <%s 2>%s/stderr.txt", bin, args,
             stdin_path ? stdin_path : "/dev/null", g_tmp);
    int st;
    char *out = ts_run_capture(cmd, NULL, &st);
    assert_non_null(out);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return out;
}

static char *stderr_text(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/stderr.txt", g_tmp);
    size_t len;
    char *s = ts_read_file(path, &len);
    assert_non_null(s);
    return s;
}

static void test_cli_show(void **state)
{
    (void)state;
    g_tmp = ts_mkdtemp();
    assert_non_null(g_tmp);
    char path[1024], bad[1024], args[2100];
    snprintf(path, sizeof path, "%s/shop.json", g_tmp);
    snprintf(bad, sizeof bad, "%s/bad.json", g_tmp);
    assert_int_equal(ts_write_file(path, shop_json, strlen(shop_json)), 0);
    assert_int_equal(ts_write_file(bad, "{\"a\": 1,}", 9), 0);
    int st;

    snprintf(args, sizeof args, "'%s'", path);
    char *out = run_show(args, NULL, &st), *err = stderr_text();
    assert_int_equal(st, 0);
    expect_text(out, shop_text);
    assert_string_equal(err, "");
    free(out); free(err);

    out = run_show("-", path, &st);              /* standard input */
    assert_int_equal(st, 0);
    expect_text(out, shop_text);
    free(out);

    snprintf(args, sizeof args, "'%s'", bad);
    out = run_show(args, NULL, &st);
    err = stderr_text();
    assert_int_equal(st, 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "json syntax error at line 1, column 9"));
    free(out); free(err);

    out = run_show("/nonexistent/file.json", NULL, &st);
    assert_int_equal(st, 1);
    free(out);

    out = run_show("--help", NULL, &st);
    assert_int_equal(st, 0);
    assert_true(strncmp(out, "usage: optagent show", 20) == 0);
    free(out);

    out = run_show("", NULL, &st);
    err = stderr_text();
    assert_int_equal(st, 2);
    assert_string_equal(err, "optagent show: no formulation file given\nTry 'optagent show --help'.\n");
    free(out); free(err);

    out = run_show("--bogus", NULL, &st);
    assert_int_equal(st, 2);
    free(out);

    ts_rmtree(g_tmp);
    free(g_tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shop_exact),
        cmocka_unit_test(test_corpus_valid),
        cmocka_unit_test(test_corpus_invalid),
        cmocka_unit_test(test_long_summarised),
        cmocka_unit_test(test_control_escaped),
        cmocka_unit_test(test_invalid_still_rendered),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_cli_show),
    };
    return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
