/* SPDX-License-Identifier: MIT */
/* The transports behind src/core/transport.h: src/transport_file.c on real files and
 * src/transport_http.c against the loopback HTTP server (tests/servers/http_server.py, started
 * through tests/support/server.c: plain, as a proxy, and twice over HTTPS with a self-signed
 * certificate the build makes, once asking for a client certificate), plus two fixtures of our
 * own on raw sockets: a server that sends part of a body and then stalls (for abort), and a port
 * nobody listens on.
 *
 * The sources are compiled into this program (see tests/tests-windows.cmake) with
 * tests/support/module_stub.c standing in for src/module.c, so module_lock_count() shows the
 * HTTP transport letting go of everything once WinHTTP has closed its last handle.
 *
 * Not tested here: CRL checking (Wine 8 checks no revocation), NTLM and Negotiate (they need a
 * domain), PRECONFIG with a configured proxy and AUTODETECT (a WPAD server). Where Windows and
 * Wine 8 report different codes for the same failure, the tests check the context and that it
 * failed, and say what each reports. */
#include "com_test.h"
#include "server.h"
#include "transport.h"

#include <stdlib.h>
#include <wincrypt.h>
#include <winhttp.h>
#include <winioctl.h>

#define POISON ((void *)(ULONG_PTR)0xdeadbeef)
#define READ_SIZE (64 * 1024)
#define SERVER_MTIME 1700000000    /* http_server.py's default Last-Modified, Unix time */

static struct test_server server;
static struct transport http, file;
static WCHAR temp_dir[MAX_PATH];

/* src/transfer_options.c frees secrets with src/job.c's free_secret, which this program does
 * not compile. */
void free_secret(WCHAR *secret)
{
    if (!secret) return;
    SecureZeroMemory(secret, wcslen(secret) * sizeof(WCHAR));
    free(secret);
}

/* --- helpers ------------------------------------------------------------------------------------ */

struct fetch
{
    HRESULT hr;
    struct transport_stream *stream;
    struct transport_response response;
    struct transfer_error error;
};

static void fetch_open(struct transport *transport, const WCHAR *url, enum remote_kind kind, UINT64 offset,
                       UINT64 length, const FILETIME *if_modified, const struct transfer_options *options,
                       struct fetch *fetch)
{
    struct transport_request request = { .url = url, .kind = kind, .offset = offset, .length = length,
                                         .if_modified = if_modified, .options = options };

    memset(fetch, 0, sizeof(*fetch));
    fetch->stream = POISON;
    fetch->error.context = BG_ERROR_CONTEXT_NONE;
    fetch->hr = transport->ops->open(transport->context, &request, &fetch->stream, &fetch->response, &fetch->error);
    if (SUCCEEDED(fetch->hr)) assert_non_null(fetch->stream);
    else assert_null(fetch->stream);
}

static void fetch_close(struct transport *transport, struct fetch *fetch)
{
    if (fetch->stream) transport->ops->close(fetch->stream);
    fetch->stream = NULL;
    transport_response_free(&fetch->response);
}

/* Reads the body to its end into a new buffer (or up to max bytes): the first failure, or S_OK. */
static HRESULT read_body(struct transport *transport, struct fetch *fetch, size_t max, BYTE **data, size_t *size)
{
    BYTE *buffer = malloc(max + READ_SIZE);
    size_t total = 0;
    DWORD read;
    HRESULT hr;

    assert_non_null(buffer);
    for (;;)
    {
        read = 0xdeadbeef;
        hr = transport->ops->read(fetch->stream, buffer + total, READ_SIZE, &read, &fetch->error);
        if (FAILED(hr))
        {
            assert_int_equal(read, 0);
            break;
        }
        assert_true(read <= READ_SIZE);
        if (!read) break;
        total += read;
        if (total >= max) break;
    }
    *data = buffer;
    *size = total;
    return hr;
}

static void url_of(const WCHAR *path, WCHAR *url, size_t size)
{
    test_server_url(&server, path, url, size);
}

static FILETIME filetime_of_unix(LONGLONG seconds)
{
    ULARGE_INTEGER value;
    FILETIME time;

    value.QuadPart = (ULONGLONG)(seconds + 11644473600LL) * 10000000;
    time.dwLowDateTime = value.LowPart;
    time.dwHighDateTime = value.HighPart;
    return time;
}

static void assert_filetime_equal(const FILETIME *expected, const FILETIME *actual)
{
    assert_int_equal(expected->dwHighDateTime, actual->dwHighDateTime);
    assert_int_equal(expected->dwLowDateTime, actual->dwLowDateTime);
}

static void assert_error(const struct fetch *fetch, HRESULT code, BG_ERROR_CONTEXT context, const WCHAR *protocol)
{
    assert_hr(code, fetch->hr);
    assert_hr(code, fetch->error.code);
    assert_int_equal(context, fetch->error.context);
    assert_non_null(fetch->error.protocol);
    assert_true(!wcscmp(protocol, fetch->error.protocol));
}

/* The journal's last request line with `needle` in it, as a new string (NULL: none). */
static char *journal_line(const char *needle)
{
    char *journal = test_server_journal(&server), *line, *found = NULL, *next;

    if (!journal) return NULL;
    for (line = journal; *line; line = next)
    {
        if (!(next = strchr(line, '\n'))) next = line + strlen(line);
        else *next++ = 0;
        if (strstr(line, needle))
        {
            free(found);
            found = _strdup(line);
        }
    }
    free(journal);
    return found;
}

/* --- a file with known content ----------------------------------------------------------------- */

static void make_file(const WCHAR *name, size_t size, WCHAR *path)
{
    BYTE *data = malloc(size ? size : 1);
    DWORD written;
    HANDLE handle;
    size_t i;

    assert_non_null(data);
    for (i = 0; i < size; ++i) data[i] = test_server_byte(i);
    swprintf(path, MAX_PATH, L"%ls\\%ls", temp_dir, name);
    handle = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(handle != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(handle, data, (DWORD)size, &written, NULL));
    assert_int_equal(size, written);
    CloseHandle(handle);
    free(data);
}

static FILETIME file_write_time(const WCHAR *path)
{
    WIN32_FILE_ATTRIBUTE_DATA data;

    assert_true(GetFileAttributesExW(path, GetFileExInfoStandard, &data));
    return data.ftLastWriteTime;
}

/* --- the file transport ------------------------------------------------------------------------ */

static void test_file_whole(void **state)
{
    WCHAR path[MAX_PATH];
    struct fetch fetch;
    FILETIME written;
    BYTE *data;
    size_t size;

    make_file(L"whole.bin", 300000, path);
    written = file_write_time(path);
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(300000, fetch.response.file_size);
    assert_true(fetch.response.ranged);
    assert_filetime_equal(&written, &fetch.response.modified);
    assert_null(fetch.response.headers);
    assert_null(fetch.response.final_url);

    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
    assert_int_equal(300000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&file, &fetch);
    DeleteFileW(path);
}

