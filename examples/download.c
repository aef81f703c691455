/* SPDX-License-Identifier: MIT */
/* A BITS download client, as any program would write it:
 *
 *     download.exe [--retry-delay SECONDS] [--timeout SECONDS] URL LOCALPATH [URL LOCALPATH ...]
 *
 * It creates one download job through CoCreateInstance(CLSID_BackgroundCopyManager) (the
 * registry says which DLL serves it), adds every URL/LOCALPATH pair, asks for JobTransferred,
 * JobError and JobModification callbacks, resumes the job and shows its progress until it ends.
 * A transferred job is completed (the files appear under their names) and each file's size is
 * printed; a job in error is described (IBackgroundCopyError) and cancelled. A transient error
 * is only shown: BITS retries by itself after the retry delay (--retry-delay sets
 * SetMinimumRetryDelay). --timeout gives up (cancels) after that many seconds; Ctrl-C cancels.
 *
 * Exit status: 0 when every file arrived, 1 when the job failed or was given up, 2 for a usage
 * error. */
#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "bits.h"

#define TICK_MS 1000                        /* progress refresh when no callback wakes us */

static const char *state_name(BG_JOB_STATE state)
{
    static const char *const names[] = { "QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
                                         "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED" };
    return (unsigned int)state < ARRAYSIZE(names) ? names[state] : "?";
}

static const char *context_name(BG_ERROR_CONTEXT context)
{
    static const char *const names[] = { "NONE", "UNKNOWN", "GENERAL_QUEUE_MANAGER", "QUEUE_MANAGER_NOTIFICATION",
                                         "LOCAL_FILE", "REMOTE_FILE", "GENERAL_TRANSPORT", "REMOTE_APPLICATION",
                                         "SERVER_CERTIFICATE_CALLBACK" };
    return (unsigned int)context < ARRAYSIZE(names) ? names[context] : "?";
}

/* --- the notification object ------------------------------------------------------------------ */

/* One static object: the events it sets wake the main loop, which reads the job's state itself.
 * The callbacks come on BITS' threads (this is a multithreaded-apartment client). */
struct callback
{
    IBackgroundCopyCallback IBackgroundCopyCallback_iface;
    LONG refcount;
    HANDLE transferred;                     /* manual-reset: JobTransferred came */
    HANDLE error;                           /* manual-reset: JobError came */
    HANDLE modified;                        /* auto-reset: JobModification came */
};

static struct callback *impl_from_IBackgroundCopyCallback(IBackgroundCopyCallback *iface)
{
    return CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback_iface);
}

static HRESULT WINAPI callback_QueryInterface(IBackgroundCopyCallback *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyCallback))
    {
        *out = iface;
        IBackgroundCopyCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI callback_AddRef(IBackgroundCopyCallback *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback(iface)->refcount);
}

static ULONG WINAPI callback_Release(IBackgroundCopyCallback *iface)
{
    return InterlockedDecrement(&impl_from_IBackgroundCopyCallback(iface)->refcount);
}

static HRESULT WINAPI callback_JobTransferred(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job)
{
    SetEvent(impl_from_IBackgroundCopyCallback(iface)->transferred);
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job,
                                        IBackgroundCopyError *error)
{
    SetEvent(impl_from_IBackgroundCopyCallback(iface)->error);
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job,
                                               DWORD reserved)
{
    SetEvent(impl_from_IBackgroundCopyCallback(iface)->modified);
    return S_OK;
}

static const IBackgroundCopyCallbackVtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification,
};

static struct callback callback = { .IBackgroundCopyCallback_iface = { &callback_vtbl }, .refcount = 1 };

/* Ctrl-C / Ctrl-Break: the main loop cancels the job. */
static HANDLE interrupted;

static BOOL WINAPI on_console_control(DWORD type)
{
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT) return FALSE;
    SetEvent(interrupted);
    return TRUE;
}

/* --- output --------------------------------------------------------------------------------- */

static BOOL console;                        /* stdout is a console: the progress line is redrawn */

