# SPDX-License-Identifier: MIT
"""The BITS upload protocol (BITS-SPEC.md §9) for http_server.py: the server side of upload and
upload-reply jobs, with a small server application and fault injection. http_server.py routes
every BITS_POST request here, and GET /reply/<token> and POST /app/... too; it needs
--upload-dir DIR.

Upload URLs: BITS_POST /upload/<name>[?options]. The file, once whole, lands in DIR/<name>.
Sessions keep their bytes in DIR/.sessions/<session>.part until then, and replies live in
DIR/.replies/<token>. Packets (header BITS-Packet-Type, case-insensitive):

    Ping            200 Ack.
    Create-Session  needs BITS-Supported-Protocols with the BITS 1.5 upload protocol GUID;
                    200 Ack with BITS-Protocol, BITS-Session-Id ({GUID}), Accept-Encoding:
                    Identity (and BITS-Host-Id[-Fallback-Timeout] when asked for below).
    Fragment        BITS-Session-Id, Content-Range: bytes a-b/t, Content-Length b-a+1 (Content-Name
                    on the first; an empty file's one fragment says "bytes */0" and has no body).
                    Needs a <= received (else 416 with BITS-Received-Content-Range: received);
                    only bytes past `received` are written (overlaps are fine); 200 Ack
                    with BITS-Received-Content-Range: b+1. When b+1 == t the file is whole: it is
                    moved to DIR/<name>, or with notify= given to the server application, whose
                    reply the final ack names in BITS-Reply-URL.
    Close-Session   frees the session: an unfinished upload's bytes are deleted. 200 Ack.
    Cancel-Session  the same, and an upload-reply's reply is deleted too (a whole upload stays).

Every ack carries BITS-Packet-Type: Ack and Content-Length: 0. Errors carry BITS-Error-Code
(hex HRESULT) and BITS-Error-Context (0x5 the server, 0x7 the server application). An unknown
session is status 500 with BG_E_SESSION_NOT_FOUND.

Options (the upload URL's query; every packet of a job carries it; counts are per URL):

    notify=value|reference   upload-reply: hand the whole upload to the server application at
                             app=<path> (default /app/echo) by value (the upload is the POST
                             body, the reply is the answer's body) or by reference (a POST with
                             BITS-Request-DataFile-Name / BITS-Response-DataFile-Name naming files
                             the application reads and writes).
    reply_query=<query>      appended to the reply URL (fault options of the download server:
                             reset_after=..., cut_times=...).
    overwrite=0              Create-Session answers 409 when DIR/<name> exists.
    max_size=<n>             a Fragment whose total is over n: 413 with BG_E_TOO_LARGE.
    protocol=<guid>          Create-Session answers with this BITS-Protocol instead (a broken
                             server).
    host_id=<host>           Create-Session answers with BITS-Host-Id: <host>, and
    host_id_timeout=<s>      BITS-Host-Id-Fallback-Timeout: <s>.
    plain=<Packet-Type>|all  those packets get 200 without any BITS header (a server that does
                             not speak the protocol).
    fail=<Packet-Type>|any   the fail_nth-th (default 1) packet of that type, and the next
    fail_nth=<k>             fail_count-1 (default 1 in all), answer fail_status (default 503)
    fail_count=<n>           with BITS-Error-Code fail_code (default 0x80190000 + status, i.e.
    fail_status=<code>       BG_E_HTTP_ERROR_<status>) and context 0x5; fail_plain=1 leaves the
    fail_code=<hex>          BITS headers out (a proxy's error page). Fragments failed this way
    fail_plain=1             are not written.
    drop_fragment=<k>        the k-th Fragment: read drop_after (default half its body) bytes,
    drop_after=<n>           keep those that are new, then reset the connection (RST).
    forget_session=<k>       before the k-th Fragment the server forgets the session (as after
                             a restart): BG_E_SESSION_NOT_FOUND, the bytes so far deleted.
    rewind_fragment=<k>      before the k-th Fragment the server loses everything past
    rewind_to=<n>            rewind_to bytes (default 0): the fragment then gets 416.
    hold_fragment=<k>        the k-th Fragment's ack waits (at most 30 s) until the session is
                             cancelled or closed, or the client goes away (it is then not sent).

The server application, /app/<kind> (a POST from the upload server itself, or from anyone):

    /app/echo                the reply is the upload itself.
    /app/generate            the reply is reply_size=<n> bytes of the download content formula.
    /app/static              answers BITS-Static-Response-URL: <the server>/file/<reply_size>,
                             and the reply is served from there.
    app_status=<code>        the application fails with that status (app_fail_times=<n>: only
                             the first n times, per upload URL); the upload server then answers
                             the final fragment with that status, BG_E_HTTP_ERROR_<code> and
                             context 0x7.
    copy=1                   the application also answers BITS-Copy-File-To-Destination, so the
                             upload lands at DIR/<name> as well.

The journal gets one line per BITS packet, written after the packet was handled and before the
answer (or the dropped connection): the usual request fields plus "bits": {"packet", "session",
"content_range", "body_bytes" (read from the request), "new_bytes" (written), "received" (after),
"status", "dropped", "event"} where event names what happened ("complete", "cancelled",
"closed", "reply", "app-failed", "forgotten", ...). A held fragment has a first line with event
"held" when the hold begins.
"""

