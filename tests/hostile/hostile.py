"""The hostile suite's machinery: a case, the raw HTTP exchange that runs it, and the check of
its answer.

A case is a name, the bytes to send, and what castera must answer: a set of acceptable
statuses (`CLOSE` among them when closing the connection without an answer is right), and
for a 4xx the JSON body's content (`detail`, or the fields a validation error names). Every
answer with a body must be JSON when its status is 4xx; a 5xx, a hang (no answer within
`TIMEOUT` seconds) or a truncated answer fails the case whatever was expected.
"""

import json
import re
import socket
import time
from dataclasses import dataclass, field

TIMEOUT = 5.0
CLOSE = "close"  # the server closed the connection without an answer


@dataclass(frozen=True)
class Expect:
    statuses: frozenset
    detail: str = None          # the body's exact "detail"
    detail_prefix: str = None   # ... or how it starts
    fields: tuple = ()          # keys a validation error's body must have
    messages: tuple = ()        # (field, exact first message) pairs
    body: object = None         # the exact JSON body
    allow_html: bool = False    # a page (the web client's) rather than the API's JSON


def expect(*statuses, also=(), **kw):
    """`also`: further acceptable outcomes (CLOSE, say) beside the statuses."""
    return Expect(frozenset(statuses) | frozenset(also), **kw)


@dataclass
class Case:
    name: str
    data: bytes
    expect: Expect
    then: tuple = ()            # more pieces, each sent by itself after `data`
    shut: bool = True           # half-close once everything is sent: the server sees the end
    head: bool = False          # a HEAD request: the answer has no body
    on_answer: object = None    # callable(Answer): records what a valid request wrote


@dataclass
class Answer:
    status: object = None       # an int, CLOSE, or None (no complete answer)
    reason: str = ""            # why there is no status: "timeout", "truncated", ...
    headers: dict = field(default_factory=dict)   # lower-case name -> last value
    body: bytes = b""

    def json(self):
        return json.loads(self.body.decode("utf-8"), parse_constant=_no_constants)


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


# --------------------------------------------------------------------------------------------
# Requests


def header_bytes(value):
    return value if isinstance(value, bytes) else value.encode("latin-1")


def request(method="GET", target="/healthz", headers=(), body=None, version="HTTP/1.1",
            host=None, length=True):
    """A request's bytes. `host` None: none; `length` adds Content-Length for a body."""
    lines = [header_bytes(method) + b" " + header_bytes(target) + b" " + header_bytes(version)]
    if host is not None:
        lines.append(b"Host: " + header_bytes(host))
    for name, value in headers:
        lines.append(header_bytes(name) + b": " + header_bytes(value))
    payload = b"" if body is None else header_bytes(body)
    if body is not None and length:
        lines.append(b"Content-Length: %d" % len(payload))
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


# --------------------------------------------------------------------------------------------
# The exchange


def _send(sock, data):
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        return False  # the server answered early and stopped reading: read what it said


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # already closed by the server


