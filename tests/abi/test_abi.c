/* SPDX-License-Identifier: MIT */
/* ABI: the headers, IIDs and CLSIDs widl generates from idl/bits.idl against MinGW-w64's
 * system headers (what unmodified clients compile against), slot by slot, and against the
 * GUID values of BITS-SPEC.md §1 for what the system headers lack. */
#include "com_test.h"
#include "abi.h"

#include <string.h>

static void test_every_system_interface_is_listed(void **state)
{
    /* The list is generated from the system headers; a parse that found nothing would
     * make every other test here vacuous. */
    assert_true(abi_system_table.vtbl_count >= 20);
    assert_true(abi_system_table.slot_count >= 350);
    assert_int_equal(abi_system_table.slot_count, abi_ours_table.slot_count);
    assert_int_equal(abi_system_table.vtbl_count, abi_ours_table.vtbl_count);
}

static void test_method_slots(void **state)
{
    size_t i, mismatches = 0;

    for (i = 0; i < abi_system_table.slot_count; ++i)
    {
        const struct abi_slot *sys = &abi_system_table.slots[i], *ours = &abi_ours_table.slots[i];

        assert_string_equal(sys->iface, ours->iface);
        assert_string_equal(sys->method, ours->method);
        if (sys->offset != ours->offset)
        {
            print_error("%s::%s at offset %lu in the system header, %lu in ours\n",
                        sys->iface, sys->method, (unsigned long)sys->offset, (unsigned long)ours->offset);
            ++mismatches;
        }
    }
    assert_int_equal(mismatches, 0);
}

static void test_vtable_sizes(void **state)
{
    size_t i;

    for (i = 0; i < abi_system_table.vtbl_count; ++i)
    {
        const struct abi_vtbl *sys = &abi_system_table.vtbls[i], *ours = &abi_ours_table.vtbls[i];

        assert_string_equal(sys->iface, ours->iface);
        if (sys->size != ours->size)
            fail_msg("%sVtbl is %lu bytes in the system header, %lu in ours", sys->iface,
                     (unsigned long)sys->size, (unsigned long)ours->size);
    }
}

/* BITS-SPEC.md §1.1/§1.2: the values for what MinGW's headers declare without a value or
 * lack altogether. */
