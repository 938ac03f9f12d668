/* optagent batch: whole benchmark files through the agent, many problems in
 * flight, every finished problem committed to SQLite at once, a response
 * cache, replay, resume, shards, progress, and a clean stop on Ctrl-C. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "agent/cli/cli.h"
#include "agent/llm/llm.h"
#include "agent/eval/eval.h"
#include "agent/core/core.h"
#include "db/db.h"

#define MAX_FILES 256
#define MAX_JOBS 256
#define MAX_CALLS_PER_PROBLEM 64
#define MAX_CORRECTIONS 20
#define MAX_RECORDED_ATTEMPTS 96   /* the run's (32) and learn's reflect/verify ones */

static const char batch_usage[] =
    "usage: optagent batch FILE... [options]\n"
    "\n"
    "Runs every problem of the benchmark files through the agent and records\n"
    "each finished problem in a SQLite database at once.\n"
    "\n"
    "options:\n"
    "  --db FILE             results database (default optagent-runs.db)\n"
    "  --out FILE            also append one JSON line per finished problem\n"
    "  -j N                  problems in flight at once (default 8, at most 256)\n"
    "  --format F            auto (default), alphaopt, llmopt, optmath, optibench, plain\n"
    "  --resume RUN          continue run RUN (id or uuid): finished problems are kept\n"
    "  --shard K/N           only the problems of shard K of N (deterministic)\n"
    "  --limit N             only the first N problems (after sharding)\n"
    "  --match RULE          default | alphaopt | orlm | optibench (for the summary;\n"
    "                        optibench: every queried quantity, 1e-4 absolute)\n"
    "  --samples K           answer every problem K times, for pass@k (use a\n"
    "                        temperature above 0); ids are recorded as ID#1..ID#K\n"
    "  --no-cache            do not read or write the LLM response cache\n"
    "  --offline             answer only from the cache; a miss is an error\n"
    "  --llm replay:FILE     answer from recorded replies (no endpoint needed)\n"
    "  --max-corrections N   correction rounds after the first answer (default 3)\n"
    "  --time-limit S        solver time limit per attempt (seconds; default 60, 0 none)\n"
    "  --progress / --no-progress   force the progress display on or off\n"
    "  --library PATH        the experience library (default\n"
    "                        $XDG_DATA_HOME/optagent/library.db; none when absent)\n"
    "  --no-library          no insights in the prompts\n"
    "  --retrieve bm25|llm   how insights are chosen (llm: one check request more)\n"
    "  -k N                  at most N insights per problem (default 5)\n"
    "LLM endpoint: --base-url, --model, --api-key-file, --config, --temperature,\n"
    "  --max-tokens, --seed, --timeout (as for optagent ask)\n";

typedef struct {
    const ag_ds *ds;
    const ag_ds_problem *p;
    int sample;             /* 1..samples; 0 when one sample per problem */
} item;

typedef struct batch batch;

/* One LLM call as recorded with its problem. */
typedef struct {
    int round;
    char task[16];
    char key[DB_KEY_SIZE];
    int cached, http_status, attempts;
    long prompt_tokens, completion_tokens;
    double latency_ms;
    char *error;
} call_log;

typedef struct {
    batch *b;
    ag_llm *llm;
    ag_chat_cache cache;    /* the worker's backend: cache, then replay or the client */
    call_log calls[MAX_CALLS_PER_PROBLEM];
    int ncalls;
} worker;

struct batch {
    item *items;
    size_t nitems;
    db *db;
    int64_t run_id;
    char uuid[DB_UUID_SIZE];
    FILE *out;
    pthread_mutex_t out_lock;
    ag_pipeline_options po;
    ag_llm_config cfg;
    ag_replay *replay;
    lib *library;           /* NULL: none; one handle shared by the workers */
    char libpath[4096];
    char libhash[65];       /* lib_content_hash when the run started */
    int use_cache, offline;
    ag_match_rule rule;
    int samples;
    atomic_size_t next, done, correct, with_gold;
    atomic_size_t queries[AG_QUERY_COUNT];   /* graded queries by ag_eval_query_status */
    /* Set by the first failed write (db commit, --out, cache): no problem is
     * taken or recorded after it, and the run is not marked finished. */
    atomic_int write_failed;
    const char *dbpath, *outpath;
    atomic_long tokens;
    atomic_int exited;
    /* Set by the first LLM call that failed because the endpoint or model
     * is wrong (ag_llm_reply.endpoint_wrong): nothing more is sent, the
     * problems it cut are not recorded, and the run stops "interrupted". */
    atomic_int endpoint_failed;
    double t0;
    int jobs;
    const ag_batch_hook *hook;   /* learn: replaces the pipeline run (NULL: batch) */
    int argc;                    /* the command line, for the resume command */
    char **argv;
    int already_finished;        /* --resume of a finished run with nothing left */
};

static volatile sig_atomic_t interrupted;
static volatile int cancel_flag;

static volatile sig_atomic_t stop_signal;   /* SIGINT or SIGTERM: the exit status is 128 + it */

static void on_sigint(int sig)
{
    stop_signal = sig;
    interrupted = 1;
    cancel_flag = 1;
}

static double now_s(void) { return fm_clock_ms() / 1e3; }

/* Stops the batch after a failed write: says what failed (the message names
 * the file and the OS error) once, for the first failure only. */
static void batch_fail(batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void batch_fail(batch *b, const char *fmt, ...)
{
    if (atomic_exchange(&b->write_failed, 1)) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\noptagent: %s\n", line);
}

/* ---- what the chat backend tells: each call, into the worker's records ---- */

static void log_call(void *ctx, const ag_chat_call *call, const char *key, int cached,
                     ag_llm_code code, const ag_llm_reply *r)
{
    worker *w = ctx;
    if (w->ncalls == MAX_CALLS_PER_PROBLEM) return;
    call_log *c = &w->calls[w->ncalls++];
    memset(c, 0, sizeof *c);
    c->round = call->round;
    snprintf(c->task, sizeof c->task, "%s", call->task);
    if (key) snprintf(c->key, sizeof c->key, "%s", key);
    c->cached = cached;
    c->http_status = r ? r->http_status : 0;
    c->attempts = r ? r->attempts : 0;
    c->prompt_tokens = r ? r->prompt_tokens : -1;
    c->completion_tokens = r ? r->completion_tokens : -1;
    c->latency_ms = r ? r->latency_ms : 0;
    if (code != AG_LLM_OK) c->error = strdup(r && r->error ? r->error : ag_llm_strerror(code));
    if (r && r->endpoint_wrong && !atomic_exchange(&w->b->endpoint_failed, 1))
        fprintf(stderr, "\noptagent batch: %s\noptagent batch: stopping: every request would fail "
                        "the same way\n", r->error ? r->error : ag_llm_strerror(code));
}

/* A failed cache write stops the batch like any failed write. */
static void cache_failed(void *ctx, const char *why)
{
    worker *w = ctx;
    batch_fail(w->b, "%s: %s", w->b->dbpath, why);
}

/* ---- one problem ---- */

static char *gold_json(const ag_ds_problem *p)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "kind", ag_gold_kind_name(p->gold_kind));
    if (p->gold_kind == AG_GOLD_NUMBER) cJSON_AddNumberToObject(g, "value", p->gold);
    if (p->nquantities) {
        cJSON *q = cJSON_AddObjectToObject(g, "quantities");
        for (size_t i = 0; i < p->nquantities; i++)
            cJSON_AddNumberToObject(q, p->quantities[i].name, p->quantities[i].value);
    }
    char *s = cJSON_PrintUnformatted(g);
    cJSON_Delete(g);
    return s;
}

/* Judges the run against the problem's gold with the batch's rule. */
/* An attempt's messages as stored: the assistant message that repeats the
 * previous attempt's reply (already stored as that attempt's reply) is
 * written {"role":"assistant","content":null,"reply_of_round":K} instead of
 * a second copy of a possibly multi-megabyte reply. NULL when out of memory. */
static char *messages_for_db(const ag_run *run, int k)
{
    const ag_attempt *a = &run->attempts[k];
    const char *prev = k ? run->attempts[k - 1].reply : NULL;
    cJSON *arr = cJSON_CreateArray();
    const cJSON *m;
    cJSON_ArrayForEach(m, a->messages) {
        const cJSON *c = cJSON_GetObjectItem(m, "content");
        if (prev && cJSON_IsString(c) && c->valuestring == prev) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "role", "assistant");
            cJSON_AddNullToObject(o, "content");
            cJSON_AddNumberToObject(o, "reply_of_round", run->attempts[k - 1].round);
            cJSON_AddItemToArray(arr, o);
        } else {
            cJSON_AddItemToArray(arr, cJSON_CreateObjectReference(m->child));
        }
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

