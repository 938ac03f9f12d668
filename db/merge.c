/* db/merge.c — folding a shard's database into another (db_merge).
 *
 * The source is ATTACHed as merge_src and copied with INSERT ... SELECT, all
 * in one write transaction on the destination. Two temporary tables carry
 * the bookkeeping: merge_map (source run id -> destination run id, runs
 * matched by UUID) and merge_new (the source problems the destination lacks).
 * Only those new problems bring their attempts and LLM calls along; a
 * duplicate keeps the destination's rows and is counted (and compared) in the
 * stats. An older source file is first brought up to date by db_open on a
 * handle of its own.
 */
#include "db/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Runs sql (no row expected) and adds the rows it changed to *count. */
static db_code merge_exec(db *d, const char *sql, int64_t *count)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, sql, &st);
    if (c) return c;
    c = dbi_step_done(d, st, "merging");
    if (c == DB_OK && count) *count += sqlite3_changes(d->sq);
    sqlite3_finalize(st);
    return c;
}

/* The first two columns of sql's one row into *a and *b (b may be NULL). */
static db_code merge_count(db *d, const char *sql, int64_t *a, int64_t *b, const char *what)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, sql, &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *a = sqlite3_column_int64(st, 0);
        if (b) *b = sqlite3_column_int64(st, 1);
    } else {
        c = dbi_fail_sq(d, what);
    }
    sqlite3_finalize(st);
    return c;
}

/* The columns of the problems table, in the order of its CREATE TABLE. */
#define PROBLEM_COLS                                                                   \
    "run_id, dataset, problem_id, question, gold_json, status, outcome, answer,"      \
    " correct, result_json, attempts, prompt_tokens, completion_tokens, llm_calls,"   \
    " llm_ms, solve_ms, finished_at"

#define DUP_JOIN                                                                  \
    " FROM merge_src.problems p JOIN temp.merge_map m ON m.src_id = p.run_id"    \
    " JOIN main.problems d ON d.run_id = m.dst_id AND d.dataset = p.dataset"     \
    " AND d.problem_id = p.problem_id"
#define DIFFERS                                                                   \
    "(d.status IS NOT p.status OR d.outcome IS NOT p.outcome OR"                 \
    " d.answer IS NOT p.answer OR d.correct IS NOT p.correct)"

/* The bookkeeping tables (left over ones from a failed merge dropped first). */
static db_code merge_setup(db *d)
{
    static const char *const setup[] = {
        "DROP TABLE IF EXISTS temp.merge_map",
        "DROP TABLE IF EXISTS temp.merge_new",
        "CREATE TEMP TABLE merge_map(src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)",
        "CREATE TEMP TABLE merge_new(src_run INTEGER NOT NULL, dst_run INTEGER NOT NULL,"
        " dataset TEXT NOT NULL, problem_id TEXT NOT NULL,"
        " PRIMARY KEY (src_run, dataset, problem_id))",
    };
    db_code c = DB_OK;
    for (size_t i = 0; i < sizeof setup / sizeof setup[0] && !c; i++)
        c = merge_exec(d, setup[i], NULL);
    return c;
}

/* Runs: join those dst has (by UUID), add the others, and map every source
 * run to its dst run in merge_map. */
static db_code merge_runs(db *d, db_merge_stats *s)
{
    db_code c = merge_count(d, "SELECT count(*) FROM merge_src.runs WHERE uuid IN"
                               " (SELECT uuid FROM main.runs)", &s->runs_joined, NULL,
                            "merging runs");
    if (!c) c = merge_exec(d,
        "UPDATE main.runs AS r SET"
        " shard = CASE WHEN nullif(s.shard, '') IS NULL THEN r.shard"
        "   WHEN nullif(r.shard, '') IS NULL THEN s.shard"
        "   WHEN instr(',' || r.shard || ',', ',' || s.shard || ',') > 0 THEN r.shard"
        "   ELSE r.shard || ',' || s.shard END,"
        " status = CASE WHEN 'interrupted' IN (r.status, s.status) THEN 'interrupted'"
        "   WHEN 'running' IN (r.status, s.status) THEN 'running' ELSE 'finished' END,"
        " created_at = min(r.created_at, s.created_at),"
        " finished_at = CASE WHEN 'running' IN (r.status, s.status) THEN NULL"
        "   WHEN r.finished_at IS NULL THEN s.finished_at"
        "   WHEN s.finished_at IS NULL THEN r.finished_at"
        "   ELSE max(r.finished_at, s.finished_at) END"
        " FROM merge_src.runs AS s WHERE s.uuid = r.uuid", NULL);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.runs(uuid, created_at, command, config_json, shard, status,"
        " finished_at) SELECT uuid, created_at, command, config_json, shard, status,"
        " finished_at FROM merge_src.runs WHERE uuid NOT IN (SELECT uuid FROM main.runs)"
        " ORDER BY id", &s->runs_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO temp.merge_map(src_id, dst_id) SELECT s.id, r.id FROM merge_src.runs s"
        " JOIN main.runs r ON r.uuid = s.uuid", NULL);
    return c;
}

