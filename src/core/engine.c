/* SPDX-License-Identifier: MIT */
/* The transfer engine (see engine.h): scheduling, chunks, retries and timeouts. */
#include <stdlib.h>

#include "core/engine.h"
#include "core/job_state.h"

/* HRESULT_FROM_WIN32 as a constant expression (Wine's headers make it a function). */
#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))

#define DEFAULT_MAX_RUNNING 4
#define DEFAULT_CHUNK_SIZE  (256 * 1024)
#define DEFAULT_FAREWELL_TIMEOUT_MS 10000
#define FAREWELL_MAX_MS (24ull * 3600 * 1000)      /* Cancel-Session: retried for up to 24 h */
/* How long a background job keeps its slot while another of its priority waits for one (BITS
 * gives no figure: unconfirmed, docs/conformance.md). */
#define TIME_SLICE_MS       10000

/* The open transfer of one file of a running job: kept by the job between chunks. */
struct engine_run
{
    struct engine_file *file;
    const struct transport_ops *ops;
    struct transport_stream *stream;      /* NULL until opened */
    void *storage;                        /* the temporary file, NULL until opened */
    void *options;
    UINT64 write_offset;                  /* where the next byte goes in the temporary file */
    UINT64 remaining;                     /* bytes still wanted from the stream, BG_LENGTH_TO_EOF */
    BYTE *buffer;
    BOOL aborted;                         /* abort_run came during the chunk (atomic) */
};

void engine_init(struct engine *engine)
{
    memset(engine, 0, sizeof(*engine));
    engine->max_running = DEFAULT_MAX_RUNNING;
    engine->chunk_size = DEFAULT_CHUNK_SIZE;
    engine->farewell_timeout_ms = DEFAULT_FAREWELL_TIMEOUT_MS;
}

static void farewell_free(struct engine *engine, struct engine_farewell *farewell)
{
    if (farewell->options && engine->host) engine->host->free_options(engine->host_context, farewell->options);
    free(farewell->url);
    free(farewell->session_id);
    free(farewell);
}

void engine_destroy(struct engine *engine)
{
    struct engine_farewell *farewell;

    while ((farewell = engine->farewells))
    {
        engine->farewells = farewell->next;
        farewell_free(engine, farewell);
    }
}

void engine_job_init(struct engine_job *job, BG_JOB_TYPE type)
{
    job->type = type;
    job->upload.fragment_size = UPLOAD_FRAGMENT_FIRST;
    job->upload.host_fallback_ms = ~(UINT64)0;
    job->reply.bytes_total = BG_SIZE_UNKNOWN;
    job->reply.remote_size = BG_SIZE_UNKNOWN;
}

static void forget_session(struct engine_upload *upload)
{
    free(upload->session_id);
    free(upload->host_id);
    upload->session_id = upload->host_id = NULL;
    upload->host_fallback_ms = ~(UINT64)0;
    upload->host_failed_at = 0;
    upload->fresh = FALSE;
}

void engine_job_clear(struct engine_job *job)
{
    forget_session(&job->upload);
    free(job->upload.upload_url);
    free(job->reply.remote_name);
    free(job->reply.local_name);
    free(job->reply.temp_name);
    free(job->reply.response_headers);
    range_list_clear(&job->reply.requested);
    range_list_clear(&job->reply.filled);
    free(job->reply_data);
    job->upload.upload_url = NULL;
    job->reply.remote_name = job->reply.local_name = job->reply.temp_name = job->reply.response_headers = NULL;
    job->reply_data = NULL;
}

/* No C library wide-string function is safe here: the native build uses 2-byte WCHARs
 * (-fshort-wchar) with a libc whose wchar_t is 4 bytes. */
static WCHAR *str_dup(const WCHAR *str)
{
    size_t len = 0;
    WCHAR *copy;

    while (str[len]) ++len;
    if ((copy = malloc((len + 1) * sizeof(WCHAR)))) memcpy(copy, str, (len + 1) * sizeof(WCHAR));
    return copy;
}

/* Not CompareFileTime: the core calls no Win32 function (it links natively, without Wine). */
static BOOL filetime_equal(const FILETIME *a, const FILETIME *b)
{
    return a->dwLowDateTime == b->dwLowDateTime && a->dwHighDateTime == b->dwHighDateTime;
}

static UINT64 now_ms(struct engine *engine)
{
    return engine->clock->now(engine->clock_context);
}

static BOOL is_active(BG_JOB_STATE state)
{
    return state == BG_JOB_STATE_QUEUED || state == BG_JOB_STATE_CONNECTING
        || state == BG_JOB_STATE_TRANSFERRING || state == BG_JOB_STATE_TRANSIENT_ERROR;
}

static void touch(struct engine *engine, struct engine_job *job)
{
    engine->clock->system_time(engine->clock_context, &job->modification_time);
}

/* The file a client may be told about: an upload-reply's reply is no file of the job's, so its
 * events and errors name the upload's file (unconfirmed). */
static struct engine_file *public_file(struct engine_job *job, struct engine_file *file)
{
    return file == &job->reply ? job->files[0] : file;
}

static void event(struct engine *engine, struct engine_job *job, enum engine_event_kind kind, struct engine_file *file)
{
    if (engine->host) engine->host->event(engine->host_context, job, kind, public_file(job, file));
}

/* --- the active list ------------------------------------------------------------------------ */

static void list_append(struct engine *engine, struct engine_job *job)
{
    struct engine_job *last = engine->active;

    job->next = NULL;
    job->prev = NULL;
    if (!last) engine->active = job;
    else
    {
        while (last->next) last = last->next;
        last->next = job;
        job->prev = last;
    }
    job->listed = TRUE;
}

static void list_remove(struct engine *engine, struct engine_job *job)
{
    if (!job->listed) return;
    if (job->prev) job->prev->next = job->next;
    else engine->active = job->next;
    if (job->next) job->next->prev = job->prev;
    job->prev = job->next = NULL;
    job->listed = FALSE;
}

/* Puts a job that just had a turn behind the others (round robin within a priority). */
static void list_rotate(struct engine *engine, struct engine_job *job)
{
    if (!job->listed || !job->next) return;
    list_remove(engine, job);
    list_append(engine, job);
}

/* --- runs ----------------------------------------------------------------------------------- */

/* Requires: service lock. Detaches the job's run into *cleanup (closed without the lock). */
static void drop_run(struct engine_job *job, struct engine_cleanup *cleanup)
{
    struct engine_run *run = job->run;

    if (!run) return;
    job->run = NULL;
    if (run->stream)
    {
        cleanup->stream = run->stream;
        cleanup->ops = run->ops;
    }
    cleanup->file = run->storage;
    cleanup->options = run->options;
    free(run->buffer);
    free(run);
}

/* Requires: service lock. Makes a read blocked in the run's stream return. The worker in the
 * chunk publishes the stream without the lock (publish_stream); the stream is closed only after
 * the run is dropped under the lock, so it is alive here. A stream still being opened is reached
 * too: a download's transport publishes it before it waits for the server's answer (the
 * request's `opening`), and an upload packet's worker before it sends the packet. */
static void abort_run(struct engine_run *run)
{
    struct transport_stream *stream;

    if (!run) return;
    __atomic_store_n(&run->aborted, TRUE, __ATOMIC_SEQ_CST);
    if ((stream = __atomic_load_n(&run->stream, __ATOMIC_SEQ_CST))) run->ops->abort(stream);
}

