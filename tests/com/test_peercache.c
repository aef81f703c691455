/* SPDX-License-Identifier: MIT */
/* IBitsPeerCacheAdministration, reached by QueryInterface from the manager, and its two
 * enumerators. openbits behaves as a machine where peer caching is off: the settings are kept
 * machine-wide (shared by every manager) and read back, the enumerations are empty.
 * Every test leaves the settings at their defaults, so the order of the tests doesn't matter. */
#include "com_test.h"

/* The defaults and limits openbits chose (src/peercache.c). */
#define CACHE_SIZE_DEFAULT   1            /* percent of the disk */
#define CACHE_SIZE_MAX       80
#define CONTENT_AGE_DEFAULT  7776000      /* 90 days */
#define CONTENT_AGE_MIN      86400        /* one day */
#define FLAGS_VALID          (BG_ENABLE_PEERCACHING_CLIENT | BG_ENABLE_PEERCACHING_SERVER | BG_DISABLE_BRANCH_CACHE)

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBitsPeerCacheAdministration *admin;

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static void assert_settings(IBitsPeerCacheAdministration *iface, DWORD cache_size, ULONG content_age, DWORD flags)
{
    DWORD dword = 0xdeadbeef;
    ULONG ulong = 0xdeadbeef;

    assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumCacheSize(iface, &dword));
    assert_int_equal(dword, cache_size);
    assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumContentAge(iface, &ulong));
    assert_int_equal(ulong, content_age);
    dword = 0xdeadbeef;
    assert_hr(S_OK, IBitsPeerCacheAdministration_GetConfigurationFlags(iface, &dword));
    assert_int_equal(dword, flags);
}

static int setup(void **state)
{
    test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(manager, &IID_IBitsPeerCacheAdministration, (void **)&admin));
    assert_settings(admin, CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, 0);
    return 0;
}

/* Restores the defaults even when the test failed half-way. */
static int teardown(void **state)
{
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, CACHE_SIZE_DEFAULT));
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumContentAge(admin, CONTENT_AGE_DEFAULT));
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, 0));
    assert_int_equal(IBitsPeerCacheAdministration_Release(admin), 1);
    admin = NULL;
    return test_manager_close(&dll, &manager);
}

static void test_query_interface(void **state)
{
    IBitsPeerCacheAdministration *again;
    IBackgroundCopyManager *back;
    IUnknown *unk_manager, *unk_admin;

    /* One object, one refcount: the admin interface counts on the manager. */
    assert_refcount(manager, 2);
    assert_refcount(admin, 2);
    assert_ptr_not_equal((void *)admin, (void *)manager);

    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(manager, &IID_IUnknown, (void **)&unk_manager));
    assert_hr(S_OK, IBitsPeerCacheAdministration_QueryInterface(admin, &IID_IUnknown, (void **)&unk_admin));
    assert_ptr_equal(unk_manager, unk_admin);
    assert_ptr_equal(unk_manager, (IUnknown *)manager);      /* table[0]: IBackgroundCopyManager */
    assert_refcount(manager, 4);
    IUnknown_Release(unk_manager);
    IUnknown_Release(unk_admin);

    assert_hr(S_OK, IBitsPeerCacheAdministration_QueryInterface(admin, &IID_IBackgroundCopyManager, (void **)&back));
    assert_ptr_equal(back, manager);
    assert_hr(S_OK, IBitsPeerCacheAdministration_QueryInterface(admin, &IID_IBitsPeerCacheAdministration,
                                                                (void **)&again));
    assert_ptr_equal(again, admin);
    assert_int_equal(IBitsPeerCacheAdministration_AddRef(admin), 5);
    assert_int_equal(IBitsPeerCacheAdministration_Release(admin), 4);
    assert_int_equal(IBackgroundCopyManager_Release(back), 3);
    assert_int_equal(IBitsPeerCacheAdministration_Release(again), 2);

    check_interface(admin, IID_IUnknown, TRUE);
    check_interface(admin, IID_IBackgroundCopyManager, TRUE);
    check_interface(admin, IID_IBitsPeerCacheAdministration, TRUE);
    check_interface(admin, IID_IMarshal, TRUE);
    check_interface(admin, IID_IBitsPeerCacheRecord, FALSE);
    check_interface(admin, IID_IEnumBitsPeerCacheRecords, FALSE);
    check_interface(admin, IID_IEnumBitsPeers, FALSE);
    check_interface(admin, IID_IBitsPeer, FALSE);
    check_interface(admin, IID_IBackgroundCopyJob, FALSE);
    assert_hr(E_POINTER, IBitsPeerCacheAdministration_QueryInterface(admin, &IID_IUnknown, NULL));
    assert_refcount(manager, 2);
}

