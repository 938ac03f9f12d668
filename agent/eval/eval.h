/* agent/eval — benchmark evaluation: the public header of agent/eval/.
 *
 * Two halves, one header: the dataset loaders turn benchmark files into
 * problems with gold answers (ag_ds_*, agent/eval/datasets.c), and the
 * evaluator grades results against those golds, aggregates them and writes
 * the reports (ag_eval_*, the other files of agent/eval/). The folder's
 * layout and dependencies are in agent/eval/README.md.
 */
#ifndef OPTAGENT_AGENT_EVAL_H
#define OPTAGENT_AGENT_EVAL_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"

/* ==== Datasets: load optimization benchmark files as a list of problems
 * with their gold answers (ag_ds_*).
 *
 * Formats (detected from the content, never from the file name):
 *
 *   format     keys used (others ignored)              container
 *   alphaopt   task_id, description, ground_truth      array or JSON Lines
 *   llmopt     question, answer, index (ori ignored)   array or JSON Lines
 *   optmath    en_question, en_answer, id              array or JSON Lines
 *   optibench  question, results, index, type          array or JSON Lines
 *   plain      id, question, answer, queries           array or JSON Lines
 *
 * Container: the first non-space character (after an optional UTF-8 BOM)
 * decides: '[' is one JSON array of objects, '{' is JSON Lines (one object
 * per line, streamed; blank lines skipped, CRLF accepted). A pretty-printed
 * single object is therefore an error on its first line.
 *
 * Format detection (AG_DS_AUTO) looks at the keys of the first record, most
 * specific family first:
 *   "results"                         -> optibench
 *   "en_question" or "en_answer"      -> optmath
 *   "task_id" or "ground_truth", or "description" without "question"
 *                                     -> alphaopt
 *   "question" with "index" or "ori"  -> llmopt
 *   "question" with "id"              -> plain
 *   "question" with "answer"          -> llmopt (ids are record numbers)
 *   anything else                     -> error listing the keys found.
 * Every later record is then read with the rules of that format.
 *
 * Ids (text; unique within a file, a duplicate is an error naming both
 * records): alphaopt task_id and plain id are required; llmopt index,
 * optmath id and optibench index are optional and default to the 1-based
 * record number. A number id is written without a fraction when it is an
 * integer ("7", not "7.0"); a string id is kept as written (1-256 bytes).
 *
 * Golds (the answer field of the format):
 *   JSON number                          -> NUMBER
 *   numeric string, surrounding white space trimmed (decimal digits, one
 *     optional '.', optional sign and exponent: "700.0", " 172666.667")
 *                                        -> NUMBER
 *   "No Best Solution" (any letter case, trimmed) -> NO_SOLUTION
 *   null or missing                      -> NONE
 *   -99999 or 4.08e35 (number or string, relative tolerance 1e-6: LLMOPT
 *     writes the latter as 407999995500002257060344751334621184, 1.1e-8 away)
 *                                        -> NONE
 *   any other string ("1,234.5", "infeasible", "about 12"), a boolean, an
 *   array or an object                   -> error naming the field.
 * Only the strings the published files hold are accepted; thousands
 * separators and words other than "No Best Solution" are refused rather than
 * guessed. Zero is a real gold.
 *
 * OptiBench: every entry of "results" becomes a quantity (name, value parsed
 * from its numeric string, or a JSON number); a value that is not numeric is
 * an error naming the key. The gold is the LAST quantity, kind NUMBER (the
 * objective is usually, not always, the last key: an evaluator should score
 * every quantity). Empty or missing results give kind NONE.
 *
 * Queries: the quantities of a problem (OptiBench "results", a plain
 * record's optional "queries" object of name -> number or numeric string,
 * read with the same rules; a plain record's gold stays its "answer") are
 * the quantities its question asks for by name: batch lists their names in
 * the prompts (agent/core, "Queries") and --match optibench grades every one.
 * A plain query name must hold a letter or digit (it is asked for by name);
 * "queries": {} or null is no query.
 *
 * Errors: ag_ds_load returns NULL and one line in err:
 *   JSON Lines:  "FILE:LINE: field "answer": an array is not a gold answer"
 *   array:       "FILE: record N (line L): field "description": missing"
 * A malformed record is never skipped.
 *
 * Hard caps: file 512 MiB, 1,000,000 records, question 1 MiB, one JSON Lines
 * line 16 MiB, 100,000 quantities per record.
 *
 * Ownership: an ag_ds owns every problem and every string they point to;
 * pointers from ag_ds_get live until ag_ds_free. Nothing here prints.
 */