/* Problems dst already has: counted (and compared), dst's row kept. first
 * names one of them, a conflicting one if any. */
static db_code merge_duplicates(db *d, db_merge_stats *s, char *first, size_t firstlen)
{
    db_code c = merge_count(d, "SELECT count(*), coalesce(sum(" DIFFERS "), 0)" DUP_JOIN,
                            &s->problems_duplicate, &s->problems_conflicting,
                            "merging problems");
    if (c || !s->problems_duplicate) return c;
    sqlite3_stmt *st = NULL;
    c = dbi_prep(d, "SELECT r.uuid, p.dataset, p.problem_id" DUP_JOIN
                    " JOIN main.runs r ON r.id = m.dst_id"
                    " ORDER BY " DIFFERS " DESC, p.rowid LIMIT 1", &st);
    if (c) return c;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(first, firstlen, "run %s %s/%s", (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    return DB_OK;
}

/* The problems dst lacks (listed in merge_new), then their attempts and calls. */
static db_code merge_problems(db *d, db_merge_stats *s)
{
    db_code c = merge_exec(d,
        "INSERT INTO temp.merge_new(src_run, dst_run, dataset, problem_id)"
        " SELECT p.run_id, m.dst_id, p.dataset, p.problem_id FROM merge_src.problems p"
        " JOIN temp.merge_map m ON m.src_id = p.run_id WHERE NOT EXISTS (SELECT 1 FROM"
        " main.problems d WHERE d.run_id = m.dst_id AND d.dataset = p.dataset AND"
        " d.problem_id = p.problem_id)", NULL);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.problems(" PROBLEM_COLS ") SELECT n.dst_run, p.dataset,"
        " p.problem_id, p.question, p.gold_json, p.status, p.outcome, p.answer, p.correct,"
        " p.result_json, p.attempts, p.prompt_tokens, p.completion_tokens, p.llm_calls,"
        " p.llm_ms, p.solve_ms, p.finished_at FROM merge_src.problems p JOIN temp.merge_new n"
        " ON n.src_run = p.run_id AND n.dataset = p.dataset AND n.problem_id = p.problem_id"
        " ORDER BY p.rowid", &s->problems_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.attempts(run_id, dataset, problem_id, round, stage, outcome,"
        " messages_json, reply, formulation, result_json, feedback, prompt_tokens,"
        " completion_tokens, latency_ms, insights) SELECT n.dst_run, a.dataset, a.problem_id,"
        " a.round, a.stage, a.outcome, a.messages_json, a.reply, a.formulation, a.result_json,"
        " a.feedback, a.prompt_tokens, a.completion_tokens, a.latency_ms, a.insights"
        " FROM merge_src.attempts a JOIN temp.merge_new n ON n.src_run = a.run_id AND"
        " n.dataset = a.dataset AND n.problem_id = a.problem_id", &s->attempts_added);
    if (!c) c = merge_exec(d,
        "INSERT INTO main.llm_calls(run_id, dataset, problem_id, round, task, model,"
        " cache_key, cached, http_status, attempts, prompt_tokens, completion_tokens,"
        " latency_ms, error, at) SELECT n.dst_run, k.dataset, k.problem_id, k.round, k.task,"
        " k.model, k.cache_key, k.cached, k.http_status, k.attempts, k.prompt_tokens,"
        " k.completion_tokens, k.latency_ms, k.error, k.at FROM merge_src.llm_calls k"
        " JOIN temp.merge_new n ON n.src_run = k.run_id AND n.dataset = k.dataset AND"
        " n.problem_id = k.problem_id ORDER BY k.id", &s->calls_added);
    return c;
}

/* Everything inside the merge transaction. */
static db_code merge_body(db *d, db_merge_stats *s, char *first, size_t firstlen)
{
    db_code c = merge_setup(d);
    if (!c) c = merge_runs(d, s);
    if (!c) c = merge_duplicates(d, s, first, firstlen);
    if (!c) c = merge_problems(d, s);
    if (!c) c = merge_exec(d,
        "INSERT OR IGNORE INTO main.cache(key, endpoint, model, task, request_json,"
        " response_json, created_at, hits) SELECT key, endpoint, model, task, request_json,"
        " response_json, created_at, hits FROM merge_src.cache", &s->cache_added);
    if (!c) c = merge_exec(d, "DROP TABLE temp.merge_map", NULL);
    if (!c) c = merge_exec(d, "DROP TABLE temp.merge_new", NULL);
    return c;
}

static db_code attach_src(db *d, const char *path)
{
    sqlite3_stmt *st = NULL;
    db_code c = dbi_prep(d, "ATTACH DATABASE ? AS merge_src", &st);
    if (c) return c;
    int rc = bind_text(st, 1, path);
    if (rc) c = dbi_bind_failed(d, rc);
    else c = dbi_step_done(d, st, "attaching the source database");
    sqlite3_finalize(st);
    return c;
}

static void detach_src(db *d)
{
    sqlite3_exec(d->sq, "DETACH DATABASE merge_src", NULL, NULL, NULL);
}

/* The source must be a regular file and not dst's own file. */
static db_code check_src(db *dst, const char *src_path)
{
    struct stat sst, dstat;
    if (stat(src_path, &sst))
        return dbi_fail(dst, DB_EOPEN, "cannot read %s: %s", src_path, strerror(errno));
    if (!S_ISREG(sst.st_mode))
        return dbi_fail(dst, DB_EOPEN, "cannot read %s: not a regular file", src_path);
    const char *dpath = sqlite3_db_filename(dst->sq, "main");
    if (dpath && *dpath && stat(dpath, &dstat) == 0 && dstat.st_dev == sst.st_dev &&
        dstat.st_ino == sst.st_ino)
        return dbi_fail(dst, DB_EARG, "%s is the destination database itself", src_path);
    return DB_OK;
}

/* Attaches the source as merge_src once its schema is known and current;
 * *attached says whether it is attached (also after a failure). */
static db_code attach_checked(db *dst, const char *src_path, int *attached)
{
    db_code c = attach_src(dst, src_path);
    if (c) return c;
    *attached = 1;
    int v = 0;
    c = dbi_pragma_int(dst, "PRAGMA merge_src.user_version", &v);
    if (c) {
        if (c == DB_EOPEN || c == DB_EIO)
            c = dbi_fail(dst, DB_EOPEN, "%s is not an SQLite database", src_path);
        return c;
    }
    if (v > DB_SCHEMA_VERSION)
        return dbi_fail(dst, DB_ESCHEMA, "%s has schema version %d, newer than this build "
                        "knows (%d)", src_path, v, DB_SCHEMA_VERSION);
    if (v < 1) return dbi_fail(dst, DB_EOPEN, "%s is not an optagent result database", src_path);
    if (v == DB_SCHEMA_VERSION) return DB_OK;
    /* An older file: bring it up to date first, with a handle of its own. */
    detach_src(dst);
    *attached = 0;
    char e[256];
    db_code oc;
    db *o = db_open(src_path, &oc, e, sizeof e);
    if (!o) return dbi_fail(dst, oc, "%s", e);
    db_close(o);
    c = attach_src(dst, src_path);
    if (!c) *attached = 1;
    return c;
}

db_code db_merge(db *dst, const char *src_path, db_merge_stats *stats,
                 char *err, size_t errlen)
{
    db_merge_stats s = {0};
    char first[256] = "";
    int attached = 0;

    if (stats) *stats = s;
    if (err && errlen) err[0] = '\0';
    if (!dst || !src_path) {
        if (err && errlen) snprintf(err, errlen, "db_merge: no database or source path");
        return DB_EARG;
    }
    lock(dst);
    db_code c = check_src(dst, src_path);
    if (!c) c = attach_checked(dst, src_path, &attached);
    if (!c) c = begin(dst);
    if (c) goto out;
    c = merge_body(dst, &s, first, sizeof first);
    if (!c) c = commit(dst);
    if (c) {
        rollback(dst);
        s = (db_merge_stats){0};
    }
out:
    if (attached) detach_src(dst);
    if (c && err && errlen) snprintf(err, errlen, "%s", dst->err);
    unlock(dst);
    if (!c && s.problems_duplicate && err && errlen)
        snprintf(err, errlen, "%lld duplicate problem(s) kept once, %lld of them conflicting"
                 " (first %s: %s)", (long long)s.problems_duplicate,
                 (long long)s.problems_conflicting,
                 s.problems_conflicting ? "conflict" : "duplicate", first);
    if (stats) *stats = s;
    return c;
}
