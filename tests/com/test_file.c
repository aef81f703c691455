/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyFile .. IBackgroundCopyFile6 (BITS-SPEC.md §2.7, §5.4) on files obtained
 * through IBackgroundCopyJob::EnumFiles, with the choices of docs/conformance.md. Nothing is
 * transferred (no transfer engine yet): every file is fresh. */
#include "com_test.h"
#include <wctype.h>

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBackgroundCopyJob5 *job;        /* a fresh download job per test ... */
static IBackgroundCopyFile *file;       /* ... with one file, http://127.0.0.1/file.bin */
static IBackgroundCopyJob5 *extra[4];   /* other jobs of the test, dropped by teardown if it fails */
static IUnknown *held[8];               /* files from get_file, released by teardown if a test fails */
static WCHAR dir[MAX_PATH];             /* this program's own directory for local names */
static WCHAR local[MAX_PATH];           /* <dir>\file.bin */

static const WCHAR remote[] = L"http://127.0.0.1/file.bin";

/* --- helpers ------------------------------------------------------------------------------ */

static void path_in(const WCHAR *name, WCHAR *path)
{
    assert_true(wcslen(dir) + 1 + wcslen(name) < MAX_PATH);
    wcscpy(path, dir);
    wcscat(path, L"\\");
    wcscat(path, name);
}

static void create_file(const WCHAR *path, const char *content)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;

    if (h == INVALID_HANDLE_VALUE) fail_msg("cannot create %ls: error %lu", path, GetLastError());
    assert_true(WriteFile(h, content, (DWORD)strlen(content), &written, NULL));
    CloseHandle(h);
}

static void clear_dir(void)
{
    WCHAR pattern[MAX_PATH], path[MAX_PATH];
    WIN32_FIND_DATAW data;
    HANDLE find;

    path_in(L"*", pattern);
    if ((find = FindFirstFileW(pattern, &data)) == INVALID_HANDLE_VALUE) return;
    do
    {
        if (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) continue;
        path_in(data.cFileName, path);
        DeleteFileW(path);
    } while (FindNextFileW(find, &data));
    FindClose(find);
}

static void assert_wstr(const WCHAR *expected, WCHAR *actual)
{
    assert_non_null(actual);
    if (wcscmp(expected, actual)) fail_msg("got \"%ls\", expected \"%ls\"", actual, expected);
    CoTaskMemFree(actual);
}

static IBackgroundCopyJob5 *new_job(BG_JOB_TYPE type)
{
    return test_create_job(manager, L"file test", type);
}

static IBackgroundCopyJob5 *new_extra_job(BG_JOB_TYPE type)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(extra); ++i)
        if (!extra[i]) return extra[i] = new_job(type);
    fail_msg("too many jobs");
    return NULL;
}

static BG_JOB_STATE state_of(IBackgroundCopyJob5 *j)
{
    return test_job_state(j);
}

static void drop_job(IBackgroundCopyJob5 *j)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(extra); ++i)
        if (extra[i] == j) extra[i] = NULL;
    test_drop_job(j);
}

/* The index-th file of j (in the order added), with a reference, as the interface asked for. */
static void *get_file(IBackgroundCopyJob5 *j, ULONG index, const IID *iid)
{
    IEnumBackgroundCopyFiles *files = NULL;
    IBackgroundCopyFile *f = NULL;
    ULONG fetched = 0;
    void *out = NULL;

    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(j, &files));
    assert_non_null(files);
    if (index) assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(files, index));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &f, &fetched));
    assert_int_equal(fetched, 1);
    assert_non_null(f);
    IEnumBackgroundCopyFiles_Release(files);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(f, iid, &out));
    IBackgroundCopyFile_Release(f);
    for (index = 0; index < ARRAYSIZE(held); ++index)
        if (!held[index]) { held[index] = out; return out; }
    fail_msg("too many files held");
    return NULL;
}

/* Releases a file from get_file; returns the new refcount. */
static ULONG put_file(void *f)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(held); ++i)
        if (held[i] == f) { held[i] = NULL; break; }
    return IUnknown_Release((IUnknown *)f);
}

static void set_on_demand(IBackgroundCopyJob5 *j)
{
    BITS_JOB_PROPERTY_VALUE value;

    memset(&value, 0, sizeof(value));
    value.Enable = TRUE;
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(j, BITS_JOB_PROPERTY_ON_DEMAND_MODE, value));
}

