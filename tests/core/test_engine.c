/* SPDX-License-Identifier: MIT */
/* The transfer engine (src/core/engine.c) driven chunk by chunk through fake seams
 * (tests/core/fake_engine.h): a fake clock the test advances, in-memory storage, scripted remote
 * files with faults on a countdown, and a host that records events. Nothing sleeps or races:
 * a "client call between begin and commit" is a call made between the two (STYLE.md §2.10).
 *
 * Covered: byte-identical results, events and progress; several files in order; priority
 * order and the bound on open transfers; transient errors, the retry delay, the no-progress
 * timeout and what makes an error fatal (BITS-SPEC.md §3.2, §6.3); resuming after a failed
 * read, a server that ignores ranges, a remote file that changed; Suspend, Cancel and a remote
 * name change between begin and commit; AddFileWithRanges' ranges written back to back and their
 * errors (§2.4); size unknown and DYNAMIC_CONTENT, MAX_DOWNLOAD_SIZE (§2.6); the maximum download
 * time (§2.5); a taken temporary name; storage failures; and that every stream,
 * storage handle and option snapshot is closed (plus ASan's leak check natively).
 * Runs natively under ASan/UBSan and under Wine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/engine.h"
#include "core/job_state.h"
#include "fake_engine.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))
#define assert_state(expected, job) assert_int_equal((expected), (job)->state)
#define assert_wstr(expected, actual) assert_true(fake_wcseq((expected), (actual)))
#define assert_filetime(expected, actual) \
    assert_int_equal(((UINT64)(expected).dwHighDateTime << 32) | (expected).dwLowDateTime, \
                     ((UINT64)(actual).dwHighDateTime << 32) | (actual).dwLowDateTime)

#define SECONDS(s) ((UINT64)(s) * 1000)
#define DEFAULT_RETRY_DELAY 600
/* HRESULT_FROM_WIN32 as a constant expression (Wine's headers make it a function). */
#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))
#define HR_CONNECTION_ERROR HR_WIN32(12030)       /* ERROR_WINHTTP_CONNECTION_ERROR */

static const struct transfer_error http_503 = { BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_503, L"http" };
static const struct transfer_error connection_lost = { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, HR_CONNECTION_ERROR, L"http" };

/* -------------------------------------------------------------------------------------------- */
/* The fixture: the fakes, and the jobs a test made (freed by the teardown)                      */

#define MAX_JOBS 8

struct fixture
{
    struct fake_engine fake;
    struct engine_job *jobs[MAX_JOBS];
    unsigned int job_count;
};

static struct fixture *fx;

static int setup(void **state)
{
    if (!(fx = calloc(1, sizeof(*fx)))) return -1;
    fake_engine_init(&fx->fake);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    unsigned int i;

    for (i = 0; i < fx->job_count; ++i) fake_engine_free_job(&fx->fake, fx->jobs[i]);
    fake_engine_free(&fx->fake);
    free(fx);
    fx = NULL;
    return 0;
}

/* -------------------------------------------------------------------------------------------- */
/* Records built as the shell would build them                                                  */

static struct engine_job *new_job(BG_JOB_PRIORITY priority)
{
    struct engine_job *job = calloc(1, sizeof(*job));

    assert_non_null(job);
    assert_true(fx->job_count < MAX_JOBS);
    fx->jobs[fx->job_count++] = job;
    engine_job_init(job, BG_JOB_TYPE_DOWNLOAD);
    job->state = BG_JOB_STATE_SUSPENDED;
    job->priority = priority;
    job->retry_delay = DEFAULT_RETRY_DELAY;
    job->no_progress_timeout = 1209600;
    job->max_download_time = 7776000;
    job->max_download_size = ~(UINT64)0;
    return job;
}

static WCHAR *concat(const WCHAR *a, const WCHAR *b, const WCHAR *c)
{
    size_t la = fake_wcslen(a), lb = fake_wcslen(b), lc = fake_wcslen(c);
    WCHAR *str = malloc((la + lb + lc + 1) * sizeof(WCHAR));

    assert_non_null(str);
    memcpy(str, a, la * sizeof(WCHAR));
    memcpy(str + la, b, lb * sizeof(WCHAR));
    memcpy(str + la + lb, c, (lc + 1) * sizeof(WCHAR));
    return str;
}

/* A file of the job: local name C:\dl\<name>, temporary name C:\dl\BIT<name>.tmp. */
static struct engine_file *add_file(struct engine_job *job, const WCHAR *url, const WCHAR *name)
{
    struct engine_file *file = calloc(1, sizeof(*file));

    assert_non_null(file);
    assert_hr(S_OK, validate_remote_name(url, &file->kind));
    assert_non_null(file->remote_name = fake_wcsdup(url));
    file->local_name = concat(L"C:\\dl\\", name, L"");
    file->temp_name = concat(L"C:\\dl\\BIT", name, L".tmp");
    file->bytes_total = BG_SIZE_UNKNOWN;
    file->remote_size = BG_SIZE_UNKNOWN;
    range_list_init(&file->requested);
    range_list_init(&file->filled);
    if (job->file_count == job->file_capacity)
    {
        job->file_capacity = job->file_capacity ? job->file_capacity * 2 : 4;
        job->files = realloc(job->files, job->file_capacity * sizeof(*job->files));
        assert_non_null(job->files);
    }
    job->files[job->file_count++] = file;
    return file;
}

static struct engine_file *add_file_ranges(struct engine_job *job, const WCHAR *url, const WCHAR *name,
                                           const BG_FILE_RANGE *ranges, DWORD count)
{
    struct engine_file *file = add_file(job, url, name);

    assert_non_null(file->ranges = malloc(count * sizeof(*ranges)));
    memcpy(file->ranges, ranges, count * sizeof(*ranges));
    file->range_count = count;
    return file;
}

/* -------------------------------------------------------------------------------------------- */
/* Driving the engine                                                                             */

static struct engine *eng(void)
{
    return &fx->fake.engine;
}

static void advance(UINT64 ms)
{
    fx->fake.clock.now += ms;
}

static HRESULT begin(struct engine_chunk *chunk, DWORD *wait)
{
    DWORD ignored;
    HRESULT hr = engine_begin_chunk_locked(eng(), chunk, wait ? wait : &ignored);

    assert_true(hr == S_OK || hr == S_FALSE);
    return hr;
}

static void finish(struct engine_chunk *chunk)
{
    struct engine_cleanup cleanup;

    engine_transfer_chunk(eng(), chunk);
    engine_commit_chunk_locked(eng(), chunk, &cleanup);
    engine_cleanup(eng(), &cleanup);
}

/* One whole chunk. S_FALSE (and *wait) when there is nothing to do now. */
static HRESULT step(DWORD *wait)
{
    struct engine_chunk chunk;
    HRESULT hr = begin(&chunk, wait);

    if (hr == S_OK) finish(&chunk);
    return hr;
}

/* Chunks until the engine has nothing to do now; returns its wait. */
static DWORD run_idle(void)
{
    unsigned int n;
    DWORD wait;

    for (n = 0; n < 100000; ++n)
        if (step(&wait) == S_FALSE) return wait;
    fail_msg("the engine never went idle");
    return 0;
}

static void cleanup_now(struct engine_cleanup *cleanup)
{
    engine_cleanup(eng(), cleanup);
}

/* Suspend as the shell does it: the state word, then the engine. */
static void suspend(struct engine_job *job)
{
    struct engine_cleanup cleanup;

    memset(&cleanup, 0, sizeof(cleanup));
    assert_hr(S_OK, job_state_transition(&job->state, BG_JOB_STATE_SUSPENDED));
    engine_stop_locked(eng(), job, &cleanup);
    cleanup_now(&cleanup);
}

static void cancel(struct engine_job *job)
{
    struct engine_cleanup cleanup;

    memset(&cleanup, 0, sizeof(cleanup));
    assert_hr(S_OK, job_state_transition(&job->state, BG_JOB_STATE_CANCELLED));
    engine_stop_locked(eng(), job, &cleanup);
    cleanup_now(&cleanup);
}

/* -------------------------------------------------------------------------------------------- */
/* Checks                                                                                         */

/* Every stream, storage handle and option snapshot was closed; no chunk is in flight; no job
 * keeps a transfer open. */
static void check_closed(void)
{
    unsigned int i;

    assert_int_equal(fx->fake.transport.streams_opened, fx->fake.transport.streams_closed);
    assert_int_equal(fx->fake.storage.opens, fx->fake.storage.closes);
    assert_int_equal(fx->fake.host.snapshots, fx->fake.host.frees);
    assert_int_equal(eng()->running, 0);
    for (i = 0; i < fx->job_count; ++i)
    {
        assert_null(fx->jobs[i]->run);
        assert_false(fx->jobs[i]->running);
    }
}

