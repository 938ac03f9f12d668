/* db/schema.c — the handle: opening a database file, its pragmas, and its
 * schema.
 *
 * The schema version is PRAGMA user_version. migrations[i] takes a file from
 * version i to i + 1; db_open applies the missing steps one at a time, each
 * in its own write transaction that re-reads the version first, so two
 * processes opening a new file at once do not clash. A file from a newer
 * build is refused (DB_ESCHEMA) rather than guessed at.
 *
 * Pragmas: WAL journal (readers do not block the writer), synchronous=NORMAL
 * (a power loss may lose the last commits but never corrupts the file),
 * foreign keys on (deleting a problem deletes its attempts and calls), a 5 s
 * busy timeout.
 */
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema ------------------------------------------------------------------
 * migrations[i] takes the schema from version i to i + 1. Append only: never
 * edit a step that has shipped. runs.c and merge.c name the columns they
 * read and copy. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL DEFAULT (" NOW "),"
    "  command TEXT,"
    "  config_json TEXT,"
    "  shard TEXT,"
    "  status TEXT NOT NULL DEFAULT 'running'"
    "    CHECK (status IN ('running','finished','interrupted')),"
    "  finished_at TEXT"
    ");"
    "CREATE TABLE problems ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  dataset TEXT NOT NULL,"
    "  problem_id TEXT NOT NULL,"
    "  question TEXT,"
    "  gold_json TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('done','error')),"
    "  outcome TEXT,"
    "  answer REAL,"
    "  correct INTEGER CHECK (correct IN (0,1)),"
    "  result_json TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER,"
    "  llm_calls INTEGER NOT NULL DEFAULT 0,"
    "  llm_ms REAL,"
    "  solve_ms REAL,"
    "  finished_at TEXT NOT NULL DEFAULT (" NOW "),"
    "  PRIMARY KEY (run_id, dataset, problem_id)"
    ");"
    "CREATE TABLE attempts ("
    "  run_id INTEGER NOT NULL,"
    "  dataset TEXT NOT NULL,"
    "  problem_id TEXT NOT NULL,"
    "  round INTEGER NOT NULL,"
    "  stage TEXT,"
    "  outcome TEXT,"
    "  messages_json TEXT,"
    "  reply TEXT,"
    "  formulation TEXT,"
    "  result_json TEXT,"
    "  feedback TEXT,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER,"
    "  latency_ms REAL,"
    "  PRIMARY KEY (run_id, dataset, problem_id, round),"
    "  FOREIGN KEY (run_id, dataset, problem_id)"
    "    REFERENCES problems(run_id, dataset, problem_id) ON DELETE CASCADE"
    ");"
    "CREATE TABLE llm_calls ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL,"
    "  dataset TEXT NOT NULL,"
    "  problem_id TEXT NOT NULL,"
    "  round INTEGER,"
    "  task TEXT,"
    "  model TEXT,"
    "  cache_key TEXT,"
    "  cached INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0,1)),"
    "  http_status INTEGER,"
    "  attempts INTEGER,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER,"
    "  latency_ms REAL,"
    "  error TEXT,"
    "  at TEXT NOT NULL DEFAULT (" NOW "),"
    "  FOREIGN KEY (run_id, dataset, problem_id)"
    "    REFERENCES problems(run_id, dataset, problem_id) ON DELETE CASCADE"
    ");"
    "CREATE INDEX llm_calls_problem ON llm_calls(run_id, dataset, problem_id);"
    "CREATE TABLE cache ("
    "  key TEXT PRIMARY KEY,"
    "  endpoint TEXT,"
    "  model TEXT,"
    "  task TEXT,"
    "  request_json TEXT,"
    "  response_json TEXT NOT NULL,"
    "  created_at TEXT NOT NULL DEFAULT (" NOW "),"
    "  hits INTEGER NOT NULL DEFAULT 0"
    ");",
    /* 1 -> 2: the experience library's insights each attempt carried
     * ("12@3,7@1"; "" when the library gave none; NULL: no library) */
    "ALTER TABLE attempts ADD COLUMN insights TEXT;",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(NMIGRATIONS == DB_SCHEMA_VERSION, "one migration step per schema version");

/* ---- open, migrate, close ---------------------------------------------------- */

