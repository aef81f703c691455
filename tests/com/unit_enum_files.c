/* SPDX-License-Identifier: MIT */
/* IEnumBackgroundCopyFiles before files exist in the object model: src/enum_files.c and the
 * shared enumerator (src/enum_snapshot.c) are built straight into this program with a stub of
 * the module count (tests/support/module_stub.c), and fed fake IBackgroundCopyFile objects. */
#include "com_test.h"
#include "objects.h"

#define POISON ((void *)(ULONG_PTR)0xdeadbeef)

/* --- fake files ------------------------------------------------------------------------------ */

struct fake_file
{
    IBackgroundCopyFile IBackgroundCopyFile_iface;
    LONG refcount;                  /* the test holds 1 for as long as the test runs */
    const WCHAR *remote;
};

static inline struct fake_file *impl_from_IBackgroundCopyFile(IBackgroundCopyFile *iface)
{
    return CONTAINING_RECORD(iface, struct fake_file, IBackgroundCopyFile_iface);
}

static HRESULT WINAPI fake_file_QueryInterface(IBackgroundCopyFile *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyFile))
    {
        IBackgroundCopyFile_AddRef(iface);
        *out = iface;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI fake_file_AddRef(IBackgroundCopyFile *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyFile(iface)->refcount);
}

/* The fakes are static: the last Release is the test's own, in teardown. */
static ULONG WINAPI fake_file_Release(IBackgroundCopyFile *iface)
{
    return InterlockedDecrement(&impl_from_IBackgroundCopyFile(iface)->refcount);
}

static HRESULT WINAPI fake_file_GetRemoteName(IBackgroundCopyFile *iface, LPWSTR *name)
{
    const WCHAR *remote = impl_from_IBackgroundCopyFile(iface)->remote;
    size_t size = (wcslen(remote) + 1) * sizeof(WCHAR);

    if (!(*name = CoTaskMemAlloc(size))) return E_OUTOFMEMORY;
    memcpy(*name, remote, size);
    return S_OK;
}

static HRESULT WINAPI fake_file_GetLocalName(IBackgroundCopyFile *iface, LPWSTR *name)
{
    *name = NULL;
    return E_NOTIMPL;
}

static HRESULT WINAPI fake_file_GetProgress(IBackgroundCopyFile *iface, BG_FILE_PROGRESS *progress)
{
    memset(progress, 0, sizeof(*progress));
    return S_OK;
}

static const IBackgroundCopyFileVtbl fake_file_vtbl =
{
    fake_file_QueryInterface,
    fake_file_AddRef,
    fake_file_Release,
    fake_file_GetRemoteName,
    fake_file_GetLocalName,
    fake_file_GetProgress,
};

static const WCHAR *const remote_names[] =
{
    L"http://localhost/a", L"http://localhost/b", L"http://localhost/c", L"http://localhost/d",
};
static struct fake_file files[ARRAYSIZE(remote_names)];

static IBackgroundCopyFile *file(size_t i)
{
    return &files[i].IBackgroundCopyFile_iface;
}

/* The snapshot a job's EnumFiles will hand over: a malloc'd array of AddRef'd pointers to the
 * first `count` fakes, in the order they were added. */
static IEnumBackgroundCopyFiles *enum_files(ULONG count)
{
    IEnumBackgroundCopyFiles *enumerator = POISON;
    IBackgroundCopyFile **items = NULL;
    ULONG i;

    if (count)
    {
        assert_non_null(items = malloc(count * sizeof(*items)));
        for (i = 0; i < count; ++i)
        {
            items[i] = file(i);
            IBackgroundCopyFile_AddRef(items[i]);
        }
    }
    assert_hr(S_OK, enum_files_create(items, count, &enumerator));
    assert_non_null(enumerator);
    assert_ptr_not_equal(enumerator, POISON);
    return enumerator;
}

static ULONG count_of(IEnumBackgroundCopyFiles *enumerator)
{
    ULONG count = 0xdeadbeef;

    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(enumerator, &count));
    return count;
}

static void expect_refcounts(LONG expected)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(files); ++i) assert_int_equal(files[i].refcount, expected);
}

static int group_setup(void **state)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    return 0;
}

static int group_teardown(void **state)
{
    CoUninitialize();
    return 0;
}

