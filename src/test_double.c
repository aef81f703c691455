/* SPDX-License-Identifier: MIT */
/* The test double (see test_double.h and docs/test-double.md).
 *
 * Clock: real time is GetTickCount64() + skew; virtual time is a counter only AdvanceTime moves.
 * Switching keeps the clock monotonic (the skew takes up what virtual time added), so retry
 * times and timeouts already set stay valid. The system time (GetTimes) moves with it.
 *
 * Scripted transport: one front per remote kind, in engine->transports, with the real transport
 * behind it. open() journals the request and asks the script (src/core/script.c) for the first
 * matching rule: a rule answers itself; no rule goes to the real transport, or fails when the test
 * said so. A throttled read waits for the clock on `time_changed` (the service lock's condition):
 * in virtual time until AdvanceTime reaches its due time, in real time for real.
 *
 * Waits: "idle" is when nothing can happen without time passing: every worker asleep or in a
 * throttled read that is not due, nothing the engine could do now (engine_has_work_locked), no
 * event to deliver. RunUntilIdle, WaitForJobState and AdvanceTime wait for it with
 * CoWaitForMultipleHandles, so an STA caller keeps pumping the callbacks delivered to it.
 *
 * Everything in struct test_double is guarded by the service lock. */
#include <stdio.h>
#include <stdlib.h>

#include "engine_host.h"
#include "job.h"
#include "openbits_control.h"
#include "test_double.h"
#include "transport.h"

#define SETTLE_TIMEOUT_MS  60000          /* AdvanceTime's bound on each wait for idle */
#define MAX_CONTENT_FILE   (256u * 1024 * 1024)

/* A stream waiting for the clock. */
struct time_waiter
{
    struct time_waiter *next;
    UINT64 due;
    const LONG *aborted;
};

/* A thread waiting for idle or a job state. */
struct idle_waiter
{
    struct idle_waiter *next;
    HANDLE event;                         /* auto-reset, set by test_double_changed_locked */
};

struct front
{
    struct test_double *double_;
    enum remote_kind kind;
    struct transport real;
};

struct test_double
{
    struct service *service;              /* not counted: the double is part of the service */
    BOOL virtual_time;
    UINT64 virtual_now;                   /* virtual time's clock */
    INT64 skew;                           /* real time's: GetTickCount64() + skew */
    struct script script;
    struct time_waiter *time_waiters;
    struct idle_waiter *idle_waiters;
    CONDITION_VARIABLE time_changed;      /* throttled reads sleep here */
    struct front fronts[REMOTE_LOCAL_PATH + 1];
};

/* A scenario file read and checked: rules ready to add, settings to apply. */
struct test_double_scenario
{
    struct script_rule **rules;
    size_t count;
    BOOL time_set, virtual_time, unmatched_set, fail_unmatched;
    HRESULT unmatched_error;
};

static const WCHAR default_verb[] = L"GET";

/* --- clock ---------------------------------------------------------------------------------- */

static UINT64 double_now(struct test_double *td)
{
    if (__atomic_load_n(&td->virtual_time, __ATOMIC_ACQUIRE)) return __atomic_load_n(&td->virtual_now, __ATOMIC_ACQUIRE);
    return GetTickCount64() + __atomic_load_n(&td->skew, __ATOMIC_ACQUIRE);
}

static UINT64 clock_now(void *context)
{
    return double_now(context);
}

static void clock_system_time(void *context, FILETIME *time)
{
    struct test_double *td = context;
    ULARGE_INTEGER value;
    INT64 offset = (INT64)(double_now(td) - GetTickCount64());

    GetSystemTimeAsFileTime(time);
    value.LowPart = time->dwLowDateTime;
    value.HighPart = time->dwHighDateTime;
    value.QuadPart += offset * 10000;
    time->dwLowDateTime = value.LowPart;
    time->dwHighDateTime = value.HighPart;
}

static const struct engine_clock_ops double_clock_ops = { clock_now, clock_system_time };

/* --- waiters --------------------------------------------------------------------------------- */

void test_double_changed_locked(struct service *service)
{
    struct test_double *td = service->test_double;
    struct idle_waiter *waiter;

    if (!td) return;
    for (waiter = td->idle_waiters; waiter; waiter = waiter->next) SetEvent(waiter->event);
}

DWORD test_double_worker_wait_locked(struct service *service, DWORD wait)
{
    struct test_double *td = service->test_double;

    return td && td->virtual_time ? INFINITE : wait;
}

/* Requires: service lock. The earliest time something falls due: a retry, a timeout, a
 * notification to deliver again, a throttled read; ~0 when nothing will. */
