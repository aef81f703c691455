/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyJob .. IBackgroundCopyJob5 (BITS-SPEC.md §2.2–§2.6).
 *
 * Every method follows one shape: validate and copy the arguments without the lock, take the
 * service lock, check the state and swap the values in, release the lock, then free, revoke or
 * release what was swapped out. Nothing foreign is called under the lock. */
#include <stdlib.h>

#include "file.h"
#include "group.h"
#include "job.h"
#include "notify.h"
#include "owner.h"
#include "core/job_state.h"

#define MAX_DISPLAY_NAME      256
#define MAX_DESCRIPTION       1024
#define MAX_NOTIFY_PARAMETERS 4000
#define MAX_PROXY_LIST        32000   /* bitsmsg.h's text for BG_E_PROXY_LIST_TOO_LARGE */
#define MAX_USERNAME          300
#define MAX_PASSWORD          65536
#define MIN_RETRY_DELAY       5

#define DEFAULT_RETRY_DELAY        600
#define DEFAULT_NO_PROGRESS        1209600      /* 14 days */
#define DEFAULT_MAX_DOWNLOAD_TIME  7776000      /* 90 days */
#define DEFAULT_NOTIFY_FLAGS       (BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR)
#define VALID_NOTIFY_FLAGS         (BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR | BG_NOTIFY_DISABLE \
                                    | BG_NOTIFY_JOB_MODIFICATION | BG_NOTIFY_FILE_TRANSFERRED \
                                    | BG_NOTIFY_FILE_RANGES_TRANSFERRED)
#define VALID_PEER_FLAGS           (BG_JOB_ENABLE_PEERCACHING_CLIENT | BG_JOB_ENABLE_PEERCACHING_SERVER \
                                    | BG_JOB_DISABLE_BRANCH_CACHE)

static const struct qi_entry job_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyJob,  struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob2, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob3, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob4, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJob5, struct job, IBackgroundCopyJob5_iface),
    QI_ENTRY(IID_IBackgroundCopyJobHttpOptions,  struct job, IBackgroundCopyJobHttpOptions3_iface),
    QI_ENTRY(IID_IBackgroundCopyJobHttpOptions2, struct job, IBackgroundCopyJobHttpOptions3_iface),
    QI_ENTRY(IID_IBackgroundCopyJobHttpOptions3, struct job, IBackgroundCopyJobHttpOptions3_iface),
    QI_ENTRY(IID_IBitsTokenOptions, struct job, IBitsTokenOptions_iface),
    QI_END
};

HRESULT job_copy_string(const WCHAR *src, WCHAR **out)
{
    *out = NULL;
    if (src && !(*out = _wcsdup(src))) return E_OUTOFMEMORY;
    return S_OK;
}

void free_secret(WCHAR *secret)
{
    if (!secret) return;
    SecureZeroMemory(secret, wcslen(secret) * sizeof(WCHAR));
    free(secret);
}

static void credential_clear(struct job_credential *credential)
{
    free(credential->user);
    free_secret(credential->password);
    memset(credential, 0, sizeof(*credential));
}

static void job_destroy(struct job *job)
{
    DWORD notify_cookie = job->notify_cookie, certificate_cookie = job->certificate_callback_cookie;
    DWORD group_cookie = job->group ? job->group->notify_cookie : 0;
    unsigned int target, scheme;

    if (job->marshal) IUnknown_Release(job->marshal);
    free(job->display_name);
    free(job->description);
    free(job->notify_program);
    free(job->notify_parameters);
    free(job->proxy_list);
    free(job->proxy_bypass);
    free(job->owner);
    for (target = 0; target < JOB_AUTH_TARGETS; ++target)
        for (scheme = 0; scheme < JOB_AUTH_SCHEMES; ++scheme)
            credential_clear(&job->credentials[target][scheme]);
    job_options_free(job);
    job_files_free(job);
    group_free(job->group);
    if (job->service) service_put(job->service);
    free(job);
    module_unlock();
    /* The client's objects go last: once a client sees its callback released, the job is
     * gone (the worker that may run this holds the DLL; GIT calls need no object of ours). */
    notify_revoke(notify_cookie);
    notify_revoke(certificate_cookie);
    notify_revoke(group_cookie);
}

void job_hold(struct job *job)
{
    InterlockedIncrement(&job->holds);
}

void job_unhold(struct job *job)
{
    if (!InterlockedDecrement(&job->holds)) job_destroy(job);
}

BOOL job_unhold_locked(struct job *job)
{
    return !InterlockedDecrement(&job->holds);
}

void job_free(struct job *job)
{
    job_destroy(job);
}

