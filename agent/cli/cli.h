/* agent/cli — the command-line program, one file per command. Only this
 * folder prints (stdout for data, stderr for messages). Every command parses
 * its options with ag_args_next (args.c): one getopt_long loop, one way to
 * report a bad option. */
#ifndef OPTAGENT_AGENT_CLI_H
#define OPTAGENT_AGENT_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"
#include "agent/eval/eval.h"
#include "agent/llm/llm.h"
#include "library/library.h"

/* Exit codes of every command. */
enum { EXIT_SOLVED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2,
       EXIT_INTERRUPTED = 130 /* 128 + SIGINT, as a shell reports it */ };

int ag_cmd_solve(int argc, char **argv);
int ag_cmd_ask(int argc, char **argv);
int ag_cmd_batch(int argc, char **argv);
int ag_cmd_eval(int argc, char **argv);
int ag_cmd_merge(int argc, char **argv);
int ag_cmd_library(int argc, char **argv);

int ag_cmd_learn(int argc, char **argv);
int ag_cmd_show(int argc, char **argv);     /* show.c */
int ag_cmd_repl(int argc, char **argv);
int ag_cmd_mcp(int argc, char **argv);      /* mcp.c */
int ag_cmd_runs(int argc, char **argv);     /* runs.c */

/* ---- the global -v / --quiet (main.c sets it; args.c keeps it) ----
 * -1 quiet (errors only on stderr), 0 normal, 1 verbose. Setting it also
 * sets agent/llm's request log (verbose) or silences its notes (quiet). */
void ag_cli_set_verbosity(int level);
int ag_cli_verbosity(void);

/* How the program was started (main's argv[0], borrowed; default
 * "optagent"), for the commands a message tells the user to run. */
void ag_cli_set_program(const char *argv0);
const char *ag_cli_program(void);

/* ---- run ids (runs.c) ----
 * Resolves what a user typed for a run in the open database d: a numeric
 * id ("12"), a whole uuid, or a unique prefix of a uuid (at least 4 hex
 * digits, hyphens optional, any case). 0 with *run_id set; -1 with a
 * one-line reason in err: no such run, or an ambiguous prefix with the
 * candidates listed ("'3f' matches runs 1 (3f26...) and 4 (3f9a...)"). */
struct db;
int ag_run_resolve(struct db *d, const char *arg, int64_t *run_id, char *err, size_t errlen);

/* 0 when path exists; else -1 after "optagent CMD: PATH: no such results
 * database (batch creates one; optagent runs --db PATH lists one)" on
 * stderr. The commands that only read results (eval, runs) check with it
 * so that a typo never creates an empty database. */
int ag_db_must_exist(const char *cmd, const char *path);

/* Writes the compiled model m (it has a program) to path, the format chosen
 * by the extension: .mod (GNU MathProg with its data), .lp (CPLEX LP),
 * anything else MPS: fixed when the names allow, else free
 * (sv_export_mps_format). 0, or -1 with a one-line reason naming the file
 * in err (solve.c; also the REPL's :export). */
int ag_export_model(const fm_model *m, const char *path, char *err, size_t errlen);
/* What ag_export_model writes for path, for the user: "fixed MPS (glpsol
 * --mps)", ... (static text). */
const char *ag_export_format_name(const fm_model *m, const char *path);
/* Prints a name (a report quantity's free text, a set element) on stdout
 * with control bytes as '?': a newline or an escape sequence in it must not
 * reach the terminal (solve.c; also ask and the REPL). */
void ag_print_name(const char *name);

/* ---- batch's runner, shared with learn (batch.c) ----
 *
 * optagent learn is batch with another step per problem: the files, threads,
 * run database, cache, replay, resume, progress and Ctrl-C are batch's. A
 * hook replaces the pipeline run of each problem; everything it asks goes
 * through the chat backend it is given (the worker's: cache, replay, call
 * log). Ownership: the hook's results belong to it until done() frees them.
 */
typedef struct {
    ag_run *run;                 /* the problem's answer: graded and recorded */
    const ag_attempt *extra;     /* more exchanges recorded after the run's
                                    attempts (rounds renumbered after them) */
    size_t nextra;
    cJSON *note;                 /* added to the problem's result as "learning"
                                    (taken over by batch); may be NULL */
    int incomplete;              /* Ctrl-C cut the problem's work short: it is
                                    not recorded (redone on --resume) */
    void *state;                 /* the hook's, for done() */
} ag_batch_outcome;

typedef struct {
    const char *cmd;             /* "learn": the run's kind */
    /* One problem: fills out (out->run NULL only when out of memory).
     * grade(gctx, run) grades a run with the batch's --match rule. */
    void (*solve)(void *ctx, const ag_chat *chat, const ag_pipeline_options *po,
                  const ag_ds_problem *p, const char *run_uuid, const char *model,
                  ag_grade_fn grade, void *gctx, volatile int *cancel, ag_batch_outcome *out);
    void (*done)(void *ctx, ag_batch_outcome *out);   /* frees out's run and state */
    void (*summary)(void *ctx);  /* after a finished run (stdout); may be NULL */
    void *ctx;
} ag_batch_hook;

/* Runs batch's command line (argv[0] the command's name) with hook (NULL:
 * plain batch). The exit code. */
int ag_batch_main(int argc, char **argv, const ag_batch_hook *hook);

/* ---- pieces shared by a command and `optagent serve` ---- */

