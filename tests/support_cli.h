/* tests/support_cli — running the optagent binary from a test, as a user
 * would, against the fake LLM server: a temp dir, numbered problem files, a
 * script answering them, a shell runner and SQLite queries. Every exported
 * symbol starts with ts_cli_. Failures abort the current cmocka test. */
#ifndef OPTAGENT_TESTS_SUPPORT_CLI_H
#define OPTAGENT_TESTS_SUPPORT_CLI_H

#include "tests/support_fake.h"

/* cmocka group setup/teardown: the binary dir ($OPTAGENT_BUILD or "build")
 * and a fresh temp dir (removed by the teardown). */
int ts_cli_setup(void **state);
int ts_cli_teardown(void **state);

const char *ts_cli_bin(void);      /* the build dir holding optagent */
/* dir/name; the result lives until 16 more calls. */
const char *ts_cli_path(const char *name);

/* n problems "q1".."qn" ("Problem number i: maximize x up to i.", gold i)
 * written to dir/name; returns the path. */
const char *ts_cli_problems(const char *name, int n);

/* A fake server answering "Problem number i:" with x <= i after delay_ms,
 * the text extra appended to every content (may be NULL). */
ts_fake *ts_cli_fake(int n, int delay_ms, const char *extra);

/* "env ... OPTAGENT_BASE_URL=... OPTAGENT_MODEL=fake" for a command line. */
const char *ts_cli_env(ts_fake *f);

/* Runs a /bin/sh command line; returns its exit status (128 + signal when
 * killed), stdout in *out (may be NULL; caller frees). */
int ts_cli_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first column of the first row of sql on db (-1 when no row). */
long long ts_cli_query(const char *db, const char *sql);

/* Lines of a file (0 when missing) and how many distinct "id" values its
 * JSON lines hold (*distinct, may be NULL). */
int ts_cli_lines(const char *path, int *distinct);

#endif
