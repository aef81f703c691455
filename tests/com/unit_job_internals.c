/* SPDX-License-Identifier: MIT */
/* The job and file methods whose other half is the transfer engine: GetError's error object,
 * Complete renaming transferred files (and failing to), SetValidationState on a transferred
 * file, progress sums, the reply of upload-reply jobs, File5's response headers and File6's
 * filled ranges. The objects of src/ are compiled into this program (tests/tests-windows.cmake),
 * so the test can stand in for the engine: it sets a file's progress or a job's state on the
 * records, under the service lock, as the engine does. tests/support/engine_stub.c replaces
 * src/engine_host.c: no worker ever runs, so nothing but the test moves a job. */
#include "com_test.h"
#include "file.h"
#include "job.h"
#include "objects.h"
#include "core/job_state.h"

LONG module_lock_count(void);

static IBackgroundCopyManager *manager;
static WCHAR dir[MAX_PATH];              /* a fresh directory for the test's files */

static void path_in_dir(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

static void write_file(const WCHAR *path, const char *content)
{
    HANDLE file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD written;

    assert_true(file != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(file, content, (DWORD)strlen(content), &written, NULL));
    CloseHandle(file);
}

/* The content of a file, or "<missing>". */
static const char *read_file(const WCHAR *path)
{
    static char buffer[256];
    HANDLE file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    DWORD read = 0;

    if (file == INVALID_HANDLE_VALUE) return "<missing>";
    ReadFile(file, buffer, sizeof(buffer) - 1, &read, NULL);
    CloseHandle(file);
    buffer[read] = 0;
    return buffer;
}

static BOOL exists(const WCHAR *path)
{
    return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
}

static int group_setup(void **state)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    test_file_path(L"unit_job_internals.d", dir, ARRAYSIZE(dir));
    CreateDirectoryW(dir, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    CoUninitialize();
    return 0;
}

static int setup(void **state)
{
    assert_hr(S_OK, manager_create(&IID_IBackgroundCopyManager, (void **)&manager));
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(IBackgroundCopyManager_Release(manager), 0);
    assert_int_equal(module_lock_count(), 0);       /* no live object */
    return 0;
}

static IBackgroundCopyJob5 *new_job(BG_JOB_TYPE type)
{
    return test_create_job(manager, L"internals", type);
}

static void drop_job(IBackgroundCopyJob5 *job)
{
    test_drop_job(job);
}

static struct job *job_of(IBackgroundCopyJob5 *job)
{
    return impl_from_IBackgroundCopyJob5(job);
}

/* The engine's part: the file has all its bytes in its temporary file. */
static void mark_transferred(struct job *job, ULONG index, UINT64 size)
{
    service_lock(job->service);
    job->xfer.files[index]->bytes_total = size;
    job->xfer.files[index]->bytes_transferred = size;
    job->xfer.files[index]->transferred = TRUE;
    job->xfer.files[index]->temp_created = TRUE;
    service_unlock(job->service);
}

/* The engine's part: it created the file's temporary file. */
static void mark_created(struct job *job, ULONG index)
{
    service_lock(job->service);
    job->xfer.files[index]->temp_created = TRUE;
    service_unlock(job->service);
}

static void set_state(struct job *job, BG_JOB_STATE state)
{
    service_lock(job->service);
    job->xfer.state = state;
    service_unlock(job->service);
}

static IBackgroundCopyFile6 *file_at(IBackgroundCopyJob5 *job, ULONG index)
{
    IEnumBackgroundCopyFiles *files;
    IBackgroundCopyFile *file;
    IBackgroundCopyFile6 *file6;

    assert_hr(S_OK, IBackgroundCopyJob5_EnumFiles(job, &files));
    if (index) assert_hr(S_OK, IEnumBackgroundCopyFiles_Skip(files, index));
    assert_hr(S_OK, IEnumBackgroundCopyFiles_Next(files, 1, &file, NULL));
    IEnumBackgroundCopyFiles_Release(files);
    assert_hr(S_OK, IBackgroundCopyFile_QueryInterface(file, &IID_IBackgroundCopyFile6, (void **)&file6));
    IBackgroundCopyFile_Release(file);
    return file6;
}

static void temp_name_of(IBackgroundCopyJob5 *job, ULONG index, WCHAR *path)
{
    IBackgroundCopyFile6 *file = file_at(job, index);
    WCHAR *name;

    assert_hr(S_OK, IBackgroundCopyFile6_GetTemporaryName(file, &name));
    wcscpy(path, name);
    CoTaskMemFree(name);
    IBackgroundCopyFile6_Release(file);
}

static void test_get_error_object(void **state)
{
    static const struct transfer_error unavailable = { BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_503, L"http" };
    static const struct transfer_error general = { BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, E_FAIL, NULL };
    struct engine_cleanup cleanup = { 0 };       /* nothing runs: nothing to clean up */
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    struct job *record = job_of(job);
    IBackgroundCopyError *error;
    IBackgroundCopyFile6 *file = NULL;
    IBackgroundCopyFile *error_file;
    BG_ERROR_CONTEXT context;
    WCHAR local[MAX_PATH], *protocol;
    HRESULT code;

    path_in_dir(L"error.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/error.bin", local));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));

    /* The engine fails the transfer of the file. */
    service_lock(record->service);
    job_state_transition(&record->xfer.state, BG_JOB_STATE_CONNECTING);
    engine_fail_locked(&record->service->engine, &record->xfer, BG_JOB_STATE_TRANSIENT_ERROR, &unavailable,
                       record->xfer.files[0], &cleanup);
    service_unlock(record->service);

    assert_hr(S_OK, IBackgroundCopyJob5_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
    assert_int_equal(context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_hr(BG_E_HTTP_ERROR_503, code);
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &protocol));
    assert_true(!wcscmp(protocol, L"http"));
    CoTaskMemFree(protocol);
    assert_hr(S_OK, IBackgroundCopyError_GetFile(error, &error_file));
    file = file_at(job, 0);
    assert_ptr_equal(error_file, file);          /* the job's own file object */
    IBackgroundCopyFile_Release(error_file);
    IBackgroundCopyFile6_Release(file);

    /* Resume: "retry now"; the error object is a snapshot and stays what it was. */
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(BG_E_ERROR_INFORMATION_UNAVAILABLE, IBackgroundCopyJob5_GetError(job, (IBackgroundCopyError **)&file));
    assert_null(file);
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
    assert_hr(BG_E_HTTP_ERROR_503, code);
    IBackgroundCopyError_Release(error);

    /* An error that concerns no file and no protocol. */
    service_lock(record->service);
    engine_fail_locked(&record->service->engine, &record->xfer, BG_JOB_STATE_ERROR, &general, NULL, &cleanup);
    service_unlock(record->service);
    assert_hr(S_OK, IBackgroundCopyJob5_GetError(job, &error));
    assert_hr(BG_E_FILE_NOT_AVAILABLE, IBackgroundCopyError_GetFile(error, &error_file));
    assert_hr(BG_E_PROTOCOL_NOT_AVAILABLE, IBackgroundCopyError_GetProtocol(error, &protocol));
    IBackgroundCopyError_Release(error);
    drop_job(job);
}

