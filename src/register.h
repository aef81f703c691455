/* SPDX-License-Identifier: MIT */
/* Table-driven COM registration that records what it replaces and puts it back. */
#ifndef OPENBITS_REGISTER_H
#define OPENBITS_REGISTER_H

#include "common.h"

enum register_scope
{
    REGISTER_MACHINE,      /* HKLM\Software\Classes (what HKCR shows every user) */
    REGISTER_USER,         /* HKCU\Software\Classes (honoured by Windows, ignored by Wine 8) */
};

/* Name of the key, under the scope's hive, that records the registry state our registration
 * replaced: Software\openbits\Registration\<path of the key we wrote>. */
#define REGISTER_BACKUP_KEY L"Software\\openbits\\Registration"

/* Writes, for every class of the class table, CLSID\{clsid} (name, AppID) and InprocServer32 (this
 * DLL's path, ThreadingModel=Both); AppID\{APPID_openbits} with DllSurrogate (surrogate.c: out of
 * process use); the proxy/stub class CLSID_openbits_ProxyStub (proxy.c) and, for every interface
 * of idl/bits.idl that has no proxy registered by someone else, Interface\{iid} and its
 * ProxyStubClsid32. The first registration records every value and key it replaces or creates;
 * running it again changes nothing in that record. */
HRESULT register_classes(enum register_scope scope);
/* Removes what register_classes wrote and puts back exactly what was there before. */
HRESULT unregister_classes(enum register_scope scope);

#endif
