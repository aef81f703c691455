/* SPDX-License-Identifier: MIT */
/* IEnumBackgroundCopyJobs1 (BITS-SPEC.md §10.3, §2.8): the GUID of a group's job (none before
 * CreateJob, then one) from IBackgroundCopyGroup::EnumJobs, with Next, Skip, Reset, Clone and
 * GetCount. */
#include "com_test.h"

static struct openbits_dll dll;
static IBackgroundCopyQMgr *qmgr;
static IBackgroundCopyGroup *group;

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
    test_qmgr_open(&dll, &qmgr);
    group = test_create_group(qmgr, NULL);
    return 0;
}

static int teardown(void **state)
{
    test_drop_group(group);
    return test_qmgr_close(&dll, &qmgr);
}

static IEnumBackgroundCopyJobs1 *enum_jobs(void)
{
    IEnumBackgroundCopyJobs1 *e = NULL;

    assert_hr(S_OK, IBackgroundCopyGroup_EnumJobs(group, 0, &e));
    assert_non_null(e);
    return e;
}

static void test_interfaces(void **state)
{
    IEnumBackgroundCopyJobs1 *e = enum_jobs();

    assert_refcount(e, 1);
    check_interface(e, IID_IUnknown, TRUE);
    check_interface(e, IID_IEnumBackgroundCopyJobs1, TRUE);
    check_interface(e, IID_IMarshal, TRUE);
    check_interface(e, IID_IEnumBackgroundCopyGroups, FALSE);
    check_interface(e, IID_IEnumBackgroundCopyJobs, FALSE);
    assert_int_equal(IEnumBackgroundCopyJobs1_Release(e), 0);
}

static void test_empty(void **state)
{
    IEnumBackgroundCopyJobs1 *e = enum_jobs(), *clone;
    ULONG count = 0xdeadbeef, fetched = 0xdeadbeef;
    GUID got;

    assert_hr(S_OK, IEnumBackgroundCopyJobs1_GetCount(e, &count));
    assert_int_equal(count, 0);
    memset(&got, 0xcc, sizeof(got));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Next(e, 1, &got, &fetched));
    assert_int_equal(fetched, 0);
    assert_true(IsEqualGUID(&got, &GUID_NULL));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Skip(e, 1));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Reset(e));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Clone(e, &clone));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_GetCount(clone, &count));
    assert_int_equal(count, 0);
    IEnumBackgroundCopyJobs1_Release(clone);
    IEnumBackgroundCopyJobs1_Release(e);
}

static void test_one_job(void **state)
{
    IEnumBackgroundCopyJobs1 *e, *clone;
    IBackgroundCopyJob1 *job;
    GUID id, got[2];
    ULONG count, fetched;

    assert_hr(S_OK, CoCreateGuid(&id));
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, id, &job));
    e = enum_jobs();
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_GetCount(e, &count));
    assert_int_equal(count, 1);
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs1_GetCount(e, NULL));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs1_Next(e, 2, got, NULL));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs1_Next(e, 1, NULL, &fetched));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyJobs1_Clone(e, NULL));

    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Clone(e, &clone));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Next(e, 1, got, NULL));
    assert_true(IsEqualGUID(&got[0], &id));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Next(e, 1, got, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Reset(e));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_Skip(e, 1));
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Skip(e, 1));
    /* The clone kept its own place. */
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Next(clone, 2, got, &fetched));
    assert_int_equal(fetched, 1);
    assert_true(IsEqualGUID(&got[0], &id));
    assert_true(IsEqualGUID(&got[1], &GUID_NULL));
    IEnumBackgroundCopyJobs1_Release(e);
    assert_int_equal(IEnumBackgroundCopyJobs1_Release(clone), 0);
    IBackgroundCopyJob1_Release(job);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_job, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("enum_jobs1", tests, group_setup, group_teardown);
}
