/* SPDX-License-Identifier: MIT */
/* Uploads and upload-reply jobs for real through openbits.dll (BITS-SPEC.md §9, §2.2, §2.3): a
 * client's job against the loopback BITS upload server (tests/servers/bits_upload.py, inside
 * http_server.py), with the engine's own workers. Nothing sleeps: the test waits (bounded) for
 * the job's callbacks, as a BITS client does; a transient error is retried with Resume. What the
 * server received is read from its upload directory and its journal (one line per packet, with
 * the bytes of each fragment).
 *
 * The Close-Session and Cancel-Session packets go out on their own after the job is done with
 * its session; releasing every object stops the service, which sends the ones not sent yet
 * first, so a test that looks for them in the journal releases the manager first
 * (restart_service). */
#include "callback.h"
#include "com_test.h"
#include "server.h"

#include <stdlib.h>

static struct openbits_dll dll;
static struct test_server server;
static IBackgroundCopyManager *manager;
static WCHAR dir[MAX_PATH];                 /* a directory of our own for local files */

/* --- helpers ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_upload.d", dir, ARRAYSIZE(dir));
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

/* Every object released (the service stops, after sending the Close/Cancel-Session packets
 * it still had), then a new manager. */
static void restart_service(void)
{
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    assert_no_live_objects(&dll);
    assert_hr(S_OK, openbits_create(&dll, &CLSID_BackgroundCopyManager, &IID_IBackgroundCopyManager, (void **)&manager));
}

static IBackgroundCopyJob *new_job(BG_JOB_TYPE type, struct callback *callback)
{
    BITS_JOB_PROPERTY_VALUE value;
    IBackgroundCopyJob5 *job5;
    IBackgroundCopyJob *job;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"upload", type, &id, &job));
    assert_hr(S_OK, IBackgroundCopyJob_SetNotifyInterface(job, (IUnknown *)&callback->IBackgroundCopyCallback2_iface));
    assert_hr(S_OK, IBackgroundCopyJob_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR
                                                      | BG_NOTIFY_FILE_TRANSFERRED | BG_NOTIFY_JOB_MODIFICATION));
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob5, (void **)&job5));
    memset(&value, 0, sizeof(value));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job5, BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, value));
    IBackgroundCopyJob5_Release(job5);
    return job;
}

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
        fail_msg("the job neither transferred nor failed within %u ms", CALLBACK_WAIT_MS);
    }
    return result;
}

/* A local file of `size` bytes of the server's content formula (tests/support/server.h). */
static void make_local(const WCHAR *name, ULONGLONG size, WCHAR *path)
{
    static BYTE buffer[65536];
    ULONGLONG offset = 0;
    HANDLE file;
    DWORD chunk, i, written;

    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
    file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    while (offset < size)
    {
        chunk = size - offset < sizeof(buffer) ? (DWORD)(size - offset) : sizeof(buffer);
        for (i = 0; i < chunk; ++i) buffer[i] = test_server_byte(offset + i);
        assert_true(WriteFile(file, buffer, chunk, &written, NULL) && written == chunk);
        offset += chunk;
    }
    CloseHandle(file);
}

/* TRUE when the file holds exactly size bytes of the server's content formula. */
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

static void upload_url(const WCHAR *name, const WCHAR *query, WCHAR *url)
{
    WCHAR path[512];

    swprintf(path, ARRAYSIZE(path), L"/upload/%ls%ls%ls", name, query && *query ? L"?" : L"", query ? query : L"");
    test_server_url(&server, path, url, 1024);
}

/* Where the server put an upload. */
static void uploaded(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", server.upload_dir, name);
}