static UINT64 next_due_locked(struct test_double *td, UINT64 now)
{
    struct service *service = td->service;
    UINT64 next = engine_next_due_locked(&service->engine, now);
    struct service_event *event;
    struct time_waiter *waiter;

    for (event = service->delayed; event; event = event->next)
        if (event->due < next) next = event->due;
    for (waiter = td->time_waiters; waiter; waiter = waiter->next)
        if (waiter->due < next) next = waiter->due;
    return next;
}

/* Requires: service lock. */
static BOOL idle_locked(struct test_double *td)
{
    struct service *service = td->service;
    UINT64 now = double_now(td);
    struct time_waiter *waiter;
    ULONG blocked = 0;

    for (waiter = td->time_waiters; waiter; waiter = waiter->next)
        if (waiter->due > now && !__atomic_load_n(waiter->aborted, __ATOMIC_ACQUIRE)) ++blocked;
    if (service->workers_awake != blocked || service->events) return FALSE;
    if (next_due_locked(td, now) <= now) return FALSE;
    return !engine_has_work_locked(&service->engine, now);
}

/* Waits (bounded, pumping messages) until done() is TRUE under the lock. */
static HRESULT wait_until(struct test_double *td, BOOL (*done)(struct test_double *td, void *context),
                          void *context, DWORD timeout)
{
    struct service *service = td->service;
    struct idle_waiter waiter, **link;
    ULONGLONG start = GetTickCount64();
    HRESULT hr;

    if (!(waiter.event = CreateEventW(NULL, FALSE, FALSE, NULL))) return hresult_from_last_error();
    service_lock(service);
    waiter.next = td->idle_waiters;
    td->idle_waiters = &waiter;
    for (;;)
    {
        ULONGLONG elapsed = GetTickCount64() - start;
        DWORD index;

        if (done(td, context))
        {
            hr = S_OK;
            break;
        }
        if (timeout != INFINITE && elapsed >= timeout)
        {
            hr = HRESULT_FROM_WIN32(ERROR_TIMEOUT);
            break;
        }
        service_unlock(service);
        hr = CoWaitForMultipleHandles(0, timeout == INFINITE ? INFINITE : (DWORD)(timeout - elapsed), 1,
                                      &waiter.event, &index);
        if (FAILED(hr) && hr != RPC_S_CALLPENDING)
            WaitForSingleObject(waiter.event, timeout == INFINITE ? INFINITE : (DWORD)(timeout - elapsed));
        service_lock(service);
    }
    for (link = &td->idle_waiters; *link != &waiter; link = &(*link)->next) {}
    *link = waiter.next;
    service_unlock(service);
    CloseHandle(waiter.event);
    return hr;
}

static BOOL is_idle(struct test_double *td, void *context)
{
    return idle_locked(td);
}

HRESULT test_double_run_until_idle(struct service *service, DWORD timeout)
{
    return wait_until(service->test_double, is_idle, NULL, timeout);
}

struct job_wait
{
    struct job *job;
    BG_JOB_STATE state, reached;
    BOOL idle;
};

static BOOL job_reached(struct test_double *td, void *context)
{
    struct job_wait *wait = context;

    wait->reached = wait->job->xfer.state;
    if (wait->reached == wait->state) return TRUE;
    /* In virtual time an idle service stays where it is until time is advanced. */
    return (wait->idle = td->virtual_time && idle_locked(td));
}

HRESULT test_double_wait_job(struct service *service, const GUID *id, BG_JOB_STATE state, DWORD timeout,
                             BG_JOB_STATE *reached)
{
    struct job_wait wait = { NULL, state, state, FALSE };
    struct queue_entry *entry;
    HRESULT hr;

    service_lock(service);
    if ((entry = queue_find(&service->jobs, id)))
    {
        wait.job = CONTAINING_RECORD(entry, struct job, entry);
        job_hold(wait.job);
    }
    service_unlock(service);
    if (!wait.job) return BG_E_NOT_FOUND;

    hr = wait_until(service->test_double, job_reached, &wait, timeout);
    job_unhold(wait.job);
    *reached = wait.reached;
    if (SUCCEEDED(hr) && wait.reached != state) hr = OPENBITS_E_IDLE;
    return hr;
}

/* --- time ------------------------------------------------------------------------------------ */

HRESULT test_double_set_virtual(struct service *service, BOOL virtual_time)
{
    struct test_double *td = service->test_double;

    service_lock(service);
    if (virtual_time && !td->virtual_time)
    {
        __atomic_store_n(&td->virtual_now, GetTickCount64() + td->skew, __ATOMIC_RELEASE);
        __atomic_store_n(&td->virtual_time, TRUE, __ATOMIC_RELEASE);
    }
    else if (!virtual_time && td->virtual_time)
    {
        UINT64 real = GetTickCount64();
        /* Never backwards: the skew takes up what virtual time added. */
        if ((INT64)(td->virtual_now - real) > td->skew) __atomic_store_n(&td->skew, (INT64)(td->virtual_now - real), __ATOMIC_RELEASE);
        __atomic_store_n(&td->virtual_time, FALSE, __ATOMIC_RELEASE);
    }
    /* Sleepers recompute their waits on the new clock. */
    WakeAllConditionVariable(&service->work);
    WakeAllConditionVariable(&td->time_changed);
    test_double_changed_locked(service);
    service_unlock(service);
    return S_OK;
}

