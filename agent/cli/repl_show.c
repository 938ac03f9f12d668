/* What the REPL's commands print, read from the session's JSON (the solve
 * report of ag_solve_report and the run record of ag_run_json), so that a
 * loaded session prints exactly as the one that was saved. The summary has
 * the lines of `optagent solve` in the same order and format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/repl.h"

#define SHOWN_VALUES 200

static const char *str(const cJSON *o, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return v ? v : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_diagnostics(const cJSON *report)
{
    const cJSON *d, *dl = cJSON_GetObjectItem(report, "diagnostics");
    int any = 0;
    cJSON_ArrayForEach(d, dl) {
        if (!any++) printf("diagnostics:\n");
        const char *ix = str(d, "index"), *hint = str(d, "hint");
        printf("  %s: %s%s%s: %s", str(d, "severity"), str(d, "element"), *ix ? " " : "", ix,
               str(d, "message"));
        if (*hint) printf(" (hint: %s)", hint);
        printf("\n");
    }
}

/* name = value lines of an object of numbers; only the nonzero ones when
 * nonzero, at most SHOWN_VALUES unless all. */
static void print_values(const char *title, const cJSON *obj, int nonzero, int all)
{
    const cJSON *v;
    size_t shown = 0, zero = 0;
    if (!cJSON_GetArraySize(obj)) return;
    printf("%s:\n", title);
    cJSON_ArrayForEach(v, obj) {
        if (nonzero && cJSON_IsNumber(v) && fabs(v->valuedouble) < 1e-9) { zero++; continue; }
        if (!all && shown >= SHOWN_VALUES) { shown++; continue; }
        shown++;
        printf("  ");
        ag_print_name(v->string);
        if (cJSON_IsNumber(v)) printf(" = %.10g\n", v->valuedouble);
        else printf(" = (none)\n");
    }
    if (!all && shown > SHOWN_VALUES)
        printf("  ... %zu more nonzero values (:solution shows all)\n", shown - SHOWN_VALUES);
    if (zero) printf("  (%zu variable%s at zero not shown)\n", zero, zero == 1 ? "" : "s");
}

void repl_show_summary(const repl_session *s, const cJSON *report)
{
    const char *status = str(report, "status");
    int good = !strcmp(status, "optimal");
    printf("status: %s%s%s\n", s->color ? (good ? "\033[32m" : "\033[33m") : "", status,
           s->color ? "\033[0m" : "");
    const cJSON *obj = cJSON_GetObjectItem(report, "objective");
    if (cJSON_IsNumber(obj)) printf("objective: %.10g\n", obj->valuedouble);
    const cJSON *size = cJSON_GetObjectItem(report, "size");
    const char *cls = str(report, "class");
    if (*cls && num(size, "cols") > 0)
        printf("class: %s   size: %.0f rows, %.0f columns, %.0f nonzeros\n", cls, num(size, "rows"),
               num(size, "cols"), num(size, "nonzeros"));
    else if (*cls)
        printf("class: %s\n", cls);
    if (cJSON_IsNumber(obj)) {
        print_values("variables", cJSON_GetObjectItem(report, "variables"), 1, 0);
        print_values("report", cJSON_GetObjectItem(report, "report"), 0, 1);
    } else if (*str(report, "message")) {
        printf("solver: %s\n", str(report, "message"));
    }
    print_diagnostics(report);
}

static int need_report(repl_session *s)
{
    if (s->report) return 1;
    repl_error(s, s->formulation ? "no solve result yet: :solve" : "no formulation yet: type a problem");
    return 0;
}

void repl_show_formulation(repl_session *s, int json)
{
    if (!s->formulation) { repl_error(s, "no formulation yet: type a problem"); return; }
    char err[512];
    char *text = json ? NULL : ag_formulation_render(s->formulation, strlen(s->formulation),
                                                     err, sizeof err);
    if (json) {
        cJSON *j = cJSON_Parse(s->formulation);
        text = j ? cJSON_Print(j) : NULL;
        cJSON_Delete(j);
        if (!text) { printf("%s\n", s->formulation); return; }   /* an edit that is not JSON */
    }
    if (!text) { repl_error(s, "%s", err); printf("%s\n", s->formulation); return; }
    printf("%s\n", text);
    free(text);
}

void repl_show_solution(repl_session *s)
{
    if (!need_report(s)) return;
    const cJSON *obj = cJSON_GetObjectItem(s->report, "objective");
    printf("status: %s\n", str(s->report, "status"));
    if (!cJSON_IsNumber(obj)) { printf("no solution\n"); return; }
    printf("objective: %.10g\n", obj->valuedouble);
    print_values("variables", cJSON_GetObjectItem(s->report, "variables"), 0, 1);
    print_values("report", cJSON_GetObjectItem(s->report, "report"), 0, 1);
    print_values("duals", cJSON_GetObjectItem(s->report, "duals"), 0, 1);
    print_values("slacks", cJSON_GetObjectItem(s->report, "slacks"), 0, 1);
}

void repl_show_diagnostics(repl_session *s)
{
    if (!need_report(s)) return;
    const cJSON *dl = cJSON_GetObjectItem(s->report, "diagnostics");
    if (!cJSON_GetArraySize(dl) && !*str(s->report, "message")) { printf("no diagnostics\n"); return; }
    if (*str(s->report, "message")) printf("solver: %s\n", str(s->report, "message"));
    print_diagnostics(s->report);
}

void repl_show_attempts(repl_session *s)
{
    if (!s->record) { repl_error(s, "no request yet: type a problem"); return; }
    const cJSON *a, *list = cJSON_GetObjectItem(s->record, "attempts");
    printf("%d attempt%s, outcome %s\n", cJSON_GetArraySize(list),
           cJSON_GetArraySize(list) == 1 ? "" : "s", str(s->record, "outcome"));
    cJSON_ArrayForEach(a, list) {
        const cJSON *res = cJSON_GetObjectItem(a, "result");
        printf("  round %.0f (%s): %s", num(a, "round"), str(a, "stage"), str(a, "outcome"));
        if (res) printf(", status %s", str(res, "status"));
        if (*str(a, "llm_error")) printf(", llm error: %s", str(a, "llm_error"));
        if (*str(a, "extract_error")) printf(", no formulation: %s", str(a, "extract_error"));
        printf(", %.0f ms\n", num(a, "latency_ms"));
        const char *fb = str(a, "feedback");
        if (*fb) printf("    sent back: %.*s%s\n", (int)strcspn(fb, "\n"), fb, strchr(fb, '\n') ? " ..." : "");
    }
}

void repl_show_insights(repl_session *s)
{
    if (!s->record) { repl_error(s, "no request yet: type a problem"); return; }
    const cJSON *r = cJSON_GetObjectItem(s->record, "retrieval");
    if (!r) { printf("no experience library was used\n"); return; }
    const cJSON *h, *hits = cJSON_GetObjectItem(r, "hits");
    printf("retrieval: %s, k %.0f, carried: %s\n", str(r, "method"), num(r, "k"),
           *str(r, "refs") ? str(r, "refs") : "none");
    if (*str(r, "error")) printf("error: %s\n", str(r, "error"));
    if (!cJSON_GetArraySize(hits)) printf("nothing retrieved\n");
    cJSON_ArrayForEach(h, hits)
        printf("  insight %.0f@%.0f  score %.2f\n", num(h, "id"), num(h, "version"), num(h, "score"));
}
