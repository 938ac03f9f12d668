/* db — SQLite storage for optagent: runs, problems, every attempt, every LLM
 * call, and the LLM response cache, in one database file (WAL journal).
 *
 * The bottom layer: depends on SQLite and libc only.
 *
 * Ownership, once for the whole API: a db handle from db_open is owned by the
 * caller and closed with db_close. Input strings and the *_record structs are
 * only read during the call (copied into the database); their const char *
 * fields stay the caller's. Everything a query returns is malloc'd and owned
 * by the caller, and the *_info structs it fills own every char * and array
 * in them: free a string with free(), a db_problem_info from db_problem_get
 * with db_problem_info_clear, an array from db_problems_list with
 * db_problems_free, a db_run_info from db_run_get with db_run_info_clear and
 * an array from db_runs_list with db_runs_free. Nothing here prints; failures
 * are result codes, with a one-line message from db_errmsg (or the err buffer
 * of db_open / db_merge).
 *
 * Threads: a handle may be shared by any number of threads. Every call takes
 * the handle's mutex, so calls are serialized (SQLite is opened with
 * SQLITE_OPEN_FULLMUTEX as well); each write is one transaction. Several
 * processes may use the same file: SQLite's locking plus a 5 s busy timeout
 * serialize writers across processes (DB_EBUSY once it expires). Do not carry
 * an open handle across fork(): open a new one in the child.
 *
 * Secrets: no API key is ever stored. db_run_create refuses (DB_EARG) a
 * config_json that mentions one anywhere, case-insensitively ("api_key",
 * "api-key", "apikey", "authorization", "bearer "); db_cache_put refuses a
 * request_json with a member named so ("\"api_key\"", ...) or "Bearer sk-".
 *
 * Text columns hold UTF-8; timestamps are ISO 8601 UTC text
 * ("2024-05-01T12:00:00.123Z"). Negative token counts and latencies mean
 * "unknown" and are stored as NULL (read back as -1).
 */
#ifndef OPTAGENT_DB_H
#define OPTAGENT_DB_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DB_OK = 0,
    DB_EOPEN,        /* the file could not be opened, or is not a database */
    DB_ESCHEMA,      /* the schema is newer than this build (or not optagent's) */
    DB_EIO,          /* SQLite or the file system failed */
    DB_ECONSTRAINT,  /* already recorded (duplicate key), or a constraint failed */
    DB_ENOTFOUND,    /* no such run / problem / cache entry */
    DB_EBUSY,        /* the database stayed locked past the busy timeout */
    DB_ENOMEM,
    DB_EARG          /* a bad argument (NULL, unknown status, api key ...) */
} db_code;

const char *db_strerror(db_code code);

/* The schema version this build creates and understands (PRAGMA user_version). */
#define DB_SCHEMA_VERSION 2

#define DB_UUID_SIZE 37    /* 36 characters and the NUL */
#define DB_KEY_SIZE  65    /* 64 hex digits and the NUL */

/* ---- the handle ---------------------------------------------------------- */

typedef struct db db;

/* Opens (creating it when missing) the database at path and brings its schema
 * up to DB_SCHEMA_VERSION, each migration step in its own transaction. Sets
 * journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON, busy_timeout=5000.
 * Returns the handle, or NULL with *code (may be NULL) set — DB_ESCHEMA when
 * the file was written by a newer optagent — and a one-line reason in err
 * (may be NULL). ":memory:" works (without WAL). */
db *db_open(const char *path, db_code *code, char *err, size_t errlen);
void db_close(db *d);   /* NULL is fine */

/* The schema version of the open database (DB_SCHEMA_VERSION after db_open). */
db_code db_schema_version(db *d, int *version);

/* Copies the message of the last failed call on this handle (by any thread)
 * into buf; "" when none. */
void db_errmsg(db *d, char *buf, size_t len);

/* ---- runs ----------------------------------------------------------------- */

/* Creates a run with status "running" and a fresh random (v4) UUID.
 * config_json describes the endpoint, model and parameters — never an API key
 * (DB_EARG). shard is e.g. "2/4" (NULL or "": none, stored as NULL).
 * run_id and uuid may be NULL. */
db_code db_run_create(db *d, const char *command, const char *config_json,
                      const char *shard, int64_t *run_id,
                      char uuid[DB_UUID_SIZE]);

/* The same with a given UUID (36 characters, lower-case hex and dashes; upper
 * case is folded), so the shards of one run share it. DB_ECONSTRAINT when a
 * run with that UUID exists (find it with db_run_find to resume it). */
db_code db_run_create_with_uuid(db *d, const char *uuid, const char *command,
                                const char *config_json, const char *shard,
                                int64_t *run_id);

/* Finds a run by its numeric id ("12") or its UUID. DB_ENOTFOUND when none. */
db_code db_run_find(db *d, const char *id_or_uuid, int64_t *run_id);

