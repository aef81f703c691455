/* SPDX-License-Identifier: MIT */
/* The job object: IBackgroundCopyJob through Job5 on one vtable (job.c), and
 * IBackgroundCopyJobHttpOptions through 3 and IBitsTokenOptions (job_options.c), one identity.
 *
 * Two counts keep a job alive. `refcount` is the COM count clients see: it is 0 right after
 * the manager's CreateJob hands out its reference and the client releases it, as on Windows.
 * `holds` counts internal holders: the queue's hold while the job is unfinished, and one hold
 * while refcount > 0. The object is freed when holds reaches 0. A 0 -> 1 COM transition only
 * happens through the queue (GetJob, EnumJobs) under the service lock, while the queue's hold
 * keeps the object alive. */
#ifndef OPENBITS_JOB_H
#define OPENBITS_JOB_H

#include "service.h"
#include "core/engine.h"

#define JOB_AUTH_TARGETS 2        /* BG_AUTH_TARGET_SERVER, _PROXY */
#define JOB_AUTH_SCHEMES 5        /* BG_AUTH_SCHEME_BASIC .. _PASSPORT */

struct job_credential
{
    BOOL set;
    WCHAR *user;                          /* may be NULL (implicit NTLM/Negotiate) */
    WCHAR *password;                      /* wiped before it is freed */
};

struct job_file;
struct group;

struct job
{
    IBackgroundCopyJob5 IBackgroundCopyJob5_iface;
    IBackgroundCopyJobHttpOptions3 IBackgroundCopyJobHttpOptions3_iface;
    IBitsTokenOptions IBitsTokenOptions_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler, made by qi_lookup */
    LONG refcount;                        /* COM references */
    LONG holds;                           /* internal holds (see above) */
    struct service *service;              /* counted reference; owns the lock */

    struct queue_entry entry;             /* id is immutable; link  [service lock] */
    FILETIME creation_time;               /* immutable */
    struct group *group;                  /* a BITS 1.x group (group.c), NULL for a job of the
                                           * manager; immutable */

    /* Everything below: [service lock] */
    struct engine_job xfer;               /* state, priority, files, timeouts, error, an
                                           * upload's session and reply: the engine's part
                                           * (src/core/engine.h) */
    WCHAR *display_name, *description;
    ULONG notify_flags;
    DWORD notify_cookie;                  /* GIT cookie of the notify interface, 0 = none */
    WCHAR *notify_program, *notify_parameters;    /* NULL = never set ("") */
    BG_JOB_PROXY_USAGE proxy_usage;
    WCHAR *proxy_list, *proxy_bypass;
    WCHAR *owner;                         /* string SID */
    ULONG owner_integrity;
    BOOL owner_elevated;
    struct job_credential credentials[JOB_AUTH_TARGETS][JOB_AUTH_SCHEMES];
    DWORD acl_flags, peer_flags;
    BOOL finishing;                       /* Complete is renaming files outside the lock */
    ULONGLONG modification_notified;      /* tick of the last JobModification delivered */
    ULONG busy;                           /* workers in a chunk of the job, until its cleanup */
    ULONG events_pending;                 /* queued or being delivered */
    ULONG notify_users;                   /* threads inside a GIT lookup of the job's cookies */

    /* IBackgroundCopyJob5 properties */
    DWORD cost_flags;
    GUID notification_clsid;
    BG_AUTH_TARGET stored_credentials_target;     /* 0 = not set */
    DWORD min_notification_interval;

    /* IBackgroundCopyJobHttpOptions..3 */
    BOOL has_certificate, certificate_by_hash;
    BG_CERT_STORE_LOCATION certificate_location;
    WCHAR *certificate_store, *certificate_subject;
    BYTE certificate_hash[20];
    WCHAR *custom_headers;
    BOOL headers_write_only;
    ULONG security_flags;
    WCHAR *http_method;                   /* NULL = the default for the job type */
    DWORD certificate_callback_cookie;    /* GIT cookie, 0 = none */

    /* IBitsTokenOptions */
    BG_TOKEN token_flags;
    WCHAR *helper_token_sid;
    HANDLE helper_token;
};

static inline struct job *impl_from_IBackgroundCopyJob5(IBackgroundCopyJob5 *iface)
{
    return CONTAINING_RECORD(iface, struct job, IBackgroundCopyJob5_iface);
}

/* Creates a SUSPENDED job and puts it in the service's queue. On success *out is the
 * job's IBackgroundCopyJob with one COM reference. */
HRESULT job_create(struct service *service, const WCHAR *display_name, BG_JOB_TYPE type,
                   GUID *id, IBackgroundCopyJob **out);
/* The same for a BITS 1.x group (a download job with the caller's GUID): `group` becomes the
 * job's (freed with it, or here on failure). HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) when a
 * job with that GUID is queued. */
HRESULT job_create_group(struct service *service, const GUID *id, struct group *group,
                         IBackgroundCopyJob **out);

/* Requires: service lock. Hands out a COM reference to a queued job. */
IBackgroundCopyJob *job_from_entry_locked(struct queue_entry *entry);

/* The internal holds (see above): the queue's, one for COM references, one per file with COM
 * references. The last unhold destroys the job; never call it under the service lock. */