static void test_file_offset_and_length(void **state)
{
    WCHAR path[MAX_PATH];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    make_file(L"range.bin", 200000, path);

    fetch_open(&file, path, REMOTE_LOCAL_PATH, 70000, 100000, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(200000, fetch.response.file_size);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
    assert_int_equal(100000, size);
    assert_true(test_server_content_matches(70000, data, size));
    free(data);
    fetch_close(&file, &fetch);

    /* To the end, and at the very end: an empty body. */
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 199990, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
    assert_int_equal(10, size);
    assert_true(test_server_content_matches(199990, data, size));
    free(data);
    fetch_close(&file, &fetch);

    fetch_open(&file, path, REMOTE_LOCAL_PATH, 200000, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
    assert_int_equal(0, size);
    free(data);
    fetch_close(&file, &fetch);

    /* Past the end. */
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 200001, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, BG_E_INVALID_RANGE, BG_ERROR_CONTEXT_REMOTE_FILE, L"file");
    DeleteFileW(path);
}

static void test_file_urls(void **state)
{
    WCHAR path[MAX_PATH], url[MAX_PATH + 32], *p;
    struct fetch fetch;
    BYTE *data;
    size_t size, i;
    static const WCHAR *const forms[] = { L"file:///%ls", L"file://%ls", L"file://localhost/%ls" };

    make_file(L"url file.bin", 5000, path);
    for (i = 0; i < ARRAY_SIZE(forms) * 2; ++i)
    {
        swprintf(url, ARRAY_SIZE(url), forms[i % ARRAY_SIZE(forms)], path);
        if (i >= ARRAY_SIZE(forms))
        {
            /* As a URL: forward slashes, the space escaped. */
            for (p = url + 7; *p; ++p) if (*p == '\\') *p = '/';
            p = wcsstr(url, L"url file");
            memmove(p + 5, p + 3, (wcslen(p + 3) + 1) * sizeof(WCHAR));
            memcpy(p, L"url%20", 6 * sizeof(WCHAR));
        }
        fetch_open(&file, url, REMOTE_FILE_URL, 100, 50, NULL, NULL, &fetch);
        if (FAILED(fetch.hr)) fail_msg("%ls: %#lx", url, fetch.hr);
        assert_int_equal(5000, fetch.response.file_size);
        assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
        assert_int_equal(50, size);
        assert_true(test_server_content_matches(100, data, size));
        free(data);
        fetch_close(&file, &fetch);
    }
    DeleteFileW(path);
}

static void test_file_missing(void **state)
{
    WCHAR path[MAX_PATH], url[MAX_PATH + 16];
    struct fetch fetch;
    HRESULT unc_error;

    swprintf(path, ARRAY_SIZE(path), L"%ls\\missing.bin", temp_dir);
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), BG_ERROR_CONTEXT_REMOTE_FILE, L"file");

    swprintf(url, ARRAY_SIZE(url), L"file:///%ls", path);
    fetch_open(&file, url, REMOTE_FILE_URL, 10, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), BG_ERROR_CONTEXT_REMOTE_FILE, L"file");

    swprintf(path, ARRAY_SIZE(path), L"%ls\\no such directory\\missing.bin", temp_dir);
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), BG_ERROR_CONTEXT_REMOTE_FILE, L"file");

    /* A server nobody has: the URL names the same UNC path. (Windows says ERROR_BAD_NETPATH,
     * Wine 8 ERROR_PATH_NOT_FOUND.) */
    fetch_open(&file, L"\\\\openbits-no-such-server\\share\\x.bin", REMOTE_UNC, 0, BG_LENGTH_TO_EOF, NULL, NULL,
               &fetch);
    assert_true(FAILED(fetch.hr));
    assert_error(&fetch, fetch.hr, BG_ERROR_CONTEXT_REMOTE_FILE, L"file");
    unc_error = fetch.hr;
    fetch_open(&file, L"file://openbits-no-such-server/share/x.bin", REMOTE_FILE_URL, 0, BG_LENGTH_TO_EOF, NULL, NULL,
               &fetch);
    assert_error(&fetch, unc_error, BG_ERROR_CONTEXT_REMOTE_FILE, L"file");
    fetch_open(&file, L"file:////openbits-no-such-server/share/x.bin", REMOTE_FILE_URL, 0, BG_LENGTH_TO_EOF, NULL,
               NULL, &fetch);
    assert_error(&fetch, unc_error, BG_ERROR_CONTEXT_REMOTE_FILE, L"file");

    /* A directory is no file: CreateFileW denies it. */
    fetch_open(&file, temp_dir, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED), BG_ERROR_CONTEXT_REMOTE_FILE, L"file");

    /* A kind that is not the file transport's. */
    fetch_open(&file, L"http://127.0.0.1/x", REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, E_INVALIDARG, BG_ERROR_CONTEXT_REMOTE_FILE, L"file");
}

/* The source stays readable while another program writes, renames or deletes it. */
static void test_file_shared(void **state)
{
    WCHAR path[MAX_PATH];
    struct fetch fetch;
    HANDLE writer;
    BYTE *data;
    size_t size;

    make_file(L"shared.bin", 1000, path);
    writer = CreateFileW(path, GENERIC_WRITE | DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, 0, NULL);
    assert_true(writer != INVALID_HANDLE_VALUE);
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(DeleteFileW(path));
    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &size));
    assert_int_equal(1000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&file, &fetch);
    CloseHandle(writer);
}

static void test_file_abort(void **state)
{
    WCHAR path[MAX_PATH];
    struct fetch fetch;
    BYTE buffer[100];
    DWORD read;

    make_file(L"abort.bin", 1000, path);
    fetch_open(&file, path, REMOTE_LOCAL_PATH, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, file.ops->read(fetch.stream, buffer, sizeof(buffer), &read, &fetch.error));
    assert_int_equal(100, read);
    file.ops->abort(fetch.stream);
    read = 0xdeadbeef;
    assert_hr(E_ABORT, file.ops->read(fetch.stream, buffer, sizeof(buffer), &read, &fetch.error));
    assert_int_equal(0, read);
    assert_hr(E_ABORT, fetch.error.code);
    fetch_close(&file, &fetch);
    DeleteFileW(path);
}

/* Over 4 GiB: a sparse file, read past the 32-bit mark. */
static void test_file_large(void **state)
{
    static const UINT64 size = 5000000000ull, mark = 4300000000ull;
    static const char text[] = "past four gigabytes";
    WCHAR path[MAX_PATH];
    LARGE_INTEGER position;
    struct fetch fetch;
    HANDLE handle;
    DWORD written;
    BYTE *data;
    size_t got;

    swprintf(path, ARRAY_SIZE(path), L"%ls\\large.bin", temp_dir);
    handle = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(handle != INVALID_HANDLE_VALUE);
    DeviceIoControl(handle, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &written, NULL);
    position.QuadPart = (LONGLONG)mark;
    assert_true(SetFilePointerEx(handle, position, NULL, FILE_BEGIN));
    assert_true(WriteFile(handle, text, sizeof(text), &written, NULL));
    position.QuadPart = (LONGLONG)size;
    assert_true(SetFilePointerEx(handle, position, NULL, FILE_BEGIN));
    if (!SetEndOfFile(handle))
    {
        CloseHandle(handle);
        DeleteFileW(path);
        skip();    /* no room for a 5 GB file, even a sparse one */
    }
    CloseHandle(handle);

    fetch_open(&file, path, REMOTE_LOCAL_PATH, mark, sizeof(text), NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.file_size == size);
    assert_hr(S_OK, read_body(&file, &fetch, 1 << 20, &data, &got));
    assert_int_equal(sizeof(text), got);
    assert_memory_equal(text, data, sizeof(text));
    free(data);
    fetch_close(&file, &fetch);
    DeleteFileW(path);
}

/* --- the HTTP transport: what the server sends ---------------------------------------------------- */

static void test_http_whole(void **state)
{
    FILETIME expected = filetime_of_unix(SERVER_MTIME);
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/file/300000", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(300000, fetch.response.file_size);
    assert_false(fetch.response.ranged);
    assert_filetime_equal(&expected, &fetch.response.modified);
    assert_non_null(fetch.response.headers);
    assert_true(!wcsncmp(fetch.response.headers, L"HTTP/1.1 200", 12));
    assert_non_null(wcsstr(fetch.response.headers, L"Content-Length: 300000\r\n"));
    assert_null(fetch.response.final_url);

    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(300000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);
}

