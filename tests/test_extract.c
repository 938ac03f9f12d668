/* tests/test_extract — agent/extract on a corpus of LLM replies.
 *
 * tests/corpus/replies/NN_name.txt is a reply as a chat model writes it;
 * NN_name.expect says what must come out of it:
 *   line 1      ok | none | truncated | not_formulation | invalid_json
 *   ok:         "repaired 0|1", and "name <value of the name key>" and/or
 *               "constraints <count>" (proves the right object was taken)
 *   failures:   any number of "why <substring of the why line>"
 * Blank lines and lines starting with '#' are skipped.
 *
 * Besides one test per reply: the corpus size, a 5 MB reply, 1000 nested
 * braces, the candidate caps, NULL/short why buffers, the repairs that are
 * NOT made, the returned text after repairs, and a random-input soak.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agent/core/core.h"
#include "tests/support.h"

#define MIN_REPLY_FILES 25

static char *g_dir;

/* ---- helpers ----------------------------------------------------------------- */

static const char *code_name(ag_extract_code c)
{
    switch (c) {
    case AG_EXTRACT_OK: return "ok";
    case AG_EXTRACT_NONE: return "none";
    case AG_EXTRACT_TRUNCATED: return "truncated";
    case AG_EXTRACT_NOT_FORMULATION: return "not_formulation";
    case AG_EXTRACT_INVALID_JSON: return "invalid_json";
    }
    return "?";
}

/* A growing buffer for building replies. */
typedef struct { char *s; size_t len, cap; } buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > nc) nc *= 2;
        char *ns = realloc(b->s, nc);
        assert_non_null(ns);
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_fmt(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    buf_add(b, tmp, (size_t)n);
}

static const char *FORMULATION =
    "{\"format\": 1, \"name\": \"%s\", \"variables\": [{\"name\": \"x\"}], "
    "\"objective\": {\"sense\": \"maximize\", \"expression\": \"sum{i in {1,2}} x\"}, "
    "\"constraints\": [{\"expression\": \"x <= 3\"}]}";

static void add_formulation(buf_t *b, const char *name)
{
    buf_fmt(b, FORMULATION, name);
}

/* Runs the extractor and checks the invariants of every result: on OK a
 * JSON text that cJSON parses and no why; on failure no JSON and a
 * non-empty single-line why. Returns the code; *name_out gets the "name". */
static ag_extract_code run(const char *reply, size_t len, int *repaired, char *name_out,
                           size_t name_len, char *why, size_t whylen)
{
    char *json = (char *)0x1;
    int rep = -1;
    ag_extract_code c = ag_extract_formulation(reply, len, &json, &rep, why, whylen);
    if (repaired) *repaired = rep;
    if (name_out && name_len) name_out[0] = 0;
    if (c == AG_EXTRACT_OK) {
        assert_non_null(json);
        assert_true(rep == 0 || rep == 1);
        cJSON *root = cJSON_Parse(json);
        if (!root) fail_msg("the returned JSON does not parse:\n%.400s", json);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(root, "variables"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(root, "objective"));
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(root, "name");
        if (name_out && name_len && cJSON_IsString(nm))
            snprintf(name_out, name_len, "%s", nm->valuestring);
        cJSON_Delete(root);
        if (why && whylen) assert_string_equal(why, "");
        free(json);
    } else {
        assert_null(json);
        assert_int_equal(rep, 0);
        if (why && whylen) {
            assert_true(why[0] != 0);
            assert_null(strchr(why, '\n'));
            assert_null(strchr(why, '\r'));
        }
    }
    return c;
}

/* ---- one test per reply file ------------------------------------------------------ */

