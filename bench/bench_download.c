/* SPDX-License-Identifier: MIT */
/* bench_download.exe: real downloads through a BITS implementation, timed as a client sees them
 * (docs/performance-downloads.md, scripts/bench-download.sh).
 *
 * One job per file, created, given its file, priority and notify interface, and resumed; the
 * program then sleeps until the last JobTransferred (or the first JobError) arrives through its
 * IBackgroundCopyCallback (no polling), completes every job and checks the size of every local
 * file. Wall time runs with QueryPerformanceCounter from before the first CreateJob to after the
 * last Complete; CPU time is this process's user and kernel time over the same span
 * (GetProcessTimes).
 *
 *  - openbits: openbits.dll is loaded in process from this program's directory and reached
 *    through DllGetClassObject + IClassFactory (nothing is registered), so its workers and
 *    WinHTTP run in this process and its CPU time is ours.
 *  - wine: CoCreateInstance(CLSID_BackgroundCopyManager, CLSCTX_LOCAL_SERVER): in a prefix where
 *    openbits is not registered, Wine's own BITS (qmgr in svchost.exe) answers and does the work
 *    in its process; this process only waits (the script measures the service's CPU).
 *
 *   bench_download.exe --impl openbits|wine --priority foreground|normal --base URL --out DIR
 *                      --size BYTES NAME...
 *
 * Each NAME is fetched from URL/NAME into DIR\NAME and must end up BYTES long. The last line of
 * output is machine-readable:
 *   result impl=... priority=... jobs=N bytes=B wall=S transferred=S cpu_user=S cpu_sys=S
 * (seconds; `transferred` is when the last JobTransferred came). Exit status 0 only when every
 * job transferred and every size is right. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"
#include "bench_client.h"

#define MAX_JOBS        64
#define WAIT_LIMIT_MS   (30 * 60 * 1000)   /* the slowest run we wait for: 30 minutes */

/* --- the BITS implementation under test ---------------------------------------------------------- */

enum impl { IMPL_OPENBITS, IMPL_WINE };

static HRESULT create_manager(enum impl impl, IBackgroundCopyManager **manager)
{
    *manager = NULL;
    if (impl == IMPL_OPENBITS) return create_openbits_manager(manager);
    return CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_LOCAL_SERVER, &IID_IBackgroundCopyManager,
                            (void **)manager);
}

/* --- measuring ---------------------------------------------------------------------------------- */

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

/* --- the run --------------------------------------------------------------------------------- */

struct options
{
    enum impl impl;
    BG_JOB_PRIORITY priority;
    const WCHAR *base, *out;
    ULONGLONG size;
    int count;
    WCHAR **names;
};

static void usage(void)
{
    fprintf(stderr, "usage: bench_download.exe --impl openbits|wine --priority foreground|normal --base URL "
                    "--out DIR --size BYTES NAME...\n");
    exit(2);
}

static void parse_options(int argc, WCHAR **argv, struct options *options)
{
    int i;

    memset(options, 0, sizeof(*options));
    options->priority = BG_JOB_PRIORITY_FOREGROUND;
    for (i = 1; i < argc && argv[i][0] == L'-'; i += 2)
    {
        if (i + 1 >= argc) usage();
        if (!wcscmp(argv[i], L"--impl"))
        {
            if (!wcscmp(argv[i + 1], L"openbits")) options->impl = IMPL_OPENBITS;
            else if (!wcscmp(argv[i + 1], L"wine")) options->impl = IMPL_WINE;
            else usage();
        }
        else if (!wcscmp(argv[i], L"--priority"))
        {
            if (!wcscmp(argv[i + 1], L"foreground")) options->priority = BG_JOB_PRIORITY_FOREGROUND;
            else if (!wcscmp(argv[i + 1], L"normal")) options->priority = BG_JOB_PRIORITY_NORMAL;
            else usage();
        }
        else if (!wcscmp(argv[i], L"--base")) options->base = argv[i + 1];
        else if (!wcscmp(argv[i], L"--out")) options->out = argv[i + 1];
        else if (!wcscmp(argv[i], L"--size")) options->size = _wcstoui64(argv[i + 1], NULL, 10);
        else usage();
    }
    options->count = argc - i;
    options->names = argv + i;
    if (!options->base || !options->out || !options->size || options->count < 1 || options->count > MAX_JOBS)
        usage();
}

/* Creates the job of names[index] and resumes it. */
static HRESULT start_job(IBackgroundCopyManager *manager, const struct options *options, int index,
                         struct callback *callback, IBackgroundCopyJob **out)
{
    WCHAR name[64], url[1024], local[MAX_PATH];
    IBackgroundCopyJob *job;
    HRESULT hr;
    GUID id;

