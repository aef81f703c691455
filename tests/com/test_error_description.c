/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyManager::GetErrorDescription: BITS codes from openbits.dll's message table,
 * other codes from the system, languages, and out-param hygiene. */
#include "com_test.h"

#define ENGLISH  MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US)
#define JAPANESE MAKELANGID(LANG_JAPANESE, SUBLANG_DEFAULT)
#define POISON   ((WCHAR *)(ULONG_PTR)0xdeadbeef)

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;

/* Every code of bitsmsg.h and of our bits.idl (BITS-SPEC 6.2): each must have a text. */
static const HRESULT bits_codes[] =
{
    BG_E_NOT_FOUND, BG_E_INVALID_STATE, BG_E_EMPTY, BG_E_FILE_NOT_AVAILABLE, BG_E_PROTOCOL_NOT_AVAILABLE,
    BG_S_ERROR_CONTEXT_NONE, BG_E_ERROR_CONTEXT_UNKNOWN, BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
    BG_E_ERROR_CONTEXT_LOCAL_FILE, BG_E_ERROR_CONTEXT_REMOTE_FILE, BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT,
    BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION, BG_E_DESTINATION_LOCKED, BG_E_VOLUME_CHANGED,
    BG_E_ERROR_INFORMATION_UNAVAILABLE, BG_E_NETWORK_DISCONNECTED, BG_E_MISSING_FILE_SIZE,
    BG_E_INSUFFICIENT_HTTP_SUPPORT, BG_E_INSUFFICIENT_RANGE_SUPPORT, BG_E_REMOTE_NOT_SUPPORTED,
    BG_E_NEW_OWNER_DIFF_MAPPING, BG_E_NEW_OWNER_NO_FILE_ACCESS, BG_S_PARTIAL_COMPLETE,
    BG_E_PROXY_LIST_TOO_LARGE, BG_E_PROXY_BYPASS_LIST_TOO_LARGE, BG_S_UNABLE_TO_DELETE_FILES,
    BG_E_INVALID_SERVER_RESPONSE, BG_E_TOO_MANY_FILES, BG_E_LOCAL_FILE_CHANGED,
    BG_E_ERROR_CONTEXT_REMOTE_APPLICATION, BG_E_SESSION_NOT_FOUND, BG_E_TOO_LARGE, BG_E_STRING_TOO_LONG,
    BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, BG_E_SERVER_EXECUTE_ENABLED, BG_E_NO_PROGRESS,
    BG_E_USERNAME_TOO_LARGE, BG_E_PASSWORD_TOO_LARGE, BG_E_INVALID_AUTH_TARGET, BG_E_INVALID_AUTH_SCHEME,
    BG_E_FILE_NOT_FOUND, BG_S_PROXY_CHANGED, BG_E_INVALID_RANGE, BG_E_OVERLAPPING_RANGES,
    BG_E_CONNECT_FAILURE, BG_E_CONNECTION_CLOSED, BG_E_KEEP_ALIVE_FAILURE,
    BG_E_MESSAGE_LENGTH_LIMIT_EXCEEDED, BG_E_NAME_RESOLUTION_FAILURE, BG_E_PENDING, BG_E_PIPELINE_FAILURE,
    BG_E_PROTOCOL_ERROR, BG_E_PROXY_NAME_RESOLUTION_FAILURE, BG_E_RECEIVE_FAILURE, BG_E_REQUEST_CANCELED,
    BG_E_SECURE_CHANNEL_FAILURE, BG_E_SEND_FAILURE, BG_E_SERVER_PROTOCOL_VIOLATION, BG_E_TIMEOUT,
    BG_E_TRUST_FAILURE, BG_E_UNKNOWN_ERROR, BG_E_BLOCKED_BY_POLICY, BG_E_INVALID_PROXY_INFO,
    BG_E_INVALID_CREDENTIALS, BG_E_INVALID_HASH_ALGORITHM, BG_E_RECORD_DELETED, BG_E_COMMIT_IN_PROGRESS,
    BG_E_DISCOVERY_IN_PROGRESS, BG_E_UPNP_ERROR, BG_E_TEST_OPTION_BLOCKED_DOWNLOAD,
    BG_E_PEERCACHING_DISABLED, BG_E_BUSYCACHERECORD, BG_E_TOO_MANY_JOBS_PER_USER,
    BG_E_TOO_MANY_JOBS_PER_MACHINE, BG_E_TOO_MANY_FILES_IN_JOB, BG_E_TOO_MANY_RANGES_IN_FILE,
    BG_E_VALIDATION_FAILED, BG_E_MAXDOWNLOAD_TIMEOUT, BG_S_OVERRIDDEN_BY_POLICY, BG_E_TOKEN_REQUIRED,
    BG_E_UNKNOWN_PROPERTY_ID, BG_E_READ_ONLY_PROPERTY, BG_E_BLOCKED_BY_COST_TRANSFER_POLICY,
    BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
    BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE,
    BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, BG_E_STANDBY_MODE, BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED,
    BG_E_BLOCKED_BY_BATTERY_POLICY, BG_E_BLOCKED_BY_BATTERY_SAVER, BG_E_WATCHDOG_TIMEOUT,
    BG_E_APP_PACKAGE_NOT_FOUND, BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED, BG_E_DATABASE_CORRUPT,
    BG_E_RANDOM_ACCESS_NOT_SUPPORTED, BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY, BG_E_BLOCKED_BY_GAME_MODE,
    BG_E_BLOCKED_BY_SYSTEM_POLICY, BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD,
    BG_E_UNSUPPORTED_JOB_CONFIGURATION, BG_E_REMOTE_FILE_CHANGED,
    BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED, BG_E_READ_ONLY_WHEN_JOB_ACTIVE,
    BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK,

    BG_E_HTTP_ERROR_100, BG_E_HTTP_ERROR_101, BG_E_HTTP_ERROR_200, BG_E_HTTP_ERROR_201,
    BG_E_HTTP_ERROR_202, BG_E_HTTP_ERROR_203, BG_E_HTTP_ERROR_204, BG_E_HTTP_ERROR_205,
    BG_E_HTTP_ERROR_206, BG_E_HTTP_ERROR_300, BG_E_HTTP_ERROR_301, BG_E_HTTP_ERROR_302,
    BG_E_HTTP_ERROR_303, BG_E_HTTP_ERROR_304, BG_E_HTTP_ERROR_305, BG_E_HTTP_ERROR_307,
    BG_E_HTTP_ERROR_400, BG_E_HTTP_ERROR_401, BG_E_HTTP_ERROR_402, BG_E_HTTP_ERROR_403,
    BG_E_HTTP_ERROR_404, BG_E_HTTP_ERROR_405, BG_E_HTTP_ERROR_406, BG_E_HTTP_ERROR_407,
    BG_E_HTTP_ERROR_408, BG_E_HTTP_ERROR_409, BG_E_HTTP_ERROR_410, BG_E_HTTP_ERROR_411,
    BG_E_HTTP_ERROR_412, BG_E_HTTP_ERROR_413, BG_E_HTTP_ERROR_414, BG_E_HTTP_ERROR_415,
    BG_E_HTTP_ERROR_416, BG_E_HTTP_ERROR_417, BG_E_HTTP_ERROR_449, BG_E_HTTP_ERROR_500,
    BG_E_HTTP_ERROR_501, BG_E_HTTP_ERROR_502, BG_E_HTTP_ERROR_503, BG_E_HTTP_ERROR_504,
    BG_E_HTTP_ERROR_505,

    BITS_MC_JOB_CANCELLED, BITS_MC_FILE_DELETION_FAILED, BITS_MC_FILE_DELETION_FAILED_MORE,
    BITS_MC_JOB_PROPERTY_CHANGE, BITS_MC_JOB_TAKE_OWNERSHIP, BITS_MC_JOB_SCAVENGED,
    BITS_MC_JOB_NOTIFICATION_FAILURE, BITS_MC_STATE_FILE_CORRUPT, BITS_MC_FAILED_TO_START,
    (HRESULT)0x80194009, (HRESULT)0x8019400a, (HRESULT)0x8019400b,   /* IGD fatal, peer-caching and WSD ports */
};

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static int setup(void **state)
{
    return test_manager_open(&dll, &CLSID_BackgroundCopyManager10_3, &manager);
}

