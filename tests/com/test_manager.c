/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyManager::CreateJob and GetJob over the GUID-keyed queue, and the part of
 * the job object they rely on (identity, state word, final states). */
#include "com_test.h"

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
    return test_manager_close(&dll, &manager);
}

static void test_create_job_arguments(void **state)
{
    IBackgroundCopyJob *job = (IBackgroundCopyJob *)(ULONG_PTR)0xdeadbeef;
    WCHAR name[300];
    GUID id = GUID_NULL;

    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, NULL, BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_null(job);
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, L"x", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, L"x", BG_JOB_TYPE_DOWNLOAD, &id, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, L"x", BG_JOB_TYPE_UPLOAD_REPLY + 1, &id, &job));
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, L"x", (BG_JOB_TYPE)-1, &id, &job));

    /* Display names of up to 256 characters are fine; 257 is too long. */
    wmemset(name, L'n', 257);
    name[257] = 0;
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_CreateJob(manager, name, BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_null(job);
    assert_true(IsEqualGUID(&id, &GUID_NULL));           /* nothing the caller owns changed */
    name[256] = 0;
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, name, BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    IBackgroundCopyJob_Release(job);
}

static void test_new_job(void **state)
{
    static const BG_JOB_TYPE types[] = { BG_JOB_TYPE_DOWNLOAD, BG_JOB_TYPE_UPLOAD, BG_JOB_TYPE_UPLOAD_REPLY };
    size_t i;

    for (i = 0; i < ARRAYSIZE(types); ++i)
    {
        IBackgroundCopyJob *job;
        BG_JOB_PROGRESS progress;
        BG_JOB_STATE job_state;
        BG_JOB_TYPE type;
        GUID id, got;
        WCHAR *name;

        assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"a new job", types[i], &id, &job));
        assert_false(IsEqualGUID(&id, &GUID_NULL));
        assert_refcount(job, 1);
        check_interface(job, IID_IBackgroundCopyJob, TRUE);
        check_interface(job, IID_IBackgroundCopyJob2, TRUE);
        check_interface(job, IID_IBackgroundCopyJob3, TRUE);
        check_interface(job, IID_IBackgroundCopyJob4, TRUE);
        check_interface(job, IID_IBackgroundCopyJob5, TRUE);
        check_interface(job, IID_IMarshal, TRUE);
        check_interface(job, IID_IBackgroundCopyManager, FALSE);

        assert_hr(S_OK, IBackgroundCopyJob_GetId(job, &got));
        assert_true(IsEqualGUID(&id, &got));
        assert_hr(S_OK, IBackgroundCopyJob_GetType(job, &type));
        assert_int_equal(type, types[i]);
        assert_hr(S_OK, IBackgroundCopyJob_GetState(job, &job_state));
        assert_int_equal(job_state, BG_JOB_STATE_SUSPENDED);
        assert_hr(S_OK, IBackgroundCopyJob_GetDisplayName(job, &name));
        assert_true(!wcscmp(name, L"a new job"));
        CoTaskMemFree(name);
        assert_hr(S_OK, IBackgroundCopyJob_GetProgress(job, &progress));
        assert_int_equal(progress.BytesTotal, 0);
        assert_int_equal(progress.FilesTotal, 0);

        assert_hr(E_INVALIDARG, IBackgroundCopyJob_GetId(job, NULL));
        assert_hr(E_INVALIDARG, IBackgroundCopyJob_GetState(job, NULL));
        assert_hr(E_INVALIDARG, IBackgroundCopyJob_GetType(job, NULL));

        /* A job without files can't be resumed and stays SUSPENDED. */
        assert_hr(BG_E_EMPTY, IBackgroundCopyJob_Resume(job));
        assert_hr(S_OK, IBackgroundCopyJob_GetState(job, &job_state));
        assert_int_equal(job_state, BG_JOB_STATE_SUSPENDED);

        assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
        assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    }
}

static void test_get_job(void **state)
{
    IBackgroundCopyJob *job, *again = (IBackgroundCopyJob *)(ULONG_PTR)0xdeadbeef;
    BG_JOB_STATE job_state;
    GUID id, unknown;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"found", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    /* As on Windows, the queue's hold is not a COM reference. */
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);

    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &id, &again));
    assert_refcount(again, 1);
    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &id, &job));
    assert_ptr_equal(job, again);
    assert_refcount(job, 2);
    IBackgroundCopyJob_Release(again);

    assert_hr(S_OK, CoCreateGuid(&unknown));
    again = (IBackgroundCopyJob *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_NOT_FOUND, IBackgroundCopyManager_GetJob(manager, &unknown, &again));
    assert_null(again);
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_GetJob(manager, &id, NULL));

    /* Other managers, of any CLSID, share the queue. */
    {
        IBackgroundCopyManager *other;
        assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&other));
        assert_hr(S_OK, IBackgroundCopyManager_GetJob(other, &id, &again));
        assert_ptr_equal(job, again);
        IBackgroundCopyJob_Release(again);
        IBackgroundCopyManager_Release(other);
    }

    /* A cancelled job leaves the queue; the object keeps answering getters. */
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_hr(BG_E_NOT_FOUND, IBackgroundCopyManager_GetJob(manager, &id, &again));
    assert_hr(S_OK, IBackgroundCopyJob_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_CANCELLED);
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Cancel(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Suspend(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Resume(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
}

static void test_complete(void **state)
{
    IBackgroundCopyJob *download, *upload, *again;
    BG_JOB_STATE job_state;
    GUID download_id, upload_id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"down", BG_JOB_TYPE_DOWNLOAD, &download_id, &download));
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"up", BG_JOB_TYPE_UPLOAD, &upload_id, &upload));

    /* A download completes from any non-final state; an upload only once transferred. */
    assert_hr(S_OK, IBackgroundCopyJob_Complete(download));
    assert_hr(S_OK, IBackgroundCopyJob_GetState(download, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_ACKNOWLEDGED);
    assert_hr(BG_E_NOT_FOUND, IBackgroundCopyManager_GetJob(manager, &download_id, &again));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Complete(download));

    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Complete(upload));
    assert_hr(S_OK, IBackgroundCopyJob_GetState(upload, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &upload_id, &again));
    IBackgroundCopyJob_Release(again);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(upload));

    assert_int_equal(IBackgroundCopyJob_Release(download), 0);
    assert_int_equal(IBackgroundCopyJob_Release(upload), 0);
}

static void test_many_jobs(void **state)
{
    enum { COUNT = 2000 };
    GUID *ids = calloc(COUNT, sizeof(*ids));
    IBackgroundCopyJob *job;
    size_t i;

    assert_non_null(ids);
    for (i = 0; i < COUNT; ++i)
    {
        assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"many", BG_JOB_TYPE_DOWNLOAD, &ids[i], &job));
        IBackgroundCopyJob_Release(job);
    }
    for (i = 0; i < COUNT; ++i)
    {
        GUID got;
        assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &ids[i], &job));
        assert_hr(S_OK, IBackgroundCopyJob_GetId(job, &got));
        assert_true(IsEqualGUID(&got, &ids[i]));
        assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
        IBackgroundCopyJob_Release(job);
    }
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_create_job_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_jobs, setup, teardown),
    };
    return cmocka_run_group_tests_name("manager", tests, group_setup, group_teardown);
}
