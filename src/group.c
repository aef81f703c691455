/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyGroup (BITS-SPEC.md §10.3): the BITS 1.x face of a download job (group.h), the
 * state words of the group and its job, and the IBackgroundCopyCallback1 notification (§10.5).
 *
 * Every method works on the job underneath through the job's own functions (src/job.h), with
 * the job's lock shape: validate and copy without the lock, check the state and change under
 * it, call out after it. A group in a final state (CancelGroup) answers QM_E_INVALID_STATE to
 * whatever would change it; its getters keep working, as a job's do. */
#include <stdlib.h>

#include "engine_host.h"
#include "group.h"
#include "job.h"
#include "notify.h"
#include "objects.h"
#include "core/job_state.h"

#define MAX_DISPLAY_NAME 256
#define MAX_DESCRIPTION  1024
#define NO_FILE_INDEX    0xffffffff
/* GROUPPROP_NOTIFYFLAGS that BITS supports; FILE_DONE, JOB_DONE and USE_PROGRESSEX it does not. */
#define SUPPORTED_NOTIFY_FLAGS (QM_NOTIFY_GROUP_DONE | QM_NOTIFY_DISABLE_NOTIFY)

static inline IBackgroundCopyJob5 *job5_of(struct group *group)
{
    return &group->job->IBackgroundCopyJob5_iface;
}

HRESULT group_result(HRESULT hr)
{
    return hr == (HRESULT)BG_E_INVALID_STATE ? (HRESULT)QM_E_INVALID_STATE : hr;
}

/* --- state words ------------------------------------------------------------------------------- */

/* Requires: service lock. The group is done when its files are all where the client asked for
 * them: the job TRANSFERRED (or cancelled afterwards) with every file available, or completed
 * through the job's own Complete. */
static BOOL group_done_locked(struct job *job)
{
    ULONG i;

    if (job->xfer.state == BG_JOB_STATE_ACKNOWLEDGED) return TRUE;
    if (job->xfer.state != BG_JOB_STATE_TRANSFERRED && job->xfer.state != BG_JOB_STATE_CANCELLED) return FALSE;
    for (i = 0; i < job->xfer.file_count; ++i)
        if (!job->xfer.files[i]->completed) return FALSE;
    return job->xfer.file_count != 0;
}

/* New groups, groups in error and finished groups are suspended (§10.3): they wait for the
 * client. A group that is transferring is INCOMPLETE, and so is one whose files are all there
 * but not yet renamed into place. */
DWORD group_status_locked(struct job *job)
{
    DWORD status;

    if (job->xfer.state == BG_JOB_STATE_ERROR)
        status = QM_STATUS_GROUP_ERROR | QM_STATUS_GROUP_SUSPENDED;
    else if (group_done_locked(job))
        status = QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED;
    else if (job->xfer.state == BG_JOB_STATE_SUSPENDED || job_state_is_final(job->xfer.state))
        status = QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED;
    else
        status = QM_STATUS_GROUP_INCOMPLETE;
    if (job->xfer.priority == BG_JOB_PRIORITY_FOREGROUND) status |= QM_STATUS_GROUP_FOREGROUND;
    return status;
}

/* The Win32 and transport results of an error. BITS 1.x names them without saying how an
 * HRESULT maps (unconfirmed): a Win32 error gives its code; an HTTP status error
 * (BG_E_HTTP_ERROR_nnn, 0x80190000 + status) gives the status as the transport result; any
 * HRESULT that is not a Win32 error is the Win32 result as it is, so nothing is lost. */
static void error_results(HRESULT code, DWORD *win32, DWORD *transport)
{
    *win32 = HRESULT_FACILITY(code) == FACILITY_WIN32 ? (DWORD)HRESULT_CODE(code) : (DWORD)code;
    *transport = ((DWORD)code & 0xffff0000) == 0x80190000 ? (DWORD)code & 0xffff : 0;
}

/* The job's word is one of three (§10.4); QM_STATUS_JOB_FOREGROUND is never set ("not
 * supported"). The retries are the job's error count (IBackgroundCopyJob::GetErrorCount). */
