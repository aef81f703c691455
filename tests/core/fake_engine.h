/* SPDX-License-Identifier: MIT */
/* Fakes of the transfer engine's seams (src/core/engine.h, src/core/transport.h), for tests that
 * drive the engine step by step (STYLE.md §2.10, §2.15, rule 14): nothing here sleeps, starts a
 * thread or touches a disk or a network.
 *
 *   fake_clock      a millisecond counter the test advances; system time derived from it
 *   fake_storage    in-memory files keyed by path; a write fault on a countdown
 *   fake_transport  scripted remote files (content from a formula), scripted faults, and a
 *                   record of every open request
 *   fake_host       records events in order, counts option snapshots and temporary names
 *
 * Every fake counts what it opens and closes, so a test can check that each stream and each
 * storage handle was closed exactly once. Builds natively and with MinGW-w64. */
#ifndef OPENBITS_TESTS_FAKE_ENGINE_H
#define OPENBITS_TESTS_FAKE_ENGINE_H

#include <windows.h>
#include "core/engine.h"

#define FAKE_MAX_NAME    128      /* characters, NUL included */
#define FAKE_MAX_FILES   16
#define FAKE_MAX_OPENS   64
#define FAKE_MAX_EVENTS  512

/* --- fake_clock ------------------------------------------------------------------------------ */

struct fake_clock
{
    UINT64 now;                           /* ms; advanced by the test only */
};

extern const struct engine_clock_ops fake_clock_ops;

/* The FILETIME system_time reports for a clock reading. */
FILETIME fake_clock_filetime(UINT64 ms);

/* --- fake_storage ---------------------------------------------------------------------------- */

struct fake_stored_file
{
    BOOL used;
    WCHAR name[FAKE_MAX_NAME];
    BYTE *data;
    UINT64 size, capacity;
    FILETIME time;                        /* what query reports (uploads) */
};

struct fake_storage
{
    struct fake_stored_file files[FAKE_MAX_FILES];
    /* A write fault: when write_countdown reaches 0 (it counts down on every write, from the
     * next one: 1 = the next write fails) the write fails with write_hr, once. */
    int write_countdown;
    HRESULT write_hr;
    unsigned int opens, closes, writes, truncates;
    unsigned int read_opens, reads;       /* open_read and read calls (uploads) */
    unsigned int failed_opens;            /* open calls that returned a failure */
    enum storage_mode modes[FAKE_MAX_OPENS];   /* the mode of every open call, in order */
    unsigned int mode_count;
};

extern const struct storage_ops fake_storage_ops;

/* Adds (or replaces) a file with these bytes, as if someone else had created it. */
void fake_storage_put(struct fake_storage *storage, const WCHAR *name, const void *data, UINT64 size);
/* The file of that name, or NULL. */
struct fake_stored_file *fake_storage_find(struct fake_storage *storage, const WCHAR *name);
unsigned int fake_storage_count(const struct fake_storage *storage);
void fake_storage_free(struct fake_storage *storage);

/* --- fake_transport -------------------------------------------------------------------------- */

/* A remote file. Its bytes are fake_remote_byte(seed, offset). */
struct fake_remote
{
    WCHAR url[FAKE_MAX_NAME];
    UINT64 size;
    UINT32 seed;
    FILETIME modified;
    BOOL no_ranges;                       /* answers every request with the whole file (HTTP 200) */
    BOOL size_unknown;                    /* the response says no size */
    const WCHAR *headers;                 /* a header block to send (copied per response), or NULL */
    const WCHAR *redirect;                /* a final URL to report (copied), or NULL; the remote
                                           * also answers to it */

    /* Faults */
    unsigned int open_failures;           /* the next n opens fail with open_error */
    struct transfer_error open_error;
    unsigned int read_failures;           /* the next n streams fail their read after ... */
    UINT64 read_fail_after;               /* ... delivering this many body bytes, with read_error */
    struct transfer_error read_error;
    BOOL read_ends;                       /* instead of failing, the body just ends there (the
                                           * server closed the connection early) */
    unsigned int change_after_opens;      /* non-zero: after that many opens the file becomes
                                           * changed_size bytes of changed_seed, changed_modified */
    UINT64 changed_size;
    UINT32 changed_seed;
    FILETIME changed_modified;

    /* A server slow to answer: once a stream exists and is published (the request's
     * `opening`), this runs as if another thread acted meanwhile; a stream aborted by then
     * fails its open with E_ABORT (and stays the caller's to close). */
    void (*while_opening)(void *context);
    void *while_opening_context;

    unsigned int opens;                   /* open requests that reached this file */
};

/* One open request as the transport saw it. */
struct fake_request
{
    WCHAR url[FAKE_MAX_NAME];
    enum remote_kind kind;
    UINT64 offset, length;
    const void *options;
    HRESULT hr;                           /* what open returned */
};

/* A fake BITS upload server (BITS-SPEC.md §9) behind fake_transport's post_open/post_send, one
 * per upload URL: Ping and Create-Session are acknowledged, fragments must start at or before
 * what it has (else 416), only new bytes are kept, the final fragment's ack names reply_url when
 * set; Close/Cancel-Session end the session. A test may change its fields between chunks (a
 * server that forgot a session, lost bytes, ...) and script answers for given packets. */
