/* SPDX-License-Identifier: MIT */
/* The job's secondary interfaces: IBackgroundCopyJobHttpOptions .. 3 (BITS-SPEC.md §2.9) and
 * IBitsTokenOptions (§2.10). Same object, same lock and rules as job.c; the values are stored
 * here and applied by the transfer engine. */
#include <stdlib.h>

#include "job.h"
#include "certificate.h"
#include "notify.h"
#include "owner.h"

#define MAX_CERT_STRING   256        /* characters including the terminating NUL */
#define MAX_CUSTOM_HEADERS 16384     /* characters including the terminating NUL */
#define MAX_HTTP_METHOD   64         /* our limit: a method is a short HTTP token */
#define CERT_HASH_SIZE    20         /* SHA-1 */
#define VALID_SECURITY_FLAGS (BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_CERT_CN_INVALID \
                              | BG_SSL_IGNORE_CERT_DATE_INVALID | BG_SSL_IGNORE_UNKNOWN_CA \
                              | BG_SSL_IGNORE_CERT_WRONG_USAGE | BG_HTTP_REDIRECT_POLICY_MASK \
                              | BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP)
#define VALID_TOKEN_FLAGS (BG_TOKEN_LOCAL_FILE | BG_TOKEN_NETWORK)

#define E_NULL_REF  HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER)
#define E_BAD_STUB  HRESULT_FROM_WIN32(RPC_X_BAD_STUB_DATA)

static inline struct job *impl_from_IBackgroundCopyJobHttpOptions3(IBackgroundCopyJobHttpOptions3 *iface)
{
    return CONTAINING_RECORD(iface, struct job, IBackgroundCopyJobHttpOptions3_iface);
}

static inline struct job *impl_from_IBitsTokenOptions(IBitsTokenOptions *iface)
{
    return CONTAINING_RECORD(iface, struct job, IBitsTokenOptions_iface);
}

static void certificate_clear(struct job *job)
{
    free(job->certificate_store);
    free(job->certificate_subject);
    job->certificate_store = job->certificate_subject = NULL;
    memset(job->certificate_hash, 0, sizeof(job->certificate_hash));
    job->has_certificate = job->certificate_by_hash = FALSE;
}

void job_options_strip_locked(struct job *job)
{
    certificate_clear(job);
    free(job->custom_headers);
    job->custom_headers = NULL;
    job->headers_write_only = FALSE;
}

void job_options_free(struct job *job)
{
    job_options_strip_locked(job);
    free(job->http_method);
    free(job->helper_token_sid);
    if (job->helper_token) CloseHandle(job->helper_token);
}

/* --- IUnknown, forwarded to the job ------------------------------------------------------------ */

static HRESULT WINAPI http_options_QueryInterface(IBackgroundCopyJobHttpOptions3 *iface, REFIID riid, void **out)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    return IBackgroundCopyJob5_QueryInterface(&job->IBackgroundCopyJob5_iface, riid, out);
}

static ULONG WINAPI http_options_AddRef(IBackgroundCopyJobHttpOptions3 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    return IBackgroundCopyJob5_AddRef(&job->IBackgroundCopyJob5_iface);
}

static ULONG WINAPI http_options_Release(IBackgroundCopyJobHttpOptions3 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    return IBackgroundCopyJob5_Release(&job->IBackgroundCopyJob5_iface);
}

/* --- client certificates ------------------------------------------------------------------------ */

/* The certificate must exist when it is set (BITS-SPEC.md §2.9). */
static HRESULT find_certificate(BG_CERT_STORE_LOCATION location, const WCHAR *store_name,
                                const BYTE *hash, const WCHAR *subject)
{
    const CERT_CONTEXT *cert;
    HRESULT hr;

    if (SUCCEEDED(hr = certificate_find(location, store_name, hash, subject, &cert)))
        CertFreeCertificateContext(cert);
    return hr;
}

