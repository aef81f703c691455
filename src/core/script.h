/* SPDX-License-Identifier: MIT */
/* The test double's scripted network (docs/test-double.md), platform-free: the rule list and
 * its matching, what a rule answers to a request (response, body bytes, resets, throttling as a
 * function of the clock), and the journal of requests.
 *
 * The shell (src/test_double.c) owns a struct script under the service lock, puts a scripted
 * transport in front of the real ones, and waits for the clock where script_read says so. No
 * lock, thread, I/O or Win32 call here: builds natively with Wine's headers. */
#ifndef OPENBITS_CORE_SCRIPT_H
#define OPENBITS_CORE_SCRIPT_H

#include <windows.h>
#include "core/transport.h"

/* The values of idl/openbits_control.idl's OPENBITS_MATCH, _ACTION and OPENBITS_RULE_*. */
enum script_match { SCRIPT_MATCH_EXACT, SCRIPT_MATCH_PREFIX, SCRIPT_MATCH_WILDCARD };
enum script_action { SCRIPT_SERVE, SCRIPT_STATUS, SCRIPT_FAIL };
#define SCRIPT_NO_RANGES 0x1
#define SCRIPT_NO_SIZE   0x2

#define SCRIPT_MAX_PATTERN   4096     /* characters */
#define SCRIPT_MAX_HEADERS   16384    /* characters, as SetCustomHeaders */
#define SCRIPT_JOURNAL_MAX   65536    /* entries kept; the oldest go first */

/* WinHTTP errors a FAIL rule names most often (HRESULT_FROM_WIN32 of them). */
#define SCRIPT_E_CONNECT     ((HRESULT)0x80072efd)    /* ERROR_WINHTTP_CANNOT_CONNECT */
#define SCRIPT_E_NAME        ((HRESULT)0x80072ee7)    /* ERROR_WINHTTP_NAME_NOT_RESOLVED */
#define SCRIPT_E_TIMEOUT     ((HRESULT)0x80072ee2)    /* ERROR_WINHTTP_TIMEOUT */
#define SCRIPT_E_TLS         ((HRESULT)0x80072f8f)    /* ERROR_WINHTTP_SECURE_FAILURE */
#define SCRIPT_E_RESET       ((HRESULT)0x80072efe)    /* ERROR_WINHTTP_CONNECTION_ERROR */

struct script_rule
{
    ULONG refs;                           /* the list's, and one per stream answering with it */
    ULONG id;                             /* 0 until added */
    BOOL listed;
    WCHAR *pattern;
    enum script_match match;
    ULONG times;                          /* 0: always */
    ULONG used;                           /* requests it answered */
    enum script_action action;
    DWORD flags;                          /* SCRIPT_NO_* */
    UINT64 size;                          /* SERVE: the body's size */
    BYTE *content;                        /* NULL: the formula (script_formula_byte) */
    size_t content_size;
    WCHAR *headers;                       /* extra response header lines, each ending in CRLF, or NULL */
    FILETIME modified;
    UINT64 reset_after;                   /* 0: never */
    UINT64 bytes_per_second;              /* 0: no limit */
    DWORD status;
    HRESULT error;
    struct script_rule *next;
};

/* What a caller describes: every pointer borrowed. */
struct script_rule_spec
{
    const WCHAR *pattern;
    int match;                            /* enum script_match, checked */
    ULONG times;
    int action;                           /* enum script_action, checked */
    DWORD flags;
    UINT64 size;                          /* 0: the content's own */
    const BYTE *content;
    size_t content_size;
    const WCHAR *headers;
    FILETIME modified;
    UINT64 reset_after;
    UINT64 bytes_per_second;
    DWORD status;
    HRESULT error;
};

struct script_request
{
    UINT64 seq;
    WCHAR *verb, *url, *headers;
    UINT64 offset, length;
    ULONG rule;
    HRESULT result;
    UINT64 bytes;
};

struct script_journal
{
    struct script_request *entries;       /* oldest first */
    size_t count, capacity;
    UINT64 next_seq;
};

