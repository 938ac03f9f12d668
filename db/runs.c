/* db — the SQLite store: schema and migrations, runs, problems with their
 * attempts and LLM calls, report queries, the response cache, and merging
 * shard databases. See db.h for the contract. */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct db {
    sqlite3 *sq;
    pthread_mutex_t mu;
    char err[512];
};

#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* ---- schema ------------------------------------------------------------------
 * migrations[i] takes the schema from version i to i + 1. Append only: never
 * edit a step that has shipped. */
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
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(NMIGRATIONS == DB_SCHEMA_VERSION, "one migration step per schema version");

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

static db_code map_rc(int rc)
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

static db_code fail(db *d, db_code c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static db_code fail(db *d, db_code c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return c;
}

/* The connection's current error, with what was being done. */
static db_code fail_sq(db *d, const char *what)
{
    int rc = sqlite3_extended_errcode(d->sq);
    db_code c = map_rc(rc);
    if (c == DB_OK) c = DB_EIO;
    /* A full disk is SQLITE_FULL or SQLITE_IOERR_WRITE. SQLite keeps the OS
     * error only sometimes (sqlite3_system_errno is often 0 after a failed
     * WAL write); say what it means when it is not known. */
    int os = sqlite3_system_errno(d->sq);
    if (os && (c == DB_EIO || (rc & 0xff) == SQLITE_FULL))
        return fail(d, c, "%s: %s (%s)", what, sqlite3_errmsg(d->sq), strerror(os));
    if (rc == SQLITE_IOERR_WRITE || (rc & 0xff) == SQLITE_FULL)
        return fail(d, c, "%s: %s (a write to the database or its WAL failed: disk full or "
                    "file size limit?)", what, sqlite3_errmsg(d->sq));
    return fail(d, c, "%s: %s", what, sqlite3_errmsg(d->sq));
}

static void lock(db *d) { pthread_mutex_lock(&d->mu); }
static void unlock(db *d) { pthread_mutex_unlock(&d->mu); }

void db_errmsg(db *d, char *buf, size_t len)
{
    if (!buf || !len) return;
    buf[0] = '\0';
    if (!d) return;
    lock(d);
    snprintf(buf, len, "%s", d->err);
    unlock(d);
}

/* ---- statement helpers ---------------------------------------------------------- */

static db_code exec(db *d, const char *sql, const char *what)
{
    if (sqlite3_exec(d->sq, sql, NULL, NULL, NULL) != SQLITE_OK) return fail_sq(d, what);
    return DB_OK;
}

static db_code prep(db *d, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(d->sq, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fail_sq(d, "preparing a statement");
    }
    return DB_OK;
}

/* Steps a statement that returns no row. */
static db_code step_done(db *d, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return DB_OK;
    return fail_sq(d, what);
}

/* BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies
 * there and never to a lock upgrade half-way through. */
static db_code begin(db *d) { return exec(d, "BEGIN IMMEDIATE", "starting a transaction"); }
static db_code commit(db *d) { return exec(d, "COMMIT", "committing"); }
static void rollback(db *d)
{
    if (!sqlite3_get_autocommit(d->sq)) sqlite3_exec(d->sq, "ROLLBACK", NULL, NULL, NULL);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);   /* NULL binds NULL */
}

static int bind_i64_opt(sqlite3_stmt *st, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

static int bind_dbl_opt(sqlite3_stmt *st, int i, double v)
{
    return v < 0 || v != v ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

static db_code bind_failed(db *d, int rc)
{
    return rc == SQLITE_NOMEM ? fail(d, DB_ENOMEM, "out of memory binding a value")
                              : fail(d, DB_EIO, "binding a value: %s", sqlite3_errstr(rc));
}

/* A text column as a malloc'd copy (NULL stays NULL). Returns 0 or -1. */
static int col_dup(sqlite3_stmt *st, int i, const char **out)
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

static int64_t col_i64_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static double col_dbl_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_double(st, i);
}

static void free_str(const char *s) { free((void *)s); }

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

static const char *mentions_any(const char *s, const char *const *needles)
{
    if (!s) return NULL;
    for (; *needles; needles++)
        if (contains_nocase(s, *needles)) return *needles;
    return NULL;
}

/* config_json is ours, built from the settings: any mention is refused. */
static const char *const config_secrets[] = {
    "api_key", "api-key", "apikey", "authorization", "bearer ", NULL,
};
/* request_json holds the problem text too, so only key-shaped mentions. */
static const char *const request_secrets[] = {
    "\"api_key\"", "\"api-key\"", "\"apikey\"", "\"authorization\"", "bearer sk-", NULL,
};

/* ---- open, migrate, close ---------------------------------------------------- */

static db_code pragma_int(db *d, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep(d, sql, &st);
    if (c) return c;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    else c = fail_sq(d, "reading the schema version");
    sqlite3_finalize(st);
    return c;
}

static db_code configure(db *d, const char *path)
{
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    /* The first statement reads the file header: a non-database shows here. */
    int rc = sqlite3_prepare_v2(d->sq, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if ((sqlite3_extended_errcode(d->sq) & 0xff) == SQLITE_NOTADB)
            c = fail(d, DB_EOPEN, "%s is not an SQLite database", path);
        else
            c = fail_sq(d, "setting journal_mode=WAL");
        goto out;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcmp(mode, "wal") && strcmp(mode, "memory"))) {
        c = fail(d, DB_EIO, "%s: cannot use the WAL journal (journal_mode is %s)", path,
                 mode ? mode : "?");
        goto out;
    }
    c = exec(d, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", "setting pragmas");
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
    if (pragma_int(d, "PRAGMA user_version", &now) == DB_OK && now == DB_SCHEMA_VERSION)
        return DB_OK;
    for (;;) {
        int v = 0;
        db_code c = begin(d);
        if (c) return c;
        c = pragma_int(d, "PRAGMA user_version", &v);
        if (c) goto bad;
        if (v > DB_SCHEMA_VERSION) {
            c = fail(d, DB_ESCHEMA,
                     "%s has schema version %d, newer than this build knows (%d): "
                     "use a newer optagent", path, v, DB_SCHEMA_VERSION);
            goto bad;
        }
        if (v < 0) {
            c = fail(d, DB_ESCHEMA, "%s has an invalid schema version %d", path, v);
            goto bad;
        }
        if (v == DB_SCHEMA_VERSION) {
            rollback(d);
            return DB_OK;
        }
        if (sqlite3_exec(d->sq, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            int rc = sqlite3_extended_errcode(d->sq);
            c = map_rc(rc);
            if (c == DB_EIO || c == DB_ECONSTRAINT || c == DB_OK) c = DB_ESCHEMA;
            fail(d, c, "%s: migrating to schema version %d failed (not an optagent "
                 "database?): %s", path, v + 1, sqlite3_errmsg(d->sq));
            goto bad;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        c = exec(d, sql, "setting the schema version");
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
        c = fail(d, DB_ENOMEM, "cannot create a mutex");
        goto out;
    }
    mu_ok = 1;
    int rc = sqlite3_open_v2(path, &d->sq,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        c = d->sq ? fail(d, DB_EOPEN, "cannot open %s: %s", path, sqlite3_errmsg(d->sq))
                  : fail(d, DB_ENOMEM, "out of memory opening %s", path);
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
    db_code c = pragma_int(d, "PRAGMA user_version", version);
    unlock(d);
    return c;
}

/* ---- runs ------------------------------------------------------------------ */

static void random_bytes(unsigned char *b, size_t n)
{
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, b + got, n - got);
            if (r > 0) got += (size_t)r;
            else if (r < 0 && errno == EINTR) continue;
            else break;
        }
        close(fd);
    }
    if (got == n) return;
    /* No /dev/urandom: hash the time, the process and a counter. */
    static unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct { struct timespec ts; pid_t pid; unsigned long n; const void *p; clock_t c; } seed = {
        ts, getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), (const void *)b, clock(),
    };
    unsigned char h[32];
    db_sha256_ctx sc;
    db_sha256_init(&sc);
    db_sha256_update(&sc, &seed, sizeof seed);
    db_sha256_final(&sc, h);
    memcpy(b, h, n < 32 ? n : 32);
}

