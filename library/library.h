/* library — the experience library: insights learned from failed attempts,
 * stored in their own SQLite file and retrieved for later problems without an
 * LLM call (BM25 over an FTS5 index, see library/README.md for the schema,
 * the ranking formula and the limits).
 *
 * Layering: library/ sits above db/ and, like it, talks to SQLite itself for
 * its own file (library/store.c); library/library.c holds the JSON formats
 * (the contract's insight and AlphaOPT's library.json), validation, import,
 * export and ranking. Nothing here prints.
 *
 * Ownership, once for the whole API: a handle from lib_open is owned by the
 * caller and closed with lib_close. Input strings and records are only read
 * during a call. Everything returned is malloc'd and owned by the caller:
 * an insight filled by a call is released with lib_insight_clear, an array
 * of insights with lib_insights_free, search hits with lib_hits_free, a
 * returned string with free(), a cJSON tree with cJSON_Delete.
 *
 * Threads and processes: a handle may be shared by threads (every call takes
 * its mutex). Several processes may write the same file: WAL journal, a 5 s
 * busy timeout, and every write is one BEGIN IMMEDIATE transaction (LIB_EBUSY
 * when the lock stays taken past the timeout). */
#ifndef OPTAGENT_LIBRARY_H
#define OPTAGENT_LIBRARY_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef enum {
    LIB_OK = 0,
    LIB_EOPEN,       /* the file could not be opened or created */
    LIB_ECORRUPT,    /* the file is not an SQLite database / is damaged */
    LIB_ESCHEMA,     /* written by a newer optagent, or not a library file */
    LIB_EREADONLY,   /* the file (or its directory) is read-only: writes refused */
    LIB_EIO,
    LIB_EBUSY,       /* locked by another process past the busy timeout */
    LIB_ENOTFOUND,   /* no such insight */
    LIB_EINVALID,    /* a malformed insight / import file (the message names where) */
    LIB_ETOOBIG,     /* a field or file over its documented limit */
    LIB_ENOMEM,
    LIB_EARG         /* a bad argument (NULL ...) */
} lib_code;

const char *lib_strerror(lib_code code);

/* The schema version this build creates and understands (PRAGMA user_version
 * of the library file; its own sequence, unrelated to db/'s). */
#define LIB_SCHEMA_VERSION 1

/* Limits (bytes unless said otherwise); over them: LIB_ETOOBIG naming the field. */
#define LIB_MAX_TAXONOMY   4                  /* labels in a taxonomy path */
#define LIB_MAX_LABEL      200                /* one taxonomy label */
#define LIB_MAX_FIELD      (16 * 1024)        /* condition, explanation, example, problem text */
#define LIB_MAX_ID         256                /* a problem id, a source field */
#define LIB_MAX_STATS      100000             /* problem ids in one stats list */
#define LIB_MAX_PROBLEMS   64                 /* problem texts kept per insight */
#define LIB_MAX_EXTRA      (16 * 1024)        /* the "extra" object, as JSON text */
#define LIB_MAX_FILE       (64 * 1024 * 1024) /* an import file */
#define LIB_MAX_QUERY_TERMS 64                /* distinct words of a query used */

/* The statistics kinds: the contract's three, then the two AlphaOPT's
 * library.json also keeps (preserved on import and export). */
typedef enum {
    LIB_STAT_POSITIVE, LIB_STAT_NEGATIVE, LIB_STAT_UNRETRIEVED,
    LIB_STAT_IRRELEVANT, LIB_STAT_INVALID, LIB_NSTATS
} lib_stat_kind;

const char *lib_stat_name(lib_stat_kind k);   /* "positive", ... */

typedef struct {
    char **ids;   /* problem ids, in the order recorded, no duplicates */
    size_t n;
} lib_idlist;

typedef struct {
    char *id;     /* the problem's id (e.g. "nl4opt/train-17") */
    char *text;   /* its statement: matched against queries */
} lib_problem;

typedef struct {
    int64_t id;                             /* 0: not stored yet */
    char *taxonomy[LIB_MAX_TAXONOMY];       /* general to specific */
    int ntaxonomy;                          /* 1..4 */
    char *condition, *explanation, *example;
    char *src_problem, *src_dataset, *src_run, *src_model;  /* NULL: none */
    int64_t version;                        /* 1, 2, ... */
    char *created_at, *updated_at;          /* ISO 8601 UTC; NULL: now */
    char *extra;                            /* NULL or a JSON object (text)
                                               of fields kept verbatim, e.g.
                                               AlphaOPT's iteration/task_id */
    lib_idlist stats[LIB_NSTATS];
    lib_problem *problems;                  /* texts it was verified on/helped */
    size_t nproblems;
} lib_insight;

void lib_insight_clear(lib_insight *ins);
void lib_insights_free(lib_insight *v, size_t n);

/* ---- JSON ------------------------------------------------------------------ */

/* Reads one insight from JSON: the contract's format (taxonomy an array of
 * labels, stats lists) or an AlphaOPT library.json entry (insight_id,
 * taxonomy as stage -> label -> [sub-labels], distribution lists; its
 * iteration, occurrence and task_id go into extra). Validates every field and
 * the limits; on failure returns LIB_EINVALID / LIB_ETOOBIG with a message
 * naming the field in err and *out cleared. */
