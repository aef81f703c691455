/* SPDX-License-Identifier: MIT */
/* The machine shared by the snapshot enumerators (enum_jobs.c, enum_files.c, and the BITS 1.x
 * enum_groups.c and enum_jobs1.c).
 *
 * IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles differ only in their element type, so
 * each object file keeps its typed vtable, a QueryInterface table and its constructor, and
 * every rule of Next, Skip, Reset, Clone and GetCount is written once here.
 *
 * A snapshot is an immutable array of AddRef'd interface pointers, all of one interface type,
 * or of GUIDs (the BITS 1.x enumerators), shared by an enumerator and its clones through a
 * reference count. Each enumerator has its own
 * cursor, moved only with Interlocked operations, so several threads may share one enumerator
 * (the objects aggregate the free-threaded marshaler). No lock is taken; besides creating the
 * marshaler, the only calls out are AddRef on the elements handed out, and Release on all of
 * them when the last enumerator over the snapshot goes. */
#ifndef OPENBITS_ENUM_SNAPSHOT_H
#define OPENBITS_ENUM_SNAPSHOT_H

#include "common.h"

struct snapshot;

/* Takes ownership of `items`: a malloc'd array of `count` AddRef'd pointers to one interface
 * type (count may be 0 and items NULL). On failure it releases them and frees the array. */
HRESULT snapshot_create(void *items, ULONG count, struct snapshot **out);
/* The same for a malloc'd array of `count` GUIDs (NULL when count is 0 is fine). */
HRESULT snapshot_create_guids(GUID *ids, ULONG count, struct snapshot **out);
void snapshot_put(struct snapshot *snapshot);

/* The part of an enumerator object that is the same for every element type. The object
 * embeds it after its <Interface>_iface member. */
struct enum_snapshot
{
    IUnknown *marshal;              /* aggregated free-threaded marshaler */
    LONG refcount;
    struct snapshot *snapshot;      /* counted reference, shared with clones; immutable */
    LONG position;                  /* 0 to the snapshot's count; Interlocked only */
};

/* Sets up a zeroed enumerator at `position` over `snapshot` (a reference is taken) with one
 * COM reference; `outer` is the object's identity for the marshaler. On failure the caller
 * still calls enum_snapshot_cleanup. */
HRESULT enum_snapshot_init(struct enum_snapshot *e, IUnknown *outer, struct snapshot *snapshot,
                           ULONG position);
/* Accepts a half-initialised enumerator. */
void enum_snapshot_cleanup(struct enum_snapshot *e);

ULONG enum_snapshot_addref(struct enum_snapshot *e);
/* Returns the new count; the caller destroys the object at 0. */
ULONG enum_snapshot_release(struct enum_snapshot *e);

/* The enumerator methods. `rgelt` is the caller's array of `celt` elements of the snapshot's
 * type: interface pointers, or GUIDs. */
HRESULT enum_snapshot_next(struct enum_snapshot *e, ULONG celt, void *rgelt, ULONG *fetched);
HRESULT enum_snapshot_skip(struct enum_snapshot *e, ULONG celt);
void enum_snapshot_reset(struct enum_snapshot *e);
HRESULT enum_snapshot_get_count(struct enum_snapshot *e, ULONG *count);
/* The state a clone starts from: the shared snapshot and the current position. */
ULONG enum_snapshot_position(struct enum_snapshot *e);

#endif