#define FAKE_MAX_PACKETS  256
#define FAKE_MAX_ANSWERS  8

struct fake_answer
{
    enum bits_packet packet;              /* for the nth packet of this type to this URL ... */
    unsigned int nth;                     /* ... (1 = the first), and `count` more from there */
    unsigned int count;
    BOOL fail_send;                       /* post_send fails with `error` (no answer) ... */
    struct transfer_error error;
    DWORD status;                         /* ... or answers this status and header block */
    const WCHAR *headers;                 /* "Name: value\r\n" lines (the status line is added) */
};

struct fake_upload
{
    WCHAR url[FAKE_MAX_NAME];
    BYTE *data;                           /* the bytes received, data[0..received) */
    UINT64 received, total, capacity;
    BOOL complete;
    unsigned int session;                 /* the current session's number, 0: none */
    unsigned int sessions;                /* sessions created */
    const WCHAR *reply_url;               /* for the final fragment's ack, or NULL */
    const WCHAR *host_id;                 /* for Create-Session's ack, or NULL */
    const WCHAR *fallback;                /* BITS-Host-Id-Fallback-Timeout value, or NULL */
    unsigned int packets[BITS_PACKET_CANCEL_SESSION + 1];     /* by type, scripted ones too */
    UINT64 body_bytes;                    /* fragment body bytes that reached the server */
    unsigned int closes, cancels;         /* sessions ended by Close- / Cancel-Session */
    struct fake_answer answers[FAKE_MAX_ANSWERS];
    unsigned int answer_count;
};

/* One packet as the transport saw it. */
struct fake_packet
{
    enum bits_packet packet;
    WCHAR url[FAKE_MAX_NAME];
    WCHAR session_id[48];                 /* empty when none was sent */
    BOOL content_name;                    /* Content-Name was sent */
    UINT64 first, length, total;          /* Content-Range (fragments) */
    DWORD timeout_ms;
    const void *options;
};

struct fake_transport
{
    struct fake_remote remotes[FAKE_MAX_FILES];
    unsigned int remote_count;
    struct fake_request requests[FAKE_MAX_OPENS];
    unsigned int request_count;
    unsigned int streams_opened, streams_closed, aborts, reads;
    struct fake_upload uploads[FAKE_MAX_FILES];   /* fake_transport_add_upload */
    unsigned int upload_count;
    struct fake_packet packets[FAKE_MAX_PACKETS]; /* every packet, in order */
    unsigned int packet_count;
    unsigned int posts_opened;            /* post_open calls that made a stream */
};

extern const struct transport_ops fake_transport_ops;

BYTE fake_remote_byte(UINT32 seed, UINT64 offset);
/* Adds a remote file of size bytes; modified is derived from the seed. */
struct fake_remote *fake_transport_add(struct fake_transport *transport, const WCHAR *url, UINT64 size, UINT32 seed);
/* A fake upload server at url. */
struct fake_upload *fake_transport_add_upload(struct fake_transport *transport, const WCHAR *url);
/* Adds a scripted answer to an upload server. */
void fake_upload_script(struct fake_upload *upload, const struct fake_answer *answer);


/* --- fake_host --------------------------------------------------------------------------------- */

struct fake_event
{
    struct engine_job *job;
    enum engine_event_kind kind;
    struct engine_file *file;
};

struct fake_host
{
    struct fake_event events[FAKE_MAX_EVENTS];
    unsigned int event_count;
    unsigned int snapshots, frees;        /* snapshot_options / free_options calls */
    int options;                          /* snapshot_options hands out its address */
    unsigned int temp_names;              /* new_temp_name calls */
    HRESULT temp_name_hr;                 /* what new_temp_name returns (S_OK by default) */
};

extern const struct engine_host_ops fake_host_ops;

/* How many events of that kind (for that job, or any job when job is NULL) were recorded. */
unsigned int fake_host_count(const struct fake_host *host, const struct engine_job *job, enum engine_event_kind kind);
/* The index of the first event of that kind for that job at or after from, or -1. */
int fake_host_find(const struct fake_host *host, unsigned int from, const struct engine_job *job,
                   enum engine_event_kind kind);

/* --- all four, wired into an engine -------------------------------------------------------- */

struct fake_engine
{
    struct engine engine;
    struct fake_clock clock;
    struct fake_storage storage;
    struct fake_transport transport;
    struct fake_host host;
};

/* engine_init, then every seam pointed at the fakes (every remote kind at fake_transport) and
 * a small chunk size (FAKE_CHUNK_SIZE) so that files take several chunks. */
#define FAKE_CHUNK_SIZE 1000
void fake_engine_init(struct fake_engine *fake);
void fake_engine_free(struct fake_engine *fake);
/* Frees a job a test built (calloc'd, its files calloc'd with malloc'd strings), closing a
 * transfer a test that failed half-way left open, and lets the engine forget it. */
void fake_engine_free_job(struct fake_engine *fake, struct engine_job *job);

/* Wide-string helpers that do not depend on the C library's wchar_t (the native build uses
 * -fshort-wchar). */
size_t fake_wcslen(const WCHAR *str);
BOOL fake_wcseq(const WCHAR *a, const WCHAR *b);
WCHAR *fake_wcsdup(const WCHAR *str);     /* malloc'd, as the engine frees names with free() */

#endif
