/* SPDX-License-Identifier: MIT */
/* bench_manager.exe: how fast openbits' manager and jobs answer, and how much memory an idle job
 * costs, next to Wine's own BITS (docs/performance.md, scripts/bench.sh).
 *
 * openbits.dll is loaded in process from this program's directory and reached through
 * DllGetClassObject + IClassFactory, so nothing is registered. Wine's BITS is reached through
 * CoCreateInstance(CLSID_BackgroundCopyManager, CLSCTX_LOCAL_SERVER): in a prefix where openbits
 * is not registered, Wine's qmgr service answers.
 *
 * Every call is timed alone with QueryPerformanceCounter; the tables give the median and the 99th
 * percentile (nearest rank) of those samples, and for the sub-tick calls the median over batches
 * of 1,000 back-to-back calls of the time per call. Every job
 * created is cancelled before the program ends.
 *
 *   bench_manager.exe [--max-jobs N] [--wine-max-jobs N] [--memory-jobs N] [--no-wine]
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "bench.h"

#define MAX_SIZES   3
#define MAX_RESULTS 64

static const size_t queue_sizes[MAX_SIZES] = { 1000, 10000, 100000 };
static double tick_us;                     /* microseconds per QueryPerformanceCounter tick */

double bench_ticks_to_us(LONGLONG ticks)
{
    return (double)ticks * tick_us;
}

