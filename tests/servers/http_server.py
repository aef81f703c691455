#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Loopback HTTP/1.1 download server for openbits' tests (Python 3 standard library only).

Run:
    python3 http_server.py --port-file PATH [--journal PATH] [--ignore-stdin] [--verbose]
                           [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] [--upload-dir DIR]

It binds 127.0.0.1 on a free port, writes "PORT\\nPID\\n" to --port-file (through a temporary
name and a rename, so a reader sees all of it or nothing) and serves until its standard input
reaches end of file (or, with --ignore-stdin, never), or until SIGTERM/SIGINT. It then removes
the port file and exits with status 0. Connections are HTTP/1.1 keep-alive; every response has
a Content-Length or, where asked for, chunked framing. With --tls-cert and --tls-key it speaks
HTTPS instead (the handshake runs on the connection's thread; one that fails ends that
connection quietly), and its absolute redirect locations say https. With --tls-client-ca too,
a client must present a certificate that those certificates sign.

Content is generated, never stored. Byte i (counting from 0) of every /file/<size> is

    byte(i) = ((i % 65521) * 2654435761 >> 16) + i // 65521   (mod 256)

65521 is the largest prime below 2**16, so a part put at the wrong offset (by any power of two
in particular) does not match, and the block counter i // 65521 makes a shift by whole periods
show as well (up to 256 periods, 16 MB). A client can check any range with that one line.

URLs (the prefixes /redirect/... and /auth/... wrap any other URL, and nest):

    /file/<size>                 <size> bytes of the content above (any size, even many GiB).
    /status/<code>               that status with a short text body (no body for 204 and 304).
    /redirect/<n>/<rest>         n >= 1 302 hops ending at /<rest> (the query goes along on
                                 every hop; the last drops to= and redirect_code=). Locations
                                 are absolute, built from the request's Host.
    /auth/basic/<user>/<password>/<rest>
                                 401 with WWW-Authenticate: Basic unless the request carries
                                 those credentials; then serves /<rest>.
    /echo-headers                the request's header lines, "Name: value\\r\\n" each, as the
                                 text/plain body, in the order received.

With --upload-dir DIR it also speaks the BITS upload protocol (bits_upload.py, whose docstring
describes it): BITS_POST /upload/<name> puts files into DIR, POST /app/<kind> is the upload-reply
server application, and GET /reply/<token> serves its replies like /file (ranges and the query
parameters below apply).

Query parameters (anywhere unless noted; the last value of a repeated one counts):

    name=<x>                     ignored: gives files distinct names.
    mtime=<unix seconds>         Last-Modified (default 1700000000, 2023-11-14T22:13:20Z). The
                                 ETag is "<size hex>-<mtime hex>", so a different mtime is a
                                 changed file.
    norange=1                    /file: ignore Range (200 with the whole body) and send no
                                 Accept-Ranges.
    nolength=1                   /file: no Content-Length on HEAD; GET answers 200 with the
                                 whole body in chunked encoding (implies norange=1).
    multirange=first|whole       /file, for a Range with several ranges: serve only the first
                                 range (a single-part 206) or the whole file (200) instead of a
                                 multipart/byteranges 206.
    fail_times=<n>               the first n requests with the same key get 503 (with
                                 Retry-After if retry_after is given), later ones go through.
    fail_status=<code>           the status fail_times answers with instead of 503.
    key=<k>                      the counter fail_times and cut_times use (default: the path
                                 and query without fail_*/cut_times). Every method counts.
    retry_after=<seconds>        adds Retry-After to /status/<code> and to fail_times answers.
    reset_after=<n>              after n body bytes (once the client's TCP has acknowledged
                                 them), reset the connection (SO_LINGER 0, so the client sees an
                                 RST); nothing happens if the body is not longer.
                                 Body bytes are counted as sent: multipart heads and chunk
                                 framing count too.
    close_after=<n>              after n body bytes, close the connection cleanly (FIN), so the
                                 body is shorter than its Content-Length.
    cut_times=<n>                reset_after/close_after apply only to the first n requests
                                 that reach them with the same key (default: every request).
    slow=<bytes per second>      throttle the body to that rate.
    to=<absolute URL>            /redirect: the last hop goes there instead of /<rest>.
    redirect_code=<code>         /redirect: 301, 302 (default), 303, 307 or 308.
    proxy_auth=<user>:<password> answer 407 with Proxy-Authenticate: Basic unless the request
                                 carries those proxy credentials (for a client using this
                                 server as its proxy: it takes absolute URLs too).