/* The run's answer attempt (the last, unless a query correction ended
 * worse than a solved one), or NULL. */
static const ag_attempt *answer_attempt(const ag_run *run)
{
    if (!run->nattempts) return NULL;
    return &run->attempts[run->answer >= 0 && run->answer < run->nattempts ? run->answer
                                                                           : run->nattempts - 1];
}

/* How a problem's queries fared (--match optibench): status[i] is that of
 * p->quantities[i]; n is 0 when they were not graded. */
typedef struct {
    ag_eval_query_status status[AG_EVAL_MAX_QUANTITIES];
    size_t n;
} graded_queries;

/* Judges the run against the problem's gold with the batch's rule (the
 * gold as it is stored, graded as eval grades it: ag_eval_gold_from_json).
 * 1 correct, 0 not, -1 no gold; gq_out (may be NULL) gets the queries. */
static int judge(const batch *b, const ag_ds_problem *p, const ag_run *run,
                 ag_eval_category *cat, graded_queries *gq_out)
{
    ag_eval_quantity gq[AG_EVAL_MAX_QUANTITIES], rq[AG_EVAL_MAX_REPORTED];
    ag_eval_item it;
    memset(&it, 0, sizeof it);
    it.dataset = p->dataset ? p->dataset : "";
    it.id = p->id;
    it.outcome = run->outcome;
    it.has_answer = run->has_objective;
    it.answer = run->objective;
    it.latency_ms = run->latency_ms;
    it.proven = run->proven;
    char *gs = gold_json(p);
    cJSON *g = gs ? cJSON_Parse(gs) : NULL;
    free(gs);
    ag_eval_gold_from_json(g, b->rule, gq, AG_EVAL_MAX_QUANTITIES, &it.gold);
    const ag_attempt *ans = answer_attempt(run);
    it.nreported = ag_eval_reported_from_json(ans ? ans->result : NULL, rq, AG_EVAL_MAX_REPORTED,
                                              &it.answer_name);
    it.reported = rq;
    if (ag_eval_judge(b->rule, &it, cat) != 0) *cat = AG_CAT_NO_GOLD;
    if (gq_out) {
        ag_eval_query q[AG_EVAL_MAX_QUANTITIES];
        gq_out->n = 0;
        if (ag_eval_grade_queries(b->rule, &it, q, AG_EVAL_MAX_QUANTITIES) >= 0)
            for (size_t i = 0; i < it.gold.nquantities; i++) gq_out->status[gq_out->n++] = q[i].status;
    }
    cJSON_Delete(g);
    if (*cat == AG_CAT_NO_GOLD) return -1;
    return *cat == AG_CAT_CORRECT;
}

/* ---- learn: the hook's grader (batch's judge with the --match rule) ---- */
typedef struct { const batch *b; const ag_ds_problem *p; } grade_ctx;

static int grade_run(void *ctx, const ag_run *run)
{
    const grade_ctx *g = ctx;
    ag_eval_category cat;
    return judge(g->b, g->p, run, &cat, NULL);
}

/* Writes and flushes the problem's --out line; 1 when written, 0 when the
 * batch is stopping (this write or an earlier one failed). */
static int write_out_line(worker *w, const db_problem_record *rec, const ag_run *run,
                          ag_eval_category cat, const char *gold, const ag_ds_problem *p,
                          const graded_queries *gq)
{
    batch *b = w->b;
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "run", b->uuid);
    cJSON_AddStringToObject(line, "dataset", rec->dataset);
    cJSON_AddStringToObject(line, "id", rec->problem_id);
    cJSON_AddStringToObject(line, "outcome", rec->outcome);
    cJSON_AddStringToObject(line, "category", ag_eval_category_name(cat));
    if (run->has_objective) cJSON_AddNumberToObject(line, "answer", run->objective);
    else cJSON_AddNullToObject(line, "answer");
    cJSON_AddBoolToObject(line, "proven", run->outcome == AG_OUTCOME_OK && run->proven);
    cJSON_AddItemToObject(line, "gold", cJSON_Parse(gold));
    cJSON_AddNumberToObject(line, "attempts", run->nattempts);
    cJSON_AddNumberToObject(line, "llm_calls", w->ncalls);
    cJSON_AddNumberToObject(line, "prompt_tokens", (double)run->prompt_tokens);
    cJSON_AddNumberToObject(line, "completion_tokens", (double)run->completion_tokens);
    if (run->retrieval.refs) cJSON_AddStringToObject(line, "insights", run->retrieval.refs);
    if (gq->n) {   /* --match optibench: each query's fate, by name */
        cJSON *q = cJSON_AddObjectToObject(line, "queries");
        for (size_t i = 0; i < gq->n && i < p->nquantities; i++)
            cJSON_AddStringToObject(q, p->quantities[i].name, ag_eval_query_status_name(gq->status[i]));
    }
    char *s = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (s && ag_utf8_fix(&s) != 0) { free(s); s = NULL; }
    if (!s) { batch_fail(b, "%s: out of memory building a line", b->outpath); return 0; }
    pthread_mutex_lock(&b->out_lock);
    int bad = 0, e = 0;
    if (!atomic_load(&b->write_failed)) {
        errno = 0;
        bad = fputs(s, b->out) == EOF || fputc('\n', b->out) == EOF || fflush(b->out) == EOF;
        e = errno;
    }
    int stopped = atomic_load(&b->write_failed);
    pthread_mutex_unlock(&b->out_lock);
    free(s);
    if (bad) {
        batch_fail(b, "%s: cannot write the results file: %s", b->outpath, strerror(e ? e : EIO));
        return 0;
    }
    return !stopped;
}

/* Writes the problem's --out line and commits it; 1 when recorded, 0 when a
 * write failed (the batch is then stopping). */
