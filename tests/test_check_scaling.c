/* Checking grows linearly with the number of names (issue 7, item 6): the
 * checker looked names up with strcmp loops (declarations, duplicate keys,
 * report names), so 100k unknown keys took 20 s and 100k constraints with
 * undeclared names over a minute. Wall time is not asserted; instead the
 * string comparisons of the checker's hash map (fm_strmap_compares) must stay
 * within a constant per name, at two sizes. Also: a chain of 50,000
 * parameters each defined by the one before is ordered without recursion
 * (in a 512 KiB-stack thread). */
#include "tests/support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formulate/formulate.h"
#include "formulate/internal.h"

typedef struct { char *s; size_t n, cap; } sb;

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int l = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(l >= 0 && (size_t)l < sizeof tmp);
    if (b->n + (size_t)l + 1 > b->cap) {
        b->cap = (b->n + (size_t)l + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, tmp, (size_t)l + 1);
    b->n += (size_t)l;
}

/* n variables, n constraints, n unknown keys, n report quantities; with
 * undeclared, every constraint also uses an undeclared name. */
static char *doc(int n, int undeclared)
{
    sb b = { 0 };
    sb_printf(&b, "{\"format\": 1, \"variables\": [");
    for (int k = 0; k < n; k++) sb_printf(&b, "%s{\"name\": \"v%d\", \"upper\": 1}", k ? "," : "", k);
    sb_printf(&b, "], \"objective\": {\"sense\": \"max\", \"expression\": \"v0\"}, \"constraints\": [");
    for (int k = 0; k < n; k++)
        sb_printf(&b, "%s{\"name\": \"c%d\", \"expression\": \"v%d %s<= 1\"}", k ? "," : "", k, k,
                  undeclared ? "+ nowhere " : "");
    sb_printf(&b, "], \"report\": [");
    for (int k = 0; k < n; k++) sb_printf(&b, "%s{\"name\": \"r%d\", \"expression\": \"v%d\"}", k ? "," : "", k, k);
    sb_printf(&b, "]");
    for (int k = 0; k < n; k++) sb_printf(&b, ", \"unknown%d\": %d", k, k);
    sb_printf(&b, "}");
    return b.s;
}

/* String comparisons made while parsing and checking doc(n). */
static unsigned long compares(int n, int undeclared, fm_code want, size_t *errors)
{
    char *j = doc(n, undeclared);
    fm_diags *d = fm_diags_new();
    fm_code code = FM_ENOMEM;
    unsigned long before = fm_strmap_compares();
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    unsigned long used = fm_strmap_compares() - before;
    assert_int_equal(code, want);
    if (errors) *errors = fm_diags_errors(d);
    fm_model_free(m);
    fm_diags_free(d);
    free(j);
    return used;
}

static void test_compares_per_name(void **state)
{
    (void)state;
    unsigned long small = compares(10000, 0, FM_OK, NULL);
    unsigned long big = compares(40000, 0, FM_OK, NULL);
    /* 4 names per unit (variables, constraints, reports, keys) plus lookups:
     * a strcmp loop over the declarations would make billions */
    print_message("string compares: %lu for 10k, %lu for 40k\n", small, big);
    assert_true(small > 0);
    assert_true(big <= 20ul * 4 * 40000);
    assert_true(big <= 5 * small);
}

static void test_undeclared_names(void **state)
{
    (void)state;
    size_t errors = 0;
    unsigned long used = compares(100000, 1, FM_EINVALID, &errors);
    assert_true(errors >= 100000);        /* each is an error, counted past the cap */
    assert_true(used <= 20ul * 4 * 100000);
}

static void test_duplicates_still_found(void **state)
{
    (void)state;
    const char *j = "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"upper\": 1, \"upper\": 2}],"
                    " \"parameters\": [{\"name\": \"x\", \"values\": 1}],"
                    " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"}, \"constraints\": [],"
                    " \"report\": [{\"name\": \"r\", \"expression\": \"x\"}, {\"name\": \"r\", \"expression\": \"x\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code = FM_OK;
    fm_model *m = fm_model_parse(j, strlen(j), NULL, d, &code);
    assert_int_equal(code, FM_EINVALID);
    int key = 0, name = 0, report = 0;
    for (size_t i = 0; i < fm_diags_count(d); i++) {
        const char *msg = fm_diags_get(d, i)->message;
        if (strstr(msg, "duplicate key \"upper\"")) key = 1;
        if (strstr(msg, "duplicate name 'x'")) name = 1;
        if (strstr(msg, "duplicate report name 'r'")) report = 1;
    }
    assert_true(key && name && report);
    fm_model_free(m);
    fm_diags_free(d);
}

typedef struct { char *json; fm_code code; double bound; } chain_job;

static void *run_chain(void *arg)
{
    chain_job *c = arg;
    fm_diags *d = fm_diags_new();
    fm_model *m = fm_model_parse(c->json, strlen(c->json), NULL, d, &c->code);
    if (c->code == FM_OK) {
        double lo;
        fm_program_row_bounds(fm_model_program(m), 0, &lo, &c->bound);
    }
    fm_model_free(m);
    fm_diags_free(d);
    return NULL;
}

static void test_parameter_chain(void **state)
{
    (void)state;
    const int n = 50000;
    sb b = { 0 };
    /* declared last-first, so ordering must follow the whole chain */
    sb_printf(&b, "{\"format\": 1, \"parameters\": [");
    for (int k = n - 1; k >= 1; k--) sb_printf(&b, "{\"name\": \"p%d\", \"expression\": \"p%d + 1\"},", k, k - 1);
    sb_printf(&b, "{\"name\": \"p0\", \"values\": 0}], \"variables\": [{\"name\": \"x\"}],"
                  " \"objective\": {\"sense\": \"max\", \"expression\": \"x\"},"
                  " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= p%d\"}]}", n - 1);
    chain_job c = { b.s, FM_ENOMEM, 0 };
    pthread_attr_t attr;
    pthread_t t;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 512u * 1024u), 0);
    assert_int_equal(pthread_create(&t, &attr, run_chain, &c), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    assert_int_equal(c.code, FM_OK);
    assert_true(c.bound == n - 1);
    free(b.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compares_per_name),
        cmocka_unit_test(test_undeclared_names),
        cmocka_unit_test(test_duplicates_still_found),
        cmocka_unit_test(test_parameter_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
