/* SPDX-License-Identifier: MIT */
/* A BITS client in a process of its own, for the out-of-process tests (test_oop.c). Like the
 * clients the issue is about, it knows nothing of openbits: it only calls CoCreateInstance.
 *
 *   oop_client.exe create {CLSID}
 *       MTA, CLSCTX_LOCAL_SERVER: creates a job "oop scenario", prints its id, and exits with the
 *       job unfinished (everything released).
 *   oop_client.exe finish {CLSID} {job} URL LOCALFILE
 *       STA with CoInitializeSecurity as Microsoft's samples call it, CLSCTX_LOCAL_SERVER: finds
 *       the job with GetJob and EnumJobs, adds URL, registers a callback, resumes, pumps messages
 *       until JobTransferred arrives on this thread, completes the job and checks the file.
 *   oop_client.exe control inproc|local DIR
 *       With the test double on: its control interface (IOpenBitsTestControl) steers a download
 *       in virtual time from a scripted rule, and its journal tells what was asked; one line per
 *       call, as the transcript.
 *   oop_client.exe download URL LOCALFILE
 *       A client that cannot be changed (no control interface), MTA, CLSCTX_LOCAL_SERVER:
 *       downloads URL with a callback, waits for JobTransferred or JobError, and prints either
 *       "transferred N bytes: \"<content>\"" (after Complete) or "error <code> context <n>" (then
 *       cancels the job). For the scenario file in the surrogate (test_oop.c).
 *   oop_client.exe transcript inproc|local DIR BASEURL [HTTPSBASEURL]
 *       Calls every interface (manager, job 1-5, HttpOptions 1-3, token options, files 1-6,
 *       enumerators, error, callbacks 1-3, peer-cache administration, legacy QMGR) and prints
 *       one line per call: HRESULT and results, with nothing that differs between runs (no ids,
 *       times or temporary names). The test runs it in process and out of process and compares.
 *
 * Exit code 0 on success; otherwise the reason is printed. */
#include <windows.h>
#include <objbase.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#include "bits.h"
#include "openbits_control.h"

#define WAIT_MS 60000

static int failures;

static void out(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    fflush(stdout);
}

static void check(BOOL ok, const char *what)
{
    if (ok) return;
    out("FAILED: %s\n", what);
    ++failures;
}

/* The user SID of this process, to compare with GetOwner. */
static void own_sid(WCHAR *buffer, size_t size)
{
    BYTE data[256];
    TOKEN_USER *user = (TOKEN_USER *)data;
    HANDLE token;
    DWORD len;
    WCHAR *sid;

    buffer[0] = 0;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return;
    if (GetTokenInformation(token, TokenUser, data, sizeof(data), &len) && ConvertSidToStringSidW(user->User.Sid, &sid))
    {
        wcsncpy(buffer, sid, size - 1);
        buffer[size - 1] = 0;
        LocalFree(sid);
    }
    CloseHandle(token);
}

/* A proxy answers IClientSecurity (COM's proxy manager); our objects do not. */
static BOOL is_proxy(void *object)
{
    IClientSecurity *security;

    if (FAILED(IUnknown_QueryInterface((IUnknown *)object, &IID_IClientSecurity, (void **)&security))) return FALSE;
    IClientSecurity_Release(security);
    return TRUE;
}

/* Waits for an event; pumps the messages of an STA meanwhile (callbacks arrive as messages). */
static BOOL pump_wait(HANDLE event, DWORD timeout)
{
    ULONGLONG deadline = GetTickCount64() + timeout;
    MSG msg;

    for (;;)
    {
        ULONGLONG now = GetTickCount64();
        DWORD result;

        if (now >= deadline) return FALSE;
        result = MsgWaitForMultipleObjects(1, &event, FALSE, (DWORD)(deadline - now), QS_ALLINPUT);
        if (result == WAIT_OBJECT_0) return TRUE;
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
        {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

/* --- a callback object: IBackgroundCopyCallback3 (and 2, 1) -------------------------------- */

struct callback
{
    IBackgroundCopyCallback3 IBackgroundCopyCallback3_iface;
    IBackgroundCopyServerCertificateValidationCallback IBackgroundCopyServerCertificateValidationCallback_iface;
    LONG refcount;
    HANDLE transferred, error, file_transferred, ranges;
    HANDLE released;                /* set when only our own reference is left */
    DWORD transferred_thread;       /* the thread JobTransferred ran on */
    LONG file_transferred_calls;    /* FileTransferred before JobTransferred */
    LONG ranges_calls;
    UINT64 ranges_first_offset, ranges_first_length;
    WCHAR file_name[MAX_PATH];      /* the local name FileTransferred was given */
    GUID job_id;                    /* the job JobTransferred or JobError was given */
    HRESULT error_code;             /* from the IBackgroundCopyError JobError was given */
    LONG validations;               /* ValidateServerCertificate calls */
    DWORD certificate_length;       /* and what the first one was given */
    BYTE certificate_first;
    BOOL certificate_file_given;
};

static struct callback *impl_from_IBackgroundCopyCallback3(IBackgroundCopyCallback3 *iface)
{
    return CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback3_iface);
}

static HRESULT WINAPI callback_QueryInterface(IBackgroundCopyCallback3 *iface, REFIID riid, void **out)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);

    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyCallback)
            || IsEqualIID(riid, &IID_IBackgroundCopyCallback2) || IsEqualIID(riid, &IID_IBackgroundCopyCallback3))
        *out = &callback->IBackgroundCopyCallback3_iface;
    else if (IsEqualIID(riid, &IID_IBackgroundCopyServerCertificateValidationCallback))
        *out = &callback->IBackgroundCopyServerCertificateValidationCallback_iface;
    else
    {
        *out = NULL;
        return E_NOINTERFACE;
    }
    IUnknown_AddRef((IUnknown *)*out);
    return S_OK;
}

static ULONG WINAPI callback_AddRef(IBackgroundCopyCallback3 *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback3(iface)->refcount);
}

static ULONG WINAPI callback_Release(IBackgroundCopyCallback3 *iface)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);
    ULONG refcount = InterlockedDecrement(&callback->refcount);

    if (refcount == 1) SetEvent(callback->released);
    return refcount;
}

static HRESULT WINAPI callback_JobTransferred(IBackgroundCopyCallback3 *iface, IBackgroundCopyJob *job)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);

    IBackgroundCopyJob_GetId(job, &callback->job_id);
    callback->transferred_thread = GetCurrentThreadId();
    SetEvent(callback->transferred);
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback3 *iface, IBackgroundCopyJob *job,
                                        IBackgroundCopyError *error)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);
    BG_ERROR_CONTEXT context;

    IBackgroundCopyJob_GetId(job, &callback->job_id);
    IBackgroundCopyError_GetError(error, &context, &callback->error_code);
    SetEvent(callback->error);
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback3 *iface, IBackgroundCopyJob *job, DWORD reserved)
{
    return S_OK;
}

static HRESULT WINAPI callback_FileTransferred(IBackgroundCopyCallback3 *iface, IBackgroundCopyJob *job,
                                               IBackgroundCopyFile *file)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);
    WCHAR *name;

    if (SUCCEEDED(IBackgroundCopyFile_GetLocalName(file, &name)))
    {
        wcsncpy(callback->file_name, name, ARRAYSIZE(callback->file_name) - 1);
        CoTaskMemFree(name);
    }
    InterlockedIncrement(&callback->file_transferred_calls);
    SetEvent(callback->file_transferred);
    return S_OK;
}

static HRESULT WINAPI callback_FileRangesTransferred(IBackgroundCopyCallback3 *iface, IBackgroundCopyJob *job,
                                                     IBackgroundCopyFile *file, DWORD count, const BG_FILE_RANGE *ranges)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback3(iface);

    if (InterlockedIncrement(&callback->ranges_calls) == 1 && count)
    {
        callback->ranges_first_offset = ranges[0].InitialOffset;
        callback->ranges_first_length = ranges[0].Length;
    }
    SetEvent(callback->ranges);
    return S_OK;
}

static const IBackgroundCopyCallback3Vtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification,
    callback_FileTransferred, callback_FileRangesTransferred,
};

static struct callback *impl_from_validation(IBackgroundCopyServerCertificateValidationCallback *iface)
{
    return CONTAINING_RECORD(iface, struct callback, IBackgroundCopyServerCertificateValidationCallback_iface);
}

static HRESULT WINAPI validation_QueryInterface(IBackgroundCopyServerCertificateValidationCallback *iface,
                                                REFIID riid, void **out)
{
    return callback_QueryInterface(&impl_from_validation(iface)->IBackgroundCopyCallback3_iface, riid, out);
}

static ULONG WINAPI validation_AddRef(IBackgroundCopyServerCertificateValidationCallback *iface)
{
    return callback_AddRef(&impl_from_validation(iface)->IBackgroundCopyCallback3_iface);
}

static ULONG WINAPI validation_Release(IBackgroundCopyServerCertificateValidationCallback *iface)
{
    return callback_Release(&impl_from_validation(iface)->IBackgroundCopyCallback3_iface);
}

static HRESULT WINAPI validation_ValidateServerCertificate(IBackgroundCopyServerCertificateValidationCallback *iface,
        IBackgroundCopyJob *job, IBackgroundCopyFile *file, DWORD cert_length, const BYTE *cert,
        DWORD encoding, DWORD store_length, const BYTE *store)
{
    struct callback *callback = impl_from_validation(iface);

    if (InterlockedIncrement(&callback->validations) == 1)
    {
        callback->certificate_length = cert_length;
        callback->certificate_first = cert_length ? cert[0] : 0;
        callback->certificate_file_given = file != NULL;
    }
    return S_OK;
}

static const IBackgroundCopyServerCertificateValidationCallbackVtbl validation_vtbl =
{
    validation_QueryInterface, validation_AddRef, validation_Release,
    validation_ValidateServerCertificate,
};

static void callback_init(struct callback *callback)
{
    memset(callback, 0, sizeof(*callback));
    callback->IBackgroundCopyCallback3_iface.lpVtbl = &callback_vtbl;
    callback->IBackgroundCopyServerCertificateValidationCallback_iface.lpVtbl = &validation_vtbl;
    callback->refcount = 1;
    callback->transferred = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->error = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->file_transferred = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->ranges = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->released = CreateEventW(NULL, TRUE, FALSE, NULL);
}

static void callback_reset(struct callback *callback)
{
    ResetEvent(callback->transferred);
    ResetEvent(callback->error);
    ResetEvent(callback->file_transferred);
    ResetEvent(callback->ranges);
    callback->file_transferred_calls = 0;
    callback->ranges_calls = 0;
    callback->file_name[0] = 0;
}

static void callback_cleanup(struct callback *callback)
{
    CloseHandle(callback->transferred);
    CloseHandle(callback->error);
    CloseHandle(callback->file_transferred);
    CloseHandle(callback->ranges);
    CloseHandle(callback->released);
}

/* The server releases its proxies of our callback when it is done with them, by calls of its own
 * into this process: waits (bounded) until only our reference is left. */
static LONG callback_wait_released(struct callback *callback)
{
    if (InterlockedCompareExchange(&callback->refcount, 0, 0) != 1) pump_wait(callback->released, WAIT_MS);
    return callback->refcount - 1;
}

/* --- IBackgroundCopyCallback1 (legacy QMGR): what OnStatus was told ---------------------------- */

struct callback1
{
    IBackgroundCopyCallback1 IBackgroundCopyCallback1_iface;
    LONG refcount;
    HANDLE called;
    LONG calls;
    DWORD status, file_index;
    GUID group_id, job_id;
};

