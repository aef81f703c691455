/* SPDX-License-Identifier: MIT */
/* The proxy/stub class: rpcrt4's standard PSFactoryBuffer over widl's interpreted (-Oicf)
 * proxies and stubs of idl/bits.idl and idl/openbits_control.idl (build/generated/bits_p.c and
 * openbits_control_p.c, linked into openbits.dll).
 * Registration (register.c) points Interface\{iid}\ProxyStubClsid32 at this class for every
 * interface that has no proxy registered by someone else (under Wine: every interface), so
 * clients in other processes and the DLL surrogate (surrogate.c) marshal them through us. */
#include <rpcproxy.h>
#include <stdlib.h>

#include "proxy.h"

const CLSID CLSID_openbits_ProxyStub =
    { 0x2798fcd1, 0xc871, 0x404c, { 0xb3, 0x10, 0xfc, 0xa6, 0xb0, 0x1d, 0x02, 0xd6 } };

extern const ExtendedProxyFileInfo bits_ProxyFileInfo;               /* bits_p.c */
extern const ExtendedProxyFileInfo openbits_control_ProxyFileInfo;   /* openbits_control_p.c */

static const ProxyFileInfo *const generated_files[] = { &bits_ProxyFileInfo, &openbits_control_ProxyFileInfo };

#define MAX_INTERFACES 64

/* rpcrt4 fills the empty slots of the stubs' IRpcStubBuffer vtables when the factory starts
 * (the asynchronous interface's are all empty in MinGW-w64's rpcproxy.h), and widl makes them
 * const, in read-only memory: the factory works on writable copies. */
static CInterfaceStubVtbl stub_vtbls[MAX_INTERFACES];
static const CInterfaceStubVtbl *stub_lists[ARRAY_SIZE(generated_files)][MAX_INTERFACES + 1];
static ProxyFileInfo file_infos[ARRAY_SIZE(generated_files)];
static const ProxyFileInfo *proxy_files[ARRAY_SIZE(generated_files) + 1];
static CStdPSFactoryBuffer ps_factory;                    /* rpcrt4's, counts its proxies and stubs */

static struct proxy_interface interfaces[MAX_INTERFACES];
static size_t interface_count;
static INIT_ONCE init_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK init_proxy_files(INIT_ONCE *once, void *param, void **context)
{
    size_t f;
    unsigned short i;

    for (f = 0; f < ARRAY_SIZE(generated_files); ++f)
    {
        const ProxyFileInfo *file = generated_files[f];

        memcpy(&file_infos[f], file, sizeof(file_infos[f]));
        for (i = 0; i < file->TableSize && interface_count < MAX_INTERFACES; ++i)
        {
            stub_vtbls[interface_count] = *file->pStubVtblList[i];
            stub_lists[f][i] = &stub_vtbls[interface_count];
            interfaces[interface_count].iid = file->pStubVtblList[i]->header.piid;
            interfaces[interface_count].name = file->pNamesArray[i];
            ++interface_count;
        }
        file_infos[f].pStubVtblList = (const PCInterfaceStubVtblList *)stub_lists[f];
        proxy_files[f] = &file_infos[f];
    }
    return TRUE;
}

const struct proxy_interface *proxy_interfaces(size_t *count)
{
    InitOnceExecuteOnce(&init_once, init_proxy_files, NULL, NULL);
    *count = interface_count;
    return interfaces;
}

/* The stubs' Release (CStdStubBuffer_METHODS in bits_p.c) counts them in our factory, as the
 * DLLDATA_ROUTINES of a proxy DLL's dlldata.c would. */
CSTDSTUBBUFFERRELEASE(&ps_factory)

HRESULT proxy_get_class_object(REFCLSID clsid, REFIID riid, void **out)
{
    InitOnceExecuteOnce(&init_once, init_proxy_files, NULL, NULL);
    return NdrDllGetClassObject(clsid, riid, out, proxy_files, &CLSID_openbits_ProxyStub, &ps_factory);
}

