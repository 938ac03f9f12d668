/* test_sensitivity — what `optagent solve` tells about an LP optimum: the
 * objective's name and sense, the constraint and variable tables (activity,
 * bounds, slack, dual; value, bounds, reduced cost; basis status), shown for
 * a small LP and with --sensitivity, the JSON "reduced_costs", and the note
 * that the optimum may not be unique, checked against glpsol's own "< eps"
 * marker on the same model when glpsol is there. Runs the built binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "formulate/formulate.h"
#include "solver/solver.h"
#include "tests/support.h"
#include "tests/support_cli.h"

/* max 3x + 2y: a: x + y <= 4, b: x + 3y <= 7, c: x <= 3 (unique optimum). */
static const char *unique_lp =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],\n"
    " \"objective\": {\"name\": \"gain\", \"sense\": \"max\", \"expression\": \"3*x + 2*y\"},\n"
    " \"constraints\": [{\"name\": \"a\", \"expression\": \"x + y <= 4\"},\n"
    "                   {\"name\": \"b\", \"expression\": \"x + 3*y <= 7\"},\n"
    "                   {\"name\": \"c\", \"expression\": \"x <= 3\"}]}\n";

/* max x + y, x + y <= 1: every point of the segment is optimal. */
static const char *tied_lp =
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}, {\"name\": \"y\"}],\n"
    " \"objective\": {\"sense\": \"maximize\", \"expression\": \"x + y\"},\n"
    " \"constraints\": [{\"name\": \"one\", \"expression\": \"x + y <= 1\"}]}\n";

static const char *milp =
    "{\"format\": 1, \"variables\": [{\"name\": \"n\", \"type\": \"integer\"}],\n"
    " \"objective\": {\"name\": \"cost\", \"sense\": \"min\", \"expression\": \"n\"},\n"
    " \"constraints\": [{\"name\": \"need\", \"expression\": \"2*n >= 5\"}]}\n";

/* 25 columns, one row: beyond the 20 of a "small" LP. */
static const char *wide_lp =
    "{\"format\": 1, \"sets\": [{\"name\": \"I\", \"range\": [1, 25]}],\n"
    " \"variables\": [{\"name\": \"v\", \"index\": [\"I\"], \"upper\": 1}],\n"
    " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{i in I} i*v[i]\"},\n"
    " \"constraints\": [{\"name\": \"budget\", \"expression\": \"sum{i in I} v[i] <= 3.5\"}]}\n";

static const char *write_case(const char *name, const char *text)
{
    const char *p = ts_cli_path(name);
    assert_int_equal(ts_write_file(p, text, strlen(text)), 0);
    return p;
}

/* optagent ARGS FILE, stdout in *out; returns the exit status. */
static int solve(char **out, const char *args, const char *file)
{
    return ts_cli_sh(out, "%s/optagent solve %s %s 2>/dev/null", ts_cli_bin(), args, file);
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number \"%s\"", key);
    return v->valuedouble;
}

/* Every line of the table under title has the same length (aligned). */
static void assert_aligned(const char *out, const char *title)
{
    const char *t = strstr(out, title);
    assert_non_null(t);
    const char *line = strchr(t, '\n') + 1;
    size_t want = 0, n = 0;
    while (line && strncmp(line, "  ", 2) == 0) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (n++ == 0) want = len;
        if (len != want) fail_msg("unaligned line under %s: '%.*s'", title, (int)len, line);
        line = nl ? nl + 1 : NULL;
    }
    assert_true(n >= 2);     /* the heading and at least one line */
}

static void test_small_lp_shows_tables(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(solve(&out, "", write_case("unique.json", unique_lp)), 0);
    assert_non_null(strstr(out, "objective: 11  (maximize gain)"));
    assert_non_null(strstr(out, "activity"));
    assert_non_null(strstr(out, "reduced cost"));
    assert_aligned(out, "constraints:\n");
    assert_aligned(out, "variables:\n");
    /* b is the one row with room: slack 1, dual 0, basic. */
    assert_non_null(strstr(out, "  b            6      -      7      1     0   B\n"));
    assert_null(strstr(out, "may not be unique"));
    free(out);
}

