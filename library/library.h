/* library — the experience library: insights learned from failed attempts,
 * stored in their own SQLite file and retrieved for later problems without an
 * LLM call (BM25 over an FTS5 index, see library/README.md for the schema,
 * the ranking formula and the limits).
 *
 * Layering: library/ sits above db/ and, like it, talks to SQLite itself for
 * its own file (library/store.c); library/library.c holds the JSON formats
 * (the contract's insight and AlphaOPT's library.json), validation, import,
 * export and ranking; library/learn.c what learning needs besides storage
 * (the prompt block, reflect replies, refinement scoring). Nothing here
 * prints.
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
#define LIB_SCHEMA_VERSION 2

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
/* The hits as a JSON array, best first: {"rank", "score", "parts": {...},
 * "boost", "matched", "insight"} each (what `library search --json`
 * prints). The caller owns the array; NULL when out of memory. */
cJSON *lib_hits_json(const lib_hit *hits, size_t n);

/* Counts: {"insights": N, "versions_in_history": N,
 *  "by_taxonomy": {stage: {"count": N, "labels": {label: N}}},
 *  "stats": {"positive": N, ...}, "taxonomy_labels": N} */
lib_code lib_stats(lib *l, cJSON **out);

/* ---- learning (library/learn.c; see library/README.md, "Learning") ------------ */

/* The text that goes into formulate / correct / verify requests: a heading,
 * then each insight with its id and version, taxonomy path, condition,
 * explanation and example VERBATIM (never cut or reworded, whatever their
 * length: each is at most LIB_MAX_FIELD by validation). v holds n pointers
 * (hits' &h[i].insight, a candidate, ...); an insight with id 0 (a
 * candidate not stored yet) is shown without an id. *out is "" for n = 0.
 * lib_format_hits is the same over search hits. */
lib_code lib_format_for_prompt(const lib_insight *const *v, size_t n, char **out);
lib_code lib_format_hits(const lib_hit *hits, size_t n, char **out);

/* "id@version" of an insight into buf (at least LIB_REF_SIZE bytes), and the
 * list "12@3,7@1" of hits (what an attempt records it carried; "" for n = 0;
 * NULL when out of memory). */
#define LIB_REF_SIZE 48
void lib_insight_ref(const lib_insight *ins, char buf[LIB_REF_SIZE]);
int64_t lib_hit_id(const lib_hit *h);
int64_t lib_hit_version(const lib_hit *h);
char *lib_hits_refs(const lib_hit *hits, size_t n);

/* Which library a run used: SHA-256 (64 lower-case hex digits and a NUL)
 * over a canonical form of every current insight by id: id, version,
 * taxonomy, condition, explanation, example and the problem texts it is
 * indexed on (what retrieval sees and what a prompt says). Statistics are
 * not part of it (they change on every graded problem). Read in one
 * snapshot. */
lib_code lib_content_hash(lib *l, char hex[65]);

/* Records the outcome of insight_id on a problem: kind is LIB_STAT_POSITIVE
 * (retrieved, answer right), LIB_STAT_NEGATIVE (retrieved, answer wrong) or
 * LIB_STAT_UNRETRIEVED (not retrieved, but it fixed the problem when
 * added); other kinds give LIB_EARG. One outcome per (insight, problem):
 * recording the same kind again changes nothing, another of the three kinds
 * replaces the earlier one (the latest outcome is the library's current
 * behaviour). problem_text (may be NULL: an earlier text is kept) is stored
 * once per problem id, for lib_refine_score; it is NOT indexed for
 * retrieval. LIB_ENOTFOUND when the insight is not there. One transaction. */
lib_code lib_record_stat(lib *l, int64_t insight_id, const char *problem_id,
                         const char *problem_text, lib_stat_kind kind);

/* The text stored for a problem id (malloc'd into *text), LIB_ENOTFOUND
 * when none. */
lib_code lib_problem_text(lib *l, const char *problem_id, char **text);

/* The whole taxonomy tree, one path a line, general to specific
 * ("General Formulation > Integrality\n"), shipped and grown labels, in
 * tree order: what the reflect prompt offers. *out malloc'd. */
lib_code lib_taxonomy_paths(lib *l, char **out);

