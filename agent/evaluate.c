/* agent/evaluate — grading, aggregates and reports (see evaluate.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/evaluate.h"
#include "agent/text.h"

#define NOUTCOMES (AG_OUTCOME_SOLVER_ERROR + 1)

/* ---- rules ------------------------------------------------------------------ */

const char *ag_eval_rule_name(ag_match_rule r)
{
    switch (r) {
    case AG_MATCH_DEFAULT: return "default";
    case AG_MATCH_ALPHAOPT: return "alphaopt";
    case AG_MATCH_ORLM: return "orlm";
    }
    return "unknown";
}

int ag_eval_rule_parse(const char *s, ag_match_rule *out)
{
    static const ag_match_rule all[] = { AG_MATCH_DEFAULT, AG_MATCH_ALPHAOPT, AG_MATCH_ORLM };
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

static const char *gold_kind_name(ag_eval_gold_kind k)
{
    switch (k) {
    case AG_EVAL_GOLD_NONE: return "none";
    case AG_EVAL_GOLD_NUMBER: return "number";
    case AG_EVAL_GOLD_NO_SOLUTION: return "no_solution";
    case AG_EVAL_GOLD_QUANTITIES: return "quantities";
    }
    return "unknown";
}

static int outcome_valid(ag_outcome o)
{
    return (int)o >= (int)AG_OUTCOME_OK && (int)o <= (int)AG_OUTCOME_SOLVER_ERROR;
}

static int rule_valid(ag_match_rule r)
{
    return r == AG_MATCH_DEFAULT || r == AG_MATCH_ALPHAOPT || r == AG_MATCH_ORLM;
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
    case AG_EVAL_GOLD_NONE:
    case AG_EVAL_GOLD_NO_SOLUTION:
        break;
    case AG_EVAL_GOLD_NUMBER:
        if (!isfinite(it->gold.value)) {
            snprintf(err, errlen, "gold is not a finite number");
            return -1;
        }
        break;
    case AG_EVAL_GOLD_QUANTITIES:
        if (it->gold.nquantities < 1 || it->gold.nquantities > AG_EVAL_MAX_QUANTITIES ||
            !it->gold.quantities) {
            snprintf(err, errlen, "gold quantities: need 1 to %d, got %zu",
                     AG_EVAL_MAX_QUANTITIES, it->gold.quantities ? it->gold.nquantities : 0);
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

static int ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Equal once everything but ASCII letters and digits is dropped and case is
 * folded; a name with no letter or digit equals nothing. */
static int loose_eq(const char *a, const char *b)
{
    if (!a || !b) return 0;
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    int any = 0;
    for (;;) {
        while (*p && !ascii_alnum(*p)) p++;
        while (*q && !ascii_alnum(*q)) q++;
        if (!*p || !*q) return !*p && !*q && any;
        if (ascii_lower(*p) != ascii_lower(*q)) return 0;
        any = 1;
        p++;
        q++;
    }
}

typedef struct {
    ag_match_rule rule;
    const ag_eval_quantity *gold;
    size_t ngold;
    ag_eval_quantity cand[AG_EVAL_MAX_REPORTED + 1];
    size_t ncand;
    unsigned char gold_named[AG_EVAL_MAX_QUANTITIES];   /* some candidate shares its name */
    unsigned char reserved[AG_EVAL_MAX_REPORTED + 1];   /* its name is a gold name */
    unsigned char seen[AG_EVAL_MAX_REPORTED + 1];
    int owner[AG_EVAL_MAX_REPORTED + 1];                /* gold index, or -1 */
} qmatch;

static int q_edge(const qmatch *m, size_t i, size_t j)
{
    if (m->gold_named[i]) {
        if (!loose_eq(m->gold[i].name, m->cand[j].name)) return 0;
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

/* 1 when every gold quantity has its own matching candidate, 0 when not,
 * -1 when out of memory. */
static int quantities_match(ag_match_rule r, const ag_eval_item *it)
{
    /* About 20 KB: kept off the stack of threads with small stacks. */
    qmatch *m = malloc(sizeof *m);
    int all = 0;
    if (!m) return -1;
    m->rule = r;
    m->gold = it->gold.quantities;
    m->ngold = it->gold.nquantities;
    m->ncand = 0;
    if (it->has_answer) {
        m->cand[m->ncand].name = "objective";
        m->cand[m->ncand++].value = it->answer;
    }
    for (size_t j = 0; j < it->nreported; j++) m->cand[m->ncand++] = it->reported[j];
    for (size_t i = 0; i < m->ngold; i++) {
        m->gold_named[i] = 0;
        for (size_t j = 0; j < m->ncand && !m->gold_named[i]; j++)
            m->gold_named[i] = (unsigned char)loose_eq(m->gold[i].name, m->cand[j].name);
    }
    for (size_t j = 0; j < m->ncand; j++) {
        m->reserved[j] = 0;
        m->owner[j] = -1;
        for (size_t i = 0; i < m->ngold && !m->reserved[j]; i++)
            m->reserved[j] = (unsigned char)loose_eq(m->gold[i].name, m->cand[j].name);
    }
    for (size_t i = 0; i < m->ngold; i++) {
        memset(m->seen, 0, m->ncand);
        if (!q_augment(m, i)) goto out;
    }
    all = 1;
out:
    free(m);
    return all;
}

/* The category of a checked item; *oom set when out of memory. */
static ag_eval_category judge(ag_match_rule r, const ag_eval_item *it, int *oom)
{
    *oom = 0;
    switch (it->gold.kind) {
    case AG_EVAL_GOLD_NONE:
        return AG_CAT_NO_GOLD;
    case AG_EVAL_GOLD_NO_SOLUTION:
        if (it->outcome == AG_OUTCOME_INFEASIBLE || it->outcome == AG_OUTCOME_UNBOUNDED)
            return it->has_answer ? AG_CAT_WRONG_ANSWER : AG_CAT_CORRECT;
        if (it->outcome == AG_OUTCOME_OK) return AG_CAT_WRONG_ANSWER;
        return outcome_category(it->outcome);
    case AG_EVAL_GOLD_NUMBER:
        if (it->outcome != AG_OUTCOME_OK) return outcome_category(it->outcome);
        return it->has_answer && ag_eval_match(r, it->answer, it->gold.value)
                   ? AG_CAT_CORRECT : AG_CAT_WRONG_ANSWER;
    case AG_EVAL_GOLD_QUANTITIES: {
        if (it->outcome != AG_OUTCOME_OK) return outcome_category(it->outcome);
        int m = quantities_match(r, it);
        if (m < 0) *oom = 1;
        return m > 0 ? AG_CAT_CORRECT : AG_CAT_WRONG_ANSWER;
    }
    }
    return AG_CAT_NO_GOLD;
}

int ag_eval_judge(ag_match_rule r, const ag_eval_item *it, ag_eval_category *out)
{
    if (!out || !rule_valid(r) || ag_eval_check_item(it, NULL, 0) != 0) return -1;
    int oom;
    ag_eval_category c = judge(r, it, &oom);
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

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Nearest rank over n sorted values: rank ceil(pct * n / 100), at least 1. */
static double rank_sorted(const double *s, size_t n, int pct)
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
    qsort(s, m, sizeof *s, cmp_double);
    r = rank_sorted(s, m, pct);
out:
    free(s);
    return r;
}

/* ---- the aggregate ---------------------------------------------------------------- */

typedef struct {
    ag_eval_record pub;
    size_t ds;
} rec_t;

struct ag_eval {
    ag_match_rule rule;
    rec_t *recs;
    size_t nrecs, caprecs;
    char **ds;
    size_t nds, capds;
    size_t *slots;          /* record index + 1; 0 = empty */
    size_t nslots;          /* power of two */
    char err[256];
};

static uint64_t key_hash(const char *dataset, const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)dataset; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;   /* separator: not a byte of either */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

ag_eval *ag_eval_new(ag_match_rule r)
{
    if (!rule_valid(r)) return NULL;
    ag_eval *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->rule = r;
    return e;
}

void ag_eval_free(ag_eval *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nrecs; i++) free((char *)e->recs[i].pub.id);
    for (size_t i = 0; i < e->nds; i++) free(e->ds[i]);
    free(e->recs);
    free(e->ds);
    free(e->slots);
    free(e);
}

ag_match_rule ag_eval_rule(const ag_eval *e)
{
    return e ? e->rule : AG_MATCH_DEFAULT;
}

const char *ag_eval_error(const ag_eval *e)
{
    return e ? e->err : "no evaluation";
}

size_t ag_eval_count(const ag_eval *e)
{
    return e ? e->nrecs : 0;
}

const ag_eval_record *ag_eval_get(const ag_eval *e, size_t i)
{
    return e && i < e->nrecs ? &e->recs[i].pub : NULL;
}

size_t ag_eval_dataset_count(const ag_eval *e)
{
    return e ? e->nds : 0;
}

const char *ag_eval_dataset_name(const ag_eval *e, size_t i)
{
    return e && i < e->nds ? e->ds[i] : NULL;
}

/* The slot of (dataset, id): its record, or the empty slot where it goes. */
static size_t find_slot(const ag_eval *e, const char *dataset, const char *id)
{
    size_t mask = e->nslots - 1, s = (size_t)key_hash(dataset, id) & mask;
    while (e->slots[s]) {
        const ag_eval_record *r = &e->recs[e->slots[s] - 1].pub;
        if (!strcmp(r->id, id) && !strcmp(r->dataset, dataset)) break;
        s = (s + 1) & mask;
    }
    return s;
}

const ag_eval_record *ag_eval_find(const ag_eval *e, const char *dataset, const char *id)
{
    if (!e || !dataset || !id || e->nslots == 0) return NULL;
    size_t s = find_slot(e, dataset, id);
    return e->slots[s] ? &e->recs[e->slots[s] - 1].pub : NULL;
}

/* Keeps the table at most half full for one more record. */
static int reserve_slots(ag_eval *e)
{
    if ((e->nrecs + 1) * 2 <= e->nslots) return 0;
    size_t n = e->nslots ? e->nslots * 2 : 64;
    size_t *ns = calloc(n, sizeof *ns);
    if (!ns) return -1;
    free(e->slots);
    e->slots = ns;
    e->nslots = n;
    for (size_t i = 0; i < e->nrecs; i++) {
        size_t s = find_slot(e, e->recs[i].pub.dataset, e->recs[i].pub.id);
        e->slots[s] = i + 1;
    }
    return 0;
}

static int dataset_index(const ag_eval *e, const char *name, size_t *out)
{
    /* newest first: items usually arrive dataset by dataset */
    for (size_t i = e->nds; i-- > 0;)
        if (!strcmp(e->ds[i], name)) {
            *out = i;
            return 0;
        }
    return -1;
}

int ag_eval_add(ag_eval *e, const ag_eval_item *it)
{
    int rc = -1;
    char *id = NULL, *dsname = NULL;
    if (!e) return -1;
    e->err[0] = 0;
    if (ag_eval_check_item(it, e->err, sizeof e->err) != 0) goto out;
    int oom;
    ag_eval_category cat = judge(e->rule, it, &oom);
    if (oom) goto nomem;
    if (ag_eval_find(e, it->dataset, it->id)) {
        snprintf(e->err, sizeof e->err, "problem added twice (dataset and id already seen)");
        goto out;
    }
    if (e->nrecs >= AG_EVAL_MAX_PROBLEMS) {
        snprintf(e->err, sizeof e->err, "more than %d problems", AG_EVAL_MAX_PROBLEMS);
        goto out;
    }
    size_t ds;
    int new_ds = dataset_index(e, it->dataset, &ds) != 0;
    if (new_ds && e->nds >= AG_EVAL_MAX_DATASETS) {
        snprintf(e->err, sizeof e->err, "more than %d datasets", AG_EVAL_MAX_DATASETS);
        goto out;
    }
    /* Every allocation before anything is committed. */
    if (e->nrecs == e->caprecs) {
        size_t n = e->caprecs ? e->caprecs * 2 : 64;
        rec_t *nr = realloc(e->recs, n * sizeof *nr);
        if (!nr) goto nomem;
        e->recs = nr;
        e->caprecs = n;
    }
    if (new_ds && e->nds == e->capds) {
        size_t n = e->capds ? e->capds * 2 : 8;
        char **nd = realloc(e->ds, n * sizeof *nd);
        if (!nd) goto nomem;
        e->ds = nd;
        e->capds = n;
    }
    if (reserve_slots(e) != 0) goto nomem;
    id = strdup(it->id);
    if (!id) goto nomem;
    if (new_ds) {
        dsname = strdup(it->dataset);
        if (!dsname) goto nomem;
        ds = e->nds;
        e->ds[e->nds++] = dsname;
        dsname = NULL;
    }
    rec_t *r = &e->recs[e->nrecs];
    memset(r, 0, sizeof *r);
    r->ds = ds;
    r->pub.dataset = e->ds[ds];
    r->pub.id = id;
    id = NULL;
    r->pub.gold_kind = it->gold.kind;
    r->pub.gold = it->gold.kind == AG_EVAL_GOLD_NUMBER ? it->gold.value : NAN;
    r->pub.gold_quantities = it->gold.kind == AG_EVAL_GOLD_QUANTITIES ? it->gold.nquantities : 0;
    r->pub.outcome = it->outcome;
    r->pub.has_answer = it->has_answer ? 1 : 0;
    r->pub.answer = it->has_answer ? it->answer : NAN;
    r->pub.category = cat;
    r->pub.tokens = it->tokens;
    r->pub.llm_calls = it->llm_calls;
    r->pub.latency_ms = it->latency_ms;
    e->slots[find_slot(e, r->pub.dataset, r->pub.id)] = e->nrecs + 1;
    e->nrecs++;
    rc = 0;
    goto out;
nomem:
    snprintf(e->err, sizeof e->err, "out of memory");
out:
    free(id);
    free(dsname);
    return rc;
}

/* ---- totals ------------------------------------------------------------------------ */

static void totals_zero(ag_eval_totals *t)
{
    memset(t, 0, sizeof *t);
    t->accuracy = t->tokens_mean = t->calls_mean = NAN;
    t->latency_p50 = t->latency_p90 = t->latency_p99 = NAN;
    t->latency_min = t->latency_max = NAN;
}

static void totals_latency(ag_eval_totals *t, double *sorted, size_t n)
{
    qsort(sorted, n, sizeof *sorted, cmp_double);
    t->latency_known = n;
    if (n == 0) return;
    t->latency_p50 = rank_sorted(sorted, n, 50);
    t->latency_p90 = rank_sorted(sorted, n, 90);
    t->latency_p99 = rank_sorted(sorted, n, 99);
    t->latency_min = sorted[0];
    t->latency_max = sorted[n - 1];
}

/* t has nds + 1 entries: one per dataset, then the overall totals. */
static int compute_totals(const ag_eval *e, ag_eval_totals *t)
{
    int rc = -1;
    size_t nds = e->nds;
    size_t *start = calloc(nds + 1, sizeof *start);
    double *lat = malloc((e->nrecs ? e->nrecs : 1) * sizeof *lat);
    double *all = malloc((e->nrecs ? e->nrecs : 1) * sizeof *all);
    if (!start || !lat || !all) goto out;
    for (size_t d = 0; d <= nds; d++) totals_zero(&t[d]);
    size_t nall = 0;
    for (size_t i = 0; i < e->nrecs; i++) {
        const ag_eval_record *r = &e->recs[i].pub;
        ag_eval_totals *pair[2] = { &t[e->recs[i].ds], &t[nds] };
        for (int k = 0; k < 2; k++) {
            ag_eval_totals *x = pair[k];
            x->problems++;
            if (r->gold_kind != AG_EVAL_GOLD_NONE) x->with_gold++;
            if (r->category == AG_CAT_CORRECT) x->correct++;
            x->category[r->category]++;
            x->outcome[r->outcome]++;
            x->tokens_total += r->tokens;
            x->calls_total += r->llm_calls;
        }
        if (!isnan(r->latency_ms)) {
            start[e->recs[i].ds]++;
            all[nall++] = r->latency_ms;
        }
    }
    /* counts -> segment starts, then fill the segments */
    size_t acc = 0;
    for (size_t d = 0; d < nds; d++) {
        size_t c = start[d];
        start[d] = acc;
        acc += c;
    }
    start[nds] = acc;
    size_t *fill = calloc(nds + 1, sizeof *fill);
    if (!fill) goto out;
    for (size_t i = 0; i < e->nrecs; i++) {
        double v = e->recs[i].pub.latency_ms;
        if (isnan(v)) continue;
        size_t d = e->recs[i].ds;
        lat[start[d] + fill[d]++] = v;
    }
    free(fill);
    for (size_t d = 0; d < nds; d++) totals_latency(&t[d], lat + start[d], start[d + 1] - start[d]);
    totals_latency(&t[nds], all, nall);
    for (size_t d = 0; d <= nds; d++) {
        ag_eval_totals *x = &t[d];
        if (x->with_gold) x->accuracy = (double)x->correct / (double)x->with_gold;
        if (x->problems) {
            x->tokens_mean = (double)x->tokens_total / (double)x->problems;
            x->calls_mean = (double)x->calls_total / (double)x->problems;
        }
    }
    rc = 0;
out:
    free(start);
    free(lat);
    free(all);
    return rc;
}

static ag_eval_totals *all_totals(const ag_eval *e)
{
    ag_eval_totals *t = malloc((e->nds + 1) * sizeof *t);
    if (t && compute_totals(e, t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

int ag_eval_totals_get(const ag_eval *e, const char *dataset, ag_eval_totals *out)
{
    if (!out) return -1;
    totals_zero(out);
    if (!e) return -1;
    size_t d = e->nds;
    if (dataset && dataset_index(e, dataset, &d) != 0) return -1;
    ag_eval_totals *t = all_totals(e);
    if (!t) return -1;
    *out = t[d];
    free(t);
    return 0;
}

/* ---- comparison ---------------------------------------------------------------------- */

const char *ag_eval_change_name(ag_eval_change_kind k)
{
    switch (k) {
    case AG_CHANGE_FIXED: return "fixed";
    case AG_CHANGE_BROKEN: return "broken";
    case AG_CHANGE_STILL_WRONG: return "still_wrong";
    case AG_CHANGE_STILL_RIGHT: return "still_right";
    case AG_CHANGE_UNGRADED: return "ungraded";
    case AG_CHANGE_ONLY_A: return "only_a";
    case AG_CHANGE_ONLY_B: return "only_b";
    case AG_CHANGE_COUNT: break;
    }
    return "unknown";
}

static ag_eval_change_kind change_kind(ag_eval_category a, ag_eval_category b)
{
    if (a == AG_CAT_NO_GOLD || b == AG_CAT_NO_GOLD) return AG_CHANGE_UNGRADED;
    int ra = a == AG_CAT_CORRECT, rb = b == AG_CAT_CORRECT;
    if (ra && rb) return AG_CHANGE_STILL_RIGHT;
    if (ra) return AG_CHANGE_BROKEN;
    if (rb) return AG_CHANGE_FIXED;
    return AG_CHANGE_STILL_WRONG;
}

ag_eval_comparison *ag_eval_compare(const ag_eval *a, const ag_eval *b)
{
    if (!a || !b) return NULL;
    ag_eval_comparison *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->rule_a = a->rule;
    c->rule_b = b->rule;
    size_t cap = a->nrecs + b->nrecs;
    c->changes = malloc((cap ? cap : 1) * sizeof *c->changes);
    if (!c->changes) goto fail;
    if (ag_eval_totals_get(a, NULL, &c->total_a) != 0 ||
        ag_eval_totals_get(b, NULL, &c->total_b) != 0)
        goto fail;
    for (size_t i = 0; i < a->nrecs; i++) {
        const ag_eval_record *ra = &a->recs[i].pub;
        const ag_eval_record *rb = ag_eval_find(b, ra->dataset, ra->id);
        ag_eval_change *ch = &c->changes[c->nchanges++];
        ch->dataset = ra->dataset;
        ch->id = ra->id;
        ch->before = ra->category;
        if (rb) {
            ch->after = rb->category;
            ch->kind = change_kind(ra->category, rb->category);
            c->transitions[ra->category][rb->category]++;
        } else {
            ch->after = AG_CAT_COUNT;
            ch->kind = AG_CHANGE_ONLY_A;
        }
        c->count[ch->kind]++;
    }
    for (size_t i = 0; i < b->nrecs; i++) {
        const ag_eval_record *rb = &b->recs[i].pub;
        if (ag_eval_find(a, rb->dataset, rb->id)) continue;
        ag_eval_change *ch = &c->changes[c->nchanges++];
        ch->dataset = rb->dataset;
        ch->id = rb->id;
        ch->before = AG_CAT_COUNT;
        ch->after = rb->category;
        ch->kind = AG_CHANGE_ONLY_B;
        c->count[ch->kind]++;
    }
    return c;
fail:
    ag_eval_comparison_free(c);
    return NULL;
}

void ag_eval_comparison_free(ag_eval_comparison *c)
{
    if (!c) return;
    free(c->changes);
    free(c);
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* Non-finite numbers become null (JSON has no NaN). */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *totals_json(const ag_eval_totals *t)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_num(o, "problems", (double)t->problems);
    add_num(o, "with_gold", (double)t->with_gold);
    add_num(o, "correct", (double)t->correct);
    add_num(o, "no_gold", (double)t->category[AG_CAT_NO_GOLD]);
    add_num(o, "accuracy", t->accuracy);
    cJSON *cats = cJSON_AddObjectToObject(o, "categories");
    for (int k = 0; k < AG_CAT_COUNT && cats; k++)
        add_num(cats, ag_eval_category_name((ag_eval_category)k), (double)t->category[k]);
    cJSON *outs = cJSON_AddObjectToObject(o, "outcomes");
    for (int k = 0; k < NOUTCOMES && outs; k++)
        add_num(outs, ag_outcome_name((ag_outcome)k), (double)t->outcome[k]);
    add_num(o, "tokens_total", (double)t->tokens_total);
    add_num(o, "llm_calls_total", (double)t->calls_total);
    add_num(o, "tokens_per_problem", t->tokens_mean);
    add_num(o, "llm_calls_per_problem", t->calls_mean);
    cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
    if (lat) {
        add_num(lat, "known", (double)t->latency_known);
        add_num(lat, "p50", t->latency_p50);
        add_num(lat, "p90", t->latency_p90);
        add_num(lat, "p99", t->latency_p99);
        add_num(lat, "min", t->latency_min);
        add_num(lat, "max", t->latency_max);
    }
    return o;
}

static cJSON *record_json(const ag_eval_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "dataset", r->dataset);
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "category", ag_eval_category_name(r->category));
    cJSON_AddStringToObject(o, "outcome", ag_outcome_name(r->outcome));
    cJSON_AddStringToObject(o, "gold_kind", gold_kind_name(r->gold_kind));
    if (r->gold_kind == AG_EVAL_GOLD_NUMBER) add_num(o, "gold", r->gold);
    else if (r->gold_kind == AG_EVAL_GOLD_QUANTITIES) add_num(o, "gold_quantities", (double)r->gold_quantities);
    if (r->has_answer) add_num(o, "answer", r->answer);
    else cJSON_AddNullToObject(o, "answer");
    add_num(o, "tokens", (double)r->tokens);
    add_num(o, "llm_calls", (double)r->llm_calls);
    add_num(o, "latency_ms", r->latency_ms);
    return o;
}

/* cJSON_Add* return NULL on failure and leave the tree as it was; a cheap
 * count check at the end catches any missing member. */
cJSON *ag_eval_json(const ag_eval *e)
{
    if (!e) return NULL;
    cJSON *o = NULL;
    ag_eval_totals *t = all_totals(e);
    if (!t) goto fail;
    o = cJSON_CreateObject();
    if (!o) goto fail;
    if (!cJSON_AddStringToObject(o, "rule", ag_eval_rule_name(e->rule)) ||
        !cJSON_AddStringToObject(o, "rule_description", ag_eval_rule_description(e->rule)))
        goto fail;
    cJSON *ov = totals_json(&t[e->nds]);
    if (!ov) goto fail;
    cJSON_AddItemToObject(o, "overall", ov);
    cJSON *dl = cJSON_AddArrayToObject(o, "datasets");
    if (!dl) goto fail;
    for (size_t d = 0; d < e->nds; d++) {
        cJSON *x = totals_json(&t[d]);
        if (!x) goto fail;
        cJSON_AddItemToArray(dl, x);
        if (!cJSON_AddStringToObject(x, "name", e->ds[d])) goto fail;
    }
    cJSON *pl = cJSON_AddArrayToObject(o, "problems");
    if (!pl) goto fail;
    for (size_t i = 0; i < e->nrecs; i++) {
        cJSON *x = record_json(&e->recs[i].pub);
        if (!x) goto fail;
        cJSON_AddItemToArray(pl, x);
    }
    free(t);
    return o;
fail:
    free(t);
    cJSON_Delete(o);
    return NULL;
}

int ag_eval_write_json(const ag_eval *e, FILE *f)
{
    if (!e || !f) return -1;
    cJSON *o = ag_eval_json(e);
    char *s = o ? cJSON_Print(o) : NULL;
    int rc = -1;
    /* Problem ids and datasets are the files' bytes: valid UTF-8 out. */
    if (s && ag_utf8_fix(&s) != 0) { free(s); s = NULL; }
    if (!s) goto out;
    if (fputs(s, f) == EOF || fputc('\n', f) == EOF) goto out;
    rc = ferror(f) ? -1 : 0;
out:
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

/* ---- text helpers ------------------------------------------------------------------------ */

/* Markdown table cell: entities for < > & (renderers pass raw HTML
 * through), backslash escapes for the characters that start markup, and a
 * space for control characters (a newline would end the row). */
static void md_esc(FILE *f, const char *s)
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
static void html_esc_n(FILE *f, const char *s, size_t max)
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

static void html_esc(FILE *f, const char *s)
{
    html_esc_n(f, s, 0);
}

static void fmt_pct(char *buf, size_t n, double acc)
{
    if (isnan(acc)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.1f%%", 100.0 * acc);
}

static void fmt_num(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", decimals, v);
}

static void fmt_gold(char *buf, size_t n, const ag_eval_record *r)
{
    switch (r->gold_kind) {
    case AG_EVAL_GOLD_NONE: snprintf(buf, n, "none"); break;
    case AG_EVAL_GOLD_NUMBER: snprintf(buf, n, "%.10g", r->gold); break;
    case AG_EVAL_GOLD_NO_SOLUTION: snprintf(buf, n, "No Best Solution"); break;
    case AG_EVAL_GOLD_QUANTITIES: snprintf(buf, n, "%zu quantities", r->gold_quantities); break;
    default: snprintf(buf, n, "?"); break;
    }
}

static void fmt_answer(char *buf, size_t n, const ag_eval_record *r)
{
    if (!r->has_answer) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.10g", r->answer);
}

/* ---- Markdown ------------------------------------------------------------------------------ */

static void md_totals_row(FILE *f, const char *name, int bold, const ag_eval_totals *t)
{
    char acc[32], tok[32], calls[32], p50[32], p90[32], p99[32];
    fmt_pct(acc, sizeof acc, t->accuracy);
    fmt_num(tok, sizeof tok, t->tokens_mean, 1);
    fmt_num(calls, sizeof calls, t->calls_mean, 2);
    fmt_num(p50, sizeof p50, t->latency_p50, 0);
    fmt_num(p90, sizeof p90, t->latency_p90, 0);
    fmt_num(p99, sizeof p99, t->latency_p99, 0);
    fputs(bold ? "| **" : "| ", f);
    md_esc(f, name);
    fprintf(f, "%s | %zu | %zu | %zu | %s | %zu | %s | %s | %s | %s | %s |\n", bold ? "**" : "",
            t->problems, t->with_gold, t->correct, acc, t->category[AG_CAT_NO_GOLD], tok, calls,
            p50, p90, p99);
}

int ag_eval_write_markdown(const ag_eval *e, FILE *f)
{
    if (!e || !f) return -1;
    ag_eval_totals *t = all_totals(e);
    if (!t) return -1;
    const ag_eval_totals *all = &t[e->nds];
    const char *rule = ag_eval_rule_name(e->rule);
    char acc[32];
    fmt_pct(acc, sizeof acc, all->accuracy);

    fputs("# optagent evaluation\n\n", f);
    fprintf(f, "Matching rule: **%s** — %s\n\n", rule, ag_eval_rule_description(e->rule));
    fprintf(f, "Accuracy (rule %s): **%s** — %zu correct of %zu problems with a gold answer; "
               "%zu problems in all, %zu without a gold (excluded from accuracy).\n\n",
            rule, acc, all->correct, all->with_gold, all->problems, all->category[AG_CAT_NO_GOLD]);
    fprintf(f, "| dataset | problems | with gold | correct | accuracy (%s) | no gold | "
               "tokens/problem | LLM calls/problem | p50 ms | p90 ms | p99 ms |\n", rule);
    fputs("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
    for (size_t d = 0; d < e->nds; d++) md_totals_row(f, e->ds[d], 0, &t[d]);
    md_totals_row(f, "all", 1, all);
    fputs("\nLatency percentiles are nearest-rank over the problems with a recorded latency.\n\n", f);

    fputs("## Failure categories\n\n| category | all", f);
    for (size_t d = 0; d < e->nds; d++) {
        fputs(" | ", f);
        md_esc(f, e->ds[d]);
    }
    fputs(" |\n|---|---:", f);
    for (size_t d = 0; d < e->nds; d++) fputs("|---:", f);
    fputs("|\n", f);
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        fprintf(f, "| %s | %zu", ag_eval_category_name((ag_eval_category)k), all->category[k]);
        for (size_t d = 0; d < e->nds; d++) fprintf(f, " | %zu", t[d].category[k]);
        fputs(" |\n", f);
    }

    size_t wrong = all->with_gold - all->correct, listed = 0;
    fprintf(f, "\n## Problems not correct (%zu", wrong);
    if (wrong > AG_EVAL_LIST_CAP) fprintf(f, "; the first %d listed", AG_EVAL_LIST_CAP);
    fputs(")\n\n", f);
    if (wrong) {
        fputs("| dataset | id | category | outcome | gold | answer |\n|---|---|---|---|---:|---:|\n", f);
        for (size_t i = 0; i < e->nrecs && listed < AG_EVAL_LIST_CAP; i++) {
            const ag_eval_record *r = &e->recs[i].pub;
            if (r->category == AG_CAT_CORRECT || r->category == AG_CAT_NO_GOLD) continue;
            char g[64], a[64];
            fmt_gold(g, sizeof g, r);
            fmt_answer(a, sizeof a, r);
            fputs("| ", f);
            md_esc(f, r->dataset);
            fputs(" | ", f);
            md_esc(f, r->id);
            fprintf(f, " | %s | %s | %s | %s |\n", ag_eval_category_name(r->category),
                    ag_outcome_name(r->outcome), g, a);
            listed++;
        }
    } else {
        fputs("None.\n", f);
    }
    free(t);
    return ferror(f) ? -1 : 0;
}

int ag_eval_write_compare_markdown(const ag_eval_comparison *c, FILE *f)
{
    if (!c || !f) return -1;
    const ag_eval_totals *a = &c->total_a, *b = &c->total_b;
    char pa[32], pb[32];
    fmt_pct(pa, sizeof pa, a->accuracy);
    fmt_pct(pb, sizeof pb, b->accuracy);
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
        fprintf(f, "\n## %s (%zu", ag_eval_change_name(k), c->count[k]);
        if (c->count[k] > AG_EVAL_LIST_CAP) fprintf(f, "; the first %d listed", AG_EVAL_LIST_CAP);
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
            md_esc(f, ch->dataset);
            fputs(" | ", f);
            md_esc(f, ch->id);
            fprintf(f, " | %s | %s |\n", ag_eval_category_name(ch->before),
                    ag_eval_category_name(ch->after));
            n++;
        }
    }
    return ferror(f) ? -1 : 0;
}

/* ---- HTML ---------------------------------------------------------------------------------- */

#define SVG_LABEL_W 190
#define SVG_BAR_W   420
#define SVG_ROW_H   22
#define SVG_LABEL_MAX 28    /* bytes of a label drawn; the full text is in <title> */
#define HIST_BINS   20

static const char *cat_color(int k)
{
    switch (k) {
    case AG_CAT_CORRECT: return "#2e7d32";
    case AG_CAT_WRONG_ANSWER: return "#c62828";
    case AG_CAT_NO_GOLD: return "#9e9e9e";
    case AG_CAT_LLM_ERROR: case AG_CAT_SOLVER_ERROR: return "#6d4c41";
    default: return "#ef6c00";
    }
}

static void svg_accuracy(FILE *f, const ag_eval *e, const ag_eval_totals *t)
{
    size_t rows = e->nds + 1;
    int w = SVG_LABEL_W + SVG_BAR_W + 70, h = (int)rows * SVG_ROW_H + 30;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"accuracy per dataset\">\n", w, h, w, h);
    for (int q = 0; q <= 4; q++) {
        int x = SVG_LABEL_W + q * SVG_BAR_W / 4;
        fprintf(f, "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
                   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>\n",
                x, x, (int)rows * SVG_ROW_H, x, (int)rows * SVG_ROW_H + 16, q * 25);
    }
    for (size_t d = 0; d < rows; d++) {
        const ag_eval_totals *x = &t[d];
        const char *name = d < e->nds ? e->ds[d] : "all";
        int y = (int)d * SVG_ROW_H;
        char pct[32];
        fmt_pct(pct, sizeof pct, x->accuracy);
        fputs("<g><title>", f);
        html_esc(f, name);
        fprintf(f, ": %s (%zu/%zu)</title>", pct, x->correct, x->with_gold);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>", SVG_LABEL_W - 6, y + 15,
                d < e->nds ? "" : " font-weight=\"bold\"");
        html_esc_n(f, name, SVG_LABEL_MAX);
        fputs("</text>", f);
        double bw = isnan(x->accuracy) ? 0 : x->accuracy * SVG_BAR_W;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", SVG_LABEL_W,
                y + 3, bw, SVG_ROW_H - 6, d < e->nds ? "#1565c0" : "#0d47a1");
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s</text></g>\n", SVG_LABEL_W + bw + 4, y + 15, pct);
    }
    fputs("</svg>\n", f);
}

static void svg_categories(FILE *f, const ag_eval_totals *all)
{
    size_t max = 0;
    for (int k = 0; k < AG_CAT_COUNT; k++)
        if (all->category[k] > max) max = all->category[k];
    int w = SVG_LABEL_W + SVG_BAR_W + 70, h = AG_CAT_COUNT * SVG_ROW_H + 8;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"problems per category\">\n", w, h, w, h);
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        int y = k * SVG_ROW_H;
        double bw = max ? (double)all->category[k] / (double)max * SVG_BAR_W : 0;
        const char *name = ag_eval_category_name((ag_eval_category)k);
        fprintf(f, "<g><title>%s: %zu</title><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
                   "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%d\">%zu</text></g>\n",
                name, all->category[k], SVG_LABEL_W - 6, y + 15, name, SVG_LABEL_W, y + 3, bw,
                SVG_ROW_H - 6, cat_color(k), SVG_LABEL_W + bw + 4, y + 15, all->category[k]);
    }
    fputs("</svg>\n", f);
}

