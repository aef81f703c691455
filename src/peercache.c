/* SPDX-License-Identifier: MIT */
/* IBitsPeerCacheAdministration, an interface of the manager object, and the two enumerators it
 * hands out. openbits behaves as a machine where peer caching is off: the settings are kept and
 * read back, but there is no cache, so there are never records or peers and nothing is ever
 * transferred from a peer.
 *
 * The enumerators live here rather than in files of their own: they are private to this
 * interface, hold no items (so no cursor either) and need no constructor in objects.h. */
#include <stdlib.h>

#include "objects.h"

/* --- machine-wide settings ---------------------------------------------------------------------
 * Real BITS keeps these in the service and persists them; openbits keeps them for the life of the
 * process, shared by every manager. settings_lock is a leaf: nothing is called while it is held.
 * No Group Policy is read, so the setters never answer BG_S_OVERRIDDEN_BY_POLICY, and no
 * administrator check is made (an in-process server runs as its caller). */

/* MaximumCacheSize is a percentage of the disk, although the parameter is named "Bytes".
 * Default 1 %, valid 1..80 % (unconfirmed: the Windows default and the limit of the "Limit the
 * BITS peercache size" policy, as recalled; the spec gives neither). Outside → E_INVALIDARG. */
#define CACHE_SIZE_DEFAULT   1
#define CACHE_SIZE_MIN       1
#define CACHE_SIZE_MAX       80
/* MaximumContentAge in seconds: default 7,776,000 (90 days), minimum 86,400 (one day), no upper
 * limit (unconfirmed: Windows' default as recalled; the minimum is our choice). Below → E_INVALIDARG. */
#define CONTENT_AGE_DEFAULT  7776000
#define CONTENT_AGE_MIN      86400
/* ConfigurationFlags: default 0, peer caching off (no client, no server, BranchCache allowed). */
#define CONFIGURATION_FLAGS_DEFAULT 0
#define CONFIGURATION_FLAGS_VALID   (BG_ENABLE_PEERCACHING_CLIENT | BG_ENABLE_PEERCACHING_SERVER | \
                                     BG_DISABLE_BRANCH_CACHE)

static SRWLOCK settings_lock = SRWLOCK_INIT;
static struct
{
    DWORD cache_size;                     /* [settings lock] percent of the disk */
    ULONG content_age;                    /* [settings lock] seconds */
    DWORD flags;                          /* [settings lock] BG_ENABLE_PEERCACHING_* | BG_DISABLE_BRANCH_CACHE */
} settings = { CACHE_SIZE_DEFAULT, CONTENT_AGE_DEFAULT, CONFIGURATION_FLAGS_DEFAULT };

/* --- IEnumBitsPeerCacheRecords and IEnumBitsPeers: always empty ---------------------------------
 * Rules of §2.8 over an empty snapshot: Next with pceltFetched NULL and celt != 1 is E_INVALIDARG;
 * otherwise nothing is returned, every slot of rgelt is set to NULL, and the answer is S_OK only
 * for celt 0 (all of "celt" returned), S_FALSE for more. Skip(0) is S_OK, Skip past the end
 * S_FALSE. Nothing mutable but the refcount, so FTM clients may share an enumerator freely. */

static HRESULT empty_next(ULONG celt, void **rgelt, ULONG *fetched)
{
    ULONG i;

    if (!fetched && celt != 1) return E_INVALIDARG;
    if (fetched) *fetched = 0;          /* also on failure, as the other enumerators do */
    if (!rgelt) return E_INVALIDARG;
    for (i = 0; i < celt; ++i) rgelt[i] = NULL;
    return celt ? S_FALSE : S_OK;
}

static HRESULT empty_skip(ULONG celt)
{
    return celt ? S_FALSE : S_OK;
}

struct enum_records
{
    IEnumBitsPeerCacheRecords IEnumBitsPeerCacheRecords_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;
};

static HRESULT enum_records_create(IEnumBitsPeerCacheRecords **out);

static inline struct enum_records *impl_from_IEnumBitsPeerCacheRecords(IEnumBitsPeerCacheRecords *iface)
{
    return CONTAINING_RECORD(iface, struct enum_records, IEnumBitsPeerCacheRecords_iface);
}

static const struct qi_entry enum_records_qi[] =
{
    QI_ENTRY(IID_IEnumBitsPeerCacheRecords, struct enum_records, IEnumBitsPeerCacheRecords_iface),
    QI_END
};

