/* SPDX-License-Identifier: MIT */
/* BITS 1.x groups downloading for real (BITS-SPEC.md §10): a client of IBackgroundCopyQMgr against
 * the loopback HTTP server (tests/servers/http_server.py), with the engine's own workers. The
 * state word of IBackgroundCopyJob1::GetStatus and IBackgroundCopyGroup::GetStatus goes from
 * INCOMPLETE to COMPLETE or ERROR, the files land in place, and IBackgroundCopyCallback1::OnStatus
 * reaches an object of a CLSID this test registers (CoRegisterClassObject), or one given to
 * SetNotificationPointer.
 *
 * Nothing sleeps: the test waits (bounded) for OnStatus, or for the callbacks of the job behind
 * the group (QueryNewJobInterface + SetNotifyInterface), which tell it that something changed;
 * it then reads the legacy state words. A transient error is retried with ResumeGroup ("retry
 * now"), as test_download.c does with Resume. The same callbacks tell when the job is gone after
 * the last CancelGroup and Release: a worker may still be finishing a delivery, and the job lets
 * the callback go when it is destroyed (callback_cleanup). */
#include "com_test.h"
#include "server.h"

#include <stdlib.h>

#define WAIT_MS 60000                       /* bound on any wait */

/* The CLSID of this test's IBackgroundCopyCallback1 class: {6A1F2C44-8E0B-4D27-9C35-2B7E51D0A9E3} */
static const CLSID CLSID_test_callback1 =
    { 0x6a1f2c44, 0x8e0b, 0x4d27, { 0x9c, 0x35, 0x2b, 0x7e, 0x51, 0xd0, 0xa9, 0xe3 } };
static const WCHAR test_callback1_clsid[] = L"{6A1F2C44-8E0B-4D27-9C35-2B7E51D0A9E3}";

static struct openbits_dll dll;
static struct test_server server;
static IBackgroundCopyQMgr *qmgr;
static WCHAR dir[MAX_PATH];

/* Waits (bounded) until a callback object of ours is back to its one reference: the DLL lets it
 * go after the call, or when the job goes, which may be on a worker. */
static void wait_released(LONG *refcount, HANDLE released)
{
    ULONGLONG deadline = GetTickCount64() + WAIT_MS;

    while (*refcount != 1 && GetTickCount64() < deadline)
        WaitForSingleObject(released, (DWORD)(deadline - GetTickCount64() + 1));
    assert_int_equal(*refcount, 1);
}

/* --- IBackgroundCopyCallback1: what OnStatus was told ---------------------------------------- */

struct on_status
{
    GUID group_id, job_id;                  /* job_id GUID_NULL: no job passed */
    DWORD file_index, status, retries, win32, transport;
};

struct callback1
{
    IBackgroundCopyCallback1 IBackgroundCopyCallback1_iface;
    LONG refcount;
    HANDLE called;                          /* auto-reset: OnStatus was called */
    HANDLE released;                        /* auto-reset: back to our own reference */
    LONG calls;
    LONG fail_calls;                        /* answer S_FALSE to this many calls */
    struct on_status last;
    LONG instances;                         /* made by the class factory */
};

static struct callback1 *impl_from_IBackgroundCopyCallback1(IBackgroundCopyCallback1 *iface)
{
    return CONTAINING_RECORD(iface, struct callback1, IBackgroundCopyCallback1_iface);
}

static HRESULT WINAPI callback1_QueryInterface(IBackgroundCopyCallback1 *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyCallback1))
    {
        *out = iface;
        IBackgroundCopyCallback1_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI callback1_AddRef(IBackgroundCopyCallback1 *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback1(iface)->refcount);
}

static ULONG WINAPI callback1_Release(IBackgroundCopyCallback1 *iface)
{
    struct callback1 *callback = impl_from_IBackgroundCopyCallback1(iface);
    ULONG refcount = InterlockedDecrement(&callback->refcount);

    if (refcount == 1) SetEvent(callback->released);
    return refcount;
}