BOOL test_double_is_virtual(struct service *service)
{
    return __atomic_load_n(&service->test_double->virtual_time, __ATOMIC_ACQUIRE);
}

/* Requires: service lock. Moves virtual time to `now` and wakes whatever may be due. */
static void set_now_locked(struct test_double *td, UINT64 now)
{
    if (now > td->virtual_now) __atomic_store_n(&td->virtual_now, now, __ATOMIC_RELEASE);
    WakeAllConditionVariable(&td->service->work);
    WakeAllConditionVariable(&td->time_changed);
    test_double_changed_locked(td->service);
}

HRESULT test_double_advance(struct service *service, UINT64 ms)
{
    struct test_double *td = service->test_double;
    UINT64 target, next;
    HRESULT hr;

    service_lock(service);
    if (!td->virtual_time)
    {
        service_unlock(service);
        return HRESULT_FROM_WIN32(ERROR_INVALID_STATE);
    }
    target = ms > ~(UINT64)0 - td->virtual_now ? ~(UINT64)0 : td->virtual_now + ms;
    service_unlock(service);

    /* One due time after another, each run to idle before the next: retries, timeouts and
     * notifications fire in order, each seeing what the earlier ones did. */
    for (;;)
    {
        if (FAILED(hr = wait_until(td, is_idle, NULL, SETTLE_TIMEOUT_MS))) return hr;
        service_lock(service);
        if (!td->virtual_time)
        {
            service_unlock(service);
            return HRESULT_FROM_WIN32(ERROR_INVALID_STATE);
        }
        next = next_due_locked(td, td->virtual_now);
        if (next > target) break;
        set_now_locked(td, next);
        service_unlock(service);
    }
    set_now_locked(td, target);
    service_unlock(service);
    return wait_until(td, is_idle, NULL, SETTLE_TIMEOUT_MS);
}

/* --- the scripted transport ---------------------------------------------------------------------- */

struct double_stream
{
    struct test_double *double_;
    BOOL scripted;
    struct script_stream script;          /* scripted: the rule's answer */
    const struct transport_ops *real_ops; /* else the real transport's stream */
    struct transport_stream *real;        /* set once (atomic), maybe while it is being opened */
    UINT64 seq;                           /* its journal entry */
    LONG aborted;
};

/* The real transport's stream, published by it (or after its open()): an abort that came
 * before reaches it here. */
static void front_opening(void *context, struct transport_stream *real)
{
    struct double_stream *stream = context;

    if (__atomic_load_n(&stream->real, __ATOMIC_SEQ_CST) == real) return;
    __atomic_store_n(&stream->real, real, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&stream->aborted, __ATOMIC_SEQ_CST)) stream->real_ops->abort(real);
}

static HRESULT front_open(void *context, const struct transport_request *request, struct transport_stream **out,
                          struct transport_response *response, struct transfer_error *error)
{
    struct front *front = context;
    struct test_double *td = front->double_;
    struct service *service = td->service;
    const struct transfer_options *options = request->options;
    struct script_request *entry;
    struct double_stream *stream;
    struct script_rule *rule;
    BOOL fail = FALSE;
    WCHAR *headers;
    HRESULT hr;

    *out = NULL;
    if (!(stream = calloc(1, sizeof(*stream))))
    {
        error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
        error->code = E_OUTOFMEMORY;
        return E_OUTOFMEMORY;
    }
    stream->double_ = td;
    headers = script_request_headers(options ? options->custom_headers : NULL, request->offset, request->length,
                                     request->if_modified);

    service_lock(service);
    if (FAILED(script_journal_add(&td->script.journal, options && options->http_method ? options->http_method : default_verb,
                                  request->url, headers, request->offset, request->length, &stream->seq)))
        ERR("no memory to journal a request for %s.\n", debugstr_w(request->url));
    if ((rule = script_match(&td->script, request->url)))
    {
        stream->scripted = TRUE;
        hr = script_open(rule, request, double_now(td), &stream->script, response, error);
        if ((entry = script_journal_get(&td->script.journal, stream->seq))) entry->rule = rule->id;
        script_rule_release(rule);
    }
    else if ((fail = td->script.fail_unmatched))
    {
        hr = td->script.unmatched_error;
        error->code = hr;
        error->context = script_error_context(hr);
        error->protocol = front->kind == REMOTE_HTTP || front->kind == REMOTE_HTTPS ? L"http" : L"file";
    }
    service_unlock(service);