#define AG_DS_MAX_FILE_BYTES   ((size_t)512 << 20)
#define AG_DS_MAX_RECORDS      1000000u
#define AG_DS_MAX_QUESTION     ((size_t)1 << 20)
#define AG_DS_MAX_LINE_BYTES   ((size_t)16 << 20)
#define AG_DS_MAX_QUANTITIES   64u      /* = AG_EVAL_MAX_QUANTITIES: every query is graded */
#define AG_DS_MAX_ID_BYTES     256u

typedef enum {
    AG_DS_AUTO,
    AG_DS_ALPHAOPT,
    AG_DS_LLMOPT,
    AG_DS_OPTMATH,
    AG_DS_OPTIBENCH,
    AG_DS_PLAIN
} ag_ds_format;

/* "auto", "alphaopt", "llmopt", "optmath", "optibench", "plain". */
const char *ag_ds_format_name(ag_ds_format f);
/* The inverse (exact, lower case). Returns 0, or -1 for an unknown name. */
int ag_ds_format_parse(const char *s, ag_ds_format *out);

/* The kind of a gold answer: one enum for the loaders and the evaluator.
 * The loaders give NONE, NUMBER or NO_SOLUTION (an OptiBench gold is its
 * last quantity, NUMBER, with every quantity beside it); QUANTITIES is the
 * form the evaluator grades when every quantity is to be matched (see
 * "Golds" under Evaluation below). */
typedef enum {
    AG_GOLD_NONE,          /* no gold: null, sentinel, missing */
    AG_GOLD_NUMBER,
    AG_GOLD_NO_SOLUTION,   /* "No Best Solution": infeasible/unbounded expected */
    AG_GOLD_QUANTITIES     /* named quantities, every one graded */
} ag_gold_kind;

/* "none", "number", "no_solution", "quantities" ("unknown" out of range).
 * Results databases store these names (the "kind" of a problem's
 * gold_json), never the numbers: they do not change. */
const char *ag_gold_kind_name(ag_gold_kind k);

typedef struct {
    char *name;
    double value;
} ag_ds_quantity;      /* OptiBench results entries */

typedef struct {
    char *id;
    char *question;
    ag_gold_kind gold_kind;
    double gold;                 /* 0 unless gold_kind is AG_GOLD_NUMBER */
    ag_ds_quantity *quantities;  /* the queries: OptiBench "results", plain "queries"; in file order */
    size_t nquantities;
    char *dataset;               /* file stem ("nl4opt_test"), shared by all */
    size_t record;               /* JSON Lines: line number; array: 1-based element */
    char *type;                  /* OptiBench "type", or NULL */
} ag_ds_problem;

typedef struct ag_ds ag_ds;

/* Loads path. fmt AG_DS_AUTO detects the format; any other value forces it
 * (the container is still detected). Returns NULL with a one-line reason in
 * err (may be NULL). */
ag_ds *ag_ds_load(const char *path, ag_ds_format fmt, char *err, size_t errlen);

size_t ag_ds_count(const ag_ds *ds);
/* NULL when i >= count. */
const ag_ds_problem *ag_ds_get(const ag_ds *ds, size_t i);
/* The format used (detected or forced). */
ag_ds_format ag_ds_detected(const ag_ds *ds);
/* 1 when the file was JSON Lines, 0 for a JSON array. */
int ag_ds_is_jsonl(const ag_ds *ds);
const char *ag_ds_path(const ag_ds *ds);
/* The file stem (base name without its last extension). */
const char *ag_ds_name(const ag_ds *ds);
void ag_ds_free(ag_ds *ds);

