/* SPDX-License-Identifier: MIT */
/* The host of openbits.dll in a DLL surrogate (docs/conformance.md, "Out of process").
 *
 * What Wine 8's dllhost.exe does (programs/dllhost/dllhost.c, dlls/combase/rpc.c): COM starts
 * `dllhost.exe /PROCESSID:{clsid}` for the one class a client asked for; dllhost gets our class
 * factory through CoGetClassObject and registers it with REGCLS_SURROGATE, which rpcss treats as
 * single use: the first client takes it and the next one would start another dllhost, with a
 * queue of its own. Other classes of ours are not registered at all. And dllhost never exits by
 * itself: CoRegisterSurrogate is a stub, so nobody ever calls its ISurrogate::FreeSurrogate.
 *
 * So the host does both itself:
 *  - It registers every class of the class table for CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE, from
 *    a single-threaded apartment of its own (dllhost's registration lives in the multithreaded
 *    apartment; COM refuses a second registration of a class in the same apartment). Every client
 *    process, whichever versioned CLSID it asks for, reaches this one process and its one queue.
 *  - A registered class object answers for its apartment; ours would make every call of every
 *    client go through the host thread's message loop. Its IMarshal hands out the real class
 *    factory marshaled from the multithreaded apartment instead (as dllhost's own factory does),
 *    so the objects it creates are called on RPC threads, in parallel.
 *  - It watches the module count: when nothing but its own class factories is left (no object,
 *    no server lock, no unfinished job: jobs hold the service, the service holds the module) for
 *    HOST_IDLE_LINGER_MS, it revokes its classes and ends the process. */
#include <stdlib.h>

#include "surrogate.h"

const GUID APPID_openbits =
    { 0x92819ad7, 0xcf40, 0x4d13, { 0xb2, 0xcf, 0x8e, 0xbd, 0x9b, 0x48, 0x71, 0x1c } };

/* How long the surrogate waits for its first client, and how long it stays after the last one
 * left with no unfinished job (a client between CoGetClassObject and CreateInstance holds no
 * object of ours yet). */
#define HOST_STARTUP_LINGER_MS 30000
#define HOST_IDLE_LINGER_MS    3000

#define HOST_MAX_CLASSES 16

/* One registered class: what the host's apartment answers for it. Static, for the life of the
 * process (like dllhost's own ISurrogate): AddRef and Release count nothing. */
struct host_class
{
    IClassFactory IClassFactory_iface;
    IMarshal IMarshal_iface;
    IClassFactory *factory;       /* the real one (class_factory.c), counted in host.base */
    DWORD cookie;                 /* of CoRegisterClassObject; 0 when not registered */
};

static struct
{
    struct host_class classes[HOST_MAX_CLASSES];
    size_t count;
    LONG base;                    /* module locks held by the host: one per class factory */
    LONG active;                  /* set once the host runs */
    HANDLE wake;                  /* auto-reset: the module count fell to base */
    HANDLE ready;                 /* the host thread has registered the classes */
    HRESULT start_hr;
} host;

static INIT_ONCE host_once = INIT_ONCE_STATIC_INIT;

/* --- is this a surrogate for us? ------------------------------------------------------------ */

static GUID surrogate_for;        /* the GUID after /PROCESSID:, GUID_NULL if none */
static INIT_ONCE command_line_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK parse_command_line(INIT_ONCE *once, void *param, void **context)
{
    static const WCHAR option[] = L"/PROCESSID:";
    const WCHAR *p = GetCommandLineW();
    WCHAR guid[39];

    for (; *p; ++p)
    {
        if (_wcsnicmp(p, option, ARRAY_SIZE(option) - 1)) continue;
        p += ARRAY_SIZE(option) - 1;
        if (wcslen(p) < 38) break;
        memcpy(guid, p, 38 * sizeof(WCHAR));
        guid[38] = 0;
        if (FAILED(CLSIDFromString(guid, &surrogate_for))) surrogate_for = GUID_NULL;
        break;
    }
    return TRUE;
}

/* Wine passes the class's CLSID, Windows the AppID. */
BOOL surrogate_wanted(REFCLSID clsid)
{
    InitOnceExecuteOnce(&command_line_once, parse_command_line, NULL, NULL);
    return IsEqualGUID(&surrogate_for, clsid) || IsEqualGUID(&surrogate_for, &APPID_openbits);
}

BOOL surrogate_active(void)
{
    return InterlockedCompareExchange(&host.active, 0, 0);
}

void surrogate_module_released(LONG count)
{
    if (InterlockedCompareExchange(&host.active, 0, 0) && count <= host.base) SetEvent(host.wake);
}

/* --- the registered class objects --------------------------------------------------------- */

static inline struct host_class *impl_from_IClassFactory(IClassFactory *iface)
{
    return CONTAINING_RECORD(iface, struct host_class, IClassFactory_iface);
}

