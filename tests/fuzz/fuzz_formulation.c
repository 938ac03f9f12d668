/* libFuzzer target for the JSON + expression front end (formulate/).
 *
 * Feeds the input bytes, as they are (no NUL terminator is promised), to
 * fm_model_parse under tight limits so that each input stays fast, and when
 * they compile to a linear program also writes it as MathProg to /dev/null.
 * Everything is freed, so LeakSanitizer reports any leak on any path.
 * Seeds: tests/corpus/{valid,invalid} and tests/fuzz/seeds (long flat
 * chains, escaped control characters, NUL escapes, lone surrogates).
 * Build and run: make fuzz FUZZ_SECONDS=600 (see tests/fuzz/README.md). */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

/* Each input runs in a thread with a 2 MiB stack (ASan frames are large):
 * a walker that recursed once per term of a long flat chain (issue 7) would
 * overflow it, while recursion bounded by max_depth fits. */
typedef struct { const uint8_t *data; size_t size; } input;

static int one_input(const uint8_t *data, size_t size);

static void *run_input(void *arg)
{
    input *in = arg;
    one_input(in->data, in->size);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = { data, size };
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 2u << 20) != 0
        || pthread_create(&t, &attr, run_input, &in) != 0)
        abort();
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    return 0;
}

/* A nonlinear program: its derivatives (formulate/deriv.c) at two points,
 * whatever the values (NaN and overflow must come back as -1, not crash). */
static void exercise_nlp(const fm_nlp *n)
{
    const fm_program *p = fm_nlp_program(n);
    size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
    fm_code code;
    fm_nlp_diff *d = fm_nlp_diff_new(n, &code);
    if (!d) return;
    size_t jn = fm_nlp_diff_jac_nnz(d), hn = fm_nlp_diff_hess_nnz(d);
    double *x = malloc((nc + 1) * sizeof *x), *g = malloc((nr + 1) * sizeof *g),
           *grad = malloc((nc + 1) * sizeof *grad), *jac = malloc((jn + 1) * sizeof *jac),
           *hess = malloc((hn + 1) * sizeof *hess), *lambda = malloc((nr + 1) * sizeof *lambda);
    int *ri = malloc((jn + hn + 1) * sizeof *ri), *ci = malloc((jn + hn + 1) * sizeof *ci);
    if (x && g && grad && jac && hess && lambda && ri && ci) {
        fm_nlp_diff_jac_structure(d, ri, ci);
        for (size_t k = 0; k < jn; k++)
            if (ri[k] < 0 || (size_t)ri[k] >= nr || ci[k] < 0 || (size_t)ci[k] >= nc) abort();
        fm_nlp_diff_hess_structure(d, ri, ci);
        for (size_t k = 0; k < hn; k++)
            if (ci[k] < 0 || ri[k] < ci[k] || (size_t)ri[k] >= nc) abort();
        for (int pass = 0; pass < 2; pass++) {
            for (size_t j = 0; j < nc; j++) x[j] = pass ? -0.5 * (double)(j % 7) : 1.5;
            for (size_t i = 0; i < nr; i++) lambda[i] = 1;
            double f;
            (void)fm_nlp_diff_objective(d, x, &f);
            (void)fm_nlp_diff_gradient(d, x, grad);
            (void)fm_nlp_diff_rows(d, x, g);
            (void)fm_nlp_diff_jacobian(d, x, jac);
            (void)fm_nlp_diff_hessian(d, x, 1, lambda, hess);
        }
    }
    free(x); free(g); free(grad); free(jac); free(hess); free(lambda); free(ri); free(ci);
    fm_nlp_diff_free(d);
}

static int one_input(const uint8_t *data, size_t size)
{
    if (!devnull) {
        devnull = fopen("/dev/null", "w");
        if (!devnull) abort();
    }

    /* A copy exactly size bytes long, so ASan catches reads past the end. */
    char *json = malloc(size ? size : 1);
    if (!json) return 0;
    if (size) memcpy(json, data, size);

    fm_limits lim;
    fm_limits_default(&lim);
    lim.max_set_size = 10000;
    lim.max_steps = 200000;
    lim.max_rows = 10000;
    lim.max_cols = 10000;
    lim.max_json_bytes = 65536;

    fm_diags *diags = fm_diags_new();
    if (!diags) { free(json); return 0; }
    fm_code code = FM_OK;
    fm_model *m = fm_model_parse(json, size, &lim, diags, &code);

    /* Touch every diagnostic's strings: they must be valid C strings. */
    size_t nd = fm_diags_count(diags), sum = 0;
    for (size_t i = 0; i < nd; i++) {
        const fm_diag *g = fm_diags_get(diags, i);
        if (!g) abort();
        sum += strlen(g->element) + strlen(g->index) + strlen(g->message) +
               strlen(g->hint);
    }
    (void)sum;

    if (m) {
        (void)fm_model_name(m);
        (void)fm_model_class(m);
        if (code == FM_OK && fm_model_program(m)) {
            (void)fm_model_write_mathprog(m, devnull);
            fflush(devnull);
        } else if (code != FM_OK && fm_model_program(m)) {
            abort();  /* the header promises no program unless FM_OK */
        }
        if (code == FM_OK && fm_model_nlp(m)) exercise_nlp(fm_model_nlp(m));
        fm_model_free(m);
    }
    fm_diags_free(diags);
    free(json);
    return 0;
}