static void test_complete_renames(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    IBackgroundCopyFile6 *file;
    BG_FILE_PROGRESS progress;
    WCHAR local[MAX_PATH], temp[MAX_PATH];
    BG_JOB_STATE job_state;

    path_in_dir(L"renamed.bin", local);
    DeleteFileW(local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/renamed.bin", local));
    temp_name_of(job, 0, temp);
    write_file(temp, "payload");
    mark_transferred(job_of(job), 0, 7);

    file = file_at(job, 0);
    assert_hr(S_OK, IBackgroundCopyFile6_GetProgress(file, &progress));
    assert_false(progress.Completed);            /* not before Complete (§11a 12) */
    assert_int_equal(progress.BytesTransferred, 7);

    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_string_equal(read_file(local), "payload");
    assert_false(exists(temp));
    assert_hr(S_OK, IBackgroundCopyFile6_GetProgress(file, &progress));
    assert_true(progress.Completed);
    assert_hr(S_OK, IBackgroundCopyJob5_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_ACKNOWLEDGED);
    IBackgroundCopyFile6_Release(file);
    drop_job(job);
    DeleteFileW(local);
}

static void test_complete_partial(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    WCHAR done[MAX_PATH], undone[MAX_PATH], temp_done[MAX_PATH], temp_undone[MAX_PATH];

    path_in_dir(L"done.bin", done);
    path_in_dir(L"undone.bin", undone);
    DeleteFileW(done);
    DeleteFileW(undone);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/done.bin", done));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/undone.bin", undone));
    temp_name_of(job, 0, temp_done);
    temp_name_of(job, 1, temp_undone);
    assert_true(wcscmp(temp_done, temp_undone));
    write_file(temp_done, "all");
    write_file(temp_undone, "ha");               /* half a file */
    mark_transferred(job_of(job), 0, 3);
    mark_created(job_of(job), 1);

    assert_hr(BG_S_PARTIAL_COMPLETE, IBackgroundCopyJob5_Complete(job));
    assert_string_equal(read_file(done), "all");
    assert_false(exists(undone));
    assert_false(exists(temp_undone));           /* unfinished files are deleted */
    drop_job(job);
    DeleteFileW(done);
}

