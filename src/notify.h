/* SPDX-License-Identifier: MIT */
/* Client callback interfaces are never stored as raw pointers (our objects aggregate the
 * free-threaded marshaler): they live in the Global Interface Table and we keep the cookie,
 * so every call reaches the client in its own apartment. None of these takes our lock. */
#ifndef OPENBITS_NOTIFY_H
#define OPENBITS_NOTIFY_H

#include "common.h"

/* Registers `object` (as `iid`) in the GIT; *cookie is 0 for a NULL object. */
HRESULT notify_register(IUnknown *object, REFIID iid, DWORD *cookie);
/* Revokes a cookie; 0 is a no-op. */
void notify_revoke(DWORD cookie);
/* Gets the interface back from a cookie (AddRef'd); S_OK with NULL for cookie 0. */
HRESULT notify_get(DWORD cookie, REFIID iid, void **out);

#endif