/* The reduced costs are the objective's coefficients minus the duals
 * weighted by each column's coefficients (c - A'y), for the model above. */
static void test_json_reduced_costs(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(solve(&out, "--json", write_case("unique.json", unique_lp)), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "duals");
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "reduced_costs");
    assert_non_null(d);
    assert_non_null(rc);
    assert_int_equal(cJSON_GetArraySize(rc), 2);
    double ya = num(d, "a"), yb = num(d, "b"), yc = num(d, "c");
    assert_true(fabs(num(rc, "x") - (3 - ya - yb - yc)) < 1e-9);
    assert_true(fabs(num(rc, "y") - (2 - ya - 3 * yb)) < 1e-9);
    /* the existing fields stay */
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "slacks"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "variables"));
    cJSON_Delete(j);
    free(out);

    assert_int_equal(solve(&out, "--json", write_case("milp.json", milp)), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "reduced_costs"));
    cJSON_Delete(j);
    free(out);
}

/* glpsol's solution report marks a nonbasic variable or row with zero
 * reduced cost "< eps": our note must appear exactly then. */
static int glpsol_marks_eps(const char *json_path, const char *name)
{
    const char *lp = ts_cli_path(name), *sol = ts_cli_path("sol.txt");
    assert_int_equal(ts_cli_sh(NULL, "%s/optagent solve --check --export %s %s >/dev/null 2>&1",
                               ts_cli_bin(), lp, json_path), 0);
    assert_int_equal(ts_cli_sh(NULL, "glpsol --lp %s -o %s >/dev/null 2>&1", lp, sol), 0);
    size_t len;
    char *text = ts_read_file(sol, &len);
    assert_non_null(text);
    int eps = strstr(text, "< eps") != NULL;
    free(text);
    return eps;
}

static void test_not_unique_note(void **state)
{
    (void)state;
    char *out;
    const char *tied = write_case("tied.json", tied_lp), *unique = write_case("unique.json", unique_lp);
    assert_int_equal(solve(&out, "", tied), 0);
    assert_non_null(strstr(out, "note: the optimum may not be unique"));
    free(out);
    if (!ts_have_program("glpsol")) {
        print_message("glpsol is not on PATH: its \"< eps\" marks are not compared\n");
        return;
    }
    assert_true(glpsol_marks_eps(tied, "tied.lp"));
    assert_false(glpsol_marks_eps(unique, "unique.lp"));
}

static void test_large_lp_tables_on_request(void **state)
{
    (void)state;
    char *out;
    const char *wide = write_case("wide.json", wide_lp);
    assert_int_equal(solve(&out, "", wide), 0);
    assert_null(strstr(out, "reduced cost"));
    assert_non_null(strstr(out, "v[25] = 1"));
    free(out);
    assert_int_equal(solve(&out, "--sensitivity", wide), 0);
    assert_non_null(strstr(out, "reduced cost"));
    assert_aligned(out, "variables:\n");
    /* every column has its line, those at zero too */
    assert_non_null(strstr(out, "  v[1] "));
    assert_non_null(strstr(out, "  v[25] "));
    /* v[22] takes the half unit left: basic; the budget row binds. */
    const char *v22 = strstr(out, "  v[22] ");
    assert_non_null(v22);
    assert_non_null(strstr(v22, "0.5"));
    free(out);
}

static void test_milp_has_no_sensitivity(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(solve(&out, "--sensitivity", write_case("milp.json", milp)), 0);
    assert_non_null(strstr(out, "objective: 3  (minimize cost)"));
    assert_non_null(strstr(out, "sensitivity: none"));
    assert_null(strstr(out, "constraints:\n"));
    free(out);
}

/* Infeasible and unbounded LPs with --sensitivity say there is nothing to
 * analyse (instead of nothing at all); report names, free text, reach the
 * terminal without their newlines and escape sequences. */