static HRESULT WINAPI callback1_OnStatus(IBackgroundCopyCallback1 *iface, IBackgroundCopyGroup *group,
                                         IBackgroundCopyJob1 *job, DWORD file_index, DWORD status,
                                         DWORD retries, DWORD win32, DWORD transport)
{
    struct callback1 *callback = impl_from_IBackgroundCopyCallback1(iface);
    struct on_status call;

    memset(&call, 0, sizeof(call));
    if (group) IBackgroundCopyGroup_get_GroupID(group, &call.group_id);
    if (job) IBackgroundCopyJob1_get_JobID(job, &call.job_id);
    call.file_index = file_index;
    call.status = status;
    call.retries = retries;
    call.win32 = win32;
    call.transport = transport;
    callback->last = call;
    InterlockedIncrement(&callback->calls);
    SetEvent(callback->called);
    return InterlockedDecrement(&callback->fail_calls) >= 0 ? S_FALSE : S_OK;
}

static HRESULT WINAPI callback1_OnProgress(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
                                           IBackgroundCopyJob1 *job, DWORD file, DWORD value)
{
    fail_msg("OnProgress is never called");
    return E_FAIL;
}

static HRESULT WINAPI callback1_OnProgressEx(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
                                             IBackgroundCopyJob1 *job, DWORD file, DWORD value, DWORD size, BYTE *bytes)
{
    fail_msg("OnProgressEx is never called");
    return E_FAIL;
}

static const IBackgroundCopyCallback1Vtbl callback1_vtbl =
{
    callback1_QueryInterface, callback1_AddRef, callback1_Release,
    callback1_OnStatus, callback1_OnProgress, callback1_OnProgressEx,
};

static void callback1_init(struct callback1 *callback)
{
    memset(callback, 0, sizeof(*callback));
    callback->IBackgroundCopyCallback1_iface.lpVtbl = &callback1_vtbl;
    callback->refcount = 1;
    callback->called = CreateEventW(NULL, FALSE, FALSE, NULL);
    callback->released = CreateEventW(NULL, FALSE, FALSE, NULL);
}

static void callback1_cleanup(struct callback1 *callback)
{
    wait_released(&callback->refcount, callback->released);
    CloseHandle(callback->called);
    CloseHandle(callback->released);
}

/* The class of CLSID_test_callback1: every object it makes is `the_callback1`. */
static struct callback1 the_callback1;

static HRESULT WINAPI factory_QueryInterface(IClassFactory *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IClassFactory))
    {
        *out = iface;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI factory_AddRef(IClassFactory *iface)
{
    return 2;
}

static ULONG WINAPI factory_Release(IClassFactory *iface)
{
    return 1;
}

static HRESULT WINAPI factory_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid, void **out)
{
    *out = NULL;
    if (outer) return CLASS_E_NOAGGREGATION;
    InterlockedIncrement(&the_callback1.instances);
    return IBackgroundCopyCallback1_QueryInterface(&the_callback1.IBackgroundCopyCallback1_iface, riid, out);
}

static HRESULT WINAPI factory_LockServer(IClassFactory *iface, BOOL lock)
{
    return S_OK;
}

static const IClassFactoryVtbl factory_vtbl =
{
    factory_QueryInterface, factory_AddRef, factory_Release, factory_CreateInstance, factory_LockServer,
};

static IClassFactory factory = { &factory_vtbl };
static DWORD factory_cookie;

/* --- the job behind the group: its callbacks wake the test ---------------------------------- */

struct callback
{
    IBackgroundCopyCallback2 IBackgroundCopyCallback2_iface;
    LONG refcount;
    HANDLE changed;                         /* auto-reset: any callback came */
    HANDLE transferred, error;              /* manual-reset: JobTransferred / JobError came */
    HANDLE released;                        /* auto-reset: back to our own reference */
    LONG files;                             /* FileTransferred calls */
};

static struct callback *impl_from_IBackgroundCopyCallback2(IBackgroundCopyCallback2 *iface)
{
    return CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback2_iface);
}

static HRESULT WINAPI callback_QueryInterface(IBackgroundCopyCallback2 *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyCallback)
        || IsEqualIID(riid, &IID_IBackgroundCopyCallback2))
    {
        *out = iface;
        IBackgroundCopyCallback2_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI callback_AddRef(IBackgroundCopyCallback2 *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback2(iface)->refcount);
}

static ULONG WINAPI callback_Release(IBackgroundCopyCallback2 *iface)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback2(iface);
    ULONG refcount = InterlockedDecrement(&callback->refcount);

    if (refcount == 1) SetEvent(callback->released);
    return refcount;
}

