"""Fixtures for the black-box API tests.

By default a session fixture builds a private world for the run: a temporary directory with a
SQLite database, `castera migrate`, a few users made with `castera createuser`, and
`castera serve` on a free port of 127.0.0.1. It is stopped with SIGTERM at the end.

Environment:
  CASTERA_BIN         the binary (default: build/castera under the repository root)
  CASTERA_TEST_URL    use an already running server instead of starting one. Its database must
                      hold user@example.com, other@example.com, admin@example.com (role admin)
                      and staff@example.com (staff, superuser), all with the password in
                      CASTERA_TEST_PASSWORD. Tests that need the command line (fresh users,
                      password changes) run only if CASTERA_DATABASE_URL names that database.
  CASTERA_TEST_LOG    where to write the started server's output (default: in the temp dir)
  CASTERA_TEST_DATABASE_URL
                      a postgresql:// database for the started server instead of the SQLite
                      file. It is emptied first (its public schema dropped and made again with
                      psql), so give it a throwaway database: scripts/pg-test-cluster makes one.
  CASTERA_TEST_PG_CLUSTER
                      the directory scripts/pg-test-cluster printed; lets the fault tests stop
                      and restart that PostgreSQL under a running server.
  CASTERA_TEST_SANITIZED
                      1 when CASTERA_BIN is a sanitizer build (scripts/test's build-asan run).
                      Such a binary is slower and keeps freed memory in quarantine, so the few
                      tests that measure the allocator skip (marked with `sanitized_skip`);
                      every other test runs as it does otherwise.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field

import pytest

import openapi_check
from castera_helpers import Client, SessionClient, wait_healthy

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SANITIZED = os.environ.get("CASTERA_TEST_SANITIZED") == "1"


def sanitized_skip(reason):
    """Skips a test on a sanitizer build only, saying why; it runs as it is everywhere else."""
    return pytest.mark.skipif(SANITIZED, reason=f"sanitizer build: {reason}")


def pytest_configure(config):
    config.addinivalue_line("markers", "cli: needs the castera command line on the test database")
    openapi_check.install()


# Every answer received is checked against the OpenAPI document once the tests are done; one
# it does not describe fails the run (openapi_check.py).
def pytest_sessionfinish(session, exitstatus):
    records = openapi_check.exchanges()
    found = openapi_check.problems(records)
    session.config._openapi_report = openapi_check.report(found, len(records)) if found else None
    if found and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = getattr(config, "_openapi_report", None)
    if lines:
        terminalreporter.section("OpenAPI check", red=True)
        for line in lines:
            terminalreporter.write_line(line)


@dataclass
class User:
    email: str
    password: str
    full_name: str = None
    role: str = "user"
    staff: bool = False
    superuser: bool = False


@dataclass
class Server:
    base_url: str
    bin: str = None
    env: dict = None
    db_path: str = None
    users: dict = field(default_factory=dict)
    proc: subprocess.Popen = None
    log_path: str = None

    @property
    def can_cli(self):
        return bool(self.bin and self.env and os.path.exists(self.bin))

    def cli(self, *args, input=None, timeout=60, env=None):
        if not self.can_cli:
            pytest.skip("needs the castera command line on the test database")
        return run_cli(self.bin, env or self.env, *args, input=input, timeout=timeout)

    def create_user(self, user):
        res = self.cli(*createuser_args(user), input=user.password + "\n")
        assert res.returncode == 0, (
            f"createuser {user.email} failed ({res.returncode}): {res.stderr.strip()}")
        return user

    def log_tail(self, n=4000):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace")


def castera_bin():
    return os.environ.get("CASTERA_BIN") or os.path.join(REPO_ROOT, "build", "castera")


def run_cli(binary, env, *args, input=None, timeout=60):
    return subprocess.run([binary, *args], input=input, env=env, capture_output=True,
                          text=True, timeout=timeout)


def createuser_args(user):
    args = ["createuser", "--email", user.email, "--password-stdin"]
    if user.role and user.role != "user":
        args += ["--role", user.role]
    if user.full_name:
        args += ["--full-name", user.full_name]
    if user.staff:
        args.append("--staff")
    if user.superuser:
        args.append("--superuser")
    return args


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(tmpdir):
    env = dict(os.environ)
    for name in list(env):
        if name.lower().endswith("_proxy"):
            del env[name]
    env.update({
        "CASTERA_DATABASE_URL": f"sqlite:{os.path.join(tmpdir, 'castera.db')}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_DEBUG": "True",
    })
    return env


def postgres_test_url():
    """The PostgreSQL URL the suite runs against, or None for SQLite."""
    return os.environ.get("CASTERA_TEST_DATABASE_URL") or None


def reset_postgres(url):
    """Empties a test database: every table, castera's and Django's, goes with the schema."""
    res = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
         "-c", "DROP SCHEMA IF EXISTS public CASCADE", "-c", "CREATE SCHEMA public"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"cannot empty the test database: {res.stderr.strip()}"


def start_server(binary, env, log_path, port=None):
    port = port or free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, timeout=15, proc=proc)
    except Exception:
        stop_server(proc)
        with open(log_path, "rb") as f:
            tail = f.read()[-4000:].decode("utf-8", "replace")
        raise RuntimeError(f"castera serve did not become ready on {base_url}; log:\n{tail}")
    return proc, base_url


def stop_server(proc, timeout=10):
    """SIGTERM, then wait; returns the exit code, or None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return None


