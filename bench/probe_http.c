/* SPDX-License-Identifier: MIT */
/* probe_http.exe: how fast one HTTP body comes in under Wine, read the ways a transport could
 * read it (docs/performance-downloads.md, "Where the time goes"). The body is discarded, so only
 * the network path is measured: no file, no BITS.
 *
 *   probe_http.exe URL MODE [SIZE]
 *
 * MODE:
 *   qda         asynchronous WinHTTP as src/transport_http.c reads: WinHttpQueryDataAvailable,
 *               wait, WinHttpReadData of what it reported, wait (events set by the callback);
 *   async-read  asynchronous WinHTTP, WinHttpReadData of SIZE bytes at once, wait;
 *   qda-cv, async-read-cv  the same, the callback waking the reader through a condition variable
 *               instead of an event;
 *   sync-read   synchronous WinHTTP, WinHttpReadData of SIZE bytes;
 *   winsock     a plain HTTP/1.1 GET on a Winsock socket, recv() of SIZE bytes.
 * SIZE defaults to 262144 (the engine's chunk). Prints bytes, seconds, MiB/s, the number of reads
 * and this process's CPU time (GetProcessTimes) over the body. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <winhttp.h>
#include <stdio.h>

/* The operation in flight completes by an event (SetEvent, WaitForSingleObject: each a wineserver
 * call under Wine) or, in the -cv modes, by a condition variable (futexes under Wine). */
struct probe
{
    HANDLE done;                  /* auto-reset */
    BOOL use_cv;
    SRWLOCK lock;
    CONDITION_VARIABLE cv;
    BOOL signaled;                /* [lock] */
    DWORD bytes, error;
};

static void signal_probe(struct probe *probe)
{
    if (!probe->use_cv)
    {
        SetEvent(probe->done);
        return;
    }
    AcquireSRWLockExclusive(&probe->lock);
    probe->signaled = TRUE;
    ReleaseSRWLockExclusive(&probe->lock);
    WakeConditionVariable(&probe->cv);
}

static void CALLBACK status_callback(HINTERNET handle, DWORD_PTR context, DWORD status, void *info, DWORD size)
{
    struct probe *probe = (struct probe *)context;

    if (!probe) return;
    switch (status)
    {
    case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
        probe->bytes = 0;
        signal_probe(probe);
        break;
    case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
        probe->bytes = *(DWORD *)info;
        signal_probe(probe);
        break;
    case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
        probe->bytes = size;
        signal_probe(probe);
        break;
    case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
        probe->error = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
        signal_probe(probe);
        break;
    }
}

static double cpu_seconds(double *sys)
{
    FILETIME creation, exit, kernel, user;

    GetProcessTimes(GetCurrentProcess(), &creation, &exit, &kernel, &user);
    *sys = (double)(((ULONGLONG)kernel.dwHighDateTime << 32) | kernel.dwLowDateTime) / 1e7;
    return (double)(((ULONGLONG)user.dwHighDateTime << 32) | user.dwLowDateTime) / 1e7;
}

static BOOL wait_probe(struct probe *probe)
{
    BOOL signaled = TRUE;

    if (!probe->use_cv) signaled = WaitForSingleObject(probe->done, 60000) == WAIT_OBJECT_0;
    else
    {
        AcquireSRWLockExclusive(&probe->lock);
        while (!probe->signaled && (signaled = SleepConditionVariableSRW(&probe->cv, &probe->lock, 60000, 0)))
            ;
        probe->signaled = FALSE;
        ReleaseSRWLockExclusive(&probe->lock);
    }
    if (!signaled || probe->error)
    {
        fprintf(stderr, "probe: operation failed: %lu\n", probe->error);
        return FALSE;
    }
    return TRUE;
}

