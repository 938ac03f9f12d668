/* optagent repl, as a user meets it, against the fake LLM server:
 *  - scripted sessions through a pipe (no prompt, no history): ask,
 *    :formulation, :solution, :attempts, :revise (task revise, with the
 *    problem, the formulation and the instruction), :export of each format
 *    re-solved by glpsol, :save / :new / :load, :edit with an editor that
 *    changes the model and one that fails, and bad input (unknown commands,
 *    an unwritable export, a corrupt session file, a problem over 1 MiB, a
 *    failing endpoint): each a message, the session goes on, exit status 1;
 *  - terminal sessions under tmux (its own server socket): the prompt, an
 *    answer, tab completion, history across two sessions (file mode 0600),
 *    Ctrl-C during a stalled request back to a working prompt within a
 *    second. Skipped with a message when tmux is not installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"

#define FORM_X "{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":4}]," \
    "\"objective\":{\"sense\":\"max\",\"expression\":\"x\"}," \
    "\"constraints\":[{\"name\":\"cap\",\"expression\":\"x <= 3\"}]}"
#define FORM_XY "{\"format\":1,\"variables\":[{\"name\":\"x\",\"upper\":4},{\"name\":\"y\",\"upper\":2}]," \
    "\"objective\":{\"sense\":\"max\",\"expression\":\"x + 2*y\"}," \
    "\"constraints\":[{\"name\":\"cap\",\"expression\":\"x + y <= 5\"}]}"

static void add_rule(cJSON *rules, const char *key, const char *value, cJSON *reply)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "match"), key, value);
    cJSON_AddItemToObject(r, "reply", reply);
    cJSON_AddItemToArray(rules, r);
}

static cJSON *content(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "content", text);
    return o;
}

/* "revise" -> FORM_XY; "chairs" -> FORM_X; "stall" -> no answer for 20 s;
 * "broken" -> 401 (not retried). */
static ts_fake *start_server(void)
{
    cJSON *script = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(script, "rules");
    add_rule(rules, "task", "revise", content("Revised:\n```json\n" FORM_XY "\n```"));
    cJSON *stall = cJSON_CreateObject();
    cJSON_AddStringToObject(stall, "fault", "stall");
    cJSON_AddNumberToObject(stall, "stall_ms", 20000);
    add_rule(rules, "content_contains", "stall", stall);
    cJSON *broken = content("bad key");
    cJSON_AddNumberToObject(broken, "status", 401);
    add_rule(rules, "content_contains", "broken", broken);
    add_rule(rules, "content_contains", "chairs", content("```json\n" FORM_X "\n```"));
    cJSON_AddItemToObject(script, "default", cJSON_CreateString("no idea"));
    char *s = cJSON_PrintUnformatted(script);
    ts_fake *f = ts_fake_start(s);
    free(s);
    cJSON_Delete(script);
    assert_non_null(f);
    return f;
}

/* Runs `optagent repl` on input (written to dir/name.in); stdout and
 * stderr together in *out. Returns the exit status. */
static int run_script(ts_fake *f, const char *name, const char *input, const char *env, char **out)
{
    char in[64];
    snprintf(in, sizeof in, "%s.in", name);
    assert_int_equal(ts_write_file(ts_cli_path(in), input, strlen(input)), 0);
    return ts_cli_sh(out, "%s %s %s/optagent repl --no-library < %s 2>&1", ts_cli_env(f),
                     env ? env : "", ts_cli_bin(), ts_cli_path(in));
}

