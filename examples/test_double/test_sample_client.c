/* SPDX-License-Identifier: MIT */
/* Testing the sample client (sample_client.c) with openbits as its BITS, in C with cmocka: the
 * worked example of docs/test-double.md. No network, no sleeping: the test double's rules answer
 * the client's requests, virtual time makes the retry delay pass, and WaitForJobState replaces
 * polling. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <wchar.h>

#include "sample_client.h"
#include "openbits.h"

#define WAIT_MS 30000
/* HRESULTs compared as the 32-bit values they are (cmocka prints them in hex). */
#define assert_hr(expected, actual) assert_int_equal((uint32_t)(expected), (uint32_t)(actual))

static HMODULE openbits;
static IBackgroundCopyManager *manager;
static IOpenBitsTestControl *control;
static WCHAR dir[MAX_PATH];

/* openbits.dll next to this program, with the test double switched on. A program using the
 * registered openbits (regsvr32 openbits.dll, then regsvr32 /n /i:testdouble openbits.dll) calls
 * CoCreateInstance(&CLSID_BackgroundCopyManager, ...) instead. */
static HRESULT create_manager(IBackgroundCopyManager **out)
{
    HRESULT (WINAPI *install)(BOOL, const WCHAR *);
    HRESULT (WINAPI *get_class)(REFCLSID, REFIID, void **);
    IClassFactory *factory;
    WCHAR path[MAX_PATH], *slash;
    HRESULT hr;

    if (!openbits)
    {
        GetModuleFileNameW(NULL, path, MAX_PATH);
        if ((slash = wcsrchr(path, '\\'))) wcscpy(slash + 1, L"openbits.dll");
        if (!(openbits = LoadLibraryW(path))) return HRESULT_FROM_WIN32(GetLastError());
    }
    install = (void *)GetProcAddress(openbits, "DllInstall");
    get_class = (void *)GetProcAddress(openbits, "DllGetClassObject");
    if (FAILED(hr = install(TRUE, L"testdouble"))) return hr;
    if (FAILED(hr = get_class(&CLSID_BackgroundCopyManager, &IID_IClassFactory, (void **)&factory))) return hr;
    hr = IClassFactory_CreateInstance(factory, NULL, &IID_IBackgroundCopyManager, (void **)out);
    IClassFactory_Release(factory);
    return hr;
}

static int setup(void **state)
{
    if (FAILED(create_manager(&manager))) return -1;
    /* The control interface: only where the test double is enabled. */
    if (FAILED(IBackgroundCopyManager_QueryInterface(manager, &IID_IOpenBitsTestControl, (void **)&control))) return -1;
    return 0;
}

static int teardown(void **state)
{
    /* The next test starts clean: no job, no rule, empty journal, real time. */
    assert_hr(S_OK, IOpenBitsTestControl_Reset(control));
    IOpenBitsTestControl_Release(control);
    IBackgroundCopyManager_Release(manager);
    return 0;
}

static void local_file(const WCHAR *name, WCHAR *path)
{
    swprintf(path, MAX_PATH, L"%ls\\%ls", dir, name);
    DeleteFileW(path);
}

static BOOL file_holds(const WCHAR *path, const char *text)
{
    char data[256] = { 0 };
    HANDLE file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    DWORD read = 0;

    if (file == INVALID_HANDLE_VALUE) return FALSE;
    ReadFile(file, data, sizeof(data) - 1, &read, NULL);
    CloseHandle(file);
    return read == strlen(text) && !memcmp(data, text, read);
}

/* A rule that serves text at a URL. */
static void serve(const WCHAR *url, const char *text)
{
    OPENBITS_RULE rule = { 0 };
    DWORD id;

    rule.pattern = (WCHAR *)url;
    rule.action = OPENBITS_ACTION_SERVE;
    rule.content = (BYTE *)text;
    rule.content_size = (DWORD)strlen(text);
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &id));
}

/* A rule that answers an HTTP status, `times` times (0: always). */
static void answer_status(const WCHAR *url, DWORD status, DWORD times)
{
    OPENBITS_RULE rule = { 0 };
    DWORD id;

    rule.pattern = (WCHAR *)url;
    rule.action = OPENBITS_ACTION_STATUS;
    rule.status = status;
    rule.times = times;
    assert_hr(S_OK, IOpenBitsTestControl_AddRule(control, &rule, &id));
}