struct script
{
    struct script_rule *rules;            /* in the order added: the first match wins */
    ULONG next_id;
    BOOL fail_unmatched;                  /* else requests no rule matches go to the real transport */
    HRESULT unmatched_error;
    struct script_journal journal;
};

void script_init(struct script *script);
/* Drops every rule (streams keep theirs until released) and the journal. */
void script_free(struct script *script);

/* --- rules ----------------------------------------------------------------------------------- */

/* Checks a spec and copies it into a new rule (refs 1, not listed). E_INVALIDARG with *reason
 * (a static English phrase) when the spec is wrong. */
HRESULT script_rule_create(const struct script_rule_spec *spec, struct script_rule **out, const char **reason);
void script_rule_release(struct script_rule *rule);
/* Appends the rule (the list takes the caller's reference) and gives it its id. */
void script_add(struct script *script, struct script_rule *rule);
/* S_OK, or S_FALSE when no rule has that id. */
HRESULT script_remove(struct script *script, ULONG id);
void script_remove_all(struct script *script);
/* The first listed rule that matches and has uses left, counted as used, with a reference for
 * the caller; NULL when none. */
struct script_rule *script_match(struct script *script, const WCHAR *url);
BOOL script_pattern_matches(enum script_match match, const WCHAR *pattern, const WCHAR *name);

/* --- answering ------------------------------------------------------------------------------- */

/* A request a rule answers. */
struct script_stream
{
    struct script_rule *rule;             /* referenced */
    UINT64 position, end;                 /* the body: remote bytes [position, end) still to send */
    UINT64 sent;                          /* body bytes sent on this stream */
    UINT64 start_ms;                      /* when it was opened (throttling) */
    enum remote_kind kind;
};

/* Opens a stream on the rule for the request at time now: S_OK with *response filled (headers
 * malloc'd), or the failure the rule answers with *error filled. The stream takes a reference
 * on the rule (dropped by script_stream_close) only on success. */
HRESULT script_open(struct script_rule *rule, const struct transport_request *request, UINT64 now,
                    struct script_stream *stream, struct transport_response *response,
                    struct transfer_error *error);
/* Up to size body bytes at time now: S_OK and *read (0 at the end), a failure (the connection
 * reset) with *error, or S_FALSE when throttling allows nothing yet: *due is when it will. */
HRESULT script_read(struct script_stream *stream, BYTE *buffer, DWORD size, UINT64 now, DWORD *read,
                    UINT64 *due, struct transfer_error *error);
void script_stream_close(struct script_stream *stream);

/* Byte `offset` of a rule without content (the loopback test server's formula too). */
BYTE script_formula_byte(UINT64 offset);
/* "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters and a NUL). */
void script_http_date(const FILETIME *time, WCHAR out[30]);
/* The error context a transport error gets: REMOTE_FILE for missing files, paths, access and
 * the BITS and HTTP codes of a remote file; GENERAL_TRANSPORT for the rest. */
BG_ERROR_CONTEXT script_error_context(HRESULT code);

/* --- the journal ----------------------------------------------------------------------------- */

/* The header block the engine asks for with a request (custom headers, then Range and If-Range
 * as the HTTP transport adds them), malloc'd; NULL when there are none or memory ran out. */
WCHAR *script_request_headers(const WCHAR *custom, UINT64 offset, UINT64 length, const FILETIME *if_modified);
/* Records a request; copies the strings (headers: taken, may be NULL). *seq names it later. */
HRESULT script_journal_add(struct script_journal *journal, const WCHAR *verb, const WCHAR *url, WCHAR *headers,
                           UINT64 offset, UINT64 length, UINT64 *seq);
/* The entry of that seq, or NULL when it is gone (cleared, or dropped as the oldest). */
struct script_request *script_journal_get(struct script_journal *journal, UINT64 seq);
void script_journal_clear(struct script_journal *journal);

/* --- small wide-string helpers (the native build's wchar_t is not WCHAR) ------------------- */

size_t script_wcslen(const WCHAR *str);
WCHAR *script_wcsdup(const WCHAR *str);
/* ASCII letters compared without case. */
BOOL script_wcsieq(const WCHAR *a, const WCHAR *b);

#endif