static void test_no_solution_and_odd_report_names(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(solve(&out, "--sensitivity", write_case("infeasible.json",
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],\n"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},\n"
        " \"constraints\": [{\"name\": \"a\", \"expression\": \"x >= 3\"},"
        " {\"name\": \"b\", \"expression\": \"x <= 2\"}]}\n")), 0);
    assert_non_null(strstr(out, "status: infeasible"));
    assert_non_null(strstr(out, "sensitivity: none"));
    free(out);
    assert_int_equal(solve(&out, "--sensitivity", write_case("unbounded.json",
        "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],\n"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": []}\n")), 0);
    assert_non_null(strstr(out, "status: unbounded"));
    assert_non_null(strstr(out, "sensitivity: none"));
    free(out);
    assert_int_equal(solve(&out, "", write_case("names.json",
        "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 2}],\n"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": [],\n"
        " \"report\": [{\"name\": \"100% \\\"done\\\"\\n\\u001b[31mred\", \"expression\": \"x\"}]}\n")), 0);
    assert_non_null(strstr(out, "  100% \"done\"??[31mred = 2\n"));
    assert_null(strchr(out, 0x1b));
    free(out);
}

/* ---- against glpsol's solution report ---------------------------------------- */

/* glpsol's name of a column or row in the CPLEX LP file: [ and ] become ( ). */
static void lp_name(const char *ours, char *out, size_t n)
{
    size_t k = 0;
    for (; *ours && k + 1 < n; ours++) out[k++] = *ours == '[' ? '(' : *ours == ']' ? ')' : *ours;
    out[k] = 0;
}

typedef struct {
    const fm_program *p;
    const double *ours;       /* reduced costs (columns) or duals (rows) */
    int rows;
    size_t compared, differ;
    const char *file;
} marginal_check;

/* One entry of glpsol's report: name, status and the rest of its text; the
 * marginal is the last token for a nonbasic entry ("< eps" is 0). */
static void check_entry(marginal_check *c, const char *name, const char *st, const char *rest)
{
    if (!strcmp(st, "B")) return;          /* basic: no marginal printed, ours 0 */
    size_t n = c->rows ? fm_program_nrows(c->p) : fm_program_ncols(c->p);
    for (size_t i = 0; i < n; i++) {
        char mine[512];
        lp_name(c->rows ? fm_program_row_name(c->p, i) : fm_program_col_name(c->p, i), mine, sizeof mine);
        if (strcmp(mine, name)) continue;
        const char *last = rest + strlen(rest);
        while (last > rest && (last[-1] == ' ' || last[-1] == '\n')) last--;
        while (last > rest && last[-1] != ' ') last--;
        double theirs = !strncmp(last, "eps", 3) ? 0 : strtod(last, NULL);
        c->compared++;
        /* glpsol prints 6 significant digits */
        if (fabs(theirs - c->ours[i]) > 1e-5 * fmax(1, fabs(c->ours[i]))) {
            c->differ++;
            print_message("%s: %s %s: glpsol %g, optagent %.10g\n", c->file, c->rows ? "dual of" : "reduced cost of",
                          name, theirs, c->ours[i]);
        }
        return;
    }
}

/* Walks the section of sol after the heading line containing head. */
static void check_section(marginal_check *c, const char *sol, const char *head)
{
    const char *s = strstr(sol, head);
    assert_non_null(s);
    for (int skip = 0; skip < 2 && s; skip++) s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
    char name[512] = "", st[8] = "", rest[512] = "";
    while (s && *s && *s != '\n') {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), s);
        int no, used = 0;
        char tok[512];
        if (sscanf(line, "%d %511s %n", &no, tok, &used) >= 2 && line[0] == ' ' && line[6] == ' ') {
            if (*name && *st) check_entry(c, name, st, rest);
            snprintf(name, sizeof name, "%s", tok);
            *st = *rest = 0;
            const char *after = line + used;
            if (sscanf(after, "%7s", st) == 1) snprintf(rest, sizeof rest, "%s", after + strlen(st) + 1);
        } else if (!*st && sscanf(line, " %7s", st) == 1) {
            const char *after = strstr(line, st) + strlen(st);
            snprintf(rest, sizeof rest, "%s", after);
        }
        s = nl ? nl + 1 : NULL;
    }
    if (*name && *st) check_entry(c, name, st, rest);
}

