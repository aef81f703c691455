/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyError (src/copy_error.c): every method, NULL out-params, refcounts, the
 * free-threaded marshaler and the texts from the message table.
 *
 * No DLL export hands out an error object yet, so this program compiles src/copy_error.c
 * itself and calls copy_error_create (see tests/tests-windows.cmake): module_instance is this
 * program, which links the same generated message table as openbits.dll, and
 * module_lock_count() counts our live objects. The file the error refers to is a fake written
 * here. */
#include "com_test.h"
#include "objects.h"

/* --- a fake IBackgroundCopyFile ---------------------------------------------------------------- */

struct fake_file
{
    IBackgroundCopyFile IBackgroundCopyFile_iface;
    LONG refcount;
};

static inline struct fake_file *impl_from_IBackgroundCopyFile(IBackgroundCopyFile *iface)
{
    return CONTAINING_RECORD(iface, struct fake_file, IBackgroundCopyFile_iface);
}

static HRESULT WINAPI fake_file_QueryInterface(IBackgroundCopyFile *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyFile))
    {
        IBackgroundCopyFile_AddRef(iface);
        *out = iface;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI fake_file_AddRef(IBackgroundCopyFile *iface)
{
    return InterlockedIncrement(&impl_from_IBackgroundCopyFile(iface)->refcount);
}

static ULONG WINAPI fake_file_Release(IBackgroundCopyFile *iface)
{
    return InterlockedDecrement(&impl_from_IBackgroundCopyFile(iface)->refcount);
}

static HRESULT WINAPI fake_file_GetRemoteName(IBackgroundCopyFile *iface, LPWSTR *name)
{
    *name = NULL;
    return E_NOTIMPL;            /* the error object never calls its file */
}

static HRESULT WINAPI fake_file_GetLocalName(IBackgroundCopyFile *iface, LPWSTR *name)
{
    *name = NULL;
    return E_NOTIMPL;
}

static HRESULT WINAPI fake_file_GetProgress(IBackgroundCopyFile *iface, BG_FILE_PROGRESS *progress)
{
    return E_NOTIMPL;
}

static const IBackgroundCopyFileVtbl fake_file_vtbl =
{
    fake_file_QueryInterface,
    fake_file_AddRef,
    fake_file_Release,
    fake_file_GetRemoteName,
    fake_file_GetLocalName,
    fake_file_GetProgress,
};

static struct fake_file file;

/* --- fixtures ----------------------------------------------------------------------------------- */

#define ENGLISH  MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US)
#define JAPANESE MAKELANGID(LANG_JAPANESE, SUBLANG_DEFAULT)
#define POISON   ((void *)(ULONG_PTR)0xdeadbeef)

static int group_setup(void **state)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    return 0;
}

static int group_teardown(void **state)
{
    CoUninitialize();
    return 0;
}

static int setup(void **state)
{
    file.IBackgroundCopyFile_iface.lpVtbl = &fake_file_vtbl;
    file.refcount = 1;                    /* the test's own reference */
    return 0;
}

/* Every test ends with no error object alive and the file's references given back. */
static int teardown(void **state)
{
    assert_int_equal(module_lock_count(), 0);
    assert_int_equal(file.refcount, 1);
    return 0;
}

static IBackgroundCopyError *create(BG_ERROR_CONTEXT context, HRESULT code, BOOL with_file, const WCHAR *protocol)
{
    IBackgroundCopyError *error = POISON;

    assert_hr(S_OK, copy_error_create(context, code, with_file ? &file.IBackgroundCopyFile_iface : NULL,
                                      protocol, &error));
    assert_non_null(error);
    assert_ptr_not_equal(error, POISON);
    return error;
}

static void assert_trimmed_text(const WCHAR *text)
{
    size_t len;

    assert_non_null(text);
    len = wcslen(text);
    assert_true(len > 0);
    assert_true(text[len - 1] != '\n' && text[len - 1] != '\r' && text[len - 1] != ' ');
}

/* --- tests -------------------------------------------------------------------------------------- */

