/* SPDX-License-Identifier: MIT */
/* Starts and stops tests/servers/http_server.py from a test program under Wine.
 *
 * What Wine 8 does when a Windows program starts a Linux one (tried, see
 * tests/servers/README.md), and what follows here:
 *  - CreateProcessW on the Linux program's DOS path (Z:\usr\bin\python3) fork()s and exec()s
 *    it. It returns TRUE with no process handle and process id 0, so there is nothing to wait
 *    on and nothing to terminate: the server is stopped through its stdin instead.
 *  - The command line reaches the Linux program as its argv unchanged, so the script and file
 *    arguments are Linux paths (wine_get_unix_file_name converts ours).
 *  - Of the standard handles, files and sockets are passed as their Linux descriptors; an
 *    anonymous pipe from CreatePipe is not (the program gets /dev/null). So the server's stdin
 *    is one end of a loopback TCP connection and we keep the other end: shutting down our end
 *    is the server's end of file, and our end reads end of file once the server has exited
 *    (its descriptor closes with the process). If the test program dies, Wine closes our end
 *    and the server stops by itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#ifndef OPENBITS_SOURCE_DIR
#error "OPENBITS_SOURCE_DIR (the Linux path of the source tree) must be defined"
#endif
#ifndef OPENBITS_PYTHON3
#error "OPENBITS_PYTHON3 (the Linux path of python3) must be defined"
#endif

#define SERVER_SCRIPT OPENBITS_SOURCE_DIR "/tests/servers/http_server.py"
#define POLL_MS 50

typedef WCHAR *(CDECL *wine_get_dos_file_name_fn)(const char *);
typedef char *(CDECL *wine_get_unix_file_name_fn)(const WCHAR *);

static void say(const char *format, ...)
{
    va_list args;

    fputs("test_server: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Wine's kernel32 exports these path conversions; Windows' does not. */
static void *wine_export(const char *name)
{
    return (void *)GetProcAddress(GetModuleHandleW(L"kernel32.dll"), name);
}

/* The DOS path of a Linux path, in path[size]. */
static BOOL dos_path_of(const char *unix_path, WCHAR *path, size_t size)
{
    wine_get_dos_file_name_fn get = wine_export("wine_get_dos_file_name");
    WCHAR *dos;
    BOOL ok;

    if (!get || !(dos = get(unix_path))) return FALSE;
    ok = wcslen(dos) < size;
    if (ok) wcscpy(path, dos);
    HeapFree(GetProcessHeap(), 0, dos);
    return ok;
}

/* The Linux path of a DOS path, as UTF-16 for a command line, in path[size]. */
static BOOL unix_path_of(const WCHAR *dos_path, WCHAR *path, size_t size)
{
    wine_get_unix_file_name_fn get = wine_export("wine_get_unix_file_name");
    char *unix_path;
    BOOL ok;

    if (!get || !(unix_path = get(dos_path))) return FALSE;
    ok = MultiByteToWideChar(CP_UTF8, 0, unix_path, -1, path, (int)size) > 0;
    HeapFree(GetProcessHeap(), 0, unix_path);
    return ok;
}

/* A connected pair of loopback TCP sockets; `theirs` is inheritable. */
static BOOL make_socket_pair(SOCKET *ours, SOCKET *theirs)
{
    struct sockaddr_in addr = {0};
    int len = sizeof(addr);
    SOCKET listener;

    *ours = *theirs = INVALID_SOCKET;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET) return FALSE;
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr))
            || listen(listener, 1)
            || getsockname(listener, (struct sockaddr *)&addr, &len))
        goto out_listener;
    if ((*ours = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) == INVALID_SOCKET) goto out_listener;
    if (connect(*ours, (struct sockaddr *)&addr, sizeof(addr))) goto out_ours;
    if ((*theirs = accept(listener, NULL, NULL)) == INVALID_SOCKET) goto out_ours;
    if (!SetHandleInformation((HANDLE)*theirs, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) goto out_theirs;
    closesocket(listener);
    return TRUE;

out_theirs:
    closesocket(*theirs);
    *theirs = INVALID_SOCKET;
out_ours:
    closesocket(*ours);
    *ours = INVALID_SOCKET;
out_listener:
    closesocket(listener);
    return FALSE;
}

