/* Tests of agent/config: precedence flag > OPTAGENT_* > OPENAI_* > file >
 * defaults, the key following its endpoint, config-file parsing and its
 * errors (file:line), permission warnings, --api-key-file, and descriptions
 * that never show the key.
 *
 * Every test runs with a fresh temporary XDG_CONFIG_HOME and HOME and with
 * every OPTAGENT_* / OPENAI_* variable unset; the log sink is captured. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/llm/llm.h"
#include "tests/support.h"

#define KEY "sk-test-CONFIG-9f3e1d7c55aa01"

static const char *const vars[] = {
    "OPTAGENT_BASE_URL", "OPTAGENT_API_KEY", "OPTAGENT_MODEL", "OPTAGENT_TEMPERATURE",
    "OPTAGENT_MAX_TOKENS", "OPTAGENT_TIMEOUT", "OPENAI_BASE_URL", "OPENAI_API_KEY",
    "OPENAI_MODEL",
};

typedef struct {
    char *dir;          /* the temp dir: XDG_CONFIG_HOME and HOME */
    char *cfgdir;       /* dir/optagent */
    char *cfg;          /* dir/optagent/config */
    ts_str log;         /* captured log lines, one per line */
    int nlog;
} fixture;

static void capture(void *ctx, const char *line)
{
    fixture *f = ctx;
    ts_str_printf(&f->log, "%s\n", line);
    f->nlog++;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->dir = ts_mkdtemp();
    if (!f->dir) { free(f); return -1; }
    f->cfgdir = path_join(f->dir, "optagent");
    f->cfg = path_join(f->cfgdir, "config");
    if (!f->cfgdir || !f->cfg || mkdir(f->cfgdir, 0700)) return -1;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    setenv("XDG_CONFIG_HOME", f->dir, 1);
    setenv("HOME", f->dir, 1);
    ag_llm_set_log(capture, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ag_llm_set_log(NULL, NULL);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->cfgdir);
    free(f->cfg);
    ts_str_free(&f->log);
    free(f);
    return 0;
}

static const char *logged(const fixture *f)
{
    return f->log.s ? f->log.s : "";
}

