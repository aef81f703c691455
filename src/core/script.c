/* SPDX-License-Identifier: MIT */
/* The scripted network's rules, answers and journal (see script.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/script.h"

/* HRESULT_FROM_WIN32 as a constant expression (Wine's headers make it a function). */
#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))

/* --- strings ---------------------------------------------------------------------------------- */

size_t script_wcslen(const WCHAR *str)
{
    size_t len = 0;

    while (str[len]) ++len;
    return len;
}

WCHAR *script_wcsdup(const WCHAR *str)
{
    size_t size = (script_wcslen(str) + 1) * sizeof(WCHAR);
    WCHAR *copy = malloc(size);

    if (copy) memcpy(copy, str, size);
    return copy;
}

static WCHAR fold(WCHAR c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int script_wcscmp(const WCHAR *a, const WCHAR *b)
{
    while (*a && *a == *b) ++a, ++b;
    return *a == *b ? 0 : *a < *b ? -1 : 1;
}

BOOL script_wcsieq(const WCHAR *a, const WCHAR *b)
{
    while (*a && fold(*a) == fold(*b)) ++a, ++b;
    return fold(*a) == fold(*b);
}

/* A growing wide string; `failed` once memory ran out. */
struct wbuf
{
    WCHAR *data;
    size_t len, capacity;
    BOOL failed;
};

static void wbuf_append_n(struct wbuf *buf, const WCHAR *str, size_t len)
{
    if (buf->failed) return;
    if (buf->len + len + 1 > buf->capacity)
    {
        size_t capacity = (buf->len + len + 1) * 2;
        WCHAR *data = realloc(buf->data, capacity * sizeof(WCHAR));
        if (!data)
        {
            buf->failed = TRUE;
            return;
        }
        buf->data = data;
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->len, str, len * sizeof(WCHAR));
    buf->len += len;
    buf->data[buf->len] = 0;
}

static void wbuf_append(struct wbuf *buf, const WCHAR *str)
{
    wbuf_append_n(buf, str, script_wcslen(str));
}

static void wbuf_append_ascii(struct wbuf *buf, const char *str)
{
    WCHAR chunk[64];
    size_t n;

    while (*str)
    {
        for (n = 0; n < 64 && str[n]; ++n) chunk[n] = (unsigned char)str[n];
        wbuf_append_n(buf, chunk, n);
        str += n;
    }
}

static void wbuf_append_u64(struct wbuf *buf, UINT64 value)
{
    WCHAR digits[21];
    int i = 20;

    digits[i] = 0;
    do digits[--i] = (WCHAR)('0' + value % 10); while ((value /= 10));
    wbuf_append(buf, digits + i);
}

/* Header lines as given, each ending in CRLF (a missing final CRLF added, bare LFs made CRLF). */
static void wbuf_append_lines(struct wbuf *buf, const WCHAR *lines)
{
    static const WCHAR crlf[] = { '\r', '\n', 0 };
    const WCHAR *start = lines, *p;

    for (p = lines; ; ++p)
    {
        if (*p && *p != '\n') continue;
        if (p > start)
        {
            size_t len = p - start;
            if (start[len - 1] == '\r') --len;
            if (len)
            {
                wbuf_append_n(buf, start, len);
                wbuf_append(buf, crlf);
            }
        }
        if (!*p) break;
        start = p + 1;
    }
}

/* --- rules ------------------------------------------------------------------------------------- */

void script_init(struct script *script)
{
    memset(script, 0, sizeof(*script));
    script->next_id = 1;
    script->journal.next_seq = 1;
}

void script_free(struct script *script)
{
    script_remove_all(script);
    script_journal_clear(&script->journal);
    free(script->journal.entries);
    script->journal.entries = NULL;
    script->journal.capacity = 0;
}

static BOOL headers_valid(const WCHAR *headers)
{
    const WCHAR *p = headers;
    BOOL colon = FALSE, empty = TRUE;
    size_t len = 0;

    for (; ; ++p, ++len)
    {
        if (len > SCRIPT_MAX_HEADERS) return FALSE;
        if (!*p || *p == '\n')
        {
            if (!empty && !colon) return FALSE;       /* a line that is not "Name: value" */
            if (!*p) return TRUE;
            colon = FALSE;
            empty = TRUE;
            continue;
        }
        if (*p == '\r') continue;
        if (*p == ':' && !empty) colon = TRUE;
        if (*p == ':' && empty) return FALSE;         /* no name */
        empty = FALSE;
    }
}

/* The flags each action takes. */
static DWORD allowed_flags(int action)
{
    switch (action)
    {
    case SCRIPT_SERVE:
        return SCRIPT_NO_RANGES | SCRIPT_NO_SIZE;
    case SCRIPT_STATUS:
    case SCRIPT_FAIL:
        return SCRIPT_NO_RANGES | SCRIPT_NO_SIZE | SCRIPT_PACKETS;     /* the first two: no effect */
    case SCRIPT_ACCEPT:
        return SCRIPT_PACKETS;
    case SCRIPT_REJECT:
        return SCRIPT_PACKETS | SCRIPT_APPLICATION_ERROR;
    default:                            /* SCRIPT_REPLY: its reply is served content */
        return SCRIPT_NO_RANGES | SCRIPT_NO_SIZE | SCRIPT_PACKETS;
    }
}

HRESULT script_rule_create(const struct script_rule_spec *spec, struct script_rule **out, const char **reason)
{
    struct script_rule *rule;
    size_t len;

    *out = NULL;
    *reason = NULL;
    if (!spec->pattern || !spec->pattern[0]) *reason = "no pattern (the remote name to match)";
    else if ((len = script_wcslen(spec->pattern)) > SCRIPT_MAX_PATTERN) *reason = "the pattern is too long";
    else if (spec->match < SCRIPT_MATCH_EXACT || spec->match > SCRIPT_MATCH_WILDCARD) *reason = "unknown match kind";
    else if (spec->action < SCRIPT_SERVE || spec->action > SCRIPT_REPLY) *reason = "unknown action";
    else if (spec->flags & ~allowed_flags(spec->action)) *reason = "flags this action does not take";
    else if (spec->content_size && !spec->content) *reason = "a content size without content";
    else if (spec->headers && !headers_valid(spec->headers)) *reason = "headers must be lines of \"Name: value\"";
    else if (spec->action == SCRIPT_STATUS
             && (spec->status < 100 || spec->status > 599 || spec->status == 200 || spec->status == 206))
        *reason = "a status rule needs an HTTP status from 100 to 599 other than 200 and 206";
    else if (spec->action == SCRIPT_FAIL && !FAILED(spec->error)) *reason = "a fail rule needs an error (a failure HRESULT)";
    else if ((spec->action == SCRIPT_ACCEPT || spec->action == SCRIPT_REJECT)
             && (spec->content_size || spec->size || spec->reset_after || spec->bytes_per_second
                 || spec->modified.dwLowDateTime || spec->modified.dwHighDateTime))
        *reason = "an accept or reject rule has no content (an upload-reply rule's content is its reply)";
    else if (spec->action == SCRIPT_REJECT && !spec->status && !spec->error)
        *reason = "a reject rule needs an HTTP status or a BITS error code";
    else if (spec->action == SCRIPT_REJECT && spec->status && (spec->status < 300 || spec->status > 599))
        *reason = "a reject rule's HTTP status is from 300 to 599";
    else if (spec->action == SCRIPT_REJECT && spec->error && !FAILED(spec->error))
        *reason = "a reject rule's error is a failure HRESULT";
    if (*reason) return E_INVALIDARG;

    if (!(rule = calloc(1, sizeof(*rule)))) return E_OUTOFMEMORY;
    rule->refs = 1;
    rule->match = spec->match;
    rule->times = spec->times;
    rule->action = spec->action;
    rule->flags = spec->flags;
    rule->size = spec->size ? spec->size : spec->content_size;
    rule->content_size = spec->content_size;
    rule->modified = spec->modified;
    rule->reset_after = spec->reset_after;
    rule->bytes_per_second = spec->bytes_per_second;
    rule->status = spec->status;
    rule->error = spec->error;
    if (!(rule->pattern = script_wcsdup(spec->pattern))) goto out_of_memory;
    if (spec->headers && spec->headers[0])
    {
        struct wbuf buf = { 0 };
        wbuf_append_lines(&buf, spec->headers);
        if (buf.failed) goto out_of_memory;
        rule->headers = buf.data;
    }
    if (spec->content_size)
    {
        if (!(rule->content = malloc(spec->content_size))) goto out_of_memory;
        memcpy(rule->content, spec->content, spec->content_size);
    }
    *out = rule;
    return S_OK;

out_of_memory:
    script_rule_release(rule);
    return E_OUTOFMEMORY;
}

void script_rule_release(struct script_rule *rule)
{
    struct script_session *session;

    if (!rule || --rule->refs) return;
    while ((session = rule->sessions))
    {
        rule->sessions = session->next;
        free(session);
    }
    free(rule->pattern);
    free(rule->headers);
    free(rule->content);
    free(rule);
}

void script_add(struct script *script, struct script_rule *rule)
{
    struct script_rule **link = &script->rules;

    while (*link) link = &(*link)->next;
    rule->id = script->next_id++;
    rule->next = NULL;
    rule->listed = TRUE;
    *link = rule;
}

HRESULT script_remove(struct script *script, ULONG id)
{
    struct script_rule **link, *rule;

    for (link = &script->rules; (rule = *link); link = &rule->next)
    {
        if (rule->id != id) continue;
        *link = rule->next;
        rule->next = NULL;
        rule->listed = FALSE;
        script_rule_release(rule);
        return S_OK;
    }
    return S_FALSE;
}

void script_remove_all(struct script *script)
{
    while (script->rules) script_remove(script, script->rules->id);
}

/* '*' any run (also empty), '?' any one character; letters without case. Iterative, with the
 * position of the last '*' to fall back to. */
static BOOL wildcard_matches(const WCHAR *pattern, const WCHAR *name)
{
    const WCHAR *star = NULL, *resume = NULL;

    while (*name)
    {
        if (*pattern == '*')
        {
            star = ++pattern;
            resume = name;
        }
        else if (*pattern == '?' || (*pattern && fold(*pattern) == fold(*name)))
        {
            ++pattern;
            ++name;
        }
        else if (star)
        {
            pattern = star;
            name = ++resume;
        }
        else
            return FALSE;
    }
    while (*pattern == '*') ++pattern;
    return !*pattern;
}

BOOL script_pattern_matches(enum script_match match, const WCHAR *pattern, const WCHAR *name)
{
    switch (match)
    {
    case SCRIPT_MATCH_EXACT:
        return script_wcsieq(pattern, name);
    case SCRIPT_MATCH_PREFIX:
        while (*pattern && fold(*pattern) == fold(*name)) ++pattern, ++name;
        return !*pattern;
    case SCRIPT_MATCH_WILDCARD:
        return wildcard_matches(pattern, name);
    }
    return FALSE;
}

static BOOL is_upload_server(const struct script_rule *rule)
{
    return rule->action == SCRIPT_ACCEPT || rule->action == SCRIPT_REPLY;
}

static struct script_session *find_session(const struct script_rule *rule, const WCHAR *id)
{
    struct script_session *session;

    if (!id) return NULL;
    for (session = rule->sessions; session; session = session->next)
        if (!script_wcscmp(session->id, id)) return session;
    return NULL;
}

static struct script_session *find_serial(const struct script_rule *rule, ULONG serial)
{
    struct script_session *session;

    for (session = rule->sessions; session; session = session->next)
        if (session->serial == serial) return session;
    return NULL;
}

/* Where the reply parameter of a reply URL begins (its '?' or '&'), and the session's serial;
 * NULL when the URL is no reply URL. */
static const WCHAR *reply_parameter(const WCHAR *url, ULONG *serial)
{
    static const char parameter[] = SCRIPT_REPLY_PARAMETER;
    const WCHAR *p, *found = NULL;
    UINT64 value = 0;
    size_t i;

    for (p = url; *p; ++p)
    {
        if (*p != '?' && *p != '&') continue;
        for (i = 0; parameter[i] && p[1 + i] == (unsigned char)parameter[i]; ++i) {}
        if (!parameter[i]) found = p;
    }
    if (!found) return NULL;
    p = found + 1 + sizeof(parameter) - 1;
    if (!*p) return NULL;
    for (; *p; ++p)
    {
        if (*p < '0' || *p > '9' || value > 0xffffffffu) return NULL;
        value = value * 10 + (*p - '0');
    }
    if (!value || value > 0xffffffffu) return NULL;
    *serial = (ULONG)value;
    return found;
}

/* A REPLY rule takes the GET of a URL that is a remote name it matches with its parameter. */
static BOOL takes_reply_url(const struct script_rule *rule, const WCHAR *url)
{
    const WCHAR *parameter;
    ULONG serial;
    WCHAR *base;
    BOOL taken;

    if (!(parameter = reply_parameter(url, &serial))) return FALSE;
    if (!(base = malloc((parameter - url + 1) * sizeof(WCHAR)))) return FALSE;
    memcpy(base, url, (parameter - url) * sizeof(WCHAR));
    base[parameter - url] = 0;
    taken = script_pattern_matches(rule->match, rule->pattern, base);
    free(base);
    return taken;
}

/* Whether the rule takes the request (its kind, its packet, its remote name). */
static BOOL takes(const struct script_rule *rule, const WCHAR *url, const struct script_packet *packet)
{
    if (!packet)
    {
        if (rule->action == SCRIPT_REPLY) return takes_reply_url(rule, url);
        if (rule->action != SCRIPT_SERVE && rule->action != SCRIPT_STATUS && rule->action != SCRIPT_FAIL) return FALSE;
        if (rule->flags & SCRIPT_PACKETS) return FALSE;
    }
    else
    {
        if (rule->action == SCRIPT_SERVE) return FALSE;
        if ((rule->flags & SCRIPT_PACKETS) && (!packet->typed || !(rule->flags & SCRIPT_PACKET(packet->type))))
            return FALSE;
    }
    return script_pattern_matches(rule->match, rule->pattern, url);
}

struct script_rule *script_match(struct script *script, const WCHAR *url, const struct script_packet *packet)
{
    struct script_rule *rule;
    BOOL own;

    for (rule = script->rules; rule; rule = rule->next)
    {
        if (!takes(rule, url, packet)) continue;
        /* An upload server's own sessions and replies are its, whatever its count says. */
        own = is_upload_server(rule) && (!packet || find_session(rule, packet->session_id));
        if (!own && rule->times && rule->used >= rule->times) continue;     /* used up: falls through */
        if (!is_upload_server(rule) || (packet && packet->typed && packet->type == BITS_PACKET_CREATE_SESSION))
            ++rule->used;
        ++rule->refs;
        return rule;
    }
    return NULL;
}

/* --- answering ---------------------------------------------------------------------------------- */

BYTE script_formula_byte(UINT64 offset)
{
    return (BYTE)((((offset % 65521) * 2654435761u) >> 16) + offset / 65521);
}

BG_ERROR_CONTEXT script_error_context(HRESULT code)
{
    ULONG facility = ((ULONG)code >> 16) & 0x1fff;

    if (facility == 0x19 || facility == 0x20) return BG_ERROR_CONTEXT_REMOTE_FILE;  /* HTTP, BITS */
    switch (code)
    {
    case HR_WIN32(ERROR_FILE_NOT_FOUND):
    case HR_WIN32(ERROR_PATH_NOT_FOUND):
    case HR_WIN32(ERROR_ACCESS_DENIED):
    case HR_WIN32(ERROR_BAD_NETPATH):
        return BG_ERROR_CONTEXT_REMOTE_FILE;
    default:
        return BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
    }
}

static const WCHAR *protocol_of(enum remote_kind kind)
{
    static const WCHAR http[] = { 'h', 't', 't', 'p', 0 }, file[] = { 'f', 'i', 'l', 'e', 0 };
    return kind == REMOTE_HTTP || kind == REMOTE_HTTPS ? http : file;
}

static HRESULT fail_with(struct transfer_error *error, enum remote_kind kind, BG_ERROR_CONTEXT context, HRESULT code)
{
    error->context = context;
    error->code = code;
    error->protocol = protocol_of(kind);
    return code;
}

/* What the HTTP transport makes of a status (src/transport_http.c): 416 BG_E_INVALID_RANGE, a
 * redirect it did not follow HRESULT_FROM_WIN32(status), the rest BG_E_HTTP_ERROR_<status>. */
static HRESULT status_error(DWORD status)
{
    if (status == 416) return BG_E_INVALID_RANGE;
    if ((status >= 300 && status <= 303) || status == 307 || status == 308) return HR_WIN32(status);
    return (HRESULT)(0x80190000u | status);
}

void script_http_date(const FILETIME *time, WCHAR out[30])
{
    static const char days[] = "ThuFriSatSunMonTueWed", months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    UINT64 ticks = ((UINT64)time->dwHighDateTime << 32) | time->dwLowDateTime;
    UINT64 seconds = ticks / 10000000, day_count;
    unsigned int second, minute, hour, year, month, day;
    char text[30];
    INT64 z, era, doe, yoe, doy, mp;
    int i;

    /* 1601-01-01 to 1970-01-01 is 11644473600 s; days from the civil calendar (H. Hinnant). */
    seconds = seconds >= 11644473600ull ? seconds - 11644473600ull : 0;
    day_count = seconds / 86400;
    second = seconds % 60;
    minute = seconds / 60 % 60;
    hour = seconds / 3600 % 24;
    z = (INT64)day_count + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
    month = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
    year = (unsigned int)(yoe + era * 400 + (month <= 2));

    memcpy(text, days + day_count % 7 * 3, 3);
    text[3] = ',';
    text[4] = ' ';
    text[5] = '0' + day / 10;
    text[6] = '0' + day % 10;
    text[7] = ' ';
    memcpy(text + 8, months + (month - 1) * 3, 3);
    text[11] = ' ';
    text[12] = '0' + year / 1000 % 10;
    text[13] = '0' + year / 100 % 10;
    text[14] = '0' + year / 10 % 10;
    text[15] = '0' + year % 10;
    text[16] = ' ';
    text[17] = '0' + hour / 10;
    text[18] = '0' + hour % 10;
    text[19] = ':';
    text[20] = '0' + minute / 10;
    text[21] = '0' + minute % 10;
    text[22] = ':';
    text[23] = '0' + second / 10;
    text[24] = '0' + second % 10;
    memcpy(text + 25, " GMT", 4);
    for (i = 0; i < 29; ++i) out[i] = (unsigned char)text[i];
    out[29] = 0;
}

HRESULT script_open(struct script_rule *rule, const struct transport_request *request, UINT64 now,
                    struct script_stream *stream, struct transport_response *response,
                    struct transfer_error *error)
{
    BOOL to_eof = request->length == BG_LENGTH_TO_EOF || request->length > ~(UINT64)0 - request->offset;
    BOOL range = request->offset || !to_eof, partial = range && !(rule->flags & SCRIPT_NO_RANGES);
    BOOL sized = !(rule->flags & SCRIPT_NO_SIZE);
    UINT64 size = rule->size;
    struct wbuf headers = { 0 };
    WCHAR date[30];

    memset(stream, 0, sizeof(*stream));
    memset(response, 0, sizeof(*response));
    response->file_size = BG_SIZE_UNKNOWN;
    if (rule->action == SCRIPT_STATUS)
        return fail_with(error, request->kind, BG_ERROR_CONTEXT_REMOTE_FILE, status_error(rule->status));
    if (rule->action == SCRIPT_FAIL)
        return fail_with(error, request->kind, script_error_context(rule->error), rule->error);
    if (rule->action == SCRIPT_REPLY)
    {
        /* The reply of one of its sessions whose upload is complete; else gone, as a server
         * says it once the session is closed. */
        const struct script_session *session;
        ULONG serial;

        if (!reply_parameter(request->url, &serial) || !(session = find_serial(rule, serial)) || !session->complete)
            return fail_with(error, request->kind, BG_ERROR_CONTEXT_REMOTE_FILE, status_error(404));
    }
    else if (rule->action != SCRIPT_SERVE)
        return fail_with(error, request->kind, BG_ERROR_CONTEXT_REMOTE_FILE, status_error(405));

    if (partial && request->offset >= size)
        return fail_with(error, request->kind, BG_ERROR_CONTEXT_REMOTE_FILE, status_error(416));
    if (partial)
    {
        stream->position = request->offset;
        stream->end = to_eof || request->length > size - request->offset ? size : request->offset + request->length;
        response->ranged = TRUE;
    }
    else
        stream->end = size;
    if (sized) response->file_size = size;
    response->modified = rule->modified;

    wbuf_append_ascii(&headers, partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n");
    if (sized)
    {
        wbuf_append_ascii(&headers, "Content-Length: ");
        wbuf_append_u64(&headers, stream->end - stream->position);
        wbuf_append_ascii(&headers, "\r\n");
    }
    if (partial)
    {
        wbuf_append_ascii(&headers, "Content-Range: bytes ");
        wbuf_append_u64(&headers, stream->position);
        wbuf_append_ascii(&headers, "-");
        wbuf_append_u64(&headers, stream->end - 1);
        wbuf_append_ascii(&headers, "/");
        if (sized) wbuf_append_u64(&headers, size);
        else wbuf_append_ascii(&headers, "*");
        wbuf_append_ascii(&headers, "\r\n");
    }
    if (!(rule->flags & SCRIPT_NO_RANGES)) wbuf_append_ascii(&headers, "Accept-Ranges: bytes\r\n");
    if (rule->modified.dwLowDateTime | rule->modified.dwHighDateTime)
    {
        script_http_date(&rule->modified, date);
        wbuf_append_ascii(&headers, "Last-Modified: ");
        wbuf_append(&headers, date);
        wbuf_append_ascii(&headers, "\r\n");
    }
    if (rule->headers) wbuf_append(&headers, rule->headers);
    wbuf_append_ascii(&headers, "\r\n");
    if (headers.failed)
    {
        free(headers.data);
        return fail_with(error, request->kind, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    }
    response->headers = headers.data;

    stream->rule = rule;
    ++rule->refs;
    stream->start_ms = now;
    stream->kind = request->kind;
    return S_OK;
}

/* Bytes a throttle of `rate` per second allows `elapsed` ms after the start, saturating. */
static UINT64 throttle_allowance(UINT64 rate, UINT64 elapsed)
{
    UINT64 whole = elapsed / 1000, part = elapsed % 1000;

    if (whole && rate > ~(UINT64)0 / whole) return ~(UINT64)0;
    return whole * rate + part * rate / 1000;
}

/* The ms after the start at which a throttle of `rate` per second allows `bytes` in all. */
static UINT64 throttle_time(UINT64 rate, UINT64 bytes)
{
    UINT64 whole = bytes / rate, rest = bytes % rate;

    if (whole > ~(UINT64)0 / 1000 - 1) return ~(UINT64)0;
    return whole * 1000 + (rest * 1000 + rate - 1) / rate;
}

HRESULT script_read(struct script_stream *stream, BYTE *buffer, DWORD size, UINT64 now, DWORD *read,
                    UINT64 *due, struct transfer_error *error)
{
    const struct script_rule *rule = stream->rule;
    UINT64 want = stream->end - stream->position, i;

    *read = 0;
    *due = 0;
    if (!want) return S_OK;
    if (want > size) want = size;
    if (rule->reset_after)
    {
        if (stream->sent >= rule->reset_after)
            return fail_with(error, stream->kind, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, SCRIPT_E_RESET);
        if (want > rule->reset_after - stream->sent) want = rule->reset_after - stream->sent;
    }
    if (rule->bytes_per_second)
    {
        UINT64 rate = rule->bytes_per_second, quantum = rate / 4 ? rate / 4 : 1;
        UINT64 allowed = throttle_allowance(rate, now - stream->start_ms);
        UINT64 need = want < quantum ? want : quantum;

        allowed = allowed > stream->sent ? allowed - stream->sent : 0;
        if (allowed < need)
        {
            /* A quarter of a second's worth at a time: not a wake-up per byte. */
            *due = stream->start_ms + throttle_time(rate, stream->sent + need);
            return S_FALSE;
        }
        if (want > allowed) want = allowed;
    }
    for (i = 0; i < want; ++i)
    {
        UINT64 offset = stream->position + i;
        buffer[i] = rule->content_size ? rule->content[offset % rule->content_size] : script_formula_byte(offset);
    }
    stream->position += want;
    stream->sent += want;
    *read = (DWORD)want;
    return S_OK;
}

void script_stream_close(struct script_stream *stream)
{
    script_rule_release(stream->rule);
    stream->rule = NULL;
}

/* --- upload packets ----------------------------------------------------------------------------- */

/* len characters at p equal the ASCII string, letters without case. */
static BOOL ascii_ieq_n(const WCHAR *p, size_t len, const char *ascii)
{
    size_t i;

    for (i = 0; i < len; ++i)
        if (!ascii[i] || fold(p[i]) != fold((unsigned char)ascii[i])) return FALSE;
    return !ascii[len];
}

static BOOL parse_decimal_n(const WCHAR *p, size_t len, UINT64 *value)
{
    UINT64 v = 0;
    size_t i;

    if (!len || len > 20) return FALSE;
    for (i = 0; i < len; ++i)
    {
        if (p[i] < '0' || p[i] > '9' || v > (~(UINT64)0 - (p[i] - '0')) / 10) return FALSE;
        v = v * 10 + (p[i] - '0');
    }
    *value = v;
    return TRUE;
}

/* "bytes first-last/total" (first <= last < total) or "bytes *" "/0". */
static void parse_content_range(const WCHAR *value, size_t len, struct script_packet *packet)
{
    const WCHAR *end = value + len, *dash, *slash;

    if (len < 6 || !ascii_ieq_n(value, 6, "bytes ")) return;
    value += 6;
    while (value < end && *value == ' ') ++value;
    if (end - value == 3 && value[0] == '*' && value[1] == '/' && value[2] == '0')
    {
        packet->empty = TRUE;
        return;
    }
    for (dash = value; dash < end && *dash != '-'; ++dash) {}
    for (slash = dash; slash < end && *slash != '/'; ++slash) {}
    if (dash == end || slash == end) return;
    if (!parse_decimal_n(value, dash - value, &packet->first) || !parse_decimal_n(dash + 1, slash - dash - 1, &packet->last)
            || !parse_decimal_n(slash + 1, end - slash - 1, &packet->total))
        return;
    packet->has_range = packet->first <= packet->last && packet->last < packet->total;
}

/* The protocols a Create-Session offers, separated by spaces: is BITS 1.5's among them? */
static BOOL offers_protocol(const WCHAR *value, size_t len)
{
    static const WCHAR protocol[] = BITS_UPLOAD_PROTOCOL;
    size_t start = 0, i, n = script_wcslen(protocol);

    while (start < len)
    {
        while (start < len && (value[start] == ' ' || value[start] == ',')) ++start;
        for (i = start; i < len && value[i] != ' ' && value[i] != ','; ++i) {}
        if (i - start == n)
        {
            size_t k;
            for (k = 0; k < n && fold(value[start + k]) == fold(protocol[k]); ++k) {}
            if (k == n) return TRUE;
        }
        start = i;
    }
    return FALSE;
}

HRESULT script_packet_parse(const WCHAR *headers, struct script_packet *packet)
{
    const WCHAR *line = headers, *end, *colon, *value, *value_end;
    int type;

    memset(packet, 0, sizeof(*packet));
    if (!headers) return S_OK;
    for (; *line; line = *end ? end + 1 : end)
    {
        for (end = line; *end && *end != '\n'; ++end) {}
        value_end = end > line && end[-1] == '\r' ? end - 1 : end;
        for (colon = line; colon < value_end && *colon != ':'; ++colon) {}
        if (colon == value_end || colon == line) continue;
        value = colon + 1;
        while (value < value_end && (*value == ' ' || *value == '\t')) ++value;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;

        if (ascii_ieq_n(line, colon - line, "BITS-Packet-Type"))
        {
            for (type = BITS_PACKET_PING; type <= BITS_PACKET_CANCEL_SESSION; ++type)
            {
                const WCHAR *name = bits_packet_name(type);
                size_t n = script_wcslen(name), k;

                if ((size_t)(value_end - value) != n) continue;
                for (k = 0; k < n && fold(value[k]) == fold(name[k]); ++k) {}
                if (k < n) continue;
                packet->typed = TRUE;
                packet->type = type;
            }
        }
        else if (ascii_ieq_n(line, colon - line, "BITS-Session-Id") && value_end > value && !packet->session_id)
        {
            size_t n = value_end - value;
            if (!(packet->session_id = malloc((n + 1) * sizeof(WCHAR)))) return E_OUTOFMEMORY;
            memcpy(packet->session_id, value, n * sizeof(WCHAR));
            packet->session_id[n] = 0;
        }
        else if (ascii_ieq_n(line, colon - line, "Content-Range"))
            parse_content_range(value, value_end - value, packet);
        else if (ascii_ieq_n(line, colon - line, "BITS-Supported-Protocols"))
            packet->offers_protocol = offers_protocol(value, value_end - value);
    }
    return S_OK;
}

void script_packet_free(struct script_packet *packet)
{
    free(packet->session_id);
    packet->session_id = NULL;
}

HRESULT script_packet_open(struct script_rule *rule, enum remote_kind kind, struct transfer_error *error)
{
    if (rule->action == SCRIPT_FAIL) return fail_with(error, kind, script_error_context(rule->error), rule->error);
    return S_OK;
}

static void wbuf_append_hex32(struct wbuf *buf, ULONG value)
{
    static const char digits[] = "0123456789abcdef";
    char text[11];
    int i;

    text[0] = '0';
    text[1] = 'x';
    for (i = 0; i < 8; ++i) text[2 + i] = digits[(value >> (28 - 4 * i)) & 0xf];
    text[10] = 0;
    wbuf_append_ascii(buf, text);
}

static const char *reason_phrase(DWORD status)
{
    switch (status)
    {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Status";
    }
}

/* What a scripted BITS server answers: the status, the error it carries (0: none), and the
 * extra BITS-* lines. */
struct packet_answer
{
    DWORD status;
    HRESULT code;
    const WCHAR *session_id;              /* BITS-Session-Id to say, or NULL */
    WCHAR new_id[40];                     /* a new session's */
    struct wbuf extra;
};

static void drop_oldest_session(struct script_rule *rule)
{
    struct script_session **link = &rule->sessions;

    while (*link && (*link)->next) link = &(*link)->next;
    if (!*link) return;
    free(*link);
    *link = NULL;
    --rule->session_count;
}

static void session_id_of(ULONG serial, WCHAR id[40])
{
    static const char digits[] = "0123456789abcdef";
    static const char prefix[] = "{6f70656e-6269-7473-0000-";   /* "openbits" */
    size_t i, n = sizeof(prefix) - 1;

    for (i = 0; i < n; ++i) id[i] = (unsigned char)prefix[i];
    for (i = 0; i < 12; ++i) id[n + i] = (unsigned char)digits[(i < 4 ? 0 : serial >> (4 * (11 - i))) & 0xf];
    id[n + 12] = '}';
    id[n + 13] = 0;
}

/* An ACCEPT or REPLY rule: the server side of BITS-SPEC.md §9, as tests/servers/bits_upload.py
 * does it (an unknown session: 500 with BG_E_SESSION_NOT_FOUND; a fragment past what the
 * server has: 416 with how far it is; overlaps are fine). */
static void serve_packet(struct script *script, struct script_rule *rule, const WCHAR *url,
                         const struct script_packet *packet, DWORD body_size, struct packet_answer *answer)
{
    struct script_session *session, **link;
    UINT64 length, total;

    answer->status = 200;
    if (!packet->typed)
    {
        answer->status = 400;
        return;
    }
    switch (packet->type)
    {
    case BITS_PACKET_PING:
        return;
    case BITS_PACKET_CREATE_SESSION:
        if (!packet->offers_protocol)
        {
            answer->status = 400;
            answer->code = BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH;
            return;
        }
        if (!(session = calloc(1, sizeof(*session))))
        {
            answer->status = 500;
            answer->code = E_OUTOFMEMORY;
            return;
        }
        if (!++script->next_session) ++script->next_session;
        session->serial = script->next_session;
        session_id_of(session->serial, session->id);
        if (rule->session_count >= SCRIPT_MAX_SESSIONS) drop_oldest_session(rule);
        session->next = rule->sessions;
        rule->sessions = session;
        ++rule->session_count;
        memcpy(answer->new_id, session->id, sizeof(session->id));
        answer->session_id = answer->new_id;
        wbuf_append_ascii(&answer->extra, "BITS-Protocol: ");
        wbuf_append_ascii(&answer->extra, "{7df0354d-249b-430f-820d-3d2a9bef4931}\r\n");
        wbuf_append_ascii(&answer->extra, "Accept-Encoding: Identity\r\n");
        return;
    default:
        break;
    }

    answer->session_id = packet->session_id;
    if (!(session = find_session(rule, packet->session_id)))
    {
        answer->status = 500;
        answer->code = BG_E_SESSION_NOT_FOUND;
        return;
    }
    if (packet->type != BITS_PACKET_FRAGMENT)
    {
        /* Close-Session and Cancel-Session: the session, its bytes and its reply go. */
        for (link = &rule->sessions; *link != session; link = &(*link)->next) {}
        *link = session->next;
        --rule->session_count;
        free(session);
        return;
    }

    length = packet->empty ? 0 : packet->has_range ? packet->last - packet->first + 1 : ~(UINT64)0;
    total = packet->empty ? 0 : packet->total;
    if (length != body_size || (session->has_total && session->total != total))
    {
        answer->status = 400;             /* no range, or not the one the body and session have */
        return;
    }
    if (!packet->empty && packet->first > session->received)
    {
        answer->status = 416;
        wbuf_append_ascii(&answer->extra, "BITS-Received-Content-Range: ");
        wbuf_append_u64(&answer->extra, session->received);
        wbuf_append_ascii(&answer->extra, "\r\n");
        return;
    }
    session->has_total = TRUE;
    session->total = total;
    if (!packet->empty && packet->last + 1 > session->received) session->received = packet->last + 1;
    wbuf_append_ascii(&answer->extra, "BITS-Received-Content-Range: ");
    wbuf_append_u64(&answer->extra, session->received);
    wbuf_append_ascii(&answer->extra, "\r\n");
    if (session->received != session->total) return;
    session->complete = TRUE;
    if (rule->action == SCRIPT_REPLY)
    {
        const WCHAR *p;
        BOOL query = FALSE;

        for (p = url; *p && *p != '#'; ++p)
            if (*p == '?') query = TRUE;
        wbuf_append_ascii(&answer->extra, "BITS-Reply-URL: ");
        wbuf_append_n(&answer->extra, url, p - url);
        wbuf_append_ascii(&answer->extra, query ? "&" : "?");
        wbuf_append_ascii(&answer->extra, SCRIPT_REPLY_PARAMETER);
        wbuf_append_u64(&answer->extra, session->serial);
        wbuf_append_ascii(&answer->extra, "\r\n");
    }
}

HRESULT script_packet_answer(struct script *script, struct script_rule *rule, const WCHAR *url,
                             const struct script_packet *packet, DWORD body_size, struct transport_reply *reply)
{
    struct packet_answer answer;
    struct wbuf headers = { 0 };
    BOOL bits = TRUE;
    char line[64];

    memset(reply, 0, sizeof(*reply));
    memset(&answer, 0, sizeof(answer));
    switch (rule->action)
    {
    case SCRIPT_STATUS:
        /* Something in front of the server, or a server without the protocol: no BITS-*. */
        answer.status = rule->status;
        bits = FALSE;
        break;
    case SCRIPT_REJECT:
        answer.status = rule->status ? rule->status : SCRIPT_REJECT_STATUS;
        answer.code = rule->error;
        answer.session_id = packet->session_id;
        break;
    case SCRIPT_ACCEPT:
    case SCRIPT_REPLY:
        serve_packet(script, rule, url, packet, body_size, &answer);
        break;
    default:                            /* SERVE and FAIL do not answer packets */
        answer.status = 500;
        bits = FALSE;
        break;
    }

    snprintf(line, sizeof(line), "HTTP/1.1 %lu %s\r\n", (unsigned long)answer.status, reason_phrase(answer.status));
    wbuf_append_ascii(&headers, line);
    if (bits)
    {
        wbuf_append_ascii(&headers, "BITS-Packet-Type: Ack\r\n");
        if (answer.session_id)
        {
            wbuf_append_ascii(&headers, "BITS-Session-Id: ");
            wbuf_append(&headers, answer.session_id);
            wbuf_append_ascii(&headers, "\r\n");
        }
        if (answer.extra.data) wbuf_append(&headers, answer.extra.data);
        if (answer.code)
        {
            wbuf_append_ascii(&headers, "BITS-Error-Code: ");
            wbuf_append_hex32(&headers, (ULONG)answer.code);
            wbuf_append_ascii(&headers, "\r\nBITS-Error-Context: ");
            wbuf_append_hex32(&headers, rule->action == SCRIPT_REJECT && (rule->flags & SCRIPT_APPLICATION_ERROR)
                                        ? BG_ERROR_CONTEXT_REMOTE_APPLICATION : BG_ERROR_CONTEXT_REMOTE_FILE);
            wbuf_append_ascii(&headers, "\r\n");
        }
    }
    wbuf_append_ascii(&headers, "Content-Length: 0\r\n");
    if (rule->headers) wbuf_append(&headers, rule->headers);
    wbuf_append_ascii(&headers, "\r\n");
    free(answer.extra.data);
    if (headers.failed || answer.extra.failed)
    {
        free(headers.data);
        return E_OUTOFMEMORY;
    }
    reply->status = answer.status;
    reply->headers = headers.data;
    return S_OK;
}

HRESULT script_packet_result(const struct transport_reply *reply)
{
    struct bits_ack ack;
    HRESULT hr;

    if (reply->status == 200 || reply->status == 201) return S_OK;
    hr = (HRESULT)(0x80190000u | reply->status);
    if (SUCCEEDED(bits_ack_parse(reply->headers, &ack)) && ack.has_error_code && FAILED(ack.error_code))
        hr = ack.error_code;
    bits_ack_free(&ack);
    return hr;
}

WCHAR *script_packet_headers(const WCHAR *custom, const WCHAR *packet)
{
    struct wbuf buf = { 0 };

    if (custom) wbuf_append_lines(&buf, custom);
    if (packet) wbuf_append_lines(&buf, packet);
    if (buf.failed)
    {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}

/* --- the journal -------------------------------------------------------------------------------- */

WCHAR *script_request_headers(const WCHAR *custom, UINT64 offset, UINT64 length, const FILETIME *if_modified)
{
    BOOL to_eof = length == BG_LENGTH_TO_EOF || length > ~(UINT64)0 - offset;
    struct wbuf buf = { 0 };
    WCHAR date[30];

    if (custom) wbuf_append_lines(&buf, custom);
    if (offset || !to_eof)
    {
        wbuf_append_ascii(&buf, "Range: bytes=");
        wbuf_append_u64(&buf, offset);
        wbuf_append_ascii(&buf, "-");
        if (!to_eof) wbuf_append_u64(&buf, offset + length - 1);
        wbuf_append_ascii(&buf, "\r\n");
        if (if_modified && (if_modified->dwLowDateTime | if_modified->dwHighDateTime))
        {
            script_http_date(if_modified, date);
            wbuf_append_ascii(&buf, "If-Range: ");
            wbuf_append(&buf, date);
            wbuf_append_ascii(&buf, "\r\n");
        }
    }
    if (buf.failed)
    {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}

static void request_free(struct script_request *request)
{
    free(request->verb);
    free(request->url);
    free(request->headers);
}

HRESULT script_journal_add(struct script_journal *journal, const WCHAR *verb, const WCHAR *url, WCHAR *headers,
                           UINT64 offset, UINT64 length, UINT64 *seq)
{
    struct script_request *request;

    *seq = 0;
    if (journal->count == SCRIPT_JOURNAL_MAX)
    {
        request_free(&journal->entries[0]);
        memmove(journal->entries, journal->entries + 1, (journal->count - 1) * sizeof(*journal->entries));
        --journal->count;
    }
    if (journal->count == journal->capacity)
    {
        size_t capacity = journal->capacity ? journal->capacity * 2 : 16;
        struct script_request *entries = realloc(journal->entries, capacity * sizeof(*entries));
        if (!entries)
        {
            free(headers);
            return E_OUTOFMEMORY;
        }
        journal->entries = entries;
        journal->capacity = capacity;
    }
    request = &journal->entries[journal->count];
    memset(request, 0, sizeof(*request));
    request->headers = headers;
    if (!(request->verb = script_wcsdup(verb)) || !(request->url = script_wcsdup(url)))
    {
        request_free(request);
        return E_OUTOFMEMORY;
    }
    request->offset = offset;
    request->length = length;
    request->seq = *seq = journal->next_seq++;
    ++journal->count;
    return S_OK;
}

struct script_request *script_journal_get(struct script_journal *journal, UINT64 seq)
{
    UINT64 first;

    if (!journal->count || !seq) return NULL;
    first = journal->entries[0].seq;
    if (seq < first || seq - first >= journal->count) return NULL;
    return &journal->entries[seq - first];
}

void script_journal_clear(struct script_journal *journal)
{
    size_t i;

    for (i = 0; i < journal->count; ++i) request_free(&journal->entries[i]);
    journal->count = 0;
}