DEFAULT_USERS = {
    "owner": User("user@example.com", None),
    "other": User("other@example.com", None, full_name="Other Person"),
    "admin": User("admin@example.com", None, full_name="Ada Admin", role="admin"),
    "staff": User("staff@example.com", None, full_name="Sam Staff", staff=True, superuser=True),
}


@pytest.fixture(scope="session")
def server():
    external = os.environ.get("CASTERA_TEST_URL")
    if external:
        password = os.environ.get("CASTERA_TEST_PASSWORD", "castera-test-pass")
        users = {k: User(u.email, password, u.full_name, u.role, u.staff, u.superuser)
                 for k, u in DEFAULT_USERS.items()}
        env = None
        if os.environ.get("CASTERA_DATABASE_URL") and os.path.exists(castera_bin()):
            env = dict(os.environ)
        yield Server(base_url=external.rstrip("/"), bin=castera_bin(), env=env, users=users)
        return

    binary = castera_bin()
    if not os.path.exists(binary):
        pytest.exit(f"castera binary not found at {binary} (set CASTERA_BIN)", returncode=2)
    tmpdir = tempfile.mkdtemp(prefix="castera-api-tests-")
    env = base_env(tmpdir)
    db_path = os.path.join(tmpdir, "castera.db")
    if postgres_test_url():
        env["CASTERA_DATABASE_URL"] = postgres_test_url()
        db_path = None
    log_path = os.environ.get("CASTERA_TEST_LOG") or os.path.join(tmpdir, "server.log")
    srv = Server(base_url=None, bin=binary, env=env, db_path=db_path, log_path=log_path)
    try:
        if postgres_test_url():
            reset_postgres(postgres_test_url())
        res = run_cli(binary, env, "migrate")
        assert res.returncode == 0, f"migrate failed: {res.stdout}{res.stderr}"
        for key, template in DEFAULT_USERS.items():
            user = User(template.email, "pw-" + secrets.token_urlsafe(12), template.full_name,
                        template.role, template.staff, template.superuser)
            srv.create_user(user)
            srv.users[key] = user
        srv.proc, srv.base_url = start_server(binary, env, log_path)
        yield srv
    finally:
        died_early = srv.proc.poll() if srv.proc else None
        tail = srv.log_tail()
        code = stop_server(srv.proc) if srv.proc else 0
        shutil.rmtree(tmpdir, ignore_errors=True)
    if srv.proc is not None:
        assert died_early is None, (
            f"castera serve died during the run with code {died_early}; log tail:\n{tail}")
        assert code is not None, "castera serve did not exit within 10 s of SIGTERM"


@pytest.fixture(scope="session")
def base_url(server):
    return server.base_url


def _client(server, key):
    u = server.users[key]
    return Client(server.base_url, u.email, u.password)


@pytest.fixture(scope="session")
def owner(server):
    return _client(server, "owner")


@pytest.fixture(scope="session")
def other(server):
    return _client(server, "other")


@pytest.fixture(scope="session")
def admin(server):
    return _client(server, "admin")


@pytest.fixture(scope="session")
def staff(server):
    return _client(server, "staff")


@pytest.fixture
def anon(server):
    return Client(server.base_url)


@pytest.fixture
def users(server):
    return server.users


@pytest.fixture
def session_client(server):
    """A fresh, not yet logged-in session client."""
    return SessionClient(server.base_url)


@pytest.fixture
def make_user(server):
    """Factory: a brand-new user made with `castera createuser` (skips without the CLI)."""

    def make(role="user", full_name=None, password=None, staff=False, superuser=False):
        email = f"u{uuid.uuid4().hex[:12]}@example.com"
        user = User(email, password or "pw-" + secrets.token_urlsafe(12), full_name, role,
                    staff, superuser)
        server.create_user(user)
        return user

    return make


@pytest.fixture
def fresh_client(server, make_user):
    """Factory: a Basic-auth client for a brand-new user."""

    def make(**kw):
        user = make_user(**kw)
        client = Client(server.base_url, user.email, user.password)
        client.user = user
        return client

    return make
