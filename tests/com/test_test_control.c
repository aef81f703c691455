/* SPDX-License-Identifier: MIT */
/* IOpenBitsTestControl, the test double (docs/test-double.md), through openbits.dll's real
 * engine and workers: each behaviour of the scripted network, virtual time (retry delay,
 * no-progress timeout, maximum download time, throttling) finishing at once, the journal of a
 * multi-file job with a resume, Reset, scenario files (LoadScenario and the registry value:
 * valid, invalid, missing, with the message in the trace), and the interface refused when the
 * double is not enabled. Nothing sleeps: the tests wait with RunUntilIdle / WaitForJobState. */
#include "com_test.h"
#include "openbits.h"

#include <stdlib.h>

#define WAIT_MS 30000

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IOpenBitsTestControl *control;
static WCHAR dir[MAX_PATH];

/* --- the trace: OutputDebugStringA raises DBG_PRINTEXCEPTION_C, seen here first --------------- */

static char trace[8192];
static LONG trace_len;

static LONG CALLBACK trace_handler(EXCEPTION_POINTERS *info)
{
    EXCEPTION_RECORD *record = info->ExceptionRecord;

    if (record->ExceptionCode == DBG_PRINTEXCEPTION_C && record->NumberParameters >= 2)
    {
        const char *text = (const char *)record->ExceptionInformation[1];
        size_t len = strlen(text);
        if (trace_len + len + 1 < sizeof(trace))
        {
            memcpy(trace + trace_len, text, len + 1);
            trace_len += (LONG)len;
        }
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

/* --- helpers ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_test_control.d", dir, ARRAYSIZE(dir));
    AddVectoredExceptionHandler(1, trace_handler);
    return 0;
}

static int group_teardown(void **state)
{
    RemoveVectoredExceptionHandler(trace_handler);
    dll.DllInstall(FALSE, L"testdouble");
    return com_group_teardown(&dll);
}

static void open_manager(void)
{
    test_manager_open(&dll, &CLSID_BackgroundCopyManager, &manager);
    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(manager, &IID_IOpenBitsTestControl, (void **)&control));
}

static void close_manager(void)
{
    IOpenBitsTestControl_Release(control);
    control = NULL;
    test_manager_close(&dll, &manager);
}

static int setup(void **state)
{
    assert_hr(S_OK, dll.DllInstall(TRUE, L"testdouble"));
    open_manager();
    return 0;
}

static int teardown(void **state)
{
    DWORD count = 1;

    /* Each test starts clean: Reset leaves no job, rule or journal entry. */
    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalCount(control, &count));
    assert_int_equal(count, 0);
    close_manager();
    return 0;
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

static DWORD add_rule(const OPENBITS_RULE *rule)
{
    DWORD id = 0;

    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, rule, &id));
    assert_int_not_equal(id, 0);
    return id;
}

/* A download job with one file per (url, name) pair, resumed; retry delay 60 s. */
static IBackgroundCopyJob5 *start_job(GUID *id, const WCHAR *url, const WCHAR *name)
{
    IBackgroundCopyJob5 *job = test_create_job(manager, L"double", BG_JOB_TYPE_DOWNLOAD);
    WCHAR local[MAX_PATH];

    local_path(name, local);
    DeleteFileW(local);
    assert_hr(S_OK, IBackgroundCopyJob5_GetId(job, id));
    assert_hr(S_OK, IBackgroundCopyJob5_SetMinimumRetryDelay(job, 60));
    if (url)
    {
        assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, url, local));
        assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    }
    return job;
}

static BG_JOB_STATE wait_state(const GUID *id, BG_JOB_STATE state)
{
    BG_JOB_STATE reached = -1;

    assert_hr(S_OK, IOpenBitsTestControl_WaitForJobState(control, id, state, WAIT_MS, &reached));
    assert_int_equal(reached, state);
    return reached;
}

static void get_error(IBackgroundCopyJob5 *job, BG_ERROR_CONTEXT *context, HRESULT *code)
{
    IBackgroundCopyError *error;

    assert_hr(S_OK, IBackgroundCopyJob5_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, context, code));
    IBackgroundCopyError_Release(error);
}

