/* agent/text — UTF-8 repair and key redaction; see text.h.
 *
 * Both are two-pass: a scan that counts what has to change (no allocation
 * when nothing does), then one exact-size copy. Memory is therefore at most
 * one extra copy of the text, freed before returning. */
#include <stdlib.h>
#include <string.h>
#include "agent/llm/llm.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when the
 * bytes there do not start one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;          /* overlong */
        if (c == 0xed) hi = 0x9f;          /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;          /* overlong */
        if (c == 0xf4) hi = 0x8f;          /* > U+10FFFF */
    } else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

/* How many bytes an invalid sequence at s covers: the lead byte plus the
 * continuation bytes that could still have belonged to it (the "maximal
 * subpart" of Unicode 6.3, ch. 3), at least 1. */
static size_t invalid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t want = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 1;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (want == 1 || n < 2 || s[1] < lo || s[1] > hi) return 1;
    size_t k = 2;
    while (k < want && k < n && s[k] >= 0x80 && s[k] <= 0xbf) k++;
    return k;
}

int ag_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(u + i, n - i);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

int ag_utf8_fix(char **sp)
{
    const unsigned char *s = (const unsigned char *)*sp;
    size_t n = strlen(*sp), bad = 0, extra = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(s + i, n - i);
        if (l) { i += l; continue; }
        l = invalid_len(s + i, n - i);
        bad++;
        if (l < 3) extra += 3 - l;
        i += l;
    }
    if (!bad) return 0;
    char *out = malloc(n + extra + 1);
    if (!out) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(s + i, n - i);
        if (l) { memcpy(out + o, s + i, l); o += l; i += l; continue; }
        i += invalid_len(s + i, n - i);
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
    }
    out[o] = 0;
    free(*sp);
    *sp = out;
    return 0;
}

/* Replaces needle (nlen > 0) in *sp; see ag_redact_key. */
static int replace_all(char **sp, const char *needle, size_t nlen)
{
    static const char mark[] = AG_REDACTED;
    const size_t mlen = sizeof mark - 1;
    char *s = *sp;
    size_t count = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += nlen) count++;
    if (!count) return 0;
    size_t n = strlen(s);
    char *out = malloc(n - count * nlen + count * mlen + 1);
    if (!out) return -1;
    size_t o = 0;
    const char *p = s, *q;
    while ((q = strstr(p, needle))) {
        memcpy(out + o, p, (size_t)(q - p));
        o += (size_t)(q - p);
        memcpy(out + o, mark, mlen);
        o += mlen;
        p = q + nlen;
    }
    size_t rest = strlen(p);
    memcpy(out + o, p, rest + 1);
    free(s);
    *sp = out;
    return 0;
}

int ag_redact_key(char **sp, const char *key)
{
    size_t klen = key ? strlen(key) : 0;
    if (!*sp || klen < AG_REDACT_MIN_KEY) return 0;
    if (replace_all(sp, key, klen) != 0) return -1;
    if (!strchr(key, '/')) return 0;
    /* The key inside a JSON string in the reply, with '/' escaped. */
    size_t slashes = 0;
    for (const char *p = key; *p; p++) slashes += *p == '/';
    char *esc = malloc(klen + slashes + 1);
    if (!esc) return -1;
    size_t o = 0;
    for (const char *p = key; *p; p++) {
        if (*p == '/') esc[o++] = '\\';
        esc[o++] = *p;
    }
    esc[o] = 0;
    int rc = replace_all(sp, esc, o);
    free(esc);
    return rc;
}