/* The reduced costs are c - A'y with the duals y (GLPK's convention, for
 * minimization and maximization alike). Returns how many columns differ. */
static size_t reduced_cost_identity(const fm_program *p, const sv_result *r, const char *file)
{
    size_t nc = fm_program_ncols(p), bad = 0;
    double *d = calloc(nc ? nc : 1, sizeof *d);
    assert_non_null(d);
    const int *cols;
    const double *coefs, *y = sv_result_duals(r), *rc = sv_result_reduced_costs(r);
    size_t on = fm_program_objective(p, &cols, &coefs);
    for (size_t t = 0; t < on; t++) d[cols[t]] += coefs[t];
    for (size_t i = 0; i < fm_program_nrows(p); i++) {
        size_t rn = fm_program_row(p, i, &cols, &coefs);
        for (size_t t = 0; t < rn; t++) d[cols[t]] -= coefs[t] * y[i];
    }
    for (size_t j = 0; j < nc; j++)
        if (fabs(d[j] - rc[j]) > 1e-7 * fmax(1, fabs(d[j]))) {
            bad++;
            print_message("%s: %s: c - A'y = %.10g, reduced cost %.10g\n", file, fm_program_col_name(p, j), d[j], rc[j]);
        }
    free(d);
    return bad;
}

/* Every optimal LP of the valid corpus: our reduced costs are those of
 * glpsol's solution report on the exported .lp, and they are c - A'y with
 * our duals. The duals themselves are not compared with glpsol's: where a
 * row is redundant (the balance rows of a network) the dual solution is not
 * unique, and glpsol, solving without presolve, may find another one (a
 * shortest path's node potentials shifted by a constant). */
static void test_marginals_match_glpsol(void **state)
{
    (void)state;
    if (!ts_have_program("glpsol")) { print_message("glpsol is not on PATH: not compared\n"); return; }
    char *valid = ts_corpus_dir("valid");
    size_t n, lps = 0, compared = 0, differ = 0;
    char **files = ts_list_files(valid, ".json", &n);
    const char *lp = ts_cli_path("m.lp"), *sol = ts_cli_path("m.sol");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *json = ts_read_file(files[i], &len);
        assert_non_null(json);
        sv_code code;
        sv_run *run = sv_run_text(json, len, NULL, &code);
        free(json);
        assert_non_null(run);
        const sv_result *r = sv_run_result(run);
        if (sv_run_status(run) != SV_STATUS_OPTIMAL || !sv_result_reduced_costs(r)) { sv_run_free(run); continue; }
        lps++;
        const fm_program *p = sv_run_program(run);
        assert_int_equal(sv_export(p, SV_EXPORT_LP, lp, NULL, 0), SV_OK);
        assert_int_equal(ts_cli_sh(NULL, "glpsol --lp %s -o %s >/dev/null 2>&1", lp, sol), 0);
        size_t sl;
        char *text = ts_read_file(sol, &sl);
        assert_non_null(text);
        marginal_check cols = { p, sv_result_reduced_costs(r), 0, 0, 0, files[i] };
        check_section(&cols, text, "Column name");
        compared += cols.compared;
        differ += cols.differ + reduced_cost_identity(p, r, files[i]);
        free(text);
        sv_run_free(run);
    }
    print_message("%zu optimal LPs, %zu nonbasic reduced costs compared with glpsol\n", lps, compared);
    ts_free_list(files, n);
    free(valid);
    assert_true(lps >= 20);
    assert_true(compared >= 50);
    assert_int_equal(differ, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_lp_shows_tables),
        cmocka_unit_test(test_json_reduced_costs),
        cmocka_unit_test(test_not_unique_note),
        cmocka_unit_test(test_large_lp_tables_on_request),
        cmocka_unit_test(test_milp_has_no_sensitivity),
        cmocka_unit_test(test_no_solution_and_odd_report_names),
        cmocka_unit_test(test_marginals_match_glpsol),
    };
    return cmocka_run_group_tests_name("sensitivity", tests, ts_cli_setup, ts_cli_teardown);
}