static WCHAR *remote_name_of(void *f)
{
    WCHAR *name = NULL;

    assert_hr(S_OK, IBackgroundCopyFile_GetRemoteName((IBackgroundCopyFile *)f, &name));
    return name;
}

/* A fresh file: size unknown, nothing transferred, not completed (§2.7). */
static void check_fresh_progress(void *f)
{
    BG_FILE_PROGRESS progress;

    memset(&progress, 0xcc, sizeof(progress));
    assert_hr(S_OK, IBackgroundCopyFile_GetProgress((IBackgroundCopyFile *)f, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);
    assert_true(progress.BytesTransferred == 0);
    assert_int_equal(progress.Completed, FALSE);
}

/* An http URL of exactly `length` characters: segments of 250 characters (under MAX_PATH). */
static WCHAR *long_url(size_t length)
{
    static const WCHAR prefix[] = L"http://127.0.0.1/";
    WCHAR *url = calloc(length + 1, sizeof(WCHAR));
    size_t i, segment = 0;

    assert_true(length > ARRAYSIZE(prefix));
    wcscpy(url, prefix);
    for (i = wcslen(prefix); i < length; ++i)
    {
        if (segment == 250 && i != length - 1) { url[i] = L'/'; segment = 0; }
        else { url[i] = L'a'; ++segment; }
    }
    return url;
}

/* --- fixtures ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_file.d", dir, ARRAYSIZE(dir));
    clear_dir();
    path_in(L"file.bin", local);
    return 0;
}

static int group_teardown(void **state)
{
    clear_dir();
    RemoveDirectoryW(dir);
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remote, local));
    file = get_file(job, 0, &IID_IBackgroundCopyFile);
    memset(held, 0, sizeof(held));      /* teardown releases `file` itself */
    return 0;
}

static int teardown(void **state)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(held); ++i)
        if (held[i]) IUnknown_Release(held[i]);
    memset(held, 0, sizeof(held));
    if (file) assert_int_equal(IBackgroundCopyFile_Release(file), 0);
    file = NULL;
    for (i = 0; i < ARRAYSIZE(extra); ++i)
        if (extra[i]) drop_job(extra[i]);
    if (job) drop_job(job);
    job = NULL;
    test_manager_close(&dll, &manager);
    clear_dir();
    return 0;
}

/* --- identity ----------------------------------------------------------------------------- */

static void test_interfaces(void **state)
{
    IUnknown *unk1, *unk6;
    IBackgroundCopyFile6 *file6;
    IMarshal *marshal;
    CLSID clsid, expected;
    ULONG before;

    check_interface(file, IID_IUnknown, TRUE);
    check_interface(file, IID_IBackgroundCopyFile, TRUE);
    check_interface(file, IID_IBackgroundCopyFile2, TRUE);
    check_interface(file, IID_IBackgroundCopyFile3, TRUE);
    check_interface(file, IID_IBackgroundCopyFile4, TRUE);
    check_interface(file, IID_IBackgroundCopyFile5, TRUE);
    check_interface(file, IID_IBackgroundCopyFile6, TRUE);
    check_interface(file, IID_IMarshal, TRUE);                  /* the aggregated FTM */
    check_interface(file, IID_IBackgroundCopyJob, FALSE);
    check_interface(file, IID_IEnumBackgroundCopyFiles, FALSE);
    check_interface(file, IID_IBackgroundCopyError, FALSE);
    check_interface(file, IID_IBackgroundCopyManager, FALSE);
    check_interface(file, IID_IClassFactory, FALSE);
    check_interface(file, IID_IDispatch, FALSE);

    /* One object: the same IUnknown from every interface, one refcount. */
    before = refcount_of(file);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile6, (void **)&file6));
    assert_int_equal(refcount_of(file), before + 1);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IUnknown, (void **)&unk1));
    assert_hr(S_OK, IBackgroundCopyFile6_QueryInterface(file6, &IID_IUnknown, (void **)&unk6));
    assert_ptr_equal(unk1, unk6);
    IUnknown_Release(unk1);
    IUnknown_Release(unk6);
    IBackgroundCopyFile6_Release(file6);
    assert_int_equal(refcount_of(file), before);
    assert_hr(E_POINTER, IBackgroundCopyFile_QueryInterface(file, &IID_IUnknown, NULL));

    /* IMarshal is the system's free-threaded marshaler (see test_copy_error.c). */
    assert_hr(S_OK, CoCreateFreeThreadedMarshaler(NULL, &unk1));
    assert_hr(S_OK, IUnknown_QueryInterface(unk1, &IID_IMarshal, (void **)&marshal));
    assert_hr(S_OK, IMarshal_GetUnmarshalClass(marshal, &IID_IUnknown, unk1, MSHCTX_INPROC, NULL,
                                               MSHLFLAGS_NORMAL, &expected));
    IMarshal_Release(marshal);
    IUnknown_Release(unk1);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IMarshal, (void **)&marshal));
    assert_hr(S_OK, IMarshal_GetUnmarshalClass(marshal, &IID_IBackgroundCopyFile, file, MSHCTX_INPROC, NULL,
                                               MSHLFLAGS_NORMAL, &clsid));
    assert_true(IsEqualCLSID(&clsid, &expected));
    assert_hr(S_OK, IMarshal_QueryInterface(marshal, &IID_IUnknown, (void **)&unk1));
    assert_ptr_equal(unk1, file);
    IUnknown_Release(unk1);
    IMarshal_Release(marshal);
}

