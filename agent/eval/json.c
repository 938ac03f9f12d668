/* agent/eval/json — the evaluation as JSON (ag_eval_json, ag_eval_write_json).
 *
 * The tree is built with cJSON and printed whole: {"rule",
 * "rule_description", "overall", "datasets": [...], "problems": [...]}.
 * JSON has no NaN, so every number that is not finite (an accuracy with no
 * gold, an unknown latency) is written as null. The names of categories,
 * outcomes and gold kinds are the same strings the Markdown and HTML reports
 * and the results database use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "agent/eval/internal.h"
#include "agent/llm/llm.h"

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
    add_num(o, "proven", (double)t->proven);
    cJSON *cats = cJSON_AddObjectToObject(o, "categories");
    for (int k = 0; k < AG_CAT_COUNT && cats; k++)
        add_num(cats, ag_eval_category_name((ag_eval_category)k), (double)t->category[k]);
    cJSON *outs = cJSON_AddObjectToObject(o, "outcomes");
    for (int k = 0; k < AG_EV_NOUTCOMES && outs; k++)
        add_num(outs, ag_outcome_name((ag_outcome)k), (double)t->outcome[k]);
    add_num(o, "tokens_total", (double)t->tokens_total);
    add_num(o, "llm_calls_total", (double)t->calls_total);
    add_num(o, "tokens_per_problem", t->tokens_mean);
    add_num(o, "llm_calls_per_problem", t->calls_mean);
    cJSON *qs = cJSON_AddObjectToObject(o, "queries");
    if (qs) {
        add_num(qs, "problems", (double)t->query_problems);
        add_num(qs, "graded", (double)t->queries);
        for (int k = 0; k < AG_QUERY_COUNT; k++)
            add_num(qs, ag_eval_query_status_name((ag_eval_query_status)k), (double)t->query_status[k]);
        add_num(qs, "objective_only_right", (double)t->objective_only);
        add_num(qs, "objective_only_right_share", t->objective_only_share);
    }
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
    cJSON_AddStringToObject(o, "gold_kind", ag_gold_kind_name(r->gold_kind));
    if (r->gold_kind == AG_GOLD_NUMBER) add_num(o, "gold", r->gold);
    else if (r->gold_kind == AG_GOLD_QUANTITIES) add_num(o, "gold_quantities", (double)r->gold_quantities);
    if (r->has_answer) add_num(o, "answer", r->answer);
    else cJSON_AddNullToObject(o, "answer");
    add_num(o, "tokens", (double)r->tokens);
    add_num(o, "llm_calls", (double)r->llm_calls);
    add_num(o, "latency_ms", r->latency_ms);
    if (r->objective_right >= 0) cJSON_AddBoolToObject(o, "objective_right", r->objective_right);
    if (r->queries) {
        cJSON *ql = cJSON_AddArrayToObject(o, "queries");
        for (size_t i = 0; ql && i < r->nqueries; i++) {
            const ag_eval_query *q = &r->queries[i];
            cJSON *x = cJSON_CreateObject();
            if (!x) break;
            cJSON_AddItemToArray(ql, x);
            if (q->name) cJSON_AddStringToObject(x, "name", q->name);
            else cJSON_AddNullToObject(x, "name");
            add_num(x, "gold", q->gold);
            if (q->has_answer) add_num(x, "answer", q->answer);
            else cJSON_AddNullToObject(x, "answer");
            cJSON_AddStringToObject(x, "status", ag_eval_query_status_name(q->status));
        }
    }
    return o;
}

/* cJSON_Add* return NULL on failure and leave the tree as it was; a cheap
 * count check at the end catches any missing member. */
cJSON *ag_eval_json(const ag_eval *e)
{
    if (!e) return NULL;
    cJSON *o = NULL;
    ag_eval_totals *t = ag_ev_all_totals(e);
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

ag_code ag_eval_write_json(const ag_eval *e, FILE *f)
{
    if (!e || !f) return AG_EUSAGE;
    cJSON *o = ag_eval_json(e);
    char *s = o ? cJSON_Print(o) : NULL;
    ag_code rc = AG_ENOMEM;
    /* Problem ids and datasets are the files' bytes: valid UTF-8 out. */
    if (s && ag_utf8_fix(&s) != 0) { free(s); s = NULL; }
    if (!s) goto out;
    rc = AG_EIO;
    if (fputs(s, f) == EOF || fputc('\n', f) == EOF) goto out;
    rc = ferror(f) ? AG_EIO : AG_OK;
out:
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}