static struct callback1 *impl_from_IBackgroundCopyCallback1(IBackgroundCopyCallback1 *iface)
{
    return CONTAINING_RECORD(iface, struct callback1, IBackgroundCopyCallback1_iface);
}

static HRESULT WINAPI callback1_QueryInterface(IBackgroundCopyCallback1 *iface, REFIID riid, void **out)
{
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IBackgroundCopyCallback1))
    {
        *out = NULL;
        return E_NOINTERFACE;
    }
    *out = iface;
    IBackgroundCopyCallback1_AddRef(iface);
    return S_OK;
}

static ULONG WINAPI callback1_AddRef(IBackgroundCopyCallback1 *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback1(iface)->refcount);
}

static ULONG WINAPI callback1_Release(IBackgroundCopyCallback1 *iface)
{
    return InterlockedDecrement(&impl_from_IBackgroundCopyCallback1(iface)->refcount);
}

static HRESULT WINAPI callback1_OnStatus(IBackgroundCopyCallback1 *iface, IBackgroundCopyGroup *group,
        IBackgroundCopyJob1 *job, DWORD file_index, DWORD status, DWORD retries, DWORD win32, DWORD transport)
{
    struct callback1 *callback = impl_from_IBackgroundCopyCallback1(iface);

    /* The group and the job are proxies of the surrogate's objects here: asked back at once. */
    if (group) IBackgroundCopyGroup_get_GroupID(group, &callback->group_id);
    if (job) IBackgroundCopyJob1_get_JobID(job, &callback->job_id);
    callback->status = status;
    callback->file_index = file_index;
    InterlockedIncrement(&callback->calls);
    SetEvent(callback->called);
    return S_OK;
}

static HRESULT WINAPI callback1_OnProgress(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
        IBackgroundCopyJob1 *job, DWORD file_index, DWORD value)
{
    return S_OK;
}

static HRESULT WINAPI callback1_OnProgressEx(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
        IBackgroundCopyJob1 *job, DWORD file_index, DWORD value, DWORD size, BYTE *data)
{
    return S_OK;
}

static const IBackgroundCopyCallback1Vtbl callback1_vtbl =
{
    callback1_QueryInterface, callback1_AddRef, callback1_Release,
    callback1_OnStatus, callback1_OnProgress, callback1_OnProgressEx,
};

/* --- create / finish: the scenario ---------------------------------------------------- */

static int run_create(const CLSID *clsid)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    WCHAR id_string[39];
    HRESULT hr;
    GUID id;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(hr = CoCreateInstance(clsid, NULL, CLSCTX_LOCAL_SERVER, &IID_IBackgroundCopyManager, (void **)&manager)))
    {
        out("CoCreateInstance: %#lx\n", hr);
        return 1;
    }
    check(is_proxy(manager) && !GetModuleHandleW(L"qmgr.dll"), "the manager is a proxy");
    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"oop scenario", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        out("CreateJob: %#lx\n", hr);
        return 1;
    }
    StringFromGUID2(&id, id_string, ARRAYSIZE(id_string));
    out("job %ls\n", id_string);
    check(IBackgroundCopyJob_Release(job) == 0, "Release after CreateJob is 0");
    IBackgroundCopyManager_Release(manager);
    CoUninitialize();
    return failures ? 2 : 0;
}

static int run_finish(const CLSID *clsid, const GUID *id, const WCHAR *url, const WCHAR *local)
{
    IBackgroundCopyJob *job = NULL, *item;
    IEnumBackgroundCopyJobs *jobs;
    IBackgroundCopyManager *manager;
    struct callback callback;
    BG_JOB_STATE state;
    WCHAR *owner, sid[256];
    BOOL listed = FALSE;
    ULONG fetched;
    HRESULT hr;
    HANDLE file;
    BYTE data[1000];
    DWORD size = 0;

    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    /* What Microsoft's BITS samples call first. */
    hr = CoInitializeSecurity(NULL, -1, NULL, NULL, RPC_C_AUTHN_LEVEL_CONNECT, RPC_C_IMP_LEVEL_IMPERSONATE,
                              NULL, EOAC_NONE, 0);
    check(hr == S_OK, "CoInitializeSecurity");
    callback_init(&callback);
    if (FAILED(hr = CoCreateInstance(clsid, NULL, CLSCTX_LOCAL_SERVER, &IID_IBackgroundCopyManager, (void **)&manager)))
    {
        out("CoCreateInstance: %#lx\n", hr);
        return 1;
    }
    /* And what services that impersonate do on every BITS pointer. */
    hr = CoSetProxyBlanket((IUnknown *)manager, RPC_C_AUTHN_DEFAULT, RPC_C_AUTHZ_DEFAULT, COLE_DEFAULT_PRINCIPAL,
                           RPC_C_AUTHN_LEVEL_DEFAULT, RPC_C_IMP_LEVEL_IMPERSONATE, COLE_DEFAULT_AUTHINFO, EOAC_DEFAULT);
    /* Wine 8's proxies answer E_NOTIMPL (IClientSecurity::SetBlanket is a stub in combase);
     * the calls that follow work with the default blanket. */
    check(hr == S_OK || hr == E_NOTIMPL, "CoSetProxyBlanket");

    if (FAILED(hr = IBackgroundCopyManager_GetJob(manager, id, &job)))
    {
        out("GetJob: %#lx\n", hr);
        return 1;
    }
    if (SUCCEEDED(hr = IBackgroundCopyManager_EnumJobs(manager, 0, &jobs)))
    {
        while (IEnumBackgroundCopyJobs_Next(jobs, 1, &item, &fetched) == S_OK)
        {
            GUID item_id;
            if (SUCCEEDED(IBackgroundCopyJob_GetId(item, &item_id)) && IsEqualGUID(&item_id, id)) listed = TRUE;
            IBackgroundCopyJob_Release(item);
        }
        IEnumBackgroundCopyJobs_Release(jobs);
    }
    check(listed, "EnumJobs lists the job");
    own_sid(sid, ARRAYSIZE(sid));
    if (SUCCEEDED(hr = IBackgroundCopyJob_GetOwner(job, &owner)))
    {
        check(!wcscmp(owner, sid), "GetOwner is the client's user");
        out("owner %ls, client %ls\n", owner, sid);
        CoTaskMemFree(owner);
    }
    else check(FALSE, "GetOwner");

    hr = IBackgroundCopyJob_AddFile(job, url, local);
    check(hr == S_OK, "AddFile");
    hr = IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR);
    check(hr == S_OK, "SetNotifyFlags");
    hr = IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback.IBackgroundCopyCallback3_iface);
    check(hr == S_OK, "SetNotifyInterface");
    hr = IBackgroundCopyJob_Resume(job);
    check(hr == S_OK, "Resume");
    if (!pump_wait(callback.transferred, WAIT_MS))
    {
        IBackgroundCopyJob_GetState(job, &state);
        out("no JobTransferred within %u ms (state %d)\n", WAIT_MS, state);
        return 2;
    }
    check(callback.transferred_thread == GetCurrentThreadId(), "JobTransferred on the STA's own thread");
    check(IsEqualGUID(&callback.job_id, id), "JobTransferred names the job");
    hr = IBackgroundCopyJob_Complete(job);
    check(hr == S_OK, "Complete");
    hr = IBackgroundCopyJob_GetState(job, &state);
    check(hr == S_OK && state == BG_JOB_STATE_ACKNOWLEDGED, "ACKNOWLEDGED after Complete");
    IBackgroundCopyJob_SetNotifyInterface(job, NULL);
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyManager_Release(manager);

    file = CreateFileW(local, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    check(file != INVALID_HANDLE_VALUE, "the file is there");
    if (file != INVALID_HANDLE_VALUE)
    {
        ReadFile(file, data, sizeof(data), &size, NULL);
        CloseHandle(file);
    }
    check(size == sizeof(data), "the file's size");
    check(callback_wait_released(&callback) == 0, "the callback is released");
    callback_cleanup(&callback);
    CoUninitialize();
    out("finished\n");
    return failures ? 2 : 0;
}

/* --- transcript -------------------------------------------------------------------------------- */

static BOOL in_process;
static WCHAR own_user[256], work_dir[MAX_PATH], base_url[128];

static void line(const char *what, HRESULT hr, const char *format, ...)
{
    va_list args;

    printf("%s -> %#lx", what, hr);
    if (format)
    {
        printf(": ");
        va_start(args, format);
        vprintf(format, args);
        va_end(args);
    }
    printf("\n");
    fflush(stdout);
}

/* A string result: printed, then freed. The owner's SID prints as "<own user>". */
static void string_line(const char *what, HRESULT hr, WCHAR *value)
{
    if (!value) line(what, hr, "(null)");
    else if (own_user[0] && !wcscmp(value, own_user)) line(what, hr, "<own user>");
    else line(what, hr, "\"%ls\"", value);
    CoTaskMemFree(value);
}

/* Calls whose result depends on crossing the boundary: the proxies answer NULL [ref] pointers
 * themselves. The line says whether each side gave what it should. */
static void boundary_line(const char *what, HRESULT hr, HRESULT in_process_hr, HRESULT proxy_hr)
{
    line(what, 0, "%s", hr == (in_process ? in_process_hr : proxy_hr) ? "as expected on this side" : "UNEXPECTED");
    if (hr != (in_process ? in_process_hr : proxy_hr)) printf("  (got %#lx)\n", hr);
}

static void url(const WCHAR *path, WCHAR *buffer, size_t size)
{
    swprintf(buffer, size, L"%ls%ls", base_url, path);
}

static void local_path(const WCHAR *name, WCHAR *buffer, size_t size)
{
    swprintf(buffer, size, L"%ls\\%ls", work_dir, name);
}

static void transcript_error(IBackgroundCopyManager *manager, struct callback *callback);
static void transcript_files(IBackgroundCopyJob *job);