    if (!rule && !fail)
    {
        struct transport_request inner = *request;
        struct transport_stream *real = NULL;

        /* The engine may abort a request still being opened: it gets this stream at once, and
         * this stream the real one as soon as the real transport has it. */
        stream->real_ops = front->real.ops;
        if (request->opening)
        {
            inner.opening = front_opening;
            inner.opening_context = stream;
            request->opening(request->opening_context, (struct transport_stream *)stream);
        }
        hr = front->real.ops->open(front->real.context, &inner, &real, response, error);
        if (real) front_opening(stream, real);
    }

    service_lock(service);
    if ((entry = script_journal_get(&td->script.journal, stream->seq))) entry->result = hr;
    test_double_changed_locked(service);
    service_unlock(service);
    if (FAILED(hr) && !(stream->real_ops && request->opening))
    {
        free(stream);
        return hr;
    }
    *out = (struct transport_stream *)stream;      /* on a failure, published: the caller's */
    return hr;
}

static HRESULT front_read(struct transport_stream *iface, void *buffer, DWORD size, DWORD *read,
                          struct transfer_error *error)
{
    struct double_stream *stream = (struct double_stream *)iface;
    struct test_double *td = stream->double_;
    struct service *service = td->service;
    struct script_request *entry;
    HRESULT hr = S_OK;

    *read = 0;
    if (!stream->scripted)
        hr = stream->real_ops->read(stream->real, buffer, size, read, error);

    service_lock(service);
    while (stream->scripted)
    {
        struct time_waiter waiter, **link;
        UINT64 now = double_now(td), due;

        if (__atomic_load_n(&stream->aborted, __ATOMIC_ACQUIRE))
        {
            error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
            error->code = hr = E_ABORT;
            break;
        }
        if ((hr = script_read(&stream->script, buffer, size, now, read, &due, error)) != S_FALSE) break;

        /* Throttled: wait for the clock (AdvanceTime in virtual time). */
        waiter.due = due;
        waiter.aborted = &stream->aborted;
        waiter.next = td->time_waiters;
        td->time_waiters = &waiter;
        test_double_changed_locked(service);
        SleepConditionVariableSRW(&td->time_changed, &service->lock,
                                  td->virtual_time ? INFINITE : (DWORD)min(due - now, 1000), 0);
        for (link = &td->time_waiters; *link != &waiter; link = &(*link)->next) {}
        *link = waiter.next;
    }
    if ((entry = script_journal_get(&td->script.journal, stream->seq)))
    {
        entry->bytes += *read;
        if (FAILED(hr) && hr != E_ABORT) entry->result = hr;
    }
    service_unlock(service);
    return hr;
}

/* Called with the service lock held: no waiting, no lock. */
static void front_abort(struct transport_stream *iface)
{
    struct double_stream *stream = (struct double_stream *)iface;
    struct transport_stream *real;

    __atomic_store_n(&stream->aborted, 1, __ATOMIC_SEQ_CST);
    if (!stream->scripted)
    {
        if ((real = __atomic_load_n(&stream->real, __ATOMIC_SEQ_CST))) stream->real_ops->abort(real);
        return;
    }
    WakeAllConditionVariable(&stream->double_->time_changed);
}

static void front_close(struct transport_stream *iface)
{
    struct double_stream *stream = (struct double_stream *)iface;
    struct service *service = stream->double_->service;

    if (!stream->scripted)
    {
        if (stream->real) stream->real_ops->close(stream->real);
    }
    else
    {
        service_lock(service);
        script_stream_close(&stream->script);
        service_unlock(service);
    }
    free(stream);
}

/* Upload packets (BITS-SPEC.md §9): journaled like requests (the verb, the URL, the packet's
 * headers, the body's size as the length) and carried by the real transport. Rules do not
 * answer them yet: a packet whose URL a rule matches, or any packet while unmatched requests
 * fail, fails as an unmatched request does. */