/* ==== Evaluation: grading answers against benchmark golds, aggregates and
 * reports (ag_eval_*).
 *
 * Ownership, once for the whole file: an ag_eval (ag_eval_new) and an
 * ag_eval_comparison (ag_eval_compare) are owned by the caller and freed with
 * their _free function. ag_eval_add copies what it keeps from the item (the
 * dataset and id strings, the gold number, the answer); the item's arrays are
 * only read during the call. A comparison borrows the dataset/id strings of
 * the two evaluations it was made from: free it before them. Writers print
 * only to the FILE * they are given and return 0, or -1 on a write error or
 * when out of memory.
 *
 * ---- Matching rules (one per evaluation, stated with every accuracy) ----
 *
 *   default   |a - g| <= 1e-4 * max(1, |g|)
 *   alphaopt  |a - g| <= 0.1                       (AlphaOPT's check)
 *   orlm      ra = round(a), rg = round(g) (half away from zero, C round());
 *             |ra - rg| <= 0.05 * |rg|             (ORLM / OptMATH style)
 *   optibench |a - g| <= 1e-4, for EVERY query    (ReSocratic / OptiBench)
 *
 * Which golds a rule grades (ag_eval_gold_from_json builds them so):
 * optibench grades every query of a problem that has queries (its gold is
 * AG_GOLD_QUANTITIES, one quantity or more); default, alphaopt and orlm
 * grade the objective only (the "objective-only view": the NUMBER gold, for
 * OptiBench its last key), as the peers that use those rules do. A problem
 * without queries is graded on its objective under every rule.
 *
 * Every comparison is made exactly as written, in IEEE double arithmetic:
 * a tie at the boundary counts as a match (<=), and "at the boundary" means
 * in binary — under alphaopt, 0.2 vs gold 0.1 is a match (0.2 - 0.1 == 0.1
 * in doubles), 1000.1 vs gold 1000 is not (the double nearest 1000.1 is
 * 1000.10000000000002). A NaN or infinite answer or gold never matches.
 * Zero golds are real answers: default and alphaopt need |a| <= 1e-4 and
 * |a| <= 0.1 respectively.
 *
 * orlm with a zero gold: the tolerance 0.05*|rg| is 0, so the rule asks for
 * equality after rounding, i.e. the answer rounds to 0 (|a| < 0.5). The
 * peers' published scripts could not be consulted from this workplace (no
 * network); a ratio |ra - rg| / |rg| < 0.05 would divide by zero there, and
 * the multiplicative form chosen here is its limit without the division.
 * Note that orlm rounds the gold too: a gold of 0.4 becomes 0, and golds
 * below 10 in magnitude need the exact integer (5% of 9 is under 1). C's
 * round() rounds halves away from zero (2.5 -> 3, -2.5 -> -3), unlike
 * Python's round() (banker's rounding) that some peer scripts use.
 *
 * ---- Golds ----
 *
 *   AG_GOLD_NONE         no gold: the problem is not graded (category
 *                        no_gold), excluded from accuracy, counted apart.
 *   AG_GOLD_NUMBER       the objective value; graded against the answer
 *                        (the objective) only.
 *   AG_GOLD_NO_SOLUTION  "No Best Solution": correct when the outcome is
 *                        infeasible or unbounded (AG_OUTCOME_UNBOUNDED also
 *                        covers infeasible_or_unbounded) and no answer is
 *                        given; an answer (outcome ok) is a wrong_answer.
 *   AG_GOLD_QUANTITIES   named quantities (OptiBench "results": name ->
 *                        value). Correct when EVERY gold quantity is matched
 *                        by its own reported quantity under the rule. The
 *                        candidates are the objective (named answer_name,
 *                        or "objective") and the item's reported quantities (the result's
 *                        "report" entries; the caller may add more, e.g. the
 *                        variables). Names are compared loosely: ASCII
 *                        letters case-insensitively, digits, and nothing else
 *                        ("Total_Cost ($)" == "total cost"); a name with no
 *                        letter or digit never matches by name.
 *                        - A gold quantity whose name some candidate shares
 *                          is matched only by such a candidate: a value
 *                          reported under the right name decides (a wrong
 *                          value there is not rescued by a coincidence
 *                          elsewhere).
 *                        - Otherwise (names differ) any candidate whose name
 *                          is not one of the gold names may match it by
 *                          value.
 *                        Each candidate serves at most one gold quantity
 *                        (a maximum bipartite matching decides), so two gold
 *                        quantities of 10 need two reported 10s.
 *                        Each gold quantity (query) ends matched by name,
 *                        matched by value, wrong (a candidate bears its name
 *                        with another value) or missing (ag_eval_query_status);
 *                        records keep them, totals count them, and reports
 *                        list the wrong and missing ones per problem and how
 *                        many were matched by value. With objective_gold, a
 *                        wrong answer whose objective matches value is counted
 *                        as "objective right, another quantity not". At most
 *                        AG_EVAL_MAX_QUANTITIES queries are graded (the
 *                        loader refuses a record with more; OptiBench has at
 *                        most 19). Queries equal after normalisation ("x_1",
 *                        "X1") are told apart by exact names first: a query
 *                        some candidate names exactly takes only such a
 *                        candidate, which answers no other query by name.
 *
 * A problem is correct only when the outcome is ok (a trusted optimum) — an
 * answer from a time-limited or untrusted attempt is not graded as correct —
 * except for no_solution golds as above.
 *
 * ---- Categories (exactly one per problem) ----
 *
 *   no gold                       -> no_gold
 *   outcome ok, answer matches    -> correct
 *   outcome ok, answer does not   -> wrong_answer  (also: no answer given,
 *                                                   or an answer to a
 *                                                   no_solution gold)
 *   no_solution gold, infeasible/unbounded with no answer -> correct
 *   any other outcome             -> the outcome's own category (llm_error,
 *                                    no_json, invalid, nonlinear, infeasible,
 *                                    unbounded, time_limit, solver_error)
 *
 * ---- Aggregates ----
 *
 * accuracy = correct / (problems with a gold); NaN when none has a gold
 * (printed as "n/a", JSON null). tokens and LLM calls are means over all
 * problems (graded or not). Latency percentiles use the nearest-rank method
 * over the problems whose latency is known: the p-th percentile of N sorted
 * values is the value of rank ceil(p/100 * N) (at least 1) — always one of
 * the data, never interpolated; p50 of 1..10 is 5, p90 is 9, p99 is 10.
 */

