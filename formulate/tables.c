/* Interned elements and hash maps keyed by tuples of elements. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/internal.h"

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

static uint64_t hash_tuple(const fm_sym *k, int d)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < d; i++) {
        h ^= (uint64_t)(uint32_t)k[i] + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
    }
    return h ^ (h >> 33);
}

void fm_format_number(char *buf, size_t len, double v)
{
    if (v == 0) v = 0;   /* no "-0" */
    if (fabs(v) < 1e15 && v == floor(v)) { snprintf(buf, len, "%.0f", v); return; }
    for (int prec = 1; prec <= 17; prec++) {   /* shortest exact text */
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static int symtab_rehash(fm_symtab *t, size_t nslots)
{
    int32_t *s = malloc(nslots * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < nslots; i++) s[i] = -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t h = hash_bytes(t->text.data + t->text_off[id]) & (nslots - 1);
        while (s[h] >= 0) h = (h + 1) & (nslots - 1);
        s[h] = (int32_t)id;
    }
    free(t->slots);
    t->slots = s; t->nslots = nslots;
    return 0;
}

fm_sym fm_sym_find(const fm_symtab *t, const char *text)
{
    if (!t->nslots) return -1;
    size_t h = hash_bytes(text) & (t->nslots - 1);
    while (t->slots[h] >= 0) {
        if (!strcmp(t->text.data + t->text_off[t->slots[h]], text)) return t->slots[h];
        h = (h + 1) & (t->nslots - 1);
    }
    return -1;
}

int fm_sym_intern(fm_symtab *t, const char *text, fm_sym *out)
{
    fm_sym f = fm_sym_find(t, text);
    if (f >= 0) { *out = f; return 0; }
    if (t->n >= INT32_MAX - 1) return -1;
    if ((t->n + 1) * 2 > t->nslots && symtab_rehash(t, t->nslots ? t->nslots * 2 : 64) != 0)
        return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        size_t *o = realloc(t->text_off, cap * sizeof *o);
        if (!o) return -1;
        t->text_off = o;
        double *nm = realloc(t->num, cap * sizeof *nm);
        if (!nm) return -1;
        t->num = nm;
        unsigned char *in = realloc(t->is_num, cap);
        if (!in) return -1;
        t->is_num = in;
        t->cap = cap;
    }
    size_t off;
    if (fm_strbuf_add(&t->text, text, &off) != 0) return -1;
    fm_sym id = (fm_sym)t->n++;
    t->text_off[id] = off;
    /* Numeric only in the canonical text of its value, so each number has
     * exactly one element ("01", "3.0" and "1e3" are strings). */
    char *end;
    double v = strtod(text, &end);
    char canon[64];
    int numeric = *text && !*end && isfinite(v);
    if (numeric) {
        fm_format_number(canon, sizeof canon, v);
        numeric = !strcmp(canon, text);
    }
    t->is_num[id] = numeric;
    t->num[id] = t->is_num[id] ? v : 0;
    size_t h = hash_bytes(text) & (t->nslots - 1);
    while (t->slots[h] >= 0) h = (h + 1) & (t->nslots - 1);
    t->slots[h] = id;
    *out = id;
    return 0;
}

int fm_sym_from_number(fm_symtab *t, double v, fm_sym *out)
{
    char buf[64];
    fm_format_number(buf, sizeof buf, v);
    return fm_sym_intern(t, buf, out);
}

const char *fm_sym_text(const fm_symtab *t, fm_sym s) { return t->text.data + t->text_off[s]; }

void fm_symtab_free(fm_symtab *t)
{
    free(t->text_off); free(t->num); free(t->is_num); free(t->slots);
    fm_strbuf_free(&t->text);
    memset(t, 0, sizeof *t);
}

void fm_tmap_init(fm_tmap *m, int dimen)
{
    memset(m, 0, sizeof *m);
    m->dimen = dimen;
}

void fm_tmap_free(fm_tmap *m)
{
    free(m->keys); free(m->vals); free(m->slots);
    int d = m->dimen;
    memset(m, 0, sizeof *m);
    m->dimen = d;
}

long fm_tmap_find(const fm_tmap *m, const fm_sym *key)
{
    if (!m->nslots) return -1;
    int d = m->dimen;
    size_t h = hash_tuple(key, d) & (m->nslots - 1);
    while (m->slots[h] >= 0) {
        int32_t e = m->slots[h];
        if (!memcmp(m->keys + (size_t)e * d, key, d * sizeof *key)) return e;
        h = (h + 1) & (m->nslots - 1);
    }
    return -1;
}

static int tmap_rehash(fm_tmap *m, size_t nslots)
{
    int32_t *s = malloc(nslots * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < nslots; i++) s[i] = -1;
    for (size_t e = 0; e < m->n; e++) {
        size_t h = hash_tuple(m->keys + e * m->dimen, m->dimen) & (nslots - 1);
        while (s[h] >= 0) h = (h + 1) & (nslots - 1);
        s[h] = (int32_t)e;
    }
    free(m->slots);
    m->slots = s; m->nslots = nslots;
    return 0;
}

long fm_tmap_insert(fm_tmap *m, const fm_sym *key, int *added)
{
    long f = fm_tmap_find(m, key);
    if (added) *added = f < 0;
    if (f >= 0) return f;
    if (m->n >= INT32_MAX - 1) return -1;
    if ((m->n + 1) * 2 > m->nslots && tmap_rehash(m, m->nslots ? m->nslots * 2 : 16) != 0)
        return -1;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        fm_sym *k = realloc(m->keys, cap * (m->dimen ? m->dimen : 1) * sizeof *k);
        if (!k) return -1;
        m->keys = k;
        union fm_tval *v = realloc(m->vals, cap * sizeof *v);
        if (!v) return -1;
        m->vals = v;
        m->cap = cap;
    }
    size_t e = m->n++;
    memcpy(m->keys + e * m->dimen, key, m->dimen * sizeof *key);
    m->vals[e].i = 0;
    size_t h = hash_tuple(key, m->dimen) & (m->nslots - 1);
    while (m->slots[h] >= 0) h = (h + 1) & (m->nslots - 1);
    m->slots[h] = (int32_t)e;
    return (long)e;
}
