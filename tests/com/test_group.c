/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyGroup (BITS-SPEC.md §10.3), method by method: properties and their VARIANT
 * rules, progress, the status word, the group's one job, Suspend/Resume/Cancel, size, the job
 * behind the group and the notification pointer. Transfers are test_qmgr_download.c's. */
#include "com_test.h"

static struct openbits_dll dll;
static IBackgroundCopyQMgr *qmgr;
static WCHAR dir[MAX_PATH];

static int group_setup(void **state)
{
    com_group_setup(&dll);
    test_dir_create(L"test_group.d", dir, ARRAYSIZE(dir));
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

/* --- a client's IBackgroundCopyCallback1, and an object that is none --------------------------- */

struct callback1
{
    IBackgroundCopyCallback1 IBackgroundCopyCallback1_iface;
    LONG refcount;
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
    return InterlockedDecrement(&impl_from_IBackgroundCopyCallback1(iface)->refcount);
}

static HRESULT WINAPI callback1_OnStatus(IBackgroundCopyCallback1 *iface, IBackgroundCopyGroup *group,
                                         IBackgroundCopyJob1 *job, DWORD file, DWORD status, DWORD retries,
                                         DWORD win32, DWORD transport)
{
    return S_OK;
}

static HRESULT WINAPI callback1_OnProgress(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
                                           IBackgroundCopyJob1 *job, DWORD file, DWORD value)
{
    return S_OK;
}

static HRESULT WINAPI callback1_OnProgressEx(IBackgroundCopyCallback1 *iface, DWORD type, IBackgroundCopyGroup *group,
                                             IBackgroundCopyJob1 *job, DWORD file, DWORD value, DWORD size, BYTE *bytes)
{
    return S_OK;
}

static const IBackgroundCopyCallback1Vtbl callback1_vtbl =
{
    callback1_QueryInterface, callback1_AddRef, callback1_Release,
    callback1_OnStatus, callback1_OnProgress, callback1_OnProgressEx,
};

/* An IUnknown and nothing else. */
static HRESULT WINAPI plain_QueryInterface(IUnknown *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown))
    {
        *out = iface;
        IUnknown_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static LONG plain_refcount = 1;

static ULONG WINAPI plain_AddRef(IUnknown *iface)
{
    return InterlockedIncrement(&plain_refcount);
}

static ULONG WINAPI plain_Release(IUnknown *iface)
{
    return InterlockedDecrement(&plain_refcount);
}

static const IUnknownVtbl plain_vtbl = { plain_QueryInterface, plain_AddRef, plain_Release };

/* --- helpers --------------------------------------------------------------------------------- */

static IBackgroundCopyJob1 *create_job(IBackgroundCopyGroup *group, GUID *id)
{
    IBackgroundCopyJob1 *job = NULL;
    GUID new_id;

    assert_hr(S_OK, CoCreateGuid(&new_id));
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, new_id, &job));
    assert_non_null(job);
    if (id) *id = new_id;
    return job;
}

static void local_path(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
}

/* Adds a file through IBackgroundCopyJob1::AddFiles. */
static void add_file(IBackgroundCopyJob1 *job, const WCHAR *url, const WCHAR *name)
{
    FILESETINFO info, *infos[1] = { &info };
    WCHAR local[MAX_PATH];

    local_path(name, local);
    info.bstrRemoteFile = SysAllocString(url);
    info.bstrLocalFile = SysAllocString(local);
    info.dwSizeHint = 0;
    assert_hr(S_OK, IBackgroundCopyJob1_AddFiles(job, 1, infos));
    SysFreeString(info.bstrRemoteFile);
    SysFreeString(info.bstrLocalFile);
}

static DWORD status_of(IBackgroundCopyGroup *group)
{
    DWORD status = 0xdeadbeef, index = 0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyGroup_GetStatus(group, &status, &index));
    assert_int_equal(index, 0);
    return status;
}

