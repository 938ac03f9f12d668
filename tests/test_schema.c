/* test_schema — docs/formulation.schema.json, the JSON Schema of format 1,
 * against the corpus: every valid formulation (tests/corpus/valid,
 * examples/ *.json) passes; every structurally invalid one (a missing
 * element, a wrong type, a bad name, a reserved word, two forms of one
 * set) fails, and optagent rejects it too.
 *
 * The validator is written here, for the subset of draft 2020-12 the schema
 * uses: type (with integer = a number without fraction), properties,
 * required, additionalProperties, items, enum, const, oneOf, anyOf, allOf,
 * not, pattern (POSIX extended regex, enough for the simple patterns used),
 * minimum, maximum, minItems, maxItems, minLength, maxLength (in code
 * points) and $ref to "#/$defs/NAME"; $schema, $id, $defs, title and
 * description are annotations. Any other keyword in the schema fails the
 * test, so the schema cannot rely on something this validator ignores. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "formulate/formulate.h"
#include "tests/support.h"

#define MAX_DEPTH 64        /* $ref chains and nesting the validator follows */

static cJSON *schema;
static char *root_dir;      /* the source tree: "tests/corpus/.." */

static const char *const known_keywords[] = {
    "$schema", "$id", "$defs", "title", "description", "type", "properties", "required",
    "additionalProperties", "items", "enum", "const", "oneOf", "anyOf", "allOf", "not",
    "pattern", "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "$ref", NULL
};

typedef struct {
    char err[512];          /* the first failure, with where */
    int quiet;              /* inside oneOf/anyOf/not: record nothing */
} vctx;

static int fail_at(vctx *c, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(vctx *c, const char *where, const char *fmt, ...)
{
    if (c->quiet || c->err[0]) return 0;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, sizeof c->err, "%s: %s", *where ? where : "(document)", msg);
    return 0;
}

static int is_type(const cJSON *v, const char *type)
{
    if (!strcmp(type, "object")) return cJSON_IsObject(v);
    if (!strcmp(type, "array")) return cJSON_IsArray(v);
    if (!strcmp(type, "string")) return cJSON_IsString(v);
    if (!strcmp(type, "number")) return cJSON_IsNumber(v);
    if (!strcmp(type, "integer"))
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
    if (!strcmp(type, "boolean")) return cJSON_IsBool(v);
    if (!strcmp(type, "null")) return cJSON_IsNull(v);
    fail_msg("schema: unknown type '%s'", type);
    return 0;
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int validate(vctx *c, const cJSON *s, const cJSON *v, const char *where, int depth);

/* Validates quietly: 1 when v matches s. */
static int matches(vctx *c, const cJSON *s, const cJSON *v, const char *where, int depth)
{
    vctx q = { .quiet = 1 };
    (void)c;
    return validate(&q, s, v, where, depth);
}

static const cJSON *resolve_ref(const char *ref)
{
    if (strncmp(ref, "#/$defs/", 8)) fail_msg("schema: unsupported $ref '%s'", ref);
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(schema, "$defs"),
                                                       ref + 8);
    if (!def) fail_msg("schema: $ref '%s' names nothing", ref);
    return def;
}

static int check_type(vctx *c, const cJSON *t, const cJSON *v, const char *where)
{
    if (cJSON_IsString(t)) return is_type(v, t->valuestring) || fail_at(c, where, "expected %s", t->valuestring);
    const cJSON *e;
    cJSON_ArrayForEach(e, t)
        if (is_type(v, e->valuestring)) return 1;
    return fail_at(c, where, "not of an allowed type");
}

