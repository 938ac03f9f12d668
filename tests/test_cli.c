/* The optagent command line: exit codes, stdout/stderr discipline, JSON
 * output, stdin, exports re-solved by glpsol. Runs the built binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "solver/internal.h"   /* sv_ipopt_available */

static char *tmpdir;
static char bin[512];

static const char *shop =
    "{\"format\": 1, \"name\": \"shop\",\n"
    " \"sets\": [{\"name\": \"P\", \"elements\": [\"chair\", \"table\"]},\n"
    "          {\"name\": \"R\", \"elements\": [\"labor\", \"boards\"]}],\n"
    " \"parameters\": [\n"
    "   {\"name\": \"profit\", \"index\": [\"P\"], \"values\": [30, 50]},\n"
    "   {\"name\": \"use\", \"index\": [\"R\",\"P\"], \"values\": [[2, 5], [3, 4]]},\n"
    "   {\"name\": \"avail\", \"index\": [\"R\"], \"values\": {\"labor\": 40, \"boards\": 36}}],\n"
    " \"variables\": [{\"name\": \"x\", \"index\": [\"P\"], \"type\": \"integer\"}],\n"
    " \"objective\": {\"sense\": \"maximize\", \"expression\": \"sum{p in P} profit[p]*x[p]\"},\n"
    " \"constraints\": [\n"
    "   {\"name\": \"cap\", \"index\": \"{r in R}\", \"expression\": \"sum{p in P} use[r,p]*x[p] <= avail[r]\"},\n"
    "   {\"name\": \"tables\", \"expression\": \"x['table'] >= 2\"}],\n"
    " \"report\": [{\"name\": \"tables built\", \"expression\": \"x['table']\"}]}\n";

static const char *lp =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],\n"
    " \"objective\": {\"sense\": \"max\", \"expression\": \"3*x + 2*y\"},\n"
    " \"constraints\": [{\"name\": \"a\", \"expression\": \"x + y <= 4\"},\n"
    "                   {\"name\": \"b\", \"expression\": \"x + 3*y <= 7\"},\n"
    "                   {\"name\": \"c\", \"expression\": \"x <= 3\"}]}\n";

static const char *infeasible =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],\n"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},\n"
    " \"constraints\": [{\"expression\": \"x >= 5\"}, {\"expression\": \"x <= 3\"}]}\n";

static const char *nonlinear =
    "{\"format\": 1, \"variables\": [{\"name\": \"w\"}, {\"name\": \"h\"}],\n"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"w + h\"},\n"
    " \"constraints\": [{\"name\": \"area\", \"expression\": \"w*h >= 10\"}]}\n";

static const char *undeclared =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],\n"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},\n"
    " \"constraints\": [{\"name\": \"lim\", \"expression\": \"x >= cap\"}]}\n";

typedef struct { int code; char *out; char *err; } run_result;

static void run_free(run_result *r) { free(r->out); free(r->err); }

static char *path_in(const char *name)
{
    static char p[64][1024];   /* rotating: callers keep a few at a time */
    static int k;
    k = (k + 1) % 64;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static const char *write_case(const char *name, const char *text)
{
    const char *p = path_in(name);
    assert_int_equal(ts_write_file(p, text, strlen(text)), 0);
    return p;
}

/* Runs "optagent ARGS" through the shell; stdin from in_file when given. */
static run_result run(const char *in_file, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *errp = path_in("stderr.txt");
    snprintf(cmd, sizeof cmd, "%s %s 2>%s%s%s", bin, args, errp, in_file ? " <" : " </dev/null",
             in_file ? in_file : "");
    run_result r;
    size_t len;
    int st;
    r.out = ts_run_capture(cmd, &len, &st);
    assert_non_null(r.out);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r.err = ts_read_file(errp, &len);
    assert_non_null(r.err);
    return r;
}

static void test_help_on_stdout(void **state)
{
    (void)state;
    run_result r = run(NULL, "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: optagent"));
    assert_string_equal(r.err, "");
    run_free(&r);
    r = run(NULL, "solve --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--time-limit"));
    run_free(&r);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    const char *cases[] = { "", "frobnicate", "solve", "solve --time-limit", "solve --time-limit abc x.json",
                            "solve --mip-gap -1 x.json", "solve --bogus x.json", "solve a.json b.json",
                            "solve --export out.txt x.json" };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_result r = run(NULL, "%s", cases[i]);
        if (r.code != 2) print_error("case '%s' exited %d\n", cases[i], r.code);
        assert_int_equal(r.code, 2);
        assert_string_equal(r.out, "");
        assert_true(strlen(r.err) > 0);
        run_free(&r);
    }
}