static HRESULT WINAPI callback_JobTransferred(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback2(iface);

    SetEvent(callback->transferred);
    SetEvent(callback->changed);
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                        IBackgroundCopyError *error)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback2(iface);

    SetEvent(callback->error);
    SetEvent(callback->changed);
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                               DWORD reserved)
{
    SetEvent(impl_from_IBackgroundCopyCallback2(iface)->changed);
    return S_OK;
}

static HRESULT WINAPI callback_FileTransferred(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                               IBackgroundCopyFile *file)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback2(iface);

    InterlockedIncrement(&callback->files);
    SetEvent(callback->changed);
    return S_OK;
}

static const IBackgroundCopyCallback2Vtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification, callback_FileTransferred,
};

static void callback_init(struct callback *callback)
{
    memset(callback, 0, sizeof(*callback));
    callback->IBackgroundCopyCallback2_iface.lpVtbl = &callback_vtbl;
    callback->refcount = 1;
    callback->changed = CreateEventW(NULL, FALSE, FALSE, NULL);
    callback->transferred = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->error = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->released = CreateEventW(NULL, FALSE, FALSE, NULL);
}

static void callback_cleanup(struct callback *callback)
{
    wait_released(&callback->refcount, callback->released);
    CloseHandle(callback->changed);
    CloseHandle(callback->transferred);
    CloseHandle(callback->error);
    CloseHandle(callback->released);
}

/* The job behind the group tells `callback` of every change (no throttling). */
static void watch(IBackgroundCopyGroup *group, struct callback *callback)
{
    BITS_JOB_PROPERTY_VALUE value;
    IBackgroundCopyJob5 *job;

    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob5, (IUnknown **)&job));
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyInterface(job, (IUnknown *)&callback->IBackgroundCopyCallback2_iface));
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyFlags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR
                                                       | BG_NOTIFY_FILE_TRANSFERRED | BG_NOTIFY_JOB_MODIFICATION));
    memset(&value, 0, sizeof(value));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, value));
    IBackgroundCopyJob5_Release(job);
}

/* --- helpers ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    openbits_dll_load(&dll);
    test_dir_create(L"test_qmgr_download.d", dir, ARRAYSIZE(dir));
    callback1_init(&the_callback1);
    /* The class, in this (multithreaded) apartment, where the DLL's workers live too. */
    if (FAILED(CoRegisterClassObject(&CLSID_test_callback1, (IUnknown *)&factory, CLSCTX_INPROC_SERVER,
                                     REGCLS_MULTIPLEUSE, &factory_cookie)))
        return -1;
    if (!test_server_start(&server)) return -1;
    return 0;
}

static int group_teardown(void **state)
{
    test_server_stop(&server);
    CoRevokeClassObject(factory_cookie);
    openbits_dll_unload(&dll);
    CloseHandle(the_callback1.called);
    CloseHandle(the_callback1.released);
    CoUninitialize();
    return 0;
}

static int setup(void **state)
{
    test_qmgr_open(&dll, &qmgr);
    the_callback1.calls = the_callback1.fail_calls = 0;
    memset(&the_callback1.last, 0, sizeof(the_callback1.last));
    ResetEvent(the_callback1.called);
    return 0;
}

static int teardown(void **state)
{
    test_qmgr_close(&dll, &qmgr);
    wait_released(&the_callback1.refcount, the_callback1.released);
    return 0;
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

static void set_flags(IBackgroundCopyGroup *group, DWORD flags)
{
    VARIANT v;

    V_VT(&v) = VT_I4;
    V_I4(&v) = (LONG)flags;
    assert_hr(S_OK, IBackgroundCopyGroup_SetProp(group, GROUPPROP_NOTIFYFLAGS, &v));
}

/* OnStatus goes to a new object of CLSID_test_callback1. */
static void set_clsid(IBackgroundCopyGroup *group)
{
    VARIANT v;

    V_VT(&v) = VT_BSTR;
    V_BSTR(&v) = SysAllocString(test_callback1_clsid);
    assert_hr(S_OK, IBackgroundCopyGroup_SetProp(group, GROUPPROP_NOTIFYCLSID, &v));
    VariantClear(&v);
}

static IBackgroundCopyJob1 *create_job(IBackgroundCopyGroup *group, GUID *id)
{
    IBackgroundCopyJob1 *job;

    assert_hr(S_OK, CoCreateGuid(id));
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, *id, &job));
    return job;
}