static void test_http_range(void **state)
{
    WCHAR url[128];
    struct fetch fetch;
    char *line;
    BYTE *data;
    size_t size;

    url_of(L"/file/300000?name=range", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 1000, 5000, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(300000, fetch.response.file_size);
    assert_true(fetch.response.ranged);
    assert_true(!wcsncmp(fetch.response.headers, L"HTTP/1.1 206", 12));
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(5000, size);
    assert_true(test_server_content_matches(1000, data, size));
    free(data);
    fetch_close(&http, &fetch);
    line = journal_line("name=range");
    assert_non_null(line);
    assert_non_null(strstr(line, "\"range\": \"bytes=1000-5999\""));
    free(line);

    url_of(L"/file/300000?name=tail", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 250000, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(300000, fetch.response.file_size);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(50000, size);
    assert_true(test_server_content_matches(250000, data, size));
    free(data);
    fetch_close(&http, &fetch);
    line = journal_line("name=tail");
    assert_non_null(strstr(line, "\"range\": \"bytes=250000-\""));
    free(line);

    /* From 0 with a length: a range too. */
    url_of(L"/file/300000?name=head", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, 10, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(10, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);

    /* Past the end. */
    url_of(L"/file/300000", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 300000, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, BG_E_INVALID_RANGE, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");
}

/* A server that ignores Range sends the whole file: not ranged, from byte 0. */
static void test_http_range_ignored(void **state)
{
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/file/100000?norange=1", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 1000, 5000, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(100000, fetch.response.file_size);
    assert_false(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(100000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);
}

/* If-Range with the time the earlier part had: the same file answers the range, a changed one
 * the whole file. */
static void test_http_if_range(void **state)
{
    FILETIME same = filetime_of_unix(SERVER_MTIME), older = filetime_of_unix(SERVER_MTIME - 3600);
    WCHAR url[128];
    struct fetch fetch;
    char *line;

    url_of(L"/file/100000?name=ifrange", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 1000, BG_LENGTH_TO_EOF, &same, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.ranged);
    fetch_close(&http, &fetch);
    line = journal_line("name=ifrange");
    assert_non_null(strstr(line, "[\"If-Range\", \"Tue, 14 Nov 2023 22:13:20 GMT\"]"));
    free(line);

    fetch_open(&http, url, REMOTE_HTTP, 1000, BG_LENGTH_TO_EOF, &older, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_false(fetch.response.ranged);
    assert_int_equal(100000, fetch.response.file_size);
    fetch_close(&http, &fetch);
}

/* No Content-Length (chunked): the size is unknown and the body ends with the last chunk. */
static void test_http_no_length(void **state)
{
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/file/70000?nolength=1", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.file_size == BG_SIZE_UNKNOWN);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(70000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);
}

/* A file over 4 GiB: its size and a range past the 32-bit mark. */
static void test_http_large(void **state)
{
    static const UINT64 size = 6000000000ull, offset = 5999999000ull;
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t got;

    url_of(L"/file/6000000000", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.file_size == size);
    fetch_close(&http, &fetch);

    fetch_open(&http, url, REMOTE_HTTP, offset, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.file_size == size);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &got));
    assert_int_equal(1000, got);
    assert_true(test_server_content_matches(offset, data, got));
    free(data);
    fetch_close(&http, &fetch);
}

static void test_http_status(void **state)
{
    static const struct { const WCHAR *path; HRESULT code; } tests[] =
    {
        { L"/status/404", BG_E_HTTP_ERROR_404 },
        { L"/nothing/here", BG_E_HTTP_ERROR_404 },
        { L"/status/503", BG_E_HTTP_ERROR_503 },
        { L"/status/500", BG_E_HTTP_ERROR_500 },
        { L"/status/403", BG_E_HTTP_ERROR_403 },
        { L"/status/410", BG_E_HTTP_ERROR_410 },
        { L"/status/204", BG_E_HTTP_ERROR_204 },
        { L"/status/429", (HRESULT)0x801901ad },   /* no name in bitsmsg.h: the same formula */
        { L"/status/416", BG_E_INVALID_RANGE },
    };
    WCHAR url[128];
    struct fetch fetch;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tests); ++i)
    {
        url_of(tests[i].path, url, ARRAY_SIZE(url));
        fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
        assert_error(&fetch, tests[i].code, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");
        assert_null(fetch.response.headers);
        assert_null(fetch.response.final_url);
    }
}

/* --- the HTTP transport: the network ------------------------------------------------------------ */

/* A port nothing listens on: bound, then closed. */
static unsigned short free_port(void)
{
    struct sockaddr_in addr = {0};
    int len = sizeof(addr);
    unsigned short port;
    SOCKET s;

    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(s != INVALID_SOCKET);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(0, bind(s, (struct sockaddr *)&addr, sizeof(addr)));
    assert_int_equal(0, getsockname(s, (struct sockaddr *)&addr, &len));
    port = ntohs(addr.sin_port);
    closesocket(s);
    return port;
}

static void test_http_connection_refused(void **state)
{
    struct fetch fetch;
    WCHAR url[64];

    swprintf(url, ARRAY_SIZE(url), L"http://127.0.0.1:%u/file/10", free_port());
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_WINHTTP_CANNOT_CONNECT), BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
                 L"http");
}

/* The connection ends in the middle of the body: reset, or closed cleanly short of the length. */
static void test_http_cut(void **state)
{
    static const WCHAR *const paths[] =
    {
        L"/file/1000000?reset_after=100000",
        L"/file/1000000?close_after=100000",
        L"/file/1000000?reset_after=100000&name=r",
    };
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size, i;

    for (i = 0; i < ARRAY_SIZE(paths); ++i)
    {
        url_of(paths[i], url, ARRAY_SIZE(url));
        fetch_open(&http, url, REMOTE_HTTP, i == 2 ? 5000 : 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
        assert_hr(S_OK, fetch.hr);
        fetch.hr = read_body(&http, &fetch, 1 << 21, &data, &size);
        if (SUCCEEDED(fetch.hr)) fail_msg("%ls: %lu bytes and no error", paths[i], (ULONG)size);
        assert_true(size <= 100000);
        assert_true(test_server_content_matches(i == 2 ? 5000 : 0, data, size));
        assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);
        assert_hr(fetch.hr, fetch.error.code);
        assert_int_equal(FACILITY_WIN32, HRESULT_FACILITY(fetch.hr));
        free(data);
        fetch_close(&http, &fetch);
    }
}

/* A server of our own that answers one request with headers and the first bytes of a body, then
 * sends nothing more until told to go: a read() then blocks for as long as we like. */
struct stall_server
{
    SOCKET listener, client;
    unsigned short port;
    HANDLE thread, go;
    BOOL silent;            /* not even the headers: the request stays in open() */
};

static DWORD WINAPI stall_server_thread(void *arg)
{
    static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst bytes";
    struct stall_server *stall = arg;
    char request[4096];
    int got = 0, n;

    if ((stall->client = accept(stall->listener, NULL, NULL)) == INVALID_SOCKET) return 1;
    while (got < (int)sizeof(request) - 1 && (n = recv(stall->client, request + got, sizeof(request) - 1 - got, 0)) > 0)
    {
        got += n;
        request[got] = 0;
        if (strstr(request, "\r\n\r\n")) break;
    }
    if (!stall->silent) send(stall->client, response, sizeof(response) - 1, 0);
    WaitForSingleObject(stall->go, INFINITE);
    closesocket(stall->client);
    return 0;
}

static void stall_server_start(struct stall_server *stall)
{
    struct sockaddr_in addr = {0};
    int len = sizeof(addr);

    stall->listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(stall->listener != INVALID_SOCKET);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(0, bind(stall->listener, (struct sockaddr *)&addr, sizeof(addr)));
    assert_int_equal(0, listen(stall->listener, 1));
    assert_int_equal(0, getsockname(stall->listener, (struct sockaddr *)&addr, &len));
    stall->port = ntohs(addr.sin_port);
    stall->go = CreateEventW(NULL, TRUE, FALSE, NULL);
    stall->thread = CreateThread(NULL, 0, stall_server_thread, stall, 0, NULL);
    assert_non_null(stall->thread);
}

static void stall_server_stop(struct stall_server *stall)
{
    SetEvent(stall->go);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(stall->thread, 10000));
    CloseHandle(stall->thread);
    CloseHandle(stall->go);
    closesocket(stall->listener);
}