static void test_complete_rename_fails(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    IBackgroundCopyFile6 *first;
    BG_FILE_PROGRESS progress;
    WCHAR one[MAX_PATH], two[MAX_PATH], temp_one[MAX_PATH], temp_two[MAX_PATH];
    BG_JOB_STATE job_state;
    IBackgroundCopyJob *found;
    GUID id;

    path_in_dir(L"one.bin", one);
    path_in_dir(L"two.bin", two);
    DeleteFileW(one);
    RemoveDirectoryW(two);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/one.bin", one));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/two.bin", two));
    temp_name_of(job, 0, temp_one);
    temp_name_of(job, 1, temp_two);
    write_file(temp_one, "one");
    write_file(temp_two, "two");
    mark_transferred(job_of(job), 0, 3);
    mark_transferred(job_of(job), 1, 3);
    set_state(job_of(job), BG_JOB_STATE_TRANSFERRED);
    /* Something takes the second name before Complete: a directory cannot be replaced. */
    assert_true(CreateDirectoryW(two, NULL));

    assert_true(FAILED(IBackgroundCopyJob5_Complete(job)));
    assert_hr(S_OK, IBackgroundCopyJob5_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_TRANSFERRED);      /* stays, in the queue */
    assert_hr(S_OK, IBackgroundCopyJob5_GetId(job, &id));
    assert_hr(S_OK, IBackgroundCopyManager_GetJob(manager, &id, &found));
    IBackgroundCopyJob_Release(found);
    assert_string_equal(read_file(one), "one");                 /* renamed files stay available */
    first = file_at(job, 0);
    assert_hr(S_OK, IBackgroundCopyFile6_GetProgress(first, &progress));
    assert_true(progress.Completed);
    IBackgroundCopyFile6_Release(first);
    assert_string_equal(read_file(temp_two), "two");

    /* The caller clears the way and completes again. */
    assert_true(RemoveDirectoryW(two));
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_string_equal(read_file(two), "two");
    assert_string_equal(read_file(one), "one");
    drop_job(job);
    DeleteFileW(one);
    DeleteFileW(two);
}

