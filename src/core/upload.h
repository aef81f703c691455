/* SPDX-License-Identifier: MIT */
/* The client's half of the BITS upload protocol (BITS-SPEC.md §9), platform-free: the packets'
 * request headers, the strict reading of the server's BITS-* response headers, what each answer
 * means for the upload (go on, resume elsewhere, start a new session, fail: with which error,
 * retried or not), the fragment sizes, and the URL rewriting that Host-Id and relative reply
 * URLs need. The engine (engine.c) drives the upload with these; the transport only carries the
 * packets (src/core/transport.h: post_open / post_send). Builds natively with Wine's headers. */
#ifndef OPENBITS_CORE_UPLOAD_H
#define OPENBITS_CORE_UPLOAD_H

#include <windows.h>
#include "bits.h"
#include "core/transport.h"

/* The one upload protocol BITS 1.5 and later offer: "BITS 1.5 Upload Protocol". */
#define BITS_UPLOAD_PROTOCOL    L"{7df0354d-249b-430f-820d-3d2a9bef4931}"
#define BITS_MAX_SESSION_ID     100          /* characters (BITS-SPEC.md §4) */
#define BITS_MAX_HEADER_VALUE   2200         /* a longer BITS-* value is not a valid answer */

/* Fragment sizes (unconfirmed: BITS documents none): the first fragment is small, so a server
 * that refuses the upload costs little; each acknowledged fragment doubles the next, up to the
 * maximum; a failure halves it, down to the minimum. The maximum bounds the memory of a running
 * upload (one fragment in a buffer) and the bytes a failure sends again. */
#define UPLOAD_FRAGMENT_MIN     (64 * 1024)
#define UPLOAD_FRAGMENT_FIRST   (256 * 1024)
#define UPLOAD_FRAGMENT_MAX     (8 * 1024 * 1024)

enum bits_packet
{
    BITS_PACKET_PING,
    BITS_PACKET_CREATE_SESSION,
    BITS_PACKET_FRAGMENT,
    BITS_PACKET_CLOSE_SESSION,
    BITS_PACKET_CANCEL_SESSION,
};

/* The BITS-Packet-Type value of a packet (static). */
const WCHAR *bits_packet_name(enum bits_packet packet);

/* The request headers of a packet, "Name: value\r\n" each, malloc'd (NULL: out of memory).
 * Fragments say bytes first..first+length-1 of total, or "bytes *" "/0" for the one fragment of
 * an empty file (length 0; unconfirmed: HTTP has no range for zero bytes); content_name (the local
 * file's name without its path) goes with the fragment at offset 0 only. session_id is ignored
 * for Ping and Create-Session. */
WCHAR *bits_request_headers(enum bits_packet packet, const WCHAR *session_id, const WCHAR *content_name,
                            UINT64 first, UINT64 length, UINT64 total);

/* What a response's BITS-* headers say. Strings are malloc'd (bits_ack_free). */
struct bits_ack
{
    BOOL has_packet_type;                 /* BITS-Packet-Type was there ... */
    BOOL is_ack;                          /* ... and said Ack (case-insensitive) */
    WCHAR *session_id;                    /* BITS-Session-Id: 1..100 visible ASCII characters */
    WCHAR *protocol;                      /* BITS-Protocol: a {GUID} */
    WCHAR *host_id;                       /* BITS-Host-Id: host or host:port */
    WCHAR *reply_url;                     /* BITS-Reply-URL, as sent (may be relative) */
    BOOL has_received;
    UINT64 received;                      /* BITS-Received-Content-Range: decimal */
    BOOL has_fallback;
    ULONG fallback_seconds;               /* BITS-Host-Id-Fallback-Timeout: decimal seconds */
    BOOL has_error_code;
    HRESULT error_code;                   /* BITS-Error-Code: hex, "0x" optional */
    BOOL has_error_context;
    ULONG error_context;                  /* BITS-Error-Context: hex, "0x" optional */
};

/* Reads the BITS-* headers of a raw response header block ("HTTP/1.1 200 OK\r\nName: value\r\n
 * ..."; the first line is the status line and is skipped; names are case-insensitive, values
 * are trimmed of spaces and tabs). Strict: a value that does not have its header's form, is too
 * long, or a BITS-* header given twice is BG_E_INVALID_SERVER_RESPONSE; E_OUTOFMEMORY. Other
 * headers, and BITS-* headers this client does not know, are ignored. *ack is zeroed first and
 * must be freed whatever the result. headers may be NULL (no header at all). */
