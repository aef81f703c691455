/* SPDX-License-Identifier: MIT */
/* The job enumerator: IEnumBackgroundCopyJobs over a snapshot of the queue taken by
 * IBackgroundCopyManager::EnumJobs. The enumerator rules live in enum_snapshot.c. */
#include <stdlib.h>

#include "enum_snapshot.h"
#include "objects.h"

struct enum_jobs
{
    IEnumBackgroundCopyJobs IEnumBackgroundCopyJobs_iface;
    struct enum_snapshot base;            /* elements are IBackgroundCopyJob * */
};

static inline struct enum_jobs *impl_from_IEnumBackgroundCopyJobs(IEnumBackgroundCopyJobs *iface)
{
    return CONTAINING_RECORD(iface, struct enum_jobs, IEnumBackgroundCopyJobs_iface);
}

static const struct qi_entry enum_jobs_qi[] =
{
    QI_ENTRY(IID_IEnumBackgroundCopyJobs, struct enum_jobs, IEnumBackgroundCopyJobs_iface),
    QI_END
};

static HRESULT enum_jobs_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyJobs **out);

static void enum_jobs_destroy(struct enum_jobs *enumerator)
{
    enum_snapshot_cleanup(&enumerator->base);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_jobs_QueryInterface(IEnumBackgroundCopyJobs *iface, REFIID riid, void **out)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_jobs_qi, &enumerator->base.marshal, riid, out);
}

static ULONG WINAPI enum_jobs_AddRef(IEnumBackgroundCopyJobs *iface)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);
    ULONG refcount = enum_snapshot_addref(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_jobs_Release(IEnumBackgroundCopyJobs *iface)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);
    ULONG refcount = enum_snapshot_release(&enumerator->base);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_jobs_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_jobs_Next(IEnumBackgroundCopyJobs *iface, ULONG celt, IBackgroundCopyJob **rgelt,
                                     ULONG *fetched)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return enum_snapshot_next(&enumerator->base, celt, rgelt, fetched);
}

static HRESULT WINAPI enum_jobs_Skip(IEnumBackgroundCopyJobs *iface, ULONG celt)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p, %lu.\n", iface, celt);
    return enum_snapshot_skip(&enumerator->base, celt);
}

static HRESULT WINAPI enum_jobs_Reset(IEnumBackgroundCopyJobs *iface)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p.\n", iface);
    enum_snapshot_reset(&enumerator->base);
    return S_OK;
}

/* A NULL out-param: the spec gives no code (unconfirmed); E_INVALIDARG, as GetCount. */
static HRESULT WINAPI enum_jobs_Clone(IEnumBackgroundCopyJobs *iface, IEnumBackgroundCopyJobs **out)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_jobs_new(enumerator->base.snapshot, enum_snapshot_position(&enumerator->base), out);
}

static HRESULT WINAPI enum_jobs_GetCount(IEnumBackgroundCopyJobs *iface, ULONG *count)
{
    struct enum_jobs *enumerator = impl_from_IEnumBackgroundCopyJobs(iface);

    TRACE("%p, %p.\n", iface, count);
    return enum_snapshot_get_count(&enumerator->base, count);
}

static const IEnumBackgroundCopyJobsVtbl enum_jobs_vtbl =
{
    enum_jobs_QueryInterface,
    enum_jobs_AddRef,
    enum_jobs_Release,
    enum_jobs_Next,
    enum_jobs_Skip,
    enum_jobs_Reset,
    enum_jobs_Clone,
    enum_jobs_GetCount,
};

/* A new enumerator over `snapshot` (a reference is taken) at `position`. */
static HRESULT enum_jobs_new(struct snapshot *snapshot, ULONG position, IEnumBackgroundCopyJobs **out)
{
    struct enum_jobs *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBackgroundCopyJobs_iface.lpVtbl = &enum_jobs_vtbl;
    if (FAILED(hr = enum_snapshot_init(&enumerator->base,
                                       (IUnknown *)&enumerator->IEnumBackgroundCopyJobs_iface,
                                       snapshot, position)))
        goto fail;

    *out = &enumerator->IEnumBackgroundCopyJobs_iface;
    return S_OK;

fail:
    enum_jobs_destroy(enumerator);
    return hr;
}

HRESULT enum_jobs_create(IBackgroundCopyJob **items, ULONG count, IEnumBackgroundCopyJobs **out)
{
    struct snapshot *snapshot;
    HRESULT hr;

    *out = NULL;
    if (FAILED(hr = snapshot_create(items, count, &snapshot))) return hr;
    hr = enum_jobs_new(snapshot, 0, out);
    snapshot_put(snapshot);
    return hr;
}
