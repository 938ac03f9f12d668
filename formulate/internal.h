/* Internal to formulate/: shared helpers of its source files. */
#ifndef OPTAGENT_FORMULATE_INTERNAL_H
#define OPTAGENT_FORMULATE_INTERNAL_H

#include <stddef.h>

/* A growing buffer of NUL-terminated strings addressed by offset (offsets stay
 * valid when the buffer moves). */
typedef struct {
    char *data;
    size_t len, cap;
} fm_strbuf;

/* Appends s with its NUL; *off receives its offset. Returns 0 or -1 (ENOMEM). */
int fm_strbuf_add(fm_strbuf *b, const char *s, size_t *off);
void fm_strbuf_free(fm_strbuf *b);

#endif
