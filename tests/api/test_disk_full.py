"""The SQLite database's disk fills up under castera: writes are refused with a 503 that says
so, reads go on, nothing is corrupted or lost, and writes work again once space is freed, all
without a restart. The disk is a small tmpfs mounted for the test (root only)."""

import os
import shutil
import sqlite3
import subprocess
import tempfile

import pytest

from castera_helpers import Client
from conftest import base_env, castera_bin, postgres_test_url, run_cli, start_server, stop_server

pytestmark = [
    pytest.mark.skipif(bool(postgres_test_url()), reason="the SQLite file's disk; PostgreSQL's is its own server's"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs: needs root"),
]

PASSWORD = "disk-full-pass-1"
DISK = "3m"


@pytest.fixture
def small_disk():
    path = tempfile.mkdtemp(prefix="castera-small-disk-")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", path], capture_output=True, text=True)
    if res.returncode != 0:
        os.rmdir(path)
        pytest.skip(f"cannot mount a tmpfs: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        os.rmdir(path)


def fill(path):
    """Writes a file until the disk is full; returns it."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers(small_disk, tmp_path):
    env = base_env(str(tmp_path))
    db = os.path.join(small_disk, "castera.db")
    env.update({"CASTERA_DATABASE_URL": f"sqlite:{db}", "CASTERA_PASSWORD_ITERATIONS": "1000"})
    assert run_cli(castera_bin(), env, "migrate").returncode == 0
    assert run_cli(castera_bin(), env, "createuser", "--email", "full@example.com", "--password-stdin",
                   input=PASSWORD + "\n").returncode == 0
    proc, base_url = start_server(castera_bin(), env, str(tmp_path / "server.log"))
    try:
        client = Client(base_url, "full@example.com", PASSWORD)
        meeting = client.create_meeting()
        path = f"/api/meetings/{meeting['id']}/messages/"
        stored = []
        for i in range(20):
            resp = client.post(path, json={"content": f"before {i}"})
            assert resp.status_code == 201
            stored.append(resp.json()["id"])

        filler = fill(small_disk)
        # Some writes may still fit in pages SQLite already has; then the disk is full.
        refused = 0
        for i in range(400):
            resp = client.post(path, json={"content": f"during {i} " + "x" * 2000})
            assert resp.status_code in (201, 503), (resp.status_code, resp.text)
            if resp.status_code == 201:
                stored.append(resp.json()["id"])
                continue
            refused += 1
            assert resp.headers["Content-Type"].startswith("application/json")
            assert "disk is full" in resp.json()["detail"], resp.text
            if refused >= 20:
                break
        assert refused >= 20, "the disk never filled"

        # Reads go on: the meeting, its messages, the user.
        assert client.get(f"/api/meetings/{meeting['id']}/").status_code == 200
        assert client.get("/api/auth/me/").status_code == 200
        listed = client.get(path + "?page_size=1000")
        assert listed.status_code == 200
        assert client.get("/readyz").status_code in (200, 503)

        os.remove(filler)
        for i in range(20):
            resp = client.post(path, json={"content": f"after {i}"})
            assert resp.status_code == 201, resp.text
            stored.append(resp.json()["id"])
        assert client.post("/api/meetings/", json={"title": "after the disk was freed",
                                                   "scheduled_date": "2030-01-01T10:00:00Z"}).status_code == 201
    finally:
        assert stop_server(proc) is not None

    # Every acknowledged write is there, once, and the file is sound.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM meetings_message WHERE meeting_id = ?", (meeting["id"],))]
    assert sorted(ids) == sorted(stored)
    log = (tmp_path / "server.log").read_text()
    assert "Internal server error" not in log and "unexpected error" not in log
    shutil.rmtree(tmp_path, ignore_errors=True)
