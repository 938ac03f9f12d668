/* library/store — the library's SQLite file: schema and migrations, insights
 * with their history, statistics, problem texts and taxonomy tree, and the
 * FTS5 index retrieval runs on. See library.h for the contract and
 * library/README.md for the design.
 *
 * Every write is one BEGIN IMMEDIATE transaction (the write lock is taken up
 * front, so the busy timeout applies there and never half-way), so several
 * processes can add, edit and import at once. The FTS5 row of an insight is
 * rewritten in the same transaction as the insight. */
#include "library/store.h"
#include "db/db.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct lib {
    sqlite3 *sq;
    pthread_mutex_t mu;
    fts5_tokenizer tok_api;   /* the index's tokenizer, to stem words */
    Fts5Tokenizer *tok;
    sqlite3_stmt *df_st;      /* SELECT df FROM term_df WHERE term = ? */
    int readonly;
    char path[1024];
    char err[768];
};

#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

#define INSIGHT_COLS(ID)                                                      \
    ID ","                                                                    \
    " tax1 TEXT NOT NULL, tax2 TEXT, tax3 TEXT, tax4 TEXT,"                   \
    " condition TEXT NOT NULL, explanation TEXT NOT NULL, example TEXT NOT NULL," \
    " src_problem TEXT, src_dataset TEXT, src_run TEXT, src_model TEXT,"      \
    " version INTEGER NOT NULL CHECK (version >= 1),"                         \
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"                    \
    " extra TEXT"

/* The shipped taxonomy tree: (id, parent, label); parent 0 is the root. */
#define SEED_TAXONOMY                                                             \
    "INSERT INTO taxonomy(id, parent, label, shipped) VALUES"                     \
    " (1, 0, 'Domain Modeling', 1), (2, 0, 'General Formulation', 1),"            \
    " (3, 0, 'Solver and Format', 1),"                                           \
    " (10, 1, 'Network Flow', 1), (11, 1, 'Resource Allocation', 1),"            \
    " (12, 1, 'Production Planning', 1), (13, 1, 'Scheduling', 1),"              \
    " (14, 1, 'Transportation', 1), (15, 1, 'Blending and Diet', 1),"             \
    " (16, 1, 'Packing and Knapsack', 1), (17, 1, 'Assignment', 1),"              \
    " (18, 1, 'Facility Location', 1), (19, 1, 'Finance and Investment', 1),"     \
    " (30, 2, 'Big-M and Indicators', 1), (31, 2, 'Integrality', 1),"             \
    " (32, 2, 'Units and Scaling', 1), (33, 2, 'Proportions', 1),"                \
    " (34, 2, 'Variable Definition', 1), (35, 2, 'Constraint Formulation', 1),"   \
    " (36, 2, 'Objective Function', 1), (37, 2, 'Logical Conditions', 1),"        \
    " (38, 2, 'Bounds', 1),"                                                     \
    " (50, 3, 'Format Syntax', 1), (51, 3, 'Indexing and Sets', 1),"              \
    " (52, 3, 'Infeasibility and Unboundedness', 1), (53, 3, 'Numerical Issues', 1)," \
    " (54, 3, 'Report Quantities', 1),"                                          \
    " (100, 10, 'Flow conservation', 1), (101, 10, 'Arc capacities', 1),"         \
    " (102, 30, 'Either-or constraints', 1), (103, 30, 'Fixed charges', 1),"      \
    " (104, 31, 'Integrality of counts', 1), (105, 33, 'Percentages as fractions', 1)," \
    " (106, 33, 'Ratio constraints', 1), (107, 32, 'Unit conversion', 1),"        \
    " (108, 34, 'Integrality of counts', 1), (109, 12, 'Inventory balance', 1),"  \
    " (110, 13, 'Time periods', 1), (111, 15, 'Nutrient requirements', 1);"

/* migrations[i] takes the schema from version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE insights (" INSIGHT_COLS("id INTEGER PRIMARY KEY") ") STRICT;"
    "CREATE TABLE insight_history (" INSIGHT_COLS("id INTEGER NOT NULL") ","
    "  removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0,1)),"
    "  archived_at TEXT NOT NULL DEFAULT (" NOW ")"
    ") STRICT;"
    "CREATE UNIQUE INDEX insight_history_version ON insight_history(id, version, removed);"
    "CREATE TABLE insight_stats ("
    "  insight_id INTEGER NOT NULL REFERENCES insights(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN"
    "    ('positive','negative','unretrieved','irrelevant','invalid')),"
    "  problem_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY (insight_id, kind, problem_id)"
    ") STRICT;"
    "CREATE TABLE insight_problems ("
    "  insight_id INTEGER NOT NULL REFERENCES insights(id) ON DELETE CASCADE,"
    "  problem_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (insight_id, problem_id)"
    ") STRICT;"
    "CREATE TABLE taxonomy ("
    "  id INTEGER PRIMARY KEY,"
    "  parent INTEGER NOT NULL,"
    "  label TEXT NOT NULL,"
    "  shipped INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (parent, label)"
    ") STRICT;"
    SEED_TAXONOMY
    "CREATE VIRTUAL TABLE insight_fts USING fts5("
    "  applies, notapplies, explanation, taxonomy, problems,"
    "  tokenize = 'porter unicode61');"
    /* how many insights hold each stem (the index's tokens): a query keeps
     * its rarest words (library.c, select_terms) */
    "CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) STRICT, WITHOUT ROWID;",
    /* 1 -> 2: the text of every problem a statistic was recorded for, once
     * per problem id (lib_record_stat), so refinement can re-run retrieval
     * on it; not indexed */
    "CREATE TABLE problem_texts (problem_id TEXT PRIMARY KEY, text TEXT NOT NULL) STRICT;",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(NMIGRATIONS == LIB_SCHEMA_VERSION, "one migration step per schema version");

static const char *const stat_names[LIB_NSTATS] = {
    "positive", "negative", "unretrieved", "irrelevant", "invalid",
};

const char *lib_stat_name(lib_stat_kind k)
{
    return (unsigned)k < LIB_NSTATS ? stat_names[k] : "?";
}

const char *lib_strerror(lib_code code)
{
    switch (code) {
    case LIB_OK: return "ok";
    case LIB_EOPEN: return "cannot open the library";
    case LIB_ECORRUPT: return "the library file is damaged or not a library";
    case LIB_ESCHEMA: return "library schema not supported by this build";
    case LIB_EREADONLY: return "the library is read-only";
    case LIB_EIO: return "library I/O error";
    case LIB_EBUSY: return "the library is busy (locked)";
    case LIB_ENOTFOUND: return "no such insight";
    case LIB_EINVALID: return "invalid insight";
    case LIB_ETOOBIG: return "over a size limit";
    case LIB_ENOMEM: return "out of memory";
    case LIB_EARG: return "invalid argument";
    }
    return "unknown error";
}

/* ---- errors and statement helpers --------------------------------------------- */

lib_code lib_fail(lib *l, lib_code c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    return c;
}

static lib_code map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return LIB_OK;
    case SQLITE_BUSY: case SQLITE_LOCKED: return LIB_EBUSY;
    case SQLITE_NOMEM: return LIB_ENOMEM;
    case SQLITE_READONLY: return LIB_EREADONLY;
    case SQLITE_CANTOPEN: return LIB_EOPEN;
    case SQLITE_NOTADB: case SQLITE_CORRUPT: return LIB_ECORRUPT;
    case SQLITE_CONSTRAINT: return LIB_EINVALID;
    default: return LIB_EIO;
    }
}

static lib_code fail_sq(lib *l, const char *what)
{
    lib_code c = map_rc(sqlite3_extended_errcode(l->sq));
    if (c == LIB_OK) c = LIB_EIO;
    if (c == LIB_EREADONLY)
        return lib_fail(l, c, "%s: %s is read-only (%s)", what, l->path, sqlite3_errmsg(l->sq));
    return lib_fail(l, c, "%s: %s (%s)", what, sqlite3_errmsg(l->sq), l->path);
}

static void lock(lib *l) { pthread_mutex_lock(&l->mu); }
static void unlock(lib *l) { pthread_mutex_unlock(&l->mu); }

void lib_errmsg(lib *l, char *buf, size_t len)
{
    if (!buf || !len) return;
    buf[0] = '\0';
    if (!l) return;
    lock(l);
    snprintf(buf, len, "%s", l->err);
    unlock(l);
}

int lib_readonly(lib *l) { return l ? l->readonly : 0; }

static lib_code exec(lib *l, const char *sql, const char *what)
{
    if (sqlite3_exec(l->sq, sql, NULL, NULL, NULL) != SQLITE_OK) return fail_sq(l, what);
    return LIB_OK;
}

static lib_code prep(lib *l, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(l->sq, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fail_sq(l, "preparing a statement");
    }
    return LIB_OK;
}

static lib_code step_done(lib *l, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return LIB_OK;
    return fail_sq(l, what);
}

