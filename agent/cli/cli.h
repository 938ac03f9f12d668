/* agent/cli — the command-line program, one file per command. Only this
 * folder prints (stdout for data, stderr for messages). */
#ifndef OPTAGENT_AGENT_CLI_H
#define OPTAGENT_AGENT_CLI_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "agent/core/core.h"

/* Exit codes of every command. */
enum { EXIT_SOLVED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2,
       EXIT_INTERRUPTED = 130 /* 128 + SIGINT, as a shell reports it */ };

int ag_cmd_solve(int argc, char **argv);
int ag_cmd_ask(int argc, char **argv);
int ag_cmd_batch(int argc, char **argv);
int ag_cmd_eval(int argc, char **argv);
int ag_cmd_merge(int argc, char **argv);
int ag_cmd_library(int argc, char **argv);

#endif
