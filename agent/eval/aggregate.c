/* agent/eval/aggregate — the evaluation as a collection of graded records,
 * its totals, and the comparison of two evaluations.
 *
 * ag_eval_add grades an item at once (ag_ev_judge, grade.c) and keeps only
 * a record: the strings it needs copied, the gold reduced to its kind and
 * number, the category, and for a multi-quantity gold graded with outcome ok
 * each query's fate (ag_eval_grade_queries, names copied). Records stay in the order added; a hash table of
 * (dataset, id), open addressing with linear probing kept at most half full,
 * refuses a problem added twice and serves ag_eval_find, so building and
 * comparing evaluations of a million problems stays linear. Every allocation
 * an add needs is made before anything is committed: a failed add leaves
 * the evaluation as it was.
 *
 * Totals are not kept up to date: they are computed when asked for
 * (ag_ev_all_totals), in one pass over the records for the counts and one
 * sort per dataset for the nearest-rank latency percentiles.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/eval/internal.h"

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

static void queries_free(ag_eval_query *q, size_t n)
{
    for (size_t i = 0; q && i < n; i++) free((char *)q[i].name);
    free(q);
}

/* The queries of a multi-quantity gold graded with outcome ok, names
 * copied, into *out (NULL otherwise), and whether the objective is right
 * (*objective_right 1/0, -1 when its gold is not known). 0, or -1 when out
 * of memory. */
static int grade_queries(ag_match_rule r, const ag_eval_item *it, ag_eval_query **out,
                         int *objective_right)
{
    *out = NULL;
    *objective_right = -1;
    if (it->gold.kind != AG_GOLD_QUANTITIES || it->outcome != AG_OUTCOME_OK) return 0;
    /* The objective's gold: the query the objective is named after, else
     * the gold's own (OptiBench's last key, usually but not always it). */
    int known = it->gold.objective_gold;
    double gold = it->gold.value;
    for (size_t i = 0; it->answer_name && i < it->gold.nquantities; i++)
        if (ag_query_name_eq(it->answer_name, it->gold.quantities[i].name)) {
            known = 1;
            gold = it->gold.quantities[i].value;
            break;
        }
    if (known) *objective_right = it->has_answer && ag_eval_match(r, it->answer, gold);
    size_t n = it->gold.nquantities;
    ag_eval_query *q = calloc(n, sizeof *q);
    if (!q || ag_eval_grade_queries(r, it, q, n) < 0) goto fail;
    for (size_t i = 0; i < n; i++) {
        const char *name = q[i].name;
        q[i].name = NULL;
        if (name && !(q[i].name = strdup(name))) goto fail;
    }
    *out = q;
    return 0;
fail:
    queries_free(q, q ? n : 0);
    return -1;
}

ag_eval *ag_eval_new(ag_match_rule r)
{
    if (!ag_ev_rule_valid(r)) return NULL;
    ag_eval *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->rule = r;
    return e;
}

void ag_eval_set_replayed(ag_eval *e, int replayed)
{
    if (e) e->latency_replayed = replayed ? 1 : 0;
}

void ag_eval_free(ag_eval *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nrecs; i++) {
        free((char *)e->recs[i].pub.id);
        queries_free((ag_eval_query *)e->recs[i].pub.queries, e->recs[i].pub.nqueries);
        free((char *)e->recs[i].pub.diagnostic);
        free((char *)e->recs[i].pub.reply);
    }
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

