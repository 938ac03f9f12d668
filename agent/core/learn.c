/* Learning's LLM exchanges (see ../../shared/LIBRARY.md and
 * library/README.md, "Learning"): refinement of an insight's condition
 * (task refine) and, in learn_problem.c, the learning procedure of one
 * problem (solve, grade, reflect, verify).
 *
 * The library decides everything that can be decided without the LLM
 * (scores, duplicates, storage); this file only asks, reads the reply and
 * hands the result to the library. A reply that cannot be read skips its
 * insight: nothing is written on a reply that was not understood. Nothing
 * here prints; the records say what happened, the commands print them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/core.h"
#include "agent/core/internal.h"
#include "library/library.h"

/* ---- one exchange ---- */

/* Sends msgs (n) as task on chat; *content (malloc'd) is the reply. On
 * failure err says why. */
static ag_code ask(const ag_chat *chat, const char *task, const char *problem_id, int round,
                   const ag_llm_message *msgs, size_t n, volatile int *cancel, char **content,
                   char *err, size_t errlen)
{
    ag_llm_reply *r = NULL;
    ag_chat_call call = { problem_id ? problem_id : "", task, round };
    *content = NULL;
    ag_llm_code lc = chat->fn(chat->ctx, &call, msgs, n, cancel, &r);
    if (lc != AG_LLM_OK) {
        snprintf(err, errlen, "the %s request failed: %s", task,
                 r && r->error ? r->error : ag_llm_strerror(lc));
        ag_llm_reply_free(r);
        return AG_EIO;
    }
    *content = r->content ? r->content : strdup("");
    r->content = NULL;
    ag_llm_reply_free(r);
    return *content ? AG_OK : AG_ENOMEM;
}

/* ---- refinement ---- */

void ag_refine_record_clear(ag_refine_record *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nvariants; i++) free(r->variants[i].condition);
    free(r->variants);
    free(r->old_condition);
    memset(r, 0, sizeof *r);
}

/* The stored texts of the problems of one statistics list, one paragraph
 * each, or "(none)". NULL when out of memory. */
static char *problems_text(lib *l, const lib_idlist *ids)
{
    size_t len = 0, cap = 64;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = 0;
    for (size_t i = 0; i < ids->n; i++) {
        char *t = NULL;
        if (lib_problem_text(l, ids->ids[i], &t) != LIB_OK) continue;
        size_t need = len + strlen(t) + 8;
        if (need > cap) {
            char *ns = realloc(s, cap = need * 2);
            if (!ns) { free(t); free(s); return NULL; }
            s = ns;
        }
        len += (size_t)sprintf(s + len, "- %s\n\n", t);
        free(t);
    }
    if (!len) { free(s); return strdup("(none)"); }
    return s;
}

/* The refine request's text for insight in. NULL when out of memory. */
static char *refine_prompt(lib *l, const lib_insight *in)
{
    const lib_insight *one = in;
    char *block = NULL, *text = NULL;
    char *helped = problems_text(l, &in->stats[LIB_STAT_POSITIVE]);
    char *misfired = problems_text(l, &in->stats[LIB_STAT_NEGATIVE]);
    char *missed = problems_text(l, &in->stats[LIB_STAT_UNRETRIEVED]);
    const char *tmpl = ag_prompt("refine");
    if (helped && misfired && missed && tmpl && lib_format_for_prompt(&one, 1, &block) == LIB_OK) {
        const char *keys[] = { "insight", "helped", "misfired", "missed" };
        const char *vals[] = { block, helped, misfired, missed };
        text = ag_template_fill(tmpl, keys, vals, 4);
    }
    free(block); free(helped); free(misfired); free(missed);
    return text;
}

/* Reads {"conditions": [...]} into r->variants (at most k, non-empty
 * strings within LIB_MAX_FIELD). AG_EFORMAT with the reason in r->error. */