static BOOL file_is(const WCHAR *name, const BYTE *expected, DWORD size, BOOL formula)
{
    WCHAR path[MAX_PATH];
    BYTE *data = malloc(size + 1);
    HANDLE file;
    DWORD read = 0, i;
    BOOL same;

    local_path(name, path);
    file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (file == INVALID_HANDLE_VALUE) return FALSE;
    ReadFile(file, data, size + 1, &read, NULL);
    CloseHandle(file);
    same = read == size;
    for (i = 0; same && i < size; ++i)
        same = data[i] == (formula ? (BYTE)((((i % 65521) * 2654435761u) >> 16) + i / 65521) : expected[i]);
    free(data);
    return same;
}

static BOOL wide_contains(const WCHAR *haystack, const WCHAR *needle)
{
    return haystack && wcsstr(haystack, needle) != NULL;
}

static void get_entry(DWORD index, OPENBITS_REQUEST *entry)
{
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalEntry(control, index, entry));
}

static DWORD journal_count(void)
{
    DWORD count = 0;

    assert_hr(S_OK, IOpenBitsTestControl_GetJournalCount(control, &count));
    return count;
}

static void write_text(const WCHAR *path, const char *text)
{
    HANDLE file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD written;

    assert_true(file != INVALID_HANDLE_VALUE);
    WriteFile(file, text, (DWORD)strlen(text), &written, NULL);
    CloseHandle(file);
}

/* --- tests ---------------------------------------------------------------------------------- */

static void test_refused_when_not_enabled(void **state)
{
    IOpenBitsTestControl *other = (IOpenBitsTestControl *)0xdeadbeef;

    /* The test's own manager goes; with the switch off, a new service has no double. */
    close_manager();
    assert_hr(S_OK, dll.DllInstall(FALSE, L"testdouble"));
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&manager));
    assert_hr(E_NOINTERFACE, IBackgroundCopyManager_QueryInterface(manager, &IID_IOpenBitsTestControl, (void **)&other));
    assert_null(other);
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    assert_no_live_objects(&dll);

    /* A bad option changes nothing. */
    assert_hr(E_INVALIDARG, dll.DllInstall(TRUE, L"testdouble="));
    assert_hr(S_OK, dll.DllInstall(TRUE, L"testdouble"));
    open_manager();
    check_interface(control, IID_IBackgroundCopyManager, TRUE);
    check_interface(manager, IID_IOpenBitsTestControl, TRUE);
}

static void test_arguments(void **state)
{
    OPENBITS_RULE rule = { 0 };
    OPENBITS_TIME_MODE mode;
    OPENBITS_REQUEST entry;
    BG_JOB_STATE reached;
    GUID unknown = { 1, 0, 0, { 0 } };
    DWORD id = 5;
    UINT64 now;

    assert_hr(E_INVALIDARG, IOpenBitsTestControl_SetTimeMode(control, 2));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_GetTimeMode(control, NULL));
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_REAL);
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_GetTime(control, NULL));
    assert_hr(S_OK, IOpenBitsTestControl_GetTime(control, &now));
    assert_hr(HRESULT_FROM_WIN32(ERROR_INVALID_STATE), IOpenBitsTestControl_AdvanceTime(control, 1000));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_AddRule(control, NULL, &id));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_AddRule(control, &rule, NULL));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_AddRule(control, &rule, &id));    /* no pattern */
    assert_int_equal(id, 0);
    rule.pattern = (WCHAR *)L"http://h/";
    rule.action = OPENBITS_ACTION_STATUS;
    rule.status = 200;
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_AddRule(control, &rule, &id));
    rule.action = OPENBITS_ACTION_SERVE;
    rule.content_file = (WCHAR *)L"C:\\no\\such\\file";
    assert_hr(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), IOpenBitsTestControl_AddRule(control, &rule, &id));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_RemoveRule(control, 12345));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_SetUnmatched(control, 2, E_FAIL));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_FAIL, S_OK));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_WaitForJobState(control, NULL, BG_JOB_STATE_ERROR, 0, &reached));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_WaitForJobState(control, &unknown, 99, 0, &reached));
    assert_hr(BG_E_NOT_FOUND, IOpenBitsTestControl_WaitForJobState(control, &unknown, BG_JOB_STATE_ERROR, 0, &reached));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_GetJournalCount(control, NULL));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_GetJournalEntry(control, 0, NULL));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_GetJournalEntry(control, 0, &entry));
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_LoadScenario(control, NULL));
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, 0));
}