BOOL proxy_can_unload(void)
{
    return NdrDllCanUnloadNow(&ps_factory) == S_OK;
}

/* IBackgroundCopyGroup::SetProp is [local]; InternalSetProp ([call_as(SetProp)]) is what
 * crosses the wire. The proxy side sends the call as it is, the stub side makes it. */
HRESULT CALLBACK IBackgroundCopyGroup_SetProp_Proxy(IBackgroundCopyGroup *iface, GROUPPROP property,
                                                    VARIANT *value)
{
    return IBackgroundCopyGroup_InternalSetProp_Proxy(iface, property, value);
}

HRESULT __RPC_STUB IBackgroundCopyGroup_SetProp_Stub(IBackgroundCopyGroup *iface, GROUPPROP property,
                                                     VARIANT *value)
{
    return IBackgroundCopyGroup_SetProp(iface, property, value);
}

/* IBackgroundCopyFile5's properties: the string of the one arm crosses (idl/bits.idl); for any
 * other identifier no value, as the union has no arm to read it from. */
HRESULT CALLBACK IBackgroundCopyFile5_SetProperty_Proxy(IBackgroundCopyFile5 *iface, BITS_FILE_PROPERTY_ID id,
                                                        BITS_FILE_PROPERTY_VALUE value)
{
    return IBackgroundCopyFile5_RemoteSetProperty_Proxy(iface, id,
            id == BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS ? value.String : NULL);
}

HRESULT __RPC_STUB IBackgroundCopyFile5_SetProperty_Stub(IBackgroundCopyFile5 *iface, BITS_FILE_PROPERTY_ID id,
                                                         const WCHAR *string)
{
    BITS_FILE_PROPERTY_VALUE value;

    value.String = (WCHAR *)string;
    return IBackgroundCopyFile5_SetProperty(iface, id, value);
}

HRESULT CALLBACK IBackgroundCopyFile5_GetProperty_Proxy(IBackgroundCopyFile5 *iface, BITS_FILE_PROPERTY_ID id,
                                                        BITS_FILE_PROPERTY_VALUE *value)
{
    WCHAR *string = NULL;
    HRESULT hr;

    if (!value) return HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER);   /* what the union's proxy says */
    hr = IBackgroundCopyFile5_RemoteGetProperty_Proxy(iface, id, &string);
    if (id == BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS)
        value->String = string;
    else
        CoTaskMemFree(string);
    return hr;
}

HRESULT __RPC_STUB IBackgroundCopyFile5_GetProperty_Stub(IBackgroundCopyFile5 *iface, BITS_FILE_PROPERTY_ID id,
                                                         WCHAR **string)
{
    BITS_FILE_PROPERTY_VALUE value;
    HRESULT hr;

    value.String = NULL;
    hr = IBackgroundCopyFile5_GetProperty(iface, id, &value);
    *string = id == BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS ? value.String : NULL;
    return hr;
}

/* --- enumerators ----------------------------------------------------------------------------
 * Every enumerator's Next is [local]; RemoteNext ([call_as(Next)], idl/bits.idl) carries whether
 * the caller gave an array, pceltFetched as given, and the fetched items: interfaces as one block
 * of marshal data (MSHCTX_LOCAL, as everything our proxies carry), GUIDs as an array. The object
 * answers the arguments as in process, and the slots past the fetched items are NULL, as there. */

/* Stub side: the items' marshal data in a CoTaskMemAlloc'd block; on failure, nothing (the
 * references already marshaled are given back). The items stay the caller's to release. */
