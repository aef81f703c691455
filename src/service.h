/* SPDX-License-Identifier: MIT */
/* The process-wide service: the one lock and the job queue behind every manager.
 *
 * Lock policy (one lock): service->lock is an SRWLOCK taken exclusive. It guards the queue
 * and every mutable job field (tagged [service lock]). While it is held nothing foreign is
 * called: no client callback, no client QueryInterface/Release, no final Release of our
 * own objects, no I/O and no waits. */
#ifndef OPENBITS_SERVICE_H
#define OPENBITS_SERVICE_H

#include "common.h"
#include "core/queue.h"

struct service
{
    LONG refcount;                /* managers and job objects each hold one */
    SRWLOCK lock;
    struct queue jobs;            /* struct job entries, unfinished jobs only  [service lock] */
};

/* Returns the process-wide service with a reference, creating it on first use. */
HRESULT service_get(struct service **out);
void service_put(struct service *service);
static inline void service_addref(struct service *service) { InterlockedIncrement(&service->refcount); }

static inline void service_lock(struct service *service) { AcquireSRWLockExclusive(&service->lock); }
static inline void service_unlock(struct service *service) { ReleaseSRWLockExclusive(&service->lock); }

#endif
