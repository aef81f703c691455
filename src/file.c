/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyFile .. IBackgroundCopyFile6 (BITS-SPEC.md §2.7) on a job's file record.
 *
 * Same shape as the job: validate arguments without the lock, then read or change the record
 * under the service lock (the job's lock), then free what was swapped out. Getters keep working
 * on the files of a job in a final state; setters answer BG_E_INVALID_STATE there. NULL [out]
 * pointers answer E_INVALIDARG on every file interface (docs/conformance.md). */
#include <stdlib.h>

#include "file.h"
#include "job.h"
#include "core/job_state.h"

static const struct qi_entry file_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyFile,  struct job_file, IBackgroundCopyFile6_iface),
    QI_ENTRY(IID_IBackgroundCopyFile2, struct job_file, IBackgroundCopyFile6_iface),
    QI_ENTRY(IID_IBackgroundCopyFile3, struct job_file, IBackgroundCopyFile6_iface),
    QI_ENTRY(IID_IBackgroundCopyFile4, struct job_file, IBackgroundCopyFile6_iface),
    QI_ENTRY(IID_IBackgroundCopyFile5, struct job_file, IBackgroundCopyFile6_iface),
    QI_ENTRY(IID_IBackgroundCopyFile6, struct job_file, IBackgroundCopyFile6_iface),
    QI_END
};

static const IBackgroundCopyFile6Vtbl file_vtbl;

/* Temporary names: BITS leaves `BITxxxx.TMP` files beside the destination. Five hex digits from
 * a process-wide counter with a random start; the engine creates the file with CREATE_NEW and
 * picks another name if this one is taken. */
static LONG temp_counter = -1;

HRESULT file_make_temp_name(const WCHAR *local, WCHAR **out)
{
    const WCHAR *slash = wcsrchr(local, '\\');
    size_t dir_len = slash ? (size_t)(slash - local) + 1 : 0;
    LONG value;
    WCHAR *name;

    if (temp_counter == -1)
    {
        GUID seed;
        CoCreateGuid(&seed);
        InterlockedCompareExchange(&temp_counter, (LONG)(seed.Data1 & 0xfffff), -1);
    }
    value = InterlockedIncrement(&temp_counter) & 0xfffff;
    if (!(name = malloc((dir_len + 13) * sizeof(WCHAR)))) return E_OUTOFMEMORY;
    memcpy(name, local, dir_len * sizeof(WCHAR));
    swprintf(name + dir_len, 13, L"BIT%05lX.tmp", (unsigned long)value);
    *out = name;
    return S_OK;
}

HRESULT file_create(const WCHAR *remote, enum remote_kind kind, const WCHAR *local, BOOL use_temp,
                    const BG_FILE_RANGE *ranges, DWORD range_count, struct job_file **out)
{
    struct job_file *file;
    HRESULT hr = E_OUTOFMEMORY;

    *out = NULL;
    if (!(file = calloc(1, sizeof(*file)))) return E_OUTOFMEMORY;
    file->IBackgroundCopyFile6_iface.lpVtbl = &file_vtbl;
    file->xfer.kind = kind;
    file->xfer.bytes_total = BG_SIZE_UNKNOWN;
    file->xfer.remote_size = BG_SIZE_UNKNOWN;   /* not 0: the engine would clip on-demand requests to nothing */
    range_list_init(&file->xfer.requested);
    range_list_init(&file->xfer.filled);
    range_list_init(&file->reported);
    if (!(file->xfer.remote_name = _wcsdup(remote)) || !(file->xfer.local_name = _wcsdup(local))) goto fail;
    if (use_temp && FAILED(hr = file_make_temp_name(local, &file->xfer.temp_name))) goto fail;
    if (range_count)
    {
        hr = E_OUTOFMEMORY;
        if (!(file->xfer.ranges = malloc(range_count * sizeof(*ranges)))) goto fail;
        memcpy(file->xfer.ranges, ranges, range_count * sizeof(*ranges));
        file->xfer.range_count = range_count;
    }
    *out = file;
    return S_OK;

fail:
    file_destroy(file);
    return hr;
}

void file_destroy(struct job_file *file)
{
    if (!file) return;
    if (file->marshal) IUnknown_Release(file->marshal);
    free(file->xfer.remote_name);
    free(file->xfer.local_name);
    free(file->xfer.temp_name);
    free(file->xfer.ranges);
    free(file->xfer.response_headers);
    range_list_clear(&file->xfer.requested);
    range_list_clear(&file->xfer.filled);
    range_list_clear(&file->reported);
    free(file);
}