import http.client
import os
import re
import shutil
import threading
import time
import urllib.parse
import uuid

PROTOCOL = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
PACKETS = ("ping", "create-session", "fragment", "close-session", "cancel-session")
BG_E_SESSION_NOT_FOUND = 0x8020001F
BG_E_TOO_LARGE = 0x80200020
BG_E_INVALID_SERVER_RESPONSE = 0x8020001B
E_INVALIDARG = 0x80070057
CONTEXT_SERVER = 0x5
CONTEXT_APPLICATION = 0x7
HOLD_SECONDS = 30.0
CHUNK = 64 * 1024
RANGE_RE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
EMPTY_RE = re.compile(r"^\s*bytes\s+\*/0\s*$", re.IGNORECASE)   # the one fragment of an empty file


class Session:
    def __init__(self, sid, name, url, part):
        self.id = sid
        self.name = name              # destination file name
        self.url = url                # the upload URL (path and query) the session began with
        self.part = part              # where the bytes so far are
        self.received = 0
        self.total = None
        self.complete = False         # every byte is there
        self.reply_token = None       # the reply, once the application gave one
        self.reply_url = None
        self.moved = False            # the whole file went to its destination
        self.ended = threading.Event()  # cancelled or closed


class UploadService:
    """Sessions and counters shared by all connections."""

    def __init__(self, directory, content):
        self.dir = directory
        self.content = content        # the download content generator, content(start, end)
        self.sessions_dir = os.path.join(directory, ".sessions")
        self.replies_dir = os.path.join(directory, ".replies")
        os.makedirs(self.sessions_dir, exist_ok=True)
        os.makedirs(self.replies_dir, exist_ok=True)
        self.lock = threading.Lock()
        self.sessions = {}
        self.counts = {}

    def count(self, key, kind):
        """Counts one more event `kind` for `key`; returns the new count (1 for the first)."""
        with self.lock:
            value = self.counts.get((key, kind), 0) + 1
            self.counts[(key, kind)] = value
            return value

    def find(self, sid):
        with self.lock:
            return self.sessions.get(sid)

    def forget(self, sid):
        with self.lock:
            session = self.sessions.pop(sid, None)
        if session:
            session.ended.set()
            remove(session.part)
        return session


def remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def hresult_text(code):
    return "0x%08x" % (code & 0xFFFFFFFF)


def query_of(path):
    split = urllib.parse.urlsplit(path)
    return split, {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}


