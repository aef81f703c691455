/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyJob1 (BITS-SPEC.md §10.4), method by method: AddFiles with AddFile's rules,
 * GetFile's BSTRs, the file count, progress, the state word of a job that has not run, the two
 * methods BITS does not implement, and the job's GUID. Transfers are test_qmgr_download.c's. */
#include "com_test.h"

static struct openbits_dll dll;
static IBackgroundCopyQMgr *qmgr;
static WCHAR dir[MAX_PATH];

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_job1.d", dir, ARRAYSIZE(dir));
    return 0;
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

/* A group with its job; *group_out gets the group. */
static IBackgroundCopyJob1 *new_job(IBackgroundCopyGroup **group_out, GUID *id)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob1 *job;
    GUID new_id;

    assert_hr(S_OK, CoCreateGuid(&new_id));
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, new_id, &job));
    if (id) *id = new_id;
    *group_out = group;
    return job;
}

static void drop(IBackgroundCopyGroup *group, IBackgroundCopyJob1 *job)
{
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

/* A FILESETINFO of its own BSTRs. */
static void info_init(FILESETINFO *info, const WCHAR *remote, const WCHAR *local_name)
{
    WCHAR local[MAX_PATH];

    local_path(local_name, local);
    info->bstrRemoteFile = remote ? SysAllocString(remote) : NULL;
    info->bstrLocalFile = local_name ? SysAllocString(local) : NULL;
    info->dwSizeHint = 1234;              /* ignored */
}

static void info_clear(FILESETINFO *info)
{
    SysFreeString(info->bstrRemoteFile);
    SysFreeString(info->bstrLocalFile);
    memset(info, 0, sizeof(*info));
}

static DWORD file_count(IBackgroundCopyJob1 *job)
{
    DWORD count = 0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyJob1_GetFileCount(job, &count));
    return count;
}

static void test_add_files(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    FILESETINFO infos[3], *pointers[3] = { &infos[0], &infos[1], &infos[2] };
    IBackgroundCopyJob *modern;
    BG_JOB_PROGRESS progress;

    info_init(&infos[0], L"http://127.0.0.1/one", L"one.bin");
    info_init(&infos[1], L"https://127.0.0.1/two", L"two.bin");
    info_init(&infos[2], L"http://127.0.0.1/three?x=1", L"three.bin");
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 0, NULL));      /* nothing to add */
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_AddFiles(job, 1, NULL));
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 3, pointers));
    assert_int_equal(file_count(job), 3);
    /* They are the job's files. */
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    assert_hr(S_OK, IBackgroundCopyJob_GetProgress(modern, &progress));
    assert_int_equal(progress.FilesTotal, 3);
    IBackgroundCopyJob_Release(modern);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetFileCount(job, NULL));
    info_clear(&infos[0]);
    info_clear(&infos[1]);
    info_clear(&infos[2]);
    drop(group, job);
}