static lib_code begin_write(lib *l)
{
    if (l->readonly)
        return lib_fail(l, LIB_EREADONLY, "%s is read-only: cannot change the library", l->path);
    return exec(l, "BEGIN IMMEDIATE", "starting a transaction");
}
static lib_code commit(lib *l) { return exec(l, "COMMIT", "committing"); }
static void rollback(lib *l)
{
    if (!sqlite3_get_autocommit(l->sq)) sqlite3_exec(l->sq, "ROLLBACK", NULL, NULL, NULL);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static lib_code bind_failed(lib *l, int rc)
{
    return rc == SQLITE_NOMEM ? lib_fail(l, LIB_ENOMEM, "out of memory binding a value")
                              : lib_fail(l, LIB_EIO, "binding a value: %s", sqlite3_errstr(rc));
}

static char *col_dup(sqlite3_stmt *st, int i, int *oom)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *s = t ? malloc(n + 1) : NULL;
    if (!s) {
        *oom = 1;
        return NULL;
    }
    memcpy(s, t, n);
    s[n] = '\0';
    return s;
}

/* ---- scoring: an FTS5 auxiliary function ---------------------------------------
 * optagent_score(insight_fts, w0, ..., w4 [, df0, df1, ...]) returns a blob of SCORE_FIELDS
 * doubles for the row, from one pass over its matches (decoding them is the
 * costly part):
 *   [0] Okapi BM25 over the columns with weights w (the positive score)
 *   [1] BM25 of the notapplies column alone (the negative score)
 *   [2] how many distinct query terms occur outside notapplies
 *   [3..7] BM25 of each column alone (applies, notapplies, explanation,
 *          taxonomy, problems), to show why an insight matched
 *   [8] the number of rows in the index (N; counting the insights table
 *       instead would read all of it).
 * BM25 as FTS5's bm25() computes it (k1 = 1.2, b = 0.75, a phrase's
 * frequency summed over the columns with their weights, the document length
 * over all columns), but with Lucene's smoothed idf,
 * ln(1 + (N - n + 0.5) / (n + 0.5)), which stays positive: FTS5 clamps a
 * negative idf to 1e-6, so a word in more than half of a small library would
 * count for nothing and a one-insight library could never match. The
 * per-query part (N, the average length, each phrase's idf) is computed on
 * the first row and kept with xSetAuxdata. */
enum { NCOL = 5, SCORE_FIELDS = 3 + NCOL + 1 };

typedef struct {
    int nphrase;
    double nrow, avgdl;
    double idf[LIB_MAX_QUERY_TERMS];
} bm25_query;

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fc, void *user)
{
    (void)api;
    (void)fc;
    (*(int64_t *)user)++;
    return SQLITE_OK;
}

/* dfs (may be NULL): each phrase's document frequency, given by the caller
 * from term_df; counting them here would walk every phrase's rows again. */
static bm25_query *bm25_prepare(const Fts5ExtensionApi *api, Fts5Context *fc,
                                sqlite3_context *ctx, sqlite3_value **dfs, int ndf)
{
    bm25_query *q = api->xGetAuxdata(fc, 0);
    if (q) return q;
    q = sqlite3_malloc(sizeof *q);
    if (!q) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    memset(q, 0, sizeof *q);
    sqlite3_int64 nrow = 0, tot = 0, all = 0;
    int rc = api->xRowCount(fc, &nrow);
    for (int c = 0; rc == SQLITE_OK && c < NCOL; c++) {
        rc = api->xColumnTotalSize(fc, c, &tot);
        all += tot;
    }
    q->nphrase = api->xPhraseCount(fc);
    if (q->nphrase > LIB_MAX_QUERY_TERMS) q->nphrase = LIB_MAX_QUERY_TERMS;
    q->nrow = (double)nrow;
    q->avgdl = nrow > 0 && all > 0 ? (double)all / (double)nrow : 1.0;
    for (int i = 0; rc == SQLITE_OK && i < q->nphrase; i++) {
        int64_t n = 0;
        if (dfs && i < ndf) n = sqlite3_value_int64(dfs[i]);
        else rc = api->xQueryPhrase(fc, i, &n, count_row);
        q->idf[i] = log(1.0 + ((double)nrow - (double)n + 0.5) / ((double)n + 0.5));
    }
    if (rc == SQLITE_OK) {
        rc = api->xSetAuxdata(fc, q, sqlite3_free);   /* frees q itself on failure */
    } else {
        sqlite3_free(q);
    }
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return NULL;
    }
    return q;
}

static void aux_score(const Fts5ExtensionApi *api, Fts5Context *fc, sqlite3_context *ctx,
                      int nval, sqlite3_value **vals)
{
    const double k1 = 1.2, b = 0.75;
    bm25_query *q = bm25_prepare(api, fc, ctx, nval > NCOL ? vals + NCOL : NULL,
                                 nval > NCOL ? nval - NCOL : 0);
    if (!q) return;
    double w[NCOL];
    double fw[LIB_MAX_QUERY_TERMS] = {0}, fcol[LIB_MAX_QUERY_TERMS][NCOL];
    memset(fcol, 0, sizeof fcol);
    for (int c = 0; c < NCOL; c++) w[c] = c < nval ? sqlite3_value_double(vals[c]) : 1.0;
    int ninst = 0;
    if (api->xInstCount(fc, &ninst) != SQLITE_OK) {
        sqlite3_result_error(ctx, "optagent_score: cannot read the matches", -1);
        return;
    }
    for (int i = 0; i < ninst; i++) {
        int ph, col, off;
        if (api->xInst(fc, i, &ph, &col, &off) != SQLITE_OK) break;
        if (ph < 0 || ph >= q->nphrase || col < 0 || col >= NCOL) continue;
        fw[ph] += w[col];
        fcol[ph][col] += 1;
    }
    double dl = 0;
    for (int c = 0; c < NCOL; c++) {
        int n = 0;
        if (api->xColumnSize(fc, c, &n) == SQLITE_OK) dl += n;
    }
    double out[SCORE_FIELDS] = {0};
    double norm = k1 * (1 - b + b * dl / q->avgdl);
    for (int i = 0; i < q->nphrase; i++) {
        if (fw[i] > 0) out[0] += q->idf[i] * fw[i] * (k1 + 1) / (fw[i] + norm);
        int outside = 0;
        for (int c = 0; c < NCOL; c++) {
            double t = fcol[i][c];
            if (t <= 0) continue;
            out[3 + c] += q->idf[i] * t * (k1 + 1) / (t + norm);
            if (c != 1) outside = 1;
        }
        out[2] += outside;
    }
    out[1] = out[3 + 1];
    out[3 + NCOL] = q->nrow;
    sqlite3_result_blob(ctx, out, sizeof out, SQLITE_TRANSIENT);
}

static lib_code register_aux(lib *l)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT fts5(?1)", &st);
    if (c) return c;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api || api->iVersion < 2)
        return lib_fail(l, LIB_EIO, "this SQLite has no FTS5 (needed by the library)");
    if (api->xCreateFunction(api, "optagent_score", NULL, aux_score, NULL) != SQLITE_OK)
        return lib_fail(l, LIB_EIO, "cannot register an FTS5 function");
    /* The index's own tokenizer, to find a query word's stem in insight_vocab. */
    void *ud = NULL;
    const char *args[] = {"unicode61"};
    if (api->xFindTokenizer(api, "porter", &ud, &l->tok_api) != SQLITE_OK ||
        l->tok_api.xCreate(ud, args, 1, &l->tok) != SQLITE_OK)
        return lib_fail(l, LIB_EIO, "cannot load the porter tokenizer of FTS5");
    return LIB_OK;
}

/* ---- open and migrate ------------------------------------------------------------ */

static lib_code pragma_int(lib *l, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, sql, &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    else c = fail_sq(l, "reading the schema version");
    sqlite3_finalize(st);
    return c;
}

