/* Growing string buffer and the string-keyed hash map of the checker. */
#include <stdint.h>
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

static _Thread_local unsigned long compares;

unsigned long fm_strmap_compares(void) { return compares; }

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h ^ (h >> 29);
}

/* The slot of key, or of the empty slot where it would go. */
static size_t slot_of(const fm_strmap *m, const char *key)
{
    size_t mask = m->nslots - 1, i = hash_str(key) & mask;
    while (m->keys[i]) {
        compares++;
        if (!strcmp(m->keys[i], key)) break;
        i = (i + 1) & mask;
    }
    return i;
}

static int grow(fm_strmap *m)
{
    size_t nslots = m->nslots ? m->nslots * 2 : 16;
    fm_strmap g = { calloc(nslots, sizeof *g.keys), malloc(nslots * sizeof *g.vals), 0, nslots };
    if (!g.keys || !g.vals) { free(g.keys); free(g.vals); return -1; }
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(&g, m->keys[i]);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
    }
    g.n = m->n;
    fm_strmap_free(m);
    *m = g;
    return 0;
}

int fm_strmap_put(fm_strmap *m, const char *key, int val, int *old)
{
    if ((m->n + 1) * 2 > m->nslots && grow(m) != 0) return -1;
    size_t i = slot_of(m, key);
    if (m->keys[i]) { if (old) *old = m->vals[i]; return 0; }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 1;
}

int fm_strmap_get(const fm_strmap *m, const char *key)
{
    if (!m->nslots) return -1;
    size_t i = slot_of(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

void fm_strmap_free(fm_strmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL; m->vals = NULL; m->n = m->nslots = 0;
}
