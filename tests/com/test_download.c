/* SPDX-License-Identifier: MIT */
/* Downloads for real through openbits.dll (BITS-SPEC.md §3, §5, §6, §7): a client's job against
 * the loopback HTTP server (tests/servers/http_server.py) and against local files, with the
 * engine's own workers. Nothing sleeps: the test waits (bounded) for the job's JobTransferred or
 * JobError callback, which is what a BITS client does. Retries that need time to pass (the retry
 * delay) are the engine tests' business (tests/core/test_engine.c, with a fake clock); here a
 * transient error is retried with Resume ("retry now"). */
#include "callback.h"
#include "com_test.h"
#include "server.h"

#include <stdlib.h>

#define WAIT_MS 60000                       /* bound on any wait for a job */

static struct openbits_dll dll;
static struct test_server server;
static IBackgroundCopyManager *manager;
static WCHAR dir[MAX_PATH];                 /* a directory of our own for local files */

/* Waits for the job's JobTransferred (0) or JobError (1) callback. */
static int wait_for_job(struct callback *callback)
{
    HANDLE events[2] = { callback->transferred, callback->error };
    int result = pump_wait(2, events);

    if (result < 0)
    {
        char *journal = test_server_journal(&server);
        fprintf(stderr, "journal:\n%s\n", journal ? journal : "(none)");
        free(journal);
        fail_msg("the job neither transferred nor failed within %u ms", WAIT_MS);
    }
    return result;
}


/* --- helpers ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_download.d", dir, ARRAYSIZE(dir));
    if (!test_server_start(&server)) return -1;
    return 0;
}

static int group_teardown(void **state)
{
    test_server_stop(&server);
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    return test_manager_open(&dll, &CLSID_BackgroundCopyManager, &manager);
}

static int teardown(void **state)
{
    return test_manager_close(&dll, &manager);
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

static IBackgroundCopyJob *new_job(struct callback *callback)
{
    BITS_JOB_PROPERTY_VALUE value;
    IBackgroundCopyJob5 *job5;
    IBackgroundCopyJob *job;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"download", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    if (callback)
    {
        assert_hr(S_OK, IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback->IBackgroundCopyCallback2_iface));
        assert_hr(S_OK, IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR
                                                          | BG_NOTIFY_FILE_TRANSFERRED | BG_NOTIFY_JOB_MODIFICATION));
        /* Every modification reaches us: the test waits on them for states. */
        assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob5, (void **)&job5));
        memset(&value, 0, sizeof(value));
        assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job5, BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, value));
        IBackgroundCopyJob5_Release(job5);
    }
    return job;
}

static void add_server_file(IBackgroundCopyJob *job, const WCHAR *path, const WCHAR *name, WCHAR *local)
{
    WCHAR url[512];

    test_server_url(&server, path, url, ARRAYSIZE(url));
    local_path(name, local);
    DeleteFileW(local);
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(job, url, local));
}

/* TRUE when the file holds exactly size bytes of the server's content. */
static BOOL file_has_content(const WCHAR *path, ULONGLONG size)
{
    HANDLE file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    static BYTE buffer[65536];
    ULONGLONG offset = 0;
    LARGE_INTEGER length;
    DWORD read;
    BOOL ok = TRUE;

    if (file == INVALID_HANDLE_VALUE) return FALSE;
    if (!GetFileSizeEx(file, &length) || (ULONGLONG)length.QuadPart != size) ok = FALSE;
    while (ok && ReadFile(file, buffer, sizeof(buffer), &read, NULL) && read)
    {
        if (!test_server_content_matches(offset, buffer, read)) ok = FALSE;
        offset += read;
    }
    CloseHandle(file);
    return ok && offset == size;
}

static BG_JOB_STATE state_of(IBackgroundCopyJob *job)
{
    return test_job_state(job);
}

/* No BIT*.tmp is left in our directory. */
static void assert_no_temporary_files(void)
{
    WIN32_FIND_DATAW data;
    WCHAR pattern[MAX_PATH];
    HANDLE find;

    swprintf(pattern, MAX_PATH, L"%ls\\BIT*.tmp", dir);
    find = FindFirstFileW(pattern, &data);
    if (find != INVALID_HANDLE_VALUE)
    {
        FindClose(find);
        fail_msg("a temporary file is left: %ls", data.cFileName);
    }
}