class Packet:
    """One BITS_POST being handled: what the journal line will say, and the answer."""

    def __init__(self, handler, service):
        self.handler = handler
        self.service = service
        self.split, self.query = query_of(handler.path)
        self.key = handler.path
        self.type = (handler.headers.get("BITS-Packet-Type") or "").strip()
        self.kind = self.type.lower()
        self.sid = (handler.headers.get("BITS-Session-Id") or "").strip() or None
        self.info = {"packet": self.type, "session": self.sid, "content_range": handler.headers.get("Content-Range"),
                     "body_bytes": 0, "new_bytes": 0, "received": None, "status": None, "dropped": False,
                     "event": None}
        self.body_left = int(handler.headers.get("Content-Length") or 0)

    # --- reading the body --------------------------------------------------------------------

    def read(self, count):
        """Reads up to count bytes of the request body (fewer at its end); raises ConnectionError
        when the client goes away."""
        count = min(count, self.body_left)
        data = self.handler.rfile.read(count) if count else b""
        if len(data) < count:
            self.info["body_bytes"] += len(data)
            self.body_left = 0
            raise ConnectionError("request body cut short")
        self.body_left -= len(data)
        self.info["body_bytes"] += len(data)
        return data

    def drain(self):
        while self.body_left:
            self.read(min(self.body_left, CHUNK))

    # --- answers -------------------------------------------------------------------------------

    def journal(self):
        h = self.handler
        h.server.journal.record({
            "time": time.time(),
            "client_port": h.client_address[1],
            "method": h.command,
            "path": h.path,
            "version": h.request_version,
            "request_line": h.requestline,
            "headers": [[k, v] for k, v in h.headers.items()],
            "range": h.headers.get("Range"),
            "bits": self.info,
        })

    def answer(self, status, headers=(), plain=False, body=b""):
        """The answer: an Ack (unless plain) with the headers, journaled first."""
        self.info["status"] = status
        self.journal()
        h = self.handler
        h.send_response(status)
        if not plain:
            h.send_header("BITS-Packet-Type", "Ack")
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def error(self, status, code, context=CONTEXT_SERVER, extra=()):
        headers = list(extra)
        if self.sid:
            headers.insert(0, ("BITS-Session-Id", self.sid))
        headers += [("BITS-Error-Code", hresult_text(code)), ("BITS-Error-Context", hresult_text(context))]
        self.answer(status, headers)

    def drop(self):
        """Resets the connection (RST) instead of answering."""
        self.info["dropped"] = True
        self.journal()
        self.handler.cut_reset = True
        self.handler.cut_connection()


def handle(handler, service):
    """A BITS_POST request."""
    packet = Packet(handler, service)
    split, query = packet.split, packet.query
    parts = split.path.split("/")[1:]
    if service is None or len(parts) != 2 or parts[0] != "upload" or not parts[1]:
        packet.drain()
        packet.answer(404, plain=True, body=b"no upload here\n")
        return
    name = urllib.parse.unquote(parts[1])
    if "/" in name or "\\" in name or name.startswith("."):
        packet.drain()
        packet.answer(400, plain=True, body=b"bad upload name\n")
        return

    plain = query.get("plain")
    if plain and (plain.lower() == "all" or plain.lower() == packet.kind):
        packet.drain()
        packet.info["event"] = "plain"
        packet.answer(200, plain=True, body=b"this server does not speak BITS\n")
        return

    if packet.kind not in PACKETS:
        packet.drain()
        packet.error(400, E_INVALIDARG)
        return

    number = service.count(packet.key, packet.kind)
    fail = query.get("fail")
    if fail and fail.lower() in ("any", packet.kind):
        nth = int(query.get("fail_nth", "1"))
        count = int(query.get("fail_count", "1"))
        index = service.count(packet.key, "fail:" + fail.lower()) if fail.lower() == "any" else number
        if nth <= index < nth + count:
            packet.drain()
            status = int(query.get("fail_status", "503"))
            packet.info["event"] = "failed"
            if query.get("fail_plain") == "1":
                packet.answer(status, plain=True, body=b"failing on purpose\n")
            else:
                code = int(query["fail_code"], 16) if "fail_code" in query else 0x80190000 + status
                packet.error(status, code)
            return

    if packet.kind == "ping":
        packet.drain()
        packet.answer(200)
    elif packet.kind == "create-session":
        create_session(packet, name)
    elif packet.kind == "fragment":
        fragment(packet, name, number)
    else:
        end_session(packet)


def create_session(packet, name):
    service, query, h = packet.service, packet.query, packet.handler
    packet.drain()
    offered = (h.headers.get("BITS-Supported-Protocols") or "").lower().split()
    if PROTOCOL not in offered and "protocol" not in query:
        packet.error(400, 0x80200022)       # BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH
        return
    if query.get("overwrite") == "0" and os.path.exists(os.path.join(service.dir, name)):
        packet.error(409, 0x80190199)       # BG_E_HTTP_ERROR_409
        return
    sid = "{%s}" % uuid.uuid4()
    session = Session(sid, name, h.path, os.path.join(service.sessions_dir, sid + ".part"))
    open(session.part, "wb").close()
    with service.lock:
        service.sessions[sid] = session
    packet.sid = packet.info["session"] = sid
    headers = [("BITS-Protocol", query.get("protocol", PROTOCOL)), ("BITS-Session-Id", sid),
               ("Accept-Encoding", "Identity")]
    if "host_id" in query:
        headers.append(("BITS-Host-Id", query["host_id"]))
        if "host_id_timeout" in query:
            headers.append(("BITS-Host-Id-Fallback-Timeout", query["host_id_timeout"]))
    packet.info["event"] = "created"
    packet.answer(200, headers)


