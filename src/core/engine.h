/* SPDX-License-Identifier: MIT */
/* The transfer engine's data and logic (BITS-SPEC.md §3, §5, §6.3), platform-free.
 *
 * The job and file records the COM objects wrap (struct engine_job in struct job, struct
 * engine_file in struct job_file) are defined here, so that the engine and its tests work on
 * them without COM. Every field is guarded by the service lock; the functions below say which
 * of them require it. The core takes no lock, starts no thread and does no I/O of its own:
 * time, files and transports come through the seams in struct engine.
 *
 * A transfer is a sequence of chunks, each in three steps (STYLE.md §2.10):
 *   engine_begin_chunk_locked()   picks a job and copies what the chunk needs (locked)
 *   engine_transfer_chunk()       opens / reads / writes, no lock held
 *   engine_commit_chunk_locked()  re-validates the job and applies the result (locked)
 * so Suspend, Cancel, Complete or a new file between begin and commit are seen by the commit.
 * A worker runs this loop; a test drives it step by step with fake seams. */
#ifndef OPENBITS_CORE_ENGINE_H
#define OPENBITS_CORE_ENGINE_H

#include <windows.h>
#include "bits.h"
#include "core/ranges.h"
#include "core/transport.h"
#include "core/upload.h"
#include "core/validate.h"

/* --- records ------------------------------------------------------------------------------- */

struct engine_file
{
    WCHAR *remote_name;
    enum remote_kind kind;                /* of remote_name */
    WCHAR *local_name;                    /* immutable */
    WCHAR *temp_name;                     /* where the download is written; NULL: in place, the
                                           * local name (uploads, high-performance jobs) */
    BG_FILE_RANGE *ranges;                /* AddFileWithRanges' ranges in the caller's order; immutable */
    DWORD range_count;

    UINT64 bytes_total;                   /* BG_SIZE_UNKNOWN until known */
    UINT64 bytes_transferred;             /* bytes in the temporary file, from its start */
    BOOL transferred;                     /* every byte is there (upload: on the server) */
    BOOL completed;                       /* available to the user: renamed by Complete (download) */
    BOOL temp_created;                    /* the engine created temp_name */
    BOOL validation_state;                /* File3 SetValidationState */
    BOOL no_range_support;                /* the server answered a range request with 200 */
    UINT64 remote_size;                   /* the whole remote file's size, BG_SIZE_UNKNOWN */
    FILETIME remote_time;                 /* the remote file's time the bytes so far came from */
    WCHAR *response_headers;              /* last HTTP response's header block, NULL before one */
    UINT64 download_position;             /* File6 UpdateDownloadPosition */
    struct range_list requested;          /* File6 RequestFileRanges */
    struct range_list filled;             /* bytes present in the temporary file (on-demand jobs) */
};

/* What GetError snapshots: set when the job enters ERROR or TRANSIENT_ERROR. */
struct engine_error
{
    BOOL set;
    BG_ERROR_CONTEXT context;
    HRESULT code;
    struct engine_file *file;             /* the file it concerns, or NULL */
    const WCHAR *protocol;                /* static: L"http", L"file", or NULL */
};

struct engine_run;

/* Upload and upload-reply jobs: the BITS upload session of the job's one file (BITS-SPEC.md §9).
 * The file's bytes_transferred is what the server said it has, bytes_total the local file's size
 * and `transferred` that the server has all of it. */
struct engine_upload
{
    WCHAR *session_id;                    /* NULL: no session (yet, or any more) */
    WCHAR *host_id;                       /* BITS-Host-Id: where the session's packets go; NULL:
                                           * the remote name's host */
    UINT64 host_fallback_ms;              /* BITS-Host-Id-Fallback-Timeout; ~0: never fall back */
    UINT64 host_failed_at;                /* when host_id could first not be reached (ms), or 0 */
    BOOL pinged;                          /* the server answered a Ping */
    BOOL fresh;                           /* no fragment acknowledged in this session yet */
    DWORD fragment_size;                  /* of the next fragment */
    BOOL local_known;                     /* the local file as the upload found it: */
    UINT64 local_size;                    /* a change is BG_E_LOCAL_FILE_CHANGED */
    FILETIME local_time;
    WCHAR *upload_url;                    /* the URL the final fragment went to (the reply URL is
                                           * relative to it) */
};

