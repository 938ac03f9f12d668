/* db/stmt.c — the helpers every table file of db/ uses.
 *
 * Errors: a failing call writes a one-line message into the handle
 * (dbi_fail, or dbi_fail_sq with SQLite's own message and, for a full disk,
 * what it means) and returns a db_code; db_errmsg copies it out.
 *
 * Rows: a record type read from the database is described by a table of its
 * SELECT's columns (dbi_row, see internal.h); dbi_read_row reads one row
 * into a record by it and dbi_free_row frees a record by it. Every query that
 * returns a list goes through the row collector, dbi_collect, which steps the
 * statement into an array grown by doubling (at most DBI_MAX_ROWS). On any
 * failure it frees the rows read so far, so a loader never returns half a
 * list.
 *
 * The API-key check (dbi_mentions_any) is a case-insensitive substring search:
 * runs.c and cache.c keep their own lists of what counts as a key.
 */
#include "db/internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- codes and messages --------------------------------------------------- */

const char *db_strerror(db_code code)
{
    switch (code) {
    case DB_OK: return "ok";
    case DB_EOPEN: return "cannot open the database";
    case DB_ESCHEMA: return "database schema not supported by this build";
    case DB_EIO: return "database I/O error";
    case DB_ECONSTRAINT: return "already recorded (constraint failed)";
    case DB_ENOTFOUND: return "not found";
    case DB_EBUSY: return "database is busy (locked)";
    case DB_ENOMEM: return "out of memory";
    case DB_EARG: return "invalid argument";
    }
    return "unknown error";
}

db_code dbi_map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return DB_OK;
    case SQLITE_CONSTRAINT: return DB_ECONSTRAINT;
    case SQLITE_BUSY: case SQLITE_LOCKED: return DB_EBUSY;
    case SQLITE_NOMEM: return DB_ENOMEM;
    case SQLITE_CANTOPEN: case SQLITE_NOTADB: return DB_EOPEN;
    default: return DB_EIO;
    }
}

db_code dbi_fail(db *d, db_code c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return c;
}

db_code dbi_fail_sq(db *d, const char *what)
{
    int rc = sqlite3_extended_errcode(d->sq);
    db_code c = dbi_map_rc(rc);
    if (c == DB_OK) c = DB_EIO;
    /* A full disk is SQLITE_FULL or SQLITE_IOERR_WRITE. SQLite keeps the OS
     * error only sometimes (sqlite3_system_errno is often 0 after a failed
     * WAL write); say what it means when it is not known. */
    int os = sqlite3_system_errno(d->sq);
    if (os && (c == DB_EIO || (rc & 0xff) == SQLITE_FULL))
        return dbi_fail(d, c, "%s: %s (%s)", what, sqlite3_errmsg(d->sq), strerror(os));
    if (rc == SQLITE_IOERR_WRITE || (rc & 0xff) == SQLITE_FULL)
        return dbi_fail(d, c, "%s: %s (a write to the database or its WAL failed: disk full or "
                        "file size limit?)", what, sqlite3_errmsg(d->sq));
    return dbi_fail(d, c, "%s: %s", what, sqlite3_errmsg(d->sq));
}

db_code dbi_bind_failed(db *d, int rc)
{
    return rc == SQLITE_NOMEM ? dbi_fail(d, DB_ENOMEM, "out of memory binding a value")
                              : dbi_fail(d, DB_EIO, "binding a value: %s", sqlite3_errstr(rc));
}

void db_errmsg(db *d, char *buf, size_t len)
{
    if (!buf || !len) return;
    buf[0] = '\0';
    if (!d) return;
    lock(d);
    snprintf(buf, len, "%s", d->err);
    unlock(d);
}

/* ---- statements -------------------------------------------------------------- */

db_code dbi_exec(db *d, const char *sql, const char *what)
{
    if (sqlite3_exec(d->sq, sql, NULL, NULL, NULL) != SQLITE_OK) return dbi_fail_sq(d, what);
    return DB_OK;
}

db_code dbi_prep(db *d, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(d->sq, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return dbi_fail_sq(d, "preparing a statement");
    }
    return DB_OK;
}

db_code dbi_step_done(db *d, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return DB_OK;
    return dbi_fail_sq(d, what);
}

db_code dbi_pragma_int(db *d, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, sql, &st);
    if (c) return c;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    else c = dbi_fail_sq(d, "reading the schema version");
    sqlite3_finalize(st);
    return c;
}

int dbi_col_dup(sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return 0;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) return -1;
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *s = malloc(n + 1);
    if (!s) return -1;
    memcpy(s, t, n);
    s[n] = '\0';
    *out = s;
    return 0;
}

/* ---- rows ------------------------------------------------------------------- */

int dbi_read_row(sqlite3_stmt *st, const dbi_row *t, void *row)
{
    unsigned char *r = row;
    int bad = 0;
    memset(row, 0, t->size);
    for (size_t i = 0; i < t->ncols; i++) {
        void *f = r + t->cols[i].off;
        int col = (int)i;
        switch (t->cols[i].kind) {
        case DBI_INT: *(int *)f = sqlite3_column_int(st, col); break;
        case DBI_I64: *(int64_t *)f = col_i64_opt(st, col); break;
        case DBI_DBL: *(double *)f = col_dbl_opt(st, col); break;
        case DBI_TEXT: bad |= dbi_col_dup(st, col, (char **)f); break;
        case DBI_UUID: {
            const unsigned char *u = sqlite3_column_text(st, col);
            snprintf(f, DB_UUID_SIZE, "%s", u ? (const char *)u : "");
            break;
        }
        }
    }
    if (bad) dbi_free_row(t, row);
    return bad;
}

void dbi_free_row(const dbi_row *t, void *row)
{
    unsigned char *r = row;
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == DBI_TEXT) free(*(char **)(r + t->cols[i].off));
    memset(row, 0, t->size);
}

db_code dbi_collect(db *d, sqlite3_stmt *st, const dbi_row *t, const char *what,
                    void **rows, size_t *n)
{
    unsigned char *v = NULL;
    size_t len = 0, cap = 0;
    db_code c = DB_OK;
    int rc;
    *rows = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            if (cap >= DBI_MAX_ROWS) {
                c = dbi_fail(d, DB_ENOMEM, "%s: more than %d rows", what, DBI_MAX_ROWS);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 8;
            if (ncap > SIZE_MAX / t->size) goto nomem;
            unsigned char *nv = realloc(v, ncap * t->size);
            if (!nv) goto nomem;
            v = nv;
            cap = ncap;
        }
        if (dbi_read_row(st, t, v + len * t->size)) goto nomem;
        len++;
    }
    if (rc != SQLITE_DONE) {
        c = dbi_fail_sq(d, what);
        goto out;
    }
    *rows = v;
    *n = len;
    return DB_OK;
nomem:
    c = dbi_fail(d, DB_ENOMEM, "out of memory %s", what);
out:
    for (size_t i = 0; i < len; i++) dbi_free_row(t, v + i * t->size);
    free(v);
    return c;
}

/* ---- secrets ------------------------------------------------------------- */

static int contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        size_t k = 0;
        while (k < n && s[k]) {
            char a = s[k], b = needle[k];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (a != b) break;
            k++;
        }
        if (k == n) return 1;
    }
    return 0;
}

const char *dbi_mentions_any(const char *s, const char *const *needles)
{
    if (!s) return NULL;
    for (; *needles; needles++)
        if (contains_nocase(s, *needles)) return *needles;
    return NULL;
}
