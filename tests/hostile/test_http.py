"""Malformed HTTP, raw: methods, paths, headers, bodies (gen_http.py)."""

import gen_http
from hostile import check_all, interleave


def test_methods(world):
    check_all(world, "methods", interleave(world, "methods", list(gen_http.methods(world))))


def test_paths(world):
    check_all(world, "paths", interleave(world, "paths", list(gen_http.paths(world))))


def test_headers(world):
    check_all(world, "headers", interleave(world, "headers", gen_http.headers(world)))


def test_bodies(world):
    check_all(world, "bodies", interleave(world, "bodies", gen_http.bodies(world)))