static HRESULT front_post_open(void *context, const struct transport_packet *packet, struct transport_stream **out,
                               void **body, struct transfer_error *error)
{
    struct front *front = context;
    struct test_double *td = front->double_;
    struct service *service = td->service;
    const struct transfer_options *options = packet->options;
    struct script_request *entry;
    struct double_stream *stream;
    struct script_rule *rule;
    WCHAR *headers = NULL;
    BOOL fail;
    HRESULT hr;

    *out = NULL;
    *body = NULL;
    error->protocol = L"http";
    if (!front->real.ops->post_open || !(stream = calloc(1, sizeof(*stream))))
    {
        error->context = BG_ERROR_CONTEXT_GENERAL_TRANSPORT;
        error->code = front->real.ops->post_open ? E_OUTOFMEMORY : E_INVALIDARG;
        return error->code;
    }
    stream->double_ = td;
    if (packet->headers) headers = _wcsdup(packet->headers);

    service_lock(service);
    if (FAILED(script_journal_add(&td->script.journal, options && options->http_method ? options->http_method : packet->verb,
                                  packet->url, headers, 0, packet->body_size, &stream->seq)))
        ERR("no memory to journal a packet for %s.\n", debugstr_w(packet->url));
    if ((rule = script_match(&td->script, packet->url))) script_rule_release(rule);
    fail = rule || td->script.fail_unmatched;
    service_unlock(service);

    if (fail)
    {
        hr = error->code = td->script.unmatched_error;
        error->context = script_error_context(hr);
    }
    else
    {
        stream->real_ops = front->real.ops;
        hr = front->real.ops->post_open(front->real.context, packet, &stream->real, body, error);
    }

    service_lock(service);
    if ((entry = script_journal_get(&td->script.journal, stream->seq))) entry->result = hr;
    test_double_changed_locked(service);
    service_unlock(service);
    if (FAILED(hr))
    {
        free(stream);
        return hr;
    }
    *out = (struct transport_stream *)stream;
    return S_OK;
}

static HRESULT front_post_send(struct transport_stream *iface, struct transport_reply *reply,
                               struct transfer_error *error)
{
    struct double_stream *stream = (struct double_stream *)iface;
    struct service *service = stream->double_->service;
    struct script_request *entry;
    HRESULT hr = stream->real_ops->post_send(stream->real, reply, error);

    service_lock(service);
    if ((entry = script_journal_get(&stream->double_->script.journal, stream->seq)) && FAILED(hr) && hr != E_ABORT)
        entry->result = hr;
    test_double_changed_locked(service);
    service_unlock(service);
    return hr;
}

static const struct transport_ops front_ops =
{
    front_open, front_read, front_abort, front_close, front_post_open, front_post_send,
};

/* --- rules ----------------------------------------------------------------------------------------- */

static HRESULT read_file(const WCHAR *path, BYTE **data, size_t *size)
{
    LARGE_INTEGER length;
    HANDLE file;
    DWORD done;
    HRESULT hr = S_OK;

    *data = NULL;
    *size = 0;
    file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
    if (file == INVALID_HANDLE_VALUE) return hresult_from_last_error();
    if (!GetFileSizeEx(file, &length)) hr = hresult_from_last_error();
    else if (length.QuadPart > MAX_CONTENT_FILE) hr = HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
    else if (length.QuadPart && !(*data = malloc(length.QuadPart))) hr = E_OUTOFMEMORY;
    else if (length.QuadPart && (!ReadFile(file, *data, (DWORD)length.QuadPart, &done, NULL) || done != length.QuadPart))
        hr = FAILED(hresult_from_last_error()) ? hresult_from_last_error() : HRESULT_FROM_WIN32(ERROR_READ_FAULT);
    CloseHandle(file);
    if (FAILED(hr))
    {
        free(*data);
        *data = NULL;
        return hr;
    }
    *size = (size_t)length.QuadPart;
    return S_OK;
}

/* A rule from a spec, with the content of content_file (when set) read in. */
static HRESULT make_rule(const struct script_rule_spec *spec, const WCHAR *content_file, struct script_rule **rule,
                         const char **reason)
{
    struct script_rule_spec copy = *spec;
    BYTE *data = NULL;
    size_t size;
    HRESULT hr;

    *reason = NULL;
    if (content_file)
    {
        if (spec->content_size)
        {
            *reason = "both content and a content file";
            return E_INVALIDARG;
        }
        if (FAILED(hr = read_file(content_file, &data, &size)))
        {
            *reason = "the content file cannot be read";
            return hr;
        }
        copy.content = data;
        copy.content_size = size;
    }
    hr = script_rule_create(&copy, rule, reason);
    free(data);
    return hr;
}

HRESULT test_double_add_rule(struct service *service, const struct script_rule_spec *spec,
                             const WCHAR *content_file, ULONG *id)
{
    struct test_double *td = service->test_double;
    struct script_rule *rule;
    const char *reason;
    HRESULT hr;

    *id = 0;
    if (FAILED(hr = make_rule(spec, content_file, &rule, &reason)))
    {
        WARN("rule %s refused: %s.\n", debugstr_w(spec->pattern), reason ? reason : "no memory");
        return hr;
    }
    service_lock(service);
    script_add(&td->script, rule);
    *id = rule->id;
    service_unlock(service);
    return S_OK;
}

