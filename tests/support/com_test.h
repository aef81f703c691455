/* SPDX-License-Identifier: MIT */
/* Helpers for the COM tests under Wine: HRESULT assertions in hex, refcount and interface
 * checks, and access to the openbits.dll under test (loaded from the directory of the test
 * program, so no registration is involved). */
#ifndef OPENBITS_COM_TEST_H
#define OPENBITS_COM_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <wchar.h>

#include "bits.h"

/* cmocka prints both values in hex on failure. */
#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

/* The refcount as AddRef/Release report it (Wine's EXPECT_REF trick). */
static inline ULONG refcount_of(void *iface)
{
    IUnknown *unk = iface;
    IUnknown_AddRef(unk);
    return IUnknown_Release(unk);
}
#define assert_refcount(iface, n) assert_int_equal(refcount_of(iface), (n))

/* QueryInterface answers iid exactly when `supported`, and the answer is released again. */
static inline void check_interface_(IUnknown *unk, const IID *iid, BOOL supported, const char *file, int line)
{
    IUnknown *out = (IUnknown *)(ULONG_PTR)0xdeadbeef;
    HRESULT hr = IUnknown_QueryInterface(unk, iid, (void **)&out);

    if (supported)
    {
        _assert_int_equal(hr, S_OK, file, line);
        _assert_true(out != NULL && out != (IUnknown *)(ULONG_PTR)0xdeadbeef, "out", file, line);
        IUnknown_Release(out);
    }
    else
    {
        _assert_int_equal((uint32_t)hr, (uint32_t)E_NOINTERFACE, file, line);
        _assert_true(out == NULL, "out == NULL", file, line);
    }
}
#define check_interface(iface, iid, supported) \
    check_interface_((IUnknown *)(iface), &(iid), (supported), __FILE__, __LINE__)

/* --- the DLL under test ------------------------------------------------------------------- */

struct openbits_dll
{
    HMODULE module;
    HRESULT (WINAPI *DllGetClassObject)(REFCLSID, REFIID, void **);
    HRESULT (WINAPI *DllCanUnloadNow)(void);
    HRESULT (WINAPI *DllRegisterServer)(void);
    HRESULT (WINAPI *DllUnregisterServer)(void);
    HRESULT (WINAPI *DllInstall)(BOOL, const WCHAR *);
};

/* Loads openbits.dll from the test program's directory; fails the test if it can't. */
void openbits_dll_load(struct openbits_dll *dll);
void openbits_dll_unload(struct openbits_dll *dll);
/* Creates an object through DllGetClassObject + IClassFactory::CreateInstance. */
HRESULT openbits_create(struct openbits_dll *dll, const CLSID *clsid, const IID *iid, void **out);
/* Full path of a file next to the test program. */
void test_file_path(const WCHAR *name, WCHAR *path, size_t size);

/* --- fixtures ------------------------------------------------------------------------------ */

/* The group fixture most COM tests share: COM in the multithreaded apartment, then the DLL
 * loaded; com_group_teardown unloads the DLL, then leaves COM. Both return 0 for cmocka. */
int com_group_setup(struct openbits_dll *dll);
int com_group_teardown(struct openbits_dll *dll);
/* A directory of the test's own, <program directory>\<name>, into dir (it may exist already). */
void test_dir_create(const WCHAR *name, WCHAR *dir, size_t size);

/* The per-test fixture: a new manager (or 1.x QMgr) of class `clsid` into *out; closing it
 * asserts that Release returns 0, sets *out to NULL and asserts that no object is left alive.
 * They return 0 for cmocka; failures are reported at the caller's line. */
#define test_manager_open(dll, clsid, out) test_manager_open_((dll), (clsid), (out), __FILE__, __LINE__)
#define test_manager_close(dll, out) test_manager_close_((dll), (out), __FILE__, __LINE__)
#define test_qmgr_open(dll, out) test_qmgr_open_((dll), (out), __FILE__, __LINE__)
#define test_qmgr_close(dll, out) test_qmgr_close_((dll), (out), __FILE__, __LINE__)
int test_manager_open_(struct openbits_dll *dll, const CLSID *clsid, IBackgroundCopyManager **out,
                       const char *file, int line);
int test_manager_close_(struct openbits_dll *dll, IBackgroundCopyManager **out, const char *file, int line);
int test_qmgr_open_(struct openbits_dll *dll, IBackgroundCopyQMgr **out, const char *file, int line);
int test_qmgr_close_(struct openbits_dll *dll, IBackgroundCopyQMgr **out, const char *file, int line);

/* --- jobs ----------------------------------------------------------------------------------- */

/* A new job of `manager` as IBackgroundCopyJob5, with the one reference CreateJob gave. */
IBackgroundCopyJob5 *test_create_job(IBackgroundCopyManager *manager, const WCHAR *name, BG_JOB_TYPE type);
/* The job's state (any job interface); GetState must succeed. */
BG_JOB_STATE test_job_state(void *job);
/* Cancels a job that is not in a final state and releases it: that must be its last reference. */
void test_drop_job(void *job);

/* --- BITS 1.x groups ----------------------------------------------------------------------- */

/* A new group of `qmgr` with a fresh GUID (returned in *id when id is not NULL), with the one
 * reference CreateGroup gave. */
IBackgroundCopyGroup *test_create_group(IBackgroundCopyQMgr *qmgr, GUID *id);
/* Cancels a group (unless it is cancelled already) and releases it: that must be its last
 * reference. */
void test_drop_group(IBackgroundCopyGroup *group);

/* Every test ends with no live object: DllCanUnloadNow reports S_OK only then. */
#define assert_no_live_objects(dll) assert_hr(S_OK, (dll)->DllCanUnloadNow())

#endif
