/* agent/eval/report_html — the HTML report of one evaluation
 * (ag_eval_write_html), with its SVG charts.
 *
 * One self-contained page: inline CSS, inline SVG, no script and no URL, so
 * it can be mailed or archived as it is. The sections follow the Markdown
 * report; the charts are drawn here by hand (bars of accuracy per dataset,
 * problems per category that has any, a latency histogram with ticks, axis
 * titles and the p50/p90/p99 marks — or a sentence instead when the
 * latencies were replayed or are all zero). A problem not correct shows
 * its last diagnostic and the start of its reply when the caller recorded
 * them.
 * Every input string goes through ag_ev_html_esc, and labels drawn in a
 * chart are cut to SVG_LABEL_MAX bytes (the full text stays in <title>).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/eval/internal.h"

#define SVG_LABEL_W 190
#define SVG_BAR_W   420
#define SVG_ROW_H   22
#define SVG_LABEL_MAX 28    /* bytes of a label drawn; the full text is in <title> */
#define HIST_BINS   20

static const char *cat_color(int k)
{
    switch (k) {
    case AG_CAT_CORRECT: return "#2e7d32";
    case AG_CAT_WRONG_ANSWER: return "#c62828";
    case AG_CAT_NO_GOLD: return "#9e9e9e";
    case AG_CAT_LLM_ERROR: case AG_CAT_SOLVER_ERROR: return "#6d4c41";
    default: return "#ef6c00";
    }
}

static void svg_accuracy(FILE *f, const ag_eval *e, const ag_eval_totals *t)
{
    size_t rows = e->nds + 1;
    int w = SVG_LABEL_W + SVG_BAR_W + 70, h = (int)rows * SVG_ROW_H + 30;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"accuracy per dataset\">\n", w, h, w, h);
    for (int q = 0; q <= 4; q++) {
        int x = SVG_LABEL_W + q * SVG_BAR_W / 4;
        fprintf(f, "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
                   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>\n",
                x, x, (int)rows * SVG_ROW_H, x, (int)rows * SVG_ROW_H + 16, q * 25);
    }
    for (size_t d = 0; d < rows; d++) {
        const ag_eval_totals *x = &t[d];
        const char *name = d < e->nds ? e->ds[d] : "all";
        int y = (int)d * SVG_ROW_H;
        char pct[32];
        ag_ev_fmt_pct(pct, sizeof pct, x->accuracy);
        fputs("<g><title>", f);
        ag_ev_html_esc(f, name);
        fprintf(f, ": %s (%zu/%zu)</title>", pct, x->correct, x->with_gold);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>", SVG_LABEL_W - 6, y + 15,
                d < e->nds ? "" : " font-weight=\"bold\"");
        ag_ev_html_esc_n(f, name, SVG_LABEL_MAX);
        fputs("</text>", f);
        double bw = isnan(x->accuracy) ? 0 : x->accuracy * SVG_BAR_W;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", SVG_LABEL_W,
                y + 3, bw, SVG_ROW_H - 6, d < e->nds ? "#1565c0" : "#0d47a1");
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s</text></g>\n", SVG_LABEL_W + bw + 4, y + 15, pct);
    }
    fputs("</svg>\n", f);
}

/* One bar per category that has problems (an empty one would only be a
 * label with nothing beside it). */
static void svg_categories(FILE *f, const ag_eval_totals *all)
{
    size_t max = 0;
    int rows = 0;
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        if (all->category[k] > max) max = all->category[k];
        if (all->category[k]) rows++;
    }
    int w = SVG_LABEL_W + SVG_BAR_W + 70, h = rows * SVG_ROW_H + 8;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"problems per category\">\n", w, h, w, h);
    int row = 0;
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        if (!all->category[k]) continue;
        int y = row++ * SVG_ROW_H;
        double bw = max ? (double)all->category[k] / (double)max * SVG_BAR_W : 0;
        const char *name = ag_eval_category_name((ag_eval_category)k);
        fprintf(f, "<g><title>%s: %zu</title><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
                   "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%d\">%zu</text></g>\n",
                name, all->category[k], SVG_LABEL_W - 6, y + 15, name, SVG_LABEL_W, y + 3, bw,
                SVG_ROW_H - 6, cat_color(k), SVG_LABEL_W + bw + 4, y + 15, all->category[k]);
    }
    fputs("</svg>\n", f);
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving at most
 * max_ticks intervals over span. */
