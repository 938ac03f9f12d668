/* tests/support_cli — see support_cli.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include "tests/support.h"
#include "tests/support_cli.h"

static char *dir;
static char bin[512];

int ts_cli_setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build");
    dir = ts_mkdtemp();
    return dir ? 0 : -1;
}

int ts_cli_teardown(void **state)
{
    (void)state;
    ts_rmtree(dir);
    free(dir);
    dir = NULL;
    return 0;
}

const char *ts_cli_bin(void) { return bin; }

const char *ts_cli_path(const char *name)
{
    static char p[16][1024];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

const char *ts_cli_problems(const char *name, int n)
{
    const char *p = ts_cli_path(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 1; i <= n; i++)
        fprintf(f, "{\"id\": \"q%d\", \"question\": \"Problem number %d: maximize x up to %d.\", \"answer\": %d}\n",
                i, i, i, i);
    fclose(f);
    return p;
}

ts_fake *ts_cli_fake(int n, int delay_ms, const char *extra)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    for (int i = 1; i <= n; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "Problem number %d:", i);
        size_t cap = 512 + (extra ? strlen(extra) : 0);
        char *content = malloc(cap);
        assert_non_null(content);
        snprintf(content, cap, "Formulation:\n```json\n{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":%d}],"
                 "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"},\"constraints\":[]}\n```%s", i,
                 extra ? extra : "");
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "content_contains", needle);
        cJSON *rep = cJSON_AddObjectToObject(r, "reply");
        cJSON_AddStringToObject(rep, "content", content);
        cJSON_AddNumberToObject(rep, "delay_ms", delay_ms);
        cJSON_AddItemToArray(rules, r);
        free(content);
    }
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

const char *ts_cli_env(ts_fake *f)
{
    static char e[1024];
    /* XDG_DATA_HOME too: the default experience library is the test's own
     * (absent unless a test makes it), never the user's */
    snprintf(e, sizeof e, "env -u OPENAI_BASE_URL -u OPENAI_API_KEY -u OPTAGENT_API_KEY XDG_CONFIG_HOME=%s "
             "XDG_DATA_HOME=%s OPTAGENT_BASE_URL=%s OPTAGENT_MODEL=fake", dir, dir,
             f ? ts_fake_base_url(f) : "");
    return e;
}

int ts_cli_sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    size_t len;
    int st;
    char *o = ts_run_capture(cmd, &len, &st);
    assert_non_null(o);
    if (out) *out = o; else free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

long long ts_cli_query(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

int ts_cli_lines(const char *path, int *distinct)
{
    size_t len;
    char *s = ts_read_file(path, &len);
    if (distinct) *distinct = 0;
    if (!s) return 0;
    int n = 0, nd = 0;
    char **ids = NULL;
    for (char *p = s, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        n++;
        cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
        int seen = !id;
        for (int i = 0; i < nd && !seen; i++) seen = !strcmp(ids[i], id);
        if (!seen) {
            ids = realloc(ids, (size_t)(nd + 1) * sizeof *ids);
            assert_non_null(ids);
            ids[nd++] = strdup(id);
        }
        cJSON_Delete(j);
    }
    if (len && s[len - 1] != '\n') n++;    /* a torn last line counts */
    for (int i = 0; i < nd; i++) free(ids[i]);
    free(ids);
    free(s);
    if (distinct) *distinct = nd;
    return n;
}