static HRESULT set_certificate(struct job *job, BG_CERT_STORE_LOCATION location, const WCHAR *store_name,
                               const BYTE *hash, const WCHAR *subject)
{
    WCHAR *new_store = NULL, *new_subject = NULL;
    HRESULT hr;

    if ((unsigned int)location > BG_CERT_STORE_LOCATION_LOCAL_MACHINE_ENTERPRISE) return E_NOTIMPL;
    if (wcsnlen(store_name, MAX_CERT_STRING) >= MAX_CERT_STRING) return BG_E_STRING_TOO_LONG;
    if (subject && wcsnlen(subject, MAX_CERT_STRING) >= MAX_CERT_STRING) return BG_E_STRING_TOO_LONG;
    if (subject && !*subject) return E_INVALIDARG;

    service_lock(job->service);
    hr = job_check_modifiable_locked(job);
    service_unlock(job->service);
    if (FAILED(hr)) return hr;
    if (FAILED(hr = find_certificate(location, store_name, hash, subject))) return hr;   /* no lock: I/O */
    if (FAILED(hr = job_copy_string(store_name, &new_store)) || FAILED(hr = job_copy_string(subject, &new_subject)))
        goto out;

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        certificate_clear(job);
        job->has_certificate = TRUE;
        job->certificate_location = location;
        job->certificate_store = new_store;
        job->certificate_subject = new_subject;
        new_store = new_subject = NULL;
        if ((job->certificate_by_hash = !!hash)) memcpy(job->certificate_hash, hash, CERT_HASH_SIZE);
        job_touch_locked(job);
    }
    service_unlock(job->service);
out:
    free(new_store);
    free(new_subject);
    return hr;
}

static HRESULT WINAPI http_options_SetClientCertificateByID(IBackgroundCopyJobHttpOptions3 *iface,
        BG_CERT_STORE_LOCATION location, LPCWSTR store_name, BYTE *hash)
{
    TRACE("%p, %d, %s, %p.\n", iface, location, debugstr_w(store_name), hash);
    if (!store_name || !hash) return E_NULL_REF;
    return set_certificate(impl_from_IBackgroundCopyJobHttpOptions3(iface), location, store_name, hash, NULL);
}

static HRESULT WINAPI http_options_SetClientCertificateByName(IBackgroundCopyJobHttpOptions3 *iface,
        BG_CERT_STORE_LOCATION location, LPCWSTR store_name, LPCWSTR subject)
{
    TRACE("%p, %d, %s, %s.\n", iface, location, debugstr_w(store_name), debugstr_w(subject));
    if (!store_name || !subject) return E_NULL_REF;
    return set_certificate(impl_from_IBackgroundCopyJobHttpOptions3(iface), location, store_name, NULL, subject);
}

static HRESULT WINAPI http_options_RemoveClientCertificate(IBackgroundCopyJobHttpOptions3 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        if (!job->has_certificate) hr = S_FALSE;
        else
        {
            certificate_clear(job);
            job_touch_locked(job);
        }
    }
    service_unlock(job->service);
    return hr;
}

static HRESULT WINAPI http_options_GetClientCertificate(IBackgroundCopyJobHttpOptions3 *iface,
        BG_CERT_STORE_LOCATION *location, LPWSTR *store_name, BYTE **hash, LPWSTR *subject)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    WCHAR *store_copy = NULL, *subject_copy = NULL;
    BYTE hash_copy[CERT_HASH_SIZE];
    BG_CERT_STORE_LOCATION where;
    BOOL has, by_hash;
    HRESULT hr;

    TRACE("%p, %p, %p, %p, %p.\n", iface, location, store_name, hash, subject);
    if (!location || !store_name || !hash || !subject) return E_NULL_REF;
    *store_name = *subject = NULL;
    *hash = NULL;

    service_lock(job->service);
    has = job->has_certificate;
    by_hash = job->certificate_by_hash;
    where = job->certificate_location;
    memcpy(hash_copy, job->certificate_hash, sizeof(hash_copy));
    if (SUCCEEDED(hr = job_copy_string(job->certificate_store, &store_copy)))
        hr = job_copy_string(job->certificate_subject, &subject_copy);
    service_unlock(job->service);

    if (SUCCEEDED(hr) && !has) hr = E_BAD_STUB;            /* documented for "no certificate" */
    if (SUCCEEDED(hr)) hr = return_string(store_copy, store_name);
    if (SUCCEEDED(hr) && subject_copy) hr = return_string(subject_copy, subject);
    if (SUCCEEDED(hr) && by_hash)
    {
        if (!(*hash = CoTaskMemAlloc(CERT_HASH_SIZE))) hr = E_OUTOFMEMORY;
        else memcpy(*hash, hash_copy, CERT_HASH_SIZE);
    }
    if (FAILED(hr))
    {
        CoTaskMemFree(*store_name);
        CoTaskMemFree(*subject);
        CoTaskMemFree(*hash);
        *store_name = *subject = NULL;
        *hash = NULL;
    }
    else
    {
        *location = where;
        hr = S_OK;
    }
    free(store_copy);
    free(subject_copy);
    return hr;
}

