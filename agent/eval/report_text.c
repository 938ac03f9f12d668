/* agent/eval/report_text — the text helpers the report writers share.
 *
 * Escaping (a Markdown table cell, HTML text or attribute) and number
 * formatting ("n/a" for what is not a number, percentages with one decimal)
 * live here once, so the Markdown and HTML reports write every value the
 * same way. Each helper writes to the FILE * or buffer it is given, nothing
 * else; the writers check ferror() at the end.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agent/eval/internal.h"

/* Markdown table cell: entities for < > & (renderers pass raw HTML
 * through), backslash escapes for the characters that start markup, and a
 * space for control characters (a newline would end the row). */
void ag_ev_md_esc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
            fputc('\\', f);
            fputc(*p, f);
            break;
        default:
            fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
        }
    }
}

/* HTML text or attribute value; at most max bytes of s (0 = all), cut at a
 * UTF-8 character boundary and marked with an ellipsis. */
void ag_ev_html_esc_n(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    int cut = 0;
    if (max && n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
        cut = 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
        }
    }
    if (cut) fputs("\xe2\x80\xa6", f);
}

void ag_ev_html_esc(FILE *f, const char *s)
{
    ag_ev_html_esc_n(f, s, 0);
}

void ag_ev_fmt_pct(char *buf, size_t n, double acc)
{
    if (isnan(acc)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.1f%%", 100.0 * acc);
}

void ag_ev_fmt_num(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", decimals, v);
}

void ag_ev_fmt_gold(char *buf, size_t n, const ag_eval_record *r)
{
    switch (r->gold_kind) {
    case AG_GOLD_NONE: snprintf(buf, n, "none"); break;
    case AG_GOLD_NUMBER: snprintf(buf, n, "%.10g", r->gold); break;
    case AG_GOLD_NO_SOLUTION: snprintf(buf, n, "No Best Solution"); break;
    case AG_GOLD_QUANTITIES: snprintf(buf, n, "%zu quantities", r->gold_quantities); break;
    default: snprintf(buf, n, "?"); break;
    }
}

void ag_ev_fmt_answer(char *buf, size_t n, const ag_eval_record *r)
{
    if (!r->has_answer) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.10g", r->answer);
}

/* ---- what the Markdown and HTML reports say alike ---- */

static const char *const TOTALS_HEADS[AG_EV_TOTALS_CELLS + 1] = {
    "dataset", "problems", "with gold", "correct", "accuracy", "no gold",
    "tokens/problem", "LLM calls/problem", "p50 ms", "p90 ms", "p99 ms",
};

void ag_ev_totals_head(char *buf, size_t n, int i, const char *rule)
{
    if (i < 0 || i > AG_EV_TOTALS_CELLS) snprintf(buf, n, "?");
    else if (i == 4) snprintf(buf, n, "%s (%s)", TOTALS_HEADS[i], rule);
    else snprintf(buf, n, "%s", TOTALS_HEADS[i]);
}

void ag_ev_totals_cells(const ag_eval_totals *t, ag_ev_totals_text *out)
{
    char (*c)[sizeof out->cell[0]] = out->cell;
    snprintf(c[0], sizeof c[0], "%zu", t->problems);
    snprintf(c[1], sizeof c[1], "%zu", t->with_gold);
    snprintf(c[2], sizeof c[2], "%zu", t->correct);
    ag_ev_fmt_pct(c[3], sizeof c[3], t->accuracy);
    snprintf(c[4], sizeof c[4], "%zu", t->category[AG_CAT_NO_GOLD]);
    ag_ev_fmt_num(c[5], sizeof c[5], t->tokens_mean, 1);
    ag_ev_fmt_num(c[6], sizeof c[6], t->calls_mean, 2);
    ag_ev_fmt_num(c[7], sizeof c[7], t->latency_p50, 0);
    ag_ev_fmt_num(c[8], sizeof c[8], t->latency_p90, 0);
    ag_ev_fmt_num(c[9], sizeof c[9], t->latency_p99, 0);
}

void ag_ev_write_accuracy(FILE *f, const char *rule, const ag_eval_totals *all, const char *em,
                          const char *end_em)
{
    char acc[32];
    ag_ev_fmt_pct(acc, sizeof acc, all->accuracy);
    fprintf(f, "Accuracy (rule %s): %s%s%s — %zu correct of %zu problems with a gold answer; "
               "%zu problems in all, %zu without a gold (excluded from accuracy).",
            rule, em, acc, end_em, all->correct, all->with_gold, all->problems,
            all->category[AG_CAT_NO_GOLD]);
    fprintf(f, " Proven optima: %zu of %zu answers (the rest are local optima of nonlinear models).",
            all->proven, all->outcome[AG_OUTCOME_OK]);
}

void ag_ev_write_queries(FILE *f, ag_match_rule r, const ag_eval_totals *all, const char *em,
                         const char *end_em)
{
    if (!all->query_problems && r != AG_MATCH_OPTIBENCH) return;
    const size_t *st = all->query_status;
    char share[32];
    ag_ev_fmt_pct(share, sizeof share, all->objective_only_share);
    fprintf(f, "Queries (rule %s): %zu queried quantities of %zu solved problems graded: %zu "
               "matched by name, %s%zu matched by value%s (no reported quantity bore their name), "
               "%zu wrong, %zu missing. Objective right but another quantity not: %s%s%s of the "
               "problems with a gold (%zu of %zu).",
            ag_eval_rule_name(r), all->queries, all->query_problems, st[AG_QUERY_BY_NAME], em,
            st[AG_QUERY_BY_VALUE], end_em, st[AG_QUERY_WRONG], st[AG_QUERY_MISSING], em, share,
            end_em, all->objective_only, all->with_gold);
}

#define QUERIES_LISTED 10   /* failed queries named in one problem's cell */

void ag_ev_write_failed_queries(FILE *f, const ag_eval_record *r, void (*esc)(FILE *, const char *))
{
    size_t said = 0, by_value = 0, failed = 0;
    for (size_t i = 0; i < r->nqueries; i++) {
        const ag_eval_query *q = &r->queries[i];
        if (q->status == AG_QUERY_BY_VALUE) by_value++;
        if (q->status != AG_QUERY_WRONG && q->status != AG_QUERY_MISSING) continue;
        if (failed++ >= QUERIES_LISTED) continue;   /* a cell stays readable */
        fprintf(f, "%s%s: ", said++ ? "; " : "", ag_eval_query_status_name(q->status));
        if (q->name) {
            fputc('"', f);
            esc(f, q->name);
            fputc('"', f);
        } else {
            fputs("(no name)", f);
        }
        fprintf(f, " (gold %.10g", q->gold);
        if (q->has_answer) fprintf(f, ", answer %.10g", q->answer);
        fputc(')', f);
    }
    if (failed > QUERIES_LISTED) fprintf(f, "; %zu more not matched", failed - QUERIES_LISTED);
    if (by_value) fprintf(f, "%s%zu matched by value", said++ ? "; " : "", by_value);
    if (r->objective_right == 1 && r->category == AG_CAT_WRONG_ANSWER)
        fprintf(f, "%sobjective right", said++ ? "; " : "");
    if (!said) fputc('-', f);
}

void ag_ev_write_listed_count(FILE *f, size_t n)
{
    fprintf(f, "%zu", n);
    if (n > AG_EVAL_LIST_CAP) fprintf(f, "; the first %d listed", AG_EVAL_LIST_CAP);
}

size_t ag_ev_each_not_correct(const ag_eval *e, FILE *f, ag_ev_problem_row_fn row)
{
    size_t listed = 0;
    for (size_t i = 0; i < e->nrecs && listed < AG_EVAL_LIST_CAP; i++) {
        const ag_eval_record *r = &e->recs[i].pub;
        if (r->category == AG_CAT_CORRECT || r->category == AG_CAT_NO_GOLD) continue;
        ag_ev_problem_text pt;
        pt.category = ag_eval_category_name(r->category);
        pt.outcome = ag_outcome_name(r->outcome);
        ag_ev_fmt_gold(pt.gold, sizeof pt.gold, r);
        ag_ev_fmt_answer(pt.answer, sizeof pt.answer, r);
        pt.with_queries = e->nquery_recs > 0;
        row(f, r, &pt);
        listed++;
    }
    return listed;
}
