"""Room control on one instance (docs/PROTOCOL.md, "Moderation", "Resuming"): roles, the room's
controls (GET/PATCH .../room/), lock and lobby, moderation by frame and by REST (mute, kick and
ban, unban, admit, deny), private chat, chat history in the welcome, resume after a drop.

The module runs a castera instance of its own on the suite's database (SQLite or PostgreSQL)
with a short resume window, a small history and a small outbound queue, so that "past the
window" and "past the queue limit" are quick to reach; it is restarted once to show that a ban
is stored.
"""

import asyncio
import json
import os
import shutil
import tempfile
import time

import pytest
import websockets

from castera_helpers import Client, basic_header, body, closed_with, run, upgrade_refusal, welcome_of, ws_base
from conftest import start_server, stop_server

PROTOCOL = "castera.v2"
RESUME_SECONDS = 3
HISTORY = 5
MAX_QUEUED = 40
FLAGS = {"audio_muted": False, "video_stopped": False, "in_call": True, "raised_hand": False,
         "screen_sharing": False}
REMOVED = {"detail": "You were removed from this meeting."}
LOCKED = {"detail": "This meeting is locked."}


class Room:
    pass


@pytest.fixture(scope="module")
def room(server):
    if not server.can_cli or not server.env:
        pytest.skip("needs to start castera itself")
    r = Room()
    r.dir = tempfile.mkdtemp(prefix="castera-room-")
    r.env = dict(server.env, CASTERA_WS_RESUME_SECONDS=str(RESUME_SECONDS),
                 CASTERA_WS_HISTORY_MESSAGES=str(HISTORY), CASTERA_WS_MAX_QUEUED_FRAMES=str(MAX_QUEUED))
    r.log = os.path.join(r.dir, "server.log")
    r.users = server.users
    r.proc, r.base_url = start_server(server.bin, r.env, r.log)

    def restart():
        assert stop_server(r.proc) == 0
        r.proc, r.base_url = start_server(server.bin, r.env, r.log)

    r.restart = restart
    r.client = lambda key: Client(r.base_url, r.users[key].email, r.users[key].password)
    yield r
    stop_server(r.proc)
    shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture
def fresh(room, make_user):
    """A brand-new participant (role user), as (User, Client)."""
    def make():
        u = make_user()
        return u, Client(room.base_url, u.email, u.password)
    return make


# --------------------------------------------------------------------------------------------
# Helpers


async def connect(room, user, room_id, typed=True, query=""):
    headers = [("Authorization", basic_header(user.email, user.password))]
    return await websockets.connect(ws_base(room.base_url) + f"/ws/meetings/{room_id}/" + query,
                                    extra_headers=headers, subprotocols=[PROTOCOL] if typed else None,
                                    open_timeout=10, close_timeout=5, ping_interval=None, max_size=2 ** 22)


def refusal_of(room, user, room_id, typed=True):
    return upgrade_refusal(room.base_url, user, room_id, PROTOCOL if typed else None)


