/* SPDX-License-Identifier: MIT */
/* The legacy BITS 1.x Queue Manager object: IBackgroundCopyQMgr (CLSID_BackgroundCopyQMgr,
 * BITS-SPEC.md §10.2). One object per CreateInstance; every QMgr shares the process-wide service,
 * and its groups are jobs of the one queue (group.h). */
#include <stdlib.h>

#include "group.h"
#include "job.h"
#include "objects.h"
#include "owner.h"

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

/* A new group is a new download job of the queue with the caller's GUID (group.h), SUSPENDED.
 * A GUID the queue already has (a group's or, improbably, a job's) is E_INVALIDARG, as the spec
 * says for an existing group; GUID_NULL too (unconfirmed: it names nothing). */
static HRESULT WINAPI qmgr_CreateGroup(IBackgroundCopyQMgr *iface, GUID id, IBackgroundCopyGroup **out)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);
    IBackgroundCopyJob *job;
    struct group *group;
    HRESULT hr;

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(&id), out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (IsEqualGUID(&id, &GUID_NULL)) return E_INVALIDARG;
    if (!(group = group_alloc())) return E_OUTOFMEMORY;
    if (FAILED(hr = job_create_group(qmgr->service, &id, group, &job)))
        return hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) ? E_INVALIDARG : hr;
    /* The job's one reference, as its group interface. */
    *out = &group->IBackgroundCopyGroup_iface;
    return S_OK;
}

/* Only groups: a job of IBackgroundCopyManager is not one. As GetJob, no owner filter (see
 * manager.c); the caller becomes the group's owner (§10.2). */
static HRESULT WINAPI qmgr_GetGroup(IBackgroundCopyQMgr *iface, GUID id, IBackgroundCopyGroup **out)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);
    struct queue_entry *entry;
    struct owner_info owner;
    struct job *job;
    HRESULT hr;

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(&id), out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (FAILED(hr = owner_get_caller(&owner))) return hr;

    service_lock(qmgr->service);
    if ((entry = queue_find(&qmgr->service->jobs, &id))
        && (job = CONTAINING_RECORD(entry, struct job, entry))->group)
    {
        WCHAR *old = job->owner;
        job->owner = owner.sid;
        owner.sid = old;                  /* freed below, without the lock */
        job->owner_integrity = owner.integrity;
        job->owner_elevated = owner.elevated;
        job_from_entry_locked(entry);     /* the reference handed out */
        *out = &job->group->IBackgroundCopyGroup_iface;
    }
    service_unlock(qmgr->service);
    owner_free(&owner);
    return *out ? S_OK : (HRESULT)QM_E_ITEM_NOT_FOUND;
}

struct group_ids
{
    GUID *ids;
    ULONG count;
};

/* Requires: service lock. */
static BOOL collect_group_locked(struct queue_entry *entry, void *context)
{
    struct group_ids *snapshot = context;

    if (CONTAINING_RECORD(entry, struct job, entry)->group) snapshot->ids[snapshot->count++] = entry->id;
    return TRUE;
}

/* A snapshot of the groups' GUIDs; flags must be 0 (documented: E_NOTIMPL). Every group, as
 * EnumJobs lists every job (see manager.c). */
static HRESULT WINAPI qmgr_EnumGroups(IBackgroundCopyQMgr *iface, DWORD flags, IEnumBackgroundCopyGroups **out)
{
    struct qmgr *qmgr = impl_from_IBackgroundCopyQMgr(iface);
    struct group_ids snapshot = { NULL, 0 };
    size_t count;

    TRACE("%p, %#lx, %p.\n", iface, flags, out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (flags) return E_NOTIMPL;

    service_lock(qmgr->service);
    count = queue_count(&qmgr->service->jobs);
    if (count && (snapshot.ids = malloc(count * sizeof(*snapshot.ids))))
        queue_for_each(&qmgr->service->jobs, collect_group_locked, &snapshot);
    service_unlock(qmgr->service);
    if (count && !snapshot.ids) return E_OUTOFMEMORY;
    return enum_groups_create(snapshot.ids, snapshot.count, out);
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
