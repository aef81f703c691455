/* SPDX-License-Identifier: MIT */
/* Constructors of the classes openbits.dll serves, as the class table calls them. */
#ifndef OPENBITS_OBJECTS_H
#define OPENBITS_OBJECTS_H

#include "common.h"

typedef HRESULT (*class_create_fn)(REFIID riid, void **out);

HRESULT manager_create(REFIID riid, void **out);
HRESULT qmgr_create(REFIID riid, void **out);

/* One row per CLSID openbits.dll serves: DllGetClassObject and registration walk it. */
struct class_info
{
    const CLSID *clsid;
    const WCHAR *name;
    class_create_fn create;
};

extern const struct class_info class_table[];
extern const size_t class_table_size;

HRESULT class_factory_create(const struct class_info *info, REFIID riid, void **out);

/* --- enumerators (enum_jobs.c, enum_files.c) -------------------------------------------------
 * Snapshots: the constructor takes ownership of `items`, an array allocated with malloc holding
 * `count` AddRef'd pointers (count may be 0 and items NULL). On failure it releases them and
 * frees the array. */
HRESULT enum_jobs_create(IBackgroundCopyJob **items, ULONG count, IEnumBackgroundCopyJobs **out);
HRESULT enum_files_create(IBackgroundCopyFile **items, ULONG count, IEnumBackgroundCopyFiles **out);
/* The BITS 1.x enumerators (enum_groups.c, enum_jobs1.c): the same over a malloc'd array of
 * `count` GUIDs, which they take over. */
HRESULT enum_groups_create(GUID *ids, ULONG count, IEnumBackgroundCopyGroups **out);
HRESULT enum_jobs1_create(GUID *ids, ULONG count, IEnumBackgroundCopyJobs1 **out);

/* --- errors (copy_error.c) ---------------------------------------------------------------------
 * An immutable snapshot of a job's error. `file` (may be NULL: GetFile then answers
 * BG_E_FILE_NOT_AVAILABLE) is AddRef'd; `protocol` (may be NULL: GetProtocol answers
 * BG_E_PROTOCOL_NOT_AVAILABLE) is copied. */
HRESULT copy_error_create(BG_ERROR_CONTEXT context, HRESULT code, IBackgroundCopyFile *file,
                          const WCHAR *protocol, IBackgroundCopyError **out);
/* Text for an HRESULT in a language, as a CoTaskMemAlloc'd string: BG_E_* and BG_S_* from the
 * DLL's message table, other codes from the system. HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND)
 * when there is no text in that language, HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND) when the code
 * has none at all. For BITS codes, language 0 (or any LANG_NEUTRAL one) finds the English text. */
HRESULT error_description(HRESULT code, DWORD language, WCHAR **out);
HRESULT error_context_description(BG_ERROR_CONTEXT context, DWORD language, WCHAR **out);

/* --- peer caching (peercache.c) ----------------------------------------------------------------
 * IBitsPeerCacheAdministration as an interface of the manager object: the manager embeds a
 * struct peercache_admin and initialises it with peercache_admin_init(admin, manager's IUnknown).
 * Its IUnknown methods forward to `outer`; the settings are machine-wide (kept in peercache.c,
 * under a leaf lock of its own). Peer caching is off: enumerations are empty. */
struct peercache_admin
{
    IBitsPeerCacheAdministration IBitsPeerCacheAdministration_iface;
    IUnknown *outer;                      /* not counted: the manager embeds us */
};
void peercache_admin_init(struct peercache_admin *admin, IUnknown *outer);

#endif
