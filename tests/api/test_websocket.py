"""The real-time room: /ws/meetings/<room_id>/ with the compatible (untyped) frames."""

import asyncio
import json
import os
import uuid

import pytest
import websockets

from castera_helpers import (
    SessionClient, assert_serving, body, run, ws_expect_close, ws_expect_silence,
    ws_open, ws_recv_chat, ws_recv_presence, ws_sync,
)


def creds(user):
    return {"email": user.email, "password": user.password}


async def expect_refused(base_url, room, status, **kw):
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as info:
        ws = await ws_open(base_url, room, **kw)
        await ws.close()
    assert info.value.status_code == status, f"handshake refused with {info.value.status_code}"


def assert_frame(frame, expected):
    assert frame == expected, f"frame {frame!r}, expected {expected!r}"
    assert list(frame.keys()) == list(expected.keys()), f"key order of {frame!r}"


def messages(client, meeting_id):
    return body(client.get(f"/api/meetings/{meeting_id}/messages/"), 200)


# --------------------------------------------------------------------------------------------
# Who may connect


def test_connect_with_basic_and_chat(base_url, owner, users):
    m = owner.create_meeting()
    u = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        try:
            await ws.send(json.dumps({"message": "hello"}))
            assert_frame(await ws_recv_chat(ws), {"message": "hello", "sender": u.email})
        finally:
            await ws.close()

    run(scenario())
    stored = messages(owner, m["id"])
    assert [(x["content"], x["user"], x["user_email"]) for x in stored] == [
        ("hello", owner.user_id, u.email)]


def test_connect_with_session_cookie(base_url, server, owner):
    m = owner.create_meeting()
    u = server.users["owner"]
    c = SessionClient(base_url)
    body(c.login(u.email, u.password), 200)

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], cookie=f"sessionid={c.sessionid}",
                           origin=base_url)
        try:
            await ws.send(json.dumps({"message": "via cookie"}))
            assert_frame(await ws_recv_chat(ws), {"message": "via cookie", "sender": u.email})
        finally:
            await ws.close()

    run(scenario())
    assert [x["content"] for x in messages(owner, m["id"])] == ["via cookie"]


def test_cookie_from_a_foreign_origin_is_refused(base_url, server, owner):
    m = owner.create_meeting()
    u = server.users["owner"]
    c = SessionClient(base_url)
    body(c.login(u.email, u.password), 200)
    run(expect_refused(base_url, m["room_id"], 403, cookie=f"sessionid={c.sessionid}",
                       origin="http://evil.example.com"))


def test_logged_out_session_is_refused(base_url, server, owner):
    m = owner.create_meeting()
    u = server.users["owner"]
    c = SessionClient(base_url)
    body(c.login(u.email, u.password), 200)
    sid = c.sessionid
    assert c.post("/api/auth/logout/").status_code == 200
    run(expect_refused(base_url, m["room_id"], 403, cookie=f"sessionid={sid}", origin=base_url))


def test_anonymous_is_refused(base_url, owner):
    m = owner.create_meeting()
    run(expect_refused(base_url, m["room_id"], 403))


def test_anonymous_with_origin_is_refused(base_url, owner):
    m = owner.create_meeting()
    run(expect_refused(base_url, m["room_id"], 403, origin=base_url))


def test_wrong_password_is_refused(base_url, owner, users):
    m = owner.create_meeting()
    run(expect_refused(base_url, m["room_id"], 403, email=users["owner"].email,
                       password="wrong-password"))


def test_garbage_access_token_is_refused(base_url, owner):
    m = owner.create_meeting()
    run(expect_refused(base_url, m["room_id"], 403, query="?access_token=garbage.token.here"))


def test_garbage_session_cookie_is_refused(base_url, owner):
    m = owner.create_meeting()
    run(expect_refused(base_url, m["room_id"], 403, cookie="sessionid=nonsense",
                       origin=base_url))


def test_unknown_room_is_404(base_url, users):
    run(expect_refused(base_url, str(uuid.uuid4()), 404, **creds(users["owner"])))


@pytest.mark.parametrize("room", ["not-a-uuid", "12345", "9f43f176-25c4-45ce-8b83"])
def test_malformed_room_is_404(base_url, users, room):
    run(expect_refused(base_url, room, 404, **creds(users["owner"])))


def test_deleted_meeting_room_is_404(base_url, owner, users):
    m = owner.create_meeting()
    assert owner.delete(f"/api/meetings/{m['id']}/").status_code == 204
    run(expect_refused(base_url, m["room_id"], 404, **creds(users["owner"])))