static HRESULT set_int(IBackgroundCopyGroup *group, GROUPPROP id, VARTYPE type, LONG value)
{
    VARIANT v;

    VariantInit(&v);
    V_VT(&v) = type;
    switch (type)
    {
    case VT_I2: V_I2(&v) = (SHORT)value; break;
    case VT_UI2: V_UI2(&v) = (USHORT)value; break;
    case VT_UI4: V_UI4(&v) = (ULONG)value; break;
    case VT_INT: V_INT(&v) = value; break;
    case VT_UINT: V_UINT(&v) = (UINT)value; break;
    case VT_R8: V_R8(&v) = value; break;
    default: V_I4(&v) = value; break;
    }
    return IBackgroundCopyGroup_SetProp(group, id, &v);
}

static HRESULT set_string(IBackgroundCopyGroup *group, GROUPPROP id, const WCHAR *text)
{
    VARIANT v;
    HRESULT hr;

    V_VT(&v) = VT_BSTR;
    V_BSTR(&v) = text ? SysAllocString(text) : NULL;
    hr = IBackgroundCopyGroup_SetProp(group, id, &v);
    VariantClear(&v);
    return hr;
}

static LONG get_int(IBackgroundCopyGroup *group, GROUPPROP id)
{
    VARIANT v;

    memset(&v, 0xcc, sizeof(v));
    assert_hr(S_OK, IBackgroundCopyGroup_GetProp(group, id, &v));
    assert_int_equal(V_VT(&v), VT_I4);
    return V_I4(&v);
}

/* The string property, compared with `expected`. */
static void check_string(IBackgroundCopyGroup *group, GROUPPROP id, const WCHAR *expected)
{
    VARIANT v;

    memset(&v, 0xcc, sizeof(v));
    assert_hr(S_OK, IBackgroundCopyGroup_GetProp(group, id, &v));
    assert_int_equal(V_VT(&v), VT_BSTR);
    assert_non_null(V_BSTR(&v));
    if (wcscmp(V_BSTR(&v), expected)) fail_msg("property %d is \"%ls\", not \"%ls\"", id, V_BSTR(&v), expected);
    assert_int_equal(SysStringLen(V_BSTR(&v)), wcslen(expected));
    VariantClear(&v);
}

/* --- tests ------------------------------------------------------------------------------------ */

static void test_priority_and_protocol(void **state)
{
    static const VARTYPE types[] = { VT_I4, VT_I2, VT_UI4, VT_UI2, VT_INT, VT_UINT };
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    size_t i;

    /* Only priority 1 and HTTP exist, in any integer type; both always read back so. */
    assert_int_equal(get_int(group, GROUPPROP_PRIORITY), 1);
    assert_int_equal(get_int(group, GROUPPROP_PROTOCOLFLAGS), QM_PROTOCOL_HTTP);
    for (i = 0; i < ARRAYSIZE(types); ++i)
    {
        assert_hr(S_OK, set_int(group, GROUPPROP_PRIORITY, types[i], 1));
        assert_hr(S_OK, set_int(group, GROUPPROP_PROTOCOLFLAGS, types[i], QM_PROTOCOL_HTTP));
        assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PRIORITY, types[i], 2));
        assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PROTOCOLFLAGS, types[i], QM_PROTOCOL_FTP));
    }
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PRIORITY, VT_I4, 0));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PRIORITY, VT_I4, -1));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PROTOCOLFLAGS, VT_I4, QM_PROTOCOL_SMB));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_PROTOCOLFLAGS, VT_I4, QM_PROTOCOL_CUSTOM));
    /* Wrong VARIANT types. */
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_PRIORITY, VT_R8, 1));
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_PRIORITY, VT_EMPTY, 1));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_PRIORITY, L"1"));
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_PROTOCOLFLAGS, VT_I4 | VT_BYREF, 1));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_PROTOCOLFLAGS, L"1"));
    assert_int_equal(get_int(group, GROUPPROP_PRIORITY), 1);
    test_drop_group(group);
}

