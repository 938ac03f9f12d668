/* tests/support — see support.h. */
#include "tests/support.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- files ---------------------------------------------------------------- */

char *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return NULL; }
    for (;;) {
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int ts_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = len ? fwrite(data, 1, len, f) : 0;
    int rc = (put == len) ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *p = malloc(ld + ln + 2);
    if (!p) return NULL;
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, name, ln + 1);
    return p;
}

char **ts_list_files(const char *dir, const char *suffix, size_t *count)
{
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    *count = 0;
    if (!names) return NULL;
    names[0] = NULL;
    DIR *d = opendir(dir);
    if (!d) return names;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, suffix)) continue;
        char *full = join_path(dir, de->d_name);
        if (!full) continue;
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) { free(full); continue; }
        if (n + 1 >= cap) {
            char **nn = realloc(names, cap * 2 * sizeof *names);
            if (!nn) { free(full); break; }
            names = nn;
            cap *= 2;
        }
        names[n++] = full;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    names[n] = NULL;
    *count = n;
    return names;
}

void ts_free_list(char **list, size_t count)
{
    if (!list) return;
    for (size_t i = 0; i < count; i++) free(list[i]);
    free(list);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *ts_corpus_dir(const char *sub)
{
    static const char *const prefixes[] = {"", "../", "../../"};
    const char *src = getenv("OPTAGENT_SRCDIR");
    char buf[4096];
    if (src && *src) {
        snprintf(buf, sizeof buf, "%s/tests/corpus/%s", src, sub);
        return strdup(buf);
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(buf, sizeof buf, "%stests/corpus/%s", prefixes[i], sub);
        if (is_dir(buf)) return strdup(buf);
    }
    snprintf(buf, sizeof buf, "tests/corpus/%s", sub);
    return strdup(buf);
}

char *ts_replace_suffix(const char *path, const char *suffix, const char *with)
{
    size_t lp = strlen(path), lw = strlen(with);
    if (ends_with(path, suffix)) lp -= strlen(suffix);
    char *r = malloc(lp + lw + 1);
    if (!r) return NULL;
    memcpy(r, path, lp);
    memcpy(r + lp, with, lw + 1);
    return r;
}

char *ts_basename(const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t lb = strlen(base);
    if (suffix && ends_with(base, suffix)) lb -= strlen(suffix);
    char *r = malloc(lb + 1);
    if (!r) return NULL;
    memcpy(r, base, lb);
    r[lb] = '\0';
    return r;
}

/* ---- .expect files --------------------------------------------------------- */

static int parse_number(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s) return -1;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

static int add_report(ts_expect *e, const char *name, size_t nlen, double v)
{
    ts_expect_report *nr = realloc(e->reports, (e->nreports + 1) * sizeof *nr);
    if (!nr) return -1;
    e->reports = nr;
    char *copy = malloc(nlen + 1);
    if (!copy) return -1;
    memcpy(copy, name, nlen);
    copy[nlen] = '\0';
    nr[e->nreports].name = copy;
    nr[e->nreports].value = v;
    e->nreports++;
    return 0;
}

static int add_match(ts_expect *e, ts_field f, const char *sub)
{
    ts_expect_match *nm = realloc(e->matches, (e->nmatches + 1) * sizeof *nm);
    if (!nm) return -1;
    e->matches = nm;
    char *copy = strdup(sub);
    if (!copy) return -1;
    nm[e->nmatches].field = f;
    nm[e->nmatches].substring = copy;
    e->nmatches++;
    return 0;
}

int ts_expect_load(const char *path, ts_expect *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    size_t len;
    char *text = ts_read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s contains a NUL byte", path);
        free(text);
        return -1;
    }
    int rc = 0, lineno = 0;
    char *line = text;
    while (line && *line && rc == 0) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
        if (ll == 0 || line[0] == '#') goto next;

        if (strncmp(line, "status ", 7) == 0) {
            const char *st = line + 7;
            size_t sl = strlen(st);
            while (sl && (st[sl - 1] == ' ' || st[sl - 1] == '\t')) sl--;
            if (sl == 0 || sl >= sizeof e->status) {
                snprintf(err, errlen, "%s:%d: bad status", path, lineno);
                rc = -1;
            } else {
                memcpy(e->status, st, sl);
                e->status[sl] = '\0';
            }
        } else if (strncmp(line, "objective ", 10) == 0) {
            if (parse_number(line + 10, &e->objective) != 0) {
                snprintf(err, errlen, "%s:%d: bad objective number", path, lineno);
                rc = -1;
            } else {
                e->has_objective = 1;
            }
        } else if (strncmp(line, "report ", 7) == 0) {
            const char *rest = line + 7;
            const char *tab = strrchr(rest, '\t');
            double v;
            if (!tab || tab == rest || parse_number(tab + 1, &v) != 0) {
                snprintf(err, errlen,
                         "%s:%d: want 'report <name><TAB><value>'", path, lineno);
                rc = -1;
            } else if (add_report(e, rest, (size_t)(tab - rest), v) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
        } else if (strncmp(line, "element ", 8) == 0) {
            if (add_match(e, TS_FIELD_ELEMENT, line + 8)) rc = -1;
        } else if (strncmp(line, "index ", 6) == 0) {
            if (add_match(e, TS_FIELD_INDEX, line + 6)) rc = -1;
        } else if (strncmp(line, "message ", 8) == 0) {
            if (add_match(e, TS_FIELD_MESSAGE, line + 8)) rc = -1;
        } else {
            snprintf(err, errlen, "%s:%d: unknown line '%.60s'", path, lineno, line);
            rc = -1;
        }
    next:
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (rc == 0 && e->status[0] == '\0') {
        snprintf(err, errlen, "%s: no 'status' line", path);
        rc = -1;
    }
    if (rc != 0) {
        if (err[0] == '\0') snprintf(err, errlen, "out of memory");
        ts_expect_free(e);
    }
    return rc;
}

void ts_expect_free(ts_expect *e)
{
    for (size_t i = 0; i < e->nreports; i++) free(e->reports[i].name);
    for (size_t i = 0; i < e->nmatches; i++) free(e->matches[i].substring);
    free(e->reports);
    free(e->matches);
    memset(e, 0, sizeof *e);
}

/* ---- numbers ----------------------------------------------------------------- */

int ts_close_tol(double a, double b, double reltol)
{
    if (isnan(a) || isnan(b)) return 0;
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= reltol * fmax(1.0, fabs(b));
}

int ts_close(double a, double b)
{
    return ts_close_tol(a, b, 1e-6);
}

/* ---- messages ------------------------------------------------------------------ */

static int str_reserve(ts_str *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra + 1) nc *= 2;
    char *ns = realloc(b->s, nc);
    if (!ns) return -1;
    b->s = ns;
    b->cap = nc;
    return 0;
}

