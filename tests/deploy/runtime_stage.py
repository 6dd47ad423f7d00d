#!/usr/bin/python3
"""Runs the Dockerfile's runtime stage on this Debian 12 machine, as far as one can without
Docker: in a fresh directory standing for the image's root, it installs the stage's packages
(apt-get install, as the RUN says), copies the binary where COPY puts it, checks that every
shared library the binary needs comes from those packages (or from Debian's base image),
then starts ENTRYPOINT + CMD with the stage's ENV, as an unprivileged user in the WORKDIR,
and runs the HEALTHCHECK's command until it passes; then stops it with STOPSIGNAL and expects
exit status 0.

Left out, because they would change this machine rather than an image: `apt-get update` and
`rm -rf /var/lib/apt/lists/*` (the install asks apt for what is missing only), and `useradd`
(the stage's user is stood in for by `nobody`).

  tests/deploy/runtime_stage.py [--binary build/castera]
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile  # noqa: E402

# In debian:12-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def step(text):
    print(f"runtime stage: {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install(packages):
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout != "install ok installed"]
    step(f"apt-get install {' '.join(packages)} ({'missing: ' + ' '.join(missing) if missing else 'all present'})")
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def needed_libraries(binary):
    """The binary's NEEDED entries, resolved by the dynamic loader: {soname: path}."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout)
    resolved = {}
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            resolved[m.group(1)] = m.group(2)
    return {soname: resolved.get(soname) for soname in needed}


def package_of(path):
    real = os.path.realpath(path)
    for candidate in (path, real, real.replace("/lib/", "/usr/lib/", 1)):
        res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.split(":")[0]
    return None


def check_libraries(binary, packages):
    provided = set(packages) | BASE_IMAGE_PACKAGES
    for soname, path in needed_libraries(binary).items():
        assert path, f"{soname}: not found by the loader"
        package = package_of(path)
        assert package in provided, f"{soname} ({path}) comes from {package}, which the runtime stage does not install"
        step(f"{soname} <- {package}")


def run_stage(binary, keep=False):
    stages = dockerfile.parse()
    runtime = stages[-1]
    packages = [p for run in runtime.all("RUN") for p in dockerfile.apt_packages(run)]
    install(packages)
    check_libraries(binary, packages)

    root = tempfile.mkdtemp(prefix="castera-runtime-stage-")
    try:
        src, dest = runtime.one("COPY").split()[-2:]
        assert src == "/src/build/castera", src
        target = os.path.join(root, dest.lstrip("/"))
        os.makedirs(os.path.dirname(target))
        shutil.copy2(binary, target)
        workdir = os.path.join(root, runtime.one("WORKDIR").lstrip("/"))
        os.makedirs(workdir)
        shutil.chown(workdir, "nobody", "nogroup")
        os.chmod(root, 0o755)
        step(f"COPY -> {target}; WORKDIR {workdir} (owned by nobody)")

        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir}
        for text in runtime.all("ENV"):
            env.update(dockerfile.env_pairs(text))
        port = free_port()
        image_port = env["CASTERA_PORT"]
        env["CASTERA_PORT"] = str(port)  # the image's port may be taken on this machine
        env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(48)  # compose.yaml's .env gives it
        entrypoint = dockerfile.exec_form(runtime.one("ENTRYPOINT"))
        command = dockerfile.exec_form(runtime.one("CMD"))
        argv = [target if a == dest else a for a in entrypoint] + command
        step(f"USER {runtime.one('USER')} (as nobody): {' '.join(argv)} on port {port} (the image's: {image_port})")
        log_path = os.path.join(root, "castera.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv],
                                    cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            options, check = dockerfile.healthcheck(runtime.one("HEALTHCHECK"))
            check = check.replace(f":{image_port}/", f":{port}/")
            deadline = time.monotonic() + 15
            while True:
                res = subprocess.run(["sh", "-c", check], capture_output=True, text=True, timeout=10)
                if res.returncode == 0:
                    break
                assert proc.poll() is None, "castera exited: " + open(log_path).read()[-2000:]
                assert time.monotonic() < deadline, f"the health check never passed: {res.stdout}{res.stderr}"
                time.sleep(0.2)
            step(f"HEALTHCHECK {check}: passed")
            assert os.path.exists(os.path.join(workdir, "castera.db")), "no SQLite database in the WORKDIR"
            stop = getattr(signal, runtime.one("STOPSIGNAL"))
            proc.send_signal(stop)
            code = proc.wait(timeout=15)
            assert code == 0, f"exit status {code} after {runtime.one('STOPSIGNAL')}"
            step(f"STOPSIGNAL {runtime.one('STOPSIGNAL')}: exit status 0")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(dockerfile.REPO_ROOT, "build", "castera"))
    parser.add_argument("--keep", action="store_true", help="keep the fresh directory")
    args = parser.parse_args()
    run_stage(os.path.abspath(args.binary), args.keep)
    step("ok")


if __name__ == "__main__":
    main()
