/* Exports (.mod, .lp, .mps) of hostile names and elements: nothing written
 * into a file can become code (the MathProg `table ... OUT` injection through
 * the model name), names and elements with quotes, comment markers, '#',
 * backslashes and unicode round-trip through glpsol to the same optimum, and
 * what a format cannot hold (newlines in MathProg strings, names that
 * collide once cleaned for LP/MPS) is refused with a message naming it,
 * leaving no file behind. glpsol is the oracle; without it those checks are
 * skipped (test_differential says so too). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "tests/support.h"

static int have_glpsol;

/* The model name closes the header comment and opens a table statement. */
#define INJECTION "m */ table t {i in 1..1} OUT \"CSV\" \"pwned.csv\": i; /* x"

/* A formulation over the elements els (n of them) with profits 1..n,
 * upper bound 1 and at most 3 chosen: the optimum is the sum of the 3
 * largest profits, plus 1 for x['it''s'] when that element is there. */
static char *formulation(const char *name, const char *const *els, int n,
                         const char *param, const char *extra_term)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "format", 1);
    cJSON_AddStringToObject(o, "name", name);
    cJSON *sets = cJSON_AddArrayToObject(o, "sets");
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", "P");
    cJSON_AddItemToObject(s, "elements", cJSON_CreateStringArray(els, n));
    cJSON_AddItemToArray(sets, s);
    cJSON *ps = cJSON_AddArrayToObject(o, "parameters");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", param);
    cJSON_AddItemToObject(p, "index", cJSON_CreateStringArray((const char *[]){"P"}, 1));
    cJSON *vals = cJSON_AddArrayToObject(p, "values");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(vals, cJSON_CreateNumber(i + 1));
    cJSON_AddItemToArray(ps, p);
    cJSON *vs = cJSON_AddArrayToObject(o, "variables");
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", "x");
    cJSON_AddItemToObject(v, "index", cJSON_CreateStringArray((const char *[]){"P"}, 1));
    cJSON_AddNumberToObject(v, "upper", 1);
    cJSON_AddItemToArray(vs, v);
    char ex[512];
    snprintf(ex, sizeof ex, "sum{p in P} %s[p]*x[p]%s", param, extra_term ? extra_term : "");
    cJSON *obj = cJSON_AddObjectToObject(o, "objective");
    cJSON_AddStringToObject(obj, "sense", "maximize");
    cJSON_AddStringToObject(obj, "expression", ex);
    cJSON *cs = cJSON_AddArrayToObject(o, "constraints");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "cap");
    cJSON_AddStringToObject(c, "expression", "sum{q in P} x[q] <= 3");
    cJSON_AddItemToArray(cs, c);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static fm_model *parse(const char *json)
{
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(json, strlen(json), NULL, d, &code);
    if (code != FM_OK || !m || !fm_model_program(m)) {
        ts_print_diags(d);
        fail_msg("the formulation did not parse: %s", fm_strerror(code));
    }
    fm_diags_free(d);
    return m;
}

static double our_optimum(const fm_model *m)
{
    sv_code sc;
    sv_result *r = sv_solve(fm_model_program(m), NULL, NULL, &sc);
    assert_non_null(r);
    assert_int_equal(sv_result_status(r), SV_STATUS_OPTIMAL);
    double v = sv_result_objective(r);
    sv_result_free(r);
    return v;
}

/* Runs glpsol in dir with args and returns the objective of its solution
 * report; fails the test when glpsol finds no optimum. */
static double glpsol_optimum(const char *dir, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && glpsol %s -o sol.txt 2>&1", dir, args);
    int st;
    size_t len;
    char *out = ts_run_capture(cmd, &len, &st);
    assert_non_null(out);
    char path[1024];
    snprintf(path, sizeof path, "%s/sol.txt", dir);
    char *sol = ts_read_file(path, &len);
    const char *o = sol ? strstr(sol, "Objective:") : NULL;
    const char *eq = o ? strchr(o, '=') : NULL;
    if (!eq || !strstr(sol, "OPTIMAL")) {
        ts_print_long(out);
        fail_msg("glpsol %s found no optimum", args);
    }
    double v = strtod(eq + 1, NULL);
    free(sol);
    free(out);
    unlink(path);
    return v;
}

static void write_mod(const fm_model *m, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char err[400];
    fm_code c = fm_model_export_mathprog(m, f, err, sizeof err);
    fclose(f);
    if (c != FM_OK)
        fail_msg("MathProg export refused: %s", err);
}

static void test_mod_injection(void **state)
{
    (void)state;
    const char *els[] = {"a", "b", "c", "d"};
    char *json = formulation(INJECTION, els, 4, "profit", NULL);
    fm_model *m = parse(json);
    char *dir = ts_mkdtemp();
    char path[1024];
    snprintf(path, sizeof path, "%s/m.mod", dir);
    write_mod(m, path);
    size_t len;
    char *text = ts_read_file(path, &len);
    assert_non_null(text);
    /* The header comment is the first line and ends there. */
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    char *end = strstr(text, "*/");
    assert_non_null(end);
    assert_string_equal(end, "*/");
    free(text);
    if (have_glpsol) {
        assert_true(ts_close(glpsol_optimum(dir, "-m m.mod"), 2 + 3 + 4));
        snprintf(path, sizeof path, "%s/pwned.csv", dir);
        assert_int_equal(access(path, F_OK), -1);   /* no table was written */
    }
    ts_rmtree(dir);
    free(dir);
    fm_model_free(m);
    free(json);
}

