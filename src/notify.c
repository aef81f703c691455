/* SPDX-License-Identifier: MIT */
#include "notify.h"

static HRESULT get_git(IGlobalInterfaceTable **git)
{
    return CoCreateInstance(&CLSID_StdGlobalInterfaceTable, NULL, CLSCTX_INPROC_SERVER,
                            &IID_IGlobalInterfaceTable, (void **)git);
}

HRESULT notify_register(IUnknown *object, REFIID iid, DWORD *cookie)
{
    IGlobalInterfaceTable *git;
    HRESULT hr;

    *cookie = 0;
    if (!object) return S_OK;
    if (FAILED(hr = get_git(&git))) return hr;
    hr = IGlobalInterfaceTable_RegisterInterfaceInGlobal(git, object, iid, cookie);
    IGlobalInterfaceTable_Release(git);
    return hr;
}

void notify_revoke(DWORD cookie)
{
    IGlobalInterfaceTable *git;

    if (!cookie || FAILED(get_git(&git))) return;
    IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, cookie);
    IGlobalInterfaceTable_Release(git);
}

HRESULT notify_get(DWORD cookie, REFIID iid, void **out)
{
    IGlobalInterfaceTable *git;
    HRESULT hr;

    *out = NULL;
    if (!cookie) return S_OK;
    if (FAILED(hr = get_git(&git))) return hr;
    hr = IGlobalInterfaceTable_GetInterfaceFromGlobal(git, cookie, iid, out);
    IGlobalInterfaceTable_Release(git);
    return hr;
}
