"""The hostile traffic suite: thousands of generated malformed, oversized and adversarial
requests and WebSocket frames against one castera, each with the 4xx (or the clean close) it
must get, and never a 5xx, a crash or a hang.

One server for the whole run, started as tests/api starts its own (tests/api/conftest.py's
functions: a temporary directory, `castera migrate`, `castera createuser`, `castera serve` on a
free port, SIGTERM at the end), on SQLite or, with CASTERA_TEST_DATABASE_URL, on PostgreSQL.
Before the first case the server is warmed up (ordinary traffic, then a sample of every
category) and its resident memory and open descriptors are noted; test_zz_aftermath.py,
always run last, checks that they came back, that the server still answers, and that every row
the suite's valid requests wrote is there. Every category is one test that runs all its cases
and names each that failed; the summary counts them.

Environment: CASTERA_BIN, CASTERA_TEST_DATABASE_URL, CASTERA_TEST_LOG (as tests/api).
"""

import concurrent.futures
import importlib.util
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

import pytest
import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
API_DIR = os.path.join(HERE, "..", "api")
sys.path.insert(0, HERE)
sys.path.insert(0, API_DIR)

from castera_helpers import (Client, SessionClient, basic_header, body, run, unique,  # noqa: E402
                             welcome_of, ws_open, ws_sync)


