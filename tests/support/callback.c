/* SPDX-License-Identifier: MIT */
/* A client's notification object for the transfer tests: see callback.h. */
#include "callback.h"

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

    InterlockedIncrement(&callback->transferred_calls);
    if (InterlockedDecrement(&callback->fail_transferred) >= 0) return E_FAIL;
    callback->thread = GetCurrentThreadId();
    SetEvent(callback->transferred);
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                        IBackgroundCopyError *error)
{
    struct callback *callback = impl_from_IBackgroundCopyCallback2(iface);

    callback->thread = GetCurrentThreadId();
    IBackgroundCopyError_GetError(error, &callback->error_context, &callback->error_code);
    SetEvent(callback->error);
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                               DWORD reserved)
{
    SetEvent(impl_from_IBackgroundCopyCallback2(iface)->modified);
    return S_OK;
}

static HRESULT WINAPI callback_FileTransferred(IBackgroundCopyCallback2 *iface, IBackgroundCopyJob *job,
                                               IBackgroundCopyFile *file)
{
    InterlockedIncrement(&impl_from_IBackgroundCopyCallback2(iface)->files);
    return S_OK;
}

static const IBackgroundCopyCallback2Vtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification, callback_FileTransferred,
};

void callback_init(struct callback *callback)
{
    memset(callback, 0, sizeof(*callback));
    callback->IBackgroundCopyCallback2_iface.lpVtbl = &callback_vtbl;
    callback->refcount = 1;
    callback->transferred = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->error = CreateEventW(NULL, TRUE, FALSE, NULL);
    callback->modified = CreateEventW(NULL, FALSE, FALSE, NULL);
    callback->released = CreateEventW(NULL, TRUE, FALSE, NULL);
}

void callback_cleanup(struct callback *callback)
{
    if (callback->refcount != 1) WaitForSingleObject(callback->released, CALLBACK_WAIT_MS);
    assert_int_equal(callback->refcount, 1);
    CloseHandle(callback->transferred);
    CloseHandle(callback->error);
    CloseHandle(callback->modified);
    CloseHandle(callback->released);
}

/* An STA client gets its callbacks through its message loop. */
int pump_wait(DWORD count, const HANDLE *events)
{
    ULONGLONG deadline = GetTickCount64() + CALLBACK_WAIT_MS;
    MSG msg;

    for (;;)
    {
        ULONGLONG now = GetTickCount64();
        DWORD result;

        if (now >= deadline) return -1;
        result = MsgWaitForMultipleObjects(count, events, FALSE, (DWORD)(deadline - now), QS_ALLINPUT);
        if (result < WAIT_OBJECT_0 + count) return result - WAIT_OBJECT_0;
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
        {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

BG_JOB_STATE wait_for_state(IBackgroundCopyJob *job, struct callback *callback, BG_JOB_STATE a, BG_JOB_STATE b)
{
    HANDLE events[3] = { callback->modified, callback->transferred, callback->error };
    ULONGLONG deadline = GetTickCount64() + CALLBACK_WAIT_MS;
    BG_JOB_STATE state;

    while ((state = test_job_state(job)) != a && state != b)
    {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline) fail_msg("job in state %d, waited for %d or %d", state, a, b);
        WaitForMultipleObjects(3, events, FALSE, (DWORD)(deadline - now));
    }
    return state;
}

