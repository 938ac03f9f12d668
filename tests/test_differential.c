/* test_differential — every tests/corpus/valid/NAME.json is solved twice:
 * in-process (fm_model_parse + sv_solve) and by glpsol from glpk-utils on the
 * MathProg text fm_model_write_mathprog writes. Status and objective must
 * agree (objective to 1e-6 relative).
 *
 * glpsol's status comes from its -w solution file, whose status line is
 *   s bas ROWS COLS PRIM DUAL OBJ    (simplex; PRIM/DUAL: u undefined,
 *                                     f feasible, i infeasible, n no feasible)
 *   s mip ROWS COLS STAT OBJ         (MIP; STAT: o optimal, f feasible,
 *                                     n no integer feasible, u undefined)
 * and, when that is not conclusive, from its terminal output. With its
 * presolvers on (the default) glpsol cannot tell an unbounded problem from an
 * infeasible one ("PROBLEM HAS NO DUAL FEASIBLE SOLUTION", "s bas .. u u"), so
 * such a run is repeated with --nopresol --nointopt, which makes the simplex
 * itself decide ("LP HAS UNBOUNDED PRIMAL SOLUTION"). A MIP whose LP
 * relaxation is unbounded counts as unbounded. Our infeasible_or_unbounded
 * matches either infeasible or unbounded.
 *
 * On failure the temp dir with model.mod, the solution files and glpsol's
 * output is kept and named in the message. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "formulate/formulate.h"
#include "solver/solver.h"

#define GLPSOL_TIME_LIMIT_S 120
#define OUTPUT_TAIL 6000

static char *g_dir;
static int g_have_glpsol = -1;

static const char *const NO_GLPSOL =
    "glpsol is not on PATH: install glpk-utils (a declared dependency, see "
    "scripts/deps.sh); the differential tests need it";

/* ---- glpsol's verdict -------------------------------------------------------- */

typedef struct {
    const char *status;   /* optimal feasible infeasible unbounded
                             infeasible_or_unbounded undefined error */
    double objective;
    int has_objective;
} gl_verdict;

