/* SPDX-License-Identifier: MIT */
/* Out-of-process use through the DLL surrogate, in a Wine prefix of its own (build/oop-prefix,
 * stopped with wineserver -k by the test's fixture), after regsvr32:
 *  - a client process creates a job with CLSCTX_LOCAL_SERVER and exits; a second one (another
 *    versioned CLSID) finds it with GetJob and EnumJobs, adds a file, resumes it, receives
 *    JobTransferred on its STA thread from the loopback server and completes it; then the
 *    surrogate exits by itself;
 *  - one client calls every interface in process and out of process: the same results;
 *  - the test double steered through its control interface from another process; and, for a
 *    client that cannot be changed, its scenario file named in the registry and read by the
 *    surrogate's service (a bad or missing one changes nothing);
 *  - regsvr32 /u gives CLSCTX_LOCAL_SERVER back to Wine's own BITS.
 * The clients (oop_client.exe) write to log files, never to this program's output: the surrogate
 * inherits the standard handles of the client that started it, and nothing here may wait for the
 * end of a pipe the surrogate holds. */
#include "com_test.h"
#include "server.h"

#include <tlhelp32.h>
#include <wincrypt.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_TIMEOUT_MS    180000
#define SURROGATE_EXIT_MS    60000

static WCHAR dll_path[MAX_PATH], client_path[MAX_PATH], dir[MAX_PATH];
static struct test_server server, tls_server;

/* The build's self-signed certificate for the HTTPS server (tests/tests-windows.cmake). */
#ifdef OPENBITS_TLS_CERT
#define HAVE_TLS 1
#else
#define HAVE_TLS 0
#define OPENBITS_TLS_CERT NULL
#define OPENBITS_TLS_KEY NULL
#endif

static const WCHAR wine_bits_appid[] = L"{69AD4AEE-51BE-439B-A92C-86AE490E8B30}";
static const WCHAR openbits_appid[] = L"{92819AD7-CF40-4D13-B2CF-8EBD9B48711C}";

/* --- processes ---------------------------------------------------------------------------- */

/* Runs a program with its output in `log` (a file in dir); returns its exit code. */
static DWORD run(const WCHAR *log, const WCHAR *format, ...)
{
    SECURITY_ATTRIBUTES inherit = { sizeof(inherit), NULL, TRUE };
    PROCESS_INFORMATION info;
    STARTUPINFOW startup;
    WCHAR cmdline[2048], log_path[MAX_PATH];
    DWORD code = ~0u;
    HANDLE file, nul;
    va_list args;

    swprintf(log_path, ARRAYSIZE(log_path), L"%ls\\%ls", dir, log ? log : L"run.log");
    file = CreateFileW(log_path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, CREATE_ALWAYS, 0, NULL);
    nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    memset(&startup, 0, sizeof(startup));
    startup.cb = sizeof(startup);
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = nul;
    startup.hStdOutput = file;
    startup.hStdError = file;
    va_start(args, format);
    vswprintf(cmdline, ARRAYSIZE(cmdline), format, args);
    va_end(args);
    if (!CreateProcessW(NULL, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &info))
        fail_msg("cannot run %ls: error %lu", cmdline, GetLastError());
    CloseHandle(file);
    if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
    if (WaitForSingleObject(info.hProcess, CLIENT_TIMEOUT_MS))
    {
        TerminateProcess(info.hProcess, 255);
        fail_msg("%ls did not finish within %u ms", cmdline, CLIENT_TIMEOUT_MS);
    }
    GetExitCodeProcess(info.hProcess, &code);
    CloseHandle(info.hProcess);
    CloseHandle(info.hThread);
    return code;
}

static char *read_log(const WCHAR *log)
{
    WCHAR path[MAX_PATH];
    char *text;
    HANDLE file;
    DWORD size, read = 0;

    swprintf(path, ARRAYSIZE(path), L"%ls\\%ls", dir, log);
    file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    if (file == INVALID_HANDLE_VALUE) return _strdup("");
    size = GetFileSize(file, NULL);
    text = malloc(size + 1);
    assert_non_null(text);
    ReadFile(file, text, size, &read, NULL);
    text[read] = 0;
    CloseHandle(file);
    return text;
}

static void print_log(const WCHAR *log)
{
    char *text = read_log(log);

    fprintf(stderr, "--- %ls\n%s--- end\n", log, text);
    free(text);
}

static DWORD regsvr32(const WCHAR *options)
{
    return run(L"regsvr32.log", L"regsvr32.exe /s %ls \"%ls\"", options, dll_path);
}