/* status: "running", "finished" or "interrupted" (the last two set
 * finished_at; "running" clears it). DB_ENOTFOUND for an unknown run. */
db_code db_run_set_status(db *d, int64_t run_id, const char *status);

typedef struct {
    int64_t id;
    char uuid[DB_UUID_SIZE];
    char *created_at, *command, *config_json, *shard, *status, *finished_at;
    /* over the run's problems: */
    int64_t problems, done, errors, correct;
    int64_t graded;          /* problems with a gold answer (correct not NULL) */
    int64_t prompt_tokens, completion_tokens, llm_calls;
    double llm_ms, solve_ms;
} db_run_info;

db_code db_run_get(db *d, int64_t run_id, db_run_info *out);
void db_run_info_clear(db_run_info *r);
/* Every run, newest (highest id) first. *out is NULL when there are none. */
db_code db_runs_list(db *d, db_run_info **out, size_t *n);
void db_runs_free(db_run_info *runs, size_t n);

/* ---- problems, attempts and LLM calls --------------------------------------- */

/* One round of the agent on a problem. */
typedef struct {
    int round;                  /* unique within the problem (1, 2, ...) */
    const char *stage;          /* e.g. "formulate", "repair" */
    const char *outcome;        /* e.g. "optimal", "invalid", "llm_error" */
    const char *messages_json;  /* the chat messages sent */
    const char *reply;          /* the model's reply text */
    const char *formulation;    /* the extracted formulation (JSON text) */
    const char *result_json;    /* what solving gave */
    const char *feedback;       /* what was sent back for the next round */
    int64_t prompt_tokens, completion_tokens;
    double latency_ms;
    const char *insights;       /* the library's insights the request carried,
                                   "12@3,7@1" ("" none; NULL: no library) */
} db_attempt_record;

/* One LLM call (one request, including its HTTP retries). */
typedef struct {
    int round;                  /* the attempt it belongs to (0: none) */
    const char *task;           /* e.g. "formulate", "repair", "judge" */
    const char *model;
    const char *cache_key;      /* NULL when not cacheable */
    int cached;                 /* 1: answered from the cache */
    int http_status;            /* 0: no HTTP response */
    int attempts;               /* HTTP tries (1 + retries) */
    int64_t prompt_tokens, completion_tokens;
    double latency_ms;
    const char *error;          /* NULL on success */
    const char *at;             /* when (ISO 8601 UTC); NULL: now */
} db_llm_call_record;

/* A finished problem with everything it took. */
typedef struct {
    int64_t run_id;
    const char *dataset;        /* required */
    const char *problem_id;     /* required */
    const char *question;
    const char *gold_json;
    const char *status;         /* required: "done" or "error" */
    const char *outcome;        /* e.g. "optimal", "infeasible", "no_formulation" */
    int has_answer;             /* 0: answer is NULL */
    double answer;
    int correct;                /* 1, 0, or -1 for unknown (NULL) */
    const char *result_json;
    int attempt_count;          /* rounds made (normally nattempts) */
    int llm_call_count;         /* LLM calls made (normally ncalls) */
    int64_t prompt_tokens, completion_tokens;
    double llm_ms, solve_ms;
    const char *finished_at;    /* ISO 8601 UTC; NULL: now */
    const db_attempt_record *attempts;
    size_t nattempts;
    const db_llm_call_record *calls;
    size_t ncalls;
} db_problem_record;

/* Records one finished problem with all its attempts and LLM calls in ONE
 * transaction: after a crash either all of it is there or none. A problem
 * already recorded for the run (same dataset and problem_id) gives
 * DB_ECONSTRAINT and the database keeps the first one; DB_ENOTFOUND when the
 * run does not exist; DB_EARG for a missing field or an unknown status. */
db_code db_problem_record_add(db *d, const db_problem_record *rec);

/* *done = 1 when the problem is recorded for the run (status "done" or
 * "error"), 0 when not: --resume skips recorded problems. */
db_code db_problem_done(db *d, int64_t run_id, const char *dataset,
                        const char *problem_id, int *done);

/* Deletes a recorded problem with its attempts and calls (one transaction),
 * e.g. to retry one that ended in "error". DB_ENOTFOUND when not recorded. */
db_code db_problem_forget(db *d, int64_t run_id, const char *dataset,
                          const char *problem_id);

/* ---- reading problems back ---------------------------------------------------- */

/* A recorded attempt, call and problem as read back: the fields of the
 * *_record structs above, but every string (NULL when the column is NULL)
 * and array is owned by the db_problem_info that holds it. */
typedef struct {
    int round;
    char *stage, *outcome, *messages_json, *reply, *formulation, *result_json, *feedback;
    int64_t prompt_tokens, completion_tokens;   /* -1: unknown */
    double latency_ms;                          /* -1: unknown */
    char *insights;                             /* as recorded (NULL: no library) */
} db_attempt_info;

