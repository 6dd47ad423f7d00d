"""Authentication: session login/logout with CSRF, HTTP Basic, and credential changes."""

import base64
import os
import sqlite3

import pytest

from castera_helpers import (
    FUTURE, INVALID_CREDENTIALS, LOGIN_FAILED, ME_KEYS, NOT_PROVIDED, REQUIRED, Client,
    SessionClient, assert_error_detail, assert_keys, body, expect, find_cookie,
    method_not_allowed,
)

BASIC_HEADER_ERRORS = {
    "Invalid basic header. No credentials provided.",
    "Invalid basic header. Credentials string should not contain spaces.",
    "Invalid basic header. Credentials not correctly base64 encoded.",
    "Invalid username/password.",
}


def login(server, key):
    u = server.users[key]
    c = SessionClient(server.base_url)
    r = c.login(u.email, u.password)
    body(r, 200)
    return c


# --------------------------------------------------------------------------------------------
# /api/auth/me/


def test_me_with_basic(owner, users):
    me = body(owner.get("/api/auth/me/"), 200)
    assert_keys(me, ME_KEYS)
    assert isinstance(me["id"], int)
    assert me == {"id": me["id"], "email": users["owner"].email, "full_name": None,
                  "image": None, "role": "user", "is_staff": False, "is_superuser": False}


def test_me_of_admin(admin, users):
    me = body(admin.get("/api/auth/me/"), 200)
    assert_keys(me, ME_KEYS)
    assert me == {"id": me["id"], "email": users["admin"].email, "full_name": "Ada Admin",
                  "image": None, "role": "admin", "is_staff": False, "is_superuser": False}


def test_me_of_staff_superuser(staff, users):
    me = body(staff.get("/api/auth/me/"), 200)
    assert me == {"id": me["id"], "email": users["staff"].email, "full_name": "Sam Staff",
                  "image": None, "role": "user", "is_staff": True, "is_superuser": True}


def test_users_have_distinct_ids(owner, other, admin, staff):
    assert len({owner.user_id, other.user_id, admin.user_id, staff.user_id}) == 4


def test_me_without_credentials(anon):
    expect(anon.get("/api/auth/me/"), 403, NOT_PROVIDED)


# --------------------------------------------------------------------------------------------
# Login


def test_login_json_returns_me_and_sets_cookies(server, owner):
    u = server.users["owner"]
    c = SessionClient(server.base_url)
    r = c.login(u.email, u.password)
    got = body(r, 200)
    assert_keys(got, ME_KEYS)
    assert got == owner.me()

    sid, sid_attrs = find_cookie(r, "sessionid")
    assert sid
    assert sid_attrs.get("httponly") is True, sid_attrs
    assert str(sid_attrs.get("samesite", "")).lower() == "lax", sid_attrs
    assert sid_attrs.get("path") == "/", sid_attrs
    assert "secure" not in sid_attrs, "DJANGO_DEBUG=True over plain http: no Secure flag"

    token, csrf_attrs = find_cookie(r, "csrftoken")
    assert token
    assert "httponly" not in csrf_attrs, csrf_attrs
    assert str(csrf_attrs.get("samesite", "")).lower() == "lax", csrf_attrs

    expect(c.get("/api/auth/me/"), 200, got)


def test_login_form_encoded(server, owner):
    u = server.users["owner"]
    c = SessionClient(server.base_url)
    r = c.login(u.email, u.password, data={"email": u.email, "password": u.password})
    expect(r, 200, owner.me())
    expect(c.get("/api/auth/me/"), 200, owner.me())


def test_login_multipart(server, owner):
    u = server.users["owner"]
    c = SessionClient(server.base_url)
    r = c.login(u.email, u.password,
                files={"email": (None, u.email), "password": (None, u.password)})
    expect(r, 200, owner.me())


def test_login_of_admin_returns_admin(server, admin):
    c = login(server, "admin")
    expect(c.get("/api/auth/me/"), 200, admin.me())


def test_login_wrong_password(server):
    c = SessionClient(server.base_url)
    r = c.login(server.users["other"].email, "definitely-wrong")
    expect(r, 400, LOGIN_FAILED)
    assert c.sessionid is None
    expect(c.get("/api/auth/me/"), 403, NOT_PROVIDED)


def test_login_unknown_email(server):
    c = SessionClient(server.base_url)
    expect(c.login("nobody-here@example.com", "whatever"), 400, LOGIN_FAILED)


@pytest.mark.parametrize("payload,errors", [
    ({}, {"email": REQUIRED, "password": REQUIRED}),
    ({"email": "user@example.com"}, {"password": REQUIRED}),
    ({"password": "x"}, {"email": REQUIRED}),
], ids=["nothing", "no-password", "no-email"])
def test_login_missing_fields(server, payload, errors):
    c = SessionClient(server.base_url)
    expect(c.login(None, None, json=payload), 400, errors)


