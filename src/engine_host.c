/* SPDX-License-Identifier: MIT */
/* The transfer engine's home in the DLL: the seams of src/core/engine.h made real (clock,
 * temporary files, transports, the job's options), the worker threads that run chunks, and
 * the queue of events for notify.c's delivery.
 *
 * Workers: started at the first Resume, MAX_WORKERS of them, each looping
 *   lock → engine_begin_chunk_locked → unlock → engine_transfer_chunk → lock →
 *   engine_commit_chunk_locked → unlock → engine_cleanup, deliver events
 * and sleeping on service->work (with the engine's timeout for retries) when there is nothing
 * to do: an idle engine uses no CPU. A worker holds the job of its chunk (job_hold), so a
 * Cancel and a final Release meanwhile cannot free it. Lifetime: see service.h. */
#include <stdlib.h>

#include "engine_host.h"
#include "file.h"
#include "group.h"
#include "job.h"
#include "notify.h"
#include "test_double.h"
#include "transport.h"

/* --- clock ---------------------------------------------------------------------------------- */

static UINT64 clock_now(void *context)
{
    return GetTickCount64();
}

static void clock_system_time(void *context, FILETIME *time)
{
    GetSystemTimeAsFileTime(time);
}

static const struct engine_clock_ops clock_ops = { clock_now, clock_system_time };

/* --- temporary files ------------------------------------------------------------------------- */

static HRESULT storage_open(void *context, const WCHAR *path, enum storage_mode mode, void **file, UINT64 *size)
{
    static const DWORD dispositions[] = { CREATE_NEW, OPEN_EXISTING, OPEN_ALWAYS };
    LARGE_INTEGER length;
    HANDLE handle;

    *file = NULL;
    /* Our temporary files are hidden, as BITS' are; others may read them while we write. Write
     * sharing too: the handle of a run that just ended may not be closed yet when the next run
     * of the same file opens it (a retry right after a failure). */
    handle = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         dispositions[mode], mode == STORAGE_CREATE_NEW ? FILE_ATTRIBUTE_HIDDEN : FILE_ATTRIBUTE_NORMAL,
                         NULL);
    if (handle == INVALID_HANDLE_VALUE) return hresult_from_last_error();
    if (!GetFileSizeEx(handle, &length))
    {
        HRESULT hr = hresult_from_last_error();
        CloseHandle(handle);
        return hr;
    }
    *size = length.QuadPart;
    *file = handle;
    return S_OK;
}

static HRESULT storage_write(void *file, UINT64 offset, const void *data, DWORD size)
{
    LARGE_INTEGER position;
    DWORD written;

    position.QuadPart = offset;
    if (!SetFilePointerEx(file, position, NULL, FILE_BEGIN)) return hresult_from_last_error();
    while (size)
    {
        if (!WriteFile(file, data, size, &written, NULL)) return hresult_from_last_error();
        if (!written) return HRESULT_FROM_WIN32(ERROR_WRITE_FAULT);
        data = (const BYTE *)data + written;
        size -= written;
    }
    return S_OK;
}

static HRESULT storage_truncate(void *file, UINT64 size)
{
    LARGE_INTEGER position;

    position.QuadPart = size;
    if (!SetFilePointerEx(file, position, NULL, FILE_BEGIN) || !SetEndOfFile(file))
        return hresult_from_last_error();
    return S_OK;
}

static void storage_close(void *file)
{
    CloseHandle(file);
}

/* An upload's local file: others may go on reading and writing it (a change fails the upload,
 * see storage_query). */
static HRESULT storage_open_read(void *context, const WCHAR *path, void **file)
{
    HANDLE handle = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                                OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, NULL);

    *file = NULL;
    if (handle == INVALID_HANDLE_VALUE) return hresult_from_last_error();
    *file = handle;
    return S_OK;
}

static HRESULT storage_query(void *file, UINT64 *size, FILETIME *time)
{
    LARGE_INTEGER length;

    if (!GetFileSizeEx(file, &length) || !GetFileTime(file, NULL, NULL, time)) return hresult_from_last_error();
    *size = length.QuadPart;
    return S_OK;
}