/* The temporary file holds exactly size bytes of the remote content seed from offset 0. */
static void check_content(const struct engine_file *file, UINT32 seed, UINT64 size)
{
    struct fake_stored_file *stored = fake_storage_find(&fx->fake.storage, file->temp_name);
    UINT64 i;

    assert_non_null(stored);
    assert_int_equal(stored->size, size);
    for (i = 0; i < size; ++i)
        if (stored->data[i] != fake_remote_byte(seed, i))
            fail_msg("byte %llu differs", (unsigned long long)i);
}

/* The temporary file holds the given ranges of the remote content, back to back. */
static void check_ranges_content(const struct engine_file *file, UINT32 seed, UINT64 remote_size,
                                 const BG_FILE_RANGE *ranges, DWORD count)
{
    struct fake_stored_file *stored = fake_storage_find(&fx->fake.storage, file->temp_name);
    UINT64 position = 0, i;
    DWORD r;

    assert_non_null(stored);
    for (r = 0; r < count; ++r)
    {
        UINT64 length = ranges[r].Length == BG_LENGTH_TO_EOF ? remote_size - ranges[r].InitialOffset : ranges[r].Length;
        for (i = 0; i < length; ++i, ++position)
        {
            assert_true(position < stored->size);
            if (stored->data[position] != fake_remote_byte(seed, ranges[r].InitialOffset + i))
                fail_msg("range %lu byte %llu differs", (unsigned long)r, (unsigned long long)i);
        }
    }
    assert_int_equal(stored->size, position);
}

static void check_error(const struct engine_job *job, BG_JOB_STATE state, HRESULT code, BG_ERROR_CONTEXT context,
                        const struct engine_file *file)
{
    assert_state(state, job);
    assert_true(job->error.set);
    assert_hr(code, job->error.code);
    assert_int_equal(context, job->error.context);
    assert_ptr_equal(file, job->error.file);
}

static const struct fake_request *request(unsigned int i)
{
    assert_true(i < fx->fake.transport.request_count);
    return &fx->fake.transport.requests[i];
}

static unsigned int events(const struct engine_job *job, enum engine_event_kind kind)
{
    return fake_host_count(&fx->fake.host, job, kind);
}

/* -------------------------------------------------------------------------------------------- */
/* Successful transfers                                                                           */

static void test_single_file(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5500, 1);
    struct engine_chunk chunk;
    int file_event, job_event;

    remote->headers = L"HTTP/1.1 200 OK\r\nContent-Length: 5500\r\n\r\n";
    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_true(job->resumed);

    /* The first chunk opens the temporary file (new) and the stream (from byte 0). */
    assert_hr(S_OK, begin(&chunk, NULL));
    assert_ptr_equal(job, chunk.job);
    assert_ptr_equal(file, chunk.file);
    assert_true(chunk.open);
    assert_int_equal(STORAGE_CREATE_NEW, chunk.mode);
    assert_int_equal(0, chunk.request.offset);
    assert_int_equal(BG_LENGTH_TO_EOF, chunk.request.length);
    assert_state(BG_JOB_STATE_CONNECTING, job);
    finish(&chunk);
    assert_state(BG_JOB_STATE_TRANSFERRING, job);
    assert_int_equal(5500, file->bytes_total);
    assert_int_equal(FAKE_CHUNK_SIZE, file->bytes_transferred);
    assert_true(file->temp_created);

    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_true(file->transferred);
    assert_false(file->completed);
    assert_int_equal(5500, file->bytes_total);
    assert_int_equal(5500, file->bytes_transferred);
    assert_int_equal(5500, file->remote_size);
    assert_filetime(remote->modified, file->remote_time);
    assert_wstr(remote->headers, file->response_headers);
    assert_int_equal(0, job->error_count);
    assert_false(job->error.set);
    assert_true(job->completion_time.dwHighDateTime || job->completion_time.dwLowDateTime);
    assert_filetime(job->modification_time, job->completion_time);
    check_content(file, 1, 5500);

    /* One stream, one temporary file, no other name asked for. */
    assert_int_equal(1, fx->fake.transport.request_count);
    assert_wstr(L"http://server/a.bin", request(0)->url);
    assert_ptr_equal(&fx->fake.host.options, request(0)->options);
    assert_int_equal(1, fake_storage_count(&fx->fake.storage));
    assert_int_equal(0, fx->fake.host.temp_names);

    /* FileTransferred, then JobTransferred, last; progress was reported; no error. */
    assert_int_equal(1, events(job, ENGINE_EVENT_FILE_TRANSFERRED));
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_TRANSFERRED));
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_true(events(job, ENGINE_EVENT_JOB_MODIFICATION) >= 6);
    file_event = fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_FILE_TRANSFERRED);
    job_event = fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_JOB_TRANSFERRED);
    assert_true(file_event >= 0 && file_event < job_event);
    assert_ptr_equal(file, fx->fake.host.events[file_event].file);
    assert_int_equal(fx->fake.host.event_count - 1, job_event);

    /* Nothing more to do. */
    assert_hr(S_FALSE, step(NULL));
    check_closed();
}

static void test_files_in_order(void **state)
{
    static const WCHAR *urls[] = { L"http://server/a", L"http://server/empty", L"https://server/c" };
    static const UINT64 sizes[] = { 2500, 0, 1234 };
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *files[3];
    int index = 0;
    unsigned int i;

    files[0] = add_file(job, urls[0], L"a");
    files[1] = add_file(job, urls[1], L"empty");
    files[2] = add_file(job, urls[2], L"c");
    for (i = 0; i < 3; ++i) fake_transport_add(&fx->fake.transport, urls[i], sizes[i], 10 + i);

    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);

    /* One stream per file, in the order added; a FileTransferred for each, in that order,
     * then one JobTransferred. */
    assert_int_equal(3, fx->fake.transport.request_count);
    for (i = 0; i < 3; ++i)
    {
        assert_wstr(urls[i], request(i)->url);
        assert_int_equal(0, request(i)->offset);
        assert_true(files[i]->transferred);
        assert_int_equal(sizes[i], files[i]->bytes_total);
        assert_int_equal(sizes[i], files[i]->bytes_transferred);
        check_content(files[i], 10 + i, sizes[i]);
        index = fake_host_find(&fx->fake.host, index, job, ENGINE_EVENT_FILE_TRANSFERRED);
        assert_true(index >= 0);
        assert_ptr_equal(files[i], fx->fake.host.events[index].file);
        ++index;
    }
    assert_int_equal(3, events(job, ENGINE_EVENT_FILE_TRANSFERRED));
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_TRANSFERRED));
    assert_true(fake_host_find(&fx->fake.host, index, job, ENGINE_EVENT_JOB_TRANSFERRED) >= index);
    check_closed();
}

static void suspend_job(void *context)
{
    suspend(context);
}

/* Suspend reaches a request whose server has not answered yet: the open returns at once with
 * E_ABORT, the chunk counts for nothing, the stream is closed, and Resume starts over. */
static void test_abort_while_opening(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct fake_remote *remote;
    struct engine_file *file;

    file = add_file(job, L"http://s/slow", L"slow");
    remote = fake_transport_add(&fx->fake.transport, L"http://s/slow", 2500, 3);
    remote->while_opening = suspend_job;
    remote->while_opening_context = job;
    engine_resume_locked(eng(), job);

    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_SUSPENDED, job);
    assert_int_equal(1, fx->fake.transport.aborts);
    assert_int_equal(1, fx->fake.transport.streams_opened);
    assert_int_equal(1, fx->fake.transport.streams_closed);
    assert_null(job->run);
    assert_false(job->error.set);
    assert_int_equal(0, file->bytes_transferred);

    remote->while_opening = NULL;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_content(file, 3, 2500);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Scheduling                                                                                     */

static void test_priority_order(void **state)
{
    static const BG_JOB_PRIORITY order[] = { BG_JOB_PRIORITY_LOW, BG_JOB_PRIORITY_NORMAL,
                                             BG_JOB_PRIORITY_HIGH, BG_JOB_PRIORITY_FOREGROUND };
    static const WCHAR *urls[] = { L"http://s/low", L"http://s/normal", L"http://s/high", L"http://s/fg" };
    struct engine_job *jobs[4];
    int index = 0;
    unsigned int i;

    eng()->max_running = 1;
    /* Queued lowest first, so that queue order alone would give the wrong answer. */
    for (i = 0; i < 4; ++i)
    {
        jobs[i] = new_job(order[i]);
        add_file(jobs[i], urls[i], urls[i] + 9);
        fake_transport_add(&fx->fake.transport, urls[i], 2500, i);
        engine_resume_locked(eng(), jobs[i]);
    }
    assert_int_equal(INFINITE, run_idle());

    /* FOREGROUND, HIGH, NORMAL, LOW: each opened once, each finished before the next began. */
    assert_int_equal(4, fx->fake.transport.request_count);
    for (i = 0; i < 4; ++i)
    {
        struct engine_job *job = jobs[3 - i];

        assert_wstr(urls[3 - i], request(i)->url);
        assert_state(BG_JOB_STATE_TRANSFERRED, job);
        index = fake_host_find(&fx->fake.host, index, NULL, ENGINE_EVENT_JOB_TRANSFERRED);
        assert_true(index >= 0);
        assert_ptr_equal(job, fx->fake.host.events[index].job);
        ++index;
        check_content(job->files[0], 3 - i, 2500);
    }
    check_closed();
}

