/* SPDX-License-Identifier: MIT */
/* The job's file methods (BITS-SPEC.md §2.2 AddFileSet, AddFile, EnumFiles, Resume, Cancel,
 * Complete, GetProgress, GetError; §2.3 the reply file; §2.4 ReplaceRemotePrefix and
 * AddFileWithRanges; §3; §4 limits; §5) with the choices of docs/conformance.md. Nothing is
 * ever transferred: the remote names point at 127.0.0.1 and there is no transfer engine, so a
 * resumed job stays QUEUED. Every failing call is checked to have added or changed nothing. */
#include "com_test.h"
#include <sddl.h>

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBackgroundCopyJob5 *job;        /* a fresh download job per test */
static IBackgroundCopyJob5 *extra[4];   /* other jobs of the test, dropped by teardown if it fails */
static WCHAR dir[MAX_PATH];             /* this program's own directory for local names */

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
    HANDLE file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;

    if (file == INVALID_HANDLE_VALUE) fail_msg("cannot create %ls: error %lu", path, GetLastError());
    assert_true(WriteFile(file, content, (DWORD)strlen(content), &written, NULL));
    CloseHandle(file);
}

static BOOL file_exists(const WCHAR *path)
{
    return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
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
        /* a '/' every 251 characters, never as the last one */
        if (segment == 250 && i != length - 1) { url[i] = L'/'; segment = 0; }
        else { url[i] = L'a'; ++segment; }
    }
    return url;
}

static IBackgroundCopyJob5 *new_job(BG_JOB_TYPE type)
{
    return test_create_job(manager, L"job files test", type);
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

/* The states of a job the engine has: what a client sees after Resume (BITS-SPEC.md §3.2). */
static BOOL is_active(BG_JOB_STATE state)
{
    return state == BG_JOB_STATE_QUEUED || state == BG_JOB_STATE_CONNECTING
        || state == BG_JOB_STATE_TRANSFERRING || state == BG_JOB_STATE_TRANSIENT_ERROR;
}

static void drop_job(IBackgroundCopyJob5 *j)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(extra); ++i)
        if (extra[i] == j) extra[i] = NULL;
    test_drop_job(j);
}

static ULONG file_count(IBackgroundCopyJob5 *j)
{
    IEnumBackgroundCopyFiles *files = NULL;
    ULONG count = 0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(j, &files));
    assert_non_null(files);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(files, &count));
    assert_int_equal(IEnumBackgroundCopyFiles_Release(files), 0);
    return count;
}

/* The index-th file (in the order added) with a reference. */
static IBackgroundCopyFile *get_file(IBackgroundCopyJob5 *j, ULONG index)
{
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file = NULL;
    ULONG fetched = 0;

    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(j, &files));
    if (index) assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(files, index));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &file, &fetched));
    assert_int_equal(fetched, 1);
    assert_non_null(file);
    IEnumBackgroundCopyFiles_Release(files);
    return file;
}

/* The job has exactly `count` files with these names, in this order. */
static void check_files(IBackgroundCopyJob5 *j, ULONG count, const WCHAR *const *remotes, const WCHAR *const *locals)
{
    ULONG i;

    assert_int_equal(file_count(j), count);
    for (i = 0; i < count; ++i)
    {
        IBackgroundCopyFile *file = get_file(j, i);
        WCHAR *name = NULL;

        assert_hr(S_OK, IBackgroundCopyFile_GetRemoteName(file, &name));
        assert_wstr(remotes[i], name);
        name = NULL;
        assert_hr(S_OK, IBackgroundCopyFile_GetLocalName(file, &name));
        assert_wstr(locals[i], name);
        IBackgroundCopyFile_Release(file);
    }
}

static WCHAR *temporary_name(IBackgroundCopyJob5 *j, ULONG index)
{
    IBackgroundCopyFile *file = get_file(j, index);
    IBackgroundCopyFile3 *file3;
    WCHAR *name = NULL;

    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile3, (void **)&file3));
    assert_hr(S_OK, IBackgroundCopyFile3_GetTemporaryName(file3, &name));
    assert_non_null(name);
    IBackgroundCopyFile3_Release(file3);
    IBackgroundCopyFile_Release(file);
    return name;
}

static FILETIME modification_time(IBackgroundCopyJob5 *j)
{
    BG_JOB_TIMES times;

    assert_hr(S_OK, IBackgroundCopyJob5_GetTimes(j, &times));
    return times.ModificationTime;
}

/* --- fixtures ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_job_files.d", dir, ARRAYSIZE(dir));
    clear_dir();
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
    return 0;
}

static int teardown(void **state)
{
    size_t i;

    for (i = 0; i < ARRAYSIZE(extra); ++i)
        if (extra[i]) drop_job(extra[i]);
    drop_job(job);
    test_manager_close(&dll, &manager);
    clear_dir();
    return 0;
}

/* --- AddFile, AddFileSet, EnumFiles --------------------------------------------------------- */

