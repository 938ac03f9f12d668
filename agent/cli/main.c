/* optagent: command-line entry point: optagent's own options (--help,
 * --version), then the command, which parses the rest. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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
    "  show FILE.json|-     print a formulation in readable form (see 'optagent show --help')\n"
    "  ask \"PROBLEM\"        have an LLM formulate the problem, then check, solve and\n"
    "                       correct it (see 'optagent ask --help')\n"
    "  batch FILE...        run benchmark files through the agent into a results\n"
    "                       database (see 'optagent batch --help')\n"
    "  eval [RUN]           accuracy report of a run: Markdown, JSON or HTML;\n"
    "                       --compare A B shows what changed problem by problem\n"
    "  merge OUT.db IN.db...  join result databases (shards) into one\n"
    "  learn FILE...        learn insights from the failures on problems with gold\n"
    "                       answers (see 'optagent learn --help')\n"
    "  repl                 an interactive session: ask, inspect, revise, edit, solve\n"
    "                       and export (also 'optagent' alone on a terminal)\n"
    "  serve                the HTTP service: solve, ask, jobs, library search and\n"
    "                       metrics over JSON (see 'optagent serve --help')\n"
    "  library COMMAND      the experience library: list, show, search, add, edit,\n"
    "                       rm, export, import, stats, refine (see 'optagent library\n"
    "                       --help')\n"
    "  mcp                  a Model Context Protocol tool server on standard\n"
    "                       input/output (see 'optagent mcp --help')\n"
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

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    { "solve", ag_cmd_solve }, { "ask", ag_cmd_ask }, { "batch", ag_cmd_batch },
    { "eval", ag_cmd_eval }, { "merge", ag_cmd_merge }, { "library", ag_cmd_library },
    { "learn", ag_cmd_learn }, { "repl", ag_cmd_repl },
    { "show", ag_cmd_show }, { "mcp", ag_cmd_mcp }, { "serve", ag_cmd_serve },
};

int main(int argc, char **argv)
{
    enum { OPT_VERSION = 0x100 };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    /* in order: the options before the command are optagent's, the rest the command's */
    ag_args args = { NULL, argc, argv, "h", longopts, 1, 0, 0, 0 };
    const char *v;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        if (c == AG_ARG_ERROR) return EXIT_USAGE;
        if (c == 'h') { fputs(usage, stdout); return EXIT_SOLVED; }
        if (c == OPT_VERSION) { print_version(); return EXIT_SOLVED; }
    }
    if (args.rest >= argc) {
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {   /* a person at a terminal */
            char *repl_argv[] = { "repl", NULL };
            return ag_cmd_repl(1, repl_argv);
        }
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[args.rest];
    if (!strcmp(cmd, "help")) { fputs(usage, stdout); return EXIT_SOLVED; }
    if (!strcmp(cmd, "version")) { print_version(); return EXIT_SOLVED; }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - args.rest, argv + args.rest);
    return ag_usage_error(NULL, "unknown command '%s'", cmd);
}
