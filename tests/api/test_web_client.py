"""The web client's files, served by castera itself: routes, content types, caching, security
headers, and no way out of the client's folder."""

import pytest

from castera_helpers import NOT_FOUND, body, expect, host_port, raw_exchange, raw_status

CSP_PARTS = ["default-src 'self'", "script-src 'self'", "connect-src 'self' ws: wss:",
             "media-src 'self' blob:", "frame-ancestors 'none'", "object-src 'none'"]


def raw_get(base_url, target, method="GET"):
    host, port = host_port(base_url)
    request = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    data, _ = raw_exchange(base_url, request.encode())
    return raw_status(data), data


def test_root_redirects_to_the_app(anon):
    r = anon.get("/", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/app/"


def test_app_without_slash_redirects(anon):
    r = anon.get("/app", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["Location"] == "/app/"


@pytest.mark.parametrize("path", ["/app/", "/app/join/0b6f3f8e-5d7a-4b8e-9c41-2f3c1d2e4a5b",
                                  "/app/join/0b6f3f8e-5d7a-4b8e-9c41-2f3c1d2e4a5b/", "/app/some/page"])
def test_page_routes_answer_the_client_page(anon, path):
    r = anon.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<!doctype html>" in r.text.lower()
    assert '<script type="module" src="/app/assets/main.js">' in r.text
    assert r.headers["Cache-Control"] == "no-cache"


def test_page_has_strict_security_headers(anon):
    r = anon.get("/app/")
    csp = r.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path, content_type", [
    ("/app/assets/main.js", "text/javascript; charset=utf-8"),
    ("/app/assets/app.css", "text/css; charset=utf-8"),
    ("/app/assets/icon.svg", "image/svg+xml"),
])
def test_assets_have_their_content_type(anon, path, content_type):
    r = anon.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == content_type
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert int(r.headers["Content-Length"]) == len(r.content) > 0


def test_etag_revalidation_gives_304(anon):
    first = anon.get("/app/assets/main.js")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    again = anon.get("/app/assets/main.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert anon.get("/app/assets/main.js", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert anon.get("/app/assets/main.js", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_different_files_have_different_etags(anon):
    assert anon.get("/app/assets/main.js").headers["ETag"] != anon.get("/app/assets/app.css").headers["ETag"]


def test_head_has_headers_and_no_body(base_url):
    status, data = raw_get(base_url, "/app/assets/main.js", method="HEAD")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert status == 200
    assert b"Content-Type: text/javascript" in head
    assert rest == b""


def test_the_page_needs_no_sign_in(anon):
    # Signing in happens inside the page, through the API.
    assert anon.get("/app/").status_code == 200


@pytest.mark.parametrize("path", ["/app/assets/nope.js", "/app/nope.js", "/app/assets/", "/app/assets/missing"])
def test_unknown_files_are_404(anon, path):
    expect(anon.get(path), 404, NOT_FOUND)


@pytest.mark.parametrize("target", [
    "/app/../README.md", "/app/assets/../../CMakeLists.txt", "/app/assets/..%2f..%2fREADME.md",
    "/app/assets%2fmain.js", "/app/assets%2Fmain.js", "/app/assets%5cmain.js", "/app/assets\\main.js",
    "/app/%2e%2e/%2e%2e/etc/passwd", "/app/assets/main.js%00", "/app//assets/main.js",
    "/app/join/..%5c..%5cetc",
])
def test_traversal_attempts_are_404(base_url, target):
    status, data = raw_get(base_url, target)
    assert status == 404, data[:300]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_not_served(anon, method):
    r = anon.request(method, "/app/")
    assert r.status_code == 404
    assert isinstance(body(r, 404), dict)


def test_api_paths_are_untouched(anon):
    expect(anon.get("/api/meetings/"), 403, {"detail": "Authentication credentials were not provided."})
    assert anon.get("/nothing-here/").status_code == 404