void engine_cleanup(struct engine *engine, struct engine_cleanup *cleanup)
{
    /* The file first: a stream's close may take a while (the transport waits for its network
     * library to let go), and the next run of the file wants it. */
    if (cleanup->file) engine->storage->close(cleanup->file);
    if (cleanup->stream) cleanup->ops->close(cleanup->stream);
    if (cleanup->packet) cleanup->packet_ops->close(cleanup->packet);
    if (cleanup->options && engine->host) engine->host->free_options(engine->host_context, cleanup->options);
    if (cleanup->farewell_options && engine->host)
        engine->host->free_options(engine->host_context, cleanup->farewell_options);
    free(cleanup->strings[0]);
    free(cleanup->strings[1]);
    memset(cleanup, 0, sizeof(*cleanup));
}

/* --- the job's life ------------------------------------------------------------------------ */

static struct engine_file *next_file(struct engine_job *job);

void engine_resume_locked(struct engine *engine, struct engine_job *job)
{
    switch (job->state)
    {
    case BG_JOB_STATE_SUSPENDED:
    case BG_JOB_STATE_ERROR:
    case BG_JOB_STATE_TRANSIENT_ERROR:
        /* From an error this is "retry now", whatever the retry delay. */
        job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
        break;
    case BG_JOB_STATE_TRANSFERRED:
        /* Files added since the transfer go back in the queue (unconfirmed). */
        if (next_file(job)) job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
        break;
    default:                            /* QUEUED, CONNECTING, TRANSFERRING: already going */
        break;
    }
    job->resumed = TRUE;
    job->download_ms = 0;               /* Resume restarts the MaximumDownloadTime clock */
    job->progress_at = now_ms(engine);
    job->retry_at = 0;                  /* the next transient error starts the no-progress clock */
    if (is_active(job->state) && !job->listed) list_append(engine, job);
}

void engine_stop_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup)
{
    list_remove(engine, job);
    ++job->generation;
    if (job->running)
    {
        /* A worker is in the chunk: its commit sees the generation and drops the run. */
        abort_run(job->run);
    }
    else
        drop_run(job, cleanup);
}

void engine_void_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup)
{
    ++job->generation;
    if (job->running)
    {
        abort_run(job->run);
    }
    else
        drop_run(job, cleanup);
    /* It starts again from the state it would have after a fresh pick. */
    if (job->state == BG_JOB_STATE_CONNECTING || job->state == BG_JOB_STATE_TRANSFERRING)
        job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
}

void engine_continue_locked(struct engine *engine, struct engine_job *job)
{
    if (is_active(job->state) && !job->listed) list_append(engine, job);
}

void engine_forget_locked(struct engine *engine, struct engine_job *job)
{
    list_remove(engine, job);
}

BOOL engine_error_is_transient(HRESULT code)
{
    /* HTTP statuses, as BITS-SPEC.md §6.3 gives them for the server application and suggests
     * for downloads: 3xx transient except 300-305 and 307; 4xx fatal except 408 and 409; 5xx
     * transient except 501 and 505. */
    if ((ULONG)code >= (ULONG)BG_E_HTTP_ERROR_100 && (ULONG)code <= (ULONG)BG_E_HTTP_ERROR_505)
    {
        ULONG status = code & 0xffff;

        if (status >= 300 && status < 400) return status > 305 && status != 307;
        if (status >= 400 && status < 500) return status == 408 || status == 409;
        if (status >= 500) return status != 501 && status != 505;
        return TRUE;                    /* "anything else non-200: transient" (1xx, 2xx) */
    }
    switch (code)
    {
    /* The documented fatal errors. */
    case BG_E_INVALID_RANGE:
    case BG_E_INSUFFICIENT_RANGE_SUPPORT:
    case BG_E_MISSING_FILE_SIZE:
    case BG_E_INVALID_SERVER_RESPONSE:
    case BG_E_LOCAL_FILE_CHANGED:
    case BG_E_VALIDATION_FAILED:
    case BG_E_MAXDOWNLOAD_TIMEOUT:
    case BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED:
    case BG_E_INVALID_PROXY_INFO:
    case BG_E_TOKEN_REQUIRED:
    case E_ACCESSDENIED:
    case HR_WIN32(ERROR_FILE_NOT_FOUND):
    case HR_WIN32(ERROR_PATH_NOT_FOUND):
    case HR_WIN32(ERROR_BAD_NETPATH):
    case HR_WIN32(ERROR_INVALID_NAME):
    case HR_WIN32(12157):         /* ERROR_WINHTTP_SECURE_CHANNEL_ERROR */
    case HR_WIN32(12169):         /* ERROR_WINHTTP_SECURE_INVALID_CERT */
    case HR_WIN32(12170):         /* ERROR_WINHTTP_SECURE_CERT_REVOKED */
    case HR_WIN32(12057):         /* ERROR_WINHTTP_SECURE_CERT_REV_FAILED */
    case HR_WIN32(12005):         /* ERROR_WINHTTP_INVALID_URL */
    case HR_WIN32(12006):         /* ERROR_WINHTTP_UNRECOGNIZED_SCHEME */
        return FALSE;
    default:
        /* Network trouble (connect failures, resets, timeouts, name resolution, disk full):
         * BITS retries (BITS-SPEC.md §6.3). */
        return TRUE;
    }
}

/* Requires: service lock. */
static void record_error(struct engine_job *job, BG_ERROR_CONTEXT context, HRESULT code,
                         struct engine_file *file, const WCHAR *protocol)
{
    job->error.set = TRUE;
    job->error.context = context;
    job->error.code = code;
    job->error.file = file ? public_file(job, file) : NULL;
    job->error.protocol = protocol;
}

/* Requires: service lock; the table allows ERROR. The job stops in ERROR with the error it has
 * recorded, and JobError is told (BITS-SPEC.md §7.2). */
static void enter_error(struct engine *engine, struct engine_job *job)
{
    job_state_transition(&job->state, BG_JOB_STATE_ERROR);
    touch(engine, job);
    list_remove(engine, job);
    event(engine, job, ENGINE_EVENT_JOB_ERROR, job->error.file);
}

/* Requires: service lock. The job fails with that error: TRANSIENT_ERROR when `transient` and the
 * job's timeouts allow a retry, else ERROR. */
static void fail_as(struct engine *engine, struct engine_job *job, HRESULT code, BG_ERROR_CONTEXT context,
                    struct engine_file *file, const WCHAR *protocol, BOOL transient)
{
    UINT64 now;

    /* No-progress timeout 0: every error is fatal; a retry delay longer than the timeout means
     * no retry; a custom HTTP method makes transient errors fatal (BITS-SPEC.md §3.2, §2.9). */
    if (!job->no_progress_timeout || job->retry_delay > job->no_progress_timeout || job->custom_method)
        transient = FALSE;
    if (!job_state_allowed(job->state, transient ? BG_JOB_STATE_TRANSIENT_ERROR : BG_JOB_STATE_ERROR)) return;
    record_error(job, context, code, file, protocol);
    ++job->error_count;
    if (!transient)
    {
        enter_error(engine, job);
        return;
    }
    job_state_transition(&job->state, BG_JOB_STATE_TRANSIENT_ERROR);
    touch(engine, job);
    now = now_ms(engine);
    /* The no-progress timeout runs from the first transient error since the last progress or
     * Resume (BITS-SPEC.md §3.2), not from the progress itself: a job that waited long in the
     * queue still gets its retries. retry_at is 0 until that first error. */
    if (!job->retry_at) job->progress_at = now;
    job->retry_at = now + (UINT64)job->retry_delay * 1000;
    /* JobError is for ERROR only; TRANSIENT_ERROR is a modification (BITS-SPEC.md §7.2). */
    event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
}