static void test_ask_formulation_revise(void **state)
{
    (void)state;
    ts_fake *f = start_server();
    char *out = NULL;
    int rc = run_script(f, "ask",
                        "A shop makes chairs\nwith 3 hours.\n\n:formulation\n:formulation json\n"
                        ":solution\n:attempts\n:insights\n:diagnostics\n:revise add y, worth 2\n"
                        ":solution\n:help\n:quit\n",
                        NULL, &out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "status: optimal\nobjective: 3\n"));
    assert_null(strstr(out, "optagent>"));          /* no prompt, spinner or colour in a script */
    assert_null(strstr(out, "Ctrl-C cancels)"));
    assert_null(strstr(out, "\033["));
    assert_non_null(strstr(out, "  x = 3\n"));
    assert_non_null(strstr(out, "outcome: ok after 0 correction rounds"));
    assert_non_null(strstr(out, "maximize objective: x\nsubject to:\n  cap: x <= 3\n"));  /* readable */
    assert_non_null(strstr(out, "\"expression\":\t\"x <= 3\""));      /* :formulation json */
    assert_non_null(strstr(out, "duals:\n  cap = 1\nslacks:\n  cap = 0\n"));
    assert_non_null(strstr(out, "round 0 (formulate): ok, status optimal"));
    assert_non_null(strstr(out, "no experience library was used"));
    assert_non_null(strstr(out, "objective: 7\n"));                 /* after :revise: x=3, y=2 */
    for (const char *c = ":help:formulation:solution:diagnostics:attempts:insights:revise:edit:solve"
                         ":export:set:save:load:new:quit"; *c; ) {
        size_t n = strcspn(c + 1, ":") + 1;
        char name[32];
        snprintf(name, sizeof name, "  %.*s ", (int)n, c);
        assert_non_null(strstr(out, name));
        c += n;
    }
    free(out);
    cJSON *reqs = ts_fake_requests(f, 2);
    assert_int_equal(cJSON_GetArraySize(reqs), 2);
    cJSON *r1 = cJSON_GetArrayItem(reqs, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "task")), "revise");
    const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(r1, "body"));
    assert_non_null(strstr(body, "A shop makes chairs\\nwith 3 hours."));
    assert_non_null(strstr(body, "add y, worth 2"));
    assert_non_null(strstr(body, "x <= 3"));
    /* the formulate request is the one ask sends: no trailing newline */
    const char *b0 = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body"));
    assert_non_null(strstr(b0, "Problem:\\nA shop makes chairs\\nwith 3 hours.\"}"));
    cJSON_Delete(reqs);
    ts_fake_stop(f);
}

static void test_export_each_format(void **state)
{
    (void)state;
    ts_fake *f = start_server();
    char input[2048], *out;
    snprintf(input, sizeof input, "chairs\n\n:export %s\n:export %s\n:export %s\n:export %s\n",
             ts_cli_path("m.lp"), ts_cli_path("m.mps"), ts_cli_path("m.mod"), ts_cli_path("m.json"));
    assert_int_equal(run_script(f, "export", input, NULL, &out), 0);
    free(out);
    assert_int_equal(ts_cli_sh(&out, "glpsol --lp %s -o /dev/stdout", ts_cli_path("m.lp")), 0);
    assert_non_null(strstr(out, "Objective:  objective = 3 (MAXimum)"));
    free(out);
    assert_int_equal(ts_cli_sh(&out, "glpsol --freemps %s -o /dev/stdout", ts_cli_path("m.mps")), 0);
    assert_non_null(strstr(out, "= -3 (MINimum)"));   /* free MPS: the sense negated */
    free(out);
    assert_int_equal(ts_cli_sh(&out, "glpsol --math %s -o /dev/stdout", ts_cli_path("m.mod")), 0);
    assert_non_null(strstr(out, "objective = 3 (MAXimum)"));
    free(out);
    assert_int_equal(ts_cli_sh(&out, "%s/optagent solve %s", ts_cli_bin(), ts_cli_path("m.json")), 0);
    assert_non_null(strstr(out, "objective: 3  (maximize objective)\n"));
    free(out);
    ts_fake_stop(f);
}

static void test_save_load(void **state)
{
    (void)state;
    ts_fake *f = start_server();
    char input[2048], *out;
    snprintf(input, sizeof input, "chairs\n\n:set max-corrections 1\n:save %s\n", ts_cli_path("s.json"));
    assert_int_equal(run_script(f, "save", input, NULL, &out), 0);
    free(out);
    /* a new process: loads, shows the same model, solves it again */
    snprintf(input, sizeof input, ":load %s\n:solution\n:attempts\n:solve\n:new\n:solution\n",
             ts_cli_path("s.json"));
    assert_int_equal(run_script(f, "load", input, NULL, &out), 1);   /* :solution after :new */
    assert_non_null(strstr(out, "loaded "));
    assert_non_null(strstr(out, "duals:\n  cap = 1\n"));
    assert_non_null(strstr(out, "round 0 (formulate): ok"));
    assert_non_null(strstr(out, "no formulation yet"));
    free(out);
    cJSON *reqs = ts_fake_requests(f, 1);
    assert_int_equal(cJSON_GetArraySize(reqs), 1);    /* nothing asked after the load */
    cJSON_Delete(reqs);
    ts_fake_stop(f);
}