static HRESULT storage_read(void *file, UINT64 offset, void *data, DWORD size, DWORD *read)
{
    OVERLAPPED position = { 0 };
    DWORD got;

    /* The offset in the call: one system call per read, no file pointer to move first. */
    *read = 0;
    while (size)
    {
        position.Offset = (DWORD)offset;
        position.OffsetHigh = (DWORD)(offset >> 32);
        if (!ReadFile(file, data, size, &got, &position))
        {
            if (GetLastError() == ERROR_HANDLE_EOF) break;
            return hresult_from_last_error();
        }
        if (!got) break;
        data = (BYTE *)data + got;
        size -= got;
        offset += got;
        *read += got;
    }
    return S_OK;
}

static const struct storage_ops storage_ops =
{
    storage_open, storage_write, storage_truncate, storage_close,
    storage_open_read, storage_query, storage_read,
};

/* --- the host: events, options, names --------------------------------------------------------- */

static struct job *job_of(struct engine_job *xfer)
{
    return xfer->owner;
}

/* Requires: service lock. */
static void queue_event(struct service *service, struct job *job, enum engine_event_kind kind,
                        struct engine_file *file, BOOL group)
{
    struct service_event *event;

    /* Memory and a counted hold on the job: no callout. Delivery comes after the unlock. */
    if (!(event = calloc(1, sizeof(*event))))
    {
        ERR("no memory for an event of job %p.\n", job);
        return;
    }
    event->kind = kind;
    event->job = job;
    event->file = file ? file_from_engine(file) : NULL;
    event->group = group;
    job_hold(event->job);
    ++event->job->events_pending;
    if (service->events_tail) service->events_tail->next = event;
    else service->events = event;
    service->events_tail = event;
}

/* Requires: service lock. */
static void host_event(void *context, struct engine_job *xfer, enum engine_event_kind kind, struct engine_file *file)
{
    struct service *service = context;
    struct job *job = job_of(xfer);

    /* A BITS 1.x group hears of its end first: its files become available before anyone is
     * told (group_deliver). */
    if (job->group && (kind == ENGINE_EVENT_JOB_TRANSFERRED || kind == ENGINE_EVENT_JOB_ERROR))
        queue_event(service, job, kind, NULL, TRUE);
    queue_event(service, job, kind, file, FALSE);
}

/* The server-certificate check of HttpOptions3 for the transport: the client's callback is
 * called in its apartment through the GIT, with the job and the file. */
struct certificate_check
{
    struct job *job;                      /* held */
    struct job_file *file;
    DWORD cookie;
};

static HRESULT check_certificate(void *context, const BYTE *certificate, DWORD certificate_size, DWORD encoding,
                                 const BYTE *store, DWORD store_size)
{
    struct certificate_check *check = context;
    IBackgroundCopyServerCertificateValidationCallback *callback;
    HRESULT hr;

    if (FAILED(hr = notify_get(check->cookie, &IID_IBackgroundCopyServerCertificateValidationCallback,
                               (void **)&callback)) || !callback)
        return FAILED(hr) ? hr : BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED;
    hr = IBackgroundCopyServerCertificateValidationCallback_ValidateServerCertificate(callback,
            (IBackgroundCopyJob *)&check->job->IBackgroundCopyJob5_iface, file_iface(check->file),
            certificate_size, certificate, encoding, store_size, store);
    IBackgroundCopyServerCertificateValidationCallback_Release(callback);
    return hr;
}

static WCHAR *dup_or_null(const WCHAR *str, BOOL *failed)
{
    WCHAR *copy;

    if (!str) return NULL;
    if (!(copy = _wcsdup(str))) *failed = TRUE;
    return copy;
}