void ts_str_append(ts_str *b, const char *s, size_t n)
{
    if (str_reserve(b, n) != 0) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ts_str_printf(ts_str *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || str_reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ts_str_free(ts_str *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

static const char *nz(const char *s)
{
    return s ? s : "(null)";
}

void ts_str_diags(ts_str *b, const fm_diags *d)
{
    size_t n = d ? fm_diags_count(d) : 0;
    if (n == 0) {
        ts_str_printf(b, "  (no diagnostics)\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const fm_diag *g = fm_diags_get(d, i);
        if (!g) continue;
        ts_str_printf(b, "  %-7s %s | %s | %s", nz(fm_severity_name(g->severity)),
                      nz(g->element), nz(g->index), nz(g->message));
        if (g->hint && g->hint[0]) ts_str_printf(b, " (hint: %s)", g->hint);
        ts_str_printf(b, "\n");
    }
}

void ts_print_long(const char *text)
{
    enum { CHUNK = 900 };
    const char *s = text ? text : "(null)";
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        /* Long lines go out in pieces, continued with "# ..". */
        int first = 1;
        do {
            size_t piece = n > CHUNK ? CHUNK : n;
            print_error("%s%.*s\n", first ? "# " : "# .. ", (int)piece, s);
            s += piece;
            n -= piece;
            first = 0;
        } while (n > 0);
        if (*s == '\n') s++;
    }
}

void ts_print_diags(const fm_diags *d)
{
    ts_str b = {0};
    ts_str_diags(&b, d);
    if (b.s) ts_print_long(b.s);
    ts_str_free(&b);
}

/* ---- processes and temp dirs ---------------------------------------------- */

char *ts_run_capture(const char *cmd, size_t *len, int *status)
{
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    ts_str b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) ts_str_append(&b, chunk, got);
    int st = pclose(p);
    if (status) *status = st;
    if (!b.s) {
        b.s = malloc(1);
        if (!b.s) return NULL;
        b.s[0] = '\0';
    }
    if (len) *len = b.len;
    return b.s;
}

char *ts_shell_quote(const char *s)
{
    ts_str b = {0};
    ts_str_append(&b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') ts_str_append(&b, "'\\''", 4);
        else ts_str_append(&b, p, 1);
    }
    ts_str_append(&b, "'", 1);
    return b.s;
}

int ts_have_program(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = strdup(path);
    if (!copy) return 0;
    int found = 0;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char *full = join_path(*dir ? dir : ".", prog);
        if (!full) break;
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            found = 1;
        free(full);
    }
    free(copy);
    return found;
}

char *ts_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char *tmpl = join_path(tmp, "optagent-test-XXXXXX");
    if (!tmpl) return NULL;
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

int ts_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *full = join_path(path, de->d_name);
        if (!full) { rc = -1; continue; }
        if (ts_rmtree(full) != 0) rc = -1;
        free(full);
    }
    closedir(d);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}

