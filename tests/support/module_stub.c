/* SPDX-License-Identifier: MIT */
/* What src/module.c gives the DLL's objects, for a test program that compiles some of src/
 * itself (test_copy_error, unit_enum_files): the module handle is the test program's own
 * (test_copy_error links the same generated message table as openbits.dll), and
 * module_lock_count() is the number of objects the test left alive. */
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

/* src/surrogate.c's answer in a test program: never a DLL surrogate. */
BOOL surrogate_active(void)
{
    return FALSE;
}
