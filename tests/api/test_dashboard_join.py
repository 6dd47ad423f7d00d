"""The dashboard and joining a meeting by its room id."""

import uuid

import pytest

from castera_helpers import (
    DASHBOARD_KEYS, MEETING_NOT_FOUND, NOT_PROVIDED, assert_keys, assert_meeting, body, expect,
)


# --------------------------------------------------------------------------------------------
# Dashboard


def test_dashboard_of_a_new_user(fresh_client):
    c = fresh_client(full_name="Dana Scully")
    expect(c.get("/api/dashboard/"), 200, {
        "user_email": c.email, "full_name": "Dana Scully", "total_meetings": 0,
        "total_recordings": 0, "total_messages": 0, "meetings": []})


def test_dashboard_full_name_may_be_null(fresh_client):
    c = fresh_client()
    got = body(c.get("/api/dashboard/"), 200)
    assert_keys(got, DASHBOARD_KEYS)
    assert got["full_name"] is None and got["user_email"] == c.email


def test_dashboard_counts_own_meetings(fresh_client, admin):
    c = fresh_client()
    a = c.create_meeting(title="a", scheduled_date="2031-01-01T00:00:00Z")
    b = c.create_meeting(title="b", scheduled_date="2001-01-01T00:00:00Z")
    d = c.create_meeting(title="d")
    c.post_message(a["id"], "one")
    c.post_message(a["id"], "two")
    c.post_message(b["id"], "three")
    c.post_recording(a["id"], "https://cdn.example.com/a.mp4")
    # Activity of others inside the caller's meetings counts too.
    admin.post_message(d["id"], "from admin")
    admin.post_recording(b["id"], "https://cdn.example.com/b.mp4")
    # Activity in someone else's meeting does not.
    elsewhere = admin.create_meeting()
    admin.post_message(elsewhere["id"], "elsewhere")
    admin.post_recording(elsewhere["id"], "https://cdn.example.com/e.mp4")

    got = body(c.get("/api/dashboard/"), 200)
    assert_keys(got, DASHBOARD_KEYS)
    assert got == {"user_email": c.email, "full_name": None, "total_meetings": 3,
                   "total_recordings": 2, "total_messages": 4, "meetings": [a, b, d]}


def test_dashboard_meetings_ordered_by_id(fresh_client):
    c = fresh_client()
    made = [c.create_meeting(scheduled_date=f"20{30 + i}-01-01T00:00:00Z") for i in range(4)]
    got = body(c.get("/api/dashboard/"), 200)["meetings"]
    assert [m["id"] for m in got] == sorted(m["id"] for m in made)
    assert got == sorted(made, key=lambda m: m["id"])
    for m in got:
        assert_meeting(m, user=c.user_id)


def test_dashboard_reflects_updates_and_deletes(fresh_client):
    c = fresh_client()
    a = c.create_meeting()
    b = c.create_meeting()
    c.post_message(b["id"], "gone with b")
    c.patch(f"/api/meetings/{a['id']}/", json={"title": "renamed"})
    assert c.delete(f"/api/meetings/{b['id']}/").status_code == 204
    got = body(c.get("/api/dashboard/"), 200)
    assert got["total_meetings"] == 1 and got["total_messages"] == 0
    assert got["meetings"] == [dict(a, title="renamed")]


def test_dashboard_of_admin_is_only_their_own(admin, owner):
    owner.create_meeting()
    mine = admin.create_meeting()
    got = body(admin.get("/api/dashboard/"), 200)
    assert_keys(got, DASHBOARD_KEYS)
    assert got["user_email"] == admin.email and got["full_name"] == "Ada Admin"
    assert mine in got["meetings"]
    assert all(m["user"] == admin.user_id for m in got["meetings"])
    assert got["total_meetings"] == len(got["meetings"])


def test_dashboard_of_owner_is_consistent(owner):
    owner.create_meeting()
    got = body(owner.get("/api/dashboard/"), 200)
    assert_keys(got, DASHBOARD_KEYS)
    assert got["user_email"] == owner.email
    assert got["total_meetings"] == len(got["meetings"])
    assert [m["id"] for m in got["meetings"]] == sorted(m["id"] for m in got["meetings"])
    listed = body(owner.get("/api/meetings/"), 200)
    assert sorted(m["id"] for m in listed) == [m["id"] for m in got["meetings"]]


def test_dashboard_needs_credentials(anon):
    expect(anon.get("/api/dashboard/"), 403, NOT_PROVIDED)


# --------------------------------------------------------------------------------------------
# Join by room id


def test_join_returns_the_meeting(owner, other):
    m = owner.create_meeting()
    expect(other.get(f"/api/join/{m['room_id']}/"), 200, m)
    expect(owner.get(f"/api/join/{m['room_id']}/"), 200, m)


def test_join_an_ended_meeting_still_returns_it(owner, other):
    m = owner.create_meeting()
    owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"})
    expect(other.get(f"/api/join/{m['room_id']}/"), 200, dict(m, status="ended"))


def test_join_sees_updates(owner, other):
    m = owner.create_meeting()
    owner.patch(f"/api/meetings/{m['id']}/", json={"title": "new title"})
    expect(other.get(f"/api/join/{m['room_id']}/"), 200, dict(m, title="new title"))


def test_join_unknown_room(owner):
    expect(owner.get(f"/api/join/{uuid.uuid4()}/"), 404, MEETING_NOT_FOUND)


@pytest.mark.parametrize("room", ["not-a-uuid", "1234", "9f43f176-25c4-45ce-8b83",
                                  "9f43f176-25c4-45ce-8b83-8ddd63d5ab8bz",
                                  "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"])
def test_join_malformed_room(owner, room):
    r = owner.get(f"/api/join/{room}/")
    assert isinstance(body(r, 404), dict)


def test_join_needs_credentials(anon, owner):
    m = owner.create_meeting()
    expect(anon.get(f"/api/join/{m['room_id']}/"), 403, NOT_PROVIDED)


def test_join_without_slash_redirects(owner):
    m = owner.create_meeting()
    r = owner.get(f"/api/join/{m['room_id']}")
    assert r.status_code == 301
    assert r.headers.get("Location") == f"/api/join/{m['room_id']}/"
