/* libFuzzer target for the integer nonlinear search (solver/minlp*.c), with
 * oracles rather than "no crash" only.
 *
 * Each input is a formulation (bytes as they are, parsed under tight
 * limits). When it compiles to a nonlinear program of at most 32 columns:
 * - interval soundness: over boxes drawn from the input's hash, every row
 *   and objective value at points of the box lies in its interval (a NaN is
 *   announced): a violation aborts;
 * - tapes: the compiled evaluation equals formulate's evaluator;
 * - implied bounds: no integer point of a small declared box that satisfies
 *   every row lies outside the narrowed bounds;
 * - the search itself (--solver enum, 50 ms time limit) ends without a
 *   crash, and an optimal answer is feasible.
 * Build and run: make fuzz-minlp FUZZ_SECONDS=600 (seeds: the corpus and
 * tests/fuzz/seeds). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "solver/internal.h"
#include "solver/minlp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_COLS 32

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double pick_end(void)
{
    static const double ends[] = { -1e9, -50, -3, -2.5, -1, -0.5, 0, 0, 0.5, 1, 2,
                                   3, 7.5, 40, 1e9, -HUGE_VAL, HUGE_VAL };
    return ends[next() % (sizeof ends / sizeof ends[0])];
}

static void check_in(mi_iv v, double f)
{
    if (isnan(f)) {
        if (!v.maybe_nan)
            abort();
    } else if (!(v.lo <= f && f <= v.hi)) {
        abort();
    }
}

static void intervals(const fm_nlp *n, size_t nc, size_t nr, mi_tape *tape)
{
    mi_iv box[MAX_COLS];
    double x[MAX_COLS];
    for (int b = 0; b < 16; b++) {
        for (size_t j = 0; j < nc; j++) {
            double a = pick_end(), c = pick_end();
            box[j] = (mi_iv){ fmin(a, c), fmax(a, c), 0 };
        }
        mi_iv fo = mi_objective_interval(n, box);
        for (int s = 0; s < 8; s++) {
            for (size_t j = 0; j < nc; j++) {
                double u = (double)(next() % 1000001) / 1e6;
                double lo = box[j].lo, hi = box[j].hi;
                double v = isinf(lo) || isinf(hi) ? (isinf(lo) ? (isinf(hi) ? 0 : hi) : lo)
                                                  : lo + u * (hi - lo);
                if (next() % 3 == 0)
                    v = nearbyint(v);
                x[j] = v < lo || v > hi ? lo : v;
                if (!isfinite(x[j]))
                    x[j] = 0 >= lo && 0 <= hi ? 0 : isfinite(lo) ? lo : hi;
            }
            int finite = 1;
            for (size_t j = 0; j < nc; j++)
                finite &= isfinite(x[j]);
            if (!finite)
                continue;
            double f = fm_nlp_eval_objective(n, x);
            check_in(fo, f);
            double ft = mi_tape_objective(tape, x);
            int same = (isnan(f) && isnan(ft)) || f == ft || (isinf(f) && isinf(ft));
            if (!same)
                abort();
            for (size_t i = 0; i < nr && i < 8; i++)
                check_in(mi_row_interval(n, i, box), fm_nlp_eval_row(n, i, x));
        }
    }
}

/* Integer points of a small box that satisfy every row stay inside the
 * narrowed bounds. */
static void implied_bounds(const fm_nlp *n, size_t nc)
{
    const fm_program *p = fm_nlp_program(n);
    double lo[MAX_COLS], hi[MAX_COLS], olo[MAX_COLS], ohi[MAX_COLS], x[MAX_COLS];
    for (size_t j = 0; j < nc; j++) {
        if (fm_program_col_kind(p, j) == FM_COL_CONTINUOUS)
            return;
        lo[j] = olo[j] = -(double)(next() % 6);
        hi[j] = ohi[j] = (double)(next() % 6);
    }
    sv_options o;
    sv_options_default(&o);
    int empty = mi_tighten_bounds(n, lo, hi, &o, fm_clock_ms());
    if (empty < 0)
        return;
    for (int s = 0; s < 200; s++) {
        for (size_t j = 0; j < nc; j++)
            x[j] = olo[j] + (double)(next() % (uint64_t)(ohi[j] - olo[j] + 1));
        if (!mi_point_feasible(n, x))
            continue;
        if (empty)
            abort();                     /* a feasible point in an empty domain */
        for (size_t j = 0; j < nc; j++)
            if (x[j] < lo[j] || x[j] > hi[j])
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size ? size : 1);
    if (!json)
        return 0;
    if (size)
        memcpy(json, data, size);
    rng = 88172645463325252ull;
    for (size_t k = 0; k < size; k++)
        rng = (rng ^ data[k]) * 1099511628211ull;
    if (!rng)
        rng = 1;
    fm_limits lim;
    fm_limits_default(&lim);
    lim.max_set_size = 1000;
    lim.max_steps = 100000;
    lim.max_rows = 1000;
    lim.max_cols = 1000;
    lim.max_json_bytes = 65536;
    fm_diags *diags = fm_diags_new();
    fm_code code = FM_OK;
    fm_model *m = diags ? fm_model_parse(json, size, &lim, diags, &code) : NULL;
    const fm_nlp *n = m && code == FM_OK ? fm_model_nlp(m) : NULL;
    const fm_program *p = n ? fm_nlp_program(n) : NULL;
    if (p && fm_program_ncols(p) <= MAX_COLS) {
        size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
        mi_tape *tape = mi_tape_new(n);
        if (tape)
            intervals(n, nc, nr, tape);
        mi_tape_free(tape);
        implied_bounds(n, nc);
        sv_options o;
        sv_options_default(&o);
        o.time_limit_s = 0.05;
        sv_code sc = SV_OK;
        sv_result *r = sv_minlp_solve(n, 1, &o, fm_clock_ms(), diags, &sc);
        if (r && sv_result_status(r) == SV_STATUS_OPTIMAL
            && !mi_point_feasible(n, sv_result_values(r)))
            abort();
        sv_result_free(r);
    }
    fm_model_free(m);
    fm_diags_free(diags);
    free(json);
    return 0;
}
