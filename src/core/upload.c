/* SPDX-License-Identifier: MIT */
/* The client's half of the BITS upload protocol (see upload.h). No C library wide-string
 * function is used: the native build has 2-byte WCHARs with a libc whose wchar_t is 4 bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/upload.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
/* The statuses the protocol names (winhttp.h is not for the core). */
#define STATUS_OK                    200
#define STATUS_CREATED               201
#define STATUS_RANGE_NOT_SATISFIABLE 416

/* --- strings ------------------------------------------------------------------------------- */

static size_t wlen(const WCHAR *str)
{
    size_t len = 0;

    while (str[len]) ++len;
    return len;
}

static WCHAR lower(WCHAR c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The first len characters of a equal the ASCII string b, ignoring case, and b has len chars. */
static BOOL equal_nocase(const WCHAR *a, size_t len, const char *b)
{
    size_t i;

    for (i = 0; i < len; ++i)
        if (!b[i] || lower(a[i]) != lower((WCHAR)(unsigned char)b[i])) return FALSE;
    return !b[len];
}

static WCHAR *dup_range(const WCHAR *start, size_t len)
{
    WCHAR *copy = malloc((len + 1) * sizeof(WCHAR));

    if (!copy) return NULL;
    memcpy(copy, start, len * sizeof(WCHAR));
    copy[len] = 0;
    return copy;
}

/* A growing wide string. */
struct text
{
    WCHAR *data;
    size_t len, capacity;
    BOOL failed;
};

static void text_add_n(struct text *text, const WCHAR *str, size_t len)
{
    if (text->failed) return;
    if (text->len + len + 1 > text->capacity)
    {
        size_t capacity = (text->len + len + 1) * 2;
        WCHAR *data = realloc(text->data, capacity * sizeof(WCHAR));
        if (!data)
        {
            text->failed = TRUE;
            return;
        }
        text->data = data;
        text->capacity = capacity;
    }
    memcpy(text->data + text->len, str, len * sizeof(WCHAR));
    text->len += len;
    text->data[text->len] = 0;
}

static void text_add(struct text *text, const WCHAR *str)
{
    text_add_n(text, str, wlen(str));
}

static void text_add_ascii(struct text *text, const char *str)
{
    WCHAR buffer[64];
    size_t i;

    for (i = 0; str[i] && i < ARRAY_SIZE(buffer); ++i) buffer[i] = (unsigned char)str[i];
    text_add_n(text, buffer, i);
}

static void text_add_uint64(struct text *text, UINT64 value)
{
    WCHAR digits[20];
    size_t count = 0;

    do digits[ARRAY_SIZE(digits) - ++count] = '0' + (WCHAR)(value % 10);
    while ((value /= 10));
    text_add_n(text, digits + ARRAY_SIZE(digits) - count, count);
}

static WCHAR *text_take(struct text *text)
{
    if (text->failed)
    {
        free(text->data);
        return NULL;
    }
    if (!text->data && (text->data = malloc(sizeof(WCHAR)))) text->data[0] = 0;
    return text->data;
}

/* --- requests ------------------------------------------------------------------------------- */

const WCHAR *bits_packet_name(enum bits_packet packet)
{
    static const WCHAR *const names[] =
    {
        L"Ping", L"Create-Session", L"Fragment", L"Close-Session", L"Cancel-Session",
    };

    return (unsigned int)packet < ARRAY_SIZE(names) ? names[packet] : L"";
}

WCHAR *bits_request_headers(enum bits_packet packet, const WCHAR *session_id, const WCHAR *content_name,
                            UINT64 first, UINT64 length, UINT64 total)
{
    struct text text = { 0 };

    text_add_ascii(&text, "BITS-Packet-Type: ");
    text_add(&text, bits_packet_name(packet));
    text_add_ascii(&text, "\r\n");
    if (packet == BITS_PACKET_CREATE_SESSION)
    {
        text_add_ascii(&text, "BITS-Supported-Protocols: ");
        text_add(&text, BITS_UPLOAD_PROTOCOL);
        text_add_ascii(&text, "\r\n");
    }
    if (packet != BITS_PACKET_PING && packet != BITS_PACKET_CREATE_SESSION && session_id)
    {
        text_add_ascii(&text, "BITS-Session-Id: ");
        text_add(&text, session_id);
        text_add_ascii(&text, "\r\n");
    }
    if (packet == BITS_PACKET_FRAGMENT)
    {
        if (!first && content_name)
        {
            text_add_ascii(&text, "Content-Name: ");
            text_add(&text, content_name);
            text_add_ascii(&text, "\r\n");
        }
        if (!length)
            text_add_ascii(&text, "Content-Range: bytes */0\r\n");
        else
        {
            text_add_ascii(&text, "Content-Range: bytes ");
            text_add_uint64(&text, first);
            text_add_ascii(&text, "-");
            text_add_uint64(&text, first + length - 1);
            text_add_ascii(&text, "/");
            text_add_uint64(&text, total);
            text_add_ascii(&text, "\r\n");
        }
    }
    return text_take(&text);
}

/* --- responses ------------------------------------------------------------------------------- */

static BOOL is_visible(WCHAR c)
{
    return c > 0x20 && c < 0x7f;
}

static BOOL is_hex(WCHAR c)
{
    return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f');
}

static BOOL parse_decimal(const WCHAR *p, size_t len, UINT64 *value)
{
    UINT64 v = 0;
    size_t i;

    if (!len || len > 20) return FALSE;
    for (i = 0; i < len; ++i)
    {
        if (p[i] < '0' || p[i] > '9') return FALSE;
        if (v > (~(UINT64)0 - (p[i] - '0')) / 10) return FALSE;
        v = v * 10 + (p[i] - '0');
    }
    *value = v;
    return TRUE;
}

/* 1 to 8 hex digits, "0x" optional. */
static BOOL parse_hex32(const WCHAR *p, size_t len, ULONG *value)
{
    ULONG v = 0;
    size_t i;

    if (len > 2 && p[0] == '0' && lower(p[1]) == 'x')
    {
        p += 2;
        len -= 2;
    }
    if (!len || len > 8) return FALSE;
    for (i = 0; i < len; ++i)
    {
        WCHAR c = lower(p[i]);
        if (!is_hex(c)) return FALSE;
        v = v * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *value = v;
    return TRUE;
}

/* {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} */
static BOOL is_guid(const WCHAR *p, size_t len)
{
    size_t i;

    if (len != 38 || p[0] != '{' || p[37] != '}') return FALSE;
    for (i = 1; i < 37; ++i)
    {
        if (i == 9 || i == 14 || i == 19 || i == 24)
        {
            if (p[i] != '-') return FALSE;
        }
        else if (!is_hex(p[i])) return FALSE;
    }
    return TRUE;
}

/* A host name, IPv4 address or [IPv6] literal, with an optional :port. */
static BOOL is_host_id(const WCHAR *p, size_t len)
{
    size_t i = 0, host_end;

    if (!len) return FALSE;
    if (p[0] == '[')
    {
        while (i < len && p[i] != ']') ++i;
        if (i == len || i < 2) return FALSE;
        for (host_end = 1; host_end < i; ++host_end)
            if (!is_hex(p[host_end]) && p[host_end] != ':' && p[host_end] != '.') return FALSE;
        host_end = ++i;
    }
    else
    {
        for (; i < len && p[i] != ':'; ++i)
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')
                  || p[i] == '-' || p[i] == '.' || p[i] == '_'))
                return FALSE;
        host_end = i;
        if (!host_end) return FALSE;
    }
    if (i == len) return TRUE;
    if (p[i] != ':' || len - i - 1 < 1 || len - i - 1 > 5) return FALSE;
    {
        UINT64 port;
        if (!parse_decimal(p + i + 1, len - i - 1, &port) || !port || port > 65535) return FALSE;
    }
    return TRUE;
}

