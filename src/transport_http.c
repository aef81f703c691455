/* SPDX-License-Identifier: MIT */
/* The HTTP transport: WinHTTP for REMOTE_HTTP and REMOTE_HTTPS behind the transport seam
 * (src/core/transport.h), configured from the job's transfer options (src/transport.h).
 *
 * Asynchronous WinHTTP: a transport's sessions (one per proxy configuration and client
 * certificate, see struct session_key), one connection and request handle per stream.
 * Every WinHTTP operation is started and then waited for on the calling thread, on the stream's
 * condition variable, until one of two flags is set: `done` (by the status callback when the
 * operation completes) or `aborted` (by abort()). Flags under a slim lock rather than events:
 * under Wine every event call is a round trip to wineserver, and a download makes several per
 * read. abort() touches nothing but its flag, so it cannot race close() into a
 * double close: a blocked read() sees `aborted` and returns E_ABORT at once, and the operation it
 * leaves behind is cancelled when the request handle is closed. Such an operation may still
 * complete afterwards (under Wine it runs until the socket delivers data or times out), so
 * WinHTTP reads into the stream's own buffer, never the caller's. Reads ask for up to 256 KiB at
 * once and call WinHttpReadData from a pool thread (see http_read). The stream is reference
 * counted: a read on a pool thread holds one reference, and the request handle holds one until
 * WinHTTP reports WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, its last word on the handle. Each stream holds a
 * reference on the transport, so the sessions outlive their requests, and the transport holds the
 * module (module_lock) until the last callback has run, so the DLL stays loaded while WinHTTP may
 * still call into it.
 *
 * Status mapping: 200 and 206 succeed; 416 is BG_E_INVALID_RANGE; a redirect WinHTTP did not
 * follow (policy DISALLOW, or https -> http without ALLOW_HTTPS_TO_HTTP) is
 * HRESULT_FROM_WIN32(status) as BITS-SPEC.md §2.9 says; every other status is
 * MAKE_HRESULT(SEVERITY_ERROR, FACILITY_HTTP, status), which is BG_E_HTTP_ERROR_<status> for
 * every status bitsmsg.h names and the same formula for the ones it doesn't (429, 308, ...).
 * Those carry context REMOTE_FILE; WinHTTP's own failures are HRESULT_FROM_WIN32(error) with
 * context GENERAL_TRANSPORT, and so are a missing client certificate or store (CRYPT_E_NOT_FOUND,
 * HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)); a rejection by the client's server-certificate check
 * has context SERVER_CERTIFICATE_CALLBACK. */
#include <stdlib.h>
#include <wchar.h>

#include "certificate.h"
#include "transport_http.h"

#include <shlwapi.h>
#include <wincrypt.h>

#define USER_AGENT        L"Microsoft BITS/7.8"
#define READ_BUFFER_SIZE  (256 * 1024)   /* the most one read() returns */
#define READ_MIN_SIZE     (8 * 1024)     /* the least one read() asks WinHTTP for */
#define READ_FAST_MS      100            /* a read this quick doubles the next one's size */
#define READ_SLOW_MS      1000           /* a read this slow halves it */
#define CLOSE_WAIT_MS     10000          /* how long close() waits for WinHTTP to let go */
#define MAX_AUTH_ROUNDS   8              /* 401/407 answered with credentials, per open() */
/* Not in MinGW-w64's winhttp.h. */
#ifndef HTTP_STATUS_PERMANENT_REDIRECT
#define HTTP_STATUS_PERMANENT_REDIRECT     308
#endif
#ifndef HTTP_STATUS_RANGE_NOT_SATISFIABLE
#define HTTP_STATUS_RANGE_NOT_SATISFIABLE  416
#endif

static const struct transfer_options no_options;

static inline struct http_stream *impl_from_transport_stream(struct transport_stream *stream)
{
    return (struct http_stream *)stream;
}

static HRESULT set_error(struct transfer_error *error, BG_ERROR_CONTEXT context, HRESULT code)
{
    error->context = context;
    error->code = code;
    error->protocol = L"http";
    return code;
}

static HRESULT winhttp_error(struct transfer_error *error, DWORD win32)
{
    return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, win32 ? HRESULT_FROM_WIN32(win32) : E_FAIL);
}

static HRESULT last_winhttp_error(struct transfer_error *error)
{
    return winhttp_error(error, GetLastError());
}

HRESULT http_set_error(struct transfer_error *error, BG_ERROR_CONTEXT context, HRESULT code)
{
    return set_error(error, context, code);
}

HRESULT http_winhttp_error(struct transfer_error *error, DWORD win32)
{
    return winhttp_error(error, win32);
}

/* --- the stream's flags ------------------------------------------------------------------------- */

static void set_flag(struct http_stream *stream, BOOL *flag)
{
    AcquireSRWLockExclusive(&stream->lock);
    *flag = TRUE;
    ReleaseSRWLockExclusive(&stream->lock);
    WakeAllConditionVariable(&stream->changed);
}

/* Waits (at most `timeout` ms, or INFINITE) until *flag is set: TRUE if it was. */
static BOOL wait_flag(struct http_stream *stream, const BOOL *flag, DWORD timeout)
{
    ULONGLONG deadline = timeout == INFINITE ? 0 : GetTickCount64() + timeout;
    ULONGLONG now;
    BOOL set;

    AcquireSRWLockExclusive(&stream->lock);
    while (!(set = *flag))
    {
        if (timeout != INFINITE && (now = GetTickCount64()) >= deadline) break;
        SleepConditionVariableSRW(&stream->changed, &stream->lock,
                                  timeout == INFINITE ? INFINITE : (DWORD)(deadline - now), 0);
    }
    ReleaseSRWLockExclusive(&stream->lock);
    return set;
}

/* Before an operation starts (the callback may complete it inside the call that starts it). */
static void begin_operation(struct http_stream *stream)
{
    AcquireSRWLockExclusive(&stream->lock);
    stream->done = FALSE;
    ReleaseSRWLockExclusive(&stream->lock);
}

/* --- lifetime --------------------------------------------------------------------------------- */

static void session_key_free(struct session_key *key)
{
    free(key->proxy);
    free(key->bypass);
    free(key->identity);
}

static void session_free(struct http_session *session)
{
    /* No callback into this module after it may be unloaded. */
    if (session->handle) WinHttpSetStatusCallback(session->handle, NULL, 0, 0);
    if (session->handle) WinHttpCloseHandle(session->handle);
    session_key_free(&session->key);
    free(session);
}

