/* test_corpus — every tests/corpus/valid/NAME.json parses without errors,
 * solves in-process to the status and objective of NAME.expect, and yields
 * the expected report values.
 *
 * Each test collects its failure into a message, frees everything, and only
 * then fails, so failing tests leak nothing under the sanitizers. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"
#include "solver/solver.h"

#define MIN_VALID_FILES 40

static char *g_dir;

static void fail_with(ts_str *msg)
{
    ts_print_long(msg->s ? msg->s : "(no message)");
    ts_str_free(msg);
    fail();
}

static void check_reports(const char *path, const fm_model *m,
                          const sv_result *r, const ts_expect *e, ts_str *msg)
{
    const double *x = sv_result_values(r);
    size_t nrep = fm_model_report_count(m);
    if (e->nreports > 0 && !x) {
        ts_str_printf(msg, "%s: report values expected but the result has no solution\n",
                      path);
        return;
    }
    for (size_t i = 0; i < e->nreports; i++) {
        const ts_expect_report *want = &e->reports[i];
        int found = 0;
        ts_str names = {0};
        for (size_t k = 0; k < nrep && !found; k++) {
            const char *name = NULL;
            double value = 0;
            fm_diags *rd = fm_diags_new();
            if (!rd) break;
            fm_code rc = fm_model_report_eval(m, k, x, &name, &value, rd);
            if (rc != FM_OK) {
                ts_str_printf(msg, "%s: report %zu: fm_model_report_eval: %s\n", path,
                              k, fm_strerror(rc));
                ts_str_diags(msg, rd);
            } else if (name && strcmp(name, want->name) == 0) {
                found = 1;
                if (!ts_close(value, want->value))
                    ts_str_printf(msg, "%s: report '%s': got %.12g, expected %.12g\n",
                                  path, want->name, value, want->value);
            } else {
                ts_str_printf(&names, "%s'%s'", names.len ? ", " : "",
                              name ? name : "(null)");
            }
            fm_diags_free(rd);
        }
        if (!found)
            ts_str_printf(msg, "%s: report '%s' not found among %zu report(s): %s\n",
                          path, want->name, nrep, names.s ? names.s : "(none)");
        ts_str_free(&names);
    }
}

static void test_valid_file(void **state)
{
    const ts_case *c = *state;
    ts_str msg = {0};
    char err[512] = "";
    ts_expect e;
    size_t len = 0;
    char *json = NULL;
    fm_diags *diags = NULL;
    fm_model *m = NULL;
    sv_result *r = NULL;

    if (ts_expect_load(c->expect_path, &e, err, sizeof err) != 0) {
        ts_str_printf(&msg, "%s: %s", c->path, err);
        fail_with(&msg);
        return;
    }
    json = ts_read_file(c->path, &len);
    if (!json) {
        ts_str_printf(&msg, "%s: cannot read", c->path);
        goto done;
    }
    diags = fm_diags_new();
    if (!diags) {
        ts_str_printf(&msg, "fm_diags_new failed");
        goto done;
    }
    fm_code code = FM_ENOMEM;
    m = fm_model_parse(json, len, NULL, diags, &code);
    if (code != FM_OK || !m || fm_diags_errors(diags) > 0) {
        ts_str_printf(&msg, "%s: fm_model_parse: %s, model %s, %zu error(s); diagnostics:\n",
                      c->path, fm_strerror(code), m ? "returned" : "NULL",
                      fm_diags_errors(diags));
        ts_str_diags(&msg, diags);
        goto done;
    }
    const fm_program *p = fm_model_program(m);
    if (!p) {
        ts_str_printf(&msg, "%s: parsed (class %s) but has no program; diagnostics:\n",
                      c->path, fm_class_name(fm_model_class(m)));
        ts_str_diags(&msg, diags);
        goto done;
    }
    sv_options opt;
    sv_options_default(&opt);
    sv_code sc = SV_OK;
    r = sv_solve(p, &opt, diags, &sc);
    if (!r) {
        ts_str_printf(&msg, "%s: sv_solve failed: %s; diagnostics:\n", c->path,
                      sv_strerror(sc));
        ts_str_diags(&msg, diags);
        goto done;
    }
    const char *got = sv_status_name(sv_result_status(r));
    if (!got || strcmp(got, e.status) != 0) {
        ts_str_printf(&msg, "%s: status %s, expected %s (%s)\n", c->path,
                      got ? got : "(null)", e.status,
                      sv_result_message(r) ? sv_result_message(r) : "");
        goto done;
    }
    if (strcmp(e.status, "optimal") == 0) {
        if (!e.has_objective) {
            ts_str_printf(&msg, "%s: status optimal but no 'objective' line\n",
                          c->expect_path);
            goto done;
        }
        double obj = sv_result_objective(r);
        if (!ts_close(obj, e.objective)) {
            ts_str_printf(&msg, "%s: objective %.12g, expected %.12g\n", c->path,
                          obj, e.objective);
            goto done;
        }
        check_reports(c->path, m, r, &e, &msg);
    } else if (e.nreports > 0) {
        ts_str_printf(&msg, "%s: report lines need status optimal\n", c->expect_path);
    }

done:
    if (r) sv_result_free(r);
    if (m) fm_model_free(m);
    if (diags) fm_diags_free(diags);
    free(json);
    ts_expect_free(&e);
    if (msg.len) fail_with(&msg);
}

static void test_valid_corpus_size(void **state)
{
    (void)state;
    size_t n = 0;
    char **files = ts_list_files(g_dir, ".json", &n);
    ts_free_list(files, n);
    if (n < MIN_VALID_FILES) {
        print_error("# %s holds %zu .json files; at least %d expected\n", g_dir, n,
                    MIN_VALID_FILES);
        fail();
    }
}

int main(void)
{
    g_dir = ts_corpus_dir("valid");
    if (!g_dir) return 1;
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_valid_corpus_size),
    };
    int failed = ts_run_file_tests("corpus_valid", g_dir, ".json", test_valid_file,
                                   fixed, sizeof fixed / sizeof fixed[0]);
    free(g_dir);
    return failed ? 1 : 0;
}
