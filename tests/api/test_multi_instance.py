"""Several castera instances sharing rooms through Redis (docs/PROTOCOL.md, "Several
instances"; docs/DESIGN.md, "Several instances").

The module starts a throwaway redis-server on a free port and two castera instances of its own
on the suite's database, both with CASTERA_REDIS_URL pointing at it: chat, presence, welcome
lists, directed signals, state and status pushes cross from one to the other; an instance
killed with SIGKILL has its participants announced as left by the survivors within the
documented bound; and with Redis stopped the instances keep serving their own rooms, say so in
/readyz, and find each other again once Redis is back, without a restart.

Skipped when redis-server is not installed (scripts/install-deps installs it).
"""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import websockets

import slow_clients as sc
from castera_helpers import Client, basic_header, body, closed_with, run, upgrade_refusal, welcome_of, ws_base
from conftest import free_port, start_server, stop_server

PROTOCOL = "castera.v2"
# An instance that dies is announced within its liveness TTL (10 s by default) plus one sweep
# (2 s); the test allows some slack on top for a loaded machine.
DEATH_BOUND = 15.0

REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_BIN),
                                reason="redis-server is not installed (scripts/install-deps installs it)")


# --------------------------------------------------------------------------------------------
# A throwaway Redis and castera instances


class Redis:
    """redis-server on a free port of 127.0.0.1, without persistence; stop() kills it."""

    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        log = open(os.path.join(self.workdir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Instance:
    """One `castera serve` of this module's own."""

    def __init__(self, server, env, workdir, name):
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc, self.base_url = start_server(server.bin, env, self.log_path)
        self.users = server.users

    def client(self, key):
        u = self.users[key]
        return Client(self.base_url, u.email, u.password)

    def readyz(self):
        return Client(self.base_url).get("/readyz", timeout=10)

    def wait_bus(self, state, timeout=15.0):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.readyz().json().get("bus")
            if got == state:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.base_url}: bus is {got!r}, not {state!r}, after {timeout}s; log:\n"
                             f"{self.log_tail()}")

    def log_tail(self, n=3000):
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    def stop(self):
        return stop_server(self.proc)


class Cluster:
    pass


