"""Shared helpers for the black-box API tests (no pytest fixtures here).

Everything in this module talks to the server over the network only: HTTP through
`requests`, WebSocket through `websockets` (asyncio), and raw TCP through `socket`.
"""

import asyncio
import base64
import datetime as dt
import json
import re
import socket
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import requests
import websockets

import openapi_check

# --------------------------------------------------------------------------------------------
# Shapes fixed by the contract (SPEC section 2 and the decided additions).

MEETING_KEYS = ["id", "title", "description", "type_of", "created_on", "room_id",
                "scheduled_date", "status", "user"]
MESSAGE_KEYS = ["id", "meeting", "user", "user_email", "content", "timestamp"]
RECORDING_KEYS = ["id", "meeting", "uploaded_by", "uploaded_by_email", "file_url", "created_at"]
PARTICIPANT_KEYS = ["id", "meeting", "user", "user_email", "audio_muted", "video_stopped",
                    "in_call", "raised_hand", "screen_sharing"]
ME_KEYS = ["id", "email", "full_name", "image", "role", "is_staff", "is_superuser"]
DASHBOARD_KEYS = ["user_email", "full_name", "total_meetings", "total_recordings",
                  "total_messages", "meetings"]
PAGE_KEYS = ["count", "next", "previous", "results"]

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INVALID_CREDENTIALS = {"detail": "Invalid username/password."}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}
NOT_ALLOWED_MESSAGES = {"detail": "You are not allowed to view messages for this meeting."}
NOT_FOUND = {"detail": "Not found."}
MEETING_NOT_FOUND = {"error": "Meeting not found"}
LOGIN_FAILED = {"non_field_errors": ["Unable to log in with provided credentials."]}
REQUIRED = ["This field is required."]

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")

FUTURE = "2030-01-01T00:00:00Z"
MISSING_MEETING_ID = 987654321


def method_not_allowed(method):
    return {"detail": f'Method "{method}" not allowed.'}


def unique(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------------
# Assertions


def describe(resp):
    req = resp.request
    return (f"{req.method} {req.path_url} -> {resp.status_code} "
            f"{resp.headers.get('Content-Type', '')!r}: {resp.text[:600]!r}")


def body(resp, status):
    """Assert the status code and a JSON content type, and return the parsed body."""
    assert resp.status_code == status, f"expected {status}; got {describe(resp)}"
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", (
        f"expected application/json; got {describe(resp)}")
    try:
        return resp.json()
    except ValueError:
        raise AssertionError(f"body is not JSON: {describe(resp)}")


def expect(resp, status, expected):
    """Assert status, JSON, exact body and (for objects) exact key order."""
    got = body(resp, status)
    assert got == expected, f"body mismatch for {describe(resp)}\nexpected: {expected!r}"
    if isinstance(expected, dict):
        assert list(got.keys()) == list(expected.keys()), (
            f"key order: got {list(got.keys())}, expected {list(expected.keys())}")
    return got


def assert_keys(obj, keys):
    assert isinstance(obj, dict), f"expected an object, got {obj!r}"
    assert list(obj.keys()) == keys, f"keys/order: got {list(obj.keys())}, expected {keys}"


def parse_dt(text):
    assert isinstance(text, str) and DATETIME_RE.match(text), f"bad datetime output {text!r}"
    return dt.datetime.fromisoformat(text[:-1] + "+00:00")


def assert_recent(text, seconds=120):
    when = parse_dt(text)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - when).total_seconds()) < seconds, f"{text} is not close to now ({now})"


def assert_meeting(m, **expected):
    """Check a meeting object's shape and formats, and any given field values."""
    assert_keys(m, MEETING_KEYS)
    assert isinstance(m["id"], int) and m["id"] > 0
    assert isinstance(m["user"], int)
    assert UUID4_RE.match(m["room_id"]), m["room_id"]
    parse_dt(m["created_on"])
    parse_dt(m["scheduled_date"])
    assert m["type_of"] in ("public", "private")
    assert m["status"] in ("active", "ended")
    for key, value in expected.items():
        assert m[key] == value, f"{key}: got {m[key]!r}, expected {value!r}"


def assert_error_detail(resp, status, prefix=""):
    got = body(resp, status)
    assert isinstance(got, dict) and isinstance(got.get("detail"), str), got
    assert got["detail"].startswith(prefix), got
    return got


def page_query(url):
    parts = urlsplit(url)
    return {k: v[0] for k, v in parse_qs(parts.query).items()}, parts


# --------------------------------------------------------------------------------------------
# HTTP clients


