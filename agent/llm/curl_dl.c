/* curl_dl.c — libcurl loaded on first use.
 *
 * libcurl and its ~30 dependencies (TLS, Kerberos, LDAP, IDN, ...) cost a
 * process most of its start-up in the dynamic loader, and only the LLM
 * transport needs them: `optagent solve`, `eval` and `merge` never open a
 * connection. So the binary does not link libcurl; this file defines the
 * handful of curl_* functions the project calls and, on the first call of
 * any of them, dlopen()s libcurl.so.4 and resolves the real ones (git keeps
 * its HTTP transport out of the core for the same reason).
 *
 * Every shim has libcurl's own signature, so agent/llm.c and the tests use
 * <curl/curl.h> unchanged. curl_easy_setopt is variadic: the option number
 * says the type of its argument (CURLOPTTYPE_* ranges, the rule libcurl's
 * own setopt uses), so the argument is read with that type and passed on.
 * curl_easy_getinfo's argument is always a pointer.
 *
 * When libcurl cannot be loaded, the init functions return NULL or
 * CURLE_FAILED_INIT and ag_curl_load_error() says why (dlerror's text).
 * Loading is thread-safe (pthread_once). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "agent/llm/llm.h"

#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

static struct {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    time_t (*getdate)(const char *, const time_t *);
    char *(*version)(void);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
} fn;
static int loaded;

static void load(void)
{
    void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load %s: %s", CURL_SONAME,
                 e ? e : "unknown error");
        return;
    }
    /* POSIX allows converting dlsym's void * to a function pointer; memcpy
     * keeps -Wpedantic quiet about it. */
#define RESOLVE(field, name)                                                     \
    do {                                                                         \
        void *p = dlsym(h, name);                                                \
        if (!p) {                                                                \
            snprintf(load_error, sizeof load_error, "%s lacks %s", CURL_SONAME, name); \
            return;                                                              \
        }                                                                        \
        memcpy(&fn.field, &p, sizeof p);                                         \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(global_cleanup, "curl_global_cleanup");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(getdate, "curl_getdate");
    RESOLVE(version, "curl_version");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_cleanup, "curl_multi_cleanup");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_info_read, "curl_multi_info_read");
#undef RESOLVE
    loaded = 1;   /* the library stays loaded for the life of the process */
}

static int ready(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

const char *ag_curl_load_error(void)
{
    return ready() ? NULL : load_error;
}

CURLcode curl_global_init(long flags)
{
    return ready() ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
    if (ready()) fn.global_cleanup();
}

CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *h)
{
    if (h && ready()) fn.easy_cleanup(h);
}

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    if (!ready()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        rc = fn.easy_setopt(h, opt, v);
    } else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
        void *v = va_arg(ap, void *);
        rc = fn.easy_setopt(h, opt, v);
    } else if (opt < CURLOPTTYPE_OFF_T) {
        /* Function pointers travel as a generic function pointer type. */
        void (*v)(void) = va_arg(ap, void (*)(void));
        rc = fn.easy_setopt(h, opt, v);
    } else if (opt < CURLOPTTYPE_BLOB) {
        curl_off_t v = va_arg(ap, curl_off_t);
        rc = fn.easy_setopt(h, opt, v);
    } else {
        void *v = va_arg(ap, void *);
        rc = fn.easy_setopt(h, opt, v);
    }
    va_end(ap);
    return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!ready()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return fn.easy_getinfo(h, info, out);
}

CURLcode curl_easy_perform(CURL *h)
{
    return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode c)
{
    return ready() ? fn.easy_strerror(c) : load_error;
}

time_t curl_getdate(const char *s, const time_t *unused)
{
    return ready() ? fn.getdate(s, unused) : (time_t)-1;
}

char *curl_version(void)
{
    static char none[] = "libcurl (not loaded)";
    return ready() ? fn.version() : none;
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
    if (l && ready()) fn.slist_free_all(l);
}

CURLM *curl_multi_init(void)
{
    return ready() ? fn.multi_init() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
    return ready() ? fn.multi_cleanup(m) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
    return ready() ? fn.multi_add_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
    return ready() ? fn.multi_remove_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
    return ready() ? fn.multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned n, int timeout_ms,
                          int *numfds)
{
    return ready() ? fn.multi_poll(m, extra, n, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    return ready() ? fn.multi_info_read(m, left) : NULL;
}