/* Hard caps. */
#define AG_EVAL_MAX_PROBLEMS   1000000  /* problems in one evaluation */
#define AG_EVAL_MAX_DATASETS   1024     /* distinct datasets in one evaluation */
#define AG_EVAL_MAX_NAME       4096     /* bytes of a dataset name or a problem id */
#define AG_EVAL_MAX_QUANTITIES 64       /* gold quantities of one problem */
#define AG_EVAL_MAX_REPORTED   1024     /* reported quantities of one problem */
#define AG_EVAL_LIST_CAP       1000     /* problems listed in a report section */

/* ---- matching rules ---- */

typedef enum { AG_MATCH_DEFAULT, AG_MATCH_ALPHAOPT, AG_MATCH_ORLM, AG_MATCH_OPTIBENCH } ag_match_rule;

/* "default", "alphaopt", "orlm", "optibench" ("unknown" for any other value). */
const char *ag_eval_rule_name(ag_match_rule r);
/* Parses a rule name (exact, lower case). Returns 0, or -1 (out untouched). */
int ag_eval_rule_parse(const char *s, ag_match_rule *out);
/* One line for reports, e.g. "|a - g| <= 0.1 (absolute)". */
const char *ag_eval_rule_description(ag_match_rule r);

/* 1 when answer matches gold under r, else 0 (see the rules above). */
int ag_eval_match(ag_match_rule r, double answer, double gold);

/* ---- golds (ag_gold_kind above), items, categories ---- */

typedef struct {
    const char *name;   /* may be NULL: matched by value only */
    double value;
} ag_eval_quantity;

typedef struct {
    ag_gold_kind kind;
    double value;                       /* AG_GOLD_NUMBER; AG_GOLD_QUANTITIES with
                                           objective_gold: the objective's gold */
    const ag_eval_quantity *quantities; /* AG_GOLD_QUANTITIES: 1..MAX_QUANTITIES */
    size_t nquantities;
    int objective_gold;                 /* AG_GOLD_QUANTITIES: 1 when value holds the
                                           objective's gold (the objective-only view),
                                           which says whether "the objective is right" */
} ag_eval_gold;