/* Requires: service lock. As fail_as, transient as engine_error_is_transient says. */
static void fail(struct engine *engine, struct engine_job *job, HRESULT code, BG_ERROR_CONTEXT context,
                 struct engine_file *file, const WCHAR *protocol)
{
    fail_as(engine, job, code, context, file, protocol, engine_error_is_transient(code));
}

void engine_fail_locked(struct engine *engine, struct engine_job *job, BG_JOB_STATE state,
                        const struct transfer_error *error, struct engine_file *file,
                        struct engine_cleanup *cleanup)
{
    BG_JOB_STATE before = job->state;

    if (state == BG_JOB_STATE_ERROR)
    {
        if (!job_state_allowed(job->state, BG_JOB_STATE_ERROR)) return;
        record_error(job, error->context, error->code, file, error->protocol);
        enter_error(engine, job);
    }
    else
        fail(engine, job, error->code, error->context, file, error->protocol);
    if (job->state == before) return;
    /* Either way a chunk in flight counts for nothing: its commit drops it and the run, and a
     * blocked read returns now. */
    ++job->generation;
    if (job->running)
    {
        abort_run(job->run);
    }
    else
        drop_run(job, cleanup);         /* between chunks: the open stream goes now */
}

/* --- scheduling ------------------------------------------------------------------------------ */

/* Requires: service lock. TRANSIENT_ERROR jobs: back to QUEUED when the retry delay is over,
 * ERROR when no progress came for the no-progress timeout. Returns the ms until the next of
 * these, or INFINITE. Running jobs past their MaximumDownloadTime are aborted (their commit
 * fails them). */
static DWORD tick_locked(struct engine *engine, UINT64 now)
{
    struct engine_job *job, *next;
    UINT64 wait = INFINITE, due;

    for (job = engine->active; job; job = next)
    {
        next = job->next;
        if (job->state == BG_JOB_STATE_TRANSIENT_ERROR)
        {
            UINT64 deadline = job->progress_at + (UINT64)job->no_progress_timeout * 1000;
            if (now >= deadline)
            {
                /* Out of time: the last error becomes fatal. */
                enter_error(engine, job);
                continue;
            }
            if (now >= job->retry_at)
            {
                job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
                touch(engine, job);
                event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
                continue;
            }
            due = min(job->retry_at, deadline) - now;
            if (due < wait) wait = due;
        }
        else if (job->run && job->max_download_time != INFINITE)
        {
            UINT64 used = job->download_ms + (job->running ? now - job->step_at : 0);
            UINT64 limit = (UINT64)job->max_download_time * 1000;
            if (used >= limit)
            {
                if (job->running) abort_run(job->run);
                wait = 0;
            }
            else if (limit - used < wait)
                wait = limit - used;
        }
    }
    return wait > INFINITE - 1 ? INFINITE : (DWORD)wait;
}

/* The time a running job reaches its MaximumDownloadTime, or ~0. */
static UINT64 max_download_due(const struct engine_job *job, UINT64 now)
{
    UINT64 used, limit;

    if (!job->run || job->max_download_time == INFINITE) return ~(UINT64)0;
    used = job->download_ms + (job->running ? now - job->step_at : 0);
    limit = (UINT64)job->max_download_time * 1000;
    return used >= limit ? now : now + (limit - used);
}

static struct engine_job *pick_job(struct engine *engine);

UINT64 engine_next_due_locked(struct engine *engine, UINT64 now)
{
    UINT64 next = ~(UINT64)0, due;
    struct engine_job *job;

    for (job = engine->active; job; job = job->next)
    {
        if (job->state == BG_JOB_STATE_TRANSIENT_ERROR)
            due = min(job->retry_at, job->progress_at + (UINT64)job->no_progress_timeout * 1000);
        else
            due = max_download_due(job, now);
        if (due < next) next = due;
    }
    return next;
}

BOOL engine_has_work_locked(struct engine *engine, UINT64 now)
{
    /* Due now: a retry, a timeout, or a running job past its limit that tick has to abort. */
    if (engine_next_due_locked(engine, now) <= now) return TRUE;
    return pick_job(engine) != NULL;
}

/* An on-demand file (File6): the client's requested ranges drive the transfer, and the bytes go
 * to their own offsets in the temporary file. With nothing requested it is an ordinary file
 * (unconfirmed: the whole file, as without the mode). */
static BOOL is_sparse(const struct engine_job *job, const struct engine_file *file)
{
    return job->on_demand && !file->range_count && file->requested.count;
}

static void job_transferred(struct engine *engine, struct engine_job *job);

/* Requires: service lock. Nothing more to fetch for the file: it is transferred, unless it is
 * an on-demand file that is not whole yet; the job then waits in SUSPENDED for more requests
 * (BITS-SPEC.md §2.7). */
static void requests_done(struct engine *engine, struct engine_job *job, struct engine_file *file)
{
    if (is_sparse(job, file) && (file->remote_size == BG_SIZE_UNKNOWN
                                 || !range_list_covers(&file->filled, 0, file->remote_size)))
    {
        if (FAILED(job_state_transition(&job->state, BG_JOB_STATE_SUSPENDED))) return;
        list_remove(engine, job);
        touch(engine, job);
        event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
        return;
    }
    file->transferred = TRUE;
    event(engine, job, ENGINE_EVENT_FILE_TRANSFERRED, file);
}

/* What the job transfers next: its first file not yet transferred; for an upload-reply job whose
 * upload is done, its reply once the server named one. NULL when all is done. */
static struct engine_file *next_file(struct engine_job *job)
{
    ULONG i;

    for (i = 0; i < job->file_count; ++i)
        if (!job->files[i]->transferred) return job->files[i];
    if (job->type == BG_JOB_TYPE_UPLOAD_REPLY && job->file_count && job->reply.remote_name && !job->reply.transferred)
        return &job->reply;
    return NULL;
}

/* --- upload sessions ----------------------------------------------------------------------- */

/* Requires: service lock. Where the session's packets go now: the Host-Id's host, unless it
 * could not be reached for its fallback timeout (BITS-SPEC.md §9.2). malloc'd. */
static WCHAR *session_url(struct engine *engine, struct engine_job *job)
{
    const struct engine_upload *upload = &job->upload;
    const WCHAR *url = job->files[0]->remote_name;
    UINT64 now;

    if (upload->host_id)
    {
        now = now_ms(engine);
        if (!upload->host_failed_at || upload->host_fallback_ms == ~(UINT64)0
            || now - upload->host_failed_at < upload->host_fallback_ms)
            return upload_url_with_host(url, upload->host_id);
    }
    return str_dup(url);
}

/* Requires: service lock. The job is done with its session: Close-Session (the upload, and its
 * reply, are done) or Cancel-Session (they are not) goes out on its own (struct
 * engine_farewell). The session is the farewell's now. Out of memory, it is dropped. */
static void bid_farewell(struct engine *engine, struct engine_job *job, enum bits_packet packet)
{
    struct engine_upload *upload = &job->upload;
    struct engine_farewell *farewell, **link;
    UINT64 now = now_ms(engine), limit;

    if (!upload->session_id) return;
    if ((farewell = calloc(1, sizeof(*farewell))) && (farewell->url = session_url(engine, job)))
    {
        farewell->packet = packet;
        farewell->kind = job->files[0]->kind;
        farewell->session_id = upload->session_id;
        upload->session_id = NULL;
        farewell->options = engine->host ? engine->host->snapshot_options(engine->host_context, job) : NULL;
        farewell->retry_delay = job->retry_delay;
        farewell->retry_at = now;
        limit = min((UINT64)job->no_progress_timeout * 1000, FAREWELL_MAX_MS);
        farewell->deadline = now + limit;
        for (link = &engine->farewells; *link; link = &(*link)->next) {}
        *link = farewell;
    }
    else if (farewell)
        free(farewell);
    forget_session(upload);
}