def test_ended_meeting_is_refused(base_url, owner, users):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"})
    run(expect_refused(base_url, m["room_id"], 403, **creds(users["owner"])))


def test_reactivated_meeting_accepts_again(base_url, owner, users):
    m = owner.create_meeting(status="ended")
    run(expect_refused(base_url, m["room_id"], 403, **creds(users["owner"])))
    owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "active"})

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(users["owner"]))
        await ws_sync(ws, users["owner"].email)
        await ws.close()

    run(scenario())


def test_non_owner_may_join_and_chat(base_url, owner, other, users):
    m = owner.create_meeting()
    u = users["other"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        try:
            await ws.send(json.dumps({"message": "guest here"}))
            assert_frame(await ws_recv_chat(ws), {"message": "guest here", "sender": u.email})
        finally:
            await ws.close()

    run(scenario())
    stored = messages(owner, m["id"])
    assert len(stored) == 1
    assert stored[0]["user"] == other.user_id and stored[0]["user_email"] == u.email
    assert stored[0]["meeting"] == m["id"] and stored[0]["content"] == "guest here"


# --------------------------------------------------------------------------------------------
# Broadcast and presence


def test_everyone_in_the_room_receives_each_message(base_url, owner, users):
    m = owner.create_meeting()
    a, b, c = users["owner"], users["other"], users["admin"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        await ws_sync(wa, a.email)
        wb = await ws_open(base_url, m["room_id"], **creds(b))
        await ws_sync(wb, b.email)
        wc = await ws_open(base_url, m["room_id"], **creds(c))
        await ws_sync(wc, c.email)
        try:
            await wb.send(json.dumps({"message": "to all"}))
            expected = {"message": "to all", "sender": b.email}
            for ws in (wa, wb, wc):
                frame = await ws_recv_chat(ws)
                while frame.get("message", "").startswith("sync-"):
                    frame = await ws_recv_chat(ws)
                assert_frame(frame, expected)
        finally:
            for ws in (wa, wb, wc):
                await ws.close()

    run(scenario())


def test_sender_field_is_ignored(base_url, owner, users):
    m = owner.create_meeting()
    u = users["other"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        try:
            await ws.send(json.dumps({"message": "spoof", "sender": "boss@example.com",
                                      "user": 1}))
            assert_frame(await ws_recv_chat(ws), {"message": "spoof", "sender": u.email})
        finally:
            await ws.close()

    run(scenario())
    assert messages(owner, m["id"])[0]["user_email"] == u.email


def test_presence_joined_and_left(base_url, owner, users):
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws_sync(wa, a.email)
            wb = await ws_open(base_url, m["room_id"], **creds(b))
            assert_frame(await ws_recv_presence(wa, b.email),
                         {"presence": "joined", "user": b.email})
            await ws_sync(wb, b.email)
            await wb.close()
            assert_frame(await ws_recv_presence(wa, b.email),
                         {"presence": "left", "user": b.email})
        finally:
            await wa.close()

    run(scenario())


def test_presence_left_on_abrupt_disconnect(base_url, owner, users):
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws_sync(wa, a.email)
            wb = await ws_open(base_url, m["room_id"], **creds(b))
            await ws_recv_presence(wa, b.email)
            wb.transport.abort()  # no closing handshake
            assert_frame(await ws_recv_presence(wa, b.email, timeout=10),
                         {"presence": "left", "user": b.email})
        finally:
            await wa.close()

    run(scenario())


def test_messages_stay_in_their_room(base_url, owner, users):
    x = owner.create_meeting()
    y = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wx = await ws_open(base_url, x["room_id"], **creds(a))
        wy = await ws_open(base_url, y["room_id"], **creds(b))
        try:
            await ws_sync(wx, a.email)
            await ws_sync(wy, b.email)
            await wx.send(json.dumps({"message": "only in x"}))
            assert_frame(await ws_recv_chat(wx), {"message": "only in x", "sender": a.email})
            await ws_expect_silence(wy)
        finally:
            await wx.close()
            await wy.close()

    run(scenario())
    assert "only in x" not in [m["content"] for m in messages(owner, y["id"])]


def test_messages_arrive_in_order(base_url, owner, users):
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        wb = await ws_open(base_url, m["room_id"], **creds(b))
        try:
            await ws_sync(wa, a.email)
            await ws_sync(wb, b.email)
            # drain a's copy of b's sync message
            frame = await ws_recv_chat(wa)
            assert frame["sender"] == b.email
            for i in range(20):
                await wa.send(json.dumps({"message": f"n{i}"}))
            for ws in (wa, wb):
                got = [(await ws_recv_chat(ws))["message"] for _ in range(20)]
                assert got == [f"n{i}" for i in range(20)]
        finally:
            await wa.close()
            await wb.close()

    run(scenario())
    contents = [x["content"] for x in messages(owner, m["id"])]
    assert [c for c in contents if c.startswith("n")] == [f"n{i}" for i in range(20)]


def test_same_user_on_two_connections(base_url, owner, users):
    m = owner.create_meeting()
    a = users["owner"]

    async def scenario():
        w1 = await ws_open(base_url, m["room_id"], **creds(a))
        w2 = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws_sync(w1, a.email)
            await w2.send(json.dumps({"message": "twice"}))
            for ws in (w1, w2):
                frame = await ws_recv_chat(ws)
                while frame["message"].startswith("sync-"):
                    frame = await ws_recv_chat(ws)
                assert_frame(frame, {"message": "twice", "sender": a.email})
        finally:
            await w1.close()
            await w2.close()

    run(scenario())


# --------------------------------------------------------------------------------------------
# REST and WebSocket share one conversation


def test_rest_message_is_delivered_to_the_room(base_url, owner, admin, users):
    m = owner.create_meeting()
    a = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws_sync(ws, a.email)
            await asyncio.to_thread(owner.post_message, m["id"], "from REST")
            assert_frame(await ws_recv_chat(ws), {"message": "from REST", "sender": a.email})
            await asyncio.to_thread(admin.post_message, m["id"], "admin via REST")
            assert_frame(await ws_recv_chat(ws),
                         {"message": "admin via REST", "sender": users["admin"].email})
        finally:
            await ws.close()

    run(scenario())


def test_a_burst_sent_just_before_closing_is_stored_and_delivered_in_order(base_url, owner, users):
    # The sender's chats are stored in groups while it keeps reading: every chat it sent before
    # it went away is still stored, published and delivered, in the order sent.
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wb = await ws_open(base_url, m["room_id"], **creds(b))
        try:
            await ws_sync(wb, b.email)
            wa = await ws_open(base_url, m["room_id"], **creds(a))
            for i in range(50):
                await wa.send(json.dumps({"message": f"burst {i}"}))
            await wa.close()
            got = []
            while len(got) < 50:
                frame = await ws_recv_chat(wb)
                if frame["sender"] == a.email:
                    got.append(frame["message"])
            assert got == [f"burst {i}" for i in range(50)]
        finally:
            await wb.close()

    run(scenario())
    contents = [x["content"] for x in messages(owner, m["id"])]
    assert [c for c in contents if c.startswith("burst")] == [f"burst {i}" for i in range(50)]


def test_ws_and_rest_messages_interleave_in_history(base_url, owner, users):
    m = owner.create_meeting()
    a = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws.send(json.dumps({"message": "ws one"}))
            await ws_recv_chat(ws)
            await asyncio.to_thread(owner.post_message, m["id"], "rest two")
            await ws_recv_chat(ws)
            await ws.send(json.dumps({"message": "ws three"}))
            await ws_recv_chat(ws)
        finally:
            await ws.close()

    run(scenario())
    assert [x["content"] for x in messages(owner, m["id"])] == ["ws one", "rest two", "ws three"]


def test_unicode_message(base_url, owner, users):
    m = owner.create_meeting()
    a = users["owner"]
    text = "héllo 会议 🎉 \"quoted\" \\ <b>"

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws.send(json.dumps({"message": text}, ensure_ascii=False))
            assert_frame(await ws_recv_chat(ws), {"message": text, "sender": a.email})
        finally:
            await ws.close()

    run(scenario())
    assert messages(owner, m["id"])[0]["content"] == text


def test_message_under_the_frame_limit(base_url, owner, users):
    m = owner.create_meeting()
    a = users["owner"]
    text = "m" * 60_000

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(a))
        try:
            await ws.send(json.dumps({"message": text}))
            assert_frame(await ws_recv_chat(ws), {"message": text, "sender": a.email})
        finally:
            await ws.close()

    run(scenario())


# --------------------------------------------------------------------------------------------
# Bad frames: a clear close code, no crash, and the server keeps serving


async def _still_serving(base_url, room_id, user):
    await asyncio.to_thread(assert_serving, base_url)
    ws = await ws_open(base_url, room_id, **creds(user))
    try:
        await ws_sync(ws, user.email)
    finally:
        await ws.close()


@pytest.mark.parametrize("frame", ["hello", '{"message": ', "{'message': 'x'}", "",
                                   '{"message": "x"} extra'],
                         ids=["word", "truncated", "single-quotes", "empty", "trailing"])
def test_non_json_frame_closes_1007(base_url, owner, users, frame):
    m = owner.create_meeting()
    u = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        await ws.send(frame)
        await ws_expect_close(ws, 1007)
        await _still_serving(base_url, m["room_id"], u)

    run(scenario())
    assert [x["content"] for x in messages(owner, m["id"]) if not x["content"].startswith("sync-")] == []


@pytest.mark.parametrize("frame", ["[1,2]", '"hello"', "5", "null", "true", '{"msg": "x"}',
                                   '{"message": 5}', '{"message": null}',
                                   '{"message": ["a"]}', '{"message": {"a": 1}}'],
                         ids=["list", "string", "number", "null", "bool", "no-message",
                              "message-number", "message-null", "message-list",
                              "message-object"])
def test_json_that_is_not_a_chat_object_closes_1003(base_url, owner, users, frame):
    m = owner.create_meeting()
    u = users["owner"]

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        await ws.send(frame)
        await ws_expect_close(ws, 1003)
        await _still_serving(base_url, m["room_id"], u)

    run(scenario())


def test_blank_messages_are_ignored(base_url, owner, users):
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        wb = await ws_open(base_url, m["room_id"], **creds(b))
        try:
            await ws_sync(wa, a.email)
            await ws_sync(wb, b.email)
            frame = await ws_recv_chat(wa)  # a's copy of b's sync
            assert frame["sender"] == b.email
            for blank in ["", "   ", "\n\t "]:
                await wa.send(json.dumps({"message": blank}))
            await wa.send(json.dumps({"message": "after"}))
            for ws in (wa, wb):
                assert_frame(await ws_recv_chat(ws), {"message": "after", "sender": a.email})
        finally:
            await wa.close()
            await wb.close()

    run(scenario())
    contents = [x["content"] for x in messages(owner, m["id"])]
    assert contents[-1] == "after"
    assert all(c.strip() for c in contents), contents


def test_frame_over_64_kib_closes_1009(base_url, owner, users):
    m = owner.create_meeting()
    u = users["owner"]
    text = json.dumps({"message": os.urandom(40_000).hex()})  # 80,000 bytes
    assert len(text) > 64 * 1024

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], **creds(u))
        await ws.send(text)
        await ws_expect_close(ws, 1009)
        await _still_serving(base_url, m["room_id"], u)

    run(scenario())
    assert all(len(x["content"]) < 64 * 1024 for x in messages(owner, m["id"]))