def fragment(packet, name, number):
    service, query, h = packet.service, packet.query, packet.handler
    session = service.find(packet.sid) if packet.sid else None
    if session and str(number) == query.get("forget_session"):
        service.forget(session.id)
        session = None
        packet.info["event"] = "forgotten"
    if not session:
        packet.drain()
        packet.error(500, BG_E_SESSION_NOT_FOUND)
        return

    match = RANGE_RE.match(h.headers.get("Content-Range") or "")
    length = packet.body_left
    if EMPTY_RE.match(h.headers.get("Content-Range") or "") and not length:
        first, last, total = 0, -1, 0
    elif not match:
        packet.drain()
        packet.error(400, E_INVALIDARG)
        return
    else:
        first, last, total = (int(x) for x in match.groups())
    if (match and last < first) or last >= total or last - first + 1 != length or (session.total not in (None, total)):
        packet.drain()
        packet.error(400, E_INVALIDARG)
        return
    if "max_size" in query and total > int(query["max_size"]):
        packet.drain()
        packet.error(413, BG_E_TOO_LARGE)
        return
    session.total = total

    if str(number) == query.get("rewind_fragment"):
        keep = min(int(query.get("rewind_to", "0")), session.received)
        with open(session.part, "r+b") as file:
            file.truncate(keep)
        session.received = keep
        session.complete = False
        packet.info["event"] = "rewound"

    if first > session.received:
        packet.drain()
        packet.info["received"] = session.received
        packet.answer(416, [("BITS-Session-Id", session.id),
                            ("BITS-Received-Content-Range", str(session.received))])
        return

    # Only the bytes past what is there are written; the rest of the body is read and dropped.
    drop_at = None
    if str(number) == query.get("drop_fragment"):
        drop_at = int(query.get("drop_after", str(length // 2)))
    receive(packet, session, first, drop_at)
    packet.info["received"] = session.received

    headers = [("BITS-Session-Id", session.id), ("BITS-Received-Content-Range", str(session.received))]
    if session.received == total:
        if not session.complete:
            session.complete = True
            packet.info["event"] = "complete"
        notify = query.get("notify")
        if not notify:
            if not session.moved:
                os.replace(session.part, os.path.join(service.dir, name))
                session.moved = True
        elif not session.reply_url:
            failure = run_application(packet, session, name, notify)
            if failure:
                status, code = failure
                packet.info["event"] = "app-failed"
                packet.error(status, code, CONTEXT_APPLICATION)
                return
            packet.info["event"] = "reply"
        if session.reply_url:
            headers.append(("BITS-Reply-URL", session.reply_url))

    if str(number) == query.get("hold_fragment"):
        packet.info["event"] = "held"
        packet.journal()                                # a second line comes with the answer
        packet.info["event"] = "released"
        deadline = time.monotonic() + HOLD_SECONDS
        while not session.ended.is_set() and time.monotonic() < deadline:
            if client_gone(h.connection):
                packet.info["dropped"] = True
                packet.journal()
                h.close_connection = True
                return
            session.ended.wait(0.05)
    packet.answer(200, headers)


def receive(packet, session, first, drop_at):
    """Reads the fragment's body; writes the bytes past session.received. With drop_at, resets
    the connection once that many body bytes are read."""
    position = first
    file = None if session.complete else open(session.part, "r+b")
    try:
        while True:
            if drop_at is not None and position - first >= drop_at:
                packet.info["received"] = session.received
                packet.drop()
            if not packet.body_left:
                break
            want = min(packet.body_left, CHUNK)
            if drop_at is not None:
                want = min(want, drop_at - (position - first))
            data = packet.read(want)
            end = position + len(data)
            if file and end > session.received:
                skip = max(0, session.received - position)
                file.seek(session.received)
                file.write(data[skip:])
                packet.info["new_bytes"] += len(data) - skip
                session.received = end
            position = end
    finally:
        if file:
            file.close()


def client_gone(sock):
    """True when the client closed or reset its end (a read would see end of file)."""
    import select
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return not sock.recv(1, 0x02)          # MSG_PEEK
    except OSError:
        return True


def end_session(packet):
    """Close-Session and Cancel-Session."""
    service = packet.service
    packet.drain()
    session = service.find(packet.sid) if packet.sid else None
    if not session:
        packet.error(500, BG_E_SESSION_NOT_FOUND)
        return
    service.forget(session.id)
    if packet.kind == "cancel-session" and session.reply_token:
        remove(os.path.join(service.replies_dir, session.reply_token))
    packet.info["event"] = "cancelled" if packet.kind == "cancel-session" else "closed"
    packet.info["received"] = session.received
    packet.answer(200, [("BITS-Session-Id", session.id)])


# --- the server application -----------------------------------------------------------------------

def run_application(packet, session, name, notify):
    """Posts the whole upload to the server application; on success records the reply and
    returns None, else (status, BITS-Error-Code)."""
    service, query, h = packet.service, packet.query, packet.handler
    app = query.get("app", "/app/echo")
    app_query = urllib.parse.urlencode({k: v for k, v in query.items()
                                        if k in ("reply_size", "app_status", "app_fail_times", "copy")}
                                       | {"key": packet.key})
    token = uuid.uuid4().hex
    response_file = os.path.join(service.replies_dir, token)
    port = h.server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"BITS-Original-Request-URL": "http://127.0.0.1:%d%s" % (port, session.url)}
        if notify == "reference":
            open(response_file, "wb").close()
            headers.update({"BITS-Request-DataFile-Name": session.part,
                            "BITS-Response-DataFile-Name": response_file, "Content-Length": "0"})
            connection.request("POST", "%s?%s" % (app, app_query), headers=headers)
        else:
            headers["Content-Length"] = str(os.path.getsize(session.part))
            with open(session.part, "rb") as file:
                connection.request("POST", "%s?%s" % (app, app_query), body=file, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status not in (200, 201):
        remove(response_file)
        return response.status, 0x80190000 + response.status
    if notify != "reference":
        with open(response_file, "wb") as file:
            file.write(body)
    if response.getheader("BITS-Copy-File-To-Destination") is not None:
        shutil.copyfile(session.part, os.path.join(service.dir, name))
    static = response.getheader("BITS-Static-Response-URL")
    reply_query = query.get("reply_query")
    if static:
        remove(response_file)
        session.reply_url = static
    else:
        session.reply_token = token
        session.reply_url = "%s://%s/reply/%s%s" % (h.server.scheme, h.headers.get("Host") or "127.0.0.1:%d" % port,
                                                    token, "?" + reply_query if reply_query else "")
    return None


def application(handler, service, split, query):
    """POST /app/<kind>: the small server application (see the module's docstring)."""
    kind = split.path.split("/")[-1]
    key = query.get("key", split.path)
    if "app_status" in query:
        limit = int(query.get("app_fail_times", "1000000000"))
        if service.count(key, "app-fail") <= limit:
            handler.read_request_body()
            handler.send_simple(int(query["app_status"]), b"the application failed\n")
            return
    size = int(query.get("reply_size", "0"))
    request_file = handler.headers.get("BITS-Request-DataFile-Name")
    response_file = handler.headers.get("BITS-Response-DataFile-Name")
    if kind == "static":
        handler.read_request_body()
        host = handler.headers.get("Host")
        headers = [("BITS-Static-Response-URL", "%s://%s/file/%d" % (handler.server.scheme, host, size))]
    else:
        headers = []
        if request_file:
            handler.read_request_body()
            with open(request_file, "rb") as file:
                upload = file.read()
        else:
            upload = read_body(handler)
        if kind == "generate":
            reply = b"".join(service.content(0, size))
        else:
            reply = upload
        if response_file:
            with open(response_file, "wb") as file:
                file.write(reply)
            reply = b""
        if query.get("copy") == "1":
            headers.append(("BITS-Copy-File-To-Destination", "1"))
        handler.send_simple(200, reply, headers, content_type="application/octet-stream")
        return
    handler.send_simple(200, b"", headers)


def read_body(handler):
    length = int(handler.headers.get("Content-Length") or 0)
    parts = []
    while length > 0:
        data = handler.rfile.read(min(length, CHUNK))
        if not data:
            raise ConnectionError("request body cut short")
        parts.append(data)
        length -= len(data)
    return b"".join(parts)


def reply_path(service, token):
    """DIR/.replies/<token>, or None when there is no such reply."""
    if service is None or not re.fullmatch(r"[0-9a-f]{32}", token):
        return None
    path = os.path.join(service.replies_dir, token)
    return path if os.path.exists(path) else None
