/* db/runs.c — runs, and the problems of a run with their attempts and LLM
 * calls: recording them, the --resume checks, and reading them back.
 *
 * A run is a row of runs with a random v4 UUID (shards of one run share it).
 * A finished problem is written in ONE transaction with all its attempts and
 * calls (db_problem_record_add), so a crash leaves all of it or none, and
 * the primary key (run_id, dataset, problem_id) makes it once per run: that
 * row existing is what db_problem_done, the --resume check, asks.
 *
 * Reading back: db_run_info and db_problem_info own every string in them.
 * Lists are read with the row collector (dbi_collect) and one reader per
 * record type; a problem with its details is read inside one read
 * transaction, so the problem and its rows are one snapshot.
 */
#include "db/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* config_json is ours, built from the settings: any mention is refused. */
static const char *const config_secrets[] = {
    "api_key", "api-key", "apikey", "authorization", "bearer ", NULL,
};

/* ---- runs ------------------------------------------------------------------ */

static void random_bytes(unsigned char *b, size_t n)
{
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, b + got, n - got);
            if (r > 0) got += (size_t)r;
            else if (r < 0 && errno == EINTR) continue;
            else break;
        }
        close(fd);
    }
    if (got == n) return;
    /* No /dev/urandom: hash the time, the process and a counter. */
    static unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct { struct timespec ts; pid_t pid; unsigned long n; const void *p; clock_t c; } seed = {
        ts, getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), (const void *)b, clock(),
    };
    unsigned char h[32];
    db_sha256_ctx sc;
    db_sha256_init(&sc);
    db_sha256_update(&sc, &seed, sizeof seed);
    db_sha256_final(&sc, h);
    memcpy(b, h, n < 32 ? n : 32);
}

static void new_uuid(char out[DB_UUID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* variant 10 */
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

/* Checks a UUID's shape and folds it to lower case into out. */
static int norm_uuid(const char *in, char out[DB_UUID_SIZE])
{
    if (!in || strlen(in) != 36) return -1;
    for (int i = 0; i < 36; i++) {
        char ch = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-') return -1;
        } else if (ch >= 'A' && ch <= 'F') {
            ch = (char)(ch - 'A' + 'a');
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return -1;
        }
        out[i] = ch;
    }
    out[36] = '\0';
    return 0;
}

static db_code run_insert(db *d, const char *uuid, const char *command,
                          const char *config_json, const char *shard, int64_t *run_id)
{
    const char *secret = dbi_mentions_any(config_json, config_secrets);
    if (secret)
        return dbi_fail(d, DB_EARG, "config_json mentions \"%s\": an API key is never stored",
                        secret);
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, "INSERT INTO runs(uuid, command, config_json, shard) VALUES (?,?,?,?)",
                         &st);
    if (c) return c;
    int rc = bind_text(st, 1, uuid);
    if (rc == SQLITE_OK) rc = bind_text(st, 2, command);
    if (rc == SQLITE_OK) rc = bind_text(st, 3, config_json);
    if (rc == SQLITE_OK) rc = bind_text(st, 4, shard && *shard ? shard : NULL);
    if (rc != SQLITE_OK) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        c = dbi_fail(d, DB_ECONSTRAINT, "a run with UUID %s exists", uuid);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        c = dbi_fail_sq(d, "creating a run");
        goto out;
    }
    if (run_id) *run_id = sqlite3_last_insert_rowid(d->sq);
out:
    sqlite3_finalize(st);
    return c;
}

db_code db_run_create(db *d, const char *command, const char *config_json,
                      const char *shard, int64_t *run_id, char uuid[DB_UUID_SIZE])
{
    if (!d) return DB_EARG;
    char u[DB_UUID_SIZE];
    new_uuid(u);
    lock(d);
    db_code c = run_insert(d, u, command, config_json, shard, run_id);
    unlock(d);
    if (c == DB_OK && uuid) memcpy(uuid, u, DB_UUID_SIZE);
    return c;
}

