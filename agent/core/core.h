/* agent/core — the agent core, the one public header of agent/core/.
 *
 * Between the transport (agent/llm) and the commands (agent/cli): it turns a
 * problem text into a solved model. Sections, in order:
 *   result codes   ag_code, ag_strerror: the one error style of core and eval;
 *   extraction     ag_extract_*: the formulation inside a reply (extract.c);
 *   pipeline       prompts (prompts.c), the self-correction loop and its
 *                  record (pipeline.c), the experience library's insights
 *                  retrieved for it (retrieve.c);
 *   solve report   the contract's JSON report of one solve (report.c);
 *   learning       the experience library's LLM exchanges: refine, and the
 *                  learning procedure of one problem (learn.c);
 *   files          reading a whole file with a size cap (files.c);
 *   rendering      a formulation as readable text (render.c).
 * It depends on agent/llm, library/, solver/ and formulate/, never on
 * agent/cli or agent/eval. Nothing here prints; ownership is stated per section.
 */
#ifndef OPTAGENT_AGENT_CORE_H
#define OPTAGENT_AGENT_CORE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include "agent/llm/llm.h"
#include "formulate/formulate.h"
#include "library/library.h"
#include "solver/solver.h"

/* ---- result codes of the agent's own public functions (core, eval) that
 * can fail in more than one way; curl-style, like ag_llm_code, fm_code,
 * sv_code and db_code. Where a message buffer is also filled it carries the
 * detail (file:line, the value); the code says what kind of failure it was.
 */
typedef enum {
    AG_OK = 0,
    AG_ENOMEM,       /* out of memory */
    AG_EIO,          /* a file or directory could not be opened, read or written */
    AG_EFORMAT,      /* malformed input (the message says where) */
    AG_EUSAGE,       /* a bad argument (NULL, out of range) */
    AG_ELIMIT,       /* a hard cap was reached (bytes, count) */
    AG_EEXIST,       /* already there (a problem added twice) */
    AG_ENOTFOUND     /* no such thing (a dataset) */
} ag_code;

/* A short static description ("out of memory", ...); never NULL. */
const char *ag_strerror(ag_code c);

/* ---- extraction: find the format-1 formulation in an LLM reply ----
 *
 * Replies hold the JSON in a ```json fence, in a bare fence, or in prose;
 * sometimes several objects (a data table, a draft, then the answer),
 * sometimes truncated, sometimes with // or /+ +/ comments or trailing
 * commas. Candidates are tried in order: fenced blocks first, then balanced
 * {...} objects in the text (drafts inside a <think> section last); the first
 * that parses as a JSON object with "variables" and "objective" wins, also
 * when it is wrapped in another object. Accepted repairs, only for a
 * candidate that fails as written: comments and trailing commas outside
 * strings are removed. Not repaired (reported as invalid JSON, with where):
 * single quotes, unquoted keys, True/None/NaN, "..." elisions, missing
 * commas, # comments. At most 64 formulation-like candidates are parsed.
 * The full rules are at the top of extract.c.
 */


typedef enum {
    AG_EXTRACT_OK = 0,
    AG_EXTRACT_NONE,         /* no JSON object at all */
    AG_EXTRACT_TRUNCATED,    /* an object starts but never closes */
    AG_EXTRACT_NOT_FORMULATION, /* JSON objects, but none is a formulation */
    AG_EXTRACT_INVALID_JSON  /* something that looks like the formulation but does not parse */
} ag_extract_code;

const char *ag_extract_strerror(ag_extract_code c);

/* Extracts from reply (len bytes). On AG_EXTRACT_OK *json is a malloc'd,
 * NUL-terminated JSON text (after repairs) the caller frees, and *repaired
 * (may be NULL) says whether comments/trailing commas were removed. On
 * failure *json is NULL and why (may be NULL, size whylen) gets one line
 * suitable to send back to the LLM. */
ag_extract_code ag_extract_formulation(const char *reply, size_t len, char **json,
                                       int *repaired, char *why, size_t whylen);

/* The first JSON object in reply that has member key (e.g. "applicable" of a
 * check reply, "insights" of a reflect reply), fenced or in prose, also
 * nested in another object: objects are tried in text order, from each '{'
 * (at most AG_EXTRACT_MAX_TRIES of them), no repairs. On AG_EXTRACT_OK *out
 * is the object (a new tree the caller deletes); otherwise *out is NULL and
 * why (may be NULL) says what was found instead. Replies over
 * AG_EXTRACT_MAX_OBJECT bytes are refused. */
