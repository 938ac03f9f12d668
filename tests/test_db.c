/* Tests of db/: schema creation and migration, the newer-schema refusal, WAL,
 * runs, recording problems with their attempts and LLM calls (atomically,
 * once), resume lookups, the response cache and its keys, SHA-256 vectors,
 * merging shard databases, a kill -9 in the middle of writing, and many
 * threads writing through one handle (and through several).
 *
 * Every test works in its own temporary directory. Facts the API does not
 * expose (journal mode, hit counts, integrity) are read with SQLite itself.
 * DB_TEST_FILTER=<glob> runs only the matching tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "tests/support.h"

typedef struct {
    char *dir;
    char path[512];     /* dir/t.db */
} fixture;

static char big[4097];  /* a long messages_json, filled in main */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->dir = ts_mkdtemp();
    if (!f->dir) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void sub_path(const fixture *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, name);
}

static db *open_ok(const char *path)
{
    db_code code = DB_EIO;
    char err[512];
    db *d = db_open(path, &code, err, sizeof err);
    if (!d) print_error("db_open(%s): %s: %s\n", path, db_strerror(code), err);
    assert_non_null(d);
    assert_int_equal(code, DB_OK);
    return d;
}

/* ---- raw SQLite, for what the API does not expose -------------------------- */

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -999;
    assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) != SQLITE_OK)
        print_error("%s: %s\n", sql, sqlite3_errmsg(s));
    assert_non_null(st);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE) print_error("%s: %s\n", sql, sqlite3_errmsg(s));
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

/* The first column of the first row as text ("" when no row). */
static void raw_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(s);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     NULL), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(s, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) print_error("%s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(s);
    assert_int_equal(rc, SQLITE_OK);
}

/* ---- building records --------------------------------------------------------- */

typedef struct {
    char problem_id[32];
    char reply[8][64];
    char key[8][DB_KEY_SIZE];
    db_attempt_record at[8];
    db_llm_call_record call[8];
    db_problem_record rec;
} rec_buf;

/* A problem with n attempts (rounds 1..n) and one LLM call per attempt. */
static const db_problem_record *build(rec_buf *b, int64_t run_id, const char *dataset,
                                      const char *problem_id, int n, const char *outcome)
{
    memset(b, 0, sizeof *b);
    snprintf(b->problem_id, sizeof b->problem_id, "%s", problem_id);
    for (int i = 0; i < n; i++) {
        snprintf(b->reply[i], sizeof b->reply[i], "reply %s round %d", problem_id, i + 1);
        db_cache_key("http://llm", "m1", b->reply[i], b->key[i]);
        b->at[i] = (db_attempt_record){
            .round = i + 1, .stage = i ? "repair" : "formulate",
            .outcome = i + 1 == n ? outcome : "invalid", .messages_json = big,
            .reply = b->reply[i], .formulation = "{\"variables\":[]}",
            .result_json = "{\"status\":\"optimal\"}", .feedback = i + 1 == n ? NULL : "fix it",
            .prompt_tokens = 100 + i, .completion_tokens = 50 + i, .latency_ms = 12.5 + i,
            .insights = i ? "12@3,7@1" : "",
        };
        b->call[i] = (db_llm_call_record){
            .round = i + 1, .task = "formulate", .model = "m1", .cache_key = b->key[i],
            .cached = i % 2, .http_status = 200, .attempts = 1, .prompt_tokens = 100 + i,
            .completion_tokens = 50 + i, .latency_ms = 12.5 + i, .error = NULL,
        };
    }
    b->rec = (db_problem_record){
        .run_id = run_id, .dataset = dataset, .problem_id = b->problem_id,
        .question = "Maximize profit.", .gold_json = "{\"answer\":42}", .status = "done",
        .outcome = outcome, .has_answer = 1, .answer = 42.0, .correct = 1,
        .result_json = "{\"objective\":42}", .attempt_count = n, .llm_call_count = n,
        .prompt_tokens = 300, .completion_tokens = 150, .llm_ms = 37.5, .solve_ms = 2.25,
        .attempts = b->at, .nattempts = (size_t)n, .calls = b->call, .ncalls = (size_t)n,
    };
    return &b->rec;
}

static db_code record(db *d, int64_t run_id, const char *dataset, const char *problem_id,
                      int n, const char *outcome)
{
    rec_buf *b = malloc(sizeof *b);
    assert_non_null(b);
    db_code c = db_problem_record_add(d, build(b, run_id, dataset, problem_id, n, outcome));
    free(b);
    return c;
}

/* ---- SHA-256 and cache keys --------------------------------------------------- */

static void check_hex(const char *msg, size_t len, const char *want)
{
    char out[DB_KEY_SIZE];
    db_sha256_hex(msg, len, out);
    assert_string_equal(out, want);
}

