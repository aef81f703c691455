/* SPDX-License-Identifier: MIT */
/* Byte-range sets (ranges.h). The intervals are sorted by start and, being disjoint, by end
 * too, so every question is a binary search for the first interval ending or starting past a
 * position. Every change allocates (if at all) before it touches the array, so a failed
 * allocation leaves the list as it was.
 *
 * Where the spec does not settle a case, the comment at the rule says "Spec silent:" and gives
 * the choice; the tests pin each one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ranges.h"

#define RANGE_MIN_CAPACITY 4

static range_realloc_fn range_realloc;   /* NULL: realloc */

void range_list_set_allocator(range_realloc_fn fn)
{
    range_realloc = fn;
}

void range_list_init(struct range_list *list)
{
    list->items = NULL;
    list->count = 0;
    list->capacity = 0;
}

void range_list_clear(struct range_list *list)
{
    free(list->items);
    range_list_init(list);
}

/* Room for `extra` more intervals; FALSE (list untouched) when it cannot be had. */
static BOOL range_list_reserve(struct range_list *list, DWORD extra)
{
    const size_t max_items = SIZE_MAX / sizeof(struct range);
    DWORD needed = list->count + extra, capacity;
    struct range *items;

    if (needed < list->count) return FALSE;
    if (needed <= list->capacity) return TRUE;
    capacity = list->capacity ? list->capacity : RANGE_MIN_CAPACITY;
    while (capacity < needed)
    {
        if (capacity > MAXDWORD / 2) { capacity = needed; break; }
        capacity *= 2;
    }
    /* Only a 32-bit build can run out of address space before DWORD runs out. */
    if (capacity > max_items) return FALSE;
    items = range_realloc ? range_realloc(list->items, capacity * sizeof(*items))
                          : realloc(list->items, capacity * sizeof(*items));
    if (!items) return FALSE;
    list->items = items;
    list->capacity = capacity;
    return TRUE;
}