static ag_code read_conditions(const char *reply, size_t k, ag_refine_record *r)
{
    cJSON *o = NULL;
    char why[256] = "";
    ag_extract_object(reply, strlen(reply), "conditions", &o, why, sizeof why);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "conditions"), *c;
    ag_code rc = AG_EFORMAT;
    if (!cJSON_IsArray(a)) {
        snprintf(r->error, sizeof r->error, "the refine reply holds no {\"conditions\": [...]} "
                 "object%s%s", why[0] ? ": " : "", why);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(a);
    r->variants = calloc(n ? n : 1, sizeof *r->variants);
    if (!r->variants) { rc = AG_ENOMEM; goto out; }
    cJSON_ArrayForEach(c, a) {
        if (r->nvariants == k) break;
        const char *s = cJSON_GetStringValue(c);
        if (!s || !*s || strlen(s) > LIB_MAX_FIELD) continue;
        if (!(r->variants[r->nvariants].condition = strdup(s))) { rc = AG_ENOMEM; goto out; }
        r->nvariants++;
    }
    if (!r->nvariants)
        snprintf(r->error, sizeof r->error, "the refine reply's \"conditions\" holds no usable "
                 "condition (each a non-empty string of at most %d bytes)", LIB_MAX_FIELD);
    else rc = AG_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Scores every variant; the best strictly above the current wins. */
static ag_code score_and_replace(lib *l, ag_refine_record *r)
{
    double best = r->current.score;
    r->best = -1;
    for (size_t i = 0; i < r->nvariants; i++) {
        lib_code c = lib_refine_score(l, r->id, r->variants[i].condition, &r->variants[i].score);
        if (c != LIB_OK) {
            char m[400];
            lib_errmsg(l, m, sizeof m);
            snprintf(r->error, sizeof r->error, "scoring a variant: %s", m[0] ? m : lib_strerror(c));
            return AG_EIO;
        }
        if (r->variants[i].score.score > best) { best = r->variants[i].score.score; r->best = (int)i; }
    }
    if (r->best < 0) return AG_OK;
    lib_code c = lib_replace_condition(l, r->id, r->variants[r->best].condition, &r->new_version);
    if (c != LIB_OK) {
        char m[400];
        lib_errmsg(l, m, sizeof m);
        snprintf(r->error, sizeof r->error, "replacing the condition: %s", m[0] ? m : lib_strerror(c));
        r->best = -1;
        return AG_EIO;
    }
    r->replaced = 1;
    return AG_OK;
}

ag_code ag_refine_insight(const ag_chat *chat, lib *l, int64_t id, size_t k,
                          volatile int *cancel, ag_refine_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    r->best = -1;
    lib_insight in;
    char *text = NULL, *reply = NULL, idbuf[40];
    lib_code lc = lib_get(l, id, &in);
    if (lc != LIB_OK) {
        snprintf(r->error, sizeof r->error, "insight %lld: %s", (long long)id, lib_strerror(lc));
        return AG_ENOTFOUND;
    }
    ag_code rc = AG_ENOMEM;
    r->old_version = in.version;
    if (!(r->old_condition = strdup(in.condition))) goto out;
    if ((lc = lib_refine_score(l, id, NULL, &r->current)) != LIB_OK) {
        snprintf(r->error, sizeof r->error, "scoring the current condition: %s", lib_strerror(lc));
        rc = AG_EIO;
        goto out;
    }
    if (!(text = refine_prompt(l, &in))) goto out;
    snprintf(idbuf, sizeof idbuf, "insight-%lld", (long long)id);
    ag_llm_message m = { "user", text };
    if ((rc = ask(chat, "refine", idbuf, 0, &m, 1, cancel, &reply, r->error, sizeof r->error)) != AG_OK)
        goto out;
    if ((rc = read_conditions(reply, k ? k : 3, r)) != AG_OK) goto out;
    rc = score_and_replace(l, r);
out:
    free(text);
    free(reply);
    lib_insight_clear(&in);
    return rc;
}

/* ---- learning from one problem ---- */

const char *ag_verdict_name(ag_verdict v)
{
    switch (v) {
    case AG_VERDICT_KEPT: return "kept";
    case AG_VERDICT_MERGED: return "merged";
    case AG_VERDICT_REJECTED: return "rejected";
    case AG_VERDICT_ERROR: return "error";
    }
    return "unknown";
}

void ag_learn_record_clear(ag_learn_record *r)
{
    if (!r) return;
    ag_run_free(r->run);
    free(r->carried);
    for (int i = 0; i < r->nreflect; i++) {
        cJSON_Delete(r->reflect[i].messages);
        free(r->reflect[i].reply);
    }
    for (size_t i = 0; i < r->ncands; i++) {
        lib_insight_clear(&r->cands[i].insight);
        ag_run_free(r->cands[i].verify);
    }
    free(r->cands);
    memset(r, 0, sizeof *r);
}

/* The stored insights the run carried (retrieved, not candidates). */
static ag_code carried_ids(const ag_run *run, int64_t **ids, size_t *n)
{
    const ag_retrieval *rv = &run->retrieval;
    *n = 0;
    if (!(*ids = calloc(rv->ncarried ? rv->ncarried : 1, sizeof **ids))) return AG_ENOMEM;
    for (size_t i = 0; i < rv->ncarried; i++)
        if (!rv->carried[i].candidate && rv->carried[i].id) (*ids)[(*n)++] = rv->carried[i].id;
    return AG_OK;
}

/* 0 when the run ended because an LLM call failed or was cut short. */
static int reached_llm(const ag_run *run)
{
    return run->outcome != AG_OUTCOME_LLM_ERROR && run->outcome != AG_OUTCOME_INTERRUPTED;
}

/* Records kind for every carried insight (an insight removed meanwhile is
 * not an error). */
static void record_carried(lib *l, const ag_learn_record *r, const ag_learn_input *p,
                           lib_stat_kind kind)
{
    for (size_t i = 0; i < r->ncarried; i++)
        (void)lib_record_stat(l, r->carried[i], p->id, p->text, kind);
}

/* What the failed attempt gave, in words, for the reflect prompt. */
static char *result_text(const ag_run *run)
{
    const ag_attempt *a = run->nattempts ? &run->attempts[run->nattempts - 1] : NULL;
    char *res = a && a->result ? cJSON_PrintUnformatted(a->result) : NULL;
    char head[256];
    if (run->has_objective)
        snprintf(head, sizeof head, "Outcome %s, objective value %.17g.", ag_outcome_name(run->outcome),
                 run->objective);
    else snprintf(head, sizeof head, "Outcome %s, no objective value.", ag_outcome_name(run->outcome));
    size_t n = strlen(head) + (res ? strlen(res) : 0) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", head, res ? "\nSolver report: " : "", res ? res : "");
    free(res);
    return s;
}

/* The reflect request's text. NULL when out of memory. */
static char *reflect_prompt(lib *l, const ag_learn_record *r, const ag_learn_input *p)
{
    const ag_run *run = r->run;
    const ag_attempt *a = run->nattempts ? &run->attempts[run->nattempts - 1] : NULL;
    const char *form = a && a->formulation ? a->formulation
                     : a && a->reply ? a->reply : "(no formulation was written)";
    lib_insight *ins = calloc(r->ncarried ? r->ncarried : 1, sizeof *ins);
    const lib_insight **v = calloc(r->ncarried ? r->ncarried : 1, sizeof *v);
    size_t nv = 0;
    char *block = NULL, *tax = NULL, *res = result_text(run), *text = NULL;
    for (size_t i = 0; ins && v && i < r->ncarried; i++)
        if (lib_get(l, r->carried[i], &ins[nv]) == LIB_OK) { v[nv] = &ins[nv]; nv++; }
    const char *tmpl = ag_prompt("reflect");
    if (ins && v && res && tmpl && lib_format_for_prompt(v, nv, &block) == LIB_OK &&
        lib_taxonomy_paths(l, &tax) == LIB_OK) {
        const char *keys[] = { "problem", "formulation", "result", "gold", "insights", "taxonomy" };
        const char *vals[] = { p->text, form, res, p->gold, *block ? block : "(none)", tax };
        text = ag_template_fill(tmpl, keys, vals, 6);
    }
    if (ins) lib_insights_free(ins, nv);
    free(v); free(block); free(tax); free(res);
    return text;
}

/* The messages of reflect try t: the prompt; after a reply that could not
 * be used, that reply and why, so the LLM can answer again (and a retry is
 * not the same request, which a cache would answer with the same reply). */
static cJSON *reflect_messages(const char *text, const ag_reflect_try *prev)
{
    cJSON *msgs = cJSON_CreateArray();
    if (!msgs) return NULL;
    agi_add_message(msgs, "user", text);
    if (prev && prev->reply) {
        char again[1024];
        snprintf(again, sizeof again, "That reply could not be used (%s). Answer again with "
                 "exactly one JSON object {\"insights\": [...]} in a ```json fenced block, each "
                 "insight with taxonomy, condition, explanation and example.", prev->error);
        agi_add_message(msgs, "assistant", prev->reply);
        agi_add_message(msgs, "user", again);
    }
    return msgs;
}

/* Reads the candidates of one reflect reply into r->cands; 1 when there
 * is one, 0 when not (x->error says why), -1 when out of memory. */
static int read_candidates(ag_reflect_try *x, ag_learn_record *r)
{
    cJSON *o = NULL;
    char why[256] = "";
    ag_extract_object(x->reply, strlen(x->reply), "insights", &o, why, sizeof why);
    char *js = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!js) {
        snprintf(x->error, sizeof x->error, "no {\"insights\": [...]} object in the reply%s%s",
                 why[0] ? ": " : "", why);
        return 0;
    }
    lib_insight *c = NULL;
    size_t n = 0;
    lib_code lc = lib_candidates_from_json(js, strlen(js), &c, &n, x->error, sizeof x->error);
    free(js);
    if (lc != LIB_OK) return 0;
    if (!(r->cands = calloc(n, sizeof *r->cands))) { lib_insights_free(c, n); return -1; }
    for (size_t i = 0; i < n; i++) r->cands[i].insight = c[i];   /* moved */
    free(c);
    r->ncands = n;
    return 1;
}

