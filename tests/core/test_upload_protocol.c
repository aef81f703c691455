/* SPDX-License-Identifier: MIT */
/* The client's half of the BITS upload protocol (src/core/upload.c, BITS-SPEC.md §9): request
 * headers, the strict reading of the BITS-* response headers, the judgement of every kind of
 * answer, the farewell retry rule, fragment sizes and URL rewriting. Runs natively under
 * ASan/UBSan and under Wine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/upload.h"

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

/* Wide strings without the C library (the native build has 2-byte WCHARs). */
static BOOL wide_equal(const WCHAR *a, const char *b)
{
    size_t i;

    if (!a) return !b;
    for (i = 0; a[i] && b[i]; ++i)
        if (a[i] != (WCHAR)(unsigned char)b[i]) return FALSE;
    return !a[i] && !b[i];
}

static WCHAR *widen(const char *str)
{
    size_t len = strlen(str), i;
    WCHAR *wide = malloc((len + 1) * sizeof(WCHAR));

    assert_non_null(wide);
    for (i = 0; i <= len; ++i) wide[i] = (unsigned char)str[i];
    return wide;
}

#define assert_wide(expected, actual) do { \
        const WCHAR *actual_ = (actual); \
        if (!wide_equal(actual_, (expected))) fail_msg("wide string differs from \"%s\"", (expected)); \
    } while (0)

/* Parses an ASCII header block. */
static HRESULT parse(const char *headers, struct bits_ack *ack)
{
    WCHAR *wide = widen(headers);
    HRESULT hr = bits_ack_parse(wide, ack);

    free(wide);
    return hr;
}

/* --- requests ---------------------------------------------------------------------------------- */

static void test_request_headers(void **state)
{
    static const WCHAR session[] = L"{11111111-2222-3333-4444-555555555555}";
    WCHAR *headers;

    headers = bits_request_headers(BITS_PACKET_PING, session, NULL, 0, 0, 0);
    assert_wide("BITS-Packet-Type: Ping\r\n", headers);
    free(headers);
    headers = bits_request_headers(BITS_PACKET_CREATE_SESSION, session, NULL, 0, 0, 0);
    assert_wide("BITS-Packet-Type: Create-Session\r\n"
                "BITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n", headers);
    free(headers);
    headers = bits_request_headers(BITS_PACKET_FRAGMENT, session, L"name.bin", 0, 100, 1000);
    assert_wide("BITS-Packet-Type: Fragment\r\nBITS-Session-Id: {11111111-2222-3333-4444-555555555555}\r\n"
                "Content-Name: name.bin\r\nContent-Range: bytes 0-99/1000\r\n", headers);
    free(headers);
    /* Content-Name on the first fragment only; 64-bit offsets. */
    headers = bits_request_headers(BITS_PACKET_FRAGMENT, session, L"name.bin", 5000000000ull, 1, 5000000001ull);
    assert_wide("BITS-Packet-Type: Fragment\r\nBITS-Session-Id: {11111111-2222-3333-4444-555555555555}\r\n"
                "Content-Range: bytes 5000000000-5000000000/5000000001\r\n", headers);
    free(headers);
    headers = bits_request_headers(BITS_PACKET_FRAGMENT, session, L"empty", 0, 0, 0);
    assert_wide("BITS-Packet-Type: Fragment\r\nBITS-Session-Id: {11111111-2222-3333-4444-555555555555}\r\n"
                "Content-Name: empty\r\nContent-Range: bytes */0\r\n", headers);
    free(headers);
    headers = bits_request_headers(BITS_PACKET_CLOSE_SESSION, session, NULL, 0, 0, 0);
    assert_wide("BITS-Packet-Type: Close-Session\r\nBITS-Session-Id: {11111111-2222-3333-4444-555555555555}\r\n",
                headers);
    free(headers);
    headers = bits_request_headers(BITS_PACKET_CANCEL_SESSION, session, NULL, 0, 0, 0);
    assert_wide("BITS-Packet-Type: Cancel-Session\r\nBITS-Session-Id: {11111111-2222-3333-4444-555555555555}\r\n",
                headers);
    free(headers);
}

/* --- parsing ------------------------------------------------------------------------------------- */

