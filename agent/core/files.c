/* agent/core/files — a whole file into memory with a size cap, and the
 * names of the agent's result codes (ag_code). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/core.h"

const char *ag_strerror(ag_code c)
{
    switch (c) {
    case AG_OK: return "ok";
    case AG_ENOMEM: return "out of memory";
    case AG_EIO: return "input/output error";
    case AG_EFORMAT: return "malformed input";
    case AG_EUSAGE: return "bad argument";
    case AG_ELIMIT: return "limit reached";
    case AG_EEXIST: return "already exists";
    case AG_ENOTFOUND: return "not found";
    }
    return "unknown error";
}

ag_code ag_file_read(const char *path, size_t max, char **out, size_t *len,
                     char *errbuf, size_t errlen)
{
    *out = NULL;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return AG_EIO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap > max) break;
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = !buf || ferror(f);
    if (f != stdin) fclose(f);
    if (failed) {
        snprintf(errbuf, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return buf ? AG_EIO : AG_ENOMEM;
    }
    if (n > max) {
        snprintf(errbuf, errlen, "%s: larger than the limit of %zu bytes", path, max);
        free(buf);
        return AG_ELIMIT;
    }
    buf[n] = 0;
    *len = n;
    *out = buf;
    return AG_OK;
}

char *ag_read_file(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen)
{
    char *buf;
    ag_file_read(path, max, &buf, len, errbuf, errlen);
    return buf;
}
