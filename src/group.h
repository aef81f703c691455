/* SPDX-License-Identifier: MIT */
/* The BITS 1.x Queue Manager's group and job (BITS-SPEC.md §10): IBackgroundCopyGroup (group.c)
 * and IBackgroundCopyJob1 (job1.c) are two more interfaces of one job object (src/job.c), the
 * same way IBackgroundCopyJobHttpOptions is. A group is a download job of the one queue,
 * created by IBackgroundCopyQMgr::CreateGroup with the caller's GUID as its id: the engine,
 * scheduler, files and states are the job's, and IBackgroundCopyManager::GetJob finds it by the
 * group's GUID. Its IBackgroundCopyJob1 ("the group's job", at most one, made by CreateJob with
 * a GUID of the caller's) is the same job again, under that second GUID, which only the
 * group's GetJob and EnumJobs know.
 *
 * What BITS 1.x adds to the job lives in struct group, allocated with the job and freed with
 * it: the GROUPPROP values that are not the job's own, the job's GUID, and the notification
 * target. The IUnknown methods of both interfaces are the job's. */
#ifndef OPENBITS_GROUP_H
#define OPENBITS_GROUP_H

#include "service.h"

struct job;

struct group
{
    IBackgroundCopyGroup IBackgroundCopyGroup_iface;
    IBackgroundCopyJob1 IBackgroundCopyJob1_iface;
    struct job *job;                      /* the job this group is; immutable once created */

    /* Everything below: [service lock] */
    BOOL has_job;                         /* CreateJob made the group's job */
    GUID job_id;                          /* its GUID, chosen by the caller */
    DWORD notify_flags;                   /* GROUPPROP_NOTIFYFLAGS */
    CLSID notify_clsid;                   /* GROUPPROP_NOTIFYCLSID, GUID_NULL: none */
    DWORD notify_cookie;                  /* SetNotificationPointer's object in the GIT, 0: none;
                                           * revoked by the job's destroy */
};

static inline struct group *impl_from_IBackgroundCopyGroup(IBackgroundCopyGroup *iface)
{
    return CONTAINING_RECORD(iface, struct group, IBackgroundCopyGroup_iface);
}

static inline struct group *impl_from_IBackgroundCopyJob1(IBackgroundCopyJob1 *iface)
{
    return CONTAINING_RECORD(iface, struct group, IBackgroundCopyJob1_iface);
}

/* job1.c: the vtable of the group's IBackgroundCopyJob1. */
extern const IBackgroundCopyJob1Vtbl group_job1_vtbl;

/* A new group record for job_create_group (src/job.h), or NULL when out of memory. */
struct group *group_alloc(void);
/* Frees a record (NULL is fine); its GIT cookie is the caller's to revoke. */
void group_free(struct group *group);

/* QueryInterface of the job for the group's interfaces: TRUE and *out AddRef'd for
 * IBackgroundCopyGroup, and IBackgroundCopyJob1 once the group has its job. */
BOOL group_query_interface(struct group *group, REFIID riid, void **out);

/* Requires: service lock. TRUE when the client can be called back (a notification pointer or
 * a CLSID): a wait for the job's events must not wait for those (the client may be calling in
 * from one of them). */
BOOL group_notifies_locked(struct group *group);

/* Requires: service lock. The state words of BITS-SPEC.md §10.3 and §10.4, read from the job's
 * state and files: the group's QM_STATUS_GROUP_* flags, and the job's word, one of
 * QM_STATUS_JOB_INCOMPLETE, _COMPLETE and _ERROR with, for ERROR, the Win32 and HTTP results. */
DWORD group_status_locked(struct job *job);
void group_job_status_locked(struct job *job, DWORD *status, DWORD *win32, DWORD *transport, DWORD *retries);

/* Requires: service lock. QM_PROGRESS_PERCENT_DONE and QM_PROGRESS_SIZE_DONE (GetProgress of
 * the group and its job): S_OK, or E_NOTIMPL for QM_PROGRESS_TIME_DONE and unknown flags. */
HRESULT group_progress_locked(struct job *job, DWORD flags, DWORD *progress);

/* Maps BG_E_INVALID_STATE of the job's own methods to what BITS 1.x says, QM_E_INVALID_STATE. */
HRESULT group_result(HRESULT hr);

/* No lock held. Delivers a group's event (engine_host.c queues one beside the job's own for
 * JOB_TRANSFERRED and JOB_ERROR): on TRANSFERRED the files become available in place, then
 * IBackgroundCopyCallback1::OnStatus as BITS-SPEC.md §10.5 says. Returns how many ms from now
 * the event must be delivered again (OnStatus did not answer S_OK), or 0. */
DWORD group_deliver(struct service *service, struct service_event *event);

#endif
