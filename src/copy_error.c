/* SPDX-License-Identifier: MIT */
/* The error object: IBackgroundCopyError, an immutable snapshot of a job's error (BITS-SPEC
 * 2.11, 3.4), and the error texts IBackgroundCopyManager::GetErrorDescription shares with it.
 * Being immutable, the object needs no lock. */
#include <stdlib.h>

#include "objects.h"

struct copy_error
{
    IBackgroundCopyError IBackgroundCopyError_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler */
    LONG refcount;
    BG_ERROR_CONTEXT context;             /* immutable */
    HRESULT code;                         /* immutable */
    IBackgroundCopyFile *file;            /* counted reference, or NULL; immutable */
    WCHAR *protocol;                      /* owned copy, or NULL; immutable */
};

/* --- error texts ---------------------------------------------------------------------------- */

/* Codes whose text is in our message table (src/messages.mc): facility 0x20 (BG_E_*, BG_S_*)
 * and 0x19 (BG_E_HTTP_ERROR_*, BITS_MC_*). Every other code is the system's. */
static BOOL is_bits_code(HRESULT code)
{
    return HRESULT_FACILITY(code) == FACILITY_BACKGROUNDCOPY || HRESULT_FACILITY(code) == FACILITY_HTTP;
}

/* One FormatMessageW lookup in exactly `language`, copied into a CoTaskMemAlloc'd string
 * without the line break (and any spaces) it ends with. A failure is FormatMessage's error as
 * an HRESULT, with E_OUTOFMEMORY for its allocation failures. */
static HRESULT format_message(DWORD flags, HMODULE module, DWORD id, DWORD language, WCHAR **out)
{
    WCHAR *text = NULL;
    DWORD len, error;
    HRESULT hr;

    len = FormatMessageW(flags | FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS,
                         module, id, language, (WCHAR *)&text, 0, NULL);
    if (!len)
    {
        error = GetLastError();
        if (error == ERROR_NOT_ENOUGH_MEMORY || error == ERROR_OUTOFMEMORY) return E_OUTOFMEMORY;
        return error ? HRESULT_FROM_WIN32(error) : E_FAIL;
    }
    while (len && (text[len - 1] == '\r' || text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = 0;
    hr = return_string(text, out);
    LocalFree(text);
    return hr;
}

/* FormatMessage gives exactly the language asked for, so two fallbacks are ours:
 *  - a LANG_NEUTRAL language (0, SUBLANG_DEFAULT, SUBLANG_SYS_DEFAULT, ...) that finds no text
 *    takes the English text: our table is English only (0x409);
 *  - a sublanguage without text takes its primary language's SUBLANG_DEFAULT text, so en-GB
 *    finds en-US (and a future fr-CA would find fr-FR).
 * Language 0 itself is FormatMessage's search order: neutral, the thread's UI language, the
 * user's and the system's default, then US English. */
static HRESULT lookup_message(DWORD flags, HMODULE module, DWORD id, DWORD language, WCHAR **out)
{
    HRESULT hr = format_message(flags, module, id, language, out);
    DWORD fallback;

    if (hr != HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND)) return hr;
    if (PRIMARYLANGID(language) == LANG_NEUTRAL)
        fallback = MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US);
    else
        fallback = MAKELANGID(PRIMARYLANGID(language), SUBLANG_DEFAULT);
    if (fallback == language) return hr;
    return format_message(flags, module, id, fallback, out);
}

/* BG_E_* and BG_S_* (facilities 0x20 and 0x19) come from the DLL's message table; every other
 * code from the system's, where a FACILITY_WIN32 HRESULT missing from the table is retried as
 * its Win32 code. A language without text gives HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND);
 * a code without text gives HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND), FormatMessage's own
 * error, passed on unchanged. A language above 0xffff is not a LANGID: E_INVALIDARG. */
HRESULT error_description(HRESULT code, DWORD language, WCHAR **out)
{
    HRESULT hr;

    if (!out) return E_INVALIDARG;
    *out = NULL;
    if (language > 0xffff) return E_INVALIDARG;

    if (is_bits_code(code))
        return lookup_message(FORMAT_MESSAGE_FROM_HMODULE, module_instance, code, language, out);

    hr = lookup_message(FORMAT_MESSAGE_FROM_SYSTEM, NULL, code, language, out);
    if (hr == HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND) && HRESULT_FACILITY(code) == FACILITY_WIN32)
        hr = lookup_message(FORMAT_MESSAGE_FROM_SYSTEM, NULL, HRESULT_CODE(code), language, out);
    return hr;
}

/* Each context's text is the message of its BG_E_ERROR_CONTEXT_* id (BITS-SPEC 6.1). */
HRESULT error_context_description(BG_ERROR_CONTEXT context, DWORD language, WCHAR **out)
{
    static const HRESULT context_messages[] =
    {
        [BG_ERROR_CONTEXT_NONE]                        = BG_S_ERROR_CONTEXT_NONE,
        [BG_ERROR_CONTEXT_UNKNOWN]                     = BG_E_ERROR_CONTEXT_UNKNOWN,
        [BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER]       = BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
        [BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION]  = BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION,
        [BG_ERROR_CONTEXT_LOCAL_FILE]                  = BG_E_ERROR_CONTEXT_LOCAL_FILE,
        [BG_ERROR_CONTEXT_REMOTE_FILE]                 = BG_E_ERROR_CONTEXT_REMOTE_FILE,
        [BG_ERROR_CONTEXT_GENERAL_TRANSPORT]           = BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT,
        [BG_ERROR_CONTEXT_REMOTE_APPLICATION]          = BG_E_ERROR_CONTEXT_REMOTE_APPLICATION,
        [BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK] = BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK,
    };

    if (!out) return E_INVALIDARG;
    *out = NULL;
    if ((unsigned int)context >= ARRAY_SIZE(context_messages)) return E_INVALIDARG;
    return error_description(context_messages[context], language, out);
}

