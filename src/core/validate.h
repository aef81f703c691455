/* SPDX-License-Identifier: MIT */
/* Argument rules of BITS-SPEC.md §2.2, §2.4, §4 and §5 that need no system call: remote and local
 * names, string limits and byte ranges. Platform-free; builds natively with Wine's headers. */
#ifndef OPENBITS_CORE_VALIDATE_H
#define OPENBITS_CORE_VALIDATE_H

#include <windows.h>
#include "bits.h"

#define MAX_REMOTE_NAME     2200      /* characters, BITS-SPEC.md §4 */
#define MAX_RANGES_PER_FILE 500

enum remote_kind
{
    REMOTE_HTTP,        /* http://host/...  */
    REMOTE_HTTPS,       /* https://host/... */
    REMOTE_FILE_URL,    /* file://...       */
    REMOTE_UNC,         /* \\server\share\... */
    REMOTE_LOCAL_PATH,  /* C:\...           */
};

/* S_OK and the kind for a name BITS accepts as a remote name; E_INVALIDARG otherwise (NULL,
 * empty, over MAX_REMOTE_NAME, a segment over MAX_PATH, wildcards, an unsupported scheme such
 * as ftp://, a URL without a host, characters not legal in a URL). kind may be NULL; it is
 * written only on S_OK. */
HRESULT validate_remote_name(const WCHAR *name, enum remote_kind *kind);

/* S_OK for a syntactically valid local name: a full path (drive-letter or UNC), at most
 * MAX_PATH - 1 characters, no wildcards, no NTFS stream (':' after the drive), no \\?\ prefix,
 * not ending in a separator. E_INVALIDARG otherwise. Whether the directory exists is the
 * caller's to check. */
HRESULT validate_local_name(const WCHAR *name);

/* TRUE when str (which may be NULL) is longer than max characters. */
BOOL string_longer_than(const WCHAR *str, size_t max);

/* ReplaceRemotePrefix's own arguments: E_INVALIDARG when either prefix is NULL or empty, S_OK
 * otherwise. Each rewritten name must then pass validate_remote_name (BITS-SPEC.md §2.4). */
HRESULT validate_remote_prefixes(const WCHAR *old_prefix, const WCHAR *new_prefix);

/* AddFileWithRanges rules: count 0 or a Length of 0 -> E_INVALIDARG; an InitialOffset of
 * BG_LENGTH_TO_EOF -> BG_E_INVALID_RANGE; more than MAX_RANGES_PER_FILE ->
 * BG_E_TOO_MANY_RANGES_IN_FILE; duplicates or overlaps, checked after sorting by offset ->
 * BG_E_OVERLAPPING_RANGES (a range of BG_LENGTH_TO_EOF overlaps everything after it).
 * Also: NULL ranges -> E_INVALIDARG; InitialOffset + Length past 2^64 - 1 -> BG_E_INVALID_RANGE.
 * The caller's array is left as it is. */
HRESULT validate_ranges(const BG_FILE_RANGE *ranges, DWORD count);

#endif
