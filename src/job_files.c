/* SPDX-License-Identifier: MIT */
/* The job methods about files (BITS-SPEC.md §2.2–§2.4, §3, §5): adding files, enumerating them,
 * progress, Resume/Cancel/Complete with their file work, errors, ReplaceRemotePrefix and the
 * reply of upload-reply jobs.
 *
 * Lock shape as in job.c. File-system work (checking a directory, renaming and deleting
 * temporary files) is done outside the lock on copies of what was decided under it. */
#include <stdlib.h>

#include "file.h"
#include "job.h"
#include "objects.h"
#include "owner.h"
#include "core/job_state.h"

void job_files_free(struct job *job)
{
    ULONG i;

    for (i = 0; i < job->xfer.file_count; ++i) file_destroy(file_from_engine(job->xfer.files[i]));
    free(job->xfer.files);
    engine_job_clear(&job->xfer);
}

/* Upload jobs speak the BITS upload protocol, and byte ranges exist only over HTTP(S). */
static BOOL is_http(enum remote_kind kind)
{
    return kind == REMOTE_HTTP || kind == REMOTE_HTTPS;
}

/* The directory of a full local path must exist, and the caller must be able to create files in
 * it (E_ACCESSDENIED). The path itself must not name a directory. */
static HRESULT check_local_directory(const WCHAR *local)
{
    const WCHAR *slash = wcsrchr(local, '\\');
    WCHAR dir[MAX_PATH];
    size_t len;
    DWORD attributes;
    HANDLE handle;

    if (!slash || (len = (size_t)(slash - local) + 1) >= ARRAY_SIZE(dir)) return E_INVALIDARG;
    memcpy(dir, local, len * sizeof(WCHAR));
    dir[len] = 0;
    attributes = GetFileAttributesW(dir);
    if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_DIRECTORY))
        return E_INVALIDARG;            /* the directory must exist (unconfirmed code) */
    attributes = GetFileAttributesW(local);
    if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY))
        return E_INVALIDARG;

    /* In process the caller's token is the thread's: opening for FILE_ADD_FILE asks the
     * directory's ACL the question BITS asks for the job owner. */
    handle = CreateFileW(dir, FILE_ADD_FILE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (handle == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_ACCESS_DENIED ? E_ACCESSDENIED : E_INVALIDARG;
    CloseHandle(handle);
    return S_OK;
}

/* An upload's local file is its source: it must exist and be readable (unconfirmed codes: the
 * open's own error). */
static HRESULT check_upload_source(const WCHAR *local)
{
    HANDLE handle = CreateFileW(local, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                NULL, OPEN_EXISTING, 0, NULL);

    if (handle == INVALID_HANDLE_VALUE) return hresult_from_last_error();
    CloseHandle(handle);
    return S_OK;
}

/* Everything about one file that needs no lock. */
static HRESULT check_file(struct job *job, const WCHAR *remote, const WCHAR *local, BOOL ranges,
                          enum remote_kind *kind)
{
    HRESULT hr;

    if (!remote || !local) return E_INVALIDARG;
    if (FAILED(validate_remote_name(remote, kind))) return E_INVALIDARG;
    if ((job->xfer.type != BG_JOB_TYPE_DOWNLOAD || ranges) && !is_http(*kind)) return E_INVALIDARG;
    if (FAILED(validate_local_name(local))) return E_INVALIDARG;
    if (job->xfer.type == BG_JOB_TYPE_DOWNLOAD) return check_local_directory(local);
    if (FAILED(hr = check_upload_source(local))) return hr;
    return S_OK;
}

/* Requires: service lock. Appends the records, all or none. */
static HRESULT add_records_locked(struct job *job, struct job_file **records, ULONG count,
                                  const WCHAR *caller, BOOL admin)
{
    ULONG i;
    HRESULT hr;

    if (FAILED(hr = job_check_modifiable_locked(job))) return hr;
    if (wcscmp(caller, job->owner) && !admin) return E_ACCESSDENIED;
    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD && job->xfer.file_count + count > 1) return BG_E_TOO_MANY_FILES;
    if (!admin && job->xfer.file_count + count > job->service->limits.files_per_job)
        return BG_E_TOO_MANY_FILES_IN_JOB;
    if (records[0]->xfer.range_count && job->xfer.dynamic_content) return BG_E_UNSUPPORTED_JOB_CONFIGURATION;
    if (job->xfer.file_count + count > job->xfer.file_capacity)
    {
        ULONG capacity = max(max(job->xfer.file_capacity * 2, job->xfer.file_count + count), 1);
        struct engine_file **files = realloc(job->xfer.files, capacity * sizeof(*files));
        if (!files) return E_OUTOFMEMORY;
        job->xfer.files = files;
        job->xfer.file_capacity = capacity;
    }
    for (i = 0; i < count; ++i)
    {
        struct job_file *file = records[i];
        file->job = job;
        if (job->xfer.high_performance)
        {
            /* High-performance downloads are written straight into the destination. */
            free(file->xfer.temp_name);
            file->xfer.temp_name = NULL;
        }
        job->xfer.files[job->xfer.file_count++] = &file->xfer;
    }
    job_touch_locked(job);
    return S_OK;
}

