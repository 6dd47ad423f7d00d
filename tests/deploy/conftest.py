"""The deployment files (Dockerfile, compose.yaml, deploy/) checked with what runs here.

There is no Docker daemon on the test machines: the files are parsed and checked, the
Dockerfile's runtime stage is run on this Debian 12 machine (runtime_stage.py), nginx runs in
front of two castera instances, and systemd-analyze verifies the unit.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "api"))


def castera_bin():
    return os.environ.get("CASTERA_BIN") or os.path.join(REPO_ROOT, "build", "castera")
