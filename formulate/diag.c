/* Diagnostics: a capped list of (severity, element, index, message, hint). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/formulate.h"

struct fm_diags {
    fm_diag *items;
    size_t n, cap, errors;
    int full;   /* the cap was reached and said so */
};

fm_diags *fm_diags_new(void) { return calloc(1, sizeof(fm_diags)); }

static void diag_release(fm_diag *d)
{
    free((char *)d->element); free((char *)d->index);
    free((char *)d->message); free((char *)d->hint);
}

void fm_diags_free(fm_diags *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) diag_release(&d->items[i]);
    free(d->items);
    free(d);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int push(fm_diags *d, fm_severity sev, const char *element,
                const char *index, const char *hint, const char *msg)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        fm_diag *items = realloc(d->items, cap * sizeof *items);
        if (!items) return -1;
        d->items = items; d->cap = cap;
    }
    fm_diag *x = &d->items[d->n];
    x->severity = sev;
    x->element = dup_or_empty(element);
    x->index = dup_or_empty(index);
    x->message = dup_or_empty(msg);
    x->hint = dup_or_empty(hint);
    if (!x->element || !x->index || !x->message || !x->hint) {
        diag_release(x);
        return -1;
    }
    d->n++;
    if (sev == FM_SEV_ERROR) d->errors++;
    return 0;
}

int fm_diags_add(fm_diags *d, fm_severity sev, const char *element,
                 const char *index, const char *hint, const char *fmt, ...)
{
    if (!d) return -1;
    if (d->full || d->n + 1 >= FM_MAX_DIAGS) {
        /* Past the cap errors are still counted, so callers see failure. */
        if (sev == FM_SEV_ERROR) d->errors++;
        if (!d->full)
            push(d, FM_SEV_INFO, "model", "", "",
                 "too many diagnostics; the rest are not shown");
        d->full = 1;
        return -1;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return push(d, sev, element, index, hint, buf);
}

size_t fm_diags_count(const fm_diags *d) { return d ? d->n : 0; }
size_t fm_diags_errors(const fm_diags *d) { return d ? d->errors : 0; }

const fm_diag *fm_diags_get(const fm_diags *d, size_t i)
{
    return d && i < d->n ? &d->items[i] : NULL;
}

const char *fm_severity_name(fm_severity s)
{
    switch (s) {
    case FM_SEV_ERROR: return "error";
    case FM_SEV_WARNING: return "warning";
    default: return "info";
    }
}

const char *fm_strerror(fm_code code)
{
    switch (code) {
    case FM_OK: return "ok";
    case FM_EJSON: return "not a JSON object";
    case FM_EINVALID: return "invalid formulation";
    case FM_ELIMIT: return "input limit exceeded";
    case FM_ENOMEM: return "out of memory";
    case FM_EIO: return "input/output error";
    }
    return "unknown error";
}

const char *fm_class_name(fm_class c)
{
    switch (c) {
    case FM_CLASS_LP: return "LP";
    case FM_CLASS_MILP: return "MILP";
    case FM_CLASS_NLP: return "NLP";
    default: return "MINLP";
    }
}

double fm_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
