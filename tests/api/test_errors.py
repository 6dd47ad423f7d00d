"""HTTP conventions, error bodies, limits and robustness against bad input."""

import json
import re
import socket
import time

import pytest

from castera_helpers import (
    FUTURE, MISSING_MEETING_ID, NOT_FOUND, NOT_PROVIDED, assert_error_detail,
    assert_serving, basic_header, body, expect, host_port, method_not_allowed, raw_body,
    raw_exchange, raw_status,
)

MIB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Health and API root


def test_healthz(anon):
    expect(anon.get("/healthz"), 200, {"status": "ok"})


def test_api_root_needs_no_credentials(anon, base_url):
    expect(anon.get("/api/"), 200, {"meetings": base_url + "/api/meetings/"})


def test_api_root_with_credentials(owner, base_url):
    expect(owner.get("/api/"), 200, {"meetings": base_url + "/api/meetings/"})


def test_api_root_follows_the_host_header(anon):
    r = anon.get("/api/", headers={"Host": "meet.example.test:8443"})
    expect(r, 200, {"meetings": "http://meet.example.test:8443/api/meetings/"})


def test_json_is_compact(owner):
    m = owner.create_meeting(title="compact")
    r = owner.get(f"/api/meetings/{m['id']}/")
    assert r.text == json.dumps(m, separators=(",", ":")), r.text


# --------------------------------------------------------------------------------------------
# Trailing slash


@pytest.mark.parametrize("path", ["/api/meetings", "/api/dashboard", "/api/meetings/upcoming",
                                  "/api/auth/me"])
def test_get_without_slash_redirects(owner, path):
    r = owner.get(path)
    assert r.status_code == 301, f"{r.status_code} {r.text[:200]}"
    assert r.headers.get("Location") == path + "/"


def test_get_without_slash_redirect_keeps_the_query(owner):
    r = owner.get("/api/meetings?limit=1&offset=0")
    assert r.status_code == 301
    assert r.headers.get("Location") == "/api/meetings/?limit=1&offset=0"


def test_get_without_slash_on_a_meeting(owner):
    m = owner.create_meeting()
    r = owner.get(f"/api/meetings/{m['id']}")
    assert r.status_code == 301
    assert r.headers.get("Location") == f"/api/meetings/{m['id']}/"


def test_head_without_slash_redirects(owner):
    r = owner.head("/api/meetings")
    assert r.status_code == 301
    assert r.headers.get("Location") == "/api/meetings/"


def test_redirect_followed_gives_the_list(owner):
    r = owner.get("/api/meetings", allow_redirects=True)
    assert r.status_code == 200 and isinstance(r.json(), list)


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/meetings"),
    ("PUT", "/api/meetings/{id}"),
    ("PATCH", "/api/meetings/{id}"),
    ("DELETE", "/api/meetings/{id}"),
    ("POST", "/api/meetings/{id}/set-status"),
    ("POST", "/api/meetings/{id}/messages"),
    ("POST", "/api/meetings/{id}/mute-audio"),
    ("POST", "/api/auth/login"),
])
def test_other_methods_without_slash_are_404(owner, method, path):
    m = owner.create_meeting()
    r = owner.request(method, path.format(id=m["id"]),
                      json={"title": "x", "scheduled_date": FUTURE, "status": "ended"})
    expect(r, 404, NOT_FOUND)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


# --------------------------------------------------------------------------------------------
# Unknown routes, methods


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/meetings/1/unknown-action/",
                                  "/api/meetings/upcoming/extra/"])
def test_unknown_api_paths_are_404_json(owner, path):
    assert isinstance(body(owner.get(path), 404), dict)


def test_unknown_path_outside_the_api_is_404(owner):
    assert owner.get("/nothing-here/at-all/").status_code == 404


def test_method_not_allowed(owner):
    expect(owner.delete("/api/meetings/"), 405, method_not_allowed("DELETE"))


@pytest.mark.parametrize("method,path", [("POST", "/api/dashboard/"),
                                         ("DELETE", "/api/dashboard/"),
                                         ("POST", "/api/auth/me/"),
                                         ("GET", "/api/auth/logout/")])
