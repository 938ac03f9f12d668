/* Convexity detection (sv_nlp_convex, solver/convex.c): models the rules
 * prove convex (sums of convex terms minimised, concave maximised, convex
 * <= rows, concave >= rows, norms, squares, exp, -log, products >= c) and
 * models they must not call convex (wrong direction, wrong side, equality
 * with a nonlinear body, products of variables, odd powers of free terms,
 * step functions). */
#include "tests/support.h"

#include <stdio.h>
#include <string.h>

#include "solver/internal.h"

/* The convexity verdict of a model over x, y (x, y >= lo) with the
 * objective "sense: obj" and one row (or none). */
static int verdict(const char *sense, const char *obj, const char *row, const char *lo)
{
    char json[20000];
    snprintf(json, sizeof json,
             "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"lower\": %s},"
             " {\"name\": \"y\", \"lower\": %s}],"
             " \"objective\": {\"sense\": \"%s\", \"expression\": \"%s\"},"
             " \"constraints\": [{\"name\": \"r\", \"expression\": \"%s\"}]}",
             lo, lo, sense, obj, row ? row : "x + y >= 0");
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(json, strlen(json), NULL, d, &code);
    const fm_nlp *n = m ? fm_model_nlp(m) : NULL;
    if (!n) {
        ts_print_diags(d);
        fail_msg("no nonlinear program: %s", json);
    }
    int v = sv_nlp_convex(n);
    fm_model_free(m);
    fm_diags_free(d);
    return v;
}

static void test_convex_models(void **state)
{
    (void)state;
    assert_true(verdict("min", "x^2 + y^2", NULL, "null"));
    assert_true(verdict("min", "(x - 1)^2 + (2*x - y + 3)^2 + 4", "x + y <= 1", "null"));
    assert_true(verdict("min", "x^4 + 3*y^6", NULL, "null"));             /* even powers */
    assert_true(verdict("min", "x^1.5 + 2*y^3", NULL, "0"));              /* p >= 1 on x >= 0 */
    assert_true(verdict("min", "exp(x + y) - log(x) - sqrt(y + 1)", NULL, "0"));
    assert_true(verdict("max", "log(x) + sqrt(y) - x^2", NULL, "0"));     /* concave, maximised */
    assert_true(verdict("min", "abs(x - y) + max(x, 2*y, 1)", NULL, "null"));
    assert_true(verdict("min", "x", "sqrt(x^2 + y^2 + 1) <= x + 5", "null"));  /* a cone */
    assert_true(verdict("min", "x", "(x*x + (y - 1)^2)^0.5 <= 3", "null"));
    assert_true(verdict("min", "x + y", "x*y >= 24", "0"));               /* the garden */
    assert_true(verdict("min", "1/x + 3*x", NULL, "0"));
    assert_true(verdict("min", "x*x + y", "log(x + 1) >= 0.5", "0"));     /* concave >= */
    assert_true(verdict("min", "-3*log(x) + 2*(x - y)^2", "x^2 + y^2 <= 4", "0"));
    assert_true(verdict("max", "-(x^2) - exp(y)", "-2*y*y >= -5", "null")); /* negated */
}

static void test_nonconvex_models(void **state)
{
    (void)state;
    assert_false(verdict("max", "x^2 + y^2", NULL, "null"));              /* wrong direction */
    assert_false(verdict("min", "x*y", NULL, "0"));                       /* bilinear */
    assert_false(verdict("min", "x^3", NULL, "null"));                    /* odd power, free x */
    assert_false(verdict("min", "x", "x^2 + y^2 >= 1", "null"));          /* wrong side */
    assert_false(verdict("min", "x", "x^2 + y^2 == 1", "null"));          /* equality */
    assert_false(verdict("min", "log(x)", NULL, "0"));                    /* concave, minimised */
    assert_false(verdict("min", "x + y", "x*y - x >= 2", "0"));           /* product with more */
    assert_false(verdict("min", "x + y", "x*y >= 2", "null"));            /* free factors */
    assert_false(verdict("min", "x + y", "x*y <= 2", "0"));               /* wrong side */
    assert_false(verdict("min", "floor(x) + y^2", NULL, "0"));            /* a step */
    assert_false(verdict("min", "exp(x*y)", NULL, "0"));
    assert_false(verdict("min", "sqrt(x^2 + y)", NULL, "0"));             /* not a norm */
    assert_false(verdict("min", "x/y", NULL, "0"));
}

/* Deep nesting is answered quickly (the walk has a budget), not hung. */
static void test_deep_nesting(void **state)
{
    (void)state;
    char obj[8000] = "x";
    for (int i = 0; i < 12; i++) {
        char t[8100];
        snprintf(t, sizeof t, "(-(%s))^2", obj);
        if (strlen(t) >= sizeof obj) break;
        strcpy(obj, t);
    }
    double t0 = fm_clock_ms();
    assert_true(verdict("min", obj, NULL, "null"));   /* squares of squares of ... */
    assert_true(fm_clock_ms() - t0 < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convex_models),
        cmocka_unit_test(test_nonconvex_models),
        cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