static void test_edit(void **state)
{
    (void)state;
    ts_fake *f = start_server();
    const char *ed = ts_cli_path("ed.sh");
    const char *script = "#!/bin/sh\nsed -i 's/x <= 3/x <= 2/' \"$1\"\n";
    assert_int_equal(ts_write_file(ed, script, strlen(script)), 0);
    chmod(ed, 0755);
    char env[1200], *out;
    snprintf(env, sizeof env, "VISUAL= EDITOR=%s", ed);
    assert_int_equal(run_script(f, "edit", "chairs\n\n:edit\n:formulation json\n", env, &out), 0);
    assert_non_null(strstr(out, "objective: 2\n"));
    assert_non_null(strstr(out, "x <= 2"));
    free(out);
    /* an editor that fails: a message, the model unchanged, the session goes on */
    assert_int_equal(run_script(f, "edit2", "chairs\n\n:edit\n:solution\n", "VISUAL=false", &out), 1);
    assert_non_null(strstr(out, "the editor exited with status 1: the formulation is unchanged"));
    assert_non_null(strstr(out, "  x = 3\n"));
    free(out);
    ts_fake_stop(f);
}

static void test_bad_input(void **state)
{
    (void)state;
    ts_fake *f = start_server();
    const char *corrupt = ts_cli_path("corrupt.json");
    assert_int_equal(ts_write_file(corrupt, "{\"optagent_session\": 1, \"probl", 30), 0);
    ts_str in = {0};
    const char *other = ts_cli_path("other.json");
    assert_int_equal(ts_write_file(other, "{\"format\": 1}", 13), 0);
    ts_str_printf(&in, ":frobnicate\n:solution\nchairs\n\n:export /nonexistent-dir/m.lp\n"
                       ":export %s\n:load %s\n:load %s\n:load %s\n:set colour blue\n"
                       ":set temperature hot\n",
                  ts_cli_path("m.txt"), corrupt, other, ts_cli_path("absent.json"));
    for (int i = 0; i < 1100; i++) {       /* a pasted problem of 1.1 MB */
        char line[1001];
        memset(line, 'a' + i % 26, 1000);
        line[1000] = 0;
        ts_str_printf(&in, "%s\n", line);
    }
    ts_str_printf(&in, "\nbroken endpoint\n\n:help\n");
    char *out = NULL;
    assert_int_equal(run_script(f, "bad", in.s, NULL, &out), 1);
    ts_str_free(&in);
    assert_non_null(strstr(out, "unknown command ':frobnicate' (:help lists them)"));
    assert_non_null(strstr(out, "no formulation yet"));
    assert_non_null(strstr(out, "export failed: cannot write /nonexistent-dir/m.lp"));
    assert_non_null(strstr(out, "must end in .json, .lp, .mps or .mod"));
    assert_non_null(strstr(out, "cannot load "));
    assert_non_null(strstr(out, "not valid JSON; the session is unchanged"));
    assert_non_null(strstr(out, "not an optagent session"));
    assert_non_null(strstr(out, "absent.json"));
    assert_non_null(strstr(out, "unknown setting 'colour'"));
    assert_non_null(strstr(out, ":set temperature expects a number"));
    assert_non_null(strstr(out, "the problem is longer than 1048576 bytes: not sent"));
    assert_non_null(strstr(out, "LLM request failed"));
    /* after every error the session went on: the last command answered */
    const char *last = strstr(out, "LLM request failed");
    assert_non_null(strstr(last, "  :quit"));
    free(out);
    ts_fake_stop(f);
}

/* ---- terminal sessions under tmux ---- */

static char tmux_sock[64];

static int have_tmux(void)
{
    if (access("/usr/bin/tmux", X_OK) == 0) return 1;
    char *out = NULL;
    int rc = ts_cli_sh(&out, "command -v tmux");
    free(out);
    if (rc != 0) fprintf(stderr, "# tmux is not installed: skipping the terminal tests\n");
    return rc == 0;
}

static void sleep_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

static void tmux_stop(void)
{
    if (*tmux_sock) ts_cli_sh(NULL, "tmux -L %s kill-server 2>/dev/null", tmux_sock);
}

static void tmux_start(ts_fake *f, const char *hist, const char *env)
{
    snprintf(tmux_sock, sizeof tmux_sock, "optagent-test-%ld", (long)getpid());
    tmux_stop();                  /* what a failed test left */
    char *out = NULL;
    /* optagent with no arguments: the REPL, as stdin and stdout are the terminal */
    int rc = ts_cli_sh(&out, "tmux -L %s new-session -d -s t -x 120 -y 50 "
                             "\"%s OPTAGENT_HISTFILE=%s TERM=xterm %s %s/optagent; echo EXIT=\\$?; sleep 60\"",
                       tmux_sock, ts_cli_env(f), hist, env, ts_cli_bin());
    free(out);
    assert_int_equal(rc, 0);
}

static void tmux_keys(const char *keys)
{
    assert_int_equal(ts_cli_sh(NULL, "tmux -L %s send-keys -t t %s", tmux_sock, keys), 0);
}

