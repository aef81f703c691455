/* SPDX-License-Identifier: MIT */
/* The WinHTTP transport's insides, shared by transport_http.c (sessions, connections, proxies,
 * credentials, certificates, downloads) and transport_upload.c (the packets of the BITS upload
 * protocol), and by nothing else. */
#ifndef OPENBITS_TRANSPORT_HTTP_H
#define OPENBITS_TRANSPORT_HTTP_H

#include "transport.h"

#include <wincrypt.h>
#include <winhttp.h>

/* What a pooled connection may be shared by: the proxy configuration and the client
 * certificate. Wine 8 ignores WINHTTP_OPTION_PROXY on a request (and on a session), so the proxy
 * is chosen at WinHttpOpen; and a connection that presented one job's certificate must not carry
 * another job's requests. */
struct session_key
{
    DWORD access;               /* WINHTTP_ACCESS_TYPE_* */
    WCHAR *proxy, *bypass;      /* NAMED_PROXY only, else NULL */
    WCHAR *identity;            /* the client certificate, as where to find it; NULL: none */
};

/* A transport keeps one session per key its jobs have used, so connections stay alive between
 * requests that may share them. */
struct http_session
{
    struct http_session *next;
    struct session_key key;
    HINTERNET handle;           /* asynchronous, with status_callback */
};

struct http_transport
{
    LONG refcount;              /* the owner's (create..destroy) + one per live stream */
    SRWLOCK lock;               /* leaf lock: guards `sessions` */
    CONDITION_VARIABLE streams_gone;      /* refcount came down to the owner's */
    struct http_session *sessions;        /* never removed before the transport goes [lock] */
};

struct http_stream
{
    LONG refcount;              /* the owner's (open..close) + the request handle's */
    struct http_transport *transport;     /* counted reference */
    HINTERNET connection, request;
    LONG request_users;         /* close() and a read running on a pool thread: the last one out
                                 * closes `request`, which a pending call must not outlive */
    SRWLOCK lock;               /* leaf lock: guards the three flags */
    CONDITION_VARIABLE changed; /* one of the flags was set */
    BOOL done;                  /* the operation in flight completed [lock] */
    BOOL aborted;               /* abort() was called [lock] */
    BOOL closed;                /* WinHTTP's HANDLE_CLOSING for the request came [lock] */
    /* Written by the status callback before it sets `done`; read after the wait. */
    DWORD result_error;         /* 0, or the WinHTTP error of the operation */
    DWORD result_bytes;         /* what READ_COMPLETE read, or DATA_AVAILABLE has */
    DWORD secure_failure;       /* WINHTTP_CALLBACK_STATUS_FLAG_* of the last SECURE_FAILURE */
    WCHAR *url;                 /* the URL asked for, then where redirects led; malloc'd */
    BOOL redirected;            /* WinHTTP followed a redirect */
    BOOL url_lost;              /* out of memory while following one */
    /* Only the thread calling open() and read() uses these. */
    BYTE *buffer;               /* WinHTTP reads here: it outlives an abandoned read */
    DWORD read_size;            /* what the next read asks for, READ_MIN_SIZE..READ_BUFFER_SIZE */
    DWORD read_want;            /* what the read on the pool thread asks for */
    BOOL end_of_body;           /* WinHTTP said the body ended */
    UINT64 body_left;           /* bytes the body still owes; BG_SIZE_UNKNOWN when not said */
    CERT_CONTEXT *validated;    /* the server certificate the client's callback accepted */
    BOOL secure;                /* https */
    /* An upload packet's (transport_upload.c): the request body, which WinHTTP sends from here
     * and which therefore lives as long as the stream. */
    BYTE *body;
    DWORD body_size;
    const struct transfer_options *options;   /* the packet's (they outlive the stream) */
};

/* The request (verb, url) of a new stream: the session of the options' proxy configuration and
 * client certificate, the connection, the request handle with the job's redirect policy, HTTPS
 * settings and custom headers. Nothing is sent yet. */
HRESULT http_stream_open(struct http_transport *transport, const WCHAR *url, enum remote_kind kind,
                         const WCHAR *verb, const struct transfer_options *options, struct http_stream **out,
                         struct transfer_error *error);
/* Sends the request with its body (body_size bytes, which must outlive the stream: WinHTTP may
 * still send from it after an abort) and receives the response headers, answering
 * authentication challenges and checking the server's certificate: S_OK and the final status.
 * Waits abortably (transport_ops.abort). */
HRESULT http_stream_exchange(struct http_stream *stream, const struct transfer_options *options,
                             const void *body, DWORD body_size, DWORD *status, struct transfer_error *error);
/* The response's raw header block (malloc'd). */
HRESULT http_query_raw_headers(struct http_stream *stream, WCHAR **out);
/* Reads and drops what is left of the response's body, at most about `limit` bytes, so that
 * WinHTTP may use the connection again: S_OK at its end, S_FALSE when more was left. */
HRESULT http_stream_drain(struct http_stream *stream, DWORD limit, struct transfer_error *error);
/* Drops the owner's reference (see stream_close in transport_http.c). */
void http_stream_close(struct http_stream *stream);
/* A transfer error with protocol L"http"; returns code. */
HRESULT http_set_error(struct transfer_error *error, BG_ERROR_CONTEXT context, HRESULT code);
/* WinHTTP's error as a GENERAL_TRANSPORT transfer error. */
HRESULT http_winhttp_error(struct transfer_error *error, DWORD win32);

/* transport_upload.c: the transport's post_open and post_send. */
HRESULT http_post_open(void *transport, const struct transport_packet *packet, struct transport_stream **stream,
                       void **body, struct transfer_error *error);
HRESULT http_post_send(struct transport_stream *stream, struct transport_reply *reply, struct transfer_error *error);

#endif
