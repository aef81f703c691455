/* SPDX-License-Identifier: MIT */
/* Upload and upload-reply jobs in the transfer engine (src/core/engine.c with src/core/upload.c,
 * BITS-SPEC.md §9, §2.2, §2.3), driven packet by packet through the fakes of
 * tests/core/fake_engine.h: a fake BITS upload server behind the fake transport, the local file in
 * fake storage, a fake clock. Nothing sleeps or races.
 *
 * Covered: whole uploads (sizes, fragments, Content-Name, progress, events) and the empty file;
 * resuming from the server's offset after a failure, a 416 and a lost session; servers that do
 * not speak the protocol, a protocol mismatch, server and server-application errors with their
 * contexts and classes; a local file that changes; Host-Id and its fallback; upload-reply
 * (relative reply URL, the reply kept in memory or too large for it, no reply, a bad reply URL);
 * Close-Session after the transfer and Cancel-Session on Cancel, sent again on 5xx and failures
 * until their deadline, not after 4xx or BG_E_SESSION_NOT_FOUND, and once more when stopping.
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

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))
#define assert_state(expected, job) assert_int_equal((expected), (job)->state)
#define assert_wstr(expected, actual) assert_true(fake_wcseq((expected), (actual)))

#define SECONDS(s) ((UINT64)(s) * 1000)
#define RETRY_DELAY 600
#define HR_WIN32(code) ((HRESULT)(0x80070000u | (code)))
#define HR_CONNECTION_ERROR HR_WIN32(12030)       /* ERROR_WINHTTP_CONNECTION_ERROR */
#define HR_CANNOT_CONNECT HR_WIN32(12029)         /* ERROR_WINHTTP_CANNOT_CONNECT */

static const struct transfer_error connection_lost = { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, HR_CONNECTION_ERROR, L"http" };
static const struct transfer_error cannot_connect = { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, HR_CANNOT_CONNECT, L"http" };

#define UPLOAD_URL L"http://server/upload/file.bin"
#define LOCAL_NAME L"C:\\up\\file.bin"

/* -------------------------------------------------------------------------------------------- */
/* The fixture                                                                                    */

#define MAX_JOBS 4

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

static struct engine *eng(void)
{
    return &fx->fake.engine;
}

static void advance(UINT64 ms)
{
    fx->fake.clock.now += ms;
}

static BYTE local_byte(UINT64 i)
{
    return (BYTE)(i * 7 + i / 251 + 3);
}

/* An upload (or upload-reply) job with one file of `size` bytes in fake storage, as the shell
 * builds it, and a fake upload server at UPLOAD_URL. */
static struct engine_job *new_upload(BG_JOB_TYPE type, UINT64 size, struct fake_upload **server)
{
    struct engine_job *job = calloc(1, sizeof(*job));
    struct engine_file *file = calloc(1, sizeof(*file));
    BYTE *data = malloc(size ? size : 1);
    UINT64 i;

    assert_non_null(job);
    assert_non_null(file);
    assert_non_null(data);
    assert_true(fx->job_count < MAX_JOBS);
    fx->jobs[fx->job_count++] = job;
    engine_job_init(job, type);
    job->state = BG_JOB_STATE_SUSPENDED;
    job->priority = BG_JOB_PRIORITY_NORMAL;
    job->retry_delay = RETRY_DELAY;
    job->no_progress_timeout = 1209600;
    job->max_download_time = 7776000;
    job->max_download_size = ~(UINT64)0;

    assert_hr(S_OK, validate_remote_name(UPLOAD_URL, &file->kind));
    assert_non_null(file->remote_name = fake_wcsdup(UPLOAD_URL));
    assert_non_null(file->local_name = fake_wcsdup(LOCAL_NAME));
    file->bytes_total = BG_SIZE_UNKNOWN;
    file->remote_size = BG_SIZE_UNKNOWN;
    range_list_init(&file->requested);
    range_list_init(&file->filled);
    assert_non_null(job->files = malloc(sizeof(*job->files)));
    job->files[0] = file;
    job->file_count = job->file_capacity = 1;
    if (type == BG_JOB_TYPE_UPLOAD_REPLY) assert_non_null(job->reply.local_name = fake_wcsdup(L"C:\\up\\reply.txt"));

    for (i = 0; i < size; ++i) data[i] = local_byte(i);
    fake_storage_put(&fx->fake.storage, LOCAL_NAME, data, size);
    free(data);
    *server = fake_transport_add_upload(&fx->fake.transport, UPLOAD_URL);
    return job;
}

static HRESULT step(DWORD *wait)
{
    struct engine_cleanup cleanup;
    struct engine_chunk chunk;
    DWORD ignored;
    HRESULT hr = engine_begin_chunk_locked(eng(), &chunk, wait ? wait : &ignored);

    assert_true(hr == S_OK || hr == S_FALSE);
    if (hr != S_OK) return hr;
    engine_transfer_chunk(eng(), &chunk);
    engine_commit_chunk_locked(eng(), &chunk, &cleanup);
    engine_cleanup(eng(), &cleanup);
    return S_OK;
}

