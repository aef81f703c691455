/* SPDX-License-Identifier: MIT */
/* Scenario sections and keys to settings and rules (see scenario.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/scenario.h"

#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))

enum rule_key
{
    KEY_URL, KEY_MATCH, KEY_TIMES, KEY_ACTION, KEY_SIZE, KEY_CONTENT, KEY_CONTENT_HEX, KEY_CONTENT_FILE,
    KEY_HEADER, KEY_RANGES, KEY_SIZE_KNOWN, KEY_MODIFIED, KEY_RESET_AFTER, KEY_BYTES_PER_SECOND,
    KEY_STATUS, KEY_ERROR,
};

static const char *const rule_keys[] =
{
    "url", "match", "times", "action", "size", "content", "content-hex", "content-file",
    "header", "ranges", "size-known", "modified", "reset-after", "bytes-per-second",
    "status", "error",
};

enum setting_key { SETTING_TIME, SETTING_UNMATCHED, SETTING_UNMATCHED_ERROR };

static const char *const setting_keys[] = { "time", "unmatched", "unmatched-error" };

/* --- helpers -------------------------------------------------------------------------------- */

static BOOL ascii_ieq(const WCHAR *a, size_t len, const char *b)
{
    size_t i;

    for (i = 0; i < len; ++i)
    {
        WCHAR c = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
        if (!b[i] || c != (unsigned char)b[i]) return FALSE;
    }
    return !b[len];
}

static BOOL value_is(const WCHAR *value, const char *name)
{
    return ascii_ieq(value, script_wcslen(value), name);
}

/* For messages: the string with what is not printable ASCII as '?'. */
static void narrow(const WCHAR *src, size_t len, char *dst, size_t size)
{
    size_t i;

    for (i = 0; i < len && i + 1 < size; ++i) dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[i] = 0;
}

static HRESULT mistake(struct scenario *scenario, const char *key, const char *reason)
{
    char section[128] = "openbits";

    if (scenario->error[0]) return E_INVALIDARG;          /* the first one is the one to fix */
    if (!scenario->in_settings && scenario->current < scenario->count)
    {
        const WCHAR *name = scenario->rules[scenario->current].section;
        narrow(name, script_wcslen(name), section, sizeof(section));
    }
    if (key) snprintf(scenario->error, sizeof(scenario->error), "[%s] %s: %s", section, key, reason);
    else snprintf(scenario->error, sizeof(scenario->error), "[%s]: %s", section, reason);
    return E_INVALIDARG;
}

static WCHAR *dup_n(const WCHAR *str, size_t len)
{
    WCHAR *copy = malloc((len + 1) * sizeof(WCHAR));

    if (!copy) return NULL;
    memcpy(copy, str, len * sizeof(WCHAR));
    copy[len] = 0;
    return copy;
}

/* A number: decimal or 0x hex, optionally followed by K, M or G (binary multiples). */
static BOOL parse_u64(const WCHAR *value, UINT64 *out)
{
    UINT64 result = 0, base = 10, multiple = 1;
    const WCHAR *p = value;
    int digit;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
    if (!*p) return FALSE;
    for (; *p; ++p)
    {
        if (*p >= '0' && *p <= '9') digit = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f') digit = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F') digit = *p - 'A' + 10;
        else break;
        if (result > (~(UINT64)0 - digit) / base) return FALSE;
        result = result * base + digit;
    }
    if (p == value || (base == 16 && p == value + 2)) return FALSE;
    if (base == 10 && *p)
    {
        if (*p == 'k' || *p == 'K') multiple = 1024;
        else if (*p == 'm' || *p == 'M') multiple = 1024 * 1024;
        else if (*p == 'g' || *p == 'G') multiple = 1024 * 1024 * 1024;
        else return FALSE;
        if (p[1]) return FALSE;
    }
    else if (*p)
        return FALSE;
    if (result > ~(UINT64)0 / multiple) return FALSE;
    *out = result * multiple;
    return TRUE;
}