static void transport_release(struct http_transport *transport)
{
    struct http_session *session, *next;
    LONG left = InterlockedDecrement(&transport->refcount);

    if (left == 1)
    {
        /* Only the owner's is left: wake http_transport_destroy (taking the lock orders this
         * after its check). */
        AcquireSRWLockExclusive(&transport->lock);
        ReleaseSRWLockExclusive(&transport->lock);
        WakeAllConditionVariable(&transport->streams_gone);
    }
    if (left) return;
    for (session = transport->sessions; session; session = next)
    {
        next = session->next;
        session_free(session);
    }
    free(transport);
    module_unlock();
}

static void stream_release(struct http_stream *stream)
{
    if (InterlockedDecrement(&stream->refcount)) return;
    if (stream->validated) CertFreeCertificateContext(stream->validated);
    free(stream->buffer);
    free(stream->body);
    free(stream->url);
    transport_release(stream->transport);
    free(stream);
}

/* Closes the handles (WinHTTP then cancels what is in flight and drops the request handle's
 * reference with HANDLE_CLOSING) and drops the owner's reference. */
static void request_unuse(struct http_stream *stream)
{
    if (!InterlockedDecrement(&stream->request_users)) WinHttpCloseHandle(stream->request);
}

static void stream_close(struct http_stream *stream)
{
    HINTERNET request = stream->request, connection = stream->connection;

    /* close() is called without any lock: wait (bounded) for WinHTTP's last word on the
     * request, so that a finished transfer leaves nothing of ours running and the module can
     * be unloaded as soon as the client lets go. Not after abort(): the operation it abandoned
     * may keep WinHTTP busy until the server speaks or the socket times out under Wine, and the
     * caller (a worker after Suspend or Cancel) should not wait for that; the request's own
     * reference and the module lock cover that case. */
    InterlockedIncrement(&stream->refcount);
    if (request) request_unuse(stream);
    if (connection) WinHttpCloseHandle(connection);
    if (request && !wait_flag(stream, &stream->aborted, 0)) wait_flag(stream, &stream->closed, CLOSE_WAIT_MS);
    stream_release(stream);
    stream_release(stream);
}

static void complete(struct http_stream *stream, DWORD error, DWORD bytes)
{
    stream->result_error = error;
    stream->result_bytes = bytes;
    set_flag(stream, &stream->done);
}

/* Where a redirect leads, from the URL it came from (Wine reports the Location as the server
 * wrote it, which may be relative; Windows reports it resolved). WINHTTP_OPTION_URL would say
 * it too, but Wine does not implement it on requests. */
static void follow_redirect(struct http_stream *stream, const WCHAR *location)
{
    WCHAR *url = NULL;
    DWORD size = 0;

    stream->redirected = TRUE;
    if (!location || !stream->url) return;
    UrlCombineW(stream->url, location, NULL, &size, URL_DONT_SIMPLIFY);
    if (!size || !(url = malloc((size + 1) * sizeof(WCHAR)))
            || FAILED(UrlCombineW(stream->url, location, url, &size, URL_DONT_SIMPLIFY)))
    {
        free(url);
        stream->url_lost = TRUE;
        return;
    }
    free(stream->url);
    stream->url = url;
}

/* Runs on WinHTTP's threads (or inside the call that started the operation). The context is
 * the stream for request handles and 0 for the others. */
static void CALLBACK status_callback(HINTERNET handle, DWORD_PTR context, DWORD status, void *info,
                                     DWORD info_size)
{
    struct http_stream *stream = (struct http_stream *)context;

    if (!stream) return;
    switch (status)
    {
    case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
        complete(stream, 0, 0);
        break;
    case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
        complete(stream, 0, info_size);
        break;
    case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
        complete(stream, 0, *(DWORD *)info);
        break;
    case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
        complete(stream, ((WINHTTP_ASYNC_RESULT *)info)->dwError, 0);
        break;
    case WINHTTP_CALLBACK_STATUS_SECURE_FAILURE:
        if (info && info_size >= sizeof(DWORD)) stream->secure_failure = *(DWORD *)info;
        break;
    case WINHTTP_CALLBACK_STATUS_REDIRECT:
        follow_redirect(stream, info);
        break;
    case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
        if (handle == stream->request)
        {
            set_flag(stream, &stream->closed);
            stream_release(stream);
        }
        break;
    }
}

/* Waits for the operation in flight: S_OK once the callback reported it (see result_*), E_ABORT
 * when abort() came first; the operation is then left to WinHTTP and close(). */
static HRESULT wait_operation(struct http_stream *stream)
{
    HRESULT hr;

    AcquireSRWLockExclusive(&stream->lock);
    while (!stream->done && !stream->aborted)
        SleepConditionVariableSRW(&stream->changed, &stream->lock, INFINITE, 0);
    hr = stream->done ? S_OK : E_ABORT;
    ReleaseSRWLockExclusive(&stream->lock);
    return hr;
}

/* A failed operation's error, made precise by what SECURE_FAILURE said: a revoked certificate
 * or an unreachable CRL is an error of its own (BITS-SPEC.md §2.9). */
static DWORD operation_error(struct http_stream *stream)
{
    static const struct { DWORD flag, error; } secure_errors[] =
    {
        { WINHTTP_CALLBACK_STATUS_FLAG_CERT_REVOKED,       ERROR_WINHTTP_SECURE_CERT_REVOKED },
        { WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED,    ERROR_WINHTTP_SECURE_CERT_REV_FAILED },
        { WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA,         ERROR_WINHTTP_SECURE_INVALID_CA },
        { WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID,    ERROR_WINHTTP_SECURE_CERT_CN_INVALID },
        { WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID,  ERROR_WINHTTP_SECURE_CERT_DATE_INVALID },
        { WINHTTP_CALLBACK_STATUS_FLAG_CERT_WRONG_USAGE,   ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE },
        { WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT,       ERROR_WINHTTP_SECURE_INVALID_CERT },
    };
    size_t i;

    if (stream->result_error == ERROR_WINHTTP_SECURE_FAILURE)
        for (i = 0; i < ARRAY_SIZE(secure_errors); ++i)
            if (stream->secure_failure & secure_errors[i].flag) return secure_errors[i].error;
    return stream->result_error;
}

/* --- request set-up ----------------------------------------------------------------------------- */

static BOOL set_dword_option(HINTERNET handle, DWORD option, DWORD value)
{
    return WinHttpSetOption(handle, option, &value, sizeof(value));
}

/* WinHttpGetProxyForUrl on a private synchronous session (the transport's is asynchronous):
 * TRUE and *info (GlobalFree its strings) when a proxy configuration was found. */
