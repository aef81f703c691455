/* SPDX-License-Identifier: MIT */
/* The job queue: a hash table keyed by GUID, so that finding a job costs the same with
 * ten jobs or a hundred thousand.
 *
 * The table is intrusive: a job record embeds a struct queue_entry and the queue links
 * entries, never owning or freeing them. Callers serialise access (the service lock);
 * the queue takes no lock of its own and calls nothing. Platform-free: builds natively
 * with Wine's headers for the sanitizer suite. */
#ifndef OPENBITS_CORE_QUEUE_H
#define OPENBITS_CORE_QUEUE_H

#include <windows.h>
#include <stddef.h>

struct queue_entry
{
    GUID id;                         /* immutable while queued */
    struct queue_entry *next;        /* bucket chain */
};

struct queue
{
    struct queue_entry **buckets;    /* NULL until the first insert */
    size_t bucket_count;             /* 0 or a power of two */
    size_t count;
};

void queue_init(struct queue *queue);
/* Frees the bucket array; the entries belong to the caller. */
void queue_destroy(struct queue *queue);

/* S_OK, E_OUTOFMEMORY, or HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) when an entry with the
 * same id is queued (the queue is then unchanged). */
HRESULT queue_insert(struct queue *queue, struct queue_entry *entry);
struct queue_entry *queue_find(const struct queue *queue, const GUID *id);
/* TRUE when the entry was queued and is now removed. */
BOOL queue_remove(struct queue *queue, struct queue_entry *entry);
size_t queue_count(const struct queue *queue);

/* Calls fn for every entry, in no particular order, until fn returns FALSE. fn must not
 * insert or remove entries. */
void queue_for_each(const struct queue *queue, BOOL (*fn)(struct queue_entry *entry, void *context),
                    void *context);

#endif