static lib_code migrate(lib *l)
{
    int v = 0;
    lib_code c = pragma_int(l, "PRAGMA user_version", &v);
    if (c) return c;
    if (v == LIB_SCHEMA_VERSION) return LIB_OK;
    if (v > LIB_SCHEMA_VERSION || v < 0)
        return lib_fail(l, LIB_ESCHEMA, "%s has library schema version %d, newer than this "
                        "build knows (%d): use a newer optagent", l->path, v, LIB_SCHEMA_VERSION);
    if (l->readonly)
        return lib_fail(l, LIB_EREADONLY, "%s is read-only and needs a schema upgrade "
                        "(version %d to %d)", l->path, v, LIB_SCHEMA_VERSION);
    for (;;) {
        c = begin_write(l);
        if (c) return c;
        c = pragma_int(l, "PRAGMA user_version", &v);   /* another process may have */
        if (c) goto bad;
        if (v == LIB_SCHEMA_VERSION) {
            rollback(l);
            return LIB_OK;
        }
        if (v > LIB_SCHEMA_VERSION || v < 0) {
            c = lib_fail(l, LIB_ESCHEMA, "%s has library schema version %d, newer than this "
                         "build knows (%d)", l->path, v, LIB_SCHEMA_VERSION);
            goto bad;
        }
        if (v == 0) {
            /* A fresh file has no tables; anything else is not a library. */
            sqlite3_stmt *st = NULL;
            int ntab = 0;
            c = prep(l, "SELECT count(*) FROM sqlite_schema", &st);
            if (c) goto bad;
            if (sqlite3_step(st) == SQLITE_ROW) ntab = sqlite3_column_int(st, 0);
            sqlite3_finalize(st);
            if (ntab) {
                c = lib_fail(l, LIB_ESCHEMA, "%s is an SQLite database but not an optagent "
                             "library (it has other tables)", l->path);
                goto bad;
            }
        }
        if (sqlite3_exec(l->sq, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            c = lib_fail(l, LIB_ESCHEMA, "%s: migrating the library to version %d failed: %s",
                         l->path, v + 1, sqlite3_errmsg(l->sq));
            goto bad;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        c = exec(l, sql, "setting the schema version");
        if (!c) c = commit(l);
        if (c) goto bad;
        continue;
    bad:
        rollback(l);
        return c;
    }
}

/* mkdir -p of the directories above path, each new one mode 0700. */
static int make_parents(const char *path, char *why, size_t whylen)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(why, whylen, "path too long");
        return -1;
    }
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return 0;
    *slash = '\0';
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char save = *p;
            *p = '\0';
            if (mkdir(buf, 0700) && errno != EEXIST) {
                snprintf(why, whylen, "cannot create %.400s: %s", buf, strerror(errno));
                return -1;
            }
            *p = save;
            if (!save) break;
        }
    }
    return 0;
}

/* lib_open's first step: the SQLite open flags for path (read-only when the
 * caller asks or the file or its directory cannot be written: WAL needs its
 * -wal and -shm files beside it), creating the parent directories of a new
 * library. */
static lib_code open_flags(lib *l, const char *path, unsigned oflags, int *flags)
{
    char why[512];
    struct stat sb;
    *flags = SQLITE_OPEN_FULLMUTEX;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return lib_fail(l, LIB_EOPEN, "%s is not a regular file", path);
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
        else snprintf(dir, sizeof dir, ".");
        if ((oflags & LIB_OPEN_READONLY) || access(path, W_OK) || access(dir, W_OK))
            l->readonly = 1;
        *flags |= l->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
        return LIB_OK;
    }
    if (oflags & LIB_OPEN_READONLY)
        return lib_fail(l, LIB_EOPEN, "cannot open %s: %s", path, strerror(errno));
    if (make_parents(path, why, sizeof why))
        return lib_fail(l, LIB_EOPEN, "cannot create the library %s: %s", path, why);
    *flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    return LIB_OK;
}

/* lib_open's second step, on an open connection: a damaged or foreign file is
 * refused before anything is written to it; then WAL (when writable), pragmas,
 * migrations and the scoring function. */
static lib_code open_prepare(lib *l, const char *path)
{
    sqlite3_extended_result_codes(l->sq, 1);
    sqlite3_busy_timeout(l->sq, 5000);
    /* The first statement reads the header: a damaged file shows here. */
    int rc = sqlite3_exec(l->sq, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int e = sqlite3_extended_errcode(l->sq) & 0xff;
        if (e == SQLITE_NOTADB || e == SQLITE_CORRUPT)
            return lib_fail(l, LIB_ECORRUPT, "%s is not an optagent library (not an SQLite "
                            "database, or damaged); it was left as it is", path);
        return fail_sq(l, "reading the library");
    }
    if (!l->readonly) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(l->sq, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return fail_sq(l, "setting journal_mode=WAL");
    }
    lib_code c = exec(l, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", "setting pragmas");
    int v = 0;
    if (!c) c = pragma_int(l, "PRAGMA user_version", &v);
    if (!c) c = migrate(l);
    if (!c) c = register_aux(l);
    return c;
}

lib *lib_open(const char *path, unsigned oflags, lib_code *code, char *err, size_t errlen)
{
    lib_code c = LIB_OK;
    lib *l = NULL;
    int mu_ok = 0;

    if (err && errlen) err[0] = '\0';
    if (!path || !*path) {
        c = LIB_EARG;
        if (err && errlen) snprintf(err, errlen, "no library path given");
        goto out;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        c = LIB_ENOMEM;
        if (err && errlen) snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(l->path, sizeof l->path, "%s", path);
    /* Recursive: lib_refine_score holds the lock across a trial transaction
     * while lib_search (which takes it too) runs inside it. */
    pthread_mutexattr_t ma;
    int mrc = pthread_mutexattr_init(&ma);
    if (!mrc) mrc = pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    if (!mrc) mrc = pthread_mutex_init(&l->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    if (mrc) {
        c = lib_fail(l, LIB_ENOMEM, "cannot create a mutex");
        goto out;
    }
    mu_ok = 1;
    int flags;
    if ((c = open_flags(l, path, oflags, &flags)) != LIB_OK) goto out;
    int rc = sqlite3_open_v2(path, &l->sq, flags, NULL);
    if (rc != SQLITE_OK) {
        c = l->sq ? lib_fail(l, LIB_EOPEN, "cannot open %s: %s", path, sqlite3_errmsg(l->sq))
                  : lib_fail(l, LIB_ENOMEM, "out of memory opening %s", path);
        goto out;
    }
    c = open_prepare(l, path);
out:
    if (code) *code = c;
    if (c != LIB_OK && l) {
        if (err && errlen) snprintf(err, errlen, "%s", l->err[0] ? l->err : lib_strerror(c));
        if (l->tok) l->tok_api.xDelete(l->tok);
        if (l->sq) sqlite3_close_v2(l->sq);
        if (mu_ok) pthread_mutex_destroy(&l->mu);
        free(l);
        l = NULL;
    }
    return l;
}

void lib_close(lib *l)
{
    if (!l) return;
    sqlite3_finalize(l->df_st);
    if (l->tok) l->tok_api.xDelete(l->tok);
    sqlite3_close_v2(l->sq);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- reading insights ------------------------------------------------------------ */

#define SELECT_COLS                                                               \
    "id, tax1, tax2, tax3, tax4, condition, explanation, example, src_problem,"  \
    " src_dataset, src_run, src_model, version, created_at, updated_at, extra"

static int row_to_insight(sqlite3_stmt *st, lib_insight *o)
{
    int oom = 0;
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    for (int i = 0; i < LIB_MAX_TAXONOMY; i++) {
        o->taxonomy[i] = col_dup(st, 1 + i, &oom);
        if (o->taxonomy[i]) o->ntaxonomy = i + 1;
    }
    o->condition = col_dup(st, 5, &oom);
    o->explanation = col_dup(st, 6, &oom);
    o->example = col_dup(st, 7, &oom);
    o->src_problem = col_dup(st, 8, &oom);
    o->src_dataset = col_dup(st, 9, &oom);
    o->src_run = col_dup(st, 10, &oom);
    o->src_model = col_dup(st, 11, &oom);
    o->version = sqlite3_column_int64(st, 12);
    o->created_at = col_dup(st, 13, &oom);
    o->updated_at = col_dup(st, 14, &oom);
    o->extra = col_dup(st, 15, &oom);
    if (oom) lib_insight_clear(o);
    return oom ? -1 : 0;
}

static int push_str(char ***v, size_t *n, const char *s)
{
    if ((*n & (*n - 1)) == 0) {   /* at 0, 1, 2, 4, ...: double */
        char **nv = realloc(*v, (*n ? *n * 2 : 1) * sizeof **v);
        if (!nv) return -1;
        *v = nv;
    }
    char *c = strdup(s ? s : "");
    if (!c) return -1;
    (*v)[(*n)++] = c;
    return 0;
}

/* Statistics and problem texts of o (by its id). */
static lib_code load_children(lib *l, lib_insight *o)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT kind, problem_id FROM insight_stats WHERE insight_id = ?"
                         " ORDER BY kind, seq", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, o->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        int k = 0;
        while (k < LIB_NSTATS && strcmp(kind ? kind : "", stat_names[k])) k++;
        if (k == LIB_NSTATS) continue;
        if (push_str(&o->stats[k].ids, &o->stats[k].n, (const char *)sqlite3_column_text(st, 1))) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory reading statistics");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(l, "reading statistics");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    c = prep(l, "SELECT problem_id, text FROM insight_problems WHERE insight_id = ? ORDER BY seq",
             &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, o->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lib_problem *np = realloc(o->problems, (o->nproblems + 1) * sizeof *np);
        if (!np) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory reading problems");
            goto out;
        }
        o->problems = np;
        int oom = 0;
        lib_problem *p = &np[o->nproblems++];
        p->id = col_dup(st, 0, &oom);
        p->text = col_dup(st, 1, &oom);
        if (oom || !p->id || !p->text) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory reading problems");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) c = fail_sq(l, "reading problems");
out:
    sqlite3_finalize(st);
    return c;
}

static lib_code get_locked(lib *l, int64_t id, lib_insight *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    lib_code c = prep(l, "SELECT " SELECT_COLS " FROM insights WHERE id = ?", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (row_to_insight(st, out)) c = lib_fail(l, LIB_ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        c = lib_fail(l, LIB_ENOTFOUND, "no insight %lld in %s", (long long)id, l->path);
    } else {
        c = fail_sq(l, "reading an insight");
    }
    sqlite3_finalize(st);
    if (!c) c = load_children(l, out);
    if (c) lib_insight_clear(out);
    return c;
}

lib_code lib_get(lib *l, int64_t id, lib_insight *out)
{
    if (!l || !out) return LIB_EARG;
    memset(out, 0, sizeof *out);
    lock(l);
    /* One read transaction: the row and its children from the same snapshot
     * (inside a trial transaction of lib_refine_score: that one). */
    int own = sqlite3_get_autocommit(l->sq);
    lib_code c = own ? exec(l, "BEGIN", "reading") : LIB_OK;
    if (!c) c = get_locked(l, id, out);
    if (own) rollback(l);
    unlock(l);
    return c;
}

static lib_code list_rows(lib *l, const char *sql, int64_t id, int children,
                          lib_insight **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    lib_insight *v = NULL;
    size_t len = 0, cap = 0;
    lib_code c = prep(l, sql, &st);
    if (c) return c;
    if (id) sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            lib_insight *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                c = lib_fail(l, LIB_ENOMEM, "out of memory listing insights");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        if (row_to_insight(st, &v[len])) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory listing insights");
            goto out;
        }
        len++;
        if (children && (c = load_children(l, &v[len - 1]))) goto out;
    }
    if (rc != SQLITE_DONE) c = fail_sq(l, "listing insights");
out:
    sqlite3_finalize(st);
    if (c) {
        lib_insights_free(v, len);
        v = NULL;
        len = 0;
    }
    *out = v;
    *n = len;
    return c;
}

lib_code lib_list(lib *l, lib_insight **out, size_t *n)
{
    if (!l || !out || !n) return LIB_EARG;
    *out = NULL;
    *n = 0;
    lock(l);
    lib_code c = exec(l, "BEGIN", "reading");
    if (!c) c = list_rows(l, "SELECT " SELECT_COLS " FROM insights ORDER BY id", 0, 1, out, n);
    rollback(l);
    unlock(l);
    return c;
}

lib_code lib_history(lib *l, int64_t id, lib_insight **out, size_t *n)
{
    if (!l || !out || !n) return LIB_EARG;
    *out = NULL;
    *n = 0;
    lock(l);
    lib_code c = list_rows(l, "SELECT " SELECT_COLS " FROM insight_history WHERE id = ?1"
                              " ORDER BY version, removed", id, 0, out, n);
    unlock(l);
    return c;
}

/* ---- writing -------------------------------------------------------------------- */

static lib_code id_taken(lib *l, int64_t id, int *taken)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT EXISTS (SELECT 1 FROM insights WHERE id = ?1) OR"
                         " EXISTS (SELECT 1 FROM insight_history WHERE id = ?1)", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) *taken = sqlite3_column_int(st, 0);
    else c = fail_sq(l, "checking an id");
    sqlite3_finalize(st);
    return c;
}