static void test_reply_file(void **state)
{
    const ts_case *tc = *state;
    size_t len = 0, elen = 0;
    char *reply = ts_read_file(tc->path, &len);
    if (!reply) fail_msg("cannot read %s", tc->path);
    char *exp = ts_read_file(tc->expect_path, &elen);
    if (!exp) {
        free(reply);
        fail_msg("cannot read %s", tc->expect_path);
    }

    char why[512];
    char name[256];
    int repaired = -1;
    char *json = NULL;
    ag_extract_code c = ag_extract_formulation(reply, len, &json, &repaired, why, sizeof why);
    int nconstraints = -1;
    name[0] = 0;
    if (json) {
        cJSON *root = cJSON_Parse(json);
        if (root) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(root, "name");
            if (cJSON_IsString(nm)) snprintf(name, sizeof name, "%s", nm->valuestring);
            const cJSON *cs = cJSON_GetObjectItemCaseSensitive(root, "constraints");
            if (cJSON_IsArray(cs)) nconstraints = cJSON_GetArraySize(cs);
            cJSON_Delete(root);
        } else {
            nconstraints = -2;
        }
    }

    ts_str msg = {0};
    int first = 1;
    char *save = NULL;
    for (char *line = strtok_r(exp, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = 0;
        if (ll == 0 || line[0] == '#') continue;
        if (first) {
            first = 0;
            if (strcmp(line, code_name(c)))
                ts_str_printf(&msg, "%s: expected %s, got %s (why: %s)\n", tc->path, line,
                              code_name(c), why);
            if (c == AG_EXTRACT_OK) {
                if (!json) ts_str_printf(&msg, "%s: OK without JSON\n", tc->path);
                if (nconstraints == -2)
                    ts_str_printf(&msg, "%s: returned JSON does not parse\n", tc->path);
                if (why[0]) ts_str_printf(&msg, "%s: why set on success: %s\n", tc->path, why);
            } else {
                if (json) ts_str_printf(&msg, "%s: JSON returned on failure\n", tc->path);
                if (!why[0] || strchr(why, '\n'))
                    ts_str_printf(&msg, "%s: why empty or not one line: [%s]\n", tc->path, why);
            }
        } else if (!strncmp(line, "repaired ", 9)) {
            if (atoi(line + 9) != repaired)
                ts_str_printf(&msg, "%s: expected %s, got repaired %d\n", tc->path, line, repaired);
        } else if (!strncmp(line, "name ", 5)) {
            if (strcmp(line + 5, name))
                ts_str_printf(&msg, "%s: expected name \"%s\", got \"%s\"\n", tc->path,
                              line + 5, name);
        } else if (!strncmp(line, "constraints ", 12)) {
            if (atoi(line + 12) != nconstraints)
                ts_str_printf(&msg, "%s: expected %s, got %d\n", tc->path, line, nconstraints);
        } else if (!strncmp(line, "why ", 4)) {
            if (!strstr(why, line + 4))
                ts_str_printf(&msg, "%s: why lacks \"%s\": %s\n", tc->path, line + 4, why);
        } else {
            ts_str_printf(&msg, "%s: bad .expect line: %s\n", tc->path, line);
        }
    }
    if (first) ts_str_printf(&msg, "%s: empty .expect file\n", tc->expect_path);
    free(json);
    free(reply);
    free(exp);
    if (msg.len) {
        ts_print_long(msg.s);
        ts_str_free(&msg);
        fail();
    }
}

static void test_corpus_size(void **state)
{
    (void)state;
    size_t n = 0, ne = 0;
    char **files = ts_list_files(g_dir, ".txt", &n);
    ts_free_list(files, n);
    char **exps = ts_list_files(g_dir, ".expect", &ne);
    ts_free_list(exps, ne);
    if (n < MIN_REPLY_FILES)
        fail_msg("%s holds %zu .txt replies; at least %d expected", g_dir, n, MIN_REPLY_FILES);
    if (ne != n) fail_msg("%s: %zu .txt files but %zu .expect files", g_dir, n, ne);
}

/* ---- limits ---------------------------------------------------------------------- */

static void test_reply_too_large(void **state)
{
    (void)state;
    size_t big = 5u * 1024 * 1024;
    char *reply = malloc(big + 1);
    assert_non_null(reply);
    memset(reply, ' ', big);
    buf_t f = {0};
    add_formulation(&f, "in_a_5mb_reply");
    memcpy(reply, f.s, f.len);  /* a valid formulation at the very start */
    reply[big] = 0;
    char why[200];
    assert_int_equal(run(reply, big, NULL, NULL, 0, why, sizeof why), AG_EXTRACT_NONE);
    assert_non_null(strstr(why, "reply too large"));
    /* 4 MiB exactly is accepted */
    size_t limit = 4u * 1024 * 1024;
    memcpy(reply + limit - f.len, f.s, f.len);
    memset(reply, ' ', f.len);
    char name[64];
    assert_int_equal(run(reply, limit, NULL, name, sizeof name, why, sizeof why), AG_EXTRACT_OK);
    assert_string_equal(name, "in_a_5mb_reply");
    assert_int_equal(run(reply, limit + 1, NULL, NULL, 0, why, sizeof why), AG_EXTRACT_NONE);
    free(f.s);
    free(reply);
}