def test_login_with_non_object_body(server):
    c = SessionClient(server.base_url)
    expect(c.login(None, None, json=["user@example.com", "x"]), 400,
           {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})


def test_login_with_malformed_json(server):
    c = SessionClient(server.base_url)
    r = c.login(None, None, data=b'{"email":', headers={"Content-Type": "application/json"})
    assert_error_detail(r, 400, "JSON parse error - ")


def test_login_only_accepts_post(anon):
    expect(anon.get("/api/auth/login/"), 405, method_not_allowed("GET"))


def test_login_needs_no_csrf_even_with_a_session(server, owner):
    c = login(server, "owner")
    u = server.users["owner"]
    # Post the login again without the X-CSRFToken header while the session cookie is set.
    r = c.request("POST", "/api/auth/login/", csrf=False,
                  json={"email": u.email, "password": u.password})
    expect(r, 200, owner.me())


def test_login_as_other_user_switches_identity(server, other):
    c = login(server, "owner")
    u = server.users["other"]
    expect(c.request("POST", "/api/auth/login/", csrf=False,
                     json={"email": u.email, "password": u.password}), 200, other.me())
    expect(c.get("/api/auth/me/"), 200, other.me())


def test_each_login_gets_a_new_session(server):
    a = login(server, "owner")
    b = login(server, "owner")
    assert a.sessionid and b.sessionid and a.sessionid != b.sessionid


# --------------------------------------------------------------------------------------------
# Session + CSRF


def test_session_reads_without_csrf(server, owner):
    c = login(server, "owner")
    m = owner.create_meeting()
    expect(c.get(f"/api/meetings/{m['id']}/"), 200, m)
    assert m["id"] in [x["id"] for x in body(c.get("/api/meetings/"), 200)]


def test_session_write_with_csrf_token(server, owner):
    c = login(server, "owner")
    r = c.post("/api/meetings/", json={"title": "via session", "scheduled_date": FUTURE},
               headers={"X-CSRFToken": c.http.cookies["csrftoken"]})
    m = body(r, 201)
    assert m["user"] == owner.user_id and m["title"] == "via session"
    r = c.patch(f"/api/meetings/{m['id']}/", json={"title": "patched"})
    assert body(r, 200)["title"] == "patched"
    r = c.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"})
    expect(r, 200, {"message": "Status set to ended"})
    r = c.delete(f"/api/meetings/{m['id']}/")
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_session_write_without_csrf_token(server, owner, method):
    c = login(server, "owner")
    m = owner.create_meeting()
    path = "/api/meetings/" if method == "POST" else f"/api/meetings/{m['id']}/"
    r = c.request(method, path, csrf=False, json={"title": "x", "scheduled_date": FUTURE})
    assert_error_detail(r, 403, "CSRF Failed:")
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_session_write_with_wrong_csrf_token(server, owner):
    c = login(server, "owner")
    before = len(body(owner.get("/api/meetings/"), 200))
    r = c.request("POST", "/api/meetings/", csrf=False,
                  headers={"X-CSRFToken": "x" * 32},
                  json={"title": "x", "scheduled_date": FUTURE})
    assert_error_detail(r, 403, "CSRF Failed:")
    assert len(body(owner.get("/api/meetings/"), 200)) == before


def test_csrf_token_of_another_session_is_not_enough(server):
    a = login(server, "owner")
    b = login(server, "owner")
    # a's cookie jar, b's token in the header: the header must equal a's own csrftoken cookie.
    if a.http.cookies["csrftoken"] == b.http.cookies["csrftoken"]:
        pytest.skip("both sessions got the same csrftoken")
    r = a.request("POST", "/api/meetings/", csrf=False,
                  headers={"X-CSRFToken": b.http.cookies["csrftoken"]},
                  json={"title": "x", "scheduled_date": FUTURE})
    assert_error_detail(r, 403, "CSRF Failed:")


def test_session_participant_action_needs_csrf(server, owner):
    c = login(server, "owner")
    m = owner.create_meeting()
    assert_error_detail(c.request("POST", f"/api/meetings/{m['id']}/mute-audio/", csrf=False),
                        403, "CSRF Failed:")
    expect(c.post(f"/api/meetings/{m['id']}/mute-audio/"), 200, {"message": "Audio muted"})


def test_basic_auth_needs_no_csrf_even_with_csrf_cookie(owner):
    r = owner.post("/api/meetings/", json={"title": "basic", "scheduled_date": FUTURE},
                   headers={"Cookie": "csrftoken=" + "a" * 32})
    assert body(r, 201)["user"] == owner.user_id