def _load_api_conftest():
    """tests/api/conftest.py's server functions, loaded under a name of their own."""
    spec = importlib.util.spec_from_file_location("castera_api_conftest", os.path.join(API_DIR, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api = _load_api_conftest()

# Failed password logins are throttled (tests/api/test_security.py checks how); here hundreds
# of bad credentials come from one address, and what is checked is how each is refused.
SERVER_ENV = {
    "CASTERA_PASSWORD_ITERATIONS": "1000",
    "CASTERA_LOGIN_FAILURES_PER_ACCOUNT": "1000000",
    "CASTERA_LOGIN_FAILURES_PER_ADDRESS": "1000000",
    "CASTERA_THREADS": "2",
    "CASTERA_ALLOWED_ORIGINS": "https://app.example.com",
}


def pytest_collection_modifyitems(session, config, items):
    # The aftermath checks what the others left behind: it runs last, whatever the order asked.
    items.sort(key=lambda item: item.fspath.basename == "test_zz_aftermath.py")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    world = World.current
    if world is None or not world.counts:
        return
    terminalreporter.section("hostile cases")
    for category, n in world.counts.items():
        terminalreporter.write_line(f"{category:<24} {n:>6}")
    terminalreporter.write_line(f"{'total':<24} {sum(world.counts.values()):>6}")
    for line in world.notes:
        terminalreporter.write_line(line)


# --------------------------------------------------------------------------------------------
# What the server's process holds


def rss_kib(pid, field="VmRSS"):
    """Resident memory in KiB: VmRSS, or RssAnon (the heap and stacks, without the pages of
    the binary and its libraries)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field}")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# --------------------------------------------------------------------------------------------
# Rows the valid requests wrote, checked through the API at the end


@dataclass
class Ledger:
    messages: list = field(default_factory=list)         # (meeting id, content) stored
    unstored: list = field(default_factory=list)         # (meeting id, content) never stored
    meetings: dict = field(default_factory=dict)         # id -> title
    recordings: list = field(default_factory=list)       # (meeting id, file_url)
    tokens: list = field(default_factory=list)           # token names

    def rows(self):
        return len(self.messages) + len(self.meetings) + len(self.recordings) + len(self.tokens)


@dataclass
class Meeting:
    id: int
    room_id: str


class World:
    current = None

    def __init__(self):
        self.counts = {}
        self.notes = []
        self.ledger = Ledger()
        self.users = {}
        self.meetings = {}

    def count(self, category, n):
        if category is not None:  # None: the rehearsal, not counted
            self.counts[category] = self.counts.get(category, 0) + n

    def assert_alive(self):
        code = self.proc.poll()
        assert code is None, f"castera serve exited with {code}; log tail:\n{self.server.log_tail()}"

    def basic(self, key):
        u = self.users[key]
        return basic_header(u.email, u.password)

    def client(self, key):
        u = self.users[key]
        return Client(self.base_url, u.email, u.password)


USERS = {
    "owner": api.User("owner@example.com", None),
    "other": api.User("other@example.com", None, full_name="Other Person"),
    "admin": api.User("admin@example.com", None, role="admin"),
    "victim": api.User("victim@example.com", None),  # the wrong passwords are tried on
}


def _warm_up(world):
    """Traffic of every ordinary kind, a few times over and in parallel, so that each loop's
    caches and database connections exist before the first figure is taken."""
    owner = world.client("owner")
    m = world.meetings["main"]

    def one(i):
        c = world.client("owner")
        body(c.get("/api/auth/me/"), 200)
        body(c.get(f"/api/meetings/{m.id}/messages/"), 200)
        body(c.get("/api/meetings/?limit=5"), 200)
        body(c.get("/api/dashboard/"), 200)
        c.post(f"/api/meetings/{m.id}/raise-hand/")
        return i

    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(32)))

    async def chat():
        u = world.users["owner"]
        ws = await ws_open(world.base_url, world.meetings["ws"].room_id, u.email, u.password)
        content = await ws_sync(ws, u.email)
        world.ledger.messages.append((world.meetings["ws"].id, content))
        await ws.close()
        typed = await websockets.connect(f"ws://{world.host}/ws/meetings/{world.meetings['ws'].room_id}/",
                                         extra_headers=[("Authorization", world.basic("owner"))],
                                         subprotocols=["castera.v2"], compression=None)
        await welcome_of(typed)
        await typed.close()
    run(chat())
    content = unique("warm")
    owner.post_message(m.id, content)
    world.ledger.messages.append((m.id, content))


def _rehearse(world):
    """A sample of every category, once, before the figures are taken: the code of each path is
    paged in and the allocator holds its working set, so that "before" is a server in its
    steady state rather than one that never answered an error."""
    import gen_auth
    import gen_fields
    import gen_http
    import gen_ws
    from hostile import run_cases
    for generate in (gen_http.methods, gen_http.paths, gen_http.headers, gen_http.bodies, gen_fields.fields,
                     gen_auth.auth):
        run_cases(world, None, list(generate(world))[::20])
    gen_ws.check_upgrades(world, gen_ws.upgrades(world)[::10], count=False)
    gen_ws.check_ws(world, None, gen_ws.frames(world)[::10] + gen_ws.v2_errors(world)[::10])


def _settle(world, seconds=3.0):
    """Waits until the descriptor count stops changing (closed connections are released)."""
    deadline = time.monotonic() + seconds
    last = open_fds(world.pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = open_fds(world.pid)
        if now == last:
            return now
        last = now
    return last


@pytest.fixture(scope="session")
def world():
    binary = api.castera_bin()
    if not os.path.exists(binary):
        pytest.exit(f"castera binary not found at {binary} (set CASTERA_BIN)", returncode=2)
    tmpdir = tempfile.mkdtemp(prefix="castera-hostile-")
    env = api.base_env(tmpdir)
    env.update(SERVER_ENV)
    pg = api.postgres_test_url()
    if pg:
        env["CASTERA_DATABASE_URL"] = pg
    log_path = os.environ.get("CASTERA_TEST_LOG") or os.path.join(tmpdir, "server.log")
    srv = api.Server(base_url=None, bin=binary, env=env, log_path=log_path)
    w = World()
    w.server, w.backend = srv, "postgresql" if pg else "sqlite"
    try:
        if pg:
            api.reset_postgres(pg)
        res = api.run_cli(binary, env, "migrate")
        assert res.returncode == 0, f"migrate failed: {res.stdout}{res.stderr}"
        for key, template in USERS.items():
            user = api.User(template.email, "pw-" + secrets.token_urlsafe(12), template.full_name,
                            template.role, template.staff, template.superuser)
            srv.create_user(user)
            w.users[key] = user
        srv.proc, srv.base_url = api.start_server(binary, env, log_path)
        w.proc, w.pid, w.base_url = srv.proc, srv.proc.pid, srv.base_url
        host, port = srv.base_url.split("//")[1].split(":")
        w.address, w.host = (host, int(port)), f"{host}:{port}"
        _prepare(w)
        _warm_up(w)
        _rehearse(w)
        time.sleep(1)
        w.fds_before = _settle(w)
        w.rss_before, w.anon_before = rss_kib(w.pid), rss_kib(w.pid, "RssAnon")
        World.current = w
        yield w
    finally:
        died_early = srv.proc.poll() if srv.proc else None
        tail = srv.log_tail()
        code = api.stop_server(srv.proc) if srv.proc else 0
        shutil.rmtree(tmpdir, ignore_errors=True)
    if srv.proc is not None:
        assert died_early is None, f"castera serve died during the run with code {died_early}; log tail:\n{tail}"
        assert code == 0, f"castera serve did not exit cleanly on SIGTERM ({code})"


def _prepare(w):
    """The meetings, token and session the cases aim at."""
    owner, other = w.client("owner"), w.client("other")
    for key, client in (("main", owner), ("other", other), ("room", owner), ("ws", owner),
                        ("ended", owner), ("fields", owner)):
        m = client.create_meeting(title=f"hostile {key}")
        w.meetings[key] = Meeting(m["id"], m["room_id"])
        w.ledger.meetings[m["id"]] = f"hostile {key}"
    body(owner.post(f"/api/meetings/{w.meetings['ended'].id}/set-status/", json={"status": "ended"}), 200)
    made = body(owner.post("/api/auth/tokens/", json={"name": "hostile token"}), 201)
    w.token, w.token_id = made["token"], made["id"]
    w.ledger.tokens.append("hostile token")
    session = SessionClient(w.base_url)
    u = w.users["owner"]
    assert session.login(u.email, u.password).status_code == 200
    w.sessionid = session.http.cookies.get("sessionid")
    w.csrftoken = session.http.cookies.get("csrftoken")
    w.cookie = f"sessionid={w.sessionid}; csrftoken={w.csrftoken}"
    w.user_ids = {key: w.client(key).user_id for key in w.users}