/* The run record `ask --json` prints: ag_run_json(run), "library" ({"path",
 * "sha256"} of l, or null), then "attempts" (ask.c). The tree refers to
 * run's messages: delete it (caller) before ag_run_free(run). NULL when
 * out of memory. */
cJSON *ag_ask_record_json(const ag_run *run, lib *l, const char *libpath);

/* Writes `optagent eval`'s report of run (id or uuid; NULL: the newest) of
 * the open run database d in format ("markdown"/"md", "json", "html") to
 * out, exactly as the command does (eval.c). AG_OK, or AG_ENOTFOUND (no such
 * run), AG_EIO (unreadable), AG_ENOMEM with the reason in err. */
struct db;
ag_code ag_eval_report(struct db *d, const char *run, ag_match_rule rule, const char *format,
                       FILE *out, char *err, size_t errlen);

/* optagent serve: the HTTP service (serve.c). */
int ag_cmd_serve(int argc, char **argv);

/* ---- option parsing, shared by every command (args.c) ----
 *
 * A command describes its options as getopt_long does (short options
 * without the leading "-:" / "+:", which ag_args_next adds) and loops:
 *
 *     ag_args a = { "solve", argc, argv, "h", longopts };
 *     for (int c; (c = ag_args_next(&a, &v)) != -1; )
 *         switch (c) { case AG_ARG_POSITIONAL: ...; case AG_ARG_ERROR: return EXIT_USAGE; ... }
 *
 * Messages are "optagent CMD: WHAT" plus "Try 'optagent CMD --help'." on
 * stderr (cmd NULL: "optagent"). Nothing is allocated; argv is borrowed. */
struct option;

typedef struct {
    const char *cmd;                 /* "solve", or NULL for optagent itself */
    int argc;
    char **argv;                     /* argv[0] is the command name */
    const char *shortopts;           /* e.g. "hj:" */
    const struct option *longopts;   /* {0}-terminated */
    int in_order;                    /* stop at the first positional argument
                                        (left at argv[rest]) */
    int started, done, rest;         /* ag_args_next's state */
} ag_args;

enum { AG_ARG_POSITIONAL = 1, AG_ARG_ERROR = -2 };

/* The next option: its val (value in *value when it takes one),
 * AG_ARG_POSITIONAL with the argument in *value (also every argument after
 * "--"), -1 at the end, or AG_ARG_ERROR after printing the two lines
 * (unknown option, missing value, value given to a flag, ambiguous
 * abbreviation). */
int ag_args_next(ag_args *a, const char **value);

/* The raw argument after the current one (for an option with two values,
 * e.g. eval --compare A B), or NULL when there is none. */
const char *ag_args_take(ag_args *a);

/* Writes the LLM options of agent/llm (ag_llm_options) into dst as getopt
 * entries (at most cap); returns how many. Their vals are the
 * AG_LLM_OPT_* codes: give them to ag_arg_llm. */
size_t ag_args_llm_options(struct option *dst, size_t cap);

/* Prints "optagent CMD: " fmt and the --help pointer; returns EXIT_USAGE. */
int ag_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Value parsers with range checks: 0, or -1 after a usage message naming
 * opt. ag_arg_long takes whole numbers only ("8", "8.0"); hi LONG_MAX with
 * lo 0 reads "a non-negative integer", hi INFINITY with lo 0 "a
 * non-negative number". */
int ag_arg_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
int ag_arg_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);

/* Stores an LLM option (val AG_LLM_OPT_*) in f: 0, or -1 after a usage message. */
int ag_arg_llm(const char *cmd, ag_llm_flags *f, int opt, const char *value);

/* ---- the experience library options of the commands that solve (ask,
 * batch, learn): --library PATH, --no-library, --retrieve bm25|llm, -k N.
 * Add AG_LIBRARY_SHORTOPTS to the short options and ag_args_library_options
 * to the long ones; give every option to ag_arg_library first. */
typedef struct {
    const char *path;         /* --library PATH (borrowed); NULL: lib_default_path() */
    int off;                  /* --no-library */
    int llm;                  /* --retrieve llm: the check request */
    size_t k;                 /* -k N; 0: LIB_DEFAULT_K */
} ag_library_flags;

enum { AG_LIB_OPT_LIBRARY = 0x4d00, AG_LIB_OPT_NO_LIBRARY, AG_LIB_OPT_RETRIEVE };
#define AG_LIBRARY_SHORTOPTS "k:"
#define AG_LIBRARY_MAX_K 50

/* Writes --library, --no-library and --retrieve into dst (at most cap);
 * returns how many. */
size_t ag_args_library_options(struct option *dst, size_t cap);

/* 1 when opt was a library option (stored in f), 0 when it is not one, -1
 * after a usage message (a bad value, --library with --no-library). */
int ag_arg_library(const char *cmd, ag_library_flags *f, int opt, const char *value);

/* Opens the library f names, read-only (nothing is ever created or
 * written by ask or batch), into *out, its path into path (size len).
 * Returns 0 with *out NULL when there is none to use: --no-library, or the
 * default file does not exist (*missing set to 1 then: the caller says so
 * once). Returns -1 after a message naming the file when it cannot be
 * used: a --library PATH that does not exist, a corrupt file, one from a
 * newer optagent. The caller closes *out with lib_close. */
int ag_library_open(const char *cmd, const ag_library_flags *f, lib **out, char *path, size_t len,
                    int *missing);

/* Puts f and the open library l (may be NULL) into the pipeline options. */
void ag_library_apply(const ag_library_flags *f, lib *l, ag_pipeline_options *po);

#endif
