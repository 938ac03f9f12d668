/* The expression language, table-driven through the public API: each case
 * is a scalar parameter's expression whose value reaches the compiled
 * program as the bound of the row "x <= v". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "formulate/formulate.h"

static const char *model_fmt =
    "{\"format\": 1,"
    " \"sets\": [{\"name\": \"P\", \"elements\": [\"chair\", \"desk\", \"table\"]},"
    "            {\"name\": \"T\", \"range\": [1, 5]},"
    "            {\"name\": \"A\", \"dimen\": 2, \"elements\": [[\"s\",\"a\"],[\"s\",\"b\"],[\"a\",\"t\"],[\"b\",\"t\"]]}],"
    " \"parameters\": [{\"name\": \"w\", \"index\": [\"P\"], \"values\": [2, 3, 5]},"
    "                  {\"name\": \"c\", \"index\": [\"A\"], \"values\": [[\"s\",\"a\",4],[\"s\",\"b\",1],[\"a\",\"t\",7],[\"b\",\"t\",2]]},"
    "                  {\"name\": \"v\", \"expression\": \"%s\"}],"
    " \"variables\": [{\"name\": \"x\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
    " \"constraints\": [{\"name\": \"r\", \"expression\": \"x <= v\"}]}";

static fm_model *build(const char *expr, fm_diags **d, fm_code *code)
{
    char buf[8192];
    snprintf(buf, sizeof buf, model_fmt, expr);
    *d = fm_diags_new();
    return fm_model_parse(buf, strlen(buf), NULL, *d, code);
}

static void show(fm_diags *d)
{
    for (size_t i = 0; i < fm_diags_count(d); i++) {
        const fm_diag *g = fm_diags_get(d, i);
        print_error("  %s %s %s: %s\n", fm_severity_name(g->severity), g->element, g->index, g->message);
    }
}

typedef struct { const char *expr; double value; } value_case;

static const value_case values[] = {
    { "1 + 2 * 3", 7 },
    { "(1 + 2) * 3", 9 },
    { "2 ^ 3 ^ 2", 512 },               /* right associative */
    { "-2 ^ 2", -4 },                   /* ^ binds tighter than unary minus */
    { "2 ** 3", 8 },
    { "2 ^ -1", 0.5 },
    { "10 - 4 - 3", 3 },                /* left associative */
    { "12 / 4 / 3", 1 },
    { "7 mod 3", 1 },
    { "-7 mod 3", 2 },
    { "7 div 2", 3 },
    { "1e3 + 2.5e-1 + .5", 1000.75 },
    { "sum{p in P} w[p]", 10 },
    { "sum{p in P} w[p] + 1", 11 },     /* the operand stops at + */
    { "sum{p in P} w[p] * 2", 20 },     /* ... and takes in * */
    { "2 * sum{p in P} w[p]", 20 },
    { "prod{p in P} w[p]", 30 },
    { "min{p in P} w[p]", 2 },
    { "max{p in P: p != 'table'} w[p]", 3 },
    { "sum{t in T: t > 2} t", 12 },
    { "sum{t in 2..card(T)} t", 14 },
    { "sum{t in 1..10 by 3} t", 22 },
    { "sum{t in {1, 3, 5}} t", 9 },
    { "sum{(i,j) in A} c[i,j]", 14 },
    { "sum{(i,'t') in A} c[i,'t']", 9 },          /* expression component filters */
    { "sum{i in {'a','b'}} sum{(i,j) in A} c[i,j]", 9 },   /* bound component filters */
    { "sum{(i,j) in A: (j,'t') in A} c[i,j]", 5 },
    { "sum{(i,j) in {(i2,j2) in A: c[i2,j2] > 3}} 1", 2 },
    { "sum{p in P: p < 'd'} w[p]", 2 },           /* text order */
    { "sum{p in P: p >= 'desk' and p <> 'table'} w[p]", 3 },
    { "sum{p in P: not (p == 'chair') && w[p] > 0 || p = 'chair'} 1", 3 },
    { "if 1 < 2 then 10 else 20", 10 },
    { "if 1 > 2 then 10", 0 },                    /* a missing else is 0 */
    { "if 1 > 2 then 10 else if 2 > 1 then 30 else 40", 30 },
    { "1 + if 1 > 2 then 10 else 20 + 5", 26 },   /* else takes the rest */
    { "sum{t in T} (if t = 1 then 100 else w['desk'] * (t - 1))", 130 },
    { "abs(-3) + min(4, 2, 8) + max(1, 5)", 10 },
    { "sqrt(16) + exp(0) + log(1) + log10(1000)", 8 },
    { "floor(2.7) + ceil(2.1)", 5 },
    { "card(P) + card(A) + card({t in T: t > 3})", 9 },
    { "if 'chair' = \\\"chair\\\" then 1 else 0", 1 },   /* both quote styles */
    { "sum{t in T: t in {2, 4}} t", 6 },
    { "sum{t in T: t not in {2, 4}} 1", 3 },
    { "if '01' = 1 then 1 else 0", 0 },           /* one text per number */
    { "if '1' = 1 then 1 else 0", 1 },
};