def basic_header(email, password):
    raw = f"{email}:{password}".encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Client:
    """A tiny HTTP client bound to the server's base URL, optionally with Basic credentials."""

    def __init__(self, base_url, email=None, password=None, authorization=None):
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.password = password
        self.http = requests.Session()
        self.http.trust_env = False  # never route through a proxy from the environment
        if authorization is not None:
            self.http.headers["Authorization"] = authorization
        elif email is not None:
            self.http.headers["Authorization"] = basic_header(email, password)
        self._me = None

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 30)
        kw.setdefault("allow_redirects", False)
        url = path if path.startswith("http") else self.base_url + path
        return self.http.request(method, url, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # Convenience

    def me(self):
        if self._me is None:
            self._me = body(self.get("/api/auth/me/"), 200)
        return self._me

    @property
    def user_id(self):
        return self.me()["id"]

    def create_meeting(self, **fields):
        data = {"title": unique("meeting"), "scheduled_date": FUTURE}
        data.update(fields)
        m = body(self.post("/api/meetings/", json=data), 201)
        assert_keys(m, MEETING_KEYS)
        return m

    def post_message(self, meeting_id, content):
        msg = body(self.post(f"/api/meetings/{meeting_id}/messages/",
                             json={"content": content, "meeting": meeting_id}), 201)
        assert_keys(msg, MESSAGE_KEYS)
        return msg

    def post_recording(self, meeting_id, url):
        rec = body(self.post(f"/api/meetings/{meeting_id}/recordings/",
                             json={"file_url": url, "meeting": meeting_id}), 201)
        assert_keys(rec, RECORDING_KEYS)
        return rec


class SessionClient(Client):
    """A client authenticated by the session cookie, echoing the CSRF cookie on unsafe methods."""

    def __init__(self, base_url):
        super().__init__(base_url)

    def login(self, email, password, **kw):
        if not kw:
            kw = {"json": {"email": email, "password": password}}
        resp = super().request("POST", "/api/auth/login/", **kw)
        self.email, self.password = email, password
        return resp

    def request(self, method, path, csrf=True, **kw):
        if csrf and method.upper() not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            token = self.http.cookies.get("csrftoken")
            if token is not None:
                headers = dict(kw.pop("headers", None) or {})
                headers.setdefault("X-CSRFToken", token)
                kw["headers"] = headers
        return super().request(method, path, **kw)

    @property
    def sessionid(self):
        return self.http.cookies.get("sessionid")


def set_cookie_headers(resp):
    """All Set-Cookie header lines of a response, unmerged."""
    try:
        return list(resp.raw.headers.getlist("Set-Cookie"))
    except AttributeError:  # pragma: no cover - older urllib3
        return list(resp.raw._original_response.msg.get_all("Set-Cookie") or [])


def parse_set_cookie(line):
    """('name', 'value', {attribute-lowercase: value-or-True})"""
    parts = [p.strip() for p in line.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, sep, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if sep else True
    return name.strip(), value.strip(), attrs


def find_cookie(resp, name):
    for line in set_cookie_headers(resp):
        n, v, attrs = parse_set_cookie(line)
        if n == name:
            return v, attrs
    raise AssertionError(f"no Set-Cookie for {name!r} in {set_cookie_headers(resp)}")


# --------------------------------------------------------------------------------------------
# Raw TCP


def host_port(base_url):
    parts = urlsplit(base_url)
    return parts.hostname, parts.port or 80


def raw_exchange(base_url, payload, timeout=5.0, send_chunks=None):
    """Send raw bytes; return what came back until the headers end, close, or timeout.

    Returns (data, closed) where closed says the peer closed or reset the connection.
    """
    host, port = host_port(base_url)
    sock = socket.create_connection((host, port), timeout=timeout)
    data = b""
    closed = False
    try:
        try:
            sock.sendall(payload)
            for chunk in send_chunks or ():
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer early and stop reading; read what it said
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not piece:
                closed = True
                break
            data += piece
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m is None or len(rest) >= int(m.group(1)):
                    break
    finally:
        sock.close()
    record_raw_exchange(base_url, payload, data)
    return data, closed


def record_raw_exchange(base_url, payload, data):
    """Hands a raw exchange's first answer to the OpenAPI check when both ends parse as HTTP."""
    request = re.match(rb"([A-Z]+) (/[^ \r\n?]*)\S* HTTP/1\.[01]\r\n", payload)
    status = raw_status(data)
    if not request or status is None or status == 100:
        return
    head, rest = raw_body(data)
    m = re.search(rb"(?im)^content-type:\s*([^\r\n]*)", head)
    has_length = re.search(rb"(?im)^content-length:", head) is not None
    openapi_check.record(request.group(1).decode(), base_url + request.group(2).decode("latin-1"), status,
                         m.group(1).decode("latin-1") if m else "", rest if has_length else None)


def raw_status(data):
    """The status code of the first response in data, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def raw_body(data):
    head, _, rest = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if m:
        rest = rest[: int(m.group(1))]
    return head, rest


def wait_healthy(base_url, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    s = requests.Session()
    s.trust_env = False
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        try:
            r = s.get(base_url + "/healthz", timeout=1)
            if r.status_code == 200:
                return r
            last = f"status {r.status_code}"
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} not healthy after {timeout}s: {last}")


def assert_serving(base_url):
    s = requests.Session()
    s.trust_env = False
    r = s.get(base_url + "/healthz", timeout=5)
    expect(r, 200, {"status": "ok"})


# --------------------------------------------------------------------------------------------
# WebSocket (asyncio; websockets 10.4)


def run(coro, timeout=60):
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def ws_base(base_url):
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


async def ws_open(base_url, room_id, email=None, password=None, cookie=None, origin=None,
                  headers=None, path=None, query=""):
    import websockets

    uri = ws_base(base_url) + (path or f"/ws/meetings/{room_id}/") + query
    extra = list(headers or [])
    if email is not None:
        extra.append(("Authorization", basic_header(email, password)))
    if cookie is not None:
        extra.append(("Cookie", cookie))
    try:
        ws = await websockets.connect(uri, extra_headers=extra, origin=origin, compression=None,
                                      open_timeout=10, close_timeout=5, max_size=2 ** 22,
                                      ping_interval=None)
    except websockets.exceptions.InvalidStatusCode as refused:
        # The refusal's body is not kept by websockets: its status and type are checked.
        openapi_check.record("GET", uri, refused.status_code, refused.headers.get("Content-Type", ""), None)
        raise
    openapi_check.record("GET", uri, 101, "", b"")
    return ws


def upgrade_refusal(base_url, user, room_id, subprotocol=None):
    """A refused WebSocket upgrade's status and JSON body (websockets keeps neither), read over
    a plain socket."""
    import secrets
    parts = urlsplit(base_url)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    proto = f"Sec-WebSocket-Protocol: {subprotocol}\r\n" if subprotocol else ""
    request = (f"GET /ws/meetings/{room_id}/ HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{proto}"
               f"Authorization: {basic_header(user.email, user.password)}\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and (m is None or len(rest) >= int(m.group(1))):
                break
    head, _, rest = data.partition(b"\r\n\r\n")
    status = raw_status(data)
    assert status != 101, f"the upgrade was accepted: {head!r}"
    return status, json.loads(rest) if rest else None


async def ws_recv_json(ws, timeout=5.0):
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str), f"expected a text frame, got {raw!r}"
    try:
        return json.loads(raw)
    except ValueError:
        raise AssertionError(f"frame is not JSON: {raw!r}")


async def welcome_of(ws):
    """The castera.v2 welcome, which must be the connection's first frame."""
    frame = await ws_recv_json(ws)
    assert frame["type"] == "welcome", frame
    return frame


async def closed_with(ws, timeout=5.0):
    """The close code the server ends the connection with, reading until then."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.exceptions.ConnectionClosed as closed:
        return closed.code


async def ws_recv_chat(ws, timeout=5.0):
    """Next frame carrying a chat message, skipping presence frames."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no chat frame received in time")
        frame = await ws_recv_json(ws, left)
        if isinstance(frame, dict) and "presence" in frame and "message" not in frame:
            continue
        return frame


async def ws_recv_presence(ws, user, timeout=5.0):
    """Next presence frame about `user`, skipping frames about anyone else."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no presence frame about {user} received in time")
        frame = await ws_recv_json(ws, left)
        if isinstance(frame, dict) and frame.get("user") == user and "presence" in frame:
            return frame


async def ws_expect_silence(ws, seconds=0.7):
    """No chat frame arrives within `seconds` (presence frames are tolerated)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            return
        frame = json.loads(raw)
        if isinstance(frame, dict) and "presence" in frame and "message" not in frame:
            continue
        raise AssertionError(f"unexpected frame {raw!r}")


async def ws_sync(ws, email):
    """Round-trip one message so that the connection is surely registered in its room."""
    token = unique("sync")
    await ws.send(json.dumps({"message": token}))
    while True:
        frame = await ws_recv_chat(ws)
        if isinstance(frame, dict) and frame.get("message") == token:
            break
        # another connection's sync message that reached this one first
        assert isinstance(frame, dict) and str(frame.get("message", "")).startswith("sync-"), frame
    assert frame == {"message": token, "sender": email}, frame
    return token


async def ws_expect_close(ws, code, timeout=5.0):
    """The server closes the connection with `code` (frames before the close are drained)."""
    import websockets

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"connection not closed within {timeout}s (wanted {code})")
        try:
            await asyncio.wait_for(ws.recv(), left)
        except websockets.exceptions.ConnectionClosed:
            break
        except asyncio.TimeoutError:
            raise AssertionError(f"connection not closed within {timeout}s (wanted {code})")
    assert ws.close_code == code, f"close code {ws.close_code} (reason {ws.close_reason!r}), wanted {code}"