static int teardown(void **state)
{
    return test_manager_close(&dll, &manager);
}

static void assert_trimmed_text(const WCHAR *text)
{
    size_t len;

    assert_non_null(text);
    len = wcslen(text);
    assert_true(len > 0);
    assert_true(text[len - 1] != '\n' && text[len - 1] != '\r' && text[len - 1] != ' ');
}

static WCHAR *description(HRESULT code, DWORD language)
{
    WCHAR *text = POISON;

    assert_hr(S_OK, IBackgroundCopyManager_GetErrorDescription(manager, code, language, &text));
    assert_trimmed_text(text);
    return text;
}

/* The system's own answer for a code, trimmed the way openbits trims it: S_OK and the text,
 * or FormatMessage's error. */
static HRESULT system_text(DWORD code, DWORD language, WCHAR **text)
{
    DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ALLOCATE_BUFFER
                               | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, language, (WCHAR *)text, 0, NULL);

    if (!len) return HRESULT_FROM_WIN32(GetLastError());
    while (len && ((*text)[len - 1] == '\r' || (*text)[len - 1] == '\n' || (*text)[len - 1] == ' '))
        (*text)[--len] = 0;
    return S_OK;
}

/* openbits answers what the system answers. */
static void check_system_code(HRESULT code, DWORD language)
{
    WCHAR *text = POISON, *expected = NULL;
    HRESULT hr = IBackgroundCopyManager_GetErrorDescription(manager, code, language, &text);

    assert_hr(system_text(code, language, &expected), hr);
    if (FAILED(hr))
    {
        assert_null(text);
        return;
    }
    assert_trimmed_text(text);
    if (wcscmp(text, expected)) fail_msg("%#lx: \"%ls\", not \"%ls\"", code, text, expected);
    LocalFree(expected);
    CoTaskMemFree(text);
}