static DWORD run_idle(void)
{
    unsigned int n;
    DWORD wait;

    for (n = 0; n < 100000; ++n)
        if (step(&wait) == S_FALSE) return wait;
    fail_msg("the engine never went idle");
    return 0;
}

/* Steps until the server has seen `count` packets in all. */
static void run_packets(unsigned int count)
{
    unsigned int n;

    for (n = 0; n < 1000 && fx->fake.transport.packet_count < count; ++n)
        assert_hr(S_OK, step(NULL));
    assert_int_equal(fx->fake.transport.packet_count, count);
}

static void cancel(struct engine_job *job)
{
    struct engine_cleanup cleanup;

    memset(&cleanup, 0, sizeof(cleanup));
    assert_hr(S_OK, job_state_transition(&job->state, BG_JOB_STATE_CANCELLED));
    engine_cancel_locked(eng(), job, &cleanup);
    engine_cleanup(eng(), &cleanup);
}

static const struct fake_packet *packet(unsigned int i)
{
    assert_true(i < fx->fake.transport.packet_count);
    return &fx->fake.transport.packets[i];
}

/* The server holds exactly the local file's size bytes. */
static void check_uploaded(const struct fake_upload *server, UINT64 size)
{
    UINT64 i;

    assert_true(server->complete);
    assert_int_equal(server->received, size);
    for (i = 0; i < size; ++i)
        if (server->data[i] != local_byte(i)) fail_msg("byte %llu differs", (unsigned long long)i);
}

static void check_closed(void)
{
    unsigned int i;

    assert_int_equal(fx->fake.transport.streams_opened, fx->fake.transport.streams_closed);
    assert_int_equal(fx->fake.storage.opens, fx->fake.storage.closes);
    assert_int_equal(eng()->running, 0);
    for (i = 0; i < fx->job_count; ++i)
    {
        assert_null(fx->jobs[i]->run);
        assert_false(fx->jobs[i]->running);
    }
    /* Farewells keep their snapshot until they are done. */
    if (!eng()->farewells) assert_int_equal(fx->fake.host.snapshots, fx->fake.host.frees);
}

static void check_error(const struct engine_job *job, BG_JOB_STATE state, HRESULT code, BG_ERROR_CONTEXT context)
{
    assert_state(state, job);
    assert_true(job->error.set);
    assert_hr(code, job->error.code);
    assert_int_equal(context, job->error.context);
    assert_ptr_equal(job->files[0], job->error.file);
}

static unsigned int events(const struct engine_job *job, enum engine_event_kind kind)
{
    return fake_host_count(&fx->fake.host, job, kind);
}

static void script(struct fake_upload *server, enum bits_packet type, unsigned int nth, DWORD status,
                   const WCHAR *headers)
{
    struct fake_answer answer = { 0 };

    answer.packet = type;
    answer.nth = nth;
    answer.status = status;
    answer.headers = headers;
    fake_upload_script(server, &answer);
}

static void script_failure(struct fake_upload *server, enum bits_packet type, unsigned int nth,
                           const struct transfer_error *error)
{
    struct fake_answer answer = { 0 };

    answer.packet = type;
    answer.nth = nth;
    answer.fail_send = TRUE;
    answer.error = *error;
    fake_upload_script(server, &answer);
}

/* -------------------------------------------------------------------------------------------- */
/* Whole uploads                                                                                 */

static void test_upload(void **state)
{
    const UINT64 size = 3 * 1024 * 1024 + 5;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, size, &server);
    UINT64 offset = 0;
    DWORD expected = UPLOAD_FRAGMENT_FIRST;
    unsigned int i;

    engine_resume_locked(eng(), job);
    assert_int_equal(INFINITE, run_idle());
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, size);
    assert_true(job->files[0]->transferred);
    assert_int_equal(job->files[0]->bytes_total, size);
    assert_int_equal(job->files[0]->bytes_transferred, size);

    /* Ping, Create-Session, fragments growing from the first size, Close-Session. */
    assert_int_equal(packet(0)->packet, BITS_PACKET_PING);
    assert_wstr(UPLOAD_URL, packet(0)->url);
    assert_int_equal(packet(1)->packet, BITS_PACKET_CREATE_SESSION);
    assert_wstr(L"", packet(1)->session_id);
    for (i = 2; offset < size; ++i)
    {
        DWORD length = size - offset < expected ? (DWORD)(size - offset) : expected;
        assert_int_equal(packet(i)->packet, BITS_PACKET_FRAGMENT);
        assert_wstr(L"{fake-session-1}", packet(i)->session_id);
        assert_int_equal(packet(i)->first, offset);
        assert_int_equal(packet(i)->length, length);
        assert_int_equal(packet(i)->total, size);
        assert_int_equal(packet(i)->content_name, offset == 0);
        assert_int_equal(packet(i)->timeout_ms, 0);
        offset += length;
        expected = expected * 2 > UPLOAD_FRAGMENT_MAX ? UPLOAD_FRAGMENT_MAX : expected * 2;
    }
    assert_int_equal(i, 2 + 4);               /* 256 KiB, 512 KiB, 1 MiB, the rest */
    assert_int_equal(packet(i)->packet, BITS_PACKET_CLOSE_SESSION);
    assert_wstr(L"{fake-session-1}", packet(i)->session_id);
    assert_true(packet(i)->timeout_ms > 0);
    assert_int_equal(fx->fake.transport.packet_count, i + 1);
    assert_int_equal(server->closes, 1);
    assert_int_equal(server->body_bytes, size);
    assert_null(eng()->farewells);
    assert_null(job->upload.session_id);

    /* Progress after each fragment; TRANSFERRED once; no FileTransferred for an upload. */
    assert_int_equal(events(job, ENGINE_EVENT_JOB_MODIFICATION), 4);
    assert_int_equal(events(job, ENGINE_EVENT_JOB_TRANSFERRED), 1);
    assert_int_equal(events(job, ENGINE_EVENT_FILE_TRANSFERRED), 0);
    assert_false(job->error.set);
    /* The local file was opened once and read once per fragment. */
    assert_int_equal(fx->fake.storage.read_opens, 1);
    assert_int_equal(fx->fake.storage.reads, 4);
    check_closed();
}

