/* SPDX-License-Identifier: MIT */
/* Registration through Wine's regsvr32 in the tests' private prefix: what it writes, that
 * clients in other processes then reach openbits, that a second run is harmless, and that
 * regsvr32 /u puts back exactly what was there (Wine's own BITS answers again). */
#include "com_test.h"
#include "openbits_control.h"

#include <stdlib.h>
#include <string.h>

static struct openbits_dll dll;
static WCHAR dll_path[MAX_PATH];

static const CLSID *const all_clsids[] =
{
    &CLSID_BackgroundCopyManager, &CLSID_BackgroundCopyManager1_5, &CLSID_BackgroundCopyManager2_0,
    &CLSID_BackgroundCopyManager2_5, &CLSID_BackgroundCopyManager3_0, &CLSID_BackgroundCopyManager4_0,
    &CLSID_BackgroundCopyManager5_0, &CLSID_BackgroundCopyManager10_1, &CLSID_BackgroundCopyManager10_2,
    &CLSID_BackgroundCopyManager10_3, &CLSID_BackgroundCopyQMgr,
};

/* Every interface openbits.dll has a proxy for (src/proxy.c, build/generated/bits_p.c and
 * openbits_control_p.c). */
static const IID *const all_iids[] =
{
    &IID_AsyncIBackgroundCopyCallback, &IID_IBackgroundCopyCallback, &IID_IBackgroundCopyCallback1,
    &IID_IBackgroundCopyCallback2, &IID_IBackgroundCopyCallback3, &IID_IBackgroundCopyError,
    &IID_IBackgroundCopyFile, &IID_IBackgroundCopyFile2, &IID_IBackgroundCopyFile3,
    &IID_IBackgroundCopyFile4, &IID_IBackgroundCopyFile5, &IID_IBackgroundCopyFile6,
    &IID_IBackgroundCopyGroup, &IID_IBackgroundCopyJob, &IID_IBackgroundCopyJob1, &IID_IBackgroundCopyJob2,
    &IID_IBackgroundCopyJob3, &IID_IBackgroundCopyJob4, &IID_IBackgroundCopyJob5,
    &IID_IBackgroundCopyJobHttpOptions, &IID_IBackgroundCopyJobHttpOptions2,
    &IID_IBackgroundCopyJobHttpOptions3, &IID_IBackgroundCopyManager, &IID_IBackgroundCopyQMgr,
    &IID_IBackgroundCopyServerCertificateValidationCallback, &IID_IBitsPeer,
    &IID_IBitsPeerCacheAdministration, &IID_IBitsPeerCacheRecord, &IID_IBitsTokenOptions,
    &IID_IEnumBackgroundCopyFiles, &IID_IEnumBackgroundCopyGroups, &IID_IEnumBackgroundCopyJobs,
    &IID_IEnumBackgroundCopyJobs1, &IID_IEnumBitsPeerCacheRecords, &IID_IEnumBitsPeers,
    &IID_IOpenBitsTestControl,
};

/* openbits' AppID (src/surrogate.c) and proxy/stub class (src/proxy.c). */
static const WCHAR openbits_appid[] = L"{92819AD7-CF40-4D13-B2CF-8EBD9B48711C}";
static const WCHAR openbits_ps_clsid[] = L"{2798FCD1-C871-404C-B310-FCA6B01D02D6}";

/* --- running programs --------------------------------------------------------------------- */

static DWORD run(const WCHAR *format, ...)
{
    PROCESS_INFORMATION info;
    STARTUPINFOW startup;
    WCHAR cmdline[1024];
    DWORD code = ~0u;
    va_list args;

    memset(&startup, 0, sizeof(startup));
    startup.cb = sizeof(startup);
    va_start(args, format);
    vswprintf(cmdline, ARRAYSIZE(cmdline), format, args);
    va_end(args);
    if (!CreateProcessW(NULL, cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &info))
        fail_msg("cannot run %ls: error %lu", cmdline, GetLastError());
    WaitForSingleObject(info.hProcess, INFINITE);
    GetExitCodeProcess(info.hProcess, &code);
    CloseHandle(info.hProcess);
    CloseHandle(info.hThread);
    return code;
}

static DWORD regsvr32(const WCHAR *options)
{
    return run(L"regsvr32.exe /s %ls \"%ls\"", options, dll_path);
}

static DWORD probe(const WCHAR *mode, const CLSID *clsid)
{
    WCHAR path[MAX_PATH], clsid_str[39];

    test_file_path(L"registration_probe.exe", path, ARRAYSIZE(path));
    StringFromGUID2(clsid, clsid_str, ARRAYSIZE(clsid_str));
    return run(L"\"%ls\" %ls %ls", path, mode, clsid_str);
}

/* --- registry snapshots -------------------------------------------------------------------- */

struct lines { char **items; size_t count, capacity; };

