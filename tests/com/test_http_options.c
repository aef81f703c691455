/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyJobHttpOptions, 2 and 3 (BITS-SPEC.md §2.9) and IBitsTokenOptions (§2.10) on
 * the job object. */
#include "com_test.h"

#define E_NULL_REF HRESULT_FROM_WIN32(RPC_X_NULL_REF_POINTER)
#define E_BAD_STUB HRESULT_FROM_WIN32(RPC_X_BAD_STUB_DATA)

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBackgroundCopyJob *job;
static IBackgroundCopyJobHttpOptions3 *options;

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static IBackgroundCopyJob *new_job(BG_JOB_TYPE type)
{
    IBackgroundCopyJob *created;
    GUID id;

    assert_hr(S_OK, IBackgroundCopyManager_CreateJob(manager, L"http options", type, &id, &created));
    return created;
}

static int setup(void **state)
{
    test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions3, (void **)&options));
    return 0;
}

static int teardown(void **state)
{
    BG_JOB_STATE s;

    IBackgroundCopyJobHttpOptions3_Release(options);
    IBackgroundCopyJob_GetState(job, &s);
    if (s != BG_JOB_STATE_CANCELLED) assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_int_equal(IBackgroundCopyJob_Release(job), 0);
    return test_manager_close(&dll, &manager);
}

static void test_identity(void **state)
{
    IUnknown *from_job, *from_options;
    IBackgroundCopyJobHttpOptions *v1;
    IBitsTokenOptions *token;

    check_interface(options, IID_IBackgroundCopyJobHttpOptions, TRUE);
    check_interface(options, IID_IBackgroundCopyJobHttpOptions2, TRUE);
    check_interface(options, IID_IBackgroundCopyJob5, TRUE);
    check_interface(options, IID_IBitsTokenOptions, TRUE);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IUnknown, (void **)&from_job));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_QueryInterface(options, &IID_IUnknown, (void **)&from_options));
    assert_ptr_equal(from_job, from_options);
    IUnknown_Release(from_job);
    IUnknown_Release(from_options);
    /* The secondary interfaces share the job's one COM count. */
    assert_refcount(job, 2);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&v1));
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBitsTokenOptions, (void **)&token));
    assert_refcount(job, 4);
    IBitsTokenOptions_Release(token);
    IBackgroundCopyJobHttpOptions_Release(v1);
}

static void test_custom_headers(void **state)
{
    WCHAR *headers = (WCHAR *)0xdeadbeef, *big;

    /* None: S_FALSE and NULL (§11a.4). */
    assert_hr(S_FALSE, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, &headers));
    assert_null(headers);
    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, NULL));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, L"X-Test: 1\r\n"));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, &headers));
    assert_true(!wcscmp(headers, L"X-Test: 1\r\n"));
    CoTaskMemFree(headers);

    /* 16,384 characters including the NUL fit; one more doesn't, and changes nothing. */
    big = calloc(16385, sizeof(WCHAR));
    wmemset(big, L'h', 16384);
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, big));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, &headers));
    assert_true(!wcscmp(headers, L"X-Test: 1\r\n"));
    CoTaskMemFree(headers);
    big[16383] = 0;
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, big));
    free(big);

    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, NULL));
    assert_hr(S_FALSE, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, &headers));

    /* Write-only is irreversible. */
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, L"X-Secret: s\r\n"));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_MakeCustomHeadersWriteOnly(options));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_MakeCustomHeadersWriteOnly(options));
    headers = (WCHAR *)0xdeadbeef;
    assert_hr(E_ACCESSDENIED, IBackgroundCopyJobHttpOptions3_GetCustomHeaders(options, &headers));
    assert_null(headers);
}

static void test_security_flags(void **state)
{
    ULONG flags = 1;

    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetSecurityFlags(options, &flags));
    assert_int_equal(flags, 0);
    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_GetSecurityFlags(options, NULL));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetSecurityFlags(options,
              BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_DISALLOW));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetSecurityFlags(options, &flags));
    assert_int_equal(flags, BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_DISALLOW);
    /* Unsupported bits and redirect values are E_NOTIMPL (§11a.1), nothing changes. */
    assert_hr(E_NOTIMPL, IBackgroundCopyJobHttpOptions3_SetSecurityFlags(options, 0x20));
    assert_hr(E_NOTIMPL, IBackgroundCopyJobHttpOptions3_SetSecurityFlags(options, 0x300));
    assert_hr(E_NOTIMPL, IBackgroundCopyJobHttpOptions3_SetSecurityFlags(options, 0x400));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetSecurityFlags(options, &flags));
    assert_int_equal(flags, BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_DISALLOW);
}

