/* SPDX-License-Identifier: MIT */
/* openbits.dll hosted out of process by a DLL surrogate (dllhost.exe), for clients that ask for
 * CLSCTX_LOCAL_SERVER: registration gives every class our AppID with DllSurrogate set, COM starts
 * dllhost.exe /PROCESSID:{clsid or AppID}, and dllhost loads us through DllGetClassObject. From
 * then on this module keeps one queue for every client process, and ends the surrogate itself
 * once nothing is left to do. */
#ifndef OPENBITS_SURROGATE_H
#define OPENBITS_SURROGATE_H

#include "objects.h"

/* {92819AD7-CF40-4D13-B2CF-8EBD9B48711C}: the AppID of every openbits class. */
extern const GUID APPID_openbits;

/* TRUE when this process is a DLL surrogate started for `clsid` (one of ours) or our AppID. */
BOOL surrogate_wanted(REFCLSID clsid);
/* Starts the host once, then hands out its class factory of `info` (DllGetClassObject in the
 * surrogate). */
HRESULT surrogate_get_class_object(const struct class_info *info, REFIID riid, void **out);
/* TRUE once the host runs: DllCanUnloadNow then always answers S_FALSE. */
BOOL surrogate_active(void);
/* module_unlock's hook: the module count has just dropped to `count`. */
void surrogate_module_released(LONG count);

#endif