@pytest.fixture(scope="module")
def cluster(server):
    if not server.can_cli or not server.env:
        pytest.skip("needs to start castera itself")
    c = Cluster()
    c.server = server
    c.dir = tempfile.mkdtemp(prefix="castera-multi-")
    c.redis = Redis(c.dir)
    c.redis.start()
    c.env = dict(server.env, CASTERA_REDIS_URL=c.redis.url)
    c.instances = []
    try:
        c.a = Instance(server, c.env, c.dir, "a")
        c.instances.append(c.a)
        c.b = Instance(server, c.env, c.dir, "b")
        c.instances.append(c.b)
        for instance in (c.a, c.b):
            instance.wait_bus("ok")
        yield c
        # A clean stop (goodbye to Redis included) on SIGTERM, from every instance still alive.
        for instance in list(c.instances):
            if instance.proc.poll() is None:
                code = instance.stop()
                assert code == 0, f"{instance.base_url} exited with {code}; log:\n{instance.log_tail()}"
    finally:
        for instance in c.instances:
            instance.stop()
        c.redis.stop()
        shutil.rmtree(c.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# WebSocket helpers


async def ws_open(instance, room_id, user, typed=True, query=""):
    headers = [("Authorization", basic_header(user.email, user.password))]
    return await websockets.connect(ws_base(instance.base_url) + f"/ws/meetings/{room_id}/" + query,
                                    extra_headers=headers, subprotocols=[PROTOCOL] if typed else None,
                                    open_timeout=10, close_timeout=5, ping_interval=None)


async def recv(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_where(ws, match, timeout=5.0, what="frame"):
    """The next frame for which match(frame) holds, skipping the others."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {what} within {timeout}s")
        try:
            frame = await recv(ws, left)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s")
        if match(frame):
            return frame


async def recv_type(ws, kind, timeout=5.0):
    return await recv_where(ws, lambda f: f.get("type") == kind, timeout, f"{kind} frame")


async def presence_of(ws, event, peer_id, timeout=5.0):
    return await recv_where(ws, lambda f: f.get("type") == "presence" and f.get("event") == event
                            and f.get("peer_id") == peer_id, timeout, f"presence {event} of {peer_id}")


async def compat_presence(ws, event, email, timeout=5.0):
    return await recv_where(ws, lambda f: f.get("presence") == event and f.get("user") == email,
                            timeout, f"compatible presence {event} of {email}")


async def joined_by(ws, email, timeout=5.0):
    """A castera.v2 presence "joined" of `email`: its connection is in the room by now (a
    compatible connection has no welcome to wait for)."""
    return await recv_where(ws, lambda f: f.get("type") == "presence" and f.get("event") == "joined"
                            and f.get("user_email") == email, timeout, f"presence joined of {email}")


async def nothing_of(ws, match, wait=0.7):
    """No frame for which match(frame) holds arrives within `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            frame = await recv(ws, left)
        except asyncio.TimeoutError:
            return
        assert not match(frame), f"unexpected {frame}"


def peers(welcome):
    return {p["peer_id"]: p for p in welcome["participants"]}


# --------------------------------------------------------------------------------------------
# Delivery across instances


def test_readyz_reports_the_bus(cluster, base_url):
    for instance in (cluster.a, cluster.b):
        r = instance.readyz()
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "database": "ok", "bus": "ok"}
    # The suite's own server has no Redis: the in-process bus.
    assert Client(base_url).get("/readyz").json()["bus"] == "local"


def test_chat_crosses_instances_in_both_protocols(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        await welcome_of(b)
        compat = await ws_open(cluster.b, m["room_id"], users["admin"], typed=False)
        await joined_by(a, users["admin"].email)

        await a.send(json.dumps({"type": "chat", "content": "from A"}))
        mine = await recv_type(a, "chat")
        theirs = await recv_type(b, "chat")
        assert theirs == mine and theirs["content"] == "from A"
        assert await recv_where(compat, lambda f: "message" in f) == {"message": "from A",
                                                                      "sender": users["owner"].email}

        await compat.send(json.dumps({"message": "from B, compatible"}))
        for ws in (a, b):
            chat = await recv_type(ws, "chat")
            assert chat["content"] == "from B, compatible" and chat["user_email"] == users["admin"].email
        assert await recv_where(compat, lambda f: "message" in f) == {"message": "from B, compatible",
                                                                      "sender": users["admin"].email}

        # Posted over REST to instance A: reaches the room on B too, once.
        await asyncio.to_thread(cluster.a.client("owner").post_message, m["id"], "over REST")
        assert (await recv_type(b, "chat"))["content"] == "over REST"
        await nothing_of(b, lambda f: f.get("type") == "chat")
        for ws in (a, b, compat):
            await ws.close()
    run(scenario())
    stored = [msg["content"] for msg in body(cluster.b.client("owner").get(f"/api/meetings/{m['id']}/messages/"), 200)]
    assert stored.count("from A") == 1 and stored.count("over REST") == 1


def test_welcome_and_presence_span_instances(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        compat_a = await ws_open(cluster.a, m["room_id"], users["staff"], typed=False)
        await joined_by(a, users["staff"].email)
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        wb = await welcome_of(b)
        listed = peers(wb)
        assert wa["peer_id"] in listed and wb["peer_id"] in listed
        assert listed[wa["peer_id"]]["user_email"] == users["owner"].email
        assert listed[wa["peer_id"]]["state"]["in_call"] is True

        joined = await presence_of(a, "joined", wb["peer_id"])
        assert joined == {"type": "presence", "event": "joined", "peer_id": wb["peer_id"],
                          "user": wb["user"], "user_email": users["other"].email}
        await compat_presence(compat_a, "joined", users["other"].email)

        c = await ws_open(cluster.a, m["room_id"], users["admin"])
        wc = await welcome_of(c)
        assert {wa["peer_id"], wb["peer_id"], wc["peer_id"]} <= set(peers(wc))
        await presence_of(b, "joined", wc["peer_id"])

        await b.close()
        for ws in (a, c):
            await presence_of(ws, "left", wb["peer_id"])
        await compat_presence(compat_a, "left", users["other"].email)
        d = await ws_open(cluster.b, m["room_id"], users["other"])
        assert wb["peer_id"] not in peers(await welcome_of(d))
        for ws in (a, c, d, compat_a):
            await ws.close()
    run(scenario())


def test_peer_ids_are_unique_across_instances(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        socks = []
        for i in range(6):
            socks.append(await ws_open(cluster.a if i % 2 else cluster.b, m["room_id"], users["owner"]))
        ids = [(await welcome_of(ws))["peer_id"] for ws in socks]
        last = await ws_open(cluster.a, m["room_id"], users["other"])
        listed = peers(await welcome_of(last))
        for ws in socks + [last]:
            await ws.close()
        return ids, listed
    ids, listed = run(scenario())
    assert len(set(ids)) == len(ids)
    assert set(ids) <= set(listed)


def test_a_signal_reaches_only_the_addressed_peer_on_the_other_instance(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        wb = await welcome_of(b)
        c = await ws_open(cluster.b, m["room_id"], users["admin"])
        wc = await welcome_of(c)
        d = await ws_open(cluster.a, m["room_id"], users["staff"])
        await welcome_of(d)

        await a.send(json.dumps({"type": "signal", "to": wb["peer_id"], "signal_type": "offer", "data": offer,
                                 "from": "forged"}))
        got = await recv_type(b, "signal")
        assert got == {"type": "signal", "from": wa["peer_id"], "from_user": users["owner"].email,
                       "signal_type": "offer", "data": offer}
        await b.send(json.dumps({"type": "signal", "to": wa["peer_id"], "signal_type": "answer",
                                 "data": {"type": "answer", "sdp": "v=0"}}))
        answer = await recv_type(a, "signal")
        assert answer["signal_type"] == "answer" and answer["from"] == wb["peer_id"]
        await a.send(json.dumps({"type": "signal", "to": wc["peer_id"], "signal_type": "ice",
                                 "data": {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0"}}))
        assert (await recv_type(c, "signal"))["data"]["sdpMid"] == "0"
        # Nobody else saw any of the three, and no error came back to their senders.
        not_signal_or_error = lambda f: f.get("type") in ("signal", "error")  # noqa: E731
        await nothing_of(d, not_signal_or_error)
        await nothing_of(b, not_signal_or_error, wait=0.2)
        await nothing_of(c, not_signal_or_error, wait=0.2)
        await nothing_of(a, lambda f: f.get("type") == "error", wait=0.2)

        await a.send(json.dumps({"type": "signal", "to": "p_nobodyHere1", "signal_type": "offer",
                                 "data": {"sdp": "v=0"}}))
        assert (await recv_type(a, "error"))["code"] == "unknown_peer"
        await b.close()
        await presence_of(a, "left", wb["peer_id"])
        await a.send(json.dumps({"type": "signal", "to": wb["peer_id"], "signal_type": "offer",
                                 "data": {"sdp": "v=0"}}))
        assert (await recv_type(a, "error"))["code"] == "unknown_peer"
        for ws in (a, c, d):
            await ws.close()
    run(scenario())


def test_state_changes_reach_the_other_instance(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        await welcome_of(b)
        # REST on instance B, pushed to A.
        await asyncio.to_thread(cluster.b.client("other").post, f"/api/meetings/{m['id']}/raise-hand/")
        pushed = await recv_type(a, "participant_state")
        assert pushed["user_email"] == users["other"].email and pushed["state"]["raised_hand"] is True
        # Over the WebSocket on A, pushed to B.
        await a.send(json.dumps({"type": "participant_state", "changes": {"audio_muted": True}}))
        pushed = await recv_where(b, lambda f: f.get("type") == "participant_state"
                                  and f["user_email"] == users["owner"].email)
        assert pushed["state"]["audio_muted"] is True
        await a.close()
        await b.close()
    run(scenario())


def test_ending_the_meeting_closes_its_connections_on_every_instance(cluster):
    users = cluster.server.users
    owner = cluster.b.client("owner")
    m = owner.create_meeting()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["other"])
        await welcome_of(a)
        compat = await ws_open(cluster.a, m["room_id"], users["admin"], typed=False)
        await joined_by(a, users["admin"].email)
        b = await ws_open(cluster.b, m["room_id"], users["staff"])
        await welcome_of(b)
        await joined_by(a, users["staff"].email)
        await asyncio.to_thread(owner.post, f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"})
        assert await recv_type(a, "meeting_status") == {"type": "meeting_status", "meeting": m["id"],
                                                       "status": "ended"}
        assert await closed_with(a) == 4000
        assert await closed_with(compat) == 4000
        assert await closed_with(b) == 4000
    run(scenario())


def test_deleting_the_meeting_closes_its_connections_on_every_instance(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        await welcome_of(b)
        await asyncio.to_thread(cluster.a.client("owner").delete, f"/api/meetings/{m['id']}/")
        assert await closed_with(b) == 4004
    run(scenario())


# --------------------------------------------------------------------------------------------
# Failures

# --------------------------------------------------------------------------------------------
# Room control across instances (docs/PROTOCOL.md, "Moderation", "Resuming"): the moderator on
# A, the participant on B.


def moderate(action, user):
    return {"type": "moderate", "action": action, "user": user}


def refusal(instance, user, room_id, typed=True):
    return upgrade_refusal(instance.base_url, user, room_id, PROTOCOL if typed else None)


def test_moderation_reaches_the_other_instance(cluster, make_user):
    users = cluster.server.users
    owner = cluster.a.client("owner")
    m = owner.create_meeting()
    p = make_user()

    async def scenario():
        mod = await ws_open(cluster.a, m["room_id"], users["owner"])
        wm = await welcome_of(mod)
        part = await ws_open(cluster.b, m["room_id"], p)
        wp = await welcome_of(part)
        assert wm["role"] == "moderator" and wp["role"] == "participant"
        await presence_of(mod, "joined", wp["peer_id"])
        uid = wp["user"]
        # A participant on B may not moderate; a moderator on A mutes them on B.
        await part.send(json.dumps(moderate("mute_audio", wm["user"])))
        assert (await recv_type(part, "error"))["code"] == "forbidden"
        await mod.send(json.dumps(moderate("mute_audio", uid)))
        pushed = await recv_type(part, "participant_state")
        assert pushed["by"] == wm["user"] and pushed["state"]["audio_muted"] is True
        # Users of B's room are known to A's moderator; a stranger is not.
        stranger = make_user()
        sid = Client(cluster.a.base_url, stranger.email, stranger.password).user_id
        await mod.send(json.dumps(moderate("kick", sid)))
        assert (await recv_type(mod, "error"))["code"] == "invalid_moderation"
        # Lock from A: B's room hears it, a newcomer on B is refused.
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"locked": True}), 200)
        assert (await recv_type(part, "room"))["locked"] is True
        late = make_user()
        assert refusal(cluster.b, late, m["room_id"]) == (403, {"detail": "This meeting is locked."})
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"locked": False}), 200)
        # Kick from A: B's connections kicked and closed, A sees them leave, B refuses them.
        compat = await ws_open(cluster.b, m["room_id"], p, typed=False)
        await joined_by(mod, p.email)
        await mod.send(json.dumps(moderate("kick", uid)))
        assert await recv_type(part, "kicked") == {"type": "kicked", "by": wm["user"]}
        assert await closed_with(part) == 4003
        assert await closed_with(compat) == 4003
        await presence_of(mod, "left", wp["peer_id"])
        for instance in (cluster.a, cluster.b):
            assert refusal(instance, p, m["room_id"]) == (403, {"detail": "You were removed from this meeting."})
        body(cluster.b.client("admin").post(f"/api/meetings/{m['id']}/participants/{uid}/unban/"), 200)
        back = await ws_open(cluster.b, m["room_id"], p)
        await welcome_of(back)
        for ws in (mod, back):
            await ws.close()
    run(scenario())


def test_the_lobby_spans_instances(cluster, make_user):
    users = cluster.server.users
    owner = cluster.a.client("owner")
    m = owner.create_meeting()
    body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": True}), 200)
    waiting, denied, kicked, opened = make_user(), make_user(), make_user(), make_user()

    async def wait_on_b(user):
        ws = await ws_open(cluster.b, m["room_id"], user)
        assert await recv(ws) == {"type": "lobby", "status": "waiting"}
        return ws

    async def scenario():
        mod = await ws_open(cluster.a, m["room_id"], users["owner"])
        await welcome_of(mod)
        w = await wait_on_b(waiting)
        request = await recv_type(mod, "lobby_request")
        assert request["user_email"] == waiting.email
        # A moderator joining A later sees who waits on B; nobody in the room sees them.
        admin = await ws_open(cluster.a, m["room_id"], users["admin"])
        wa = await welcome_of(admin)
        assert wa["lobby"] == [{"user": request["user"], "user_email": waiting.email,
                                "peer_id": request["peer_id"]}]
        assert request["peer_id"] not in peers(wa)
        await mod.send(json.dumps({"type": "chat", "content": "inside only"}))
        await mod.send(json.dumps({"type": "signal", "to": request["peer_id"], "signal_type": "offer",
                                   "data": {"sdp": "v=0"}}))
        assert (await recv_type(mod, "error"))["code"] == "unknown_peer"
        await nothing_of(w, lambda f: f.get("type") != "pong", wait=0.5)
        # Admitted from A: B's waiting connection gets its welcome and joins.
        await mod.send(json.dumps(moderate("admit", request["user"])))
        welcome = await recv(w)
        assert welcome["type"] == "welcome" and welcome["peer_id"] == request["peer_id"]
        assert [c["content"] for c in welcome["history"]][-1:] == ["inside only"]
        await presence_of(mod, "joined", request["peer_id"])
        # Denied from A.
        d = await wait_on_b(denied)
        r = await recv_type(mod, "lobby_request")
        body(cluster.a.client("admin").post(f"/api/meetings/{m['id']}/participants/{r['user']}/deny/"), 200)
        assert await recv(d) == {"type": "lobby", "status": "denied"}
        assert await closed_with(d) == 4003
        assert (await recv_type(mod, "lobby_left"))["peer_id"] == r["peer_id"]
        # Kicked while in the lobby, from A.
        k = await wait_on_b(kicked)
        r = await recv_type(mod, "lobby_request")
        await mod.send(json.dumps(moderate("kick", r["user"])))
        assert (await recv(k))["type"] == "kicked"
        assert await closed_with(k) == 4003
        assert refusal(cluster.b, kicked, m["room_id"])[0] == 403
        # The lobby turned off on A lets those waiting on B in.
        o = await wait_on_b(opened)
        await recv_type(mod, "lobby_request")
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": False}), 200)
        assert (await recv(o))["type"] == "welcome"
        for ws in (mod, admin, w, o):
            await ws.close()
    run(scenario())


def test_private_chat_and_history_across_instances(cluster, make_user):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()
    p, q = make_user(), make_user()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        await a.send(json.dumps({"type": "chat", "content": "said on A"}))
        await recv_type(a, "chat")
        b = await ws_open(cluster.b, m["room_id"], p)
        wb = await welcome_of(b)
        assert [c["content"] for c in wb["history"]] == ["said on A"]
        c = await ws_open(cluster.b, m["room_id"], q)
        await welcome_of(c)
        await b.send(json.dumps({"type": "chat", "content": "only you", "to": wa["peer_id"]}))
        got = await recv_type(a, "chat")
        assert got["private"] is True and got["from"] == wb["peer_id"] and got["content"] == "only you"
        assert await recv_type(b, "chat") == got
        await nothing_of(c, lambda f: f.get("type") == "chat")
        await a.send(json.dumps({"type": "chat", "content": "back to you", "to": wb["peer_id"]}))
        assert (await recv_type(b, "chat"))["to"] == wb["peer_id"]
        await b.send(json.dumps({"type": "chat", "content": "?", "to": "p_nowhere"}))
        assert (await recv_type(b, "error"))["code"] == "unknown_peer"
        for ws in (a, b, c):
            await ws.close()
    run(scenario())
    stored = body(cluster.a.client("owner").get(f"/api/meetings/{m['id']}/messages/"), 200)
    assert [x["content"] for x in stored] == ["said on A"]


def test_resume_on_the_same_instance_keeps_what_came_through_redis(cluster, make_user):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()
    p = make_user()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], p)
        wb = await welcome_of(b)
        await presence_of(a, "joined", wb["peer_id"])
        b.transport.abort()
        await asyncio.sleep(0.3)
        await a.send(json.dumps({"type": "chat", "content": "from A meanwhile"}))
        await a.send(json.dumps({"type": "signal", "to": wb["peer_id"], "signal_type": "offer",
                                 "data": {"sdp": "v=0"}}))
        await recv_type(a, "chat")
        await nothing_of(a, lambda f: f.get("type") == "error", wait=0.5)
        b2 = await ws_open(cluster.b, m["room_id"], p, query=f"?resume={wb['resume_token']}")
        w2 = await welcome_of(b2)
        assert w2["resumed"] is True and w2["peer_id"] == wb["peer_id"]
        assert wa["peer_id"] in peers(w2)
        # (A chat reaches the room once stored: the signal sent after it may come first.)
        kept = {f["type"]: f for f in [await recv(b2), await recv(b2)]}
        assert kept["chat"]["content"] == "from A meanwhile"
        assert kept["signal"]["from"] == wa["peer_id"]
        await nothing_of(a, lambda f: f.get("type") == "presence" and f.get("peer_id") == wb["peer_id"])
        for ws in (a, b2):
            await ws.close()
    run(scenario())


def test_resume_on_another_instance_is_a_new_connection_and_the_room_is_told_at_once(cluster, make_user):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()
    p = make_user()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], p)
        wb = await welcome_of(b)
        await presence_of(a, "joined", wb["peer_id"])
        b.transport.abort()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        moved = await ws_open(cluster.a, m["room_id"], p, query=f"?resume={wb['resume_token']}")
        wm = await welcome_of(moved)
        assert wm["resumed"] is False and wm["peer_id"] != wb["peer_id"]
        # The held peer on B leaves now, not at the end of its 30 s window; the new one joins.
        seen = {}
        while len(seen) < 2:
            f = await recv_type(a, "presence", timeout=5)
            if f["peer_id"] in (wb["peer_id"], wm["peer_id"]):
                seen[f["peer_id"]] = f["event"]
        assert seen == {wb["peer_id"]: "left", wm["peer_id"]: "joined"}
        assert time.monotonic() - started < 5
        # The token is spent: B does not resume it either.
        again = await ws_open(cluster.b, m["room_id"], p, query=f"?resume={wb['resume_token']}")
        assert (await welcome_of(again))["resumed"] is False
        for ws in (a, moved, again):
            await ws.close()
    run(scenario())


def test_a_killed_instance_has_its_participants_announced_as_left(cluster):
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()
    doomed = Instance(cluster.server, cluster.env, cluster.dir, "doomed")
    cluster.instances.append(doomed)
    doomed.wait_bus("ok")

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        await welcome_of(a)
        compat = await ws_open(cluster.b, m["room_id"], users["admin"], typed=False)
        await joined_by(a, users["admin"].email)
        k = await ws_open(doomed, m["room_id"], users["other"])
        wk = await welcome_of(k)
        await presence_of(a, "joined", wk["peer_id"])
        await compat_presence(compat, "joined", users["other"].email)

        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait(timeout=10)
        started = time.monotonic()
        left = await presence_of(a, "left", wk["peer_id"], timeout=DEATH_BOUND + 5)
        elapsed = time.monotonic() - started
        assert left["user_email"] == users["other"].email
        await compat_presence(compat, "left", users["other"].email, timeout=5)
        # Announced once, by one survivor.
        await nothing_of(a, lambda f: f.get("type") == "presence" and f.get("peer_id") == wk["peer_id"], wait=3)
        late = await ws_open(cluster.b, m["room_id"], users["staff"])
        assert wk["peer_id"] not in peers(await welcome_of(late))
        for ws in (a, compat, late):
            await ws.close()
        return elapsed
    elapsed = run(scenario(), timeout=90)
    assert elapsed <= DEATH_BOUND, f"the dead instance's participant left after {elapsed:.1f}s"


def test_redis_killed_under_load_costs_only_the_cross_instance_window(cluster):
    """Redis killed (SIGKILL) while REST writes go to both instances and a chat stream from A
    is read on A and on B; started again 2 s later. REST never fails (it needs no Redis),
    A's own room keeps its chats, and B gets A's chats again by itself, soon after Redis is back."""
    owner, other = cluster.server.users["owner"], cluster.server.users["other"]
    m = cluster.a.client("owner").create_meeting()
    sender, rest = sc.websocket_upgrade(cluster.a.base_url, m["room_id"], owner.email, owner.password)
    on_a, rest_a = sc.websocket_upgrade(cluster.a.base_url, m["room_id"], owner.email, owner.password)
    on_b, rest_b = sc.websocket_upgrade(cluster.b.base_url, m["room_id"], other.email, other.password)
    started = time.monotonic()
    seen = {"a": [], "b": []}  # (seconds, n) of each chat received
    rest_answers = []
    stop = threading.Event()

    def read(name, sock, data):
        sock.settimeout(0.05)
        reader = sc.FrameReader(sock, data)
        while not stop.is_set():
            for f in reader.frames():
                if f.get("type") == "chat" and f.get("content", "").startswith("stream "):
                    seen[name].append((time.monotonic() - started, int(f["content"].split()[1])))

    def send():
        n = 0
        while not stop.is_set():
            sender.sendall(sc.masked_text_frame(json.dumps({"type": "chat", "content": f"stream {n}"})))
            n += 1
            time.sleep(0.05)

    def post(instance):
        c = instance.client("owner")
        while not stop.is_set():
            try:
                r = c.post(f"/api/meetings/{m['id']}/recordings/", json={"file_url": "https://example.com/r.mp4"},
                           timeout=10)
                rest_answers.append(r.status_code)
            except Exception as e:  # noqa: BLE001 - a failure of the test
                rest_answers.append(repr(e))
            time.sleep(0.01)

    threads = [threading.Thread(target=read, args=("a", on_a, rest_a)), threading.Thread(target=read, args=("b", on_b, rest_b)),
               threading.Thread(target=send), threading.Thread(target=post, args=(cluster.a,)),
               threading.Thread(target=post, args=(cluster.b,))]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        killed_at = time.monotonic() - started
        cluster.redis.stop()
        time.sleep(2)
        cluster.redis.start()
        back_at = time.monotonic() - started
        for instance in (cluster.a, cluster.b):
            instance.wait_bus("ok", 15)
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        for s in (sender, on_a, on_b):
            s.close()
        if not cluster.redis.ping():
            cluster.redis.start()
    assert all(a == 201 for a in rest_answers), [a for a in rest_answers if a != 201][:5]
    gaps_a = [b[0] - a[0] for a, b in zip(seen["a"], seen["a"][1:])]
    assert max(gaps_a) < 1.0, "A's own room stalled while Redis was away"
    before = [t for t, _ in seen["b"] if t < killed_at]
    after = [t for t, _ in seen["b"] if t > back_at]
    assert before and after, seen["b"][-5:]
    print(f"Redis killed at {killed_at:.2f} s, back at {back_at:.2f} s: {len(rest_answers)} REST writes, all 201; "
          f"A saw {len(seen['a'])} chats, longest gap {max(gaps_a):.3f} s; B's last before the kill at "
          f"{before[-1]:.2f} s, first after Redis came back {after[0] - back_at:.2f} s after it")
    assert after[0] - back_at < 5, "B did not get A's chats within 5 s of Redis's return"
    for instance in (cluster.a, cluster.b):
        assert instance.proc.poll() is None


def test_without_redis_rooms_stay_local_and_recover_without_restart(cluster):
    """Runs last in the module: it stops Redis (and starts it again)."""
    users = cluster.server.users
    m = cluster.a.client("owner").create_meeting()

    async def scenario():
        a = await ws_open(cluster.a, m["room_id"], users["owner"])
        wa = await welcome_of(a)
        b = await ws_open(cluster.b, m["room_id"], users["other"])
        wb = await welcome_of(b)
        await presence_of(a, "joined", wb["peer_id"])

        cluster.redis.stop()
        await asyncio.to_thread(cluster.a.wait_bus, "down", 10)
        r = await asyncio.to_thread(cluster.a.readyz)
        assert r.status_code == 200, "a Redis outage must not take instances out of a load balancer"
        assert r.json() == {"status": "degraded", "database": "ok", "bus": "down"}
        # An instance started while Redis is away serves anyway.
        late = await asyncio.to_thread(Instance, cluster.server, cluster.env, cluster.dir, "late")
        cluster.instances.append(late)
        assert (await asyncio.to_thread(late.readyz)).json()["bus"] == "down"

        # Rooms keep working on each instance.
        a2 = await ws_open(cluster.a, m["room_id"], users["admin"])
        wa2 = await welcome_of(a2)
        assert set(peers(wa2)) == {wa["peer_id"], wa2["peer_id"]}
        await presence_of(a, "joined", wa2["peer_id"])
        await a.send(json.dumps({"type": "chat", "content": "while Redis is away"}))
        assert (await recv_type(a2, "chat"))["content"] == "while Redis is away"
        assert (await recv_type(a, "chat"))["content"] == "while Redis is away"
        await nothing_of(b, lambda f: f.get("type") == "chat", wait=0.5)

        cluster.redis.start()
        for instance in (cluster.a, cluster.b, late):
            await asyncio.to_thread(instance.wait_bus, "ok", 15)
        # B learns who joined A while Redis was away, and the rooms span instances again.
        await presence_of(b, "joined", wa2["peer_id"], timeout=10)
        await a.send(json.dumps({"type": "chat", "content": "Redis is back"}))
        assert (await recv_type(b, "chat"))["content"] == "Redis is back"
        await b.send(json.dumps({"type": "chat", "content": "heard you"}))
        await recv_where(a2, lambda f: f.get("type") == "chat" and f["content"] == "heard you",
                         what="B's chat on A")
        c = await ws_open(late, m["room_id"], users["staff"])
        assert {wa["peer_id"], wb["peer_id"], wa2["peer_id"]} <= set(peers(await welcome_of(c)))
        for ws in (a, a2, b, c):
            await ws.close()
    try:
        run(scenario(), timeout=120)
    finally:
        if not cluster.redis.ping():
            cluster.redis.start()