/* Upload-reply jobs: the reply, an ordinary download once the server named it. */
#define MAX_REPLY_DATA (1024 * 1024)      /* GetReplyData's in-memory limit, BITS-SPEC.md §4 */

struct engine_job
{
    BG_JOB_TYPE type;                     /* immutable */
    BG_JOB_STATE state;                   /* written only through job_state_transition */
    BG_JOB_PRIORITY priority;
    struct engine_file **files;           /* in the order added */
    ULONG file_count, file_capacity;
    ULONG retry_delay, no_progress_timeout, max_download_time;     /* seconds */
    ULONG error_count;
    FILETIME modification_time, completion_time;
    struct engine_error error;
    BOOL resumed;                         /* Resume has succeeded at least once */
    BOOL dynamic_content, high_performance, on_demand;
    UINT64 max_download_size;
    BOOL custom_method;                   /* a custom HTTP method: transient errors are fatal */
    void *owner;                          /* the COM object (struct job) */

    /* Upload and upload-reply jobs (engine_job_init, engine_job_clear) */
    struct engine_upload upload;
    struct engine_file reply;             /* upload-reply: local_name is the reply file's name
                                           * (NULL until set or generated), remote_name the reply
                                           * URL once the server gave one, temp_name where it is
                                           * downloaded; bytes_total BG_SIZE_UNKNOWN until known */
    BOOL reply_none;                      /* the upload is done and the server sent no reply */
    BYTE *reply_data;                     /* the reply's first bytes, up to MAX_REPLY_DATA */
    UINT64 reply_size;                    /* the whole reply's size, once downloaded */

    /* The engine's bookkeeping */
    struct engine_job *prev, *next;       /* in engine->active while QUEUED .. TRANSIENT_ERROR */
    BOOL listed;
    struct engine_run *run;               /* the open transfer while a worker owns the job */
    BOOL running;                         /* a worker is between begin and commit */
    ULONG generation;                     /* bumped by every change that voids a chunk in flight */
    UINT64 retry_at;                      /* TRANSIENT_ERROR: when to queue it again (ms) */
    UINT64 progress_at;                   /* the last progress (ms), for the no-progress timeout */
    UINT64 download_ms;                   /* time in CONNECTING/TRANSFERRING since Resume */
    UINT64 step_at;                       /* when the running step began (ms) */
    UINT64 slice_at;                      /* when the open transfer began (ms): its time slice */
};

/* --- seams ------------------------------------------------------------------------------- */

struct engine_clock_ops
{
    UINT64 (*now)(void *context);                         /* monotonic milliseconds */
    void (*system_time)(void *context, FILETIME *time);   /* for GetTimes */
};

/* The temporary files. */
enum storage_mode
{
    STORAGE_CREATE_NEW,                   /* HRESULT_FROM_WIN32(ERROR_FILE_EXISTS) when it exists */
    STORAGE_OPEN_EXISTING,
    STORAGE_OPEN_ALWAYS,
};

struct storage_ops
{
    /* Opens path for writing; *size: its current size. */
    HRESULT (*open)(void *context, const WCHAR *path, enum storage_mode mode, void **file, UINT64 *size);
    HRESULT (*write)(void *file, UINT64 offset, const void *data, DWORD size);
    HRESULT (*truncate)(void *file, UINT64 size);
    void (*close)(void *file);
    /* Uploads: opens an existing file for reading (others may read and write it meanwhile);
     * query says its size and last write time now; read reads up to size bytes at offset
     * (*read < size only at the end of the file). */
    HRESULT (*open_read)(void *context, const WCHAR *path, void **file);
    HRESULT (*query)(void *file, UINT64 *size, FILETIME *time);
    HRESULT (*read)(void *file, UINT64 offset, void *data, DWORD size, DWORD *read);
};

/* What the engine tells the shell, collected under the lock and delivered after it. */
enum engine_event_kind
{
    ENGINE_EVENT_JOB_TRANSFERRED,
    ENGINE_EVENT_JOB_ERROR,
    ENGINE_EVENT_JOB_MODIFICATION,
    ENGINE_EVENT_FILE_TRANSFERRED,
    ENGINE_EVENT_FILE_RANGES_TRANSFERRED, /* on-demand: new bytes in file->filled */
};

