/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "notify.h"
#include "surrogate.h"

/* Every GIT call of ours goes through this lock. Wine 8's GIT shares one stub between cookies
 * of the same object, and a revoke racing a lookup of another cookie of that object makes the
 * lookup fail with CO_E_OBJNOTCONNECTED (several jobs given the same callback object, seen by
 * test_concurrency). A critical section, not an SRW lock: a client's Release run by a revoke
 * may call back into us on the same thread. It is a leaf: nothing else is taken under it. */
static CRITICAL_SECTION git_lock;
static INIT_ONCE git_lock_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK init_git_lock(INIT_ONCE *once, void *param, void **context)
{
    InitializeCriticalSection(&git_lock);
    return TRUE;
}

static HRESULT get_git(IGlobalInterfaceTable **git)
{
    InitOnceExecuteOnce(&git_lock_once, init_git_lock, NULL, NULL);
    return CoCreateInstance(&CLSID_StdGlobalInterfaceTable, NULL, CLSCTX_INPROC_SERVER,
                            &IID_IGlobalInterfaceTable, (void **)git);
}

/* In the DLL surrogate (surrogate.c) every call of ours runs in the multithreaded apartment (RPC
 * threads, workers) and a client's callback is a proxy there, usable from any of those threads:
 * it is kept as it is, AddRef'd, under a cookie of our own (DIRECT_COOKIE | slot). Wine 8's GIT
 * cannot give back the reference it takes on a proxy (its CoReleaseMarshalData knows only objects
 * of its own process), which kept every client's callback object alive as long as the client
 * ran. Guarded by git_lock; a proxy's AddRef stays in this process. */
#define DIRECT_COOKIE 0x80000000u

static IUnknown **direct;         /* [git_lock] */
static DWORD direct_count;        /* [git_lock] */

static HRESULT direct_register(IUnknown *object, DWORD *cookie)
{
    DWORD slot;
    HRESULT hr = S_OK;

    InitOnceExecuteOnce(&git_lock_once, init_git_lock, NULL, NULL);
    IUnknown_AddRef(object);
    EnterCriticalSection(&git_lock);
    for (slot = 0; slot < direct_count && direct[slot]; ++slot) ;
    if (slot == direct_count)
    {
        IUnknown **grown = realloc(direct, (direct_count + 16) * sizeof(*direct));

        if (!grown) hr = E_OUTOFMEMORY;
        else
        {
            memset(grown + direct_count, 0, 16 * sizeof(*direct));
            direct = grown;
            direct_count += 16;
        }
    }
    if (SUCCEEDED(hr))
    {
        direct[slot] = object;
        *cookie = DIRECT_COOKIE | (slot + 1);
    }
    LeaveCriticalSection(&git_lock);
    if (FAILED(hr)) IUnknown_Release(object);
    return hr;
}

static BOOL is_direct(DWORD cookie)
{
    return (cookie & DIRECT_COOKIE) && surrogate_active();
}

static IUnknown *direct_take(DWORD cookie, BOOL remove)
{
    DWORD slot = (cookie & ~DIRECT_COOKIE) - 1;
    IUnknown *object = NULL;

    EnterCriticalSection(&git_lock);
    if (slot < direct_count && (object = direct[slot]))
    {
        if (remove) direct[slot] = NULL;
        else IUnknown_AddRef(object);
    }
    LeaveCriticalSection(&git_lock);
    return object;
}

HRESULT notify_register(IUnknown *object, REFIID iid, DWORD *cookie)
{
    IGlobalInterfaceTable *git;
    HRESULT hr;

    *cookie = 0;
    if (!object) return S_OK;
    if (surrogate_active()) return direct_register(object, cookie);
    if (FAILED(hr = get_git(&git))) return hr;
    EnterCriticalSection(&git_lock);
    hr = IGlobalInterfaceTable_RegisterInterfaceInGlobal(git, object, iid, cookie);
    LeaveCriticalSection(&git_lock);
    IGlobalInterfaceTable_Release(git);
    return hr;
}

