"""Meetings: create, read, list, update, delete, set-status, upcoming, previous."""

import datetime as dt

import pytest

from castera_helpers import (
    FUTURE, MISSING_MEETING_ID, NO_PERMISSION, NOT_FOUND, NOT_PROVIDED, PAGE_KEYS,
    REQUIRED, UUID4_RE, assert_keys, assert_meeting, assert_recent, body, expect,
    method_not_allowed, page_query, parse_dt, unique,
)

DATETIME_WRONG = "Datetime has wrong format."


# --------------------------------------------------------------------------------------------
# Create


def test_create_meeting_returns_the_full_object(owner):
    title = unique("Weekly sync")
    r = owner.post("/api/meetings/", json={"title": title, "description": "Agenda",
                                           "scheduled_date": "2030-03-04T09:30:00+01:00"})
    m = body(r, 201)
    assert_meeting(m, title=title, description="Agenda", type_of="public",
                   scheduled_date="2030-03-04T08:30:00Z", status="active", user=owner.user_id)
    assert_recent(m["created_on"])


def test_create_with_only_required_fields_defaults(owner):
    r = owner.post("/api/meetings/", json={"title": "Minimal",
                                           "scheduled_date": "2030-03-04T09:30:00.123Z"})
    m = body(r, 201)
    assert_meeting(m, title="Minimal", description=None, type_of="public", status="active",
                   scheduled_date="2030-03-04T09:30:00.123000Z", user=owner.user_id)


def test_created_meeting_is_readable_unchanged(owner):
    m = owner.create_meeting(description="d", type_of="private")
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_each_meeting_gets_its_own_room_id(owner):
    a = owner.create_meeting()
    b = owner.create_meeting()
    assert a["id"] != b["id"]
    assert a["room_id"] != b["room_id"]
    assert UUID4_RE.match(a["room_id"]) and UUID4_RE.match(b["room_id"])


def test_create_from_form_encoded_body(owner):
    r = owner.post("/api/meetings/", data={"title": "Form", "scheduled_date": FUTURE})
    assert r.request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert_meeting(body(r, 201), title="Form", description=None, scheduled_date=FUTURE,
                   user=owner.user_id)


def test_create_from_multipart_body(owner):
    r = owner.post("/api/meetings/", files={"title": (None, "Multi"),
                                            "description": (None, "from a form"),
                                            "scheduled_date": (None, FUTURE)})
    assert r.request.headers["Content-Type"].startswith("multipart/form-data")
    assert_meeting(body(r, 201), title="Multi", description="from a form",
                   scheduled_date=FUTURE, user=owner.user_id)


def test_create_with_all_writable_fields(owner):
    r = owner.post("/api/meetings/", json={"title": "All", "description": "x",
                                           "type_of": "private", "status": "ended",
                                           "scheduled_date": "2031-05-06T07:08:09Z"})
    assert_meeting(body(r, 201), title="All", description="x", type_of="private",
                   status="ended", scheduled_date="2031-05-06T07:08:09Z")


def test_create_with_unicode_title(owner):
    title = "Réunion 会议 🎉 \"quoted\" \\ back"
    m = body(owner.post("/api/meetings/", json={"title": title, "scheduled_date": FUTURE}), 201)
    assert m["title"] == title
    assert body(owner.get(f"/api/meetings/{m['id']}/"), 200)["title"] == title


def test_read_only_fields_are_ignored_on_create(owner, other):
    r = owner.post("/api/meetings/", json={
        "title": "RO", "scheduled_date": FUTURE, "id": 1, "user": other.user_id,
        "room_id": "4cf69247-6576-404b-96b4-fcff6a814930",
        "created_on": "2000-01-01T00:00:00Z"})
    m = body(r, 201)
    assert_meeting(m, title="RO", user=owner.user_id)
    assert m["room_id"] != "4cf69247-6576-404b-96b4-fcff6a814930"
    assert m["created_on"] != "2000-01-01T00:00:00Z"
    assert_recent(m["created_on"])


def test_missing_required_fields(owner):
    r = owner.post("/api/meetings/", json={"description": "no title"})
    expect(r, 400, {"title": REQUIRED, "scheduled_date": REQUIRED})