/* Writes text to path with mode. */
static void write_mode(const char *path, const char *text, mode_t mode)
{
    assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void write_cfg(fixture *f, const char *text)
{
    write_mode(f->cfg, text, 0600);
}

static void assert_str(const char *got, const char *want)
{
    if (!want) {
        if (got) fail_msg("expected NULL, got '%s'", got);
        return;
    }
    if (!got) fail_msg("expected '%s', got NULL", want);
    assert_string_equal(got, want);
}

/* Loads with flags; asserts success. */
static void load_ok(const ag_llm_flags *fl, ag_llm_config *c, ag_llm_sources *src)
{
    char err[512] = "";
    int rc = ag_llm_config_load_ex(fl, c, src, err, sizeof err);
    if (rc) fail_msg("ag_llm_config_load failed: %s", err);
    assert_string_equal(err, "");
}

/* Loads with flags; asserts failure and returns the error. */
static void load_fail(const ag_llm_flags *fl, char *err, size_t errlen)
{
    ag_llm_config c;
    int rc = ag_llm_config_load(fl, &c, err, errlen);
    if (rc == 0) fail_msg("expected a failure, got base_url=%s", c.base_url ? c.base_url : "NULL");
    assert_int_equal(rc, -1);
    assert_null(c.base_url);
    assert_null(c.model);
    assert_null(c.api_key);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    assert_null(strstr(err, KEY));
}

/* ---- defaults and precedence -------------------------------------------- */

static void test_defaults(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    assert_null(c.base_url);
    assert_null(c.model);
    assert_null(c.api_key);
    assert_true(c.temperature == 0);
    assert_int_equal(c.max_tokens, 0);
    assert_int_equal(c.seed, -1);
    assert_true(c.timeout_s == 120);
    assert_true(c.connect_timeout_s == 10);
    assert_int_equal(c.max_retries, 4);
    assert_string_equal(s.base_url, "none");
    assert_string_equal(s.api_key, "none");
    assert_string_equal(s.config_file, "");
    assert_int_equal(f->nlog, 0);
    ag_llm_config_free(&c);
}

static void test_file_values(void **state)
{
    fixture *f = *state;
    write_cfg(f, "# optagent\n"
                 "\n"
                 "base_url = http://files.example/v1\n"
                 "  model=file-model  \n"
                 "api_key = \"" KEY "\"\n"
                 "temperature = 0.25\n"
                 "max_tokens = 900\n"
                 "seed = 42\n"
                 "timeout = 33.5\n"
                 "connect_timeout = 4\n"
                 "max_retries = 7\n");
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    assert_str(c.base_url, "http://files.example/v1");
    assert_str(c.model, "file-model");
    assert_str(c.api_key, KEY);
    assert_true(c.temperature == 0.25);
    assert_int_equal(c.max_tokens, 900);
    assert_int_equal(c.seed, 42);
    assert_true(c.timeout_s == 33.5);
    assert_true(c.connect_timeout_s == 4);
    assert_int_equal(c.max_retries, 7);
    char want[1024];
    snprintf(want, sizeof want, "config file %s:3", f->cfg);
    assert_string_equal(s.base_url, want);
    snprintf(want, sizeof want, "config file %s:5", f->cfg);
    assert_string_equal(s.api_key, want);
    assert_string_equal(s.config_file, f->cfg);
    assert_int_equal(f->nlog, 0);   /* mode 0600: no warning */
    ag_llm_config_free(&c);
}

/* Adds one layer after another; each must win over the ones below it. */
static void test_precedence_layers(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    ag_llm_flags fl = { 0 };
    write_cfg(f, "base_url = http://file/v1\nmodel = m-file\ntemperature = 0.1\n"
                 "max_tokens = 100\ntimeout = 10\n");

    load_ok(&fl, &c, &s);
    assert_str(c.base_url, "http://file/v1");
    assert_str(c.model, "m-file");
    ag_llm_config_free(&c);

    setenv("OPENAI_BASE_URL", "http://openai-env/v1", 1);
    setenv("OPENAI_MODEL", "m-openai", 1);
    load_ok(&fl, &c, &s);
    assert_str(c.base_url, "http://openai-env/v1");
    assert_str(c.model, "m-openai");
    assert_string_equal(s.base_url, "OPENAI_BASE_URL");
    assert_string_equal(s.model, "OPENAI_MODEL");
    assert_true(c.temperature == 0.1);
    ag_llm_config_free(&c);

    setenv("OPTAGENT_BASE_URL", "http://optagent-env/v1", 1);
    setenv("OPTAGENT_MODEL", "m-optagent", 1);
    setenv("OPTAGENT_TEMPERATURE", "0.2", 1);
    setenv("OPTAGENT_MAX_TOKENS", "200", 1);
    setenv("OPTAGENT_TIMEOUT", "20", 1);
    load_ok(&fl, &c, &s);
    assert_str(c.base_url, "http://optagent-env/v1");
    assert_str(c.model, "m-optagent");
    assert_string_equal(s.base_url, "OPTAGENT_BASE_URL");
    assert_true(c.temperature == 0.2);
    assert_int_equal(c.max_tokens, 200);
    assert_true(c.timeout_s == 20);
    ag_llm_config_free(&c);

    fl.base_url = "http://flag/v1";
    fl.model = "m-flag";
    fl.temperature = 0.3;
    fl.have_temperature = 1;
    fl.max_tokens = 300;
    fl.have_max_tokens = 1;
    fl.timeout_s = 30;
    fl.have_timeout = 1;
    fl.seed = 5;
    fl.have_seed = 1;
    load_ok(&fl, &c, &s);
    assert_str(c.base_url, "http://flag/v1");
    assert_str(c.model, "m-flag");
    assert_string_equal(s.base_url, "flag");
    assert_string_equal(s.model, "flag");
    assert_true(c.temperature == 0.3);
    assert_int_equal(c.max_tokens, 300);
    assert_true(c.timeout_s == 30);
    assert_int_equal(c.seed, 5);
    ag_llm_config_free(&c);

    /* a negative flag temperature / seed means "do not send" */
    fl.temperature = -1;
    fl.seed = -3;
    load_ok(&fl, &c, &s);
    assert_true(c.temperature < 0);
    assert_int_equal(c.seed, -1);
    ag_llm_config_free(&c);
}

static void test_empty_env_is_unset(void **state)
{
    fixture *f = *state;
    write_cfg(f, "base_url = http://file/v1\nmodel = m\n");
    setenv("OPTAGENT_BASE_URL", "", 1);
    setenv("OPENAI_BASE_URL", "   ", 1);
    setenv("OPTAGENT_TEMPERATURE", "", 1);
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    assert_str(c.base_url, "http://file/v1");
    assert_true(c.temperature == 0);
    ag_llm_config_free(&c);
}

static void test_home_fallback(void **state)
{
    fixture *f = *state;
    char *dot = path_join(f->dir, ".config");
    char *dir = path_join(dot, "optagent");
    char *cfg = path_join(dir, "config");
    assert_int_equal(mkdir(dot, 0700), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_mode(cfg, "base_url = http://home/v1\nmodel = h\n", 0600);
    write_cfg(f, "base_url = http://xdg/v1\nmodel = x\n");
    unsetenv("XDG_CONFIG_HOME");
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    assert_str(c.base_url, "http://home/v1");
    assert_string_equal(s.config_file, cfg);
    ag_llm_config_free(&c);
    setenv("XDG_CONFIG_HOME", f->dir, 1);
    load_ok(NULL, &c, &s);
    assert_str(c.base_url, "http://xdg/v1");
    ag_llm_config_free(&c);
    free(dot);
    free(dir);
    free(cfg);
}

static void test_explicit_config_file(void **state)
{
    fixture *f = *state;
    char *other = path_join(f->dir, "other.conf");
    write_mode(other, "base_url = https://other/v1\nmodel = o\n", 0600);
    write_cfg(f, "base_url = http://default/v1\nmodel = d\n");
    ag_llm_flags fl = { .config_file = other };
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(&fl, &c, &s);
    assert_str(c.base_url, "https://other/v1");
    ag_llm_config_free(&c);

    /* an explicit file must exist; the default one need not */
    char *missing = path_join(f->dir, "missing.conf");
    fl.config_file = missing;
    char err[512];
    load_fail(&fl, err, sizeof err);
    assert_non_null(strstr(err, missing));
    unlink(f->cfg);
    load_ok(NULL, &c, &s);
    assert_null(c.base_url);
    ag_llm_config_free(&c);
    free(other);
    free(missing);
}

/* ---- the key follows its endpoint ----------------------------------------- */

static void test_key_precedence(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    ag_llm_flags fl = { .base_url = "http://flag/v1", .model = "m" };
    setenv("OPENAI_API_KEY", "sk-openai-env", 1);
    setenv("OPTAGENT_API_KEY", "sk-optagent-env", 1);
    load_ok(&fl, &c, &s);
    assert_str(c.api_key, "sk-optagent-env");
    assert_string_equal(s.api_key, "OPTAGENT_API_KEY");
    ag_llm_config_free(&c);

    fl.api_key = "  " KEY "  ";
    load_ok(&fl, &c, &s);
    assert_str(c.api_key, KEY);           /* trimmed */
    assert_string_equal(s.api_key, "flag --api-key");
    ag_llm_config_free(&c);
    (void)f;
}

static void test_openai_key_stays_with_openai(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    setenv("OPENAI_API_KEY", KEY, 1);
    setenv("OPTAGENT_MODEL", "m", 1);

    /* a local server named by OPTAGENT_BASE_URL does not get the OpenAI key */
    setenv("OPTAGENT_BASE_URL", "http://localhost:11434/v1", 1);
    load_ok(NULL, &c, &s);
    assert_null(c.api_key);
    assert_non_null(strstr(s.api_key, "none (OPENAI_API_KEY is not sent"));
    assert_null(strstr(s.api_key, KEY));
    ag_llm_config_free(&c);

    /* the OPENAI_ pair goes together */
    unsetenv("OPTAGENT_BASE_URL");
    setenv("OPENAI_BASE_URL", "http://proxy.example/v1", 1);
    load_ok(NULL, &c, &s);
    assert_str(c.api_key, KEY);
    assert_string_equal(s.api_key, "OPENAI_API_KEY");
    ag_llm_config_free(&c);

    /* and OpenAI's own host gets it whatever names it */
    unsetenv("OPENAI_BASE_URL");
    write_cfg(f, "base_url = https://API.openai.com/v1\n");
    load_ok(NULL, &c, &s);
    assert_str(c.api_key, KEY);
    ag_llm_config_free(&c);
}

static void test_file_key_stays_with_file_url(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    write_cfg(f, "base_url = https://api.deepseek.example\nmodel = ds\napi_key = " KEY "\n");

    load_ok(NULL, &c, &s);
    assert_str(c.api_key, KEY);
    ag_llm_config_free(&c);

    /* OPENAI_API_KEY set for other tools does not replace the file's key */
    setenv("OPENAI_API_KEY", "sk-openai-other-tool", 1);
    load_ok(NULL, &c, &s);
    assert_str(c.api_key, KEY);
    ag_llm_config_free(&c);

    /* the file's key is not sent to a URL named elsewhere */
    setenv("OPTAGENT_BASE_URL", "http://elsewhere/v1", 1);
    load_ok(NULL, &c, &s);
    assert_null(c.api_key);
    assert_non_null(strstr(s.api_key, "the config file's api_key"));
    assert_non_null(strstr(s.api_key, "not sent"));
    ag_llm_config_free(&c);

    /* ... unless the file names no endpoint: then the key is for optagent */
    write_cfg(f, "model = ds\napi_key = " KEY "\n");
    load_ok(NULL, &c, &s);
    assert_str(c.base_url, "http://elsewhere/v1");
    assert_str(c.api_key, KEY);
    ag_llm_config_free(&c);
}

/* ---- errors ------------------------------------------------------------- */

static void test_file_errors_name_line(void **state)
{
    fixture *f = *state;
    char err[512], want[1024];
    static const struct { const char *text; int line; const char *word; } cases[] = {
        { "base_url = http://x/v1\nmodel = m\njust some words\n", 3, "key = value" },
        { "model = m\ntemperature = warm\n", 2, "temperature" },
        { "temperature = -0.5\n", 1, "temperature" },
        { "# c\nmax_tokens = 12abc\n", 2, "max_tokens" },
        { "max_tokens = 99999999999\n", 1, "max_tokens" },
        { "seed = -4\n", 1, "seed" },
        { "\n\ntimeout = 0\n", 3, "timeout" },
        { "connect_timeout = soon\n", 1, "connect_timeout" },
        { "max_retries = 21\n", 1, "max_retries" },
        { " = value\n", 1, "key = value" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_cfg(f, cases[i].text);
        load_fail(NULL, err, sizeof err);
        snprintf(want, sizeof want, "%s:%d:", f->cfg, cases[i].line);
        if (!strstr(err, want) || !strstr(err, cases[i].word))
            fail_msg("case %zu: error '%s' does not name '%s' and '%s'", i, err, want,
                     cases[i].word);
    }
}

static void test_file_long_line(void **state)
{
    fixture *f = *state;
    size_t n = 5000;
    char *text = malloc(n + 32);
    assert_non_null(text);
    strcpy(text, "model = m\nbase_url = ");
    size_t o = strlen(text);
    memset(text + o, 'a', n);
    strcpy(text + o + n, "\n");
    write_cfg(f, text);
    char err[512], want[1024];
    load_fail(NULL, err, sizeof err);
    snprintf(want, sizeof want, "%s:2:", f->cfg);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "longer"));
    free(text);
}

static void test_unknown_key_warns(void **state)
{
    fixture *f = *state;
    write_cfg(f, "model = m\n\nbase_url = http://x/v1\ncolour = blue\n");
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    char want[1024];
    snprintf(want, sizeof want, "%s:4: unknown key 'colour'", f->cfg);
    if (!strstr(logged(f), want)) fail_msg("log '%s' lacks '%s'", logged(f), want);
    assert_int_equal(f->nlog, 1);
    ag_llm_config_free(&c);
}

static void test_env_errors(void **state)
{
    char err[512];
    static const char *const cases[][2] = {
        { "OPTAGENT_TEMPERATURE", "hot" },
        { "OPTAGENT_MAX_TOKENS", "-5" },
        { "OPTAGENT_TIMEOUT", "0" },
        { "OPTAGENT_BASE_URL", "ftp://x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("OPTAGENT_MODEL", "m", 1);
        setenv(cases[i][0], cases[i][1], 1);
        load_fail(NULL, err, sizeof err);
        if (!strstr(err, cases[i][0])) fail_msg("error '%s' does not name %s", err, cases[i][0]);
        unsetenv(cases[i][0]);
    }
    (void)state;
}

static void test_model_required_with_url(void **state)
{
    char err[512];
    setenv("OPTAGENT_BASE_URL", "http://x/v1", 1);
    load_fail(NULL, err, sizeof err);
    assert_string_equal(err, "no model configured (set --model or OPTAGENT_MODEL)");
    (void)state;
}

static void test_temperature_none(void **state)
{
    fixture *f = *state;
    write_cfg(f, "temperature = none\nseed = none\n");
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    assert_true(c.temperature < 0);
    assert_int_equal(c.seed, -1);
    ag_llm_config_free(&c);
    setenv("OPTAGENT_TEMPERATURE", "0.7", 1);
    load_ok(NULL, &c, &s);
    assert_true(c.temperature == 0.7);
    ag_llm_config_free(&c);
}

/* ---- permissions and key files ------------------------------------------ */

static void test_permission_warning(void **state)
{
    fixture *f = *state;
    ag_llm_config c;
    ag_llm_sources s;
    write_mode(f->cfg, "base_url = http://x/v1\nmodel = m\napi_key = " KEY "\n", 0644);
    load_ok(NULL, &c, &s);
    assert_str(c.api_key, KEY);           /* still used */
    ag_llm_config_free(&c);
    assert_int_equal(f->nlog, 1);
    assert_non_null(strstr(logged(f), f->cfg));
    assert_non_null(strstr(logged(f), "0644"));
    assert_non_null(strstr(logged(f), "chmod 600"));
    assert_null(strstr(logged(f), KEY));

    ts_str_free(&f->log);
    f->nlog = 0;
    assert_int_equal(chmod(f->cfg, 0600), 0);
    load_ok(NULL, &c, &s);
    ag_llm_config_free(&c);
    assert_int_equal(f->nlog, 0);

    /* a readable file without a key is not worth a warning */
    write_mode(f->cfg, "base_url = http://x/v1\nmodel = m\n", 0644);
    load_ok(NULL, &c, &s);
    ag_llm_config_free(&c);
    assert_int_equal(f->nlog, 0);
}

static void test_api_key_file(void **state)
{
    fixture *f = *state;
    char *kf = path_join(f->dir, "key");
    ag_llm_flags fl = { .base_url = "http://x/v1", .model = "m", .api_key_file = kf };
    ag_llm_config c;
    ag_llm_sources s;
    setenv("OPTAGENT_API_KEY", "sk-env-loses", 1);

    write_mode(kf, "  \t" KEY "  \r\nsecond line\n", 0600);
    load_ok(&fl, &c, &s);
    assert_str(c.api_key, KEY);
    assert_non_null(strstr(s.api_key, "--api-key-file"));
    assert_null(strstr(s.api_key, KEY));
    ag_llm_config_free(&c);
    assert_int_equal(f->nlog, 0);

    write_mode(kf, KEY, 0640);             /* no newline at all */
    load_ok(&fl, &c, &s);
    assert_str(c.api_key, KEY);
    ag_llm_config_free(&c);
    assert_int_equal(f->nlog, 1);
    assert_non_null(strstr(logged(f), kf));
    assert_non_null(strstr(logged(f), "0640"));
    assert_null(strstr(logged(f), KEY));

    char err[512];
    write_mode(kf, "   \nsecond\n", 0600);
    load_fail(&fl, err, sizeof err);
    assert_non_null(strstr(err, kf));
    assert_non_null(strstr(err, "no key"));

    write_mode(kf, "", 0600);
    load_fail(&fl, err, sizeof err);
    assert_non_null(strstr(err, kf));

    unlink(kf);
    load_fail(&fl, err, sizeof err);
    assert_non_null(strstr(err, kf));

    write_mode(kf, KEY "\n", 0600);
    fl.api_key = "sk-flag";
    load_fail(&fl, err, sizeof err);
    assert_non_null(strstr(err, "--api-key-file"));
    free(kf);
}

/* ---- describe ----------------------------------------------------------- */

static void test_describe_hides_key(void **state)
{
    fixture *f = *state;
    write_cfg(f, "base_url = https://user:hunter2@llm.example/v1\nmodel = gpt-x\n"
                 "api_key = " KEY "\nmax_tokens = 64\n");
    ag_llm_config c;
    ag_llm_sources s;
    load_ok(NULL, &c, &s);
    char buf[4096];
    int n = ag_llm_config_describe(&c, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    assert_int_equal(strlen(buf), (size_t)n);
    assert_null(strstr(buf, KEY));
    assert_null(strstr(buf, "hunter2"));
    assert_non_null(strstr(buf, "https://***@llm.example/v1"));
    assert_non_null(strstr(buf, "gpt-x"));
    assert_non_null(strstr(buf, "api key:     set"));
    assert_non_null(strstr(buf, "max_tokens:  64"));

    n = ag_llm_config_describe_sources(&c, &s, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    assert_null(strstr(buf, KEY));
    assert_non_null(strstr(buf, "(from config file"));
    assert_non_null(strstr(buf, f->cfg));

    /* cut output stays terminated and reports the needed length */
    char small[16];
    int need = ag_llm_config_describe(&c, small, sizeof small);
    assert_true(need >= (int)sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    ag_llm_config_free(&c);

    /* a key inside the URL hides the URL */
    ag_llm_config d;
    ag_llm_config_default(&d);
    d.base_url = "https://llm.example/v1?key=" KEY;
    d.api_key = KEY;
    ag_llm_config_describe(&d, buf, sizeof buf);
    assert_null(strstr(buf, KEY));

    ag_llm_config_default(&d);
    ag_llm_config_describe(&d, buf, sizeof buf);
    assert_non_null(strstr(buf, "api key:     not set"));
    assert_non_null(strstr(buf, "none"));
    assert_null(strstr(logged(f), KEY));
}

/* Errors raised while a key is configured never echo it. */
static void test_errors_never_show_key(void **state)
{
    fixture *f = *state;
    char err[512];
    write_cfg(f, "api_key = " KEY "\x01\n");
    load_fail(NULL, err, sizeof err);
    assert_non_null(strstr(err, "api_key"));

    write_cfg(f, "api_key = " KEY "\ntemperature = " KEY "\n");
    load_fail(NULL, err, sizeof err);
    assert_non_null(strstr(err, ":2:"));

    setenv("OPTAGENT_API_KEY", KEY "\x02", 1);
    setenv("OPTAGENT_BASE_URL", "http://x/v1", 1);
    setenv("OPTAGENT_MODEL", "m", 1);
    write_cfg(f, "");
    load_fail(NULL, err, sizeof err);
    assert_non_null(strstr(err, "OPTAGENT_API_KEY"));
    assert_null(strstr(logged(f), KEY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_env_is_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_home_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_config_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_key_stays_with_openai, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_key_stays_with_file_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors_name_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_required_with_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temperature_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_hides_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_never_show_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