/* A fresh directory under the temporary directory, in dir[MAX_PATH]. */
static BOOL make_private_dir(WCHAR *dir)
{
    static LONG counter;
    WCHAR temp[MAX_PATH];
    DWORD len = GetTempPathW(ARRAYSIZE(temp), temp);
    int attempt;

    if (!len || len >= ARRAYSIZE(temp)) return FALSE;
    for (attempt = 0; attempt < 100; attempt++)
    {
        swprintf(dir, MAX_PATH, L"%lsopenbits-server-%lu-%ld", temp, GetCurrentProcessId(),
                 InterlockedIncrement(&counter));
        if (CreateDirectoryW(dir, NULL)) return TRUE;
        if (GetLastError() != ERROR_ALREADY_EXISTS) return FALSE;
    }
    return FALSE;
}

/* Removes a directory and what is in it (the upload directory has directories of its own). */
static void remove_private_dir(const WCHAR *dir)
{
    WCHAR pattern[MAX_PATH], path[MAX_PATH];
    WIN32_FIND_DATAW data;
    HANDLE find;

    if (!dir[0]) return;
    swprintf(pattern, ARRAYSIZE(pattern), L"%ls\\*", dir);
    if ((find = FindFirstFileW(pattern, &data)) != INVALID_HANDLE_VALUE)
    {
        do
        {
            if (!wcscmp(data.cFileName, L".") || !wcscmp(data.cFileName, L"..")) continue;
            swprintf(path, ARRAYSIZE(path), L"%ls\\%ls", dir, data.cFileName);
            if (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) remove_private_dir(path);
            else
            {
                SetFileAttributesW(path, FILE_ATTRIBUTE_NORMAL);
                DeleteFileW(path);
            }
        } while (FindNextFileW(find, &data));
        FindClose(find);
    }
    if (!RemoveDirectoryW(dir)) say("cannot remove %ls: error %lu", dir, GetLastError());
}

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL if it is not there. */
static char *read_whole_file(const WCHAR *path, DWORD *size_out)
{
    HANDLE file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                              NULL, OPEN_EXISTING, 0, NULL);
    LARGE_INTEGER size;
    DWORD total = 0, got;
    char *data = NULL;

    if (file == INVALID_HANDLE_VALUE) return NULL;
    if (!GetFileSizeEx(file, &size) || size.QuadPart >= 0x7fffffff) goto out_file;
    if (!(data = malloc((size_t)size.QuadPart + 1))) goto out_file;
    while (total < size.QuadPart && ReadFile(file, data + total, (DWORD)size.QuadPart - total, &got, NULL) && got)
        total += got;
    data[total] = 0;
    if (size_out) *size_out = total;
out_file:
    CloseHandle(file);
    return data;
}

/* The port file is written under another name and renamed, so it is whole once it exists. */
static BOOL read_port_file(struct test_server *server)
{
    char *text = read_whole_file(server->port_file, NULL);
    unsigned int port = 0;
    unsigned long pid = 0;
    BOOL ok;

    if (!text) return FALSE;
    ok = sscanf(text, "%u %lu", &port, &pid) == 2 && port > 0 && port < 65536;
    if (!ok) say("unexpected port file contents \"%s\"", text);
    free(text);
    if (!ok) return FALSE;
    server->port = (unsigned short)port;
    server->unix_pid = pid;
    return TRUE;
}

/* Waits up to `ms` for end of file on our end of the control connection, which comes when
 * the server process has exited; anything the server wrote there is dropped. */
static BOOL wait_for_exit(SOCKET control, DWORD ms)
{
    ULONGLONG deadline = GetTickCount64() + ms;
    char buffer[256];

    for (;;)
    {
        ULONGLONG now = GetTickCount64();
        struct timeval wait;
        fd_set readable;
        int n;

        if (now >= deadline) return FALSE;
        wait.tv_sec = (long)((deadline - now) / 1000);
        wait.tv_usec = (long)((deadline - now) % 1000 * 1000);
        FD_ZERO(&readable);
        FD_SET(control, &readable);
        if ((n = select(0, &readable, NULL, NULL, &wait)) == SOCKET_ERROR) return FALSE;
        if (n == 0) continue;
        if ((n = recv(control, buffer, sizeof(buffer), 0)) <= 0) return TRUE;  /* EOF or reset */
    }
}

