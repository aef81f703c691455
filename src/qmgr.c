/* SPDX-License-Identifier: MIT */
/* The legacy BITS 1.x Queue Manager object: IBackgroundCopyQMgr (CLSID_BackgroundCopyQMgr).
 * Its identity and lifetime are real; groups arrive with the QMGR issue, and until then its
 * methods answer E_NOTIMPL rather than pretend to succeed. */
#include <stdlib.h>

#include "service.h"
#include "objects.h"

struct qmgr
{
    IBackgroundCopyQMgr IBackgroundCopyQMgr_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;
    struct service *service;              /* counted reference */
};

static inline struct qmgr *impl_from_IBackgroundCopyQMgr(IBackgroundCopyQMgr *iface)
{
    return CONTAINING_RECORD(iface, struct qmgr, IBackgroundCopyQMgr_iface);
}

static const struct qi_entry qmgr_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyQMgr, struct qmgr, IBackgroundCopyQMgr_iface),
    QI_END
};

static void qmgr_destroy(struct qmgr *qmgr)
{
    if (qmgr->marshal) IUnknown_Release(qmgr->marshal);
    if (qmgr->service) service_put(qmgr->service);
    free(qmgr);
    module_unlock();
}

static HRESULT WINAPI qmgr_QueryInterface(IBackgroundCopyQMgr *iface, REFIID riid, void **out)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(qmgr, qmgr_qi, &qmgr->marshal, riid, out);
}

static ULONG WINAPI qmgr_AddRef(IBackgroundCopyQMgr *iface)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);
    ULONG refcount = InterlockedIncrement(&qmgr->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI qmgr_Release(IBackgroundCopyQMgr *iface)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);
    ULONG refcount = InterlockedDecrement(&qmgr->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) qmgr_destroy(qmgr);
    return refcount;
}

static HRESULT WINAPI qmgr_CreateGroup(IBackgroundCopyQMgr *iface, GUID id, IBackgroundCopyGroup **group)
{
    if (group) *group = NULL;
    WARN("CreateGroup is not implemented yet.\n");
    return E_NOTIMPL;
}

static HRESULT WINAPI qmgr_GetGroup(IBackgroundCopyQMgr *iface, GUID id, IBackgroundCopyGroup **group)
{
    if (group) *group = NULL;
    WARN("GetGroup is not implemented yet.\n");
    return E_NOTIMPL;
}

static HRESULT WINAPI qmgr_EnumGroups(IBackgroundCopyQMgr *iface, DWORD flags, IEnumBackgroundCopyGroups **out)
{
    if (out) *out = NULL;
    WARN("EnumGroups is not implemented yet.\n");
    return E_NOTIMPL;
}

static const IBackgroundCopyQMgrVtbl qmgr_vtbl =
{
    qmgr_QueryInterface,
    qmgr_AddRef,
    qmgr_Release,
    qmgr_CreateGroup,
    qmgr_GetGroup,
    qmgr_EnumGroups,
};

HRESULT qmgr_create(REFIID riid, void **out)
{
    struct qmgr *qmgr;
    HRESULT hr;

    *out = NULL;
    if (!(qmgr = calloc(1, sizeof(*qmgr)))) return E_OUTOFMEMORY;
    module_lock();
    qmgr->IBackgroundCopyQMgr_iface.lpVtbl = &qmgr_vtbl;
    qmgr->refcount = 1;
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&qmgr->IBackgroundCopyQMgr_iface,
                                                  &qmgr->marshal)))
        goto fail;
    if (FAILED(hr = service_get(&qmgr->service))) goto fail;

    hr = qmgr_QueryInterface(&qmgr->IBackgroundCopyQMgr_iface, riid, out);
    qmgr_Release(&qmgr->IBackgroundCopyQMgr_iface);
    return hr;

fail:
    qmgr_destroy(qmgr);
    return hr;
}
