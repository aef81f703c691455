/* SPDX-License-Identifier: MIT */
/* The test double's scripted network in the core (src/core/script.c): rule checks, matching
 * (exact, prefix, wildcard, first match wins, limited rules falling through), what a rule
 * answers (content, sizes, ranges, headers, statuses, errors, resets, throttling against a
 * clock), and the journal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/script.h"

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

static BOOL wide_eq(const WCHAR *a, const char *b)
{
    if (!a) return FALSE;
    while (*a && *b && *a == (unsigned char)*b) ++a, ++b;
    return !*a && !*b;
}

/* TRUE when the wide string contains the ASCII one. */
static BOOL wide_contains(const WCHAR *haystack, const char *needle)
{
    size_t i, n = strlen(needle);

    for (; haystack && *haystack; ++haystack)
    {
        for (i = 0; i < n && haystack[i] == (unsigned char)needle[i]; ++i) {}
        if (i == n) return TRUE;
    }
    return FALSE;
}

static struct script_rule *add(struct script *script, const struct script_rule_spec *spec)
{
    struct script_rule *rule;
    const char *reason;

    assert_hr(S_OK, script_rule_create(spec, &rule, &reason));
    script_add(script, rule);
    return rule;
}

static struct transport_request request(const WCHAR *url, UINT64 offset, UINT64 length)
{
    struct transport_request req;

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.kind = REMOTE_HTTP;
    req.offset = offset;
    req.length = length;
    return req;
}

static void test_rule_checks(void **state)
{
    struct script_rule_spec spec = { 0 };
    struct script_rule *rule = (struct script_rule *)0xdeadbeef;
    const char *reason;

    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    assert_null(rule);
    assert_non_null(reason);
    spec.pattern = L"";
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.pattern = L"http://a/";
    spec.match = 3;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.match = SCRIPT_MATCH_PREFIX;
    spec.action = 7;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.action = SCRIPT_STATUS;
    spec.status = 200;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.status = 600;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.status = 503;
    spec.flags = 4;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.flags = 0;
    spec.headers = L"no colon here\r\n";
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.headers = L"X-A: 1\nX-B: 2";
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));
    assert_true(wide_eq(rule->headers, "X-A: 1\r\nX-B: 2\r\n"));
    script_rule_release(rule);

    spec.action = SCRIPT_FAIL;
    spec.error = S_OK;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.error = SCRIPT_E_CONNECT;
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));
    script_rule_release(rule);

    spec.action = SCRIPT_SERVE;
    spec.content_size = 3;
    spec.content = NULL;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
}

static void test_patterns(void **state)
{
    assert_true(script_pattern_matches(SCRIPT_MATCH_EXACT, L"http://h/a", L"HTTP://H/A"));
    assert_false(script_pattern_matches(SCRIPT_MATCH_EXACT, L"http://h/a", L"http://h/ab"));
    assert_true(script_pattern_matches(SCRIPT_MATCH_PREFIX, L"http://h/", L"http://h/x/y"));
    assert_true(script_pattern_matches(SCRIPT_MATCH_PREFIX, L"http://h/", L"http://h/"));
    assert_false(script_pattern_matches(SCRIPT_MATCH_PREFIX, L"http://h/x", L"http://h/"));
    assert_true(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"http://*/files/*.bin", L"http://host:80/files/a/b.bin"));
    assert_false(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"http://*/files/*.bin", L"http://host/files/a.binx"));
    assert_true(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"http://h/?.txt", L"http://h/a.txt"));
    assert_false(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"http://h/?.txt", L"http://h/ab.txt"));
    assert_true(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"*", L""));
    assert_true(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"*a*a*a", L"aaaa"));
    assert_false(script_pattern_matches(SCRIPT_MATCH_WILDCARD, L"*a*a*b", L"aaaa"));
}

