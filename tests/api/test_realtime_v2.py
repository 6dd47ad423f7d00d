"""The typed protocol castera.v2 (docs/PROTOCOL.md): welcome, chat, presence, directed signals,
participant state and meeting status pushes, error frames, ping/pong; and the limits: message
rate, connections per user and per room, slow readers, idle connections."""

import asyncio
import base64
import json
import os
import secrets
import shutil
import socket
import tempfile
import time

import pytest
import websockets

from castera_helpers import Client, basic_header, body, closed_with, host_port, run, unique, welcome_of, ws_base
from conftest import base_env, castera_bin, run_cli, start_server, stop_server

PROTOCOL = "castera.v2"
FLAGS = {"audio_muted": False, "video_stopped": False, "in_call": True, "raised_hand": False,
         "screen_sharing": False}


async def v2_open(base_url, room_id, user, typed=True, query=""):
    headers = [("Authorization", basic_header(user.email, user.password))]
    return await websockets.connect(ws_base(base_url) + f"/ws/meetings/{room_id}/" + query,
                                    extra_headers=headers, subprotocols=[PROTOCOL] if typed else None,
                                    open_timeout=10, close_timeout=5, ping_interval=None,
                                    max_size=2 ** 22)


async def recv(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_type(ws, kind, timeout=5.0):
    """The next frame of one type, skipping others (presence of late joiners, ...)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if frame.get("type") == kind:
            return frame


async def no_frame_of(ws, kind, wait=0.5):
    try:
        while True:
            frame = await recv(ws, wait)
            assert frame.get("type") != kind, f"unexpected {frame}"
    except asyncio.TimeoutError:
        pass


# --------------------------------------------------------------------------------------------
# Protocol


def test_subprotocol_is_negotiated_and_welcome_comes_first(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], users["owner"])
        assert ws.subprotocol == PROTOCOL
        w = await welcome_of(ws)
        # The owner is a moderator: the lobby's list comes last.
        assert list(w) == ["type", "protocol", "peer_id", "user", "user_email", "role", "meeting", "room",
                           "participants", "history", "ice_servers", "resume_token", "resumed", "lobby"]
        assert w["role"] == "moderator" and w["room"] == {"locked": False, "lobby": False}
        assert w["history"] == [] and w["resumed"] is False and w["lobby"] == []
        # No STUN or TURN configured for the suite's server: an empty list (tests/api/test_ice_servers.py).
        assert w["ice_servers"] == []
        assert w["protocol"] == PROTOCOL and w["peer_id"].startswith("p_")
        assert w["user_email"] == users["owner"].email
        assert w["meeting"]["id"] == m["id"] and w["meeting"]["room_id"] == m["room_id"]
        assert w["meeting"]["status"] == "active"
        assert w["participants"] == [{"peer_id": w["peer_id"], "user": w["user"],
                                      "user_email": users["owner"].email, "state": FLAGS}]
        await ws.close()
    run(scenario())


def test_clients_without_the_subprotocol_get_compatible_frames_only(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        compat = await v2_open(base_url, m["room_id"], users["owner"], typed=False)
        assert compat.subprotocol is None
        typed = await v2_open(base_url, m["room_id"], users["other"])
        await welcome_of(typed)
        assert await recv(compat) == {"presence": "joined", "user": users["other"].email}
        await asyncio.to_thread(owner.post, f"/api/meetings/{m['id']}/mute-audio/")
        await typed.send(json.dumps({"type": "chat", "content": "hello both"}))
        assert await recv(compat) == {"message": "hello both", "sender": users["other"].email}
        await compat.close()
        await typed.close()
    run(scenario())


def test_welcome_lists_everyone_with_their_state(base_url, owner, other, users):
    m = owner.create_meeting()
    body(other.post(f"/api/meetings/{m['id']}/raise-hand/"), 200)

    async def scenario():
        a = await v2_open(base_url, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await v2_open(base_url, m["room_id"], users["other"])
        wb = await welcome_of(b)
        by_peer = {p["peer_id"]: p for p in wb["participants"]}
        assert set(by_peer) == {wa["peer_id"], wb["peer_id"]}
        assert by_peer[wb["peer_id"]]["state"]["raised_hand"] is True
        assert by_peer[wa["peer_id"]]["state"] == FLAGS
        joined = await recv_type(a, "presence")
        assert joined == {"type": "presence", "event": "joined", "peer_id": wb["peer_id"],
                          "user": wb["user"], "user_email": users["other"].email}
        await b.close()
        left = await recv_type(a, "presence")
        assert left["event"] == "left" and left["peer_id"] == wb["peer_id"]
        await a.close()
    run(scenario())


def test_typed_chat_is_stored_and_shared_with_rest(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], users["owner"])
        await welcome_of(ws)
        await ws.send(json.dumps({"type": "chat", "content": "typed hello"}))
        chat = await recv_type(ws, "chat")
        assert list(chat) == ["type", "id", "meeting", "user", "user_email", "content", "timestamp"]
        assert chat["content"] == "typed hello" and chat["meeting"] == m["id"]
        assert chat["timestamp"].endswith("Z")
        await asyncio.to_thread(owner.post, f"/api/meetings/{m['id']}/messages/",
                                json={"content": "from rest"})
        rest = await recv_type(ws, "chat")
        assert rest["content"] == "from rest" and rest["id"] > chat["id"]
        await ws.close()
        return chat
    chat = run(scenario())
    stored = body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)
    assert stored[0]["id"] == chat["id"] and stored[0]["content"] == "typed hello"


def test_signals_go_only_to_the_addressed_peer(base_url, owner, users):
    m = owner.create_meeting()
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}

    async def scenario():
        a = await v2_open(base_url, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await v2_open(base_url, m["room_id"], users["other"])
        wb = await welcome_of(b)
        c = await v2_open(base_url, m["room_id"], users["admin"])
        await welcome_of(c)
        await a.send(json.dumps({"type": "signal", "to": wb["peer_id"], "signal_type": "offer",
                                 "data": offer, "from": "forged", "from_user": "x@y.z"}))
        got = await recv_type(b, "signal")
        assert got == {"type": "signal", "from": wa["peer_id"], "from_user": users["owner"].email,
                       "signal_type": "offer", "data": offer}
        await b.send(json.dumps({"type": "signal", "to": wa["peer_id"], "signal_type": "answer",
                                 "data": {"type": "answer", "sdp": "v=0"}}))
        assert (await recv_type(a, "signal"))["signal_type"] == "answer"
        await b.send(json.dumps({"type": "signal", "to": wa["peer_id"], "signal_type": "ice",
                                 "data": {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host",
                                          "sdpMid": "0"}}))
        assert (await recv_type(a, "signal"))["data"]["sdpMid"] == "0"
        await no_frame_of(c, "signal")
        for ws in (a, b, c):
            await ws.close()
    run(scenario())


@pytest.mark.parametrize("frame,code", [
    ({"type": "signal", "to": "p_nobody", "signal_type": "offer", "data": {"sdp": "v=0"}}, "unknown_peer"),
    ({"type": "signal", "signal_type": "offer", "data": {"sdp": "v=0"}}, "unknown_peer"),
    ({"type": "signal", "to": "SELF", "signal_type": "offer", "data": {"sdp": "v=0"}}, "unknown_peer"),
    ({"type": "signal", "to": "PEER", "signal_type": "bye", "data": {}}, "invalid_signal"),
    ({"type": "signal", "to": "PEER", "signal_type": "offer", "data": {}}, "invalid_signal"),
    ({"type": "signal", "to": "PEER", "signal_type": "offer", "data": "v=0"}, "invalid_signal"),
    ({"type": "signal", "to": "PEER", "signal_type": "ice", "data": {"sdpMid": "0"}}, "invalid_signal"),
    ({"type": "chat"}, "invalid_chat"),
    ({"type": "chat", "content": "   "}, "invalid_chat"),
    ({"type": "chat", "content": 5}, "invalid_chat"),
    ({"type": "participant_state", "changes": {"muted": True}}, "invalid_state"),
    ({"type": "participant_state", "changes": {"audio_muted": "yes"}}, "invalid_state"),
    ({"type": "participant_state"}, "invalid_state"),
    ({"type": "teleport"}, "unknown_type"),
    ({"no": "type"}, "invalid_frame"),
    ([1, 2], "invalid_frame"),
    ("not json", "invalid_json"),
])
def test_bad_frames_get_an_error_and_the_connection_stays(base_url, owner, users, frame, code):
    m = owner.create_meeting()

    async def scenario():
        a = await v2_open(base_url, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await v2_open(base_url, m["room_id"], users["other"])
        wb = await welcome_of(b)
        text = frame if isinstance(frame, str) else json.dumps(frame)
        text = text.replace('"SELF"', json.dumps(wa["peer_id"])).replace('"PEER"', json.dumps(wb["peer_id"]))
        await a.send(text)
        err = await recv_type(a, "error")
        assert err["code"] == code and err["message"], err
        await a.send(json.dumps({"type": "ping", "id": 7}))
        assert await recv_type(a, "pong") == {"type": "pong", "id": 7}
        await no_frame_of(b, "signal", wait=0.2)
        await a.close()
        await b.close()
    run(scenario())


def test_ping_pong(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], users["owner"])
        await welcome_of(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv_type(ws, "pong") == {"type": "pong"}
        await ws.send(json.dumps({"type": "ping", "id": "abc"}))
        assert await recv_type(ws, "pong") == {"type": "pong", "id": "abc"}
        await ws.close()
    run(scenario())


def test_state_changes_are_pushed_from_rest_and_websocket(base_url, owner, other, users):
    m = owner.create_meeting()

    async def scenario():
        a = await v2_open(base_url, m["room_id"], users["owner"])
        await welcome_of(a)
        b = await v2_open(base_url, m["room_id"], users["other"])
        await welcome_of(b)
        await asyncio.to_thread(other.post, f"/api/meetings/{m['id']}/mute-audio/")
        pushed = await recv_type(a, "participant_state")
        assert list(pushed) == ["type", "meeting", "user", "user_email", "state"]
        assert pushed["user_email"] == users["other"].email and pushed["state"]["audio_muted"] is True
        await a.send(json.dumps({"type": "participant_state",
                                 "changes": {"raised_hand": True, "video_stopped": True}}))
        assert (await recv_type(b, "participant_state"))["user_email"] == users["other"].email
        pushed = await recv_type(b, "participant_state")
        assert pushed["user_email"] == users["owner"].email
        assert pushed["state"] == dict(FLAGS, raised_hand=True, video_stopped=True)
        await a.close()
        await b.close()
    run(scenario())
    states = {s["user_email"]: s for s in body(owner.get(f"/api/meetings/{m['id']}/participants/"), 200)}
    assert states[users["owner"].email]["raised_hand"] is True


def test_ending_the_meeting_pushes_the_status_and_closes_the_room(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        typed = await v2_open(base_url, m["room_id"], users["other"])
        await welcome_of(typed)
        compat = await v2_open(base_url, m["room_id"], users["admin"], typed=False)
        await recv_type(typed, "presence")
        await asyncio.to_thread(owner.post, f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"})
        status = await recv_type(typed, "meeting_status")
        assert status == {"type": "meeting_status", "meeting": m["id"], "status": "ended"}
        assert await closed_with(typed) == 4000
        assert await closed_with(compat) == 4000
    run(scenario())


def test_status_change_by_patch_is_pushed(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], users["owner"])
        await welcome_of(ws)
        await asyncio.to_thread(owner.patch, f"/api/meetings/{m['id']}/", json={"title": "renamed"})
        await no_frame_of(ws, "meeting_status", wait=0.3)
        await asyncio.to_thread(owner.patch, f"/api/meetings/{m['id']}/", json={"status": "ended"})
        assert (await recv_type(ws, "meeting_status"))["status"] == "ended"
        assert await closed_with(ws) == 4000
    run(scenario())


def test_deleting_the_meeting_closes_the_room(base_url, owner, users):
    m = owner.create_meeting()

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], users["owner"])
        await welcome_of(ws)
        await asyncio.to_thread(owner.delete, f"/api/meetings/{m['id']}/")
        assert await closed_with(ws) == 4004
    run(scenario())


def test_token_in_the_query_string(base_url, owner, users):
    token = body(owner.post("/api/auth/tokens/", json={"name": "ws"}), 201)["token"]
    m = owner.create_meeting()

    async def scenario():
        ws = await websockets.connect(ws_base(base_url) + f"/ws/meetings/{m['room_id']}/?access_token={token}",
                                      subprotocols=[PROTOCOL], open_timeout=10)
        assert (await welcome_of(ws))["user_email"] == users["owner"].email
        await ws.close()
    run(scenario())


# --------------------------------------------------------------------------------------------
# Limits, on a server of their own


class Limited:
    pass


@pytest.fixture(scope="module")
def limited():
    w = Limited()
    w.dir = tempfile.mkdtemp(prefix="castera-limits-")
    w.env = base_env(w.dir)
    w.env.update({"CASTERA_PASSWORD_ITERATIONS": "1000", "CASTERA_WS_MESSAGES_PER_SECOND": "5",
                  "CASTERA_WS_MESSAGE_BURST": "5", "CASTERA_WS_MAX_CONNECTIONS_PER_USER": "3",
                  "CASTERA_WS_MAX_CONNECTIONS_PER_ROOM": "4", "CASTERA_WS_IDLE_SECONDS": "2"})
    assert run_cli(castera_bin(), w.env, "migrate").returncode == 0
    w.users = []
    for i in range(6):
        email, password = f"limit{i}@example.com", "limit-pass-1"
        assert run_cli(castera_bin(), w.env, "createuser", "--email", email, "--password-stdin",
                       input=password + "\n").returncode == 0
        u = Limited()
        u.email, u.password = email, password
        w.users.append(u)
    w.proc, w.base_url = start_server(castera_bin(), w.env, os.path.join(w.dir, "server.log"))
    owner = Client(w.base_url, w.users[0].email, w.users[0].password)
    w.meeting = lambda: owner.create_meeting()
    yield w
    stop_server(w.proc)
    shutil.rmtree(w.dir, ignore_errors=True)


def test_typed_frames_over_the_rate_get_an_error(limited):
    m = limited.meeting()

    async def scenario():
        ws = await v2_open(limited.base_url, m["room_id"], limited.users[0])
        await welcome_of(ws)
        for i in range(12):
            await ws.send(json.dumps({"type": "ping", "id": i}))
        kinds = [(await recv(ws))["type"] for _ in range(12)]
        assert kinds.count("pong") >= 5 and "error" in kinds
        await ws.close()
    run(scenario())


def test_compatible_flood_is_closed_with_1008(limited):
    m = limited.meeting()

    async def scenario():
        ws = await v2_open(limited.base_url, m["room_id"], limited.users[1], typed=False)
        for i in range(20):
            await ws.send(json.dumps({"message": f"flood {i}"}))
        assert await closed_with(ws) == 1008
    run(scenario())


def test_connections_per_user_are_limited(limited):
    import websockets.exceptions as wse
    m = limited.meeting()

    async def scenario():
        socks = [await v2_open(limited.base_url, m["room_id"], limited.users[2]) for _ in range(3)]
        with pytest.raises(wse.InvalidStatusCode) as info:
            await v2_open(limited.base_url, m["room_id"], limited.users[2])
        assert info.value.status_code == 429
        await socks[0].close()
        await asyncio.sleep(0.2)
        again = await v2_open(limited.base_url, m["room_id"], limited.users[2])
        for ws in socks[1:] + [again]:
            await ws.close()
    run(scenario())


def test_connections_per_room_are_limited(limited):
    import websockets.exceptions as wse
    m = limited.meeting()

    async def scenario():
        socks = [await v2_open(limited.base_url, m["room_id"], limited.users[3 + i % 3]) for i in range(4)]
        with pytest.raises(wse.InvalidStatusCode) as info:
            await v2_open(limited.base_url, m["room_id"], limited.users[0])
        assert info.value.status_code == 429
        for ws in socks:
            await ws.close()
    run(scenario())


def test_idle_connection_that_does_not_answer_pings_is_dropped(limited):
    m = limited.meeting()
    host, port = host_port(limited.base_url)
    sock = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    auth = basic_header(limited.users[4].email, limited.users[4].password)
    sock.sendall((f"GET /ws/meetings/{m['room_id']}/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: {auth}\r\n\r\n").encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    # Never answer: castera pings at 1 s and gives up at 2 s.
    started = time.monotonic()
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    sock.close()
    assert time.monotonic() - started < 8
    assert b"\x89" in received  # a ping frame came first


def test_slow_reader_is_dropped_without_slowing_the_room(tmp_path):
    env = base_env(str(tmp_path))
    env.update({"CASTERA_PASSWORD_ITERATIONS": "1000", "CASTERA_WS_MAX_QUEUED_FRAMES": "8",
                "CASTERA_WS_MESSAGES_PER_SECOND": "100000", "CASTERA_WS_MESSAGE_BURST": "100000"})
    assert run_cli(castera_bin(), env, "migrate").returncode == 0
    for email in ("fast@example.com", "slow@example.com"):
        assert run_cli(castera_bin(), env, "createuser", "--email", email, "--password-stdin",
                       input="slow-pass-1\n").returncode == 0
    proc, base_url = start_server(castera_bin(), env, str(tmp_path / "server.log"))
    try:
        m = Client(base_url, "fast@example.com", "slow-pass-1").create_meeting()
        fast, slow = Limited(), Limited()
        fast.email, slow.email = "fast@example.com", "slow@example.com"
        fast.password = slow.password = "slow-pass-1"

        async def scenario():
            reader = await v2_open(base_url, m["room_id"], slow)
            reader.transport.pause_reading()  # reads nothing from now on
            writer = await v2_open(base_url, m["room_id"], fast)
            await welcome_of(writer)
            big = "x" * 60000
            started = time.monotonic()
            for i in range(150):
                await writer.send(json.dumps({"type": "chat", "content": f"{i} {big}"}))
                assert (await recv_type(writer, "chat", timeout=10))["content"].startswith(f"{i} ")
            elapsed = time.monotonic() - started
            reader.transport.resume_reading()
            code = await closed_with(reader, timeout=10)
            await writer.close()
            return elapsed, code
        elapsed, code = run(scenario(), timeout=120)
        assert code == 1008
        assert elapsed < 30
    finally:
        stop_server(proc)