static void test_add_file(void **state)
{
    static const WCHAR *const remotes[] = { L"http://127.0.0.1/a.bin", L"http://127.0.0.1/dir/b.bin?x=1" };
    WCHAR a[MAX_PATH], b[MAX_PATH], c[MAX_PATH];
    const WCHAR *locals[] = { a, b };
    IEnumBackgroundCopyFiles *files = NULL;
    ULONG count = 0;

    path_in(L"a.bin", a);
    path_in(L"b.bin", b);
    path_in(L"c.bin", c);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_EnumFiles(job, NULL));
    assert_int_equal(file_count(job), 0);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[0], a));
    check_files(job, 1, remotes, locals);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[1], b));
    /* Files enumerate in the order added (§2.8); adding leaves the job SUSPENDED. */
    check_files(job, 2, remotes, locals);
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);

    /* The enumerator is a snapshot: a file added later is not in it. */
    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(job, &files));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/c.bin", c));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(files, &count));
    assert_int_equal(count, 2);
    assert_int_equal(IEnumBackgroundCopyFiles_Release(files), 0);
    assert_int_equal(file_count(job), 3);
}

static void test_add_file_remote_kinds(void **state)
{
    WCHAR l1[MAX_PATH], l2[MAX_PATH], l3[MAX_PATH], l4[MAX_PATH], source[MAX_PATH], url[MAX_PATH + 8];
    const WCHAR *remotes[] = { L"https://127.0.0.1/a", url, source, L"\\\\server\\share\\file.bin" };
    const WCHAR *locals[] = { l1, l2, l3, l4 };

    /* https, file:// URLs, UNC and plain local paths are download sources too (§5.1). */
    path_in(L"dest1.bin", l1);
    path_in(L"dest2.bin", l2);
    path_in(L"dest3.bin", l3);
    path_in(L"dest4.bin", l4);
    path_in(L"source.bin", source);
    create_file(source, "source");
    wcscpy(url, L"file://");
    wcscat(url, source);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[0], l1));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[1], l2));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[2], l3));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, remotes[3], l4));
    check_files(job, 4, remotes, locals);
}

static void test_add_file_arguments(void **state)
{
    static const WCHAR *const bad_remotes[] =
    {
        L"",
        L"ftp://127.0.0.1/a.bin",
        L"gopher://127.0.0.1/a.bin",
        L"127.0.0.1/a.bin",
        L"a.bin",
        L"http://127.0.0.1/*.bin",
        L"http:///a.bin",
    };
    WCHAR local[MAX_PATH], relative_dir[MAX_PATH], missing[MAX_PATH], wildcard[MAX_PATH], question[MAX_PATH];
    WCHAR stream[MAX_PATH], prefixed[MAX_PATH + 8], trailing[MAX_PATH], too_long[MAX_PATH + 20];
    const WCHAR *bad_locals[] = { L"", L"a.bin", L"dir\\a.bin", L".\\a.bin", L"C:a.bin", L"\\a.bin",
                                  relative_dir, missing, wildcard, question, stream, prefixed, trailing,
                                  too_long };
    const WCHAR *remotes[1] = { L"http://127.0.0.1/ok.bin" };
    const WCHAR *locals[1] = { local };
    WCHAR *url;
    size_t i, len;

    path_in(L"ok.bin", local);
    path_in(L"no such directory\\a.bin", missing);
    path_in(L"*.bin", wildcard);
    path_in(L"a?.bin", question);
    path_in(L"a.bin:stream", stream);
    path_in(L"", trailing);                             /* the directory with a trailing '\' */
    wcscpy(prefixed, L"\\\\?\\");
    wcscat(prefixed, local);
    wcscpy(relative_dir, L"test_job_files.d\\a.bin");
    path_in(L"", too_long);
    for (len = wcslen(too_long); len < MAX_PATH + 5; ++len) too_long[len] = L'x';
    too_long[len] = 0;

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, NULL, local));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, remotes[0], NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, NULL, NULL));
    for (i = 0; i < ARRAYSIZE(bad_remotes); ++i)
    {
        HRESULT hr = IBackgroundCopyJob5_AddFile(job, bad_remotes[i], local);
        if (hr != E_INVALIDARG) fail_msg("remote \"%ls\": got %#lx, expected E_INVALIDARG", bad_remotes[i], hr);
    }
    for (i = 0; i < ARRAYSIZE(bad_locals); ++i)
    {
        HRESULT hr = IBackgroundCopyJob5_AddFile(job, remotes[0], bad_locals[i]);
        if (hr != E_INVALIDARG) fail_msg("local \"%ls\": got %#lx, expected E_INVALIDARG", bad_locals[i], hr);
    }

    /* Remote names: 2,200 characters fit, 2,201 don't (§4). */
    url = long_url(2201);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, url, local));
    free(url);
    /* A segment longer than MAX_PATH is refused as well. */
    url = long_url(300);
    for (i = wcslen(L"http://127.0.0.1/"); i < 300; ++i) url[i] = L'b';
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, url, local));
    free(url);

    /* Nothing was added, and the modification time is that of creation. */
    assert_int_equal(file_count(job), 0);
    {
        BG_JOB_TIMES times;
        assert_hr(S_OK, IBackgroundCopyJob5_GetTimes(job, &times));
        assert_int_equal(CompareFileTime(&times.ModificationTime, &times.CreationTime), 0);
    }

    url = long_url(2200);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, url, local));
    remotes[0] = url;
    check_files(job, 1, remotes, locals);
    free(url);
}

