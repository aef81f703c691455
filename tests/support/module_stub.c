/* SPDX-License-Identifier: MIT */
/* What src/module.c gives the DLL's objects, for a test program that compiles some of src/
 * itself (tests/com/test_copy_error.c): the module handle is the test program's own, which
 * links the same generated message table as openbits.dll, and the live-object count is
 * module_lock_count(). */
#include "common.h"

extern IMAGE_DOS_HEADER __ImageBase;

HINSTANCE module_instance = (HINSTANCE)&__ImageBase;
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