static int record(worker *w, const item *x, const ag_run *run, const ag_batch_outcome *bo,
                  double llm_ms)
{
    batch *b = w->b;
    const ag_ds_problem *p = x->p;
    ag_eval_category cat;
    graded_queries gq;
    int correct = judge(b, p, run, &cat, &gq);
    char *gold = gold_json(p);
    cJSON *full = ag_run_json(run);
    cJSON *result = cJSON_DetachItemFromObject(full, "result");
    if (result && !cJSON_GetObjectItem(result, "proven"))   /* the record says how sure */
        cJSON_AddBoolToObject(result, "proven", run->outcome == AG_OUTCOME_OK && run->proven);
    /* ---- learn: the learning record joins the result ---- */
    if (bo && bo->note) {
        if (!result) result = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(result, "learning", bo->note);
    }
    char *result_s = result ? cJSON_PrintUnformatted(result) : NULL;
    cJSON_Delete(result);

    db_attempt_record at[MAX_RECORDED_ATTEMPTS];
    char *msgs[MAX_RECORDED_ATTEMPTS] = { 0 }, *res[MAX_RECORDED_ATTEMPTS] = { 0 };
    size_t na = 0;
    for (int k = 0; k < run->nattempts && na < 32; k++, na++) {
        const ag_attempt *a = &run->attempts[k];
        msgs[na] = a->messages ? messages_for_db(run, k) : NULL;
        res[na] = a->result ? cJSON_PrintUnformatted(a->result) : NULL;
        at[na] = (db_attempt_record){
            .round = a->round, .stage = a->stage, .outcome = ag_outcome_name(a->outcome),
            .messages_json = msgs[na], .reply = a->reply, .formulation = a->formulation,
            .result_json = res[na], .feedback = a->feedback,
            .prompt_tokens = a->prompt_tokens, .completion_tokens = a->completion_tokens,
            .latency_ms = a->latency_ms, .insights = a->insights };
    }
    /* ---- learn: reflect and verify exchanges after the run's rounds ---- */
    int next_round = na ? at[na - 1].round + 1 : 0;
    for (size_t k = 0; bo && k < bo->nextra && na < MAX_RECORDED_ATTEMPTS; k++, na++) {
        const ag_attempt *a = &bo->extra[k];
        msgs[na] = a->messages ? cJSON_PrintUnformatted(a->messages) : NULL;
        res[na] = a->result ? cJSON_PrintUnformatted(a->result) : NULL;
        at[na] = (db_attempt_record){
            .round = next_round++, .stage = a->stage, .outcome = ag_outcome_name(a->outcome),
            .messages_json = msgs[na], .reply = a->reply, .formulation = a->formulation,
            .result_json = res[na], .feedback = a->feedback,
            .prompt_tokens = a->prompt_tokens, .completion_tokens = a->completion_tokens,
            .latency_ms = a->latency_ms, .insights = a->insights };
    }
    db_llm_call_record calls[MAX_CALLS_PER_PROBLEM];
    for (int i = 0; i < w->ncalls; i++) {
        call_log *c = &w->calls[i];
        calls[i] = (db_llm_call_record){
            .round = c->round, .task = c->task, .model = b->replay ? "replay" : b->cfg.model,
            .cache_key = *c->key ? c->key : NULL, .cached = c->cached, .http_status = c->http_status,
            .attempts = c->attempts, .prompt_tokens = c->prompt_tokens,
            .completion_tokens = c->completion_tokens, .latency_ms = c->latency_ms, .error = c->error };
    }
    char sid[600];
    if (x->sample) snprintf(sid, sizeof sid, "%s#%d", p->id, x->sample);
    else snprintf(sid, sizeof sid, "%s", p->id);
    db_problem_record rec = {
        .run_id = b->run_id, .dataset = p->dataset ? p->dataset : "", .problem_id = sid,
        .question = p->question, .gold_json = gold, .status = "done",
        .outcome = ag_outcome_name(run->outcome), .has_answer = run->has_objective,
        .answer = run->objective, .correct = correct, .result_json = result_s,
        .attempt_count = run->nattempts, .llm_call_count = w->ncalls,
        .prompt_tokens = run->prompt_tokens, .completion_tokens = run->completion_tokens,
        .llm_ms = llm_ms, .solve_ms = run->solve_ms,
        .attempts = at, .nattempts = na, .calls = calls, .ncalls = (size_t)w->ncalls };
    /* The --out line is written (and flushed) first and the problem is
     * committed only after it: a problem is in the db only when its line
     * reached the file, and a resume drops the lines of problems that are not
     * in the db (out_rewrite), so each problem ends up once in both. */
    int ok = 0;
    if (b->out && !write_out_line(w, &rec, run, cat, gold, p, &gq)) goto done;
    if (atomic_load(&b->write_failed)) goto done;
    db_code dc = db_problem_record_add(b->db, &rec);
    if (dc != DB_OK && dc != DB_ECONSTRAINT) {
        char err[512];
        db_errmsg(b->db, err, sizeof err);
        batch_fail(b, "%s: could not record %s/%s: %s (%s)", b->dbpath, rec.dataset, sid,
                   db_strerror(dc), err);
        goto done;
    }
    ok = 1;
    if (ag_cli_verbosity() > 0)
        fprintf(stderr, "%soptagent: %s%s%s: %s (%s, %d attempt%s)%s\n", isatty(2) ? "\r" : "", rec.dataset,
                *rec.dataset ? "/" : "", sid, ag_eval_category_name(cat), rec.outcome, run->nattempts,
                run->nattempts == 1 ? "" : "s", isatty(2) ? "\033[K" : "");
    if (correct >= 0) {
        atomic_fetch_add(&b->with_gold, 1);
        if (correct) atomic_fetch_add(&b->correct, 1);
    }
    for (size_t k = 0; k < gq.n; k++) atomic_fetch_add(&b->queries[gq.status[k]], 1);
    atomic_fetch_add(&b->tokens, (run->prompt_tokens > 0 ? run->prompt_tokens : 0)
                     + (run->completion_tokens > 0 ? run->completion_tokens : 0));
done:
    for (size_t i = 0; i < na; i++) { free(msgs[i]); free(res[i]); }
    free(result_s);
    cJSON_Delete(full);
    free(gold);
    return ok;
}

static void *work(void *arg)
{
    worker *w = arg;
    batch *b = w->b;
    w->cache = (ag_chat_cache){
        .db = b->db, .cfg = &b->cfg, .use = b->use_cache && !b->replay,
        .offline = b->offline && !b->replay,
        .inner = b->replay ? ag_chat_replay(b->replay) : ag_chat_direct(w->llm),
        .observe = log_call, .failed = cache_failed, .ctx = w };
    ag_chat chat = ag_chat_cached(&w->cache);
    for (;;) {
        if (interrupted || atomic_load(&b->write_failed) || atomic_load(&b->endpoint_failed)) break;
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->nitems) break;
        const item *x = &b->items[i];
        w->ncalls = 0;
        w->cache.sample = x->sample;
        double t0 = now_s();
        ag_batch_outcome bo = { 0 };
        ag_run *run;
        /* The problem's queries (names only) go into its prompts. */
        const char *queries[AG_MAX_QUERIES];
        ag_pipeline_options po = b->po;
        po.nqueries = 0;
        for (size_t q = 0; q < x->p->nquantities && po.nqueries < AG_MAX_QUERIES; q++)
            queries[po.nqueries++] = x->p->quantities[q].name;
        po.queries = po.nqueries ? queries : NULL;
        if (b->hook) {   /* ---- learn: the hook solves (and learns) ---- */
            grade_ctx g = { b, x->p };
            b->hook->solve(b->hook->ctx, &chat, &po, x->p, b->uuid,
                           b->replay ? "replay" : b->cfg.model, grade_run, &g, &cancel_flag, &bo);
            run = bo.run;
        } else {
            run = ag_pipeline_run(&chat, &po, x->p->id, x->p->question, &cancel_flag);
        }
        double ms = (now_s() - t0) * 1e3;
        /* A problem cut short by Ctrl-C (its LLM call or its solve) is not
         * finished: it is redone on --resume. */
        int cut = interrupted && run && (run->outcome == AG_OUTCOME_LLM_ERROR ||
                                         run->outcome == AG_OUTCOME_INTERRUPTED || bo.incomplete);
        if (atomic_load(&b->endpoint_failed) && run && run->outcome == AG_OUTCOME_LLM_ERROR) cut = 1;
        if (run && !cut && record(w, x, run, b->hook ? &bo : NULL, run->latency_ms))
            atomic_fetch_add(&b->done, 1);
        (void)ms;
        for (int k = 0; k < w->ncalls; k++) free(w->calls[k].error);
        w->ncalls = 0;
        if (b->hook) b->hook->done(b->hook->ctx, &bo);
        else ag_run_free(run);
    }
    atomic_fetch_add(&b->exited, 1);
    return NULL;
}

/* ---- progress ---- */

static void format_eta(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) { snprintf(buf, len, "--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

/* The terminal's width in columns: TIOCGWINSZ on stderr, else $COLUMNS,
 * else 80 (a pipe or a terminal that does not say). */
static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long n = c ? strtol(c, NULL, 10) : 0;
    return n > 0 && n < 10000 ? (int)n : 80;
}

/* The progress line for a terminal of cols columns, at most cols - 1
 * characters so it never wraps (a wrapped line is not rewritten by \r).
 * At 80 columns everything fits; narrower, the bar shrinks (30 cells down
 * to 10), then the rate goes, then the accuracy; when even then no bar
 * fits, the bar goes and the rest is cut in the same order, then the ETA.
 * The count always stays. */
static void progress_line(char *line, size_t len, int cols, size_t done, size_t total, size_t ok,
                          const char *acc, double rate, const char *eta)
{
    char parts[4][96];
    snprintf(parts[0], sizeof parts[0], "%zu/%zu", done, total);
    snprintf(parts[1], sizeof parts[1], "  correct %zu (%s)", ok, acc);
    snprintf(parts[2], sizeof parts[2], "  %.2f/s", rate);
    snprintf(parts[3], sizeof parts[3], "  ETA %s", eta);
    static const int drop_order[] = { 2, 1, 3 };   /* rate, accuracy, ETA */
    int avail = cols - 1, keep[4] = { 1, 1, 1, 1 }, textw = 0, width = 0;
    for (int i = 0; i < 4; i++) textw += (int)strlen(parts[i]);
    for (int i = 0; i <= 2; i++) {   /* the bar (10 cells and "[] ") with the fewest cuts */
        if (textw + 13 <= avail) { width = avail - textw - 3; break; }
        if (i == 2) break;
        keep[drop_order[i]] = 0;
        textw -= (int)strlen(parts[drop_order[i]]);
    }
    if (!width) {   /* no bar: cut until the text fits */
        for (int i = 0; i < 4; i++) keep[i] = 1;
        textw = 0;
        for (int i = 0; i < 4; i++) textw += (int)strlen(parts[i]);
        for (int i = 0; i < 3 && textw > avail; i++) {
            keep[drop_order[i]] = 0;
            textw -= (int)strlen(parts[drop_order[i]]);
        }
    }
    if (width > 30) width = 30;
    size_t o = 0;
    if (width >= 10) {
        int fill = total ? (int)((double)width * (double)done / (double)total) : width;
        line[o++] = '[';
        for (int i = 0; i < width; i++) line[o++] = i < fill ? '#' : '-';
        line[o++] = ']';
        line[o++] = ' ';
    }
    line[o] = 0;
    for (int i = 0; i < 4; i++)
        if (keep[i] && o < len) o += (size_t)snprintf(line + o, len - o, "%s", parts[i]);
    if (avail > 0 && strlen(line) > (size_t)avail) line[avail] = 0;   /* a very narrow terminal */
}

static void progress(batch *b, size_t total, int tty, int final)
{
    size_t done = atomic_load(&b->done), ok = atomic_load(&b->correct), wg = atomic_load(&b->with_gold);
    double el = now_s() - b->t0, rate = el > 0 ? done / el : 0;
    char eta[32];
    format_eta(rate > 0 ? (total - done) / rate : NAN, eta, sizeof eta);
    char acc[32] = "-";
    if (wg) snprintf(acc, sizeof acc, "%.1f%%", 100.0 * ok / wg);
    if (tty) {
        char line[512];
        progress_line(line, sizeof line, term_columns(), done, total, ok, acc, rate, eta);
        fprintf(stderr, "\r%s\033[K", line);   /* \033[K: clear what a longer line left */
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "optagent: %zu/%zu done, %zu correct (%s), %.2f problems/s, ETA %s\n", done,
                total, ok, acc, rate, eta);
    }
    fflush(stderr);
}

