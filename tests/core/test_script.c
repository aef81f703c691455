/* SPDX-License-Identifier: MIT */
/* The test double's scripted network in the core (src/core/script.c): rule checks, matching
 * (exact, prefix, wildcard, first match wins, limited rules falling through), what a rule
 * answers (content, sizes, ranges, headers, statuses, errors, resets, throttling against a
 * clock), the upload rules (a scripted BITS server's answers, judged by the client's half of
 * the protocol, src/core/upload.c, as the engine judges them; rejections; an upload-reply's
 * reply), and the journal. */
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
    assert_ptr_equal(match = script_match(&script, L"http://h/f", NULL), first);
    script_rule_release(match);
    assert_ptr_equal(match = script_match(&script, L"http://h/f", NULL), first);
    script_rule_release(match);
    assert_ptr_equal(match = script_match(&script, L"http://h/f", NULL), second);
    script_rule_release(match);
    assert_int_equal(first->used, 2);
    assert_int_equal(second->used, 1);
    assert_null(script_match(&script, L"http://other/", NULL));

    /* A stream keeps its rule after the rule is removed. */
    match = script_match(&script, L"http://h/g", NULL);
    assert_hr(S_OK, script_remove(&script, second->id));
    assert_hr(S_FALSE, script_remove(&script, second->id));
    assert_false(match->listed);
    script_rule_release(match);
    assert_null(script_match(&script, L"http://h/g", NULL));
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


/* --- uploads ----------------------------------------------------------------------------------- */

static void test_upload_rule_checks(void **state)
{
    static const BYTE text[] = "reply";
    struct script_rule_spec spec = { 0 };
    struct script_rule *rule;
    const char *reason;

    spec.pattern = L"http://h/up";
    spec.action = SCRIPT_ACCEPT;
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));
    script_rule_release(rule);
    spec.content = text;
    spec.content_size = 5;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));     /* content: REPLY's */
    spec.action = SCRIPT_REPLY;
    spec.flags = SCRIPT_NO_RANGES | SCRIPT_PACKET(BITS_PACKET_FRAGMENT);
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));
    script_rule_release(rule);
    spec.flags = SCRIPT_APPLICATION_ERROR;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.content = NULL;
    spec.content_size = 0;
    spec.flags = 0;

    spec.action = SCRIPT_REJECT;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));     /* neither status nor error */
    spec.status = 201;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.status = 413;
    spec.error = 5;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.error = BG_E_TOO_LARGE;
    spec.flags = SCRIPT_APPLICATION_ERROR | SCRIPT_PACKET(BITS_PACKET_CREATE_SESSION);
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));
    script_rule_release(rule);
    spec.status = 0;
    assert_hr(S_OK, script_rule_create(&spec, &rule, &reason));              /* an error alone */
    script_rule_release(rule);
    spec.size = 10;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
    spec.size = 0;
    spec.flags = 0x2000;
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));

    spec.action = SCRIPT_SERVE;
    spec.flags = SCRIPT_PACKET(BITS_PACKET_PING);                          /* SERVE takes no packet */
    assert_hr(E_INVALIDARG, script_rule_create(&spec, &rule, &reason));
}

/* A packet as the engine sends it (bits_request_headers), read back. */
static void packet_of(struct script_packet *packet, enum bits_packet type, const WCHAR *session, UINT64 first,
                      UINT64 length, UINT64 total)
{
    WCHAR *headers = bits_request_headers(type, session, L"file.bin", first, length, total);

    assert_non_null(headers);
    assert_hr(S_OK, script_packet_parse(headers, packet));
    free(headers);
}

