/* SPDX-License-Identifier: MIT */
/* IOpenBitsTestControl (idl/openbits_control.idl, docs/test-double.md): the test double's COM
 * face, an interface of the manager object answered only when the double is enabled. Argument
 * checks here; the work in test_double.c. */
#include "objects.h"
#include "test_double.h"

static inline struct test_control *impl_from_IOpenBitsTestControl(IOpenBitsTestControl *iface)
{
    return CONTAINING_RECORD(iface, struct test_control, IOpenBitsTestControl_iface);
}

static HRESULT WINAPI control_QueryInterface(IOpenBitsTestControl *iface, REFIID riid, void **out)
{
    return IUnknown_QueryInterface(impl_from_IOpenBitsTestControl(iface)->outer, riid, out);
}

static ULONG WINAPI control_AddRef(IOpenBitsTestControl *iface)
{
    return IUnknown_AddRef(impl_from_IOpenBitsTestControl(iface)->outer);
}

static ULONG WINAPI control_Release(IOpenBitsTestControl *iface)
{
    return IUnknown_Release(impl_from_IOpenBitsTestControl(iface)->outer);
}

static HRESULT WINAPI control_SetTimeMode(IOpenBitsTestControl *iface, OPENBITS_TIME_MODE mode)
{
    struct test_control *control = impl_from_IOpenBitsTestControl(iface);

    TRACE("%p, %d.\n", iface, mode);
    if (mode != OPENBITS_TIME_REAL && mode != OPENBITS_TIME_VIRTUAL) return E_INVALIDARG;
    return test_double_set_virtual(control->service, mode == OPENBITS_TIME_VIRTUAL);
}

static HRESULT WINAPI control_GetTimeMode(IOpenBitsTestControl *iface, OPENBITS_TIME_MODE *mode)
{
    struct test_control *control = impl_from_IOpenBitsTestControl(iface);

    TRACE("%p, %p.\n", iface, mode);
    if (!mode) return E_INVALIDARG;
    *mode = test_double_is_virtual(control->service) ? OPENBITS_TIME_VIRTUAL : OPENBITS_TIME_REAL;
    return S_OK;
}

static HRESULT WINAPI control_GetTime(IOpenBitsTestControl *iface, UINT64 *ms)
{
    struct test_control *control = impl_from_IOpenBitsTestControl(iface);

    TRACE("%p, %p.\n", iface, ms);
    if (!ms) return E_INVALIDARG;
    *ms = service_now(control->service);
    return S_OK;
}

static HRESULT WINAPI control_AdvanceTime(IOpenBitsTestControl *iface, UINT64 ms)
{
    struct test_control *control = impl_from_IOpenBitsTestControl(iface);

    TRACE("%p, %llu.\n", iface, (unsigned long long)ms);
    return test_double_advance(control->service, ms);
}

static HRESULT WINAPI control_AddRule(IOpenBitsTestControl *iface, const OPENBITS_RULE *rule, DWORD *id)
{
    struct test_control *control = impl_from_IOpenBitsTestControl(iface);
    struct script_rule_spec spec;
    ULONG new_id;
    HRESULT hr;

    TRACE("%p, %p, %p.\n", iface, rule, id);
    if (id) *id = 0;
    if (!rule || !id) return E_INVALIDARG;
    memset(&spec, 0, sizeof(spec));
    spec.pattern = rule->pattern;
    spec.match = rule->match;
    spec.times = rule->times;
    spec.action = rule->action;
    spec.flags = rule->flags;
    spec.size = rule->size;
    spec.content = rule->content;
    spec.content_size = rule->content_size;
    spec.headers = rule->headers;
    spec.modified = rule->modified;
    spec.reset_after = rule->reset_after;
    spec.bytes_per_second = rule->bytes_per_second;
    spec.status = rule->status;
    spec.error = rule->error;
    if (FAILED(hr = test_double_add_rule(control->service, &spec, rule->content_file, &new_id))) return hr;
    *id = new_id;
    return S_OK;
}

static HRESULT WINAPI control_RemoveRule(IOpenBitsTestControl *iface, DWORD id)
{
    TRACE("%p, %lu.\n", iface, id);
    return test_double_remove_rule(impl_from_IOpenBitsTestControl(iface)->service, id);
}

static HRESULT WINAPI control_ClearRules(IOpenBitsTestControl *iface)
{
    TRACE("%p.\n", iface);
    test_double_clear_rules(impl_from_IOpenBitsTestControl(iface)->service);
    return S_OK;
}