HRESULT test_double_remove_rule(struct service *service, ULONG id)
{
    HRESULT hr;

    service_lock(service);
    hr = script_remove(&service->test_double->script, id);
    service_unlock(service);
    return hr == S_OK ? S_OK : E_INVALIDARG;
}

void test_double_clear_rules(struct service *service)
{
    service_lock(service);
    script_remove_all(&service->test_double->script);
    service_unlock(service);
}

void test_double_set_unmatched(struct service *service, BOOL fail, HRESULT error)
{
    service_lock(service);
    service->test_double->script.fail_unmatched = fail;
    service->test_double->script.unmatched_error = error;
    service_unlock(service);
}

/* --- the journal ------------------------------------------------------------------------------------ */

HRESULT test_double_journal_count(struct service *service, DWORD *count)
{
    service_lock(service);
    *count = (DWORD)service->test_double->script.journal.count;
    service_unlock(service);
    return S_OK;
}

static WCHAR *task_strdup(const WCHAR *str, BOOL *failed)
{
    size_t size;
    WCHAR *copy;

    if (!str) return NULL;
    size = (wcslen(str) + 1) * sizeof(WCHAR);
    if (!(copy = CoTaskMemAlloc(size))) *failed = TRUE;
    else memcpy(copy, str, size);
    return copy;
}

HRESULT test_double_journal_entry(struct service *service, DWORD index, struct script_request *copy)
{
    struct script_journal *journal = &service->test_double->script.journal;
    BOOL failed = FALSE;

    memset(copy, 0, sizeof(*copy));
    service_lock(service);
    if (index >= journal->count)
    {
        service_unlock(service);
        return S_FALSE;
    }
    *copy = journal->entries[index];
    /* CoTaskMemAlloc is memory, no callout. */
    copy->verb = task_strdup(copy->verb, &failed);
    copy->url = task_strdup(copy->url, &failed);
    copy->headers = task_strdup(copy->headers, &failed);
    service_unlock(service);
    if (failed)
    {
        CoTaskMemFree(copy->verb);
        CoTaskMemFree(copy->url);
        CoTaskMemFree(copy->headers);
        memset(copy, 0, sizeof(*copy));
        return E_OUTOFMEMORY;
    }
    return S_OK;
}

void test_double_clear_journal(struct service *service)
{
    service_lock(service);
    script_journal_clear(&service->test_double->script.journal);
    service_unlock(service);
}

/* --- scenario files ---------------------------------------------------------------------------------- */

static void scenario_free_prepared(struct test_double_scenario *prepared)
{
    size_t i;

    if (!prepared) return;
    for (i = 0; i < prepared->count; ++i) script_rule_release(prepared->rules[i]);
    free(prepared->rules);
    free(prepared);
}

/* A double-NUL-terminated list from one of the INI API's calls, grown until it fits. */
static WCHAR *profile_list(const WCHAR *section, const WCHAR *path)
{
    DWORD size = 4096, got;
    WCHAR *buffer = NULL, *bigger;

    for (;;)
    {
        if (!(bigger = realloc(buffer, size * sizeof(WCHAR))))
        {
            free(buffer);
            return NULL;
        }
        buffer = bigger;
        got = section ? GetPrivateProfileSectionW(section, buffer, size, path)
                      : GetPrivateProfileSectionNamesW(buffer, size, path);
        if (got < size - 2) break;
        size *= 2;
    }
    buffer[got] = buffer[got + 1] = 0;
    return buffer;
}

/* Content files are named relative to the scenario's directory unless absolute. */
static WCHAR *content_path(const WCHAR *scenario, const WCHAR *name)
{
    size_t dir_len = 0, i;
    WCHAR *path;

    if (name[0] == '\\' || name[0] == '/' || (name[0] && name[1] == ':')) return _wcsdup(name);
    for (i = 0; scenario[i]; ++i)
        if (scenario[i] == '\\' || scenario[i] == '/') dir_len = i + 1;
    if (!(path = malloc((dir_len + wcslen(name) + 1) * sizeof(WCHAR)))) return NULL;
    memcpy(path, scenario, dir_len * sizeof(WCHAR));
    wcscpy(path + dir_len, name);
    return path;
}

/* Reads and checks a scenario file with the INI API; on any mistake, says so in the trace and
 * returns a failure with nothing prepared. No lock held. */