/* --- tests ---------------------------------------------------------------------------------- */

static void download_sizes(ULONGLONG size)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    BG_JOB_PROGRESS progress;
    WCHAR path[64], local[MAX_PATH];

    callback_init(&callback);
    job = new_job(&callback);
    swprintf(path, ARRAYSIZE(path), L"/file/%llu", size);
    add_server_file(job, path, L"sized.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(state_of(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob_GetProgress(job, &progress));
    assert_int_equal(progress.BytesTotal, size);
    assert_int_equal(progress.BytesTransferred, size);
    assert_int_equal(progress.FilesTransferred, 1);
    assert_int_equal(callback.files, 1);
    assert_false(file_has_content(local, size));     /* not before Complete */
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(local, size));
    assert_no_temporary_files();
    /* The server's time (http_server.py's default Last-Modified: 2023-11-14T22:13:20Z). */
    {
        WIN32_FILE_ATTRIBUTE_DATA data;
        SYSTEMTIME time;
        assert_true(GetFileAttributesExW(local, GetFileExInfoStandard, &data));
        FileTimeToSystemTime(&data.ftLastWriteTime, &time);
        assert_int_equal(time.wYear, 2023);
        assert_int_equal(time.wMonth, 11);
        assert_int_equal(time.wDay, 14);
    }
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

static void test_small_file(void **state)
{
    download_sizes(1000);
}

static void test_empty_file(void **state)
{
    download_sizes(0);
}

static void test_large_file(void **state)
{
    download_sizes(64ull << 20);
}

static void test_files_in_order(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR locals[3][MAX_PATH];
    char *journal, *first, *second, *third;

    callback_init(&callback);
    job = new_job(&callback);
    add_server_file(job, L"/file/3000?name=order-a", L"a.bin", locals[0]);
    add_server_file(job, L"/file/2000?name=order-b", L"b.bin", locals[1]);
    add_server_file(job, L"/file/1000?name=order-c", L"c.bin", locals[2]);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(callback.files, 3);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(locals[0], 3000));
    assert_true(file_has_content(locals[1], 2000));
    assert_true(file_has_content(locals[2], 1000));

    /* The server saw them in the order they were added. */
    journal = test_server_journal(&server);
    assert_non_null(journal);
    first = strstr(journal, "order-a");
    second = strstr(journal, "order-b");
    third = strstr(journal, "order-c");
    assert_true(first && second && third && first < second && second < third);
    free(journal);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
}

static void test_not_found(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    IBackgroundCopyError *error;
    IBackgroundCopyFile *file;
    BG_ERROR_CONTEXT context;
    WCHAR local[MAX_PATH], *protocol;
    HRESULT code;

    callback_init(&callback);
    job = new_job(&callback);
    add_server_file(job, L"/status/404", L"missing.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 1);
    assert_hr(BG_E_HTTP_ERROR_404, callback.error_code);
    assert_int_equal(callback.error_context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_int_equal(state_of(job), BG_JOB_STATE_ERROR);
    assert_hr(S_OK, IBackgroundCopyJob_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
    assert_hr(BG_E_HTTP_ERROR_404, code);
    assert_hr(S_OK, IBackgroundCopyError_GetFile(error, &file));
    IBackgroundCopyFile_Release(file);
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &protocol));
    assert_true(!wcscmp(protocol, L"http"));
    CoTaskMemFree(protocol);
    IBackgroundCopyError_Release(error);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_no_temporary_files();
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
}

/* 503 is transient: TRANSIENT_ERROR (no JobError), and Resume retries at once. */
static void test_transient_then_resume(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];
    ULONG errors;

    callback_init(&callback);
    job = new_job(&callback);
    add_server_file(job, L"/file/5000?fail_times=1&key=transient-once", L"transient.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_state(job, &callback, BG_JOB_STATE_TRANSIENT_ERROR, BG_JOB_STATE_ERROR),
                     BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(WaitForSingleObject(callback.error, 0), WAIT_TIMEOUT);   /* no JobError */
    assert_hr(S_OK, IBackgroundCopyJob_GetErrorCount(job, &errors));
    assert_int_equal(errors, 1);

    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(local, 5000));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
}

