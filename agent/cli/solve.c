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
    "  --explain            say how the model was solved and how sure the answer is:\n"
    "                       its class, the exact reformulations, the backend and why,\n"
    "                       convexity, starting points (the JSON report has the same\n"
    "                       facts: solver, proven, starts, reformulations)\n"
    "  --sensitivity        for an optimal LP, tables of the constraints (activity,\n"
    "                       bounds, slack, dual) and variables (value, bounds, reduced\n"
    "                       cost), glpsol's basis status st; shown without this\n"
    "                       option for an LP of at most 20 rows and 20 columns\n"
    "  --time-limit S       stop the solver after S seconds (0: no limit)\n"
    "  --mip-gap G          accept a MIP solution within relative gap G\n"
    "  --no-presolve        do not use GLPK's presolver\n"
    "  --solver NAME        for a nonlinear model: auto (default: by class), glpk\n"
    "                       (exact linearization only), ipopt or enum\n"
    "  --starts N           starting points for a nonconvex nonlinear model (5)\n"
    "  --export FILE        also write the model: .lp (CPLEX LP), .mps (fixed MPS when\n"
    "                       every name has at most 8 characters, else free MPS; the\n"
    "                       format is said on stderr) or .mod (GNU MathProg with its\n"
    "                       data and a printf per report quantity)\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 solved (whatever the solver's status: optimal, infeasible, ...),\n"
    "1 invalid or unsupported formulation, or a runtime error; 2 usage error.\n";

static const char *ext_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : "";
}

const char *ag_export_format_name(const fm_model *m, const char *path)
{
    const char *ext = ext_of(path);
    if (!strcmp(ext, "mod")) return "GNU MathProg (glpsol -m)";
    if (!strcmp(ext, "lp")) return "CPLEX LP (glpsol --lp)";
    if (sv_export_mps_format(fm_model_program(m)) == SV_EXPORT_FIXED_MPS)
        return "fixed MPS (glpsol --mps)";
    return "free MPS, since a name is longer than 8 characters or holds a blank (glpsol --freemps)";
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
    const fm_program *p = fm_model_program(m);
    sv_export_format fmt = !strcmp(ext, "lp") ? SV_EXPORT_LP : sv_export_mps_format(p);
    if (sv_export(p, fmt, path, err, errlen) != SV_OK) return -1;
    return 0;
}

/* The tables of an optimal LP: shown for every LP up to SMALL_LP rows and
 * columns, and for any LP with --sensitivity; at most TABLE_MAX lines each
 * (the rest is in --json). */
#define SMALL_LP 20
#define TABLE_MAX 1000
#define NAME_WIDTH_MAX 40     /* a longer name widens its own line only */
#define ZERO_DJ 1e-9          /* glpsol's "< eps" */

/* The numeric cells of a table line; names are borrowed from the program. */
typedef struct {
    const char *name;
    char cell[6][32];         /* value/activity, lower, upper, slack?, dual, st */
} table_line;

static void put_num(char *buf, size_t n, double v)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.8g", ag_tidy(v));
}

/* glpsol's status of a column or row: B basic; NL, NU at the lower or upper
 * bound; NS fixed; NF free. */
static const char *basis_status(int basic, double v, double lo, double hi)
{
    if (basic) return "B";
    if (lo == hi) return "NS";
    if (isfinite(lo) && fabs(v - lo) <= 1e-9 * fmax(1, fabs(lo))) return "NL";
    if (isfinite(hi) && fabs(v - hi) <= 1e-9 * fmax(1, fabs(hi))) return "NU";
    return "NF";
}

/* Columns a name takes on a terminal: one per character (UTF-8 lead or
 * ASCII byte). */
