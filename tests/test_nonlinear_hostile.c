/* test_nonlinear_hostile — hostile nonlinear input (division by a variable
 * that may be zero, log of a negative, exp(exp(x)) overflow, unbounded
 * nonconvex objectives, 10^12 integer domains, deep nesting, 10^5 nonlinear
 * terms) in tests/corpus/nonlinear_hostile/ must end in a diagnostic or an
 * honest status within the time limit, without a crash.
 *
 * expected.json there maps each file to
 *   "allow": the statuses that are honest for it,
 *   "objective"/"tol" (optional): the value an optimal or local_optimal
 *       answer must have (relative tolerance, as in the nonlinear corpus),
 *   "diagnostic" (optional): a substring some diagnostic must contain,
 *   "solver" (optional): the --solver choice (default auto).
 * Every file is solved with a time limit of TIME_LIMIT_S seconds and must
 * finish within three times that (nine under AddressSanitizer); an invalid or unsupported answer must say
 * why (an error diagnostic or a message); a reported solution must be
 * finite. When the Ipopt library cannot be loaded (libipopt missing) a file
 * answered `unsupported` is skipped: test_nonlinear_corpus fails for it. */
#include "tests/support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "solver/solver.h"
#include "solver/internal.h"   /* sv_ipopt_available */

#define TIME_LIMIT_S 5.0
/* The wall time allowed: 3 x the limit, and 3 x that under the sanitizers,
 * which slow parsing and derivatives (not the time limit) about threefold. */
#if defined(__SANITIZE_ADDRESS__)
#define WALL_FACTOR 9.0
#else
#define WALL_FACTOR 3.0
#endif
#define EXPECTED_FILE "expected.json"

static char *g_dir;
static cJSON *g_expected;

static const char *file_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int allowed(const cJSON *allow, const char *status)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, allow)
        if (cJSON_GetStringValue(a) && !strcmp(cJSON_GetStringValue(a), status)) return 1;
    return 0;
}

static int has_diag(const fm_diags *d, const char *substring, int errors_only)
{
    for (size_t k = 0; k < fm_diags_count(d); k++) {
        const fm_diag *g = fm_diags_get(d, k);
        if (errors_only && g->severity != FM_SEV_ERROR) continue;
        if (!substring || strstr(g->message, substring)) return 1;
    }
    return 0;
}

/* The solution's objective and values are finite numbers. */
static int solution_finite(const sv_run *run)
{
    const sv_result *r = sv_run_result(run);
    if (!r || !sv_result_has_solution(r)) return 1;
    if (!isfinite(sv_result_objective(r))) return 0;
    const fm_nlp *n = sv_run_nlp(run);
    const double *x = sv_result_values(r);
    size_t ncols = n ? fm_program_ncols(fm_nlp_program(n)) : 0;
    for (size_t j = 0; x && j < ncols; j++)
        if (!isfinite(x[j])) return 0;
    return 1;
}