static void test_values(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        fm_diags *d;
        fm_code code;
        fm_model *m = build(values[i].expr, &d, &code);
        const fm_program *p = m ? fm_model_program(m) : NULL;
        double lo = NAN, hi = NAN;
        if (p && fm_program_nrows(p) == 1) fm_program_row_bounds(p, 0, &lo, &hi);
        if (code != FM_OK || !p || fabs(hi - values[i].value) > 1e-9 * fmax(1, fabs(values[i].value))) {
            print_error("%s: expected %g, got %g (%s)\n", values[i].expr, values[i].value, hi, fm_strerror(code));
            show(d);
            bad++;
        }
        fm_model_free(m);
        fm_diags_free(d);
    }
    assert_int_equal(bad, 0);
}

typedef struct { const char *expr; const char *message; } error_case;

static const error_case errors[] = {
    { "1 +", "syntax error" },
    { "(1 + 2", "expected ')'" },
    { "w['chair'", "expected ']'" },
    { "sum{p in P w[p]", "expected '}'" },
    { "sum w", "indexing" },
    { "round(2.5)", "unknown function 'round'" },
    { "'abc", "unterminated string" },
    { "1 $ 2", "unexpected character" },
    { "x <= 1", "relation is not allowed" },
    { "1 union 2", "syntax error" },
    { "sum{p in P union P} 1", "not part of format 1" },
    { "forall{p in P} 1", "not part of format 1" },
    { "sqrt(1, 2)", "takes 1 argument" },
    { "w", "takes 1 subscript, got 0" },
    { "w['chair', 'desk']", "takes 1 subscript, got 2" },
    { "P", "expected a number but 'P' is a set" },
    { "sum{p in w} 1", "expected a set but 'w' is a parameter" },
    { "card(w)", "expected a set" },
    { "sum{p in P} q[p]", "undeclared name 'q'" },
    { "p", "undeclared name 'p'" },
    { "sum{(i,j) in P} 1", "names 2 components but its set has 1" },
    { "sum{p in P} sum{p in P} 1", "already in scope" },
    { "sum{x in P} 1", "has the name of" },
    { "w['sofa']", "not in the index of parameter 'w'" },
    { "1 / 0", "division by zero" },
    { "sqrt(-1)", "sqrt of a negative" },
    { "log(0)", "log of a number that is not positive" },
    { "10 ^ 400", "not finite" },
    { "1e308 * 10", "not finite" },
    { "'chair' + 1", "expected a number but got the element 'chair'" },
    { "min{t in T: t > 9} t", "empty set" },
    { "x + 1", "refers to variable 'x'" },
    { "sum{t in 1..10 by 0} t", "step 'by' is zero" },
};