static BOOL all_visible(const WCHAR *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; ++i)
        if (!is_visible(p[i])) return FALSE;
    return TRUE;
}

/* Stores a string header's value; FALSE when it was already there. */
static HRESULT set_string(WCHAR **field, const WCHAR *value, size_t len)
{
    if (*field) return BG_E_INVALID_SERVER_RESPONSE;
    if (!(*field = dup_range(value, len))) return E_OUTOFMEMORY;
    return S_OK;
}

static HRESULT parse_header(struct bits_ack *ack, const WCHAR *name, size_t name_len, const WCHAR *value, size_t len)
{
    UINT64 number;
    ULONG hex;

    if (len > BITS_MAX_HEADER_VALUE) return BG_E_INVALID_SERVER_RESPONSE;
    if (equal_nocase(name, name_len, "BITS-Packet-Type"))
    {
        if (ack->has_packet_type) return BG_E_INVALID_SERVER_RESPONSE;
        ack->has_packet_type = TRUE;
        ack->is_ack = equal_nocase(value, len, "Ack");
        return S_OK;
    }
    if (equal_nocase(name, name_len, "BITS-Session-Id"))
    {
        if (!len || len > BITS_MAX_SESSION_ID || !all_visible(value, len)) return BG_E_INVALID_SERVER_RESPONSE;
        return set_string(&ack->session_id, value, len);
    }
    if (equal_nocase(name, name_len, "BITS-Protocol"))
    {
        if (!is_guid(value, len)) return BG_E_INVALID_SERVER_RESPONSE;
        return set_string(&ack->protocol, value, len);
    }
    if (equal_nocase(name, name_len, "BITS-Host-Id"))
    {
        if (!is_host_id(value, len)) return BG_E_INVALID_SERVER_RESPONSE;
        return set_string(&ack->host_id, value, len);
    }
    if (equal_nocase(name, name_len, "BITS-Reply-URL"))
    {
        if (!len || !all_visible(value, len)) return BG_E_INVALID_SERVER_RESPONSE;
        return set_string(&ack->reply_url, value, len);
    }
    if (equal_nocase(name, name_len, "BITS-Received-Content-Range"))
    {
        if (ack->has_received || !parse_decimal(value, len, &number)) return BG_E_INVALID_SERVER_RESPONSE;
        ack->has_received = TRUE;
        ack->received = number;
        return S_OK;
    }
    if (equal_nocase(name, name_len, "BITS-Host-Id-Fallback-Timeout"))
    {
        if (ack->has_fallback || !parse_decimal(value, len, &number) || number > 0xffffffffu)
            return BG_E_INVALID_SERVER_RESPONSE;
        ack->has_fallback = TRUE;
        ack->fallback_seconds = (ULONG)number;
        return S_OK;
    }
    if (equal_nocase(name, name_len, "BITS-Error-Code"))
    {
        if (ack->has_error_code || !parse_hex32(value, len, &hex)) return BG_E_INVALID_SERVER_RESPONSE;
        ack->has_error_code = TRUE;
        ack->error_code = (HRESULT)hex;
        return S_OK;
    }
    if (equal_nocase(name, name_len, "BITS-Error-Context"))
    {
        if (ack->has_error_context || !parse_hex32(value, len, &hex)) return BG_E_INVALID_SERVER_RESPONSE;
        ack->has_error_context = TRUE;
        ack->error_context = hex;
        return S_OK;
    }
    return S_OK;                          /* not ours */
}