/* Adds the server's `path` as `name` in our directory (whose full path goes to `local`). */
static void add_server_file(IBackgroundCopyJob1 *job, const WCHAR *path, const WCHAR *name, WCHAR *local)
{
    FILESETINFO info, *infos[1] = { &info };
    WCHAR url[512];

    test_server_url(&server, path, url, ARRAYSIZE(url));
    local_path(name, local);
    DeleteFileW(local);
    info.bstrRemoteFile = SysAllocString(url);
    info.bstrLocalFile = SysAllocString(local);
    info.dwSizeHint = 0;
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 1, infos));
    SysFreeString(info.bstrRemoteFile);
    SysFreeString(info.bstrLocalFile);
}

static DWORD group_status(IBackgroundCopyGroup *group)
{
    DWORD status, index;

    assert_hr(S_OK, IBackgroundCopyGroup_GetStatus(group, &status, &index));
    assert_int_equal(index, 0);
    return status;
}

static DWORD job_status(IBackgroundCopyJob1 *job, DWORD *win32, DWORD *transport, DWORD *retries)
{
    DWORD status, w, t, r;

    assert_hr(S_OK, IBackgroundCopyJob1_GetStatus(job, &status, &w, &t, &r));
    if (win32) *win32 = w;
    if (transport) *transport = t;
    if (retries) *retries = r;
    return status;
}

static void dump_journal(void)
{
    char *journal = test_server_journal(&server);
    fprintf(stderr, "journal:\n%s\n", journal ? journal : "(none)");
    free(journal);
}

/* Waits (bounded) for the next OnStatus. */
static void wait_on_status(struct callback1 *callback)
{
    if (WaitForSingleObject(callback->called, WAIT_MS) != WAIT_OBJECT_0)
    {
        dump_journal();
        fail_msg("no OnStatus within %u ms", WAIT_MS);
    }
}

/* Waits (bounded, woken by the job's callbacks) until the job's state word has one of `mask`'s
 * bits; returns the word. */
static DWORD wait_for_job_status(IBackgroundCopyJob1 *job, struct callback *callback, DWORD mask)
{
    ULONGLONG deadline = GetTickCount64() + WAIT_MS;
    DWORD status;

    while (!((status = job_status(job, NULL, NULL, NULL)) & mask))
    {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline)
        {
            dump_journal();
            fail_msg("job status %#lx, waited for %#lx", status, mask);
        }
        WaitForSingleObject(callback->changed, (DWORD)(deadline - now));
    }
    return status;
}

/* Waits (bounded) until the job behind the group is in `state` (or ERROR/TRANSFERRED). */
static BG_JOB_STATE wait_for_state(IBackgroundCopyGroup *group, struct callback *callback, BG_JOB_STATE wanted)
{
    ULONGLONG deadline = GetTickCount64() + WAIT_MS;
    IBackgroundCopyJob *job;
    BG_JOB_STATE state;

    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&job));
    while ((state = test_job_state(job)) != wanted && state != BG_JOB_STATE_ERROR && state != BG_JOB_STATE_TRANSFERRED)
    {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline) fail_msg("job in state %d, waited for %d", state, wanted);
        WaitForSingleObject(callback->changed, (DWORD)(deadline - now));
    }
    IBackgroundCopyJob_Release(job);
    return state;
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