static void test_parse_create_session_ack(void **state)
{
    struct bits_ack ack;

    assert_hr(S_OK, parse("HTTP/1.1 200 OK\r\n"
                          "bits-packet-type: ack\r\n"
                          "BITS-Protocol: {7DF0354D-249B-430F-820D-3D2A9BEF4931}\r\n"
                          "BITS-Session-Id:   {abc}  \r\n"
                          "Accept-Encoding: Identity\r\n"
                          "BITS-Host-Id: server1.example:8080\r\n"
                          "BITS-Host-Id-Fallback-Timeout: 30\r\n"
                          "BITS-Unknown-Header: whatever\r\n"
                          "Content-Length: 0\r\n\r\n", &ack));
    assert_true(ack.has_packet_type);
    assert_true(ack.is_ack);
    assert_wide("{7DF0354D-249B-430F-820D-3D2A9BEF4931}", ack.protocol);
    assert_wide("{abc}", ack.session_id);
    assert_wide("server1.example:8080", ack.host_id);
    assert_true(ack.has_fallback);
    assert_int_equal(ack.fallback_seconds, 30);
    assert_false(ack.has_received);
    assert_false(ack.has_error_code);
    assert_null(ack.reply_url);
    bits_ack_free(&ack);
}

static void test_parse_fragment_and_error_acks(void **state)
{
    struct bits_ack ack;

    assert_hr(S_OK, parse("HTTP/1.1 200 OK\nBITS-Packet-Type: Ack\nBITS-Received-Content-Range: 18446744073709551615\n"
                          "BITS-Reply-URL: /reply/1?x=y\n", &ack));
    assert_true(ack.has_received);
    assert_true(ack.received == ~(UINT64)0);
    assert_wide("/reply/1?x=y", ack.reply_url);
    bits_ack_free(&ack);

    assert_hr(S_OK, parse("HTTP/1.1 500 Internal Server Error\r\nBITS-Packet-Type: Ack\r\n"
                          "BITS-Error-Code: 0x8020001F\r\nBITS-Error-Context: 5\r\n", &ack));
    assert_true(ack.has_error_code);
    assert_hr(BG_E_SESSION_NOT_FOUND, ack.error_code);
    assert_true(ack.has_error_context);
    assert_int_equal(ack.error_context, 5);
    bits_ack_free(&ack);

    assert_hr(S_OK, parse("HTTP/1.1 500 Internal Server Error\r\nBITS-Packet-Type: Ack\r\n"
                          "BITS-Error-Code: 801901f4\r\nBITS-Error-Context: 0x7\r\n", &ack));
    assert_hr(BG_E_HTTP_ERROR_500, ack.error_code);
    assert_int_equal(ack.error_context, 7);
    bits_ack_free(&ack);

    /* No headers at all, no BITS header. */
    assert_hr(S_OK, bits_ack_parse(NULL, &ack));
    assert_false(ack.has_packet_type);
    assert_hr(S_OK, parse("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\n", &ack));
    assert_false(ack.has_packet_type);
    assert_false(ack.is_ack);
    bits_ack_free(&ack);
    assert_hr(S_OK, parse("HTTP/1.1 200 OK\r\nBITS-Packet-Type: Fragment\r\n", &ack));
    assert_true(ack.has_packet_type);
    assert_false(ack.is_ack);
    bits_ack_free(&ack);
}