static HRESULT scenario_prepare(const WCHAR *path, struct test_double_scenario **out)
{
    struct test_double_scenario *prepared = NULL;
    struct scenario scenario;
    WCHAR *names = NULL, *name, *lines, *line;
    const char *reason = NULL;
    HRESULT hr = S_OK;
    DWORD attributes;
    size_t i;

    *out = NULL;
    if ((attributes = GetFileAttributesW(path)) == INVALID_FILE_ATTRIBUTES || (attributes & FILE_ATTRIBUTE_DIRECTORY))
    {
        hr = attributes == INVALID_FILE_ATTRIBUTES ? hresult_from_last_error() : HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        ERR("test double: scenario file %s cannot be read (%#lx); nothing was changed.\n", debugstr_w(path), hr);
        return hr;
    }
    scenario_init(&scenario);
    if (!(names = profile_list(NULL, path))) hr = E_OUTOFMEMORY;
    for (name = names; SUCCEEDED(hr) && *name; name += wcslen(name) + 1)
    {
        if (FAILED(hr = scenario_section(&scenario, name))) break;
        if (!(lines = profile_list(name, path)))
        {
            hr = E_OUTOFMEMORY;
            break;
        }
        for (line = lines; SUCCEEDED(hr) && *line; line += wcslen(line) + 1) hr = scenario_line(&scenario, line);
        free(lines);
    }
    free(names);
    if (SUCCEEDED(hr)) hr = scenario_finish(&scenario);
    if (FAILED(hr))
    {
        ERR("test double: scenario file %s is invalid: %s; nothing was changed.\n", debugstr_w(path),
            scenario.error[0] ? scenario.error : "out of memory");
        scenario_free(&scenario);
        return hr;
    }

    if (!(prepared = calloc(1, sizeof(*prepared)))
            || (scenario.count && !(prepared->rules = calloc(scenario.count, sizeof(*prepared->rules)))))
        hr = E_OUTOFMEMORY;
    for (i = 0; SUCCEEDED(hr) && i < scenario.count; ++i)
    {
        struct scenario_rule *rule = &scenario.rules[i];
        WCHAR *file = rule->content_file ? content_path(path, rule->content_file) : NULL;

        if (rule->content_file && !file) hr = E_OUTOFMEMORY;
        else if (FAILED(hr = make_rule(&rule->spec, file, &prepared->rules[i], &reason)))
            ERR("test double: scenario file %s is invalid: [%s]: %s (%s, %#lx); nothing was changed.\n",
                debugstr_w(path), debugstr_w(rule->section), reason ? reason : "no memory", debugstr_w(file), hr);
        else
            prepared->count = i + 1;
        free(file);
    }
    if (prepared)
    {
        prepared->time_set = scenario.time_set;
        prepared->virtual_time = scenario.virtual_time;
        prepared->unmatched_set = scenario.unmatched_set;
        prepared->fail_unmatched = scenario.fail_unmatched;
        prepared->unmatched_error = scenario.unmatched_error ? scenario.unmatched_error : SCRIPT_E_CONNECT;
    }
    scenario_free(&scenario);
    if (FAILED(hr))
    {
        scenario_free_prepared(prepared);
        return hr;
    }
    TRACE("scenario %s: %lu rules.\n", debugstr_w(path), (unsigned long)prepared->count);
    *out = prepared;
    return S_OK;
}

/* Requires: service lock. The scenario's rules replace the rules; its settings apply. */
static void scenario_apply_locked(struct test_double *td, struct test_double_scenario *prepared)
{
    size_t i;

    script_remove_all(&td->script);
    for (i = 0; i < prepared->count; ++i)
    {
        script_add(&td->script, prepared->rules[i]);
        prepared->rules[i] = NULL;
    }
    prepared->count = 0;
    if (prepared->unmatched_set)
    {
        td->script.fail_unmatched = prepared->fail_unmatched;
        td->script.unmatched_error = prepared->unmatched_error;
    }
    if (prepared->time_set && prepared->virtual_time && !td->virtual_time)
    {
        td->virtual_now = GetTickCount64() + td->skew;
        td->virtual_time = TRUE;
    }
}

HRESULT test_double_load_scenario(struct service *service, const WCHAR *path)
{
    struct test_double_scenario *prepared;
    HRESULT hr;

    if (FAILED(hr = scenario_prepare(path, &prepared))) return hr;
    if (prepared->time_set && !prepared->virtual_time) test_double_set_virtual(service, FALSE);
    service_lock(service);
    scenario_apply_locked(service->test_double, prepared);
    WakeAllConditionVariable(&service->work);
    service_unlock(service);
    scenario_free_prepared(prepared);
    return S_OK;
}

/* --- settings and life ------------------------------------------------------------------------------ */