static BOOL exists(const WCHAR *path)
{
    return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
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

/* A group with a job of three files: INCOMPLETE, then COMPLETE, the files byte for byte where
 * the client asked, and OnStatus (QM_NOTIFY_GROUP_DONE) told of it. */
static void test_three_files(void **state)
{
    static const ULONGLONG sizes[3] = { 30000, 20000, 10000 };
    static const WCHAR *paths[3] = { L"/file/30000?name=qmgr-a", L"/file/20000?name=qmgr-b", L"/file/10000?name=qmgr-c" };
    static const WCHAR *names[3] = { L"a.bin", L"b.bin", L"c.bin" };
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    IBackgroundCopyJob *modern;
    WCHAR locals[3][MAX_PATH];
    DWORD win32, transport, retries, progress, size, status;
    GUID group_id, job_id;
    int i;

    callback_init(&callback);
    group = test_create_group(qmgr, &group_id);
    set_clsid(group);
    set_flags(group, QM_NOTIFY_GROUP_DONE);
    watch(group, &callback);
    job = create_job(group, &job_id);
    for (i = 0; i < 3; ++i) add_server_file(job, paths[i], names[i], locals[i]);
    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_INCOMPLETE);
    assert_int_equal(group_status(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);

    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    status = group_status(group);
    assert_true(status == QM_STATUS_GROUP_INCOMPLETE || status == (QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED));
    wait_on_status(&the_callback1);

    /* OnStatus: the group, its job, no file, the group's word. */
    assert_int_equal(the_callback1.calls, 1);
    assert_true(the_callback1.instances > 0);
    assert_true(IsEqualGUID(&the_callback1.last.group_id, &group_id));
    assert_true(IsEqualGUID(&the_callback1.last.job_id, &job_id));
    assert_int_equal(the_callback1.last.file_index, 0xffffffff);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(the_callback1.last.retries, 0);
    assert_int_equal(the_callback1.last.win32, 0);
    assert_int_equal(the_callback1.last.transport, 0);

    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_COMPLETE);
    assert_int_equal(win32, 0);
    assert_int_equal(transport, 0);
    assert_int_equal(retries, 0);
    assert_int_equal(group_status(group), QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    for (i = 0; i < 3; ++i)
        if (!file_has_content(locals[i], sizes[i])) fail_msg("%ls is not the server's file", locals[i]);
    assert_no_temporary_files();
    assert_hr(S_OK, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_PERCENT_DONE, &progress));
    assert_int_equal(progress, 100);
    assert_hr(S_OK, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_SIZE_DONE, &progress));
    assert_int_equal(progress, 60000);
    assert_hr(S_OK, IBackgroundCopyGroup_get_Size(group, &size));
    assert_int_equal(size, 60000);

    /* The job underneath stays TRANSFERRED with its files available; finished groups are
     * suspended, and SuspendGroup leaves them so. */
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    assert_int_equal(test_job_state(modern), BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, IBackgroundCopyGroup_SuspendGroup(group));
    assert_int_equal(test_job_state(modern), BG_JOB_STATE_TRANSFERRED);
    IBackgroundCopyJob_Release(modern);

    /* CancelGroup keeps them. */
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback_cleanup(&callback);
    for (i = 0; i < 3; ++i)
    {
        assert_true(file_has_content(locals[i], sizes[i]));
        DeleteFileW(locals[i]);
    }
    assert_int_equal(the_callback1.calls, 1);
}

/* A 404: QM_STATUS_JOB_ERROR with the HTTP status as the transport result, and OnStatus on
 * error without any flag set. The file before it had finished: CancelGroup keeps it. */
static void test_not_found(void **state)
{
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    WCHAR first[MAX_PATH], missing[MAX_PATH];
    DWORD win32, transport, retries;
    GUID group_id, job_id;

    callback_init(&callback);
    group = test_create_group(qmgr, &group_id);
    set_clsid(group);
    watch(group, &callback);
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/5000?name=qmgr-before-404", L"before.bin", first);
    add_server_file(job, L"/status/404", L"missing.bin", missing);
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&the_callback1);

    if (the_callback1.last.file_index != 1 || the_callback1.last.retries != 1)
    {
        dump_journal();
        fail_msg("OnStatus(file %lu, status %#lx, retries %lu, win32 %#lx, transport %lu)",
                 the_callback1.last.file_index, the_callback1.last.status, the_callback1.last.retries,
                 the_callback1.last.win32, the_callback1.last.transport);
    }
    assert_true(IsEqualGUID(&the_callback1.last.group_id, &group_id));
    assert_true(IsEqualGUID(&the_callback1.last.job_id, &job_id));
    assert_int_equal(the_callback1.last.file_index, 1);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_ERROR | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(the_callback1.last.transport, 404);
    assert_int_equal(the_callback1.last.win32, BG_E_HTTP_ERROR_404);
    assert_int_equal(the_callback1.last.retries, 1);

    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_ERROR);
    assert_int_equal(transport, 404);
    assert_int_equal(win32, BG_E_HTTP_ERROR_404);
    assert_int_equal(group_status(group), QM_STATUS_GROUP_ERROR | QM_STATUS_GROUP_SUSPENDED);
    assert_false(exists(first));          /* not before the group is done or cancelled */

    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback_cleanup(&callback);
    assert_true(file_has_content(first, 5000));
    assert_false(exists(missing));
    assert_no_temporary_files();
    assert_int_equal(the_callback1.calls, 1);
    DeleteFileW(first);
}