static HRESULT WINAPI job_QueryInterface(IBackgroundCopyJob5 *iface, REFIID riid, void **out)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    /* A group's job is also the group and (once CreateJob made it) its IBackgroundCopyJob1. */
    if (job->group && out && group_query_interface(job->group, riid, out)) return S_OK;
    return qi_lookup(job, job_qi, &job->marshal, riid, out);
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

void job_touch_locked(struct job *job)
{
    GetSystemTimeAsFileTime(&job->xfer.modification_time);
}

/* Requires: service lock. BG_E_INVALID_STATE for a job in a final state. A Complete renaming
 * the job's files (outside the lock) is waited for first: the caller then sees the job as
 * Complete leaves it, ACKNOWLEDGED or (when a rename failed) where it was. */
HRESULT job_check_modifiable_locked(struct job *job)
{
    while (job->finishing) SleepConditionVariableSRW(&job->service->idle, &job->service->lock, INFINITE, 0);
    return job_state_is_final(job->xfer.state) ? BG_E_INVALID_STATE : S_OK;
}

HRESULT job_finish_locked(struct job *job, BG_JOB_STATE final)
{
    HRESULT hr;

    if (FAILED(hr = job_state_transition(&job->xfer.state, final))) return hr;
    queue_remove(&job->service->jobs, &job->entry);
    job_touch_locked(job);
    return S_OK;
}

/* Replaces a string field of a modifiable job: *value is swapped with the field, so the caller
 * frees what comes back in *value after the lock is released. */
HRESULT job_swap_string(struct job *job, WCHAR **field, WCHAR **value)
{
    HRESULT hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        WCHAR *old = *field;
        *field = *value;
        *value = old;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    return hr;
}

/* Reads a string field into a CoTaskMem copy; `fallback` stands in for NULL. */
HRESULT job_get_string(struct job *job, WCHAR *const *field, const WCHAR *fallback, WCHAR **out)
{
    WCHAR *copy;
    HRESULT hr;

    if (!out) return E_INVALIDARG;
    *out = NULL;
    service_lock(job->service);
    hr = job_copy_string(*field ? *field : fallback, &copy);
    service_unlock(job->service);
    if (FAILED(hr)) return hr;
    hr = return_string(copy, out);
    free(copy);
    return hr;
}

/* Sets a ULONG field of a modifiable job. */
HRESULT job_set_ulong(struct job *job, ULONG *field, ULONG value)
{
    HRESULT hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        *field = value;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    return hr;
}

HRESULT job_get_ulong(struct job *job, const ULONG *field, ULONG *out)
{
    if (!out) return E_INVALIDARG;
    service_lock(job->service);
    *out = *field;
    service_unlock(job->service);
    return S_OK;
}

/* Requires: service lock. ERROR and TRANSFERRED: the job waits for the client already. */
static BOOL job_is_waiting_locked(struct job *job)
{
    return job->xfer.state == BG_JOB_STATE_ERROR || job->xfer.state == BG_JOB_STATE_TRANSFERRED;
}

HRESULT job_suspend(struct job *job, BOOL active_only)
{
    struct engine_cleanup cleanup = { 0 };
    HRESULT hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)) && job->xfer.state != BG_JOB_STATE_SUSPENDED
        && !(active_only && job_is_waiting_locked(job)))
    {
        job_state_transition(&job->xfer.state, BG_JOB_STATE_SUSPENDED);
        engine_stop_locked(&job->service->engine, &job->xfer, &cleanup);   /* within one read */
        job_touch_locked(job);
    }
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    if (SUCCEEDED(hr)) service_wake(job->service, FALSE);
    return hr;
}

static HRESULT WINAPI job_Suspend(IBackgroundCopyJob5 *iface)
{
    TRACE("%p.\n", iface);
    return job_suspend(impl_from_IBackgroundCopyJob5(iface), FALSE);
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
    *type = job->xfer.type;
    return S_OK;
}

static HRESULT WINAPI job_GetTimes(IBackgroundCopyJob5 *iface, BG_JOB_TIMES *times)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, times);
    if (!times) return E_INVALIDARG;
    service_lock(job->service);
    times->CreationTime = job->creation_time;
    times->ModificationTime = job->xfer.modification_time;
    times->TransferCompletionTime = job->xfer.completion_time;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_GetState(IBackgroundCopyJob5 *iface, BG_JOB_STATE *state)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, state);
    if (!state) return E_INVALIDARG;
    service_lock(job->service);
    *state = job->xfer.state;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_GetOwner(IBackgroundCopyJob5 *iface, LPWSTR *owner)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, owner);
    return job_get_string(job, &job->owner, NULL, owner);
}

