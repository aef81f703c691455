/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "enum_snapshot.h"

struct snapshot
{
    LONG refcount;
    ULONG count;                    /* immutable */
    void *items;                    /* malloc'd, `count` AddRef'd pointers or GUIDs; immutable */
    BOOL guids;                     /* immutable */
};

/* The elements are typed interface pointers (IBackgroundCopyJob *, IBackgroundCopyFile *) in
 * an array whose type this file does not know. C gives every pointer to a structure the same
 * representation, and every COM interface starts with the IUnknown methods, so an element is
 * read and written as an IUnknown * through memcpy: no type-punned array access. */
static IUnknown *load_item(const void *array, ULONG index)
{
    IUnknown *item;

    memcpy(&item, (const char *)array + (size_t)index * sizeof(item), sizeof(item));
    return item;
}

static void store_item(void *array, ULONG index, IUnknown *item)
{
    memcpy((char *)array + (size_t)index * sizeof(item), &item, sizeof(item));
}

static void release_items(void *items, ULONG count, BOOL guids)
{
    ULONG i;

    for (i = 0; !guids && i < count; ++i) IUnknown_Release(load_item(items, i));
    free(items);
}

static HRESULT create(void *items, ULONG count, BOOL guids, struct snapshot **out)
{
    struct snapshot *snapshot;

    *out = NULL;
    /* The cursor is a LONG. */
    if (count > MAXLONG || !(snapshot = calloc(1, sizeof(*snapshot))))
    {
        release_items(items, count, guids);
        return E_OUTOFMEMORY;
    }
    snapshot->refcount = 1;
    snapshot->count = count;
    snapshot->items = items;
    snapshot->guids = guids;
    *out = snapshot;
    return S_OK;
}

HRESULT snapshot_create(void *items, ULONG count, struct snapshot **out)
{
    return create(items, count, FALSE, out);
}

HRESULT snapshot_create_guids(GUID *ids, ULONG count, struct snapshot **out)
{
    return create(ids, count, TRUE, out);
}

static void snapshot_get(struct snapshot *snapshot)
{
    InterlockedIncrement(&snapshot->refcount);
}

void snapshot_put(struct snapshot *snapshot)
{
    if (InterlockedDecrement(&snapshot->refcount)) return;
    release_items(snapshot->items, snapshot->count, snapshot->guids);
    free(snapshot);
}

HRESULT enum_snapshot_init(struct enum_snapshot *e, IUnknown *outer, struct snapshot *snapshot,
                           ULONG position)
{
    HRESULT hr;

    e->refcount = 1;
    e->position = (LONG)min(position, snapshot->count);
    if (FAILED(hr = CoCreateFreeThreadedMarshaler(outer, &e->marshal))) return hr;
    snapshot_get(snapshot);                     /* counted reference, taken last */
    e->snapshot = snapshot;
    return S_OK;
}

void enum_snapshot_cleanup(struct enum_snapshot *e)
{
    if (e->marshal) IUnknown_Release(e->marshal);
    if (e->snapshot) snapshot_put(e->snapshot);
}

ULONG enum_snapshot_addref(struct enum_snapshot *e)
{
    return InterlockedIncrement(&e->refcount);
}

ULONG enum_snapshot_release(struct enum_snapshot *e)
{
    return InterlockedDecrement(&e->refcount);
}

ULONG enum_snapshot_position(struct enum_snapshot *e)
{
    return (ULONG)InterlockedCompareExchange(&e->position, 0, 0);
}

/* Moves the cursor forward by up to `celt` elements, clamped to the end, in one atomic step,
 * so that threads sharing the enumerator never take the same element twice. Returns how many
 * it moved over; *first is where it started. */
static ULONG enum_snapshot_advance(struct enum_snapshot *e, ULONG celt, ULONG *first)
{
    ULONG start, taken;

    do
    {
        start = enum_snapshot_position(e);
        taken = min(celt, e->snapshot->count - start);
    }
    while ((ULONG)InterlockedCompareExchange(&e->position, (LONG)(start + taken), (LONG)start) != start);

    *first = start;
    return taken;
}

/* S_OK when celt elements came back, S_FALSE when fewer (0 at the end). A NULL pceltFetched is
 * allowed only for celt == 1, as IEnumXxx::Next documents. The slots past the returned ones are
 * NULLed (GUID_NULL for GUIDs): rgelt is [out, size_is(celt), length_is(*pceltFetched)], and a
 * caller passing a NULL pceltFetched has no other way to see how many came back. */
HRESULT enum_snapshot_next(struct enum_snapshot *e, ULONG celt, void *rgelt, ULONG *fetched)
{
    ULONG first, taken, i;

    if (fetched) *fetched = 0;
    if (!rgelt || (!fetched && celt != 1)) return E_INVALIDARG;

    taken = enum_snapshot_advance(e, celt, &first);
    if (e->snapshot->guids)
    {
        GUID *ids = rgelt;
        if (taken) memcpy(ids, (const GUID *)e->snapshot->items + first, taken * sizeof(*ids));
        for (i = taken; i < celt; ++i) ids[i] = GUID_NULL;
        if (fetched) *fetched = taken;
        return taken == celt ? S_OK : S_FALSE;
    }
    for (i = 0; i < taken; ++i)
    {
        IUnknown *item = load_item(e->snapshot->items, first + i);

        IUnknown_AddRef(item);
        store_item(rgelt, i, item);
    }
    for (; i < celt; ++i) store_item(rgelt, i, NULL);

    if (fetched) *fetched = taken;
    return taken == celt ? S_OK : S_FALSE;
}

/* S_OK, or S_FALSE when fewer than celt elements were left; the cursor then stays at the end. */
HRESULT enum_snapshot_skip(struct enum_snapshot *e, ULONG celt)
{
    ULONG first;

    return enum_snapshot_advance(e, celt, &first) == celt ? S_OK : S_FALSE;
}

void enum_snapshot_reset(struct enum_snapshot *e)
{
    InterlockedExchange(&e->position, 0);
}

HRESULT enum_snapshot_get_count(struct enum_snapshot *e, ULONG *count)
{
    if (!count) return E_INVALIDARG;
    *count = e->snapshot->count;
    return S_OK;
}