#define LIB_MAX_CANDIDATES 3             /* insights kept from one reflect reply */
#define LIB_MAX_REPLY      (256 * 1024)  /* bytes of a reflect reply's JSON */

/* Parses a reflect reply's JSON object {"insights": [{taxonomy, condition,
 * explanation, example}, ...]} (the caller has taken it out of its fence).
 * taxonomy is an array of 1-4 labels or one string "A > B > C"; other
 * fields of a candidate are ignored. A candidate with a missing, empty,
 * malformed or oversized field (over LIB_MAX_FIELD: LIB_ETOOBIG's message
 * names the field) is skipped, its reason appended to err ("insights[1]:
 * condition: missing; ..."), and the others are kept; the first
 * LIB_MAX_CANDIDATES valid ones are kept. Returns LIB_OK with *n >= 1
 * (err then lists what was skipped, "" when nothing), or LIB_EINVALID /
 * LIB_ETOOBIG when the reply is not such an object or no candidate is valid.
 * *out (ids 0, versions 1) is freed with lib_insights_free. */
lib_code lib_candidates_from_json(const char *json, size_t len, lib_insight **out, size_t *n,
                                  char *err, size_t errlen);

/* Keeps a verified candidate (the solver proved it turns problem_id's
 * failure into the right answer) in ONE write transaction:
 *  - a duplicate is looked for among the stored insights (same taxonomy
 *    leaf and word-set similarity of condition + explanation >=
 *    LIB_DUP_SAME_LEAF, or any taxonomy and >= LIB_DUP_ANY; see README);
 *  - found: the candidate merges into it: the stored text is kept as it
 *    is, the problem's text joins its indexed problems (up to
 *    LIB_MAX_PROBLEMS) and the problem is recorded unretrieved for it (its
 *    content fixed the problem, retrieval had not brought it); *merged_out 1;
 *  - else the candidate is stored (its src_* fields as the caller set them,
 *    src_problem defaulting to problem_id) with the problem's text indexed
 *    and the problem recorded positive; *merged_out 0.
 * *id_out is the insight's id either way. Several threads or processes may
 * call this at once: the same candidate stored by several gives ONE
 * insight. problem_id and problem_text are required. */
#define LIB_DUP_SAME_LEAF 0.50
#define LIB_DUP_ANY       0.80
lib_code lib_add_verified(lib *l, const lib_insight *cand, const char *problem_id,
                          const char *problem_text, int64_t *id_out, int *merged_out);

/* Word-set similarity of two insights' condition + explanation (Jaccard over
 * their stemmed words without stop words), 0..1: what lib_add_verified
 * compares with the thresholds. */
lib_code lib_similarity(lib *l, const lib_insight *a, const lib_insight *b, double *sim);

/* How an insight's condition fares on the problems recorded for it. */
typedef struct {
    size_t positive, positive_kept;       /* positives; still retrieved */
    size_t unretrieved, unretrieved_now;  /* unretrieved; now retrieved */
    size_t negative, negative_avoided;    /* negatives; now NOT retrieved */
    size_t no_text;                       /* problems without a stored text (not scored) */
    double score;   /* (2*positive_kept + unretrieved_now + negative_avoided) /
                       (2*positive + unretrieved + negative), 1 when none */
} lib_refine_score_t;

/* Re-runs retrieval (lib_search, k = LIB_DEFAULT_K, over the whole library)
 * on the text of every positive, negative and unretrieved problem of
 * insight id, with its current condition (condition NULL) or a proposed one.
 * A proposed condition is indexed inside a write transaction that is rolled
 * back: nothing is written, the library is locked for writes meanwhile (a
 * read-only library gives LIB_EREADONLY). */
lib_code lib_refine_score(lib *l, int64_t id, const char *condition, lib_refine_score_t *out);

/* Writes a new condition: the stored version goes to the history, the
 * insight's version grows by one, statistics and problems are kept; all in
 * one transaction. *version_out (may be NULL) receives the new version. */
lib_code lib_replace_condition(lib *l, int64_t id, const char *condition, int64_t *version_out);

/* The ids (ascending) of insights with at least one negative or unretrieved
 * problem: what refinement looks at. *ids malloc'd, NULL when none. */
lib_code lib_refine_candidates(lib *l, int64_t **ids, size_t *n);

#endif