static void test_upload_empty_file(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 0, &server);

    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(packet(2)->packet, BITS_PACKET_FRAGMENT);
    assert_int_equal(packet(2)->length, 0);
    assert_true(packet(2)->content_name);
    assert_true(server->complete);
    assert_int_equal(job->files[0]->bytes_total, 0);
    assert_int_equal(server->closes, 1);
    check_closed();
}

static void test_upload_one_byte(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1, &server);

    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, 1);
    assert_int_equal(packet(2)->length, 1);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Resuming                                                                                      */

/* A connection lost during a fragment: TRANSIENT_ERROR; the retry goes on from the server's
 * offset in the same session, with a smaller fragment. */
static void test_upload_resumes_after_failure(void **state)
{
    const UINT64 size = 2 * 1024 * 1024;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, size, &server);
    DWORD wait;

    script_failure(server, BITS_PACKET_FRAGMENT, 3, &connection_lost);
    engine_resume_locked(eng(), job);
    wait = run_idle();
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HR_CONNECTION_ERROR, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    assert_int_equal(wait, SECONDS(RETRY_DELAY));
    assert_int_equal(job->files[0]->bytes_transferred, 3 * 256 * 1024);
    assert_int_equal(job->upload.fragment_size, 512 * 1024);      /* halved from 1 MiB */
    check_closed();

    advance(SECONDS(RETRY_DELAY));
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, size);
    assert_int_equal(server->sessions, 1);
    /* The fragment after the failure started at the server's offset: nothing sent twice but
     * the failed fragment itself. */
    assert_int_equal(packet(5)->first, 3 * 256 * 1024);
    assert_int_equal(server->body_bytes, size);
    assert_int_equal(server->packets[BITS_PACKET_PING], 1);
    assert_false(job->error.set);
    check_closed();
}

/* The server says it has more than the client knew (it kept part of a fragment cut short):
 * the next fragment starts there. */
static void test_upload_follows_server_offset(void **state)
{
    const UINT64 size = 1024 * 1024;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, size, &server);
    UINT64 i;

    script_failure(server, BITS_PACKET_FRAGMENT, 2, &connection_lost);
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    /* The server kept 100000 bytes of the cut fragment. */
    assert_non_null(server->data = realloc(server->data, size));
    server->capacity = size;
    for (i = server->received; i < 256 * 1024 + 100000; ++i) server->data[i] = local_byte(i);
    server->received = 256 * 1024 + 100000;
    engine_resume_locked(eng(), job);        /* retry now */
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, size);
    /* The retried fragment overlapped; the one after it began at the server's word. */
    assert_int_equal(packet(4)->first, 256 * 1024);
    assert_int_equal(packet(5)->first, packet(4)->first + packet(4)->length);
    check_closed();
}

/* A 416: the server lost bytes; the client goes back to where the server is. */
static void test_upload_416(void **state)
{
    const UINT64 size = 1024 * 1024;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, size, &server);

    engine_resume_locked(eng(), job);
    run_packets(4);                           /* Ping, Create, two fragments */
    assert_int_equal(job->files[0]->bytes_transferred, 768 * 1024);
    server->received = 1000;                  /* lost the rest */
    run_packets(5);
    assert_int_equal(packet(4)->first, 768 * 1024);
    assert_int_equal(job->files[0]->bytes_transferred, 1000);
    assert_state(BG_JOB_STATE_TRANSFERRING, job);
    assert_false(job->error.set);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(packet(5)->first, 1000);
    check_uploaded(server, size);
    check_closed();
}