static void new_uuid(char out[DB_UUID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* variant 10 */
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

/* Checks a UUID's shape and folds it to lower case into out. */
static int norm_uuid(const char *in, char out[DB_UUID_SIZE])
{
    if (!in || strlen(in) != 36) return -1;
    for (int i = 0; i < 36; i++) {
        char ch = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-') return -1;
        } else if (ch >= 'A' && ch <= 'F') {
            ch = (char)(ch - 'A' + 'a');
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return -1;
        }
        out[i] = ch;
    }
    out[36] = '\0';
    return 0;
}

static db_code run_insert(db *d, const char *uuid, const char *command,
                          const char *config_json, const char *shard, int64_t *run_id)
{
    const char *secret = mentions_any(config_json, config_secrets);
    if (secret)
        return fail(d, DB_EARG, "config_json mentions \"%s\": an API key is never stored",
                    secret);
    sqlite3_stmt *st = NULL;
    db_code c = prep(d, "INSERT INTO runs(uuid, command, config_json, shard) VALUES (?,?,?,?)",
                     &st);
    if (c) return c;
    int rc = bind_text(st, 1, uuid);
    if (rc == SQLITE_OK) rc = bind_text(st, 2, command);
    if (rc == SQLITE_OK) rc = bind_text(st, 3, config_json);
    if (rc == SQLITE_OK) rc = bind_text(st, 4, shard && *shard ? shard : NULL);
    if (rc != SQLITE_OK) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        c = fail(d, DB_ECONSTRAINT, "a run with UUID %s exists", uuid);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(d, "creating a run");
        goto out;
    }
    if (run_id) *run_id = sqlite3_last_insert_rowid(d->sq);
out:
    sqlite3_finalize(st);
    return c;
}

db_code db_run_create(db *d, const char *command, const char *config_json,
                      const char *shard, int64_t *run_id, char uuid[DB_UUID_SIZE])
{
    if (!d) return DB_EARG;
    char u[DB_UUID_SIZE];
    new_uuid(u);
    lock(d);
    db_code c = run_insert(d, u, command, config_json, shard, run_id);
    unlock(d);
    if (c == DB_OK && uuid) memcpy(uuid, u, DB_UUID_SIZE);
    return c;
}

db_code db_run_create_with_uuid(db *d, const char *uuid, const char *command,
                                const char *config_json, const char *shard,
                                int64_t *run_id)
{
    if (!d) return DB_EARG;
    char u[DB_UUID_SIZE];
    lock(d);
    db_code c = norm_uuid(uuid, u)
                    ? fail(d, DB_EARG, "not a UUID: \"%.40s\"", uuid ? uuid : "(null)")
                    : run_insert(d, u, command, config_json, shard, run_id);
    unlock(d);
    return c;
}

db_code db_run_find(db *d, const char *id_or_uuid, int64_t *run_id)
{
    if (!d || !id_or_uuid || !run_id) return DB_EARG;
    sqlite3_stmt *st = NULL;
    char u[DB_UUID_SIZE];
    size_t n = strlen(id_or_uuid);
    int numeric = n > 0 && n <= 18 && strspn(id_or_uuid, "0123456789") == n;
    db_code c = DB_OK;

    lock(d);
    if (!numeric && norm_uuid(id_or_uuid, u)) {
        c = fail(d, DB_ENOTFOUND, "no run \"%.40s\" (give a run id or a UUID)", id_or_uuid);
        goto out;
    }
    c = prep(d, numeric ? "SELECT id FROM runs WHERE id = ?" : "SELECT id FROM runs WHERE uuid = ?",
             &st);
    if (c) goto out;
    int rc = numeric ? sqlite3_bind_int64(st, 1, strtoll(id_or_uuid, NULL, 10))
                     : bind_text(st, 1, u);
    if (rc != SQLITE_OK) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *run_id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) c = fail(d, DB_ENOTFOUND, "no run %s", id_or_uuid);
    else c = fail_sq(d, "finding a run");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

