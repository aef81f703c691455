/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyJob1 (BITS-SPEC.md §10.4): the group's job, one more interface of the job object
 * behind the group (group.h). Its files are the job's files, added with the job's own AddFileSet;
 * GetStatus reads the job's state word. */
#include <stdlib.h>

#include "group.h"
#include "job.h"

static inline struct job *job_of(IBackgroundCopyJob1 *iface)
{
    return impl_from_IBackgroundCopyJob1(iface)->job;
}

static HRESULT WINAPI job1_QueryInterface(IBackgroundCopyJob1 *iface, REFIID riid, void **out)
{
    return IBackgroundCopyJob5_QueryInterface(&job_of(iface)->IBackgroundCopyJob5_iface, riid, out);
}

static ULONG WINAPI job1_AddRef(IBackgroundCopyJob1 *iface)
{
    return IBackgroundCopyJob5_AddRef(&job_of(iface)->IBackgroundCopyJob5_iface);
}

static ULONG WINAPI job1_Release(IBackgroundCopyJob1 *iface)
{
    return IBackgroundCopyJob5_Release(&job_of(iface)->IBackgroundCopyJob5_iface);
}

/* Documented as not implemented: CancelGroup cancels. */
static HRESULT WINAPI job1_CancelJob(IBackgroundCopyJob1 *iface)
{
    TRACE("%p.\n", iface);
    return E_NOTIMPL;
}

static HRESULT WINAPI job1_GetProgress(IBackgroundCopyJob1 *iface, DWORD flags, DWORD *progress)
{
    struct job *job = job_of(iface);
    DWORD result;
    HRESULT hr;

    TRACE("%p, %#lx, %p.\n", iface, flags, progress);
    if (!progress) return E_INVALIDARG;
    service_lock(job->service);
    hr = group_progress_locked(job, flags, &result);
    service_unlock(job->service);
    if (SUCCEEDED(hr)) *progress = result;
    return hr;
}

/* The job's state word, read under the service lock, which no transfer holds while it waits for
 * the network or the disk: it never waits for one. */
static HRESULT WINAPI job1_GetStatus(IBackgroundCopyJob1 *iface, DWORD *status, DWORD *win32,
                                     DWORD *transport, DWORD *retries)
{
    struct job *job = job_of(iface);

    TRACE("%p, %p, %p, %p, %p.\n", iface, status, win32, transport, retries);
    if (!status || !win32 || !transport || !retries) return E_INVALIDARG;
    service_lock(job->service);
    group_job_status_locked(job, status, win32, transport, retries);
    service_unlock(job->service);
    return S_OK;
}

/* `files` is an array of `count` pointers, as the IDL's size_is on FILESETINFO ** says (and as
 * the proxies of the real service marshal it). The names follow AddFileSet's rules, all or
 * nothing, and are http:// or https:// only: BITS 1.x has no other protocol
 * (GROUPPROP_PROTOCOLFLAGS is QM_PROTOCOL_HTTP). */
static HRESULT WINAPI job1_AddFiles(IBackgroundCopyJob1 *iface, ULONG count, FILESETINFO **files)
{
    struct job *job = job_of(iface);
    enum remote_kind kind;
    BG_FILE_INFO *infos;
    HRESULT hr = S_OK;
    ULONG i;

    TRACE("%p, %lu, %p.\n", iface, count, files);
    if (!count) return S_OK;              /* nothing to add, as AddFileSet */
    if (!files) return E_INVALIDARG;
    if (!(infos = calloc(count, sizeof(*infos)))) return E_OUTOFMEMORY;
    for (i = 0; SUCCEEDED(hr) && i < count; ++i)
    {
        if (!files[i] || !files[i]->bstrRemoteFile || FAILED(validate_remote_name(files[i]->bstrRemoteFile, &kind))
            || (kind != REMOTE_HTTP && kind != REMOTE_HTTPS))
            hr = E_INVALIDARG;
        else
        {
            infos[i].RemoteName = files[i]->bstrRemoteFile;
            infos[i].LocalName = files[i]->bstrLocalFile;     /* dwSizeHint: ignored, as by BITS */
        }
    }
    if (SUCCEEDED(hr)) hr = group_result(job_AddFileSet(&job->IBackgroundCopyJob5_iface, count, infos));
    free(infos);
    return hr;
}

/* The names as BSTRs (the caller frees them with SysFreeString); dwSizeHint 0. */
static HRESULT WINAPI job1_GetFile(IBackgroundCopyJob1 *iface, ULONG index, FILESETINFO *info)
{
    struct job *job = job_of(iface);
    WCHAR *remote = NULL, *local = NULL;
    HRESULT hr = S_OK;

    TRACE("%p, %lu, %p.\n", iface, index, info);
    if (!info) return E_INVALIDARG;
    memset(info, 0, sizeof(*info));
    service_lock(job->service);
    if (index >= job->xfer.file_count)
        hr = (HRESULT)QM_E_ITEM_NOT_FOUND;
    else if (SUCCEEDED(hr = job_copy_string(job->xfer.files[index]->remote_name, &remote)))
        hr = job_copy_string(job->xfer.files[index]->local_name, &local);
    service_unlock(job->service);
    if (SUCCEEDED(hr) && (!(info->bstrRemoteFile = SysAllocString(remote))
                          || !(info->bstrLocalFile = SysAllocString(local))))
    {
        SysFreeString(info->bstrRemoteFile);
        info->bstrRemoteFile = NULL;
        hr = E_OUTOFMEMORY;
    }
    free(remote);
    free(local);
    return hr;
}

static HRESULT WINAPI job1_GetFileCount(IBackgroundCopyJob1 *iface, DWORD *count)
{
    struct job *job = job_of(iface);

    TRACE("%p, %p.\n", iface, count);
    if (!count) return E_INVALIDARG;
    service_lock(job->service);
    *count = job->xfer.file_count;
    service_unlock(job->service);
    return S_OK;
}

/* Documented as not implemented: the group's SwitchToForeground is the one that works. */
static HRESULT WINAPI job1_SwitchToForeground(IBackgroundCopyJob1 *iface)
{
    TRACE("%p.\n", iface);
    return E_NOTIMPL;
}

static HRESULT WINAPI job1_get_JobID(IBackgroundCopyJob1 *iface, GUID *id)
{
    struct group *group = impl_from_IBackgroundCopyJob1(iface);

    TRACE("%p, %p.\n", iface, id);
    if (!id) return E_INVALIDARG;
    service_lock(group->job->service);
    *id = group->job_id;
    service_unlock(group->job->service);
    return S_OK;
}

const IBackgroundCopyJob1Vtbl group_job1_vtbl =
{
    job1_QueryInterface,
    job1_AddRef,
    job1_Release,
    job1_CancelJob,
    job1_GetProgress,
    job1_GetStatus,
    job1_AddFiles,
    job1_GetFile,
    job1_GetFileCount,
    job1_SwitchToForeground,
    job1_get_JobID,
};