static void wait_for(const GUID *id, BG_JOB_STATE state)
{
    BG_JOB_STATE reached;

    assert_hr(S_OK, IOpenBitsTestControl_WaitForJobState(control, id, state, WAIT_MS, &reached));
}

static void test_download_succeeds(void **state)
{
    WCHAR path[MAX_PATH];
    GUID id;

    serve(L"https://updates.example/app.cfg", "version=2");
    local_file(L"app.cfg", path);
    assert_hr(S_OK, sample_start(manager, L"https://updates.example/app.cfg", path, &id));
    wait_for(&id, BG_JOB_STATE_TRANSFERRED);
    assert_hr(S_OK, sample_finish(manager, &id));
    assert_true(file_holds(path, "version=2"));
}

static void test_503_twice_then_success_after_the_retry_delay(void **state)
{
    WCHAR path[MAX_PATH];
    GUID id;

    assert_hr(S_OK, IOpenBitsTestControl_SetTimeMode(control, OPENBITS_TIME_VIRTUAL));
    answer_status(L"https://updates.example/app.cfg", 503, 2);     /* first match wins, twice */
    serve(L"https://updates.example/app.cfg", "version=3");         /* then this one */
    local_file(L"app.cfg", path);
    assert_hr(S_OK, sample_start(manager, L"https://updates.example/app.cfg", path, &id));

    wait_for(&id, BG_JOB_STATE_TRANSIENT_ERROR);                    /* the first 503 */
    assert_hr(S_FALSE, sample_finish(manager, &id));
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, SAMPLE_CLIENT_RETRY_DELAY * 1000));
    assert_hr(S_FALSE, sample_finish(manager, &id));         /* the second 503 */
    assert_hr(S_OK, IOpenBitsTestControl_AdvanceTime(control, SAMPLE_CLIENT_RETRY_DELAY * 1000));
    assert_hr(S_OK, sample_finish(manager, &id));            /* served */
    assert_true(file_holds(path, "version=3"));
}

static void test_404_reaches_job_error(void **state)
{
    WCHAR path[MAX_PATH];
    GUID id;

    answer_status(L"https://updates.example/gone.cfg", 404, 0);
    local_file(L"gone.cfg", path);
    assert_hr(S_OK, sample_start(manager, L"https://updates.example/gone.cfg", path, &id));
    wait_for(&id, BG_JOB_STATE_ERROR);
    assert_hr(BG_E_HTTP_ERROR_404, sample_finish(manager, &id));
}

static void test_client_sends_its_header(void **state)
{
    OPENBITS_REQUEST request;
    WCHAR path[MAX_PATH];
    DWORD count;
    GUID id;

    serve(L"https://updates.example/app.cfg", "version=4");
    local_file(L"app.cfg", path);
    assert_hr(S_OK, sample_start(manager, L"https://updates.example/app.cfg", path, &id));
    assert_hr(S_OK, IOpenBitsTestControl_RunUntilIdle(control, WAIT_MS));
    assert_hr(S_OK, sample_finish(manager, &id));

    assert_hr(S_OK, IOpenBitsTestControl_GetJournalCount(control, &count));
    assert_int_equal(count, 1);
    assert_hr(S_OK, IOpenBitsTestControl_GetJournalEntry(control, 0, &request));
    assert_true(!wcscmp(request.verb, L"GET"));
    assert_true(!wcscmp(request.url, L"https://updates.example/app.cfg"));
    assert_non_null(wcsstr(request.headers, SAMPLE_CLIENT_HEADER L"\r\n"));
    OpenBitsFreeRequest(&request);
}

int main(void)
{
    static const struct CMUnitTest tests[] =
    {
        cmocka_unit_test_setup_teardown(test_download_succeeds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_twice_then_success_after_the_retry_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404_reaches_job_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_sends_its_header, setup, teardown),
    };
    int failures;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    GetTempPathW(MAX_PATH, dir);
    wcscat(dir, L"sample_client");
    CreateDirectoryW(dir, NULL);
    failures = cmocka_run_group_tests_name("sample client (C)", tests, NULL, NULL);
    CoUninitialize();
    return failures;
}
