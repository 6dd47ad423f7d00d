#!/usr/bin/env python3
"""Start-up to first answer: launches `castera serve` and polls /healthz until it answers 200.

    startup.py CASTERA [RUNS]

Prints one line per run, the milliseconds from launch (just before fork) to the first 200,
then stops that castera. The environment (database URL, secret key) is passed on. Polling is
a raw socket every 0.2 ms, so the figure is not lost in a curl's own start-up time.
"""

import os
import signal
import socket
import subprocess
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(REQUEST)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(binary):
    # A fresh port each time: the previous run's closed connections may still hold its own.
    port = free_port()
    start = time.monotonic()
    proc = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not answers(port):
            if proc.poll() is not None:
                raise SystemExit("castera exited with %d during start-up" % proc.returncode)
            if time.monotonic() - start > 10:
                raise SystemExit("castera did not answer /healthz within 10 s")
            time.sleep(0.0002)
        return (time.monotonic() - start) * 1000.0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for _ in range(runs):
        print("%.2f" % one_run(binary), flush=True)


if __name__ == "__main__":
    main()
