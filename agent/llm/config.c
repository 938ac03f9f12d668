/* agent/config — loads the LLM configuration (see config.h for the rules). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/llm/llm.h"

#define CFG_LINE_MAX     4096
#define CFG_FILE_MAX     (64 * 1024)
#define CFG_KEY_MAX      4096
#define CFG_PATH_MAX     4096
#define CFG_MAX_TOKENS   10000000
#define CFG_SEED_MAX     9007199254740992.0   /* 2^53 */
#define CFG_TIMEOUT_MAX  86400.0
#define CFG_RETRIES_MAX  20

/* The values found in the config file; strings malloc'd (file_vals_free). */
typedef struct {
    char path[CFG_PATH_MAX];
    int found;                     /* a file was read */
    char *base_url, *api_key, *model;
    int line_base_url, line_api_key, line_model;
    double temperature, timeout_s, connect_timeout_s;
    int max_tokens, max_retries;
    long seed;
    int have_temperature, have_max_tokens, have_seed, have_timeout,
        have_connect_timeout, have_max_retries;
} file_vals;

static void file_vals_free(file_vals *f)
{
    free(f->base_url);
    if (f->api_key) memset(f->api_key, 0, strlen(f->api_key));
    free(f->api_key);
    free(f->model);
    f->base_url = f->api_key = f->model = NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Trims blanks (and CR/LF) at both ends in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* getenv, with an empty or all-blank value counting as unset. Borrowed. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v) return NULL;
    for (const char *p = v; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return v;
    return NULL;
}

