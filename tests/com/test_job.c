/* SPDX-License-Identifier: MIT */
/* IBackgroundCopyJob .. Job5 properties (BITS-SPEC.md §2.2–§2.6, §4, §11a): defaults, limits,
 * invalid values, NULL pointers, and every setter in a final state. */
#include "com_test.h"

static struct openbits_dll dll;
static IBackgroundCopyManager *manager;
static IBackgroundCopyJob5 *job;        /* a fresh download job per test */

static int group_setup(void **state)
{
    return com_group_setup(&dll);
}

static int group_teardown(void **state)
{
    return com_group_teardown(&dll);
}

static IBackgroundCopyJob5 *new_job(BG_JOB_TYPE type)
{
    return test_create_job(manager, L"job test", type);
}

static void drop_job(IBackgroundCopyJob5 *j)
{
    test_drop_job(j);
}

static int setup(void **state)
{
    test_manager_open(&dll, &CLSID_BackgroundCopyManager, &manager);
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    return 0;
}

static int teardown(void **state)
{
    drop_job(job);
    return test_manager_close(&dll, &manager);
}

static void assert_wstr(const WCHAR *expected, WCHAR *actual)
{
    assert_non_null(actual);
    if (wcscmp(expected, actual)) fail_msg("got \"%ls\", expected \"%ls\"", actual, expected);
    CoTaskMemFree(actual);
}

static void test_defaults(void **state)
{
    BG_JOB_PROXY_USAGE usage;
    BG_JOB_PRIORITY priority;
    WCHAR *a = (WCHAR *)0xdeadbeef, *b = (WCHAR *)0xdeadbeef;
    IUnknown *callback = (IUnknown *)0xdeadbeef;
    ULONG value;
    BOOL elevated;

    assert_hr(S_OK, IBackgroundCopyJob5_GetPriority(job, &priority));
    assert_int_equal(priority, BG_JOB_PRIORITY_NORMAL);
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyFlags(job, &value));
    assert_int_equal(value, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR);
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyInterface(job, &callback));
    assert_null(callback);
    assert_hr(S_OK, IBackgroundCopyJob5_GetMinimumRetryDelay(job, &value));
    assert_int_equal(value, 600);
    assert_hr(S_OK, IBackgroundCopyJob5_GetNoProgressTimeout(job, &value));
    assert_int_equal(value, 1209600);
    assert_hr(S_OK, IBackgroundCopyJob5_GetMaximumDownloadTime(job, &value));
    assert_int_equal(value, 7776000);
    assert_hr(S_OK, IBackgroundCopyJob5_GetErrorCount(job, &value));
    assert_int_equal(value, 0);
    assert_hr(S_OK, IBackgroundCopyJob5_GetFileACLFlags(job, &value));
    assert_int_equal(value, 0);
    assert_hr(S_OK, IBackgroundCopyJob5_GetPeerCachingFlags(job, &value));
    assert_int_equal(value, 0);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProxySettings(job, &usage, &a, &b));
    assert_int_equal(usage, BG_JOB_PROXY_USAGE_PRECONFIG);
    assert_null(a);
    assert_null(b);
    /* Never set: empty strings, not NULL (§11a.4). */
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyCmdLine(job, &a, &b));
    assert_wstr(L"", a);
    assert_wstr(L"", b);
    assert_hr(S_OK, IBackgroundCopyJob5_GetDescription(job, &a));
    assert_wstr(L"", a);
    assert_hr(S_OK, IBackgroundCopyJob5_GetOwner(job, &a));
    assert_true(!wcsncmp(a, L"S-1-", 4));
    CoTaskMemFree(a);
    assert_hr(S_OK, IBackgroundCopyJob5_GetOwnerIntegrityLevel(job, &value));
    assert_true(value >= 0x1000 && value <= 0x4000);
    assert_hr(S_OK, IBackgroundCopyJob5_GetOwnerElevationState(job, &elevated));
}