/* Ends the server process if one was started; TRUE once it has exited (or none ran). */
static BOOL server_shutdown(struct test_server *server)
{
    WCHAR kill_path[MAX_PATH], command[64];
    STARTUPINFOW startup = {.cb = sizeof(startup)};
    PROCESS_INFORMATION info = {0};
    BOOL exited = TRUE;

    if (server->control == INVALID_SOCKET) return TRUE;
    shutdown(server->control, SD_SEND);
    if (!(exited = wait_for_exit(server->control, TEST_SERVER_TIMEOUT_MS)))
    {
        say("the server (Linux pid %lu) did not exit within %u ms of end of file on its stdin: killing it",
            server->unix_pid, TEST_SERVER_TIMEOUT_MS);
        swprintf(command, ARRAYSIZE(command), L"kill -KILL %lu", server->unix_pid);
        if (server->unix_pid && dos_path_of("/bin/kill", kill_path, ARRAYSIZE(kill_path))
                && CreateProcessW(kill_path, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &info))
        {
            if (info.hThread) CloseHandle(info.hThread);
            if (info.hProcess) CloseHandle(info.hProcess);
            wait_for_exit(server->control, 2000);
        }
    }
    closesocket(server->control);
    server->control = INVALID_SOCKET;
    return exited;
}

static void server_release(struct test_server *server)
{
    server_shutdown(server);
    remove_private_dir(server->dir);
    WSACleanup();
    memset(server, 0, sizeof(*server));
    server->control = INVALID_SOCKET;
}

/* tls_cert and tls_key: NULL, or the Linux paths of the PEM files for HTTPS; client_ca: NULL,
 * or those of the certificates a client's must be signed by. */
