/* SPDX-License-Identifier: MIT */
/* The manager object: IBackgroundCopyManager, and IBitsPeerCacheAdministration (peercache.c).
 * One object per CreateInstance, every versioned CLSID alike; all managers share the
 * process-wide service and its queue. */
#include <stdlib.h>

#include "job.h"
#include "objects.h"

#define MAX_DISPLAY_NAME 256

struct manager
{
    IBackgroundCopyManager IBackgroundCopyManager_iface;
    struct peercache_admin peercache;     /* IBitsPeerCacheAdministration, forwards IUnknown to us */
    struct test_control control;          /* IOpenBitsTestControl (test double only), forwards too */
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;
    struct service *service;              /* counted reference */
};

static inline struct manager *impl_from_IBackgroundCopyManager(IBackgroundCopyManager *iface)
{
    return CONTAINING_RECORD(iface, struct manager, IBackgroundCopyManager_iface);
}

static const struct qi_entry manager_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyManager, struct manager, IBackgroundCopyManager_iface),     /* identity */
    QI_ENTRY(IID_IBitsPeerCacheAdministration, struct manager, peercache.IBitsPeerCacheAdministration_iface),
    QI_ENTRY(IID_IOpenBitsTestControl, struct manager, control.IOpenBitsTestControl_iface),
    QI_END
};

static void manager_destroy(struct manager *manager)
{
    if (manager->marshal) IUnknown_Release(manager->marshal);
    if (manager->service) service_put(manager->service);
    free(manager);
    module_unlock();
}

static HRESULT WINAPI manager_QueryInterface(IBackgroundCopyManager *iface, REFIID riid, void **out)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    /* The test double's control only where it is enabled (docs/test-double.md): a production
     * registration cannot be steered by another program. */
    if (riid && IsEqualIID(riid, &IID_IOpenBitsTestControl) && !manager->service->test_double)
    {
        if (out) *out = NULL;
        return E_NOINTERFACE;
    }
    return qi_lookup(manager, manager_qi, &manager->marshal, riid, out);
}

static ULONG WINAPI manager_AddRef(IBackgroundCopyManager *iface)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);
    ULONG refcount = InterlockedIncrement(&manager->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI manager_Release(IBackgroundCopyManager *iface)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);
    ULONG refcount = InterlockedDecrement(&manager->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) manager_destroy(manager);
    return refcount;
}

static HRESULT WINAPI manager_CreateJob(IBackgroundCopyManager *iface, LPCWSTR name, BG_JOB_TYPE type,
                                        GUID *id, IBackgroundCopyJob **job)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);
    GUID new_id;
    HRESULT hr;

    TRACE("%p, %s, %d, %p, %p.\n", iface, debugstr_w(name), type, id, job);
    if (job) *job = NULL;
    if (!name || !id || !job) return E_INVALIDARG;
    if (wcsnlen(name, MAX_DISPLAY_NAME + 1) > MAX_DISPLAY_NAME) return E_INVALIDARG;
    /* An unknown job type: the spec leaves the code open (unconfirmed); E_INVALIDARG is
     * what a client checking for bad arguments expects. */
    if ((unsigned int)type > BG_JOB_TYPE_UPLOAD_REPLY) return E_INVALIDARG;

    if (FAILED(hr = job_create(manager->service, name, type, &new_id, job))) return hr;
    *id = new_id;
    return S_OK;
}

static HRESULT WINAPI manager_GetJob(IBackgroundCopyManager *iface, REFGUID id, IBackgroundCopyJob **job)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);
    struct queue_entry *entry;

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(id), job);
    if (!job) return E_INVALIDARG;
    *job = NULL;
    if (!id) return E_INVALIDARG;

    service_lock(manager->service);
    if ((entry = queue_find(&manager->service->jobs, id)))
        *job = job_from_entry_locked(entry);
    service_unlock(manager->service);
    return *job ? S_OK : BG_E_NOT_FOUND;
}

struct job_snapshot
{
    IBackgroundCopyJob **items;
    ULONG count;
};