void test_double_read_settings(struct test_double_settings *settings, BOOL with_scenario)
{
    WCHAR path[MAX_PATH];
    DWORD value = 0, size = sizeof(value), type;
    HKEY key;

    memset(settings, 0, sizeof(*settings));
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, TEST_DOUBLE_KEY, 0, KEY_QUERY_VALUE, &key)) return;
    if (!RegQueryValueExW(key, L"Enabled", NULL, &type, (BYTE *)&value, &size) && type == REG_DWORD && value)
        settings->enabled = TRUE;
    size = sizeof(path) - sizeof(WCHAR);
    if (settings->enabled && with_scenario
            && !RegQueryValueExW(key, L"Scenario", NULL, &type, (BYTE *)path, &size) && type == REG_SZ && size > sizeof(WCHAR))
    {
        path[size / sizeof(WCHAR)] = 0;
        scenario_prepare(path, &settings->scenario);
    }
    RegCloseKey(key);
}

HRESULT test_double_install(BOOL install, const WCHAR *scenario)
{
    DWORD enabled = 1;
    LSTATUS status;
    HKEY key;

    if (!install)
    {
        status = RegDeleteTreeW(HKEY_LOCAL_MACHINE, TEST_DOUBLE_KEY);
        return status && status != ERROR_FILE_NOT_FOUND ? HRESULT_FROM_WIN32(status) : S_OK;
    }
    if ((status = RegCreateKeyExW(HKEY_LOCAL_MACHINE, TEST_DOUBLE_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL)))
        return HRESULT_FROM_WIN32(status);
    status = RegSetValueExW(key, L"Enabled", 0, REG_DWORD, (const BYTE *)&enabled, sizeof(enabled));
    if (!status && scenario)
        status = RegSetValueExW(key, L"Scenario", 0, REG_SZ, (const BYTE *)scenario,
                                (DWORD)((wcslen(scenario) + 1) * sizeof(WCHAR)));
    else if (!status)
    {
        status = RegDeleteValueW(key, L"Scenario");
        if (status == ERROR_FILE_NOT_FOUND) status = 0;
    }
    RegCloseKey(key);
    return status ? HRESULT_FROM_WIN32(status) : S_OK;
}

void test_double_settings_free(struct test_double_settings *settings)
{
    scenario_free_prepared(settings->scenario);
    settings->scenario = NULL;
}

HRESULT test_double_create(struct service *service, struct test_double_settings *settings)
{
    struct engine *engine = &service->engine;
    struct test_double *td;
    int kind;

    if (!(td = calloc(1, sizeof(*td)))) return E_OUTOFMEMORY;
    td->service = service;
    script_init(&td->script);
    td->script.unmatched_error = SCRIPT_E_CONNECT;
    InitializeConditionVariable(&td->time_changed);
    for (kind = 0; kind <= REMOTE_LOCAL_PATH; ++kind)
    {
        td->fronts[kind].double_ = td;
        td->fronts[kind].kind = kind;
        td->fronts[kind].real = engine->transports[kind];
        if (!engine->transports[kind].ops) continue;
        engine->transports[kind].ops = &front_ops;
        engine->transports[kind].context = &td->fronts[kind];
    }
    engine->clock = &double_clock_ops;
    engine->clock_context = td;
    service->test_double = td;
    if (settings->scenario) scenario_apply_locked(td, settings->scenario);
    return S_OK;
}

void test_double_destroy(struct service *service)
{
    struct test_double *td = service->test_double;
    struct engine *engine = &service->engine;
    int kind;

    if (!td) return;
    for (kind = 0; kind <= REMOTE_LOCAL_PATH; ++kind)
        if (engine->transports[kind].ops == &front_ops) engine->transports[kind] = td->fronts[kind].real;
    script_free(&td->script);
    service->test_double = NULL;
    free(td);
}

/* --- reset ------------------------------------------------------------------------------------------ */

static BOOL collect_job(struct queue_entry *entry, void *context)
{
    IBackgroundCopyJob ***next = context;

    *(*next)++ = job_from_entry_locked(entry);
    return TRUE;
}

HRESULT test_double_reset(struct service *service)
{
    IBackgroundCopyJob **jobs = NULL, **next;
    size_t count, i;

    /* Every job cancelled (its temporary files go), outside the lock. */
    service_lock(service);
    count = queue_count(&service->jobs);
    if (count && (jobs = malloc(count * sizeof(*jobs))))
    {
        next = jobs;
        queue_for_each(&service->jobs, collect_job, &next);
        count = next - jobs;
    }
    service_unlock(service);
    if (count && !jobs) return E_OUTOFMEMORY;
    for (i = 0; i < count; ++i)
    {
        IBackgroundCopyJob_Cancel(jobs[i]);
        IBackgroundCopyJob_Release(jobs[i]);
    }
    free(jobs);

    test_double_set_virtual(service, FALSE);
    service_lock(service);
    script_remove_all(&service->test_double->script);
    script_journal_clear(&service->test_double->script.journal);
    service->test_double->script.fail_unmatched = FALSE;
    service->test_double->script.unmatched_error = SCRIPT_E_CONNECT;
    service_unlock(service);
    return S_OK;
}