static BOOL find_auto_proxy(const WCHAR *url, DWORD flags, const WCHAR *config_url, WINHTTP_PROXY_INFO *info)
{
    WINHTTP_AUTOPROXY_OPTIONS autoproxy = {0};
    HINTERNET session;
    BOOL found;

    if (!(session = WinHttpOpen(USER_AGENT, WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                                WINHTTP_NO_PROXY_BYPASS, 0)))
        return FALSE;
    autoproxy.dwFlags = flags;
    if (flags & WINHTTP_AUTOPROXY_AUTO_DETECT)
        autoproxy.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A;
    autoproxy.lpszAutoConfigUrl = config_url;
    autoproxy.fAutoLogonIfChallenged = TRUE;
    found = WinHttpGetProxyForUrl(session, url, &autoproxy, info);
    if (!found) TRACE("no automatic proxy for %s: %lu.\n", debugstr_w(url), GetLastError());
    WinHttpCloseHandle(session);
    return found;
}

static BOOL strdup_or_null(const WCHAR *src, WCHAR **out)
{
    *out = NULL;
    return !src || (*out = _wcsdup(src));
}

static HRESULT set_proxy_config(struct session_key *key, DWORD access, const WCHAR *proxy, const WCHAR *bypass)
{
    key->access = access;
    if (access != WINHTTP_ACCESS_TYPE_NAMED_PROXY) return S_OK;
    if (!strdup_or_null(proxy, &key->proxy) || !strdup_or_null(bypass, &key->bypass)) return E_OUTOFMEMORY;
    return S_OK;
}

/* The job's proxy usage for this URL:
 *  - NO_PROXY: direct;
 *  - OVERRIDE: the job's list and bypass list;
 *  - AUTODETECT: WPAD through WinHttpGetProxyForUrl, direct when nothing is found;
 *  - PRECONFIG: the user's Internet settings (WinHttpGetIEProxyConfigForCurrentUser): automatic
 *    detection or a configuration script first, then the named proxy, else WinHTTP's default
 *    configuration (netsh winhttp). */
static HRESULT resolve_proxy(const struct transfer_options *options, const WCHAR *url, struct session_key *config)
{
    WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie = {0};
    WINHTTP_PROXY_INFO found = {0};
    BOOL have_found = FALSE;
    HRESULT hr;

    switch (options->proxy_usage)
    {
    case BG_JOB_PROXY_USAGE_NO_PROXY:
        return set_proxy_config(config, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL);

    case BG_JOB_PROXY_USAGE_OVERRIDE:
        if (!options->proxy_list || !options->proxy_list[0])
            return set_proxy_config(config, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL);
        return set_proxy_config(config, WINHTTP_ACCESS_TYPE_NAMED_PROXY, options->proxy_list, options->proxy_bypass);

    case BG_JOB_PROXY_USAGE_AUTODETECT:
        have_found = find_auto_proxy(url, WINHTTP_AUTOPROXY_AUTO_DETECT, NULL, &found);
        break;

    default:   /* BG_JOB_PROXY_USAGE_PRECONFIG */
        if (!WinHttpGetIEProxyConfigForCurrentUser(&ie))
            return set_proxy_config(config, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL);
        if (ie.fAutoDetect || ie.lpszAutoConfigUrl)
            have_found = find_auto_proxy(url, (ie.fAutoDetect ? WINHTTP_AUTOPROXY_AUTO_DETECT : 0)
                                         | (ie.lpszAutoConfigUrl ? WINHTTP_AUTOPROXY_CONFIG_URL : 0),
                                         ie.lpszAutoConfigUrl, &found);
        break;
    }

    if (have_found)
        hr = set_proxy_config(config, found.lpszProxy ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY,
                              found.lpszProxy, found.lpszProxyBypass);
    else if (options->proxy_usage == BG_JOB_PROXY_USAGE_AUTODETECT)
        hr = set_proxy_config(config, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL);
    else if (ie.lpszProxy)
        hr = set_proxy_config(config, WINHTTP_ACCESS_TYPE_NAMED_PROXY, ie.lpszProxy, ie.lpszProxyBypass);
    else
        hr = set_proxy_config(config, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL);

    GlobalFree(found.lpszProxy);
    GlobalFree(found.lpszProxyBypass);
    GlobalFree(ie.lpszAutoConfigUrl);
    GlobalFree(ie.lpszProxy);
    GlobalFree(ie.lpszProxyBypass);
    return hr;
}

/* The session key of a request: its proxy configuration and, for HTTPS with a client
 * certificate, where that certificate comes from. */
static HRESULT make_session_key(const struct transfer_options *options, const WCHAR *url, BOOL secure,
                                struct session_key *key)
{
    WCHAR identity[64];
    HRESULT hr;
    size_t len;
    int i;

    memset(key, 0, sizeof(*key));
    if (FAILED(hr = resolve_proxy(options, url, key))) return hr;
    if (!secure || !options->has_certificate) return S_OK;

    swprintf(identity, ARRAY_SIZE(identity), L"%u\n", options->certificate_location);
    if (options->certificate_by_hash)
        for (i = 0; i < (int)sizeof(options->certificate_hash); ++i)
            swprintf(identity + wcslen(identity), 3, L"%02x", options->certificate_hash[i]);
    len = wcslen(identity) + 1 + (options->certificate_store ? wcslen(options->certificate_store) : 0) + 1
        + (!options->certificate_by_hash && options->certificate_subject ? wcslen(options->certificate_subject) : 0) + 1;
    if (!(key->identity = malloc(len * sizeof(WCHAR)))) return E_OUTOFMEMORY;
    swprintf(key->identity, len, L"%ls\n%ls\n%ls", identity,
             options->certificate_store ? options->certificate_store : L"",
             !options->certificate_by_hash && options->certificate_subject ? options->certificate_subject : L"");
    return S_OK;
}

static BOOL same_string(const WCHAR *a, const WCHAR *b)
{
    return a == b || (a && b && !wcscmp(a, b));
}

/* Requires: the transport's lock. */
static struct http_session *find_session(struct http_transport *transport, const struct session_key *key)
{
    struct http_session *session;

    for (session = transport->sessions; session; session = session->next)
        if (session->key.access == key->access && same_string(session->key.proxy, key->proxy)
                && same_string(session->key.bypass, key->bypass) && same_string(session->key.identity, key->identity))
            return session;
    return NULL;
}

/* The transport's session for the key, opened on first use (outside the lock; of two threads
 * racing to open the same one, the second closes its own). The key's strings pass to a new
 * session. A proxy list WinHTTP refuses is BG_E_INVALID_PROXY_INFO. */
static HRESULT get_session(struct http_transport *transport, struct session_key *key, HINTERNET *handle,
                           struct transfer_error *error)
{
    struct http_session *session, *existing;
    HRESULT hr;