static int check_object(vctx *c, const cJSON *s, const cJSON *v, const char *where, int depth)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required"), *k;
    cJSON_ArrayForEach(k, req)
        if (!cJSON_GetObjectItemCaseSensitive(v, k->valuestring))
            return fail_at(c, where, "missing \"%s\"", k->valuestring);
    for (const cJSON *m = v->child; m; m = m->next) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", where, *where ? "." : "", m->string);
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, m->string);
        if (ps) { if (!validate(c, ps, m, sub, depth + 1)) return 0; }
        else if (cJSON_IsFalse(extra)) return fail_at(c, sub, "unknown key");
        else if (cJSON_IsObject(extra) && !validate(c, extra, m, sub, depth + 1)) return 0;
    }
    return 1;
}

static int check_array(vctx *c, const cJSON *s, const cJSON *v, const char *where, int depth)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(s, "minItems");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    int n = cJSON_GetArraySize(v);
    if (lo && n < lo->valuedouble) return fail_at(c, where, "%d items, fewer than %g", n, lo->valuedouble);
    if (hi && n > hi->valuedouble) return fail_at(c, where, "%d items, more than %g", n, hi->valuedouble);
    int i = 0;
    for (const cJSON *e = v->child; items && e; e = e->next, i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s[%d]", where, i);
        if (!validate(c, items, e, sub, depth + 1)) return 0;
    }
    return 1;
}

static int check_string(vctx *c, const cJSON *s, const cJSON *v, const char *where)
{
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(s, "minLength");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
    size_t n = code_points(v->valuestring);
    if (lo && n < lo->valuedouble) return fail_at(c, where, "shorter than %g", lo->valuedouble);
    if (hi && n > hi->valuedouble) return fail_at(c, where, "longer than %g", hi->valuedouble);
    if (pat) {
        regex_t re;
        if (regcomp(&re, pat->valuestring, REG_EXTENDED | REG_NOSUB) != 0)
            fail_msg("schema: pattern '%s' does not compile", pat->valuestring);
        int ok = regexec(&re, v->valuestring, 0, NULL, 0) == 0;
        regfree(&re);
        if (!ok) return fail_at(c, where, "'%.60s' does not match %s", v->valuestring, pat->valuestring);
    }
    return 1;
}

static int validate(vctx *c, const cJSON *s, const cJSON *v, const char *where, int depth)
{
    if (depth > MAX_DEPTH) fail_msg("schema: nested deeper than %d at %s", MAX_DEPTH, where);
    if (cJSON_IsTrue(s)) return 1;
    if (cJSON_IsFalse(s)) return fail_at(c, where, "not allowed");
    const cJSON *k;
    for (k = s->child; k; k = k->next) {
        int known = 0;
        for (int i = 0; known_keywords[i]; i++) known |= !strcmp(k->string, known_keywords[i]);
        if (!known) fail_msg("schema: keyword '%s' is not supported by this validator", k->string);
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (ref && !validate(c, resolve_ref(ref->valuestring), v, where, depth + 1)) return 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (type && !check_type(c, type, v, where)) return 0;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (en) {
        int found = 0;
        cJSON_ArrayForEach(k, en) found |= cJSON_Compare(k, v, 1);
        if (!found) return fail_at(c, where, "not one of the allowed values");
    }
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (cst && !cJSON_Compare(cst, v, 1)) return fail_at(c, where, "not the required value");
    if (cJSON_IsObject(v) && !check_object(c, s, v, where, depth)) return 0;
    if (cJSON_IsArray(v) && !check_array(c, s, v, where, depth)) return 0;
    if (cJSON_IsString(v) && !check_string(c, s, v, where)) return 0;
    if (cJSON_IsNumber(v)) {
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(s, "minimum");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(s, "maximum");
        if (lo && v->valuedouble < lo->valuedouble) return fail_at(c, where, "below %g", lo->valuedouble);
        if (hi && v->valuedouble > hi->valuedouble) return fail_at(c, where, "above %g", hi->valuedouble);
    }
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
    cJSON_ArrayForEach(k, all)
        if (!validate(c, k, v, where, depth + 1)) return 0;
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (any) {
        int n = 0;
        cJSON_ArrayForEach(k, any) n += matches(c, k, v, where, depth + 1);
        if (!n) return fail_at(c, where, "matches none of anyOf");
    }
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (one) {
        int n = 0;
        cJSON_ArrayForEach(k, one) n += matches(c, k, v, where, depth + 1);
        if (n != 1) return fail_at(c, where, "matches %d of oneOf, not exactly 1", n);
    }
    const cJSON *not = cJSON_GetObjectItemCaseSensitive(s, "not");
    if (not && matches(c, not, v, where, depth + 1)) return fail_at(c, where, "matches what \"not\" excludes");
    return 1;
}

/* 1 when text (a JSON document) matches the schema; why in err. */
static int schema_accepts(const char *text, size_t len, char *err, size_t errlen)
{
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc) { snprintf(err, errlen, "not JSON"); return 0; }
    vctx c = { .quiet = 0 };
    int ok = validate(&c, schema, doc, "", 0);
    snprintf(err, errlen, "%s", c.err);
    cJSON_Delete(doc);
    return ok;
}

