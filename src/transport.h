/* SPDX-License-Identifier: MIT */
/* The transports openbits.dll brings (src/core/transport.h is the seam they implement), and the
 * job's transfer options they read: a snapshot taken under the service lock when a transfer
 * starts, owned by the transfer, so a transport never touches the job itself. */
#ifndef OPENBITS_TRANSPORT_H
#define OPENBITS_TRANSPORT_H

#include "common.h"
#include "core/transport.h"

struct transfer_credential
{
    BG_AUTH_TARGET target;                /* BG_AUTH_TARGET_SERVER or _PROXY */
    BG_AUTH_SCHEME scheme;
    WCHAR *user, *password;               /* NULL, NULL: the logged-on user's (NTLM, Negotiate) */
};

struct transfer_options
{
    BG_JOB_TYPE type;
    BG_JOB_PROXY_USAGE proxy_usage;       /* PRECONFIG, NO_PROXY, OVERRIDE, AUTODETECT */
    WCHAR *proxy_list, *proxy_bypass;     /* OVERRIDE only; may be NULL */
    struct transfer_credential *credentials;
    ULONG credential_count;
    WCHAR *custom_headers;                /* "Name: value\r\n..." or NULL; sent with every request */
    ULONG security_flags;                 /* BG_SSL_* and BG_HTTP_REDIRECT_POLICY_* */
    WCHAR *http_method;                   /* NULL: GET */
    BOOL has_certificate;                 /* the client certificate to present */
    BG_CERT_STORE_LOCATION certificate_location;
    WCHAR *certificate_store;
    BOOL certificate_by_hash;
    BYTE certificate_hash[20];
    WCHAR *certificate_subject;
    /* The client's server-certificate check (HttpOptions3), NULL when none is set. Called with
     * the server's certificate (DER) and the chain's store (a serialized memory store, as
     * CertSaveStore(CERT_STORE_SAVE_AS_STORE) makes it); S_OK accepts, anything else rejects
     * (the transfer then fails with context BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK and
     * that code). */
    HRESULT (*validate_certificate)(void *context, const BYTE *certificate, DWORD certificate_size,
                                    DWORD encoding, const BYTE *store, DWORD store_size);
    void *validate_context;
    HANDLE helper_token;                  /* IBitsTokenOptions, or NULL */
    BG_TOKEN token_flags;
};

void transfer_options_free(struct transfer_options *options);

/* WinHTTP for REMOTE_HTTP and REMOTE_HTTPS (transport_http.c). */
HRESULT http_transport_create(struct transport *transport);
void http_transport_destroy(struct transport *transport);

/* The Win32 file API for REMOTE_LOCAL_PATH, REMOTE_FILE_URL and REMOTE_UNC (transport_file.c). */
HRESULT file_transport_create(struct transport *transport);
void file_transport_destroy(struct transport *transport);

#endif
