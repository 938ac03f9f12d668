/* agent/datasets — load optimization benchmark files as a list of problems
 * with their gold answers.
 *
 * Formats (detected from the content, never from the file name):
 *
 *   format     keys used (others ignored)              container
 *   alphaopt   task_id, description, ground_truth      array or JSON Lines
 *   llmopt     question, answer, index (ori ignored)   array or JSON Lines
 *   optmath    en_question, en_answer, id              array or JSON Lines
 *   optibench  question, results, index, type          array or JSON Lines
 *   plain      id, question, answer                    array or JSON Lines
 *
 * Container: the first non-space character (after an optional UTF-8 BOM)
 * decides: '[' is one JSON array of objects, '{' is JSON Lines (one object
 * per line, streamed; blank lines skipped, CRLF accepted). A pretty-printed
 * single object is therefore an error on its first line.
 *
 * Format detection (AG_DS_AUTO) looks at the keys of the first record, most
 * specific family first:
 *   "results"                         -> optibench
 *   "en_question" or "en_answer"      -> optmath
 *   "task_id" or "ground_truth", or "description" without "question"
 *                                     -> alphaopt
 *   "question" with "index" or "ori"  -> llmopt
 *   "question" with "id"              -> plain
 *   "question" with "answer"          -> llmopt (ids are record numbers)
 *   anything else                     -> error listing the keys found.
 * Every later record is then read with the rules of that format.
 *
 * Ids (text; unique within a file, a duplicate is an error naming both
 * records): alphaopt task_id and plain id are required; llmopt index,
 * optmath id and optibench index are optional and default to the 1-based
 * record number. A number id is written without a fraction when it is an
 * integer ("7", not "7.0"); a string id is kept as written (1-256 bytes).
 *
 * Golds (the answer field of the format):
 *   JSON number                          -> NUMBER
 *   numeric string, surrounding white space trimmed (decimal digits, one
 *     optional '.', optional sign and exponent: "700.0", " 172666.667")
 *                                        -> NUMBER
 *   "No Best Solution" (any letter case, trimmed) -> NO_SOLUTION
 *   null or missing                      -> NONE
 *   -99999 or 4.08e35 (number or string, relative tolerance 1e-6: LLMOPT
 *     writes the latter as 407999995500002257060344751334621184, 1.1e-8 away)
 *                                        -> NONE
 *   any other string ("1,234.5", "infeasible", "about 12"), a boolean, an
 *   array or an object                   -> error naming the field.
 * Only the strings the published files hold are accepted; thousands
 * separators and words other than "No Best Solution" are refused rather than
 * guessed. Zero is a real gold.
 *
 * OptiBench: every entry of "results" becomes a quantity (name, value parsed
 * from its numeric string, or a JSON number); a value that is not numeric is
 * an error naming the key. The gold is the LAST quantity, kind NUMBER (the
 * objective is usually, not always, the last key: an evaluator should score
 * every quantity). Empty or missing results give kind NONE.
 *
 * Errors: ag_ds_load returns NULL and one line in err:
 *   JSON Lines:  "FILE:LINE: field "answer": an array is not a gold answer"
 *   array:       "FILE: record N (line L): field "description": missing"
 * A malformed record is never skipped.
 *
 * Hard caps: file 512 MiB, 1,000,000 records, question 1 MiB, one JSON Lines
 * line 16 MiB, 100,000 quantities per record.
 *
 * Ownership: an ag_ds owns every problem and every string they point to;
 * pointers from ag_ds_get live until ag_ds_free. Nothing here prints.
 */
#ifndef OPTAGENT_AGENT_DATASETS_H
#define OPTAGENT_AGENT_DATASETS_H

#include <stddef.h>

#define AG_DS_MAX_FILE_BYTES   ((size_t)512 << 20)
#define AG_DS_MAX_RECORDS      1000000u
#define AG_DS_MAX_QUESTION     ((size_t)1 << 20)
#define AG_DS_MAX_LINE_BYTES   ((size_t)16 << 20)
#define AG_DS_MAX_QUANTITIES   100000u
#define AG_DS_MAX_ID_BYTES     256u

typedef enum {
    AG_DS_AUTO,
    AG_DS_ALPHAOPT,
    AG_DS_LLMOPT,
    AG_DS_OPTMATH,
    AG_DS_OPTIBENCH,
    AG_DS_PLAIN
} ag_ds_format;

/* "auto", "alphaopt", "llmopt", "optmath", "optibench", "plain". */
const char *ag_ds_format_name(ag_ds_format f);
/* The inverse (exact, lower case). Returns 0, or -1 for an unknown name. */
int ag_ds_format_parse(const char *s, ag_ds_format *out);

typedef enum {
    AG_GOLD_NUMBER,
    AG_GOLD_NONE,          /* no gold: null, sentinel, missing */
    AG_GOLD_NO_SOLUTION    /* "No Best Solution": infeasible/unbounded expected */
} ag_gold_kind;

/* "number", "none", "no_solution". */
const char *ag_gold_kind_name(ag_gold_kind k);

typedef struct {
    char *name;
    double value;
} ag_ds_quantity;      /* OptiBench results entries */

typedef struct {
    char *id;
    char *question;
    ag_gold_kind gold_kind;
    double gold;                 /* 0 unless gold_kind is AG_GOLD_NUMBER */
    ag_ds_quantity *quantities;  /* OptiBench only, in file order */
    size_t nquantities;
    char *dataset;               /* file stem ("nl4opt_test"), shared by all */
    size_t record;               /* JSON Lines: line number; array: 1-based element */
    char *type;                  /* OptiBench "type", or NULL */
} ag_ds_problem;

typedef struct ag_ds ag_ds;

/* Loads path. fmt AG_DS_AUTO detects the format; any other value forces it
 * (the container is still detected). Returns NULL with a one-line reason in
 * err (may be NULL). */
ag_ds *ag_ds_load(const char *path, ag_ds_format fmt, char *err, size_t errlen);

size_t ag_ds_count(const ag_ds *ds);
/* NULL when i >= count. */
const ag_ds_problem *ag_ds_get(const ag_ds *ds, size_t i);
/* The format used (detected or forced). */
ag_ds_format ag_ds_detected(const ag_ds *ds);
/* 1 when the file was JSON Lines, 0 for a JSON array. */
int ag_ds_is_jsonl(const ag_ds *ds);
const char *ag_ds_path(const ag_ds *ds);
/* The file stem (base name without its last extension). */
const char *ag_ds_name(const ag_ds *ds);
void ag_ds_free(ag_ds *ds);

#endif
