/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "owner.h"
#include <sddl.h>

static HRESULT caller_token(HANDLE *token)
{
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, token)) return S_OK;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, token)) return S_OK;
    return hresult_from_last_error();
}

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

HRESULT owner_get_caller(struct owner_info *info)
{
    TOKEN_MANDATORY_LABEL *label;
    TOKEN_ELEVATION elevation;
    TOKEN_USER *user;
    WCHAR *sid = NULL;
    HANDLE token;
    DWORD size;
    HRESULT hr;

    memset(info, 0, sizeof(*info));
    info->integrity = SECURITY_MANDATORY_MEDIUM_RID;
    if (FAILED(hr = caller_token(&token))) return hr;

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

    CloseHandle(token);
    if (FAILED(hr)) owner_free(info);
    return hr;
}

void owner_free(struct owner_info *info)
{
    free(info->sid);
    info->sid = NULL;
}

BOOL owner_caller_is_admin(void)
{
    SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
    PSID admins;
    BOOL member = FALSE;

    if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
                                  0, 0, 0, 0, 0, 0, &admins))
        return FALSE;
    if (!CheckTokenMembership(NULL, admins, &member)) member = FALSE;
    FreeSid(admins);
    return member;
}
