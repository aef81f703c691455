/* SPDX-License-Identifier: MIT */
/* The test double's upload rules (docs/test-double.md) through openbits.dll's real engine and
 * workers: a scripted BITS server that accepts an upload (Ping, Create-Session, fragments,
 * Close-Session) and one that gives an upload-reply job its reply by value, rejections with an
 * HTTP status or a BITS error code (the server's or its application's), bare statuses and
 * transport failures on chosen packets, "reject twice, then accept" in virtual time, the
 * journal of upload packets (with packets the real transport carried to the loopback BITS
 * server), a scenario file of upload rules, and Reset leaving no Cancel-Session behind.
 * Nothing sleeps: the tests wait with RunUntilIdle / WaitForJobState. */
#include "com_test.h"
#include "openbits.h"
#include "server.h"

#include <stdlib.h>

#define WAIT_MS 30000
#define RETRY_MS 60000

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IOpenBitsTestControl *control;
static WCHAR dir[MAX_PATH];

/* --- helpers ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_test_control_upload.d", dir, ARRAYSIZE(dir));
    return 0;
}

static int group_teardown(void **state)
{
    dll.DllInstall(FALSE, L"testdouble");
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    assert_hr(S_OK, dll.DllInstall(TRUE, L"testdouble"));
    test_manager_open(&dll, &CLSID_BackgroundCopyManager, &manager);
    assert_hr(S_OK, IBackgroundCopyManager_QueryInterface(manager, &IID_IOpenBitsTestControl, (void **)&control));
    /* Nothing of these tests goes to the network unless a test says so. */
    assert_hr(S_OK, IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_FAIL, HRESULT_FROM_WIN32(12007)));
    return 0;
}

static int teardown(void **state)
{
    DWORD count = 1;

    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalCount(control, &count));
    assert_int_equal(count, 0);
    IOpenBitsTestControl_Release(control);
    control = NULL;
    return test_manager_close(&dll, &manager);
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

/* A local file of `size` bytes of the content formula. */
static void make_local(const WCHAR *name, DWORD size)
{
    WCHAR path[MAX_PATH];
    BYTE *data = malloc(size + 1);
    HANDLE file;
    DWORD i, written;

    for (i = 0; i < size; ++i) data[i] = test_server_byte(i);
    local_path(name, path);
    file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(file, data, size, &written, NULL) && written == size);
    CloseHandle(file);
    free(data);
}

static BOOL file_holds(const WCHAR *path, const char *text)
{
    char data[256] = { 0 };
    HANDLE file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    DWORD read = 0;

    if (file == INVALID_HANDLE_VALUE) return FALSE;
    ReadFile(file, data, sizeof(data) - 1, &read, NULL);
    CloseHandle(file);
    return read == strlen(text) && !memcmp(data, text, read);
}

static DWORD add_rule(const WCHAR *pattern, OPENBITS_MATCH match, OPENBITS_ACTION action, DWORD flags,
                      DWORD status, HRESULT error, DWORD times)
{
    OPENBITS_RULE rule = { 0 };
    DWORD id = 0;

    rule.pattern = (WCHAR *)pattern;
    rule.match = match;
    rule.action = action;
    rule.flags = flags;
    rule.status = status;
    rule.error = error;
    rule.times = times;
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &id));
    assert_int_not_equal(id, 0);
    return id;
}

/* An upload (or upload-reply) job of a local file of `size` bytes to url, with a custom header,
 * a retry delay of 60 s and the reply file (when not NULL), resumed. */
static IBackgroundCopyJob5 *upload_reply_job(BG_JOB_TYPE type, const WCHAR *url, const WCHAR *name, DWORD size,
                                             const WCHAR *reply, GUID *id)
{
    IBackgroundCopyJob5 *job = test_create_job(manager, L"double upload", type);
    IBackgroundCopyJobHttpOptions *options;
    WCHAR local[MAX_PATH];

    make_local(name, size);
    local_path(name, local);
    assert_hr(S_OK, IBackgroundCopyJob5_GetId(job, id));
    assert_hr(S_OK, IBackgroundCopyJob5_SetMinimumRetryDelay(job, RETRY_MS / 1000));
    assert_hr(S_OK, IBackgroundCopyJob5_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&options));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions_SetCustomHeaders(options, L"X-Client: test"));
    IBackgroundCopyJobHttpOptions_Release(options);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, url, local));
    if (reply) assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(job, reply));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    return job;
}