HRESULT bits_ack_parse(const WCHAR *headers, struct bits_ack *ack);
void bits_ack_free(struct bits_ack *ack);

/* What an answer to one packet means. */
enum upload_outcome
{
    UPLOAD_OUTCOME_OK,                    /* acknowledged (a fragment: received says how far) */
    UPLOAD_OUTCOME_RESUME,                /* 416 to a fragment: go on from received */
    UPLOAD_OUTCOME_SESSION_LOST,          /* BG_E_SESSION_NOT_FOUND: start a new session */
    UPLOAD_OUTCOME_FAILED,                /* the upload fails with `error` */
};

struct upload_result
{
    enum upload_outcome outcome;
    UINT64 received;                      /* OK (fragment) and RESUME: the server's offset */
    struct transfer_error error;          /* FAILED: context, code, protocol L"http" */
    BOOL transient;                       /* FAILED: BITS retries it (BITS-SPEC.md §6.3) */
};

/* Judges the server's answer (status, and the ack bits_ack_parse read, which returned parse_hr)
 * to a packet; for a fragment, first..first+length of total were sent.
 *  - No BITS-Packet-Type at all: a server that does not speak the protocol, or something in
 *    front of it. A 2xx is BG_E_HTTP_ERROR_<status> and fatal (bitsmsg.h: such statuses mean the
 *    server does not follow the protocol); any other status is BG_E_HTTP_ERROR_<status>,
 *    transient or not as §6.3 says. Context REMOTE_FILE.
 *  - Malformed BITS-* headers, a BITS-Packet-Type that is not Ack: BG_E_INVALID_SERVER_RESPONSE,
 *    fatal.
 *  - 200 or 201: Ping and Close/Cancel-Session are done. Create-Session needs BITS-Session-Id
 *    and BITS-Protocol, which must be the protocol offered (else
 *    BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, fatal). A fragment needs BITS-Received-Content-Range
 *    past the fragment's first byte and at most total (else BG_E_INVALID_SERVER_RESPONSE: the
 *    upload would not move).
 *  - 416 to a fragment with BITS-Received-Content-Range before the fragment: RESUME there.
 *  - Any other status: BITS-Error-Code, when given, is the error (else BG_E_HTTP_ERROR_<status>);
 *    BITS-Error-Context 0x7 makes it REMOTE_APPLICATION, anything else REMOTE_FILE; transient or
 *    not by the status, as §6.3 says (for the server application as for the server).
 *    BG_E_SESSION_NOT_FOUND is SESSION_LOST instead. Other 2xx statuses are errors too. */
void upload_judge(enum bits_packet packet, DWORD status, HRESULT parse_hr, const struct bits_ack *ack,
                  UINT64 first, UINT64 length, UINT64 total, struct upload_result *result);

/* Close-Session and Cancel-Session are sent again after a 5xx or a transport failure, unless the
 * server said BG_E_SESSION_NOT_FOUND; not after 1xx-4xx (BITS-SPEC.md §9.2). transport_failed:
 * no answer came. */
BOOL upload_farewell_again(BOOL transport_failed, DWORD status, const struct bits_ack *ack);

/* --- fragments ----------------------------------------------------------------------------- */

/* The next fragment's length from offset (at most `size`, never past total). */
DWORD upload_fragment_length(DWORD size, UINT64 offset, UINT64 total);
/* The size after an acknowledged fragment, and after a failed one. */
DWORD upload_fragment_grow(DWORD size);
DWORD upload_fragment_shrink(DWORD size);

/* --- URLs ------------------------------------------------------------------------------------ */

/* url (http or https) with its host, or host and port, replaced by host_id ("host" keeps the
 * URL's port; "host:port" and "[v6]:port" replace it). malloc'd; NULL when url has no
 * authority or out of memory. */
WCHAR *upload_url_with_host(const WCHAR *url, const WCHAR *host_id);
/* A reference (BITS-Reply-URL) resolved against the URL it came from, as RFC 3986 §5.2 does
 * for an absolute URL, a network-path (//host/...), an absolute path (/...) or a relative path
 * (its dot segments are left as they are). malloc'd; NULL when out of memory or base has no
 * authority. */
WCHAR *upload_url_resolve(const WCHAR *base, const WCHAR *reference);

#endif
