/* SPDX-License-Identifier: MIT */
/* Quotas (BITS-SPEC.md §2.1 CreateJob, §2.2 AddFileSet, §4; docs/conformance.md "Quotas"): 300
 * unfinished jobs per machine, 60 per user, 200 files per job, overridden by MaxJobsPerMachine,
 * MaxJobsPerUser and MaxFilesPerJob under HKLM\Software\Policies\Microsoft\Windows\BITS (read
 * when the service is created: the first object after none was alive), administrators exempt,
 * the machine limit checked before the user's.
 *
 * Wine runs this program as an administrator. To be an ordinary user the test thread
 * impersonates a restricted copy of the process token in which BUILTIN\Administrators is a
 * deny-only SID: the same user SID (so the same owner), but CheckTokenMembership says "not an
 * administrator". RevertToSelf makes the thread an administrator again.
 *
 * With a single user SID the default machine limit (300) can't be reached before the user's
 * (60); the policy values make it reachable (test_policy_machine_limit). */
#include "com_test.h"

#define MAX_JOBS 320

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBackgroundCopyManager *second;     /* a second manager, released by teardown */
static IBackgroundCopyJob *jobs[MAX_JOBS];  /* every job a test creates; teardown cancels them */
static size_t job_count;
static HANDLE user_token;                   /* impersonation token without Administrators */
static WCHAR dir[MAX_PATH];                 /* this program's own directory for local names */

static const WCHAR policy_key[] = L"Software\\Policies\\Microsoft\\Windows\\BITS";

/* --- helpers ------------------------------------------------------------------------------ */

static BOOL is_admin(void)
{
    SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
    BOOL member = FALSE;
    PSID admins;

    assert_true(AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
                                         0, 0, 0, 0, 0, 0, &admins));
    assert_true(CheckTokenMembership(NULL, admins, &member));
    FreeSid(admins);
    return member;
}

static void become_user(void)
{
    assert_true(SetThreadToken(NULL, user_token));
    assert_false(is_admin());
}

static void become_admin(void)
{
    assert_true(RevertToSelf());
    assert_true(is_admin());
}

static void path_in(const WCHAR *name, WCHAR *path)
{
    assert_true(wcslen(dir) + 1 + wcslen(name) < MAX_PATH);
    wcscpy(path, dir);
    wcscat(path, L"\\");
    wcscat(path, name);
}

/* CreateJob on m with the expected result; a created job is remembered for teardown. */
static IBackgroundCopyJob *create_job_on(IBackgroundCopyManager *m, BG_JOB_TYPE type, HRESULT expected)
{
    IBackgroundCopyJob *job = (IBackgroundCopyJob *)(ULONG_PTR)0xdeadbeef;
    GUID id = GUID_NULL;
    HRESULT hr;

    assert_true(job_count < MAX_JOBS);
    hr = IBackgroundCopyManager_CreateJob(m, L"quota", type, &id, &job);
    if (SUCCEEDED(hr)) jobs[job_count++] = job;
    if (hr != expected) fail_msg("CreateJob (job %u): got %#lx, expected %#lx", (unsigned)job_count, hr, expected);
    if (FAILED(hr))
    {
        assert_null(job);
        assert_true(IsEqualGUID(&id, &GUID_NULL));
        return NULL;
    }
    return job;
}

static IBackgroundCopyJob *create_job(HRESULT expected)
{
    return create_job_on(manager, BG_JOB_TYPE_DOWNLOAD, expected);
}

static void create_jobs(size_t count)
{
    while (count--) create_job(S_OK);
}

static ULONG queued_jobs(void)
{
    IEnumBackgroundCopyJobs *e;
    ULONG count = 0;

    assert_hr(S_OK, IBackgroundCopyManager_EnumJobs(manager, 0, &e));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_GetCount(e, &count));
    IEnumBackgroundCopyJobs_Release(e);
    return count;
}

static ULONG file_count(IBackgroundCopyJob *job)
{
    IEnumBackgroundCopyFiles *files;
    ULONG count = 0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyJob_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(files, &count));
    IEnumBackgroundCopyFiles_Release(files);
    return count;
}

/* AddFile http://127.0.0.1/<n> -> <dir>\<n>.bin with the expected result. */
static void add_file(IBackgroundCopyJob *job, unsigned int n, HRESULT expected)
{
    WCHAR remote[64], name[32], local[MAX_PATH];
    HRESULT hr;

    swprintf(remote, ARRAYSIZE(remote), L"http://127.0.0.1/%u", n);
    swprintf(name, ARRAYSIZE(name), L"%u.bin", n);
    path_in(name, local);
    hr = IBackgroundCopyJob_AddFile(job, remote, local);
    if (hr != expected) fail_msg("AddFile %u: got %#lx, expected %#lx", n, hr, expected);
}