static void transcript_job(IBackgroundCopyManager *manager, struct callback *callback)
{
    IBackgroundCopyJob *job, *found;
    IBackgroundCopyJob2 *job2;
    IBackgroundCopyJob3 *job3;
    IBackgroundCopyJob4 *job4;
    IBackgroundCopyJob5 *job5;
    IBackgroundCopyJobHttpOptions *http;
    IBackgroundCopyJobHttpOptions2 *http2;
    IBackgroundCopyJobHttpOptions3 *http3;
    IBitsTokenOptions *token;
    IUnknown *unk;
    WCHAR *s1, *s2, remote[256], local[MAX_PATH];
    BG_JOB_PROXY_USAGE usage;
    BG_JOB_PROGRESS progress;
    BG_JOB_TIMES times;
    BG_JOB_STATE state;
    BG_JOB_TYPE type;
    BG_JOB_PRIORITY priority;
    BG_JOB_REPLY_PROGRESS reply;
    BG_FILE_INFO infos[2];
    BG_FILE_RANGE range;
    BG_AUTH_CREDENTIALS credentials;
    BITS_JOB_PROPERTY_VALUE value;
    GUID id, id2;
    ULONG ul;
    DWORD dw;
    BOOL b;
    HRESULT hr;
    BYTE *reply_data;
    UINT64 reply_size;
    IBackgroundCopyError *error;

    hr = IBackgroundCopyManager_CreateJob(manager, L"transcript", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    line("Manager.CreateJob", hr, NULL);
    if (FAILED(hr)) return;
    hr = IBackgroundCopyManager_GetJob(manager, &id, &found);
    line("Manager.GetJob", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IBackgroundCopyJob_GetId(found, &id2);
        line("Job.GetId", hr, "%s", IsEqualGUID(&id, &id2) ? "the created job" : "ANOTHER JOB");
        IBackgroundCopyJob_Release(found);
    }
    hr = IBackgroundCopyManager_GetJob(manager, &IID_IUnknown, &found);
    line("Manager.GetJob(unknown)", hr, NULL);

    hr = IBackgroundCopyJob_GetType(job, &type);
    line("Job.GetType", hr, "%d", type);
    hr = IBackgroundCopyJob_GetState(job, &state);
    line("Job.GetState", hr, "%d", state);
    hr = IBackgroundCopyJob_GetPriority(job, &priority);
    line("Job.GetPriority", hr, "%d", priority);
    hr = IBackgroundCopyJob_GetNotifyFlags(job, &ul);
    line("Job.GetNotifyFlags", hr, "%#lx", ul);
    hr = IBackgroundCopyJob_GetMinimumRetryDelay(job, &ul);
    line("Job.GetMinimumRetryDelay", hr, "%lu", ul);
    hr = IBackgroundCopyJob_GetNoProgressTimeout(job, &ul);
    line("Job.GetNoProgressTimeout", hr, "%lu", ul);
    hr = IBackgroundCopyJob_GetErrorCount(job, &ul);
    line("Job.GetErrorCount", hr, "%lu", ul);
    hr = IBackgroundCopyJob_GetDisplayName(job, &s1);
    string_line("Job.GetDisplayName", hr, s1);
    hr = IBackgroundCopyJob_GetDescription(job, &s1);
    string_line("Job.GetDescription", hr, s1);
    hr = IBackgroundCopyJob_GetOwner(job, &s1);
    string_line("Job.GetOwner", hr, s1);
    hr = IBackgroundCopyJob_GetProgress(job, &progress);
    line("Job.GetProgress", hr, "%I64u/%I64u bytes, %lu/%lu files", progress.BytesTransferred, progress.BytesTotal,
         progress.FilesTransferred, progress.FilesTotal);
    hr = IBackgroundCopyJob_GetTimes(job, &times);
    line("Job.GetTimes", hr, "creation %s, modification %s, transfer completion %s",
         times.CreationTime.dwLowDateTime || times.CreationTime.dwHighDateTime ? "set" : "zero",
         CompareFileTime(&times.ModificationTime, &times.CreationTime) >= 0 ? "not before it" : "BEFORE IT",
         times.TransferCompletionTime.dwLowDateTime || times.TransferCompletionTime.dwHighDateTime ? "set" : "zero");
    hr = IBackgroundCopyJob_GetError(job, &error);
    line("Job.GetError", hr, NULL);
    hr = IBackgroundCopyJob_GetNotifyInterface(job, &unk);
    line("Job.GetNotifyInterface", hr, "%s", unk ? "an object" : "NULL");
    if (unk) IUnknown_Release(unk);
    hr = IBackgroundCopyJob_GetProxySettings(job, &usage, &s1, &s2);
    line("Job.GetProxySettings", hr, "%d", usage);
    string_line("  list", hr, s1);
    string_line("  bypass", hr, s2);

    line("Job.SetDisplayName", IBackgroundCopyJob_SetDisplayName(job, L"renamed"), NULL);
    hr = IBackgroundCopyJob_GetDisplayName(job, &s1);
    string_line("Job.GetDisplayName", hr, s1);
    line("Job.SetDescription", IBackgroundCopyJob_SetDescription(job, L"a description"), NULL);
    hr = IBackgroundCopyJob_GetDescription(job, &s1);
    string_line("Job.GetDescription", hr, s1);
    line("Job.SetPriority(FOREGROUND)", IBackgroundCopyJob_SetPriority(job, BG_JOB_PRIORITY_FOREGROUND), NULL);
    line("Job.SetPriority(99)", IBackgroundCopyJob_SetPriority(job, 99), NULL);
    hr = IBackgroundCopyJob_GetPriority(job, &priority);
    line("Job.GetPriority", hr, "%d", priority);
    line("Job.SetNotifyFlags(0x40)", IBackgroundCopyJob_SetNotifyFlags(job, 0x40), NULL);
    line("Job.SetMinimumRetryDelay(1)", IBackgroundCopyJob_SetMinimumRetryDelay(job, 1), NULL);
    hr = IBackgroundCopyJob_GetMinimumRetryDelay(job, &ul);
    line("Job.GetMinimumRetryDelay", hr, "%lu", ul);
    line("Job.SetNoProgressTimeout", IBackgroundCopyJob_SetNoProgressTimeout(job, 100), NULL);
    hr = IBackgroundCopyJob_GetNoProgressTimeout(job, &ul);
    line("Job.GetNoProgressTimeout", hr, "%lu", ul);
    line("Job.SetProxySettings(OVERRIDE)", IBackgroundCopyJob_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE,
         L"proxy.invalid:8080", L"<local>"), NULL);
    hr = IBackgroundCopyJob_GetProxySettings(job, &usage, &s1, &s2);
    line("Job.GetProxySettings", hr, "%d", usage);
    string_line("  list", hr, s1);
    string_line("  bypass", hr, s2);
    line("Job.SetProxySettings(OVERRIDE, NULL)", IBackgroundCopyJob_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE,
         NULL, NULL), NULL);
    line("Job.SetProxySettings(PRECONFIG)", IBackgroundCopyJob_SetProxySettings(job, BG_JOB_PROXY_USAGE_PRECONFIG,
         NULL, NULL), NULL);
    line("Job.Resume(no files)", IBackgroundCopyJob_Resume(job), NULL);

    url(L"/file/1000?name=a", remote, ARRAYSIZE(remote));
    local_path(L"a.bin", local, ARRAYSIZE(local));
    infos[0].RemoteName = _wcsdup(remote);
    infos[0].LocalName = _wcsdup(local);
    url(L"/file/2000?name=b", remote, ARRAYSIZE(remote));
    local_path(L"b.bin", local, ARRAYSIZE(local));
    infos[1].RemoteName = _wcsdup(remote);
    infos[1].LocalName = _wcsdup(local);
    line("Job.AddFileSet", IBackgroundCopyJob_AddFileSet(job, 2, infos), NULL);
    line("Job.AddFile(bad URL)", IBackgroundCopyJob_AddFile(job, L"nothing://x", local), NULL);
    transcript_files(job);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2)))
    {
        hr = IBackgroundCopyJob2_GetNotifyCmdLine(job2, &s1, &s2);
        string_line("Job2.GetNotifyCmdLine program", hr, s1);
        string_line("  parameters", hr, s2);
        line("Job2.SetNotifyCmdLine", IBackgroundCopyJob2_SetNotifyCmdLine(job2, L"C:\\windows\\notepad.exe",
             L"notepad.exe x"), NULL);
        hr = IBackgroundCopyJob2_GetNotifyCmdLine(job2, &s1, &s2);
        string_line("Job2.GetNotifyCmdLine program", hr, s1);
        string_line("  parameters", hr, s2);
        line("Job2.SetNotifyCmdLine(NULL, NULL)", IBackgroundCopyJob2_SetNotifyCmdLine(job2, NULL, NULL), NULL);
        memset(&reply, 0, sizeof(reply));
        line("Job2.GetReplyProgress", IBackgroundCopyJob2_GetReplyProgress(job2, &reply), NULL);
        reply_data = NULL;
        hr = IBackgroundCopyJob2_GetReplyData(job2, &reply_data, &reply_size);
        line("Job2.GetReplyData", hr, NULL);
        CoTaskMemFree(reply_data);
        line("Job2.SetReplyFileName", IBackgroundCopyJob2_SetReplyFileName(job2, L"C:\\reply"), NULL);
        s1 = NULL;
        hr = IBackgroundCopyJob2_GetReplyFileName(job2, &s1);
        string_line("Job2.GetReplyFileName", hr, s1);
        credentials.Target = BG_AUTH_TARGET_SERVER;
        credentials.Scheme = BG_AUTH_SCHEME_BASIC;
        credentials.Credentials.Basic.UserName = (WCHAR *)L"user";
        credentials.Credentials.Basic.Password = (WCHAR *)L"password";
        line("Job2.SetCredentials", IBackgroundCopyJob2_SetCredentials(job2, &credentials), NULL);
        credentials.Target = 7;
        line("Job2.SetCredentials(bad target)", IBackgroundCopyJob2_SetCredentials(job2, &credentials), NULL);
        line("Job2.RemoveCredentials", IBackgroundCopyJob2_RemoveCredentials(job2, BG_AUTH_TARGET_SERVER,
             BG_AUTH_SCHEME_BASIC), NULL);
        line("Job2.RemoveCredentials(again)", IBackgroundCopyJob2_RemoveCredentials(job2, BG_AUTH_TARGET_SERVER,
             BG_AUTH_SCHEME_BASIC), NULL);
        IBackgroundCopyJob2_Release(job2);
    }
    else line("QI Job2", hr, NULL);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob3, (void **)&job3)))
    {
        line("Job3.ReplaceRemotePrefix", IBackgroundCopyJob3_ReplaceRemotePrefix(job3, L"http://127.0.0.1",
             L"http://localhost"), NULL);
        line("Job3.ReplaceRemotePrefix(back)", IBackgroundCopyJob3_ReplaceRemotePrefix(job3, L"http://localhost",
             L"http://127.0.0.1"), NULL);
        line("Job3.ReplaceRemotePrefix(no match)", IBackgroundCopyJob3_ReplaceRemotePrefix(job3, L"ftp://x",
             L"http://y"), NULL);
        range.InitialOffset = 10;
        range.Length = 20;
        url(L"/file/3000?name=c", remote, ARRAYSIZE(remote));
        local_path(L"c.bin", local, ARRAYSIZE(local));
        line("Job3.AddFileWithRanges", IBackgroundCopyJob3_AddFileWithRanges(job3, remote, local, 1, &range), NULL);
        range.InitialOffset = BG_LENGTH_TO_EOF;
        line("Job3.AddFileWithRanges(bad range)", IBackgroundCopyJob3_AddFileWithRanges(job3, remote, local, 1, &range),
             NULL);
        line("Job3.SetFileACLFlags", IBackgroundCopyJob3_SetFileACLFlags(job3, BG_COPY_FILE_OWNER), NULL);
        hr = IBackgroundCopyJob3_GetFileACLFlags(job3, &dw);
        line("Job3.GetFileACLFlags", hr, "%#lx", dw);
        line("Job3.SetFileACLFlags(0x100)", IBackgroundCopyJob3_SetFileACLFlags(job3, 0x100), NULL);
        IBackgroundCopyJob3_Release(job3);
    }
    else line("QI Job3", hr, NULL);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob4, (void **)&job4)))
    {
        line("Job4.SetPeerCachingFlags", IBackgroundCopyJob4_SetPeerCachingFlags(job4, BG_JOB_ENABLE_PEERCACHING_CLIENT),
             NULL);
        hr = IBackgroundCopyJob4_GetPeerCachingFlags(job4, &dw);
        line("Job4.GetPeerCachingFlags", hr, "%#lx", dw);
        line("Job4.SetPeerCachingFlags(0x80)", IBackgroundCopyJob4_SetPeerCachingFlags(job4, 0x80), NULL);
        hr = IBackgroundCopyJob4_GetOwnerIntegrityLevel(job4, &ul);
        line("Job4.GetOwnerIntegrityLevel", hr, "%#lx", ul);
        hr = IBackgroundCopyJob4_GetOwnerElevationState(job4, &b);
        line("Job4.GetOwnerElevationState", hr, "%d", b);
        line("Job4.SetMaximumDownloadTime", IBackgroundCopyJob4_SetMaximumDownloadTime(job4, 3600), NULL);
        hr = IBackgroundCopyJob4_GetMaximumDownloadTime(job4, &ul);
        line("Job4.GetMaximumDownloadTime", hr, "%lu", ul);
        boundary_line("Job4.GetMaximumDownloadTime(NULL)", IBackgroundCopyJob4_GetMaximumDownloadTime(job4, NULL),
                      E_INVALIDARG, HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER));
        IBackgroundCopyJob4_Release(job4);
    }
    else line("QI Job4", hr, NULL);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob5, (void **)&job5)))
    {
        static const BITS_JOB_PROPERTY_ID ids[] =
        {
            BITS_JOB_PROPERTY_ID_COST_FLAGS, BITS_JOB_PROPERTY_NOTIFICATION_CLSID, BITS_JOB_PROPERTY_DYNAMIC_CONTENT,
            BITS_JOB_PROPERTY_HIGH_PERFORMANCE, BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE,
            BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS, BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS,
            BITS_JOB_PROPERTY_ON_DEMAND_MODE,
        };
        char what[64];
        size_t i;

        for (i = 0; i < ARRAYSIZE(ids); ++i)
        {
            memset(&value, 0, sizeof(value));
            hr = IBackgroundCopyJob5_GetProperty(job5, ids[i], &value);
            snprintf(what, sizeof(what), "Job5.GetProperty(%d)", ids[i]);
            line(what, hr, "%08lx %08lx %08lx %08lx", ((DWORD *)&value)[0], ((DWORD *)&value)[1],
                 ((DWORD *)&value)[2], ((DWORD *)&value)[3]);
        }
        value.Dword = BITS_COST_STATE_TRANSFER_NOT_ROAMING;
        line("Job5.SetProperty(COST_FLAGS)", IBackgroundCopyJob5_SetProperty(job5, BITS_JOB_PROPERTY_ID_COST_FLAGS,
             value), NULL);
        value.ClsID = CLSID_BackgroundCopyManager;
        line("Job5.SetProperty(NOTIFICATION_CLSID)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_NOTIFICATION_CLSID, value), NULL);
        value.Enable = TRUE;
        line("Job5.SetProperty(DYNAMIC_CONTENT)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_DYNAMIC_CONTENT, value), NULL);
        line("Job5.SetProperty(HIGH_PERFORMANCE)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value), NULL);
        value.Uint64 = 1 << 20;
        line("Job5.SetProperty(MAX_DOWNLOAD_SIZE)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, value), NULL);
        value.Target = BG_AUTH_TARGET_PROXY;
        line("Job5.SetProperty(USE_STORED_CREDENTIALS)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS, value), NULL);
        value.Dword = 1000;
        line("Job5.SetProperty(MINIMUM_NOTIFICATION_INTERVAL_MS)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, value), NULL);
        value.Enable = TRUE;
        line("Job5.SetProperty(ON_DEMAND_MODE)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_ON_DEMAND_MODE, value), NULL);
        for (i = 0; i < ARRAYSIZE(ids); ++i)
        {
            memset(&value, 0, sizeof(value));
            hr = IBackgroundCopyJob5_GetProperty(job5, ids[i], &value);
            snprintf(what, sizeof(what), "Job5.GetProperty(%d)", ids[i]);
            line(what, hr, "%08lx %08lx %08lx %08lx", ((DWORD *)&value)[0], ((DWORD *)&value)[1],
                 ((DWORD *)&value)[2], ((DWORD *)&value)[3]);
        }
        /* An identifier the union does not know: the proxy cannot marshal it (as Windows' own
         * proxies, whose IDL has no default arm either). */
        boundary_line("Job5.GetProperty(6)", IBackgroundCopyJob5_GetProperty(job5, 6, &value),
                      BG_E_UNKNOWN_PROPERTY_ID, HRESULT_FROM_WIN32(RPC_S_INVALID_TAG));
        IBackgroundCopyJob5_Release(job5);
    }
    else line("QI Job5", hr, NULL);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&http)))
    {
        line("HttpOptions.SetCustomHeaders", IBackgroundCopyJobHttpOptions_SetCustomHeaders(http,
             L"X-One: 1\r\nX-Two: 2"), NULL);
        hr = IBackgroundCopyJobHttpOptions_GetCustomHeaders(http, &s1);
        string_line("HttpOptions.GetCustomHeaders", hr, s1);
        line("HttpOptions.SetSecurityFlags", IBackgroundCopyJobHttpOptions_SetSecurityFlags(http,
             BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT), NULL);
        hr = IBackgroundCopyJobHttpOptions_GetSecurityFlags(http, &ul);
        line("HttpOptions.GetSecurityFlags", hr, "%#lx", ul);
        line("HttpOptions.SetSecurityFlags(bad)", IBackgroundCopyJobHttpOptions_SetSecurityFlags(http, 0x10000), NULL);
        line("HttpOptions.SetClientCertificateByName", IBackgroundCopyJobHttpOptions_SetClientCertificateByName(http,
             BG_CERT_STORE_LOCATION_CURRENT_USER, L"MY", L"nobody at all"), NULL);
        line("HttpOptions.SetClientCertificateByName(bad location)",
             IBackgroundCopyJobHttpOptions_SetClientCertificateByName(http, 99, L"MY", L"x"), NULL);
        {
            BG_CERT_STORE_LOCATION location = 0;
            BYTE *hash = NULL;
            WCHAR *store = NULL, *subject = NULL;

            hr = IBackgroundCopyJobHttpOptions_GetClientCertificate(http, &location, &store, &hash, &subject);
            line("HttpOptions.GetClientCertificate", hr, NULL);
            CoTaskMemFree(store);
            CoTaskMemFree(hash);
            CoTaskMemFree(subject);
        }
        line("HttpOptions.RemoveClientCertificate", IBackgroundCopyJobHttpOptions_RemoveClientCertificate(http), NULL);
        if (SUCCEEDED(hr = IBackgroundCopyJobHttpOptions_QueryInterface(http, &IID_IBackgroundCopyJobHttpOptions2,
                                                                        (void **)&http2)))
        {
            hr = IBackgroundCopyJobHttpOptions2_GetHttpMethod(http2, &s1);
            string_line("HttpOptions2.GetHttpMethod", hr, s1);
            line("HttpOptions2.SetHttpMethod", IBackgroundCopyJobHttpOptions2_SetHttpMethod(http2, L"PUT"), NULL);
            hr = IBackgroundCopyJobHttpOptions2_GetHttpMethod(http2, &s1);
            string_line("HttpOptions2.GetHttpMethod", hr, s1);
            line("HttpOptions2.SetHttpMethod(GET)", IBackgroundCopyJobHttpOptions2_SetHttpMethod(http2, L"GET"), NULL);
            IBackgroundCopyJobHttpOptions2_Release(http2);
        }
        else line("QI HttpOptions2", hr, NULL);
        if (SUCCEEDED(hr = IBackgroundCopyJobHttpOptions_QueryInterface(http, &IID_IBackgroundCopyJobHttpOptions3,
                                                                        (void **)&http3)))
        {
            line("HttpOptions3.SetServerCertificateValidationInterface",
                 IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(http3,
                     (IUnknown *)&callback->IBackgroundCopyServerCertificateValidationCallback_iface), NULL);
            line("HttpOptions3.SetServerCertificateValidationInterface(NULL)",
                 IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(http3, NULL), NULL);
            line("HttpOptions3.MakeCustomHeadersWriteOnly",
                 IBackgroundCopyJobHttpOptions3_MakeCustomHeadersWriteOnly(http3), NULL);
            hr = IBackgroundCopyJobHttpOptions3_GetCustomHeaders(http3, &s1);
            string_line("HttpOptions3.GetCustomHeaders", hr, s1);
            IBackgroundCopyJobHttpOptions3_Release(http3);
        }
        else line("QI HttpOptions3", hr, NULL);
        boundary_line("HttpOptions.GetSecurityFlags(NULL)", IBackgroundCopyJobHttpOptions_GetSecurityFlags(http, NULL),
                      HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER), HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER));
        IBackgroundCopyJobHttpOptions_Release(http);
    }
    else line("QI HttpOptions", hr, NULL);

    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBitsTokenOptions, (void **)&token)))
    {
        line("TokenOptions.SetHelperTokenFlags", IBitsTokenOptions_SetHelperTokenFlags(token, BG_TOKEN_NETWORK), NULL);
        hr = IBitsTokenOptions_GetHelperTokenFlags(token, &dw);
        line("TokenOptions.GetHelperTokenFlags", hr, "%#lx", dw);
        line("TokenOptions.SetHelperTokenFlags(bad)", IBitsTokenOptions_SetHelperTokenFlags(token, 0x100), NULL);
        hr = IBitsTokenOptions_GetHelperTokenSid(token, &s1);
        string_line("TokenOptions.GetHelperTokenSid", hr, s1);
        line("TokenOptions.SetHelperToken", IBitsTokenOptions_SetHelperToken(token), NULL);
        hr = IBitsTokenOptions_GetHelperTokenSid(token, &s1);
        string_line("TokenOptions.GetHelperTokenSid", hr, s1);
        line("TokenOptions.ClearHelperToken", IBitsTokenOptions_ClearHelperToken(token), NULL);
        hr = IBitsTokenOptions_GetHelperTokenSid(token, &s1);
        string_line("TokenOptions.GetHelperTokenSid", hr, s1);
        IBitsTokenOptions_Release(token);
    }
    else line("QI TokenOptions", hr, NULL);

    boundary_line("Job.GetState(NULL)", IBackgroundCopyJob_GetState(job, NULL), E_INVALIDARG,
                  HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER));
    line("Job.Suspend", IBackgroundCopyJob_Suspend(job), NULL);
    line("Job.TakeOwnership", IBackgroundCopyJob_TakeOwnership(job), NULL);
    line("Job.Cancel", IBackgroundCopyJob_Cancel(job), NULL);
    hr = IBackgroundCopyJob_GetState(job, &state);
    line("Job.GetState", hr, "%d", state);
    line("Job.Resume(cancelled)", IBackgroundCopyJob_Resume(job), NULL);
    line("Job.Release", 0, "%lu", IBackgroundCopyJob_Release(job));
    free(infos[0].RemoteName);
    free(infos[0].LocalName);
    free(infos[1].RemoteName);
    free(infos[1].LocalName);
}