/* The server forgot the session: a new one, from the start (Ping is not sent again). */
static void test_upload_session_lost(void **state)
{
    const UINT64 size = 600 * 1024;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, size, &server);

    engine_resume_locked(eng(), job);
    run_packets(3);
    server->session = 0;
    server->received = 0;
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(packet(3)->packet, BITS_PACKET_FRAGMENT);
    assert_int_equal(packet(4)->packet, BITS_PACKET_CREATE_SESSION);
    assert_int_equal(packet(5)->first, 0);
    assert_wstr(L"{fake-session-2}", packet(5)->session_id);
    assert_int_equal(server->sessions, 2);
    assert_int_equal(server->packets[BITS_PACKET_PING], 1);
    check_uploaded(server, size);
    check_closed();
}

/* A session lost before it carried a byte: a transient error, not a loop. */
static void test_upload_fresh_session_lost(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &server);

    script(server, BITS_PACKET_FRAGMENT, 1, 500,
           L"BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x8020001F\r\nBITS-Error-Context: 0x5\r\n");
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, BG_E_SESSION_NOT_FOUND, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_int_equal(fx->fake.transport.packet_count, 3);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Servers that fail or do not follow the protocol                                               */

static void test_upload_not_a_bits_server(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &server), *other;

    /* A 200 without any BITS header: fatal, BG_E_HTTP_ERROR_200. */
    script(server, BITS_PACKET_PING, 1, 200, L"Content-Type: text/html\r\n");
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_200, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_wstr(L"http", job->error.protocol);
    assert_int_equal(fx->fake.transport.packet_count, 1);
    assert_int_equal(events(job, ENGINE_EVENT_JOB_ERROR), 1);

    /* No upload service at all there (a plain 404). */
    other = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);
    free(other->files[0]->remote_name);
    other->files[0]->remote_name = fake_wcsdup(L"http://server/nothing");
    engine_resume_locked(eng(), other);
    run_idle();
    check_error(other, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_404, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_null(eng()->farewells);
    check_closed();
}

static void test_upload_bad_answers(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &server);

    /* Another protocol than the one offered. */
    script(server, BITS_PACKET_CREATE_SESSION, 1, 200, L"BITS-Packet-Type: Ack\r\nBITS-Session-Id: {x}\r\n"
           L"BITS-Protocol: {00000000-0000-0000-0000-000000000000}\r\n");
    /* Then a malformed ack. */
    script(server, BITS_PACKET_CREATE_SESSION, 2, 200, L"BITS-Packet-Type: Ack\r\nBITS-Session-Id: {x}\r\n"
           L"BITS-Session-Id: {y}\r\nBITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n");
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, BG_ERROR_CONTEXT_REMOTE_FILE);
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE);
    /* The third time is fine. */
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, 1000);
    check_closed();
}

static void test_upload_server_errors(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &server);

    /* A 503 with the server's code: transient, with that code. */
    script(server, BITS_PACKET_FRAGMENT, 1, 503,
           L"BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80070070\r\nBITS-Error-Context: 0x5\r\n");
    /* Then a 413: the upload is too large for the server, fatal. */
    script(server, BITS_PACKET_FRAGMENT, 2, 413,
           L"BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80200020\r\nBITS-Error-Context: 0x5\r\n");
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, 0x80070070, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_int_equal(events(job, ENGINE_EVENT_JOB_ERROR), 0);
    assert_int_equal(job->error_count, 1);
    advance(SECONDS(RETRY_DELAY));
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_TOO_LARGE, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_int_equal(events(job, ENGINE_EVENT_JOB_ERROR), 1);
    /* The session is the job's still: Cancel sends Cancel-Session. */
    cancel(job);
    run_idle();
    assert_int_equal(server->cancels, 1);
    check_closed();
}

/* The local file changed during the upload: fatal, context LOCAL_FILE. */
static void test_upload_local_file_changed(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1024 * 1024, &server);
    struct fake_stored_file *local = fake_storage_find(&fx->fake.storage, LOCAL_NAME);

    engine_resume_locked(eng(), job);
    run_packets(3);
    local->time.dwLowDateTime++;
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_LOCAL_FILE_CHANGED, BG_ERROR_CONTEXT_LOCAL_FILE);
    assert_int_equal(fx->fake.transport.packet_count, 3);
    /* Put back as it was, the upload goes on (Resume); a shorter file is a change too. */
    local->time.dwLowDateTime--;
    engine_resume_locked(eng(), job);
    run_packets(4);
    local->size -= 1;
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_LOCAL_FILE_CHANGED, BG_ERROR_CONTEXT_LOCAL_FILE);
    check_closed();
}

/* A local file that is gone: the open fails with context LOCAL_FILE. */
static void test_upload_local_file_missing(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);

    fake_storage_find(&fx->fake.storage, LOCAL_NAME)->used = FALSE;
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), BG_ERROR_CONTEXT_LOCAL_FILE);
    assert_int_equal(fx->fake.transport.packet_count, 0);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Host-Id                                                                                       */