static int setup(void **state)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(files); ++i)
    {
        files[i].IBackgroundCopyFile_iface.lpVtbl = &fake_file_vtbl;
        files[i].refcount = 1;
        files[i].remote = remote_names[i];
    }
    return 0;
}

/* Every enumerator is gone and has given back every file reference it took. */
static int teardown(void **state)
{
    assert_int_equal(module_lock_count(), 0);
    expect_refcounts(1);
    return 0;
}

/* --- tests ---------------------------------------------------------------------------------- */

static void test_create(void **state)
{
    IEnumBackgroundCopyFiles *enumerator = enum_files(ARRAYSIZE(files));

    /* The snapshot owns the references it was given; the object counts as a live object. */
    expect_refcounts(2);
    assert_int_equal(module_lock_count(), 1);
    assert_refcount(enumerator, 1);
    check_interface(enumerator, IID_IUnknown, TRUE);
    check_interface(enumerator, IID_IEnumBackgroundCopyFiles, TRUE);
    check_interface(enumerator, IID_IMarshal, TRUE);
    check_interface(enumerator, IID_IEnumBackgroundCopyJobs, FALSE);
    check_interface(enumerator, IID_IBackgroundCopyFile, FALSE);
    assert_refcount(enumerator, 1);
    assert_int_equal(count_of(enumerator), ARRAYSIZE(files));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_GetCount(enumerator, NULL));

    assert_int_equal(IEnumBackgroundCopyFiles_Release(enumerator), 0);
    expect_refcounts(1);
}

static void test_empty(void **state)
{
    IEnumBackgroundCopyFiles *enumerator = enum_files(0), *clone;
    IBackgroundCopyFile *got = POISON;
    ULONG fetched = 0xdeadbeef;

    assert_int_equal(count_of(enumerator), 0);
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_null(got);
    got = POISON;
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, &fetched));
    assert_null(got);
    assert_int_equal(fetched, 0);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 0));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Skip(enumerator, 1));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Clone(enumerator, &clone));
    assert_int_equal(count_of(clone), 0);
    assert_int_equal(IEnumBackgroundCopyFiles_Release(clone), 0);
    assert_int_equal(IEnumBackgroundCopyFiles_Release(enumerator), 0);
}

static void test_next(void **state)
{
    IEnumBackgroundCopyFiles *enumerator = enum_files(3);
    IBackgroundCopyFile *got[5];
    ULONG fetched;
    WCHAR *name;
    size_t i;

    /* Argument errors: nothing handed out, nothing moved, *pceltFetched cleared. */
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_Next(enumerator, 2, got, NULL));
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_Next(enumerator, 0, got, NULL));
    fetched = 0xdeadbeef;
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_Next(enumerator, 1, NULL, &fetched));
    assert_int_equal(fetched, 0);
    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_Next(enumerator, 1, NULL, NULL));
    assert_ptr_equal(got[0], POISON);
    fetched = 0xdeadbeef;
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 0, got, &fetched));
    assert_int_equal(fetched, 0);
    assert_ptr_equal(got[0], POISON);
    for (i = 0; i < 3; ++i) assert_int_equal(files[i].refcount, 2);
    assert_int_equal(files[3].refcount, 1);

    /* Files come back in the order they were added, AddRef'd, as the live objects. */
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 1, got, NULL));
    assert_ptr_equal(got[0], file(0));
    assert_int_equal(files[0].refcount, 3);
    assert_hr(S_OK, IBackgroundCopyFile_GetRemoteName(got[0], &name));
    assert_true(!wcscmp(name, L"http://localhost/a"));
    CoTaskMemFree(name);
    IBackgroundCopyFile_Release(got[0]);

    fetched = 0xdeadbeef;
    got[2] = POISON;
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 2, got, &fetched));
    assert_int_equal(fetched, 2);
    assert_ptr_equal(got[0], file(1));
    assert_ptr_equal(got[1], file(2));
    assert_ptr_equal(got[2], POISON);                 /* past celt: untouched */
    assert_int_equal(files[1].refcount, 3);
    assert_int_equal(files[2].refcount, 3);
    IBackgroundCopyFile_Release(got[0]);
    IBackgroundCopyFile_Release(got[1]);

    /* At the end: S_FALSE, every slot up to celt NULLed. */
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 4, got, &fetched));
    assert_int_equal(fetched, 0);
    for (i = 0; i < 4; ++i) assert_null(got[i]);
    assert_ptr_equal(got[4], POISON);
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 1, got, NULL));
    assert_null(got[0]);

    /* Fewer than asked: S_FALSE, the rest NULLed. */
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 1));
    for (i = 0; i < ARRAYSIZE(got); ++i) got[i] = POISON;
    fetched = 0xdeadbeef;
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 5, got, &fetched));
    assert_int_equal(fetched, 2);
    assert_ptr_equal(got[0], file(1));
    assert_ptr_equal(got[1], file(2));
    for (i = 2; i < ARRAYSIZE(got); ++i) assert_null(got[i]);
    IBackgroundCopyFile_Release(got[0]);
    IBackgroundCopyFile_Release(got[1]);

    assert_int_equal(IEnumBackgroundCopyFiles_Release(enumerator), 0);
}