/* Every manager CLSID answers IBitsPeerCacheAdministration, also straight from CreateInstance,
 * and the admin interface alone keeps the object alive. */
static void test_lifetime(void **state)
{
    static const CLSID *clsids[] =
    {
        &CLSID_BackgroundCopyManager, &CLSID_BackgroundCopyManager1_5, &CLSID_BackgroundCopyManager2_0,
        &CLSID_BackgroundCopyManager2_5, &CLSID_BackgroundCopyManager3_0, &CLSID_BackgroundCopyManager4_0,
        &CLSID_BackgroundCopyManager5_0, &CLSID_BackgroundCopyManager10_1, &CLSID_BackgroundCopyManager10_2,
        &CLSID_BackgroundCopyManager10_3,
    };
    IBitsPeerCacheAdministration *other;
    IBackgroundCopyManager *other_manager;
    size_t i;

    for (i = 0; i < ARRAYSIZE(clsids); ++i)
    {
        assert_hr(S_OK, openbits_create(&dll, clsids[i], &IID_IBitsPeerCacheAdministration, (void **)&other));
        assert_refcount(other, 1);
        assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);
    }

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager,
                                    (void **)&other_manager));
    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(other_manager, &IID_IBitsPeerCacheAdministration,
                                                          (void **)&other));
    assert_int_equal(IBackgroundCopyManager_Release(other_manager), 1);
    assert_settings(other, CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, 0);
    assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);
}

static void test_defaults(void **state)
{
    assert_settings(admin, CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, 0);
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_GetMaximumCacheSize(admin, NULL));
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_GetMaximumContentAge(admin, NULL));
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_GetConfigurationFlags(admin, NULL));
}

/* A percentage of the disk, 1..80; a rejected value changes nothing. */
static void test_maximum_cache_size(void **state)
{
    static const DWORD valid[] = { 1, 2, 50, CACHE_SIZE_MAX - 1, CACHE_SIZE_MAX };
    static const DWORD invalid[] = { 0, CACHE_SIZE_MAX + 1, 100, 0x7fffffff, 0xffffffff };
    DWORD size;
    size_t i;

    for (i = 0; i < ARRAYSIZE(valid); ++i)
    {
        assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, valid[i]));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumCacheSize(admin, &size));
        assert_int_equal(size, valid[i]);
    }
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, 10));
    for (i = 0; i < ARRAYSIZE(invalid); ++i)
    {
        assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, invalid[i]));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumCacheSize(admin, &size));
        assert_int_equal(size, 10);
    }
    assert_settings(admin, 10, CONTENT_AGE_DEFAULT, 0);
}