/* optagent's own verdict: 1 when the formulation has no error. */
static int optagent_accepts(const char *text, size_t len)
{
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_limits lim;
    fm_limits_default(&lim);
    fm_model *m = fm_model_parse(text, len, &lim, d, &code);
    int ok = m && code == FM_OK && fm_diags_errors(d) == 0;
    fm_model_free(m);
    fm_diags_free(d);
    return ok;
}

static void check_files(const char *dir, size_t min_count)
{
    size_t n;
    char **files = ts_list_files(dir, ".json", &n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *text = ts_read_file(files[i], &len);
        assert_non_null(text);
        char err[512];
        if (!schema_accepts(text, len, err, sizeof err))
            fail_msg("%s: the schema rejects a formulation optagent reads: %s", files[i], err);
        free(text);
    }
    if (n < min_count) fail_msg("%s: %zu files, expected at least %zu", dir, n, min_count);
    ts_free_list(files, n);
}

static void test_valid_formulations_pass(void **state)
{
    (void)state;
    char *valid = ts_corpus_dir("valid");
    check_files(valid, 50);
    free(valid);
    char examples[2048];
    snprintf(examples, sizeof examples, "%s/examples", root_dir);
    check_files(examples, 5);
}

/* Invalid corpus files whose fault is in the structure, not in the model. */
static const char *const structural[] = {
    "check_constraint_missing_expression", "check_format_2", "check_missing_constraints",
    "check_missing_objective", "check_missing_variables", "check_name_dash", "check_name_empty",
    "check_name_leading_digit", "check_name_non_ascii", "check_name_space",
    "check_objective_missing_expression", "check_objective_sense_maximise",
    "check_reserved_constraint_card", "check_reserved_objective_max", "check_reserved_param_sqrt",
    "check_reserved_param_sum", "check_reserved_set_in", "check_reserved_set_union",
    "check_reserved_variable_if", "check_reserved_variable_infinity",
    "check_scalar_param_without_value", "check_set_without_elements", "check_variable_missing_name",
    "check_variable_type_bool", "data_default_string", "data_set_element_fraction",
    "data_set_element_null", "data_tuple_not_array", "json_top_level_array", "json_top_level_null",
    "json_top_level_number", "json_top_level_string", "type_bound_bool", "type_bound_object",
    "type_constraints_object", "type_dimen_string", "type_elements_string", "type_format_string",
    "type_name_number", "type_objective_array", "type_objective_string", "type_report_object",
    "type_sense_number", "type_sets_not_array", "type_variables_object", "data_range_one_end",
    "hostile_name_100k", "type_param_index_number", "type_values_string",
};