db_code db_run_set_status(db *d, int64_t run_id, const char *status)
{
    if (!d) return DB_EARG;
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    lock(d);
    if (!status || (strcmp(status, "running") && strcmp(status, "finished") &&
                    strcmp(status, "interrupted"))) {
        c = fail(d, DB_EARG, "unknown run status \"%.40s\"", status ? status : "(null)");
        goto out;
    }
    c = prep(d, "UPDATE runs SET status = ?1, finished_at = CASE WHEN ?1 = 'running' "
                "THEN NULL ELSE " NOW " END WHERE id = ?2", &st);
    if (c) goto out;
    int rc = bind_text(st, 1, status);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
    if (rc != SQLITE_OK) {
        c = bind_failed(d, rc);
        goto out;
    }
    c = step_done(d, st, "setting a run's status");
    if (c == DB_OK && sqlite3_changes(d->sq) == 0)
        c = fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

#define RUN_SELECT                                                                      \
    "SELECT r.id, r.uuid, r.created_at, r.command, r.config_json, r.shard, r.status,"  \
    " r.finished_at, count(p.problem_id), coalesce(sum(p.status = 'done'), 0),"        \
    " coalesce(sum(p.status = 'error'), 0), coalesce(sum(p.correct = 1), 0),"          \
    " coalesce(sum(p.prompt_tokens), 0), coalesce(sum(p.completion_tokens), 0),"       \
    " coalesce(sum(p.llm_calls), 0), coalesce(sum(p.llm_ms), 0),"                      \
    " coalesce(sum(p.solve_ms), 0)"                                                    \
    " FROM runs r LEFT JOIN problems p ON p.run_id = r.id "

void db_run_info_clear(db_run_info *r)
{
    if (!r) return;
    free(r->created_at);
    free(r->command);
    free(r->config_json);
    free(r->shard);
    free(r->status);
    free(r->finished_at);
    memset(r, 0, sizeof *r);
}

static int load_run(sqlite3_stmt *st, db_run_info *r)
{
    const char *s[6];
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    const unsigned char *u = sqlite3_column_text(st, 1);
    snprintf(r->uuid, sizeof r->uuid, "%s", u ? (const char *)u : "");
    int bad = 0;
    for (int i = 0; i < 6; i++) bad |= col_dup(st, 2 + i, &s[i]);
    r->created_at = (char *)s[0];
    r->command = (char *)s[1];
    r->config_json = (char *)s[2];
    r->shard = (char *)s[3];
    r->status = (char *)s[4];
    r->finished_at = (char *)s[5];
    r->problems = sqlite3_column_int64(st, 8);
    r->done = sqlite3_column_int64(st, 9);
    r->errors = sqlite3_column_int64(st, 10);
    r->correct = sqlite3_column_int64(st, 11);
    r->prompt_tokens = sqlite3_column_int64(st, 12);
    r->completion_tokens = sqlite3_column_int64(st, 13);
    r->llm_calls = sqlite3_column_int64(st, 14);
    r->llm_ms = sqlite3_column_double(st, 15);
    r->solve_ms = sqlite3_column_double(st, 16);
    if (bad) {
        db_run_info_clear(r);
        return -1;
    }
    return 0;
}

db_code db_run_get(db *d, int64_t run_id, db_run_info *out)
{
    if (!d || !out) return DB_EARG;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = prep(d, RUN_SELECT "WHERE r.id = ? GROUP BY r.id", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc != SQLITE_OK) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (load_run(st, out)) c = fail(d, DB_ENOMEM, "out of memory reading a run");
    } else if (rc == SQLITE_DONE) {
        c = fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
    } else {
        c = fail_sq(d, "reading a run");
    }
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

void db_runs_free(db_run_info *runs, size_t n)
{
    if (!runs) return;
    for (size_t i = 0; i < n; i++) db_run_info_clear(&runs[i]);
    free(runs);
}

db_code db_runs_list(db *d, db_run_info **out, size_t *n)
{
    if (!d || !out || !n) return DB_EARG;
    *out = NULL;
    *n = 0;
    db_run_info *v = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = prep(d, RUN_SELECT "GROUP BY r.id ORDER BY r.id DESC", &st);
    if (c) goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            db_run_info *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                c = fail(d, DB_ENOMEM, "out of memory listing runs");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        if (load_run(st, &v[len])) {
            c = fail(d, DB_ENOMEM, "out of memory listing runs");
            goto out;
        }
        len++;
    }
    if (rc != SQLITE_DONE) c = fail_sq(d, "listing runs");
out:
    sqlite3_finalize(st);
    unlock(d);
    if (c) {
        db_runs_free(v, len);
    } else {
        *out = v;
        *n = len;
    }
    return c;
}

/* ---- recording problems ------------------------------------------------------ */

static db_code check_record(db *d, const db_problem_record *r)
{
    if (!r->dataset || !r->problem_id)
        return fail(d, DB_EARG, "a problem record needs a dataset and a problem_id");
    if (!r->status || (strcmp(r->status, "done") && strcmp(r->status, "error")))
        return fail(d, DB_EARG, "problem %s/%s: status must be \"done\" or \"error\", not \"%.40s\"",
                    r->dataset, r->problem_id, r->status ? r->status : "(null)");
    if (r->correct < -1 || r->correct > 1)
        return fail(d, DB_EARG, "problem %s/%s: correct must be -1, 0 or 1", r->dataset,
                    r->problem_id);
    if ((r->nattempts && !r->attempts) || (r->ncalls && !r->calls))
        return fail(d, DB_EARG, "problem %s/%s: attempts or calls array missing", r->dataset,
                    r->problem_id);
    for (size_t i = 0; i < r->ncalls; i++)
        if (r->calls[i].cached < 0 || r->calls[i].cached > 1)
            return fail(d, DB_EARG, "problem %s/%s: call %zu: cached must be 0 or 1",
                        r->dataset, r->problem_id, i);
    return DB_OK;
}

static db_code insert_problem_row(db *d, const db_problem_record *r)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep(d,
        "INSERT INTO problems(run_id, dataset, problem_id, question, gold_json, status,"
        " outcome, answer, correct, result_json, attempts, prompt_tokens, completion_tokens,"
        " llm_calls, llm_ms, solve_ms, finished_at)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
        " coalesce(?17, " NOW "))", &st);
    if (c) return c;
    int rc = sqlite3_bind_int64(st, 1, r->run_id);
    if (!rc) rc = bind_text(st, 2, r->dataset);
    if (!rc) rc = bind_text(st, 3, r->problem_id);
    if (!rc) rc = bind_text(st, 4, r->question);
    if (!rc) rc = bind_text(st, 5, r->gold_json);
    if (!rc) rc = bind_text(st, 6, r->status);
    if (!rc) rc = bind_text(st, 7, r->outcome);
    if (!rc) rc = r->has_answer ? sqlite3_bind_double(st, 8, r->answer) : sqlite3_bind_null(st, 8);
    if (!rc) rc = r->correct < 0 ? sqlite3_bind_null(st, 9) : sqlite3_bind_int(st, 9, r->correct);
    if (!rc) rc = bind_text(st, 10, r->result_json);
    if (!rc) rc = sqlite3_bind_int(st, 11, r->attempt_count < 0 ? 0 : r->attempt_count);
    if (!rc) rc = bind_i64_opt(st, 12, r->prompt_tokens);
    if (!rc) rc = bind_i64_opt(st, 13, r->completion_tokens);
    if (!rc) rc = sqlite3_bind_int(st, 14, r->llm_call_count < 0 ? 0 : r->llm_call_count);
    if (!rc) rc = bind_dbl_opt(st, 15, r->llm_ms);
    if (!rc) rc = bind_dbl_opt(st, 16, r->solve_ms);
    if (!rc) rc = bind_text(st, 17, r->finished_at);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        c = fail(d, DB_ECONSTRAINT, "problem %s/%s is already recorded for run %lld",
                 r->dataset, r->problem_id, (long long)r->run_id);
    else if (rc != SQLITE_DONE)
        c = fail_sq(d, "recording a problem");
