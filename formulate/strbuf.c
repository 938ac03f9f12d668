#include <stdlib.h>
#include <string.h>
#include "formulate/internal.h"

int fm_strbuf_add(fm_strbuf *b, const char *s, size_t *off)
{
    size_t n = strlen(s) + 1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d; b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    *off = b->len;
    b->len += n;
    return 0;
}

void fm_strbuf_free(fm_strbuf *b)
{
    free(b->data);
    b->data = NULL; b->len = b->cap = 0;
}