/* The request that opened `url` for the n-th time (from 0), or NULL. */
static const struct fake_request *find_request(const WCHAR *url, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < fx->fake.transport.request_count; ++i)
        if (fake_wcseq(fx->fake.transport.requests[i].url, url) && !n--) return &fx->fake.transport.requests[i];
    return NULL;
}

/* Background jobs holding every open slot do not hold up a foreground job; a background job
 * of higher priority takes the slot of the first lower one to finish a chunk, which goes back to
 * QUEUED and later continues from where it stopped. */
static void test_foreground_not_kept_waiting(void **state)
{
    struct engine_job *low1 = new_job(BG_JOB_PRIORITY_LOW), *low2 = new_job(BG_JOB_PRIORITY_LOW);
    struct engine_job *high = new_job(BG_JOB_PRIORITY_HIGH), *fg = new_job(BG_JOB_PRIORITY_FOREGROUND);
    struct engine_job *yielded;
    const struct fake_request *again;
    struct engine_chunk chunk;
    unsigned int i;
    UINT64 had;

    eng()->max_running = 2;
    add_file(low1, L"http://s/low1", L"low1");
    add_file(low2, L"http://s/low2", L"low2");
    add_file(high, L"http://s/high", L"high");
    add_file(fg, L"http://s/fg", L"fg");
    fake_transport_add(&fx->fake.transport, L"http://s/low1", 5000, 1);
    fake_transport_add(&fx->fake.transport, L"http://s/low2", 5000, 2);
    fake_transport_add(&fx->fake.transport, L"http://s/high", 2000, 3);
    fake_transport_add(&fx->fake.transport, L"http://s/fg", 2000, 4);

    engine_resume_locked(eng(), low1);
    engine_resume_locked(eng(), low2);
    assert_hr(S_OK, step(NULL));
    assert_hr(S_OK, step(NULL));
    assert_non_null(low1->run);
    assert_non_null(low2->run);

    /* Both slots are taken: FOREGROUND goes first at once, and to the end; HIGH waits. */
    engine_resume_locked(eng(), high);
    engine_resume_locked(eng(), fg);
    while (fg->state != BG_JOB_STATE_TRANSFERRED)
    {
        assert_hr(S_OK, begin(&chunk, NULL));
        assert_ptr_equal(fg, chunk.job);
        finish(&chunk);
    }
    assert_wstr(L"http://s/fg", request(2)->url);
    assert_null(high->run);

    /* The next LOW job to finish a chunk gives its slot to HIGH. */
    assert_hr(S_OK, begin(&chunk, NULL));
    yielded = chunk.job;
    assert_true(yielded == low1 || yielded == low2);
    finish(&chunk);
    assert_null(yielded->run);
    assert_state(BG_JOB_STATE_QUEUED, yielded);
    had = yielded->files[0]->bytes_transferred;
    assert_true(had > 0 && had < 5000);
    assert_hr(S_OK, begin(&chunk, NULL));
    assert_ptr_equal(high, chunk.job);
    finish(&chunk);

    assert_int_equal(INFINITE, run_idle());
    for (i = 0; i < fx->job_count; ++i) assert_state(BG_JOB_STATE_TRANSFERRED, fx->jobs[i]);
    check_content(fg->files[0], 4, 2000);
    check_content(high->files[0], 3, 2000);
    check_content(low1->files[0], 1, 5000);
    check_content(low2->files[0], 2, 5000);
    /* The job that yielded asked for the rest only. */
    assert_non_null(again = find_request(yielded->files[0]->remote_name, 1));
    assert_int_equal(had, again->offset);
    check_closed();
}

/* Background jobs of one priority take turns when there are more than slots: each keeps its slot
 * for a time slice, then goes back to QUEUED and continues later where it stopped. A job alone
 * keeps its slot however long it runs. */
static void test_time_slice(void **state)
{
    struct engine_job *a = new_job(BG_JOB_PRIORITY_NORMAL), *b = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_chunk chunk;
    UINT64 had;

    eng()->max_running = 1;
    add_file(a, L"http://s/a", L"a");
    add_file(b, L"http://s/b", L"b");
    fake_transport_add(&fx->fake.transport, L"http://s/a", 8000, 5);
    fake_transport_add(&fx->fake.transport, L"http://s/b", 8000, 6);

    engine_resume_locked(eng(), a);
    assert_hr(S_OK, step(NULL));
    advance(60000);
    assert_hr(S_OK, step(NULL));
    assert_non_null(a->run);                /* alone: no turn to give */

    engine_resume_locked(eng(), b);
    assert_hr(S_OK, step(NULL));            /* a's slice is over, but it is a's chunk that ends it */
    assert_null(a->run);
    assert_state(BG_JOB_STATE_QUEUED, a);
    had = a->files[0]->bytes_transferred;
    assert_int_equal(3000, had);

    assert_hr(S_OK, begin(&chunk, NULL));
    assert_ptr_equal(b, chunk.job);
    finish(&chunk);
    advance(9999);                          /* within b's slice: b keeps its slot */
    assert_hr(S_OK, begin(&chunk, NULL));
    assert_ptr_equal(b, chunk.job);
    finish(&chunk);
    assert_non_null(b->run);
    advance(1);
    assert_hr(S_OK, step(NULL));
    assert_null(b->run);
    assert_state(BG_JOB_STATE_QUEUED, b);

    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, a);
    assert_state(BG_JOB_STATE_TRANSFERRED, b);
    check_content(a->files[0], 5, 8000);
    check_content(b->files[0], 6, 8000);
    assert_int_equal(had, find_request(L"http://s/a", 1)->offset);
    assert_int_equal(3000, find_request(L"http://s/b", 1)->offset);
    check_closed();
}

/* When several lower jobs hold the slots, the lowest gives its slot up, not the others. */
static void test_lowest_priority_yields(void **state)
{
    struct engine_job *normal = new_job(BG_JOB_PRIORITY_NORMAL), *low = new_job(BG_JOB_PRIORITY_LOW);
    struct engine_job *high = new_job(BG_JOB_PRIORITY_HIGH);
    struct engine_chunk chunks[2];

    eng()->max_running = 2;
    add_file(normal, L"http://s/normal", L"normal");
    add_file(low, L"http://s/low", L"low");
    add_file(high, L"http://s/high", L"high");
    fake_transport_add(&fx->fake.transport, L"http://s/normal", 6000, 7);
    fake_transport_add(&fx->fake.transport, L"http://s/low", 6000, 8);
    fake_transport_add(&fx->fake.transport, L"http://s/high", 3000, 9);
    engine_resume_locked(eng(), normal);
    engine_resume_locked(eng(), low);
    /* Two workers: one chunk of each. */
    assert_hr(S_OK, begin(&chunks[0], NULL));
    assert_hr(S_OK, begin(&chunks[1], NULL));
    assert_ptr_equal(normal, chunks[0].job);
    assert_ptr_equal(low, chunks[1].job);
    finish(&chunks[0]);
    finish(&chunks[1]);

    engine_resume_locked(eng(), high);
    assert_hr(S_OK, begin(&chunks[0], NULL));
    assert_hr(S_OK, begin(&chunks[1], NULL));
    assert_ptr_equal(normal, chunks[0].job);
    assert_ptr_equal(low, chunks[1].job);
    finish(&chunks[0]);                     /* NORMAL keeps its slot */
    assert_non_null(normal->run);
    assert_state(BG_JOB_STATE_TRANSFERRING, normal);
    assert_null(high->run);
    finish(&chunks[1]);                     /* LOW gives its slot to HIGH */
    assert_null(low->run);
    assert_state(BG_JOB_STATE_QUEUED, low);
    assert_hr(S_OK, begin(&chunks[0], NULL));
    assert_hr(S_OK, begin(&chunks[1], NULL));
    assert_ptr_equal(high, chunks[0].job);
    assert_ptr_equal(normal, chunks[1].job);
    finish(&chunks[0]);
    finish(&chunks[1]);

    assert_int_equal(INFINITE, run_idle());
    check_content(normal->files[0], 7, 6000);
    check_content(low->files[0], 8, 6000);
    check_content(high->files[0], 9, 3000);
    check_closed();
}