#define AG_EXTRACT_MAX_TRIES  256
#define AG_EXTRACT_MAX_OBJECT (1u << 20)
ag_extract_code ag_extract_object(const char *reply, size_t len, const char *key, cJSON **out,
                                  char *why, size_t whylen);

/* ---- the pipeline: natural language -> formulation -> solve, corrected from
 * the solver's diagnostics until the result can be trusted.
 *
 * Ownership, once for the whole file: an ag_run returned by ag_pipeline_run
 * is owned by the caller and freed with ag_run_free; everything it points to
 * belongs to it. Prompts returned by ag_prompt are borrowed (embedded text,
 * or text loaded by ag_prompts_load_dir, alive until the process ends).
 */


/* ---- prompts ---- */

/* The template of a stage ("formulate", "correct"), or NULL when unknown. */
const char *ag_prompt(const char *stage);
/* Loads every NAME.txt of dir as the template of stage NAME, overriding the
 * embedded ones. Returns AG_OK, or with a reason in err: AG_EIO (the
 * directory or a file cannot be read), AG_ELIMIT (too many templates, one too
 * large), AG_ENOMEM. */
ag_code ag_prompts_load_dir(const char *dir, char *err, size_t errlen);
/* Replaces each {{key}} of tmpl by its value (unknown keys are kept as they
 * are). Returns a malloc'd string, or NULL when out of memory. */
char *ag_template_fill(const char *tmpl, const char *const *keys,
                       const char *const *values, size_t n);

/* ---- the self-correction loop ---- */

/* The solver time limit of every attempt unless set otherwise (seconds):
 * one hard MILP in a reply must not hold a worker forever. */
#define AG_DEFAULT_TIME_LIMIT_S 60.0

/* Everything defaults to "off" (ag_pipeline_options_default): no library,
 * no candidates, task "formulate" — the requests are then byte for byte
 * those of a build without the library. The library, the candidates and
 * task are borrowed for the duration of ag_pipeline_run. */
typedef struct {
    int max_corrections;      /* rounds after the first; default 3 */
    sv_options solve;         /* time limit AG_DEFAULT_TIME_LIMIT_S; its cancel
                                 flag is the run's when left NULL */
    fm_limits limits;
    lib *library;             /* NULL: no retrieval. Searched once per problem,
                                 against the problem text, before the first
                                 request; may be shared by threads */
    size_t retrieve_k;        /* at most this many insights; 0 = LIB_DEFAULT_K (5) */
    int retrieve_llm;         /* 1: a "check" request filters the retrieved hits
                                 by the reply's {"applicable": [ids]}; a failed
                                 call or a malformed reply keeps every hit and is
                                 recorded (ag_retrieval.check_error) */
    const lib_insight *const *extra;  /* candidates carried besides the retrieved
                                         ones (learning's verify), after them */
    size_t nextra;
    const char *task;         /* the first request's task: NULL or "formulate"
                                 (default), "verify", or "revise"; corrections
                                 are "correct" */
    const char *revise_formulation;  /* task "revise": the current formulation */
    const char *revise_instruction;  /* and what to change in it; the first user
                                        message is prompts/revise.txt filled with
                                        the problem, these two */
    const char *const *queries;      /* the names of the quantities the question asks
                                        for (OptiBench "results" keys, a plain record's
                                        "queries"), in order; NULL: none. Borrowed. See
                                        "Queries" below */
    size_t nqueries;
} ag_pipeline_options;

/* ---- queries: the quantities a question asks for, by name ----
 *
 * With o->queries set, the formulate template's {{queries}} (directly after
 * {{insights}}, before "## Your answer") becomes a block listing each name
 * verbatim (as a JSON string) and asking for a "report" entry named exactly
 * so; the objective's own quantity may instead be answered by naming the
 * objective after it. Without queries the placeholder disappears (the
 * requests are byte for byte those of a build without queries). Every
 * correct request repeats the list ({{queries}} of prompts/correct.txt). Only
 * names are sent, never a gold value.
 *
 * A solved attempt that leaves a query unanswered (no numeric "report" entry
 * and no objective "name" equal to it under ag_query_name_eq) gets a
 * correction round naming the missing queries, counted like any other
 * correction (max_corrections). Its attempt's result gets "objective_name"
 * when the objective is named. When rounds run out on a failed attempt after
 * a solved one, the run's answer stays the last solved attempt (ag_run.answer).
 *
 * Caps: the first AG_MAX_QUERIES names of 1..AG_MAX_QUERY_NAME bytes are
 * listed and checked; the others are not asked for. */
#define AG_MAX_QUERIES 64
#define AG_MAX_QUERY_NAME 256

