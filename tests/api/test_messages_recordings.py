"""Messages and recordings of a meeting."""

import pytest

from castera_helpers import (
    MESSAGE_KEYS, MISSING_MEETING_ID, NO_PERMISSION, NOT_ALLOWED_MESSAGES, NOT_FOUND,
    NOT_PROVIDED, PAGE_KEYS, RECORDING_KEYS, REQUIRED, assert_keys, assert_recent, body, expect,
    method_not_allowed, parse_dt, unique,
)


# --------------------------------------------------------------------------------------------
# Messages


def test_post_message(owner):
    m = owner.create_meeting()
    r = owner.post(f"/api/meetings/{m['id']}/messages/",
                   json={"content": "Hello everyone", "meeting": m["id"]})
    msg = body(r, 201)
    assert_keys(msg, MESSAGE_KEYS)
    assert isinstance(msg["id"], int)
    assert msg["meeting"] == m["id"]
    assert msg["user"] == owner.user_id
    assert msg["user_email"] == owner.email
    assert msg["content"] == "Hello everyone"
    assert_recent(msg["timestamp"])


def test_post_message_without_meeting_in_body(owner):
    m = owner.create_meeting()
    msg = body(owner.post(f"/api/meetings/{m['id']}/messages/", json={"content": "hi"}), 201)
    assert msg["meeting"] == m["id"]


@pytest.mark.parametrize("given", ["other-meeting", MISSING_MEETING_ID, "garbage", None])
def test_meeting_in_body_is_ignored(owner, given):
    m = owner.create_meeting()
    if given == "other-meeting":
        given = owner.create_meeting()["id"]
    msg = body(owner.post(f"/api/meetings/{m['id']}/messages/",
                          json={"content": "routed by path", "meeting": given}), 201)
    assert msg["meeting"] == m["id"]
    contents = [x["content"] for x in body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)]
    assert contents == ["routed by path"]


def test_post_message_form_encoded(owner):
    m = owner.create_meeting()
    msg = body(owner.post(f"/api/meetings/{m['id']}/messages/",
                          data={"content": "form hello", "meeting": str(m["id"])}), 201)
    assert msg["content"] == "form hello" and msg["meeting"] == m["id"]


def test_post_message_multipart(owner):
    m = owner.create_meeting()
    msg = body(owner.post(f"/api/meetings/{m['id']}/messages/",
                          files={"content": (None, "multipart hello")}), 201)
    assert msg["content"] == "multipart hello"


def test_message_ignores_author_fields(owner, other):
    m = owner.create_meeting()
    msg = body(owner.post(f"/api/meetings/{m['id']}/messages/", json={
        "content": "me", "user": other.user_id, "user_email": other.email, "id": 1,
        "timestamp": "2000-01-01T00:00:00Z"}), 201)
    assert msg["user"] == owner.user_id and msg["user_email"] == owner.email
    assert_recent(msg["timestamp"])


def test_post_message_without_content(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/messages/", json={"meeting": m["id"]}), 400,
           {"content": REQUIRED})


@pytest.mark.parametrize("content", ["", "   "], ids=["empty", "whitespace"])
def test_post_blank_message(owner, content):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/messages/", json={"content": content}), 400,
           {"content": ["This field may not be blank."]})
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == []


def test_post_null_message(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/messages/", json={"content": None}), 400,
           {"content": ["This field may not be null."]})


def test_post_message_of_wrong_type(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/messages/", json={"content": {"x": 1}}), 400,
           {"content": ["Not a valid string."]})


def test_message_content_round_trips_exactly(owner):
    m = owner.create_meeting()
    text = "line one\nline two\t<b>&amp;</b> \"q\" \\ é 会 🎉 \u0001"
    msg = owner.post_message(m["id"], text)
    assert msg["content"] == text
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)[0]["content"] == text


def test_long_message_is_accepted(owner):
    m = owner.create_meeting()
    text = "z" * 100_000
    assert owner.post_message(m["id"], text)["content"] == text


def test_list_messages_oldest_first(owner):
    m = owner.create_meeting()
    made = [owner.post_message(m["id"], f"msg {i}") for i in range(4)]
    got = body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)
    assert got == made
    stamps = [parse_dt(x["timestamp"]) for x in got]
    assert stamps == sorted(stamps)


def test_list_messages_of_a_new_meeting_is_empty(owner):
    m = owner.create_meeting()
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == []


def test_messages_are_per_meeting(owner):
    a = owner.create_meeting()
    b = owner.create_meeting()
    ma = owner.post_message(a["id"], "in a")
    mb = owner.post_message(b["id"], "in b")
    assert body(owner.get(f"/api/meetings/{a['id']}/messages/"), 200) == [ma]
    assert body(owner.get(f"/api/meetings/{b['id']}/messages/"), 200) == [mb]