struct opener
{
    const WCHAR *url;
    struct transport_stream *published, *stream;
    struct transport_response response;
    struct transfer_error error;
    HANDLE published_event;
    HRESULT hr;
};

static void opener_published(void *context, struct transport_stream *stream)
{
    struct opener *opener = context;

    opener->published = stream;
    SetEvent(opener->published_event);
}

static DWORD WINAPI opener_thread(void *arg)
{
    struct opener *opener = arg;
    struct transport_request request = { .url = opener->url, .kind = REMOTE_HTTP, .length = BG_LENGTH_TO_EOF,
                                         .opening = opener_published, .opening_context = opener };

    opener->hr = http.ops->open(http.context, &request, &opener->stream, &opener->response, &opener->error);
    return 0;
}

/* A request whose server never answers is reached by abort() through the stream open()
 * publishes before it waits: open() returns E_ABORT at once and hands the stream out, for the
 * caller to close. */
static void test_http_abort_while_opening(void **state)
{
    struct stall_server stall = { .silent = TRUE };
    struct opener opener = {0};
    WCHAR url[64];
    HANDLE thread;
    DWORD start;

    stall_server_start(&stall);
    swprintf(url, ARRAY_SIZE(url), L"http://127.0.0.1:%u/silent", stall.port);
    opener.url = url;
    opener.published_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    thread = CreateThread(NULL, 0, opener_thread, &opener, 0, NULL);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(opener.published_event, 10000));
    assert_non_null(opener.published);
    /* The server is silent: open() goes on waiting (a moment lets it reach WinHTTP; the test
     * holds either way). */
    assert_int_equal(WAIT_TIMEOUT, WaitForSingleObject(thread, 200));

    start = GetTickCount();
    http.ops->abort(opener.published);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(thread, 5000));
    assert_true(GetTickCount() - start < 1000);
    assert_hr(E_ABORT, opener.hr);
    assert_hr(E_ABORT, opener.error.code);
    assert_ptr_equal(opener.published, opener.stream);
    assert_null(opener.response.headers);
    CloseHandle(thread);
    CloseHandle(opener.published_event);

    http.ops->close(opener.stream);
    stall_server_stop(&stall);
}

struct reader
{
    struct fetch *fetch;
    HANDLE reading;         /* set before each read */
    HRESULT hr;
    DWORD read;
    DWORD total;
};

static DWORD WINAPI reader_thread(void *arg)
{
    struct reader *reader = arg;
    BYTE buffer[READ_SIZE];

    for (;;)
    {
        SetEvent(reader->reading);
        reader->hr = http.ops->read(reader->fetch->stream, buffer, sizeof(buffer), &reader->read,
                                    &reader->fetch->error);
        if (FAILED(reader->hr) || !reader->read) break;
        reader->total += reader->read;
    }
    return 0;
}

/* abort() from another thread makes the blocked read return E_ABORT at once, later reads too,
 * and close() after it lets go of everything (once WinHTTP has given up the socket: under Wine,
 * when the server closes it). */
static void test_http_abort(void **state)
{
    struct stall_server stall = {0};
    struct reader reader = {0};
    struct fetch fetch;
    WCHAR url[64];
    HANDLE thread;
    DWORD start, elapsed, read;
    BYTE buffer[16];

    stall_server_start(&stall);
    swprintf(url, ARRAY_SIZE(url), L"http://127.0.0.1:%u/stall", stall.port);
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(1000000, fetch.response.file_size);

    reader.fetch = &fetch;
    reader.reading = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, reader_thread, &reader, 0, NULL);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(reader.reading, 10000));
    /* The reader is in its read, which the server's silence blocks. A moment lets it get into
     * WinHTTP; the test holds either way. */
    if (WaitForSingleObject(thread, 200) != WAIT_TIMEOUT)
        fail_msg("the reader stopped: %#lx, %lu bytes", reader.hr, reader.read);

    start = GetTickCount();
    http.ops->abort(fetch.stream);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(thread, 5000));
    elapsed = GetTickCount() - start;
    assert_true(elapsed < 1000);
    assert_hr(E_ABORT, reader.hr);
    assert_int_equal(0, reader.read);
    assert_hr(E_ABORT, fetch.error.code);
    CloseHandle(thread);
    CloseHandle(reader.reading);

    read = 0xdeadbeef;
    assert_hr(E_ABORT, http.ops->read(fetch.stream, buffer, sizeof(buffer), &read, &fetch.error));
    assert_int_equal(0, read);

    fetch_close(&http, &fetch);
    stall_server_stop(&stall);
}

/* --- the HTTP transport: upload packets (post_open, post_send) ------------------------------------ */

struct post
{
    HRESULT hr;
    struct transport_stream *stream;
    struct transport_reply reply;
    struct transfer_error error;
};

/* One packet to the upload server's /upload/<name>: opened, its body filled, sent. */
static HRESULT post(const WCHAR *url, const WCHAR *headers, const void *data, DWORD size,
                    const struct transfer_options *options, struct post *post)
{
    struct transport_packet packet = { url, REMOTE_HTTP, L"BITS_POST", headers, size, 0, options };
    void *body = POISON;

    memset(post, 0, sizeof(*post));
    if (FAILED(post->hr = http.ops->post_open(http.context, &packet, &post->stream, &body, &post->error)))
    {
        assert_null(post->stream);
        return post->hr;
    }
    if (size) memcpy(body, data, size);
    else assert_null(body);
    post->hr = http.ops->post_send(post->stream, &post->reply, &post->error);
    http.ops->close(post->stream);
    return post->hr;
}