static HRESULT add_files(struct job *job, ULONG count, const BG_FILE_INFO *infos,
                         const BG_FILE_RANGE *ranges, DWORD range_count)
{
    struct job_file **records;
    struct owner_info caller;
    enum remote_kind kind;
    ULONG i;
    HRESULT hr = S_OK;

    if (!count) return S_OK;             /* nothing to add (unconfirmed) */
    if (!infos) return E_INVALIDARG;
    if (!(records = calloc(count, sizeof(*records)))) return E_OUTOFMEMORY;
    for (i = 0; SUCCEEDED(hr) && i < count; ++i)
    {
        if (SUCCEEDED(hr = check_file(job, infos[i].RemoteName, infos[i].LocalName, range_count != 0, &kind)))
            hr = file_create(infos[i].RemoteName, kind, infos[i].LocalName, job->xfer.type == BG_JOB_TYPE_DOWNLOAD,
                             ranges, range_count, &records[i]);
    }
    if (SUCCEEDED(hr) && SUCCEEDED(hr = owner_get_caller(&caller)))
    {
        service_lock(job->service);
        hr = add_records_locked(job, records, count, caller.sid, caller.admin);
        service_unlock(job->service);
        owner_free(&caller);
    }
    if (FAILED(hr))
        for (i = 0; i < count; ++i) file_destroy(records[i]);
    free(records);
    return hr;
}

HRESULT WINAPI job_AddFileSet(IBackgroundCopyJob5 *iface, ULONG count, BG_FILE_INFO *files)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %lu, %p.\n", iface, count, files);
    return add_files(job, count, files, NULL, 0);
}

HRESULT WINAPI job_AddFile(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    BG_FILE_INFO info = { (WCHAR *)remote, (WCHAR *)local };

    TRACE("%p, %s, %s.\n", iface, debugstr_w(remote), debugstr_w(local));
    return add_files(job, 1, &info, NULL, 0);
}

HRESULT WINAPI job_AddFileWithRanges(IBackgroundCopyJob5 *iface, LPCWSTR remote, LPCWSTR local,
                                     DWORD count, BG_FILE_RANGE *ranges)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    BG_FILE_INFO info = { (WCHAR *)remote, (WCHAR *)local };
    enum remote_kind kind;
    HRESULT hr;

    TRACE("%p, %s, %s, %lu, %p.\n", iface, debugstr_w(remote), debugstr_w(local), count, ranges);
    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD) return E_NOTIMPL;
    /* Names first, as AddFile does; then the ranges. */
    if (!remote || !local || FAILED(validate_remote_name(remote, &kind)) || !is_http(kind)
        || FAILED(validate_local_name(local)))
        return E_INVALIDARG;
    if (FAILED(hr = validate_ranges(ranges, count))) return hr;
    return add_files(job, 1, &info, ranges, count);
}

HRESULT WINAPI job_EnumFiles(IBackgroundCopyJob5 *iface, IEnumBackgroundCopyFiles **out)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    IBackgroundCopyFile **items = NULL;
    ULONG count, i;

    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    *out = NULL;
    service_lock(job->service);
    count = job->xfer.file_count;
    if (count && (items = malloc(count * sizeof(*items))))
        for (i = 0; i < count; ++i)
        {
            items[i] = file_iface(file_from_engine(job->xfer.files[i]));
            IBackgroundCopyFile_AddRef(items[i]);     /* ours: a counter, no callout */
        }
    service_unlock(job->service);
    if (count && !items) return E_OUTOFMEMORY;
    return enum_files_create(items, count, out);
}