static void test_lifetime(void **state)
{
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *first = NULL, *again = NULL;
    ULONG fetched;

    /* Released elements stay valid as long as they are referenced: the file outlives the
     * enumerator ... */
    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &first, &fetched));
    assert_int_equal(IEnumBackgroundCopyFiles_Release(files), 0);
    assert_wstr(remote, remote_name_of(first));

    /* ... and the job, cancelled and released. */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_int_equal(IBackgroundCopyJob5_Release(job), 0);
    job = NULL;
    assert_wstr(remote, remote_name_of(first));
    assert_wstr(remote, remote_name_of(file));
    check_fresh_progress(first);
    {
        WCHAR *name = NULL;
        assert_hr(S_OK, IBackgroundCopyFile_GetLocalName(first, &name));
        assert_wstr(local, name);
    }
    IBackgroundCopyFile_Release(first);
    assert_int_equal(IBackgroundCopyFile_Release(file), 0);
    file = NULL;
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    assert_no_live_objects(&dll);
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager10_3, &IID_IBackgroundCopyManager, (void **)&manager));

    /* The other order: the job outlives its released files. */
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remote, local));
    again = get_file(job, 0, &IID_IBackgroundCopyFile);
    assert_int_equal(put_file(again), 0);
    again = get_file(job, 0, &IID_IBackgroundCopyFile2);
    assert_wstr(remote, remote_name_of(again));
    assert_int_equal(put_file(again), 0);
}

static void test_enumerator_holds_files(void **state)
{
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *f = NULL;
    ULONG fetched = 0;

    /* An enumerator keeps its snapshot's files alive after the job is gone. */
    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(job, &files));
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_int_equal(IBackgroundCopyJob5_Release(job), 0);
    job = NULL;
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &f, &fetched));
    assert_int_equal(fetched, 1);
    assert_wstr(remote, remote_name_of(f));
    IBackgroundCopyFile_Release(f);
    assert_int_equal(IEnumBackgroundCopyFiles_Release(files), 0);
}

/* --- IBackgroundCopyFile ------------------------------------------------------------------ */