static void test_sha256_vectors(void **state)
{
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m448) * 8, 448);
    check_hex(m448, strlen(m448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_hex(m896, strlen(m896),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    /* One million 'a': fed in uneven pieces, and in one piece. */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    check_hex(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    db_sha256_ctx c;
    unsigned char dg[32], dg2[32];
    db_sha256_init(&c);
    for (size_t done = 0, step = 1; done < 1000000; step = step % 131 + 7) {
        size_t n = 1000000 - done < step ? 1000000 - done : step;
        db_sha256_update(&c, a + done, n);
        done += n;
    }
    db_sha256_final(&c, dg);
    static const unsigned char want[4] = {0xcd, 0xc7, 0x6e, 0x5c};
    assert_memory_equal(dg, want, 4);

    /* Every split of a 130-byte message gives the one-shot digest. */
    unsigned char msg[130];
    for (int i = 0; i < 130; i++) msg[i] = (unsigned char)(i * 7 + 3);
    db_sha256_init(&c);
    db_sha256_update(&c, msg, sizeof msg);
    db_sha256_final(&c, dg);
    for (size_t cut = 0; cut <= sizeof msg; cut++) {
        db_sha256_init(&c);
        db_sha256_update(&c, msg, cut);
        db_sha256_update(&c, msg + cut, sizeof msg - cut);
        db_sha256_final(&c, dg2);
        assert_memory_equal(dg, dg2, 32);
    }
    free(a);
}

static void test_cache_key(void **state)
{
    const char *req = "{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}],\"temperature\":0}";
    char k1[DB_KEY_SIZE], k2[DB_KEY_SIZE], k3[DB_KEY_SIZE];

    assert_int_equal(db_cache_key("http://a/v1", "gpt-x", req, k1), DB_OK);
    assert_int_equal(db_cache_key("http://a/v1", "gpt-x", req, k2), DB_OK);
    assert_string_equal(k1, k2);
    assert_int_equal(strlen(k1), 64);
    assert_int_equal(strspn(k1, "0123456789abcdef"), 64);
    /* Pinned: a change here silently empties every user's cache. */
    assert_string_equal(k1, "b249a5001c1685158d8ff7b25536040e359d8fa2016f194c773164c89d2e48aa");

    assert_int_equal(db_cache_key("http://a/v1", "gpt-y", req, k3), DB_OK);
    assert_string_not_equal(k1, k3);
    assert_int_equal(db_cache_key("http://b/v1", "gpt-x", req, k3), DB_OK);
    assert_string_not_equal(k1, k3);
    assert_int_equal(db_cache_key("http://a/v1", "gpt-x", "{\"messages\":[]}", k3), DB_OK);
    assert_string_not_equal(k1, k3);
    /* The parts are framed: moving a character across a boundary changes it. */
    assert_int_equal(db_cache_key("ab", "c", "x", k2), DB_OK);
    assert_int_equal(db_cache_key("a", "bc", "x", k3), DB_OK);
    assert_string_not_equal(k2, k3);
    assert_int_equal(db_cache_key(NULL, "m", "x", k3), DB_EARG);
}

/* ---- open, schema, WAL -------------------------------------------------------- */

static void test_create_migrate_reopen(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int v = -1;
    assert_int_equal(db_schema_version(d, &v), DB_OK);
    assert_int_equal(v, DB_SCHEMA_VERSION);
    int64_t run = 0;
    char uuid[DB_UUID_SIZE];
    assert_int_equal(db_run_create(d, "optagent batch x.jsonl", "{\"model\":\"m\"}", NULL,
                                   &run, uuid), DB_OK);
    assert_int_equal(record(d, run, "ds", "1", 2, "optimal"), DB_OK);
    db_close(d);

    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                      " AND name IN ('runs','problems','attempts','llm_calls',"
                                      "'cache')"), 5);

    /* Reopening keeps the version and the data, and migrates nothing twice. */
    d = open_ok(f->path);
    assert_int_equal(db_schema_version(d, &v), DB_OK);
    assert_int_equal(v, DB_SCHEMA_VERSION);
    int64_t again = 0, n = 0;
    assert_int_equal(db_run_find(d, uuid, &again), DB_OK);
    assert_int_equal(again, run);
    assert_int_equal(db_problems_count(d, run, NULL, &n), DB_OK);
    assert_int_equal(n, 1);
    db_close(d);

    /* A version 1 file (before attempts.insights) is migrated: its attempts
     * read back with no insights (NULL: made without a library). */
    raw_exec(f->path, "UPDATE attempts SET insights = NULL; ALTER TABLE attempts DROP COLUMN "
                      "insights; PRAGMA user_version = 1;");
    d = open_ok(f->path);
    assert_int_equal(db_schema_version(d, &v), DB_OK);
    assert_int_equal(v, DB_SCHEMA_VERSION);
    db_problem_info pi;
    assert_int_equal(db_problem_get(d, run, "ds", "1", &pi), DB_OK);
    assert_int_equal(pi.nattempts, 2);
    assert_null(pi.attempts[0].insights);
    db_problem_info_clear(&pi);
    db_close(d);

    /* Bad paths and non-databases. */
    db_code code = DB_OK;
    char err[256];
    assert_null(db_open(NULL, &code, err, sizeof err));
    assert_int_equal(code, DB_EARG);
    char p[600];
    sub_path(f, "no/such/dir/x.db", p, sizeof p);
    assert_null(db_open(p, &code, err, sizeof err));
    assert_int_equal(code, DB_EOPEN);
    assert_non_null(strstr(err, "no/such/dir"));
    sub_path(f, "text.db", p, sizeof p);
    const char junk[] = "this is not a database, just some text that is long enough....."
                        "................................................................";
    assert_int_equal(ts_write_file(p, junk, sizeof junk), 0);
    assert_null(db_open(p, &code, err, sizeof err));
    if (!strstr(err, "not an SQLite database")) print_error("err: %s\n", err);
    assert_int_equal(code, DB_EOPEN);
    assert_non_null(strstr(err, "not an SQLite database"));
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    db_close(d);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", DB_SCHEMA_VERSION + 1);
    raw_exec(f->path, sql);

    db_code code = DB_OK;
    char err[256] = "";
    assert_null(db_open(f->path, &code, err, sizeof err));
    assert_int_equal(code, DB_ESCHEMA);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "use a newer optagent"));
    /* Refusing leaves the file as it was. */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), DB_SCHEMA_VERSION + 1);

    /* Some other program's database (version 0 with a clashing table). */
    char p[600];
    sub_path(f, "other.db", p, sizeof p);
    raw_exec(p, "CREATE TABLE runs(x)");
    assert_null(db_open(p, &code, err, sizeof err));
    assert_int_equal(code, DB_ESCHEMA);
    assert_non_null(strstr(err, "not an optagent database"));
    assert_int_equal(raw_int(p, "PRAGMA user_version"), 0);
}