static DWORD client(const WCHAR *log, const WCHAR *format, ...)
{
    WCHAR args_text[1500];
    DWORD code;
    va_list args;

    va_start(args, format);
    vswprintf(args_text, ARRAYSIZE(args_text), format, args);
    va_end(args);
    code = run(log, L"\"%ls\" %ls", client_path, args_text);
    if (code) print_log(log);
    return code;
}

/* A process named `exe` with `module` loaded; opened for SYNCHRONIZE, or NULL. */
static HANDLE find_process(const WCHAR *exe, const WCHAR *module)
{
    PROCESSENTRY32W process;
    HANDLE snapshot, found = NULL;

    memset(&process, 0, sizeof(process));
    process.dwSize = sizeof(process);
    snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snapshot == INVALID_HANDLE_VALUE) return NULL;
    for (BOOL more = Process32FirstW(snapshot, &process); more && !found; more = Process32NextW(snapshot, &process))
    {
        MODULEENTRY32W entry;
        HANDLE modules;

        memset(&entry, 0, sizeof(entry));
        entry.dwSize = sizeof(entry);
        if (exe && _wcsicmp(process.szExeFile, exe)) continue;
        modules = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE, process.th32ProcessID);
        if (modules == INVALID_HANDLE_VALUE) continue;
        for (BOOL m = Module32FirstW(modules, &entry); m; m = Module32NextW(modules, &entry))
        {
            if (_wcsicmp(entry.szModule, module)) continue;
            found = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, process.th32ProcessID);
            break;
        }
        CloseHandle(modules);
    }
    CloseHandle(snapshot);
    return found;
}

static HANDLE find_surrogate(void)
{
    return find_process(L"dllhost.exe", L"openbits.dll");
}

/* The surrogate ends by itself once its queue is empty and its clients are gone. */
static void wait_surrogate_exit(HANDLE surrogate)
{
    DWORD code = 0;

    if (WaitForSingleObject(surrogate, SURROGATE_EXIT_MS))
        fail_msg("the surrogate is still running %u ms after its last client", SURROGATE_EXIT_MS);
    GetExitCodeProcess(surrogate, &code);
    assert_int_equal(code, 0);
    CloseHandle(surrogate);
}

/* Removes the line that starts with `start` from text; fails when there is none. */
static void remove_line(char *text, const char *start)
{
    char *found = strstr(text, start), *end;

    if (!found) fail_msg("no line \"%s\"", start);
    end = strchr(found, '\n');
    end = end ? end + 1 : found + strlen(found);
    memmove(found, end, strlen(end) + 1);
}

static void clsid_string(const CLSID *clsid, WCHAR *buffer)
{
    StringFromGUID2(clsid, buffer, 39);
}

static void appid_of(const CLSID *clsid, WCHAR *value, DWORD size)
{
    WCHAR path[128], id[39];

    clsid_string(clsid, id);
    swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\CLSID\\%ls", id);
    size *= sizeof(WCHAR);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, path, L"AppID", RRF_RT_REG_SZ, NULL, value, &size)) value[0] = 0;
}

/* Wine's BITS service, once started, keeps its class registered with rpcss, which COM asks before
 * it reads the registry: it must stop before CLSCTX_LOCAL_SERVER can reach openbits. */
static void stop_wine_bits(HANDLE process)
{
    SERVICE_STATUS status;
    SC_HANDLE manager, service;

    manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    assert_non_null(manager);
    service = OpenServiceW(manager, L"BITS", SERVICE_STOP | SERVICE_QUERY_STATUS);
    assert_non_null(service);
    assert_true(ControlService(service, SERVICE_CONTROL_STOP, &status));
    /* Its svchost.exe ends with it. */
    assert_int_equal(WaitForSingleObject(process, 30000), WAIT_OBJECT_0);
    CloseServiceHandle(service);
    CloseServiceHandle(manager);
}

/* CLSCTX_LOCAL_SERVER reaches Wine's own BITS: its service process has qmgr.dll, and no surrogate
 * of ours starts. Checked from this process: Wine's service inherits nothing from it. */
