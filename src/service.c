/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "service.h"

/* Guards the_service (the pointer), not the service's contents. */
static SRWLOCK service_global_lock = SRWLOCK_INIT;
static struct service *the_service;   /* [service_global_lock] */

HRESULT service_get(struct service **out)
{
    struct service *service;

    *out = NULL;
    AcquireSRWLockExclusive(&service_global_lock);
    if ((service = the_service))
        InterlockedIncrement(&service->refcount);
    else if ((service = calloc(1, sizeof(*service))))
    {
        service->refcount = 1;
        InitializeSRWLock(&service->lock);
        queue_init(&service->jobs);
        module_lock();
        the_service = service;
    }
    ReleaseSRWLockExclusive(&service_global_lock);

    if (!service) return E_OUTOFMEMORY;
    *out = service;
    return S_OK;
}

void service_put(struct service *service)
{
    AcquireSRWLockExclusive(&service_global_lock);
    if (InterlockedDecrement(&service->refcount))
        service = NULL;
    else
        the_service = NULL;
    ReleaseSRWLockExclusive(&service_global_lock);

    if (!service) return;
    /* Every queued job holds a service reference, so the queue is empty here. */
    queue_destroy(&service->jobs);
    free(service);
    module_unlock();
}
