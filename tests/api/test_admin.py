"""The admin console at /admin/ (issue 21), driven page by page over HTTP: forms found by their
fields, the CSRF token read from the page, as a browser without JavaScript would."""

import os
import re
import sqlite3
import uuid

import pytest

from admin_helpers import Admin, Page, location_path, message_of
from castera_helpers import FUTURE, body, run, unique, ws_expect_close, ws_open

MODELS = ["users/user", "meetings/meeting", "meetings/message", "meetings/signal",
          "meetings/recording", "meetings/participantstate"]
INVALID_LOGIN = ("Please enter the correct email address and password for a staff account. "
                 "Note that both fields may be case-sensitive.")


@pytest.fixture(scope="module")
def ui(server):
    """The staff member's admin session, signed in once for the module."""
    staff = server.users["staff"]
    return Admin(server.base_url).logged_in(staff.email, staff.password)


@pytest.fixture
def anon_ui(server):
    return Admin(server.base_url)


def meeting_count(owner):
    return len(body(owner.get("/api/meetings/"), 200))


def change_url(model, ident):
    return f"/admin/{model}/{ident}/change/"


# ---------------------------------------------------------------------------------------------
# 1. URLs and redirects


@pytest.mark.parametrize("path", ["/admin/", "/admin/meetings/", "/admin/meetings/meeting/",
                                  "/admin/meetings/meeting/add/", "/admin/users/user/1/change/",
                                  "/admin/users/user/1/password/", "/admin/meetings/meeting/?q=x&o=1",
                                  "/admin/webhooks/", "/admin/webhooks/?status=failed"])
def test_anonymous_pages_redirect_to_login_with_next(anon_ui, path):
    resp = anon_ui.get(path)
    assert resp.status_code == 302, resp.text[:300]
    loc = location_path(resp)
    assert loc.startswith("/admin/login/?next="), loc
    # The next page is the one asked for, query included (percent-encoded).
    from urllib.parse import parse_qs, urlsplit
    assert parse_qs(urlsplit(loc).query)["next"] == [path]
    assert resp.headers["Content-Type"].startswith("text/html")


def test_after_login_the_user_lands_on_next(server, anon_ui):
    staff = server.users["staff"]
    resp = anon_ui.login(staff.email, staff.password, next_path="/admin/meetings/meeting/%3Fo%3D2")
    assert resp.status_code == 302
    assert location_path(resp) == "/admin/meetings/meeting/?o=2"


def test_next_never_leaves_the_site(server, anon_ui):
    staff = server.users["staff"]
    for bad in ["https://evil.example/", "//evil.example/x", "/\\evil.example"]:
        anon_ui.http.cookies.clear()
        resp = anon_ui.submit("/admin/login/", "username", "password", username=staff.email,
                              password=staff.password, next=bad)
        assert resp.status_code == 302
        assert location_path(resp) == "/admin/", (bad, resp.headers["Location"])


def test_index_links_every_model_with_add_and_change(ui):
    page = ui.page("/admin/")
    for model in MODELS:
        assert page.has_link(f"/admin/{model}/"), model
        assert page.has_link(f"/admin/{model}/add/"), model
    assert page.has_link("/admin/meetings/") and page.has_link("/admin/users/")


def test_the_index_lists_its_apps_in_alphabetical_order_webhooks_last(ui):
    page = ui.page("/admin/")
    headings = re.findall(r'<section class="module app"><h2><a href="([^"]+)">([^<]+)</a></h2>', page.html)
    assert headings == [("/admin/meetings/", "Meetings"), ("/admin/users/", "Users"),
                        ("/admin/webhooks/", "Webhooks")]
    webhooks = page.html[page.html.index('href="/admin/webhooks/">Webhooks'):]
    assert '<a href="/admin/webhooks/">Deliveries</a>' in webhooks.split("</section>")[0]


def test_the_deliveries_page_says_when_no_endpoint_is_configured(ui, anon_ui):
    # The suite's server has no CASTERA_WEBHOOK_URLS: the page works and says so.
    page = ui.page("/admin/webhooks/")
    assert page.h1 == "Webhook deliveries"
    assert "No webhook endpoint is configured: CASTERA_WEBHOOK_URLS is not set" in page.text
    for status in ("pending", "failed", "delivered"):
        assert ui.page(f"/admin/webhooks/?status={status}").status == 200
    assert ui.get("/admin/webhooks").status_code == 301
    assert ui.get("/admin/webhooks/1/").status_code == 404
    assert ui.get("/admin/webhooks/1/retry/").headers["Allow"] == "POST"
    resp = anon_ui.get("/admin/webhooks/")
    assert resp.status_code == 302 and location_path(resp) == "/admin/login/?next=/admin/webhooks/"


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_its_list_and_add_page(ui, model):
    assert ui.page(f"/admin/{model}/").status == 200
    assert ui.page(f"/admin/{model}/add/").status == 200