void group_job_status_locked(struct job *job, DWORD *status, DWORD *win32, DWORD *transport, DWORD *retries)
{
    *win32 = *transport = 0;
    *retries = job->xfer.error_count;
    if (job->xfer.state == BG_JOB_STATE_ERROR)
    {
        *status = QM_STATUS_JOB_ERROR;
        error_results(job->xfer.error.code, win32, transport);
    }
    else
        *status = group_done_locked(job) ? QM_STATUS_JOB_COMPLETE : QM_STATUS_JOB_INCOMPLETE;
}

HRESULT group_progress_locked(struct job *job, DWORD flags, DWORD *progress)
{
    UINT64 total = 0, done = 0;
    BOOL known = TRUE;
    ULONG i;

    for (i = 0; i < job->xfer.file_count; ++i)
    {
        const struct engine_file *file = job->xfer.files[i];
        done += file->bytes_transferred;
        if (file->bytes_total == BG_SIZE_UNKNOWN) known = FALSE;
        else total += file->bytes_total;
    }
    switch (flags)
    {
    case QM_PROGRESS_PERCENT_DONE:
        /* 0 while a size is unknown (unconfirmed), 100 once done. */
        if (group_done_locked(job)) *progress = 100;
        else if (!known || !total) *progress = 0;
        else *progress = (DWORD)min(total > (1ull << 56) ? done / (total / 100) : done * 100 / total, 100);
        return S_OK;
    case QM_PROGRESS_SIZE_DONE:
        *progress = (DWORD)min(done, MAXDWORD);
        return S_OK;
    case QM_PROGRESS_TIME_DONE:     /* documented as not supported */
    default:                        /* an unknown value, as BITS answers for invalid enums */
        return E_NOTIMPL;
    }
}

/* --- the record -------------------------------------------------------------------------------- */

static const IBackgroundCopyGroupVtbl group_vtbl;

struct group *group_alloc(void)
{
    struct group *group;

    if (!(group = calloc(1, sizeof(*group)))) return NULL;
    group->IBackgroundCopyGroup_iface.lpVtbl = &group_vtbl;
    group->IBackgroundCopyJob1_iface.lpVtbl = &group_job1_vtbl;
    return group;
}

void group_free(struct group *group)
{
    free(group);
}

BOOL group_query_interface(struct group *group, REFIID riid, void **out)
{
    BOOL has_job;

    if (IsEqualIID(riid, &IID_IBackgroundCopyGroup))
        *out = &group->IBackgroundCopyGroup_iface;
    else if (IsEqualIID(riid, &IID_IBackgroundCopyJob1))
    {
        service_lock(group->job->service);
        has_job = group->has_job;
        service_unlock(group->job->service);
        if (!has_job) return FALSE;
        *out = &group->IBackgroundCopyJob1_iface;
    }
    else
        return FALSE;
    IUnknown_AddRef((IUnknown *)*out);
    return TRUE;
}

BOOL group_notifies_locked(struct group *group)
{
    return group->notify_cookie || !IsEqualGUID(&group->notify_clsid, &GUID_NULL);
}

/* --- IBackgroundCopyGroup ------------------------------------------------------------------------ */

static HRESULT WINAPI group_QueryInterface(IBackgroundCopyGroup *iface, REFIID riid, void **out)
{
    return IBackgroundCopyJob5_QueryInterface(job5_of(impl_from_IBackgroundCopyGroup(iface)), riid, out);
}

static ULONG WINAPI group_AddRef(IBackgroundCopyGroup *iface)
{
    return IBackgroundCopyJob5_AddRef(job5_of(impl_from_IBackgroundCopyGroup(iface)));
}

static ULONG WINAPI group_Release(IBackgroundCopyGroup *iface)
{
    return IBackgroundCopyJob5_Release(job5_of(impl_from_IBackgroundCopyGroup(iface)));
}

