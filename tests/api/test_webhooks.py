"""Webhooks (README, "Webhooks"): signed events from the outbox, delivered to receivers this
module starts (one that answers 2xx, one that fails on purpose, one that hangs, HTTPS ones with
certificates made by the openssl command line), each castera instance of its own on the suite's
database (SQLite or PostgreSQL) with short retry bases and timeouts. Signatures are checked with the Standard Webhooks reference library from npm
(tests/api/webhook_verify, installed once with npm ci).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from castera_helpers import Client, body, run, ws_open
from conftest import postgres_test_url, start_server, stop_server

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFY_DIR = os.path.join(HERE, "webhook_verify")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes, as Standard Webhooks' examples
FUTURE = "2031-05-06T07:08:09Z"


# --------------------------------------------------------------------------------------------
# Receivers


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request. `decide(request)` answers a
    status, or None to hang (never answer). With `tls` (a certificate and key file) it is an
    HTTPS server; `host` is the name its URL gives it."""

    def __init__(self, decide=lambda request: 200, tls=None, host="127.0.0.1"):
        self.decide = decide
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode("utf-8")
                request = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": raw,
                           "json": json.loads(raw), "at": time.time()}
                with receiver.lock:
                    receiver.requests.append(request)
                status = receiver.decide(request)
                if status is None:
                    receiver.release.wait(30)
                    return
                self.send_response(status)
                payload = b"" if status in (204, 304) else b"ok"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            # The handshake runs at accept: one castera refuses fails there, before any request.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}/hooks?src=castera"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def delivered(self):
        """Requests answered 2xx, first per webhook-id, in arrival order."""
        seen, out = set(), []
        for r in self.snapshot():
            if r.get("ok") and r["headers"]["webhook-id"] not in seen:
                seen.add(r["headers"]["webhook-id"])
                out.append(r)
        return out

    def wait_for(self, predicate, timeout=20.0, what="deliveries"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = predicate(self.snapshot())
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; got {len(self.snapshot())} requests: "
                             + ", ".join(r["json"]["type"] for r in self.snapshot()))


def answering(status_of):
    """A decide() that marks answered requests ok when 2xx."""
    def decide(request):
        status = status_of(request)
        request["ok"] = status is not None and 200 <= status < 300
        return status
    return decide


def of_meeting(requests, meeting_id, type_=None):
    out = []
    for r in requests:
        d = r["json"]["data"]
        mid = d.get("meeting", d.get("id")) if not r["json"]["type"].startswith("meeting.") else d["id"]
        if mid == meeting_id and (type_ is None or r["json"]["type"] == type_):
            out.append(r)
    return out


# --------------------------------------------------------------------------------------------
# castera instances with webhooks


class Instance:
    def __init__(self, server, tmp, urls, **settings):
        self.server = server
        self.env = dict(server.env)
        self.env.update({"CASTERA_WEBHOOK_URLS": ",".join(urls), "CASTERA_WEBHOOK_SECRET": SECRET,
                         "CASTERA_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
                         "CASTERA_WEBHOOK_TIMEOUT_SECONDS": "1"})
        for k, v in settings.items():  # None: not set at all
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = str(v)
        self.log = os.path.join(tmp, f"castera-{len(os.listdir(tmp))}.log")
        self.proc, self.base_url, self.port = None, None, None

    def start(self):
        self.proc, self.base_url = start_server(self.server.bin, self.env, self.log, port=self.port)
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def client(self, key):
        u = self.server.users[key]
        return Client(self.base_url, u.email, u.password)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_server(self.proc)