def test_messages_pagination(owner, base_url):
    m = owner.create_meeting()
    made = [owner.post_message(m["id"], f"p{i}") for i in range(3)]
    page = body(owner.get(f"/api/meetings/{m['id']}/messages/?limit=2&offset=0"), 200)
    assert_keys(page, PAGE_KEYS)
    assert page["count"] == 3 and page["results"] == made[:2] and page["previous"] is None
    assert page["next"].startswith(base_url + f"/api/meetings/{m['id']}/messages/?")
    page2 = body(owner.get(page["next"]), 200)
    assert page2["results"] == made[2:] and page2["next"] is None


def test_other_user_may_not_read_messages(owner, other):
    m = owner.create_meeting()
    owner.post_message(m["id"], "secret")
    expect(other.get(f"/api/meetings/{m['id']}/messages/"), 403, NOT_ALLOWED_MESSAGES)


def test_other_user_may_not_post_messages(owner, other):
    m = owner.create_meeting()
    expect(other.post(f"/api/meetings/{m['id']}/messages/", json={"content": "intrude"}), 403,
           NO_PERMISSION)
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == []


def test_admin_reads_and_posts_messages_of_others(owner, admin):
    m = owner.create_meeting()
    mine = owner.post_message(m["id"], "from owner")
    r = admin.post(f"/api/meetings/{m['id']}/messages/", json={"content": "from admin"})
    theirs = body(r, 201)
    assert theirs["user"] == admin.user_id and theirs["user_email"] == admin.email
    assert body(admin.get(f"/api/meetings/{m['id']}/messages/"), 200) == [mine, theirs]
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == [mine, theirs]


def test_messages_of_unknown_meeting(owner):
    expect(owner.get(f"/api/meetings/{MISSING_MEETING_ID}/messages/"), 404, NOT_FOUND)
    expect(owner.post(f"/api/meetings/{MISSING_MEETING_ID}/messages/", json={"content": "x"}),
           404, NOT_FOUND)


def test_messages_of_non_numeric_meeting(owner):
    expect(owner.get("/api/meetings/abc/messages/"), 404, NOT_FOUND)


def test_messages_need_credentials(anon, owner):
    m = owner.create_meeting()
    expect(anon.get(f"/api/meetings/{m['id']}/messages/"), 403, NOT_PROVIDED)
    expect(anon.post(f"/api/meetings/{m['id']}/messages/", json={"content": "x"}), 403,
           NOT_PROVIDED)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_messages_methods_not_allowed(owner, method):
    m = owner.create_meeting()
    expect(owner.request(method, f"/api/meetings/{m['id']}/messages/", json={}), 405,
           method_not_allowed(method))


# --------------------------------------------------------------------------------------------
# Recordings


def test_post_recording(owner):
    m = owner.create_meeting()
    r = owner.post(f"/api/meetings/{m['id']}/recordings/",
                   json={"file_url": "https://cdn.example.com/rec/1.mp4", "meeting": m["id"]})
    rec = body(r, 201)
    assert_keys(rec, RECORDING_KEYS)
    assert isinstance(rec["id"], int)
    assert rec["meeting"] == m["id"]
    assert rec["uploaded_by"] == owner.user_id
    assert rec["uploaded_by_email"] == owner.email
    assert rec["file_url"] == "https://cdn.example.com/rec/1.mp4"
    assert_recent(rec["created_at"])


def test_post_recording_form_encoded(owner):
    m = owner.create_meeting()
    rec = body(owner.post(f"/api/meetings/{m['id']}/recordings/",
                          data={"file_url": "http://example.com/a.webm"}), 201)
    assert rec["file_url"] == "http://example.com/a.webm" and rec["meeting"] == m["id"]


def test_recording_meeting_in_body_is_ignored(owner):
    m = owner.create_meeting()
    elsewhere = owner.create_meeting()
    rec = body(owner.post(f"/api/meetings/{m['id']}/recordings/",
                          json={"file_url": "https://x.example.com/r.mp4",
                                "meeting": elsewhere["id"]}), 201)
    assert rec["meeting"] == m["id"]
    assert body(owner.get(f"/api/meetings/{elsewhere['id']}/recordings/"), 200) == []


