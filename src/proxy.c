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

static const ProxyFileInfo *proxy_files[] = { &bits_ProxyFileInfo, NULL };
static CStdPSFactoryBuffer ps_factory;                    /* rpcrt4's, counts its proxies and stubs */

static struct proxy_interface interfaces[64];
static size_t interface_count;
static INIT_ONCE interfaces_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK list_interfaces(INIT_ONCE *once, void *param, void **context)
{
    const ProxyFileInfo *file = &bits_ProxyFileInfo;
    unsigned short i;

    for (i = 0; i < file->TableSize && interface_count < ARRAY_SIZE(interfaces); ++i)
    {
        interfaces[interface_count].iid = file->pProxyVtblList[i]->header.piid;
        interfaces[interface_count].name = file->pNamesArray[i];
        ++interface_count;
    }
    return TRUE;
}

const struct proxy_interface *proxy_interfaces(size_t *count)
{
    InitOnceExecuteOnce(&interfaces_once, list_interfaces, NULL, NULL);
    *count = interface_count;
    return interfaces;
}

/* The stubs' Release (CStdStubBuffer_METHODS in bits_p.c) counts them in our factory, as the
 * DLLDATA_ROUTINES of a proxy DLL's dlldata.c would. */
CSTDSTUBBUFFERRELEASE(&ps_factory)

HRESULT proxy_get_class_object(REFCLSID clsid, REFIID riid, void **out)
{
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
