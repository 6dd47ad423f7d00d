"""/metrics: Prometheus' text format (checked by promtool), route templates as labels, the
counters moving with what castera does, and the optional bearer token."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import requests

from castera_helpers import Client, run, ws_recv_json
from test_realtime_v2 import v2_open
from conftest import base_env, castera_bin, run_cli, start_server, stop_server

SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')


def scrape(base_url, **headers):
    s = requests.Session()
    s.trust_env = False
    return s.get(base_url + "/metrics", headers=headers, timeout=10)


def samples(text):
    """{(name, frozenset of label pairs): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_scrape_passes_promtool(base_url, owner):
    owner.create_meeting()
    res = scrape(base_url)
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-deps installs Debian's prometheus package"
    check = subprocess.run([promtool, "check", "metrics"], input=res.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # promtool prints lint problems (and still exits 0 for some): none expected.
    assert check.stdout.strip() == "" and check.stderr.strip() == "", check.stdout + check.stderr


def test_routes_are_templates_and_unknown_paths_are_unmatched(base_url, owner):
    m = owner.create_meeting()
    for _ in range(3):
        assert owner.get(f"/api/meetings/{m['id']}/").status_code == 200
    assert owner.get("/api/meetings/999999999/").status_code == 404
    assert owner.get("/no/such/path/12345").status_code == 404
    found = samples(scrape(base_url).text)
    routes = {dict(labels).get("route") for (name, labels) in found if name == "castera_http_requests_total"}
    assert "/api/meetings/{id}/" in routes
    assert "unmatched" in routes
    assert not any(r and re.search(r"/\d+", r) for r in routes), routes
    assert not any(r and "no/such" in r for r in routes), routes
    assert value(found, "castera_http_requests_total", method="GET", route="/api/meetings/{id}/", status="200") >= 3
    assert value(found, "castera_http_requests_total", method="GET", route="/api/meetings/{id}/", status="404") >= 1
    assert value(found, "castera_http_request_duration_seconds_count", route="/api/meetings/{id}/") >= 4


def test_counters_follow_chat_and_connections(base_url, owner, users):
    m = owner.create_meeting()
    before = samples(scrape(base_url).text)
    owner.post_message(m["id"], "counted")
    u = users["owner"]

    async def scenario():
        ws = await v2_open(base_url, m["room_id"], u)
        try:
            await ws_recv_json(ws)  # the welcome
            during = samples(scrape(base_url).text)
            await ws.send(json.dumps({"type": "ping", "id": 1}))
            await ws_recv_json(ws)
            return during
        finally:
            await ws.close()

    during = run(scenario())
    after = samples(scrape(base_url).text)
    assert value(after, "castera_chats_stored_total") >= value(before, "castera_chats_stored_total") + 1
    assert value(during, "castera_websocket_connections", protocol="castera.v2") >= 1
    assert value(during, "castera_rooms") >= 1
    assert value(after, "castera_ws_frames_received_total") >= value(before, "castera_ws_frames_received_total") + 1
    assert value(after, "castera_ws_frames_sent_total") >= value(before, "castera_ws_frames_sent_total") + 2
    assert value(after, "castera_http_requests_total", method="GET", route="/ws/meetings/{room}/", status="101") >= 1
    assert value(after, "castera_bus_connected", bus="local") == 1
    for name in ("process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
                 "process_start_time_seconds"):
        assert value(after, name) > 0, name


def test_throttled_logins_are_counted(base_url, server):
    before = value(samples(scrape(base_url).text), "castera_login_throttled_total")
    c = Client(base_url)
    email = "nobody-metrics@example.com"
    statuses = [c.post("/api/auth/login/", json={"email": email, "password": "wrong"}).status_code
                for _ in range(8)]
    assert 429 in statuses, statuses
    assert value(samples(scrape(base_url).text), "castera_login_throttled_total") > before


def test_a_metrics_token_is_required_when_set():
    binary = castera_bin()
    tmpdir = tempfile.mkdtemp(prefix="castera-metrics-")
    env = dict(base_env(tmpdir), CASTERA_METRICS_TOKEN="scrape-secret")
    try:
        assert run_cli(binary, env, "migrate").returncode == 0
        proc, url = start_server(binary, env, os.path.join(tmpdir, "server.log"))
        try:
            assert scrape(url).status_code == 401
            assert scrape(url, Authorization="Bearer wrong").status_code == 401
            assert scrape(url, Authorization="Token scrape-secret").status_code == 401
            ok = scrape(url, Authorization="Bearer scrape-secret")
            assert ok.status_code == 200 and "castera_http_requests_total" in ok.text
        finally:
            assert stop_server(proc) == 0
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
