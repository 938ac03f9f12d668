/* agent/eval/grade — grading one answer against its gold.
 *
 * The rules themselves (matching rules, gold kinds, categories, pass@k,
 * nearest-rank percentiles) are stated in agent/eval/eval.h; this file is
 * their one implementation, used by ag_eval_add (aggregate.c), by batch for
 * the live "correct" column, and by the tests.
 *
 * Grading is pure: no state, no output, and the only allocation is the
 * matching table of a multi-quantity gold (about 20 KB, kept off the small
 * stacks of batch workers). A multi-quantity gold is graded as a maximum
 * bipartite matching between gold quantities and candidates (Kuhn's
 * augmenting paths; at most 64 gold quantities and 1025 candidates, so the
 * quadratic search is bounded).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/eval/internal.h"

/* ---- rules ------------------------------------------------------------------ */

const char *ag_eval_rule_name(ag_match_rule r)
{
    switch (r) {
    case AG_MATCH_DEFAULT: return "default";
    case AG_MATCH_ALPHAOPT: return "alphaopt";
    case AG_MATCH_ORLM: return "orlm";
    case AG_MATCH_OPTIBENCH: return "optibench";
    }
    return "unknown";
}

int ag_eval_rule_parse(const char *s, ag_match_rule *out)
{
    static const ag_match_rule all[] = { AG_MATCH_DEFAULT, AG_MATCH_ALPHAOPT, AG_MATCH_ORLM,
                                         AG_MATCH_OPTIBENCH };
    if (!s || !out) return -1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, ag_eval_rule_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -1;
}

const char *ag_eval_rule_description(ag_match_rule r)
{
    switch (r) {
    case AG_MATCH_DEFAULT:
        return "|a - g| <= 1e-4 * max(1, |g|) (relative 1e-4, absolute near zero)";
    case AG_MATCH_ALPHAOPT:
        return "|a - g| <= 0.1 (absolute, as AlphaOPT)";
    case AG_MATCH_ORLM:
        return "round a and g to integers (half away from zero), then "
               "|ra - rg| <= 0.05 * |rg|; a zero gold needs ra = 0 (as ORLM/OptMATH)";
    case AG_MATCH_OPTIBENCH:
        return "every queried quantity must match: |a - g| <= 1e-4 (absolute, as "
               "ReSocratic/OptiBench); a query is matched by the reported quantity of its "
               "name, by value only when no reported quantity bears its name";
    }
    return "unknown rule";
}

int ag_eval_match(ag_match_rule r, double answer, double gold)
{
    if (!isfinite(answer) || !isfinite(gold)) return 0;
    switch (r) {
    case AG_MATCH_DEFAULT:
        return fabs(answer - gold) <= 1e-4 * fmax(1.0, fabs(gold));
    case AG_MATCH_ALPHAOPT:
        return fabs(answer - gold) <= 0.1;
    case AG_MATCH_ORLM: {
        double ra = round(answer), rg = round(gold);
        return fabs(ra - rg) <= 0.05 * fabs(rg);
    }
    case AG_MATCH_OPTIBENCH:
        return fabs(answer - gold) <= 1e-4;
    }
    return 0;
}

/* ---- categories --------------------------------------------------------------- */

const char *ag_eval_category_name(ag_eval_category c)
{
    switch (c) {
    case AG_CAT_CORRECT: return "correct";
    case AG_CAT_WRONG_ANSWER: return "wrong_answer";
    case AG_CAT_NO_JSON: return "no_json";
    case AG_CAT_INVALID: return "invalid";
    case AG_CAT_NONLINEAR: return "nonlinear";
    case AG_CAT_INFEASIBLE: return "infeasible";
    case AG_CAT_UNBOUNDED: return "unbounded";
    case AG_CAT_TIME_LIMIT: return "time_limit";
    case AG_CAT_LLM_ERROR: return "llm_error";
    case AG_CAT_SOLVER_ERROR: return "solver_error";
    case AG_CAT_NO_GOLD: return "no_gold";
    case AG_CAT_COUNT: break;
    }
    return "unknown";
}