/* Requires: service lock. Every file is there: TRANSFERRED. An upload's session is closed. */
static void job_transferred(struct engine *engine, struct engine_job *job)
{
    if (job->state == BG_JOB_STATE_QUEUED) job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRING);
    if (FAILED(job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRED))) return;
    touch(engine, job);
    job->completion_time = job->modification_time;
    list_remove(engine, job);
    if (job->type != BG_JOB_TYPE_DOWNLOAD) bid_farewell(engine, job, BITS_PACKET_CLOSE_SESSION);
    event(engine, job, ENGINE_EVENT_JOB_TRANSFERRED, NULL);
}

void engine_cancel_locked(struct engine *engine, struct engine_job *job, struct engine_cleanup *cleanup)
{
    engine_stop_locked(engine, job, cleanup);
    /* After the upload the session serves the reply only, and Cancel-Session cancels that
     * (BITS-SPEC.md §2.2, §9.2); a session already handed to Close-Session is not touched. */
    if (job->type != BG_JOB_TYPE_DOWNLOAD) bid_farewell(engine, job, BITS_PACKET_CANCEL_SESSION);
}


/* Where in the remote file the next byte of a file comes from: for a plain file the byte after
 * those we have; with ranges, the ranges are written back to back, so the n-th byte of the
 * temporary file belongs to one of them; on demand, the first requested byte not yet there,
 * from the download position on. */
static BOOL next_request(const struct engine_job *job, const struct engine_file *file, UINT64 *offset, UINT64 *length)
{
    UINT64 position = file->bytes_transferred, start = 0;
    struct range next;
    DWORD i;

    if (is_sparse(job, file))
    {
        if (range_list_next_missing(&file->requested, &file->filled, file->download_position, &next) != S_OK)
            return FALSE;
        *offset = next.start;
        *length = next.end == RANGE_END_OF_FILE ? BG_LENGTH_TO_EOF : next.end - next.start;
        return TRUE;
    }

    if (!file->range_count)
    {
        *offset = position;
        *length = BG_LENGTH_TO_EOF;
        return TRUE;
    }
    for (i = 0; i < file->range_count; ++i)
    {
        UINT64 range_length = file->ranges[i].Length;
        if (range_length == BG_LENGTH_TO_EOF)
        {
            if (file->remote_size == BG_SIZE_UNKNOWN)
            {
                *offset = file->ranges[i].InitialOffset + (position - start);
                *length = BG_LENGTH_TO_EOF;
                return TRUE;
            }
            range_length = file->remote_size > file->ranges[i].InitialOffset
                         ? file->remote_size - file->ranges[i].InitialOffset : 0;
        }
        if (position < start + range_length)
        {
            *offset = file->ranges[i].InitialOffset + (position - start);
            *length = start + range_length - position;
            return TRUE;
        }
        start += range_length;
    }
    return FALSE;                       /* every range is there */
}

/* Requires: service lock. The job to give a turn: the highest priority first (FOREGROUND ..
 * LOW), then the one that waited longest; a job without an open transfer only while there is
 * room for one more. */
static struct engine_job *pick_job(struct engine *engine)
{
    struct engine_job *job, *best = NULL;
    ULONG open = 0;

    for (job = engine->active; job; job = job->next)
        if (job->run) ++open;
    for (job = engine->active; job; job = job->next)
    {
        if (job->running || job->state == BG_JOB_STATE_TRANSIENT_ERROR) continue;
        if (!job->run && open >= engine->max_running && job->priority != BG_JOB_PRIORITY_FOREGROUND) continue;
        if (!best || job->priority < best->priority) best = job;
    }
    return best;
}

/* Requires: service lock. A farewell to send now (when stopping: one never sent), or NULL;
 * lowers *wait_ms to the time until the next one falls due. */
static struct engine_farewell *due_farewell(struct engine *engine, UINT64 now, DWORD *wait_ms)
{
    struct engine_farewell *farewell;

    for (farewell = engine->farewells; farewell; farewell = farewell->next)
    {
        if (farewell->running) continue;
        if (engine->stopping)
        {
            if (!farewell->tried) return farewell;
            continue;
        }
        if (farewell->retry_at <= now) return farewell;
        if (farewell->retry_at - now < *wait_ms) *wait_ms = (DWORD)(farewell->retry_at - now);
    }
    return NULL;
}

/* Requires: service lock. The next packet of an upload's session (BITS-SPEC.md §9.1): Ping, then
 * Create-Session, then fragments from where the server is. The transfer step opens the local
 * file (once per run), sizes the fragment and builds the headers. */
static HRESULT begin_packet_locked(struct engine *engine, struct engine_job *job, struct engine_file *file,
                                   struct engine_chunk *chunk, UINT64 now)
{
    struct engine_upload *upload = &job->upload;
    const WCHAR *name = file->local_name, *p;
    struct engine_run *run;

    if (!(run = job->run))
    {
        if (!(run = calloc(1, sizeof(*run)))) return E_OUTOFMEMORY;
        run->file = file;
        run->ops = engine->transports[file->kind].ops;
        run->options = engine->host ? engine->host->snapshot_options(engine->host_context, job) : NULL;
        job->run = run;
        if (job->state == BG_JOB_STATE_QUEUED) job_state_transition(&job->state, BG_JOB_STATE_CONNECTING);
    }
    for (p = name; *p; ++p)
        if (*p == '\\' || *p == '/') name = p + 1;
    chunk->job = job;
    chunk->file = file;
    chunk->generation = job->generation;
    chunk->is_packet = TRUE;
    chunk->packet = upload->session_id ? BITS_PACKET_FRAGMENT
                  : upload->pinged ? BITS_PACKET_CREATE_SESSION : BITS_PACKET_PING;
    chunk->url = session_url(engine, job);
    chunk->temp_path = str_dup(file->local_name);
    chunk->content_name = str_dup(name);
    chunk->session_id = upload->session_id ? str_dup(upload->session_id) : NULL;
    chunk->request.kind = file->kind;
    chunk->first = file->bytes_transferred;
    chunk->fragment_size = upload->fragment_size;
    chunk->local_known = upload->local_known;
    chunk->local_size = upload->local_size;
    chunk->local_time = upload->local_time;
    if (!chunk->url || !chunk->temp_path || !chunk->content_name || (upload->session_id && !chunk->session_id))
    {
        free(chunk->url);
        free(chunk->temp_path);
        free(chunk->content_name);
        free(chunk->session_id);
        memset(chunk, 0, sizeof(*chunk));
        return E_OUTOFMEMORY;
    }
    job->running = TRUE;
    job->step_at = now;
    ++engine->running;
    return S_OK;
}