def test_empty_object_body(owner):
    expect(owner.post("/api/meetings/", json={}), 400,
           {"title": REQUIRED, "scheduled_date": REQUIRED})


def test_empty_body_is_treated_as_no_data(owner):
    r = owner.post("/api/meetings/", data=b"", headers={"Content-Type": "application/json"})
    expect(r, 400, {"title": REQUIRED, "scheduled_date": REQUIRED})


def test_bad_values_report_every_field_in_order(owner):
    r = owner.post("/api/meetings/", json={"title": "t" * 256, "scheduled_date": "tomorrow",
                                           "type_of": "secret", "status": 3})
    got = body(r, 400)
    assert list(got.keys()) == ["title", "type_of", "scheduled_date", "status"], got
    assert got["title"] == ["Ensure this field has no more than 255 characters."]
    assert got["type_of"] == ['"secret" is not a valid choice.']
    assert got["status"] == ['"3" is not a valid choice.']
    assert len(got["scheduled_date"]) == 1 and got["scheduled_date"][0].startswith(DATETIME_WRONG)


def test_title_of_255_characters_is_accepted(owner):
    title = "x" * 255
    m = body(owner.post("/api/meetings/", json={"title": title, "scheduled_date": FUTURE}), 201)
    assert m["title"] == title


def test_title_length_counts_characters_not_bytes(owner):
    title = "é" * 255  # 510 bytes in UTF-8, 255 characters
    m = body(owner.post("/api/meetings/", json={"title": title, "scheduled_date": FUTURE}), 201)
    assert m["title"] == title


def test_number_title_is_coerced_to_string(owner):
    m = body(owner.post("/api/meetings/", json={"title": 5, "scheduled_date": FUTURE}), 201)
    assert m["title"] == "5"


@pytest.mark.parametrize("title", [{"a": 1}, ["a"]], ids=["object", "list"])
def test_title_of_wrong_type(owner, title):
    r = owner.post("/api/meetings/", json={"title": title, "scheduled_date": FUTURE})
    expect(r, 400, {"title": ["Not a valid string."]})


@pytest.mark.parametrize("title", ["", "   "], ids=["empty", "whitespace"])
def test_blank_title(owner, title):
    r = owner.post("/api/meetings/", json={"title": title, "scheduled_date": FUTURE})
    expect(r, 400, {"title": ["This field may not be blank."]})


def test_title_is_trimmed_like_drf(owner):
    m = body(owner.post("/api/meetings/", json={"title": "  Padded  ",
                                                "scheduled_date": FUTURE}), 201)
    assert m["title"] == "Padded"


def test_null_title(owner):
    r = owner.post("/api/meetings/", json={"title": None, "scheduled_date": FUTURE})
    expect(r, 400, {"title": ["This field may not be null."]})


def test_null_description_is_allowed(owner):
    m = body(owner.post("/api/meetings/", json={"title": "n", "description": None,
                                                "scheduled_date": FUTURE}), 201)
    assert m["description"] is None


def test_null_scheduled_date_is_rejected(owner):
    got = body(owner.post("/api/meetings/", json={"title": "n", "scheduled_date": None}), 400)
    assert list(got.keys()) == ["scheduled_date"], got


@pytest.mark.parametrize("value", [12345, "2030-01-01", "2030-13-01T00:00:00Z",
                                   "2030-02-30T00:00:00Z", "01/02/2030 10:00", "", True],
                         ids=["number", "date-only", "month-13", "feb-30", "us-format",
                              "empty", "bool"])
def test_bad_scheduled_date(owner, value):
    got = body(owner.post("/api/meetings/", json={"title": "d", "scheduled_date": value}), 400)
    assert list(got.keys()) == ["scheduled_date"], got
    assert len(got["scheduled_date"]) == 1
    assert got["scheduled_date"][0].startswith(DATETIME_WRONG), got