static void test_names_and_progress(void **state)
{
    WCHAR *name = (WCHAR *)(ULONG_PTR)0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyFile_GetRemoteName(file, &name));
    assert_wstr(remote, name);
    name = NULL;
    assert_hr(S_OK, IBackgroundCopyFile_GetLocalName(file, &name));
    assert_wstr(local, name);
    check_fresh_progress(file);

    assert_hr(E_INVALIDARG, IBackgroundCopyFile_GetRemoteName(file, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile_GetLocalName(file, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile_GetProgress(file, NULL));

    /* Each call hands out its own copy. */
    {
        WCHAR *a = remote_name_of(file), *b = remote_name_of(file);
        assert_true(a != b);
        CoTaskMemFree(a);
        CoTaskMemFree(b);
    }
}

static void test_null_out_pointers(void **state)
{
    IBackgroundCopyFile6 *file6 = get_file(job, 0, &IID_IBackgroundCopyFile6);
    BG_FILE_RANGE *ranges;
    DWORD count;
    UINT64 n;

    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetFileRanges(file6, NULL, &ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetFileRanges(file6, &count, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetTemporaryName(file6, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetValidationState(file6, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_IsDownloadedFromPeer(file6, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetPeerDownloadStats(file6, NULL, &n));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetPeerDownloadStats(file6, &n, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetProperty(file6, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, NULL));
    put_file(file6);
}

/* --- IBackgroundCopyFile2 ----------------------------------------------------------------- */

static void test_file_ranges(void **state)
{
    static const BG_FILE_RANGE given[] = { { 500, 10 }, { 0, 100 }, { 1000, BG_LENGTH_TO_EOF } };
    IBackgroundCopyFile2 *file2 = get_file(job, 0, &IID_IBackgroundCopyFile2);
    BG_FILE_RANGE *ranges = (BG_FILE_RANGE *)(ULONG_PTR)0xdeadbeef, copy[3];
    WCHAR ranged[MAX_PATH];
    DWORD count = 0xdeadbeef;

    /* Without ranges: S_FALSE, 0, NULL. */
    assert_hr(S_FALSE, IBackgroundCopyFile2_GetFileRanges(file2, &count, &ranges));
    assert_int_equal(count, 0);
    assert_null(ranges);
    put_file(file2);

    /* With ranges: as given, in the order given (they are written back to back, §2.4). */
    memcpy(copy, given, sizeof(copy));
    path_in(L"ranged.bin", ranged);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, L"http://127.0.0.1/ranged", ranged, 3, copy));
    file2 = get_file(job, 1, &IID_IBackgroundCopyFile2);
    assert_hr(S_OK, IBackgroundCopyFile2_GetFileRanges(file2, &count, &ranges));
    assert_int_equal(count, 3);
    assert_non_null(ranges);
    assert_memory_equal(ranges, given, sizeof(given));
    CoTaskMemFree(ranges);
    /* Nothing transferred: the size is still unknown. */
    check_fresh_progress(file2);
    put_file(file2);
}

static void test_upload_file(void **state)
{
    IBackgroundCopyJob5 *upload = new_extra_job(BG_JOB_TYPE_UPLOAD);
    IBackgroundCopyFile6 *up;
    BG_FILE_RANGE *ranges = (BG_FILE_RANGE *)(ULONG_PTR)0xdeadbeef, range = { 0, 1 };
    WCHAR source[MAX_PATH], *name = NULL;
    DWORD count = 0xdeadbeef;

    path_in(L"upload.txt", source);
    create_file(source, "upload me");
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(upload, L"http://127.0.0.1/upload", source));
    up = get_file(upload, 0, &IID_IBackgroundCopyFile6);

    assert_hr(S_FALSE, IBackgroundCopyFile6_GetFileRanges(up, &count, &ranges));
    assert_int_equal(count, 0);
    assert_null(ranges);
    /* Renaming is download-only, checked before the name. */
    assert_hr(E_NOTIMPL, IBackgroundCopyFile6_SetRemoteName(up, L"http://127.0.0.1/other"));
    assert_hr(E_NOTIMPL, IBackgroundCopyFile6_SetRemoteName(up, L"ftp://127.0.0.1/other"));
    assert_wstr(L"http://127.0.0.1/upload", remote_name_of(up));
    /* An upload reads its file in place: the temporary name is the local name. */
    assert_hr(S_OK, IBackgroundCopyFile6_GetTemporaryName(up, &name));
    assert_wstr(source, name);
    /* No random access for uploads. */
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_UpdateDownloadPosition(up, 0));
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_RequestFileRanges(up, 1, &range));
    check_fresh_progress(up);
    put_file(up);
    drop_job(upload);
}