static void test_errors(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        fm_diags *d;
        fm_code code;
        fm_model *m = build(errors[i].expr, &d, &code);
        int found = 0;
        for (size_t k = 0; k < fm_diags_count(d); k++) {
            const fm_diag *g = fm_diags_get(d, k);
            if (g->severity == FM_SEV_ERROR && strstr(g->message, errors[i].message)
                && !strcmp(g->element, "parameters[2] 'v'"))
                found = 1;
        }
        if (code == FM_OK || (m && fm_model_program(m)) || !found) {
            print_error("%s: expected an error on parameters[2] 'v' with \"%s\" (%s)\n", errors[i].expr,
                        errors[i].message, fm_strerror(code));
            show(d);
            bad++;
        }
        fm_model_free(m);
        fm_diags_free(d);
    }
    assert_int_equal(bad, 0);
}

/* A lag guarded by if is never evaluated at its out-of-range instance. */
static void test_lazy_if_and_lag_error(void **state)
{
    (void)state;
    const char *ok =
        "{\"format\":1,\"sets\":[{\"name\":\"T\",\"range\":[1,3]}],"
        "\"variables\":[{\"name\":\"s\",\"index\":[\"T\"]}],"
        "\"objective\":{\"sense\":\"min\",\"expression\":\"sum{t in T} s[t]\"},"
        "\"constraints\":[{\"name\":\"bal\",\"index\":\"{t in T}\","
        "\"expression\":\"s[t] >= (if t = 1 then 5 else s[t-1] + 1)\"}]}";
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(ok, strlen(ok), NULL, d, &code);
    assert_int_equal(code, FM_OK);
    assert_non_null(fm_model_program(m));
    assert_int_equal(fm_program_nrows(fm_model_program(m)), 3);
    fm_model_free(m);
    fm_diags_free(d);

    const char *bad =
        "{\"format\":1,\"sets\":[{\"name\":\"T\",\"range\":[1,3]}],"
        "\"variables\":[{\"name\":\"s\",\"index\":[\"T\"]}],"
        "\"objective\":{\"sense\":\"min\",\"expression\":\"sum{t in T} s[t]\"},"
        "\"constraints\":[{\"name\":\"bal\",\"index\":\"{t in T}\","
        "\"expression\":\"s[t] >= s[t-1] + 1\"}]}";
    d = fm_diags_new();
    m = fm_model_parse(bad, strlen(bad), NULL, d, &code);
    assert_int_equal(code, FM_EINVALID);
    const fm_diag *g = fm_diags_get(d, 0);
    assert_non_null(g);
    assert_string_equal(g->element, "constraints[0] 'bal'");
    assert_string_equal(g->index, "[1]");
    assert_non_null(strstr(g->message, "s[0]"));
    fm_model_free(m);
    fm_diags_free(d);
}

/* Tuple filtering costs what it touches: a 20,000-node chain whose flow
 * balance sums over bound components compiles within the step budget that a
 * full scan per node (4e8 steps) would blow. */
static void test_slice_index_keeps_sums_linear(void **state)
{
    (void)state;
    int n = 20000;
    size_t cap = (size_t)n * 40 + 4096, w = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    w += snprintf(buf + w, cap - w, "{\"format\":1,\"sets\":[{\"name\":\"N\",\"range\":[1,%d]},"
                  "{\"name\":\"A\",\"dimen\":2,\"elements\":[", n);
    for (int i = 1; i < n; i++) w += snprintf(buf + w, cap - w, "%s[%d,%d]", i > 1 ? "," : "", i, i + 1);
    w += snprintf(buf + w, cap - w, "]}],\"variables\":[{\"name\":\"f\",\"index\":[\"A\"]}],"
                  "\"objective\":{\"sense\":\"min\",\"expression\":\"sum{(i,j) in A} f[i,j]\"},"
                  "\"constraints\":[{\"name\":\"bal\",\"index\":\"{k in N: k > 1 and k < %d}\","
                  "\"expression\":\"sum{(i,k) in A} f[i,k] = sum{(k,j) in A} f[k,j]\"}]}", n);
    fm_limits lim;
    fm_limits_default(&lim);
    lim.max_steps = 1000000;
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(buf, w, &lim, d, &code);
    if (code != FM_OK) show(d);
    assert_int_equal(code, FM_OK);
    const fm_program *p = fm_model_program(m);
    assert_int_equal(fm_program_nrows(p), n - 2);
    assert_int_equal(fm_program_nonzeros(p), 2 * (n - 2));
    fm_model_free(m);
    fm_diags_free(d);
    free(buf);
}