static void test_host_id(void **state)
{
    struct fake_upload *server, *elsewhere;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 600 * 1024, &server);

    server->host_id = L"farm7:8080";
    server->fallback = L"30";
    /* The farm's host has the same session (a fake server of its own sharing nothing but the
     * name: it answers the first fragment, then cannot be reached). */
    elsewhere = fake_transport_add_upload(&fx->fake.transport, L"http://farm7:8080/upload/file.bin");
    elsewhere->session = 1;
    elsewhere->sessions = 1;
    script_failure(elsewhere, BITS_PACKET_FRAGMENT, 2, &cannot_connect);
    script_failure(elsewhere, BITS_PACKET_FRAGMENT, 3, &cannot_connect);
    engine_resume_locked(eng(), job);
    run_idle();
    assert_wstr(UPLOAD_URL, packet(1)->url);
    assert_wstr(L"http://farm7:8080/upload/file.bin", packet(2)->url);
    assert_wstr(L"http://farm7:8080/upload/file.bin", packet(3)->url);
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HR_CANNOT_CONNECT, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);

    /* Within the fallback timeout: the farm's host again. */
    advance(SECONDS(20));
    engine_resume_locked(eng(), job);
    run_idle();
    assert_wstr(L"http://farm7:8080/upload/file.bin", packet(4)->url);
    /* Past it (measured from the first failure): the original host. */
    advance(SECONDS(10));
    engine_resume_locked(eng(), job);
    run_packets(6);
    assert_wstr(UPLOAD_URL, packet(5)->url);
    run_idle();
    check_closed();
}

static void test_host_id_without_fallback(void **state)
{
    struct fake_upload *server, *elsewhere;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &server);

    server->host_id = L"farm7";
    elsewhere = fake_transport_add_upload(&fx->fake.transport, L"http://farm7/upload/file.bin");
    script_failure(elsewhere, BITS_PACKET_FRAGMENT, 1, &cannot_connect);
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSIENT_ERROR, job);
    advance(SECONDS(24 * 3600));
    engine_resume_locked(eng(), job);
    run_packets(4);
    assert_wstr(L"http://farm7/upload/file.bin", packet(3)->url);     /* never falls back */
    run_idle();
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Upload-reply                                                                                   */

static void test_upload_reply(void **state)
{
    const UINT64 size = 300 * 1024;
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, size, &server);
    UINT64 i;

    server->reply_url = L"/replies/42";                /* relative to the upload URL */
    fake_transport_add(&fx->fake.transport, L"http://server/replies/42", 3000, 5);
    engine_resume_locked(eng(), job);
    run_packets(4);                                    /* the final fragment */
    assert_true(job->files[0]->transferred);
    assert_state(BG_JOB_STATE_TRANSFERRING, job);
    assert_wstr(L"http://server/replies/42", job->reply.remote_name);
    assert_non_null(job->reply.temp_name);
    assert_true(job->reply.bytes_total == BG_SIZE_UNKNOWN);
    assert_int_equal(server->closes, 0);               /* not before the reply is in */
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    check_uploaded(server, size);
    assert_int_equal(job->reply.bytes_total, 3000);
    assert_int_equal(job->reply.bytes_transferred, 3000);
    assert_true(job->reply.transferred);
    assert_int_equal(job->reply_size, 3000);
    assert_non_null(job->reply_data);
    for (i = 0; i < 3000; ++i) assert_int_equal(job->reply_data[i], fake_remote_byte(5, i));
    /* The reply file's bytes too. */
    {
        struct fake_stored_file *stored = fake_storage_find(&fx->fake.storage, job->reply.temp_name);
        assert_non_null(stored);
        assert_int_equal(stored->size, 3000);
        assert_memory_equal(stored->data, job->reply_data, 3000);
    }
    /* Job progress is the upload's only. */
    assert_int_equal(job->files[0]->bytes_transferred, size);
    /* FileTransferred names the job's file; then TRANSFERRED; then Close-Session. */
    assert_int_equal(events(job, ENGINE_EVENT_FILE_TRANSFERRED), 1);
    assert_ptr_equal(fx->fake.host.events[fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_FILE_TRANSFERRED)].file,
                     job->files[0]);
    assert_true(fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_FILE_TRANSFERRED)
                < fake_host_find(&fx->fake.host, 0, job, ENGINE_EVENT_JOB_TRANSFERRED));
    assert_int_equal(server->closes, 1);
    check_closed();
}

