#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Self-test of the BITS upload side of tests/servers/http_server.py (bits_upload.py), run
natively (ctest --preset native). A client written here with http.client speaks the protocol
of BITS-SPEC.md §9 to a server started with --upload-dir, and checks the files, replies,
journal lines and every fault option."""

import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_http_server import ServerProcess, expected  # noqa: E402

PROTOCOL = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
BG_E_SESSION_NOT_FOUND = 0x8020001F


def data_of(size, seed=7):
    return bytes((i * 31 + seed + i // 251) & 0xFF for i in range(size))


class Client:
    """One upload, packet by packet, on one keep-alive connection."""

    def __init__(self, port, url):
        self.port = port
        self.url = url
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.session = None

    def post(self, packet, headers=None, body=b""):
        all_headers = {"BITS-Packet-Type": packet, "Content-Length": str(len(body))}
        if self.session and packet != "Create-Session":
            all_headers["BITS-Session-Id"] = self.session
        all_headers.update(headers or {})
        self.connection.request("BITS_POST", self.url, body=body, headers=all_headers)
        response = self.connection.getresponse()
        response.read()
        return response

    def create(self):
        response = self.post("Create-Session", {"BITS-Supported-Protocols": PROTOCOL})
        if response.status == 200:
            self.session = response.getheader("BITS-Session-Id")
        return response

    def fragment(self, data, first, total, name=None):
        headers = {"Content-Range": "bytes %d-%d/%d" % (first, first + len(data) - 1, total)}
        if name:
            headers["Content-Name"] = name
        return self.post("Fragment", headers, data)

    def close(self):
        self.connection.close()


class BitsUploadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(["--upload-dir", "{dir}/uploads"])
        cls.uploads = os.path.join(cls.server.dir, "uploads")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, "the server exited with %d" % code

    def client(self, name, query=""):
        return Client(self.server.port, "/upload/%s%s" % (name, "?" + query if query else ""))

    def journal(self, name):
        with open(self.server.journal, encoding="utf-8") as file:
            lines = [json.loads(line) for line in file]
        return [line["bits"] for line in lines if "bits" in line and ("/upload/%s" % name) in line["path"]]

    def upload(self, client, data, fragment=1000):
        self.assertEqual(client.create().status, 200)
        response = None
        for first in range(0, len(data), fragment):
            response = client.fragment(data[first:first + fragment], first, len(data))
            self.assertEqual(response.status, 200)
            self.assertEqual(int(response.getheader("BITS-Received-Content-Range")),
                             min(first + fragment, len(data)))
        return response

    def stored(self, name):
        with open(os.path.join(self.uploads, name), "rb") as file:
            return file.read()

    def sessions_left(self):
        return os.listdir(os.path.join(self.uploads, ".sessions"))

    # --- the protocol ------------------------------------------------------------------------------

    def test_ping_and_create_session(self):
        client = self.client("ping.bin")
        response = client.post("Ping")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("BITS-Packet-Type"), "Ack")
        self.assertEqual(response.getheader("Content-Length"), "0")
        response = client.create()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("BITS-Protocol"), PROTOCOL)
        self.assertRegex(client.session, r"^\{[0-9a-f-]{36}\}$")
        self.assertEqual(response.getheader("Accept-Encoding"), "Identity")
        self.assertIsNone(response.getheader("BITS-Host-Id"))
        self.assertEqual(client.post("Close-Session").status, 200)
        client.close()

    def test_protocol_mismatch(self):
        client = self.client("mismatch.bin")
        response = client.post("Create-Session", {"BITS-Supported-Protocols": "{00000000-0000-0000-0000-000000000000}"})
        self.assertEqual(response.status, 400)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), 0x80200022)
        self.assertEqual(int(response.getheader("BITS-Error-Context"), 16), 5)
        client.close()

    def test_whole_upload(self):
        data = data_of(10000)
        client = self.client("whole.bin")
        response = self.upload(client, data, 3000)
        self.assertIsNone(response.getheader("BITS-Reply-URL"))
        self.assertEqual(self.stored("whole.bin"), data)
        self.assertEqual(client.post("Close-Session").status, 200)
        self.assertEqual(self.stored("whole.bin"), data)
        lines = self.journal("whole.bin")
        self.assertEqual([l["packet"] for l in lines], ["Create-Session"] + ["Fragment"] * 4 + ["Close-Session"])
        self.assertEqual(sum(l["body_bytes"] for l in lines), 10000)
        self.assertEqual(lines[-2]["event"], "complete")
        self.assertEqual(lines[-1]["event"], "closed")
        client.close()

    def test_empty_upload(self):
        client = self.client("empty.bin")
        self.assertEqual(client.create().status, 200)
        response = client.post("Fragment", {"Content-Range": "bytes */0"})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("BITS-Received-Content-Range"), "0")
        self.assertEqual(self.stored("empty.bin"), b"")
        client.close()

    def test_overlap_and_gap(self):
        data = data_of(5000)
        client = self.client("overlap.bin")
        self.assertEqual(client.create().status, 200)
        self.assertEqual(client.fragment(data[:2000], 0, 5000).status, 200)
        # A gap: 416 and where the server is.
        response = client.fragment(data[3000:4000], 3000, 5000)
        self.assertEqual(response.status, 416)
        self.assertEqual(response.getheader("BITS-Received-Content-Range"), "2000")
        # An overlap: only the new part is written.
        response = client.fragment(data[1000:3000], 1000, 5000)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("BITS-Received-Content-Range"), "3000")
        self.assertEqual(client.fragment(data[3000:], 3000, 5000).status, 200)
        self.assertEqual(self.stored("overlap.bin"), data)
        lines = self.journal("overlap.bin")
        self.assertEqual([l["new_bytes"] for l in lines if l["packet"] == "Fragment"], [2000, 0, 1000, 2000])
        client.close()

    def test_bad_fragments(self):
        client = self.client("bad.bin")
        self.assertEqual(client.create().status, 200)
        for headers, body in (({"Content-Range": "bytes 0-9/5"}, b"x" * 10),
                              ({"Content-Range": "bytes 0-9/20"}, b"x" * 9),
                              ({"Content-Range": "0-9/20"}, b"x" * 10),
                              ({}, b"x")):
            response = client.post("Fragment", headers, body)
            self.assertEqual(response.status, 400, headers)
            self.assertEqual(int(response.getheader("BITS-Error-Context"), 16), 5)
        client.close()

    def test_unknown_session(self):
        client = self.client("unknown.bin")
        client.session = "{00000000-0000-0000-0000-000000000001}"
        for packet in ("Close-Session", "Cancel-Session"):
            response = client.post(packet)
            self.assertEqual(response.status, 500)
            self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), BG_E_SESSION_NOT_FOUND)
        response = client.fragment(b"abc", 0, 3)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), BG_E_SESSION_NOT_FOUND)
        client.close()

    def test_close_and_cancel_before_the_end(self):
        for packet in ("Close-Session", "Cancel-Session"):
            name = "early-%s.bin" % packet
            client = self.client(name)
            self.assertEqual(client.create().status, 200)
            self.assertEqual(client.fragment(b"x" * 100, 0, 1000).status, 200)
            part = os.path.join(self.uploads, ".sessions", client.session + ".part")
            self.assertTrue(os.path.exists(part))
            self.assertEqual(client.post(packet).status, 200)
            self.assertFalse(os.path.exists(part))
            self.assertFalse(os.path.exists(os.path.join(self.uploads, name)))
            client.close()

    def test_cancel_after_the_end_keeps_the_file(self):
        data = data_of(100)
        client = self.client("cancel-late.bin")
        self.upload(client, data, 100)
        self.assertEqual(client.post("Cancel-Session").status, 200)
        self.assertEqual(self.stored("cancel-late.bin"), data)
        client.close()

    def test_overwrite(self):
        client = self.client("exists.bin")
        self.upload(client, b"first", 100)
        client.close()
        client = self.client("exists.bin", "overwrite=0")
        self.assertEqual(client.create().status, 409)
        client.close()

    # --- upload-reply ------------------------------------------------------------------------------

    def reply_of(self, url, headers=None):
        split = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
        connection.request("GET", split.path + ("?" + split.query if split.query else ""), headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body

    def test_reply_by_value_and_by_reference(self):
        data = data_of(70000)
        for notify in ("value", "reference"):
            name = "reply-%s.bin" % notify
            client = self.client(name, "notify=" + notify)
            response = self.upload(client, data, 30000)
            url = response.getheader("BITS-Reply-URL")
            self.assertTrue(url.startswith("http://127.0.0.1:%d/reply/" % self.server.port), url)
            # The final fragment again: the same reply (the application is not asked twice).
            again = client.fragment(data[60000:], 60000, 70000)
            self.assertEqual(again.getheader("BITS-Reply-URL"), url)
            response, body = self.reply_of(url)
            self.assertEqual(response.status, 200)
            self.assertEqual(body, data)                  # /app/echo
            response, body = self.reply_of(url, {"Range": "bytes=100-199"})
            self.assertEqual(response.status, 206)
            self.assertEqual(body, data[100:200])
            # Without copy=1 the upload goes to the application only.
            self.assertFalse(os.path.exists(os.path.join(self.uploads, name)))
            self.assertEqual(client.post("Close-Session").status, 200)
            self.assertEqual(self.reply_of(url)[0].status, 200)      # the reply outlives the session
            client.close()

    def test_reply_generated_copied_cancelled(self):
        client = self.client("generated.bin", "notify=value&app=/app/generate&reply_size=5000&copy=1")
        response = self.upload(client, b"abc", 10)
        url = response.getheader("BITS-Reply-URL")
        self.assertEqual(self.reply_of(url)[1], expected(0, 5000))
        self.assertEqual(self.stored("generated.bin"), b"abc")
        self.assertEqual(client.post("Cancel-Session").status, 200)
        self.assertEqual(self.reply_of(url)[0].status, 404)     # Cancel-Session drops the reply
        client.close()

    def test_reply_static_and_reply_query(self):
        client = self.client("static.bin", "notify=reference&app=/app/static&reply_size=123")
        url = self.upload(client, b"abc", 10).getheader("BITS-Reply-URL")
        self.assertTrue(url.endswith("/file/123"), url)
        client.close()
        client = self.client("query.bin", "notify=value&reply_query=" + urllib.parse.quote("close_after=10"))
        url = self.upload(client, data_of(100), 100).getheader("BITS-Reply-URL")
        self.assertTrue(url.endswith("?close_after=10"), url)
        client.close()

    def test_application_failure(self):
        client = self.client("appfail.bin", "notify=value&app_status=500&app_fail_times=1")
        self.assertEqual(client.create().status, 200)
        response = client.fragment(b"hello", 0, 5)
        self.assertEqual(response.status, 500)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), 0x801901F4)
        self.assertEqual(int(response.getheader("BITS-Error-Context"), 16), 7)
        # Posting the last fragment again asks the application again.
        response = client.fragment(b"hello", 0, 5)
        self.assertEqual(response.status, 200)
        self.assertEqual(self.reply_of(response.getheader("BITS-Reply-URL"))[1], b"hello")
        self.assertEqual([l["event"] for l in self.journal("appfail.bin")][-2:], ["app-failed", "reply"])
        client.close()

    # --- faults ------------------------------------------------------------------------------------

    def test_plain_and_fail(self):
        client = self.client("plain.bin", "plain=ping")
        response = client.post("Ping")
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.getheader("BITS-Packet-Type"))
        self.assertEqual(client.create().status, 200)
        client.close()
        client = self.client("fail.bin", "fail=fragment&fail_nth=2&fail_status=500")
        self.assertEqual(client.create().status, 200)
        self.assertEqual(client.fragment(b"a" * 10, 0, 30).status, 200)
        response = client.fragment(b"b" * 10, 10, 30)
        self.assertEqual(response.status, 500)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), 0x801901F4)
        self.assertEqual(client.fragment(b"b" * 10, 10, 30).status, 200)
        client.close()
        client = self.client("fail-plain.bin", "fail=any&fail_nth=1&fail_count=2&fail_plain=1")
        self.assertIsNone(client.post("Ping").getheader("BITS-Packet-Type"))
        self.assertEqual(client.post("Ping").status, 503)
        self.assertEqual(client.post("Ping").status, 200)
        client.close()

    def test_max_size(self):
        client = self.client("big.bin", "max_size=10")
        self.assertEqual(client.create().status, 200)
        response = client.fragment(b"x" * 5, 0, 11)
        self.assertEqual(response.status, 413)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), 0x80200020)
        client.close()

    def test_drop_fragment(self):
        data = data_of(200000)
        client = self.client("drop.bin", "drop_fragment=2&drop_after=50000")
        self.assertEqual(client.create().status, 200)
        self.assertEqual(client.fragment(data[:100000], 0, 200000).status, 200)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            client.fragment(data[100000:], 100000, 200000)
        client.close()
        session = client.session
        client = self.client("drop.bin", "drop_fragment=2&drop_after=50000")
        client.session = session
        # The server kept what it read: the same fragment again only adds the rest.
        response = client.fragment(data[100000:], 100000, 200000)
        self.assertEqual(response.status, 200)
        self.assertEqual(self.stored("drop.bin"), data)
        fragments = [l for l in self.journal("drop.bin") if l["packet"] == "Fragment"]
        self.assertTrue(fragments[1]["dropped"])
        self.assertEqual(fragments[1]["new_bytes"], 50000)
        self.assertEqual(fragments[1]["received"], 150000)
        self.assertEqual(fragments[2]["new_bytes"], 50000)
        client.close()

    def test_forget_and_rewind(self):
        client = self.client("forget.bin", "forget_session=2")
        self.assertEqual(client.create().status, 200)
        self.assertEqual(client.fragment(b"a" * 10, 0, 20).status, 200)
        response = client.fragment(b"b" * 10, 10, 20)
        self.assertEqual(int(response.getheader("BITS-Error-Code"), 16), BG_E_SESSION_NOT_FOUND)
        self.assertEqual(self.journal("forget.bin")[-1]["event"], "forgotten")
        client.close()
        client = self.client("rewind.bin", "rewind_fragment=2&rewind_to=4")
        self.assertEqual(client.create().status, 200)
        self.assertEqual(client.fragment(b"a" * 10, 0, 20).status, 200)
        response = client.fragment(b"b" * 10, 10, 20)
        self.assertEqual(response.status, 416)
        self.assertEqual(response.getheader("BITS-Received-Content-Range"), "4")
        self.assertEqual(client.fragment(b"a" * 6 + b"b" * 10, 4, 20).status, 200)
        self.assertEqual(self.stored("rewind.bin"), b"a" * 10 + b"b" * 10)
        client.close()

    def test_host_id(self):
        client = self.client("host.bin", "host_id=localhost:%d&host_id_timeout=30" % self.server.port)
        response = client.create()
        self.assertEqual(response.getheader("BITS-Host-Id"), "localhost:%d" % self.server.port)
        self.assertEqual(response.getheader("BITS-Host-Id-Fallback-Timeout"), "30")
        client.close()

    def test_hold_fragment_until_cancelled(self):
        client = self.client("hold.bin", "hold_fragment=1")
        self.assertEqual(client.create().status, 200)
        other = self.client("hold.bin", "hold_fragment=1")
        other.session = client.session
        result = {}
        thread = threading.Thread(target=lambda: result.update(status=client.fragment(b"x" * 10, 0, 20).status))
        thread.start()
        deadline = time.monotonic() + 10
        while not any(l["event"] == "held" for l in self.journal("hold.bin")) and time.monotonic() < deadline:
            time.sleep(0.01)
        # The ack is only written once the fragment was handled: held means not answered yet.
        self.assertNotIn("status", result)
        self.assertEqual(other.post("Cancel-Session").status, 200)
        thread.join(10)
        self.assertEqual(result.get("status"), 200)
        self.assertNotIn(client.session + ".part", self.sessions_left())
        client.close()
        other.close()

    def test_not_an_upload_url(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        connection.request("BITS_POST", "/file/10", headers={"BITS-Packet-Type": "Ping", "Content-Length": "0"})
        response = connection.getresponse()
        response.read()
        self.assertEqual(response.status, 404)
        self.assertIsNone(response.getheader("BITS-Packet-Type"))
        connection.close()


if __name__ == "__main__":
    unittest.main()
