/* SPDX-License-Identifier: MIT */
/* The packets of the BITS upload protocol over WinHTTP: the HTTP transport's post_open and
 * post_send (src/core/transport.h). The engine (src/core/engine.c, src/core/upload.c) decides
 * what each packet says and judges the answers; this file only carries them, on the sessions,
 * connections, proxies, credentials and certificate checks of transport_http.c.
 *
 * A packet is one stream: post_open makes the request (verb, URL, the job's custom headers, the
 * packet's headers, and a body buffer the stream owns, for the engine to fill), post_send sends
 * it and waits, abortably, for the status and headers of the answer. The body stays the
 * stream's until its last reference goes: WinHTTP may still be sending from it after an abort. */
#include <stdlib.h>

#include "transport_http.h"

#define DRAIN_LIMIT (64 * 1024)   /* the most of an answer's body read to keep its connection */

static const struct transfer_options no_options;

static inline struct http_stream *impl_from_transport_stream(struct transport_stream *stream)
{
    return (struct http_stream *)stream;
}

HRESULT http_post_open(void *context, const struct transport_packet *packet, struct transport_stream **out,
                       void **body, struct transfer_error *error)
{
    const struct transfer_options *options = packet->options ? packet->options : &no_options;
    DWORD timeout = packet->timeout_ms;
    struct http_stream *stream;
    HRESULT hr;

    *out = NULL;
    *body = NULL;
    TRACE("%s %s, %lu bytes.\n", debugstr_w(packet->verb), debugstr_w(packet->url), packet->body_size);
    /* A custom HTTP method (HttpOptions2) replaces BITS_POST (unconfirmed). */
    if (FAILED(hr = http_stream_open(context, packet->url, packet->kind,
                                     options->http_method ? options->http_method : packet->verb, options, &stream,
                                     error)))
    {
        WARN("%s: %#lx (context %u).\n", debugstr_w(packet->url), hr, error->context);
        return hr;
    }
    stream->options = options;
    if (packet->headers && packet->headers[0]
            && !WinHttpAddRequestHeaders(stream->request, packet->headers, (DWORD)-1L,
                                         WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE))
    {
        hr = http_winhttp_error(error, GetLastError());
        goto fail;
    }
    if (timeout && !WinHttpSetTimeouts(stream->request, timeout, timeout, timeout, timeout))
    {
        hr = http_winhttp_error(error, GetLastError());
        goto fail;
    }
    if (packet->body_size && !(stream->body = malloc(packet->body_size)))
    {
        hr = http_set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
        goto fail;
    }
    stream->body_size = packet->body_size;
    *body = stream->body;
    *out = (struct transport_stream *)stream;
    return S_OK;

fail:
    WARN("%s: %#lx.\n", debugstr_w(packet->url), hr);
    http_stream_close(stream);
    return hr;
}

HRESULT http_post_send(struct transport_stream *iface, struct transport_reply *reply, struct transfer_error *error)
{
    struct http_stream *stream = impl_from_transport_stream(iface);
    DWORD status = 0;
    HRESULT hr;

    memset(reply, 0, sizeof(*reply));
    if (FAILED(hr = http_stream_exchange(stream, stream->options, stream->body, stream->body_size, &status, error)))
    {
        WARN("%s: %#lx (context %u).\n", debugstr_w(stream->url), hr, error->context);
        return hr;
    }
    if (FAILED(hr = http_query_raw_headers(stream, &reply->headers)))
        return http_set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
    reply->status = status;
    TRACE("status %lu.\n", status);
    /* An ack's body is empty, an error's small: read, the connection serves the next packet. A
     * failure here loses nothing but the connection. */
    if (FAILED(hr = http_stream_drain(stream, DRAIN_LIMIT, error)) && hr == E_ABORT)
    {
        transport_reply_free(reply);
        return hr;
    }
    return S_OK;
}