static void test_version_lists_libraries(void **state)
{
    (void)state;
    run_result r = run(NULL, "--version");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "optagent "));
    assert_non_null(strstr(r.out, "glpk "));
    assert_non_null(strstr(r.out, "sqlite "));
    assert_non_null(strstr(r.out, "libcurl/"));
    assert_non_null(strstr(r.out, "cjson "));
    run_free(&r);
}

/* solve never opens a connection, so it must not load libcurl (agent/curl_dl.c:
 * libcurl and its dependencies were most of a small solve's start-up). The
 * dynamic loader names every library it loads under LD_DEBUG=files. */
static void test_solve_does_not_load_libcurl(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve %s", write_case("shop_nocurl.json", shop));
    run_free(&r);
    char cmd[2048];
    size_t len;
    int st;
    snprintf(cmd, sizeof cmd, "LD_DEBUG=files %s solve %s 2>&1 >/dev/null", bin, path_in("shop_nocurl.json"));
    char *log = ts_run_capture(cmd, &len, &st);
    assert_non_null(log);
    assert_non_null(strstr(log, "libglpk"));      /* the log is there ... */
    assert_null(strstr(log, "libcurl"));          /* ... and names no libcurl */
    free(log);
    snprintf(cmd, sizeof cmd, "LD_DEBUG=files %s --version 2>&1 >/dev/null", bin);
    log = ts_run_capture(cmd, &len, &st);
    assert_non_null(log);
    assert_non_null(strstr(log, "libcurl"));      /* loaded on first use */
    free(log);
}

static void test_missing_file_exit_1(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve %s", path_in("no-such-file.json"));
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "no-such-file.json"));
    assert_string_equal(r.out, "");
    run_free(&r);
}

static void test_summary(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve %s", write_case("shop.json", shop));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "status: optimal"));
    assert_non_null(strstr(r.out, "objective: 420"));
    assert_non_null(strstr(r.out, "x[table] = 6"));
    assert_non_null(strstr(r.out, "tables built = 6"));
    assert_string_equal(r.err, "");
    run_free(&r);
}

static cJSON *json_of(run_result *r)
{
    cJSON *j = cJSON_Parse(r->out);
    if (!j) print_error("stdout is not one JSON document:\n%s\n", r->out);
    assert_non_null(j);
    return j;
}

static void test_json_report(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve --json %s", write_case("shop.json", shop));
    assert_int_equal(r.code, 0);
    cJSON *j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "optimal");
    assert_true(ts_close(cJSON_GetObjectItem(j, "objective")->valuedouble, 420));
    assert_string_equal(cJSON_GetObjectItem(j, "class")->valuestring, "MILP");
    assert_true(!strncmp(cJSON_GetObjectItem(j, "solver")->valuestring, "glpk ", 5));
    cJSON *vars = cJSON_GetObjectItem(j, "variables");
    assert_true(ts_close(cJSON_GetObjectItem(vars, "x[chair]")->valuedouble, 4));
    assert_true(ts_close(cJSON_GetObjectItem(vars, "x[table]")->valuedouble, 6));
    cJSON *rep = cJSON_GetObjectItem(j, "report");
    assert_true(ts_close(cJSON_GetObjectItem(rep, "tables built")->valuedouble, 6));
    cJSON *size = cJSON_GetObjectItem(j, "size");
    assert_int_equal(cJSON_GetObjectItem(size, "rows")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(size, "cols")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(size, "nonzeros")->valueint, 5);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "diagnostics")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "time_ms")));
    cJSON_Delete(j);
    run_free(&r);
}