/* Requires: service lock. The reply file's default: beside the upload file, named after the
 * job (BITS generates one at the first Resume; the name is our choice). */
static HRESULT generate_reply_name_locked(struct job *job)
{
    const WCHAR *local = job->xfer.files[0]->local_name, *slash = wcsrchr(local, '\\');
    size_t dir_len = (size_t)(slash - local) + 1;
    const GUID *id = &job->entry.id;
    WCHAR *name;

    if (!(name = malloc((dir_len + 48) * sizeof(WCHAR)))) return E_OUTOFMEMORY;
    memcpy(name, local, dir_len * sizeof(WCHAR));
    swprintf(name + dir_len, 48, L"BITS-%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X.reply",
             (unsigned long)id->Data1, id->Data2, id->Data3, id->Data4[0], id->Data4[1], id->Data4[2],
             id->Data4[3], id->Data4[4], id->Data4[5], id->Data4[6], id->Data4[7]);
    job->xfer.reply.local_name = name;
    return S_OK;
}

HRESULT WINAPI job_Resume(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job)))
        ;
    else if (!job->xfer.file_count)
        hr = BG_E_EMPTY;                /* and the job stays SUSPENDED */
    else if (job->xfer.type == BG_JOB_TYPE_UPLOAD_REPLY && !job->xfer.reply.local_name
             && FAILED(hr = generate_reply_name_locked(job)))
        ;
    else
    {
        engine_resume_locked(&job->service->engine, &job->xfer);
        job_touch_locked(job);
    }
    service_unlock(job->service);
    if (SUCCEEDED(hr)) service_wake(job->service, TRUE);
    return hr;
}

static void free_names(WCHAR **names, ULONG count)
{
    while (count) free(names[--count]);
    free(names);
}

/* Deletes the temporary files named in `names` (and frees them). A missing file is fine;
 * any other failure is BG_S_UNABLE_TO_DELETE_FILES. */
static HRESULT delete_temp_files(WCHAR **names, ULONG count)
{
    HRESULT hr = S_OK;
    ULONG i;

    for (i = 0; i < count; ++i)
    {
        if (!DeleteFileW(names[i]) && GetLastError() != ERROR_FILE_NOT_FOUND
            && GetLastError() != ERROR_PATH_NOT_FOUND)
        {
            WARN("could not delete %s, error %lu.\n", debugstr_w(names[i]), GetLastError());
            hr = BG_S_UNABLE_TO_DELETE_FILES;
        }
    }
    free_names(names, count);
    return hr;
}

/* Requires: service lock. Copies of the temporary names of the files that still have a
 * temporary file the engine created: every such file, or only the untransferred ones. An
 * upload-reply's reply counts as one of them. */
static HRESULT collect_temp_names_locked(struct job *job, BOOL include_transferred, WCHAR ***names, ULONG *count)
{
    ULONG i;

    *count = 0;
    if (!(*names = calloc(job->xfer.file_count + 1, sizeof(**names)))) return E_OUTOFMEMORY;
    for (i = 0; i <= job->xfer.file_count; ++i)
    {
        struct engine_file *file = i < job->xfer.file_count ? job->xfer.files[i] : &job->xfer.reply;
        /* Only files the engine created: never one we did not (BITS-SPEC.md §5.2). */
        if (!file->temp_name || !file->temp_created || file->completed
            || (!include_transferred && file->transferred)) continue;
        if (!((*names)[*count] = _wcsdup(file->temp_name)))
        {
            free_names(*names, *count);
            *names = NULL;
            *count = 0;
            return E_OUTOFMEMORY;
        }
        ++*count;
    }
    return S_OK;
}