static inline struct host_class *impl_from_IMarshal(IMarshal *iface)
{
    return CONTAINING_RECORD(iface, struct host_class, IMarshal_iface);
}

static HRESULT WINAPI host_class_QueryInterface(IClassFactory *iface, REFIID riid, void **out)
{
    struct host_class *class = impl_from_IClassFactory(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    if (!out) return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IClassFactory))
        *out = &class->IClassFactory_iface;
    else if (IsEqualIID(riid, &IID_IMarshal))
        *out = &class->IMarshal_iface;
    else
    {
        *out = NULL;
        return E_NOINTERFACE;
    }
    return S_OK;
}

static ULONG WINAPI host_class_AddRef(IClassFactory *iface)
{
    return 2;
}

static ULONG WINAPI host_class_Release(IClassFactory *iface)
{
    return 1;
}

static HRESULT WINAPI host_class_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid, void **out)
{
    struct host_class *class = impl_from_IClassFactory(iface);

    return IClassFactory_CreateInstance(class->factory, outer, riid, out);
}

static HRESULT WINAPI host_class_LockServer(IClassFactory *iface, BOOL lock)
{
    struct host_class *class = impl_from_IClassFactory(iface);

    return IClassFactory_LockServer(class->factory, lock);
}

static const IClassFactoryVtbl host_class_vtbl =
{
    host_class_QueryInterface,
    host_class_AddRef,
    host_class_Release,
    host_class_CreateInstance,
    host_class_LockServer,
};

static HRESULT WINAPI host_marshal_QueryInterface(IMarshal *iface, REFIID riid, void **out)
{
    return host_class_QueryInterface(&impl_from_IMarshal(iface)->IClassFactory_iface, riid, out);
}

static ULONG WINAPI host_marshal_AddRef(IMarshal *iface)
{
    return 2;
}

static ULONG WINAPI host_marshal_Release(IMarshal *iface)
{
    return 1;
}

/* The data written is the real factory's standard OBJREF: the client unmarshals it with the
 * standard marshaler. */
static HRESULT WINAPI host_marshal_GetUnmarshalClass(IMarshal *iface, REFIID riid, void *object,
        DWORD context, void *context_data, DWORD flags, CLSID *clsid)
{
    *clsid = CLSID_StdMarshal;
    return S_OK;
}

static HRESULT WINAPI host_marshal_GetMarshalSizeMax(IMarshal *iface, REFIID riid, void *object,
        DWORD context, void *context_data, DWORD flags, DWORD *size)
{
    struct host_class *class = impl_from_IMarshal(iface);

    return CoGetMarshalSizeMax(size, riid, (IUnknown *)class->factory, context, context_data, flags);
}

struct mta_marshal
{
    IStream *stream;
    const IID *iid;
    IUnknown *object;
    DWORD context;
    void *context_data;
    DWORD flags;
    HRESULT hr;
};

static DWORD WINAPI mta_marshal_thread(void *param)
{
    struct mta_marshal *call = param;
    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);

    call->hr = CoMarshalInterface(call->stream, call->iid, call->object, call->context,
                                  call->context_data, call->flags);
    if (SUCCEEDED(hr)) CoUninitialize();
    return 0;
}

/* Runs on the host's thread (the apartment the class is registered in): the marshaling itself
 * happens on a thread of the multithreaded apartment, which then owns the stub. */
static HRESULT WINAPI host_marshal_MarshalInterface(IMarshal *iface, IStream *stream, REFIID riid,
        void *object, DWORD context, void *context_data, DWORD flags)
{
    struct host_class *class = impl_from_IMarshal(iface);
    struct mta_marshal call = { stream, riid, (IUnknown *)class->factory, context, context_data, flags, E_FAIL };
    HANDLE thread;
    DWORD index;

    if (!(thread = CreateThread(NULL, 0, mta_marshal_thread, &call, 0, NULL)))
    {
        WARN("no thread (error %lu): the class factory is marshaled from the host's apartment.\n",
             GetLastError());
        return CoMarshalInterface(stream, riid, (IUnknown *)class->factory, context, context_data, flags);
    }
    CoWaitForMultipleHandles(0, INFINITE, 1, &thread, &index);
    CloseHandle(thread);
    return call.hr;
}

/* Never called: data marked for the standard marshaler is unmarshaled and released by it. */
static HRESULT WINAPI host_marshal_UnmarshalInterface(IMarshal *iface, IStream *stream, REFIID riid, void **out)
{
    *out = NULL;
    return E_UNEXPECTED;
}

static HRESULT WINAPI host_marshal_ReleaseMarshalData(IMarshal *iface, IStream *stream)
{
    return E_UNEXPECTED;
}

static HRESULT WINAPI host_marshal_DisconnectObject(IMarshal *iface, DWORD reserved)
{
    return S_OK;
}