@pytest.mark.parametrize("given,stored", [
    ("2030-03-04T09:30:00+01:00", "2030-03-04T08:30:00Z"),
    ("2030-03-04T09:30:00.123Z", "2030-03-04T09:30:00.123000Z"),
    ("2030-01-01T08:00:00.5Z", "2030-01-01T08:00:00.500000Z"),
    ("2030-01-01T08:00:00.000000Z", "2030-01-01T08:00:00Z"),
    ("2030-01-01T08:00:00.000001Z", "2030-01-01T08:00:00.000001Z"),
    ("2030-01-01T08:00:00+00:00", "2030-01-01T08:00:00Z"),
    ("2030-01-01T01:00:00-05:30", "2030-01-01T06:30:00Z"),
    ("2030-01-01T00:30:00+02:00", "2029-12-31T22:30:00Z"),
    ("2030-06-15T12:34Z", "2030-06-15T12:34:00Z"),
])
def test_datetime_normalised_to_utc(owner, given, stored):
    m = body(owner.post("/api/meetings/", json={"title": "tz", "scheduled_date": given}), 201)
    assert m["scheduled_date"] == stored


# --------------------------------------------------------------------------------------------
# Read


def test_any_user_may_read_any_meeting(owner, other, admin):
    m = owner.create_meeting()
    expect(other.get(f"/api/meetings/{m['id']}/"), 200, m)
    expect(admin.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_unknown_meeting_is_404(owner):
    expect(owner.get(f"/api/meetings/{MISSING_MEETING_ID}/"), 404, NOT_FOUND)


@pytest.mark.parametrize("ident", ["abc", "-1", "0", "1.5", "99999999999999999999999999"])
def test_odd_meeting_ids_are_404(owner, ident):
    expect(owner.get(f"/api/meetings/{ident}/"), 404, NOT_FOUND)


def test_deleted_meeting_is_404(owner):
    m = owner.create_meeting()
    assert owner.delete(f"/api/meetings/{m['id']}/").status_code == 204
    expect(owner.get(f"/api/meetings/{m['id']}/"), 404, NOT_FOUND)


# --------------------------------------------------------------------------------------------
# List


def test_list_is_own_meetings_newest_first(fresh_client):
    c = fresh_client()
    a = c.create_meeting(title="first")
    b = c.create_meeting(title="second")
    d = c.create_meeting(title="third")
    got = body(c.get("/api/meetings/"), 200)
    assert got == [d, b, a]


def test_list_is_empty_for_a_new_user(fresh_client):
    c = fresh_client()
    assert body(c.get("/api/meetings/"), 200) == []


def test_list_excludes_other_users_meetings(owner, other):
    mine = owner.create_meeting()
    theirs = other.create_meeting()
    ids = [m["id"] for m in body(owner.get("/api/meetings/"), 200)]
    assert mine["id"] in ids
    assert theirs["id"] not in ids
    other_ids = [m["id"] for m in body(other.get("/api/meetings/"), 200)]
    assert mine["id"] not in other_ids and theirs["id"] in other_ids


def test_list_items_have_meeting_shape_and_order(owner):
    owner.create_meeting()
    got = body(owner.get("/api/meetings/"), 200)
    assert isinstance(got, list) and got
    for m in got:
        assert_meeting(m, user=owner.user_id)
    created = [parse_dt(m["created_on"]) for m in got]
    assert created == sorted(created, reverse=True)


def test_admin_lists_every_meeting(owner, other, admin):
    a = owner.create_meeting()
    b = other.create_meeting()
    got = body(admin.get("/api/meetings/"), 200)
    by_id = {m["id"]: m for m in got}
    assert by_id.get(a["id"]) == a
    assert by_id.get(b["id"]) == b
    created = [parse_dt(m["created_on"]) for m in got]
    assert created == sorted(created, reverse=True)


def test_staff_flag_alone_is_not_admin(owner, staff):
    m = owner.create_meeting()
    ids = [x["id"] for x in body(staff.get("/api/meetings/"), 200)]
    assert m["id"] not in ids
    expect(staff.patch(f"/api/meetings/{m['id']}/", json={"title": "x"}), 403, NO_PERMISSION)


# --------------------------------------------------------------------------------------------
# Pagination


def test_limit_offset_pagination(fresh_client, base_url):
    c = fresh_client()
    made = [c.create_meeting(title=f"p{i}") for i in range(5)]
    full = body(c.get("/api/meetings/"), 200)
    assert full == list(reversed(made))

    page = body(c.get("/api/meetings/?limit=2&offset=0"), 200)
    assert_keys(page, PAGE_KEYS)
    assert page["count"] == 5
    assert page["results"] == full[0:2]
    assert page["previous"] is None
    q, parts = page_query(page["next"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base_url + "/api/meetings/"
    assert q == {"limit": "2", "offset": "2"}

    page2 = body(c.get(page["next"]), 200)
    assert page2["count"] == 5
    assert page2["results"] == full[2:4]
    q, parts = page_query(page2["previous"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base_url + "/api/meetings/"
    assert q.get("limit") == "2" and q.get("offset", "0") == "0"
    q, _ = page_query(page2["next"])
    assert q == {"limit": "2", "offset": "4"}

    page3 = body(c.get("/api/meetings/?limit=2&offset=4"), 200)
    assert page3["results"] == full[4:5]
    assert page3["next"] is None
    q, _ = page_query(page3["previous"])
    assert q == {"limit": "2", "offset": "2"}


def test_limit_without_offset_paginates(fresh_client):
    c = fresh_client()
    made = [c.create_meeting() for _ in range(3)]
    page = body(c.get("/api/meetings/?limit=1"), 200)
    assert_keys(page, PAGE_KEYS)
    assert page["count"] == 3
    assert page["results"] == [made[-1]]


def test_offset_past_the_end(fresh_client):
    c = fresh_client()
    c.create_meeting()
    page = body(c.get("/api/meetings/?limit=5&offset=10"), 200)
    assert page["count"] == 1 and page["results"] == [] and page["next"] is None


def test_without_limit_the_list_stays_an_array(owner):
    owner.create_meeting()
    assert isinstance(body(owner.get("/api/meetings/"), 200), list)
    assert isinstance(body(owner.get("/api/meetings/?offset=1"), 200), list)


# --------------------------------------------------------------------------------------------
# Partial update


def test_patch_by_owner(owner):
    m = owner.create_meeting(title="Weekly sync", description="Agenda",
                             scheduled_date="2030-03-04T09:30:00+01:00")
    r = owner.patch(f"/api/meetings/{m['id']}/",
                    json={"title": "Weekly sync (moved)", "scheduled_date": "2030-03-05T09:30:00Z"})
    expected = dict(m, title="Weekly sync (moved)", scheduled_date="2030-03-05T09:30:00Z")
    expect(r, 200, expected)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, expected)


def test_patch_each_writable_field(owner):
    m = owner.create_meeting(description="d")
    r = owner.patch(f"/api/meetings/{m['id']}/", json={"type_of": "private"})
    m = expect(r, 200, dict(m, type_of="private"))
    r = owner.patch(f"/api/meetings/{m['id']}/", json={"status": "ended"})
    m = expect(r, 200, dict(m, status="ended"))
    r = owner.patch(f"/api/meetings/{m['id']}/", json={"description": None})
    expect(r, 200, dict(m, description=None))


def test_patch_empty_body_changes_nothing(owner):
    m = owner.create_meeting()
    expect(owner.patch(f"/api/meetings/{m['id']}/", json={}), 200, m)


def test_patch_form_encoded(owner):
    m = owner.create_meeting()
    r = owner.patch(f"/api/meetings/{m['id']}/", data={"title": "via form"})
    expect(r, 200, dict(m, title="via form"))


def test_patch_ignores_read_only_fields(owner, other):
    m = owner.create_meeting()
    r = owner.patch(f"/api/meetings/{m['id']}/", json={
        "room_id": "4cf69247-6576-404b-96b4-fcff6a814930", "user": other.user_id,
        "id": m["id"] + 1000, "created_on": "2000-01-01T00:00:00Z"})
    expect(r, 200, m)


@pytest.mark.parametrize("patch,errors", [
    ({"title": ""}, {"title": ["This field may not be blank."]}),
    ({"title": None}, {"title": ["This field may not be null."]}),
    ({"type_of": "secret"}, {"type_of": ['"secret" is not a valid choice.']}),
    ({"status": "paused"}, {"status": ['"paused" is not a valid choice.']}),
    ({"title": "y" * 256}, {"title": ["Ensure this field has no more than 255 characters."]}),
])
def test_patch_validation(owner, patch, errors):
    m = owner.create_meeting()
    expect(owner.patch(f"/api/meetings/{m['id']}/", json=patch), 400, errors)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_patch_bad_datetime(owner):
    m = owner.create_meeting()
    got = body(owner.patch(f"/api/meetings/{m['id']}/", json={"scheduled_date": "soon"}), 400)
    assert list(got) == ["scheduled_date"] and got["scheduled_date"][0].startswith(DATETIME_WRONG)


def test_patch_by_another_user_is_forbidden(owner, other):
    m = owner.create_meeting()
    expect(other.patch(f"/api/meetings/{m['id']}/", json={"title": "mine now"}), 403,
           NO_PERMISSION)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_permission_is_checked_before_validation(owner, other):
    m = owner.create_meeting()
    expect(other.patch(f"/api/meetings/{m['id']}/", json={"type_of": "secret"}), 403,
           NO_PERMISSION)


def test_patch_by_admin_keeps_the_owner(owner, admin):
    m = owner.create_meeting()
    r = admin.patch(f"/api/meetings/{m['id']}/", json={"title": "admin edit"})
    expect(r, 200, dict(m, title="admin edit"))


def test_patch_unknown_meeting(owner):
    expect(owner.patch(f"/api/meetings/{MISSING_MEETING_ID}/", json={"title": "x"}), 404,
           NOT_FOUND)


# --------------------------------------------------------------------------------------------
# Full update


def test_put_by_owner(owner):
    m = owner.create_meeting(description="old")
    r = owner.put(f"/api/meetings/{m['id']}/", json={
        "title": "Replaced", "description": "new", "type_of": "private", "status": "ended",
        "scheduled_date": "2032-02-02T02:02:02+02:00"})
    expected = dict(m, title="Replaced", description="new", type_of="private", status="ended",
                    scheduled_date="2032-02-02T00:02:02Z")
    expect(r, 200, expected)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, expected)


def test_put_missing_a_field(owner):
    m = owner.create_meeting()
    expect(owner.put(f"/api/meetings/{m['id']}/", json={"title": "only"}), 400,
           {"scheduled_date": REQUIRED})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_put_empty(owner):
    m = owner.create_meeting()
    expect(owner.put(f"/api/meetings/{m['id']}/", json={}), 400,
           {"title": REQUIRED, "scheduled_date": REQUIRED})


def test_put_ignores_read_only_fields(owner, other):
    m = owner.create_meeting()
    r = owner.put(f"/api/meetings/{m['id']}/", json={
        "title": m["title"], "scheduled_date": m["scheduled_date"], "user": other.user_id,
        "room_id": "4cf69247-6576-404b-96b4-fcff6a814930"})
    got = body(r, 200)
    assert got["user"] == owner.user_id and got["room_id"] == m["room_id"]


def test_put_by_another_user_is_forbidden(owner, other):
    m = owner.create_meeting()
    expect(other.put(f"/api/meetings/{m['id']}/", json={"title": "x", "scheduled_date": FUTURE}),
           403, NO_PERMISSION)


def test_put_by_admin(owner, admin):
    m = owner.create_meeting()
    r = admin.put(f"/api/meetings/{m['id']}/", json={"title": "by admin",
                                                     "scheduled_date": "2033-01-01T00:00:00Z"})
    got = body(r, 200)
    assert got["title"] == "by admin" and got["user"] == owner.user_id
    assert got["scheduled_date"] == "2033-01-01T00:00:00Z"


def test_put_unknown_meeting(owner):
    expect(owner.put(f"/api/meetings/{MISSING_MEETING_ID}/",
                     json={"title": "x", "scheduled_date": FUTURE}), 404, NOT_FOUND)


# --------------------------------------------------------------------------------------------
# Delete


def test_delete_by_owner(owner):
    m = owner.create_meeting()
    r = owner.delete(f"/api/meetings/{m['id']}/")
    assert r.status_code == 204, r.text
    assert r.content == b""
    ids = [x["id"] for x in body(owner.get("/api/meetings/"), 200)]
    assert m["id"] not in ids


def test_delete_twice(owner):
    m = owner.create_meeting()
    assert owner.delete(f"/api/meetings/{m['id']}/").status_code == 204
    expect(owner.delete(f"/api/meetings/{m['id']}/"), 404, NOT_FOUND)


def test_delete_by_another_user_is_forbidden(owner, other):
    m = owner.create_meeting()
    expect(other.delete(f"/api/meetings/{m['id']}/"), 403, NO_PERMISSION)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_delete_by_admin(owner, admin):
    m = owner.create_meeting()
    r = admin.delete(f"/api/meetings/{m['id']}/")
    assert r.status_code == 204 and r.content == b""
    expect(owner.get(f"/api/meetings/{m['id']}/"), 404, NOT_FOUND)


def test_delete_cascades_to_messages_recordings_and_states(owner, other):
    m = owner.create_meeting()
    owner.post_message(m["id"], "hello")
    owner.post_recording(m["id"], "https://cdn.example.com/r.mp4")
    assert other.post(f"/api/meetings/{m['id']}/mute-audio/").status_code == 200
    assert owner.delete(f"/api/meetings/{m['id']}/").status_code == 204
    expect(owner.get(f"/api/meetings/{m['id']}/messages/"), 404, NOT_FOUND)
    expect(owner.get(f"/api/meetings/{m['id']}/recordings/"), 404, NOT_FOUND)
    expect(owner.get(f"/api/meetings/{m['id']}/participants/"), 404, NOT_FOUND)
    expect(owner.get(f"/api/join/{m['room_id']}/"), 404, {"error": "Meeting not found"})


def test_delete_unknown_meeting(owner):
    expect(owner.delete(f"/api/meetings/{MISSING_MEETING_ID}/"), 404, NOT_FOUND)


# --------------------------------------------------------------------------------------------
# set-status


def test_set_status_ended_then_active(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"}), 200,
           {"message": "Status set to ended"})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, dict(m, status="ended"))
    expect(owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "active"}), 200,
           {"message": "Status set to active"})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, dict(m, status="active"))