HRESULT WINAPI job_Cancel(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    struct engine_cleanup cleanup = { 0 };
    WCHAR **names = NULL;
    ULONG count = 0;
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        /* An upload's session gets a Cancel-Session of its own (src/core/engine.h). */
        engine_cancel_locked(&job->service->engine, &job->xfer, &cleanup);
        hr = job_finish_locked(job, BG_JOB_STATE_CANCELLED);
    }
    service_unlock(job->service);
    if (FAILED(hr)) return hr;

    /* A worker still in a chunk of the job has its temporary file open (or is creating it):
     * let it finish. Then every temporary file of ours goes, transferred or not: only Complete
     * makes files available. The job is final now, so the files no longer change. */
    engine_cleanup(&job->service->engine, &cleanup);
    service_drop_events(job->service, job);
    service_wait_idle(job->service, job);
    service_lock(job->service);
    hr = collect_temp_names_locked(job, TRUE, &names, &count);
    service_unlock(job->service);
    hr = SUCCEEDED(hr) ? delete_temp_files(names, count) : BG_S_UNABLE_TO_DELETE_FILES;
    service_wake(job->service, FALSE);  /* its place may go to another job, or a Cancel-Session */
    job_unhold(job);                    /* the queue's hold; never the last one here */
    return hr;
}

/* One rename that makes a transferred file available under its local name. */
struct rename_step
{
    struct engine_file *file;
    WCHAR *from, *to;
    FILETIME time;                        /* the remote file's, or zero */
    BOOL renamed;
};

static void free_renames(struct rename_step *steps, ULONG count)
{
    ULONG i;

    for (i = 0; steps && i < count; ++i)
    {
        free(steps[i].from);
        free(steps[i].to);
    }
    free(steps);
}

/* Requires: service lock. The renames for the files that are transferred, not yet available and
 * in a temporary file, in the job's order (copies: they run without the lock). *partial: some
 * file is not transferred. */
static HRESULT plan_renames_locked(struct job *job, struct rename_step **steps, ULONG *count, BOOL *partial)
{
    ULONG i;

    *count = 0;
    *partial = FALSE;
    if (!(*steps = calloc(max(job->xfer.file_count, 1), sizeof(**steps)))) return E_OUTOFMEMORY;
    for (i = 0; i < job->xfer.file_count; ++i)
    {
        struct engine_file *file = job->xfer.files[i];
        struct rename_step *step = &(*steps)[*count];

        if (!file->transferred) *partial = TRUE;
        if (!file->transferred || file->completed || !file->temp_name) continue;
        step->file = file;
        step->time = file->remote_time;
        ++*count;
        if (!(step->from = _wcsdup(file->temp_name)) || !(step->to = _wcsdup(file->local_name)))
        {
            free_renames(*steps, *count);
            *steps = NULL;
            *count = 0;
            return E_OUTOFMEMORY;
        }
    }
    return S_OK;
}

/* The downloaded file takes the server's time, as creation and modification time (§5.1). */
static void set_file_time(const WCHAR *path, const FILETIME *time)
{
    HANDLE handle;

    if (!(time->dwLowDateTime | time->dwHighDateTime)) return;
    handle = CreateFileW(path, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, 0, NULL);
    if (handle == INVALID_HANDLE_VALUE) return;
    SetFileTime(handle, time, NULL, time);
    CloseHandle(handle);
}

/* Requires: service lock; an upload-reply job in TRANSFERRED. What Complete does with the reply:
 * rename its temporary file to the reply file's name, or, when the server sent no reply, create
 * that file empty (BITS-SPEC.md §2.3: "empty if the server sent no reply"). */
static HRESULT plan_reply_locked(struct job *job, struct rename_step *reply)
{
    const struct engine_file *file = &job->xfer.reply;

    memset(reply, 0, sizeof(*reply));
    if (!file->local_name) return S_OK;
    if (!(reply->to = _wcsdup(file->local_name))) return E_OUTOFMEMORY;
    if (file->transferred && file->temp_name && !(reply->from = _wcsdup(file->temp_name)))
    {
        free(reply->to);
        reply->to = NULL;
        return E_OUTOFMEMORY;
    }
    return S_OK;
}

/* No lock held; the job is `finishing`. Puts the reply in place and acknowledges the job; a
 * failure leaves it TRANSFERRED (as a download's failed rename does) and is returned. */