/* A connection that breaks mid-body, once (after 700,000 bytes): the job resumes from where it
 * was (a Range request), and the file ends up whole. Under Wine 8 a reset shows up in three ways
 * (an early end of the body, WSAECONNRESET, or a failed request: tests/servers/README.md); each
 * is a transient error the Resume retries. */
static void resume_after_break(const WCHAR *path)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];
    char *journal;

    callback_init(&callback);
    job = new_job(&callback);
    add_server_file(job, path, L"reset.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    if (wait_for_state(job, &callback, BG_JOB_STATE_TRANSIENT_ERROR, BG_JOB_STATE_TRANSFERRED)
            == BG_JOB_STATE_TRANSIENT_ERROR)
        assert_hr(S_OK, IBackgroundCopyJob_Resume(job));     /* retry now */
    assert_int_equal(wait_for_job(&callback), 0);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(local, 2000000));
    journal = test_server_journal(&server);
    assert_non_null(journal);
    assert_non_null(strstr(journal, "bytes="));      /* the second request asked for the rest */
    free(journal);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
}

static void test_resume_after_reset(void **state)
{
    resume_after_break(L"/file/2000000?cut_times=1&reset_after=700000&key=reset-once");
}

static void test_resume_after_close(void **state)
{
    resume_after_break(L"/file/2000000?cut_times=1&close_after=700000&key=close-once");
}

static void test_cancel_leaves_nothing(void **state)
{
    IBackgroundCopyJob *job = new_job(NULL);
    WCHAR local[MAX_PATH];

    add_server_file(job, L"/file/50000000?slow=2000000", L"slow.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(state_of(job), BG_JOB_STATE_CANCELLED);
    assert_no_temporary_files();
    assert_false(GetFileAttributesW(local) != INVALID_FILE_ATTRIBUTES);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
}

static void test_local_sources(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR source[MAX_PATH], url[MAX_PATH + 16], local1[MAX_PATH], local2[MAX_PATH];
    HANDLE file;
    DWORD written;

    local_path(L"source.txt", source);
    file = CreateFileW(source, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(file, "local source", 12, &written, NULL));
    CloseHandle(file);

    callback_init(&callback);
    job = new_job(&callback);
    local_path(L"copy1.txt", local1);
    local_path(L"copy2.txt", local2);
    swprintf(url, ARRAYSIZE(url), L"file://%ls", source);
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(job, source, local1));
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(job, url, local2));
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(GetFileAttributesW(local1) & FILE_ATTRIBUTE_HIDDEN, 0);
    {
        char buffer[32] = { 0 };
        DWORD read;
        file = CreateFileW(local2, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
        assert_true(file != INVALID_HANDLE_VALUE);
        ReadFile(file, buffer, sizeof(buffer) - 1, &read, NULL);
        CloseHandle(file);
        assert_string_equal(buffer, "local source");
    }
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local1);
    DeleteFileW(local2);
    DeleteFileW(source);
}

