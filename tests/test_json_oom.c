/* Out of memory while reading the JSON is reported as out of memory, not as
 * a JSON syntax error (issue 7, item 7): cJSON reports a failed allocation as
 * a parse failure, and a 62 MB formulation under a memory cap read as
 * "json syntax error". Two ways: an injected cJSON budget
 * (fm_test_json_budget), and a forked child under setrlimit(RLIMIT_AS)
 * (skipped under AddressSanitizer, which needs its own address space). */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formulate/formulate.h"
#include "formulate/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A valid formulation of about mb megabytes: one set with many elements. */
static char *big_doc(size_t mb, size_t *len)
{
    size_t cap = mb * 1024 * 1024 + 4096, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n, "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [0");
    for (long k = 1; n + 64 < cap - 512; k++) n += (size_t)snprintf(s + n, cap - n, ",%ld", k);
    n += (size_t)snprintf(s + n, cap - n, "]}], \"variables\": [{\"name\": \"x\", \"index\": [\"S\"], \"upper\": 1}],"
                          " \"objective\": {\"sense\": \"max\", \"expression\": \"x[0]\"}, \"constraints\": []}");
    *len = n;
    return s;
}

static int has_message(const fm_diags *d, const char *what)
{
    for (size_t i = 0; i < fm_diags_count(d); i++)
        if (strstr(fm_diags_get(d, i)->message, what)) return 1;
    return 0;
}

static void test_injected_budget(void **state)
{
    (void)state;
    size_t len;
    char *s = big_doc(1, &len);
    fm_diags *d = fm_diags_new();
    fm_code code = FM_OK;
    fm_test_json_budget(64 * 1024);
    fm_model *m = fm_model_parse(s, len, NULL, d, &code);
    fm_test_json_budget(0);
    assert_int_equal(code, FM_ENOMEM);
    assert_true(has_message(d, "out of memory while reading the JSON text"));
    assert_false(has_message(d, "syntax error"));
    fm_model_free(m);
    fm_diags_free(d);

    /* the default budget reads the same document */
    d = fm_diags_new();
    m = fm_model_parse(s, len, NULL, d, &code);
    assert_int_equal(code, FM_OK);
    fm_model_free(m);
    fm_diags_free(d);
    free(s);
}

/* In a child limited to 200 MB of address space, a 24 MB formulation (about
 * 400 MB as a cJSON tree) fails as out of memory. */
static void test_rlimit_as(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    skip();
#else
    size_t len;
    char *s = big_doc(24, &len);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = { 200u << 20, 200u << 20 };
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(10);
        fm_diags *d = fm_diags_new();
        fm_code code = FM_OK;
        fm_model *m = fm_model_parse(s, len, NULL, d, &code);
        int rc = code == FM_ENOMEM && has_message(d, "out of memory") && !has_message(d, "syntax error")
                 ? 0 : code == FM_EJSON ? 11 : 12;
        fm_model_free(m);
        fm_diags_free(d);
        _exit(rc);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    free(s);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_injected_budget),
        cmocka_unit_test(test_rlimit_as),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