static BOOL parse_bool(const WCHAR *value, BOOL *out)
{
    if (value_is(value, "yes") || value_is(value, "true") || value_is(value, "on") || value_is(value, "1"))
        *out = TRUE;
    else if (value_is(value, "no") || value_is(value, "false") || value_is(value, "off") || value_is(value, "0"))
        *out = FALSE;
    else
        return FALSE;
    return TRUE;
}

BOOL scenario_parse_error(const WCHAR *value, HRESULT *code)
{
    static const struct { const char *name; HRESULT code; } names[] =
    {
        { "connect", SCRIPT_E_CONNECT },
        { "name", SCRIPT_E_NAME },
        { "timeout", SCRIPT_E_TIMEOUT },
        { "tls", SCRIPT_E_TLS },
        { "reset", SCRIPT_E_RESET },
    };
    UINT64 number;
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        if (value_is(value, names[i].name))
        {
            *code = names[i].code;
            return TRUE;
        }
    if (!parse_u64(value, &number) || number > 0xffffffffu || !number) return FALSE;
    *code = number < 0x10000 ? HR_WIN32((ULONG)number) : (HRESULT)(ULONG)number;
    return FAILED(*code);
}

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) to a FILETIME. */
static BOOL parse_time(const WCHAR *value, FILETIME *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    unsigned int field[6] = { 0 }, i, f = 0;
    INT64 y, era, yoe, doy, doe, days;
    UINT64 ticks;

    for (i = 0; shape[i]; ++i)
    {
        WCHAR c = value[i];
        if (shape[i] == 'd')
        {
            if (c < '0' || c > '9') return FALSE;
            field[f] = field[f] * 10 + (c - '0');
            if (shape[i + 1] != 'd') ++f;
        }
        else if (c != (WCHAR)shape[i] && !(shape[i] == 'T' && c == ' '))
            return FALSE;
    }
    if (value[i] || field[0] < 1601 || field[1] < 1 || field[1] > 12 || field[2] < 1 || field[2] > 31
            || field[3] > 23 || field[4] > 59 || field[5] > 60)
        return FALSE;
    /* Days from 1970-01-01 (H. Hinnant's days_from_civil). */
    y = (INT64)field[0] - (field[1] <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (field[1] + (field[1] > 2 ? -3 : 9)) + 2) / 5 + field[2] - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;
    ticks = (UINT64)((days * 86400 + field[3] * 3600 + field[4] * 60 + field[5]) + 11644473600ll) * 10000000;
    out->dwLowDateTime = (DWORD)ticks;
    out->dwHighDateTime = (DWORD)(ticks >> 32);
    return TRUE;
}

/* Text to UTF-8. */
static BYTE *utf8(const WCHAR *text, size_t *size)
{
    size_t len = script_wcslen(text), i, n = 0;
    BYTE *out = malloc(len * 3 + 1);

    if (!out) return NULL;
    for (i = 0; i < len; ++i)
    {
        unsigned int c = text[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < len && text[i + 1] >= 0xdc00 && text[i + 1] < 0xe000)
        {
            c = 0x10000 + ((c - 0xd800) << 10) + (text[++i] - 0xdc00);
            out[n++] = 0xf0 | (c >> 18);
            out[n++] = 0x80 | ((c >> 12) & 0x3f);
            out[n++] = 0x80 | ((c >> 6) & 0x3f);
            out[n++] = 0x80 | (c & 0x3f);
        }
        else if (c < 0x80) out[n++] = c;
        else if (c < 0x800)
        {
            out[n++] = 0xc0 | (c >> 6);
            out[n++] = 0x80 | (c & 0x3f);
        }
        else
        {
            out[n++] = 0xe0 | (c >> 12);
            out[n++] = 0x80 | ((c >> 6) & 0x3f);
            out[n++] = 0x80 | (c & 0x3f);
        }
    }
    *size = n;
    return out;
}