db_code db_run_create_with_uuid(db *d, const char *uuid, const char *command,
                                const char *config_json, const char *shard,
                                int64_t *run_id)
{
    if (!d) return DB_EARG;
    char u[DB_UUID_SIZE];
    lock(d);
    db_code c = norm_uuid(uuid, u)
                    ? dbi_fail(d, DB_EARG, "not a UUID: \"%.40s\"", uuid ? uuid : "(null)")
                    : run_insert(d, u, command, config_json, shard, run_id);
    unlock(d);
    return c;
}

db_code db_run_find(db *d, const char *id_or_uuid, int64_t *run_id)
{
    if (!d || !id_or_uuid || !run_id) return DB_EARG;
    sqlite3_stmt *st = NULL;
    char u[DB_UUID_SIZE];
    size_t n = strlen(id_or_uuid);
    int numeric = n > 0 && n <= 18 && strspn(id_or_uuid, "0123456789") == n;
    db_code c = DB_OK;

    lock(d);
    if (!numeric && norm_uuid(id_or_uuid, u)) {
        c = dbi_fail(d, DB_ENOTFOUND, "no run \"%.40s\" (give a run id or a UUID)", id_or_uuid);
        goto out;
    }
    c = dbi_prep(d, numeric ? "SELECT id FROM runs WHERE id = ?"
                            : "SELECT id FROM runs WHERE uuid = ?", &st);
    if (c) goto out;
    int rc = numeric ? sqlite3_bind_int64(st, 1, strtoll(id_or_uuid, NULL, 10))
                     : bind_text(st, 1, u);
    if (rc != SQLITE_OK) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *run_id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) c = dbi_fail(d, DB_ENOTFOUND, "no run %s", id_or_uuid);
    else c = dbi_fail_sq(d, "finding a run");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