static db_code configure(db *d, const char *path)
{
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    /* The first statement reads the file header: a non-database shows here. */
    int rc = sqlite3_prepare_v2(d->sq, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if ((sqlite3_extended_errcode(d->sq) & 0xff) == SQLITE_NOTADB)
            c = dbi_fail(d, DB_EOPEN, "%s is not an SQLite database", path);
        else
            c = dbi_fail_sq(d, "setting journal_mode=WAL");
        goto out;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcmp(mode, "wal") && strcmp(mode, "memory"))) {
        c = dbi_fail(d, DB_EIO, "%s: cannot use the WAL journal (journal_mode is %s)", path,
                     mode ? mode : "?");
        goto out;
    }
    c = dbi_exec(d, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", "setting pragmas");
out:
    sqlite3_finalize(st);
    return c;
}

/* One step at a time, each in its own write transaction that re-reads the
 * version, so two processes opening a new file at once do not clash. */
static db_code migrate(db *d, const char *path)
{
    int now = 0;
    /* Up to date (the usual case): no write lock needed. */
    if (dbi_pragma_int(d, "PRAGMA user_version", &now) == DB_OK && now == DB_SCHEMA_VERSION)
        return DB_OK;
    for (;;) {
        int v = 0;
        db_code c = begin(d);
        if (c) return c;
        c = dbi_pragma_int(d, "PRAGMA user_version", &v);
        if (c) goto bad;
        if (v > DB_SCHEMA_VERSION) {
            c = dbi_fail(d, DB_ESCHEMA,
                         "%s has schema version %d, newer than this build knows (%d): "
                         "use a newer optagent", path, v, DB_SCHEMA_VERSION);
            goto bad;
        }
        if (v < 0) {
            c = dbi_fail(d, DB_ESCHEMA, "%s has an invalid schema version %d", path, v);
            goto bad;
        }
        if (v == DB_SCHEMA_VERSION) {
            rollback(d);
            return DB_OK;
        }
        if (sqlite3_exec(d->sq, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            int rc = sqlite3_extended_errcode(d->sq);
            c = dbi_map_rc(rc);
            if (c == DB_EIO || c == DB_ECONSTRAINT || c == DB_OK) c = DB_ESCHEMA;
            dbi_fail(d, c, "%s: migrating to schema version %d failed (not an optagent "
                     "database?): %s", path, v + 1, sqlite3_errmsg(d->sq));
            goto bad;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        c = dbi_exec(d, sql, "setting the schema version");
        if (c) goto bad;
        c = commit(d);
        if (c) goto bad;
        continue;
    bad:
        rollback(d);
        return c;
    }
}

db *db_open(const char *path, db_code *code, char *err, size_t errlen)
{
    db_code c = DB_OK;
    db *d = NULL;
    int mu_ok = 0;

    if (err && errlen) err[0] = '\0';
    if (!path || !*path) {
        c = DB_EARG;
        if (err && errlen) snprintf(err, errlen, "no database path given");
        goto out;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        c = DB_ENOMEM;
        if (err && errlen) snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&d->mu, NULL)) {
        c = dbi_fail(d, DB_ENOMEM, "cannot create a mutex");
        goto out;
    }
    mu_ok = 1;
    int rc = sqlite3_open_v2(path, &d->sq,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        c = d->sq ? dbi_fail(d, DB_EOPEN, "cannot open %s: %s", path, sqlite3_errmsg(d->sq))
                  : dbi_fail(d, DB_ENOMEM, "out of memory opening %s", path);
        goto out;
    }
    sqlite3_extended_result_codes(d->sq, 1);
    sqlite3_busy_timeout(d->sq, 5000);
    c = configure(d, path);
    if (c) goto out;
    c = migrate(d, path);
out:
    if (code) *code = c;
    if (c != DB_OK && d) {
        if (err && errlen && d->err[0]) snprintf(err, errlen, "%s", d->err);
        if (d->sq) sqlite3_close_v2(d->sq);
        if (mu_ok) pthread_mutex_destroy(&d->mu);
        free(d);
        d = NULL;
    }
    return d;
}

void db_close(db *d)
{
    if (!d) return;
    sqlite3_close_v2(d->sq);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

db_code db_schema_version(db *d, int *version)
{
    if (!d || !version) return DB_EARG;
    lock(d);
    db_code c = dbi_pragma_int(d, "PRAGMA user_version", version);
    unlock(d);
    return c;
}