static void test_serve_content(void **state)
{
    static const BYTE hello[] = "hello, double";
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyFile5 *file5;
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    BITS_FILE_PROPERTY_VALUE value;
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    GUID id;

    rule.pattern = (WCHAR *)L"http://double.test/hello.txt";
    rule.content = (BYTE *)hello;
    rule.content_size = sizeof(hello) - 1;
    rule.headers = (WCHAR *)L"X-Served-By: openbits";
    add_rule(&rule);

    job = start_job(&id, L"http://double.test/hello.txt", L"hello.txt");
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);

    /* The response headers the rule gave. */
    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL));
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile5, (void **)&file5));
    assert_hr(S_OK, IBackgroundCopyFile5_GetProperty(file5, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, &value));
    assert_true(wide_contains(value.String, L"X-Served-By: openbits\r\n"));
    assert_true(wide_contains(value.String, L"Content-Length: 13\r\n"));
    CoTaskMemFree(value.String);
    IBackgroundCopyFile5_Release(file5);
    IBackgroundCopyFile_Release(file);
    IEnumBackgroundCopyFiles_Release(files);

    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_is(L"hello.txt", hello, sizeof(hello) - 1, FALSE));
    IBackgroundCopyJob5_Release(job);

    assert_int_equal(journal_count(), 1);
    get_entry(0, &entry);
    assert_true(!wcscmp(entry.verb, L"GET"));
    assert_true(!wcscmp(entry.url, L"http://double.test/hello.txt"));
    assert_null(entry.headers);
    assert_int_equal(entry.offset, 0);
    assert_true(entry.length == BG_LENGTH_TO_EOF);
    assert_int_equal(entry.rule, 1);
    assert_hr(S_OK, entry.result);
    assert_int_equal(entry.bytes, 13);
    OpenBitsFreeRequest(&entry);
}

static void test_status_404(void **state)
{
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    BG_ERROR_CONTEXT context;
    HRESULT code;
    GUID id;

    rule.pattern = (WCHAR *)L"http://double.test/missing";
    rule.action = OPENBITS_ACTION_STATUS;
    rule.status = 404;
    add_rule(&rule);
    job = start_job(&id, L"http://double.test/missing", L"missing");
    wait_state(&id, BG_JOB_STATE_ERROR);
    get_error(job, &context, &code);
    assert_hr(BG_E_HTTP_ERROR_404, code);
    assert_int_equal(context, BG_ERROR_CONTEXT_REMOTE_FILE);
    test_drop_job(job);
}

static void test_transport_errors(void **state)
{
    static const HRESULT errors[] =
    {
        HRESULT_FROM_WIN32(12029),        /* cannot connect */
        HRESULT_FROM_WIN32(12007),        /* name not resolved */
        HRESULT_FROM_WIN32(12002),        /* timeout */
        HRESULT_FROM_WIN32(12175),        /* TLS */
    };
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    BG_ERROR_CONTEXT context;
    HRESULT code;
    unsigned int i;
    GUID id;

    rule.pattern = (WCHAR *)L"http://down.test/";
    rule.match = OPENBITS_MATCH_PREFIX;
    rule.action = OPENBITS_ACTION_FAIL;
    for (i = 0; i < ARRAYSIZE(errors); ++i)
    {
        rule.error = errors[i];
        rule.times = 1;
        add_rule(&rule);
        job = start_job(&id, L"http://down.test/f", L"down");
        wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
        get_error(job, &context, &code);
        assert_hr(errors[i], code);
        assert_int_equal(context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
        test_drop_job(job);
    }
}

/* "Fail twice, then succeed" is one limited rule before a general one; the retries come when
 * virtual time passes the retry delay, not before. */
static void test_503_twice_then_success(void **state)
{
    OPENBITS_RULE busy = { 0 }, serve = { 0 };
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    BG_JOB_STATE reached;
    DWORD busy_id, serve_id, i;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    busy.pattern = serve.pattern = (WCHAR *)L"http://double.test/busy";
    busy.action = OPENBITS_ACTION_STATUS;
    busy.status = 503;
    busy.times = 2;
    busy_id = add_rule(&busy);
    serve.size = 100000;
    serve_id = add_rule(&serve);

    job = start_job(&id, L"http://double.test/busy", L"busy");
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    /* Idle in virtual time: waiting longer changes nothing. */
    assert_hr(OPENBITS_E_IDLE, IOpenBitsTestControl_WaitForJobState(control, &id, BG_JOB_STATE_TRANSFERRED, WAIT_MS, &reached));
    assert_int_equal(reached, BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 59999));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(journal_count(), 1);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(journal_count(), 2);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 60000));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_is(L"busy", NULL, 100000, TRUE));
    IBackgroundCopyJob5_Release(job);

    assert_int_equal(journal_count(), 3);
    for (i = 0; i < 3; ++i)
    {
        get_entry(i, &entry);
        assert_int_equal(entry.rule, i < 2 ? busy_id : serve_id);
        assert_hr(i < 2 ? BG_E_HTTP_ERROR_503 : S_OK, entry.result);
        OpenBitsFreeRequest(&entry);
    }
}