/* The integer GROUPPROPs take any of these VARIANT types (§10.3); others are E_INVALIDARG. */
static HRESULT variant_dword(const VARIANT *value, DWORD *out)
{
    switch (V_VT(value))
    {
    case VT_I4:   *out = (DWORD)V_I4(value); return S_OK;
    case VT_UI4:  *out = V_UI4(value); return S_OK;
    case VT_I2:   *out = (DWORD)(LONG)V_I2(value); return S_OK;
    case VT_UI2:  *out = V_UI2(value); return S_OK;
    case VT_INT:  *out = (DWORD)V_INT(value); return S_OK;
    case VT_UINT: *out = V_UINT(value); return S_OK;
    default:      return E_INVALIDARG;
    }
}

/* Requires: service lock. A property of a group in a final state does not change. */
static HRESULT group_check_modifiable_locked(struct group *group)
{
    return group_result(job_check_modifiable_locked(group->job));
}

static HRESULT group_set_notify_flags(struct group *group, DWORD flags)
{
    HRESULT hr;

    /* Unsupported and unknown flags alike: E_NOTIMPL, as BITS answers for values it does not
     * take (§11a.1). */
    if (flags & ~SUPPORTED_NOTIFY_FLAGS) return E_NOTIMPL;
    service_lock(group->job->service);
    if (SUCCEEDED(hr = group_check_modifiable_locked(group)))
    {
        group->notify_flags = flags;
        job_touch_locked(group->job);
    }
    service_unlock(group->job->service);
    return hr;
}

/* GROUPPROP_NOTIFYCLSID: the CLSID as a string ("{...}"); an empty (or NULL) string clears it,
 * as GUID_NULL does (unconfirmed). The object is made when there is something to tell, not
 * now: the client may register its class after setting the property. */
static HRESULT group_set_notify_clsid(struct group *group, const WCHAR *text)
{
    CLSID clsid = GUID_NULL;
    HRESULT hr;

    if (text && *text && (wcslen(text) != 38 || FAILED(IIDFromString(text, &clsid)))) return E_INVALIDARG;
    service_lock(group->job->service);
    if (SUCCEEDED(hr = group_check_modifiable_locked(group)))
    {
        group->notify_clsid = clsid;
        job_touch_locked(group->job);
    }
    service_unlock(group->job->service);
    return hr;
}

/* GROUPPROP_DISPLAYNAME and _DESCRIPTION are the job's own display name and description. Too
 * long: E_INVALIDARG (unconfirmed: BITS 1.x knows no BG_E_STRING_TOO_LONG). */
static HRESULT group_set_string(struct group *group, WCHAR **field, const WCHAR *text, size_t max)
{
    WCHAR *copy;
    HRESULT hr;

    if (!text) text = L"";
    if (wcsnlen(text, max + 1) > max) return E_INVALIDARG;
    if (FAILED(hr = job_copy_string(text, &copy))) return hr;
    hr = group_result(job_swap_string(group->job, field, &copy));
    free(copy);
    return hr;
}

static HRESULT WINAPI group_SetProp(IBackgroundCopyGroup *iface, GROUPPROP id, VARIANT *value)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    DWORD number = 0;
    HRESULT hr;

    TRACE("%p, %d, %p.\n", iface, id, value);
    if (!value) return E_INVALIDARG;
    switch (id)
    {
    case GROUPPROP_PRIORITY:
    case GROUPPROP_PROTOCOLFLAGS:
        /* Only priority 1 and QM_PROTOCOL_HTTP exist; other values are not supported. */
        if (FAILED(hr = variant_dword(value, &number))) return hr;
        if (number != (id == GROUPPROP_PRIORITY ? 1 : QM_PROTOCOL_HTTP)) return E_NOTIMPL;
        service_lock(job->service);
        hr = group_check_modifiable_locked(group);
        service_unlock(job->service);
        return hr;
    case GROUPPROP_NOTIFYFLAGS:
        if (FAILED(hr = variant_dword(value, &number))) return hr;
        return group_set_notify_flags(group, number);
    case GROUPPROP_NOTIFYCLSID:
        if (V_VT(value) != VT_BSTR) return E_INVALIDARG;
        return group_set_notify_clsid(group, V_BSTR(value));
    case GROUPPROP_DISPLAYNAME:
        if (V_VT(value) != VT_BSTR) return E_INVALIDARG;
        return group_set_string(group, &job->display_name, V_BSTR(value), MAX_DISPLAY_NAME);
    case GROUPPROP_DESCRIPTION:
        if (V_VT(value) != VT_BSTR) return E_INVALIDARG;
        return group_set_string(group, &job->description, V_BSTR(value), MAX_DESCRIPTION);
    default:
        /* The credentials and progress properties are not supported (§10.3); an unknown id is
         * an invalid enum value (E_NOTIMPL too, §11a.1). */
        return E_NOTIMPL;
    }
}