static void test_add_file_set(void **state)
{
    static const WCHAR *const remotes[] = { L"http://127.0.0.1/1", L"http://127.0.0.1/2", L"http://127.0.0.1/3" };
    WCHAR l1[MAX_PATH], l2[MAX_PATH], l3[MAX_PATH];
    const WCHAR *locals[] = { l1, l2, l3 };
    BG_FILE_INFO set[3];
    size_t i;

    path_in(L"1.bin", l1);
    path_in(L"2.bin", l2);
    path_in(L"3.bin", l3);
    for (i = 0; i < 3; ++i)
    {
        set[i].RemoteName = (WCHAR *)remotes[i];
        set[i].LocalName = (WCHAR *)locals[i];
    }

    /* Nothing to add is not an error; a NULL array with a count is. */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileSet(job, 0, NULL));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileSet(job, 0, set));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 1, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 3, NULL));
    assert_int_equal(file_count(job), 0);

    /* One bad entry anywhere in the set: nothing is added. */
    set[2].LocalName = (WCHAR *)L"relative.bin";
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 3, set));
    set[2].LocalName = l3;
    set[1].RemoteName = (WCHAR *)L"ftp://127.0.0.1/2";
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 3, set));
    set[1].RemoteName = NULL;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 3, set));
    set[1].RemoteName = (WCHAR *)remotes[1];
    set[0].LocalName = NULL;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(job, 3, set));
    set[0].LocalName = l1;
    assert_int_equal(file_count(job), 0);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFileSet(job, 3, set));
    check_files(job, 3, remotes, locals);
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);
}

static void test_modification_time(void **state)
{
    BG_FILE_RANGE range = { 0, 10 };
    FILETIME before, now, after;
    WCHAR local[MAX_PATH];
    BG_FILE_INFO info;

    path_in(L"m.bin", local);
    info.RemoteName = (WCHAR *)L"http://127.0.0.1/set";
    info.LocalName = local;

    /* Each successful add stamps the time of the change (§2.0). */
    GetSystemTimeAsFileTime(&now);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/m", local));
    after = modification_time(job);
    assert_true(CompareFileTime(&after, &now) >= 0);

    before = after;
    GetSystemTimeAsFileTime(&now);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileSet(job, 1, &info));
    after = modification_time(job);
    assert_true(CompareFileTime(&after, &now) >= 0);
    assert_true(CompareFileTime(&after, &before) >= 0);

    before = after;
    GetSystemTimeAsFileTime(&now);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, L"http://127.0.0.1/r", local, 1, &range));
    after = modification_time(job);
    assert_true(CompareFileTime(&after, &now) >= 0);
    assert_true(CompareFileTime(&after, &before) >= 0);

    /* A failed add changes nothing. */
    before = after;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(job, L"ftp://127.0.0.1/m", local));
    after = modification_time(job);
    assert_int_equal(CompareFileTime(&after, &before), 0);
}

/* --- upload jobs -------------------------------------------------------------------------- */

static void check_upload_one_file(BG_JOB_TYPE type)
{
    IBackgroundCopyJob5 *upload = new_extra_job(type);
    WCHAR local[MAX_PATH], other[MAX_PATH], missing[MAX_PATH], url[MAX_PATH + 8];
    const WCHAR *remotes[1] = { L"http://127.0.0.1/upload" };
    const WCHAR *locals[1] = { local };
    BG_FILE_INFO set[2];

    path_in(L"up.txt", local);
    path_in(L"up2.txt", other);
    path_in(L"missing.txt", missing);
    create_file(local, "upload");
    create_file(other, "upload 2");
    set[0].RemoteName = (WCHAR *)L"http://127.0.0.1/upload";
    set[0].LocalName = local;
    set[1].RemoteName = (WCHAR *)L"http://127.0.0.1/upload2";
    set[1].LocalName = other;

    /* More than one file in a set: none is added (§5.3). */
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob5_AddFileSet(upload, 2, set));
    assert_int_equal(file_count(upload), 0);

    /* The local file is the source: it must exist. */
    assert_hr(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), IBackgroundCopyJob5_AddFile(upload, remotes[0], missing));
    /* Uploads speak HTTP only. */
    wcscpy(url, L"file://");
    wcscat(url, other);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(upload, url, local));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(upload, L"\\\\server\\share\\up.txt", local));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(upload, other, local));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(upload, L"ftp://127.0.0.1/upload", local));
    assert_int_equal(file_count(upload), 0);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(upload, remotes[0], local));
    check_files(upload, 1, remotes, locals);

    /* A second file, alone or in a set: BG_E_TOO_MANY_FILES, nothing added. */
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob5_AddFile(upload, L"http://127.0.0.1/upload2", other));
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob5_AddFileSet(upload, 1, &set[1]));
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob5_AddFileSet(upload, 2, set));
    check_files(upload, 1, remotes, locals);

    /* Ranges and prefix rewriting are download-only. */
    {
        BG_FILE_RANGE range = { 0, 10 };
        assert_hr(E_NOTIMPL, IBackgroundCopyJob5_AddFileWithRanges(upload, L"http://127.0.0.1/upload", local, 1, &range));
        assert_hr(E_NOTIMPL, IBackgroundCopyJob5_ReplaceRemotePrefix(upload, L"http://127.0.0.1/", L"http://127.0.0.2/"));
        /* the type is checked first */
        assert_hr(E_NOTIMPL, IBackgroundCopyJob5_ReplaceRemotePrefix(upload, NULL, L""));
    }
    check_files(upload, 1, remotes, locals);

    /* Uploads complete only once transferred. */
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Complete(upload));
    assert_int_equal(state_of(upload), BG_JOB_STATE_SUSPENDED);
    drop_job(upload);
}

