/* SPDX-License-Identifier: MIT */
/* bench_oop.exe: the cost of a BITS call across the process boundary (scripts/bench-oop.sh,
 * docs/performance.md). It asks for CLSCTX_LOCAL_SERVER like an ordinary client, so it measures
 * whichever BITS the prefix has: Wine's own service, or openbits in its DLL surrogate once
 * regsvr32 has registered it. The script runs it once for each, in the same prefix.
 *
 *   bench_oop.exe LABEL [--jobs N] [--calls N]
 *
 * Creates jobs until N (default 1000) are queued, timing every CreateJob; then, at 100 and at N
 * jobs queued, times --calls (default 2000) GetJob calls of random queued jobs and as many
 * GetState calls. Every call is timed alone with QueryPerformanceCounter; the lines give the
 * median and the 99th percentile. Every job created is cancelled before the program ends.
 * Results go to stdout as "RESULT <label> <operation> <jobs> <median us> <p99 us> <calls>". */
#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "bits.h"

static double tick_us;

static LONGLONG now(void)
{
    LARGE_INTEGER counter;

    QueryPerformanceCounter(&counter);
    return counter.QuadPart;
}

static int compare(const void *a, const void *b)
{
    LONGLONG x = *(const LONGLONG *)a, y = *(const LONGLONG *)b;
    return (x > y) - (x < y);
}

static void report(const char *label, const char *operation, size_t jobs, LONGLONG *samples, size_t count)
{
    size_t p99;

    if (!count) return;
    qsort(samples, count, sizeof(*samples), compare);
    p99 = (count * 99 + 99) / 100;
    printf("RESULT %s %s %zu %.1f %.1f %zu\n", label, operation, jobs, samples[count / 2] * tick_us,
           samples[p99 ? p99 - 1 : 0] * tick_us, count);
    fflush(stdout);
}

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static size_t random_index(size_t count)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % count);
}

static void measure_lookups(const char *label, IBackgroundCopyManager *manager, const GUID *ids, size_t jobs,
                            size_t calls)
{
    LONGLONG *samples = calloc(calls, sizeof(*samples)), start;
    IBackgroundCopyJob *job;
    BG_JOB_STATE state;
    size_t i, n = 0;
    HRESULT hr;

    for (i = 0; i < calls; ++i)
    {
        start = now();
        hr = IBackgroundCopyManager_GetJob(manager, &ids[random_index(jobs)], &job);
        samples[n] = now() - start;
        if (FAILED(hr))
        {
            printf("GetJob failed: %#lx\n", hr);
            break;
        }
        ++n;
        IBackgroundCopyJob_Release(job);
    }
    report(label, "GetJob", jobs, samples, n);

    n = 0;
    if (SUCCEEDED(IBackgroundCopyManager_GetJob(manager, &ids[jobs / 2], &job)))
    {
        for (i = 0; i < calls; ++i)
        {
            start = now();
            hr = IBackgroundCopyJob_GetState(job, &state);
            samples[n] = now() - start;
            if (FAILED(hr))
            {
                printf("GetState failed: %#lx\n", hr);
                break;
            }
            ++n;
        }
        IBackgroundCopyJob_Release(job);
    }
    report(label, "GetState", jobs, samples, n);
    free(samples);
}

int main(int argc, char **argv)
{
    size_t jobs = 1000, calls = 2000, created = 0, i, n = 0;
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    LONGLONG *samples, start;
    LARGE_INTEGER frequency;
    const char *label;
    GUID *ids;
    HRESULT hr;

    if (argc < 2)
    {
        fprintf(stderr, "usage: bench_oop.exe LABEL [--jobs N] [--calls N]\n");
        return 2;
    }
    label = argv[1];
    for (i = 2; i + 1 < (size_t)argc; i += 2)
    {
        if (!strcmp(argv[i], "--jobs")) jobs = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--calls")) calls = strtoul(argv[i + 1], NULL, 10);
    }
    if (jobs < 100) jobs = 100;
    QueryPerformanceFrequency(&frequency);
    tick_us = 1e6 / (double)frequency.QuadPart;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    start = now();
    hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_LOCAL_SERVER, &IID_IBackgroundCopyManager,
                          (void **)&manager);
    printf("RESULT %s activation 0 %.1f %.1f 1\n", label, (now() - start) * tick_us, (now() - start) * tick_us);
    if (FAILED(hr))
    {
        printf("CoCreateInstance: %#lx\n", hr);
        return 1;
    }

    ids = calloc(jobs, sizeof(*ids));
    samples = calloc(jobs, sizeof(*samples));
    while (created < jobs)
    {
        start = now();
        hr = IBackgroundCopyManager_CreateJob(manager, L"openbits bench", BG_JOB_TYPE_DOWNLOAD, &ids[created], &job);
        samples[n++] = now() - start;
        if (FAILED(hr))
        {
            printf("CreateJob failed: %#lx\n", hr);
            break;
        }
        IBackgroundCopyJob_Release(job);
        if (++created == 100) measure_lookups(label, manager, ids, created, calls);
    }
    report(label, "CreateJob", jobs, samples, n);
    if (created == jobs) measure_lookups(label, manager, ids, created, calls);

    for (i = 0; i < created; ++i)
    {
        if (FAILED(IBackgroundCopyManager_GetJob(manager, &ids[i], &job))) continue;
        IBackgroundCopyJob_Cancel(job);
        IBackgroundCopyJob_Release(job);
    }
    IBackgroundCopyManager_Release(manager);
    free(samples);
    free(ids);
    CoUninitialize();
    return 0;
}