/* Seconds, at least one day, no upper limit; a rejected value changes nothing. */
static void test_maximum_content_age(void **state)
{
    static const ULONG valid[] = { CONTENT_AGE_MIN, CONTENT_AGE_MIN + 1, CONTENT_AGE_DEFAULT, 0x7fffffff, 0xffffffff };
    static const ULONG invalid[] = { 0, 1, 3600, CONTENT_AGE_MIN - 1 };
    ULONG age;
    size_t i;

    for (i = 0; i < ARRAYSIZE(valid); ++i)
    {
        assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumContentAge(admin, valid[i]));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumContentAge(admin, &age));
        assert_int_equal(age, valid[i]);
    }
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumContentAge(admin, 2 * CONTENT_AGE_MIN));
    for (i = 0; i < ARRAYSIZE(invalid); ++i)
    {
        assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_SetMaximumContentAge(admin, invalid[i]));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetMaximumContentAge(admin, &age));
        assert_int_equal(age, 2 * CONTENT_AGE_MIN);
    }
    assert_settings(admin, CACHE_SIZE_DEFAULT, 2 * CONTENT_AGE_MIN, 0);
}

/* Any combination of the three flags; any other bit is E_INVALIDARG and changes nothing. */
static void test_configuration_flags(void **state)
{
    static const DWORD invalid[] = { 0x8, 0x10, 0x9, 0xf, 0x80000000, 0xffffffff };
    DWORD flags, got;
    size_t i;

    assert_int_equal(FLAGS_VALID, 7);
    for (flags = 0; flags <= FLAGS_VALID; ++flags)
    {
        assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, flags));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetConfigurationFlags(admin, &got));
        assert_int_equal(got, flags);
    }
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, BG_ENABLE_PEERCACHING_CLIENT));
    for (i = 0; i < ARRAYSIZE(invalid); ++i)
    {
        assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, invalid[i]));
        assert_hr(S_OK, IBitsPeerCacheAdministration_GetConfigurationFlags(admin, &got));
        assert_int_equal(got, BG_ENABLE_PEERCACHING_CLIENT);
    }
    assert_settings(admin, CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, BG_ENABLE_PEERCACHING_CLIENT);
}

/* The settings belong to the machine: every manager, of any CLSID, sees the same values, and
 * they outlive the managers that set them. */
static void test_settings_shared(void **state)
{
    IBitsPeerCacheAdministration *other;

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager3_0, &IID_IBitsPeerCacheAdministration,
                                    (void **)&other));
    assert_settings(other, CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, 0);

    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumCacheSize(other, 42));
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumContentAge(other, 3 * CONTENT_AGE_MIN));
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(other, BG_DISABLE_BRANCH_CACHE));
    assert_settings(admin, 42, 3 * CONTENT_AGE_MIN, BG_DISABLE_BRANCH_CACHE);

    assert_hr(S_OK, IBitsPeerCacheAdministration_SetMaximumCacheSize(admin, 7));
    assert_settings(other, 7, 3 * CONTENT_AGE_MIN, BG_DISABLE_BRANCH_CACHE);
    assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);

    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBitsPeerCacheAdministration,
                                    (void **)&other));
    assert_settings(other, 7, 3 * CONTENT_AGE_MIN, BG_DISABLE_BRANCH_CACHE);
    assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);
}

/* No cache, so no records: lookups are BG_E_NOT_FOUND, clearing succeeds. */
static void test_records(void **state)
{
    IBitsPeerCacheRecord *record = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    GUID id;

    assert_hr(S_OK, CoCreateGuid(&id));
    assert_hr(BG_E_NOT_FOUND, IBitsPeerCacheAdministration_GetRecord(admin, &id, &record));
    assert_null(record);
    record = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_NOT_FOUND, IBitsPeerCacheAdministration_GetRecord(admin, &GUID_NULL, &record));
    assert_null(record);
    record = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_GetRecord(admin, NULL, &record));
    assert_null(record);
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_GetRecord(admin, &id, NULL));

    assert_hr(BG_E_NOT_FOUND, IBitsPeerCacheAdministration_DeleteRecord(admin, &id));
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_DeleteRecord(admin, NULL));

    assert_hr(S_OK, IBitsPeerCacheAdministration_DeleteUrl(admin, L"http://example.com/file.bin"));
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_DeleteUrl(admin, L""));
    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_DeleteUrl(admin, NULL));

    assert_hr(S_OK, IBitsPeerCacheAdministration_ClearRecords(admin));
    assert_hr(S_OK, IBitsPeerCacheAdministration_ClearPeers(admin));

    /* The same with caching switched on: there is still nothing cached. */
    assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, FLAGS_VALID));
    assert_hr(BG_E_NOT_FOUND, IBitsPeerCacheAdministration_GetRecord(admin, &id, &record));
    assert_null(record);
    assert_hr(BG_E_NOT_FOUND, IBitsPeerCacheAdministration_DeleteRecord(admin, &id));
    assert_hr(S_OK, IBitsPeerCacheAdministration_ClearRecords(admin));
    assert_hr(S_OK, IBitsPeerCacheAdministration_ClearPeers(admin));
    assert_refcount(manager, 2);
}