/* A job with one local file of `size` bytes to upload to /upload/<name>?<query>. */
static IBackgroundCopyJob *upload_job(BG_JOB_TYPE type, struct callback *callback, const WCHAR *name,
                                      ULONGLONG size, const WCHAR *query, WCHAR *local)
{
    IBackgroundCopyJob *job = new_job(type, callback);
    WCHAR url[1024], path[MAX_PATH];

    make_local(name, size, local);
    upload_url(name, query, url);
    uploaded(name, path);
    DeleteFileW(path);
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(job, url, local));
    return job;
}

/* The journal's lines about an upload (name in their path) that contain `text`, one per line,
 * and the sum of the numbers after `field` in them (e.g. "\"body_bytes\": "). */
static unsigned int journal_lines(const WCHAR *name, const char *text, const char *field, ULONGLONG *sum)
{
    char *journal = test_server_journal(&server), *line, *end, *p, needle[300];
    unsigned int count = 0;

    assert_non_null(journal);
    snprintf(needle, sizeof(needle), "/upload/%ls", name);
    if (sum) *sum = 0;
    for (line = journal; line; line = end)
    {
        if ((end = strchr(line, '\n'))) *end++ = 0;
        if (strstr(line, needle) && strstr(line, text))
        {
            ++count;
            if (sum && field && (p = strstr(line, field))) *sum += strtoull(p + strlen(field), NULL, 10);
        }
    }
    free(journal);
    return count;
}

/* The first byte of the n-th (0-based) fragment of an upload, from its Content-Range. */
static ULONGLONG fragment_first(const WCHAR *name, unsigned int n)
{
    char *journal = test_server_journal(&server), *line, *end, *p, needle[300];
    ULONGLONG first = ~0ull;

    assert_non_null(journal);
    snprintf(needle, sizeof(needle), "/upload/%ls", name);
    for (line = journal; *line; line = end + 1)
    {
        if (!(end = strchr(line, '\n'))) break;
        *end = 0;
        if (!strstr(line, needle) || !strstr(line, "\"packet\": \"Fragment\"")) continue;
        if (n--) continue;
        if ((p = strstr(line, "\"content_range\": \"bytes "))) first = strtoull(p + 24, NULL, 10);
        break;
    }
    free(journal);
    return first;
}

/* No session of the server's has bytes left (its .sessions directory is empty). */
static BOOL server_sessions_empty(void)
{
    WIN32_FIND_DATAW data;
    WCHAR pattern[MAX_PATH];
    HANDLE find;
    BOOL empty = TRUE;

    swprintf(pattern, MAX_PATH, L"%ls\\.sessions\\*.part", server.upload_dir);
    if ((find = FindFirstFileW(pattern, &data)) != INVALID_HANDLE_VALUE)
    {
        empty = FALSE;
        FindClose(find);
    }
    return empty;
}

static void check_error(IBackgroundCopyJob *job, HRESULT code, BG_ERROR_CONTEXT context)
{
    IBackgroundCopyError *error;
    IBackgroundCopyFile *file;
    BG_ERROR_CONTEXT got_context;
    WCHAR *protocol;
    HRESULT got_code;

    assert_hr(S_OK, IBackgroundCopyJob_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &got_context, &got_code));
    assert_hr(code, got_code);
    assert_int_equal(got_context, context);
    assert_hr(S_OK, IBackgroundCopyError_GetFile(error, &file));
    IBackgroundCopyFile_Release(file);
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &protocol));
    assert_true(!wcscmp(protocol, L"http"));
    CoTaskMemFree(protocol);
    IBackgroundCopyError_Release(error);
}

/* --- uploads ---------------------------------------------------------------------------------- */

