"""Memory after a mass disconnect: once many WebSocket connections have gone, castera gives the
memory they held back to the system instead of keeping the RSS of its peak."""

import base64
import resource
import secrets
import socket
import time

import pytest

from castera_helpers import Client, basic_header, host_port
from conftest import base_env, castera_bin, run_cli, start_server, stop_server

CONNECTIONS = 2000


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_compatible(base_url, room_id, authorization):
    """A WebSocket without the typed protocol: nothing is sent to it while it sits idle."""
    host, port = host_port(base_url)
    sock = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    sock.sendall((f"GET /ws/meetings/{room_id}/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: {authorization}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "closed during the upgrade"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return sock


@pytest.fixture
def descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * CONNECTIONS + 512  # the test's sockets, and castera's: it inherits the limit
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_memory_of_closed_connections_is_given_back(tmp_path, descriptors):
    env = base_env(str(tmp_path))
    env.update({"CASTERA_PASSWORD_ITERATIONS": "1000",
                "CASTERA_WS_MAX_CONNECTIONS_PER_USER": str(10 * CONNECTIONS),
                "CASTERA_WS_MAX_CONNECTIONS_PER_ROOM": str(10 * CONNECTIONS)})
    assert run_cli(castera_bin(), env, "migrate").returncode == 0
    email, password = "crowd@example.com", "crowd-pass-1"
    assert run_cli(castera_bin(), env, "createuser", "--email", email, "--password-stdin",
                   input=password + "\n").returncode == 0
    proc, base_url = start_server(castera_bin(), env, str(tmp_path / "server.log"))
    try:
        room_id = Client(base_url, email, password).create_meeting()["room_id"]
        authorization = basic_header(email, password)
        before = rss_kib(proc.pid)
        crowd = [open_compatible(base_url, room_id, authorization) for _ in range(CONNECTIONS)]
        time.sleep(0.5)
        held = rss_kib(proc.pid) - before
        assert held > 8 * 1024, f"{CONNECTIONS} connections took only {held} KiB"
        for sock in crowd:
            sock.close()

        # Taking the connections down costs memory too; the give-back comes once their count
        # has not moved for a second. Without it, the RSS stays at its highest.
        highest = after = rss_kib(proc.pid)
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            time.sleep(0.2)
            after = rss_kib(proc.pid)
            highest = max(highest, after)
            if after <= highest - held // 2:
                break
        assert after <= highest - held // 2, (
            f"RSS {before} KiB before, +{held} KiB with {CONNECTIONS} connections, {highest} KiB "
            f"at most after they closed, still {after} KiB 12 s later")
        assert proc.poll() is None
    finally:
        stop_server(proc)