static void test_null_out_pointers(void **state)
{
    BG_JOB_PROXY_USAGE usage;
    WCHAR *s;

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetPriority(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetNotifyFlags(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetNotifyInterface(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetMinimumRetryDelay(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetNoProgressTimeout(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetErrorCount(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetOwner(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetDisplayName(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetDescription(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetTimes(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProgress(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetError(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProxySettings(job, NULL, &s, &s));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProxySettings(job, &usage, NULL, &s));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProxySettings(job, &usage, &s, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetNotifyCmdLine(job, NULL, &s));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetNotifyCmdLine(job, &s, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetFileACLFlags(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetPeerCachingFlags(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetOwnerIntegrityLevel(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetOwnerElevationState(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetMaximumDownloadTime(job, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_ID_COST_FLAGS, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetCredentials(job, NULL));
}

static void test_strings_and_limits(void **state)
{
    WCHAR long_str[5000], *out;

    wmemset(long_str, L'd', 1025);
    long_str[1025] = 0;
    /* Display name: 256 characters fit, 257 are too long; nothing changes on failure. */
    long_str[257] = 0;
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJob5_SetDisplayName(job, long_str));
    long_str[257] = L'd';
    long_str[256] = 0;
    assert_hr(S_OK, IBackgroundCopyJob5_SetDisplayName(job, long_str));
    assert_hr(S_OK, IBackgroundCopyJob5_GetDisplayName(job, &out));
    assert_int_equal(wcslen(out), 256);
    CoTaskMemFree(out);
    long_str[256] = L'd';
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetDisplayName(job, NULL));

    /* Description: 1,024 fit, 1,025 don't. */
    long_str[1025] = 0;
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJob5_SetDescription(job, long_str));
    long_str[1024] = 0;
    assert_hr(S_OK, IBackgroundCopyJob5_SetDescription(job, long_str));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetDescription(job, NULL));
    assert_hr(S_OK, IBackgroundCopyJob5_GetDescription(job, &out));
    assert_int_equal(wcslen(out), 1024);
    CoTaskMemFree(out);

    /* Notify command line: program MAX_PATH, parameters 4,000. */
    wmemset(long_str, L'p', 4001);
    long_str[MAX_PATH + 1] = 0;
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJob5_SetNotifyCmdLine(job, long_str, NULL));
    long_str[MAX_PATH + 1] = L'p';
    long_str[4001] = 0;
    assert_hr(BG_E_STRING_TOO_LONG, IBackgroundCopyJob5_SetNotifyCmdLine(job, L"C:\\a.exe", long_str));
    long_str[4000] = 0;
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyCmdLine(job, L"C:\\a.exe", long_str));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetNotifyCmdLine(job, NULL, L"x"));
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyCmdLine(job, NULL, NULL));
}

static void test_enums_and_flags(void **state)
{
    BG_JOB_PRIORITY priority;
    ULONG value;

    /* Invalid enum values are E_NOTIMPL, not E_INVALIDARG (§11a.1). */
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetPriority(job, BG_JOB_PRIORITY_LOW + 1));
    assert_hr(S_OK, IBackgroundCopyJob5_SetPriority(job, BG_JOB_PRIORITY_FOREGROUND));
    assert_hr(S_OK, IBackgroundCopyJob5_GetPriority(job, &priority));
    assert_int_equal(priority, BG_JOB_PRIORITY_FOREGROUND);
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetNotifyFlags(job, 0x40));
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyFlags(job, 0x3f));
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyFlags(job, &value));
    assert_int_equal(value, 0x3f);
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_AUTODETECT + 1, NULL, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetFileACLFlags(job, 0x10));
    assert_hr(S_OK, IBackgroundCopyJob5_SetFileACLFlags(job, BG_COPY_FILE_ALL));
    assert_hr(S_OK, IBackgroundCopyJob5_GetFileACLFlags(job, &value));
    assert_int_equal(value, BG_COPY_FILE_ALL);
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetPeerCachingFlags(job, 0x8));
    assert_hr(S_OK, IBackgroundCopyJob5_SetPeerCachingFlags(job, 7));
}

static void test_retry_delay_and_timeouts(void **state)
{
    ULONG value;

    /* Below 5 s the retry delay is raised to 5 without an error (§11a.5). */
    assert_hr(S_OK, IBackgroundCopyJob5_SetMinimumRetryDelay(job, 0));
    assert_hr(S_OK, IBackgroundCopyJob5_GetMinimumRetryDelay(job, &value));
    assert_int_equal(value, 5);
    assert_hr(S_OK, IBackgroundCopyJob5_SetMinimumRetryDelay(job, 6));
    assert_hr(S_OK, IBackgroundCopyJob5_GetMinimumRetryDelay(job, &value));
    assert_int_equal(value, 6);
    assert_hr(S_OK, IBackgroundCopyJob5_SetNoProgressTimeout(job, 0));
    assert_hr(S_OK, IBackgroundCopyJob5_GetNoProgressTimeout(job, &value));
    assert_int_equal(value, 0);
    assert_hr(S_OK, IBackgroundCopyJob5_SetMaximumDownloadTime(job, 42));
    assert_hr(S_OK, IBackgroundCopyJob5_GetMaximumDownloadTime(job, &value));
    assert_int_equal(value, 42);
}

static void test_proxy_settings(void **state)
{
    BG_JOB_PROXY_USAGE usage;
    WCHAR *list, *bypass, *big;

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE, NULL, NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_NO_PROXY, L"p:80", NULL));
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_PRECONFIG, NULL, L"b"));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE, L"proxy:8080", L"<local>"));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProxySettings(job, &usage, &list, &bypass));
    assert_int_equal(usage, BG_JOB_PROXY_USAGE_OVERRIDE);
    assert_wstr(L"proxy:8080", list);
    assert_wstr(L"<local>", bypass);

    big = calloc(32002, sizeof(WCHAR));
    wmemset(big, L'x', 32001);
    assert_hr(BG_E_PROXY_LIST_TOO_LARGE, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE, big, NULL));
    assert_hr(BG_E_PROXY_BYPASS_LIST_TOO_LARGE,
              IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_OVERRIDE, L"p", big));
    free(big);
    /* Failures changed nothing. */
    assert_hr(S_OK, IBackgroundCopyJob5_GetProxySettings(job, &usage, &list, &bypass));
    assert_wstr(L"proxy:8080", list);
    assert_wstr(L"<local>", bypass);

    assert_hr(S_OK, IBackgroundCopyJob5_SetProxySettings(job, BG_JOB_PROXY_USAGE_NO_PROXY, NULL, NULL));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProxySettings(job, &usage, &list, &bypass));
    assert_int_equal(usage, BG_JOB_PROXY_USAGE_NO_PROXY);
    assert_null(list);
    assert_null(bypass);
}

