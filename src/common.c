/* SPDX-License-Identifier: MIT */
#include "common.h"

HRESULT qi_lookup(void *object, const struct qi_entry *table, IUnknown **ftm, REFIID riid, void **out)
{
    const struct qi_entry *entry;
    IUnknown *unk = NULL;

    if (!out) return E_POINTER;
    *out = NULL;
    if (!riid) return E_INVALIDARG;

    if (IsEqualIID(riid, &IID_IUnknown))
        unk = (IUnknown *)((char *)object + table[0].offset);
    for (entry = table; !unk && entry->iid; ++entry)
        if (IsEqualIID(riid, entry->iid))
            unk = (IUnknown *)((char *)object + entry->offset);

    if (unk)
    {
        IUnknown_AddRef(unk);
        *out = unk;
        return S_OK;
    }
    if (ftm && IsEqualIID(riid, &IID_IMarshal))
    {
        if (!*ftm)
        {
            /* Created on first use: most objects are never marshaled, and a marshaler per
             * job and per file would double their memory. */
            IUnknown *outer = (IUnknown *)((char *)object + table[0].offset), *created;
            HRESULT hr;

            if (FAILED(hr = CoCreateFreeThreadedMarshaler(outer, &created))) return hr;
            if (InterlockedCompareExchangePointer((void **)ftm, created, NULL))
                IUnknown_Release(created);          /* another thread was first */
        }
        return IUnknown_QueryInterface(*ftm, riid, out);
    }
    TRACE("%p: no interface %s.\n", object, debugstr_guid(riid));
    return E_NOINTERFACE;
}

HRESULT return_string(const WCHAR *src, WCHAR **out)
{
    size_t size;

    if (!out) return E_POINTER;
    *out = NULL;
    if (!src) return S_FALSE;
    size = (wcslen(src) + 1) * sizeof(WCHAR);
    if (!(*out = CoTaskMemAlloc(size))) return E_OUTOFMEMORY;
    memcpy(*out, src, size);
    return S_OK;
}

HRESULT hresult_from_last_error(void)
{
    DWORD error = GetLastError();
    return error ? HRESULT_FROM_WIN32(error) : E_FAIL;
}