HRESULT engine_begin_chunk_locked(struct engine *engine, struct engine_chunk *chunk, DWORD *wait_ms)
{
    struct engine_farewell *farewell;
    struct engine_job *job;
    struct engine_file *file;
    struct engine_run *run;
    UINT64 now = now_ms(engine), offset = 0, length = 0;

    memset(chunk, 0, sizeof(*chunk));
    *wait_ms = engine->stopping ? INFINITE : tick_locked(engine, now);

    if ((farewell = due_farewell(engine, now, wait_ms)))
    {
        /* The farewell's own strings serve the chunk: it is freed only by its commit. */
        chunk->is_packet = TRUE;
        chunk->packet = farewell->packet;
        chunk->farewell = farewell;
        chunk->request.kind = farewell->kind;
        farewell->running = TRUE;
        return S_OK;
    }
    if (engine->stopping) return S_FALSE;

    while ((job = pick_job(engine)))
    {
        if (!(file = next_file(job)))
        {
            job_transferred(engine, job);
            continue;
        }
        if (job->type != BG_JOB_TYPE_DOWNLOAD && file != &job->reply)
            return begin_packet_locked(engine, job, file, chunk, now);
        /* On demand: what was asked for past the end of a file of known size does not exist. */
        if (is_sparse(job, file) && file->remote_size != BG_SIZE_UNKNOWN)
            range_list_clip(&file->requested, file->remote_size);
        if (!job->run && !next_request(job, file, &offset, &length))
        {
            /* Every byte the file asks for is there already. */
            requests_done(engine, job, file);
            continue;
        }
        break;
    }
    if (!job) return S_FALSE;

    chunk->job = job;
    chunk->file = file;
    chunk->generation = job->generation;
    if (!(run = job->run))
    {
        if (!(run = calloc(1, sizeof(*run))) || !(run->buffer = malloc(engine->chunk_size)))
        {
            free(run);
            return E_OUTOFMEMORY;
        }
        run->file = file;
        run->ops = engine->transports[file->kind].ops;
        run->options = engine->host ? engine->host->snapshot_options(engine->host_context, job) : NULL;
        run->write_offset = is_sparse(job, file) ? offset : file->bytes_transferred;
        if (job->dynamic_content && file->bytes_transferred)
        {
            /* DYNAMIC_CONTENT: an interrupted file starts over (BITS-SPEC.md §2.6); the
             * bytes so far may belong to another version of it. */
            offset = 0;
            run->write_offset = 0;
        }
        run->remaining = length;
        job->run = run;
        job->slice_at = now;

        chunk->open = TRUE;
        chunk->url = str_dup(file->remote_name);
        chunk->temp_path = str_dup(file->temp_name ? file->temp_name : file->local_name);
        /* Our temporary file is new the first time (a name someone else took gets another);
         * a file written in place may exist already. */
        chunk->mode = file->temp_created ? STORAGE_OPEN_EXISTING
                    : file->temp_name ? STORAGE_CREATE_NEW : STORAGE_OPEN_ALWAYS;
        chunk->request.url = chunk->url;
        chunk->request.kind = file->kind;
        chunk->request.offset = offset;
        chunk->request.length = length;
        /* The bytes so far came from a version of the file: a transport may ask the server
         * for the rest only if it is still that one (If-Range). */
        chunk->if_modified = file->remote_time;
        chunk->request.if_modified = offset && (file->remote_time.dwLowDateTime | file->remote_time.dwHighDateTime)
                                     ? &chunk->if_modified : NULL;
        chunk->request.options = run->options;
        if (!chunk->url || !chunk->temp_path)
        {
            struct engine_cleanup ignored = { 0 };
            free(chunk->url);
            free(chunk->temp_path);
            drop_run(job, &ignored);
            return E_OUTOFMEMORY;
        }
        if (job->state == BG_JOB_STATE_QUEUED) job_state_transition(&job->state, BG_JOB_STATE_CONNECTING);
    }
    chunk->write_offset = run->write_offset;
    chunk->want = run->remaining;
    chunk->sparse = is_sparse(job, file);
    job->running = TRUE;
    job->step_at = now;
    ++engine->running;
    return S_OK;
}

/* --- the I/O of a chunk (no lock) ------------------------------------------------------------ */

static void set_error(struct engine_chunk *chunk, HRESULT hr, BG_ERROR_CONTEXT context, const WCHAR *protocol)
{
    chunk->hr = hr;
    chunk->error.code = hr;
    chunk->error.context = context;
    chunk->error.protocol = protocol;
}

/* No lock: makes the run's stream reachable by abort_run, which runs under the lock while this
 * thread has none; an abort that came before is carried out here. Either this sees `aborted` or
 * abort_run sees the stream. Also the request's `opening` callback of a download. */
static void publish_stream(void *context, struct transport_stream *stream)
{
    struct engine_run *run = context;

    if (__atomic_load_n(&run->stream, __ATOMIC_SEQ_CST) == stream) return;
    __atomic_store_n(&run->stream, stream, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&run->aborted, __ATOMIC_SEQ_CST)) run->ops->abort(stream);
}

static void open_chunk(struct engine *engine, struct engine_chunk *chunk, struct engine_run *run)
{
    struct transport_stream *stream = NULL;
    HRESULT hr;

    /* The temporary file first: without a place for the bytes there is no point asking. */
    if (FAILED(hr = engine->storage->open(engine->storage_context, chunk->temp_path, chunk->mode,
                                          &run->storage, &chunk->temp_size)))
    {
        set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
        return;
    }
    if (!chunk->sparse && chunk->temp_size < chunk->write_offset)
    {
        /* Someone cut our temporary file short: start that file again (its ranges and
         * local name never change, so they are read without the lock). */
        const struct engine_file *file = chunk->file;
        chunk->write_offset = 0;
        chunk->request.offset = file->range_count ? file->ranges[0].InitialOffset : 0;
        chunk->request.length = file->range_count ? file->ranges[0].Length : BG_LENGTH_TO_EOF;
        chunk->want = chunk->request.length;
    }
    if (!run->ops)
    {
        set_error(chunk, E_INVALIDARG, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, NULL);
        return;
    }
    chunk->request.opening = publish_stream;
    chunk->request.opening_context = run;
    hr = run->ops->open(engine->transports[chunk->request.kind].context, &chunk->request,
                        &stream, &chunk->response, &chunk->error);
    /* A stream handed out is the run's, to be closed when the run is dropped, even after a
     * failure (see `opening`). */
    if (stream) publish_stream(run, stream);
    if (FAILED(hr))
    {
        chunk->hr = hr;
        return;
    }
    if (!chunk->response.ranged && chunk->request.offset)
    {
        if (chunk->file->range_count || chunk->sparse)
        {
            /* Ranges need a server that serves them. */
            set_error(chunk, BG_E_INSUFFICIENT_RANGE_SUPPORT, BG_ERROR_CONTEXT_REMOTE_FILE, chunk->error.protocol);
            return;
        }
        /* The server sends the whole file: take it from the start. */
        chunk->write_offset = 0;
    }
    if (!chunk->sparse && chunk->write_offset == 0 && FAILED(hr = engine->storage->truncate(run->storage, 0)))
        set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
}

/* An upload packet: the local file checked (and read, for a fragment), the packet sent, the
 * answer's BITS-* headers read. Failures to send are chunk->hr; the answer is judged by the
 * commit. */
