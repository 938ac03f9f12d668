/* agent/replay — a chat backend that answers from recorded replies, so a run
 * can be reproduced with no endpoint at all (--llm replay:FILE.jsonl).
 *
 * The file holds one JSON object per line:
 *   {"id": "p7", "task": "formulate", "round": 0, "content": "...",
 *    "usage": {"prompt_tokens": 812, "completion_tokens": 240}}
 * "task" may be written "stage"; "round" may be left out (it then answers
 * every round of that task); "usage" is optional. A request with no recorded
 * reply fails with a clear error (AG_LLM_ERESPONSE), never a guess.
 * Ownership: ag_replay_load returns a replay the caller frees with
 * ag_replay_free; it is read-only afterwards and safe to share between
 * threads.
 */
#ifndef OPTAGENT_AGENT_REPLAY_H
#define OPTAGENT_AGENT_REPLAY_H

#include "agent/pipeline.h"

typedef struct ag_replay ag_replay;

/* NULL with "FILE:LINE: reason" in err on a malformed file. */
ag_replay *ag_replay_load(const char *path, char *err, size_t errlen);
void ag_replay_free(ag_replay *r);
size_t ag_replay_count(const ag_replay *r);

/* The backend: ctx is the ag_replay. */
ag_chat ag_chat_replay(ag_replay *r);

#endif