/* DiscoverPeers is BG_E_PEERCACHING_DISABLED unless the client or server flag is set; then it
 * succeeds and finds nobody. */
static void test_discover_peers(void **state)
{
    static const struct { DWORD flags; HRESULT hr; } tests[] =
    {
        { 0,                                                              BG_E_PEERCACHING_DISABLED },
        { BG_DISABLE_BRANCH_CACHE,                                        BG_E_PEERCACHING_DISABLED },
        { BG_ENABLE_PEERCACHING_CLIENT,                                   S_OK },
        { BG_ENABLE_PEERCACHING_SERVER,                                   S_OK },
        { BG_ENABLE_PEERCACHING_CLIENT | BG_ENABLE_PEERCACHING_SERVER,    S_OK },
        { FLAGS_VALID,                                                    S_OK },
    };
    IEnumBitsPeers *peers;
    ULONG count;
    size_t i;

    for (i = 0; i < ARRAYSIZE(tests); ++i)
    {
        assert_hr(S_OK, IBitsPeerCacheAdministration_SetConfigurationFlags(admin, tests[i].flags));
        assert_hr(tests[i].hr, IBitsPeerCacheAdministration_DiscoverPeers(admin));
        assert_hr(S_OK, IBitsPeerCacheAdministration_EnumPeers(admin, &peers));
        assert_hr(S_OK, IEnumBitsPeers_GetCount(peers, &count));
        assert_int_equal(count, 0);
        assert_int_equal(IEnumBitsPeers_Release(peers), 0);
    }
}