static void transcript_file(IBackgroundCopyFile *file, ULONG index)
{
    IBackgroundCopyFile2 *file2;
    IBackgroundCopyFile3 *file3;
    IBackgroundCopyFile4 *file4;
    IBackgroundCopyFile5 *file5;
    IBackgroundCopyFile6 *file6;
    BG_FILE_PROGRESS progress;
    BG_FILE_RANGE *ranges, range;
    BITS_FILE_PROPERTY_VALUE value;
    WCHAR *s1, *base;
    UINT64 origin, peers;
    DWORD count;
    BOOL b;
    HRESULT hr;

    printf("file %lu\n", index);
    hr = IBackgroundCopyFile_GetRemoteName(file, &s1);
    if (SUCCEEDED(hr) && !wcsncmp(s1, base_url, wcslen(base_url))) memmove(s1, s1 + wcslen(base_url),
        (wcslen(s1) - wcslen(base_url) + 1) * sizeof(WCHAR));
    string_line("File.GetRemoteName", hr, s1);
    hr = IBackgroundCopyFile_GetLocalName(file, &s1);
    if (SUCCEEDED(hr) && (base = wcsrchr(s1, L'\\'))) memmove(s1, base + 1, (wcslen(base + 1) + 1) * sizeof(WCHAR));
    string_line("File.GetLocalName", hr, s1);
    hr = IBackgroundCopyFile_GetProgress(file, &progress);
    line("File.GetProgress", hr, "%I64u/%I64x, completed %d", progress.BytesTransferred, progress.BytesTotal,
         progress.Completed);
    if (SUCCEEDED(hr = IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile2, (void **)&file2)))
    {
        ranges = NULL;
        hr = IBackgroundCopyFile2_GetFileRanges(file2, &count, &ranges);
        line("File2.GetFileRanges", hr, "%lu range(s)%s", count, ranges ? ", array" : "");
        if (ranges && count) line("  first", hr, "%I64u+%I64u", ranges[0].InitialOffset, ranges[0].Length);
        CoTaskMemFree(ranges);
        IBackgroundCopyFile2_Release(file2);
    }
    else line("QI File2", hr, NULL);
    if (SUCCEEDED(hr = IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile3, (void **)&file3)))
    {
        hr = IBackgroundCopyFile3_GetTemporaryName(file3, &s1);
        base = SUCCEEDED(hr) ? wcsrchr(s1, L'\\') : NULL;
        line("File3.GetTemporaryName", hr, "%s", base && !wcsncmp(base, L"\\BIT", 4) && wcslen(base) == 13
             && !wcscmp(base + 9, L".tmp") ? "BITxxxxx.tmp" : "OTHER");
        CoTaskMemFree(s1);
        hr = IBackgroundCopyFile3_GetValidationState(file3, &b);
        line("File3.GetValidationState", hr, "%d", b);
        line("File3.SetValidationState", IBackgroundCopyFile3_SetValidationState(file3, TRUE), NULL);
        hr = IBackgroundCopyFile3_IsDownloadedFromPeer(file3, &b);
        line("File3.IsDownloadedFromPeer", hr, "%d", b);
        IBackgroundCopyFile3_Release(file3);
    }
    else line("QI File3", hr, NULL);
    if (SUCCEEDED(hr = IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile4, (void **)&file4)))
    {
        hr = IBackgroundCopyFile4_GetPeerDownloadStats(file4, &origin, &peers);
        line("File4.GetPeerDownloadStats", hr, "%I64u %I64u", origin, peers);
        IBackgroundCopyFile4_Release(file4);
    }
    else line("QI File4", hr, NULL);
    if (SUCCEEDED(hr = IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile5, (void **)&file5)))
    {
        memset(&value, 0, sizeof(value));
        hr = IBackgroundCopyFile5_GetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, &value);
        string_line("File5.GetProperty(HTTP_RESPONSE_HEADERS)", hr, value.String);
        value.String = (WCHAR *)L"x";
        line("File5.SetProperty", IBackgroundCopyFile5_SetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS,
             value), NULL);
        IBackgroundCopyFile5_Release(file5);
    }
    else line("QI File5", hr, NULL);
    if (SUCCEEDED(hr = IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile6, (void **)&file6)))
    {
        line("File6.UpdateDownloadPosition", IBackgroundCopyFile6_UpdateDownloadPosition(file6, 10), NULL);
        range.InitialOffset = 0;
        range.Length = 100;
        line("File6.RequestFileRanges", IBackgroundCopyFile6_RequestFileRanges(file6, 1, &range), NULL);
        ranges = NULL;
        hr = IBackgroundCopyFile6_GetFilledFileRanges(file6, &count, &ranges);
        line("File6.GetFilledFileRanges", hr, "%lu", count);
        CoTaskMemFree(ranges);
        IBackgroundCopyFile6_Release(file6);
    }
    else line("QI File6", hr, NULL);
}

