/* test_export_mod — the .mod export reads as a person would write it, and
 * glpsol agrees with it:
 *   - the formulation's own dummies (a list index is "{P}", never a
 *     generated oa_d1), literal bounds as numbers (no ceil(0 - 1e-06)), no
 *     parentheses MathProg does not need, on every valid corpus file;
 *   - the report quantities are printed by glpsol after its solve
 *     ("NAME = VALUE"), with the values optagent computes, on every valid
 *     corpus file with a report;
 *   - operator precedence: the expressions of docs/FORMULATION.md's
 *     precedence table, and more, written with minimal parentheses, give
 *     the same values in glpsol as in optagent.
 * glpsol (glpk-utils) is the oracle; without it only the text is checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "tests/support.h"

static char *dir;
static int have_glpsol;

/* The .mod text of a solved run (the caller frees), or NULL when the model
 * is not linear. */
static char *mod_text(const sv_run *run)
{
    if (!sv_run_program(run)) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    char err[400];
    fm_code c = fm_model_export_mathprog(sv_run_model(run), f, err, sizeof err);
    fclose(f);
    if (c != FM_OK) fail_msg("export failed: %s", err);
    return text;
}

static sv_run *run_text(const char *json, size_t len)
{
    sv_code code;
    sv_run *run = sv_run_text(json, len, NULL, &code);
    assert_non_null(run);
    assert_int_equal(code, SV_OK);
    return run;
}

/* glpsol -m on text; its terminal output (the caller frees). */
static char *glpsol_output(const char *text)
{
    char path[1024], cmd[1200];
    snprintf(path, sizeof path, "%s/model.mod", dir);
    assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
    snprintf(cmd, sizeof cmd, "glpsol -m %s 2>&1", path);
    char *out = ts_run_capture(cmd, NULL, NULL);
    assert_non_null(out);
    return out;
}

