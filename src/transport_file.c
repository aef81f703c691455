/* SPDX-License-Identifier: MIT */
/* The file transport: the Win32 file API for REMOTE_LOCAL_PATH, REMOTE_UNC and REMOTE_FILE_URL
 * behind the transport seam (src/core/transport.h). The source is opened sharing everything,
 * so a file another program is writing, renaming or deleting can still be copied; a stream reads
 * from the request's offset up to its length. abort() raises a flag that read() checks before
 * each ReadFile and cancels a ReadFile in progress with CancelIoEx (a read of a file on a share
 * that stopped answering can block). Errors are HRESULT_FROM_WIN32 of the system's, with context
 * REMOTE_FILE and protocol L"file". */
#include <stdlib.h>
#include <wchar.h>

#include "transport.h"

struct file_stream
{
    HANDLE file;
    UINT64 left;                /* bytes still wanted; BG_LENGTH_TO_EOF: to the end */
    LONG aborted;               /* abort() was called */
};

static inline struct file_stream *impl_from_transport_stream(struct transport_stream *stream)
{
    return (struct file_stream *)stream;
}

static HRESULT set_error(struct transfer_error *error, HRESULT code)
{
    error->context = BG_ERROR_CONTEXT_REMOTE_FILE;
    error->code = code;
    error->protocol = L"file";
    return code;
}

static int hex_value(WCHAR c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static BOOL is_escape(const WCHAR *src, size_t i, size_t count)
{
    return i + 2 < count && src[i] == '%' && hex_value(src[i + 1]) >= 0 && hex_value(src[i + 2]) >= 0;
}

/* Copies src[0..count) to dst with each run of %XX escapes decoded as UTF-8 (a run that is not
 * valid UTF-8 stays as written) and '/' turned into '\'. dst has room for count + 1. */
static void unescape_path(const WCHAR *src, size_t count, WCHAR *dst)
{
    char bytes[256];
    size_t i = 0, n, start;
    int len;

    while (i < count)
    {
        if (!is_escape(src, i, count))
        {
            *dst++ = src[i] == '/' ? '\\' : src[i];
            ++i;
            continue;
        }
        for (start = i, n = 0; n < sizeof(bytes) && is_escape(src, i, count); i += 3)
            bytes[n++] = (char)(hex_value(src[i + 1]) * 16 + hex_value(src[i + 2]));
        if ((len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, bytes, (int)n, dst, (int)n)) > 0)
            dst += len;
        else
        {
            memcpy(dst, src + start, (i - start) * sizeof(WCHAR));
            dst += i - start;
        }
    }
    *dst = 0;
}

/* A drive letter and its colon (or the '|' of old file URLs). */
static BOOL is_drive(const WCHAR *p)
{
    return ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) && (p[1] == ':' || p[1] == '|');
}

/* The path a file:// URL names (validate_remote_name's forms): file:///C:/dir/x, file://C:/dir/x,
 * file://C:\dir\x and file://localhost/C:/dir/x are C:\dir\x; file://server/share/x,
 * file:////server/share/x and file://\\server\share\x are \\server\share\x. Escapes are
 * decoded. malloc'd; NULL when out of memory. */
static WCHAR *file_url_to_path(const WCHAR *url)
{
    const WCHAR *p = url + 7;     /* after "file://" */
    WCHAR *path, *q;
    size_t count;
    BOOL local;

    if (!_wcsnicmp(p, L"localhost/", 10) && is_drive(p + 10)) p += 10;
    while (*p == '/' || *p == '\\') ++p;
    count = wcslen(p);
    if (!(path = malloc((count + 3) * sizeof(WCHAR)))) return NULL;
    q = path;
    if (!(local = is_drive(p)))
    {
        *q++ = '\\';              /* a server name: UNC */
        *q++ = '\\';
    }
    unescape_path(p, count, q);
    if (local) q[1] = ':';
    return path;
}

static HRESULT file_open(void *context, const struct transport_request *req, struct transport_stream **out,
                         struct transport_response *response, struct transfer_error *error)
{
    struct file_stream *stream;
    LARGE_INTEGER size, offset;
    WCHAR *path = NULL;
    const WCHAR *name;
    FILETIME written;
    HANDLE file;
    HRESULT hr;

