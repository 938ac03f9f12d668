/* tests/support — helpers shared by the cmocka test programs.
 *
 * Every exported symbol starts with ts_. Functions that return a pointer
 * return malloc'd memory the caller frees (with free() unless a ts_*_free is
 * named), or NULL on failure. Nothing here aborts: the tests decide.
 *
 * The corpus tests run from the repository root (tests/run.sh does), but
 * ts_corpus_dir also finds tests/corpus from build/tests or tests/.
 */
#ifndef OPTAGENT_TESTS_SUPPORT_H
#define OPTAGENT_TESTS_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "formulate/formulate.h"

/* ---- files ---------------------------------------------------------------- */

/* Reads the whole file as bytes (NULs and invalid UTF-8 kept). *len receives
 * the length; the buffer has one extra NUL after the data, not counted. */
char *ts_read_file(const char *path, size_t *len);

/* Writes len bytes to path (created or truncated). Returns 0 or -1. */
int ts_write_file(const char *path, const void *data, size_t len);

/* Regular files in dir whose name ends with suffix, as "dir/name" paths,
 * sorted by name (strcmp). Returns the array (NULL-terminated too) and sets
 * *count; an unreadable directory gives an empty array. */
char **ts_list_files(const char *dir, const char *suffix, size_t *count);
void ts_free_list(char **list, size_t count);

/* "tests/corpus/<sub>" as found from the working directory (or from
 * $OPTAGENT_SRCDIR when set). Returns a malloc'd path (the first candidate
 * when none exists, so the failure message names it). */
char *ts_corpus_dir(const char *sub);

/* Path with its suffix replaced: ("a/b.json", ".json", ".expect"). */
char *ts_replace_suffix(const char *path, const char *suffix,
                        const char *with);

/* The file name without directory and without suffix (if it has it). */
char *ts_basename(const char *path, const char *suffix);

/* ---- .expect files --------------------------------------------------------- */

typedef enum { TS_FIELD_ELEMENT, TS_FIELD_INDEX, TS_FIELD_MESSAGE } ts_field;

typedef struct {
    char *name;     /* report name (may contain spaces) */
    double value;
} ts_expect_report;

typedef struct {
    ts_field field;
    char *substring;
} ts_expect_match;

typedef struct {
    char status[40];            /* "optimal", "invalid", ... */
    int has_objective;
    double objective;
    ts_expect_report *reports;  /* valid corpus: "report <name>\t<value>" */
    size_t nreports;
    ts_expect_match *matches;   /* invalid corpus: element/index/message */
    size_t nmatches;
} ts_expect;

/* Parses a .expect file of either kind. Blank lines and lines starting with
 * '#' are skipped; a trailing CR is dropped. Returns 0, or -1 with a reason
 * in err (one line). ts_expect_free releases what it holds. */
int ts_expect_load(const char *path, ts_expect *e, char *err, size_t errlen);
void ts_expect_free(ts_expect *e);

/* ---- numbers ----------------------------------------------------------------- */

/* |a - b| <= 1e-6 * max(1, |b|)  (b is the reference). */
int ts_close(double a, double b);
int ts_close_tol(double a, double b, double reltol);

/* ---- messages ------------------------------------------------------------------ */

/* A growing NUL-terminated string; zero-initialise it. */
typedef struct {
    char *s;
    size_t len, cap;
} ts_str;

void ts_str_printf(ts_str *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ts_str_append(ts_str *b, const char *s, size_t n);
void ts_str_free(ts_str *b);

/* Appends every diagnostic, one per line:
 *   "  error   element | index | message (hint: ...)" */
void ts_str_diags(ts_str *b, const fm_diags *d);

/* Prints every diagnostic through cmocka's print_error. */
void ts_print_diags(const fm_diags *d);

/* Prints text of any length through cmocka's print_error (which cuts each
 * call at 1 KiB), one line at a time, each line prefixed with "# " so the
 * TAP stream stays well-formed. */
void ts_print_long(const char *text);

/* ---- processes and temp dirs ---------------------------------------------- */

/* Runs cmd through /bin/sh (popen) and returns everything it wrote on stdout
 * (add 2>&1 to get stderr too). *len (may be NULL) receives the length and
 * *status (may be NULL) the pclose status. NULL when popen fails. */
char *ts_run_capture(const char *cmd, size_t *len, int *status);

/* s in single quotes for /bin/sh. */
char *ts_shell_quote(const char *s);

/* 1 when prog (no slash) is an executable file in some $PATH directory. */
int ts_have_program(const char *prog);

/* Creates $TMPDIR/optagent-test-XXXXXX (or under /tmp). Returns its path. */
char *ts_mkdtemp(void);
/* Removes path and, when it is a directory, everything below it (symlinks
 * are unlinked, never followed). Returns 0 or -1. */
int ts_rmtree(const char *path);

/* ---- dynamic test groups --------------------------------------------------- */

/* One corpus file, handed to a per-file test as its *state. */
typedef struct {
    char *name;         /* file name without the suffix: "knapsack" */
    char *path;         /* "tests/corpus/valid/knapsack.json" */
    char *expect_path;  /* "tests/corpus/valid/knapsack.expect" */
} ts_case;

/* Builds a cmocka group with the nfixed fixed tests first, then one test per
 * file in dir ending with suffix (fn called with *state = the ts_case *), runs
 * it with _cmocka_run_group_tests(group, ...) and frees everything. Returns
 * what _cmocka_run_group_tests returns (the number of failed tests), or 1
 * when out of memory. */
int ts_run_file_tests(const char *group, const char *dir, const char *suffix,
                      CMUnitTestFunction fn, const struct CMUnitTest *fixed,
                      size_t nfixed);

/* tests/data/library/NAME, found from the source root ($OPTAGENT_SRCDIR) or
 * the working directory and up to two levels above it. A static buffer. */
const char *ts_library_data(const char *name);
/* AlphaOPT's published library.json under $OPTAGENT_SHARED, or ../shared or
 * ../../shared beside the checkout; NULL when absent (tests then skip). */
const char *ts_alphaopt_library(void);

#endif