static BOOL server_start(struct test_server *server, const char *tls_cert, const char *tls_key,
                         const char *client_ca)
{
    WCHAR python[MAX_PATH], script[MAX_PATH], unix_port_file[MAX_PATH], unix_journal[MAX_PATH];
    WCHAR unix_upload_dir[MAX_PATH];
    WCHAR cert[MAX_PATH], key[MAX_PATH], ca[MAX_PATH];
    WCHAR command[8 * MAX_PATH + 128];
    STARTUPINFOW startup = {.cb = sizeof(startup)};
    PROCESS_INFORMATION info = {0};
    SOCKET theirs;
    ULONGLONG deadline;
    WSADATA wsa;

    memset(server, 0, sizeof(*server));
    server->control = INVALID_SOCKET;
    if (WSAStartup(MAKEWORD(2, 2), &wsa))
    {
        say("WSAStartup failed");
        return FALSE;
    }
    if (!wine_export("wine_get_dos_file_name") || !wine_export("wine_get_unix_file_name"))
    {
        say("not running under Wine: the test server is a Linux program started through Wine");
        goto out_release;
    }
    if (!dos_path_of(OPENBITS_PYTHON3, python, ARRAYSIZE(python))
            || GetFileAttributesW(python) == INVALID_FILE_ATTRIBUTES)
    {
        say("cannot find %s (OPENBITS_PYTHON3) from Wine", OPENBITS_PYTHON3);
        goto out_release;
    }
    if (!MultiByteToWideChar(CP_UTF8, 0, SERVER_SCRIPT, -1, script, ARRAYSIZE(script)))
        goto out_release;
    if (!make_private_dir(server->dir))
    {
        say("cannot create a temporary directory: error %lu", GetLastError());
        goto out_release;
    }
    swprintf(server->port_file, MAX_PATH, L"%ls\\port", server->dir);
    swprintf(server->journal, MAX_PATH, L"%ls\\journal.jsonl", server->dir);
    swprintf(server->upload_dir, MAX_PATH, L"%ls\\uploads", server->dir);
    if (!CreateDirectoryW(server->upload_dir, NULL))
    {
        say("cannot create %ls: error %lu", server->upload_dir, GetLastError());
        goto out_release;
    }
    if (!unix_path_of(server->port_file, unix_port_file, ARRAYSIZE(unix_port_file))
            || !unix_path_of(server->journal, unix_journal, ARRAYSIZE(unix_journal))
            || !unix_path_of(server->upload_dir, unix_upload_dir, ARRAYSIZE(unix_upload_dir)))
    {
        say("no Linux path for %ls", server->dir);
        goto out_release;
    }
    if (wcschr(script, '"') || wcschr(unix_port_file, '"') || wcschr(unix_journal, '"') || wcschr(unix_upload_dir, '"'))
    {
        say("a path contains a double quote");
        goto out_release;
    }
    swprintf(command, ARRAYSIZE(command),
             L"\"python3\" \"%ls\" --port-file \"%ls\" --journal \"%ls\" --upload-dir \"%ls\"",
             script, unix_port_file, unix_journal, unix_upload_dir);
    if (tls_cert)
    {
        if (!MultiByteToWideChar(CP_UTF8, 0, tls_cert, -1, cert, ARRAYSIZE(cert))
                || !MultiByteToWideChar(CP_UTF8, 0, tls_key, -1, key, ARRAYSIZE(key))
                || wcschr(cert, '"') || wcschr(key, '"'))
        {
            say("unusable certificate or key path");
            goto out_release;
        }
        swprintf(command + wcslen(command), ARRAYSIZE(command) - wcslen(command),
                 L" --tls-cert \"%ls\" --tls-key \"%ls\"", cert, key);
    }
    if (tls_cert && client_ca)
    {
        if (!MultiByteToWideChar(CP_UTF8, 0, client_ca, -1, ca, ARRAYSIZE(ca)) || wcschr(ca, '"'))
        {
            say("unusable client CA path");
            goto out_release;
        }
        swprintf(command + wcslen(command), ARRAYSIZE(command) - wcslen(command), L" --tls-client-ca \"%ls\"", ca);
    }

    if (!make_socket_pair(&server->control, &theirs))
    {
        say("cannot make the control connection: error %d", WSAGetLastError());
        goto out_release;
    }
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = (HANDLE)theirs;
    startup.hStdOutput = GetStdHandle(STD_ERROR_HANDLE);
    startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    if (!CreateProcessW(python, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &info))
    {
        say("CreateProcessW(%ls, %ls) failed: error %lu", python, command, GetLastError());
        closesocket(theirs);
        goto out_release;
    }
    /* Wine gives no handles for a Linux process; close them should a later Wine give some. */
    if (info.hThread) CloseHandle(info.hThread);
    if (info.hProcess) CloseHandle(info.hProcess);
    closesocket(theirs);  /* the server has its own descriptor for it now */

    /* Poll for the port file; between looks, wait on the control connection, which reads end
     * of file at once if the server exits early (a Python error, say). */
    deadline = GetTickCount64() + TEST_SERVER_TIMEOUT_MS;
    while (!read_port_file(server))
    {
        if (GetTickCount64() >= deadline)
        {
            say("no port file %ls after %u ms", server->port_file, TEST_SERVER_TIMEOUT_MS);
            goto out_release;
        }
        if (wait_for_exit(server->control, POLL_MS))
        {
            say("the server exited before writing its port file (its errors are above)");
            goto out_release;
        }
    }
    swprintf(server->base_url, ARRAYSIZE(server->base_url), L"%ls://127.0.0.1:%u", tls_cert ? L"https" : L"http",
             server->port);
    return TRUE;

out_release:
    server_release(server);  /* whatever was done: stops the server, removes the directory */
    return FALSE;
}

BOOL test_server_start(struct test_server *server)
{
    return server_start(server, NULL, NULL, NULL);
}

BOOL test_server_start_tls(struct test_server *server, const char *cert, const char *key, const char *client_ca)
{
    return server_start(server, cert, key, client_ca);
}

void test_server_stop(struct test_server *server)
{
    DWORD pid = server->unix_pid;
    BOOL running = server->control != INVALID_SOCKET && server->dir[0];
    BOOL exited;

    if (!running) return;
    exited = server_shutdown(server);
    server_release(server);
    if (!exited) fail_msg("the test server (Linux pid %lu) did not stop by itself", pid);
}

void test_server_url(const struct test_server *server, const WCHAR *path, WCHAR *url, size_t size)
{
    int len = swprintf(url, size, L"%ls%ls", server->base_url, path);

    assert_true(len > 0 && (size_t)len < size);
}

char *test_server_journal(const struct test_server *server)
{
    return read_whole_file(server->journal, NULL);
}

unsigned int test_server_journal_count(const struct test_server *server, const char *text)
{
    char *journal = test_server_journal(server), *p;
    unsigned int count = 0;

    for (p = journal; p && (p = strstr(p, text)); p += strlen(text)) ++count;
    free(journal);
    return count;
}
