/* SPDX-License-Identifier: MIT */
/* The scripted network's rules, answers and journal (see script.h). */
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

HRESULT script_rule_create(const struct script_rule_spec *spec, struct script_rule **out, const char **reason)
{
    struct script_rule *rule;
    size_t len;

    *out = NULL;
    *reason = NULL;
    if (!spec->pattern || !spec->pattern[0]) *reason = "no pattern (the remote name to match)";
    else if ((len = script_wcslen(spec->pattern)) > SCRIPT_MAX_PATTERN) *reason = "the pattern is too long";
    else if (spec->match < SCRIPT_MATCH_EXACT || spec->match > SCRIPT_MATCH_WILDCARD) *reason = "unknown match kind";
    else if (spec->action < SCRIPT_SERVE || spec->action > SCRIPT_FAIL) *reason = "unknown action";
    else if (spec->flags & ~(DWORD)(SCRIPT_NO_RANGES | SCRIPT_NO_SIZE)) *reason = "unknown flags";
    else if (spec->content_size && !spec->content) *reason = "a content size without content";
    else if (spec->headers && !headers_valid(spec->headers)) *reason = "headers must be lines of \"Name: value\"";
    else if (spec->action == SCRIPT_STATUS
             && (spec->status < 100 || spec->status > 599 || spec->status == 200 || spec->status == 206))
        *reason = "a status rule needs an HTTP status from 100 to 599 other than 200 and 206";
    else if (spec->action == SCRIPT_FAIL && !FAILED(spec->error)) *reason = "a fail rule needs an error (a failure HRESULT)";
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
    if (!rule || --rule->refs) return;
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

struct script_rule *script_match(struct script *script, const WCHAR *url)
{
    struct script_rule *rule;

    for (rule = script->rules; rule; rule = rule->next)
    {
        if (rule->times && rule->used >= rule->times) continue;     /* used up: falls through */
        if (!script_pattern_matches(rule->match, rule->pattern, url)) continue;
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
