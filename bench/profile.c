/* SPDX-License-Identifier: MIT */
/* Where openbits' CreateJob spends its time: the steps of job_create (src/job.c) timed one by
 * one in this process. owner_get_caller is src/owner.c itself, compiled into the benchmark, and
 * then a replica of it timed section by section within each call; the other steps are the same
 * calls job_create makes. Each figure is the median (and 99th percentile) of `iterations` calls. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "job.h"
#include "owner.h"
#include <sddl.h>

enum step
{
    STEP_CALLOC,
    STEP_NAME,
    STEP_TIME,
    STEP_GUID,
    STEP_FTM,
    STEP_LOCK,
    STEP_OWNER,
    STEP_CREATE_JOB,
    STEP_COUNT
};

static const char *const step_names[STEP_COUNT] =
{
    "calloc(struct job) + free",
    "_wcsdup(display name) + free",
    "GetSystemTimeAsFileTime",
    "CoCreateGuid",
    "CoCreateFreeThreadedMarshaler (creation only)",
    "AcquireSRWLockExclusive + ReleaseSRWLockExclusive",
    "owner_get_caller + owner_free (src/owner.c)",
    "for comparison: IBackgroundCopyManager::CreateJob, whole (then cancelled, untimed)",
};

/* The sections of owner_get_caller, in its order. */
enum section
{
    SECTION_THREAD_TOKEN,
    SECTION_PROCESS_TOKEN,
    SECTION_TOKEN_USER,
    SECTION_SID_STRING,
    SECTION_INTEGRITY,
    SECTION_ELEVATION,
    SECTION_CLOSE,
    SECTION_COUNT
};

static const char *const section_names[SECTION_COUNT] =
{
    "OpenThreadToken (not impersonating: fails)",
    "OpenProcessToken",
    "GetTokenInformation(TokenUser): size query + query",
    "ConvertSidToStringSidW + _wcsdup + LocalFree",
    "GetTokenInformation(TokenIntegrityLevel): size query + query",
    "GetTokenInformation(TokenElevation)",
    "CloseHandle(token)",
};

static void run_step(enum step step, IBackgroundCopyManager *manager, IUnknown **ftm)
{
    static SRWLOCK lock = SRWLOCK_INIT;
    struct owner_info owner;
    FILETIME now;
    GUID id;

    switch (step)
    {
    case STEP_CALLOC: free(calloc(1, sizeof(struct job))); break;
    case STEP_NAME: free(_wcsdup(L"openbits bench")); break;
    case STEP_TIME: GetSystemTimeAsFileTime(&now); break;
    case STEP_GUID: CoCreateGuid(&id); break;
    case STEP_FTM: CoCreateFreeThreadedMarshaler(NULL, ftm); break;
    case STEP_LOCK:
        AcquireSRWLockExclusive(&lock);
        ReleaseSRWLockExclusive(&lock);
        break;
    case STEP_OWNER:
        if (SUCCEEDED(owner_get_caller(&owner))) owner_free(&owner);
        break;
    case STEP_CREATE_JOB:
        if (SUCCEEDED(IBackgroundCopyManager_CreateJob(manager, L"openbits bench", BG_JOB_TYPE_DOWNLOAD, &id,
                                                       (IBackgroundCopyJob **)ftm)))
            break;
        *ftm = NULL;
        break;
    case STEP_COUNT: break;
    }
}

/* owner.c's token_info: a size query, then the query. */
static void *token_info(HANDLE token, TOKEN_INFORMATION_CLASS class)
{
    DWORD size = 0;
    void *buffer;

    GetTokenInformation(token, class, NULL, 0, &size);
    if (!size || !(buffer = malloc(size))) return NULL;
    if (GetTokenInformation(token, class, buffer, size, &size)) return buffer;
    free(buffer);
    return NULL;
}

/* One call of owner_get_caller's replica; times[] gets each section's ticks. */
static void owner_sections(LONGLONG *times)
{
    TOKEN_ELEVATION elevation;
    TOKEN_USER *user;
    WCHAR *sid, *copy;
    HANDLE token;
    LONGLONG t;
    DWORD size;
    void *label;

    t = bench_now();
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) CloseHandle(token);
    times[SECTION_THREAD_TOKEN] = bench_now() - t;
    t = bench_now();
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return;
    times[SECTION_PROCESS_TOKEN] = bench_now() - t;
    t = bench_now();
    user = token_info(token, TokenUser);
    times[SECTION_TOKEN_USER] = bench_now() - t;
    t = bench_now();
    if (user && ConvertSidToStringSidW(user->User.Sid, &sid))
    {
        copy = _wcsdup(sid);
        LocalFree(sid);
        free(copy);
    }
    times[SECTION_SID_STRING] = bench_now() - t;
    free(user);
    t = bench_now();
    label = token_info(token, TokenIntegrityLevel);
    times[SECTION_INTEGRITY] = bench_now() - t;
    free(label);
    t = bench_now();
    GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &size);
    times[SECTION_ELEVATION] = bench_now() - t;
    t = bench_now();
    CloseHandle(token);
    times[SECTION_CLOSE] = bench_now() - t;
}

void profile_create_job(IBackgroundCopyManager *manager, size_t iterations)
{
    LONGLONG *samples = malloc(iterations * sizeof(*samples)), *sections = NULL, times[SECTION_COUNT], start;
    IUnknown **ftms = calloc(iterations, sizeof(*ftms));
    double sum = 0;
    struct stats stats;
    enum section section;
    enum step step;
    size_t i;

    if (!samples || !ftms || !(sections = calloc(iterations * SECTION_COUNT, sizeof(*sections)))) goto out;

    printf("\nWhere CreateJob's time goes (openbits, in process; sizeof(struct job) = %zu bytes):\n\n",
           sizeof(struct job));
    printf("| Step of job_create | median (us) | p99 (us) |\n|---|---:|---:|\n");
    for (step = 0; step < STEP_COUNT; ++step)
    {
        for (i = 0; i < iterations; ++i)
        {
            start = bench_now();
            run_step(step, manager, &ftms[i]);
            samples[i] = bench_now() - start;
        }
        bench_stats(samples, iterations, &stats);
        printf("| %s | %.2f | %.2f |\n", step_names[step], stats.median_us, stats.p99_us);
        if (step != STEP_FTM && step != STEP_CREATE_JOB) continue;
        for (i = 0; i < iterations; ++i)
        {
            if (ftms[i] && step == STEP_CREATE_JOB) IBackgroundCopyJob_Cancel((IBackgroundCopyJob *)ftms[i]);
            if (ftms[i]) IUnknown_Release(ftms[i]);
            ftms[i] = NULL;
        }
    }

    for (i = 0; i < iterations; ++i)
    {
        memset(times, 0, sizeof(times));
        owner_sections(times);
        for (section = 0; section < SECTION_COUNT; ++section) sections[section * iterations + i] = times[section];
    }
    for (section = 0; section < SECTION_COUNT; ++section)
    {
        bench_stats(&sections[section * iterations], iterations, &stats);
        sum += stats.median_us;
        printf("| &nbsp;&nbsp;owner: %s | %.2f | %.2f |\n", section_names[section], stats.median_us, stats.p99_us);
    }
    printf("| &nbsp;&nbsp;owner: sum of the section medians | %.2f | |\n", sum);
    fflush(stdout);

out:
    free(sections);
    free(ftms);
    free(samples);
}