typedef struct {
    int round, cached, http_status, attempts;   /* http_status 0: none */
    char *task, *model, *cache_key, *error, *at;
    int64_t prompt_tokens, completion_tokens;
    double latency_ms;
} db_llm_call_info;

typedef struct {
    int64_t run_id;
    char *dataset, *problem_id, *question, *gold_json, *status, *outcome, *result_json;
    int has_answer;             /* 0: answer is NULL */
    double answer;
    int correct;                /* 1, 0, or -1 for unknown (NULL) */
    int attempt_count, llm_call_count;
    int64_t prompt_tokens, completion_tokens;
    double llm_ms, solve_ms;
    char *finished_at;
    db_attempt_info *attempts;  /* by round */
    size_t nattempts;
    db_llm_call_info *calls;    /* in the order recorded */
    size_t ncalls;
} db_problem_info;

/* Reads one problem back, with its attempts and calls. Release *out with
 * db_problem_info_clear (also done on failure). DB_ENOTFOUND when not
 * recorded. */
db_code db_problem_get(db *d, int64_t run_id, const char *dataset,
                       const char *problem_id, db_problem_info *out);
void db_problem_info_clear(db_problem_info *r);   /* NULL is fine; zeroes *r */

enum { DB_LIST_DETAILS = 1 };  /* db_problems_list: with attempts and calls */

/* Every problem of the run, by dataset then problem_id (numeric ids in number
 * order). With DB_LIST_DETAILS each record carries its attempts and calls.
 * Release with db_problems_free. *out is NULL when there are none. */
db_code db_problems_list(db *d, int64_t run_id, unsigned flags,
                         db_problem_info **out, size_t *n);
void db_problems_free(db_problem_info *recs, size_t n);

/* Number of problems recorded for the run; with status non-NULL, of those
 * with that status ("done" or "error"). */
db_code db_problems_count(db *d, int64_t run_id, const char *status,
                          int64_t *count);

/* ---- the LLM response cache --------------------------------------------- */

/* The cache key of a request: SHA-256 (hex) over endpoint, model and the
 * canonical request JSON, each followed by a NUL byte, after a version tag.
 * Equal inputs give equal keys; any difference gives a different key.
 * DB_EARG when an argument is NULL. */
db_code db_cache_key(const char *endpoint, const char *model,
                     const char *request_canonical_json, char out[DB_KEY_SIZE]);

/* The cached response of key in *response_json (malloc'd; caller frees) and
 * one more hit counted; DB_ENOTFOUND (and *response_json = NULL) on a miss. */
db_code db_cache_get(db *d, const char *key, char **response_json);

/* Stores a response; an existing key is kept as it is (INSERT OR IGNORE).
 * key and response_json are required; DB_EARG when request_json holds a key. */
db_code db_cache_put(db *d, const char *key, const char *endpoint,
                     const char *model, const char *task,
                     const char *request_json, const char *response_json);

/* ---- merging shard databases ------------------------------------------------ */

typedef struct {
    int64_t runs_added;            /* runs new to dst */
    int64_t runs_joined;           /* runs whose UUID dst already had */
    int64_t problems_added;
    int64_t problems_duplicate;    /* already in dst for that run: dst's kept */
    int64_t problems_conflicting;  /* of those, ones whose status, outcome,
                                      answer or correctness differ */
    int64_t attempts_added;
    int64_t calls_added;
    int64_t cache_added;
} db_merge_stats;

/* Copies the runs, problems, attempts, LLM calls and cache entries of the
 * database at src_path into dst, in one transaction. Runs are matched by
 * UUID: a run from several shards becomes one run whose problems are the
 * union (its shard field lists the shards; its status is "interrupted" if
 * either was, else "running" if either was, else "finished"). A problem dst
 * already has is kept once (dst's row) and counted in stats; err then tells
 * how many and names the first conflicting one, with DB_OK. stats and err
 * may be NULL. The source is only read; DB_EOPEN when it is missing or not
 * an optagent database, DB_ESCHEMA when newer, DB_EARG when it is dst. */
db_code db_merge(db *dst, const char *src_path, db_merge_stats *stats,
                 char *err, size_t errlen);

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------- */

typedef struct {           /* the fields are private */
    uint32_t h[8];
    uint64_t len;          /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} db_sha256_ctx;

void db_sha256_init(db_sha256_ctx *c);
void db_sha256_update(db_sha256_ctx *c, const void *data, size_t len);
void db_sha256_final(db_sha256_ctx *c, unsigned char digest[32]);
/* One call: the digest of data as 64 lower-case hex digits and a NUL. */
void db_sha256_hex(const void *data, size_t len, char out[DB_KEY_SIZE]);

#endif
