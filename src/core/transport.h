/* SPDX-License-Identifier: MIT */
/* The transport seam: how the engine reads a remote file. One implementation per kind of
 * remote name (src/transport_http.c: WinHTTP for http and https; src/transport_file.c: the Win32
 * file API for local paths, file:// URLs and UNC paths); the engine's tests use fakes.
 *
 * A stream is one request: open() sends it and returns what the response says about the file,
 * read() returns the body, close() ends it. Uploads send packets of the BITS upload protocol
 * instead, one stream each (post_open, post_send, close). abort() may be called from another thread while a
 * read() is blocked and makes it return promptly (with E_ABORT); close() still follows.
 * abort() is called with the service lock held: it must not block, wait or call back.
 * Platform-free: builds natively with Wine's headers. */
#ifndef OPENBITS_CORE_TRANSPORT_H
#define OPENBITS_CORE_TRANSPORT_H

#include <windows.h>
#include "bits.h"
#include "core/validate.h"

struct transport_stream;

/* Why a request failed, as the job's error object will say it (BITS-SPEC.md §6.1, §6.2). */
struct transfer_error
{
    BG_ERROR_CONTEXT context;     /* REMOTE_FILE for HTTP statuses and missing files,
                                   * GENERAL_TRANSPORT for network errors, LOCAL_FILE, ... */
    HRESULT code;                 /* BG_E_HTTP_ERROR_404, HRESULT_FROM_WIN32(ERROR_WINHTTP_...), ... */
    const WCHAR *protocol;        /* static string: L"http" for http(s), L"file" for the rest */
};

struct transport_request
{
    const WCHAR *url;             /* the file's remote name */
    enum remote_kind kind;
    UINT64 offset;                /* first byte wanted */
    UINT64 length;                /* bytes wanted from offset; BG_LENGTH_TO_EOF: to the end */
    const FILETIME *if_modified;  /* NULL, or the time the earlier part of the file had: a
                                   * transport may send If-Range / If-Unmodified-Since with it */
    const void *options;          /* the job's transfer options (src/transport.h's struct
                                   * transfer_options); opaque to the core */
    /* Optional: open() calls it with the stream as soon as the stream exists, before it waits
     * for the network, so that abort() reaches a request still being opened (a server that
     * does not answer). From then on the stream is the caller's: open() hands it out in
     * *stream even when it fails, and the caller closes it. A transport whose open() never
     * waits long need not call it. */
    void (*opening)(void *context, struct transport_stream *stream);
    void *opening_context;
};

struct transport_response
{
    UINT64 file_size;             /* the whole file's size; BG_SIZE_UNKNOWN when not said */
    FILETIME modified;            /* the file's time; zero when not said */
    BOOL ranged;                  /* the body starts at request.offset (HTTP 206, a file seek);
                                   * FALSE: it starts at byte 0 (HTTP 200 to a range request) */
    WCHAR *headers;               /* the raw response header block (HTTP), malloc'd, or NULL */
    WCHAR *final_url;             /* malloc'd when redirects changed the URL, else NULL */
};

/* One packet of the BITS upload protocol (BITS-SPEC.md §9): a request with a verb, headers and
 * a body whose answer is a status and headers (its body, if any, is read and dropped). */
struct transport_packet
{
    const WCHAR *url;
    enum remote_kind kind;
    const WCHAR *verb;            /* L"BITS_POST" */
    const WCHAR *headers;         /* "Name: value\r\n" each, or NULL */
    DWORD body_size;              /* bytes the caller puts in the body post_open hands out */
    DWORD timeout_ms;             /* 0: the transport's own timeouts; else a bound on each of
                                   * connect, send and receive */
    const void *options;          /* the job's transfer options, as for transport_request */
};

struct transport_reply
{
    DWORD status;                 /* the HTTP status */
    WCHAR *headers;               /* the raw header block, status line first, malloc'd, or NULL */
};

struct transport_ops
{
    /* S_OK and a stream; a failure fills *error (context, code, protocol) and returns its code. */
    HRESULT (*open)(void *transport, const struct transport_request *request,
                    struct transport_stream **stream, struct transport_response *response,
                    struct transfer_error *error);
    /* Up to size bytes; *read 0 at the end of the body. A failure fills *error. */
    HRESULT (*read)(struct transport_stream *stream, void *buffer, DWORD size, DWORD *read,
                    struct transfer_error *error);
    /* From any thread: a blocked or later read() returns E_ABORT promptly. */
    void (*abort)(struct transport_stream *stream);
    void (*close)(struct transport_stream *stream);

    /* Uploads (NULL for a transport that has none): post_open makes the request of a packet
     * without sending it, as a stream (abort and close work on it as on any stream), and hands
     * out *body, body_size bytes the stream owns, for the caller to fill; post_send sends it and
     * waits for the answer: S_OK with *reply (whatever the status) or a failure with *error. */
    HRESULT (*post_open)(void *transport, const struct transport_packet *packet,
                         struct transport_stream **stream, void **body, struct transfer_error *error);
    HRESULT (*post_send)(struct transport_stream *stream, struct transport_reply *reply,
                         struct transfer_error *error);
};

/* A transport: its ops and their first argument. */
struct transport
{
    const struct transport_ops *ops;
    void *context;
};

/* Frees what a response owns. */
void transport_response_free(struct transport_response *response);
void transport_reply_free(struct transport_reply *reply);

#endif