def test_set_status_form_encoded(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/set-status/", data={"status": "ended"}), 200,
           {"message": "Status set to ended"})


@pytest.mark.parametrize("payload", [{"status": "paused"}, {}, {"status": ""},
                                     {"status": None}, {"status": 3}, {"status": ["ended"]},
                                     {"status": "ENDED"}, {"state": "ended"}],
                         ids=["paused", "missing", "empty", "null", "number", "list",
                              "uppercase", "wrong-key"])
def test_set_status_invalid(owner, payload):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/set-status/", json=payload), 400,
           {"error": "Invalid status"})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_set_status_without_a_body(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/set-status/"), 400, {"error": "Invalid status"})


def test_set_status_by_another_user_is_forbidden(owner, other):
    m = owner.create_meeting()
    expect(other.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"}), 403,
           NO_PERMISSION)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_set_status_by_admin(owner, admin):
    m = owner.create_meeting()
    expect(admin.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"}), 200,
           {"message": "Status set to ended"})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, dict(m, status="ended"))


def test_set_status_unknown_meeting(owner):
    expect(owner.post(f"/api/meetings/{MISSING_MEETING_ID}/set-status/",
                      json={"status": "ended"}), 404, NOT_FOUND)


def test_set_status_only_accepts_post(owner):
    m = owner.create_meeting()
    expect(owner.get(f"/api/meetings/{m['id']}/set-status/"), 405, method_not_allowed("GET"))