static void transcript_files(IBackgroundCopyJob *job)
{
    IEnumBackgroundCopyFiles *files, *clone;
    IBackgroundCopyFile *items[4] = {0};
    ULONG count = 0, fetched = 0, i;
    HRESULT hr;

    hr = IBackgroundCopyJob_EnumFiles(job, &files);
    line("Job.EnumFiles", hr, NULL);
    if (FAILED(hr)) return;
    hr = IEnumBackgroundCopyFiles_GetCount(files, &count);
    line("EnumFiles.GetCount", hr, "%lu", count);
    hr = IEnumBackgroundCopyFiles_Next(files, 4, items, &fetched);
    line("EnumFiles.Next(4)", hr, "%lu", fetched);
    for (i = 0; i < fetched; ++i)
    {
        transcript_file(items[i], i);
        IBackgroundCopyFile_Release(items[i]);
    }
    line("EnumFiles.Reset", IEnumBackgroundCopyFiles_Reset(files), NULL);
    line("EnumFiles.Skip(1)", IEnumBackgroundCopyFiles_Skip(files, 1), NULL);
    line("EnumFiles.Skip(5)", IEnumBackgroundCopyFiles_Skip(files, 5), NULL);
    line("EnumFiles.Reset", IEnumBackgroundCopyFiles_Reset(files), NULL);
    hr = IEnumBackgroundCopyFiles_Clone(files, &clone);
    line("EnumFiles.Clone", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IEnumBackgroundCopyFiles_Next(clone, 1, items, NULL);
        line("EnumFiles.Next(1, NULL)", hr, NULL);
        if (hr == S_OK) IBackgroundCopyFile_Release(items[0]);
        boundary_line("EnumFiles.Next(2, NULL)", IEnumBackgroundCopyFiles_Next(clone, 2, items, NULL), E_INVALIDARG,
                      E_INVALIDARG);
        IEnumBackgroundCopyFiles_Release(clone);
    }
    IEnumBackgroundCopyFiles_Release(files);
}

static void transcript_enum_jobs(IBackgroundCopyManager *manager)
{
    IEnumBackgroundCopyJobs *jobs, *clone;
    IBackgroundCopyJob *job, *items[8] = {0};
    ULONG count, fetched, i, ours = 0;
    WCHAR *name;
    GUID id;
    HRESULT hr;

    for (i = 0; i < 3; ++i)
    {
        hr = IBackgroundCopyManager_CreateJob(manager, L"enumerated", BG_JOB_TYPE_DOWNLOAD, &id, &job);
        if (SUCCEEDED(hr)) IBackgroundCopyJob_Release(job);
    }
    line("Manager.EnumJobs(3)", IBackgroundCopyManager_EnumJobs(manager, 3, &jobs), NULL);
    hr = IBackgroundCopyManager_EnumJobs(manager, BG_JOB_ENUM_ALL_USERS, &jobs);
    line("Manager.EnumJobs(ALL_USERS)", hr, NULL);
    if (FAILED(hr)) return;
    hr = IEnumBackgroundCopyJobs_GetCount(jobs, &count);
    line("EnumJobs.GetCount", hr, "%s", count >= 3 ? "3 or more" : "FEWER");
    hr = IEnumBackgroundCopyJobs_Clone(jobs, &clone);
    line("EnumJobs.Clone", hr, NULL);
    while ((hr = IEnumBackgroundCopyJobs_Next(jobs, ARRAYSIZE(items), items, &fetched)) == S_OK || fetched)
    {
        for (i = 0; i < fetched; ++i)
        {
            if (SUCCEEDED(IBackgroundCopyJob_GetDisplayName(items[i], &name)))
            {
                if (!wcscmp(name, L"enumerated"))
                {
                    ++ours;
                    IBackgroundCopyJob_Cancel(items[i]);
                }
                CoTaskMemFree(name);
            }
            IBackgroundCopyJob_Release(items[i]);
        }
        if (hr != S_OK) break;
    }
    line("EnumJobs.Next", hr, "%lu of ours", ours);
    line("EnumJobs.Skip(1000)", IEnumBackgroundCopyJobs_Skip(jobs, 1000), NULL);
    line("EnumJobs.Reset", IEnumBackgroundCopyJobs_Reset(jobs), NULL);
    if (clone)
    {
        hr = IEnumBackgroundCopyJobs_Next(clone, 1, items, NULL);
        line("EnumJobs(clone).Next(1, NULL)", hr, NULL);
        if (hr == S_OK) IBackgroundCopyJob_Release(items[0]);
        IEnumBackgroundCopyJobs_Release(clone);
    }
    IEnumBackgroundCopyJobs_Release(jobs);
}

/* Downloads two files: FileTransferred (Callback2) for each, then JobTransferred; Complete. */
static void transcript_download(IBackgroundCopyManager *manager, struct callback *callback)
{
    IBackgroundCopyJob *job;
    WCHAR remote[256], local[MAX_PATH], *name;
    BG_JOB_PROGRESS progress;
    BG_JOB_STATE state;
    HRESULT hr;
    GUID id;

    callback_reset(callback);
    hr = IBackgroundCopyManager_CreateJob(manager, L"download", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    line("download: CreateJob", hr, NULL);
    if (FAILED(hr)) return;
    url(L"/file/5000?name=d", remote, ARRAYSIZE(remote));
    local_path(L"d.bin", local, ARRAYSIZE(local));
    DeleteFileW(local);
    line("download: AddFile", IBackgroundCopyJob_AddFile(job, remote, local), NULL);
    line("download: SetNotifyFlags", IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED
         | BG_NOTIFY_JOB_ERROR | BG_NOTIFY_FILE_TRANSFERRED), NULL);
    line("download: SetNotifyInterface", IBackgroundCopyJob_SetNotifyInterface(job,
         (IUnknown *)&callback->IBackgroundCopyCallback3_iface), NULL);
    line("download: Resume", IBackgroundCopyJob_Resume(job), NULL);
    line("download: JobTransferred", 0, "%s", pump_wait(callback->transferred, WAIT_MS) ? "called" : "NOT CALLED");
    name = wcsrchr(callback->file_name, L'\\');
    line("download: FileTransferred", 0, "%ld call(s) before, for %ls", callback->file_transferred_calls,
         name ? name + 1 : L"(none)");
    line("download: the job given", 0, "%s", IsEqualGUID(&callback->job_id, &id) ? "this job" : "ANOTHER");
    hr = IBackgroundCopyJob_GetState(job, &state);
    line("download: GetState", hr, "%d", state);
    hr = IBackgroundCopyJob_GetProgress(job, &progress);
    line("download: GetProgress", hr, "%I64u/%I64u bytes, %lu/%lu files", progress.BytesTransferred,
         progress.BytesTotal, progress.FilesTransferred, progress.FilesTotal);
    line("download: Complete", IBackgroundCopyJob_Complete(job), NULL);
    line("download: the file", 0, "%s", GetFileAttributesW(local) != INVALID_FILE_ATTRIBUTES ? "there" : "MISSING");
    IBackgroundCopyJob_SetNotifyInterface(job, NULL);
    IBackgroundCopyJob_Release(job);
    DeleteFileW(local);
}