static HRESULT WINAPI control_SetUnmatched(IOpenBitsTestControl *iface, OPENBITS_UNMATCHED policy, HRESULT error)
{
    TRACE("%p, %d, %#lx.\n", iface, policy, error);
    if (policy != OPENBITS_UNMATCHED_PASS && policy != OPENBITS_UNMATCHED_FAIL) return E_INVALIDARG;
    if (policy == OPENBITS_UNMATCHED_FAIL && !FAILED(error)) return E_INVALIDARG;
    test_double_set_unmatched(impl_from_IOpenBitsTestControl(iface)->service, policy == OPENBITS_UNMATCHED_FAIL,
                              policy == OPENBITS_UNMATCHED_FAIL ? error : SCRIPT_E_CONNECT);
    return S_OK;
}

static HRESULT WINAPI control_RunUntilIdle(IOpenBitsTestControl *iface, DWORD timeout)
{
    TRACE("%p, %lu.\n", iface, timeout);
    return test_double_run_until_idle(impl_from_IOpenBitsTestControl(iface)->service, timeout);
}

static HRESULT WINAPI control_WaitForJobState(IOpenBitsTestControl *iface, REFGUID id, BG_JOB_STATE state,
                                              DWORD timeout, BG_JOB_STATE *reached)
{
    TRACE("%p, %s, %d, %lu, %p.\n", iface, debugstr_guid(id), state, timeout, reached);
    if (!id || !reached || (unsigned int)state > BG_JOB_STATE_ACKNOWLEDGED) return E_INVALIDARG;
    return test_double_wait_job(impl_from_IOpenBitsTestControl(iface)->service, id, state, timeout, reached);
}

static HRESULT WINAPI control_GetJournalCount(IOpenBitsTestControl *iface, DWORD *count)
{
    TRACE("%p, %p.\n", iface, count);
    if (!count) return E_INVALIDARG;
    return test_double_journal_count(impl_from_IOpenBitsTestControl(iface)->service, count);
}

static HRESULT WINAPI control_GetJournalEntry(IOpenBitsTestControl *iface, DWORD index, OPENBITS_REQUEST *entry)
{
    struct script_request copy;
    HRESULT hr;

    TRACE("%p, %lu, %p.\n", iface, index, entry);
    if (!entry) return E_INVALIDARG;
    memset(entry, 0, sizeof(*entry));
    hr = test_double_journal_entry(impl_from_IOpenBitsTestControl(iface)->service, index, &copy);
    if (hr == S_FALSE) return E_INVALIDARG;           /* past the end */
    if (FAILED(hr)) return hr;
    entry->verb = copy.verb;
    entry->url = copy.url;
    entry->headers = copy.headers;
    entry->offset = copy.offset;
    entry->length = copy.length;
    entry->rule = copy.rule;
    entry->result = copy.result;
    entry->bytes = copy.bytes;
    return S_OK;
}

static HRESULT WINAPI control_ClearJournal(IOpenBitsTestControl *iface)
{
    TRACE("%p.\n", iface);
    test_double_clear_journal(impl_from_IOpenBitsTestControl(iface)->service);
    return S_OK;
}

static HRESULT WINAPI control_LoadScenario(IOpenBitsTestControl *iface, LPCWSTR path)
{
    TRACE("%p, %s.\n", iface, debugstr_w(path));
    if (!path || !path[0]) return E_INVALIDARG;
    return test_double_load_scenario(impl_from_IOpenBitsTestControl(iface)->service, path);
}

static HRESULT WINAPI control_Reset(IOpenBitsTestControl *iface)
{
    TRACE("%p.\n", iface);
    return test_double_reset(impl_from_IOpenBitsTestControl(iface)->service);
}

static const IOpenBitsTestControlVtbl control_vtbl =
{
    control_QueryInterface,
    control_AddRef,
    control_Release,
    control_SetTimeMode,
    control_GetTimeMode,
    control_GetTime,
    control_AdvanceTime,
    control_AddRule,
    control_RemoveRule,
    control_ClearRules,
    control_SetUnmatched,
    control_RunUntilIdle,
    control_WaitForJobState,
    control_GetJournalCount,
    control_GetJournalEntry,
    control_ClearJournal,
    control_LoadScenario,
    control_Reset,
};

void test_control_init(struct test_control *control, IUnknown *outer, struct service *service)
{
    control->IOpenBitsTestControl_iface.lpVtbl = &control_vtbl;
    control->outer = outer;
    control->service = service;
}