/* A connection reset mid-file is a transient error: the job stays INCOMPLETE and counts a retry;
 * ResumeGroup retries at once and the file ends up whole. */
static void test_reset_counts_retry(void **state)
{
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    WCHAR local[MAX_PATH];
    DWORD win32, transport, retries;
    GUID job_id;

    callback_init(&callback);
    group = test_create_group(qmgr, NULL);
    set_clsid(group);
    set_flags(group, QM_NOTIFY_GROUP_DONE);
    watch(group, &callback);
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/2000000?cut_times=1&reset_after=700000&key=qmgr-reset", L"reset.bin", local);
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    assert_int_equal(wait_for_state(group, &callback, BG_JOB_STATE_TRANSIENT_ERROR), BG_JOB_STATE_TRANSIENT_ERROR);
    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_INCOMPLETE);
    assert_int_equal(retries, 1);
    assert_int_equal(win32, 0);            /* only with QM_STATUS_JOB_ERROR */
    assert_int_equal(group_status(group), QM_STATUS_GROUP_INCOMPLETE);
    assert_int_equal(the_callback1.calls, 0);      /* transient: no OnStatus */

    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&the_callback1);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_COMPLETE);
    assert_int_equal(retries, 1);
    assert_true(file_has_content(local, 2000000));
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

/* An OnStatus that does not answer S_OK is called again later (§10.5). */
static void test_on_status_again(void **state)
{
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    WCHAR local[MAX_PATH];
    GUID job_id;

    callback_init(&callback);
    group = test_create_group(qmgr, NULL);
    set_clsid(group);
    set_flags(group, QM_NOTIFY_GROUP_DONE);
    watch(group, &callback);
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/100?name=qmgr-again", L"again.bin", local);
    the_callback1.fail_calls = 1;
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&the_callback1);
    wait_on_status(&the_callback1);
    assert_int_equal(the_callback1.calls, 2);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback_cleanup(&callback);
    assert_int_equal(the_callback1.calls, 2);
    DeleteFileW(local);
}

/* Without QM_NOTIFY_GROUP_DONE, completion is not told; with QM_NOTIFY_DISABLE_NOTIFY nothing is.
 * The group's own delivery comes before the job's JobTransferred, so waiting for that one is
 * enough. */
static void test_no_notification(void **state)
{
    static const DWORD flags[] = { 0, QM_NOTIFY_GROUP_DONE | QM_NOTIFY_DISABLE_NOTIFY, QM_NOTIFY_DISABLE_NOTIFY };
    size_t i;

    for (i = 0; i < ARRAYSIZE(flags); ++i)
    {
        struct callback callback;
        IBackgroundCopyGroup *group;
        IBackgroundCopyJob1 *job;
        WCHAR local[MAX_PATH], path[64];
        GUID job_id;

        callback_init(&callback);
        group = test_create_group(qmgr, NULL);
        set_clsid(group);
        set_flags(group, flags[i]);
        watch(group, &callback);
        job = create_job(group, &job_id);
        swprintf(path, ARRAYSIZE(path), L"%ls", i == 2 ? L"/status/404" : L"/file/100?name=qmgr-quiet");
        add_server_file(job, path, L"quiet.bin", local);
        assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
        wait_for_job_status(job, &callback, QM_STATUS_JOB_COMPLETE | QM_STATUS_JOB_ERROR);
        /* The job's own JobTransferred / JobError comes after the group's delivery. */
        if (WaitForSingleObject(i == 2 ? callback.error : callback.transferred, WAIT_MS) != WAIT_OBJECT_0)
            fail_msg("no JobTransferred / JobError");
        assert_int_equal(the_callback1.calls, 0);
        IBackgroundCopyJob1_Release(job);
        test_drop_group(group);
        callback_cleanup(&callback);
        DeleteFileW(local);
    }
}