/* A string property as a BSTR; NULL reads as empty. */
static HRESULT group_get_string(struct job *job, WCHAR *const *field, VARIANT *value)
{
    WCHAR *copy;
    BSTR bstr;
    HRESULT hr;

    service_lock(job->service);
    hr = job_copy_string(*field ? *field : L"", &copy);
    service_unlock(job->service);
    if (FAILED(hr)) return hr;
    bstr = SysAllocString(copy);
    free(copy);
    if (!bstr) return E_OUTOFMEMORY;
    V_VT(value) = VT_BSTR;
    V_BSTR(value) = bstr;
    return S_OK;
}

static HRESULT WINAPI group_GetProp(IBackgroundCopyGroup *iface, GROUPPROP id, VARIANT *value)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    WCHAR text[39];
    CLSID clsid;

    TRACE("%p, %d, %p.\n", iface, id, value);
    if (!value) return E_INVALIDARG;
    VariantInit(value);
    switch (id)
    {
    case GROUPPROP_PRIORITY:
        V_VT(value) = VT_I4;
        V_I4(value) = 1;                  /* always 1 (§10.3) */
        return S_OK;
    case GROUPPROP_PROTOCOLFLAGS:
        V_VT(value) = VT_I4;
        V_I4(value) = QM_PROTOCOL_HTTP;
        return S_OK;
    case GROUPPROP_NOTIFYFLAGS:
        service_lock(job->service);
        V_I4(value) = (LONG)group->notify_flags;
        service_unlock(job->service);
        V_VT(value) = VT_I4;
        return S_OK;
    case GROUPPROP_NOTIFYCLSID:
        service_lock(job->service);
        clsid = group->notify_clsid;
        service_unlock(job->service);
        /* None set: an empty string (unconfirmed). */
        if (IsEqualGUID(&clsid, &GUID_NULL)) text[0] = 0;
        else StringFromGUID2(&clsid, text, ARRAY_SIZE(text));
        if (!(V_BSTR(value) = SysAllocString(text))) return E_OUTOFMEMORY;
        V_VT(value) = VT_BSTR;
        return S_OK;
    case GROUPPROP_DISPLAYNAME:
        return group_get_string(job, &job->display_name, value);
    case GROUPPROP_DESCRIPTION:
        return group_get_string(job, &job->description, value);
    default:
        return E_NOTIMPL;
    }
}

static HRESULT WINAPI group_GetProgress(IBackgroundCopyGroup *iface, DWORD flags, DWORD *progress)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    DWORD result;
    HRESULT hr;

    TRACE("%p, %#lx, %p.\n", iface, flags, progress);
    if (!progress) return E_INVALIDARG;
    service_lock(group->job->service);
    hr = group_progress_locked(group->job, flags, &result);
    service_unlock(group->job->service);
    if (SUCCEEDED(hr)) *progress = result;
    return hr;
}

/* Reads the job's state under the service lock, which no transfer holds while it waits for the
 * network or the disk: it never waits for one. */
static HRESULT WINAPI group_GetStatus(IBackgroundCopyGroup *iface, DWORD *status, DWORD *job_index)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);

    TRACE("%p, %p, %p.\n", iface, status, job_index);
    if (!status || !job_index) return E_INVALIDARG;
    service_lock(group->job->service);
    *status = group_status_locked(group->job);
    service_unlock(group->job->service);
    *job_index = 0;                       /* always 0: a group has one job */
    return S_OK;
}