static void enum_records_destroy(struct enum_records *enumerator)
{
    if (enumerator->marshal) IUnknown_Release(enumerator->marshal);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_records_QueryInterface(IEnumBitsPeerCacheRecords *iface, REFIID riid, void **out)
{
    struct enum_records *enumerator = impl_from_IEnumBitsPeerCacheRecords(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_records_qi, &enumerator->marshal, riid, out);
}

static ULONG WINAPI enum_records_AddRef(IEnumBitsPeerCacheRecords *iface)
{
    struct enum_records *enumerator = impl_from_IEnumBitsPeerCacheRecords(iface);
    ULONG refcount = InterlockedIncrement(&enumerator->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_records_Release(IEnumBitsPeerCacheRecords *iface)
{
    struct enum_records *enumerator = impl_from_IEnumBitsPeerCacheRecords(iface);
    ULONG refcount = InterlockedDecrement(&enumerator->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_records_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_records_Next(IEnumBitsPeerCacheRecords *iface, ULONG celt, IBitsPeerCacheRecord **rgelt,
                                        ULONG *fetched)
{
    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return empty_next(celt, (void **)rgelt, fetched);
}

static HRESULT WINAPI enum_records_Skip(IEnumBitsPeerCacheRecords *iface, ULONG celt)
{
    TRACE("%p, %lu.\n", iface, celt);
    return empty_skip(celt);
}

static HRESULT WINAPI enum_records_Reset(IEnumBitsPeerCacheRecords *iface)
{
    TRACE("%p.\n", iface);
    return S_OK;
}

static HRESULT WINAPI enum_records_Clone(IEnumBitsPeerCacheRecords *iface, IEnumBitsPeerCacheRecords **out)
{
    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_records_create(out);
}

static HRESULT WINAPI enum_records_GetCount(IEnumBitsPeerCacheRecords *iface, ULONG *count)
{
    TRACE("%p, %p.\n", iface, count);
    if (!count) return E_INVALIDARG;
    *count = 0;
    return S_OK;
}

static const IEnumBitsPeerCacheRecordsVtbl enum_records_vtbl =
{
    enum_records_QueryInterface,
    enum_records_AddRef,
    enum_records_Release,
    enum_records_Next,
    enum_records_Skip,
    enum_records_Reset,
    enum_records_Clone,
    enum_records_GetCount,
};

static HRESULT enum_records_create(IEnumBitsPeerCacheRecords **out)
{
    struct enum_records *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBitsPeerCacheRecords_iface.lpVtbl = &enum_records_vtbl;
    enumerator->refcount = 1;
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&enumerator->IEnumBitsPeerCacheRecords_iface,
                                                  &enumerator->marshal)))
        goto fail;

    *out = &enumerator->IEnumBitsPeerCacheRecords_iface;
    return S_OK;

fail:
    enum_records_destroy(enumerator);
    return hr;
}

struct enum_peers
{
    IEnumBitsPeers IEnumBitsPeers_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;
};

static HRESULT enum_peers_create(IEnumBitsPeers **out);

static inline struct enum_peers *impl_from_IEnumBitsPeers(IEnumBitsPeers *iface)
{
    return CONTAINING_RECORD(iface, struct enum_peers, IEnumBitsPeers_iface);
}

static const struct qi_entry enum_peers_qi[] =
{
    QI_ENTRY(IID_IEnumBitsPeers, struct enum_peers, IEnumBitsPeers_iface),
    QI_END
};

static void enum_peers_destroy(struct enum_peers *enumerator)
{
    if (enumerator->marshal) IUnknown_Release(enumerator->marshal);
    free(enumerator);
    module_unlock();
}

static HRESULT WINAPI enum_peers_QueryInterface(IEnumBitsPeers *iface, REFIID riid, void **out)
{
    struct enum_peers *enumerator = impl_from_IEnumBitsPeers(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(enumerator, enum_peers_qi, &enumerator->marshal, riid, out);
}

static ULONG WINAPI enum_peers_AddRef(IEnumBitsPeers *iface)
{
    struct enum_peers *enumerator = impl_from_IEnumBitsPeers(iface);
    ULONG refcount = InterlockedIncrement(&enumerator->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI enum_peers_Release(IEnumBitsPeers *iface)
{
    struct enum_peers *enumerator = impl_from_IEnumBitsPeers(iface);
    ULONG refcount = InterlockedDecrement(&enumerator->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) enum_peers_destroy(enumerator);
    return refcount;
}

static HRESULT WINAPI enum_peers_Next(IEnumBitsPeers *iface, ULONG celt, IBitsPeer **rgelt, ULONG *fetched)
{
    TRACE("%p, %lu, %p, %p.\n", iface, celt, rgelt, fetched);
    return empty_next(celt, (void **)rgelt, fetched);
}

static HRESULT WINAPI enum_peers_Skip(IEnumBitsPeers *iface, ULONG celt)
{
    TRACE("%p, %lu.\n", iface, celt);
    return empty_skip(celt);
}

static HRESULT WINAPI enum_peers_Reset(IEnumBitsPeers *iface)
{
    TRACE("%p.\n", iface);
    return S_OK;
}

static HRESULT WINAPI enum_peers_Clone(IEnumBitsPeers *iface, IEnumBitsPeers **out)
{
    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_peers_create(out);
}

static HRESULT WINAPI enum_peers_GetCount(IEnumBitsPeers *iface, ULONG *count)
{
    TRACE("%p, %p.\n", iface, count);
    if (!count) return E_INVALIDARG;
    *count = 0;
    return S_OK;
}

static const IEnumBitsPeersVtbl enum_peers_vtbl =
{
    enum_peers_QueryInterface,
    enum_peers_AddRef,
    enum_peers_Release,
    enum_peers_Next,
    enum_peers_Skip,
    enum_peers_Reset,
    enum_peers_Clone,
    enum_peers_GetCount,
};

static HRESULT enum_peers_create(IEnumBitsPeers **out)
{
    struct enum_peers *enumerator;
    HRESULT hr;

    *out = NULL;
    if (!(enumerator = calloc(1, sizeof(*enumerator)))) return E_OUTOFMEMORY;
    module_lock();
    enumerator->IEnumBitsPeers_iface.lpVtbl = &enum_peers_vtbl;
    enumerator->refcount = 1;
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&enumerator->IEnumBitsPeers_iface,
                                                  &enumerator->marshal)))
        goto fail;

    *out = &enumerator->IEnumBitsPeers_iface;
    return S_OK;

fail:
    enum_peers_destroy(enumerator);
    return hr;
}

/* --- IBitsPeerCacheAdministration -------------------------------------------------------------- */

static inline struct peercache_admin *impl_from_IBitsPeerCacheAdministration(IBitsPeerCacheAdministration *iface)
{
    return CONTAINING_RECORD(iface, struct peercache_admin, IBitsPeerCacheAdministration_iface);
}

static HRESULT WINAPI peercache_admin_QueryInterface(IBitsPeerCacheAdministration *iface, REFIID riid, void **out)
{
    struct peercache_admin *admin = impl_from_IBitsPeerCacheAdministration(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return IUnknown_QueryInterface(admin->outer, riid, out);
}

static ULONG WINAPI peercache_admin_AddRef(IBitsPeerCacheAdministration *iface)
{
    struct peercache_admin *admin = impl_from_IBitsPeerCacheAdministration(iface);

    TRACE("%p.\n", iface);
    return IUnknown_AddRef(admin->outer);
}

static ULONG WINAPI peercache_admin_Release(IBitsPeerCacheAdministration *iface)
{
    struct peercache_admin *admin = impl_from_IBitsPeerCacheAdministration(iface);

    TRACE("%p.\n", iface);
    return IUnknown_Release(admin->outer);
}

static HRESULT WINAPI peercache_admin_GetMaximumCacheSize(IBitsPeerCacheAdministration *iface, DWORD *percent)
{
    TRACE("%p, %p.\n", iface, percent);
    if (!percent) return E_INVALIDARG;
    AcquireSRWLockShared(&settings_lock);
    *percent = settings.cache_size;
    ReleaseSRWLockShared(&settings_lock);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_SetMaximumCacheSize(IBitsPeerCacheAdministration *iface, DWORD percent)
{
    TRACE("%p, %lu.\n", iface, percent);
    if (percent < CACHE_SIZE_MIN || percent > CACHE_SIZE_MAX) return E_INVALIDARG;
    AcquireSRWLockExclusive(&settings_lock);
    settings.cache_size = percent;
    ReleaseSRWLockExclusive(&settings_lock);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_GetMaximumContentAge(IBitsPeerCacheAdministration *iface, ULONG *seconds)
{
    TRACE("%p, %p.\n", iface, seconds);
    if (!seconds) return E_INVALIDARG;
    AcquireSRWLockShared(&settings_lock);
    *seconds = settings.content_age;
    ReleaseSRWLockShared(&settings_lock);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_SetMaximumContentAge(IBitsPeerCacheAdministration *iface, ULONG seconds)
{
    TRACE("%p, %lu.\n", iface, seconds);
    if (seconds < CONTENT_AGE_MIN) return E_INVALIDARG;
    AcquireSRWLockExclusive(&settings_lock);
    settings.content_age = seconds;
    ReleaseSRWLockExclusive(&settings_lock);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_GetConfigurationFlags(IBitsPeerCacheAdministration *iface, DWORD *flags)
{
    TRACE("%p, %p.\n", iface, flags);
    if (!flags) return E_INVALIDARG;
    AcquireSRWLockShared(&settings_lock);
    *flags = settings.flags;
    ReleaseSRWLockShared(&settings_lock);
    return S_OK;
}

/* Bits other than the three BG_* flags are rejected (E_INVALIDARG) and change nothing. */
static HRESULT WINAPI peercache_admin_SetConfigurationFlags(IBitsPeerCacheAdministration *iface, DWORD flags)
{
    TRACE("%p, %#lx.\n", iface, flags);
    if (flags & ~CONFIGURATION_FLAGS_VALID) return E_INVALIDARG;
    AcquireSRWLockExclusive(&settings_lock);
    settings.flags = flags;
    ReleaseSRWLockExclusive(&settings_lock);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_EnumRecords(IBitsPeerCacheAdministration *iface, IEnumBitsPeerCacheRecords **out)
{
    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_records_create(out);
}

/* There are no records, so every id is unknown: BG_E_NOT_FOUND. */
static HRESULT WINAPI peercache_admin_GetRecord(IBitsPeerCacheAdministration *iface, REFGUID id,
                                                IBitsPeerCacheRecord **record)
{
    TRACE("%p, %s, %p.\n", iface, debugstr_guid(id), record);
    if (!record) return E_INVALIDARG;
    *record = NULL;
    if (!id) return E_INVALIDARG;
    return BG_E_NOT_FOUND;
}

static HRESULT WINAPI peercache_admin_ClearRecords(IBitsPeerCacheAdministration *iface)
{
    TRACE("%p.\n", iface);
    return S_OK;
}

static HRESULT WINAPI peercache_admin_DeleteRecord(IBitsPeerCacheAdministration *iface, REFGUID id)
{
    TRACE("%p, %s.\n", iface, debugstr_guid(id));
    if (!id) return E_INVALIDARG;
    return BG_E_NOT_FOUND;
}

/* DeleteUrl removes every record of a URL; none is not an error (unconfirmed), so S_OK. A NULL
 * or empty URL is E_INVALIDARG (our choice: no record can have an empty origin URL). */
static HRESULT WINAPI peercache_admin_DeleteUrl(IBitsPeerCacheAdministration *iface, LPCWSTR url)
{
    TRACE("%p, %s.\n", iface, debugstr_w(url));
    if (!url || !*url) return E_INVALIDARG;
    return S_OK;
}

static HRESULT WINAPI peercache_admin_EnumPeers(IBitsPeerCacheAdministration *iface, IEnumBitsPeers **out)
{
    TRACE("%p, %p.\n", iface, out);
    if (!out) return E_INVALIDARG;
    return enum_peers_create(out);
}

static HRESULT WINAPI peercache_admin_ClearPeers(IBitsPeerCacheAdministration *iface)
{
    TRACE("%p.\n", iface);
    return S_OK;
}

/* Peer caching is "off" unless the client or the server flag is set (unconfirmed): then
 * BG_E_PEERCACHING_DISABLED. Otherwise S_OK, and the discovery finds nobody: EnumPeers stays
 * empty. BG_DISABLE_BRANCH_CACHE alone leaves caching off. */
static HRESULT WINAPI peercache_admin_DiscoverPeers(IBitsPeerCacheAdministration *iface)
{
    DWORD flags;

    TRACE("%p.\n", iface);
    AcquireSRWLockShared(&settings_lock);
    flags = settings.flags;
    ReleaseSRWLockShared(&settings_lock);
    if (!(flags & (BG_ENABLE_PEERCACHING_CLIENT | BG_ENABLE_PEERCACHING_SERVER))) return BG_E_PEERCACHING_DISABLED;
    return S_OK;
}

static const IBitsPeerCacheAdministrationVtbl peercache_admin_vtbl =
{
    peercache_admin_QueryInterface,
    peercache_admin_AddRef,
    peercache_admin_Release,
    peercache_admin_GetMaximumCacheSize,
    peercache_admin_SetMaximumCacheSize,
    peercache_admin_GetMaximumContentAge,
    peercache_admin_SetMaximumContentAge,
    peercache_admin_GetConfigurationFlags,
    peercache_admin_SetConfigurationFlags,
    peercache_admin_EnumRecords,
    peercache_admin_GetRecord,
    peercache_admin_ClearRecords,
    peercache_admin_DeleteRecord,
    peercache_admin_DeleteUrl,
    peercache_admin_EnumPeers,
    peercache_admin_ClearPeers,
    peercache_admin_DiscoverPeers,
};

void peercache_admin_init(struct peercache_admin *admin, IUnknown *outer)
{
    admin->IBitsPeerCacheAdministration_iface.lpVtbl = &peercache_admin_vtbl;
    admin->outer = outer;
}
