/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

#define QUEUE_MIN_BUCKETS 16

/* GUIDs are usually random, but the legacy QMGR lets callers choose them (often sequential),
 * so mix all 128 bits rather than trusting any one field. */
static size_t guid_hash(const GUID *id)
{
    uint64_t lo, hi, h;

    memcpy(&lo, id, sizeof(lo));
    memcpy(&hi, (const char *)id + sizeof(lo), sizeof(hi));
    h = lo ^ (hi * 0x9e3779b97f4a7c15ull);
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ull;     /* splitmix64 finaliser */
    h ^= h >> 27; h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (size_t)h;
}

void queue_init(struct queue *queue)
{
    queue->buckets = NULL;
    queue->bucket_count = 0;
    queue->count = 0;
}

void queue_destroy(struct queue *queue)
{
    free(queue->buckets);
    queue_init(queue);
}

static BOOL queue_grow(struct queue *queue)
{
    size_t new_count = queue->bucket_count ? queue->bucket_count * 2 : QUEUE_MIN_BUCKETS;
    struct queue_entry **buckets;
    size_t i;

    if (new_count < queue->bucket_count || new_count > SIZE_MAX / sizeof(*buckets)) return FALSE;
    if (!(buckets = calloc(new_count, sizeof(*buckets)))) return FALSE;
    for (i = 0; i < queue->bucket_count; ++i)
    {
        struct queue_entry *entry = queue->buckets[i], *next;
        for (; entry; entry = next)
        {
            size_t slot = guid_hash(&entry->id) & (new_count - 1);
            next = entry->next;
            entry->next = buckets[slot];
            buckets[slot] = entry;
        }
    }
    free(queue->buckets);
    queue->buckets = buckets;
    queue->bucket_count = new_count;
    return TRUE;
}

struct queue_entry *queue_find(const struct queue *queue, const GUID *id)
{
    struct queue_entry *entry;

    if (!queue->bucket_count) return NULL;
    for (entry = queue->buckets[guid_hash(id) & (queue->bucket_count - 1)]; entry; entry = entry->next)
        if (!memcmp(&entry->id, id, sizeof(*id))) return entry;
    return NULL;
}

HRESULT queue_insert(struct queue *queue, struct queue_entry *entry)
{
    size_t slot;

    if (queue_find(queue, &entry->id)) return HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
    /* Keep the load factor at or below 1 so chains stay short. */
    if (queue->count >= queue->bucket_count && !queue_grow(queue)) return E_OUTOFMEMORY;
    slot = guid_hash(&entry->id) & (queue->bucket_count - 1);
    entry->next = queue->buckets[slot];
    queue->buckets[slot] = entry;
    queue->count++;
    return S_OK;
}

BOOL queue_remove(struct queue *queue, struct queue_entry *entry)
{
    struct queue_entry **link;

    if (!queue->bucket_count) return FALSE;
    for (link = &queue->buckets[guid_hash(&entry->id) & (queue->bucket_count - 1)]; *link;
         link = &(*link)->next)
    {
        if (*link == entry)
        {
            *link = entry->next;
            entry->next = NULL;
            queue->count--;
            return TRUE;
        }
    }
    return FALSE;
}

size_t queue_count(const struct queue *queue)
{
    return queue->count;
}

void queue_for_each(const struct queue *queue, BOOL (*fn)(struct queue_entry *entry, void *context),
                    void *context)
{
    size_t i;

    for (i = 0; i < queue->bucket_count; ++i)
    {
        struct queue_entry *entry = queue->buckets[i], *next;
        for (; entry; entry = next)
        {
            next = entry->next;
            if (!fn(entry, context)) return;
        }
    }
}