static void test_credentials(void **state)
{
    BG_AUTH_CREDENTIALS creds;
    WCHAR big[65538];

    memset(&creds, 0, sizeof(creds));
    creds.Target = BG_AUTH_TARGET_SERVER;
    creds.Scheme = BG_AUTH_SCHEME_BASIC;
    creds.Credentials.Basic.UserName = (WCHAR *)L"user";
    creds.Credentials.Basic.Password = (WCHAR *)L"secret";
    assert_hr(S_FALSE, IBackgroundCopyJob5_RemoveCredentials(job, BG_AUTH_TARGET_SERVER, BG_AUTH_SCHEME_BASIC));
    assert_hr(S_OK, IBackgroundCopyJob5_SetCredentials(job, &creds));
    assert_hr(S_OK, IBackgroundCopyJob5_RemoveCredentials(job, BG_AUTH_TARGET_SERVER, BG_AUTH_SCHEME_BASIC));
    assert_hr(S_FALSE, IBackgroundCopyJob5_RemoveCredentials(job, BG_AUTH_TARGET_SERVER, BG_AUTH_SCHEME_BASIC));

    creds.Target = 3;
    assert_hr(BG_E_INVALID_AUTH_TARGET, IBackgroundCopyJob5_SetCredentials(job, &creds));
    creds.Target = BG_AUTH_TARGET_PROXY;
    creds.Scheme = 6;
    assert_hr(BG_E_INVALID_AUTH_SCHEME, IBackgroundCopyJob5_SetCredentials(job, &creds));
    assert_hr(BG_E_INVALID_AUTH_TARGET, IBackgroundCopyJob5_RemoveCredentials(job, 0, BG_AUTH_SCHEME_BASIC));
    assert_hr(BG_E_INVALID_AUTH_SCHEME, IBackgroundCopyJob5_RemoveCredentials(job, BG_AUTH_TARGET_PROXY, 0));

    creds.Scheme = BG_AUTH_SCHEME_DIGEST;
    creds.Credentials.Basic.Password = NULL;
    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_SetCredentials(job, &creds));
    /* NTLM with NULL/NULL means the logged-on user's credentials. */
    creds.Scheme = BG_AUTH_SCHEME_NTLM;
    creds.Credentials.Basic.UserName = NULL;
    assert_hr(S_OK, IBackgroundCopyJob5_SetCredentials(job, &creds));

    wmemset(big, L'u', 301);
    big[301] = 0;
    creds.Credentials.Basic.UserName = big;
    assert_hr(BG_E_USERNAME_TOO_LARGE, IBackgroundCopyJob5_SetCredentials(job, &creds));
    big[300] = 0;
    assert_hr(S_OK, IBackgroundCopyJob5_SetCredentials(job, &creds));
    creds.Credentials.Basic.UserName = (WCHAR *)L"u";
    wmemset(big, L'p', 65537);
    big[65537] = 0;
    creds.Credentials.Basic.Password = big;
    assert_hr(BG_E_PASSWORD_TOO_LARGE, IBackgroundCopyJob5_SetCredentials(job, &creds));
    big[65536] = 0;
    assert_hr(S_OK, IBackgroundCopyJob5_SetCredentials(job, &creds));
}