out:
    sqlite3_finalize(st);
    return c;
}

static db_code insert_attempts(db *d, const db_problem_record *r)
{
    if (!r->nattempts) return DB_OK;
    sqlite3_stmt *st = NULL;
    db_code c = prep(d,
        "INSERT INTO attempts(run_id, dataset, problem_id, round, stage, outcome,"
        " messages_json, reply, formulation, result_json, feedback, prompt_tokens,"
        " completion_tokens, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
    if (c) return c;
    for (size_t i = 0; i < r->nattempts; i++) {
        const db_attempt_record *a = &r->attempts[i];
        sqlite3_reset(st);
        int rc = sqlite3_bind_int64(st, 1, r->run_id);
        if (!rc) rc = bind_text(st, 2, r->dataset);
        if (!rc) rc = bind_text(st, 3, r->problem_id);
        if (!rc) rc = sqlite3_bind_int(st, 4, a->round);
        if (!rc) rc = bind_text(st, 5, a->stage);
        if (!rc) rc = bind_text(st, 6, a->outcome);
        if (!rc) rc = bind_text(st, 7, a->messages_json);
        if (!rc) rc = bind_text(st, 8, a->reply);
        if (!rc) rc = bind_text(st, 9, a->formulation);
        if (!rc) rc = bind_text(st, 10, a->result_json);
        if (!rc) rc = bind_text(st, 11, a->feedback);
        if (!rc) rc = bind_i64_opt(st, 12, a->prompt_tokens);
        if (!rc) rc = bind_i64_opt(st, 13, a->completion_tokens);
        if (!rc) rc = bind_dbl_opt(st, 14, a->latency_ms);
        if (rc) {
            c = bind_failed(d, rc);
            goto out;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            c = fail(d, DB_ECONSTRAINT, "problem %s/%s: round %d appears twice", r->dataset,
                     r->problem_id, a->round);
            goto out;
        }
        if (rc != SQLITE_DONE) {
            c = fail_sq(d, "recording an attempt");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return c;
}

static db_code insert_calls(db *d, const db_problem_record *r)
{
    if (!r->ncalls) return DB_OK;
    sqlite3_stmt *st = NULL;
    db_code c = prep(d,
        "INSERT INTO llm_calls(run_id, dataset, problem_id, round, task, model, cache_key,"
        " cached, http_status, attempts, prompt_tokens, completion_tokens, latency_ms, error,"
        " at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
        " coalesce(?15, " NOW "))", &st);
    if (c) return c;
    for (size_t i = 0; i < r->ncalls; i++) {
        const db_llm_call_record *k = &r->calls[i];
        sqlite3_reset(st);
        int rc = sqlite3_bind_int64(st, 1, r->run_id);
        if (!rc) rc = bind_text(st, 2, r->dataset);
        if (!rc) rc = bind_text(st, 3, r->problem_id);
        if (!rc) rc = sqlite3_bind_int(st, 4, k->round);
        if (!rc) rc = bind_text(st, 5, k->task);
        if (!rc) rc = bind_text(st, 6, k->model);
        if (!rc) rc = bind_text(st, 7, k->cache_key);
        if (!rc) rc = sqlite3_bind_int(st, 8, k->cached);
        if (!rc) rc = k->http_status > 0 ? sqlite3_bind_int(st, 9, k->http_status)
                                         : sqlite3_bind_null(st, 9);
        if (!rc) rc = sqlite3_bind_int(st, 10, k->attempts);
        if (!rc) rc = bind_i64_opt(st, 11, k->prompt_tokens);
        if (!rc) rc = bind_i64_opt(st, 12, k->completion_tokens);
        if (!rc) rc = bind_dbl_opt(st, 13, k->latency_ms);
        if (!rc) rc = bind_text(st, 14, k->error);
        if (!rc) rc = bind_text(st, 15, k->at);
        if (rc) {
            c = bind_failed(d, rc);
            goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            c = fail_sq(d, "recording an LLM call");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return c;
}

static db_code run_exists(db *d, int64_t run_id)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep(d, "SELECT 1 FROM runs WHERE id = ?", &st);
    if (c) return c;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) c = fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
    else if (rc != SQLITE_ROW) c = fail_sq(d, "finding a run");
out:
    sqlite3_finalize(st);
    return c;
}

db_code db_problem_record_add(db *d, const db_problem_record *rec)
{
    if (!d || !rec) return DB_EARG;
    lock(d);
    db_code c = check_record(d, rec);
    if (c) goto out;
    c = begin(d);
    if (c) goto out;
    c = run_exists(d, rec->run_id);
    if (!c) c = insert_problem_row(d, rec);
    if (!c) c = insert_attempts(d, rec);
    if (!c) c = insert_calls(d, rec);
    if (!c) c = commit(d);
    if (c) rollback(d);
out:
    unlock(d);
    return c;
}

/* Prepares sql with ?1 = run_id, ?2 = dataset, ?3 = problem_id bound. */
static db_code prep_key(db *d, const char *sql, int64_t run_id, const char *dataset,
                        const char *problem_id, sqlite3_stmt **st)
{
    db_code c = prep(d, sql, st);
    if (c) return c;
    int rc = sqlite3_bind_int64(*st, 1, run_id);
    if (!rc) rc = bind_text(*st, 2, dataset);
    if (!rc) rc = bind_text(*st, 3, problem_id);
    if (rc) {
        sqlite3_finalize(*st);
        *st = NULL;
        return bind_failed(d, rc);
    }
    return DB_OK;
}

db_code db_problem_done(db *d, int64_t run_id, const char *dataset,
                        const char *problem_id, int *done)
{
    if (!d || !dataset || !problem_id || !done) return DB_EARG;
    *done = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = prep_key(d, "SELECT EXISTS (SELECT 1 FROM problems WHERE run_id = ?1 AND"
                            " dataset = ?2 AND problem_id = ?3)",
                         run_id, dataset, problem_id, &st);
    if (c) goto out;
    if (sqlite3_step(st) == SQLITE_ROW) *done = sqlite3_column_int(st, 0) != 0;
    else c = fail_sq(d, "looking up a problem");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

db_code db_problem_forget(db *d, int64_t run_id, const char *dataset,
                          const char *problem_id)
{
    if (!d || !dataset || !problem_id) return DB_EARG;
    sqlite3_stmt *st = NULL;
    lock(d);
    /* One statement: the cascade to attempts and llm_calls is part of it. */
    db_code c = prep_key(d, "DELETE FROM problems WHERE run_id = ?1 AND dataset = ?2 AND"
                            " problem_id = ?3", run_id, dataset, problem_id, &st);
    if (c) goto out;
    c = step_done(d, st, "deleting a problem");
    if (c == DB_OK && sqlite3_changes(d->sq) == 0)
        c = fail(d, DB_ENOTFOUND, "problem %s/%s is not recorded for run %lld", dataset,
                 problem_id, (long long)run_id);
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* ---- reading problems back ------------------------------------------------------ */

static void clear_attempt(db_attempt_record *a)
{
    free_str(a->stage);
    free_str(a->outcome);
    free_str(a->messages_json);
    free_str(a->reply);
    free_str(a->formulation);
    free_str(a->result_json);
    free_str(a->feedback);
}

static void clear_call(db_llm_call_record *k)
{
    free_str(k->task);
    free_str(k->model);
    free_str(k->cache_key);
    free_str(k->error);
    free_str(k->at);
}

void db_problem_record_clear(db_problem_record *r)
{
    if (!r) return;
    free_str(r->dataset);
    free_str(r->problem_id);
    free_str(r->question);
    free_str(r->gold_json);
    free_str(r->status);
    free_str(r->outcome);
    free_str(r->result_json);
    free_str(r->finished_at);
    db_attempt_record *a = (db_attempt_record *)r->attempts;
    for (size_t i = 0; i < r->nattempts; i++) clear_attempt(&a[i]);
    free(a);
    db_llm_call_record *k = (db_llm_call_record *)r->calls;
    for (size_t i = 0; i < r->ncalls; i++) clear_call(&k[i]);
    free(k);
    memset(r, 0, sizeof *r);
}

void db_problems_free(db_problem_record *recs, size_t n)
{
    if (!recs) return;
    for (size_t i = 0; i < n; i++) db_problem_record_clear(&recs[i]);
    free(recs);
}

#define PROBLEM_COLS                                                                   \
    "run_id, dataset, problem_id, question, gold_json, status, outcome, answer,"      \
    " correct, result_json, attempts, prompt_tokens, completion_tokens, llm_calls,"   \
    " llm_ms, solve_ms, finished_at"

static int load_problem(sqlite3_stmt *st, db_problem_record *r)
{
    memset(r, 0, sizeof *r);
    int bad = 0;
    r->run_id = sqlite3_column_int64(st, 0);
    bad |= col_dup(st, 1, &r->dataset);
    bad |= col_dup(st, 2, &r->problem_id);
    bad |= col_dup(st, 3, &r->question);
    bad |= col_dup(st, 4, &r->gold_json);
    bad |= col_dup(st, 5, &r->status);
    bad |= col_dup(st, 6, &r->outcome);
    r->has_answer = sqlite3_column_type(st, 7) != SQLITE_NULL;
    r->answer = r->has_answer ? sqlite3_column_double(st, 7) : 0;
    r->correct = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
    bad |= col_dup(st, 9, &r->result_json);
    r->attempt_count = sqlite3_column_int(st, 10);
    r->prompt_tokens = col_i64_opt(st, 11);
    r->completion_tokens = col_i64_opt(st, 12);
    r->llm_call_count = sqlite3_column_int(st, 13);
    r->llm_ms = col_dbl_opt(st, 14);
    r->solve_ms = col_dbl_opt(st, 15);
    bad |= col_dup(st, 16, &r->finished_at);
    if (bad) {
        db_problem_record_clear(r);
        return -1;
    }
    return 0;
}

static db_code load_attempts(db *d, db_problem_record *r)
{
    sqlite3_stmt *st = NULL;
    db_attempt_record *v = NULL;
    size_t len = 0, cap = 0;
    db_code c = prep_key(d,
        "SELECT round, stage, outcome, messages_json, reply, formulation, result_json,"
        " feedback, prompt_tokens, completion_tokens, latency_ms FROM attempts"
        " WHERE run_id = ?1 AND dataset = ?2 AND problem_id = ?3 ORDER BY round",
        r->run_id, r->dataset, r->problem_id, &st);
    if (c) return c;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            db_attempt_record *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) goto nomem;
            v = nv;
            cap = ncap;
        }
        db_attempt_record *a = &v[len];
        memset(a, 0, sizeof *a);
        len++;
        a->round = sqlite3_column_int(st, 0);
        int bad = col_dup(st, 1, &a->stage);
        bad |= col_dup(st, 2, &a->outcome);
        bad |= col_dup(st, 3, &a->messages_json);
        bad |= col_dup(st, 4, &a->reply);
        bad |= col_dup(st, 5, &a->formulation);
        bad |= col_dup(st, 6, &a->result_json);
        bad |= col_dup(st, 7, &a->feedback);
        a->prompt_tokens = col_i64_opt(st, 8);
        a->completion_tokens = col_i64_opt(st, 9);
        a->latency_ms = col_dbl_opt(st, 10);
        if (bad) goto nomem;
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(d, "reading attempts");
        goto out;
    }
    r->attempts = v;
    r->nattempts = len;
    v = NULL;
    len = 0;
    goto out;
nomem:
    c = fail(d, DB_ENOMEM, "out of memory reading attempts");
out:
    for (size_t i = 0; i < len; i++) clear_attempt(&v[i]);
    free(v);
    sqlite3_finalize(st);
    return c;
}

static db_code load_calls(db *d, db_problem_record *r)
{
    sqlite3_stmt *st = NULL;
    db_llm_call_record *v = NULL;
    size_t len = 0, cap = 0;
    db_code c = prep_key(d,
        "SELECT round, task, model, cache_key, cached, http_status, attempts, prompt_tokens,"
        " completion_tokens, latency_ms, error, at FROM llm_calls"
        " WHERE run_id = ?1 AND dataset = ?2 AND problem_id = ?3 ORDER BY id",
        r->run_id, r->dataset, r->problem_id, &st);
    if (c) return c;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            db_llm_call_record *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) goto nomem;
            v = nv;
            cap = ncap;
        }
        db_llm_call_record *k = &v[len];
        memset(k, 0, sizeof *k);
        len++;
        k->round = sqlite3_column_int(st, 0);
        int bad = col_dup(st, 1, &k->task);
        bad |= col_dup(st, 2, &k->model);
        bad |= col_dup(st, 3, &k->cache_key);
        k->cached = sqlite3_column_int(st, 4);
        k->http_status = sqlite3_column_int(st, 5);   /* NULL reads as 0 */
        k->attempts = sqlite3_column_int(st, 6);
        k->prompt_tokens = col_i64_opt(st, 7);
        k->completion_tokens = col_i64_opt(st, 8);
        k->latency_ms = col_dbl_opt(st, 9);
        bad |= col_dup(st, 10, &k->error);
        bad |= col_dup(st, 11, &k->at);
        if (bad) goto nomem;
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(d, "reading LLM calls");
        goto out;
    }
    r->calls = v;
    r->ncalls = len;
    v = NULL;
    len = 0;
    goto out;