static void upload_sizes(const WCHAR *name, ULONGLONG size)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    BG_JOB_PROGRESS progress;
    BG_FILE_PROGRESS file_progress;
    WCHAR local[MAX_PATH], path[MAX_PATH];
    ULONGLONG sent;

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, name, size, NULL, local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);

    /* Progress counts the uploaded bytes; the server has the file already. */
    assert_hr(S_OK, IBackgroundCopyJob_GetProgress(job, &progress));
    assert_int_equal(progress.BytesTotal, size);
    assert_int_equal(progress.BytesTransferred, size);
    assert_int_equal(progress.FilesTotal, 1);
    assert_int_equal(progress.FilesTransferred, 1);
    assert_hr(S_OK, IBackgroundCopyJob_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL));
    assert_hr(S_OK, IBackgroundCopyFile_GetProgress(file, &file_progress));
    assert_true(file_progress.Completed);
    assert_int_equal(file_progress.BytesTransferred, size);
    IBackgroundCopyFile_Release(file);
    IEnumBackgroundCopyFiles_Release(files);
    assert_int_equal(callback.files, 0);                /* no FileTransferred for uploads */
    uploaded(name, path);
    assert_true(file_has_content(path, size));

    /* What went over the wire: Ping, Create-Session, fragments with every byte once. */
    assert_int_equal(journal_lines(name, "\"packet\": \"Ping\"", NULL, NULL), 1);
    assert_int_equal(journal_lines(name, "\"packet\": \"Create-Session\"", NULL, NULL), 1);
    journal_lines(name, "\"packet\": \"Fragment\"", "\"body_bytes\": ", &sent);
    assert_int_equal(sent, size);
    assert_int_equal(journal_lines(name, "\"Content-Name\"", NULL, NULL), 1);

    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    assert_true(file_has_content(local, size));         /* the local file stays */
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);

    /* Close-Session went out after the transfer. */
    restart_service();
    assert_int_equal(journal_lines(name, "\"event\": \"closed\"", NULL, NULL), 1);
    assert_true(server_sessions_empty());
    DeleteFileW(local);
}

static void test_empty_file(void **state)
{
    upload_sizes(L"empty.bin", 0);
}

static void test_one_byte(void **state)
{
    upload_sizes(L"one.bin", 1);
}

static void test_large_file(void **state)
{
    upload_sizes(L"large.bin", 64ull << 20);
}

/* The connection reset in the middle of a fragment: a transient error; Resume goes on from the
 * server's offset, and the bytes sent in all are the file plus that one fragment at most. */
static void test_reset_resumes(void **state)
{
    const ULONGLONG size = 8ull << 20;
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH], path[MAX_PATH];
    ULONGLONG sent, first;

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"reset.bin", size, L"drop_fragment=3&drop_after=300000", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_state(job, &callback, BG_JOB_STATE_TRANSIENT_ERROR, BG_JOB_STATE_ERROR),
                     BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(journal_lines(L"reset.bin", "\"dropped\": true", NULL, NULL), 1);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    uploaded(L"reset.bin", path);
    assert_true(file_has_content(path, size));

    /* Fragments 256 KiB and 512 KiB, the third cut 300000 bytes in; the next one starts where
     * the server had acknowledged, not at 0, and the server kept what it had read. */
    first = fragment_first(L"reset.bin", 3);
    assert_int_equal(first, 768 * 1024);
    journal_lines(L"reset.bin", "\"packet\": \"Fragment\"", "\"new_bytes\": ", &sent);
    assert_int_equal(sent, size);                       /* every byte written once */
    journal_lines(L"reset.bin", "\"packet\": \"Fragment\"", "\"body_bytes\": ", &sent);
    assert_true(sent < size + (1 << 20));               /* not the whole file again */
    assert_int_equal(journal_lines(L"reset.bin", "\"packet\": \"Create-Session\"", NULL, NULL), 1);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* The server lost bytes (416 with its offset): the upload goes on from there. */
static void test_416_resumes_from_server(void **state)
{
    const ULONGLONG size = 3ull << 20;
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH], path[MAX_PATH];

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"rewind.bin", size, L"rewind_fragment=3&rewind_to=100000", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    uploaded(L"rewind.bin", path);
    assert_true(file_has_content(path, size));
    assert_int_equal(journal_lines(L"rewind.bin", "\"status\": 416", NULL, NULL), 1);
    assert_int_equal(fragment_first(L"rewind.bin", 3), 100000);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* The server forgot the session (a restart): a new session, from the start. */
