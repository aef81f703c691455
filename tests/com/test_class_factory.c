/* SPDX-License-Identifier: MIT */
/* Module entry points: DllGetClassObject over the class table, the one class factory,
 * DllCanUnloadNow with objects and server locks, and the identity of what the factory makes. */
#include "com_test.h"

static struct openbits_dll dll;

static const CLSID *const manager_clsids[] =
{
    &CLSID_BackgroundCopyManager, &CLSID_BackgroundCopyManager1_5, &CLSID_BackgroundCopyManager2_0,
    &CLSID_BackgroundCopyManager2_5, &CLSID_BackgroundCopyManager3_0, &CLSID_BackgroundCopyManager4_0,
    &CLSID_BackgroundCopyManager5_0, &CLSID_BackgroundCopyManager10_1, &CLSID_BackgroundCopyManager10_2,
    &CLSID_BackgroundCopyManager10_3,
};

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static int teardown(void **state)
{
    assert_no_live_objects(&dll);
    return 0;
}

static void test_unknown_clsid(void **state)
{
    void *out = (void *)(ULONG_PTR)0xdeadbeef;

    assert_hr(CLASS_E_CLASSNOTAVAILABLE, dll.DllGetClassObject(&IID_IBackgroundCopyJob, &IID_IClassFactory, &out));
    assert_null(out);
    out = (void *)(ULONG_PTR)0xdeadbeef;
    assert_hr(CLASS_E_CLASSNOTAVAILABLE, dll.DllGetClassObject(&GUID_NULL, &IID_IUnknown, &out));
    assert_null(out);
    assert_hr(E_POINTER, dll.DllGetClassObject(&CLSID_BackgroundCopyManager, &IID_IClassFactory, NULL));
}

static void test_every_manager_clsid(void **state)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(manager_clsids); ++i)
    {
        IBackgroundCopyManager *manager = NULL;
        IClassFactory *factory = NULL;

        assert_hr(S_OK, dll.DllGetClassObject(manager_clsids[i], &IID_IClassFactory, (void **)&factory));
        assert_non_null(factory);
        assert_refcount(factory, 1);
        check_interface(factory, IID_IUnknown, TRUE);
        check_interface(factory, IID_IClassFactory, TRUE);
        check_interface(factory, IID_IBackgroundCopyManager, FALSE);

        assert_hr(S_OK, IClassFactory_CreateInstance(factory, NULL, &IID_IBackgroundCopyManager, (void **)&manager));
        assert_non_null(manager);
        assert_refcount(manager, 1);
        check_interface(manager, IID_IUnknown, TRUE);
        check_interface(manager, IID_IBackgroundCopyManager, TRUE);
        check_interface(manager, IID_IMarshal, TRUE);          /* the aggregated FTM */
        check_interface(manager, IID_IBackgroundCopyJob, FALSE);
        check_interface(manager, IID_IBackgroundCopyQMgr, FALSE);

        assert_hr(S_FALSE, dll.DllCanUnloadNow());
        assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
        assert_int_equal(IClassFactory_Release(factory), 0);
        assert_hr(S_OK, dll.DllCanUnloadNow());
    }
}

static void test_qmgr_clsid(void **state)
{
    IBackgroundCopyQMgr *qmgr = NULL;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyQMgr, &IID_IBackgroundCopyQMgr, (void **)&qmgr));
    assert_non_null(qmgr);
    check_interface(qmgr, IID_IUnknown, TRUE);
    check_interface(qmgr, IID_IBackgroundCopyQMgr, TRUE);
    check_interface(qmgr, IID_IMarshal, TRUE);
    check_interface(qmgr, IID_IBackgroundCopyManager, FALSE);
    assert_int_equal(IBackgroundCopyQMgr_Release(qmgr), 0);
}

static void test_create_instance_arguments(void **state)
{
    IClassFactory *factory;
    IUnknown *out = (IUnknown *)(ULONG_PTR)0xdeadbeef;
    IUnknown outer_placeholder;

    assert_hr(S_OK, dll.DllGetClassObject(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory));
    assert_hr(CLASS_E_NOAGGREGATION, IClassFactory_CreateInstance(factory, &outer_placeholder, &IID_IUnknown, (void **)&out));
    assert_null(out);
    out = (IUnknown *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_NOINTERFACE, IClassFactory_CreateInstance(factory, NULL, &IID_IBackgroundCopyJob, (void **)&out));
    assert_null(out);
    assert_hr(E_POINTER, IClassFactory_CreateInstance(factory, NULL, &IID_IUnknown, NULL));
    IClassFactory_Release(factory);
}

static void test_identity(void **state)
{
    IBackgroundCopyManager *manager;
    IUnknown *unk1, *unk2;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager5_0, &IID_IUnknown, (void **)&unk1));
    assert_hr(S_OK, IUnknown_QueryInterface(unk1, &IID_IBackgroundCopyManager, (void **)&manager));
    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(manager, &IID_IUnknown, (void **)&unk2));
    assert_ptr_equal(unk1, unk2);
    assert_refcount(unk1, 3);
    IUnknown_Release(unk2);
    IBackgroundCopyManager_Release(manager);
    assert_int_equal(IUnknown_Release(unk1), 0);
}

static void test_lock_server(void **state)
{
    IClassFactory *factory;

    assert_hr(S_OK, dll.DllGetClassObject(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory));
    assert_hr(S_OK, IClassFactory_LockServer(factory, TRUE));
    assert_int_equal(IClassFactory_Release(factory), 0);
    assert_hr(S_FALSE, dll.DllCanUnloadNow());      /* the server lock alone keeps the DLL */

    assert_hr(S_OK, dll.DllGetClassObject(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory));
    assert_hr(S_OK, IClassFactory_LockServer(factory, FALSE));
    assert_hr(S_FALSE, dll.DllCanUnloadNow());      /* the factory itself is alive */
    assert_int_equal(IClassFactory_Release(factory), 0);
    assert_hr(S_OK, dll.DllCanUnloadNow());
}

static void test_job_keeps_module(void **state)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    GUID id;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&manager));
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"module", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    /* An unfinished job lives on in the queue without any client reference. */
    assert_hr(S_FALSE, dll.DllCanUnloadNow());

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&manager));
    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &id, &job));
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyManager_Release(manager);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_teardown(test_unknown_clsid, teardown),
        cmocka_unit_test_teardown(test_every_manager_clsid, teardown),
        cmocka_unit_test_teardown(test_qmgr_clsid, teardown),
        cmocka_unit_test_teardown(test_create_instance_arguments, teardown),
        cmocka_unit_test_teardown(test_identity, teardown),
        cmocka_unit_test_teardown(test_lock_server, teardown),
        cmocka_unit_test_teardown(test_job_keeps_module, teardown),
    };
    return cmocka_run_group_tests_name("class_factory", tests, group_setup, group_teardown);
}