static IBackgroundCopyJob5 *upload_job(BG_JOB_TYPE type, const WCHAR *url, const WCHAR *name, DWORD size, GUID *id)
{
    return upload_reply_job(type, url, name, size, NULL, id);
}

static void wait_state(const GUID *id, BG_JOB_STATE state)
{
    BG_JOB_STATE reached = -1;

    assert_hr(S_OK, IOpenBitsTestControl_WaitForJobState(control, id, state, WAIT_MS, &reached));
    assert_int_equal(reached, state);
}

static void check_error(IBackgroundCopyJob5 *job, BG_ERROR_CONTEXT context, HRESULT code)
{
    IBackgroundCopyError *error;
    BG_ERROR_CONTEXT got_context;
    HRESULT got_code;

    assert_hr(S_OK, IBackgroundCopyJob5_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &got_context, &got_code));
    IBackgroundCopyError_Release(error);
    assert_hr(code, got_code);
    assert_int_equal(got_context, context);
}

static DWORD journal_count(void)
{
    DWORD count = 0;

    assert_hr(S_OK, IOpenBitsTestControl_GetJournalCount(control, &count));
    return count;
}

static BOOL wide_contains(const WCHAR *haystack, const WCHAR *needle)
{
    return haystack && wcsstr(haystack, needle) != NULL;
}

/* Journal entry `index` is a packet of that type (BITS_POST with its BITS-Packet-Type header),
 * answered by `rule` with `result`. */
static void check_packet(DWORD index, const WCHAR *url, const WCHAR *type, DWORD rule, HRESULT result,
                         OPENBITS_REQUEST *entry)
{
    WCHAR line[64];

    assert_hr(S_OK, IOpenBitsTestControl_GetJournalEntry(control, index, entry));
    swprintf(line, ARRAYSIZE(line), L"BITS-Packet-Type: %ls\r\n", type);
    if (!wide_contains(entry->headers, line)) fail_msg("entry %lu: %ls", index, entry->headers);
    assert_true(!wcscmp(entry->verb, L"BITS_POST"));
    assert_true(!wcscmp(entry->url, url));
    assert_true(wide_contains(entry->headers, L"X-Client: test\r\n"));
    assert_int_equal(entry->rule, rule);
    assert_hr(result, entry->result);
}

static void check_packet_only(DWORD index, const WCHAR *url, const WCHAR *type, DWORD rule, HRESULT result)
{
    OPENBITS_REQUEST entry;

    check_packet(index, url, type, rule, result, &entry);
    OpenBitsFreeRequest(&entry);
}

/* --- tests ---------------------------------------------------------------------------------- */

/* A scripted BITS server takes a 1,000,000-byte upload in fragments; the journal has every
 * packet, each fragment where it goes, and the Close-Session after the job is transferred. */
static void test_upload_accepted(void **state)
{
    static const WCHAR url[] = L"http://upload.test/files/data.bin";
    const DWORD size = 1000000;
    IBackgroundCopyJob5 *job;
    BG_JOB_PROGRESS progress;
    OPENBITS_REQUEST entry;
    UINT64 offset = 0;
    DWORD accept, count, i;
    GUID id;

    accept = add_rule(L"http://upload.test/files/", OPENBITS_MATCH_PREFIX, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"data.bin", size, &id);
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));     /* the Close-Session */
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_int_equal(progress.BytesTransferred, size);
    assert_int_equal(progress.BytesTotal, size);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    IBackgroundCopyJob5_Release(job);

    count = journal_count();
    assert_true(count >= 5);
    check_packet_only(0, url, L"Ping", accept, S_OK);
    check_packet(1, url, L"Create-Session", accept, S_OK, &entry);
    assert_true(wide_contains(entry.headers, L"BITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n"));
    OpenBitsFreeRequest(&entry);
    for (i = 2; i < count - 1; ++i)
    {
        /* Fragments back to back, each sent whole. */
        check_packet(i, url, L"Fragment", accept, S_OK, &entry);
        assert_true(wide_contains(entry.headers, L"BITS-Session-Id: {6f70656e-6269-7473-0000-"));
        assert_int_equal(entry.offset, offset);
        assert_int_equal(entry.bytes, entry.length);
        assert_int_not_equal(entry.length, 0);
        assert_true((i == 2) == wide_contains(entry.headers, L"Content-Name: data.bin\r\n"));
        offset += entry.length;
        OpenBitsFreeRequest(&entry);
    }
    assert_int_equal(offset, size);
    check_packet(count - 1, url, L"Close-Session", accept, S_OK, &entry);
    assert_int_equal(entry.length, 0);
    assert_int_equal(entry.bytes, 0);
    OpenBitsFreeRequest(&entry);
}