static int compare_ticks(const void *a, const void *b)
{
    LONGLONG x = *(const LONGLONG *)a, y = *(const LONGLONG *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted samples. */
static LONGLONG percentile(const LONGLONG *sorted, size_t count, unsigned int pct)
{
    size_t rank = (count * pct + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

void bench_stats(LONGLONG *ticks, size_t count, struct stats *out)
{
    LONGLONG total = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!count) return;
    for (i = 0; i < count; ++i) total += ticks[i];
    qsort(ticks, count, sizeof(*ticks), compare_ticks);
    out->count = count;
    out->median_us = bench_ticks_to_us(percentile(ticks, count, 50));
    out->p99_us = bench_ticks_to_us(percentile(ticks, count, 99));
    out->max_us = bench_ticks_to_us(ticks[count - 1]);
    out->mean_us = bench_ticks_to_us(total) / (double)count;
}

/* --- results ----------------------------------------------------------------------------------- */

enum impl_id { IMPL_OPENBITS, IMPL_WINE, IMPL_COUNT };
static const char *const impl_names[IMPL_COUNT] = { "openbits", "Wine BITS" };

struct result
{
    char operation[48];
    size_t jobs;
    struct stats stats[IMPL_COUNT];
    BOOL measured[IMPL_COUNT];
};

static struct result results[MAX_RESULTS];
static size_t result_count;

static void record(enum impl_id impl, const char *operation, size_t jobs, const struct stats *stats)
{
    struct result *result = NULL;
    size_t i;

    for (i = 0; i < result_count && !result; ++i)
        if (!strcmp(results[i].operation, operation) && results[i].jobs == jobs) result = &results[i];
    if (!result && result_count < MAX_RESULTS)
    {
        result = &results[result_count++];
        snprintf(result->operation, sizeof(result->operation), "%s", operation);
        result->jobs = jobs;
    }
    if (!result) return;
    result->stats[impl] = *stats;
    result->measured[impl] = TRUE;
    printf("  %-9s %-32s %6zu jobs: median %8.2f us  p99 %8.2f us  mean %8.2f us  max %9.2f us  (%zu calls)",
           impl_names[impl], operation, jobs, stats->median_us, stats->p99_us, stats->mean_us, stats->max_us,
           stats->count);
    if (stats->batch_mean_us) printf("  batched %.3f us", stats->batch_mean_us);
    printf("\n");
    fflush(stdout);
}

static void print_cell(const struct result *result, enum impl_id impl)
{
    if (result->measured[impl])
        printf(" %.2f | %.2f |", result->stats[impl].median_us, result->stats[impl].p99_us);
    else
        printf(" n/m | n/m |");
}

static void print_results(void)
{
    size_t i;

    printf("\n| Operation | Jobs queued | openbits median (us) | openbits p99 (us) | openbits batched (us) "
           "| Wine BITS median (us) | Wine BITS p99 (us) |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < result_count; ++i)
    {
        printf("| %s | %zu |", results[i].operation, results[i].jobs);
        print_cell(&results[i], IMPL_OPENBITS);
        if (results[i].measured[IMPL_OPENBITS] && results[i].stats[IMPL_OPENBITS].batch_mean_us)
            printf(" %.3f |", results[i].stats[IMPL_OPENBITS].batch_mean_us);
        else
            printf(" |");
        print_cell(&results[i], IMPL_WINE);
        printf("\n");
    }
    printf("(n/m: not measured)\n");
}

/* --- the timed calls, the same for both implementations ------------------------------------------ */

struct impl
{
    enum impl_id id;
    IBackgroundCopyManager *manager;
    size_t max_jobs;                  /* the largest queue size measured */
    size_t lookups[MAX_SIZES];        /* samples of GetJob and GetState per queue size */
    size_t enum_calls[MAX_SIZES];     /* samples of EnumJobs + GetCount per queue size */
    GUID *ids;                        /* every job created, in order */
    size_t created;
    unsigned int failures;
};

#define BATCH 1000                    /* calls per batch for the batched means */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static size_t random_index(size_t count)
{
    rng_state ^= rng_state << 13;      /* xorshift64: fixed seed, same sequence on every run */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (size_t)(rng_state % count);
}

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);

    if (!p)
    {
        fprintf(stderr, "out of memory for %zu x %zu bytes\n", count, size);
        exit(2);
    }
    return p;
}

static void note_failure(struct impl *impl, const char *what, HRESULT hr)
{
    if (impl->failures++ < 10) printf("  %s: %s failed: %#lx\n", impl_names[impl->id], what, hr);
}

/* Creates jobs until `target` are queued, timing each CreateJob. */
static void bench_create(struct impl *impl, size_t target)
{
    size_t count = target - impl->created, n = 0;
    LONGLONG *samples = xcalloc(count, sizeof(*samples)), start;
    IBackgroundCopyJob *job;
    struct stats stats;
    char label[48];
    HRESULT hr;

    while (impl->created < target)
    {
        start = bench_now();
        hr = IBackgroundCopyManager_CreateJob(impl->manager, L"openbits bench", BG_JOB_TYPE_DOWNLOAD,
                                              &impl->ids[impl->created], &job);
        samples[n++] = bench_now() - start;
        if (FAILED(hr))
        {
            note_failure(impl, "CreateJob", hr);
            break;
        }
        IBackgroundCopyJob_Release(job);
        impl->created++;
    }
    bench_stats(samples, n, &stats);
    snprintf(label, sizeof(label), "CreateJob (queue %zu..%zu)", target - count, target);
    record(impl->id, label, target, &stats);
    free(samples);
}

/* The job ids GetJob looks up: the last one created, or one chosen at random each time. */
static const GUID **lookup_ids(struct impl *impl, size_t count, BOOL random)
{
    const GUID **ids = xcalloc(count, sizeof(*ids));
    size_t i;

    for (i = 0; i < count; ++i) ids[i] = &impl->ids[random ? random_index(impl->created) : impl->created - 1];
    return ids;
}

/* The median over batches of each batch's time per call: finer than one QueryPerformanceCounter
 * tick, and a batch that another process preempted counts once, not in every mean. */
static double batch_median_us(LONGLONG *batches, size_t count)
{
    struct stats stats;

    bench_stats(batches, count, &stats);
    return count ? stats.median_us / BATCH : 0;
}

/* GetJob, each call timed alone; then the same lookups in batches of BATCH calls. Releases are
 * never timed. */
static void bench_get_job(struct impl *impl, size_t lookups, BOOL random)
{
    LONGLONG *samples = xcalloc(lookups, sizeof(*samples)), *batches = xcalloc(lookups / BATCH, sizeof(*batches));
    IBackgroundCopyJob **jobs = xcalloc(BATCH, sizeof(*jobs));
    const GUID **ids = lookup_ids(impl, lookups, random);
    size_t i, j, n = 0, batch_count = 0;
    LONGLONG start;
    struct stats stats;
    HRESULT hr = S_OK;

    for (i = 0; i < lookups; ++i)
    {
        start = bench_now();
        hr = IBackgroundCopyManager_GetJob(impl->manager, ids[i], &jobs[0]);
        samples[n++] = bench_now() - start;
        if (FAILED(hr))
        {
            note_failure(impl, "GetJob", hr);
            break;
        }
        IBackgroundCopyJob_Release(jobs[0]);
    }
    for (i = 0; SUCCEEDED(hr) && i + BATCH <= lookups; i += BATCH)
    {
        start = bench_now();
        for (j = 0; j < BATCH; ++j)
            if (FAILED(hr = IBackgroundCopyManager_GetJob(impl->manager, ids[i + j], &jobs[j]))) break;
        if (j == BATCH) batches[batch_count++] = bench_now() - start;
        while (j--) IBackgroundCopyJob_Release(jobs[j]);
    }
    bench_stats(samples, n, &stats);
    stats.batch_mean_us = batch_median_us(batches, batch_count);
    record(impl->id, random ? "GetJob (random job)" : "GetJob (last job created)", impl->created, &stats);
    free(batches);
    free(ids);
    free(jobs);
    free(samples);
}

static void bench_get_state(struct impl *impl, size_t lookups)
{
    LONGLONG *samples = xcalloc(lookups, sizeof(*samples)), *batches = xcalloc(lookups / BATCH, sizeof(*batches));
    size_t i, j, n = 0, batch_count = 0;
    IBackgroundCopyJob *job;
    LONGLONG start;
    BG_JOB_STATE state;
    struct stats stats;
    HRESULT hr;

    if (FAILED(hr = IBackgroundCopyManager_GetJob(impl->manager, &impl->ids[impl->created - 1], &job)))
    {
        note_failure(impl, "GetJob for GetState", hr);
        free(batches);
        free(samples);
        return;
    }
    for (i = 0; i < lookups; ++i)
    {
        start = bench_now();
        hr = IBackgroundCopyJob_GetState(job, &state);
        samples[n++] = bench_now() - start;
        if (FAILED(hr))
        {
            note_failure(impl, "GetState", hr);
            break;
        }
    }
    for (i = 0; SUCCEEDED(hr) && i + BATCH <= lookups; i += BATCH)
    {
        start = bench_now();
        for (j = 0; j < BATCH; ++j)
            if (FAILED(hr = IBackgroundCopyJob_GetState(job, &state))) break;
        if (j == BATCH) batches[batch_count++] = bench_now() - start;
    }
    IBackgroundCopyJob_Release(job);
    bench_stats(samples, n, &stats);
    stats.batch_mean_us = batch_median_us(batches, batch_count);
    record(impl->id, "GetState", impl->created, &stats);
    free(batches);
    free(samples);
}

/* EnumJobs and GetCount, timed together; the enumerator's Release (which releases every job in
 * the snapshot) is timed apart. */
static void bench_enum_jobs(struct impl *impl, size_t calls)
{
    LONGLONG *samples = xcalloc(calls, sizeof(*samples)), *releases = xcalloc(calls, sizeof(*releases)), start;
    IEnumBackgroundCopyJobs *jobs;
    struct stats stats;
    size_t i, n = 0;
    ULONG count = 0;
    HRESULT hr;

    for (i = 0; i < calls; ++i)
    {
        start = bench_now();
        if (SUCCEEDED(hr = IBackgroundCopyManager_EnumJobs(impl->manager, 0, &jobs)))
        {
            if (FAILED(hr = IEnumBackgroundCopyJobs_GetCount(jobs, &count)))
                IEnumBackgroundCopyJobs_Release(jobs);
        }
        samples[n] = bench_now() - start;
        if (FAILED(hr))
        {
            note_failure(impl, "EnumJobs + GetCount", hr);
            break;
        }
        if (count != impl->created)
            printf("  %s: EnumJobs counted %lu jobs, %zu are queued\n", impl_names[impl->id], count, impl->created);
        start = bench_now();
        IEnumBackgroundCopyJobs_Release(jobs);
        releases[n++] = bench_now() - start;
    }
    bench_stats(samples, n, &stats);
    record(impl->id, "EnumJobs + GetCount", impl->created, &stats);
    bench_stats(releases, n, &stats);
    record(impl->id, "IEnumBackgroundCopyJobs::Release", impl->created, &stats);
    free(samples);
    free(releases);
}

static int compare_guids(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(GUID));
}

/* Cancels every job whose id is in ids[0..count): walks an enumeration of the queue (Next in
 * chunks, GetId, Cancel), which costs the same per job however the implementation finds jobs. */
static void cancel_jobs(IBackgroundCopyManager *manager, const char *name, GUID *ids, size_t count)
{
    IBackgroundCopyJob *jobs[256];
    IEnumBackgroundCopyJobs *jobs_enum;
    LONGLONG start = bench_now();
    size_t cancelled = 0, failed = 0;
    ULONG fetched, i;
    HRESULT hr;
    GUID id;

    if (!count) return;
    qsort(ids, count, sizeof(*ids), compare_guids);
    if (FAILED(hr = IBackgroundCopyManager_EnumJobs(manager, 0, &jobs_enum)))
    {
        printf("  %s: cleanup: EnumJobs failed: %#lx\n", name, hr);
        return;
    }
    do
    {
        fetched = 0;
        hr = IEnumBackgroundCopyJobs_Next(jobs_enum, ARRAYSIZE(jobs), jobs, &fetched);
        for (i = 0; i < fetched; ++i)
        {
            HRESULT cancel_hr;

            if (SUCCEEDED(IBackgroundCopyJob_GetId(jobs[i], &id))
                && bsearch(&id, ids, count, sizeof(*ids), compare_guids))
            {
                if (SUCCEEDED(cancel_hr = IBackgroundCopyJob_Cancel(jobs[i]))) cancelled++;
                else if (failed++ < 5) printf("  %s: cleanup: Cancel failed: %#lx\n", name, cancel_hr);
            }
            IBackgroundCopyJob_Release(jobs[i]);
        }
    } while (hr == S_OK && fetched);
    IEnumBackgroundCopyJobs_Release(jobs_enum);
    printf("  %s: cleanup: cancelled %zu of the %zu jobs created (%zu failures) in %.1f s\n", name, cancelled,
           count, failed, bench_ticks_to_us(bench_now() - start) / 1e6);
}

static void run_suite(struct impl *impl)
{
    size_t i;

    impl->ids = xcalloc(impl->max_jobs, sizeof(*impl->ids));
    for (i = 0; i < MAX_SIZES && queue_sizes[i] <= impl->max_jobs; ++i)
    {
        LONGLONG start = bench_now();

        bench_create(impl, queue_sizes[i]);
        if (impl->created < queue_sizes[i]) break;
        bench_get_job(impl, impl->lookups[i], FALSE);
        bench_get_job(impl, impl->lookups[i], TRUE);
        bench_get_state(impl, impl->lookups[i]);
        bench_enum_jobs(impl, impl->enum_calls[i]);
        printf("  %s: %zu jobs measured in %.1f s\n", impl_names[impl->id], queue_sizes[i],
               bench_ticks_to_us(bench_now() - start) / 1e6);
    }
    cancel_jobs(impl->manager, impl_names[impl->id], impl->ids, impl->created);
    impl->created = 0;
    free(impl->ids);
    impl->ids = NULL;
}

/* --- memory per idle job ------------------------------------------------------------------------- */

struct heap_usage
{
    SIZE_T busy;            /* allocated blocks: cbData + cbOverhead */
    SIZE_T blocks;
    SIZE_T committed;       /* committed bytes of the heaps' regions, as a cross-check */
};

/* Walks every heap of the process (the C runtime's malloc heap, the process heap that
 * CoTaskMemAlloc and ole32 use, ...) and adds up the busy blocks with their overhead. */
static void heap_usage(struct heap_usage *usage)
{
    HANDLE heaps[64];
    DWORD count, i;

    memset(usage, 0, sizeof(*usage));
    count = GetProcessHeaps(ARRAYSIZE(heaps), heaps);
    if (count > ARRAYSIZE(heaps)) count = ARRAYSIZE(heaps);
    for (i = 0; i < count; ++i)
    {
        PROCESS_HEAP_ENTRY entry;

        if (!HeapLock(heaps[i])) continue;
        memset(&entry, 0, sizeof(entry));
        while (HeapWalk(heaps[i], &entry))
        {
            if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY)
            {
                usage->busy += entry.cbData + entry.cbOverhead;
                usage->blocks++;
            }
            else if (entry.wFlags & PROCESS_HEAP_REGION)
                usage->committed += entry.Region.dwCommittedSize;
        }
        HeapUnlock(heaps[i]);
    }
}

