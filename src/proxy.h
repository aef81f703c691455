/* SPDX-License-Identifier: MIT */
/* The proxies and stubs of every interface of idl/bits.idl and idl/openbits_control.idl (widl's
 * bits_p.c and openbits_control_p.c), served by openbits.dll as the proxy/stub class
 * CLSID_openbits_ProxyStub, for clients and servers in different processes (the DLL surrogate,
 * surrogate.c). */
#ifndef OPENBITS_PROXY_H
#define OPENBITS_PROXY_H

#include "common.h"

/* {2798FCD1-C871-404C-B310-FCA6B01D02D6}: the ProxyStubClsid32 of the interfaces we register. */
extern const CLSID CLSID_openbits_ProxyStub;

/* One interface the proxy/stub class marshals: its IID and name, for registration. */
struct proxy_interface
{
    const IID *iid;
    const char *name;
};

/* The interfaces of bits_p.c and openbits_control_p.c, in their order; *count gets their number. */
const struct proxy_interface *proxy_interfaces(size_t *count);

/* DllGetClassObject for CLSID_openbits_ProxyStub. */
HRESULT proxy_get_class_object(REFCLSID clsid, REFIID riid, void **out);
/* TRUE when no proxy or stub of ours is alive (DllCanUnloadNow). */
BOOL proxy_can_unload(void);

/* widl's interpreted proxies (bits_p.c, which the build compiles with this header included
 * first) use rpcrt4's IUnknown proxies, which MinGW-w64's unknwn.h declares for C++ only. */
HRESULT STDMETHODCALLTYPE IUnknown_QueryInterface_Proxy(IUnknown *iface, REFIID riid, void **out);
ULONG STDMETHODCALLTYPE IUnknown_AddRef_Proxy(IUnknown *iface);
ULONG STDMETHODCALLTYPE IUnknown_Release_Proxy(IUnknown *iface);

#endif
