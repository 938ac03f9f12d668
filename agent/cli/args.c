/* agent/cli/args — the one option parser of every command.
 *
 * Every command runs getopt_long through ag_args_next, so they all behave
 * the same: "--opt=value" and "--opt value", "--" ends the options, short
 * options cluster and take attached values ("-j8", "-k5"), and a bad option
 * gets one line saying what is wrong and one pointing at --help, exit 2 —
 * never the whole usage text. getopt_long runs with opterr = 0 and the
 * optstring prefixed "-:" (positional arguments come back in order, as
 * AG_ARG_POSITIONAL, whatever POSIXLY_CORRECT says; a missing value is told
 * apart from an unknown option) or "+:" for in_order parsers (main: stop at
 * the command name). The numeric parsers check ranges once for everyone. */
#define _GNU_SOURCE          /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/cli/cli.h"
#include "agent/llm/llm.h"

#define SHORTOPTS_MAX 64

static int verbosity;   /* -1 quiet, 0 normal, 1 verbose: set once by main */

void ag_cli_set_verbosity(int level)
{
    verbosity = level < 0 ? -1 : level > 0 ? 1 : 0;
    ag_llm_set_verbosity(verbosity);
}

int ag_cli_verbosity(void) { return verbosity; }

static const char *program = "optagent";

void ag_cli_set_program(const char *argv0) { if (argv0 && *argv0) program = argv0; }

const char *ag_cli_program(void) { return program; }

int ag_db_must_exist(const char *cmd, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) return 0;
    fprintf(stderr, "optagent %s: %s: no such results database (optagent batch creates one; "
                    "give another with --db PATH)\n", cmd, path);
    return -1;
}

static const char *cmd_prefix(const char *cmd, char *buf, size_t len)
{
    snprintf(buf, len, "optagent%s%s", cmd ? " " : "", cmd ? cmd : "");
    return buf;
}

int ag_usage_error(const char *cmd, const char *fmt, ...)
{
    char who[64];
    va_list ap;
    cmd_prefix(cmd, who, sizeof who);
    fprintf(stderr, "%s: ", who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", who);
    return EXIT_USAGE;
}

/* Says what is wrong with the option getopt_long stopped at. el is the
 * argument it was reading (an option cluster stays at one index until it
 * is used up). */
static void bad_option(const ag_args *a, int kind, const char *el)
{
    if (strncmp(el, "--", 2) != 0) {   /* a short option: optopt names it */
        ag_usage_error(a->cmd, kind == ':' ? "option '-%c' needs a value" : "unknown option '-%c'",
                       optopt);
        return;
    }
    int n = (int)strcspn(el, "=");
    if (kind == ':') { ag_usage_error(a->cmd, "option '%.*s' needs a value", n, el); return; }
    int matches = 0, exact_noarg = 0;
    for (const struct option *o = a->longopts; o && o->name; o++) {
        if (strncmp(o->name, el + 2, (size_t)n - 2) != 0) continue;
        matches++;
        if (strlen(o->name) == (size_t)n - 2 && o->has_arg == no_argument) exact_noarg = 1;
    }
    if (el[n] == '=' && (exact_noarg || matches == 1))
        ag_usage_error(a->cmd, "option '%.*s' takes no value", n, el);
    else if (matches > 1)
        ag_usage_error(a->cmd, "option '%.*s' is ambiguous", n, el);
    else
        ag_usage_error(a->cmd, "unknown option '%.*s'", n, el);
}

int ag_args_next(ag_args *a, const char **value)
{
    char opts[SHORTOPTS_MAX];
    *value = NULL;
    if (!a->started) {
        optind = 0;          /* 0, not 1: glibc and musl then reset their state too */
        a->started = 1;
    }
    if (a->done) {           /* after "--": the rest are positional */
        if (a->in_order || optind >= a->argc) return -1;
        *value = a->argv[optind++];
        return AG_ARG_POSITIONAL;
    }
    snprintf(opts, sizeof opts, "%s:%s", a->in_order ? "+" : "-", a->shortopts ? a->shortopts : "");
    opterr = 0;
    int at = optind ? optind : 1;
    const char *el = at < a->argc ? a->argv[at] : "";
    int c = getopt_long(a->argc, a->argv, opts, a->longopts, NULL);
    if (c == '?' || c == ':') {
        bad_option(a, c, el);
        return AG_ARG_ERROR;
    }
    if (c == -1) {
        a->done = 1;
        a->rest = optind;
        if (a->in_order || optind >= a->argc) return -1;
        *value = a->argv[optind++];
        return AG_ARG_POSITIONAL;
    }
    *value = optarg;
    return c;
}

const char *ag_args_take(ag_args *a)
{
    if (optind >= a->argc) return NULL;
    return a->argv[optind++];
}

size_t ag_args_llm_options(struct option *dst, size_t cap)
{
    size_t n = 0;
    for (const ag_llm_option *o = ag_llm_options; o->name && n < cap; o++, n++)
        dst[n] = (struct option){ o->name, required_argument, NULL, o->val };
    return n;
}

int ag_arg_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s && !*end && !errno && isfinite(v) && v >= lo && v <= hi) {
        *out = v;
        return 0;
    }
    if (lo == 0 && isinf(hi))
        ag_usage_error(cmd, "%s expects a non-negative number, got '%.60s'", opt, s);
    else
        ag_usage_error(cmd, "%s expects a number from %g to %g, got '%.60s'", opt, lo, hi, s);
    return -1;
}

