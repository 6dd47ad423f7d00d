"""Participant state actions and the participants list."""

import pytest

from castera_helpers import (
    MISSING_MEETING_ID, NOT_FOUND, NOT_PROVIDED, PARTICIPANT_KEYS, assert_keys, body, expect,
    method_not_allowed,
)

DEFAULTS = {"audio_muted": False, "video_stopped": False, "in_call": True, "raised_hand": False,
            "screen_sharing": False}

# (route, message, field, value the field takes)
ACTIONS = [
    ("mute-audio", "Audio muted", "audio_muted", True),
    ("unmute-audio", "Audio unmuted", "audio_muted", False),
    ("stop-video", "Video stopped", "video_stopped", True),
    ("start-video", "Video started", "video_stopped", False),
    ("stop-call", "Call stopped", "in_call", False),
    ("join-call", "Joined call", "in_call", True),
    ("raise-hand", "Hand raised", "raised_hand", True),
    ("lower-hand", "Hand lowered", "raised_hand", False),
    ("start-screen-share", "Screen sharing started", "screen_sharing", True),
    ("stop-screen-share", "Screen sharing stopped", "screen_sharing", False),
]
ACTION_IDS = [a[0] for a in ACTIONS]
ORIGINAL_ACTIONS = ["mute-audio", "stop-video", "stop-call", "raise-hand", "lower-hand",
                    "start-screen-share", "stop-screen-share"]


def participants(client, meeting_id):
    got = body(client.get(f"/api/meetings/{meeting_id}/participants/"), 200)
    assert isinstance(got, list), got
    for row in got:
        assert_keys(row, PARTICIPANT_KEYS)
    return got


def row_of(rows, user_id):
    mine = [r for r in rows if r["user"] == user_id]
    assert len(mine) == 1, f"expected one row for user {user_id}: {rows}"
    return mine[0]


def expected_row(row, meeting_id, client, **flags):
    state = dict(DEFAULTS, **flags)
    return {"id": row["id"], "meeting": meeting_id, "user": client.user_id,
            "user_email": client.email, **state}


@pytest.mark.parametrize("route,message,field,value", ACTIONS, ids=ACTION_IDS)
def test_action_by_owner(owner, route, message, field, value):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/{route}/"), 200, {"message": message})
    rows = participants(owner, m["id"])
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row["id"], int)
    assert row == expected_row(row, m["id"], owner, **{field: value})


@pytest.mark.parametrize("route,message,field,value", ACTIONS, ids=ACTION_IDS)
def test_action_by_any_user_changes_only_their_row(owner, other, route, message, field, value):
    m = owner.create_meeting()
    expect(other.post(f"/api/meetings/{m['id']}/{route}/"), 200, {"message": message})
    rows = participants(owner, m["id"])
    assert len(rows) == 1, rows
    row = row_of(rows, other.user_id)
    assert row == expected_row(row, m["id"], other, **{field: value})


@pytest.mark.parametrize("route", ORIGINAL_ACTIONS)
def test_action_with_json_body_and_form_body(owner, route):
    m = owner.create_meeting()
    assert owner.post(f"/api/meetings/{m['id']}/{route}/", json={}).status_code == 200
    assert owner.post(f"/api/meetings/{m['id']}/{route}/", data={"x": "1"}).status_code == 200


def test_each_user_has_own_state(owner, other, admin):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/mute-audio/")
    other.post(f"/api/meetings/{m['id']}/raise-hand/")
    admin.post(f"/api/meetings/{m['id']}/start-screen-share/")
    rows = participants(owner, m["id"])
    assert len(rows) == 3
    a = row_of(rows, owner.user_id)
    b = row_of(rows, other.user_id)
    c = row_of(rows, admin.user_id)
    assert a == expected_row(a, m["id"], owner, audio_muted=True)
    assert b == expected_row(b, m["id"], other, raised_hand=True)
    assert c == expected_row(c, m["id"], admin, screen_sharing=True)
    assert len({a["id"], b["id"], c["id"]}) == 3