static void test_http_post(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[128], headers[256], *session, *end;
    BYTE data[1000];
    struct post answer;
    char *line;
    int i;

    for (i = 0; i < (int)sizeof(data); ++i) data[i] = test_server_byte(i);
    options.custom_headers = (WCHAR *)L"X-Openbits-Upload: yes\r\n";
    url_of(L"/upload/post.bin", url, ARRAY_SIZE(url));
    assert_hr(S_OK, post(url, L"BITS-Packet-Type: Ping\r\n", NULL, 0, &options, &answer));
    assert_int_equal(200, answer.reply.status);
    assert_true(!wcsncmp(answer.reply.headers, L"HTTP/1.1 200 ", 13));
    assert_non_null(wcsstr(answer.reply.headers, L"\r\nBITS-Packet-Type: Ack\r\n"));
    transport_reply_free(&answer.reply);
    line = journal_line("\"packet\": \"Ping\"");
    assert_non_null(strstr(line, "\"method\": \"BITS_POST\""));
    assert_non_null(strstr(line, "[\"X-Openbits-Upload\", \"yes\"]"));
    free(line);

    assert_hr(S_OK, post(url, L"BITS-Packet-Type: Create-Session\r\n"
                              L"BITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n",
                         NULL, 0, &options, &answer));
    assert_int_equal(200, answer.reply.status);
    assert_non_null(session = wcsstr(answer.reply.headers, L"BITS-Session-Id: "));
    session += 17;
    assert_non_null(end = wcsstr(session, L"\r\n"));
    swprintf(headers, ARRAY_SIZE(headers), L"BITS-Packet-Type: Fragment\r\nBITS-Session-Id: %.*ls\r\n"
             L"Content-Range: bytes 0-999/1000\r\n", (int)(end - session), session);
    transport_reply_free(&answer.reply);
    assert_hr(S_OK, post(url, headers, data, sizeof(data), &options, &answer));
    assert_int_equal(200, answer.reply.status);
    assert_non_null(wcsstr(answer.reply.headers, L"BITS-Received-Content-Range: 1000\r\n"));
    transport_reply_free(&answer.reply);
    line = journal_line("\"packet\": \"Fragment\"");
    assert_non_null(strstr(line, "\"body_bytes\": 1000"));
    assert_non_null(strstr(line, "\"event\": \"complete\""));
    free(line);

    /* A server's error comes back as an answer (the engine judges it), body and all read. */
    url_of(L"/upload/post.bin?fail=ping&fail_status=503", url, ARRAY_SIZE(url));
    assert_hr(S_OK, post(url, L"BITS-Packet-Type: Ping\r\n", NULL, 0, &options, &answer));
    assert_int_equal(503, answer.reply.status);
    assert_non_null(wcsstr(answer.reply.headers, L"BITS-Error-Code: 0x801901f7"));
    transport_reply_free(&answer.reply);

    /* A custom method replaces BITS_POST; a job's reply is fetched with GET all the same. */
    options.http_method = (WCHAR *)L"X-UPLOAD";
    url_of(L"/upload/post.bin?name=custom-verb", url, ARRAY_SIZE(url));
    assert_hr(S_OK, post(url, L"BITS-Packet-Type: Ping\r\n", NULL, 0, &options, &answer));
    transport_reply_free(&answer.reply);
    line = journal_line("name=custom-verb");
    assert_non_null(strstr(line, "\"method\": \"X-UPLOAD\""));
    free(line);
    {
        struct fetch fetch;
        options.type = BG_JOB_TYPE_UPLOAD_REPLY;
        url_of(L"/file/10?name=reply-verb", url, ARRAY_SIZE(url));
        fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
        assert_hr(S_OK, fetch.hr);
        fetch_close(&http, &fetch);
        line = journal_line("name=reply-verb");
        assert_non_null(strstr(line, "\"method\": \"GET\""));
        free(line);
    }

    /* Nothing listens: a transport error. */
    assert_hr(HRESULT_FROM_WIN32(ERROR_WINHTTP_CANNOT_CONNECT),
              post(L"http://127.0.0.1:1/upload/x", L"BITS-Packet-Type: Ping\r\n", NULL, 0, NULL, &answer));
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, answer.error.context);
}

struct poster
{
    struct post *post;
    HANDLE sending;
};

static DWORD WINAPI poster_thread(void *arg)
{
    struct poster *poster = arg;

    SetEvent(poster->sending);
    poster->post->hr = http.ops->post_send(poster->post->stream, &poster->post->reply, &poster->post->error);
    return 0;
}

/* A packet whose answer the server holds back: abort makes post_send return at once. */
static void test_http_post_abort(void **state)
{
    struct transport_packet packet = { NULL, REMOTE_HTTP, L"BITS_POST", NULL, 10, 0, NULL };
    struct poster poster = {0};
    struct post answer, held = {0};
    WCHAR url[128], headers[256], sid[128], *session, *end;
    HANDLE thread;
    DWORD start;
    void *body;

    url_of(L"/upload/held.bin?hold_fragment=1", url, ARRAY_SIZE(url));
    assert_hr(S_OK, post(url, L"BITS-Packet-Type: Create-Session\r\n"
                              L"BITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n",
                         NULL, 0, NULL, &answer));
    assert_non_null(session = wcsstr(answer.reply.headers, L"BITS-Session-Id: "));
    session += 17;
    assert_non_null(end = wcsstr(session, L"\r\n"));
    swprintf(sid, ARRAY_SIZE(sid), L"%.*ls", (int)(end - session), session);
    transport_reply_free(&answer.reply);
    swprintf(headers, ARRAY_SIZE(headers), L"BITS-Packet-Type: Fragment\r\nBITS-Session-Id: %ls\r\n"
             L"Content-Range: bytes 0-9/20\r\n", sid);

    packet.url = url;
    packet.headers = headers;
    assert_hr(S_OK, http.ops->post_open(http.context, &packet, &held.stream, &body, &held.error));
    memset(body, 'x', 10);
    poster.post = &held;
    poster.sending = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, poster_thread, &poster, 0, NULL);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(poster.sending, 10000));
    if (WaitForSingleObject(thread, 300) != WAIT_TIMEOUT) fail_msg("the packet was answered: %#lx", held.hr);
    start = GetTickCount();
    http.ops->abort(held.stream);
    assert_int_equal(WAIT_OBJECT_0, WaitForSingleObject(thread, 5000));
    assert_true(GetTickCount() - start < 1000);
    assert_hr(E_ABORT, held.hr);
    assert_null(held.reply.headers);
    CloseHandle(thread);
    CloseHandle(poster.sending);
    http.ops->close(held.stream);
    /* Wine lets the request go only when its receive ends: the server answers once the session
     * is cancelled (as the engine's Cancel-Session does). */
    swprintf(headers, ARRAY_SIZE(headers), L"BITS-Packet-Type: Cancel-Session\r\nBITS-Session-Id: %ls\r\n", sid);
    assert_hr(S_OK, post(url, headers, NULL, 0, NULL, &answer));
    assert_int_equal(200, answer.reply.status);
    transport_reply_free(&answer.reply);
}

/* --- the HTTP transport: the job's options ------------------------------------------------------ */