static void test_session_forgotten(void **state)
{
    const ULONGLONG size = 2ull << 20;
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH], path[MAX_PATH];

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"forget.bin", size, L"forget_session=3", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    uploaded(L"forget.bin", path);
    assert_true(file_has_content(path, size));
    assert_int_equal(journal_lines(L"forget.bin", "\"packet\": \"Create-Session\"", NULL, NULL), 2);
    assert_int_equal(journal_lines(L"forget.bin", "\"event\": \"forgotten\"", NULL, NULL), 1);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* Cancel in the middle of the upload: Cancel-Session, and the server drops the partial file. */
static void test_cancel_mid_upload(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    BG_JOB_PROGRESS progress;
    WCHAR local[MAX_PATH], path[MAX_PATH];

    callback_init(&callback);
    /* The server holds its answer to the second fragment until the session ends. */
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"cancel.bin", 4 << 20, L"hold_fragment=2", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    do
    {
        HANDLE events[2] = { callback.modified, callback.error };
        assert_int_equal(pump_wait(2, events), 0);
        assert_hr(S_OK, IBackgroundCopyJob_GetProgress(job, &progress));
    } while (!progress.BytesTransferred);
    assert_int_equal(progress.BytesTransferred, 256 * 1024);
    assert_false(server_sessions_empty());              /* the server has part of it */

    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(test_job_state(job), BG_JOB_STATE_CANCELLED);
    assert_true(file_has_content(local, 4 << 20));      /* ours stays */
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    restart_service();
    assert_int_equal(journal_lines(L"cancel.bin", "\"packet\": \"Cancel-Session\"", NULL, NULL), 1);
    assert_int_equal(journal_lines(L"cancel.bin", "\"event\": \"cancelled\"", NULL, NULL), 1);
    assert_int_equal(journal_lines(L"cancel.bin", "\"packet\": \"Close-Session\"", NULL, NULL), 0);
    assert_true(server_sessions_empty());
    uploaded(L"cancel.bin", path);
    assert_int_equal(GetFileAttributesW(path), INVALID_FILE_ATTRIBUTES);
    DeleteFileW(local);
}

/* A server that does not speak the protocol: a fatal error with the status's code. */
static void test_not_a_bits_server(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH], url[1024];

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"plain.bin", 1000, L"plain=all", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 1);
    assert_hr(BG_E_HTTP_ERROR_200, callback.error_code);
    assert_int_equal(callback.error_context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_int_equal(test_job_state(job), BG_JOB_STATE_ERROR);
    check_error(job, BG_E_HTTP_ERROR_200, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob_Complete(job));
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);

    /* No upload service there at all: the 404 of a plain web server. */
    callback_init(&callback);
    job = new_job(BG_JOB_TYPE_UPLOAD, &callback);
    test_server_url(&server, L"/file/1000", url, ARRAYSIZE(url));
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(job, url, local));
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 1);
    assert_hr(BG_E_HTTP_ERROR_404, callback.error_code);
    check_error(job, BG_E_HTTP_ERROR_404, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* Upload jobs take one file: a second one fails and changes nothing. */
static void test_second_file(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    BG_FILE_INFO infos[2];
    WCHAR local[MAX_PATH], other[MAX_PATH], url[1024], *name;
    ULONG count;

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD, &callback, L"first.bin", 10, NULL, local);
    make_local(L"second.bin", 10, other);
    upload_url(L"second.bin", NULL, url);
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob_AddFile(job, url, other));
    infos[0].RemoteName = infos[1].RemoteName = url;
    infos[0].LocalName = infos[1].LocalName = other;
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob_AddFileSet(job, 1, infos));
    assert_hr(S_OK, IBackgroundCopyJob_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(files, &count));
    assert_int_equal(count, 1);
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL));
    assert_hr(S_OK, IBackgroundCopyFile_GetLocalName(file, &name));
    assert_true(!wcscmp(name, local));
    CoTaskMemFree(name);
    IBackgroundCopyFile_Release(file);
    IEnumBackgroundCopyFiles_Release(files);
    test_drop_job(job);
    callback_cleanup(&callback);

    /* AddFileSet with two files on an empty upload job adds none. */
    callback_init(&callback);
    job = new_job(BG_JOB_TYPE_UPLOAD_REPLY, &callback);
    infos[0].LocalName = local;
    assert_hr(BG_E_TOO_MANY_FILES, IBackgroundCopyJob_AddFileSet(job, 2, infos));
    assert_hr(S_OK, IBackgroundCopyJob_EnumFiles(job, &files));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_GetCount(files, &count));
    assert_int_equal(count, 0);
    IEnumBackgroundCopyFiles_Release(files);
    assert_hr(BG_E_EMPTY, IBackgroundCopyJob_Resume(job));
    test_drop_job(job);
    callback_cleanup(&callback);
    DeleteFileW(local);
    DeleteFileW(other);
}