static void transfer_packet(struct engine *engine, struct engine_chunk *chunk)
{
    struct engine_farewell *farewell = chunk->farewell;
    struct engine_run *run = farewell ? NULL : chunk->job->run;
    const struct transport *transport = &engine->transports[chunk->request.kind];
    struct transport_packet packet = { 0 };
    struct transport_reply reply = { 0 };
    struct transport_stream *stream;
    WCHAR *headers = NULL;
    void *body = NULL;
    FILETIME time;
    UINT64 size;
    DWORD read;
    HRESULT hr;

    if (run)
    {
        /* The local file: the same one the upload began with, every time. */
        if (!run->storage && FAILED(hr = engine->storage->open_read(engine->storage_context, chunk->temp_path,
                                                                    &run->storage)))
        {
            set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
            return;
        }
        if (FAILED(hr = engine->storage->query(run->storage, &size, &time)))
        {
            set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
            return;
        }
        if (chunk->local_known && (size != chunk->local_size || !filetime_equal(&time, &chunk->local_time)))
        {
            set_error(chunk, BG_E_LOCAL_FILE_CHANGED, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
            return;
        }
        chunk->opened_local = TRUE;
        chunk->local_size = chunk->total = size;
        chunk->local_time = time;
        if (chunk->packet == BITS_PACKET_FRAGMENT)
            chunk->length = upload_fragment_length(chunk->fragment_size, chunk->first, chunk->total);
    }
    if (!transport->ops || !transport->ops->post_open)
    {
        set_error(chunk, E_INVALIDARG, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, NULL);
        return;
    }
    if (!(headers = bits_request_headers(chunk->packet, farewell ? farewell->session_id : chunk->session_id,
                                         chunk->content_name, chunk->first, chunk->length, chunk->total)))
    {
        set_error(chunk, E_OUTOFMEMORY, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, NULL);
        return;
    }
    packet.url = farewell ? farewell->url : chunk->url;
    packet.kind = chunk->request.kind;
    packet.verb = L"BITS_POST";
    packet.headers = headers;
    packet.body_size = chunk->length;
    packet.timeout_ms = farewell ? engine->farewell_timeout_ms : 0;
    packet.options = farewell ? farewell->options : run->options;
    if (FAILED(hr = transport->ops->post_open(transport->context, &packet, &stream, &body, &chunk->error)))
    {
        chunk->hr = hr;
        goto out;
    }
    chunk->stream = stream;
    if (run) publish_stream(run, stream);
    if (chunk->length)
    {
        if (FAILED(hr = engine->storage->read(run->storage, chunk->first, body, chunk->length, &read)))
        {
            set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
            goto out;
        }
        if (read != chunk->length)
        {
            set_error(chunk, BG_E_LOCAL_FILE_CHANGED, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
            goto out;
        }
    }
    if (FAILED(hr = transport->ops->post_send(stream, &reply, &chunk->error)))
    {
        chunk->hr = hr;
        goto out;
    }
    chunk->status = reply.status;
    chunk->parse_hr = bits_ack_parse(reply.headers, &chunk->ack);
    transport_reply_free(&reply);
out:
    free(headers);
}

void engine_transfer_chunk(struct engine *engine, struct engine_chunk *chunk)
{
    struct engine_run *run;
    DWORD size = engine->chunk_size, read = 0;
    HRESULT hr;

    chunk->hr = S_OK;
    if (chunk->is_packet)
    {
        transfer_packet(engine, chunk);
        return;
    }
    run = chunk->job->run;
    if (chunk->open)
    {
        open_chunk(engine, chunk, run);
        if (FAILED(chunk->hr)) return;
        if (chunk->want == 0) { chunk->end = TRUE; return; }
    }
    if (chunk->want != BG_LENGTH_TO_EOF && chunk->want < size) size = (DWORD)chunk->want;
    if (FAILED(hr = run->ops->read(run->stream, run->buffer, size, &read, &chunk->error)))
    {
        chunk->hr = hr;
        return;
    }
    if (read && FAILED(hr = engine->storage->write(run->storage, chunk->write_offset, run->buffer, read)))
    {
        set_error(chunk, hr, BG_ERROR_CONTEXT_LOCAL_FILE, NULL);
        return;
    }
    chunk->bytes = read;
    chunk->end = !read || (chunk->want != BG_LENGTH_TO_EOF && read == chunk->want);
}

/* --- commit (locked) -------------------------------------------------------------------------- */

/* The response of a new stream, applied to the file. FALSE when it fails the job. */
static BOOL apply_response(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup)
{
    struct engine_job *job = chunk->job;
    struct engine_file *file = chunk->file;
    struct transport_response *response = &chunk->response;
    BOOL restarted = !chunk->sparse && chunk->write_offset == 0 && file->bytes_transferred;
    UINT64 size = response->file_size;

    file->temp_created = TRUE;
    /* A file that changed (size or time) since the first part came starts over. */
    if (file->bytes_transferred && !restarted
        && ((size != BG_SIZE_UNKNOWN && file->remote_size != BG_SIZE_UNKNOWN && size != file->remote_size)
            || (response->modified.dwLowDateTime | response->modified.dwHighDateTime
                && (file->remote_time.dwLowDateTime | file->remote_time.dwHighDateTime)
                && !filetime_equal(&response->modified, &file->remote_time))))
    {
        /* Reopen from 0 on the next chunk. */
        file->bytes_transferred = 0;
        range_list_clear(&file->filled);
        file->remote_size = size;
        file->remote_time = response->modified;
        drop_run(job, cleanup);
        return TRUE;
    }
    if (restarted) file->bytes_transferred = 0;
    if (!chunk->response.ranged && chunk->request.offset) file->no_range_support = TRUE;
    file->remote_size = size;
    file->remote_time = response->modified;
    if (response->headers)
    {
        cleanup->strings[0] = file->response_headers;
        file->response_headers = response->headers;
        response->headers = NULL;
    }
    if (response->final_url)
    {
        cleanup->strings[1] = file->remote_name;
        file->remote_name = response->final_url;
        response->final_url = NULL;
    }
    if (file->range_count)
    {
        file->bytes_total = ranges_total_length(file->ranges, file->range_count, size);
        if (size != BG_SIZE_UNKNOWN && file->bytes_total == BG_SIZE_UNKNOWN)
        {
            fail(engine, job, BG_E_INVALID_RANGE, BG_ERROR_CONTEXT_REMOTE_FILE, file, chunk->error.protocol);
            return FALSE;
        }
    }
    else if (chunk->sparse)
    {
        /* The whole file's size; what was asked for past its end does not exist. */
        file->bytes_total = size;
        if (size != BG_SIZE_UNKNOWN) range_list_clip(&file->requested, size);
    }
    else if (size == BG_SIZE_UNKNOWN && !job->dynamic_content && file != &job->reply)
    {
        fail(engine, job, BG_E_MISSING_FILE_SIZE, BG_ERROR_CONTEXT_REMOTE_FILE, file, chunk->error.protocol);
        return FALSE;
    }
    else
        file->bytes_total = size;
    if (job->run) job->run->write_offset = chunk->write_offset;
    /* Connected: the error of an earlier attempt is history. */
    if (job->state == BG_JOB_STATE_CONNECTING) job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRING);
    job->error.set = FALSE;
    return TRUE;
}

/* Requires: service lock. An upload-reply's reply is kept in memory too, up to MAX_REPLY_DATA,
 * for GetReplyData: bytes at offset of the reply (the part before it is there already). */
static void keep_reply_data(struct engine_job *job, UINT64 offset, const BYTE *data, DWORD size)
{
    BYTE *kept;

    if (offset + size > MAX_REPLY_DATA || (job->reply.bytes_total != BG_SIZE_UNKNOWN
                                            && job->reply.bytes_total > MAX_REPLY_DATA))
    {
        free(job->reply_data);
        job->reply_data = NULL;
        return;
    }
    if (!(kept = realloc(job->reply_data, offset + size))) return;    /* GetReplyData will say so */
    memcpy(kept + offset, data, size);
    job->reply_data = kept;
}

static UINT64 job_bytes(const struct engine_job *job)
{
    UINT64 total = 0;
    ULONG i;

    for (i = 0; i < job->file_count; ++i) total += job->files[i]->bytes_transferred;
    return total;
}

/* Requires: service lock. A farewell was sent: done, or again later (BITS-SPEC.md §9.2) while
 * its deadline allows. */
static void commit_farewell(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup,
                            UINT64 now)
{
    struct engine_farewell *farewell = chunk->farewell, **link;
    BOOL again;

    farewell->running = FALSE;
    farewell->tried = TRUE;
    if (FAILED(chunk->hr)) again = upload_farewell_again(TRUE, 0, NULL);
    else again = upload_farewell_again(FALSE, chunk->status, SUCCEEDED(chunk->parse_hr) ? &chunk->ack : NULL);
    if (again && !engine->stopping && now + (UINT64)farewell->retry_delay * 1000 < farewell->deadline)
    {
        farewell->retry_at = now + (UINT64)farewell->retry_delay * 1000;
        return;
    }
    for (link = &engine->farewells; *link != farewell; link = &(*link)->next) {}
    *link = farewell->next;
    cleanup->farewell_options = farewell->options;
    free(farewell->url);
    free(farewell->session_id);
    free(farewell);
}

/* Requires: service lock. The final fragment is acknowledged: the server has the whole file.
 * An upload job is TRANSFERRED; an upload-reply job goes on to download the reply the server
 * named, or is TRANSFERRED without one. */
static void upload_sent(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup)
{
    struct engine_job *job = chunk->job;
    struct engine_file *file = chunk->file, *reply = &job->reply;
    enum remote_kind kind;
    WCHAR *url;
    HRESULT hr;

    file->transferred = TRUE;
    drop_run(job, cleanup);
    if (job->type == BG_JOB_TYPE_UPLOAD_REPLY && chunk->ack.reply_url)
    {
        /* The reply comes over HTTP(S), from a URL relative to the upload's. */
        if (!(url = upload_url_resolve(chunk->url, chunk->ack.reply_url)))
        {
            fail(engine, job, E_OUTOFMEMORY, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, file, NULL);
            return;
        }
        if (FAILED(validate_remote_name(url, &kind)) || (kind != REMOTE_HTTP && kind != REMOTE_HTTPS))
        {
            free(url);
            file->transferred = FALSE;          /* the final fragment's answer is no good */
            fail_as(engine, job, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE, file, L"http", FALSE);
            return;
        }
        free(reply->remote_name);
        reply->remote_name = url;
        reply->kind = kind;
        if (!reply->temp_name && engine->host
            && FAILED(hr = engine->host->new_temp_name(engine->host_context, reply)))
        {
            fail(engine, job, hr, BG_ERROR_CONTEXT_LOCAL_FILE, file, NULL);
            return;
        }
        list_rotate(engine, job);
        return;
    }
    if (job->type == BG_JOB_TYPE_UPLOAD_REPLY) job->reply_none = TRUE;
    job_transferred(engine, job);
}

/* Requires: service lock. One packet of the job's upload session was answered (or not). */
static void commit_packet(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup,
                          UINT64 now)
{
    struct engine_job *job = chunk->job;
    struct engine_file *file = chunk->file;
    struct engine_upload *upload = &job->upload;
    struct engine_run *run = job->run;
    struct upload_result result;

    if (chunk->stream && run && run->stream == chunk->stream) __atomic_store_n(&run->stream, NULL, __ATOMIC_RELEASE);
    if (chunk->generation != job->generation || !is_active(job->state))
    {
        drop_run(job, cleanup);
        return;
    }
    job->download_ms += now - job->step_at;
    if (job->max_download_time != INFINITE && job->download_ms >= (UINT64)job->max_download_time * 1000)
    {
        drop_run(job, cleanup);
        fail(engine, job, BG_E_MAXDOWNLOAD_TIMEOUT, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, NULL, NULL);
        return;
    }
    if (chunk->opened_local && !upload->local_known)
    {
        /* The local file as the upload found it: from now on it must stay so. */
        upload->local_known = TRUE;
        upload->local_size = chunk->local_size;
        upload->local_time = chunk->local_time;
        file->bytes_total = chunk->local_size;
    }

    if (FAILED(chunk->hr))
    {
        /* No answer: the Host-Id's host may be out of reach (its fallback clock starts). */
        if (chunk->error.context == BG_ERROR_CONTEXT_GENERAL_TRANSPORT && upload->host_id && !upload->host_failed_at)
            upload->host_failed_at = max(now, 1);
        if (chunk->packet == BITS_PACKET_FRAGMENT) upload->fragment_size = upload_fragment_shrink(upload->fragment_size);
        drop_run(job, cleanup);
        fail(engine, job, chunk->hr, chunk->error.context ? chunk->error.context : BG_ERROR_CONTEXT_UNKNOWN,
             file, chunk->error.protocol);
        return;
    }

    upload_judge(chunk->packet, chunk->status, chunk->parse_hr, &chunk->ack, chunk->first, chunk->length,
                 chunk->total, &result);
    if (result.outcome == UPLOAD_OUTCOME_FAILED)
    {
        if (chunk->packet == BITS_PACKET_FRAGMENT) upload->fragment_size = upload_fragment_shrink(upload->fragment_size);
        drop_run(job, cleanup);
        fail_as(engine, job, result.error.code, result.error.context, file, result.error.protocol, result.transient);
        return;
    }
    /* The server answered: connected, and the error of an earlier attempt is history. */
    upload->host_failed_at = 0;
    if (job->state == BG_JOB_STATE_CONNECTING) job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRING);
    job->error.set = FALSE;

    switch (result.outcome)
    {
    case UPLOAD_OUTCOME_OK:
        if (chunk->packet == BITS_PACKET_PING)
            upload->pinged = TRUE;
        else if (chunk->packet == BITS_PACKET_CREATE_SESSION)
        {
            forget_session(upload);
            upload->session_id = chunk->ack.session_id;
            upload->host_id = chunk->ack.host_id;
            chunk->ack.session_id = chunk->ack.host_id = NULL;
            if (chunk->ack.has_fallback) upload->host_fallback_ms = (UINT64)chunk->ack.fallback_seconds * 1000;
            upload->fresh = TRUE;
            upload->fragment_size = UPLOAD_FRAGMENT_FIRST;
            file->bytes_transferred = 0;            /* a new session starts from nothing */
        }
        else
        {
            /* Progress: the server's word for how far it is. */
            file->bytes_transferred = result.received;
            upload->fresh = FALSE;
            upload->fragment_size = upload_fragment_grow(upload->fragment_size);
            job->progress_at = now;
            job->retry_at = 0;
            touch(engine, job);
            event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
            if (result.received == chunk->total)
            {
                upload_sent(engine, chunk, cleanup);
                return;
            }
        }
        break;
    case UPLOAD_OUTCOME_RESUME:
        /* 416: the server has less than the fragment assumed; go on from there. */
        file->bytes_transferred = result.received;
        touch(engine, job);
        event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
        break;
    default:                            /* UPLOAD_OUTCOME_SESSION_LOST */
        if (upload->fresh)
        {
            /* A session lost before it carried anything: something is wrong on the server. */
            drop_run(job, cleanup);
            fail_as(engine, job, BG_E_SESSION_NOT_FOUND, BG_ERROR_CONTEXT_REMOTE_FILE, file, L"http", TRUE);
            return;
        }
        /* The server forgot the session (a restart): a new one, from the start. */
        forget_session(upload);
        file->bytes_transferred = 0;
        touch(engine, job);
        event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
        break;
    }
    list_rotate(engine, job);
}