static void check_wine_bits_answers(void)
{
    IBackgroundCopyManager *manager;
    IBackgroundCopyJob *job;
    HANDLE process;
    HRESULT hr;
    GUID id;

    hr = CoCreateInstance(&CLSID_BackgroundCopyManager, NULL, CLSCTX_LOCAL_SERVER, &IID_IBackgroundCopyManager,
                          (void **)&manager);
    assert_hr(S_OK, hr);
    hr = IBackgroundCopyManager_CreateJob(manager, L"wine", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    assert_hr(S_OK, hr);
    IBackgroundCopyJob_Cancel(job);
    IBackgroundCopyJob_Release(job);
    IBackgroundCopyManager_Release(manager);
    assert_null(find_surrogate());
    assert_null(GetModuleHandleW(L"openbits.dll"));
    process = find_process(NULL, L"qmgr.dll");
    assert_non_null(process);
    stop_wine_bits(process);
    CloseHandle(process);
}

/* --- the tests ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    SOCKET control;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    test_file_path(L"openbits.dll", dll_path, ARRAYSIZE(dll_path));
    test_file_path(L"oop_client.exe", client_path, ARRAYSIZE(client_path));
    test_file_path(L"test_oop.d", dir, ARRAYSIZE(dir));
    CreateDirectoryW(dir, NULL);
    if (!test_server_start(&server)) return -1;
    if (HAVE_TLS && !test_server_start_tls(&tls_server, OPENBITS_TLS_CERT, OPENBITS_TLS_KEY, NULL)) return -1;
    /* The clients inherit handles: not the servers' stdin, which must end when we stop them. */
    control = server.control;
    SetHandleInformation((HANDLE)control, HANDLE_FLAG_INHERIT, 0);
    if (HAVE_TLS)
    {
        control = tls_server.control;
        SetHandleInformation((HANDLE)control, HANDLE_FLAG_INHERIT, 0);
    }
    /* A run that died half-way leaves its registration (and the test double) behind: undo it. */
    regsvr32(L"/u");
    regsvr32(L"/u /n /i:testdouble");
    return 0;
}

static int group_teardown(void **state)
{
    regsvr32(L"/u");
    regsvr32(L"/u /n /i:testdouble");
    test_server_stop(&server);
    if (HAVE_TLS) test_server_stop(&tls_server);
    CoUninitialize();
    return 0;
}

static void test_wine_bits_before(void **state)
{
    WCHAR appid[64];

    appid_of(&CLSID_BackgroundCopyManager, appid, ARRAYSIZE(appid));
    assert_true(!_wcsicmp(appid, wine_bits_appid));
    check_wine_bits_answers();
}

static void test_one_queue_for_all_clients(void **state)
{
    WCHAR clsid[39], clsid10_3[39], job[39], remote[256], local[MAX_PATH], appid[64];
    HANDLE surrogate;
    char *log, *p;
    size_t i;

    assert_int_equal(regsvr32(L""), 0);
    appid_of(&CLSID_BackgroundCopyManager, appid, ARRAYSIZE(appid));
    assert_true(!_wcsicmp(appid, openbits_appid));

    clsid_string(&CLSID_BackgroundCopyManager, clsid);
    clsid_string(&CLSID_BackgroundCopyManager10_3, clsid10_3);
    assert_int_equal(client(L"create.log", L"create %ls", clsid), 0);
    log = read_log(L"create.log");
    p = strstr(log, "job {");
    assert_non_null(p);
    for (i = 0; i < 38; ++i) job[i] = (WCHAR)p[4 + i];
    job[38] = 0;
    free(log);

    /* The creating client is gone; the surrogate stays for its unfinished job. */
    surrogate = find_surrogate();
    assert_non_null(surrogate);
    assert_int_equal(WaitForSingleObject(surrogate, 0), WAIT_TIMEOUT);

    test_server_url(&server, L"/file/1000?name=scenario", remote, ARRAYSIZE(remote));
    swprintf(local, ARRAYSIZE(local), L"%ls\\scenario.bin", dir);
    DeleteFileW(local);
    assert_int_equal(client(L"finish.log", L"finish %ls %ls %ls \"%ls\"", clsid10_3, job, remote, local), 0);
    DeleteFileW(local);

    wait_surrogate_exit(surrogate);
}

