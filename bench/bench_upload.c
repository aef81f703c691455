/* SPDX-License-Identifier: MIT */
/* bench_upload.exe: one real upload through openbits.dll, timed as a client sees it
 * (docs/performance-uploads.md, scripts/bench-upload.sh).
 *
 * openbits.dll is loaded in process from this program's directory and reached through
 * DllGetClassObject + IClassFactory (nothing is registered), so its workers and WinHTTP run in
 * this process and its CPU time is ours. One upload job is created, given the file, FOREGROUND
 * priority and a notify interface, and resumed; the program then sleeps until JobTransferred (or
 * JobError) arrives (no polling) and completes the job. Wall time runs with
 * QueryPerformanceCounter from before CreateJob to after Complete; CPU time is this process's
 * user and kernel time over the same span (GetProcessTimes).
 *
 *   bench_upload.exe --url URL --file PATH
 *
 * The last line of output is machine-readable:
 *   result bytes=B wall=S transferred=S cpu_user=S cpu_sys=S
 * (seconds; `transferred` is when JobTransferred came). Exit status 0 only when the job
 * transferred and completed. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"
#include "bench_client.h"

#define WAIT_LIMIT_MS (30 * 60 * 1000)     /* the slowest run we wait for: 30 minutes */

static LONGLONG qpc_now(void)
{
    LARGE_INTEGER counter;

    QueryPerformanceCounter(&counter);
    return counter.QuadPart;
}

static double filetime_seconds(const FILETIME *time)
{
    return (double)(((ULONGLONG)time->dwHighDateTime << 32) | time->dwLowDateTime) / 1e7;
}

static void process_cpu(double *user, double *sys)
{
    FILETIME creation, exit, kernel, usertime;

    *user = *sys = 0;
    if (GetProcessTimes(GetCurrentProcess(), &creation, &exit, &kernel, &usertime))
    {
        *user = filetime_seconds(&usertime);
        *sys = filetime_seconds(&kernel);
    }
}

int wmain(int argc, WCHAR **argv)
{
    const WCHAR *url = NULL, *file = NULL;
    IBackgroundCopyManager *manager = NULL;
    IBackgroundCopyJob *job = NULL;
    struct callback callback;
    double user0, sys0, user1, sys1, wall, transferred;
    WIN32_FILE_ATTRIBUTE_DATA data;
    LARGE_INTEGER frequency;
    LONGLONG start, end;
    ULONGLONG size;
    int i, result = 1;
    HRESULT hr;
    GUID id;

    for (i = 1; i + 1 < argc; i += 2)
    {
        if (!wcscmp(argv[i], L"--url")) url = argv[i + 1];
        else if (!wcscmp(argv[i], L"--file")) file = argv[i + 1];
    }
    if (!url || !file || i != argc)
    {
        fprintf(stderr, "usage: bench_upload.exe --url URL --file PATH\n");
        return 2;
    }
    if (!GetFileAttributesExW(file, GetFileExInfoStandard, &data))
    {
        fprintf(stderr, "bench: %ls: error %lu\n", file, GetLastError());
        return 2;
    }
    size = ((ULONGLONG)data.nFileSizeHigh << 32) | data.nFileSizeLow;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    QueryPerformanceFrequency(&frequency);
    callback_init(&callback, 1);

    /* The manager is not part of the figures. */
    if (FAILED(hr = create_openbits_manager(&manager)))
    {
        fprintf(stderr, "bench: no manager: %#lx\n", hr);
        goto out;
    }
    process_cpu(&user0, &sys0);
    start = qpc_now();
    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"bench upload", BG_JOB_TYPE_UPLOAD, &id, &job))
            || FAILED(hr = IBackgroundCopyJob_AddFile(job, url, file))
            || FAILED(hr = IBackgroundCopyJob_SetPriority(job, BG_JOB_PRIORITY_FOREGROUND))
            || FAILED(hr = IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback.IBackgroundCopyCallback_iface))
            || FAILED(hr = IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR))
            || FAILED(hr = IBackgroundCopyJob_Resume(job)))
    {
        fprintf(stderr, "bench: the job: %#lx\n", hr);
        goto out;
    }
    if (WaitForSingleObject(callback.done, WAIT_LIMIT_MS) != WAIT_OBJECT_0)
    {
        fprintf(stderr, "bench: no end within %u s\n", WAIT_LIMIT_MS / 1000);
        goto out;
    }
    if (callback.failed)
    {
        fprintf(stderr, "bench: the job failed: %#lx (context %u)\n", callback.error_code, callback.error_context);
        goto out;
    }
    if ((hr = IBackgroundCopyJob_Complete(job)) != S_OK)
    {
        fprintf(stderr, "bench: Complete: %#lx\n", hr);
        goto out;
    }
    end = qpc_now();
    process_cpu(&user1, &sys1);

    wall = (double)(end - start) / (double)frequency.QuadPart;
    transferred = (double)(callback.last_transferred - start) / (double)frequency.QuadPart;
    printf("openbits, upload of %llu bytes: %.3f s (JobTransferred at %.3f s), %.1f MiB/s, "
           "CPU %.3f s user + %.3f s system in this process\n",
           size, wall, transferred, (double)size / 1048576.0 / wall, user1 - user0, sys1 - sys0);
    printf("result bytes=%llu wall=%.6f transferred=%.6f cpu_user=%.6f cpu_sys=%.6f\n",
           size, wall, transferred, user1 - user0, sys1 - sys0);
    fflush(stdout);
    result = 0;

out:
    if (job)
    {
        if (result) IBackgroundCopyJob_Cancel(job);
        IBackgroundCopyJob_Release(job);
    }
    if (manager) IBackgroundCopyManager_Release(manager);
    CloseHandle(callback.done);
    CoUninitialize();
    return result;
}
