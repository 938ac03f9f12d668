/* db/cache.c — the LLM response cache: one table, key -> response.
 *
 * The key is a SHA-256 over a version tag, the endpoint, the model and the
 * canonical request JSON, each with its NUL, so no two different inputs frame
 * the same bytes. A put never replaces an entry (INSERT OR IGNORE: the first
 * answer stays the answer); a get counts a hit in the same statement
 * (UPDATE ... RETURNING). request_json is stored as a readable copy only, and
 * refused when it holds something shaped like an API key.
 */
#include "db/internal.h"

#include <stdlib.h>
#include <string.h>

/* request_json holds the problem text too, so only key-shaped mentions. */
static const char *const request_secrets[] = {
    "\"api_key\"", "\"api-key\"", "\"apikey\"", "\"authorization\"", "bearer sk-", NULL,
};

db_code db_cache_key(const char *endpoint, const char *model,
                     const char *request_canonical_json, char out[DB_KEY_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    static const char tag[] = "optagent-cache-v1";
    if (!out) return DB_EARG;
    out[0] = '\0';
    if (!endpoint || !model || !request_canonical_json) return DB_EARG;
    db_sha256_ctx c;
    unsigned char h[32];
    db_sha256_init(&c);
    /* Each part with its NUL: no two different inputs frame the same bytes. */
    db_sha256_update(&c, tag, sizeof tag);
    db_sha256_update(&c, endpoint, strlen(endpoint) + 1);
    db_sha256_update(&c, model, strlen(model) + 1);
    db_sha256_update(&c, request_canonical_json, strlen(request_canonical_json) + 1);
    db_sha256_final(&c, h);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
    return DB_OK;
}

db_code db_cache_get(db *d, const char *key, char **response_json)
{
    if (response_json) *response_json = NULL;
    if (!d || !key || !response_json) return DB_EARG;
    sqlite3_stmt *st = NULL;
    char *resp = NULL;
    lock(d);
    db_code c = dbi_prep(d, "UPDATE cache SET hits = hits + 1 WHERE key = ?"
                            " RETURNING response_json", &st);
    if (c) goto out;
    int rc = bind_text(st, 1, key);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (dbi_col_dup(st, 0, &resp) || !resp) {
            c = dbi_fail(d, DB_ENOMEM, "out of memory reading a cached response");
            goto out;
        }
        rc = sqlite3_step(st);   /* finish the statement: the hit is counted */
    }
    if (rc != SQLITE_DONE) {
        c = dbi_fail_sq(d, "reading the cache");
        goto out;
    }
    if (!resp) c = dbi_fail(d, DB_ENOTFOUND, "no cache entry %.64s", key);
out:
    sqlite3_finalize(st);
    unlock(d);
    if (c) free(resp);
    else *response_json = resp;
    return c;
}

db_code db_cache_put(db *d, const char *key, const char *endpoint,
                     const char *model, const char *task,
                     const char *request_json, const char *response_json)
{
    if (!d) return DB_EARG;
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    lock(d);
    if (!key || !*key || !response_json) {
        c = dbi_fail(d, DB_EARG, "a cache entry needs a key and a response");
        goto out;
    }
    const char *secret = dbi_mentions_any(request_json, request_secrets);
    if (secret) {
        c = dbi_fail(d, DB_EARG, "request_json mentions %s: an API key is never stored", secret);
        goto out;
    }
    c = dbi_prep(d, "INSERT OR IGNORE INTO cache(key, endpoint, model, task, request_json,"
                    " response_json) VALUES (?,?,?,?,?,?)", &st);
    if (c) goto out;
    int rc = bind_text(st, 1, key);
    if (!rc) rc = bind_text(st, 2, endpoint);
    if (!rc) rc = bind_text(st, 3, model);
    if (!rc) rc = bind_text(st, 4, task);
    if (!rc) rc = bind_text(st, 5, request_json);
    if (!rc) rc = bind_text(st, 6, response_json);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    c = dbi_step_done(d, st, "storing a cache entry");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}