static void test_enum_records(void **state)
{
    IEnumBitsPeerCacheRecords *records = (IEnumBitsPeerCacheRecords *)(ULONG_PTR)0xdeadbeef, *clone, *second;
    IBitsPeerCacheRecord *items[3];
    ULONG fetched, count;
    size_t i;

    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_EnumRecords(admin, NULL));
    assert_hr(S_OK, IBitsPeerCacheAdministration_EnumRecords(admin, &records));
    assert_refcount(records, 1);
    assert_refcount(manager, 2);                         /* the enumerator holds no manager reference */
    check_interface(records, IID_IUnknown, TRUE);
    check_interface(records, IID_IEnumBitsPeerCacheRecords, TRUE);
    check_interface(records, IID_IMarshal, TRUE);
    check_interface(records, IID_IEnumBitsPeers, FALSE);
    check_interface(records, IID_IBitsPeerCacheAdministration, FALSE);
    check_interface(records, IID_IBackgroundCopyManager, FALSE);

    /* Each call gives a new enumerator. */
    assert_hr(S_OK, IBitsPeerCacheAdministration_EnumRecords(admin, &second));
    assert_ptr_not_equal(second, records);
    assert_int_equal(IEnumBitsPeerCacheRecords_Release(second), 0);

    count = 0xdeadbeef;
    assert_hr(S_OK, IEnumBitsPeerCacheRecords_GetCount(records, &count));
    assert_int_equal(count, 0);
    assert_hr(E_INVALIDARG, IEnumBitsPeerCacheRecords_GetCount(records, NULL));

    /* Next: pceltFetched may be NULL only for celt == 1. */
    items[0] = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Next(records, 1, items, NULL));
    assert_null(items[0]);
    for (i = 0; i < ARRAYSIZE(items); ++i) items[i] = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBitsPeerCacheRecords_Next(records, 2, items, NULL));
    assert_hr(E_INVALIDARG, IEnumBitsPeerCacheRecords_Next(records, 0, items, NULL));
    fetched = 0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBitsPeerCacheRecords_Next(records, 1, NULL, &fetched));
    assert_int_equal(fetched, 0);
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Next(records, 1, items, &fetched));
    assert_int_equal(fetched, 0);
    assert_null(items[0]);
    for (i = 0; i < ARRAYSIZE(items); ++i) items[i] = (IBitsPeerCacheRecord *)(ULONG_PTR)0xdeadbeef;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Next(records, ARRAYSIZE(items), items, &fetched));
    assert_int_equal(fetched, 0);
    for (i = 0; i < ARRAYSIZE(items); ++i) assert_null(items[i]);
    /* Zero asked, zero returned: all of celt, so S_OK. */
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBitsPeerCacheRecords_Next(records, 0, items, &fetched));
    assert_int_equal(fetched, 0);

    assert_hr(S_OK, IEnumBitsPeerCacheRecords_Skip(records, 0));
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Skip(records, 1));
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Skip(records, 0xffffffff));
    assert_hr(S_OK, IEnumBitsPeerCacheRecords_Reset(records));
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Next(records, 1, items, NULL));

    assert_hr(E_INVALIDARG, IEnumBitsPeerCacheRecords_Clone(records, NULL));
    assert_hr(S_OK, IEnumBitsPeerCacheRecords_Clone(records, &clone));
    assert_ptr_not_equal(clone, records);
    assert_refcount(clone, 1);
    assert_refcount(records, 1);
    check_interface(clone, IID_IEnumBitsPeerCacheRecords, TRUE);
    check_interface(clone, IID_IMarshal, TRUE);
    assert_hr(S_OK, IEnumBitsPeerCacheRecords_GetCount(clone, &count));
    assert_int_equal(count, 0);
    assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Next(clone, 1, items, &fetched));
    assert_int_equal(fetched, 0);

    /* An enumerator keeps the DLL loaded, and outlives the manager it came from. */
    {
        IBitsPeerCacheAdministration *other;
        IEnumBitsPeerCacheRecords *orphan;

        assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBitsPeerCacheAdministration,
                                        (void **)&other));
        assert_hr(S_OK, IBitsPeerCacheAdministration_EnumRecords(other, &orphan));
        assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);
        assert_hr(S_FALSE, dll.DllCanUnloadNow());
        assert_hr(S_FALSE, IEnumBitsPeerCacheRecords_Skip(orphan, 1));
        assert_int_equal(IEnumBitsPeerCacheRecords_Release(orphan), 0);
    }

    assert_int_equal(IEnumBitsPeerCacheRecords_Release(clone), 0);
    assert_int_equal(IEnumBitsPeerCacheRecords_Release(records), 0);
}

