/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyQMgr (BITS-SPEC.md §10.2): CreateGroup, GetGroup and EnumGroups over the one
 * queue, where a group is a download job that IBackgroundCopyManager finds by the group's GUID. */
#include "com_test.h"

static struct openbits_dll dll;
static IBackgroundCopyQMgr *qmgr;

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
    return test_qmgr_open(&dll, &qmgr);
}

static int teardown(void **state)
{
    return test_qmgr_close(&dll, &qmgr);
}

static IBackgroundCopyManager *new_manager(void)
{
    IBackgroundCopyManager *manager;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&manager));
    return manager;
}

static BOOL same_object(void *a, void *b)
{
    IUnknown *ua, *ub;
    BOOL same;

    assert_hr(S_OK, IUnknown_QueryInterface((IUnknown *)a, &IID_IUnknown, (void **)&ua));
    assert_hr(S_OK, IUnknown_QueryInterface((IUnknown *)b, &IID_IUnknown, (void **)&ub));
    same = ua == ub;
    IUnknown_Release(ua);
    IUnknown_Release(ub);
    return same;
}

static void test_creating_groups(void **state)
{
    IBackgroundCopyGroup *group = (IBackgroundCopyGroup *)(ULONG_PTR)0xdeadbeef, *again;
    DWORD status = 0, index = 1;
    GUID id, got;

    assert_hr(S_OK, CoCreateGuid(&id));
    assert_hr(E_INVALIDARG, IBackgroundCopyQMgr_CreateGroup(qmgr, id, NULL));
    /* GUID_NULL names no group (unconfirmed). */
    assert_hr(E_INVALIDARG, IBackgroundCopyQMgr_CreateGroup(qmgr, GUID_NULL, &group));
    assert_null(group);

    assert_hr(S_OK, IBackgroundCopyQMgr_CreateGroup(qmgr, id, &group));
    assert_refcount(group, 1);
    check_interface(group, IID_IUnknown, TRUE);
    check_interface(group, IID_IBackgroundCopyGroup, TRUE);
    check_interface(group, IID_IMarshal, TRUE);
    check_interface(group, IID_IBackgroundCopyQMgr, FALSE);
    check_interface(group, IID_IBackgroundCopyJob1, FALSE);     /* no job yet */
    assert_hr(S_OK, IBackgroundCopyGroup_get_GroupID(group, &got));
    assert_true(IsEqualGUID(&got, &id));
    /* New groups are suspended. */
    assert_hr(S_OK, IBackgroundCopyGroup_GetStatus(group, &status, &index));
    assert_int_equal(status, QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(index, 0);

    /* The same GUID again: E_INVALIDARG, and the first group is untouched. */
    again = (IBackgroundCopyGroup *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_INVALIDARG, IBackgroundCopyQMgr_CreateGroup(qmgr, id, &again));
    assert_null(again);

    /* The client's reference goes, the queue keeps the group. */
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
    assert_hr(S_FALSE, dll.DllCanUnloadNow());
    assert_hr(S_OK, IBackgroundCopyQMgr_GetGroup(qmgr, id, &group));
    assert_refcount(group, 1);
    test_drop_group(group);
}

static void test_get_group(void **state)
{
    IBackgroundCopyGroup *group, *found = (IBackgroundCopyGroup *)(ULONG_PTR)0xdeadbeef, *other;
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    GUID id, missing, job_id;

    group = test_create_group(qmgr, &id);
    assert_hr(E_INVALIDARG, IBackgroundCopyQMgr_GetGroup(qmgr, id, NULL));
    assert_hr(S_OK, CoCreateGuid(&missing));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyQMgr_GetGroup(qmgr, missing, &found));
    assert_null(found);
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyQMgr_GetGroup(qmgr, GUID_NULL, &found));

    /* The same object, from this QMgr and from another one. */
    assert_hr(S_OK, IBackgroundCopyQMgr_GetGroup(qmgr, id, &found));
    assert_ptr_equal(found, group);
    assert_refcount(group, 2);
    IBackgroundCopyGroup_Release(found);
    {
        IBackgroundCopyQMgr *second;
        assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyQMgr, &IID_IBackgroundCopyQMgr, (void **)&second));
        assert_hr(S_OK, IBackgroundCopyQMgr_GetGroup(second, id, &other));
        assert_true(same_object(other, group));
        IBackgroundCopyGroup_Release(other);
        assert_int_equal(IBackgroundCopyQMgr_Release(second), 0);
    }

    /* A job of IBackgroundCopyManager is not a group. */
    manager = new_manager();
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"modern", BG_JOB_TYPE_DOWNLOAD, &job_id, &job));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyQMgr_GetGroup(qmgr, job_id, &found));
    assert_null(found);
    check_interface(job, IID_IBackgroundCopyGroup, FALSE);
    test_drop_job(job);

    /* A cancelled group is gone. */
    assert_hr(S_OK, IBackgroundCopyGroup_CancelGroup(group));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyQMgr_GetGroup(qmgr, id, &found));
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
}