static int outcome_valid(ag_outcome o)
{
    return (int)o >= (int)AG_OUTCOME_OK && (int)o <= (int)AG_OUTCOME_SOLVER_ERROR;
}

int ag_ev_rule_valid(ag_match_rule r)
{
    return r == AG_MATCH_DEFAULT || r == AG_MATCH_ALPHAOPT || r == AG_MATCH_ORLM ||
           r == AG_MATCH_OPTIBENCH;
}

/* The category of a non-ok outcome. */
static ag_eval_category outcome_category(ag_outcome o)
{
    switch (o) {
    case AG_OUTCOME_OK: return AG_CAT_WRONG_ANSWER;   /* not used for ok */
    case AG_OUTCOME_LLM_ERROR: return AG_CAT_LLM_ERROR;
    case AG_OUTCOME_NO_JSON: return AG_CAT_NO_JSON;
    case AG_OUTCOME_INVALID: return AG_CAT_INVALID;
    case AG_OUTCOME_NONLINEAR: return AG_CAT_NONLINEAR;
    case AG_OUTCOME_INFEASIBLE: return AG_CAT_INFEASIBLE;
    case AG_OUTCOME_UNBOUNDED: return AG_CAT_UNBOUNDED;
    case AG_OUTCOME_TIME_LIMIT: return AG_CAT_TIME_LIMIT;
    case AG_OUTCOME_SOLVER_ERROR: return AG_CAT_SOLVER_ERROR;
    case AG_OUTCOME_INTERRUPTED: return AG_CAT_SOLVER_ERROR;   /* never recorded */
    }
    return AG_CAT_SOLVER_ERROR;
}

static int name_ok(const char *s)
{
    return s && strnlen(s, AG_EVAL_MAX_NAME + 1) <= AG_EVAL_MAX_NAME;
}

int ag_eval_check_item(const ag_eval_item *it, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!it) {
        snprintf(err, errlen, "no item");
        return -1;
    }
    if (!name_ok(it->dataset)) {
        snprintf(err, errlen, "dataset name missing or longer than %d bytes", AG_EVAL_MAX_NAME);
        return -1;
    }
    if (!name_ok(it->id)) {
        snprintf(err, errlen, "problem id missing or longer than %d bytes", AG_EVAL_MAX_NAME);
        return -1;
    }
    if (!outcome_valid(it->outcome)) {
        snprintf(err, errlen, "unknown outcome %d", (int)it->outcome);
        return -1;
    }
    switch (it->gold.kind) {
    case AG_GOLD_NONE:
    case AG_GOLD_NO_SOLUTION:
        break;
    case AG_GOLD_NUMBER:
        if (!isfinite(it->gold.value)) {
            snprintf(err, errlen, "gold is not a finite number");
            return -1;
        }
        break;
    case AG_GOLD_QUANTITIES:
        if (it->gold.nquantities < 1 || it->gold.nquantities > AG_EVAL_MAX_QUANTITIES ||
            !it->gold.quantities) {
            snprintf(err, errlen, "gold quantities: need 1 to %d, got %zu",
                     AG_EVAL_MAX_QUANTITIES, it->gold.quantities ? it->gold.nquantities : 0);
            return -1;
        }
        if (it->gold.objective_gold && !isfinite(it->gold.value)) {
            snprintf(err, errlen, "the objective's gold is not a finite number");
            return -1;
        }
        for (size_t i = 0; i < it->gold.nquantities; i++) {
            const ag_eval_quantity *q = &it->gold.quantities[i];
            if (!isfinite(q->value)) {
                snprintf(err, errlen, "gold quantity %zu is not a finite number", i + 1);
                return -1;
            }
            if (q->name && !name_ok(q->name)) {
                snprintf(err, errlen, "gold quantity %zu: name longer than %d bytes", i + 1,
                         AG_EVAL_MAX_NAME);
                return -1;
            }
        }
        break;
    default:
        snprintf(err, errlen, "unknown gold kind %d", (int)it->gold.kind);
        return -1;
    }
    if (it->answer_name && !name_ok(it->answer_name)) {
        snprintf(err, errlen, "the objective's name is longer than %d bytes", AG_EVAL_MAX_NAME);
        return -1;
    }
    if (it->nreported > AG_EVAL_MAX_REPORTED || (it->nreported && !it->reported)) {
        snprintf(err, errlen, "reported quantities: at most %d, got %zu", AG_EVAL_MAX_REPORTED,
                 it->nreported);
        return -1;
    }
    for (size_t i = 0; i < it->nreported; i++)
        if (it->reported[i].name && !name_ok(it->reported[i].name)) {
            snprintf(err, errlen, "reported quantity %zu: name longer than %d bytes", i + 1,
                     AG_EVAL_MAX_NAME);
            return -1;
        }
    if (it->tokens < 0 || it->llm_calls < 0) {
        snprintf(err, errlen, "negative tokens or LLM calls");
        return -1;
    }
    if (!isnan(it->latency_ms) && !(it->latency_ms >= 0 && isfinite(it->latency_ms))) {
        snprintf(err, errlen, "latency must be >= 0 and finite, or NaN when unknown");
        return -1;
    }
    return 0;
}