db_code db_run_set_status(db *d, int64_t run_id, const char *status)
{
    if (!d) return DB_EARG;
    sqlite3_stmt *st = NULL;
    db_code c = DB_OK;
    lock(d);
    if (!status || (strcmp(status, "running") && strcmp(status, "finished") &&
                    strcmp(status, "interrupted"))) {
        c = dbi_fail(d, DB_EARG, "unknown run status \"%.40s\"", status ? status : "(null)");
        goto out;
    }
    c = dbi_prep(d, "UPDATE runs SET status = ?1, finished_at = CASE WHEN ?1 = 'running' "
                "THEN NULL ELSE " NOW " END WHERE id = ?2", &st);
    if (c) goto out;
    int rc = bind_text(st, 1, status);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
    if (rc != SQLITE_OK) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    c = dbi_step_done(d, st, "setting a run's status");
    if (c == DB_OK && sqlite3_changes(d->sq) == 0)
        c = dbi_fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* RUN_SELECT's columns, in order, are run_cols below. */
#define RUN_SELECT                                                                      \
    "SELECT r.id, r.uuid, r.created_at, r.command, r.config_json, r.shard, r.status,"  \
    " r.finished_at, count(p.problem_id), coalesce(sum(p.status = 'done'), 0),"        \
    " coalesce(sum(p.status = 'error'), 0), coalesce(sum(p.correct = 1), 0),"          \
    " coalesce(sum(p.prompt_tokens), 0), coalesce(sum(p.completion_tokens), 0),"       \
    " coalesce(sum(p.llm_calls), 0), coalesce(sum(p.llm_ms), 0),"                      \
    " coalesce(sum(p.solve_ms), 0), coalesce(sum(p.correct IS NOT NULL), 0)"           \
    " FROM runs r LEFT JOIN problems p ON p.run_id = r.id "

#define R(field) DBI_COL(db_run_info, field)
static const dbi_col run_cols[] = {
    R(id), DBI_COL_UUID(db_run_info, uuid), R(created_at), R(command), R(config_json),
    R(shard), R(status), R(finished_at), R(problems), R(done), R(errors), R(correct),
    R(prompt_tokens), R(completion_tokens), R(llm_calls), R(llm_ms), R(solve_ms), R(graded),
};
#undef R
static const dbi_row run_row = DBI_ROW(db_run_info, run_cols);

void db_run_info_clear(db_run_info *r)
{
    if (r) dbi_free_row(&run_row, r);
}

db_code db_run_get(db *d, int64_t run_id, db_run_info *out)
{
    if (!d || !out) return DB_EARG;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = dbi_prep(d, RUN_SELECT "WHERE r.id = ? GROUP BY r.id", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc != SQLITE_OK) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (dbi_read_row(st, &run_row, out))
            c = dbi_fail(d, DB_ENOMEM, "out of memory reading a run");
    } else if (rc == SQLITE_DONE) {
        c = dbi_fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
    } else {
        c = dbi_fail_sq(d, "reading a run");
    }
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

void db_runs_free(db_run_info *runs, size_t n)
{
    if (!runs) return;
    for (size_t i = 0; i < n; i++) db_run_info_clear(&runs[i]);
    free(runs);
}

db_code db_runs_list(db *d, db_run_info **out, size_t *n)
{
    if (!d || !out || !n) return DB_EARG;
    *out = NULL;
    *n = 0;
    void *rows = NULL;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = dbi_prep(d, RUN_SELECT "GROUP BY r.id ORDER BY r.id DESC", &st);
    if (!c) c = dbi_collect(d, st, &run_row, "listing runs", &rows, n);
    *out = rows;
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* ---- recording problems ------------------------------------------------------ */

static db_code check_record(db *d, const db_problem_record *r)
{
    if (!r->dataset || !r->problem_id)
        return dbi_fail(d, DB_EARG, "a problem record needs a dataset and a problem_id");
    if (!r->status || (strcmp(r->status, "done") && strcmp(r->status, "error")))
        return dbi_fail(d, DB_EARG, "problem %s/%s: status must be \"done\" or \"error\", "
                        "not \"%.40s\"", r->dataset, r->problem_id,
                        r->status ? r->status : "(null)");
    if (r->correct < -1 || r->correct > 1)
        return dbi_fail(d, DB_EARG, "problem %s/%s: correct must be -1, 0 or 1", r->dataset,
                        r->problem_id);
    if ((r->nattempts && !r->attempts) || (r->ncalls && !r->calls))
        return dbi_fail(d, DB_EARG, "problem %s/%s: attempts or calls array missing", r->dataset,
                        r->problem_id);
    for (size_t i = 0; i < r->ncalls; i++)
        if (r->calls[i].cached < 0 || r->calls[i].cached > 1)
            return dbi_fail(d, DB_EARG, "problem %s/%s: call %zu: cached must be 0 or 1",
                            r->dataset, r->problem_id, i);
    return DB_OK;
}

static db_code insert_problem_row(db *d, const db_problem_record *r)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d,
        "INSERT INTO problems(run_id, dataset, problem_id, question, gold_json, status,"
        " outcome, answer, correct, result_json, attempts, prompt_tokens, completion_tokens,"
        " llm_calls, llm_ms, solve_ms, finished_at)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
        " coalesce(?17, " NOW "))", &st);
    if (c) return c;
    int rc = sqlite3_bind_int64(st, 1, r->run_id);
    if (!rc) rc = bind_text(st, 2, r->dataset);
    if (!rc) rc = bind_text(st, 3, r->problem_id);
    if (!rc) rc = bind_text(st, 4, r->question);
    if (!rc) rc = bind_text(st, 5, r->gold_json);
    if (!rc) rc = bind_text(st, 6, r->status);
    if (!rc) rc = bind_text(st, 7, r->outcome);
    if (!rc) rc = r->has_answer ? sqlite3_bind_double(st, 8, r->answer) : sqlite3_bind_null(st, 8);
    if (!rc) rc = r->correct < 0 ? sqlite3_bind_null(st, 9) : sqlite3_bind_int(st, 9, r->correct);
    if (!rc) rc = bind_text(st, 10, r->result_json);
    if (!rc) rc = sqlite3_bind_int(st, 11, r->attempt_count < 0 ? 0 : r->attempt_count);
    if (!rc) rc = bind_i64_opt(st, 12, r->prompt_tokens);
    if (!rc) rc = bind_i64_opt(st, 13, r->completion_tokens);
    if (!rc) rc = sqlite3_bind_int(st, 14, r->llm_call_count < 0 ? 0 : r->llm_call_count);
    if (!rc) rc = bind_dbl_opt(st, 15, r->llm_ms);
    if (!rc) rc = bind_dbl_opt(st, 16, r->solve_ms);
    if (!rc) rc = bind_text(st, 17, r->finished_at);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        c = dbi_fail(d, DB_ECONSTRAINT, "problem %s/%s is already recorded for run %lld",
                     r->dataset, r->problem_id, (long long)r->run_id);
    else if (rc != SQLITE_DONE)
        c = dbi_fail_sq(d, "recording a problem");
out:
    sqlite3_finalize(st);
    return c;
}