static HRESULT WINAPI job_SetDisplayName(IBackgroundCopyJob5 *iface, LPCWSTR name)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *copy;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(name));
    if (!name) return E_INVALIDARG;
    /* The page lists both E_INVALIDARG and BG_E_STRING_TOO_LONG (unconfirmed which Windows
     * returns); BG_E_STRING_TOO_LONG says what is wrong. */
    if (wcsnlen(name, MAX_DISPLAY_NAME + 1) > MAX_DISPLAY_NAME) return BG_E_STRING_TOO_LONG;
    if (FAILED(hr = job_copy_string(name, &copy))) return hr;
    hr = job_swap_string(job, &job->display_name, &copy);
    free(copy);
    return hr;
}

static HRESULT WINAPI job_GetDisplayName(IBackgroundCopyJob5 *iface, LPWSTR *name)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, name);
    return job_get_string(job, &job->display_name, L"", name);
}

static HRESULT WINAPI job_SetDescription(IBackgroundCopyJob5 *iface, LPCWSTR description)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *copy;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(description));
    if (!description) return E_INVALIDARG;
    if (wcsnlen(description, MAX_DESCRIPTION + 1) > MAX_DESCRIPTION) return BG_E_STRING_TOO_LONG;
    if (FAILED(hr = job_copy_string(description, &copy))) return hr;
    hr = job_swap_string(job, &job->description, &copy);
    free(copy);
    return hr;
}

static HRESULT WINAPI job_GetDescription(IBackgroundCopyJob5 *iface, LPWSTR *description)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, description);
    /* The default description is empty (unconfirmed): clients print it without a NULL check. */
    return job_get_string(job, &job->description, L"", description);
}

static HRESULT WINAPI job_SetPriority(IBackgroundCopyJob5 *iface, BG_JOB_PRIORITY priority)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p, %d.\n", iface, priority);
    if ((unsigned int)priority > BG_JOB_PRIORITY_LOW) return E_NOTIMPL;
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        /* A custom HTTP method pins the job to FOREGROUND (code unconfirmed). */
        if (job->http_method && priority != BG_JOB_PRIORITY_FOREGROUND)
            hr = BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
        else
        {
            job->xfer.priority = priority;
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_GetPriority(IBackgroundCopyJob5 *iface, BG_JOB_PRIORITY *priority)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, priority);
    if (!priority) return E_INVALIDARG;
    service_lock(job->service);
    *priority = job->xfer.priority;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_SetNotifyFlags(IBackgroundCopyJob5 *iface, ULONG flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %#lx.\n", iface, flags);
    if (flags & ~VALID_NOTIFY_FLAGS) return E_NOTIMPL;
    return job_set_ulong(job, &job->notify_flags, flags);
}

static HRESULT WINAPI job_GetNotifyFlags(IBackgroundCopyJob5 *iface, ULONG *flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, flags);
    return job_get_ulong(job, &job->notify_flags, flags);
}

static HRESULT WINAPI job_SetNotifyInterface(IBackgroundCopyJob5 *iface, IUnknown *callback)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    DWORD cookie = 0;
    HRESULT hr;

    TRACE("%p, %p.\n", iface, callback);
    /* Register in the GIT without the lock: it calls the client's object. */
    if (callback && FAILED(hr = notify_register(callback, &IID_IUnknown, &cookie))) return hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        DWORD old = job->notify_cookie;
        job->notify_cookie = cookie;
        cookie = old;                       /* from here on: the cookie to revoke */
        job_touch_locked(job);
    }
    service_unlock(job->service);

    job_notify_revoke(job, cookie);
    return hr;
}

static HRESULT WINAPI job_GetNotifyInterface(IBackgroundCopyJob5 *iface, IUnknown **callback)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    TRACE("%p, %p.\n", iface, callback);
    if (!callback) return E_INVALIDARG;
    *callback = NULL;
    return job_notify_get(job, &IID_IUnknown, (void **)callback);
}

HRESULT job_notify_get(struct job *job, REFIID iid, void **out)
{
    return job_notify_get_cookie(job, &job->notify_cookie, iid, out);
}

HRESULT job_notify_get_cookie(struct job *job, const DWORD *cookie_field, REFIID iid, void **out)
{
    DWORD cookie;
    HRESULT hr;

    service_lock(job->service);
    if ((cookie = *cookie_field)) ++job->notify_users;
    service_unlock(job->service);
    hr = notify_get(cookie, iid, out);
    if (cookie)
    {
        service_lock(job->service);
        --job->notify_users;
        WakeAllConditionVariable(&job->service->idle);
        service_unlock(job->service);
    }
    return hr;
}