/* AddFile's rules, all or nothing, and HTTP only (BITS 1.x has no other protocol). */
static void test_add_files_invalid(void **state)
{
    static const struct { const WCHAR *remote, *local; } bad[] =
    {
        { NULL, L"x.bin" },
        { L"http://127.0.0.1/x", NULL },
        { L"", L"x.bin" },
        { L"not a url", L"x.bin" },
        { L"ftp://127.0.0.1/x", L"x.bin" },
        { L"file://C:\\windows\\win.ini", L"x.bin" },
        { L"C:\\windows\\win.ini", L"x.bin" },
        { L"\\\\server\\share\\x", L"x.bin" },
        { L"http://127.0.0.1/*", L"x.bin" },
    };
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    FILESETINFO good, wrong, *pointers[2];
    WCHAR missing_dir[MAX_PATH];
    size_t i;

    info_init(&good, L"http://127.0.0.1/good", L"good.bin");
    for (i = 0; i < ARRAYSIZE(bad); ++i)
    {
        info_init(&wrong, bad[i].remote, bad[i].local);
        pointers[0] = &good;
        pointers[1] = &wrong;
        if (IBackgroundCopyJob1_AddFiles(job, 2, pointers) != E_INVALIDARG)
            fail_msg("AddFiles accepted %ls -> %ls", bad[i].remote, bad[i].local);
        info_clear(&wrong);
        assert_int_equal(file_count(job), 0);
    }
    /* A NULL entry; a relative local name; a directory that does not exist. */
    pointers[0] = &good;
    pointers[1] = NULL;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_AddFiles(job, 2, pointers));
    wrong.bstrRemoteFile = SysAllocString(L"http://127.0.0.1/x");
    wrong.bstrLocalFile = SysAllocString(L"relative.bin");
    pointers[1] = &wrong;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_AddFiles(job, 2, pointers));
    SysFreeString(wrong.bstrLocalFile);
    swprintf(missing_dir, ARRAYSIZE(missing_dir), L"%ls\\no such dir\\x.bin", dir);
    wrong.bstrLocalFile = SysAllocString(missing_dir);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_AddFiles(job, 2, pointers));
    info_clear(&wrong);
    assert_int_equal(file_count(job), 0);
    info_clear(&good);
    drop(group, job);
}

static void test_get_file(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    FILESETINFO infos[2], *pointers[2] = { &infos[0], &infos[1] }, got;

    info_init(&infos[0], L"http://127.0.0.1/first", L"first.bin");
    info_init(&infos[1], L"http://127.0.0.1/second", L"second.bin");
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 2, pointers));

    memset(&got, 0xcc, sizeof(got));
    assert_hr(S_OK, IBackgroundCopyJob1_GetFile(job, 1, &got));
    assert_true(!wcscmp(got.bstrRemoteFile, infos[1].bstrRemoteFile));
    assert_true(!wcscmp(got.bstrLocalFile, infos[1].bstrLocalFile));
    assert_int_equal(SysStringLen(got.bstrRemoteFile), wcslen(L"http://127.0.0.1/second"));
    assert_int_equal(got.dwSizeHint, 0);
    assert_ptr_not_equal(got.bstrRemoteFile, infos[1].bstrRemoteFile);      /* copies */
    info_clear(&got);
    assert_hr(S_OK, IBackgroundCopyJob1_GetFile(job, 0, &got));
    assert_true(!wcscmp(got.bstrRemoteFile, L"http://127.0.0.1/first"));
    info_clear(&got);

    /* Past the end: QM_E_ITEM_NOT_FOUND, and nothing handed out. */
    memset(&got, 0xcc, sizeof(got));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyJob1_GetFile(job, 2, &got));
    assert_null(got.bstrRemoteFile);
    assert_null(got.bstrLocalFile);
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyJob1_GetFile(job, 0xffffffff, &got));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetFile(job, 0, NULL));
    info_clear(&infos[0]);
    info_clear(&infos[1]);
    drop(group, job);
}

static void test_status_and_progress(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    DWORD status = 0xdeadbeef, win32 = 0xdeadbeef, transport = 0xdeadbeef, retries = 0xdeadbeef, progress;

    assert_hr(S_OK, IBackgroundCopyJob1_GetStatus(job, &status, &win32, &transport, &retries));
    assert_int_equal(status, QM_STATUS_JOB_INCOMPLETE);
    assert_int_equal(win32, 0);
    assert_int_equal(transport, 0);
    assert_int_equal(retries, 0);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetStatus(job, NULL, &win32, &transport, &retries));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetStatus(job, &status, NULL, &transport, &retries));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetStatus(job, &status, &win32, NULL, &retries));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetStatus(job, &status, &win32, &transport, NULL));

    /* The group in the foreground: never QM_STATUS_JOB_FOREGROUND ("not supported"). */
    assert_hr(S_OK, IBackgroundCopyGroup_SwitchToForeground(group));
    assert_hr(S_OK, IBackgroundCopyJob1_GetStatus(job, &status, &win32, &transport, &retries));
    assert_int_equal(status, QM_STATUS_JOB_INCOMPLETE);

    progress = 0xdeadbeef;
    assert_hr(S_OK, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_PERCENT_DONE, &progress));
    assert_int_equal(progress, 0);
    assert_hr(S_OK, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_SIZE_DONE, &progress));
    assert_int_equal(progress, 0);
    progress = 0xdeadbeef;
    assert_hr(E_NOTIMPL, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_TIME_DONE, &progress));
    assert_int_equal(progress, 0xdeadbeef);
    assert_hr(E_NOTIMPL, IBackgroundCopyJob1_GetProgress(job, 7, &progress));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_SIZE_DONE, NULL));
    drop(group, job);
}