/* --- upload-reply ------------------------------------------------------------------------------ */

/* The server application answers with the upload itself (/app/echo): the reply comes back
 * through GetReplyData and, after Complete, in the reply file. */
static void reply_by(const WCHAR *notify)
{
    const ULONGLONG size = 100000;
    struct callback callback;
    IBackgroundCopyJob *job;
    IBackgroundCopyJob2 *job2;
    BG_JOB_REPLY_PROGRESS progress;
    WCHAR local[MAX_PATH], query[64], name[64], reply[MAX_PATH], *reply_name;
    UINT64 length;
    byte *data;

    callback_init(&callback);
    swprintf(query, ARRAYSIZE(query), L"notify=%ls", notify);
    swprintf(name, ARRAYSIZE(name), L"reply-%ls.bin", notify);
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, &callback, name, size, query, local);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2));
    swprintf(reply, MAX_PATH, L"%ls\\%ls.reply", dir, notify);
    DeleteFileW(reply);
    assert_hr(S_OK, IBackgroundCopyJob2_SetReplyFileName(job2, reply));
    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyProgress(job2, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(test_job_state(job), BG_JOB_STATE_TRANSFERRED);
    assert_int_equal(callback.files, 1);              /* FileTransferred: the reply is in */

    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyProgress(job2, &progress));
    assert_int_equal(progress.BytesTotal, size);
    assert_int_equal(progress.BytesTransferred, size);
    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyData(job2, &data, &length));
    assert_int_equal(length, size);
    assert_true(test_server_content_matches(0, data, (size_t)length));
    CoTaskMemFree(data);
    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyFileName(job2, &reply_name));
    assert_true(!wcscmp(reply_name, reply));
    CoTaskMemFree(reply_name);
    assert_false(file_has_content(reply, size));       /* only after Complete */
    /* The reply is fetched before Close-Session. */
    assert_int_equal(journal_lines(name, "\"event\": \"reply\"", NULL, NULL), 1);

    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(reply, size));
    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyData(job2, &data, &length));     /* still there */
    assert_int_equal(length, size);
    CoTaskMemFree(data);
    IBackgroundCopyJob2_Release(job2);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    restart_service();
    assert_int_equal(journal_lines(name, "\"event\": \"closed\"", NULL, NULL), 1);
    DeleteFileW(local);
    DeleteFileW(reply);
}

static void test_reply_by_value(void **state)
{
    reply_by(L"value");
}

static void test_reply_by_reference(void **state)
{
    reply_by(L"reference");
}

/* A reply over 1 MB: GetReplyData says BG_E_TOO_LARGE with its size; the reply file has it all.
 * Its download is cut once and resumes. The generated reply name is used. */