static lib_code fresh_id(lib *l, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT max(coalesce((SELECT max(id) FROM insights), 0),"
                         " coalesce((SELECT max(id) FROM insight_history), 0)) + 1", &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    else c = fail_sq(l, "choosing an id");
    sqlite3_finalize(st);
    return c;
}

/* Grows the taxonomy tree with the insight's path. */
static lib_code grow_taxonomy(lib *l, const lib_insight *ins)
{
    sqlite3_stmt *ins_st = NULL, *sel = NULL;
    lib_code c = prep(l, "INSERT OR IGNORE INTO taxonomy(parent, label) VALUES (?, ?)", &ins_st);
    if (!c) c = prep(l, "SELECT id FROM taxonomy WHERE parent = ? AND label = ?", &sel);
    int64_t parent = 0;
    for (int i = 0; !c && i < ins->ntaxonomy; i++) {
        sqlite3_reset(ins_st);
        sqlite3_bind_int64(ins_st, 1, parent);
        bind_text(ins_st, 2, ins->taxonomy[i]);
        c = step_done(l, ins_st, "growing the taxonomy");
        if (c) break;
        sqlite3_reset(sel);
        sqlite3_bind_int64(sel, 1, parent);
        bind_text(sel, 2, ins->taxonomy[i]);
        if (sqlite3_step(sel) == SQLITE_ROW) parent = sqlite3_column_int64(sel, 0);
        else c = fail_sq(l, "reading the taxonomy");
    }
    sqlite3_finalize(ins_st);
    sqlite3_finalize(sel);
    return c;
}

/* Joins strings with '\n' after lib_index_text; NULL when out of memory. */
static char *joined_index(const char *const *parts, size_t n)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += strlen(parts[i] ? parts[i] : "") + 1;
    char *raw = malloc(cap), *p = raw;
    if (!raw) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(parts[i] ? parts[i] : "");
        memcpy(p, parts[i] ? parts[i] : "", k);
        p += k;
        *p++ = '\n';
    }
    *p = '\0';
    char *out = lib_index_text(raw);
    free(raw);
    return out;
}

/* The distinct stems of texts, as the index tokenizes them. */
typedef struct { char **v; size_t n, cap; int oom; } stem_set;

static int collect_token(void *ctx, int tflags, const char *tok, int ntok, int start, int end)
{
    (void)start;
    (void)end;
    stem_set *s = ctx;
    if ((tflags & FTS5_TOKEN_COLOCATED) || ntok <= 0) return SQLITE_OK;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) {
            s->oom = 1;
            return SQLITE_NOMEM;
        }
        s->v = nv;
        s->cap = nc;
    }
    char *t = strndup(tok, (size_t)ntok);
    if (!t) {
        s->oom = 1;
        return SQLITE_NOMEM;
    }
    s->v[s->n++] = t;
    return SQLITE_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds delta to the document frequency of every distinct stem of texts. */
static lib_code adjust_df(lib *l, const char *const *texts, size_t ntexts, int delta)
{
    stem_set s = {NULL, 0, 0, 0};
    sqlite3_stmt *st = NULL;
    lib_code c = LIB_OK;
    for (size_t i = 0; i < ntexts && !s.oom; i++)
        if (texts[i])
            l->tok_api.xTokenize(l->tok, &s, FTS5_TOKENIZE_DOCUMENT, texts[i],
                                 (int)strlen(texts[i]), collect_token);
    if (s.oom) {
        c = lib_fail(l, LIB_ENOMEM, "out of memory indexing");
        goto out;
    }
    qsort(s.v, s.n, sizeof *s.v, cmp_str);
    c = prep(l, "INSERT INTO term_df(term, df) VALUES (?1, ?2)"
                " ON CONFLICT(term) DO UPDATE SET df = df + ?2", &st);
    for (size_t i = 0; !c && i < s.n; i++) {
        if (i && !strcmp(s.v[i], s.v[i - 1])) continue;
        sqlite3_reset(st);
        bind_text(st, 1, s.v[i]);
        sqlite3_bind_int(st, 2, delta);
        c = step_done(l, st, "counting words");
    }
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < s.n; i++) free(s.v[i]);
    free(s.v);
    return c;
}

static lib_code write_index(lib *l, const lib_insight *ins)
{
    sqlite3_stmt *st = NULL;
    lib_code c = LIB_OK;
    char *applies = NULL, *notapplies = NULL, *expl = NULL, *tax = NULL, *probs = NULL;
    const char **texts = NULL;
    size_t split = lib_condition_split(ins->condition);
    char *pos = strndup(ins->condition, split);
    if (pos) applies = lib_index_text(pos);
    free(pos);
    notapplies = lib_index_text(ins->condition + split);
    expl = lib_index_text(ins->explanation);
    tax = joined_index((const char *const *)ins->taxonomy, (size_t)ins->ntaxonomy);
    texts = calloc(ins->nproblems + 1, sizeof *texts);
    for (size_t i = 0; texts && i < ins->nproblems; i++) texts[i] = ins->problems[i].text;
    if (texts) probs = joined_index(texts, ins->nproblems);
    if (!applies || !notapplies || !expl || !tax || !probs) {
        c = lib_fail(l, LIB_ENOMEM, "out of memory indexing insight %lld", (long long)ins->id);
        goto out;
    }
    c = prep(l, "INSERT INTO insight_fts(rowid, applies, notapplies, explanation, taxonomy,"
                " problems) VALUES (?,?,?,?,?,?)", &st);
    if (c) goto out;
    sqlite3_bind_int64(st, 1, ins->id);
    bind_text(st, 2, applies);
    bind_text(st, 3, notapplies);
    bind_text(st, 4, expl);
    bind_text(st, 5, tax);
    bind_text(st, 6, probs);
    c = step_done(l, st, "indexing an insight");
    if (!c) {
        const char *idx[] = {applies, notapplies, expl, tax, probs};
        c = adjust_df(l, idx, 5, +1);
    }
out:
    sqlite3_finalize(st);
    free(applies);
    free(notapplies);
    free(expl);
    free(tax);
    free(probs);
    free(texts);
    return c;
}