/* A 404: JobError with the error object; then the error object itself. */
static void transcript_error(IBackgroundCopyManager *manager, struct callback *callback)
{
    IBackgroundCopyError *error;
    IBackgroundCopyFile *file;
    IBackgroundCopyJob *job;
    WCHAR remote[256], local[MAX_PATH], *s1;
    BG_ERROR_CONTEXT context;
    HRESULT hr, code;
    BOOL called;
    GUID id;

    callback_reset(callback);
    hr = IBackgroundCopyManager_CreateJob(manager, L"error", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    line("error: CreateJob", hr, NULL);
    if (FAILED(hr)) return;
    url(L"/status/404", remote, ARRAYSIZE(remote));
    local_path(L"e.bin", local, ARRAYSIZE(local));
    line("error: AddFile", IBackgroundCopyJob_AddFile(job, remote, local), NULL);
    line("error: SetNotifyInterface", IBackgroundCopyJob_SetNotifyInterface(job,
         (IUnknown *)&callback->IBackgroundCopyCallback3_iface), NULL);
    line("error: Resume", IBackgroundCopyJob_Resume(job), NULL);
    called = pump_wait(callback->error, WAIT_MS);
    line("error: JobError", 0, "%s, code %#lx", called ? "called" : "NOT CALLED", callback->error_code);
    hr = IBackgroundCopyJob_GetError(job, &error);
    line("Job.GetError", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IBackgroundCopyError_GetError(error, &context, &code);
        line("Error.GetError", hr, "context %d, code %#lx", context, code);
        hr = IBackgroundCopyError_GetFile(error, &file);
        line("Error.GetFile", hr, NULL);
        if (SUCCEEDED(hr))
        {
            hr = IBackgroundCopyFile_GetLocalName(file, &s1);
            if (SUCCEEDED(hr)) line("  File.GetLocalName", hr, "%s", !wcscmp(s1, local) ? "the job's file" : "OTHER");
            CoTaskMemFree(s1);
            IBackgroundCopyFile_Release(file);
        }
        hr = IBackgroundCopyError_GetErrorDescription(error, 0x409, &s1);
        string_line("Error.GetErrorDescription", hr, s1);
        hr = IBackgroundCopyError_GetErrorDescription(error, 0, &s1);
        string_line("Error.GetErrorDescription(0)", hr, s1);
        hr = IBackgroundCopyError_GetErrorContextDescription(error, 0x409, &s1);
        string_line("Error.GetErrorContextDescription", hr, s1);
        hr = IBackgroundCopyError_GetProtocol(error, &s1);
        string_line("Error.GetProtocol", hr, s1);
        IBackgroundCopyError_Release(error);
    }
    line("error: Cancel", IBackgroundCopyJob_Cancel(job), NULL);
    IBackgroundCopyJob_Release(job);
}

/* On-demand (File6): a requested range arrives through Callback3::FileRangesTransferred. */
static void transcript_on_demand(IBackgroundCopyManager *manager, struct callback *callback)
{
    IBackgroundCopyJob5 *job5;
    IBackgroundCopyJob *job;
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    IBackgroundCopyFile6 *file6;
    BITS_JOB_PROPERTY_VALUE value;
    WCHAR remote[256], local[MAX_PATH];
    BG_FILE_RANGE range, *ranges;
    DWORD count;
    HRESULT hr;
    GUID id;

    callback_reset(callback);
    hr = IBackgroundCopyManager_CreateJob(manager, L"on demand", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    line("on demand: CreateJob", hr, NULL);
    if (FAILED(hr)) return;
    if (SUCCEEDED(IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob5, (void **)&job5)))
    {
        value.Enable = TRUE;
        line("on demand: SetProperty(ON_DEMAND_MODE)", IBackgroundCopyJob5_SetProperty(job5,
             BITS_JOB_PROPERTY_ON_DEMAND_MODE, value), NULL);
        IBackgroundCopyJob5_Release(job5);
    }
    url(L"/file/1000000?name=f", remote, ARRAYSIZE(remote));
    local_path(L"f.bin", local, ARRAYSIZE(local));
    line("on demand: AddFile", IBackgroundCopyJob_AddFile(job, remote, local), NULL);
    line("on demand: SetNotifyFlags", IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_FILE_RANGES_TRANSFERRED
         | BG_NOTIFY_JOB_ERROR), NULL);
    line("on demand: SetNotifyInterface", IBackgroundCopyJob_SetNotifyInterface(job,
         (IUnknown *)&callback->IBackgroundCopyCallback3_iface), NULL);
    file6 = NULL;
    if (SUCCEEDED(IBackgroundCopyJob_EnumFiles(job, &files)))
    {
        if (IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL) == S_OK)
        {
            IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile6, (void **)&file6);
            IBackgroundCopyFile_Release(file);
        }
        IEnumBackgroundCopyFiles_Release(files);
    }
    if (file6)
    {
        range.InitialOffset = 4096;
        range.Length = 1000;
        line("on demand: RequestFileRanges", IBackgroundCopyFile6_RequestFileRanges(file6, 1, &range), NULL);
        line("on demand: Resume", IBackgroundCopyJob_Resume(job), NULL);
        line("on demand: FileRangesTransferred", 0, "%s",
             pump_wait(callback->ranges, WAIT_MS) ? "called" : "NOT CALLED");
        line("  first range", 0, "%s", callback->ranges_first_offset <= 4096
             && callback->ranges_first_offset + callback->ranges_first_length >= 5096 ? "covers the request" : "OTHER");
        ranges = NULL;
        hr = IBackgroundCopyFile6_GetFilledFileRanges(file6, &count, &ranges);
        line("File6.GetFilledFileRanges", hr, "%s", count && ranges ? "some" : "NONE");
        CoTaskMemFree(ranges);
        IBackgroundCopyFile6_Release(file6);
    }
    line("on demand: Cancel", IBackgroundCopyJob_Cancel(job), NULL);
    IBackgroundCopyJob_Release(job);
}

/* HTTPS with a self-signed certificate: the client's validation callback (10.3) is asked, with the
 * server's certificate, before the transfer goes on. */
static void transcript_certificate(IBackgroundCopyManager *manager, struct callback *callback, const WCHAR *https)
{
    IBackgroundCopyJobHttpOptions3 *http3;
    IBackgroundCopyJob *job;
    WCHAR remote[256], local[MAX_PATH];
    HRESULT hr;
    GUID id;

    callback_reset(callback);
    callback->validations = 0;
    hr = IBackgroundCopyManager_CreateJob(manager, L"https", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    line("https: CreateJob", hr, NULL);
    if (FAILED(hr)) return;
    swprintf(remote, ARRAYSIZE(remote), L"%ls/file/3000?name=h", https);
    local_path(L"h.bin", local, ARRAYSIZE(local));
    DeleteFileW(local);
    line("https: AddFile", IBackgroundCopyJob_AddFile(job, remote, local), NULL);
    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions3, (void **)&http3)))
    {
        line("https: SetSecurityFlags", IBackgroundCopyJobHttpOptions3_SetSecurityFlags(http3,
             BG_SSL_IGNORE_UNKNOWN_CA | BG_SSL_IGNORE_CERT_CN_INVALID), NULL);
        line("https: SetServerCertificateValidationInterface",
             IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(http3,
                 (IUnknown *)&callback->IBackgroundCopyServerCertificateValidationCallback_iface), NULL);
        IBackgroundCopyJobHttpOptions3_Release(http3);
    }
    line("https: SetNotifyInterface", IBackgroundCopyJob_SetNotifyInterface(job,
         (IUnknown *)&callback->IBackgroundCopyCallback3_iface), NULL);
    line("https: Resume", IBackgroundCopyJob_Resume(job), NULL);
    line("https: JobTransferred", 0, "%s", pump_wait(callback->transferred, WAIT_MS) ? "called" : "NOT CALLED");
    line("https: ValidateServerCertificate", 0, "%s, %s, %s", callback->validations ? "called" : "NOT CALLED",
         callback->certificate_length && callback->certificate_first == 0x30 ? "a DER certificate" : "NO CERTIFICATE",
         callback->certificate_file_given ? "with the file" : "WITHOUT THE FILE");
    line("https: Complete", IBackgroundCopyJob_Complete(job), NULL);
    IBackgroundCopyJob_SetNotifyInterface(job, NULL);
    IBackgroundCopyJob_Release(job);
    DeleteFileW(local);
}

static void transcript_peercache(IBackgroundCopyManager *manager)
{
    IBitsPeerCacheAdministration *admin;
    IEnumBitsPeerCacheRecords *records, *records_clone;
    IEnumBitsPeers *peers, *peers_clone;
    IBitsPeerCacheRecord *record;
    IBitsPeer *peer;
    DWORD dw, size, flags;
    ULONG ul, age, fetched;
    HRESULT hr;

    hr = IBackgroundCopyManager_QueryInterface(manager, &IID_IBitsPeerCacheAdministration, (void **)&admin);
    line("QI PeerCacheAdministration", hr, NULL);
    if (FAILED(hr)) return;
    hr = IBitsPeerCacheAdministration_GetMaximumCacheSize(admin, &size);
    line("PeerCache.GetMaximumCacheSize", hr, "%lu", size);
    line("PeerCache.SetMaximumCacheSize(5)", IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, 5), NULL);
    line("PeerCache.SetMaximumCacheSize(90)", IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, 90), NULL);
    hr = IBitsPeerCacheAdministration_GetMaximumCacheSize(admin, &dw);
    line("PeerCache.GetMaximumCacheSize", hr, "%lu", dw);
    hr = IBitsPeerCacheAdministration_GetMaximumContentAge(admin, &age);
    line("PeerCache.GetMaximumContentAge", hr, "%lu", age);
    line("PeerCache.SetMaximumContentAge(10)", IBitsPeerCacheAdministration_SetMaximumContentAge(admin, 10), NULL);
    line("PeerCache.SetMaximumContentAge(200000)", IBitsPeerCacheAdministration_SetMaximumContentAge(admin, 200000), NULL);
    hr = IBitsPeerCacheAdministration_GetMaximumContentAge(admin, &ul);
    line("PeerCache.GetMaximumContentAge", hr, "%lu", ul);
    hr = IBitsPeerCacheAdministration_GetConfigurationFlags(admin, &flags);
    line("PeerCache.GetConfigurationFlags", hr, "%#lx", flags);
    line("PeerCache.DiscoverPeers", IBitsPeerCacheAdministration_DiscoverPeers(admin), NULL);
    line("PeerCache.SetConfigurationFlags(CLIENT)", IBitsPeerCacheAdministration_SetConfigurationFlags(admin,
         BG_ENABLE_PEERCACHING_CLIENT), NULL);
    line("PeerCache.SetConfigurationFlags(0x100)", IBitsPeerCacheAdministration_SetConfigurationFlags(admin, 0x100),
         NULL);
    hr = IBitsPeerCacheAdministration_GetConfigurationFlags(admin, &dw);
    line("PeerCache.GetConfigurationFlags", hr, "%#lx", dw);
    line("PeerCache.DiscoverPeers", IBitsPeerCacheAdministration_DiscoverPeers(admin), NULL);
    hr = IBitsPeerCacheAdministration_EnumRecords(admin, &records);
    line("PeerCache.EnumRecords", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IEnumBitsPeerCacheRecords_GetCount(records, &ul);
        line("EnumRecords.GetCount", hr, "%lu", ul);
        hr = IEnumBitsPeerCacheRecords_Next(records, 1, &record, &fetched);
        line("EnumRecords.Next", hr, "%lu", fetched);
        line("EnumRecords.Skip", IEnumBitsPeerCacheRecords_Skip(records, 1), NULL);
        line("EnumRecords.Reset", IEnumBitsPeerCacheRecords_Reset(records), NULL);
        hr = IEnumBitsPeerCacheRecords_Clone(records, &records_clone);
        line("EnumRecords.Clone", hr, NULL);
        if (SUCCEEDED(hr)) IEnumBitsPeerCacheRecords_Release(records_clone);
        IEnumBitsPeerCacheRecords_Release(records);
    }
    line("PeerCache.GetRecord", IBitsPeerCacheAdministration_GetRecord(admin, &IID_IUnknown, &record), NULL);
    line("PeerCache.DeleteRecord", IBitsPeerCacheAdministration_DeleteRecord(admin, &IID_IUnknown), NULL);
    line("PeerCache.DeleteUrl", IBitsPeerCacheAdministration_DeleteUrl(admin, L"http://127.0.0.1/x"), NULL);
    line("PeerCache.ClearRecords", IBitsPeerCacheAdministration_ClearRecords(admin), NULL);
    hr = IBitsPeerCacheAdministration_EnumPeers(admin, &peers);
    line("PeerCache.EnumPeers", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IEnumBitsPeers_GetCount(peers, &ul);
        line("EnumPeers.GetCount", hr, "%lu", ul);
        hr = IEnumBitsPeers_Next(peers, 1, &peer, &fetched);
        line("EnumPeers.Next", hr, "%lu", fetched);
        hr = IEnumBitsPeers_Clone(peers, &peers_clone);
        line("EnumPeers.Clone", hr, NULL);
        if (SUCCEEDED(hr)) IEnumBitsPeers_Release(peers_clone);
        IEnumBitsPeers_Release(peers);
    }
    line("PeerCache.ClearPeers", IBitsPeerCacheAdministration_ClearPeers(admin), NULL);
    /* Back to what it was: in the surrogate these settings outlive this client. */
    IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, size);
    IBitsPeerCacheAdministration_SetMaximumContentAge(admin, age);
    IBitsPeerCacheAdministration_SetConfigurationFlags(admin, flags);
    IBitsPeerCacheAdministration_Release(admin);
}