static void test_every_bits_code(void **state)
{
    WCHAR *texts[ARRAYSIZE(bits_codes)];
    size_t i, j;

    for (i = 0; i < ARRAYSIZE(bits_codes); ++i)
    {
        texts[i] = description(bits_codes[i], ENGLISH);
        /* Each code says something of its own. */
        for (j = 0; j < i; ++j)
            if (!wcscmp(texts[i], texts[j]))
                fail_msg("%#lx and %#lx share the text \"%ls\"", bits_codes[i], bits_codes[j], texts[i]);
    }
    for (i = 0; i < ARRAYSIZE(bits_codes); ++i) CoTaskMemFree(texts[i]);
}

static void test_bits_codes(void **state)
{
    static const DWORD same_text[] =
    {
        0,                                                      /* FormatMessage's search order */
        MAKELANGID(LANG_NEUTRAL, SUBLANG_NEUTRAL),
        MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),              /* the user's default */
        MAKELANGID(LANG_NEUTRAL, SUBLANG_SYS_DEFAULT),          /* the system's default */
        MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_UK),           /* another English */
        MAKELANGID(LANG_ENGLISH, SUBLANG_NEUTRAL),
    };
    WCHAR *english, *text;
    size_t i;

    english = description(BG_E_NOT_FOUND, ENGLISH);
    for (i = 0; i < ARRAYSIZE(same_text); ++i)
    {
        text = description(BG_E_NOT_FOUND, same_text[i]);
        if (wcscmp(text, english)) fail_msg("language %#lx: \"%ls\"", same_text[i], text);
        CoTaskMemFree(text);
    }
    CoTaskMemFree(english);

    text = description(BG_E_HTTP_ERROR_404, ENGLISH);
    assert_non_null(wcsstr(text, L"404"));
    CoTaskMemFree(text);

    /* Success codes of BITS have text too. */
    text = description(BG_S_PARTIAL_COMPLETE, ENGLISH);
    CoTaskMemFree(text);
    text = description(BG_S_UNABLE_TO_DELETE_FILES, 0);
    CoTaskMemFree(text);
}

static void test_system_codes(void **state)
{
    /* Codes every system has text for, in English. */
    static const HRESULT known[] =
    {
        HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED), E_INVALIDARG,
        E_FAIL, E_OUTOFMEMORY, S_OK,
    };
    /* Codes whose text depends on the system (Wine 8 has none for E_NOINTERFACE or
     * RPC_E_CHANGED_MODE). */
    static const HRESULT others[] = { E_NOINTERFACE, RPC_E_CHANGED_MODE, CO_E_NOTINITIALIZED };
    WCHAR *text;
    size_t i;

    for (i = 0; i < ARRAYSIZE(known); ++i)
    {
        text = description(known[i], ENGLISH);
        CoTaskMemFree(text);
        check_system_code(known[i], ENGLISH);
        check_system_code(known[i], 0);
    }
    for (i = 0; i < ARRAYSIZE(others); ++i)
    {
        check_system_code(others[i], ENGLISH);
        check_system_code(others[i], 0);
    }
}

static void test_failures(void **state)
{
    WCHAR *text;

    /* A language openbits has no text in. */
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND),
              IBackgroundCopyManager_GetErrorDescription(manager, BG_E_NOT_FOUND, JAPANESE, &text));
    assert_null(text);
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND),
              IBackgroundCopyManager_GetErrorDescription(manager, BG_S_PARTIAL_COMPLETE,
                                                         MAKELANGID(LANG_GERMAN, SUBLANG_GERMAN), &text));
    assert_null(text);

    /* Codes nobody has text for: FormatMessage's ERROR_MR_MID_NOT_FOUND. */
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND),
              IBackgroundCopyManager_GetErrorDescription(manager, (HRESULT)0x8020004a, ENGLISH, &text));
    assert_null(text);
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND),
              IBackgroundCopyManager_GetErrorDescription(manager, BG_E_HTTP_ERROR_404 + 14, ENGLISH, &text));
    assert_null(text);
    text = POISON;
    assert_hr(HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND),
              IBackgroundCopyManager_GetErrorDescription(manager, (HRESULT)0xabad1dea, ENGLISH, &text));
    assert_null(text);

    /* Bad arguments. */
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_GetErrorDescription(manager, BG_E_NOT_FOUND, ENGLISH, NULL));
    text = POISON;
    assert_hr(E_INVALIDARG, IBackgroundCopyManager_GetErrorDescription(manager, BG_E_NOT_FOUND, 0x10409, &text));
    assert_null(text);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_every_bits_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bits_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
    };
    return cmocka_run_group_tests_name("error_description", tests, group_setup, group_teardown);
}