/* The "s ..." line of a -w file, or NULL. */
static const char *status_line(const char *sol)
{
    for (const char *l = sol; l && *l;) {
        if (l[0] == 's' && l[1] == ' ') return l;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static void classify(const char *out, const char *sol, gl_verdict *v)
{
    v->status = "undefined";
    v->has_objective = 0;
    v->objective = 0;
    const char *s = sol ? status_line(sol) : NULL;
    int rows, cols;
    char prim, dual, stat;
    double obj;
    if (s && sscanf(s, "s bas %d %d %c %c %lf", &rows, &cols, &prim, &dual, &obj) == 5) {
        if (prim == 'f' && dual == 'f') {
            v->status = "optimal";
            v->objective = obj;
            v->has_objective = 1;
            return;
        }
        if (prim == 'n') { v->status = "infeasible"; return; }
        if (prim == 'f' && dual == 'n') { v->status = "unbounded"; return; }
    } else if (s && sscanf(s, "s mip %d %d %c %lf", &rows, &cols, &stat, &obj) == 4) {
        if (stat == 'o') {
            v->status = "optimal";
            v->objective = obj;
            v->has_objective = 1;
            return;
        }
        if (stat == 'f') {
            v->status = "feasible";
            v->objective = obj;
            v->has_objective = 1;
            return;
        }
        if (stat == 'n') { v->status = "infeasible"; return; }
    }
    /* Not conclusive: read the terminal output. */
    if (!out) return;
    if (strstr(out, "HAS UNBOUNDED PRIMAL SOLUTION"))
        v->status = "unbounded";            /* LP, or a MIP's LP relaxation */
    else if (strstr(out, "NO PRIMAL FEASIBLE SOLUTION") ||
             strstr(out, "NO INTEGER FEASIBLE SOLUTION"))
        v->status = "infeasible";
    else if (strstr(out, "NO DUAL FEASIBLE SOLUTION"))
        v->status = "infeasible_or_unbounded";
}

/* Runs glpsol once with extra options; appends its output to log. */
static void run_glpsol(const char *dir, const char *extra, const char *tag,
                       ts_str *log, gl_verdict *v)
{
    char mod[4096], sol[4096];
    snprintf(mod, sizeof mod, "%s/model.mod", dir);
    snprintf(sol, sizeof sol, "%s/sol-%s.txt", dir, tag);
    char *qmod = ts_shell_quote(mod), *qsol = ts_shell_quote(sol);
    ts_str cmd = {0};
    ts_str_printf(&cmd, "glpsol --tmlim %d %s -m %s -w %s 2>&1", GLPSOL_TIME_LIMIT_S,
                  extra, qmod ? qmod : "?", qsol ? qsol : "?");
    free(qmod);
    free(qsol);
    int st = -1;
    size_t outlen = 0;
    char *out = cmd.s ? ts_run_capture(cmd.s, &outlen, &st) : NULL;
    ts_str_printf(log, "$ %s\n", cmd.s ? cmd.s : "(out of memory)");
    ts_str_free(&cmd);
    if (out) {
        char outpath[4096];
        snprintf(outpath, sizeof outpath, "%s/glpsol-%s.out", dir, tag);
        (void)ts_write_file(outpath, out, outlen);
        if (outlen > OUTPUT_TAIL) {
            ts_str_printf(log, "[... %zu bytes cut ...]\n", outlen - OUTPUT_TAIL);
            ts_str_append(log, out + outlen - OUTPUT_TAIL, OUTPUT_TAIL);
        } else {
            ts_str_append(log, out, outlen);
        }
    }
    size_t sollen = 0;
    char *soltext = ts_read_file(sol, &sollen);
    if (soltext) {
        const char *sl = status_line(soltext);
        if (sl) {
            const char *nl = strchr(sl, '\n');
            ts_str_printf(log, "[%s] ", sol);
            ts_str_append(log, sl, nl ? (size_t)(nl - sl) : strlen(sl));
            ts_str_printf(log, "\n");
        }
    }
    if (!out || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        v->status = "error";
        v->has_objective = 0;
        ts_str_printf(log, "glpsol failed (wait status %d)\n", st);
    } else {
        classify(out, soltext, v);
    }
    free(out);
    free(soltext);
}

static int statuses_agree(const char *ours, const char *theirs)
{
    if (strcmp(ours, theirs) == 0) return 1;
    int ours_iu = strcmp(ours, "infeasible_or_unbounded") == 0;
    int theirs_iu = strcmp(theirs, "infeasible_or_unbounded") == 0;
    int ours_iorU = !strcmp(ours, "infeasible") || !strcmp(ours, "unbounded");
    int theirs_iorU = !strcmp(theirs, "infeasible") || !strcmp(theirs, "unbounded");
    return (ours_iu && theirs_iorU) || (theirs_iu && ours_iorU);
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_glpsol_available(void **state)
{
    (void)state;
    if (!g_have_glpsol) {
        print_error("# %s\n", NO_GLPSOL);
        fail();
    }
}

static void test_differential_file(void **state)
{
    const ts_case *c = *state;
    ts_str msg = {0}, log = {0};
    size_t len = 0;
    char *json = NULL, *dir = NULL;
    fm_diags *diags = NULL;
    fm_model *m = NULL;
    sv_result *r = NULL;
    int keep_dir = 0;

    if (!g_have_glpsol) {
        print_error("# %s\n", NO_GLPSOL);
        fail();
    }

    json = ts_read_file(c->path, &len);
    diags = fm_diags_new();
    if (!json || !diags) {
        ts_str_printf(&msg, "%s: cannot read (or out of memory)\n", c->path);
        goto done;
    }
    fm_code code = FM_ENOMEM;
    m = fm_model_parse(json, len, NULL, diags, &code);
    const fm_program *p = m ? fm_model_program(m) : NULL;
    if (code != FM_OK || !p) {
        ts_str_printf(&msg, "%s: fm_model_parse: %s, %s; diagnostics:\n", c->path,
                      fm_strerror(code), p ? "with program" : "no program");
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

    dir = ts_mkdtemp();
    if (!dir) {
        ts_str_printf(&msg, "cannot create a temp dir\n");
        goto done;
    }
    char mod[4096];
    snprintf(mod, sizeof mod, "%s/model.mod", dir);
    FILE *f = fopen(mod, "w");
    if (!f) {
        ts_str_printf(&msg, "cannot create %s\n", mod);
        keep_dir = 1;
        goto done;
    }
    fm_code wc = fm_model_write_mathprog(m, f);
    int closed = fclose(f);
    if (wc != FM_OK || closed != 0) {
        ts_str_printf(&msg, "%s: fm_model_write_mathprog: %s%s (file %s)\n", c->path,
                      fm_strerror(wc), closed ? ", fclose failed" : "", mod);
        keep_dir = 1;
        goto done;
    }

    gl_verdict v;
    run_glpsol(dir, "", "default", &log, &v);
    if (!strcmp(v.status, "undefined") || !strcmp(v.status, "infeasible_or_unbounded"))
        run_glpsol(dir, "--nopresol --nointopt", "nopresol", &log, &v);

    const char *ours = sv_status_name(sv_result_status(r));
    if (!ours) ours = "(null)";
    if (!strcmp(v.status, "error") || !strcmp(v.status, "undefined")) {
        ts_str_printf(&msg, "%s: glpsol gave no usable status (%s); ours is %s\n",
                      c->path, v.status, ours);
    } else if (!statuses_agree(ours, v.status)) {
        ts_str_printf(&msg, "%s: status mismatch: optagent %s, glpsol %s\n", c->path,
                      ours, v.status);
    } else if (!strcmp(ours, "optimal")) {
        double obj = sv_result_objective(r);
        if (!v.has_objective || !ts_close(obj, v.objective))
            ts_str_printf(&msg, "%s: objective mismatch: optagent %.12g, glpsol %.12g\n",
                          c->path, obj, v.objective);
    }
    if (msg.len) {
        keep_dir = 1;
        ts_str_printf(&msg, "model: %s (kept)\n", mod);
        if (log.s) ts_str_printf(&msg, "glpsol output:\n%s", log.s);
    }

done:
    if (dir) {
        if (!keep_dir) ts_rmtree(dir);
        free(dir);
    }
    if (r) sv_result_free(r);
    if (m) fm_model_free(m);
    if (diags) fm_diags_free(diags);
    free(json);
    ts_str_free(&log);
    if (msg.len) {
        ts_print_long(msg.s);
        ts_str_free(&msg);
        fail();
    }
}

int main(void)
{
    g_dir = ts_corpus_dir("valid");
    if (!g_dir) return 1;
    g_have_glpsol = ts_have_program("glpsol");
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_glpsol_available),
    };
    int failed = ts_run_file_tests("differential", g_dir, ".json",
                                   test_differential_file, fixed,
                                   sizeof fixed / sizeof fixed[0]);
    free(g_dir);
    return failed ? 1 : 0;
}