/* --- headers, security flags, method ------------------------------------------------------------ */

static HRESULT WINAPI http_options_SetCustomHeaders(IBackgroundCopyJobHttpOptions3 *iface, LPCWSTR headers)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    WCHAR *copy;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(headers));
    if (headers && wcsnlen(headers, MAX_CUSTOM_HEADERS) >= MAX_CUSTOM_HEADERS) return BG_E_STRING_TOO_LONG;
    if (FAILED(hr = job_copy_string(headers, &copy))) return hr;     /* NULL removes them */
    hr = job_swap_string(job, &job->custom_headers, &copy);
    free(copy);
    return hr;
}

static HRESULT WINAPI http_options_GetCustomHeaders(IBackgroundCopyJobHttpOptions3 *iface, LPWSTR *headers)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    WCHAR *copy = NULL;
    BOOL write_only;
    HRESULT hr;

    TRACE("%p, %p.\n", iface, headers);
    if (!headers) return E_NULL_REF;
    *headers = NULL;
    service_lock(job->service);
    write_only = job->headers_write_only;
    hr = write_only ? S_OK : job_copy_string(job->custom_headers, &copy);
    service_unlock(job->service);
    /* Write-only headers can't be read back (code unconfirmed; E_ACCESSDENIED says why). */
    if (write_only) return E_ACCESSDENIED;
    if (FAILED(hr)) return hr;
    hr = return_string(copy, headers);     /* S_FALSE and NULL when there are none */
    free(copy);
    return hr;
}

static HRESULT WINAPI http_options_SetSecurityFlags(IBackgroundCopyJobHttpOptions3 *iface, ULONG flags)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    ULONG redirect = flags & BG_HTTP_REDIRECT_POLICY_MASK;

    TRACE("%p, %#lx.\n", iface, flags);
    if (flags & ~VALID_SECURITY_FLAGS) return E_NOTIMPL;
    if (redirect != BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT && redirect != BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT
        && redirect != BG_HTTP_REDIRECT_POLICY_DISALLOW)
        return E_NOTIMPL;
    return job_set_ulong(job, &job->security_flags, flags);
}

static HRESULT WINAPI http_options_GetSecurityFlags(IBackgroundCopyJobHttpOptions3 *iface, ULONG *flags)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);

    TRACE("%p, %p.\n", iface, flags);
    if (!flags) return E_NULL_REF;
    return job_get_ulong(job, &job->security_flags, flags);
}

static const WCHAR *default_method(const struct job *job)
{
    return job->xfer.type == BG_JOB_TYPE_DOWNLOAD ? L"GET" : L"BITS_POST";
}

/* An HTTP method is a token (RFC 9110 §5.6.2). */
static BOOL is_http_token(const WCHAR *str)
{
    static const WCHAR extra[] = L"!#$%&'*+-.^_`|~";

    if (!*str) return FALSE;
    for (; *str; ++str)
        if (!((*str >= 'A' && *str <= 'Z') || (*str >= 'a' && *str <= 'z') || (*str >= '0' && *str <= '9')
              || wcschr(extra, *str)))
            return FALSE;
    return TRUE;
}