/* SetNotificationPointer's object is told instead of a new object of the CLSID. */
static void test_notification_pointer(void **state)
{
    struct callback1 pointer;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    WCHAR local[MAX_PATH];
    GUID group_id, job_id;

    callback1_init(&pointer);
    group = test_create_group(qmgr, &group_id);
    set_clsid(group);
    set_flags(group, QM_NOTIFY_GROUP_DONE);
    assert_hr(S_OK, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1,
                                                                (IUnknown *)&pointer.IBackgroundCopyCallback1_iface));
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/100?name=qmgr-pointer", L"pointer.bin", local);
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&pointer);
    assert_int_equal(pointer.calls, 1);
    assert_true(IsEqualGUID(&pointer.last.group_id, &group_id));
    assert_true(IsEqualGUID(&pointer.last.job_id, &job_id));
    assert_int_equal(pointer.last.status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(the_callback1.calls, 0);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback1_cleanup(&pointer);
    DeleteFileW(local);
}

/* CancelGroup while a file is still coming: the finished one stays, byte for byte, the rest goes.
 * GetStatus answers during the transfer. */
static void test_cancel_keeps_finished(void **state)
{
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    WCHAR done[MAX_PATH], slow[MAX_PATH];
    DWORD progress;
    GUID job_id;

    callback_init(&callback);
    group = test_create_group(qmgr, NULL);
    watch(group, &callback);
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/4000?name=qmgr-done", L"done.bin", done);
    add_server_file(job, L"/file/50000000?slow=1000000&name=qmgr-slow", L"slow.bin", slow);
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    while (!callback.files)
    {
        if (WaitForSingleObject(callback.changed, WAIT_MS) != WAIT_OBJECT_0) fail_msg("the first file did not finish");
    }
    assert_int_equal(job_status(job, NULL, NULL, NULL), QM_STATUS_JOB_INCOMPLETE);
    assert_int_equal(group_status(group), QM_STATUS_GROUP_INCOMPLETE);
    assert_hr(S_OK, IBackgroundCopyJob1_GetProgress(job, QM_PROGRESS_SIZE_DONE, &progress));
    assert_true(progress >= 4000);
    assert_false(exists(done));

    assert_hr(S_OK, IBackgroundCopyGroup_CancelGroup(group));
    assert_true(file_has_content(done, 4000));
    assert_false(exists(slow));
    assert_no_temporary_files();
    IBackgroundCopyJob1_Release(job);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
    callback_cleanup(&callback);
    DeleteFileW(done);
}

/* A file that cannot go into place (a directory took its name meanwhile): the job is in ERROR
 * with the rename's error, as a LOCAL_FILE error, and OnStatus says so; once the way is clear,
 * ResumeGroup finishes it. */
static void test_rename_fails(void **state)
{
    struct callback callback;
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job;
    IBackgroundCopyJob *modern;
    IBackgroundCopyError *error;
    BG_ERROR_CONTEXT context;
    WCHAR local[MAX_PATH];
    DWORD win32, transport, retries;
    HRESULT code;
    GUID job_id;

    callback_init(&callback);
    group = test_create_group(qmgr, NULL);
    set_clsid(group);
    set_flags(group, QM_NOTIFY_GROUP_DONE);
    watch(group, &callback);
    job = create_job(group, &job_id);
    add_server_file(job, L"/file/3000?name=qmgr-blocked", L"blocked.bin", local);
    assert_true(CreateDirectoryW(local, NULL));
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&the_callback1);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_ERROR | QM_STATUS_GROUP_SUSPENDED);
    assert_int_equal(the_callback1.last.file_index, 0);
    assert_int_equal(job_status(job, &win32, &transport, &retries), QM_STATUS_JOB_ERROR);
    assert_int_not_equal(win32, 0);
    assert_int_equal(transport, 0);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    assert_hr(S_OK, IBackgroundCopyJob_GetError(modern, &error));
    assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
    assert_int_equal(context, BG_ERROR_CONTEXT_LOCAL_FILE);
    assert_int_equal(HRESULT_CODE(code), win32);
    IBackgroundCopyError_Release(error);

    assert_true(RemoveDirectoryW(local));
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    wait_on_status(&the_callback1);
    assert_int_equal(the_callback1.last.status, QM_STATUS_GROUP_COMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_true(file_has_content(local, 3000));
    assert_no_temporary_files();
    IBackgroundCopyJob_Release(modern);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
    callback_cleanup(&callback);
    DeleteFileW(local);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_three_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_counts_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_status_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_notification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_keeps_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_fails, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("qmgr_download", tests, group_setup, group_teardown);
}
