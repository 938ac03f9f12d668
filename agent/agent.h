/* agent — the command-line program. Only this module prints. */
#ifndef OPTAGENT_AGENT_H
#define OPTAGENT_AGENT_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "formulate/formulate.h"
#include "solver/solver.h"

/* Exit codes of every command. */
enum { EXIT_SOLVED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Reads a whole file ("-" is standard input) into a NUL-terminated buffer
 * the caller frees. Refuses more than max bytes. Returns NULL with a one-line
 * reason in errbuf. */
char *ag_read_file(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen);

/* The contract's solve report for a parsed model, its diagnostics and the
 * solver's result (NULL when nothing was solved). status is the overall
 * status. Returns a new cJSON object the caller deletes. */
cJSON *ag_solve_report(const fm_model *m, fm_diags *diags, const sv_result *r,
                       sv_status status, double parse_ms);

int ag_cmd_solve(int argc, char **argv);
int ag_cmd_ask(int argc, char **argv);
int ag_cmd_batch(int argc, char **argv);
int ag_cmd_eval(int argc, char **argv);
int ag_cmd_merge(int argc, char **argv);
int ag_cmd_library(int argc, char **argv);   /* agent/library_cmd.c */

#endif