static void test_nested_braces_in_prose(void **state)
{
    (void)state;
    char why[300], name[64];
    /* 1000 balanced nested braces in prose, then the formulation */
    buf_t b = {0};
    buf_str(&b, "Consider the nesting ");
    for (int i = 0; i < 1000; i++) buf_str(&b, "{");
    buf_str(&b, "deep");
    for (int i = 0; i < 1000; i++) buf_str(&b, "}");
    buf_str(&b, " which is silly. The model:\n");
    add_formulation(&b, "after_1000_nested");
    buf_str(&b, "\n");
    assert_int_equal(run(b.s, b.len, NULL, name, sizeof name, why, sizeof why), AG_EXTRACT_OK);
    assert_string_equal(name, "after_1000_nested");
    free(b.s);

    /* 1000 braces that never close, before the formulation */
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 1000; i++) buf_str(&b, "{ ");
    add_formulation(&b, "inside_1000_open");
    assert_int_equal(run(b.s, b.len, NULL, name, sizeof name, why, sizeof why), AG_EXTRACT_OK);
    assert_string_equal(name, "inside_1000_open");
    free(b.s);

    /* 200000 open braces and nothing else: no JSON object */
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 200000; i++) buf_str(&b, "{");
    assert_int_equal(run(b.s, b.len, NULL, NULL, 0, why, sizeof why), AG_EXTRACT_NONE);
    free(b.s);

    /* a formulation nested 1000 deep inside a member: beyond cJSON's
     * nesting limit, so it does not parse (and nothing recurses) */
    memset(&b, 0, sizeof b);
    buf_str(&b, "{\"variables\": [], \"objective\": {}, \"deep\": ");
    for (int i = 0; i < 1000; i++) buf_str(&b, "[");
    for (int i = 0; i < 1000; i++) buf_str(&b, "]");
    buf_str(&b, "}");
    assert_int_equal(run(b.s, b.len, NULL, NULL, 0, why, sizeof why), AG_EXTRACT_INVALID_JSON);
    free(b.s);
}

/* Objects that cannot be formulations (no "variables"/"objective") are not
 * candidates: 100 of them before the formulation do not hide it. */
static void test_many_objects_before(void **state)
{
    (void)state;
    char why[300], name[64];
    buf_t b = {0};
    buf_str(&b, "The rows of the table:\n");
    for (int i = 0; i < 100; i++) buf_fmt(&b, "- {\"row\": %d, \"value\": %d}\n", i, i * i);
    buf_str(&b, "And the model:\n");
    add_formulation(&b, "after_100_rows");
    assert_int_equal(run(b.s, b.len, NULL, name, sizeof name, why, sizeof why), AG_EXTRACT_OK);
    assert_string_equal(name, "after_100_rows");
    free(b.s);

    /* same in fenced blocks */
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 100; i++) buf_fmt(&b, "Row %d:\n```json\n{\"row\": %d}\n```\n", i, i);
    buf_str(&b, "```json\n");
    add_formulation(&b, "after_100_fences");
    buf_str(&b, "\n```\n");
    assert_int_equal(run(b.s, b.len, NULL, name, sizeof name, why, sizeof why), AG_EXTRACT_OK);
    assert_string_equal(name, "after_100_fences");
    free(b.s);

    /* only non-formulations: the first one's keys are named */
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 100; i++) buf_fmt(&b, "{\"row\": %d} ", i);
    assert_int_equal(run(b.s, b.len, NULL, NULL, 0, why, sizeof why),
                     AG_EXTRACT_NOT_FORMULATION);
    assert_non_null(strstr(why, "\"row\""));
    free(b.s);
}

/* At most 64 candidates that mention "variables"/"objective" are parsed:
 * 64 broken ones before the formulation hide it; 63 do not. */
