"""RFC 6455 framing on /ws/meetings/<room_id>/: pings, fragments, closing handshakes, and frames
that break the protocol (sent over a raw socket, since no client library would send them)."""

import base64
import json
import secrets
import socket
import struct
import time

import pytest

from castera_helpers import (
    basic_header, body, host_port, run, ws_open, ws_recv_chat, ws_sync,
)


def creds(user):
    return {"email": user.email, "password": user.password}


def messages(client, meeting_id):
    return body(client.get(f"/api/meetings/{meeting_id}/messages/"), 200)


# --------------------------------------------------------------------------------------------
# A raw client


def client_frame(opcode, payload=b"", fin=True, masked=True, length=None):
    """A frame as a client sends it; `length` overrides the announced payload length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n <= 0xFFFF:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = secrets.token_bytes(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawSocket:
    """A WebSocket client that sends whatever bytes it is given and reads server frames."""

    def __init__(self, base_url, room_id, user):
        host, port = host_port(base_url)
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall((f"GET /ws/meetings/{room_id}/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n"
                           f"Authorization: {basic_header(user.email, user.password)}\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        return chunk

    def _need(self, n):
        while len(self.buffer) < n:
            self.buffer += self._recv()

    def frame(self):
        """(fin, opcode, payload) of the next server frame."""
        self._need(2)
        b0, b1 = self.buffer[0], self.buffer[1]
        assert b1 & 0x80 == 0, "a server never masks"
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
        self._need(at + n)
        payload = self.buffer[at:at + n]
        self.buffer = self.buffer[at + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def close_frame(self):
        """The code and reason of the server's close frame, skipping frames before it."""
        while True:
            _, opcode, payload = self.frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if payload else None
                return code, payload[2:].decode()

    def eof_within(self, seconds):
        """True when the server closes the TCP connection within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except socket.timeout:
            return False

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------------------------
# Control frames and fragments


def test_a_ping_is_answered_with_its_payload(base_url, owner, users):
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], users["owner"])
    try:
        raw.send(client_frame(0x9, b"are you there"))
        while True:
            fin, opcode, payload = raw.frame()
            if opcode == 0xA:
                break
        assert fin and payload == b"are you there"
    finally:
        raw.close()


def test_a_fragmented_message_is_one_chat(base_url, owner, users):
    m = owner.create_meeting()
    u = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        try:
            await ws.send(['{"message": "frag', 'mented ', 'hello"}'])  # three frames
            assert await ws_recv_chat(ws) == {"message": "fragmented hello", "sender": u.email}
            await ws.ping(b"x" * 125)  # a control frame at the size limit
        finally:
            await ws.close()

    run(scenario())
    assert [x["content"] for x in messages(owner, m["id"])] == ["fragmented hello"]


def test_a_ping_between_fragments_is_answered_and_the_message_kept(base_url, owner, users):
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], users["owner"])
    try:
        raw.send(client_frame(0x1, b'{"message": "in ', fin=False) + client_frame(0x9, b"p") +
                 client_frame(0x0, b'two"}'))
        seen = []
        while len(seen) < 2:
            _, opcode, payload = raw.frame()
            if opcode == 0xA or b"message" in payload:
                seen.append((opcode, payload))
        assert seen[0] == (0xA, b"p")
        assert json.loads(seen[1][1]) == {"message": "in two", "sender": users["owner"].email}
    finally:
        raw.close()


# --------------------------------------------------------------------------------------------
# Closing


@pytest.mark.parametrize("payload, answer", [
    (struct.pack("!H", 4001) + b"leaving", 4001),  # answered with its code
    (b"", None),                                   # without a code: answered without one
])
def test_a_client_close_is_answered_then_the_server_closes_tcp(base_url, owner, users, payload, answer):
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], users["owner"])
    try:
        raw.send(client_frame(0x8, payload))
        assert raw.close_frame() == (answer, "")
        assert raw.eof_within(3)
    finally:
        raw.close()


def test_chats_sent_before_the_close_frame_are_stored(base_url, owner, users):
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], users["owner"])
    try:
        burst = b"".join(client_frame(0x1, json.dumps({"message": f"c{i}"}).encode()) for i in range(20))
        raw.send(burst + client_frame(0x8, struct.pack("!H", 1000)))
        assert raw.close_frame()[0] == 1000
    finally:
        raw.close()
    deadline = time.monotonic() + 5
    while len(messages(owner, m["id"])) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [x["content"] for x in messages(owner, m["id"])] == [f"c{i}" for i in range(20)]


# --------------------------------------------------------------------------------------------
# Frames that break the protocol: a close with the RFC's code, then the end of the connection;
# the room goes on.


def expect_refused_frame(base_url, owner, user, data, code):
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], user)
    try:
        raw.send(data)
        assert raw.close_frame()[0] == code
        assert raw.eof_within(3)
    finally:
        raw.close()
    # The server is fine.
    async def still_serving():
        ws = await ws_open(base_url, m["room_id"], **creds(user))
        try:
            await ws_sync(ws, user.email)
        finally:
            await ws.close()
    run(still_serving())


def test_an_unmasked_frame_closes_1002(base_url, owner, users):
    expect_refused_frame(base_url, owner, users["owner"],
                         client_frame(0x1, b'{"message": "x"}', masked=False), 1002)


def test_reserved_bits_and_unknown_opcodes_close_1002(base_url, owner, users):
    data = client_frame(0x1, b'{"message": "x"}')
    expect_refused_frame(base_url, owner, users["owner"], bytes([data[0] | 0x40]) + data[1:], 1002)
    expect_refused_frame(base_url, owner, users["owner"], client_frame(0x3, b"?"), 1002)


def test_a_continuation_without_a_message_closes_1002(base_url, owner, users):
    expect_refused_frame(base_url, owner, users["owner"], client_frame(0x0, b"orphan"), 1002)


def test_text_that_is_not_utf8_closes_1007(base_url, owner, users):
    expect_refused_frame(base_url, owner, users["owner"],
                         client_frame(0x1, b'{"message": "caf\xc3"}'), 1007)


def test_a_huge_frame_is_refused_on_its_header(base_url, owner, users):
    # Announces 100 MB and sends none of it: refused at once, not after reading it.
    expect_refused_frame(base_url, owner, users["owner"],
                         client_frame(0x1, b"", length=100_000_000)[:14], 1009)


def test_random_bytes_after_the_upgrade_never_hurt_the_server(base_url, owner, users):
    # Frames with random header bits, lengths and payloads, cut at random places: each
    # connection ends or goes on, and the server keeps serving everyone else.
    import random
    rng = random.Random(6455)
    m = owner.create_meeting()
    for _ in range(60):
        raw = RawSocket(base_url, m["room_id"], users["owner"])
        try:
            data = b""
            for _ in range(rng.randint(1, 6)):
                payload = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 2, 5, 125, 126, 300])))
                frame = client_frame(rng.choice([0, 1, 2, 3, 8, 9, 10, 15]), payload,
                                     fin=rng.random() < 0.7, masked=rng.random() < 0.9)
                if rng.random() < 0.2:
                    frame = bytes([frame[0] ^ (1 << rng.randint(4, 6))]) + frame[1:]
                data += frame
            cut = rng.randint(1, len(data))
            raw.send(data[:cut])
            if rng.random() < 0.5:
                raw.eof_within(0.2)
        except (ConnectionError, EOFError, OSError):
            pass
        finally:
            raw.close()

    async def still_serving():
        ws = await ws_open(base_url, m["room_id"], **creds(users["owner"]))
        try:
            await ws_sync(ws, users["owner"].email)
        finally:
            await ws.close()
    run(still_serving())


def test_pings_from_a_client_that_never_reads_close_it_1008(base_url, owner, users):
    # Each ping owes a pong; a client that never reads them is a slow reader like any other,
    # not a way to grow the server's queue without end.
    m = owner.create_meeting()
    raw = RawSocket(base_url, m["room_id"], users["owner"])
    try:
        ping = client_frame(0x9, b"p" * 125)
        raw.sock.settimeout(20)
        try:
            for _ in range(40):
                raw.send(ping * 5000)  # 40 x 655 KB
        except OSError:
            pass  # the server may have closed already
        raw.sock.settimeout(10)
        assert raw.close_frame()[0] == 1008
    finally:
        raw.close()
