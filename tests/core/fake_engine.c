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
    memcpy(file->data, data, (size_t)size);
    file->size = size;
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

const struct storage_ops fake_storage_ops =
{
    fake_storage_open,
    fake_storage_write,
    fake_storage_truncate,
    fake_storage_close,
};

/* --- fake_transport ---------------------------------------------------------------------------- */

struct transport_stream
{
    struct fake_transport *transport;
    struct fake_remote *remote;
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
    free(stream);
}

const struct transport_ops fake_transport_ops =
{
    fake_transport_open,
    fake_transport_read,
    fake_transport_abort,
    fake_transport_close,
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

void fake_engine_free(struct fake_engine *fake)
{
    fake_storage_free(&fake->storage);
}