/* More structural faults, each on the same small valid model. */
static const char *const extra_invalid[] = {
    "{\"format\": 1, \"sets\": [{\"name\": \"P\", \"elements\": [\"a\"], \"range\": [1, 2]}],"
    " \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
    " \"constraints\": []}",
    "{\"format\": 1, \"parameters\": [{\"name\": \"p\", \"value\": 1, \"expression\": \"2\"}],"
    " \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
    " \"constraints\": []}",
    "{\"format\": 1, \"sets\": [{\"name\": \"P\", \"range\": [1]}],"
    " \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
    " \"constraints\": []}",
    "{\"format\": 1, \"sets\": [{\"name\": \"P\", \"elements\": [\"a\"], \"dimen\": 21}],"
    " \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
    " \"constraints\": []}",
    "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"type\": \"real\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}, \"constraints\": []}",
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": 3}, \"constraints\": []}",
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}, \"constraints\": [{\"name\": \"c\"}]}",
    "{\"format\": 1, \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\","
    " \"expression\": \"x\"}, \"constraints\": [], \"report\": [{\"expression\": \"x\"}]}",
    "{\"format\": 1, \"variables\": [{\"name\": \"x\", \"index\": 3}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}, \"constraints\": []}",
    /* an indexing string must open with "{" (the probe: the schema took "s in S") */
    "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [1]}],"
    " \"variables\": [{\"name\": \"x\", \"index\": \"s in S\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"0\"}, \"constraints\": []}",
    "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [1]}, {\"name\": \"T\", \"from\": \"S\"}],"
    " \"variables\": [{\"name\": \"x\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}, \"constraints\": []}",
    /* keyed data nests objects down to numbers */
    "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [\"a\"]}],"
    " \"parameters\": [{\"name\": \"c\", \"index\": [\"S\"], \"values\": {\"a\": \"1\"}}],"
    " \"variables\": [{\"name\": \"x\"}],"
    " \"objective\": {\"sense\": \"min\", \"expression\": \"x\"}, \"constraints\": []}",
};

static void assert_rejected(const char *what, const char *text, size_t len)
{
    char err[512];
    if (schema_accepts(text, len, err, sizeof err))
        fail_msg("%s: the schema accepts a structurally invalid formulation", what);
    if (optagent_accepts(text, len))
        fail_msg("%s: optagent accepts what the schema rejects (%s)", what, err);
}

static void test_structural_invalid_fail(void **state)
{
    (void)state;
    char *invalid = ts_corpus_dir("invalid");
    for (size_t i = 0; i < sizeof structural / sizeof *structural; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s.json", invalid, structural[i]);
        size_t len;
        char *text = ts_read_file(path, &len);
        if (!text) fail_msg("%s is missing", path);
        assert_rejected(structural[i], text, len);
        free(text);
    }
    free(invalid);
    for (size_t i = 0; i < sizeof extra_invalid / sizeof *extra_invalid; i++) {
        char what[32];
        snprintf(what, sizeof what, "extra_invalid[%zu]", i);
        assert_rejected(what, extra_invalid[i], strlen(extra_invalid[i]));
    }
}

/* The schema says what optagent says on the structural cases it admits:
 * unknown keys are warnings, min/max are senses, 2.0 is an integer
 * element, a parameter may be a default alone. */
