/* Learning from failures, end to end over the fake server: `optagent
 * library refine` (a better condition replaces the old one, which stays in
 * the history; a worse one does not; an unreadable reply writes nothing)
 * and `optagent learn` (tests below). Talks real HTTP to tests/fake_llm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "library/library.h"
#include "tests/support.h"
#include "tests/support_fake.h"

static char *dir;
static char bin[512];

static char *path_of(const char *name)
{
    static char p[16][1024];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static char *env_for(ts_fake *f)
{
    static char e[1024];
    snprintf(e, sizeof e, "env -u OPENAI_BASE_URL -u OPENAI_API_KEY XDG_CONFIG_HOME=%s "
             "XDG_DATA_HOME=%s/data OPTAGENT_BASE_URL=%s OPTAGENT_MODEL=fake", dir, dir,
             f ? ts_fake_base_url(f) : "");
    return e;
}

/* Runs a shell command line; returns the exit status, stdout in *out. */
static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    size_t len;
    int st;
    char *o = ts_run_capture(cmd, &len, &st);
    assert_non_null(o);
    if (out) *out = o; else free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A fake server answering every request of task with content. */
static ts_fake *fake_for(const char *task, const char *content)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), "task", task);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "reply"), "content", content);
    cJSON_AddItemToArray(rules, r);
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

/* ---- refine ---- */

#define PIPES "A water utility sends flow through a network of pipes from a reservoir to a town; " \
              "each pipe has a capacity in litres per second. Maximize the flow delivered."
#define PORTS "A shipping line moves containers between harbour terminals along sea lanes; each " \
              "lane carries at most a number of containers per week. Maximize the containers moved."
#define PIPE_CONDITION "Applies when flow is sent through a network of pipes with capacities " \
                       "from a reservoir. Does NOT apply when nothing flows along arcs."
#define GOOD_CONDITION "Applies when flow is sent through a network of pipes with capacities " \
                       "from a reservoir, or containers are moved between harbour terminals along " \
                       "sea lanes with weekly capacities. Does NOT apply when nothing flows along arcs."
#define BAD_CONDITION  "Applies when a bakery schedules ovens for bread and cakes in batches. " \
                       "Does NOT apply when nothing is baked."
#define BAKERY "A bakery schedules its ovens for bread and cakes in batches; each oven bakes " \
               "one batch at a time. Maximize the profit of the batches baked."

/* A library with one insight (id 1) proven on PIPES (positive) that missed
 * PORTS (unretrieved) and misfired on BAKERY (negative): the current
 * condition reaches neither PORTS nor BAKERY. */
static const char *refine_library(const char *name)
{
    const char *path = path_of(name);
    lib_code c;
    char err[256];
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    assert_non_null(l);
    lib_insight in;
    memset(&in, 0, sizeof in);
    in.taxonomy[0] = "Domain Modeling";
    in.taxonomy[1] = "Network Flow";
    in.ntaxonomy = 2;
    in.condition = PIPE_CONDITION;
    in.explanation = "When flow passes through capacitated arcs, the best practice is one flow "
                     "variable per arc bounded by its capacity with conservation at every node; "
                     "a common mistake is to forget conservation at intermediate nodes.";
    in.example = "Wrong: no balance at junctions. Right: inflow = outflow at each junction.";
    int64_t id = 0;
    int merged = 0;
    assert_int_equal(lib_add_verified(l, &in, "pipes", PIPES, &id, &merged), LIB_OK);
    assert_int_equal(id, 1);
    assert_int_equal(lib_record_stat(l, 1, "ports", PORTS, LIB_STAT_UNRETRIEVED), LIB_OK);
    assert_int_equal(lib_record_stat(l, 1, "bakery", BAKERY, LIB_STAT_NEGATIVE), LIB_OK);
    lib_close(l);
    return path;
}