static void test_upload_one_file(void **state)
{
    check_upload_one_file(BG_JOB_TYPE_UPLOAD);
}

static void test_upload_reply_one_file(void **state)
{
    check_upload_one_file(BG_JOB_TYPE_UPLOAD_REPLY);
}

static void test_upload_cancel_keeps_local_file(void **state)
{
    IBackgroundCopyJob5 *upload = new_extra_job(BG_JOB_TYPE_UPLOAD);
    WCHAR local[MAX_PATH], *temp;

    path_in(L"keep.txt", local);
    create_file(local, "keep me");
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(upload, L"http://127.0.0.1/keep", local));
    /* An upload reads its file in place: the temporary name is the local name. */
    temp = temporary_name(upload, 0);
    assert_wstr(local, temp);
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(upload));
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(upload));
    assert_int_equal(state_of(upload), BG_JOB_STATE_CANCELLED);
    assert_true(file_exists(local));
    drop_job(upload);
}

/* --- final states --------------------------------------------------------------------------- */

static void check_final_state(IBackgroundCopyJob5 *j, const WCHAR *remote, const WCHAR *local, ULONG files)
{
    BG_FILE_RANGE range = { 0, 10 };
    BG_FILE_INFO info;

    info.RemoteName = (WCHAR *)remote;
    info.LocalName = (WCHAR *)local;
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_AddFile(j, remote, local));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_AddFileSet(j, 1, &info));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_AddFileWithRanges(j, remote, local, 1, &range));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_ReplaceRemotePrefix(j, L"http://127.0.0.1/", L"http://127.0.0.2/"));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Resume(j));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Suspend(j));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Cancel(j));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Complete(j));
    /* Argument checks come before state checks. */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(j, NULL, local));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFile(j, remote, L"relative.bin"));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileSet(j, 1, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(j, remote, local, 0, &range));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(j, L"", L"http://127.0.0.2/"));
    /* EnumFiles works in any state; the files are still there. */
    assert_int_equal(file_count(j), files);
}

static void test_final_states(void **state)
{
    IBackgroundCopyJob5 *completed = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
    WCHAR local[MAX_PATH];

    path_in(L"final.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/final", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    check_final_state(job, L"http://127.0.0.1/final", local, 1);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(completed, L"http://127.0.0.1/final", local));
    assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(completed));
    assert_int_equal(state_of(completed), BG_JOB_STATE_ACKNOWLEDGED);
    check_final_state(completed, L"http://127.0.0.1/final", local, 1);
    drop_job(completed);
}

/* --- AddFileWithRanges -------------------------------------------------------------------- */

static void test_add_file_with_ranges(void **state)
{
    static const WCHAR remote[] = L"http://127.0.0.1/ranges";
    BG_FILE_RANGE ranges[502];
    WCHAR local[MAX_PATH], url[MAX_PATH + 8], source[MAX_PATH];
    DWORD i;

    path_in(L"ranges.bin", local);
    path_in(L"source.bin", source);

#define RANGES_FAIL(expected, count) \
    assert_hr(expected, IBackgroundCopyJob5_AddFileWithRanges(job, remote, local, count, ranges))
#define SET_RANGE(i, offset, length) (ranges[i].InitialOffset = (offset), ranges[i].Length = (length))

    /* Count 0 or a NULL array. */
    SET_RANGE(0, 0, 10);
    RANGES_FAIL(E_INVALIDARG, 0);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, remote, local, 1, NULL));
    /* Names are checked as for AddFile. */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, NULL, local, 1, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, remote, NULL, 1, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, remote, L"relative.bin", 1, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, L"ftp://127.0.0.1/r", local, 1, ranges));
    /* Ranges need http(s): no file:// URL, UNC or local path (§2.4). */
    wcscpy(url, L"file://");
    wcscat(url, source);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, url, local, 1, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, L"\\\\server\\share\\f", local, 1, ranges));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_AddFileWithRanges(job, source, local, 1, ranges));

    /* A zero length. */
    SET_RANGE(0, 0, 10);
    SET_RANGE(1, 20, 0);
    RANGES_FAIL(E_INVALIDARG, 2);
    /* An offset of BG_LENGTH_TO_EOF, or an end past 2^64 - 1. */
    SET_RANGE(1, BG_LENGTH_TO_EOF, 10);
    RANGES_FAIL(BG_E_INVALID_RANGE, 2);
    SET_RANGE(1, BG_LENGTH_TO_EOF - 5, 10);
    RANGES_FAIL(BG_E_INVALID_RANGE, 2);
    /* Overlaps and duplicates, found after sorting by offset. */
    SET_RANGE(1, 5, 10);
    RANGES_FAIL(BG_E_OVERLAPPING_RANGES, 2);
    SET_RANGE(1, 0, 10);
    RANGES_FAIL(BG_E_OVERLAPPING_RANGES, 2);
    SET_RANGE(0, 0, 10);
    SET_RANGE(1, 0, 5);                 /* same offset, reverse length order */
    RANGES_FAIL(BG_E_OVERLAPPING_RANGES, 2);
    SET_RANGE(0, 100, 10);
    SET_RANGE(1, 50, 10);
    SET_RANGE(2, 55, 1);                /* overlaps the second after sorting */
    RANGES_FAIL(BG_E_OVERLAPPING_RANGES, 3);
    SET_RANGE(0, 10, BG_LENGTH_TO_EOF); /* to the end overlaps everything after it */
    SET_RANGE(1, 1000, 10);
    RANGES_FAIL(BG_E_OVERLAPPING_RANGES, 2);
    /* More than 500 ranges. */
    for (i = 0; i < 502; ++i) SET_RANGE(i, (UINT64)i * 10, 5);
    RANGES_FAIL(BG_E_TOO_MANY_RANGES_IN_FILE, 501);
    RANGES_FAIL(BG_E_TOO_MANY_RANGES_IN_FILE, 502);
    assert_int_equal(file_count(job), 0);

    /* 500 ranges fit; adjacent ranges don't overlap; a final range may run to the end. */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, remote, local, 500, ranges));
    SET_RANGE(0, 0, 10);
    SET_RANGE(1, 10, 10);
    SET_RANGE(2, 100, BG_LENGTH_TO_EOF);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, L"https://127.0.0.1/r2", local, 3, ranges));
    /* The order given need not be sorted. */
    SET_RANGE(0, 500, 10);
    SET_RANGE(1, 0, 10);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, L"http://127.0.0.1/r3", local, 2, ranges));
    assert_int_equal(file_count(job), 3);
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);
#undef RANGES_FAIL
#undef SET_RANGE
}