static void test_notify_flags(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);

    assert_int_equal(get_int(group, GROUPPROP_NOTIFYFLAGS), 0);
    assert_hr(S_OK, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, QM_NOTIFY_GROUP_DONE));
    assert_int_equal(get_int(group, GROUPPROP_NOTIFYFLAGS), QM_NOTIFY_GROUP_DONE);
    assert_hr(S_OK, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_UI2, QM_NOTIFY_GROUP_DONE | QM_NOTIFY_DISABLE_NOTIFY));
    assert_int_equal(get_int(group, GROUPPROP_NOTIFYFLAGS), QM_NOTIFY_GROUP_DONE | QM_NOTIFY_DISABLE_NOTIFY);
    /* Unsupported flags (§10.3) and unknown ones: E_NOTIMPL, nothing changes. */
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, QM_NOTIFY_FILE_DONE));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, QM_NOTIFY_JOB_DONE));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, QM_NOTIFY_USE_PROGRESSEX | QM_NOTIFY_GROUP_DONE));
    assert_hr(E_NOTIMPL, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, 0x100));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_NOTIFYFLAGS, L"4"));
    assert_int_equal(get_int(group, GROUPPROP_NOTIFYFLAGS), QM_NOTIFY_GROUP_DONE | QM_NOTIFY_DISABLE_NOTIFY);
    assert_hr(S_OK, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_UINT, 0));
    assert_int_equal(get_int(group, GROUPPROP_NOTIFYFLAGS), 0);
    test_drop_group(group);
}

static void test_notify_clsid(void **state)
{
    static const WCHAR clsid_text[] = L"{8F1A0C3E-2D3B-4C5D-9E6F-7A8B9C0D1E2F}";
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);

    check_string(group, GROUPPROP_NOTIFYCLSID, L"");
    assert_hr(S_OK, set_string(group, GROUPPROP_NOTIFYCLSID, clsid_text));
    check_string(group, GROUPPROP_NOTIFYCLSID, clsid_text);
    assert_hr(S_OK, set_string(group, GROUPPROP_NOTIFYCLSID, L"{8f1a0c3e-2d3b-4c5d-9e6f-7a8b9c0d1e2f}"));
    check_string(group, GROUPPROP_NOTIFYCLSID, clsid_text);
    /* Not a CLSID string, or not a string: E_INVALIDARG, nothing changes. */
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_NOTIFYCLSID, L"not a clsid"));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_NOTIFYCLSID, L"8F1A0C3E-2D3B-4C5D-9E6F-7A8B9C0D1E2F"));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_NOTIFYCLSID, L"{8F1A0C3E-2D3B-4C5D-9E6F-7A8B9C0D1E2F}x"));
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_NOTIFYCLSID, L"{8F1A0C3E-2D3B-4C5D-9E6F-7A8B9C0D1EXX}"));
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_NOTIFYCLSID, VT_I4, 1));
    check_string(group, GROUPPROP_NOTIFYCLSID, clsid_text);
    /* An empty string (or a NULL BSTR) clears it (unconfirmed). */
    assert_hr(S_OK, set_string(group, GROUPPROP_NOTIFYCLSID, L""));
    check_string(group, GROUPPROP_NOTIFYCLSID, L"");
    assert_hr(S_OK, set_string(group, GROUPPROP_NOTIFYCLSID, clsid_text));
    assert_hr(S_OK, set_string(group, GROUPPROP_NOTIFYCLSID, NULL));
    check_string(group, GROUPPROP_NOTIFYCLSID, L"");
    test_drop_group(group);
}