static void test_http_custom_headers(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    options.custom_headers = (WCHAR *)L"X-Openbits-One: 1\r\nX-Openbits-Two: two words\r\n";
    url_of(L"/echo-headers", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    data[size] = 0;
    assert_non_null(strstr((char *)data, "X-Openbits-One: 1\r\n"));
    assert_non_null(strstr((char *)data, "X-Openbits-Two: two words\r\n"));
    assert_non_null(strstr((char *)data, "User-Agent: Microsoft BITS/7.8\r\n"));
    assert_null(strstr((char *)data, "Range:"));
    free(data);
    fetch_close(&http, &fetch);
}

static void test_http_method(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[128];
    struct fetch fetch;
    char *line;
    BYTE *data;
    size_t size;

    options.http_method = (WCHAR *)L"HEAD";
    url_of(L"/file/5000?name=head-method", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(5000, fetch.response.file_size);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(0, size);
    free(data);
    fetch_close(&http, &fetch);
    line = journal_line("name=head-method");
    assert_non_null(strstr(line, "\"method\": \"HEAD\""));
    free(line);
}

static void test_http_basic_auth(void **state)
{
    struct transfer_credential credentials[3] = {{0}};
    struct transfer_options options = {0};
    WCHAR url[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/auth/basic/someone/secret/file/2000", url, ARRAY_SIZE(url));

    /* None: the 401 is the error. */
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, BG_E_HTTP_ERROR_401, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    /* Credentials for other schemes and for the proxy do not answer a Basic challenge. */
    credentials[0].target = BG_AUTH_TARGET_SERVER;
    credentials[0].scheme = BG_AUTH_SCHEME_DIGEST;
    credentials[0].user = (WCHAR *)L"someone";
    credentials[0].password = (WCHAR *)L"secret";
    credentials[1].target = BG_AUTH_TARGET_PROXY;
    credentials[1].scheme = BG_AUTH_SCHEME_BASIC;
    credentials[1].user = (WCHAR *)L"someone";
    credentials[1].password = (WCHAR *)L"secret";
    options.credentials = credentials;
    options.credential_count = 2;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, BG_E_HTTP_ERROR_401, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    /* The wrong password: tried once, then the 401. */
    credentials[2].target = BG_AUTH_TARGET_SERVER;
    credentials[2].scheme = BG_AUTH_SCHEME_BASIC;
    credentials[2].user = (WCHAR *)L"someone";
    credentials[2].password = (WCHAR *)L"wrong";
    options.credential_count = 3;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, BG_E_HTTP_ERROR_401, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    credentials[2].password = (WCHAR *)L"secret";
    fetch_open(&http, url, REMOTE_HTTP, 100, 1000, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.ranged);
    assert_int_equal(2000, fetch.response.file_size);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(1000, size);
    assert_true(test_server_content_matches(100, data, size));
    free(data);
    fetch_close(&http, &fetch);
}

static void test_http_redirect(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[128], final[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/redirect/2/file/3000", url, ARRAY_SIZE(url));
    url_of(L"/file/3000", final, ARRAY_SIZE(final));

    /* Silent (the default): followed, not reported. */
    options.security_flags = BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT;
    fetch_open(&http, url, REMOTE_HTTP, 10, 100, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_null(fetch.response.final_url);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(100, size);
    assert_true(test_server_content_matches(10, data, size));
    free(data);
    fetch_close(&http, &fetch);

    /* Reported: the final URL. */
    options.security_flags = BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_non_null(fetch.response.final_url);
    assert_true(!wcscmp(final, fetch.response.final_url));
    assert_int_equal(3000, fetch.response.file_size);
    fetch_close(&http, &fetch);

    /* No redirect, nothing to report. */
    fetch_open(&http, final, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_null(fetch.response.final_url);
    fetch_close(&http, &fetch);

    /* Disallowed: the redirect status as a Win32 error (BITS-SPEC.md §2.9). */
    options.security_flags = BG_HTTP_REDIRECT_POLICY_DISALLOW;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT), BG_ERROR_CONTEXT_REMOTE_FILE, L"http");
    url_of(L"/redirect/1/file/3000?redirect_code=301", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(HTTP_STATUS_MOVED), BG_ERROR_CONTEXT_REMOTE_FILE, L"http");
    url_of(L"/redirect/1/file/3000?redirect_code=307", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(HTTP_STATUS_REDIRECT_KEEP_VERB), BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    /* ALLOW_HTTPS_TO_HTTP changes nothing for http -> http. */
    options.security_flags = BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT | BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP;
    url_of(L"/redirect/1/file/3000?redirect_code=307", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(!wcscmp(final, fetch.response.final_url));
    fetch_close(&http, &fetch);
}

/* OVERRIDE sends the request to the job's proxy (the test server answers absolute URLs too)
 * unless the bypass list names the host; NO_PROXY goes direct. */
static void test_http_proxy(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[128], proxy[64], dead_proxy[64];
    struct fetch fetch;
    char *line;
    BYTE *data;
    size_t size;

    swprintf(proxy, ARRAY_SIZE(proxy), L"127.0.0.1:%u", server.port);
    swprintf(dead_proxy, ARRAY_SIZE(dead_proxy), L"127.0.0.1:%u", free_port());

    options.proxy_usage = BG_JOB_PROXY_USAGE_OVERRIDE;
    options.proxy_list = proxy;
    fetch_open(&http, L"http://openbits.invalid/file/4000?name=proxied", REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL,
               &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(4000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);
    line = journal_line("name=proxied");
    assert_non_null(line);
    /* The absolute URL a proxy gets (Wine writes the port in it). */
    assert_non_null(strstr(line, "\"request_line\": \"GET http://openbits.invalid"));
    free(line);

    /* A dead proxy fails the request, unless the host is bypassed. */
    url_of(L"/file/10", url, ARRAY_SIZE(url));
    options.proxy_list = dead_proxy;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);
    assert_true(FAILED(fetch.hr));
    options.proxy_bypass = (WCHAR *)L"127.0.0.1";
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);

    options.proxy_usage = BG_JOB_PROXY_USAGE_NO_PROXY;
    options.proxy_bypass = NULL;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);
}

/* A proxy asking for credentials (407): the job's proxy credentials answer it, server ones do
 * not; with none that fit, the 407 is the error. */
static void test_http_proxy_auth(void **state)
{
    static const WCHAR url[] = L"http://openbits.invalid/file/3000?proxy_auth=proxyuser:proxysecret";
    struct transfer_credential credentials[2] = {{0}};
    struct transfer_options options = {0};
    struct fetch fetch;
    WCHAR proxy[64];
    BYTE *data;
    size_t size;

    swprintf(proxy, ARRAY_SIZE(proxy), L"127.0.0.1:%u", server.port);
    options.proxy_usage = BG_JOB_PROXY_USAGE_OVERRIDE;
    options.proxy_list = proxy;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, BG_E_HTTP_ERROR_407, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    credentials[0].target = BG_AUTH_TARGET_SERVER;
    credentials[0].scheme = BG_AUTH_SCHEME_BASIC;
    credentials[0].user = (WCHAR *)L"proxyuser";
    credentials[0].password = (WCHAR *)L"proxysecret";
    options.credentials = credentials;
    options.credential_count = 1;
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, BG_E_HTTP_ERROR_407, BG_ERROR_CONTEXT_REMOTE_FILE, L"http");

    credentials[1] = credentials[0];
    credentials[1].target = BG_AUTH_TARGET_PROXY;
    options.credential_count = 2;
    fetch_open(&http, url, REMOTE_HTTP, 100, 200, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.ranged);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(200, size);
    assert_true(test_server_content_matches(100, data, size));
    free(data);
    fetch_close(&http, &fetch);
}

/* What only HTTPS uses is ignored on http: the client certificate is not even looked up, and
 * there is no server certificate to check. */
static HRESULT reject_certificate(void *context, const BYTE *certificate, DWORD certificate_size, DWORD encoding,
                                  const BYTE *store, DWORD store_size)
{
    ++*(int *)context;
    return E_ACCESSDENIED;
}

static void test_http_tls_options_on_http(void **state)
{
    struct transfer_options options = {0};
    int calls = 0;
    WCHAR url[128];
    struct fetch fetch;

    options.security_flags = BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_UNKNOWN_CA;
    options.has_certificate = TRUE;
    options.certificate_location = BG_CERT_STORE_LOCATION_CURRENT_USER;
    options.certificate_store = (WCHAR *)L"openbits-no-such-store";
    options.certificate_by_hash = TRUE;
    options.validate_certificate = reject_certificate;
    options.validate_context = &calls;
    url_of(L"/file/10", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTP, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_int_equal(0, calls);
    fetch_close(&http, &fetch);
}

static void test_http_wrong_kind(void **state)
{
    struct fetch fetch;

    fetch_open(&http, L"file:///C:/x", REMOTE_FILE_URL, 0, BG_LENGTH_TO_EOF, NULL, NULL, &fetch);
    assert_error(&fetch, E_INVALIDARG, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, L"http");
}

/* --- the HTTP transport: HTTPS ------------------------------------------------------------------ */

/* The HTTPS server has a self-signed certificate for localhost (tests/tests-windows.cmake). */
#ifdef OPENBITS_TLS_CERT
#define HAVE_TLS 1
#else
#define HAVE_TLS 0
#define OPENBITS_TLS_CERT NULL
#define OPENBITS_TLS_KEY NULL
#define OPENBITS_TLS_PFX NULL
#endif

static struct test_server tls_server, mtls_server;   /* the second asks for a client certificate */

/* The TLS server's URL for path, on host localhost (matching the certificate) or 127.0.0.1. */
static void tls_url_of(const WCHAR *host, const WCHAR *path, WCHAR *url, size_t size)
{
    if (!HAVE_TLS) skip();   /* no openssl at build time: no certificate, no HTTPS server */
    swprintf(url, size, L"https://%ls:%u%ls", host, tls_server.port, path);
}

static void mtls_url_of(const WCHAR *path, WCHAR *url, size_t size)
{
    if (!HAVE_TLS) skip();
    swprintf(url, size, L"https://localhost:%u%ls", mtls_server.port, path);
}

struct certificate_check
{
    HRESULT answer;
    int calls;
    BYTE der[4096];
    DWORD der_size;
    DWORD encoding;
    DWORD store_certificates;       /* certificates in the serialized store */
    BOOL store_has_certificate;     /* the server's among them */
};

/* Counts the certificates in a serialized store (CertSaveStore's CERT_STORE_SAVE_AS_STORE
 * format: an 8-byte header, then elements of property id, encoding, size and data, ending with
 * an empty one) and tells whether `certificate` is one of them. Read by hand: Wine 8's
 * CERT_STORE_PROV_SERIALIZED opens such a blob but finds no certificate in it. */
static DWORD serialized_certificates(const BYTE *store, DWORD size, const BYTE *certificate, DWORD certificate_size,
                                     BOOL *found)
{
    DWORD offset = 8, id, length, count = 0;

    *found = FALSE;
    while (offset + 12 <= size)
    {
        memcpy(&id, store + offset, sizeof(id));
        memcpy(&length, store + offset + 8, sizeof(length));
        offset += 12;
        if (!id || length > size - offset) break;
        if (id == 32)                /* CERT_CERT_PROP_ID: the encoded certificate */
        {
            ++count;
            if (length == certificate_size && !memcmp(store + offset, certificate, length)) *found = TRUE;
        }
        offset += length;
    }
    return count;
}

static HRESULT check_certificate(void *context, const BYTE *certificate, DWORD certificate_size, DWORD encoding,
                                 const BYTE *store, DWORD store_size)
{
    struct certificate_check *check = context;

    ++check->calls;
    check->encoding = encoding;
    check->der_size = certificate_size;
    if (certificate_size <= sizeof(check->der)) memcpy(check->der, certificate, certificate_size);
    check->store_certificates = serialized_certificates(store, store_size, certificate, certificate_size,
                                                        &check->store_has_certificate);
    return check->answer;
}

static void test_https_certificate_errors(void **state)
{
    struct transfer_options options = {0};
    struct fetch fetch;
    WCHAR url[128];
    BYTE *data;
    size_t size;

    /* Self-signed: refused unless the unknown CA is ignored. (Windows says
     * ERROR_WINHTTP_SECURE_FAILURE, Wine 8 ERROR_WINHTTP_SECURE_CHANNEL_ERROR.) */
    tls_url_of(L"localhost", L"/file/70000", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_true(FAILED(fetch.hr));
    assert_int_equal(FACILITY_WIN32, HRESULT_FACILITY(fetch.hr));
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);

    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA;
    fetch_open(&http, url, REMOTE_HTTPS, 1000, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_true(fetch.response.ranged);
    assert_int_equal(70000, fetch.response.file_size);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(69000, size);
    assert_true(test_server_content_matches(1000, data, size));
    free(data);
    fetch_close(&http, &fetch);

    /* By address, the name does not match the certificate's. */
    tls_url_of(L"127.0.0.1", L"/file/10", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_true(FAILED(fetch.hr));
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);
    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA | BG_SSL_IGNORE_CERT_CN_INVALID;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);
}

/* The client's check sees the server's certificate (DER) and the chain store, once per request
 * here; what it says goes. */
static void test_https_certificate_callback(void **state)
{
    struct certificate_check check = {0};
    struct transfer_options options = {0};
    const CERT_CONTEXT *cert;
    WCHAR url[128], name[64];
    struct fetch fetch;

    tls_url_of(L"localhost", L"/file/100", url, ARRAY_SIZE(url));
    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA;
    options.validate_certificate = check_certificate;
    options.validate_context = &check;

    check.answer = S_OK;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);
    assert_int_equal(1, check.calls);
    assert_int_equal(X509_ASN_ENCODING, check.encoding & X509_ASN_ENCODING);
    cert = CertCreateCertificateContext(X509_ASN_ENCODING, check.der, check.der_size);
    assert_non_null(cert);
    CertGetNameStringW(cert, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, NULL, name, ARRAY_SIZE(name));
    assert_true(!wcscmp(L"localhost", name));
    CertFreeCertificateContext(cert);
    assert_true(check.store_certificates >= 1);
    assert_true(check.store_has_certificate);

    check.answer = E_ACCESSDENIED;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, E_ACCESSDENIED, BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, L"http");
    assert_int_equal(2, check.calls);

    /* A success code other than S_OK rejects too, and stays a failure. */
    check.answer = S_FALSE;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, E_FAIL, BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, L"http");

    /* It runs after WinHTTP's own checks: a certificate WinHTTP refuses never reaches it. */
    options.security_flags = 0;
    check.calls = 0;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);
    assert_int_equal(0, check.calls);
}

