/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "job.h"
#include "core/job_state.h"

static const IBackgroundCopyJob5Vtbl job_vtbl;

static inline struct job *impl_from_IBackgroundCopyJob5(IBackgroundCopyJob5 *iface)
{
    return CONTAINING_RECORD(iface, struct job, IBackgroundCopyJob5_iface);
}

static const struct qi_entry job_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyJob5, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob4, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob3, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob2, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob,  struct job, IBackgroundCopyJob5_iface),
    QI_END
};

/* Methods the object-model issue has not brought yet answer E_NOTIMPL rather than pretend. */
static HRESULT not_yet(const char *method)
{
    WARN("%s is not implemented yet.\n", method);
    return E_NOTIMPL;
}

static void job_destroy(struct job *job)
{
    if (job->marshal) IUnknown_Release(job->marshal);
    free(job->display_name);
    if (job->service) service_put(job->service);
    free(job);
    module_unlock();
}

static void job_hold(struct job *job)
{
    InterlockedIncrement(&job->holds);
}

static void job_unhold(struct job *job)
{
    if (!InterlockedDecrement(&job->holds)) job_destroy(job);
}

static HRESULT WINAPI job_QueryInterface(IBackgroundCopyJob5 *iface, REFIID riid, void **out)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(job, job_qi, job->marshal, riid, out);
}

static ULONG WINAPI job_AddRef(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    ULONG refcount = InterlockedIncrement(&job->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (refcount == 1) job_hold(job);
    return refcount;
}

static ULONG WINAPI job_Release(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    ULONG refcount = InterlockedDecrement(&job->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) job_unhold(job);
    return refcount;
}

IBackgroundCopyJob *job_from_entry_locked(struct queue_entry *entry)
{
    struct job *job = CONTAINING_RECORD(entry, struct job, entry);

    job_AddRef(&job->IBackgroundCopyJob5_iface);
    return (IBackgroundCopyJob *)&job->IBackgroundCopyJob5_iface;
}

/* Requires: service lock. */
static void job_touch_locked(struct job *job)
{
    GetSystemTimeAsFileTime(&job->modification_time);
}

/* Requires: service lock. Moves a job to a final state and out of the queue; the caller
 * drops the queue's hold after unlocking. */
static HRESULT job_finish_locked(struct job *job, BG_JOB_STATE final)
{
    HRESULT hr;

    if (FAILED(hr = job_state_transition(&job->state, final))) return hr;
    queue_remove(&job->service->jobs, &job->entry);
    job_touch_locked(job);
    return S_OK;
}

static HRESULT WINAPI job_AddFileSet(IBackgroundCopyJob5 *iface, ULONG count, BG_FILE_INFO *files)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_AddFile(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_EnumFiles(IBackgroundCopyJob5 *iface, IEnumBackgroundCopyFiles **out)
{
    if (out) *out = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_Suspend(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr = S_OK;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (job_state_is_final(job->state))
        hr = BG_E_INVALID_STATE;
    else if (job->state != BG_JOB_STATE_SUSPENDED)
    {
        job_state_transition(&job->state, BG_JOB_STATE_SUSPENDED);
        job_touch_locked(job);
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_Resume(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    /* Files arrive with the object-model issue; until then every job is empty. */
    hr = job_state_is_final(job->state) ? BG_E_INVALID_STATE : BG_E_EMPTY;
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_Cancel(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    hr = job_finish_locked(job, BG_JOB_STATE_CANCELLED);
    service_unlock(job->service);
    if (SUCCEEDED(hr)) job_unhold(job);     /* the queue's hold; never the last one here */
    return hr;
}

static HRESULT WINAPI job_Complete(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    /* Uploads complete only once transferred; downloads in any non-final state. */
    if (job->type != BG_JOB_TYPE_DOWNLOAD && job->state != BG_JOB_STATE_TRANSFERRED)
        hr = BG_E_INVALID_STATE;
    else
        hr = job_finish_locked(job, BG_JOB_STATE_ACKNOWLEDGED);
    service_unlock(job->service);
    if (SUCCEEDED(hr)) job_unhold(job);
    return hr;
}

static HRESULT WINAPI job_GetId(IBackgroundCopyJob5 *iface, GUID *id)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, id);
    if (!id) return E_INVALIDARG;
    *id = job->entry.id;
    return S_OK;
}

static HRESULT WINAPI job_GetType(IBackgroundCopyJob5 *iface, BG_JOB_TYPE *type)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, type);
    if (!type) return E_INVALIDARG;
    *type = job->type;
    return S_OK;
}

static HRESULT WINAPI job_GetProgress(IBackgroundCopyJob5 *iface, BG_JOB_PROGRESS *progress)
{
    TRACE("%p, %p.\n", iface, progress);
    if (!progress) return E_INVALIDARG;
    /* No files yet (see job_Resume): an empty job reports all zeros. */
    memset(progress, 0, sizeof(*progress));
    return S_OK;
}

static HRESULT WINAPI job_GetTimes(IBackgroundCopyJob5 *iface, BG_JOB_TIMES *times)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, times);
    if (!times) return E_INVALIDARG;
    service_lock(job->service);
    times->CreationTime = job->creation_time;
    times->ModificationTime = job->modification_time;
    memset(&times->TransferCompletionTime, 0, sizeof(times->TransferCompletionTime));
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_GetState(IBackgroundCopyJob5 *iface, BG_JOB_STATE *state)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, state);
    if (!state) return E_INVALIDARG;
    service_lock(job->service);
    *state = job->state;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_GetError(IBackgroundCopyJob5 *iface, IBackgroundCopyError **error)
{
    if (!error) return E_INVALIDARG;
    /* No transfer has run, so no job is in ERROR or TRANSIENT_ERROR. */
    *error = NULL;
    return BG_E_ERROR_INFORMATION_UNAVAILABLE;
}