def test_django_url_shapes(ui, owner):
    m = owner.create_meeting()
    # Without the trailing slash: a redirect, as APPEND_SLASH.
    resp = ui.get("/admin/meetings/meeting")
    assert resp.status_code == 301 and location_path(resp) == "/admin/meetings/meeting/"
    # The object's bare URL goes to its change page, as Django's.
    resp = ui.get(f"/admin/meetings/meeting/{m['id']}/")
    assert resp.status_code == 302 and location_path(resp) == change_url("meetings/meeting", m["id"])
    for page in ("change", "delete", "history"):
        assert ui.page(f"/admin/meetings/meeting/{m['id']}/{page}/").status == 200


@pytest.mark.parametrize("path", ["/admin/nope/", "/admin/meetings/nope/", "/admin/users/meeting/",
                                  "/admin/meetings/meeting/1/nope/", "/admin/meetings/meeting/1/change/x/"])
def test_unknown_pages_are_404_html(ui, path):
    resp = ui.get(path)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("ident", ["987654321", "abc", "0", "-3"])
def test_an_unknown_object_goes_back_to_the_index_as_django(ui, ident):
    for page in ("change", "delete", "history"):
        resp = ui.get(f"/admin/meetings/meeting/{ident}/{page}/")
        assert resp.status_code in (302, 404), resp.status_code
        if resp.status_code == 302:
            assert location_path(resp) == "/admin/"
    resp = ui.get(f"/admin/meetings/meeting/{ident}/change/")
    assert resp.status_code == 302
    kind, text = message_of(ui.page("/admin/"))
    assert kind == "warning" and "doesn’t exist. Perhaps it was deleted?" in text


def test_wrong_methods_get_405(ui, owner):
    m = owner.create_meeting()
    assert ui.post(f"/admin/meetings/meeting/{m['id']}/history/", {}).status_code in (403, 405)
    resp = ui.get("/admin/logout/")
    assert resp.status_code == 405
    assert resp.headers["Content-Type"].startswith("text/html")


# ---------------------------------------------------------------------------------------------
# 2. Sign-in, sessions, CSRF


def test_login_form_is_djangos(anon_ui):
    page = anon_ui.page("/admin/login/")
    form = page.form("username", "password", "csrfmiddlewaretoken")
    assert form.method == "post"
    assert "csrftoken" in anon_ui.http.cookies


def test_wrong_password_and_non_staff_get_djangos_message(server, anon_ui, make_user):
    for email, password in [(server.users["staff"].email + ".nobody", "nope"),
                            (make_user().email, "wrong-password")]:
        resp = anon_ui.login(email, password)
        assert resp.status_code == 200
        assert INVALID_LOGIN in Page(resp).text
    user = make_user()
    resp = anon_ui.login(user.email, user.password)  # right password, not staff
    assert resp.status_code == 200 and INVALID_LOGIN in Page(resp).text
    assert "sessionid" not in anon_ui.http.cookies


def test_inactive_staff_cannot_sign_in(server, anon_ui, make_user, ui):
    user = make_user(staff=True)
    uid = user_id_by_email(ui, user.email)
    resp = ui.submit(change_url("users/user", uid), "email", is_active=None)
    assert resp.status_code == 302
    resp = anon_ui.login(user.email, user.password)
    assert resp.status_code == 200 and INVALID_LOGIN in Page(resp).text


def test_a_signed_in_non_staff_user_is_sent_to_login(server, session_client, make_user):
    user = make_user()
    assert session_client.login(user.email, user.password).status_code == 200
    admin = Admin(server.base_url)
    admin.http.cookies.update(session_client.http.cookies)
    resp = admin.get("/admin/")
    assert resp.status_code == 302 and location_path(resp).startswith("/admin/login/")
    page = admin.page("/admin/login/")
    assert "You are authenticated as " + user.email in page.text


def test_api_credentials_do_not_open_the_console(server, owner, staff):
    # Basic credentials (even a staff member's) are not a console session: login page, not JSON.
    resp = staff.get("/admin/")
    assert resp.status_code == 302 and location_path(resp).startswith("/admin/login/")
    assert resp.headers["Content-Type"].startswith("text/html")


def test_login_is_throttled_like_the_api(server, anon_ui, make_user):
    user = make_user(staff=True)
    statuses = [anon_ui.login(user.email, "wrong").status_code for _ in range(6)]
    assert statuses[-1] == 429, statuses
    resp = anon_ui.login(user.email, user.password)
    assert resp.status_code == 429
    assert "Too many failed login attempts" in Page(resp).text


def test_the_console_uses_the_apis_session_cookie(server, ui):
    me = ui.http.get(server.base_url + "/api/auth/me/", timeout=10)
    assert me.status_code == 200 and me.json()["email"] == server.users["staff"].email


def test_a_new_session_key_on_every_login(server, anon_ui):
    staff = server.users["staff"]
    anon_ui.logged_in(staff.email, staff.password)
    first = anon_ui.http.cookies.get("sessionid")
    anon_ui.http.cookies.clear()
    anon_ui.logged_in(staff.email, staff.password)
    assert anon_ui.http.cookies.get("sessionid") != first