/* ---- the command ---- */

static int parse_shard(const char *s, int *k, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (*end != '/') return -1;
    long c = strtol(end + 1, &end, 10);
    if (*end || c < 1 || c > 100000 || a < 1 || a > c) return -1;
    *k = (int)a; *n = (int)c;
    return 0;
}

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = a; *p; p++) { h ^= (unsigned char)*p; h *= 1099511628211ULL; }
    h ^= 0x1f; h *= 1099511628211ULL;
    for (const char *p = b; *p; p++) { h ^= (unsigned char)*p; h *= 1099511628211ULL; }
    return h;
}

/* SHA-256 of a file's bytes as hex into hex; -1 with errno when it cannot
 * be read. Streams: any size. */
static int file_sha256(const char *path, char hex[DB_KEY_SIZE])
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    db_sha256_ctx c;
    db_sha256_init(&c);
    unsigned char buf[65536], d[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) db_sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) { errno = EIO; return -1; }
    db_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* What decides the answers of a run, stored with it and compared on
 * --resume (check_resume): endpoint and sampling, corrections, match rule,
 * samples, format, time limit, shard, and each input file's name and
 * SHA-256 (its content: the same name with other problems is refused);
 * the experience library used ({"path", "sha256": lib_content_hash} or
 * "none") with "retrieve" and "k". */
static char *config_json(const batch *b, const char *const *files, int nfiles, const char *shard,
                         const char *const *hashes, ag_ds_format fmt)
{
    cJSON *o = cJSON_CreateObject();
    if (b->replay) cJSON_AddStringToObject(o, "llm", "replay");
    else {
        cJSON_AddStringToObject(o, "base_url", b->cfg.base_url ? b->cfg.base_url : "");
        cJSON_AddStringToObject(o, "model", b->cfg.model ? b->cfg.model : "");
        cJSON_AddNumberToObject(o, "temperature", b->cfg.temperature);
        cJSON_AddNumberToObject(o, "max_tokens", b->cfg.max_tokens);
        cJSON_AddNumberToObject(o, "seed", (double)b->cfg.seed);
    }
    cJSON_AddNumberToObject(o, "max_corrections", b->po.max_corrections);
    cJSON_AddStringToObject(o, "match", ag_eval_rule_name(b->rule));
    cJSON_AddNumberToObject(o, "samples", b->samples);
    cJSON_AddStringToObject(o, "format", ag_ds_format_name(fmt));
    if (b->po.solve.time_limit_s > 0) cJSON_AddNumberToObject(o, "time_limit", b->po.solve.time_limit_s);
    if (shard) cJSON_AddStringToObject(o, "shard", shard);
    if (b->library) {
        cJSON *l = cJSON_AddObjectToObject(o, "library");
        cJSON_AddStringToObject(l, "path", b->libpath);
        cJSON_AddStringToObject(l, "sha256", b->libhash);
        cJSON_AddStringToObject(o, "retrieve", b->po.retrieve_llm ? "llm" : "bm25");
        cJSON_AddNumberToObject(o, "k", (double)(b->po.retrieve_k ? b->po.retrieve_k : LIB_DEFAULT_K));
    } else {
        cJSON_AddStringToObject(o, "library", "none");
    }
    cJSON *fl = cJSON_AddArrayToObject(o, "files");
    cJSON *hl = cJSON_AddArrayToObject(o, "files_sha256");
    for (int i = 0; i < nfiles; i++) {
        const char *base = strrchr(files[i], '/');
        cJSON_AddItemToArray(fl, cJSON_CreateString(base ? base + 1 : files[i]));
        cJSON_AddItemToArray(hl, cJSON_CreateString(hashes[i] ? hashes[i] : ""));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Keys added after runs stored every key: a run from an older build lacks
 * them, and that is no difference. */
static int later_key(const char *name)
{
    return !strcmp(name, "retrieve") || !strcmp(name, "k");
}

/* Compares the stored config of the run being resumed with this
 * invocation's. Keys the stored config lacks (runs made by older builds)
 * are not compared; "shard" always is. "library" is left to
 * library_changed: learning changes the library between the two. Returns 0
 * when they agree, else -1 with the differences ("model: the run has "a",
 * this invocation "b"; ...") in why. */
static int check_resume(const char *stored, const char *now, char *why, size_t len)
{
    cJSON *a = cJSON_Parse(stored ? stored : "{}"), *c = cJSON_Parse(now ? now : "{}");
    size_t o = 0;
    why[0] = 0;
    int rc = 0;
    if (!a || !c) { rc = -1; snprintf(why, len, "the run's configuration cannot be read"); goto out; }
    const cJSON *k;
    /* A run made by this build stores every key, so a key only one side has
     * is a difference; an older run stored fewer, and only "shard" counts. */
    int complete = cJSON_GetObjectItemCaseSensitive(a, "files_sha256") != NULL;
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *side = pass ? c : a;
        cJSON_ArrayForEach(k, side) {
            const char *name = k->string;
            const cJSON *was = pass ? cJSON_GetObjectItemCaseSensitive(a, name) : k;
            const cJSON *v = pass ? k : cJSON_GetObjectItemCaseSensitive(c, name);
            if (!strcmp(name, "library")) continue;
            if (pass && (was || later_key(name) || (!complete && strcmp(name, "shard")))) continue;
            if (!pass && v && cJSON_Compare(was, v, 1)) continue;
            char *ws = was ? cJSON_PrintUnformatted(was) : NULL, *vs = v ? cJSON_PrintUnformatted(v) : NULL;
            if (o < len)
                o += (size_t)snprintf(why + o, len - o, "%s%s: the run has %.200s, this invocation %.200s",
                                      rc ? "; " : "", name, ws ? ws : "none", vs ? vs : "none");
            free(ws);
            free(vs);
            rc = -1;
        }
    }
out:
    cJSON_Delete(a);
    cJSON_Delete(c);
    return rc;
}

/* On --resume: the library the run started with ("library" of its stored
 * config; absent in runs from older builds) against this invocation's. A
 * difference is said, not refused: learning changes the library while a
 * run waits, and the problems left are answered with the library as it is
 * now (their attempts record the ids@versions they carried). The stored
 * config keeps the library the run started with. */
static void library_changed(const char *resume, const char *stored, const char *now)
{
    cJSON *a = cJSON_Parse(stored ? stored : "{}"), *c = cJSON_Parse(now ? now : "{}");
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(a, "library");
    const cJSON *is = cJSON_GetObjectItemCaseSensitive(c, "library");
    if (is && !cJSON_Compare(was, is, 1)) {
        char *ws = was ? cJSON_PrintUnformatted(was) : NULL, *is_s = cJSON_PrintUnformatted(is);
        fprintf(stderr, "optagent: warning: --resume %s: the run started with library %.600s, this "
                        "invocation uses %.600s; the problems left are answered with this one\n",
                resume, ws ? ws : "(not recorded)", is_s ? is_s : "?");
        free(ws);
        free(is_s);
    }
    cJSON_Delete(a);
    cJSON_Delete(c);
}

/* Locks run run_id against a second optagent resuming it at the same time:
 * a POSIX record lock on byte run_id of DBPATH.lock. The kernel drops it
 * when the process ends, even by kill -9, so a lock is never stale; it is
 * meant for a database on a local file system (shards on other machines use
 * their own databases and are joined with merge). Returns the descriptor
 * (keep it open while working), -1 when another process holds the lock
 * (*holder its pid, or 0), or -2 with errno when the lock file failed. */
static int run_lock(const char *dbpath, int64_t run_id, long *holder)
{
    char path[4200];
    *holder = 0;
    if ((size_t)snprintf(path, sizeof path, "%s.lock", dbpath) >= sizeof path) { errno = ENAMETOOLONG; return -2; }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -2;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)run_id;
    fl.l_len = 1;
    if (fcntl(fd, F_SETLK, &fl) == 0) return fd;
    int e = errno;
    if (e == EACCES || e == EAGAIN) {
        struct flock q = fl;
        if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK) *holder = (long)q.l_pid;
        close(fd);
        return -1;
    }
    close(fd);
    errno = e;
    return -2;
}