static void test_cancel_deletes_transferred_temp(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    WCHAR local[MAX_PATH], temp[MAX_PATH];

    path_in_dir(L"cancelled.bin", local);
    write_file(local, "theirs");                 /* a file we did not create */
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/cancelled.bin", local));
    temp_name_of(job, 0, temp);
    write_file(temp, "ours");
    mark_transferred(job_of(job), 0, 4);
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_false(exists(temp));
    assert_string_equal(read_file(local), "theirs");
    drop_job(job);
    DeleteFileW(local);
}

/* A temporary file of ours that cannot be deleted (someone holds it open without
 * FILE_SHARE_DELETE): Cancel still cancels, and says BG_S_UNABLE_TO_DELETE_FILES. */
static void test_cancel_unable_to_delete(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    WCHAR local[MAX_PATH], temp[MAX_PATH];
    BG_JOB_STATE job_state;
    HANDLE held;

    path_in_dir(L"held.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/held.bin", local));
    temp_name_of(job, 0, temp);
    write_file(temp, "partial");
    mark_created(job_of(job), 0);
    held = CreateFileW(temp, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(held != INVALID_HANDLE_VALUE);
    assert_hr(BG_S_UNABLE_TO_DELETE_FILES, IBackgroundCopyJob5_Cancel(job));
    assert_hr(S_OK, IBackgroundCopyJob5_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_CANCELLED);
    CloseHandle(held);
    assert_true(DeleteFileW(temp));
    drop_job(job);
}

static void test_high_performance_in_place(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    BITS_JOB_PROPERTY_VALUE value = { .Enable = TRUE };
    WCHAR local[MAX_PATH], temp[MAX_PATH];

    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    path_in_dir(L"direct.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/direct.bin", local));
    temp_name_of(job, 0, temp);
    assert_true(!wcscmp(temp, local));
    write_file(local, "partial");
    /* Written in place: Cancel leaves the partial file (BITS-SPEC.md §5.2). */
    assert_hr(S_OK, IBackgroundCopyJob5_Cancel(job));
    assert_string_equal(read_file(local), "partial");
    drop_job(job);

    /* ...and Complete has nothing to rename. */
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/direct.bin", local));
    mark_transferred(job_of(job), 0, 7);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_string_equal(read_file(local), "partial");
    drop_job(job);
    DeleteFileW(local);
}

static void test_validation_state(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    IBackgroundCopyFile6 *file;
    IBackgroundCopyError *error;
    BG_FILE_PROGRESS progress;
    BG_ERROR_CONTEXT context;
    IBackgroundCopyFile *error_file;
    WCHAR local[MAX_PATH];
    BG_JOB_STATE job_state;
    BOOL valid;
    HRESULT code;

    path_in_dir(L"validated.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/validated.bin", local));
    file = file_at(job, 0);
    assert_hr(E_PENDING, IBackgroundCopyFile6_SetValidationState(file, TRUE));
    mark_transferred(job_of(job), 0, 10);
    set_state(job_of(job), BG_JOB_STATE_TRANSFERRED);

    assert_hr(S_OK, IBackgroundCopyFile6_SetValidationState(file, TRUE));
    assert_hr(S_OK, IBackgroundCopyFile6_GetValidationState(file, &valid));
    assert_true(valid);

    /* Bad origin content: ERROR with BG_E_VALIDATION_FAILED and the file starts over. */
    assert_hr(S_OK, IBackgroundCopyFile6_SetValidationState(file, FALSE));
    assert_hr(S_OK, IBackgroundCopyJob5_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_ERROR);
    assert_hr(S_OK, IBackgroundCopyFile6_GetProgress(file, &progress));
    assert_int_equal(progress.BytesTransferred, 0);
    assert_hr(S_OK, IBackgroundCopyJob5_GetError(job, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
    assert_int_equal(context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_hr(BG_E_VALIDATION_FAILED, code);
    assert_hr(S_OK, IBackgroundCopyError_GetFile(error, &error_file));
    IBackgroundCopyFile_Release(error_file);
    IBackgroundCopyError_Release(error);
    /* Not transferred any more. */
    assert_hr(E_PENDING, IBackgroundCopyFile6_SetValidationState(file, TRUE));
    /* Resume downloads it again. */
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(S_OK, IBackgroundCopyJob5_GetState(job, &job_state));
    assert_int_equal(job_state, BG_JOB_STATE_QUEUED);
    IBackgroundCopyFile6_Release(file);
    drop_job(job);
}

static void test_progress_sums(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    struct job *record = job_of(job);
    BG_JOB_PROGRESS progress;
    WCHAR a[MAX_PATH], b[MAX_PATH];

    path_in_dir(L"a.bin", a);
    path_in_dir(L"b.bin", b);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/a.bin", a));
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/b.bin", b));
    mark_transferred(record, 0, 100);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);    /* b's size is unknown */
    assert_int_equal(progress.BytesTransferred, 100);
    assert_int_equal(progress.FilesTotal, 2);
    assert_int_equal(progress.FilesTransferred, 1);

    service_lock(record->service);
    record->xfer.files[1]->bytes_total = 50;
    record->xfer.files[1]->bytes_transferred = 20;
    service_unlock(record->service);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProgress(job, &progress));
    assert_int_equal(progress.BytesTotal, 150);
    assert_int_equal(progress.BytesTransferred, 120);
    assert_int_equal(progress.FilesTransferred, 1);
    drop_job(job);
}

