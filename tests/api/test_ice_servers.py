"""ICE servers: STUN as configured and TURN with coturn's time-limited credentials, over REST
and in the castera.v2 welcome; coturn itself accepts the credential castera hands out."""

import base64
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from castera_helpers import Client, SessionClient, body, run
from conftest import base_env, castera_bin, free_port, run_cli, start_server, stop_server
from test_realtime_v2 import recv, v2_open

SECRET = "turn-shared-secret"


def coturn_credential(username):
    return base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture(scope="module")
def ice_world():
    """castera with STUN and TURN configured (TURN on a port a test coturn may take), and a user."""
    binary = castera_bin()
    tmpdir = tempfile.mkdtemp(prefix="castera-ice-")
    turn_port = free_port()
    env = dict(base_env(tmpdir), CASTERA_STUN_URLS="stun:stun.example.com:3478",
               CASTERA_TURN_URLS=f"turn:127.0.0.1:{turn_port}?transport=udp,turns:turn.example.com:5349",
               CASTERA_TURN_SECRET=SECRET, CASTERA_TURN_TTL_SECONDS="600")
    assert run_cli(binary, env, "migrate").returncode == 0
    password = "ice-user-pass-1"
    res = run_cli(binary, env, "createuser", "--email", "ice@example.com", "--password-stdin", input=password + "\n")
    assert res.returncode == 0, res.stderr
    proc, url = start_server(binary, env, os.path.join(tmpdir, "server.log"))
    client = SessionClient(url)
    client.login("ice@example.com", password)
    yield {"url": url, "client": client, "turn_port": turn_port, "password": password}
    stop_server(proc)
    shutil.rmtree(tmpdir, ignore_errors=True)


def test_ice_servers_follow_coturns_rest_scheme(ice_world):
    c = ice_world["client"]
    got = body(c.get("/api/ice-servers/"), 200)
    assert got["ttl"] == 600
    stun, turn = got["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.com:3478"]}
    assert turn["urls"] == [f"turn:127.0.0.1:{ice_world['turn_port']}?transport=udp", "turns:turn.example.com:5349"]
    expiry, user_id = turn["username"].split(":")
    assert int(user_id) == c.user_id
    assert abs(int(expiry) - (time.time() + 600)) < 30
    assert turn["credential"] == coturn_credential(turn["username"])


def test_ice_servers_need_a_signed_in_user(ice_world):
    assert Client(ice_world["url"]).get("/api/ice-servers/").status_code == 403


def test_the_welcome_carries_the_same_ice_servers(ice_world):
    c = ice_world["client"]
    m = c.create_meeting()

    class U:
        email = "ice@example.com"
        password = ice_world["password"]

    async def scenario():
        ws = await v2_open(ice_world["url"], m["room_id"], U)
        try:
            return await recv(ws)
        finally:
            await ws.close()

    welcome = run(scenario())
    assert welcome["type"] == "welcome"
    servers = welcome["ice_servers"]
    assert servers[0] == {"urls": ["stun:stun.example.com:3478"]}
    assert servers[1]["credential"] == coturn_credential(servers[1]["username"])


def test_coturn_accepts_the_credential(ice_world):
    turnserver, uclient = shutil.which("turnserver"), shutil.which("turnutils_uclient")
    assert turnserver and uclient, "coturn missing: scripts/install-deps installs Debian's coturn"
    port = ice_world["turn_port"]
    log = tempfile.NamedTemporaryFile(prefix="coturn-", suffix=".log", delete=False)
    proc = subprocess.Popen([turnserver, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                             f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
                             "--realm=castera.test", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout",
                             "--simple-log", "--allow-loopback-peers"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        turn = body(ice_world["client"].get("/api/ice-servers/"), 200)["ice_servers"][1]

        def allocate(password):
            return subprocess.run([uclient, "-y", "-n", "1", "-m", "1", "-l", "100", "-u", turn["username"],
                                   "-w", password, "-p", str(port), "127.0.0.1"],
                                  capture_output=True, text=True, timeout=30)

        good = allocate(turn["credential"])
        assert good.returncode == 0 and "Cannot complete Allocation" not in good.stdout + good.stderr, \
            good.stdout + good.stderr
        bad = allocate(coturn_credential("0:0"))
        assert "Cannot complete Allocation" in bad.stdout + bad.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        os.unlink(log.name)


@pytest.mark.parametrize("settings,named", [
    ({"CASTERA_TURN_URLS": "turn:turn.example.com"}, "CASTERA_TURN_SECRET"),
    ({"CASTERA_STUN_URLS": "http://stun.example.com"}, "CASTERA_STUN_URLS"),
    ({"CASTERA_TURN_URLS": "stun:x.example.com", "CASTERA_TURN_SECRET": "s"}, "CASTERA_TURN_URLS"),
    ({"CASTERA_TURN_TTL_SECONDS": "soon"}, "CASTERA_TURN_TTL_SECONDS"),
])
def test_bad_ice_settings_stop_startup_with_one_line(settings, named):
    tmpdir = tempfile.mkdtemp(prefix="castera-ice-bad-")
    try:
        env = dict(base_env(tmpdir), **settings)
        res = run_cli(castera_bin(), env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
        assert res.returncode != 0
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], res.stderr
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
