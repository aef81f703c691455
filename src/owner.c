/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "owner.h"
#include <sddl.h>

static void *token_info(HANDLE token, TOKEN_INFORMATION_CLASS class)
{
    DWORD size = 0;
    void *buffer;

    GetTokenInformation(token, class, NULL, 0, &size);
    if (!size || !(buffer = malloc(size))) return NULL;
    if (GetTokenInformation(token, class, buffer, size, &size)) return buffer;
    free(buffer);
    return NULL;
}

static BOOL token_is_admin(HANDLE token)
{
    SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
    PSID admins;
    BOOL member = FALSE;

    if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
                                  0, 0, 0, 0, 0, 0, &admins))
        return FALSE;
    /* token NULL: the calling thread's (here: the process's) token. */
    if (!CheckTokenMembership(token, admins, &member)) member = FALSE;
    FreeSid(admins);
    return member;
}

/* Fills info from a token; `impersonation` is NULL for the process token. */
static HRESULT token_identity(HANDLE token, HANDLE impersonation, struct owner_info *info)
{
    TOKEN_MANDATORY_LABEL *label;
    TOKEN_ELEVATION elevation;
    TOKEN_USER *user;
    WCHAR *sid = NULL;
    DWORD size;
    HRESULT hr = S_OK;

    memset(info, 0, sizeof(*info));
    info->integrity = SECURITY_MANDATORY_MEDIUM_RID;
    if (!(user = token_info(token, TokenUser)))
        hr = E_OUTOFMEMORY;
    else if (!ConvertSidToStringSidW(user->User.Sid, &sid))
        hr = hresult_from_last_error();
    else if (!(info->sid = _wcsdup(sid)))
        hr = E_OUTOFMEMORY;
    if (sid) LocalFree(sid);
    free(user);

    /* Not every system answers these two (older Wine); the defaults then stand. */
    if ((label = token_info(token, TokenIntegrityLevel)))
    {
        PSID label_sid = label->Label.Sid;
        UCHAR count = *GetSidSubAuthorityCount(label_sid);
        if (count) info->integrity = *GetSidSubAuthority(label_sid, count - 1);
        free(label);
    }
    if (GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &size))
        info->elevated = !!elevation.TokenIsElevated;
    info->admin = token_is_admin(impersonation);
    if (FAILED(hr)) owner_free(info);
    return hr;
}

/* The process's identity never changes: asked once. The token queries behind it cost hundreds
 * of microseconds under Wine, far more than creating a job. */
static INIT_ONCE process_once = INIT_ONCE_STATIC_INIT;
static struct owner_info process_identity;
static HRESULT process_identity_hr;

static BOOL CALLBACK init_process_identity(INIT_ONCE *once, void *param, void **context)
{
    HANDLE token;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        process_identity_hr = hresult_from_last_error();
    else
    {
        process_identity_hr = token_identity(token, NULL, &process_identity);
        CloseHandle(token);
    }
    return TRUE;
}

void owner_cleanup(void)
{
    owner_free(&process_identity);
}

HRESULT owner_get_caller(struct owner_info *info)
{
    HANDLE token;
    HRESULT hr;

    /* A thread that impersonates is someone else: its token answers. */
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token))
    {
        hr = token_identity(token, token, info);
        CloseHandle(token);
        return hr;
    }
    InitOnceExecuteOnce(&process_once, init_process_identity, NULL, NULL);
    if (FAILED(process_identity_hr)) return process_identity_hr;
    *info = process_identity;
    if (!(info->sid = _wcsdup(process_identity.sid))) return E_OUTOFMEMORY;
    return S_OK;
}

void owner_free(struct owner_info *info)
{
    free(info->sid);
    info->sid = NULL;
}