# --------------------------------------------------------------------------------------------
# upcoming / previous


def _dated(c, *dates):
    return {d: c.create_meeting(title=f"at {d}", scheduled_date=d) for d in dates}


def test_upcoming_is_own_future_meetings_soonest_first(fresh_client):
    c = fresh_client()
    made = _dated(c, "2040-01-01T00:00:00Z", "2001-01-01T00:00:00Z", "2031-06-01T00:00:00Z",
                  "2035-01-01T00:00:00Z", "2010-01-01T00:00:00Z")
    got = body(c.get("/api/meetings/upcoming/"), 200)
    assert got == [made["2031-06-01T00:00:00Z"], made["2035-01-01T00:00:00Z"],
                   made["2040-01-01T00:00:00Z"]]


def test_previous_is_own_past_meetings_latest_first(fresh_client):
    c = fresh_client()
    made = _dated(c, "2001-01-01T00:00:00Z", "2040-01-01T00:00:00Z", "2020-01-01T00:00:00Z",
                  "2010-01-01T00:00:00Z")
    got = body(c.get("/api/meetings/previous/"), 200)
    assert got == [made["2020-01-01T00:00:00Z"], made["2010-01-01T00:00:00Z"],
                   made["2001-01-01T00:00:00Z"]]


def test_upcoming_and_previous_split_at_now(fresh_client):
    c = fresh_client()
    now = dt.datetime.now(dt.timezone.utc)
    soon = (now + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    just_gone = (now - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    a = c.create_meeting(scheduled_date=soon)
    b = c.create_meeting(scheduled_date=just_gone)
    assert body(c.get("/api/meetings/upcoming/"), 200) == [a]
    assert body(c.get("/api/meetings/previous/"), 200) == [b]


def test_upcoming_and_previous_exclude_other_users(owner, other):
    future = other.create_meeting(scheduled_date="2039-01-01T00:00:00Z")
    past = other.create_meeting(scheduled_date="2002-01-01T00:00:00Z")
    up = [m["id"] for m in body(owner.get("/api/meetings/upcoming/"), 200)]
    prev = [m["id"] for m in body(owner.get("/api/meetings/previous/"), 200)]
    assert future["id"] not in up and past["id"] not in prev


def test_admin_upcoming_and_previous_include_everyone(owner, other, admin):
    future = owner.create_meeting(scheduled_date="2039-01-01T00:00:00Z")
    past = other.create_meeting(scheduled_date="2002-01-01T00:00:00Z")
    up = body(admin.get("/api/meetings/upcoming/"), 200)
    prev = body(admin.get("/api/meetings/previous/"), 200)
    assert future in up and past in prev
    assert past["id"] not in [m["id"] for m in up]
    assert future["id"] not in [m["id"] for m in prev]
    up_dates = [parse_dt(m["scheduled_date"]) for m in up]
    prev_dates = [parse_dt(m["scheduled_date"]) for m in prev]
    assert up_dates == sorted(up_dates)
    assert prev_dates == sorted(prev_dates, reverse=True)


def test_upcoming_pagination(fresh_client):
    c = fresh_client()
    made = _dated(c, "2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z", "2033-01-01T00:00:00Z")
    page = body(c.get("/api/meetings/upcoming/?limit=2&offset=1"), 200)
    assert_keys(page, PAGE_KEYS)
    assert page["count"] == 3
    assert page["results"] == [made["2032-01-01T00:00:00Z"], made["2033-01-01T00:00:00Z"]]
    assert page["next"] is None and page["previous"] is not None


def test_previous_pagination(fresh_client):
    c = fresh_client()
    made = _dated(c, "2001-01-01T00:00:00Z", "2002-01-01T00:00:00Z")
    page = body(c.get("/api/meetings/previous/?limit=1"), 200)
    assert page["count"] == 2 and page["results"] == [made["2002-01-01T00:00:00Z"]]


# --------------------------------------------------------------------------------------------
# Collection-level method checks


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_meeting_collection_methods_not_allowed(owner, method):
    expect(owner.request(method, "/api/meetings/", json={}), 405, method_not_allowed(method))


def test_post_on_a_meeting_is_not_allowed(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/", json={}), 405, method_not_allowed("POST"))


@pytest.mark.parametrize("path", ["/api/meetings/upcoming/", "/api/meetings/previous/"])
def test_upcoming_previous_are_read_only(owner, path):
    expect(owner.post(path, json={}), 405, method_not_allowed("POST"))


def test_meeting_routes_need_credentials(anon, owner):
    m = owner.create_meeting()
    for method, path in [("GET", "/api/meetings/"), ("POST", "/api/meetings/"),
                         ("GET", f"/api/meetings/{m['id']}/"),
                         ("PUT", f"/api/meetings/{m['id']}/"),
                         ("PATCH", f"/api/meetings/{m['id']}/"),
                         ("DELETE", f"/api/meetings/{m['id']}/"),
                         ("POST", f"/api/meetings/{m['id']}/set-status/"),
                         ("GET", "/api/meetings/upcoming/"),
                         ("GET", "/api/meetings/previous/")]:
        expect(anon.request(method, path, json={"status": "ended", "title": "x",
                                                "scheduled_date": FUTURE}), 403, NOT_PROVIDED)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)