/* No more than max_running jobs have a transfer open, even with a chunk of each in flight. */
static void test_concurrency_bound(void **state)
{
    struct engine_chunk chunks[4];
    unsigned int i, n, rounds, open, max_open = 0, max_flight = 0;

    eng()->max_running = 2;
    for (i = 0; i < 4; ++i)
    {
        static const WCHAR *urls[] = { L"http://s/0", L"http://s/1", L"http://s/2", L"http://s/3" };
        struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
        add_file(job, urls[i], urls[i] + 9);
        fake_transport_add(&fx->fake.transport, urls[i], 3000 + 500 * i, 20 + i);
        engine_resume_locked(eng(), job);
    }

    for (rounds = 0; rounds < 1000; ++rounds)
    {
        DWORD wait;

        /* As many workers as there are chunks to hand out. */
        for (n = 0; n < ARRAY_SIZE(chunks) && begin(&chunks[n], &wait) == S_OK; ++n) {}
        if (!n) break;
        if (n > max_flight) max_flight = n;
        assert_int_equal(n, eng()->running);
        for (i = 0, open = 0; i < fx->job_count; ++i) open += fx->jobs[i]->run != NULL;
        assert_true(open <= 2);
        if (open > max_open) max_open = open;
        for (i = 0; i < n; ++i) finish(&chunks[i]);
    }
    assert_int_equal(2, max_flight);
    assert_int_equal(2, max_open);
    for (i = 0; i < fx->job_count; ++i)
    {
        assert_state(BG_JOB_STATE_TRANSFERRED, fx->jobs[i]);
        check_content(fx->jobs[i]->files[0], 20 + i, 3000 + 500 * i);
    }
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Errors and retries                                                                             */

static void test_transient_then_retry(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 3000, 5);
    DWORD wait;

    remote->open_failures = 2;
    remote->open_error = http_503;
    engine_resume_locked(eng(), job);

    /* 503: TRANSIENT_ERROR with an error object, no JobError, a retry in retry_delay. */
    assert_hr(S_OK, step(NULL));
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_wstr(L"http", job->error.protocol);
    assert_int_equal(1, job->error_count);
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_MODIFICATION));

    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), wait);
    advance(SECONDS(DEFAULT_RETRY_DELAY) - 1);
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(1, wait);
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    assert_int_equal(1, fx->fake.transport.request_count);

    /* The delay is over: queued again, and the retry fails once more. */
    advance(1);
    assert_hr(S_OK, step(NULL));
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(2, job->error_count);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), wait);

    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_false(job->error.set);
    assert_int_equal(2, job->error_count);
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_ERROR));
    check_content(file, 5, 3000);

    /* The temporary file of the first attempt was used again: no second name, no stray file. */
    assert_int_equal(0, fx->fake.host.temp_names);
    assert_int_equal(1, fake_storage_count(&fx->fake.storage));
    assert_int_equal(0, fx->fake.storage.failed_opens);
    check_closed();
}

static void test_fatal_404(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/missing", L"missing");
    DWORD wait;
    int index;

    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_404, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_wstr(L"http", job->error.protocol);
    assert_int_equal(1, job->error_count);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    index = fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_JOB_ERROR);
    assert_ptr_equal(file, fx->fake.host.events[index].file);
    assert_int_equal(fx->fake.host.event_count - 1, index);
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_TRANSFERRED));

    /* ERROR waits for the application. */
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    advance(SECONDS(86400));
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(1, fx->fake.transport.request_count);
    check_closed();

    /* Resume retries now; the file is put on the server meanwhile. */
    fake_transport_add(&fx->fake.transport, L"http://server/missing", 1500, 7);
    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_false(job->error.set);
    check_content(file, 7, 1500);
    assert_int_equal(0, fx->fake.host.temp_names);
    assert_int_equal(1, fake_storage_count(&fx->fake.storage));
    check_closed();
}

/* Resume from TRANSIENT_ERROR is "retry now", whatever the retry delay. */
static void test_resume_retries_now(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 2000, 3);

    remote->open_failures = 1;
    remote->open_error = http_503;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);

    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_content(file, 3, 2000);
    check_closed();
}

/* A transient error every time: ERROR once no progress came for the no-progress timeout. */
static void test_no_progress_timeout(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 2000, 3);
    DWORD wait;

    job->no_progress_timeout = 1000;
    remote->open_failures = 100;
    remote->open_error = http_503;
    engine_resume_locked(eng(), job);

    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(SECONDS(600), wait);
    advance(SECONDS(600));
    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    assert_int_equal(2, job->error_count);

    /* The next retry would be at 1200 s, after the timeout at 1000 s. */
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(SECONDS(400), wait);
    advance(SECONDS(400) - 1);
    assert_hr(S_FALSE, step(&wait));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    advance(1);
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_int_equal(2, fx->fake.transport.request_count);
    check_closed();
}

/* The no-progress timeout runs from the first transient error (BITS-SPEC.md §3.2), not from the
 * Resume: a job that waited in the queue longer than the timeout still gets its retries. */
static void test_no_progress_timeout_starts_at_first_error(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 2000, 3);
    DWORD wait;

    job->no_progress_timeout = 1000;
    remote->open_failures = 100;
    remote->open_error = http_503;
    engine_resume_locked(eng(), job);
    advance(SECONDS(5000));               /* no worker came for a long while */

    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    assert_hr(S_FALSE, step(&wait));
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    assert_int_equal(SECONDS(600), wait);
    advance(SECONDS(600));
    assert_hr(S_OK, step(NULL));
    assert_int_equal(2, job->error_count);
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(SECONDS(400), wait);
    advance(SECONDS(400));
    assert_hr(S_FALSE, step(&wait));
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    check_closed();
}

/* Progress between transient errors starts the no-progress clock again. */
static void test_progress_resets_no_progress_timeout(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 5000, 3);
    unsigned int i;
    DWORD wait;

    job->no_progress_timeout = 1000;
    remote->read_failures = 4;            /* each stream brings 500 bytes, then fails */
    remote->read_fail_after = 500;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);

    assert_int_equal(SECONDS(600), run_idle());
    for (i = 1; i < 4; ++i)
    {
        /* 600 s per attempt: past the 1000 s timeout by the third, but each brought bytes. */
        assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
        assert_int_equal(500 * i, file->bytes_transferred);
        advance(SECONDS(600));
        wait = run_idle();
        assert_int_equal(SECONDS(600), wait);
    }
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    advance(SECONDS(600));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(4, job->error_count);
    check_content(file, 3, 5000);
    check_closed();
}

/* What makes the first transient error fatal: no-progress timeout 0, a retry delay longer than
 * the no-progress timeout, a custom HTTP method. */
static void check_first_error_fatal(struct engine_job *job)
{
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 2000, 3);
    DWORD wait;

    remote->open_failures = 1;
    remote->open_error = http_503;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_503, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(1, job->error_count);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    check_closed();
}

static void test_no_progress_timeout_zero(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);

    job->no_progress_timeout = 0;
    check_first_error_fatal(job);
}

static void test_retry_delay_over_timeout(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);

    job->retry_delay = 600;
    job->no_progress_timeout = 599;
    check_first_error_fatal(job);
}

static void test_custom_method(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_FOREGROUND);

    job->custom_method = TRUE;
    check_first_error_fatal(job);
}