/* Requires: service lock. Only copies and a handle duplicate: no callout. */
static void *host_snapshot_options(void *context, struct engine_job *xfer)
{
    struct job *job = job_of(xfer);
    struct transfer_options *options;
    unsigned int target, scheme, count = 0;
    BOOL failed = FALSE;
    ULONG i;

    if (!(options = calloc(1, sizeof(*options)))) return NULL;
    options->type = xfer->type;
    options->proxy_usage = job->proxy_usage;
    options->proxy_list = dup_or_null(job->proxy_list, &failed);
    options->proxy_bypass = dup_or_null(job->proxy_bypass, &failed);
    options->custom_headers = dup_or_null(job->custom_headers, &failed);
    options->security_flags = job->security_flags;
    options->http_method = dup_or_null(job->http_method, &failed);
    options->has_certificate = job->has_certificate;
    options->certificate_location = job->certificate_location;
    options->certificate_store = dup_or_null(job->certificate_store, &failed);
    options->certificate_by_hash = job->certificate_by_hash;
    memcpy(options->certificate_hash, job->certificate_hash, sizeof(options->certificate_hash));
    options->certificate_subject = dup_or_null(job->certificate_subject, &failed);
    options->token_flags = job->token_flags;
    if (job->helper_token && !DuplicateHandle(GetCurrentProcess(), job->helper_token, GetCurrentProcess(),
                                              &options->helper_token, 0, FALSE, DUPLICATE_SAME_ACCESS))
        options->helper_token = NULL;

    for (target = 0; target < JOB_AUTH_TARGETS; ++target)
        for (scheme = 0; scheme < JOB_AUTH_SCHEMES; ++scheme)
            if (job->credentials[target][scheme].set) ++count;
    if (count && !(options->credentials = calloc(count, sizeof(*options->credentials)))) failed = TRUE;
    for (target = 0; !failed && target < JOB_AUTH_TARGETS; ++target)
        for (scheme = 0; scheme < JOB_AUTH_SCHEMES; ++scheme)
        {
            const struct job_credential *credential = &job->credentials[target][scheme];
            struct transfer_credential *copy;
            if (!credential->set) continue;
            copy = &options->credentials[options->credential_count++];
            copy->target = target + 1;    /* BG_AUTH_TARGET_SERVER is 1 */
            copy->scheme = scheme + 1;    /* BG_AUTH_SCHEME_BASIC is 1 */
            copy->user = dup_or_null(credential->user, &failed);
            copy->password = dup_or_null(credential->password, &failed);
        }

    if (job->certificate_callback_cookie)
    {
        struct certificate_check *check;
        struct engine_file *file = NULL;
        for (i = 0; i < xfer->file_count && !file; ++i)
            if (!xfer->files[i]->transferred) file = xfer->files[i];
        if (!file || !(check = calloc(1, sizeof(*check)))) failed = TRUE;
        else
        {
            check->job = job;
            check->file = file_from_engine(file);
            check->cookie = job->certificate_callback_cookie;
            job_hold(job);
            options->validate_certificate = check_certificate;
            options->validate_context = check;
        }
    }
    if (failed)
    {
        ERR("no memory for the options of job %p.\n", job);
        /* Freed by the caller's cleanup without the lock. */
    }
    return options;
}

static void host_free_options(void *context, void *opaque)
{
    struct transfer_options *options = opaque;
    struct certificate_check *check;

    if (!options) return;
    if ((check = options->validate_context))
    {
        job_unhold(check->job);
        free(check);
    }
    transfer_options_free(options);
}

/* Requires: service lock. */
static HRESULT host_new_temp_name(void *context, struct engine_file *file)
{
    WCHAR *name;
    HRESULT hr;

    if (FAILED(hr = file_make_temp_name(file->local_name, &name))) return hr;
    free(file->temp_name);
    file->temp_name = name;
    return S_OK;
}

static const struct engine_host_ops host_ops =
{
    host_event,
    host_snapshot_options,
    host_free_options,
    host_new_temp_name,
};

/* --- workers ------------------------------------------------------------------------------ */

/* Takes the queued events (caller holds the lock). */
static struct service_event *take_events_locked(struct service *service)
{
    struct service_event *events = service->events;

    service->events = service->events_tail = NULL;
    return events;
}

static void deliver_events(struct service *service, struct service_event *events)
{
    while (events)
    {
        struct service_event *next = events->next;
        struct job *job = events->job;
        DWORD retry;
        BOOL last;

        if ((retry = notify_deliver(service, events)))
        {
            /* Again later: it keeps its hold and stays pending. */
            service_lock(service);
            events->due = service_now(service) + retry;
            events->next = service->delayed;
            service->delayed = events;
            WakeConditionVariable(&service->work);
            service_unlock(service);
            events = next;
            continue;
        }
        service_lock(service);
        --job->events_pending;
        last = job_unhold_locked(job);
        WakeAllConditionVariable(&service->idle);
        test_double_changed_locked(service);
        service_unlock(service);
        if (last) job_free(job);          /* no lock held */
        free(events);
        events = next;
    }
}

