"""deploy/nginx.conf in front of two castera instances on one PostgreSQL and one Redis.

The module starts a throwaway redis-server, two `castera serve` on the same PostgreSQL
(CASTERA_TEST_DATABASE_URL, as scripts/test gives it, else a cluster of its own from
scripts/pg-test-cluster) and nginx with the repository's configuration, its upstream and
listen ports moved to free ones. Through nginx's one address: REST, the spread of requests
over both instances (by their access logs), X-Request-ID and Host passed through, the
X-Forwarded-Proto nginx sets (a client's own is not believed), and one room whose two
WebSockets land on different instances and still hear each other.
"""

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from castera_helpers import basic_header, run, wait_healthy, ws_open, ws_recv_chat
from conftest import REPO_ROOT, castera_bin

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = pytest.mark.skipif(not (os.path.exists(NGINX) and os.path.exists(REDIS)),
                                reason="needs nginx and redis-server (scripts/install-deps installs them)")

PASSWORD = "pw-" + secrets.token_urlsafe(12)
USERS = ["alice@example.com", "bob@example.com"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="castera-nginx-test-")
    os.chmod(path, 0o755)  # nginx's workers run as nobody
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url():
    url = os.environ.get("CASTERA_TEST_DATABASE_URL")
    if url:
        res = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                              "-c", "DROP SCHEMA IF EXISTS public CASCADE", "-c", "CREATE SCHEMA public"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        yield url
        return
    res = subprocess.run([os.path.join(REPO_ROOT, "scripts", "pg-test-cluster")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    cluster = re.search(r"^cluster: (.*)$", res.stderr, re.M).group(1)
    try:
        yield res.stdout.strip()
    finally:
        subprocess.run([os.path.join(REPO_ROOT, "scripts", "pg-test-cluster"), "stop", cluster], timeout=60)


@pytest.fixture(scope="module")
def redis_url(workdir):
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers():
            res = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
            return res.stdout.strip() == "PONG"
        wait_for(answers, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


class Instance:
    def __init__(self, env, workdir, name):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, f"{name}.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([castera_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_healthy(self.url, timeout=20, proc=self.proc)

    def access_lines(self):
        lines = []
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"component":"access"' in line:
                    lines.append(json.loads(line))
        return lines

    def websockets(self):
        text = requests.get(self.url + "/metrics", timeout=10).text
        return sum(float(m) for m in re.findall(r"^castera_websocket_connections\{[^}]*\} (\S+)$", text, re.M))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def instances(workdir, postgres_url, redis_url):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"CASTERA_DATABASE_URL": postgres_url, "CASTERA_REDIS_URL": redis_url,
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "DJANGO_DEBUG": "True",
                "CASTERA_LOG_FORMAT": "json", "CASTERA_TRUST_X_FORWARDED_PROTO": "True", "CASTERA_THREADS": "1"})
    res = subprocess.run([castera_bin(), "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    for email in USERS:
        res = subprocess.run([castera_bin(), "createuser", "--email", email, "--password-stdin"], env=env,
                             input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
    started = []
    try:
        for name in ("one", "two"):
            started.append(Instance(env, workdir, name))
        yield started
    finally:
        for instance in started:
            instance.stop()


def nginx_config(ports, listen):
    """deploy/nginx.conf with its upstream servers and its listen port moved."""
    text = open(os.path.join(REPO_ROOT, "deploy", "nginx.conf")).read()
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+)", text, re.M)
    assert len(servers) == 2, "deploy/nginx.conf's upstream should list two instances"
    for old, new in zip(servers, ports):
        text = text.replace(f"server 127.0.0.1:{old} ", f"server 127.0.0.1:{new} ", 1)
    assert "listen 8100;" in text
    return text.replace("listen 8100;", f"listen 127.0.0.1:{listen};")


@pytest.fixture(scope="module")
def nginx(workdir, instances):
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_config([i.port for i in instances], port))
    globals_ = f"daemon off; pid {workdir}/nginx.pid; error_log {workdir}/nginx-error.log;"
    test = subprocess.run([NGINX, "-t", "-p", workdir, "-c", conf, "-g", globals_], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([NGINX, "-p", workdir, "-c", conf, "-g", globals_],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=15, proc=proc)
        yield url
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http():
    session = requests.Session()
    session.trust_env = False
    return session


def auth(email=USERS[0]):
    return {"Authorization": basic_header(email, PASSWORD)}


def test_rest_through_nginx(nginx):
    s = http()
    made = s.post(nginx + "/api/meetings/", json={"title": "via nginx", "scheduled_date": "2030-01-01T00:00:00Z"},
                  headers=auth(), timeout=10)
    assert made.status_code == 201, made.text
    meeting = made.json()
    for _ in range(4):  # answered by either instance, from the one database
        got = s.get(f"{nginx}/api/meetings/{meeting['id']}/", headers=auth(), timeout=10)
        assert got.status_code == 200 and got.json() == meeting
    # The Host header reaches castera: the root's links name nginx's address.
    root = s.get(nginx + "/api/", timeout=10).json()
    assert root == {"meetings": nginx + "/api/meetings/"}


def test_requests_spread_over_both_instances_with_their_request_ids(nginx, instances):
    s = http()
    ids = [f"nginx-test-{uuid.uuid4().hex[:8]}-{i}" for i in range(8)]
    for request_id in ids:
        res = s.get(nginx + "/api/auth/me/", headers={**auth(), "X-Request-ID": request_id}, timeout=10)
        assert res.status_code == 200 and res.headers["X-Request-ID"] == request_id

    def logged_ids(instance):
        return {line["request_id"] for line in instance.access_lines()}
    wait_for(lambda: set(ids) <= logged_ids(instances[0]) | logged_ids(instances[1]), "the access lines")
    served = [len(set(ids) & logged_ids(i)) for i in instances]
    assert all(n > 0 for n in served), f"requests per instance: {served}"


def test_nginx_gives_a_request_id_when_the_client_has_none(nginx):
    res = http().get(nginx + "/healthz", timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", res.headers["X-Request-ID"]), res.headers


def test_x_forwarded_proto_is_nginxs_not_the_clients(nginx, instances):
    """castera trusts X-Forwarded-Proto (CASTERA_TRUST_X_FORWARDED_PROTO=True): over https, a
    session's POST without Origin must carry a Referer. nginx says http here, whatever the
    client claims; straight to castera, the client's claim is believed."""
    def post_with_session(base, claimed):
        s = http()
        login = s.post(base + "/api/auth/login/", json={"email": USERS[0], "password": PASSWORD}, timeout=10)
        assert login.status_code == 200, login.text
        return s.post(base + "/api/meetings/", json={"title": "proto", "scheduled_date": "2030-01-01T00:00:00Z"},
                      headers={"X-CSRFToken": s.cookies["csrftoken"], "X-Forwarded-Proto": claimed}, timeout=10)

    direct = post_with_session(instances[0].url, "https")
    assert direct.status_code == 403 and "Referer" in direct.json()["detail"], direct.text
    through = post_with_session(nginx, "https")
    assert through.status_code == 201, through.text


def test_a_room_spans_both_instances_through_nginx(nginx, instances):
    s = http()
    meeting = s.post(nginx + "/api/meetings/", json={"title": "spanning", "scheduled_date": "2030-01-01T00:00:00Z"},
                     headers=auth(), timeout=10).json()

    async def scenario():
        alice = await ws_open(nginx, meeting["room_id"], USERS[0], PASSWORD)
        wait_for(lambda: sum(i.websockets() for i in instances) == 1, "the first WebSocket")
        bob = await ws_open(nginx, meeting["room_id"], USERS[1], PASSWORD)
        try:
            # least_conn sends the second socket to the other instance.
            wait_for(lambda: [i.websockets() for i in instances] == [1, 1], "one WebSocket on each instance")
            await asyncio.sleep(0.3)  # bob's presence reaches alice's instance
            await alice.send(json.dumps({"message": "hello from one"}))
            assert await ws_recv_chat(bob, 10) == {"message": "hello from one", "sender": USERS[0]}
            await bob.send(json.dumps({"message": "and back"}))
            got = await ws_recv_chat(alice, 10)
            while got.get("message") == "hello from one":  # her own echo first
                got = await ws_recv_chat(alice, 10)
            assert got == {"message": "and back", "sender": USERS[1]}
        finally:
            await alice.close()
            await bob.close()

    run(scenario())
    messages = s.get(f"{nginx}/api/meetings/{meeting['id']}/messages/", headers=auth(), timeout=10).json()
    assert [m["content"] for m in messages] == ["hello from one", "and back"]


def test_websocket_timeouts_outlast_castera_keepalive():
    text = open(os.path.join(REPO_ROOT, "deploy", "nginx.conf")).read()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", text).group(1))
    # castera pings a silent socket at half of CASTERA_WS_IDLE_SECONDS (60): nginx must wait longer.
    assert read_timeout > 30
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
