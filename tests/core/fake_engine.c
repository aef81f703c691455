/* SPDX-License-Identifier: MIT */
/* Fakes of the transfer engine's seams: see fake_engine.h. */
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"

/* --- strings ----------------------------------------------------------------------------------- */

size_t fake_wcslen(const WCHAR *str)
{
    size_t len = 0;

    while (str[len]) ++len;
    return len;
}

BOOL fake_wcseq(const WCHAR *a, const WCHAR *b)
{
    if (!a || !b) return a == b;
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

WCHAR *fake_wcsdup(const WCHAR *str)
{
    size_t size = (fake_wcslen(str) + 1) * sizeof(WCHAR);
    WCHAR *copy = malloc(size);

    if (copy) memcpy(copy, str, size);
    return copy;
}

/* Copies into a fixed buffer, cutting what does not fit. */
static void copy_name(WCHAR *dst, const WCHAR *src)
{
    size_t i;

    for (i = 0; src[i] && i < FAKE_MAX_NAME - 1; ++i) dst[i] = src[i];
    dst[i] = 0;
}

/* --- fake_clock -------------------------------------------------------------------------------- */

FILETIME fake_clock_filetime(UINT64 ms)
{
    UINT64 ticks = 0x01d9000000000000ull + ms * 10000;   /* some day in 2023, plus ms */
    FILETIME time;

    time.dwLowDateTime = (DWORD)ticks;
    time.dwHighDateTime = (DWORD)(ticks >> 32);
    return time;
}

static UINT64 fake_clock_now(void *context)
{
    return ((struct fake_clock *)context)->now;
}

static void fake_clock_system_time(void *context, FILETIME *time)
{
    *time = fake_clock_filetime(((struct fake_clock *)context)->now);
}

const struct engine_clock_ops fake_clock_ops =
{
    fake_clock_now,
    fake_clock_system_time,
};

/* --- fake_storage ------------------------------------------------------------------------------ */

struct fake_storage_handle
{
    struct fake_storage *storage;
    struct fake_stored_file *file;
};

struct fake_stored_file *fake_storage_find(struct fake_storage *storage, const WCHAR *name)
{
    unsigned int i;

    for (i = 0; i < FAKE_MAX_FILES; ++i)
        if (storage->files[i].used && fake_wcseq(storage->files[i].name, name)) return &storage->files[i];
    return NULL;
}

static struct fake_stored_file *storage_create(struct fake_storage *storage, const WCHAR *name)
{
    unsigned int i;

    for (i = 0; i < FAKE_MAX_FILES; ++i)
    {
        if (storage->files[i].used) continue;
        memset(&storage->files[i], 0, sizeof(storage->files[i]));
        storage->files[i].used = TRUE;
        copy_name(storage->files[i].name, name);
        return &storage->files[i];
    }
    return NULL;
}

static BOOL storage_reserve(struct fake_stored_file *file, UINT64 size)
{
    BYTE *data;

    if (size <= file->capacity) return TRUE;
    if (!(data = realloc(file->data, (size_t)size))) return FALSE;
    memset(data + file->capacity, 0, (size_t)(size - file->capacity));
    file->data = data;
    file->capacity = size;
    return TRUE;
}

void fake_storage_put(struct fake_storage *storage, const WCHAR *name, const void *data, UINT64 size)
{
    struct fake_stored_file *file = fake_storage_find(storage, name);

    if (!file && !(file = storage_create(storage, name))) abort();
    if (!storage_reserve(file, size)) abort();
    if (size) memcpy(file->data, data, (size_t)size);
    file->size = size;
    file->time = fake_clock_filetime(size + 777);
}

unsigned int fake_storage_count(const struct fake_storage *storage)
{
    unsigned int i, count = 0;

    for (i = 0; i < FAKE_MAX_FILES; ++i) count += storage->files[i].used;
    return count;
}

void fake_storage_free(struct fake_storage *storage)
{
    unsigned int i;

    for (i = 0; i < FAKE_MAX_FILES; ++i) free(storage->files[i].data);
    memset(storage, 0, sizeof(*storage));
}

static HRESULT fake_storage_open(void *context, const WCHAR *path, enum storage_mode mode, void **out, UINT64 *size)
{
    struct fake_storage *storage = context;
    struct fake_stored_file *file = fake_storage_find(storage, path);
    struct fake_storage_handle *handle;

    *out = NULL;
    if (storage->mode_count < FAKE_MAX_OPENS) storage->modes[storage->mode_count++] = mode;
    if (mode == STORAGE_CREATE_NEW && file)
    {
        ++storage->failed_opens;
        return HRESULT_FROM_WIN32(ERROR_FILE_EXISTS);
    }
    if (mode == STORAGE_OPEN_EXISTING && !file)
    {
        ++storage->failed_opens;
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    }
    if (!file && !(file = storage_create(storage, path))) return HRESULT_FROM_WIN32(ERROR_DISK_FULL);
    if (!(handle = malloc(sizeof(*handle)))) return E_OUTOFMEMORY;
    handle->storage = storage;
    handle->file = file;
    *size = file->size;
    *out = handle;
    ++storage->opens;
    return S_OK;
}

static HRESULT fake_storage_write(void *opaque, UINT64 offset, const void *data, DWORD size)
{
    struct fake_storage_handle *handle = opaque;
    struct fake_storage *storage = handle->storage;
    struct fake_stored_file *file = handle->file;

    ++storage->writes;
    if (storage->write_countdown > 0 && --storage->write_countdown == 0) return storage->write_hr;
    if (!storage_reserve(file, offset + size)) return E_OUTOFMEMORY;
    memcpy(file->data + offset, data, size);
    if (offset + size > file->size) file->size = offset + size;
    return S_OK;
}

static HRESULT fake_storage_truncate(void *opaque, UINT64 size)
{
    struct fake_storage_handle *handle = opaque;

    ++handle->storage->truncates;
    if (!storage_reserve(handle->file, size)) return E_OUTOFMEMORY;
    if (size < handle->file->size) memset(handle->file->data + size, 0, (size_t)(handle->file->size - size));
    handle->file->size = size;
    return S_OK;
}

static void fake_storage_close(void *opaque)
{
    struct fake_storage_handle *handle = opaque;

    ++handle->storage->closes;
    free(handle);
}

static HRESULT fake_storage_open_read(void *context, const WCHAR *path, void **out)
{
    struct fake_storage *storage = context;
    struct fake_stored_file *file = fake_storage_find(storage, path);
    struct fake_storage_handle *handle;

    *out = NULL;
    if (!file)
    {
        ++storage->failed_opens;
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    }
    if (!(handle = malloc(sizeof(*handle)))) return E_OUTOFMEMORY;
    handle->storage = storage;
    handle->file = file;
    *out = handle;
    ++storage->opens;
    ++storage->read_opens;
    return S_OK;
}

static HRESULT fake_storage_query(void *opaque, UINT64 *size, FILETIME *time)
{
    struct fake_storage_handle *handle = opaque;

    *size = handle->file->size;
    *time = handle->file->time;
    return S_OK;
}

static HRESULT fake_storage_read(void *opaque, UINT64 offset, void *data, DWORD size, DWORD *read)
{
    struct fake_storage_handle *handle = opaque;
    struct fake_stored_file *file = handle->file;

    ++handle->storage->reads;
    *read = 0;
    if (offset >= file->size) return S_OK;
    if (size > file->size - offset) size = (DWORD)(file->size - offset);
    memcpy(data, file->data + offset, size);
    *read = size;
    return S_OK;
}

const struct storage_ops fake_storage_ops =
{
    fake_storage_open,
    fake_storage_write,
    fake_storage_truncate,
    fake_storage_close,
    fake_storage_open_read,
    fake_storage_query,
    fake_storage_read,
};

/* --- fake_transport ---------------------------------------------------------------------------- */

struct transport_stream
{
    struct fake_transport *transport;
    struct fake_remote *remote;           /* NULL for an upload packet's stream */
    unsigned int packet;                  /* an upload packet's index in transport->packets */
    BYTE *body;
    DWORD body_size;
    UINT32 seed;                          /* of the file as it was when the stream opened */
    UINT64 position, end, delivered;
    BOOL fault_armed;                     /* a read fails once delivered reaches fail_after */
    UINT64 fail_after;
    BOOL aborted;
};

BYTE fake_remote_byte(UINT32 seed, UINT64 offset)
{
    UINT32 x = (UINT32)offset * 2654435761u ^ (UINT32)(offset >> 32) ^ (seed * 40503u + 0x9e37u);

    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (BYTE)x;
}

struct fake_remote *fake_transport_add(struct fake_transport *transport, const WCHAR *url, UINT64 size, UINT32 seed)
{
    struct fake_remote *remote;

    if (transport->remote_count >= FAKE_MAX_FILES) abort();
    remote = &transport->remotes[transport->remote_count++];
    memset(remote, 0, sizeof(*remote));
    copy_name(remote->url, url);
    remote->size = size;
    remote->seed = seed;
    remote->modified = fake_clock_filetime((UINT64)seed * 1000 + 12345);
    return remote;
}

static const WCHAR *protocol_of(enum remote_kind kind)
{
    return kind == REMOTE_HTTP || kind == REMOTE_HTTPS ? L"http" : L"file";
}

static HRESULT fake_transport_open(void *context, const struct transport_request *request,
                                   struct transport_stream **out, struct transport_response *response,
                                   struct transfer_error *error)
{
    struct fake_transport *transport = context;
    struct fake_request *record = NULL;
    struct fake_remote *remote = NULL;
    struct transport_stream *stream;
    BOOL via_redirect = FALSE;
    unsigned int i;
    HRESULT hr;

    *out = NULL;
    memset(response, 0, sizeof(*response));
    if (transport->request_count < FAKE_MAX_OPENS)
    {
        record = &transport->requests[transport->request_count++];
        copy_name(record->url, request->url);
        record->kind = request->kind;
        record->offset = request->offset;
        record->length = request->length;
        record->options = request->options;
    }
    for (i = 0; i < transport->remote_count && !remote; ++i)
    {
        if (fake_wcseq(transport->remotes[i].url, request->url)) remote = &transport->remotes[i];
        else if (transport->remotes[i].redirect && fake_wcseq(transport->remotes[i].redirect, request->url))
        {
            remote = &transport->remotes[i];
            via_redirect = TRUE;
        }
    }

    error->protocol = protocol_of(request->kind);
    if (!remote)
    {
        error->context = BG_ERROR_CONTEXT_REMOTE_FILE;
        error->code = BG_E_HTTP_ERROR_404;
        hr = error->code;
        goto out;
    }
    if (remote->change_after_opens && remote->opens == remote->change_after_opens)
    {
        remote->size = remote->changed_size;
        remote->seed = remote->changed_seed;
        remote->modified = remote->changed_modified;
        remote->change_after_opens = 0;
    }
    ++remote->opens;
    if (remote->open_failures)
    {
        --remote->open_failures;
        *error = remote->open_error;
        hr = error->code;
        goto out;
    }
    if (!remote->no_ranges && request->offset && request->offset >= remote->size)
    {
        /* HTTP 416: no byte of the range is in the file. */
        error->context = BG_ERROR_CONTEXT_REMOTE_FILE;
        error->code = BG_E_HTTP_ERROR_416;
        hr = error->code;
        goto out;
    }
    if (!(stream = calloc(1, sizeof(*stream))))
    {
        hr = error->code = E_OUTOFMEMORY;
        goto out;
    }
    stream->transport = transport;
    stream->remote = remote;
    stream->seed = remote->seed;
    if (remote->no_ranges)
    {
        stream->position = 0;
        stream->end = remote->size;
        response->ranged = FALSE;
    }
    else
    {
        stream->position = request->offset;
        stream->end = request->length == BG_LENGTH_TO_EOF || request->length > remote->size - request->offset
                    ? remote->size : request->offset + request->length;
        response->ranged = TRUE;
    }
    if (remote->read_failures)
    {
        --remote->read_failures;
        stream->fault_armed = TRUE;
        stream->fail_after = remote->read_fail_after;
    }
    response->file_size = remote->size_unknown ? BG_SIZE_UNKNOWN : remote->size;
    response->modified = remote->modified;
    if (remote->headers) response->headers = fake_wcsdup(remote->headers);
    if (remote->redirect && !via_redirect) response->final_url = fake_wcsdup(remote->redirect);
    ++transport->streams_opened;
    *out = stream;
    hr = S_OK;
    if (request->opening && remote->while_opening)
    {
        request->opening(request->opening_context, stream);
        remote->while_opening(remote->while_opening_context);
        if (stream->aborted)
        {
            transport_response_free(response);
            memset(response, 0, sizeof(*response));
            error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
            hr = error->code = E_ABORT;
        }
    }

out:
    if (record) record->hr = hr;
    return hr;
}

static HRESULT fake_transport_read(struct transport_stream *stream, void *buffer, DWORD size, DWORD *read,
                                   struct transfer_error *error)
{
    UINT64 count, i;
    BYTE *bytes = buffer;

    *read = 0;
    ++stream->transport->reads;
    if (stream->aborted)
    {
        error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
        error->code = E_ABORT;
        error->protocol = NULL;
        return E_ABORT;
    }
    if (stream->fault_armed && stream->delivered >= stream->fail_after)
    {
        if (stream->remote->read_ends) return S_OK;     /* the body ends here, every time */
        stream->fault_armed = FALSE;
        *error = stream->remote->read_error;
        return error->code;
    }
    count = stream->end - stream->position;
    if (count > size) count = size;
    if (stream->fault_armed && count > stream->fail_after - stream->delivered)
        count = stream->fail_after - stream->delivered;
    for (i = 0; i < count; ++i) bytes[i] = fake_remote_byte(stream->seed, stream->position + i);
    stream->position += count;
    stream->delivered += count;
    *read = (DWORD)count;
    return S_OK;
}

static void fake_transport_abort(struct transport_stream *stream)
{
    stream->aborted = TRUE;
    ++stream->transport->aborts;
}

static void fake_transport_close(struct transport_stream *stream)
{
    ++stream->transport->streams_closed;
    free(stream->body);
    free(stream);
}

/* --- the fake BITS upload server --------------------------------------------------------------- */

struct fake_upload *fake_transport_add_upload(struct fake_transport *transport, const WCHAR *url)
{
    struct fake_upload *upload;

    if (transport->upload_count >= FAKE_MAX_FILES) abort();
    upload = &transport->uploads[transport->upload_count++];
    memset(upload, 0, sizeof(*upload));
    copy_name(upload->url, url);
    return upload;
}

void fake_upload_script(struct fake_upload *upload, const struct fake_answer *answer)
{
    if (upload->answer_count >= FAKE_MAX_ANSWERS) abort();
    upload->answers[upload->answer_count] = *answer;
    if (!upload->answers[upload->answer_count].count) upload->answers[upload->answer_count].count = 1;
    ++upload->answer_count;
}

static BOOL ascii_equal_nocase(const WCHAR *a, size_t len, const char *b)
{
    size_t i;

    for (i = 0; i < len; ++i)
    {
        WCHAR x = a[i], y = (unsigned char)b[i];
        if (!b[i]) return FALSE;
        if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
        if (x != y) return FALSE;
    }
    return !b[len];
}

/* The value of a request header (the engine's "Name: value\r\n" lines) into value[size]. */
static BOOL header_value(const WCHAR *headers, const char *name, WCHAR *value, size_t size)
{
    const WCHAR *line = headers, *colon, *end;
    size_t len;

    while (line && *line)
    {
        for (end = line; *end && *end != '\r' && *end != '\n'; ++end) {}
        for (colon = line; colon < end && *colon != ':'; ++colon) {}
        if (colon < end && ascii_equal_nocase(line, (size_t)(colon - line), name))
        {
            ++colon;
            while (*colon == ' ') ++colon;
            len = (size_t)(end - colon);
            if (len >= size) len = size - 1;
            memcpy(value, colon, len * sizeof(WCHAR));
            value[len] = 0;
            return TRUE;
        }
        line = end;
        while (*line == '\r' || *line == '\n') ++line;
    }
    return FALSE;
}

static UINT64 parse_number(const WCHAR **p)
{
    UINT64 value = 0;

    while (**p >= '0' && **p <= '9') value = value * 10 + (*(*p)++ - '0');
    return value;
}

/* A growing answer: the status line, then header lines. */
struct fake_text
{
    WCHAR data[1024];
    size_t len;
};

static void text_ascii(struct fake_text *text, const char *str)
{
    while (*str && text->len < ARRAYSIZE(text->data) - 1) text->data[text->len++] = (unsigned char)*str++;
    text->data[text->len] = 0;
}

static void text_wide(struct fake_text *text, const WCHAR *str)
{
    while (*str && text->len < ARRAYSIZE(text->data) - 1) text->data[text->len++] = *str++;
    text->data[text->len] = 0;
}

static void text_number(struct fake_text *text, UINT64 value)
{
    char digits[24];
    int n = 0, i;

    do digits[n++] = '0' + value % 10; while ((value /= 10));
    for (i = n - 1; i >= 0; --i)
    {
        char c[2] = { digits[i], 0 };
        text_ascii(text, c);
    }
}

static void session_name(unsigned int session, WCHAR *name)
{
    struct fake_text text = { { 0 }, 0 };

    text_ascii(&text, "{fake-session-");
    text_number(&text, session);
    text_ascii(&text, "}");
    memcpy(name, text.data, (text.len + 1) * sizeof(WCHAR));
}

static HRESULT fake_post_open(void *context, const struct transport_packet *request, struct transport_stream **out,
                              void **body, struct transfer_error *error)
{
    struct fake_transport *transport = context;
    struct fake_packet *packet;
    struct transport_stream *stream;
    WCHAR value[FAKE_MAX_NAME];
    const WCHAR *p;
    unsigned int i;

    *out = NULL;
    *body = NULL;
    if (transport->packet_count >= FAKE_MAX_PACKETS) abort();
    packet = &transport->packets[transport->packet_count++];
    memset(packet, 0, sizeof(*packet));
    copy_name(packet->url, request->url);
    packet->timeout_ms = request->timeout_ms;
    packet->options = request->options;
    if (!header_value(request->headers, "BITS-Packet-Type", value, ARRAYSIZE(value))) abort();
    for (i = 0; i <= BITS_PACKET_CANCEL_SESSION; ++i)
        if (fake_wcseq(value, bits_packet_name(i))) packet->packet = i;
    header_value(request->headers, "BITS-Session-Id", packet->session_id, ARRAYSIZE(packet->session_id));
    packet->content_name = header_value(request->headers, "Content-Name", value, ARRAYSIZE(value));
    if (header_value(request->headers, "Content-Range", value, ARRAYSIZE(value)))
    {
        p = value + 6;                    /* "bytes " */
        if (*p == '*') packet->length = packet->first = packet->total = 0;
        else
        {
            packet->first = parse_number(&p);
            ++p;
            packet->length = parse_number(&p) - packet->first + 1;
            ++p;
            packet->total = parse_number(&p);
        }
        if (packet->length != request->body_size) abort();
    }
    else if (request->body_size) abort();

    if (!(stream = calloc(1, sizeof(*stream)))) return error->code = E_OUTOFMEMORY;
    stream->transport = transport;
    stream->packet = transport->packet_count - 1;
    if (request->body_size && !(stream->body = malloc(request->body_size)))
    {
        free(stream);
        return error->code = E_OUTOFMEMORY;
    }
    stream->body_size = request->body_size;
    ++transport->streams_opened;
    ++transport->posts_opened;
    *body = stream->body;
    *out = stream;
    return S_OK;
}

static struct fake_upload *find_upload(struct fake_transport *transport, const WCHAR *url)
{
    unsigned int i;

    for (i = 0; i < transport->upload_count; ++i)
        if (fake_wcseq(transport->uploads[i].url, url)) return &transport->uploads[i];
    return NULL;
}

static void answer(struct transport_reply *reply, DWORD status, const struct fake_text *headers)
{
    struct fake_text text = { { 0 }, 0 };

    text_ascii(&text, "HTTP/1.1 ");
    text_number(&text, status);
    text_ascii(&text, " Fake\r\n");
    if (headers) text_wide(&text, headers->data);
    reply->status = status;
    reply->headers = fake_wcsdup(text.data);
}

static void session_not_found(struct transport_reply *reply)
{
    struct fake_text text = { { 0 }, 0 };

    text_ascii(&text, "BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x8020001F\r\nBITS-Error-Context: 0x5\r\n");
    answer(reply, 500, &text);
}

static HRESULT fake_post_send(struct transport_stream *stream, struct transport_reply *reply,
                              struct transfer_error *error)
{
    struct fake_transport *transport = stream->transport;
    struct fake_packet *packet = &transport->packets[stream->packet];
    struct fake_upload *upload = find_upload(transport, packet->url);
    struct fake_text text = { { 0 }, 0 };
    WCHAR session[48];
    unsigned int i, n;

    memset(reply, 0, sizeof(*reply));
    if (stream->aborted)
    {
        error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
        error->code = E_ABORT;
        error->protocol = L"http";
        return E_ABORT;
    }
    if (!upload)
    {
        /* No upload server there: a plain 404. */
        answer(reply, 404, NULL);
        return S_OK;
    }
    n = ++upload->packets[packet->packet];
    for (i = 0; i < upload->answer_count; ++i)
    {
        const struct fake_answer *scripted = &upload->answers[i];
        if (scripted->packet != packet->packet || n < scripted->nth || n >= scripted->nth + scripted->count) continue;
        if (scripted->fail_send)
        {
            *error = scripted->error;
            return error->code;
        }
        if (scripted->headers) text_wide(&text, scripted->headers);
        answer(reply, scripted->status, &text);
        return S_OK;
    }

    session_name(upload->session, session);
    switch (packet->packet)
    {
    case BITS_PACKET_PING:
        text_ascii(&text, "BITS-Packet-Type: Ack\r\n");
        break;
    case BITS_PACKET_CREATE_SESSION:
        upload->session = ++upload->sessions;
        upload->received = 0;
        upload->complete = FALSE;
        session_name(upload->session, session);
        text_ascii(&text, "BITS-Packet-Type: Ack\r\nBITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n"
                   "BITS-Session-Id: ");
        text_wide(&text, session);
        text_ascii(&text, "\r\n");
        if (upload->host_id)
        {
            text_ascii(&text, "BITS-Host-Id: ");
            text_wide(&text, upload->host_id);
            text_ascii(&text, "\r\n");
        }
        if (upload->fallback)
        {
            text_ascii(&text, "BITS-Host-Id-Fallback-Timeout: ");
            text_wide(&text, upload->fallback);
            text_ascii(&text, "\r\n");
        }
        break;
    case BITS_PACKET_FRAGMENT:
        if (!upload->session || !fake_wcseq(session, packet->session_id))
        {
            session_not_found(reply);
            return S_OK;
        }
        upload->body_bytes += packet->length;
        upload->total = packet->total;
        if (packet->first > upload->received)
        {
            text_ascii(&text, "BITS-Packet-Type: Ack\r\nBITS-Received-Content-Range: ");
            text_number(&text, upload->received);
            text_ascii(&text, "\r\n");
            answer(reply, 416, &text);
            return S_OK;
        }
        if (packet->first + packet->length > upload->received)
        {
            UINT64 skip = upload->received - packet->first, end = packet->first + packet->length;
            if (end > upload->capacity)
            {
                BYTE *data = realloc(upload->data, (size_t)end);
                if (!data) abort();
                upload->data = data;
                upload->capacity = end;
            }
            memcpy(upload->data + upload->received, stream->body + skip, (size_t)(packet->length - skip));
            upload->received = end;
        }
        upload->complete = upload->received == upload->total;
        text_ascii(&text, "BITS-Packet-Type: Ack\r\nBITS-Session-Id: ");
        text_wide(&text, session);
        text_ascii(&text, "\r\nBITS-Received-Content-Range: ");
        text_number(&text, upload->received);
        text_ascii(&text, "\r\n");
        if (upload->complete && upload->reply_url)
        {
            text_ascii(&text, "BITS-Reply-URL: ");
            text_wide(&text, upload->reply_url);
            text_ascii(&text, "\r\n");
        }
        break;
    default:
        if (!upload->session || !fake_wcseq(session, packet->session_id))
        {
            session_not_found(reply);
            return S_OK;
        }
        if (packet->packet == BITS_PACKET_CLOSE_SESSION) ++upload->closes;
        else ++upload->cancels;
        upload->session = 0;
        text_ascii(&text, "BITS-Packet-Type: Ack\r\n");
        break;
    }
    answer(reply, 200, &text);
    return S_OK;
}

const struct transport_ops fake_transport_ops =
{
    fake_transport_open,
    fake_transport_read,
    fake_transport_abort,
    fake_transport_close,
    fake_post_open,
    fake_post_send,
};

/* --- fake_host --------------------------------------------------------------------------------- */

static void fake_host_event(void *context, struct engine_job *job, enum engine_event_kind kind, struct engine_file *file)
{
    struct fake_host *host = context;

    if (host->event_count >= FAKE_MAX_EVENTS) abort();
    host->events[host->event_count].job = job;
    host->events[host->event_count].kind = kind;
    host->events[host->event_count].file = file;
    ++host->event_count;
}

static void *fake_host_snapshot_options(void *context, struct engine_job *job)
{
    struct fake_host *host = context;

    ++host->snapshots;
    return &host->options;
}

static void fake_host_free_options(void *context, void *options)
{
    struct fake_host *host = context;

    if (options != &host->options) abort();
    ++host->frees;
}

static HRESULT fake_host_new_temp_name(void *context, struct engine_file *file)
{
    static const WCHAR prefix[] = L"C:\\dl\\BITnew";
    struct fake_host *host = context;
    WCHAR name[FAKE_MAX_NAME], *copy;
    unsigned int n, len;

    ++host->temp_names;
    if (FAILED(host->temp_name_hr)) return host->temp_name_hr;
    len = ARRAYSIZE(prefix) - 1;
    memcpy(name, prefix, len * sizeof(WCHAR));
    n = host->temp_names;
    name[len++] = L'0' + (n / 10) % 10;
    name[len++] = L'0' + n % 10;
    memcpy(name + len, L".tmp", 5 * sizeof(WCHAR));
    if (!(copy = fake_wcsdup(name))) return E_OUTOFMEMORY;
    free(file->temp_name);
    file->temp_name = copy;
    return S_OK;
}

const struct engine_host_ops fake_host_ops =
{
    fake_host_event,
    fake_host_snapshot_options,
    fake_host_free_options,
    fake_host_new_temp_name,
};

unsigned int fake_host_count(const struct fake_host *host, const struct engine_job *job, enum engine_event_kind kind)
{
    unsigned int i, count = 0;

    for (i = 0; i < host->event_count; ++i)
        if (host->events[i].kind == kind && (!job || host->events[i].job == job)) ++count;
    return count;
}

int fake_host_find(const struct fake_host *host, unsigned int from, const struct engine_job *job,
                   enum engine_event_kind kind)
{
    unsigned int i;

    for (i = from; i < host->event_count; ++i)
        if (host->events[i].kind == kind && (!job || host->events[i].job == job)) return (int)i;
    return -1;
}

/* --- the bundle -------------------------------------------------------------------------------- */

void fake_engine_init(struct fake_engine *fake)
{
    unsigned int kind;

    memset(fake, 0, sizeof(*fake));
    engine_init(&fake->engine);
    fake->engine.clock = &fake_clock_ops;
    fake->engine.clock_context = &fake->clock;
    fake->engine.storage = &fake_storage_ops;
    fake->engine.storage_context = &fake->storage;
    for (kind = 0; kind <= REMOTE_LOCAL_PATH; ++kind)
    {
        fake->engine.transports[kind].ops = &fake_transport_ops;
        fake->engine.transports[kind].context = &fake->transport;
    }
    fake->engine.host = &fake_host_ops;
    fake->engine.host_context = &fake->host;
    fake->engine.chunk_size = FAKE_CHUNK_SIZE;
    fake->clock.now = 1000000;            /* not 0: a zero time hides arithmetic slips */
}

static void free_file(struct engine_file *file)
{
    free(file->remote_name);
    free(file->local_name);
    free(file->temp_name);
    free(file->ranges);
    free(file->response_headers);
    range_list_clear(&file->requested);
    range_list_clear(&file->filled);
    free(file);
}

void fake_engine_free_job(struct fake_engine *fake, struct engine_job *job)
{
    struct engine_cleanup cleanup;
    ULONG i;

    memset(&cleanup, 0, sizeof(cleanup));
    if (job->run && !job->running) engine_stop_locked(&fake->engine, job, &cleanup);
    engine_cleanup(&fake->engine, &cleanup);
    engine_forget_locked(&fake->engine, job);
    for (i = 0; i < job->file_count; ++i) free_file(job->files[i]);
    free(job->files);
    engine_job_clear(job);
    free(job);
}

void fake_engine_free(struct fake_engine *fake)
{
    unsigned int i;

    engine_destroy(&fake->engine);
    fake_storage_free(&fake->storage);
    for (i = 0; i < fake->transport.upload_count; ++i) free(fake->transport.uploads[i].data);
}
