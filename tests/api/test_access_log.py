"""The access log: one line per request and per WebSocket session, text or JSON; X-Request-ID
kept when well-formed, replaced otherwise; never a password, token, cookie or message body."""

import json
import os
import re
import shutil
import tempfile
import time
import uuid

import pytest
import requests

from castera_helpers import Client, SessionClient, basic_header, body, run, ws_open, ws_recv_chat
from conftest import base_env, castera_bin, run_cli, start_server, stop_server

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
EMAIL = "logged@example.com"
PASSWORD = "a-password-never-logged-" + uuid.uuid4().hex[:8]


class LoggedServer:
    def __init__(self, extra_env):
        self.dir = tempfile.mkdtemp(prefix="castera-access-log-")
        self.bin = castera_bin()
        self.env = dict(base_env(self.dir), **extra_env)
        assert run_cli(self.bin, self.env, "migrate").returncode == 0
        res = run_cli(self.bin, self.env, "createuser", "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n")
        assert res.returncode == 0, res.stderr
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc, self.url = start_server(self.bin, self.env, self.log_path)

    def text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def access_lines(self):
        return [json.loads(line) for line in self.text().splitlines() if '"component":"access"' in line]

    def line_for(self, request_id, timeout=5.0):
        """The access line with this request id (the log's writer may take a few ms)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.access_lines() if line["request_id"] == request_id]
            if found:
                assert len(found) == 1, found
                return found[0]
            assert time.monotonic() < deadline, f"no access line for {request_id}; log:\n{self.text()[-3000:]}"
            time.sleep(0.05)

    def stop(self):
        code = stop_server(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


@pytest.fixture(scope="module")
def logged():
    server = LoggedServer({"CASTERA_LOG_FORMAT": "json"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user(logged):
    return Client(logged.url, EMAIL, PASSWORD)


def test_a_request_is_one_json_line_with_its_route_and_user(logged, user):
    meeting = user.create_meeting()
    res = user.get(f"/api/meetings/{meeting['id']}/", headers={"X-Request-ID": "req-one.1_A"})
    assert res.status_code == 200 and res.headers["X-Request-ID"] == "req-one.1_A"
    line = logged.line_for("req-one.1_A")
    assert line["component"] == "access" and line["level"] == "info" and line["message"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/api/meetings/{id}/"
    assert line["path"] == f"/api/meetings/{meeting['id']}/"
    assert line["status"] == 200
    assert line["bytes"] == len(res.content)
    assert line["user"] == user.user_id
    assert line["remote"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 5000


def test_an_anonymous_refusal_and_an_unknown_path_are_logged(logged):
    anon = Client(logged.url)
    refused = anon.get("/api/meetings/", headers={"X-Request-ID": "anon-1"})
    assert refused.status_code == 403
    line = logged.line_for("anon-1")
    assert (line["status"], line["user"], line["route"]) == (403, None, "/api/meetings/")
    missing = anon.get("/api/no-such-thing/", headers={"X-Request-ID": "anon-2"})
    assert missing.status_code == 404
    assert logged.line_for("anon-2")["route"] == "unmatched"


def test_a_request_without_an_id_gets_one(logged):
    res = requests.get(logged.url + "/healthz", timeout=10)
    made = res.headers["X-Request-ID"]
    assert REQUEST_ID.match(made)
    assert logged.line_for(made)["path"] == "/healthz"
    other = requests.get(logged.url + "/healthz", timeout=10).headers["X-Request-ID"]
    assert other != made


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "<script>", "caf\u00e9"])
def test_a_malformed_request_id_is_replaced_not_echoed(logged, bad):
    res = requests.get(logged.url + "/healthz", headers={"X-Request-ID": bad.encode("utf-8")}, timeout=10)
    assert res.status_code == 200
    given = res.headers["X-Request-ID"]
    assert given != bad and REQUEST_ID.match(given)
    logged.line_for(given)
    assert bad not in logged.text()


def test_a_websocket_session_is_one_line_when_it_ends(logged, user):
    meeting = user.create_meeting()

    async def session():
        ws = await ws_open(logged.url, meeting["room_id"], EMAIL, PASSWORD, headers=[("X-Request-ID", "ws-session-1")])
        assert ws.response_headers["X-Request-ID"] == "ws-session-1"
        await ws.send(json.dumps({"message": "hello"}))
        await ws_recv_chat(ws)
        # Still open: no line yet (a session is logged at its end).
        assert not [line for line in logged.access_lines() if line["request_id"] == "ws-session-1"]
        await ws.close()

    run(session())
    line = logged.line_for("ws-session-1")
    assert line["message"] == "websocket"
    assert line["route"] == "/ws/meetings/{room}/" and line["path"] == f"/ws/meetings/{meeting['room_id']}/"
    assert line["status"] == 101 and line["user"] == user.user_id
    assert line["bytes"] > 0 and line["bytes_in"] > 0


def test_a_refused_upgrade_is_a_request_line(logged, user):
    meeting = user.create_meeting()
    import websockets

    async def refused():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as caught:
            await ws_open(logged.url, meeting["room_id"], headers=[("X-Request-ID", "ws-refused-1")])
        assert caught.value.status_code == 403

    run(refused())
    line = logged.line_for("ws-refused-1")
    assert (line["message"], line["status"], line["route"], line["user"]) == ("request", 403, "/ws/meetings/{room}/", None)


def test_no_password_token_cookie_or_message_reaches_the_log(logged):
    """Every secret and body the API sees, in every way it can arrive, then none of them in the log."""
    chat = "chat-body-" + uuid.uuid4().hex
    posted = "rest-body-" + uuid.uuid4().hex
    session = SessionClient(logged.url)
    assert session.login(EMAIL, PASSWORD).status_code == 200
    secrets_seen = [PASSWORD, session.sessionid, session.http.cookies.get("csrftoken"),
                    basic_header(EMAIL, PASSWORD).split()[1], chat, posted]
    meeting = body(session.post("/api/meetings/", json={"title": "secret", "scheduled_date": "2030-01-01T00:00:00Z"}), 201)
    body(session.post(f"/api/meetings/{meeting['id']}/messages/", json={"content": posted}), 201)
    key = body(session.post("/api/auth/tokens/", json={"name": "bot"}), 201)["token"]
    secrets_seen.append(key)
    token_client = Client(logged.url, authorization=f"Token {key}")
    body(token_client.get("/api/auth/me/"), 200)
    # A wrong password and a form-encoded login go through the parsers and the throttle's log.
    requests.post(logged.url + "/api/auth/login/", data={"email": EMAIL, "password": PASSWORD + "-wrong"}, timeout=10)
    secrets_seen.append(PASSWORD + "-wrong")
    # Basic on a form body, and an API token in a WebSocket's query.
    Client(logged.url, EMAIL, PASSWORD).get("/api/auth/me/")

    async def chat_over_token():
        ws = await ws_open(logged.url, meeting["room_id"], query=f"?access_token={key}")
        await ws.send(json.dumps({"message": chat}))
        await ws_recv_chat(ws)
        await ws.close()

    run(chat_over_token())
    # One more line, so that everything before it has been written.
    logged.line_for(requests.get(logged.url + "/healthz", timeout=10).headers["X-Request-ID"])
    time.sleep(0.2)
    text = logged.text()
    leaked = [s for s in secrets_seen if s and s in text]
    assert not leaked, f"the log holds {leaked}"
    assert "access_token" not in text


def test_the_text_format_has_the_same_fields(server, owner):
    owner.get("/api/auth/me/", headers={"X-Request-ID": "text-format-1"})
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in server.log_tail(200000).splitlines() if "request_id=text-format-1" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not server.log_path:
        pytest.skip("the server is not ours (CASTERA_TEST_URL)")
    assert len(lines) == 1, lines
    assert re.search(r" info access: request method=GET route=/api/auth/me/ path=/api/auth/me/ status=200 "
                     r"duration_ms=\d+\.\d{3} bytes=\d+ user=\d+ remote=127\.0\.0\.1 request_id=text-format-1$",
                     lines[0]), lines[0]


def test_the_access_log_can_be_turned_off():
    quiet = LoggedServer({"CASTERA_LOG_FORMAT": "json", "CASTERA_ACCESS_LOG": "off"})
    try:
        res = requests.get(quiet.url + "/healthz", timeout=10)
        assert res.status_code == 200 and REQUEST_ID.match(res.headers["X-Request-ID"])
    finally:
        code = stop_server(quiet.proc)  # the log is complete once the process is gone
        text = quiet.text()
        shutil.rmtree(quiet.dir, ignore_errors=True)
    assert code == 0
    assert '"component":"access"' not in text and '"component":"server"' in text