/* BITS-SPEC.md §6.3. */
static void test_error_classification(void **state)
{
    static const struct { HRESULT code; BOOL transient; } table[] =
    {
        /* 3xx: transient except 300-305 and 307 (the only 3xx codes BITS defines) */
        { BG_E_HTTP_ERROR_300, FALSE }, { BG_E_HTTP_ERROR_301, FALSE }, { BG_E_HTTP_ERROR_302, FALSE },
        { BG_E_HTTP_ERROR_303, FALSE }, { BG_E_HTTP_ERROR_304, FALSE }, { BG_E_HTTP_ERROR_305, FALSE },
        { BG_E_HTTP_ERROR_307, FALSE },
        /* 4xx: fatal except 408 and 409 */
        { BG_E_HTTP_ERROR_400, FALSE }, { BG_E_HTTP_ERROR_401, FALSE }, { BG_E_HTTP_ERROR_403, FALSE },
        { BG_E_HTTP_ERROR_404, FALSE }, { BG_E_HTTP_ERROR_407, FALSE }, { BG_E_HTTP_ERROR_410, FALSE },
        { BG_E_HTTP_ERROR_416, FALSE }, { BG_E_HTTP_ERROR_449, FALSE },
        { BG_E_HTTP_ERROR_408, TRUE }, { BG_E_HTTP_ERROR_409, TRUE },
        /* 5xx: transient except 501 and 505 */
        { BG_E_HTTP_ERROR_500, TRUE }, { BG_E_HTTP_ERROR_502, TRUE }, { BG_E_HTTP_ERROR_503, TRUE },
        { BG_E_HTTP_ERROR_504, TRUE }, { BG_E_HTTP_ERROR_501, FALSE }, { BG_E_HTTP_ERROR_505, FALSE },
        /* "anything else non-200: transient" */
        { BG_E_HTTP_ERROR_100, TRUE }, { BG_E_HTTP_ERROR_101, TRUE }, { BG_E_HTTP_ERROR_202, TRUE },
        { BG_E_HTTP_ERROR_206, TRUE },
        /* documented transient cases */
        { HR_WIN32(12007), TRUE },          /* ERROR_WINHTTP_NAME_NOT_RESOLVED */
        { (HRESULT)0x80072f78, TRUE },                /* ERROR_HTTP_INVALID_SERVER_RESPONSE */
        { HR_WIN32(12029), TRUE },          /* ERROR_WINHTTP_CANNOT_CONNECT */
        { HR_WIN32(12002), TRUE },          /* ERROR_WINHTTP_TIMEOUT */
        { HR_CONNECTION_ERROR, TRUE },
        { BG_E_NETWORK_DISCONNECTED, TRUE },
        { BG_E_BLOCKED_BY_POLICY, TRUE },
        { E_INVALIDARG, TRUE },                       /* a bad proxy name found at transfer time */
        { HR_WIN32(ERROR_DISK_FULL), TRUE },
        /* documented fatal cases */
        { E_ACCESSDENIED, FALSE },
        { BG_E_INVALID_PROXY_INFO, FALSE },
        { BG_E_VALIDATION_FAILED, FALSE },
        { BG_E_MAXDOWNLOAD_TIMEOUT, FALSE },
        { BG_E_LOCAL_FILE_CHANGED, FALSE },
        { BG_E_TOKEN_REQUIRED, FALSE },
        { BG_E_INVALID_RANGE, FALSE },
        { BG_E_INSUFFICIENT_RANGE_SUPPORT, FALSE },
        { BG_E_MISSING_FILE_SIZE, FALSE },
        { BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, FALSE },
        { HR_WIN32(12057), FALSE },         /* ERROR_WINHTTP_SECURE_CERT_REV_FAILED (CRL) */
        { HR_WIN32(ERROR_FILE_NOT_FOUND), FALSE },
        { HR_WIN32(ERROR_PATH_NOT_FOUND), FALSE },
    };
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(table); ++i)
        if (engine_error_is_transient(table[i].code) != table[i].transient)
            fail_msg("0x%08lx should be %s", (unsigned long)table[i].code, table[i].transient ? "transient" : "fatal");
}

/* -------------------------------------------------------------------------------------------- */
/* Resuming and restarting                                                                        */

/* The connection drops after 2500 bytes: the retry asks for byte 2500 onwards and appends. */
static void test_resume_after_read_failure(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 9);

    remote->read_failures = 1;
    remote->read_fail_after = 2500;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HR_CONNECTION_ERROR, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file);
    assert_int_equal(2500, file->bytes_transferred);
    assert_int_equal(5000, file->bytes_total);
    check_closed();

    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(0, request(0)->offset);
    assert_int_equal(2500, request(1)->offset);
    assert_int_equal(BG_LENGTH_TO_EOF, request(1)->length);
    assert_int_equal(5000, file->bytes_transferred);
    check_content(file, 9, 5000);
    /* The same temporary file, opened again, not emptied. */
    assert_int_equal(2, fx->fake.storage.mode_count);
    assert_int_equal(STORAGE_CREATE_NEW, fx->fake.storage.modes[0]);
    assert_int_equal(STORAGE_OPEN_EXISTING, fx->fake.storage.modes[1]);
    assert_int_equal(1, fx->fake.storage.truncates);
    check_closed();
}

/* The server answers the resuming range request with the whole file (HTTP 200): it is taken
 * from byte 0 and the result is the same. */
static void test_server_ignores_ranges(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 9);

    remote->no_ranges = TRUE;
    remote->read_failures = 1;
    remote->read_fail_after = 2500;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    assert_int_equal(2500, file->bytes_transferred);

    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(2500, request(1)->offset);
    assert_true(file->no_range_support);
    assert_int_equal(5000, file->bytes_transferred);
    assert_int_equal(5000, file->bytes_total);
    check_content(file, 9, 5000);
    check_closed();
}

/* The remote file changed between the first part and the retry: the file starts over. */
static void check_remote_change(UINT64 new_size, UINT32 new_seed, BOOL new_time)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 9);

    remote->read_failures = 1;
    remote->read_fail_after = 2500;
    remote->read_error = connection_lost;
    remote->change_after_opens = 1;
    remote->changed_size = new_size;
    remote->changed_seed = new_seed;
    remote->changed_modified = new_time ? fake_clock_filetime(777777) : remote->modified;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());

    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(3, fx->fake.transport.request_count);
    assert_int_equal(0, request(0)->offset);
    assert_int_equal(2500, request(1)->offset);
    assert_int_equal(0, request(2)->offset);
    assert_int_equal(new_size, file->bytes_total);
    assert_int_equal(new_size, file->bytes_transferred);
    assert_int_equal(new_size, file->remote_size);
    assert_filetime(remote->changed_modified, file->remote_time);
    check_content(file, new_seed, new_size);
    check_closed();
}

static void test_remote_time_change_restarts(void **state)
{
    check_remote_change(5000, 10, TRUE);
}

static void test_remote_size_change_restarts(void **state)
{
    check_remote_change(6000, 10, FALSE);
}

/* Someone cut the temporary file short between attempts: the file starts over. */
static void test_temp_file_cut_short(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 9);
    struct fake_stored_file *stored;

    remote->read_failures = 1;
    remote->read_fail_after = 2500;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    assert_non_null(stored = fake_storage_find(&fx->fake.storage, file->temp_name));
    stored->size = 1000;

    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(0, request(1)->offset);
    assert_int_equal(5000, file->bytes_transferred);
    check_content(file, 9, 5000);
    check_closed();
}

/* A redirect's final URL becomes the remote name (the old one is freed after the lock) and the
 * retry goes there. */
static void test_redirect(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 3000, 4);

    remote->redirect = L"http://cdn/a.bin";
    remote->read_failures = 1;
    remote->read_fail_after = 1500;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    assert_wstr(L"http://cdn/a.bin", file->remote_name);
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_wstr(L"http://cdn/a.bin", request(1)->url);
    assert_int_equal(1500, request(1)->offset);
    check_content(file, 4, 3000);
    check_closed();
}

/* The server closes the connection after 2500 of 5000 bytes: the short body is a transient
 * connection error, and the retry asks for the rest. */
static void test_body_ends_early(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 21);

    remote->read_failures = 1;
    remote->read_fail_after = 2500;
    remote->read_ends = TRUE;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HR_CONNECTION_ERROR, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file);
    assert_int_equal(2500, file->bytes_transferred);
    assert_false(file->transferred);
    assert_int_equal(0, events(job, ENGINE_EVENT_FILE_TRANSFERRED));

    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2500, request(1)->offset);
    check_content(file, 21, 5000);
    check_closed();
}

/* A range interrupted half-way is asked for again from where it stopped, for what is left of it. */
static void test_ranges_resume_mid_range(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 100, 2500 }, { 5000, 100 } };
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file_ranges(job, L"http://server/r.bin", L"r.bin", ranges, ARRAY_SIZE(ranges));
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/r.bin", 10000, 8);

    remote->read_failures = 1;
    remote->read_fail_after = 1000;
    remote->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    assert_int_equal(1000, file->bytes_transferred);
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());

    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(3, fx->fake.transport.request_count);
    assert_int_equal(1100, request(1)->offset);
    assert_int_equal(1500, request(1)->length);
    assert_int_equal(5000, request(2)->offset);
    assert_int_equal(100, request(2)->length);
    assert_int_equal(2600, file->bytes_transferred);
    check_ranges_content(file, 8, 10000, ranges, ARRAY_SIZE(ranges));
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Client calls between begin and commit                                                        */