/* The reply download resumes from where it stopped, like any download. */
static void test_upload_reply_resumes(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 100, &server);
    struct fake_remote *reply;

    server->reply_url = L"http://other/reply";
    reply = fake_transport_add(&fx->fake.transport, L"http://other/reply", 5000, 6);
    reply->read_failures = 1;
    reply->read_fail_after = 2000;
    reply->read_error = connection_lost;
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, HR_CONNECTION_ERROR, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    assert_int_equal(job->reply.bytes_transferred, 2000);
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(fx->fake.transport.request_count, 2);
    assert_int_equal(fx->fake.transport.requests[1].offset, 2000);
    assert_int_equal(job->reply_size, 5000);
    assert_int_equal(job->reply_data[4999], fake_remote_byte(6, 4999));
    assert_int_equal(job->reply_data[0], fake_remote_byte(6, 0));
    /* The upload was not sent again. */
    assert_int_equal(server->body_bytes, 100);
    check_closed();
}

static void test_upload_reply_too_large_for_memory(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 10, &server);

    server->reply_url = L"http://server/big";
    fake_transport_add(&fx->fake.transport, L"http://server/big", MAX_REPLY_DATA + 1, 7);
    eng()->chunk_size = 64 * 1024;            /* fewer events than the fake host keeps */
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(job->reply_size, MAX_REPLY_DATA + 1);
    assert_null(job->reply_data);
    check_closed();
}

static void test_upload_reply_none(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 10, &server);

    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_true(job->reply_none);
    assert_null(job->reply.remote_name);
    assert_int_equal(job->reply_size, 0);
    assert_int_equal(fx->fake.transport.request_count, 0);
    assert_int_equal(server->closes, 1);
    check_closed();
}

static void test_upload_reply_bad_url(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 10, &server);

    server->reply_url = L"ftp://server/reply";
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_INVALID_SERVER_RESPONSE, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_false(job->files[0]->transferred);
    check_closed();
}

/* The server application failed: REMOTE_APPLICATION, classified by its status; the retry posts
 * the final fragment again, which asks the application again. */
static void test_upload_reply_application_error(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 10, &server);

    script(server, BITS_PACKET_FRAGMENT, 1, 500,
           L"BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x801901F4\r\nBITS-Error-Context: 0x7\r\n");
    script(server, BITS_PACKET_FRAGMENT, 2, 403,
           L"BITS-Packet-Type: Ack\r\nBITS-Error-Code: 0x80190193\r\nBITS-Error-Context: 0x7\r\n");
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_TRANSIENT_ERROR, BG_E_HTTP_ERROR_500, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    engine_resume_locked(eng(), job);
    run_idle();
    check_error(job, BG_JOB_STATE_ERROR, BG_E_HTTP_ERROR_403, BG_ERROR_CONTEXT_REMOTE_APPLICATION);
    engine_resume_locked(eng(), job);
    run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(server->packets[BITS_PACKET_FRAGMENT], 3);
    check_closed();
}

/* -------------------------------------------------------------------------------------------- */
/* Close-Session and Cancel-Session                                                              */

static void test_cancel_sends_cancel_session(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 1024 * 1024, &server);
    struct engine_cleanup cleanup;
    struct engine_chunk chunk;
    DWORD wait;

    engine_resume_locked(eng(), job);
    run_packets(3);
    /* Cancel while a fragment is in flight: it counts for nothing. */
    assert_hr(S_OK, engine_begin_chunk_locked(eng(), &chunk, &wait));
    assert_true(chunk.is_packet);
    engine_transfer_chunk(eng(), &chunk);
    cancel(job);
    engine_commit_chunk_locked(eng(), &chunk, &cleanup);
    engine_cleanup(eng(), &cleanup);
    assert_int_equal(job->files[0]->bytes_transferred, 256 * 1024);
    assert_null(job->upload.session_id);
    assert_non_null(eng()->farewells);
    run_idle();
    assert_int_equal(server->cancels, 1);
    assert_int_equal(server->closes, 0);
    assert_int_equal(packet(4)->packet, BITS_PACKET_CANCEL_SESSION);
    assert_wstr(L"{fake-session-1}", packet(4)->session_id);
    assert_ptr_equal(packet(4)->options, &fx->fake.host.options);
    assert_null(eng()->farewells);
    check_closed();
}

/* Cancel before any session: nothing to send. */
static void test_cancel_without_session(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);

    engine_resume_locked(eng(), job);
    run_packets(1);                           /* Ping */
    cancel(job);
    assert_null(eng()->farewells);
    run_idle();
    assert_int_equal(fx->fake.transport.packet_count, 1);
    check_closed();
}

/* An upload-reply cancelled while its reply downloads: Cancel-Session cancels the reply. */
static void test_cancel_during_reply(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD_REPLY, 10, &server);

    server->reply_url = L"http://server/reply";
    fake_transport_add(&fx->fake.transport, L"http://server/reply", 5000, 8);
    engine_resume_locked(eng(), job);
    run_packets(3);
    assert_hr(S_OK, step(NULL));              /* the reply's first chunk */
    assert_int_equal(fx->fake.transport.request_count, 1);
    cancel(job);
    run_idle();
    assert_int_equal(server->cancels, 1);
    assert_int_equal(server->closes, 0);
    check_closed();
}