static HRESULT WINAPI file_QueryInterface(IBackgroundCopyFile6 *iface, REFIID riid, void **out)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(file, file_qi, &file->marshal, riid, out);
}

static ULONG WINAPI file_AddRef(IBackgroundCopyFile6 *iface)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    ULONG refcount = InterlockedIncrement(&file->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (refcount == 1) job_hold(file->job);
    return refcount;
}

static ULONG WINAPI file_Release(IBackgroundCopyFile6 *iface)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    ULONG refcount = InterlockedDecrement(&file->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) job_unhold(file->job);      /* may free the job and this record */
    return refcount;
}

static HRESULT file_get_string(struct job_file *file, WCHAR *const *field, WCHAR **out)
{
    return job_get_string(file->job, field, NULL, out);
}

static HRESULT WINAPI file_GetRemoteName(IBackgroundCopyFile6 *iface, LPWSTR *name)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %p.\n", iface, name);
    return file_get_string(file, &file->xfer.remote_name, name);
}

static HRESULT WINAPI file_GetLocalName(IBackgroundCopyFile6 *iface, LPWSTR *name)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %p.\n", iface, name);
    return file_get_string(file, &file->xfer.local_name, name);
}

static HRESULT WINAPI file_GetProgress(IBackgroundCopyFile6 *iface, BG_FILE_PROGRESS *progress)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct job *job = file->job;

    TRACE("%p, %p.\n", iface, progress);
    if (!progress) return E_INVALIDARG;
    service_lock(job->service);
    progress->BytesTotal = file->xfer.bytes_total;
    progress->BytesTransferred = file->xfer.bytes_transferred;
    /* A download is complete once Complete made it available to the user; an upload once
     * the server has it. */
    progress->Completed = job->xfer.type == BG_JOB_TYPE_DOWNLOAD ? file->xfer.completed : file->xfer.transferred;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI file_GetFileRanges(IBackgroundCopyFile6 *iface, DWORD *count, BG_FILE_RANGE **ranges)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    size_t size = file->xfer.range_count * sizeof(**ranges);

    TRACE("%p, %p, %p.\n", iface, count, ranges);
    if (!count || !ranges) return E_INVALIDARG;
    *count = 0;
    *ranges = NULL;
    /* The ranges are immutable: no lock needed. */
    if (!file->xfer.range_count) return S_FALSE;
    if (!(*ranges = CoTaskMemAlloc(size))) return E_OUTOFMEMORY;
    memcpy(*ranges, file->xfer.ranges, size);
    *count = file->xfer.range_count;
    return S_OK;
}

/* A file with byte ranges can only come from an HTTP(S) server. */
static BOOL kind_allows_ranges(enum remote_kind kind)
{
    return kind == REMOTE_HTTP || kind == REMOTE_HTTPS;
}

static HRESULT WINAPI file_SetRemoteName(IBackgroundCopyFile6 *iface, LPCWSTR name)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct engine_cleanup cleanup = { 0 };
    struct job *job = file->job;
    enum remote_kind kind;
    WCHAR *copy;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(name));
    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD) return E_NOTIMPL;
    if (FAILED(validate_remote_name(name, &kind))) return E_INVALIDARG;
    if (file->xfer.range_count && !kind_allows_ranges(kind)) return E_INVALIDARG;
    if (FAILED(hr = job_copy_string(name, &copy))) return hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        WCHAR *old = file->xfer.remote_name;
        file->xfer.remote_name = copy;
        file->xfer.kind = kind;
        /* A new server may support ranges where the old one did not. */
        file->xfer.no_range_support = FALSE;
        copy = old;
        engine_void_locked(&job->service->engine, &job->xfer, &cleanup);
        job_touch_locked(job);
    }
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    if (SUCCEEDED(hr)) service_wake(job->service, FALSE);
    free(copy);
    return hr;
}

static HRESULT WINAPI file_GetTemporaryName(IBackgroundCopyFile6 *iface, LPWSTR *name)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %p.\n", iface, name);
    /* Uploads and high-performance downloads use the local file itself. */
    return job_get_string(file->job, &file->xfer.temp_name, file->xfer.local_name, name);
}