    AcquireSRWLockExclusive(&transport->lock);
    session = find_session(transport, key);
    ReleaseSRWLockExclusive(&transport->lock);
    if (session)
    {
        *handle = session->handle;
        return S_OK;
    }

    if (!(session = calloc(1, sizeof(*session))))
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    session->key = *key;
    memset(key, 0, sizeof(*key));                 /* the session owns the strings now */
    if (!(session->handle = WinHttpOpen(USER_AGENT, session->key.access,
                                        session->key.proxy ? session->key.proxy : WINHTTP_NO_PROXY_NAME,
                                        session->key.bypass ? session->key.bypass : WINHTTP_NO_PROXY_BYPASS,
                                        WINHTTP_FLAG_ASYNC)))
    {
        WARN("proxy %s, bypass %s: %lu.\n", debugstr_w(session->key.proxy), debugstr_w(session->key.bypass),
             GetLastError());
        hr = session->key.access == WINHTTP_ACCESS_TYPE_NAMED_PROXY && GetLastError() == ERROR_INVALID_PARAMETER
           ? set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_INVALID_PROXY_INFO) : last_winhttp_error(error);
        session_free(session);
        return hr;
    }
    if (WinHttpSetStatusCallback(session->handle, status_callback,
                                 WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES
                                 | WINHTTP_CALLBACK_FLAG_REDIRECT | WINHTTP_CALLBACK_FLAG_SECURE_FAILURE,
                                 0) == WINHTTP_INVALID_STATUS_CALLBACK)
    {
        hr = last_winhttp_error(error);
        session_free(session);
        return hr;
    }

    AcquireSRWLockExclusive(&transport->lock);
    if (!(existing = find_session(transport, &session->key)))
    {
        session->next = transport->sessions;
        transport->sessions = session;
    }
    ReleaseSRWLockExclusive(&transport->lock);
    if (existing)
    {
        session_free(session);
        session = existing;
    }
    *handle = session->handle;
    return S_OK;
}

/* The HTTPS settings: ignored certificate errors, revocation checking and the client
 * certificate. */
static HRESULT set_security(HINTERNET request, const struct transfer_options *options,
                            struct transfer_error *error)
{
    static const struct { ULONG bits; DWORD flag; } ignore[] =
    {
        { BG_SSL_IGNORE_CERT_CN_INVALID,   SECURITY_FLAG_IGNORE_CERT_CN_INVALID },
        { BG_SSL_IGNORE_CERT_DATE_INVALID, SECURITY_FLAG_IGNORE_CERT_DATE_INVALID },
        { BG_SSL_IGNORE_UNKNOWN_CA,        SECURITY_FLAG_IGNORE_UNKNOWN_CA },
        { BG_SSL_IGNORE_CERT_WRONG_USAGE,  SECURITY_FLAG_IGNORE_CERT_WRONG_USAGE },
    };
    const CERT_CONTEXT *cert;
    DWORD flags = 0;
    HRESULT hr;
    size_t i;
    BOOL ok;

    for (i = 0; i < ARRAY_SIZE(ignore); ++i)
        if (options->security_flags & ignore[i].bits) flags |= ignore[i].flag;
    if (flags && !set_dword_option(request, WINHTTP_OPTION_SECURITY_FLAGS, flags))
        return last_winhttp_error(error);
    if ((options->security_flags & BG_SSL_ENABLE_CRL_CHECK)
            && !set_dword_option(request, WINHTTP_OPTION_ENABLE_FEATURE, WINHTTP_ENABLE_SSL_REVOCATION))
        return last_winhttp_error(error);

    if (!options->has_certificate) return S_OK;
    if (FAILED(hr = certificate_find(options->certificate_location, options->certificate_store,
                                     options->certificate_by_hash ? options->certificate_hash : NULL,
                                     options->certificate_subject, &cert)))
    {
        WARN("client certificate in %s: %#lx.\n", debugstr_w(options->certificate_store), hr);
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
    }
    ok = WinHttpSetOption(request, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, (void *)cert, sizeof(*cert));
    CertFreeCertificateContext(cert);
    return ok ? S_OK : last_winhttp_error(error);
}

/* The range and its validator (after the custom headers, which http_stream_open adds). The date
 * is the one the earlier part of the file had: If-Range makes a server whose file changed send
 * all of it (200, not ranged), which tells the engine to start over. */
static HRESULT add_headers(HINTERNET request, const struct transport_request *req, struct transfer_error *error)
{
    WCHAR header[128], date[WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR) + 1];
    BOOL to_eof = req->length == BG_LENGTH_TO_EOF || req->length > ~(UINT64)0 - req->offset;
    SYSTEMTIME time;

    if (!req->offset && to_eof) return S_OK;
    if (to_eof)
        swprintf(header, ARRAY_SIZE(header), L"Range: bytes=%llu-\r\n", (unsigned long long)req->offset);
    else
        swprintf(header, ARRAY_SIZE(header), L"Range: bytes=%llu-%llu\r\n", (unsigned long long)req->offset,
                 (unsigned long long)(req->offset + req->length - 1));
    if (!WinHttpAddRequestHeaders(request, header, (DWORD)-1L, WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE))
        return last_winhttp_error(error);

    if (req->if_modified && (req->if_modified->dwLowDateTime || req->if_modified->dwHighDateTime)
            && FileTimeToSystemTime(req->if_modified, &time) && WinHttpTimeFromSystemTime(&time, date))
    {
        swprintf(header, ARRAY_SIZE(header), L"If-Range: %ls\r\n", date);
        if (!WinHttpAddRequestHeaders(request, header, (DWORD)-1L, WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE))
            return last_winhttp_error(error);
    }
    return S_OK;
}

/* --- authentication ---------------------------------------------------------------------------- */

static const struct { BG_AUTH_SCHEME bits; DWORD winhttp; } auth_schemes[] =
{
    /* strongest first: the order a scheme is picked in when the server offers several */
    { BG_AUTH_SCHEME_NEGOTIATE, WINHTTP_AUTH_SCHEME_NEGOTIATE },
    { BG_AUTH_SCHEME_NTLM,      WINHTTP_AUTH_SCHEME_NTLM },
    { BG_AUTH_SCHEME_DIGEST,    WINHTTP_AUTH_SCHEME_DIGEST },
    { BG_AUTH_SCHEME_PASSPORT,  WINHTTP_AUTH_SCHEME_PASSPORT },
    { BG_AUTH_SCHEME_BASIC,     WINHTTP_AUTH_SCHEME_BASIC },
};

static BOOL is_implicit(const struct transfer_credential *credential)
{
    return !credential->user && !credential->password
        && (credential->scheme == BG_AUTH_SCHEME_NTLM || credential->scheme == BG_AUTH_SCHEME_NEGOTIATE);
}