/* ---- multi-quantity matching ---------------------------------------------------- */

/* Names are compared as the prompts ask for them (agent/core: the same
 * function decides whether a query was answered). */
static int loose_eq(const char *a, const char *b)
{
    return ag_query_name_eq(a, b);
}

/* Byte-equal names; an unnamed candidate (NULL) equals nothing. */
static int exact_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

typedef struct {
    ag_match_rule rule;
    const ag_eval_quantity *gold;
    size_t ngold;
    ag_eval_quantity cand[AG_EVAL_MAX_REPORTED + 1];
    size_t ncand;
    unsigned char gold_named[AG_EVAL_MAX_QUANTITIES];   /* some candidate bears its name */
    unsigned char gold_exact[AG_EVAL_MAX_QUANTITIES];   /* a candidate has its very name */
    unsigned char cand_exact[AG_EVAL_MAX_REPORTED + 1]; /* its name is a gold's very name */
    unsigned char reserved[AG_EVAL_MAX_REPORTED + 1];   /* its name is a gold name */
    unsigned char seen[AG_EVAL_MAX_REPORTED + 1];
    int owner[AG_EVAL_MAX_REPORTED + 1];                /* gold index, or -1 */
} qmatch;

/* Whether candidate j bears gold i's name. Names equal after normalisation
 * ("x_1", "x 1", "X1" may all be queried) are told apart by the exact name
 * first: a gold some candidate names exactly takes only such candidates, and
 * a candidate named exactly as a gold answers no other gold by name. */
static int q_named(const qmatch *m, size_t i, size_t j)
{
    if (m->gold_exact[i]) return exact_eq(m->gold[i].name, m->cand[j].name);
    return !m->cand_exact[j] && loose_eq(m->gold[i].name, m->cand[j].name);
}

static int q_edge(const qmatch *m, size_t i, size_t j)
{
    if (m->gold_named[i]) {
        if (!q_named(m, i, j)) return 0;
    } else if (m->reserved[j]) {
        return 0;
    }
    return ag_eval_match(m->rule, m->cand[j].value, m->gold[i].value);
}

/* Kuhn's augmenting path from gold i; depth is at most ngold. */
static int q_augment(qmatch *m, size_t i)
{
    for (size_t j = 0; j < m->ncand; j++) {
        if (m->seen[j] || !q_edge(m, i, j)) continue;
        m->seen[j] = 1;
        if (m->owner[j] < 0 || q_augment(m, (size_t)m->owner[j])) {
            m->owner[j] = (int)i;
            return 1;
        }
    }
    return 0;
}