def test_bad_frame_on_one_connection_leaves_the_others(base_url, owner, users):
    m = owner.create_meeting()
    a, b = users["owner"], users["other"]

    async def scenario():
        wa = await ws_open(base_url, m["room_id"], **creds(a))
        wb = await ws_open(base_url, m["room_id"], **creds(b))
        try:
            await ws_sync(wa, a.email)
            await ws_sync(wb, b.email)
            await wb.send("not json")
            await ws_expect_close(wb, 1007)
            await wa.send(json.dumps({"message": "still here"}))
            frame = await ws_recv_chat(wa)
            while frame.get("sender") == b.email:
                frame = await ws_recv_chat(wa)
            assert_frame(frame, {"message": "still here", "sender": a.email})
        finally:
            await wa.close()

    run(scenario())


def test_many_connections_open_and_close(base_url, owner, users):
    m = owner.create_meeting()
    u = users["owner"]

    async def scenario():
        socks = await asyncio.gather(*[ws_open(base_url, m["room_id"], **creds(u))
                                       for _ in range(30)])
        await asyncio.sleep(0.5)  # let every connection settle into the room
        await socks[0].send(json.dumps({"message": "fan-out"}))
        for ws in socks:
            assert_frame(await ws_recv_chat(ws, timeout=10),
                         {"message": "fan-out", "sender": u.email})
        for ws in socks[::2]:
            ws.transport.abort()
        for ws in socks[1::2]:
            await ws.close()
        await _still_serving(base_url, m["room_id"], u)

    run(scenario())