/* An upload-reply job gets the reply the rule gives by value: GetReplyData, then the reply file
 * on Complete; the reply's GET is journaled with the rule that answered it. */
static void test_upload_reply_by_value(void **state)
{
    static const char text[] = "thanks for the report";
    static const WCHAR url[] = L"https://upload.test/report";
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    WCHAR reply_path[MAX_PATH], reply_url[128];
    BYTE *data = NULL;
    UINT64 length = 0;
    DWORD reply_id, count;
    GUID id;

    rule.pattern = (WCHAR *)url;
    rule.action = OPENBITS_ACTION_UPLOAD_REPLY;
    rule.content = (BYTE *)text;
    rule.content_size = sizeof(text) - 1;
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &reply_id));

    local_path(L"reply.txt", reply_path);
    DeleteFileW(reply_path);
    job = upload_reply_job(BG_JOB_TYPE_UPLOAD_REPLY, url, L"report.txt", 300, reply_path, &id);
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_int_equal(length, sizeof(text) - 1);
    assert_memory_equal(data, text, length);
    CoTaskMemFree(data);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_true(file_holds(reply_path, text));
    IBackgroundCopyJob5_Release(job);

    /* Ping, Create-Session, one fragment, the reply's GET, Close-Session. */
    assert_int_equal(count = journal_count(), 5);
    check_packet(2, url, L"Fragment", reply_id, S_OK, &entry);
    assert_int_equal(entry.length, 300);
    OpenBitsFreeRequest(&entry);
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalEntry(control, 3, &entry));
    swprintf(reply_url, ARRAYSIZE(reply_url), L"%ls?openbits-reply=", url);
    assert_true(!wcscmp(entry.verb, L"GET"));
    assert_true(!wcsncmp(entry.url, reply_url, wcslen(reply_url)));
    assert_int_equal(entry.rule, reply_id);
    assert_hr(S_OK, entry.result);
    assert_int_equal(entry.bytes, sizeof(text) - 1);
    OpenBitsFreeRequest(&entry);
    check_packet_only(4, url, L"Close-Session", reply_id, S_OK);
}

/* An upload-reply job whose server (an accept rule) names no reply: TRANSFERRED with an empty
 * reply. */
static void test_upload_reply_without_reply(void **state)
{
    static const WCHAR url[] = L"https://upload.test/noreply";
    IBackgroundCopyJob5 *job;
    BYTE *data = (BYTE *)0xdeadbeef;
    UINT64 length = 1;
    GUID id;

    add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, url, L"noreply.txt", 10, &id);
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_int_equal(length, 0);
    CoTaskMemFree(data);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);
}

/* By reference: an accept rule's headers name a reply URL, which another rule serves. */
static void test_upload_reply_by_reference(void **state)
{
    static const WCHAR url[] = L"https://upload.test/ref";
    OPENBITS_RULE rule = { 0 };
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    BYTE *data = NULL;
    UINT64 length = 0;
    DWORD serve_id;
    GUID id;

    rule.pattern = (WCHAR *)url;
    rule.action = OPENBITS_ACTION_UPLOAD_ACCEPT;
    rule.headers = (WCHAR *)L"BITS-Reply-URL: https://replies.test/r1";
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &serve_id));
    memset(&rule, 0, sizeof(rule));
    rule.pattern = (WCHAR *)L"https://replies.test/r1";
    rule.content = (BYTE *)"elsewhere";
    rule.content_size = 9;
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &serve_id));
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, url, L"ref.txt", 10, &id);
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_int_equal(length, 9);
    assert_memory_equal(data, "elsewhere", 9);
    CoTaskMemFree(data);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalEntry(control, 3, &entry));
    assert_true(!wcscmp(entry.url, L"https://replies.test/r1"));
    assert_int_equal(entry.rule, serve_id);
    OpenBitsFreeRequest(&entry);
}

/* "Reject twice, then accept" is one limited rule before an accept rule; each retry waits for
 * the retry delay, in virtual time. */
static void test_upload_rejected_twice_then_accepted(void **state)
{
    static const WCHAR url[] = L"http://upload.test/busy";
    IBackgroundCopyJob5 *job;
    DWORD reject, accept;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    reject = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_REJECT, 0, 503, 0, 2);
    accept = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"busy.bin", 5000, &id);
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_503);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, RETRY_MS - 1));
    assert_int_equal(journal_count(), 1);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 1));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(journal_count(), 2);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, RETRY_MS));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);

    check_packet_only(0, url, L"Ping", reject, BG_E_HTTP_ERROR_503);
    check_packet_only(1, url, L"Ping", reject, BG_E_HTTP_ERROR_503);
    check_packet_only(2, url, L"Ping", accept, S_OK);
    check_packet_only(3, url, L"Create-Session", accept, S_OK);
}

