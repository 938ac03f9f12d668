/* db/internal.h — what the files of db/ share; private to db/ (nothing
 * outside db/ includes it).
 *
 * db/ is split by table family, each file with the public functions of its
 * part of db.h:
 *   schema.c  the handle: open, configure (pragmas), migrate (user_version and
 *             migrations[]), close
 *   stmt.c    result codes and messages, statements and transactions, binding
 *             and reading columns, reading rows into records (the row
 *             collector), the API-key check
 *   runs.c    runs, problems, attempts and LLM calls: record, resume checks,
 *             read back
 *   cache.c   the LLM response cache
 *   merge.c   folding a shard database into another
 *   sha256.c  SHA-256 (FIPS 180-4)
 *
 * Conventions: every public function takes the handle's mutex (lock/unlock)
 * around its work, and the helpers here assume it is held. A failing helper
 * has already written the handle's message (dbi_fail / dbi_fail_sq), so the
 * caller only passes the code up. Out-of-line helpers are named dbi_ (they
 * are linked into liboptagent.a); the small static inline ones below are not.
 */
#ifndef OPTAGENT_DB_INTERNAL_H
#define OPTAGENT_DB_INTERNAL_H

#include "db/db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>   /* offsetof */
#include <stdint.h>

struct db {
    sqlite3 *sq;
    pthread_mutex_t mu;
    char err[512];      /* the last failure's message (db_errmsg) */
};

/* The current time as the schema stores it (ISO 8601 UTC, milliseconds). */
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* ---- errors (stmt.c) ---------------------------------------------------------- */

/* An SQLite result code as a db_code (DB_OK for OK, ROW and DONE). */
db_code dbi_map_rc(int rc);
/* Writes the handle's message and returns c. */
db_code dbi_fail(db *d, db_code c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The connection's current error, with what was being done. */
db_code dbi_fail_sq(db *d, const char *what);
db_code dbi_bind_failed(db *d, int rc);

/* ---- statements and transactions (stmt.c) ------------------------------------- */

db_code dbi_exec(db *d, const char *sql, const char *what);
db_code dbi_prep(db *d, const char *sql, sqlite3_stmt **st);   /* *st NULL on failure */
db_code dbi_step_done(db *d, sqlite3_stmt *st, const char *what);  /* no row expected */
/* The first column of the first row of sql, e.g. "PRAGMA user_version". */
db_code dbi_pragma_int(db *d, const char *sql, int *out);

static inline void lock(db *d) { pthread_mutex_lock(&d->mu); }
static inline void unlock(db *d) { pthread_mutex_unlock(&d->mu); }

/* BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies
 * there and never to a lock upgrade half-way through. */
static inline db_code begin(db *d)
{
    return dbi_exec(d, "BEGIN IMMEDIATE", "starting a transaction");
}
static inline db_code commit(db *d) { return dbi_exec(d, "COMMIT", "committing"); }
static inline void rollback(db *d)
{
    if (!sqlite3_get_autocommit(d->sq)) sqlite3_exec(d->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- binding and reading columns ------------------------------------------------ */

static inline int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);   /* NULL binds NULL */
}

/* Negative means unknown: bound as NULL. */
static inline int bind_i64_opt(sqlite3_stmt *st, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

static inline int bind_dbl_opt(sqlite3_stmt *st, int i, double v)
{
    return v < 0 || v != v ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* NULL reads back as -1. */
static inline int64_t col_i64_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static inline double col_dbl_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_double(st, i);
}

/* A text column as a malloc'd copy in *out (NULL stays NULL). Returns 0, or
 * -1 when out of memory. */
int dbi_col_dup(sqlite3_stmt *st, int i, char **out);

/* ---- rows: a SELECT read into structs (stmt.c) ---------------------------------- */

/* A record type is read by a table with one entry per column of its SELECT,
 * in the SELECT's order, each naming the field the column goes to. How a
 * column is read follows the field's C type: int (NULL reads 0), int64_t and
 * double (NULL reads -1: "unknown"), char * (a malloc'd copy, owned by the
 * record; NULL stays NULL). The same table frees the record's strings, so
 * reading and freeing cannot drift apart. */
enum { DBI_INT, DBI_I64, DBI_DBL, DBI_TEXT, DBI_UUID };
typedef struct {
    unsigned char kind;
    size_t off;
} dbi_col;
#define DBI_COL(type, field)                                                             \
    { _Generic(((type *)0)->field, int: DBI_INT, int64_t: DBI_I64, double: DBI_DBL,      \
               char *: DBI_TEXT), offsetof(type, field) }
/* A char[DB_UUID_SIZE] field (a copy; "" for NULL). */
#define DBI_COL_UUID(type, field) { DBI_UUID, offsetof(type, field) }

typedef struct {
    size_t size;            /* of the record */
    const dbi_col *cols;
    size_t ncols;
} dbi_row;
#define DBI_ROW(type, cols) { sizeof(type), cols, sizeof cols / sizeof cols[0] }

/* Zeroes *row and reads the current row of st into it. Returns 0, or -1 when
 * out of memory, with *row freed again. */
int dbi_read_row(sqlite3_stmt *st, const dbi_row *t, void *row);
/* Frees the strings of *row and zeroes it. */
void dbi_free_row(const dbi_row *t, void *row);

/* At most this many rows from one statement: the array stays addressable. */
#define DBI_MAX_ROWS (1 << 24)

/* The row collector: steps st to its end, reading each row (dbi_read_row)
 * into a growing array of records of type t. On DB_OK *rows (NULL when there
 * were none) and *n are the caller's. On failure every read record is freed,
 * the array too, *rows is NULL and *n 0, and the message is
 * "out of memory <what>" or "<what>: <SQLite's error>". */
db_code dbi_collect(db *d, sqlite3_stmt *st, const dbi_row *t, const char *what,
                    void **rows, size_t *n);

/* ---- secrets (stmt.c) --------------------------------------------------------- */

/* The first of the NULL-terminated needles (lower case) that s contains,
 * ignoring case; NULL when none, or when s is NULL. */
const char *dbi_mentions_any(const char *s, const char *const *needles);

#endif