/* Inserts ins (its id set) with its children and index; inside a transaction. */
static lib_code put_locked(lib *l, const lib_insight *ins)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "INSERT INTO insights(" SELECT_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,"
                         "?,?,?, coalesce(?, " NOW "), coalesce(?, " NOW "), ?)", &st);
    if (c) return c;
    int rc = sqlite3_bind_int64(st, 1, ins->id);
    for (int i = 0; !rc && i < LIB_MAX_TAXONOMY; i++)
        rc = bind_text(st, 2 + i, i < ins->ntaxonomy ? ins->taxonomy[i] : NULL);
    if (!rc) rc = bind_text(st, 6, ins->condition);
    if (!rc) rc = bind_text(st, 7, ins->explanation);
    if (!rc) rc = bind_text(st, 8, ins->example);
    if (!rc) rc = bind_text(st, 9, ins->src_problem);
    if (!rc) rc = bind_text(st, 10, ins->src_dataset);
    if (!rc) rc = bind_text(st, 11, ins->src_run);
    if (!rc) rc = bind_text(st, 12, ins->src_model);
    if (!rc) rc = sqlite3_bind_int64(st, 13, ins->version > 0 ? ins->version : 1);
    if (!rc) rc = bind_text(st, 14, ins->created_at);
    if (!rc) rc = bind_text(st, 15, ins->updated_at);
    if (!rc) rc = bind_text(st, 16, ins->extra);
    if (rc) c = bind_failed(l, rc);
    else c = step_done(l, st, "storing an insight");
    sqlite3_finalize(st);
    st = NULL;
    if (c) return c;

    c = prep(l, "INSERT INTO insight_stats(insight_id, kind, problem_id, seq) VALUES (?,?,?,?)",
             &st);
    for (int k = 0; !c && k < LIB_NSTATS; k++)
        for (size_t i = 0; !c && i < ins->stats[k].n; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, ins->id);
            bind_text(st, 2, stat_names[k]);
            bind_text(st, 3, ins->stats[k].ids[i]);
            sqlite3_bind_int64(st, 4, (int64_t)i);
            c = step_done(l, st, "storing statistics");
        }
    sqlite3_finalize(st);
    st = NULL;
    if (c) return c;
    c = prep(l, "INSERT INTO insight_problems(insight_id, problem_id, seq, text) VALUES (?,?,?,?)",
             &st);
    for (size_t i = 0; !c && i < ins->nproblems; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ins->id);
        bind_text(st, 2, ins->problems[i].id);
        sqlite3_bind_int64(st, 3, (int64_t)i);
        bind_text(st, 4, ins->problems[i].text);
        c = step_done(l, st, "storing problem texts");
    }
    sqlite3_finalize(st);
    if (!c) c = grow_taxonomy(l, ins);
    if (!c) c = write_index(l, ins);
    return c;
}

/* Copies the stored row of id into the history (removed: 0 or 1). */
static lib_code archive(lib *l, int64_t id, int removed)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "INSERT INTO insight_history(" SELECT_COLS ", removed) SELECT "
                         SELECT_COLS ", ? FROM insights WHERE id = ?", &st);
    if (c) return c;
    sqlite3_bind_int(st, 1, removed);
    sqlite3_bind_int64(st, 2, id);
    c = step_done(l, st, "keeping the earlier version");
    sqlite3_finalize(st);
    return c;
}

/* Removes the index row of id (and its words' document frequencies). */
static lib_code unindex_locked(lib *l, int64_t id)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT applies, notapplies, explanation, taxonomy, problems"
                         " FROM insight_fts WHERE rowid = ?", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *texts[5];
        for (int i = 0; i < 5; i++) texts[i] = (const char *)sqlite3_column_text(st, i);
        c = adjust_df(l, texts, 5, -1);
    }
    sqlite3_finalize(st);
    if (c) return c;
    c = prep(l, "DELETE FROM insight_fts WHERE rowid = ?", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    c = step_done(l, st, "removing from the index");
    sqlite3_finalize(st);
    return c;
}

/* Deletes the stored insight id, its children and its index row. */
static lib_code delete_locked(lib *l, int64_t id)
{
    sqlite3_stmt *st = NULL;
    lib_code c = unindex_locked(l, id);
    if (c) return c;
    c = prep(l, "DELETE FROM insights WHERE id = ?", &st);   /* children cascade */
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    c = step_done(l, st, "removing an insight");
    if (!c && sqlite3_changes(l->sq) == 0)
        c = lib_fail(l, LIB_ENOTFOUND, "no insight %lld in %s", (long long)id, l->path);
    sqlite3_finalize(st);
    return c;
}

lib_code lib_add(lib *l, lib_insight *ins)
{
    if (!l || !ins) return LIB_EARG;
    lock(l);
    int64_t orig = ins->id, id = ins->id;
    lib_code c = begin_write(l);
    if (c) goto out;
    if (id > 0) {
        int taken = 0;
        c = id_taken(l, id, &taken);
        if (!c && taken)
            c = lib_fail(l, LIB_EINVALID, "insight id %lld is taken (now or in the history)",
                         (long long)id);
    } else {
        c = fresh_id(l, &id);
    }
    if (c) goto out;
    ins->id = id;
    c = put_locked(l, ins);
    if (!c) c = commit(l);
out:
    if (c) {
        rollback(l);
        ins->id = orig;
    }
    unlock(l);
    return c;
}

lib_code lib_store_replace(lib *l, int64_t id, lib_insight *ins)
{
    lock(l);
    lib_insight old;
    memset(&old, 0, sizeof old);
    lib_code c = begin_write(l);
    if (!c) c = get_locked(l, id, &old);
    if (!c) c = archive(l, id, 0);
    if (!c) c = delete_locked(l, id);
    if (!c) {
        ins->id = id;
        ins->version = old.version + 1;
        free(ins->created_at);
        ins->created_at = old.created_at ? strdup(old.created_at) : NULL;
        free(ins->updated_at);
        ins->updated_at = NULL;   /* now */
        c = put_locked(l, ins);
    }
    if (!c) c = commit(l);
    if (c) rollback(l);
    lib_insight_clear(&old);
    unlock(l);
    return c;
}

lib_code lib_remove(lib *l, int64_t id)
{
    if (!l) return LIB_EARG;
    lock(l);
    lib_code c = begin_write(l);
    if (!c) c = archive(l, id, 1);
    if (!c) c = delete_locked(l, id);
    if (!c) c = commit(l);
    if (c) rollback(l);
    unlock(l);
    return c;
}

lib_code lib_store_import(lib *l, lib_insight *v, size_t n, lib_import_stats *s)
{
    lock(l);
    lib_code c = begin_write(l);
    for (size_t i = 0; !c && i < n; i++) {
        lib_insight *ins = &v[i];
        int taken = 0;
        if (ins->id > 0) {
            lib_insight cur;
            c = get_locked(l, ins->id, &cur);
            if (c == LIB_OK) {
                int same = lib_insight_same(&cur, ins);
                lib_insight_clear(&cur);
                if (same) {
                    s->unchanged++;
                    continue;
                }
            } else if (c != LIB_ENOTFOUND) {
                break;
            }
            c = id_taken(l, ins->id, &taken);
            if (c) break;
        }
        if (ins->id <= 0 || taken) {
            c = fresh_id(l, &ins->id);
            if (c) break;
            s->renumbered++;
        } else {
            s->added++;
        }
        c = put_locked(l, ins);
        if (c) c = lib_fail(l, c, "record %zu (insight %lld): %s", i + 1, (long long)ins->id,
                            l->err);
    }
    if (!c) c = commit(l);
    if (c) {
        rollback(l);
        s->added = s->renumbered = s->unchanged = 0;
    }
    unlock(l);
    return c;
}

/* ---- retrieval ------------------------------------------------------------------ */

lib_code lib_store_match(lib *l, const char *q, const int64_t *df, int ndf, store_row **rows,
                         size_t *n)
{
    char sql[256 + LIB_MAX_QUERY_TERMS * 24];
    int len0 = snprintf(sql, sizeof sql, "SELECT rowid, optagent_score(insight_fts, %g, 0, %g, %g, %g",
                        LIB_W_APPLIES, LIB_W_EXPLANATION, LIB_W_TAXONOMY, LIB_W_PROBLEMS);
    for (int i = 0; i < ndf && i < LIB_MAX_QUERY_TERMS; i++)
        len0 += snprintf(sql + len0, sizeof sql - (size_t)len0, ", %lld", (long long)df[i]);
    snprintf(sql + len0, sizeof sql - (size_t)len0,
             ") FROM insight_fts WHERE insight_fts MATCH ?");
    sqlite3_stmt *st = NULL;
    store_row *v = NULL;
    size_t len = 0, cap = 0;
    *rows = NULL;
    *n = 0;
    lock(l);
    lib_code c = prep(l, sql, &st);
    if (c) goto out;
    int rc = bind_text(st, 1, q);
    if (rc) {
        c = bind_failed(l, rc);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            store_row *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                c = lib_fail(l, LIB_ENOMEM, "out of memory searching");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        double sc[SCORE_FIELDS] = {0};
        if (sqlite3_column_bytes(st, 1) == (int)sizeof sc)
            memcpy(sc, sqlite3_column_blob(st, 1), sizeof sc);
        v[len].id = sqlite3_column_int64(st, 0);
        v[len].pos = sc[0];
        v[len].neg = sc[1];
        v[len].terms = (int)sc[2];
        memcpy(v[len].parts, sc + 3, sizeof v[len].parts);
        v[len].nrow = (int64_t)sc[3 + NCOL];
        len++;
    }
    if (rc != SQLITE_DONE) c = fail_sq(l, "searching");
out:
    sqlite3_finalize(st);
    unlock(l);
    if (c) free(v);
    else {
        *rows = v;
        *n = len;
    }
    return c;
}