/* --- ReplaceRemotePrefix ------------------------------------------------------------------ */

static void test_replace_remote_prefix(void **state)
{
    static const WCHAR *const original[] =
        { L"http://127.0.0.1/a/x.bin", L"http://127.0.0.1/a/y.bin", L"http://127.0.0.2/a/z.bin" };
    static const WCHAR *const replaced[] =
        { L"http://127.0.0.3/c/x.bin", L"http://127.0.0.3/c/y.bin", L"http://127.0.0.2/a/z.bin" };
    WCHAR l1[MAX_PATH], l2[MAX_PATH], l3[MAX_PATH];
    const WCHAR *locals[] = { l1, l2, l3 };
    WCHAR *prefix;
    size_t i;

    /* Nothing to rewrite in an empty job. */
    assert_hr(S_FALSE, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L"http://127.0.0.2/"));

    path_in(L"x.bin", l1);
    path_in(L"y.bin", l2);
    path_in(L"z.bin", l3);
    for (i = 0; i < 3; ++i) assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, original[i], locals[i]));

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, NULL, L"http://127.0.0.3/"));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"", L"http://127.0.0.3/"));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L""));
    /* A rewritten name that fails validation: E_INVALIDARG, and no file changes (not even the
     * ones whose new name would be valid). */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L"ftp://127.0.0.3/"));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/a/x", L"http://127.0.0.1/*"));
    prefix = long_url(2200 - (wcslen(L"a/x.bin") - 1));   /* x.bin's new name: 2,201 characters */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", prefix));
    check_files(job, 3, original, locals);

    /* Case-sensitive: no match, S_FALSE, nothing changed. */
    assert_hr(S_FALSE, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"HTTP://127.0.0.1/", L"http://127.0.0.3/"));
    assert_hr(S_FALSE, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.9/", L"http://127.0.0.3/"));
    check_files(job, 3, original, locals);

    assert_hr(S_OK, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/a/", L"http://127.0.0.3/c/"));
    check_files(job, 3, replaced, locals);
    free(prefix);
}

static void test_replace_remote_prefix_ranges_need_http(void **state)
{
    static const WCHAR *const remotes[] = { L"http://127.0.0.1/r.bin" };
    BG_FILE_RANGE range = { 0, 100 };
    WCHAR local[MAX_PATH];
    const WCHAR *locals[] = { local };

    path_in(L"r.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFileWithRanges(job, remotes[0], local, 1, &range));
    /* A file with ranges can't move to SMB (§2.4, conformance). */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L"\\\\server\\share\\"));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L"file://C:/dir/"));
    check_files(job, 1, remotes, locals);
    assert_hr(S_OK, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://", L"https://"));
    {
        static const WCHAR *const after[] = { L"https://127.0.0.1/r.bin" };
        check_files(job, 1, after, locals);
    }
}

/* --- state changes with files ------------------------------------------------------------- */