/* Key of one --out line for the duplicate check. */
static uint64_t line_key(const char *ds, const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = ds; *p; p++) { h ^= (unsigned char)*p; h *= 1099511628211ULL; }
    h ^= 0x1f; h *= 1099511628211ULL;
    for (const char *p = id; *p; p++) { h ^= (unsigned char)*p; h *= 1099511628211ULL; }
    return h ? h : 1;
}

/* A set of 64-bit keys (open addressing, 0 is free). */
typedef struct { uint64_t *v; size_t cap, n; } keyset;

/* Adds k; 1 when it was new, 0 when present, -1 when out of memory. */
static int keyset_add(keyset *s, uint64_t k)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *nv = calloc(nc, sizeof *nv);
        if (!nv) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) { size_t h = s->v[i] % nc; while (nv[h]) h = (h + 1) % nc; nv[h] = s->v[i]; }
        free(s->v);
        s->v = nv;
        s->cap = nc;
    }
    size_t h = k % s->cap;
    while (s->v[h] && s->v[h] != k) h = (h + 1) % s->cap;
    if (s->v[h]) return 0;
    s->v[h] = k;
    s->n++;
    return 1;
}

static int keyset_has(const keyset *s, uint64_t k)
{
    if (!s->cap) return 0;
    size_t h = k % s->cap;
    while (s->v[h] && s->v[h] != k) h = (h + 1) % s->cap;
    return s->v[h] != 0;
}

/* On --resume: rewrites the --out file so that each problem of this run that
 * the db holds has exactly one line (the first; later duplicates go), and
 * lines of this run's problems that were not committed (cut short by a full
 * disk) and a torn last line go. Lines of other runs (another "run" uuid, or
 * no uuid and a problem this run does not have) are kept: a 64-bit key
 * collision could drop one, at 2^-64 per pair. Written to PATH.tmp, synced
 * and renamed over PATH. Returns 0 or -1 (message printed, naming the
 * file). A missing file is fine. */
