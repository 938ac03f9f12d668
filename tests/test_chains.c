/* Long flat operator chains (issue 7, item 1): "x+x+...+x" with 15,000 and
 * 100,000 terms, "-", "*" with constants, mixed operators and long "and"
 * chains are parsed, checked, compiled, exported to MathProg, solved and
 * freed inside a thread with a 512 KiB stack. Before the parser built n-ary
 * N_FOLD nodes every walker recursed once per term and these overflowed the
 * stack (SIGSEGV). Also: an expression just at and just over the 256 KiB
 * expression limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "formulate/formulate.h"
#include "solver/solver.h"

#define SMALL_STACK (512u * 1024u)

/* A growing string for building expressions. */
typedef struct { char *s; size_t n, cap; } sb;

static void sb_add(sb *b, const char *t)
{
    size_t l = strlen(t);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, t, l + 1);
    b->n += l;
}

typedef struct {
    const char *json;
    double objective;   /* out */
    int status;         /* out: 0 optimal; else a failure step */
    char why[512];
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    fm_diags *d = fm_diags_new();
    fm_code code = FM_ENOMEM;
    fm_model *m = fm_model_parse(j->json, strlen(j->json), NULL, d, &code);
    if (code != FM_OK || !fm_model_program(m)) {
        j->status = 1;
        snprintf(j->why, sizeof j->why, "parse: %s: %s", fm_strerror(code),
                 fm_diags_count(d) ? fm_diags_get(d, 0)->message : "");
        goto out;
    }
    FILE *f = tmpfile();
    if (!f || fm_model_write_mathprog(m, f) != FM_OK || ftell(f) < 1000) {
        j->status = 2;
        snprintf(j->why, sizeof j->why, "MathProg export failed");
        if (f) fclose(f);
        goto out;
    }
    fclose(f);
    sv_options o;
    sv_options_default(&o);
    sv_code sc = SV_ENOMEM;
    sv_result *r = sv_solve(fm_model_program(m), &o, d, &sc);
    if (!r || sv_result_status(r) != SV_STATUS_OPTIMAL) {
        j->status = 3;
        snprintf(j->why, sizeof j->why, "solve: %s", r ? sv_result_message(r) : "no result");
    } else {
        j->objective = sv_result_objective(r);
    }
    sv_result_free(r);
out:
    fm_model_free(m);
    fm_diags_free(d);
    return NULL;
}