@pytest.mark.parametrize("url", [
    "https://cdn.example.com/rec/1.mp4",
    "http://localhost:8080/x",
    "https://127.0.0.1/rec.mp4",
    "https://cdn.example.com/path/with%20space.mp4?sig=abc&x=1#t=10",
])
def test_valid_recording_urls(owner, url):
    m = owner.create_meeting()
    rec = body(owner.post(f"/api/meetings/{m['id']}/recordings/", json={"file_url": url}), 201)
    assert rec["file_url"] == url


@pytest.mark.parametrize("url", ["not-a-url", "javascript:alert(1)", "http://", "https://",
                                 "cdn.example.com/r.mp4", "http://exa mple.com/", "//x.com/a",
                                 "http://-bad-.com/"])
def test_invalid_recording_urls(owner, url):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/recordings/",
                      json={"file_url": url, "meeting": m["id"]}), 400,
           {"file_url": ["Enter a valid URL."]})
    assert body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200) == []


def test_recording_url_too_long(owner):
    m = owner.create_meeting()
    url = "https://cdn.example.com/" + "a" * 200
    got = body(owner.post(f"/api/meetings/{m['id']}/recordings/", json={"file_url": url}), 400)
    assert list(got) == ["file_url"]
    assert "Ensure this field has no more than 200 characters." in got["file_url"]


def test_recording_without_url(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/recordings/", json={"meeting": m["id"]}), 400,
           {"file_url": REQUIRED})


def test_recording_blank_url(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/meetings/{m['id']}/recordings/", json={"file_url": ""}), 400,
           {"file_url": ["This field may not be blank."]})


def test_list_recordings_newest_first(owner):
    m = owner.create_meeting()
    made = [owner.post_recording(m["id"], f"https://cdn.example.com/{i}.mp4") for i in range(3)]
    got = body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200)
    assert got == list(reversed(made))


def test_list_recordings_empty(owner):
    m = owner.create_meeting()
    assert body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200) == []


def test_recordings_pagination(owner):
    m = owner.create_meeting()
    made = [owner.post_recording(m["id"], f"https://cdn.example.com/{i}.mp4") for i in range(3)]
    page = body(owner.get(f"/api/meetings/{m['id']}/recordings/?limit=1&offset=1"), 200)
    assert_keys(page, PAGE_KEYS)
    assert page["count"] == 3 and page["results"] == [made[1]]
    assert page["next"] is not None and page["previous"] is not None


def test_other_user_may_not_read_or_add_recordings(owner, other):
    m = owner.create_meeting()
    owner.post_recording(m["id"], "https://cdn.example.com/x.mp4")
    expect(other.get(f"/api/meetings/{m['id']}/recordings/"), 403, NO_PERMISSION)
    expect(other.post(f"/api/meetings/{m['id']}/recordings/",
                      json={"file_url": "https://evil.example.com/y.mp4"}), 403, NO_PERMISSION)
    assert len(body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200)) == 1


def test_admin_reads_and_adds_recordings_of_others(owner, admin):
    m = owner.create_meeting()
    mine = owner.post_recording(m["id"], "https://cdn.example.com/o.mp4")
    theirs = body(admin.post(f"/api/meetings/{m['id']}/recordings/",
                             json={"file_url": "https://cdn.example.com/a.mp4"}), 201)
    assert theirs["uploaded_by"] == admin.user_id
    assert theirs["uploaded_by_email"] == admin.email
    assert body(admin.get(f"/api/meetings/{m['id']}/recordings/"), 200) == [theirs, mine]


def test_recordings_of_unknown_meeting(owner):
    expect(owner.get(f"/api/meetings/{MISSING_MEETING_ID}/recordings/"), 404, NOT_FOUND)
    expect(owner.post(f"/api/meetings/{MISSING_MEETING_ID}/recordings/",
                      json={"file_url": "https://cdn.example.com/x.mp4"}), 404, NOT_FOUND)


def test_recordings_need_credentials(anon, owner):
    m = owner.create_meeting()
    expect(anon.get(f"/api/meetings/{m['id']}/recordings/"), 403, NOT_PROVIDED)
    expect(anon.post(f"/api/meetings/{m['id']}/recordings/",
                     json={"file_url": "https://cdn.example.com/x.mp4"}), 403, NOT_PROVIDED)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_recordings_methods_not_allowed(owner, method):
    m = owner.create_meeting()
    expect(owner.request(method, f"/api/meetings/{m['id']}/recordings/", json={}), 405,
           method_not_allowed(method))


def test_unique_marker_does_not_leak_between_meetings(owner):
    a = owner.create_meeting()
    b = owner.create_meeting()
    marker = unique("rec")
    owner.post_recording(a["id"], f"https://cdn.example.com/{marker}.mp4")
    assert body(owner.get(f"/api/meetings/{b['id']}/recordings/"), 200) == []
