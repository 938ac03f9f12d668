/* test_export_mps — `solve --export FILE.mps` writes fixed MPS when every
 * column and constraint name fits its 8-character fields (glpsol --mps reads
 * it, names kept), free MPS otherwise, and says which on stderr; both read
 * back in glpsol to our optimum (negated for a maximization, see
 * docs/FORMULATION.md, "Exports"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "tests/support.h"
#include "tests/support_cli.h"

/* max 3 x + 2 y (optimum 11), with the names given. */
static char *model(const char *var, const char *row)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"format\": 1, \"sets\": [{\"name\": \"K\", \"elements\": [\"a\"]}],"
             " \"variables\": [{\"name\": \"%s\", \"index\": [\"K\"]}, {\"name\": \"y\"}],"
             " \"objective\": {\"sense\": \"max\", \"expression\": \"3*%s['a'] + 2*y\"},"
             " \"constraints\": [{\"name\": \"%s\", \"expression\": \"%s['a'] + y <= 4\"},"
             " {\"name\": \"b\", \"expression\": \"%s['a'] + 3*y <= 7\"},"
             " {\"name\": \"c\", \"expression\": \"%s['a'] <= 3\"}]}",
             var, var, row, var, var, var);
    return buf;
}

/* Exports json to name.mps; returns optagent's stderr (the caller frees). */
static char *export_mps(const char *json, const char *name, const char **mps)
{
    const char *in = ts_cli_path("in.json");
    assert_int_equal(ts_write_file(in, json, strlen(json)), 0);
    char file[64];
    snprintf(file, sizeof file, "%s.mps", name);
    *mps = ts_cli_path(file);
    char *err;
    assert_int_equal(ts_cli_sh(&err, "%s/optagent solve --check --export %s %s 2>&1 >/dev/null",
                               ts_cli_bin(), *mps, in), 0);
    return err;
}

/* glpsol's objective on the file read with flag; NAN when it failed. */
static double glpsol_objective(const char *flag, const char *path, char **output)
{
    char *out;
    ts_cli_sh(&out, "glpsol %s %s -o /dev/stdout 2>&1", flag, path);
    double obj = NAN;
    /* the solution report's "Objective:  R0000000 = -11 (MINimum)" */
    for (const char *o = strstr(out, "Objective:"); o; o = strstr(o + 1, "Objective:")) {
        const char *eq = strchr(o, '='), *nl = strchr(o, '\n');
        if (eq && (!nl || eq < nl)) { obj = strtod(eq + 1, NULL); break; }
    }
    if (output) *output = out; else free(out);
    return obj;
}

static void test_short_names_fixed(void **state)
{
    (void)state;
    const char *mps;
    char *err = export_mps(model("x", "a"), "short", &mps);
    assert_non_null(strstr(err, "as fixed MPS (glpsol --mps)"));
    free(err);
    size_t len;
    char *text = ts_read_file(mps, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "Fixed MPS"));
    free(text);
    if (!ts_have_program("glpsol")) { print_message("glpsol is not on PATH: not read back\n"); return; }
    char *out;
    double obj = glpsol_objective("--mps", mps, &out);
    assert_true(fabs(obj + 11) < 1e-6);            /* the negated maximum */
    assert_non_null(strstr(out, "x[a]"));         /* its own names, not C0000001 */
    assert_null(strstr(out, "C0000001"));
    free(out);
}

/* 8 characters still fit; 9 do not. */
static void test_boundary_and_long_names_free(void **state)
{
    (void)state;
    const char *mps;
    char *err = export_mps(model("x", "abcdefgh"), "eight", &mps);
    assert_non_null(strstr(err, "fixed MPS"));
    free(err);
    err = export_mps(model("x", "abcdefghi"), "nine", &mps);
    assert_non_null(strstr(err, "as free MPS"));
    assert_non_null(strstr(err, "--freemps"));
    free(err);
    if (ts_have_program("glpsol")) {
        char *out;
        assert_true(fabs(glpsol_objective("--freemps", mps, &out) + 11) < 1e-6);
        assert_non_null(strstr(out, "abcdefghi"));
        free(out);
    }
    err = export_mps(model("long_name", "a"), "longvar", &mps);
    assert_non_null(strstr(err, "as free MPS"));
    free(err);
}

/* The choice itself, in-process: an element with a blank forces free MPS. */
static void test_mps_format_choice(void **state)
{
    (void)state;
    const char *json =
        "{\"format\": 1, \"sets\": [{\"name\": \"K\", \"elements\": [\"a b\"]}],"
        " \"variables\": [{\"name\": \"x\", \"index\": [\"K\"]}],"
        " \"objective\": {\"sense\": \"min\", \"expression\": \"sum{k in K} x[k]\"}, \"constraints\": []}";
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(json, strlen(json), NULL, d, &code);
    assert_non_null(m);
    assert_int_equal(code, FM_OK);
    assert_int_equal(sv_export_mps_format(fm_model_program(m)), SV_EXPORT_MPS);
    fm_model_free(m);
    fm_diags_free(d);
    assert_int_equal(sv_export_mps_format(NULL), SV_EXPORT_MPS);
}

/* Without constraints, a variable in nothing cannot be written by GLPK's
 * MPS writer (it needs a row): a clear refusal, no file; when every
 * variable is in the objective the file is written and read back. */
static void test_no_rows(void **state)
{
    (void)state;
    const char *in = ts_cli_path("norows.json"), *mps = ts_cli_path("norows.mps");
    const char *idle = "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1}, {\"name\": \"y\"}],"
                       " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": []}";
    assert_int_equal(ts_write_file(in, idle, strlen(idle)), 0);
    remove(mps);
    char *err;
    assert_int_equal(ts_cli_sh(&err, "%s/optagent solve --check --export %s %s 2>&1 >/dev/null",
                               ts_cli_bin(), mps, in), 1);
    assert_non_null(strstr(err, "variable 'y'"));
    assert_non_null(strstr(err, "export to .lp or .mod"));
    free(err);
    size_t len;
    char *text = ts_read_file(mps, &len);
    assert_null(text);
    const char *used = "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1}, {\"name\": \"y\", \"upper\": 2}],"
                       " \"objective\": {\"sense\": \"max\", \"expression\": \"x + y\"}, \"constraints\": []}";
    err = export_mps(used, "used", &mps);
    assert_non_null(strstr(err, "fixed MPS"));
    free(err);
    if (ts_have_program("glpsol")) assert_true(fabs(glpsol_objective("--mps", mps, NULL) + 3) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_names_fixed),
        cmocka_unit_test(test_boundary_and_long_names_free),
        cmocka_unit_test(test_mps_format_choice),
        cmocka_unit_test(test_no_rows),
    };
    return cmocka_run_group_tests_name("export_mps", tests, ts_cli_setup, ts_cli_teardown);
}