@pytest.fixture
def world(server):
    if not server.can_cli:
        pytest.skip("needs castera instances of its own on the suite's database")
    tmp = tempfile.mkdtemp(prefix="castera-webhooks-")
    made = {"receivers": [], "instances": []}

    def receiver(decide=answering(lambda r: 200), **options):
        r = Receiver(decide, **options)
        made["receivers"].append(r)
        return r

    def instance(urls, **settings):
        i = Instance(server, tmp, urls, **settings)
        made["instances"].append(i)
        return i.start()

    yield receiver, instance
    for i in made["instances"]:
        i.stop()
    for r in made["receivers"]:
        r.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def verify(items):
    """The reference library's verdict on each {"headers","body"} (secret: SECRET)."""
    if not os.path.isdir(os.path.join(VERIFY_DIR, "node_modules")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VERIFY_DIR,
                       check=True, capture_output=True, timeout=300)
    lines = "".join(json.dumps({"secret": SECRET, "headers": i["headers"], "body": i["body"]}) + "\n"
                    for i in items)
    out = subprocess.run(["node", "verify.mjs"], cwd=VERIFY_DIR, input=lines, capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.split("\n")[:len(items)]


def headers_of(request):
    h = request["headers"]
    return {k: h[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}


# --------------------------------------------------------------------------------------------
# Every event, signed


def test_every_event_type_is_sent_signed_in_the_api_shapes(world):
    receiver, instance = world
    ok = receiver()
    castera = instance([ok.url])
    owner = castera.client("owner")
    me = owner.me()

    m = owner.create_meeting(title="Hooked")
    body(owner.patch(f"/api/meetings/{m['id']}/", json={"title": "Hooked again"}), 200)
    msg = owner.post_message(m["id"], "over REST")
    rec = owner.post_recording(m["id"], "https://example.com/r.mp4")

    async def in_the_room():
        ws = await ws_open(castera.base_url, m["room_id"], me["email"], castera.server.users["owner"].password)
        await ws.send(json.dumps({"message": "over the socket"}))
        await asyncio.wait_for(ws.recv(), 5)  # the chat comes back: it is stored
        await ws.close()
    run(in_the_room())
    ok.wait_for(lambda rs: of_meeting(rs, m["id"], "participant.left"), what="participant.left")
    body(owner.post(f"/api/meetings/{m['id']}/set-status/", json={"status": "ended"}), 200)
    assert owner.delete(f"/api/meetings/{m['id']}/").status_code == 204

    got = ok.wait_for(lambda rs: of_meeting(rs, m["id"], "meeting.deleted") and rs, what="meeting.deleted")
    events = of_meeting(got, m["id"])
    types = [r["json"]["type"] for r in events]
    assert types == ["meeting.created", "meeting.updated", "message.created", "recording.created",
                     "meeting.started", "participant.joined", "message.created", "participant.left",
                     "meeting.updated", "meeting.ended", "meeting.deleted"], types

    by_type = {}
    for r in events:
        by_type.setdefault(r["json"]["type"], []).append(r["json"])
        assert r["headers"]["content-type"] == "application/json"
        assert set(r["json"]) == {"type", "timestamp", "data"}
        assert r["json"]["timestamp"].endswith("Z")
    created = by_type["meeting.created"][0]["data"]
    assert created["id"] == m["id"] and created["room_id"] == m["room_id"] and created["title"] == "Hooked"
    assert list(created) == list(m)
    assert by_type["meeting.updated"][0]["data"]["title"] == "Hooked again"
    assert by_type["message.created"][0]["data"] == msg
    ws_chat = by_type["message.created"][1]["data"]
    assert ws_chat["content"] == "over the socket" and ws_chat["user_email"] == me["email"] and ws_chat["id"] > msg["id"]
    assert by_type["recording.created"][0]["data"] == rec
    assert by_type["meeting.started"][0]["data"]["id"] == m["id"]
    joined = by_type["participant.joined"][0]["data"]
    assert joined == {"meeting": m["id"], "room_id": m["room_id"], "user": me["id"], "user_email": me["email"]}
    assert by_type["participant.left"][0]["data"] == joined
    assert by_type["meeting.ended"][0]["data"]["status"] == "ended"
    assert by_type["meeting.deleted"][0]["data"]["title"] == "Hooked again"

    # The reference library verifies every delivery, and refuses a tampered body, an old
    # timestamp, another secret's signature.
    items = [{"headers": headers_of(r), "body": r["body"]} for r in events]
    assert verify(items) == ["ok"] * len(items)
    first = items[0]
    tampered = {"headers": first["headers"], "body": first["body"].replace("Hooked", "Hacked")}
    old = dict(first["headers"], **{"webhook-timestamp": str(int(first["headers"]["webhook-timestamp"]) - 3600)})
    verdicts = verify([tampered, {"headers": old, "body": first["body"]}])
    assert all(v.startswith("fail") for v in verdicts), verdicts
    ids = [r["headers"]["webhook-id"] for r in events]
    assert len(set(ids)) == len(ids)


def test_console_changes_send_the_same_events(world, server):
    from admin_helpers import Admin
    receiver, instance = world
    ok = receiver()
    castera = instance([ok.url])
    owner = castera.client("owner")
    staff_user = server.users["staff"]
    ui = Admin(castera.base_url).logged_in(staff_user.email, staff_user.password)
    m = owner.create_meeting()
    uid = str(owner.user_id)
    resp = ui.submit("/admin/meetings/message/add/", "content", meeting=str(m["id"]), user=uid,
                     content="from the console")
    assert resp.status_code == 302
    resp = ui.submit("/admin/meetings/recording/add/", "file_url", meeting=str(m["id"]), uploaded_by=uid,
                     file_url="https://files.example.com/console.webm")
    assert resp.status_code == 302
    got = ok.wait_for(lambda rs: of_meeting(rs, m["id"], "recording.created"), what="the console's recording")
    msgs = of_meeting(ok.snapshot(), m["id"], "message.created")
    stored = body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)
    assert [r["json"]["data"] for r in msgs] == stored
    assert got[0]["json"]["data"] == body(owner.get(f"/api/meetings/{m['id']}/recordings/"), 200)[0]


def test_deleting_a_user_in_the_console_deletes_their_meetings_with_their_events_and_rooms(world, server,
                                                                                          make_user):
    from admin_helpers import Admin
    from castera_helpers import ws_expect_close
    receiver, instance = world
    ok = receiver()
    castera = instance([ok.url])
    leaving = make_user()
    client = Client(castera.base_url, leaving.email, leaving.password)
    first = client.create_meeting(title="Leaving's first")
    second = client.create_meeting(title="Leaving's second")
    kept = castera.client("owner").create_meeting(title="Someone else's")
    ok.wait_for(lambda rs: of_meeting(rs, second["id"], "meeting.created"), what="the meetings' creation")
    staff_user, guest = server.users["staff"], server.users["other"]
    ui = Admin(castera.base_url).logged_in(staff_user.email, staff_user.password)
    uid = client.user_id

    async def scenario():
        ws = await ws_open(castera.base_url, first["room_id"], guest.email, guest.password)
        await ws.send(json.dumps({"message": "still here"}))
        await asyncio.wait_for(ws.recv(), 5)
        page = ui.page(f"/admin/users/user/{uid}/delete/")
        assert ui.post(f"/admin/users/user/{uid}/delete/", page.form("post").data()).status_code == 302
        await ws_expect_close(ws, 4004)  # as a meeting deleted in the console
    run(scenario())

    # Each meeting's events are in order; the two meetings' are independent of each other.
    got = ok.wait_for(lambda rs: all(of_meeting(rs, m["id"], "meeting.deleted") for m in (first, second)) and rs,
                      what="both meetings' meeting.deleted")
    deleted = sorted((r for r in got if r["json"]["type"] == "meeting.deleted"), key=lambda r: r["json"]["data"]["id"])
    assert [r["json"]["data"]["id"] for r in deleted] == [first["id"], second["id"]]
    types = [r["json"]["type"] for r in of_meeting(got, first["id"])]
    assert types.index("meeting.deleted") > types.index("message.created"), types  # after the room's chat
    assert [r["json"]["data"]["title"] for r in deleted] == ["Leaving's first", "Leaving's second"]
    assert deleted[0]["json"]["data"] == first  # the meeting as it was
    assert verify([{"headers": headers_of(r), "body": r["body"]} for r in deleted]) == ["ok", "ok"]
    # Nothing for a meeting that stays, and no meeting.deleted twice.
    time.sleep(0.5)
    assert of_meeting(ok.snapshot(), kept["id"], "meeting.deleted") == []
    assert len([r for r in ok.snapshot() if r["json"]["type"] == "meeting.deleted"]) == 2
    assert castera.client("owner").get(f"/api/meetings/{first['id']}/").status_code == 404


# --------------------------------------------------------------------------------------------
# Retries, order, timeouts


def test_retries_keep_one_webhook_id_and_a_failing_meeting_holds_back_only_itself(world):
    receiver, instance = world
    attempts = {}
    blocked = threading.Event()
    blocked.set()

    def status_of(request):
        wid = request["headers"]["webhook-id"]
        attempts[wid] = attempts.get(wid, 0) + 1
        if "block-me" in request["body"] and blocked.is_set():
            return 500
        return 503 if attempts[wid] <= 2 else 204  # every event fails twice first
    flaky = receiver(answering(status_of))
    castera = instance([flaky.url])
    owner = castera.client("owner")
    x, y = owner.create_meeting(), owner.create_meeting()
    first = owner.post_message(x["id"], "block-me")
    after = [owner.post_message(x["id"], f"after {i}") for i in range(3)]
    ys = [owner.post_message(y["id"], f"y {i}") for i in range(5)]

    flaky.wait_for(lambda rs: len(of_meeting([r for r in rs if r.get("ok")], y["id"], "message.created")) == 5,
                   what="meeting y's messages")
    # Meeting x waits behind its failing first message; nothing after it was attempted.
    delivered_x = of_meeting(flaky.delivered(), x["id"], "message.created")
    assert delivered_x == []
    tried = {r["json"]["data"]["id"] for r in of_meeting(flaky.snapshot(), x["id"], "message.created")}
    assert tried == {first["id"]}
    blocked.clear()
    flaky.wait_for(lambda rs: len(of_meeting(flaky.delivered(), x["id"], "message.created")) == 4,
                   what="meeting x's messages")
    for meeting, posted in ((x, [first] + after), (y, ys)):
        delivered = [r["json"]["data"]["id"] for r in of_meeting(flaky.delivered(), meeting["id"], "message.created")]
        assert delivered == [p["id"] for p in posted]
    # Each retry carried the same webhook-id, with a fresh signature that verifies.
    tries = [r for r in flaky.snapshot() if r["json"]["data"].get("id") == ys[0]["id"]
             and r["json"]["type"] == "message.created"]
    assert len(tries) == 3 and len({r["headers"]["webhook-id"] for r in tries}) == 1
    assert verify([{"headers": headers_of(r), "body": r["body"]} for r in tries]) == ["ok"] * 3


def test_a_hanging_receiver_costs_one_timeout_and_staff_see_the_backlog(world):
    receiver, instance = world
    hanging = receiver(answering(lambda r: None))
    castera = instance([hanging.url], CASTERA_WEBHOOK_RETRY_BASE_SECONDS="30")
    owner, staff = castera.client("owner"), castera.client("staff")
    m = owner.create_meeting()
    hanging.wait_for(lambda rs: rs, what="the first attempt")
    t0 = time.time()
    deadline = t0 + 10
    while time.time() < deadline:
        rows = body(staff.get("/api/webhooks/events/?status=pending"), 200)
        mine = [e for e in rows if e["meeting"] == m["id"]]
        if mine and mine[0]["attempts"] == 1:
            break
        time.sleep(0.1)
    assert mine and mine[0]["attempts"] == 1, rows
    e = mine[0]
    assert e["type"] == "meeting.created" and e["endpoint"] == hanging.url and e["last_status"] is None
    assert "timed out" in e["last_error"]
    assert e["payload"]["data"]["id"] == m["id"] and e["event_id"].startswith("msg_")
    # The server keeps answering meanwhile, and /readyz counts the backlog.
    ready = body(castera.client("owner").get("/readyz"), 200)
    assert ready["webhooks"]["pending"] >= 1 and ready["webhooks"]["oldest_pending_seconds"] >= 0
    # Staff only; bad statuses are a 400, unknown ids a 404.
    assert owner.get("/api/webhooks/events/").status_code == 403
    assert staff.get("/api/webhooks/events/?status=bogus").status_code == 400
    assert staff.post("/api/webhooks/events/999999999/retry/").status_code == 404
    page = body(staff.get("/api/webhooks/events/?limit=1"), 200)
    assert set(page) == {"count", "next", "previous", "results"} and len(page["results"]) == 1


def test_an_expired_event_is_failed_and_staff_can_send_it_again(world):
    receiver, instance = world
    up = threading.Event()
    receiving = receiver(answering(lambda r: 200 if up.is_set() else 500))
    castera = instance([receiving.url], CASTERA_WEBHOOK_MAX_AGE_HOURS="0.0003")  # about a second
    owner, staff = castera.client("owner"), castera.client("staff")
    m = owner.create_meeting()
    deadline = time.time() + 15
    failed = []
    while time.time() < deadline and not failed:
        failed = [e for e in body(staff.get("/api/webhooks/events/?status=failed"), 200) if e["meeting"] == m["id"]]
        time.sleep(0.2)
    assert failed, "the event never failed"
    up.set()
    retried = staff.post(f"/api/webhooks/events/{failed[0]['id']}/retry/")
    assert retried.status_code == 200, retried.text
    receiving.wait_for(lambda rs: [r for r in rs if r.get("ok") and r["json"]["data"].get("id") == m["id"]],
                       what="the retried event")
    again = staff.post(f"/api/webhooks/events/{failed[0]['id']}/retry/")
    assert again.status_code == 404  # only a failed event can be sent again


# --------------------------------------------------------------------------------------------
# The console's deliveries page (/admin/webhooks/)


def delivery_ids(page):
    """The deliveries' ids on a console page, in the order shown."""
    return [int(i) for i in re.findall(r'<th scope="row" class="field-id" data-label="ID">(\d+)</th>', page.html)]


def delivery_of(staff, meeting_id, status, timeout=15.0):
    """The meeting's delivery once castera lists it with this status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [e for e in body(staff.get(f"/api/webhooks/events/?status={status}"), 200)
                 if e["meeting"] == meeting_id]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"meeting {meeting_id}'s delivery never became {status}")


def retry_form(page, delivery):
    for f in page.forms:
        if f.action == f"/admin/webhooks/{delivery}/retry/":
            return f
    return None


def test_staff_see_deliveries_in_the_console_filter_them_and_send_a_failed_one_again(world, server):
    from admin_helpers import Admin, Page, location_path, message_of
    from castera_helpers import SessionClient
    receiver, instance = world
    up = threading.Event()
    receiving = receiver(answering(lambda r: 200 if up.is_set() else 500))
    # The endpoint's query comes from the settings: the page shows it escaped.
    url = receiving.url + "&tag=<i>x</i>"
    castera = instance([url], CASTERA_WEBHOOK_MAX_AGE_HOURS="0.0003")  # failed after about a second
    owner, staff = castera.client("owner"), castera.client("staff")
    failing = owner.create_meeting(title="Never answered")
    stuck = delivery_of(staff, failing["id"], "failed")
    up.set()
    fine = owner.create_meeting(title="Answered")
    sent = delivery_of(staff, fine["id"], "delivered")

    # Anonymous visitors and signed-in users who are not staff are sent to the login page.
    for who in (None, server.users["owner"]):
        ui = Admin(castera.base_url)
        if who:
            session = SessionClient(castera.base_url)
            assert session.login(who.email, who.password).status_code == 200
            ui.http.cookies.update(session.http.cookies)
        resp = ui.get("/admin/webhooks/?status=failed")
        assert resp.status_code == 302 and location_path(resp) == "/admin/login/?next=/admin/webhooks/%3Fstatus%3Dfailed"

    staff_user = server.users["staff"]
    ui = Admin(castera.base_url).logged_in(staff_user.email, staff_user.password)
    index = ui.page("/admin/")
    assert index.has_link("/admin/webhooks/")
    page = ui.page("/admin/webhooks/")
    assert page.h1 == "Webhook deliveries" and "No webhook endpoint is configured" not in page.text
    shown = delivery_ids(page)
    assert shown == sorted(shown, reverse=True), "newest first"
    assert shown[:2] == [sent["id"], stuck["id"]]
    total = body(staff.get("/api/webhooks/events/?limit=1"), 200)["count"]
    assert f"{total} deliveries" in page.text
    assert page.has_link(f"/admin/meetings/meeting/{failing['id']}/change/")
    assert "<wbr>&amp;tag=&lt;i&gt;x&lt;" in page.html and "<i>" not in page.html
    assert "answered 500" in page.text and "meeting.created" in page.text
    # Only a failed delivery has a Retry button.
    assert retry_form(page, stuck["id"]) is not None and retry_form(page, sent["id"]) is None

    # The status filter's links, and what each shows.
    for status, label in (("failed", "Failed"), ("delivered", "Delivered"), ("pending", "Pending")):
        assert page.has_link(f"?status={status}"), status
        filtered = ui.page(f"/admin/webhooks/?status={status}")
        ids = delivery_ids(filtered)
        assert (stuck["id"] in ids) == (status == "failed"), (status, ids)
        assert (sent["id"] in ids) == (status == "delivered"), (status, ids)
        assert f'<li class="selected"><a href="?status={status}" aria-current="true">{label}</a>' in filtered.html
    # A status it does not know, or a page past the last, shows the whole list (?e=1), as lists do.
    for query in ("status=bogus", "p=100000", "p=-1"):
        resp = ui.get(f"/admin/webhooks/?{query}")
        assert resp.status_code == 302 and location_path(resp) == "/admin/webhooks/?e=1", query
    assert "were not valid" in ui.page("/admin/webhooks/?e=1").text
    assert ui.page("/admin/webhooks/?p=junk").status == 200

    # Retry: the form's POST, which needs its CSRF token.
    page = ui.page("/admin/webhooks/?status=failed")
    form = retry_form(page, stuck["id"])
    assert ("status", "failed") in form.fields
    refused = ui.post(form.action, form.data(csrfmiddlewaretoken=None))
    assert refused.status_code == 403 and "CSRF verification failed" in Page(refused).text
    assert [e for e in body(staff.get("/api/webhooks/events/?status=failed"), 200) if e["id"] == stuck["id"]]
    resp = ui.post(form.action, form.data())
    assert resp.status_code == 302 and location_path(resp) == "/admin/webhooks/?status=failed"
    after = ui.page("/admin/webhooks/?status=failed")
    assert message_of(after) == ("success", f"The webhook delivery “{stuck['id']}” will be sent again.")
    receiving.wait_for(lambda rs: [r for r in rs if r.get("ok") and r["json"]["data"].get("id") == failing["id"]],
                       what="the event sent again")
    assert delivery_of(staff, failing["id"], "delivered")["id"] == stuck["id"]
    assert stuck["id"] not in delivery_ids(ui.page("/admin/webhooks/?status=failed"))

    # Sent again already, or never there: the console's 404 page.
    token = form.value("csrfmiddlewaretoken")
    for path in (form.action, "/admin/webhooks/999999999/retry/", "/admin/webhooks/abc/retry/"):
        resp = ui.post(path, {"csrfmiddlewaretoken": token})
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html"), path
    # The wrong methods.
    resp = ui.get(form.action)
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    resp = ui.post("/admin/webhooks/", {"csrfmiddlewaretoken": token})
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD"


# --------------------------------------------------------------------------------------------
# Durability and several instances


def test_events_pending_at_kill_9_are_sent_after_the_restart(world):
    receiver, instance = world
    up = threading.Event()
    receiving = receiver(answering(lambda r: 204 if up.is_set() else 503))
    castera = instance([receiving.url])
    owner = castera.client("owner")
    m = owner.create_meeting()
    posted = [owner.post_message(m["id"], f"durable {i}") for i in range(20)]
    castera.kill()
    up.set()
    castera.start()  # same port, new process: the dead one's leases lapse, then it sends them
    got = receiving.wait_for(
        lambda rs: len(of_meeting([r for r in rs if r.get("ok")], m["id"], "message.created")) >= 20,
        timeout=30, what="the messages acknowledged before the kill")
    delivered = [r["json"]["data"]["id"] for r in of_meeting(receiving.delivered(), m["id"], "message.created")]
    assert delivered == [p["id"] for p in posted]
    # Every event names a row that was stored: none for a write that was not acknowledged.
    stored = {x["id"] for x in body(owner.get(f"/api/meetings/{m['id']}/messages/"), 200)}
    assert set(delivered) <= stored
    assert got


@pytest.mark.skipif(not postgres_test_url(), reason="several instances share one PostgreSQL database")
def test_two_instances_on_one_postgresql_send_each_event_once(world):
    receiver, instance = world
    ok = receiver()
    a = instance([ok.url])
    b = instance([ok.url])
    meetings = [a.client("owner").create_meeting() for _ in range(4)]
    posted = {m["id"]: [] for m in meetings}
    for i in range(40):
        via = (a if i % 2 else b).client("owner")
        m = meetings[i % 4]
        posted[m["id"]].append(via.post_message(m["id"], f"twice? {i}")["id"])
    ok.wait_for(lambda rs: sum(len(of_meeting(rs, m["id"], "message.created")) for m in meetings) >= 40,
                what="40 messages")
    time.sleep(1.5)  # room for a duplicate to show up
    requests = [r for r in ok.snapshot() if r["json"]["type"] == "message.created"
                and r["json"]["data"]["meeting"] in posted]
    ids = [r["headers"]["webhook-id"] for r in requests]
    assert len(ids) == 40 and len(set(ids)) == 40
    for mid, expected in posted.items():
        assert [r["json"]["data"]["id"] for r in of_meeting(requests, mid)] == expected


# --------------------------------------------------------------------------------------------
# TLS


def self_signed(directory, name, alt_names):
    """A self-signed certificate and its key, made with the openssl command line."""
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName={alt_names}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_https_endpoints_are_verified_against_the_trusted_certificates(world):
    receiver, instance = world
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command line is missing (scripts/install-deps installs it)")
    tmp = tempfile.mkdtemp(prefix="castera-tls-")
    try:
        trusted = self_signed(tmp, "trusted", "IP:127.0.0.1,DNS:localhost")
        unknown = self_signed(tmp, "unknown", "IP:127.0.0.1,DNS:localhost")  # signed by nobody trusted
        elsewhere = self_signed(tmp, "elsewhere", "DNS:elsewhere.example")  # trusted, another name
        bundle = os.path.join(tmp, "trusted-bundle.pem")
        with open(bundle, "w") as out:
            for cert in (trusted[0], elsewhere[0]):
                with open(cert) as f:
                    out.write(f.read())
        by_ip = receiver(tls=trusted)
        by_name = receiver(tls=trusted, host="localhost")
        refused = receiver(tls=unknown)
        misnamed = receiver(tls=elsewhere)
        misnamed_by_name = receiver(tls=elsewhere, host="localhost")
        # OpenSSL's SSL_CERT_FILE names the trusted certificates instead of the system's file.
        castera = instance([by_ip.url, by_name.url, refused.url, misnamed.url, misnamed_by_name.url],
                           SSL_CERT_FILE=bundle, CASTERA_WEBHOOK_RETRY_BASE_SECONDS="0.2")
        owner, staff = castera.client("owner"), castera.client("staff")
        m = owner.create_meeting(title="Over TLS")
        msg = owner.post_message(m["id"], "encrypted")

        # (a) Both names of the trusted receiver get the events, signed as over http.
        for ok in (by_ip, by_name):
            ok.wait_for(lambda rs: len(of_meeting([r for r in rs if r.get("ok")], m["id"])) == 2,
                        what=f"the events at {ok.url}")
            events = of_meeting(ok.snapshot(), m["id"])
            assert [r["json"]["type"] for r in events] == ["meeting.created", "message.created"]
            assert events[1]["json"]["data"] == msg
            assert verify([{"headers": headers_of(r), "body": r["body"]} for r in events]) == ["ok", "ok"]

        # (b) An unknown certificate, or a trusted one for another name: retried, never delivered,
        # the listing saying why; the receivers never see a request.
        deadline = time.time() + 15
        while time.time() < deadline:
            rows = [e for e in body(staff.get("/api/webhooks/events/?status=pending"), 200) if e["meeting"] == m["id"]]
            stuck = {e["endpoint"]: e for e in rows if e["type"] == "meeting.created"}
            if len(stuck) == 3 and all(e["attempts"] >= 2 for e in stuck.values()):
                break
            time.sleep(0.1)
        assert set(stuck) == {refused.url, misnamed.url, misnamed_by_name.url}, rows
        for e in stuck.values():
            assert e["attempts"] >= 2 and e["last_status"] is None and e["delivered_at"] is None, e
        # OpenSSL's reason, after what failed.
        assert stuck[refused.url]["last_error"] == "TLS: certificate verify failed: self-signed certificate"
        assert stuck[misnamed.url]["last_error"] == "TLS: certificate verify failed: IP address mismatch"
        assert stuck[misnamed_by_name.url]["last_error"] == "TLS: certificate verify failed: hostname mismatch"
        delivered = [e for e in body(staff.get("/api/webhooks/events/?status=delivered"), 200)
                     if e["meeting"] == m["id"]]
        assert {e["endpoint"] for e in delivered} == {by_ip.url, by_name.url}
        assert refused.snapshot() == misnamed.snapshot() == misnamed_by_name.snapshot() == []

        # Without the setting the system's trust store decides, and it does not know that
        # certificate: the trusted receiver is refused too.
        alone = receiver(tls=trusted)
        system_only = instance([alone.url], SSL_CERT_FILE=None, SSL_CERT_DIR=None)
        n = system_only.client("owner").create_meeting(title="System store")
        deadline = time.time() + 15
        while time.time() < deadline:
            rows = [e for e in body(staff.get("/api/webhooks/events/?status=pending"), 200)
                    if e["meeting"] == n["id"] and e["attempts"] >= 1]
            if rows:
                break
            time.sleep(0.1)
        assert rows and rows[0]["last_error"] == "TLS: certificate verify failed: self-signed certificate", rows
        assert alone.snapshot() == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Configuration


def serve_refusal(server, **env):
    e = dict(server.env, **env)
    res = subprocess.run([server.bin, "serve", "--port", "1"], env=e, capture_output=True, text=True, timeout=20)
    return res.returncode, res.stderr.strip()


def test_serve_refuses_bad_webhook_settings_in_one_line(server):
    if not server.can_cli:
        pytest.skip("needs the command line")
    for env, words in [
        ({"CASTERA_WEBHOOK_URLS": "https://hooks.example.com/x"}, "CASTERA_WEBHOOK_SECRET"),
        ({"CASTERA_WEBHOOK_URLS": "https://hooks.example.com/x", "CASTERA_WEBHOOK_SECRET": "whsec_short"},
         "CASTERA_WEBHOOK_SECRET"),
        ({"CASTERA_WEBHOOK_URLS": "http://hooks.example.com/x", "CASTERA_WEBHOOK_SECRET": SECRET}, "https://"),
        ({"CASTERA_WEBHOOK_URLS": "ftp://hooks.example.com/x", "CASTERA_WEBHOOK_SECRET": SECRET},
         "CASTERA_WEBHOOK_URLS"),
        ({"CASTERA_WEBHOOK_RETRY_BASE_SECONDS": "soon"}, "CASTERA_WEBHOOK_RETRY_BASE_SECONDS"),
        ({"CASTERA_WEBHOOK_TIMEOUT_SECONDS": "0"}, "CASTERA_WEBHOOK_TIMEOUT_SECONDS"),
    ]:
        code, err = serve_refusal(server, **env)
        assert code == 1 and len(err.splitlines()) == 1 and words in err, (env, err)


def test_webhooks_secret_prints_a_secret_serve_accepts(server):
    if not server.can_cli:
        pytest.skip("needs the command line")
    res = server.cli("webhooks", "secret")
    assert res.returncode == 0
    secret = res.stdout.strip()
    assert secret.startswith("whsec_") and secret != server.cli("webhooks", "secret").stdout.strip()
    import base64
    assert len(base64.b64decode(secret[6:])) == 32