static HRESULT WINAPI http_options_SetHttpMethod(IBackgroundCopyJobHttpOptions3 *iface, LPCWSTR method)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    WCHAR *copy = NULL;
    HRESULT hr;

    TRACE("%p, %s.\n", iface, debugstr_w(method));
    if (!method) return E_NULL_REF;
    if (wcsnlen(method, MAX_HTTP_METHOD + 1) > MAX_HTTP_METHOD || !is_http_token(method)) return E_INVALIDARG;

    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job))) goto out_unlock;
    /* Fixed at the first Resume (the code is unconfirmed; this one names the rule). */
    if (job->xfer.resumed)
    {
        hr = BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
        goto out_unlock;
    }
    if (!wcscmp(method, default_method(job)))
    {
        copy = job->http_method;           /* the default again: back to a normal job */
        job->http_method = NULL;
        job->xfer.custom_method = FALSE;
    }
    else if (job->xfer.dynamic_content || job->xfer.on_demand)
        hr = BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
    else if (!(copy = _wcsdup(method)))
        hr = E_OUTOFMEMORY;
    else
    {
        WCHAR *old = job->http_method;
        job->http_method = copy;
        copy = old;
        job->xfer.priority = BG_JOB_PRIORITY_FOREGROUND;   /* a custom method pins FOREGROUND */
        job->xfer.custom_method = TRUE;                    /* and makes transient errors fatal */
    }
    if (SUCCEEDED(hr)) job_touch_locked(job);
out_unlock:
    service_unlock(job->service);
    free(copy);
    return hr;
}

static HRESULT WINAPI http_options_GetHttpMethod(IBackgroundCopyJobHttpOptions3 *iface, LPWSTR *method)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);

    TRACE("%p, %p.\n", iface, method);
    if (!method) return E_NULL_REF;
    return job_get_string(job, &job->http_method, default_method(job), method);
}

static HRESULT WINAPI http_options_SetServerCertificateValidationInterface(IBackgroundCopyJobHttpOptions3 *iface,
                                                                          IUnknown *callback)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);
    IBackgroundCopyServerCertificateValidationCallback *validator = NULL;
    DWORD cookie = 0;
    HRESULT hr;

    TRACE("%p, %p.\n", iface, callback);
    if (callback)
    {
        if (FAILED(hr = IUnknown_QueryInterface(callback, &IID_IBackgroundCopyServerCertificateValidationCallback,
                                                (void **)&validator)))
            return E_NOINTERFACE;
        /* Kept as IUnknown in the GIT: that marshals with the system's IUnknown proxy, and the
         * engine asks for the callback interface when it calls it. */
        hr = notify_register((IUnknown *)validator, &IID_IUnknown, &cookie);
        IBackgroundCopyServerCertificateValidationCallback_Release(validator);
        if (FAILED(hr)) return hr;
    }

    service_lock(job->service);
    if (FAILED(hr = job_check_modifiable_locked(job)))
        ;
    else if (job->xfer.state != BG_JOB_STATE_SUSPENDED && job->xfer.state != BG_JOB_STATE_ERROR
             && job->xfer.state != BG_JOB_STATE_TRANSFERRED)
        hr = BG_E_READ_ONLY_WHEN_JOB_ACTIVE;
    else
    {
        DWORD old = job->certificate_callback_cookie;
        job->certificate_callback_cookie = cookie;
        cookie = old;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    notify_revoke(cookie);                  /* the old one, or ours when refused */
    return hr;
}

static HRESULT WINAPI http_options_MakeCustomHeadersWriteOnly(IBackgroundCopyJobHttpOptions3 *iface)
{
    struct job *job = impl_from_IBackgroundCopyJobHttpOptions3(iface);

    TRACE("%p.\n", iface);
    /* Always S_OK and irreversible (BITS-SPEC.md §2.9). */
    service_lock(job->service);
    job->headers_write_only = TRUE;
    service_unlock(job->service);
    return S_OK;
}

const IBackgroundCopyJobHttpOptions3Vtbl job_http_options_vtbl =
{
    http_options_QueryInterface,
    http_options_AddRef,
    http_options_Release,
    http_options_SetClientCertificateByID,
    http_options_SetClientCertificateByName,
    http_options_RemoveClientCertificate,
    http_options_GetClientCertificate,
    http_options_SetCustomHeaders,
    http_options_GetCustomHeaders,
    http_options_SetSecurityFlags,
    http_options_GetSecurityFlags,
    http_options_SetHttpMethod,
    http_options_GetHttpMethod,
    http_options_SetServerCertificateValidationInterface,
    http_options_MakeCustomHeadersWriteOnly,
};

/* --- IBitsTokenOptions -------------------------------------------------------------------------- */