/* Requires: service lock. Whether a background job that would carry on should give its slot up
 * now (BITS-SPEC.md §3.2: TRANSFERRING → QUEUED when the time slice is over; background jobs
 * round robin per priority): every slot is taken and a background job waits for one, of a higher
 * priority (at once) or of the same one (once this job's slice is over). The lowest priority
 * with a slot yields first. Only a job that continues from where it is later: not one whose
 * server ignores ranges, nor dynamic content, nor on-demand ranges. */
static BOOL must_yield(struct engine *engine, const struct engine_job *job, UINT64 now)
{
    const struct engine_file *file = job->run->file;
    const struct engine_job *other;
    BOOL higher = FALSE, same = FALSE;
    ULONG open = 0;

    if (job->priority == BG_JOB_PRIORITY_FOREGROUND || job->state != BG_JOB_STATE_TRANSFERRING
            || job->dynamic_content || file->no_range_support || is_sparse(job, file))
        return FALSE;
    for (other = engine->active; other; other = other->next)
    {
        if (other->run)
        {
            ++open;
            if (other->priority > job->priority) return FALSE;
        }
        else if (other->state != BG_JOB_STATE_TRANSIENT_ERROR && other->priority != BG_JOB_PRIORITY_FOREGROUND)
        {
            if (other->priority < job->priority) higher = TRUE;
            else if (other->priority == job->priority) same = TRUE;
        }
    }
    return open >= engine->max_running && (higher || (same && now - job->slice_at >= TIME_SLICE_MS));
}

