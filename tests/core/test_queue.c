/* SPDX-License-Identifier: MIT */
/* The GUID-keyed job queue (src/core/queue.c). Runs natively under ASan/UBSan and under Wine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/queue.h"

struct item
{
    struct queue_entry entry;
    int value;
};

/* Deterministic GUIDs: random-looking (xorshift) or sequential, as QMGR callers choose them. */
static GUID make_guid(uint64_t n, BOOL sequential)
{
    GUID guid;
    uint64_t a = n, b = n ^ 0x5bd1e995u;

    if (!sequential)
    {
        a = n * 0x9e3779b97f4a7c15ull + 1;
        a ^= a << 13; a ^= a >> 7; a ^= a << 17;
        b = a * 0xff51afd7ed558ccdull;
    }
    else b = 0;
    memcpy(&guid, &a, 8);
    memcpy((char *)&guid + 8, &b, 8);
    return guid;
}

static void test_empty_queue(void **state)
{
    struct queue queue;
    struct item item;
    GUID id = make_guid(1, FALSE);

    memset(&item, 0, sizeof(item));
    queue_init(&queue);
    assert_int_equal(queue_count(&queue), 0);
    assert_null(queue_find(&queue, &id));
    item.entry.id = id;
    assert_false(queue_remove(&queue, &item.entry));
    queue_destroy(&queue);
}

static void test_insert_find_remove(void **state)
{
    struct item a, b, dup;
    struct queue queue;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&dup, 0, sizeof(dup));
    queue_init(&queue);
    a.entry.id = make_guid(1, FALSE);
    b.entry.id = make_guid(2, FALSE);
    dup.entry.id = a.entry.id;

    assert_int_equal(queue_insert(&queue, &a.entry), S_OK);
    assert_int_equal(queue_insert(&queue, &b.entry), S_OK);
    assert_int_equal(queue_count(&queue), 2);
    assert_ptr_equal(queue_find(&queue, &a.entry.id), &a.entry);
    assert_ptr_equal(queue_find(&queue, &b.entry.id), &b.entry);

    /* A second entry with a queued id is refused and the queue is unchanged. */
    assert_int_equal((uint32_t)queue_insert(&queue, &dup.entry),
                     (uint32_t)HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    assert_int_equal(queue_count(&queue), 2);
    assert_ptr_equal(queue_find(&queue, &a.entry.id), &a.entry);
    assert_false(queue_remove(&queue, &dup.entry));

    assert_true(queue_remove(&queue, &a.entry));
    assert_null(queue_find(&queue, &a.entry.id));
    assert_false(queue_remove(&queue, &a.entry));
    assert_int_equal(queue_count(&queue), 1);
    assert_ptr_equal(queue_find(&queue, &b.entry.id), &b.entry);

    /* Removed entries can come back. */
    assert_int_equal(queue_insert(&queue, &a.entry), S_OK);
    assert_ptr_equal(queue_find(&queue, &a.entry.id), &a.entry);
    queue_destroy(&queue);
}

static void many(BOOL sequential)
{
    const size_t count = 100000;
    struct item *items = calloc(count, sizeof(*items));
    struct queue queue;
    size_t i;

    assert_non_null(items);
    queue_init(&queue);
    for (i = 0; i < count; ++i)
    {
        items[i].entry.id = make_guid(i, sequential);
        items[i].value = (int)i;
        assert_int_equal(queue_insert(&queue, &items[i].entry), S_OK);
    }
    assert_int_equal(queue_count(&queue), count);
    for (i = 0; i < count; ++i)
    {
        struct queue_entry *entry = queue_find(&queue, &items[i].entry.id);
        assert_ptr_equal(entry, &items[i].entry);
        assert_int_equal(((struct item *)entry)->value, (int)i);
    }
    /* The table grows by rehashing; the chains stay short (load factor <= 1). */
    assert_true(queue.bucket_count >= count);
    for (i = 0; i < count; i += 2) assert_true(queue_remove(&queue, &items[i].entry));
    assert_int_equal(queue_count(&queue), count / 2);
    for (i = 0; i < count; ++i)
    {
        if (i % 2) assert_ptr_equal(queue_find(&queue, &items[i].entry.id), &items[i].entry);
        else assert_null(queue_find(&queue, &items[i].entry.id));
    }
    queue_destroy(&queue);
    free(items);
}

static void test_many_random_ids(void **state)
{
    many(FALSE);
}

static void test_many_sequential_ids(void **state)
{
    many(TRUE);
}

struct visit
{
    unsigned int seen;
    unsigned int stop_after;
    long long sum;
};

static BOOL visit_entry(struct queue_entry *entry, void *context)
{
    struct visit *visit = context;

    visit->sum += ((struct item *)entry)->value;
    return ++visit->seen != visit->stop_after;
}

static void test_for_each(void **state)
{
    struct item items[50];
    struct visit visit = {0};
    struct queue queue;
    int i;

    memset(items, 0, sizeof(items));
    queue_init(&queue);
    queue_for_each(&queue, visit_entry, &visit);
    assert_int_equal(visit.seen, 0);

    for (i = 0; i < 50; ++i)
    {
        items[i].entry.id = make_guid(i + 7, FALSE);
        items[i].value = i + 1;
        assert_int_equal(queue_insert(&queue, &items[i].entry), S_OK);
    }
    queue_for_each(&queue, visit_entry, &visit);
    assert_int_equal(visit.seen, 50);
    assert_int_equal(visit.sum, 50 * 51 / 2);

    memset(&visit, 0, sizeof(visit));
    visit.stop_after = 10;
    queue_for_each(&queue, visit_entry, &visit);
    assert_int_equal(visit.seen, 10);
    queue_destroy(&queue);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_empty_queue),
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_many_random_ids),
        cmocka_unit_test(test_many_sequential_ids),
        cmocka_unit_test(test_for_each),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