void job_notify_revoke(struct job *job, DWORD cookie)
{
    if (!cookie) return;
    service_lock(job->service);
    while (job->notify_users) SleepConditionVariableSRW(&job->service->idle, &job->service->lock, INFINITE, 0);
    service_unlock(job->service);
    notify_revoke(cookie);
}

static HRESULT WINAPI job_SetMinimumRetryDelay(IBackgroundCopyJob5 *iface, ULONG seconds)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %lu.\n", iface, seconds);
    /* Values below the floor are raised to it silently (BITS-SPEC.md §4). */
    return job_set_ulong(job, &job->xfer.retry_delay, max(seconds, MIN_RETRY_DELAY));
}

static HRESULT WINAPI job_GetMinimumRetryDelay(IBackgroundCopyJob5 *iface, ULONG *seconds)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, seconds);
    return job_get_ulong(job, &job->xfer.retry_delay, seconds);
}

static HRESULT WINAPI job_SetNoProgressTimeout(IBackgroundCopyJob5 *iface, ULONG seconds)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %lu.\n", iface, seconds);
    return job_set_ulong(job, &job->xfer.no_progress_timeout, seconds);
}

static HRESULT WINAPI job_GetNoProgressTimeout(IBackgroundCopyJob5 *iface, ULONG *seconds)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, seconds);
    return job_get_ulong(job, &job->xfer.no_progress_timeout, seconds);
}

static HRESULT WINAPI job_GetErrorCount(IBackgroundCopyJob5 *iface, ULONG *errors)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, errors);
    return job_get_ulong(job, &job->xfer.error_count, errors);
}

static HRESULT WINAPI job_SetProxySettings(IBackgroundCopyJob5 *iface, BG_JOB_PROXY_USAGE usage,
                                           const WCHAR *list, const WCHAR *bypass)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *new_list = NULL, *new_bypass = NULL;
    HRESULT hr;

    TRACE("%p, %d, %s, %s.\n", iface, usage, debugstr_w(list), debugstr_w(bypass));
    if ((unsigned int)usage > BG_JOB_PROXY_USAGE_AUTODETECT) return E_NOTIMPL;
    if (usage == BG_JOB_PROXY_USAGE_OVERRIDE)
    {
        if (!list) return E_INVALIDARG;
    }
    else if (list || bypass)
        return E_INVALIDARG;     /* lists only go with OVERRIDE (code unconfirmed) */
    if (wcsnlen(list ? list : L"", MAX_PROXY_LIST + 1) > MAX_PROXY_LIST) return BG_E_PROXY_LIST_TOO_LARGE;
    if (wcsnlen(bypass ? bypass : L"", MAX_PROXY_LIST + 1) > MAX_PROXY_LIST) return BG_E_PROXY_BYPASS_LIST_TOO_LARGE;
    if (FAILED(hr = job_copy_string(list, &new_list)) || FAILED(hr = job_copy_string(bypass, &new_bypass)))
        goto out;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        WCHAR *old;

        job->proxy_usage = usage;
        old = job->proxy_list; job->proxy_list = new_list; new_list = old;
        old = job->proxy_bypass; job->proxy_bypass = new_bypass; new_bypass = old;
        job_touch_locked(job);
    }
    service_unlock(job->service);
out:
    free(new_list);
    free(new_bypass);
    return hr;
}

static HRESULT WINAPI job_GetProxySettings(IBackgroundCopyJob5 *iface, BG_JOB_PROXY_USAGE *usage,
                                           LPWSTR *list, LPWSTR *bypass)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *list_copy = NULL, *bypass_copy = NULL;
    BG_JOB_PROXY_USAGE current;
    HRESULT hr;

    TRACE("%p, %p, %p, %p.\n", iface, usage, list, bypass);
    if (!usage || !list || !bypass) return E_INVALIDARG;
    *list = *bypass = NULL;
    service_lock(job->service);
    current = job->proxy_usage;
    if (SUCCEEDED(hr = job_copy_string(job->proxy_list, &list_copy)))
        hr = job_copy_string(job->proxy_bypass, &bypass_copy);
    service_unlock(job->service);

    /* Unset lists come back as NULL (unconfirmed; S_OK either way). */
    if (SUCCEEDED(hr) && list_copy && FAILED(hr = return_string(list_copy, list))) goto out;
    if (SUCCEEDED(hr) && bypass_copy && FAILED(hr = return_string(bypass_copy, bypass)))
    {
        CoTaskMemFree(*list);
        *list = NULL;
        goto out;
    }
    if (SUCCEEDED(hr))
    {
        *usage = current;
        hr = S_OK;
    }
out:
    free(list_copy);
    free(bypass_copy);
    return hr;
}