static void test_parse_is_strict(void **state)
{
    static const char *const bad[] =
    {
        "HTTP/1.1 200 OK\r\nBITS-Packet-Type: Ack\r\nBITS-Packet-Type: Ack\r\n",              /* twice */
        "HTTP/1.1 200 OK\r\nBITS-Session-Id: {a}\r\nBITS-Session-Id: {a}\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Session-Id: \r\n",                                           /* empty */
        "HTTP/1.1 200 OK\r\nBITS-Session-Id: a b\r\n",                                        /* a space */
        "HTTP/1.1 200 OK\r\nBITS-Protocol: 7df0354d-249b-430f-820d-3d2a9bef4931\r\n",         /* no braces */
        "HTTP/1.1 200 OK\r\nBITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef493}\r\n",        /* short */
        "HTTP/1.1 200 OK\r\nBITS-Received-Content-Range: 12a\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Received-Content-Range: -1\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Received-Content-Range: \r\n",
        "HTTP/1.1 200 OK\r\nBITS-Received-Content-Range: 18446744073709551616\r\n",          /* 2^64 */
        "HTTP/1.1 200 OK\r\nBITS-Received-Content-Range: 0-99\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Error-Code: 0x\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Error-Code: 0x123456789\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Error-Code: xyz\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Error-Context: 5 5\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id: a/b\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id: host:0\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id: host:65536\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id: :80\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id-Fallback-Timeout: 1.5\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Host-Id-Fallback-Timeout: 4294967296\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Reply-URL: http://a b/\r\n",
        "HTTP/1.1 200 OK\r\nBITS-Packet-Type\r\n",                                            /* no colon */
    };
    struct bits_ack ack;
    char session[200];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
    {
        HRESULT hr = parse(bad[i], &ack);
        if (hr != (HRESULT)BG_E_INVALID_SERVER_RESPONSE) fail_msg("accepted: %s", bad[i]);
        bits_ack_free(&ack);
    }
    /* A session id of 100 characters is fine, 101 is not. */
    strcpy(session, "HTTP/1.1 200 OK\r\nBITS-Session-Id: ");
    memset(session + strlen(session), 'x', 100);
    strcpy(session + 34 + 100, "\r\n");
    assert_hr(S_OK, parse(session, &ack));
    bits_ack_free(&ack);
    strcpy(session + 34 + 100, "y\r\n");
    assert_hr(BG_E_INVALID_SERVER_RESPONSE, parse(session, &ack));
    bits_ack_free(&ack);
    /* Host ids: bracketed IPv6 with a port, a plain IPv4. */
    assert_hr(S_OK, parse("HTTP/1.1 200 OK\r\nBITS-Host-Id: [::1]:8080\r\n", &ack));
    bits_ack_free(&ack);
    assert_hr(S_OK, parse("HTTP/1.1 200 OK\r\nBITS-Host-Id: 10.0.0.1\r\n", &ack));
    bits_ack_free(&ack);
}

/* --- judging --------------------------------------------------------------------------------- */

static void judge(enum bits_packet packet, DWORD status, const char *headers, UINT64 first, UINT64 length,
                  UINT64 total, struct upload_result *result)
{
    struct bits_ack ack;
    HRESULT hr = parse(headers, &ack);

    upload_judge(packet, status, hr, &ack, first, length, total, result);
    bits_ack_free(&ack);
}

#define ACK "HTTP/1.1 200 OK\r\nBITS-Packet-Type: Ack\r\n"

static void assert_failed(const struct upload_result *result, HRESULT code, BG_ERROR_CONTEXT context, BOOL transient)
{
    assert_int_equal(result->outcome, UPLOAD_OUTCOME_FAILED);
    assert_hr(code, result->error.code);
    assert_int_equal(result->error.context, context);
    assert_int_equal(result->transient, transient);
    assert_wide("http", result->error.protocol);
}