/* GetGroup makes the caller the owner (§10.2): in process that is this test's own SID, which
 * the job behind the group reports. */
static void test_get_group_owner(void **state)
{
    IBackgroundCopyGroup *group, *found;
    IBackgroundCopyJob *job;
    WCHAR *owner_before, *owner_after;
    GUID id;

    group = test_create_group(qmgr, &id);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&job));
    assert_hr(S_OK, IBackgroundCopyJob_GetOwner(job, &owner_before));
    assert_hr(S_OK, IBackgroundCopyQMgr_GetGroup(qmgr, id, &found));
    assert_hr(S_OK, IBackgroundCopyJob_GetOwner(job, &owner_after));
    assert_true(!wcscmp(owner_before, owner_after));
    assert_true(!wcsncmp(owner_after, L"S-1-", 4));
    CoTaskMemFree(owner_before);
    CoTaskMemFree(owner_after);
    IBackgroundCopyGroup_Release(found);
    IBackgroundCopyJob_Release(job);
    test_drop_group(group);
}

/* One queue: the manager finds a group's job by the group's GUID, enumerates it, and it is the
 * group's own object. */
static void test_one_queue(void **state)
{
    IBackgroundCopyManager *manager = new_manager();
    IBackgroundCopyGroup *group, *from_job;
    IEnumBackgroundCopyJobs *jobs;
    IBackgroundCopyJob *job, *listed;
    BG_JOB_STATE job_state;
    BG_JOB_TYPE type;
    WCHAR *name;
    BOOL seen = FALSE;
    GUID id, job_id;

    group = test_create_group(qmgr, &id);
    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &id, &job));
    assert_true(same_object(job, group));
    assert_hr(S_OK, IBackgroundCopyJob_GetId(job, &job_id));
    assert_true(IsEqualGUID(&job_id, &id));
    assert_hr(S_OK, IBackgroundCopyJob_GetType(job, &type));
    assert_int_equal(type, BG_JOB_TYPE_DOWNLOAD);
    assert_hr(S_OK, IBackgroundCopyJob_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyJob_GetDisplayName(job, &name));
    assert_int_equal(name[0], 0);         /* GROUPPROP_DISPLAYNAME, empty until set */
    CoTaskMemFree(name);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyGroup, (void **)&from_job));
    assert_ptr_equal(from_job, group);
    IBackgroundCopyGroup_Release(from_job);

    assert_hr(S_OK, IBackgroundCopyManager_EnumJobs(manager, 0, &jobs));
    while (IEnumBackgroundCopyJobs_Next(jobs, 1, &listed, NULL) == S_OK)
    {
        if (same_object(listed, group)) seen = TRUE;
        IBackgroundCopyJob_Release(listed);
    }
    IEnumBackgroundCopyJobs_Release(jobs);
    assert_true(seen);

    /* Cancelled through the group: gone for the manager too, the job object final. */
    assert_hr(S_OK, IBackgroundCopyGroup_CancelGroup(group));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_CANCELLED);
    listed = (IBackgroundCopyJob *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_NOT_FOUND, IBackgroundCopyManager_GetJob(manager, &id, &listed));
    IBackgroundCopyJob_Release(job);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
}