static HRESULT WINAPI file_SetValidationState(IBackgroundCopyFile6 *iface, BOOL state)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct engine_cleanup cleanup = { 0 };
    struct job *job = file->job;
    HRESULT hr;

    TRACE("%p, %d.\n", iface, state);
    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job)))
        ;
    else if (!file->xfer.transferred)
        hr = E_PENDING;             /* only a finished file can be judged */
    else
    {
        file->xfer.validation_state = !!state;
        if (!state)
        {
            /* Origin content judged bad: the file starts over, the job stops in ERROR. */
            file->xfer.bytes_transferred = 0;
            file->xfer.transferred = FALSE;
            range_list_clear(&file->xfer.filled);
            static const struct transfer_error failed = { BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_VALIDATION_FAILED, NULL };
            engine_fail_locked(&job->service->engine, &job->xfer, BG_JOB_STATE_ERROR, &failed, &file->xfer, &cleanup);
        }
        job_touch_locked(job);
    }
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    service_deliver_events(job->service);   /* JobError, if it failed the job */
    return hr;
}

static HRESULT WINAPI file_GetValidationState(IBackgroundCopyFile6 *iface, BOOL *state)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %p.\n", iface, state);
    if (!state) return E_INVALIDARG;
    service_lock(file->job->service);
    *state = file->xfer.validation_state;
    service_unlock(file->job->service);
    return S_OK;
}

static HRESULT WINAPI file_IsDownloadedFromPeer(IBackgroundCopyFile6 *iface, BOOL *peer)
{
    TRACE("%p, %p.\n", iface, peer);
    if (!peer) return E_INVALIDARG;
    *peer = FALSE;                  /* peer caching is off: every byte comes from the origin */
    return S_OK;
}

static HRESULT WINAPI file_GetPeerDownloadStats(IBackgroundCopyFile6 *iface, PUINT64 origin, PUINT64 peers)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);

    TRACE("%p, %p, %p.\n", iface, origin, peers);
    if (!origin || !peers) return E_INVALIDARG;
    service_lock(file->job->service);
    *origin = file->xfer.bytes_transferred;
    service_unlock(file->job->service);
    *peers = 0;
    return S_OK;
}

static HRESULT WINAPI file_SetProperty(IBackgroundCopyFile6 *iface, BITS_FILE_PROPERTY_ID id,
                                       BITS_FILE_PROPERTY_VALUE value)
{
    TRACE("%p, %d.\n", iface, id);
    /* The response headers are the server's; nothing else is defined (unconfirmed codes). */
    if (id == BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS) return BG_E_READ_ONLY_PROPERTY;
    return BG_E_UNKNOWN_PROPERTY_ID;
}

static HRESULT WINAPI file_GetProperty(IBackgroundCopyFile6 *iface, BITS_FILE_PROPERTY_ID id,
                                       BITS_FILE_PROPERTY_VALUE *value)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    WCHAR *headers;
    HRESULT hr;

    TRACE("%p, %d, %p.\n", iface, id, value);
    if (!value) return E_INVALIDARG;
    value->String = NULL;
    if (id != BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS) return BG_E_UNKNOWN_PROPERTY_ID;
    /* Before any response: L"", which clients print without a NULL check (unconfirmed). */
    service_lock(file->job->service);
    hr = job_copy_string(file->xfer.response_headers ? file->xfer.response_headers : L"", &headers);
    service_unlock(file->job->service);
    if (FAILED(hr)) return hr;
    hr = return_string(headers, &value->String);
    free(headers);
    return hr;
}

/* Requires: service lock. File6's random access needs an on-demand download job without
 * dynamic content, an HTTP(S) file not added with ranges, and a server that serves ranges. */
static HRESULT check_on_demand_locked(struct job_file *file)
{
    struct job *job = file->job;

    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD || !job->xfer.on_demand || job->xfer.dynamic_content
        || !kind_allows_ranges(file->xfer.kind) || file->xfer.range_count || file->xfer.no_range_support)
        return BG_E_RANDOM_ACCESS_NOT_SUPPORTED;
    return S_OK;
}

