/* SPDX-License-Identifier: MIT */
/* module.c's live-object count for tests that build COM shells from src/ straight into the test
 * program instead of loading openbits.dll: module_lock_count() is then the number of objects the
 * test left alive. */
#include "common.h"

HINSTANCE module_instance;
static LONG module_refs;

void module_lock(void)
{
    InterlockedIncrement(&module_refs);
}

void module_unlock(void)
{
    InterlockedDecrement(&module_refs);
}

LONG module_lock_count(void)
{
    return InterlockedCompareExchange(&module_refs, 0, 0);
}
