"""Credentials of every shape (gen_auth.py)."""

import gen_auth
from hostile import check_all, interleave


def test_credentials(world):
    check_all(world, "auth", interleave(world, "auth", gen_auth.auth(world)))