static HRESULT WINAPI job_TakeOwnership(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    struct owner_info owner;
    unsigned int target, scheme;
    HRESULT hr;

    TRACE("%p.\n", iface);
    if (FAILED(hr = owner_get_caller(&owner))) return hr;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        /* Only an administrator may take someone else's job; taking one's own is a no-op
         * apart from the stripping below. */
        if (wcscmp(owner.sid, job->owner) && !owner.admin)
            hr = E_ACCESSDENIED;
        else
        {
            WCHAR *old = job->owner;
            job->owner = owner.sid;
            owner.sid = old;
            job->owner_integrity = owner.integrity;
            job->owner_elevated = owner.elevated;
            /* A new owner gets neither the old owner's secrets nor its command line. */
            for (target = 0; target < JOB_AUTH_TARGETS; ++target)
                for (scheme = 0; scheme < JOB_AUTH_SCHEMES; ++scheme)
                    credential_clear(&job->credentials[target][scheme]);
            free(job->notify_program);
            free(job->notify_parameters);
            job->notify_program = job->notify_parameters = NULL;
            job_options_strip_locked(job);
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    owner_free(&owner);
    return hr;
}

static HRESULT WINAPI job_SetNotifyCmdLine(IBackgroundCopyJob5 *iface, LPCWSTR program, LPCWSTR parameters)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *new_program = NULL, *new_parameters = NULL;
    HRESULT hr;

    TRACE("%p, %s, %s.\n", iface, debugstr_w(program), debugstr_w(parameters));
    /* Parameters without a program: the code is unconfirmed; it is a bad argument. */
    if (!program && parameters) return E_INVALIDARG;
    if (program && wcsnlen(program, MAX_PATH + 1) > MAX_PATH) return BG_E_STRING_TOO_LONG;
    if (parameters && wcsnlen(parameters, MAX_NOTIFY_PARAMETERS + 1) > MAX_NOTIFY_PARAMETERS)
        return BG_E_STRING_TOO_LONG;
    if (FAILED(hr = job_copy_string(program, &new_program))
        || FAILED(hr = job_copy_string(parameters, &new_parameters)))
        goto out;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        WCHAR *old;
        old = job->notify_program; job->notify_program = new_program; new_program = old;
        old = job->notify_parameters; job->notify_parameters = new_parameters; new_parameters = old;
        job_touch_locked(job);
    }
    service_unlock(job->service);
out:
    free(new_program);
    free(new_parameters);
    return hr;
}

static HRESULT WINAPI job_GetNotifyCmdLine(IBackgroundCopyJob5 *iface, LPWSTR *program, LPWSTR *parameters)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p, %p, %p.\n", iface, program, parameters);
    if (!program || !parameters) return E_INVALIDARG;
    *parameters = NULL;
    /* Never set: two empty strings, not NULL (BITS-SPEC.md §2.3). */
    if (FAILED(hr = job_get_string(job, &job->notify_program, L"", program))) return hr;
    if (FAILED(hr = job_get_string(job, &job->notify_parameters, L"", parameters)))
    {
        CoTaskMemFree(*program);
        *program = NULL;
        return hr;
    }
    return S_OK;
}

static HRESULT WINAPI job_GetReplyFileName(IBackgroundCopyJob5 *iface, LPWSTR *filename)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p, %p.\n", iface, filename);
    if (job->xfer.type != BG_JOB_TYPE_UPLOAD_REPLY) return E_NOTIMPL;
    if (!filename) return E_INVALIDARG;
    /* Not set and not yet generated (at the first Resume): NULL, S_OK. */
    hr = job_get_string(job, &job->xfer.reply.local_name, NULL, filename);
    return hr == S_FALSE ? S_OK : hr;
}