/* 1 when a and b are the same name once everything but ASCII letters and
 * digits is dropped and case is folded ("Total_Cost ($)" == "total cost");
 * a name with no letter or digit equals nothing. The evaluator's rule too. */
int ag_query_name_eq(const char *a, const char *b);

void ag_pipeline_options_default(ag_pipeline_options *o);
/* Applies OPTAGENT_TIME_LIMIT (seconds, 0 = none) when it is set. Returns 0,
 * or -1 with a one-line reason in err when its value is not a number >= 0.
 * Call before the command-line flags, which win. */
int ag_pipeline_options_env(ag_pipeline_options *o, char *err, size_t errlen);

/* Why an attempt was not trusted, or "ok". */
typedef enum {
    AG_OUTCOME_OK,            /* optimal or local_optimal: trusted (ag_run's
                               * proven says which) */
    AG_OUTCOME_LLM_ERROR,     /* the LLM call failed */
    AG_OUTCOME_NO_JSON,       /* no formulation in the reply */
    AG_OUTCOME_INVALID,
    AG_OUTCOME_NONLINEAR,
    AG_OUTCOME_INFEASIBLE,
    AG_OUTCOME_UNBOUNDED,     /* also infeasible_or_unbounded */
    AG_OUTCOME_TIME_LIMIT,    /* time_limit or feasible (limit hit) */
    AG_OUTCOME_SOLVER_ERROR,
    AG_OUTCOME_INTERRUPTED    /* the cancel flag stopped the LLM call or solve */
} ag_outcome;

const char *ag_outcome_name(ag_outcome o);

/* One insight a request carried, or one that retrieval returned. */
typedef struct {
    int64_t id;               /* 0: a candidate not stored yet (o->extra) */
    int64_t version;
    double score;             /* the retrieval score (library/README.md); 0 for a candidate */
    int candidate;            /* 1: from o->extra, not retrieved */
} ag_insight_ref;

/* What the library gave a run: searched once per problem, before the first
 * request; every request of the run carries the same insights. */
typedef struct {
    int used;                 /* 1: a library was searched (o->library set) */
    const char *method;       /* "bm25" or "llm" (static) */
    size_t k;
    ag_insight_ref *hits;     /* what lib_search returned, best first (before
                                 the check); recorded even when empty */
    size_t nhits;
    ag_insight_ref *carried;  /* what every request carried: the hits the check
                                 kept, then the candidates */
    size_t ncarried;
    char *refs;               /* "12@3,7@1" of carried ("" for none); NULL when
                                 there was neither a library nor a candidate */
    char *error;              /* lib_search failed: the run went on without insights */
    int checked;              /* 1: a check request was sent (--retrieve llm) */
    cJSON *check_messages;    /* what it sent */
    char *check_reply;        /* its reply, or NULL */
    char *check_error;        /* the call failed or the reply was malformed: every
                                 hit was kept */
    long check_prompt_tokens, check_completion_tokens;
    double check_latency_ms;
} ag_retrieval;

typedef struct {
    int round;                /* 0 = formulate (or verify), 1.. = corrections */
    const char *stage;        /* "formulate", "verify", "revise" or "correct" */
    const char *insights;     /* the run's retrieval.refs: the ids@versions this
                                 request carried; NULL without a library */
    const ag_insight_ref *carried;   /* the run's retrieval.carried */
    size_t ncarried;
    cJSON *messages;          /* what was sent */
    char *reply;              /* the LLM's content, or NULL */
    char *llm_error;          /* when the call failed */
    long prompt_tokens, completion_tokens;
    double latency_ms;
    int http_attempts;
    char *formulation;        /* the extracted JSON, or NULL */
    char *extract_why;        /* why no formulation was found */
    ag_outcome outcome;
    int proven;               /* 1: the solve proved its optimum (LP, MILP,
                                 exact reformulation, convex NLP, exhaustive
                                 search); 0: local_optimal, or no optimum */
    cJSON *result;            /* the solve report (contract JSON), or NULL */
    char *feedback;           /* the diagnostics text sent back, or NULL */
} ag_attempt;

typedef struct {
    char *problem_id;
    char *problem;
    ag_attempt *attempts;
    int nattempts;
    ag_outcome outcome;       /* of the last attempt */
    int has_objective;
    double objective;
    int proven;               /* outcome ok: the last attempt's proven */
    long prompt_tokens, completion_tokens;
    double latency_ms;        /* LLM time over all attempts (and the check) */
    double solve_ms;
    ag_retrieval retrieval;   /* the library's part; zero without one */
    int answer;               /* the attempt whose result is the run's answer: the
                                 last one, except when a query correction ended
                                 worse than a solved attempt (see "Queries") */
} ag_run;