static void test_no_progress_timeout(void **state)
{
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    BG_ERROR_CONTEXT context;
    WCHAR local[MAX_PATH];
    HRESULT code;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    rule.pattern = (WCHAR *)L"http://down.test/f";
    rule.action = OPENBITS_ACTION_FAIL;
    rule.error = HRESULT_FROM_WIN32(12029);
    add_rule(&rule);
    job = start_job(&id, NULL, L"down");
    assert_hr(S_OK, IBackgroundCopyJob5_SetNoProgressTimeout(job, 300));
    local_path(L"down", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://down.test/f", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 299999));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_ERROR);
    get_error(job, &context, &code);
    assert_hr(HRESULT_FROM_WIN32(12029), code);
    /* The first try and one retry a minute before the five minutes ran out. */
    assert_int_equal(journal_count(), 5);
    test_drop_job(job);
}

static void test_max_download_time_and_throttle(void **state)
{
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    BG_JOB_PROGRESS progress;
    BG_ERROR_CONTEXT context;
    WCHAR local[MAX_PATH];
    HRESULT code;
    GUID id, id2;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    rule.pattern = (WCHAR *)L"http://slow.test/*";
    rule.match = OPENBITS_MATCH_WILDCARD;
    rule.size = 3000;
    rule.bytes_per_second = 1000;
    add_rule(&rule);

    /* 3000 bytes at 1000 per second: 3 s of virtual time. */
    job = start_job(&id, L"http://slow.test/a", L"slow-a");
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 2000));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRING);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_int_equal(progress.BytesTransferred, 2000);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1000));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    test_drop_job(job);

    /* With two seconds to do it in: BG_E_MAXDOWNLOAD_TIMEOUT when the second is up. */
    job = start_job(&id2, NULL, L"slow-b");
    assert_hr(S_OK, IBackgroundCopyJob5_SetMaximumDownloadTime(job, 2));
    local_path(L"slow-b", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://slow.test/b", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1999));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRING);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_ERROR);
    get_error(job, &context, &code);
    assert_hr(BG_E_MAXDOWNLOAD_TIMEOUT, code);
    test_drop_job(job);
}

/* Two files; the first connection resets after 1000 bytes, the retry resumes with a range. The
 * journal has every request in order with its headers and ranges. */