static void test_candidate_cap(void **state)
{
    (void)state;
    char why[400], name[64];
    for (int nbroken = 63; nbroken <= 70; nbroken += 7) {
        buf_t b = {0};
        for (int i = 0; i < nbroken; i++)
            buf_fmt(&b, "Attempt %d: {\"variables\": [x%d], \"objective\": 0}\n", i, i);
        add_formulation(&b, "after_broken");
        ag_extract_code c = run(b.s, b.len, NULL, name, sizeof name, why, sizeof why);
        if (nbroken < 64) {
            assert_int_equal(c, AG_EXTRACT_OK);
            assert_string_equal(name, "after_broken");
        } else {
            assert_int_equal(c, AG_EXTRACT_INVALID_JSON);
            assert_non_null(strstr(why, "gave up after 64 candidate"));
            assert_non_null(strstr(why, "reply line 1"));
        }
        free(b.s);
    }
}

/* ---- API details -------------------------------------------------------------------- */

static void test_why_null_safety(void **state)
{
    (void)state;
    const char *none = "no json here";
    const char *ok = "{\"variables\": [], \"objective\": {}}";
    char *json = NULL;
    /* why NULL, repaired NULL */
    assert_int_equal(ag_extract_formulation(none, strlen(none), &json, NULL, NULL, 0),
                     AG_EXTRACT_NONE);
    assert_null(json);
    assert_int_equal(ag_extract_formulation(ok, strlen(ok), &json, NULL, NULL, 0),
                     AG_EXTRACT_OK);
    assert_non_null(json);
    free(json);
    json = NULL;
    /* why non-NULL with size 0: untouched */
    char why[16];
    memcpy(why, "untouched", 10);
    assert_int_equal(ag_extract_formulation(none, strlen(none), &json, NULL, why, 0),
                     AG_EXTRACT_NONE);
    assert_string_equal(why, "untouched");
    /* size 1: empty string; size 16: cut and terminated */
    memset(why, 'x', sizeof why);
    assert_int_equal(ag_extract_formulation(none, strlen(none), &json, NULL, why, 1),
                     AG_EXTRACT_NONE);
    assert_int_equal(why[0], 0);
    assert_int_equal(why[1], 'x');
    memset(why, 'x', sizeof why);
    assert_int_equal(ag_extract_formulation(none, strlen(none), &json, NULL, why, sizeof why),
                     AG_EXTRACT_NONE);
    assert_int_equal(strlen(why), sizeof why - 1);
    /* NULL reply; zero length; json NULL */
    assert_int_equal(ag_extract_formulation(NULL, 0, &json, NULL, why, sizeof why),
                     AG_EXTRACT_NONE);
    assert_null(json);
    assert_int_equal(ag_extract_formulation(ok, 0, &json, NULL, why, sizeof why),
                     AG_EXTRACT_NONE);
    assert_int_equal(ag_extract_formulation(ok, strlen(ok), NULL, NULL, why, sizeof why),
                     AG_EXTRACT_OK);
    /* a reply that is not NUL-terminated: only len bytes are read */
    char *exact = malloc(strlen(ok));
    assert_non_null(exact);
    memcpy(exact, ok, strlen(ok));
    assert_int_equal(ag_extract_formulation(exact, strlen(ok), &json, NULL, why, sizeof why),
                     AG_EXTRACT_OK);
    free(json);
    json = NULL;
    assert_int_equal(ag_extract_formulation(exact, strlen(ok) - 1, &json, NULL, why, sizeof why),
                     AG_EXTRACT_TRUNCATED);
    free(exact);
}

static void test_strerror(void **state)
{
    (void)state;
    ag_extract_code all[] = {AG_EXTRACT_OK, AG_EXTRACT_NONE, AG_EXTRACT_TRUNCATED,
                             AG_EXTRACT_NOT_FORMULATION, AG_EXTRACT_INVALID_JSON};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *s = ag_extract_strerror(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 5);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, ag_extract_strerror(all[j]));
    }
    assert_non_null(ag_extract_strerror((ag_extract_code)99));
}

