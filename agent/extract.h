/* agent/extract — find the format-1 formulation in an LLM reply.
 *
 * Replies hold the JSON in a ```json fence, in a bare fence, or in prose;
 * sometimes several objects (a data table, a draft, then the answer),
 * sometimes truncated, sometimes with // or /+ +/ comments or trailing
 * commas. Candidates are tried in order: fenced blocks first, then balanced
 * {...} objects in the text (drafts inside a <think> section last); the first
 * that parses as a JSON object with "variables" and "objective" wins, also
 * when it is wrapped in another object. Accepted repairs, only for a
 * candidate that fails as written: comments and trailing commas outside
 * strings are removed. Not repaired (reported as invalid JSON, with where):
 * single quotes, unquoted keys, True/None/NaN, "..." elisions, missing
 * commas, # comments. At most 64 formulation-like candidates are parsed.
 * The full rules are at the top of extract.c.
 */
#ifndef OPTAGENT_AGENT_EXTRACT_H
#define OPTAGENT_AGENT_EXTRACT_H

#include <stddef.h>

typedef enum {
    AG_EXTRACT_OK = 0,
    AG_EXTRACT_NONE,         /* no JSON object at all */
    AG_EXTRACT_TRUNCATED,    /* an object starts but never closes */
    AG_EXTRACT_NOT_FORMULATION, /* JSON objects, but none is a formulation */
    AG_EXTRACT_INVALID_JSON  /* something that looks like the formulation but does not parse */
} ag_extract_code;

const char *ag_extract_strerror(ag_extract_code c);

/* Extracts from reply (len bytes). On AG_EXTRACT_OK *json is a malloc'd,
 * NUL-terminated JSON text (after repairs) the caller frees, and *repaired
 * (may be NULL) says whether comments/trailing commas were removed. On
 * failure *json is NULL and why (may be NULL, size whylen) gets one line
 * suitable to send back to the LLM. */
ag_extract_code ag_extract_formulation(const char *reply, size_t len, char **json,
                                       int *repaired, char *why, size_t whylen);

#endif
