/* SPDX-License-Identifier: MIT */
/* Who is calling: the SID string, integrity level and elevation of the calling thread's token
 * (its impersonation token, else the process token). */
#ifndef OPENBITS_OWNER_H
#define OPENBITS_OWNER_H

#include "common.h"

struct owner_info
{
    WCHAR *sid;            /* malloc'd string SID, e.g. "S-1-5-21-..." */
    ULONG integrity;       /* mandatory-label RID, SECURITY_MANDATORY_MEDIUM_RID when unknown */
    BOOL elevated;
    BOOL admin;            /* a member of BUILTIN\Administrators (deny-only does not count) */
};

HRESULT owner_get_caller(struct owner_info *info);
void owner_free(struct owner_info *info);
/* Frees the cached identity of the process (DLL unload). */
void owner_cleanup(void);

#endif