static void test_client_certificate(void **state)
{
    BG_CERT_STORE_LOCATION location;
    WCHAR *store = (WCHAR *)0xdeadbeef, *subject = (WCHAR *)0xdeadbeef, name[300];
    BYTE hash[20] = {0}, *hash_out = (BYTE *)0xdeadbeef;

    /* None set: RPC_X_BAD_STUB_DATA (§11a.4), S_FALSE to remove. */
    assert_hr(E_BAD_STUB, IBackgroundCopyJobHttpOptions3_GetClientCertificate(options, &location, &store, &hash_out, &subject));
    assert_null(store);
    assert_null(subject);
    assert_null(hash_out);
    assert_hr(S_FALSE, IBackgroundCopyJobHttpOptions3_RemoveClientCertificate(options));
    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_GetClientCertificate(options, NULL, &store, &hash_out, &subject));

    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, BG_CERT_STORE_LOCATION_CURRENT_USER, NULL, hash));
    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, BG_CERT_STORE_LOCATION_CURRENT_USER, L"MY", NULL));
    assert_hr(E_NOTIMPL, IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, 8, L"MY", hash));
    wmemset(name, L's', 256);
    name[256] = 0;
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, BG_CERT_STORE_LOCATION_CURRENT_USER, name, hash));
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJobHttpOptions3_SetClientCertificateByName(options, BG_CERT_STORE_LOCATION_CURRENT_USER, L"MY", name));
    assert_hr(E_INVALIDARG, IBackgroundCopyJobHttpOptions3_SetClientCertificateByName(options, BG_CERT_STORE_LOCATION_CURRENT_USER, L"MY", L""));
    /* A store that doesn't exist, and a certificate that isn't in an existing store. */
    assert_hr(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
              IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, BG_CERT_STORE_LOCATION_CURRENT_USER, L"openbits-no-such-store", hash));
    assert_hr(CRYPT_E_NOT_FOUND,
              IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options, BG_CERT_STORE_LOCATION_LOCAL_MACHINE, L"ROOT", hash));
    assert_hr(E_BAD_STUB, IBackgroundCopyJobHttpOptions3_GetClientCertificate(options, &location, &store, &hash_out, &subject));
}

static void test_http_method(void **state)
{
    IBackgroundCopyJob *upload = new_job(BG_JOB_TYPE_UPLOAD);
    IBackgroundCopyJobHttpOptions3 *upload_options;
    BG_JOB_PRIORITY priority;
    BITS_JOB_PROPERTY_VALUE value;
    IBackgroundCopyJob5 *job5;
    WCHAR *method;

    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetHttpMethod(options, &method));
    assert_true(!wcscmp(method, L"GET"));
    CoTaskMemFree(method);
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(upload, &IID_IBackgroundCopyJobHttpOptions3, (void **)&upload_options));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetHttpMethod(upload_options, &method));
    assert_true(!wcscmp(method, L"BITS_POST"));
    CoTaskMemFree(method);
    IBackgroundCopyJobHttpOptions3_Release(upload_options);
    assert_hr(S_OK, IBackgroundCopyJob_Cancel(upload));
    IBackgroundCopyJob_Release(upload);

    assert_hr(E_NULL_REF, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, L""));
    assert_hr(E_INVALIDARG, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, L"BAD METHOD"));

    /* A custom method pins FOREGROUND and refuses the on-demand mode (§11a.19). */
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, L"POST"));
    assert_hr(S_OK, IBackgroundCopyJob_GetPriority(job, &priority));
    assert_int_equal(priority, BG_JOB_PRIORITY_FOREGROUND);
    assert_hr(BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, IBackgroundCopyJob_SetPriority(job, BG_JOB_PRIORITY_LOW));
    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob5, (void **)&job5));
    memset(&value, 0, sizeof(value));
    value.Enable = TRUE;
    assert_hr(BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD,
              IBackgroundCopyJob5_SetProperty(job5, BITS_JOB_PROPERTY_ON_DEMAND_MODE, value));
    IBackgroundCopyJob5_Release(job5);
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_GetHttpMethod(options, &method));
    assert_true(!wcscmp(method, L"POST"));
    CoTaskMemFree(method);
    /* The default again makes it a normal job. */
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, L"GET"));
    assert_hr(S_OK, IBackgroundCopyJob_SetPriority(job, BG_JOB_PRIORITY_LOW));
}