/* Rejections with a BITS error code: the server's (Create-Session refused, fatal) and the
 * server application's (the fragment refused: context REMOTE_APPLICATION). Cancel then sends
 * Cancel-Session, which the accept rule takes. */
static void test_upload_rejected_with_bits_errors(void **state)
{
    static const WCHAR url[] = L"http://upload.test/big", app_url[] = L"http://upload.test/app";
    IBackgroundCopyJob5 *job;
    DWORD reject, accept, count;
    GUID id;

    reject = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_REJECT, OPENBITS_RULE_CREATE_SESSION, 413,
                      BG_E_TOO_LARGE, 0);
    accept = add_rule(L"http://upload.test/*", OPENBITS_MATCH_WILDCARD, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"big.bin", 100, &id);
    wait_state(&id, BG_JOB_STATE_ERROR);
    check_error(job, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_TOO_LARGE);
    test_drop_job(job);
    check_packet_only(0, url, L"Ping", accept, S_OK);
    check_packet_only(1, url, L"Create-Session", reject, BG_E_TOO_LARGE);
    assert_hr(S_OK, IOpenBitsTestControl_ClearJournal(control));

    /* Only an error: status 400, fatal. */
    reject = add_rule(app_url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_REJECT,
                      OPENBITS_RULE_FRAGMENT | OPENBITS_RULE_APPLICATION_ERROR, 0, E_ACCESSDENIED, 0);
    assert_hr(S_OK, IOpenBitsTestControl_RemoveRule(control, accept));
    accept = add_rule(L"http://upload.test/*", OPENBITS_MATCH_WILDCARD, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, app_url, L"app.bin", 100, &id);
    wait_state(&id, BG_JOB_STATE_ERROR);
    check_error(job, BG_ERROR_CONTEXT_REMOTE_APPLICATION, E_ACCESSDENIED);
    test_drop_job(job);
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));
    count = journal_count();
    assert_int_equal(count, 4);
    check_packet_only(2, app_url, L"Fragment", reject, E_ACCESSDENIED);
    check_packet_only(3, app_url, L"Cancel-Session", accept, S_OK);
}

/* Statuses without BITS headers (a proxy, or a server without the protocol) and transport
 * failures on chosen packets; then the upload goes through. */
static void test_upload_bare_status_and_transport_error(void **state)
{
    static const WCHAR url[] = L"http://upload.test/flaky";
    IBackgroundCopyJob5 *job;
    DWORD fail, proxy, accept;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    fail = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_FAIL, OPENBITS_RULE_PING, 0, HRESULT_FROM_WIN32(12029), 1);
    proxy = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_STATUS, OPENBITS_RULE_CREATE_SESSION, 502, 0, 1);
    accept = add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"flaky.bin", 100, &id);
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, HRESULT_FROM_WIN32(12029));
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, RETRY_MS));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_502);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, RETRY_MS));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);

    check_packet_only(0, url, L"Ping", fail, HRESULT_FROM_WIN32(12029));
    check_packet_only(1, url, L"Ping", accept, S_OK);
    check_packet_only(2, url, L"Create-Session", proxy, BG_E_HTTP_ERROR_502);
    check_packet_only(3, url, L"Create-Session", accept, S_OK);     /* pinged once is enough */
    check_packet_only(4, url, L"Fragment", accept, S_OK);
}

/* Download rules take no upload packets: an upload whose URL only a serve rule matches is
 * unmatched (here: failing). */
static void test_serve_rules_take_no_packets(void **state)
{
    static const WCHAR url[] = L"http://upload.test/served";
    IBackgroundCopyJob5 *job;
    GUID id;

    add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_SERVE, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"served.bin", 10, &id);
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, HRESULT_FROM_WIN32(12007));
    test_drop_job(job);
    check_packet_only(0, url, L"Ping", 0, HRESULT_FROM_WIN32(12007));
}