static int name_width(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A name as it goes to the terminal, padded to width: control bytes shown
 * as '?'. */
static void put_name(const char *s, int width)
{
    int n = name_width(s);
    for (; *s; s++) putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
    printf("%*s", width > n ? width - n : 0, "");
}

void ag_print_name(const char *name)
{
    put_name(name ? name : "", 0);
}

/* Prints heads (ncells numeric columns after "name") and the lines, aligned. */
static void print_table(const char *title, const char *const *heads, int ncells,
                        const table_line *lines, size_t n, size_t total)
{
    int w[7] = { 4 };
    for (int c = 0; c < ncells; c++) w[c + 1] = (int)strlen(heads[c]);
    for (size_t i = 0; i < n; i++) {
        int len = name_width(lines[i].name);
        if (len > w[0]) w[0] = len > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : len;
        for (int c = 0; c < ncells; c++)
            if ((int)strlen(lines[i].cell[c]) > w[c + 1]) w[c + 1] = (int)strlen(lines[i].cell[c]);
    }
    printf("%s:\n  %-*s", title, w[0], "name");
    for (int c = 0; c < ncells; c++) printf("  %*s", w[c + 1], heads[c]);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("  ");
        put_name(lines[i].name, w[0]);
        for (int c = 0; c < ncells; c++) printf("  %*s", w[c + 1], lines[i].cell[c]);
        printf("\n");
    }
    if (total > n) printf("  ... %zu more (use --json)\n", total - n);
}

/* The constraint and variable tables of an optimal LP, and the note when
 * the optimum may not be unique (a nonbasic column or row, not fixed, with
 * a zero reduced cost or dual: it can enter the basis without changing the
 * objective; glpsol marks it "< eps"). Returns -1 when out of memory. */
static int print_sensitivity(const fm_program *p, const sv_result *r, int tables)
{
    size_t nc = fm_program_ncols(p), nr = fm_program_nrows(p);
    const double *x = sv_result_values(r), *rc = sv_result_reduced_costs(r);
    const double *act = sv_result_activities(r), *dual = sv_result_duals(r);
    const unsigned char *cb = sv_result_col_basic(r), *rb = sv_result_row_basic(r, nc);
    size_t cap = nr > nc ? nr : nc;
    table_line *lines = calloc(cap < TABLE_MAX ? cap + 1 : TABLE_MAX, sizeof *lines);
    if (!lines) return -1;
    size_t nshow, ties = 0;
    const char *tie[3] = { 0 };
    static const char *const row_heads[] = { "activity", "lower", "upper", "slack", "dual", "st" };
    static const char *const col_heads[] = { "value", "lower", "upper", "reduced cost", "st" };
    nshow = 0;
    for (size_t i = 0; i < nr; i++) {
        double lo, hi;
        fm_program_row_bounds(p, i, &lo, &hi);
        const char *st = basis_status(rb[i], act[i], lo, hi);
        if (st[0] == 'N' && st[1] != 'S' && fabs(dual[i]) < ZERO_DJ && ties++ < 3)
            tie[ties - 1] = fm_program_row_name(p, i);
        if (!tables || nshow >= TABLE_MAX) continue;
        table_line *l = &lines[nshow++];
        l->name = fm_program_row_name(p, i);
        put_num(l->cell[0], sizeof l->cell[0], act[i]);
        put_num(l->cell[1], sizeof l->cell[1], lo);
        put_num(l->cell[2], sizeof l->cell[2], hi);
        put_num(l->cell[3], sizeof l->cell[3], ag_row_slack(p, i, act[i]));
        put_num(l->cell[4], sizeof l->cell[4], dual[i]);
        snprintf(l->cell[5], sizeof l->cell[5], "%s", st);
    }
    if (tables && nr) print_table("constraints", row_heads, 6, lines, nshow, nr);
    nshow = 0;
    for (size_t j = 0; j < nc; j++) {
        double lo, hi;
        fm_program_col_bounds(p, j, &lo, &hi);
        const char *st = basis_status(cb[j], x[j], lo, hi);
        if (st[0] == 'N' && st[1] != 'S' && fabs(rc[j]) < ZERO_DJ && ties++ < 3)
            tie[ties - 1] = fm_program_col_name(p, j);
        if (!tables || nshow >= TABLE_MAX) continue;
        table_line *l = &lines[nshow++];
        l->name = fm_program_col_name(p, j);
        put_num(l->cell[0], sizeof l->cell[0], x[j]);
        put_num(l->cell[1], sizeof l->cell[1], lo);
        put_num(l->cell[2], sizeof l->cell[2], hi);
        put_num(l->cell[3], sizeof l->cell[3], rc[j]);
        snprintf(l->cell[4], sizeof l->cell[4], "%s", st);
    }
    if (tables && nc) print_table("variables", col_heads, 5, lines, nshow, nc);
    free(lines);
    if (ties) {
        printf("note: the optimum may not be unique: another solution may reach the same objective\n"
               "  (nonbasic with zero reduced cost or dual, glpsol's \"< eps\": ");
        for (size_t k = 0; k < ties && k < 3; k++) {
            if (k) printf(", ");
            put_name(tie[k], 0);
        }
        printf("%s)\n", ties > 3 ? ", ..." : "");
    }
    return 0;
}