static db_code insert_attempts(db *d, const db_problem_record *r)
{
    if (!r->nattempts) return DB_OK;
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d,
        "INSERT INTO attempts(run_id, dataset, problem_id, round, stage, outcome,"
        " messages_json, reply, formulation, result_json, feedback, prompt_tokens,"
        " completion_tokens, latency_ms, insights) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
    if (c) return c;
    for (size_t i = 0; i < r->nattempts; i++) {
        const db_attempt_record *a = &r->attempts[i];
        sqlite3_reset(st);
        int rc = sqlite3_bind_int64(st, 1, r->run_id);
        if (!rc) rc = bind_text(st, 2, r->dataset);
        if (!rc) rc = bind_text(st, 3, r->problem_id);
        if (!rc) rc = sqlite3_bind_int(st, 4, a->round);
        if (!rc) rc = bind_text(st, 5, a->stage);
        if (!rc) rc = bind_text(st, 6, a->outcome);
        if (!rc) rc = bind_text(st, 7, a->messages_json);
        if (!rc) rc = bind_text(st, 8, a->reply);
        if (!rc) rc = bind_text(st, 9, a->formulation);
        if (!rc) rc = bind_text(st, 10, a->result_json);
        if (!rc) rc = bind_text(st, 11, a->feedback);
        if (!rc) rc = bind_i64_opt(st, 12, a->prompt_tokens);
        if (!rc) rc = bind_i64_opt(st, 13, a->completion_tokens);
        if (!rc) rc = bind_dbl_opt(st, 14, a->latency_ms);
        if (!rc) rc = bind_text(st, 15, a->insights);
        if (rc) {
            c = dbi_bind_failed(d, rc);
            goto out;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            c = dbi_fail(d, DB_ECONSTRAINT, "problem %s/%s: round %d appears twice", r->dataset,
                         r->problem_id, a->round);
            goto out;
        }
        if (rc != SQLITE_DONE) {
            c = dbi_fail_sq(d, "recording an attempt");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return c;
}

static db_code insert_calls(db *d, const db_problem_record *r)
{
    if (!r->ncalls) return DB_OK;
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d,
        "INSERT INTO llm_calls(run_id, dataset, problem_id, round, task, model, cache_key,"
        " cached, http_status, attempts, prompt_tokens, completion_tokens, latency_ms, error,"
        " at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
        " coalesce(?15, " NOW "))", &st);
    if (c) return c;
    for (size_t i = 0; i < r->ncalls; i++) {
        const db_llm_call_record *k = &r->calls[i];
        sqlite3_reset(st);
        int rc = sqlite3_bind_int64(st, 1, r->run_id);
        if (!rc) rc = bind_text(st, 2, r->dataset);
        if (!rc) rc = bind_text(st, 3, r->problem_id);
        if (!rc) rc = sqlite3_bind_int(st, 4, k->round);
        if (!rc) rc = bind_text(st, 5, k->task);
        if (!rc) rc = bind_text(st, 6, k->model);
        if (!rc) rc = bind_text(st, 7, k->cache_key);
        if (!rc) rc = sqlite3_bind_int(st, 8, k->cached);
        if (!rc) rc = k->http_status > 0 ? sqlite3_bind_int(st, 9, k->http_status)
                                         : sqlite3_bind_null(st, 9);
        if (!rc) rc = sqlite3_bind_int(st, 10, k->attempts);
        if (!rc) rc = bind_i64_opt(st, 11, k->prompt_tokens);
        if (!rc) rc = bind_i64_opt(st, 12, k->completion_tokens);
        if (!rc) rc = bind_dbl_opt(st, 13, k->latency_ms);
        if (!rc) rc = bind_text(st, 14, k->error);
        if (!rc) rc = bind_text(st, 15, k->at);
        if (rc) {
            c = dbi_bind_failed(d, rc);
            goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            c = dbi_fail_sq(d, "recording an LLM call");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    return c;
}

static db_code run_exists(db *d, int64_t run_id)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, "SELECT 1 FROM runs WHERE id = ?", &st);
    if (c) return c;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) c = dbi_fail(d, DB_ENOTFOUND, "no run %lld", (long long)run_id);
    else if (rc != SQLITE_ROW) c = dbi_fail_sq(d, "finding a run");
out:
    sqlite3_finalize(st);
    return c;
}