class Reader:
    """Reads one HTTP answer (skipping 1xx) from a socket, with a deadline."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buffer, self.eof = sock, deadline, b"", False

    def fill(self):
        if self.eof:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout
        self.sock.settimeout(left)
        try:
            piece = self.sock.recv(262144)
        except (ConnectionResetError, ConnectionAbortedError):
            piece = b""
        if not piece:
            self.eof = True
            return False
        self.buffer += piece
        return True

    def answer(self, head_request=False):
        while True:
            while b"\r\n\r\n" not in self.buffer:
                if not self.fill():
                    if not self.buffer:
                        return Answer(status=CLOSE)
                    return Answer(reason=f"truncated head {self.buffer[:200]!r}")
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*", head)
            if not m:
                return Answer(reason=f"not an HTTP answer: {head[:200]!r}")
            status = int(m.group(1))
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            if 100 <= status < 200 and status != 101:
                self.buffer = rest  # 100 Continue: the real answer follows
                continue
            if head_request or status in (101, 204, 304):
                self.buffer = rest
                return Answer(status=status, headers=headers)
            length = headers.get("content-length")
            if length is None:
                return Answer(reason=f"{status} without Content-Length")
            n = int(length)
            while len(rest) < n:
                if not self.fill():
                    return Answer(reason=f"{status}: body truncated at {len(rest)} of {n} bytes")
                rest = self.buffer.partition(b"\r\n\r\n")[2]
            self.buffer = rest[n:]
            return Answer(status=status, headers=headers, body=rest[:n])


def exchange(address, case, timeout=TIMEOUT):
    """Sends a case and reads the first answer."""
    deadline = time.monotonic() + timeout
    sock = socket.create_connection(address, timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if _send(sock, case.data):
            for piece in case.then:
                if not _send(sock, piece):
                    break
        if case.shut:
            _shut(sock)
        try:
            return Reader(sock, deadline).answer(case.head)
        except socket.timeout:
            return Answer(reason=f"timeout: no answer within {timeout} s")
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------
# The check


def media_type(answer):
    return answer.headers.get("content-type", "").split(";")[0].strip().lower()


def problem(case, answer):
    """What is wrong with the answer, or None."""
    want = case.expect
    if answer.status is None:
        return answer.reason
    if answer.status == CLOSE:
        return None if CLOSE in want.statuses else f"closed without an answer, wanted {sorted(map(str, want.statuses))}"
    got = answer.status
    if got >= 500:
        return f"{got}: {answer.body[:300]!r}"
    if got not in want.statuses:
        return f"status {got}, wanted {sorted(map(str, want.statuses))}: {answer.body[:300]!r}"
    if case.head or got in (101, 204, 304) or (got < 400 and not answer.body):
        return None
    if want.allow_html and media_type(answer).startswith("text/html"):
        return None
    if got < 400 and media_type(answer) != "application/json" and want.body is None and want.detail is None:
        return None  # a redirect's or a page's body
    if media_type(answer) != "application/json":
        return f"{got} with Content-Type {answer.headers.get('content-type')!r}: {answer.body[:200]!r}"
    try:
        data = answer.json()
    except ValueError as e:
        return f"{got} with a body that is not JSON ({e}): {answer.body[:200]!r}"
    if got >= 400 and not isinstance(data, dict):
        return f"{got} with a JSON body that is not an object: {data!r:.200}"
    if want.body is not None and data != want.body:
        return f"body {data!r:.300}, wanted {want.body!r:.300}"
    if want.detail is not None and data.get("detail") != want.detail:
        return f"detail {data.get('detail')!r:.300}, wanted {want.detail!r}"
    if want.detail_prefix is not None and not str(data.get("detail", "")).startswith(want.detail_prefix):
        return f"detail {data.get('detail')!r:.300}, wanted one starting {want.detail_prefix!r}"
    for name in want.fields:
        if name not in data:
            return f"the error does not name {name!r}: {data!r:.300}"
    for name, message in want.messages:
        got_messages = data.get(name)
        if not isinstance(got_messages, list) or not got_messages or got_messages[0] != message:
            return f"{name}: {got_messages!r:.300}, wanted [{message!r}]"
    return None


def run_cases(world, category, cases):
    """Runs every case; returns the failures as lines, each naming its case."""
    failures = []
    for case in cases:
        answer = exchange(world.address, case)
        trouble = problem(case, answer)
        if trouble is None and case.on_answer is not None:
            trouble = case.on_answer(answer)
        if trouble:
            failures.append(f"{case.name}: {trouble}")
    world.count(category, len(cases))
    return failures


def report(category, total, failures, limit=60):
    lines = failures[:limit]
    more = len(failures) - len(lines)
    return (f"{len(failures)} of {total} {category} cases failed:\n  " + "\n  ".join(lines) +
            (f"\n  ... and {more} more" if more > 0 else ""))


def check_all(world, category, cases):
    cases = list(cases)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), f"duplicate case names in {category}"
    failures = run_cases(world, category, cases)
    world.assert_alive()
    assert not failures, report(category, len(cases), failures)


def interleave(world, category, cases, every=40):
    """The cases with a valid chat posted after every `every` of them: its row must be there
    at the end, whatever came before it."""
    meeting = world.meetings["main"].id
    out = []
    for i, case in enumerate(cases, 1):
        out.append(case)
        if i % every == 0:
            content = f"between {category} cases {i}"
            body = json.dumps({"content": content}).encode()
            raw = request("POST", f"/api/meetings/{meeting}/messages/",
                          [("Authorization", world.basic("owner")), ("Content-Type", "application/json")],
                          body, host=world.host)

            def stored(answer, content=content):
                if answer.json().get("content") != content:
                    return f"stored {answer.body[:200]!r}"
                world.ledger.messages.append((meeting, content))
                return None
            out.append(Case(f"valid chat after {category} case {i}", raw, expect(201), on_answer=stored))
    return out
