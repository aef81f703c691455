/* SPDX-License-Identifier: MIT */
/* One IClassFactory for every class, driven by a row of the class table. */
#include <stdlib.h>

#include "objects.h"

struct class_factory
{
    IClassFactory IClassFactory_iface;
    LONG refcount;
    const struct class_info *info;        /* immutable */
};

static inline struct class_factory *impl_from_IClassFactory(IClassFactory *iface)
{
    return CONTAINING_RECORD(iface, struct class_factory, IClassFactory_iface);
}

static const struct qi_entry class_factory_qi[] =
{
    QI_ENTRY(IID_IClassFactory, struct class_factory, IClassFactory_iface),
    QI_END
};

static HRESULT WINAPI class_factory_QueryInterface(IClassFactory *iface, REFIID riid, void **out)
{
    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(impl_from_IClassFactory(iface), class_factory_qi, NULL, riid, out);
}

static ULONG WINAPI class_factory_AddRef(IClassFactory *iface)
{
    struct class_factory *factory = impl_from_IClassFactory(iface);
    ULONG refcount = InterlockedIncrement(&factory->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI class_factory_Release(IClassFactory *iface)
{
    struct class_factory *factory = impl_from_IClassFactory(iface);
    ULONG refcount = InterlockedDecrement(&factory->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount)
    {
        free(factory);
        module_unlock();
    }
    return refcount;
}

static HRESULT WINAPI class_factory_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid, void **out)
{
    struct class_factory *factory = impl_from_IClassFactory(iface);

    TRACE("%p, %p, %s, %p.\n", iface, outer, debugstr_guid(riid), out);
    if (!out) return E_POINTER;
    *out = NULL;
    if (!riid) return E_INVALIDARG;
    if (outer) return CLASS_E_NOAGGREGATION;
    return factory->info->create(riid, out);
}

static HRESULT WINAPI class_factory_LockServer(IClassFactory *iface, BOOL lock)
{
    TRACE("%p, %d.\n", iface, lock);
    if (lock) module_lock();
    else module_unlock();
    return S_OK;
}

static const IClassFactoryVtbl class_factory_vtbl =
{
    class_factory_QueryInterface,
    class_factory_AddRef,
    class_factory_Release,
    class_factory_CreateInstance,
    class_factory_LockServer,
};

HRESULT class_factory_create(const struct class_info *info, REFIID riid, void **out)
{
    struct class_factory *factory;
    HRESULT hr;

    *out = NULL;
    if (!(factory = calloc(1, sizeof(*factory)))) return E_OUTOFMEMORY;
    module_lock();
    factory->IClassFactory_iface.lpVtbl = &class_factory_vtbl;
    factory->refcount = 1;
    factory->info = info;

    hr = class_factory_QueryInterface(&factory->IClassFactory_iface, riid, out);
    class_factory_Release(&factory->IClassFactory_iface);
    return hr;
}