ag_code ag_eval_add(ag_eval *e, const ag_eval_item *it)
{
    ag_code rc = AG_EFORMAT;
    char *id = NULL, *dsname = NULL, *diag = NULL, *reply = NULL;
    ag_eval_query *queries = NULL;
    int objective_right = -1;
    if (!e) return AG_EUSAGE;
    e->err[0] = 0;
    if (ag_eval_check_item(it, e->err, sizeof e->err) != 0) goto out;
    int oom;
    ag_eval_category cat = ag_ev_judge(e->rule, it, &oom);
    if (oom) goto nomem;
    if (ag_eval_find(e, it->dataset, it->id)) {
        snprintf(e->err, sizeof e->err, "problem added twice (dataset and id already seen)");
        rc = AG_EEXIST;
        goto out;
    }
    if (e->nrecs >= AG_EVAL_MAX_PROBLEMS) {
        snprintf(e->err, sizeof e->err, "more than %d problems", AG_EVAL_MAX_PROBLEMS);
        rc = AG_ELIMIT;
        goto out;
    }
    size_t ds;
    int new_ds = dataset_index(e, it->dataset, &ds) != 0;
    if (new_ds && e->nds >= AG_EVAL_MAX_DATASETS) {
        snprintf(e->err, sizeof e->err, "more than %d datasets", AG_EVAL_MAX_DATASETS);
        rc = AG_ELIMIT;
        goto out;
    }
    /* Every allocation before anything is committed. */
    if (e->nrecs == e->caprecs) {
        size_t n = e->caprecs ? e->caprecs * 2 : 64;
        ag_ev_rec *nr = realloc(e->recs, n * sizeof *nr);
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
    if (grade_queries(e->rule, it, &queries, &objective_right) != 0) goto nomem;
    id = strdup(it->id);
    if (!id) goto nomem;
    if (it->diagnostic && !(diag = strndup(it->diagnostic, AG_EVAL_NOTE_MAX))) goto nomem;
    if (it->reply && !(reply = strndup(it->reply, AG_EVAL_NOTE_MAX))) goto nomem;
    if (new_ds) {
        dsname = strdup(it->dataset);
        if (!dsname) goto nomem;
        ds = e->nds;
        e->ds[e->nds++] = dsname;
        dsname = NULL;
    }
    ag_ev_rec *r = &e->recs[e->nrecs];
    memset(r, 0, sizeof *r);
    r->ds = ds;
    r->pub.dataset = e->ds[ds];
    r->pub.id = id;
    id = NULL;
    r->pub.diagnostic = diag;
    r->pub.reply = reply;
    diag = reply = NULL;
    r->pub.gold_kind = it->gold.kind;
    r->pub.gold = it->gold.kind == AG_GOLD_NUMBER ? it->gold.value : NAN;
    r->pub.gold_quantities = it->gold.kind == AG_GOLD_QUANTITIES ? it->gold.nquantities : 0;
    r->pub.outcome = it->outcome;
    r->pub.has_answer = it->has_answer ? 1 : 0;
    r->pub.answer = it->has_answer ? it->answer : NAN;
    r->pub.category = cat;
    r->pub.tokens = it->tokens;
    r->pub.llm_calls = it->llm_calls;
    r->pub.latency_ms = it->latency_ms;
    r->pub.proven = it->outcome == AG_OUTCOME_OK && it->proven;
    r->pub.queries = queries;
    r->pub.nqueries = queries ? it->gold.nquantities : 0;
    r->pub.objective_right = objective_right;
    if (queries) e->nquery_recs++;
    queries = NULL;
    e->slots[find_slot(e, r->pub.dataset, r->pub.id)] = e->nrecs + 1;
    e->nrecs++;
    rc = AG_OK;
    goto out;
nomem:
    snprintf(e->err, sizeof e->err, "out of memory");
    rc = AG_ENOMEM;
out:
    queries_free(queries, queries ? it->gold.nquantities : 0);
    free(id);
    free(dsname);
    free(diag);
    free(reply);
    return rc;
}

/* ---- totals ------------------------------------------------------------------------ */

static void totals_zero(ag_eval_totals *t)
{
    memset(t, 0, sizeof *t);
    t->accuracy = t->tokens_mean = t->calls_mean = NAN;
    t->latency_p50 = t->latency_p90 = t->latency_p99 = NAN;
    t->latency_min = t->latency_max = NAN;
    t->objective_only_share = NAN;
}

static void totals_latency(ag_eval_totals *t, double *sorted, size_t n)
{
    qsort(sorted, n, sizeof *sorted, ag_ev_cmp_double);
    t->latency_known = n;
    if (n == 0) return;
    t->latency_p50 = ag_ev_rank_sorted(sorted, n, 50);
    t->latency_p90 = ag_ev_rank_sorted(sorted, n, 90);
    t->latency_p99 = ag_ev_rank_sorted(sorted, n, 99);
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
            if (r->gold_kind != AG_GOLD_NONE) x->with_gold++;
            if (r->category == AG_CAT_CORRECT) x->correct++;
            x->category[r->category]++;
            x->outcome[r->outcome]++;
            if (r->proven) x->proven++;
            x->tokens_total += r->tokens;
            x->calls_total += r->llm_calls;
            if (r->queries) {
                x->query_problems++;
                x->queries += r->nqueries;
                for (size_t q = 0; q < r->nqueries; q++) x->query_status[r->queries[q].status]++;
            }
            if (r->category == AG_CAT_WRONG_ANSWER && r->objective_right == 1) x->objective_only++;
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
        if (x->with_gold) {
            x->accuracy = (double)x->correct / (double)x->with_gold;
            x->objective_only_share = (double)x->objective_only / (double)x->with_gold;
        }
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

ag_eval_totals *ag_ev_all_totals(const ag_eval *e)
{
    ag_eval_totals *t = malloc((e->nds + 1) * sizeof *t);
    if (t && compute_totals(e, t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

ag_code ag_eval_totals_get(const ag_eval *e, const char *dataset, ag_eval_totals *out)
{
    if (!out) return AG_EUSAGE;
    totals_zero(out);
    if (!e) return AG_EUSAGE;
    size_t d = e->nds;
    if (dataset && dataset_index(e, dataset, &d) != 0) return AG_ENOTFOUND;
    ag_eval_totals *t = ag_ev_all_totals(e);
    if (!t) return AG_ENOMEM;
    *out = t[d];
    free(t);
    return AG_OK;
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