static const struct transfer_credential *find_credential(const struct transfer_options *options,
                                                         BG_AUTH_TARGET target, BG_AUTH_SCHEME scheme)
{
    ULONG i;

    for (i = 0; i < options->credential_count; ++i)
        if (options->credentials[i].target == target && options->credentials[i].scheme == scheme)
            return &options->credentials[i];
    return NULL;
}

static BOOL has_target_credentials(const struct transfer_options *options, BG_AUTH_TARGET target)
{
    ULONG i;

    for (i = 0; i < options->credential_count; ++i)
        if (options->credentials[i].target == target) return TRUE;
    return FALSE;
}

/* Answers a 401 or 407 with the job's credential for the strongest scheme the server offers
 * that was not tried yet (*tried: WINHTTP_AUTH_SCHEME_* bits per target). The logged-on user's
 * credentials for the proxy also serve the server when the job has none for the server
 * (BITS-SPEC.md §2.3). FALSE when nothing fits: the status is then the error. */
static BOOL set_credentials(HINTERNET request, const struct transfer_options *options, DWORD status,
                            DWORD tried[2])
{
    BG_AUTH_TARGET target = status == HTTP_STATUS_PROXY_AUTH_REQ ? BG_AUTH_TARGET_PROXY : BG_AUTH_TARGET_SERVER;
    const struct transfer_credential *credential;
    DWORD supported, first, auth_target, *done = &tried[target == BG_AUTH_TARGET_PROXY];
    size_t i;

    if (!WinHttpQueryAuthSchemes(request, &supported, &first, &auth_target))
    {
        WARN("no authentication scheme offered: %lu.\n", GetLastError());
        return FALSE;
    }
    for (i = 0; i < ARRAY_SIZE(auth_schemes); ++i)
    {
        if (!(supported & auth_schemes[i].winhttp) || (*done & auth_schemes[i].winhttp)) continue;
        credential = find_credential(options, target, auth_schemes[i].bits);
        if (!credential && target == BG_AUTH_TARGET_SERVER && !has_target_credentials(options, target)
                && (credential = find_credential(options, BG_AUTH_TARGET_PROXY, auth_schemes[i].bits))
                && !is_implicit(credential))
            credential = NULL;
        if (!credential) continue;

        *done |= auth_schemes[i].winhttp;
        if (is_implicit(credential))
            set_dword_option(request, WINHTTP_OPTION_AUTOLOGON_POLICY, WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW);
        if (!WinHttpSetCredentials(request, auth_target, auth_schemes[i].winhttp, credential->user,
                                   credential->password, NULL) && !is_implicit(credential))
        {
            WARN("credentials for scheme %#lx refused: %lu.\n", auth_schemes[i].winhttp, GetLastError());
            continue;
        }
        TRACE("answering %lu with scheme %#lx.\n", status, auth_schemes[i].winhttp);
        return TRUE;
    }
    return FALSE;
}

/* --- server certificate ------------------------------------------------------------------------ */

/* The client's check of the server's certificate (HttpOptions3), once per certificate: it sees
 * the certificate and its chain as the server sent them, serialized as a memory store. It runs
 * once the response headers are in and before anything acts on them (credentials included); the
 * request line and the job's custom headers have gone out by then, WinHTTP offering no point in
 * between. A rejection that is a success code (S_FALSE, ...) is reported as E_FAIL, so the
 * failure stays a failure. */
static HRESULT check_server_certificate(struct http_stream *stream, const struct transfer_options *options,
                                        struct transfer_error *error)
{
    CRYPT_DATA_BLOB blob = {0};
    CERT_CONTEXT *cert = NULL;
    DWORD size = sizeof(cert);
    HRESULT hr;

    if (!WinHttpQueryOption(stream->request, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size) || !cert)
        return last_winhttp_error(error);
    if (stream->validated && CertCompareCertificate(X509_ASN_ENCODING, stream->validated->pCertInfo, cert->pCertInfo))
    {
        CertFreeCertificateContext(cert);
        return S_OK;
    }

    if (!CertSaveStore(cert->hCertStore, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, CERT_STORE_SAVE_AS_STORE,
                       CERT_STORE_SAVE_TO_MEMORY, &blob, 0))
        hr = hresult_from_last_error();
    else if (!(blob.pbData = malloc(blob.cbData)))
        hr = E_OUTOFMEMORY;
    else if (!CertSaveStore(cert->hCertStore, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, CERT_STORE_SAVE_AS_STORE,
                            CERT_STORE_SAVE_TO_MEMORY, &blob, 0))
        hr = hresult_from_last_error();
    else
        hr = S_OK;
    if (FAILED(hr))
    {
        free(blob.pbData);
        CertFreeCertificateContext(cert);
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
    }

    hr = options->validate_certificate(options->validate_context, cert->pbCertEncoded, cert->cbCertEncoded,
                                       cert->dwCertEncodingType, blob.pbData, blob.cbData);
    free(blob.pbData);
    if (hr != S_OK)
    {
        WARN("the server certificate was rejected: %#lx.\n", hr);
        CertFreeCertificateContext(cert);
        return set_error(error, BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, FAILED(hr) ? hr : E_FAIL);
    }
    if (stream->validated) CertFreeCertificateContext(stream->validated);
    stream->validated = cert;
    return S_OK;
}

/* --- the response ------------------------------------------------------------------------------- */

/* A header as a string; FALSE when absent (or too long for the buffer). */
static BOOL query_header(HINTERNET request, DWORD query, WCHAR *buffer, DWORD count)
{
    DWORD size = count * sizeof(WCHAR);
    return WinHttpQueryHeaders(request, query, WINHTTP_HEADER_NAME_BY_INDEX, buffer, &size, WINHTTP_NO_HEADER_INDEX);
}