static HRESULT WINAPI job_SetCredentials(IBackgroundCopyJob5 *iface, BG_AUTH_CREDENTIALS *credentials)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *user = NULL, *password = NULL;
    const WCHAR *in_user, *in_password;
    struct job_credential *slot;
    HRESULT hr;

    TRACE("%p, %p.\n", iface, credentials);
    if (!credentials) return E_INVALIDARG;
    if (credentials->Target != BG_AUTH_TARGET_SERVER && credentials->Target != BG_AUTH_TARGET_PROXY)
        return BG_E_INVALID_AUTH_TARGET;
    if (credentials->Scheme < BG_AUTH_SCHEME_BASIC || credentials->Scheme > BG_AUTH_SCHEME_PASSPORT)
        return BG_E_INVALID_AUTH_SCHEME;
    in_user = credentials->Credentials.Basic.UserName;
    in_password = credentials->Credentials.Basic.Password;
    if ((credentials->Scheme == BG_AUTH_SCHEME_BASIC || credentials->Scheme == BG_AUTH_SCHEME_DIGEST)
        && (!in_user || !in_password))
        return E_INVALIDARG;
    if (in_user && wcsnlen(in_user, MAX_USERNAME + 1) > MAX_USERNAME) return BG_E_USERNAME_TOO_LARGE;
    if (in_password && wcsnlen(in_password, MAX_PASSWORD + 1) > MAX_PASSWORD) return BG_E_PASSWORD_TOO_LARGE;
    if (FAILED(hr = job_copy_string(in_user, &user)) || FAILED(hr = job_copy_string(in_password, &password)))
        goto out;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        slot = &job->credentials[credentials->Target - 1][credentials->Scheme - 1];
        credential_clear(slot);          /* frees only memory: no callout */
        slot->set = TRUE;
        slot->user = user;
        slot->password = password;
        user = password = NULL;
        job_touch_locked(job);
    }
    service_unlock(job->service);
out:
    free(user);
    free_secret(password);
    return hr;
}

static HRESULT WINAPI job_RemoveCredentials(IBackgroundCopyJob5 *iface, BG_AUTH_TARGET target,
                                            BG_AUTH_SCHEME scheme)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    struct job_credential *slot;
    HRESULT hr;

    TRACE("%p, %d, %d.\n", iface, target, scheme);
    if (target != BG_AUTH_TARGET_SERVER && target != BG_AUTH_TARGET_PROXY) return BG_E_INVALID_AUTH_TARGET;
    if (scheme < BG_AUTH_SCHEME_BASIC || scheme > BG_AUTH_SCHEME_PASSPORT) return BG_E_INVALID_AUTH_SCHEME;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        slot = &job->credentials[target - 1][scheme - 1];
        if (!slot->set)
            hr = S_FALSE;
        else
        {
            credential_clear(slot);
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_SetFileACLFlags(IBackgroundCopyJob5 *iface, DWORD flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p, %#lx.\n", iface, flags);
    if (flags & ~BG_COPY_FILE_ALL) return E_INVALIDARG;
    service_lock(job->service);
    /* Only before the job reaches TRANSFERRED (BITS-SPEC.md §2.4). */
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)) && job->xfer.state == BG_JOB_STATE_TRANSFERRED)
        hr = BG_E_INVALID_STATE;
    if (SUCCEEDED(hr))
    {
        job->acl_flags = flags;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_GetFileACLFlags(IBackgroundCopyJob5 *iface, DWORD *flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, flags);
    return job_get_ulong(job, &job->acl_flags, flags);
}

static HRESULT WINAPI job_SetPeerCachingFlags(IBackgroundCopyJob5 *iface, DWORD flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %#lx.\n", iface, flags);
    /* Unknown bits: the spec gives no code (unconfirmed); E_INVALIDARG as for the ACL flags. */
    if (flags & ~VALID_PEER_FLAGS) return E_INVALIDARG;
    return job_set_ulong(job, &job->peer_flags, flags);
}

static HRESULT WINAPI job_GetPeerCachingFlags(IBackgroundCopyJob5 *iface, DWORD *flags)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, flags);
    return job_get_ulong(job, &job->peer_flags, flags);
}

static HRESULT WINAPI job_GetOwnerIntegrityLevel(IBackgroundCopyJob5 *iface, ULONG *level)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, level);
    return job_get_ulong(job, &job->owner_integrity, level);
}

static HRESULT WINAPI job_GetOwnerElevationState(IBackgroundCopyJob5 *iface, BOOL *elevated)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, elevated);
    if (!elevated) return E_INVALIDARG;
    service_lock(job->service);
    *elevated = job->owner_elevated;
    service_unlock(job->service);
    return S_OK;
}

static HRESULT WINAPI job_SetMaximumDownloadTime(IBackgroundCopyJob5 *iface, ULONG timeout)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %lu.\n", iface, timeout);
    return job_set_ulong(job, &job->xfer.max_download_time, timeout);
}

static HRESULT WINAPI job_GetMaximumDownloadTime(IBackgroundCopyJob5 *iface, ULONG *timeout)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, timeout);
    return job_get_ulong(job, &job->xfer.max_download_time, timeout);
}

/* Requires: service lock. The rules of BITS-SPEC.md §2.6 for one property. */
/* Requires: service lock. Dynamic content and byte ranges exclude each other (the mapping of
 * the code is unconfirmed; BG_E_UNSUPPORTED_JOB_CONFIGURATION as for ON_DEMAND_MODE). */