void notify_revoke(DWORD cookie)
{
    IGlobalInterfaceTable *git;
    IUnknown *object;

    if (!cookie) return;
    if (is_direct(cookie))
    {
        if ((object = direct_take(cookie, TRUE))) IUnknown_Release(object);
        return;
    }
    if (FAILED(get_git(&git))) return;
    EnterCriticalSection(&git_lock);
    IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, cookie);
    LeaveCriticalSection(&git_lock);
    IGlobalInterfaceTable_Release(git);
}

HRESULT notify_get(DWORD cookie, REFIID iid, void **out)
{
    IGlobalInterfaceTable *git;
    IUnknown *object;
    HRESULT hr;

    *out = NULL;
    if (!cookie) return S_OK;
    if (is_direct(cookie))
    {
        if (!(object = direct_take(cookie, FALSE))) return E_INVALIDARG;   /* revoked, as the GIT says */
        hr = IUnknown_QueryInterface(object, iid, out);
        IUnknown_Release(object);
        return hr;
    }
    if (FAILED(hr = get_git(&git))) return hr;
    EnterCriticalSection(&git_lock);
    hr = IGlobalInterfaceTable_GetInterfaceFromGlobal(git, cookie, iid, out);
    LeaveCriticalSection(&git_lock);
    IGlobalInterfaceTable_Release(git);
    return hr;
}

/* --- delivery of the engine's events (BITS-SPEC.md §7) ---------------------------------------- */

#include <stdlib.h>

#include "engine_host.h"
#include "file.h"
#include "group.h"
#include "job.h"

/* The notify command line runs for JobTransferred and JobError when there is no interface or
 * its call failed: CreateProcess with the program and the parameters as given (the parameters
 * begin with the program name, as CreateProcess's command line does). */
static BOOL run_command_line(const WCHAR *program, WCHAR *parameters)
{
    PROCESS_INFORMATION process;
    STARTUPINFOW startup;

    if (!program || !*program) return FALSE;
    memset(&startup, 0, sizeof(startup));
    startup.cb = sizeof(startup);
    if (!CreateProcessW(program, parameters && *parameters ? parameters : NULL, NULL, NULL, FALSE, 0,
                        NULL, NULL, &startup, &process))
    {
        WARN("cannot run %s: error %lu.\n", debugstr_w(program), GetLastError());
        return FALSE;
    }
    CloseHandle(process.hThread);
    CloseHandle(process.hProcess);
    return TRUE;
}

/* A JobTransferred or JobError that failed: the interface again after NOTIFY_RETRY_MS, or after
 * the retry delay when the command line could not run either (§7.3). */

/* The interface's answer for the final events, or the command line instead (§7.3): returns how
 * long until the event must be delivered again, 0 when it is done. */
static DWORD deliver_final(struct job *job, IBackgroundCopyJob *job_iface, enum engine_event_kind kind,
                           const WCHAR *program, WCHAR *parameters, ULONG retry_delay)
{
    IBackgroundCopyCallback *callback = NULL;
    IBackgroundCopyError *error = NULL;
    HRESULT hr = E_FAIL;

    if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback, (void **)&callback)) && callback)
    {
        if (kind == ENGINE_EVENT_JOB_TRANSFERRED)
            hr = IBackgroundCopyCallback_JobTransferred(callback, job_iface);
        else if (SUCCEEDED(hr = IBackgroundCopyJob_GetError(job_iface, &error)))
        {
            hr = IBackgroundCopyCallback_JobError(callback, job_iface, error);
            IBackgroundCopyError_Release(error);
        }
        IBackgroundCopyCallback_Release(callback);
        if (SUCCEEDED(hr)) return 0;
        WARN("job %p: the callback answered %#lx.\n", job, hr);
    }
    /* No interface, or it failed: the command line instead, and the method is not called
     * again. Neither: the interface again later. */
    if (program && *program)
        return run_command_line(program, parameters) ? 0 : retry_delay * 1000;
    return callback ? NOTIFY_RETRY_MS : 0;
}

