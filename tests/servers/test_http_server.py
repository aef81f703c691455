#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Self-test of tests/servers/http_server.py, run natively (ctest --preset native).

Starts the server as a child process the way the Wine tests do (port file, stdin as the
stop signal) and talks to it with http.client and raw sockets. The content is checked against
the formula written out again here, one byte at a time, independently of the server's code.
"""

import base64
import email.utils
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_server.py")
START_TIMEOUT = 20.0


def expected(start, end):
    """byte(i) = ((i % 65521) * 2654435761 >> 16) + i // 65521 (mod 256), for i in [start, end)."""
    return bytes(((((i % 65521) * 2654435761) >> 16) + i // 65521) & 0xFF for i in range(start, end))


class ServerProcess:
    """One server child: started with a port file, stopped by closing its stdin or SIGTERM."""

    def __init__(self, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="openbits-http-test-")
        self.port_file = os.path.join(self.dir, "port")
        self.journal = os.path.join(self.dir, "journal.jsonl")
        self.process = subprocess.Popen(
            [sys.executable, SERVER, "--port-file", self.port_file, "--journal", self.journal]
            + [arg.replace("{dir}", self.dir) for arg in extra_args],
            stdin=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.port_file):
            if self.process.poll() is not None:
                raise RuntimeError("the server exited with %d before writing its port file"
                                   % self.process.returncode)
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("no port file after %.0f s" % START_TIMEOUT)
            time.sleep(0.02)
        with open(self.port_file, encoding="ascii") as file:
            port, pid = file.read().split()
        self.port, self.pid = int(port), int(pid)

    def stop(self, how="stdin"):
        if how == "stdin":
            self.process.stdin.close()
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=START_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.process.stdin and not self.process.stdin.closed:
                self.process.stdin.close()
            shutil.rmtree(self.dir, ignore_errors=True)
        return code


class HttpServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, "the server exited with %d" % code

    def connect(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
        self.addCleanup(connection.close)
        return connection

    def request(self, method, path, headers=None):
        connection = self.connect()
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()

    def key(self):
        return "%s-%d" % (self.id().rsplit(".", 1)[-1], time.monotonic_ns())

    # --- content and headers ----------------------------------------------------------------

    def test_head_reports_size_and_validators(self):
        response, body = self.request("HEAD", "/file/1000")
        self.assertEqual(response.status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(response.getheader("Content-Length"), "1000")
        self.assertEqual(response.getheader("Accept-Ranges"), "bytes")
        self.assertEqual(response.getheader("Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT")
        self.assertEqual(response.getheader("ETag"), '"3e8-6553f100"')

    def test_get_whole_file_matches_formula(self):
        size = 3 * 65521 + 17  # crosses period boundaries
        response, body = self.request("GET", "/file/%d?name=a.bin" % size)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Length"), str(size))
        self.assertEqual(body, expected(0, size))

    def test_empty_file(self):
        response, body = self.request("GET", "/file/0")
        self.assertEqual((response.status, body, response.getheader("Content-Length")), (200, b"", "0"))

    def test_huge_file_head_and_tail_range(self):
        size = 5 * 1024 ** 3  # 5 GiB, never held in memory
        response, _ = self.request("HEAD", "/file/%d" % size)
        self.assertEqual(response.getheader("Content-Length"), str(size))
        response, body = self.request("GET", "/file/%d" % size, {"Range": "bytes=%d-" % (size - 120)})
        self.assertEqual(response.status, 206)
        self.assertEqual(response.getheader("Content-Range"), "bytes %d-%d/%d" % (size - 120, size - 1, size))
        self.assertEqual(body, expected(size - 120, size))

    def test_single_ranges(self):
        size = 200000
        cases = [
            ("bytes=1000-1999", 1000, 1999),
            ("bytes=65500-65600", 65500, 65600),  # crosses a period boundary
            ("bytes=199990-", 199990, size - 1),
            ("bytes=-10", size - 10, size - 1),
            ("bytes=-300000", 0, size - 1),  # longer suffix than the file: all of it
            ("bytes=199000-500000", 199000, size - 1),  # end clipped to the size
            ("bytes=5-5", 5, 5),
            ("bytes=999999-, 7-8", 7, 8),  # the unsatisfiable one is dropped
        ]
        for header, first, last in cases:
            with self.subTest(header=header):
                response, body = self.request("GET", "/file/%d" % size, {"Range": header})
                self.assertEqual(response.status, 206)
                self.assertEqual(response.getheader("Content-Range"), "bytes %d-%d/%d" % (first, last, size))
                self.assertEqual(response.getheader("Content-Length"), str(last - first + 1))
                self.assertEqual(body, expected(first, last + 1))

    def test_unsatisfiable_range(self):
        for header in ("bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1000,2000-"):
            with self.subTest(header=header):
                response, body = self.request("GET", "/file/1000", {"Range": header})
                self.assertEqual(response.status, 416)
                self.assertEqual(response.getheader("Content-Range"), "bytes */1000")
                self.assertEqual(body, b"")

    def test_ignored_ranges(self):
        for header in ("bytes=abc", "bytes=5-2", "items=0-5", "bytes=", "bytes=--5"):
            with self.subTest(header=header):
                response, body = self.request("GET", "/file/100", {"Range": header})
                self.assertEqual(response.status, 200)
                self.assertEqual(body, expected(0, 100))
        response, body = self.request("HEAD", "/file/100", {"Range": "bytes=0-9"})
        self.assertEqual((response.status, response.getheader("Content-Length")), (200, "100"))

    def test_multipart_byteranges(self):
        size = 100000
        ranges = [(0, 9), (70000, 70099), (99990, 99999)]
        header = "bytes=" + ",".join("%d-%d" % r for r in ranges)
        response, body = self.request("GET", "/file/%d" % size, {"Range": header})
        self.assertEqual(response.status, 206)
        self.assertEqual(response.getheader("Content-Type"), "multipart/byteranges; boundary=openbits-byteranges")
        self.assertEqual(int(response.getheader("Content-Length")), len(body))
        self.assertIsNone(response.getheader("Content-Range"))
        self.assertTrue(body.startswith(b"\r\n--openbits-byteranges\r\n"))
        parts = body.split(b"\r\n--openbits-byteranges")
        self.assertEqual(parts[0], b"")
        self.assertEqual(parts[-1], b"--\r\n")
        self.assertEqual(len(parts), len(ranges) + 2)
        for part, (first, last) in zip(parts[1:-1], ranges):
            head, _, data = part.partition(b"\r\n\r\n")
            self.assertEqual(head, ("\r\nContent-Type: application/octet-stream\r\n"
                                    "Content-Range: bytes %d-%d/%d" % (first, last, size)).encode())
            self.assertEqual(data, expected(first, last + 1))

    def test_multirange_fallbacks(self):
        response, body = self.request("GET", "/file/1000?multirange=first", {"Range": "bytes=10-19,30-39"})
        self.assertEqual((response.status, response.getheader("Content-Range")), (206, "bytes 10-19/1000"))
        self.assertEqual(body, expected(10, 20))
        response, body = self.request("GET", "/file/1000?multirange=whole", {"Range": "bytes=10-19,30-39"})
        self.assertEqual((response.status, body), (200, expected(0, 1000)))

    def test_norange(self):
        response, body = self.request("GET", "/file/1000?norange=1", {"Range": "bytes=10-19"})
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.getheader("Accept-Ranges"))
        self.assertEqual(body, expected(0, 1000))
        response, _ = self.request("HEAD", "/file/1000?norange=1")
        self.assertIsNone(response.getheader("Accept-Ranges"))
        self.assertEqual(response.getheader("Content-Length"), "1000")

    def test_nolength(self):
        response, body = self.request("HEAD", "/file/100000?nolength=1")
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.getheader("Content-Length"))
        self.assertIsNone(response.getheader("Accept-Ranges"))
        response, body = self.request("GET", "/file/100000?nolength=1", {"Range": "bytes=0-9"})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
        self.assertIsNone(response.getheader("Content-Length"))
        self.assertEqual(body, expected(0, 100000))

    def test_mtime_changes_validators(self):
        response, _ = self.request("HEAD", "/file/10?mtime=1000000000")
        self.assertEqual(response.getheader("Last-Modified"), email.utils.formatdate(1000000000, usegmt=True))
        self.assertEqual(response.getheader("ETag"), '"a-3b9aca00"')

    def test_if_range_and_if_unmodified_since(self):
        response, _ = self.request("HEAD", "/file/1000")
        etag, date = response.getheader("ETag"), response.getheader("Last-Modified")
        for validator in (etag, date):
            response, body = self.request("GET", "/file/1000", {"Range": "bytes=0-9", "If-Range": validator})
            self.assertEqual((response.status, body), (206, expected(0, 10)))
        response, body = self.request("GET", "/file/1000?mtime=1800000000",
                                      {"Range": "bytes=0-9", "If-Range": etag})
        self.assertEqual((response.status, len(body)), (200, 1000))
        response, _ = self.request("GET", "/file/1000?mtime=1800000000", {"If-Unmodified-Since": date})
        self.assertEqual(response.status, 412)
        response, _ = self.request("GET", "/file/1000", {"If-Unmodified-Since": date})
        self.assertEqual(response.status, 200)

    # --- status, failures, redirects, authentication ----------------------------------------------

    def test_status_codes(self):
        for code in (200, 403, 404, 407, 500, 503):
            with self.subTest(code=code):
                response, body = self.request("GET", "/status/%d" % code)
                self.assertEqual(response.status, code)
                self.assertEqual(int(response.getheader("Content-Length")), len(body))
        response, _ = self.request("GET", "/status/503?retry_after=7")
        self.assertEqual(response.getheader("Retry-After"), "7")
        response, body = self.request("GET", "/status/204")
        self.assertEqual((response.status, body), (204, b""))
        response, _ = self.request("GET", "/nothing/here")
        self.assertEqual(response.status, 404)
        response, _ = self.request("GET", "/status/99")
        self.assertEqual(response.status, 400)

    def test_fail_times(self):
        key = self.key()
        path = "/file/10?fail_times=2&retry_after=1&key=" + key
        statuses = []
        for _ in range(4):
            response, body = self.request("GET", path)
            statuses.append(response.status)
        self.assertEqual(statuses, [503, 503, 200, 200])
        self.assertEqual(body, expected(0, 10))
        response, _ = self.request("HEAD", "/file/10?fail_times=1&fail_status=500&key=" + self.key())
        self.assertEqual(response.status, 500)

    def test_fail_times_default_key_is_the_url(self):
        path = "/file/11?fail_times=1&name=%s" % self.key()
        self.assertEqual(self.request("GET", path)[0].status, 503)
        self.assertEqual(self.request("GET", path)[0].status, 200)

    def test_reset_after(self):
        connection = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
        self.addCleanup(connection.close)
        connection.sendall(b"GET /file/10000000?reset_after=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        with self.assertRaises(ConnectionResetError):
            while True:
                data = connection.recv(65536)
                if not data:
                    self.fail("FIN instead of RST after %d bytes" % len(received))
                received += data
        head, _, body = received.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: 10000000", head)
        # The server resets only once the 1000 bytes are acknowledged, and Linux keeps
        # received data readable after an RST: all 1000 arrive.
        self.assertEqual(body, expected(0, 1000))

    def test_close_after(self):
        response = None
        connection = self.connect()
        connection.request("GET", "/file/100000?close_after=5000")
        response = connection.getresponse()
        with self.assertRaises(http.client.IncompleteRead) as caught:
            response.read()
        self.assertEqual(caught.exception.partial, expected(0, 5000))

    def test_cut_times(self):
        key = self.key()
        path = "/file/100000?close_after=10&cut_times=1&key=" + key
        self.assertEqual(self.request("HEAD", path)[0].status, 200)  # a HEAD uses up nothing
        connection = self.connect()
        connection.request("GET", path)
        with self.assertRaises(http.client.IncompleteRead):
            connection.getresponse().read()
        response, body = self.request("GET", path)
        self.assertEqual((response.status, body), (200, expected(0, 100000)))

    def test_slow(self):
        start = time.monotonic()
        response, body = self.request("GET", "/file/3000?slow=10000")
        elapsed = time.monotonic() - start
        self.assertEqual(body, expected(0, 3000))
        self.assertGreaterEqual(elapsed, 0.25)  # 3000 bytes at 10000 B/s: 0.3 s

    def test_redirect_chain(self):
        path, hops = "/redirect/3/file/10?name=x", 0
        while True:
            response, _ = self.request("GET", path)
            if response.status != 302:
                break
            hops += 1
            location = response.getheader("Location")
            self.assertTrue(location.startswith("http://127.0.0.1:%d/" % self.server.port), location)
            path = location[len("http://127.0.0.1:%d" % self.server.port):]
        self.assertEqual((hops, path, response.status), (3, "/file/10?name=x", 200))

    def test_redirect_to_and_code(self):
        response, _ = self.request("GET", "/redirect/1/ignored?to=http%3A%2F%2Flocalhost%3A1%2Ffile%2F5&redirect_code=307")
        self.assertEqual(response.status, 307)
        self.assertEqual(response.getheader("Location"), "http://localhost:1/file/5")
        response, _ = self.request("GET", "/redirect/2/file/5?to=http%3A%2F%2Fother%2F")
        self.assertIn("/redirect/1/file/5?to=", response.getheader("Location"))

    def test_basic_auth(self):
        path = "/auth/basic/user/secret/file/100"
        response, _ = self.request("GET", path)
        self.assertEqual(response.status, 401)
        self.assertEqual(response.getheader("WWW-Authenticate"), 'Basic realm="openbits-test"')
        wrong = base64.b64encode(b"user:wrong").decode()
        response, _ = self.request("GET", path, {"Authorization": "Basic " + wrong})
        self.assertEqual(response.status, 401)
        right = base64.b64encode(b"user:secret").decode()
        response, body = self.request("GET", path, {"Authorization": "Basic " + right, "Range": "bytes=1-2"})
        self.assertEqual((response.status, body), (206, expected(1, 3)))
        response, _ = self.request("GET", "/redirect/1/auth/basic/user/secret/file/1")
        self.assertTrue(response.getheader("Location").endswith("/auth/basic/user/secret/file/1"))

    def test_echo_headers(self):
        response, body = self.request("GET", "/echo-headers", {"X-Custom": "value 1", "X-Other": "2"})
        self.assertEqual(response.status, 200)
        self.assertIn(b"X-Custom: value 1\r\nX-Other: 2\r\n", body)
        connection = self.connect()
        connection.request("POST", "/echo-headers", body=b"payload", headers={"X-Posted": "yes"})
        response = connection.getresponse()
        self.assertIn(b"X-Posted: yes\r\n", response.read())

    # --- connections and the journal -------------------------------------------------------------

    def test_keep_alive(self):
        connection = self.connect()
        sockets = set()
        for path in ("/file/10", "/status/404", "/file/5?fail_times=1&key=" + self.key(), "/echo-headers"):
            connection.request("GET", path, headers={"Range": "bytes=0-1"})
            response = connection.getresponse()
            response.read()
            self.assertFalse(response.will_close, path)
            sockets.add(id(connection.sock))
        self.assertEqual(len(sockets), 1)

    def test_journal(self):
        key = self.key()
        self.request("GET", "/file/10?key=" + key, {"Range": "bytes=0-3", "X-Mark": key})
        with open(self.server.journal, encoding="utf-8") as file:
            entries = [json.loads(line) for line in file]
        entry = [e for e in entries if e["path"] == "/file/10?key=" + key][-1]
        self.assertEqual(entry["method"], "GET")
        self.assertEqual(entry["version"], "HTTP/1.1")
        self.assertEqual(entry["request_line"], "GET /file/10?key=%s HTTP/1.1" % key)
        self.assertEqual(entry["range"], "bytes=0-3")
        self.assertIn(["X-Mark", key], entry["headers"])


class LifecycleTest(unittest.TestCase):
    def test_stops_when_stdin_closes(self):
        server = ServerProcess()
        port_file = server.port_file
        with open(port_file, encoding="ascii") as file:
            self.assertEqual(file.read(), "%d\n%d\n" % (server.port, server.process.pid))
        self.assertEqual(server.stop("stdin"), 0)
        self.assertFalse(os.path.exists(port_file))

    def test_stops_on_sigterm_with_connections_open(self):
        server = ServerProcess()
        idle = socket.create_connection(("127.0.0.1", server.port))
        self.addCleanup(idle.close)
        self.assertEqual(server.stop("sigterm"), 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()

    def test_content_generator_matches_formula(self):
        sys.path.insert(0, os.path.dirname(SERVER))
        try:
            import http_server
        finally:
            sys.path.pop(0)
        for start, end in ((0, 70000), (65521 * 255 - 5, 65521 * 257 + 5), (2 ** 33 - 3, 2 ** 33 + 3)):
            with self.subTest(start=start):
                self.assertEqual(b"".join(http_server.content(start, end)), expected(start, end))
                self.assertEqual(bytes(http_server.content_byte(i) for i in range(start, start + 3)),
                                 expected(start, start + 3))


if __name__ == "__main__":
    unittest.main(verbosity=2)
