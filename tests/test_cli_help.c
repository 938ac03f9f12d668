/* Help and installation as a Unix user meets them: `optagent help CMD`,
 * `optagent CMD help` and `optagent CMD --help` print the same text for
 * every command; -v and --quiet; `ask` on a terminal says it reads
 * standard input; the manual page renders without a warning and has a
 * section per command; the bash completion, sourced in bash, offers
 * commands, options, option values and files; `make install` installs the
 * manual page and both completions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "db/db.h"

static const char *const commands[] = { "solve", "show", "ask", "batch", "eval", "runs", "merge",
                                        "learn", "repl", "library", "serve", "mcp" };
#define NCOMMANDS (sizeof commands / sizeof *commands)

static int have(const char *tool)
{
    return ts_cli_sh(NULL, "command -v %s >/dev/null 2>&1", tool) == 0;
}

static void test_three_ways_to_help(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char *a, *b, *c, want[64];
        assert_int_equal(ts_cli_sh(&a, "%s/optagent %s --help", ts_cli_bin(), commands[i]), 0);
        assert_int_equal(ts_cli_sh(&b, "%s/optagent help %s", ts_cli_bin(), commands[i]), 0);
        assert_int_equal(ts_cli_sh(&c, "%s/optagent %s help", ts_cli_bin(), commands[i]), 0);
        snprintf(want, sizeof want, "usage: optagent %s", commands[i]);
        if (strncmp(a, want, strlen(want))) fail_msg("%s --help: %.80s", commands[i], a);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        free(a); free(b); free(c);
    }
    char *o;
    assert_int_equal(ts_cli_sh(&o, "%s/optagent help", ts_cli_bin()), 0);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n  %s", commands[i]);
        if (!strstr(o, line)) fail_msg("'%s' missing from optagent help", commands[i]);
    }
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent help nosuch 2>&1", ts_cli_bin()), 2);
    assert_non_null(strstr(o, "not a command"));
    free(o);
    /* a literal percent sign, not printf's doubled one */
    assert_int_equal(ts_cli_sh(&o, "%s/optagent eval --help", ts_cli_bin()), 0);
    assert_non_null(strstr(o, "then 5% relative"));
    assert_null(strstr(o, "%%"));
    free(o);
}

static void test_verbose_and_quiet(void **state)
{
    (void)state;
    ts_fake *f = ts_cli_fake(2, 0, NULL);
    const char *probs = ts_cli_problems("v.jsonl", 2);
    char *o;
    /* --quiet: nothing on stderr when all goes well (not even the missing
     * library note) */
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent --quiet batch %s --db %s 2>&1 >/dev/null", ts_cli_env(f),
                               ts_cli_bin(), probs, ts_cli_path("q.db")), 0);
    assert_string_equal(o, "");
    free(o);
    /* -v: each request and each finished problem */
    assert_int_equal(ts_cli_sh(&o, "%s %s/optagent -v batch %s --db %s --no-progress -j 1 2>&1 >/dev/null",
                               ts_cli_env(f), ts_cli_bin(), probs, ts_cli_path("v.db")), 0);
    assert_non_null(strstr(o, "formulate request: HTTP 200, 1 attempt"));
    assert_non_null(strstr(o, "q1: correct"));
    assert_non_null(strstr(o, "q2: correct"));
    free(o);
    assert_int_equal(ts_cli_sh(&o, "%s/optagent -v --quiet solve x.json 2>&1", ts_cli_bin()), 2);
    assert_non_null(strstr(o, "not both"));
    free(o);
    ts_fake_stop(f);
}

/* On a terminal (script(1) gives one) with no problem argument, ask says
 * where it is reading from; a pipe gets no such line. */
static void test_ask_says_it_reads_stdin(void **state)
{
    (void)state;
    if (!have("script")) { skip(); return; }
    char *o;
    ts_cli_sh(&o, "(sleep 0.5; printf '\\004') | OPTAGENT_BASE_URL=http://127.0.0.1:1/v1 OPTAGENT_MODEL=x "
                  "timeout 20 script -qec '%s/optagent ask --no-library' /dev/null 2>&1", ts_cli_bin());
    if (!strstr(o, "reading the problem from standard input")) fail_msg("got: %s", o);
    assert_non_null(strstr(o, "the problem text is empty"));
    free(o);
    assert_int_equal(ts_cli_sh(&o, "echo | OPTAGENT_BASE_URL=http://127.0.0.1:1/v1 OPTAGENT_MODEL=x "
                                   "%s/optagent ask --no-library 2>&1", ts_cli_bin()), 1);
    assert_null(strstr(o, "reading the problem"));
    free(o);
}