static void test_lifetime_and_interfaces(void **state)
{
    IBackgroundCopyError *error = create(BG_ERROR_CONTEXT_LOCAL_FILE, E_ACCESSDENIED, TRUE, NULL);
    IUnknown *unk;

    assert_refcount(error, 1);
    assert_int_equal(module_lock_count(), 1);
    assert_int_equal(file.refcount, 2);   /* the error holds the file */

    check_interface(error, IID_IUnknown, TRUE);
    check_interface(error, IID_IBackgroundCopyError, TRUE);
    check_interface(error, IID_IMarshal, TRUE);
    check_interface(error, IID_IBackgroundCopyFile, FALSE);
    check_interface(error, IID_IBackgroundCopyJob, FALSE);
    check_interface(error, IID_IBackgroundCopyManager, FALSE);
    check_interface(error, IID_IClassFactory, FALSE);

    assert_hr(S_OK, IBackgroundCopyError_QueryInterface(error, &IID_IUnknown, (void **)&unk));
    assert_ptr_equal(unk, error);         /* IUnknown is the identity interface */
    assert_refcount(error, 2);
    IUnknown_Release(unk);

    unk = POISON;
    assert_hr(E_POINTER, IBackgroundCopyError_QueryInterface(error, &IID_IUnknown, NULL));
    assert_hr(E_NOINTERFACE, IBackgroundCopyError_QueryInterface(error, &IID_IBackgroundCopyJob, (void **)&unk));
    assert_null(unk);

    assert_int_equal(IBackgroundCopyError_AddRef(error), 2);
    assert_int_equal(IBackgroundCopyError_Release(error), 1);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);
    assert_int_equal(file.refcount, 1);
    assert_int_equal(module_lock_count(), 0);
}

static void test_get_error(void **state)
{
    static const struct { BG_ERROR_CONTEXT context; HRESULT code; } errors[] =
    {
        { BG_ERROR_CONTEXT_NONE, S_OK },
        { BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_404 },
        { BG_ERROR_CONTEXT_GENERAL_TRANSPORT, (HRESULT)0x80072ee7 },
        { BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, E_FAIL },
    };
    size_t i;

    for (i = 0; i < ARRAYSIZE(errors); ++i)
    {
        IBackgroundCopyError *error = create(errors[i].context, errors[i].code, FALSE, NULL);
        BG_ERROR_CONTEXT context = (BG_ERROR_CONTEXT)-1;
        HRESULT code = 0x12345678;

        assert_hr(S_OK, IBackgroundCopyError_GetError(error, &context, &code));
        assert_int_equal(context, errors[i].context);
        assert_hr(errors[i].code, code);

        /* Either out-param NULL: E_INVALIDARG, and the other is left alone. */
        context = (BG_ERROR_CONTEXT)-1;
        code = 0x12345678;
        assert_hr(E_INVALIDARG, IBackgroundCopyError_GetError(error, NULL, &code));
        assert_hr(0x12345678, code);
        assert_hr(E_INVALIDARG, IBackgroundCopyError_GetError(error, &context, NULL));
        assert_int_equal(context, (BG_ERROR_CONTEXT)-1);
        assert_hr(E_INVALIDARG, IBackgroundCopyError_GetError(error, NULL, NULL));

        assert_int_equal(IBackgroundCopyError_Release(error), 0);
    }
}

static void test_get_file(void **state)
{
    IBackgroundCopyError *error = create(BG_ERROR_CONTEXT_LOCAL_FILE, E_ACCESSDENIED, TRUE, NULL);
    IBackgroundCopyFile *got = POISON;

    assert_hr(S_OK, IBackgroundCopyError_GetFile(error, &got));
    assert_ptr_equal(got, &file.IBackgroundCopyFile_iface);
    assert_int_equal(file.refcount, 3);   /* ours, the error's and the one just handed out */
    IBackgroundCopyFile_Release(got);
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetFile(error, NULL));
    assert_int_equal(file.refcount, 2);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);

    /* An error tied to no file. */
    error = create(BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_NETWORK_DISCONNECTED, FALSE, L"http");
    got = POISON;
    assert_hr(BG_E_FILE_NOT_AVAILABLE, IBackgroundCopyError_GetFile(error, &got));
    assert_null(got);
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetFile(error, NULL));
    assert_int_equal(IBackgroundCopyError_Release(error), 0);
}

static void test_get_protocol(void **state)
{
    WCHAR protocol[] = L"http";
    IBackgroundCopyError *error = create(BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_500, TRUE, protocol);
    WCHAR *got = POISON, *again;

    /* The constructor keeps a copy of the string. */
    protocol[0] = 'X';
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &got));
    assert_true(!wcscmp(got, L"http"));
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &again));
    assert_ptr_not_equal(got, again);     /* a fresh CoTaskMem copy on every call */
    got[0] = 'Y';
    assert_true(!wcscmp(again, L"http"));
    CoTaskMemFree(got);
    CoTaskMemFree(again);
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetProtocol(error, NULL));
    assert_int_equal(IBackgroundCopyError_Release(error), 0);

    error = create(BG_ERROR_CONTEXT_LOCAL_FILE, BG_E_DESTINATION_LOCKED, TRUE, L"file");
    assert_hr(S_OK, IBackgroundCopyError_GetProtocol(error, &got));
    assert_true(!wcscmp(got, L"file"));
    CoTaskMemFree(got);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);

    /* Not a transport error. */
    error = create(BG_ERROR_CONTEXT_LOCAL_FILE, E_ACCESSDENIED, TRUE, NULL);
    got = POISON;
    assert_hr(BG_E_PROTOCOL_NOT_AVAILABLE, IBackgroundCopyError_GetProtocol(error, &got));
    assert_null(got);
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetProtocol(error, NULL));
    assert_int_equal(IBackgroundCopyError_Release(error), 0);
}

