/* SPDX-License-Identifier: MIT */
/* What the transfer benchmarks (bench_download.c, bench_upload.c) share as BITS clients: their
 * notification object and openbits.dll loaded in process. Header-only: the scripts build each
 * benchmark from its one source file. */
#ifndef OPENBITS_BENCH_CLIENT_H
#define OPENBITS_BENCH_CLIENT_H

#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <objbase.h>
#include <stdio.h>

#include "bits.h"

/* --- the client's notification object --------------------------------------------------------- */

/* One for all jobs. The callbacks come on BITS' threads (openbits: its workers; Wine: RPC
 * threads of our MTA), so everything here is interlocked or an event. */
struct callback
{
    IBackgroundCopyCallback IBackgroundCopyCallback_iface;
    LONG refcount;
    LONG remaining;               /* jobs still to report JobTransferred */
    LONGLONG last_transferred;    /* QueryPerformanceCounter at the last JobTransferred */
    HANDLE done;                  /* manual-reset: every job transferred, or one failed */
    LONG failed;                  /* a JobError came */
    HRESULT error_code;
    BG_ERROR_CONTEXT error_context;
};

static struct callback *impl_from_IBackgroundCopyCallback(IBackgroundCopyCallback *iface)
{
    return CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback_iface);
}

static HRESULT WINAPI callback_QueryInterface(IBackgroundCopyCallback *iface, REFIID iid, void **out)
{
    if (IsEqualIID(iid, &IID_IUnknown) || IsEqualIID(iid, &IID_IBackgroundCopyCallback))
    {
        *out = iface;
        IBackgroundCopyCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI callback_AddRef(IBackgroundCopyCallback *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyCallback(iface)->refcount);
}

/* The object is static in the benchmark's main: the last Release frees nothing. */
static ULONG WINAPI callback_Release(IBackgroundCopyCallback *iface)
{
    return InterlockedDecrement(&impl_from_IBackgroundCopyCallback(iface)->refcount);
}

static HRESULT WINAPI callback_JobTransferred(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback(iface);
    LARGE_INTEGER now;

    QueryPerformanceCounter(&now);
    if (InterlockedDecrement(&callback->remaining) == 0)
    {
        callback->last_transferred = now.QuadPart;
        SetEvent(callback->done);
    }
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job,
                                        IBackgroundCopyError *error)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback(iface);
    BG_ERROR_CONTEXT context = 0;
    HRESULT code = E_FAIL;

    IBackgroundCopyError_GetError(error, &context, &code);
    if (InterlockedCompareExchange(&callback->failed, 1, 0) == 0)
    {
        callback->error_code = code;
        callback->error_context = context;
    }
    SetEvent(callback->done);
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback *iface, IBackgroundCopyJob *job,
                                               DWORD reserved)
{
    return S_OK;                  /* not asked for (SetNotifyFlags) */
}

static const IBackgroundCopyCallbackVtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification,
};

/* Ready for `jobs` JobTransferred calls. */
static void callback_init(struct callback *callback, LONG jobs)
{
    memset(callback, 0, sizeof(*callback));
    callback->IBackgroundCopyCallback_iface.lpVtbl = &callback_vtbl;
    callback->refcount = 1;
    callback->remaining = jobs;
    callback->done = CreateEventW(NULL, TRUE, FALSE, NULL);
}

/* openbits.dll from this program's directory, in process. The module stays loaded until the
 * process ends: its workers may still be finishing when the last object goes. */
static HRESULT create_openbits_manager(IBackgroundCopyManager **manager)
{
    HRESULT (WINAPI *get_class_object)(REFCLSID, REFIID, void **);
    IClassFactory *factory;
    WCHAR path[MAX_PATH], *slash;
    HMODULE module;
    HRESULT hr;

    *manager = NULL;
    if (!GetModuleFileNameW(NULL, path, ARRAYSIZE(path)) || !(slash = wcsrchr(path, L'\\'))) return E_FAIL;
    wcscpy(slash + 1, L"openbits.dll");
    if (!(module = LoadLibraryW(path)))
    {
        fprintf(stderr, "bench: cannot load %ls: error %lu\n", path, GetLastError());
        return HRESULT_FROM_WIN32(GetLastError());
    }
    if (!(get_class_object = (void *)GetProcAddress(module, "DllGetClassObject"))) return E_FAIL;
    if (FAILED(hr = get_class_object(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory)))
        return hr;
    hr = IClassFactory_CreateInstance(factory, NULL, &IID_IBackgroundCopyManager, (void **)manager);
    IClassFactory_Release(factory);
    return hr;
}

#endif