static HRESULT WINAPI token_options_QueryInterface(IBitsTokenOptions *iface, REFIID riid, void **out)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    return IBackgroundCopyJob5_QueryInterface(&job->IBackgroundCopyJob5_iface, riid, out);
}

static ULONG WINAPI token_options_AddRef(IBitsTokenOptions *iface)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    return IBackgroundCopyJob5_AddRef(&job->IBackgroundCopyJob5_iface);
}

static ULONG WINAPI token_options_Release(IBitsTokenOptions *iface)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    return IBackgroundCopyJob5_Release(&job->IBackgroundCopyJob5_iface);
}

static HRESULT WINAPI token_options_SetHelperTokenFlags(IBitsTokenOptions *iface, BG_TOKEN flags)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);

    TRACE("%p, %#lx.\n", iface, flags);
    /* Unknown bits: no documented code (unconfirmed); E_INVALIDARG as for other flag sets. */
    if (flags & ~VALID_TOKEN_FLAGS) return E_INVALIDARG;
    return job_set_ulong(job, &job->token_flags, flags);
}

static HRESULT WINAPI token_options_GetHelperTokenFlags(IBitsTokenOptions *iface, BG_TOKEN *flags)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);

    TRACE("%p, %p.\n", iface, flags);
    return job_get_ulong(job, &job->token_flags, flags);
}

/* In process the "COM caller" is the calling thread: its impersonation token, else the
 * process token, duplicated for impersonation. */
static HRESULT WINAPI token_options_SetHelperToken(IBitsTokenOptions *iface)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    struct owner_info caller;
    HANDLE token = NULL, duplicate = NULL;
    HRESULT hr;

    TRACE("%p.\n", iface);
    if (!OpenThreadToken(GetCurrentThread(), TOKEN_DUPLICATE | TOKEN_QUERY, TRUE, &token)
        && !OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &token))
        return CO_E_FAILEDTOIMPERSONATE;
    if (!DuplicateTokenEx(token, TOKEN_ALL_ACCESS, NULL, SecurityImpersonation, TokenImpersonation, &duplicate))
    {
        CloseHandle(token);
        return CO_E_FAILEDTOIMPERSONATE;
    }
    CloseHandle(token);
    if (FAILED(hr = owner_get_caller(&caller)))
    {
        CloseHandle(duplicate);
        return hr;
    }

    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        HANDLE old_token = job->helper_token;
        WCHAR *old_sid = job->helper_token_sid;
        job->helper_token = duplicate;
        job->helper_token_sid = caller.sid;
        duplicate = old_token;
        caller.sid = old_sid;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    if (duplicate) CloseHandle(duplicate);
    owner_free(&caller);
    return hr;
}

static HRESULT WINAPI token_options_ClearHelperToken(IBitsTokenOptions *iface)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    HANDLE token = NULL;
    WCHAR *sid = NULL;
    HRESULT hr;

    TRACE("%p.\n", iface);
    service_lock(job->service);
    if (SUCCEEDED(hr = job_check_modifiable_locked(job)))
    {
        /* The flags stay (BITS-SPEC.md §2.10). */
        token = job->helper_token;
        sid = job->helper_token_sid;
        job->helper_token = NULL;
        job->helper_token_sid = NULL;
        job_touch_locked(job);
    }
    service_unlock(job->service);
    if (token) CloseHandle(token);
    free(sid);
    return hr;
}

static HRESULT WINAPI token_options_GetHelperTokenSid(IBitsTokenOptions *iface, LPWSTR *sid)
{
    struct job *job = impl_from_IBitsTokenOptions(iface);
    HRESULT hr;

    TRACE("%p, %p.\n", iface, sid);
    hr = job_get_string(job, &job->helper_token_sid, NULL, sid);
    return hr == S_FALSE ? S_OK : hr;       /* no token: NULL */
}

const IBitsTokenOptionsVtbl job_token_options_vtbl =
{
    token_options_QueryInterface,
    token_options_AddRef,
    token_options_Release,
    token_options_SetHelperTokenFlags,
    token_options_GetHelperTokenFlags,
    token_options_SetHelperToken,
    token_options_ClearHelperToken,
    token_options_GetHelperTokenSid,
};