static void test_set_remote_name(void **state)
{
    static const WCHAR *const bad[] =
    {
        L"",
        L"ftp://127.0.0.1/file.bin",
        L"127.0.0.1/file.bin",
        L"file.bin",
        L"http://127.0.0.1/*.bin",
        L"http:///file.bin",
    };
    IBackgroundCopyFile2 *file2 = get_file(job, 0, &IID_IBackgroundCopyFile2);
    WCHAR *url;
    size_t i;

    assert_hr(S_OK, IBackgroundCopyFile2_SetRemoteName(file2, L"http://127.0.0.2/renamed.bin"));
    assert_wstr(L"http://127.0.0.2/renamed.bin", remote_name_of(file2));
    /* The same object as seen through IBackgroundCopyFile, and from a new enumeration. */
    assert_wstr(L"http://127.0.0.2/renamed.bin", remote_name_of(file));
    {
        IBackgroundCopyFile *fresh = get_file(job, 0, &IID_IBackgroundCopyFile);
        assert_wstr(L"http://127.0.0.2/renamed.bin", remote_name_of(fresh));
        put_file(fresh);
    }

    assert_hr(E_INVALIDARG, IBackgroundCopyFile2_SetRemoteName(file2, NULL));
    for (i = 0; i < ARRAYSIZE(bad); ++i)
    {
        HRESULT hr = IBackgroundCopyFile2_SetRemoteName(file2, bad[i]);
        if (hr != E_INVALIDARG) fail_msg("\"%ls\": got %#lx, expected E_INVALIDARG", bad[i], hr);
    }
    url = long_url(2201);
    assert_hr(E_INVALIDARG, IBackgroundCopyFile2_SetRemoteName(file2, url));
    free(url);
    /* Failures left the name alone. */
    assert_wstr(L"http://127.0.0.2/renamed.bin", remote_name_of(file2));

    url = long_url(2200);
    assert_hr(S_OK, IBackgroundCopyFile2_SetRemoteName(file2, url));
    assert_wstr(url, remote_name_of(file2));
    free(url);
    /* A file without ranges may move to SMB. */
    assert_hr(S_OK, IBackgroundCopyFile2_SetRemoteName(file2, L"\\\\server\\share\\file.bin"));
    assert_wstr(L"\\\\server\\share\\file.bin", remote_name_of(file2));
    /* Progress is kept (and there is none). */
    check_fresh_progress(file2);
    put_file(file2);
}

static void test_set_remote_name_with_ranges(void **state)
{
    BG_FILE_RANGE range = { 0, 10 };
    IBackgroundCopyFile2 *file2;
    WCHAR ranged[MAX_PATH];

    path_in(L"ranged.bin", ranged);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, L"http://127.0.0.1/ranged", ranged, 1, &range));
    file2 = get_file(job, 1, &IID_IBackgroundCopyFile2);
    /* Ranges need http(s). */
    assert_hr(E_INVALIDARG, IBackgroundCopyFile2_SetRemoteName(file2, L"\\\\server\\share\\file.bin"));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile2_SetRemoteName(file2, L"file://C:/dir/file.bin"));
    assert_wstr(L"http://127.0.0.1/ranged", remote_name_of(file2));
    assert_hr(S_OK, IBackgroundCopyFile2_SetRemoteName(file2, L"https://127.0.0.1/ranged"));
    assert_wstr(L"https://127.0.0.1/ranged", remote_name_of(file2));
    put_file(file2);
}

static void test_final_state(void **state)
{
    IBackgroundCopyJob5 *completed = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    IBackgroundCopyFile6 *file6 = get_file(job, 0, &IID_IBackgroundCopyFile6), *done;
    BG_FILE_RANGE *ranges = NULL, range = { 0, 10 };
    DWORD count = 0;
    WCHAR *name = NULL;
    BOOL flag = TRUE;

    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    /* Setters: BG_E_INVALID_STATE, after the upload and argument checks. */
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_SetRemoteName(file6, L"http://127.0.0.2/x"));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_SetRemoteName(file6, L"ftp://127.0.0.2/x"));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_SetRemoteName(file6, NULL));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_SetValidationState(file6, TRUE));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_SetValidationState(file6, FALSE));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_RequestFileRanges(file6, 1, &range));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_UpdateDownloadPosition(file6, 0));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(file6, 0, &range));

    /* Getters keep working on the files of a cancelled job. */
    assert_wstr(remote, remote_name_of(file6));
    assert_hr(S_OK, IBackgroundCopyFile6_GetLocalName(file6, &name));
    assert_wstr(local, name);
    check_fresh_progress(file6);
    assert_hr(S_FALSE, IBackgroundCopyFile6_GetFileRanges(file6, &count, &ranges));
    assert_null(ranges);
    assert_hr(S_OK, IBackgroundCopyFile6_GetValidationState(file6, &flag));
    assert_false(flag);
    flag = TRUE;
    assert_hr(S_OK, IBackgroundCopyFile6_IsDownloadedFromPeer(file6, &flag));
    assert_false(flag);
    /* ... and on a file enumerated after the cancel. */
    {
        IBackgroundCopyFile *after = get_file(job, 0, &IID_IBackgroundCopyFile);
        assert_wstr(remote, remote_name_of(after));
        put_file(after);
    }
    put_file(file6);

    /* The same after Complete (ACKNOWLEDGED): the untransferred file never completed. */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(completed, remote, local));
    done = get_file(completed, 0, &IID_IBackgroundCopyFile6);
    assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(completed));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_SetRemoteName(done, L"http://127.0.0.2/x"));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_SetValidationState(done, TRUE));
    assert_wstr(remote, remote_name_of(done));
    check_fresh_progress(done);
    put_file(done);
    drop_job(completed);
}