static void test_every_interface_across_the_boundary(void **state)
{
    WCHAR inproc_dir[MAX_PATH], local_dir[MAX_PATH];
    char *inproc, *local;
    HANDLE surrogate;

    assert_int_equal(regsvr32(L""), 0);
    /* The user's MY store exists for both transcripts: a fresh prefix has none until something
     * (WinHTTP's first TLS handshake, say) creates it, which would make the first transcript's
     * SetClientCertificateByName fail with "no store" and the second with "no certificate". */
    assert_true(CertCloseStore(CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"MY"), 0));
    swprintf(inproc_dir, ARRAYSIZE(inproc_dir), L"%ls\\inproc", dir);
    swprintf(local_dir, ARRAYSIZE(local_dir), L"%ls\\local", dir);
    CreateDirectoryW(inproc_dir, NULL);
    CreateDirectoryW(local_dir, NULL);

    assert_int_equal(client(L"inproc.log", L"transcript inproc \"%ls\" %ls %ls", inproc_dir, server.base_url,
                            HAVE_TLS ? tls_server.base_url : L""), 0);
    assert_null(find_surrogate());
    assert_int_equal(client(L"local.log", L"transcript local \"%ls\" %ls %ls", local_dir, server.base_url,
                            HAVE_TLS ? tls_server.base_url : L""), 0);
    inproc = read_log(L"inproc.log");
    local = read_log(L"local.log");
    /* The one line that must differ: what the client holds. */
    remove_line(inproc, "the manager is openbits' own object\r");
    remove_line(local, "the manager is a proxy\r");
    if (strcmp(inproc, local))
    {
        print_log(L"inproc.log");
        print_log(L"local.log");
        fail_msg("the transcripts differ");
    }
    assert_null(strstr(local, "UNEXPECTED"));
    assert_null(strstr(local, "NOT CALLED"));
    assert_null(strstr(local, "FAILED"));
    free(inproc);
    free(local);

    if ((surrogate = find_surrogate())) wait_surrogate_exit(surrogate);
}

/* The test double (docs/test-double.md) in the surrogate, steered through its control interface
 * from another process as in process. */
static void test_test_double_across_the_boundary(void **state)
{
    WCHAR inproc_dir[MAX_PATH], local_dir[MAX_PATH];
    char *inproc, *local;
    HANDLE surrogate;

    assert_int_equal(regsvr32(L""), 0);
    assert_int_equal(regsvr32(L"/n /i:testdouble"), 0);
    swprintf(inproc_dir, ARRAYSIZE(inproc_dir), L"%ls\\inproc", dir);
    swprintf(local_dir, ARRAYSIZE(local_dir), L"%ls\\local", dir);
    CreateDirectoryW(inproc_dir, NULL);
    CreateDirectoryW(local_dir, NULL);
    assert_null(find_surrogate());

    assert_int_equal(client(L"control-inproc.log", L"control inproc \"%ls\"", inproc_dir), 0);
    assert_int_equal(client(L"control-local.log", L"control local \"%ls\"", local_dir), 0);
    assert_int_equal(regsvr32(L"/u /n /i:testdouble"), 0);
    inproc = read_log(L"control-inproc.log");
    local = read_log(L"control-local.log");
    remove_line(inproc, "the manager is openbits' own object\r");
    remove_line(local, "the manager is a proxy\r");
    if (strcmp(inproc, local))
    {
        print_log(L"control-inproc.log");
        print_log(L"control-local.log");
        fail_msg("the transcripts differ");
    }
    assert_non_null(strstr(local, "the file -> 0: \"version=3\""));
    free(inproc);
    free(local);
    if ((surrogate = find_surrogate())) wait_surrogate_exit(surrogate);
}

static void write_text(const WCHAR *path, const char *text)
{
    HANDLE file;
    DWORD written = 0;

    file = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(file != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(file, text, (DWORD)strlen(text), &written, NULL));
    assert_int_equal(written, strlen(text));
    CloseHandle(file);
}

/* Switches the test double on with `scenario` named in the registry (regsvr32 /n /i:testdouble=),
 * once no surrogate is left: the service reads the value when it starts. */
static void switch_scenario(const WCHAR *scenario)
{
    WCHAR options[MAX_PATH + 32], value[MAX_PATH];
    DWORD size = sizeof(value);
    HANDLE surrogate;

    if ((surrogate = find_surrogate())) wait_surrogate_exit(surrogate);
    swprintf(options, ARRAYSIZE(options), L"/n /i:\"testdouble=%ls\"", scenario);
    assert_int_equal(regsvr32(options), 0);
    assert_int_equal(RegGetValueW(HKEY_LOCAL_MACHINE, L"Software\\openbits\\TestDouble", L"Scenario", RRF_RT_REG_SZ,
                                  NULL, value, &size), ERROR_SUCCESS);
    assert_true(!wcscmp(value, scenario));
}

/* Runs `oop_client.exe download url` (a client that knows nothing of openbits) and checks that
 * its log holds `expected`. */