/* BITS documents both as not implemented; CancelGroup and the group's SwitchToForeground do
 * the work. */
static void test_not_implemented_in_bits(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    DWORD status, index;

    assert_hr(E_NOTIMPL, IBackgroundCopyJob1_CancelJob(job));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob1_SwitchToForeground(job));
    assert_hr(S_OK, IBackgroundCopyGroup_GetStatus(group, &status, &index));
    assert_int_equal(status, QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);
    drop(group, job);
}

static void test_identity(void **state)
{
    IBackgroundCopyGroup *group, *back;
    IBackgroundCopyJob1 *job, *again;
    IBackgroundCopyJob *modern;
    GUID id, got, group_id;

    job = new_job(&group, &id);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob1_get_JobID(job, NULL));
    assert_hr(S_OK, IBackgroundCopyJob1_get_JobID(job, &got));
    assert_true(IsEqualGUID(&got, &id));
    check_interface(job, IID_IUnknown, TRUE);
    check_interface(job, IID_IBackgroundCopyJob1, TRUE);
    check_interface(job, IID_IMarshal, TRUE);
    assert_hr(S_OK, IBackgroundCopyJob1_QueryInterface(job, &IID_IBackgroundCopyGroup, (void **)&back));
    assert_ptr_equal(back, group);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryInterface(back, &IID_IBackgroundCopyJob1, (void **)&again));
    assert_ptr_equal(again, job);
    IBackgroundCopyJob1_Release(again);
    IBackgroundCopyGroup_Release(back);
    /* The modern job behind it has the group's GUID, not the job's. */
    assert_hr(S_OK, IBackgroundCopyJob1_QueryInterface(job, &IID_IBackgroundCopyJob, (void **)&modern));
    assert_hr(S_OK, IBackgroundCopyJob_GetId(modern, &got));
    assert_hr(S_OK, IBackgroundCopyGroup_get_GroupID(group, &group_id));
    assert_true(IsEqualGUID(&got, &group_id));
    IBackgroundCopyJob_Release(modern);
    drop(group, job);
}

static void test_after_cancel(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job = new_job(&group, NULL);
    FILESETINFO info, *pointers[1] = { &info };
    DWORD status, win32, transport, retries;
    GUID got;

    info_init(&info, L"http://127.0.0.1/before", L"before.bin");
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 1, pointers));
    assert_hr(S_OK, IBackgroundCopyGroup_CancelGroup(group));
    info_clear(&info);
    info_init(&info, L"http://127.0.0.1/after", L"after.bin");
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyJob1_AddFiles(job, 1, pointers));
    info_clear(&info);
    /* Reading still works. */
    assert_int_equal(file_count(job), 1);
    assert_hr(S_OK, IBackgroundCopyJob1_GetFile(job, 0, &info));
    assert_true(!wcscmp(info.bstrRemoteFile, L"http://127.0.0.1/before"));
    info_clear(&info);
    assert_hr(S_OK, IBackgroundCopyJob1_GetStatus(job, &status, &win32, &transport, &retries));
    assert_int_equal(status, QM_STATUS_JOB_INCOMPLETE);
    assert_hr(S_OK, IBackgroundCopyJob1_get_JobID(job, &got));
    IBackgroundCopyJob1_Release(job);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_add_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_files_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_implemented_in_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_cancel, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("job1", tests, group_setup, group_teardown);
}