@pytest.mark.parametrize("token", [None, "", "x" * 64, "0" * 32])
def test_a_post_without_a_valid_token_is_a_403_page(ui, owner, token):
    count = meeting_count(owner)
    page = ui.page("/admin/meetings/meeting/add/")
    data = page.form("title").data(title=unique("csrf"), user=str(owner.user_id),
                                   scheduled_date="2030-01-01 09:00:00",
                                   csrfmiddlewaretoken=token)
    resp = ui.post("/admin/meetings/meeting/add/", data)
    assert resp.status_code == 403
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "CSRF verification failed" in Page(resp).text
    assert meeting_count(owner) == count


def test_a_post_from_another_site_is_refused(ui):
    page = ui.page("/admin/meetings/meeting/add/")
    data = page.form("title").data()
    resp = ui.post("/admin/meetings/meeting/add/", data, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403


def test_login_needs_the_token_too(server, anon_ui):
    staff = server.users["staff"]
    resp = anon_ui.post("/admin/login/", {"username": staff.email, "password": staff.password})
    assert resp.status_code == 403


def test_logout_is_a_post_that_ends_the_session(server, anon_ui):
    staff = server.users["staff"]
    anon_ui.logged_in(staff.email, staff.password)
    page = anon_ui.page("/admin/")
    form = [f for f in page.forms if f.action == "/admin/logout/"][0]
    resp = anon_ui.post("/admin/logout/", form.data())
    assert resp.status_code == 200 and "Logged out" in Page(resp).text
    assert anon_ui.get("/admin/").status_code == 302


# ---------------------------------------------------------------------------------------------
# 3. Lists: search, filters, ordering, pages, bulk delete


def result_ids(page, model):
    return [int(x) for x in re.findall(rf'href="/admin/{model}/(\d+)/change/"', first_column(page))]


def first_column(page):
    """The change links of the list's rows (the first column), in order."""
    return "".join(re.findall(r'<th scope="row"[^>]*><a href="[^"]+"', page.html))


def user_id_by_email(ui, email):
    page = ui.page(f"/admin/users/user/?q={email}")
    ids = result_ids(page, "users/user")
    assert len(ids) == 1, (email, ids)
    return ids[0]


def test_meetings_search_by_title_owner_email_and_room(ui, owner, other):
    tag = unique("srch")
    a = owner.create_meeting(title=f"{tag} alpha")
    b = other.create_meeting(title=f"{tag} beta")
    assert set(result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}"), "meetings/meeting")) == {a["id"], b["id"]}
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}+ALPHA"), "meetings/meeting") == [a["id"]]
    ids = result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}+{other.email}"), "meetings/meeting")
    assert ids == [b["id"]]
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={a['room_id']}"), "meetings/meeting") == [a["id"]]
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={a['room_id'][:13]}"), "meetings/meeting") == [a["id"]]
    page = ui.page(f"/admin/meetings/meeting/?q={tag}")
    assert "2 results" in page.text


def test_search_wildcards_are_literal(ui, owner):
    tag = unique("wild")
    m = owner.create_meeting(title=f"{tag} 100%_done")
    owner.create_meeting(title=f"{tag} 100 done")
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q=%25_done"), "meetings/meeting") == [m["id"]]


def test_users_search_by_email_and_name_and_filter(ui, server):
    staff = server.users["staff"]
    assert user_id_by_email(ui, staff.email) > 0
    page = ui.page("/admin/users/user/?q=Ada+Admin")
    assert server.users["admin"].email in page.text
    staff_page = ui.page("/admin/users/user/?is_staff__exact=1")
    assert staff.email in staff_page.text and server.users["owner"].email not in staff_page.text
    admins = ui.page("/admin/users/user/?role__exact=admin")
    assert server.users["admin"].email in admins.text and staff.email not in admins.text


def test_users_are_ordered_by_email(ui):
    page = ui.page("/admin/users/user/?p=0")
    emails = re.findall(r'<th scope="row"[^>]*><a href="[^"]+">([^<]+)</a>', page.html)
    assert emails == sorted(emails)


def test_meetings_filter_by_status_and_type(ui, owner):
    tag = unique("flt")
    ended = owner.create_meeting(title=tag, status="ended")
    private = owner.create_meeting(title=tag, type_of="private")
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}&status__exact=ended"), "meetings/meeting") == [ended["id"]]
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}&type_of__exact=private"), "meetings/meeting") == [private["id"]]
    page = ui.page(f"/admin/meetings/meeting/?status__exact=ended&q={tag}")
    # The filter links keep the search and say which is chosen.
    assert re.search(r'<li class="selected"><a href="[^"]*status__exact=ended[^"]*" aria-current="true">Ended', page.html)