static void test_wal_mode(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int64_t run;
    assert_int_equal(db_run_create(d, "c", NULL, NULL, &run, NULL), DB_OK);
    char mode[32];
    raw_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    db_close(d);
    raw_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");   /* persistent */

    /* :memory: works, without WAL. */
    d = open_ok(":memory:");
    assert_int_equal(db_run_create(d, "c", NULL, NULL, &run, NULL), DB_OK);
    db_close(d);
}

/* ---- runs ---------------------------------------------------------------------- */

static void test_runs(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int64_t r1 = 0, r2 = 0, found = 0;
    char u1[DB_UUID_SIZE], u2[DB_UUID_SIZE];
    assert_int_equal(db_run_create(d, "optagent batch a.jsonl",
                                   "{\"endpoint\":\"http://x/v1\",\"model\":\"m\"}", "1/2",
                                   &r1, u1), DB_OK);
    assert_int_equal(db_run_create(d, "optagent batch b.jsonl", "{}", NULL, &r2, u2), DB_OK);
    assert_true(r1 > 0 && r2 > r1);
    assert_int_equal(strlen(u1), 36);
    assert_int_equal(u1[14], '4');                          /* version 4 */
    assert_non_null(strchr("89ab", u1[19]));                /* variant */
    assert_string_not_equal(u1, u2);

    assert_int_equal(db_run_find(d, u1, &found), DB_OK);
    assert_int_equal(found, r1);
    char id[32], upper[DB_UUID_SIZE];
    snprintf(id, sizeof id, "%lld", (long long)r2);
    assert_int_equal(db_run_find(d, id, &found), DB_OK);
    assert_int_equal(found, r2);
    for (int i = 0; i < DB_UUID_SIZE; i++)
        upper[i] = (char)(u2[i] >= 'a' && u2[i] <= 'f' ? u2[i] - 32 : u2[i]);
    assert_int_equal(db_run_find(d, upper, &found), DB_OK);
    assert_int_equal(found, r2);
    assert_int_equal(db_run_find(d, "999", &found), DB_ENOTFOUND);
    assert_int_equal(db_run_find(d, "00000000-0000-4000-8000-000000000000", &found),
                     DB_ENOTFOUND);
    assert_int_equal(db_run_find(d, "latest; DROP TABLE runs", &found), DB_ENOTFOUND);

    /* A given UUID (shards of one run), once. */
    int64_t r3 = 0;
    const char *shared = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    assert_int_equal(db_run_create_with_uuid(d, shared, "c", "{}", "2/2", &r3), DB_OK);
    assert_int_equal(db_run_create_with_uuid(d, shared, "c", "{}", "2/2", &found),
                     DB_ECONSTRAINT);
    assert_int_equal(db_run_create_with_uuid(d, "not-a-uuid", "c", "{}", NULL, &found),
                     DB_EARG);

    /* Never an API key. */
    assert_int_equal(db_run_create(d, "c", "{\"model\":\"m\",\"api_key\":\"sk-123\"}", NULL,
                                   &found, NULL), DB_EARG);
    assert_int_equal(db_run_create(d, "c", "{\"headers\":\"Authorization: Bearer x\"}", NULL,
                                   &found, NULL), DB_EARG);
    char err[256];
    db_errmsg(d, err, sizeof err);
    assert_non_null(strstr(err, "never stored"));
    assert_null(strstr(err, "sk-123"));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM runs"), 3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM runs WHERE config_json LIKE '%sk-%'"),
                     0);

    /* Status. */
    assert_int_equal(db_run_set_status(d, r1, "finished"), DB_OK);
    assert_int_equal(db_run_set_status(d, r2, "interrupted"), DB_OK);
    assert_int_equal(db_run_set_status(d, r2, "done"), DB_EARG);
    assert_int_equal(db_run_set_status(d, 12345, "finished"), DB_ENOTFOUND);
    db_run_info info;
    assert_int_equal(db_run_get(d, r1, &info), DB_OK);
    assert_string_equal(info.uuid, u1);
    assert_string_equal(info.status, "finished");
    assert_non_null(info.finished_at);
    assert_non_null(info.created_at);
    assert_string_equal(info.shard, "1/2");
    assert_string_equal(info.command, "optagent batch a.jsonl");
    assert_int_equal(info.problems, 0);
    db_run_info_clear(&info);
    assert_int_equal(db_run_set_status(d, r1, "running"), DB_OK);
    assert_int_equal(db_run_get(d, r1, &info), DB_OK);
    assert_null(info.finished_at);
    db_run_info_clear(&info);
    assert_int_equal(db_run_get(d, 777, &info), DB_ENOTFOUND);

    db_run_info *runs = NULL;
    size_t n = 0;
    assert_int_equal(db_runs_list(d, &runs, &n), DB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(runs[0].id, r3);     /* newest first */
    assert_int_equal(runs[2].id, r1);
    assert_string_equal(runs[1].status, "interrupted");
    db_runs_free(runs, n);
    db_close(d);
}