static void test_packet_parse(void **state)
{
    struct script_packet packet;
    WCHAR *headers;

    packet_of(&packet, BITS_PACKET_PING, NULL, 0, 0, 0);
    assert_true(packet.typed);
    assert_int_equal(packet.type, BITS_PACKET_PING);
    assert_null(packet.session_id);
    assert_false(packet.has_range);
    script_packet_free(&packet);

    packet_of(&packet, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0);
    assert_int_equal(packet.type, BITS_PACKET_CREATE_SESSION);
    assert_true(packet.offers_protocol);
    script_packet_free(&packet);

    packet_of(&packet, BITS_PACKET_FRAGMENT, L"{s}", 100, 50, 1000);
    assert_int_equal(packet.type, BITS_PACKET_FRAGMENT);
    assert_true(wide_eq(packet.session_id, "{s}"));
    assert_true(packet.has_range);
    assert_int_equal(packet.first, 100);
    assert_int_equal(packet.last, 149);
    assert_int_equal(packet.total, 1000);
    script_packet_free(&packet);

    packet_of(&packet, BITS_PACKET_FRAGMENT, L"{s}", 0, 0, 0);
    assert_true(packet.empty);
    assert_false(packet.has_range);
    script_packet_free(&packet);

    packet_of(&packet, BITS_PACKET_CANCEL_SESSION, L"{s}", 0, 0, 0);
    assert_int_equal(packet.type, BITS_PACKET_CANCEL_SESSION);
    script_packet_free(&packet);

    /* Names without case, values trimmed; what is malformed is left out. */
    assert_hr(S_OK, script_packet_parse(L"bits-packet-type:  close-session \r\nBITS-Session-Id: x\r\n"
                                        L"content-range: bytes 9-3/10\r\nBITS-Supported-Protocols: {other} "
                                        L"{7DF0354D-249B-430F-820D-3D2A9BEF4931}\r\n", &packet));
    assert_true(packet.typed);
    assert_int_equal(packet.type, BITS_PACKET_CLOSE_SESSION);
    assert_true(wide_eq(packet.session_id, "x"));
    assert_false(packet.has_range);
    assert_true(packet.offers_protocol);
    script_packet_free(&packet);
    assert_hr(S_OK, script_packet_parse(L"BITS-Packet-Type: Hello\r\nContent-Range: bytes 1-2\r\n", &packet));
    assert_false(packet.typed);
    assert_false(packet.has_range);
    script_packet_free(&packet);
    assert_hr(S_OK, script_packet_parse(NULL, &packet));
    assert_false(packet.typed);

    /* What the journal says the engine sent: the job's custom headers, then the packet's. */
    headers = script_packet_headers(L"X-Client: 1", L"BITS-Packet-Type: Ping\r\n");
    assert_true(wide_eq(headers, "X-Client: 1\r\nBITS-Packet-Type: Ping\r\n"));
    free(headers);
    assert_null(script_packet_headers(NULL, NULL));
}

/* Sends a packet to the rule the script matches (which must be `expected`) and judges the
 * answer as the engine does. */
static struct script_rule *send_packet(struct script *script, const WCHAR *url, enum bits_packet type,
                                       const WCHAR *session, UINT64 first, UINT64 length, UINT64 total,
                                       struct script_rule *expected, struct transport_reply *reply,
                                       struct bits_ack *ack, struct upload_result *result)
{
    struct script_packet packet;
    struct transfer_error error;
    struct script_rule *rule;

    packet_of(&packet, type, session, first, length, total);
    rule = script_match(script, url, &packet);
    assert_ptr_equal(rule, expected);
    if (rule)
    {
        assert_hr(S_OK, script_packet_open(rule, REMOTE_HTTP, &error));
        assert_hr(S_OK, script_packet_answer(script, rule, url, &packet, (DWORD)length, reply));
        assert_hr(S_OK, bits_ack_parse(reply->headers, ack));
        upload_judge(type, reply->status, S_OK, ack, first, length, total, result);
        script_rule_release(rule);
    }
    script_packet_free(&packet);
    return rule;
}

/* The session id an ack gave (the double's are 38 characters). */
static void copy_id(WCHAR id[40], const struct bits_ack *ack)
{
    size_t len;

    assert_non_null(ack->session_id);
    for (len = 0; ack->session_id[len]; ++len) {}
    assert_int_equal(len, 38);
    memcpy(id, ack->session_id, (len + 1) * sizeof(WCHAR));
}

static void done_with(struct transport_reply *reply, struct bits_ack *ack)
{
    transport_reply_free(reply);
    bits_ack_free(ack);
}