/* --- IBackgroundCopyFile3 / 4 ------------------------------------------------------------- */

static void check_temporary_name(const WCHAR *name)
{
    size_t dir_len = wcslen(dir), i;
    const WCHAR *base;

    /* <the local file's directory>\BIT + 5 hex digits + .tmp */
    if (wcsncmp(name, dir, dir_len) || name[dir_len] != L'\\')
        fail_msg("\"%ls\" is not in \"%ls\"", name, dir);
    base = name + dir_len + 1;
    if (wcslen(base) != 12 || wcsncmp(base, L"BIT", 3) || wcscmp(base + 8, L".tmp"))
        fail_msg("\"%ls\" is not BITxxxxx.tmp", base);
    for (i = 3; i < 8; ++i)
        if (!iswxdigit(base[i])) fail_msg("\"%ls\" is not BITxxxxx.tmp", base);
}

static void test_temporary_name(void **state)
{
    IBackgroundCopyFile3 *file3 = get_file(job, 0, &IID_IBackgroundCopyFile3), *second;
    WCHAR *name = NULL, *again = NULL, *other = NULL, local2[MAX_PATH];

    assert_hr(S_OK, IBackgroundCopyFile3_GetTemporaryName(file3, &name));
    assert_non_null(name);
    check_temporary_name(name);
    /* The name is chosen at AddFile: the same each time, no file created yet. */
    assert_hr(S_OK, IBackgroundCopyFile3_GetTemporaryName(file3, &again));
    assert_wstr(name, again);
    assert_true(GetFileAttributesW(name) == INVALID_FILE_ATTRIBUTES);

    /* Another file in the same directory gets another name. */
    path_in(L"second.bin", local2);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/second", local2));
    second = get_file(job, 1, &IID_IBackgroundCopyFile3);
    assert_hr(S_OK, IBackgroundCopyFile3_GetTemporaryName(second, &other));
    check_temporary_name(other);
    assert_true(wcscmp(name, other) != 0);
    CoTaskMemFree(other);
    CoTaskMemFree(name);
    put_file(second);
    put_file(file3);
}

static void test_validation_and_peers(void **state)
{
    IBackgroundCopyFile4 *file4 = get_file(job, 0, &IID_IBackgroundCopyFile4);
    UINT64 origin = 0xdeadbeef, peers = 0xdeadbeef;
    BOOL flag = TRUE;

    /* Before the file is transferred: E_PENDING, and nothing recorded. */
    assert_hr(E_PENDING, IBackgroundCopyFile4_SetValidationState(file4, TRUE));
    assert_hr(E_PENDING, IBackgroundCopyFile4_SetValidationState(file4, FALSE));
    assert_hr(S_OK, IBackgroundCopyFile4_GetValidationState(file4, &flag));
    assert_false(flag);
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);

    flag = TRUE;
    assert_hr(S_OK, IBackgroundCopyFile4_IsDownloadedFromPeer(file4, &flag));
    assert_false(flag);
    /* Peer caching is off: every byte (none yet) from the origin. */
    assert_hr(S_OK, IBackgroundCopyFile4_GetPeerDownloadStats(file4, &origin, &peers));
    assert_true(origin == 0);
    assert_true(peers == 0);

    /* Resumed but not transferred (nothing listens at that address): still pending. */
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(E_PENDING, IBackgroundCopyFile4_SetValidationState(file4, TRUE));
    put_file(file4);
}

/* --- IBackgroundCopyFile5 ----------------------------------------------------------------- */

