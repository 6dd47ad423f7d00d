"""The OpenAPI 3.1 document: served at /api/schema/ (JSON and YAML) and /api/docs/, valid for
an OpenAPI 3.1 validator from npm, and the check that holds every answer of this suite to it
(openapi_check.py) finds what it does not describe."""

import json
import os
import shutil
import subprocess

import pytest
import requests
import yaml

import openapi_check
from castera_helpers import body

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VALIDATOR_DIR = os.path.join(REPO_ROOT, "tests", "openapi")


def test_the_schema_is_the_repositorys_document(anon):
    res = anon.get("/api/schema/")
    assert body(res, 200) == openapi_check.load_document()
    assert res.headers["ETag"] and res.headers["Cache-Control"] == "no-cache"
    assert body(anon.get("/api/schema/?format=json"), 200) == openapi_check.load_document()


def test_the_schema_as_yaml_is_the_same_data(anon):
    res = anon.get("/api/schema/?format=yaml")
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(res.text) == openapi_check.load_document()


def test_an_unknown_format_is_a_400(anon):
    res = anon.get("/api/schema/?format=xml")
    assert body(res, 400) == {"detail": "Unknown format; use ?format=json or ?format=yaml."}


def test_the_document_is_valid_openapi_3_1():
    npm = shutil.which("npm")
    assert npm, "npm is needed for the OpenAPI validator (scripts/install-deps installs it)"
    if not os.path.isdir(os.path.join(VALIDATOR_DIR, "node_modules")):
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VALIDATOR_DIR, check=True,
                       timeout=300)
    res = subprocess.run(["node", "node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js",
                          openapi_check.DOCUMENT_PATH], cwd=VALIDATOR_DIR, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["valid"] is True, res.stdout


def test_the_docs_page_is_served_without_a_cdn(anon):
    page = anon.get("/api/docs/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/api/docs/docs.js", "/api/docs/docs.css"):
        assert asset in page.text
        res = anon.get(asset)
        assert res.status_code == 200 and res.content
    assert anon.get("/api/docs").status_code == 301
    assert anon.get("/api/docs/missing.js").status_code == 404


def test_every_route_in_the_document_answers_as_described(anon, owner):
    """A walk over every path without parameters, as anyone and as a user: whatever comes back
    is recorded and checked with the rest of the suite's answers."""
    doc = openapi_check.load_document()
    for path, item in doc["paths"].items():
        if "{" in path:
            continue
        for client in (anon, owner):
            for method in ("get", "post", "options"):
                client.request(method.upper(), path, json={} if method == "post" else None)


# --------------------------------------------------------------------------------------------
# The check itself: what it must refuse.


def exchange(method, path, status, body_=b"", content_type="application/json"):
    return openapi_check.Exchange(method, path, status, content_type, body_, "test")


def test_the_check_names_an_undescribed_route_method_and_status():
    found = openapi_check.problems([exchange("GET", "/api/meetings/7/breakout-rooms/", 200, b"{}")])
    assert len(found) == 1
    method, route, status, why, count, _ = found[0]
    assert (method, status) == ("GET", 200) and "unlisted" in route and "status 200" in why
    lines = openapi_check.report(found, 1)
    assert "GET (no path: unlisted) -> 200" in lines[1] and "/api/meetings/7/breakout-rooms/" in lines[1]


def test_the_check_refuses_an_undescribed_method_status_shape_and_type():
    meeting = {"id": 1, "title": "t", "description": None, "type_of": "public", "created_on": "2030-01-01T00:00:00Z",
               "room_id": "6e4b079c-c77c-41a6-819f-9dd824c2fec2", "scheduled_date": "2030-01-01T00:00:00Z",
               "status": "active", "user": 1}
    good = exchange("GET", "/api/meetings/1/", 200, json.dumps(meeting).encode())
    assert openapi_check.problems([good]) == []
    cases = [
        exchange("POST", "/api/meetings/1/", 200, b"{}"),                        # a method not listed: 405 only
        exchange("GET", "/api/meetings/1/", 418, b"{}"),                         # a status not listed
        exchange("GET", "/api/meetings/1/", 200, json.dumps({**meeting, "extra": 1}).encode()),  # a field too many
        exchange("GET", "/api/meetings/1/", 200, json.dumps({**meeting, "status": "gone"}).encode()),
        exchange("GET", "/api/meetings/1/", 200, b"<html>", "text/html"),        # a type not listed
        exchange("DELETE", "/api/meetings/1/", 204, b"{}"),                      # a body where there is none
    ]
    for case in cases:
        assert len(openapi_check.problems([case])) == 1, case


def test_the_check_takes_the_documents_general_answers():
    assert openapi_check.problems([
        exchange("GET", "/api/meetings", 301, b"", "text/html"),                 # the trailing-slash redirect
        exchange("GET", "/api/nothing/", 404, b'{"detail":"Not found."}'),
        exchange("PUT", "/api/meetings/", 405, b'{"detail":"Method \\"PUT\\" not allowed."}'),
        exchange("HEAD", "/api/meetings/", 200, b""),
        exchange("GET", "/ws/meetings/6e4b079c-c77c-41a6-819f-9dd824c2fec2", 101, b"", ""),
    ]) == []