static void test_resume_and_suspend(void **state)
{
    WCHAR local[MAX_PATH];

    path_in(L"resume.bin", local);
    /* No file: BG_E_EMPTY, still SUSPENDED (§11a.2). */
    assert_hr(BG_E_EMPTY, IBackgroundCopyJob5_Resume(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/resume", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    /* The engine has the job now: QUEUED, CONNECTING, ... or TRANSIENT_ERROR, as nothing
     * listens at that address. Resuming an active job leaves it active. */
    assert_true(is_active(state_of(job)));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_true(is_active(state_of(job)));
    /* Files can still be added to an active job (any non-final state). */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/resume2", local));
    assert_true(is_active(state_of(job)));
    assert_int_equal(file_count(job), 2);

    assert_hr(S_OK, IBackgroundCopyJob5_Suspend(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyJob5_Suspend(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_true(is_active(state_of(job)));
}

/* Every successful state change and file change stamps the modification time (§2.0). */
static void test_changes_touch_modification_time(void **state)
{
    IBackgroundCopyJob5 *reply_job = new_extra_job(BG_JOB_TYPE_UPLOAD_REPLY);
    IBackgroundCopyFile2 *file2;
    IBackgroundCopyFile *file;
    WCHAR local[MAX_PATH], reply[MAX_PATH];
    FILETIME now, after;

#define CHECK_TOUCHES(j, call) \
    do { \
        GetSystemTimeAsFileTime(&now); \
        assert_true(SUCCEEDED(call)); \
        after = modification_time(j); \
        assert_true(CompareFileTime(&after, &now) >= 0); \
    } while (0)

    path_in(L"touch.bin", local);
    path_in(L"touch.reply", reply);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/touch", local));
    CHECK_TOUCHES(job, IBackgroundCopyJob5_Resume(job));
    CHECK_TOUCHES(job, IBackgroundCopyJob5_Suspend(job));
    CHECK_TOUCHES(job, IBackgroundCopyJob5_ReplaceRemotePrefix(job, L"http://127.0.0.1/", L"http://127.0.0.2/"));
    file = get_file(job, 0);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile2, (void **)&file2));
    CHECK_TOUCHES(job, IBackgroundCopyFile2_SetRemoteName(file2, L"http://127.0.0.3/touch"));
    IBackgroundCopyFile2_Release(file2);
    IBackgroundCopyFile_Release(file);
    CHECK_TOUCHES(reply_job, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    CHECK_TOUCHES(job, IBackgroundCopyJob5_Cancel(job));
    drop_job(reply_job);
#undef CHECK_TOUCHES
}

/* Cancel deletes the temporary files the engine made and never a file it did not: a file that
 * sits at a file's temporary name before the transfer is someone else's (the engine takes
 * another name), and Cancel leaves it. */
static void test_cancel_leaves_files_not_ours(void **state)
{
    WCHAR a[MAX_PATH], b[MAX_PATH], *temp_a, *temp_b;

    path_in(L"cancel_a.bin", a);
    path_in(L"cancel_b.bin", b);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/a", a));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/b", b));
    temp_a = temporary_name(job, 0);
    temp_b = temporary_name(job, 1);
    assert_true(wcscmp(temp_a, temp_b) != 0);
    create_file(temp_a, "not ours");
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_CANCELLED);
    assert_true(file_exists(temp_a));
    assert_false(file_exists(a));
    assert_false(file_exists(b));
    DeleteFileW(temp_a);
    CoTaskMemFree(temp_a);
    CoTaskMemFree(temp_b);
}

static void test_complete_untransferred(void **state)
{
    WCHAR a[MAX_PATH], b[MAX_PATH], *temp_a, *temp_b;

    path_in(L"complete_a.bin", a);
    path_in(L"complete_b.bin", b);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/a", a));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/b", b));
    temp_a = temporary_name(job, 0);
    temp_b = temporary_name(job, 1);
    create_file(temp_a, "not ours");
    /* No file was transferred: a partial completion; nothing is renamed, and a file that is
     * not the engine's stays. */
    assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_ACKNOWLEDGED);
    assert_true(file_exists(temp_a));
    assert_false(file_exists(temp_b));
    assert_false(file_exists(a));
    assert_false(file_exists(b));
    DeleteFileW(temp_a);
    CoTaskMemFree(temp_a);
    CoTaskMemFree(temp_b);
}

static void test_complete_queued(void **state)
{
    WCHAR local[MAX_PATH];

    /* A download completes in any non-final state, QUEUED included. */
    path_in(L"queued.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/q", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_ACKNOWLEDGED);
}

static void test_high_performance(void **state)
{
    BITS_JOB_PROPERTY_VALUE value;
    WCHAR local[MAX_PATH], other[MAX_PATH], *temp;

    /* A high-performance job writes straight into the destination: the temporary name is the
     * local name, and Cancel leaves the (partial) file (§2.6, conformance). */
    memset(&value, 0, sizeof(value));
    value.Enable = TRUE;
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    path_in(L"direct.bin", local);
    path_in(L"direct2.bin", other);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/direct", local));
    /* Fixed once a file is added. */
    value.Enable = FALSE;
    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    temp = temporary_name(job, 0);
    assert_wstr(local, temp);
    create_file(local, "partial");
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_true(file_exists(local));

    /* Complete leaves the destination as well. */
    {
        IBackgroundCopyJob5 *other_job = new_extra_job(BG_JOB_TYPE_DOWNLOAD);
        value.Enable = TRUE;
        assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(other_job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
        assert_hr(S_OK, IBackgroundCopyJob5_AddFile(other_job, L"http://127.0.0.1/direct2", other));
        create_file(other, "partial");
        assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(other_job));
        drop_job(other_job);
    }
}

