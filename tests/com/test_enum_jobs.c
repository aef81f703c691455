/* SPDX-License-Identifier: MIT */
/* IEnumBackgroundCopyJobs, as IBackgroundCopyManager::EnumJobs hands it out: a snapshot of the
 * queue whose job objects stay live. */
#include "com_test.h"

#define POISON ((void *)(ULONG_PTR)0xdeadbeef)

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    return test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
}

static int teardown(void **state)
{
    if (manager) assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    manager = NULL;
    assert_no_live_objects(&dll);
    return 0;
}

/* Creates `count` download jobs; the test holds one reference to each. */
static void create_jobs(IBackgroundCopyJob **jobs, size_t count)
{
    size_t i;

    for (i = 0; i < count; ++i)
    {
        GUID id;
        assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"enumerated", BG_JOB_TYPE_DOWNLOAD, &id, &jobs[i]));
    }
}

/* Cancels the jobs and drops the test's references, which must be the last ones. */
static void cancel_jobs(IBackgroundCopyJob **jobs, size_t count)
{
    size_t i;

    for (i = 0; i < count; ++i)
    {
        assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[i]));
        assert_int_equal(IBackgroundCopyJob_Release(jobs[i]), 0);
    }
}

static IEnumBackgroundCopyJobs *enum_jobs(DWORD flags)
{
    IEnumBackgroundCopyJobs *enumerator = POISON;

    assert_hr(S_OK, IBackgroundCopyManager_EnumJobs(manager, flags, &enumerator));
    assert_non_null(enumerator);
    assert_ptr_not_equal(enumerator, POISON);
    return enumerator;
}

static ULONG count_of(IEnumBackgroundCopyJobs *enumerator)
{
    ULONG count = 0xdeadbeef;

    assert_hr(S_OK, IEnumBackgroundCopyJobs_GetCount(enumerator, &count));
    return count;
}

/* The index in `jobs` of the job with the same id as `job`; fails the test if there is none. */
static size_t index_of(IBackgroundCopyJob *job, IBackgroundCopyJob **jobs, size_t count)
{
    GUID id, other;
    size_t i;

    assert_non_null(job);
    assert_hr(S_OK, IBackgroundCopyJob_GetId(job, &id));
    for (i = 0; i < count; ++i)
    {
        assert_hr(S_OK, IBackgroundCopyJob_GetId(jobs[i], &other));
        if (IsEqualGUID(&id, &other))
        {
            assert_ptr_equal(job, jobs[i]);       /* the same live object, not a copy */
            return i;
        }
    }
    fail_msg("enumerated a job that is not expected");
    return count;
}

/* Takes every remaining element with one Next and checks it is exactly `jobs`, in any order. */
static void expect_rest(IEnumBackgroundCopyJobs *enumerator, IBackgroundCopyJob **jobs, size_t count)
{
    IBackgroundCopyJob *got[16];
    BOOL seen[16] = { FALSE };
    ULONG fetched = 0xdeadbeef;
    size_t i;

    assert_true(count < ARRAYSIZE(got));
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, ARRAYSIZE(got), got, &fetched));
    assert_int_equal(fetched, count);
    for (i = 0; i < count; ++i)
    {
        size_t index = index_of(got[i], jobs, count);
        assert_false(seen[index]);
        seen[index] = TRUE;
        IBackgroundCopyJob_Release(got[i]);
    }
    for (; i < ARRAYSIZE(got); ++i) assert_null(got[i]);
}