struct engine_host_ops
{
    /* Requires: service lock. Queues an event for delivery after the lock is released. */
    void (*event)(void *context, struct engine_job *job, enum engine_event_kind kind, struct engine_file *file);
    /* Requires: service lock. A snapshot of the job's transfer options for a transport
     * (src/transport.h), or NULL on failure; freed with free_options without the lock. */
    void *(*snapshot_options)(void *context, struct engine_job *job);
    void (*free_options)(void *context, void *options);
    /* Requires: service lock. Gives the file a new temporary name (the old one was taken). */
    HRESULT (*new_temp_name)(void *context, struct engine_file *file);
};

struct engine
{
    const struct engine_clock_ops *clock;
    void *clock_context;
    const struct storage_ops *storage;
    void *storage_context;
    struct transport transports[REMOTE_LOCAL_PATH + 1];   /* by enum remote_kind */
    const struct engine_host_ops *host;
    void *host_context;
    ULONG max_running;                    /* jobs transferring at once */
    DWORD chunk_size;                     /* bytes per read */
    DWORD farewell_timeout_ms;            /* bound on each step of a Close/Cancel-Session */

    struct engine_job *active;            /* QUEUED .. TRANSIENT_ERROR jobs, oldest first */
    ULONG running;                        /* jobs owned by workers */
    struct engine_farewell *farewells;    /* Close/Cancel-Session packets still to send */
    BOOL stopping;                        /* the host is shutting down: only farewells never
                                           * tried are handed out, once */
};

/* A Close-Session or Cancel-Session of a session whose job no longer needs it (the upload is
 * done, or cancelled): sent by the engine on its own, again after a 5xx or a failure to reach
 * the server (BITS-SPEC.md §9.2) until the deadline: 24 hours or the job's no-progress timeout,
 * whichever is shorter (§2.2 Cancel). It owns copies of all it needs; the job may be gone. */
struct engine_farewell
{
    struct engine_farewell *next;
    enum bits_packet packet;              /* BITS_PACKET_CLOSE_SESSION or _CANCEL_SESSION */
    WCHAR *url;                           /* where the session's packets go */
    enum remote_kind kind;
    WCHAR *session_id;
    void *options;                        /* a snapshot of the job's transfer options */
    ULONG retry_delay;                    /* seconds, the job's */
    UINT64 retry_at, deadline;            /* ms */
    BOOL tried;                           /* sent at least once */
    BOOL running;                         /* a worker is sending it */
};

/* What must be closed or freed without the lock, handed back by the functions below. */
struct engine_cleanup
{
    struct transport_stream *stream;
    const struct transport_ops *ops;
    struct transport_stream *packet;      /* an upload packet's stream, closed with packet_ops */
    const struct transport_ops *packet_ops;
    void *file;                           /* storage handle */
    void *options;
    void *farewell_options;               /* a finished farewell's */
    WCHAR *strings[2];
};

/* --- the job's life ------------------------------------------------------------------------ */

void engine_init(struct engine *engine);
/* No lock: frees what the engine still owns (farewells never sent); the host calls it last. */
void engine_destroy(struct engine *engine);
/* The engine's fields of a new job record, and their release when the record goes. */
void engine_job_init(struct engine_job *job, BG_JOB_TYPE type);
void engine_job_clear(struct engine_job *job);
/* Requires: service lock. The engine's part of Resume (after the shell's checks): QUEUED from
 * SUSPENDED, ERROR or TRANSIENT_ERROR (retry now), from TRANSFERRED when a file is pending. */
void engine_resume_locked(struct engine *engine, struct engine_job *job);
/* Requires: service lock. The job left the active states (Suspend, Cancel, Complete): a chunk
 * in flight is voided and its stream aborted; what must be closed without the lock goes to
 * *cleanup (engine_cleanup). */
void engine_stop_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup);
/* Requires: service lock. Moves the job to ERROR (always) or TRANSIENT_ERROR (when the error
 * and the job's timeouts allow a retry) with that error. */
void engine_fail_locked(struct engine *engine, struct engine_job *job, BG_JOB_STATE state,
                        const struct transfer_error *error, struct engine_file *file,
                        struct engine_cleanup *cleanup);
/* Requires: service lock. Cancel's part: engine_stop_locked, and for an upload whose session
 * the server still keeps for it (the upload, or an upload-reply's reply, unfinished) a
 * Cancel-Session sent later (engine_farewell). */
void engine_cancel_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup);
/* Requires: service lock. Something changed that voids a chunk in flight (a remote name): the
 * file is fetched again from where it is, on a new stream. */