    *out = NULL;
    memset(response, 0, sizeof(*response));
    TRACE("%s, kind %u, offset %llu, length %#llx.\n", debugstr_w(req->url), req->kind,
          (unsigned long long)req->offset, (unsigned long long)req->length);

    switch (req->kind)
    {
    case REMOTE_FILE_URL:
        if (!(name = path = file_url_to_path(req->url))) return set_error(error, E_OUTOFMEMORY);
        break;
    case REMOTE_LOCAL_PATH:
    case REMOTE_UNC:
        name = req->url;
        break;
    default:
        return set_error(error, E_INVALIDARG);
    }
    if (!req->length)
    {
        free(path);
        return set_error(error, BG_E_INVALID_RANGE);
    }

    file = CreateFileW(name, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (file == INVALID_HANDLE_VALUE)
    {
        hr = hresult_from_last_error();
        WARN("%s: %#lx.\n", debugstr_w(name), hr);
        free(path);
        return set_error(error, hr);
    }
    free(path);

    if (!GetFileSizeEx(file, &size) || !GetFileTime(file, NULL, NULL, &written))
    {
        hr = set_error(error, hresult_from_last_error());
        goto out_close;
    }
    if ((UINT64)size.QuadPart < req->offset)
    {
        hr = set_error(error, BG_E_INVALID_RANGE);
        goto out_close;
    }
    offset.QuadPart = (LONGLONG)req->offset;
    if (!SetFilePointerEx(file, offset, NULL, FILE_BEGIN))
    {
        hr = set_error(error, hresult_from_last_error());
        goto out_close;
    }
    if (!(stream = calloc(1, sizeof(*stream))))
    {
        hr = set_error(error, E_OUTOFMEMORY);
        goto out_close;
    }
    stream->file = file;
    stream->left = req->length;

    response->file_size = (UINT64)size.QuadPart;
    response->modified = written;
    response->ranged = TRUE;
    *out = (struct transport_stream *)stream;
    return S_OK;

out_close:
    CloseHandle(file);
    return hr;
}

static HRESULT file_read(struct transport_stream *iface, void *buffer, DWORD size, DWORD *read,
                         struct transfer_error *error)
{
    struct file_stream *stream = impl_from_transport_stream(iface);
    DWORD count = size;

    *read = 0;
    if (InterlockedCompareExchange(&stream->aborted, 0, 0)) return set_error(error, E_ABORT);
    if (stream->left != BG_LENGTH_TO_EOF && stream->left < count) count = (DWORD)stream->left;
    if (!count) return S_OK;
    if (!ReadFile(stream->file, buffer, count, read, NULL))
    {
        DWORD win32 = GetLastError();
        *read = 0;
        if (win32 == ERROR_OPERATION_ABORTED && InterlockedCompareExchange(&stream->aborted, 0, 0))
            return set_error(error, E_ABORT);
        return set_error(error, win32 ? HRESULT_FROM_WIN32(win32) : E_FAIL);
    }
    if (stream->left != BG_LENGTH_TO_EOF) stream->left -= *read;
    return S_OK;
}

static void file_abort(struct transport_stream *iface)
{
    struct file_stream *stream = impl_from_transport_stream(iface);

    TRACE("%p.\n", stream);
    InterlockedExchange(&stream->aborted, 1);
    CancelIoEx(stream->file, NULL);
}

static void file_close(struct transport_stream *iface)
{
    struct file_stream *stream = impl_from_transport_stream(iface);

    TRACE("%p.\n", stream);
    CloseHandle(stream->file);
    free(stream);
}

static const struct transport_ops file_transport_ops =
{
    file_open,
    file_read,
    file_abort,
    file_close,
    NULL,                                 /* no uploads: they need the BITS upload protocol */
    NULL,
};

HRESULT file_transport_create(struct transport *transport)
{
    transport->ops = &file_transport_ops;
    transport->context = NULL;
    return S_OK;
}

void file_transport_destroy(struct transport *transport)
{
    transport->ops = NULL;
    transport->context = NULL;
}