static void test_arguments(void **state)
{
    static const DWORD bad_flags[] = { 2, 3, 4, 0x100, 0x80000000, ~0u };
    IEnumBackgroundCopyJobs *enumerator;
    size_t i;

    assert_hr(E_INVALIDARG, IBackgroundCopyManager_EnumJobs(manager, 0, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_EnumJobs(manager, BG_JOB_ENUM_ALL_USERS, NULL));
    /* Only BG_JOB_ENUM_ALL_USERS is defined; any other bit is refused (our choice: the code is
     * unconfirmed). */
    for (i = 0; i < ARRAYSIZE(bad_flags); ++i)
    {
        enumerator = POISON;
        assert_hr(E_INVALIDARG, IBackgroundCopyManager_EnumJobs(manager, bad_flags[i], &enumerator));
        assert_null(enumerator);
    }
}

static void test_interfaces(void **state)
{
    IEnumBackgroundCopyJobs *enumerator = enum_jobs(0);

    assert_refcount(enumerator, 1);
    check_interface(enumerator, IID_IUnknown, TRUE);
    check_interface(enumerator, IID_IEnumBackgroundCopyJobs, TRUE);
    check_interface(enumerator, IID_IMarshal, TRUE);
    check_interface(enumerator, IID_IEnumBackgroundCopyFiles, FALSE);
    check_interface(enumerator, IID_IBackgroundCopyJob, FALSE);
    check_interface(enumerator, IID_IBackgroundCopyManager, FALSE);
    assert_refcount(enumerator, 1);

    /* Every call makes a new enumerator. */
    {
        IEnumBackgroundCopyJobs *other = enum_jobs(0);
        assert_ptr_not_equal(other, enumerator);
        assert_int_equal(IEnumBackgroundCopyJobs_Release(other), 0);
    }
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
}

static void test_empty_queue(void **state)
{
    IEnumBackgroundCopyJobs *enumerator = enum_jobs(0), *clone;
    IBackgroundCopyJob *job = POISON;
    ULONG fetched = 0xdeadbeef;

    assert_int_equal(count_of(enumerator), 0);
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_GetCount(enumerator, NULL));

    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_null(job);
    job = POISON;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, &fetched));
    assert_null(job);
    assert_int_equal(fetched, 0);
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 0, &job, &fetched));
    assert_int_equal(fetched, 0);

    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 0));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Skip(enumerator, 1));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));

    assert_hr(S_OK, IEnumBackgroundCopyJobs_Clone(enumerator, &clone));
    assert_int_equal(count_of(clone), 0);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(clone), 0);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
}

static void test_next(void **state)
{
    IBackgroundCopyJob *jobs[3], *got[5], *job;
    IEnumBackgroundCopyJobs *enumerator;
    ULONG fetched;
    BOOL seen[3] = { FALSE };
    size_t i;

    create_jobs(jobs, ARRAYSIZE(jobs));
    enumerator = enum_jobs(0);
    assert_int_equal(count_of(enumerator), 3);

    /* Argument errors move nothing: all three jobs come back afterwards. */
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_Next(enumerator, 2, got, NULL));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_Next(enumerator, 0, got, NULL));
    assert_ptr_equal(got[0], POISON);
    fetched = 0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_Next(enumerator, 1, NULL, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_Next(enumerator, 1, NULL, NULL));
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 0, got, &fetched));
    assert_int_equal(fetched, 0);
    assert_ptr_equal(got[0], POISON);

    /* One at a time without pceltFetched (celt == 1). */
    for (i = 0; i < 3; ++i)
    {
        size_t index;

        job = POISON;
        assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
        index = index_of(job, jobs, ARRAYSIZE(jobs));
        assert_false(seen[index]);
        seen[index] = TRUE;
        IBackgroundCopyJob_Release(job);
    }
    job = POISON;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_null(job);

    /* Exactly celt left: S_OK; then fewer: S_FALSE with the unused slots NULLed. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 2, got, &fetched));
    assert_int_equal(fetched, 2);
    assert_ptr_equal(got[2], POISON);                  /* past celt: untouched */
    assert_int_not_equal(index_of(got[0], jobs, 3), index_of(got[1], jobs, 3));
    IBackgroundCopyJob_Release(got[0]);
    IBackgroundCopyJob_Release(got[1]);

    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 3, got, &fetched));
    assert_int_equal(fetched, 1);
    index_of(got[0], jobs, 3);
    assert_null(got[1]);
    assert_null(got[2]);
    assert_ptr_equal(got[3], POISON);
    IBackgroundCopyJob_Release(got[0]);

    /* At the end: S_FALSE, nothing, every slot NULLed. */
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 5, got, &fetched));
    assert_int_equal(fetched, 0);
    for (i = 0; i < ARRAYSIZE(got); ++i) assert_null(got[i]);

    /* All at once, more asked than there are. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    expect_rest(enumerator, jobs, ARRAYSIZE(jobs));

    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    cancel_jobs(jobs, ARRAYSIZE(jobs));
}

static void test_skip_reset(void **state)
{
    IBackgroundCopyJob *jobs[3], *job, *first;
    IEnumBackgroundCopyJobs *enumerator;
    ULONG fetched;

    create_jobs(jobs, ARRAYSIZE(jobs));
    enumerator = enum_jobs(0);

    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 0));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &first, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 2));      /* exactly to the end */
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_null(job);
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Skip(enumerator, 1));

    /* Reset goes back to the same first element: the order of one snapshot is fixed. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_ptr_equal(job, first);
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyJob_Release(first);

    /* Skipping past the end clamps the position to the end. */
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Skip(enumerator, 5));
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 1));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Skip(enumerator, ~0u));   /* no overflow */
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 3));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));
    expect_rest(enumerator, jobs, ARRAYSIZE(jobs));
    assert_int_equal(count_of(enumerator), 3);            /* Skip and Next never change the count */

    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    cancel_jobs(jobs, ARRAYSIZE(jobs));
}