db_code db_problem_record_add(db *d, const db_problem_record *rec)
{
    if (!d || !rec) return DB_EARG;
    lock(d);
    db_code c = check_record(d, rec);
    if (c) goto out;
    c = begin(d);
    if (c) goto out;
    c = run_exists(d, rec->run_id);
    if (!c) c = insert_problem_row(d, rec);
    if (!c) c = insert_attempts(d, rec);
    if (!c) c = insert_calls(d, rec);
    if (!c) c = commit(d);
    if (c) rollback(d);
out:
    unlock(d);
    return c;
}

/* Prepares sql with ?1 = run_id, ?2 = dataset, ?3 = problem_id bound. */
static db_code prep_key(db *d, const char *sql, int64_t run_id, const char *dataset,
                        const char *problem_id, sqlite3_stmt **st)
{
    db_code c = dbi_prep(d, sql, st);
    if (c) return c;
    int rc = sqlite3_bind_int64(*st, 1, run_id);
    if (!rc) rc = bind_text(*st, 2, dataset);
    if (!rc) rc = bind_text(*st, 3, problem_id);
    if (rc) {
        sqlite3_finalize(*st);
        *st = NULL;
        return dbi_bind_failed(d, rc);
    }
    return DB_OK;
}

db_code db_problem_done(db *d, int64_t run_id, const char *dataset,
                        const char *problem_id, int *done)
{
    if (!d || !dataset || !problem_id || !done) return DB_EARG;
    *done = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = prep_key(d, "SELECT EXISTS (SELECT 1 FROM problems WHERE run_id = ?1 AND"
                            " dataset = ?2 AND problem_id = ?3)",
                         run_id, dataset, problem_id, &st);
    if (c) goto out;
    if (sqlite3_step(st) == SQLITE_ROW) *done = sqlite3_column_int(st, 0) != 0;
    else c = dbi_fail_sq(d, "looking up a problem");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

db_code db_problem_forget(db *d, int64_t run_id, const char *dataset,
                          const char *problem_id)
{
    if (!d || !dataset || !problem_id) return DB_EARG;
    sqlite3_stmt *st = NULL;
    lock(d);
    /* One statement: the cascade to attempts and llm_calls is part of it. */
    db_code c = prep_key(d, "DELETE FROM problems WHERE run_id = ?1 AND dataset = ?2 AND"
                            " problem_id = ?3", run_id, dataset, problem_id, &st);
    if (c) goto out;
    c = dbi_step_done(d, st, "deleting a problem");
    if (c == DB_OK && sqlite3_changes(d->sq) == 0)
        c = dbi_fail(d, DB_ENOTFOUND, "problem %s/%s is not recorded for run %lld", dataset,
                     problem_id, (long long)run_id);
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}

/* ---- reading problems back ------------------------------------------------------ */

/* Each SELECT below lists its columns in the order of the table after it. */
#define PROBLEM_SELECT                                                                  \
    "SELECT run_id, dataset, problem_id, question, gold_json, status, outcome,"        \
    " answer IS NOT NULL, coalesce(answer, 0), coalesce(correct, -1), result_json,"    \
    " attempts, prompt_tokens, completion_tokens, llm_calls, llm_ms, solve_ms,"        \
    " finished_at FROM problems "

#define P(field) DBI_COL(db_problem_info, field)
static const dbi_col problem_cols[] = {
    P(run_id), P(dataset), P(problem_id), P(question), P(gold_json), P(status), P(outcome),
    P(has_answer), P(answer), P(correct), P(result_json), P(attempt_count),
    P(prompt_tokens), P(completion_tokens), P(llm_call_count), P(llm_ms), P(solve_ms),
    P(finished_at),
};
#undef P
static const dbi_row problem_row = DBI_ROW(db_problem_info, problem_cols);

#define ATTEMPT_SELECT                                                                  \
    "SELECT round, stage, outcome, messages_json, reply, formulation, result_json,"    \
    " feedback, prompt_tokens, completion_tokens, latency_ms, insights FROM attempts"  \
    " WHERE run_id = ?1 AND dataset = ?2 AND problem_id = ?3 ORDER BY round"

#define A(field) DBI_COL(db_attempt_info, field)
static const dbi_col attempt_cols[] = {
    A(round), A(stage), A(outcome), A(messages_json), A(reply), A(formulation),
    A(result_json), A(feedback), A(prompt_tokens), A(completion_tokens), A(latency_ms),
    A(insights),
};
#undef A
static const dbi_row attempt_row = DBI_ROW(db_attempt_info, attempt_cols);

/* A NULL http_status reads as 0 ("no HTTP response"). */
#define CALL_SELECT                                                                     \
    "SELECT round, task, model, cache_key, cached, http_status, attempts, prompt_tokens," \
    " completion_tokens, latency_ms, error, at FROM llm_calls"                         \
    " WHERE run_id = ?1 AND dataset = ?2 AND problem_id = ?3 ORDER BY id"

#define K(field) DBI_COL(db_llm_call_info, field)
static const dbi_col call_cols[] = {
    K(round), K(task), K(model), K(cache_key), K(cached), K(http_status), K(attempts),
    K(prompt_tokens), K(completion_tokens), K(latency_ms), K(error), K(at),
};
#undef K
static const dbi_row call_row = DBI_ROW(db_llm_call_info, call_cols);

void db_problem_info_clear(db_problem_info *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nattempts; i++) dbi_free_row(&attempt_row, &r->attempts[i]);
    free(r->attempts);
    for (size_t i = 0; i < r->ncalls; i++) dbi_free_row(&call_row, &r->calls[i]);
    free(r->calls);
    dbi_free_row(&problem_row, r);
}

