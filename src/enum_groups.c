/* SPDX-License-Identifier: MIT */
/* The BITS 1.x group enumerator: IEnumBackgroundCopyGroups over a snapshot of the groups' GUIDs
 * taken by IBackgroundCopyQMgr::EnumGroups (BITS-SPEC.md §10.2). The enumerator rules live in
 * enum_snapshot.c. */
#include <stdlib.h>

#include "enum_snapshot.h"
#include "objects.h"

struct enum_groups
{
    IEnumBackgroundCopyGroups IEnumBackgroundCopyGroups_iface;
    struct enum_snapshot base;            /* elements are GUIDs */
};

static inline struct enum_groups *impl_from_IEnumBackgroundCopyGroups(IEnumBackgroundCopyGroups *iface)
{
    return CONTAINING_RECORD(iface, struct enum_groups, IEnumBackgroundCopyGroups_iface);
}

static const struct qi_entry enum_groups_qi[] =
{
    QI_ENTRY(IID_IEnumBackgroundCopyGroups, struct enum_groups, IEnumBackgroundCopyGroups_iface),
    QI_END
};

static HRESULT enum_groups_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyGroups **out);

static void enum_groups_destroy(struct enum_groups *enumerator)
{
    enum_snapshot_cleanup(&enumerator->base);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_groups_QueryInterface(IEnumBackgroundCopyGroups *iface, REFIID riid, void **out)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_groups_qi, &enumerator->base.marshal, riid, out);
}

static ULONG WINAPI enum_groups_AddRef(IEnumBackgroundCopyGroups *iface)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);
    ULONG refcount = enum_snapshot_addref(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_groups_Release(IEnumBackgroundCopyGroups *iface)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);
    ULONG refcount = enum_snapshot_release(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_groups_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_groups_Next(IEnumBackgroundCopyGroups *iface, ULONG celt, GUID *rgelt,
                                     ULONG *fetched)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return enum_snapshot_next(&enumerator->base, celt, rgelt, fetched);
}

static HRESULT WINAPI enum_groups_Skip(IEnumBackgroundCopyGroups *iface, ULONG celt)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p, %lu.\n", iface, celt);
    return enum_snapshot_skip(&enumerator->base, celt);
}

static HRESULT WINAPI enum_groups_Reset(IEnumBackgroundCopyGroups *iface)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p.\n", iface);
    enum_snapshot_reset(&enumerator->base);
    return S_OK;
}

/* A NULL out-param: the spec gives no code (unconfirmed); E_INVALIDARG, as GetCount. */
static HRESULT WINAPI enum_groups_Clone(IEnumBackgroundCopyGroups *iface, IEnumBackgroundCopyGroups **out)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_groups_new(enumerator->base.snapshot, enum_snapshot_position(&enumerator->base), out);
}

static HRESULT WINAPI enum_groups_GetCount(IEnumBackgroundCopyGroups *iface, ULONG *count)
{
    struct enum_groups *enumerator = impl_from_IEnumBackgroundCopyGroups(iface);

    TRACE("%p, %p.\n", iface, count);
    return enum_snapshot_get_count(&enumerator->base, count);
}

static const IEnumBackgroundCopyGroupsVtbl enum_groups_vtbl =
{
    enum_groups_QueryInterface,
    enum_groups_AddRef,
    enum_groups_Release,
    enum_groups_Next,
    enum_groups_Skip,
    enum_groups_Reset,
    enum_groups_Clone,
    enum_groups_GetCount,
};

/* A new enumerator over `snapshot` (a reference is taken) at `position`. */
static HRESULT enum_groups_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyGroups **out)
{
    struct enum_groups *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBackgroundCopyGroups_iface.lpVtbl = &enum_groups_vtbl;
    if (FAILED(hr = enum_snapshot_init(&enumerator->base,
                                       (IUnknown *)&enumerator->IEnumBackgroundCopyGroups_iface,
                                       snapshot, position)))
        goto fail;

    *out = &enumerator->IEnumBackgroundCopyGroups_iface;
    return S_OK;

fail:
    enum_groups_destroy(enumerator);
    return hr;
}

HRESULT enum_groups_create(GUID *ids, ULONG count, IEnumBackgroundCopyGroups **out)
{
    struct snapshot *snapshot;
    HRESULT hr;

    *out = NULL;
    if (FAILED(hr = snapshot_create_guids(ids, count, &snapshot))) return hr;
    hr = enum_groups_new(snapshot, 0, out);
    snapshot_put(snapshot);
    return hr;
}