static HRESULT WINAPI group_GetJob(IBackgroundCopyGroup *iface, GUID id, IBackgroundCopyJob1 **out)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(&id), out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    service_lock(group->job->service);
    if (group->has_job && IsEqualGUID(&id, &group->job_id))
    {
        IBackgroundCopyJob5_AddRef(job5_of(group));       /* ours: a counter, no callout */
        *out = &group->IBackgroundCopyJob1_iface;
    }
    service_unlock(group->job->service);
    return *out ? S_OK : (HRESULT)QM_E_ITEM_NOT_FOUND;
}

/* An active group stops; one in error or finished stays so (it is suspended already). */
static HRESULT WINAPI group_SuspendGroup(IBackgroundCopyGroup *iface)
{
    TRACE("%p.\n", iface);
    return group_result(job_suspend(impl_from_IBackgroundCopyGroup(iface)->job, TRUE));
}

/* The job's Resume: from SUSPENDED and from ERROR (retry now); a group without files answers
 * BG_E_EMPTY as the job does (unconfirmed). */
static HRESULT WINAPI group_ResumeGroup(IBackgroundCopyGroup *iface)
{
    TRACE("%p.\n", iface);
    return group_result(job_Resume(job5_of(impl_from_IBackgroundCopyGroup(iface))));
}

/* Unlike the job's Cancel, the files that had finished stay (§10.3): the transfer stops, they
 * are renamed into place, and the Cancel deletes what is left. A file that cannot be renamed
 * goes with the rest. */
static HRESULT WINAPI group_CancelGroup(IBackgroundCopyGroup *iface)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    if (FAILED(hr = job_suspend(group->job, TRUE))) return group_result(hr);
    job_deliver_files(group->job, FALSE);
    if (FAILED(hr = job_Cancel(job5_of(group)))) return group_result(hr);
    /* BG_S_UNABLE_TO_DELETE_FILES is the job's news; BITS 1.x documents S_OK. */
    return S_OK;
}

/* The total size of the files; 0 while any size is unknown. */
static HRESULT WINAPI group_get_Size(IBackgroundCopyGroup *iface, DWORD *size)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    UINT64 total = 0;
    ULONG i;

    TRACE("%p, %p.\n", iface, size);
    if (!size) return E_INVALIDARG;
    service_lock(job->service);
    for (i = 0; i < job->xfer.file_count && total != BG_SIZE_UNKNOWN; ++i)
        total = job->xfer.files[i]->bytes_total == BG_SIZE_UNKNOWN ? BG_SIZE_UNKNOWN
                                                                  : total + job->xfer.files[i]->bytes_total;
    service_unlock(job->service);
    *size = total == BG_SIZE_UNKNOWN ? 0 : (DWORD)min(total, MAXDWORD);
    return S_OK;
}

static HRESULT WINAPI group_get_GroupID(IBackgroundCopyGroup *iface, GUID *id)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);

    TRACE("%p, %p.\n", iface, id);
    if (!id) return E_INVALIDARG;
    *id = group->job->entry.id;           /* immutable */
    return S_OK;
}

/* Requires: service lock. */
static BOOL group_active_locked(struct job *job)
{
    switch (job->xfer.state)
    {
    case BG_JOB_STATE_QUEUED:
    case BG_JOB_STATE_CONNECTING:
    case BG_JOB_STATE_TRANSFERRING:
    case BG_JOB_STATE_TRANSIENT_ERROR:
        return TRUE;
    default:
        return FALSE;
    }
}

/* One job per group: a second one is E_NOTIMPL, and none can be made while the group
 * transfers (QM_E_INVALID_STATE). GUID_NULL is refused (unconfirmed): it names no job. */