/* ---- problems -------------------------------------------------------------------- */

static void test_record_read_back(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int64_t run;
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &run, NULL), DB_OK);

    rec_buf *b = malloc(sizeof *b);
    assert_non_null(b);
    const db_problem_record *in = build(b, run, "nl4opt", "17", 3, "optimal");
    /* Make one of each kind of missing value. */
    b->call[2].error = "timeout";
    b->call[2].http_status = 0;
    b->call[2].prompt_tokens = -1;
    b->call[1].at = "2024-05-01T12:00:00.000Z";
    b->at[1].latency_ms = -1;
    assert_int_equal(db_problem_record_add(d, in), DB_OK);
    /* A second problem without answer or correctness, status error. */
    rec_buf *b2 = malloc(sizeof *b2);
    assert_non_null(b2);
    build(b2, run, "nl4opt", "9", 1, "llm_error");
    b2->rec.status = "error";
    b2->rec.has_answer = 0;
    b2->rec.correct = -1;
    assert_int_equal(db_problem_record_add(d, &b2->rec), DB_OK);

    db_problem_info out;
    assert_int_equal(db_problem_get(d, run, "nl4opt", "17", &out), DB_OK);
    assert_int_equal(out.run_id, run);
    assert_string_equal(out.dataset, "nl4opt");
    assert_string_equal(out.problem_id, "17");
    assert_string_equal(out.question, in->question);
    assert_string_equal(out.gold_json, in->gold_json);
    assert_string_equal(out.status, "done");
    assert_string_equal(out.outcome, "optimal");
    assert_true(out.has_answer);
    assert_true(out.answer == 42.0);
    assert_int_equal(out.correct, 1);
    assert_string_equal(out.result_json, in->result_json);
    assert_int_equal(out.attempt_count, 3);
    assert_int_equal(out.llm_call_count, 3);
    assert_int_equal(out.prompt_tokens, 300);
    assert_int_equal(out.completion_tokens, 150);
    assert_true(out.llm_ms == 37.5 && out.solve_ms == 2.25);
    assert_non_null(out.finished_at);
    assert_int_equal(out.nattempts, 3);
    for (int i = 0; i < 3; i++) {
        const db_attempt_info *a = &out.attempts[i];
        const db_attempt_record *w = &in->attempts[i];
        assert_int_equal(a->round, i + 1);
        assert_string_equal(a->stage, w->stage);
        assert_string_equal(a->outcome, w->outcome);
        assert_string_equal(a->messages_json, big);
        assert_string_equal(a->reply, w->reply);
        assert_string_equal(a->formulation, w->formulation);
        assert_string_equal(a->result_json, w->result_json);
        if (w->feedback) assert_string_equal(a->feedback, w->feedback);
        else assert_null(a->feedback);
        assert_int_equal(a->prompt_tokens, w->prompt_tokens);
        assert_int_equal(a->completion_tokens, w->completion_tokens);
        assert_true(a->latency_ms == w->latency_ms);
        assert_string_equal(a->insights, w->insights);
    }
    assert_true(out.attempts[1].latency_ms == -1);
    assert_int_equal(out.ncalls, 3);
    for (int i = 0; i < 3; i++) {
        const db_llm_call_info *k = &out.calls[i];
        const db_llm_call_record *w = &in->calls[i];
        assert_int_equal(k->round, w->round);
        assert_string_equal(k->task, "formulate");
        assert_string_equal(k->model, "m1");
        assert_string_equal(k->cache_key, w->cache_key);
        assert_int_equal(k->cached, w->cached);
        assert_int_equal(k->http_status, w->http_status);
        assert_int_equal(k->attempts, 1);
        assert_int_equal(k->prompt_tokens, w->prompt_tokens);
        assert_non_null(k->at);
    }
    assert_string_equal(out.calls[1].at, "2024-05-01T12:00:00.000Z");
    assert_string_equal(out.calls[2].error, "timeout");
    assert_null(out.calls[0].error);
    db_problem_info_clear(&out);

    assert_int_equal(db_problem_get(d, run, "nl4opt", "9", &out), DB_OK);
    assert_false(out.has_answer);
    assert_int_equal(out.correct, -1);
    assert_string_equal(out.status, "error");
    db_problem_info_clear(&out);
    assert_int_equal(db_problem_get(d, run, "nl4opt", "18", &out), DB_ENOTFOUND);

    /* Listing: "9" before "17" (numeric ids in number order). */
    db_problem_info *list = NULL;
    size_t n = 0;
    assert_int_equal(db_problems_list(d, run, 0, &list, &n), DB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].problem_id, "9");
    assert_string_equal(list[1].problem_id, "17");
    assert_int_equal(list[1].nattempts, 0);
    assert_int_equal(list[1].attempt_count, 3);
    db_problems_free(list, n);
    assert_int_equal(db_problems_list(d, run, DB_LIST_DETAILS, &list, &n), DB_OK);
    assert_int_equal(list[1].nattempts, 3);
    assert_int_equal(list[1].ncalls, 3);
    assert_int_equal(list[0].nattempts, 1);
    db_problems_free(list, n);

    int64_t cnt = 0;
    assert_int_equal(db_problems_count(d, run, NULL, &cnt), DB_OK);
    assert_int_equal(cnt, 2);
    assert_int_equal(db_problems_count(d, run, "done", &cnt), DB_OK);
    assert_int_equal(cnt, 1);
    assert_int_equal(db_problems_count(d, run, "error", &cnt), DB_OK);
    assert_int_equal(cnt, 1);

    db_run_info info;
    assert_int_equal(db_run_get(d, run, &info), DB_OK);
    assert_int_equal(info.problems, 2);
    assert_int_equal(info.done, 1);
    assert_int_equal(info.errors, 1);
    assert_int_equal(info.correct, 1);
    assert_int_equal(info.llm_calls, 4);
    assert_int_equal(info.prompt_tokens, 600);
    db_run_info_clear(&info);

    /* Bad records are refused before anything is written. */
    b2->rec.problem_id = "x";
    b2->rec.status = "finished";
    assert_int_equal(db_problem_record_add(d, &b2->rec), DB_EARG);
    b2->rec.status = "done";
    b2->rec.dataset = NULL;
    assert_int_equal(db_problem_record_add(d, &b2->rec), DB_EARG);
    b2->rec.dataset = "nl4opt";
    b2->rec.run_id = run + 100;
    assert_int_equal(db_problem_record_add(d, &b2->rec), DB_ENOTFOUND);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM problems"), 2);
    free(b);
    free(b2);
    db_close(d);
}