static void test_reply_data(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_UPLOAD_REPLY);
    struct job *record = job_of(job);
    BG_JOB_REPLY_PROGRESS progress;
    WCHAR local[MAX_PATH], reply[MAX_PATH];
    UINT64 length;
    byte *buffer;

    path_in_dir(L"upload.bin", local);
    write_file(local, "upload me");
    path_in_dir(L"reply.bin", reply);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/upload", local));
    assert_hr(S_OK, IBackgroundCopyJob5_SetReplyFileName(job, reply));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_GetReplyData(job, &buffer, &length));

    /* The engine has uploaded the file and started the reply. */
    service_lock(record->service);
    record->xfer.reply.bytes_total = 5;
    record->xfer.reply.bytes_transferred = 2;
    service_unlock(record->service);
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyProgress(job, &progress));
    assert_int_equal(progress.BytesTotal, 5);
    assert_int_equal(progress.BytesTransferred, 2);
    /* Too late to move the reply. */
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetReplyFileName(job, reply));

    /* Transferred, no reply body: S_OK with NULL. */
    set_state(record, BG_JOB_STATE_TRANSFERRED);
    buffer = (byte *)0xdeadbeef;
    length = 99;
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &buffer, &length));
    assert_null(buffer);
    assert_int_equal(length, 0);

    service_lock(record->service);
    record->xfer.reply_data = malloc(5);
    memcpy(record->xfer.reply_data, "hello", 5);
    record->xfer.reply_size = 5;
    service_unlock(record->service);
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &buffer, &length));
    assert_int_equal(length, 5);
    assert_memory_equal(buffer, "hello", 5);
    CoTaskMemFree(buffer);

    /* Over 1 MiB: BG_E_TOO_LARGE, no buffer, the size. */
    service_lock(record->service);
    record->xfer.reply_size = MAX_REPLY_DATA + 1;
    service_unlock(record->service);
    buffer = (byte *)0xdeadbeef;
    assert_hr(BG_E_TOO_LARGE, IBackgroundCopyJob5_GetReplyData(job, &buffer, &length));
    assert_null(buffer);
    assert_int_equal(length, MAX_REPLY_DATA + 1);

    /* Still readable after Complete (the upload's local file stays). */
    service_lock(record->service);
    record->xfer.reply_size = 5;
    record->xfer.files[0]->transferred = TRUE;
    service_unlock(record->service);
    assert_hr(S_OK, IBackgroundCopyJob5_Complete(job));
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyData(job, &buffer, &length));
    assert_int_equal(length, 5);
    CoTaskMemFree(buffer);
    assert_string_equal(read_file(local), "upload me");
    /* The server sent no reply file: Complete left an empty one. */
    assert_string_equal(read_file(reply), "");
    drop_job(job);
    DeleteFileW(local);
    DeleteFileW(reply);
}