/* The screen (with its colour escapes when escapes). */
static char *tmux_screen_e(int escapes)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p %s -t t -S -200", tmux_sock, escapes ? "-e" : "");
    size_t len;
    int st;
    char *out = ts_run_capture(cmd, &len, &st);
    assert_non_null(out);
    return out;
}

static char *tmux_screen(void) { return tmux_screen_e(0); }

/* Waits up to ms for text on the screen; the milliseconds it took, or -1. */
static int tmux_wait(const char *text, int ms)
{
    for (int t = 0; t <= ms; t += 50) {
        char *s = tmux_screen();
        int found = strstr(s, text) != NULL;
        free(s);
        if (found) return t;
        sleep_ms(50);
    }
    char *s = tmux_screen();
    fprintf(stderr, "# waited %d ms for '%s'; the screen:\n%s\n", ms, text, s);
    free(s);
    return -1;
}

static void test_terminal_session(void **state)
{
    (void)state;
    if (!have_tmux()) { skip(); return; }
    ts_fake *f = start_server();
    const char *hist = ts_cli_path("history");
    tmux_start(f, hist, "");
    assert_true(tmux_wait("optagent>", 5000) >= 0);
    char *scr = tmux_screen_e(1);
    assert_non_null(strstr(scr, "\033[1moptagent>"));    /* colour on a terminal */
    free(scr);
    tmux_keys("'A shop makes chairs' Enter");
    assert_true(tmux_wait("...>", 3000) >= 0);
    tmux_keys("Enter");
    assert_true(tmux_wait("outcome: ok after 0 correction rounds", 5000) >= 0);
    tmux_keys("':form' Tab");                       /* completion */
    assert_true(tmux_wait("optagent> :formulation", 3000) >= 0);
    tmux_keys("' json' Enter");
    assert_true(tmux_wait("\"expression\":", 3000) >= 0);
    tmux_keys("':formulation' Enter");
    assert_true(tmux_wait("subject to:", 3000) >= 0);
    /* Ctrl-C during a request the server never answers */
    tmux_keys("'stall please' Enter Enter");
    assert_true(tmux_wait("s (Ctrl-C cancels)", 2000) >= 0);   /* the spinner */
    sleep_ms(300);
    tmux_keys("C-c");
    int t = tmux_wait("optagent: interrupted", 1500);
    assert_true(t >= 0 && t <= 1200);
    tmux_keys("':help' Enter");                     /* the prompt works */
    assert_true(tmux_wait("  :quit", 3000) >= 0);
    tmux_keys("C-d");
    assert_true(tmux_wait("EXIT=", 3000) >= 0);
    struct stat st;
    assert_int_equal(stat(hist, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    tmux_stop();
    ts_fake_stop(f);
}

static void test_history_across_sessions(void **state)
{
    (void)state;
    if (!have_tmux()) { skip(); return; }
    ts_fake *f = start_server();
    const char *hist = ts_cli_path("history2");
    tmux_start(f, hist, "");
    assert_true(tmux_wait("optagent>", 5000) >= 0);
    tmux_keys("':set max-corrections 2' Enter");
    assert_true(tmux_wait("max-corrections = 2", 3000) >= 0);
    tmux_keys("'typed, then dropped' C-c");           /* Ctrl-C at the prompt clears the line */
    assert_true(tmux_wait("^C", 3000) >= 0);
    tmux_keys("C-d");
    assert_true(tmux_wait("EXIT=0", 3000) >= 0);
    tmux_stop();
    /* the second session recalls the first one's entry with Up; no colour */
    tmux_start(f, hist, "NO_COLOR=1");
    assert_true(tmux_wait("optagent>", 5000) >= 0);
    char *scr = tmux_screen_e(1);
    assert_null(strstr(scr, "\033[1m"));
    free(scr);
    tmux_keys("Up");
    assert_true(tmux_wait("optagent> :set max-corrections 2", 3000) >= 0);
    tmux_keys("C-u C-d");
    assert_true(tmux_wait("EXIT=", 3000) >= 0);
    tmux_stop();
    ts_fake_stop(f);
}

static int teardown(void **state)
{
    tmux_stop();
    if (*tmux_sock) {               /* the socket file tmux leaves */
        char p[256];
        snprintf(p, sizeof p, "/tmp/tmux-%ld/%s", (long)getuid(), tmux_sock);
        unlink(p);
    }
    return ts_cli_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_formulation_revise),
        cmocka_unit_test(test_export_each_format),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_terminal_session),
        cmocka_unit_test(test_history_across_sessions),
    };
    return cmocka_run_group_tests(tests, ts_cli_setup, teardown);
}