static void test_duplicate_problem(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int64_t run, other;
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &run, NULL), DB_OK);
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &other, NULL), DB_OK);
    assert_int_equal(record(d, run, "ds", "p1", 2, "optimal"), DB_OK);
    assert_int_equal(record(d, run, "ds", "p1", 4, "infeasible"), DB_ECONSTRAINT);
    char err[256];
    db_errmsg(d, err, sizeof err);
    assert_non_null(strstr(err, "already recorded"));
    /* Kept once, the first one, with only its own attempts and calls. */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM problems"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM attempts"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM llm_calls"), 2);
    char outcome[64];
    raw_text(f->path, "SELECT outcome FROM problems", outcome, sizeof outcome);
    assert_string_equal(outcome, "optimal");
    /* The same id in another dataset or another run is another problem. */
    assert_int_equal(record(d, run, "ds2", "p1", 1, "optimal"), DB_OK);
    assert_int_equal(record(d, other, "ds", "p1", 1, "optimal"), DB_OK);

    /* A record that fails half-way (round 2 twice) leaves nothing behind. */
    rec_buf *b = malloc(sizeof *b);
    assert_non_null(b);
    build(b, run, "ds", "p2", 3, "optimal");
    b->at[2].round = 2;
    assert_int_equal(db_problem_record_add(d, &b->rec), DB_ECONSTRAINT);
    int done = 1;
    assert_int_equal(db_problem_done(d, run, "ds", "p2", &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM attempts WHERE problem_id = 'p2'"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM llm_calls WHERE problem_id = 'p2'"),
                     0);
    free(b);
    /* And the handle is usable afterwards (no transaction left open). */
    assert_int_equal(record(d, run, "ds", "p2", 3, "optimal"), DB_OK);
    db_close(d);
}

