/* SPDX-License-Identifier: MIT */
/* The file enumerator: IEnumBackgroundCopyFiles over a snapshot of a job's files, in the order
 * they were added, taken by IBackgroundCopyJob::EnumFiles. The enumerator rules live in
 * enum_snapshot.c. */
#include <stdlib.h>

#include "enum_snapshot.h"
#include "objects.h"

struct enum_files
{
    IEnumBackgroundCopyFiles IEnumBackgroundCopyFiles_iface;
    struct enum_snapshot base;            /* elements are IBackgroundCopyFile * */
};

static inline struct enum_files *impl_from_IEnumBackgroundCopyFiles(IEnumBackgroundCopyFiles *iface)
{
    return CONTAINING_RECORD(iface, struct enum_files, IEnumBackgroundCopyFiles_iface);
}

static const struct qi_entry enum_files_qi[] =
{
    QI_ENTRY(IID_IEnumBackgroundCopyFiles, struct enum_files, IEnumBackgroundCopyFiles_iface),
    QI_END
};

static HRESULT enum_files_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyFiles **out);

static void enum_files_destroy(struct enum_files *enumerator)
{
    enum_snapshot_cleanup(&enumerator->base);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_files_QueryInterface(IEnumBackgroundCopyFiles *iface, REFIID riid, void **out)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_files_qi, &enumerator->base.marshal, riid, out);
}

static ULONG WINAPI enum_files_AddRef(IEnumBackgroundCopyFiles *iface)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);
    ULONG refcount = enum_snapshot_addref(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_files_Release(IEnumBackgroundCopyFiles *iface)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);
    ULONG refcount = enum_snapshot_release(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_files_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_files_Next(IEnumBackgroundCopyFiles *iface, ULONG celt,
                                      IBackgroundCopyFile **rgelt, ULONG *fetched)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return enum_snapshot_next(&enumerator->base, celt, rgelt, fetched);
}

static HRESULT WINAPI enum_files_Skip(IEnumBackgroundCopyFiles *iface, ULONG celt)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p, %lu.\n", iface, celt);
    return enum_snapshot_skip(&enumerator->base, celt);
}

static HRESULT WINAPI enum_files_Reset(IEnumBackgroundCopyFiles *iface)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p.\n", iface);
    enum_snapshot_reset(&enumerator->base);
    return S_OK;
}

/* A NULL out-param: the spec gives no code (unconfirmed); E_INVALIDARG, as GetCount. */
static HRESULT WINAPI enum_files_Clone(IEnumBackgroundCopyFiles *iface, IEnumBackgroundCopyFiles **out)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_files_new(enumerator->base.snapshot, enum_snapshot_position(&enumerator->base), out);
}

static HRESULT WINAPI enum_files_GetCount(IEnumBackgroundCopyFiles *iface, ULONG *count)
{
    struct enum_files *enumerator = impl_from_IEnumBackgroundCopyFiles(iface);

    TRACE("%p, %p.\n", iface, count);
    return enum_snapshot_get_count(&enumerator->base, count);
}

static const IEnumBackgroundCopyFilesVtbl enum_files_vtbl =
{
    enum_files_QueryInterface,
    enum_files_AddRef,
    enum_files_Release,
    enum_files_Next,
    enum_files_Skip,
    enum_files_Reset,
    enum_files_Clone,
    enum_files_GetCount,
};

/* A new enumerator over `snapshot` (a reference is taken) at `position`. */
static HRESULT enum_files_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyFiles **out)
{
    struct enum_files *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBackgroundCopyFiles_iface.lpVtbl = &enum_files_vtbl;
    if (FAILED(hr = enum_snapshot_init(&enumerator->base,
                                       (IUnknown *)&enumerator->IEnumBackgroundCopyFiles_iface,
                                       snapshot, position)))
        goto fail;

    *out = &enumerator->IEnumBackgroundCopyFiles_iface;
    return S_OK;

fail:
    enum_files_destroy(enumerator);
    return hr;
}

HRESULT enum_files_create(IBackgroundCopyFile **items, ULONG count, IEnumBackgroundCopyFiles **out)
{
    struct snapshot *snapshot;
    HRESULT hr;

    *out = NULL;
    if (FAILED(hr = snapshot_create(items, count, &snapshot))) return hr;
    hr = enum_files_new(snapshot, 0, out);
    snapshot_put(snapshot);
    return hr;
}
