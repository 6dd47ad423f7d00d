"""PostgreSQL going away under a running server, and coming back.

Runs only against a cluster made by scripts/pg-test-cluster: CASTERA_TEST_DATABASE_URL names
its database and CASTERA_TEST_PG_CLUSTER its directory (scripts/test sets both). The test
starts a server of its own on the suite's database, so the shared one is not disturbed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from castera_helpers import Client, run, ws_expect_close, ws_open, ws_sync
from conftest import REPO_ROOT, postgres_test_url, start_server, stop_server

CLUSTER = os.environ.get("CASTERA_TEST_PG_CLUSTER")

pytestmark = pytest.mark.skipif(
    not (postgres_test_url() and CLUSTER),
    reason="needs CASTERA_TEST_DATABASE_URL and CASTERA_TEST_PG_CLUSTER (scripts/pg-test-cluster)")


def cluster(action):
    script = os.path.join(REPO_ROOT, "scripts", "pg-test-cluster")
    res = subprocess.run([script, action, CLUSTER], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"pg-test-cluster {action} failed: {res.stderr.strip()}"


@pytest.fixture
def own_server(server):
    """A castera serve of this test's own, on the suite's PostgreSQL database."""
    if not server.can_cli or not server.env:
        pytest.skip("needs to start castera itself")
    log_dir = tempfile.mkdtemp(prefix="castera-pg-faults-")
    try:
        proc, base_url = start_server(server.bin, server.env, os.path.join(log_dir, "server.log"))
        yield proc, base_url
        code = stop_server(proc)
        assert code is not None, "castera serve did not exit within 10 s of SIGTERM"
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture
def paused_database():
    """Stops PostgreSQL for the test's middle part; always started again afterwards."""
    state = {"paused": False}

    def pause():
        cluster("pause")
        state["paused"] = True

    def resume():
        cluster("resume")
        state["paused"] = False

    yield pause, resume
    if state["paused"]:
        resume()


def test_database_outage_is_503_and_recovers_without_restart(own_server, paused_database, users, server):
    proc, base_url = own_server
    pause, resume = paused_database
    owner = users["owner"]
    client = Client(base_url, owner.email, owner.password)
    assert client.get("/api/meetings/").status_code == 200
    assert client.get("/readyz").status_code == 200

    pause()
    started = time.monotonic()
    for path in ("/api/meetings/", "/api/meetings/", "/api/dashboard/"):
        r = client.get(path, timeout=20)
        assert r.status_code == 503, f"{path} while the database is down: {r.status_code} {r.text[:200]}"
        assert r.headers.get("Content-Type", "").startswith("application/json")
        assert "detail" in r.json()
    assert time.monotonic() - started < 15, "answers while the database is down came too slowly"
    r = client.get("/readyz", timeout=20)
    assert r.status_code == 503 and r.json()["database"] == "down"
    assert client.get("/healthz").status_code == 200, "the process itself is up"
    assert proc.poll() is None, "castera serve died when the database went away"

    resume()
    r = client.get("/api/meetings/", timeout=20)
    assert r.status_code == 200, f"after the database came back: {r.status_code} {r.text[:200]}"
    made = client.post("/api/meetings/", json={"title": "after the outage",
                                               "scheduled_date": "2030-01-01T09:00:00Z"})
    assert made.status_code == 201, made.text
    assert client.get(f"/api/meetings/{made.json()['id']}/").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert proc.poll() is None

    # The suite's server sat idle through the outage: its pooled connections died quietly,
    # and its next requests must not be answered with them.
    shared = Client(server.base_url, owner.email, owner.password)
    for _ in range(4):
        r = shared.get("/api/meetings/")
        assert r.status_code == 200, f"the suite's server after the outage: {r.status_code} {r.text[:200]}"


def test_a_chat_the_database_cannot_store_closes_its_socket_1011(own_server, paused_database, users):
    proc, base_url = own_server
    pause, resume = paused_database
    owner = users["owner"]
    client = Client(base_url, owner.email, owner.password)
    made = client.post("/api/meetings/", json={"title": "chat in an outage",
                                               "scheduled_date": "2030-01-01T09:00:00Z"})
    assert made.status_code == 201, made.text

    async def scenario():
        ws = await ws_open(base_url, made.json()["room_id"], email=owner.email, password=owner.password)
        try:
            await ws_sync(ws, owner.email)
            pause()
            await ws.send(json.dumps({"message": "lost in the outage"}))
            await ws_expect_close(ws, 1011, timeout=20)
        finally:
            await ws.close()

    run(scenario())
    resume()
    assert proc.poll() is None, "castera serve died when a chat could not be stored"
    texts = [m["content"] for m in client.get(f"/api/meetings/{made.json()['id']}/messages/").json()]
    assert "lost in the outage" not in texts