/* Shows that the accounting sees what malloc hands out: a small block and a large one (the
 * latter beyond the size at which heaps map blocks of their own). */
static void heap_self_check(void)
{
    static void *volatile small, *volatile large;     /* volatile: an optimiser may not drop them */
    struct heap_usage before, after;

    heap_usage(&before);
    small = malloc(100);
    large = malloc(4 << 20);
    heap_usage(&after);
    printf("  memory: accounting check: malloc(100) + malloc(4 MiB) = %.0f bytes in %.0f heap blocks\n",
           (double)after.busy - (double)before.busy, (double)after.blocks - (double)before.blocks);
    free(large);
    free(small);
}

static void print_memory(const char *what, const struct heap_usage *before, const struct heap_usage *after,
                         size_t jobs)
{
    double n = (double)jobs;

    printf("  memory per idle job (%s, %zu jobs): heap blocks %.0f B (%.2f blocks/job); "
           "committed in heap regions %.0f B\n", what, jobs,
           ((double)after->busy - (double)before->busy) / n,
           ((double)after->blocks - (double)before->blocks) / n,
           ((double)after->committed - (double)before->committed) / n);
    fflush(stdout);
}

/* Creates `jobs` download jobs, each with one AddFile unless `with_file` is FALSE, releases the
 * client's references (the queue keeps the jobs: idle, never resumed, so nothing touches the
 * network) and reports the heap growth per job. Returns FALSE when AddFile is not available. */