def test_messages_signals_recordings_lists_search_and_filter(ui, owner):
    m = owner.create_meeting(title=unique("content"))
    msg = owner.post_message(m["id"], "needle " + unique("msg"))
    rec = owner.post_recording(m["id"], "https://files.example.com/" + unique("r") + ".webm")
    assert result_ids(ui.page(f"/admin/meetings/message/?q={msg['content'].split()[1]}"), "meetings/message") == [msg["id"]]
    assert msg["id"] in result_ids(ui.page(f"/admin/meetings/message/?q={m['title']}"), "meetings/message")
    assert result_ids(ui.page(f"/admin/meetings/recording/?q={m['title']}"), "meetings/recording") == [rec["id"]]
    assert result_ids(ui.page(f"/admin/meetings/message/?meeting__id__exact={m['id']}"), "meetings/message") == [msg["id"]]
    # Rows link to their page, foreign keys to the related object.
    page = ui.page(f"/admin/meetings/message/?q={m['title']}")
    assert page.has_link(change_url("meetings/meeting", m["id"]))
    assert page.has_link(change_url("users/user", owner.user_id))
    ui.page("/admin/meetings/signal/?signal_type__exact=offer")


def test_ordering_by_column_index_as_django(ui, owner):
    tag = unique("ord")
    ids = [owner.create_meeting(title=f"{tag} {c}")["id"] for c in "bca"]
    asc = result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}&o=1"), "meetings/meeting")
    desc = result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}&o=-1"), "meetings/meeting")
    assert asc == [ids[2], ids[0], ids[1]] and desc == list(reversed(asc))
    # Without o: newest first (Django's -pk).
    assert result_ids(ui.page(f"/admin/meetings/meeting/?q={tag}"), "meetings/meeting") == list(reversed(ids))
    # Column headers are sort links.
    page = ui.page(f"/admin/meetings/meeting/?q={tag}&o=1")
    assert re.search(r'<th scope="col" class="sortable sorted ascending" aria-sort="ascending"><a href="\?[^"]*o=-1', page.html)
    assert "o=2.1" in page.html


@pytest.mark.parametrize("query", ["o=junk", "o=99", "o=-", "o=1.1.1", "p=abc", "q=%00", "q=" + "x" * 3000,
                                   "o=3.-2.1&p=0"])
def test_junk_ordering_and_pages_are_ignored(ui, query):
    assert ui.page(f"/admin/meetings/meeting/?{query}").status == 200


@pytest.mark.parametrize("query", ["p=999999", "p=-1", "nosuchfield=1", "status=ended", "is_staff__exact=maybe",
                                   "user__id__exact=abc", "room_id__exact=not-a-uuid", "title__gt=x"])
def test_bad_lookups_redirect_with_e_as_django(ui, query):
    resp = ui.get(f"/admin/meetings/meeting/?{query}")
    if query.startswith("is_staff"):
        resp = ui.get(f"/admin/users/user/?{query}")
        assert resp.status_code == 302 and location_path(resp) == "/admin/users/user/?e=1"
        return
    assert resp.status_code == 302 and location_path(resp) == "/admin/meetings/meeting/?e=1"
    assert ui.page("/admin/meetings/meeting/?e=1").status == 200


def test_pages_of_100_with_a_count(ui, owner):
    m = owner.create_meeting(title=unique("paged"))
    for i in range(105):
        owner.post_message(m["id"], f"m{i}")
    first = ui.page(f"/admin/meetings/message/?meeting__id__exact={m['id']}")
    second = ui.page(f"/admin/meetings/message/?meeting__id__exact={m['id']}&p=1")
    assert len(result_ids(first, "meetings/message")) == 100
    assert len(result_ids(second, "meetings/message")) == 5
    assert "105 results" in first.text
    assert re.search(r'href="\?[^"]*p=1"', first.html)
    assert ui.get(f"/admin/meetings/message/?meeting__id__exact={m['id']}&p=2").status_code == 302


def test_bulk_delete_asks_first_then_deletes(ui, owner):
    tag = unique("bulk")
    a, b, keep = (owner.create_meeting(title=f"{tag} {n}") for n in "abk")
    owner.post_message(a["id"], "goes with a")
    path = f"/admin/meetings/meeting/?q={tag}"
    page = ui.page(path)
    form = page.form("action", "_selected_action")
    resp = ui.post(path, form.data(action="delete_selected", _selected_action=[str(a["id"]), str(b["id"])]))
    assert resp.status_code == 200
    confirm = Page(resp)
    assert confirm.h1 == "Are you sure?"
    assert a["title"] in confirm.text and b["title"] in confirm.text and keep["title"] not in confirm.text
    assert "Messages: 1" in confirm.text
    assert owner.get(f"/api/meetings/{a['id']}/").status_code == 200  # nothing deleted yet
    form = confirm.form("post", "_selected_action")
    assert form.value("post") == "yes"
    resp = ui.post(path, form.data())
    assert resp.status_code == 302 and location_path(resp) == path
    assert message_of(ui.page(path)) == ("success", "Successfully deleted 2 meetings.")
    assert owner.get(f"/api/meetings/{a['id']}/").status_code == 404
    assert owner.get(f"/api/meetings/{b['id']}/").status_code == 404
    assert owner.get(f"/api/meetings/{keep['id']}/").status_code == 200


