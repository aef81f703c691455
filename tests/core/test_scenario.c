/* SPDX-License-Identifier: MIT */
/* Scenario files' sections and keys to settings and rules (src/core/scenario.c), fed as the
 * INI API hands them over; every mistake named with its section and key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/scenario.h"

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

static BOOL wide_eq(const WCHAR *a, const char *b)
{
    if (!a) return FALSE;
    while (*a && *b && *a == (unsigned char)*b) ++a, ++b;
    return !*a && !*b;
}

/* Feeds sections (a name) and lines ("key=value") in order; NULL ends. Returns the first failure,
 * or scenario_finish's answer. */
static HRESULT feed(struct scenario *scenario, const WCHAR *const *items)
{
    HRESULT hr;

    for (; *items; ++items)
    {
        const WCHAR *item = *items;
        if (item[0] == '[') hr = scenario_section(scenario, item + 1);
        else hr = scenario_line(scenario, item);
        if (FAILED(hr)) return hr;
    }
    return scenario_finish(scenario);
}

static void test_valid_scenario(void **state)
{
    static const WCHAR *const items[] =
    {
        L"[openbits", L"time = virtual", L"unmatched=fail", L"unmatched-error = name",
        L"[busy twice", L"url = http://h/f", L"times = 2", L"status = 503",
        L"[the file", L"url=http://h/*", L"match = wildcard", L"size = 1M", L"content = \"hé\"",
        L"header = X-A: 1", L"header = X-B: 2", L"ranges = no", L"size-known=no",
        L"modified = 1994-11-06T08:49:37Z", L"reset-after = 0x10", L"bytes-per-second = 2K",
        L"[down", L"url = http://down/", L"match=prefix", L"error = connect",
        L"[hex", L"url = http://hex/", L"action = serve", L"content-hex = 00 ff 7F",
        L"[file", L"url = http://file/", L"content-file = data.bin", L"; a comment",
        NULL,
    };
    struct scenario scenario;
    struct scenario_rule *rule;
    UINT64 ticks = (784111777ull + 11644473600ull) * 10000000;

    scenario_init(&scenario);
    assert_hr(S_OK, feed(&scenario, items));
    assert_string_equal(scenario.error, "");
    assert_true(scenario.time_set);
    assert_true(scenario.virtual_time);
    assert_true(scenario.unmatched_set);
    assert_true(scenario.fail_unmatched);
    assert_hr(SCRIPT_E_NAME, scenario.unmatched_error);
    assert_int_equal(scenario.count, 5);

    rule = &scenario.rules[0];
    assert_true(wide_eq(rule->section, "busy twice"));
    assert_true(wide_eq(rule->spec.pattern, "http://h/f"));
    assert_int_equal(rule->spec.match, SCRIPT_MATCH_EXACT);
    assert_int_equal(rule->spec.times, 2);
    assert_int_equal(rule->spec.action, SCRIPT_STATUS);      /* inferred from status */
    assert_int_equal(rule->spec.status, 503);

    rule = &scenario.rules[1];
    assert_int_equal(rule->spec.match, SCRIPT_MATCH_WILDCARD);
    assert_int_equal(rule->spec.action, SCRIPT_SERVE);
    assert_int_equal(rule->spec.size, 1024 * 1024);
    assert_int_equal(rule->spec.content_size, 3);             /* UTF-8 */
    assert_memory_equal(rule->spec.content, "h\xc3\xa9", 3);
    assert_true(wide_eq(rule->spec.headers, "X-A: 1\r\nX-B: 2\r\n"));
    assert_int_equal(rule->spec.flags, SCRIPT_NO_RANGES | SCRIPT_NO_SIZE);
    assert_int_equal(rule->spec.modified.dwLowDateTime, (DWORD)ticks);
    assert_int_equal(rule->spec.modified.dwHighDateTime, (DWORD)(ticks >> 32));
    assert_int_equal(rule->spec.reset_after, 16);
    assert_int_equal(rule->spec.bytes_per_second, 2048);

    rule = &scenario.rules[2];
    assert_int_equal(rule->spec.match, SCRIPT_MATCH_PREFIX);
    assert_int_equal(rule->spec.action, SCRIPT_FAIL);         /* inferred from error */
    assert_hr(SCRIPT_E_CONNECT, rule->spec.error);

    rule = &scenario.rules[3];
    assert_int_equal(rule->spec.content_size, 3);
    assert_memory_equal(rule->spec.content, "\x00\xff\x7f", 3);

    rule = &scenario.rules[4];
    assert_true(wide_eq(rule->content_file, "data.bin"));
    assert_null(rule->spec.content);
    scenario_free(&scenario);
}