static HRESULT WINAPI group_CreateJob(IBackgroundCopyGroup *iface, GUID id, IBackgroundCopyJob1 **out)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    HRESULT hr;

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(&id), out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (IsEqualGUID(&id, &GUID_NULL)) return E_INVALIDARG;
    service_lock(job->service);
    if (FAILED(hr = group_check_modifiable_locked(group)))
        ;
    else if (group_active_locked(job))
        hr = (HRESULT)QM_E_INVALID_STATE;
    else if (group->has_job)
        hr = E_NOTIMPL;
    else
    {
        group->has_job = TRUE;
        group->job_id = id;
        job_touch_locked(job);
        IBackgroundCopyJob5_AddRef(job5_of(group));       /* ours: a counter, no callout */
        *out = &group->IBackgroundCopyJob1_iface;
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI group_EnumJobs(IBackgroundCopyGroup *iface, DWORD flags, IEnumBackgroundCopyJobs1 **out)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    GUID *ids;
    ULONG count;

    TRACE("%p, %#lx, %p.\n", iface, flags, out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (flags) return E_NOTIMPL;          /* documented: flags must be 0 */
    if (!(ids = malloc(sizeof(*ids)))) return E_OUTOFMEMORY;
    service_lock(group->job->service);
    count = group->has_job ? 1 : 0;
    ids[0] = group->job_id;
    service_unlock(group->job->service);
    return enum_jobs1_create(ids, count, out);
}

static HRESULT WINAPI group_SwitchToForeground(IBackgroundCopyGroup *iface)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (SUCCEEDED(hr = group_check_modifiable_locked(group)))
    {
        job->xfer.priority = BG_JOB_PRIORITY_FOREGROUND;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    if (SUCCEEDED(hr)) service_wake(job->service, FALSE);     /* it may run at once now */
    return hr;
}

/* "Internal use" (§10.3, unconfirmed): the job behind the group, as any of its interfaces
 * (IBackgroundCopyJob .. Job5, HttpOptions, ...). */
static HRESULT WINAPI group_QueryNewJobInterface(IBackgroundCopyGroup *iface, REFIID iid, IUnknown **out)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(iid), out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (!iid) return E_INVALIDARG;
    return IBackgroundCopyJob5_QueryInterface(job5_of(group), iid, (void **)out);
}

/* "Internal use" (§10.3, unconfirmed): an IBackgroundCopyCallback1 object to notify instead of
 * making one of GROUPPROP_NOTIFYCLSID, kept in the GIT like the job's notify interface; NULL
 * clears it. Other interfaces: E_NOINTERFACE. */
static HRESULT WINAPI group_SetNotificationPointer(IBackgroundCopyGroup *iface, REFIID iid, IUnknown *callback)
{
    struct group *group = impl_from_IBackgroundCopyGroup(iface);
    struct job *job = group->job;
    DWORD cookie = 0;
    HRESULT hr;

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(iid), callback);
    if (!iid) return E_INVALIDARG;
    if (!IsEqualIID(iid, &IID_IBackgroundCopyCallback1)) return E_NOINTERFACE;
    /* Without the lock: both call the client's object. Kept as IUnknown, as the job's notify
     * interface is (notify.c), and asked for IBackgroundCopyCallback1 when there is news. */
    if (callback)
    {
        IBackgroundCopyCallback1 *callback1;
        if (FAILED(hr = IUnknown_QueryInterface(callback, &IID_IBackgroundCopyCallback1, (void **)&callback1)))
            return hr;
        IBackgroundCopyCallback1_Release(callback1);
        if (FAILED(hr = notify_register(callback, &IID_IUnknown, &cookie))) return hr;
    }

    service_lock(job->service);
    if (SUCCEEDED(hr = group_check_modifiable_locked(group)))
    {
        DWORD old = group->notify_cookie;
        group->notify_cookie = cookie;
        cookie = old;                     /* from here on: the cookie to revoke */
        job_touch_locked(job);
    }
    service_unlock(job->service);

    job_notify_revoke(job, cookie);
    return hr;
}

static const IBackgroundCopyGroupVtbl group_vtbl =
{
    group_QueryInterface,
    group_AddRef,
    group_Release,
    group_GetProp,
    group_SetProp,
    group_GetProgress,
    group_GetStatus,
    group_GetJob,
    group_SuspendGroup,
    group_ResumeGroup,
    group_CancelGroup,
    group_get_Size,
    group_get_GroupID,
    group_CreateJob,
    group_EnumJobs,
    group_SwitchToForeground,
    group_QueryNewJobInterface,
    group_SetNotificationPointer,
};

/* --- IBackgroundCopyCallback1 -------------------------------------------------------------------- */