static HRESULT complete_reply(struct job *job, struct rename_step *reply)
{
    HANDLE handle;
    HRESULT hr = S_OK;

    service_wait_idle(job->service, job);
    if (reply->from)
    {
        SetFileAttributesW(reply->from, FILE_ATTRIBUTE_NORMAL);
        if (!MoveFileExW(reply->from, reply->to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_COPY_ALLOWED))
            hr = hresult_from_last_error();
    }
    else if (reply->to)
    {
        handle = CreateFileW(reply->to, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (handle == INVALID_HANDLE_VALUE) hr = hresult_from_last_error();
        else CloseHandle(handle);
    }
    if (FAILED(hr)) WARN("could not put the reply at %s: %#lx.\n", debugstr_w(reply->to), hr);

    service_lock(job->service);
    job->finishing = FALSE;
    WakeAllConditionVariable(&job->service->idle);
    if (SUCCEEDED(hr))
    {
        job->xfer.reply.completed = TRUE;
        hr = job_finish_locked(job, BG_JOB_STATE_ACKNOWLEDGED);
    }
    else
        job_touch_locked(job);
    service_unlock(job->service);
    if (SUCCEEDED(hr))
    {
        service_drop_events(job->service, job);
        service_wait_idle(job->service, job);
        job_unhold(job);
    }
    free(reply->from);
    free(reply->to);
    return hr;
}

/* No lock held; nobody writes the files (the caller set the job's finishing flag). Renames in
 * order, up to the first failure or, with keep_going, all that can be: S_OK or the first
 * failure, *failed its file. */
static HRESULT run_renames(struct rename_step *steps, ULONG count, BOOL keep_going, struct engine_file **failed)
{
    HRESULT hr = S_OK, step_hr;
    ULONG i;

    *failed = NULL;
    for (i = 0; i < count && (keep_going || SUCCEEDED(hr)); ++i)
    {
        /* Our temporary files are hidden; the user's file is not. */
        SetFileAttributesW(steps[i].from, FILE_ATTRIBUTE_NORMAL);
        if (!MoveFileExW(steps[i].from, steps[i].to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_COPY_ALLOWED))
        {
            step_hr = hresult_from_last_error();
            WARN("could not rename %s to %s: %#lx.\n", debugstr_w(steps[i].from), debugstr_w(steps[i].to), step_hr);
            if (SUCCEEDED(hr))
            {
                hr = step_hr;
                *failed = steps[i].file;
            }
            continue;
        }
        steps[i].renamed = TRUE;
        set_file_time(steps[i].to, &steps[i].time);
    }
    return hr;
}

/* Requires: service lock. The renamed files are available; with in_place, so are the transferred
 * files written in place (they need no rename). Ends the finishing started by the caller. */
static void renames_done_locked(struct job *job, const struct rename_step *steps, ULONG count, BOOL in_place)
{
    ULONG i;

    job->finishing = FALSE;
    WakeAllConditionVariable(&job->service->idle);      /* callers waiting for the outcome */
    for (i = 0; i < count; ++i)
        if (steps[i].renamed) steps[i].file->completed = TRUE;
    for (i = 0; in_place && i < job->xfer.file_count; ++i)
        if (job->xfer.files[i]->transferred && !job->xfer.files[i]->temp_name) job->xfer.files[i]->completed = TRUE;
}

HRESULT WINAPI job_Complete(IBackgroundCopyJob5 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    struct engine_cleanup cleanup = { 0 };
    struct rename_step reply = { 0 };
    struct rename_step *steps = NULL;
    struct engine_file *failed;
    WCHAR **names = NULL;
    ULONG count = 0, deletes = 0;
    BOOL partial = FALSE;
    HRESULT hr, result = S_OK;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job)))
        ;
    else if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD)
    {
        /* Uploads complete only once transferred; the server has the file. An upload-reply's
         * reply goes into place first (complete_reply). */
        if (job->xfer.state != BG_JOB_STATE_TRANSFERRED) hr = BG_E_INVALID_STATE;
        else if (job->xfer.type == BG_JOB_TYPE_UPLOAD) hr = job_finish_locked(job, BG_JOB_STATE_ACKNOWLEDGED);
        else if (SUCCEEDED(hr = plan_reply_locked(job, &reply)))
        {
            job->finishing = TRUE;
            engine_stop_locked(&job->service->engine, &job->xfer, &cleanup);
        }
    }
    else if (SUCCEEDED(hr = plan_renames_locked(job, &steps, &count, &partial))
             && SUCCEEDED(hr = collect_temp_names_locked(job, FALSE, &names, &deletes)))
    {
        /* Downloads: transferred files are renamed to their names outside the lock (the
         * finishing flag keeps everyone else out meanwhile); unfinished ones are dropped. */
        job->finishing = TRUE;
        engine_stop_locked(&job->service->engine, &job->xfer, &cleanup);
    }
    service_unlock(job->service);

    if (job->xfer.type == BG_JOB_TYPE_UPLOAD_REPLY && SUCCEEDED(hr))
    {
        engine_cleanup(&job->service->engine, &cleanup);
        hr = complete_reply(job, &reply);
        goto done;
    }
    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD || FAILED(hr))
    {
        if (SUCCEEDED(hr))
        {
            service_drop_events(job->service, job);
            job_unhold(job);
        }
        goto done;
    }
    /* No worker may hold a temporary file open while it is renamed. */
    engine_cleanup(&job->service->engine, &cleanup);
    service_wait_idle(job->service, job);

    hr = run_renames(steps, count, FALSE, &failed);

    service_lock(job->service);
    renames_done_locked(job, steps, count, SUCCEEDED(hr));
    if (SUCCEEDED(hr))
        hr = job_finish_locked(job, BG_JOB_STATE_ACKNOWLEDGED);
    else
    {
        /* It stays where it was (renamed files stay available), and carries on if it was
         * transferring. */
        engine_continue_locked(&job->service->engine, &job->xfer);
        job_touch_locked(job);
    }
    service_unlock(job->service);
    service_wake(job->service, FALSE);

    if (SUCCEEDED(hr))
    {
        result = delete_temp_files(names, deletes);
        names = NULL;
        service_drop_events(job->service, job);
        service_wait_idle(job->service, job);
        job_unhold(job);
        /* Both are success codes; the one about files left behind wins (unconfirmed). */
        if (result == S_OK && partial) result = BG_S_PARTIAL_COMPLETE;
        hr = result;
    }

