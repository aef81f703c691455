/* SPDX-License-Identifier: MIT */
/* Name and range rules (src/core/validate.c) against BITS-SPEC.md §2.2, §2.4, §4, §5.1, §5.2:
 * every rule with an accepted and a refused case, every limit at and just past its edge, the
 * exact HRESULT of each refusal, and inputs left as they were. Runs natively and under Wine.
 *
 * Strings are printed through an ASCII copy with %s: natively WCHAR is 2 bytes (Wine headers,
 * -fshort-wchar) while glibc's %ls reads 4-byte characters, so %ls is only right on MinGW. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/validate.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

#define KIND_POISON ((enum remote_kind)0x5a5a)
#define ANY_KIND    KIND_POISON          /* in a table row whose hr is a failure */

/* Room for the longest generated name plus a margin. */
#define NAME_BUFFER (MAX_REMOTE_NAME + 64)

static size_t wlen(const WCHAR *str)
{
    size_t len = 0;

    while (str[len]) ++len;
    return len;
}

static const char *printable(const WCHAR *str, char *buf, size_t size)
{
    size_t i;

    if (!str) return "(null)";
    for (i = 0; str[i] && i + 1 < size; ++i)
        buf[i] = str[i] >= 0x20 && str[i] < 0x7f ? (char)str[i] : '.';
    buf[i] = 0;
    return buf;
}

static WCHAR *wdup(const WCHAR *str)
{
    size_t size = (wlen(str) + 1) * sizeof(WCHAR);
    WCHAR *copy = malloc(size);

    assert_non_null(copy);
    memcpy(copy, str, size);
    return copy;
}

/* Writes head (ASCII), then `count` times `c`, then tail (ASCII) into buf; returns buf. */
static WCHAR *build(WCHAR *buf, const char *head, size_t count, WCHAR c, const char *tail)
{
    WCHAR *p = buf;

    while (*head) *p++ = (WCHAR)*head++;
    while (count--) *p++ = c;
    while (*tail) *p++ = (WCHAR)*tail++;
    *p = 0;
    assert_true(p < buf + NAME_BUFFER);
    return buf;
}

/* head (ASCII) followed by runs of 100 'a's separated by sep, to exactly total characters and
 * never ending in sep: a name that is long only as a whole, not in any one segment. */
static WCHAR *build_long(WCHAR *buf, const char *head, size_t total, WCHAR sep)
{
    size_t len = 0, run = 0;

    assert_true(total < NAME_BUFFER);
    while (*head) buf[len++] = (WCHAR)*head++;
    for (; len < total; ++len)
    {
        if (run == 100 && len + 1 < total)
        {
            buf[len] = sep;
            run = 0;
            continue;
        }
        buf[len] = 'a';
        ++run;
    }
    buf[len] = 0;
    assert_int_equal(wlen(buf), total);
    return buf;
}

/* Checks one remote name: result, kind written on success only, and the name unchanged. */
static void check_remote_(const WCHAR *name, HRESULT expected, enum remote_kind expected_kind, int line)
{
    enum remote_kind kind = KIND_POISON;
    WCHAR *copy = name ? wdup(name) : NULL;
    char text[128];
    HRESULT hr;

    hr = validate_remote_name(name, &kind);
    if (hr != expected)
        fail_msg("line %d: validate_remote_name(\"%s\") = %#x, expected %#x", line,
                 printable(name, text, sizeof(text)), (unsigned int)hr, (unsigned int)expected);
    if (SUCCEEDED(expected) && kind != expected_kind)
        fail_msg("line %d: \"%s\": kind %d, expected %d", line, printable(name, text, sizeof(text)),
                 (int)kind, (int)expected_kind);
    if (FAILED(expected) && kind != KIND_POISON)
        fail_msg("line %d: \"%s\": kind written on failure", line, printable(name, text, sizeof(text)));
    if (copy)
    {
        assert_memory_equal(copy, name, (wlen(copy) + 1) * sizeof(WCHAR));
        free(copy);
    }
    /* kind is optional: the result must not depend on it. */
    assert_hr(expected, validate_remote_name(name, NULL));
}
#define check_remote(name, hr, kind) check_remote_((name), (hr), (kind), __LINE__)

