/* SPDX-License-Identifier: MIT */
/* Byte-range sets (src/core/ranges.c): merging on add (overlap, touching, containment, many at
 * once), splitting on remove, open-ended intervals, the edges at 2^64 - 1, clip, export, the
 * engine's next-missing search with its wrap, byte counts with an unknown size, the totals of
 * AddFileWithRanges, allocation failures, and a randomized run against a bitmap model.
 * Runs natively under ASan/UBSan and under Wine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ranges.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

#define EOF_END  RANGE_END_OF_FILE
#define TO_EOF   BG_LENGTH_TO_EOF
#define UNKNOWN  BG_SIZE_UNKNOWN
#define TOP      (~(UINT64)0)           /* 2^64 - 1 */

/* -------------------------------------------------------------------------------------------- */
/* Helpers                                                                                        */

static const char *hex(UINT64 value, char *buf)
{
    snprintf(buf, 24, "%#llx", (unsigned long long)value);
    return buf;
}

/* Sorted, disjoint, non-adjacent, non-empty intervals within capacity. */
static void check_invariants(const struct range_list *list, int line)
{
    DWORD i;

    if (list->count > list->capacity)
        fail_msg("line %d: count %lu > capacity %lu", line, (unsigned long)list->count,
                 (unsigned long)list->capacity);
    if (list->count && !list->items) fail_msg("line %d: %lu intervals, no array", line, (unsigned long)list->count);
    for (i = 0; i < list->count; ++i)
    {
        if (list->items[i].start >= list->items[i].end)
            fail_msg("line %d: interval %lu is empty or reversed", line, (unsigned long)i);
        if (i && list->items[i - 1].end >= list->items[i].start)
            fail_msg("line %d: intervals %lu and %lu overlap or touch", line, (unsigned long)i - 1,
                     (unsigned long)i);
    }
}

static void check_list_(const struct range_list *list, const struct range *expected, DWORD count, int line)
{
    char a[24], b[24], c[24], d[24];
    DWORD i;

    check_invariants(list, line);
    if (list->count != count)
        fail_msg("line %d: %lu intervals, expected %lu", line, (unsigned long)list->count, (unsigned long)count);
    for (i = 0; i < count; ++i)
        if (list->items[i].start != expected[i].start || list->items[i].end != expected[i].end)
            fail_msg("line %d: interval %lu is [%s, %s), expected [%s, %s)", line, (unsigned long)i,
                     hex(list->items[i].start, a), hex(list->items[i].end, b), hex(expected[i].start, c),
                     hex(expected[i].end, d));
}
#define check_list(list, expected) check_list_((list), (expected), ARRAY_SIZE(expected), __LINE__)
#define check_empty(list) check_list_((list), NULL, 0, __LINE__)

static void add_(struct range_list *list, UINT64 offset, UINT64 length, HRESULT expected, int line)
{
    char a[24], b[24];
    HRESULT hr = range_list_add(list, offset, length);

    if (hr != expected)
        fail_msg("line %d: range_list_add(%s, %s) = %#x, expected %#x", line, hex(offset, a), hex(length, b),
                 (unsigned int)hr, (unsigned int)expected);
    check_invariants(list, line);
}
#define add(list, offset, length) add_((list), (offset), (length), S_OK, __LINE__)
#define add_hr(list, offset, length, hr) add_((list), (offset), (length), (hr), __LINE__)

static void remove_(struct range_list *list, UINT64 offset, UINT64 length, HRESULT expected, int line)
{
    char a[24], b[24];
    HRESULT hr = range_list_remove(list, offset, length);

    if (hr != expected)
        fail_msg("line %d: range_list_remove(%s, %s) = %#x, expected %#x", line, hex(offset, a), hex(length, b),
                 (unsigned int)hr, (unsigned int)expected);
    check_invariants(list, line);
}
#define del(list, offset, length) remove_((list), (offset), (length), S_OK, __LINE__)
#define del_hr(list, offset, length, hr) remove_((list), (offset), (length), (hr), __LINE__)

/* A list built from ranges given as (offset, length) pairs. */
static void build_list(struct range_list *list, const BG_FILE_RANGE *ranges, DWORD count)
{
    DWORD i;

    range_list_init(list);
    for (i = 0; i < count; ++i) assert_hr(S_OK, range_list_add(list, ranges[i].InitialOffset, ranges[i].Length));
}

static void check_next_(const struct range_list *want, const struct range_list *have, UINT64 from,
                        HRESULT expected_hr, UINT64 start, UINT64 end, int line)
{
    char a[24], b[24], c[24], d[24], e[24];
    struct range next = { 0x5a5a, 0xa5a5 };
    HRESULT hr = range_list_next_missing(want, have, from, &next);

    if (hr != expected_hr)
        fail_msg("line %d: next_missing from %s = %#x, expected %#x", line, hex(from, a), (unsigned int)hr,
                 (unsigned int)expected_hr);
    if (next.start != start || next.end != end)
        fail_msg("line %d: next_missing from %s = [%s, %s), expected [%s, %s)", line, hex(from, a),
                 hex(next.start, b), hex(next.end, c), hex(start, d), hex(end, e));
}
#define check_next(want, have, from, start, end) check_next_((want), (have), (from), S_OK, (start), (end), __LINE__)
#define check_nothing_missing(want, have, from) check_next_((want), (have), (from), S_FALSE, 0, 0, __LINE__)

/* An allocator that fails once its budget is spent; a budget of -1 never fails. */
static int alloc_budget = -1;
static unsigned int alloc_calls;

static void *budget_realloc(void *ptr, size_t size)
{
    ++alloc_calls;
    if (!alloc_budget) return NULL;
    if (alloc_budget > 0) --alloc_budget;
    return realloc(ptr, size);
}