static void test_hostile_file(void **state)
{
    const ts_case *c = *state;
    const char *name = file_name(c->path);
    ts_str msg = {0};
    size_t len = 0;
    char *json = NULL;
    sv_run *run = NULL;
    int skipping = 0;

    if (!strcmp(name, EXPECTED_FILE)) {   /* the sidecar itself: it must parse */
        assert_non_null(g_expected);
        return;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(g_expected, name);
    const cJSON *allow = cJSON_GetObjectItem(e, "allow");
    if (!cJSON_IsArray(allow)) {
        ts_str_printf(&msg, "%s: no \"allow\" list in %s", name, EXPECTED_FILE);
        goto done;
    }
    json = ts_read_file(c->path, &len);
    if (!json) {
        ts_str_printf(&msg, "%s: cannot read", c->path);
        goto done;
    }
    sv_run_options o;
    sv_run_options_default(&o);
    o.solve.time_limit_s = TIME_LIMIT_S;
    const char *solver = cJSON_GetStringValue(cJSON_GetObjectItem(e, "solver"));
    if (solver) {
        int choice = sv_solver_choice_parse(solver);
        if (choice < 0) {
            ts_str_printf(&msg, "%s: unknown solver '%s'", name, solver);
            goto done;
        }
        o.solve.solver = (sv_solver_choice)choice;
    }
    double t0 = fm_clock_ms();
    sv_code code = SV_OK;
    run = sv_run_text(json, len, &o, &code);
    double ms = fm_clock_ms() - t0;
    if (!run) {
        ts_str_printf(&msg, "%s: sv_run_text returned NULL (%s)", name, sv_strerror(code));
        goto done;
    }
    const sv_result *r = sv_run_result(run);
    const char *st = sv_status_name(sv_run_status(run));
    print_message("# %s: %s%s%s in %.0f ms%s%s\n", name, st,
                  r && sv_result_has_solution(r) ? " " : "",
                  r && sv_result_has_solution(r) ? "(solution)" : "", ms,
                  r && sv_result_message(r) ? ": " : "",
                  r && sv_result_message(r) ? sv_result_message(r) : "");
    if (ms > WALL_FACTOR * TIME_LIMIT_S * 1000)
        ts_str_printf(&msg, "%s: took %.0f ms, over %g x the time limit of %g s\n", name, ms,
                      WALL_FACTOR, TIME_LIMIT_S);
    if (!allowed(allow, st)) {
        char *text = cJSON_PrintUnformatted(allow);
        ts_str_printf(&msg, "%s: status %s, expected one of %s\n", name, st, text ? text : "?");
        free(text);
        skipping = !strcmp(st, "unsupported") && !sv_ipopt_available();
    }
    if ((!strcmp(st, "invalid") || !strcmp(st, "unsupported")) &&
        !has_diag(sv_run_diags(run), NULL, 1) && !(r && sv_result_message(r) && *sv_result_message(r)))
        ts_str_printf(&msg, "%s: %s without an error diagnostic or a message\n", name, st);
    const char *want_diag = cJSON_GetStringValue(cJSON_GetObjectItem(e, "diagnostic"));
    if (want_diag && !has_diag(sv_run_diags(run), want_diag, 0))
        ts_str_printf(&msg, "%s: no diagnostic contains \"%s\"\n", name, want_diag);
    if (!solution_finite(run))
        ts_str_printf(&msg, "%s: the reported solution is not finite\n", name);
    const cJSON *want = cJSON_GetObjectItem(e, "objective"), *tol = cJSON_GetObjectItem(e, "tol");
    if (cJSON_IsNumber(want) && r &&
        (!strcmp(st, "optimal") || !strcmp(st, "local_optimal"))) {
        double got = sv_result_objective(r), w = want->valuedouble;
        double t = cJSON_IsNumber(tol) ? tol->valuedouble : 1e-6;
        if (!(fabs(got - w) <= t * fmax(1.0, fabs(w))))
            ts_str_printf(&msg, "%s: %s with objective %.12g, expected %.12g\n", name, st, got, w);
    }

done:
    sv_run_free(run);
    free(json);
    if (msg.len) {
        ts_print_long(msg.s);
        ts_str_free(&msg);
        if (skipping) skip();
        fail();
    }
}

/* Every hostile file has an entry and every entry a file. */
static void test_expected(void **state)
{
    (void)state;
    ts_str msg = {0};
    size_t n = 0;
    char **files = ts_list_files(g_dir, ".json", &n);
    if (!g_expected) ts_str_printf(&msg, "%s/%s: missing or not JSON\n", g_dir, EXPECTED_FILE);
    for (size_t i = 0; i < n && g_expected; i++) {
        const char *name = file_name(files[i]);
        if (strcmp(name, EXPECTED_FILE) && !cJSON_GetObjectItemCaseSensitive(g_expected, name))
            ts_str_printf(&msg, "%s: no entry in %s\n", name, EXPECTED_FILE);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, g_expected) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) found = !strcmp(file_name(files[i]), e->string);
        if (!found) ts_str_printf(&msg, "%s: entry without a file\n", e->string);
    }
    ts_free_list(files, n);
    if (msg.len) {
        ts_print_long(msg.s);
        ts_str_free(&msg);
        fail();
    }
}

int main(void)
{
    g_dir = ts_corpus_dir("nonlinear_hostile");
    if (!g_dir) return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, EXPECTED_FILE);
    size_t len = 0;
    char *text = ts_read_file(path, &len);
    g_expected = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    const struct CMUnitTest fixed[] = { cmocka_unit_test(test_expected) };
    int failed = ts_run_file_tests("nonlinear_hostile", g_dir, ".json", test_hostile_file,
                                   fixed, 1);
    cJSON_Delete(g_expected);
    free(g_dir);
    return failed ? 1 : 0;
}