/* Up to AG_REFLECT_TRIES reflect requests until one gives a usable
 * candidate; the candidates go to r->cands. AG_OK also when none came
 * (r->reflect_error says why). */
static ag_code reflect(const ag_chat *chat, lib *l, const ag_learn_input *p,
                       volatile int *cancel, ag_learn_record *r)
{
    char *text = reflect_prompt(l, r, p);
    if (!text) return AG_ENOMEM;
    ag_code rc = AG_OK;
    for (int t = 0; t < AG_REFLECT_TRIES && !r->ncands; t++) {
        if (cancel && *cancel) break;
        ag_reflect_try *x = &r->reflect[r->nreflect++];
        size_t n = 0;
        x->messages = reflect_messages(text, t ? &r->reflect[t - 1] : NULL);
        ag_llm_message *msgs = x->messages ? agi_llm_messages(x->messages, &n) : NULL;
        if (!msgs) { rc = AG_ENOMEM; break; }
        rc = ask(chat, "reflect", p->id, t, msgs, n, cancel, &x->reply, x->error, sizeof x->error);
        free(msgs);
        if (rc == AG_ENOMEM) break;
        rc = AG_OK;
        if (x->reply && read_candidates(x, r) < 0) { rc = AG_ENOMEM; break; }
    }
    free(text);
    if (!r->ncands && r->nreflect)
        snprintf(r->reflect_error, sizeof r->reflect_error, "no usable insight after %d "
                 "reflect tr%s: %s", r->nreflect, r->nreflect == 1 ? "y" : "ies",
                 r->reflect[r->nreflect - 1].error);
    return rc;
}