static void test_man_page(void **state)
{
    (void)state;
    char *page;
    size_t len;
    assert_non_null(page = ts_read_file("docs/optagent.1", &len));
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "\n.SS %s", commands[i]);
        if (!strstr(page, head)) fail_msg("docs/optagent.1 has no section for %s", commands[i]);
    }
    free(page);
    if (!have("man")) { skip(); return; }
    char *o;
    ts_cli_sh(&o, "MANWIDTH=80 man --warnings -l docs/optagent.1 2>&1 >/dev/null");
    if (*o) fail_msg("man --warnings: %s", o);
    free(o);
    assert_int_equal(ts_cli_sh(&o, "MANWIDTH=80 man -l docs/optagent.1 2>/dev/null | col -b"), 0);
    assert_non_null(strstr(o, "--resume"));
    free(o);
}

/* The candidates bash would offer for the words given (the last one is
 * being completed), one per line. */
static char *complete(const char *words)
{
    char *o, cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    int rc = ts_cli_sh(&o, "cd %s && bash --norc -c '. \"$0\"; COMP_WORDS=(%s); "
                           "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _optagent; "
                           "printf \"%%s\\n\" \"${COMPREPLY[@]}\" | sort' %s/scripts/completion/optagent.bash",
                       ts_cli_path("comp"), words, cwd);
    assert_int_equal(rc, 0);
    return o;
}

static void test_bash_completion(void **state)
{
    (void)state;
    if (!have("bash")) { skip(); return; }
    assert_int_equal(ts_cli_sh(NULL, "mkdir -p %s/sub && cd %s && touch m.json p.jsonl r.db notes.txt",
                               ts_cli_path("comp"), ts_cli_path("comp")), 0);
    static const struct { const char *words, *want; } cases[] = {
        { "optagent s", "serve\nshow\nsolve\n" },
        { "optagent m", "mcp\nmerge\n" },
        { "optagent solve --solver \"\"", "auto\nenum\nglpk\nipopt\n" },
        { "optagent -v r", "repl\nruns\n" },
        { "optagent batch --res", "--resume\n" },
        { "optagent eval --format \"\"", "html\njson\nmarkdown\n" },
        { "optagent batch --format opt", "optibench\noptmath\n" },
        { "optagent batch --match \"\"", "alphaopt\ndefault\noptibench\norlm\n" },
        { "optagent solve \"\"", "m.json\nsub\n" },
        { "optagent batch \"\"", "m.json\np.jsonl\nsub\n" },
        { "optagent runs --db \"\"", "r.db\nsub\n" },
        { "optagent library s", "search\nshow\nstats\n" },
        { "optagent help le", "learn\n" },
        { "optagent runs --", "--db\n--help\n--json\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *o = complete(cases[i].words);
        if (strcmp(o, cases[i].want)) fail_msg("'%s': got\n%swant\n%s", cases[i].words, o, cases[i].want);
        free(o);
    }
    /* run ids and uuid prefixes, from `optagent runs` on the --db named */
    char dbfile[1024], cwd[4096], words[8192];
    snprintf(dbfile, sizeof dbfile, "%s/r.db", ts_cli_path("comp"));
    db_code dc;
    char err[256];
    db *d = db_open(dbfile, &dc, err, sizeof err);
    assert_non_null(d);
    int64_t id;
    assert_int_equal(db_run_create_with_uuid(d, "5eed0000-0000-4000-8000-000000000001", "batch", "{}", NULL, &id), DB_OK);
    db_close(d);
    assert_non_null(getcwd(cwd, sizeof cwd));
    const char *b = ts_cli_bin();   /* absolute: complete() runs in another directory */
    snprintf(words, sizeof words, "%s%s%s/optagent eval --db r.db \"\"", b[0] == '/' ? "" : cwd,
             b[0] == '/' ? "" : "/", b);
    char *o = complete(words);
    assert_string_equal(o, "1\n5eed0000\n");
    free(o);
}

/* make install puts the manual page and both completions under DESTDIR
 * (a dry run: nothing is built or copied). */
static void test_install_lists_the_new_files(void **state)
{
    (void)state;
    if (!have("make")) { skip(); return; }
    char *o;
    assert_int_equal(ts_cli_sh(&o, "make -n -s install uninstall DESTDIR=/nowhere BUILD=%s 2>&1", ts_cli_bin()), 0);
    const char *want[] = { "share/man/man1/optagent.1", "bash-completion/completions/optagent",
                           "zsh/site-functions/_optagent", "rm -f /nowhere" };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(o, want[i])) fail_msg("make install: no %s in\n%s", want[i], o);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_ways_to_help),
        cmocka_unit_test(test_verbose_and_quiet),
        cmocka_unit_test(test_ask_says_it_reads_stdin),
        cmocka_unit_test(test_man_page),
        cmocka_unit_test(test_bash_completion),
        cmocka_unit_test(test_install_lists_the_new_files),
    };
    return cmocka_run_group_tests_name("cli_help", tests, ts_cli_setup, ts_cli_teardown);
}