/* https -> http redirects are refused unless ALLOW_HTTPS_TO_HTTP; https -> https ones are not. */
static void test_https_redirect_to_http(void **state)
{
    struct transfer_options options = {0};
    WCHAR url[256], path[192], target[128];
    struct fetch fetch;
    BYTE *data;
    size_t size;

    url_of(L"/file/3000", target, ARRAY_SIZE(target));
    swprintf(path, ARRAY_SIZE(path), L"/redirect/1/file/3000?to=%ls", target);
    tls_url_of(L"localhost", path, url, ARRAY_SIZE(url));
    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT;

    /* (Windows hands back the 302, which is HRESULT_FROM_WIN32(302); Wine 8 fails the request
     * with ERROR_WINHTTP_REDIRECT_FAILED.) */
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_true(FAILED(fetch.hr));
    assert_hr(fetch.hr, fetch.error.code);

    options.security_flags |= BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP;
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_non_null(fetch.response.final_url);
    assert_true(!wcscmp(target, fetch.response.final_url));
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &size));
    assert_int_equal(3000, size);
    assert_true(test_server_content_matches(0, data, size));
    free(data);
    fetch_close(&http, &fetch);

    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT;
    tls_url_of(L"localhost", L"/redirect/2/file/3000", url, ARRAY_SIZE(url));
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_non_null(fetch.response.final_url);
    assert_non_null(wcsstr(fetch.response.final_url, L"https://localhost:"));
    fetch_close(&http, &fetch);
}

/* The certificates (and private keys) of a PKCS #12 file without password, at a Linux path. */
static HCERTSTORE import_pfx(const char *unix_path)
{
    CRYPT_DATA_BLOB blob;
    WCHAR path[MAX_PATH], *p;
    HCERTSTORE store;
    HANDLE file;
    DWORD read;

    swprintf(path, ARRAY_SIZE(path), L"Z:%hs", unix_path);    /* Wine's Z: is the Linux root */
    for (p = path; *p; ++p) if (*p == '/') *p = '\\';
    file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    blob.cbData = GetFileSize(file, NULL);
    blob.pbData = malloc(blob.cbData);
    assert_true(ReadFile(file, blob.pbData, blob.cbData, &read, NULL) && read == blob.cbData);
    CloseHandle(file);
    store = PFXImportCertStore(&blob, L"", CRYPT_USER_KEYSET);
    free(blob.pbData);
    assert_non_null(store);
    return store;
}

/* A current user's system store is a registry key (Wine 8 ignores CERT_STORE_DELETE_FLAG). */
static void delete_store(const WCHAR *name)
{
    WCHAR key[128];

    swprintf(key, ARRAY_SIZE(key), L"Software\\Microsoft\\SystemCertificates\\%ls", name);
    RegDeleteTreeW(HKEY_CURRENT_USER, key);
}