/* Requires: service lock. */
static BOOL snapshot_job_locked(struct queue_entry *entry, void *context)
{
    struct job_snapshot *snapshot = context;

    snapshot->items[snapshot->count++] = job_from_entry_locked(entry);
    return TRUE;
}

/* The enumerator is a snapshot of the queue at the time of the call; the job objects in it stay
 * live. Jobs in a final state have left the queue, so they are never enumerated.
 *
 * Owners: the queue belongs to this process, whose callers share its identity unless a thread
 * impersonates. Neither GetJob nor EnumJobs filters by owner (flags 0 and BG_JOB_ENUM_ALL_USERS
 * give the same set, with no administrator check): asking the thread's token on every call
 * would cost more than the lookup itself, and in process every job is reachable anyway. The
 * owner is recorded, reported (GetOwner), and checked where it changes something: AddFile*,
 * TakeOwnership, and the per-user quota. */
static HRESULT WINAPI manager_EnumJobs(IBackgroundCopyManager *iface, DWORD flags, IEnumBackgroundCopyJobs **out)
{
    struct manager *manager = impl_from_IBackgroundCopyManager(iface);
    struct job_snapshot snapshot = { NULL, 0 };
    size_t count;

    TRACE("%p, %#lx, %p.\n", iface, flags, out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    /* Flag bits other than BG_JOB_ENUM_ALL_USERS: the spec leaves the code open (unconfirmed);
     * E_INVALIDARG, as for CreateJob's unknown job type. */
    if (flags & ~BG_JOB_ENUM_ALL_USERS) return E_INVALIDARG;

    /* Under the lock only an allocation and AddRefs of our own jobs; the enumerator is made
     * after it (on failure it releases the jobs, unlocked). */
    service_lock(manager->service);
    count = queue_count(&manager->service->jobs);
    if (count && (snapshot.items = malloc(count * sizeof(*snapshot.items))))
        queue_for_each(&manager->service->jobs, snapshot_job_locked, &snapshot);
    service_unlock(manager->service);
    if (count && !snapshot.items) return E_OUTOFMEMORY;

    return enum_jobs_create(snapshot.items, snapshot.count, out);
}

/* Text for any HRESULT (copy_error.c: BG_E_/BG_S_ codes from our message table, others from the
 * system). Unlike IBackgroundCopyError's, this method accepts LanguageId 0, which the spec does
 * not forbid here: it is FormatMessage's search order (neutral, the thread's UI language, the
 * user's and system's defaults, US English), so BITS codes come out in English and system codes
 * in the caller's language. */
static HRESULT WINAPI manager_GetErrorDescription(IBackgroundCopyManager *iface, HRESULT code, DWORD language,
                                                  LPWSTR *description)
{
    TRACE("%p, %#lx, %#lx, %p.\n", iface, code, language, description);
    if (!description) return E_INVALIDARG;
    return error_description(code, language, description);
}

static const IBackgroundCopyManagerVtbl manager_vtbl =
{
    manager_QueryInterface,
    manager_AddRef,
    manager_Release,
    manager_CreateJob,
    manager_GetJob,
    manager_EnumJobs,
    manager_GetErrorDescription,
};

HRESULT manager_create(REFIID riid, void **out)
{
    struct manager *manager;
    HRESULT hr;

    *out = NULL;
    if (!(manager = calloc(1, sizeof(*manager)))) return E_OUTOFMEMORY;
    module_lock();
    manager->IBackgroundCopyManager_iface.lpVtbl = &manager_vtbl;
    manager->refcount = 1;
    peercache_admin_init(&manager->peercache, (IUnknown *)&manager->IBackgroundCopyManager_iface);
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&manager->IBackgroundCopyManager_iface,
                                                  &manager->marshal)))
        goto fail;
    if (FAILED(hr = service_get(&manager->service))) goto fail;
    test_control_init(&manager->control, (IUnknown *)&manager->IBackgroundCopyManager_iface, manager->service);

    hr = manager_QueryInterface(&manager->IBackgroundCopyManager_iface, riid, out);
    manager_Release(&manager->IBackgroundCopyManager_iface);
    return hr;

fail:
    manager_destroy(manager);
    return hr;
}
