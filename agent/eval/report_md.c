/* agent/eval/report_md — the Markdown reports: one evaluation
 * (ag_eval_write_markdown) and the comparison of two (ag_eval_write_compare_markdown).
 *
 * A report is written top-down straight to the FILE *: the totals are
 * computed once (ag_ev_all_totals), then each section is printed from them
 * and from the records. Every name that comes from the input (dataset, id)
 * goes through ag_ev_md_esc; numbers through the shared formatters of
 * report_text.c. Lists of problems stop at AG_EVAL_LIST_CAP rows and say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include "agent/eval/internal.h"

static void md_totals_row(FILE *f, const char *name, int bold, const ag_eval_totals *t)
{
    ag_ev_totals_text x;
    ag_ev_totals_cells(t, &x);
    fputs(bold ? "| **" : "| ", f);
    ag_ev_md_esc(f, name);
    fputs(bold ? "**" : "", f);
    for (int i = 0; i < AG_EV_TOTALS_CELLS; i++) fprintf(f, " | %s", x.cell[i]);
    fputs(" |\n", f);
}

static void md_totals_table(FILE *f, const ag_eval *e, const ag_eval_totals *t, const char *rule)
{
    char head[64];
    for (int i = 0; i <= AG_EV_TOTALS_CELLS; i++) {
        ag_ev_totals_head(head, sizeof head, i, rule);
        fprintf(f, "| %s ", head);
    }
    fputs("|\n|---|", f);
    for (int i = 0; i < AG_EV_TOTALS_CELLS; i++) fputs("---:|", f);
    fputc('\n', f);
    for (size_t d = 0; d < e->nds; d++) md_totals_row(f, e->ds[d], 0, &t[d]);
    md_totals_row(f, "all", 1, &t[e->nds]);
}

static void md_problem_row(FILE *f, const ag_eval_record *r, const ag_ev_problem_text *pt)
{
    fputs("| ", f);
    ag_ev_md_esc(f, r->dataset);
    fputs(" | ", f);
    ag_ev_md_esc(f, r->id);
    fprintf(f, " | %s | %s | %s | %s |", pt->category, pt->outcome, pt->gold, pt->answer);
    if (pt->with_queries) {
        fputc(' ', f);
        ag_ev_write_failed_queries(f, r, ag_ev_md_esc);
        fputs(" |", f);
    }
    fputc('\n', f);
}

static void md_categories(FILE *f, const ag_eval *e, const ag_eval_totals *t)
{
    const ag_eval_totals *all = &t[e->nds];
    fputs("## Failure categories\n\n| category | all", f);
    for (size_t d = 0; d < e->nds; d++) {
        fputs(" | ", f);
        ag_ev_md_esc(f, e->ds[d]);
    }
    fputs(" |\n|---|---:", f);
    for (size_t d = 0; d < e->nds; d++) fputs("|---:", f);
    fputs("|\n", f);
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        fprintf(f, "| %s | %zu", ag_eval_category_name((ag_eval_category)k), all->category[k]);
        for (size_t d = 0; d < e->nds; d++) fprintf(f, " | %zu", t[d].category[k]);
        fputs(" |\n", f);
    }
}

static void md_not_correct(FILE *f, const ag_eval *e, const ag_eval_totals *all)
{
    size_t wrong = all->with_gold - all->correct;
    fputs("\n## Problems not correct (", f);
    ag_ev_write_listed_count(f, wrong);
    fputs(")\n\n", f);
    if (!wrong) {
        fputs("None.\n", f);
        return;
    }
    if (e->nquery_recs)
        fputs("| dataset | id | category | outcome | gold | answer | queries not matched |\n"
              "|---|---|---|---|---:|---:|---|\n", f);
    else
        fputs("| dataset | id | category | outcome | gold | answer |\n|---|---|---|---|---:|---:|\n", f);
    ag_ev_each_not_correct(e, f, md_problem_row);
}

ag_code ag_eval_write_markdown(const ag_eval *e, FILE *f)
{
    if (!e || !f) return AG_EUSAGE;
    ag_eval_totals *t = ag_ev_all_totals(e);
    if (!t) return AG_ENOMEM;
    const ag_eval_totals *all = &t[e->nds];
    const char *rule = ag_eval_rule_name(e->rule);
    fputs("# optagent evaluation\n\n", f);
    fprintf(f, "Matching rule: **%s** — %s\n\n", rule, ag_eval_rule_description(e->rule));
    ag_ev_write_accuracy(f, rule, all, "**", "**");
    fputs("\n\n", f);
    if (all->query_problems || e->rule == AG_MATCH_OPTIBENCH) {
        ag_ev_write_queries(f, e->rule, all, "**", "**");
        fputs("\n\n", f);
    }
    md_totals_table(f, e, t, rule);
    fputs("\nLatency percentiles are nearest-rank over the problems with a recorded latency.\n\n", f);
    md_categories(f, e, t);
    md_not_correct(f, e, all);
    free(t);
    return ferror(f) ? AG_EIO : AG_OK;
}

ag_code ag_eval_write_compare_markdown(const ag_eval_comparison *c, FILE *f)
{
    if (!c || !f) return AG_EUSAGE;
    const ag_eval_totals *a = &c->total_a, *b = &c->total_b;
    char pa[32], pb[32];
    ag_ev_fmt_pct(pa, sizeof pa, a->accuracy);
    ag_ev_fmt_pct(pb, sizeof pb, b->accuracy);
    fputs("# optagent comparison (A = before, B = after)\n\n", f);
    fputs("| | A | B |\n|---|---:|---:|\n", f);
    fprintf(f, "| matching rule | %s | %s |\n", ag_eval_rule_name(c->rule_a), ag_eval_rule_name(c->rule_b));
    fprintf(f, "| problems | %zu | %zu |\n", a->problems, b->problems);
    fprintf(f, "| with gold | %zu | %zu |\n", a->with_gold, b->with_gold);
    fprintf(f, "| correct | %zu | %zu |\n", a->correct, b->correct);
    fprintf(f, "| accuracy | %s (rule %s) | %s (rule %s) |\n\n", pa, ag_eval_rule_name(c->rule_a), pb,
            ag_eval_rule_name(c->rule_b));
    fprintf(f, "Rule A (%s): %s\n\n", ag_eval_rule_name(c->rule_a), ag_eval_rule_description(c->rule_a));
    if (c->rule_b != c->rule_a)
        fprintf(f, "Rule B (%s): %s\n\n**Warning:** the two runs were graded under different "
                   "matching rules; the accuracies are not comparable.\n\n",
                ag_eval_rule_name(c->rule_b), ag_eval_rule_description(c->rule_b));
    else
        fputs("Both runs were graded under the same rule.\n\n", f);

    fputs("## Changes\n\n| change | problems |\n|---|---:|\n", f);
    for (int k = 0; k < AG_CHANGE_COUNT; k++)
        fprintf(f, "| %s | %zu |\n", ag_eval_change_name((ag_eval_change_kind)k), c->count[k]);

    fputs("\n## Category transitions (problems in both runs whose category changed)\n\n", f);
    size_t ntrans = 0;
    for (int i = 0; i < AG_CAT_COUNT; i++)
        for (int j = 0; j < AG_CAT_COUNT; j++) {
            if (i == j || !c->transitions[i][j]) continue;
            if (!ntrans++) fputs("| before | after | problems |\n|---|---|---:|\n", f);
            fprintf(f, "| %s | %s | %zu |\n", ag_eval_category_name((ag_eval_category)i),
                    ag_eval_category_name((ag_eval_category)j), c->transitions[i][j]);
        }
    if (!ntrans) fputs("None.\n", f);

    static const ag_eval_change_kind listed_kinds[] = { AG_CHANGE_FIXED, AG_CHANGE_BROKEN,
                                                        AG_CHANGE_STILL_WRONG };
    for (size_t s = 0; s < sizeof listed_kinds / sizeof listed_kinds[0]; s++) {
        ag_eval_change_kind k = listed_kinds[s];
        fprintf(f, "\n## %s (", ag_eval_change_name(k));
        ag_ev_write_listed_count(f, c->count[k]);
        fputs(")\n\n", f);
        if (!c->count[k]) {
            fputs("None.\n", f);
            continue;
        }
        fputs("| dataset | id | before | after |\n|---|---|---|---|\n", f);
        size_t n = 0;
        for (size_t i = 0; i < c->nchanges && n < AG_EVAL_LIST_CAP; i++) {
            const ag_eval_change *ch = &c->changes[i];
            if (ch->kind != k) continue;
            fputs("| ", f);
            ag_ev_md_esc(f, ch->dataset);
            fputs(" | ", f);
            ag_ev_md_esc(f, ch->id);
            fprintf(f, " | %s | %s |\n", ag_eval_category_name(ch->before),
                    ag_eval_category_name(ch->after));
            n++;
        }
    }
    return ferror(f) ? AG_EIO : AG_OK;
}
