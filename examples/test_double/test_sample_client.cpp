// SPDX-License-Identifier: MIT
// Testing the sample client (sample_client.c) with openbits as its BITS, in C++: the same cases
// as test_sample_client.c, with a scoped test double that resets itself (each test starts clean)
// and no test framework beyond a CHECK macro, to show the calls any framework would make.
#include <cstdio>
#include <cstring>
#include <cwchar>
#include <string>

#include "sample_client.h"
#include "openbits.h"

namespace {

int failures;

#define CHECK(condition) \
    do { if (!(condition)) { std::printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition); ++failures; return; } } while (0)

// A COM pointer that releases what it holds.
template <class T> class Ptr
{
public:
    Ptr() = default;
    Ptr(const Ptr &) = delete;
    Ptr &operator=(const Ptr &) = delete;
    ~Ptr() { if (p) p->Release(); }
    T **out() { return &p; }
    T *operator->() const { return p; }
    T *get() const { return p; }
private:
    T *p = nullptr;
};

// openbits.dll next to this program, test double on (see test_sample_client.c).
HRESULT create_manager(IBackgroundCopyManager **out)
{
    static HMODULE openbits;
    wchar_t path[MAX_PATH];

    if (!openbits)
    {
        GetModuleFileNameW(nullptr, path, MAX_PATH);
        wchar_t *slash = std::wcsrchr(path, L'\\');
        if (slash) std::wcscpy(slash + 1, L"openbits.dll");
        if (!(openbits = LoadLibraryW(path))) return HRESULT_FROM_WIN32(GetLastError());
    }
    // Through void *: FARPROC has no parameters.
    auto install = reinterpret_cast<HRESULT (WINAPI *)(BOOL, const wchar_t *)>(
        reinterpret_cast<void *>(GetProcAddress(openbits, "DllInstall")));
    auto get_class = reinterpret_cast<HRESULT (WINAPI *)(REFCLSID, REFIID, void **)>(
        reinterpret_cast<void *>(GetProcAddress(openbits, "DllGetClassObject")));
    HRESULT hr = install(TRUE, L"testdouble");
    if (FAILED(hr)) return hr;
    Ptr<IClassFactory> factory;
    if (FAILED(hr = get_class(CLSID_BackgroundCopyManager, IID_IClassFactory, reinterpret_cast<void **>(factory.out()))))
        return hr;
    return factory->CreateInstance(nullptr, IID_IBackgroundCopyManager, reinterpret_cast<void **>(out));
}

// The test double for one test: a manager for the client, the control for the test, and a
// Reset when the test ends, whatever happened.
class TestDouble
{
public:
    TestDouble()
    {
        if (SUCCEEDED(create_manager(manager.out())))
            manager->QueryInterface(IID_IOpenBitsTestControl, reinterpret_cast<void **>(control.out()));
    }
    ~TestDouble() { if (control.get()) control->Reset(); }
    bool ok() const { return control.get() != nullptr; }

    void serve(const wchar_t *url, const char *text)
    {
        OPENBITS_RULE rule = {};
        DWORD id;
        rule.pattern = const_cast<wchar_t *>(url);
        rule.action = OPENBITS_ACTION_SERVE;
        rule.content = reinterpret_cast<BYTE *>(const_cast<char *>(text));
        rule.content_size = static_cast<DWORD>(std::strlen(text));
        control->AddRule(&rule, &id);
    }
    void status(const wchar_t *url, DWORD code, DWORD times)
    {
        OPENBITS_RULE rule = {};
        DWORD id;
        rule.pattern = const_cast<wchar_t *>(url);
        rule.action = OPENBITS_ACTION_STATUS;
        rule.status = code;
        rule.times = times;
        control->AddRule(&rule, &id);
    }
    bool reaches(const GUID &job, BG_JOB_STATE state)
    {
        BG_JOB_STATE reached;
        return control->WaitForJobState(job, state, 30000, &reached) == S_OK;
    }

    Ptr<IBackgroundCopyManager> manager;
    Ptr<IOpenBitsTestControl> control;
};