done:
    if (names) free_names(names, deletes);
    free_renames(steps, count);
    return hr;
}

HRESULT job_deliver_files(struct job *job, BOOL fail_job)
{
    struct engine_cleanup cleanup = { 0 };
    struct rename_step *steps = NULL;
    struct engine_file *failed = NULL;
    ULONG count = 0;
    BOOL partial;
    HRESULT hr;

    service_lock(job->service);
    /* After a Complete or delivery in progress; and after the worker that wrote the last bytes
     * has closed its file (it is busy until then). */
    while (SUCCEEDED(hr = job_check_modifiable_locked(job)) && (job->xfer.running || job->busy))
        SleepConditionVariableSRW(&job->service->idle, &job->service->lock, INFINITE, 0);
    if (SUCCEEDED(hr) && job->xfer.type != BG_JOB_TYPE_DOWNLOAD)
        hr = E_NOTIMPL;                   /* never a group's */
    if (SUCCEEDED(hr) && SUCCEEDED(hr = plan_renames_locked(job, &steps, &count, &partial)))
        job->finishing = TRUE;
    service_unlock(job->service);
    if (FAILED(hr)) return hr;

    hr = run_renames(steps, count, TRUE, &failed);

    service_lock(job->service);
    renames_done_locked(job, steps, count, TRUE);
    if (FAILED(hr) && fail_job)
    {
        struct transfer_error error = { BG_ERROR_CONTEXT_LOCAL_FILE, hr, NULL };
        engine_fail_locked(&job->service->engine, &job->xfer, BG_JOB_STATE_ERROR, &error, failed, &cleanup);
    }
    if (count) job_touch_locked(job);
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    if (FAILED(hr) && fail_job) service_wake(job->service, FALSE);    /* a worker tells of the error */
    free_renames(steps, count);
    return hr;
}