static HRESULT WINAPI job_GetOwner(IBackgroundCopyJob5 *iface, LPWSTR *owner)
{
    if (owner) *owner = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetDisplayName(IBackgroundCopyJob5 *iface, LPCWSTR name)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetDisplayName(IBackgroundCopyJob5 *iface, LPWSTR *name)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *copy;
    HRESULT hr;

    TRACE("%p, %p.\n", iface, name);
    if (!name) return E_INVALIDARG;
    *name = NULL;
    service_lock(job->service);
    copy = _wcsdup(job->display_name);
    service_unlock(job->service);
    if (!copy) return E_OUTOFMEMORY;
    hr = return_string(copy, name);
    free(copy);
    return hr;
}

static HRESULT WINAPI job_SetDescription(IBackgroundCopyJob5 *iface, LPCWSTR description)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetDescription(IBackgroundCopyJob5 *iface, LPWSTR *description)
{
    if (description) *description = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetPriority(IBackgroundCopyJob5 *iface, BG_JOB_PRIORITY priority)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetPriority(IBackgroundCopyJob5 *iface, BG_JOB_PRIORITY *priority)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetNotifyFlags(IBackgroundCopyJob5 *iface, ULONG flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetNotifyFlags(IBackgroundCopyJob5 *iface, ULONG *flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetNotifyInterface(IBackgroundCopyJob5 *iface, IUnknown *callback)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetNotifyInterface(IBackgroundCopyJob5 *iface, IUnknown **callback)
{
    if (callback) *callback = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetMinimumRetryDelay(IBackgroundCopyJob5 *iface, ULONG seconds)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetMinimumRetryDelay(IBackgroundCopyJob5 *iface, ULONG *seconds)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetNoProgressTimeout(IBackgroundCopyJob5 *iface, ULONG seconds)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetNoProgressTimeout(IBackgroundCopyJob5 *iface, ULONG *seconds)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetErrorCount(IBackgroundCopyJob5 *iface, ULONG *errors)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetProxySettings(IBackgroundCopyJob5 *iface, BG_JOB_PROXY_USAGE usage,
                                           const WCHAR *list, const WCHAR *bypass)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetProxySettings(IBackgroundCopyJob5 *iface, BG_JOB_PROXY_USAGE *usage,
                                           LPWSTR *list, LPWSTR *bypass)
{
    if (list) *list = NULL;
    if (bypass) *bypass = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_TakeOwnership(IBackgroundCopyJob5 *iface)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetNotifyCmdLine(IBackgroundCopyJob5 *iface, LPCWSTR program, LPCWSTR parameters)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetNotifyCmdLine(IBackgroundCopyJob5 *iface, LPWSTR *program, LPWSTR *parameters)
{
    if (program) *program = NULL;
    if (parameters) *parameters = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetReplyProgress(IBackgroundCopyJob5 *iface, BG_JOB_REPLY_PROGRESS *progress)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetReplyData(IBackgroundCopyJob5 *iface, byte **buffer, UINT64 *length)
{
    if (buffer) *buffer = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetReplyFileName(IBackgroundCopyJob5 *iface, LPCWSTR filename)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetReplyFileName(IBackgroundCopyJob5 *iface, LPWSTR *filename)
{
    if (filename) *filename = NULL;
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetCredentials(IBackgroundCopyJob5 *iface, BG_AUTH_CREDENTIALS *credentials)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_RemoveCredentials(IBackgroundCopyJob5 *iface, BG_AUTH_TARGET target,
                                            BG_AUTH_SCHEME scheme)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_ReplaceRemotePrefix(IBackgroundCopyJob5 *iface, LPCWSTR old_prefix,
                                              LPCWSTR new_prefix)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_AddFileWithRanges(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local,
                                            DWORD count, BG_FILE_RANGE ranges[])
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetFileACLFlags(IBackgroundCopyJob5 *iface, DWORD flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetFileACLFlags(IBackgroundCopyJob5 *iface, DWORD *flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetPeerCachingFlags(IBackgroundCopyJob5 *iface, DWORD flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetPeerCachingFlags(IBackgroundCopyJob5 *iface, DWORD *flags)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetOwnerIntegrityLevel(IBackgroundCopyJob5 *iface, ULONG *level)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetOwnerElevationState(IBackgroundCopyJob5 *iface, BOOL *elevated)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetMaximumDownloadTime(IBackgroundCopyJob5 *iface, ULONG timeout)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetMaximumDownloadTime(IBackgroundCopyJob5 *iface, ULONG *timeout)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_SetProperty(IBackgroundCopyJob5 *iface, BITS_JOB_PROPERTY_ID id,
                                      BITS_JOB_PROPERTY_VALUE value)
{
    return not_yet(__func__);
}

static HRESULT WINAPI job_GetProperty(IBackgroundCopyJob5 *iface, BITS_JOB_PROPERTY_ID id,
                                      BITS_JOB_PROPERTY_VALUE *value)
{
    return not_yet(__func__);
}

static const IBackgroundCopyJob5Vtbl job_vtbl =
{
    job_QueryInterface,
    job_AddRef,
    job_Release,
    job_AddFileSet,
    job_AddFile,
    job_EnumFiles,
    job_Suspend,
    job_Resume,
    job_Cancel,
    job_Complete,
    job_GetId,
    job_GetType,
    job_GetProgress,
    job_GetTimes,
    job_GetState,
    job_GetError,
    job_GetOwner,
    job_SetDisplayName,
    job_GetDisplayName,
    job_SetDescription,
    job_GetDescription,
    job_SetPriority,
    job_GetPriority,
    job_SetNotifyFlags,
    job_GetNotifyFlags,
    job_SetNotifyInterface,
    job_GetNotifyInterface,
    job_SetMinimumRetryDelay,
    job_GetMinimumRetryDelay,
    job_SetNoProgressTimeout,
    job_GetNoProgressTimeout,
    job_GetErrorCount,
    job_SetProxySettings,
    job_GetProxySettings,
    job_TakeOwnership,
    job_SetNotifyCmdLine,
    job_GetNotifyCmdLine,
    job_GetReplyProgress,
    job_GetReplyData,
    job_SetReplyFileName,
    job_GetReplyFileName,
    job_SetCredentials,
    job_RemoveCredentials,
    job_ReplaceRemotePrefix,
    job_AddFileWithRanges,
    job_SetFileACLFlags,
    job_GetFileACLFlags,
    job_SetPeerCachingFlags,
    job_GetPeerCachingFlags,
    job_GetOwnerIntegrityLevel,
    job_GetOwnerElevationState,
    job_SetMaximumDownloadTime,
    job_GetMaximumDownloadTime,
    job_SetProperty,
    job_GetProperty,
};

HRESULT job_create(struct service *service, const WCHAR *display_name, BG_JOB_TYPE type,
                   GUID *id, IBackgroundCopyJob **out)
{
    struct job *job;
    HRESULT hr;

    *out = NULL;
    if (!(job = calloc(1, sizeof(*job)))) return E_OUTOFMEMORY;
    module_lock();
    job->IBackgroundCopyJob5_iface.lpVtbl = &job_vtbl;
    job->holds = 1;                              /* ours until the queue takes it below */
    job->type = type;
    job->state = BG_JOB_STATE_SUSPENDED;
    GetSystemTimeAsFileTime(&job->creation_time);
    job->modification_time = job->creation_time;

    if (!(job->display_name = _wcsdup(display_name)))
    {
        hr = E_OUTOFMEMORY;
        goto fail;
    }
    if (FAILED(hr = CoCreateGuid(&job->entry.id))) goto fail;
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&job->IBackgroundCopyJob5_iface,
                                                  &job->marshal)))
        goto fail;

    service_addref(service);                     /* counted reference, taken last */
    job->service = service;

    service_lock(service);
    hr = queue_insert(&service->jobs, &job->entry);
    service_unlock(service);
    if (FAILED(hr)) goto fail;

    /* The initial hold now belongs to the queue; the client gets the COM reference. */
    *id = job->entry.id;
    job_AddRef(&job->IBackgroundCopyJob5_iface);
    *out = (IBackgroundCopyJob *)&job->IBackgroundCopyJob5_iface;
    return S_OK;

fail:
    job_destroy(job);
    return hr;
}
