/* serve_mhd.c — libmicrohttpd loaded on first use of `optagent serve`.
 *
 * libmicrohttpd pulls in GnuTLS and its dependencies; the dynamic loader
 * would map and relocate them at every start of every command, and only
 * `serve` needs an HTTP server. So the binary does not link it: like
 * agent/llm/curl_dl.c for libcurl, this file defines the few MHD_*
 * functions serve*.c call, with libmicrohttpd's own signatures (the header
 * is included for its types and constants only), and on the first call
 * dlopen()s libmicrohttpd.so.12 and forwards to the real ones. The
 * variadic MHD_start_daemon goes through MHD_start_daemon_va, and
 * MHD_get_daemon_info is only asked questions without extra arguments.
 *
 * When the library cannot be loaded every shim fails (NULL, MHD_NO) and
 * ag_mhd_load_error() says why (dlerror's text). Loading is thread-safe
 * (pthread_once); the library stays loaded for the life of the process. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "agent/cli/serve.h"

#define MHD_SONAME "libmicrohttpd.so.12"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[300];
static int loaded;

static struct {
    struct MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                          MHD_AccessHandlerCallback, void *, va_list);
    void (*stop_daemon)(struct MHD_Daemon *);
    MHD_socket (*quiesce_daemon)(struct MHD_Daemon *);
    const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
    struct MHD_Response *(*create_response_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
    enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
    void (*destroy_response)(struct MHD_Response *);
    const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind, const char *);
    void (*suspend_connection)(struct MHD_Connection *);
    void (*resume_connection)(struct MHD_Connection *);
} fn;

static void load(void)
{
    void *h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load %s (Debian package libmicrohttpd12, or libmicrohttpd-dev to build): %s",
                 MHD_SONAME, e ? e : "unknown error");
        return;
    }
    /* POSIX allows converting dlsym's void * to a function pointer; memcpy
     * keeps -Wpedantic quiet about it. */
#define RESOLVE(field, name)                                                       \
    do {                                                                           \
        void *p = dlsym(h, name);                                                  \
        if (!p) {                                                                  \
            snprintf(load_error, sizeof load_error, "%s lacks %s", MHD_SONAME, name); \
            return;                                                                \
        }                                                                          \
        memcpy(&fn.field, &p, sizeof p);                                           \
    } while (0)
    RESOLVE(start_daemon_va, "MHD_start_daemon_va");
    RESOLVE(stop_daemon, "MHD_stop_daemon");
    RESOLVE(quiesce_daemon, "MHD_quiesce_daemon");
    RESOLVE(get_daemon_info, "MHD_get_daemon_info");
    RESOLVE(create_response_from_buffer, "MHD_create_response_from_buffer");
    RESOLVE(add_response_header, "MHD_add_response_header");
    RESOLVE(queue_response, "MHD_queue_response");
    RESOLVE(destroy_response, "MHD_destroy_response");
    RESOLVE(lookup_connection_value, "MHD_lookup_connection_value");
    RESOLVE(suspend_connection, "MHD_suspend_connection");
    RESOLVE(resume_connection, "MHD_resume_connection");
#undef RESOLVE
    loaded = 1;
}

static int ready(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

const char *ag_mhd_load_error(void)
{
    return ready() ? NULL : load_error;
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    if (!ready()) return NULL;
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = fn.start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

void MHD_stop_daemon(struct MHD_Daemon *d)
{
    if (d && ready()) fn.stop_daemon(d);
}

MHD_socket MHD_quiesce_daemon(struct MHD_Daemon *d)
{
    return ready() ? fn.quiesce_daemon(d) : MHD_INVALID_SOCKET;
}

const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *d, enum MHD_DaemonInfoType t, ...)
{
    return ready() ? fn.get_daemon_info(d, t) : NULL;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    return ready() ? fn.create_response_from_buffer(size, buffer, mode) : NULL;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header, const char *content)
{
    return ready() ? fn.add_response_header(r, header, content) : MHD_NO;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
    return ready() ? fn.queue_response(c, status, r) : MHD_NO;
}

void MHD_destroy_response(struct MHD_Response *r)
{
    if (r && ready()) fn.destroy_response(r);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key)
{
    return ready() ? fn.lookup_connection_value(c, kind, key) : NULL;
}

void MHD_suspend_connection(struct MHD_Connection *c)
{
    if (ready()) fn.suspend_connection(c);
}

void MHD_resume_connection(struct MHD_Connection *c)
{
    if (ready()) fn.resume_connection(c);
}