    *out = NULL;
    swprintf(name, ARRAYSIZE(name), L"bench download %d", index);
    swprintf(url, ARRAYSIZE(url), L"%ls/%ls", options->base, options->names[index]);
    swprintf(local, ARRAYSIZE(local), L"%ls\\%ls", options->out, options->names[index]);
    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, name, BG_JOB_TYPE_DOWNLOAD, &id, &job)))
        return hr;
    if (FAILED(hr = IBackgroundCopyJob_AddFile(job, url, local))
            || FAILED(hr = IBackgroundCopyJob_SetPriority(job, options->priority))
            || FAILED(hr = IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback->IBackgroundCopyCallback_iface))
            || FAILED(hr = IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR))
            || FAILED(hr = IBackgroundCopyJob_Resume(job)))
    {
        IBackgroundCopyJob_Cancel(job);
        IBackgroundCopyJob_Release(job);
        return hr;
    }
    *out = job;
    return S_OK;
}

static BOOL check_size(const struct options *options, int index)
{
    WIN32_FILE_ATTRIBUTE_DATA data;
    WCHAR local[MAX_PATH];
    ULONGLONG size;

    swprintf(local, ARRAYSIZE(local), L"%ls\\%ls", options->out, options->names[index]);
    if (!GetFileAttributesExW(local, GetFileExInfoStandard, &data))
    {
        fprintf(stderr, "bench: %ls is missing: error %lu\n", local, GetLastError());
        return FALSE;
    }
    size = ((ULONGLONG)data.nFileSizeHigh << 32) | data.nFileSizeLow;
    if (size != options->size)
    {
        fprintf(stderr, "bench: %ls has %llu bytes, not %llu\n", local, size, options->size);
        return FALSE;
    }
    return TRUE;
}

int wmain(int argc, WCHAR **argv)
{
    static const char *const impl_names[] = { "openbits", "wine" };
    IBackgroundCopyJob *jobs[MAX_JOBS] = { NULL };
    IBackgroundCopyManager *manager;
    struct callback callback;
    double user0, sys0, user1, sys1, wall, transferred;
    LARGE_INTEGER frequency;
    LONGLONG start, end;
    struct options options;
    int i, result = 1;
    BOOL sizes_ok = TRUE;
    HRESULT hr;

    parse_options(argc, argv, &options);
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    QueryPerformanceFrequency(&frequency);

    callback_init(&callback, options.count);

    /* The manager (for Wine: the service starting) is not part of the figures. */
    if (FAILED(hr = create_manager(options.impl, &manager)))
    {
        fprintf(stderr, "bench: no %s manager: %#lx\n", impl_names[options.impl], hr);
        goto out;
    }

    process_cpu(&user0, &sys0);
    start = qpc_now();
    for (i = 0; i < options.count; ++i)
    {
        if (FAILED(hr = start_job(manager, &options, i, &callback, &jobs[i])))
        {
            fprintf(stderr, "bench: job %d: %#lx\n", i, hr);
            goto out_jobs;
        }
    }
    if (WaitForSingleObject(callback.done, WAIT_LIMIT_MS) != WAIT_OBJECT_0)
    {
        fprintf(stderr, "bench: no end within %u s\n", WAIT_LIMIT_MS / 1000);
        goto out_jobs;
    }
    if (callback.failed)
    {
        fprintf(stderr, "bench: a job failed: %#lx (context %u)\n", callback.error_code, callback.error_context);
        goto out_jobs;
    }
    for (i = 0; i < options.count; ++i)
    {
        if (FAILED(hr = IBackgroundCopyJob_Complete(jobs[i])) || hr != S_OK)
        {
            fprintf(stderr, "bench: Complete of job %d: %#lx\n", i, hr);
            goto out_jobs;
        }
    }
    end = qpc_now();
    process_cpu(&user1, &sys1);

    for (i = 0; i < options.count; ++i)
        if (!check_size(&options, i)) sizes_ok = FALSE;
    wall = (double)(end - start) / (double)frequency.QuadPart;
    transferred = (double)(callback.last_transferred - start) / (double)frequency.QuadPart;
    printf("%s, %d job(s) of %llu bytes, priority %s: %.3f s (last JobTransferred at %.3f s), %.1f MiB/s, "
           "CPU %.3f s user + %.3f s system in this process\n",
           impl_names[options.impl], options.count, options.size,
           options.priority == BG_JOB_PRIORITY_FOREGROUND ? "FOREGROUND" : "NORMAL", wall, transferred,
           (double)options.size * options.count / 1048576.0 / wall, user1 - user0, sys1 - sys0);
    printf("result impl=%s priority=%s jobs=%d bytes=%llu wall=%.6f transferred=%.6f cpu_user=%.6f cpu_sys=%.6f\n",
           impl_names[options.impl], options.priority == BG_JOB_PRIORITY_FOREGROUND ? "foreground" : "normal",
           options.count, options.size * options.count, wall, transferred, user1 - user0, sys1 - sys0);
    fflush(stdout);
    result = sizes_ok ? 0 : 1;

out_jobs:
    for (i = 0; i < options.count; ++i)
    {
        if (!jobs[i]) continue;
        if (result) IBackgroundCopyJob_Cancel(jobs[i]);
        IBackgroundCopyJob_Release(jobs[i]);
    }
    IBackgroundCopyManager_Release(manager);
out:
    CloseHandle(callback.done);
    CoUninitialize();
    return result;
}
