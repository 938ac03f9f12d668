/* optagent show: the readable rendering of one formulation
 * (ag_formulation_render in agent/core/render.c) on stdout. A formulation
 * that fails its checks is still shown, its first error last; only JSON
 * that cannot be read at all is a failure. */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "agent/cli/cli.h"

static const char show_usage[] =
    "usage: optagent show FILE.json|- [options]\n"
    "\n"
    "Prints a format-1 formulation in readable form: sets, parameters, variables,\n"
    "objective, constraints and report in the expression syntax; long sets and\n"
    "data are summarised. Nothing is solved.\n"
    "\n"
    "options:\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 shown (an invalid formulation too, its first error last),\n"
    "1 unreadable file or JSON, 2 usage error.\n";

int ag_cmd_show(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
    };
    ag_args args = { "show", argc, argv, "h", longopts, 0, 0, 0, 0 };
    const char *v, *file = NULL;
    for (int c; (c = ag_args_next(&args, &v)) != -1; ) {
        switch (c) {
        case AG_ARG_ERROR: return EXIT_USAGE;
        case 'h': fputs(show_usage, stdout); return EXIT_SOLVED;
        case AG_ARG_POSITIONAL:
            if (file) return ag_usage_error("show", "one file at a time (got '%s' and '%s')", file, v);
            file = v;
        }
    }
    if (!file) return ag_usage_error("show", "no formulation file given");

    fm_limits lim;
    fm_limits_default(&lim);
    char err[512];
    size_t len;
    char *text = ag_read_file(file, lim.max_json_bytes, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "optagent: %s\n", err);
        return EXIT_FAILED;
    }
    char *out = ag_formulation_render(text, len, err, sizeof err);
    free(text);
    if (!out) {
        fprintf(stderr, "optagent: %s: %s\n", file, err);
        return EXIT_FAILED;
    }
    fputs(out, stdout);
    free(out);
    if (fflush(stdout) != 0) { fprintf(stderr, "optagent: cannot write the output\n"); return EXIT_FAILED; }
    return EXIT_SOLVED;
}