/* One problem's result, as fed to ag_eval_add. */
typedef struct {
    const char *dataset;       /* non-NULL; "" is allowed */
    const char *id;            /* non-NULL; unique within the dataset */
    ag_eval_gold gold;
    ag_outcome outcome;
    int has_answer;            /* the objective was reported */
    double answer;
    const ag_eval_quantity *reported;   /* "report" entries (may be NULL) */
    size_t nreported;
    const char *answer_name;   /* the objective's name as a candidate of a
                                  multi-quantity gold (the formulation's
                                  objective "name"); NULL: "objective" */
    long tokens;               /* prompt + completion, >= 0 */
    int llm_calls;             /* >= 0 */
    double latency_ms;         /* >= 0, or NaN when unknown */
    int proven;                /* outcome ok: the optimum was proven (0: a
                                  local_optimal answer) */
    const char *diagnostic;    /* the last diagnostic (NULL: none); the HTML
                                  report shows it for a problem not correct */
    const char *reply;         /* the last reply (NULL: none); an excerpt of
                                  it is shown beside the diagnostic */
} ag_eval_item;

typedef enum {
    AG_CAT_CORRECT,
    AG_CAT_WRONG_ANSWER,
    AG_CAT_NO_JSON,
    AG_CAT_INVALID,
    AG_CAT_NONLINEAR,
    AG_CAT_INFEASIBLE,
    AG_CAT_UNBOUNDED,
    AG_CAT_TIME_LIMIT,
    AG_CAT_LLM_ERROR,
    AG_CAT_SOLVER_ERROR,
    AG_CAT_NO_GOLD,
    AG_CAT_COUNT
} ag_eval_category;

/* "correct", "wrong_answer", "no_json", ... ("unknown" out of range). */
const char *ag_eval_category_name(ag_eval_category c);

/* Checks an item (non-NULL strings within the caps, a known outcome, finite
 * golds, caps on quantities, non-negative tokens/calls, latency >= 0 or
 * NaN). Returns 0, or -1 with one line in err (may be NULL). */
int ag_eval_check_item(const ag_eval_item *it, char *err, size_t errlen);

/* The category of one item under r. Returns 0, or -1 when the item does not
 * pass ag_eval_check_item (then *out is untouched). */
int ag_eval_judge(ag_match_rule r, const ag_eval_item *it, ag_eval_category *out);

/* How one gold quantity (a query) of a multi-quantity gold fared. */
typedef enum {
    AG_QUERY_BY_NAME,    /* a reported quantity of its name holds its value */
    AG_QUERY_BY_VALUE,   /* no candidate bears its name; one matched by value */
    AG_QUERY_WRONG,      /* a candidate bears its name, with another value */
    AG_QUERY_MISSING,    /* no candidate bears its name and none matched by value */
    AG_QUERY_COUNT
} ag_eval_query_status;

/* "by_name", "by_value", "wrong", "missing" ("unknown" out of range). */
const char *ag_eval_query_status_name(ag_eval_query_status s);

typedef struct {
    const char *name;          /* the gold's name (may be NULL) */
    double gold;
    int has_answer;            /* a candidate answered it (matched, or named) */
    double answer;             /* that candidate's value (NaN when none) */
    ag_eval_query_status status;
} ag_eval_query;

/* Grades each gold quantity of an AG_GOLD_QUANTITIES item whose outcome is
 * ok under r, in gold order, into out[0..nquantities) (names borrowed from
 * the item): one maximum matching, name first, as ag_eval_judge. Returns
 * the number of queries matched, or -1 (not such an item, cap below
 * nquantities, out of memory). */
int ag_eval_grade_queries(ag_match_rule r, const ag_eval_item *it, ag_eval_query *out, size_t cap);

/* ---- items from what batch stores ----
 *
 * batch records a problem's gold as JSON {"kind": ag_gold_kind_name, "value"
 * (kind number), "quantities": {name: value, ...} (when it has queries)} and
 * its answer as the solve report of its answer attempt ("objective",
 * "report": {name: value|null}, "objective_name" when a run with queries
 * named its objective). These two build the grading item's parts from them,
 * the same for batch (live) and eval (from the database). */

/* The gold under rule r: optibench with quantities -> AG_GOLD_QUANTITIES (at
 * most cap of them into q, names borrowed from gold_json; value and
 * objective_gold from a number kind); otherwise the kind and value as stored
 * (none for a missing or unknown kind). */