static void download_sees(const WCHAR *log, const WCHAR *url, const char *expected)
{
    WCHAR local[MAX_PATH];
    HANDLE surrogate;
    char *text;
    DWORD code;

    swprintf(local, ARRAYSIZE(local), L"%ls\\scenario-download.bin", dir);
    code = client(log, L"download %ls \"%ls\"", url, local);
    /* The service was the surrogate's, which ends once the job is gone (before anything can
     * fail here, so that the next test starts without it). */
    surrogate = find_surrogate();
    assert_non_null(surrogate);
    wait_surrogate_exit(surrogate);
    assert_null(GetModuleHandleW(L"openbits.dll"));
    assert_int_equal(code, 0);
    text = read_log(log);
    if (!strstr(text, expected))
    {
        print_log(log);
        fail_msg("%ls: no \"%s\"", log, expected);
    }
    free(text);
}

/* The scenario file of a program that cannot be changed (docs/test-double.md section 7), in the
 * surrogate: named by HKLM\Software\openbits\TestDouble\Scenario, read by the surrogate's service
 * when it starts, it answers the client's CLSCTX_LOCAL_SERVER downloads. A bad scenario file, or
 * a missing one, changes nothing: the same URL reaches the real (loopback) server. */
#define SCENARIO \
    "; the scenario of test_oop.c\r\n" \
    "[openbits]\r\n" \
    "time = real\r\n" \
    "[not found]\r\n" \
    "url = %ls\r\n" \
    "status = 404\r\n" \
    "[served]\r\n" \
    "url = http://updates.example/app.cfg\r\n" \
    "content = version=7\r\n" \
    "%s"

static void test_scenario_file_in_the_surrogate(void **state)
{
    WCHAR good[MAX_PATH], bad[MAX_PATH], missing[MAX_PATH], loopback[256];
    char text[1024];
    HKEY key;

    assert_int_equal(regsvr32(L""), 0);
    test_server_url(&server, L"/file/100?name=scenario-404", loopback, ARRAYSIZE(loopback));
    swprintf(good, ARRAYSIZE(good), L"%ls\\good-scenario.ini", dir);
    swprintf(bad, ARRAYSIZE(bad), L"%ls\\bad-scenario.ini", dir);
    swprintf(missing, ARRAYSIZE(missing), L"%ls\\no-such-scenario.ini", dir);
    snprintf(text, sizeof(text), SCENARIO, loopback, "");
    write_text(good, text);
    /* The same rules, and a mistake in the last one: nothing of the file may apply. */
    snprintf(text, sizeof(text), SCENARIO, loopback, "stauts = 200\r\n");
    write_text(bad, text);
    DeleteFileW(missing);

    switch_scenario(good);
    /* A scripted 404 for a URL the loopback server would serve; bytes for a host that is not there. */
    download_sees(L"scenario-404.log", loopback, "error 0x80190194 context 5\r\n");
    download_sees(L"scenario-served.log", L"http://updates.example/app.cfg", "transferred 9 bytes: \"version=7\"\r\n");

    switch_scenario(bad);
    download_sees(L"scenario-bad.log", loopback, "transferred 100 bytes");
    switch_scenario(missing);
    download_sees(L"scenario-missing.log", loopback, "transferred 100 bytes");

    /* Off again: the other tests see no test double. */
    assert_int_equal(regsvr32(L"/u /n /i:testdouble"), 0);
    assert_int_not_equal(RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\openbits\\TestDouble", 0, KEY_READ, &key),
                         ERROR_SUCCESS);
    DeleteFileW(good);
    DeleteFileW(bad);
}

static void test_unregister_restores_wine_bits(void **state)
{
    WCHAR appid[64], path[128];
    HKEY key;

    assert_int_equal(regsvr32(L""), 0);
    assert_int_equal(regsvr32(L"/u"), 0);
    appid_of(&CLSID_BackgroundCopyManager, appid, ARRAYSIZE(appid));
    assert_true(!_wcsicmp(appid, wine_bits_appid));
    swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\AppID\\%ls", openbits_appid);
    assert_int_not_equal(RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_READ, &key), ERROR_SUCCESS);
    check_wine_bits_answers();
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_wine_bits_before),
        cmocka_unit_test(test_one_queue_for_all_clients),
        cmocka_unit_test(test_every_interface_across_the_boundary),
        cmocka_unit_test(test_test_double_across_the_boundary),
        cmocka_unit_test(test_scenario_file_in_the_surrogate),
        cmocka_unit_test(test_unregister_restores_wine_bits),
    };
    return cmocka_run_group_tests_name("out of process", tests, group_setup, group_teardown);
}