static void test_get_error_description(void **state)
{
    IBackgroundCopyError *error = create(BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_404, TRUE, L"http");
    WCHAR *text = POISON, *other;

    assert_hr(S_OK, IBackgroundCopyError_GetErrorDescription(error, ENGLISH, &text));
    assert_trimmed_text(text);
    assert_non_null(wcsstr(text, L"404"));

    /* Any English and the neutral user/system defaults find the same English text. */
    assert_hr(S_OK, IBackgroundCopyError_GetErrorDescription(error, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_UK), &other));
    assert_true(!wcscmp(text, other));
    CoTaskMemFree(other);
    assert_hr(S_OK, IBackgroundCopyError_GetErrorDescription(error, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), &other));
    assert_true(!wcscmp(text, other));
    CoTaskMemFree(other);
    assert_hr(S_OK, IBackgroundCopyError_GetErrorDescription(error, MAKELANGID(LANG_NEUTRAL, SUBLANG_SYS_DEFAULT), &other));
    assert_true(!wcscmp(text, other));
    CoTaskMemFree(other);
    CoTaskMemFree(text);

    /* LanguageId 0 is documented as E_INVALIDARG for this interface. */
    text = POISON;
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetErrorDescription(error, 0, &text));
    assert_null(text);
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND),
              IBackgroundCopyError_GetErrorDescription(error, JAPANESE, &text));
    assert_null(text);
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetErrorDescription(error, ENGLISH, NULL));
    assert_int_equal(IBackgroundCopyError_Release(error), 0);

    /* A code that is not BITS's: the system's text. */
    error = create(BG_ERROR_CONTEXT_LOCAL_FILE, E_ACCESSDENIED, FALSE, NULL);
    assert_hr(S_OK, IBackgroundCopyError_GetErrorDescription(error, ENGLISH, &text));
    assert_trimmed_text(text);
    CoTaskMemFree(text);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);

    /* A BITS code without text. */
    error = create(BG_ERROR_CONTEXT_UNKNOWN, (HRESULT)0x8020004a, FALSE, NULL);
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND), IBackgroundCopyError_GetErrorDescription(error, ENGLISH, &text));
    assert_null(text);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);
}

static void test_get_error_context_description(void **state)
{
    enum { CONTEXTS = BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK + 1 };
    WCHAR *texts[CONTEXTS], *text;
    IBackgroundCopyError *error;
    unsigned int i, j;

    /* Every context has a text of its own. */
    for (i = 0; i < CONTEXTS; ++i)
    {
        error = create((BG_ERROR_CONTEXT)i, E_FAIL, FALSE, NULL);
        texts[i] = POISON;
        assert_hr(S_OK, IBackgroundCopyError_GetErrorContextDescription(error, ENGLISH, &texts[i]));
        assert_trimmed_text(texts[i]);
        for (j = 0; j < i; ++j) assert_true(wcscmp(texts[i], texts[j]) != 0);

        text = POISON;
        assert_hr(E_INVALIDARG, IBackgroundCopyError_GetErrorContextDescription(error, 0, &text));
        assert_null(text);
        text = POISON;
        assert_hr(HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND),
                  IBackgroundCopyError_GetErrorContextDescription(error, JAPANESE, &text));
        assert_null(text);
        assert_hr(E_INVALIDARG, IBackgroundCopyError_GetErrorContextDescription(error, ENGLISH, NULL));
        assert_int_equal(IBackgroundCopyError_Release(error), 0);
    }

    /* The context texts are the BG_E_ERROR_CONTEXT_* messages. */
    assert_hr(S_OK, error_description(BG_E_ERROR_CONTEXT_LOCAL_FILE, ENGLISH, &text));
    assert_true(!wcscmp(text, texts[BG_ERROR_CONTEXT_LOCAL_FILE]));
    CoTaskMemFree(text);
    assert_hr(S_OK, error_description(BG_S_ERROR_CONTEXT_NONE, ENGLISH, &text));
    assert_true(!wcscmp(text, texts[BG_ERROR_CONTEXT_NONE]));
    CoTaskMemFree(text);
    for (i = 0; i < CONTEXTS; ++i) CoTaskMemFree(texts[i]);

    /* A context outside the enumeration has no text. */
    error = create((BG_ERROR_CONTEXT)CONTEXTS, E_FAIL, FALSE, NULL);
    text = POISON;
    assert_hr(E_INVALIDARG, IBackgroundCopyError_GetErrorContextDescription(error, ENGLISH, &text));
    assert_null(text);
    assert_int_equal(IBackgroundCopyError_Release(error), 0);
    assert_hr(E_INVALIDARG, error_context_description((BG_ERROR_CONTEXT)-1, ENGLISH, &text));
    assert_hr(E_INVALIDARG, error_context_description(BG_ERROR_CONTEXT_NONE, ENGLISH, NULL));
}

