/* test_invalid — every tests/corpus/invalid/NAME.json is rejected the way
 * NAME.expect says:
 *   status invalid      fm_model_parse returns FM_EJSON, FM_EINVALID or
 *                       FM_ELIMIT and there is no program;
 *   status unsupported  the model is valid but nonlinear: FM_OK, a model of
 *                       class NLP or MINLP, and no (linear) program; the
 *                       nonlinear backends solve it.
 * Then some diagnostic must contain every `element`, `index` and `message`
 * substring of the .expect in its respective field (with no such lines, any
 * will do): of severity error for an invalid model, information for a
 * nonlinear one (its nonlinear terms are listed, not refused). Files are read as bytes with
 * their length: they may hold NULs or invalid UTF-8. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"

#define MIN_INVALID_FILES 60

static char *g_dir;

static const char *field_name(ts_field f)
{
    switch (f) {
    case TS_FIELD_ELEMENT: return "element";
    case TS_FIELD_INDEX:   return "index";
    case TS_FIELD_MESSAGE: return "message";
    }
    return "?";
}

static const char *field_of(const fm_diag *g, ts_field f)
{
    const char *s = NULL;
    switch (f) {
    case TS_FIELD_ELEMENT: s = g->element; break;
    case TS_FIELD_INDEX:   s = g->index; break;
    case TS_FIELD_MESSAGE: s = g->message; break;
    }
    return s ? s : "";
}

/* 1 when some diagnostic of severity sev holds every substring of e. */
static int diags_match(const fm_diags *d, const ts_expect *e, fm_severity sev)
{
    size_t n = fm_diags_count(d);
    for (size_t i = 0; i < n; i++) {
        const fm_diag *g = fm_diags_get(d, i);
        if (!g || g->severity != sev) continue;
        int all = 1;
        for (size_t k = 0; k < e->nmatches && all; k++)
            if (!strstr(field_of(g, e->matches[k].field), e->matches[k].substring))
                all = 0;
        if (all) return 1;
    }
    return 0;
}

static int is_invalid_code(fm_code c)
{
    return c == FM_EJSON || c == FM_EINVALID || c == FM_ELIMIT;
}

static void test_invalid_file(void **state)
{
    const ts_case *c = *state;
    ts_str msg = {0};
    char err[512] = "";
    ts_expect e;
    size_t len = 0;
    char *json = NULL;
    fm_diags *diags = NULL;
    fm_model *m = NULL;

    if (ts_expect_load(c->expect_path, &e, err, sizeof err) != 0) {
        print_error("# %s: %s\n", c->path, err);
        fail();
        return;
    }
    int want_invalid = strcmp(e.status, "invalid") == 0;
    int want_unsupported = strcmp(e.status, "unsupported") == 0;
    if (!want_invalid && !want_unsupported) {
        ts_str_printf(&msg, "%s: status must be invalid or unsupported, not '%s'\n",
                      c->expect_path, e.status);
        goto done;
    }
    json = ts_read_file(c->path, &len);
    if (!json) {
        ts_str_printf(&msg, "%s: cannot read\n", c->path);
        goto done;
    }
    diags = fm_diags_new();
    if (!diags) {
        ts_str_printf(&msg, "fm_diags_new failed\n");
        goto done;
    }
    fm_code code = FM_OK;
    m = fm_model_parse(json, len, NULL, diags, &code);
    const fm_program *p = m ? fm_model_program(m) : NULL;

    if (want_invalid) {
        if (!is_invalid_code(code) || p) {
            ts_str_printf(&msg, "%s: expected invalid (FM_EJSON/FM_EINVALID/FM_ELIMIT, "
                          "no program); got %s, %s\n", c->path, fm_strerror(code),
                          p ? "with a program" : "no program");
        }
    } else {
        fm_class cls = m ? fm_model_class(m) : FM_CLASS_LP;
        if (code != FM_OK || !m || p || (cls != FM_CLASS_NLP && cls != FM_CLASS_MINLP)) {
            ts_str_printf(&msg, "%s: expected unsupported (FM_OK, class NLP/MINLP, no "
                          "program); got %s, model %s, class %s, %s\n", c->path,
                          fm_strerror(code), m ? "returned" : "NULL",
                          m ? fm_class_name(cls) : "-",
                          p ? "with a program" : "no program");
        }
    }
    fm_severity sev = want_invalid ? FM_SEV_ERROR : FM_SEV_INFO;
    if (!diags_match(diags, &e, sev)) {
        ts_str_printf(&msg, "%s: no %s diagnostic has", c->path,
                      want_invalid ? "error" : "information");
        if (e.nmatches == 0) ts_str_printf(&msg, " the severity");
        for (size_t k = 0; k < e.nmatches; k++)
            ts_str_printf(&msg, "%s %s \"%s\"", k ? "," : "",
                          field_name(e.matches[k].field), e.matches[k].substring);
        ts_str_printf(&msg, "\n");
    }
    if (msg.len) {
        ts_str_printf(&msg, "diagnostics (%s):\n", fm_strerror(code));
        ts_str_diags(&msg, diags);
    }

done:
    if (m) fm_model_free(m);
    if (diags) fm_diags_free(diags);
    free(json);
    ts_expect_free(&e);
    if (msg.len) {
        ts_print_long(msg.s);
        ts_str_free(&msg);
        fail();
    }
}

static void test_invalid_corpus_size(void **state)
{
    (void)state;
    size_t n = 0;
    char **files = ts_list_files(g_dir, ".json", &n);
    ts_free_list(files, n);
    if (n < MIN_INVALID_FILES) {
        print_error("# %s holds %zu .json files; at least %d expected\n", g_dir, n,
                    MIN_INVALID_FILES);
        fail();
    }
}

int main(void)
{
    g_dir = ts_corpus_dir("invalid");
    if (!g_dir) return 1;
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_invalid_corpus_size),
    };
    int failed = ts_run_file_tests("corpus_invalid", g_dir, ".json",
                                   test_invalid_file, fixed,
                                   sizeof fixed / sizeof fixed[0]);
    free(g_dir);
    return failed ? 1 : 0;
}