/* Close-Session answered 5xx, or not at all: sent again after the retry delay; 4xx and
 * BG_E_SESSION_NOT_FOUND end it. */
static void test_close_sent_again(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);
    DWORD wait;

    script(server, BITS_PACKET_CLOSE_SESSION, 1, 503, L"BITS-Packet-Type: Ack\r\n");
    script_failure(server, BITS_PACKET_CLOSE_SESSION, 2, &connection_lost);
    engine_resume_locked(eng(), job);
    wait = run_idle();
    assert_state(BG_JOB_STATE_TRANSFERRED, job);
    assert_int_equal(server->packets[BITS_PACKET_CLOSE_SESSION], 1);
    assert_int_equal(wait, SECONDS(RETRY_DELAY));
    /* The test double's clock sees the farewell's retry coming (src/test_double.c). */
    assert_int_equal(engine_next_due_locked(eng(), fx->fake.clock.now), fx->fake.clock.now + SECONDS(RETRY_DELAY));
    assert_false(engine_has_work_locked(eng(), fx->fake.clock.now));
    assert_true(engine_has_work_locked(eng(), fx->fake.clock.now + SECONDS(RETRY_DELAY)));
    advance(SECONDS(RETRY_DELAY) - 1);
    assert_int_equal(run_idle(), 1);
    advance(1);
    wait = run_idle();
    assert_int_equal(server->packets[BITS_PACKET_CLOSE_SESSION], 2);
    assert_int_equal(wait, SECONDS(RETRY_DELAY));
    advance(SECONDS(RETRY_DELAY));
    assert_int_equal(run_idle(), INFINITE);
    assert_int_equal(server->closes, 1);
    assert_null(eng()->farewells);
    assert_int_equal(engine_next_due_locked(eng(), fx->fake.clock.now), ~(UINT64)0);
    check_closed();
}

/* The test double's Reset takes the farewells still waiting for a retry, and frees them. */
static void test_take_farewells(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);
    struct engine_farewell *taken;

    script(server, BITS_PACKET_CLOSE_SESSION, 1, 503, L"BITS-Packet-Type: Ack\r\n");
    engine_resume_locked(eng(), job);
    assert_int_equal(run_idle(), SECONDS(RETRY_DELAY));
    assert_non_null(taken = engine_take_farewells_locked(eng()));
    assert_null(taken->next);
    assert_null(eng()->farewells);
    assert_null(engine_take_farewells_locked(eng()));
    engine_free_farewells(eng(), taken);
    assert_int_equal(engine_next_due_locked(eng(), fx->fake.clock.now), ~(UINT64)0);
    assert_int_equal(run_idle(), INFINITE);
    assert_int_equal(server->packets[BITS_PACKET_CLOSE_SESSION], 1);
    check_closed();
}

static void test_farewell_not_again(void **state)
{
    struct fake_upload *server, *second;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server), *other;

    script(server, BITS_PACKET_CLOSE_SESSION, 1, 404, L"BITS-Packet-Type: Ack\r\n");
    engine_resume_locked(eng(), job);
    assert_int_equal(run_idle(), INFINITE);
    assert_int_equal(server->packets[BITS_PACKET_CLOSE_SESSION], 1);
    assert_null(eng()->farewells);

    other = new_upload(BG_JOB_TYPE_UPLOAD, 1000, &second);
    free(other->files[0]->remote_name);
    other->files[0]->remote_name = fake_wcsdup(L"http://server/upload/second");
    second = fake_transport_add_upload(&fx->fake.transport, L"http://server/upload/second");
    engine_resume_locked(eng(), other);
    run_packets(6);                            /* ..., Ping, Create-Session */
    second->session = 0;                       /* the server forgot it */
    cancel(other);
    assert_int_equal(run_idle(), INFINITE);
    assert_int_equal(second->packets[BITS_PACKET_CANCEL_SESSION], 1);
    assert_int_equal(second->cancels, 0);
    assert_null(eng()->farewells);
    check_closed();
}

/* A farewell that keeps failing stops at its deadline: the no-progress timeout here. */
static void test_farewell_deadline(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);
    struct fake_answer answer = { 0 };

    job->retry_delay = 60;
    job->no_progress_timeout = 200;
    answer.packet = BITS_PACKET_CANCEL_SESSION;
    answer.nth = 1;
    answer.count = 100;
    answer.status = 500;
    answer.headers = L"BITS-Packet-Type: Ack\r\n";
    fake_upload_script(server, &answer);
    engine_resume_locked(eng(), job);
    run_packets(2);
    cancel(job);
    run_idle();
    advance(SECONDS(60));
    run_idle();
    advance(SECONDS(60));
    run_idle();
    advance(SECONDS(60));
    assert_int_equal(run_idle(), INFINITE);
    /* At 0, 60 and 120 s; 180 + 60 would be past 200. */
    assert_int_equal(server->packets[BITS_PACKET_CANCEL_SESSION], 4);
    assert_null(eng()->farewells);
    check_closed();
}