static void test_response_headers(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    struct job *record = job_of(job);
    BITS_FILE_PROPERTY_VALUE value;
    IBackgroundCopyFile6 *file;
    WCHAR local[MAX_PATH];

    path_in_dir(L"headers.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/headers.bin", local));
    service_lock(record->service);
    record->xfer.files[0]->response_headers = _wcsdup(L"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    service_unlock(record->service);
    file = file_at(job, 0);
    assert_hr(S_OK, IBackgroundCopyFile6_GetProperty(file, BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, &value));
    assert_true(!wcscmp(value.String, L"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"));
    CoTaskMemFree(value.String);
    IBackgroundCopyFile6_Release(file);
    drop_job(job);
}

static void test_on_demand_ranges(void **state)
{
    IBackgroundCopyJob5 *job = new_job(BG_JOB_TYPE_DOWNLOAD);
    struct job *record = job_of(job);
    BITS_JOB_PROPERTY_VALUE on = { .Enable = TRUE };
    BG_FILE_RANGE request[2] = { { 0, 10 }, { 90, BG_LENGTH_TO_EOF } }, past = { 100, 1 }, *filled;
    IBackgroundCopyFile6 *file;
    WCHAR local[MAX_PATH];
    DWORD count;

    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_ON_DEMAND_MODE, on));
    path_in_dir(L"ondemand.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/ondemand.bin", local));
    file = file_at(job, 0);

    /* The engine learnt the size and wrote two stretches. */
    service_lock(record->service);
    record->xfer.files[0]->bytes_total = 100;
    range_list_add(&record->xfer.files[0]->filled, 20, 10);
    range_list_add(&record->xfer.files[0]->filled, 0, 10);
    range_list_add(&record->xfer.files[0]->filled, 10, 5);
    service_unlock(record->service);

    assert_hr(S_OK, IBackgroundCopyFile6_GetFilledFileRanges(file, &count, &filled));
    assert_int_equal(count, 2);                  /* merged and sorted */
    assert_int_equal(filled[0].InitialOffset, 0);
    assert_int_equal(filled[0].Length, 15);
    assert_int_equal(filled[1].InitialOffset, 20);
    assert_int_equal(filled[1].Length, 10);
    CoTaskMemFree(filled);

    /* Now that the size is known: requests past it are refused, to-the-end ones closed. */
    assert_hr(S_OK, IBackgroundCopyFile6_RequestFileRanges(file, 2, request));
    assert_hr(BG_E_INVALID_RANGE, IBackgroundCopyFile6_RequestFileRanges(file, 1, &past));
    assert_hr(BG_E_INVALID_RANGE, IBackgroundCopyFile6_UpdateDownloadPosition(file, 100));
    assert_hr(S_OK, IBackgroundCopyFile6_UpdateDownloadPosition(file, 99));
    service_lock(record->service);
    assert_int_equal(record->xfer.files[0]->requested.count, 2);
    assert_true(record->xfer.files[0]->requested.items[1].end == 100);
    assert_int_equal(record->xfer.files[0]->download_position, 99);
    /* A server without ranges ends random access. */
    record->xfer.files[0]->no_range_support = TRUE;
    service_unlock(record->service);
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_GetFilledFileRanges(file, &count, &filled));
    assert_hr(BG_E_RANDOM_ACCESS_NOT_SUPPORTED, IBackgroundCopyFile6_UpdateDownloadPosition(file, 0));
    IBackgroundCopyFile6_Release(file);
    drop_job(job);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_get_error_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_rename_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_deletes_transferred_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_unable_to_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_performance_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_demand_ranges, setup, teardown),
    };
    return cmocka_run_group_tests_name("job internals", tests, group_setup, group_teardown);
}