def test_garbage_session_cookie_is_anonymous(base_url):
    c = Client(base_url)
    expect(c.get("/api/auth/me/", headers={"Cookie": "sessionid=garbage"}), 403, NOT_PROVIDED)


def test_garbage_session_cookie_falls_through_to_basic(base_url, server, owner):
    u = server.users["owner"]
    c = Client(base_url, u.email, u.password)
    expect(c.get("/api/auth/me/", headers={"Cookie": "sessionid=garbage"}), 200, owner.me())


# --------------------------------------------------------------------------------------------
# Logout


def test_logout_needs_csrf(server, owner):
    c = login(server, "owner")
    assert_error_detail(c.request("POST", "/api/auth/logout/", csrf=False), 403, "CSRF Failed:")
    expect(c.get("/api/auth/me/"), 200, owner.me())


def test_logout_ends_the_session(server, base_url):
    c = login(server, "owner")
    old = c.sessionid
    expect(c.post("/api/auth/logout/"), 200, {"detail": "Successfully logged out."})
    expect(c.get("/api/auth/me/"), 403, NOT_PROVIDED)
    replay = Client(base_url)
    expect(replay.get("/api/auth/me/", headers={"Cookie": f"sessionid={old}"}), 403,
           NOT_PROVIDED)
    expect(replay.get("/api/meetings/", headers={"Cookie": f"sessionid={old}"}), 403,
           NOT_PROVIDED)


def test_logout_leaves_other_sessions(server, owner):
    a = login(server, "owner")
    b = login(server, "owner")
    expect(a.post("/api/auth/logout/"), 200, {"detail": "Successfully logged out."})
    expect(b.get("/api/auth/me/"), 200, owner.me())


def test_login_again_after_logout(server, owner):
    c = login(server, "owner")
    c.post("/api/auth/logout/")
    u = server.users["owner"]
    expect(c.login(u.email, u.password), 200, owner.me())
    expect(c.get("/api/auth/me/"), 200, owner.me())


# --------------------------------------------------------------------------------------------
# HTTP Basic


def test_basic_wrong_password(base_url, users):
    c = Client(base_url, users["owner"].email, users["owner"].password + "x")
    expect(c.get("/api/meetings/"), 403, INVALID_CREDENTIALS)


def test_basic_unknown_email(base_url):
    c = Client(base_url, "ghost@example.com", "whatever")
    expect(c.get("/api/meetings/"), 403, INVALID_CREDENTIALS)


def test_basic_wrong_password_after_success_is_still_refused(base_url, users):
    u = users["other"]
    body(Client(base_url, u.email, u.password).get("/api/auth/me/"), 200)
    expect(Client(base_url, u.email, u.password[:-1]).get("/api/auth/me/"), 403,
           INVALID_CREDENTIALS)
    expect(Client(base_url, u.email, "").get("/api/auth/me/"), 403, INVALID_CREDENTIALS)


@pytest.mark.parametrize("header", [
    "Basic",
    "Basic ",
    "Basic !!!",
    "Basic abc",
    "Basic a b",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Basic " + base64.b64encode(b":").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
], ids=["bare", "bare-space", "bangs", "bad-padding", "spaces", "no-colon", "only-colon",
        "not-utf8"])
def test_malformed_basic_header(base_url, header):
    r = Client(base_url, authorization=header).get("/api/meetings/")
    got = assert_error_detail(r, 403)
    assert got["detail"] in BASIC_HEADER_ERRORS, got


@pytest.mark.parametrize("header", ["Bearer abc.def.ghi", "Bearer", "Token nonsense",
                                    "Bearer " + "a" * 5000])
def test_bad_token_is_refused_not_anonymous(base_url, header):
    r = Client(base_url, authorization=header).get("/api/meetings/")
    assert_error_detail(r, 403)


def test_unknown_scheme_is_refused(base_url):
    r = Client(base_url, authorization="Digest username=x").get("/api/meetings/")
    assert_error_detail(r, 403)


def test_basic_password_with_colon_and_unicode(base_url, make_user):
    u = make_user(password="pa:ss:wörd 🎉 x")
    c = Client(base_url, u.email, u.password)
    assert body(c.get("/api/auth/me/"), 200)["email"] == u.email
    expect(Client(base_url, u.email, "pa").get("/api/auth/me/"), 403, INVALID_CREDENTIALS)


def test_session_login_with_unicode_password(base_url, make_user):
    u = make_user(password="ünï:cødé ✓")
    c = SessionClient(base_url)
    assert body(c.login(u.email, u.password), 200)["email"] == u.email