DWORD notify_deliver(struct service *service, struct service_event *event)
{
    struct job *job = event->job;
    IBackgroundCopyJob *job_iface = (IBackgroundCopyJob *)&job->IBackgroundCopyJob5_iface;
    WCHAR *program = NULL, *parameters = NULL;
    ULONG flags, interval, retry_delay;
    BG_JOB_STATE state;
    DWORD retry = 0;
    BOOL due = TRUE;

    if (event->group) return group_deliver(service, event);
    service_lock(service);
    flags = job->notify_flags;
    interval = job->min_notification_interval;
    retry_delay = job->xfer.retry_delay;
    state = job->xfer.state;
    if (event->kind == ENGINE_EVENT_JOB_MODIFICATION)
    {
        /* High volume: at most one per MINIMUM_NOTIFICATION_INTERVAL_MS, the rest dropped
         * (BITS may drop them, §7.2). */
        ULONGLONG now = service_now(service);
        if (job->modification_notified && now - job->modification_notified < interval) due = FALSE;
        else job->modification_notified = now;
    }
    if (event->kind == ENGINE_EVENT_JOB_TRANSFERRED || event->kind == ENGINE_EVENT_JOB_ERROR)
    {
        if (job->notify_program) program = _wcsdup(job->notify_program);
        if (job->notify_parameters) parameters = _wcsdup(job->notify_parameters);
    }
    service_unlock(service);

    if ((flags & BG_NOTIFY_DISABLE) || !due) goto done;
    switch (event->kind)
    {
    case ENGINE_EVENT_JOB_TRANSFERRED:
        /* Only while it is still true: a job completed, cancelled or resumed meanwhile is no
         * longer transferred (a retry stops there too). */
        if ((flags & BG_NOTIFY_JOB_TRANSFERRED) && state == BG_JOB_STATE_TRANSFERRED)
            retry = deliver_final(job, job_iface, event->kind, program, parameters, retry_delay);
        break;
    case ENGINE_EVENT_JOB_ERROR:
        if ((flags & BG_NOTIFY_JOB_ERROR) && state == BG_JOB_STATE_ERROR)
            retry = deliver_final(job, job_iface, event->kind, program, parameters, retry_delay);
        break;
    case ENGINE_EVENT_JOB_MODIFICATION:
    {
        IBackgroundCopyCallback *callback = NULL;
        if (!(flags & BG_NOTIFY_JOB_MODIFICATION)) break;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback, (void **)&callback)) && callback)
        {
            IBackgroundCopyCallback_JobModification(callback, job_iface, 0);
            IBackgroundCopyCallback_Release(callback);
        }
        break;
    }
    case ENGINE_EVENT_FILE_RANGES_TRANSFERRED:
    {
        IBackgroundCopyCallback3 *callback3 = NULL;
        BG_FILE_RANGE *ranges = NULL;
        DWORD count = 0;

        if (!(flags & BG_NOTIFY_FILE_RANGES_TRANSFERRED) || !event->file) break;
        /* The ranges that arrived since the last call: the file's filled ranges less those
         * already told (copies made under the lock; our own memory, no callout). */
        service_lock(service);
        {
            struct range_list fresh;
            ULONG i;
            range_list_init(&fresh);
            if (SUCCEEDED(range_list_copy(&fresh, &event->file->xfer.filled)))
                range_list_subtract(&fresh, &event->file->reported);
            if (fresh.count && (ranges = malloc(fresh.count * sizeof(*ranges))))
            {
                range_list_export(&fresh, ranges);
                count = fresh.count;
                for (i = 0; i < fresh.count; ++i)
                    range_list_add(&event->file->reported, ranges[i].InitialOffset, ranges[i].Length);
            }
            range_list_clear(&fresh);
        }
        service_unlock(service);
        if (count && SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback3, (void **)&callback3)) && callback3)
        {
            IBackgroundCopyCallback3_FileRangesTransferred(callback3, job_iface, file_iface(event->file), count, ranges);
            IBackgroundCopyCallback3_Release(callback3);
        }
        free(ranges);
        break;
    }
    case ENGINE_EVENT_FILE_TRANSFERRED:
    {
        IBackgroundCopyCallback2 *callback2 = NULL;
        if (!(flags & BG_NOTIFY_FILE_TRANSFERRED) || !event->file) break;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback2, (void **)&callback2)) && callback2)
        {
            IBackgroundCopyCallback2_FileTransferred(callback2, job_iface, file_iface(event->file));
            IBackgroundCopyCallback2_Release(callback2);
        }
        break;
    }
    }

done:
    free(program);
    free(parameters);
    return retry;
}