static void test_clone(void **state)
{
    IBackgroundCopyJob *jobs[3], *order[3], *job;
    IEnumBackgroundCopyJobs *enumerator, *clone = POISON, *clone2;
    ULONG fetched;
    size_t i;

    create_jobs(jobs, ARRAYSIZE(jobs));
    enumerator = enum_jobs(0);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 3, order, &fetched));
    assert_int_equal(fetched, 3);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(enumerator));

    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs_Clone(enumerator, NULL));

    /* A clone starts at the same position over the same snapshot. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Skip(enumerator, 1));
    for (i = 0; i < ARRAYSIZE(jobs); ++i) assert_refcount(jobs[i], 3);   /* test, snapshot, order */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Clone(enumerator, &clone));
    assert_ptr_not_equal(clone, enumerator);
    assert_refcount(clone, 1);
    assert_refcount(enumerator, 1);
    for (i = 0; i < ARRAYSIZE(jobs); ++i) assert_refcount(jobs[i], 3);   /* the snapshot is shared */
    check_interface(clone, IID_IEnumBackgroundCopyJobs, TRUE);
    check_interface(clone, IID_IMarshal, TRUE);
    assert_int_equal(count_of(clone), 3);

    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(clone, 1, &job, NULL));
    assert_ptr_equal(job, order[1]);
    IBackgroundCopyJob_Release(job);

    /* Independent cursors: the original has not moved. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_ptr_equal(job, order[1]);
    IBackgroundCopyJob_Release(job);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Reset(clone));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_ptr_equal(job, order[2]);
    IBackgroundCopyJob_Release(job);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(clone, 1, &job, NULL));
    assert_ptr_equal(job, order[0]);
    IBackgroundCopyJob_Release(job);

    /* A clone at the end is at the end. */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Clone(enumerator, &clone2));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(clone2, 1, &job, NULL));
    assert_null(job);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(clone2), 0);

    /* A clone outlives the enumerator it came from, and so do its jobs. */
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    for (i = 0; i < ARRAYSIZE(jobs); ++i) IBackgroundCopyJob_Release(order[i]);
    for (i = 0; i < ARRAYSIZE(jobs); ++i)
    {
        assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[i]));
        assert_int_equal(IBackgroundCopyJob_Release(jobs[i]), 1);       /* the clone's snapshot */
    }
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Clone(clone, &clone2));
    assert_int_equal(IEnumBackgroundCopyJobs_Release(clone), 0);
    fetched = 0xdeadbeef;
    for (i = 0; i < ARRAYSIZE(order); ++i) order[i] = POISON;
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(clone2, 2, order, &fetched));
    assert_int_equal(fetched, 2);
    for (i = 0; i < 2; ++i)
    {
        BG_JOB_STATE job_state;
        assert_hr(S_OK, IBackgroundCopyJob_GetState(order[i], &job_state));
        assert_int_equal(job_state, BG_JOB_STATE_CANCELLED);
        assert_int_equal(IBackgroundCopyJob_Release(order[i]), 1);
    }
    assert_int_equal(IEnumBackgroundCopyJobs_Release(clone2), 0);
}