def test_state_accumulates_in_one_row(owner):
    m = owner.create_meeting()
    for route in ["mute-audio", "stop-video", "raise-hand", "start-screen-share", "stop-call",
                  "mute-audio"]:
        assert owner.post(f"/api/meetings/{m['id']}/{route}/").status_code == 200
    rows = participants(owner, m["id"])
    assert len(rows) == 1
    assert rows[0] == expected_row(rows[0], m["id"], owner, audio_muted=True,
                                   video_stopped=True, raised_hand=True, screen_sharing=True,
                                   in_call=False)


@pytest.mark.parametrize("on,off,field", [
    ("mute-audio", "unmute-audio", "audio_muted"),
    ("stop-video", "start-video", "video_stopped"),
    ("raise-hand", "lower-hand", "raised_hand"),
    ("start-screen-share", "stop-screen-share", "screen_sharing"),
])
def test_reverse_actions_toggle(owner, on, off, field):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/{on}/")
    assert row_of(participants(owner, m["id"]), owner.user_id)[field] is True
    owner.post(f"/api/meetings/{m['id']}/{off}/")
    assert row_of(participants(owner, m["id"]), owner.user_id)[field] is False
    owner.post(f"/api/meetings/{m['id']}/{on}/")
    assert row_of(participants(owner, m["id"]), owner.user_id)[field] is True


def test_stop_and_join_call(owner):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/stop-call/")
    assert row_of(participants(owner, m["id"]), owner.user_id)["in_call"] is False
    owner.post(f"/api/meetings/{m['id']}/join-call/")
    assert row_of(participants(owner, m["id"]), owner.user_id)["in_call"] is True


def test_body_cannot_target_another_user(owner, other):
    m = owner.create_meeting()
    other.post(f"/api/meetings/{m['id']}/mute-audio/",
               json={"user": owner.user_id, "user_email": owner.email})
    rows = participants(owner, m["id"])
    assert [r["user"] for r in rows] == [other.user_id]


def test_states_are_per_meeting(owner):
    a = owner.create_meeting()
    b = owner.create_meeting()
    owner.post(f"/api/meetings/{a['id']}/mute-audio/")
    assert participants(owner, b["id"]) == []
    assert row_of(participants(owner, a["id"]), owner.user_id)["audio_muted"] is True


def test_participants_of_a_new_meeting_is_empty(owner):
    m = owner.create_meeting()
    assert participants(owner, m["id"]) == []


def test_any_user_may_list_participants(owner, other):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/raise-hand/")
    assert participants(other, m["id"]) == participants(owner, m["id"])


@pytest.mark.parametrize("route", ACTION_IDS)
def test_action_on_unknown_meeting(owner, route):
    expect(owner.post(f"/api/meetings/{MISSING_MEETING_ID}/{route}/"), 404, NOT_FOUND)


def test_participants_of_unknown_meeting(owner):
    expect(owner.get(f"/api/meetings/{MISSING_MEETING_ID}/participants/"), 404, NOT_FOUND)
    expect(owner.get("/api/meetings/nope/participants/"), 404, NOT_FOUND)


@pytest.mark.parametrize("route", ACTION_IDS)
def test_action_needs_credentials(owner, anon, route):
    m = owner.create_meeting()
    expect(anon.post(f"/api/meetings/{m['id']}/{route}/"), 403, NOT_PROVIDED)
    assert participants(owner, m["id"]) == []


def test_participants_need_credentials(owner, anon):
    m = owner.create_meeting()
    expect(anon.get(f"/api/meetings/{m['id']}/participants/"), 403, NOT_PROVIDED)


@pytest.mark.parametrize("route", ACTION_IDS)
def test_action_only_accepts_post(owner, route):
    m = owner.create_meeting()
    expect(owner.get(f"/api/meetings/{m['id']}/{route}/"), 405, method_not_allowed("GET"))
    expect(owner.put(f"/api/meetings/{m['id']}/{route}/", json={}), 405,
           method_not_allowed("PUT"))