/* The display name and description are the job's own (one job underneath). */
static void test_name_and_description(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob *job;
    WCHAR long_text[1100], *text;

    check_string(group, GROUPPROP_DISPLAYNAME, L"");
    check_string(group, GROUPPROP_DESCRIPTION, L"");
    assert_hr(S_OK, set_string(group, GROUPPROP_DISPLAYNAME, L"legacy group"));
    assert_hr(S_OK, set_string(group, GROUPPROP_DESCRIPTION, L"what it downloads"));
    check_string(group, GROUPPROP_DISPLAYNAME, L"legacy group");
    check_string(group, GROUPPROP_DESCRIPTION, L"what it downloads");
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&job));
    assert_hr(S_OK, IBackgroundCopyJob_GetDisplayName(job, &text));
    assert_true(!wcscmp(text, L"legacy group"));
    CoTaskMemFree(text);
    assert_hr(S_OK, IBackgroundCopyJob_SetDescription(job, L"set by the job"));
    check_string(group, GROUPPROP_DESCRIPTION, L"set by the job");
    IBackgroundCopyJob_Release(job);

    /* Limits: 256 and 1,024 characters; more is E_INVALIDARG (unconfirmed). */
    wmemset(long_text, L'x', ARRAYSIZE(long_text));
    long_text[257] = 0;
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_DISPLAYNAME, long_text));
    long_text[256] = 0;
    assert_hr(S_OK, set_string(group, GROUPPROP_DISPLAYNAME, long_text));
    check_string(group, GROUPPROP_DISPLAYNAME, long_text);
    wmemset(long_text, L'y', ARRAYSIZE(long_text));
    long_text[1025] = 0;
    assert_hr(E_INVALIDARG, set_string(group, GROUPPROP_DESCRIPTION, long_text));
    long_text[1024] = 0;
    assert_hr(S_OK, set_string(group, GROUPPROP_DESCRIPTION, long_text));
    check_string(group, GROUPPROP_DESCRIPTION, long_text);

    /* Not strings: E_INVALIDARG. A NULL BSTR is the empty string. */
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_DISPLAYNAME, VT_I4, 1));
    assert_hr(E_INVALIDARG, set_int(group, GROUPPROP_DESCRIPTION, VT_EMPTY, 0));
    assert_hr(S_OK, set_string(group, GROUPPROP_DISPLAYNAME, NULL));
    check_string(group, GROUPPROP_DISPLAYNAME, L"");
    test_drop_group(group);
}

static void test_unsupported_and_unknown_properties(void **state)
{
    static const GROUPPROP unsupported[] =
    {
        GROUPPROP_REMOTEUSERID, GROUPPROP_REMOTEUSERPWD, GROUPPROP_LOCALUSERID, GROUPPROP_LOCALUSERPWD,
        GROUPPROP_PROGRESSSIZE, GROUPPROP_PROGRESSPERCENT, GROUPPROP_PROGRESSTIME,
        (GROUPPROP)13, (GROUPPROP)-1, (GROUPPROP)0x7fffffff,
    };
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    VARIANT v;
    size_t i;

    for (i = 0; i < ARRAYSIZE(unsupported); ++i)
    {
        memset(&v, 0xcc, sizeof(v));
        assert_hr(E_NOTIMPL, IBackgroundCopyGroup_GetProp(group, unsupported[i], &v));
        assert_int_equal(V_VT(&v), VT_EMPTY);
        assert_hr(E_NOTIMPL, set_string(group, unsupported[i], L"user"));
        assert_hr(E_NOTIMPL, set_int(group, unsupported[i], VT_I4, 1));
    }
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_GetProp(group, GROUPPROP_PRIORITY, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_SetProp(group, GROUPPROP_PRIORITY, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_SetProp(group, GROUPPROP_DISPLAYNAME, NULL));
    test_drop_group(group);
}

static void test_progress_and_size(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob1 *job;
    DWORD progress = 0xdeadbeef, size = 0xdeadbeef;

    assert_hr(S_OK, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_PERCENT_DONE, &progress));
    assert_int_equal(progress, 0);
    progress = 0xdeadbeef;
    assert_hr(S_OK, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_SIZE_DONE, &progress));
    assert_int_equal(progress, 0);
    /* TIME_DONE is documented as not supported; other values are invalid enums. */
    progress = 0xdeadbeef;
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_TIME_DONE, &progress));
    assert_int_equal(progress, 0xdeadbeef);
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_GetProgress(group, 0, &progress));
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_GetProgress(group, 4, &progress));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_PERCENT_DONE, NULL));

    assert_hr(S_OK, IBackgroundCopyGroup_get_Size(group, &size));
    assert_int_equal(size, 0);
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_get_Size(group, NULL));
    /* Sizes unknown until the transfer: 0. */
    job = create_job(group, NULL);
    add_file(job, L"http://127.0.0.1:1/a", L"a.bin");
    size = 0xdeadbeef;
    assert_hr(S_OK, IBackgroundCopyGroup_get_Size(group, &size));
    assert_int_equal(size, 0);
    assert_hr(S_OK, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_PERCENT_DONE, &progress));
    assert_int_equal(progress, 0);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
}

