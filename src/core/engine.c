/* SPDX-License-Identifier: MIT */
/* The transfer engine (see engine.h): scheduling, chunks, retries and timeouts. */
#include <stdlib.h>

#include "core/engine.h"
#include "core/job_state.h"

/* HRESULT_FROM_WIN32 as a constant expression (Wine's headers make it a function). */
#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))

#define DEFAULT_MAX_RUNNING 4
#define DEFAULT_CHUNK_SIZE  (256 * 1024)
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
};

void engine_init(struct engine *engine)
{
    memset(engine, 0, sizeof(*engine));
    engine->max_running = DEFAULT_MAX_RUNNING;
    engine->chunk_size = DEFAULT_CHUNK_SIZE;
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

static void event(struct engine *engine, struct engine_job *job, enum engine_event_kind kind, struct engine_file *file)
{
    if (engine->host) engine->host->event(engine->host_context, job, kind, file);
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
 * chunk stores the stream without the lock (atomically); the stream is closed only after the
 * run is dropped under the lock, so it is alive here. A stream still being opened is not
 * reached: the chunk's commit drops it after its first read. */
static void abort_run(struct engine_run *run)
{
    struct transport_stream *stream;

    if (run && (stream = __atomic_load_n(&run->stream, __ATOMIC_ACQUIRE))) run->ops->abort(stream);
}

void engine_cleanup(struct engine *engine, struct engine_cleanup *cleanup)
{
    /* The file first: a stream's close may take a while (the transport waits for its network
     * library to let go), and the next run of the file wants it. */
    if (cleanup->file) engine->storage->close(cleanup->file);
    if (cleanup->stream) cleanup->ops->close(cleanup->stream);
    if (cleanup->options && engine->host) engine->host->free_options(engine->host_context, cleanup->options);
    free(cleanup->strings[0]);
    free(cleanup->strings[1]);
    memset(cleanup, 0, sizeof(*cleanup));
}

/* --- the job's life ------------------------------------------------------------------------ */

static BOOL has_pending_file(const struct engine_job *job)
{
    ULONG i;

    for (i = 0; i < job->file_count; ++i)
        if (!job->files[i]->transferred) return TRUE;
    return FALSE;
}

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
        if (has_pending_file(job)) job_state_transition(&job->state, BG_JOB_STATE_QUEUED);
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
    job->error.file = file;
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

static void fail(struct engine *engine, struct engine_job *job, HRESULT code, BG_ERROR_CONTEXT context,
                 struct engine_file *file, const WCHAR *protocol)
{
    BOOL transient = engine_error_is_transient(code);
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

static struct engine_file *pending_file(const struct engine_job *job)
{
    ULONG i;

    for (i = 0; i < job->file_count; ++i)
        if (!job->files[i]->transferred) return job->files[i];
    return NULL;
}

/* Requires: service lock. Every file is there: TRANSFERRED. */
static void job_transferred(struct engine *engine, struct engine_job *job)
{
    if (job->state == BG_JOB_STATE_QUEUED) job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRING);
    if (FAILED(job_state_transition(&job->state, BG_JOB_STATE_TRANSFERRED))) return;
    touch(engine, job);
    job->completion_time = job->modification_time;
    list_remove(engine, job);
    event(engine, job, ENGINE_EVENT_JOB_TRANSFERRED, NULL);
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

HRESULT engine_begin_chunk_locked(struct engine *engine, struct engine_chunk *chunk, DWORD *wait_ms)
{
    struct engine_job *job;
    struct engine_file *file;
    struct engine_run *run;
    UINT64 now = now_ms(engine), offset = 0, length = 0;

    memset(chunk, 0, sizeof(*chunk));
    *wait_ms = tick_locked(engine, now);

    while ((job = pick_job(engine)))
    {
        if (job->type != BG_JOB_TYPE_DOWNLOAD)
        {
            /* Uploads are not transferred yet (issue 7): they wait in QUEUED. */
            list_remove(engine, job);
            continue;
        }
        if (!(file = pending_file(job)))
        {
            job_transferred(engine, job);
            continue;
        }
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

static void open_chunk(struct engine *engine, struct engine_chunk *chunk, struct engine_run *run)
{
    struct transport_stream *stream;
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
    if (FAILED(hr = run->ops->open(engine->transports[chunk->request.kind].context, &chunk->request,
                                   &stream, &chunk->response, &chunk->error)))
    {
        chunk->hr = hr;
        return;
    }
    /* Published for abort_run, which runs under the lock while this thread has none. */
    __atomic_store_n(&run->stream, stream, __ATOMIC_RELEASE);
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

void engine_transfer_chunk(struct engine *engine, struct engine_chunk *chunk)
{
    struct engine_run *run = chunk->job->run;
    DWORD size = engine->chunk_size, read = 0;
    HRESULT hr;

    chunk->hr = S_OK;
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
    else if (size == BG_SIZE_UNKNOWN && !job->dynamic_content)
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

static UINT64 job_bytes(const struct engine_job *job)
{
    UINT64 total = 0;
    ULONG i;

    for (i = 0; i < job->file_count; ++i) total += job->files[i]->bytes_transferred;
    return total;
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
    struct engine_run *run = job->run;
    UINT64 now = now_ms(engine);

    memset(cleanup, 0, sizeof(*cleanup));
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
            if (file->transferred && !pending_file(job)) job_transferred(engine, job);
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
        event(engine, job, ENGINE_EVENT_FILE_TRANSFERRED, file);
        if (!pending_file(job)) job_transferred(engine, job);
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