/* --- the object ------------------------------------------------------------------------------ */

static inline struct copy_error *impl_from_IBackgroundCopyError(IBackgroundCopyError *iface)
{
    return CONTAINING_RECORD(iface, struct copy_error, IBackgroundCopyError_iface);
}

static const struct qi_entry copy_error_qi[] =
{
    QI_ENTRY(IID_IBackgroundCopyError, struct copy_error, IBackgroundCopyError_iface),
    QI_END
};

/* Accepts a half-built object: every field is NULL/0 until set (calloc). */
static void copy_error_destroy(struct copy_error *error)
{
    if (error->marshal) IUnknown_Release(error->marshal);
    if (error->file) IBackgroundCopyFile_Release(error->file);
    free(error->protocol);
    free(error);
    module_unlock();
}

static HRESULT WINAPI copy_error_QueryInterface(IBackgroundCopyError *iface, REFIID riid, void **out)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %s, %p.\n", iface, debugstr_guid(riid), out);
    return qi_lookup(error, copy_error_qi, &error->marshal, riid, out);
}

static ULONG WINAPI copy_error_AddRef(IBackgroundCopyError *iface)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);
    ULONG refcount = InterlockedIncrement(&error->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    return refcount;
}

static ULONG WINAPI copy_error_Release(IBackgroundCopyError *iface)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);
    ULONG refcount = InterlockedDecrement(&error->refcount);

    TRACE("%p, refcount %lu.\n", iface, refcount);
    if (!refcount) copy_error_destroy(error);
    return refcount;
}

/* Both out-params are required; neither is written when one is NULL. */
static HRESULT WINAPI copy_error_GetError(IBackgroundCopyError *iface, BG_ERROR_CONTEXT *context, HRESULT *code)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %p, %p.\n", iface, context, code);
    if (!context || !code) return E_INVALIDARG;
    *context = error->context;
    *code = error->code;
    return S_OK;
}

static HRESULT WINAPI copy_error_GetFile(IBackgroundCopyError *iface, IBackgroundCopyFile **file)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %p.\n", iface, file);
    if (!file) return E_INVALIDARG;
    *file = NULL;
    if (!error->file) return BG_E_FILE_NOT_AVAILABLE;
    IBackgroundCopyFile_AddRef(error->file);
    *file = error->file;
    return S_OK;
}

/* LanguageId 0 is E_INVALIDARG here, as documented for this interface (BITS-SPEC 2.11); the
 * manager's GetErrorDescription accepts 0. */
static HRESULT WINAPI copy_error_GetErrorDescription(IBackgroundCopyError *iface, DWORD language,
                                                     LPWSTR *description)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %#lx, %p.\n", iface, language, description);
    if (!description) return E_INVALIDARG;
    *description = NULL;
    if (!language) return E_INVALIDARG;
    return error_description(error->code, language, description);
}

static HRESULT WINAPI copy_error_GetErrorContextDescription(IBackgroundCopyError *iface, DWORD language,
                                                            LPWSTR *description)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %#lx, %p.\n", iface, language, description);
    if (!description) return E_INVALIDARG;
    *description = NULL;
    if (!language) return E_INVALIDARG;
    return error_context_description(error->context, language, description);
}

static HRESULT WINAPI copy_error_GetProtocol(IBackgroundCopyError *iface, LPWSTR *protocol)
{
    struct copy_error *error = impl_from_IBackgroundCopyError(iface);

    TRACE("%p, %p.\n", iface, protocol);
    if (!protocol) return E_INVALIDARG;
    *protocol = NULL;
    if (!error->protocol) return BG_E_PROTOCOL_NOT_AVAILABLE;
    return return_string(error->protocol, protocol);
}

static const IBackgroundCopyErrorVtbl copy_error_vtbl =
{
    copy_error_QueryInterface,
    copy_error_AddRef,
    copy_error_Release,
    copy_error_GetError,
    copy_error_GetFile,
    copy_error_GetErrorDescription,
    copy_error_GetErrorContextDescription,
    copy_error_GetProtocol,
};

HRESULT copy_error_create(BG_ERROR_CONTEXT context, HRESULT code, IBackgroundCopyFile *file,
                          const WCHAR *protocol, IBackgroundCopyError **out)
{
    struct copy_error *error;
    HRESULT hr;

    *out = NULL;
    if (!(error = calloc(1, sizeof(*error)))) return E_OUTOFMEMORY;
    module_lock();
    error->IBackgroundCopyError_iface.lpVtbl = &copy_error_vtbl;
    error->refcount = 1;
    error->context = context;
    error->code = code;

    if (protocol && !(error->protocol = _wcsdup(protocol)))
    {
        hr = E_OUTOFMEMORY;
        goto fail;
    }
    if (FAILED(hr = CoCreateFreeThreadedMarshaler((IUnknown *)&error->IBackgroundCopyError_iface,
                                                  &error->marshal)))
        goto fail;
    if (file)                                     /* counted references last */
    {
        IBackgroundCopyFile_AddRef(file);
        error->file = file;
    }

    TRACE("context %d, code %#lx, file %p, protocol %s: %p.\n", context, code, file, debugstr_w(protocol),
          &error->IBackgroundCopyError_iface);
    *out = &error->IBackgroundCopyError_iface;
    return S_OK;

fail:
    copy_error_destroy(error);
    return hr;
}