def test_bulk_action_without_selection_or_action_changes_nothing(ui, owner):
    m = owner.create_meeting()
    page = ui.page("/admin/meetings/meeting/")
    form = page.form("action")
    resp = ui.post("/admin/meetings/meeting/", form.data(action="delete_selected"))
    assert resp.status_code == 302
    assert "Items must be selected" in message_of(ui.page("/admin/meetings/meeting/"))[1]
    resp = ui.post("/admin/meetings/meeting/", form.data(action="", _selected_action=str(m["id"])))
    assert "No action selected." in message_of(ui.page("/admin/meetings/meeting/"))[1]
    assert owner.get(f"/api/meetings/{m['id']}/").status_code == 200


# ---------------------------------------------------------------------------------------------
# 4. Forms


def test_add_a_meeting_for_an_owner(ui, owner):
    title = unique("added")
    resp = ui.submit("/admin/meetings/meeting/add/", "title", user=str(owner.user_id), title=title,
                     description="From the console", scheduled_date="2030-02-03 04:05:06",
                     type_of="private", status="active")
    assert resp.status_code == 302 and location_path(resp) == "/admin/meetings/meeting/"
    assert message_of(ui.page("/admin/meetings/meeting/")) == (
        "success", f"The meeting “{title}” was added successfully.")
    mine = [m for m in body(owner.get("/api/meetings/"), 200) if m["title"] == title]
    assert len(mine) == 1
    m = mine[0]
    assert m["user"] == owner.user_id and m["type_of"] == "private"
    assert m["scheduled_date"] == "2030-02-03T04:05:06Z" and m["description"] == "From the console"


def test_save_and_continue_and_add_another(ui, owner):
    resp = ui.submit("/admin/meetings/meeting/add/", "title", button="_continue", user=str(owner.user_id),
                     title=unique("cont"), scheduled_date="2030-01-01 00:00:00")
    assert resp.status_code == 302 and re.match(r"/admin/meetings/meeting/\d+/change/$", location_path(resp))
    resp = ui.submit("/admin/meetings/meeting/add/", "title", button="_addanother", user=str(owner.user_id),
                     title=unique("another"), scheduled_date="2030-01-01 00:00:00")
    assert location_path(resp) == "/admin/meetings/meeting/add/"


@pytest.mark.parametrize("changes, field, message", [
    ({"title": ""}, "title", "This field may not be blank."),
    ({"title": "   "}, "title", "This field may not be blank."),
    ({"title": "x" * 256}, "title", "Ensure this field has no more than 255 characters."),
    ({"type_of": "secret"}, "type_of", '"secret" is not a valid choice.'),
    ({"status": "paused"}, "status", '"paused" is not a valid choice.'),
    ({"scheduled_date": "tomorrow"}, "scheduled_date", "Datetime has wrong format."),
    ({"scheduled_date": ""}, "scheduled_date", "Datetime has wrong format."),
    ({"user": "987654321"}, "user", "Select a valid choice."),
    ({"user": "abc"}, "user", "Select a valid choice."),
    ({"user": ""}, "user", "This field is required."),
])
def test_meeting_form_errors_beside_the_field_and_nothing_stored(ui, owner, changes, field, message):
    count = meeting_count(owner)
    data = {"user": str(owner.user_id), "title": unique("bad"), "scheduled_date": "2030-01-01 09:00:00"}
    data.update(changes)
    resp = ui.submit("/admin/meetings/meeting/add/", "title", **data)
    assert resp.status_code == 200
    page = Page(resp)
    assert page.errors.get(field) and page.errors[field][0].startswith(message), page.errors
    assert "Please correct the error" in page.text
    # The form comes back with what was typed.
    assert page.form("title").value("title") == data["title"]
    assert meeting_count(owner) == count


def test_change_a_meeting_and_its_read_only_fields_stay(ui, owner):
    m = owner.create_meeting(title=unique("chg"))
    path = change_url("meetings/meeting", m["id"])
    page = ui.page(path)
    assert m["room_id"] in page.text  # read-only, shown
    form = page.form("title")
    assert "room_id" not in form.names and "created_on" not in form.names
    data = form.data(title="Renamed " + m["title"], room_id=str(uuid.uuid4()), created_on="2001-01-01 00:00:00")
    resp = ui.post(path, data)
    assert resp.status_code == 302
    after = body(owner.get(f"/api/meetings/{m['id']}/"), 200)
    assert after["title"] == "Renamed " + m["title"]
    assert after["room_id"] == m["room_id"] and after["created_on"] == m["created_on"]
    assert after["scheduled_date"] == m["scheduled_date"]


def test_change_errors_store_nothing(ui, owner):
    m = owner.create_meeting(title=unique("keep"))
    resp = ui.submit(change_url("meetings/meeting", m["id"]), "title", title="", status="ended")
    assert resp.status_code == 200 and Page(resp).errors["title"]
    after = body(owner.get(f"/api/meetings/{m['id']}/"), 200)
    assert after["title"] == m["title"] and after["status"] == "active"