/* A decimal 64-bit number at *p, which moves past it. */
static BOOL parse_uint64(const WCHAR **p, UINT64 *value)
{
    const WCHAR *s = *p;
    UINT64 v = 0;

    while (*s == ' ') ++s;
    if (*s < '0' || *s > '9') return FALSE;
    for (; *s >= '0' && *s <= '9'; ++s)
    {
        if (v > (~(UINT64)0 - (*s - '0')) / 10) return FALSE;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    *value = v;
    return TRUE;
}

/* "bytes first-last/total", total possibly "*" (BG_SIZE_UNKNOWN). */
static BOOL parse_content_range(const WCHAR *p, UINT64 *first, UINT64 *last, UINT64 *total)
{
    while (*p == ' ') ++p;
    if (_wcsnicmp(p, L"bytes", 5)) return FALSE;
    p += 5;
    if (!parse_uint64(&p, first) || *p++ != '-' || !parse_uint64(&p, last) || *last < *first) return FALSE;
    while (*p == ' ') ++p;
    if (*p++ != '/') return FALSE;
    while (*p == ' ') ++p;
    if (*p == '*')
    {
        *total = BG_SIZE_UNKNOWN;
        return TRUE;
    }
    return parse_uint64(&p, total) && *total > *last;
}

static HRESULT query_raw_headers(HINTERNET request, WCHAR **out)
{
    DWORD size = 0;
    WCHAR *headers;

    *out = NULL;
    WinHttpQueryHeaders(request, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX, NULL, &size,
                        WINHTTP_NO_HEADER_INDEX);
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) return hresult_from_last_error();
    if (!(headers = malloc(size + sizeof(WCHAR)))) return E_OUTOFMEMORY;
    if (!WinHttpQueryHeaders(request, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX, headers, &size,
                             WINHTTP_NO_HEADER_INDEX))
    {
        free(headers);
        return hresult_from_last_error();
    }
    *out = headers;
    return S_OK;
}

static BOOL is_redirect(DWORD status)
{
    return (status >= HTTP_STATUS_AMBIGUOUS && status <= HTTP_STATUS_REDIRECT_METHOD)
        || status == HTTP_STATUS_REDIRECT_KEEP_VERB || status == HTTP_STATUS_PERMANENT_REDIRECT;
}

/* What a 200 or 206 says about the file. Anything else is the request's error, and so is a 206
 * for another range than the one asked for, unless it is the whole file (then not ranged). */
static HRESULT read_response(struct http_stream *stream, const struct transport_request *req,
                             const struct transfer_options *options, DWORD status,
                             struct transport_response *response, struct transfer_error *error)
{
    UINT64 first, last, total, length;
    WCHAR value[128];
    const WCHAR *p;
    SYSTEMTIME time;
    DWORD size;
    HRESULT hr;

    if (status == HTTP_STATUS_RANGE_NOT_SATISFIABLE)
        return set_error(error, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_INVALID_RANGE);
    if (is_redirect(status))
        return set_error(error, BG_ERROR_CONTEXT_REMOTE_FILE, HRESULT_FROM_WIN32(status));
    if (status != HTTP_STATUS_OK && status != HTTP_STATUS_PARTIAL_CONTENT)
        return set_error(error, BG_ERROR_CONTEXT_REMOTE_FILE, MAKE_HRESULT(SEVERITY_ERROR, FACILITY_HTTP, status));

    response->file_size = BG_SIZE_UNKNOWN;
    stream->body_left = BG_SIZE_UNKNOWN;
    if (query_header(stream->request, WINHTTP_QUERY_CONTENT_LENGTH, value, ARRAY_SIZE(value))
            && (p = value, parse_uint64(&p, &length)))
    {
        stream->body_left = length;
        if (status == HTTP_STATUS_OK) response->file_size = length;
    }
    if (status == HTTP_STATUS_PARTIAL_CONTENT)
    {
        if (!query_header(stream->request, WINHTTP_QUERY_CONTENT_RANGE, value, ARRAY_SIZE(value))
                || !parse_content_range(value, &first, &last, &total)
                || (first != req->offset && (first || total == BG_SIZE_UNKNOWN || last + 1 != total)))
        {
            WARN("206 with Content-Range %s for offset %llu.\n", debugstr_w(value), (unsigned long long)req->offset);
            return set_error(error, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_INVALID_SERVER_RESPONSE);
        }
        response->file_size = total;
        response->ranged = first == req->offset;
        stream->body_left = last - first + 1;
    }
    if (options->type == BG_JOB_TYPE_DOWNLOAD && options->http_method && !_wcsicmp(options->http_method, L"HEAD"))
        stream->body_left = 0;

    size = sizeof(time);
    if (WinHttpQueryHeaders(stream->request, WINHTTP_QUERY_LAST_MODIFIED | WINHTTP_QUERY_FLAG_SYSTEMTIME,
                            WINHTTP_HEADER_NAME_BY_INDEX, &time, &size, WINHTTP_NO_HEADER_INDEX))
        SystemTimeToFileTime(&time, &response->modified);

    if (FAILED(hr = query_raw_headers(stream->request, &response->headers)))
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
    if (stream->redirected && (options->security_flags & BG_HTTP_REDIRECT_POLICY_MASK) == BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT)
    {
        if (stream->url_lost || !(response->final_url = _wcsdup(stream->url)))
            return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    }
    return S_OK;
}

/* --- the ops ------------------------------------------------------------------------------------ */

/* The connection and request handles, with the stream as the request's context (from then on
 * the handle holds a reference on the stream) and the job's redirect policy: DISALLOW turns
 * redirects off, ALLOW_HTTPS_TO_HTTP lets WinHTTP follow https -> http ones too (by default it
 * refuses them and hands us the redirect status). */
static HRESULT create_request(struct http_stream *stream, HINTERNET session, const WCHAR *host,
                              const URL_COMPONENTS *url, const WCHAR *verb, const struct transfer_options *options,
                              BOOL secure, struct transfer_error *error)
{
    DWORD_PTR context = (DWORD_PTR)stream;
    DWORD policy;

    if (!(stream->connection = WinHttpConnect(session, host, url->nPort, 0))) return last_winhttp_error(error);
    if (!(stream->request = WinHttpOpenRequest(stream->connection, verb,
                                               url->lpszUrlPath, NULL, WINHTTP_NO_REFERER,
                                               WINHTTP_DEFAULT_ACCEPT_TYPES, secure ? WINHTTP_FLAG_SECURE : 0)))
        return last_winhttp_error(error);
    InterlockedIncrement(&stream->refcount);
    if (!WinHttpSetOption(stream->request, WINHTTP_OPTION_CONTEXT_VALUE, &context, sizeof(context)))
    {
        InterlockedDecrement(&stream->refcount);
        return last_winhttp_error(error);
    }

    if ((options->security_flags & BG_HTTP_REDIRECT_POLICY_MASK) == BG_HTTP_REDIRECT_POLICY_DISALLOW)
        policy = WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
    else if (options->security_flags & BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP)
        policy = WINHTTP_OPTION_REDIRECT_POLICY_ALWAYS;
    else
        policy = WINHTTP_OPTION_REDIRECT_POLICY_DISALLOW_HTTPS_TO_HTTP;
    if (!set_dword_option(stream->request, WINHTTP_OPTION_REDIRECT_POLICY, policy))
        WARN("redirect policy %lu refused: %lu.\n", policy, GetLastError());
    /* Wine may ignore the policy; this one it knows. */
    if (policy == WINHTTP_OPTION_REDIRECT_POLICY_NEVER
            && !set_dword_option(stream->request, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_REDIRECTS))
        return last_winhttp_error(error);
    return S_OK;
}