/* A scenario file of upload rules: refused once, then an upload-reply with its reply. */
static void test_upload_scenario(void **state)
{
    static const WCHAR url[] = L"http://upload.test/scenario";
    OPENBITS_TIME_MODE mode;
    IBackgroundCopyJob5 *job;
    WCHAR path[MAX_PATH];
    BYTE *data = NULL;
    UINT64 length = 0;
    HANDLE file;
    DWORD written;
    GUID id;
    static const char text[] =
        "[openbits]\r\n"
        "time = virtual\r\n"
        "[refused once]\r\n"
        "url = http://upload.test/\r\n"
        "match = prefix\r\n"
        "action = reject\r\n"
        "status = 503\r\n"
        "error = 0x80200020\r\n"
        "error-context = application\r\n"
        "packets = fragment\r\n"
        "times = 1\r\n"
        "[the server]\r\n"
        "url = http://upload.test/*\r\n"
        "match = wildcard\r\n"
        "action = reply\r\n"
        "content = from the scenario\r\n";

    local_path(L"upload.ini", path);
    file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    WriteFile(file, text, sizeof(text) - 1, &written, NULL);
    CloseHandle(file);
    assert_hr(S_OK, IOpenBitsTestControl_LoadScenario(control, path));
    assert_hr(S_OK, IOpenBitsTestControl_GetTimeMode(control, &mode));
    assert_int_equal(mode, OPENBITS_TIME_VIRTUAL);

    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, url, L"scenario.bin", 1000, &id);
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_ERROR_CONTEXT_REMOTE_APPLICATION, BG_E_TOO_LARGE);
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, RETRY_MS));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_int_equal(length, 17);
    assert_memory_equal(data, "from the scenario", 17);
    CoTaskMemFree(data);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);
}

/* Reset cancels an upload in the middle of its session: its Cancel-Session goes to the test's
 * rules, and one left waiting for a retry is dropped, so it never reaches the next test. */
static void test_reset_leaves_no_farewell(void **state)
{
    static const WCHAR url[] = L"http://upload.test/reset";
    IBackgroundCopyJob5 *job;
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_REJECT, OPENBITS_RULE_FRAGMENT, 503, 0, 0);
    add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_STATUS, OPENBITS_RULE_CANCEL_SESSION, 503, 0, 0);
    add_rule(url, OPENBITS_MATCH_EXACT, OPENBITS_ACTION_UPLOAD_ACCEPT, 0, 0, 0, 0);
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"reset.bin", 100, &id);
    wait_state(&id, BG_JOB_STATE_TRANSIENT_ERROR);          /* a session, its fragment refused */
    assert_int_equal(journal_count(), 3);

    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_CANCELLED);
    IBackgroundCopyJob5_Release(job);
    assert_int_equal(journal_count(), 0);

    /* Had the Cancel-Session's retry stayed, it would fall due within these two minutes. */
    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    assert_hr(S_OK, IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_FAIL, HRESULT_FROM_WIN32(12007)));
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, 2 * RETRY_MS));
    assert_int_equal(journal_count(), 0);
}

/* With no rule, packets go to the real transport (the loopback BITS server here) and are
 * journaled with the server's answers. */
static void test_unmatched_packets_pass(void **state)
{
    struct test_server server;
    IBackgroundCopyJob5 *job;
    OPENBITS_REQUEST entry;
    WCHAR url[128];
    DWORD count;
    GUID id;

    if (!test_server_start(&server)) fail_msg("no loopback server");
    assert_hr(S_OK, IOpenBitsTestControl_SetUnmatched(control, OPENBITS_UNMATCHED_PASS, 0));
    test_server_url(&server, L"/upload/pass.bin", url, ARRAYSIZE(url));
    job = upload_job(BG_JOB_TYPE_UPLOAD, url, L"pass.bin", 70000, &id);
    wait_state(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    IBackgroundCopyJob5_Release(job);
    test_server_stop(&server);

    count = journal_count();
    assert_int_equal(count, 4);
    check_packet_only(0, url, L"Ping", 0, S_OK);
    check_packet_only(1, url, L"Create-Session", 0, S_OK);
    check_packet(2, url, L"Fragment", 0, S_OK, &entry);
    assert_int_equal(entry.offset, 0);
    assert_int_equal(entry.length, 70000);
    assert_int_equal(entry.bytes, 70000);
    OpenBitsFreeRequest(&entry);
    check_packet_only(3, url, L"Close-Session", 0, S_OK);
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_upload_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_reply_by_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_reply_without_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_reply_by_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_rejected_twice_then_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_rejected_with_bits_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_bare_status_and_transport_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_rules_take_no_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_leaves_no_farewell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmatched_packets_pass, setup, teardown),
    };
    return cmocka_run_group_tests_name("IOpenBitsTestControl: uploads", tests, group_setup, group_teardown);
}