static void test_first_match_and_fall_through(void **state)
{
    struct script_rule_spec twice = { L"http://h/f", SCRIPT_MATCH_EXACT, 2, SCRIPT_STATUS, 0, 0, NULL, 0, NULL,
                                      { 0, 0 }, 0, 0, 503, S_OK };
    struct script_rule_spec serve = { 0 };
    struct script_rule *first, *second, *match;
    struct script script;

    script_init(&script);
    first = add(&script, &twice);
    serve.pattern = L"http://h/";
    serve.match = SCRIPT_MATCH_PREFIX;
    second = add(&script, &serve);
    assert_int_equal(first->id, 1);
    assert_int_equal(second->id, 2);

    /* Twice the first rule, then it is used up and the second answers. */
    assert_ptr_equal(match = script_match(&script, L"http://h/f"), first);
    script_rule_release(match);
    assert_ptr_equal(match = script_match(&script, L"http://h/f"), first);
    script_rule_release(match);
    assert_ptr_equal(match = script_match(&script, L"http://h/f"), second);
    script_rule_release(match);
    assert_int_equal(first->used, 2);
    assert_int_equal(second->used, 1);
    assert_null(script_match(&script, L"http://other/"));

    /* A stream keeps its rule after the rule is removed. */
    match = script_match(&script, L"http://h/g");
    assert_hr(S_OK, script_remove(&script, second->id));
    assert_hr(S_FALSE, script_remove(&script, second->id));
    assert_false(match->listed);
    script_rule_release(match);
    assert_null(script_match(&script, L"http://h/g"));
    script_free(&script);
}

static void test_serve_whole_and_ranges(void **state)
{
    static const BYTE content[] = { 'a', 'b', 'c' };
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule;
    struct script script;
    BYTE buffer[16];
    UINT64 due;
    DWORD read;

    script_init(&script);
    spec.pattern = L"http://h/f";
    spec.content = content;
    spec.content_size = sizeof(content);
    spec.size = 10;                       /* the content repeats */
    spec.headers = L"X-Test: yes";
    spec.modified.dwHighDateTime = 0x01d9;
    rule = add(&script, &spec);

    req = request(L"http://h/f", 0, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_int_equal(response.file_size, 10);
    assert_false(response.ranged);
    assert_int_equal(response.modified.dwHighDateTime, 0x01d9);
    assert_true(wide_contains(response.headers, "HTTP/1.1 200 OK\r\n"));
    assert_true(wide_contains(response.headers, "Content-Length: 10\r\n"));
    assert_true(wide_contains(response.headers, "Accept-Ranges: bytes\r\n"));
    assert_true(wide_contains(response.headers, "Last-Modified: "));
    assert_true(wide_contains(response.headers, "X-Test: yes\r\n"));
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, 10);
    assert_memory_equal(buffer, "abcabcabca", 10);
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, 0);
    script_stream_close(&stream);
    transport_response_free(&response);

    /* A range: 206, the bytes at their offsets. */
    req = request(L"http://h/f", 4, 3);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_true(response.ranged);
    assert_int_equal(response.file_size, 10);
    assert_true(wide_contains(response.headers, "Content-Range: bytes 4-6/10\r\n"));
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, 3);
    assert_memory_equal(buffer, "bca", 3);
    script_stream_close(&stream);
    transport_response_free(&response);

    /* Past the end: 416. */
    req = request(L"http://h/f", 10, BG_LENGTH_TO_EOF);
    assert_hr(BG_E_INVALID_RANGE, script_open(rule, &req, 0, &stream, &response, &error));
    assert_int_equal(error.context, BG_ERROR_CONTEXT_REMOTE_FILE);

    /* Without range support the whole body from 0, not ranged; without a size none is said. */
    rule->flags = SCRIPT_NO_RANGES | SCRIPT_NO_SIZE;
    req = request(L"http://h/f", 4, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_false(response.ranged);
    assert_int_equal(response.file_size, BG_SIZE_UNKNOWN);
    assert_false(wide_contains(response.headers, "Content-Length"));
    assert_false(wide_contains(response.headers, "Accept-Ranges"));
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, 10);
    script_stream_close(&stream);
    transport_response_free(&response);
    script_free(&script);
}

