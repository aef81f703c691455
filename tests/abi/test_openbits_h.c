/* SPDX-License-Identifier: MIT */
/* include/openbits.h, what clients compile against, agrees with idl/openbits_control.idl (the
 * header widl generates, which openbits.dll implements): every vtable slot, every field of the
 * two structures, every constant, and the IID. */
#include "com_test.h"
#include "openbits_h.h"

static void test_tables_agree(void **state)
{
    const struct openbits_h_table *a = &openbits_h_generated, *b = &openbits_h_published;
    size_t i;

    for (i = 0; i < ARRAYSIZE(a->slots); ++i) assert_int_equal(a->slots[i], b->slots[i]);
    assert_int_equal(a->vtbl_size, b->vtbl_size);
    assert_int_equal(a->vtbl_size, 18 * sizeof(void *));
    for (i = 0; i < ARRAYSIZE(a->rule_fields); ++i) assert_int_equal(a->rule_fields[i], b->rule_fields[i]);
    assert_int_equal(a->rule_size, b->rule_size);
    for (i = 0; i < ARRAYSIZE(a->request_fields); ++i) assert_int_equal(a->request_fields[i], b->request_fields[i]);
    assert_int_equal(a->request_size, b->request_size);
    for (i = 0; i < ARRAYSIZE(a->constants); ++i) assert_int_equal(a->constants[i], b->constants[i]);
    assert_int_equal(a->enum_size, b->enum_size);
    assert_memory_equal(a->iid, b->iid, sizeof(GUID));
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_tables_agree),
    };
    return cmocka_run_group_tests_name("openbits.h", tests, NULL, NULL);
}