static void test_lp_duals_and_slacks(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve --json %s", write_case("lp.json", lp));
    assert_int_equal(r.code, 0);
    cJSON *j = json_of(&r);
    /* max 3x+2y, x+y<=4, x+3y<=7, x<=3: x=3, y=1, obj 11; duals a=2, b=0, c=1 */
    assert_true(ts_close(cJSON_GetObjectItem(j, "objective")->valuedouble, 11));
    cJSON *d = cJSON_GetObjectItem(j, "duals"), *s = cJSON_GetObjectItem(j, "slacks");
    assert_non_null(d);
    assert_non_null(s);
    assert_true(ts_close(cJSON_GetObjectItem(d, "a")->valuedouble, 2));
    assert_true(ts_close(cJSON_GetObjectItem(d, "b")->valuedouble, 0));
    assert_true(ts_close(cJSON_GetObjectItem(d, "c")->valuedouble, 1));
    assert_true(ts_close(cJSON_GetObjectItem(s, "b")->valuedouble, 1));
    cJSON_Delete(j);
    run_free(&r);
}

static void test_stdin(void **state)
{
    (void)state;
    run_result r = run(write_case("shop.json", shop), "solve --json -");
    assert_int_equal(r.code, 0);
    cJSON *j = json_of(&r);
    assert_true(ts_close(cJSON_GetObjectItem(j, "objective")->valuedouble, 420));
    cJSON_Delete(j);
    run_free(&r);
}

static void test_infeasible_is_solved(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve --json %s", write_case("inf.json", infeasible));
    assert_int_equal(r.code, 0);
    cJSON *j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "infeasible");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "objective")));
    cJSON_Delete(j);
    run_free(&r);
}

static void test_invalid_exit_1_with_diagnostic(void **state)
{
    (void)state;
    const char *f = write_case("undeclared.json", undeclared);
    run_result r = run(NULL, "solve --json %s", f);
    assert_int_equal(r.code, 1);
    cJSON *j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "invalid");
    cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "diagnostics"), 0);
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItem(d, "severity")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(d, "element")->valuestring, "constraints[0] 'lim'");
    assert_non_null(strstr(cJSON_GetObjectItem(d, "message")->valuestring, "undeclared name 'cap'"));
    cJSON_Delete(j);
    run_free(&r);
    r = run(NULL, "solve %s", f);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "status: invalid"));
    assert_non_null(strstr(r.out, "undeclared name 'cap'"));
    run_free(&r);
}

/* A nonlinear model is solved (Ipopt; convex, so proven) and the report
 * names the backend; --solver glpk refuses it, LP export refuses it, the
 * nonlinear terms are information. */
static void test_nonlinear_solved(void **state)
{
    (void)state;
    if (!sv_ipopt_available()) skip();
    const char *path = write_case("nl.json", nonlinear);
    run_result r = run(NULL, "solve --json %s", path);
    assert_int_equal(r.code, 0);
    cJSON *j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "optimal");
    assert_string_equal(cJSON_GetObjectItem(j, "class")->valuestring, "NLP");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "solver")->valuestring, "ipopt"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "proven")));
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "starts"), "run")->valueint >= 1);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "reformulations")));
    assert_true(ts_close(cJSON_GetObjectItem(j, "objective")->valuedouble, 2 * sqrt(10)));
    cJSON *vars = cJSON_GetObjectItem(j, "variables");
    assert_true(fabs(cJSON_GetObjectItem(vars, "w")->valuedouble - sqrt(10)) < 1e-5);
    cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "diagnostics"), 0);
    assert_string_equal(cJSON_GetObjectItem(d, "severity")->valuestring, "info");
    assert_non_null(strstr(cJSON_GetObjectItem(d, "message")->valuestring, "product of variables w*h"));
    cJSON_Delete(j);
    run_free(&r);

    r = run(NULL, "solve %s --starts 3", path);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "solver: ipopt"));
    assert_non_null(strstr(r.out, "w = "));
    run_free(&r);

    r = run(NULL, "solve --json --solver glpk %s", path);
    assert_int_equal(r.code, 1);
    j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "unsupported");
    cJSON_Delete(j);
    run_free(&r);

    r = run(NULL, "solve %s --export %s.lp", path, path);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "linear models only"));
    run_free(&r);

    r = run(NULL, "solve %s --solver simplex", path);
    assert_int_equal(r.code, 2);
    run_free(&r);
    r = run(NULL, "solve %s --starts 0", path);
    assert_int_equal(r.code, 2);
    run_free(&r);
}