void ag_eval_gold_from_json(const cJSON *gold_json, ag_match_rule r, ag_eval_quantity *q,
                            size_t cap, ag_eval_gold *out);
/* The numeric "report" entries of a result into q (at most cap; names
 * borrowed), and its "objective_name" into *answer_name (NULL when absent;
 * answer_name may be NULL). Returns the count. */
size_t ag_eval_reported_from_json(const cJSON *result, ag_eval_quantity *q, size_t cap,
                                  const char **answer_name);

/* ---- pass@k ---- */

/* The unbiased estimator of Chen et al. (2021) for n samples of which c are
 * correct: 1 - C(n-c, k) / C(n, k), computed as the product
 * 1 - prod_{i=n-c+1..n} (1 - k/i). 0 when c = 0, 1 when n - c < k. NaN when
 * the arguments are impossible (n < 1, k < 1, k > n, c < 0, c > n). */
double ag_eval_pass_at_k(int n, int c, int k);
/* The mean of pass@k over m problems (n[i] samples, c[i] correct each).
 * NaN when m = 0 or any problem's pass@k is NaN. */
double ag_eval_pass_at_k_mean(const int *n, const int *c, size_t m, int k);

/* ---- percentiles ---- */

/* The nearest-rank pct-th percentile (0..100) of v[0..n-1] (any order; NaNs
 * are skipped). NaN when no value is left or pct is out of range. */
double ag_eval_percentile(const double *v, size_t n, int pct);

/* ---- the aggregate ---- */

typedef struct ag_eval ag_eval;

/* One graded problem, as kept. */
typedef struct {
    const char *dataset, *id;
    ag_gold_kind gold_kind;
    double gold;               /* AG_GOLD_NUMBER */
    size_t gold_quantities;    /* AG_GOLD_QUANTITIES */
    ag_outcome outcome;
    int has_answer;
    double answer;
    ag_eval_category category;
    long tokens;
    int llm_calls;
    double latency_ms;         /* NaN when unknown */
    int proven;                /* outcome ok and the optimum proven */
    const ag_eval_query *queries;   /* AG_GOLD_QUANTITIES graded (outcome ok):
                                       each query's grading, in gold order
                                       (names owned by the evaluation) */
    size_t nqueries;
    int objective_right;       /* AG_GOLD_QUANTITIES, outcome ok: 1 when the
                                  objective matches its gold — the query the
                                  objective is named after (answer_name), else
                                  gold.value with objective_gold; 0 when not;
                                  -1 when neither is known */
    const char *diagnostic;    /* copies of the item's (at most
                                  AG_EVAL_NOTE_MAX bytes each), or NULL */
    const char *reply;
} ag_eval_record;

#define AG_EVAL_NOTE_MAX 2048

/* Says that the replies were replayed from a file (batch --llm replay:), so
 * their latencies mean nothing: the HTML report says so instead of a
 * latency chart. */
void ag_eval_set_replayed(ag_eval *e, int replayed);

typedef struct {
    size_t problems, with_gold, correct;
    double accuracy;                 /* correct / with_gold; NaN if none */
    size_t category[AG_CAT_COUNT];
    size_t outcome[AG_OUTCOME_SOLVER_ERROR + 1];
    size_t proven;                   /* answers (outcome ok) whose optimum was
                                        proven; outcome[AG_OUTCOME_OK] - proven
                                        are local optima */
    long long tokens_total, calls_total;
    double tokens_mean, calls_mean;  /* per problem; NaN if no problem */
    size_t latency_known;            /* problems with a latency */
    double latency_p50, latency_p90, latency_p99;   /* NaN if none */
    double latency_min, latency_max;                /* NaN if none */
    /* Queries (multi-quantity golds graded with outcome ok): */
    size_t query_problems;           /* such problems */
    size_t queries;                  /* their gold quantities */
    size_t query_status[AG_QUERY_COUNT];   /* by name, by value, wrong, missing */
    size_t objective_only;           /* wrong answers whose objective is right
                                        (another quantity is not) */
    double objective_only_share;     /* objective_only / with_gold; NaN if none */
} ag_eval_totals;

