/* optagent: command-line entry point. */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include "agent/cli/cli.h"

static const char usage[] =
    "usage: optagent COMMAND [options]\n"
    "\n"
    "Turns optimization problems into solved mathematical models.\n"
    "\n"
    "commands:\n"
    "  solve FILE.json|-    check, compile and solve a five-element formulation\n"
    "                       (see 'optagent solve --help' and docs/FORMULATION.md)\n"
    "  ask \"PROBLEM\"        have an LLM formulate the problem, then check, solve and\n"
    "                       correct it (see 'optagent ask --help')\n"
    "  batch FILE...        run benchmark files through the agent into a results\n"
    "                       database (see 'optagent batch --help')\n"
    "  eval [RUN]           accuracy report of a run: Markdown, JSON or HTML;\n"
    "                       --compare A B shows what changed problem by problem\n"
    "  merge OUT.db IN.db...  join result databases (shards) into one\n"
    "  library COMMAND      the experience library: list, show, search, add, edit,\n"
    "                       rm, export, import, stats (see 'optagent library --help')\n"
    "\n"
    "options:\n"
    "  -h, --help           show this help\n"
    "  --version            show the versions of optagent and its libraries\n";

static void print_version(void)
{
    printf("optagent %s\n", OPTAGENT_VERSION);
    printf("%s\n", sv_backend_name());
    printf("sqlite %s\n", sqlite3_libversion());
    printf("%s\n", curl_version());
    printf("cjson %s\n", cJSON_Version());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return EXIT_SOLVED;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        print_version();
        return EXIT_SOLVED;
    }
    if (!strcmp(cmd, "solve")) return ag_cmd_solve(argc - 1, argv + 1);
    if (!strcmp(cmd, "ask")) return ag_cmd_ask(argc - 1, argv + 1);
    if (!strcmp(cmd, "batch")) return ag_cmd_batch(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return ag_cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return ag_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "library")) return ag_cmd_library(argc - 1, argv + 1);
    fprintf(stderr, "optagent: unknown command '%s'\n%s", cmd, usage);
    return EXIT_USAGE;
}