static void test_file5_properties(void **state)
{
    IBackgroundCopyFile5 *file5 = get_file(job, 0, &IID_IBackgroundCopyFile5);
    BITS_FILE_PROPERTY_VALUE value;

    /* No response yet: an empty string, S_OK. */
    value.String = (WCHAR *)(ULONG_PTR)0xdeadbeef;
    assert_hr(S_OK, IBackgroundCopyFile5_GetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, &value));
    assert_wstr(L"", value.String);

    value.String = (WCHAR *)L"X-Test: 1\r\n";
    assert_hr(BG_E_READ_ONLY_PROPERTY, IBackgroundCopyFile5_SetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, value));
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyFile5_SetProperty(file5, 0, value));
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyFile5_SetProperty(file5, 2, value));
    value.String = (WCHAR *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyFile5_GetProperty(file5, 0, &value));
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyFile5_GetProperty(file5, 2, &value));

    /* Still empty after the failed set. */
    assert_hr(S_OK, IBackgroundCopyFile5_GetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, &value));
    assert_wstr(L"", value.String);
    put_file(file5);
}

/* --- IBackgroundCopyFile6 ----------------------------------------------------------------- */

static void check_not_eligible(IBackgroundCopyFile6 *f)
{
    BG_FILE_RANGE range = { 0, 10 }, *ranges = (BG_FILE_RANGE *)(ULONG_PTR)0xdeadbeef;
    DWORD count = 0xdeadbeef;

    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_UpdateDownloadPosition(f, 0));
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_RequestFileRanges(f, 1, &range));
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_GetFilledFileRanges(f, &count, &ranges));
    /* Argument errors come before eligibility, the ranges' own checks after it. */
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 0, &range));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 1, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetFilledFileRanges(f, NULL, &ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_GetFilledFileRanges(f, &count, NULL));
    range.Length = 0;
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 1, &range));
}

static void test_file6_not_on_demand(void **state)
{
    IBackgroundCopyFile6 *file6 = get_file(job, 0, &IID_IBackgroundCopyFile6);

    /* ON_DEMAND_MODE is off by default. */
    check_not_eligible(file6);
    put_file(file6);
}

static void test_file6_ineligible_files(void **state)
{
    IBackgroundCopyJob5 *on_demand = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    BG_FILE_RANGE range = { 0, 100 };
    WCHAR source[MAX_PATH], url[MAX_PATH + 8], l1[MAX_PATH], l2[MAX_PATH], l3[MAX_PATH];
    IBackgroundCopyFile6 *f;

    set_on_demand(on_demand);
    path_in(L"source.bin", source);
    path_in(L"l1.bin", l1);
    path_in(L"l2.bin", l2);
    path_in(L"l3.bin", l3);
    create_file(source, "source");
    wcscpy(url, L"file://");
    wcscat(url, source);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(on_demand, url, l1));                  /* file:// */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(on_demand, source, l2));               /* a local path */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(on_demand, L"http://127.0.0.1/r", l3, 1, &range));

    f = get_file(on_demand, 0, &IID_IBackgroundCopyFile6);
    check_not_eligible(f);
    put_file(f);
    f = get_file(on_demand, 1, &IID_IBackgroundCopyFile6);
    check_not_eligible(f);
    put_file(f);
    f = get_file(on_demand, 2, &IID_IBackgroundCopyFile6);      /* added with ranges */
    check_not_eligible(f);
    put_file(f);
    drop_job(on_demand);
}