/* One round trip: the request (and its body, which must outlive the operation) out, the
 * response headers in. S_OK with *win32 0 or WinHTTP's error; a failure only when the wait
 * itself failed. */
static HRESULT round_trip(struct http_stream *stream, const void *body, DWORD body_size, DWORD *win32)
{
    HRESULT hr;

    begin_operation(stream);
    if (!WinHttpSendRequest(stream->request, WINHTTP_NO_ADDITIONAL_HEADERS, 0, (void *)body, body_size, body_size,
                            (DWORD_PTR)stream))
        goto out_error;
    if (FAILED(hr = wait_operation(stream))) return hr;
    if ((*win32 = operation_error(stream))) return S_OK;

    begin_operation(stream);
    if (!WinHttpReceiveResponse(stream->request, NULL)) goto out_error;
    if (FAILED(hr = wait_operation(stream))) return hr;
    *win32 = operation_error(stream);
    return S_OK;

out_error:
    if (!(*win32 = GetLastError())) *win32 = ERROR_WINHTTP_INTERNAL_ERROR;
    return S_OK;
}

HRESULT http_stream_exchange(struct http_stream *stream, const struct transfer_options *options,
                             const void *body, DWORD body_size, DWORD *status, struct transfer_error *error)
{
    DWORD tried[2] = {0}, size, win32, rounds = 0;
    BOOL without_certificate = FALSE, secure = stream->secure;
    HRESULT hr;

    for (;;)
    {
        if (FAILED(hr = round_trip(stream, body, body_size, &win32)))
            return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
        if (win32 == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && !options->has_certificate && !without_certificate)
        {
            without_certificate = TRUE;
            WinHttpSetOption(stream->request, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, WINHTTP_NO_CLIENT_CERT_CONTEXT, 0);
            continue;
        }
        if (win32) return winhttp_error(error, win32);

        if (secure && options->validate_certificate
                && FAILED(hr = check_server_certificate(stream, options, error)))
            return hr;

        size = sizeof(*status);
        if (!WinHttpQueryHeaders(stream->request, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                 WINHTTP_HEADER_NAME_BY_INDEX, status, &size, WINHTTP_NO_HEADER_INDEX))
            return last_winhttp_error(error);
        if ((*status != HTTP_STATUS_DENIED && *status != HTTP_STATUS_PROXY_AUTH_REQ) || rounds++ == MAX_AUTH_ROUNDS
                || !set_credentials(stream->request, options, *status, tried))
            return S_OK;
    }
}

HRESULT http_stream_open(struct http_transport *transport, const WCHAR *url_text, enum remote_kind kind,
                         const WCHAR *verb, const struct transfer_options *options, struct http_stream **out,
                         struct transfer_error *error)
{
    struct session_key key;
    HINTERNET session;
    URL_COMPONENTS url;
    struct http_stream *stream;
    WCHAR *host = NULL;
    HRESULT hr;

    *out = NULL;
    if (kind != REMOTE_HTTP && kind != REMOTE_HTTPS) return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_INVALIDARG);
    memset(&url, 0, sizeof(url));
    url.dwStructSize = sizeof(url);
    url.dwHostNameLength = url.dwUrlPathLength = url.dwExtraInfoLength = (DWORD)-1;
    if (!WinHttpCrackUrl(url_text, 0, 0, &url)) return last_winhttp_error(error);
    if (!(host = malloc((url.dwHostNameLength + 1) * sizeof(WCHAR))))
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    memcpy(host, url.lpszHostName, url.dwHostNameLength * sizeof(WCHAR));
    host[url.dwHostNameLength] = 0;

    if (!(stream = calloc(1, sizeof(*stream))))
    {
        free(host);
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    }
    stream->refcount = 1;
    stream->request_users = 1;
    InitializeSRWLock(&stream->lock);
    InitializeConditionVariable(&stream->changed);
    stream->read_size = READ_MIN_SIZE;
    stream->secure = url.nScheme == INTERNET_SCHEME_HTTPS;
    InterlockedIncrement(&transport->refcount);
    stream->transport = transport;
    if (!(stream->url = _wcsdup(url_text)))
    {
        hr = set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
        goto fail;
    }

    if (FAILED(hr = make_session_key(options, url_text, stream->secure, &key)))
    {
        session_key_free(&key);
        set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
        goto fail;
    }
    hr = get_session(transport, &key, &session, error);
    session_key_free(&key);
    if (FAILED(hr)) goto fail;

    if (FAILED(hr = create_request(stream, session, host, &url, verb, options, stream->secure, error))) goto fail;
    if (stream->secure && FAILED(hr = set_security(stream->request, options, error))) goto fail;
    if (options->custom_headers && options->custom_headers[0]
            && !WinHttpAddRequestHeaders(stream->request, options->custom_headers, (DWORD)-1L, WINHTTP_ADDREQ_FLAG_ADD))
    {
        hr = last_winhttp_error(error);
        goto fail;
    }
    free(host);
    *out = stream;
    return S_OK;

fail:
    free(host);
    stream_close(stream);
    return hr;
}

void http_stream_close(struct http_stream *stream)
{
    stream_close(stream);
}

HRESULT http_query_raw_headers(struct http_stream *stream, WCHAR **out)
{
    return query_raw_headers(stream->request, out);
}

static HRESULT http_open(void *context, const struct transport_request *req, struct transport_stream **out,
                         struct transport_response *response, struct transfer_error *error)
{
    const struct transfer_options *options = req->options ? req->options : &no_options;
    struct http_transport *transport = context;
    struct http_stream *stream;
    DWORD status = 0;
    HRESULT hr;

    *out = NULL;
    memset(response, 0, sizeof(*response));
    TRACE("%s, kind %u, offset %llu, length %#llx.\n", debugstr_w(req->url), req->kind,
          (unsigned long long)req->offset, (unsigned long long)req->length);

    if (req->kind != REMOTE_HTTP && req->kind != REMOTE_HTTPS)
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_INVALIDARG);
    if (!req->length) return set_error(error, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_INVALID_RANGE);

    /* An upload job's custom method is its packets' (transport_upload.c): its reply is a GET. */
    if (FAILED(hr = http_stream_open(transport, req->url, req->kind,
                                     options->type == BG_JOB_TYPE_DOWNLOAD && options->http_method
                                     ? options->http_method : L"GET", options, &stream, error)))
    {
        WARN("%s: %#lx (context %u).\n", debugstr_w(req->url), hr, error->context);
        return hr;
    }
    /* Before the exchange, which waits for the server: abort() now reaches it. */
    if (req->opening) req->opening(req->opening_context, (struct transport_stream *)stream);
    if (FAILED(hr = add_headers(stream->request, req, error))) goto fail;
    if (FAILED(hr = http_stream_exchange(stream, options, NULL, 0, &status, error))) goto fail;
    TRACE("status %lu.\n", status);
    if (FAILED(hr = read_response(stream, req, options, status, response, error))) goto fail;

    *out = (struct transport_stream *)stream;
    return S_OK;