def test_more_methods_not_allowed(owner, method, path):
    expect(owner.request(method, path, json={}), 405, method_not_allowed(method))


def test_join_only_accepts_get(owner):
    m = owner.create_meeting()
    expect(owner.post(f"/api/join/{m['room_id']}/", json={}), 405, method_not_allowed("POST"))


def test_authentication_comes_before_method_check(anon):
    expect(anon.delete("/api/meetings/"), 403, NOT_PROVIDED)


# --------------------------------------------------------------------------------------------
# Request bodies


def test_unsupported_media_type(owner):
    r = owner.post("/api/meetings/", data=b"hello", headers={"Content-Type": "text/plain"})
    expect(r, 415, {"detail": 'Unsupported media type "text/plain" in request.'})


def test_unsupported_media_type_names_the_type(owner):
    r = owner.post("/api/meetings/", data=b"<x/>", headers={"Content-Type": "application/xml"})
    expect(r, 415, {"detail": 'Unsupported media type "application/xml" in request.'})


def test_unsupported_media_type_on_patch(owner):
    m = owner.create_meeting()
    r = owner.patch(f"/api/meetings/{m['id']}/", data=b"title=x",
                    headers={"Content-Type": "text/plain"})
    expect(r, 415, {"detail": 'Unsupported media type "text/plain" in request.'})
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)


def test_json_with_charset_parameter(owner):
    r = owner.post("/api/meetings/", headers={"Content-Type": "application/json; charset=utf-8"},
                   data=json.dumps({"title": "charset", "scheduled_date": FUTURE}).encode())
    assert body(r, 201)["title"] == "charset"


def test_json_with_escapes(owner):
    raw = b'{"title": "caf\\u00e9 \\ud83c\\udf89 \\"q\\"", "scheduled_date": "2030-01-01T00:00:00Z"}'
    r = owner.post("/api/meetings/", data=raw, headers={"Content-Type": "application/json"})
    assert body(r, 201)["title"] == 'café 🎉 "q"'


@pytest.mark.parametrize("raw", [b'{"title": ', b"{'title': 'x'}", b'{"title": "x",}',
                                 b"nope", b'{"title": "x"} trailing', b"\xff\xfe{}",
                                 b'{"title": "\xc3"}'],
                         ids=["truncated", "single-quotes", "trailing-comma", "word",
                              "trailing-garbage", "bom-garbage", "bad-utf8"])
def test_malformed_json(owner, raw):
    r = owner.post("/api/meetings/", data=raw, headers={"Content-Type": "application/json"})
    assert_error_detail(r, 400, "JSON parse error - ")


@pytest.mark.parametrize("raw,kind", [(b"[1,2]", "list"), (b'"text"', "str"), (b"5", "int")])
def test_json_body_not_an_object(owner, raw, kind):
    r = owner.post("/api/meetings/", data=raw, headers={"Content-Type": "application/json"})
    expect(r, 400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})


@pytest.mark.parametrize("route", ["messages", "recordings", "set-status"])
def test_non_object_json_on_other_routes_is_400(owner, route):
    m = owner.create_meeting()
    r = owner.post(f"/api/meetings/{m['id']}/{route}/", data=b"[1,2]",
                   headers={"Content-Type": "application/json"})
    assert isinstance(body(r, 400), dict)


