/* SPDX-License-Identifier: MIT */
#include "notify.h"

static HRESULT get_git(IGlobalInterfaceTable **git)
{
    return CoCreateInstance(&CLSID_StdGlobalInterfaceTable, NULL, CLSCTX_INPROC_SERVER,
                            &IID_IGlobalInterfaceTable, (void **)git);
}

HRESULT notify_register(IUnknown *object, REFIID iid, DWORD *cookie)
{
    IGlobalInterfaceTable *git;
    HRESULT hr;

    *cookie = 0;
    if (!object) return S_OK;
    if (FAILED(hr = get_git(&git))) return hr;
    hr = IGlobalInterfaceTable_RegisterInterfaceInGlobal(git, object, iid, cookie);
    IGlobalInterfaceTable_Release(git);
    return hr;
}

void notify_revoke(DWORD cookie)
{
    IGlobalInterfaceTable *git;

    if (!cookie || FAILED(get_git(&git))) return;
    IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, cookie);
    IGlobalInterfaceTable_Release(git);
}

HRESULT notify_get(DWORD cookie, REFIID iid, void **out)
{
    IGlobalInterfaceTable *git;
    HRESULT hr;

    *out = NULL;
    if (!cookie) return S_OK;
    if (FAILED(hr = get_git(&git))) return hr;
    hr = IGlobalInterfaceTable_GetInterfaceFromGlobal(git, cookie, iid, out);
    IGlobalInterfaceTable_Release(git);
    return hr;
}

/* --- delivery of the engine's events (BITS-SPEC.md §7) ---------------------------------------- */

#include <stdlib.h>

#include "engine_host.h"
#include "file.h"
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

void notify_deliver(struct service *service, struct service_event *event)
{
    struct job *job = event->job;
    IBackgroundCopyJob *job_iface = (IBackgroundCopyJob *)&job->IBackgroundCopyJob5_iface;
    IBackgroundCopyCallback *callback = NULL;
    WCHAR *program = NULL, *parameters = NULL;
    ULONG flags, interval;
    HRESULT hr = E_FAIL;
    BOOL due = TRUE;

    service_lock(service);
    flags = job->notify_flags;
    interval = job->min_notification_interval;
    if (event->kind == ENGINE_EVENT_JOB_MODIFICATION)
    {
        /* High volume: at most one per MINIMUM_NOTIFICATION_INTERVAL_MS, the rest dropped
         * (BITS may drop them, §7.2). */
        ULONGLONG now = GetTickCount64();
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
        if (!(flags & BG_NOTIFY_JOB_TRANSFERRED)) goto done;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback, (void **)&callback)) && callback)
            hr = IBackgroundCopyCallback_JobTransferred(callback, job_iface);
        if (FAILED(hr)) run_command_line(program, parameters);
        break;
    case ENGINE_EVENT_JOB_ERROR:
    {
        IBackgroundCopyError *error = NULL;
        if (!(flags & BG_NOTIFY_JOB_ERROR)) goto done;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback, (void **)&callback)) && callback
            && SUCCEEDED(IBackgroundCopyJob_GetError(job_iface, &error)))
            hr = IBackgroundCopyCallback_JobError(callback, job_iface, error);
        if (error) IBackgroundCopyError_Release(error);
        if (FAILED(hr)) run_command_line(program, parameters);
        break;
    }
    case ENGINE_EVENT_JOB_MODIFICATION:
        if (!(flags & BG_NOTIFY_JOB_MODIFICATION)) goto done;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback, (void **)&callback)) && callback)
            IBackgroundCopyCallback_JobModification(callback, job_iface, 0);
        break;
    case ENGINE_EVENT_FILE_TRANSFERRED:
    {
        IBackgroundCopyCallback2 *callback2 = NULL;
        if (!(flags & BG_NOTIFY_FILE_TRANSFERRED) || !event->file) goto done;
        if (SUCCEEDED(job_notify_get(job, &IID_IBackgroundCopyCallback2, (void **)&callback2)) && callback2)
        {
            IBackgroundCopyCallback2_FileTransferred(callback2, job_iface, file_iface(event->file));
            IBackgroundCopyCallback2_Release(callback2);
        }
        break;
    }
    }

done:
    if (callback) IBackgroundCopyCallback_Release(callback);
    free(program);
    free(parameters);
}