static void test_problem_done_and_forget(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    int64_t run, other;
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &run, NULL), DB_OK);
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &other, NULL), DB_OK);
    int done = -1;
    assert_int_equal(db_problem_done(d, run, "ds", "a", &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(record(d, run, "ds", "a", 2, "optimal"), DB_OK);
    assert_int_equal(db_problem_done(d, run, "ds", "a", &done), DB_OK);
    assert_int_equal(done, 1);
    assert_int_equal(db_problem_done(d, other, "ds", "a", &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(db_problem_done(d, run, "other", "a", &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(db_problem_done(d, run, NULL, "a", &done), DB_EARG);

    /* Forgetting removes the problem with its attempts and calls (cascade:
     * foreign keys are on), so it can be retried. */
    assert_int_equal(db_problem_forget(d, run, "ds", "a"), DB_OK);
    assert_int_equal(db_problem_done(d, run, "ds", "a", &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM attempts"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM llm_calls"), 0);
    assert_int_equal(db_problem_forget(d, run, "ds", "a"), DB_ENOTFOUND);
    assert_int_equal(record(d, run, "ds", "a", 1, "optimal"), DB_OK);
    db_close(d);
}

/* ---- cache ------------------------------------------------------------------------ */

static void test_cache(void **state)
{
    fixture *f = *state;
    db *d = open_ok(f->path);
    char key[DB_KEY_SIZE], other[DB_KEY_SIZE];
    const char *req = "{\"messages\":[{\"role\":\"user\",\"content\":\"bearer bonds\"}]}";
    assert_int_equal(db_cache_key("http://x/v1", "m", req, key), DB_OK);
    assert_int_equal(db_cache_key("http://x/v1", "m2", req, other), DB_OK);

    char *resp = (char *)"junk";
    assert_int_equal(db_cache_get(d, key, &resp), DB_ENOTFOUND);
    assert_null(resp);

    assert_int_equal(db_cache_put(d, key, "http://x/v1", "m", "formulate", req,
                                  "{\"choices\":[1]}"), DB_OK);
    assert_int_equal(raw_int(f->path, "SELECT hits FROM cache"), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(db_cache_get(d, key, &resp), DB_OK);
        assert_string_equal(resp, "{\"choices\":[1]}");
        free(resp);
    }
    assert_int_equal(raw_int(f->path, "SELECT hits FROM cache"), 2);
    assert_int_equal(db_cache_get(d, other, &resp), DB_ENOTFOUND);

    /* An existing key is kept as it was. */
    assert_int_equal(db_cache_put(d, key, "http://x/v1", "m", "formulate", req,
                                  "{\"choices\":[2]}"), DB_OK);
    assert_int_equal(db_cache_get(d, key, &resp), DB_OK);
    assert_string_equal(resp, "{\"choices\":[1]}");
    free(resp);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cache"), 1);
    char task[32];
    raw_text(f->path, "SELECT task FROM cache", task, sizeof task);
    assert_string_equal(task, "formulate");

    /* No key in a stored request; arguments checked. */
    assert_int_equal(db_cache_put(d, other, "e", "m", "t", "{\"api_key\":\"sk-1\"}", "{}"),
                     DB_EARG);
    assert_int_equal(db_cache_put(d, other, "e", "m", "t", "{}", NULL), DB_EARG);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cache"), 1);
    db_close(d);

    /* Kept across reopening. */
    d = open_ok(f->path);
    assert_int_equal(db_cache_get(d, key, &resp), DB_OK);
    free(resp);
    db_close(d);
}

/* ---- merge ---------------------------------------------------------------------- */

#define SHARED_UUID "6b1f7a52-93c4-4d2e-a1b0-5c6d7e8f9a0b"

static void make_shard(const char *path, const char *shard, int from, int to,
                       const char *final_status, int extra)
{
    db *d = open_ok(path);
    int64_t run;
    assert_int_equal(db_run_create_with_uuid(d, SHARED_UUID, "optagent batch --shard", "{}",
                                             shard, &run), DB_OK);
    for (int i = from; i < to; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "p%d", i);
        assert_int_equal(record(d, run, "ds", pid, 2, "optimal"), DB_OK);
    }
    if (extra) {
        /* p5 again, differing (a conflict), and p7 again, identical. */
        assert_int_equal(record(d, run, "ds", "p5", 3, "infeasible"), DB_OK);
        assert_int_equal(record(d, run, "ds", "p7", 2, "optimal"), DB_OK);
        int64_t run2;
        assert_int_equal(db_run_create(d, "another", "{}", NULL, &run2, NULL), DB_OK);
        for (int i = 0; i < 3; i++) {
            char pid[16];
            snprintf(pid, sizeof pid, "q%d", i);
            assert_int_equal(record(d, run2, "ds", pid, 1, "optimal"), DB_OK);
        }
    }
    char key[DB_KEY_SIZE];
    db_cache_key("e", "m", shard, key);
    assert_int_equal(db_cache_put(d, key, "e", "m", "t", shard, "{}"), DB_OK);
    db_cache_key("e", "m", "shared", key);
    assert_int_equal(db_cache_put(d, key, "e", "m", "t", "shared", "{}"), DB_OK);
    assert_int_equal(db_run_set_status(d, run, final_status), DB_OK);
    db_close(d);
}

static void test_merge_shards(void **state)
{
    fixture *f = *state;
    char a[600], b[600], c[600];
    sub_path(f, "shard1.db", a, sizeof a);
    sub_path(f, "shard2.db", b, sizeof b);
    sub_path(f, "newer.db", c, sizeof c);
    make_shard(a, "1/2", 0, 10, "finished", 0);
    make_shard(b, "2/2", 10, 20, "interrupted", 1);

    db *d = open_ok(f->path);
    db_merge_stats s;
    char err[512];
    assert_int_equal(db_merge(d, a, &s, err, sizeof err), DB_OK);
    assert_string_equal(err, "");
    assert_int_equal(s.runs_added, 1);
    assert_int_equal(s.runs_joined, 0);
    assert_int_equal(s.problems_added, 10);
    assert_int_equal(s.problems_duplicate, 0);
    assert_int_equal(s.attempts_added, 20);
    assert_int_equal(s.calls_added, 20);
    assert_int_equal(s.cache_added, 2);

    assert_int_equal(db_merge(d, b, &s, err, sizeof err), DB_OK);
    assert_int_equal(s.runs_added, 1);             /* "another" */
    assert_int_equal(s.runs_joined, 1);            /* the shared UUID */
    assert_int_equal(s.problems_added, 13);        /* p10..p19 and q0..q2 */
    assert_int_equal(s.problems_duplicate, 2);     /* p5, p7 */
    assert_int_equal(s.problems_conflicting, 1);   /* p5 */
    assert_int_equal(s.attempts_added, 23);
    assert_int_equal(s.calls_added, 23);
    assert_int_equal(s.cache_added, 1);            /* "shared" was there */
    assert_non_null(strstr(err, "2 duplicate"));
    assert_non_null(strstr(err, "1 of them conflicting"));
    assert_non_null(strstr(err, "ds/p5"));

    int64_t run = 0, n = 0;
    assert_int_equal(db_run_find(d, SHARED_UUID, &run), DB_OK);
    assert_int_equal(db_problems_count(d, run, NULL, &n), DB_OK);
    assert_int_equal(n, 20);                        /* the union */
    db_run_info info;
    assert_int_equal(db_run_get(d, run, &info), DB_OK);
    assert_string_equal(info.shard, "1/2,2/2");
    assert_string_equal(info.status, "interrupted");
    db_run_info_clear(&info);
    db_problem_info p;
    assert_int_equal(db_problem_get(d, run, "ds", "p5", &p), DB_OK);
    assert_string_equal(p.outcome, "optimal");      /* dst's row kept */
    assert_int_equal(p.nattempts, 2);
    db_problem_info_clear(&p);
    assert_int_equal(db_problem_get(d, run, "ds", "p15", &p), DB_OK);
    assert_int_equal(p.nattempts, 2);
    assert_string_equal(p.attempts[0].insights, "");          /* carried by merge */
    assert_string_equal(p.attempts[1].insights, "12@3,7@1");
    assert_int_equal(p.ncalls, 2);
    db_problem_info_clear(&p);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM problems"), 23);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM attempts"), 43);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cache"), 3);

    /* Merging again adds nothing. */
    assert_int_equal(db_merge(d, b, &s, NULL, 0), DB_OK);
    assert_int_equal(s.runs_added, 0);
    assert_int_equal(s.runs_joined, 2);
    assert_int_equal(s.problems_added, 0);
    assert_int_equal(s.problems_duplicate, 15);   /* everything shard 2 has */
    assert_int_equal(s.attempts_added, 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM problems"), 23);

    /* Refusals. */
    assert_int_equal(db_merge(d, f->path, &s, err, sizeof err), DB_EARG);
    char missing[600];
    sub_path(f, "missing.db", missing, sizeof missing);
    assert_int_equal(db_merge(d, missing, &s, err, sizeof err), DB_EOPEN);
    assert_non_null(strstr(err, "missing.db"));
    struct stat st;
    assert_int_equal(stat(missing, &st), -1);       /* not created */
    db *n2 = open_ok(c);
    db_close(n2);
    raw_exec(c, "PRAGMA user_version = 99");
    assert_int_equal(db_merge(d, c, &s, err, sizeof err), DB_ESCHEMA);
    raw_exec(c, "PRAGMA user_version = 0");
    assert_int_equal(db_merge(d, c, &s, err, sizeof err), DB_EOPEN);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM problems"), 23);
    char ok[16];
    raw_text(f->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    /* Still usable afterwards. */
    assert_int_equal(record(d, run, "ds", "p99", 1, "optimal"), DB_OK);
    db_close(d);
}

/* ---- kill -9 in the middle of writing ------------------------------------------------ */

#define CRASH_AT 50

static void crash_child(const char *path, int64_t run, int fd)
{
    db_code code;
    db *d = db_open(path, &code, NULL, 0);
    if (!d) _exit(3);
    rec_buf *b = malloc(sizeof *b);
    if (!b) _exit(4);
    for (uint32_t i = 0; i < 100000; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "p%u", (unsigned)i);
        db_code c = db_problem_record_add(d, build(b, run, "crash", pid, 1 + (int)(i % 4),
                                                   "optimal"));
        uint32_t committed = c == DB_OK ? i + 1 : UINT32_MAX;
        if (write(fd, &committed, sizeof committed) != (ssize_t)sizeof committed) _exit(5);
        if (c != DB_OK) _exit(6);
    }
    _exit(0);
}

static void test_crash_kill9(void **state)
{
    fixture *f = *state;
    int64_t run;
    db *d = open_ok(f->path);
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &run, NULL), DB_OK);
    db_close(d);   /* no handle crosses the fork */

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(f->path, run, fds[1]);
    }
    close(fds[1]);

    uint32_t last = 0, v = 0;
    int killed = 0;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&p, 1, 30000);
        if (pr <= 0) break;                           /* a hung child: fail below */
        ssize_t r = read(fds[0], &v, sizeof v);
        if (r != (ssize_t)sizeof v) break;            /* EOF: the child is gone */
        if (v == UINT32_MAX) break;
        last = v;
        if (!killed && last >= CRASH_AT) {
            kill(pid, SIGKILL);
            killed = 1;                               /* keep draining what it sent */
        }
    }
    if (!killed) kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    assert_int_equal(v == UINT32_MAX, 0);             /* the child saw no error */
    assert_true(killed);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(last >= CRASH_AT);

    /* Reopen: WAL recovery, then check everything is whole. */
    char ok[64];
    raw_text(f->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    d = open_ok(f->path);
    int64_t n = 0;
    assert_int_equal(db_problems_count(d, run, NULL, &n), DB_OK);
    /* What the child reported committed, or one more (committed, not yet
     * reported when the signal came). */
    assert_true(n == (int64_t)last || n == (int64_t)last + 1);
    /* Every problem row has all its attempts and calls; nothing else exists. */
    assert_int_equal(raw_int(f->path,
        "SELECT count(*) FROM problems p WHERE p.attempts != (SELECT count(*) FROM attempts a"
        " WHERE a.run_id = p.run_id AND a.dataset = p.dataset AND a.problem_id = p.problem_id)"
        " OR p.llm_calls != (SELECT count(*) FROM llm_calls k WHERE k.run_id = p.run_id AND"
        " k.dataset = p.dataset AND k.problem_id = p.problem_id)"), 0);
    assert_int_equal(raw_int(f->path,
        "SELECT count(*) FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM problems p WHERE"
        " a.run_id = p.run_id AND a.dataset = p.dataset AND a.problem_id = p.problem_id)"), 0);
    assert_int_equal(raw_int(f->path,
        "SELECT count(*) FROM llm_calls k WHERE NOT EXISTS (SELECT 1 FROM problems p WHERE"
        " k.run_id = p.run_id AND k.dataset = p.dataset AND k.problem_id = p.problem_id)"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* The problems recorded are exactly p0 .. p(n-1). */
    assert_int_equal(raw_int(f->path, "SELECT max(CAST(substr(problem_id, 2) AS INTEGER))"
                                      " FROM problems"), n - 1);
    /* Resume: the next problem is not done, the last recorded one is. */
    char name[32];
    int done = 0;
    snprintf(name, sizeof name, "p%lld", (long long)n - 1);
    assert_int_equal(db_problem_done(d, run, "crash", name, &done), DB_OK);
    assert_int_equal(done, 1);
    snprintf(name, sizeof name, "p%lld", (long long)n);
    assert_int_equal(db_problem_done(d, run, "crash", name, &done), DB_OK);
    assert_int_equal(done, 0);
    assert_int_equal(record(d, run, "crash", name, 2, "optimal"), DB_OK);
    db_close(d);
}

/* ---- threads ---------------------------------------------------------------------- */

#define NTHREADS 8
#define PER_THREAD 200

typedef struct {
    db *d;              /* shared handle, or NULL: open path */
    const char *path;
    int64_t run;
    int t;
    int errors;
    db_code first;
    char msg[256];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    db *d = w->d;
    if (!d) {
        db_code c;
        d = db_open(w->path, &c, w->msg, sizeof w->msg);
        if (!d) {
            w->errors = PER_THREAD;
            w->first = c;
            return NULL;
        }
    }
    rec_buf *b = malloc(sizeof *b);
    char ds[16], pid[16];
    snprintf(ds, sizeof ds, "t%d", w->t);
    for (int i = 0; b && i < PER_THREAD; i++) {
        snprintf(pid, sizeof pid, "%d", i);
        db_code c = db_problem_record_add(d, build(b, w->run, ds, pid, 2, "optimal"));
        if (c == DB_OK) {
            int done = 0;
            c = db_problem_done(d, w->run, ds, pid, &done);
            if (c == DB_OK && !done) c = DB_ENOTFOUND;
        }
        if (c != DB_OK && w->errors++ == 0) {
            w->first = c;
            db_errmsg(d, w->msg, sizeof w->msg);
        }
    }
    if (!b) w->errors = PER_THREAD;
    free(b);
    if (!w->d) db_close(d);
    return NULL;
}

static void run_workers(const fixture *f, int shared)
{
    db *d = open_ok(f->path);
    int64_t run;
    assert_int_equal(db_run_create(d, "c", "{}", NULL, &run, NULL), DB_OK);
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){.d = shared ? d : NULL, .path = f->path, .run = run, .t = i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].errors)
            print_error("thread %d: %d errors, first %s: %s\n", i, w[i].errors,
                        db_strerror(w[i].first), w[i].msg);
        assert_int_equal(w[i].errors, 0);
    }
    int64_t n = 0;
    assert_int_equal(db_problems_count(d, run, NULL, &n), DB_OK);
    assert_int_equal(n, NTHREADS * PER_THREAD);
    db_close(d);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM attempts"), NTHREADS * PER_THREAD * 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM llm_calls"),
                     NTHREADS * PER_THREAD * 2);
    char ok[16];
    raw_text(f->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
}

static void test_threads_one_handle(void **state) { run_workers(*state, 1); }

/* Each thread with its own connection: SQLite's locks and the busy timeout
 * serialize them, as they do separate processes. */
static void test_threads_own_handles(void **state) { run_workers(*state, 0); }

int main(void)
{
    memset(big, 'm', sizeof big - 1);
    memcpy(big, "[{\"role\":\"user\",\"content\":\"", 28);
    memcpy(big + sizeof big - 4, "\"}]", 3);
    const char *filter = getenv("DB_TEST_FILTER");
    if (filter && *filter) cmocka_set_test_filter(filter);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_cache_key),
        cmocka_unit_test_setup_teardown(test_create_migrate_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_problem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_problem_done_and_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_shards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_one_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_own_handles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
