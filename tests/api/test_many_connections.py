"""A server that holds many WebSocket connections at once: it takes the descriptors it is
allowed (a shell's soft limit of 1,024 would stop it at about a thousand connections), and it
gives the memory of connections back to the system once they are gone."""

import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from castera_helpers import Client, host_port, wait_healthy
from conftest import base_env, castera_bin, free_port, postgres_test_url, run_cli, sanitized_skip, stop_server

CONNECTIONS = 2000
SHELL_SOFT_LIMIT = 1024

pytestmark = [
    pytest.mark.skipif(postgres_test_url() is not None,
                       reason="the same with either database; run once, with SQLite"),
    pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc"),
    pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2 * CONNECTIONS + 512,
                       reason="the hard descriptor limit is too low for this many connections"),
]


class World:
    pass


@pytest.fixture(scope="module")
def crowded():
    """castera started as a shell would start it, with a soft descriptor limit of 1,024."""
    w = World()
    w.dir = tempfile.mkdtemp(prefix="castera-crowd-")
    env = base_env(w.dir)
    env.update({"CASTERA_PASSWORD_ITERATIONS": "1000",
                "CASTERA_WS_MAX_CONNECTIONS_PER_USER": str(2 * CONNECTIONS),
                "CASTERA_WS_MAX_CONNECTIONS_PER_ROOM": str(2 * CONNECTIONS)})
    assert run_cli(castera_bin(), env, "migrate").returncode == 0
    assert run_cli(castera_bin(), env, "createuser", "--email", "crowd@example.com", "--password-stdin",
                   input="crowd-pass-1\n").returncode == 0
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    port = free_port()
    with open(os.path.join(w.dir, "server.log"), "ab") as log:
        w.proc = subprocess.Popen(
            [castera_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (SHELL_SOFT_LIMIT, hard)))
    w.base_url = f"http://127.0.0.1:{port}"
    # This process holds the client side of every connection.
    w.saved_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(w.saved_limit[0], CONNECTIONS + 512), hard))
    try:
        wait_healthy(w.base_url, timeout=15, proc=w.proc)
        client = Client(w.base_url, "crowd@example.com", "crowd-pass-1")
        w.token = client.post("/api/auth/tokens/", json={"name": "crowd"}).json()["token"]
        w.room_id = client.create_meeting()["room_id"]
        yield w
    finally:
        stop_server(w.proc)
        resource.setrlimit(resource.RLIMIT_NOFILE, w.saved_limit)
        shutil.rmtree(w.dir, ignore_errors=True)


def server_rss_kib(proc):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_idle_connections(w, count):
    """Opens `count` compatible WebSocket connections to one room; fails at the first refused."""
    host, port = host_port(w.base_url)
    upgrade = (f"GET /ws/meetings/{w.room_id}/?access_token={w.token} HTTP/1.1\r\n"
               f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    sockets = []
    try:
        for i in range(count):
            s = socket.create_connection((host, port), timeout=5)
            sockets.append(s)
            s.sendall(upgrade)
            try:
                answer = s.recv(4096)
            except socket.timeout:
                answer = b"(no answer within 5 s)"
            assert answer.startswith(b"HTTP/1.1 101"), f"connection {i + 1}: {answer[:60]!r}"
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def close_all(sockets):
    for s in sockets:
        s.close()


def test_castera_takes_the_hard_descriptor_limit(crowded):
    with open(f"/proc/{crowded.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


# Before any other test opens connections on this server: "before" is a fresh server's RSS.
# It measures jemalloc's returning memory; AddressSanitizer's allocator replaces jemalloc and
# keeps freed memory in quarantine on purpose.
@sanitized_skip("its allocator keeps freed memory in quarantine; this measures jemalloc's")
def test_the_memory_of_closed_connections_is_given_back(crowded):
    before = server_rss_kib(crowded.proc)
    sockets = open_idle_connections(crowded, CONNECTIONS)
    time.sleep(0.5)
    held = server_rss_kib(crowded.proc)
    close_all(sockets)
    assert held - before > 4 * CONNECTIONS, f"RSS {before} -> {held} KiB: connections cost nothing?"
    # Within seconds (the allocator returns what stayed free for a while), not only when the
    # process ends.
    enough = before + (held - before) // 3
    deadline = time.monotonic() + 45
    rss = held
    while time.monotonic() < deadline:
        time.sleep(1)
        rss = server_rss_kib(crowded.proc)
        if rss <= enough:
            break
    assert rss <= enough, f"RSS {before} KiB before, {held} with {CONNECTIONS} connections, {rss} 45 s after"
    assert crowded.proc.poll() is None
    assert Client(crowded.base_url).get("/healthz").status_code == 200


def test_more_connections_than_the_shell_limit_are_held(crowded):
    sockets = open_idle_connections(crowded, CONNECTIONS)
    close_all(sockets)
    assert crowded.proc.poll() is None