/* Index of the first interval ending after pos, or list->count. */
static DWORD first_ending_after(const struct range_list *list, UINT64 pos)
{
    DWORD lo = 0, hi = list->count;

    while (lo < hi)
    {
        DWORD mid = lo + (hi - lo) / 2;
        if (list->items[mid].end > pos) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Index of the first interval starting after pos, or list->count. */
static DWORD first_starting_after(const struct range_list *list, UINT64 pos)
{
    DWORD lo = 0, hi = list->count;

    while (lo < hi)
    {
        DWORD mid = lo + (hi - lo) / 2;
        if (list->items[mid].start > pos) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* The argument rules shared by add, remove and covers; *end is the interval's end. An end of
 * exactly 2^64 - 1 comes out as RANGE_END_OF_FILE, which it equals (ranges.h). */
static HRESULT range_from_arguments(UINT64 offset, UINT64 length, UINT64 *end)
{
    if (!length || offset == BG_LENGTH_TO_EOF) return E_INVALIDARG;
    if (length == BG_LENGTH_TO_EOF) *end = RANGE_END_OF_FILE;
    else if (length > RANGE_END_OF_FILE - offset) return BG_E_INVALID_RANGE;
    else *end = offset + length;
    return S_OK;
}

HRESULT range_list_add(struct range_list *list, UINT64 offset, UINT64 length)
{
    struct range *items;
    DWORD first, last;
    UINT64 end;
    HRESULT hr;

    if (FAILED(hr = range_from_arguments(offset, length, &end))) return hr;

    /* Intervals [first, last) overlap or touch the new one: they end at or after offset
     * (offset > 0 here or none end before it) and start at or before end. */
    first = offset ? first_ending_after(list, offset - 1) : 0;
    last = first_starting_after(list, end);
    if (first == last)
    {
        if (!range_list_reserve(list, 1)) return E_OUTOFMEMORY;
        items = list->items;
        memmove(items + first + 1, items + first, (list->count - first) * sizeof(*items));
        items[first].start = offset;
        items[first].end = end;
        ++list->count;
        return S_OK;
    }

    items = list->items;
    if (items[first].start < offset) offset = items[first].start;
    if (items[last - 1].end > end) end = items[last - 1].end;
    items[first].start = offset;
    items[first].end = end;
    memmove(items + first + 1, items + last, (list->count - last) * sizeof(*items));
    list->count -= last - first - 1;
    return S_OK;
}

HRESULT range_list_remove(struct range_list *list, UINT64 offset, UINT64 length)
{
    UINT64 head_start, tail_end, end;
    DWORD first, last, keep;
    BOOL head, tail;
    struct range *items;
    HRESULT hr;

    if (FAILED(hr = range_from_arguments(offset, length, &end))) return hr;

    /* Intervals [first, last) share bytes with [offset, end): they end after offset and start
     * before end (end > offset >= 0). */
    first = first_ending_after(list, offset);
    last = first_starting_after(list, end - 1);
    if (first >= last) return S_OK;

    items = list->items;
    head_start = items[first].start;
    tail_end = items[last - 1].end;
    head = head_start < offset;       /* bytes of the first interval before offset survive */
    tail = tail_end > end;            /* and of the last one from end on (never past EOF) */
    keep = head + tail;
    if (keep > last - first && !range_list_reserve(list, 1)) return E_OUTOFMEMORY;

    items = list->items;
    memmove(items + first + keep, items + last, (list->count - last) * sizeof(*items));
    if (head)
    {
        items[first].start = head_start;
        items[first].end = offset;
    }
    if (tail)
    {
        items[first + head].start = end;
        items[first + head].end = tail_end;
    }
    list->count = list->count - (last - first) + keep;
    return S_OK;
}

BOOL range_list_covers(const struct range_list *list, UINT64 offset, UINT64 length)
{
    DWORD i;
    UINT64 end;

    if (!length) return TRUE;
    /* Spec silent (an internal question): bytes the argument rules refuse, such as the one at
     * 2^64 - 1 or any past it, are in no interval, so they are not covered. */
    if (FAILED(range_from_arguments(offset, length, &end))) return FALSE;
    /* Intervals never touch, so one interval must hold all of them. */
    i = first_ending_after(list, offset);
    return i < list->count && list->items[i].start <= offset && list->items[i].end >= end;
}

UINT64 range_list_bytes(const struct range_list *list, UINT64 size)
{
    UINT64 total = 0;
    DWORD i;

    /* Disjoint intervals below 2^64 - 1 cannot add up past it, and the closed ones all lie
     * below the start of an open-ended one (the last), so no sum here overflows. */
    for (i = 0; i < list->count; ++i)
    {
        const struct range *range = &list->items[i];

        if (range->end != RANGE_END_OF_FILE) total += range->end - range->start;
        else if (size == BG_SIZE_UNKNOWN) return BG_SIZE_UNKNOWN;
        else if (size > range->start) total += size - range->start;
    }
    return total;
}

void range_list_clip(struct range_list *list, UINT64 size)
{
    DWORD keep;

    /* Intervals starting at or past size go; the last one kept may reach past it. With
     * BG_SIZE_UNKNOWN (2^64 - 1) every start is below size and no end above it. */
    keep = size ? first_starting_after(list, size - 1) : 0;
    list->count = keep;
    if (keep && list->items[keep - 1].end > size) list->items[keep - 1].end = size;
}

void range_list_export(const struct range_list *list, BG_FILE_RANGE *out)
{
    DWORD i;

    for (i = 0; i < list->count; ++i)
    {
        const struct range *range = &list->items[i];

        out[i].InitialOffset = range->start;
        out[i].Length = range->end == RANGE_END_OF_FILE ? BG_LENGTH_TO_EOF : range->end - range->start;
    }
}

/* The first interval of want minus have that has bytes at or after from, cut to start at from. */
static BOOL find_missing(const struct range_list *want, const struct range_list *have, UINT64 from,
                         struct range *next)
{
    DWORD w, h;

    for (w = first_ending_after(want, from); w < want->count; ++w)
    {
        UINT64 pos = want->items[w].start > from ? want->items[w].start : from;
        UINT64 end = want->items[w].end;

        /* If a have interval holds pos, skip to its end; the next have interval starts past
         * that (they never touch), so what follows is a gap unless it reaches the end of w. */
        h = first_ending_after(have, pos);
        if (h < have->count && have->items[h].start <= pos)
        {
            pos = have->items[h].end;
            if (pos >= end) continue;
            ++h;
        }
        if (h < have->count && have->items[h].start < end) end = have->items[h].start;
        next->start = pos;
        next->end = end;
        return TRUE;
    }
    return FALSE;
}

HRESULT range_list_next_missing(const struct range_list *want, const struct range_list *have,
                                UINT64 from, struct range *next)
{
    /* Spec silent: UpdateDownloadPosition names where the client reads next, so a gap that
     * holds from is fetched from there on and its bytes before from wait for the wrap. After
     * wrapping, the first gap found lies wholly before from: any gap reaching from would have
     * been found by the first search. */
    if (find_missing(want, have, from, next)) return S_OK;
    if (from && find_missing(want, have, 0, next)) return S_OK;
    next->start = 0;
    next->end = 0;
    return S_FALSE;
}

UINT64 ranges_total_length(const BG_FILE_RANGE *ranges, DWORD count, UINT64 size)
{
    UINT64 total = 0, length;
    DWORD i;

    for (i = 0; i < count; ++i)
    {
        const BG_FILE_RANGE *range = &ranges[i];

        if (range->Length == BG_LENGTH_TO_EOF)
        {
            if (size == BG_SIZE_UNKNOWN) return BG_SIZE_UNKNOWN;
            /* Spec silent: a to-the-end range starting at the size holds no byte of the file;
             * it counts as outside the file, as a server answers "bytes=size-" with 416. */
            if (range->InitialOffset >= size) return BG_SIZE_UNKNOWN;
            length = size - range->InitialOffset;
        }
        else
        {
            /* With an unknown size no end can be checked; validate_ranges has already
             * refused ends past 2^64 - 1. */
            if (size != BG_SIZE_UNKNOWN
                && (range->InitialOffset > size || range->Length > size - range->InitialOffset))
                return BG_SIZE_UNKNOWN;
            length = range->Length;
        }
        /* Validated ranges are disjoint and within the file, so this cannot trip; it keeps
         * overlapping input from wrapping round to a small total. */
        if (length > BG_SIZE_UNKNOWN - 1 - total) return BG_SIZE_UNKNOWN;
        total += length;
    }
    return total;
}

HRESULT range_list_copy(struct range_list *dst, const struct range_list *src)
{
    struct range_list copy;

    range_list_init(&copy);
    if (src->count && !range_list_reserve(&copy, src->count)) return E_OUTOFMEMORY;
    if (src->count) memcpy(copy.items, src->items, src->count * sizeof(*src->items));
    copy.count = src->count;
    range_list_clear(dst);
    *dst = copy;
    return S_OK;
}

static HRESULT range_list_remove_range(struct range_list *list, const struct range *r)
{
    return range_list_remove(list, r->start, r->end == RANGE_END_OF_FILE ? BG_LENGTH_TO_EOF : r->end - r->start);
}

HRESULT range_list_subtract(struct range_list *list, const struct range_list *other)
{
    HRESULT hr = S_OK;
    DWORD i;

    for (i = 0; SUCCEEDED(hr) && i < other->count; ++i) hr = range_list_remove_range(list, &other->items[i]);
    return hr;
}