nomem:
    c = fail(d, DB_ENOMEM, "out of memory reading LLM calls");
out:
    for (size_t i = 0; i < len; i++) clear_call(&v[i]);
    free(v);
    sqlite3_finalize(st);
    return c;
}

db_code db_problem_get(db *d, int64_t run_id, const char *dataset,
                       const char *problem_id, db_problem_record *out)
{
    if (!d || !dataset || !problem_id || !out) return DB_EARG;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    lock(d);
    /* One read transaction, so the problem and its rows are one snapshot. */
    db_code c = exec(d, "BEGIN", "starting a read");
    if (c) goto out;
    c = prep_key(d, "SELECT " PROBLEM_COLS " FROM problems WHERE run_id = ?1 AND"
                    " dataset = ?2 AND problem_id = ?3", run_id, dataset, problem_id, &st);
    if (c) goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        c = fail(d, DB_ENOTFOUND, "problem %s/%s is not recorded for run %lld", dataset,
                 problem_id, (long long)run_id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        c = fail_sq(d, "reading a problem");
        goto out;
    }
    if (load_problem(st, out)) {
        c = fail(d, DB_ENOMEM, "out of memory reading a problem");
        goto out;
    }
    c = load_attempts(d, out);
    if (!c) c = load_calls(d, out);
out:
    sqlite3_finalize(st);
    rollback(d);
    unlock(d);
    if (c) db_problem_record_clear(out);
    return c;
}