/* Runs the formulation in a 512 KiB-stack thread; returns its objective. */
static double solve_small_stack(const char *json)
{
    job j = { .json = json };
    pthread_attr_t attr;
    pthread_t t;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
    assert_int_equal(pthread_create(&t, &attr, run_job, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    if (j.status) fail_msg("%s", j.why);
    return j.objective;
}

/* maximize OBJ subject to CON <= 1e6, 0 <= x <= 10. */
static char *model(const char *obj, const char *con)
{
    sb b = { 0 };
    sb_add(&b, "{\"format\": 1, \"name\": \"chain\","
               " \"variables\": [{\"name\": \"x\", \"upper\": 10}],"
               " \"objective\": {\"sense\": \"maximize\", \"expression\": \"");
    sb_add(&b, obj);
    sb_add(&b, "\"}, \"constraints\": [{\"name\": \"c\", \"expression\": \"");
    sb_add(&b, con);
    sb_add(&b, " <= 1000000\"}]}");
    return b.s;
}

/* x op t op t ... with n terms in all. */
static char *chain(const char *first, const char *op_term, int n)
{
    sb b = { 0 };
    sb_add(&b, first);
    for (int i = 1; i < n; i++) sb_add(&b, op_term);
    return b.s;
}

/* With coefficient k: x = min(10, 1e6 / k), objective k * x. */
static double expected(double k) { return k * fmin(10, 1e6 / k); }

static void check_sum(int n)
{
    char *e = chain("x", "+x", n);
    char *m = model(e, e);
    assert_true(fabs(solve_small_stack(m) - expected(n)) < 1e-6 * expected(n));
    free(m); free(e);
}

static void test_sum_15000(void **state) { (void)state; check_sum(15000); }
static void test_sum_100000(void **state) { (void)state; check_sum(100000); }

static void test_minus_chain(void **state)
{
    (void)state;
    /* 300000 x - x - ... (100000 terms): coefficient 300000 - 99999 */
    char *e = chain("300000*x", "-x", 100000);
    char *m = model(e, e);
    double k = 300000.0 - 99999.0;
    assert_true(fabs(solve_small_stack(m) - expected(k)) < 1e-6 * expected(k));
    free(m); free(e);
}

static void test_product_chain(void **state)
{
    (void)state;
    /* 3 * x * 1 * 1 ... and 3 * x / 1 / 1 ...: coefficient 3 */
    char *e = chain("3*x", "*1", 100000);
    char *f = chain("3*x", "/1", 50000);
    char *m = model(e, f);
    assert_true(fabs(solve_small_stack(m) - 30) < 1e-9);
    free(m); free(e); free(f);
}

static void test_mixed_chain(void **state)
{
    (void)state;
    /* each "+x-x+x*2/2" adds x: 1 + 20000 */
    char *e = chain("x", "+x-x+x*2/2", 20001);
    char *m = model(e, e);
    assert_true(fabs(solve_small_stack(m) - expected(20001)) < 1e-6 * expected(20001));
    free(m); free(e);
}

static void test_logical_chain(void **state)
{
    (void)state;
    /* if 1 < 2 and ... and 1 < 2 then 5 * x: an "and" chain of 15000 */
    char *a = chain("if 1 < 2", " and 1 < 2", 15000);
    sb b = { 0 };
    sb_add(&b, a);
    sb_add(&b, " then 5*x else 0");
    char *o = chain("if 2 < 1", " or 2 < 1", 15000);
    sb c = { 0 };
    sb_add(&c, o);
    sb_add(&c, " then 0 else x");
    char *m = model(b.s, c.s);
    assert_true(fabs(solve_small_stack(m) - 50) < 1e-9);
    free(m); free(a); free(o); free(b.s); free(c.s);
}

/* Exactly max_expr_bytes (256 KiB) is accepted; one byte more is a limit. */
static void test_expression_size_limit(void **state)
{
    (void)state;
    fm_limits lim;
    fm_limits_default(&lim);
    size_t n = (lim.max_expr_bytes - 2) / 2;     /* "x" + n * "+x" + pad */
    char *e = chain("x", "+x", (int)n + 1);
    size_t len = strlen(e);
    assert_true(len < lim.max_expr_bytes);
    sb at = { 0 };
    sb_add(&at, e);
    while (at.n < lim.max_expr_bytes) sb_add(&at, " ");
    assert_int_equal(at.n, lim.max_expr_bytes);
    char *m = model(at.s, "x");
    double want = 10.0 * (double)(n + 1);
    assert_true(fabs(solve_small_stack(m) - want) < 1e-6 * want);
    free(m);

    sb_add(&at, " ");                             /* one byte over */
    m = model(at.s, "x");
    fm_diags *d = fm_diags_new();
    fm_code code = FM_OK;
    fm_model *mod = fm_model_parse(m, strlen(m), NULL, d, &code);
    assert_int_equal(code, FM_ELIMIT);
    assert_null(fm_model_program(mod));
    int found = 0;
    for (size_t i = 0; i < fm_diags_count(d); i++) {
        const fm_diag *g = fm_diags_get(d, i);
        if (strstr(g->element, "objective") && strstr(g->message, "over the limit of 262144"))
            found = 1;
    }
    assert_true(found);
    fm_model_free(mod);
    fm_diags_free(d);
    free(m); free(at.s); free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_15000),
        cmocka_unit_test(test_sum_100000),
        cmocka_unit_test(test_minus_chain),
        cmocka_unit_test(test_product_chain),
        cmocka_unit_test(test_mixed_chain),
        cmocka_unit_test(test_logical_chain),
        cmocka_unit_test(test_expression_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