/* Verifies one candidate: the problem solved again (task verify, the gold
 * not sent) with the candidate added besides the retrieved insights; kept
 * (or merged) only when the grader says the answer is now right. */
static ag_code verify(const ag_chat *chat, const ag_pipeline_options *o, lib *l,
                      const ag_learn_input *p, ag_grade_fn grade, void *gctx,
                      volatile int *cancel, ag_candidate *c)
{
    ag_pipeline_options vo = *o;
    const lib_insight *one = &c->insight;
    vo.task = "verify";
    vo.extra = &one;
    vo.nextra = 1;
    c->verify = ag_pipeline_run(chat, &vo, p->id, p->text, cancel);
    if (!c->verify) return AG_ENOMEM;
    c->correct = grade(gctx, c->verify);
    if (!reached_llm(c->verify)) {
        c->verdict = AG_VERDICT_ERROR;
        snprintf(c->note, sizeof c->note, "not verified: the verify run ended with %s",
                 ag_outcome_name(c->verify->outcome));
        return AG_OK;
    }
    if (c->correct != 1) {
        c->verdict = c->correct == 0 ? AG_VERDICT_REJECTED : AG_VERDICT_ERROR;
        snprintf(c->note, sizeof c->note, "%s", c->correct == 0
                 ? "the answer with it is still wrong: rejected"
                 : "the verify run could not be graded");
        return AG_OK;
    }
    lib_insight keep = c->insight;   /* shallow: only src_* set here, restored below */
    if (!keep.src_dataset) keep.src_dataset = (char *)p->dataset;
    if (!keep.src_run) keep.src_run = (char *)p->run_uuid;
    if (!keep.src_model) keep.src_model = (char *)p->model;
    int merged = 0;
    lib_code lc = lib_add_verified(l, &keep, p->id, p->text, &c->id, &merged);
    if (lc != LIB_OK) {
        char m[200];
        lib_errmsg(l, m, sizeof m);
        c->verdict = AG_VERDICT_ERROR;
        snprintf(c->note, sizeof c->note, "fixed the problem but could not be stored: %s",
                 m[0] ? m : lib_strerror(lc));
        return AG_EIO;
    }
    c->verdict = merged ? AG_VERDICT_MERGED : AG_VERDICT_KEPT;
    snprintf(c->note, sizeof c->note, merged ? "fixed the problem; merged into insight %lld"
             : "fixed the problem; stored as insight %lld", (long long)c->id);
    return AG_OK;
}

