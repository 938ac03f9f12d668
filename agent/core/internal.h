/* agent/core/internal.h — what the files of agent/core share; private to
 * agent/core (nothing outside it includes it). Helpers are named agi_.
 *   retrieve.c  the library's part of a run: search, the optional check
 *               request, the prompt block and the record of what was carried
 *   pipeline.c  the loop that uses it, and the chat-message helpers
 *   learn.c     learning's exchanges (reflect, refine), which use them too
 */
#ifndef OPTAGENT_AGENT_CORE_INTERNAL_H
#define OPTAGENT_AGENT_CORE_INTERNAL_H

#include "agent/core/core.h"

/* Fills run->retrieval (searching o->library against run->problem, the
 * check request when o->retrieve_llm, o->extra after the kept hits) and
 * sets *block to the prompt block, "" when nothing is carried (malloc'd,
 * caller frees). A failed search is recorded, not fatal. 0, or -1 when out
 * of memory (*block NULL). */
int agi_retrieve(const ag_chat *chat, const ag_pipeline_options *o, ag_run *run,
                 volatile int *cancel, char **block);

/* Frees what agi_retrieve stored in r. */
void agi_retrieval_clear(ag_retrieval *r);

/* [{"id", "version", "score"}] of n refs (a candidate: score null and
 * "candidate": true). NULL when out of memory. */
cJSON *agi_refs_json(const ag_insight_ref *v, size_t n);

/* The run's "retrieval" object of ag_run_json. NULL when out of memory. */
cJSON *agi_retrieval_json(const ag_retrieval *r);

/* Appends {"role", "content"} (content copied) to the array msgs. */
void agi_add_message(cJSON *msgs, const char *role, const char *content);

/* The client's view of a JSON message array: n borrowed role/content
 * pointers (malloc'd array, caller frees), NULL when out of memory. */
ag_llm_message *agi_llm_messages(const cJSON *msgs, size_t *n);

#endif