static BOOL job_has_ranges_locked(struct job *job)
{
    ULONG i;

    for (i = 0; i < job->xfer.file_count; ++i)
        if (job->xfer.files[i]->range_count) return TRUE;
    return FALSE;
}

static HRESULT job_set_property_locked(struct job *job, BITS_JOB_PROPERTY_ID id, const BITS_JOB_PROPERTY_VALUE *value)
{
    BOOL download = job->xfer.type == BG_JOB_TYPE_DOWNLOAD;

    switch (id)
    {
    case BITS_JOB_PROPERTY_ID_COST_FLAGS:
        job->cost_flags = value->Dword;
        return S_OK;
    case BITS_JOB_PROPERTY_NOTIFICATION_CLSID:
        job->notification_clsid = value->ClsID;      /* GUID_NULL clears */
        return S_OK;
    case BITS_JOB_PROPERTY_DYNAMIC_CONTENT:
        if (!download) return BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY;
        if (job->xfer.resumed) return BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
        if (value->Enable && job->http_method) return BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
        if (value->Enable && job_has_ranges_locked(job)) return BG_E_UNSUPPORTED_JOB_CONFIGURATION;
        job->xfer.dynamic_content = !!value->Enable;
        return S_OK;
    case BITS_JOB_PROPERTY_HIGH_PERFORMANCE:
        if (!download) return BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY;
        if (job->xfer.file_count) return BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE;
        job->xfer.high_performance = !!value->Enable;
        return S_OK;
    case BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE:
        if (!value->Uint64) return BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE;
        if (!download) return BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY;
        if (job->xfer.resumed) return BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
        job->xfer.max_download_size = value->Uint64;
        return S_OK;
    case BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS:
        if (value->Target != BG_AUTH_TARGET_PROXY) return BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED;
        job->stored_credentials_target = value->Target;
        return S_OK;
    case BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS:
        job->min_notification_interval = value->Dword;
        return S_OK;
    case BITS_JOB_PROPERTY_ON_DEMAND_MODE:
        /* On-demand needs a non-dynamic download job without a custom method; like the other
         * transfer-shaping properties it is fixed at the first Resume (unconfirmed). */
        if (!download) return BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY;
        if (job->xfer.resumed) return BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
        if (value->Enable && job->http_method) return BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
        if (value->Enable && job->xfer.dynamic_content) return BG_E_UNSUPPORTED_JOB_CONFIGURATION;
        job->xfer.on_demand = !!value->Enable;
        return S_OK;
    default:
        return BG_E_UNKNOWN_PROPERTY_ID;
    }
}

static HRESULT WINAPI job_SetProperty(IBackgroundCopyJob5 *iface, BITS_JOB_PROPERTY_ID id,
                                      BITS_JOB_PROPERTY_VALUE value)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p, %d.\n", iface, id);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job))
        && SUCCEEDED(hr = job_set_property_locked(job, id, &value)))
        job_touch_locked(job);
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI job_GetProperty(IBackgroundCopyJob5 *iface, BITS_JOB_PROPERTY_ID id,
                                      BITS_JOB_PROPERTY_VALUE *value)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    BITS_JOB_PROPERTY_VALUE result;
    HRESULT hr = S_OK;

    TRACE("%p, %d, %p.\n", iface, id, value);
    if (!value) return E_INVALIDARG;
    memset(&result, 0, sizeof(result));
    service_lock(job->service);
    switch (id)
    {
    case BITS_JOB_PROPERTY_ID_COST_FLAGS:                result.Dword = job->cost_flags; break;
    case BITS_JOB_PROPERTY_NOTIFICATION_CLSID:           result.ClsID = job->notification_clsid; break;
    case BITS_JOB_PROPERTY_DYNAMIC_CONTENT:              result.Enable = job->xfer.dynamic_content; break;
    case BITS_JOB_PROPERTY_HIGH_PERFORMANCE:             result.Enable = job->xfer.high_performance; break;
    case BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE:            result.Uint64 = job->xfer.max_download_size; break;
    case BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS:       result.Target = job->stored_credentials_target; break;
    case BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS: result.Dword = job->min_notification_interval; break;
    case BITS_JOB_PROPERTY_ON_DEMAND_MODE:               result.Enable = job->xfer.on_demand; break;
    default: hr = BG_E_UNKNOWN_PROPERTY_ID; break;
    }
    service_unlock(job->service);
    if (SUCCEEDED(hr)) *value = result;
    return hr;
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

struct owner_count
{
    const WCHAR *owner;
    ULONG count;
};

/* Requires: service lock. */
static BOOL count_owner_locked(struct queue_entry *entry, void *context)
{
    struct owner_count *count = context;

    if (!wcscmp(CONTAINING_RECORD(entry, struct job, entry)->owner, count->owner)) ++count->count;
    return TRUE;
}

