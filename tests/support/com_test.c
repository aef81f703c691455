/* SPDX-License-Identifier: MIT */
#include "com_test.h"

void test_file_path(const WCHAR *name, WCHAR *path, size_t size)
{
    DWORD len = GetModuleFileNameW(NULL, path, (DWORD)size);
    WCHAR *slash;

    assert_true(len > 0 && len < size);
    slash = wcsrchr(path, L'\\');
    assert_non_null(slash);
    assert_true((size_t)(slash + 1 - path) + wcslen(name) < size);
    wcscpy(slash + 1, name);
}

void openbits_dll_load(struct openbits_dll *dll)
{
    WCHAR path[MAX_PATH];

    memset(dll, 0, sizeof(*dll));
    test_file_path(L"openbits.dll", path, ARRAYSIZE(path));
    dll->module = LoadLibraryW(path);
    if (!dll->module) fail_msg("cannot load %ls: error %lu", path, GetLastError());
    dll->DllGetClassObject = (void *)GetProcAddress(dll->module, "DllGetClassObject");
    dll->DllCanUnloadNow = (void *)GetProcAddress(dll->module, "DllCanUnloadNow");
    dll->DllRegisterServer = (void *)GetProcAddress(dll->module, "DllRegisterServer");
    dll->DllUnregisterServer = (void *)GetProcAddress(dll->module, "DllUnregisterServer");
    dll->DllInstall = (void *)GetProcAddress(dll->module, "DllInstall");
    assert_non_null(dll->DllGetClassObject);
    assert_non_null(dll->DllCanUnloadNow);
    assert_non_null(dll->DllRegisterServer);
    assert_non_null(dll->DllUnregisterServer);
    assert_non_null(dll->DllInstall);
}

void openbits_dll_unload(struct openbits_dll *dll)
{
    if (dll->module) FreeLibrary(dll->module);
    memset(dll, 0, sizeof(*dll));
}

HRESULT openbits_create(struct openbits_dll *dll, const CLSID *clsid, const IID *iid, void **out)
{
    IClassFactory *factory;
    HRESULT hr;

    *out = NULL;
    if (FAILED(hr = dll->DllGetClassObject(clsid, &IID_IClassFactory, (void **)&factory))) return hr;
    hr = IClassFactory_CreateInstance(factory, NULL, iid, out);
    IClassFactory_Release(factory);
    return hr;
}

int com_group_setup(struct openbits_dll *dll)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    openbits_dll_load(dll);
    return 0;
}

int com_group_teardown(struct openbits_dll *dll)
{
    openbits_dll_unload(dll);
    CoUninitialize();
    return 0;
}

void test_dir_create(const WCHAR *name, WCHAR *dir, size_t size)
{
    test_file_path(name, dir, size);
    CreateDirectoryW(dir, NULL);
}

int test_manager_open_(struct openbits_dll *dll, const CLSID *clsid, IBackgroundCopyManager **out,
                       const char *file, int line)
{
    HRESULT hr = openbits_create(dll, clsid, &IID_IBackgroundCopyManager, (void **)out);

    _assert_int_equal((uint32_t)S_OK, (uint32_t)hr, file, line);
    return 0;
}

int test_manager_close_(struct openbits_dll *dll, IBackgroundCopyManager **out, const char *file, int line)
{
    _assert_int_equal(IBackgroundCopyManager_Release(*out), 0, file, line);
    *out = NULL;
    _assert_int_equal((uint32_t)S_OK, (uint32_t)dll->DllCanUnloadNow(), file, line);
    return 0;
}

int test_qmgr_open_(struct openbits_dll *dll, IBackgroundCopyQMgr **out, const char *file, int line)
{
    HRESULT hr = openbits_create(dll, &CLSID_BackgroundCopyQMgr, &IID_IBackgroundCopyQMgr, (void **)out);

    _assert_int_equal((uint32_t)S_OK, (uint32_t)hr, file, line);
    return 0;
}

int test_qmgr_close_(struct openbits_dll *dll, IBackgroundCopyQMgr **out, const char *file, int line)
{
    _assert_int_equal(IBackgroundCopyQMgr_Release(*out), 0, file, line);
    *out = NULL;
    _assert_int_equal((uint32_t)S_OK, (uint32_t)dll->DllCanUnloadNow(), file, line);
    return 0;
}

IBackgroundCopyJob5 *test_create_job(IBackgroundCopyManager *manager, const WCHAR *name, BG_JOB_TYPE type)
{
    IBackgroundCopyJob *created;
    IBackgroundCopyJob5 *job5;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, name, type, &id, &created));
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(created, &IID_IBackgroundCopyJob5, (void **)&job5));
    IBackgroundCopyJob_Release(created);
    return job5;
}

BG_JOB_STATE test_job_state(void *job)
{
    BG_JOB_STATE state = (BG_JOB_STATE)-1;

    assert_hr(S_OK, IBackgroundCopyJob_GetState((IBackgroundCopyJob *)job, &state));
    return state;
}

IBackgroundCopyGroup *test_create_group(IBackgroundCopyQMgr *qmgr, GUID *id)
{
    IBackgroundCopyGroup *group = NULL;
    GUID new_id;

    assert_hr(S_OK, CoCreateGuid(&new_id));
    assert_hr(S_OK, IBackgroundCopyQMgr_CreateGroup(qmgr, new_id, &group));
    assert_non_null(group);
    if (id) *id = new_id;
    return group;
}

void test_drop_group(IBackgroundCopyGroup *group)
{
    HRESULT hr = IBackgroundCopyGroup_CancelGroup(group);

    assert_true(hr == S_OK || hr == (HRESULT)QM_E_INVALID_STATE);
    assert_int_equal(IBackgroundCopyGroup_Release(group), 0);
}

void test_drop_job(void *job)
{
    BG_JOB_STATE state = test_job_state(job);

    if (state != BG_JOB_STATE_CANCELLED && state != BG_JOB_STATE_ACKNOWLEDGED)
        assert_hr(S_OK, IBackgroundCopyJob_Cancel((IBackgroundCopyJob *)job));
    assert_int_equal(IBackgroundCopyJob_Release((IBackgroundCopyJob *)job), 0);
}