/* Quotes, comment markers, '#', backslash, unicode, MathProg statement
 * words, and names MathProg reads otherwise (built-ins, over 100 bytes, our
 * "oa_" prefix): the .mod, .lp and .mps all solve to our optimum. (A tab is
 * refused for .mod: glpsol reads it as a blank; tests/test_probe_export.c.) */
static void test_odd_texts_round_trip(void **state)
{
    (void)state;
    const char *els[] = {"it's", "a*/b", "#hash", "back\\slash", "caf\xc3\xa9 \xe2\x98\x95",
                         "/*c", "semi;colon", "\"dq\"", "end;", "1e+99x"};
    char longname[160];
    memset(longname, 'p', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *params[] = {"profit", "sin", "oa_d1", longname};
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        char *json = formulation("odd", els, 10, params[k], " + x['it''s']");
        fm_model *m = parse(json);
        double ours = our_optimum(m);
        assert_true(ts_close(ours, 10 + 9 + 8));
        char *dir = ts_mkdtemp();
        char path[1024];
        snprintf(path, sizeof path, "%s/m.mod", dir);
        write_mod(m, path);
        snprintf(path, sizeof path, "%s/m.lp", dir);
        char err[512];
        assert_int_equal(sv_export(fm_model_program(m), SV_EXPORT_LP, path, err, sizeof err), SV_OK);
        snprintf(path, sizeof path, "%s/m.mps", dir);
        assert_int_equal(sv_export(fm_model_program(m), SV_EXPORT_MPS, path, err, sizeof err), SV_OK);
        if (have_glpsol) {
            assert_true(ts_close(glpsol_optimum(dir, "-m m.mod"), ours));
            assert_true(ts_close(glpsol_optimum(dir, "--lp m.lp"), ours));
            assert_true(ts_close(glpsol_optimum(dir, "--freemps m.mps"), -ours));   /* negated */
        }
        ts_rmtree(dir);
        free(dir);
        fm_model_free(m);
        free(json);
    }
}

/* Elements MathProg strings cannot hold: refused, naming the set and the
 * reason, with nothing written. */
static void test_mod_refuses_unwritable(void **state)
{
    (void)state;
    char big[102];
    memset(big, 'e', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *bad[] = {"line\nbreak", "bell\x07", big};
    const char *why[] = {"control", "control", "100 bytes"};
    for (int k = 0; k < 3; k++) {
        const char *els[] = {"ok", bad[k]};
        char *json = formulation("m", els, 2, "profit", NULL);
        fm_model *m = parse(json);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        char err[400];
        assert_int_equal(fm_model_export_mathprog(m, f, err, sizeof err), FM_EINVALID);
        fclose(f);
        assert_int_equal(len, 0);
        if (!strstr(err, "sets[0] 'P'") || !strstr(err, why[k]))
            fail_msg("unclear refusal: %s", err);
        free(text);
        fm_model_free(m);
        free(json);
    }
}

/* Elements that differ only in what LP/MPS names cannot carry: the export
 * is refused (a reader would merge the columns or reject the file) and the
 * file removed; the .mod of the same model is fine. */
static void test_lp_mps_collisions(void **state)
{
    (void)state;
    char long1[400], long2[400];
    memset(long1, 'y', sizeof long1 - 1);
    long1[sizeof long1 - 1] = '\0';
    memcpy(long2, long1, sizeof long1);
    long2[sizeof long2 - 2] = 'z';
    const char *sets[2][3] = {{"a\nb", "a\rb", "a b"}, {long1, long2, "short"}};
    for (int k = 0; k < 2; k++) {
        char *json = formulation("m", sets[k], 3, "profit", NULL);
        fm_model *m = parse(json);
        char *dir = ts_mkdtemp();
        char path[1024], err[600];
        const sv_export_format fmts[] = {SV_EXPORT_LP, SV_EXPORT_MPS};
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/m.%s", dir, f ? "mps" : "lp");
            assert_int_equal(sv_export(fm_model_program(m), fmts[f], path, err, sizeof err), SV_ENAME);
            if (!strstr(err, "collide"))
                fail_msg("unclear refusal: %s", err);
            assert_int_equal(access(path, F_OK), -1);
        }
        ts_rmtree(dir);
        free(dir);
        fm_model_free(m);
        free(json);
    }
}

int main(void)
{
    have_glpsol = ts_have_program("glpsol");
    if (!have_glpsol)
        fprintf(stderr, "# glpsol not found: the round trips are not checked\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mod_injection),
        cmocka_unit_test(test_odd_texts_round_trip),
        cmocka_unit_test(test_mod_refuses_unwritable),
        cmocka_unit_test(test_lp_mps_collisions),
    };
    return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