static void test_custom_headers_and_credentials(void **state)
{
    struct callback callback;
    IBackgroundCopyJobHttpOptions *options;
    BG_AUTH_CREDENTIALS credentials;
    IBackgroundCopyJob2 *job2;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];
    char *journal;

    callback_init(&callback);
    job = new_job(&callback);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&options));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions_SetCustomHeaders(options, L"X-Openbits-Test: hello\r\n"));
    IBackgroundCopyJobHttpOptions_Release(options);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2));
    memset(&credentials, 0, sizeof(credentials));
    credentials.Target = BG_AUTH_TARGET_SERVER;
    credentials.Scheme = BG_AUTH_SCHEME_BASIC;
    credentials.Credentials.Basic.UserName = (WCHAR *)L"alice";
    credentials.Credentials.Basic.Password = (WCHAR *)L"secret";
    assert_hr(S_OK, IBackgroundCopyJob2_SetCredentials(job2, &credentials));
    IBackgroundCopyJob2_Release(job2);
    add_server_file(job, L"/auth/basic/alice/secret/file/1234", L"auth.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(local, 1234));
    journal = test_server_journal(&server);
    assert_non_null(journal);
    assert_non_null(strstr(journal, "X-Openbits-Test"));
    free(journal);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* A JobTransferred that fails is called again later until it answers S_OK (§7.3). */
static void test_failed_callback_called_again(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];

    callback_init(&callback);
    callback.fail_transferred = 1;
    job = new_job(&callback);
    add_server_file(job, L"/file/100?name=again", L"again.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(callback.transferred_calls, 2);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* With no notify interface, the notify command line runs when the job is transferred: this
 * program, started again with "signal <event>", sets a named event. */
static void test_command_line(void **state)
{
    WCHAR program[MAX_PATH], parameters[MAX_PATH + 64], name[64], local[MAX_PATH];
    IBackgroundCopyJob2 *job2;
    IBackgroundCopyJob *job;
    HANDLE signalled;

    swprintf(name, ARRAYSIZE(name), L"openbits-test-cmdline-%lu", GetCurrentProcessId());
    signalled = CreateEventW(NULL, TRUE, FALSE, name);
    GetModuleFileNameW(NULL, program, ARRAYSIZE(program));
    swprintf(parameters, ARRAYSIZE(parameters), L"\"%ls\" signal %ls", program, name);
    job = new_job(NULL);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2));
    assert_hr(S_OK, IBackgroundCopyJob2_SetNotifyCmdLine(job2, program, parameters));
    IBackgroundCopyJob2_Release(job2);
    add_server_file(job, L"/file/100?name=cmdline", L"cmdline.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(WaitForSingleObject(signalled, WAIT_MS), WAIT_OBJECT_0);
    assert_int_equal(state_of(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    CloseHandle(signalled);
    DeleteFileW(local);
}

/* An STA client gets its callbacks on its own thread, through its message loop. */
static DWORD WINAPI sta_client(void *arg)
{
    struct callback *callback = arg;
    IBackgroundCopyManager *sta_manager;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];
    GUID id;
    int result;

    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&sta_manager));
    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(sta_manager, L"sta", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    assert_hr(S_OK, IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback->IBackgroundCopyCallback2_iface));
    add_server_file(job, L"/file/4096?name=sta", L"sta.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    result = wait_for_job(callback);
    assert_int_equal(result, 0);
    assert_int_equal(callback->thread, GetCurrentThreadId());
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyManager_Release(sta_manager);
    /* As a client should before it leaves its apartment: keep the message loop going until
     * the job has let the callback go (the release reaches this thread through it). */
    if (pump_wait(1, &callback->released) < 0) fail_msg("no release within %u ms", WAIT_MS);
    DeleteFileW(local);
    CoUninitialize();
    return 0;
}

static void test_sta_callbacks(void **state)
{
    struct callback callback;
    HANDLE thread;

    callback_init(&callback);
    thread = CreateThread(NULL, 0, sta_client, &callback, 0, NULL);
    assert_int_equal(WaitForSingleObject(thread, WAIT_MS + 10000), WAIT_OBJECT_0);
    CloseHandle(thread);
    callback_cleanup(&callback);
}

int main(int argc, char **argv)
{
    /* Started as a job's notify command line: "signal <event name>". */
    if (argc == 3 && !strcmp(argv[1], "signal"))
    {
        HANDLE event = OpenEventA(EVENT_MODIFY_STATE, FALSE, argv[2]);
        if (!event) return 1;
        SetEvent(event);
        CloseHandle(event);
        return 0;
    }
    if (argc == 2) cmocka_set_test_filter(argv[1]);     /* one test by name, for debugging */
    {
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_small_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_then_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_headers_and_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sta_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_callback_called_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_line, setup, teardown),
    };
    return cmocka_run_group_tests_name("download", tests, group_setup, group_teardown);
    }
}
