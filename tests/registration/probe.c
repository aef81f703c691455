/* SPDX-License-Identifier: MIT */
/* A BITS client in a process of its own, for the registration tests.
 *
 *   registration_probe.exe inproc|all {CLSID}
 *
 * CoCreateInstance(clsid, CLSCTX_INPROC_SERVER or CLSCTX_ALL), then creates a job, finds it
 * again with GetJob and cancels it. Exit codes:
 *   0   the object's code lives in openbits.dll, loaded in this process, and the job round trip worked;
 *   10  a working BITS answered, and it is not openbits (openbits.dll is not even loaded);
 *   1   CoCreateInstance failed (the HRESULT is printed);
 *   2   the job round trip failed; 3 bad usage. */
#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"

static BOOL code_is_in(const void *address, const WCHAR *module_name)
{
    WCHAR path[MAX_PATH];
    const WCHAR *base;
    HMODULE module;

    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            address, &module))
        return FALSE;
    if (!GetModuleFileNameW(module, path, ARRAYSIZE(path))) return FALSE;
    base = wcsrchr(path, L'\\');
    return !_wcsicmp(base ? base + 1 : path, module_name);
}

static HRESULT job_round_trip(IUnknown *unk, const CLSID *clsid)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyQMgr *qmgr;
    IBackgroundCopyJob *job, *found;
    HRESULT hr;
    GUID id;

    if (SUCCEEDED(IUnknown_QueryInterface(unk, &IID_IBackgroundCopyQMgr, (void **)&qmgr)))
    {
        IBackgroundCopyQMgr_Release(qmgr);   /* legacy class: its identity is all we check here */
        return S_OK;
    }
    if (FAILED(hr = IUnknown_QueryInterface(unk, &IID_IBackgroundCopyManager, (void **)&manager))) return hr;
    if (SUCCEEDED(hr = IBackgroundCopyManager_CreateJob(manager, L"probe", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        if (SUCCEEDED(hr = IBackgroundCopyManager_GetJob(manager, &id, &found)))
            IBackgroundCopyJob_Release(found);
        IBackgroundCopyJob_Cancel(job);
        IBackgroundCopyJob_Release(job);
    }
    IBackgroundCopyManager_Release(manager);
    return hr;
}

int wmain(int argc, WCHAR **argv)
{
    DWORD context;
    IUnknown *unk;
    CLSID clsid;
    HRESULT hr;
    int result;

    if (argc != 3 || FAILED(CLSIDFromString(argv[2], &clsid))) return 3;
    if (!wcscmp(argv[1], L"inproc")) context = CLSCTX_INPROC_SERVER;
    else if (!wcscmp(argv[1], L"all")) context = CLSCTX_ALL;
    else return 3;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    hr = CoCreateInstance(&clsid, NULL, context, &IID_IUnknown, (void **)&unk);
    if (FAILED(hr))
    {
        printf("CoCreateInstance: %#lx\n", hr);
        CoUninitialize();
        return 1;
    }
    if (code_is_in(*(void **)unk, L"openbits.dll"))
        result = 0;
    else if (!GetModuleHandleW(L"openbits.dll"))
        result = 10;
    else
        result = 2;
    if (FAILED(hr = job_round_trip(unk, &clsid)))
    {
        printf("job round trip: %#lx\n", hr);
        result = 2;
    }
    IUnknown_Release(unk);
    CoUninitialize();
    printf("%s\n", result == 0 ? "openbits" : result == 10 ? "another BITS" : "failed");
    return result;
}
