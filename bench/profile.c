/* SPDX-License-Identifier: MIT */
/* Where openbits' CreateJob spends its time: the steps of job_create (src/job.c) timed one by
 * one in this process. owner_get_caller is src/owner.c itself, compiled into the benchmark; the
 * other steps are the same calls job_create makes. The caller's identity is timed twice: as a
 * plain client calls (no thread token) and from a thread that impersonates (ImpersonateSelf),
 * which is how a COM server calling in on behalf of its client looks. Each figure is the median
 * (and 99th percentile) of `iterations` calls timed alone. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "file.h"
#include "job.h"
#include "owner.h"

enum step
{
    STEP_CALLOC,
    STEP_NAME,
    STEP_TIME,
    STEP_GUID,
    STEP_LOCK,
    STEP_THREAD_TOKEN,
    STEP_SID_COPY,
    STEP_OWNER,
    STEP_CREATE_JOB,
    STEP_OWNER_IMPERSONATING,
    STEP_CREATE_JOB_IMPERSONATING,
    STEP_FTM,
    STEP_COUNT
};

static const char *const step_names[STEP_COUNT] =
{
    "calloc(struct job) + free",
    "_wcsdup(display name) + free",
    "GetSystemTimeAsFileTime",
    "CoCreateGuid",
    "AcquireSRWLockExclusive + ReleaseSRWLockExclusive",
    "OpenThreadToken (no thread token: fails)",
    "_wcsdup(owner SID string) + free",
    "owner_get_caller + owner_free (src/owner.c), no thread token",
    "IBackgroundCopyManager::CreateJob, whole, no thread token",
    "owner_get_caller + owner_free (src/owner.c), thread impersonating",
    "IBackgroundCopyManager::CreateJob, whole, thread impersonating",
    "for reference: CoCreateFreeThreadedMarshaler (creation only)",
};

static void run_step(enum step step, IBackgroundCopyManager *manager, IUnknown **object)
{
    static SRWLOCK lock = SRWLOCK_INIT;
    static const WCHAR sid[] = L"S-1-5-21-0-0-0-1000";
    struct owner_info owner;
    FILETIME now;
    HANDLE token;
    GUID id;

    switch (step)
    {
    case STEP_CALLOC: free(calloc(1, sizeof(struct job))); break;
    case STEP_NAME: free(_wcsdup(L"openbits bench")); break;
    case STEP_TIME: GetSystemTimeAsFileTime(&now); break;
    case STEP_GUID: CoCreateGuid(&id); break;
    case STEP_LOCK:
        AcquireSRWLockExclusive(&lock);
        ReleaseSRWLockExclusive(&lock);
        break;
    case STEP_THREAD_TOKEN:
        if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) CloseHandle(token);
        break;
    case STEP_SID_COPY: free(_wcsdup(sid)); break;
    case STEP_OWNER:
    case STEP_OWNER_IMPERSONATING:
        if (SUCCEEDED(owner_get_caller(&owner))) owner_free(&owner);
        break;
    case STEP_CREATE_JOB:
    case STEP_CREATE_JOB_IMPERSONATING:
        if (FAILED(IBackgroundCopyManager_CreateJob(manager, L"openbits bench", BG_JOB_TYPE_DOWNLOAD, &id,
                                                    (IBackgroundCopyJob **)object)))
            *object = NULL;
        break;
    case STEP_FTM: CoCreateFreeThreadedMarshaler(NULL, object); break;
    case STEP_COUNT: break;
    }
}

void profile_create_job(IBackgroundCopyManager *manager, size_t iterations)
{
    LONGLONG *samples = malloc(iterations * sizeof(*samples)), start;
    IUnknown **objects = calloc(iterations, sizeof(*objects));
    BOOL impersonating = FALSE;
    struct stats stats;
    enum step step;
    size_t i;

    if (!samples || !objects) goto out;

    printf("\nWhere CreateJob's time goes (openbits, in process; sizeof(struct job) = %zu bytes, "
           "sizeof(struct job_file) = %zu bytes):\n\n", sizeof(struct job), sizeof(struct job_file));
    printf("| Step of job_create | median (us) | p99 (us) |\n|---|---:|---:|\n");
    for (step = 0; step < STEP_COUNT; ++step)
    {
        BOOL impersonate = step == STEP_OWNER_IMPERSONATING || step == STEP_CREATE_JOB_IMPERSONATING;

        if (impersonate && !impersonating && !(impersonating = ImpersonateSelf(SecurityImpersonation)))
        {
            printf("| %s | ImpersonateSelf failed: %lu | |\n", step_names[step], GetLastError());
            continue;
        }
        if (!impersonate && impersonating)
        {
            RevertToSelf();
            impersonating = FALSE;
        }
        for (i = 0; i < iterations; ++i)
        {
            start = bench_now();
            run_step(step, manager, &objects[i]);
            samples[i] = bench_now() - start;
        }
        bench_stats(samples, iterations, &stats);
        printf("| %s | %.2f | %.2f |\n", step_names[step], stats.median_us, stats.p99_us);
        if (step != STEP_CREATE_JOB && step != STEP_CREATE_JOB_IMPERSONATING && step != STEP_FTM) continue;
        for (i = 0; i < iterations; ++i)
        {
            if (objects[i] && step != STEP_FTM) IBackgroundCopyJob_Cancel((IBackgroundCopyJob *)objects[i]);
            if (objects[i]) IUnknown_Release(objects[i]);
            objects[i] = NULL;
        }
    }
    if (impersonating) RevertToSelf();
    fflush(stdout);

out:
    free(objects);
    free(samples);
}

/* What a lookup costs when its memory is cold: `count` blocks of sizeof(struct job) from malloc,
 * an array of pointers to them (as the queue's buckets point to jobs), and a read of one field of
 * a block chosen at random through that array, timed alone. GetJob of a random job does at least
 * this much (bucket, entry, then AddRef's interlocked write to the same job). */
void profile_cold_reads(size_t count, size_t iterations)
{
    LONGLONG *samples = malloc(iterations * sizeof(*samples)), start;
    volatile LONG **blocks = calloc(count, sizeof(*blocks));
    unsigned long long state = 0x2545f4914f6cdd1dull;
    size_t *indexes = calloc(iterations, sizeof(*indexes)), i;
    struct stats stats;
    LONG sum = 0;

    if (!samples || !blocks || !indexes) goto out;
    for (i = 0; i < count; ++i)
        if (!(blocks[i] = calloc(1, sizeof(struct job)))) goto out;
    for (i = 0; i < iterations; ++i)
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        indexes[i] = (size_t)(state % count);
    }
    for (i = 0; i < iterations; ++i)
    {
        start = bench_now();
        sum += *blocks[indexes[i]];
        samples[i] = bench_now() - start;
    }
    bench_stats(samples, iterations, &stats);
    printf("  cold-memory baseline: a read through a random pointer of %zu to %zu-byte blocks: median %.2f us, "
           "p99 %.2f us (%zu reads)\n", count, sizeof(struct job), stats.median_us, stats.p99_us, iterations);
    fflush(stdout);

out:
    if (blocks)
        for (i = 0; i < count; ++i) free((void *)blocks[i]);
    free(blocks);
    free(indexes);
    free(samples);
    (void)sum;
}