static void test_lenient_where_optagent_is(void **state)
{
    (void)state;
    const char *ok =
        "{\"format\": 1, \"colour\": \"red\","
        " \"sets\": [{\"name\": \"P\", \"elements\": [2.0, \"b\"], \"note\": 1}],"
        " \"parameters\": [{\"name\": \"d\", \"index\": [\"P\"], \"default\": 0}],"
        " \"variables\": [{\"name\": \"x\", \"index\": \"{p in P}\", \"lower\": null, \"upper\": \"d[p] + 1\"}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"sum{p in P} x[p]\"},"
        " \"constraints\": [{\"expression\": \"sum{p in P} x[p] <= 3\"}]}";
    char err[512];
    if (!schema_accepts(ok, strlen(ok), err, sizeof err)) fail_msg("rejected: %s", err);
    assert_true(optagent_accepts(ok, strlen(ok)));
    /* found by the probe: null where optagent reads "none" (sets, parameters,
     * report, names and descriptions), an element beside a 1-tuple, blanks
     * before an indexing's "{", a scalar "values" */
    const char *nulls =
        "{\"format\": 1, \"name\": null, \"description\": null, \"sets\": null, \"parameters\": null,"
        " \"report\": null, \"variables\": [{\"name\": \"x\", \"description\": null, \"upper\": 2}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"x\", \"description\": null},"
        " \"constraints\": [{\"name\": \"c\", \"expression\": \"x <= 1\", \"description\": null}]}";
    if (!schema_accepts(nulls, strlen(nulls), err, sizeof err)) fail_msg("rejected: %s", err);
    assert_true(optagent_accepts(nulls, strlen(nulls)));
    const char *mixed =
        "{\"format\": 1, \"sets\": [{\"name\": \"S\", \"elements\": [\"a\", [\"b\"]], \"description\": null},"
        " {\"name\": \"T\", \"from\": \"\\n {s in S}\"}],"
        " \"parameters\": [{\"name\": \"k\", \"values\": 3, \"description\": null}],"
        " \"variables\": [{\"name\": \"x\", \"index\": \"  {s in T}\", \"upper\": 1}],"
        " \"objective\": {\"sense\": \"max\", \"expression\": \"k * sum{s in S} x[s]\"},"
        " \"constraints\": [], \"report\": [{\"name\": \"n\", \"expression\": \"card(S)\", \"description\": null}]}";
    if (!schema_accepts(mixed, strlen(mixed), err, sizeof err)) fail_msg("rejected: %s", err);
    assert_true(optagent_accepts(mixed, strlen(mixed)));
}

/* A document naming the schema, as an editor wants it, passes both and gets
 * no warning from optagent. */
static void test_schema_key_is_quiet(void **state)
{
    (void)state;
    const char *doc =
        "{\"$schema\": \"../docs/formulation.schema.json\", \"format\": 1,"
        " \"variables\": [{\"name\": \"x\"}], \"objective\": {\"sense\": \"min\", \"expression\": \"x\"},"
        " \"constraints\": []}";
    char err[512];
    if (!schema_accepts(doc, strlen(doc), err, sizeof err)) fail_msg("rejected: %s", err);
    fm_diags *d = fm_diags_new();
    fm_code code;
    fm_model *m = fm_model_parse(doc, strlen(doc), NULL, d, &code);
    assert_int_equal(code, FM_OK);
    if (fm_diags_count(d)) ts_print_diags(d);
    assert_int_equal(fm_diags_count(d), 0);
    fm_model_free(m);
    fm_diags_free(d);
}

static int setup(void **state)
{
    (void)state;
    char *valid = ts_corpus_dir("valid");
    size_t n = strlen(valid);
    const char *tail = "tests/corpus/valid";
    assert_true(n >= strlen(tail));
    root_dir = strndup(valid, n - strlen(tail));
    free(valid);
    if (!*root_dir) { free(root_dir); root_dir = strdup("."); }
    char path[2048];
    snprintf(path, sizeof path, "%s/docs/formulation.schema.json", root_dir);
    size_t len;
    char *text = ts_read_file(path, &len);
    if (!text) { fprintf(stderr, "cannot read %s\n", path); return -1; }
    schema = cJSON_ParseWithLength(text, len);
    free(text);
    if (!schema) { fprintf(stderr, "%s is not JSON\n", path); return -1; }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(schema);
    free(root_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_formulations_pass),
        cmocka_unit_test(test_structural_invalid_fail),
        cmocka_unit_test(test_lenient_where_optagent_is),
        cmocka_unit_test(test_schema_key_is_quiet),
    };
    return cmocka_run_group_tests_name("schema", tests, setup, teardown);
}