HRESULT bits_ack_parse(const WCHAR *headers, struct bits_ack *ack)
{
    const WCHAR *line = headers, *end, *colon, *value, *value_end;
    HRESULT hr;

    memset(ack, 0, sizeof(*ack));
    if (!headers) return S_OK;
    /* The status line first. */
    while (*line && *line != '\n') ++line;
    while (*line)
    {
        ++line;                           /* past the '\n' */
        for (end = line; *end && *end != '\n'; ++end) {}
        value_end = end > line && end[-1] == '\r' ? end - 1 : end;
        for (colon = line; colon < value_end && *colon != ':'; ++colon) {}
        if (colon < value_end && colon > line && *line != ' ' && *line != '\t')
        {
            value = colon + 1;
            while (value < value_end && (*value == ' ' || *value == '\t')) ++value;
            while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
            if (FAILED(hr = parse_header(ack, line, (size_t)(colon - line), value, (size_t)(value_end - value))))
                return hr;
        }
        else if (value_end > line && colon - line >= 5 && equal_nocase(line, 5, "BITS-"))
            return BG_E_INVALID_SERVER_RESPONSE;       /* a BITS-* line without a value */
        line = end;
    }
    return S_OK;
}

void bits_ack_free(struct bits_ack *ack)
{
    free(ack->session_id);
    free(ack->protocol);
    free(ack->host_id);
    free(ack->reply_url);
    memset(ack, 0, sizeof(*ack));
}