static void test_journal_of_resumed_job(void **state)
{
    OPENBITS_RULE reset = { 0 }, serve = { 0 };
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    WCHAR local[MAX_PATH];
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    reset.pattern = (WCHAR *)L"http://double.test/one";
    reset.size = 5000;
    reset.reset_after = 1000;
    reset.times = 1;
    add_rule(&reset);
    serve.pattern = (WCHAR *)L"http://double.test/";
    serve.match = OPENBITS_MATCH_PREFIX;
    serve.size = 5000;
    add_rule(&serve);

    job = start_job(&id, NULL, L"one");
    {
        IBackgroundCopyJobHttpOptions *options;
        assert_hr(S_OK, IBackgroundCopyJob5_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&options));
        assert_hr(S_OK, IBackgroundCopyJobHttpOptions_SetCustomHeaders(options, L"X-Client: test"));
        IBackgroundCopyJobHttpOptions_Release(options);
    }
    local_path(L"one", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://double.test/one", local));
    local_path(L"two", local);
    DeleteFileW(local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://double.test/two", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 60000));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_is(L"one", NULL, 5000, TRUE));
    assert_true(file_is(L"two", NULL, 5000, TRUE));
    IBackgroundCopyJob5_Release(job);

    assert_int_equal(journal_count(), 3);
    get_entry(0, &entry);
    assert_true(!wcscmp(entry.url, L"http://double.test/one"));
    assert_true(!wcscmp(entry.headers, L"X-Client: test\r\n"));
    assert_int_equal(entry.offset, 0);
    assert_int_equal(entry.bytes, 1000);
    assert_hr(HRESULT_FROM_WIN32(12030), entry.result);
    OpenBitsFreeRequest(&entry);
    get_entry(1, &entry);
    assert_true(!wcscmp(entry.url, L"http://double.test/one"));
    assert_true(wide_contains(entry.headers, L"X-Client: test\r\nRange: bytes=1000-\r\n"));
    assert_int_equal(entry.offset, 1000);
    assert_true(entry.length == BG_LENGTH_TO_EOF);
    assert_int_equal(entry.bytes, 4000);
    assert_int_equal(entry.rule, 2);
    OpenBitsFreeRequest(&entry);
    get_entry(2, &entry);
    assert_true(!wcscmp(entry.url, L"http://double.test/two"));
    assert_int_equal(entry.offset, 0);
    assert_int_equal(entry.bytes, 5000);
    OpenBitsFreeRequest(&entry);

    assert_hr(S_OK, IOpenBitsTestControl_ClearJournal(control));
    assert_int_equal(journal_count(), 0);
}

static void test_unmatched(void **state)
{
    static const char text[] = "a local source";
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    BG_ERROR_CONTEXT context;
    WCHAR source[MAX_PATH];
    HRESULT code;
    GUID id;

    /* By default the real transport: a local file is copied, and journaled without a rule. */
    local_path(L"source.txt", source);
    write_text(source, text);
    job = start_job(&id, source, L"copy.txt");
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_is(L"copy.txt", (const BYTE *)text, sizeof(text) - 1, FALSE));
    IBackgroundCopyJob5_Release(job);
    get_entry(0, &entry);
    assert_int_equal(entry.rule, 0);
    assert_hr(S_OK, entry.result);
    assert_int_equal(entry.bytes, sizeof(text) - 1);
    OpenBitsFreeRequest(&entry);

    /* Or a failure of the test's choosing. */
    assert_hr(S_OK, IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_FAIL, HRESULT_FROM_WIN32(12007)));
    job = start_job(&id, L"http://nowhere.test/f", L"nowhere");
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    get_error(job, &context, &code);
    assert_hr(HRESULT_FROM_WIN32(12007), code);
    test_drop_job(job);
}

static void test_reset(void **state)
{
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *jobs[2];
    IEnumBackgroundCopyJobs *enumerator;
    OPENBITS_TIME_MODE mode;
    WIN32_FIND_DATAW find;
    WCHAR pattern[MAX_PATH];
    HANDLE handle;
    ULONG count;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    rule.pattern = (WCHAR *)L"http://slow.test/";
    rule.match = OPENBITS_MATCH_PREFIX;
    rule.size = 100000;
    rule.bytes_per_second = 10000;
    add_rule(&rule);
    /* One job half way (a temporary file on disk), one suspended. */
    jobs[0] = start_job(&id, L"http://slow.test/r", L"reset-a");
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 5000));
    assert_int_equal(test_job_state(jobs[0]), BG_JOB_STATE_TRANSFERRING);
    jobs[1] = start_job(&id, NULL, L"reset-b");

    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    assert_int_equal(test_job_state(jobs[0]), BG_JOB_STATE_CANCELLED);
    assert_int_equal(test_job_state(jobs[1]), BG_JOB_STATE_CANCELLED);
    IBackgroundCopyJob5_Release(jobs[0]);
    IBackgroundCopyJob5_Release(jobs[1]);
    assert_hr(S_OK, IBackgroundCopyManager_EnumJobs(manager, 0, &enumerator));
    assert_hr(S_OK, IEnumBackgroundCopyJobs_GetCount(enumerator, &count));
    assert_int_equal(count, 0);
    IEnumBackgroundCopyJobs_Release(enumerator);
    assert_int_equal(journal_count(), 0);
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_REAL);
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_RemoveRule(control, 1));       /* no rule left */
    local_path(L"BIT*.tmp", pattern);
    handle = FindFirstFileW(pattern, &find);
    assert_true(handle == INVALID_HANDLE_VALUE);
}