const char *ag_eval_query_status_name(ag_eval_query_status st)
{
    switch (st) {
    case AG_QUERY_BY_NAME: return "by_name";
    case AG_QUERY_BY_VALUE: return "by_value";
    case AG_QUERY_WRONG: return "wrong";
    case AG_QUERY_MISSING: return "missing";
    case AG_QUERY_COUNT: break;
    }
    return "unknown";
}

/* The maximum matching of gold quantities to candidates: the number of gold
 * quantities matched, or -1 when out of memory. With out (nquantities
 * entries) each gold's fate: matched by name or by value, or else wrong
 * (a candidate bears its name: the first such one's value) or missing. */
static int quantities_match(ag_match_rule r, const ag_eval_item *it, ag_eval_query *out)
{
    /* About 20 KB: kept off the stack of threads with small stacks. */
    qmatch *m = malloc(sizeof *m);
    int matched = 0;
    if (!m) return -1;
    m->rule = r;
    m->gold = it->gold.quantities;
    m->ngold = it->gold.nquantities;
    m->ncand = 0;
    if (it->has_answer) {
        m->cand[m->ncand].name = it->answer_name ? it->answer_name : "objective";
        m->cand[m->ncand++].value = it->answer;
    }
    for (size_t j = 0; j < it->nreported; j++) m->cand[m->ncand++] = it->reported[j];
    for (size_t j = 0; j < m->ncand; j++) m->cand_exact[j] = 0;
    for (size_t i = 0; i < m->ngold; i++) {
        m->gold_exact[i] = 0;
        for (size_t j = 0; j < m->ncand; j++)
            if (exact_eq(m->gold[i].name, m->cand[j].name)) m->gold_exact[i] = m->cand_exact[j] = 1;
    }
    for (size_t i = 0; i < m->ngold; i++) {
        m->gold_named[i] = 0;
        for (size_t j = 0; j < m->ncand && !m->gold_named[i]; j++)
            m->gold_named[i] = (unsigned char)q_named(m, i, j);
    }
    for (size_t j = 0; j < m->ncand; j++) {
        m->reserved[j] = 0;
        m->owner[j] = -1;
        for (size_t i = 0; i < m->ngold && !m->reserved[j]; i++)
            m->reserved[j] = (unsigned char)loose_eq(m->gold[i].name, m->cand[j].name);
    }
    /* Kuhn's algorithm: a gold left unmatched stays so, the result is a
     * maximum matching. */
    for (size_t i = 0; i < m->ngold; i++) {
        memset(m->seen, 0, m->ncand);
        matched += q_augment(m, i);
    }
    for (size_t i = 0; out && i < m->ngold; i++)
        out[i] = (ag_eval_query){ m->gold[i].name, m->gold[i].value, 0, NAN, AG_QUERY_MISSING };
    for (size_t j = 0; out && j < m->ncand; j++) {
        if (m->owner[j] < 0) continue;
        ag_eval_query *q = &out[m->owner[j]];
        q->status = m->gold_named[m->owner[j]] ? AG_QUERY_BY_NAME : AG_QUERY_BY_VALUE;
        q->has_answer = 1;
        q->answer = m->cand[j].value;
    }
    for (size_t i = 0; out && i < m->ngold; i++) {
        if (out[i].status != AG_QUERY_MISSING || !m->gold_named[i]) continue;
        out[i].status = AG_QUERY_WRONG;
        for (size_t j = 0; j < m->ncand && !out[i].has_answer; j++)
            if (q_named(m, i, j)) {
                out[i].has_answer = 1;
                out[i].answer = m->cand[j].value;
            }
    }
    free(m);
    return matched;
}