static void format_bytes(UINT64 bytes, char *text, size_t size)
{
    if (bytes == BG_SIZE_UNKNOWN) snprintf(text, size, "?");
    else if (bytes < 1024) snprintf(text, size, "%llu B", (unsigned long long)bytes);
    else if (bytes < 1024 * 1024) snprintf(text, size, "%.1f KiB", bytes / 1024.0);
    else if (bytes < 1024ull * 1024 * 1024) snprintf(text, size, "%.1f MiB", bytes / (1024.0 * 1024));
    else snprintf(text, size, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
}

/* The progress line: redrawn in place on a console; elsewhere (a log, a pipe) a new line when the
 * state changes and at most every five seconds otherwise. */
static void show_progress(IBackgroundCopyJob *job, BG_JOB_STATE state, BOOL state_changed)
{
    static ULONGLONG last_line;
    BG_JOB_PROGRESS progress;
    char done[32], total[32], percent[16] = "";
    ULONGLONG now = GetTickCount64();

    if (!console && !state_changed && now - last_line < 5000) return;
    last_line = now;
    if (FAILED(IBackgroundCopyJob_GetProgress(job, &progress))) return;
    format_bytes(progress.BytesTransferred, done, sizeof(done));
    format_bytes(progress.BytesTotal, total, sizeof(total));
    if (progress.BytesTotal != BG_SIZE_UNKNOWN && progress.BytesTotal)
        snprintf(percent, sizeof(percent), " (%3u%%)",
                 (unsigned int)(progress.BytesTransferred * 100 / progress.BytesTotal));
    printf("%s%-15s %10s / %-10s%s  files %lu/%lu%s", console ? "\r" : "", state_name(state), done, total,
           percent, progress.FilesTransferred, progress.FilesTotal, console ? "   " : "\n");
    fflush(stdout);
}

/* Ends a redrawn progress line before other output. */
static void end_progress_line(void)
{
    if (console) printf("\n");
}

/* The job's error: code, context, their texts and the file it concerns. */
static void print_error(IBackgroundCopyJob *job, const char *what)
{
    IBackgroundCopyError *error;
    IBackgroundCopyFile *file;
    BG_ERROR_CONTEXT context;
    WCHAR *text = NULL, *context_text = NULL, *url = NULL, *local = NULL;
    DWORD language = LANGIDFROMLCID(GetThreadLocale());
    HRESULT code, hr;

    if (FAILED(hr = IBackgroundCopyJob_GetError(job, &error)))
    {
        printf("%s: (GetError failed: %#lx)\n", what, hr);
        return;
    }
    IBackgroundCopyError_GetError(error, &context, &code);
    if (FAILED(IBackgroundCopyError_GetErrorDescription(error, language, &text)))
        IBackgroundCopyError_GetErrorDescription(error, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), &text);
    if (FAILED(IBackgroundCopyError_GetErrorContextDescription(error, language, &context_text)))
        IBackgroundCopyError_GetErrorContextDescription(error, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
                                                        &context_text);
    printf("%s: %#010lx %ls\n", what, (unsigned long)code, text ? text : L"(no description)");
    printf("  context: %s (%d)%s%ls\n", context_name(context), context, context_text ? ": " : "",
           context_text ? context_text : L"");
    if (SUCCEEDED(IBackgroundCopyError_GetFile(error, &file)))
    {
        IBackgroundCopyFile_GetRemoteName(file, &url);
        IBackgroundCopyFile_GetLocalName(file, &local);
        printf("  file:    %ls -> %ls\n", url ? url : L"?", local ? local : L"?");
        CoTaskMemFree(url);
        CoTaskMemFree(local);
        IBackgroundCopyFile_Release(file);
    }
    CoTaskMemFree(text);
    CoTaskMemFree(context_text);
    IBackgroundCopyError_Release(error);
    fflush(stdout);
}

/* After Complete: each file's local name and size on disk (FALSE when one is missing or its
 * size is not the one BITS counted). */
