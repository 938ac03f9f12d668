/* agent/eval/report_text — the text helpers the report writers share.
 *
 * Escaping (a Markdown table cell, HTML text or attribute) and number
 * formatting ("n/a" for what is not a number, percentages with one decimal)
 * live here once, so the Markdown and HTML reports write every value the
 * same way. Each helper writes to the FILE * or buffer it is given, nothing
 * else; the writers check ferror() at the end.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agent/eval/internal.h"

/* Markdown table cell: entities for < > & (renderers pass raw HTML
 * through), backslash escapes for the characters that start markup, and a
 * space for control characters (a newline would end the row). */
void ag_ev_md_esc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
            fputc('\\', f);
            fputc(*p, f);
            break;
        default:
            fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
        }
    }
}

/* HTML text or attribute value; at most max bytes of s (0 = all), cut at a
 * UTF-8 character boundary and marked with an ellipsis. */
void ag_ev_html_esc_n(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    int cut = 0;
    if (max && n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
        cut = 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
        }
    }
    if (cut) fputs("\xe2\x80\xa6", f);
}

void ag_ev_html_esc(FILE *f, const char *s)
{
    ag_ev_html_esc_n(f, s, 0);
}

void ag_ev_fmt_pct(char *buf, size_t n, double acc)
{
    if (isnan(acc)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.1f%%", 100.0 * acc);
}

void ag_ev_fmt_num(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", decimals, v);
}

void ag_ev_fmt_gold(char *buf, size_t n, const ag_eval_record *r)
{
    switch (r->gold_kind) {
    case AG_GOLD_NONE: snprintf(buf, n, "none"); break;
    case AG_GOLD_NUMBER: snprintf(buf, n, "%.10g", r->gold); break;
    case AG_GOLD_NO_SOLUTION: snprintf(buf, n, "No Best Solution"); break;
    case AG_GOLD_QUANTITIES: snprintf(buf, n, "%zu quantities", r->gold_quantities); break;
    default: snprintf(buf, n, "?"); break;
    }
}

void ag_ev_fmt_answer(char *buf, size_t n, const ag_eval_record *r)
{
    if (!r->has_answer) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.10g", r->answer);
}