static void check_mistake(const WCHAR *const *items, const char *message)
{
    struct scenario scenario;

    scenario_init(&scenario);
    assert_hr(E_INVALIDARG, feed(&scenario, items));
    assert_string_equal(scenario.error, message);
    scenario_free(&scenario);
}

static void test_mistakes(void **state)
{
    static const WCHAR *const unknown_key[] = { L"[a", L"url = http://h/", L"stauts = 404", NULL };
    static const WCHAR *const bad_status[] = { L"[a", L"url = http://h/", L"status = 200", NULL };
    static const WCHAR *const no_url[] = { L"[a", L"status = 404", NULL };
    static const WCHAR *const twice[] = { L"[a", L"url = http://h/", L"url = http://i/", NULL };
    static const WCHAR *const bad_time[] = { L"[openbits", L"time = later", NULL };
    static const WCHAR *const bad_error[] = { L"[b", L"url = u", L"error = sometimes", NULL };
    static const WCHAR *const two_contents[] = { L"[a", L"url = u", L"content = x", L"content-hex = 00", NULL };
    static const WCHAR *const bad_number[] = { L"[a", L"url = u", L"size = 12Q", NULL };
    static const WCHAR *const bad_date[] = { L"[a", L"url = u", L"modified = 1994-13-06T08:49:37Z", NULL };
    static const WCHAR *const no_equal[] = { L"[a", L"url", NULL };
    static const WCHAR *const stray_error[] = { L"[openbits", L"unmatched-error = tls", NULL };
    static const WCHAR *const bad_header[] = { L"[a", L"url = u", L"header = nothing", NULL };
    static const WCHAR *const success_error[] = { L"[a", L"url = u", L"error = 0", NULL };

    check_mistake(unknown_key, "[a] stauts: unknown key");
    check_mistake(bad_status, "[a]: a status rule needs an HTTP status from 100 to 599 other than 200 and 206");
    check_mistake(no_url, "[a]: no pattern (the remote name to match)");
    check_mistake(twice, "[a] url: given twice");
    check_mistake(bad_time, "[openbits] time: must be real or virtual");
    check_mistake(bad_error, "[b] error: must be connect, name, timeout, tls, reset or an error number");
    check_mistake(two_contents, "[a] content-hex: only one of content, content-hex and content-file");
    check_mistake(bad_number, "[a] size: must be a number (K, M, G allowed)");
    check_mistake(bad_date, "[a] modified: must be YYYY-MM-DDTHH:MM:SSZ");
    check_mistake(no_equal, "[a] url: not a \"key = value\" line");
    check_mistake(stray_error, "[openbits] unmatched-error: only with unmatched = fail");
    check_mistake(bad_header, "[a] header: must be \"Name: value\"");
    check_mistake(success_error, "[a] error: must be connect, name, timeout, tls, reset or an error number");
}

static void test_error_numbers(void **state)
{
    HRESULT code;

    assert_true(scenario_parse_error(L"12029", &code));
    assert_hr(HRESULT_FROM_WIN32(12029), code);
    assert_true(scenario_parse_error(L"0x80190194", &code));
    assert_hr(BG_E_HTTP_ERROR_404, code);
    assert_true(scenario_parse_error(L"TLS", &code));
    assert_hr(SCRIPT_E_TLS, code);
    assert_false(scenario_parse_error(L"0x00040000", &code));
    assert_false(scenario_parse_error(L"", &code));
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_valid_scenario),
        cmocka_unit_test(test_mistakes),
        cmocka_unit_test(test_error_numbers),
    };
    return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