static void test_skip_reset(void **state)
{
    IEnumBackgroundCopyFiles *enumerator = enum_files(ARRAYSIZE(files));
    IBackgroundCopyFile *got;

    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 0));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 2));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_ptr_equal(got, file(2));
    IBackgroundCopyFile_Release(got);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 1));         /* exactly to the end */
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Skip(enumerator, 1));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_null(got);

    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_ptr_equal(got, file(0));
    IBackgroundCopyFile_Release(got);

    /* Past the end: S_FALSE and the position clamps to the end, whatever celt. */
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Skip(enumerator, ~0u));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_null(got);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Skip(enumerator, 5));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 3));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_ptr_equal(got, file(3));
    IBackgroundCopyFile_Release(got);
    assert_int_equal(count_of(enumerator), ARRAYSIZE(files));

    assert_int_equal(IEnumBackgroundCopyFiles_Release(enumerator), 0);
}

static void test_clone(void **state)
{
    IEnumBackgroundCopyFiles *enumerator = enum_files(3), *clone = POISON, *clone2;
    IBackgroundCopyFile *got;

    assert_hr(E_INVALIDARG, IEnumBackgroundCopyFiles_Clone(enumerator, NULL));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(enumerator, 1));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Clone(enumerator, &clone));
    assert_ptr_not_equal(clone, enumerator);
    assert_refcount(clone, 1);
    assert_refcount(enumerator, 1);
    assert_int_equal(module_lock_count(), 2);
    assert_int_equal(files[0].refcount, 2);             /* the snapshot is shared, not copied */
    check_interface(clone, IID_IEnumBackgroundCopyFiles, TRUE);
    check_interface(clone, IID_IMarshal, TRUE);
    assert_int_equal(count_of(clone), 3);

    /* Same position, independent cursors. */
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(clone, 1, &got, NULL));
    assert_ptr_equal(got, file(1));
    IBackgroundCopyFile_Release(got);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(clone, 1, &got, NULL));
    assert_ptr_equal(got, file(2));
    IBackgroundCopyFile_Release(got);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(enumerator, 1, &got, NULL));
    assert_ptr_equal(got, file(1));
    IBackgroundCopyFile_Release(got);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(enumerator));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Next(clone, 1, &got, NULL));   /* clone at the end */
    assert_null(got);

    /* A clone of a clone at the end is at the end; Reset brings it to the start. */
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Clone(clone, &clone2));
    assert_hr(S_FALSE, IEnumBackgroundCopyFiles_Skip(clone2, 1));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Reset(clone2));
    assert_int_equal(IEnumBackgroundCopyFiles_Release(clone), 0);

    /* The snapshot outlives the enumerator it came from; the last one gives the files back. */
    assert_int_equal(IEnumBackgroundCopyFiles_Release(enumerator), 0);
    assert_int_equal(files[0].refcount, 2);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(clone2, 1, &got, NULL));
    assert_ptr_equal(got, file(0));
    IBackgroundCopyFile_Release(got);
    assert_int_equal(IEnumBackgroundCopyFiles_Release(clone2), 0);
    expect_refcounts(1);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
    };
    return cmocka_run_group_tests_name("IEnumBackgroundCopyFiles", tests, group_setup, group_teardown);
}
