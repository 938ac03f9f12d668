/* optagent solve: read, check, compile, export and solve one formulation, through
 * the one solve path (sv_run_prepare, sv_run_solve in solver/run.c); the text
 * summary and the JSON report are both built from the typed run. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"

static const char solve_usage[] =
    "usage: optagent solve FILE.json|- [options]\n"
    "\n"
    "Reads a format-1 formulation, checks it, compiles it and solves it: GLPK for\n"
    "linear models and exact linearizations, Ipopt or an integer search for\n"
    "nonlinear ones.\n"
    "\n"
    "options:\n"
    "  --json               print the result as JSON (the contract's report)\n"
    "  --check              validate and compile only; do not solve\n"
    "  --time-limit S       stop the solver after S seconds\n"
    "  --mip-gap G          accept a MIP solution within relative gap G\n"
    "  --no-presolve        do not use GLPK's presolver\n"
    "  --solver NAME        for a nonlinear model: auto (default: by class), glpk\n"
    "                       (exact linearization only), ipopt or enum\n"
    "  --starts N           starting points for a nonconvex nonlinear model (5)\n"
    "  --export FILE        also write the model: .lp (CPLEX LP), .mps (free MPS)\n"
    "                       or .mod (GNU MathProg with its data)\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 solved (whatever the solver's status: optimal, infeasible, ...),\n"
    "1 invalid or unsupported formulation, or a runtime error; 2 usage error.\n";

static const char *ext_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : "";
}

int ag_export_model(const fm_model *m, const char *path, char *err, size_t errlen)
{
    const char *ext = ext_of(path);
    if (!strcmp(ext, "mod")) {
        FILE *f = fopen(path, "w");
        if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
        char why[400];
        fm_code c = fm_model_export_mathprog(m, f, why, sizeof why);
        if (fclose(f) != 0 || c != FM_OK) {
            snprintf(err, errlen, "%s: %s", path, c != FM_OK ? (*why ? why : fm_strerror(c)) : strerror(errno));
            if (c != FM_OK) remove(path);   /* nothing was written: leave no empty file */
            return -1;
        }
        return 0;
    }
    sv_export_format fmt = !strcmp(ext, "lp") ? SV_EXPORT_LP : SV_EXPORT_MPS;
    if (sv_export(fm_model_program(m), fmt, path, err, errlen) != SV_OK) return -1;
    return 0;
}

/* The solution part of the summary: nonzero variables (at most 200) and
 * the report quantities that could be evaluated. */
static void print_solution(const sv_run *run)
{
    const fm_program *p = sv_run_columns(run);
    const double *x = sv_result_values(sv_run_result(run));
    size_t shown = 0, zero = 0;
    printf("variables:\n");
    for (size_t j = 0; j < fm_program_ncols(p); j++) {
        if (fabs(x[j]) < 1e-9) { zero++; continue; }
        if (shown++ < 200) printf("  %s = %.10g\n", fm_program_col_name(p, j), x[j]);
    }
    if (shown > 200) printf("  ... %zu more nonzero values (use --json)\n", shown - 200);
    if (zero) printf("  (%zu variable%s at zero not shown)\n", zero, zero == 1 ? "" : "s");
    size_t nr = sv_run_report_count(run);
    if (nr) printf("report:\n");
    for (size_t k = 0; k < nr; k++) {
        const sv_report_value *v = sv_run_report(run, k);
        if (v->ok) printf("  %s = %.10g\n", v->name, v->value);
    }
}

/* How a nonlinear model was solved: the backend, its starting points and
 * the exact reformulations used. */
static void print_nonlinear(const sv_run *run)
{
    const sv_result *r = sv_run_result(run);
    if (!sv_run_nlp(run) || !r) return;
    int agreed = 0, starts = sv_result_starts(r, &agreed);
    printf("solver: %s%s", sv_result_backend(r), sv_result_proven(r) ? ", optimality proven" : "");
    if (starts) printf(", %d starting point%s, %d reached the best value", starts,
                       starts == 1 ? "" : "s", agreed);
    printf("\n");
    for (size_t k = 0; k < sv_run_reformulation_count(run); k++)
        printf("  reformulated: %s\n", sv_run_reformulation(run, k));
}