static void test_accept_speaks_the_protocol(void **state)
{
    static const WCHAR url[] = L"http://h/up/file.bin";
    struct script_rule_spec spec = { 0 };
    struct transport_reply reply;
    struct upload_result result;
    struct script_rule *accept;
    struct script script;
    struct bits_ack ack;
    WCHAR session[40];

    script_init(&script);
    spec.pattern = L"http://h/up/";
    spec.match = SCRIPT_MATCH_PREFIX;
    spec.action = SCRIPT_ACCEPT;
    spec.headers = L"X-Server: double";
    accept = add(&script, &spec);

    send_packet(&script, url, BITS_PACKET_PING, NULL, 0, 0, 0, accept, &reply, &ack, &result);
    assert_int_equal(reply.status, 200);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_true(wide_contains(reply.headers, "\r\nX-Server: double\r\n"));
    assert_true(wide_contains(reply.headers, "Content-Length: 0\r\n"));
    done_with(&reply, &ack);

    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_true(wide_eq(ack.session_id, "{6f70656e-6269-7473-0000-000000000001}"));
    copy_id(session, &ack);
    assert_true(wide_contains(reply.headers, "Accept-Encoding: Identity\r\n"));
    done_with(&reply, &ack);
    assert_int_equal(accept->used, 1);

    /* Fragments: progress, a gap (416 with where the server is), an overlap. */
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 0, 10, 20, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_int_equal(result.received, 10);
    assert_null(ack.reply_url);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 15, 5, 20, accept, &reply, &ack, &result);
    assert_int_equal(reply.status, 416);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_RESUME);
    assert_int_equal(result.received, 10);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 5, 15, 20, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_int_equal(result.received, 20);
    assert_null(ack.reply_url);                               /* ACCEPT has no reply */
    done_with(&reply, &ack);
    assert_true(accept->sessions->complete);

    /* Another size than the session's: refused. */
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 0, 5, 30, accept, &reply, &ack, &result);
    assert_int_equal(reply.status, 400);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_FAILED);
    done_with(&reply, &ack);

    /* Close-Session ends it: then the session is not found, and BITS would start anew. */
    send_packet(&script, url, BITS_PACKET_CLOSE_SESSION, session, 0, 0, 0, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    done_with(&reply, &ack);
    assert_null(accept->sessions);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 0, 10, 20, accept, &reply, &ack, &result);
    assert_int_equal(reply.status, 500);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_SESSION_LOST);
    assert_false(upload_farewell_again(FALSE, reply.status, &ack));
    done_with(&reply, &ack);

    /* An empty file: one fragment of nothing. */
    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, accept, &reply, &ack, &result);
    copy_id(session, &ack);
    assert_true(wide_eq(ack.session_id, "{6f70656e-6269-7473-0000-000000000002}"));
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 0, 0, 0, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_int_equal(result.received, 0);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_CANCEL_SESSION, session, 0, 0, 0, accept, &reply, &ack, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    done_with(&reply, &ack);
    script_free(&script);
}

static void test_upload_matching_and_uses(void **state)
{
    static const WCHAR url[] = L"http://h/up";
    struct script_rule_spec spec = { 0 };
    struct script_rule *serve, *frag_fail, *once, *always, *match;
    struct transport_reply reply;
    struct upload_result result;
    struct script_packet ping;
    struct script script;
    struct bits_ack ack;
    WCHAR first[40], second[40];

    script_init(&script);
    spec.pattern = url;
    serve = add(&script, &spec);                              /* GETs only */
    spec.action = SCRIPT_STATUS;
    spec.status = 503;
    spec.times = 1;
    spec.flags = SCRIPT_PACKET(BITS_PACKET_FRAGMENT);         /* the first fragment only */
    frag_fail = add(&script, &spec);
    memset(&spec, 0, sizeof(spec));
    spec.pattern = url;
    spec.action = SCRIPT_ACCEPT;
    spec.times = 1;                                           /* one upload */
    once = add(&script, &spec);
    spec.times = 0;
    always = add(&script, &spec);

    /* A GET: SERVE; upload rules take none. */
    assert_ptr_equal(match = script_match(&script, url, NULL), serve);
    script_rule_release(match);
    script_remove(&script, serve->id);
    assert_null(script_match(&script, url, NULL));

    /* The first upload: `once` creates its session ... */
    send_packet(&script, url, BITS_PACKET_PING, NULL, 0, 0, 0, once, &reply, &ack, &result);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, once, &reply, &ack, &result);
    copy_id(first, &ack);
    done_with(&reply, &ack);
    /* ... its first fragment meets the bare 503 (no BITS headers: transient) ... */
    send_packet(&script, url, BITS_PACKET_FRAGMENT, first, 0, 4, 8, frag_fail, &reply, &ack, &result);
    assert_int_equal(reply.status, 503);
    assert_false(ack.has_packet_type);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_FAILED);
    assert_hr(BG_E_HTTP_ERROR_503, result.error.code);
    assert_true(result.transient);
    assert_hr(BG_E_HTTP_ERROR_503, script_packet_result(&reply));
    done_with(&reply, &ack);

    /* ... and the session stays `once`'s though its use is spent. */
    send_packet(&script, url, BITS_PACKET_FRAGMENT, first, 0, 4, 8, once, &reply, &ack, &result);
    assert_int_equal(result.received, 4);
    assert_hr(S_OK, script_packet_result(&reply));
    done_with(&reply, &ack);

    /* A second upload: `once` is used up; `always` takes it, and knows only its own sessions. */
    packet_of(&ping, BITS_PACKET_PING, NULL, 0, 0, 0);
    assert_ptr_equal(match = script_match(&script, url, &ping), always);
    script_rule_release(match);
    script_packet_free(&ping);
    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, always, &reply, &ack, &result);
    copy_id(second, &ack);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, second, 0, 8, 8, always, &reply, &ack, &result);
    assert_int_equal(result.received, 8);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, first, 4, 4, 8, once, &reply, &ack, &result);
    assert_int_equal(result.received, 8);
    done_with(&reply, &ack);

    /* A removed rule's sessions go with it: its packets reach `always`, which does not know them. */
    script_remove(&script, once->id);
    send_packet(&script, url, BITS_PACKET_CLOSE_SESSION, first, 0, 0, 0, always, &reply, &ack, &result);
    assert_hr(BG_E_SESSION_NOT_FOUND, script_packet_result(&reply));
    done_with(&reply, &ack);

    /* Packets of other URLs match nothing. */
    packet_of(&ping, BITS_PACKET_PING, NULL, 0, 0, 0);
    assert_null(script_match(&script, L"http://elsewhere/", &ping));
    script_packet_free(&ping);
    script_free(&script);
}