static void test_status(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob1 *job;
    IBackgroundCopyJob *modern;
    BG_JOB_PRIORITY priority;
    DWORD status = 0xdeadbeef, index = 0xdeadbeef;

    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_GetStatus(group, NULL, &index));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_GetStatus(group, &status, NULL));
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);

    /* Foreground: the flag, and the job's priority. */
    assert_hr(S_OK, IBackgroundCopyGroup_SwitchToForeground(group));
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED
                                       | QM_STATUS_GROUP_FOREGROUND);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    assert_hr(S_OK, IBackgroundCopyJob_GetPriority(modern, &priority));
    assert_int_equal(priority, BG_JOB_PRIORITY_FOREGROUND);
    assert_int_equal(get_int(group, GROUPPROP_PRIORITY), 1);

    /* Resumed: no longer suspended (the port refuses connections: the job retries later);
     * SuspendGroup suspends it again. */
    job = create_job(group, NULL);
    add_file(job, L"http://127.0.0.1:1/refused", L"refused.bin");
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_FOREGROUND);
    assert_hr(S_OK, IBackgroundCopyGroup_SuspendGroup(group));
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED
                                       | QM_STATUS_GROUP_FOREGROUND);
    assert_int_equal(test_job_state(modern), BG_JOB_STATE_SUSPENDED);
    IBackgroundCopyJob_Release(modern);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
}

static void test_suspend_resume(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob *modern;

    assert_hr(S_OK, IBackgroundCopyGroup_SuspendGroup(group));
    assert_hr(S_OK, IBackgroundCopyGroup_SuspendGroup(group));
    /* Nothing to transfer: the job's BG_E_EMPTY (unconfirmed), still suspended. */
    assert_hr(BG_E_EMPTY, IBackgroundCopyGroup_ResumeGroup(group));
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    assert_int_equal(test_job_state(modern), BG_JOB_STATE_SUSPENDED);
    IBackgroundCopyJob_Release(modern);
    test_drop_group(group);
}

static void test_create_and_get_job(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL), *back;
    IBackgroundCopyJob1 *job, *found = (IBackgroundCopyJob1 *)(ULONG_PTR)0xdeadbeef, *second;
    GUID id, other, got;

    assert_hr(S_OK, CoCreateGuid(&id));
    assert_hr(S_OK, CoCreateGuid(&other));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_GetJob(group, id, NULL));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyGroup_GetJob(group, id, &found));
    assert_null(found);

    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_CreateJob(group, id, NULL));
    second = (IBackgroundCopyJob1 *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_CreateJob(group, GUID_NULL, &second));
    assert_null(second);
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, id, &job));
    assert_refcount(group, 2);            /* one object */
    assert_hr(S_OK, IBackgroundCopyJob1_get_JobID(job, &got));
    assert_true(IsEqualGUID(&got, &id));
    check_interface(group, IID_IBackgroundCopyJob1, TRUE);
    assert_hr(S_OK, IBackgroundCopyJob1_QueryInterface(job, &IID_IBackgroundCopyGroup, (void **)&back));
    assert_ptr_equal(back, group);
    IBackgroundCopyGroup_Release(back);

    /* One job per group. */
    second = (IBackgroundCopyJob1 *)(ULONG_PTR)0xdeadbeef;
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_CreateJob(group, other, &second));
    assert_null(second);
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_CreateJob(group, id, &second));

    assert_hr(S_OK, IBackgroundCopyGroup_GetJob(group, id, &found));
    assert_ptr_equal(found, job);
    IBackgroundCopyJob1_Release(found);
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyGroup_GetJob(group, other, &found));
    assert_hr(QM_E_ITEM_NOT_FOUND, IBackgroundCopyGroup_GetJob(group, GUID_NULL, &found));
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
}

