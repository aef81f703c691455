/* SPDX-License-Identifier: MIT */
/* The test double (docs/test-double.md): virtual time at the engine's clock seam, the scripted
 * transport in front of the real ones, the journal, and the waits that make tests deterministic.
 * It exists only when enabled (HKLM\Software\openbits\TestDouble, Enabled = 1), read when the
 * service is created; then service->test_double is set for the service's life.
 * IOpenBitsTestControl (test_control.c) is its COM face. */
#ifndef OPENBITS_TEST_DOUBLE_H
#define OPENBITS_TEST_DOUBLE_H

#include "service.h"
#include "core/scenario.h"
#include "core/script.h"

#define TEST_DOUBLE_KEY L"Software\\openbits\\TestDouble"

/* What the registry says, read (with the scenario file it names) before any lock is taken. */
struct test_double_settings
{
    BOOL enabled;
    struct test_double_scenario *scenario;    /* the scenario file's rules and settings, or NULL */
};

/* Reads the registry; reads and checks the scenario file when `with_scenario` (a bad one is
 * reported in the trace and left out). No lock held. */
void test_double_read_settings(struct test_double_settings *settings, BOOL with_scenario);
void test_double_settings_free(struct test_double_settings *settings);

/* Called by engine_host_init when enabled (the global service lock is held, no I/O): puts the
 * double's clock and transports in front of the real ones, and takes the settings' scenario. */
HRESULT test_double_create(struct service *service, struct test_double_settings *settings);
void test_double_destroy(struct service *service);

/* Requires: service lock. Something the double's waiters may wait for changed (a worker went to
 * sleep, a chunk was committed, an event delivered). No-op without a double. */
void test_double_changed_locked(struct service *service);
/* Requires: service lock. How long a worker with nothing to do sleeps: `wait` (engine ms) in real
 * time, INFINITE in virtual time (only AdvanceTime moves the clock, and it wakes the workers). */
DWORD test_double_worker_wait_locked(struct service *service, DWORD wait);

/* DllInstall's "testdouble[=scenario]": writes (install) or deletes the switch. */
HRESULT test_double_install(BOOL install, const WCHAR *scenario);

/* --- for IOpenBitsTestControl (test_control.c); no lock held ------------------------------- */

HRESULT test_double_set_virtual(struct service *service, BOOL virtual_time);
BOOL test_double_is_virtual(struct service *service);
HRESULT test_double_advance(struct service *service, UINT64 ms);
HRESULT test_double_run_until_idle(struct service *service, DWORD timeout);
HRESULT test_double_wait_job(struct service *service, const GUID *id, BG_JOB_STATE state, DWORD timeout,
                             BG_JOB_STATE *reached);
/* Reads content_file (when set) and adds the rule; *id is its id. */
HRESULT test_double_add_rule(struct service *service, const struct script_rule_spec *spec,
                             const WCHAR *content_file, ULONG *id);
HRESULT test_double_remove_rule(struct service *service, ULONG id);
void test_double_clear_rules(struct service *service);
void test_double_set_unmatched(struct service *service, BOOL fail, HRESULT error);
/* Copies entry `index` of the journal (strings CoTaskMemAlloc'd); S_FALSE past the end. */
HRESULT test_double_journal_count(struct service *service, DWORD *count);
HRESULT test_double_journal_entry(struct service *service, DWORD index, struct script_request *copy);
void test_double_clear_journal(struct service *service);
HRESULT test_double_load_scenario(struct service *service, const WCHAR *path);
HRESULT test_double_reset(struct service *service);

#endif