static void add_files(IBackgroundCopyJob *job, unsigned int first, unsigned int count)
{
    unsigned int i;

    for (i = 0; i < count; ++i) add_file(job, first + i, S_OK);
}

static void set_policy(const WCHAR *name, DWORD value)
{
    HKEY key;

    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, policy_key, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL), 0);
    assert_int_equal(RegSetValueExW(key, name, 0, REG_DWORD, (const BYTE *)&value, sizeof(value)), 0);
    RegCloseKey(key);
}

static void clear_policy(void)
{
    HKEY key;

    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, policy_key, 0, KEY_SET_VALUE, &key)) return;
    RegDeleteValueW(key, L"MaxJobsPerMachine");
    RegDeleteValueW(key, L"MaxJobsPerUser");
    RegDeleteValueW(key, L"MaxFilesPerJob");
    RegCloseKey(key);
}

/* --- fixtures ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
    SID_AND_ATTRIBUTES deny;
    HANDLE process, restricted;
    PSID admins;

    com_group_setup(&dll);
    test_dir_create(L"test_quota.d", dir, ARRAYSIZE(dir));
    clear_policy();

    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &process));
    assert_true(AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
                                         0, 0, 0, 0, 0, 0, &admins));
    deny.Sid = admins;
    deny.Attributes = 0;
    assert_true(CreateRestrictedToken(process, 0, 1, &deny, 0, NULL, 0, NULL, &restricted));
    assert_true(DuplicateToken(restricted, SecurityImpersonation, &user_token));
    CloseHandle(restricted);
    CloseHandle(process);
    FreeSid(admins);
    /* The premise of every test: Wine runs us as an administrator. */
    assert_true(is_admin());
    return 0;
}

static int group_teardown(void **state)
{
    RevertToSelf();
    clear_policy();
    CloseHandle(user_token);
    RemoveDirectoryW(dir);
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    return test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
}

static int teardown(void **state)
{
    BG_JOB_STATE s;
    size_t i;

    RevertToSelf();
    for (i = 0; i < job_count; ++i)
    {
        assert_hr(S_OK, IBackgroundCopyJob_GetState(jobs[i], &s));
        if (s != BG_JOB_STATE_CANCELLED && s != BG_JOB_STATE_ACKNOWLEDGED)
            assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[i]));
        assert_int_equal(IBackgroundCopyJob_Release(jobs[i]), 0);
        jobs[i] = NULL;
    }
    job_count = 0;
    if (second) assert_int_equal(IBackgroundCopyManager_Release(second), 0);
    second = NULL;
    test_manager_close(&dll, &manager);
    clear_policy();
    return 0;
}

/* The policy is read when the service is created, so these tests write it before their
 * first object. */
static int setup_policy_machine(void **state)
{
    set_policy(L"MaxJobsPerMachine", 5);
    set_policy(L"MaxJobsPerUser", 10);
    return setup(state);
}

static int setup_policy_equal(void **state)
{
    set_policy(L"MaxJobsPerMachine", 3);
    set_policy(L"MaxJobsPerUser", 3);
    return setup(state);
}

static int setup_policy_user(void **state)
{
    set_policy(L"MaxJobsPerUser", 3);
    set_policy(L"MaxFilesPerJob", 4);
    return setup(state);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_restricted_token(void **state)
{
    IBackgroundCopyJob *as_admin, *as_user;
    WCHAR *admin_owner, *user_owner;

    /* The user token is the same user: the same owner SID. */
    as_admin = create_job(S_OK);
    become_user();
    as_user = create_job(S_OK);
    assert_hr(S_OK, IBackgroundCopyJob_GetOwner(as_admin, &admin_owner));
    assert_hr(S_OK, IBackgroundCopyJob_GetOwner(as_user, &user_owner));
    assert_int_equal(wcscmp(admin_owner, user_owner), 0);
    CoTaskMemFree(admin_owner);
    CoTaskMemFree(user_owner);
    become_admin();
}

static void test_jobs_per_user(void **state)
{
    IBackgroundCopyJob *extra;

    become_user();
    create_jobs(60);
    assert_int_equal(queued_jobs(), 60);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    assert_int_equal(queued_jobs(), 60);

    /* Finished jobs don't count: a cancelled one ... */
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[0]));
    create_job(S_OK);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    /* ... nor a completed one. */
    assert_hr(S_OK, IBackgroundCopyJob_Complete(jobs[1]));
    create_job(S_OK);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    assert_int_equal(queued_jobs(), 60);

    /* Administrators are exempt. */
    become_admin();
    extra = create_job(S_OK);
    assert_non_null(extra);
    create_job(S_OK);
    assert_int_equal(queued_jobs(), 62);
    become_user();
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    become_admin();
}

