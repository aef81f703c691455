/* SPDX-License-Identifier: MIT */
/* Client certificates in the system stores: found when a job names one (HttpOptions) and again
 * when a transfer presents it (src/transport_http.c). */
#include <stdlib.h>

#include "certificate.h"

/* TRUE when the certificate may authenticate a client: no enhanced key usage at all (every use
 * allowed), or one that lists client authentication. */
static BOOL is_client_auth_certificate(const CERT_CONTEXT *cert)
{
    CERT_ENHKEY_USAGE *usage;
    DWORD size = 0, i;
    BOOL ok = FALSE;

    if (!CertGetEnhancedKeyUsage(cert, 0, NULL, &size)) return GetLastError() == (DWORD)CRYPT_E_NOT_FOUND;
    if (!(usage = malloc(size))) return FALSE;
    if (CertGetEnhancedKeyUsage(cert, 0, usage, &size))
    {
        ok = !usage->cUsageIdentifier && GetLastError() == (DWORD)CRYPT_E_NOT_FOUND;
        for (i = 0; !ok && i < usage->cUsageIdentifier; ++i)
            ok = !strcmp(usage->rgpszUsageIdentifier[i], szOID_PKIX_KP_CLIENT_AUTH);
    }
    free(usage);
    return ok;
}

/* The job's client certificate (BITS-SPEC.md §2.9): the system store at the location, then the
 * certificate by SHA-1 hash, or the first client-authentication certificate whose subject
 * contains the name (CERT_FIND_SUBJECT_STR: a case-insensitive substring match). A missing store
 * is HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), a missing certificate CRYPT_E_NOT_FOUND. */
HRESULT certificate_find(BG_CERT_STORE_LOCATION location, const WCHAR *store_name, const BYTE *sha1,
                         const WCHAR *subject, const CERT_CONTEXT **out)
{
    static const DWORD locations[] =
    {
        [BG_CERT_STORE_LOCATION_CURRENT_USER]              = CERT_SYSTEM_STORE_CURRENT_USER,
        [BG_CERT_STORE_LOCATION_LOCAL_MACHINE]             = CERT_SYSTEM_STORE_LOCAL_MACHINE,
        [BG_CERT_STORE_LOCATION_CURRENT_SERVICE]           = CERT_SYSTEM_STORE_CURRENT_SERVICE,
        [BG_CERT_STORE_LOCATION_SERVICES]                  = CERT_SYSTEM_STORE_SERVICES,
        [BG_CERT_STORE_LOCATION_USERS]                     = CERT_SYSTEM_STORE_USERS,
        [BG_CERT_STORE_LOCATION_CURRENT_USER_GROUP_POLICY] = CERT_SYSTEM_STORE_CURRENT_USER_GROUP_POLICY,
        [BG_CERT_STORE_LOCATION_LOCAL_MACHINE_GROUP_POLICY] = CERT_SYSTEM_STORE_LOCAL_MACHINE_GROUP_POLICY,
        [BG_CERT_STORE_LOCATION_LOCAL_MACHINE_ENTERPRISE]  = CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE,
    };
    const DWORD encoding = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;
    const CERT_CONTEXT *cert = NULL;
    CRYPT_HASH_BLOB hash;
    HCERTSTORE store;
    HRESULT hr;

    *out = NULL;
    if ((unsigned int)location >= ARRAY_SIZE(locations)) return E_NOTIMPL;
    if (!(store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                locations[location] | CERT_STORE_OPEN_EXISTING_FLAG | CERT_STORE_READONLY_FLAG,
                                store_name)))
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);

    if (sha1)
    {
        hash.cbData = 20;
        hash.pbData = (BYTE *)sha1;
        cert = CertFindCertificateInStore(store, encoding, 0, CERT_FIND_SHA1_HASH, &hash, NULL);
    }
    else if (subject)
    {
        while ((cert = CertFindCertificateInStore(store, encoding, 0, CERT_FIND_SUBJECT_STR_W, subject, cert)))
            if (is_client_auth_certificate(cert)) break;
    }
    hr = cert ? S_OK : CRYPT_E_NOT_FOUND;
    CertCloseStore(store, 0);      /* the context keeps what it needs of the store */
    *out = cert;
    return hr;
}