/* ---- dynamic test groups --------------------------------------------------- */

static void free_cases(ts_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cases[i].name);
        free(cases[i].path);
        free(cases[i].expect_path);
    }
    free(cases);
}

int ts_run_file_tests(const char *group, const char *dir, const char *suffix,
                      CMUnitTestFunction fn, const struct CMUnitTest *fixed,
                      size_t nfixed)
{
    size_t nfiles = 0;
    char **files = ts_list_files(dir, suffix, &nfiles);
    if (!files) return 1;
    ts_case *cases = calloc(nfiles ? nfiles : 1, sizeof *cases);
    struct CMUnitTest *tests = calloc(nfixed + nfiles > 0 ? nfixed + nfiles : 1,
                                      sizeof *tests);
    if (!cases || !tests) {
        free(cases);
        free(tests);
        ts_free_list(files, nfiles);
        return 1;
    }
    for (size_t i = 0; i < nfixed; i++) tests[i] = fixed[i];
    int oom = 0;
    for (size_t i = 0; i < nfiles; i++) {
        cases[i].path = strdup(files[i]);
        cases[i].name = ts_basename(files[i], suffix);
        cases[i].expect_path = ts_replace_suffix(files[i], suffix, ".expect");
        if (!cases[i].path || !cases[i].name || !cases[i].expect_path) oom = 1;
        struct CMUnitTest t = {
            .name = cases[i].name ? cases[i].name : "?",
            .test_func = fn,
            .setup_func = NULL,
            .teardown_func = NULL,
            .initial_state = &cases[i],
        };
        tests[nfixed + i] = t;
    }
    ts_free_list(files, nfiles);
    int failed = 1;
    if (!oom)
        failed = _cmocka_run_group_tests(group, tests, nfixed + nfiles, NULL, NULL);
    free(tests);
    free_cases(cases, nfiles);
    return failed;
}

const char *ts_library_data(const char *name)
{
    static const char *const prefixes[] = {"", "../", "../../"};
    static char p[1024];
    const char *src = getenv("OPTAGENT_SRCDIR");
    struct stat st;
    if (src && *src) {
        snprintf(p, sizeof p, "%s/tests/data/library/%s", src, name);
        return p;
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%stests/data/library/%s", prefixes[i], name);
        if (stat(p, &st) == 0) return p;
    }
    return p;
}

const char *ts_alphaopt_library(void)
{
    static char p[1024];
    struct stat st;
    const char *sh = getenv("OPTAGENT_SHARED");
    const char *cands[] = {"../shared", "../../shared"};
    if (sh && *sh) {
        snprintf(p, sizeof p, "%s/alphaopt-library/library.json", sh);
        return stat(p, &st) == 0 ? p : NULL;
    }
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/alphaopt-library/library.json", cands[i]);
        if (stat(p, &st) == 0) return p;
    }
    return NULL;
}
