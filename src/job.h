/* SPDX-License-Identifier: MIT */
/* The job object: IBackgroundCopyJob through IBackgroundCopyJob5 on one vtable.
 *
 * Two counts keep a job alive. `refcount` is the COM count clients see: it is 0 right after
 * the manager's CreateJob hands out its reference and the client releases it, as on Windows.
 * `holds` counts internal holders: the queue's hold while the job is unfinished, and one hold
 * while refcount > 0. The object is freed when holds reaches 0. A 0 -> 1 COM transition only
 * happens through the queue (GetJob) under the service lock, while the queue's hold keeps the
 * object alive. */
#ifndef OPENBITS_JOB_H
#define OPENBITS_JOB_H

#include "service.h"

struct job
{
    IBackgroundCopyJob5 IBackgroundCopyJob5_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;                        /* COM references */
    LONG holds;                           /* internal holds (see above) */
    struct service *service;              /* counted reference; owns the lock */

    struct queue_entry entry;             /* id is immutable; link  [service lock] */
    BG_JOB_TYPE type;                     /* immutable */
    BG_JOB_STATE state;                   /* [service lock] */
    WCHAR *display_name;                  /* [service lock] */
    FILETIME creation_time;               /* immutable */
    FILETIME modification_time;           /* [service lock] */
};

/* Creates a SUSPENDED job and puts it in the service's queue. On success *out is the
 * job's IBackgroundCopyJob with one COM reference. */
HRESULT job_create(struct service *service, const WCHAR *display_name, BG_JOB_TYPE type,
                   GUID *id, IBackgroundCopyJob **out);

/* Requires: service lock. Hands out a COM reference to a queued job. */
IBackgroundCopyJob *job_from_entry_locked(struct queue_entry *entry);

#endif