/* Whole-model checks found in review: each must be an error, not a crash
 * or a silently different model. */
typedef struct { const char *json; const char *element; const char *message; } model_case;

static const model_case bad_models[] = {
    { "{\"format\":1,\"variables\":[{\"name\":\"x\"}],\"objective\":{\"sense\":\"min\",\"expression\":\"x\"},"
      "\"constraints\":[{\"name\":\"ne\",\"expression\":\"x != 3\"}]}",
      "constraints[0] 'ne'", "!= cannot be a constraint" },
    { "{\"format\":1,\"variables\":[{\"name\":\"objective\"}],\"objective\":{\"sense\":\"min\",\"expression\":\"objective\"},"
      "\"constraints\":[]}",
      "objective 'objective'", "duplicate name 'objective'" },
    { "{\"format\":1,\"variables\":[{\"name\":\"x\"}],\"objective\":{\"sense\":\"min\",\"expression\":\"x\"},"
      "\"constraints\":[],\"constraints\":[]}",
      "model", "duplicate key \"constraints\"" },
    { "{\"format\":1,\"variables\":[{\"name\":\"x\"}],\"objective\":{\"sense\":\"min\",\"expression\":\"x\"},"
      "\"constraints\":[],\"report\":[{\"name\":\"a\",\"expression\":\"x\"},{\"name\":\"a\",\"expression\":\"2*x\"}]}",
      "report[1] 'a'", "duplicate report name" },
    { "{\"format\":1,\"parameters\":[{\"name\":\"sum\",\"value\":1}],\"variables\":[{\"name\":\"x\"}],"
      "\"objective\":{\"sense\":\"min\",\"expression\":\"x\"},\"constraints\":[]}",
      "parameters[0] 'sum'", "reserved word" },
};

static void test_bad_models(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_models / sizeof *bad_models; i++) {
        fm_diags *d = fm_diags_new();
        fm_code code;
        fm_model *m = fm_model_parse(bad_models[i].json, strlen(bad_models[i].json), NULL, d, &code);
        int found = 0;
        for (size_t k = 0; k < fm_diags_count(d); k++) {
            const fm_diag *g = fm_diags_get(d, k);
            if (g->severity == FM_SEV_ERROR && !strcmp(g->element, bad_models[i].element)
                && strstr(g->message, bad_models[i].message)) {
                found = 1;
                if (strstr(g->hint, "%s")) found = 0;   /* hints are formatted */
            }
        }
        if (code == FM_OK || !found) {
            print_error("case %zu: expected %s: %s\n", i, bad_models[i].element, bad_models[i].message);
            show(d);
            bad++;
        }
        fm_model_free(m);
        fm_diags_free(d);
    }
    assert_int_equal(bad, 0);
}

/* An index of more components than the limit is refused before anything
 * is instantiated (it used to overflow a key buffer). */
static void test_index_component_limit(void **state)
{
    (void)state;
    char buf[4096];
    size_t w = snprintf(buf, sizeof buf, "{\"format\":1,\"sets\":[{\"name\":\"S\",\"elements\":[\"a\"]}],"
                        "\"variables\":[{\"name\":\"x\",\"index\":[");
    for (int i = 0; i < 70; i++) w += snprintf(buf + w, sizeof buf - w, "%s\"S\"", i ? "," : "");
    snprintf(buf + w, sizeof buf - w, "]}],\"objective\":{\"sense\":\"min\",\"expression\":\"0\"},\"constraints\":[]}");
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(buf, strlen(buf), NULL, d, &code);
    assert_int_equal(code, FM_ELIMIT);
    assert_non_null(strstr(fm_diags_get(d, 0)->message, "over the limit of 20"));
    assert_string_equal(fm_diags_get(d, 0)->element, "variables[0] 'x'");
    fm_model_free(m);
    fm_diags_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_lazy_if_and_lag_error),
        cmocka_unit_test(test_slice_index_keeps_sums_linear),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_index_component_limit),
    };
    return cmocka_run_group_tests_name("expressions", tests, NULL, NULL);
}