static void test_jobs_per_user_across_managers(void **state)
{
    size_t i;

    /* The quota is the service's, not a manager's. */
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&second));
    become_user();
    create_jobs(30);
    for (i = 0; i < 30; ++i) create_job_on(second, BG_JOB_TYPE_UPLOAD, S_OK);
    create_job_on(second, BG_JOB_TYPE_UPLOAD, BG_E_TOO_MANY_JOBS_PER_USER);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    become_admin();
}

static void test_files_per_job(void **state)
{
    IBackgroundCopyJob *full, *almost;
    BG_FILE_RANGE range = { 0, 10 };
    WCHAR local[MAX_PATH];
    BG_FILE_INFO set[2];

    path_in(L"set.bin", local);
    set[0].RemoteName = (WCHAR *)L"http://127.0.0.1/set0";
    set[0].LocalName = local;
    set[1].RemoteName = (WCHAR *)L"http://127.0.0.1/set1";
    set[1].LocalName = local;

    become_user();
    full = create_job(S_OK);
    add_files(full, 0, 200);
    assert_int_equal(file_count(full), 200);
    add_file(full, 200, BG_E_TOO_MANY_FILES_IN_JOB);
    assert_hr(BG_E_TOO_MANY_FILES_IN_JOB, IBackgroundCopyJob_AddFileSet(full, 1, set));
    {
        IBackgroundCopyJob3 *job3;
        assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(full, &IID_IBackgroundCopyJob3, (void **)&job3));
        assert_hr(BG_E_TOO_MANY_FILES_IN_JOB,
                  IBackgroundCopyJob3_AddFileWithRanges(job3, L"http://127.0.0.1/r", local, 1, &range));
        IBackgroundCopyJob3_Release(job3);
    }
    assert_int_equal(file_count(full), 200);

    /* A set crossing the limit adds none of its files. */
    almost = create_job(S_OK);
    add_files(almost, 0, 199);
    assert_hr(BG_E_TOO_MANY_FILES_IN_JOB, IBackgroundCopyJob_AddFileSet(almost, 2, set));
    assert_int_equal(file_count(almost), 199);
    assert_hr(S_OK, IBackgroundCopyJob_AddFileSet(almost, 1, set));
    assert_int_equal(file_count(almost), 200);
    become_admin();
}

static void test_files_per_job_admin(void **state)
{
    IBackgroundCopyJob *job = create_job(S_OK);

    /* Administrators are exempt. */
    add_files(job, 0, 201);
    assert_int_equal(file_count(job), 201);
}

static void test_policy_machine_limit(void **state)
{
    /* MaxJobsPerMachine 5 below MaxJobsPerUser 10: the machine limit, checked first, counts
     * every unfinished job, an administrator's too. */
    create_jobs(2);
    become_user();
    create_jobs(3);
    create_job(BG_E_TOO_MANY_JOBS_PER_MACHINE);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(jobs[0]));
    create_job(S_OK);
    create_job(BG_E_TOO_MANY_JOBS_PER_MACHINE);
    become_admin();
    create_job(S_OK);
    assert_int_equal(queued_jobs(), 6);
    /* Files keep their default limit (jobs[2] is the user's first job). */
    become_user();
    add_files(jobs[2], 0, 200);
    add_file(jobs[2], 200, BG_E_TOO_MANY_FILES_IN_JOB);
    become_admin();
}

static void test_policy_machine_before_user(void **state)
{
    /* Both limits reached at once: the machine's is reported. */
    become_user();
    create_jobs(3);
    create_job(BG_E_TOO_MANY_JOBS_PER_MACHINE);
    become_admin();
}

static void test_policy_user_and_files(void **state)
{
    IBackgroundCopyJob *job;

    become_user();
    job = create_job(S_OK);
    create_jobs(2);
    create_job(BG_E_TOO_MANY_JOBS_PER_USER);
    add_files(job, 0, 4);
    add_file(job, 4, BG_E_TOO_MANY_FILES_IN_JOB);
    assert_int_equal(file_count(job), 4);
    /* Administrators are exempt from both. */
    become_admin();
    job = create_job(S_OK);
    add_files(job, 0, 5);
    assert_int_equal(file_count(job), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_restricted_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_per_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_per_user_across_managers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_per_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_per_job_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_machine_limit, setup_policy_machine, teardown),
        cmocka_unit_test_setup_teardown(test_policy_machine_before_user, setup_policy_equal, teardown),
        cmocka_unit_test_setup_teardown(test_policy_user_and_files, setup_policy_user, teardown),
    };
    return cmocka_run_group_tests_name("quota", tests, group_setup, group_teardown);
}