static void lines_add(struct lines *lines, const char *text)
{
    if (lines->count == lines->capacity)
    {
        lines->capacity = lines->capacity ? lines->capacity * 2 : 64;
        lines->items = realloc(lines->items, lines->capacity * sizeof(*lines->items));
        assert_non_null(lines->items);
    }
    lines->items[lines->count++] = _strdup(text);
}

static void dump_key(HKEY root, const WCHAR *path, struct lines *lines)
{
    WCHAR name[256], child[1024];
    BYTE data[4096];
    char line[10000];
    DWORD i, name_len, type, size;
    HKEY key;

    if (RegOpenKeyExW(root, path, 0, KEY_READ, &key)) return;
    snprintf(line, sizeof(line), "K %ls", path);
    lines_add(lines, line);
    for (i = 0;; ++i)
    {
        int len;
        DWORD j;

        name_len = ARRAYSIZE(name);
        size = sizeof(data);
        if (RegEnumValueW(key, i, name, &name_len, NULL, &type, data, &size)) break;
        len = snprintf(line, sizeof(line), "V %ls|%ls|%lu|", path, name, type);
        for (j = 0; j < size && len < (int)sizeof(line) - 3; ++j) len += sprintf(line + len, "%02x", data[j]);
        lines_add(lines, line);
    }
    for (i = 0;; ++i)
    {
        name_len = ARRAYSIZE(name);
        if (RegEnumKeyExW(key, i, name, &name_len, NULL, NULL, NULL, NULL)) break;
        swprintf(child, ARRAYSIZE(child), L"%ls\\%ls", path, name);
        dump_key(root, child, lines);
    }
    RegCloseKey(key);
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key and value our registration may touch, in both hives, as sorted text. */
static char *snapshot(void)
{
    static const HKEY roots[] = { HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER };
    struct lines lines = {0};
    size_t i, j, total = 1;
    char *text;

    for (i = 0; i < ARRAYSIZE(roots); ++i)
    {
        for (j = 0; j < ARRAYSIZE(all_clsids); ++j)
        {
            WCHAR clsid[39], path[128];
            StringFromGUID2(all_clsids[j], clsid, ARRAYSIZE(clsid));
            swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\CLSID\\%ls", clsid);
            dump_key(roots[i], path, &lines);
        }
        for (j = 0; j < ARRAYSIZE(all_iids); ++j)
        {
            WCHAR iid[39], path[128];
            StringFromGUID2(all_iids[j], iid, ARRAYSIZE(iid));
            swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\Interface\\%ls", iid);
            dump_key(roots[i], path, &lines);
        }
        {
            WCHAR path[128];
            swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\AppID\\%ls", openbits_appid);
            dump_key(roots[i], path, &lines);
            swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\CLSID\\%ls", openbits_ps_clsid);
            dump_key(roots[i], path, &lines);
        }
        dump_key(roots[i], L"Software\\openbits", &lines);
    }
    qsort(lines.items, lines.count, sizeof(*lines.items), compare_lines);
    for (i = 0; i < lines.count; ++i) total += strlen(lines.items[i]) + 1;
    text = malloc(total);
    assert_non_null(text);
    *text = 0;
    for (i = 0; i < lines.count; ++i)
    {
        strcat(text, lines.items[i]);
        strcat(text, "\n");
        free(lines.items[i]);
    }
    free(lines.items);
    return text;
}

static void get_string(HKEY root, const WCHAR *clsid_suffix_format, const CLSID *clsid, const WCHAR *value,
                       WCHAR *out, DWORD size)
{
    WCHAR clsid_str[39], path[160];
    LSTATUS status;

    StringFromGUID2(clsid, clsid_str, ARRAYSIZE(clsid_str));
    swprintf(path, ARRAYSIZE(path), clsid_suffix_format, clsid_str);
    size *= sizeof(WCHAR);
    status = RegGetValueW(root, path, value, RRF_RT_REG_SZ, NULL, out, &size);
    if (status) out[0] = 0;
}

static void get_value(HKEY root, const WCHAR *path, const WCHAR *value, WCHAR *out, DWORD size)
{
    size *= sizeof(WCHAR);
    if (RegGetValueW(root, path, value, RRF_RT_REG_SZ, NULL, out, &size)) out[0] = 0;
}

static void check_registered(HKEY root)
{
    WCHAR value[MAX_PATH], path[160], iid[39];
    size_t i;

    for (i = 0; i < ARRAYSIZE(all_clsids); ++i)
    {
        get_string(root, L"Software\\Classes\\CLSID\\%ls\\InprocServer32", all_clsids[i], NULL, value, ARRAYSIZE(value));
        if (_wcsicmp(value, dll_path)) fail_msg("InprocServer32 is \"%ls\", not \"%ls\"", value, dll_path);
        get_string(root, L"Software\\Classes\\CLSID\\%ls\\InprocServer32", all_clsids[i], L"ThreadingModel",
                   value, ARRAYSIZE(value));
        assert_true(!wcscmp(value, L"Both"));
        get_string(root, L"Software\\Classes\\CLSID\\%ls", all_clsids[i], NULL, value, ARRAYSIZE(value));
        assert_true(!wcsncmp(value, L"openbits ", 9));
        /* Out of process: our AppID, whose DllSurrogate is the explicit dllhost.exe under Wine. */
        get_string(root, L"Software\\Classes\\CLSID\\%ls", all_clsids[i], L"AppID", value, ARRAYSIZE(value));
        assert_true(!wcscmp(value, openbits_appid));
    }
    swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\AppID\\%ls", openbits_appid);
    get_value(root, path, L"DllSurrogate", value, ARRAYSIZE(value));
    assert_true(!_wcsicmp(value, L"C:\\windows\\system32\\dllhost.exe"));

    swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\CLSID\\%ls\\InprocServer32", openbits_ps_clsid);
    get_value(root, path, NULL, value, ARRAYSIZE(value));
    assert_true(!_wcsicmp(value, dll_path));
    get_value(root, path, L"ThreadingModel", value, ARRAYSIZE(value));
    assert_true(!wcscmp(value, L"Both"));
    /* Under Wine every interface gets our proxy, Wine's qmgrprxy.dll ones included. */
    for (i = 0; i < ARRAYSIZE(all_iids); ++i)
    {
        StringFromGUID2(all_iids[i], iid, ARRAYSIZE(iid));
        swprintf(path, ARRAYSIZE(path), L"Software\\Classes\\Interface\\%ls\\ProxyStubClsid32", iid);
        get_value(root, path, NULL, value, ARRAYSIZE(value));
        if (wcscmp(value, openbits_ps_clsid)) fail_msg("the proxy of %ls is %ls", iid, value);
    }
}

/* --- the tests ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    test_file_path(L"openbits.dll", dll_path, ARRAYSIZE(dll_path));
    openbits_dll_load(&dll);
    /* A run that died half-way leaves its registration behind: undo it first. */
    regsvr32(L"/u");
    return 0;
}