/* Requires: service lock. Moves the delayed deliveries that are due to the queue; lowers *wait
 * to the time until the next one. */
static void queue_due_locked(struct service *service, DWORD *wait)
{
    ULONGLONG now = service_now(service);
    struct service_event **link = &service->delayed, *event;

    while ((event = *link))
    {
        if (event->due > now)
        {
            if (event->due - now < *wait) *wait = (DWORD)(event->due - now);
            link = &event->next;
            continue;
        }
        *link = event->next;
        event->next = NULL;
        if (service->events_tail) service->events_tail->next = event;
        else service->events = event;
        service->events_tail = event;
    }
}

static DWORD WINAPI worker_main(void *arg)
{
    struct service *service = arg;
    struct service_event *events;
    HMODULE module = NULL;

    /* The DLL stays mapped while this thread runs, whatever the client unloads. */
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (const WCHAR *)worker_main, &module);
    CoInitializeEx(NULL, COINIT_MULTITHREADED);

    service_lock(service);
    for (;;)
    {
        struct engine_cleanup cleanup;
        struct engine_chunk chunk;
        struct job *job;
        BOOL last;
        DWORD wait;
        HRESULT hr;

        /* Stopping, the engine hands out only the Close/Cancel-Session packets never sent, once
         * each (src/core/engine.h, struct engine_farewell); then the workers leave. */
        service->engine.stopping = service->stopping;
        hr = engine_begin_chunk_locked(&service->engine, &chunk, &wait);
        if (hr != S_OK && service->stopping) break;
        if (hr == S_OK && chunk.farewell)
        {
            service_unlock(service);
            engine_transfer_chunk(&service->engine, &chunk);
            service_lock(service);
            engine_commit_chunk_locked(&service->engine, &chunk, &cleanup);
            service_unlock(service);
            engine_cleanup(&service->engine, &cleanup);
            service_lock(service);
            continue;
        }
        if (hr != S_OK)
        {
            queue_due_locked(service, &wait);
            if ((events = take_events_locked(service)))
            {
                service_unlock(service);
                deliver_events(service, events);
                service_lock(service);
                continue;
            }
            wait = test_double_worker_wait_locked(service, wait);
            if (FAILED(hr)) wait = 1000;          /* out of memory: try again in a second */
            --service->workers_awake;
            test_double_changed_locked(service);
            SleepConditionVariableSRW(&service->work, &service->lock, wait, 0);
            ++service->workers_awake;
            continue;
        }
        job = job_of(chunk.job);
        job_hold(job);
        ++job->busy;
        service_unlock(service);

        engine_transfer_chunk(&service->engine, &chunk);

        service_lock(service);
        engine_commit_chunk_locked(&service->engine, &chunk, &cleanup);
        queue_due_locked(service, &wait);
        events = take_events_locked(service);
        WakeAllConditionVariable(&service->idle);
        WakeConditionVariable(&service->work);    /* a slot may have come free */
        test_double_changed_locked(service);
        service_unlock(service);

        engine_cleanup(&service->engine, &cleanup);
        /* Done with the job's files: a waiting Cancel may go on (the events hold the job
         * themselves, and their delivery may need the client's thread). */
        service_lock(service);
        --job->busy;
        WakeAllConditionVariable(&service->idle);
        last = job_unhold_locked(job);
        service_unlock(service);
        if (last) job_free(job);
        deliver_events(service, events);
        service_lock(service);
    }
    --service->workers_awake;
    service_unlock(service);

    CoUninitialize();
    service_release_base(service);
    FreeLibraryAndExitThread(module, 0);
}

HRESULT engine_host_init(struct service *service)
{
    struct engine *engine = &service->engine;
    HRESULT hr;

    engine_init(engine);
    engine->clock = &clock_ops;
    engine->storage = &storage_ops;
    engine->host = &host_ops;
    engine->host_context = service;
    InitializeConditionVariable(&service->work);
    InitializeConditionVariable(&service->idle);
    if (FAILED(hr = http_transport_create(&engine->transports[REMOTE_HTTP]))) return hr;
    engine->transports[REMOTE_HTTPS] = engine->transports[REMOTE_HTTP];
    if (FAILED(hr = file_transport_create(&engine->transports[REMOTE_LOCAL_PATH]))) return hr;
    engine->transports[REMOTE_FILE_URL] = engine->transports[REMOTE_LOCAL_PATH];
    engine->transports[REMOTE_UNC] = engine->transports[REMOTE_LOCAL_PATH];
    return S_OK;
}

