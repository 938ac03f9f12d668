/* agent/text — byte-level fixes applied to text that comes from outside
 * (LLM replies) before it is stored or printed: UTF-8 repair and removal of
 * the API key.
 *
 * Both work in place when nothing needs changing (the common case: no copy
 * of a multi-megabyte reply), and otherwise replace *s with a new malloc'd
 * buffer and free the old one. They return 0, or -1 when out of memory (*s
 * is then left as it was).
 */
#ifndef OPTAGENT_AGENT_TEXT_H
#define OPTAGENT_AGENT_TEXT_H

#include <stddef.h>

/* Keys shorter than this are not redacted from reply text: a 3-character
 * key would match ordinary words and mangle formulations. Error lines still
 * redact any key (see agent/llm.c). */
#define AG_REDACT_MIN_KEY 8

/* The marker that replaces the key. */
#define AG_REDACTED "[REDACTED]"

/* Replaces every invalid UTF-8 sequence in the NUL-terminated *s (bad lead
 * bytes, truncated or overlong sequences, surrogates, > U+10FFFF) by U+FFFD,
 * one per maximal invalid subpart. */
int ag_utf8_fix(char **s);

/* 1 when the n bytes at s are valid UTF-8. */
int ag_utf8_valid(const char *s, size_t n);

/* Replaces every occurrence of key in the NUL-terminated *s by AG_REDACTED;
 * also its JSON-escaped spelling ('/' written "\/") when the key holds a '/'.
 * key NULL or shorter than AG_REDACT_MIN_KEY: nothing is done. */
int ag_redact_key(char **s, const char *key);

#endif