/* The solution part of the summary: nonzero variables (at most 200), or the
 * tables of an optimal LP, and the report quantities that could be
 * evaluated. */
static int print_solution(const sv_run *run, int sensitivity)
{
    fm_class cls = fm_model_class(sv_run_model(run));
    const fm_program *p = sv_run_columns(run);
    const sv_result *r = sv_run_result(run);
    const double *x = sv_result_values(r);
    int lp = sv_result_duals(r) && sv_result_reduced_costs(r) && sv_result_col_basic(r);
    int tables = lp && (sensitivity || (fm_program_nrows(p) <= SMALL_LP && fm_program_ncols(p) <= SMALL_LP));
    if (!tables) {
        size_t shown = 0, zero = 0;
        printf("variables:\n");
        for (size_t j = 0; j < fm_program_ncols(p); j++) {
            if (fabs(x[j]) < 1e-9) { zero++; continue; }
            if (shown++ < 200) {
                printf("  ");
                put_name(fm_program_col_name(p, j), 0);
                printf(" = %.10g\n", x[j]);
            }
        }
        if (shown > 200) printf("  ... %zu more nonzero values (use --json)\n", shown - 200);
        if (zero) printf("  (%zu variable%s at zero not shown)\n", zero, zero == 1 ? "" : "s");
    }
    if (lp && print_sensitivity(p, r, tables) != 0) return -1;
    if (sensitivity && !lp)
        printf("sensitivity: none: %s\n", cls == FM_CLASS_LP ? "the LP was not solved to optimality"
               : "duals and reduced costs exist for an LP, not for a MILP");
    size_t nr = sv_run_report_count(run);
    if (nr) printf("report:\n");
    for (size_t k = 0; k < nr; k++) {
        const sv_report_value *v = sv_run_report(run, k);
        if (!v->ok) continue;
        /* a report name is free text: a newline or an escape sequence in it
         * must not reach the terminal */
        printf("  ");
        put_name(v->name, 0);
        printf(" = %.10g\n", v->value);
    }
    return 0;
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
    /* the lines name the model's columns and rows: control bytes shown as '?' */
    for (size_t k = 0; k < sv_run_reformulation_count(run); k++) {
        printf("  reformulated: ");
        ag_print_name(sv_run_reformulation(run, k));
        printf("\n");
    }
}

/* --explain: how the model was solved and how sure the answer is, in
 * words, from the same typed run. */