static void test_formula_content(void **state)
{
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule;
    struct script script;
    BYTE buffer[100];
    UINT64 due;
    DWORD read, i;

    script_init(&script);
    spec.pattern = L"http://h/f";
    spec.size = 200000;
    rule = add(&script, &spec);
    req = request(L"http://h/f", 131042, 100);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, 100);
    for (i = 0; i < read; ++i) assert_int_equal(buffer[i], script_formula_byte(131042 + i));
    assert_int_equal(script_formula_byte(0), 0);
    assert_int_equal(script_formula_byte(65521), 1);
    script_stream_close(&stream);
    transport_response_free(&response);
    script_free(&script);
}

static void test_status_and_errors(void **state)
{
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule;
    struct script script;

    script_init(&script);
    spec.pattern = L"http://h/f";
    spec.action = SCRIPT_STATUS;
    spec.status = 404;
    rule = add(&script, &spec);
    req = request(L"http://h/f", 0, BG_LENGTH_TO_EOF);
    assert_hr(BG_E_HTTP_ERROR_404, script_open(rule, &req, 0, &stream, &response, &error));
    assert_hr(BG_E_HTTP_ERROR_404, error.code);
    assert_int_equal(error.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_true(wide_eq(error.protocol, "http"));
    assert_int_equal(rule->refs, 1);      /* a failed open keeps no reference */
    rule->status = 301;
    assert_hr(HRESULT_FROM_WIN32(301), script_open(rule, &req, 0, &stream, &response, &error));

    rule->action = SCRIPT_FAIL;
    rule->error = SCRIPT_E_NAME;
    assert_hr(SCRIPT_E_NAME, script_open(rule, &req, 0, &stream, &response, &error));
    assert_int_equal(error.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    rule->error = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    req.kind = REMOTE_LOCAL_PATH;
    assert_hr(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), script_open(rule, &req, 0, &stream, &response, &error));
    assert_int_equal(error.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_true(wide_eq(error.protocol, "file"));
    script_free(&script);
}

static void test_reset_after(void **state)
{
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule;
    struct script script;
    BYTE buffer[64];
    UINT64 due;
    DWORD read;

    script_init(&script);
    spec.pattern = L"http://h/f";
    spec.size = 100;
    spec.reset_after = 30;
    rule = add(&script, &spec);
    req = request(L"http://h/f", 0, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_hr(S_OK, script_read(&stream, buffer, 20, 0, &read, &due, &error));
    assert_int_equal(read, 20);
    assert_hr(S_OK, script_read(&stream, buffer, 20, 0, &read, &due, &error));
    assert_int_equal(read, 10);
    assert_hr(SCRIPT_E_RESET, script_read(&stream, buffer, 20, 0, &read, &due, &error));
    assert_int_equal(error.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    script_stream_close(&stream);
    transport_response_free(&response);

    /* Each connection gets its bytes: a resume from 30 gets 30 more. */
    req = request(L"http://h/f", 30, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, script_open(rule, &req, 0, &stream, &response, &error));
    assert_hr(S_OK, script_read(&stream, buffer, 64, 0, &read, &due, &error));
    assert_int_equal(read, 30);
    script_stream_close(&stream);
    transport_response_free(&response);
    script_free(&script);
}

static void test_throttle(void **state)
{
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule;
    struct script script;
    BYTE buffer[4000];
    UINT64 due, total = 0, now = 5000;
    DWORD read;

    script_init(&script);
    spec.pattern = L"http://h/f";
    spec.size = 3000;
    spec.bytes_per_second = 1000;
    rule = add(&script, &spec);
    req = request(L"http://h/f", 0, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, script_open(rule, &req, now, &stream, &response, &error));

    /* Nothing at the start: a quarter second's worth is due 250 ms in. */
    assert_hr(S_FALSE, script_read(&stream, buffer, sizeof(buffer), now, &read, &due, &error));
    assert_int_equal(read, 0);
    assert_int_equal(due, now + 250);
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), now + 250, &read, &due, &error));
    assert_int_equal(read, 250);
    total += read;
    /* A second later, a second's worth. */
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), now + 1250, &read, &due, &error));
    assert_int_equal(read, 1000);
    total += read;
    /* The whole file takes 3 s. */
    assert_hr(S_FALSE, script_read(&stream, buffer, sizeof(buffer), now + 1250, &read, &due, &error));
    assert_int_equal(due, now + 1500);
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), now + 3000, &read, &due, &error));
    total += read;
    assert_int_equal(total, 3000);
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), now + 3000, &read, &due, &error));
    assert_int_equal(read, 0);
    script_stream_close(&stream);
    transport_response_free(&response);
    script_free(&script);
}