static void test_reject(void **state)
{
    static const WCHAR url[] = L"http://h/up";
    struct script_rule_spec spec = { 0 };
    struct transport_reply reply;
    struct upload_result result;
    struct transfer_error error;
    struct script_packet packet;
    struct script_rule *rule;
    struct script script;
    struct bits_ack ack;

    script_init(&script);
    spec.pattern = url;
    spec.action = SCRIPT_REJECT;
    spec.status = 503;
    spec.error = BG_E_TOO_LARGE;
    spec.flags = SCRIPT_APPLICATION_ERROR;
    spec.times = 1;
    rule = add(&script, &spec);
    send_packet(&script, url, BITS_PACKET_PING, NULL, 0, 0, 0, rule, &reply, &ack, &result);
    assert_int_equal(reply.status, 503);
    assert_true(ack.is_ack);
    assert_true(wide_contains(reply.headers, "BITS-Error-Code: 0x80200020\r\nBITS-Error-Context: 0x00000007\r\n"));
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_FAILED);
    assert_hr(BG_E_TOO_LARGE, result.error.code);
    assert_int_equal(result.error.context, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    assert_true(result.transient);
    assert_hr(BG_E_TOO_LARGE, script_packet_result(&reply));
    done_with(&reply, &ack);
    /* Used up: the next packet falls through. */
    packet_of(&packet, BITS_PACKET_PING, NULL, 0, 0, 0);
    assert_null(script_match(&script, url, &packet));
    script_packet_free(&packet);

    /* An error alone: status 400, the server's context, fatal. */
    spec.status = 0;
    spec.flags = 0;
    spec.times = 0;
    rule = add(&script, &spec);
    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, rule, &reply, &ack, &result);
    assert_int_equal(reply.status, SCRIPT_REJECT_STATUS);
    assert_int_equal(result.error.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_false(result.transient);
    done_with(&reply, &ack);
    /* A status alone: BG_E_HTTP_ERROR_<status>, an Ack still. */
    rule->error = 0;
    rule->status = 403;
    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, rule, &reply, &ack, &result);
    assert_true(ack.is_ack);
    assert_false(ack.has_error_code);
    assert_hr(BG_E_HTTP_ERROR_403, result.error.code);
    assert_hr(BG_E_HTTP_ERROR_403, script_packet_result(&reply));
    done_with(&reply, &ack);

    /* FAIL: a transport error, before any answer. */
    rule->action = SCRIPT_FAIL;
    rule->error = SCRIPT_E_TIMEOUT;
    assert_hr(SCRIPT_E_TIMEOUT, script_packet_open(rule, REMOTE_HTTPS, &error));
    assert_int_equal(error.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    assert_true(wide_eq(error.protocol, "http"));
    script_free(&script);
}