void job_hold(struct job *job);
void job_unhold(struct job *job);
/* Requires: service lock. Drops a hold; TRUE when it was the last one: the caller then calls
 * job_free after unlocking. Lets a worker drop its hold in the same locked step that tells a
 * waiting Cancel it is done, so the client's next Release is the one that frees the job. */
BOOL job_unhold_locked(struct job *job);
void job_free(struct job *job);

/* The job's notify interface from the GIT (AddRef'd; S_OK and NULL when none is set), safe
 * against a concurrent SetNotifyInterface: a cookie is never revoked while it is being looked
 * up (Wine's GIT asserts when the two race). No lock held. */
HRESULT job_notify_get(struct job *job, REFIID iid, void **out);
/* The same for another GIT cookie field of the job ([service lock], revoked with
 * job_notify_revoke). */
HRESULT job_notify_get_cookie(struct job *job, const DWORD *cookie_field, REFIID iid, void **out);
/* Revokes a cookie the job no longer uses, once no lookup is in progress. No lock held. */
void job_notify_revoke(struct job *job, DWORD cookie);

/* Suspend. With active_only (SuspendGroup), a job in ERROR or TRANSFERRED stays there. */
HRESULT job_suspend(struct job *job, BOOL active_only);

/* job_files.c: the job methods about files (IBackgroundCopyJob .. Job3). */
HRESULT WINAPI job_AddFileSet(IBackgroundCopyJob5 *iface, ULONG count, BG_FILE_INFO *files);
HRESULT WINAPI job_AddFile(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local);
HRESULT WINAPI job_AddFileWithRanges(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local,
                                     DWORD count, BG_FILE_RANGE *ranges);
HRESULT WINAPI job_EnumFiles(IBackgroundCopyJob5 *iface, IEnumBackgroundCopyFiles **out);
HRESULT WINAPI job_Resume(IBackgroundCopyJob5 *iface);
HRESULT WINAPI job_Cancel(IBackgroundCopyJob5 *iface);
HRESULT WINAPI job_Complete(IBackgroundCopyJob5 *iface);
HRESULT WINAPI job_GetProgress(IBackgroundCopyJob5 *iface, BG_JOB_PROGRESS *progress);
HRESULT WINAPI job_GetError(IBackgroundCopyJob5 *iface, IBackgroundCopyError **error);
HRESULT WINAPI job_ReplaceRemotePrefix(IBackgroundCopyJob5 *iface, LPCWSTR old_prefix, LPCWSTR new_prefix);
HRESULT WINAPI job_SetReplyFileName(IBackgroundCopyJob5 *iface, LPCWSTR name);
HRESULT WINAPI job_GetReplyData(IBackgroundCopyJob5 *iface, byte **buffer, UINT64 *length);
HRESULT WINAPI job_GetReplyProgress(IBackgroundCopyJob5 *iface, BG_JOB_REPLY_PROGRESS *progress);
/* Makes the transferred files of a download available under their local names, the job staying
 * in its state (a BITS 1.x group has no Complete): a file whose rename fails stays in its
 * temporary file; with fail_job, the job then goes to ERROR with that error (LOCAL_FILE).
 * S_OK, the first rename's failure, or BG_E_INVALID_STATE for a job in a final state. No lock
 * held. */
HRESULT job_deliver_files(struct job *job, BOOL fail_job);
/* Frees the file records and the error record (called by the job's destroy). */
void job_files_free(struct job *job);
/* Requires: service lock. Moves a job to a final state and out of the queue; the caller drops
 * the queue's hold (job_unhold) after unlocking. */
HRESULT job_finish_locked(struct job *job, BG_JOB_STATE final);

/* Requires: service lock. Records a change of the job (GetTimes' ModificationTime). */
void job_touch_locked(struct job *job);

/* job_options.c: the vtables of the secondary interfaces. */
extern const IBackgroundCopyJobHttpOptions3Vtbl job_http_options_vtbl;
extern const IBitsTokenOptionsVtbl job_token_options_vtbl;
/* Frees what job_options.c owns in the job (called by the job's destroy). */
void job_options_free(struct job *job);
/* Requires: service lock. Drops what TakeOwnership strips here: the client certificate and the
 * custom headers (freeing memory is no callout). */
void job_options_strip_locked(struct job *job);

/* Requires: service lock. BG_E_INVALID_STATE for a job in a final state. */
HRESULT job_check_modifiable_locked(struct job *job);
/* Setter and getter shapes shared by every interface of the job: the setters check that the
 * job is modifiable and stamp the modification time; the getters answer E_INVALIDARG for a
 * NULL out-param (interfaces documented with another code check it first). */
HRESULT job_swap_string(struct job *job, WCHAR **field, WCHAR **value);
HRESULT job_get_string(struct job *job, WCHAR *const *field, const WCHAR *fallback, WCHAR **out);
HRESULT job_set_ulong(struct job *job, ULONG *field, ULONG value);
HRESULT job_get_ulong(struct job *job, const ULONG *field, ULONG *out);

/* Copies a string before the lock is taken; NULL stays NULL. */
HRESULT job_copy_string(const WCHAR *src, WCHAR **out);
/* Wipes and frees a secret. */
void free_secret(WCHAR *secret);

#endif