/* The client certificate is looked up in the system store before anything is sent: a missing
 * store or certificate is the request's error. (The test server asks for none, so the one found
 * is not sent.) */
static void test_https_client_certificate(void **state)
{
    static const WCHAR store_name[] = L"openbits-unit-transport";
    struct transfer_options options = {0};
    const CERT_CONTEXT *cert;
    HCERTSTORE store, pfx;
    WCHAR url[128], mtls[128];
    struct fetch fetch;
    BYTE hash[20], *data;
    size_t got;
    DWORD size;

    tls_url_of(L"localhost", L"/file/10", url, ARRAY_SIZE(url));
    options.security_flags = BG_SSL_IGNORE_UNKNOWN_CA;

    options.has_certificate = TRUE;
    options.certificate_location = BG_CERT_STORE_LOCATION_CURRENT_USER;
    options.certificate_store = (WCHAR *)store_name;
    options.certificate_by_hash = TRUE;
    delete_store(store_name);      /* a run that failed half-way may have left it */
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), BG_ERROR_CONTEXT_GENERAL_TRANSPORT, L"http");

    /* The certificate with its private key, from the PKCS #12 file the build made. */
    pfx = import_pfx(OPENBITS_TLS_PFX);
    cert = CertEnumCertificatesInStore(pfx, NULL);
    assert_non_null(cert);
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, store_name);
    assert_non_null(store);
    assert_true(CertAddCertificateContextToStore(store, cert, CERT_STORE_ADD_REPLACE_EXISTING, NULL));
    size = sizeof(hash);
    assert_true(CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, hash, &size));
    CertFreeCertificateContext(cert);
    CertCloseStore(store, 0);
    CertCloseStore(pfx, 0);

    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);   /* a zero hash */
    assert_error(&fetch, CRYPT_E_NOT_FOUND, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, L"http");
    memcpy(options.certificate_hash, hash, sizeof(hash));
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);

    /* A server that wants a client certificate refuses us without one and takes the job's. In
     * that order: Wine reuses the connection (or TLS session) the certificate authenticated even
     * for a request without one, whatever WinHTTP session it comes through. */
    mtls_url_of(L"/file/2000", mtls, ARRAY_SIZE(mtls));
    options.has_certificate = FALSE;
    fetch_open(&http, mtls, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_true(FAILED(fetch.hr));
    assert_int_equal(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, fetch.error.context);
    options.has_certificate = TRUE;
    fetch_open(&http, mtls, REMOTE_HTTPS, 5, 10, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    assert_hr(S_OK, read_body(&http, &fetch, 1 << 20, &data, &got));
    assert_int_equal(10, got);
    assert_true(test_server_content_matches(5, data, got));
    free(data);
    fetch_close(&http, &fetch);

    /* By subject: a substring of the name, any case, of a certificate fit for client
     * authentication (this one is fit for both ends). */
    options.certificate_by_hash = FALSE;
    options.certificate_subject = (WCHAR *)L"LocalHost";
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_hr(S_OK, fetch.hr);
    fetch_close(&http, &fetch);
    options.certificate_subject = (WCHAR *)L"nobody";
    fetch_open(&http, url, REMOTE_HTTPS, 0, BG_LENGTH_TO_EOF, NULL, &options, &fetch);
    assert_error(&fetch, CRYPT_E_NOT_FOUND, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, L"http");

    delete_store(store_name);
}

/* --- setup ---------------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    WCHAR base[MAX_PATH];
    WSADATA wsa;

    if (WSAStartup(MAKEWORD(2, 2), &wsa)) return -1;
    GetTempPathW(ARRAY_SIZE(base), base);
    swprintf(temp_dir, ARRAY_SIZE(temp_dir), L"%lsopenbits-transport-%lu", base, GetCurrentProcessId());
    if (!CreateDirectoryW(temp_dir, NULL)) return -1;
    if (!test_server_start(&server)) return -1;
    if (HAVE_TLS && (!test_server_start_tls(&tls_server, OPENBITS_TLS_CERT, OPENBITS_TLS_KEY, NULL)
                     || !test_server_start_tls(&mtls_server, OPENBITS_TLS_CERT, OPENBITS_TLS_KEY, OPENBITS_TLS_CERT)))
        return -1;
    if (FAILED(http_transport_create(&http))) return -1;
    if (FAILED(file_transport_create(&file))) return -1;
    return 0;
}

static int group_teardown(void **state)
{
    http_transport_destroy(&http);
    file_transport_destroy(&file);
    test_server_stop(&server);
    test_server_stop(&tls_server);
    test_server_stop(&mtls_server);
    RemoveDirectoryW(temp_dir);
    WSACleanup();
    return 0;
}

/* Each HTTP test ends with nothing of its own left: once the transport is destroyed, the module
 * is free. The transport holds it until WinHTTP has reported its last handle closed, which it
 * may do on one of its own threads a moment after close(): a bounded wait. */
static int http_teardown(void **state)
{
    DWORD start = GetTickCount();
    LONG count;

    http_transport_destroy(&http);
    while ((count = module_lock_count()) && GetTickCount() - start < 10000) Sleep(10);
    if (FAILED(http_transport_create(&http))) return -1;
    assert_int_equal(0, count);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_file_whole),
        cmocka_unit_test(test_file_offset_and_length),
        cmocka_unit_test(test_file_urls),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_file_shared),
        cmocka_unit_test(test_file_abort),
        cmocka_unit_test(test_file_large),
        cmocka_unit_test_teardown(test_http_whole, http_teardown),
        cmocka_unit_test_teardown(test_http_range, http_teardown),
        cmocka_unit_test_teardown(test_http_range_ignored, http_teardown),
        cmocka_unit_test_teardown(test_http_if_range, http_teardown),
        cmocka_unit_test_teardown(test_http_no_length, http_teardown),
        cmocka_unit_test_teardown(test_http_large, http_teardown),
        cmocka_unit_test_teardown(test_http_status, http_teardown),
        cmocka_unit_test_teardown(test_http_connection_refused, http_teardown),
        cmocka_unit_test_teardown(test_http_cut, http_teardown),
        cmocka_unit_test_teardown(test_http_abort, http_teardown),
        cmocka_unit_test_teardown(test_http_abort_while_opening, http_teardown),
        cmocka_unit_test_teardown(test_http_post, http_teardown),
        cmocka_unit_test_teardown(test_http_post_abort, http_teardown),
        cmocka_unit_test_teardown(test_http_custom_headers, http_teardown),
        cmocka_unit_test_teardown(test_http_method, http_teardown),
        cmocka_unit_test_teardown(test_http_basic_auth, http_teardown),
        cmocka_unit_test_teardown(test_http_redirect, http_teardown),
        cmocka_unit_test_teardown(test_http_proxy, http_teardown),
        cmocka_unit_test_teardown(test_http_proxy_auth, http_teardown),
        cmocka_unit_test_teardown(test_http_tls_options_on_http, http_teardown),
        cmocka_unit_test_teardown(test_http_wrong_kind, http_teardown),
        cmocka_unit_test_teardown(test_https_certificate_errors, http_teardown),
        cmocka_unit_test_teardown(test_https_certificate_callback, http_teardown),
        cmocka_unit_test_teardown(test_https_redirect_to_http, http_teardown),
        cmocka_unit_test_teardown(test_https_client_certificate, http_teardown),
    };

    /* OPENBITS_TEST_FILTER=<pattern> runs only the matching tests (for debugging). */
    if (getenv("OPENBITS_TEST_FILTER")) cmocka_set_test_filter(getenv("OPENBITS_TEST_FILTER"));
    return cmocka_run_group_tests_name("transport", tests, group_setup, group_teardown);
}