static void test_suspend_mid_chunk(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct engine_chunk chunk;
    unsigned int event_count;
    DWORD wait;

    fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 4500, 2);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_int_equal(1000, file->bytes_transferred);

    /* Suspend while the second chunk's bytes are being written. */
    assert_hr(S_OK, begin(&chunk, NULL));
    engine_transfer_chunk(eng(), &chunk);
    assert_int_equal(1000, chunk.bytes);
    suspend(job);
    assert_int_equal(1, fx->fake.transport.aborts);
    assert_int_equal(0, fx->fake.transport.streams_closed);     /* the worker still uses it */
    event_count = fx->fake.host.event_count;
    {
        struct engine_cleanup cleanup;
        engine_commit_chunk_locked(eng(), &chunk, &cleanup);
        engine_cleanup(eng(), &cleanup);
    }
    assert_state(BG_JOB_STATE_SUSPENDED, job);
    assert_int_equal(1000, file->bytes_transferred);            /* the chunk counted for nothing */
    assert_int_equal(event_count, fx->fake.host.event_count);
    check_closed();
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    assert_int_equal(1, fx->fake.transport.request_count);

    /* Resume goes on from byte 1000. */
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(1000, request(1)->offset);
    check_content(file, 2, 4500);
    assert_int_equal(0, job->error_count);
    check_closed();
}

/* Suspend during the very first chunk, before its I/O: the temporary file that chunk creates
 * is the one the transfer goes on with. */
static void test_suspend_first_chunk(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct engine_chunk chunk;

    fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 2500, 2);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, begin(&chunk, NULL));
    suspend(job);
    assert_int_equal(0, fx->fake.transport.aborts);             /* nothing open yet */
    finish(&chunk);
    assert_state(BG_JOB_STATE_SUSPENDED, job);
    assert_int_equal(0, file->bytes_transferred);
    assert_int_equal(BG_SIZE_UNKNOWN, file->bytes_total);
    check_closed();

    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(0, request(1)->offset);
    check_content(file, 2, 2500);
    assert_int_equal(0, fx->fake.host.temp_names);
    assert_int_equal(1, fake_storage_count(&fx->fake.storage));
    check_closed();
}

/* Suspend and Resume both while a chunk is in flight: the chunk still counts for nothing, and
 * the job goes on on a new stream once the worker has let go of it. */
static void test_suspend_resume_mid_chunk(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct engine_chunk chunk, other;

    fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 2500, 2);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, begin(&chunk, NULL));
    engine_transfer_chunk(eng(), &chunk);
    suspend(job);
    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_hr(S_FALSE, begin(&other, NULL));                    /* the worker still owns it */
    {
        struct engine_cleanup cleanup;
        engine_commit_chunk_locked(eng(), &chunk, &cleanup);
        engine_cleanup(eng(), &cleanup);
    }
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_int_equal(0, file->bytes_transferred);
    check_closed();

    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(0, request(1)->offset);
    check_content(file, 2, 2500);
    assert_int_equal(0, fx->fake.host.temp_names);
    check_closed();
}

static void test_cancel_mid_chunk(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct engine_chunk chunk;
    unsigned int event_count;
    DWORD wait;

    fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 4500, 2);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));

    /* Cancel after begin, before the read: the read is aborted, and that is no error. */
    assert_hr(S_OK, begin(&chunk, NULL));
    event_count = fx->fake.host.event_count;
    cancel(job);
    assert_int_equal(1, fx->fake.transport.aborts);
    finish(&chunk);
    assert_state(BG_JOB_STATE_CANCELLED, job);
    assert_int_equal(1000, file->bytes_transferred);
    assert_false(job->error.set);
    assert_int_equal(0, job->error_count);
    assert_int_equal(event_count, fx->fake.host.event_count);
    check_closed();
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    assert_int_equal(1, fx->fake.transport.request_count);
}

/* The remote name changes (SetRemoteName, ReplaceRemotePrefix): the chunk in flight is voided and
 * the file goes on from where it is on a new stream to the new name. */
static void test_void_remote_name_change(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a.bin", L"a.bin");
    struct engine_cleanup cleanup;
    struct engine_chunk chunk;

    fake_transport_add(&fx->fake.transport, L"http://server/a.bin", 5000, 6);
    fake_transport_add(&fx->fake.transport, L"http://mirror/a.bin", 5000, 6);
    fake_transport_add(&fx->fake.transport, L"http://mirror2/a.bin", 5000, 6);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));

    /* While a chunk is in flight. */
    assert_hr(S_OK, begin(&chunk, NULL));
    free(file->remote_name);
    file->remote_name = fake_wcsdup(L"http://mirror/a.bin");
    memset(&cleanup, 0, sizeof(cleanup));
    engine_void_locked(eng(), job, &cleanup);
    assert_null(cleanup.stream);                                /* the worker owns it */
    engine_cleanup(eng(), &cleanup);
    assert_int_equal(1, fx->fake.transport.aborts);
    assert_state(BG_JOB_STATE_QUEUED, job);
    finish(&chunk);
    assert_int_equal(1000, file->bytes_transferred);
    assert_false(job->error.set);
    assert_int_equal(1, fx->fake.transport.streams_closed);
    assert_hr(S_OK, step(NULL));
    assert_wstr(L"http://mirror/a.bin", request(1)->url);
    assert_int_equal(1000, request(1)->offset);
    assert_int_equal(2000, file->bytes_transferred);

    /* Between chunks: the open stream is handed back at once. */
    free(file->remote_name);
    file->remote_name = fake_wcsdup(L"http://mirror2/a.bin");
    memset(&cleanup, 0, sizeof(cleanup));
    engine_void_locked(eng(), job, &cleanup);
    assert_non_null(cleanup.stream);
    engine_cleanup(eng(), &cleanup);
    assert_int_equal(2, fx->fake.transport.streams_closed);
    assert_null(job->run);

    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(3, fx->fake.transport.request_count);
    assert_wstr(L"http://mirror2/a.bin", request(2)->url);
    assert_int_equal(2000, request(2)->offset);
    check_content(file, 6, 5000);
    assert_int_equal(0, job->error_count);
    check_closed();
}

/* The shell fails a job itself (SetValidationState(FALSE) on a transferred file). */
static void test_fail_locked_transferred(void **state)
{
    static const struct transfer_error invalid = { BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_VALIDATION_FAILED, L"http" };
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct engine_cleanup cleanup = { 0 };
    int index;

    fake_transport_add(&fx->fake.transport, L"http://server/a", 1500, 22);
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);

    engine_fail_locked(eng(), job, BG_JOB_STATE_ERROR, &invalid, file, &cleanup);
    engine_cleanup(eng(), &cleanup);
    check_error(job, BG_JOB_STATE_ERROR, BG_E_VALIDATION_FAILED, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    index = fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_JOB_ERROR);
    assert_true(index >= 0);
    assert_ptr_equal(file, fx->fake.host.events[index].file);
    assert_hr(S_FALSE, step(NULL));
    check_closed();
}

/* The shell fails a job while a worker is in one of its chunks: the chunk counts for nothing and
 * its stream is let go, for ERROR and for TRANSIENT_ERROR alike; the retry opens a new stream
 * from the last byte counted. */
static void check_fail_locked_mid_chunk(BG_JOB_STATE to, HRESULT code)
{
    struct transfer_error error = { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, code, NULL };
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct engine_cleanup cleanup = { 0 };
    struct engine_chunk chunk;

    fake_transport_add(&fx->fake.transport, L"http://server/a", 3500, 23);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_hr(S_OK, begin(&chunk, NULL));
    engine_fail_locked(eng(), job, to, &error, file, &cleanup);
    engine_cleanup(eng(), &cleanup);             /* nothing: the worker's commit lets the run go */
    check_error(job, to, code, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file);
    assert_int_equal(1, fx->fake.transport.aborts);
    finish(&chunk);
    check_error(job, to, code, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, file);
    assert_int_equal(1000, file->bytes_transferred);
    check_closed();

    if (to == BG_JOB_STATE_ERROR) engine_resume_locked(eng(), job);
    else advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(1000, request(1)->offset);
    check_content(file, 23, 3500);
    check_closed();
}

/* On demand (File6): only the requested ranges are fetched, each at its own offset in the
 * temporary file, and the job then waits in SUSPENDED; requesting the rest makes it whole and
 * TRANSFERRED (BITS-SPEC.md §2.7). */
static void test_on_demand(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/od", L"od");
    struct fake_stored_file *stored;
    UINT64 i;

    fake_transport_add(&fx->fake.transport, L"http://server/od", 10000, 31);
    job->on_demand = TRUE;
    assert_hr(S_OK, range_list_add(&file->requested, 7000, 500));
    assert_hr(S_OK, range_list_add(&file->requested, 2000, 1000));
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_SUSPENDED, job);
    assert_false(file->transferred);
    assert_int_equal(file->bytes_total, 10000);
    assert_int_equal(file->bytes_transferred, 1500);
    assert_int_equal(file->filled.count, 2);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(2000, request(0)->offset);
    assert_int_equal(1000, request(0)->length);
    assert_int_equal(7000, request(1)->offset);
    stored = fake_storage_find(&fx->fake.storage, file->temp_name);
    assert_non_null(stored);
    for (i = 2000; i < 3000; ++i) assert_int_equal(stored->data[i], fake_remote_byte(31, i));
    for (i = 7000; i < 7500; ++i) assert_int_equal(stored->data[i], fake_remote_byte(31, i));
    assert_true(events(job, ENGINE_EVENT_FILE_RANGES_TRANSFERRED) >= 2);
    assert_int_equal(events(job, ENGINE_EVENT_FILE_TRANSFERRED), 0);
    check_closed();

    /* The download position decides where the next request starts. */
    assert_hr(S_OK, range_list_add(&file->requested, 0, BG_LENGTH_TO_EOF));
    file->download_position = 8000;
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(8000, request(2)->offset);
    check_content(file, 31, 10000);
    assert_int_equal(events(job, ENGINE_EVENT_FILE_TRANSFERRED), 1);
    check_closed();
}