static void test_enum_peers(void **state)
{
    IEnumBitsPeers *peers = (IEnumBitsPeers *)(ULONG_PTR)0xdeadbeef, *clone, *second;
    IBitsPeer *items[3];
    ULONG fetched, count;
    size_t i;

    assert_hr(E_INVALIDARG, IBitsPeerCacheAdministration_EnumPeers(admin, NULL));
    assert_hr(S_OK, IBitsPeerCacheAdministration_EnumPeers(admin, &peers));
    assert_refcount(peers, 1);
    assert_refcount(manager, 2);
    check_interface(peers, IID_IUnknown, TRUE);
    check_interface(peers, IID_IEnumBitsPeers, TRUE);
    check_interface(peers, IID_IMarshal, TRUE);
    check_interface(peers, IID_IEnumBitsPeerCacheRecords, FALSE);
    check_interface(peers, IID_IBitsPeerCacheAdministration, FALSE);
    check_interface(peers, IID_IBackgroundCopyManager, FALSE);

    assert_hr(S_OK, IBitsPeerCacheAdministration_EnumPeers(admin, &second));
    assert_ptr_not_equal(second, peers);
    assert_int_equal(IEnumBitsPeers_Release(second), 0);

    count = 0xdeadbeef;
    assert_hr(S_OK, IEnumBitsPeers_GetCount(peers, &count));
    assert_int_equal(count, 0);
    assert_hr(E_INVALIDARG, IEnumBitsPeers_GetCount(peers, NULL));

    items[0] = (IBitsPeer *)(ULONG_PTR)0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeers_Next(peers, 1, items, NULL));
    assert_null(items[0]);
    assert_hr(E_INVALIDARG, IEnumBitsPeers_Next(peers, 2, items, NULL));
    assert_hr(E_INVALIDARG, IEnumBitsPeers_Next(peers, 0, items, NULL));
    fetched = 0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBitsPeers_Next(peers, 1, NULL, &fetched));
    assert_int_equal(fetched, 0);
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeers_Next(peers, 1, items, &fetched));
    assert_int_equal(fetched, 0);
    for (i = 0; i < ARRAYSIZE(items); ++i) items[i] = (IBitsPeer *)(ULONG_PTR)0xdeadbeef;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBitsPeers_Next(peers, ARRAYSIZE(items), items, &fetched));
    assert_int_equal(fetched, 0);
    for (i = 0; i < ARRAYSIZE(items); ++i) assert_null(items[i]);
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBitsPeers_Next(peers, 0, items, &fetched));
    assert_int_equal(fetched, 0);

    assert_hr(S_OK, IEnumBitsPeers_Skip(peers, 0));
    assert_hr(S_FALSE, IEnumBitsPeers_Skip(peers, 1));
    assert_hr(S_FALSE, IEnumBitsPeers_Skip(peers, 0xffffffff));
    assert_hr(S_OK, IEnumBitsPeers_Reset(peers));
    assert_hr(S_FALSE, IEnumBitsPeers_Next(peers, 1, items, NULL));

    assert_hr(E_INVALIDARG, IEnumBitsPeers_Clone(peers, NULL));
    assert_hr(S_OK, IEnumBitsPeers_Clone(peers, &clone));
    assert_ptr_not_equal(clone, peers);
    assert_refcount(clone, 1);
    assert_refcount(peers, 1);
    check_interface(clone, IID_IEnumBitsPeers, TRUE);
    check_interface(clone, IID_IMarshal, TRUE);
    assert_hr(S_OK, IEnumBitsPeers_GetCount(clone, &count));
    assert_int_equal(count, 0);
    assert_hr(S_FALSE, IEnumBitsPeers_Next(clone, 1, items, &fetched));
    assert_int_equal(fetched, 0);

    {
        IBitsPeerCacheAdministration *other;
        IEnumBitsPeers *orphan;

        assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBitsPeerCacheAdministration,
                                        (void **)&other));
        assert_hr(S_OK, IBitsPeerCacheAdministration_EnumPeers(other, &orphan));
        assert_int_equal(IBitsPeerCacheAdministration_Release(other), 0);
        assert_hr(S_FALSE, dll.DllCanUnloadNow());
        assert_hr(S_FALSE, IEnumBitsPeers_Skip(orphan, 1));
        assert_int_equal(IEnumBitsPeers_Release(orphan), 0);
    }

    assert_int_equal(IEnumBitsPeers_Release(clone), 0);
    assert_int_equal(IEnumBitsPeers_Release(peers), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_query_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maximum_cache_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maximum_content_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_peers, setup, teardown),
    };
    return cmocka_run_group_tests_name("peercache", tests, group_setup, group_teardown);
}