/* No job can be made while the group transfers (QM_E_INVALID_STATE): here its files came through
 * the job behind it, and the refused port keeps it retrying. */
static void test_create_job_while_active(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IBackgroundCopyJob1 *job = (IBackgroundCopyJob1 *)(ULONG_PTR)0xdeadbeef;
    IBackgroundCopyJob *modern;
    WCHAR local[MAX_PATH];
    GUID id;

    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&modern));
    local_path(L"active.bin", local);
    assert_hr(S_OK, IBackgroundCopyJob_AddFile(modern, L"http://127.0.0.1:1/active", local));
    assert_hr(S_OK, IBackgroundCopyGroup_ResumeGroup(group));
    assert_hr(S_OK, CoCreateGuid(&id));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_CreateJob(group, id, &job));
    assert_null(job);
    assert_hr(S_OK, IBackgroundCopyGroup_SuspendGroup(group));
    assert_hr(S_OK, IBackgroundCopyGroup_CreateJob(group, id, &job));
    IBackgroundCopyJob1_Release(job);
    IBackgroundCopyJob_Release(modern);
    test_drop_group(group);
}

static void test_enum_jobs(void **state)
{
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IEnumBackgroundCopyJobs1 *jobs = (IEnumBackgroundCopyJobs1 *)(ULONG_PTR)0xdeadbeef;
    IBackgroundCopyJob1 *job;
    ULONG count, fetched;
    GUID id, got[2];

    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_EnumJobs(group, 0, NULL));
    assert_hr(E_NOTIMPL, IBackgroundCopyGroup_EnumJobs(group, 1, &jobs));
    assert_null(jobs);
    assert_hr(S_OK, IBackgroundCopyGroup_EnumJobs(group, 0, &jobs));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_GetCount(jobs, &count));
    assert_int_equal(count, 0);
    IEnumBackgroundCopyJobs1_Release(jobs);

    job = create_job(group, &id);
    assert_hr(S_OK, IBackgroundCopyGroup_EnumJobs(group, 0, &jobs));
    assert_hr(S_OK, IEnumBackgroundCopyJobs1_GetCount(jobs, &count));
    assert_int_equal(count, 1);
    assert_hr(S_FALSE, IEnumBackgroundCopyJobs1_Next(jobs, 2, got, &fetched));
    assert_int_equal(fetched, 1);
    assert_true(IsEqualGUID(&got[0], &id));
    assert_true(IsEqualGUID(&got[1], &GUID_NULL));
    IEnumBackgroundCopyJobs1_Release(jobs);
    IBackgroundCopyJob1_Release(job);
    test_drop_group(group);
}

static void test_group_id(void **state)
{
    IBackgroundCopyGroup *group;
    GUID id, got;

    group = test_create_group(qmgr, &id);
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_get_GroupID(group, NULL));
    assert_hr(S_OK, IBackgroundCopyGroup_get_GroupID(group, &got));
    assert_true(IsEqualGUID(&got, &id));
    test_drop_group(group);
}

static void test_query_new_job_interface(void **state)
{
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob5 *job5;
    IUnknown *unk = (IUnknown *)(ULONG_PTR)0xdeadbeef;
    IBackgroundCopyJob *job;
    GUID id, got;

    group = test_create_group(qmgr, &id);
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_QueryNewJobInterface(group, NULL, &unk));
    assert_null(unk);
    assert_hr(E_NOINTERFACE, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyQMgr, &unk));
    assert_null(unk);
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob, (IUnknown **)&job));
    assert_hr(S_OK, IBackgroundCopyJob_GetId(job, &got));
    assert_true(IsEqualGUID(&got, &id));
    assert_hr(S_OK, IBackgroundCopyGroup_QueryNewJobInterface(group, &IID_IBackgroundCopyJob5, (IUnknown **)&job5));
    assert_ptr_equal((void *)job5, (void *)job);
    IBackgroundCopyJob5_Release(job5);
    IBackgroundCopyJob_Release(job);
    test_drop_group(group);
}