/* The shell fails a job between two of its chunks: the open stream and temporary file are
 * handed back at once (not kept for the retry), and the retry opens a new stream. */
static void test_fail_locked_between_chunks(void **state)
{
    struct transfer_error error = { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_HTTP_ERROR_503, NULL };
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct engine_cleanup cleanup = { 0 };

    fake_transport_add(&fx->fake.transport, L"http://server/a", 3500, 24);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));                 /* one chunk: the stream stays open */
    engine_fail_locked(eng(), job, BG_JOB_STATE_TRANSIENT_ERROR, &error, file, &cleanup);
    assert_non_null(cleanup.stream);
    engine_cleanup(eng(), &cleanup);
    check_closed();
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(1000, request(1)->offset);
    check_content(file, 24, 3500);
    check_closed();
}

static void test_fail_locked_mid_chunk(void **state)
{
    check_fail_locked_mid_chunk(BG_JOB_STATE_ERROR, BG_E_VALIDATION_FAILED);
}

static void test_fail_locked_transient_mid_chunk(void **state)
{
    check_fail_locked_mid_chunk(BG_JOB_STATE_TRANSIENT_ERROR, BG_E_NETWORK_DISCONNECTED);
}

/* -------------------------------------------------------------------------------------------- */
/* AddFileWithRanges                                                                              */

static void check_ranges(const BG_FILE_RANGE *ranges, DWORD count, UINT64 remote_size, UINT64 total)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file_ranges(job, L"http://server/r.bin", L"r.bin", ranges, count);
    DWORD i;

    fake_transport_add(&fx->fake.transport, L"http://server/r.bin", remote_size, 8);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_int_equal(total, file->bytes_total);
    assert_int_equal(INFINITE, run_idle());

    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(total, file->bytes_total);
    assert_int_equal(total, file->bytes_transferred);
    assert_int_equal(1, events(job, ENGINE_EVENT_FILE_TRANSFERRED));
    /* One request per range, in the caller's order. */
    assert_int_equal(count, fx->fake.transport.request_count);
    for (i = 0; i < count; ++i)
    {
        UINT64 length = ranges[i].Length;

        assert_int_equal(ranges[i].InitialOffset, request(i)->offset);
        if (i && length == BG_LENGTH_TO_EOF) length = remote_size - ranges[i].InitialOffset;
        assert_int_equal(length, request(i)->length);
    }
    check_ranges_content(file, 8, remote_size, ranges, count);
    check_closed();
}

static void test_ranges_back_to_back(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 100, 500 }, { 9500, BG_LENGTH_TO_EOF }, { 2000, 2300 } };

    check_ranges(ranges, ARRAY_SIZE(ranges), 10000, 500 + 500 + 2300);
}

/* The first range runs to the end of a file whose size is not known yet. */
static void test_ranges_eof_first(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 8800, BG_LENGTH_TO_EOF }, { 0, 100 } };

    check_ranges(ranges, ARRAY_SIZE(ranges), 10000, 1200 + 100);
}

static void check_ranges_error(const BG_FILE_RANGE *ranges, DWORD count, BOOL no_ranges, HRESULT code)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file_ranges(job, L"http://server/r.bin", L"r.bin", ranges, count);
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/r.bin", 10000, 8);

    remote->no_ranges = no_ranges;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    check_error(job, BG_JOB_STATE_ERROR, code, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_TRANSFERRED));
    check_closed();
}

static void test_range_outside_file(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 100, 100 }, { 20000, 10 } };

    check_ranges_error(ranges, ARRAY_SIZE(ranges), FALSE, BG_E_INVALID_RANGE);
}

static void test_range_past_end(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 9990, 20 } };

    check_ranges_error(ranges, ARRAY_SIZE(ranges), FALSE, BG_E_INVALID_RANGE);
}

/* The first range is outside the file: the server answers 416. */
static void test_first_range_outside_file(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 20000, 10 }, { 0, 10 } };

    check_ranges_error(ranges, ARRAY_SIZE(ranges), FALSE, BG_E_INVALID_RANGE);
}

static void test_ranges_without_server_support(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 100, 500 } };

    check_ranges_error(ranges, ARRAY_SIZE(ranges), TRUE, BG_E_INSUFFICIENT_RANGE_SUPPORT);
}

/* A first range at byte 0 comes even from a server without ranges; the second cannot. */
static void test_ranges_without_server_support_later(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 0, 500 }, { 1000, 500 } };

    check_ranges_error(ranges, ARRAY_SIZE(ranges), TRUE, BG_E_INSUFFICIENT_RANGE_SUPPORT);
    assert_int_equal(500, fx->jobs[0]->files[0]->bytes_transferred);
}

/* -------------------------------------------------------------------------------------------- */
/* Sizes and limits                                                                               */

static void test_size_unknown(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/dyn", L"dyn");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/dyn", 3500, 12);

    remote->size_unknown = TRUE;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    check_error(job, BG_JOB_STATE_ERROR, BG_E_MISSING_FILE_SIZE, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    check_closed();
}

static void test_dynamic_content(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/dyn", L"dyn");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/dyn", 3500, 12);

    remote->size_unknown = TRUE;
    job->dynamic_content = TRUE;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSFERRING, job);
    assert_int_equal(BG_SIZE_UNKNOWN, file->bytes_total);
    assert_int_equal(1000, file->bytes_transferred);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(3500, file->bytes_total);
    assert_int_equal(3500, file->bytes_transferred);
    check_content(file, 12, 3500);
    check_closed();
}

/* DYNAMIC_CONTENT: any interruption restarts the file from byte 0 (BITS-SPEC.md §2.6). */
static void test_dynamic_content_restarts(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/dyn", L"dyn");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/dyn", 3500, 12);

    remote->size_unknown = TRUE;
    remote->read_failures = 1;
    remote->read_fail_after = 2000;
    remote->read_error = connection_lost;
    job->dynamic_content = TRUE;
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_int_equal(0, request(1)->offset);
    assert_int_equal(3500, file->bytes_total);
    assert_int_equal(3500, file->bytes_transferred);
    check_content(file, 12, 3500);
    check_closed();
}

static void test_max_download_size(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");

    fake_transport_add(&fx->fake.transport, L"http://server/a", 5000, 13);
    job->max_download_size = 2500;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    check_error(job, BG_JOB_STATE_ERROR, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_false(file->transferred);
    check_closed();
}

/* The limit counts the job's bytes, over every file; reaching it exactly is fine. */
static void test_max_download_size_job_total(void **state)
{
    struct engine_job *ok = new_job(BG_JOB_PRIORITY_NORMAL), *over = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file;

    fake_transport_add(&fx->fake.transport, L"http://server/a", 2000, 13);
    fake_transport_add(&fx->fake.transport, L"http://server/b", 2000, 14);
    add_file(ok, L"http://server/a", L"ok-a");
    add_file(ok, L"http://server/b", L"ok-b");
    ok->max_download_size = 4000;
    add_file(over, L"http://server/a", L"over-a");
    file = add_file(over, L"http://server/b", L"over-b");
    over->max_download_size = 3999;
    engine_resume_locked(eng(), ok);
    engine_resume_locked(eng(), over);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, ok);
    check_error(over, BG_JOB_STATE_ERROR, BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, BG_ERROR_CONTEXT_REMOTE_FILE, file);
    assert_true(over->files[0]->transferred);
    check_closed();
}

/* The time in CONNECTING/TRANSFERRING is over the limit when the chunk commits. */
static void test_max_download_time(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_chunk chunk;
    DWORD wait;

    add_file(job, L"http://server/a", L"a");
    fake_transport_add(&fx->fake.transport, L"http://server/a", 5000, 13);
    job->max_download_time = 10;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    advance(SECONDS(4));
    assert_hr(S_OK, step(NULL));
    assert_state(BG_JOB_STATE_TRANSFERRING, job);

    assert_hr(S_OK, begin(&chunk, NULL));
    advance(SECONDS(11));
    finish(&chunk);
    check_error(job, BG_JOB_STATE_ERROR, BG_E_MAXDOWNLOAD_TIMEOUT, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, NULL);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(INFINITE, wait);
    check_closed();
}