/* A directory whose DACL denies FILE_ADD_FILE to everyone: E_ACCESSDENIED at AddFile
 * (conformance: checked by opening the directory for FILE_ADD_FILE as the caller). Skipped if
 * this Wine doesn't enforce the directory's DACL. */
static void test_add_file_access_denied(void **state)
{
    static const WCHAR sddl[] = L"D:(D;;0x2;;;WD)(A;;GA;;;WD)";   /* deny FILE_ADD_FILE, allow all */
    WCHAR locked[MAX_PATH], local[MAX_PATH], open_dir[MAX_PATH];
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
    HANDLE handle;

    path_in(L"locked", locked);
    path_in(L"locked\\", open_dir);
    path_in(L"locked\\a.bin", local);
    RemoveDirectoryW(locked);
    assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sa.lpSecurityDescriptor, NULL));
    assert_true(CreateDirectoryW(locked, &sa));
    LocalFree(sa.lpSecurityDescriptor);

    handle = CreateFileW(open_dir, FILE_ADD_FILE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (handle != INVALID_HANDLE_VALUE)
    {
        CloseHandle(handle);
        RemoveDirectoryW(locked);
        skip();
    }
    assert_hr(E_ACCESSDENIED, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/locked", local));
    assert_int_equal(file_count(job), 0);
    RemoveDirectoryW(locked);
}

static void test_progress(void **state)
{
    BG_JOB_PROGRESS progress;
    WCHAR local[MAX_PATH];

    /* Empty job: all zero (§3.3). */
    memset(&progress, 0xcc, sizeof(progress));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_true(progress.BytesTotal == 0);
    assert_true(progress.BytesTransferred == 0);
    assert_int_equal(progress.FilesTotal, 0);
    assert_int_equal(progress.FilesTransferred, 0);

    /* A file of unknown size makes the total unknown. */
    path_in(L"progress.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/p1", local));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);
    assert_true(progress.BytesTransferred == 0);
    assert_int_equal(progress.FilesTotal, 1);
    assert_int_equal(progress.FilesTransferred, 0);

    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/p2", local));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/p3", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);
    assert_true(progress.BytesTransferred == 0);
    assert_int_equal(progress.FilesTotal, 3);
    assert_int_equal(progress.FilesTransferred, 0);

    /* Still readable in a final state. */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_int_equal(progress.FilesTotal, 3);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProgress(job, NULL));
}

static void test_error_with_files(void **state)
{
    IBackgroundCopyError *error = (IBackgroundCopyError *)(ULONG_PTR)0xdeadbeef;
    WCHAR local[MAX_PATH];

    path_in(L"error.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/e", local));
    assert_hr(BG_E_ERROR_INFORMATION_UNAVAILABLE, IBackgroundCopyJob5_GetError(job, &error));
    assert_null(error);
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    error = (IBackgroundCopyError *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_ERROR_INFORMATION_UNAVAILABLE, IBackgroundCopyJob5_GetError(job, &error));
    assert_null(error);
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    error = (IBackgroundCopyError *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_ERROR_INFORMATION_UNAVAILABLE, IBackgroundCopyJob5_GetError(job, &error));
    assert_null(error);
}

/* --- the reply file (§2.3) ---------------------------------------------------------------- */

static WCHAR *reply_name(IBackgroundCopyJob5 *j)
{
    WCHAR *name = (WCHAR *)(ULONG_PTR)0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyFileName(j, &name));
    return name;
}

static void test_reply_file_name_by_type(void **state)
{
    IBackgroundCopyJob5 *upload = new_extra_job(BG_JOB_TYPE_UPLOAD);
    WCHAR reply[MAX_PATH];

    path_in(L"reply.txt", reply);
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetReplyFileName(job, reply));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetReplyFileName(job, NULL));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetReplyFileName(upload, reply));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetReplyFileName(upload, L""));
    drop_job(upload);
}

static void test_reply_file_name(void **state)
{
    IBackgroundCopyJob5 *reply_job = new_extra_job(BG_JOB_TYPE_UPLOAD_REPLY);
    WCHAR reply[MAX_PATH], missing[MAX_PATH], wildcard[MAX_PATH], stream[MAX_PATH], prefixed[MAX_PATH + 8];
    WCHAR too_long[MAX_PATH + 20], trailing[MAX_PATH];
    const WCHAR *bad[] = { L"reply.txt", L"dir\\reply.txt", L"C:reply.txt", missing, wildcard, stream,
                           prefixed, too_long, trailing };
    size_t i, len;

    path_in(L"reply.txt", reply);
    path_in(L"no such directory\\reply.txt", missing);
    path_in(L"re*ly.txt", wildcard);
    path_in(L"reply.txt:stream", stream);
    path_in(L"", trailing);
    wcscpy(prefixed, L"\\\\?\\");
    wcscat(prefixed, reply);
    path_in(L"", too_long);
    for (len = wcslen(too_long); len < MAX_PATH + 5; ++len) too_long[len] = L'r';
    too_long[len] = 0;

    assert_null(reply_name(reply_job));
    for (i = 0; i < ARRAYSIZE(bad); ++i)
    {
        HRESULT hr = IBackgroundCopyJob5_SetReplyFileName(reply_job, bad[i]);
        if (hr != E_INVALIDARG) fail_msg("\"%ls\": got %#lx, expected E_INVALIDARG", bad[i], hr);
    }
    assert_null(reply_name(reply_job));

    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    assert_wstr(reply, reply_name(reply_job));
    /* A failure leaves the name as it was. */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetReplyFileName(reply_job, missing));
    assert_wstr(reply, reply_name(reply_job));
    /* NULL and L"" go back to a generated name: none before the first Resume. */
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, NULL));
    assert_null(reply_name(reply_job));
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, L""));
    assert_null(reply_name(reply_job));

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetReplyFileName(reply_job, NULL));

    /* Final state: BG_E_INVALID_STATE, but bad arguments first. */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(reply_job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetReplyFileName(reply_job, missing));
    assert_null(reply_name(reply_job));
    drop_job(reply_job);
}