/* The readable summary of a run: the same typed run as the JSON report. */
static void print_summary(const sv_run *run, int checked_only)
{
    const fm_model *m = sv_run_model(run);
    const fm_program *p = sv_run_program(run);
    const sv_result *r = sv_run_result(run);
    sv_status status = sv_run_status(run);
    if (checked_only)
        printf("%s\n", p ? "valid" : sv_run_nlp(run) ? "valid (nonlinear)"
                        : status == SV_STATUS_UNSUPPORTED ? "unsupported" : "invalid");
    else
        printf("status: %s\n", sv_status_name(status));
    if (r && sv_result_has_solution(r)) printf("objective: %.10g\n", sv_result_objective(r));
    if (p)
        printf("class: %s   size: %zu rows, %zu columns, %zu nonzeros\n",
               fm_class_name(fm_model_class(m)), fm_program_nrows(p), fm_program_ncols(p),
               fm_program_nonzeros(p));
    else if (sv_run_nlp(run))
        printf("class: %s   size: %zu rows, %zu columns (nonlinear)\n",
               fm_class_name(fm_model_class(m)), fm_program_nrows(sv_run_columns(run)),
               fm_program_ncols(sv_run_columns(run)));
    else if (status == SV_STATUS_UNSUPPORTED)
        printf("class: %s (no backend solves it)\n", fm_class_name(fm_model_class(m)));
    print_nonlinear(run);
    if (r && sv_run_columns(run) && sv_result_has_solution(r)) print_solution(run);
    if (r && sv_result_message(r) && *sv_result_message(r) && !sv_result_has_solution(r))
        printf("solver: %s\n", sv_result_message(r));
    const fm_diags *diags = sv_run_diags(run);
    size_t nd = fm_diags_count(diags);
    if (nd) printf("diagnostics:\n");
    for (size_t i = 0; i < nd; i++) {
        const fm_diag *g = fm_diags_get(diags, i);
        printf("  %s: %s%s%s: %s", fm_severity_name(g->severity), g->element,
               *g->index ? " " : "", g->index, g->message);
        if (*g->hint) printf(" (hint: %s)", g->hint);
        printf("\n");
    }
}

/* What the options asked for (borrowed from argv and the caller). */
typedef struct {
    const char *file, *export_path;
    int json, check;
    const sv_options *opt;
} solve_job;

/* Reads and compiles the file (steps 1-2). NULL after a message on stderr. */
static sv_run *load_and_prepare(const solve_job *job)
{
    sv_run_options ro;
    sv_run_options_default(&ro);
    ro.solve = *job->opt;
    ro.check_only = job->check;
    char err[512];
    size_t len;
    char *text = ag_read_file(job->file, ro.limits.max_json_bytes, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "optagent: %s\n", err);
        return NULL;
    }
    sv_code code;
    sv_run *run = sv_run_prepare(text, len, &ro, &code);
    free(text);
    if (!run || code != SV_OK) {
        fprintf(stderr, "optagent: out of memory\n");
        sv_run_free(run);
        return NULL;
    }
    return run;
}

/* Writes --export FILE (step 3), or says why nothing was written. Returns 0,
 * or -1 after a message when the export failed. */
static int export_step(const sv_run *run, const char *path)
{
    if (!path) return 0;
    if (sv_run_nlp(run) && strcmp(ext_of(path), "mod")) {
        fprintf(stderr, "optagent: nothing exported: LP and MPS files hold linear models only, "
                "and this one is nonlinear (export to .mod keeps its expressions)\n");
        return -1;
    }
    if (!sv_run_program(run) && !sv_run_nlp(run)) {
        fprintf(stderr, "optagent: nothing exported: the formulation is %s\n",
                sv_run_status(run) == SV_STATUS_UNSUPPORTED ? "unsupported" : "invalid");
        return 0;
    }
    char err[512];
    if (ag_export_model(sv_run_model(run), path, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: export failed: %s\n", err);
        return -1;
    }
    return 0;
}

/* Solves (step 4; nothing for --check). Returns 0, or -1 after a message
 * when the solver failed outright. */
static int solve_step(sv_run *run)
{
    sv_code sc = sv_run_solve(run);
    if (sc == SV_OK) return 0;
    fprintf(stderr, "optagent: solver failed: %s\n", sv_strerror(sc));
    const fm_diags *diags = sv_run_diags(run);
    for (size_t i = 0; i < fm_diags_count(diags); i++)
        fprintf(stderr, "optagent: %s\n", fm_diags_get(diags, i)->message);
    return -1;
}

/* Prints the run (step 5): the contract's JSON report or the summary.
 * Returns 0, or -1 after a message. */
static int output_step(const sv_run *run, const solve_job *job)
{
    if (!job->json) {
        print_summary(run, job->check);
        return 0;
    }
    cJSON *o = ag_solve_report(run, 1);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) { fprintf(stderr, "optagent: out of memory\n"); return -1; }
    puts(s);
    free(s);
    return 0;
}