Ranges (/file, GET only; HEAD and other methods ignore Range): "Range: bytes=a-b", "a-" and
"-n", one or several. One satisfiable range gives 206 with Content-Range; several give a
multipart/byteranges 206 (boundary "openbits-byteranges", one CRLF before the first
boundary, each part with only Content-Type and Content-Range); none satisfiable gives 416 with
"Content-Range: bytes */<size>". A malformed Range, or another unit, is ignored (200). If-Range
with an ETag or date that does not match turns the answer into 200 with the whole body; an
If-Unmodified-Since earlier than mtime gives 412. Every HEAD/GET of /file carries
Last-Modified, ETag and (unless norange/nolength) Accept-Ranges: bytes.

Journal (--journal PATH): one JSON object per request, appended and flushed before the
response is sent:
    {"time": <float>, "client_port": <int>, "method": "GET", "path": "/file/10?x=1",
     "version": "HTTP/1.1", "request_line": "GET /file/10?x=1 HTTP/1.1",
     "headers": [["Host", "127.0.0.1:1234"], ...], "range": "bytes=0-9" or null}
"""

import argparse
import base64
import email.utils
import http.server
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

import bits_upload

try:
    import fcntl
    import termios
except ImportError:  # not on Linux: wait_until_acknowledged does nothing
    pass

PERIOD = 65521
MULTIPLIER = 2654435761
DEFAULT_MTIME = 1700000000
BOUNDARY = "openbits-byteranges"
CHUNK = 64 * 1024
MAX_SIZE = 1 << 50

# One period of the content and the 256 "add k" tables: byte(i) for i in block q is
# PERIOD_BYTES[i % PERIOD] + q (mod 256), which bytes.translate applies at C speed.
PERIOD_BYTES = bytes(((j * MULTIPLIER) >> 16) & 0xFF for j in range(PERIOD))
ADD_TABLES = [bytes((x + k) & 0xFF for x in range(256)) for k in range(256)]


def content_byte(i):
    """The reference formula, one byte at a time (the tests check content() against it)."""
    return (((i % PERIOD) * MULTIPLIER >> 16) + i // PERIOD) & 0xFF


def content(start, end):
    """Yields the content bytes [start, end) in pieces of at most CHUNK bytes."""
    pos = start
    while pos < end:
        block, offset = divmod(pos, PERIOD)
        count = min(end - pos, PERIOD - offset, CHUNK)
        yield PERIOD_BYTES[offset:offset + count].translate(ADD_TABLES[block & 0xFF])
        pos += count


def stored(path, start, end):
    """Yields the bytes [start, end) of a file in pieces of at most CHUNK bytes."""
    with open(path, "rb") as file:
        file.seek(start)
        while start < end:
            data = file.read(min(CHUNK, end - start))
            if not data:
                raise ConnectionError("%s is shorter than it was" % path)
            start += len(data)
            yield data


def wait_until_acknowledged(sock, timeout=2.0):
    """Waits (a bounded time) until the peer's TCP has acknowledged everything sent, so that an
    RST that follows does not overtake data still in flight. Linux only (TIOCOUTQ); elsewhere a
    no-op. The peer's application may still not have read it: what an RST does to unread data
    is up to the peer (Linux keeps it readable; Wine's sockets drop it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except (OSError, NameError):
            return
        if unsent == 0:
            return
        time.sleep(0.005)


class AbortConnection(Exception):
    """The handler dropped the connection on purpose (reset_after / close_after)."""


class Counters:
    """Per-key request counters for fail_times and cut_times, shared by all connections."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def take(self, kind, key, limit):
        """True for the first `limit` calls with (kind, key), False afterwards."""
        with self.lock:
            seen = self.counts.get((kind, key), 0)
            if seen >= limit:
                return False
            self.counts[(kind, key)] = seen + 1
            return True


class Journal:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8") if path else None

    def record(self, entry):
        if not self.file:
            return
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()

    def close(self):
        if self.file:
            self.file.close()


def parse_ranges(header, size):
    """Parses a Range header against `size`.

    Returns None when the header is to be ignored (absent, malformed, another unit), [] when no
    range is satisfiable (416), else a list of (first, last) inclusive pairs, in request order.
    """
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        return None
    ranges = []
    for part in parts:
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or (first and not first.isdigit()) or (last and not last.isdigit()):
            return None
        if not first:
            if not last:
                return None
            count = int(last)
            if count > 0 and size > 0:
                ranges.append((max(0, size - count), size - 1))
            continue
        first = int(first)
        last = int(last) if last else None
        if last is not None and last < first:
            return None
        if first >= size:
            continue
        ranges.append((first, size - 1 if last is None or last >= size else last))
    return ranges


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openbits-test/1"

    def version_string(self):
        return self.server_version
    timeout = 120  # idle keep-alive connections end after this

    # --- plumbing ----------------------------------------------------------------------------

    def __getattr__(self, name):
        # Every method (GET, HEAD, POST, custom verbs) goes through one handler.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def setup(self):
        super().setup()
        if self.server.tls:
            self.connection.do_handshake()

    def handle(self):
        try:
            super().handle()
        except AbortConnection:
            pass
        except (ConnectionError, TimeoutError):
            pass

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def send_simple(self, code, body=b"", headers=(), content_type="text/plain; charset=utf-8"):
        """A complete response with a small body and an exact Content-Length."""
        if code in (204, 304) or code < 200:
            body = b""
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if body or code not in (204, 304):
            self.send_header("Content-Type", content_type)
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def read_request_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                self.rfile.read(size + 2)
        elif length:
            remaining = int(length)
            while remaining > 0:
                data = self.rfile.read(min(remaining, CHUNK))
                if not data:
                    raise ConnectionError("request body cut short")
                remaining -= len(data)

    # --- the body writer: slow, reset_after, close_after ---------------------------------------

    def start_body(self, query, key):
        self.body_sent = 0
        self.body_started = time.monotonic()
        self.rate = int(query["slow"]) if "slow" in query else None
        self.cut_at, self.cut_reset = None, False
        for name, reset in (("reset_after", True), ("close_after", False)):
            if name in query:
                cut_at = int(query[name])
                # A HEAD has no body to cut and does not use up cut_times.
                if self.command == "HEAD" or ("cut_times" in query and not self.server.counters.take(
                        "cut", key, int(query["cut_times"]))):
                    break
                self.cut_at, self.cut_reset = cut_at, reset
                break

    def write_body(self, data):
        """Writes body bytes, honouring slow= and the cut-off of reset_after/close_after."""
        if self.cut_at is not None and self.body_sent + len(data) > self.cut_at:
            self.throttled_write(data[:self.cut_at - self.body_sent])
            self.cut_connection()
        self.throttled_write(data)

    def throttled_write(self, data):
        if not self.rate:
            self.wfile.write(data)
            self.body_sent += len(data)
            return
        step = max(1, min(CHUNK, self.rate // 20))
        for pos in range(0, len(data), step):
            piece = data[pos:pos + step]
            self.wfile.write(piece)
            self.body_sent += len(piece)
            delay = self.body_sent / self.rate - (time.monotonic() - self.body_started)
            if delay > 0:
                time.sleep(delay)

    def cut_connection(self):
        sock = self.connection
        if self.cut_reset:
            wait_until_acknowledged(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())  # linger 0: the close sends RST, not FIN
        else:
            sock.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
        raise AbortConnection()

    # --- routing -------------------------------------------------------------------------------

    def handle_any(self):
        if self.command == "BITS_POST":
            # The BITS upload protocol journals each packet itself, once it is handled.
            bits_upload.handle(self, self.server.uploads)
            return
        split = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        self.server.journal.record({
            "time": time.time(),
            "client_port": self.client_address[1],
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "request_line": self.requestline,
            "headers": [[k, v] for k, v in self.headers.items()],
            "range": self.headers.get("Range"),
        })
        if self.command == "POST" and split.path.startswith("/app/") and self.server.uploads:
            bits_upload.application(self, self.server.uploads, split, query)
            return
        if self.command not in ("GET", "HEAD"):
            self.read_request_body()
        try:
            self.route(split, query)
        except (ValueError, OverflowError) as error:
            self.send_simple(400, ("bad request: %s\n" % error).encode())

    def route(self, split, query):
        ignored = ("fail_times", "fail_status", "cut_times")
        key = query.get("key")
        if key is None:
            rest = [(k, v) for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True)
                    if k not in ignored]
            key = split.path + "?" + urllib.parse.urlencode(rest)

        if "proxy_auth" in query:
            user, _, password = query["proxy_auth"].partition(":")
            if not self.authorized(user, password, "Proxy-Authorization"):
                self.send_simple(407, b"proxy authorization required\n",
                                 [("Proxy-Authenticate", 'Basic realm="openbits-test-proxy"')])
                return

        if "fail_times" in query and self.server.counters.take("fail", key, int(query["fail_times"])):
            headers = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
            code = int(query.get("fail_status", "503"))
            self.send_simple(code, b"failing on purpose\n", headers)
            return

        parts = split.path.split("/")[1:]
        while True:
            if len(parts) >= 3 and parts[0] == "redirect":
                self.redirect(int(parts[1]), parts[2:], split, query)
                return
            if len(parts) >= 5 and parts[0] == "auth" and parts[1] == "basic":
                user = urllib.parse.unquote(parts[2])
                password = urllib.parse.unquote(parts[3])
                if not self.authorized(user, password):
                    self.send_simple(401, b"authorization required\n",
                                     [("WWW-Authenticate", 'Basic realm="openbits-test"')])
                    return
                parts = parts[4:]
                continue
            break

        if len(parts) == 2 and parts[0] == "file":
            self.serve_file(int(parts[1]), query, key)
        elif len(parts) == 2 and parts[0] == "status":
            code = int(parts[1])
            if not 200 <= code <= 599:
                raise ValueError("status %d out of range" % code)
            headers = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
            self.send_simple(code, ("status %d\n" % code).encode(), headers)
        elif len(parts) == 2 and parts[0] == "reply" and bits_upload.reply_path(self.server.uploads, parts[1]):
            path = bits_upload.reply_path(self.server.uploads, parts[1])
            self.serve_file(os.path.getsize(path), query, key, source=lambda a, b: stored(path, a, b),
                            mtime=int(os.path.getmtime(path)))
        elif parts == ["echo-headers"]:
            body = "".join("%s: %s\r\n" % (k, v) for k, v in self.headers.items())
            self.send_simple(200, body.encode("utf-8", "surrogateescape"))
        else:
            self.send_simple(404, b"not found\n")

    def authorized(self, user, password, header="Authorization"):
        scheme, _, value = self.headers.get(header, "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            sent = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            return False
        return sent == "%s:%s" % (user, password)

    def redirect(self, hops, rest, split, query):
        if hops < 1:
            raise ValueError("redirect needs at least 1 hop")
        code = int(query.get("redirect_code", "302"))
        if code not in (301, 302, 303, 307, 308):
            raise ValueError("redirect_code %d" % code)
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        suffix = "?" + split.query if split.query else ""
        if hops > 1:
            location = "%s://%s/redirect/%d/%s%s" % (self.server.scheme, host, hops - 1, "/".join(rest), suffix)
        elif "to" in query:
            location = query["to"]
        else:
            kept = [(k, v) for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True)
                    if k not in ("to", "redirect_code")]
            location = "%s://%s/%s" % (self.server.scheme, host, "/".join(rest))
            if kept:
                location += "?" + urllib.parse.urlencode(kept)
        self.send_simple(code, ("redirect to %s\n" % location).encode(), [("Location", location)])

    # --- /file/<size> ---------------------------------------------------------------------------

    def serve_file(self, size, query, key, source=None, mtime=None):
        """/file/<size>, or with source (source(start, end) yields bytes [start, end)) a stored
        file of that size and mtime (an upload-reply's reply)."""
        if not 0 <= size <= MAX_SIZE:
            raise ValueError("size %d out of range" % size)
        source = source or content
        if mtime is None:
            mtime = int(query.get("mtime", DEFAULT_MTIME))
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        etag = '"%x-%x"' % (size, mtime)
        nolength = query.get("nolength") == "1"
        norange = nolength or query.get("norange") == "1"
        common = [("Last-Modified", last_modified), ("ETag", etag),
                  ("Content-Type", "application/octet-stream")]
        if not norange:
            common.append(("Accept-Ranges", "bytes"))

        unmodified_since = self.headers.get("If-Unmodified-Since")
        if unmodified_since:
            try:
                limit = email.utils.parsedate_to_datetime(unmodified_since).timestamp()
            except (TypeError, ValueError):
                limit = None  # an invalid date is ignored
            if limit is not None and mtime > limit:
                self.send_simple(412, b"precondition failed\n")
                return

        ranges = None
        if self.command == "GET" and not norange:
            ranges = parse_ranges(self.headers.get("Range"), size)
            if_range = self.headers.get("If-Range")
            if ranges is not None and if_range is not None and if_range.strip() not in (etag, last_modified):
                ranges = None
            multirange = query.get("multirange")
            if ranges and len(ranges) > 1 and multirange == "first":
                ranges = ranges[:1]
            elif ranges and len(ranges) > 1 and multirange == "whole":
                ranges = None

        if ranges == []:
            self.send_simple(416, b"", [("Content-Range", "bytes */%d" % size)] + common[:2])
            return

        self.start_body(query, key)
        if ranges is None:
            self.send_response(200)
            for name, value in common:
                self.send_header(name, value)
            if nolength:
                if self.command != "HEAD":
                    self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            for piece in source(0, size):
                if nolength:
                    self.write_body(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    self.write_body(piece)
            if nolength:
                self.write_body(b"0\r\n\r\n")
            return

        if len(ranges) == 1:
            first, last = ranges[0]
            self.send_response(206)
            for name, value in common:
                self.send_header(name, value)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            for piece in source(first, last + 1):
                self.write_body(piece)
            return

        heads = [("\r\n--%s\r\nContent-Type: application/octet-stream\r\n"
                  "Content-Range: bytes %d-%d/%d\r\n\r\n" % (BOUNDARY, first, last, size)).encode()
                 for first, last in ranges]
        tail = ("\r\n--%s--\r\n" % BOUNDARY).encode()
        length = sum(len(h) for h in heads) + sum(l - f + 1 for f, l in ranges) + len(tail)
        self.send_response(206)
        for name, value in common:
            if name != "Content-Type":
                self.send_header(name, value)
        self.send_header("Content-Type", "multipart/byteranges; boundary=%s" % BOUNDARY)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        for head, (first, last) in zip(heads, ranges):
            self.write_body(head)
            for piece in source(first, last + 1):
                self.write_body(piece)
        self.write_body(tail)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, journal_path, verbose, tls=None, upload_dir=None):
        self.journal = Journal(journal_path)
        self.uploads = bits_upload.UploadService(upload_dir, content) if upload_dir else None
        self.counters = Counters()
        self.verbose = verbose
        self.tls = tls
        self.scheme = "https" if tls else "http"
        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.tls:
            # The handshake waits for the handler's thread (Handler.setup), not the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        # A client that refuses our certificate ends its handshake: not an error of ours.
        if self.tls and isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)

    def server_bind(self):
        # HTTPServer.server_bind would look the address up in DNS (getfqdn): not needed.
        http.server.socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def write_port_file(path, port):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="ascii") as file:
        file.write("%d\n%d\n" % (port, os.getpid()))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def wait_for_stdin_eof():
    """Returns when standard input reaches end of file (or is closed or broken).

    Under Wine, stdin is a socket that Wine made non-blocking, so this polls with select
    instead of a blocking read, and leaves the descriptor's flags alone (they are shared).
    """
    while True:
        try:
            select.select([0], [], [])
            if not os.read(0, 4096):
                return
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port-file", required=True, help="where to write PORT\\nPID\\n")
    parser.add_argument("--journal", help="append one JSON line per request here")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="do not stop at end of standard input (only on SIGTERM/SIGINT)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this private key (PEM)")
    parser.add_argument("--tls-client-ca", help="require a client certificate these (PEM) sign")
    parser.add_argument("--upload-dir", help="accept BITS uploads into this directory (bits_upload.py)")
    args = parser.parse_args()

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(args.tls_client_ca)
    server = Server(args.journal, args.verbose, tls, args.upload_dir)
    stopping = threading.Event()

    def stop(*_):
        if not stopping.is_set():
            stopping.set()
            # shutdown() waits for serve_forever, which runs on the main thread: never call it
            # from there (a signal handler runs on the main thread).
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.ignore_stdin:
        threading.Thread(target=lambda: (wait_for_stdin_eof(), stop()), daemon=True).start()

    write_port_file(args.port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        server.journal.close()
        try:
            os.remove(args.port_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