static int out_rewrite(batch *b)
{
    struct stat st;
    /* only a regular file is rewritten: renaming over /dev/null, a FIFO or a
     * terminal would replace the device itself (as root) */
    if (stat(b->outpath, &st) == 0 && !S_ISREG(st.st_mode)) return 0;
    FILE *in = fopen(b->outpath, "r");
    if (!in) {
        if (errno == ENOENT) return 0;
        fprintf(stderr, "optagent: %s: %s\n", b->outpath, strerror(errno));
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", b->outpath);
    FILE *out = fopen(tmp, "w");
    int rc = -1;
    char *line = NULL;
    size_t cap = 0;
    keyset seen = { 0 }, left = { 0 };
    if (!out) { fprintf(stderr, "optagent: %s: %s\n", tmp, strerror(errno)); goto out; }
    /* b->items holds the problems still to do: their lines are stale */
    for (size_t i = 0; i < b->nitems; i++) {
        const ag_ds_problem *p = b->items[i].p;
        char sid[600];
        if (b->items[i].sample) snprintf(sid, sizeof sid, "%s#%d", p->id, b->items[i].sample);
        else snprintf(sid, sizeof sid, "%s", p->id);
        if (keyset_add(&left, line_key(p->dataset ? p->dataset : "", sid)) < 0) {
            fprintf(stderr, "optagent: out of memory\n");
            goto out;
        }
    }
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] != '\n') break;                 /* torn last line */
        cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
        const char *ds = cJSON_GetStringValue(cJSON_GetObjectItem(j, "dataset"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
        const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(j, "run"));
        int keep = 1, done = 0;
        if (!ds || !id) keep = 0;
        else if (!run || !strcmp(run, b->uuid)) {
            uint64_t k = line_key(ds, id);
            if (db_problem_done(b->db, b->run_id, ds, id, &done) == DB_OK && done) {
                int r = keyset_add(&seen, k);
                if (r < 0) { cJSON_Delete(j); fprintf(stderr, "optagent: out of memory\n"); goto out; }
                keep = r;
            } else {
                keep = !run && !keyset_has(&left, k);
            }
        }
        cJSON_Delete(j);
        if (keep && fwrite(line, 1, (size_t)n, out) != (size_t)n) {
            fprintf(stderr, "optagent: %s: %s\n", tmp, strerror(errno));
            goto out;
        }
    }
    if (ferror(in)) { fprintf(stderr, "optagent: %s: read error\n", b->outpath); goto out; }
    if (fflush(out) == EOF || fsync(fileno(out)) != 0) {
        fprintf(stderr, "optagent: %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    int e = fclose(out);
    out = NULL;
    if (e == EOF) { fprintf(stderr, "optagent: %s: %s\n", tmp, strerror(errno)); goto out; }
    if (rename(tmp, b->outpath) != 0) {
        fprintf(stderr, "optagent: %s: cannot replace it: %s\n", b->outpath, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (out) { fclose(out); remove(tmp); }
    if (rc && !out) remove(tmp);
    fclose(in);
    free(line);
    free(seen.v);
    free(left.v);
    return rc;
}

/* Syncs and closes --out; a failure stops the run like a failed write. */
static void out_close(batch *b)
{
    if (!b->out) return;
    /* a device or pipe (/dev/null, a FIFO) cannot be synced: EINVAL is not a
     * lost write */
    int bad = fflush(b->out) == EOF || (fsync(fileno(b->out)) != 0 && errno != EINVAL &&
                                        errno != EROFS && errno != ENOTSUP);
    int e = errno;
    if (fclose(b->out) == EOF && !bad) { bad = 1; e = errno; }
    b->out = NULL;
    if (bad) batch_fail(b, "%s: cannot write the results file: %s", b->outpath, strerror(e));
}

/* What the command line says beyond the batch's own fields. */
typedef struct {
    ag_llm_flags flags;
    ag_library_flags lib;
    const char *files[MAX_FILES];
    int nfiles;
    int progress_mode;        /* -1: a progress bar when stderr is a terminal */
    int time_limit_flag;      /* --time-limit given: OPTAGENT_TIME_LIMIT is ignored */
    const char *dbpath, *outpath, *resume, *shard, *llm;
    ag_ds_format fmt;
    long limit;
    int k_shard, n_shard;
    const char *hashes[MAX_FILES];   /* SHA-256 of each file; NULL for "-" */
} batch_opts;

/* Parses the command line into b and o. Returns -1 to go on, or the exit
 * code (--help, a usage error). */
static int batch_args(int argc, char **argv, batch *b, batch_opts *o)
{
    enum { OPT_DB = 0x100, OPT_OUT, OPT_FORMAT, OPT_RESUME, OPT_SHARD, OPT_LIMIT, OPT_MATCH,
           OPT_SAMPLES, OPT_NO_CACHE, OPT_OFFLINE, OPT_LLM, OPT_MAX_CORR, OPT_TIME_LIMIT,
           OPT_PROGRESS, OPT_NO_PROGRESS };
    struct option longopts[32] = {
        { "help", no_argument, NULL, 'h' }, { "db", required_argument, NULL, OPT_DB },
        { "out", required_argument, NULL, OPT_OUT }, { "format", required_argument, NULL, OPT_FORMAT },
        { "resume", required_argument, NULL, OPT_RESUME }, { "shard", required_argument, NULL, OPT_SHARD },
        { "limit", required_argument, NULL, OPT_LIMIT }, { "match", required_argument, NULL, OPT_MATCH },
        { "samples", required_argument, NULL, OPT_SAMPLES }, { "no-cache", no_argument, NULL, OPT_NO_CACHE },
        { "offline", no_argument, NULL, OPT_OFFLINE }, { "llm", required_argument, NULL, OPT_LLM },
        { "max-corrections", required_argument, NULL, OPT_MAX_CORR },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
        { "progress", no_argument, NULL, OPT_PROGRESS }, { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    };
    size_t nl = ag_args_library_options(longopts + 16, 3);
    ag_args_llm_options(longopts + 16 + nl, 12);   /* the last entry stays {0} */
    ag_args args = { "batch", argc, argv, "hj:" AG_LIBRARY_SHORTOPTS, longopts, 0, 0, 0, 0 };
    const char *v;
    long n;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        int lr = ag_arg_library("batch", &o->lib, c, v);
        if (lr < 0) return EXIT_USAGE;
        if (lr) continue;
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(batch_usage, stdout); return EXIT_SOLVED;
        case OPT_NO_CACHE: b->use_cache = 0; break;
        case OPT_OFFLINE: b->offline = 1; break;
        case OPT_PROGRESS: o->progress_mode = 1; break;
        case OPT_NO_PROGRESS: o->progress_mode = 0; break;
        case OPT_DB: o->dbpath = v; break;
        case OPT_OUT: o->outpath = v; break;
        case OPT_RESUME: o->resume = v; break;
        case OPT_LLM:
            if (strncmp(v, "replay:", 7))
                return ag_usage_error("batch", "--llm takes replay:FILE.jsonl, got '%s'", v);
            o->llm = v;
            break;
        case OPT_FORMAT:
            if (ag_ds_format_parse(v, &o->fmt) != 0) return ag_usage_error("batch", "unknown --format '%s'", v);
            break;
        case OPT_MATCH:
            if (ag_eval_rule_parse(v, &b->rule) != 0)
                return ag_usage_error("batch", "unknown --match '%s' (default, alphaopt, orlm, optibench)", v);
            break;
        case OPT_SHARD:
            if (parse_shard(v, &o->k_shard, &o->n_shard) != 0)
                return ag_usage_error("batch", "--shard is K/N with 1 <= K <= N, got '%s'", v);
            o->shard = v;
            break;
        case 'j':
            if (ag_arg_long("batch", "-j", v, 1, MAX_JOBS, &n)) return EXIT_USAGE;
            b->jobs = (int)n;
            break;
        case OPT_SAMPLES:
            if (ag_arg_long("batch", "--samples", v, 1, 100, &n)) return EXIT_USAGE;
            b->samples = (int)n;
            break;
        case OPT_LIMIT:
            if (ag_arg_long("batch", "--limit", v, 0, LONG_MAX, &o->limit)) return EXIT_USAGE;
            break;
        case OPT_MAX_CORR:
            if (ag_arg_long("batch", "--max-corrections", v, 0, MAX_CORRECTIONS, &n)) return EXIT_USAGE;
            b->po.max_corrections = (int)n;
            break;
        case OPT_TIME_LIMIT:
            if (ag_arg_double("batch", "--time-limit", v, 0, INFINITY, &b->po.solve.time_limit_s))
                return EXIT_USAGE;
            o->time_limit_flag = 1;
            break;
        case AG_ARG_POSITIONAL:
            if (o->nfiles == MAX_FILES) return ag_usage_error("batch", "at most %d files", MAX_FILES);
            o->files[o->nfiles++] = v;
            break;
        default:
            if (ag_arg_llm("batch", &o->flags, c, v)) return EXIT_USAGE;
        }
    }
    if (!o->nfiles) return ag_usage_error("batch", "no benchmark file given");
    char err[200];
    if (!o->time_limit_flag && ag_pipeline_options_env(&b->po, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_USAGE;
    }
    return -1;
}

/* ---- learn: the library is learned into: opened for writing, created when
 * absent; --no-library and a read-only file are refused before anything is
 * sent. 0, or -1 said. ---- */
static int open_learning_library(batch *b, const batch_opts *o)
{
    const char *cmd = b->hook->cmd;
    if (o->lib.off) {
        fprintf(stderr, "optagent %s: --no-library: learning needs a library to learn into\n", cmd);
        return -1;
    }
    if (o->lib.path) snprintf(b->libpath, sizeof b->libpath, "%s", o->lib.path);
    else if (lib_default_path(b->libpath, sizeof b->libpath) != 0) {
        fprintf(stderr, "optagent %s: neither XDG_DATA_HOME nor HOME is set: give --library PATH\n", cmd);
        return -1;
    }
    char err[512] = "";
    lib_code c;
    b->library = lib_open(b->libpath, 0, &c, err, sizeof err);
    if (!b->library) {
        fprintf(stderr, "optagent %s: cannot use the library %s: %s\n", cmd, b->libpath,
                *err ? err : lib_strerror(c));
        return -1;
    }
    if (lib_readonly(b->library)) {
        fprintf(stderr, "optagent %s: the library %s is read-only: learning writes to it\n", cmd,
                b->libpath);
        return -1;
    }
    return 0;
}

/* Opens the library read-only (one handle for every worker: lib_search is
 * serialized by its mutex, a few ms a problem) and takes its content hash
 * for the run's config. 0, or -1 said. */
static int open_library(batch *b, batch_opts *o)
{
    int missing = 0;
    if (b->hook) {
        if (open_learning_library(b, o) != 0) return -1;
    } else if (ag_library_open("batch", &o->lib, &b->library, b->libpath, sizeof b->libpath, &missing) != 0) {
        return -1;
    }
    if (missing && ag_cli_verbosity() >= 0)
        fprintf(stderr, "optagent: no experience library at %s: running without insights\n", b->libpath);
    if (b->library) {
        char real[PATH_MAX];
        if (realpath(b->libpath, real)) snprintf(b->libpath, sizeof b->libpath, "%s", real);
        lib_code c = lib_content_hash(b->library, b->libhash);
        if (c != LIB_OK) {
            char err[512];
            lib_errmsg(b->library, err, sizeof err);
            fprintf(stderr, "optagent batch: library %s: %s\n", b->libpath, *err ? err : lib_strerror(c));
            return -1;
        }
    }
    ag_library_apply(&o->lib, b->library, &b->po);
    return 0;
}

/* 1 when the file at path is a formulation (one JSON object with "format"
 * and "variables" or "objective") rather than problems: read only after
 * the file failed to load as a benchmark, to say what to run instead. */
static int looks_like_formulation(const char *path)
{
    if (!strcmp(path, "-")) return 0;
    char err[256];
    size_t len;
    char *text = ag_read_file(path, 64u << 20, &len, err, sizeof err);
    cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
    int yes = cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "format") &&
              (cJSON_GetObjectItemCaseSensitive(j, "variables") ||
               cJSON_GetObjectItemCaseSensitive(j, "objective"));
    cJSON_Delete(j);
    free(text);
    return yes;
}

/* Loads every file (and its SHA-256) into sets and the LLM configuration or
 * the replay file: everything is checked before anything is sent. 0, or -1
 * said. */
static int load_inputs(batch *b, batch_opts *o, ag_ds **sets)
{
    static char hash_buf[MAX_FILES][DB_KEY_SIZE];   /* one batch per process */
    char err[1024];
    for (int i = 0; i < o->nfiles; i++) {
        sets[i] = ag_ds_load(o->files[i], o->fmt, err, sizeof err);
        if (!sets[i] && looks_like_formulation(o->files[i])) {
            fprintf(stderr, "optagent batch: %s: this looks like a formulation, not a file of "
                            "problems: use optagent solve %s\n", o->files[i], o->files[i]);
            return -1;
        }
        if (!sets[i]) { fprintf(stderr, "optagent: %s\n", err); return -1; }
        if (strcmp(o->files[i], "-")) {
            if (file_sha256(o->files[i], hash_buf[i]) != 0) {
                fprintf(stderr, "optagent: %s: %s\n", o->files[i], strerror(errno));
                return -1;
            }
            o->hashes[i] = hash_buf[i];
        }
    }
    if (open_library(b, o) != 0) return -1;
    if (o->llm) {
        b->replay = ag_replay_load(o->llm + 7, err, sizeof err);
        if (!b->replay) { fprintf(stderr, "optagent: %s\n", err); return -1; }
        return 0;
    }
    ag_llm_config_free(&b->cfg);
    if (ag_llm_config_load(&o->flags, &b->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "optagent: %s\n", err);
        return -1;
    }
    if (!b->offline && (!b->cfg.base_url || !*b->cfg.base_url)) {
        fprintf(stderr, "optagent: no LLM endpoint configured: use --base-url and --model (or "
                        "OPTAGENT_BASE_URL, OPTAGENT_MODEL), --offline to answer from the cache, or "
                        "--llm replay:FILE.jsonl\n");
        return -1;
    }
    return 0;
}

/* The problems of this shard, up to --limit, each --samples times. 0, or -1 said. */
static int make_items(batch *b, const batch_opts *o, ag_ds *const *sets)
{
    size_t total = 0;
    for (int i = 0; i < o->nfiles; i++) total += ag_ds_count(sets[i]);
    b->items = calloc(total ? total * (size_t)b->samples : 1, sizeof *b->items);
    if (!b->items) { fprintf(stderr, "optagent: out of memory\n"); return -1; }
    for (int i = 0; i < o->nfiles; i++)
        for (size_t k = 0; k < ag_ds_count(sets[i]); k++) {
            const ag_ds_problem *p = ag_ds_get(sets[i], k);
            if (o->n_shard > 1 &&
                fnv(p->dataset ? p->dataset : "", p->id) % (uint64_t)o->n_shard != (uint64_t)(o->k_shard - 1))
                continue;
            if (o->limit >= 0 && b->nitems >= (size_t)o->limit * (size_t)b->samples) break;
            for (int sm = 1; sm <= b->samples; sm++)
                b->items[b->nitems++] = (item){ sets[i], p, b->samples > 1 ? sm : 0 };
        }
    return 0;
}

/* --resume: finds and locks the run, checks that this invocation matches
 * it and drops the problems it already holds. 0, or -1 said. */
static int resume_run(batch *b, const batch_opts *o, int *lock_fd)
{
    char rerr[1024];
    if (ag_run_resolve(b->db, o->resume, &b->run_id, rerr, sizeof rerr) != 0) {
        fprintf(stderr, "optagent: --resume: %s: %s\n", o->dbpath, rerr);
        return -1;
    }
    long holder;
    *lock_fd = run_lock(o->dbpath, b->run_id, &holder);
    if (*lock_fd == -1) {
        fprintf(stderr, "optagent: --resume: run '%s' is being worked on by another optagent "
                        "(process %ld, lock on %s.lock); wait for it to end or stop it first\n",
                o->resume, holder, o->dbpath);
        return -1;
    }
    if (*lock_fd < 0) { fprintf(stderr, "optagent: %s.lock: %s\n", o->dbpath, strerror(errno)); return -1; }
    db_run_info info;
    if (db_run_get(b->db, b->run_id, &info) != DB_OK) {
        fprintf(stderr, "optagent: --resume: cannot read run '%s' from %s\n", o->resume, o->dbpath);
        return -1;
    }
    snprintf(b->uuid, sizeof b->uuid, "%s", info.uuid);
    int was_finished = info.status && !strcmp(info.status, "finished");
    char *now = config_json(b, o->files, o->nfiles, o->shard, o->hashes, o->fmt);
    char why[2048];
    int differs = check_resume(info.config_json, now, why, sizeof why);
    if (!differs) library_changed(o->resume, info.config_json, now);
    free(now);
    db_run_info_clear(&info);
    if (differs) {
        fprintf(stderr, "optagent: --resume %s: this invocation does not match the run (%s); "
                        "resume with the run's files and options, or start a new run\n",
                o->resume, why);
        return -1;
    }
    size_t w = 0;
    for (size_t i = 0; i < b->nitems; i++) {
        int done = 0;
        const ag_ds_problem *p = b->items[i].p;
        char sid[600];
        if (b->items[i].sample) snprintf(sid, sizeof sid, "%s#%d", p->id, b->items[i].sample);
        else snprintf(sid, sizeof sid, "%s", p->id);
        if (db_problem_done(b->db, b->run_id, p->dataset ? p->dataset : "", sid, &done) == DB_OK && done)
            continue;
        b->items[w++] = b->items[i];
    }
    if (w == 0 && was_finished) {
        fprintf(stderr, "optagent: run %s is finished: all its %zu problems are recorded; nothing "
                        "to resume\n", b->uuid, b->nitems);
        b->nitems = 0;
        b->already_finished = 1;
        return 0;
    }
    if (ag_cli_verbosity() >= 0)
        fprintf(stderr, "optagent: resuming run %s: %zu of %zu problems left\n", b->uuid, w, b->nitems);
    b->nitems = w;
    db_run_set_status(b->db, b->run_id, "running");
    return 0;
}

/* A new run (a shard's uuid comes from what is evaluated, so the shards
 * join in merge), locked. 0, or -1 said. */
static int create_run(batch *b, const batch_opts *o, int *lock_fd)
{
    db_code dc;
    char *cj = config_json(b, o->files, o->nfiles, o->shard, o->hashes, o->fmt);
    if (o->shard) {
        /* The shards of one evaluation share a run: its uuid comes from
         * what is evaluated and how (not from the shard), so merge joins
         * them into one run. */
        char *unsharded = config_json(b, o->files, o->nfiles, NULL, o->hashes, o->fmt);
        char hex[DB_KEY_SIZE];
        db_sha256_hex(unsharded ? unsharded : "", unsharded ? strlen(unsharded) : 0, hex);
        free(unsharded);
        snprintf(b->uuid, sizeof b->uuid, "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 13,
                 hex + 17, hex + 20);
        dc = db_run_create_with_uuid(b->db, b->uuid, b->hook ? b->hook->cmd : "batch", cj, o->shard,
                                     &b->run_id);
    } else {
        dc = db_run_create(b->db, b->hook ? b->hook->cmd : "batch", cj, "", &b->run_id, b->uuid);
    }
    free(cj);
    if (dc == DB_ECONSTRAINT && o->shard) {
        fprintf(stderr, "optagent: %s already holds run %s of this shard: continue it with --resume %s\n",
                o->dbpath, b->uuid, b->uuid);
        return -1;
    }
    if (dc != DB_OK) { fprintf(stderr, "optagent: %s: cannot create a run: %s\n", o->dbpath, db_strerror(dc)); return -1; }
    long holder;
    *lock_fd = run_lock(o->dbpath, b->run_id, &holder);
    if (*lock_fd < 0) {
        fprintf(stderr, "optagent: %s.lock: cannot lock the new run: %s\n", o->dbpath,
                *lock_fd == -1 ? "held by another process" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Starts the workers (at most -j, at most one per problem), shows progress
 * until they have all exited and joins them. *nworkers receives how many
 * were allocated (their clients are freed by the caller). 0, or -1 said. */
static int run_workers(batch *b, const batch_opts *o, worker **workers, int *nworkers)
{
    int n = b->jobs < (int)b->nitems ? b->jobs : (int)b->nitems, started = 0;
    pthread_t *threads = calloc(n ? n : 1, sizeof *threads);
    *workers = calloc(n ? n : 1, sizeof **workers);
    *nworkers = n;
    if (!*workers || !threads) { free(threads); fprintf(stderr, "optagent: out of memory\n"); return -1; }
    b->t0 = now_s();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 4u << 20);
    for (int i = 0; i < n; i++) {
        worker *w = &(*workers)[i];
        w->b = b;
        if (!b->replay && !b->offline && !(w->llm = ag_llm_new(&b->cfg))) {
            const char *why = ag_curl_load_error();
            fprintf(stderr, "optagent: cannot start the LLM client%s%s\n", why ? ": " : "", why ? why : "");
            break;
        }
        if (pthread_create(&threads[i], &attr, work, w) != 0) break;
        started++;
    }
    pthread_attr_destroy(&attr);
    int tty = o->progress_mode >= 0 ? o->progress_mode : isatty(2);
    int quiet = ag_cli_verbosity() < 0 && o->progress_mode < 0;   /* --quiet: no progress */
    double last = now_s();
    while (atomic_load(&b->exited) < started) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        double t = now_s();
        if (!quiet && ((tty && t - last >= 0.2) || (!tty && t - last >= 10))) {
            progress(b, b->nitems, tty, 0);
            last = t;
        }
    }
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    free(threads);
    if (!quiet) progress(b, b->nitems, tty, 1);
    return 0;
}

/* Appends arg to buf (at o, cap len) quoted for a POSIX shell when it
 * needs it. Returns the new offset (len at most). */
static size_t shell_word(char *buf, size_t o, size_t len, const char *arg)
{
    int plain = *arg && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                    "_./:=@%+,-") == strlen(arg);
    if (o < len) o += (size_t)snprintf(buf + o, len - o, plain ? " %s" : " '", arg);
    if (plain) return o < len ? o : len;
    for (const char *p = arg; *p && o < len; p++)
        o += (size_t)snprintf(buf + o, len - o, *p == '\'' ? "'\\''" : "%c", *p);
    if (o < len) o += (size_t)snprintf(buf + o, len - o, "'");
    return o < len ? o : len;
}

/* The command line that continues this run: the program and the same
 * arguments with any --resume replaced by --resume UUID, quoted for the
 * shell (cut at len with "..." when longer). */
static void resume_command(const batch *b, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "%s", ag_cli_program());
    for (int i = 0; i < b->argc && o < len; i++) {
        const char *a = b->argv[i];
        if (!strcmp(a, "--")) break;   /* files after "--" are kept below */
        if (!strcmp(a, "--resume")) { i++; continue; }
        if (!strncmp(a, "--resume=", 9)) continue;
        o = shell_word(buf, o, len, a);
    }
    int dashes = 0;
    for (int i = 0; i < b->argc; i++) if (!strcmp(b->argv[i], "--")) { dashes = i; break; }
    o = shell_word(buf, o, len, "--resume");
    o = shell_word(buf, o, len, b->uuid);
    for (int i = dashes; dashes && i < b->argc && o < len; i++) o = shell_word(buf, o, len, b->argv[i]);
    if (o >= len && len > 4) memcpy(buf + len - 4, "...", 4);
}

/* The whole run's totals (every invocation's problems), from the db. */
static void print_totals(batch *b, const batch_opts *o)
{
    db_run_info info;
    if (db_run_get(b->db, b->run_id, &info) != DB_OK) return;
    printf("run %s: %lld problems, %lld with a gold answer, %lld correct", b->uuid,
           (long long)info.problems, (long long)info.graded, (long long)info.correct);
    if (info.graded) printf(" (%.1f%%, rule %s: %s)", 100.0 * (double)info.correct / (double)info.graded,
                            ag_eval_rule_name(b->rule), ag_eval_rule_description(b->rule));
    size_t q[AG_QUERY_COUNT], nq = 0;
    for (int k = 0; k < AG_QUERY_COUNT; k++) nq += q[k] = atomic_load(&b->queries[k]);
    if (nq)
        printf("\nqueries%s: %zu graded, %zu matched by name, %zu matched by value (no reported "
               "quantity bore their name), %zu wrong, %zu missing", o->resume ? " (this session)" : "",
               nq, q[AG_QUERY_BY_NAME], q[AG_QUERY_BY_VALUE], q[AG_QUERY_WRONG], q[AG_QUERY_MISSING]);
    printf("\nreport: optagent eval --db %s %s\n", o->dbpath, b->uuid);
    db_run_info_clear(&info);
}

/* Marks the run finished (or interrupted) and prints the summary; the exit code. */
static int finish_run(batch *b, const batch_opts *o)
{
    char cmd[8192];
    out_close(b);
    if (atomic_load(&b->write_failed)) {
        /* Never "finished": the status update may itself fail on a full
         * disk, leaving "running" — not finished either. */
        db_run_set_status(b->db, b->run_id, "interrupted");
        resume_command(b, cmd, sizeof cmd);
        fprintf(stderr, "optagent: stopped after a failed write: %zu problems recorded; make room, "
                        "then continue with:\n  %s\n", atomic_load(&b->done), cmd);
        return EXIT_FAILED;
    }
    if (atomic_load(&b->endpoint_failed)) {
        db_run_set_status(b->db, b->run_id, "interrupted");
        resume_command(b, cmd, sizeof cmd);
        /* resume takes the run's endpoint and model: a changed one is refused */
        if (atomic_load(&b->done) == 0)
            fprintf(stderr, "optagent: nothing was recorded: fix the endpoint or model and run the "
                            "command again\n");
        else
            fprintf(stderr, "optagent: %zu problems recorded; continue (same endpoint and model) "
                            "with:\n  %s\n", atomic_load(&b->done), cmd);
        return EXIT_FAILED;
    }
    if (interrupted) {
        db_run_set_status(b->db, b->run_id, "interrupted");
        resume_command(b, cmd, sizeof cmd);
        fprintf(stderr, "optagent: interrupted: %zu problems recorded; continue with:\n  %s\n",
                atomic_load(&b->done), cmd);
        return stop_signal == SIGTERM ? 128 + SIGTERM : EXIT_INTERRUPTED;
    }
    if (db_run_set_status(b->db, b->run_id, "finished") != DB_OK) {
        char err[1024];
        db_errmsg(b->db, err, sizeof err);
        fprintf(stderr, "optagent: %s: cannot mark run %s finished: %s\n", o->dbpath, b->uuid, err);
        return EXIT_FAILED;
    }
    print_totals(b, o);
    return EXIT_SOLVED;
}

/* Opens the database, the run (new or resumed) and --out. 0, or -1 said. */
static int open_outputs(batch *b, const batch_opts *o, int *lock_fd)
{
    char err[1024];
    db_code dc;
    if (o->resume && ag_db_must_exist(b->hook ? b->hook->cmd : "batch", o->dbpath) != 0) return -1;
    b->db = db_open(o->dbpath, &dc, err, sizeof err);
    if (!b->db) { fprintf(stderr, "optagent: %s: %s\n", o->dbpath, err); return -1; }
    if ((o->resume ? resume_run(b, o, lock_fd) : create_run(b, o, lock_fd)) != 0) return -1;
    if (o->outpath && o->resume && out_rewrite(b) != 0) return -1;
    if (o->outpath) {
        b->out = fopen(o->outpath, "a");
        if (!b->out) { fprintf(stderr, "optagent: %s: %s\n", o->outpath, strerror(errno)); return -1; }
    }
    return 0;
}

int ag_cmd_batch(int argc, char **argv)
{
    return ag_batch_main(argc, argv, NULL);
}

int ag_batch_main(int argc, char **argv, const ag_batch_hook *hook)
{
    batch b;
    memset(&b, 0, sizeof b);
    b.hook = hook;
    b.argc = argc;
    b.argv = argv;
    ag_pipeline_options_default(&b.po);
    b.use_cache = 1;
    b.jobs = 8;
    b.rule = AG_MATCH_DEFAULT;
    b.samples = 1;
    batch_opts o;
    memset(&o, 0, sizeof o);
    o.progress_mode = -1;
    o.dbpath = "optagent-runs.db";
    o.fmt = AG_DS_AUTO;
    o.limit = -1;
    o.k_shard = o.n_shard = 1;
    int rc = batch_args(argc, argv, &b, &o);
    if (rc >= 0) return rc;

    rc = EXIT_FAILED;
    ag_ds *sets[MAX_FILES] = { 0 };
    worker *workers = NULL;
    int nworkers = 0, lock_fd = -1;
    b.dbpath = o.dbpath;
    b.outpath = o.outpath;
    pthread_mutex_init(&b.out_lock, NULL);
    ag_llm_config_default(&b.cfg);
    if (load_inputs(&b, &o, sets) != 0 || make_items(&b, &o, sets) != 0 ||
        open_outputs(&b, &o, &lock_fd) != 0)
        goto out;
    if (b.already_finished) {
        print_totals(&b, &o);
        rc = EXIT_SOLVED;
        goto out;
    }
    if (ag_cli_verbosity() >= 0)
        fprintf(stderr, "optagent: run %s: %zu problems from %d file%s, %d in flight, %s, %s%s\n", b.uuid,
            b.nitems, o.nfiles, o.nfiles == 1 ? "" : "s", b.jobs,
            b.replay ? "replies from the replay file (no LLM endpoint)"
                     : b.offline ? "replies from the cache only" : b.cfg.base_url,
            b.library ? "library " : "no library", b.library ? b.libpath : "");

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (run_workers(&b, &o, &workers, &nworkers) == 0) rc = finish_run(&b, &o);
    if (rc == EXIT_SOLVED && hook && hook->summary) hook->summary(hook->ctx);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    if (workers)
        for (int i = 0; i < nworkers; i++) ag_llm_free(workers[i].llm);
    free(workers);
    if (b.out) fclose(b.out);
    if (lock_fd >= 0) close(lock_fd);    /* after the last write */
    db_close(b.db);
    lib_close(b.library);
    ag_replay_free(b.replay);
    ag_llm_config_free(&b.cfg);
    free(b.items);
    for (int i = 0; i < o.nfiles; i++) ag_ds_free(sets[i]);
    pthread_mutex_destroy(&b.out_lock);
    return rc;
}