int ag_eval_grade_queries(ag_match_rule r, const ag_eval_item *it, ag_eval_query *out, size_t cap)
{
    if (!out || !ag_ev_rule_valid(r) || ag_eval_check_item(it, NULL, 0) != 0 ||
        it->gold.kind != AG_GOLD_QUANTITIES || it->outcome != AG_OUTCOME_OK ||
        cap < it->gold.nquantities)
        return -1;
    return quantities_match(r, it, out);
}

/* The category of a checked item; *oom set when out of memory. */
ag_eval_category ag_ev_judge(ag_match_rule r, const ag_eval_item *it, int *oom)
{
    *oom = 0;
    switch (it->gold.kind) {
    case AG_GOLD_NONE:
        return AG_CAT_NO_GOLD;
    case AG_GOLD_NO_SOLUTION:
        if (it->outcome == AG_OUTCOME_INFEASIBLE || it->outcome == AG_OUTCOME_UNBOUNDED)
            return it->has_answer ? AG_CAT_WRONG_ANSWER : AG_CAT_CORRECT;
        if (it->outcome == AG_OUTCOME_OK) return AG_CAT_WRONG_ANSWER;
        return outcome_category(it->outcome);
    case AG_GOLD_NUMBER:
        if (it->outcome != AG_OUTCOME_OK) return outcome_category(it->outcome);
        return it->has_answer && ag_eval_match(r, it->answer, it->gold.value)
                   ? AG_CAT_CORRECT : AG_CAT_WRONG_ANSWER;
    case AG_GOLD_QUANTITIES: {
        if (it->outcome != AG_OUTCOME_OK) return outcome_category(it->outcome);
        int m = quantities_match(r, it, NULL);
        if (m < 0) *oom = 1;
        return m == (int)it->gold.nquantities ? AG_CAT_CORRECT : AG_CAT_WRONG_ANSWER;
    }
    }
    return AG_CAT_NO_GOLD;
}

int ag_eval_judge(ag_match_rule r, const ag_eval_item *it, ag_eval_category *out)
{
    if (!out || !ag_ev_rule_valid(r) || ag_eval_check_item(it, NULL, 0) != 0) return -1;
    int oom;
    ag_eval_category c = ag_ev_judge(r, it, &oom);
    if (oom) return -1;
    *out = c;
    return 0;
}

/* ---- pass@k ---------------------------------------------------------------------- */

double ag_eval_pass_at_k(int n, int c, int k)
{
    if (n < 1 || k < 1 || k > n || c < 0 || c > n) return NAN;
    if (c == 0) return 0.0;
    if (n - c < k) return 1.0;
    double prod = 1.0;
    for (int i = n - c + 1; i <= n; i++) prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

double ag_eval_pass_at_k_mean(const int *n, const int *c, size_t m, int k)
{
    if (m == 0 || !n || !c) return NAN;
    double sum = 0;
    for (size_t i = 0; i < m; i++) {
        double p = ag_eval_pass_at_k(n[i], c[i], k);
        if (isnan(p)) return NAN;
        sum += p;
    }
    return sum / (double)m;
}

/* ---- percentiles ----------------------------------------------------------------- */

int ag_ev_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Nearest rank over n sorted values: rank ceil(pct * n / 100), at least 1. */
double ag_ev_rank_sorted(const double *s, size_t n, int pct)
{
    if (n == 0 || pct < 0 || pct > 100) return NAN;
    size_t rank = ((size_t)pct * n + 99) / 100;
    if (rank < 1) rank = 1;
    return s[rank - 1];
}

double ag_eval_percentile(const double *v, size_t n, int pct)
{
    double r = NAN, *s = NULL;
    size_t m = 0;
    if (!v || n == 0 || pct < 0 || pct > 100) goto out;
    s = malloc(n * sizeof *s);
    if (!s) goto out;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) s[m++] = v[i];
    qsort(s, m, sizeof *s, ag_ev_cmp_double);
    r = ag_ev_rank_sorted(s, m, pct);
out:
    free(s);
    return r;
}