db_code db_problems_list(db *d, int64_t run_id, unsigned flags,
                         db_problem_record **out, size_t *n)
{
    if (!d || !out || !n) return DB_EARG;
    *out = NULL;
    *n = 0;
    db_problem_record *v = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = exec(d, "BEGIN", "starting a read");
    if (c) goto out;
    c = prep(d, "SELECT " PROBLEM_COLS " FROM problems WHERE run_id = ?"
                " ORDER BY dataset, CAST(problem_id AS INTEGER), problem_id", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            db_problem_record *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                c = fail(d, DB_ENOMEM, "out of memory listing problems");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        if (load_problem(st, &v[len])) {
            c = fail(d, DB_ENOMEM, "out of memory listing problems");
            goto out;
        }
        len++;
        if (flags & DB_LIST_DETAILS) {
            c = load_attempts(d, &v[len - 1]);
            if (!c) c = load_calls(d, &v[len - 1]);
            if (c) goto out;
        }
    }
    if (rc != SQLITE_DONE) c = fail_sq(d, "listing problems");
out:
    sqlite3_finalize(st);
    rollback(d);
    unlock(d);
    if (c) {
        db_problems_free(v, len);
    } else {
        *out = v;
        *n = len;
    }
    return c;
}

db_code db_problems_count(db *d, int64_t run_id, const char *status, int64_t *count)
{
    if (!d || !count) return DB_EARG;
    *count = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = prep(d, "SELECT count(*) FROM problems WHERE run_id = ?1 AND"
                        " (?2 IS NULL OR status = ?2)", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (!rc) rc = bind_text(st, 2, status);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
    else c = fail_sq(d, "counting problems");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* ---- the response cache -------------------------------------------------------- */

db_code db_cache_key(const char *endpoint, const char *model,
                     const char *request_canonical_json, char out[DB_KEY_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    static const char tag[] = "optagent-cache-v1";
    if (!out) return DB_EARG;
    out[0] = '\0';
    if (!endpoint || !model || !request_canonical_json) return DB_EARG;
    db_sha256_ctx c;
    unsigned char h[32];
    db_sha256_init(&c);
    /* Each part with its NUL: no two different inputs frame the same bytes. */
    db_sha256_update(&c, tag, sizeof tag);
    db_sha256_update(&c, endpoint, strlen(endpoint) + 1);
    db_sha256_update(&c, model, strlen(model) + 1);
    db_sha256_update(&c, request_canonical_json, strlen(request_canonical_json) + 1);
    db_sha256_final(&c, h);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
    return DB_OK;
}

db_code db_cache_get(db *d, const char *key, char **response_json)
{
    if (response_json) *response_json = NULL;
    if (!d || !key || !response_json) return DB_EARG;
    sqlite3_stmt *st = NULL;
    const char *resp = NULL;
    lock(d);
    db_code c = prep(d, "UPDATE cache SET hits = hits + 1 WHERE key = ? RETURNING response_json",
                     &st);
    if (c) goto out;
    int rc = bind_text(st, 1, key);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (col_dup(st, 0, &resp) || !resp) {
            c = fail(d, DB_ENOMEM, "out of memory reading a cached response");
            goto out;
        }
        rc = sqlite3_step(st);   /* finish the statement: the hit is counted */
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(d, "reading the cache");
        goto out;
    }
    if (!resp) c = fail(d, DB_ENOTFOUND, "no cache entry %.64s", key);
out:
    sqlite3_finalize(st);
    unlock(d);
    if (c) free_str(resp);
    else *response_json = (char *)resp;
    return c;
}

db_code db_cache_put(db *d, const char *key, const char *endpoint,
                     const char *model, const char *task,
                     const char *request_json, const char *response_json)
{
    if (!d) return DB_EARG;
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    lock(d);
    if (!key || !*key || !response_json) {
        c = fail(d, DB_EARG, "a cache entry needs a key and a response");
        goto out;
    }
    const char *secret = mentions_any(request_json, request_secrets);
    if (secret) {
        c = fail(d, DB_EARG, "request_json mentions %s: an API key is never stored", secret);
        goto out;
    }
    c = prep(d, "INSERT OR IGNORE INTO cache(key, endpoint, model, task, request_json,"
                " response_json) VALUES (?,?,?,?,?,?)", &st);
    if (c) goto out;
    int rc = bind_text(st, 1, key);
    if (!rc) rc = bind_text(st, 2, endpoint);
    if (!rc) rc = bind_text(st, 3, model);
    if (!rc) rc = bind_text(st, 4, task);
    if (!rc) rc = bind_text(st, 5, request_json);
    if (!rc) rc = bind_text(st, 6, response_json);
    if (rc) {
        c = bind_failed(d, rc);
        goto out;
    }
    c = step_done(d, st, "storing a cache entry");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* ---- merging ----------------------------------------------------------------- */

/* Runs sql (no row expected) and adds the rows it changed to *count. */
static db_code merge_exec(db *d, const char *sql, int64_t *count)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep(d, sql, &st);
    if (c) return c;
    c = step_done(d, st, "merging");
    if (c == DB_OK && count) *count += sqlite3_changes(d->sq);
    sqlite3_finalize(st);
    return c;
}

#define DUP_JOIN                                                                  \
    " FROM merge_src.problems p JOIN temp.merge_map m ON m.src_id = p.run_id"    \
    " JOIN main.problems d ON d.run_id = m.dst_id AND d.dataset = p.dataset"     \
    " AND d.problem_id = p.problem_id"
#define DIFFERS                                                                   \
    "(d.status IS NOT p.status OR d.outcome IS NOT p.outcome OR"                 \
    " d.answer IS NOT p.answer OR d.correct IS NOT p.correct)"

static db_code merge_body(db *d, db_merge_stats *s, char *first, size_t firstlen)
{
    static const char *const setup[] = {
        "DROP TABLE IF EXISTS temp.merge_map",
        "DROP TABLE IF EXISTS temp.merge_new",
        "CREATE TEMP TABLE merge_map(src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)",
        "CREATE TEMP TABLE merge_new(src_run INTEGER NOT NULL, dst_run INTEGER NOT NULL,"
        " dataset TEXT NOT NULL, problem_id TEXT NOT NULL,"
        " PRIMARY KEY (src_run, dataset, problem_id))",
    };
    db_code c = DB_OK;
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < sizeof setup / sizeof setup[0] && !c; i++)
        c = merge_exec(d, setup[i], NULL);
    if (c) return c;

    /* Runs: join those dst has (by UUID), add the others. */
    c = prep(d, "SELECT count(*) FROM merge_src.runs WHERE uuid IN (SELECT uuid FROM main.runs)",
             &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) s->runs_joined = sqlite3_column_int64(st, 0);
    else c = fail_sq(d, "merging runs");
    sqlite3_finalize(st);
    st = NULL;
    if (c) return c;
    c = merge_exec(d,
        "UPDATE main.runs AS r SET"
        " shard = CASE WHEN nullif(s.shard, '') IS NULL THEN r.shard"
        "   WHEN nullif(r.shard, '') IS NULL THEN s.shard"
        "   WHEN instr(',' || r.shard || ',', ',' || s.shard || ',') > 0 THEN r.shard"
        "   ELSE r.shard || ',' || s.shard END,"
        " status = CASE WHEN 'interrupted' IN (r.status, s.status) THEN 'interrupted'"
        "   WHEN 'running' IN (r.status, s.status) THEN 'running' ELSE 'finished' END,"
        " created_at = min(r.created_at, s.created_at),"
        " finished_at = CASE WHEN 'running' IN (r.status, s.status) THEN NULL"
        "   WHEN r.finished_at IS NULL THEN s.finished_at"
        "   WHEN s.finished_at IS NULL THEN r.finished_at"
        "   ELSE max(r.finished_at, s.finished_at) END"
        " FROM merge_src.runs AS s WHERE s.uuid = r.uuid", NULL);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.runs(uuid, created_at, command, config_json, shard, status,"
        " finished_at) SELECT uuid, created_at, command, config_json, shard, status,"
        " finished_at FROM merge_src.runs WHERE uuid NOT IN (SELECT uuid FROM main.runs)"
        " ORDER BY id", &s->runs_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO temp.merge_map(src_id, dst_id) SELECT s.id, r.id FROM merge_src.runs s"
        " JOIN main.runs r ON r.uuid = s.uuid", NULL);
    if (c) return c;

    /* Problems dst already has: counted, dst's row kept. */
    c = prep(d, "SELECT count(*), coalesce(sum(" DIFFERS "), 0)" DUP_JOIN, &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->problems_duplicate = sqlite3_column_int64(st, 0);
        s->problems_conflicting = sqlite3_column_int64(st, 1);
    } else {
        c = fail_sq(d, "merging problems");
    }
    sqlite3_finalize(st);
    st = NULL;
    if (c) return c;
    if (s->problems_duplicate) {
        c = prep(d, "SELECT r.uuid, p.dataset, p.problem_id" DUP_JOIN
                    " JOIN main.runs r ON r.id = m.dst_id"
                    " ORDER BY " DIFFERS " DESC, p.rowid LIMIT 1", &st);
        if (c) return c;
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(first, firstlen, "run %s %s/%s", (const char *)sqlite3_column_text(st, 0),
                     (const char *)sqlite3_column_text(st, 1),
                     (const char *)sqlite3_column_text(st, 2));
        sqlite3_finalize(st);
        st = NULL;
    }

    /* The new problems, then their attempts and calls. */
    c = merge_exec(d,
        "INSERT INTO temp.merge_new(src_run, dst_run, dataset, problem_id)"
        " SELECT p.run_id, m.dst_id, p.dataset, p.problem_id FROM merge_src.problems p"
        " JOIN temp.merge_map m ON m.src_id = p.run_id WHERE NOT EXISTS (SELECT 1 FROM"
        " main.problems d WHERE d.run_id = m.dst_id AND d.dataset = p.dataset AND"
        " d.problem_id = p.problem_id)", NULL);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.problems(" PROBLEM_COLS ") SELECT n.dst_run, p.dataset,"
        " p.problem_id, p.question, p.gold_json, p.status, p.outcome, p.answer, p.correct,"
        " p.result_json, p.attempts, p.prompt_tokens, p.completion_tokens, p.llm_calls,"
        " p.llm_ms, p.solve_ms, p.finished_at FROM merge_src.problems p JOIN temp.merge_new n"
        " ON n.src_run = p.run_id AND n.dataset = p.dataset AND n.problem_id = p.problem_id"
        " ORDER BY p.rowid", &s->problems_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.attempts(run_id, dataset, problem_id, round, stage, outcome,"
        " messages_json, reply, formulation, result_json, feedback, prompt_tokens,"
        " completion_tokens, latency_ms) SELECT n.dst_run, a.dataset, a.problem_id, a.round,"
        " a.stage, a.outcome, a.messages_json, a.reply, a.formulation, a.result_json,"
        " a.feedback, a.prompt_tokens, a.completion_tokens, a.latency_ms"
        " FROM merge_src.attempts a JOIN temp.merge_new n ON n.src_run = a.run_id AND"
        " n.dataset = a.dataset AND n.problem_id = a.problem_id", &s->attempts_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.llm_calls(run_id, dataset, problem_id, round, task, model,"
        " cache_key, cached, http_status, attempts, prompt_tokens, completion_tokens,"
        " latency_ms, error, at) SELECT n.dst_run, k.dataset, k.problem_id, k.round, k.task,"
        " k.model, k.cache_key, k.cached, k.http_status, k.attempts, k.prompt_tokens,"
        " k.completion_tokens, k.latency_ms, k.error, k.at FROM merge_src.llm_calls k"
        " JOIN temp.merge_new n ON n.src_run = k.run_id AND n.dataset = k.dataset AND"
        " n.problem_id = k.problem_id ORDER BY k.id", &s->calls_added);
    if (!c) c = merge_exec(d,
        "INSERT OR IGNORE INTO main.cache(key, endpoint, model, task, request_json,"
        " response_json, created_at, hits) SELECT key, endpoint, model, task, request_json,"
        " response_json, created_at, hits FROM merge_src.cache", &s->cache_added);
    if (!c) c = merge_exec(d, "DROP TABLE temp.merge_map", NULL);
    if (!c) c = merge_exec(d, "DROP TABLE temp.merge_new", NULL);
    return c;
}

static db_code attach_src(db *d, const char *path)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep(d, "ATTACH DATABASE ? AS merge_src", &st);
    if (c) return c;
    int rc = bind_text(st, 1, path);
    if (rc) c = bind_failed(d, rc);
    else c = step_done(d, st, "attaching the source database");
    sqlite3_finalize(st);
    return c;
}

static void detach_src(db *d)
{
    sqlite3_exec(d->sq, "DETACH DATABASE merge_src", NULL, NULL, NULL);
}

db_code db_merge(db *dst, const char *src_path, db_merge_stats *stats,
                 char *err, size_t errlen)
{
    db_merge_stats s = {0};
    char first[256] = "";
    db_code c = DB_OK;
    int attached = 0;
    struct stat sst, dstat;

    if (stats) *stats = s;
    if (err && errlen) err[0] = '\0';
    if (!dst || !src_path) {
        if (err && errlen) snprintf(err, errlen, "db_merge: no database or source path");
        return DB_EARG;
    }
    lock(dst);
    if (stat(src_path, &sst)) {
        c = fail(dst, DB_EOPEN, "cannot read %s: %s", src_path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sst.st_mode)) {
        c = fail(dst, DB_EOPEN, "cannot read %s: not a regular file", src_path);
        goto out;
    }
    const char *dpath = sqlite3_db_filename(dst->sq, "main");
    if (dpath && *dpath && stat(dpath, &dstat) == 0 && dstat.st_dev == sst.st_dev &&
        dstat.st_ino == sst.st_ino) {
        c = fail(dst, DB_EARG, "%s is the destination database itself", src_path);
        goto out;
    }
    c = attach_src(dst, src_path);
    if (c) goto out;
    attached = 1;
    int v = 0;
    c = pragma_int(dst, "PRAGMA merge_src.user_version", &v);
    if (c) {
        if (c == DB_EOPEN || c == DB_EIO)
            c = fail(dst, DB_EOPEN, "%s is not an SQLite database", src_path);
        goto out;
    }
    if (v > DB_SCHEMA_VERSION) {
        c = fail(dst, DB_ESCHEMA, "%s has schema version %d, newer than this build knows (%d)",
                 src_path, v, DB_SCHEMA_VERSION);
        goto out;
    }
    if (v < 1) {
        c = fail(dst, DB_EOPEN, "%s is not an optagent result database", src_path);
        goto out;
    }
    if (v < DB_SCHEMA_VERSION) {
        /* An older file: bring it up to date first, with a handle of its own. */
        detach_src(dst);
        attached = 0;
        char e[256];
        db_code oc;
        db *o = db_open(src_path, &oc, e, sizeof e);
        if (!o) {
            c = fail(dst, oc, "%s", e);
            goto out;
        }
        db_close(o);
        c = attach_src(dst, src_path);
        if (c) goto out;
        attached = 1;
    }
    c = begin(dst);
    if (c) goto out;
    c = merge_body(dst, &s, first, sizeof first);
    if (!c) c = commit(dst);
    if (c) {
        rollback(dst);
        s = (db_merge_stats){0};
    }
out:
    if (attached) detach_src(dst);
    if (c && err && errlen) snprintf(err, errlen, "%s", dst->err);
    unlock(dst);
    if (!c && s.problems_duplicate && err && errlen)
        snprintf(err, errlen, "%lld duplicate problem(s) kept once, %lld of them conflicting"
                 " (first %s: %s)", (long long)s.problems_duplicate,
                 (long long)s.problems_conflicting,
                 s.problems_conflicting ? "conflict" : "duplicate", first);
    if (stats) *stats = s;
    return c;
}