static void test_notification_pointer(void **state)
{
    struct callback1 callback = { { &callback1_vtbl }, 1 };
    IUnknown plain = { &plain_vtbl };
    IBackgroundCopyGroup *group = test_create_group(qmgr, NULL);
    IUnknown *unk = (IUnknown *)&callback.IBackgroundCopyCallback1_iface;

    assert_hr(E_INVALIDARG, IBackgroundCopyGroup_SetNotificationPointer(group, NULL, unk));
    assert_hr(E_NOINTERFACE, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IUnknown, unk));
    assert_hr(E_NOINTERFACE, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback, unk));
    assert_int_equal(callback.refcount, 1);
    /* An object that is no IBackgroundCopyCallback1. */
    assert_hr(E_NOINTERFACE, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1, &plain));
    assert_int_equal(plain_refcount, 1);

    assert_hr(S_OK, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1, unk));
    assert_true(callback.refcount > 1);   /* kept (in the GIT) */
    assert_hr(S_OK, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1, NULL));
    assert_int_equal(callback.refcount, 1);
    /* Kept until the group goes. */
    assert_hr(S_OK, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1, unk));
    test_drop_group(group);
    assert_int_equal(callback.refcount, 1);
}

/* After CancelGroup: whatever would change the group answers QM_E_INVALID_STATE; reading it
 * still works. */
static void test_after_cancel(void **state)
{
    struct callback1 callback = { { &callback1_vtbl }, 1 };
    IBackgroundCopyGroup *group;
    IBackgroundCopyJob1 *job, *found;
    IEnumBackgroundCopyJobs1 *jobs;
    DWORD progress, size;
    GUID id, job_id, got;

    group = test_create_group(qmgr, &id);
    job = create_job(group, &job_id);
    assert_hr(S_OK, set_string(group, GROUPPROP_DISPLAYNAME, L"cancelled"));
    assert_hr(S_OK, IBackgroundCopyGroup_CancelGroup(group));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_CancelGroup(group));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_SuspendGroup(group));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_ResumeGroup(group));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_SwitchToForeground(group));
    assert_hr(QM_E_INVALID_STATE, set_int(group, GROUPPROP_PRIORITY, VT_I4, 1));
    assert_hr(QM_E_INVALID_STATE, set_int(group, GROUPPROP_NOTIFYFLAGS, VT_I4, QM_NOTIFY_GROUP_DONE));
    assert_hr(QM_E_INVALID_STATE, set_string(group, GROUPPROP_DISPLAYNAME, L"again"));
    assert_hr(QM_E_INVALID_STATE, set_string(group, GROUPPROP_NOTIFYCLSID, L""));
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_SetNotificationPointer(group, &IID_IBackgroundCopyCallback1,
                                  (IUnknown *)&callback.IBackgroundCopyCallback1_iface));
    assert_int_equal(callback.refcount, 1);
    assert_hr(QM_E_INVALID_STATE, IBackgroundCopyGroup_CreateJob(group, job_id, &found));

    check_string(group, GROUPPROP_DISPLAYNAME, L"cancelled");
    assert_int_equal(status_of(group), QM_STATUS_GROUP_INCOMPLETE | QM_STATUS_GROUP_SUSPENDED);
    assert_hr(S_OK, IBackgroundCopyGroup_get_GroupID(group, &got));
    assert_true(IsEqualGUID(&got, &id));
    assert_hr(S_OK, IBackgroundCopyGroup_GetProgress(group, QM_PROGRESS_SIZE_DONE, &progress));
    assert_hr(S_OK, IBackgroundCopyGroup_get_Size(group, &size));
    assert_hr(S_OK, IBackgroundCopyGroup_GetJob(group, job_id, &found));
    IBackgroundCopyJob1_Release(found);
    assert_hr(S_OK, IBackgroundCopyGroup_EnumJobs(group, 0, &jobs));
    IEnumBackgroundCopyJobs1_Release(jobs);
    IBackgroundCopyJob1_Release(job);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_priority_and_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_clsid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_and_description, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_and_unknown_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_and_get_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_job_while_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_new_job_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_cancel, setup, teardown),
    };

    if (argc == 2) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("group", tests, group_setup, group_teardown);
}
