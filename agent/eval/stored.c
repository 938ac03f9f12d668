/* agent/eval/stored — grading items from what batch stores.
 *
 * batch keeps a problem's gold as JSON ({"kind", "value", "quantities"}) and
 * the answer attempt's solve report; eval reads both back from the results
 * database. The two functions here turn them into the parts of an
 * ag_eval_item, so the live grade of batch and the report of eval are made
 * by one piece of code and cannot drift apart. They only read the trees:
 * every name they hand out is borrowed from them.
 *
 * The rule decides the view (eval.h, "Which golds a rule grades"): optibench
 * grades every query, the other rules the objective only.
 */
#include <math.h>
#include <string.h>
#include "agent/eval/internal.h"

void ag_eval_gold_from_json(const cJSON *gold_json, ag_match_rule r, ag_eval_quantity *q,
                            size_t cap, ag_eval_gold *out)
{
    memset(out, 0, sizeof *out);
    out->kind = AG_GOLD_NONE;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(gold_json, "kind"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(gold_json, "value");
    int number = kind && !strcmp(kind, ag_gold_kind_name(AG_GOLD_NUMBER)) &&
                 cJSON_IsNumber(value) && isfinite(value->valuedouble);
    if (number) {
        out->kind = AG_GOLD_NUMBER;
        out->value = value->valuedouble;
    } else if (kind && !strcmp(kind, ag_gold_kind_name(AG_GOLD_NO_SOLUTION))) {
        out->kind = AG_GOLD_NO_SOLUTION;
    }
    if (r != AG_MATCH_OPTIBENCH || !q) return;
    size_t n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(gold_json, "quantities")) {
        if (n == cap) break;
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) continue;
        /* A name over the cap was never asked for (the prompts list names
         * of at most AG_MAX_QUERY_NAME bytes): it is matched by value. */
        q[n].name = v->string && strnlen(v->string, AG_EVAL_MAX_NAME + 1) <= AG_EVAL_MAX_NAME
                    ? v->string : NULL;
        q[n].value = v->valuedouble;
        n++;
    }
    if (!n) return;
    out->kind = AG_GOLD_QUANTITIES;
    out->quantities = q;
    out->nquantities = n;
    out->objective_gold = number;
}

size_t ag_eval_reported_from_json(const cJSON *result, ag_eval_quantity *q, size_t cap,
                                  const char **answer_name)
{
    size_t n = 0;
    const cJSON *v;
    if (answer_name) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "objective_name"));
        *answer_name = s && strnlen(s, AG_EVAL_MAX_NAME + 1) <= AG_EVAL_MAX_NAME ? s : NULL;
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(result, "report")) {
        if (n == cap || !q) break;
        if (!cJSON_IsNumber(v)) continue;
        if (v->string && strnlen(v->string, AG_EVAL_MAX_NAME + 1) > AG_EVAL_MAX_NAME) continue;
        q[n].name = v->string;
        q[n].value = v->valuedouble;
        n++;
    }
    return n;
}