static const struct { const char *name; const GUID *ours; const WCHAR *spec; } spec_guids[] =
{
    { "IBackgroundCopyJob1",        &IID_IBackgroundCopyJob1,        L"{59f5553c-2031-4629-bb18-2645a6970947}" },
    { "IEnumBackgroundCopyJobs1",   &IID_IEnumBackgroundCopyJobs1,   L"{8baeba9d-8f1c-42c4-b82c-09ae79980d25}" },
    { "IBackgroundCopyGroup",       &IID_IBackgroundCopyGroup,       L"{1ded80a7-53ea-424f-8a04-17fea9adc4f5}" },
    { "IEnumBackgroundCopyGroups",  &IID_IEnumBackgroundCopyGroups,  L"{d993e603-4aa4-47c5-8665-c20d39c2ba4f}" },
    { "IBackgroundCopyCallback1",   &IID_IBackgroundCopyCallback1,   L"{084f6593-3800-4e08-9b59-99fa59addf82}" },
    { "IBackgroundCopyQMgr",        &IID_IBackgroundCopyQMgr,        L"{16f41c69-09f5-41d2-8cd8-3c08c47bc8a8}" },
    { "IBackgroundCopyFile3",       &IID_IBackgroundCopyFile3,       L"{659cdeaa-489e-11d9-a9cd-000d56965251}" },
    { "IBitsPeerCacheRecord",       &IID_IBitsPeerCacheRecord,       L"{659cdeaf-489e-11d9-a9cd-000d56965251}" },
    { "IEnumBitsPeerCacheRecords",  &IID_IEnumBitsPeerCacheRecords,  L"{659cdea4-489e-11d9-a9cd-000d56965251}" },
    { "IBitsPeer",                  &IID_IBitsPeer,                  L"{659cdea2-489e-11d9-a9cd-000d56965251}" },
    { "IEnumBitsPeers",             &IID_IEnumBitsPeers,             L"{659cdea5-489e-11d9-a9cd-000d56965251}" },
    { "IBitsPeerCacheAdministration", &IID_IBitsPeerCacheAdministration, L"{659cdead-489e-11d9-a9cd-000d56965251}" },
    { "IBitsTokenOptions",          &IID_IBitsTokenOptions,          L"{9a2584c3-f7d2-457a-9a5e-22b67bffc7d2}" },
    { "IBackgroundCopyFile4",       &IID_IBackgroundCopyFile4,       L"{ef7e0655-7888-4960-b0e5-730846e03492}" },
    { "IBackgroundCopyFile5",       &IID_IBackgroundCopyFile5,       L"{85c1657f-dafc-40e8-8834-df18ea25717e}" },
    { "IBackgroundCopyCallback3",   &IID_IBackgroundCopyCallback3,   L"{98c97bd2-e32b-4ad8-a528-95fd8b16bd42}" },
    { "IBackgroundCopyFile6",       &IID_IBackgroundCopyFile6,       L"{cf6784f7-d677-49fd-9368-cb47aee9d1ad}" },
    { "IBackgroundCopyJobHttpOptions2", &IID_IBackgroundCopyJobHttpOptions2, L"{b591a192-a405-4fc3-8323-4c5c542578fc}" },
    { "IBackgroundCopyServerCertificateValidationCallback",
      &IID_IBackgroundCopyServerCertificateValidationCallback, L"{4cec0d02-def7-4158-813a-c32a46945ff7}" },
    { "IBackgroundCopyJobHttpOptions3", &IID_IBackgroundCopyJobHttpOptions3, L"{8a9263d3-fd4c-4eda-9b28-30132a4d4e3c}" },
    { "CLSID_BackgroundCopyManager4_0",  &CLSID_BackgroundCopyManager4_0,  L"{bb6df56b-cace-11dc-9992-0019b93a3a84}" },
    { "CLSID_BackgroundCopyManager5_0",  &CLSID_BackgroundCopyManager5_0,  L"{1ecca34c-e88a-44e3-8d6a-8921bde9e452}" },
    { "CLSID_BackgroundCopyManager10_1", &CLSID_BackgroundCopyManager10_1, L"{4bd3e4e1-7bd4-4a2b-9964-496400de5193}" },
    { "CLSID_BackgroundCopyManager10_2", &CLSID_BackgroundCopyManager10_2, L"{4575438f-a6c8-4976-b0fe-2f26b80d959e}" },
    { "CLSID_BackgroundCopyManager10_3", &CLSID_BackgroundCopyManager10_3, L"{5fd42ad5-c04e-4d36-adc7-e08ff15737ad}" },
    { "CLSID_BackgroundCopyQMgr",        &CLSID_BackgroundCopyQMgr,        L"{69ad4aee-51be-439b-a92c-86ae490e8b30}" },
};

static const GUID *spec_guid(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(spec_guids); ++i)
        if (!strcmp(spec_guids[i].name, name)) return spec_guids[i].ours;
    return NULL;
}

static void test_iids(void **state)
{
    size_t i;

    for (i = 0; i < abi_system_table.iid_count; ++i)
    {
        const struct abi_guid *sys = &abi_system_table.iids[i], *ours = &abi_ours_table.iids[i];

        assert_string_equal(sys->name, ours->name);
        assert_non_null(ours->guid);
        if (sys->guid)
        {
            if (!IsEqualGUID(sys->guid, ours->guid)) fail_msg("IID_%s differs from the system's", sys->name);
        }
        else
        {
            /* Declared without a value by the system header: it must be in the spec table. */
            const GUID *listed = spec_guid(sys->name);
            if (!listed) fail_msg("IID_%s has no value in the system headers nor in the spec table", sys->name);
            assert_ptr_equal(listed, ours->guid);
        }
    }
}

static void test_clsids(void **state)
{
    size_t i;

    assert_true(abi_system_table.clsid_count >= 5);
    for (i = 0; i < abi_system_table.clsid_count; ++i)
    {
        const struct abi_guid *sys = &abi_system_table.clsids[i], *ours = &abi_ours_table.clsids[i];

        assert_string_equal(sys->name, ours->name);
        if (!IsEqualGUID(sys->guid, ours->guid)) fail_msg("CLSID_%s differs from the system's", sys->name);
    }
}

static void test_spec_guids(void **state)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(spec_guids); ++i)
    {
        GUID expected;

        assert_hr(S_OK, IIDFromString(spec_guids[i].spec, &expected));
        if (!IsEqualGUID(&expected, spec_guids[i].ours))
            fail_msg("%s differs from BITS-SPEC.md", spec_guids[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_every_system_interface_is_listed),
        cmocka_unit_test(test_method_slots),
        cmocka_unit_test(test_vtable_sizes),
        cmocka_unit_test(test_iids),
        cmocka_unit_test(test_clsids),
        cmocka_unit_test(test_spec_guids),
    };
    return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