/* The WinHTTP modes: returns the body's size, or -1. */
static LONGLONG read_winhttp(const WCHAR *url, const char *mode, DWORD size, ULONG *reads)
{
    BOOL async = strcmp(mode, "sync-read") != 0;
    struct probe probe = { CreateEventW(NULL, FALSE, FALSE, NULL), strstr(mode, "-cv") != NULL,
                           SRWLOCK_INIT, CONDITION_VARIABLE_INIT, FALSE, 0, 0 };
    HINTERNET session, connection, request;
    URL_COMPONENTS parts;
    WCHAR host[256];
    LONGLONG total = 0;
    DWORD_PTR context = (DWORD_PTR)&probe;
    BYTE *buffer = malloc(size);
    DWORD count;

    memset(&parts, 0, sizeof(parts));
    parts.dwStructSize = sizeof(parts);
    parts.lpszHostName = host;
    parts.dwHostNameLength = ARRAYSIZE(host);
    parts.dwUrlPathLength = (DWORD)-1;
    if (!WinHttpCrackUrl(url, 0, 0, &parts)) return -1;
    session = WinHttpOpen(L"probe", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, async ? WINHTTP_FLAG_ASYNC : 0);
    if (async) WinHttpSetStatusCallback(session, status_callback, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
    connection = WinHttpConnect(session, host, parts.nPort, 0);
    request = WinHttpOpenRequest(connection, L"GET", parts.lpszUrlPath, NULL, NULL, NULL, 0);
    if (!request) return -1;
    if (async) WinHttpSetOption(request, WINHTTP_OPTION_CONTEXT_VALUE, &context, sizeof(context));
    if (!WinHttpSendRequest(request, NULL, 0, NULL, 0, 0, context) || (async && !wait_probe(&probe))) return -1;
    if (!WinHttpReceiveResponse(request, NULL) || (async && !wait_probe(&probe))) return -1;

    *reads = 0;
    for (;;)
    {
        DWORD want = size;

        if (!strncmp(mode, "qda", 3))
        {
            if (!WinHttpQueryDataAvailable(request, NULL) || !wait_probe(&probe)) return -1;
            if (!probe.bytes) break;
            if (probe.bytes < want) want = probe.bytes;
        }
        if (async)
        {
            if (!WinHttpReadData(request, buffer, want, NULL) || !wait_probe(&probe)) return -1;
            count = probe.bytes;
        }
        else if (!WinHttpReadData(request, buffer, want, &count)) return -1;
        if (!count) break;
        total += count;
        ++*reads;
    }
    WinHttpCloseHandle(request);
    WinHttpCloseHandle(connection);
    WinHttpCloseHandle(session);
    free(buffer);
    return total;
}

/* A GET on a plain socket; the body is what follows the headers (nginx sends Content-Length). */
static LONGLONG read_winsock(const WCHAR *url, DWORD size, ULONG *reads)
{
    URL_COMPONENTS parts;
    WCHAR host[256], path[1024];
    char request[1200], *buffer = malloc(size), *end;
    struct sockaddr_in address = { 0 };
    LONGLONG total = 0;
    BOOL body = FALSE;
    SOCKET sock;
    int count, len = 0;
    WSADATA wsa;

    memset(&parts, 0, sizeof(parts));
    parts.dwStructSize = sizeof(parts);
    parts.lpszHostName = host;
    parts.dwHostNameLength = ARRAYSIZE(host);
    parts.lpszUrlPath = path;
    parts.dwUrlPathLength = ARRAYSIZE(path);
    if (!WinHttpCrackUrl(url, 0, 0, &parts)) return -1;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    sock = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    address.sin_family = AF_INET;
    address.sin_port = htons(parts.nPort);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sock, (struct sockaddr *)&address, sizeof(address))) return -1;
    snprintf(request, sizeof(request), "GET %ls HTTP/1.1\r\nHost: %ls\r\nConnection: close\r\n\r\n", path, host);
    send(sock, request, (int)strlen(request), 0);
    *reads = 0;
    while ((count = recv(sock, buffer + (body ? 0 : len), body ? (int)size : (int)size - len, 0)) > 0)
    {
        ++*reads;
        if (body)
        {
            total += count;
            continue;
        }
        len += count;
        if ((end = strstr(buffer, "\r\n\r\n")))
        {
            body = TRUE;
            total += len - (end + 4 - buffer);
        }
    }
    closesocket(sock);
    free(buffer);
    return total;
}

int wmain(int argc, WCHAR **argv)
{
    double user0, sys0, user1, sys1, seconds;
    LARGE_INTEGER frequency, start, end;
    char mode[32];
    DWORD size = 262144;
    LONGLONG total;
    ULONG reads = 0;

    if (argc < 3) return 2;
    snprintf(mode, sizeof(mode), "%ls", argv[2]);
    if (argc > 3) size = wcstoul(argv[3], NULL, 10);
    QueryPerformanceFrequency(&frequency);
    user0 = cpu_seconds(&sys0);
    QueryPerformanceCounter(&start);
    total = strcmp(mode, "winsock") ? read_winhttp(argv[1], mode, size, &reads) : read_winsock(argv[1], size, &reads);
    QueryPerformanceCounter(&end);
    user1 = cpu_seconds(&sys1);
    if (total < 0)
    {
        fprintf(stderr, "probe: %s failed\n", mode);
        return 1;
    }
    seconds = (double)(end.QuadPart - start.QuadPart) / (double)frequency.QuadPart;
    printf("%-10s size %7lu: %lld bytes in %.3f s, %.1f MiB/s, %lu reads (%.0f bytes each), CPU %.3f s user + %.3f s system\n",
           mode, size, total, seconds, (double)total / 1048576.0 / seconds, reads, reads ? (double)total / reads : 0.0,
           user1 - user0, sys1 - sys0);
    return 0;
}