static int64_t insight_version(const char *path, char **condition, size_t *nhistory)
{
    lib_code c;
    char err[256];
    lib *l = lib_open(path, LIB_OPEN_READONLY, &c, err, sizeof err);
    assert_non_null(l);
    lib_insight in, *h = NULL;
    assert_int_equal(lib_get(l, 1, &in), LIB_OK);
    assert_int_equal(lib_history(l, 1, &h, nhistory), LIB_OK);
    if (*nhistory) assert_string_equal(h[0].condition, PIPE_CONDITION);
    lib_insights_free(h, *nhistory);
    int64_t v = in.version;
    *condition = strdup(in.condition);
    lib_insight_clear(&in);
    lib_close(l);
    return v;
}

static const char *conditions_reply(const char *a, const char *b)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "Here are the rewrites.\n```json\n{\"conditions\": [\"%s\"%s%s%s]}\n```\n",
             a, b ? ", \"" : "", b ? b : "", b ? "\"" : "");
    return buf;
}

static void test_refine_better_variant_replaces(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-better.db");
    ts_fake *f = fake_for("refine", conditions_reply(BAD_CONDITION, GOOD_CONDITION));
    char *o;
    int code = sh(&o, "%s %s/optagent library refine --library %s 2>&1", env_for(f), bin, libp);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o, "replaced by variant 2"));
    assert_non_null(strstr(o, "1 replaced"));
    free(o);
    /* the request said what refine.txt says, with both problems' texts */
    cJSON *log = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(log), 1);
    char *req = cJSON_PrintUnformatted(cJSON_GetArrayItem(log, 0));
    assert_non_null(strstr(req, "refine"));
    assert_non_null(strstr(req, "harbour terminals"));
    assert_non_null(strstr(req, "network of pipes"));
    free(req);
    cJSON_Delete(log);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 2);
    assert_string_equal(cond, GOOD_CONDITION);
    assert_int_equal(nh, 1);   /* version 1 kept, checked in insight_version */
    free(cond);
}

static void test_refine_worse_variant_is_not_kept(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-worse.db");
    ts_fake *f = fake_for("refine", conditions_reply(BAD_CONDITION, NULL));
    char *o;
    int code = sh(&o, "%s %s/optagent library refine 1 --library %s --json 2>&1", env_for(f), bin, libp);
    assert_int_equal(code, 0);
    cJSON *j = cJSON_Parse(o);
    free(o);
    assert_non_null(j);
    cJSON *r = cJSON_GetArrayItem(j, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "replaced")));
    double cur = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "current"), "score")->valuedouble;
    double var = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "variants"), 0),
                                     "score")->valuedouble;
    assert_true(var < cur);
    cJSON_Delete(j);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 1);
    assert_string_equal(cond, PIPE_CONDITION);
    assert_int_equal(nh, 0);
    free(cond);
}

static void test_refine_malformed_reply_is_skipped(void **state)
{
    (void)state;
    const char *libp = refine_library("refine-bad.db");
    ts_fake *f = fake_for("refine", "I would rather not. {\"conditions\": \"not a list\"}");
    char *o;
    int code = sh(&o, "%s %s/optagent library refine --library %s 2>&1", env_for(f), bin, libp);
    assert_int_equal(code, 1);
    assert_non_null(strstr(o, "skipped"));
    assert_non_null(strstr(o, "nothing was written"));
    free(o);
    ts_fake_stop(f);
    char *cond;
    size_t nh;
    assert_int_equal(insight_version(libp, &cond, &nh), 1);
    assert_string_equal(cond, PIPE_CONDITION);
    assert_int_equal(nh, 0);
    free(cond);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("OPTAGENT_BUILD");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "build");
    dir = ts_mkdtemp();
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refine_better_variant_replaces),
        cmocka_unit_test(test_refine_worse_variant_is_not_kept),
        cmocka_unit_test(test_refine_malformed_reply_is_skipped),
    };
    return cmocka_run_group_tests_name("learn", tests, setup, teardown);
}