def test_new_user_from_cli(base_url, make_user):
    u = make_user(full_name="Dana Scully")
    c = Client(base_url, u.email, u.password)
    me = body(c.get("/api/auth/me/"), 200)
    assert me == {"id": me["id"], "email": u.email, "full_name": "Dana Scully", "image": None,
                  "role": "user", "is_staff": False, "is_superuser": False}


def test_new_admin_from_cli(base_url, make_user):
    u = make_user(role="admin")
    me = body(Client(base_url, u.email, u.password).get("/api/auth/me/"), 200)
    assert me["role"] == "admin" and me["full_name"] is None


# --------------------------------------------------------------------------------------------
# Password changes (guards the credential cache)


@pytest.mark.cli
def test_changepassword_takes_effect_immediately_for_basic(server, base_url, make_user):
    u = make_user()
    old = Client(base_url, u.email, u.password)
    me = body(old.get("/api/auth/me/"), 200)
    body(old.get("/api/meetings/"), 200)  # warm any credential cache
    new_password = "new-" + u.password
    res = server.cli("changepassword", "--email", u.email, "--password-stdin",
                     input=new_password + "\n")
    assert res.returncode == 0, res.stderr
    expect(Client(base_url, u.email, u.password).get("/api/auth/me/"), 403, INVALID_CREDENTIALS)
    expect(old.get("/api/meetings/"), 403, INVALID_CREDENTIALS)
    expect(Client(base_url, u.email, new_password).get("/api/auth/me/"), 200, me)


@pytest.mark.cli
def test_changepassword_takes_effect_for_login(server, base_url, make_user):
    u = make_user()
    new_password = "changed-" + u.password
    res = server.cli("changepassword", "--email", u.email, "--password-stdin",
                     input=new_password + "\n")
    assert res.returncode == 0, res.stderr
    expect(SessionClient(base_url).login(u.email, u.password), 400, LOGIN_FAILED)
    assert body(SessionClient(base_url).login(u.email, new_password), 200)["email"] == u.email


@pytest.mark.cli
def test_changepassword_ends_existing_sessions(server, base_url, make_user):
    u = make_user()
    c = SessionClient(base_url)
    body(c.login(u.email, u.password), 200)
    body(c.get("/api/auth/me/"), 200)
    res = server.cli("changepassword", "--email", u.email, "--password-stdin",
                     input="another-" + u.password + "\n")
    assert res.returncode == 0, res.stderr
    expect(c.get("/api/auth/me/"), 403, NOT_PROVIDED)


# --------------------------------------------------------------------------------------------
# Inactive users (made inactive directly in the SQLite database: there is no CLI flag)


@pytest.fixture
def inactive_user(server, make_user):
    if not server.db_path or not os.path.exists(server.db_path):
        pytest.skip("needs direct access to the SQLite test database")
    u = make_user()
    con = sqlite3.connect(server.db_path, timeout=10)
    try:
        cur = con.execute("UPDATE users_user SET is_active = 0 WHERE email = ?", (u.email,))
        con.commit()
    except sqlite3.Error as e:
        pytest.skip(f"cannot mark the user inactive in the database: {e}")
    finally:
        con.close()
    if cur.rowcount != 1:
        pytest.skip("user row not found in users_user")
    return u


def test_inactive_user_basic_refused(base_url, inactive_user):
    r = Client(base_url, inactive_user.email, inactive_user.password).get("/api/auth/me/")
    got = assert_error_detail(r, 403)
    assert got["detail"] in ("User inactive or deleted.", "Invalid username/password."), got


def test_inactive_user_cannot_log_in(base_url, inactive_user):
    c = SessionClient(base_url)
    expect(c.login(inactive_user.email, inactive_user.password), 400, LOGIN_FAILED)
    expect(c.get("/api/auth/me/"), 403, NOT_PROVIDED)


def test_session_ends_at_once_when_the_user_is_deactivated_elsewhere(server, base_url, make_user):
    """A signed-in user made inactive by another process (an admin's SQL, Django's admin) is
    refused on the very next request, however often the session was used just before."""
    if not server.db_path or not os.path.exists(server.db_path):
        pytest.skip("needs direct access to the SQLite test database")
    u = make_user()
    c = SessionClient(base_url)
    body(c.login(u.email, u.password), 200)
    for _ in range(5):
        body(c.get("/api/auth/me/"), 200)
    con = sqlite3.connect(server.db_path, timeout=10)
    try:
        con.execute("UPDATE users_user SET is_active = 0 WHERE email = ?", (u.email,))
        con.commit()
    finally:
        con.close()
    expect(c.get("/api/auth/me/"), 403, NOT_PROVIDED)
