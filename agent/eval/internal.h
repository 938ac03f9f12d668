/* Internal to agent/eval/: what its source files share and nothing else
 * includes. The public interface is agent/eval/eval.h.
 *
 * Names here carry the ag_ev_ prefix: they are global symbols of libagent.a
 * but not part of its interface.
 */
#ifndef OPTAGENT_AGENT_EVAL_INTERNAL_H
#define OPTAGENT_AGENT_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include "agent/eval/eval.h"

#define AG_EV_NOUTCOMES (AG_OUTCOME_SOLVER_ERROR + 1)

/* ---- grading (grade.c) ---- */

int ag_ev_rule_valid(ag_match_rule r);
/* The category of an item that passed ag_eval_check_item; *oom is set when
 * out of memory (the category is then not to be used). */
ag_eval_category ag_ev_judge(ag_match_rule r, const ag_eval_item *it, int *oom);
/* qsort comparison of doubles, ascending (no NaN given). */
int ag_ev_cmp_double(const void *x, const void *y);
/* Nearest rank over n sorted values: rank ceil(pct * n / 100), at least 1;
 * NaN when n = 0 or pct is outside 0..100. */
double ag_ev_rank_sorted(const double *s, size_t n, int pct);

/* ---- the aggregate (aggregate.c); the writers read it directly ---- */

/* A record as kept: the public part, and its dataset's index in ds[]. */
typedef struct {
    ag_eval_record pub;
    size_t ds;
} ag_ev_rec;

struct ag_eval {
    ag_match_rule rule;
    ag_ev_rec *recs;        /* in the order added */
    size_t nrecs, caprecs;
    char **ds;              /* dataset names, in the order first seen */
    size_t nds, capds;
    size_t nquery_recs;     /* records with graded queries */
    size_t *slots;          /* record index + 1; 0 = empty */
    size_t nslots;          /* power of two */
    int latency_replayed;   /* ag_eval_set_replayed */
    char err[256];
};

/* Totals of every dataset, then the overall ones: ag_eval_dataset_count(e)
 * + 1 entries the caller frees. NULL when out of memory. */
ag_eval_totals *ag_ev_all_totals(const ag_eval *e);

/* ---- text helpers (report_text.c) ---- */

/* Markdown table cell text: entities for < > &, backslash before markup
 * characters, a space for control characters. */
void ag_ev_md_esc(FILE *f, const char *s);
/* HTML text or attribute value; at most max bytes of s (0 = all), cut at a
 * UTF-8 character boundary and marked with an ellipsis. */
void ag_ev_html_esc_n(FILE *f, const char *s, size_t max);
void ag_ev_html_esc(FILE *f, const char *s);
/* "12.5%", or "n/a" for NaN. */
void ag_ev_fmt_pct(char *buf, size_t n, double acc);
/* v with the given decimals, or "n/a" when not finite. */
void ag_ev_fmt_num(char *buf, size_t n, double v, int decimals);
/* A record's gold ("none", the number, "No Best Solution", "N quantities")
 * and answer (the number, or "-"). */
void ag_ev_fmt_gold(char *buf, size_t n, const ag_eval_record *r);
void ag_ev_fmt_answer(char *buf, size_t n, const ag_eval_record *r);

/* ---- what the Markdown and HTML reports say alike (report_text.c) ----
 * The two writers differ in markup only: the words, the columns and the
 * formatting of every value come from here. */

/* The cells of a totals row after its name (problems, with gold, correct,
 * accuracy, no gold, tokens/problem, LLM calls/problem, p50, p90, p99). */
#define AG_EV_TOTALS_CELLS 10
typedef struct {
    char cell[AG_EV_TOTALS_CELLS][32];
} ag_ev_totals_text;
void ag_ev_totals_cells(const ag_eval_totals *t, ag_ev_totals_text *out);
/* The heading of column i of the totals table (0 is the name column, 1..10
 * the cells); the accuracy column names the rule. */
void ag_ev_totals_head(char *buf, size_t n, int i, const char *rule);

/* "Accuracy (rule R): <em>12.5%<end_em> — ... (excluded from accuracy)."
 * with no line end: the caller's markup goes around it. */
void ag_ev_write_accuracy(FILE *f, const char *rule, const ag_eval_totals *all, const char *em,
                          const char *end_em);
/* The count of a listed section: "N", or "N; the first AG_EVAL_LIST_CAP
 * listed" when the list is cut. */
void ag_ev_write_listed_count(FILE *f, size_t n);

/* "Queries (rule R): ..." — what the queries of multi-quantity golds did
 * overall (by name, by value, wrong, missing) and the share of problems
 * whose objective is right but another quantity is not; with no line end.
 * Nothing when no query was graded and the rule is not optibench. */
void ag_ev_write_queries(FILE *f, ag_match_rule r, const ag_eval_totals *all, const char *em,
                         const char *end_em);

/* The queries of r that did not match, "wrong: "A" (gold 6, answer 5);
 * missing: "B" (gold 420)" (the first 10, then how many more), how many
 * matched by value, and "objective right" for a wrong answer whose objective
 * is; each name through esc (the writer's escaping). "-" when there is
 * nothing to say. The JSON report lists every query. */
void ag_ev_write_failed_queries(FILE *f, const ag_eval_record *r, void (*esc)(FILE *, const char *));

/* A problem not correct, as listed in the reports. */
typedef struct {
    const char *category, *outcome;
    char gold[64], answer[64];
    int with_queries;          /* the evaluation graded queries: a queries column */
} ag_ev_problem_text;
typedef void (*ag_ev_problem_row_fn)(FILE *f, const ag_eval_record *r, const ag_ev_problem_text *t);
/* Calls row for each graded problem that is not correct, in the order added,
 * at most AG_EVAL_LIST_CAP times. Returns the number of rows. */
size_t ag_ev_each_not_correct(const ag_eval *e, FILE *f, ag_ev_problem_row_fn row);

#endif