static void test_job5_properties(void **state)
{
    IBackgroundCopyJob5 *upload = new_job(BG_JOB_TYPE_UPLOAD);
    BITS_JOB_PROPERTY_VALUE value;

    memset(&value, 0, sizeof(value));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, &value));
    assert_int_equal(value.Dword, 500);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_ON_DEMAND_MODE, &value));
    assert_false(value.Enable);

    value.Dword = 0x12;
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_ID_COST_FLAGS, value));
    memset(&value, 0, sizeof(value));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_ID_COST_FLAGS, &value));
    assert_int_equal(value.Dword, 0x12);

    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyJob5_SetProperty(job, 6, value));
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyJob5_SetProperty(job, 8, value));
    assert_hr(BG_E_UNKNOWN_PROPERTY_ID, IBackgroundCopyJob5_GetProperty(job, 11, &value));

    memset(&value, 0, sizeof(value));
    assert_hr(BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, value));
    value.Uint64 = 1000;
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, value));
    assert_hr(BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY,
              IBackgroundCopyJob5_SetProperty(upload, BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, value));

    memset(&value, 0, sizeof(value));
    value.Target = BG_AUTH_TARGET_SERVER;
    assert_hr(BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS, value));
    value.Target = BG_AUTH_TARGET_PROXY;
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS, value));

    memset(&value, 0, sizeof(value));
    value.Enable = TRUE;
    assert_hr(BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY,
              IBackgroundCopyJob5_SetProperty(upload, BITS_JOB_PROPERTY_DYNAMIC_CONTENT, value));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_DYNAMIC_CONTENT, value));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    drop_job(upload);
}

static void test_reply_methods_by_type(void **state)
{
    IBackgroundCopyJob5 *reply = new_job(BG_JOB_TYPE_UPLOAD_REPLY);
    BG_JOB_REPLY_PROGRESS progress;
    WCHAR *name = (WCHAR *)0xdeadbeef;
    UINT64 length = 0;
    byte *data;

    /* Only upload-reply jobs have a reply. */
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_GetReplyProgress(job, &progress));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_GetReplyData(job, &data, &length));
    assert_hr(E_NOTIMPL, IBackgroundCopyJob5_GetReplyFileName(job, &name));

    assert_hr(E_INVALIDARG, IBackgroundCopyJob5_GetReplyProgress(reply, NULL));
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyProgress(reply, &progress));
    assert_true(progress.BytesTotal == BG_SIZE_UNKNOWN);
    assert_int_equal(progress.BytesTransferred, 0);
    assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_GetReplyData(reply, &data, &length));
    assert_hr(S_OK, IBackgroundCopyJob5_GetReplyFileName(reply, &name));
    assert_null(name);
    drop_job(reply);
}

static void test_error_outside_error_states(void **state)
{
    IBackgroundCopyError *error = (IBackgroundCopyError *)0xdeadbeef;

    assert_hr(BG_E_ERROR_INFORMATION_UNAVAILABLE, IBackgroundCopyJob5_GetError(job, &error));
    assert_null(error);
}