/* Another worker's begin sees the running job out of time and aborts its read; the commit then
 * reports the timeout, not the abort. */
static void test_max_download_time_aborts(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_chunk chunk, other;
    DWORD wait;

    add_file(job, L"http://server/a", L"a");
    fake_transport_add(&fx->fake.transport, L"http://server/a", 5000, 13);
    job->max_download_time = 10;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, step(NULL));
    assert_hr(S_OK, begin(&chunk, NULL));
    assert_hr(S_FALSE, begin(&other, &wait));
    assert_int_equal(SECONDS(10), wait);
    advance(SECONDS(10));
    assert_hr(S_FALSE, begin(&other, &wait));
    assert_int_equal(1, fx->fake.transport.aborts);
    finish(&chunk);
    check_error(job, BG_JOB_STATE_ERROR, BG_E_MAXDOWNLOAD_TIMEOUT, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, NULL);
    check_closed();
}

/* Time in TRANSIENT_ERROR does not count, and Resume starts the count again. */
static void test_max_download_time_counts_transfer_only(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_remote *remote = fake_transport_add(&fx->fake.transport, L"http://server/a", 3000, 13);
    struct engine_chunk chunk;

    remote->open_failures = 1;
    remote->open_error = http_503;
    job->max_download_time = 10;
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, begin(&chunk, NULL));
    advance(SECONDS(6));
    finish(&chunk);
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    advance(SECONDS(DEFAULT_RETRY_DELAY));

    assert_hr(S_OK, begin(&chunk, NULL));
    advance(SECONDS(3));
    finish(&chunk);
    assert_state(BG_JOB_STATE_TRANSFERRING, job);              /* 9 s of 10 */

    suspend(job);
    engine_resume_locked(eng(), job);
    assert_hr(S_OK, begin(&chunk, NULL));
    advance(SECONDS(8));
    finish(&chunk);
    assert_state(BG_JOB_STATE_TRANSFERRING, job);              /* 8 s since Resume */
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_content(file, 13, 3000);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Local files                                                                                    */

static void test_temp_name_taken(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");
    struct fake_stored_file *other;

    fake_transport_add(&fx->fake.transport, L"http://server/a", 2500, 15);
    fake_storage_put(&fx->fake.storage, L"C:\\dl\\BITa.tmp", "not ours", 8);
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());

    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(1, fx->fake.host.temp_names);
    assert_wstr(L"C:\\dl\\BITnew01.tmp", file->temp_name);
    check_content(file, 15, 2500);
    assert_non_null(other = fake_storage_find(&fx->fake.storage, L"C:\\dl\\BITa.tmp"));
    assert_int_equal(8, other->size);
    assert_memory_equal("not ours", other->data, 8);
    assert_int_equal(1, fx->fake.transport.request_count);   /* no request without a file */
    assert_int_equal(0, job->error_count);
    assert_int_equal(0, events(job, ENGINE_EVENT_JOB_ERROR));
    check_closed();
}

/* No other name to be had: the job fails on the local file. */
static void test_temp_name_taken_no_other(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");

    fake_transport_add(&fx->fake.transport, L"http://server/a", 2500, 15);
    fake_storage_put(&fx->fake.storage, L"C:\\dl\\BITa.tmp", "not ours", 8);
    fx->fake.host.temp_name_hr = E_FAIL;
    job->no_progress_timeout = 0;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    check_error(job, BG_JOB_STATE_ERROR, HRESULT_FROM_WIN32(ERROR_FILE_EXISTS), BG_ERROR_CONTEXT_LOCAL_FILE, file);
    assert_int_equal(0, fx->fake.transport.request_count);
    check_closed();
}

static void test_storage_write_failure(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");

    fake_transport_add(&fx->fake.transport, L"http://server/a", 3000, 16);
    fx->fake.storage.write_countdown = 2;
    fx->fake.storage.write_hr = E_ACCESSDENIED;
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    check_error(job, BG_JOB_STATE_ERROR, E_ACCESSDENIED, BG_ERROR_CONTEXT_LOCAL_FILE, file);
    assert_int_equal(1000, file->bytes_transferred);
    assert_int_equal(1, events(job, ENGINE_EVENT_JOB_ERROR));
    check_closed();
}

/* A full disk is transient: the retry goes on from the last byte written. */
static void test_storage_disk_full(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *file = add_file(job, L"http://server/a", L"a");

    fake_transport_add(&fx->fake.transport, L"http://server/a", 3000, 16);
    fx->fake.storage.write_countdown = 2;
    fx->fake.storage.write_hr = HRESULT_FROM_WIN32(ERROR_DISK_FULL);
    engine_resume_locked(eng(), job);
    assert_int_equal(SECONDS(DEFAULT_RETRY_DELAY), run_idle());
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HRESULT_FROM_WIN32(ERROR_DISK_FULL), BG_ERROR_CONTEXT_LOCAL_FILE, file);
    advance(SECONDS(DEFAULT_RETRY_DELAY));
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(1000, request(1)->offset);
    check_content(file, 16, 3000);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Other jobs                                                                                     */

/* A file added to a TRANSFERRED job, then Resume: only the new file is fetched. */
static void test_resume_transferred_with_new_file(void **state)
{
    struct engine_job *job = new_job(BG_JOB_PRIORITY_NORMAL);
    struct engine_file *first, *second;

    first = add_file(job, L"http://server/a", L"a");
    fake_transport_add(&fx->fake.transport, L"http://server/a", 1500, 18);
    fake_transport_add(&fx->fake.transport, L"http://server/b", 2500, 19);
    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);

    /* Resume of a TRANSFERRED job without a new file changes nothing. */
    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_TRANSFERRED, job);

    second = add_file(job, L"http://server/b", L"b");
    engine_resume_locked(eng(), job);
    assert_state(BG_JOB_STATE_QUEUED, job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(2, fx->fake.transport.request_count);
    assert_wstr(L"http://server/b", request(1)->url);
    check_content(first, 18, 1500);
    check_content(second, 19, 2500);
    assert_int_equal(2, events(job, ENGINE_EVENT_JOB_TRANSFERRED));
    check_closed();
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] =
    {
        TEST(test_single_file),
        TEST(test_files_in_order),
        TEST(test_abort_while_opening),
        TEST(test_priority_order),
        TEST(test_time_slice),
        TEST(test_lowest_priority_yields),
        TEST(test_foreground_not_kept_waiting),
        TEST(test_concurrency_bound),
        TEST(test_transient_then_retry),
        TEST(test_fatal_404),
        TEST(test_resume_retries_now),
        TEST(test_no_progress_timeout),
        TEST(test_no_progress_timeout_starts_at_first_error),
        TEST(test_progress_resets_no_progress_timeout),
        TEST(test_no_progress_timeout_zero),
        TEST(test_retry_delay_over_timeout),
        TEST(test_custom_method),
        TEST(test_error_classification),
        TEST(test_resume_after_read_failure),
        TEST(test_server_ignores_ranges),
        TEST(test_remote_time_change_restarts),
        TEST(test_remote_size_change_restarts),
        TEST(test_temp_file_cut_short),
        TEST(test_redirect),
        TEST(test_body_ends_early),
        TEST(test_ranges_resume_mid_range),
        TEST(test_suspend_mid_chunk),
        TEST(test_suspend_first_chunk),
        TEST(test_suspend_resume_mid_chunk),
        TEST(test_cancel_mid_chunk),
        TEST(test_void_remote_name_change),
        TEST(test_fail_locked_transferred),
        TEST(test_fail_locked_mid_chunk),
        TEST(test_fail_locked_between_chunks),
        TEST(test_on_demand),
        TEST(test_fail_locked_transient_mid_chunk),
        TEST(test_ranges_back_to_back),
        TEST(test_ranges_eof_first),
        TEST(test_range_outside_file),
        TEST(test_range_past_end),
        TEST(test_first_range_outside_file),
        TEST(test_ranges_without_server_support),
        TEST(test_ranges_without_server_support_later),
        TEST(test_size_unknown),
        TEST(test_dynamic_content),
        TEST(test_dynamic_content_restarts),
        TEST(test_max_download_size),
        TEST(test_max_download_size_job_total),
        TEST(test_max_download_time),
        TEST(test_max_download_time_aborts),
        TEST(test_max_download_time_counts_transfer_only),
        TEST(test_temp_name_taken),
        TEST(test_temp_name_taken_no_other),
        TEST(test_storage_write_failure),
        TEST(test_storage_disk_full),
        TEST(test_resume_transferred_with_new_file),
    };
#undef TEST

    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