static void test_file6_on_demand(void **state)
{
    IBackgroundCopyJob5 *on_demand = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    BG_FILE_RANGE ranges[3], *filled = (BG_FILE_RANGE *)(ULONG_PTR)0xdeadbeef;
    IBackgroundCopyFile6 *f;
    WCHAR l1[MAX_PATH];
    DWORD count = 0xdeadbeef;

    set_on_demand(on_demand);
    path_in(L"demand.bin", l1);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(on_demand, L"http://127.0.0.1/demand", l1));
    f = get_file(on_demand, 0, &IID_IBackgroundCopyFile6);

    /* Requests may overlap each other and earlier requests (split internally). */
    ranges[0].InitialOffset = 0;   ranges[0].Length = 100;
    ranges[1].InitialOffset = 50;  ranges[1].Length = 100;
    ranges[2].InitialOffset = 50;  ranges[2].Length = 100;
    assert_hr(S_OK, IBackgroundCopyFile6_RequestFileRanges(f, 3, ranges));
    assert_hr(S_OK, IBackgroundCopyFile6_RequestFileRanges(f, 1, ranges));
    ranges[0].InitialOffset = 1000; ranges[0].Length = BG_LENGTH_TO_EOF;
    assert_hr(S_OK, IBackgroundCopyFile6_RequestFileRanges(f, 1, ranges));

    /* Argument errors. */
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 0, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 1, NULL));
    ranges[0].InitialOffset = 0;  ranges[0].Length = 10;
    ranges[1].InitialOffset = 20; ranges[1].Length = 0;
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 2, ranges));
    ranges[1].InitialOffset = BG_LENGTH_TO_EOF; ranges[1].Length = 10;
    assert_hr(BG_E_INVALID_RANGE, IBackgroundCopyFile6_RequestFileRanges(f, 2, ranges));

    assert_hr(S_OK, IBackgroundCopyFile6_UpdateDownloadPosition(f, 0));
    assert_hr(S_OK, IBackgroundCopyFile6_UpdateDownloadPosition(f, 12345));

    /* Nothing downloaded: S_OK, 0, NULL. */
    assert_hr(S_OK, IBackgroundCopyFile6_GetFilledFileRanges(f, &count, &filled));
    assert_int_equal(count, 0);
    assert_null(filled);

    /* A file of an on-demand job has no ranges of its own. */
    {
        BG_FILE_RANGE *own = (BG_FILE_RANGE *)(ULONG_PTR)0xdeadbeef;
        count = 0xdeadbeef;
        assert_hr(S_FALSE, IBackgroundCopyFile6_GetFileRanges(f, &count, &own));
        assert_int_equal(count, 0);
        assert_null(own);
    }

    /* Final state: BG_E_INVALID_STATE, after argument checks. */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(on_demand));
    ranges[0].InitialOffset = 0; ranges[0].Length = 10;
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_RequestFileRanges(f, 1, ranges));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_UpdateDownloadPosition(f, 0));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 0, ranges));
    put_file(f);
    drop_job(on_demand);
}

static void test_file6_on_demand_https(void **state)
{
    IBackgroundCopyJob5 *on_demand = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    BG_FILE_RANGE range = { 10, 10 };
    IBackgroundCopyFile6 *f;
    WCHAR l1[MAX_PATH];

    set_on_demand(on_demand);
    path_in(L"demand.bin", l1);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(on_demand, L"https://127.0.0.1/demand", l1));
    f = get_file(on_demand, 0, &IID_IBackgroundCopyFile6);
    assert_hr(S_OK, IBackgroundCopyFile6_RequestFileRanges(f, 1, &range));
    assert_hr(S_OK, IBackgroundCopyFile6_UpdateDownloadPosition(f, 10));
    put_file(f);
    drop_job(on_demand);
}

/* docs/conformance.md, "File6 argument order": NULL / count 0 / a zero length, then the final
 * state, then eligibility, and only then the ranges themselves (InitialOffset ==
 * BG_LENGTH_TO_EOF, or past a known size: BG_E_INVALID_RANGE). */
static void test_file6_check_order(void **state)
{
    IBackgroundCopyJob5 *on_demand = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    BG_FILE_RANGE to_eof = { BG_LENGTH_TO_EOF, 10 }, zero = { BG_LENGTH_TO_EOF, 0 };
    IBackgroundCopyFile6 *plain = get_file(job, 0, &IID_IBackgroundCopyFile6), *f;
    WCHAR l1[MAX_PATH];

    /* A zero length is an argument error even at offset BG_LENGTH_TO_EOF. */
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(plain, 1, &zero));
    /* Not eligible (ON_DEMAND_MODE off) comes before the bad offset. */
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_RequestFileRanges(plain, 1, &to_eof));

    set_on_demand(on_demand);
    path_in(L"order.bin", l1);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(on_demand, L"http://127.0.0.1/order", l1));
    f = get_file(on_demand, 0, &IID_IBackgroundCopyFile6);
    /* Eligible: now the offset counts. */
    assert_hr(BG_E_INVALID_RANGE, IBackgroundCopyFile6_RequestFileRanges(f, 1, &to_eof));
    /* A final state comes before the bad offset. */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(on_demand));
    assert_hr(E_INVALIDARG, IBackgroundCopyFile6_RequestFileRanges(f, 1, &zero));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyFile6_RequestFileRanges(f, 1, &to_eof));
    put_file(f);
    put_file(plain);
    drop_job(on_demand);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enumerator_holds_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_out_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_remote_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_remote_name_with_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporary_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_and_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file5_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file6_not_on_demand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file6_ineligible_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file6_on_demand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file6_on_demand_https, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file6_check_order, setup, teardown),
    };
    return cmocka_run_group_tests_name("file", tests, group_setup, group_teardown);
}