/* Only comments and trailing commas are repaired. */
static void test_no_other_repairs(void **state)
{
    (void)state;
    const char *bad[] = {
        "{'variables': [], 'objective': {}}",                      /* single quotes */
        "{variables: [], objective: {}}",                          /* unquoted keys */
        "{\"variables\": [], \"objective\": {}, \"b\": True}",     /* Python literal */
        "{\"variables\": [], \"objective\": {}, \"u\": NaN}",      /* NaN */
        "{\"variables\": [] \"objective\": {}}",                   /* missing comma */
        "{\"variables\": [], \"objective\": {}, # note\n}",        /* # comment */
        "{\"variables\": [,], \"objective\": {}}",                 /* lone comma */
    };
    const char *hint[] = {"double quotes", "double quotes", "Python literal",
                          "not a JSON number", "missing comma", "'#'", "line 1"};
    char why[300];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ag_extract_code c = run(bad[i], strlen(bad[i]), NULL, NULL, 0, why, sizeof why);
        if (c != AG_EXTRACT_INVALID_JSON)
            fail_msg("%s: expected invalid_json, got %s", bad[i], code_name(c));
        if (!strstr(why, hint[i])) fail_msg("%s: why lacks \"%s\": %s", bad[i], hint[i], why);
    }
}

/* The text returned after repairs: comments and trailing commas gone,
 * strings untouched (// in a URL, a comma before } inside a string), lines
 * left empty dropped, CRLF kept. */
static void test_repaired_text(void **state)
{
    (void)state;
    const char *reply =
        "```json\r\n"
        "{\r\n"
        "  // the model\r\n"
        "  \"name\": \"see http://x.org/a,}\", /* inline */\r\n"
        "  /* a block\r\n"
        "     over two lines */\r\n"
        "  \"variables\": [1, 2,],\r\n"
        "  \"objective\": {\"s\": \"// not a comment\",}, // trailing\r\n"
        "}\r\n"
        "```\r\n";
    char *json = NULL;
    int rep = 0;
    char why[200];
    assert_int_equal(ag_extract_formulation(reply, strlen(reply), &json, &rep, why, sizeof why),
                     AG_EXTRACT_OK);
    assert_int_equal(rep, 1);
    assert_string_equal(json,
                        "{\r\n"
                        "  \"name\": \"see http://x.org/a,}\",\r\n"
                        "  \"variables\": [1, 2],\r\n"
                        "  \"objective\": {\"s\": \"// not a comment\"}\r\n"
                        "}");
    free(json);

    /* a candidate that parses as is is returned byte for byte, repaired 0 */
    const char *plain = "Model: {\"variables\": [], \"objective\": {\"e\": \"a,}\"}} done";
    rep = 1;
    assert_int_equal(ag_extract_formulation(plain, strlen(plain), &json, &rep, why, sizeof why),
                     AG_EXTRACT_OK);
    assert_int_equal(rep, 0);
    assert_string_equal(json, "{\"variables\": [], \"objective\": {\"e\": \"a,}\"}}");
    free(json);
}

/* The reported position is within the candidate, with an excerpt. */
static void test_invalid_position(void **state)
{
    (void)state;
    const char *reply =
        "Intro line\n"
        "\n"
        "{\n"
        "  \"variables\": [],\n"
        "  \"objective\": {\"sense\": 'max'}\n"
        "}\n";
    char why[300];
    assert_int_equal(run(reply, strlen(reply), NULL, NULL, 0, why, sizeof why),
                     AG_EXTRACT_INVALID_JSON);
    assert_non_null(strstr(why, "reply line 3"));
    assert_non_null(strstr(why, "line 3, column 26 of the object"));
    assert_non_null(strstr(why, "'max'"));
    assert_non_null(strstr(why, "double quotes"));
}

/* Truncation wins over the complete inner objects of the cut-off one. */
static void test_truncated_detail(void **state)
{
    (void)state;
    const char *reply =
        "Here:\n{\"name\": \"t\", \"sets\": [{\"name\": \"P\", \"elements\": [\"a\"]}], "
        "\"variables\": [{\"name\": \"x\"}, {\"name\"";
    char why[300];
    assert_int_equal(run(reply, strlen(reply), NULL, NULL, 0, why, sizeof why),
                     AG_EXTRACT_TRUNCATED);
    assert_non_null(strstr(why, "finish_reason length"));
    assert_non_null(strstr(why, "line 2"));
    assert_non_null(strstr(why, "2 braces still open"));

    /* an unbalanced '{' in the last prose sentence is not a truncation */
    const char *prose = "Use {\"a\": 1} as data; the set {x is open";
    assert_int_equal(run(prose, strlen(prose), NULL, NULL, 0, why, sizeof why),
                     AG_EXTRACT_NOT_FORMULATION);
}

