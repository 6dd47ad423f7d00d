"""WebSocket upgrades that are malformed or not allowed, and frames that break RFC 6455 or the
room's protocols, each on a connection of its own.

An upgrade is refused with castera's JSON (400 for a bad handshake, 426 for a version other
than 13, 403 for credentials, an untrusted Origin on a cookie-authenticated upgrade or an ended
meeting, 404 for a room that does not exist), or accepted with 101. After the upgrade
(docs/PROTOCOL.md): a frame that breaks RFC 6455 closes with 1002, text that is not UTF-8
with 1007, a message over 64 KiB with 1009; the compatible protocol closes with 1007 for text
that is not JSON and 1003 for JSON that is not a chat; castera.v2 answers a bad frame with an
`error` frame and stays open. Valid chats, however they arrive (in a storm of fragments, with
control frames between them, one byte per TCP packet), are delivered and stored.
"""

import base64
import json
import secrets
import socket
import struct
from dataclasses import dataclass, field

from hostile import Case, exchange, expect, problem

NOT_PROVIDED = "Authentication credentials were not provided."
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
LIMIT = 64 << 10


# --------------------------------------------------------------------------------------------
# Bytes on the wire


def frame(opcode, payload=b"", fin=True, masked=True, rsv=0, length_form=None, length=None):
    """A client frame. `length_form` forces the 7-bit, 16-bit or 64-bit length encoding;
    `length` announces another length than the payload's."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if masked else 0
    form = length_form or (7 if n < 126 else 16 if n <= 0xFFFF else 64)
    if form == 7:
        head += bytes([mask_bit | n])
    elif form == 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = secrets.token_bytes(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def text(payload, **kw):
    return frame(0x1, payload if isinstance(payload, bytes) else payload.encode(), **kw)


def chat_bytes(content):
    return json.dumps({"message": content}).encode()


def v2_chat_bytes(content):
    return json.dumps({"type": "chat", "content": content}).encode()


def fragments(payload, pieces, opcode=0x1):
    """The message cut into `pieces` frames (some may be empty when pieces > len)."""
    size = max(1, -(-len(payload) // pieces))
    parts = [payload[i:i + size] for i in range(0, len(payload), size)]
    while len(parts) < pieces:
        parts.append(b"")
    out = [frame(opcode if i == 0 else 0x0, p, fin=(i == len(parts) - 1)) for i, p in enumerate(parts)]
    return out


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def upgrade(world, room=None, key=KEY, version="13", auth="owner", protocol=None, origin=None, cookie=None,
            extra=(), path=None, query="", method="GET", http="HTTP/1.1", upgrade_value="websocket",
            connection="Upgrade", host=True):
    lines = [f"{method} {path or '/ws/meetings/' + (room or world.meetings['ws'].room_id) + '/'}{query} {http}"]
    if host:
        lines.append(f"Host: {world.host}")
    if upgrade_value is not None:
        lines.append(f"Upgrade: {upgrade_value}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if auth is not None:
        lines.append(f"Authorization: {world.basic(auth) if auth in world.users else auth}")
    if protocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


class Conn:
    """A raw WebSocket connection: the upgrade's answer, then server frames."""

    def __init__(self, world, request_bytes, per_byte=False, timeout=5.0):
        self.sock = socket.create_connection(world.address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.send(request_bytes, per_byte)
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.head = head
        self.status = int(head.split(b" ")[1])

    def _recv(self):
        piece = self.sock.recv(65536)
        if not piece:
            raise EOFError("the server closed the connection")
        self.buffer += piece

    def send(self, data, per_byte=False):
        if per_byte:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
        else:
            self.sock.sendall(data)

    def _need(self, n):
        while len(self.buffer) < n:
            self._recv()

    def frame(self):
        self._need(2)
        b0, b1 = self.buffer[0], self.buffer[1]
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
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

    def json_frames(self):
        """Text frames as JSON, skipping pings; stops at a close frame (returns its code)."""
        while True:
            _, opcode, payload = self.frame()
            if opcode == 0x8:
                return ("close", struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == 0x9:
                self.send(frame(0xA, payload))
                continue
            if opcode == 0xA:
                return ("pong", payload)
            return ("json", json.loads(payload.decode("utf-8"), parse_constant=_not_json))

    def eof_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            while True:
                if self.buffer:
                    self.buffer = b""
                piece = self.sock.recv(65536)
                if not piece:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# A frame case: what to send once upgraded, and what must follow


@dataclass
class WsCase:
    name: str
    send: list                       # pieces after the upgrade, each sent by itself
    want: tuple                      # ("close", code) | ("chat", content) | ("pong", payload) | ("error", code)
    protocol: str = None             # "castera.v2" for typed frames
    per_byte: bool = False           # every byte its own TCP packet, the upgrade too
    answer: bool = False             # a close of the room's protocol: answered, then TCP ends
    stores: list = field(default_factory=list)     # chats that must be stored
    unstored: list = field(default_factory=list)   # chats that must never be


def run_ws_case(world, case):
    """Runs one frame case; returns what went wrong, or None."""
    conn = Conn(world, upgrade(world, protocol=case.protocol), per_byte=case.per_byte)
    try:
        if conn.status != 101:
            return f"upgrade answered {conn.status}: {conn.head[:200]!r}"
        email = world.users["owner"].email
        if case.protocol:
            kind, first = conn.json_frames()
            if kind != "json" or first.get("type") != "welcome":
                return f"no welcome first: {kind} {first!r:.200}"
        for piece in case.send:
            try:
                conn.send(piece, case.per_byte)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed early: what it said is read below
        want = case.want
        while True:
            kind, got = conn.json_frames()
            if kind == "close":
                if want[0] == "close":
                    if got != want[1]:
                        return f"closed with {got}, wanted {want[1]}"
                    # A frame that breaks RFC 6455 ends the connection at once; a close of the
                    # room's protocol waits for the client's answer.
                    if case.answer:
                        try:
                            conn.send(frame(0x8, close_payload(got)))
                        except OSError:
                            return "the server did not wait for the close handshake"
                    if not conn.eof_within(3):
                        return "the connection stayed open after the close frame"
                    break
                return f"closed with {got}, wanted {want}"
            if kind == "pong":
                if want[0] == "pong" and got == want[1]:
                    break
                continue  # a pong for a ping sent on the way
            if not isinstance(got, dict):
                return f"a frame that is not an object: {got!r:.200}"
            if got.get("presence") or got.get("type") in ("presence", "participant_state"):
                continue
            if want[0] == "close":
                continue  # chats stored before the offending frame, for example
            if want[0] == "chat":
                content = got.get("message") if not case.protocol else got.get("content")
                if content == want[1]:
                    if not case.protocol and got != {"message": want[1], "sender": email}:
                        return f"chat frame {got!r:.200}"
                    break
                return f"unexpected chat {got!r:.200}, wanted {want[1]!r:.80}"
            if want[0] == "error" and got.get("type") == "error":
                if got.get("code") != want[1]:
                    return f"error {got!r:.200}, wanted code {want[1]}"
                break
            if want[0] == "pong" and got.get("type") == "pong":
                if got != want[1]:
                    return f"pong {got!r:.200}, wanted {want[1]!r}"
                break
            return f"unexpected frame {got!r:.200}, wanted {want}"
        if want[0] != "close":
            conn.send(frame(0x8, close_payload(1000)))
            kind, got = _until_close(conn)
            if got != 1000:
                return f"our close was answered with {kind} {got}"
    except (EOFError, ConnectionError) as e:
        return f"the connection ended before {case.want}: {e}"
    except socket.timeout:
        return f"timeout waiting for {case.want}"
    finally:
        conn.close()
    world.ledger.messages += [(world.meetings["ws"].id, c) for c in case.stores]
    world.ledger.unstored += [(world.meetings["ws"].id, c) for c in case.unstored]
    return None


def _until_close(conn):
    while True:
        kind, got = conn.json_frames()
        if kind == "close":
            return kind, got


def check_ws(world, category, cases):
    failures = []
    for case in cases:
        try:
            trouble = run_ws_case(world, case)
        except Exception as e:  # a broken expectation must name its case
            trouble = f"{type(e).__name__}: {e}"
        if trouble:
            failures.append(f"{case.name}: {trouble}")
    world.count(category, len(cases))
    return failures


# --------------------------------------------------------------------------------------------
# Upgrades: an HTTP answer each (refusals are checked as any other answer)


def upgrades(world):
    h = world.host
    hostname = h.split(":")[0]
    room = world.meetings["ws"].room_id
    cases = []

    def add(name, raw, want, **kw):
        cases.append(Case(name, raw, want, shut=want.statuses != frozenset({101}), **kw))

    bad_key = expect(400, detail="Bad Sec-WebSocket-Key: it must be 16 bytes in base64.")
    for label, key in [("missing", None), ("empty", ""), ("short", "short"), ("15 bytes", base64.b64encode(b"x" * 15).decode()),
                       ("17 bytes", base64.b64encode(b"x" * 17).decode()), ("24 characters not base64", "!" * 22 + "=="),
                       ("without padding", KEY.rstrip("=")), ("one = only", KEY[:-1]), ("base64url", "-_" * 11 + "=="),
                       ("with a space inside", KEY[:10] + " " + KEY[11:]), ("a kilobyte", "A" * 1024),
                       ("obs-text", "\xff" * 22 + "=="), ("32 bytes", base64.b64encode(b"y" * 32).decode())]:
        if not key:
            want = expect(400, detail="Missing Sec-WebSocket-Key.")
        else:
            want = bad_key
        add(f"upgrade key {label}", upgrade(world, key=key), want)
    add("upgrade key with spaces around", upgrade(world, key="  " + KEY + "  "), expect(101))
    for label, version in [("8", "8"), ("12", "12"), ("14", "14"), ("0", "0"), ("13.0", "13.0"), ("13, 8", "13, 8"),
                           ("abc", "abc"), ("013", "013"), ("-13", "-13"), ("a kilobyte", "1" * 1024)]:
        add(f"upgrade version {label}", upgrade(world, version=version),
            expect(426, detail="Unsupported Sec-WebSocket-Version: this server speaks 13."))
    add("upgrade version missing", upgrade(world, version=None), expect(400, detail="Missing Sec-WebSocket-Version."))
    add("upgrade version empty", upgrade(world, version=""), expect(400, detail="Missing Sec-WebSocket-Version."))
    add("upgrade version with spaces around", upgrade(world, version=" 13 "), expect(101))
    # Not an upgrade at all: the WebSocket route answers nothing else.
    for label, kw in [("no Upgrade header", {"upgrade_value": None}), ("Upgrade: h2c", {"upgrade_value": "h2c"}),
                      ("Upgrade: websockets", {"upgrade_value": "websockets"}), ("no Connection header", {"connection": None}),
                      ("Connection: keep-alive", {"connection": "keep-alive"}), ("Connection: close", {"connection": "close"}),
                      ("POST", {"method": "POST"}), ("PUT", {"method": "PUT"}), ("HTTP/1.0", {"http": "HTTP/1.0"})]:
        add(f"upgrade {label}", upgrade(world, **kw), expect(404, detail="Not found."))
    add("upgrade without Host", upgrade(world, host=False), expect(400, detail="Malformed HTTP request."))
    for label, kw in [("Upgrade: WebSocket", {"upgrade_value": "WebSocket"}),
                      ("Connection: keep-alive, Upgrade", {"connection": "keep-alive, Upgrade"}),
                      ("Connection: upgrade", {"connection": "upgrade"}),
                      ("without the trailing slash", {"path": f"/ws/meetings/{room}"}),
                      ("an upper-case room id", {"room": room.upper()}),
                      ("a room id without dashes", {"room": room.replace("-", "")}),
                      ("an unknown subprotocol", {"protocol": "chat, superchat"}),
                      ("a subprotocol of obs-text", {"protocol": "\xff\xfe"}),
                      ("a subprotocol of 8 KB", {"protocol": "p" * 8192}),
                      ("permessage-deflate offered",
                       {"extra": [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]}),
                      ("an unknown extension offered", {"extra": [("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")]}),
                      ("Basic and a foreign Origin", {"origin": "https://evil.example"}),
                      ("a garbage resume token", {"protocol": "castera.v2", "query": "?resume=garbage"})]:
        add(f"upgrade with {label}", upgrade(world, **kw), expect(101))
    # Credentials.
    for label, kw, detail in [
        ("no credentials", {"auth": None}, NOT_PROVIDED),
        ("a wrong password", {"auth": "Basic " + base64.b64encode(b"victim@example.com:wrong").decode()},
         "Invalid username/password."),
        ("a malformed Basic header", {"auth": "Basic !!!"}, "Invalid basic header. Credentials not correctly base64 encoded."),
        ("a bad token", {"auth": "Token nope"}, "Invalid token."),
        ("a bearer token", {"auth": "Bearer a.b.c"}, "Invalid token."),
        ("a bad access_token", {"auth": None, "query": "?access_token=nope"}, "Invalid token."),
        ("a JWT-shaped access_token", {"auth": None, "query": "?access_token=a.b.c"}, "Invalid token."),
        ("an empty access_token", {"auth": None, "query": "?access_token="}, NOT_PROVIDED),
        ("an access_token of 8 KB", {"auth": None, "query": "?access_token=" + "t" * 8192}, "Invalid token."),
        ("an unknown session", {"auth": None, "cookie": "sessionid=" + "c" * 32}, NOT_PROVIDED),
    ]:
        add(f"upgrade with {label}", upgrade(world, **kw), expect(403, detail=detail))
    add("upgrade with the API token as access_token", upgrade(world, auth=None, query="?access_token=" + world.token),
        expect(101))
    # Rooms.
    add("upgrade to an ended meeting", upgrade(world, room=world.meetings["ended"].room_id),
        expect(403, detail="This meeting has ended."))
    add("upgrade to another user's meeting", upgrade(world, room=world.meetings["other"].room_id), expect(101))
    for i in range(5):
        add(f"upgrade to an unknown room {i}", upgrade(world, room=f"{i:08x}-1111-4111-8111-{i:012x}"),
            expect(404, detail="Meeting not found"))
    for label, bad in [("word", "room"), ("braces", "{" + room + "}"), ("short", room[:-1]), ("NUL", room + "%00"),
                       ("dots", ".."), ("overlong", room + "\xc0\xaf"), ("10 KB", "r" * 10240)]:
        add(f"upgrade to a malformed room ({label})", upgrade(world, room=bad), expect(404, detail="Not found."))
    # Origins: checked for cookie-authenticated upgrades only.
    trusted = [f"http://{h}", f"https://{h}", "https://app.example.com", ""]
    refused = ["https://evil.example", "null", f"http://{h}/", "https://app.example.com/", f"HTTP://{h.upper()}",
               f"http://{h}.evil.example", f"http://{hostname}", f"ws://{h}", f"http://user@{h}", "https://app.example.com:443",
               "https://APP.EXAMPLE.COM", f"http://{h}, https://evil.example", "\xff\xfe", "o" * 8192, "file://",
               f"http://{hostname}:{world.address[1] + 1}", "*"]
    for origin in trusted:
        add(f"cookie upgrade from Origin {origin!r}", upgrade(world, auth=None, cookie=world.cookie, origin=origin or None),
            expect(101))
    for i, origin in enumerate(refused):
        add(f"cookie upgrade from Origin {origin[:40]!r} (refused {i})", upgrade(world, auth=None, cookie=world.cookie, origin=origin),
            expect(403, detail="Origin not allowed."))
    return cases


def check_upgrades(world, cases, count=True):
    """Refusals are HTTP answers; an accepted upgrade is closed with a close frame."""
    failures = []
    for case in cases:
        if case.expect.statuses != frozenset({101}):
            trouble = problem(case, exchange(world.address, case))
        else:
            trouble = None
            try:
                conn = Conn(world, case.data)
                if conn.status != 101:
                    trouble = f"status {conn.status}, wanted 101: {conn.head[:200]!r}"
                else:
                    conn.send(frame(0x8, close_payload(1000)))
                    _, code = _until_close(conn)
                    if code != 1000:
                        trouble = f"our close answered with {code}"
                conn.close()
            except (EOFError, ConnectionError, socket.timeout) as e:
                trouble = f"{type(e).__name__}: {e}"
        if trouble:
            failures.append(f"{case.name}: {trouble}")
    world.count("websocket upgrades" if count else None, len(cases))
    return failures


# --------------------------------------------------------------------------------------------
# Frames


def frames(world):
    cases = []
    n = [0]

    def content(label):
        n[0] += 1
        return f"ws {n[0]} {label}"

    def chat_case(name, pieces_of, protocol=None, per_byte=False, **kw):
        c = content(name)
        payload = v2_chat_bytes(c) if protocol else chat_bytes(c)
        cases.append(WsCase(name, pieces_of(payload), ("chat", c), protocol=protocol, per_byte=per_byte,
                            stores=[c], **kw))

    # Storms of fragments: any number of them is one message.
    for pieces in (2, 3, 7, 16, 50, 200, 1000, 5000):
        chat_case(f"a chat in {pieces} fragments", lambda p, k=pieces: [b"".join(fragments(p, k))])
        chat_case(f"a chat in {pieces} fragments, each sent alone", lambda p, k=pieces: fragments(p, k))
    for empties in (1, 100, 2000):
        chat_case(f"a chat with {empties} empty fragments first",
                  lambda p, k=empties: [text(b"", fin=False) + b"".join(frame(0x0, b"", fin=False) for _ in range(k)) +
                                        frame(0x0, p)])
    c = content("split inside \u00e9, a character")
    p = chat_bytes(c).replace(b"\\u00e9", "\u00e9".encode())
    cut = p.index("\u00e9".encode()) + 1
    cases.append(WsCase("a chat split inside a UTF-8 character", [text(p[:cut], fin=False) + frame(0x0, p[cut:])],
                        ("chat", c), stores=[c]))
    chat_case("a chat in 2 fragments, v2", lambda p: [b"".join(fragments(p, 2))], protocol="castera.v2")
    chat_case("a chat in 500 fragments, v2", lambda p: [b"".join(fragments(p, 500))], protocol="castera.v2")
    # Control frames between fragments.
    for label, control in [("a ping", frame(0x9, b"p")), ("an empty ping", frame(0x9)), ("a pong", frame(0xA, b"q")),
                           ("a 125-byte ping", frame(0x9, b"x" * 125)), ("ten pings", frame(0x9, b"1") * 10),
                           ("a ping and a pong", frame(0x9) + frame(0xA))]:
        chat_case(f"{label} between fragments",
                  lambda p, c=control: [text(p[:5], fin=False) + c + frame(0x0, p[5:9], fin=False) + c + frame(0x0, p[9:])])
        chat_case(f"{label} between fragments, v2",
                  lambda p, c=control: [text(p[:5], fin=False) + c + frame(0x0, p[5:])], protocol="castera.v2")
    for code in (1000, 1001, 4001):
        c = content("cut by a close")
        cases.append(WsCase(f"a close {code} between fragments", [text(chat_bytes(c)[:6], fin=False) +
                                                                    frame(0x8, close_payload(code))],
                            ("close", code), unstored=[c]))
    c = content("after our close")
    cases.append(WsCase("a chat after the client's close", [frame(0x8, close_payload(1000)) + text(chat_bytes(c))],
                        ("close", 1000), unstored=[c]))
    # Fragments that break the rules.
    c = content("two starts")
    for label, data in [
        ("a 126-byte ping between fragments", text(b'{"message', fin=False) + frame(0x9, b"x" * 126)),
        ("a fragmented ping between fragments", text(b'{"message', fin=False) + frame(0x9, b"x", fin=False)),
        ("a fragmented close", frame(0x8, close_payload(1000), fin=False)),
        ("a fragmented pong", frame(0xA, b"", fin=False)),
        ("a new text message inside another", text(chat_bytes(c)[:4], fin=False) + text(chat_bytes(c))),
        ("a binary message inside a text one", text(b'{"mes', fin=False) + frame(0x2, b"x")),
        ("a continuation first", frame(0x0, b'{"message": "x"}')),
        ("a final continuation first", frame(0x0, b"", fin=True)),
    ]:
        cases.append(WsCase(label, [data], ("close", 1002), unstored=[c]))
    c = content("complete before a stray continuation")
    cases.append(WsCase("a continuation after a complete message", [text(chat_bytes(c)) + frame(0x0, b"x")],
                        ("close", 1002), stores=[c]))
    # Sizes.
    cases.append(WsCase("a text frame one byte over the limit", [text(b"x" * (LIMIT + 1))], ("close", 1009)))
    cases.append(WsCase("a frame announcing 2^62 bytes", [frame(0x1, b"", length=2 ** 62)[:14]], ("close", 1009)))
    cases.append(WsCase("a frame announcing 100 MB", [frame(0x1, b"", length=100_000_000)[:14]], ("close", 1009)))
    cases.append(WsCase("a frame announcing 2^63 bytes", [frame(0x1, b"", length=2 ** 63)[:14]], ("close", 1002)))
    cases.append(WsCase("fragments adding up past the limit",
                        [text(b"x" * 40000, fin=False) + frame(0x0, b"x" * 40000)], ("close", 1009)))
    cases.append(WsCase("70 fragments of 1000 bytes", [text(b"y" * 1000, fin=False) +
                                                       b"".join(frame(0x0, b"y" * 1000, fin=False) for _ in range(70))],
                        ("close", 1009)))
    cases.append(WsCase("a storm of empty fragments past the limit", [text(b"", fin=False) +
                                                                     b"".join(frame(0x0, b"z" * 100, fin=False) for _ in range(700))],
                        ("close", 1009)))
    c = content("at the limit") + " "
    c += "b" * (LIMIT - 10 - len(chat_bytes(c)))
    cases.append(WsCase("a chat just under the limit", [text(chat_bytes(c))], ("chat", c), stores=[c]))
    for label, data in [("a 10-byte frame with a 16-bit length", text(b"0123456789", length_form=16)),
                        ("a 10-byte frame with a 64-bit length", text(b"0123456789", length_form=64)),
                        ("a 200-byte frame with a 64-bit length", text(b"0" * 200, length_form=64)),
                        ("a ping with a 16-bit length", frame(0x9, b"p", length_form=16))]:
        cases.append(WsCase(label, [data], ("close", 1002)))
    # Masks, reserved bits, opcodes.
    for label, data in [("an unmasked text frame", text(chat_bytes("x"), masked=False)),
                        ("an unmasked ping", frame(0x9, b"p", masked=False)),
                        ("an unmasked close", frame(0x8, close_payload(1000), masked=False)),
                        ("an unmasked continuation", text(b'{"m', fin=False) + frame(0x0, b'"}', masked=False)),
                        ("an unmasked empty frame", frame(0x1, b"", masked=False))]:
        cases.append(WsCase(label, [data], ("close", 1002)))
    for rsv in range(1, 8):
        cases.append(WsCase(f"reserved bits {rsv:03b} on text", [text(chat_bytes("r"), rsv=rsv)], ("close", 1002)))
        cases.append(WsCase(f"reserved bits {rsv:03b} on a ping", [frame(0x9, b"", rsv=rsv)], ("close", 1002)))
    for opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
        cases.append(WsCase(f"opcode {opcode:#x}", [frame(opcode, b"x")], ("close", 1002)))
    # Close frames.
    cases.append(WsCase("a close of one byte", [frame(0x8, b"\x03")], ("close", 1002)))
    for code in (0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
        cases.append(WsCase(f"a close with code {code}", [frame(0x8, close_payload(code))], ("close", 1002)))
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999):
        cases.append(WsCase(f"a close with code {code}", [frame(0x8, close_payload(code, b"bye"))], ("close", code)))
    cases.append(WsCase("a close with a 123-byte reason", [frame(0x8, close_payload(1000, b"r" * 123))], ("close", 1000)))
    for label, reason in [("overlong", b"\xc0\xaf"), ("a lone surrogate", b"\xed\xa0\x80"), ("0xff", b"\xff"),
                          ("cut", b"\xe2\x82")]:
        cases.append(WsCase(f"a close reason that is not UTF-8 ({label})", [frame(0x8, close_payload(1000, reason))],
                            ("close", 1007)))
    # Text that is not UTF-8, whole or across fragments.
    for label, data in [("overlong", b'{"message": "\xc0\xaf"}'), ("an encoded surrogate", b'{"message": "\xed\xa0\x80"}'),
                        ("past U+10FFFF", b'{"message": "\xf4\x90\x80\x80"}'), ("a stray continuation", b'{"message": "\x80"}'),
                        ("0xfe", b'\xfe'), ("cut at the end", b'{"message": "\xe2\x82')]:
        cases.append(WsCase(f"text that is not UTF-8 ({label})", [text(data)], ("close", 1007)))
        cases.append(WsCase(f"text that is not UTF-8 ({label}), v2", [text(data)], ("close", 1007), protocol="castera.v2"))
    cases.append(WsCase("a UTF-8 character cut by the last fragment", [text(b'{"message": "\xe2', fin=False) + frame(0x0, b"\x82")],
                        ("close", 1007)))
    # The compatible protocol: anything but a chat closes the connection.
    for label, data, code in [
        ("not JSON", b"hello", 1007), ("truncated JSON", b'{"message": "x"', 1007), ("NaN", b'{"message": NaN}', 1007),
        ("a lone surrogate escape", b'{"message": "\\ud800"}', 1007), ("nested 10000 deep", b"[" * 10000 + b"]" * 10000, 1007),
        ("an empty text frame", b"", 1007), ("JSON null", b"null", 1003), ("a number", b"5", 1003), ("a list", b'["message"]', 1003),
        ("no message", b'{"msg": "x"}', 1003), ("a number message", b'{"message": 5}', 1003),
        ("a null message", b'{"message": null}', 1003), ("a list message", b'{"message": ["x"]}', 1003),
        ("an object message", b'{"message": {"a": 1}}', 1003), ("a NUL message", b'{"message": "\\u0000"}', 1003),
        ("a message with a NUL", b'{"message": "a\\u0000b"}', 1003),
    ]:
        cases.append(WsCase(f"compatible: {label}", [text(data)], ("close", code), answer=True))
    cases.append(WsCase("compatible: a binary frame", [frame(0x2, chat_bytes("bin"))], ("close", 1003), answer=True))
    cases.append(WsCase("compatible: a fragmented binary message", [b"".join(fragments(chat_bytes("bin"), 3, opcode=0x2))],
                        ("close", 1003), answer=True))
    # A blank chat is ignored (docs/COMPATIBILITY.md); the next one goes through.
    c = content("after a blank")
    cases.append(WsCase("compatible: a blank chat, then a chat", [text(b'{"message": "  "}') + text(chat_bytes(c))],
                        ("chat", c), stores=[c]))
    c = content("sender ignored")
    cases.append(WsCase("compatible: a sender is ignored", [text(json.dumps({"message": c, "sender": "admin@example.com"}).encode())],
                        ("chat", c), stores=[c]))
    # Pings: answered with their payload.
    for payload in (b"", b"x", b"\x00\xff" * 10, b"p" * 125):
        cases.append(WsCase(f"a ping of {len(payload)} bytes", [frame(0x9, payload)], ("pong", payload)))
    # One byte per TCP packet, the upgrade included.
    chat_case("a chat one byte per packet", lambda p: [text(p)], per_byte=True)
    chat_case("a chat in 5 fragments one byte per packet", lambda p: [b"".join(fragments(p, 5))], per_byte=True)
    chat_case("a chat with a ping inside, one byte per packet",
              lambda p: [text(p[:4], fin=False) + frame(0x9, b"i") + frame(0x0, p[4:])], per_byte=True)
    chat_case("a v2 chat one byte per packet", lambda p: [text(p)], protocol="castera.v2", per_byte=True)
    cases.append(WsCase("a ping one byte per packet", [frame(0x9, b"slow")], ("pong", b"slow"), per_byte=True))
    cases.append(WsCase("an unmasked frame one byte per packet", [text(b"{}", masked=False)], ("close", 1002), per_byte=True))
    return cases


def offer(data):
    return b'{"type": "signal", "to": "p_x", "signal_type": "offer", "data": ' + data + b"}"


def ice(data):
    return b'{"type": "signal", "to": "p_x", "signal_type": "ice", "data": ' + data + b"}"


# castera.v2 frames that are answered with an error frame; the connection stays open.
def v2_errors(world):
    out = []
    for label, payload, code in [
        ("not JSON", b"hello", "invalid_json"), ("truncated", b'{"type": "chat"', "invalid_json"),
        ("a lone surrogate", b'{"type": "chat", "content": "\\ud800"}', "invalid_json"),
        ("nested 10000 deep", b"[" * 10000 + b"]" * 10000, "invalid_json"),
        ("an empty frame", b"", "invalid_json"), ("null", b"null", "invalid_frame"), ("a list", b"[]", "invalid_frame"),
        ("a string", b'"chat"', "invalid_frame"), ("no type", b"{}", "invalid_frame"),
        ("a number type", b'{"type": 5}', "invalid_frame"), ("a null type", b'{"type": null}', "invalid_frame"),
        ("a list type", b'{"type": ["chat"]}', "invalid_frame"), ("unknown type", b'{"type": "nope"}', "unknown_type"),
        ("upper-case type", b'{"type": "CHAT"}', "unknown_type"), ("empty type", b'{"type": ""}', "unknown_type"),
        ("a 10 KB type", json.dumps({"type": "t" * 10240}).encode(), "unknown_type"),
        ("a type with NUL", b'{"type": "chat\\u0000"}', "unknown_type"),
        ("a welcome from the client", b'{"type": "welcome"}', "unknown_type"),
        ("chat without content", b'{"type": "chat"}', "invalid_chat"),
        ("chat with empty content", b'{"type": "chat", "content": ""}', "invalid_chat"),
        ("chat with blank content", b'{"type": "chat", "content": " \\t\\n"}', "invalid_chat"),
        ("chat with numeric content", b'{"type": "chat", "content": 5}', "invalid_chat"),
        ("chat with null content", b'{"type": "chat", "content": null}', "invalid_chat"),
        ("chat with list content", b'{"type": "chat", "content": ["x"]}', "invalid_chat"),
        ("chat with object content", b'{"type": "chat", "content": {}}', "invalid_chat"),
        ("chat with boolean content", b'{"type": "chat", "content": true}', "invalid_chat"),
        ("chat with NUL content", b'{"type": "chat", "content": "\\u0000"}', "invalid_chat"),
        ("chat with a NUL inside", b'{"type": "chat", "content": "a\\u0000b"}', "invalid_chat"),
        ("private chat with a NUL", b'{"type": "chat", "content": "a\\u0000b", "to": "p_x"}', "invalid_chat"),
        ("private chat to nobody", b'{"type": "chat", "content": "x", "to": "p_nobody"}', "unknown_peer"),
        ("private chat to a number", b'{"type": "chat", "content": "x", "to": 5}', "unknown_peer"),
        ("private chat to an empty peer", b'{"type": "chat", "content": "x", "to": ""}', "unknown_peer"),
        ("signal without signal_type", b'{"type": "signal", "to": "p_x", "data": {"sdp": "x"}}', "invalid_signal"),
        ("signal of an unknown type", b'{"type": "signal", "to": "p_x", "signal_type": "bye", "data": {}}', "invalid_signal"),
        ("signal type not a string", b'{"type": "signal", "to": "p_x", "signal_type": 1, "data": {}}', "invalid_signal"),
        ("offer without data", b'{"type": "signal", "to": "p_x", "signal_type": "offer"}', "invalid_signal"),
        ("offer with list data", offer(b'[]'), "invalid_signal"),
        ("offer without sdp", offer(b'{}'), "invalid_signal"),
        ("offer with an empty sdp", offer(b'{"sdp": ""}'), "invalid_signal"),
        ("offer with a numeric sdp", offer(b'{"sdp": 1}'), "invalid_signal"),
        ("ice without candidate", ice(b'{}'), "invalid_signal"),
        ("ice with a numeric candidate", ice(b'{"candidate": 1}'), "invalid_signal"),
        ("offer with a NUL in the sdp", offer(b'{"sdp": "a\\u0000"}'), "invalid_signal"),
        ("offer with a NUL in a key", offer(b'{"sdp": "a", "k\\u0000": 1}'), "invalid_signal"),
        ("offer with infinity inside", offer(b'{"sdp": "a", "n": 1e400}'), "invalid_signal"),
        ("offer with -infinity deep inside", offer(b'{"sdp": "a", "n": [[{"m": -1e400}]]}'), "invalid_signal"),
        ("offer to nobody", b'{"type": "signal", "to": "p_nobody", "signal_type": "offer", "data": {"sdp": "v=0"}}', "unknown_peer"),
        ("offer without to", b'{"type": "signal", "signal_type": "offer", "data": {"sdp": "v=0"}}', "unknown_peer"),
        ("offer to a number", b'{"type": "signal", "to": 7, "signal_type": "offer", "data": {"sdp": "v=0"}}', "unknown_peer"),
        ("state without changes", b'{"type": "participant_state"}', "invalid_state"),
        ("state with empty changes", b'{"type": "participant_state", "changes": {}}', "invalid_state"),
        ("state with list changes", b'{"type": "participant_state", "changes": []}', "invalid_state"),
        ("state with an unknown flag", b'{"type": "participant_state", "changes": {"admin": true}}', "invalid_state"),
        ("state with a string flag", b'{"type": "participant_state", "changes": {"audio_muted": "true"}}', "invalid_state"),
        ("state with a null flag", b'{"type": "participant_state", "changes": {"audio_muted": null}}', "invalid_state"),
        ("state with a numeric flag", b'{"type": "participant_state", "changes": {"in_call": 1}}', "invalid_state"),
        ("moderate without action", b'{"type": "moderate", "user": 1}', "invalid_moderation"),
        ("moderate with an unknown action", b'{"type": "moderate", "action": "ban_forever", "user": 1}', "invalid_moderation"),
        ("moderate with a numeric action", b'{"type": "moderate", "action": 1, "user": 1}', "invalid_moderation"),
        ("moderate without user", b'{"type": "moderate", "action": "kick"}', "invalid_moderation"),
        ("moderate a string user", b'{"type": "moderate", "action": "kick", "user": "1"}', "invalid_moderation"),
        ("moderate user 0", b'{"type": "moderate", "action": "kick", "user": 0}', "invalid_moderation"),
        ("moderate a negative user", b'{"type": "moderate", "action": "kick", "user": -5}', "invalid_moderation"),
        ("moderate a float user", b'{"type": "moderate", "action": "kick", "user": 1.5}', "invalid_moderation"),
        ("moderate a huge user", b'{"type": "moderate", "action": "kick", "user": 18446744073709551615}', "invalid_moderation"),
        ("moderate an unknown user", b'{"type": "moderate", "action": "mute_audio", "user": 987654321}', "invalid_moderation"),
        ("moderate oneself", json.dumps({"type": "moderate", "action": "kick", "user": world.user_ids["owner"]}).encode(),
         "invalid_moderation"),
        ("deny someone not waiting", json.dumps({"type": "moderate", "action": "deny", "user": world.user_ids["other"]}).encode(),
         "invalid_moderation"),
        ("a ping with infinity as id", b'{"type": "ping", "id": 1e400}', "invalid_frame"),
        ("a ping with -infinity deep in its id", b'{"type": "ping", "id": {"a": [-1e400]}}', "invalid_frame"),
    ]:
        out.append(WsCase(f"v2: {label}", [text(payload)], ("error", code), protocol="castera.v2"))
    out.append(WsCase("v2: a binary frame", [frame(0x2, b'{"type": "ping"}')], ("error", "invalid_frame"), protocol="castera.v2"))
    for label, ident, echoed in [("no id", None, {"type": "pong"}), ("a number", 7, {"type": "pong", "id": 7}),
                                 ("a string", "x\u0000y", {"type": "pong", "id": "x\u0000y"}),
                                 ("an object", {"a": [1, None]}, {"type": "pong", "id": {"a": [1, None]}}),
                                 ("a huge integer", 18446744073709551615, {"type": "pong", "id": 18446744073709551615}),
                                 ("a tiny float", 1e-300, {"type": "pong", "id": 1e-300})]:
        ping = {"type": "ping"} if ident is None else {"type": "ping", "id": ident}
        out.append(WsCase(f"v2: a ping with {label}", [text(json.dumps(ping).encode())], ("pong", echoed),
                          protocol="castera.v2"))
    return out