/* The generated reply name: <directory of the upload file>\BITS-<job id>.reply (conformance),
 * the id as StringFromGUID2 writes it (upper-case hex) without the braces. */
static void expected_reply_name(IBackgroundCopyJob5 *j, const WCHAR *upload_dir, WCHAR *name)
{
    WCHAR id_text[40];
    GUID id;

    assert_hr(S_OK, IBackgroundCopyJob5_GetId(j, &id));
    assert_int_equal(StringFromGUID2(&id, id_text, ARRAYSIZE(id_text)), 39);   /* {...} and NUL */
    id_text[37] = 0;
    wcscpy(name, upload_dir);
    wcscat(name, L"\\BITS-");
    wcscat(name, id_text + 1);
    wcscat(name, L".reply");
}

static void test_reply_file_name_generated(void **state)
{
    IBackgroundCopyJob5 *reply_job = new_extra_job(BG_JOB_TYPE_UPLOAD_REPLY);
    WCHAR upload[MAX_PATH], reply[MAX_PATH], expected[MAX_PATH];

    path_in(L"upload.txt", upload);
    path_in(L"chosen.reply", reply);
    create_file(upload, "upload");
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(reply_job, L"http://127.0.0.1/upload", upload));
    /* Adding the file doesn't name the reply; the first Resume does. */
    assert_null(reply_name(reply_job));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(reply_job));
    assert_true(is_active(state_of(reply_job)));      /* the engine has it (nothing listens there) */
    expected_reply_name(reply_job, dir, expected);
    assert_wstr(expected, reply_name(reply_job));

    /* The name can change until the reply download begins; NULL brings back a generated
     * name at the next Resume. */
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    assert_wstr(reply, reply_name(reply_job));
    assert_hr(S_OK, IBackgroundCopyJob5_Suspend(reply_job));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(reply_job));
    assert_wstr(reply, reply_name(reply_job));          /* a chosen name survives Resume */
    assert_hr(S_OK, IBackgroundCopyJob5_Suspend(reply_job));
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, NULL));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(reply_job));
    assert_wstr(expected, reply_name(reply_job));
    drop_job(reply_job);
}

static void test_reply_file_name_chosen_before_resume(void **state)
{
    IBackgroundCopyJob5 *reply_job = new_extra_job(BG_JOB_TYPE_UPLOAD_REPLY);
    WCHAR upload[MAX_PATH], reply[MAX_PATH];

    path_in(L"upload.txt", upload);
    path_in(L"early.reply", reply);
    create_file(upload, "upload");
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(reply_job, reply));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(reply_job, L"http://127.0.0.1/upload", upload));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(reply_job));
    assert_wstr(reply, reply_name(reply_job));
    drop_job(reply_job);
}

static void test_reply_data_states(void **state)
{
    IBackgroundCopyJob5 *reply_job = new_extra_job(BG_JOB_TYPE_UPLOAD_REPLY);
    byte *data = (byte *)(ULONG_PTR)0xdeadbeef;
    UINT64 length = 0;
    WCHAR upload[MAX_PATH];

    path_in(L"upload.txt", upload);
    create_file(upload, "upload");
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetReplyData(reply_job, NULL, &length));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetReplyData(reply_job, &data, NULL));

    /* Only TRANSFERRED (and ACKNOWLEDGED) jobs have reply data. */
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_GetReplyData(reply_job, &data, &length));
    assert_null(data);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(reply_job, L"http://127.0.0.1/upload", upload));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(reply_job));
    data = (byte *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_GetReplyData(reply_job, &data, &length));
    assert_null(data);
    /* Upload-reply jobs complete only once transferred. */
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Complete(reply_job));
    assert_true(is_active(state_of(reply_job)));
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(reply_job));
    data = (byte *)(ULONG_PTR)0xdeadbeef;
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_GetReplyData(reply_job, &data, &length));
    assert_null(data);
    /* The upload file itself stays. */
    assert_true(file_exists(upload));
    drop_job(reply_job);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_add_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_file_remote_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_file_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_file_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modification_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_reply_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_cancel_keeps_local_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_file_with_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_remote_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_remote_prefix_ranges_need_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_and_suspend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_touch_modification_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_leaves_files_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_untransferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_performance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_file_access_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_with_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_file_name_by_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_file_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_file_name_generated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_file_name_chosen_before_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_data_states, setup, teardown),
    };
    return cmocka_run_group_tests_name("job files", tests, group_setup, group_teardown);
}
