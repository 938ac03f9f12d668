/* library/store — internal interface between library.c (JSON, ranking) and
 * store.c (the SQLite file). Not for use outside library/. */
#ifndef OPTAGENT_LIBRARY_STORE_H
#define OPTAGENT_LIBRARY_STORE_H

#include "library/library.h"

/* ---- text helpers (library.c) ---------------------------------------------- */

/* A malloc'd copy of s prepared for the index and for queries: '%' becomes
 * " percent ", '$' " dollar " so those symbols stay meaningful words. */
char *lib_index_text(const char *s);

/* Where the negative part of a condition starts: the sentence holding the
 * first "not apply" / "n't apply" (any case). strlen(cond) when none. */
size_t lib_condition_split(const char *cond);

/* 1 when the two insights have equal content (ids, versions and, when b has
 * none, timestamps aside). */
int lib_insight_same(const lib_insight *a, const lib_insight *b);

/* Deep copy; 0 or -1 (out of memory, dst cleared). */
int lib_insight_copy(lib_insight *dst, const lib_insight *src);

/* ---- the store (store.c) --------------------------------------------------------- */

typedef enum { STORE_ADD, STORE_IMPORT } store_mode;

/* Import in one transaction: for each record, skip it when identical to the
 * stored insight with its id (*unchanged), store it with its id when free,
 * else with a fresh one. */
lib_code lib_store_import(lib *l, lib_insight *v, size_t n, lib_import_stats *st);

/* Replaces insight id by ins (id and version set here): the old row to the
 * history, version + 1, in one transaction. */
lib_code lib_store_replace(lib *l, int64_t id, lib_insight *ins);

typedef struct {
    int64_t id;
    double pos, neg;   /* weighted BM25 of the positive parts, of "Does NOT apply" */
    int terms;         /* distinct query terms found in the positive parts */
    double parts[5];   /* BM25 of each part alone (applies, notapplies,
                          explanation, taxonomy, problems) */
    int64_t nrow;      /* insights in the index */
} store_row;

/* Every insight the FTS5 expression matches, with its scores (higher is
 * better). df[i] (ndf of them, may be 0) is the document frequency of the
 * expression's i-th term. *rows malloc'd. */
lib_code lib_store_match(lib *l, const char *fts_query, const int64_t *df, int ndf,
                         store_row **rows, size_t *n);


/* How many insights hold word (stemmed as the index stems it). */
lib_code lib_store_doc_freq(lib *l, const char *word, int64_t *df);

/* Statistics counts of an insight (positive, negative). */
lib_code lib_store_counts(lib *l, int64_t id, int64_t *pos, int64_t *neg);

lib_code lib_store_stats(lib *l, cJSON **out);

/* Sets the handle's message (printf-style) and returns code. */
lib_code lib_fail(lib *l, lib_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- learning ------------------------------------------------------------------ */

/* A growing string (learn.c): lib_buf_add appends s (0, or -1 when out of
 * memory, the buffer then unchanged); b->s is malloc'd, NULL until the
 * first add. */
typedef struct { char *s; size_t len, cap; } lib_buf;
int lib_buf_add(lib_buf *b, const char *s);

/* The words of text that carry meaning, lower case, separated by spaces:
 * no stop words, bare numbers or one-letter words; '%' and '$' as words
 * (library.c, the same cut as a query's). malloc'd; NULL when out of memory. */
char *lib_content_words(const char *text);

/* The positive, negative and unretrieved problems of an insight with their
 * texts (NULL when none stored), by kind then in recorded order. */
typedef struct { lib_stat_kind kind; char *id; char *text; } store_outcome;
lib_code lib_store_outcomes(lib *l, int64_t id, store_outcome **v, size_t *n);
void lib_store_outcomes_free(store_outcome *v, size_t n);

/* A trial: takes the handle's lock and a write transaction and re-indexes
 * insight id with condition (only the index changes); searches on this
 * handle then see it. lib_store_trial_end rolls it back and unlocks. On
 * failure nothing stays taken. */
lib_code lib_store_trial_begin(lib *l, int64_t id, const char *condition);
void lib_store_trial_end(lib *l);

/* Weights of the parts in the positive score (FTS5 column order:
 * applies, notapplies, explanation, taxonomy, problems). */
#define LIB_W_APPLIES     1.0
#define LIB_W_EXPLANATION 0.5
#define LIB_W_TAXONOMY    0.7
#define LIB_W_PROBLEMS    1.5

#endif
