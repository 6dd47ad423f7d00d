"""Slow and greedy clients, and a probe that measures how castera answers everyone else meanwhile.

Used by tests/api/test_slow_clients.py, which checks what castera does to each kind of client.
Each scenario holds its clients in a thread of its own, so that the probe runs beside it.
"""

import base64
import json
import os
import resource
import secrets
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time

from castera_helpers import basic_header, host_port


def raise_descriptor_limit():
    """Ten thousand sockets need more than the shell's usual 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def process_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def metric(base_url, sample):
    """One sample's value from /metrics, `sample` as written there (name and labels)."""
    host, port = host_port(base_url)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise RuntimeError(f"no {sample} in /metrics")


def connections_gauge(base_url):
    return int(metric(base_url, "castera_http_connections"))


class Probe:
    """An authenticated GET every `interval` seconds on one kept-alive connection (a new one if
    castera closes it), each answer's latency recorded; what a well-behaved client sees."""

    def __init__(self, base_url, email, password, path="/api/auth/me/", interval=0.01):
        self.host, self.port = host_port(base_url)
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                        f"Authorization: {basic_header(email, password)}\r\n\r\n").encode()
        self.interval = interval
        self.latencies = []
        self.failures = []
        self._stop = threading.Event()
        self._thread = None
        self._sock = None

    def _connect(self):
        self._sock = socket.create_connection((self.host, self.port), timeout=5)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def once(self):
        if self._sock is None:
            self._connect()
        started = time.perf_counter()
        self._sock.sendall(self.request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed mid-body")
            rest += chunk
        elapsed = time.perf_counter() - started
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"answered {status}")
        return elapsed

    def _run(self):
        while not self._stop.is_set():
            try:
                self.latencies.append(self.once())
            except Exception as e:  # noqa: BLE001 - every failure is recorded, none ends the probe
                self.failures.append(repr(e))
                if self._sock:
                    self._sock.close()
                self._sock = None
            self._stop.wait(self.interval)

    def __enter__(self):
        self.latencies.clear()
        self.failures.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        if self._sock:
            self._sock.close()
            self._sock = None

    def summary(self):
        if not self.latencies:
            return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "failures": len(self.failures)}
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {"count": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2),
                "p99_ms": round(p99 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
                "failures": len(self.failures)}


def _closed_within(sock, seconds):
    """Seconds until castera closed `sock` (reading and dropping what it sends), or None."""
    sock.settimeout(0.2)
    started = time.monotonic()
    received = b""
    while time.monotonic() - started < seconds:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - started, received
        if not chunk:
            return time.monotonic() - started, received
        received += chunk
    return None, received


def trickle(socks, next_byte, seconds, byte_interval):
    """Sends each socket `next_byte(step)` every `byte_interval` seconds, for at most `seconds`,
    reading what castera answers. Returns each one's (seconds until castera closed it, bytes it
    answered), None for one still open at the end."""
    closed_at = [None] * len(socks)
    answered = [b""] * len(socks)
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < seconds and any(c is None for c in closed_at):
        for i, s in enumerate(socks):
            if closed_at[i] is None:
                try:
                    s.send(next_byte(step))
                except OSError:
                    closed_at[i] = time.monotonic() - started
        step += 1
        deadline = time.monotonic() + byte_interval
        while time.monotonic() < deadline:
            sel = selectors.DefaultSelector()
            for i, s in enumerate(socks):
                if closed_at[i] is None:
                    sel.register(s, selectors.EVENT_READ, i)
            if not sel.get_map():
                break
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                i = key.data
                try:
                    chunk = socks[i].recv(65536)
                except OSError:
                    chunk = b""
                if chunk:
                    answered[i] += chunk
                else:
                    closed_at[i] = time.monotonic() - started
            sel.close()
    for s in socks:
        s.close()
    return list(zip(closed_at, answered))


def slowloris(base_url, connections, seconds, byte_interval=1.0):
    """`connections` clients each sending a request header one byte every `byte_interval`
    seconds (see trickle)."""
    host, port = host_port(base_url)
    header = (f"GET /api/meetings/ HTTP/1.1\r\nHost: {host}:{port}\r\n" + "X-Slow: " + "a" * 4000).encode()
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(connections)]
    return trickle(socks, lambda step: header[step:step + 1], seconds, byte_interval)


def slow_body(base_url, email, password, connections, seconds, byte_interval=1.0):
    """`connections` POSTs announcing a 4 KB body and sending it a byte every `byte_interval`
    seconds (see trickle)."""
    host, port = host_port(base_url)
    head = (f"POST /api/meetings/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {basic_header(email, password)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 4096\r\n\r\n").encode()
    socks = []
    for _ in range(connections):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(head + b"{")
        socks.append(s)
    return trickle(socks, lambda step: b" ", seconds, byte_interval)