static HRESULT http_error(DWORD status)
{
    return MAKE_HRESULT(SEVERITY_ERROR, FACILITY_HTTP, status);
}

static void failed(struct upload_result *result, HRESULT code, BG_ERROR_CONTEXT context, BOOL transient)
{
    result->outcome = UPLOAD_OUTCOME_FAILED;
    result->error.code = code;
    result->error.context = context;
    result->error.protocol = L"http";
    result->transient = transient;
}

static BOOL equal_guid_text(const WCHAR *a, const WCHAR *b)
{
    size_t i;

    for (i = 0; a[i] && b[i]; ++i)
        if (lower(a[i]) != lower(b[i])) return FALSE;
    return !a[i] && !b[i];
}

void upload_judge(enum bits_packet packet, DWORD status, HRESULT parse_hr, const struct bits_ack *ack,
                  UINT64 first, UINT64 length, UINT64 total, struct upload_result *result)
{
    memset(result, 0, sizeof(*result));

    if (!ack->has_packet_type && SUCCEEDED(parse_hr))
    {
        /* Not the protocol's answer at all. */
        if (status >= 200 && status < 300) failed(result, http_error(status), BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
        else failed(result, http_error(status), BG_ERROR_CONTEXT_REMOTE_FILE, engine_error_is_transient(http_error(status)));
        return;
    }
    if (FAILED(parse_hr) || !ack->is_ack)
    {
        failed(result, parse_hr == E_OUTOFMEMORY ? E_OUTOFMEMORY : BG_E_INVALID_SERVER_RESPONSE,
               parse_hr == E_OUTOFMEMORY ? BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER : BG_ERROR_CONTEXT_REMOTE_FILE,
               parse_hr == E_OUTOFMEMORY);
        return;
    }

    if (status == STATUS_OK || status == STATUS_CREATED)
    {
        switch (packet)
        {
        case BITS_PACKET_CREATE_SESSION:
            if (!ack->session_id || !ack->protocol)
                failed(result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
            else if (!equal_guid_text(ack->protocol, BITS_UPLOAD_PROTOCOL))
                failed(result, BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
            else
                result->outcome = UPLOAD_OUTCOME_OK;
            return;
        case BITS_PACKET_FRAGMENT:
            /* The server must have moved past the fragment's start (an empty file: to 0). */
            if (!ack->has_received || ack->received > total || (length && ack->received <= first))
                failed(result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
            else
            {
                result->outcome = UPLOAD_OUTCOME_OK;
                result->received = ack->received;
            }
            return;
        default:
            result->outcome = UPLOAD_OUTCOME_OK;
            return;
        }
    }

    if (status == STATUS_RANGE_NOT_SATISFIABLE && packet == BITS_PACKET_FRAGMENT)
    {
        /* Not contiguous with what the server has: it says where it is, before our fragment. */
        if (!ack->has_received || ack->received >= first)
            failed(result, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, FALSE);
        else
        {
            result->outcome = UPLOAD_OUTCOME_RESUME;
            result->received = ack->received;
        }
        return;
    }

    if (ack->has_error_code && ack->error_code == (HRESULT)BG_E_SESSION_NOT_FOUND && packet != BITS_PACKET_PING
        && packet != BITS_PACKET_CREATE_SESSION)
    {
        result->outcome = UPLOAD_OUTCOME_SESSION_LOST;
        return;
    }
    /* An error; a 2xx other than 200/201 is one too (the server does not follow the protocol). */
    failed(result, ack->has_error_code && FAILED(ack->error_code) ? ack->error_code : http_error(status),
           ack->has_error_context && ack->error_context == BG_ERROR_CONTEXT_REMOTE_APPLICATION
           ? BG_ERROR_CONTEXT_REMOTE_APPLICATION : BG_ERROR_CONTEXT_REMOTE_FILE,
           status >= 300 && engine_error_is_transient(http_error(status)));
}

BOOL upload_farewell_again(BOOL transport_failed, DWORD status, const struct bits_ack *ack)
{
    if (transport_failed) return TRUE;
    if (ack && ack->has_error_code && ack->error_code == (HRESULT)BG_E_SESSION_NOT_FOUND) return FALSE;
    return status >= 500;
}

/* --- fragments --------------------------------------------------------------------------------- */

DWORD upload_fragment_length(DWORD size, UINT64 offset, UINT64 total)
{
    if (offset >= total) return 0;
    return total - offset < size ? (DWORD)(total - offset) : size;
}

DWORD upload_fragment_grow(DWORD size)
{
    return size >= UPLOAD_FRAGMENT_MAX / 2 ? UPLOAD_FRAGMENT_MAX : size * 2;
}

DWORD upload_fragment_shrink(DWORD size)
{
    return size <= UPLOAD_FRAGMENT_MIN * 2 ? UPLOAD_FRAGMENT_MIN : size / 2;
}

/* --- URLs -------------------------------------------------------------------------------------- */

/* Where the authority of an absolute URL starts and ends ("scheme://authority/..."). */
static BOOL find_authority(const WCHAR *url, const WCHAR **start, const WCHAR **end)
{
    const WCHAR *p = url;

    while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') ++p;
    if (p == url || p[0] != ':' || p[1] != '/' || p[2] != '/') return FALSE;
    *start = p + 3;
    for (p = *start; *p && *p != '/' && *p != '?' && *p != '#'; ++p) {}
    *end = p;
    return TRUE;
}

WCHAR *upload_url_with_host(const WCHAR *url, const WCHAR *host_id)
{
    const WCHAR *authority, *start, *end, *host_end, *port = NULL, *p;
    size_t id_len = wlen(host_id);
    struct text text = { 0 };
    BOOL id_has_port;

    if (!find_authority(url, &authority, &end)) return NULL;
    /* Any user information goes. */
    for (p = start = authority; p < end; ++p)
        if (*p == '@') start = p + 1;
    /* The URL's own port, if any. */
    if (*start == '[')
    {
        for (host_end = start; host_end < end && *host_end != ']'; ++host_end) {}
        if (host_end < end) ++host_end;
    }
    else
        for (host_end = start; host_end < end && *host_end != ':'; ++host_end) {}
    if (host_end < end && *host_end == ':') port = host_end;
    /* host_id has a port when it ends in ":digits" outside brackets. */
    p = host_id + id_len;
    while (p > host_id && p[-1] >= '0' && p[-1] <= '9') --p;
    id_has_port = p > host_id && p < host_id + id_len && p[-1] == ':' && (host_id[0] != '[' || (p - 1 > host_id && p[-2] == ']'));

    text_add_n(&text, url, (size_t)(authority - url));
    text_add(&text, host_id);
    if (!id_has_port && port) text_add_n(&text, port, (size_t)(end - port));
    text_add(&text, end);
    return text_take(&text);
}

WCHAR *upload_url_resolve(const WCHAR *base, const WCHAR *reference)
{
    const WCHAR *start, *end, *p, *slash = NULL;
    struct text text = { 0 };

    /* Absolute: it has a scheme. */
    for (p = reference; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                        || *p == '+' || *p == '-' || *p == '.'; ++p) {}
    if (p > reference && *p == ':' && ((*reference >= 'a' && *reference <= 'z') || (*reference >= 'A' && *reference <= 'Z')))
    {
        text_add(&text, reference);
        return text_take(&text);
    }
    if (!find_authority(base, &start, &end)) return NULL;
    if (reference[0] == '/' && reference[1] == '/')
        text_add_n(&text, base, (size_t)(start - 2 - base));          /* "scheme:" */
    else if (reference[0] == '/')
        text_add_n(&text, base, (size_t)(end - base));                /* "scheme://authority" */
    else
    {
        /* The base's path up to its last '/', without its query. */
        for (p = end; *p && *p != '?' && *p != '#'; ++p)
            if (*p == '/') slash = p;
        if (slash) text_add_n(&text, base, (size_t)(slash + 1 - base));
        else
        {
            text_add_n(&text, base, (size_t)(end - base));
            text_add_ascii(&text, "/");
        }
    }
    text_add(&text, reference);
    return text_take(&text);
}