static void test_scenario_file(void **state)
{
    OPENBITS_TIME_MODE mode;
    IBackgroundCopyJob5 *job;
    BG_ERROR_CONTEXT context;
    WCHAR path[MAX_PATH], missing[MAX_PATH];
    HRESULT code;
    GUID job_id;

    local_path(L"good.ini", path);
    write_text(path,
        "; a scenario\r\n"
        "[openbits]\r\n"
        "time = virtual\r\n"
        "[busy once]\r\n"
        "url = http://double.test/s\r\n"
        "times = 1\r\n"
        "status = 503\r\n"
        "[then the file]\r\n"
        "url = http://double.test/s\r\n"
        "content = from the scenario\r\n");
    assert_hr(S_OK, IOpenBitsTestControl_LoadScenario(control, path));
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_VIRTUAL);
    job = start_job(&job_id, L"http://double.test/s", L"scenario");
    wait_state(&job_id, BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 60000));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_is(L"scenario", (const BYTE *)"from the scenario", 17, FALSE));
    IBackgroundCopyJob5_Release(job);

    /* A bad one: refused, said in the trace, nothing changed (the rules are still there). */
    local_path(L"bad.ini", path);
    write_text(path, "[oops]\r\nurl = http://double.test/x\r\nstatus = 99999\r\n");
    trace_len = 0;
    trace[0] = 0;
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_LoadScenario(control, path));
    assert_non_null(strstr(trace, "[oops] status: must be an HTTP status"));
    assert_non_null(strstr(trace, "nothing was changed"));
    assert_hr(S_OK, IOpenBitsTestControl_RemoveRule(control, 2));

    /* A missing one. */
    local_path(L"missing.ini", missing);
    trace_len = 0;
    assert_hr(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), IOpenBitsTestControl_LoadScenario(control, missing));
    assert_non_null(strstr(trace, "cannot be read"));

    /* Through the registry: a new service reads it. */
    local_path(L"registry.ini", path);
    write_text(path, "[openbits]\r\ntime=virtual\r\n[gone]\r\nurl=http://double.test/gone\r\nstatus=410\r\n");
    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    close_manager();
    swprintf(missing, MAX_PATH, L"testdouble=%ls", path);
    assert_hr(S_OK, dll.DllInstall(TRUE, missing));
    open_manager();
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_VIRTUAL);
    job = start_job(&job_id, L"http://double.test/gone", L"gone");
    wait_state(&job_id, BG_JOB_STATE_ERROR);
    get_error(job, &context, &code);
    assert_hr(BG_E_HTTP_ERROR_410, code);
    test_drop_job(job);

    /* A bad one in the registry: the service starts without it, and says why. */
    local_path(L"bad.ini", path);
    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    close_manager();
    swprintf(missing, MAX_PATH, L"testdouble=%ls", path);
    assert_hr(S_OK, dll.DllInstall(TRUE, missing));
    trace_len = 0;
    trace[0] = 0;
    open_manager();
    assert_non_null(strstr(trace, "[oops] status: must be an HTTP status"));
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_REAL);
    assert_hr(E_INVALIDARG, IOpenBitsTestControl_RemoveRule(control, 1));
    assert_hr(S_OK, dll.DllInstall(TRUE, L"testdouble"));       /* the scenario value goes */
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_refused_when_not_enabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_twice_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_progress_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_download_time_and_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_of_resumed_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scenario_file, setup, teardown),
    };
    return cmocka_run_group_tests_name("IOpenBitsTestControl", tests, group_setup, group_teardown);
}