/* NULL when out of memory. */
ag_eval *ag_eval_new(ag_match_rule r);
void ag_eval_free(ag_eval *e);
ag_match_rule ag_eval_rule(const ag_eval *e);

/* Grades the item under the evaluation's rule and keeps the record. Returns
 * AG_OK, or (the evaluation unchanged, the reason in ag_eval_error):
 * AG_EUSAGE (e NULL), AG_EFORMAT (the item fails ag_eval_check_item),
 * AG_EEXIST (its dataset and id were already added), AG_ELIMIT (a cap),
 * AG_ENOMEM. */
ag_code ag_eval_add(ag_eval *e, const ag_eval_item *it);
/* The reason of the last failed ag_eval_add ("" if none). */
const char *ag_eval_error(const ag_eval *e);

size_t ag_eval_count(const ag_eval *e);
/* The i-th record in the order added, or NULL when out of range. A record
 * stays valid until the next ag_eval_add; its strings until ag_eval_free. */
const ag_eval_record *ag_eval_get(const ag_eval *e, size_t i);
/* The record of (dataset, id), or NULL. */
const ag_eval_record *ag_eval_find(const ag_eval *e, const char *dataset, const char *id);

/* Datasets in the order first seen. */
size_t ag_eval_dataset_count(const ag_eval *e);
const char *ag_eval_dataset_name(const ag_eval *e, size_t i);

/* Totals of one dataset, or over everything when dataset is NULL. Returns
 * AG_OK, or AG_EUSAGE (e or out NULL), AG_ENOTFOUND (no such dataset),
 * AG_ENOMEM (*out is then zeroed, with NaN means). */
ag_code ag_eval_totals_get(const ag_eval *e, const char *dataset, ag_eval_totals *out);

/* ---- comparison of two evaluations (A = before, B = after) ---- */

typedef enum {
    AG_CHANGE_FIXED,        /* A not correct, B correct */
    AG_CHANGE_BROKEN,       /* A correct, B not correct */
    AG_CHANGE_STILL_WRONG,  /* neither correct (the categories may differ) */
    AG_CHANGE_STILL_RIGHT,  /* both correct */
    AG_CHANGE_UNGRADED,     /* no gold on one side or both */
    AG_CHANGE_ONLY_A,       /* the problem is only in A */
    AG_CHANGE_ONLY_B,       /* the problem is only in B */
    AG_CHANGE_COUNT
} ag_eval_change_kind;

/* "fixed", "broken", "still_wrong", "still_right", "ungraded", "only_a",
 * "only_b". */
const char *ag_eval_change_name(ag_eval_change_kind k);

typedef struct {
    const char *dataset, *id;          /* borrowed from A or B */
    ag_eval_change_kind kind;
    ag_eval_category before, after;    /* AG_CAT_COUNT when absent */
} ag_eval_change;

typedef struct {
    ag_match_rule rule_a, rule_b;
    ag_eval_totals total_a, total_b;
    ag_eval_change *changes;   /* A's problems in A's order, then B-only ones */
    size_t nchanges;
    size_t count[AG_CHANGE_COUNT];
    /* transitions[before][after] over problems present in both */
    size_t transitions[AG_CAT_COUNT][AG_CAT_COUNT];
} ag_eval_comparison;

/* Problems are paired by (dataset, id). NULL when out of memory. */
ag_eval_comparison *ag_eval_compare(const ag_eval *a, const ag_eval *b);
void ag_eval_comparison_free(ag_eval_comparison *c);

/* ---- outputs ---- */

/* The whole evaluation as JSON: {"rule", "rule_description", "overall",
 * "datasets": [...], "problems": [...]} (the caller deletes; NULL when out
 * of memory). */
cJSON *ag_eval_json(const ag_eval *e);
/* The writers return AG_OK, or AG_EUSAGE (a NULL argument), AG_ENOMEM, or
 * AG_EIO (the stream's error flag is set). */
ag_code ag_eval_write_json(const ag_eval *e, FILE *f);
ag_code ag_eval_write_markdown(const ag_eval *e, FILE *f);
/* One self-contained page: inline CSS and SVG, no script, no URL. */
ag_code ag_eval_write_html(const ag_eval *e, FILE *f);
ag_code ag_eval_write_compare_markdown(const ag_eval_comparison *c, FILE *f);

#endif