static int group_teardown(void **state)
{
    openbits_dll_unload(&dll);
    CoUninitialize();
    return 0;
}

static void test_regsvr32_round_trip(void **state)
{
    char *before, *after;
    size_t i;

    before = snapshot();
    /* Wine's own BITS answers CLSID_BackgroundCopyManager before we register. */
    assert_int_equal(probe(L"all", &CLSID_BackgroundCopyManager), 10);

    assert_int_equal(regsvr32(L""), 0);
    check_registered(HKEY_LOCAL_MACHINE);
    for (i = 0; i < ARRAYSIZE(all_clsids); ++i)
    {
        assert_int_equal(probe(L"inproc", all_clsids[i]), 0);
        assert_int_equal(probe(L"all", all_clsids[i]), 0);
    }

    /* Registering twice is harmless: the record of what was replaced stays the first one. */
    assert_int_equal(regsvr32(L""), 0);
    check_registered(HKEY_LOCAL_MACHINE);
    assert_int_equal(probe(L"all", &CLSID_BackgroundCopyManager), 0);

    assert_int_equal(regsvr32(L"/u"), 0);
    after = snapshot();
    if (strcmp(before, after)) fail_msg("registry after regsvr32 /u differs:\n--- before\n%s--- after\n%s", before, after);
    assert_int_equal(probe(L"all", &CLSID_BackgroundCopyManager), 10);
    assert_int_equal(probe(L"inproc", &CLSID_BackgroundCopyManager5_0), 1);

    /* Unregistering again finds nothing to undo and changes nothing. */
    assert_int_equal(regsvr32(L"/u"), 0);
    free(after);
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_dll_install_user(void **state)
{
    char *before, *after;

    before = snapshot();
    assert_hr(E_INVALIDARG, dll.DllInstall(TRUE, L"elsewhere"));
    assert_hr(S_OK, dll.DllInstall(TRUE, L"user"));
    check_registered(HKEY_CURRENT_USER);
    assert_hr(S_OK, dll.DllInstall(TRUE, L"user"));
    assert_hr(S_OK, dll.DllInstall(FALSE, L"user"));
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_no_live_objects(&dll);
}

static void test_dll_install_machine(void **state)
{
    char *before, *after;

    before = snapshot();
    assert_hr(S_OK, dll.DllInstall(TRUE, NULL));
    check_registered(HKEY_LOCAL_MACHINE);
    assert_hr(S_OK, dll.DllInstall(FALSE, L"machine"));
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_regsvr32_round_trip),
        cmocka_unit_test(test_dll_install_user),
        cmocka_unit_test(test_dll_install_machine),
    };
    return cmocka_run_group_tests_name("registration", tests, group_setup, group_teardown);
}