fail:
    WARN("%s: %#lx (context %u).\n", debugstr_w(req->url), hr, error->context);
    transport_response_free(response);
    memset(response, 0, sizeof(*response));
    if (req->opening) *out = (struct transport_stream *)stream;   /* the caller's now */
    else stream_close(stream);
    return hr;
}

/* Runs WinHttpReadData on a pool thread: Wine's, asked for more than it holds, reads the socket
 * on the calling thread until it has it all, where abort() could not reach the caller. Holds a
 * reference on the stream and on the request handle meanwhile. */
static void CALLBACK read_work(TP_CALLBACK_INSTANCE *instance, void *context)
{
    struct http_stream *stream = context;
    DWORD win32;

    if (!WinHttpReadData(stream->request, stream->buffer, stream->read_want, NULL))
        complete(stream, (win32 = GetLastError()) ? win32 : ERROR_WINHTTP_INTERNAL_ERROR, 0);
    request_unuse(stream);
    stream_release(stream);
}

/* One WinHTTP read for the whole of what is asked (up to read_size), which Wine gathers from the
 * socket with no round trip through this thread between its socket reads. It runs on a pool
 * thread (read_work) while this one waits, abortably: abort() sets a flag this thread waits on,
 * and the read itself is left to finish or fail on its own. read_size adapts to the connection: a quick read doubles the next
 * one, up to READ_BUFFER_SIZE, and a slow one halves it, down to READ_MIN_SIZE, so that a slow
 * connection still reports progress every second or so. */
static HRESULT http_read(struct transport_stream *iface, void *buffer, DWORD size, DWORD *read,
                         struct transfer_error *error)
{
    struct http_stream *stream = impl_from_transport_stream(iface);
    DWORD want = size < stream->read_size ? size : stream->read_size, got;
    ULONGLONG start, took;
    HRESULT hr;

    *read = 0;
    if (wait_flag(stream, &stream->aborted, 0))
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_ABORT);
    if (!size || !stream->body_left || stream->end_of_body) goto out;
    if (!stream->buffer && !(stream->buffer = malloc(READ_BUFFER_SIZE)))
        return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, E_OUTOFMEMORY);
    if (stream->body_left != BG_SIZE_UNKNOWN && want > stream->body_left) want = (DWORD)stream->body_left;

    start = GetTickCount64();
    stream->read_want = want;
    begin_operation(stream);
    InterlockedIncrement(&stream->refcount);
    InterlockedIncrement(&stream->request_users);
    if (!TrySubmitThreadpoolCallback(read_work, stream, NULL))
    {
        hr = set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hresult_from_last_error());
        request_unuse(stream);
        stream_release(stream);
        return hr;
    }
    if (FAILED(hr = wait_operation(stream))) return set_error(error, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, hr);
    if (stream->result_error) return winhttp_error(error, operation_error(stream));
    took = GetTickCount64() - start;

    if (!(got = stream->result_bytes))
    {
        stream->end_of_body = TRUE;
        goto out;
    }
    if (got > want) got = want;
    if (stream->body_left != BG_SIZE_UNKNOWN) stream->body_left -= got;
    if (got == want && took <= READ_FAST_MS && stream->read_size < READ_BUFFER_SIZE) stream->read_size *= 2;
    else if (took >= READ_SLOW_MS && stream->read_size > READ_MIN_SIZE) stream->read_size /= 2;
    memcpy(buffer, stream->buffer, got);
    *read = got;
    return S_OK;

out:
    if (stream->end_of_body && stream->body_left && stream->body_left != BG_SIZE_UNKNOWN)
    {
        /* The connection ended before the body it announced. */
        WARN("the body ended %llu bytes short.\n", (unsigned long long)stream->body_left);
        return winhttp_error(error, ERROR_WINHTTP_CONNECTION_ERROR);
    }
    return S_OK;
}

HRESULT http_stream_drain(struct http_stream *stream, DWORD limit, struct transfer_error *error)
{
    BYTE buffer[4096];
    DWORD read, total = 0;
    HRESULT hr;

    /* Read even a body of 0 bytes: Wine gives the connection back to its pool only once a read
     * has found the end of the response. */
    stream->body_left = BG_SIZE_UNKNOWN;
    stream->end_of_body = FALSE;
    do
    {
        if (FAILED(hr = http_read((struct transport_stream *)stream, buffer, sizeof(buffer), &read, error))) return hr;
        total += read;
    } while (read && total < limit);
    return read ? S_FALSE : S_OK;
}

static void http_abort(struct transport_stream *iface)
{
    struct http_stream *stream = impl_from_transport_stream(iface);

    TRACE("%p.\n", stream);
    set_flag(stream, &stream->aborted);
}

static void http_close(struct transport_stream *iface)
{
    TRACE("%p.\n", iface);
    stream_close(impl_from_transport_stream(iface));
}

static const struct transport_ops http_transport_ops =
{
    http_open,
    http_read,
    http_abort,
    http_close,
    http_post_open,                       /* transport_upload.c */
    http_post_send,
};

HRESULT http_transport_create(struct transport *out)
{
    struct http_transport *transport;

    out->ops = NULL;
    out->context = NULL;
    if (!(transport = calloc(1, sizeof(*transport)))) return E_OUTOFMEMORY;
    module_lock();
    transport->refcount = 1;
    InitializeSRWLock(&transport->lock);
    InitializeConditionVariable(&transport->streams_gone);
    out->ops = &http_transport_ops;
    out->context = transport;
    return S_OK;
}

/* Waits (at most CLOSE_WAIT_MS) for the streams WinHTTP still holds (a stream closed after
 * abort() does not wait for them, see stream_close), so that the service ends with nothing of
 * ours running in WinHTTP when it can. */
void http_transport_destroy(struct transport *transport)
{
    struct http_transport *http = transport->context;
    ULONGLONG deadline = GetTickCount64() + CLOSE_WAIT_MS, now;

    if (http)
    {
        AcquireSRWLockExclusive(&http->lock);
        while (http->refcount > 1 && (now = GetTickCount64()) < deadline)
            SleepConditionVariableSRW(&http->streams_gone, &http->lock, (DWORD)(deadline - now), 0);
        ReleaseSRWLockExclusive(&http->lock);
        transport_release(http);
    }
    transport->ops = NULL;
    transport->context = NULL;
}