void engine_host_destroy(struct service *service)
{
    struct engine *engine = &service->engine;

    /* Farewells still waiting for a retry go with the service (their options hold jobs). */
    engine_destroy(engine);
    if (engine->transports[REMOTE_HTTP].ops) http_transport_destroy(&engine->transports[REMOTE_HTTP]);
    if (engine->transports[REMOTE_LOCAL_PATH].ops) file_transport_destroy(&engine->transports[REMOTE_LOCAL_PATH]);
    /* No event is left: each holds its job, and each job holds the service. */
}

/* Requires: service lock. Moves the job's events from a list onto *dropped. */
static void unlink_job_events_locked(struct service_event **head, struct job *job, struct service_event **dropped)
{
    struct service_event *event, **link;

    for (link = head; (event = *link);)
    {
        if (event->job != job)
        {
            link = &event->next;
            continue;
        }
        *link = event->next;
        event->next = *dropped;
        *dropped = event;
        --job->events_pending;
    }
}

void service_drop_events(struct service *service, struct job *job)
{
    struct service_event *event, *dropped = NULL;

    service_lock(service);
    unlink_job_events_locked(&service->events, job, &dropped);
    unlink_job_events_locked(&service->delayed, job, &dropped);
    service->events_tail = NULL;
    for (event = service->events; event; event = event->next) service->events_tail = event;
    service_unlock(service);

    while ((event = dropped))
    {
        dropped = event->next;
        job_unhold(event->job);           /* never the last: the caller holds the job */
        free(event);
    }
}

void service_deliver_events(struct service *service)
{
    struct service_event *events;

    service_lock(service);
    events = take_events_locked(service);
    service_unlock(service);
    deliver_events(service, events);
}

void service_wake(struct service *service, BOOL start)
{
    HANDLE threads[MAX_WORKERS];
    ULONG count = 0, i;

    service_lock(service);
    if (start && !service->workers_started && !service->stopping)
    {
        /* The first Resume starts the workers; they hold the service's base. */
        service->workers_started = TRUE;
        count = MAX_WORKERS;
        InterlockedExchangeAdd(&service->base, count);
        service->workers_awake += count;  /* awake until they find nothing to do */
    }
    WakeAllConditionVariable(&service->work);
    service_unlock(service);

    for (i = 0; i < count; ++i)
    {
        if (!(threads[i] = CreateThread(NULL, 0, worker_main, service, 0, NULL)))
        {
            ERR("cannot start a worker: error %lu.\n", GetLastError());
            service_lock(service);
            --service->workers_awake;
            service_unlock(service);
            service_release_base(service);
        }
    }
    if (count)
    {
        service_lock(service);
        for (i = 0; i < count; ++i)
            if (threads[i]) service->workers[service->worker_count++] = threads[i];
        service_unlock(service);
    }
}

BOOL service_on_worker_locked(struct service *service)
{
    DWORD self = GetCurrentThreadId();
    ULONG i;

    for (i = 0; i < service->worker_count; ++i)
        if (GetThreadId(service->workers[i]) == self) return TRUE;
    return FALSE;
}

void service_wait_idle(struct service *service, struct job *job)
{
    service_lock(service);
    /* A worker calling here is inside a callback it delivers (an MTA client calling Complete
     * from JobTransferred): waiting for itself would never end. Events for a job with a notify
     * interface (or a BITS 1.x group's callback) are not waited for either: the client may be
     * calling from inside one of them, on its own (STA) thread, while a worker waits for it to
     * return. */
    if (!service_on_worker_locked(service))
        while (job->xfer.running || job->busy
               || (job->events_pending && !job->notify_cookie && !(job->group && group_notifies_locked(job->group))))
            SleepConditionVariableSRW(&service->idle, &service->lock, INFINITE, 0);
    service_unlock(service);
}