HRESULT WINAPI job_GetProgress(IBackgroundCopyJob5 *iface, BG_JOB_PROGRESS *progress)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    ULONG i;

    TRACE("%p, %p.\n", iface, progress);
    if (!progress) return E_INVALIDARG;
    memset(progress, 0, sizeof(*progress));
    service_lock(job->service);
    progress->FilesTotal = job->xfer.file_count;
    for (i = 0; i < job->xfer.file_count; ++i)
    {
        const struct engine_file *file = job->xfer.files[i];
        if (file->transferred) ++progress->FilesTransferred;
        progress->BytesTransferred += file->bytes_transferred;
        /* BG_SIZE_UNKNOWN while the size of any file is unknown. */
        if (file->bytes_total == BG_SIZE_UNKNOWN || progress->BytesTotal == BG_SIZE_UNKNOWN)
            progress->BytesTotal = BG_SIZE_UNKNOWN;
        else
            progress->BytesTotal += file->bytes_total;
    }
    service_unlock(job->service);
    return S_OK;
}

HRESULT WINAPI job_GetError(IBackgroundCopyJob5 *iface, IBackgroundCopyError **error)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    IBackgroundCopyFile *file = NULL;
    BG_ERROR_CONTEXT context = 0;
    WCHAR *protocol = NULL;
    HRESULT hr = S_OK, code = S_OK;

    TRACE("%p, %p.\n", iface, error);
    if (!error) return E_INVALIDARG;
    *error = NULL;
    service_lock(job->service);
    /* The error exists from the entry into ERROR / TRANSIENT_ERROR until the job transfers
     * again; in every other state there is none. */
    if ((job->xfer.state != BG_JOB_STATE_ERROR && job->xfer.state != BG_JOB_STATE_TRANSIENT_ERROR) || !job->xfer.error.set)
        hr = BG_E_ERROR_INFORMATION_UNAVAILABLE;
    else if (SUCCEEDED(hr = job_copy_string(job->xfer.error.protocol, &protocol)))
    {
        context = job->xfer.error.context;
        code = job->xfer.error.code;
        if (job->xfer.error.file)
        {
            file = file_iface(file_from_engine(job->xfer.error.file));
            IBackgroundCopyFile_AddRef(file);
        }
    }
    service_unlock(job->service);
    if (SUCCEEDED(hr)) hr = copy_error_create(context, code, file, protocol, error);
    if (file) IBackgroundCopyFile_Release(file);
    free(protocol);
    return hr;
}

HRESULT WINAPI job_ReplaceRemotePrefix(IBackgroundCopyJob5 *iface, LPCWSTR old_prefix, LPCWSTR new_prefix)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    struct engine_cleanup cleanup = { 0 };
    WCHAR **names = NULL;
    enum remote_kind *kinds = NULL;
    size_t old_len, new_len;
    ULONG i, matched = 0;
    HRESULT hr;

    TRACE("%p, %s, %s.\n", iface, debugstr_w(old_prefix), debugstr_w(new_prefix));
    if (job->xfer.type != BG_JOB_TYPE_DOWNLOAD) return E_NOTIMPL;
    if (FAILED(hr = validate_remote_prefixes(old_prefix, new_prefix))) return hr;
    old_len = wcslen(old_prefix);
    new_len = wcslen(new_prefix);

    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job)))
        goto unlock;
    hr = E_OUTOFMEMORY;
    if (job->xfer.file_count && (!(names = calloc(job->xfer.file_count, sizeof(*names)))
                            || !(kinds = calloc(job->xfer.file_count, sizeof(*kinds)))))
        goto unlock;
    /* Every rewritten name is built and checked first: all files change, or none. */
    hr = S_OK;
    for (i = 0; SUCCEEDED(hr) && i < job->xfer.file_count; ++i)
    {
        const struct engine_file *file = job->xfer.files[i];
        size_t rest;

        if (wcsncmp(file->remote_name, old_prefix, old_len)) continue;      /* case-sensitive */
        rest = wcslen(file->remote_name + old_len);
        if (!(names[i] = malloc((new_len + rest + 1) * sizeof(WCHAR)))) { hr = E_OUTOFMEMORY; break; }
        memcpy(names[i], new_prefix, new_len * sizeof(WCHAR));
        memcpy(names[i] + new_len, file->remote_name + old_len, (rest + 1) * sizeof(WCHAR));
        if (FAILED(validate_remote_name(names[i], &kinds[i]))
            || (file->range_count && !is_http(kinds[i])))
            hr = E_INVALIDARG;
        ++matched;
    }
    if (SUCCEEDED(hr) && matched)
    {
        for (i = 0; i < job->xfer.file_count; ++i)
        {
            struct engine_file *file = job->xfer.files[i];
            WCHAR *old;
            if (!names[i]) continue;
            old = file->remote_name;
            file->remote_name = names[i];
            file->kind = kinds[i];
            file->no_range_support = FALSE;
            names[i] = old;
        }
        /* A transfer in flight continues from the new place. */
        engine_void_locked(&job->service->engine, &job->xfer, &cleanup);
        job_touch_locked(job);
    }
    else if (SUCCEEDED(hr))
        hr = S_FALSE;                   /* nothing matched */
