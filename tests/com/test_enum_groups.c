/* SPDX-License-Identifier: MIT */
/* IEnumBackgroundCopyGroups (BITS-SPEC.md §10.2, §2.8): a snapshot of the groups' GUIDs taken by
 * IBackgroundCopyQMgr::EnumGroups, with Next, Skip, Reset, Clone and GetCount. */
#include "com_test.h"

#define GROUPS 3

static struct openbits_dll dll;
static IBackgroundCopyQMgr *qmgr;
static IBackgroundCopyGroup *groups[GROUPS];
static GUID ids[GROUPS];

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

/* Every test starts with three groups. */
static int setup(void **state)
{
    int i;

    test_qmgr_open(&dll, &qmgr);
    for (i = 0; i < GROUPS; ++i) groups[i] = test_create_group(qmgr, &ids[i]);
    return 0;
}

static int teardown(void **state)
{
    int i;

    for (i = 0; i < GROUPS; ++i) test_drop_group(groups[i]);
    return test_qmgr_close(&dll, &qmgr);
}

static IEnumBackgroundCopyGroups *enum_groups(void)
{
    IEnumBackgroundCopyGroups *e = NULL;

    assert_hr(S_OK, IBackgroundCopyQMgr_EnumGroups(qmgr, 0, &e));
    assert_non_null(e);
    return e;
}

/* Which of our groups a GUID is, or -1. */
static int index_of(const GUID *id)
{
    int i;

    for (i = 0; i < GROUPS; ++i)
        if (IsEqualGUID(id, &ids[i])) return i;
    return -1;
}

static void test_interfaces(void **state)
{
    IEnumBackgroundCopyGroups *e = enum_groups();

    assert_refcount(e, 1);
    check_interface(e, IID_IUnknown, TRUE);
    check_interface(e, IID_IEnumBackgroundCopyGroups, TRUE);
    check_interface(e, IID_IMarshal, TRUE);
    check_interface(e, IID_IEnumBackgroundCopyJobs1, FALSE);
    check_interface(e, IID_IEnumBackgroundCopyJobs, FALSE);
    assert_int_equal(IEnumBackgroundCopyGroups_Release(e), 0);
}

static void test_next(void **state)
{
    IEnumBackgroundCopyGroups *e = enum_groups();
    BOOL seen[GROUPS] = { FALSE };
    GUID got[GROUPS + 2];
    ULONG fetched, count = 0xdeadbeef;
    int i, index;

    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(e, &count));
    assert_int_equal(count, GROUPS);
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyGroups_GetCount(e, NULL));

    /* Bad arguments move nothing. */
    fetched = 0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyGroups_Next(e, 2, got, NULL));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyGroups_Next(e, 1, NULL, &fetched));
    assert_int_equal(fetched, 0);

    /* One without pceltFetched, then the rest, then nothing. */
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 1, got, NULL));
    assert_true((index = index_of(&got[0])) >= 0);
    seen[index] = TRUE;
    memset(got, 0xcc, sizeof(got));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(e, GROUPS + 2, got, &fetched));
    assert_int_equal(fetched, GROUPS - 1);
    for (i = 0; i < GROUPS - 1; ++i)
    {
        assert_true((index = index_of(&got[i])) >= 0);
        assert_false(seen[index]);
        seen[index] = TRUE;
    }
    for (; i < GROUPS + 2; ++i) assert_true(IsEqualGUID(&got[i], &GUID_NULL));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(e, 1, got, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 0, got, &fetched));
    assert_int_equal(fetched, 0);
    IEnumBackgroundCopyGroups_Release(e);
}

static void test_skip_reset(void **state)
{
    IEnumBackgroundCopyGroups *e = enum_groups();
    GUID first, got;
    ULONG fetched;

    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 1, &first, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Reset(e));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 1, &got, NULL));
    assert_true(IsEqualGUID(&got, &first));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Skip(e, GROUPS - 1));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(e, 1, &got, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Reset(e));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Skip(e, GROUPS + 1));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(e, 1, &got, &fetched));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Skip(e, 0));
    IEnumBackgroundCopyGroups_Release(e);
}

static void test_clone(void **state)
{
    IEnumBackgroundCopyGroups *e = enum_groups(), *clone = (IEnumBackgroundCopyGroups *)(ULONG_PTR)0xdeadbeef;
    GUID from_e, from_clone;
    ULONG count;

    assert_hr(E_INVALIDARG, IEnumBackgroundCopyGroups_Clone(e, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Skip(e, 1));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Clone(e, &clone));
    assert_ptr_not_equal(clone, e);
    assert_refcount(clone, 1);
    /* Same position, moving on its own. */
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(clone, 1, &from_clone, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 1, &from_e, NULL));
    assert_true(IsEqualGUID(&from_e, &from_clone));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(clone, 1, &from_clone, NULL));
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Skip(clone, 1));
    assert_hr(S_OK, IEnumBackgroundCopyGroups_Next(e, 1, &from_e, NULL));
    assert_true(IsEqualGUID(&from_e, &from_clone));
    /* The clone outlives its source. */
    IEnumBackgroundCopyGroups_Release(e);
    assert_hr(S_OK, IEnumBackgroundCopyGroups_GetCount(clone, &count));
    assert_int_equal(count, GROUPS);
    assert_int_equal(IEnumBackgroundCopyGroups_Release(clone), 0);
}

/* A snapshot: groups made or cancelled later do not change it. */
static void test_snapshot(void **state)
{
    IEnumBackgroundCopyGroups *e = enum_groups();
    IBackgroundCopyGroup *late;
    GUID late_id, got[GROUPS + 1];
    ULONG fetched, i;

    late = test_create_group(qmgr, &late_id);
    assert_hr(S_FALSE, IEnumBackgroundCopyGroups_Next(e, GROUPS + 1, got, &fetched));
    assert_int_equal(fetched, GROUPS);
    for (i = 0; i < fetched; ++i) assert_false(IsEqualGUID(&got[i], &late_id));
    test_drop_group(late);
    IEnumBackgroundCopyGroups_Release(e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("enum_groups", tests, group_setup, group_teardown);
}