static void print_explain(const sv_run *run)
{
    const fm_model *m = sv_run_model(run);
    const sv_result *r = sv_run_result(run);
    if (!m || !r) return;
    fm_class cls = fm_model_class(m);
    size_t nref = sv_run_reformulation_count(run);
    int agreed = 0, starts = sv_result_starts(r, &agreed);
    printf("explain:\n  class %s: ", fm_class_name(cls));
    if (!sv_run_nlp(run))
        printf("a linear model, solved by %s; an optimum it reports is proven\n", sv_result_backend(r));
    else if (nref)
        printf("nonlinear, but every nonlinear term has an exact linear rewrite (listed below: %zu lines), so "
               "GLPK solved the rewritten model and its optimum is proven\n", nref);
    else
        printf("nonlinear with no exact linear rewrite; solved by %s\n", sv_result_backend(r));
    for (size_t k = 0; k < nref; k++) {
        printf("  rewrite: ");
        ag_print_name(sv_run_reformulation(run, k));
        printf("\n");
    }
    if (sv_run_nlp(run) && !nref) {
        if (sv_result_proven(r))
            printf("  proven: %s\n", starts ? "the model is convex (cheap structural rules), so "
                   "the local optimum is global" : "the search covered every integer point");
        else if (sv_result_status(r) == SV_STATUS_LOCAL_OPTIMAL)
            printf("  not proven: the model is not known to be convex; a local solver's answer "
                   "may not be the global optimum\n");
        if (starts)
            printf("  starts: %d starting point%s, %d reached the best value%s\n", starts,
                   starts == 1 ? "" : "s", agreed,
                   sv_result_proven(r) || agreed == starts ? "" : " (--starts N tries more)");
    }
    if (sv_result_message(r) && *sv_result_message(r)) {
        printf("  solver said: ");
        ag_print_name(sv_result_message(r));
        printf("\n");
    }
}

/* The readable summary of a run: the same typed run as the JSON report. */
static int print_summary(const sv_run *run, int checked_only, int sensitivity)
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
    if (r && sv_result_has_solution(r)) {
        printf("objective: %.10g", ag_tidy(sv_result_objective(r)));
        const fm_program *cols = sv_run_columns(run);
        if (cols) {
            printf("  (%s ", fm_program_sense(cols) == FM_MAXIMIZE ? "maximize" : "minimize");
            put_name(fm_program_objective_name(cols), 0);
            printf(")");
        }
        printf("\n");
    }
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
    if (r && sv_run_columns(run) && sv_result_has_solution(r) && print_solution(run, sensitivity) != 0)
        return -1;
    if (r && sv_result_message(r) && *sv_result_message(r) && !sv_result_has_solution(r))
        printf("solver: %s\n", sv_result_message(r));
    if (sensitivity && !checked_only && p && !(r && sv_result_has_solution(r)))
        printf("sensitivity: none: there is no solution to analyse\n");
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
    return 0;
}

/* What the options asked for (borrowed from argv and the caller). */
typedef struct {
    const char *file, *export_path;
    int json, check, sensitivity, explain;
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
    fprintf(stderr, "optagent: exported %s as %s\n", path,
            ag_export_format_name(sv_run_model(run), path));
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
        if (print_summary(run, job->check, job->sensitivity) == 0) {
            if (job->explain) print_explain(run);
            return 0;
        }
        fprintf(stderr, "optagent: out of memory\n");
        return -1;
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
    int json = 0, check = 0, sensitivity = 0, explain = 0;
    sv_options opt;
    sv_options_default(&opt);
    enum { OPT_JSON = 0x100, OPT_CHECK, OPT_NO_PRESOLVE, OPT_TIME_LIMIT, OPT_MIP_GAP, OPT_EXPORT,
           OPT_SENSITIVITY, OPT_SOLVER, OPT_STARTS, OPT_EXPLAIN };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, OPT_JSON },
        { "check", no_argument, NULL, OPT_CHECK }, { "no-presolve", no_argument, NULL, OPT_NO_PRESOLVE },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
        { "mip-gap", required_argument, NULL, OPT_MIP_GAP },
        { "export", required_argument, NULL, OPT_EXPORT },
        { "sensitivity", no_argument, NULL, OPT_SENSITIVITY },
        { "explain", no_argument, NULL, OPT_EXPLAIN },
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
        case OPT_SENSITIVITY: sensitivity = 1; break;
        case OPT_EXPLAIN: explain = 1; break;
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

    solve_job job = { file, export_path, json, check, sensitivity, explain, &opt };
    return solve_execute(&job);
}