void db_problems_free(db_problem_info *recs, size_t n)
{
    if (!recs) return;
    for (size_t i = 0; i < n; i++) db_problem_info_clear(&recs[i]);
    free(recs);
}

/* Collects the rows of sql (ATTEMPT_SELECT or CALL_SELECT) for problem r. */
static db_code load_rows_of(db *d, const db_problem_info *r, const char *sql,
                            const dbi_row *t, const char *what, void **rows, size_t *n)
{
    sqlite3_stmt *st = NULL;
    db_code c = prep_key(d, sql, r->run_id, r->dataset, r->problem_id, &st);
    if (!c) c = dbi_collect(d, st, t, what, rows, n);
    sqlite3_finalize(st);
    return c;
}

/* Fills r's attempts and calls; on failure r is left for its clear. */
static db_code load_details(db *d, db_problem_info *r)
{
    void *rows = NULL;
    db_code c = load_rows_of(d, r, ATTEMPT_SELECT, &attempt_row, "reading attempts", &rows,
                             &r->nattempts);
    r->attempts = rows;
    if (c) return c;
    c = load_rows_of(d, r, CALL_SELECT, &call_row, "reading LLM calls", &rows, &r->ncalls);
    r->calls = rows;
    return c;
}

db_code db_problem_get(db *d, int64_t run_id, const char *dataset,
                       const char *problem_id, db_problem_info *out)
{
    if (!d || !dataset || !problem_id || !out) return DB_EARG;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    lock(d);
    /* One read transaction, so the problem and its rows are one snapshot. */
    db_code c = dbi_exec(d, "BEGIN", "starting a read");
    if (c) goto out;
    c = prep_key(d, PROBLEM_SELECT "WHERE run_id = ?1 AND dataset = ?2 AND problem_id = ?3",
                 run_id, dataset, problem_id, &st);
    if (c) goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        c = dbi_fail(d, DB_ENOTFOUND, "problem %s/%s is not recorded for run %lld", dataset,
                     problem_id, (long long)run_id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        c = dbi_fail_sq(d, "reading a problem");
        goto out;
    }
    if (dbi_read_row(st, &problem_row, out)) {
        c = dbi_fail(d, DB_ENOMEM, "out of memory reading a problem");
        goto out;
    }
    c = load_details(d, out);
out:
    sqlite3_finalize(st);
    rollback(d);
    unlock(d);
    if (c) db_problem_info_clear(out);
    return c;
}

