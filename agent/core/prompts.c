/* Prompt templates: embedded at build (scripts/embed_prompts.sh), optionally
 * overridden from a directory (--prompts-dir). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/core/core.h"

extern const char *const ag_prompt_names[];
extern const char *const ag_prompt_texts[];

#define MAX_OVERRIDES 64
#define MAX_PROMPT_BYTES (1u << 20)

static struct { char *name; char *text; } overrides[MAX_OVERRIDES];
static int noverrides;

const char *ag_prompt(const char *stage)
{
    for (int i = 0; i < noverrides; i++)
        if (!strcmp(overrides[i].name, stage)) return overrides[i].text;
    for (int i = 0; ag_prompt_names[i]; i++)
        if (!strcmp(ag_prompt_names[i], stage)) return ag_prompt_texts[i];
    return NULL;
}

ag_code ag_prompts_load_dir(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) { snprintf(err, errlen, "--prompts-dir %s: cannot open the directory", dir); return AG_EIO; }
    struct dirent *e;
    ag_code rc = AG_OK;
    while ((e = readdir(d)) && rc == AG_OK) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt")) continue;
        if (noverrides == MAX_OVERRIDES) {
            snprintf(err, errlen, "--prompts-dir %s: more than %d templates", dir, MAX_OVERRIDES);
            rc = AG_ELIMIT;
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *text;
        if ((rc = ag_file_read(path, MAX_PROMPT_BYTES, &text, &len, err, errlen)) != AG_OK) break;
        char *name = strndup(e->d_name, n - 4);
        if (!name) { free(text); snprintf(err, errlen, "out of memory"); rc = AG_ENOMEM; break; }
        overrides[noverrides].name = name;
        overrides[noverrides].text = text;
        noverrides++;
    }
    closedir(d);
    return rc;
}

char *ag_template_fill(const char *tmpl, const char *const *keys,
                       const char *const *values, size_t n)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    for (size_t i = 0; i < n; i++) cap += strlen(values[i]);
    /* a key may repeat: grow as needed */
    char *out = malloc(cap);
    if (!out) return NULL;
    const char *p = tmpl;
    while (*p) {
        const char *val = NULL;
        size_t skip = 0;
        if (p[0] == '{' && p[1] == '{') {
            for (size_t i = 0; i < n && !val; i++) {
                size_t kl = strlen(keys[i]);
                if (!strncmp(p + 2, keys[i], kl) && !strncmp(p + 2 + kl, "}}", 2)) {
                    val = values[i];
                    skip = kl + 4;
                }
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (len + add + 1 > cap) {
            cap = (len + add + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) { free(out); return NULL; }
            out = nb;
        }
        if (val) { memcpy(out + len, val, add); len += add; p += skip; }
        else out[len++] = *p++;
    }
    out[len] = 0;
    return out;
}