unlock:
    service_unlock(job->service);
    engine_cleanup(&job->service->engine, &cleanup);
    if (hr == S_OK) service_wake(job->service, FALSE);
    for (i = 0; names && i < job->xfer.file_count; ++i) free(names[i]);
    free(names);
    free(kinds);
    return hr;
}

HRESULT WINAPI job_SetReplyFileName(IBackgroundCopyJob5 *iface, LPCWSTR name)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    WCHAR *copy = NULL;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(name));
    /* Only upload-reply jobs have a reply (unconfirmed for the others, like the other reply
     * methods). */
    if (job->xfer.type != BG_JOB_TYPE_UPLOAD_REPLY) return E_NOTIMPL;
    /* NULL or L"": back to a name BITS generates. */
    if (name && *name)
    {
        if (FAILED(validate_local_name(name))) return E_INVALIDARG;
        if (FAILED(hr = check_local_directory(name))) return hr;
        if (FAILED(hr = job_copy_string(name, &copy))) return hr;
    }

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        /* Once the server named the reply, its download has begun (into a temporary file
         * beside the reply file's name): too late (unconfirmed: BITS-SPEC.md §2.3 says once
         * the reply's size is known). */
        if (job->xfer.reply.remote_name || job->xfer.reply.bytes_total != BG_SIZE_UNKNOWN)
            hr = BG_E_INVALID_STATE;
        else
        {
            WCHAR *old = job->xfer.reply.local_name;
            job->xfer.reply.local_name = copy;
            copy = old;
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    free(copy);
    return hr;
}

HRESULT WINAPI job_GetReplyData(IBackgroundCopyJob5 *iface, byte **buffer, UINT64 *length)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);
    HRESULT hr = S_OK;

    TRACE("%p, %p, %p.\n", iface, buffer, length);
    if (job->xfer.type != BG_JOB_TYPE_UPLOAD_REPLY) return E_NOTIMPL;
    if (!buffer || !length) return E_INVALIDARG;
    *buffer = NULL;
    *length = 0;
    service_lock(job->service);
    /* The reply is there once the job is TRANSFERRED, and stays readable after Complete
     * (unconfirmed: the page says both). */
    if (job->xfer.state != BG_JOB_STATE_TRANSFERRED && job->xfer.state != BG_JOB_STATE_ACKNOWLEDGED)
        hr = BG_E_INVALID_STATE;
    else if (job->xfer.reply_size > MAX_REPLY_DATA)
    {
        *length = job->xfer.reply_size;
        hr = BG_E_TOO_LARGE;
    }
    else if (job->xfer.reply_size)
    {
        /* Our allocator, at most 1 MiB: no callout. */
        if (!job->xfer.reply_data || !(*buffer = CoTaskMemAlloc(job->xfer.reply_size))) hr = E_OUTOFMEMORY;
        else
        {
            memcpy(*buffer, job->xfer.reply_data, job->xfer.reply_size);
            *length = job->xfer.reply_size;
        }
    }
    /* No reply from the server: S_OK with NULL. */
    service_unlock(job->service);
    return hr;
}

HRESULT WINAPI job_GetReplyProgress(IBackgroundCopyJob5 *iface, BG_JOB_REPLY_PROGRESS *progress)
{
    struct job *job = impl_from_IBackgroundCopyJob5(iface);

    TRACE("%p, %p.\n", iface, progress);
    if (job->xfer.type != BG_JOB_TYPE_UPLOAD_REPLY) return E_NOTIMPL;
    if (!progress) return E_INVALIDARG;
    service_lock(job->service);
    progress->BytesTotal = job->xfer.reply.bytes_total;
    progress->BytesTransferred = job->xfer.reply.bytes_transferred;
    service_unlock(job->service);
    return S_OK;
}