static int restore_allocator(void **state)
{
    range_list_set_allocator(NULL);
    alloc_budget = -1;
    alloc_calls = 0;
    return 0;
}

/* Deterministic pseudo-random numbers (xorshift64*), the same on every platform. */
static UINT64 rng_state;

static UINT64 rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* 0 .. bound - 1 */
static unsigned int rng_below(unsigned int bound)
{
    return (unsigned int)((rng_next() >> 32) % bound);
}

/* -------------------------------------------------------------------------------------------- */
/* Empty lists and arguments                                                                      */

static void test_empty(void **state)
{
    struct range_list list, other;
    BG_FILE_RANGE out = { 7, 7 };

    range_list_init(&list);
    range_list_init(&other);
    check_empty(&list);
    assert_null(list.items);
    assert_int_equal(list.capacity, 0);
    assert_false(range_list_covers(&list, 0, 1));
    assert_false(range_list_covers(&list, 0, TO_EOF));
    assert_true(range_list_covers(&list, 0, 0));
    assert_true(range_list_covers(&list, TOP, 0));
    assert_true(range_list_bytes(&list, 100) == 0);
    assert_true(range_list_bytes(&list, UNKNOWN) == 0);
    range_list_clip(&list, 0);
    range_list_clip(&list, UNKNOWN);
    check_empty(&list);
    range_list_export(&list, &out);
    assert_true(out.InitialOffset == 7 && out.Length == 7);
    del(&list, 0, TO_EOF);
    check_nothing_missing(&list, &other, 0);
    check_nothing_missing(&list, &other, 12345);

    /* Cleared twice, and usable after clearing. */
    range_list_clear(&list);
    range_list_clear(&list);
    check_empty(&list);
    add(&list, 5, 5);
    range_list_clear(&list);
    check_empty(&list);
    assert_null(list.items);
    add(&list, 1, 1);
    {
        static const struct range expected[] = { { 1, 2 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
    range_list_clear(&other);
}

static void test_arguments(void **state)
{
    static const struct range expected[] = { { 10, 20 }, { 30, EOF_END } };
    struct range_list list;

    range_list_init(&list);
    add(&list, 10, 10);
    add(&list, 30, TO_EOF);

    /* Refusals leave the list as it was, for add and remove alike. */
    add_hr(&list, 0, 0, E_INVALIDARG);
    add_hr(&list, 15, 0, E_INVALIDARG);
    add_hr(&list, TOP, 1, E_INVALIDARG);
    add_hr(&list, TOP, TO_EOF, E_INVALIDARG);
    add_hr(&list, TOP, 0, E_INVALIDARG);
    add_hr(&list, TOP - 1, 2, BG_E_INVALID_RANGE);
    add_hr(&list, 2, TOP - 1, BG_E_INVALID_RANGE);
    add_hr(&list, 0x8000000000000000ull, 0x8000000000000000ull, BG_E_INVALID_RANGE);
    add_hr(&list, TOP - 1, TOP - 1, BG_E_INVALID_RANGE);
    check_list(&list, expected);

    del_hr(&list, 0, 0, E_INVALIDARG);
    del_hr(&list, 35, 0, E_INVALIDARG);
    del_hr(&list, TOP, 1, E_INVALIDARG);
    del_hr(&list, TOP, TO_EOF, E_INVALIDARG);
    del_hr(&list, TOP - 1, 2, BG_E_INVALID_RANGE);
    del_hr(&list, 2, TOP - 1, BG_E_INVALID_RANGE);
    del_hr(&list, 0x8000000000000000ull, 0x8000000000000000ull, BG_E_INVALID_RANGE);
    check_list(&list, expected);

    /* covers: the same bytes are in no interval, even an open-ended one. */
    assert_false(range_list_covers(&list, TOP, 1));
    assert_false(range_list_covers(&list, TOP, TO_EOF));
    assert_false(range_list_covers(&list, TOP - 1, 2));
    assert_false(range_list_covers(&list, 40, TOP - 1));
    assert_true(range_list_covers(&list, TOP, 0));
    assert_true(range_list_covers(&list, 25, 0));      /* a gap, but no bytes asked for */
    range_list_clear(&list);
}

/* -------------------------------------------------------------------------------------------- */
/* Adding                                                                                         */

static void test_add_disjoint(void **state)
{
    static const struct range expected[] = { { 0, 1 }, { 10, 20 }, { 30, 40 }, { 100, 1000 } };
    struct range_list list;

    range_list_init(&list);
    add(&list, 30, 10);
    add(&list, 100, 900);
    add(&list, 0, 1);
    add(&list, 10, 10);
    check_list(&list, expected);
    /* One byte short of touching on either side stays apart. */
    add(&list, 2, 7);
    {
        static const struct range expected2[] = { { 0, 1 }, { 2, 9 }, { 10, 20 }, { 30, 40 }, { 100, 1000 } };
        check_list(&list, expected2);
    }
    range_list_clear(&list);
}

static void test_add_overlap(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 100, 100);             /* [100, 200) */
    add(&list, 150, 100);             /* overlaps the end */
    {
        static const struct range expected[] = { { 100, 250 } };
        check_list(&list, expected);
    }
    add(&list, 50, 51);               /* overlaps the start by one byte */
    {
        static const struct range expected[] = { { 50, 250 } };
        check_list(&list, expected);
    }
    add(&list, 50, 200);              /* same start and end: nothing changes */
    add(&list, 50, 1);
    add(&list, 249, 1);
    {
        static const struct range expected[] = { { 50, 250 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_add_adjacent(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 0, 10);
    add(&list, 10, 10);               /* touches the end */
    {
        static const struct range expected[] = { { 0, 20 } };
        check_list(&list, expected);
    }
    add(&list, 30, 10);
    add(&list, 25, 5);                /* touches the start of [30, 40) only */
    {
        static const struct range expected[] = { { 0, 20 }, { 25, 40 } };
        check_list(&list, expected);
    }
    add(&list, 20, 5);                /* fills the gap exactly: touches both */
    {
        static const struct range expected[] = { { 0, 40 } };
        check_list(&list, expected);
    }
    /* From offset 0: touching at 0 is no special case. */
    range_list_clear(&list);
    add(&list, 1, 1);
    add(&list, 0, 1);
    {
        static const struct range expected[] = { { 0, 2 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_add_containment(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 100, 100);
    add(&list, 120, 10);              /* inside */
    add(&list, 100, 1);
    add(&list, 199, 1);
    {
        static const struct range expected[] = { { 100, 200 } };
        check_list(&list, expected);
    }
    add(&list, 90, 120);              /* around */
    {
        static const struct range expected[] = { { 90, 210 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_add_spanning_many(void **state)
{
    static const BG_FILE_RANGE five[] = { { 0, 10 }, { 20, 10 }, { 40, 10 }, { 60, 10 }, { 80, 10 } };
    struct range_list list;

    /* From inside the second to inside the fourth. */
    build_list(&list, five, ARRAY_SIZE(five));
    add(&list, 25, 40);
    {
        static const struct range expected[] = { { 0, 10 }, { 20, 70 }, { 80, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* From a gap to a gap, swallowing three whole intervals. */
    build_list(&list, five, ARRAY_SIZE(five));
    add(&list, 15, 60);
    {
        static const struct range expected[] = { { 0, 10 }, { 15, 75 }, { 80, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* Touching the outer two exactly: everything becomes one. */
    build_list(&list, five, ARRAY_SIZE(five));
    add(&list, 10, 70);
    {
        static const struct range expected[] = { { 0, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* Wider than everything on both sides. */
    build_list(&list, five, ARRAY_SIZE(five));
    add(&list, 5, 1000);
    add(&list, 0, 1);
    {
        static const struct range expected[] = { { 0, 1005 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_add_open_ended(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 100, TO_EOF);
    {
        static const struct range expected[] = { { 100, EOF_END } };
        check_list(&list, expected);
    }
    add(&list, 1000, 10);             /* inside */
    add(&list, 100, TO_EOF);          /* the same again */
    add(&list, 5000, TO_EOF);         /* a later open end */
    {
        static const struct range expected[] = { { 100, EOF_END } };
        check_list(&list, expected);
    }
    add(&list, 50, 60);               /* overlaps the start */
    add(&list, 40, 10);               /* touches it */
    add(&list, 10, 10);
    {
        static const struct range expected[] = { { 10, 20 }, { 40, EOF_END } };
        check_list(&list, expected);
    }
    add(&list, 0, TO_EOF);            /* swallows everything */
    {
        static const struct range expected[] = { { 0, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* An open end added before closed intervals that reach past its start. */
    range_list_init(&list);
    add(&list, 0, 10);
    add(&list, 20, 10);
    add(&list, 40, 10);
    add(&list, 25, TO_EOF);
    {
        static const struct range expected[] = { { 0, 10 }, { 20, EOF_END } };
        check_list(&list, expected);
    }
    add(&list, 10, TO_EOF);           /* touches [0, 10) */
    {
        static const struct range expected[] = { { 0, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

/* The top of the offset space: an end of exactly 2^64 - 1 is RANGE_END_OF_FILE (ranges.h). */
static void test_add_top_edge(void **state)
{
    struct range_list list;
    BG_FILE_RANGE out[2];

    range_list_init(&list);
    add(&list, TOP - 1, 1);           /* the last addressable byte */
    {
        static const struct range expected[] = { { TOP - 1, EOF_END } };
        check_list(&list, expected);
    }
    range_list_export(&list, out);
    assert_true(out[0].InitialOffset == TOP - 1 && out[0].Length == TO_EOF);
    assert_true(range_list_covers(&list, TOP - 1, 1));
    assert_true(range_list_covers(&list, TOP - 1, TO_EOF));
    assert_true(range_list_bytes(&list, UNKNOWN) == UNKNOWN);

    add(&list, TOP - 11, 10);         /* touches it from below */
    {
        static const struct range expected[] = { { TOP - 11, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* A closed range whose end is the largest allowed, and one just short of it. */
    range_list_init(&list);
    add(&list, 1, TOP - 1);
    {
        static const struct range expected[] = { { 1, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
    add(&list, 0, TOP - 1);           /* [0, 2^64 - 2): closed, one byte short */
    {
        static const struct range expected[] = { { 0, TOP - 1 } };
        check_list(&list, expected);
    }
    assert_true(range_list_bytes(&list, UNKNOWN) == TOP - 1);
    range_list_export(&list, out);
    assert_true(out[0].InitialOffset == 0 && out[0].Length == TOP - 1);
    assert_false(range_list_covers(&list, 0, TO_EOF));
    assert_false(range_list_covers(&list, TOP - 2, 2));
    assert_true(range_list_covers(&list, TOP - 2, 1));
    add(&list, TOP - 1, 1);           /* touches: becomes open-ended */
    {
        static const struct range expected[] = { { 0, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

/* -------------------------------------------------------------------------------------------- */
/* Removing                                                                                       */

static void test_remove_split(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 0, 100);
    del(&list, 40, 20);               /* the middle: splits */
    {
        static const struct range expected[] = { { 0, 40 }, { 60, 100 } };
        check_list(&list, expected);
    }
    del(&list, 0, 1);                 /* the first byte */
    del(&list, 99, 1);                /* the last byte */
    {
        static const struct range expected[] = { { 1, 40 }, { 60, 99 } };
        check_list(&list, expected);
    }
    del(&list, 40, 20);               /* exactly the gap: nothing */
    del(&list, 99, 1000);             /* touches the end only */
    del(&list, 0, 1);                 /* touches the start only */
    {
        static const struct range expected[] = { { 1, 40 }, { 60, 99 } };
        check_list(&list, expected);
    }
    del(&list, 60, 39);               /* exactly one interval */
    {
        static const struct range expected[] = { { 1, 40 } };
        check_list(&list, expected);
    }
    del(&list, 0, 1000);              /* around everything */
    check_empty(&list);
    range_list_clear(&list);
}

static void test_remove_spanning_many(void **state)
{
    static const BG_FILE_RANGE five[] = { { 0, 10 }, { 20, 10 }, { 40, 10 }, { 60, 10 }, { 80, 10 } };
    struct range_list list;

    /* Inside the second to inside the fourth: both ends survive in part. */
    build_list(&list, five, ARRAY_SIZE(five));
    del(&list, 25, 40);
    {
        static const struct range expected[] = { { 0, 10 }, { 20, 25 }, { 65, 70 }, { 80, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* Gap to gap: three whole intervals go. */
    build_list(&list, five, ARRAY_SIZE(five));
    del(&list, 15, 60);
    {
        static const struct range expected[] = { { 0, 10 }, { 80, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* Exactly from the start of the second to the end of the fourth. */
    build_list(&list, five, ARRAY_SIZE(five));
    del(&list, 20, 50);
    {
        static const struct range expected[] = { { 0, 10 }, { 80, 90 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_remove_open_ended(void **state)
{
    struct range_list list;

    range_list_init(&list);
    add(&list, 10, TO_EOF);
    del(&list, 20, 10);               /* splits an open-ended interval */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, EOF_END } };
        check_list(&list, expected);
    }
    del(&list, 50, TO_EOF);           /* closes it */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 50 } };
        check_list(&list, expected);
    }
    add(&list, 100, TO_EOF);
    del(&list, 1000, TOP - 1000);     /* to 2^64 - 1: the same as to the end */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 50 }, { 100, 1000 } };
        check_list(&list, expected);
    }
    add(&list, 2000, TO_EOF);
    del(&list, 5000, TOP - 5001);     /* stops one byte short: the last byte stays */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 50 }, { 100, 1000 }, { 2000, 5000 },
                                                 { TOP - 1, EOF_END } };
        check_list(&list, expected);
    }
    del(&list, 15, TO_EOF);           /* across several, from inside the first */
    {
        static const struct range expected[] = { { 10, 15 } };
        check_list(&list, expected);
    }
    add(&list, 20, TO_EOF);
    del(&list, 0, TO_EOF);
    check_empty(&list);
    range_list_clear(&list);
}

/* -------------------------------------------------------------------------------------------- */
/* Questions: covers, bytes, clip, export                                                         */

/* copy: dst becomes src (its old content gone); subtract: every byte of the other list goes,
 * open-ended intervals included; a failed copy leaves dst as it was. */
static void test_copy_and_subtract(void **state)
{
    struct range_list a, b, other;

    range_list_init(&a);
    range_list_init(&b);
    range_list_init(&other);
    add(&a, 0, 100);
    add(&a, 200, 50);
    add(&a, 1000, BG_LENGTH_TO_EOF);
    add(&b, 5, 5);
    assert_hr(S_OK, range_list_copy(&b, &a));
    {
        static const struct range expected[] = { { 0, 100 }, { 200, 250 }, { 1000, RANGE_END_OF_FILE } };
        check_list(&b, expected);
        check_list(&a, expected);
    }
    assert_true(b.items != a.items);

    add(&other, 40, 20);                /* splits [0, 100) */
    add(&other, 200, 50);               /* takes [200, 250) whole */
    add(&other, 2000, BG_LENGTH_TO_EOF); /* cuts the open end */
    assert_hr(S_OK, range_list_subtract(&b, &other));
    {
        static const struct range expected[] = { { 0, 40 }, { 60, 100 }, { 1000, 2000 } };
        check_list(&b, expected);
    }

    /* An empty source empties dst. */
    range_list_clear(&other);
    assert_hr(S_OK, range_list_copy(&b, &other));
    check_empty(&b);
    assert_hr(S_OK, range_list_subtract(&a, &other));
    assert_int_equal(a.count, 3);

    /* Out of memory: dst untouched. */
    add(&b, 7, 3);
    range_list_set_allocator(budget_realloc);
    alloc_budget = 0;
    assert_hr(E_OUTOFMEMORY, range_list_copy(&b, &a));
    range_list_set_allocator(NULL);
    alloc_budget = -1;                  /* as test_out_of_memory expects to find them */
    alloc_calls = 0;
    {
        static const struct range expected[] = { { 7, 10 } };
        check_list(&b, expected);
    }
    range_list_clear(&a);
    range_list_clear(&b);
    range_list_clear(&other);
}

static void test_covers(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 10, 10 }, { 30, 10 }, { 100, TO_EOF } };
    struct range_list list;

    build_list(&list, ranges, ARRAY_SIZE(ranges));
    assert_true(range_list_covers(&list, 10, 10));
    assert_true(range_list_covers(&list, 10, 1));
    assert_true(range_list_covers(&list, 19, 1));
    assert_true(range_list_covers(&list, 12, 5));
    assert_false(range_list_covers(&list, 9, 1));
    assert_false(range_list_covers(&list, 9, 2));
    assert_false(range_list_covers(&list, 20, 1));
    assert_false(range_list_covers(&list, 19, 2));
    assert_false(range_list_covers(&list, 10, 30));   /* across a gap */
    assert_false(range_list_covers(&list, 0, 1000));
    assert_false(range_list_covers(&list, 35, TO_EOF));
    assert_true(range_list_covers(&list, 100, TO_EOF));
    assert_true(range_list_covers(&list, 5000, TO_EOF));
    assert_true(range_list_covers(&list, 100, 1));
    assert_true(range_list_covers(&list, 100, TOP - 100));   /* to 2^64 - 1 */
    assert_true(range_list_covers(&list, TOP - 1, 1));
    assert_false(range_list_covers(&list, 99, 2));
    assert_false(range_list_covers(&list, 99, TO_EOF));
    range_list_clear(&list);
}

static void test_bytes(void **state)
{
    static const BG_FILE_RANGE closed[] = { { 10, 10 }, { 30, 5 }, { 1000, 1 } };
    static const BG_FILE_RANGE open[] = { { 10, 10 }, { 100, TO_EOF } };
    struct range_list list;

    /* Closed intervals count in full, even past the size. */
    build_list(&list, closed, ARRAY_SIZE(closed));
    assert_true(range_list_bytes(&list, UNKNOWN) == 16);
    assert_true(range_list_bytes(&list, 2000) == 16);
    assert_true(range_list_bytes(&list, 0) == 16);
    range_list_clear(&list);

    build_list(&list, open, ARRAY_SIZE(open));
    assert_true(range_list_bytes(&list, UNKNOWN) == UNKNOWN);
    assert_true(range_list_bytes(&list, 1000) == 10 + 900);
    assert_true(range_list_bytes(&list, 101) == 11);
    assert_true(range_list_bytes(&list, 100) == 10);  /* the open end starts at the size */
    assert_true(range_list_bytes(&list, 50) == 10);   /* and past it */
    assert_true(range_list_bytes(&list, 0) == 10);
    assert_true(range_list_bytes(&list, TOP - 1) == 10 + (TOP - 1 - 100));
    range_list_clear(&list);

    /* The whole file. */
    range_list_init(&list);
    add(&list, 0, TO_EOF);
    assert_true(range_list_bytes(&list, 12345) == 12345);
    assert_true(range_list_bytes(&list, TOP - 1) == TOP - 1);
    assert_true(range_list_bytes(&list, UNKNOWN) == UNKNOWN);
    range_list_clear(&list);

    /* Ranges up to 2^64 - 1 are open-ended (ranges.h): with an unknown size their count is
     * unknown, not 2^64 - 1 - offset. */
    range_list_init(&list);
    add(&list, 5, 5);
    add(&list, 100, TOP - 100);
    assert_true(range_list_bytes(&list, UNKNOWN) == UNKNOWN);
    assert_true(range_list_bytes(&list, 200) == 105);
    range_list_clear(&list);
}

static void test_clip(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 10, 10 }, { 30, 10 }, { 50, 10 }, { 100, TO_EOF } };
    struct range_list list;
    DWORD capacity;

    /* An unknown size changes nothing. */
    build_list(&list, ranges, ARRAY_SIZE(ranges));
    range_list_clip(&list, UNKNOWN);
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 40 }, { 50, 60 }, { 100, EOF_END } };
        check_list(&list, expected);
    }
    range_list_clip(&list, 1000);     /* closes the open end */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 40 }, { 50, 60 }, { 100, 1000 } };
        check_list(&list, expected);
    }
    range_list_clip(&list, 1000);     /* again: nothing more */
    range_list_clip(&list, 100);      /* at a start: that interval goes */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 40 }, { 50, 60 } };
        check_list(&list, expected);
    }
    range_list_clip(&list, 60);       /* at an end: nothing */
    range_list_clip(&list, 35);       /* inside: cut; the rest goes */
    {
        static const struct range expected[] = { { 10, 20 }, { 30, 35 } };
        check_list(&list, expected);
    }
    range_list_clip(&list, 25);       /* in a gap */
    {
        static const struct range expected[] = { { 10, 20 } };
        check_list(&list, expected);
    }
    capacity = list.capacity;
    range_list_clip(&list, 0);
    check_empty(&list);
    assert_int_equal(list.capacity, capacity);   /* kept for reuse */
    add(&list, 7, 1);
    {
        static const struct range expected[] = { { 7, 8 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* An open end starting past the size goes; one starting below it is cut. */
    range_list_init(&list);
    add(&list, 500, TO_EOF);
    range_list_clip(&list, 400);
    check_empty(&list);
    add(&list, 0, TO_EOF);
    range_list_clip(&list, 1);
    {
        static const struct range expected[] = { { 0, 1 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);

    /* The largest known size. */
    range_list_init(&list);
    add(&list, 0, TO_EOF);
    range_list_clip(&list, TOP - 1);
    {
        static const struct range expected[] = { { 0, TOP - 1 } };
        check_list(&list, expected);
    }
    range_list_clear(&list);
}

static void test_export(void **state)
{
    static const BG_FILE_RANGE ranges[] = { { 100, TO_EOF }, { 0, 10 }, { 20, 5 }, { 10, 1 } };
    static const BG_FILE_RANGE expected[] = { { 0, 11 }, { 20, 5 }, { 100, TO_EOF } };
    BG_FILE_RANGE out[4];
    struct range_list list;

    build_list(&list, ranges, ARRAY_SIZE(ranges));
    assert_int_equal(list.count, ARRAY_SIZE(expected));
    memset(out, 0xcc, sizeof(out));
    range_list_export(&list, out);
    assert_memory_equal(out, expected, sizeof(expected));
    /* Writes list->count entries, no more. */
    assert_true(out[3].InitialOffset == 0xccccccccccccccccull && out[3].Length == 0xccccccccccccccccull);

    /* Exported ranges read back in give the same list. */
    {
        struct range_list copy;
        build_list(&copy, out, list.count);
        check_list_(&copy, list.items, list.count, __LINE__);
        range_list_clear(&copy);
    }
    range_list_clear(&list);
}

/* -------------------------------------------------------------------------------------------- */
/* The engine's search                                                                            */

static void test_next_missing(void **state)
{
    static const BG_FILE_RANGE want_ranges[] = { { 0, 100 }, { 200, 100 }, { 400, TO_EOF } };
    static const BG_FILE_RANGE have_ranges[] = { { 0, 50 }, { 60, 40 }, { 250, 10 } };
    struct range_list want, have;

    build_list(&want, want_ranges, ARRAY_SIZE(want_ranges));
    build_list(&have, have_ranges, ARRAY_SIZE(have_ranges));
    check_next(&want, &have, 0, 50, 60);
    check_next(&want, &have, 50, 50, 60);
    check_next(&want, &have, 55, 55, 60);          /* inside a gap: from there */
    check_next(&want, &have, 59, 59, 60);
    check_next(&want, &have, 60, 200, 250);        /* covered: on to the next gap */
    check_next(&want, &have, 100, 200, 250);       /* not wanted: likewise */
    check_next(&want, &have, 150, 200, 250);
    check_next(&want, &have, 249, 249, 250);
    check_next(&want, &have, 250, 260, 300);
    check_next(&want, &have, 299, 299, 300);
    check_next(&want, &have, 300, 400, EOF_END);
    check_next(&want, &have, 1000, 1000, EOF_END); /* inside the open end */
    check_next(&want, &have, TOP - 1, TOP - 1, EOF_END);
    check_next(&want, &have, TOP, 50, 60);         /* no byte at 2^64 - 1: wraps */

    /* With the open end held too, searches past the last gap wrap to the first. */
    add(&have, 500, TO_EOF);
    check_next(&want, &have, 300, 400, 500);
    check_next(&want, &have, 500, 50, 60);
    check_next(&want, &have, 100000, 50, 60);
    del(&have, 50, 10);
    add(&have, 50, 10);
    add(&have, 200, 50);
    check_next(&want, &have, 0, 260, 300);
    check_next(&want, &have, 350, 400, 500);
    check_next(&want, &have, 500, 260, 300);       /* wrapped */
    add(&have, 260, 40);
    add(&have, 400, 100);
    check_nothing_missing(&want, &have, 0);
    check_nothing_missing(&want, &have, 350);
    check_nothing_missing(&want, &have, TOP);

    /* have reaching beyond want on both sides; want inside a have interval. */
    range_list_clear(&have);
    add(&have, 0, 210);
    add(&have, 290, 200);
    check_next(&want, &have, 0, 210, 290);
    check_next(&want, &have, 300, 490, EOF_END);
    check_next(&want, &have, 489, 490, EOF_END);
    check_next(&want, &have, 491, 491, EOF_END);

    /* Nothing held: the wanted intervals themselves. */
    range_list_clear(&have);
    check_next(&want, &have, 0, 0, 100);
    check_next(&want, &have, 100, 200, 300);
    check_next(&want, &have, 10, 10, 100);

    /* Nothing wanted. */
    range_list_clear(&want);
    check_nothing_missing(&want, &have, 0);
    check_nothing_missing(&want, &have, 77);

    /* One wanted closed interval, held except for its first byte: found only by wrapping. */
    add(&want, 10, 10);
    add(&have, 11, 100);
    check_next(&want, &have, 15, 10, 11);
    check_next(&want, &have, 10, 10, 11);
    range_list_clear(&want);
    range_list_clear(&have);
}

/* -------------------------------------------------------------------------------------------- */
/* AddFileWithRanges totals                                                                       */

static void test_total_length(void **state)
{
    static const BG_FILE_RANGE closed[] = { { 100, 10 }, { 0, 10 }, { 50, 50 } };
    static const BG_FILE_RANGE with_eof[] = { { 500, TO_EOF }, { 0, 10 } };
    static const BG_FILE_RANGE eof_only[] = { { 0, TO_EOF } };
    static const BG_FILE_RANGE top[] = { { 0, 10 }, { TOP - 11, 10 } };

    assert_true(ranges_total_length(closed, 0, 1000) == 0);
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), 1000) == 70);
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), UNKNOWN) == 70);
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), 110) == 70);   /* ends at the size */
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), 109) == UNKNOWN);
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), 100) == UNKNOWN);
    assert_true(ranges_total_length(closed, ARRAY_SIZE(closed), 0) == UNKNOWN);
    assert_true(ranges_total_length(closed, 2, 10) == UNKNOWN);  /* a later range is outside */
    assert_true(ranges_total_length(closed + 1, 1, 10) == 10);

    assert_true(ranges_total_length(with_eof, ARRAY_SIZE(with_eof), 1000) == 510);
    assert_true(ranges_total_length(with_eof, ARRAY_SIZE(with_eof), 501) == 11);
    assert_true(ranges_total_length(with_eof, ARRAY_SIZE(with_eof), UNKNOWN) == UNKNOWN);
    /* Spec silent: a to-the-end range starting at the size holds nothing; it is outside. */
    assert_true(ranges_total_length(with_eof, ARRAY_SIZE(with_eof), 500) == UNKNOWN);
    assert_true(ranges_total_length(with_eof, ARRAY_SIZE(with_eof), 400) == UNKNOWN);
    assert_true(ranges_total_length(eof_only, 1, 1) == 1);
    assert_true(ranges_total_length(eof_only, 1, 0) == UNKNOWN);
    assert_true(ranges_total_length(eof_only, 1, TOP - 1) == TOP - 1);

    /* At the top of the offset space: the last range holds the bytes up to 2^64 - 2. */
    assert_true(ranges_total_length(top, ARRAY_SIZE(top), UNKNOWN) == 20);
    assert_true(ranges_total_length(top, ARRAY_SIZE(top), TOP - 1) == 20);
    assert_true(ranges_total_length(top, ARRAY_SIZE(top), TOP - 2) == UNKNOWN);
}

/* -------------------------------------------------------------------------------------------- */
/* Allocation                                                                                     */

static void test_out_of_memory(void **state)
{
    struct range_list list;
    struct range saved[64];
    DWORD i, count;

    range_list_set_allocator(budget_realloc);
    range_list_init(&list);

    /* The first interval needs the first allocation. */
    alloc_budget = 0;
    add_hr(&list, 10, 10, E_OUTOFMEMORY);
    check_empty(&list);
    assert_null(list.items);
    assert_int_equal(alloc_calls, 1);

    /* Fill the array to capacity with separate intervals. */
    alloc_budget = -1;
    for (i = 0; !list.count || list.count < list.capacity; ++i) add(&list, i * 10, 5);
    count = list.count;
    assert_true(count <= ARRAY_SIZE(saved));
    memcpy(saved, list.items, count * sizeof(*saved));

    alloc_budget = 0;
    alloc_calls = 0;
    /* A new separate interval (at the front, middle, end) and a split need room: refused, the
     * list unchanged. */
    add_hr(&list, 1000000, 1, E_OUTOFMEMORY);
    add_hr(&list, 7, 1, E_OUTOFMEMORY);
    del_hr(&list, 1, 1, E_OUTOFMEMORY);
    check_list_(&list, saved, count, __LINE__);
    assert_int_equal(alloc_calls, 3);

    /* Merges, trims and whole removals need none. */
    add(&list, 5, 5);                 /* joins the first two */
    del(&list, 0, 1);                 /* trims the front */
    del(&list, 20, 5);                /* removes the third whole */
    add(&list, (count - 1) * 10 + 5, TO_EOF);   /* extends the last */
    range_list_clip(&list, 25);
    {
        static const struct range expected[] = { { 1, 15 } };
        check_list(&list, expected);
    }
    assert_int_equal(alloc_calls, 3);

    /* Growth resumes once memory is back; the list still frees cleanly. */
    alloc_budget = -1;
    for (i = 0; i < 3 * count; ++i) add(&list, 100 + i * 10, 1);
    assert_int_equal(list.count, 1 + 3 * count);
    range_list_clear(&list);
}

/* Thousands of separate intervals inserted out of order, then joined, then split again. */
static void test_many_intervals(void **state)
{
    enum { N = 2000 };
    struct range_list list;
    DWORD i;

    range_list_init(&list);
    /* 1237 is prime to N, so i * 1237 % N visits every slot once. */
    for (i = 0; i < N; ++i) add(&list, (UINT64)(i * 1237 % N) * 4, 2);
    assert_int_equal(list.count, N);
    for (i = 0; i < N; ++i)
        assert_true(list.items[i].start == (UINT64)i * 4 && list.items[i].end == (UINT64)i * 4 + 2);
    assert_true(range_list_bytes(&list, UNKNOWN) == 2 * N);

    /* Every gap filled, again out of order: one interval. */
    for (i = 0; i < N - 1; ++i) add(&list, (UINT64)(i * 1237 % (N - 1)) * 4 + 2, 2);
    {
        static const struct range expected[] = { { 0, 4 * (N - 1) + 2 } };
        check_list(&list, expected);
    }

    /* Holes punched back in, splitting each time. */
    for (i = 0; i < N - 1; ++i) del(&list, (UINT64)(i * 1237 % (N - 1)) * 4 + 2, 2);
    assert_int_equal(list.count, N);
    check_invariants(&list, __LINE__);
    range_list_clear(&list);
}

/* -------------------------------------------------------------------------------------------- */
/* Against a bitmap model                                                                         */

/* Bytes 0 .. MODEL_SIZE - 1, plus one flag for all the bytes from MODEL_SIZE on: closed ranges
 * stay below MODEL_SIZE and only open-ended ones reach past it. */
#define MODEL_SIZE 96

struct model
{
    BOOL bit[MODEL_SIZE];
    BOOL tail;
};

/* Where the open-ended interval starts: the lowest s with every byte from s on present. */
static unsigned int model_open_start(const struct model *model)
{
    unsigned int s = MODEL_SIZE;

    while (s && model->bit[s - 1]) --s;
    return s;
}

static void model_check(const struct range_list *list, const struct model *model, int line)
{
    struct range expected[MODEL_SIZE + 1];
    DWORD count = 0;
    unsigned int i = 0, open = model->tail ? model_open_start(model) : MODEL_SIZE + 1;

    while (i < MODEL_SIZE)
    {
        unsigned int start;

        if (!model->bit[i]) { ++i; continue; }
        start = i;
        while (i < MODEL_SIZE && model->bit[i]) ++i;
        expected[count].start = start;
        expected[count].end = start == open ? EOF_END : i;
        ++count;
    }
    if (open == MODEL_SIZE)
    {
        expected[count].start = MODEL_SIZE;
        expected[count].end = EOF_END;
        ++count;
    }
    check_list_(list, expected, count, line);
}

static void model_set(struct model *model, unsigned int offset, UINT64 length, BOOL value)
{
    unsigned int end = length == TO_EOF ? MODEL_SIZE : offset + (unsigned int)length, i;

    for (i = offset; i < end; ++i) model->bit[i] = value;
    if (length == TO_EOF) model->tail = value;
}

static BOOL model_covers(const struct model *model, unsigned int offset, UINT64 length)
{
    unsigned int end = length == TO_EOF ? MODEL_SIZE : offset + (unsigned int)length, i;

    for (i = offset; i < end; ++i)
        if (!model->bit[i]) return FALSE;
    return length != TO_EOF || model->tail;
}

static UINT64 model_bytes(const struct model *model, UINT64 size)
{
    unsigned int open = model->tail ? model_open_start(model) : MODEL_SIZE, i;
    UINT64 total = 0;

    if (model->tail && size == UNKNOWN) return UNKNOWN;
    for (i = 0; i < open; ++i) total += model->bit[i];
    if (model->tail && size > open) total += size - open;
    return total;
}

/* The missing run at or after from, in the model's terms (index MODEL_SIZE is the tail). */
static BOOL model_find(const struct model *want, const struct model *have, UINT64 from, struct range *next)
{
    BOOL tail_missing = want->tail && !have->tail;
    unsigned int p, e;

    if (from >= MODEL_SIZE)
    {
        if (!tail_missing) return FALSE;
        next->start = from;
        next->end = EOF_END;
        return TRUE;
    }
    for (p = (unsigned int)from; p < MODEL_SIZE; ++p)
        if (want->bit[p] && !have->bit[p]) break;
    if (p == MODEL_SIZE)
    {
        if (!tail_missing) return FALSE;
        next->start = MODEL_SIZE;
        next->end = EOF_END;
        return TRUE;
    }
    for (e = p; e < MODEL_SIZE && want->bit[e] && !have->bit[e]; ++e) {}
    next->start = p;
    next->end = e == MODEL_SIZE && tail_missing ? EOF_END : e;
    return TRUE;
}

static void model_check_next(const struct range_list *want, const struct range_list *have,
                             const struct model *want_model, const struct model *have_model, UINT64 from,
                             int line)
{
    struct range expected = { 0, 0 };
    HRESULT expected_hr = S_OK;

    if (!model_find(want_model, have_model, from, &expected)
        && !(from && model_find(want_model, have_model, 0, &expected)))
        expected_hr = S_FALSE;
    check_next_(want, have, from, expected_hr, expected.start, expected.end, line);
}

/* A random range within the model: closed below MODEL_SIZE, or open-ended from 0..MODEL_SIZE. */
static void random_range(unsigned int *offset, UINT64 *length)
{
    if (!rng_below(5))
    {
        *offset = rng_below(MODEL_SIZE + 1);
        *length = TO_EOF;
    }
    else
    {
        *offset = rng_below(MODEL_SIZE);
        /* Mostly short, so that lists keep several intervals. */
        *length = 1 + rng_below(rng_below(4) ? 12 : MODEL_SIZE - *offset);
        if (*offset + *length > MODEL_SIZE) *length = MODEL_SIZE - *offset;
    }
}

static void run_model(UINT64 seed, unsigned int steps)
{
    struct range_list lists[2];
    struct model models[2];
    unsigned int step;

    rng_state = seed;
    memset(models, 0, sizeof(models));
    range_list_init(&lists[0]);
    range_list_init(&lists[1]);

    for (step = 0; step < steps; ++step)
    {
        unsigned int which = rng_below(2), op = rng_below(100), offset;
        struct range_list *list = &lists[which];
        struct model *model = &models[which];
        BG_FILE_RANGE exported[MODEL_SIZE + 1];
        UINT64 length, size;

        random_range(&offset, &length);
        if (op < 50)
        {
            add_(list, offset, length, S_OK, __LINE__);
            model_set(model, offset, length, TRUE);
        }
        else if (op < 92)
        {
            remove_(list, offset, length, S_OK, __LINE__);
            model_set(model, offset, length, FALSE);
        }
        else if (op < 95)
        {
            /* Refused arguments change nothing. */
            add_(list, offset, 0, E_INVALIDARG, __LINE__);
            remove_(list, offset, 0, E_INVALIDARG, __LINE__);
        }
        else if (op < 98)
        {
            size = rng_below(MODEL_SIZE + 1);
            range_list_clip(list, size);
            model_set(model, (unsigned int)size, TO_EOF, FALSE);
        }
        else
        {
            range_list_clear(list);
            memset(model, 0, sizeof(*model));
        }
        model_check(list, model, __LINE__);

        /* Questions, each against the model. */
        random_range(&offset, &length);
        assert_int_equal(range_list_covers(list, offset, length), model_covers(model, offset, length));
        size = rng_below(4) ? rng_below(MODEL_SIZE + 20) : UNKNOWN;
        assert_true(range_list_bytes(list, size) == model_bytes(model, size));

        range_list_export(list, exported);
        {
            struct range_list copy;
            build_list(&copy, exported, list->count);
            check_list_(&copy, list->items, list->count, __LINE__);
            range_list_clear(&copy);
        }

        size = rng_below(10) ? rng_below(MODEL_SIZE + 1) : rng_below(2) ? MODEL_SIZE + 5 : TOP - 1;
        model_check_next(&lists[0], &lists[1], &models[0], &models[1], size, __LINE__);
        model_check_next(&lists[1], &lists[0], &models[1], &models[0], size, __LINE__);
    }
    range_list_clear(&lists[0]);
    range_list_clear(&lists[1]);
}

static void test_random_model(void **state)
{
    run_model(0x0123456789abcdefull, 3000);
    run_model(0x9e3779b97f4a7c15ull, 3000);
    run_model(42, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_add_disjoint),
        cmocka_unit_test(test_add_overlap),
        cmocka_unit_test(test_add_adjacent),
        cmocka_unit_test(test_add_containment),
        cmocka_unit_test(test_add_spanning_many),
        cmocka_unit_test(test_add_open_ended),
        cmocka_unit_test(test_add_top_edge),
        cmocka_unit_test(test_remove_split),
        cmocka_unit_test(test_remove_spanning_many),
        cmocka_unit_test(test_remove_open_ended),
        cmocka_unit_test(test_copy_and_subtract),
        cmocka_unit_test(test_covers),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_next_missing),
        cmocka_unit_test(test_total_length),
        cmocka_unit_test_teardown(test_out_of_memory, restore_allocator),
        cmocka_unit_test(test_many_intervals),
        cmocka_unit_test(test_random_model),
    };

    return cmocka_run_group_tests_name("ranges", tests, NULL, NULL);
}