static BOOL print_files(IBackgroundCopyJob *job)
{
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    BG_FILE_PROGRESS progress;
    WIN32_FILE_ATTRIBUTE_DATA data;
    WCHAR *local;
    BOOL ok = TRUE;

    if (FAILED(IBackgroundCopyJob_EnumFiles(job, &files))) return FALSE;
    while (IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL) == S_OK)
    {
        if (SUCCEEDED(IBackgroundCopyFile_GetLocalName(file, &local)))
        {
            BOOL found = GetFileAttributesExW(local, GetFileExInfoStandard, &data);
            DWORD error = found ? 0 : GetLastError();
            UINT64 size = found ? ((UINT64)data.nFileSizeHigh << 32) | data.nFileSizeLow : 0;

            memset(&progress, 0, sizeof(progress));
            if (SUCCEEDED(IBackgroundCopyFile_GetProgress(file, &progress)) && found && progress.BytesTotal == size)
                printf("  %ls  %llu bytes\n", local, (unsigned long long)size);
            else if (found)
            {
                printf("  %ls  %llu bytes, but BITS counted %llu\n", local, (unsigned long long)size,
                       (unsigned long long)progress.BytesTotal);
                ok = FALSE;
            }
            else
            {
                printf("  %ls  missing (error %lu)\n", local, error);
                ok = FALSE;
            }
            CoTaskMemFree(local);
        }
        IBackgroundCopyFile_Release(file);
    }
    IEnumBackgroundCopyFiles_Release(files);
    return ok;
}

/* --- the job ---------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: download.exe [--retry-delay SECONDS] [--timeout SECONDS] URL LOCALPATH [URL LOCALPATH ...]\n");
    return 2;
}

static BOOL parse_seconds(const WCHAR *text, ULONG *seconds)
{
    WCHAR *end;
    unsigned long value = wcstoul(text, &end, 10);

    if (!*text || *end) return FALSE;
    *seconds = value;
    return TRUE;
}

/* Adds the URL/LOCALPATH pairs; a relative local path becomes a full one. */
static BOOL add_files(IBackgroundCopyJob *job, int count, WCHAR **pairs)
{
    WCHAR local[MAX_PATH];
    HRESULT hr;
    int i;

    for (i = 0; i < count; i += 2)
    {
        DWORD length = GetFullPathNameW(pairs[i + 1], ARRAYSIZE(local), local, NULL);
        if (!length || length >= ARRAYSIZE(local))
        {
            printf("cannot make a full path of %ls (error %lu)\n", pairs[i + 1], GetLastError());
            return FALSE;
        }
        if (FAILED(hr = IBackgroundCopyJob_AddFile(job, pairs[i], local)))
        {
            printf("AddFile(%ls, %ls) failed: %#lx\n", pairs[i], local, hr);
            return FALSE;
        }
        printf("  %ls -> %ls\n", pairs[i], local);
    }
    return TRUE;
}

/* Shows the job until it ends; returns its final state (CANCELLED when we gave up). */
static BG_JOB_STATE follow(IBackgroundCopyJob *job, ULONG timeout)
{
    HANDLE events[4] = { interrupted, callback.transferred, callback.error, callback.modified };
    ULONGLONG deadline = timeout ? GetTickCount64() + timeout * 1000ull : 0;
    BG_JOB_STATE state, last = (BG_JOB_STATE)-1;
    ULONG retry_delay;
    HRESULT hr;

    for (;;)
    {
        DWORD result = WaitForMultipleObjects(ARRAYSIZE(events), events, FALSE, TICK_MS);

        if (FAILED(hr = IBackgroundCopyJob_GetState(job, &state)))
        {
            end_progress_line();
            printf("GetState failed: %#lx\n", hr);
            return BG_JOB_STATE_CANCELLED;
        }
        show_progress(job, state, state != last);
        if (state == BG_JOB_STATE_TRANSIENT_ERROR && last != BG_JOB_STATE_TRANSIENT_ERROR)
        {
            end_progress_line();
            print_error(job, "transient error");
            if (SUCCEEDED(IBackgroundCopyJob_GetMinimumRetryDelay(job, &retry_delay)))
                printf("  BITS retries by itself after the retry delay (%lu s)\n", retry_delay);
        }
        last = state;
        if (state == BG_JOB_STATE_TRANSFERRED || state == BG_JOB_STATE_ERROR
            || state == BG_JOB_STATE_ACKNOWLEDGED || state == BG_JOB_STATE_CANCELLED)
        {
            end_progress_line();
            return state;
        }
        if (result == WAIT_OBJECT_0)
        {
            end_progress_line();
            printf("interrupted: cancelling the job\n");
            return BG_JOB_STATE_CANCELLED;
        }
        if (deadline && GetTickCount64() >= deadline)
        {
            end_progress_line();
            printf("no end after %lu s: cancelling the job\n", timeout);
            return BG_JOB_STATE_CANCELLED;
        }
    }
}