static void svg_latency(FILE *f, const ag_eval *e, const ag_eval_totals *all)
{
    size_t bins[HIST_BINS] = { 0 };
    double lo = all->latency_min, hi = all->latency_max;
    int nb = hi > lo ? HIST_BINS : 1;
    double width = hi > lo ? (hi - lo) / nb : 1;
    for (size_t i = 0; i < e->nrecs; i++) {
        double v = e->recs[i].pub.latency_ms;
        if (isnan(v)) continue;
        int b = (int)((v - lo) / width);
        if (b < 0) b = 0;
        if (b >= nb) b = nb - 1;
        bins[b]++;
    }
    size_t max = 1;
    for (int b = 0; b < nb; b++)
        if (bins[b] > max) max = bins[b];
    const int left = 50, plot_w = 600, plot_h = 180, top = 20;
    int w = left + plot_w + 20, h = top + plot_h + 40;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"latency histogram\">\n", w, h, w, h);
    double bar = (double)plot_w / nb;
    for (int b = 0; b < nb; b++) {
        double bh = (double)bins[b] / (double)max * plot_h;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#5c6bc0\">"
                   "<title>%.0f to %.0f ms: %zu</title></rect>\n",
                left + b * bar + 1, top + plot_h - bh, bar - 2, bh, lo + b * width,
                lo + (b + 1) * width, bins[b]);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left,
            top + plot_h, left + plot_w, top + plot_h);
    fprintf(f, "<text x=\"%d\" y=\"%d\">%.0f ms</text>", left, top + plot_h + 16, lo);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f ms</text>\n", left + plot_w,
            top + plot_h + 16, hi > lo ? hi : lo + width);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu</text>\n", left - 4, top + 10, max);
    const struct { const char *name; double v; } marks[] = {
        { "p50", all->latency_p50 }, { "p90", all->latency_p90 }, { "p99", all->latency_p99 } };
    double span = hi > lo ? hi - lo : width;
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
        double x = left + (marks[m].v - lo) / span * plot_w;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"mark\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"start\">%s</text>\n",
                x, top, x, top + plot_h, x + 3, top + 12 + 14 * (int)m, marks[m].name);   /* right of its line, staggered */
    }
    fputs("</svg>\n", f);
}