struct validator
{
    IBackgroundCopyServerCertificateValidationCallback iface;
    LONG refcount;
};

static HRESULT WINAPI validator_QueryInterface(IBackgroundCopyServerCertificateValidationCallback *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyServerCertificateValidationCallback))
    {
        *out = iface;
        IBackgroundCopyServerCertificateValidationCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI validator_AddRef(IBackgroundCopyServerCertificateValidationCallback *iface)
{
    return InterlockedIncrement(&CONTAINING_RECORD(iface, struct validator, iface)->refcount);
}

static ULONG WINAPI validator_Release(IBackgroundCopyServerCertificateValidationCallback *iface)
{
    return InterlockedDecrement(&CONTAINING_RECORD(iface, struct validator, iface)->refcount);
}

static HRESULT WINAPI validator_ValidateServerCertificate(IBackgroundCopyServerCertificateValidationCallback *iface,
        IBackgroundCopyJob *j, IBackgroundCopyFile *file, DWORD cert_length, const BYTE cert[], DWORD encoding,
        DWORD store_length, const BYTE store[])
{
    return S_OK;
}

static const IBackgroundCopyServerCertificateValidationCallbackVtbl validator_vtbl =
{
    validator_QueryInterface, validator_AddRef, validator_Release, validator_ValidateServerCertificate,
};

static void test_certificate_validation_interface(void **state)
{
    struct validator validator = { { &validator_vtbl }, 1 };
    IBackgroundCopyManager *not_a_validator = manager;

    assert_hr(E_NOINTERFACE, IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(options,
              (IUnknown *)not_a_validator));
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(options,
              (IUnknown *)&validator.iface));
    assert_true(validator.refcount > 1);          /* held (through the GIT) */
    assert_hr(S_OK, IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(options, NULL));
    assert_int_equal(validator.refcount, 1);      /* and let go */

    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_SetServerCertificateValidationInterface(options,
              (IUnknown *)&validator.iface));
    assert_int_equal(validator.refcount, 1);
}

static void test_final_state(void **state)
{
    BYTE hash[20] = {0};

    assert_hr(S_OK, IBackgroundCopyJob_Cancel(job));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_SetCustomHeaders(options, L"A: b\r\n"));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_SetSecurityFlags(options, 0));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_RemoveClientCertificate(options));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_SetClientCertificateByID(options,
              BG_CERT_STORE_LOCATION_CURRENT_USER, L"MY", hash));
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJobHttpOptions3_SetHttpMethod(options, L"POST"));
}

static void test_token_options(void **state)
{
    IBitsTokenOptions *token;
    WCHAR *sid = (WCHAR *)0xdeadbeef;
    BG_TOKEN flags = 7;

    assert_hr(S_OK, IBackgroundCopyJob_QueryInterface(job, &IID_IBitsTokenOptions, (void **)&token));
    assert_hr(S_OK, IBitsTokenOptions_GetHelperTokenFlags(token, &flags));
    assert_int_equal(flags, 0);
    assert_hr(E_INVALIDARG, IBitsTokenOptions_GetHelperTokenFlags(token, NULL));
    assert_hr(E_INVALIDARG, IBitsTokenOptions_SetHelperTokenFlags(token, 4));
    assert_hr(S_OK, IBitsTokenOptions_SetHelperTokenFlags(token, BG_TOKEN_LOCAL_FILE | BG_TOKEN_NETWORK));
    assert_hr(S_OK, IBitsTokenOptions_GetHelperTokenSid(token, &sid));
    assert_null(sid);
    assert_hr(S_OK, IBitsTokenOptions_SetHelperToken(token));
    assert_hr(S_OK, IBitsTokenOptions_GetHelperTokenSid(token, &sid));
    assert_true(!wcsncmp(sid, L"S-1-", 4));
    CoTaskMemFree(sid);
    /* Clearing the token keeps the flags. */
    assert_hr(S_OK, IBitsTokenOptions_ClearHelperToken(token));
    assert_hr(S_OK, IBitsTokenOptions_GetHelperTokenSid(token, &sid));
    assert_null(sid);
    assert_hr(S_OK, IBitsTokenOptions_GetHelperTokenFlags(token, &flags));
    assert_int_equal(flags, BG_TOKEN_LOCAL_FILE | BG_TOKEN_NETWORK);
    IBitsTokenOptions_Release(token);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_security_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_validation_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_options, setup, teardown),
    };
    return cmocka_run_group_tests_name("http_options", tests, group_setup, group_teardown);
}
