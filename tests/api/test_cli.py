"""The command line, start-up and shutdown (each test on its own temporary database)."""

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile

import pytest
import websockets

from castera_helpers import Client, body, run, ws_open, ws_sync
from conftest import base_env, castera_bin, free_port, run_cli, start_server, stop_server

pytestmark = pytest.mark.cli


@pytest.fixture
def world():
    """A private temporary directory and environment for one test."""
    binary = castera_bin()
    if not os.path.exists(binary):
        pytest.skip(f"castera binary not found at {binary}")
    tmpdir = tempfile.mkdtemp(prefix="castera-cli-test-")
    env = base_env(tmpdir)
    procs = []

    class World:
        pass

    w = World()
    w.bin, w.env, w.dir, w.procs = binary, env, tmpdir, procs
    w.cli = lambda *a, **kw: run_cli(binary, env, *a, **kw)
    yield w
    for p in procs:
        stop_server(p)
    shutil.rmtree(tmpdir, ignore_errors=True)


def test_migrate_is_idempotent(world):
    first = world.cli("migrate")
    assert first.returncode == 0, first.stderr
    second = world.cli("migrate")
    assert second.returncode == 0, second.stderr


def test_commands_other_than_serve_need_no_secret_key(world):
    """The README's first steps run `castera createuser` in a plain shell, outside debug mode
    and without a key: only the server signs anything."""
    for name in ("DJANGO_SECRET_KEY", "CASTERA_SECRET_KEY", "DJANGO_DEBUG", "CASTERA_DEBUG"):
        world.env.pop(name, None)
    assert world.cli("migrate").returncode == 0
    res = world.cli("createuser", "--email", "nokey@example.com", "--password-stdin", input="a good password\n")
    assert res.returncode == 0, res.stderr
    res = world.cli("changepassword", "--email", "nokey@example.com", "--password-stdin", input="a better one\n")
    assert res.returncode == 0, res.stderr
    res = world.cli("serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert res.returncode != 0 and "SECRET_KEY" in res.stderr


def test_createuser_then_duplicate_email(world):
    assert world.cli("migrate").returncode == 0
    res = world.cli("createuser", "--email", "dup@example.com", "--password-stdin",
                    input="secret-one\n")
    assert res.returncode == 0, res.stderr
    res = world.cli("createuser", "--email", "dup@example.com", "--password-stdin",
                    input="secret-two\n")
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {res.stderr!r}"


def test_createuser_duplicate_keeps_the_first_password(world):
    assert world.cli("migrate").returncode == 0
    assert world.cli("createuser", "--email", "keep@example.com", "--password-stdin",
                     input="first-pass\n").returncode == 0
    assert world.cli("createuser", "--email", "keep@example.com", "--password-stdin",
                     input="second-pass\n").returncode != 0
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    assert body(Client(base_url, "keep@example.com", "first-pass").get("/api/auth/me/"),
                200)["email"] == "keep@example.com"
    assert Client(base_url, "keep@example.com", "second-pass").get(
        "/api/auth/me/").status_code == 403


def test_changepassword_unknown_email_fails(world):
    assert world.cli("migrate").returncode == 0
    res = world.cli("changepassword", "--email", "nobody@example.com", "--password-stdin",
                    input="whatever\n")
    assert res.returncode != 0
    assert res.stderr.strip()


def test_changepassword_before_serve(world):
    assert world.cli("migrate").returncode == 0
    assert world.cli("createuser", "--email", "cp@example.com", "--password-stdin",
                     input="before\n").returncode == 0
    assert world.cli("changepassword", "--email", "cp@example.com", "--password-stdin",
                     input="after\n").returncode == 0
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    assert Client(base_url, "cp@example.com", "before").get("/api/auth/me/").status_code == 403
    assert Client(base_url, "cp@example.com", "after").get("/api/auth/me/").status_code == 200


def test_data_survives_a_restart(world):
    assert world.cli("migrate").returncode == 0
    assert world.cli("createuser", "--email", "r@example.com", "--password-stdin",
                     input="restart-pass\n").returncode == 0
    log = os.path.join(world.dir, "log")
    proc, base_url = start_server(world.bin, world.env, log)
    c = Client(base_url, "r@example.com", "restart-pass")
    m = c.create_meeting(title="persist")
    c.post_message(m["id"], "kept")
    assert stop_server(proc) == 0
    proc, base_url = start_server(world.bin, world.env, log)
    world.procs.append(proc)
    c = Client(base_url, "r@example.com", "restart-pass")
    assert body(c.get(f"/api/meetings/{m['id']}/"), 200) == m
    assert [x["content"] for x in body(c.get(f"/api/meetings/{m['id']}/messages/"), 200)] == ["kept"]


def test_bad_database_url_stops_startup(world):
    env = dict(world.env, CASTERA_DATABASE_URL="nonsense://nowhere")
    p = subprocess.Popen([world.bin, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        stop_server(p)
        pytest.fail("castera serve kept running with CASTERA_DATABASE_URL=nonsense://nowhere")
    assert p.returncode != 0
    assert err.strip(), "expected a line on stderr saying what is wrong"


def test_sigterm_closes_websockets_with_1001_and_exits(world):
    assert world.cli("migrate").returncode == 0
    assert world.cli("createuser", "--email", "t@example.com", "--password-stdin",
                     input="term-pass\n").returncode == 0
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    c = Client(base_url, "t@example.com", "term-pass")
    m = c.create_meeting()

    async def scenario():
        ws = await ws_open(base_url, m["room_id"], email="t@example.com", password="term-pass")
        await ws_sync(ws, "t@example.com")
        proc.send_signal(signal.SIGTERM)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.exceptions.ConnectionClosed:
            pass
        return ws.close_code

    code = run(scenario())
    assert code == 1001, f"close code {code}"
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("castera serve did not exit within 10 s of SIGTERM")
    assert rc == 0, f"exit code {rc} after SIGTERM"


def one_line_error(res):
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {res.stderr!r}"
    return lines[0]


def test_createsuperuser_noinput_takes_the_password_from_the_environment(world):
    env = dict(world.env, DJANGO_SUPERUSER_PASSWORD="boss-pass-1")
    res = run_cli(world.bin, env, "createsuperuser", "--email", "boss@example.com", "--noinput")
    assert res.returncode == 0, res.stderr
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    me = body(Client(base_url, "boss@example.com", "boss-pass-1").get("/api/auth/me/"), 200)
    assert (me["role"], me["is_staff"], me["is_superuser"]) == ("admin", True, True)


def test_createsuperuser_castera_variable_is_honoured(world):
    env = dict(world.env, CASTERA_SUPERUSER_PASSWORD="boss-pass-2")
    env.pop("DJANGO_SUPERUSER_PASSWORD", None)
    res = run_cli(world.bin, env, "createsuperuser", "--email", "boss2@example.com", "--noinput")
    assert res.returncode == 0, res.stderr
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    assert Client(base_url, "boss2@example.com", "boss-pass-2").get("/api/auth/me/").status_code == 200


def test_createsuperuser_without_a_password_cannot_log_in(world):
    env = {k: v for k, v in world.env.items() if not k.endswith("SUPERUSER_PASSWORD")}
    res = run_cli(world.bin, env, "createsuperuser", "--email", "nopass@example.com", "--noinput")
    assert res.returncode == 0, res.stderr
    proc, base_url = start_server(world.bin, world.env, os.path.join(world.dir, "log"))
    world.procs.append(proc)
    resp = Client(base_url, "nopass@example.com", "").get("/api/auth/me/")
    assert resp.status_code == 403


@pytest.mark.parametrize("args", [
    ["createuser", "--email", "not-an-email", "--password-stdin"],
    ["createuser", "--email", "x@example.com", "--role", "emperor", "--password-stdin"],
    ["createuser", "--password-stdin"],
    ["changepassword", "--email", "nobody@example.com", "--password-stdin"],
    ["no-such-command"],
    ["serve", "--port", "99999"],
])
def test_usage_errors_are_one_line_and_non_zero(world, args):
    one_line_error(world.cli(*args, input="pw-123456\n"))


def test_empty_password_on_stdin_is_refused(world):
    assert "empty" in one_line_error(
        world.cli("createuser", "--email", "e@example.com", "--password-stdin", input="\n"))


def test_bad_configuration_stops_startup_with_one_line(world):
    env = dict(world.env, CASTERA_MAX_BODY_BYTES="lots")
    res = run_cli(world.bin, env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert "CASTERA_MAX_BODY_BYTES" in one_line_error(res)


@pytest.mark.parametrize("name,value", [("CASTERA_HEADER_TIMEOUT_SECONDS", "0"), ("CASTERA_BODY_TIMEOUT_SECONDS", "soon"),
                                        ("CASTERA_MAX_CONNECTIONS", "-1"), ("CASTERA_MAX_HEADER_BYTES", "100")])
def test_bad_limits_stop_startup_with_one_line(world, name, value):
    env = dict(world.env, **{name: value})
    res = run_cli(world.bin, env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert name in one_line_error(res)


@pytest.mark.parametrize("name,value", [("CASTERA_LOG_LEVEL", "loud"), ("CASTERA_LOG_FORMAT", "xml"),
                                        ("CASTERA_ACCESS_LOG", "maybe"), ("CASTERA_METRICS_TOKEN", ""),
                                        ("CASTERA_METRICS_TOKEN", "two words")])
def test_bad_operations_settings_stop_startup_with_one_line(world, name, value):
    env = dict(world.env, **{name: value})
    res = run_cli(world.bin, env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert name in one_line_error(res)


def test_json_logs_are_one_object_a_line(world):
    import json
    assert world.cli("migrate").returncode == 0
    env = dict(world.env, CASTERA_LOG_FORMAT="json")
    log_path = os.path.join(world.dir, "server.log")
    proc, base_url = start_server(world.bin, env, log_path)
    world.procs.append(proc)
    assert stop_server(proc) == 0
    lines = [line for line in open(log_path, encoding="utf-8").read().splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "component", "message"} <= set(entry), entry
    assert any(e["component"] == "server" and "listening" in e["message"] for e in map(json.loads, lines))


def test_log_level_error_keeps_the_start_quiet(world):
    assert world.cli("migrate").returncode == 0
    env = dict(world.env, CASTERA_LOG_LEVEL="error")
    log_path = os.path.join(world.dir, "server.log")
    proc, base_url = start_server(world.bin, env, log_path)
    world.procs.append(proc)
    assert stop_server(proc) == 0
    assert open(log_path, encoding="utf-8").read().strip() == ""