/* Runs the loop for one problem. Returns the run (never NULL unless out of
 * memory); its outcome says how it ended. With a library (or candidates)
 * the insight block (lib_format_for_prompt, verbatim) takes the place of
 * {{insights}} in the formulate template, the system message, which every
 * request of the run repeats (formulate or verify, then each correct); a
 * template without the placeholder gets the block appended. With none the
 * placeholder simply disappears: the messages are those of a build
 * without the library, byte for byte (and so are cache keys). problem_id may be NULL; cancel
 * may be NULL. When *cancel becomes nonzero the LLM call or the solve in
 * progress stops and the run ends with AG_OUTCOME_INTERRUPTED. */
ag_run *ag_pipeline_run(const ag_chat *chat, const ag_pipeline_options *o,
                        const char *problem_id, const char *problem,
                        volatile int *cancel);
void ag_run_free(ag_run *r);

/* The full record as JSON (caller deletes). With a library (or candidates)
 * each attempt has "insights": [{"id", "version", "score"}] (score null and
 * "candidate": true for a candidate) and the run "retrieval": {"method",
 * "k", "hits": [...], "refs", and "error" / "check": {"reply", "error"}
 * when there were}. The tree refers to r's messages
 * and replies instead of copying them: delete it before ag_run_free(r). */
cJSON *ag_run_json(const ag_run *r);

/* ---- solve report ---- */

/* The contract's solve report of a run (sv_run_text / sv_run_prepare): its
 * status, objective, class, variables, report quantities, duals, slacks and
 * reduced costs (optimal LP),
 * time, size, diagnostics and the solver's message. time_ms is the solver's
 * time, plus the parse time when with_parse_time (optagent solve; the
 * pipeline's records count the solver only). Returns a new cJSON object the
 * caller deletes, or NULL when out of memory; run is only read. */
cJSON *ag_solve_report(const sv_run *run, int with_parse_time);

/* The slack of row i of p at the given activity: the distance to its nearest
 * finite bound (negative when violated), HUGE_VAL for a row without bounds.
 * The report's "slacks" and the summary's constraint table use it. */
double ag_row_slack(const fm_program *p, size_t i, double activity);

/* v, or the integer within 1e-9 (relative) of it: round-off from the simplex
 * is noise to a reader. Never -0. */
double ag_tidy(double v);

/* ---- learning (learn.c): the LLM exchanges of the experience library
 * (../shared/LIBRARY.md). The library (library/) scores, merges and stores;
 * these functions ask the LLM and hand what it said to the library.
 * Ownership: records are filled by the call and cleared by the caller with
 * their _clear function; the chat backend and library are borrowed.
 */

typedef struct {
    char *condition;               /* a proposed condition */
    lib_refine_score_t score;      /* how it fares (lib_refine_score) */
} ag_refine_variant;

typedef struct {
    int64_t id;                    /* the insight */
    int64_t old_version, new_version;   /* new_version set when replaced */
    char *old_condition;
    lib_refine_score_t current;    /* the current condition's score */
    ag_refine_variant *variants;
    size_t nvariants;
    int best;                      /* index of the best variant scoring strictly
                                      above the current one, or -1 */
    int replaced;                  /* 1: the condition was replaced by variants[best] */
    char error[512];               /* why the insight was skipped, "" when not */
} ag_refine_record;

/* Refines one insight: one request with task "refine" (prompts/refine.txt
 * with the insight and the texts of its positive, negative and unretrieved
 * problems), at most k (0: 3) conditions read from {"conditions": [...]},
 * each scored with lib_refine_score; the best replaces the condition
 * (lib_replace_condition: the old version stays in the history) only when
 * it scores strictly higher than the current condition. A failed request or
 * an unreadable reply writes nothing: AG_EIO / AG_EFORMAT with the reason
 * in r->error (AG_ENOTFOUND: no such insight). */
ag_code ag_refine_insight(const ag_chat *chat, lib *l, int64_t id, size_t k,
                          volatile int *cancel, ag_refine_record *r);
void ag_refine_record_clear(ag_refine_record *r);