lib_code lib_insight_from_json(const cJSON *obj, lib_insight *out, char *err, size_t errlen);

/* The insight in the contract's format (plus "created_at", "updated_at",
 * "problems" and "extra" when present, and "irrelevant"/"invalid" stats when
 * non-empty). NULL when out of memory. */
cJSON *lib_insight_to_json(const lib_insight *ins);

/* ---- the handle ---------------------------------------------------------------- */

typedef struct lib lib;

/* The default library path, $XDG_DATA_HOME/optagent/library.db (or
 * ~/.local/share/optagent/library.db). Returns 0, or -1 when neither
 * XDG_DATA_HOME nor HOME is set (or the path does not fit). */
int lib_default_path(char *buf, size_t len);

/* Opens the library at path, creating it (and missing parent directories,
 * mode 0700) when absent, and brings its schema up to LIB_SCHEMA_VERSION.
 * A read-only file is opened for reading (writes give LIB_EREADONLY). A file
 * from a newer build gives LIB_ESCHEMA, a non-database LIB_ECORRUPT; nothing
 * is ever written to a file that is refused. NULL on failure with *code and
 * a one-line reason in err (both may be NULL). With LIB_OPEN_READONLY the
 * file must exist and every write gives LIB_EREADONLY. */
enum { LIB_OPEN_READONLY = 1 };   /* flags: open for reading only (never creates) */
lib *lib_open(const char *path, unsigned flags, lib_code *code, char *err, size_t errlen);
void lib_close(lib *l);   /* NULL is fine */

/* The message of the last failed call on this handle ("" when none). */
void lib_errmsg(lib *l, char *buf, size_t len);
int lib_readonly(lib *l);

/* ---- insights ------------------------------------------------------------------- */

/* Stores a new insight. ins->id 0: a fresh id (never one used before, even
 * by a removed insight); otherwise that id, LIB_EINVALID when it is taken.
 * version 0 means 1. Sets ins->id on success. */
lib_code lib_add(lib *l, lib_insight *ins);

lib_code lib_get(lib *l, int64_t id, lib_insight *out);

/* Every insight by id. *out is NULL when there are none. */
lib_code lib_list(lib *l, lib_insight **out, size_t *n);

/* Replaces the fields given in the JSON object (any of taxonomy, condition,
 * explanation, example, source, stats, problems, extra; "id" and "version"
 * must be absent or equal to the stored ones) in one transaction: the stored
 * version goes to the history and the insight's version grows by one. out
 * (may be NULL) receives the new version. */
lib_code lib_edit(lib *l, int64_t id, const cJSON *fields, lib_insight *out);

/* Removes an insight and its statistics and problem texts. Its earlier
 * versions stay in the history, and so does the removed version itself
 * (marked removed), so nothing learned is lost; its id is never reused. */
lib_code lib_remove(lib *l, int64_t id);

/* Every earlier version of an insight (oldest first), removed ones too. */
lib_code lib_history(lib *l, int64_t id, lib_insight **out, size_t *n);

/* ---- import / export ------------------------------------------------------------------ */

typedef struct {
    size_t records;     /* insights read */
    size_t added;       /* stored with their own id */
    size_t renumbered;  /* stored with a new id (theirs was taken) */
    size_t unchanged;   /* already there, identical: skipped */
} lib_import_stats;

/* Imports a JSON array of insights (the project's export or AlphaOPT's
 * library.json; one object is accepted too) from text of len bytes; name
 * names the source in messages. Every record is validated before anything
 * is written, then all are written in ONE transaction: a bad record (err:
 * "FILE: record N: field: ...") leaves the library untouched. */
lib_code lib_import_text(lib *l, const char *text, size_t len, const char *name,
                         lib_import_stats *stats, char *err, size_t errlen);
lib_code lib_import_file(lib *l, const char *path, lib_import_stats *stats,
                         char *err, size_t errlen);

/* The whole library as a JSON array of insights (lib_insight_to_json), by id.
 * Importing it into an empty library gives it back exactly. */
lib_code lib_export(lib *l, cJSON **out);

/* ---- retrieval ------------------------------------------------------------------ */

typedef struct {
    lib_insight insight;
    double score;        /* the final score (see library/README.md) */
    double applies, not_applies, explanation, taxonomy, problems;  /* BM25 per part */
    double boost;        /* the statistics factor */
    char *matched;       /* "applies: flow, node; problems: ..." (query words found) */
} lib_hit;

#define LIB_DEFAULT_K 5

/* The insights that apply to a problem text, best first: at most k (0 means
 * LIB_DEFAULT_K), only those scoring at least the threshold. Any text is
 * safe (it is reduced to quoted words before it reaches FTS5). *hits is NULL
 * when none apply. */
lib_code lib_search(lib *l, const char *text, size_t k, lib_hit **hits, size_t *n);
void lib_hits_free(lib_hit *hits, size_t n);

/* Counts: {"insights": N, "versions_in_history": N,
 *  "by_taxonomy": {stage: {"count": N, "labels": {label: N}}},
 *  "stats": {"positive": N, ...}, "taxonomy_labels": N} */
lib_code lib_stats(lib *l, cJSON **out);

#endif