static double nice_step(double span, int max_ticks)
{
    if (!(span > 0)) return 1;
    double raw = span / max_ticks, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* The latency histogram: HIST_BINS bins from the fastest to the slowest
 * problem, ticks and titles on both axes, and the p50/p90/p99 marks (a
 * mark's label goes left of its line near the right edge, so none is
 * clipped). */
static void svg_latency(FILE *f, const ag_eval *e, const ag_eval_totals *all)
{
    size_t bins[HIST_BINS] = { 0 };
    double lo = all->latency_min, hi = all->latency_max;
    if (!(hi > lo)) {   /* one value: a range around it, so the ticks differ */
        double pad = fmax(1, fabs(lo) * 0.1);
        lo = lo - pad > 0 ? lo - pad : 0;
        hi += pad;
    }
    int nb = HIST_BINS;
    double width = (hi - lo) / nb;
    for (size_t i = 0; i < e->nrecs; i++) {
        double v = e->recs[i].pub.latency_ms;
        if (isnan(v)) continue;
        int b = (int)((v - lo) / width);
        if (b < 0) b = 0;
        if (b >= nb) b = nb - 1;
        bins[b]++;
    }
    size_t max = 1;
    for (int b = 0; b < nb; b++)
        if (bins[b] > max) max = bins[b];
    const int left = 70, plot_w = 600, plot_h = 180, top = 20, right = 40;
    int w = left + plot_w + right, h = top + plot_h + 56;
    double span = hi - lo;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"latency histogram\">\n", w, h, w, h);
    /* y: counts, whole numbers */
    double ystep = nice_step((double)max, 5);
    if (ystep < 1) ystep = 1;
    for (int i = 0; i < 20; i++) {
        double c = i * ystep;
        if (c > (double)max + 1e-9) break;
        double y = top + plot_h - c / (double)max * plot_h;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                left, y, left + plot_w, y, left - 6, y + 4, c);
    }
    double bar = (double)plot_w / nb;
    for (int b = 0; b < nb; b++) {
        double bh = (double)bins[b] / (double)max * plot_h;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#5c6bc0\">"
                   "<title>%.0f to %.0f ms: %zu</title></rect>\n",
                left + b * bar + 1, top + plot_h - bh, bar - 2, bh, lo + b * width,
                lo + (b + 1) * width, bins[b]);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
            left, top + plot_h, left + plot_w, top + plot_h, left, top, left, top + plot_h);
    /* x: milliseconds, ticks at nice values inside [lo, lo + span] */
    double xstep = nice_step(span, 6);
    double first = ceil(lo / xstep) * xstep;
    for (int i = 0; i < 20; i++) {   /* a count, not v += step: no endless loop at any scale */
        double v = first + i * xstep;
        if (v > lo + span + 1e-9 * span) break;
        double x = left + (v - lo) / span * plot_w;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f</text>\n",
                x, top + plot_h, x, top + plot_h + 5, x, top + plot_h + 18,
                xstep >= 1 ? 0 : xstep >= 0.1 ? 1 : 2, v);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"title\">LLM time per "
               "problem (ms)</text>\n", left + plot_w / 2, top + plot_h + 42);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"title\" "
               "transform=\"rotate(-90 %d %d)\">problems</text>\n",
            18, top + plot_h / 2, 18, top + plot_h / 2);
    const struct { const char *name; double v; } marks[] = {
        { "p50", all->latency_p50 }, { "p90", all->latency_p90 }, { "p99", all->latency_p99 } };
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
        double x = left + (marks[m].v - lo) / span * plot_w;
        int near_right = x > left + plot_w - 40;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"mark\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" class=\"marklabel\">%s</text>\n",
                x, top, x, top + plot_h, near_right ? x - 3 : x + 3, top + 12 + 14 * (int)m,
                near_right ? "end" : "start", marks[m].name);   /* staggered: equal marks stay legible */
    }
    fputs("</svg>\n", f);
}

static void html_totals_row(FILE *f, const char *name, const ag_eval_totals *t)
{
    ag_ev_totals_text x;
    ag_ev_totals_cells(t, &x);
    fputs("<tr><th scope=\"row\">", f);
    ag_ev_html_esc(f, name);
    fputs("</th>", f);
    for (int i = 0; i < AG_EV_TOTALS_CELLS; i++) fprintf(f, "<td>%s</td>", x.cell[i]);
    fputs("</tr>\n", f);
}