/* Stopping: each farewell never sent gets one try; those waiting for a retry are left. */
static void test_farewells_when_stopping(void **state)
{
    struct fake_upload *server;
    struct engine_job *job = new_upload(BG_JOB_TYPE_UPLOAD, 10, &server);
    DWORD wait;

    script(server, BITS_PACKET_CANCEL_SESSION, 1, 503, L"BITS-Packet-Type: Ack\r\n");
    engine_resume_locked(eng(), job);
    run_packets(2);
    cancel(job);
    run_idle();                                  /* tried once: waits for its retry */
    assert_non_null(eng()->farewells);
    eng()->stopping = TRUE;
    assert_hr(S_FALSE, step(&wait));
    assert_int_equal(wait, INFINITE);
    assert_int_equal(server->packets[BITS_PACKET_CANCEL_SESSION], 1);

    /* A new farewell while stopping is sent once, whatever comes back. */
    eng()->stopping = FALSE;
    {
        struct fake_upload *second;
        struct engine_job *other = new_upload(BG_JOB_TYPE_UPLOAD, 10, &second);
        free(other->files[0]->remote_name);
        other->files[0]->remote_name = fake_wcsdup(L"http://server/upload/second");
        second = fake_transport_add_upload(&fx->fake.transport, L"http://server/upload/second");
        script(second, BITS_PACKET_CANCEL_SESSION, 1, 503, L"BITS-Packet-Type: Ack\r\n");
        engine_resume_locked(eng(), other);
        run_packets(5);
        cancel(other);
        eng()->stopping = TRUE;
        assert_hr(S_OK, step(NULL));
        assert_int_equal(second->packets[BITS_PACKET_CANCEL_SESSION], 1);
        assert_hr(S_FALSE, step(NULL));
    }
    /* What is left goes with the engine (engine_destroy, in the teardown). */
}

/* Uploads and downloads side by side. */
static void test_upload_beside_download(void **state)
{
    struct fake_upload *server;
    struct engine_job *upload = new_upload(BG_JOB_TYPE_UPLOAD, 5000, &server);
    struct engine_job *download = calloc(1, sizeof(*download));
    struct engine_file *file = calloc(1, sizeof(*file));

    assert_non_null(download);
    assert_non_null(file);
    fx->jobs[fx->job_count++] = download;
    engine_job_init(download, BG_JOB_TYPE_DOWNLOAD);
    download->state = BG_JOB_STATE_SUSPENDED;
    download->retry_delay = RETRY_DELAY;
    download->no_progress_timeout = 1209600;
    download->max_download_time = 7776000;
    download->max_download_size = ~(UINT64)0;
    file->remote_name = fake_wcsdup(L"http://server/down");
    file->kind = REMOTE_HTTP;
    file->local_name = fake_wcsdup(L"C:\\dl\\down");
    file->temp_name = fake_wcsdup(L"C:\\dl\\BITdown.tmp");
    file->bytes_total = file->remote_size = BG_SIZE_UNKNOWN;
    download->files = malloc(sizeof(*download->files));
    download->files[0] = file;
    download->file_count = download->file_capacity = 1;
    fake_transport_add(&fx->fake.transport, L"http://server/down", 2500, 9);

    engine_resume_locked(eng(), upload);
    engine_resume_locked(eng(), download);
    assert_int_equal(run_idle(), INFINITE);
    assert_state(BG_JOB_STATE_TRANSFERRED, upload);
    assert_state(BG_JOB_STATE_TRANSFERRED, download);
    check_uploaded(server, 5000);
    check_closed();
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] =
    {
        TEST(test_upload),
        TEST(test_upload_empty_file),
        TEST(test_upload_one_byte),
        TEST(test_upload_resumes_after_failure),
        TEST(test_upload_follows_server_offset),
        TEST(test_upload_416),
        TEST(test_upload_session_lost),
        TEST(test_upload_fresh_session_lost),
        TEST(test_upload_not_a_bits_server),
        TEST(test_upload_bad_answers),
        TEST(test_upload_server_errors),
        TEST(test_upload_local_file_changed),
        TEST(test_upload_local_file_missing),
        TEST(test_host_id),
        TEST(test_host_id_without_fallback),
        TEST(test_upload_reply),
        TEST(test_upload_reply_resumes),
        TEST(test_upload_reply_too_large_for_memory),
        TEST(test_upload_reply_none),
        TEST(test_upload_reply_bad_url),
        TEST(test_upload_reply_application_error),
        TEST(test_cancel_sends_cancel_session),
        TEST(test_cancel_without_session),
        TEST(test_cancel_during_reply),
        TEST(test_close_sent_again),
        TEST(test_take_farewells),
        TEST(test_farewell_not_again),
        TEST(test_farewell_deadline),
        TEST(test_farewells_when_stopping),
        TEST(test_upload_beside_download),
    };
#undef TEST
    return cmocka_run_group_tests_name("engine uploads", tests, NULL, NULL);
}
