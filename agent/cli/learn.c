/* optagent learn: batch's runner (files, threads, run database, cache,
 * replay, resume, progress, Ctrl-C; agent/cli/batch.c) with one more step
 * per problem: ag_learn_problem (agent/core/learn.c) solves it with
 * retrieval, grades it with batch's --match rule and, when it is wrong,
 * reflects and verifies candidates into the library. This file is the hook:
 * it hands each problem to the core, gives batch the reflect and verify
 * exchanges to record with the problem, and counts what was learned. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"
#include "library/library.h"

static const char learn_usage[] =
    "usage: optagent learn FILE... [--library PATH] [--db PATH] [-j N] [options]\n"
    "\n"
    "Learns from problems with gold answers (see ../shared/LIBRARY.md): each\n"
    "problem is solved with the insights the library retrieves for it, as batch\n"
    "would. Right: its insights are recorded positive. Wrong: they are recorded\n"
    "negative, the LLM reflects on the failure (task reflect, up to 3 tries),\n"
    "and each proposed insight is verified by solving the problem again with it\n"
    "and without the gold (task verify): it is kept (or merged into the\n"
    "insight it duplicates) only when the answer is now right.\n"
    "\n"
    "Every problem, with its reflect and verify exchanges and what was learned,\n"
    "is recorded in the run database like a batch (optagent eval reads it).\n"
    "Options are batch's (see 'optagent batch --help'): --db, -j, --resume,\n"
    "--match, --llm replay:FILE, --no-cache, --offline, --max-corrections,\n"
    "--time-limit, --progress, the LLM endpoint options, and --library PATH\n"
    "(the library learned into; default $XDG_DATA_HOME/optagent/library.db).\n";

typedef struct {
    atomic_size_t right, wrong, kept, merged, rejected, undecided, no_candidate;
} learn_counts;

/* What one problem leaves for batch to record, freed by learn_done. */
typedef struct {
    ag_learn_record rec;
    ag_attempt *extra;
    size_t nextra;
} learn_state;

static void gold_text(const ag_ds_problem *p, char *buf, size_t len)
{
    size_t o = 0;
    switch (p->gold_kind) {
    case AG_GOLD_NUMBER: snprintf(buf, len, "The optimal objective value is %.17g.", p->gold); return;
    case AG_GOLD_NO_SOLUTION: snprintf(buf, len, "The problem has no optimal solution "
                                       "(infeasible or unbounded)."); return;
    case AG_GOLD_QUANTITIES:
        o = (size_t)snprintf(buf, len, "The right values are:");
        for (size_t i = 0; i < p->nquantities && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, " %s = %.17g;", p->quantities[i].name,
                                  p->quantities[i].value);
        return;
    default: snprintf(buf, len, "(none)");
    }
}

/* The reflect tries and the verify runs' attempts, in that order, as
 * attempts for the run database (borrowing the record's texts). */
static int collect_extra(learn_state *s)
{
    const ag_learn_record *r = &s->rec;
    size_t n = (size_t)r->nreflect;
    for (size_t i = 0; i < r->ncands; i++) n += r->cands[i].verify ? (size_t)r->cands[i].verify->nattempts : 0;
    if (!n) return 0;
    if (!(s->extra = calloc(n, sizeof *s->extra))) return -1;
    for (int i = 0; i < r->nreflect; i++) {
        ag_attempt *a = &s->extra[s->nextra++];
        a->stage = "reflect";
        a->outcome = r->reflect[i].reply ? AG_OUTCOME_OK : AG_OUTCOME_LLM_ERROR;
        a->reply = r->reflect[i].reply;
        a->prompt_tokens = a->completion_tokens = -1;
        a->messages = r->reflect[i].messages;
        a->feedback = r->reflect[i].error[0] ? (char *)r->reflect[i].error : NULL;
    }
    for (size_t i = 0; i < r->ncands; i++)
        for (int k = 0; r->cands[i].verify && k < r->cands[i].verify->nattempts; k++)
            s->extra[s->nextra++] = r->cands[i].verify->attempts[k];
    return 0;
}

static void learn_solve(void *ctx, const ag_chat *chat, const ag_pipeline_options *po,
                        const ag_ds_problem *p, const char *run_uuid, const char *model,
                        ag_grade_fn grade, void *gctx, volatile int *cancel, ag_batch_outcome *out)
{
    learn_counts *c = ctx;
    learn_state *s = calloc(1, sizeof *s);
    memset(out, 0, sizeof *out);
    if (!s) return;
    char gold[2048];
    gold_text(p, gold, sizeof gold);
    ag_learn_input lp = { p->id, p->question, gold, p->dataset, run_uuid, model };
    ag_code rc = ag_learn_problem(chat, po, po->library, &lp, grade, gctx, cancel, &s->rec);
    if (rc != AG_OK && rc != AG_EIO && !s->rec.run) { free(s); return; }
    const ag_learn_record *r = &s->rec;
    if (r->correct == 1) atomic_fetch_add(&c->right, 1);
    else if (r->correct == 0) {
        atomic_fetch_add(&c->wrong, 1);
        if (!r->ncands) atomic_fetch_add(&c->no_candidate, 1);
    }
    for (size_t i = 0; i < r->ncands; i++)
        switch (r->cands[i].verdict) {
        case AG_VERDICT_KEPT: atomic_fetch_add(&c->kept, 1); break;
        case AG_VERDICT_MERGED: atomic_fetch_add(&c->merged, 1); break;
        case AG_VERDICT_REJECTED: atomic_fetch_add(&c->rejected, 1); break;
        case AG_VERDICT_ERROR: atomic_fetch_add(&c->undecided, 1); break;
        }
    if (rc == AG_EIO)
        for (size_t i = 0; i < r->ncands; i++)
            if (r->cands[i].verdict == AG_VERDICT_ERROR)
                fprintf(stderr, "\noptagent learn: %s: %s\n", p->id, r->cands[i].note);
    /* stopped by Ctrl-C before reflect and verify were done: redo it on --resume */
    out->incomplete = cancel && *cancel && r->correct == 0 && !r->fixed;
    collect_extra(s);
    out->run = s->rec.run;
    out->extra = s->extra;
    out->nextra = s->nextra;
    out->note = ag_learn_record_json(r);
    out->state = s;
}

static void learn_done(void *ctx, ag_batch_outcome *out)
{
    (void)ctx;
    learn_state *s = out->state;
    cJSON_Delete(out->note);
    if (!s) { ag_run_free(out->run); return; }
    free(s->extra);
    ag_learn_record_clear(&s->rec);   /* frees the run too */
    free(s);
    memset(out, 0, sizeof *out);
}

static void learn_summary(void *ctx)
{
    learn_counts *c = ctx;
    printf("learned: %zu right with the library as it was, %zu wrong; %zu insight(s) stored, "
           "%zu merged into an existing one, %zu candidate(s) rejected (did not fix their "
           "problem)%s",
           atomic_load(&c->right), atomic_load(&c->wrong), atomic_load(&c->kept),
           atomic_load(&c->merged), atomic_load(&c->rejected),
           atomic_load(&c->undecided) ? ", some undecided" : "");
    if (atomic_load(&c->no_candidate))
        printf(", %zu wrong problem(s) without a usable reflection", atomic_load(&c->no_candidate));
    printf("\n");
}

int ag_cmd_learn(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(learn_usage, stdout);
            return EXIT_SOLVED;
        }
    learn_counts counts;
    memset(&counts, 0, sizeof counts);
    ag_batch_hook hook = { "learn", learn_solve, learn_done, learn_summary, &counts };
    return ag_batch_main(argc, argv, &hook);
}