/* The enumeration is fixed when EnumJobs returns; the job objects in it are not. */
static void test_snapshot(void **state)
{
    IBackgroundCopyJob *jobs[3], *expected[2];
    IEnumBackgroundCopyJobs *enumerator, *later;
    IBackgroundCopyJob *got[4];
    BG_JOB_STATE job_state;
    ULONG fetched;
    size_t i;

    create_jobs(jobs, 2);
    enumerator = enum_jobs(0);

    create_jobs(&jobs[2], 1);                                 /* created after EnumJobs */
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[0]));      /* cancelled after EnumJobs */
    assert_int_equal(count_of(enumerator), 2);

    assert_hr(S_FALSE, IEnumBackgroundCopyJobs_Next(enumerator, ARRAYSIZE(got), got, &fetched));
    assert_int_equal(fetched, 2);
    for (i = 0; i < fetched; ++i)
    {
        size_t index = index_of(got[i], jobs, 2);            /* never jobs[2] */
        assert_hr(S_OK, IBackgroundCopyJob_GetState(got[i], &job_state));
        assert_int_equal(job_state, index == 0 ? BG_JOB_STATE_CANCELLED : BG_JOB_STATE_SUSPENDED);
        IBackgroundCopyJob_Release(got[i]);
    }

    /* A new enumeration sees the queue as it is now. */
    later = enum_jobs(0);
    expected[0] = jobs[1];
    expected[1] = jobs[2];
    expect_rest(later, expected, 2);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(later), 0);

    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    assert_int_equal(IBackgroundCopyJob_Release(jobs[0]), 0);
    cancel_jobs(&jobs[1], 2);
}

static void test_final_states_not_enumerated(void **state)
{
    IBackgroundCopyJob *completed, *cancelled, *kept;
    IEnumBackgroundCopyJobs *enumerator;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"done", BG_JOB_TYPE_DOWNLOAD, &id, &completed));
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"gone", BG_JOB_TYPE_UPLOAD, &id, &cancelled));
    create_jobs(&kept, 1);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(completed));
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(cancelled));

    enumerator = enum_jobs(0);
    expect_rest(enumerator, &kept, 1);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);

    assert_int_equal(IBackgroundCopyJob_Release(completed), 0);
    assert_int_equal(IBackgroundCopyJob_Release(cancelled), 0);
    cancel_jobs(&kept, 1);
}

static void test_refcounts(void **state)
{
    IEnumBackgroundCopyJobs *enumerator;
    IBackgroundCopyJob *job, *got;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"counted", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_refcount(job, 1);
    enumerator = enum_jobs(0);
    assert_refcount(job, 2);                    /* the snapshot's */
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &got, NULL));
    assert_ptr_equal(got, job);
    assert_refcount(job, 3);                    /* Next hands out a reference */
    assert_int_equal(IBackgroundCopyJob_Release(got), 2);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    assert_refcount(job, 1);

    /* A job nobody holds a COM reference to is still enumerated (the queue holds it), and the
     * snapshot's reference is a real one. */
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    enumerator = enum_jobs(0);
    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &got, NULL));
    assert_refcount(got, 2);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    assert_refcount(got, 1);
    cancel_jobs(&got, 1);
}

/* An enumerator keeps the DLL loaded and its jobs alive, even cancelled and with no manager. */
static void test_lifetime(void **state)
{
    IEnumBackgroundCopyJobs *enumerator;
    IBackgroundCopyJob *job;
    BG_JOB_STATE job_state;

    create_jobs(&job, 1);
    enumerator = enum_jobs(0);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 1);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    manager = NULL;
    assert_hr(S_FALSE, dll.DllCanUnloadNow());

    assert_hr(S_OK, IEnumBackgroundCopyJobs_Next(enumerator, 1, &job, NULL));
    assert_hr(S_OK, IBackgroundCopyJob_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_CANCELLED);
    assert_int_equal(IBackgroundCopyJob_Release(job), 1);
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    assert_no_live_objects(&dll);
}