int ag_arg_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    /* strtod, so "8.0" and "1e3" are whole numbers as they always were */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s && !*end && !errno && isfinite(v) && v == floor(v) && v >= (double)lo && v <= (double)hi) {
        *out = (long)v;
        return 0;
    }
    if (lo == 0 && hi == LONG_MAX)
        ag_usage_error(cmd, "%s expects a non-negative integer, got '%.60s'", opt, s);
    else
        ag_usage_error(cmd, "%s is %ld to %ld, got '%.60s'", opt, lo, hi, s);
    return -1;
}

int ag_arg_llm(const char *cmd, ag_llm_flags *f, int opt, const char *value)
{
    char err[200];
    if (ag_llm_flag_set(f, opt, value, err, sizeof err) == 0) return 0;
    ag_usage_error(cmd, "%s", err);
    return -1;
}

/* ---- the experience library options ---- */

size_t ag_args_library_options(struct option *dst, size_t cap)
{
    static const struct option opts[] = {
        { "library", required_argument, NULL, AG_LIB_OPT_LIBRARY },
        { "no-library", no_argument, NULL, AG_LIB_OPT_NO_LIBRARY },
        { "retrieve", required_argument, NULL, AG_LIB_OPT_RETRIEVE },
    };
    size_t n = 0;
    for (; n < sizeof opts / sizeof opts[0] && n < cap; n++) dst[n] = opts[n];
    return n;
}

int ag_arg_library(const char *cmd, ag_library_flags *f, int opt, const char *value)
{
    long n;
    switch (opt) {
    case AG_LIB_OPT_LIBRARY:
        if (!*value) { ag_usage_error(cmd, "--library needs a path"); return -1; }
        f->path = value;
        break;
    case AG_LIB_OPT_NO_LIBRARY: f->off = 1; break;
    case AG_LIB_OPT_RETRIEVE:
        if (!strcmp(value, "bm25")) f->llm = 0;
        else if (!strcmp(value, "llm")) f->llm = 1;
        else { ag_usage_error(cmd, "--retrieve is bm25 or llm, got '%.60s'", value); return -1; }
        break;
    case 'k':
        if (ag_arg_long(cmd, "-k", value, 1, AG_LIBRARY_MAX_K, &n)) return -1;
        f->k = (size_t)n;
        break;
    default:
        return 0;
    }
    if (f->off && f->path) { ag_usage_error(cmd, "give --library PATH or --no-library, not both"); return -1; }
    return 1;
}

int ag_library_open(const char *cmd, const ag_library_flags *f, lib **out, char *path, size_t len,
                    int *missing)
{
    *out = NULL;
    *missing = 0;
    path[0] = 0;
    if (f->off) return 0;
    if (f->path) {
        snprintf(path, len, "%s", f->path);
    } else if (lib_default_path(path, len) != 0) {
        *missing = 1;   /* no HOME: as good as no file */
        snprintf(path, len, "$XDG_DATA_HOME/optagent/library.db");
        return 0;
    }
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        if (!f->path) { *missing = 1; return 0; }
        fprintf(stderr, "optagent %s: library %s: no such file (create it with optagent library "
                        "import or learn, or use --no-library)\n", cmd, path);
        return -1;
    }
    char err[512] = "";
    lib_code c;
    *out = lib_open(path, LIB_OPEN_READONLY, &c, err, sizeof err);
    if (!*out) {
        fprintf(stderr, "optagent %s: cannot use the library %s: %s (use --no-library to run "
                        "without it)\n", cmd, path, *err ? err : lib_strerror(c));
        return -1;
    }
    return 0;
}

void ag_library_apply(const ag_library_flags *f, lib *l, ag_pipeline_options *po)
{
    po->library = l;
    po->retrieve_k = f->k;
    po->retrieve_llm = l && f->llm;
}