async def recv(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_where(ws, match, timeout=5.0, what="frame"):
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


async def presence(ws, event, peer_id, timeout=5.0):
    return await recv_where(ws, lambda f: f.get("type") == "presence" and f.get("event") == event
                            and f.get("peer_id") == peer_id, timeout, f"presence {event} of {peer_id}")


async def nothing_of(ws, match, wait=0.7):
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            frame = await recv(ws, left)
        except asyncio.TimeoutError:
            return
        except websockets.exceptions.ConnectionClosed:
            return
        assert not match(frame), f"unexpected {frame}"


async def error_for(ws, frame, timeout=5.0):
    await ws.send(json.dumps(frame))
    return (await recv_type(ws, "error", timeout))["code"]


def moderate(action, user):
    return {"type": "moderate", "action": action, "user": user}


def drop(ws):
    """The connection is lost: no close frame, TCP just goes."""
    ws.transport.abort()


# --------------------------------------------------------------------------------------------
# 1. Roles, 7. history


def test_the_welcome_says_the_role_the_controls_and_the_last_chats(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    for i in range(HISTORY + 2):
        body(owner.post(f"/api/meetings/{m['id']}/messages/", json={"content": f"chat {i}"}), 201)
    stored = body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)
    user, _ = fresh()

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        wm = await welcome_of(mod)
        assert wm["role"] == "moderator" and wm["room"] == {"locked": False, "lobby": False}
        assert wm["history"] == [dict(type="chat", **c) for c in stored[-HISTORY:]]
        assert [c["content"] for c in wm["history"]] == [f"chat {i}" for i in range(2, HISTORY + 2)]
        assert wm["lobby"] == []
        p = await connect(room, user, m["room_id"])
        wp = await welcome_of(p)
        assert wp["role"] == "participant" and "lobby" not in wp
        assert wp["history"] == wm["history"]
        admin = await connect(room, room.users["admin"], m["room_id"])
        assert (await welcome_of(admin))["role"] == "moderator"
        for ws in (mod, p, admin):
            await ws.close()
    run(scenario())


def test_history_can_be_turned_off_and_an_empty_room_has_none(room):
    m = room.client("owner").create_meeting()

    async def scenario():
        ws = await connect(room, room.users["owner"], m["room_id"])
        assert (await welcome_of(ws))["history"] == []
        await ws.close()
    run(scenario())


# --------------------------------------------------------------------------------------------
# 2. Room settings


def test_room_settings_read_and_changed_by_moderators_only(room, fresh):
    owner, admin = room.client("owner"), room.client("admin")
    m = owner.create_meeting()
    user, participant = fresh()
    url = f"/api/meetings/{m['id']}/room/"
    assert body(participant.get(url), 200) == {"locked": False, "lobby": False, "banned": []}
    assert body(participant.patch(url, json={"locked": True}), 403) == {
        "detail": "You do not have permission to perform this action."}
    assert body(owner.patch(url, json={"locked": "yes"}), 400) == {"locked": ["Must be a valid boolean."]}
    assert body(owner.patch(url, json={"locked": True, "colour": "red"}), 400) == {"colour": ["Unknown field."]}
    assert body(owner.patch(url, json={"lobby": 1}), 400) == {"lobby": ["Must be a valid boolean."]}
    assert list(body(owner.patch(url, json={"banned": [1]}), 400)) == ["banned"]
    assert body(owner.patch(url, data="[1,2]", headers={"Content-Type": "application/json"}), 400)
    assert body(owner.get(url), 200) == {"locked": False, "lobby": False, "banned": []}, "no state change"
    assert body(owner.patch(f"/api/meetings/987654321/room/", json={"locked": True}), 404)

    async def scenario():
        ws = await connect(room, user, m["room_id"])
        await welcome_of(ws)
        assert body(owner.patch(url, json={"locked": True}), 200) == {"locked": True, "lobby": False, "banned": []}
        assert await recv_type(ws, "room") == {"type": "room", "locked": True, "lobby": False}
        assert body(admin.patch(url, json={"lobby": True, "locked": False}), 200)["lobby"] is True
        assert await recv_type(ws, "room") == {"type": "room", "locked": False, "lobby": True}
        # Nothing changed: nothing pushed.
        assert body(owner.patch(url, json={"lobby": True}), 200)["lobby"] is True
        await nothing_of(ws, lambda f: f.get("type") == "room")
        assert body(owner.patch(url, json={}), 200) == {"locked": False, "lobby": True, "banned": []}
        await ws.close()
    run(scenario())


# --------------------------------------------------------------------------------------------
# 4. Lock


def test_a_locked_room_refuses_participants_and_keeps_those_inside(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    inside, _ = fresh()
    late, _ = fresh()

    async def scenario():
        a = await connect(room, inside, m["room_id"])
        await welcome_of(a)
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"locked": True}), 200)
        assert (await recv_type(a, "room"))["locked"] is True
        assert refusal_of(room, late, m["room_id"]) == (403, LOCKED)
        assert refusal_of(room, late, m["room_id"], typed=False) == (403, LOCKED)
        # Moderators still come in; the one inside is still there and hears them.
        mod = await connect(room, room.users["owner"], m["room_id"])
        wm = await welcome_of(mod)
        assert wm["room"]["locked"] is True
        assert (await presence(a, "joined", wm["peer_id"]))["user"] == wm["user"]
        admin = await connect(room, room.users["admin"], m["room_id"])
        await welcome_of(admin)
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"locked": False}), 200)
        b = await connect(room, late, m["room_id"])
        await welcome_of(b)
        for ws in (a, mod, admin, b):
            await ws.close()
    run(scenario())