/* Random replies built from the characters that matter: nothing crashes,
 * leaks or breaks the invariants (the sanitizer build checks memory). */
static void test_random_soak(void **state)
{
    (void)state;
    static const char *pieces[] = {
        "{", "}", "[", "]", "\"", "\\", "'", ",", ":", "\n", "\r\n", " ", "//", "/*", "*/",
        "```", "```json\n", "~~~\n", "\n```\n", "<think>", "</think>", "\"variables\"",
        "\"objective\"", "variables:", "1", "true", "x", "\xEF\xBB\xBF", "\xC3\xA9", "\xE2",
        "{\"variables\": [], \"objective\": {}}", "...", "#", "{\"a\": 1}",
    };
    const size_t np = sizeof pieces / sizeof pieces[0];
    uint32_t seed = 12345;
    char why[256];
    for (int iter = 0; iter < 3000; iter++) {
        buf_t b = {0};
        seed = seed * 1103515245u + 12345u;
        int n = (int)(seed >> 16) % 60;
        for (int k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            buf_str(&b, pieces[(seed >> 16) % np]);
        }
        if (!b.s) buf_str(&b, "");
        run(b.s, b.len, NULL, NULL, 0, why, sizeof why);
        free(b.s);
    }
}

/* ag_extract_object: the first object holding a key, fenced or in prose,
 * nested or not; what is found instead otherwise. */
static void test_extract_object(void **state)
{
    (void)state;
    struct { const char *reply; ag_extract_code code; const char *first; } cases[] = {
        { "```json\n{\"applicable\": [12, 7]}\n```", AG_EXTRACT_OK, "12" },
        { "Both apply: {\"applicable\": [3]} as said.", AG_EXTRACT_OK, "3" },
        { "{\"answer\": {\"applicable\": [5]}}", AG_EXTRACT_OK, "5" },
        { "{\"draft\": 1} then {\"applicable\": []}", AG_EXTRACT_OK, NULL },
        { "{\"other\": [1]}", AG_EXTRACT_NOT_FORMULATION, NULL },
        { "{\"applicable\": [1, }", AG_EXTRACT_INVALID_JSON, NULL },
        { "I think both apply.", AG_EXTRACT_NONE, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *o = NULL;
        char why[200];
        ag_extract_code c = ag_extract_object(cases[i].reply, strlen(cases[i].reply), "applicable",
                                              &o, why, sizeof why);
        assert_int_equal(c, cases[i].code);
        if (c != AG_EXTRACT_OK) {
            assert_null(o);
            assert_true(why[0] != 0);
            continue;
        }
        const cJSON *list = cJSON_GetObjectItem(o, "applicable");
        assert_true(cJSON_IsArray(list));
        if (cases[i].first) assert_int_equal(cJSON_GetArrayItem(list, 0)->valueint, atoi(cases[i].first));
        else assert_int_equal(cJSON_GetArraySize(list), 0);
        cJSON_Delete(o);
    }
}

int main(void)
{
    g_dir = ts_corpus_dir("replies");
    if (!g_dir) return 1;
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_corpus_size),
        cmocka_unit_test(test_reply_too_large),
        cmocka_unit_test(test_nested_braces_in_prose),
        cmocka_unit_test(test_many_objects_before),
        cmocka_unit_test(test_candidate_cap),
        cmocka_unit_test(test_why_null_safety),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_no_other_repairs),
        cmocka_unit_test(test_repaired_text),
        cmocka_unit_test(test_invalid_position),
        cmocka_unit_test(test_truncated_detail),
        cmocka_unit_test(test_random_soak),
        cmocka_unit_test(test_extract_object),
    };
    int failed = ts_run_file_tests("extract", g_dir, ".txt", test_reply_file, fixed,
                                   sizeof fixed / sizeof fixed[0]);
    free(g_dir);
    return failed ? 1 : 0;
}