static void test_setters_in_final_states(void **state)
{
    static const BG_JOB_STATE finals[] = { BG_JOB_STATE_CANCELLED, BG_JOB_STATE_ACKNOWLEDGED };
    size_t i;

    for (i = 0; i < ARRAYSIZE(finals); ++i)
    {
        IBackgroundCopyJob5 *j = new_job(BG_JOB_TYPE_DOWNLOAD);
        BITS_JOB_PROPERTY_VALUE value;
        BG_AUTH_CREDENTIALS creds;
        BG_JOB_PRIORITY priority;
        WCHAR *name;

        if (finals[i] == BG_JOB_STATE_CANCELLED) assert_hr(S_OK, IBackgroundCopyJob5_Cancel(j));
        else assert_hr(S_OK, IBackgroundCopyJob5_Complete(j));

        memset(&value, 0, sizeof(value));
        memset(&creds, 0, sizeof(creds));
        creds.Target = BG_AUTH_TARGET_SERVER;
        creds.Scheme = BG_AUTH_SCHEME_NTLM;
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetDisplayName(j, L"x"));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetDescription(j, L"x"));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetPriority(j, BG_JOB_PRIORITY_HIGH));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetNotifyFlags(j, 1));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetNotifyInterface(j, NULL));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetMinimumRetryDelay(j, 10));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetNoProgressTimeout(j, 10));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetProxySettings(j, BG_JOB_PROXY_USAGE_NO_PROXY, NULL, NULL));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_TakeOwnership(j));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetNotifyCmdLine(j, NULL, NULL));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetCredentials(j, &creds));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_RemoveCredentials(j, BG_AUTH_TARGET_SERVER, BG_AUTH_SCHEME_NTLM));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetFileACLFlags(j, 0));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetPeerCachingFlags(j, 0));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetMaximumDownloadTime(j, 10));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_SetProperty(j, BITS_JOB_PROPERTY_ID_COST_FLAGS, value));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Suspend(j));
        assert_hr(BG_E_INVALID_STATE, IBackgroundCopyJob5_Resume(j));
        /* Getters still work. */
        assert_hr(S_OK, IBackgroundCopyJob5_GetPriority(j, &priority));
        assert_hr(S_OK, IBackgroundCopyJob5_GetDisplayName(j, &name));
        assert_wstr(L"job test", name);
        drop_job(j);
    }
}

static void test_take_ownership_strips(void **state)
{
    BG_AUTH_CREDENTIALS creds;
    WCHAR *program, *parameters, *owner;

    memset(&creds, 0, sizeof(creds));
    creds.Target = BG_AUTH_TARGET_SERVER;
    creds.Scheme = BG_AUTH_SCHEME_BASIC;
    creds.Credentials.Basic.UserName = (WCHAR *)L"u";
    creds.Credentials.Basic.Password = (WCHAR *)L"p";
    assert_hr(S_OK, IBackgroundCopyJob5_SetCredentials(job, &creds));
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyCmdLine(job, L"C:\\n.exe", L"C:\\n.exe x"));
    assert_hr(S_OK, IBackgroundCopyJob5_TakeOwnership(job));
    assert_hr(S_FALSE, IBackgroundCopyJob5_RemoveCredentials(job, BG_AUTH_TARGET_SERVER, BG_AUTH_SCHEME_BASIC));
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyCmdLine(job, &program, &parameters));
    assert_wstr(L"", program);
    assert_wstr(L"", parameters);
    assert_hr(S_OK, IBackgroundCopyJob5_GetOwner(job, &owner));
    assert_true(!wcsncmp(owner, L"S-1-", 4));
    CoTaskMemFree(owner);
}

static void test_times(void **state)
{
    BG_JOB_TIMES before, after;
    FILETIME now;

    assert_hr(S_OK, IBackgroundCopyJob5_GetTimes(job, &before));
    assert_true(before.CreationTime.dwHighDateTime || before.CreationTime.dwLowDateTime);
    assert_int_equal(CompareFileTime(&before.ModificationTime, &before.CreationTime), 0);
    assert_int_equal(before.TransferCompletionTime.dwHighDateTime, 0);
    assert_int_equal(before.TransferCompletionTime.dwLowDateTime, 0);
    /* A setter stamps the modification time with the time of the change: at least `now`. */
    GetSystemTimeAsFileTime(&now);
    assert_hr(S_OK, IBackgroundCopyJob5_SetDescription(job, L"touched"));
    assert_hr(S_OK, IBackgroundCopyJob5_GetTimes(job, &after));
    assert_true(CompareFileTime(&after.ModificationTime, &now) >= 0);
    assert_int_equal(CompareFileTime(&after.CreationTime, &before.CreationTime), 0);
}