typedef struct { char stem[128]; int got; } stem_ctx;

static int take_token(void *ctx, int tflags, const char *tok, int ntok, int start, int end)
{
    (void)start;
    (void)end;
    stem_ctx *s = ctx;
    if (s->got || (tflags & FTS5_TOKEN_COLOCATED)) return SQLITE_OK;
    if (ntok >= (int)sizeof s->stem) ntok = (int)sizeof s->stem - 1;
    memcpy(s->stem, tok, (size_t)ntok);
    s->stem[ntok] = '\0';
    s->got = 1;
    return SQLITE_OK;
}

lib_code lib_store_doc_freq(lib *l, const char *word, int64_t *df)
{
    stem_ctx s = {"", 0};
    *df = 0;
    lock(l);
    lib_code c = LIB_OK;
    if (l->tok_api.xTokenize(l->tok, &s, FTS5_TOKENIZE_QUERY, word, (int)strlen(word),
                             take_token) != SQLITE_OK) {
        c = lib_fail(l, LIB_EIO, "cannot tokenize a query word");
        goto out;
    }
    if (!s.got) goto out;
    if (!l->df_st && (c = prep(l, "SELECT df FROM term_df WHERE term = ?", &l->df_st))) goto out;
    sqlite3_reset(l->df_st);
    bind_text(l->df_st, 1, s.stem);
    int rc = sqlite3_step(l->df_st);
    if (rc == SQLITE_ROW) *df = sqlite3_column_int64(l->df_st, 0);
    else if (rc != SQLITE_DONE) c = fail_sq(l, "reading the vocabulary");
    sqlite3_reset(l->df_st);
out:
    unlock(l);
    return c;
}

lib_code lib_store_counts(lib *l, int64_t id, int64_t *pos, int64_t *neg)
{
    sqlite3_stmt *st = NULL;
    *pos = *neg = 0;
    lock(l);
    lib_code c = prep(l, "SELECT coalesce(sum(kind = 'positive'), 0), coalesce(sum(kind ="
                         " 'negative'), 0) FROM insight_stats WHERE insight_id = ?", &st);
    if (!c) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *pos = sqlite3_column_int64(st, 0);
            *neg = sqlite3_column_int64(st, 1);
        } else {
            c = fail_sq(l, "counting statistics");
        }
    }
    sqlite3_finalize(st);
    unlock(l);
    return c;
}

/* ---- stats ------------------------------------------------------------------------ */

static lib_code count_one(lib *l, const char *sql, double *out)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, sql, &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) *out = (double)sqlite3_column_int64(st, 0);
    else c = fail_sq(l, "counting");
    sqlite3_finalize(st);
    return c;
}

lib_code lib_store_stats(lib *l, cJSON **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *by = NULL, *stats = NULL;
    sqlite3_stmt *st = NULL;
    double v = 0;
    lock(l);
    lib_code c = exec(l, "BEGIN", "reading");
    if (c || !o) goto out;
    if ((c = count_one(l, "SELECT count(*) FROM insights", &v))) goto out;
    cJSON_AddNumberToObject(o, "insights", v);
    if ((c = count_one(l, "SELECT count(*) FROM insight_history", &v))) goto out;
    cJSON_AddNumberToObject(o, "versions_in_history", v);
    if ((c = count_one(l, "SELECT count(*) FROM taxonomy", &v))) goto out;
    cJSON_AddNumberToObject(o, "taxonomy_labels", v);
    by = cJSON_AddObjectToObject(o, "by_taxonomy");
    stats = cJSON_AddObjectToObject(o, "stats");
    if (!by || !stats) goto oom;
    if ((c = prep(l, "SELECT tax1, coalesce(tax2, ''), count(*) FROM insights"
                     " GROUP BY 1, 2 ORDER BY 1, 2", &st)))
        goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        const char *lab = (const char *)sqlite3_column_text(st, 1);
        double k = (double)sqlite3_column_int64(st, 2);
        cJSON *stage = cJSON_GetObjectItemCaseSensitive(by, s);
        if (!stage) {
            stage = cJSON_AddObjectToObject(by, s);
            if (!stage || !cJSON_AddNumberToObject(stage, "count", 0) ||
                !cJSON_AddObjectToObject(stage, "labels"))
                goto oom;
        }
        cJSON *cnt = cJSON_GetObjectItemCaseSensitive(stage, "count");
        cJSON_SetNumberValue(cnt, cnt->valuedouble + k);
        if (*lab && !cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(stage, "labels"),
                                             lab, k))
            goto oom;
    }
    if (rc != SQLITE_DONE) {
        c = fail_sq(l, "counting by taxonomy");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    for (int k = 0; k < LIB_NSTATS; k++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM insight_stats WHERE kind = '%s'",
                 stat_names[k]);
        if ((c = count_one(l, sql, &v))) goto out;
        if (!cJSON_AddNumberToObject(stats, stat_names[k], v)) goto oom;
    }
    goto out;
oom:
    c = lib_fail(l, LIB_ENOMEM, "out of memory counting");
out:
    if (!o && !c) c = lib_fail(l, LIB_ENOMEM, "out of memory counting");
    sqlite3_finalize(st);
    rollback(l);
    unlock(l);
    if (c) cJSON_Delete(o);
    else *out = o;
    return c;
}

/* ---- learning ---------------------------------------------------------------------
 * The SQL side of library/learn.c: content hash, statistics with problem
 * texts, verified candidates with duplicate detection, condition
 * replacement and the trial transaction of lib_refine_score. */

/* "name len\n" then the bytes and "\n": a canonical form no field's content
 * can forge. */
static void hash_field(db_sha256_ctx *h, const char *name, const char *s)
{
    char head[64];
    size_t n = s ? strlen(s) : 0;
    int k = snprintf(head, sizeof head, "%s %zu\n", name, n);
    db_sha256_update(h, head, (size_t)k);
    if (n) db_sha256_update(h, s, n);
    db_sha256_update(h, "\n", 1);
}

static lib_code hash_locked(lib *l, db_sha256_ctx *h)
{
    sqlite3_stmt *st = NULL, *pr = NULL;
    lib_code c = prep(l, "SELECT id, version, tax1, tax2, tax3, tax4, condition, explanation,"
                         " example FROM insights ORDER BY id", &st);
    if (!c) c = prep(l, "SELECT problem_id, text FROM insight_problems WHERE insight_id = ?"
                        " ORDER BY seq", &pr);
    int rc = SQLITE_DONE;
    while (!c && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char head[96];
        int k = snprintf(head, sizeof head, "insight %lld %lld\n",
                         (long long)sqlite3_column_int64(st, 0),
                         (long long)sqlite3_column_int64(st, 1));
        db_sha256_update(h, head, (size_t)k);
        static const char *const names[] = {"tax1", "tax2", "tax3", "tax4", "condition",
                                            "explanation", "example"};
        for (int i = 0; i < 7; i++)
            hash_field(h, names[i], (const char *)sqlite3_column_text(st, 2 + i));
        sqlite3_reset(pr);
        sqlite3_bind_int64(pr, 1, sqlite3_column_int64(st, 0));
        int prc;
        while ((prc = sqlite3_step(pr)) == SQLITE_ROW) {
            hash_field(h, "problem", (const char *)sqlite3_column_text(pr, 0));
            hash_field(h, "text", (const char *)sqlite3_column_text(pr, 1));
        }
        if (prc != SQLITE_DONE) c = fail_sq(l, "hashing problem texts");
    }
    if (!c && rc != SQLITE_DONE) c = fail_sq(l, "hashing insights");
    sqlite3_finalize(st);
    sqlite3_finalize(pr);
    return c;
}

lib_code lib_content_hash(lib *l, char hex[65])
{
    if (!l || !hex) return LIB_EARG;
    hex[0] = '\0';
    db_sha256_ctx h;
    db_sha256_init(&h);
    db_sha256_update(&h, "optagent-library-content 1\n", 27);
    lock(l);
    lib_code c = exec(l, "BEGIN", "reading");
    if (!c) c = hash_locked(l, &h);
    rollback(l);
    unlock(l);
    if (c) return c;
    unsigned char d[32];
    db_sha256_final(&h, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return LIB_OK;
}

static lib_code put_problem_text(lib *l, const char *pid, const char *text)
{
    if (!text) return LIB_OK;
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "INSERT INTO problem_texts(problem_id, text) VALUES (?, ?)"
                         " ON CONFLICT(problem_id) DO UPDATE SET text = excluded.text", &st);
    if (c) return c;
    bind_text(st, 1, pid);
    bind_text(st, 2, text);
    c = step_done(l, st, "storing a problem text");
    sqlite3_finalize(st);
    return c;
}