def test_deeply_nested_json_is_rejected_without_crash(owner, base_url):
    raw = b'{"title": ' + b"[" * 100000 + b"]" * 100000 + b', "scheduled_date": "2030-01-01T00:00:00Z"}'
    r = owner.post("/api/meetings/", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert isinstance(r.json(), dict)
    assert_serving(base_url)


def test_body_just_under_the_limit_is_accepted(owner):
    description = "d" * (MIB - 200)
    payload = json.dumps({"title": "big", "description": description, "scheduled_date": FUTURE})
    assert len(payload.encode()) < MIB
    m = body(owner.post("/api/meetings/", data=payload,
                        headers={"Content-Type": "application/json"}), 201)
    try:
        assert m["description"] == description
    finally:  # keep the owner's lists small for the other tests
        owner.delete(f"/api/meetings/{m['id']}/")


def _big_request(users, length, body_bytes=b"", chunked=False):
    u = users["owner"]
    head = ["POST /api/meetings/ HTTP/1.1", "Host: 127.0.0.1",
            f"Authorization: {basic_header(u.email, u.password)}",
            "Content-Type: application/json", "Connection: close"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append(f"Content-Length: {length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body_bytes


def _expect_413(data, closed):
    status = raw_status(data)
    assert status == 413, f"expected 413, got {data[:300]!r} (closed={closed})"
    head, payload = raw_body(data)
    assert b"application/json" in head.lower()
    got = json.loads(payload)
    assert isinstance(got, dict) and isinstance(got.get("detail"), str), got


def test_body_over_one_mib_is_413(base_url, users):
    payload = b'{"title": "' + b"a" * (MIB + 10) + b'", "scheduled_date": "2030-01-01T00:00:00Z"}'
    data, closed = raw_exchange(base_url, _big_request(users, len(payload)),
                                send_chunks=[payload[i:i + 65536]
                                             for i in range(0, len(payload), 65536)])
    _expect_413(data, closed)
    assert_serving(base_url)


def test_declared_huge_length_is_413_without_waiting_for_the_body(base_url, users):
    start = time.monotonic()
    data, closed = raw_exchange(base_url, _big_request(users, 5_000_000_000), timeout=8)
    _expect_413(data, closed)
    assert time.monotonic() - start < 5
    assert_serving(base_url)


def test_chunked_body_over_one_mib_is_413(base_url, users):
    chunks = []
    piece = b"b" * 65536
    for _ in range(20):  # 1.25 MiB
        chunks.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    chunks.append(b"0\r\n\r\n")
    data, closed = raw_exchange(base_url, _big_request(users, 0, chunked=True),
                                send_chunks=chunks)
    _expect_413(data, closed)
    assert_serving(base_url)


def test_chunked_json_body_is_accepted(owner):
    payload = json.dumps({"title": "chunked", "scheduled_date": FUTURE}).encode()

    def gen():
        yield payload[:10]
        yield payload[10:]

    r = owner.post("/api/meetings/", data=gen(), headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert body(r, 201)["title"] == "chunked"


# --------------------------------------------------------------------------------------------
# Odd paths and ids


@pytest.mark.parametrize("suffix", ["", "messages/", "recordings/", "set-status/",
                                    "participants/", "mute-audio/"])
def test_unknown_meeting_everywhere(owner, suffix):
    path = f"/api/meetings/{MISSING_MEETING_ID}/{suffix}"
    method = "GET" if suffix in ("", "messages/", "recordings/", "participants/") else "POST"
    expect(owner.request(method, path, json={"status": "ended"}), 404, NOT_FOUND)


@pytest.mark.parametrize("ident", ["abc", "1e3", "%20", "0x10", "１２"])
def test_non_numeric_meeting_ids(owner, ident):
    expect(owner.get(f"/api/meetings/{ident}/"), 404, NOT_FOUND)


@pytest.mark.parametrize("target", [b"/api/../../etc/passwd", b"/../../../../etc/passwd",
                                    b"/static/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd"])
def test_path_traversal_is_not_served(base_url, target):
    data, closed = raw_exchange(
        base_url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = raw_status(data)
    assert status is None or 300 <= status < 500, data[:300]
    assert b"root:" not in data


def test_query_string_on_detail_is_ignored(owner):
    m = owner.create_meeting()
    expect(owner.get(f"/api/meetings/{m['id']}/?format=json&x=%ZZ"), 200, m)


# --------------------------------------------------------------------------------------------
# Raw sockets: the server answers garbage with a 4xx or a close, and keeps serving


def _assert_4xx_or_closed(data, closed):
    status = raw_status(data)
    if status is None:
        assert closed or data == b"", f"no status line and not closed: {data[:200]!r}"
    else:
        assert 400 <= status < 500, f"expected a 4xx, got {data[:300]!r}"


@pytest.mark.parametrize("payload", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon header\r\n\r\n",
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * MIB) + b"\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100_000)) + b"\r\n",
    b"GET /" + b"a" * MIB + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, foo\r\n\r\n",
], ids=["garbage", "bare-method", "header-no-colon", "binary", "huge-header",
        "many-headers", "huge-target", "cl-letters", "cl-negative", "cl-conflict",
        "cl-overflow", "bad-chunk", "bad-te"])
def test_garbage_requests(base_url, payload):
    data, closed = raw_exchange(base_url, payload, timeout=5)
    _assert_4xx_or_closed(data, closed)
    assert_serving(base_url)


def test_half_sent_request_does_not_block_others(base_url):
    host, port = host_port(base_url)
    stuck = socket.create_connection((host, port), timeout=5)
    try:
        stuck.sendall(b"POST /api/meetings/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert_serving(base_url)
    finally:
        stuck.close()
    assert_serving(base_url)


def test_many_idle_connections_do_not_block(base_url):
    host, port = host_port(base_url)
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(50)]
    try:
        assert_serving(base_url)
    finally:
        for s in socks:
            s.close()
    assert_serving(base_url)


def test_pipelined_requests_are_answered_in_order(base_url, users):
    u = users["owner"]
    auth = basic_header(u.email, u.password).encode()
    req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /api/auth/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\n\r\n"
           b"GET /api/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    host, port = host_port(base_url)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(req)
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3})", data)]
    assert statuses == [200, 200, 200], data[:600]
    assert data.index(b'{"status":"ok"}') < data.index(u.email.encode()) < data.index(b'"meetings"')


def test_keep_alive_reuses_the_connection(base_url):
    host, port = host_port(base_url)
    with socket.create_connection((host, port), timeout=5) as s:
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                piece = s.recv(4096)
                assert piece, f"connection closed after {data!r}"
                data += piece
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            while len(rest) < length:
                piece = s.recv(4096)
                assert piece, "connection closed mid-body"
                rest += piece
            assert rest == b'{"status":"ok"}'
            assert raw_status(data) == 200


def test_http_1_0_request(base_url):
    data, closed = raw_exchange(base_url, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert raw_status(data) == 200, data[:200]
    assert b'{"status":"ok"}' in data


@pytest.mark.parametrize("payload", [
    b"GET /healthz HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
], ids=["http-1.1-without-host", "two-hosts", "http-1.0-two-hosts"])
def test_a_request_without_exactly_one_host_is_a_400(base_url, payload):
    data, closed = raw_exchange(base_url, payload)
    assert raw_status(data) == 400, data[:200]
    assert b"Malformed HTTP request." in data


def test_no_500_for_a_burst_of_bad_inputs(owner, base_url):
    m = owner.create_meeting()
    bad = [
        ("POST", "/api/meetings/", {"title": {"$gt": ""}, "scheduled_date": [1]}),
        ("PATCH", f"/api/meetings/{m['id']}/", {"scheduled_date": "9999-99-99T99:99:99Z"}),
        ("PATCH", f"/api/meetings/{m['id']}/", {"scheduled_date": "99999-01-01T00:00:00Z"}),
        ("PATCH", f"/api/meetings/{m['id']}/", {"title": "\u0000"}),
        ("POST", f"/api/meetings/{m['id']}/messages/", {"content": ["a", "b"]}),
        ("POST", f"/api/meetings/{m['id']}/recordings/", {"file_url": 12}),
        ("POST", f"/api/meetings/{m['id']}/set-status/", {"status": {"a": 1}}),
    ]
    for method, path, payload in bad:
        r = owner.request(method, path, json=payload)
        assert 400 <= r.status_code < 500, f"{method} {path} {payload!r}: {r.status_code} {r.text[:200]}"
        assert isinstance(r.json(), dict)
    expect(owner.get(f"/api/meetings/{m['id']}/"), 200, m)
    assert_serving(base_url)