static int hex_digit(WCHAR c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Pairs of hex digits, spaces allowed between pairs. NULL and *size 0 on a mistake. */
static BYTE *parse_hex(const WCHAR *value, size_t *size, BOOL *ok)
{
    size_t len = script_wcslen(value), n = 0;
    BYTE *out = malloc(len / 2 + 1);
    const WCHAR *p;

    *ok = FALSE;
    *size = 0;
    if (!out) return NULL;
    for (p = value; *p;)
    {
        if (*p == ' ' || *p == '\t') { ++p; continue; }
        if (hex_digit(p[0]) < 0 || hex_digit(p[1]) < 0)
        {
            free(out);
            return NULL;
        }
        out[n++] = (BYTE)(hex_digit(p[0]) * 16 + hex_digit(p[1]));
        p += 2;
    }
    *ok = n > 0;
    *size = n;
    return out;
}

/* --- sections and lines --------------------------------------------------------------------- */

void scenario_init(struct scenario *scenario)
{
    memset(scenario, 0, sizeof(*scenario));
    scenario->current = (size_t)-1;
}

static void rule_free(struct scenario_rule *rule)
{
    free(rule->section);
    free(rule->pattern);
    free(rule->headers);
    free(rule->content_file);
    free(rule->content);
}

void scenario_free(struct scenario *scenario)
{
    size_t i;

    for (i = 0; i < scenario->count; ++i) rule_free(&scenario->rules[i]);
    free(scenario->rules);
    scenario->rules = NULL;
    scenario->count = scenario->capacity = 0;
}

HRESULT scenario_section(struct scenario *scenario, const WCHAR *name)
{
    struct scenario_rule *rule;

    if (scenario->error[0]) return E_INVALIDARG;
    if (value_is(name, "openbits"))
    {
        scenario->in_settings = TRUE;
        return S_OK;
    }
    scenario->in_settings = FALSE;
    if (scenario->count == scenario->capacity)
    {
        size_t capacity = scenario->capacity ? scenario->capacity * 2 : 8;
        struct scenario_rule *rules = realloc(scenario->rules, capacity * sizeof(*rules));
        if (!rules) return E_OUTOFMEMORY;
        scenario->rules = rules;
        scenario->capacity = capacity;
    }
    rule = &scenario->rules[scenario->count];
    memset(rule, 0, sizeof(*rule));
    if (!(rule->section = script_wcsdup(name))) return E_OUTOFMEMORY;
    rule->spec.action = -1;               /* not given yet: inferred at the end */
    scenario->current = scenario->count++;
    return S_OK;
}

static HRESULT setting_line(struct scenario *scenario, int key, const char *name, const WCHAR *value)
{
    if (scenario->settings_seen & (1u << key)) return mistake(scenario, name, "given twice");
    scenario->settings_seen |= 1u << key;
    switch (key)
    {
    case SETTING_TIME:
        if (value_is(value, "virtual")) scenario->virtual_time = TRUE;
        else if (value_is(value, "real")) scenario->virtual_time = FALSE;
        else return mistake(scenario, name, "must be real or virtual");
        scenario->time_set = TRUE;
        return S_OK;
    case SETTING_UNMATCHED:
        if (value_is(value, "fail")) scenario->fail_unmatched = TRUE;
        else if (value_is(value, "pass")) scenario->fail_unmatched = FALSE;
        else return mistake(scenario, name, "must be pass or fail");
        scenario->unmatched_set = TRUE;
        return S_OK;
    case SETTING_UNMATCHED_ERROR:
        if (!scenario_parse_error(value, &scenario->unmatched_error))
            return mistake(scenario, name, "must be connect, name, timeout, tls, reset or an error number");
        return S_OK;
    }
    return E_INVALIDARG;
}

static HRESULT rule_line(struct scenario *scenario, struct scenario_rule *rule, int key, const char *name,
                         const WCHAR *value)
{
    struct script_rule_spec *spec = &rule->spec;
    UINT64 number;
    BOOL flag, ok;

    if (key != KEY_HEADER && (rule->seen & (1u << key))) return mistake(scenario, name, "given twice");
    if ((key == KEY_CONTENT || key == KEY_CONTENT_HEX || key == KEY_CONTENT_FILE)
            && (rule->seen & ((1u << KEY_CONTENT) | (1u << KEY_CONTENT_HEX) | (1u << KEY_CONTENT_FILE))))
        return mistake(scenario, name, "only one of content, content-hex and content-file");
    rule->seen |= 1u << key;
    switch (key)
    {
    case KEY_URL:
        if (!value[0]) return mistake(scenario, name, "is empty");
        if (!(rule->pattern = script_wcsdup(value))) return E_OUTOFMEMORY;
        spec->pattern = rule->pattern;
        return S_OK;
    case KEY_MATCH:
        if (value_is(value, "exact")) spec->match = SCRIPT_MATCH_EXACT;
        else if (value_is(value, "prefix")) spec->match = SCRIPT_MATCH_PREFIX;
        else if (value_is(value, "wildcard")) spec->match = SCRIPT_MATCH_WILDCARD;
        else return mistake(scenario, name, "must be exact, prefix or wildcard");
        return S_OK;
    case KEY_TIMES:
        if (!parse_u64(value, &number) || number > 0xffffffffu) return mistake(scenario, name, "must be a number");
        spec->times = (ULONG)number;
        return S_OK;
    case KEY_ACTION:
        if (value_is(value, "serve")) spec->action = SCRIPT_SERVE;
        else if (value_is(value, "status")) spec->action = SCRIPT_STATUS;
        else if (value_is(value, "fail")) spec->action = SCRIPT_FAIL;
        else return mistake(scenario, name, "must be serve, status or fail");
        return S_OK;
    case KEY_SIZE:
    case KEY_RESET_AFTER:
    case KEY_BYTES_PER_SECOND:
        if (!parse_u64(value, &number)) return mistake(scenario, name, "must be a number (K, M, G allowed)");
        if (key == KEY_SIZE) spec->size = number;
        else if (key == KEY_RESET_AFTER) spec->reset_after = number;
        else spec->bytes_per_second = number;
        return S_OK;
    case KEY_CONTENT:
        if (!(rule->content = utf8(value, &spec->content_size))) return E_OUTOFMEMORY;
        spec->content = rule->content;
        return S_OK;
    case KEY_CONTENT_HEX:
        rule->content = parse_hex(value, &spec->content_size, &ok);
        if (!ok) return mistake(scenario, name, "must be pairs of hex digits");
        spec->content = rule->content;
        return S_OK;
    case KEY_CONTENT_FILE:
        if (!value[0]) return mistake(scenario, name, "is empty");
        if (!(rule->content_file = script_wcsdup(value))) return E_OUTOFMEMORY;
        return S_OK;
    case KEY_HEADER:
    {
        size_t old = rule->headers ? script_wcslen(rule->headers) : 0, len = script_wcslen(value);
        const WCHAR *colon = value;
        WCHAR *headers;
        while (*colon && *colon != ':') ++colon;
        if (!*colon || colon == value) return mistake(scenario, name, "must be \"Name: value\"");
        if (!(headers = realloc(rule->headers, (old + len + 3) * sizeof(WCHAR)))) return E_OUTOFMEMORY;
        memcpy(headers + old, value, len * sizeof(WCHAR));
        headers[old + len] = '\r';
        headers[old + len + 1] = '\n';
        headers[old + len + 2] = 0;
        rule->headers = headers;
        spec->headers = headers;
        return S_OK;
    }
    case KEY_RANGES:
    case KEY_SIZE_KNOWN:
        if (!parse_bool(value, &flag)) return mistake(scenario, name, "must be yes or no");
        if (!flag) spec->flags |= key == KEY_RANGES ? SCRIPT_NO_RANGES : SCRIPT_NO_SIZE;
        return S_OK;
    case KEY_MODIFIED:
        if (!parse_time(value, &spec->modified)) return mistake(scenario, name, "must be YYYY-MM-DDTHH:MM:SSZ");
        return S_OK;
    case KEY_STATUS:
        if (!parse_u64(value, &number) || number > 999) return mistake(scenario, name, "must be an HTTP status");
        spec->status = (DWORD)number;
        return S_OK;
    case KEY_ERROR:
        if (!scenario_parse_error(value, &spec->error))
            return mistake(scenario, name, "must be connect, name, timeout, tls, reset or an error number");
        return S_OK;
    }
    return E_INVALIDARG;
}

HRESULT scenario_line(struct scenario *scenario, const WCHAR *line)
{
    const WCHAR *equal = line, *key_end, *value;
    char name[64];
    size_t key_len, value_len, i;
    WCHAR *copy;
    HRESULT hr;

    if (scenario->error[0]) return E_INVALIDARG;
    while (*line == ' ' || *line == '\t') ++line;
    if (!*line || *line == ';' || *line == '#') return S_OK;           /* blank or a comment */
    for (equal = line; *equal && *equal != '='; ++equal) {}
    for (key_end = equal; key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'); --key_end) {}
    key_len = key_end - line;
    narrow(line, key_len, name, sizeof(name));
    if (!scenario->in_settings && !scenario->count) return mistake(scenario, name, "a key before any section");
    if (!*equal) return mistake(scenario, name, "not a \"key = value\" line");

    value = equal + 1;
    while (*value == ' ' || *value == '\t') ++value;
    value_len = script_wcslen(value);
    while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t')) --value_len;
    if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"') ++value, value_len -= 2;
    if (!(copy = dup_n(value, value_len))) return E_OUTOFMEMORY;

    hr = S_FALSE;
    if (scenario->in_settings)
    {
        for (i = 0; i < sizeof(setting_keys) / sizeof(setting_keys[0]); ++i)
            if (ascii_ieq(line, key_len, setting_keys[i])) hr = setting_line(scenario, (int)i, setting_keys[i], copy);
    }
    else
    {
        for (i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); ++i)
            if (ascii_ieq(line, key_len, rule_keys[i]))
                hr = rule_line(scenario, &scenario->rules[scenario->count - 1], (int)i, rule_keys[i], copy);
    }
    free(copy);
    if (hr == S_FALSE) return mistake(scenario, name, "unknown key");
    return hr;
}

HRESULT scenario_finish(struct scenario *scenario)
{
    const char *reason;
    size_t i;

    if (scenario->error[0]) return E_INVALIDARG;
    if (scenario->settings_seen & (1u << SETTING_UNMATCHED_ERROR) && !scenario->fail_unmatched)
    {
        scenario->in_settings = TRUE;
        return mistake(scenario, "unmatched-error", "only with unmatched = fail");
    }
    for (i = 0; i < scenario->count; ++i)
    {
        struct scenario_rule *rule = &scenario->rules[i];
        struct script_rule *created;
        struct script_rule_spec spec;
        HRESULT hr;

        /* The action, when not given: status with a status, fail with an error, else serve. */
        if ((int)rule->spec.action == -1)
            rule->spec.action = (rule->seen & (1u << KEY_STATUS)) ? SCRIPT_STATUS
                              : (rule->seen & (1u << KEY_ERROR)) ? SCRIPT_FAIL : SCRIPT_SERVE;
        spec = rule->spec;
        scenario->in_settings = FALSE;
        scenario->current = i;            /* for the message's section name */
        if (FAILED(hr = script_rule_create(&spec, &created, &reason)))
        {
            if (hr == E_INVALIDARG) mistake(scenario, NULL, reason);
            return hr;
        }
        script_rule_release(created);
    }
    return S_OK;
}