static void test_all_users(void **state)
{
    IEnumBackgroundCopyJobs *enumerator;
    IBackgroundCopyManager *other;
    IBackgroundCopyJob *jobs[2];

    create_jobs(jobs, ARRAYSIZE(jobs));

    /* In-process every queued job is the caller's: ALL_USERS enumerates the same jobs. */
    enumerator = enum_jobs(BG_JOB_ENUM_ALL_USERS);
    expect_rest(enumerator, jobs, ARRAYSIZE(jobs));
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);

    /* Every manager enumerates the one queue. */
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager,
                                    (void **)&other));
    assert_hr(S_OK, IBackgroundCopyManager_EnumJobs(other, 0, &enumerator));
    expect_rest(enumerator, jobs, ARRAYSIZE(jobs));
    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    assert_int_equal(IBackgroundCopyManager_Release(other), 0);

    cancel_jobs(jobs, ARRAYSIZE(jobs));
}

/* --- one enumerator shared by several threads --------------------------------------------- */

enum { THREAD_JOBS = 200, THREADS = 4 };

struct next_thread
{
    IEnumBackgroundCopyJobs *enumerator;
    ULONG celt;
    IBackgroundCopyJob *got[THREAD_JOBS];
    ULONG count;
    HRESULT failure;
};

static DWORD WINAPI next_thread_proc(void *arg)
{
    struct next_thread *thread = arg;
    IBackgroundCopyJob *batch[THREADS];
    HRESULT hr;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    do
    {
        ULONG fetched = 0, i;

        hr = IEnumBackgroundCopyJobs_Next(thread->enumerator, thread->celt, batch, &fetched);
        if (FAILED(hr) || fetched > thread->celt || thread->count + fetched > THREAD_JOBS)
        {
            thread->failure = FAILED(hr) ? hr : E_UNEXPECTED;
            break;
        }
        for (i = 0; i < fetched; ++i) thread->got[thread->count++] = batch[i];
    }
    while (hr == S_OK);
    CoUninitialize();
    return 0;
}

static void test_shared_between_threads(void **state)
{
    static IBackgroundCopyJob *jobs[THREAD_JOBS];
    static struct next_thread threads[THREADS];
    static BOOL seen[THREAD_JOBS];
    IEnumBackgroundCopyJobs *enumerator;
    HANDLE handles[THREADS];
    ULONG total = 0;
    size_t i, j;

    create_jobs(jobs, THREAD_JOBS);
    enumerator = enum_jobs(0);
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < THREADS; ++i)
    {
        memset(&threads[i], 0, sizeof(threads[i]));
        threads[i].enumerator = enumerator;
        threads[i].celt = (ULONG)i + 1;
        handles[i] = CreateThread(NULL, 0, next_thread_proc, &threads[i], 0, NULL);
        assert_non_null(handles[i]);
    }
    assert_int_equal(WaitForMultipleObjects(THREADS, handles, TRUE, 60000), WAIT_OBJECT_0);

    /* Between them the threads took every job exactly once. */
    for (i = 0; i < THREADS; ++i)
    {
        CloseHandle(handles[i]);
        assert_hr(S_OK, threads[i].failure);
        for (j = 0; j < threads[i].count; ++j)
        {
            size_t index = index_of(threads[i].got[j], jobs, THREAD_JOBS);
            assert_false(seen[index]);
            seen[index] = TRUE;
            IBackgroundCopyJob_Release(threads[i].got[j]);
        }
        total += threads[i].count;
    }
    assert_int_equal(total, THREAD_JOBS);

    assert_int_equal(IEnumBackgroundCopyJobs_Release(enumerator), 0);
    cancel_jobs(jobs, THREAD_JOBS);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_states_not_enumerated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_between_threads, setup, teardown),
    };
    return cmocka_run_group_tests_name("IEnumBackgroundCopyJobs", tests, group_setup, group_teardown);
}