static void test_judge_success(void **state)
{
    struct upload_result result;

    judge(BITS_PACKET_PING, 200, ACK, 0, 0, 0, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    judge(BITS_PACKET_CREATE_SESSION, 201, ACK "BITS-Session-Id: {s}\r\n"
          "BITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n", 0, 0, 0, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 100\r\n", 0, 100, 1000, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_int_equal(result.received, 100);
    /* The server may have more than the fragment (it kept bytes of an earlier attempt). */
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 700\r\n", 0, 100, 1000, &result);
    assert_int_equal(result.received, 700);
    /* Less than the fragment, but past its start: the rest is sent again. */
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 50\r\n", 0, 100, 1000, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    assert_int_equal(result.received, 50);
    /* An empty file's one fragment. */
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 0\r\n", 0, 0, 0, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    judge(BITS_PACKET_CLOSE_SESSION, 200, ACK, 0, 0, 0, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
    judge(BITS_PACKET_CANCEL_SESSION, 200, ACK, 0, 0, 0, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_OK);
}

static void test_judge_protocol_violations(void **state)
{
    struct upload_result result;

    /* Create-Session without an id or a protocol, or with another protocol. */
    judge(BITS_PACKET_CREATE_SESSION, 200, ACK "BITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n", 0, 0, 0,
          &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_CREATE_SESSION, 200, ACK "BITS-Session-Id: {s}\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_CREATE_SESSION, 200, ACK "BITS-Session-Id: {s}\r\n"
          "BITS-Protocol: {00000000-0000-0000-0000-000000000000}\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* A fragment ack without progress, past the end, or without the range. */
    judge(BITS_PACKET_FRAGMENT, 200, ACK, 0, 100, 1000, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 100\r\n", 100, 100, 1000, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_FRAGMENT, 200, ACK "BITS-Received-Content-Range: 1001\r\n", 900, 100, 1000, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* A 416 must point before the fragment. */
    judge(BITS_PACKET_FRAGMENT, 416, "HTTP/1.1 416 x\r\nBITS-Packet-Type: Ack\r\nBITS-Received-Content-Range: 100\r\n",
          100, 100, 1000, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_FRAGMENT, 416, "HTTP/1.1 416 x\r\nBITS-Packet-Type: Ack\r\n", 100, 100, 1000, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* Malformed BITS headers, or not an Ack. */
    judge(BITS_PACKET_PING, 200, ACK "BITS-Received-Content-Range: x\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_PING, 200, "HTTP/1.1 200 OK\r\nBITS-Packet-Type: Ping\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* Another 2xx with an Ack: not the protocol. */
    judge(BITS_PACKET_PING, 204, "HTTP/1.1 204 x\r\nBITS-Packet-Type: Ack\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_204, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
}

static void test_judge_not_a_bits_server(void **state)
{
    struct upload_result result;

    /* A plain 200: BG_E_HTTP_ERROR_200, fatal. */
    judge(BITS_PACKET_PING, 200, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_200, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_FRAGMENT, 200, "HTTP/1.1 200 OK\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_200, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* Error statuses as §6.3 classifies them. */
    judge(BITS_PACKET_PING, 404, "HTTP/1.1 404 Not Found\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_404, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_PING, 405, "HTTP/1.1 405 Method Not Allowed\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_405, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_PING, 501, "HTTP/1.1 501 Not Implemented\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_501, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_FRAGMENT, 503, "HTTP/1.1 503 x\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, TRUE);
    /* A 416 without BITS headers is an error like any other. */
    judge(BITS_PACKET_FRAGMENT, 416, "HTTP/1.1 416 x\r\n", 100, 10, 1000, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_416, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
}

static void test_judge_server_errors(void **state)
{
    struct upload_result result;

    judge(BITS_PACKET_FRAGMENT, 416, "HTTP/1.1 416 x\r\nBITS-Packet-Type: Ack\r\nBITS-Received-Content-Range: 40\r\n",
          100, 100, 1000, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_RESUME);
    assert_int_equal(result.received, 40);
    /* The server's code and context. */
    judge(BITS_PACKET_FRAGMENT, 500, "HTTP/1.1 500 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80070070\r\n"
          "BITS-Error-Context: 0x5\r\n", 0, 10, 10, &result);
    assert_failed(&result, 0x80070070, BG_ERROR_CONTEXT_REMOTE_FILE, TRUE);
    judge(BITS_PACKET_FRAGMENT, 413, "HTTP/1.1 413 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80200020\r\n"
          "BITS-Error-Context: 0x5\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_TOO_LARGE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    judge(BITS_PACKET_CREATE_SESSION, 409, "HTTP/1.1 409 x\r\nBITS-Packet-Type: Ack\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_409, BG_ERROR_CONTEXT_REMOTE_FILE, TRUE);
    judge(BITS_PACKET_CREATE_SESSION, 403, "HTTP/1.1 403 x\r\nBITS-Packet-Type: Ack\r\n", 0, 0, 0, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_403, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
    /* The server application's errors: context REMOTE_APPLICATION, classified by status. */
    judge(BITS_PACKET_FRAGMENT, 500, "HTTP/1.1 500 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x801901F4\r\n"
          "BITS-Error-Context: 0x7\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_500, BG_ERROR_CONTEXT_REMOTE_APPLICATION, TRUE);
    judge(BITS_PACKET_FRAGMENT, 403, "HTTP/1.1 403 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80190193\r\n"
          "BITS-Error-Context: 7\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_403, BG_ERROR_CONTEXT_REMOTE_APPLICATION, FALSE);
    judge(BITS_PACKET_FRAGMENT, 501, "HTTP/1.1 501 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x801901F5\r\n"
          "BITS-Error-Context: 7\r\n", 0, 10, 10, &result);
    assert_failed(&result, BG_E_HTTP_ERROR_501, BG_ERROR_CONTEXT_REMOTE_APPLICATION, FALSE);
    /* A lost session. */
    judge(BITS_PACKET_FRAGMENT, 500, "HTTP/1.1 500 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x8020001F\r\n",
          0, 10, 10, &result);
    assert_int_equal(result.outcome, UPLOAD_OUTCOME_SESSION_LOST);
}

static void test_farewell_again(void **state)
{
    struct bits_ack ack;

    assert_true(upload_farewell_again(TRUE, 0, NULL));
    assert_true(upload_farewell_again(FALSE, 500, NULL));
    assert_true(upload_farewell_again(FALSE, 503, NULL));
    assert_false(upload_farewell_again(FALSE, 200, NULL));
    assert_false(upload_farewell_again(FALSE, 404, NULL));
    assert_false(upload_farewell_again(FALSE, 416, NULL));
    assert_hr(S_OK, parse("HTTP/1.1 500 x\r\nBITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x8020001F\r\n", &ack));
    assert_false(upload_farewell_again(FALSE, 500, &ack));
    bits_ack_free(&ack);
}

/* --- fragments and URLs -------------------------------------------------------------------------- */

static void test_fragment_sizes(void **state)
{
    DWORD size = UPLOAD_FRAGMENT_FIRST;
    int i;

    assert_int_equal(upload_fragment_length(size, 0, 10), 10);
    assert_int_equal(upload_fragment_length(size, 0, 1ull << 40), size);
    assert_int_equal(upload_fragment_length(size, 100, 100), 0);
    assert_int_equal(upload_fragment_length(size, (1ull << 40) - 5, 1ull << 40), 5);
    for (i = 0; i < 20; ++i) size = upload_fragment_grow(size);
    assert_int_equal(size, UPLOAD_FRAGMENT_MAX);
    for (i = 0; i < 20; ++i) size = upload_fragment_shrink(size);
    assert_int_equal(size, UPLOAD_FRAGMENT_MIN);
    assert_int_equal(upload_fragment_grow(UPLOAD_FRAGMENT_FIRST), 2 * UPLOAD_FRAGMENT_FIRST);
}

static void check_host(const char *url, const char *host, const char *expected)
{
    WCHAR *wide_url = widen(url), *wide_host = widen(host), *result = upload_url_with_host(wide_url, wide_host);

    assert_wide(expected, result);
    free(result);
    free(wide_url);
    free(wide_host);
}

static void check_resolve(const char *base, const char *reference, const char *expected)
{
    WCHAR *wide_base = widen(base), *wide_ref = widen(reference), *result = upload_url_resolve(wide_base, wide_ref);

    assert_wide(expected, result);
    free(result);
    free(wide_base);
    free(wide_ref);
}

static void test_urls(void **state)
{
    check_host("http://a.example/up/x?q=1", "b.example", "http://b.example/up/x?q=1");
    check_host("http://a.example:8080/up", "b.example", "http://b.example:8080/up");
    check_host("http://a.example:8080/up", "b.example:9090", "http://b.example:9090/up");
    check_host("https://user@a.example/up", "[::1]:99", "https://[::1]:99/up");
    check_host("http://[::1]:8080/up", "10.0.0.1", "http://10.0.0.1:8080/up");
    check_host("http://[::1]/up", "[fe80::1]", "http://[fe80::1]/up");
    check_host("http://a.example", "b", "http://b");
    check_host("no authority", "b", NULL);

    check_resolve("http://a:1/up/x?q", "http://b/r", "http://b/r");
    check_resolve("http://a:1/up/x?q", "HTTPS://b/r", "HTTPS://b/r");
    check_resolve("http://a:1/up/x?q", "//b/r", "http://b/r");
    check_resolve("http://a:1/up/x?q", "/reply/1?z", "http://a:1/reply/1?z");
    check_resolve("http://a:1/up/x?q/y", "reply", "http://a:1/up/reply");
    check_resolve("http://a:1", "reply", "http://a:1/reply");
    check_resolve("http://a:1?q", "/r", "http://a:1/r");
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_request_headers),
        cmocka_unit_test(test_parse_create_session_ack),
        cmocka_unit_test(test_parse_fragment_and_error_acks),
        cmocka_unit_test(test_parse_is_strict),
        cmocka_unit_test(test_judge_success),
        cmocka_unit_test(test_judge_protocol_violations),
        cmocka_unit_test(test_judge_not_a_bits_server),
        cmocka_unit_test(test_judge_server_errors),
        cmocka_unit_test(test_farewell_again),
        cmocka_unit_test(test_fragment_sizes),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests_name("upload protocol", tests, NULL, NULL);
}