/* A group whose job is completed through the job's own interface leaves the queue as that job
 * does, and reads as complete. */
static void test_completed_through_job(void **state)
{
    IBackgroundCopyGroup *group, *found;
    IBackgroundCopyJob *job;
    DWORD status, index;
    GUID id;

    group = test_create_group(qmgr, &id);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&job));
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyQMgr_GetGroup(qmgr, id, &found));
    assert_hr(S_OK, IBackgroundCopyGroup_GetStatus(group, &status, &index));
    assert_int_equal(status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_CancelGroup(group));
    IBackgroundCopyJob_Release(job);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
}

static void test_enum_groups(void **state)
{
    IEnumBackgroundCopyGroups *groups = (IEnumBackgroundCopyGroups *)(ULONG_PTR)0xdeadbeef;
    IBackgroundCopyManager *manager = new_manager();
    IBackgroundCopyGroup *first, *second;
    IBackgroundCopyJob *job;
    GUID ids[2], job_id, got[4];
    ULONG count, fetched, i;
    BOOL seen[2] = { FALSE, FALSE };

    assert_hr(E_INVALIDARG, IBackgroundCopyQMgr_EnumGroups(qmgr, 0, NULL));
    assert_hr(E_NOTIMPL, IBackgroundCopyQMgr_EnumGroups(qmgr, 1, &groups));
    assert_null(groups);
    assert_hr(E_NOTIMPL, IBackgroundCopyQMgr_EnumGroups(qmgr, 0x80000000, &groups));

    assert_hr(S_OK, IBackgroundCopyQMgr_EnumGroups(qmgr, 0, &groups));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(groups, &count));
    assert_int_equal(count, 0);
    IEnumBackgroundCopyGroups_Release(groups);

    /* Groups only: the manager's own job is not listed. */
    first = test_create_group(qmgr, &ids[0]);
    second = test_create_group(qmgr, &ids[1]);
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"modern", BG_JOB_TYPE_DOWNLOAD, &job_id, &job));
    assert_hr(S_OK, IBackgroundCopyQMgr_EnumGroups(qmgr, 0, &groups));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(groups, &count));
    assert_int_equal(count, 2);
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(groups, 4, got, &fetched));
    assert_int_equal(fetched, 2);
    for (i = 0; i < fetched; ++i)
    {
        if (IsEqualGUID(&got[i], &ids[0])) seen[0] = TRUE;
        else if (IsEqualGUID(&got[i], &ids[1])) seen[1] = TRUE;
        else fail_msg("an unknown GUID in the enumeration");
    }
    assert_true(seen[0] && seen[1]);

    /* A snapshot: a cancelled group stays in it. */
    test_drop_group(second);
    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(groups, &count));
    assert_int_equal(count, 2);
    IEnumBackgroundCopyGroups_Release(groups);
    assert_hr(S_OK, IBackgroundCopyQMgr_EnumGroups(qmgr, 0, &groups));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(groups, &count));
    assert_int_equal(count, 1);
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(groups, 1, got, NULL));
    assert_true(IsEqualGUID(&got[0], &ids[0]));
    IEnumBackgroundCopyGroups_Release(groups);

    test_drop_group(first);
    test_drop_job(job);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
}

/* Whatever a QMgr made lives in the queue, not in the QMgr: its groups outlive it. */
static void test_groups_outlive_qmgr(void **state)
{
    IBackgroundCopyQMgr *first;
    IBackgroundCopyGroup *group;
    GUID id;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyQMgr, &IID_IBackgroundCopyQMgr, (void **)&first));
    group = test_create_group(first, &id);
    IBackgroundCopyGroup_Release(group);
    assert_int_equal(IBackgroundCopyQMgr_Release(first), 0);
    assert_hr(S_OK, IBackgroundCopyQMgr_GetGroup(qmgr, id, &group));
    test_drop_group(group);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_creating_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_group_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed_through_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups_outlive_qmgr, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("qmgr", tests, group_setup, group_teardown);
}
