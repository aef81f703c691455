/* SPDX-License-Identifier: MIT */
/* The loopback HTTP test server (tests/servers/http_server.py) from a test program under Wine.
 *
 * test_server_start() runs the Python server as a native Linux process (Wine starts a Unix
 * program when CreateProcessW is given one) on 127.0.0.1 and a free port; the test then talks to
 * server->base_url. test_server_stop() ends it and waits until it has exited. How it works and
 * every URL the server answers: tests/servers/README.md. */
#ifndef OPENBITS_TEST_SERVER_H
#define OPENBITS_TEST_SERVER_H

#include <winsock2.h>
#include <windows.h>
#include <stddef.h>

struct test_server
{
    unsigned short port;
    WCHAR base_url[64];           /* L"http://127.0.0.1:PORT" (https for TLS), no trailing slash */
    DWORD unix_pid;               /* the Python process, as Linux numbers it */
    WCHAR dir[MAX_PATH];          /* Windows path of the server's own temporary directory */
    WCHAR port_file[MAX_PATH];
    WCHAR journal[MAX_PATH];      /* one JSON line per request (see http_server.py) */
    WCHAR upload_dir[MAX_PATH];   /* where BITS uploads land (--upload-dir, bits_upload.py) */
    SOCKET control;               /* our end of the server's stdin: closing it stops the server */
};

/* Starts a server; on failure says why on stderr, leaves nothing running and returns FALSE.
 * Waits at most TEST_SERVER_TIMEOUT_MS for the server to report its port. */
BOOL test_server_start(struct test_server *server);
/* The same server speaking HTTPS with the certificate and key of the PEM files at these Linux
 * paths (the build makes a self-signed pair: tests/tests-windows.cmake, OPENBITS_TLS_*). With
 * client_ca (a PEM file's Linux path, or NULL), clients must present a certificate it signs. */
BOOL test_server_start_tls(struct test_server *server, const char *cert, const char *key, const char *client_ca);
/* Ends the server (end of file on its stdin), waits at most TEST_SERVER_TIMEOUT_MS for its
 * exit, and deletes its files. Fails the running cmocka test if the server does not exit.
 * Safe on a zeroed or already stopped server. */
void test_server_stop(struct test_server *server);

#define TEST_SERVER_TIMEOUT_MS 20000

/* base_url + path (path starts with '/'). */
void test_server_url(const struct test_server *server, const WCHAR *path, WCHAR *url, size_t size);

/* The journal so far, NUL-terminated, to free() (NULL if it cannot be read). */
char *test_server_journal(const struct test_server *server);
/* The count of occurrences of `text` in the journal. */
unsigned int test_server_journal_count(const struct test_server *server, const char *text);

/* Byte `offset` of every /file/<size>, as http_server.py generates it. */
static inline BYTE test_server_byte(ULONGLONG offset)
{
    return (BYTE)((((offset % 65521) * 2654435761u) >> 16) + offset / 65521);
}

/* TRUE if data[0..size) is the content at offset..offset+size. */
static inline BOOL test_server_content_matches(ULONGLONG offset, const BYTE *data, size_t size)
{
    size_t i;

    for (i = 0; i < size; i++)
        if (data[i] != test_server_byte(offset + i)) return FALSE;
    return TRUE;
}

#endif