/* Requires: service lock. The quotas of unfinished jobs for a caller who is not an
 * administrator: per machine first, then per user. */
static HRESULT check_job_quota_locked(struct service *service, const WCHAR *owner)
{
    struct owner_count count = { owner, 0 };

    if (queue_count(&service->jobs) >= service->limits.jobs_per_machine) return BG_E_TOO_MANY_JOBS_PER_MACHINE;
    queue_for_each(&service->jobs, count_owner_locked, &count);
    if (count.count >= service->limits.jobs_per_user) return BG_E_TOO_MANY_JOBS_PER_USER;
    return S_OK;
}

/* A new job with `fixed_id` (NULL: a new GUID) and `group` (NULL: a job of the manager; else
 * the job's, freed with it). */
static HRESULT create_job(struct service *service, const WCHAR *display_name, BG_JOB_TYPE type,
                          const GUID *fixed_id, struct group *group, IBackgroundCopyJob **out)
{
    struct owner_info owner;
    struct job *job;
    HRESULT hr;

    *out = NULL;
    if (!(job = calloc(1, sizeof(*job))))
    {
        group_free(group);
        return E_OUTOFMEMORY;
    }
    module_lock();
    if ((job->group = group)) group->job = job;
    job->IBackgroundCopyJob5_iface.lpVtbl = &job_vtbl;
    job->IBackgroundCopyJobHttpOptions3_iface.lpVtbl = &job_http_options_vtbl;
    job->IBitsTokenOptions_iface.lpVtbl = &job_token_options_vtbl;
    job->holds = 1;                              /* ours until the queue takes it below */
    job->xfer.owner = job;
    engine_job_init(&job->xfer, type);
    job->xfer.state = BG_JOB_STATE_SUSPENDED;
    GetSystemTimeAsFileTime(&job->creation_time);
    job->xfer.modification_time = job->creation_time;
    job->xfer.priority = BG_JOB_PRIORITY_NORMAL;
    job->notify_flags = DEFAULT_NOTIFY_FLAGS;
    job->xfer.retry_delay = DEFAULT_RETRY_DELAY;
    job->xfer.no_progress_timeout = DEFAULT_NO_PROGRESS;
    job->xfer.max_download_time = DEFAULT_MAX_DOWNLOAD_TIME;
    job->proxy_usage = BG_JOB_PROXY_USAGE_PRECONFIG;
    /* The cost-flag default is unconfirmed; Windows 10 blocks metered networks by default,
     * which is the STANDARD policy. */
    job->cost_flags = BITS_JOB_TRANSFER_POLICY_STANDARD;
    job->xfer.max_download_size = ~(UINT64)0;          /* no limit */
    job->min_notification_interval = 500;

    if (FAILED(hr = job_copy_string(display_name, &job->display_name))) goto fail;
    if (FAILED(hr = owner_get_caller(&owner))) goto fail;
    job->owner = owner.sid;
    job->owner_integrity = owner.integrity;
    job->owner_elevated = owner.elevated;
    if (fixed_id) job->entry.id = *fixed_id;
    else if (FAILED(hr = CoCreateGuid(&job->entry.id))) goto fail;

    service_addref(service);                     /* counted reference, taken last */
    job->service = service;

    service_lock(service);
    if (owner.admin || SUCCEEDED(hr = check_job_quota_locked(service, job->owner)))
        hr = queue_insert(&service->jobs, &job->entry);
    service_unlock(service);
    if (FAILED(hr)) goto fail;

    /* The initial hold now belongs to the queue; the client gets the COM reference. */
    job_AddRef(&job->IBackgroundCopyJob5_iface);
    *out = (IBackgroundCopyJob *)&job->IBackgroundCopyJob5_iface;
    return S_OK;

fail:
    job_destroy(job);
    return hr;
}

HRESULT job_create(struct service *service, const WCHAR *display_name, BG_JOB_TYPE type,
                   GUID *id, IBackgroundCopyJob **out)
{
    HRESULT hr;

    if (SUCCEEDED(hr = create_job(service, display_name, type, NULL, NULL, out)))
        *id = impl_from_IBackgroundCopyJob5((IBackgroundCopyJob5 *)*out)->entry.id;
    return hr;
}

HRESULT job_create_group(struct service *service, const GUID *id, struct group *group,
                         IBackgroundCopyJob **out)
{
    /* A group's display name is GROUPPROP_DISPLAYNAME, empty until set. */
    return create_job(service, L"", BG_JOB_TYPE_DOWNLOAD, id, group, out);
}