static void check_local_(const WCHAR *name, HRESULT expected, int line)
{
    WCHAR *copy = name ? wdup(name) : NULL;
    char text[128];
    HRESULT hr;

    hr = validate_local_name(name);
    if (hr != expected)
        fail_msg("line %d: validate_local_name(\"%s\") = %#x, expected %#x", line,
                 printable(name, text, sizeof(text)), (unsigned int)hr, (unsigned int)expected);
    if (copy)
    {
        assert_memory_equal(copy, name, (wlen(copy) + 1) * sizeof(WCHAR));
        free(copy);
    }
}
#define check_local(name, hr) check_local_((name), (hr), __LINE__)

struct remote_row
{
    const WCHAR *name;
    HRESULT hr;
    enum remote_kind kind;
    int line;
};
#define ROW(name, hr, kind) { name, hr, kind, __LINE__ }

static void run_remote_rows(const struct remote_row *rows, size_t count)
{
    size_t i;

    for (i = 0; i < count; ++i) check_remote_(rows[i].name, rows[i].hr, rows[i].kind, rows[i].line);
}

/* -------------------------------------------------------------------------------------------- */
/* validate_remote_name                                                                           */

static void test_remote_accepted(void **state)
{
    static const struct remote_row rows[] =
    {
        ROW(L"http://example.com/file.txt", S_OK, REMOTE_HTTP),
        ROW(L"https://example.com/dir/file.cab", S_OK, REMOTE_HTTPS),
        /* The scheme is case-insensitive. */
        ROW(L"HTTP://EXAMPLE.COM/FILE.TXT", S_OK, REMOTE_HTTP),
        ROW(L"hTtPs://example.com/f", S_OK, REMOTE_HTTPS),
        ROW(L"http://example.com", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/", S_OK, REMOTE_HTTP),
        ROW(L"http://localhost/f", S_OK, REMOTE_HTTP),
        /* Ports: optional, 1..65535. */
        ROW(L"http://example.com:1/f", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com:80/f", S_OK, REMOTE_HTTP),
        ROW(L"https://example.com:65535/f", S_OK, REMOTE_HTTPS),
        ROW(L"http://192.0.2.1:8080/f", S_OK, REMOTE_HTTP),
        ROW(L"http://[::1]/f", S_OK, REMOTE_HTTP),
        ROW(L"http://[2001:db8::1]:8080/f", S_OK, REMOTE_HTTP),
        ROW(L"http://[::ffff:192.0.2.1]/f", S_OK, REMOTE_HTTP),
        ROW(L"http://user:password@example.com/f", S_OK, REMOTE_HTTP),
        ROW(L"http://user@example.com:8080/f", S_OK, REMOTE_HTTP),
        /* Escapes with two hex digits, either case. */
        ROW(L"http://example.com/a%20b.txt", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/%7e%7E%2F", S_OK, REMOTE_HTTP),
        ROW(L"http://ex%41mple.com/f", S_OK, REMOTE_HTTP),
        /* Every other legal path character except the wildcard '*'. */
        ROW(L"http://example.com/a-b_c.d~e!$&'()+,;=:@/x", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/./../f", S_OK, REMOTE_HTTP),
        /* '?' opens a query, which may hold '/' and '?'; '#' a fragment. */
        ROW(L"http://example.com/get?id=1&name=x/y?z", S_OK, REMOTE_HTTP),
        ROW(L"https://example.com/f?", S_OK, REMOTE_HTTPS),
        ROW(L"http://example.com?q=1", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/f#part", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/f?q=1#part/2?", S_OK, REMOTE_HTTP),
        /* Non-ASCII in the path and query (BITS escapes it as UTF-8), surrogate pairs included. */
        ROW(L"http://example.com/\x00e9t\x00e9.txt", S_OK, REMOTE_HTTP),
        ROW(L"http://example.com/\xd83d\xde00?\x4e2d", S_OK, REMOTE_HTTP),
        /* file:// URLs: RFC 8089, "file://" glued to a local path [win], and UNC forms. */
        ROW(L"file:///C:/dir/file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"FILE:///c:\\dir\\file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file://C:\\dir\\file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file://C:/dir/file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file://server/share/file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file://server/share/dir/file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file:////server/share/file.txt", S_OK, REMOTE_FILE_URL),
        ROW(L"file:///C:/My Documents/a b%.txt", S_OK, REMOTE_FILE_URL),
        /* UNC paths, either separator. */
        ROW(L"\\\\server\\share\\file.txt", S_OK, REMOTE_UNC),
        ROW(L"\\\\server\\share\\dir\\file.txt", S_OK, REMOTE_UNC),
        ROW(L"\\\\server.example.com\\share$\\file with spaces.txt", S_OK, REMOTE_UNC),
        ROW(L"//server/share/file.txt", S_OK, REMOTE_UNC),
        /* Local drive-letter paths. */
        ROW(L"C:\\dir\\file.txt", S_OK, REMOTE_LOCAL_PATH),
        ROW(L"z:/dir/file.txt", S_OK, REMOTE_LOCAL_PATH),
        ROW(L"C:\\file", S_OK, REMOTE_LOCAL_PATH),
        ROW(L"C:\\dir\\\x00e9t\x00e9 (1).txt", S_OK, REMOTE_LOCAL_PATH),
    };

    run_remote_rows(rows, ARRAY_SIZE(rows));
}

static void test_remote_null_and_empty(void **state)
{
    check_remote(NULL, E_INVALIDARG, ANY_KIND);
    check_remote(L"", E_INVALIDARG, ANY_KIND);
}

static void test_remote_scheme_and_form(void **state)
{
    static const struct remote_row rows[] =
    {
        /* Unsupported schemes: BITS transfers no FTP. */
        ROW(L"ftp://example.com/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"FTP://example.com/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"gopher://example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"ldap://example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"mailto:someone@example.com", E_INVALIDARG, ANY_KIND),
        ROW(L"httpx://example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http:/example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http:example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http//example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"example.com/f", E_INVALIDARG, ANY_KIND),
        /* Relative, drive-relative and rooted-without-drive paths. */
        ROW(L"file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"dir\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"dir/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L".\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"..\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"C:file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"C:", E_INVALIDARG, ANY_KIND),
        ROW(L"\\dir\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"/dir/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"1:\\dir\\file.txt", E_INVALIDARG, ANY_KIND),
        /* Paths must name a file: no trailing separator, no empty component. */
        ROW(L"C:\\", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share\\", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\\\share\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\\\file.txt", E_INVALIDARG, ANY_KIND),
        /* Win32 namespaces are not file shares. */
        ROW(L"\\\\.\\pipe\\name", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\.\\C:\\dir\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\?\\C:\\dir\\file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\?\\UNC\\server\\share\\file.txt", E_INVALIDARG, ANY_KIND),
        /* NTFS streams and characters Windows forbids in file names. */
        ROW(L"C:\\dir\\file.txt:stream", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\file.txt::$DATA", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share\\file.txt:stream", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\a<b", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\a>b", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\a|b", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\a\"b", E_INVALIDARG, ANY_KIND),
        /* file:// without a file. */
        ROW(L"file://", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///C:", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///C:/", E_INVALIDARG, ANY_KIND),
        ROW(L"file://C:/dir/", E_INVALIDARG, ANY_KIND),
        ROW(L"file://server", E_INVALIDARG, ANY_KIND),
        ROW(L"file://server/share", E_INVALIDARG, ANY_KIND),
        ROW(L"file://server/share/", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///server/share/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///C:/dir/file.txt:stream", E_INVALIDARG, ANY_KIND),
    };

    run_remote_rows(rows, ARRAY_SIZE(rows));
}

static void test_remote_host_and_port(void **state)
{
    static const struct remote_row rows[] =
    {
        /* A URL must name a host. */
        ROW(L"http://", E_INVALIDARG, ANY_KIND),
        ROW(L"https://", E_INVALIDARG, ANY_KIND),
        ROW(L"http:///file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"http://:80/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"http://user@/file.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"http://?q=1", E_INVALIDARG, ANY_KIND),
        ROW(L"http://#part", E_INVALIDARG, ANY_KIND),
        /* Ports: decimal 1..65535, not empty. */
        ROW(L"http://example.com:0/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:65536/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:4294967297/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:99999999999999999999999/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:8a/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:-1/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:+80/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com:80:80/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[::1]:/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[::1]:0/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[::1]x/f", E_INVALIDARG, ANY_KIND),
        /* IPv6 literals. */
        ROW(L"http://[::1/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[]/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[g::1]/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[192.0.2.1]/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://[::1%25eth0]/f", E_INVALIDARG, ANY_KIND),
        /* Host characters: no wildcard, no space, no non-ASCII (IDN-encode it), no '@' twice. */
        ROW(L"http://ex*mple.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://exa mple.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://\x00e9xample.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://a@b@example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://us er@example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com\\file.txt", E_INVALIDARG, ANY_KIND),
    };

    run_remote_rows(rows, ARRAY_SIZE(rows));
}

static void test_remote_characters(void **state)
{
    static const struct remote_row rows[] =
    {
        /* Wildcards, in every kind of name. */
        ROW(L"http://example.com/*.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"https://example.com/dir/file*", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f?name=*", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f#*", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share\\*.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share\\file?.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\*.*", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\fil?.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///C:/dir/*.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"file://server/share/f?.txt", E_INVALIDARG, ANY_KIND),
        /* Control characters (C0, DEL, C1). */
        ROW(L"http://example.com/a\tb", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a\x01", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f\x7f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f\x0085", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f?q=\n", E_INVALIDARG, ANY_KIND),
        ROW(L"C:\\dir\\a\tb", E_INVALIDARG, ANY_KIND),
        ROW(L"\\\\server\\share\\a\nb", E_INVALIDARG, ANY_KIND),
        ROW(L"file:///C:/a\rb", E_INVALIDARG, ANY_KIND),
        /* Characters that are not legal in a URL: BITS does no escaping. */
        ROW(L"http://example.com/a b.txt", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f?a=b c", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a\\b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a<b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a>b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a\"b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a{b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a}b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a|b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a^b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a`b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a[b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a]b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f#a#b", E_INVALIDARG, ANY_KIND),
        /* Unpaired surrogates have no UTF-8 form. */
        ROW(L"http://example.com/\xd83d", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/\xd83dx", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/\xde00x", E_INVALIDARG, ANY_KIND),
        /* '%' must be followed by two hex digits. */
        ROW(L"http://example.com/a%", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a%2", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a%zz", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a%2g", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/a%2/b", E_INVALIDARG, ANY_KIND),
        ROW(L"http://exa%2/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://us%er@example.com/f", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f?q=%", E_INVALIDARG, ANY_KIND),
        ROW(L"http://example.com/f#%4", E_INVALIDARG, ANY_KIND),
    };

    run_remote_rows(rows, ARRAY_SIZE(rows));
}

/* 2,200 characters in total is the limit for every kind of remote name. */
static void test_remote_total_length(void **state)
{
    static const struct { const char *head; WCHAR sep; enum remote_kind kind; } forms[] =
    {
        { "http://example.com/",    '/',  REMOTE_HTTP },
        { "https://example.com/",   '/',  REMOTE_HTTPS },
        { "file:///C:/",            '/',  REMOTE_FILE_URL },
        { "\\\\server\\share\\",    '\\', REMOTE_UNC },
        { "C:\\",                   '\\', REMOTE_LOCAL_PATH },
    };
    static WCHAR name[NAME_BUFFER];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(forms); ++i)
    {
        check_remote(build_long(name, forms[i].head, MAX_REMOTE_NAME, forms[i].sep), S_OK, forms[i].kind);
        check_remote(build_long(name, forms[i].head, MAX_REMOTE_NAME + 1, forms[i].sep),
                     E_INVALIDARG, ANY_KIND);
    }
    /* A query has no segments, only the total limit. */
    check_remote(build(name, "https://example.com/f?", MAX_REMOTE_NAME - 22, 'a', ""), S_OK, REMOTE_HTTPS);
    check_remote(build(name, "https://example.com/f?", MAX_REMOTE_NAME - 21, 'a', ""),
                 E_INVALIDARG, ANY_KIND);
    /* Further over the limit. */
    check_remote(build_long(name, "http://example.com/", NAME_BUFFER - 1, '/'), E_INVALIDARG, ANY_KIND);
}

/* Every segment at most MAX_PATH characters, counted as written (an escape is 3 characters). */
static void test_remote_segment_length(void **state)
{
    static const struct { const char *head, *tail; enum remote_kind kind; } forms[] =
    {
        { "http://example.com/",        "/file.txt",   REMOTE_HTTP },
        { "https://example.com/dir/",   "",            REMOTE_HTTPS },
        { "http://example.com/",        "?q=1",        REMOTE_HTTP },
        { "http://",                    "/file.txt",   REMOTE_HTTP },     /* the host */
        { "file:///C:/",                "/file.txt",   REMOTE_FILE_URL },
        { "file://server/share/",       "",            REMOTE_FILE_URL },
        { "file://",                    "/share/f",    REMOTE_FILE_URL }, /* the server */
        { "\\\\server\\share\\",        "\\file.txt",  REMOTE_UNC },
        { "\\\\server\\",               "\\file.txt",  REMOTE_UNC },      /* the share */
        { "\\\\",                       "\\share\\f",  REMOTE_UNC },      /* the server */
        { "C:\\",                       "",            REMOTE_LOCAL_PATH },
        { "C:\\dir\\",                  "\\file.txt",  REMOTE_LOCAL_PATH },
    };
    static WCHAR name[NAME_BUFFER];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(forms); ++i)
    {
        check_remote(build(name, forms[i].head, MAX_PATH, 'a', forms[i].tail), S_OK, forms[i].kind);
        check_remote(build(name, forms[i].head, MAX_PATH + 1, 'a', forms[i].tail), E_INVALIDARG, ANY_KIND);
    }
    check_remote(build(name, "http://example.com/%20", MAX_PATH - 3, 'a', ""), S_OK, REMOTE_HTTP);
    check_remote(build(name, "http://example.com/%20", MAX_PATH - 2, 'a', ""), E_INVALIDARG, ANY_KIND);
}

/* -------------------------------------------------------------------------------------------- */
/* validate_local_name                                                                            */

static void test_local_accepted(void **state)
{
    check_local(L"C:\\dir\\file.txt", S_OK);
    check_local(L"c:/dir/file.txt", S_OK);
    check_local(L"C:\\file", S_OK);
    check_local(L"Z:\\My Documents\\a b (1).txt", S_OK);
    check_local(L"C:\\dir.d\\file.", S_OK);
    check_local(L"C:\\dir\\\x00e9t\x00e9\x4e2d.txt", S_OK);
    check_local(L"\\\\server\\share\\file.txt", S_OK);
    check_local(L"//server/share/dir/file.txt", S_OK);
}

#define L_ROW(name) { name, __LINE__ }

static void test_local_refused(void **state)
{
    static const struct local_row { const WCHAR *name; int line; } rows[] =
    {
        L_ROW(L""),
        /* Not a full path. */
        L_ROW(L"file.txt"), L_ROW(L"dir\\file.txt"), L_ROW(L".\\file.txt"), L_ROW(L"..\\file.txt"),
        L_ROW(L"C:file.txt"),
        L_ROW(L"\\dir\\file.txt"), L_ROW(L"/dir/file.txt"), L_ROW(L"1:\\file.txt"),
        L_ROW(L"CC:\\file.txt"),
        /* Wildcards. */
        L_ROW(L"C:\\dir\\*.txt"), L_ROW(L"C:\\dir\\file?.txt"), L_ROW(L"\\\\server\\share\\*"),
        /* NTFS streams. */
        L_ROW(L"C:\\dir\\file.txt:stream"), L_ROW(L"C:\\dir\\file.txt::$DATA"),
        L_ROW(L"C:\\dir:stream\\file.txt"),
        L_ROW(L"\\\\server\\share\\file.txt:stream"),
        /* The \\?\ prefix and its relatives. */
        L_ROW(L"\\\\?\\C:\\dir\\file.txt"), L_ROW(L"\\\\?\\UNC\\server\\share\\file.txt"),
        L_ROW(L"\\??\\C:\\file.txt"),
        L_ROW(L"\\\\.\\C:\\dir\\file.txt"), L_ROW(L"\\\\.\\pipe\\name"),
        /* A directory, not a file; empty components. */
        L_ROW(L"C:\\"), L_ROW(L"C:\\dir\\"), L_ROW(L"C:\\dir/"), L_ROW(L"C:\\dir\\\\file.txt"),
        L_ROW(L"\\\\server"), L_ROW(L"\\\\server\\share"),
        L_ROW(L"\\\\server\\share\\"), L_ROW(L"\\\\\\share\\file.txt"),
        /* Characters Windows forbids in file names. */
        L_ROW(L"C:\\dir\\a\tb"), L_ROW(L"C:\\dir\\a\x01"), L_ROW(L"C:\\dir\\a<b"),
        L_ROW(L"C:\\dir\\a>b"), L_ROW(L"C:\\dir\\a|b"),
        L_ROW(L"C:\\dir\\a\"b"),
        /* URLs are remote names, not local ones. */
        L_ROW(L"http://example.com/file.txt"), L_ROW(L"file:///C:/dir/file.txt"),
    };
    size_t i;

    check_local(NULL, E_INVALIDARG);
    for (i = 0; i < ARRAY_SIZE(rows); ++i) check_local_(rows[i].name, E_INVALIDARG, rows[i].line);
}

/* At most MAX_PATH - 1 characters: MAX_PATH counts the terminating NUL. */
static void test_local_length(void **state)
{
    static WCHAR name[NAME_BUFFER];

    check_local(build_long(name, "C:\\dir\\", MAX_PATH - 1, '\\'), S_OK);
    check_local(build_long(name, "C:\\dir\\", MAX_PATH, '\\'), E_INVALIDARG);
    check_local(build_long(name, "C:\\dir\\", MAX_PATH + 1, '\\'), E_INVALIDARG);
    check_local(build_long(name, "\\\\server\\share\\", MAX_PATH - 1, '\\'), S_OK);
    check_local(build_long(name, "\\\\server\\share\\", MAX_PATH, '\\'), E_INVALIDARG);
    /* One segment filling the whole name. */
    check_local(build(name, "C:\\", MAX_PATH - 4, 'a', ""), S_OK);
    check_local(build(name, "C:\\", MAX_PATH - 3, 'a', ""), E_INVALIDARG);
    check_local(build_long(name, "C:\\", MAX_REMOTE_NAME, '\\'), E_INVALIDARG);
}

/* -------------------------------------------------------------------------------------------- */
/* string_longer_than and validate_remote_prefixes                                               */

static void test_string_longer_than(void **state)
{
    static WCHAR name[NAME_BUFFER];

    assert_false(string_longer_than(NULL, 0));
    assert_false(string_longer_than(L"", 0));
    assert_true(string_longer_than(L"a", 0));
    assert_false(string_longer_than(L"abc", 3));
    assert_true(string_longer_than(L"abc", 2));
    assert_false(string_longer_than(L"abc", SIZE_MAX));
    build(name, "", MAX_REMOTE_NAME, 'a', "");
    assert_false(string_longer_than(name, MAX_REMOTE_NAME));
    assert_true(string_longer_than(name, MAX_REMOTE_NAME - 1));
}

static void test_remote_prefixes(void **state)
{
    assert_hr(S_OK, validate_remote_prefixes(L"http://old/", L"https://new/"));
    assert_hr(S_OK, validate_remote_prefixes(L"h", L"x"));
    assert_hr(E_INVALIDARG, validate_remote_prefixes(NULL, L"https://new/"));
    assert_hr(E_INVALIDARG, validate_remote_prefixes(L"http://old/", NULL));
    assert_hr(E_INVALIDARG, validate_remote_prefixes(NULL, NULL));
    assert_hr(E_INVALIDARG, validate_remote_prefixes(L"", L"https://new/"));
    assert_hr(E_INVALIDARG, validate_remote_prefixes(L"http://old/", L""));
}

/* -------------------------------------------------------------------------------------------- */
/* validate_ranges                                                                                */

/* Checks the result and that the caller's array, which the function sorts a copy of, is
 * unchanged. */
static void check_ranges_(const BG_FILE_RANGE *ranges, DWORD count, HRESULT expected, int line)
{
    /* Over the limit, only the ranges the test owns are compared (none may be read). */
    size_t size = min(count, MAX_RANGES_PER_FILE + 1) * sizeof(*ranges);
    BG_FILE_RANGE *copy = NULL;
    HRESULT hr;

    if (ranges && count)
    {
        assert_non_null(copy = malloc(size));
        memcpy(copy, ranges, size);
    }
    hr = validate_ranges(ranges, count);
    if (hr != expected)
        fail_msg("line %d: validate_ranges(%u ranges) = %#x, expected %#x", line, (unsigned int)count,
                 (unsigned int)hr, (unsigned int)expected);
    if (copy)
    {
        assert_memory_equal(copy, ranges, size);
        free(copy);
    }
}
/* Variadic so that RANGES(array) can supply both the array and its count. */
#define check_ranges(...) check_ranges_(__VA_ARGS__, __LINE__)
#define RANGES(array) (array), ARRAY_SIZE(array)

#define EOF_LEN BG_LENGTH_TO_EOF

static void test_ranges_accepted(void **state)
{
    static const BG_FILE_RANGE one[] = { { 0, 1 } };
    static const BG_FILE_RANGE unsorted[] = { { 1000, 10 }, { 0, 100 }, { 500, 1 } };
    static const BG_FILE_RANGE adjacent[] = { { 10, 10 }, { 0, 10 }, { 20, 10 } };
    static const BG_FILE_RANGE to_eof_last[] = { { 100, EOF_LEN }, { 0, 100 } };
    static const BG_FILE_RANGE eof_only[] = { { 0, EOF_LEN } };
    /* The largest end that fits: offset + length == 2^64 - 1. */
    static const BG_FILE_RANGE top[] = { { 0, 10 }, { 0xfffffffffffffff0ull, 0xf } };
    static const BG_FILE_RANGE top_eof[] = { { 0xfffffffffffffffeull, EOF_LEN } };

    check_ranges(RANGES(one), S_OK);
    check_ranges(RANGES(unsorted), S_OK);
    check_ranges(RANGES(adjacent), S_OK);
    check_ranges(RANGES(to_eof_last), S_OK);
    check_ranges(RANGES(eof_only), S_OK);
    check_ranges(RANGES(top), S_OK);
    check_ranges(RANGES(top_eof), S_OK);
}

static void test_ranges_invalid_arguments(void **state)
{
    static const BG_FILE_RANGE zero_length[] = { { 0, 10 }, { 100, 0 } };
    static const BG_FILE_RANGE offset_eof[] = { { 0, 10 }, { EOF_LEN, 10 } };
    static const BG_FILE_RANGE offset_and_length_eof[] = { { EOF_LEN, EOF_LEN } };
    static const BG_FILE_RANGE overflow[] = { { 0xfffffffffffffff0ull, 0x10 } };
    static const BG_FILE_RANGE overflow_far[] = { { 0x8000000000000000ull, 0x8000000000000001ull } };
    /* The first faulty range in the caller's order decides. */
    static const BG_FILE_RANGE zero_then_eof[] = { { 0, 0 }, { EOF_LEN, 1 } };
    static const BG_FILE_RANGE eof_then_zero[] = { { EOF_LEN, 1 }, { 0, 0 } };
    static const BG_FILE_RANGE one[] = { { 0, 1 } };

    check_ranges(NULL, 0, E_INVALIDARG);
    check_ranges(NULL, 1, E_INVALIDARG);
    check_ranges(one, 0, E_INVALIDARG);
    check_ranges(RANGES(zero_length), E_INVALIDARG);
    check_ranges(RANGES(offset_eof), BG_E_INVALID_RANGE);
    check_ranges(RANGES(offset_and_length_eof), BG_E_INVALID_RANGE);
    check_ranges(RANGES(overflow), BG_E_INVALID_RANGE);
    check_ranges(RANGES(overflow_far), BG_E_INVALID_RANGE);
    check_ranges(RANGES(zero_then_eof), E_INVALIDARG);
    check_ranges(RANGES(eof_then_zero), BG_E_INVALID_RANGE);
}

static void test_ranges_overlapping(void **state)
{
    static const BG_FILE_RANGE duplicate[] = { { 0, 10 }, { 0, 10 } };
    /* Same offset, longer first: sorting must not hide it. */
    static const BG_FILE_RANGE same_offset_reverse[] = { { 0, 100 }, { 0, 10 } };
    static const BG_FILE_RANGE same_offset_forward[] = { { 0, 10 }, { 0, 100 } };
    static const BG_FILE_RANGE partial[] = { { 50, 100 }, { 0, 51 } };
    static const BG_FILE_RANGE nested[] = { { 0, 1000 }, { 10, 5 } };
    /* Overlap between the 1st and 3rd after sorting, with a disjoint range listed between. */
    static const BG_FILE_RANGE far_apart[] = { { 200, 10 }, { 0, 1000 }, { 2000, 1 } };
    static const BG_FILE_RANGE eof_then_later[] = { { 0, EOF_LEN }, { 0xfffffffffffffffdull, 1 } };
    static const BG_FILE_RANGE later_then_eof[] = { { 1000000, 1 }, { 10, EOF_LEN } };
    static const BG_FILE_RANGE two_eof[] = { { 10, EOF_LEN }, { 20, EOF_LEN } };
    static const BG_FILE_RANGE same_offset_eof[] = { { 10, EOF_LEN }, { 10, 1 } };
    static const BG_FILE_RANGE at_top[] = { { 0xfffffffffffffff0ull, 0xf }, { 0xfffffffffffffffeull, 1 } };

    check_ranges(RANGES(duplicate), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(same_offset_reverse), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(same_offset_forward), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(partial), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(nested), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(far_apart), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(eof_then_later), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(later_then_eof), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(two_eof), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(same_offset_eof), BG_E_OVERLAPPING_RANGES);
    check_ranges(RANGES(at_top), BG_E_OVERLAPPING_RANGES);
}

/* MAX_RANGES_PER_FILE (500) and one more, listed in descending offset order so that the sort
 * has work to do. */
static void test_ranges_count_limit(void **state)
{
    static BG_FILE_RANGE ranges[MAX_RANGES_PER_FILE + 1];
    DWORD i;

    for (i = 0; i < ARRAY_SIZE(ranges); ++i)
    {
        ranges[i].InitialOffset = (UINT64)(ARRAY_SIZE(ranges) - i) * 100;
        ranges[i].Length = 100;
    }
    check_ranges(ranges, MAX_RANGES_PER_FILE, S_OK);
    check_ranges(ranges, MAX_RANGES_PER_FILE + 1, BG_E_TOO_MANY_RANGES_IN_FILE);
    check_ranges(ranges, 0xffffffff, BG_E_TOO_MANY_RANGES_IN_FILE);   /* never read past the limit */

    /* Within the limit, an overlap at the far end is still found: ranges[1] now reaches into
     * ranges[0], the highest range. */
    ranges[1].Length = 101;
    check_ranges(ranges + 1, MAX_RANGES_PER_FILE, S_OK);
    check_ranges(ranges, MAX_RANGES_PER_FILE, BG_E_OVERLAPPING_RANGES);

    /* Over the limit, the count is reported before any per-range fault. */
    ranges[0].Length = 0;
    check_ranges(ranges, MAX_RANGES_PER_FILE + 1, BG_E_TOO_MANY_RANGES_IN_FILE);
    check_ranges(ranges, MAX_RANGES_PER_FILE, E_INVALIDARG);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_remote_accepted),
        cmocka_unit_test(test_remote_null_and_empty),
        cmocka_unit_test(test_remote_scheme_and_form),
        cmocka_unit_test(test_remote_host_and_port),
        cmocka_unit_test(test_remote_characters),
        cmocka_unit_test(test_remote_total_length),
        cmocka_unit_test(test_remote_segment_length),
        cmocka_unit_test(test_local_accepted),
        cmocka_unit_test(test_local_refused),
        cmocka_unit_test(test_local_length),
        cmocka_unit_test(test_string_longer_than),
        cmocka_unit_test(test_remote_prefixes),
        cmocka_unit_test(test_ranges_accepted),
        cmocka_unit_test(test_ranges_invalid_arguments),
        cmocka_unit_test(test_ranges_overlapping),
        cmocka_unit_test(test_ranges_count_limit),
    };

    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