def test_ending_a_meeting_in_the_console_ends_it(ui, owner):
    m = owner.create_meeting()
    assert ui.submit(change_url("meetings/meeting", m["id"]), "title", status="ended").status_code == 302
    assert body(owner.get(f"/api/meetings/{m['id']}/"), 200)["status"] == "ended"


def test_recording_message_signal_state_forms_validate(ui, owner):
    m = owner.create_meeting()
    uid = str(owner.user_id)
    cases = [
        ("meetings/recording", {"meeting": str(m["id"]), "uploaded_by": uid, "file_url": "not a url"},
         "file_url", "Enter a valid URL."),
        ("meetings/recording", {"meeting": str(m["id"]), "uploaded_by": uid, "file_url": "ftp://x.example/a"},
         "file_url", "Enter a valid URL."),
        ("meetings/message", {"meeting": str(m["id"]), "user": uid, "content": "  "},
         "content", "This field may not be blank."),
        ("meetings/message", {"meeting": "987654321", "user": uid, "content": "hi"},
         "meeting", "Select a valid choice."),
        ("meetings/signal", {"meeting": str(m["id"]), "sender": uid, "signal_type": "offer", "data": "{nope"},
         "data", "Enter a valid JSON."),
        ("meetings/signal", {"meeting": str(m["id"]), "sender": uid, "signal_type": "bogus", "data": "{}"},
         "signal_type", '"bogus" is not a valid choice.'),
    ]
    for model, data, field, message in cases:
        resp = ui.submit(f"/admin/{model}/add/", *data.keys(), **data)
        assert resp.status_code == 200, (model, data)
        assert Page(resp).errors.get(field, [""])[0].startswith(message), (model, Page(resp).errors)
    assert body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200) == []
    assert body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200) == []


def test_add_and_change_content_rows(ui, owner, other):
    m = owner.create_meeting()
    uid = str(owner.user_id)
    resp = ui.submit("/admin/meetings/message/add/", "content", button="_continue", meeting=str(m["id"]),
                     user=uid, content="Hello from staff")
    assert resp.status_code == 302
    msg_id = int(re.search(r"/(\d+)/change/", location_path(resp)).group(1))
    assert [x["content"] for x in body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)] == ["Hello from staff"]
    resp = ui.submit(change_url("meetings/message", msg_id), "content", content="Edited")
    assert resp.status_code == 302
    assert [x["content"] for x in body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)] == ["Edited"]

    resp = ui.submit("/admin/meetings/recording/add/", "file_url", meeting=str(m["id"]), uploaded_by=uid,
                     file_url="https://files.example.com/a.webm")
    assert resp.status_code == 302
    assert body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200)[0]["file_url"] == "https://files.example.com/a.webm"

    resp = ui.submit("/admin/meetings/signal/add/", "data", meeting=str(m["id"]), sender=uid, signal_type="ice",
                     data='{"candidate": "c1"}')
    assert resp.status_code == 302

    resp = ui.submit("/admin/meetings/participantstate/add/", "audio_muted", meeting=str(m["id"]),
                     user=str(other.user_id), audio_muted="on", in_call=None)
    assert resp.status_code == 302
    states = body(other.get(f"/api/meetings/{m['id']}/participants/"), 200)
    mine = [s for s in states if s["user"] == other.user_id]
    assert mine and mine[0]["audio_muted"] is True and mine[0]["in_call"] is False
    # Unique together: a second state for the same meeting and user is refused.
    resp = ui.submit("/admin/meetings/participantstate/add/", "audio_muted", meeting=str(m["id"]),
                     user=str(other.user_id))
    assert resp.status_code == 200
    assert "Participant state with this Meeting and User already exists." in Page(resp).text


def test_create_a_user_with_a_password_then_change_flags(server, ui):
    email = f"{unique('made')}@example.com"
    resp = ui.submit("/admin/users/user/add/", "email", "password1", button="_continue", email=email,
                     full_name="Made Here", role="user", password1="a-g00d-password", password2="a-g00d-password")
    assert resp.status_code == 302, Page(resp).errors
    uid = int(re.search(r"/(\d+)/change/", location_path(resp)).group(1))
    page = ui.page(change_url("users/user", uid))
    assert "pbkdf2_sha256" in page.text  # hashed as Django does; the summary never shows the hash
    assert "a-g00d-password" not in page.html
    from castera_helpers import Client
    assert Client(server.base_url, email, "a-g00d-password").get("/api/auth/me/").status_code == 200
    resp = ui.submit(change_url("users/user", uid), "email", role="admin", is_staff="on", is_superuser="on")
    assert resp.status_code == 302
    me = body(Client(server.base_url, email, "a-g00d-password").get("/api/auth/me/"), 200)
    assert me["role"] == "admin" and me["is_staff"] is True and me["is_superuser"] is True
    resp = ui.submit(change_url("users/user", uid), "email", is_active=None)
    assert Client(server.base_url, email, "a-g00d-password").get("/api/auth/me/").status_code == 403


