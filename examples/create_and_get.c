/* SPDX-License-Identifier: MIT */
/* A plain BITS client, as any program would write it: CoCreateInstance the manager, create a
 * job, find it again with GetJob, print what the job says, and cancel it. It shows which DLL
 * served the manager, so a run proves that openbits answered. */
#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"

static const char *state_name(BG_JOB_STATE state)
{
    static const char *const names[] = { "QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
                                         "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED" };
    return (unsigned int)state < ARRAYSIZE(names) ? names[state] : "?";
}

static void print_server(IUnknown *object)
{
    WCHAR path[MAX_PATH] = L"?";
    HMODULE module;

    if (GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           *(void **)object, &module))
        GetModuleFileNameW(module, path, ARRAYSIZE(path));
    printf("manager served by: %ls\n", path);
}

int main(void)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job, *found;
    BG_JOB_STATE state;
    WCHAR *name, id_str[39];
    HRESULT hr;
    GUID id;
    int result = 1;

    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_ALL, &IID_IBackgroundCopyManager,
                          (void **)&manager);
    if (FAILED(hr))
    {
        printf("CoCreateInstance failed: %#lx\n", hr);
        goto out;
    }
    print_server((IUnknown *)manager);

    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"openbits demo", BG_JOB_TYPE_DOWNLOAD, &id, &job)))
    {
        printf("CreateJob failed: %#lx\n", hr);
        goto out_manager;
    }
    StringFromGUID2(&id, id_str, ARRAYSIZE(id_str));
    printf("created job %ls\n", id_str);

    if (FAILED(hr = IBackgroundCopyManager_GetJob(manager, &id, &found)))
        printf("GetJob failed: %#lx\n", hr);
    else
    {
        IBackgroundCopyJob_GetState(found, &state);
        IBackgroundCopyJob_GetDisplayName(found, &name);
        printf("GetJob found it: \"%ls\", state %s, same object: %s\n", name, state_name(state),
               found == job ? "yes" : "no");
        CoTaskMemFree(name);
        IBackgroundCopyJob_Release(found);
        result = 0;
    }
    hr = IBackgroundCopyJob_Cancel(job);
    IBackgroundCopyJob_GetState(job, &state);
    printf("cancelled: %#lx, state %s\n", hr, state_name(state));
    IBackgroundCopyJob_Release(job);
out_manager:
    IBackgroundCopyManager_Release(manager);
out:
    CoUninitialize();
    return result;
}