/* What OnStatus is told (§10.5): the group's word; on error the job, the index of the file in
 * error (or -1), the retries and the results; on completion (QM_NOTIFY_GROUP_DONE) the job and
 * -1, the rest 0. The group and its job are passed as themselves, owned by us for the call. */
struct on_status
{
    BOOL due;
    BOOL has_job;
    DWORD file_index, status, retries, win32, transport;
    CLSID clsid;
};

/* Requires: service lock. */
static void on_status_locked(struct job *job, BOOL transferred, struct on_status *call)
{
    struct group *group = job->group;
    DWORD job_status;
    ULONG i;

    memset(call, 0, sizeof(*call));
    call->file_index = NO_FILE_INDEX;
    call->status = group_status_locked(job);
    call->has_job = group->has_job;
    call->clsid = group->notify_clsid;
    if (transferred)
        call->due = (call->status & QM_STATUS_GROUP_COMPLETE) && (group->notify_flags & QM_NOTIFY_GROUP_DONE);
    else if ((call->due = job->xfer.state == BG_JOB_STATE_ERROR))
    {
        group_job_status_locked(job, &job_status, &call->win32, &call->transport, &call->retries);
        for (i = 0; i < job->xfer.file_count; ++i)
            if (job->xfer.files[i] == job->xfer.error.file) call->file_index = i;
    }
    if (group->notify_flags & QM_NOTIFY_DISABLE_NOTIFY) call->due = FALSE;
}

DWORD group_deliver(struct service *service, struct service_event *event)
{
    struct job *job = event->job;
    struct group *group = job->group;
    BOOL transferred = event->kind == ENGINE_EVENT_JOB_TRANSFERRED;
    IBackgroundCopyCallback1 *callback = NULL;
    struct on_status call;
    BOOL still;
    HRESULT hr;

    /* Only while it is still true: a group resumed, cancelled or completed meanwhile has
     * nothing to report (a retry stops there too). */
    service_lock(service);
    still = job->xfer.state == (transferred ? BG_JOB_STATE_TRANSFERRED : BG_JOB_STATE_ERROR);
    service_unlock(service);
    if (!still) return 0;
    /* A group has no Complete: its files go into place as soon as they are all there. A rename
     * that fails puts the job in ERROR, which is an event of its own. */
    if (transferred && FAILED(job_deliver_files(job, TRUE))) return 0;

    service_lock(service);
    on_status_locked(job, transferred, &call);
    service_unlock(service);
    if (!call.due) return 0;

    /* SetNotificationPointer's object, else a new object of the CLSID, made on this thread
     * (a worker, in the MTA): a class the client registered in the MTA is found directly. One
     * registered from an STA (for CLSCTX_LOCAL_SERVER), like an STA client's pointer, is called
     * in its apartment through openbits' proxy of IBackgroundCopyCallback1 (src/proxy.c, registered
     * by regsvr32). */
    hr = job_notify_get_cookie(job, &group->notify_cookie, &IID_IBackgroundCopyCallback1, (void **)&callback);
    if (!callback && !IsEqualGUID(&call.clsid, &GUID_NULL))
        hr = CoCreateInstance(&call.clsid, NULL, CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER,
                              &IID_IBackgroundCopyCallback1, (void **)&callback);
    if (!callback)
    {
        /* Nobody to tell, or nobody reachable now: the latter is tried again later. */
        if (FAILED(hr)) WARN("group %p: no IBackgroundCopyCallback1: %#lx.\n", group, hr);
        return FAILED(hr) ? NOTIFY_RETRY_MS : 0;
    }
    hr = IBackgroundCopyCallback1_OnStatus(callback, &group->IBackgroundCopyGroup_iface,
                                           call.has_job ? &group->IBackgroundCopyJob1_iface : NULL,
                                           call.file_index, call.status, call.retries, call.win32, call.transport);
    IBackgroundCopyCallback1_Release(callback);
    if (hr == S_OK) return 0;
    /* Anything but S_OK: called again later (§10.5). */
    WARN("group %p: OnStatus answered %#lx.\n", group, hr);
    return NOTIFY_RETRY_MS;
}