static HRESULT marshal_items(REFIID iid, IUnknown **items, ULONG count, DWORD *size, BYTE **data)
{
    LARGE_INTEGER zero = {{0}};
    ULARGE_INTEGER end;
    IStream *stream;
    HGLOBAL memory;
    ULONG i, marshaled = 0;
    HRESULT hr;

    *size = 0;
    *data = NULL;
    if (!count) return S_OK;
    if (FAILED(hr = CreateStreamOnHGlobal(NULL, TRUE, &stream))) return hr;
    while (marshaled < count
           && SUCCEEDED(hr = CoMarshalInterface(stream, iid, items[marshaled], MSHCTX_LOCAL, NULL, MSHLFLAGS_NORMAL)))
        ++marshaled;
    if (SUCCEEDED(hr)) hr = IStream_Seek(stream, zero, STREAM_SEEK_CUR, &end);
    if (SUCCEEDED(hr)) hr = GetHGlobalFromStream(stream, &memory);
    if (SUCCEEDED(hr) && !(*data = CoTaskMemAlloc(end.QuadPart ? end.QuadPart : 1))) hr = E_OUTOFMEMORY;
    if (SUCCEEDED(hr))
    {
        memcpy(*data, GlobalLock(memory), end.QuadPart);
        GlobalUnlock(memory);
        *size = (DWORD)end.QuadPart;
    }
    else
    {
        IStream_Seek(stream, zero, STREAM_SEEK_SET, NULL);
        for (i = 0; i < marshaled; ++i) CoReleaseMarshalData(stream);
    }
    IStream_Release(stream);
    return hr;
}

/* Proxy side: `count` interfaces from the marshal data into items; on failure none (the data of
 * those not unmarshaled is released). */
static HRESULT unmarshal_items(REFIID iid, const BYTE *data, DWORD size, ULONG count, IUnknown **items)
{
    IStream *stream;
    HGLOBAL memory;
    ULONG i, done;
    HRESULT hr = S_OK;

    if (!count) return S_OK;
    if (!(memory = GlobalAlloc(GMEM_MOVEABLE, size ? size : 1))) return E_OUTOFMEMORY;
    memcpy(GlobalLock(memory), data, size);
    GlobalUnlock(memory);
    if (FAILED(hr = CreateStreamOnHGlobal(memory, TRUE, &stream)))
    {
        GlobalFree(memory);
        return hr;
    }
    for (done = 0; done < count && SUCCEEDED(hr); ++done)
        hr = CoUnmarshalInterface(stream, iid, (void **)&items[done]);
    if (FAILED(hr))
    {
        for (i = 0; i + 1 < done; ++i)
        {
            IUnknown_Release(items[i]);
            items[i] = NULL;
        }
        items[done - 1] = NULL;
        for (i = done; i < count; ++i) CoReleaseMarshalData(stream);
    }
    IStream_Release(stream);
    return hr;
}