static BOOL memory_run(IBackgroundCopyManager *manager, size_t jobs, BOOL with_file, const WCHAR *dir,
                       GUID *ids)
{
    struct heap_usage before, after;
    WCHAR remote[64], local[MAX_PATH];
    IBackgroundCopyJob *job;
    size_t i, created = 0;
    BOOL available = TRUE;
    HRESULT hr;

    heap_usage(&before);
    for (i = 0; i < jobs; ++i)
    {
        if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"openbits bench", BG_JOB_TYPE_DOWNLOAD,
                                                         &ids[i], &job)))
        {
            printf("  memory: CreateJob failed: %#lx\n", hr);
            break;
        }
        created++;
        if (with_file)
        {
            swprintf(remote, ARRAYSIZE(remote), L"http://127.0.0.1/x/file%zu", i);
            swprintf(local, ARRAYSIZE(local), L"%lsfile%zu", dir, i);
            if (FAILED(hr = IBackgroundCopyJob_AddFile(job, remote, local)))
            {
                if (hr == E_NOTIMPL)
                    printf("  memory per idle job with one file: AddFile not available (E_NOTIMPL)\n");
                else
                    printf("  memory: AddFile(%ls, %ls) failed: %#lx\n", remote, local, hr);
                available = FALSE;
                IBackgroundCopyJob_Release(job);
                break;
            }
        }
        IBackgroundCopyJob_Release(job);
    }
    heap_usage(&after);
    if (available && created == jobs)
        print_memory(with_file ? "one file" : "no file", &before, &after, jobs);

    cancel_jobs(manager, "memory", ids, created);
    return available;
}