ag_code ag_learn_problem(const ag_chat *chat, const ag_pipeline_options *o, lib *l,
                         const ag_learn_input *p, ag_grade_fn grade, void *gctx,
                         volatile int *cancel, ag_learn_record *r)
{
    memset(r, 0, sizeof *r);
    if (!chat || !o || !l || !p || !p->id || !p->text || !grade) return AG_EUSAGE;
    r->run = ag_pipeline_run(chat, o, p->id, p->text, cancel);
    if (!r->run) return AG_ENOMEM;
    ag_code rc = carried_ids(r->run, &r->carried, &r->ncarried);
    if (rc != AG_OK) return rc;
    r->correct = grade(gctx, r->run);
    /* No gold, or no answer because the LLM call failed or was cut short:
     * that says nothing about the insights or the modeling. */
    if (r->correct < 0 || !reached_llm(r->run)) return AG_OK;
    record_carried(l, r, p, r->correct ? LIB_STAT_POSITIVE : LIB_STAT_NEGATIVE);
    if (r->correct) return AG_OK;
    if ((rc = reflect(chat, l, p, cancel, r)) != AG_OK) return rc;
    for (size_t i = 0; i < r->ncands; i++) {
        if (cancel && *cancel) break;
        ag_code vc = verify(chat, o, l, p, grade, gctx, cancel, &r->cands[i]);
        if (vc == AG_ENOMEM) return vc;
        if (r->cands[i].verdict == AG_VERDICT_KEPT || r->cands[i].verdict == AG_VERDICT_MERGED)
            r->fixed = 1;
    }
    return AG_OK;
}

cJSON *ag_learn_record_json(const ag_learn_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "correct", r->correct);
    cJSON *c = cJSON_AddArrayToObject(o, "carried");
    for (size_t i = 0; i < r->ncarried; i++) cJSON_AddItemToArray(c, cJSON_CreateNumber((double)r->carried[i]));
    cJSON *t = cJSON_AddArrayToObject(o, "reflect");
    for (int i = 0; i < r->nreflect; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "try", i + 1);
        if (r->reflect[i].error[0]) cJSON_AddStringToObject(e, "error", r->reflect[i].error);
        cJSON_AddItemToArray(t, e);
    }
    if (r->reflect_error[0]) cJSON_AddStringToObject(o, "reflect_error", r->reflect_error);
    cJSON *cs = cJSON_AddArrayToObject(o, "candidates");
    for (size_t i = 0; i < r->ncands; i++) {
        const ag_candidate *k = &r->cands[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "verdict", ag_verdict_name(k->verdict));
        if (k->id) cJSON_AddNumberToObject(e, "insight", (double)k->id);
        if (k->verify) {
            cJSON_AddStringToObject(e, "verify_outcome", ag_outcome_name(k->verify->outcome));
            if (k->verify->has_objective) cJSON_AddNumberToObject(e, "verify_answer", k->verify->objective);
        }
        cJSON_AddStringToObject(e, "note", k->note);
        cJSON_AddItemToObject(e, "candidate", lib_insight_to_json(&k->insight));
        cJSON_AddItemToArray(cs, e);
    }
    cJSON_AddBoolToObject(o, "fixed", r->fixed);
    return o;
}
