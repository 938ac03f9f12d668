/* agent/llm/chat — the chat backend that sends every call to the HTTP
 * client. Other backends (replay.c, cache.c) have the same shape, so
 * the pipeline never knows where its replies come from. */
#include "agent/llm/llm.h"

static ag_llm_code direct_chat(void *ctx, const ag_chat_call *call, const ag_llm_message *msgs,
                               size_t nmsgs, volatile int *cancel, ag_llm_reply **out)
{
    return ag_llm_chat(ctx, call->task, msgs, nmsgs, cancel, out);
}

ag_chat ag_chat_direct(ag_llm *l)
{
    ag_chat c = { direct_chat, l };
    return c;
}