/* A group that downloads a file and tells the client's IBackgroundCopyCallback1 (given with
 * SetNotificationPointer) with OnStatus when it is done (QM_NOTIFY_GROUP_DONE). */
static void transcript_qmgr_callback(IBackgroundCopyQMgr *qmgr)
{
    static const GUID group_id = { 0x0badf00d, 0x3, 0x4, { 3, 4, 5, 6, 7, 8, 9, 10 } };
    static const GUID job_id = { 0x0badf00d, 0x4, 0x5, { 3, 4, 5, 6, 7, 8, 9, 10 } };
    struct callback1 callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    FILESETINFO info, *infos[1];
    WCHAR remote[256], local[MAX_PATH];
    VARIANT value;
    BOOL called;
    HRESULT hr;

    memset(&callback, 0, sizeof(callback));
    callback.IBackgroundCopyCallback1_iface.lpVtbl = &callback1_vtbl;
    callback.refcount = 1;
    callback.called = CreateEventW(NULL, FALSE, FALSE, NULL);
    hr = IBackgroundCopyQMgr_CreateGroup(qmgr, group_id, &group);
    line("OnStatus: CreateGroup", hr, NULL);
    if (FAILED(hr)) goto out;
    V_VT(&value) = VT_I4;
    V_I4(&value) = QM_NOTIFY_GROUP_DONE;
    line("OnStatus: SetProp(NOTIFYFLAGS)", IBackgroundCopyGroup_SetProp(group, GROUPPROP_NOTIFYFLAGS, &value), NULL);
    line("OnStatus: SetNotificationPointer", IBackgroundCopyGroup_SetNotificationPointer(group,
         &IID_IBackgroundCopyCallback1, (IUnknown *)&callback.IBackgroundCopyCallback1_iface), NULL);
    if (SUCCEEDED(hr = IBackgroundCopyGroup_CreateJob(group, job_id, &job)))
    {
        url(L"/file/2000?name=g", remote, ARRAYSIZE(remote));
        local_path(L"g.bin", local, ARRAYSIZE(local));
        DeleteFileW(local);
        info.bstrRemoteFile = SysAllocString(remote);
        info.bstrLocalFile = SysAllocString(local);
        info.dwSizeHint = 0;
        infos[0] = &info;
        line("OnStatus: AddFiles", IBackgroundCopyJob1_AddFiles(job, 1, infos), NULL);
        SysFreeString(info.bstrRemoteFile);
        SysFreeString(info.bstrLocalFile);
        IBackgroundCopyJob1_Release(job);
    }
    line("OnStatus: ResumeGroup", IBackgroundCopyGroup_ResumeGroup(group), NULL);
    called = pump_wait(callback.called, WAIT_MS);
    line("OnStatus", 0, "%s, status %#lx, file %#lx, %s, %s", called ? "called" : "NOT CALLED",
         callback.status, callback.file_index,
         IsEqualGUID(&callback.group_id, &group_id) ? "the group" : "ANOTHER GROUP",
         IsEqualGUID(&callback.job_id, &job_id) ? "its job" : "ANOTHER JOB");
    line("OnStatus: the file", 0, "%s", GetFileAttributesW(local) != INVALID_FILE_ATTRIBUTES ? "there" : "MISSING");
    line("OnStatus: SetNotificationPointer(NULL)", IBackgroundCopyGroup_SetNotificationPointer(group,
         &IID_IBackgroundCopyCallback1, NULL), NULL);
    line("OnStatus: CancelGroup", IBackgroundCopyGroup_CancelGroup(group), NULL);
    IBackgroundCopyGroup_Release(group);
    DeleteFileW(local);
out:
    CloseHandle(callback.called);
}

/* The legacy QMGR interfaces: whatever exists of them is called. */
static void transcript_qmgr(DWORD context)
{
    static const GUID group_id = { 0x0badf00d, 0x1, 0x2, { 3, 4, 5, 6, 7, 8, 9, 10 } };
    static const GUID job_id = { 0x0badf00d, 0x2, 0x3, { 3, 4, 5, 6, 7, 8, 9, 10 } };
    IBackgroundCopyQMgr *qmgr;
    IBackgroundCopyGroup *group, *found;
    IEnumBackgroundCopyGroups *groups;
    IEnumBackgroundCopyJobs1 *jobs;
    IBackgroundCopyJob1 *job;
    FILESETINFO info, *infos[1];
    WCHAR remote[256], local[MAX_PATH];
    VARIANT value;
    DWORD status, win32, transport, retries, count;
    ULONG fetched;
    GUID id;
    HRESULT hr;

    hr = CoCreateInstance(&CLSID_BackgroundCopyQMgr, NULL, context, &IID_IBackgroundCopyQMgr, (void **)&qmgr);
    line("QMgr: CoCreateInstance", hr, NULL);
    if (FAILED(hr)) return;
    hr = IBackgroundCopyQMgr_EnumGroups(qmgr, 0, &groups);
    line("QMgr.EnumGroups", hr, NULL);
    if (SUCCEEDED(hr))
    {
        hr = IEnumBackgroundCopyGroups_GetCount(groups, &count);
        line("EnumGroups.GetCount", hr, "%lu", count);
        IEnumBackgroundCopyGroups_Release(groups);
    }
    hr = IBackgroundCopyQMgr_CreateGroup(qmgr, group_id, &group);
    line("QMgr.CreateGroup", hr, NULL);
    if (SUCCEEDED(hr))
    {
        V_VT(&value) = VT_BSTR;
        V_BSTR(&value) = SysAllocString(L"a group");
        line("Group.SetProp(DISPLAYNAME)", IBackgroundCopyGroup_SetProp(group, GROUPPROP_DISPLAYNAME, &value), NULL);
        VariantClear(&value);
        VariantInit(&value);
        hr = IBackgroundCopyGroup_GetProp(group, GROUPPROP_DISPLAYNAME, &value);
        line("Group.GetProp(DISPLAYNAME)", hr, "vt %d \"%ls\"", V_VT(&value), V_VT(&value) == VT_BSTR ? V_BSTR(&value) : L"");
        VariantClear(&value);
        V_VT(&value) = VT_I4;
        V_I4(&value) = 1;
        line("Group.SetProp(PRIORITY)", IBackgroundCopyGroup_SetProp(group, GROUPPROP_PRIORITY, &value), NULL);
        hr = IBackgroundCopyGroup_GetStatus(group, &status, &count);
        line("Group.GetStatus", hr, "%#lx %lu", status, count);
        hr = IBackgroundCopyGroup_get_GroupID(group, &id);
        line("Group.get_GroupID", hr, "%s", IsEqualGUID(&id, &group_id) ? "the group" : "OTHER");
        hr = IBackgroundCopyGroup_CreateJob(group, job_id, &job);
        line("Group.CreateJob", hr, NULL);
        if (SUCCEEDED(hr))
        {
            url(L"/file/100?name=q", remote, ARRAYSIZE(remote));
            local_path(L"q.bin", local, ARRAYSIZE(local));
            info.bstrRemoteFile = SysAllocString(remote);
            info.bstrLocalFile = SysAllocString(local);
            info.dwSizeHint = 0;
            infos[0] = &info;
            line("Job1.AddFiles", IBackgroundCopyJob1_AddFiles(job, 1, infos), NULL);
            SysFreeString(info.bstrRemoteFile);
            SysFreeString(info.bstrLocalFile);
            hr = IBackgroundCopyJob1_GetFileCount(job, &count);
            line("Job1.GetFileCount", hr, "%lu", count);
            memset(&info, 0, sizeof(info));
            hr = IBackgroundCopyJob1_GetFile(job, 0, &info);
            line("Job1.GetFile", hr, "%s", info.bstrLocalFile && !wcscmp(info.bstrLocalFile, local) ? "the file" : "OTHER");
            SysFreeString(info.bstrRemoteFile);
            SysFreeString(info.bstrLocalFile);
            hr = IBackgroundCopyJob1_GetStatus(job, &status, &win32, &transport, &retries);
            line("Job1.GetStatus", hr, "%#lx %lu %lu %lu", status, win32, transport, retries);
            hr = IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_SIZE_DONE, &count);
            line("Job1.GetProgress", hr, "%lu", count);
            hr = IBackgroundCopyJob1_get_JobID(job, &id);
            line("Job1.get_JobID", hr, "%s", IsEqualGUID(&id, &job_id) ? "the job" : "OTHER");
            IBackgroundCopyJob1_Release(job);
        }
        hr = IBackgroundCopyGroup_EnumJobs(group, 0, &jobs);
        line("Group.EnumJobs", hr, NULL);
        if (SUCCEEDED(hr))
        {
            hr = IEnumBackgroundCopyJobs1_Next(jobs, 1, &id, &fetched);
            line("EnumJobs1.Next", hr, "%lu", fetched);
            IEnumBackgroundCopyJobs1_Release(jobs);
        }
        hr = IBackgroundCopyQMgr_GetGroup(qmgr, group_id, &found);
        line("QMgr.GetGroup", hr, NULL);
        if (SUCCEEDED(hr)) IBackgroundCopyGroup_Release(found);
        line("Group.CancelGroup", IBackgroundCopyGroup_CancelGroup(group), NULL);
        IBackgroundCopyGroup_Release(group);
    }
    transcript_qmgr_callback(qmgr);
    IBackgroundCopyQMgr_Release(qmgr);
}