static void test_reply(void **state)
{
    static const BYTE text[] = "the reply";
    static const WCHAR url[] = L"http://h/app?user=1";
    struct script_rule_spec spec = { 0 };
    struct transport_response response;
    struct transport_request req;
    struct transport_reply reply;
    struct upload_result result;
    struct transfer_error error;
    struct script_stream stream;
    struct script_rule *rule, *match;
    struct script script;
    struct bits_ack ack;
    WCHAR session[40], *resolved;
    BYTE buffer[32];
    DWORD read;
    UINT64 due;

    script_init(&script);
    spec.pattern = L"http://h/app*";
    spec.match = SCRIPT_MATCH_WILDCARD;
    spec.action = SCRIPT_REPLY;
    spec.content = text;
    spec.content_size = sizeof(text) - 1;
    rule = add(&script, &spec);

    send_packet(&script, url, BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, rule, &reply, &ack, &result);
    copy_id(session, &ack);
    done_with(&reply, &ack);
    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 0, 3, 6, rule, &reply, &ack, &result);
    assert_null(ack.reply_url);                               /* not before the upload is whole */
    done_with(&reply, &ack);

    /* The reply URL is not served before the upload is whole. */
    req = request(L"http://h/app?user=1&openbits-reply=1", 0, BG_LENGTH_TO_EOF);
    assert_ptr_equal(match = script_match(&script, req.url, NULL), rule);
    assert_hr(BG_E_HTTP_ERROR_404, script_open(match, &req, 0, &stream, &response, &error));
    script_rule_release(match);

    send_packet(&script, url, BITS_PACKET_FRAGMENT, session, 3, 3, 6, rule, &reply, &ack, &result);
    assert_int_equal(result.received, 6);
    assert_true(wide_eq(ack.reply_url, "http://h/app?user=1&openbits-reply=1"));
    resolved = upload_url_resolve(url, ack.reply_url);
    assert_true(wide_eq(resolved, "http://h/app?user=1&openbits-reply=1"));
    free(resolved);
    done_with(&reply, &ack);

    /* Its GET: the rule's content, like SERVE; not counted as a use. */
    assert_ptr_equal(match = script_match(&script, req.url, NULL), rule);
    assert_hr(S_OK, script_open(match, &req, 0, &stream, &response, &error));
    assert_hr(S_OK, script_read(&stream, buffer, sizeof(buffer), 0, &read, &due, &error));
    assert_int_equal(read, sizeof(text) - 1);
    assert_memory_equal(buffer, text, read);
    assert_int_equal(response.file_size, sizeof(text) - 1);
    transport_response_free(&response);
    script_stream_close(&stream);
    script_rule_release(match);
    assert_int_equal(rule->used, 1);

    /* Other URLs with the parameter: a session it does not have is gone (404); a name it does
     * not match, or no number, is not its. */
    req.url = L"http://h/app?openbits-reply=7";
    assert_ptr_equal(match = script_match(&script, req.url, NULL), rule);
    assert_hr(BG_E_HTTP_ERROR_404, script_open(match, &req, 0, &stream, &response, &error));
    script_rule_release(match);
    assert_null(script_match(&script, L"http://other/app?openbits-reply=1", NULL));
    assert_null(script_match(&script, L"http://h/app?openbits-reply=", NULL));
    assert_null(script_match(&script, L"http://h/app", NULL));           /* a GET of the upload URL */

    /* Closed: the reply goes. A URL without a query gets '?'. */
    send_packet(&script, url, BITS_PACKET_CLOSE_SESSION, session, 0, 0, 0, rule, &reply, &ack, &result);
    done_with(&reply, &ack);
    req.url = L"http://h/app?user=1&openbits-reply=1";
    match = script_match(&script, req.url, NULL);
    assert_hr(BG_E_HTTP_ERROR_404, script_open(match, &req, 0, &stream, &response, &error));
    script_rule_release(match);
    send_packet(&script, L"http://h/app", BITS_PACKET_CREATE_SESSION, NULL, 0, 0, 0, rule, &reply, &ack, &result);
    copy_id(session, &ack);
    done_with(&reply, &ack);
    send_packet(&script, L"http://h/app", BITS_PACKET_FRAGMENT, session, 0, 1, 1, rule, &reply, &ack, &result);
    assert_true(wide_eq(ack.reply_url, "http://h/app?openbits-reply=2"));
    done_with(&reply, &ack);
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
        cmocka_unit_test(test_upload_rule_checks),
        cmocka_unit_test(test_packet_parse),
        cmocka_unit_test(test_accept_speaks_the_protocol),
        cmocka_unit_test(test_upload_matching_and_uses),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_reply),
    };
    return cmocka_run_group_tests_name("script", tests, NULL, NULL);
}