static void bench_memory(IBackgroundCopyManager *manager, size_t jobs)
{
    WCHAR dir[MAX_PATH];
    GUID *ids;
    DWORD len;

    len = GetTempPathW(ARRAYSIZE(dir) - 32, dir);
    if (!len || len >= ARRAYSIZE(dir) - 32)
    {
        printf("  memory: no temporary directory\n");
        return;
    }
    wcscat(dir, L"openbits-bench\\");
    if (!CreateDirectoryW(dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    {
        printf("  memory: cannot create %ls: %lu\n", dir, GetLastError());
        return;
    }
    heap_self_check();
    if (!(ids = calloc(jobs, sizeof(*ids)))) return;
    printf("  memory: local files in %ls (nothing is resumed, nothing is written)\n", dir);
    /* With files first, on a queue that has never held more than one job: the figure includes
     * the queue's share of growing its table. The run without files then reuses that table. */
    memory_run(manager, jobs, TRUE, dir, ids);
    memory_run(manager, jobs, FALSE, dir, ids);
    free(ids);
    RemoveDirectoryW(dir);
}

/* --- openbits.dll, in process --------------------------------------------------------------------- */

static HRESULT openbits_manager(HMODULE *module, IBackgroundCopyManager **manager)
{
    HRESULT (WINAPI *get_class_object)(REFCLSID, REFIID, void **);
    IClassFactory *factory;
    WCHAR path[MAX_PATH], *slash;
    DWORD len;
    HRESULT hr;

    *manager = NULL;
    len = GetModuleFileNameW(NULL, path, ARRAYSIZE(path));
    if (!len || len >= ARRAYSIZE(path) || !(slash = wcsrchr(path, L'\\'))
        || (size_t)(slash + 1 - path) + wcslen(L"openbits.dll") >= ARRAYSIZE(path))
        return E_FAIL;
    wcscpy(slash + 1, L"openbits.dll");
    if (!(*module = LoadLibraryW(path)))
    {
        printf("cannot load %ls: error %lu\n", path, GetLastError());
        return HRESULT_FROM_WIN32(GetLastError());
    }
    printf("openbits: %ls, in process, through DllGetClassObject (not registered)\n", path);
    if (!(get_class_object = (void *)GetProcAddress(*module, "DllGetClassObject"))) return E_FAIL;
    if (FAILED(hr = get_class_object(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory)))
        return hr;
    hr = IClassFactory_CreateInstance(factory, NULL, &IID_IBackgroundCopyManager, (void **)manager);
    IClassFactory_Release(factory);
    return hr;
}

static void bench_openbits(size_t max_jobs, size_t memory_jobs)
{
    struct impl impl = { .id = IMPL_OPENBITS, .max_jobs = max_jobs, .lookups = { 20000, 20000, 20000 },
                         .enum_calls = { 1000, 200, 20 } };
    HRESULT (WINAPI *can_unload)(void);
    HMODULE module = NULL;
    IBackgroundCopyJob *job;
    GUID id;
    HRESULT hr;

    printf("\n== openbits.dll ==\n");
    if (FAILED(hr = openbits_manager(&module, &impl.manager)))
    {
        printf("openbits: no manager: %#lx\n", hr);
        goto out;
    }
    /* One job first, so one-time work (the owner's token, the marshaler's class) is not measured. */
    if (SUCCEEDED(hr = IBackgroundCopyManager_CreateJob(impl.manager, L"warm-up", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        IBackgroundCopyJob_Cancel(job);
        IBackgroundCopyJob_Release(job);
    }
    if (memory_jobs) bench_memory(impl.manager, memory_jobs);
    run_suite(&impl);
    profile_create_job(impl.manager, 20000);
    printf("\n");
    profile_cold_reads(1000, 20000);
    if (max_jobs >= 100000) profile_cold_reads(100000, 20000);

    IBackgroundCopyManager_Release(impl.manager);
    can_unload = (void *)GetProcAddress(module, "DllCanUnloadNow");
    printf("  openbits: DllCanUnloadNow after cleanup: %#lx (S_OK: no job or object left)\n",
           can_unload ? can_unload() : E_FAIL);
out:
    if (module) FreeLibrary(module);
}

/* --- Wine's BITS, out of process --------------------------------------------------------------------- */

/* Shows that CLSID_BackgroundCopyManager is Wine's: no InprocServer32 (openbits not registered),
 * an AppID whose LocalService is Wine's BITS service. */
static void print_local_server(void)
{
    static const WCHAR clsid[] = L"CLSID\\{4991d34b-80a1-4291-83b6-3328366b9097}";
    WCHAR key_name[80], app_id[40] = L"(none)", service[64] = L"(none)";
    DWORD size = sizeof(app_id);
    BOOL inproc;
    HKEY key;

    swprintf(key_name, ARRAYSIZE(key_name), L"%ls\\InprocServer32", clsid);
    inproc = !RegOpenKeyExW(HKEY_CLASSES_ROOT, key_name, 0, KEY_READ, &key);
    if (inproc) RegCloseKey(key);
    if (!RegOpenKeyExW(HKEY_CLASSES_ROOT, clsid, 0, KEY_READ, &key))
    {
        if (RegQueryValueExW(key, L"AppID", NULL, NULL, (BYTE *)app_id, &size)) wcscpy(app_id, L"(none)");
        RegCloseKey(key);
    }
    swprintf(key_name, ARRAYSIZE(key_name), L"AppID\\%ls", app_id);
    size = sizeof(service);
    if (!RegOpenKeyExW(HKEY_CLASSES_ROOT, key_name, 0, KEY_READ, &key))
    {
        if (RegQueryValueExW(key, L"LocalService", NULL, NULL, (BYTE *)service, &size)) wcscpy(service, L"(none)");
        RegCloseKey(key);
    }
    printf("Wine BITS: CoCreateInstance(CLSID_BackgroundCopyManager, CLSCTX_LOCAL_SERVER); InprocServer32 %s; "
           "AppID %ls, LocalService = %ls\n", inproc ? "PRESENT (openbits registered?)" : "absent", app_id, service);
}

static void bench_wine(size_t max_jobs)
{
    struct impl impl = { .id = IMPL_WINE, .max_jobs = max_jobs, .lookups = { 1000, 300, 50 },
                         .enum_calls = { 100, 20, 5 } };
    HRESULT hr;

    printf("\n== Wine's BITS ==\n");
    print_local_server();
    if (FAILED(hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_LOCAL_SERVER,
                                     &IID_IBackgroundCopyManager, (void **)&impl.manager)))
    {
        printf("Wine BITS: CoCreateInstance failed: %#lx\n", hr);
        return;
    }
    run_suite(&impl);
    IBackgroundCopyManager_Release(impl.manager);
}

/* --- main ------------------------------------------------------------------------------------------- */

static size_t size_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
    {
        fprintf(stderr, "%s needs a number\n", argv[*i]);
        exit(2);
    }
    return (size_t)strtoull(argv[++*i], NULL, 10);
}

int main(int argc, char **argv)
{
    size_t max_jobs = 100000, wine_max_jobs = 10000, memory_jobs = 10000;
    LONGLONG samples[10000], start;
    LARGE_INTEGER frequency;
    BOOL wine = TRUE;
    struct stats stats;
    int i;

    for (i = 1; i < argc; ++i)
    {
        if (!strcmp(argv[i], "--max-jobs")) max_jobs = size_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--wine-max-jobs")) wine_max_jobs = size_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--memory-jobs")) memory_jobs = size_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--no-wine")) wine = FALSE;
        else
        {
            fprintf(stderr, "usage: %s [--max-jobs N] [--wine-max-jobs N] [--memory-jobs N] [--no-wine]\n",
                    argv[0]);
            return 2;
        }
    }

    QueryPerformanceFrequency(&frequency);
    tick_us = 1e6 / (double)frequency.QuadPart;
    for (i = 0; i < (int)ARRAYSIZE(samples); ++i)
    {
        start = bench_now();
        samples[i] = bench_now() - start;
    }
    bench_stats(samples, ARRAYSIZE(samples), &stats);
    printf("QueryPerformanceCounter: %lld Hz (one tick = %.3f us); back-to-back reads: median %.3f us, "
           "mean %.3f us\n", frequency.QuadPart, tick_us, stats.median_us, stats.mean_us);

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    bench_openbits(max_jobs, memory_jobs);
    if (wine) bench_wine(wine_max_jobs);
    CoUninitialize();

    print_results();
    return 0;
}