/* The execution of optagent solve, once the options are parsed. */
static int solve_execute(const solve_job *job)
{
    sv_run *run = load_and_prepare(job);
    if (!run) return EXIT_FAILED;
    int rc = EXIT_FAILED;
    if (export_step(run, job->export_path) != 0 || solve_step(run) != 0 ||
        output_step(run, job) != 0)
        goto out;
    sv_status status = sv_run_status(run);
    rc = status == SV_STATUS_INVALID || status == SV_STATUS_UNSUPPORTED ? EXIT_FAILED : EXIT_SOLVED;
    if (fflush(stdout) != 0) { fprintf(stderr, "optagent: cannot write the output\n"); rc = EXIT_FAILED; }
out:
    sv_run_free(run);
    return rc;
}

int ag_cmd_solve(int argc, char **argv)
{
    const char *file = NULL, *export_path = NULL;
    int json = 0, check = 0;
    sv_options opt;
    sv_options_default(&opt);
    enum { OPT_JSON = 0x100, OPT_CHECK, OPT_NO_PRESOLVE, OPT_TIME_LIMIT, OPT_MIP_GAP, OPT_EXPORT,
           OPT_SOLVER, OPT_STARTS };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, OPT_JSON },
        { "check", no_argument, NULL, OPT_CHECK }, { "no-presolve", no_argument, NULL, OPT_NO_PRESOLVE },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
        { "mip-gap", required_argument, NULL, OPT_MIP_GAP },
        { "export", required_argument, NULL, OPT_EXPORT },
        { "solver", required_argument, NULL, OPT_SOLVER },
        { "starts", required_argument, NULL, OPT_STARTS }, { NULL, 0, NULL, 0 }
    };
    ag_args args = { "solve", argc, argv, "h", longopts, 0, 0, 0, 0 };
    const char *v;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(solve_usage, stdout); return EXIT_SOLVED;
        case OPT_JSON: json = 1; break;
        case OPT_CHECK: check = 1; break;
        case OPT_NO_PRESOLVE: opt.presolve = 0; break;
        case OPT_TIME_LIMIT:
            if (ag_arg_double("solve", "--time-limit", v, 0, INFINITY, &opt.time_limit_s)) return EXIT_USAGE;
            break;
        case OPT_MIP_GAP:
            if (ag_arg_double("solve", "--mip-gap", v, 0, INFINITY, &opt.mip_gap)) return EXIT_USAGE;
            break;
        case OPT_SOLVER: {
            int sc = sv_solver_choice_parse(v);
            if (sc < 0)
                return ag_usage_error("solve", "--solver must be auto, glpk, ipopt or enum, got '%s'", v);
            opt.solver = (sv_solver_choice)sc;
            break;
        }
        case OPT_STARTS: {
            double n;
            if (ag_arg_double("solve", "--starts", v, 1, 1000, &n)) return EXIT_USAGE;
            if (n != floor(n)) return ag_usage_error("solve", "--starts must be a whole number, got '%s'", v);
            opt.starts = (int)n;
            break;
        }
        case OPT_EXPORT: {
            const char *ext = ext_of(v);
            if (strcmp(ext, "lp") && strcmp(ext, "mps") && strcmp(ext, "mod"))
                return ag_usage_error("solve", "--export FILE must end in .lp, .mps or .mod, got '%s'", v);
            export_path = v;
            break;
        }
        case AG_ARG_POSITIONAL:
            if (file) return ag_usage_error("solve", "one file at a time (got '%s' and '%s')", file, v);
            file = v;
        }
    }
    if (!file) return ag_usage_error("solve", "no formulation file given");

    solve_job job = { file, export_path, json, check, &opt };
    return solve_execute(&job);
}