static HRESULT WINAPI file_UpdateDownloadPosition(IBackgroundCopyFile6 *iface, UINT64 offset)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct job *job = file->job;
    HRESULT hr;

    TRACE("%p, %#llx.\n", iface, (unsigned long long)offset);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)) && SUCCEEDED(hr = check_on_demand_locked(file)))
    {
        if (file->xfer.bytes_total != BG_SIZE_UNKNOWN && offset >= file->xfer.bytes_total)
            hr = BG_E_INVALID_RANGE;
        else
            file->xfer.download_position = offset;
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI file_RequestFileRanges(IBackgroundCopyFile6 *iface, DWORD count, const BG_FILE_RANGE *ranges)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct engine_cleanup cleanup = { 0 };
    struct job *job = file->job;
    struct range_list merged;
    HRESULT hr;
    DWORD i;

    TRACE("%p, %lu, %p.\n", iface, count, ranges);
    if (!count || !ranges) return E_INVALIDARG;
    for (i = 0; i < count; ++i)
        if (!ranges[i].Length) return E_INVALIDARG;

    range_list_init(&merged);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)) && SUCCEEDED(hr = check_on_demand_locked(file)))
    {
        UINT64 size = file->xfer.bytes_total;

        /* Requests may overlap earlier ones; they are merged into one set (all or nothing). */
        hr = range_list_copy(&merged, &file->xfer.requested);
        /* The ranges themselves are judged last (docs/conformance.md, File6 argument order). */
        for (i = 0; SUCCEEDED(hr) && i < count; ++i)
        {
            if (ranges[i].InitialOffset == BG_LENGTH_TO_EOF
                || (ranges[i].Length != BG_LENGTH_TO_EOF && ranges[i].Length > BG_LENGTH_TO_EOF - ranges[i].InitialOffset))
                hr = BG_E_INVALID_RANGE;
            else if (size != BG_SIZE_UNKNOWN && (ranges[i].InitialOffset >= size
                || (ranges[i].Length != BG_LENGTH_TO_EOF && ranges[i].Length > size - ranges[i].InitialOffset)))
                hr = BG_E_INVALID_RANGE;
            else
                hr = range_list_add(&merged, ranges[i].InitialOffset, ranges[i].Length);
        }
        /* Bytes fetched before the first request count as filled from the start of the file. */
        if (SUCCEEDED(hr) && !file->xfer.filled.count && file->xfer.bytes_transferred)
            hr = range_list_add(&file->xfer.filled, 0, file->xfer.bytes_transferred);
        if (SUCCEEDED(hr))
        {
            struct range_list old = file->xfer.requested;
            if (size != BG_SIZE_UNKNOWN) range_list_clip(&merged, size);
            file->xfer.requested = merged;
            merged = old;
            /* A transfer in flight goes on from the requests now. */
            engine_void_locked(&job->service->engine, &job->xfer, &cleanup);
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    if (SUCCEEDED(hr)) service_wake(job->service, FALSE);
    range_list_clear(&merged);
    return hr;
}

static HRESULT WINAPI file_GetFilledFileRanges(IBackgroundCopyFile6 *iface, DWORD *count, BG_FILE_RANGE **ranges)
{
    struct job_file *file = impl_from_IBackgroundCopyFile6(iface);
    struct job *job = file->job;
    HRESULT hr;

    TRACE("%p, %p, %p.\n", iface, count, ranges);
    if (!count || !ranges) return E_INVALIDARG;
    *count = 0;
    *ranges = NULL;
    service_lock(job->service);
    if (SUCCEEDED(hr = check_on_demand_locked(file)) && file->xfer.filled.count)
    {
        /* Memory of our own allocator, no callout: fine under the lock. */
        if (!(*ranges = CoTaskMemAlloc(file->xfer.filled.count * sizeof(**ranges))))
            hr = E_OUTOFMEMORY;
        else
        {
            range_list_export(&file->xfer.filled, *ranges);
            *count = file->xfer.filled.count;
        }
    }
    service_unlock(job->service);
    return hr;
}

static const IBackgroundCopyFile6Vtbl file_vtbl =
{
    file_QueryInterface,
    file_AddRef,
    file_Release,
    file_GetRemoteName,
    file_GetLocalName,
    file_GetProgress,
    file_GetFileRanges,
    file_SetRemoteName,
    file_GetTemporaryName,
    file_SetValidationState,
    file_GetValidationState,
    file_IsDownloadedFromPeer,
    file_GetPeerDownloadStats,
    file_SetProperty,
    file_GetProperty,
    file_UpdateDownloadPosition,
    file_RequestFileRanges,
    file_GetFilledFileRanges,
};
