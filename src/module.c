/* SPDX-License-Identifier: MIT */
/* DLL entry points and the class table they share with registration. */
#include "objects.h"
#include "owner.h"
#include "proxy.h"
#include "register.h"
#include "surrogate.h"
#include "test_double.h"

HINSTANCE module_instance;
static LONG module_refs;        /* live objects + class-factory server locks */

void module_lock(void)
{
    InterlockedIncrement(&module_refs);
}

void module_unlock(void)
{
    surrogate_module_released(InterlockedDecrement(&module_refs));
}

LONG module_lock_count(void)
{
    return InterlockedCompareExchange(&module_refs, 0, 0);
}

/* Every CLSID openbits serves. Every versioned manager CLSID hands out the same manager. */
const struct class_info class_table[] =
{
    { &CLSID_BackgroundCopyManager,     L"openbits Background Copy Manager",      manager_create },
    { &CLSID_BackgroundCopyManager1_5,  L"openbits Background Copy Manager 1.5",  manager_create },
    { &CLSID_BackgroundCopyManager2_0,  L"openbits Background Copy Manager 2.0",  manager_create },
    { &CLSID_BackgroundCopyManager2_5,  L"openbits Background Copy Manager 2.5",  manager_create },
    { &CLSID_BackgroundCopyManager3_0,  L"openbits Background Copy Manager 3.0",  manager_create },
    { &CLSID_BackgroundCopyManager4_0,  L"openbits Background Copy Manager 4.0",  manager_create },
    { &CLSID_BackgroundCopyManager5_0,  L"openbits Background Copy Manager 5.0",  manager_create },
    { &CLSID_BackgroundCopyManager10_1, L"openbits Background Copy Manager 10.1", manager_create },
    { &CLSID_BackgroundCopyManager10_2, L"openbits Background Copy Manager 10.2", manager_create },
    { &CLSID_BackgroundCopyManager10_3, L"openbits Background Copy Manager 10.3", manager_create },
    { &CLSID_BackgroundCopyQMgr,        L"openbits Background Copy QMgr (BITS 1.x)", qmgr_create },
};
const size_t class_table_size = ARRAY_SIZE(class_table);

/* DllMain runs under the loader lock: it records the module handle, and on FreeLibrary frees
 * the cached identity of the process (memory only). */
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    if (reason == DLL_PROCESS_ATTACH) module_instance = instance;
    if (reason == DLL_PROCESS_DETACH && !reserved) owner_cleanup();
    return TRUE;
}

HRESULT WINAPI DllGetClassObject(REFCLSID clsid, REFIID riid, void **out)
{
    size_t i;

    TRACE("%s, %s, %p.\n", debugstr_guid(clsid), debugstr_guid(riid), out);
    if (!out) return E_POINTER;
    *out = NULL;
    if (!clsid || !riid) return E_INVALIDARG;

    if (IsEqualCLSID(clsid, &CLSID_openbits_ProxyStub)) return proxy_get_class_object(clsid, riid, out);
    for (i = 0; i < class_table_size; ++i)
    {
        if (!IsEqualCLSID(clsid, class_table[i].clsid)) continue;
        /* In a DLL surrogate started for us, the surrogate's host hands out the factories. */
        if (surrogate_wanted(clsid)) return surrogate_get_class_object(&class_table[i], riid, out);
        return class_factory_create(&class_table[i], riid, out);
    }

    WARN("class %s is not ours.\n", debugstr_guid(clsid));
    return CLASS_E_CLASSNOTAVAILABLE;
}

/* In a surrogate, the host ends the process itself when the module is idle (surrogate.c). */
HRESULT WINAPI DllCanUnloadNow(void)
{
    if (surrogate_active()) return S_FALSE;
    return module_lock_count() || !proxy_can_unload() ? S_FALSE : S_OK;
}

HRESULT WINAPI DllRegisterServer(void)
{
    return register_classes(REGISTER_MACHINE);
}

HRESULT WINAPI DllUnregisterServer(void)
{
    return unregister_classes(REGISTER_MACHINE);
}

/* regsvr32 /i:user registers for the current user (HKCU\Software\Classes), which Windows
 * honours; Wine 8's COM ignores HKCU classes, so under Wine only machine-wide registration
 * reaches clients. No command line (or "machine") means machine-wide.
 *
 * "testdouble" enables the test double (docs/test-double.md) for the services created from then
 * on, "testdouble=<scenario file>" also names its scenario file; uninstalling with either
 * disables it again. Only the switch is written (HKLM\Software\openbits\TestDouble): with
 * /n, regsvr32 registers nothing else. */
HRESULT WINAPI DllInstall(BOOL install, const WCHAR *cmdline)
{
    enum register_scope scope;

    TRACE("%d, %s.\n", install, debugstr_w(cmdline));
    if (cmdline && !_wcsicmp(cmdline, L"testdouble")) return test_double_install(install, NULL);
    if (cmdline && !_wcsnicmp(cmdline, L"testdouble=", 11))
        return cmdline[11] ? test_double_install(install, cmdline + 11) : E_INVALIDARG;
    if (!cmdline || !*cmdline || !_wcsicmp(cmdline, L"machine")) scope = REGISTER_MACHINE;
    else if (!_wcsicmp(cmdline, L"user")) scope = REGISTER_USER;
    else return E_INVALIDARG;

    return install ? register_classes(scope) : unregister_classes(scope);
}
