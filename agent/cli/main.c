/* optagent: command-line entry point: optagent's own options (--help,
 * --version, -v, --quiet), then the command, which parses the rest.
 * Help is reachable every way a user tries it: `optagent help CMD [SUB]`,
 * `optagent CMD help` and `optagent CMD --help` all end in the command's
 * own --help (the first two are rewritten into the third here). */
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
    "  runs                 the runs in a results database (id, date, files, model,\n"
    "                       problems, accuracy, state); a unique prefix of a run's\n"
    "                       uuid names it anywhere a run is taken\n"
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
    "  help [COMMAND]       this text, or the command's help (also 'optagent COMMAND\n"
    "                       help' and 'optagent COMMAND --help')\n"
    "\n"
    "options (before the command):\n"
    "  -h, --help           show this help\n"
    "  --version            show the versions of optagent and its libraries\n"
    "  -v, --verbose        more on stderr: every LLM request (task, HTTP status,\n"
    "                       attempts, time) and in batch every finished problem\n"
    "  -q, --quiet          only errors on stderr: no progress, notes or retry lines\n"
    "\n"
    "The manual page optagent(1) has every command and option.\n";

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
    { "runs", ag_cmd_runs },
};

/* The command named name, or -1. */
static int find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(name, commands[i].name)) return (int)i;
    return -1;
}

/* optagent help [CMD [SUB...]]: CMD's --help (the arguments after CMD kept,
 * so `help library list` is `library list --help`). */
static int help_command(int argc, char **argv)
{
    if (argc < 2) { fputs(usage, stdout); return EXIT_SOLVED; }
    if (!strcmp(argv[1], "help")) { fputs(usage, stdout); return EXIT_SOLVED; }
    int k = find_command(argv[1]);
    if (k < 0) return ag_usage_error(NULL, "no help for '%s': not a command", argv[1]);
    char *av[64];
    int n = 0;
    for (int i = 1; i < argc && n < 62; i++) av[n++] = argv[i];
    av[n++] = "--help";
    av[n] = NULL;
    return commands[k].run(n, av);
}

int main(int argc, char **argv)
{
    enum { OPT_VERSION = 0x100 };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, OPT_VERSION },
        { "verbose", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 }
    };
    /* in order: the options before the command are optagent's, the rest the command's */
    ag_args args = { NULL, argc, argv, "hvq", longopts, 1, 0, 0, 0 };
    const char *v;
    int verbose = 0, quiet = 0;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        if (c == AG_ARG_ERROR) return EXIT_USAGE;
        if (c == 'h') { fputs(usage, stdout); return EXIT_SOLVED; }
        if (c == OPT_VERSION) { print_version(); return EXIT_SOLVED; }
        if (c == 'v') verbose = 1;
        if (c == 'q') quiet = 1;
    }
    if (verbose && quiet) return ag_usage_error(NULL, "give -v or --quiet, not both");
    ag_cli_set_verbosity(quiet ? -1 : verbose);
    ag_cli_set_program(argv[0]);
    if (args.rest >= argc) {
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {   /* a person at a terminal */
            char *repl_argv[] = { "repl", NULL };
            return ag_cmd_repl(1, repl_argv);
        }
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[args.rest];
    int cargc = argc - args.rest;
    char **cargv = argv + args.rest;
    if (!strcmp(cmd, "help")) return help_command(cargc, cargv);
    if (!strcmp(cmd, "version")) { print_version(); return EXIT_SOLVED; }
    int k = find_command(cmd);
    if (k < 0) return ag_usage_error(NULL, "unknown command '%s'", cmd);
    /* `optagent CMD help` (nothing else): CMD's --help; `library help` too */
    if (cargc == 2 && !strcmp(cargv[1], "help")) {
        char *av[] = { cargv[0], "--help", NULL };
        return commands[k].run(2, av);
    }
    return commands[k].run(cargc, cargv);
}