static void test_http_date(void **state)
{
    FILETIME time;
    UINT64 ticks = (784111777ull + 11644473600ull) * 10000000;      /* 1994-11-06 08:49:37 UTC */
    WCHAR date[30];

    time.dwLowDateTime = (DWORD)ticks;
    time.dwHighDateTime = (DWORD)(ticks >> 32);
    script_http_date(&time, date);
    assert_true(wide_eq(date, "Sun, 06 Nov 1994 08:49:37 GMT"));
}

static void test_journal(void **state)
{
    FILETIME modified;
    UINT64 ticks = (784111777ull + 11644473600ull) * 10000000, seq, first;
    struct script_request *entry;
    struct script script;
    WCHAR *headers;
    size_t i;

    modified.dwLowDateTime = (DWORD)ticks;
    modified.dwHighDateTime = (DWORD)(ticks >> 32);
    assert_null(script_request_headers(NULL, 0, BG_LENGTH_TO_EOF, NULL));
    headers = script_request_headers(L"X-Client: 1", 0, BG_LENGTH_TO_EOF, &modified);
    assert_true(wide_eq(headers, "X-Client: 1\r\n"));
    free(headers);
    headers = script_request_headers(L"X-Client: 1\r\n", 100, BG_LENGTH_TO_EOF, &modified);
    assert_true(wide_eq(headers, "X-Client: 1\r\nRange: bytes=100-\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    free(headers);
    headers = script_request_headers(NULL, 10, 5, NULL);
    assert_true(wide_eq(headers, "Range: bytes=10-14\r\n"));

    script_init(&script);
    assert_hr(S_OK, script_journal_add(&script.journal, L"GET", L"http://h/f", headers, 10, 5, &first));
    entry = script_journal_get(&script.journal, first);
    assert_true(wide_eq(entry->verb, "GET"));
    assert_true(wide_eq(entry->url, "http://h/f"));
    assert_int_equal(entry->offset, 10);
    assert_int_equal(entry->length, 5);
    assert_null(script_journal_get(&script.journal, first + 1));

    /* Full: the oldest goes. */
    for (i = 1; i < SCRIPT_JOURNAL_MAX + 1; ++i)
        assert_hr(S_OK, script_journal_add(&script.journal, L"GET", L"u", NULL, i, 0, &seq));
    assert_int_equal(script.journal.count, SCRIPT_JOURNAL_MAX);
    assert_null(script_journal_get(&script.journal, first));
    assert_int_equal(script_journal_get(&script.journal, seq)->offset, SCRIPT_JOURNAL_MAX);
    script_journal_clear(&script.journal);
    assert_int_equal(script.journal.count, 0);
    assert_null(script_journal_get(&script.journal, seq));
    script_free(&script);
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_rule_checks),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_first_match_and_fall_through),
        cmocka_unit_test(test_serve_whole_and_ranges),
        cmocka_unit_test(test_formula_content),
        cmocka_unit_test(test_status_and_errors),
        cmocka_unit_test(test_reset_after),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_journal),
    };
    return cmocka_run_group_tests_name("script", tests, NULL, NULL);
}
