/* SPDX-License-Identifier: MIT */
/* Byte-range arithmetic for files (BITS-SPEC.md §2.4 AddFileWithRanges, §2.7 File2/File6):
 * the ranges a caller asked for, the ranges already on disk, and what is still missing.
 *
 * A range_list is a set of bytes kept as sorted, disjoint, non-adjacent half-open intervals
 * [start, end). Lookups are binary searches; an insert or removal moves the tail of the array
 * once (memmove), so building a list of n intervals never rebuilds it.
 *
 * Platform-free: plain malloc/realloc/free, no COM allocator, no locks (callers hold the
 * service lock); builds natively with Wine's headers. */
#ifndef OPENBITS_CORE_RANGES_H
#define OPENBITS_CORE_RANGES_H

#include <windows.h>
#include <stddef.h>
#include "bits.h"

/* An interval end meaning "to the end of the file, size not known".
 *
 * It is also the end of [offset, offset + length) when offset + length is exactly 2^64 - 1,
 * the largest end the argument rules allow: the two cannot be told apart. Nothing is lost for
 * a real file, whose size is at most 2^64 - 2 (2^64 - 1 is BG_SIZE_UNKNOWN), so either interval
 * reaches past its last byte and clips to the same thing; only range_list_bytes with an
 * unknown size and range_list_export see the difference (see there). */
#define RANGE_END_OF_FILE (~(UINT64)0)

struct range
{
    UINT64 start, end;                  /* start < end; end may be RANGE_END_OF_FILE */
};

struct range_list
{
    struct range *items;                /* NULL until the first insert */
    DWORD count, capacity;
};

void range_list_init(struct range_list *list);
/* Frees the array; the list is then empty and can be used again. */
void range_list_clear(struct range_list *list);

/* Adds [offset, offset + length), merging intervals it overlaps or touches. length ==
 * BG_LENGTH_TO_EOF means to the end of the file. E_INVALIDARG for a length of 0 or an offset
 * of BG_LENGTH_TO_EOF (checked first); BG_E_INVALID_RANGE when offset + length is past
 * 2^64 - 1 (length BG_LENGTH_TO_EOF excepted); E_OUTOFMEMORY leaves the list as it was. */
HRESULT range_list_add(struct range_list *list, UINT64 offset, UINT64 length);
/* Makes dst (an initialised list, emptied first) a copy of src. E_OUTOFMEMORY leaves dst as it
 * was. */
HRESULT range_list_copy(struct range_list *dst, const struct range_list *src);
/* Removes from list every byte that is in other. E_OUTOFMEMORY (a split needed room) can leave
 * part of other removed. */
HRESULT range_list_subtract(struct range_list *list, const struct range_list *other);
/* Removes [offset, offset + length) with the same argument rules, splitting an interval in
 * two when the bytes are in its middle (the only case that allocates: E_OUTOFMEMORY leaves
 * the list as it was). Removing bytes that are not in the list is S_OK. */
HRESULT range_list_remove(struct range_list *list, UINT64 offset, UINT64 length);
/* TRUE when every byte of [offset, offset + length) is in the list; length BG_LENGTH_TO_EOF
 * asks for every byte from offset to the end of the file (only an open-ended interval covers
 * that). A length of 0 is TRUE whatever the offset. Arguments that range_list_add refuses
 * (an offset of BG_LENGTH_TO_EOF, an end past 2^64 - 1) name bytes no interval can hold:
 * FALSE. */
BOOL range_list_covers(const struct range_list *list, UINT64 offset, UINT64 length);
/* The number of bytes in the list. An open-ended interval counts up to size (nothing when it
 * starts at or past size); when size is BG_SIZE_UNKNOWN and the list has one, the answer is
 * BG_SIZE_UNKNOWN. Closed intervals count in full, even past size. */
UINT64 range_list_bytes(const struct range_list *list, UINT64 size);
/* Once the file size is known: drops the bytes at or past size and closes open-ended
 * intervals at size. Never allocates. BG_SIZE_UNKNOWN changes nothing. */
void range_list_clip(struct range_list *list, UINT64 size);
/* Writes the list into out (room for list->count entries) in offset order, open-ended
 * intervals with Length BG_LENGTH_TO_EOF. */
void range_list_export(const struct range_list *list, BG_FILE_RANGE *out);

/* The transfer engine's question: the first interval of bytes in want and not in have at or
 * after from, else (wrapping round) the first one from offset 0; an interval that contains
 * from starts at from. S_OK with *next filled (its end may be RANGE_END_OF_FILE), or S_FALSE
 * with *next zeroed when have covers all of want. */
HRESULT range_list_next_missing(const struct range_list *want, const struct range_list *have,
                                UINT64 from, struct range *next);

/* The bytes AddFileWithRanges' ranges (already through validate_ranges, in the caller's order)
 * take from a file of size bytes: Length BG_LENGTH_TO_EOF runs to size. BG_SIZE_UNKNOWN when
 * size is BG_SIZE_UNKNOWN and a Length is BG_LENGTH_TO_EOF, or when a range does not lie
 * within the file (the engine reports that as BG_E_INVALID_RANGE). */
UINT64 ranges_total_length(const BG_FILE_RANGE *ranges, DWORD count, UINT64 size);

/* Test seam: the allocator behind every range_list, with realloc's contract. NULL restores
 * realloc. Process-wide and unsynchronised: only tests set it, while no list is in use. */
typedef void *(*range_realloc_fn)(void *ptr, size_t size);
void range_list_set_allocator(range_realloc_fn fn);

#endif