static void test_check_only(void **state)
{
    (void)state;
    run_result r = run(NULL, "solve --check %s", write_case("shop.json", shop));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "valid"));
    assert_null(strstr(r.out, "objective:"));
    run_free(&r);
    r = run(NULL, "solve --check %s", write_case("undeclared.json", undeclared));
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "invalid"));
    run_free(&r);
}

/* glpsol's optimum of a file, from its -w solution file. */
static double glpsol_objective(const char *how, const char *file)
{
    char cmd[2048];
    const char *sol = path_in("glpsol.sol");
    snprintf(cmd, sizeof cmd, "glpsol %s %s -w %s >/dev/null 2>&1", how, file, sol);
    size_t len;
    int st;
    free(ts_run_capture(cmd, &len, &st));
    char *text = ts_read_file(sol, &len);
    if (!text) fail_msg("glpsol wrote no solution for %s", file);
    double obj = NAN;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "s mip", 5)) { sscanf(line, "s mip %*d %*d %*s %lf", &obj); break; }
        if (!strncmp(line, "s bas", 5)) { sscanf(line, "s bas %*d %*d %*s %*s %lf", &obj); break; }
    }
    free(text);
    remove(sol);
    return obj;
}

static void test_exports_solve_to_same_optimum(void **state)
{
    (void)state;
    if (!ts_have_program("glpsol")) fail_msg("glpsol (glpk-utils) is required");
    const char *f = write_case("shop.json", shop);
    const char *mod = path_in("shop.mod"), *lpf = path_in("shop.lp"), *mps = path_in("shop.mps");
    run_result r = run(NULL, "solve --export %s %s", mod, f);
    assert_int_equal(r.code, 0);
    run_free(&r);
    r = run(NULL, "solve --check --export %s %s", lpf, f);
    assert_int_equal(r.code, 0);
    run_free(&r);
    r = run(NULL, "solve --check --export %s %s", mps, f);
    assert_int_equal(r.code, 0);
    run_free(&r);
    assert_true(ts_close(glpsol_objective("-m", mod), 420));
    assert_true(ts_close(glpsol_objective("--lp", lpf), 420));
    /* GLPK's MPS has no maximize: the export minimizes the negation. */
    assert_true(ts_close(fabs(glpsol_objective("--freemps", mps)), 420));
}

static void test_export_of_invalid_writes_nothing(void **state)
{
    (void)state;
    const char *mod = path_in("bad.mod");
    remove(mod);
    run_result r = run(NULL, "solve --export %s %s", mod, write_case("undeclared.json", undeclared));
    assert_int_equal(r.code, 1);
    size_t len;
    char *t = ts_read_file(mod, &len);
    assert_null(t);
    run_free(&r);
}

static void test_glpk_never_on_stdout(void **state)
{
    (void)state;
    /* A MILP that makes GLPK talk: its output must stay off stdout. */
    run_result r = run(NULL, "solve --json --no-presolve %s", write_case("shop.json", shop));
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.out, "GLPK Simplex"));
    assert_null(strstr(r.out, "GLPK Integer"));
    assert_null(strstr(r.out, "glp_"));
    assert_null(strstr(r.err, "Integer optimization"));
    cJSON *j = json_of(&r);
    cJSON_Delete(j);
    run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s/optagent", b && *b ? b : "build");
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
        cmocka_unit_test(test_help_on_stdout),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_version_lists_libraries),
        cmocka_unit_test(test_solve_does_not_load_libcurl),
        cmocka_unit_test(test_missing_file_exit_1),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_lp_duals_and_slacks),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_infeasible_is_solved),
        cmocka_unit_test(test_invalid_exit_1_with_diagnostic),
        cmocka_unit_test(test_nonlinear_solved),
        cmocka_unit_test(test_check_only),
        cmocka_unit_test(test_exports_solve_to_same_optimum),
        cmocka_unit_test(test_export_of_invalid_writes_nothing),
        cmocka_unit_test(test_glpk_never_on_stdout),
    };
    return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}
