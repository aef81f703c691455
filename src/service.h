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

/* Quotas (BITS-SPEC.md §4): the documented defaults, or Group Policy's values under
 * HKLM\Software\Policies\Microsoft\Windows\BITS, read when the service is created. They
 * count unfinished jobs and bind callers who are not administrators. */
struct service_limits
{
    ULONG jobs_per_machine;       /* MaxJobsPerMachine, default 300 */
    ULONG jobs_per_user;          /* MaxJobsPerUser, default 60 */
    ULONG files_per_job;          /* MaxFilesPerJob, default 200 */
};

struct service
{
    LONG refcount;                /* managers and job objects each hold one */
    SRWLOCK lock;
    struct queue jobs;            /* struct job entries, unfinished jobs only  [service lock] */
    struct service_limits limits; /* immutable */
};

/* Returns the process-wide service with a reference, creating it on first use. */
HRESULT service_get(struct service **out);
void service_put(struct service *service);
static inline void service_addref(struct service *service) { InterlockedIncrement(&service->refcount); }

static inline void service_lock(struct service *service) { AcquireSRWLockExclusive(&service->lock); }
static inline void service_unlock(struct service *service) { ReleaseSRWLockExclusive(&service->lock); }

#endif