static int run_transcript(const WCHAR *mode, const WCHAR *dir, const WCHAR *base, const WCHAR *https)
{
    IBackgroundCopyManager *manager;
    struct callback callback;
    DWORD context;
    WCHAR *text;
    HRESULT hr;

    in_process = !wcscmp(mode, L"inproc");
    context = in_process ? CLSCTX_INPROC_SERVER : CLSCTX_LOCAL_SERVER;
    wcsncpy(work_dir, dir, ARRAYSIZE(work_dir) - 1);
    wcsncpy(base_url, base, ARRAYSIZE(base_url) - 1);
    own_sid(own_user, ARRAYSIZE(own_user));

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    callback_init(&callback);
    hr = CoCreateInstance(&CLSID_BackgroundCopyManager10_3, NULL, context, &IID_IBackgroundCopyManager,
                          (void **)&manager);
    line("CoCreateInstance", hr, NULL);
    if (FAILED(hr)) return 1;
    /* Where the objects live is the one thing that differs, and it goes to stderr. */
    fprintf(stderr, "the manager is %s\n", is_proxy(manager) ? "a proxy" : "openbits' own object");

    hr = IBackgroundCopyManager_GetErrorDescription(manager, BG_E_NOT_FOUND, 0x409, &text);
    string_line("Manager.GetErrorDescription", hr, text);
    hr = IBackgroundCopyManager_GetErrorDescription(manager, 0x80200fff, 0x409, &text);
    string_line("Manager.GetErrorDescription(unknown code)", hr, text);
    transcript_job(manager, &callback);
    transcript_enum_jobs(manager);
    transcript_download(manager, &callback);
    transcript_error(manager, &callback);
    transcript_on_demand(manager, &callback);
    if (https) transcript_certificate(manager, &callback, https);
    transcript_peercache(manager);
    line("Manager.Release", 0, "%lu", IBackgroundCopyManager_Release(manager));
    transcript_qmgr(context);
    line("callback references left", 0, "%ld", callback_wait_released(&callback));
    callback_cleanup(&callback);
    CoUninitialize();
    return 0;
}

/* --- a plain download, for the scenario file in the surrogate ------------------------------- */

static int run_download(const WCHAR *remote, const WCHAR *local)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    IBackgroundCopyError *error;
    struct callback callback;
    BG_ERROR_CONTEXT context;
    BG_JOB_STATE state;
    HANDLE events[2], file;
    char data[64] = {0};
    DWORD size = 0, result;
    HRESULT hr, code;
    GUID id;

    DeleteFileW(local);
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    callback_init(&callback);
    if (FAILED(hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_LOCAL_SERVER,
                                     &IID_IBackgroundCopyManager, (void **)&manager)))
    {
        out("CoCreateInstance: %#lx\n", hr);
        return 1;
    }
    check(is_proxy(manager), "the manager is a proxy");
    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"oop download", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        out("CreateJob: %#lx\n", hr);
        return 1;
    }
    check(IBackgroundCopyJob_AddFile(job, remote, local) == S_OK, "AddFile");
    check(IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR) == S_OK,
          "SetNotifyFlags");
    check(IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback.IBackgroundCopyCallback3_iface) == S_OK,
          "SetNotifyInterface");
    check(IBackgroundCopyJob_Resume(job) == S_OK, "Resume");
    events[0] = callback.transferred;
    events[1] = callback.error;
    result = WaitForMultipleObjects(2, events, FALSE, WAIT_MS);
    IBackgroundCopyJob_GetState(job, &state);
    if (result == WAIT_OBJECT_0)
    {
        check(state == BG_JOB_STATE_TRANSFERRED, "TRANSFERRED after JobTransferred");
        check(IBackgroundCopyJob_Complete(job) == S_OK, "Complete");
        file = CreateFileW(local, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
        if (file != INVALID_HANDLE_VALUE)
        {
            size = GetFileSize(file, NULL);
            ReadFile(file, data, sizeof(data) - 1, &result, NULL);
            CloseHandle(file);
        }
        out("transferred %lu bytes: \"%s\"\n", size, data);
    }
    else if (result == WAIT_OBJECT_0 + 1)
    {
        check(state == BG_JOB_STATE_ERROR, "ERROR after JobError");
        context = 0;
        code = 0;
        if (SUCCEEDED(hr = IBackgroundCopyJob_GetError(job, &error)))
        {
            IBackgroundCopyError_GetError(error, &context, &code);
            IBackgroundCopyError_Release(error);
        }
        check(hr == S_OK, "GetError");
        check(code == callback.error_code, "JobError was given the job's error");
        out("error %#lx context %d\n", code, context);
        check(IBackgroundCopyJob_Cancel(job) == S_OK, "Cancel");
    }
    else
    {
        out("neither JobTransferred nor JobError within %u ms (state %d)\n", WAIT_MS, state);
        IBackgroundCopyJob_Cancel(job);
        ++failures;
    }
    IBackgroundCopyJob_SetNotifyInterface(job, NULL);
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyManager_Release(manager);
    check(callback_wait_released(&callback) == 0, "the callback is released");
    callback_cleanup(&callback);
    DeleteFileW(local);
    CoUninitialize();
    return failures ? 2 : 0;
}

/* --- the test double's control interface ------------------------------------------------------ */

static int run_control(const WCHAR *mode, const WCHAR *dir)
{
    static const WCHAR remote[] = L"https://updates.example/app.cfg";
    static const char content[] = "version=3";
    IOpenBitsTestControl *control;
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    OPENBITS_TIME_MODE time_mode;
    OPENBITS_REQUEST request;
    OPENBITS_RULE rule;
    BG_JOB_STATE reached;
    WCHAR local[MAX_PATH];
    char data[32] = {0};
    UINT64 time, start;
    DWORD id, count, size = 0;
    HANDLE file;
    HRESULT hr;
    GUID job_id;

    in_process = !wcscmp(mode, L"inproc");
    swprintf(local, ARRAYSIZE(local), L"%ls\\app.cfg", dir);
    DeleteFileW(local);
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, in_process ? CLSCTX_INPROC_SERVER : CLSCTX_LOCAL_SERVER,
                          &IID_IBackgroundCopyManager, (void **)&manager);
    line("CoCreateInstance", hr, NULL);
    if (FAILED(hr)) return 1;
    fprintf(stderr, "the manager is %s\n", is_proxy(manager) ? "a proxy" : "openbits' own object");
    hr = IBackgroundCopyManager_QueryInterface(manager, &IID_IOpenBitsTestControl, (void **)&control);
    line("QI IOpenBitsTestControl", hr, NULL);
    if (FAILED(hr)) return 1;

    line("Control.SetTimeMode(VIRTUAL)", IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL), NULL);
    hr = IOpenBitsTestControl_GetTimeMode(control, &time_mode);
    line("Control.GetTimeMode", hr, "%d", time_mode);
    hr = IOpenBitsTestControl_GetTime(control, &start);
    line("Control.GetTime", hr, NULL);
    memset(&rule, 0, sizeof(rule));
    rule.pattern = (WCHAR *)remote;
    rule.match = OPENBITS_MATCH_EXACT;
    rule.action = OPENBITS_ACTION_SERVE;
    rule.content = (BYTE *)content;
    rule.content_size = sizeof(content) - 1;
    rule.headers = (WCHAR *)L"X-Served-By: the double\r\n";
    hr = IOpenBitsTestControl_AddRule(control, &rule, &id);
    line("Control.AddRule", hr, "%s", id ? "an id" : "NO ID");
    line("Control.SetUnmatched(FAIL)", IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_FAIL,
         HRESULT_FROM_WIN32(12029)), NULL);

    hr = IBackgroundCopyManager_CreateJob(manager, L"double", BG_JOB_TYPE_DOWNLOAD, &job_id, &job);
    line("Manager.CreateJob", hr, NULL);
    if (SUCCEEDED(hr))
    {
        line("Job.AddFile", IBackgroundCopyJob_AddFile(job, remote, local), NULL);
        line("Job.Resume", IBackgroundCopyJob_Resume(job), NULL);
        hr = IOpenBitsTestControl_WaitForJobState(control, &job_id, BG_JOB_STATE_TRANSFERRED, WAIT_MS, &reached);
        line("Control.WaitForJobState", hr, "%d", reached);
        hr = IOpenBitsTestControl_GetJournalCount(control, &count);
        line("Control.GetJournalCount", hr, "%lu", count);
        memset(&request, 0, sizeof(request));
        hr = IOpenBitsTestControl_GetJournalEntry(control, 0, &request);
        line("Control.GetJournalEntry(0)", hr, "%ls %ls, rule %s, %#lx, %I64u bytes",
             request.verb ? request.verb : L"(null)", request.url ? request.url : L"(null)",
             request.rule == id ? "the rule" : "ANOTHER", request.result, request.bytes);
        CoTaskMemFree(request.verb);
        CoTaskMemFree(request.url);
        CoTaskMemFree(request.headers);
        hr = IOpenBitsTestControl_GetJournalEntry(control, count, &request);
        line("Control.GetJournalEntry(past the end)", hr, NULL);
        line("Job.Complete", IBackgroundCopyJob_Complete(job), NULL);
        IBackgroundCopyJob_Release(job);
    }
    file = CreateFileW(local, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (file != INVALID_HANDLE_VALUE)
    {
        ReadFile(file, data, sizeof(data) - 1, &size, NULL);
        CloseHandle(file);
    }
    line("the file", 0, "\"%s\"", data);
    line("Control.AdvanceTime", IOpenBitsTestControl_AdvanceTime(control, 60000), NULL);
    hr = IOpenBitsTestControl_GetTime(control, &time);
    line("Control.GetTime", hr, "%I64u ms later", time - start);
    line("Control.RunUntilIdle", IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS), NULL);
    line("Control.RemoveRule", IOpenBitsTestControl_RemoveRule(control, id), NULL);
    line("Control.RemoveRule(again)", IOpenBitsTestControl_RemoveRule(control, id), NULL);
    line("Control.ClearRules", IOpenBitsTestControl_ClearRules(control), NULL);
    line("Control.ClearJournal", IOpenBitsTestControl_ClearJournal(control), NULL);
    hr = IOpenBitsTestControl_GetJournalCount(control, &count);
    line("Control.GetJournalCount", hr, "%lu", count);
    line("Control.LoadScenario(missing)", IOpenBitsTestControl_LoadScenario(control, L"C:\\no such scenario.ini"),
         NULL);
    line("Control.Reset", IOpenBitsTestControl_Reset(control), NULL);
    IOpenBitsTestControl_Release(control);
    line("Manager.Release", 0, "%lu", IBackgroundCopyManager_Release(manager));
    DeleteFileW(local);
    CoUninitialize();
    return 0;
}

int wmain(int argc, WCHAR **argv)
{
    CLSID clsid;
    GUID id;

    if (argc >= 3 && !wcscmp(argv[1], L"create") && SUCCEEDED(CLSIDFromString(argv[2], &clsid)))
        return run_create(&clsid);
    if (argc >= 6 && !wcscmp(argv[1], L"finish") && SUCCEEDED(CLSIDFromString(argv[2], &clsid))
            && SUCCEEDED(CLSIDFromString(argv[3], &id)))
        return run_finish(&clsid, &id, argv[4], argv[5]);
    if (argc >= 4 && !wcscmp(argv[1], L"download"))
        return run_download(argv[2], argv[3]);
    if (argc >= 4 && !wcscmp(argv[1], L"control"))
        return run_control(argv[2], argv[3]);
    if (argc >= 5 && !wcscmp(argv[1], L"transcript"))
        return run_transcript(argv[2], argv[3], argv[4], argc >= 6 && argv[5][0] ? argv[5] : NULL);
    fprintf(stderr, "usage: oop_client.exe create|finish|download|control|transcript ...\n");
    return 3;
}