db_code db_problems_list(db *d, int64_t run_id, unsigned flags,
                         db_problem_info **out, size_t *n)
{
    if (!d || !out || !n) return DB_EARG;
    *out = NULL;
    *n = 0;
    void *rows = NULL;
    size_t len = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    /* One read transaction: the details are read in the same snapshot. */
    db_code c = dbi_exec(d, "BEGIN", "starting a read");
    if (c) goto out;
    c = dbi_prep(d, PROBLEM_SELECT "WHERE run_id = ?"
                    " ORDER BY dataset, CAST(problem_id AS INTEGER), problem_id", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    c = dbi_collect(d, st, &problem_row, "listing problems", &rows, &len);
    for (size_t i = 0; !c && (flags & DB_LIST_DETAILS) && i < len; i++)
        c = load_details(d, (db_problem_info *)rows + i);
out:
    sqlite3_finalize(st);
    rollback(d);
    unlock(d);
    if (c) {
        db_problems_free(rows, len);
    } else {
        *out = rows;
        *n = len;
    }
    return c;
}
db_code db_problems_count(db *d, int64_t run_id, const char *status, int64_t *count)
{
    if (!d || !count) return DB_EARG;
    *count = 0;
    sqlite3_stmt *st = NULL;
    lock(d);
    db_code c = dbi_prep(d, "SELECT count(*) FROM problems WHERE run_id = ?1 AND"
                        " (?2 IS NULL OR status = ?2)", &st);
    if (c) goto out;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (!rc) rc = bind_text(st, 2, status);
    if (rc) {
        c = dbi_bind_failed(d, rc);
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
    else c = dbi_fail_sq(d, "counting problems");
out:
    sqlite3_finalize(st);
    unlock(d);
    return c;
}