static void test_error_description(void **state)
{
    WCHAR *text = POISON;

    assert_hr(E_INVALIDARG, error_description(BG_E_NOT_FOUND, ENGLISH, NULL));
    assert_hr(E_INVALIDARG, error_description(BG_E_NOT_FOUND, 0x10409, &text));   /* not a LANGID */
    assert_null(text);

    /* Success codes of BITS have text too. */
    assert_hr(S_OK, error_description(BG_S_PARTIAL_COMPLETE, ENGLISH, &text));
    assert_trimmed_text(text);
    CoTaskMemFree(text);
    assert_hr(S_OK, error_description(BG_S_UNABLE_TO_DELETE_FILES, 0, &text));
    assert_trimmed_text(text);
    CoTaskMemFree(text);
}

/* The error object is apartment-neutral: an STA thread unmarshals the very same pointer and
 * calls it directly. */
struct sta_call
{
    IStream *stream;                      /* in: the marshaled error, released by the thread */
    IBackgroundCopyError *unmarshaled;    /* out: the pointer the STA got (compared only) */
    BG_ERROR_CONTEXT context;             /* out: what GetError answered there */
    HRESULT code;
    HRESULT hr;
};

static DWORD WINAPI sta_thread(void *arg)
{
    struct sta_call *call = arg;
    IBackgroundCopyError *error;

    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    call->hr = CoGetInterfaceAndReleaseStream(call->stream, &IID_IBackgroundCopyError, (void **)&error);
    if (SUCCEEDED(call->hr))
    {
        call->unmarshaled = error;
        call->hr = IBackgroundCopyError_GetError(error, &call->context, &call->code);
        IBackgroundCopyError_Release(error);
    }
    CoUninitialize();
    return 0;
}

static void test_free_threaded_marshaler(void **state)
{
    IBackgroundCopyError *error = create(BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_HTTP_ERROR_403, FALSE, L"http");
    struct sta_call call = { 0 };
    IMarshal *marshal;
    HANDLE thread;
    IUnknown *unk;
    CLSID clsid, expected;

    /* IMarshal is the system's free-threaded marshaler: it names the same unmarshal class as a
     * marshaler of our own (MinGW's uuid library and Wine disagree on CLSID_InProcFreeMarshaler's
     * value, so the test doesn't use the constant). */
    assert_hr(S_OK, CoCreateFreeThreadedMarshaler(NULL, &unk));
    assert_hr(S_OK, IUnknown_QueryInterface(unk, &IID_IMarshal, (void **)&marshal));
    assert_hr(S_OK, IMarshal_GetUnmarshalClass(marshal, &IID_IUnknown, unk, MSHCTX_INPROC, NULL,
                                               MSHLFLAGS_NORMAL, &expected));
    IMarshal_Release(marshal);
    IUnknown_Release(unk);
    assert_hr(S_OK, IBackgroundCopyError_QueryInterface(error, &IID_IMarshal, (void **)&marshal));
    assert_hr(S_OK, IMarshal_GetUnmarshalClass(marshal, &IID_IBackgroundCopyError, error, MSHCTX_INPROC, NULL,
                                               MSHLFLAGS_NORMAL, &clsid));
    assert_true(IsEqualCLSID(&clsid, &expected));
    /* The marshaler is aggregated: its IUnknown is ours. */
    assert_hr(S_OK, IMarshal_QueryInterface(marshal, &IID_IUnknown, (void **)&unk));
    assert_ptr_equal(unk, error);
    IUnknown_Release(unk);
    IMarshal_Release(marshal);
    assert_refcount(error, 1);

    /* From this MTA to an STA: the STA gets the object itself, not a proxy. */
    assert_hr(S_OK, CoMarshalInterThreadInterfaceInStream(&IID_IBackgroundCopyError, (IUnknown *)error,
                                                          &call.stream));
    thread = CreateThread(NULL, 0, sta_thread, &call, 0, NULL);
    assert_non_null(thread);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    CloseHandle(thread);
    assert_hr(S_OK, call.hr);
    assert_ptr_equal(call.unmarshaled, error);
    assert_int_equal(call.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    assert_hr(BG_E_HTTP_ERROR_403, call.code);
    assert_refcount(error, 1);

    assert_int_equal(IBackgroundCopyError_Release(error), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_lifetime_and_interfaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_error_description, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_error_context_description, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_description, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_threaded_marshaler, setup, teardown),
    };
    return cmocka_run_group_tests_name("copy_error", tests, group_setup, group_teardown);
}
