/* SPDX-License-Identifier: MIT */
/* Name and range rules of BITS-SPEC.md §2.2, §2.4, §4, §5.1 and §5.2.
 *
 * BITS checks names when they are added and does no escaping or normalisation of its own,
 * so these checks are purely syntactic: nothing here asks the file system or the network.
 * Native builds use Wine's headers with -fshort-wchar while glibc's wcs* functions assume
 * a 4-byte wchar_t, so every string walk is an explicit WCHAR loop.
 *
 * Where the spec does not settle a case, the comment at the rule says "Spec silent:" and gives
 * the choice a BITS client would expect; docs/conformance.md lists them and the tests pin them. */
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* The parts of an http(s) URL, which differ in the characters they may hold (RFC 3986 §3). */
enum url_part
{
    URL_USERINFO,
    URL_HOST,
    URL_PATH,
    URL_QUERY,          /* the query and the fragment share one character set */
};

static BOOL is_ascii_alpha(WCHAR c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static BOOL is_digit(WCHAR c)
{
    return c >= '0' && c <= '9';
}

static BOOL is_hex_digit(WCHAR c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static WCHAR ascii_lower(WCHAR c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static BOOL is_separator(WCHAR c)
{
    return c == '\\' || c == '/';
}

/* prefix is ASCII and lower case; narrow so that no WCHAR literal depends on wchar_t width. */
static BOOL has_prefix_nocase(const WCHAR *str, const char *prefix)
{
    for (; *prefix; ++str, ++prefix)
        if (ascii_lower(*str) != (WCHAR)*prefix) return FALSE;   /* also stops at str's NUL */
    return TRUE;
}

BOOL string_longer_than(const WCHAR *str, size_t max)
{
    size_t len;

    if (!str) return FALSE;
    /* Stops at max + 1 characters: a hostile multi-megabyte name costs no more than a legal one. */
    for (len = 0; str[len]; ++len)
        if (len == max) return TRUE;
    return FALSE;
}

/* -------------------------------------------------------------------------------------------- */
/* Paths: drive-letter and UNC                                                                    */

/* Characters Windows forbids in a file or directory name. '*' and '?' are the wildcards the
 * spec names; ':' after the drive would select an NTFS stream. */
static BOOL is_bad_path_char(WCHAR c)
{
    return c < 0x20 || c == '*' || c == '?' || c == ':' || c == '<' || c == '>' || c == '"'
           || c == '|';
}

static BOOL is_drive_root(const WCHAR *path)
{
    return is_ascii_alpha(path[0]) && path[1] == ':' && is_separator(path[2]);
}

/* Checks the components of a path after its root ("C:\" or the "\\" of a UNC name): at least
 * min_components non-empty components, each at most MAX_PATH characters of legal file-name
 * characters, separated by single separators and not followed by one.
 * Spec silent: an empty component is refused rather than collapsed: GetFullPathName never
 * produces one, and for UNC names it would shift which component is the server and which
 * the share.
 * For UNC names (unc TRUE) the first component is the server, and "." is refused there:
 * "\\.\" is the Win32 device namespace, not a file share. "\\?\" needs no such test, as '?'
 * is a wildcard. */
static BOOL path_components_ok(const WCHAR *p, unsigned int min_components, BOOL unc)
{
    const WCHAR *component = p;
    unsigned int count = 0;

    for (;; ++p)
    {
        if (*p && !is_separator(*p))
        {
            if (is_bad_path_char(*p)) return FALSE;
            continue;
        }
        if (p == component || p - component > MAX_PATH) return FALSE;
        if (unc && !count && p - component == 1 && component[0] == '.') return FALSE;
        ++count;
        if (!*p) break;
        component = p + 1;
    }
    return count >= min_components;
}

/* A full drive-letter path ("C:\dir\file") or UNC path ("\\server\share\file"), with either
 * separator, as Windows accepts both. Refuses relative names ("file", "dir\file"),
 * drive-relative ones ("C:file") and rooted ones without a drive ("\dir\file"): they depend
 * on the caller's current directory, which the service does not share.
 * A UNC name needs a file below the share: "\\server\share" alone names no file. */
static BOOL path_ok(const WCHAR *path, enum remote_kind *kind)
{
    if (is_drive_root(path))
    {
        *kind = REMOTE_LOCAL_PATH;
        return path_components_ok(path + 3, 1, FALSE);
    }
    if (is_separator(path[0]) && is_separator(path[1]))
    {
        *kind = REMOTE_UNC;
        return path_components_ok(path + 2, 3, TRUE);
    }
    return FALSE;
}

/* -------------------------------------------------------------------------------------------- */
/* URLs                                                                                           */

static BOOL is_unreserved(WCHAR c)
{
    return is_ascii_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 sub-delims without '*': the spec forbids wildcards in remote names, and a client
 * that means a literal '*' can write %2A. */
static BOOL is_sub_delim(WCHAR c)
{
    return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '+'
           || c == ',' || c == ';' || c == '=';
}

/* Returns the position after the URL character at p, or NULL when that character may not
 * appear in the given part. A %XX escape is one step of three characters and must have two
 * hex digits, because BITS sends the name as it is and a server would reject a stray '%'.
 * Spec silent: non-ASCII characters are allowed in the path and query only: BITS 1.5 and
 * later encode them as UTF-8 escapes itself (BITS-SPEC.md §5.1), but host names must come
 * IDN-encoded. C1 controls and unpaired surrogates have no UTF-8 form and are refused. */
static const WCHAR *url_next_char(const WCHAR *p, enum url_part part)
{
    WCHAR c = *p;

    if (c == '%') return is_hex_digit(p[1]) && is_hex_digit(p[2]) ? p + 3 : NULL;
    if (c >= 0x80)
    {
        if (part != URL_PATH && part != URL_QUERY) return NULL;
        if (c < 0xa0) return NULL;
        if (c >= 0xd800 && c <= 0xdbff) return p[1] >= 0xdc00 && p[1] <= 0xdfff ? p + 2 : NULL;
        if (c >= 0xdc00 && c <= 0xdfff) return NULL;
        return p + 1;
    }
    if (is_unreserved(c) || is_sub_delim(c)) return p + 1;
    switch (part)
    {
    case URL_USERINFO: return c == ':' ? p + 1 : NULL;
    case URL_HOST:     return NULL;
    case URL_PATH:     return c == ':' || c == '@' ? p + 1 : NULL;
    case URL_QUERY:    return c == ':' || c == '@' || c == '/' || c == '?' ? p + 1 : NULL;
    }
    return NULL;
}

/* TRUE when [p, end) consists of legal characters of the part; end may be NULL for "up to
 * the terminating NUL". */
static BOOL url_chars_ok(const WCHAR *p, const WCHAR *end, enum url_part part)
{
    while (end ? p < end : *p != 0)
        if (!(p = url_next_char(p, part))) return FALSE;
    return !end || p == end;     /* an escape may not straddle the end of the part */
}

/* The port after a ':': decimal, 1..65535. Spec silent: an empty port ("host:/") is refused
 * although RFC 3986 allows it: it is almost certainly a client's mistake, and an explicit
 * port is the only reason to write the colon. */
static BOOL url_port_ok(const WCHAR *p, const WCHAR *end)
{
    unsigned int port = 0;

    if (p == end) return FALSE;
    for (; p < end; ++p)
    {
        if (!is_digit(*p)) return FALSE;
        port = port * 10 + (*p - '0');
        if (port > 65535) return FALSE;      /* checked per digit, so this cannot overflow */
    }
    return port != 0;
}

/* An IPv6 literal between '[' and ']': hex digits, ':' and '.' (for an embedded IPv4
 * address), containing at least one ':'. Spec silent: zone identifiers ("%25eth0") are not
 * accepted; they name an interface of the client, which means nothing to a service. */
static BOOL ipv6_literal_ok(const WCHAR *p, const WCHAR *end)
{
    BOOL colon = FALSE;

    for (; p < end; ++p)
    {
        if (*p == ':') colon = TRUE;
        else if (!is_hex_digit(*p) && *p != '.') return FALSE;
    }
    return colon;
}

/* The authority [userinfo@]host[:port] in [p, end). A URL must name a host (BITS-SPEC.md §5.1).
 * Spec silent: user information is accepted, as WinHTTP, which BITS transfers through,
 * accepts it. */
static BOOL url_authority_ok(const WCHAR *p, const WCHAR *end)
{
    const WCHAR *host = p, *host_end, *q;

    for (q = p; q < end; ++q)
    {
        if (*q != '@') continue;
        if (!url_chars_ok(p, q, URL_USERINFO)) return FALSE;
        host = q + 1;
        break;
    }
    if (host < end && *host == '[')
    {
        for (host_end = host; host_end < end && *host_end != ']'; ++host_end) {}
        if (host_end == end || !ipv6_literal_ok(host + 1, host_end)) return FALSE;
        ++host_end;
    }
    else
    {
        for (host_end = host; host_end < end && *host_end != ':'; ++host_end) {}
        if (host_end == host || !url_chars_ok(host, host_end, URL_HOST)) return FALSE;
    }
    if (host_end == end) return TRUE;
    return *host_end == ':' && url_port_ok(host_end + 1, end);
}

/* The rest of an http(s) URL after "scheme://": authority, path, optional query and fragment.
 * The MAX_PATH limit applies to the authority and to each '/'-separated path segment, counted
 * as written (an escape is three characters). Spec silent: it does not apply to the query,
 * which is neither a path nor a file name, and signed download URLs routinely carry longer
 * queries; the 2,200-character total still bounds it.
 * Spec silent: '?' opens the query here rather than being refused as a wildcard: in an HTTP
 * URL it is a delimiter, and BITS clients download from URLs with query strings every day.
 * '*' stays refused everywhere, the query included. */
static BOOL http_url_ok(const WCHAR *p)
{
    const WCHAR *authority = p, *segment;

    while (*p && *p != '/' && *p != '?' && *p != '#') ++p;
    if (p - authority > MAX_PATH || !url_authority_ok(authority, p)) return FALSE;

    segment = p;
    while (*p && *p != '?' && *p != '#')
    {
        if (*p == '/')
        {
            segment = ++p;
            continue;
        }
        if (!(p = url_next_char(p, URL_PATH))) return FALSE;
        if (p - segment > MAX_PATH) return FALSE;
    }
    if (*p == '?')
    {
        for (++p; *p && *p != '#';)
            if (!(p = url_next_char(p, URL_QUERY))) return FALSE;
    }
    if (*p == '#') return url_chars_ok(p + 1, NULL, URL_QUERY);
    return TRUE;
}

/* The rest of a file:// URL after "file://". Accepted forms:
 * - file:///C:/dir/file   (RFC 8089, what UrlCreateFromPath produces)
 * - file://C:\dir\file    ("file://" glued to a local path: Windows accepts it [win])
 * - file://server/share/file and file:////server/share/file   (a UNC name)
 * Spec silent: the remainder follows the path rules rather than URL ones, since the legacy
 * form carries raw spaces and backslashes; '%' is left for the transport to interpret. */
static BOOL file_url_ok(const WCHAR *p)
{
    enum remote_kind kind;

    if (p[0] == '/' && is_drive_root(p + 1)) return path_ok(p + 1, &kind);
    if (is_drive_root(p) || is_separator(p[0])) return path_ok(p, &kind);
    return path_components_ok(p, 3, TRUE);
}

HRESULT validate_remote_name(const WCHAR *name, enum remote_kind *kind)
{
    enum remote_kind found;
    BOOL ok;

    if (!name || !name[0] || string_longer_than(name, MAX_REMOTE_NAME)) return E_INVALIDARG;

    if (has_prefix_nocase(name, "http://"))
    {
        found = REMOTE_HTTP;
        ok = http_url_ok(name + 7);
    }
    else if (has_prefix_nocase(name, "https://"))
    {
        found = REMOTE_HTTPS;
        ok = http_url_ok(name + 8);
    }
    else if (has_prefix_nocase(name, "file://"))
    {
        found = REMOTE_FILE_URL;
        ok = file_url_ok(name + 7);
    }
    else ok = path_ok(name, &found);     /* anything else, ftp:// included, fails here */

    if (!ok) return E_INVALIDARG;
    if (kind) *kind = found;
    return S_OK;
}

HRESULT validate_local_name(const WCHAR *name)
{
    enum remote_kind kind;

    /* MAX_PATH counts the terminating NUL, hence MAX_PATH - 1 characters; a longer name
     * could only be opened through the \\?\ prefix, which the spec forbids. */
    if (!name || !name[0] || string_longer_than(name, MAX_PATH - 1)) return E_INVALIDARG;
    return path_ok(name, &kind) ? S_OK : E_INVALIDARG;
}

HRESULT validate_remote_prefixes(const WCHAR *old_prefix, const WCHAR *new_prefix)
{
    if (!old_prefix || !old_prefix[0] || !new_prefix || !new_prefix[0]) return E_INVALIDARG;
    return S_OK;
}

/* -------------------------------------------------------------------------------------------- */
/* Ranges                                                                                         */

/* Ascending offset, then ascending length, so that a BG_LENGTH_TO_EOF range sorts after any
 * other range with the same offset. */
static int compare_ranges(const void *a, const void *b)
{
    const BG_FILE_RANGE *x = a, *y = b;

    if (x->InitialOffset != y->InitialOffset) return x->InitialOffset < y->InitialOffset ? -1 : 1;
    if (x->Length != y->Length) return x->Length < y->Length ? -1 : 1;
    return 0;
}

/* One past the last byte; BG_LENGTH_TO_EOF reads as "up to the largest offset", which no
 * valid InitialOffset reaches, so it overlaps every range that starts after it. */
static UINT64 range_end(const BG_FILE_RANGE *range)
{
    if (range->Length == BG_LENGTH_TO_EOF) return BG_LENGTH_TO_EOF;
    return range->InitialOffset + range->Length;
}

/* Spec silent on precedence: the count is checked before the array is read, so an oversized
 * request costs nothing and the copy fits on the stack; per-range faults are reported for the
 * first faulty range in the caller's order.
 * Spec silent: a range whose end does not fit in 64 bits gets BG_E_INVALID_RANGE: no file can
 * hold those bytes, and wrapping the sum would let it pass the overlap check. */
HRESULT validate_ranges(const BG_FILE_RANGE *ranges, DWORD count)
{
    BG_FILE_RANGE sorted[MAX_RANGES_PER_FILE];
    DWORD i;

    if (!ranges || !count) return E_INVALIDARG;
    if (count > MAX_RANGES_PER_FILE) return BG_E_TOO_MANY_RANGES_IN_FILE;

    for (i = 0; i < count; ++i)
    {
        const BG_FILE_RANGE *range = &ranges[i];

        if (!range->Length) return E_INVALIDARG;
        if (range->InitialOffset == BG_LENGTH_TO_EOF) return BG_E_INVALID_RANGE;
        if (range->Length != BG_LENGTH_TO_EOF && range->Length > BG_LENGTH_TO_EOF - range->InitialOffset)
            return BG_E_INVALID_RANGE;
    }

    /* Sorted, disjoint ranges have increasing ends, so comparing each range with its
     * predecessor finds any overlap; ties on the offset always overlap (lengths are > 0),
     * whatever order the caller listed them in. */
    memcpy(sorted, ranges, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), compare_ranges);
    for (i = 1; i < count; ++i)
        if (sorted[i].InitialOffset < range_end(&sorted[i - 1])) return BG_E_OVERLAPPING_RANGES;
    return S_OK;
}