static void html_totals_row(FILE *f, const char *name, const ag_eval_totals *t)
{
    char acc[32], tok[32], calls[32], p50[32], p90[32], p99[32];
    fmt_pct(acc, sizeof acc, t->accuracy);
    fmt_num(tok, sizeof tok, t->tokens_mean, 1);
    fmt_num(calls, sizeof calls, t->calls_mean, 2);
    fmt_num(p50, sizeof p50, t->latency_p50, 0);
    fmt_num(p90, sizeof p90, t->latency_p90, 0);
    fmt_num(p99, sizeof p99, t->latency_p99, 0);
    fputs("<tr><th scope=\"row\">", f);
    html_esc(f, name);
    fprintf(f, "</th><td>%zu</td><td>%zu</td><td>%zu</td><td>%s</td><td>%zu</td><td>%s</td>"
               "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
            t->problems, t->with_gold, t->correct, acc, t->category[AG_CAT_NO_GOLD], tok, calls,
            p50, p90, p99);
}

int ag_eval_write_html(const ag_eval *e, FILE *f)
{
    if (!e || !f) return -1;
    ag_eval_totals *t = all_totals(e);
    if (!t) return -1;
    const ag_eval_totals *all = &t[e->nds];
    const char *rule = ag_eval_rule_name(e->rule);
    char acc[32];
    fmt_pct(acc, sizeof acc, all->accuracy);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>optagent evaluation</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#212121;max-width:1100px}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "th,td{border:1px solid #ccc;padding:3px 8px}\n"
          "td{text-align:right}\nth{background:#f5f5f5;text-align:left}\n"
          "td.t{text-align:left;word-break:break-all}\n"
          ".rule{background:#e3f2fd;padding:.6em 1em;border-left:4px solid #1565c0}\n"
          "svg{display:block;margin:1em 0;font:12px sans-serif}\n"
          "svg .grid{stroke:#ddd}\nsvg .axis{stroke:#555}\n"
          "svg .mark{stroke:#c62828;stroke-dasharray:4 3}\n"
          "</style>\n</head>\n<body>\n<h1>optagent evaluation</h1>\n", f);
    fprintf(f, "<p class=\"rule\">Matching rule: <b>%s</b> — ", rule);
    html_esc(f, ag_eval_rule_description(e->rule));
    fputs("</p>\n", f);
    fprintf(f, "<p>Accuracy (rule %s): <b>%s</b> — %zu correct of %zu problems with a gold "
               "answer; %zu problems in all, %zu without a gold (excluded from accuracy).</p>\n",
            rule, acc, all->correct, all->with_gold, all->problems, all->category[AG_CAT_NO_GOLD]);

    fprintf(f, "<h2>Accuracy per dataset (rule %s)</h2>\n", rule);
    svg_accuracy(f, e, t);
    fprintf(f, "<table>\n<tr><th>dataset</th><th>problems</th><th>with gold</th><th>correct</th>"
               "<th>accuracy (%s)</th><th>no gold</th><th>tokens/problem</th>"
               "<th>LLM calls/problem</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th></tr>\n",
            rule);
    for (size_t d = 0; d < e->nds; d++) html_totals_row(f, e->ds[d], &t[d]);
    html_totals_row(f, "all", all);
    fputs("</table>\n", f);

    fputs("<h2>Failure categories</h2>\n", f);
    svg_categories(f, all);
    fputs("<table>\n<tr><th>category</th><th>all</th>", f);
    for (size_t d = 0; d < e->nds; d++) {
        fputs("<th>", f);
        html_esc(f, e->ds[d]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        fprintf(f, "<tr><th scope=\"row\">%s</th><td>%zu</td>",
                ag_eval_category_name((ag_eval_category)k), all->category[k]);
        for (size_t d = 0; d < e->nds; d++) fprintf(f, "<td>%zu</td>", t[d].category[k]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);

    fputs("<h2>Latency</h2>\n", f);
    if (all->latency_known) {
        char p50[32], p90[32], p99[32];
        fmt_num(p50, sizeof p50, all->latency_p50, 0);
        fmt_num(p90, sizeof p90, all->latency_p90, 0);
        fmt_num(p99, sizeof p99, all->latency_p99, 0);
        fprintf(f, "<p>%zu problems with a recorded latency; p50 %s ms, p90 %s ms, p99 %s ms "
                   "(nearest rank).</p>\n", all->latency_known, p50, p90, p99);
        svg_latency(f, e, all);
    } else {
        fputs("<p>No latency recorded.</p>\n", f);
    }

    size_t wrong = all->with_gold - all->correct, listed = 0;
    fprintf(f, "<h2>Problems not correct (%zu", wrong);
    if (wrong > AG_EVAL_LIST_CAP) fprintf(f, "; the first %d listed", AG_EVAL_LIST_CAP);
    fputs(")</h2>\n", f);
    if (wrong) {
        fputs("<table>\n<tr><th>dataset</th><th>id</th><th>category</th><th>outcome</th>"
              "<th>gold</th><th>answer</th></tr>\n", f);
        for (size_t i = 0; i < e->nrecs && listed < AG_EVAL_LIST_CAP; i++) {
            const ag_eval_record *r = &e->recs[i].pub;
            if (r->category == AG_CAT_CORRECT || r->category == AG_CAT_NO_GOLD) continue;
            char g[64], a[64];
            fmt_gold(g, sizeof g, r);
            fmt_answer(a, sizeof a, r);
            fputs("<tr><td class=\"t\">", f);
            html_esc(f, r->dataset);
            fputs("</td><td class=\"t\">", f);
            html_esc(f, r->id);
            fprintf(f, "</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td>%s</td><td>%s</td></tr>\n",
                    ag_eval_category_name(r->category), ag_outcome_name(r->outcome), g, a);
            listed++;
        }
        fputs("</table>\n", f);
    } else {
        fputs("<p>None.</p>\n", f);
    }
    fputs("</body>\n</html>\n", f);
    free(t);
    return ferror(f) ? -1 : 0;
}
