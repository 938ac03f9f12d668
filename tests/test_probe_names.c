/* Names are free text where they come from a reply or a file (report
 * quantities, set elements): `optagent ask` prints them with control bytes
 * as '?', so a newline or an escape sequence from the LLM's formulation
 * cannot break the output's lines or drive the terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "tests/support.h"
#include "tests/support_cli.h"
#include "tests/support_fake.h"

static void test_ask_prints_names_without_control_bytes(void **state)
{
    (void)state;
    const char *model =
        "```json\n{\"format\":1,\"sets\":[{\"name\":\"S\",\"elements\":[\"a\\u001b[2J\",\"b\"]}],"
        "\"variables\":[{\"name\":\"x\",\"index\":[\"S\"],\"upper\":2}],"
        "\"objective\":{\"sense\":\"max\",\"expression\":\"sum{s in S} x[s]\"},\"constraints\":[],"
        "\"report\":[{\"name\":\"two\\nlines \\u001b[31mred\",\"expression\":\"x['b']\"}]}\n```";
    cJSON *script = cJSON_CreateObject();
    cJSON_AddStringToObject(script, "default", model);
    char *text = cJSON_PrintUnformatted(script);
    cJSON_Delete(script);
    ts_fake *f = ts_fake_start(text);
    free(text);
    assert_non_null(f);
    char *out = NULL;
    int code = ts_cli_sh(&out, "env XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s OPTAGENT_BASE_URL=%s "
                               "OPTAGENT_MODEL=fake %s/optagent ask --no-library 'maximize x' 2>/dev/null",
                         ts_cli_path(""), ts_cli_path(""), ts_fake_base_url(f), ts_cli_bin());
    ts_fake_stop(f);
    assert_int_equal(code, 0);
    assert_null(strchr(out, 0x1b));
    assert_non_null(strstr(out, "  two?lines ?[31mred = 2\n"));
    assert_non_null(strstr(out, "  x[a?[2J] = 2\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_prints_names_without_control_bytes),
    };
    return cmocka_run_group_tests_name("probe_names", tests, ts_cli_setup, ts_cli_teardown);
}