/* The value glpsol printed as "name = VALUE" (the report's printf). */
static int printed_value(const char *out, const char *name, double *v)
{
    size_t n = strlen(name);
    for (const char *l = out; l && *l; ) {
        if (!strncmp(l, name, n) && !strncmp(l + n, " = ", 3)) {
            char *end;
            *v = strtod(l + n + 3, &end);
            return end != l + n + 3;
        }
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Every report value of run appears in glpsol's output of text; %g keeps 6
 * significant digits. */
static void assert_reports_printed(const sv_run *run, const char *text, const char *what)
{
    char *out = glpsol_output(text);
    for (size_t k = 0; k < sv_run_report_count(run); k++) {
        const sv_report_value *r = sv_run_report(run, k);
        if (!r->ok) continue;
        double v = NAN;
        if (!printed_value(out, r->name, &v)) {
            ts_print_long(out);
            fail_msg("%s: glpsol did not print the report '%s'", what, r->name);
        }
        if (fabs(v - r->value) > 1e-5 * fmax(1, fabs(r->value)))
            fail_msg("%s: report '%s': glpsol %.10g, optagent %.10g", what, r->name, v, r->value);
    }
    free(out);
}

static void test_corpus_mod_reads_as_written(void **state)
{
    (void)state;
    char *valid = ts_corpus_dir("valid");
    size_t n;
    char **files = ts_list_files(valid, ".json", &n);
    size_t exported = 0, with_reports = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *json = ts_read_file(files[i], &len);
        assert_non_null(json);
        sv_run *run = run_text(json, len);
        char *text = mod_text(run);
        if (text) {
            exported++;
            const char *bad[] = { "oa_d", "ceil(0 - ", "floor(0 + ", "((", " .. " };
            for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
                if (strstr(text, bad[b])) {
                    ts_print_long(text);
                    fail_msg("%s: the .mod has '%s'", files[i], bad[b]);
                }
            if (have_glpsol && sv_run_report_count(run) && sv_result_has_solution(sv_run_result(run))) {
                with_reports++;
                assert_reports_printed(run, text, files[i]);
            }
        }
        free(text);
        sv_run_free(run);
        free(json);
    }
    print_message("%zu exported, %zu with reports compared to glpsol\n", exported, with_reports);
    assert_true(exported >= 40);
    ts_free_list(files, n);
    free(valid);
}

static const char *shop =
    "{\"format\": 1, \"sets\": [{\"name\": \"P\", \"elements\": [\"chair\", \"table\"]}],\n"
    " \"parameters\": [{\"name\": \"profit\", \"index\": [\"P\"], \"values\": [30, 50]},\n"
    "                  {\"name\": \"cap\", \"index\": \"{q in P}\", \"values\": {\"chair\": 4.5, \"table\": 7}}],\n"
    " \"variables\": [{\"name\": \"x\", \"index\": [\"P\"], \"type\": \"integer\", \"lower\": 0.5, \"upper\": 7.6},\n"
    "                 {\"name\": \"y\", \"index\": \"{p in P}\", \"upper\": \"cap[p]\"},\n"
    "                 {\"name\": \"n\", \"index\": \"{p in P}\", \"type\": \"integer\", \"upper\": \"cap[p]\"}],\n"
    " \"objective\": {\"sense\": \"maximize\", \"expression\": \"sum{p in P} profit[p]*(x[p] + y[p] + n[p])\"},\n"
    " \"constraints\": [{\"name\": \"lim\", \"expression\": \"sum{P} 1 + sum{p in P} (x[p] - y[p]) <= 10\"}]}\n";

/* The declarations exactly as a person writes them. */
static void test_declarations(void **state)
{
    (void)state;
    const char *json = shop;
    sv_run *run = run_text(json, strlen(json));
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    char *text = mod_text(run);
    assert_non_null(text);
    const char *want[] = {
        "param profit{P};\n",
        "param cap{q in P};\n",
        "var x{P} integer >= 1, <= 7;\n",                 /* rounded inward, as solved */
        "var y{p in P} >= 0, <= cap[p];\n",
        "var n{p in P} integer >= 0, <= floor(cap[p] + 1e-06);\n",
        "maximize objective: sum{p in P} profit[p] * (x[p] + y[p] + n[p]);\n",
        "s.t. lim: sum{P} 1 + sum{p in P} (x[p] - y[p]) <= 10;\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i])) {
            ts_print_long(text);
            fail_msg("the .mod lacks: %s", want[i]);
        }
    if (have_glpsol) {
        char *out = glpsol_output(text);
        char obj[64];
        snprintf(obj, sizeof obj, "%.9e", sv_result_objective(sv_run_result(run)));
        if (!strstr(out, obj)) { ts_print_long(out); fail_msg("glpsol did not reach %s", obj); }
        free(out);
    }
    free(text);
    sv_run_free(run);
}

/* Report expressions over parameters only: each is written back with
 * minimal parentheses and must keep its value in glpsol. */
static const char *const precedence[] = {
    "sum{i in I} a[i] * 2 + 100", "2 * sum{i in I} a[i] / 2 + 1", "max{i in I} a[i] * 10 + 1",
    "2 ^ 3 ^ 2", "(2 ^ 3) ^ 2", "-2 ^ 2", "(-2) ^ 2", "2 ** -1", "7 div 2 + 7 mod 2 * 10",
    "-7 div 2", "-7 mod 3", "if 1 > 2 then 5", "if 1 < 2 or 1 > 2 and 0 > 1 then 1 else 2",
    "if (1 < 2 or 1 > 2) and 0 > 1 then 1 else 2", "1 + if 1 > 2 then 5 else 6 * 2",
    "(if 1 < 2 then 1 else 0) + 1", "2 - (3 - 4)", "(2 - 3) - 4", "2 / (4 * 2)", "2 / 4 * 2",
    "-(3 - 5) * 2", "- -3", "10 - -3", "sum{i in I} (a[i] + 1)", "sum{i in I} sum{j in I} a[i] * a[j]",
    "prod{i in I} a[i] + 1", "min(a[1], a[2] - 5, -a[3])", "abs(-a[2]) * -1",
    "sum{i in I: i > 1 and not (i = 3 or a[i] < 0)} a[i]", "card({i in I: a[i] >= 2}) * 2",
    "if 2 > 1 then if 1 > 2 then 3 else 4 else 5", "sum{i in 1..3 by 2} a[i] ^ 2",
};

static void test_precedence_in_glpsol(void **state)
{
    (void)state;
    if (!have_glpsol) { print_message("glpsol is not on PATH: precedence not compared\n"); return; }
    cJSON *root = cJSON_Parse(
        "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 3]}],"
        " \"parameters\": [{\"name\": \"a\", \"index\": [\"I\"], \"values\": [1, 2, 3]}],"
        " \"variables\": [{\"name\": \"x\", \"upper\": 1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": []}");
    assert_non_null(root);
    cJSON *report = cJSON_AddArrayToObject(root, "report");
    size_t n = sizeof precedence / sizeof *precedence;
    for (size_t i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        char name[16];
        snprintf(name, sizeof name, "e%zu", i);
        cJSON_AddStringToObject(r, "name", name);
        cJSON_AddStringToObject(r, "expression", precedence[i]);
        cJSON_AddItemToArray(report, r);
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    sv_run *run = run_text(json, strlen(json));
    if (fm_diags_errors(sv_run_diags(run))) ts_print_diags(sv_run_diags(run));
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    assert_int_equal(sv_run_report_count(run), n);
    for (size_t i = 0; i < n; i++) assert_true(sv_run_report(run, i)->ok);
    char *text = mod_text(run);
    assert_non_null(text);
    /* the left-associative chain loses its parentheses, the others keep theirs */
    assert_non_null(strstr(text, "'e17', 2 - 3 - 4;"));
    assert_non_null(strstr(text, "'e16', 2 - (3 - 4);"));
    assert_non_null(strstr(text, "'e4', (2^3)^2;"));
    assert_reports_printed(run, text, "precedence");
    free(text);
    sv_run_free(run);
    free(json);
}

/* A report that fails on the model (a subscript outside the index) is left
 * as a comment, so glpsol still ends without an error; one that fails only
 * at some values (a division by a variable) is printed; hostile names stay
 * inside their string or comment. */
static void test_failing_and_hostile_reports(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"sets\": [{\"name\": \"T\", \"range\": [1, 3]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"T\"], \"upper\": 2}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{t in T} x[t]\"}, \"constraints\": [],"
        " \"report\": [{\"name\": \"bad */ table t OUT\", \"expression\": \"sum{t in T} x[t+1]\"},"
        "              {\"name\": \"ratio\", \"expression\": \"x[1] / x[2]\"},"
        "              {\"name\": \"it's 100% \\\\ ok\\n\", \"expression\": \"x[3]\"}]}";
    sv_run *run = run_text(json, strlen(json));
    assert_int_equal(sv_run_status(run), SV_STATUS_OPTIMAL);
    char *text = mod_text(run);
    assert_non_null(text);
    assert_non_null(strstr(text, "/* report 'bad * / table t OUT' is not printed"));
    /* a variable denominator: guarded (tests/test_probe_export.c) */
    assert_non_null(strstr(text, "printf{1..1: x[2] != 0} '%s = %g\\n', 'ratio', x[1] / x[2];\n"));
    assert_non_null(strstr(text, "'it''s 100% \\ ok?'"));
    if (have_glpsol) {
        char *out = glpsol_output(text);
        assert_non_null(strstr(out, "Model has been successfully processed"));
        assert_non_null(strstr(out, "ratio = 1\n"));
        assert_non_null(strstr(out, "it's 100% \\ ok? = 2\n"));
        free(out);
    }
    free(text);
    sv_run_free(run);
}

static int setup(void **state)
{
    (void)state;
    have_glpsol = ts_have_program("glpsol");
    if (!have_glpsol) print_message("glpsol is not on PATH: install glpk-utils; glpsol checks skipped\n");
    dir = ts_mkdtemp();
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_mod_reads_as_written),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_precedence_in_glpsol),
        cmocka_unit_test(test_failing_and_hostile_reports),
    };
    return cmocka_run_group_tests_name("export_mod", tests, setup, teardown);
}