# --------------------------------------------------------------------------------------------
# 3. Moderation


def test_moderators_turn_things_off_by_frame_and_by_rest(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, participant = fresh()
    body(participant.post(f"/api/meetings/{m['id']}/raise-hand/"), 200)
    body(participant.post(f"/api/meetings/{m['id']}/start-screen-share/"), 200)

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        wm = await welcome_of(mod)
        p = await connect(room, user, m["room_id"])
        wp = await welcome_of(p)
        uid = wp["user"]
        await mod.send(json.dumps(moderate("mute_audio", uid)))
        for ws in (mod, p):
            pushed = await recv_type(ws, "participant_state")
            assert pushed["user"] == uid and pushed["by"] == wm["user"]
            assert pushed["state"]["audio_muted"] is True
        got = body(owner.post(f"/api/meetings/{m['id']}/participants/{uid}/lower-hand/"), 200)
        assert got["user"] == uid and got["raised_hand"] is False and got["audio_muted"] is True
        assert list(got) == ["id", "meeting", "user", "user_email", "audio_muted", "video_stopped", "in_call",
                             "raised_hand", "screen_sharing"]
        pushed = await recv_type(p, "participant_state")
        assert pushed["state"]["raised_hand"] is False and pushed["by"] == wm["user"]
        body(owner.post(f"/api/meetings/{m['id']}/participants/{uid}/stop-screen-share/"), 200)
        assert (await recv_type(p, "participant_state"))["state"]["screen_sharing"] is False
        await mod.send(json.dumps(moderate("stop_video", uid)))
        assert (await recv_type(p, "participant_state"))["state"]["video_stopped"] is True
        # Their own changes carry no "by".
        await p.send(json.dumps({"type": "participant_state", "changes": {"audio_muted": False}}))
        own = await recv_where(mod, lambda f: f.get("type") == "participant_state"
                               and f["state"]["audio_muted"] is False)
        assert "by" not in own
        for ws in (mod, p):
            await ws.close()
    run(scenario())
    # Nobody is turned on by someone else: there is no such action.
    assert owner.post(f"/api/meetings/{m['id']}/participants/1/unmute-audio/").status_code == 404


def test_moderation_refusals(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    elsewhere = room.client("admin").create_meeting()
    user, participant = fresh()
    stranger, stranger_client = fresh()
    body(stranger_client.post(f"/api/meetings/{elsewhere['id']}/raise-hand/"), 200)
    stranger_id = stranger_client.user_id
    uid = participant.user_id
    owner_id = owner.user_id
    base = f"/api/meetings/{m['id']}/participants"

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        await welcome_of(mod)
        p = await connect(room, user, m["room_id"])
        await welcome_of(p)
        # A participant may not.
        assert await error_for(p, moderate("mute_audio", owner_id)) == "forbidden"
        assert body(participant.post(f"{base}/{owner_id}/mute-audio/"), 403)
        assert body(participant.post(f"{base}/{owner_id}/kick/"), 403)
        # Bad frames, users of other meetings, unknown users, oneself: nothing happens.
        for bad in (moderate("explode", uid), moderate("kick", stranger_id), moderate("kick", 987654321),
                    moderate("kick", owner_id), moderate("deny", uid), {"type": "moderate", "action": "kick"},
                    {"type": "moderate", "action": "kick", "user": str(uid)},
                    {"type": "moderate", "action": 3, "user": uid}, {"type": "moderate", "user": uid},
                    {"type": "moderate", "action": "kick", "user": -4}):
            assert await error_for(mod, bad) == "invalid_moderation", bad
        assert body(owner.post(f"{base}/{stranger_id}/kick/"), 404) == {"detail": "Not found."}
        assert body(owner.post(f"{base}/987654321/mute-audio/"), 404) == {"detail": "Not found."}
        assert body(owner.post(f"{base}/{owner_id}/kick/"), 400) == {"user": ["A moderator cannot act on themselves."]}
        assert body(room.client("admin").post(f"{base}/{owner_id}/kick/"), 400) == {
            "user": ["The meeting's owner cannot be removed."]}
        assert body(owner.post(f"{base}/{uid}/deny/"), 400) == {"user": ["This user is not waiting in the lobby."]}
        assert body(owner.get(f"/api/meetings/{m['id']}/room/"), 200)["banned"] == []
        # The room was not disturbed.
        await p.send(json.dumps({"type": "ping", "id": 1}))
        assert await recv_type(p, "pong") == {"type": "pong", "id": 1}
        await nothing_of(p, lambda f: f.get("type") in ("kicked", "participant_state"))
        for ws in (mod, p):
            await ws.close()
    run(scenario())


def test_kick_closes_every_connection_of_the_user_and_bans_until_unban(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, participant = fresh()
    uid = participant.user_id

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        wm = await welcome_of(mod)
        p1 = await connect(room, user, m["room_id"])
        w1 = await welcome_of(p1)
        p2 = await connect(room, user, m["room_id"])
        w2 = await welcome_of(p2)
        compat = await connect(room, user, m["room_id"], typed=False)
        await recv_where(mod, lambda f: f.get("type") == "presence" and f["event"] == "joined"
                         and f["peer_id"] not in (w1["peer_id"], w2["peer_id"]))
        await mod.send(json.dumps(moderate("kick", uid)))
        for ws in (p1, p2):
            assert await recv_type(ws, "kicked") == {"type": "kicked", "by": wm["user"]}
            assert await closed_with(ws) == 4003
        assert await closed_with(compat) == 4003
        left = set()
        while len(left) < 3:
            f = await recv_type(mod, "presence")
            if f["event"] == "left":
                left.add(f["peer_id"])
        assert {w1["peer_id"], w2["peer_id"]} <= left
        assert refusal_of(room, user, m["room_id"]) == (403, REMOVED)
        assert refusal_of(room, user, m["room_id"], typed=False) == (403, REMOVED)
        assert body(owner.get(f"/api/meetings/{m['id']}/room/"), 200)["banned"] == [uid]
        # Unban: they may come back.
        assert body(participant.post(f"/api/meetings/{m['id']}/participants/{uid}/unban/"), 403)
        assert body(owner.post(f"/api/meetings/{m['id']}/participants/{uid}/unban/"), 200) == {
            "detail": "User may join the meeting again."}
        assert body(owner.get(f"/api/meetings/{m['id']}/room/"), 200)["banned"] == []
        back = await connect(room, user, m["room_id"])
        await welcome_of(back)
        # A kick by REST.
        assert body(owner.post(f"/api/meetings/{m['id']}/participants/{uid}/kick/"), 200) == {
            "detail": "User removed from the meeting."}
        assert (await recv_type(back, "kicked"))["by"] == wm["user"]
        assert await closed_with(back) == 4003
        await mod.close()
    run(scenario())


def test_a_ban_survives_a_restart(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, participant = fresh()

    async def join_and_kick():
        p = await connect(room, user, m["room_id"])
        await welcome_of(p)
        body(owner.post(f"/api/meetings/{m['id']}/participants/{participant.user_id}/kick/"), 200)
        assert await closed_with(p) == 4003
    run(join_and_kick())
    room.restart()
    assert refusal_of(room, user, m["room_id"]) == (403, REMOVED)
    assert body(room.client("owner").get(f"/api/meetings/{m['id']}/room/"), 200)["banned"] == [participant.user_id]


# --------------------------------------------------------------------------------------------
# 5. Lobby


def test_the_lobby_holds_participants_until_a_moderator_admits_them(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": True}), 200)
    user, participant = fresh()
    uid = participant.user_id

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        wm = await welcome_of(mod)
        assert wm["room"]["lobby"] is True and wm["lobby"] == []
        # A compatible client cannot wait: refused while not admitted.
        assert refusal_of(room, user, m["room_id"], typed=False)[0] == 403
        w = await connect(room, user, m["room_id"])
        assert await recv(w) == {"type": "lobby", "status": "waiting"}
        request = await recv_type(mod, "lobby_request")
        assert request["user"] == uid and request["user_email"] == user.email
        waiting_peer = request["peer_id"]
        # Nothing of the room reaches it; what it sends but ping is refused.
        await mod.send(json.dumps({"type": "chat", "content": "members only"}))
        await mod.send(json.dumps({"type": "signal", "to": waiting_peer, "signal_type": "offer",
                                   "data": {"sdp": "v=0"}}))
        assert (await recv_type(mod, "error"))["code"] == "unknown_peer"
        assert await error_for(w, {"type": "chat", "content": "let me in"}) == "in_lobby"
        assert await error_for(w, {"type": "participant_state", "changes": {"audio_muted": True}}) == "in_lobby"
        await w.send(json.dumps({"type": "ping", "id": "x"}))
        assert await recv(w) == {"type": "pong", "id": "x"}
        # Another moderator joining sees who waits; participants do not see them.
        admin = await connect(room, room.users["admin"], m["room_id"])
        wa = await welcome_of(admin)
        assert wa["lobby"] == [{"user": uid, "user_email": user.email, "peer_id": waiting_peer}]
        assert waiting_peer not in {p["peer_id"] for p in wa["participants"]}
        # Admitted: its welcome, then the room as usual.
        await mod.send(json.dumps(moderate("admit", uid)))
        welcome = await recv(w)
        assert welcome["type"] == "welcome" and welcome["peer_id"] == waiting_peer
        assert [c["content"] for c in welcome["history"]] == ["members only"]
        await presence(mod, "joined", waiting_peer)
        await w.send(json.dumps({"type": "chat", "content": "in at last"}))
        assert (await recv_type(mod, "chat"))["content"] == "in at last"
        await w.close()
        # The admission is remembered: no lobby next time, in either protocol.
        again = await connect(room, user, m["room_id"])
        assert (await recv(again))["type"] == "welcome"
        compat = await connect(room, user, m["room_id"], typed=False)
        for ws in (again, compat, mod, admin):
            await ws.close()
    run(scenario())


def test_denied_and_kicked_from_the_lobby(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": True}), 200)
    denied, denied_client = fresh()
    kicked, kicked_client = fresh()

    async def scenario():
        mod = await connect(room, room.users["owner"], m["room_id"])
        await welcome_of(mod)
        d = await connect(room, denied, m["room_id"])
        assert (await recv(d))["status"] == "waiting"
        req = await recv_type(mod, "lobby_request")
        assert body(owner.post(f"/api/meetings/{m['id']}/participants/{denied_client.user_id}/deny/"), 200)
        assert await recv(d) == {"type": "lobby", "status": "denied"}
        assert await closed_with(d) == 4003
        gone = await recv_type(mod, "lobby_left")
        assert gone["peer_id"] == req["peer_id"]
        # Denied is not banned: they may ask again.
        d2 = await connect(room, denied, m["room_id"])
        assert (await recv(d2))["status"] == "waiting"
        await d2.close()
        # A kick while in the lobby: closed, banned.
        k = await connect(room, kicked, m["room_id"])
        assert (await recv(k))["status"] == "waiting"
        await mod.send(json.dumps(moderate("kick", kicked_client.user_id)))
        assert (await recv(k))["type"] == "kicked"
        assert await closed_with(k) == 4003
        assert refusal_of(room, kicked, m["room_id"]) == (403, REMOVED)
        await mod.close()
    run(scenario())


def test_turning_the_lobby_off_lets_those_waiting_in(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": True}), 200)
    user, _ = fresh()

    async def scenario():
        w = await connect(room, user, m["room_id"])
        assert (await recv(w))["status"] == "waiting"
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"lobby": False}), 200)
        welcome = await recv(w)
        assert welcome["type"] == "welcome" and welcome["room"] == {"locked": False, "lobby": False}
        await w.close()
    run(scenario())


# --------------------------------------------------------------------------------------------
# 6. Private chat


def test_a_private_chat_reaches_its_peer_and_its_sender_only_and_is_not_stored(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    u1, _ = fresh()
    u2, _ = fresh()

    async def scenario():
        a = await connect(room, room.users["owner"], m["room_id"])
        wa = await welcome_of(a)
        b = await connect(room, u1, m["room_id"])
        wb = await welcome_of(b)
        c = await connect(room, u2, m["room_id"])
        await welcome_of(c)
        await b.send(json.dumps({"type": "chat", "content": "just you", "to": wa["peer_id"]}))
        got = await recv_type(a, "chat")
        assert list(got) == ["type", "private", "from", "to", "user", "user_email", "content", "timestamp"]
        assert got["private"] is True and got["from"] == wb["peer_id"] and got["to"] == wa["peer_id"]
        assert got["user"] == wb["user"] and got["user_email"] == u1.email and got["content"] == "just you"
        assert await recv_type(b, "chat") == got
        await nothing_of(c, lambda f: f.get("type") == "chat")
        assert await error_for(b, {"type": "chat", "content": "hello?", "to": "p_nobody"}) == "unknown_peer"
        assert await error_for(b, {"type": "chat", "content": "me", "to": wb["peer_id"]}) == "unknown_peer"
        assert await error_for(b, {"type": "chat", "content": "x", "to": 12}) == "unknown_peer"
        assert await error_for(b, {"type": "chat", "content": " ", "to": wa["peer_id"]}) == "invalid_chat"
        for ws in (a, b, c):
            await ws.close()
    run(scenario())
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == []
    # Nor in anyone's history.
    async def late():
        ws = await connect(room, room.users["owner"], m["room_id"])
        assert (await welcome_of(ws))["history"] == []
        await ws.close()
    run(late())


# --------------------------------------------------------------------------------------------
# 8. Resume


def test_a_dropped_connection_resumes_with_what_it_missed(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, participant = fresh()

    async def scenario():
        a = await connect(room, room.users["owner"], m["room_id"])
        wa = await welcome_of(a)
        b = await connect(room, user, m["room_id"])
        wb = await welcome_of(b)
        assert wb["resumed"] is False and wb["resume_token"].startswith("r_")
        await presence(a, "joined", wb["peer_id"])
        drop(b)
        await asyncio.sleep(0.3)
        # Missed: a chat, a signal to it, a state change, someone joining.
        await a.send(json.dumps({"type": "chat", "content": "while you were away"}))
        chat = await recv_type(a, "chat")
        await a.send(json.dumps({"type": "signal", "to": wb["peer_id"], "signal_type": "offer",
                                 "data": {"type": "offer", "sdp": "v=0"}}))
        body(owner.post(f"/api/meetings/{m['id']}/participants/{participant.user_id}/mute-audio/"), 200)
        await recv_type(a, "participant_state")
        # A newcomer still sees the dropped peer in the room.
        c = await connect(room, room.users["admin"], m["room_id"])
        wc = await welcome_of(c)
        assert wb["peer_id"] in {p["peer_id"] for p in wc["participants"]}
        b2 = await connect(room, user, m["room_id"], query=f"?resume={wb['resume_token']}")
        w2 = await welcome_of(b2)
        assert w2["resumed"] is True and w2["peer_id"] == wb["peer_id"]
        assert w2["history"] == [] and w2["resume_token"] != wb["resume_token"]
        kept = [await recv(b2) for _ in range(4)]
        assert [f["type"] for f in kept] == ["chat", "signal", "participant_state", "presence"]
        assert kept[0] == chat
        assert kept[1]["from"] == wa["peer_id"]
        assert kept[3]["event"] == "joined" and kept[3]["peer_id"] == wc["peer_id"]
        # Nobody saw it leave or join again; it is live: frames flow both ways.
        await nothing_of(a, lambda f: f.get("type") == "presence" and f.get("peer_id") == wb["peer_id"])
        await b2.send(json.dumps({"type": "chat", "content": "back"}))
        assert (await recv_type(a, "chat"))["content"] == "back"
        await a.send(json.dumps({"type": "chat", "content": "welcome back"}))
        await recv_where(b2, lambda f: f.get("type") == "chat" and f["content"] == "welcome back")
        # A used token gives an ordinary welcome.
        b3 = await connect(room, user, m["room_id"], query=f"?resume={wb['resume_token']}")
        w3 = await welcome_of(b3)
        assert w3["resumed"] is False and w3["peer_id"] != wb["peer_id"]
        for ws in (a, b2, b3, c):
            await ws.close()
    run(scenario())


def test_no_resume_past_the_window_for_a_closed_connection_or_with_someone_elses_token(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    u1, _ = fresh()
    u2, _ = fresh()

    async def scenario():
        a = await connect(room, room.users["owner"], m["room_id"])
        await welcome_of(a)
        # Past the window: the room sees it leave, the token no longer works.
        b = await connect(room, u1, m["room_id"])
        wb = await welcome_of(b)
        await presence(a, "joined", wb["peer_id"])
        drop(b)
        started = time.monotonic()
        await presence(a, "left", wb["peer_id"], timeout=RESUME_SECONDS + 5)
        assert time.monotonic() - started >= RESUME_SECONDS - 0.5
        late = await connect(room, u1, m["room_id"], query=f"?resume={wb['resume_token']}")
        wl = await welcome_of(late)
        assert wl["resumed"] is False and wl["peer_id"] != wb["peer_id"]
        # Closed with a close frame: left at once, no resume.
        started = time.monotonic()
        await late.close()
        await presence(a, "left", wl["peer_id"])
        assert time.monotonic() - started < 1.5
        again = await connect(room, u1, m["room_id"], query=f"?resume={wl['resume_token']}")
        assert (await welcome_of(again))["resumed"] is False
        # Someone else's token: an ordinary welcome, and the token stays its owner's.
        c = await connect(room, u2, m["room_id"])
        wc = await welcome_of(c)
        drop(c)
        await asyncio.sleep(0.3)
        thief = await connect(room, u1, m["room_id"], query=f"?resume={wc['resume_token']}")
        wt = await welcome_of(thief)
        assert wt["resumed"] is False and wt["peer_id"] != wc["peer_id"]
        c2 = await connect(room, u2, m["room_id"], query=f"?resume={wc['resume_token']}")
        assert (await welcome_of(c2))["resumed"] is True
        junk = await connect(room, u2, m["room_id"], query="?resume=r_nonsense")
        assert (await welcome_of(junk))["resumed"] is False
        for ws in (a, again, thief, c2, junk):
            await ws.close()
    run(scenario())


def test_past_the_queue_limit_a_dropped_connection_leaves(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, _ = fresh()

    async def scenario():
        a = await connect(room, room.users["owner"], m["room_id"])
        await welcome_of(a)
        b = await connect(room, user, m["room_id"])
        wb = await welcome_of(b)
        await presence(a, "joined", wb["peer_id"])
        drop(b)
        await asyncio.sleep(0.3)
        started = time.monotonic()
        left = []

        def is_left(f):
            return f.get("type") == "presence" and f.get("event") == "left" and f.get("peer_id") == wb["peer_id"]

        def group_done_or_left(last):
            # The departure can come in the middle of the flood: keep it, do not skip it.
            def match(f):
                if is_left(f):
                    left.append(f)
                return f.get("type") == "chat" and f["content"] == last
            return match

        # In groups, so that the sender's own queue never holds them all at once.
        for group in range(0, MAX_QUEUED + 5, 9):
            for i in range(group, group + 9):
                await a.send(json.dumps({"type": "chat", "content": f"flood {i}"}))
            await recv_where(a, group_done_or_left(f"flood {group + 8}"))
        if not left:
            await presence(a, "left", wb["peer_id"], timeout=RESUME_SECONDS)
        assert time.monotonic() - started < RESUME_SECONDS, "it left for the queue, not the window"
        back = await connect(room, user, m["room_id"], query=f"?resume={wb['resume_token']}")
        assert (await welcome_of(back))["resumed"] is False
        for ws in (a, back):
            await ws.close()
    run(scenario())


def test_a_resume_token_gets_past_the_lock_and_the_lobby(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, _ = fresh()

    async def scenario():
        b = await connect(room, user, m["room_id"])
        wb = await welcome_of(b)
        body(owner.patch(f"/api/meetings/{m['id']}/room/", json={"locked": True, "lobby": True}), 200)
        await recv_type(b, "room")
        drop(b)
        await asyncio.sleep(0.3)
        back = await connect(room, user, m["room_id"], query=f"?resume={wb['resume_token']}")
        w = await welcome_of(back)
        assert w["resumed"] is True and w["room"] == {"locked": True, "lobby": True}
        await back.close()
        assert refusal_of(room, user, m["room_id"]) == (403, LOCKED)
    run(scenario())


def test_kicked_while_held_for_a_resume(room, fresh):
    owner = room.client("owner")
    m = owner.create_meeting()
    user, participant = fresh()

    async def scenario():
        a = await connect(room, room.users["owner"], m["room_id"])
        await welcome_of(a)
        b = await connect(room, user, m["room_id"])
        wb = await welcome_of(b)
        await presence(a, "joined", wb["peer_id"])
        drop(b)
        await asyncio.sleep(0.3)
        body(owner.post(f"/api/meetings/{m['id']}/participants/{participant.user_id}/kick/"), 200)
        await presence(a, "left", wb["peer_id"], timeout=1.5)
        assert refusal_of(room, user, m["room_id"]) == (403, REMOVED)
        await a.close()
    run(scenario())