@pytest.mark.parametrize("changes, field, message", [
    ({"password2": "different"}, "password2", "The two password fields didn’t match."),
    ({"password1": "", "password2": ""}, "password1", "This field is required."),
    ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    ({"role": "root"}, "role", '"root" is not a valid choice.'),
    ({"image": "nope"}, "image", "Enter a valid URL."),
])
def test_user_form_errors(server, ui, changes, field, message):
    data = {"email": f"{unique('bad')}@example.com", "password1": "pw-123456", "password2": "pw-123456",
            "role": "user"}
    data.update(changes)
    resp = ui.submit("/admin/users/user/add/", "email", **data)
    assert resp.status_code == 200
    assert Page(resp).errors.get(field, [""])[0] == message, Page(resp).errors


def test_a_taken_email_is_an_error_beside_email(server, ui):
    resp = ui.submit("/admin/users/user/add/", "email", email=server.users["owner"].email,
                     password1="pw-123456", password2="pw-123456")
    assert resp.status_code == 200
    assert Page(resp).errors["email"] == ["User with this Email already exists."]


def test_set_a_password(server, ui, make_user):
    from castera_helpers import Client
    user = make_user()
    uid = user_id_by_email(ui, user.email)
    path = f"/admin/users/user/{uid}/password/"
    resp = ui.submit(path, "password1", "password2", password1="new-pass-1", password2="new-pass-2")
    assert resp.status_code == 200 and Page(resp).errors["password2"] == ["The two password fields didn’t match."]
    resp = ui.submit(path, "password1", "password2", password1="new-pass-1", password2="new-pass-1")
    assert resp.status_code == 302 and location_path(resp) == change_url("users/user", uid)
    assert Client(server.base_url, user.email, "new-pass-1").get("/api/auth/me/").status_code == 200
    assert Client(server.base_url, user.email, user.password).get("/api/auth/me/").status_code == 403


def test_a_meetings_page_shows_its_contents_and_who_is_in_the_room(server, ui, owner, other):
    m = owner.create_meeting(title=unique("room"))
    owner.post_message(m["id"], "visible message")
    owner.post_recording(m["id"], "https://files.example.com/visible.webm")
    other.post(f"/api/meetings/{m['id']}/raise-hand/")

    async def scenario():
        ws = await ws_open(server.base_url, m["room_id"], other.email, other.password)
        try:
            await ws.send('{"message": "sync"}')
            await ws.recv()
            return ui.page(change_url("meetings/meeting", m["id"]))
        finally:
            await ws.close()

    page = run(scenario())
    assert "visible message" in page.text
    assert "https://files.example.com/visible.webm" in page.text
    room = re.search(r'<h2 id="room-now">In the room now</h2>(.*?)</section>', page.html, re.S).group(1)
    assert other.email in room
    assert "Participant states (1)" in page.text
    # Once the connection is gone, the room is empty.
    import time
    for _ in range(50):
        page = ui.page(change_url("meetings/meeting", m["id"]))
        if "Nobody is in the room." in page.text:
            break
        time.sleep(0.1)
    assert "Nobody is in the room." in page.text


# ---------------------------------------------------------------------------------------------
# 5. Delete with confirmation


def test_delete_asks_first_and_lists_what_goes_with_it(ui, owner):
    m = owner.create_meeting(title=unique("del"))
    owner.post_message(m["id"], "one")
    owner.post_message(m["id"], "two")
    owner.post_recording(m["id"], "https://files.example.com/d.webm")
    path = f"/admin/meetings/meeting/{m['id']}/delete/"
    page = ui.page(path)
    assert page.h1 == "Are you sure?"
    assert "Messages: 2" in page.text and "Recordings: 1" in page.text
    assert owner.get(f"/api/meetings/{m['id']}/").status_code == 200
    resp = ui.post(path, page.form("post").data())
    assert resp.status_code == 302 and location_path(resp) == "/admin/meetings/meeting/"
    assert message_of(ui.page("/admin/meetings/meeting/")) == (
        "success", f"The meeting “{m['title']}” was deleted successfully.")
    assert owner.get(f"/api/meetings/{m['id']}/").status_code == 404


def test_deleting_a_meeting_closes_its_live_room(server, ui, owner, other):
    m = owner.create_meeting()

    async def scenario():
        ws = await ws_open(server.base_url, m["room_id"], other.email, other.password)
        await ws.send('{"message": "here"}')
        await ws.recv()
        page = ui.page(f"/admin/meetings/meeting/{m['id']}/delete/")
        resp = ui.post(f"/admin/meetings/meeting/{m['id']}/delete/", page.form("post").data())
        assert resp.status_code == 302
        await ws_expect_close(ws, 4004)

    run(scenario())


def test_delete_a_user_and_what_hangs_off_them(ui, make_user, fresh_client):
    client = fresh_client()
    m = client.create_meeting(title=unique("owned"))
    uid = client.user_id
    page = ui.page(f"/admin/users/user/{uid}/delete/")
    assert "Meetings: 1" in page.text and m["title"] in page.text
    assert ui.post(f"/admin/users/user/{uid}/delete/", page.form("post").data()).status_code == 302
    assert ui.get(change_url("users/user", uid)).status_code == 302
    assert ui.get(change_url("meetings/meeting", m["id"])).status_code == 302


