/* agent/cli/repl.h — private to the REPL's files (repl.c: the terminal,
 * input, history, completion, Ctrl-C and the spinner; repl_cmd.c: the
 * session and its commands; repl_show.c: what the commands print).
 *
 * A session holds the current problem, its formulation, the solve report of
 * that formulation and the record of the last pipeline run (ag_run_json,
 * copied: attempts and retrieval), all owned by the session and replaced
 * together; :save writes them as one JSON object and :load reads it back.
 * Everything a command prints goes to stdout; messages go to stderr. */
#ifndef OPTAGENT_AGENT_CLI_REPL_H
#define OPTAGENT_AGENT_CLI_REPL_H

#include "agent/cli/cli.h"

#define REPL_MAX_PROBLEM_BYTES (1u << 20)

typedef struct {
    ag_llm_flags flags;
    ag_library_flags lib;
    ag_pipeline_options po;
    ag_llm_config cfg;        /* the endpoint; :set model / temperature change it */
    lib *library;             /* open read-only, or NULL */
    char libpath[4096];
    char *library_arg;        /* the path :set library gave (owned) */
    char *problem;            /* the current problem, or NULL */
    char *formulation;        /* its current formulation (JSON text), or NULL */
    cJSON *report;            /* the solve report of formulation, or NULL */
    cJSON *record;            /* ag_run_json of the last run (a copy), or NULL */
    int tty;                  /* stdin and stdout are terminals */
    int color;                /* tty and no NO_COLOR */
    int failed;               /* a command failed: the exit status is 1 */
    int quit;
} repl_session;

/* ---- repl.c: waiting for the LLM or the solver ----
 * Between repl_wait_begin and repl_wait_end, Ctrl-C sets *cancel (the flag
 * the pipeline and the solver poll) and, on a terminal, a spinner shows the
 * elapsed time on stderr. Returns the flag to give to the work. */
volatile int *repl_wait_begin(repl_session *s);
void repl_wait_end(repl_session *s);

/* ---- repl_cmd.c ---- */
/* Reads the options of `optagent repl` and prepares the session: -1 to go
 * on, or the exit code (--help, a usage error). */
int repl_session_init(repl_session *s, int argc, char **argv);
void repl_session_free(repl_session *s);
/* A new problem: runs the pipeline and prints the answer. */
void repl_ask(repl_session *s, const char *problem);
/* One ":..." line. */
void repl_command(repl_session *s, const char *line);
/* The command names (":help", ...), NULL-terminated, for completion. */
extern const char *const repl_command_names[];
/* Prints an error (red on a terminal) and marks the session failed. */
void repl_error(repl_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- repl_show.c: printing from the session's JSON ---- */
void repl_show_summary(const repl_session *s, const cJSON *report);
void repl_show_formulation(repl_session *s, int json);
void repl_show_solution(repl_session *s);
void repl_show_diagnostics(repl_session *s);
void repl_show_attempts(repl_session *s);
void repl_show_insights(repl_session *s);

#endif