static void test_large_reply(void **state)
{
    const ULONGLONG size = 1100000;
    struct callback callback;
    IBackgroundCopyJob *job;
    IBackgroundCopyJob2 *job2;
    WCHAR local[MAX_PATH], *reply;
    UINT64 length = 0;
    byte *data = (byte *)0xdeadbeef;
    char *journal;

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, &callback, L"bigreply.bin", 10,
                     L"notify=value&app=/app/generate&reply_size=1100000&reply_query=reset_after%3D400000%26cut_times%3D1",
                     local);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2));
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_state(job, &callback, BG_JOB_STATE_TRANSIENT_ERROR, BG_JOB_STATE_TRANSFERRED),
                     BG_JOB_STATE_TRANSIENT_ERROR);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_hr(BG_E_TOO_LARGE, IBackgroundCopyJob2_GetReplyData(job2, &data, &length));
    assert_null(data);
    assert_int_equal(length, size);
    /* Two GETs of the reply, the second for the rest only. */
    journal = test_server_journal(&server);
    {
        static const char get[] = "\"method\": \"GET\", \"path\": \"/reply/";
        char *line, *end, *ranges[3] = { NULL };
        unsigned int count = 0;

        for (line = journal; line; line = end)
        {
            if ((end = strchr(line, '\n'))) *end++ = 0;
            if (!strstr(line, get) || !strstr(line, "reset_after=400000")) continue;
            if (count < 3) ranges[count] = strstr(line, "\"range\": ");
            ++count;
        }
        assert_int_equal(count, 2);
        assert_non_null(ranges[0]);
        assert_non_null(strstr(ranges[0], "\"range\": null"));
        assert_non_null(strstr(ranges[1], "\"range\": \"bytes="));
        assert_null(strstr(ranges[1], "\"range\": \"bytes=0-"));
    }
    free(journal);
    assert_hr(S_OK, IBackgroundCopyJob2_GetReplyFileName(job2, &reply));
    assert_non_null(wcsstr(reply, L"\\BITS-"));
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_true(file_has_content(reply, size));
    DeleteFileW(reply);
    CoTaskMemFree(reply);
    IBackgroundCopyJob2_Release(job2);
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* The server application's errors reach the job's error object with context
 * REMOTE_APPLICATION: a 403 is fatal (JobError), a 500 transient. */
static void test_application_errors(void **state)
{
    struct callback callback;
    IBackgroundCopyJob *job;
    WCHAR local[MAX_PATH];

    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, &callback, L"app403.bin", 1000, L"notify=value&app_status=403", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 1);
    assert_hr(BG_E_HTTP_ERROR_403, callback.error_code);
    assert_int_equal(callback.error_context, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    check_error(job, BG_E_HTTP_ERROR_403, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);

    /* The retry posts the upload to the application again; the second time it answers. */
    callback_init(&callback);
    job = upload_job(BG_JOB_TYPE_UPLOAD_REPLY, &callback, L"app500.bin", 1000,
                     L"notify=value&app_status=500&app_fail_times=1", local);
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_state(job, &callback, BG_JOB_STATE_TRANSIENT_ERROR, BG_JOB_STATE_ERROR),
                     BG_JOB_STATE_TRANSIENT_ERROR);
    check_error(job, BG_E_HTTP_ERROR_500, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    assert_int_equal(WaitForSingleObject(callback.error, 0), WAIT_TIMEOUT);      /* no JobError */
    assert_hr(S_OK, IBackgroundCopyJob_Resume(job));
    assert_int_equal(wait_for_job(&callback), 0);
    assert_int_equal(journal_lines(L"app500.bin", "\"event\": \"app-failed\"", NULL, NULL), 1);
    assert_hr(S_OK, IBackgroundCopyJob_Complete(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_416_resumes_from_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_mid_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_bits_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_by_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_by_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_application_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("upload", tests, group_setup, group_teardown);
}