void engine_commit_chunk_locked(struct engine *engine, struct engine_chunk *chunk, struct engine_cleanup *cleanup)
{
    struct engine_job *job = chunk->job;
    struct engine_file *file = chunk->file;
    struct engine_run *run;
    UINT64 now = now_ms(engine);

    memset(cleanup, 0, sizeof(*cleanup));
    if (chunk->is_packet)
    {
        /* The packet's stream is closed after the commit, without the lock. */
        cleanup->packet = chunk->stream;
        cleanup->packet_ops = engine->transports[chunk->request.kind].ops;
        if (chunk->farewell) commit_farewell(engine, chunk, cleanup, now);
        else
        {
            job->running = FALSE;
            --engine->running;
            commit_packet(engine, chunk, cleanup, now);
        }
        free(chunk->url);
        free(chunk->temp_path);
        free(chunk->session_id);
        free(chunk->content_name);
        bits_ack_free(&chunk->ack);
        chunk->url = chunk->temp_path = chunk->session_id = chunk->content_name = NULL;
        return;
    }
    run = job->run;
    job->running = FALSE;
    --engine->running;
    free(chunk->url);
    free(chunk->temp_path);
    chunk->url = chunk->temp_path = NULL;

    /* A chunk that created the temporary file made it ours, whatever happens next: later
     * chunks open it again instead of finding the name taken and leaving the file behind. */
    if (chunk->open && chunk->mode == STORAGE_CREATE_NEW && run && run->storage) file->temp_created = TRUE;

    if (chunk->generation != job->generation || !is_active(job->state))
    {
        /* Suspended, cancelled, completed or changed meanwhile: the chunk counts for nothing. */
        transport_response_free(&chunk->response);
        drop_run(job, cleanup);
        return;
    }
    job->download_ms += now - job->step_at;
    if (job->max_download_time != INFINITE && job->download_ms >= (UINT64)job->max_download_time * 1000)
    {
        transport_response_free(&chunk->response);
        drop_run(job, cleanup);
        fail(engine, job, BG_E_MAXDOWNLOAD_TIMEOUT, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, NULL, NULL);
        return;
    }

    if (FAILED(chunk->hr))
    {
        transport_response_free(&chunk->response);
        drop_run(job, cleanup);
        if (chunk->hr == HR_WIN32(ERROR_FILE_EXISTS) && chunk->mode == STORAGE_CREATE_NEW && engine->host
            && SUCCEEDED(engine->host->new_temp_name(engine->host_context, file)))
            return;                     /* the name was taken: the next chunk tries another */
        /* HTTP 416 to a range request: no byte of the range is in the file (BITS-SPEC.md §2.4). */
        if (chunk->hr == (HRESULT)BG_E_HTTP_ERROR_416 && file->range_count) chunk->hr = BG_E_INVALID_RANGE;
        fail(engine, job, chunk->hr, chunk->error.context ? chunk->error.context : BG_ERROR_CONTEXT_UNKNOWN,
             file, chunk->error.protocol);
        return;
    }

    if (chunk->open)
    {
        BOOL ok = apply_response(engine, chunk, cleanup);
        transport_response_free(&chunk->response);
        if (!ok || !job->run)
        {
            if (!ok) drop_run(job, cleanup);
            return;
        }
    }

    if (chunk->bytes)
    {
        if (chunk->sparse && FAILED(range_list_add(&file->filled, run->write_offset, chunk->bytes)))
        {
            drop_run(job, cleanup);
            fail(engine, job, E_OUTOFMEMORY, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, file, NULL);
            return;
        }
        if (chunk->sparse) event(engine, job, ENGINE_EVENT_FILE_RANGES_TRANSFERRED, file);
        if (file == &job->reply) keep_reply_data(job, run->write_offset, run->buffer, chunk->bytes);
        file->bytes_transferred += chunk->bytes;
        run->write_offset += chunk->bytes;
        if (run->remaining != BG_LENGTH_TO_EOF) run->remaining -= chunk->bytes;
        job->progress_at = now;
        job->retry_at = 0;              /* progress: the next transient error starts a new clock */
        touch(engine, job);
        if (job->max_download_size != ~(UINT64)0 && job_bytes(job) > job->max_download_size)
        {
            drop_run(job, cleanup);
            fail(engine, job, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, BG_ERROR_CONTEXT_REMOTE_FILE, file,
                 chunk->error.protocol);
            return;
        }
        event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
    }

    if (chunk->end)
    {
        UINT64 offset, length;

        drop_run(job, cleanup);
        if (chunk->sparse && chunk->want != BG_LENGTH_TO_EOF && chunk->bytes < chunk->want && !chunk->bytes)
        {
            /* The stream ended before the requested bytes came. */
            fail(engine, job, HR_WIN32(12030) /* ERROR_WINHTTP_CONNECTION_ERROR */,
                 BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file, chunk->error.protocol);
            return;
        }
        if ((file->range_count || chunk->sparse) && next_request(job, file, &offset, &length))
        {
            /* The next range comes on a stream of its own. */
            list_rotate(engine, job);
            return;
        }
        if (chunk->sparse)
        {
            requests_done(engine, job, file);
            if (file->transferred && !next_file(job)) job_transferred(engine, job);
            else if (file->transferred) list_rotate(engine, job);
            return;
        }
        if (!file->range_count && file->remote_size != BG_SIZE_UNKNOWN && file->bytes_transferred < file->remote_size)
        {
            /* The stream ended early: the connection went (retried from where it stopped). */
            fail(engine, job, HR_WIN32(12030) /* ERROR_WINHTTP_CONNECTION_ERROR */,
                 BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file, chunk->error.protocol);
            return;
        }
        if (file->bytes_total == BG_SIZE_UNKNOWN) file->bytes_total = file->bytes_transferred;
        file->transferred = TRUE;
        if (file == &job->reply)
        {
            job->reply_size = file->bytes_transferred;
            if (job->reply_size > MAX_REPLY_DATA)
            {
                free(job->reply_data);
                job->reply_data = NULL;
            }
        }
        event(engine, job, ENGINE_EVENT_FILE_TRANSFERRED, file);
        if (!next_file(job)) job_transferred(engine, job);
        else list_rotate(engine, job);
        return;
    }
    if (must_yield(engine, job, now))
    {
        drop_run(job, cleanup);
        job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
        touch(engine, job);
        event(engine, job, ENGINE_EVENT_JOB_MODIFICATION, NULL);
    }
    list_rotate(engine, job);
}
