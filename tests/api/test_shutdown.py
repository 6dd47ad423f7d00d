"""SIGTERM: castera stops accepting, answers the request in flight, keeps every chat it
acknowledged, closes WebSockets with 1001 and exits with status 0."""

import asyncio
import json
import os
import shutil
import signal
import socket
import tempfile
import time

import pytest
import websockets

from castera_helpers import Client, basic_header, raw_body, raw_status, run, ws_open, ws_recv_chat
from conftest import base_env, castera_bin, run_cli, start_server, stop_server

EMAIL = "leaving@example.com"
PASSWORD = "shutdown-pass-1"


@pytest.fixture
def world():
    tmpdir = tempfile.mkdtemp(prefix="castera-shutdown-")
    env = base_env(tmpdir)
    binary = castera_bin()
    assert run_cli(binary, env, "migrate").returncode == 0
    res = run_cli(binary, env, "createuser", "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    procs = []

    def start():
        proc, url = start_server(binary, env, os.path.join(tmpdir, "server.log"))
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        stop_server(proc)
    shutil.rmtree(tmpdir, ignore_errors=True)


def begin_post(url, path, payload):
    """A POST whose header and first half of the body are sent: the request is in flight."""
    host, port = url.rsplit(":", 1)[0].split("//")[1], int(url.rsplit(":", 1)[1])
    sock = socket.create_connection((host, port), timeout=10)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {basic_header(EMAIL, PASSWORD)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
    half = len(payload) // 2
    sock.sendall(head + payload[:half])
    return sock, payload[half:]


def read_answer(sock):
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece


def test_sigterm_answers_the_request_in_flight_keeps_chats_and_closes_sockets_with_1001(world):
    proc, url = world()
    client = Client(url, EMAIL, PASSWORD)
    meeting = client.create_meeting()
    path = f"/api/meetings/{meeting['id']}/messages/"

    async def scenario():
        ws = await ws_open(url, meeting["room_id"], EMAIL, PASSWORD)
        await ws.send(json.dumps({"message": "acknowledged before the stop"}))
        assert (await ws_recv_chat(ws))["message"] == "acknowledged before the stop"
        sock, rest = begin_post(url, path, json.dumps({"content": "in flight at the stop"}).encode())
        await asyncio.sleep(0.2)  # the header has been read: the request counts as in flight
        proc.send_signal(signal.SIGTERM)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.exceptions.ConnectionClosed as closed:
            close_code = closed.code
        sock.sendall(rest)
        answer = await asyncio.get_running_loop().run_in_executor(None, read_answer, sock)
        sock.close()
        return close_code, answer

    close_code, answer = run(scenario())
    assert close_code == 1001
    assert raw_status(answer) == 201, answer[:500]
    head, content = raw_body(answer)
    assert json.loads(content)["content"] == "in flight at the stop"
    assert b"connection: close" in head.lower()
    assert proc.wait(timeout=15) == 0

    # Started again on the same database: both are there.
    proc, url = world()
    messages = Client(url, EMAIL, PASSWORD).get(path).json()
    assert [m["content"] for m in messages] == ["acknowledged before the stop", "in flight at the stop"]


def test_sigterm_stops_accepting(world):
    proc, url = world()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