static const IMarshalVtbl host_marshal_vtbl =
{
    host_marshal_QueryInterface,
    host_marshal_AddRef,
    host_marshal_Release,
    host_marshal_GetUnmarshalClass,
    host_marshal_GetMarshalSizeMax,
    host_marshal_MarshalInterface,
    host_marshal_UnmarshalInterface,
    host_marshal_ReleaseMarshalData,
    host_marshal_DisconnectObject,
};

/* --- the host thread ------------------------------------------------------------------------ */

/* Host thread only (CoRegisterClassObject and CoRevokeClassObject belong to one apartment). */
static void host_register(void)
{
    size_t i;
    HRESULT hr;

    for (i = 0; i < host.count; ++i)
    {
        struct host_class *class = &host.classes[i];

        if (class->cookie) continue;
        if (FAILED(hr = CoRegisterClassObject(class_table[i].clsid, (IUnknown *)&class->IClassFactory_iface,
                                              CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE, &class->cookie)))
        {
            ERR("cannot register %s, %#lx.\n", debugstr_guid(class_table[i].clsid), hr);
            class->cookie = 0;
        }
    }
}

static void host_revoke(void)
{
    size_t i;

    for (i = 0; i < host.count; ++i)
    {
        if (!host.classes[i].cookie) continue;
        CoRevokeClassObject(host.classes[i].cookie);
        host.classes[i].cookie = 0;
    }
}

static BOOL host_idle(void)
{
    return module_lock_count() <= host.base;
}

/* Pumps the apartment's messages (activations arrive as calls to it) and waits until the
 * module has been idle for the linger time; then ends the process. */
static void host_run(void)
{
    ULONGLONG deadline = GetTickCount64() + HOST_STARTUP_LINGER_MS;
    BOOL lingering = TRUE;
    MSG msg;

    for (;;)
    {
        ULONGLONG now = GetTickCount64();
        DWORD timeout = !lingering ? INFINITE : deadline > now ? (DWORD)(deadline - now) : 0;
        DWORD wait = MsgWaitForMultipleObjectsEx(1, &host.wake, timeout, QS_ALLINPUT, MWMO_INPUTAVAILABLE);

        if (wait == WAIT_OBJECT_0 + 1)
        {
            while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
            {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
            continue;
        }
        if (wait == WAIT_OBJECT_0)
        {
            if ((lingering = host_idle())) deadline = GetTickCount64() + HOST_IDLE_LINGER_MS;
            continue;
        }
        if (wait != WAIT_TIMEOUT) continue;
        if (!(lingering = host_idle())) continue;

        /* Idle for the whole linger time: no new client from now on, then make sure none came
         * in between. */
        host_revoke();
        if (host_idle())
        {
            TRACE("idle: the surrogate ends.\n");
            ExitProcess(0);
        }
        host_register();
        lingering = FALSE;
    }
}

static DWORD WINAPI host_thread(void *param)
{
    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    host_register();
    SetEvent(host.ready);
    host_run();
    return 0;
}

static BOOL CALLBACK host_start(INIT_ONCE *once, void *param, void **context)
{
    HANDLE thread;
    size_t i;
    HRESULT hr;

    host.count = min(class_table_size, ARRAY_SIZE(host.classes));
    for (i = 0; i < host.count; ++i)
    {
        struct host_class *class = &host.classes[i];

        class->IClassFactory_iface.lpVtbl = &host_class_vtbl;
        class->IMarshal_iface.lpVtbl = &host_marshal_vtbl;
        if (FAILED(hr = class_factory_create(&class_table[i], &IID_IClassFactory, (void **)&class->factory)))
        {
            host.start_hr = hr;
            return TRUE;
        }
        ++host.base;
    }
    if (!(host.wake = CreateEventW(NULL, FALSE, FALSE, NULL))
            || !(host.ready = CreateEventW(NULL, TRUE, FALSE, NULL)))
    {
        host.start_hr = hresult_from_last_error();
        return TRUE;
    }
    InterlockedExchange(&host.active, TRUE);
    if (!(thread = CreateThread(NULL, 0, host_thread, NULL, 0, NULL)))
    {
        /* dllhost's own registration still serves its first client. */
        ERR("no host thread, error %lu.\n", GetLastError());
        return TRUE;
    }
    /* The classes are registered before dllhost registers its own. */
    WaitForSingleObject(host.ready, INFINITE);
    CloseHandle(thread);
    return TRUE;
}

HRESULT surrogate_get_class_object(const struct class_info *info, REFIID riid, void **out)
{
    size_t i;

    *out = NULL;
    InitOnceExecuteOnce(&host_once, host_start, NULL, NULL);
    if (FAILED(host.start_hr)) return host.start_hr;
    i = info - class_table;
    if (i >= host.count) return CLASS_E_CLASSNOTAVAILABLE;
    return IClassFactory_QueryInterface(host.classes[i].factory, riid, out);
}