void engine_void_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup);
/* Requires: service lock. The job carries on where it is (a Complete that failed): back in the
 * active list when its state is an active one. */
void engine_continue_locked(struct engine *engine, struct engine_job *job);
/* Requires: service lock. Called when the job object is destroyed (it is never active then). */
void engine_forget_locked(struct engine *engine, struct engine_job *job);

/* --- scheduling and chunks ----------------------------------------------------------------- */

/* One step of one job, owned by one worker between begin and commit. */
struct engine_chunk
{
    struct engine_job *job;
    struct engine_file *file;
    ULONG generation;
    /* filled by begin */
    BOOL open;                            /* open a stream first (none is open for the file) */
    struct transport_request request;
    WCHAR *url;                           /* owned copies for the request */
    WCHAR *temp_path;
    enum storage_mode mode;               /* how to open the temporary file */
    UINT64 write_offset;                  /* where the next byte goes in the temporary file */
    UINT64 want;                          /* bytes wanted from this stream, BG_LENGTH_TO_EOF */
    FILETIME if_modified;                 /* what request.if_modified points to */
    BOOL sparse;                          /* on-demand: bytes go at their own offsets */
    void *options;                        /* snapshot for the transport */
    /* uploads: one packet of the BITS upload protocol (the job's own, or a farewell's) */
    BOOL is_packet;
    enum bits_packet packet;
    struct engine_farewell *farewell;     /* a farewell's packet: job and file are NULL */
    WCHAR *session_id;                    /* owned copies */
    WCHAR *content_name;
    UINT64 first;                         /* a fragment's first byte (the server's offset) */
    DWORD fragment_size;                  /* at most this many bytes */
    BOOL local_known;                     /* the local file must still be this one */
    UINT64 local_size;
    FILETIME local_time;
    /* filled by transfer */
    HRESULT hr;
    struct transfer_error error;
    struct transport_response response;   /* when the chunk opened a stream */
    DWORD bytes;                          /* bytes written by this chunk */
    BOOL end;                             /* the stream ended (or the wanted bytes all came) */
    UINT64 temp_size;                     /* the temporary file's size when opened */
    /* uploads, filled by transfer */
    struct transport_stream *stream;      /* the packet's (closed after commit) */
    BOOL opened_local;                    /* the local file was opened: local_* say what it is */
    DWORD length;                         /* a fragment's bytes */
    UINT64 total;                         /* the local file's size */
    DWORD status;                         /* the answer's HTTP status */
    HRESULT parse_hr;                     /* bits_ack_parse's result */
    struct bits_ack ack;
};

/* Requires: service lock. Queues TRANSIENT_ERROR jobs whose retry time came, fails those out
 * of time, and hands out the next chunk: S_OK and *chunk filled (the job is then owned until
 * commit), or S_FALSE when there is nothing to do now; *wait_ms is then how long until
 * something falls due (INFINITE: nothing will without a call from outside). */
HRESULT engine_begin_chunk_locked(struct engine *engine, struct engine_chunk *chunk, DWORD *wait_ms);
/* No lock: the I/O of the chunk. */
void engine_transfer_chunk(struct engine *engine, struct engine_chunk *chunk);
/* Requires: service lock. Applies the chunk (or drops it when the job changed meanwhile),
 * moves the job on, and frees the chunk's copies; what must be closed or freed without the
 * lock is left in *cleanup for engine_cleanup. */
void engine_commit_chunk_locked(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup);
/* No lock: closes and frees what a commit or a stop left behind. */
void engine_cleanup(struct engine *engine, struct engine_cleanup *cleanup);

/* Requires: service lock. For the test double's waits (src/test_double.c): TRUE when
 * engine_begin_chunk_locked would find something to do at `now` (a job to give a turn, a retry
 * or timeout that fell due, a running job past its MaximumDownloadTime). */
BOOL engine_has_work_locked(struct engine *engine, UINT64 now);
/* Requires: service lock. When the next retry delay, no-progress timeout or MaximumDownloadTime
 * falls due (ms, on the engine's clock), or ~0 when none will without a call from outside. */
UINT64 engine_next_due_locked(struct engine *engine, UINT64 now);

/* The error classification of BITS-SPEC.md §6.3: TRUE for errors BITS retries. */
BOOL engine_error_is_transient(HRESULT code);

#endif
