/* SPDX-License-Identifier: MIT */
/* The BITS 1.x job enumerator: IEnumBackgroundCopyJobs1 over the GUID of a group's job (none or
 * one) taken by IBackgroundCopyGroup::EnumJobs (BITS-SPEC.md §10.3). The enumerator rules live
 * in enum_snapshot.c. */
#include <stdlib.h>

#include "enum_snapshot.h"
#include "objects.h"

struct enum_jobs1
{
    IEnumBackgroundCopyJobs1 IEnumBackgroundCopyJobs1_iface;
    struct enum_snapshot base;            /* elements are GUIDs */
};

static inline struct enum_jobs1 *impl_from_IEnumBackgroundCopyJobs1(IEnumBackgroundCopyJobs1 *iface)
{
    return CONTAINING_RECORD(iface, struct enum_jobs1, IEnumBackgroundCopyJobs1_iface);
}

static const struct qi_entry enum_jobs1_qi[] =
{
    QI_ENTRY(IID_IEnumBackgroundCopyJobs1, struct enum_jobs1, IEnumBackgroundCopyJobs1_iface),
    QI_END
};

static HRESULT enum_jobs1_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyJobs1 **out);

static void enum_jobs1_destroy(struct enum_jobs1 *enumerator)
{
    enum_snapshot_cleanup(&enumerator->base);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_jobs1_QueryInterface(IEnumBackgroundCopyJobs1 *iface, REFIID riid, void **out)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_jobs1_qi, &enumerator->base.marshal, riid, out);
}

static ULONG WINAPI enum_jobs1_AddRef(IEnumBackgroundCopyJobs1 *iface)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);
    ULONG refcount = enum_snapshot_addref(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_jobs1_Release(IEnumBackgroundCopyJobs1 *iface)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);
    ULONG refcount = enum_snapshot_release(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_jobs1_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_jobs1_Next(IEnumBackgroundCopyJobs1 *iface, ULONG celt, GUID *rgelt,
                                     ULONG *fetched)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return enum_snapshot_next(&enumerator->base, celt, rgelt, fetched);
}

static HRESULT WINAPI enum_jobs1_Skip(IEnumBackgroundCopyJobs1 *iface, ULONG celt)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p, %lu.\n", iface, celt);
    return enum_snapshot_skip(&enumerator->base, celt);
}

static HRESULT WINAPI enum_jobs1_Reset(IEnumBackgroundCopyJobs1 *iface)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p.\n", iface);
    enum_snapshot_reset(&enumerator->base);
    return S_OK;
}

/* A NULL out-param: the spec gives no code (unconfirmed); E_INVALIDARG, as GetCount. */
static HRESULT WINAPI enum_jobs1_Clone(IEnumBackgroundCopyJobs1 *iface, IEnumBackgroundCopyJobs1 **out)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_jobs1_new(enumerator->base.snapshot, enum_snapshot_position(&enumerator->base), out);
}

static HRESULT WINAPI enum_jobs1_GetCount(IEnumBackgroundCopyJobs1 *iface, ULONG *count)
{
    struct enum_jobs1 *enumerator = impl_from_IEnumBackgroundCopyJobs1(iface);

    TRACE("%p, %p.\n", iface, count);
    return enum_snapshot_get_count(&enumerator->base, count);
}

static const IEnumBackgroundCopyJobs1Vtbl enum_jobs1_vtbl =
{
    enum_jobs1_QueryInterface,
    enum_jobs1_AddRef,
    enum_jobs1_Release,
    enum_jobs1_Next,
    enum_jobs1_Skip,
    enum_jobs1_Reset,
    enum_jobs1_Clone,
    enum_jobs1_GetCount,
};

/* A new enumerator over `snapshot` (a reference is taken) at `position`. */
static HRESULT enum_jobs1_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyJobs1 **out)
{
    struct enum_jobs1 *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBackgroundCopyJobs1_iface.lpVtbl = &enum_jobs1_vtbl;
    if (FAILED(hr = enum_snapshot_init(&enumerator->base,
                                       (IUnknown *)&enumerator->IEnumBackgroundCopyJobs1_iface,
                                       snapshot, position)))
        goto fail;

    *out = &enumerator->IEnumBackgroundCopyJobs1_iface;
    return S_OK;

fail:
    enum_jobs1_destroy(enumerator);
    return hr;
}

HRESULT enum_jobs1_create(GUID *ids, ULONG count, IEnumBackgroundCopyJobs1 **out)
{
    struct snapshot *snapshot;
    HRESULT hr;

    *out = NULL;
    if (FAILED(hr = snapshot_create_guids(ids, count, &snapshot))) return hr;
    hr = enum_jobs1_new(snapshot, 0, out);
    snapshot_put(snapshot);
    return hr;
}