#define ENUM_NEXT_INTERFACES(type, item)                                                           \
    HRESULT CALLBACK type##_Next_Proxy(type *iface, ULONG celt, item **elements, ULONG *fetched)   \
    {                                                                                              \
        ULONG count = 0, i;                                                                        \
        DWORD size = 0;                                                                            \
        BYTE *data = NULL;                                                                         \
        HRESULT hr, unmarshaled;                                                                   \
                                                                                                   \
        hr = type##_RemoteNext_Proxy(iface, celt, elements != NULL, &count, &size, &data, fetched); \
        if (count && (!elements || count > celt))                                                  \
            unmarshaled = RPC_X_BAD_STUB_DATA;                                                     \
        else                                                                                       \
            unmarshaled = unmarshal_items(&IID_##item, data, size, count, (IUnknown **)elements);   \
        CoTaskMemFree(data);                                                                       \
        if (FAILED(unmarshaled))                                                                   \
        {                                                                                          \
            if (fetched) *fetched = 0;                                                             \
            return unmarshaled;                                                                    \
        }                                                                                          \
        if (elements)                                                                              \
            for (i = count; i < celt; ++i) elements[i] = NULL;                                     \
        return hr;                                                                                 \
    }                                                                                              \
    HRESULT __RPC_STUB type##_Next_Stub(type *iface, ULONG celt, BOOL array, ULONG *count,         \
                                        DWORD *size, BYTE **data, ULONG *fetched)                  \
    {                                                                                              \
        ULONG got = 0, i;                                                                          \
        item **elements = NULL;                                                                    \
        HRESULT hr, marshaled;                                                                     \
                                                                                                   \
        *count = 0;                                                                                \
        *size = 0;                                                                                 \
        *data = NULL;                                                                              \
        if (array && celt && !(elements = calloc(celt, sizeof(*elements)))) return E_OUTOFMEMORY;  \
        hr = type##_Next(iface, celt, array ? elements : NULL, fetched);                           \
        if (SUCCEEDED(hr) && elements)                                                             \
        {                                                                                          \
            while (got < celt && elements[got]) ++got;                                             \
            if (FAILED(marshaled = marshal_items(&IID_##item, (IUnknown **)elements, got, size, data))) \
            {                                                                                      \
                hr = marshaled;                                                                    \
                if (fetched) *fetched = 0;                                                         \
            }                                                                                      \
            else *count = got;                                                                     \
        }                                                                                          \
        if (elements)                                                                              \
            for (i = 0; i < celt; ++i) if (elements[i]) item##_Release(elements[i]);               \
        free(elements);                                                                            \
        return hr;                                                                                 \
    }

ENUM_NEXT_INTERFACES(IEnumBackgroundCopyFiles, IBackgroundCopyFile)
ENUM_NEXT_INTERFACES(IEnumBackgroundCopyJobs, IBackgroundCopyJob)
ENUM_NEXT_INTERFACES(IEnumBitsPeerCacheRecords, IBitsPeerCacheRecord)
ENUM_NEXT_INTERFACES(IEnumBitsPeers, IBitsPeer)

#define ENUM_NEXT_GUIDS(type)                                                                      \
    HRESULT CALLBACK type##_Next_Proxy(type *iface, ULONG celt, GUID *elements, ULONG *fetched)    \
    {                                                                                              \
        ULONG count = 0, i;                                                                        \
        GUID *data = NULL;                                                                         \
        HRESULT hr;                                                                                \
                                                                                                   \
        hr = type##_RemoteNext_Proxy(iface, celt, elements != NULL, &count, &data, fetched);       \
        if (count && (!elements || count > celt))                                                  \
        {                                                                                          \
            CoTaskMemFree(data);                                                                   \
            if (fetched) *fetched = 0;                                                             \
            return RPC_X_BAD_STUB_DATA;                                                            \
        }                                                                                          \
        if (elements)                                                                              \
            for (i = 0; i < celt; ++i) elements[i] = i < count ? data[i] : GUID_NULL;              \
        CoTaskMemFree(data);                                                                       \
        return hr;                                                                                 \
    }                                                                                              \
    HRESULT __RPC_STUB type##_Next_Stub(type *iface, ULONG celt, BOOL array, ULONG *count,         \
                                        GUID **data, ULONG *fetched)                               \
    {                                                                                              \
        GUID *elements = NULL;                                                                     \
        HRESULT hr;                                                                                \
                                                                                                   \
        *count = 0;                                                                                \
        *data = NULL;                                                                              \
        if (array && celt && !(elements = CoTaskMemAlloc(celt * sizeof(*elements))))               \
            return E_OUTOFMEMORY;                                                                  \
        hr = type##_Next(iface, celt, array ? elements : NULL, fetched);                           \
        /* Without pceltFetched (celt 1), S_OK is the one element. */                              \
        if (SUCCEEDED(hr) && elements) *count = fetched ? min(*fetched, celt) : hr == S_OK ? celt : 0; \
        *data = elements;                                                                          \
        return hr;                                                                                 \
    }

ENUM_NEXT_GUIDS(IEnumBackgroundCopyJobs1)
ENUM_NEXT_GUIDS(IEnumBackgroundCopyGroups)