/* The properties fixed once files are added or the job has been resumed (BITS-SPEC.md §2.6). */
static void test_properties_after_add_and_resume(void **state)
{
    BITS_JOB_PROPERTY_VALUE value;
    IBackgroundCopyJobHttpOptions2 *options;
    WCHAR local[MAX_PATH];

    test_file_path(L"test_job_after_resume.bin", local, ARRAYSIZE(local));
    memset(&value, 0, sizeof(value));
    value.Enable = TRUE;
    assert_hr(S_OK, IBackgroundCopyJob5_AddFile(job, L"http://127.0.0.1/after.bin", local));
    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_HIGH_PERFORMANCE, value));
    assert_hr(S_OK, IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_ON_DEMAND_MODE, value));
    assert_hr(S_OK, IBackgroundCopyJob5_Resume(job));

    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_ON_DEMAND_MODE, value));
    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_DYNAMIC_CONTENT, value));
    value.Uint64 = 100;
    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
              IBackgroundCopyJob5_SetProperty(job, BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE, value));
    assert_hr(S_OK, IBackgroundCopyJob5_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions2, (void **)&options));
    assert_hr(BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, IBackgroundCopyJobHttpOptions2_SetHttpMethod(options, L"POST"));
    IBackgroundCopyJobHttpOptions2_Release(options);
    /* Still what they were. */
    memset(&value, 0, sizeof(value));
    assert_hr(S_OK, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_ON_DEMAND_MODE, &value));
    assert_true(value.Enable);
    assert_hr(S_OK, IBackgroundCopyJob5_GetProperty(job, BITS_JOB_PROPERTY_DYNAMIC_CONTENT, &value));
    assert_false(value.Enable);
}

/* --- a client's notification object ---------------------------------------------------------- */

struct callback
{
    IBackgroundCopyCallback IBackgroundCopyCallback_iface;
    LONG refcount;
};

static HRESULT WINAPI callback_QueryInterface(IBackgroundCopyCallback *iface, REFIID riid, void **out)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IBackgroundCopyCallback))
    {
        *out = iface;
        IBackgroundCopyCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG WINAPI callback_AddRef(IBackgroundCopyCallback *iface)
{
    return InterlockedIncrement(&CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback_iface)->refcount);
}

static ULONG WINAPI callback_Release(IBackgroundCopyCallback *iface)
{
    return InterlockedDecrement(&CONTAINING_RECORD(iface, struct callback, IBackgroundCopyCallback_iface)->refcount);
}

static HRESULT WINAPI callback_JobTransferred(IBackgroundCopyCallback *iface, IBackgroundCopyJob *j)
{
    return S_OK;
}

static HRESULT WINAPI callback_JobError(IBackgroundCopyCallback *iface, IBackgroundCopyJob *j, IBackgroundCopyError *e)
{
    return S_OK;
}

static HRESULT WINAPI callback_JobModification(IBackgroundCopyCallback *iface, IBackgroundCopyJob *j, DWORD reserved)
{
    return S_OK;
}

static const IBackgroundCopyCallbackVtbl callback_vtbl =
{
    callback_QueryInterface, callback_AddRef, callback_Release,
    callback_JobTransferred, callback_JobError, callback_JobModification,
};

static void test_notify_interface_object(void **state)
{
    struct callback first = { { &callback_vtbl }, 1 }, second = { { &callback_vtbl }, 1 };
    IUnknown *got;

    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyInterface(job, (IUnknown *)&first.IBackgroundCopyCallback_iface));
    assert_true(first.refcount > 1);             /* held, through the GIT */
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyInterface(job, &got));
    assert_ptr_equal(got, &first.IBackgroundCopyCallback_iface);    /* same apartment: the object itself */
    IUnknown_Release(got);

    /* The last caller wins; the first object is let go. */
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyInterface(job, (IUnknown *)&second.IBackgroundCopyCallback_iface));
    assert_int_equal(first.refcount, 1);
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyInterface(job, &got));
    assert_ptr_equal(got, &second.IBackgroundCopyCallback_iface);
    IUnknown_Release(got);

    /* NULL clears. */
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyInterface(job, NULL));
    assert_int_equal(second.refcount, 1);
    got = (IUnknown *)(ULONG_PTR)0xdeadbeef;
    assert_hr(S_OK, IBackgroundCopyJob5_GetNotifyInterface(job, &got));
    assert_null(got);

    /* A job destroyed with an interface set lets it go too. */
    assert_hr(S_OK, IBackgroundCopyJob5_SetNotifyInterface(job, (IUnknown *)&first.IBackgroundCopyCallback_iface));
    drop_job(job);
    job = new_job(BG_JOB_TYPE_DOWNLOAD);
    assert_int_equal(first.refcount, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_out_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enums_and_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_delay_and_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job5_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_methods_by_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_outside_error_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setters_in_final_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_ownership_strips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_properties_after_add_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_interface_object, setup, teardown),
    };
    return cmocka_run_group_tests_name("job", tests, group_setup, group_teardown);
}
