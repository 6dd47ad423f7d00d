"""Every answer the black-box suite receives, checked against the OpenAPI document.

`install()` wraps requests' Session.send so that each exchange with a castera path (the API,
/healthz, /readyz, /metrics, /ws/) is kept: method, path, status, content type and body, with
the test that made it. At the end of the run (conftest.py's pytest_sessionfinish) `problems()`
checks each against web/api/openapi.json: the path must match one of the document's paths (or
be one it says answers 301/404), the method one of its operations (or the document's answer for
an unlisted method), the status one of that operation's responses, the content type one of
that response's, and the JSON body must validate against its schema (JSON Schema 2020-12, as
OpenAPI 3.1's schemas are). Anything not described is a problem, listed by method, route and
status, and fails the run.
"""

import json
import os
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import jsonschema
import requests

DOCUMENT_PATH = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "web", "api", "openapi.json"))
JSON_TYPES = {"application/json"}


def load_document():
    with open(DOCUMENT_PATH, encoding="utf-8") as f:
        return json.load(f)


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes  # None: not seen (a WebSocket refusal, a raw answer without a length)
    test: str


_exchanges = []
_lock = threading.Lock()
_installed = False


def in_scope(path):
    """castera's API paths; the admin console and the web client are HTML, outside the document."""
    return (path.startswith("/api") or path.startswith("/ws/")
            or path.rstrip("/") in ("/healthz", "/readyz", "/metrics"))


def record(method, url, status, content_type, body):
    path = urlsplit(url).path
    if not in_scope(path):
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    with _lock:
        _exchanges.append(Exchange(method.upper(), path, status, content_type or "", body, test))


def install():
    """Records every response received through requests (any Session, any client)."""
    global _installed
    if _installed:
        return
    _installed = True
    original = requests.Session.send
    nested = threading.local()

    def send(self, request, **kwargs):
        # requests follows redirects by calling send again: only the outermost call records,
        # every hop (response.history) and the last answer, each with its own request.
        if getattr(nested, "depth", 0):
            return original(self, request, **kwargs)
        nested.depth = 1
        try:
            response = original(self, request, **kwargs)
        finally:
            nested.depth = 0
        for hop in [*response.history, response]:
            # A streamed body is the caller's to read; its status is still checked.
            content = None if kwargs.get("stream") and hop is response else hop.content
            record(hop.request.method, hop.request.url, hop.status_code, hop.headers.get("Content-Type", ""), content)
        return response

    requests.Session.send = send


def exchanges():
    with _lock:
        return list(_exchanges)


# --------------------------------------------------------------------------------------------
# Matching an exchange to the document


class Document:
    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.routes = sorted(((self._segments(p), p, item) for p, item in doc["paths"].items()),
                             key=lambda r: sum(1 for s in r[0] if s.startswith("{")))
        self._validators = {}

    @staticmethod
    def _segments(path):
        return path.strip("/").split("/") if path != "/" else []

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def _param_schema(self, item, name):
        for p in item.get("parameters", []):
            if p["in"] == "path" and p["name"] == name:
                return p["schema"]
        return {"type": "string"}

    def _segment_matches(self, item, want, got):
        if not want.startswith("{"):
            return want == got
        schema = self._param_schema(item, want[1:-1])
        if not got:
            return False
        if schema.get("type") == "integer":
            # As the router: decimal digits, at most 18 of them, a positive value.
            return got.isdigit() and len(got) <= 18 and int(got) >= schema.get("minimum", 0)
        return not schema.get("pattern") or re.search(schema["pattern"], got) is not None

    def find_route(self, path):
        """The document's path template and item for a concrete path, or (None, None)."""
        has_slash = path.endswith("/")
        got = self._segments(path)
        for want, template, item in self.routes:
            if template.endswith("/") != has_slash and not (
                    item.get("x-castera-trailing-slash-optional") and template.endswith("/")):
                continue
            if len(want) == len(got) and all(self._segment_matches(item, w, g) for w, g in zip(want, got)):
                return template, item
        return None, None

    def validate(self, schema, value):
        key = id(schema)
        validator = self._validators.get(key)
        if validator is None:
            validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                                        format_checker=jsonschema.FormatChecker())
            self._validators[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        return None if error is None else error

    def responses_for(self, ex):
        """(route label, the responses that describe this exchange) for an exchange."""
        template, item = self.find_route(ex.path)
        if template is None:
            return "(no path: unlisted)", self.doc["x-castera-unlisted-path"], False
        method = "get" if ex.method == "HEAD" else ex.method.lower()
        op = item.get(method)
        if op is None:
            unlisted = item.get("x-castera-unlisted-method", self.doc["x-castera-unlisted-method"])
            return template + " (method not listed)", unlisted, True
        return template, op["responses"], True

    def check(self, ex):
        """A description of what the document does not describe about this exchange, or None."""
        route, responses, matched = self.responses_for(ex)
        if not matched and ex.status == 301:
            template, _ = self.find_route(ex.path + "/")
            if template is None or ex.method not in ("GET", "HEAD"):
                return route, "a redirect for a path whose slashed form is not a GET route either"
        response = responses.get(str(ex.status)) or responses.get("default")
        if response is None:
            return route, f"status {ex.status} is not among the responses ({', '.join(sorted(responses))})"
        response = self.resolve(response)
        content = response.get("content")
        media = ex.content_type.split(";")[0].strip().lower()
        if ex.method == "HEAD" or (ex.body is None and not media):
            return None
        if not content:
            if ex.body:
                return route, f"a body ({media}) where the document describes none"
            return None
        if media not in content:
            return route, f"content type {media!r} is not among {sorted(content)}"
        schema = content[media].get("schema")
        if media not in JSON_TYPES or schema is None or ex.body is None:
            return None
        try:
            value = json.loads(ex.body)
        except ValueError:
            return route, "the body is not JSON"
        error = self.validate(schema, value)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
            return route, f"the body does not match the schema at {where}: {error.message[:300]}"
        return None


def problems(records=None):
    """Exchanges the document does not describe, grouped: [(method, route, status, why, count, example)]."""
    doc = Document(load_document())
    groups = {}
    for ex in records if records is not None else exchanges():
        found = doc.check(ex)
        if found is None:
            continue
        route, why = found
        key = (ex.method, route, ex.status, why)
        if key in groups:
            groups[key][0] += 1
        else:
            groups[key] = [1, ex]
    return [(m, r, s, why, n, ex) for (m, r, s, why), (n, ex) in sorted(groups.items(), key=lambda kv: kv[0][:3])]


def report(found, checked):
    lines = [f"OpenAPI check: {len(found)} kind(s) of answer not described by web/api/openapi.json "
             f"(of {checked} answers checked):"]
    for method, route, status, why, count, ex in found:
        lines.append(f"  {method} {route} -> {status}: {why}  [{count}x; e.g. {ex.path} in {ex.test or '?'}; "
                     f"body {(ex.body or b'')[:160]!r}]")
    return lines