static void html_totals_table(FILE *f, const ag_eval *e, const ag_eval_totals *t, const char *rule)
{
    char head[64];
    fputs("<table>\n<tr>", f);
    for (int i = 0; i <= AG_EV_TOTALS_CELLS; i++) {
        ag_ev_totals_head(head, sizeof head, i, rule);
        fprintf(f, "<th>%s</th>", head);
    }
    fputs("</tr>\n", f);
    for (size_t d = 0; d < e->nds; d++) html_totals_row(f, e->ds[d], &t[d]);
    html_totals_row(f, "all", &t[e->nds]);
    fputs("</table>\n", f);
}

#define DIAG_SHOWN 400     /* bytes of the last diagnostic shown */
#define REPLY_SHOWN 600    /* bytes of the reply's excerpt */

/* The start of a reply in a <pre>, line breaks kept: at most REPLY_LINES
 * lines and about REPLY_SHOWN bytes, each line escaped (and cut at a UTF-8
 * boundary by ag_ev_html_esc_n), "…" when there is more. */
#define REPLY_LINES 10
static void html_excerpt(FILE *f, const char *reply)
{
    fputs("<pre class=\"reply\">", f);
    size_t used = 0;
    const char *p = reply;
    for (int line = 0; *p && line < REPLY_LINES && used < REPLY_SHOWN; line++) {
        size_t n = strcspn(p, "\n");
        char *copy = strndup(p, n);
        if (!copy) break;
        int cut = n > REPLY_SHOWN - used;
        ag_ev_html_esc_n(f, copy, cut ? REPLY_SHOWN - used : 0);   /* "…" when cut */
        free(copy);
        if (cut) { fputs("</pre>", f); return; }
        used += n + 1;
        p += n;
        if (*p == '\n') p++;
        if (*p && line + 1 < REPLY_LINES && used < REPLY_SHOWN) fputc('\n', f);
    }
    if (*p) fputs("\n\xe2\x80\xa6", f);
    fputs("</pre>", f);
}

/* A problem not correct: its row, then (when recorded) its last diagnostic
 * and the start of its last reply, escaped, on a row of their own. */
static void html_problem_row(FILE *f, const ag_eval_record *r, const ag_ev_problem_text *pt)
{
    fputs("<tr><td class=\"t\">", f);
    ag_ev_html_esc(f, r->dataset);
    fputs("</td><td class=\"t\">", f);
    ag_ev_html_esc(f, r->id);
    fprintf(f, "</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td>%s</td><td>%s</td>",
            pt->category, pt->outcome, pt->gold, pt->answer);
    if (pt->with_queries) {
        fputs("<td class=\"t\">", f);
        ag_ev_write_failed_queries(f, r, ag_ev_html_esc);
        fputs("</td>", f);
    }
    fputs("</tr>\n", f);
    if (!r->diagnostic && !r->reply) return;
    fprintf(f, "<tr class=\"detail\"><td colspan=\"%d\">", pt->with_queries ? 7 : 6);
    if (r->diagnostic) {
        fputs("<div class=\"diag\">last diagnostic: ", f);
        ag_ev_html_esc_n(f, r->diagnostic, DIAG_SHOWN);
        fputs("</div>", f);
    }
    if (r->reply) html_excerpt(f, r->reply);
    fputs("</td></tr>\n", f);
}

static void html_head(FILE *f, ag_match_rule r, const ag_eval_totals *all)
{
    const char *rule = ag_eval_rule_name(r);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>optagent evaluation</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#212121;max-width:1100px}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "th,td{border:1px solid #ccc;padding:3px 8px}\n"
          "td{text-align:right}\nth{background:#f5f5f5;text-align:left}\n"
          "td.t{text-align:left;word-break:break-all}\n"
          ".rule{background:#e3f2fd;padding:.6em 1em;border-left:4px solid #1565c0}\n"
          "svg{display:block;margin:1em 0;font:12px sans-serif}\n"
          "svg .grid{stroke:#ddd}\nsvg .axis{stroke:#555}\n"
          "svg .mark{stroke:#c62828;stroke-dasharray:4 3}\n"
          "svg .marklabel{fill:#c62828;paint-order:stroke;stroke:#fff;stroke-width:3px}\n"
          "svg .title{font-weight:bold}\n"
          "tr.detail td{text-align:left;background:#fafafa}\n"
          ".diag{color:#b71c1c;margin:.2em 0}\n"
          "pre.reply{white-space:pre-wrap;word-break:break-all;margin:.2em 0;font-size:12px;"
          "color:#424242}\n"
          "</style>\n</head>\n<body>\n<h1>optagent evaluation</h1>\n", f);
    fprintf(f, "<p class=\"rule\">Matching rule: <b>%s</b> — ", rule);
    ag_ev_html_esc(f, ag_eval_rule_description(r));
    fputs("</p>\n<p>", f);
    ag_ev_write_accuracy(f, rule, all, "<b>", "</b>");
    fputs("</p>\n", f);
    if (all->query_problems || r == AG_MATCH_OPTIBENCH) {
        fputs("<p class=\"queries\">", f);
        ag_ev_write_queries(f, r, all, "<b>", "</b>");
        fputs("</p>\n", f);
    }
}