/* A malloc'd trimmed copy of s, or NULL when out of memory. */
static char *dup_trim(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

/* What an error shows of a bad value: the value itself when short, else its
 * length only (a key pasted on the wrong line must not be echoed). */
static const char *shown_value(const char *v, char *buf, size_t len)
{
    size_t n = strlen(v);
    if (n <= 16 && !has_control(v)) snprintf(buf, len, "'%s'", v);
    else snprintf(buf, len, "a %zu-character value", n);
    return buf;
}

/* ---- value parsing: 0, or -1 with why set (the value is never a key) ---- */

static int is_none(const char *s)
{
    return !strcasecmp(s, "none");
}

static int parse_num(const char *s, double lo, double hi, int allow_none, int lo_open,
                     double *out, const char **why)
{
    if (allow_none && is_none(s)) { *out = -1; return 0; }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || (lo_open && v == lo) || v > hi) {
        *why = "";
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_temperature(const char *s, double *out, const char **why)
{
    int rc = parse_num(s, 0, 1e6, 1, 0, out, why);
    if (rc) *why = "expected a number >= 0 or 'none'";
    return rc;
}

static int parse_timeout(const char *s, double *out, const char **why)
{
    int rc = parse_num(s, 0, CFG_TIMEOUT_MAX, 0, 1, out, why);
    if (rc) *why = "expected seconds > 0 and <= 86400";
    return rc;
}

static int parse_int(const char *s, double hi, int allow_none, double *out, const char **why)
{
    if (allow_none && is_none(s)) { *out = -1; return 0; }
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') { *why = ""; return -1; }
    if (!*s || strlen(s) > 16) { *why = ""; return -1; }
    double v = strtod(s, NULL);
    if (v > hi) { *why = ""; return -1; }
    *out = v;
    return 0;
}

static int parse_max_tokens(const char *s, int *out, const char **why)
{
    double v;
    if (parse_int(s, CFG_MAX_TOKENS, 0, &v, why)) {
        *why = "expected an integer from 0 to 10000000";
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_seed(const char *s, long *out, const char **why)
{
    double v;
    if (parse_int(s, CFG_SEED_MAX, 1, &v, why)) {
        *why = "expected an integer from 0 to 2^53 or 'none'";
        return -1;
    }
    *out = (long)v;
    return 0;
}

static int parse_retries(const char *s, int *out, const char **why)
{
    double v;
    if (parse_int(s, CFG_RETRIES_MAX, 0, &v, why)) {
        *why = "expected an integer from 0 to 20";
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int is_http_url(const char *s)
{
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

/* 1 when the URL's host is api.openai.com. */
static int is_openai_host(const char *url)
{
    const char *h = strstr(url, "://");
    if (!h) return 0;
    h += 3;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at) { n -= (size_t)(at + 1 - h); h = at + 1; }
    size_t hn = strcspn(h, ":/?#");
    if (hn > n) hn = n;
    return hn == 14 && !strncasecmp(h, "api.openai.com", 14);
}

/* ---- files -------------------------------------------------------------- */

static void warn_mode(const char *path, const struct stat *st)
{
    if (S_ISREG(st->st_mode) && (st->st_mode & 077))
        ag_llm_logf("%s holds an API key and is readable by group or others "
                    "(mode %04o): chmod 600 it", path, (unsigned)(st->st_mode & 07777));
}

/* Opens path for reading and checks it: regular files only when
 * regular_only, at most max bytes. Returns the stream (caller fcloses) with
 * *st filled, or NULL with errno-style *eno (0 for "not a file"/"too large",
 * then err is set). */
static FILE *open_checked(const char *path, int regular_only, long max, struct stat *st,
                          int *eno, char *err, size_t errlen)
{
    *eno = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *eno = errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, st)) {
        *eno = errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st->st_mode) || (regular_only && !S_ISREG(st->st_mode))) {
        set_err(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (S_ISREG(st->st_mode) && st->st_size > max) {
        set_err(err, errlen, "%s: larger than %ld bytes", path, max);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        *eno = errno;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* Reads the key from the first line of path (trimmed). Returns a malloc'd
 * key, or NULL with err set. Warns when the file is readable by others. */
static char *read_key_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int eno;
    char *key = NULL, line[CFG_KEY_MAX + 2];
    FILE *f = open_checked(path, 0, CFG_FILE_MAX, &st, &eno, err, errlen);
    if (!f) return NULL;
    if (!fgets(line, sizeof line, f)) {
        set_err(err, errlen, "%s: %s", path, ferror(f) ? "read error" : "empty file");
        goto out;
    }
    if (!strchr(line, '\n') && !feof(f)) {
        set_err(err, errlen, "%s: the key is longer than %d bytes", path, CFG_KEY_MAX);
        goto out;
    }
    char *k = trim(line);
    if (!*k) { set_err(err, errlen, "%s: no key on the first line", path); goto out; }
    if (has_control(k)) {
        set_err(err, errlen, "%s: the key contains control characters", path);
        goto out;
    }
    if (!(key = strdup(k))) { set_err(err, errlen, "out of memory"); goto out; }
    warn_mode(path, &st);
out:
    memset(line, 0, sizeof line);
    fclose(f);
    return key;
}

/* Stores a string value of the config file. 0, or -1 (out of memory). */
static int set_str(char **dst, int *line_of, const char *v, int lineno)
{
    char *d = NULL;
    if (*v && !(d = strdup(v))) return -1;
    if (*dst) memset(*dst, 0, strlen(*dst));
    free(*dst);
    *dst = d;
    *line_of = lineno;
    return 0;
}

/* Parses one "key = value" line (already trimmed, not blank or comment). */
static int parse_line(file_vals *fv, char *s, int lineno, char *err, size_t errlen)
{
    const char *path = fv->path, *why = NULL;
    char *eq = strchr(s, '=');
    if (!eq) {
        set_err(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
        return -1;
    }
    *eq = 0;
    char *k = trim(s), *v = trim(eq + 1);
    size_t vn = strlen(v);
    if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
        v[vn - 1] = 0;
        v++;
    }
    if (!*k) {
        set_err(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
        return -1;
    }
    int rc = 0;
    double d;
    char sv[64];
    if (!strcmp(k, "base_url")) {
        rc = set_str(&fv->base_url, &fv->line_base_url, v, lineno);
    } else if (!strcmp(k, "api_key")) {
        if (has_control(v) || strlen(v) > CFG_KEY_MAX) {
            set_err(err, errlen, "%s:%d: api_key: invalid key (control characters or too long)",
                    path, lineno);
            return -1;
        }
        rc = set_str(&fv->api_key, &fv->line_api_key, v, lineno);
    } else if (!strcmp(k, "model")) {
        rc = set_str(&fv->model, &fv->line_model, v, lineno);
    } else if (!strcmp(k, "temperature")) {
        if (parse_temperature(v, &d, &why)) goto bad;
        fv->temperature = d;
        fv->have_temperature = 1;
    } else if (!strcmp(k, "max_tokens")) {
        if (parse_max_tokens(v, &fv->max_tokens, &why)) goto bad;
        fv->have_max_tokens = 1;
    } else if (!strcmp(k, "seed")) {
        if (parse_seed(v, &fv->seed, &why)) goto bad;
        fv->have_seed = 1;
    } else if (!strcmp(k, "timeout")) {
        if (parse_timeout(v, &fv->timeout_s, &why)) goto bad;
        fv->have_timeout = 1;
    } else if (!strcmp(k, "connect_timeout")) {
        if (parse_timeout(v, &fv->connect_timeout_s, &why)) goto bad;
        fv->have_connect_timeout = 1;
    } else if (!strcmp(k, "max_retries")) {
        if (parse_retries(v, &fv->max_retries, &why)) goto bad;
        fv->have_max_retries = 1;
    } else {
        char kk[64];
        snprintf(kk, sizeof kk, "%s", k);
        for (char *p = kk; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
        ag_llm_logf("%s:%d: unknown key '%s' (ignored)", path, lineno, kk);
    }
    if (rc) set_err(err, errlen, "out of memory");
    return rc;
bad:
    set_err(err, errlen, "%s:%d: %s: %s, got %s", path, lineno, k, why,
            shown_value(v, sv, sizeof sv));
    return -1;
}

/* Reads the config file into *fv: fv->path is the explicit file (must exist)
 * when explicit, else the default path ("" when there is none); a missing
 * default file is not an error. Returns 0 or -1 with err set. */
static int read_config_file(file_vals *fv, int explicit, char *err, size_t errlen)
{
    struct stat st;
    int eno, rc = -1, lineno = 0;
    char line[CFG_LINE_MAX + 2];
    if (!fv->path[0]) return 0;
    FILE *f = open_checked(fv->path, 1, CFG_FILE_MAX, &st, &eno, err, errlen);
    if (!f) {
        if (!explicit && (eno == ENOENT || eno == ENOTDIR)) {
            fv->path[0] = 0;
            if (err && errlen) err[0] = 0;
            return 0;
        }
        return -1;
    }
    fv->found = 1;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            set_err(err, errlen, "%s:%d: line longer than %d bytes", fv->path, lineno,
                    CFG_LINE_MAX);
            goto out;
        }
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        if (parse_line(fv, s, lineno, err, errlen)) goto out;
    }
    if (ferror(f)) { set_err(err, errlen, "%s: read error", fv->path); goto out; }
    if (fv->api_key) warn_mode(fv->path, &st);
    rc = 0;
out:
    memset(line, 0, sizeof line);
    fclose(f);
    return rc;
}

/* The default config file path into buf ("" when neither XDG_CONFIG_HOME nor
 * HOME is set). */
static void default_config_path(char *buf, size_t len)
{
    const char *x = env("XDG_CONFIG_HOME"), *h = env("HOME");
    buf[0] = 0;
    if (x) snprintf(buf, len, "%s/optagent/config", x);
    else if (h) snprintf(buf, len, "%s/.config/optagent/config", h);
}

/* ---- loading --------------------------------------------------------------- */

static void src_set(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void src_set(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, AG_LLM_SOURCE_MAX, fmt, ap);
    va_end(ap);
}

/* Picks the first non-NULL string of flag / env a / env b / file; returns a
 * malloc'd trimmed copy in *out (NULL when none) and its source in src.
 * Returns 0, or -1 when out of memory. which (may be NULL) receives the index
 * of the source taken (0..3, or -1 when none). */
static int pick_str(const char *flag, const char *ea, const char *eb, const char *filev,
                    const char *ea_name, const char *eb_name, const file_vals *fv,
                    int file_line, char **out, char *src, int *which)
{
    const char *vals[4] = { flag && *flag ? flag : NULL, env(ea), eb ? env(eb) : NULL, filev };
    *out = NULL;
    if (which) *which = -1;
    for (int i = 0; i < 4; i++) {
        if (!vals[i]) continue;
        if (!(*out = dup_trim(vals[i]))) return -1;
        if (i == 0) src_set(src, "flag");
        else if (i == 1) src_set(src, "%s", ea_name);
        else if (i == 2) src_set(src, "%s", eb_name);
        else src_set(src, "config file %s:%d", fv->path, file_line);
        if (which) *which = i;
        return 0;
    }
    src_set(src, "none");
    return 0;
}

int ag_llm_config_load(const ag_llm_flags *flags, ag_llm_config *out, char *err, size_t errlen)
{
    return ag_llm_config_load_ex(flags, out, NULL, err, errlen);
}

/* The config file: --config PATH (must exist), else the default path
 * (skipped when absent). It is the lowest layer, but its errors stop the
 * load. 0, or -1 with err set. */
static int load_file(const ag_llm_flags *flags, file_vals *fv, ag_llm_sources *src,
                     char *err, size_t errlen)
{
    if (flags->config_file && *flags->config_file) {
        if (strlen(flags->config_file) >= sizeof fv->path) {
            set_err(err, errlen, "--config: path too long");
            return -1;
        }
        snprintf(fv->path, sizeof fv->path, "%s", flags->config_file);
        if (read_config_file(fv, 1, err, errlen)) return -1;
    } else {
        default_config_path(fv->path, sizeof fv->path);
        if (read_config_file(fv, 0, err, errlen)) return -1;
    }
    if (fv->found) src_set(src->config_file, "%s", fv->path);
    return 0;
}

/* Base URL and model; *url_from receives where the URL came from (as
 * pick_str's which). 0, or -1 with err set. */
static int pick_endpoint(const ag_llm_flags *flags, const file_vals *fv, ag_llm_config *out,
                         ag_llm_sources *src, int *url_from, char *err, size_t errlen)
{
    if (pick_str(flags->base_url, "OPTAGENT_BASE_URL", "OPENAI_BASE_URL", fv->base_url,
                 "OPTAGENT_BASE_URL", "OPENAI_BASE_URL", fv, fv->line_base_url,
                 &out->base_url, src->base_url, url_from))
        goto nomem;
    if (out->base_url && !is_http_url(out->base_url)) {
        set_err(err, errlen, "base URL from %s: expected an http:// or https:// URL", src->base_url);
        return -1;
    }
    if (out->base_url && has_control(out->base_url)) {
        set_err(err, errlen, "base URL from %s: contains control characters", src->base_url);
        return -1;
    }
    if (pick_str(flags->model, "OPTAGENT_MODEL", "OPENAI_MODEL", fv->model,
                 "OPTAGENT_MODEL", "OPENAI_MODEL", fv, fv->line_model, &out->model, src->model, NULL))
        goto nomem;
    if (out->base_url && !out->model) {
        set_err(err, errlen, "no model configured (set --model or OPTAGENT_MODEL)");
        return -1;
    }
    return 0;
nomem:
    set_err(err, errlen, "out of memory");
    return -1;
}

/* The key, following the endpoint (see llm.h). 0, or -1 with err set. */
static int pick_key(const ag_llm_flags *flags, const file_vals *fv, int url_from,
                    ag_llm_config *out, ag_llm_sources *src, char *err, size_t errlen)
{
    const char *ev;
    if (flags->api_key && *flags->api_key && flags->api_key_file && *flags->api_key_file) {
        set_err(err, errlen, "--api-key and --api-key-file cannot be used together");
        return -1;
    }
    if (flags->api_key && *flags->api_key) {
        if (!(out->api_key = dup_trim(flags->api_key))) goto nomem;
        src_set(src->api_key, "flag --api-key");
    } else if (flags->api_key_file && *flags->api_key_file) {
        if (!(out->api_key = read_key_file(flags->api_key_file, err, errlen))) return -1;
        src_set(src->api_key, "--api-key-file %s", flags->api_key_file);
    } else if ((ev = env("OPTAGENT_API_KEY"))) {
        if (!(out->api_key = dup_trim(ev))) goto nomem;
        src_set(src->api_key, "OPTAGENT_API_KEY");
    } else {
        int openai_ok = url_from == 2 || (out->base_url && is_openai_host(out->base_url));
        int file_ok = fv->api_key && (url_from == 3 || !fv->base_url);
        if ((ev = env("OPENAI_API_KEY")) && openai_ok) {
            if (!(out->api_key = dup_trim(ev))) goto nomem;
            src_set(src->api_key, "OPENAI_API_KEY");
        } else if (file_ok) {
            if (!(out->api_key = strdup(fv->api_key))) goto nomem;
            src_set(src->api_key, "config file %s:%d", fv->path, fv->line_api_key);
        } else if (ev || fv->api_key) {
            src_set(src->api_key, "none (%s%s%s %s not sent to a base URL from %s)",
                    ev ? "OPENAI_API_KEY" : "", ev && fv->api_key ? " and " : "",
                    fv->api_key ? "the config file's api_key" : "",
                    ev && fv->api_key ? "are" : "is", src->base_url);
        } else {
            src_set(src->api_key, "none");
        }
    }
    if (out->api_key && (has_control(out->api_key) || strlen(out->api_key) > CFG_KEY_MAX)) {
        set_err(err, errlen, "API key from %s: contains control characters or is too long",
                src->api_key);
        return -1;
    }
    return 0;
nomem:
    set_err(err, errlen, "out of memory");
    return -1;
}

/* Reads environment variable name (when set) with parse, a parser of this
 * file. 1 when it was set and parsed, 0 when unset, -1 with err set. */
static int env_number(const char *name, int (*parse)(const char *, double *, const char **),
                      double *out, char *err, size_t errlen)
{
    const char *ev = env(name), *why = NULL;
    char buf[64], sv[64];
    if (!ev) return 0;
    snprintf(buf, sizeof buf, "%s", ev);
    if (parse(trim(buf), out, &why)) {
        set_err(err, errlen, "%s: %s, got %s", name, why, shown_value(ev, sv, sizeof sv));
        return -1;
    }
    return 1;
}

static int parse_max_tokens_d(const char *s, double *out, const char **why)
{
    int n;
    if (parse_max_tokens(s, &n, why)) return -1;
    *out = n;
    return 0;
}

/* The numbers: flag > OPTAGENT_* > file > default. 0, or -1 with err set. */
static int pick_numbers(const ag_llm_flags *flags, const file_vals *fv, ag_llm_config *out,
                        char *err, size_t errlen)
{
    double d;
    int r;
    if (fv->have_temperature) out->temperature = fv->temperature;
    if ((r = env_number("OPTAGENT_TEMPERATURE", parse_temperature, &d, err, errlen)) < 0) return -1;
    if (r) out->temperature = d;
    if (flags->have_temperature) {
        if (!isfinite(flags->temperature)) {
            set_err(err, errlen, "--temperature: expected a finite number");
            return -1;
        }
        out->temperature = flags->temperature < 0 ? -1 : flags->temperature;
    }
    if (fv->have_max_tokens) out->max_tokens = fv->max_tokens;
    if ((r = env_number("OPTAGENT_MAX_TOKENS", parse_max_tokens_d, &d, err, errlen)) < 0) return -1;
    if (r) out->max_tokens = (int)d;
    if (flags->have_max_tokens) {
        if (flags->max_tokens < 0 || flags->max_tokens > CFG_MAX_TOKENS) {
            set_err(err, errlen, "--max-tokens: expected an integer from 0 to 10000000");
            return -1;
        }
        out->max_tokens = flags->max_tokens;
    }
    if (fv->have_seed) out->seed = fv->seed;
    if (flags->have_seed) out->seed = flags->seed < 0 ? -1 : flags->seed;
    if (fv->have_timeout) out->timeout_s = fv->timeout_s;
    if ((r = env_number("OPTAGENT_TIMEOUT", parse_timeout, &d, err, errlen)) < 0) return -1;
    if (r) out->timeout_s = d;
    if (flags->have_timeout) {
        if (!(flags->timeout_s > 0) || flags->timeout_s > CFG_TIMEOUT_MAX) {
            set_err(err, errlen, "--timeout: expected seconds > 0 and <= 86400");
            return -1;
        }
        out->timeout_s = flags->timeout_s;
    }
    if (fv->have_connect_timeout) out->connect_timeout_s = fv->connect_timeout_s;
    if (fv->have_max_retries) out->max_retries = fv->max_retries;
    return 0;
}

/* See llm.h. Borrows flags; *out receives malloc'd strings on success. */
int ag_llm_config_load_ex(const ag_llm_flags *flags, ag_llm_config *out,
                          ag_llm_sources *src_out, char *err, size_t errlen)
{
    static const ag_llm_flags noflags;
    ag_llm_sources srcbuf, *src = src_out ? src_out : &srcbuf;
    file_vals fv;
    int rc = -1, url_from = -1;

    if (!flags) flags = &noflags;
    memset(src, 0, sizeof *src);
    memset(&fv, 0, sizeof fv);
    ag_llm_config_default(out);
    if (err && errlen) err[0] = 0;
    if (load_file(flags, &fv, src, err, errlen) == 0 &&
        pick_endpoint(flags, &fv, out, src, &url_from, err, errlen) == 0 &&
        pick_key(flags, &fv, url_from, out, src, err, errlen) == 0 &&
        pick_numbers(flags, &fv, out, err, errlen) == 0)
        rc = 0;
    file_vals_free(&fv);
    if (rc) {
        if (out->api_key) memset(out->api_key, 0, strlen(out->api_key));
        ag_llm_config_free(out);
        ag_llm_config_default(out);
    }
    return rc;
}

/* ---- describing ---------------------------------------------------------- */

/* Appends to buf like snprintf at offset *n (which may pass len). */
static void app(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void app(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(*n < len ? buf + *n : NULL, *n < len ? len - *n : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *n += (size_t)w;
}

/* The base URL as it may be shown, into out: user:password@ becomes ***@,
 * and a URL containing the key is not shown at all. */
static void shown_url(const char *url, const char *key, char *out, size_t outlen)
{
    if (key && *key && strstr(url, key)) {
        snprintf(out, outlen, "(hidden: it contains the API key)");
        return;
    }
    const char *h = strstr(url, "://");
    const char *at = NULL;
    if (h) {
        size_t n = strcspn(h + 3, "/?#");
        at = memchr(h + 3, '@', n);
    }
    if (at) snprintf(out, outlen, "%.*s***%s", (int)(h + 3 - url), url, at);
    else snprintf(out, outlen, "%s", url);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

int ag_llm_config_describe(const ag_llm_config *c, char *buf, size_t len)
{
    return ag_llm_config_describe_sources(c, NULL, buf, len);
}

/* See config.h. Borrows everything. */
int ag_llm_config_describe_sources(const ag_llm_config *c, const ag_llm_sources *src,
                                   char *buf, size_t len)
{
    if (!c || !buf) return -1;
    size_t n = 0;
    char url[1024];
    if (len) buf[0] = 0;
#define FROM(field) (src && src->field[0] ? " (from " : ""), \
                    (src && src->field[0] ? src->field : ""), \
                    (src && src->field[0] ? ")" : "")
    if (c->base_url && *c->base_url) shown_url(c->base_url, c->api_key, url, sizeof url);
    else snprintf(url, sizeof url, "(none: no LLM endpoint configured)");
    app(buf, len, &n, "base_url:    %s%s%s%s\n", url, FROM(base_url));
    app(buf, len, &n, "model:       %s%s%s%s\n",
        c->model && *c->model ? c->model : "(none)", FROM(model));
    app(buf, len, &n, "api key:     %s%s%s%s\n",
        c->api_key && *c->api_key ? "set" : "not set", FROM(api_key));
#undef FROM
    if (c->temperature >= 0) app(buf, len, &n, "temperature: %g\n", c->temperature);
    else app(buf, len, &n, "temperature: not sent\n");
    if (c->max_tokens > 0) app(buf, len, &n, "max_tokens:  %d\n", c->max_tokens);
    else app(buf, len, &n, "max_tokens:  not sent\n");
    if (c->seed >= 0) app(buf, len, &n, "seed:        %ld\n", c->seed);
    else app(buf, len, &n, "seed:        not sent\n");
    app(buf, len, &n, "timeout:     %g s per attempt (connect %g s)\n", c->timeout_s,
        c->connect_timeout_s);
    app(buf, len, &n, "retries:     %d (backoff %g s .. %g s)\n", c->max_retries,
        c->backoff_base_s, c->backoff_max_s);
    if (src)
        app(buf, len, &n, "config file: %s\n", src->config_file[0] ? src->config_file : "(none)");
    return n > (size_t)0x7fffffff ? 0x7fffffff : (int)n;
}

/* ---- the LLM options shared by ask and batch ---- */

const ag_llm_option ag_llm_options[] = {
    { "base-url", AG_LLM_OPT_BASE_URL }, { "model", AG_LLM_OPT_MODEL },
    { "api-key-file", AG_LLM_OPT_API_KEY_FILE }, { "config", AG_LLM_OPT_CONFIG },
    { "temperature", AG_LLM_OPT_TEMPERATURE }, { "max-tokens", AG_LLM_OPT_MAX_TOKENS },
    { "seed", AG_LLM_OPT_SEED }, { "timeout", AG_LLM_OPT_TIMEOUT }, { NULL, 0 }
};

int ag_llm_flag_set(ag_llm_flags *f, int opt, const char *value, char *err, size_t errlen)
{
    switch (opt) {
    case AG_LLM_OPT_BASE_URL: f->base_url = value; return 0;
    case AG_LLM_OPT_MODEL: f->model = value; return 0;
    case AG_LLM_OPT_API_KEY_FILE: f->api_key_file = value; return 0;
    case AG_LLM_OPT_CONFIG: f->config_file = value; return 0;
    case AG_LLM_OPT_TEMPERATURE: case AG_LLM_OPT_MAX_TOKENS: case AG_LLM_OPT_SEED:
    case AG_LLM_OPT_TIMEOUT: break;
    default: snprintf(err, errlen, "option %d is not an LLM option", opt); return -1;
    }
    const char *name = ag_llm_options[opt - AG_LLM_OPT_BASE_URL].name;
    char *end;
    errno = 0;
    double d = strtod(value, &end);
    int integer = opt == AG_LLM_OPT_MAX_TOKENS || opt == AG_LLM_OPT_SEED;
    if (!*value || *end || errno || !isfinite(d) || d < 0 || (integer && d != floor(d)) || d > 1e12) {
        snprintf(err, errlen, "--%s expects a non-negative %s, got '%.60s'", name,
                 integer ? "integer" : "number", value);
        return -1;
    }
    if (opt == AG_LLM_OPT_TEMPERATURE) { f->temperature = d; f->have_temperature = 1; }
    else if (opt == AG_LLM_OPT_MAX_TOKENS) { f->max_tokens = (int)d; f->have_max_tokens = 1; }
    else if (opt == AG_LLM_OPT_SEED) { f->seed = (long)d; f->have_seed = 1; }
    else { f->timeout_s = d; f->have_timeout = 1; }
    return 0;
}
