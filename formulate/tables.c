/* Interned elements and hash maps keyed by tuples of elements.
 *
 * The symbol table keeps numbers as numbers: a numeric element (one whose
 * text is the canonical text of its value) is found by hashing the double,
 * so expanding `stock[w-1]` or a range never prints a number to look it up;
 * the text is formatted once, when a name or a message needs it. Strings
 * that spell a canonical number ("3") are looked up among the numbers, which
 * keeps "3" and 3 one element. */
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

/* ---- texts in blocks that never move ---- */

#define TEXTBLOCK_BYTES 65536

struct fm_textblock {
    fm_textblock *next;
    size_t used, cap;
    char data[];
};

static const char *text_store(fm_symtab *t, const char *s)
{
    size_t n = strlen(s) + 1;
    fm_textblock *b = t->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > TEXTBLOCK_BYTES ? n : TEXTBLOCK_BYTES;
        fm_textblock *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->used = 0; nb->cap = cap;
        if (b && n > TEXTBLOCK_BYTES) {   /* a big text: keep filling the current block */
            nb->next = b->next; b->next = nb;
        } else {
            nb->next = b; t->blocks = nb;
        }
        b = nb;
    }
    char *d = b->data + b->used;
    memcpy(d, s, n);
    b->used += n;
    return d;
}

/* ---- the two hash tables ---- */

static uint64_t hash_double(double v)
{
    uint64_t h;
    memcpy(&h, &v, sizeof h);
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static int rehash_text(fm_symtab *t, size_t nslots)
{
    int32_t *s = malloc(nslots * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < nslots; i++) s[i] = -1;
    for (size_t id = 0; id < t->n; id++) {
        if (t->is_num[id]) continue;
        size_t h = hash_bytes(t->text[id]) & (nslots - 1);
        while (s[h] >= 0) h = (h + 1) & (nslots - 1);
        s[h] = (int32_t)id;
    }
    free(t->slots);
    t->slots = s; t->nslots = nslots;
    return 0;
}

static int rehash_num(fm_symtab *t, size_t nslots)
{
    int32_t *s = malloc(nslots * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < nslots; i++) s[i] = -1;
    for (size_t id = 0; id < t->n; id++) {
        if (!t->is_num[id]) continue;
        size_t h = hash_double(t->num[id]) & (nslots - 1);
        while (s[h] >= 0) h = (h + 1) & (nslots - 1);
        s[h] = (int32_t)id;
    }
    free(t->num_slots);
    t->num_slots = s; t->num_nslots = nslots;
    return 0;
}

static fm_sym find_num(const fm_symtab *t, double v)
{
    if (!t->num_nslots) return -1;
    size_t h = hash_double(v) & (t->num_nslots - 1);
    while (t->num_slots[h] >= 0) {
        if (t->num[t->num_slots[h]] == v) return t->num_slots[h];
        h = (h + 1) & (t->num_nslots - 1);
    }
    return -1;
}

static fm_sym find_text(const fm_symtab *t, const char *text)
{
    if (!t->nslots) return -1;
    size_t h = hash_bytes(text) & (t->nslots - 1);
    while (t->slots[h] >= 0) {
        if (!strcmp(t->text[t->slots[h]], text)) return t->slots[h];
        h = (h + 1) & (t->nslots - 1);
    }
    return -1;
}

/* Is text the canonical text of a finite number (then *v is the number)?
 * Only those texts are numeric, so each number has exactly one element
 * ("01", "3.0" and "1e3" are strings). Canonical texts start with a digit
 * or '-'; plain integers below 1e15 are checked without formatting. */
static int canonical_number(const char *text, double *v)
{
    const char *p = text + (*text == '-');
    if (!(*p >= '0' && *p <= '9')) return 0;
    size_t nd = 0;
    while (p[nd] >= '0' && p[nd] <= '9') nd++;
    if (!p[nd] && nd <= 15) {
        if (p[0] == '0' && (nd > 1 || p != text)) return 0;   /* "01", "-0" */
        *v = strtod(text, NULL);
        return 1;
    }
    char *end, canon[64];
    double x = strtod(text, &end);
    if (*end || !isfinite(x)) return 0;
    fm_format_number(canon, sizeof canon, x);
    if (strcmp(canon, text)) return 0;
    *v = x;
    return 1;
}

fm_sym fm_sym_find(const fm_symtab *t, const char *text)
{
    double v;
    if (canonical_number(text, &v)) return find_num(t, v);
    return find_text(t, text);
}

/* A new id: text may be NULL for a number (formatted when asked). */
static int add_sym(fm_symtab *t, const char *text, int is_num, double v, fm_sym *out)
{
    if (t->n >= INT32_MAX - 1) return -1;
    if (is_num && (t->nnum + 1) * 2 > t->num_nslots
        && rehash_num(t, t->num_nslots ? t->num_nslots * 2 : 64) != 0)
        return -1;
    if (!is_num && (t->n - t->nnum + 1) * 2 > t->nslots
        && rehash_text(t, t->nslots ? t->nslots * 2 : 64) != 0)
        return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        const char **o = realloc(t->text, cap * sizeof *o);
        if (!o) return -1;
        t->text = o;
        double *nm = realloc(t->num, cap * sizeof *nm);
        if (!nm) return -1;
        t->num = nm;
        unsigned char *in = realloc(t->is_num, cap);
        if (!in) return -1;
        t->is_num = in;
        t->cap = cap;
    }
    const char *stored = NULL;
    if (text && !(stored = text_store(t, text))) return -1;
    fm_sym id = (fm_sym)t->n++;
    t->text[id] = stored;
    t->is_num[id] = (unsigned char)is_num;
    t->num[id] = is_num ? v : 0;
    int32_t *slots = is_num ? t->num_slots : t->slots;
    size_t mask = (is_num ? t->num_nslots : t->nslots) - 1;
    size_t h = (is_num ? hash_double(v) : hash_bytes(text)) & mask;
    while (slots[h] >= 0) h = (h + 1) & mask;
    slots[h] = id;
    if (is_num) t->nnum++;
    *out = id;
    return 0;
}

int fm_sym_intern(fm_symtab *t, const char *text, fm_sym *out)
{
    double v;
    int is_num = canonical_number(text, &v);
    fm_sym f = is_num ? find_num(t, v) : find_text(t, text);
    if (f >= 0) { *out = f; return 0; }
    return add_sym(t, text, is_num, v, out);
}

int fm_sym_from_number(fm_symtab *t, double v, fm_sym *out)
{
    if (!isfinite(v)) {   /* "inf", "nan": texts, not numbers */
        char buf[64];
        fm_format_number(buf, sizeof buf, v);
        return fm_sym_intern(t, buf, out);
    }
    if (v == 0) v = 0;    /* -0 is the element 0 */
    fm_sym f = find_num(t, v);
    if (f >= 0) { *out = f; return 0; }
    return add_sym(t, NULL, 1, v, out);
}

const char *fm_sym_text(const fm_symtab *ct, fm_sym s)
{
    if (ct->text[s]) return ct->text[s];
    fm_symtab *t = (fm_symtab *)ct;   /* a lazy cache: the element does not change */
    char buf[64];
    fm_format_number(buf, sizeof buf, t->num[s]);
    t->text[s] = text_store(t, buf);
    return t->text[s] ? t->text[s] : "";
}

void fm_symtab_free(fm_symtab *t)
{
    free(t->text); free(t->num); free(t->is_num); free(t->slots); free(t->num_slots);
    for (fm_textblock *b = t->blocks, *n; b; b = n) { n = b->next; free(b); }
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
