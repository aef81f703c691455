/* SPDX-License-Identifier: MIT */
/* The proxy/stub class: rpcrt4's standard PSFactoryBuffer over widl's interpreted (-Oicf)
 * proxies and stubs of idl/bits.idl (build/generated/bits_p.c, linked into openbits.dll).
 * Registration (register.c) points Interface\{iid}\ProxyStubClsid32 at this class for every
 * interface that has no proxy registered yet, so clients in other processes and the DLL
 * surrogate (surrogate.c) marshal them through us. */
#include <rpcproxy.h>

#include "proxy.h"

const CLSID CLSID_openbits_ProxyStub =
    { 0x2798fcd1, 0xc871, 0x404c, { 0xb3, 0x10, 0xfc, 0xa6, 0xb0, 0x1d, 0x02, 0xd6 } };

extern const ExtendedProxyFileInfo bits_ProxyFileInfo;    /* bits_p.c */

#define MAX_INTERFACES 64

/* rpcrt4 fills the empty slots of the stubs' IRpcStubBuffer vtables when the factory starts
 * (the asynchronous interface's are all empty in MinGW-w64's rpcproxy.h), and widl makes them
 * const, in read-only memory: the factory works on writable copies. */
static CInterfaceStubVtbl stub_vtbls[MAX_INTERFACES];
static const CInterfaceStubVtbl *stub_list[MAX_INTERFACES + 1];
static ProxyFileInfo file_info;
static const ProxyFileInfo *proxy_files[2];
static CStdPSFactoryBuffer ps_factory;                    /* rpcrt4's, counts its proxies and stubs */

static struct proxy_interface interfaces[MAX_INTERFACES];
static size_t interface_count;
static INIT_ONCE init_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK init_proxy_files(INIT_ONCE *once, void *param, void **context)
{
    const ProxyFileInfo *file = &bits_ProxyFileInfo;
    unsigned short i;

    memcpy(&file_info, file, sizeof(file_info));
    for (i = 0; i < file->TableSize && i < MAX_INTERFACES; ++i)
    {
        stub_vtbls[i] = *file->pStubVtblList[i];
        stub_list[i] = &stub_vtbls[i];
        interfaces[i].iid = file->pStubVtblList[i]->header.piid;
        interfaces[i].name = file->pNamesArray[i];
    }
    interface_count = i;
    file_info.pStubVtblList = (const PCInterfaceStubVtblList *)stub_list;
    proxy_files[0] = &file_info;
    return TRUE;
}

const struct proxy_interface *proxy_interfaces(size_t *count)
{
    InitOnceExecuteOnce(&init_once, init_proxy_files, NULL, NULL);
    *count = interface_count;
    return interfaces;
}

/* The stubs' Release (CStdStubBuffer_METHODS in bits_p.c) counts them in our factory, as the
 * DLLDATA_ROUTINES of a proxy DLL's dlldata.c would. */
CSTDSTUBBUFFERRELEASE(&ps_factory)

HRESULT proxy_get_class_object(REFCLSID clsid, REFIID riid, void **out)
{
    InitOnceExecuteOnce(&init_once, init_proxy_files, NULL, NULL);
    return NdrDllGetClassObject(clsid, riid, out, proxy_files, &CLSID_openbits_ProxyStub, &ps_factory);
}

BOOL proxy_can_unload(void)
{
    return NdrDllCanUnloadNow(&ps_factory) == S_OK;
}

/* IBackgroundCopyGroup::SetProp is [local]; InternalSetProp ([call_as(SetProp)]) is what
 * crosses the wire. The proxy side sends the call as it is, the stub side makes it. */
HRESULT CALLBACK IBackgroundCopyGroup_SetProp_Proxy(IBackgroundCopyGroup *iface, GROUPPROP property,
                                                    VARIANT *value)
{
    return IBackgroundCopyGroup_InternalSetProp_Proxy(iface, property, value);
}

HRESULT __RPC_STUB IBackgroundCopyGroup_SetProp_Stub(IBackgroundCopyGroup *iface, GROUPPROP property,
                                                     VARIANT *value)
{
    return IBackgroundCopyGroup_SetProp(iface, property, value);
}