# ---------------------------------------------------------------------------------------------
# 6. History (django_admin_log)


def test_history_records_add_change_and_delete(server, ui, owner):
    title = unique("hist")
    resp = ui.submit("/admin/meetings/meeting/add/", "title", button="_continue", user=str(owner.user_id),
                     title=title, scheduled_date="2030-01-01 00:00:00")
    mid = int(re.search(r"/(\d+)/change/", location_path(resp)).group(1))
    ui.submit(change_url("meetings/meeting", mid), "title", title=title + "!", status="ended")
    ui.submit(change_url("meetings/meeting", mid), "title")  # saved as it was
    page = ui.page(f"/admin/meetings/meeting/{mid}/history/")
    rows = re.findall(r"<tr><th scope=\"row\">[^<]+</th><td>([^<]+)</td><td>([^<]+)</td></tr>", page.html)
    assert rows == [(server.users["staff"].email, "Added."),
                    (server.users["staff"].email, "Changed Title and Status."),
                    (server.users["staff"].email, "No fields changed.")]
    index = ui.page("/admin/")
    assert re.search(rf'<a href="/admin/meetings/meeting/{mid}/change/">{re.escape(title)}!</a>', index.html)
    page = ui.page(f"/admin/meetings/meeting/{mid}/delete/")
    ui.post(f"/admin/meetings/meeting/{mid}/delete/", page.form("post").data())
    index = ui.page("/admin/")
    assert re.search(r'<li class="deletelink"><span class="visually-hidden">Deleted: </span>' + re.escape(title), index.html)
    if server.db_path:
        db = sqlite3.connect(server.db_path)
        rows = db.execute(
            "SELECT l.action_flag, l.change_message, l.object_repr, ct.app_label, ct.model, u.email "
            "FROM django_admin_log l JOIN django_content_type ct ON ct.id = l.content_type_id "
            "JOIN users_user u ON u.id = l.user_id WHERE l.object_id = ? AND ct.model = 'meeting' ORDER BY l.id",
            (str(mid),)).fetchall()
        db.close()
        staff = server.users["staff"].email
        assert rows == [
            (1, '[{"added": {}}]', title, "meetings", "meeting", staff),
            (2, '[{"changed": {"fields": ["Title", "Status"]}}]', title + "!", "meetings", "meeting", staff),
            (2, "[]", title + "!", "meetings", "meeting", staff),
            (3, "", title + "!", "meetings", "meeting", staff),
        ]


def test_history_of_content_rows_and_passwords(server, ui, owner, make_user):
    m = owner.create_meeting()
    resp = ui.submit("/admin/meetings/message/add/", "content", button="_continue", meeting=str(m["id"]),
                     user=str(owner.user_id), content="logged")
    msg_id = int(re.search(r"/(\d+)/change/", location_path(resp)).group(1))
    ui.submit(change_url("meetings/message", msg_id), "content", content="logged again")
    page = ui.page(f"/admin/meetings/message/{msg_id}/history/")
    assert "Added." in page.text and "Changed Content." in page.text
    index = ui.page("/admin/")
    assert f"Message object ({msg_id})" in index.text
    user = make_user()
    uid = user_id_by_email(ui, user.email)
    ui.submit(f"/admin/users/user/{uid}/password/", "password1", password1="pw-abc-123", password2="pw-abc-123")
    assert "Changed password." in ui.page(f"/admin/users/user/{uid}/history/").text


def test_an_object_without_history_says_so(ui, owner):
    m = owner.create_meeting()
    page = ui.page(f"/admin/meetings/meeting/{m['id']}/history/")
    assert "doesn’t have a change history" in page.text


# ---------------------------------------------------------------------------------------------
# 7. Escaping, headers, stylesheet


def test_every_value_is_escaped(ui, owner):
    title = "<script>alert('x')</script>" + unique("")
    m = owner.create_meeting(title=title, description='"><img src=x onerror=alert(1)>')
    for path in [f"/admin/meetings/meeting/?q={unique('')[:0]}", change_url("meetings/meeting", m["id"]),
                 f"/admin/meetings/meeting/{m['id']}/delete/", "/admin/meetings/meeting/?q=%3Cscript%3E"]:
        page = ui.page(path)
        assert "<script>" not in page.html and "<img src=x" not in page.html, path
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in ui.page(change_url("meetings/meeting", m["id"])).html


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/meetings/meeting/",
                                  "/admin/users/user/1/change/", "/admin/nope/", "/admin/webhooks/"])
def test_headers_on_every_admin_page(ui, path):
    resp = ui.get(path)
    assert resp.headers["X-Frame-Options"] == "DENY"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "no-store" in resp.headers["Cache-Control"]
    assert "<script" not in resp.text and " style=" not in resp.text


def test_the_stylesheet_is_served(anon_ui):
    resp = anon_ui.get("/admin/static/admin.css")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/css")
    assert "@media" in resp.text
    assert anon_ui.get("/admin/static/nope.css").status_code == 404