/* One outcome per (insight, problem) among positive/negative/unretrieved:
 * the other two are dropped, the same kind is kept where it was. */
static lib_code set_outcome(lib *l, int64_t id, const char *pid, lib_stat_kind kind)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "DELETE FROM insight_stats WHERE insight_id = ?1 AND problem_id = ?2"
                         " AND kind IN ('positive', 'negative', 'unretrieved') AND kind != ?3",
                      &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, pid);
    bind_text(st, 3, stat_names[kind]);
    c = step_done(l, st, "recording an outcome");
    sqlite3_finalize(st);
    if (c) return c;
    c = prep(l, "INSERT OR IGNORE INTO insight_stats(insight_id, kind, problem_id, seq)"
                " SELECT ?1, ?3, ?2, coalesce(max(seq) + 1, 0) FROM insight_stats"
                " WHERE insight_id = ?1 AND kind = ?3", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, pid);
    bind_text(st, 3, stat_names[kind]);
    c = step_done(l, st, "recording an outcome");
    sqlite3_finalize(st);
    return c;
}

static lib_code check_problem(lib *l, const char *pid, const char *text)
{
    if (!pid || !*pid || strlen(pid) > LIB_MAX_ID)
        return lib_fail(l, LIB_EARG, "a problem id of 1 to %d bytes is needed", LIB_MAX_ID);
    if (text && strlen(text) > LIB_MAX_FIELD)
        return lib_fail(l, LIB_ETOOBIG, "problem text of %s: %zu bytes, over the limit of %d",
                        pid, strlen(text), LIB_MAX_FIELD);
    return LIB_OK;
}

static lib_code exists_locked(lib *l, int64_t id)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "SELECT 1 FROM insights WHERE id = ?", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) c = lib_fail(l, LIB_ENOTFOUND, "no insight %lld in %s", (long long)id,
                                        l->path);
    else if (rc != SQLITE_ROW) c = fail_sq(l, "reading an insight");
    sqlite3_finalize(st);
    return c;
}

lib_code lib_record_stat(lib *l, int64_t id, const char *pid, const char *text,
                         lib_stat_kind kind)
{
    if (!l) return LIB_EARG;
    if (kind != LIB_STAT_POSITIVE && kind != LIB_STAT_NEGATIVE && kind != LIB_STAT_UNRETRIEVED)
        return lib_fail(l, LIB_EARG, "only positive, negative and unretrieved are recorded");
    lock(l);
    lib_code c = check_problem(l, pid, text);
    if (!c) c = begin_write(l);
    if (!c) c = exists_locked(l, id);
    if (!c) c = set_outcome(l, id, pid, kind);
    if (!c) c = put_problem_text(l, pid, text);
    if (!c) c = commit(l);
    if (c) rollback(l);
    unlock(l);
    return c;
}

lib_code lib_problem_text(lib *l, const char *pid, char **text)
{
    if (!l || !pid || !text) return LIB_EARG;
    *text = NULL;
    sqlite3_stmt *st = NULL;
    lock(l);
    lib_code c = prep(l, "SELECT text FROM problem_texts WHERE problem_id = ?", &st);
    if (!c) {
        bind_text(st, 1, pid);
        int rc = sqlite3_step(st), oom = 0;
        if (rc == SQLITE_ROW) {
            *text = col_dup(st, 0, &oom);
            if (oom) c = lib_fail(l, LIB_ENOMEM, "out of memory");
        } else if (rc == SQLITE_DONE) {
            c = lib_fail(l, LIB_ENOTFOUND, "no text stored for problem %s", pid);
        } else {
            c = fail_sq(l, "reading a problem text");
        }
    }
    sqlite3_finalize(st);
    unlock(l);
    return c;
}

lib_code lib_taxonomy_paths(lib *l, char **out)
{
    if (!l || !out) return LIB_EARG;
    *out = NULL;
    sqlite3_stmt *st = NULL;
    lib_buf b = {NULL, 0, 0};
    lock(l);
    /* tree order: each path sorts right after its parent's */
    lib_code c = prep(l, "WITH RECURSIVE t(id, path, ord) AS ("
                         " SELECT id, label, printf('%08d', id) FROM taxonomy WHERE parent = 0"
                         " UNION ALL SELECT x.id, t.path || ' > ' || x.label,"
                         " t.ord || '/' || printf('%08d', x.id)"
                         " FROM taxonomy x JOIN t ON x.parent = t.id)"
                         " SELECT path FROM t ORDER BY ord", &st);
    int rc = SQLITE_DONE;
    while (!c && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (lib_buf_add(&b, (const char *)sqlite3_column_text(st, 0)) || lib_buf_add(&b, "\n"))
            c = lib_fail(l, LIB_ENOMEM, "out of memory");
    }
    if (!c && rc != SQLITE_DONE) c = fail_sq(l, "reading the taxonomy");
    sqlite3_finalize(st);
    unlock(l);
    if (!c && !b.s && lib_buf_add(&b, "")) c = lib_fail(l, LIB_ENOMEM, "out of memory");
    if (c) free(b.s);
    else *out = b.s;
    return c;
}

/* ---- similarity and duplicates --------------------------------------------------- */

/* The distinct stems (sorted) of a text's content words. */
static lib_code content_stems(lib *l, const char *a, const char *b, stem_set *s)
{
    memset(s, 0, sizeof *s);
    char *wa = lib_content_words(a), *wb = lib_content_words(b);
    if (wa && wb) {
        l->tok_api.xTokenize(l->tok, s, FTS5_TOKENIZE_DOCUMENT, wa, (int)strlen(wa),
                             collect_token);
        if (!s->oom)
            l->tok_api.xTokenize(l->tok, s, FTS5_TOKENIZE_DOCUMENT, wb, (int)strlen(wb),
                                 collect_token);
    }
    int oom = !wa || !wb || s->oom;
    free(wa);
    free(wb);
    if (oom) return lib_fail(l, LIB_ENOMEM, "out of memory comparing insights");
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k && !strcmp(s->v[i], s->v[k - 1])) free(s->v[i]);
        else s->v[k++] = s->v[i];
    }
    s->n = k;
    return LIB_OK;
}

static void stems_free(stem_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Jaccard of two sorted distinct sets. */
static double jaccard(const stem_set *a, const stem_set *b)
{
    size_t i = 0, j = 0, both = 0;
    while (i < a->n && j < b->n) {
        int d = strcmp(a->v[i], b->v[j]);
        if (!d) both++;
        if (d <= 0) i++;
        if (d >= 0) j++;
    }
    size_t uni = a->n + b->n - both;
    return uni ? (double)both / (double)uni : 0.0;
}

lib_code lib_similarity(lib *l, const lib_insight *a, const lib_insight *b, double *sim)
{
    if (!l || !a || !b || !sim) return LIB_EARG;
    stem_set sa, sb;
    lock(l);
    lib_code c = content_stems(l, a->condition, a->explanation, &sa);
    if (!c) {
        c = content_stems(l, b->condition, b->explanation, &sb);
        if (!c) *sim = jaccard(&sa, &sb);
        stems_free(&sb);
    }
    stems_free(&sa);
    unlock(l);
    return c;
}

/* The stored insight the candidate duplicates (0: none), in the transaction. */
static lib_code find_duplicate(lib *l, const lib_insight *cand, int64_t *dup)
{
    sqlite3_stmt *st = NULL;
    stem_set cs, os;
    *dup = 0;
    lib_code c = content_stems(l, cand->condition, cand->explanation, &cs);
    if (c) return c;
    const char *leaf = cand->taxonomy[cand->ntaxonomy - 1];
    c = prep(l, "SELECT id, coalesce(tax4, tax3, tax2, tax1), condition, explanation"
                " FROM insights ORDER BY id", &st);
    double best = 0;
    int rc = SQLITE_DONE;
    while (!c && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        c = content_stems(l, (const char *)sqlite3_column_text(st, 2),
                          (const char *)sqlite3_column_text(st, 3), &os);
        if (c) break;
        double j = jaccard(&cs, &os);
        stems_free(&os);
        int same_leaf = !strcasecmp(leaf, (const char *)sqlite3_column_text(st, 1));
        if (j > best && j >= (same_leaf ? LIB_DUP_SAME_LEAF : LIB_DUP_ANY)) {
            best = j;
            *dup = sqlite3_column_int64(st, 0);
        }
    }
    if (!c && rc != SQLITE_DONE) c = fail_sq(l, "looking for a duplicate");
    sqlite3_finalize(st);
    stems_free(&cs);
    return c;
}

/* Adds the problem's text to insight id's indexed problems (when not there
 * and under LIB_MAX_PROBLEMS) and rewrites its index row. */
static lib_code merge_problem(lib *l, int64_t id, const char *pid, const char *text)
{
    sqlite3_stmt *st = NULL;
    lib_code c = prep(l, "INSERT OR IGNORE INTO insight_problems(insight_id, problem_id, seq, text)"
                         " SELECT ?1, ?2, (SELECT coalesce(max(seq) + 1, 0) FROM insight_problems"
                         " WHERE insight_id = ?1), ?3 WHERE (SELECT count(*) FROM"
                         " insight_problems WHERE insight_id = ?1) < ?4", &st);
    if (c) return c;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, pid);
    bind_text(st, 3, text);
    sqlite3_bind_int(st, 4, LIB_MAX_PROBLEMS);
    c = step_done(l, st, "adding a problem text");
    int added = !c && sqlite3_changes(l->sq) > 0;
    sqlite3_finalize(st);
    if (c || !added) return c;
    lib_insight cur;
    c = get_locked(l, id, &cur);
    if (!c) c = unindex_locked(l, id);
    if (!c) c = write_index(l, &cur);
    lib_insight_clear(&cur);
    return c;
}