static void html_categories(FILE *f, const ag_eval *e, const ag_eval_totals *t)
{
    const ag_eval_totals *all = &t[e->nds];
    fputs("<h2>Failure categories</h2>\n", f);
    svg_categories(f, all);
    fputs("<table>\n<tr><th>category</th><th>all</th>", f);
    for (size_t d = 0; d < e->nds; d++) {
        fputs("<th>", f);
        ag_ev_html_esc(f, e->ds[d]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int k = 0; k < AG_CAT_COUNT; k++) {
        fprintf(f, "<tr><th scope=\"row\">%s</th><td>%zu</td>",
                ag_eval_category_name((ag_eval_category)k), all->category[k]);
        for (size_t d = 0; d < e->nds; d++) fprintf(f, "<td>%zu</td>", t[d].category[k]);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_latency(FILE *f, const ag_eval *e, const ag_eval_totals *all)
{
    fputs("<h2>Latency</h2>\n", f);
    if (!all->latency_known) {
        fputs("<p>No latency recorded.</p>\n", f);
        return;
    }
    if (e->latency_replayed) {
        fputs("<p>The replies were replayed from a file, so there is no LLM latency to chart.</p>\n", f);
        return;
    }
    if (!(all->latency_max > 0)) {
        fprintf(f, "<p>Every recorded latency is 0 ms (%zu problems: replies from the cache or a "
                   "replay file), so there is nothing to chart.</p>\n", all->latency_known);
        return;
    }
    ag_ev_totals_text x;   /* cells 7..9: p50, p90, p99 as in the table */
    ag_ev_totals_cells(all, &x);
    fprintf(f, "<p>%zu problems with a recorded latency; p50 %s ms, p90 %s ms, p99 %s ms "
               "(nearest rank).</p>\n", all->latency_known, x.cell[7], x.cell[8], x.cell[9]);
    svg_latency(f, e, all);
}

static void html_not_correct(FILE *f, const ag_eval *e, const ag_eval_totals *all)
{
    size_t wrong = all->with_gold - all->correct;
    fputs("<h2>Problems not correct (", f);
    ag_ev_write_listed_count(f, wrong);
    fputs(")</h2>\n", f);
    if (!wrong) {
        fputs("<p>None.</p>\n", f);
        return;
    }
    fputs("<table>\n<tr><th>dataset</th><th>id</th><th>category</th><th>outcome</th>"
          "<th>gold</th><th>answer</th>", f);
    if (e->nquery_recs) fputs("<th>queries not matched</th>", f);
    fputs("</tr>\n", f);
    ag_ev_each_not_correct(e, f, html_problem_row);
    fputs("</table>\n", f);
}

ag_code ag_eval_write_html(const ag_eval *e, FILE *f)
{
    if (!e || !f) return AG_EUSAGE;
    ag_eval_totals *t = ag_ev_all_totals(e);
    if (!t) return AG_ENOMEM;
    const ag_eval_totals *all = &t[e->nds];
    const char *rule = ag_eval_rule_name(e->rule);
    html_head(f, e->rule, all);
    fprintf(f, "<h2>Accuracy per dataset (rule %s)</h2>\n", rule);
    svg_accuracy(f, e, t);
    html_totals_table(f, e, t, rule);
    html_categories(f, e, t);
    html_latency(f, e, all);
    html_not_correct(f, e, all);
    fputs("</body>\n</html>\n", f);
    free(t);
    return ferror(f) ? AG_EIO : AG_OK;
}
