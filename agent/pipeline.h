/* agent/pipeline — natural language -> formulation -> solve, corrected from
 * the solver's diagnostics until the result can be trusted.
 *
 * Ownership, once for the whole file: an ag_run returned by ag_pipeline_run
 * is owned by the caller and freed with ag_run_free; everything it points to
 * belongs to it. Prompts returned by ag_prompt are borrowed (embedded text,
 * or text loaded by ag_prompts_load_dir, alive until the process ends).
 */
#ifndef OPTAGENT_AGENT_PIPELINE_H
#define OPTAGENT_AGENT_PIPELINE_H

#include <cjson/cJSON.h>
#include "agent/extract.h"
#include "agent/llm.h"
#include "formulate/formulate.h"
#include "solver/solver.h"

/* ---- prompts ---- */

/* The template of a stage ("formulate", "correct"), or NULL when unknown. */
const char *ag_prompt(const char *stage);
/* Loads every NAME.txt of dir as the template of stage NAME, overriding the
 * embedded ones. Returns 0, or -1 with a reason in err. */
int ag_prompts_load_dir(const char *dir, char *err, size_t errlen);
/* Replaces each {{key}} of tmpl by its value (unknown keys are kept as they
 * are). Returns a malloc'd string, or NULL when out of memory. */
char *ag_template_fill(const char *tmpl, const char *const *keys,
                       const char *const *values, size_t n);

/* ---- the self-correction loop ---- */

/* The solver time limit of every attempt unless set otherwise (seconds):
 * one hard MILP in a reply must not hold a worker forever. */
#define AG_DEFAULT_TIME_LIMIT_S 60.0

typedef struct {
    int max_corrections;      /* rounds after the first; default 3 */
    sv_options solve;         /* time limit AG_DEFAULT_TIME_LIMIT_S; its cancel
                                 flag is the run's when left NULL */
    fm_limits limits;
} ag_pipeline_options;

void ag_pipeline_options_default(ag_pipeline_options *o);
/* Applies OPTAGENT_TIME_LIMIT (seconds, 0 = none) when it is set. Returns 0,
 * or -1 with a one-line reason in err when its value is not a number >= 0.
 * Call before the command-line flags, which win. */
int ag_pipeline_options_env(ag_pipeline_options *o, char *err, size_t errlen);

/* Why an attempt was not trusted, or "ok". */
typedef enum {
    AG_OUTCOME_OK,            /* optimal: trusted */
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

typedef struct {
    int round;                /* 0 = formulate, 1.. = corrections */
    const char *stage;        /* "formulate" or "correct" */
    cJSON *messages;          /* what was sent */
    char *reply;              /* the LLM's content, or NULL */
    char *llm_error;          /* when the call failed */
    long prompt_tokens, completion_tokens;
    double latency_ms;
    int http_attempts;
    char *formulation;        /* the extracted JSON, or NULL */
    char *extract_why;        /* why no formulation was found */
    ag_outcome outcome;
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
    long prompt_tokens, completion_tokens;
    double latency_ms;        /* LLM time over all attempts */
    double solve_ms;
} ag_run;

/* Where replies come from: the HTTP client, or (batch) a cache or a replay
 * file in front of it. call says which problem, stage and round it is. */
typedef struct {
    const char *problem_id;   /* "" when there is none (optagent ask) */
    const char *task;         /* "formulate", "correct" */
    int round;
} ag_chat_call;

typedef ag_llm_code (*ag_chat_fn)(void *ctx, const ag_chat_call *call,
                                  const ag_llm_message *msgs, size_t nmsgs,
                                  volatile int *cancel, ag_llm_reply **out);

typedef struct {
    ag_chat_fn fn;
    void *ctx;
} ag_chat;

/* A backend that sends every call to the LLM client l. */
ag_chat ag_chat_direct(ag_llm *l);

/* Runs the loop for one problem. Returns the run (never NULL unless out of
 * memory); its outcome says how it ended. problem_id may be NULL; cancel
 * may be NULL. When *cancel becomes nonzero the LLM call or the solve in
 * progress stops and the run ends with AG_OUTCOME_INTERRUPTED. */
ag_run *ag_pipeline_run(const ag_chat *chat, const ag_pipeline_options *o,
                        const char *problem_id, const char *problem,
                        volatile int *cancel);
void ag_run_free(ag_run *r);

/* The full record as JSON (caller deletes). The tree refers to r's messages
 * and replies instead of copying them: delete it before ag_run_free(r). */
cJSON *ag_run_json(const ag_run *r);

#endif