/* Stores the candidate as a new insight verified on the problem. */
static lib_code add_new(lib *l, const lib_insight *cand, const char *pid, const char *text,
                        int64_t *id)
{
    lib_insight ins;
    if (lib_insight_copy(&ins, cand)) return lib_fail(l, LIB_ENOMEM, "out of memory");
    lib_code c = LIB_OK;
    int have = 0;
    for (size_t i = 0; i < ins.nproblems; i++) have |= !strcmp(ins.problems[i].id, pid);
    if (!have && ins.nproblems < LIB_MAX_PROBLEMS) {
        lib_problem *np = realloc(ins.problems, (ins.nproblems + 1) * sizeof *np);
        if (!np) goto oom;
        ins.problems = np;
        np[ins.nproblems].id = strdup(pid);
        np[ins.nproblems].text = strdup(text);
        ins.nproblems++;
        if (!np[ins.nproblems - 1].id || !np[ins.nproblems - 1].text) goto oom;
    }
    if (!ins.src_problem && !(ins.src_problem = strdup(pid))) goto oom;
    ins.version = 1;
    free(ins.created_at);
    free(ins.updated_at);
    ins.created_at = ins.updated_at = NULL;
    c = fresh_id(l, &ins.id);
    if (!c) c = put_locked(l, &ins);
    if (!c) c = set_outcome(l, ins.id, pid, LIB_STAT_POSITIVE);
    if (!c) *id = ins.id;
    lib_insight_clear(&ins);
    return c;
oom:
    lib_insight_clear(&ins);
    return lib_fail(l, LIB_ENOMEM, "out of memory");
}

lib_code lib_add_verified(lib *l, const lib_insight *cand, const char *pid, const char *text,
                          int64_t *id_out, int *merged_out)
{
    if (id_out) *id_out = 0;
    if (merged_out) *merged_out = 0;
    if (!l || !cand || !text || !cand->condition || !cand->explanation || cand->ntaxonomy < 1)
        return LIB_EARG;
    int64_t id = 0;
    int merged = 0;
    lock(l);
    /* The duplicate search and the write are one transaction: a second
     * learner with the same candidate waits for the lock, then finds the
     * first one's insight and merges. */
    lib_code c = check_problem(l, pid, text);
    if (!c) c = begin_write(l);
    if (!c) c = find_duplicate(l, cand, &id);
    if (!c && id) {
        merged = 1;
        c = merge_problem(l, id, pid, text);
        if (!c) c = set_outcome(l, id, pid, LIB_STAT_UNRETRIEVED);
    } else if (!c) {
        c = add_new(l, cand, pid, text, &id);
    }
    if (!c) c = put_problem_text(l, pid, text);
    if (!c) c = commit(l);
    if (c) {
        rollback(l);
    } else {
        if (id_out) *id_out = id;
        if (merged_out) *merged_out = merged;
    }
    unlock(l);
    return c;
}

/* ---- refinement ------------------------------------------------------------------ */

/* v (elements of size elem) with its capacity doubled, *cap updated; NULL
 * when out of memory (v and *cap unchanged). */
static void *grow(void *v, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(v, nc * elem);
    if (nv) *cap = nc;
    return nv;
}

lib_code lib_replace_condition(lib *l, int64_t id, const char *condition, int64_t *version_out)
{
    if (version_out) *version_out = 0;
    if (!l || !condition) return LIB_EARG;
    size_t n = strlen(condition);
    if (!n) return lib_fail(l, LIB_EINVALID, "condition: empty");
    if (n > LIB_MAX_FIELD)
        return lib_fail(l, LIB_ETOOBIG, "condition: %zu bytes, over the limit of %d", n,
                        LIB_MAX_FIELD);
    lib_insight cur;
    memset(&cur, 0, sizeof cur);
    lock(l);
    /* read, archive and rewrite in one transaction: statistics recorded by
     * another process meanwhile cannot be lost */
    lib_code c = begin_write(l);
    if (!c) c = get_locked(l, id, &cur);
    if (!c) c = archive(l, id, 0);
    if (!c) c = delete_locked(l, id);
    if (!c) {
        char *dup = strdup(condition);
        if (!dup) c = lib_fail(l, LIB_ENOMEM, "out of memory");
        free(cur.condition);
        cur.condition = dup;
        cur.version++;
        free(cur.updated_at);
        cur.updated_at = NULL;   /* now */
    }
    if (!c) c = put_locked(l, &cur);
    if (!c) c = commit(l);
    if (c) rollback(l);
    else if (version_out) *version_out = cur.version;
    lib_insight_clear(&cur);
    unlock(l);
    return c;
}

lib_code lib_refine_candidates(lib *l, int64_t **ids, size_t *n)
{
    if (!l || !ids || !n) return LIB_EARG;
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int64_t *v = NULL;
    size_t len = 0, cap = 0;
    lock(l);
    lib_code c = prep(l, "SELECT DISTINCT insight_id FROM insight_stats"
                         " WHERE kind IN ('negative', 'unretrieved') ORDER BY insight_id", &st);
    int rc = SQLITE_DONE;
    while (!c && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *nv = len == cap ? grow(v, &cap, sizeof *v) : v;
        if (!nv) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory");
            break;
        }
        v = nv;
        v[len++] = sqlite3_column_int64(st, 0);
    }
    if (!c && rc != SQLITE_DONE) c = fail_sq(l, "listing insights to refine");
    sqlite3_finalize(st);
    unlock(l);
    if (c) {
        free(v);
        return c;
    }
    *ids = v;
    *n = len;
    return LIB_OK;
}

void lib_store_outcomes_free(store_outcome *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        free(v[i].text);
    }
    free(v);
}

lib_code lib_store_outcomes(lib *l, int64_t id, store_outcome **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    store_outcome *v = NULL;
    size_t len = 0, cap = 0;
    lock(l);
    lib_code c = exists_locked(l, id);
    if (!c) c = prep(l, "SELECT s.kind, s.problem_id, p.text FROM insight_stats s"
                        " LEFT JOIN problem_texts p USING (problem_id) WHERE s.insight_id = ?"
                        " AND s.kind IN ('positive', 'negative', 'unretrieved')"
                        " ORDER BY s.kind, s.seq", &st);
    if (!c) sqlite3_bind_int64(st, 1, id);
    int rc = SQLITE_DONE;
    while (!c && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *nv = len == cap ? grow(v, &cap, sizeof *v) : v;
        if (!nv) {
            c = lib_fail(l, LIB_ENOMEM, "out of memory");
            break;
        }
        v = nv;
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        int k = 0, oom = 0;
        while (k < LIB_STAT_IRRELEVANT && strcmp(kind, stat_names[k])) k++;
        v[len].kind = (lib_stat_kind)k;
        v[len].id = col_dup(st, 1, &oom);
        v[len].text = col_dup(st, 2, &oom);
        len++;
        if (oom) c = lib_fail(l, LIB_ENOMEM, "out of memory");
    }
    if (!c && rc != SQLITE_DONE) c = fail_sq(l, "reading outcomes");
    sqlite3_finalize(st);
    unlock(l);
    if (c) {
        lib_store_outcomes_free(v, len);
        return c;
    }
    *out = v;
    *n = len;
    return LIB_OK;
}

lib_code lib_store_trial_begin(lib *l, int64_t id, const char *condition)
{
    lib_insight cur;
    memset(&cur, 0, sizeof cur);
    lock(l);
    lib_code c = begin_write(l);
    if (!c) c = get_locked(l, id, &cur);
    if (!c) c = unindex_locked(l, id);
    if (!c) {
        char *dup = strdup(condition);
        if (!dup) c = lib_fail(l, LIB_ENOMEM, "out of memory");
        free(cur.condition);
        cur.condition = dup;
    }
    if (!c) c = write_index(l, &cur);
    lib_insight_clear(&cur);
    if (c) {
        rollback(l);
        unlock(l);
    }
    return c;   /* LIB_OK: the lock and the transaction stay taken */
}

void lib_store_trial_end(lib *l)
{
    rollback(l);
    unlock(l);
}