std::wstring local_file(const wchar_t *name)
{
    wchar_t dir[MAX_PATH];
    GetTempPathW(MAX_PATH, dir);
    std::wstring path = std::wstring(dir) + L"sample_client_cpp";
    CreateDirectoryW(path.c_str(), nullptr);
    path += L"\\";
    path += name;
    DeleteFileW(path.c_str());
    return path;
}

std::string contents(const std::wstring &path)
{
    char data[256];
    DWORD read = 0;
    HANDLE file = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
    if (file == INVALID_HANDLE_VALUE) return "(missing)";
    ReadFile(file, data, sizeof(data), &read, nullptr);
    CloseHandle(file);
    return std::string(data, read);
}

const wchar_t url[] = L"https://updates.example/app.cfg";

void download_succeeds()
{
    TestDouble bits;
    CHECK(bits.ok());
    bits.serve(url, "version=2");
    std::wstring path = local_file(L"app.cfg");
    GUID job;
    CHECK(sample_start(bits.manager.get(), url, path.c_str(), &job) == S_OK);
    CHECK(bits.reaches(job, BG_JOB_STATE_TRANSFERRED));
    CHECK(sample_finish(bits.manager.get(), &job) == S_OK);
    CHECK(contents(path) == "version=2");
}

void retries_503_after_the_retry_delay()
{
    TestDouble bits;
    CHECK(bits.ok());
    CHECK(bits.control->SetTimeMode(OPENBITS_TIME_VIRTUAL) == S_OK);
    bits.status(url, 503, 2);
    bits.serve(url, "version=3");
    std::wstring path = local_file(L"app.cfg");
    GUID job;
    CHECK(sample_start(bits.manager.get(), url, path.c_str(), &job) == S_OK);
    CHECK(bits.reaches(job, BG_JOB_STATE_TRANSIENT_ERROR));
    CHECK(bits.control->AdvanceTime(SAMPLE_CLIENT_RETRY_DELAY * 1000 - 1) == S_OK);
    CHECK(sample_finish(bits.manager.get(), &job) == S_FALSE);      // not a millisecond early
    CHECK(bits.control->AdvanceTime(1 + SAMPLE_CLIENT_RETRY_DELAY * 1000) == S_OK);
    CHECK(sample_finish(bits.manager.get(), &job) == S_OK);
    CHECK(contents(path) == "version=3");
}

void not_found_reaches_job_error()
{
    TestDouble bits;
    CHECK(bits.ok());
    bits.status(L"https://updates.example/gone.cfg", 404, 0);
    std::wstring path = local_file(L"gone.cfg");
    GUID job;
    CHECK(sample_start(bits.manager.get(), L"https://updates.example/gone.cfg", path.c_str(), &job) == S_OK);
    CHECK(bits.reaches(job, BG_JOB_STATE_ERROR));
    CHECK(sample_finish(bits.manager.get(), &job) == static_cast<HRESULT>(BG_E_HTTP_ERROR_404));
}

void sends_its_header()
{
    TestDouble bits;
    CHECK(bits.ok());
    bits.serve(url, "version=4");
    std::wstring path = local_file(L"app.cfg");
    GUID job;
    CHECK(sample_start(bits.manager.get(), url, path.c_str(), &job) == S_OK);
    CHECK(bits.control->RunUntilIdle(30000) == S_OK);
    CHECK(sample_finish(bits.manager.get(), &job) == S_OK);
    OPENBITS_REQUEST request;
    CHECK(bits.control->GetJournalEntry(0, &request) == S_OK);
    std::wstring headers = request.headers ? request.headers : L"";
    OpenBitsFreeRequest(&request);
    CHECK(headers.find(SAMPLE_CLIENT_HEADER L"\r\n") != std::wstring::npos);
}

} // namespace

int main()
{
    CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    struct { const char *name; void (*run)(); } tests[] =
    {
        { "download succeeds", download_succeeds },
        { "503 twice, then success after the retry delay", retries_503_after_the_retry_delay },
        { "404 reaches JobError", not_found_reaches_job_error },
        { "the client sends its header", sends_its_header },
    };
    for (auto &test : tests)
    {
        int before = failures;
        test.run();
        std::printf("%s: %s\n", failures == before ? "ok" : "FAILED", test.name);
    }
    CoUninitialize();
    std::printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
