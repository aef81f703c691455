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
#include "core/engine.h"
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

#define MAX_WORKERS 4

struct job;
struct job_file;

/* An event of the engine waiting for delivery (engine_host.c queues, notify.c delivers). */
struct service_event
{
    struct service_event *next;
    enum engine_event_kind kind;
    struct job *job;              /* held (job_hold) until delivered */
    struct job_file *file;        /* FILE_TRANSFERRED: the file; else NULL */
    BOOL group;                   /* for the job's BITS 1.x group (group_deliver), not its own
                                   * callbacks */
    ULONGLONG due;                /* in service->delayed: when to deliver it again */
};

/* Lifetime, two counts (STYLE.md §2.9): `refcount` counts users (managers and job objects);
 * `base` is 1 while there are users, plus 1 per worker thread. The last user stops the
 * workers (and waits for them unless it is one); the last base frees the service. */
struct service
{
    LONG refcount;
    LONG base;
    SRWLOCK lock;
    CONDITION_VARIABLE work;      /* workers sleep here when there is nothing to do */
    CONDITION_VARIABLE idle;      /* signalled after every commit */
    struct queue jobs;            /* struct job entries, unfinished jobs only  [service lock] */
    struct service_limits limits; /* immutable */
    struct engine engine;         /* [service lock] */
    struct service_event *events, *events_tail;   /* [service lock] */
    struct service_event *delayed;                /* deliveries to try again later [service lock] */
    HANDLE workers[MAX_WORKERS];  /* [service lock] */
    ULONG worker_count;           /* [service lock] */
    BOOL workers_started;         /* [service lock] */
    BOOL stopping;                /* [service lock] */
    ULONG workers_awake;          /* workers not asleep on `work` [service lock] */
    struct test_double *test_double;  /* the test double when enabled, else NULL; immutable */
};

/* The engine's clock (real, or the test double's virtual time), in ms. */
static inline UINT64 service_now(struct service *service)
{
    return service->engine.clock->now(service->engine.clock_context);
}

/* Returns the process-wide service with a reference, creating it on first use. */
HRESULT service_get(struct service **out);
void service_put(struct service *service);
static inline void service_addref(struct service *service) { InterlockedIncrement(&service->refcount); }

/* Drops a base count (a worker leaving, or the users' count): the last frees the service. */
void service_release_base(struct service *service);
/* No lock held. Something to schedule: wakes the workers, and starts them first when `start`
 * (Resume) and they are not running yet. */
void service_wake(struct service *service, BOOL start);
/* Requires: service lock. TRUE when the calling thread is one of the service's workers. */
BOOL service_on_worker_locked(struct service *service);
/* No lock held. Forgets the undelivered events of a job that reached a final state (Cancel,
 * Complete): nothing is told about a job the client has finished with. */
void service_drop_events(struct service *service, struct job *job);
/* No lock held. Delivers the engine's events queued by a COM method's own changes. */
void service_deliver_events(struct service *service);
/* No lock held. Waits until no worker works on the job (Cancel and Complete, before they touch
 * its files and return): no chunk, no cleanup, no event in delivery (see engine_host.c). */
void service_wait_idle(struct service *service, struct job *job);

static inline void service_lock(struct service *service) { AcquireSRWLockExclusive(&service->lock); }
static inline void service_unlock(struct service *service) { ReleaseSRWLockExclusive(&service->lock); }

#endif