/* The learning procedure of one problem with a gold answer (LIBRARY.md,
 * "Learning"): solve it with retrieval (o->library) as batch would; grade
 * it; right: positive for every insight it carried; wrong: negative for
 * each, then reflect (task reflect, prompts/reflect.txt with the problem,
 * the failed formulation, its result, the gold, the carried insights and
 * the taxonomy; up to AG_REFLECT_TRIES requests while no candidate is
 * usable, a retry showing the unusable reply and why) and verify every candidate: the problem formulated and solved
 * again with the candidate added (task verify, the gold NOT sent), kept
 * with lib_add_verified (new, or merged into a duplicate) only when the
 * answer is now right, else rejected. Every call goes through chat (so a
 * cache or replay covers reflect and verify too). Grading is the caller's
 * (the agent's core does not depend on agent/eval). */
#define AG_REFLECT_TRIES 3

/* 1 when run's answer matches the problem's gold, 0 when not, -1 when it
 * cannot be graded (no gold). */
typedef int (*ag_grade_fn)(void *ctx, const ag_run *run);

typedef struct {
    const char *id, *text;         /* required */
    const char *gold;              /* the gold answer as the reflect prompt shows it */
    const char *dataset, *run_uuid, *model;   /* an insight's source; may be NULL */
} ag_learn_input;

typedef enum {
    AG_VERDICT_KEPT,       /* fixed the problem: stored as a new insight */
    AG_VERDICT_MERGED,     /* fixed it: merged into the duplicate it has */
    AG_VERDICT_REJECTED,   /* the answer with it was still wrong */
    AG_VERDICT_ERROR       /* not decided (the verify run failed, a write failed) */
} ag_verdict;

const char *ag_verdict_name(ag_verdict v);

typedef struct {
    lib_insight insight;   /* the candidate as reflect proposed it (id 0) */
    ag_run *verify;        /* the verify run, or NULL */
    int correct;           /* its grade */
    ag_verdict verdict;
    int64_t id;            /* kept or merged: the stored insight's id */
    char note[256];        /* the verdict in words */
} ag_candidate;

typedef struct {
    cJSON *messages;       /* what was sent: the prompt, then (a retry) the
                              unusable reply and why it could not be used */
    char *reply;           /* NULL when the call failed */
    char error[512];       /* why this try gave no candidate, "" when it did */
} ag_reflect_try;

typedef struct {
    ag_run *run;           /* the solve with retrieval (what batch records) */
    int correct;           /* its grade (1, 0, -1) */
    int64_t *carried;      /* ids of the insights it carried */
    size_t ncarried;
    ag_reflect_try reflect[AG_REFLECT_TRIES];
    int nreflect;
    char reflect_error[600];   /* why no candidate came, "" otherwise */
    ag_candidate *cands;
    size_t ncands;
    int fixed;             /* a candidate was kept or merged */
} ag_learn_record;

/* Learns from problem p (see above) into library l (writable). Returns
 * AG_OK also when nothing was learned (the record says what happened),
 * AG_ENOMEM, AG_EUSAGE, or AG_EIO when a verified candidate could not be
 * stored. r is filled in every case; clear it with ag_learn_record_clear. */
ag_code ag_learn_problem(const ag_chat *chat, const ag_pipeline_options *o, lib *l,
                         const ag_learn_input *p, ag_grade_fn grade, void *gctx,
                         volatile int *cancel, ag_learn_record *r);
void ag_learn_record_clear(ag_learn_record *r);

/* The record as JSON for the run database (caller deletes): correct,
 * carried ids, reflect tries and their errors, each candidate with its
 * verdict, insight id, verify outcome and answer. */
cJSON *ag_learn_record_json(const ag_learn_record *r);

/* ---- files ---- */

/* Reads a whole file ("-" is standard input) into *out, a NUL-terminated
 * buffer the caller frees, its length in *len. Refuses more than max bytes.
 * Returns AG_OK, or AG_EIO, AG_ELIMIT or AG_ENOMEM with a one-line reason
 * naming the file in errbuf (*out then NULL). */
ag_code ag_file_read(const char *path, size_t max, char **out, size_t *len,
                     char *errbuf, size_t errlen);
/* The same, returning the buffer (NULL on failure) for callers that need
 * no code. */
char *ag_read_file(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen);

/* ---- rendering ---- */

/* The readable rendering of the format-1 formulation json (len bytes):
 * a title, then sets, parameters, variables, objective, constraints
 * ("subject to:") and report in the expression syntax, long sets and
 * parameter data summarised, control characters escaped. A formulation that
 * fails its checks still renders, with "invalid: ..." (its first error) as
 * the last line. Returns a malloc'd NUL-terminated text the caller frees, or
 * NULL with a one-line reason in err (size errlen; may be NULL) when the
 * JSON is unreadable (the position as fm_model_parse reports it) or memory
 * runs out. */
char *ag_formulation_render(const char *json, size_t len, char *err, size_t errlen);

#endif
