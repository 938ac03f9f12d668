/* agent/extract — find the format-1 formulation in an LLM reply.
 *
 * Replies hold the JSON in a ```json fence, in a bare fence, or in prose;
 * sometimes several objects (an example, then the answer), sometimes
 * truncated, sometimes with // or /+ +/ comments or trailing commas. The
 * candidates are tried in order: fenced blocks first, then balanced {...}
 * objects in the text; the first that parses as a JSON object with
 * "variables" and "objective" (a format-1 formulation) wins. Comments and
 * trailing commas outside strings are removed before parsing.
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
