/* bench/bench_nlp.c — where the time of a nonlinear solve goes.
 *
 *     build/bench/bench_nlp FILE.json [STARTS]
 *
 * Solves the formulation through the one solve path (sv_run_text) and
 * prints: the status and objective, parse+compile time, solve time, and
 * for a nonlinear model the time to build the derivative structure
 * (fm_nlp_diff_new), one evaluation of every derivative (objective,
 * gradient, rows, Jacobian, Hessian) at x = 1, and the solver's log (per
 * start: iterations, time in the derivative callbacks, time in Ipopt and
 * its linear solver MUMPS). Used by bench/nlp_quadratic.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "solver/solver.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_nlp FILE.json [STARTS]\n");
        return 2;
    }
    size_t len;
    char *text = slurp(argv[1], &len);
    if (!text) { perror(argv[1]); return 1; }
    sv_run_options o;
    sv_run_options_default(&o);
    if (argc > 2) o.solve.starts = atoi(argv[2]);
    sv_code code;
    clock_t c0 = clock();
    sv_run *run = sv_run_text(text, len, &o, &code);
    double cpu_ms = 1000.0 * (double)(clock() - c0) / CLOCKS_PER_SEC;
    free(text);
    if (!run) { fprintf(stderr, "out of memory\n"); return 1; }
    const sv_result *r = sv_run_result(run);
    printf("status %s  objective %.10g  parse+compile %.1f ms  solve %.1f ms  (all: %.1f ms "
           "cpu)  backend %s\n", sv_status_name(sv_run_status(run)), sv_result_objective(r),
           sv_run_parse_ms(run), sv_run_solve_ms(run), cpu_ms, sv_result_backend(r));
    const fm_nlp *n = sv_run_nlp(run);
    if (n) {
        const fm_program *p = fm_nlp_program(n);
        size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
        double t0 = fm_clock_ms();
        fm_code fc;
        fm_nlp_diff *d = fm_nlp_diff_new(n, &fc);
        double t1 = fm_clock_ms();
        if (d) {
            size_t jn = fm_nlp_diff_jac_nnz(d), hn = fm_nlp_diff_hess_nnz(d);
            double *x = malloc(nc * sizeof *x), *g = malloc((nr + 1) * sizeof *g),
                   *grad = malloc(nc * sizeof *grad), *jac = malloc((jn + 1) * sizeof *jac),
                   *hess = malloc((hn + 1) * sizeof *hess), *lambda = malloc((nr + 1) * sizeof *lambda);
            if (x && g && grad && jac && hess && lambda) {
                for (size_t j = 0; j < nc; j++) x[j] = 1;
                for (size_t i = 0; i < nr; i++) lambda[i] = 1;
                double f, t2 = fm_clock_ms();
                clock_t c2 = clock();
                const int reps = 20;
                for (int k = 0; k < reps; k++) {
                    fm_nlp_diff_objective(d, x, &f);
                    fm_nlp_diff_gradient(d, x, grad);
                    fm_nlp_diff_rows(d, x, g);
                    fm_nlp_diff_jacobian(d, x, jac);
                    fm_nlp_diff_hessian(d, x, 1, lambda, hess);
                }
                printf("derivatives: structure %.2f ms (jacobian %zu, hessian %zu entries); "
                       "one evaluation of all five %.3f ms wall, %.3f ms cpu\n", t1 - t0, jn, hn,
                       (fm_clock_ms() - t2) / reps,
                       1000.0 * (double)(clock() - c2) / CLOCKS_PER_SEC / reps);
            }
            free(x); free(g); free(grad); free(jac); free(hess); free(lambda);
            fm_nlp_diff_free(d);
        }
    }
    const char *log = sv_result_log(r);
    if (log && *log) printf("%s", log);
    sv_run_free(run);
    return 0;
}