def websocket_upgrade(base_url, room_id, email, password):
    """A castera.v2 connection on a raw socket; returns it and the bytes read past the 101's
    header (the start of the welcome, often)."""
    host, port = host_port(base_url)
    sock = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    sock.sendall((f"GET /ws/meetings/{room_id}/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: castera.v2\r\n"
                  f"Authorization: {basic_header(email, password)}\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(answer[:200])
    return sock, answer.split(b"\r\n\r\n", 1)[1]


def masked_text_frame(text):
    payload = text.encode()
    mask = secrets.token_bytes(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + masked


class FrameReader:
    """castera's (unmasked) text frames from a raw socket, as JSON."""

    def __init__(self, sock, data=b""):
        self.sock, self.data = sock, data

    def frames(self):
        try:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.data += chunk
        except TimeoutError:
            pass
        out = []
        while len(self.data) >= 2:
            n, at = self.data[1] & 0x7F, 2
            if n == 126:
                n, at = int.from_bytes(self.data[2:4], "big"), 4
            elif n == 127:
                n, at = int.from_bytes(self.data[2:10], "big"), 10
            if len(self.data) < at + n:
                break
            opcode, payload = self.data[0] & 0x0F, self.data[at:at + n]
            self.data = self.data[at + n:]
            if opcode == 1:
                out.append(json.loads(payload))
        return out


SLOW_READER_DROPS = 'castera_ws_dropped_total{reason="slow_reader"}'


def never_reading_websocket(base_url, room_id, reader, writer, frames, frame_bytes=30000):
    """`reader` joins the room and never reads; `writer` sends up to `frames` chats of about
    `frame_bytes` into it. Returns the seconds until castera dropped the reader (its slow-reader
    counter went up), or None."""
    drops = metric(base_url, SLOW_READER_DROPS)
    lazy, _ = websocket_upgrade(base_url, room_id, *reader)
    busy, _ = websocket_upgrade(base_url, room_id, *writer)
    busy.setblocking(False)
    started = time.monotonic()
    filler = "x" * frame_bytes
    dropped_after = None
    for i in range(frames):
        frame = masked_text_frame(json.dumps({"type": "chat", "content": f"{i} {filler}"}))
        sent = 0
        while sent < len(frame):
            try:
                sent += busy.send(frame[sent:])
            except BlockingIOError:
                time.sleep(0.001)
            try:  # the writer reads its own copies, so that it is not the slow one
                while busy.recv(1 << 20):
                    pass
            except BlockingIOError:
                pass
        time.sleep(0.002)
        if i % 20 == 19 and metric(base_url, SLOW_READER_DROPS) > drops:
            dropped_after = time.monotonic() - started
            break
    lazy.close()
    busy.close()
    return dropped_after


def hold_idle(base_url, count, request=None):
    """Opens `count` connections that send nothing, or only `request` (then each has had its
    answer and is kept alive); returns them."""
    host, port = host_port(base_url)
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    pending = len(socks)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=1):
            s = key.fileobj
            if mask & selectors.EVENT_WRITE and request:
                s.send(request)
                sel.modify(s, selectors.EVENT_READ)
                continue
            if mask & selectors.EVENT_READ:
                s.recv(65536)  # /healthz's answer comes in one piece
            sel.unregister(s)
            pending -= 1
    sel.close()
    return socks


BURST_CHILD = r"""
import json, resource, selectors, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
request = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
sel = selectors.DefaultSelector()
outcome = {"200": 0, "503": 0, "closed": 0, "other": 0, "reset": 0, "refused": 0}
socks = []
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    try:  # on loopback the connection is usually up at once: the request goes with it
        s.send(request)
        sel.register(s, selectors.EVENT_READ, [b"", True])
    except OSError:
        sel.register(s, selectors.EVENT_WRITE, [b"", False])
open_ = count
deadline = time.monotonic() + 60
def done(s, kind):
    global open_
    outcome[kind] += 1
    sel.unregister(s)
    open_ -= 1
# Every connection is kept until all have their answer: 20,000 clients at once.
while open_ and time.monotonic() < deadline:
    for key, mask in sel.select(timeout=1):
        s, state = key.fileobj, key.data
        if not state[1]:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                done(s, "refused")
                continue
            try:
                s.send(request)
            except OSError:
                done(s, "reset")
                continue
            state[1] = True
            sel.modify(s, selectors.EVENT_READ, state)
            continue
        try:
            chunk = s.recv(65536)
        except OSError:
            done(s, "reset" if not state[0] else "other")
            continue
        state[0] += chunk
        data = state[0]
        if not chunk:
            done(s, "closed" if not data else "other")
        elif b"\r\n\r\n" in data:
            done(s, "200" if data.startswith(b"HTTP/1.1 200") else "503" if data.startswith(b"HTTP/1.1 503") else "other")
outcome["unfinished"] = open_
print(json.dumps(outcome), flush=True)
sys.stdin.read()  # the connections stay open until every client process has its answers
for s in socks:
    s.close()
"""


def connection_burst(base_url, attempts, processes=2):
    """`attempts` connections opened at once (split over `processes` client processes, each
    within its descriptor limit), each asking /healthz and kept open until all are answered.
    Returns the outcomes summed: 200, 503, closed (without an answer), reset, refused."""
    host, port = host_port(base_url)
    share = attempts // processes
    children = [subprocess.Popen([sys.executable, "-c", BURST_CHILD, host, str(port), str(share)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)]
    total = {}
    for child in children:
        for name, n in json.loads(child.stdout.readline()).items():
            total[name] = total.get(name, 0) + n
    for child in children:
        child.communicate(timeout=60)
    return total


def settle(measure, target, tolerance, seconds=15):
    """Waits until `measure()` is within `tolerance` of `target`; returns the last value."""
    deadline = time.monotonic() + seconds
    value = measure()
    while abs(value - target) > tolerance and time.monotonic() < deadline:
        time.sleep(0.25)
        value = measure()
    return value
