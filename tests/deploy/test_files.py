"""Dockerfile, compose.yaml and deploy/castera.service: read and checked, and the runtime stage
run on this machine (there is no Docker daemon here to build the image)."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

import dockerfile
import runtime_stage
from conftest import REPO_ROOT, castera_bin

OLD_SERVER_VARIABLES = ["DJANGO_SECRET_KEY", "DJANGO_DEBUG", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD",
                        "POSTGRES_HOST", "POSTGRES_PORT", "REDIS_HOST", "REDIS_PORT"]


def install_deps_packages(flag):
    """scripts/install-deps' package list (with --runtime-only: the build's)."""
    text = open(os.path.join(REPO_ROOT, "scripts", "install-deps")).read()
    m = re.search(r'if \[\[ "\$\{1:-\}" == "--runtime-only" \]\]; then\s+packages=\(([^)]*)\)', text)
    assert m, "scripts/install-deps has no --runtime-only list"
    return m.group(1).split()


@pytest.fixture(scope="module")
def stages():
    return dockerfile.parse()


def test_two_stages_on_debian_12(stages):
    assert [s.name for s in stages] == ["build", "runtime"]
    for stage in stages:
        assert re.match(r"debian:12(-slim)?$|debian:bookworm(-slim)?$", stage.image), stage.image


def test_the_build_stage_has_the_build_deps_and_builds_without_tests(stages):
    build = stages[0]
    packages = [p for run in build.all("RUN") for p in dockerfile.apt_packages(run)]
    assert sorted(packages) == sorted(install_deps_packages("--runtime-only"))
    runs = " ".join(build.all("RUN"))
    assert "cmake --build" in runs and "-DCMAKE_BUILD_TYPE=Release" in runs and "-DCASTERA_TESTS=OFF" in runs
    copied = {c.split()[0] for c in build.all("COPY")}
    assert {"CMakeLists.txt", "cmake", "src", "web"} <= copied


def test_the_runtime_stage_has_only_runtime_libraries(stages):
    runtime = stages[1]
    packages = [p for run in runtime.all("RUN") for p in dockerfile.apt_packages(run)]
    assert not [p for p in packages if p.endswith("-dev") or p in ("g++", "cmake", "ninja-build", "pkg-config")]
    assert runtime.one("COPY").startswith("--from=build ")


def test_the_runtime_stage_runs_as_a_user_without_privileges(stages):
    runtime = stages[1]
    user = runtime.one("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert any(f"useradd --system" in run and run.rstrip().endswith(user) for run in runtime.all("RUN"))


def test_the_runtime_stage_listens_on_the_old_port_and_checks_readyz(stages):
    runtime = stages[1]
    assert runtime.one("EXPOSE") == "8100"
    env = {}
    for text in runtime.all("ENV"):
        env.update(dockerfile.env_pairs(text))
    assert env["CASTERA_PORT"] == "8100" and env["CASTERA_HOST"] == "0.0.0.0"
    # A database URL here would win over compose.yaml's POSTGRES_HOST.
    assert "CASTERA_DATABASE_URL" not in env
    options, command = dockerfile.healthcheck(runtime.one("HEALTHCHECK"))
    assert "http://127.0.0.1:8100/readyz" in command
    assert {"interval", "timeout", "retries"} <= set(options)
    assert dockerfile.exec_form(runtime.one("CMD")) == ["serve"]
    assert runtime.one("STOPSIGNAL") == "SIGTERM"


def test_the_runtime_stage_runs_on_this_machine():
    """Its packages installed, every library of the binary from them, castera started as an
    unprivileged user in a fresh directory, the health check passing, exit 0 on SIGTERM."""
    if os.geteuid() != 0:
        pytest.skip("installs packages and switches users: needs root")
    runtime_stage.run_stage(os.path.abspath(castera_bin()))


@pytest.fixture(scope="module")
def compose():
    with open(os.path.join(REPO_ROOT, "compose.yaml")) as f:
        return yaml.safe_load(f)


def test_compose_serves_castera_on_8100_built_from_the_dockerfile(compose):
    web = compose["services"]["web"]
    assert web["build"] == "."
    assert web["ports"] == ["8100:8100"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}


def test_compose_passes_the_old_servers_variables(compose):
    env = compose["services"]["web"]["environment"]
    assert [v for v in OLD_SERVER_VARIABLES if v not in env] == []
    assert env["POSTGRES_HOST"] == "db" and env["REDIS_HOST"] == "redis"
    # No secret in the file: the operator must give one.
    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
    assert "CASTERA_DATABASE_URL" not in env


def test_compose_runs_postgresql_15_and_redis_with_volumes_and_health_checks(compose):
    db, redis = compose["services"]["db"], compose["services"]["redis"]
    assert db["image"] == "postgres:15"
    assert redis["image"].startswith("redis:")
    for service, mount in ((db, "/var/lib/postgresql/data"), (redis, "/data")):
        volume, path = service["volumes"][0].split(":")
        assert path == mount and volume in compose["volumes"]
        assert service["healthcheck"]["test"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    web_env = compose["services"]["web"]["environment"]
    for name in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert db["environment"][name] == web_env[name]


def unit_text():
    return open(os.path.join(REPO_ROOT, "deploy", "castera.service")).read()


def test_the_systemd_unit_is_hardened():
    text = unit_text()
    for line in ["DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
                 "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=", "StateDirectory=castera",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
                 "KillSignal=SIGTERM", "ExecStart=/usr/local/bin/castera serve"]:
        assert re.search(rf"^{re.escape(line)}", text, re.M), f"castera.service lacks {line}"


def installed_unit(tmp_path):
    """The unit with ExecStart naming this build (verify wants the program to exist)."""
    path = tmp_path / "castera.service"
    path.write_text(unit_text().replace("/usr/local/bin/castera", os.path.abspath(castera_bin())))
    return path


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_systemd_unit_verifies(tmp_path):
    res = subprocess.run(["systemd-analyze", "verify", str(installed_unit(tmp_path))], capture_output=True, text=True)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_systemd_units_exposure_is_low(tmp_path):
    res = subprocess.run(["systemd-analyze", "security", "--offline=true", str(installed_unit(tmp_path))],
                         capture_output=True, text=True)
    m = re.search(r"Overall exposure level for castera.service: ([0-9.]+)", res.stdout)
    assert m, res.stdout[-2000:] + res.stderr
    assert float(m.group(1)) <= 2.0, res.stdout[-3000:]
