/* SPDX-License-Identifier: MIT */
#ifndef OPENBITS_CERTIFICATE_H
#define OPENBITS_CERTIFICATE_H

#include "common.h"
#include <wincrypt.h>

/* The certificate a job names (BITS-SPEC.md §2.9): the system store at `location`, then the
 * certificate with that SHA-1 hash (sha1: 20 bytes), or else the first client-authentication
 * certificate whose subject contains `subject`. E_NOTIMPL for an unknown location,
 * HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) for a missing store, CRYPT_E_NOT_FOUND for a missing
 * certificate. *out is freed with CertFreeCertificateContext. */
HRESULT certificate_find(BG_CERT_STORE_LOCATION location, const WCHAR *store_name, const BYTE *sha1,
                         const WCHAR *subject, const CERT_CONTEXT **out);

#endif