static void print_server(IUnknown *object)
{
    WCHAR path[MAX_PATH] = L"?";
    HMODULE module;

    if (GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           *(void **)object, &module))
        GetModuleFileNameW(module, path, ARRAYSIZE(path));
    printf("BITS manager served by %ls\n", path);
}

int wmain(int argc, WCHAR **argv)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    BG_JOB_STATE state;
    ULONG retry_delay = 0, timeout = 0;
    WCHAR id_str[39];
    DWORD mode;
    HRESULT hr;
    GUID id;
    int first = 1, result = 1;
    BOOL set_retry_delay = FALSE;

    while (first < argc && !wcsncmp(argv[first], L"--", 2))
    {
        if (!wcscmp(argv[first], L"--retry-delay") && first + 1 < argc && parse_seconds(argv[first + 1], &retry_delay))
            set_retry_delay = TRUE;
        else if (!wcscmp(argv[first], L"--timeout") && first + 1 < argc && parse_seconds(argv[first + 1], &timeout))
            ;
        else return usage();
        first += 2;
    }
    if (argc - first < 2 || (argc - first) % 2) return usage();

    console = GetConsoleMode(GetStdHandle(STD_OUTPUT_HANDLE), &mode);
    interrupted = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback.transferred = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback.error = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback.modified = CreateEventW(NULL, FALSE, FALSE, NULL);
    SetConsoleCtrlHandler(on_console_control, TRUE);

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_ALL, &IID_IBackgroundCopyManager,
                                     (void **)&manager)))
    {
        printf("CoCreateInstance(CLSID_BackgroundCopyManager) failed: %#lx\n", hr);
        goto out;
    }
    print_server((IUnknown *)manager);

    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"openbits download", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        printf("CreateJob failed: %#lx\n", hr);
        goto out_manager;
    }
    StringFromGUID2(&id, id_str, ARRAYSIZE(id_str));
    printf("job %ls, %d file(s):\n", id_str, (argc - first) / 2);
    if (!add_files(job, argc - first, argv + first)) goto out_cancel;

    if (set_retry_delay && FAILED(hr = IBackgroundCopyJob_SetMinimumRetryDelay(job, retry_delay)))
    {
        printf("SetMinimumRetryDelay(%lu) failed: %#lx\n", retry_delay, hr);
        goto out_cancel;
    }
    if (FAILED(hr = IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback.IBackgroundCopyCallback_iface))
        || FAILED(hr = IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR
                                                         | BG_NOTIFY_JOB_MODIFICATION)))
    {
        printf("cannot register the callback: %#lx\n", hr);
        goto out_cancel;
    }
    if (FAILED(hr = IBackgroundCopyJob_Resume(job)))
    {
        printf("Resume failed: %#lx\n", hr);
        goto out_cancel;
    }

    state = follow(job, timeout);
    if (state == BG_JOB_STATE_TRANSFERRED)
    {
        if (FAILED(hr = IBackgroundCopyJob_Complete(job)))
        {
            printf("Complete failed: %#lx\n", hr);
            goto out_cancel;
        }
        IBackgroundCopyJob_GetState(job, &state);
        printf("Complete: %#lx, state %s\n", hr, state_name(state));
        if (hr == S_OK && print_files(job)) result = 0;
        goto out_job;
    }
    if (state == BG_JOB_STATE_ERROR) print_error(job, "error");
    else if (state != BG_JOB_STATE_CANCELLED) printf("the job ended in state %s\n", state_name(state));

out_cancel:
    if (SUCCEEDED(hr = IBackgroundCopyJob_Cancel(job)))
        printf("job cancelled\n");
    else
        printf("Cancel failed: %#lx\n", hr);
out_job:
    IBackgroundCopyJob_Release(job);
out_manager:
    IBackgroundCopyManager_Release(manager);
out:
    CoUninitialize();
    fflush(stdout);
    return result;
}
