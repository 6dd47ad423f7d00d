"""Identity and security (SPEC section 3): Clerk tokens verified offline, API tokens, throttled
logins, CORS, cookie flags, the CSRF referer check and the secret-key check. Every token here is
made with freshly generated RSA keys; the attacks are the classic ones."""

import base64
import http.client
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from castera_helpers import (Client, SessionClient, body, find_cookie, host_port, run, unique,
                             ws_open, ws_sync)
from conftest import base_env, castera_bin, free_port, run_cli, start_server, stop_server

ISSUER = "https://clerk.example.test"
PARTY = "https://app.example.com"

# --------------------------------------------------------------------------------------------
# Tokens


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwk(key, kid):
    numbers = key.public_key().public_numbers()
    to_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64url(to_bytes(numbers.n)), "e": b64url(to_bytes(numbers.e))}


def sign(key, header, claims):
    signing_input = b64url(json.dumps(header)) + "." + b64url(json.dumps(claims))
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def claims_for(email, **extra):
    now = int(time.time())
    claims = {"sub": "user_" + secrets.token_hex(6), "email": email, "iss": ISSUER, "azp": PARTY,
              "iat": now - 5, "nbf": now - 5, "exp": now + 300}
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def bearer(token):
    return {"Authorization": "Bearer " + token}


# --------------------------------------------------------------------------------------------
# A server configured for all of it: not in debug, Clerk keys, small throttling windows.


class World:
    pass


def start_world(tmpdir, extra_env):
    env = base_env(tmpdir)
    env.update({"DJANGO_DEBUG": "False", "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
                "CASTERA_PASSWORD_ITERATIONS": "1000"})
    env.update(extra_env)
    assert run_cli(castera_bin(), env, "migrate").returncode == 0
    proc, base_url = start_server(castera_bin(), env, os.path.join(tmpdir, "server.log"))
    return env, proc, base_url


@pytest.fixture(scope="module")
def world():
    if not os.path.exists(castera_bin()):
        pytest.skip("castera binary not found")
    w = World()
    w.dir = tempfile.mkdtemp(prefix="castera-security-")
    w.key, w.other_key = new_key(), new_key()
    w.kid = "key-" + secrets.token_hex(4)
    jwks_path = os.path.join(w.dir, "jwks.json")
    with open(jwks_path, "w") as f:
        json.dump({"keys": [jwk(w.key, w.kid), {"kty": "EC", "kid": "ignored"}]}, f)
    w.env, w.proc, w.base_url = start_world(w.dir, {
        "CLERK_JWKS_FILE": jwks_path, "CLERK_ISSUER": ISSUER, "CLERK_AUTHORIZED_PARTIES": PARTY,
        "CLERK_ROLE_CLAIM": "public_metadata.role", "CLERK_LEEWAY_SECONDS": "5",
        "CASTERA_ALLOWED_ORIGINS": PARTY, "CASTERA_TRUST_X_FORWARDED_PROTO": "True",
        "CASTERA_LOGIN_FAILURES_PER_ACCOUNT": "3", "CASTERA_LOGIN_FAILURES_PER_ADDRESS": "6",
        "CASTERA_LOGIN_FAILURE_WINDOW_SECONDS": "3",
    })
    w.token = lambda claims, header=None, key=None: sign(
        key or w.key, header or {"alg": "RS256", "typ": "JWT", "kid": w.kid}, claims)
    yield w
    stop_server(w.proc)
    shutil.rmtree(w.dir, ignore_errors=True)


def make_user(w, password="right-password-1", **flags):
    email = unique("u") + "@example.com"
    args = ["createuser", "--email", email, "--password-stdin"]
    res = run_cli(castera_bin(), w.env, *args, input=password + "\n")
    assert res.returncode == 0, res.stderr
    return email, password


def me(w, headers):
    return Client(w.base_url).get("/api/auth/me/", headers=headers)


def detail(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json().get("detail")


# --------------------------------------------------------------------------------------------
# Clerk tokens


def test_valid_token_creates_the_user_on_first_sight(world):
    email = unique("clerk") + "@example.com"
    claims = claims_for(email, first_name="Grace", last_name="Hopper",
                        image_url="https://img.example.com/g.png")
    data = body(me(world, bearer(world.token(claims))), 200)
    assert data["email"] == email
    assert data["full_name"] == "Grace Hopper"
    assert data["image"] == "https://img.example.com/g.png"
    assert data["role"] == "user"
    assert (data["is_staff"], data["is_superuser"]) == (False, False)
    # The account has no usable password: Basic with any password fails.
    assert me(world, {"Authorization": "Basic " + b64url(email + ":").replace("-", "+")}).status_code == 403


def test_role_claim_admin_makes_an_admin(world):
    email = unique("boss") + "@example.com"
    token = world.token(claims_for(email, public_metadata={"role": "admin"}))
    assert body(me(world, bearer(token)), 200)["role"] == "admin"


def test_later_tokens_update_name_and_image(world):
    email = unique("later") + "@example.com"
    body(me(world, bearer(world.token(claims_for(email, name="First Name")))), 200)
    data = body(me(world, bearer(world.token(claims_for(
        email, name="Second Name", picture="https://img.example.com/2.png")))), 200)
    assert data["full_name"] == "Second Name"
    assert data["image"] == "https://img.example.com/2.png"


def test_token_user_can_use_the_api(world):
    headers = bearer(world.token(claims_for(unique("api") + "@example.com")))
    c = Client(world.base_url, authorization=headers["Authorization"])
    m = body(c.post("/api/meetings/", json={"title": "t", "scheduled_date": "2030-01-01T00:00:00Z"}), 201)
    assert body(c.get(f"/api/meetings/{m['id']}/"), 200)["id"] == m["id"]


def test_existing_user_is_found_by_email(world):
    email, _ = make_user(world)
    data = body(me(world, bearer(world.token(claims_for(email)))), 200)
    assert data["email"] == email


# Times are seconds from the moment the test runs ("now+" / "now-"), not from when the suite was
# collected: a long suite would otherwise reach these with their future already past.
@pytest.mark.parametrize("change,expected", [
    ({"exp": ("now-", 60)}, "Token has expired."),
    ({"nbf": ("now+", 120)}, "Token is not yet valid."),
    ({"iat": ("now+", 120)}, "Token is not yet valid."),
    ({"exp": None}, None),
    ({"exp": "tomorrow"}, None),
    ({"iss": "https://evil.example"}, None),
    ({"iss": None}, None),
    ({"azp": "https://evil.example"}, None),
    ({"azp": None}, None),
    ({"email": None}, None),
    ({"email": "not-an-email"}, None),
])
def test_bad_claims_are_refused(world, change, expected):
    claims = claims_for(unique("bad") + "@example.com")
    for name, value in change.items():
        if isinstance(value, tuple):
            sign_, seconds = value
            value = int(time.time()) + (seconds if sign_ == "now+" else -seconds)
        claims[name] = value
    claims = {k: v for k, v in claims.items() if v is not None}
    text = detail(me(world, bearer(world.token(claims))), 403)
    if expected:
        assert text == expected


def test_small_clock_skew_is_tolerated(world):
    claims = claims_for(unique("skew") + "@example.com", exp=int(time.time()) - 2,
                        nbf=int(time.time()) + 2)
    assert me(world, bearer(world.token(claims))).status_code == 200


def test_signature_by_another_key_is_refused(world):
    token = world.token(claims_for(unique("forged") + "@example.com"), key=world.other_key)
    assert detail(me(world, bearer(token)), 403) == "Invalid token."


def test_tampered_payload_is_refused(world):
    token = world.token(claims_for(unique("tamper") + "@example.com"))
    head, _, sig = token.split(".")
    evil = b64url(json.dumps(claims_for("admin@example.com", public_metadata={"role": "admin"})))
    assert detail(me(world, bearer(f"{head}.{evil}.{sig}")), 403) == "Invalid token."


def test_alg_none_is_refused(world):
    claims = claims_for(unique("none") + "@example.com")
    token = b64url(json.dumps({"alg": "none", "kid": world.kid})) + "." + b64url(json.dumps(claims)) + "."
    assert detail(me(world, bearer(token)), 403) == "Invalid token."


def test_hs256_with_the_public_key_as_secret_is_refused(world):
    claims = claims_for(unique("hs") + "@example.com")
    signing_input = (b64url(json.dumps({"alg": "HS256", "kid": world.kid})) + "." +
                     b64url(json.dumps(claims)))
    for secret in (public_pem(world.key).encode(), json.dumps(jwk(world.key, world.kid)).encode()):
        mac = hmac.HMAC(secret, hashes.SHA256())
        mac.update(signing_input.encode())
        token = signing_input + "." + b64url(mac.finalize())
        assert detail(me(world, bearer(token)), 403) == "Invalid token."


def test_other_rsa_algorithms_are_refused(world):
    claims = claims_for(unique("rs512") + "@example.com")
    signing_input = b64url(json.dumps({"alg": "RS512", "kid": world.kid})) + "." + b64url(json.dumps(claims))
    signature = world.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA512())
    assert detail(me(world, bearer(signing_input + "." + b64url(signature))), 403) == "Invalid token."


def test_unknown_kid_is_refused(world):
    token = world.token(claims_for(unique("kid") + "@example.com"),
                        header={"alg": "RS256", "kid": "no-such-key"})
    assert detail(me(world, bearer(token)), 403) == "Invalid token."


@pytest.mark.parametrize("token", [
    "", "abc", "a.b", "a.b.c.d", "!!!.???.###", b64url("{") + "." + b64url("{}") + ".x",
    b64url("[]") + "." + b64url("{}") + "." + b64url("sig"), "x" * 15000,
    b64url(json.dumps({"alg": "RS256"})) + "." + b64url("\xff\xfe") + "." + b64url("s"),
])
def test_malformed_tokens_are_refused(world, token):
    resp = Client(world.base_url, authorization="Bearer " + token).get("/api/auth/me/")
    assert resp.status_code == 403, resp.text
    assert "detail" in resp.json()


def test_huge_token_is_a_clean_4xx(world):
    resp = Client(world.base_url, authorization="Bearer " + "x" * 70000).get("/api/auth/me/")
    assert 400 <= resp.status_code < 500
    assert Client(world.base_url).get("/healthz").status_code == 200


def test_bearer_without_token_is_refused(world):
    assert detail(me(world, {"Authorization": "Bearer"}), 403).startswith("Invalid token header")


def test_websocket_accepts_a_token_as_access_token(world):
    email = unique("ws") + "@example.com"
    token = world.token(claims_for(email))
    c = Client(world.base_url, authorization="Bearer " + token)
    m = body(c.post("/api/meetings/", json={"title": "t", "scheduled_date": "2030-01-01T00:00:00Z"}), 201)

    async def chat():
        ws = await ws_open(world.base_url, m["room_id"], query="?access_token=" + token)
        await ws.send(json.dumps({"message": "hi", "sender": "someone@else.com"}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("message") == "hi":
                await ws.close()
                return frame
    assert run(chat())["sender"] == email


def test_websocket_refuses_a_bad_access_token(world):
    import websockets
    email = unique("wsbad") + "@example.com"
    c = Client(world.base_url, authorization="Bearer " + world.token(claims_for(email)))
    m = body(c.post("/api/meetings/", json={"title": "t", "scheduled_date": "2030-01-01T00:00:00Z"}), 201)
    bad = world.token(claims_for(email), key=world.other_key)
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as info:
        run(ws_open(world.base_url, m["room_id"], query="?access_token=" + bad))
    assert info.value.status_code == 403


def test_jwks_url_is_fetched_and_refreshed_on_an_unknown_kid(tmp_path):
    key1, key2 = new_key(), new_key()
    site = tmp_path / "site"
    site.mkdir()
    (site / "jwks.json").write_text(json.dumps({"keys": [jwk(key1, "k1")]}))
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"
    env, proc, base_url = start_world(str(tmp_path), {"CLERK_JWKS_URL": url})
    try:
        email = unique("jwks") + "@example.com"
        t1 = sign(key1, {"alg": "RS256", "kid": "k1"}, claims_for(email))
        deadline = time.time() + 10
        while Client(base_url, authorization="Bearer " + t1).get("/api/auth/me/").status_code != 200:
            assert time.time() < deadline, "the JWKS was never fetched"
            time.sleep(0.1)
        # The keys rotate: a token with the new kid makes castera fetch the document again.
        (site / "jwks.json").write_text(json.dumps({"keys": [jwk(key1, "k1"), jwk(key2, "k2")]}))
        t2 = sign(key2, {"alg": "RS256", "kid": "k2"}, claims_for(email))
        deadline = time.time() + 10
        while Client(base_url, authorization="Bearer " + t2).get("/api/auth/me/").status_code != 200:
            assert time.time() < deadline, "the JWKS was not refreshed for an unknown kid"
            time.sleep(0.2)
    finally:
        stop_server(proc)
        httpd.shutdown()


def test_pem_key_from_the_environment(tmp_path):
    key = new_key()
    env, proc, base_url = start_world(str(tmp_path), {"CLERK_JWT_KEY": public_pem(key)})
    try:
        email = unique("pem") + "@example.com"
        token = sign(key, {"alg": "RS256", "typ": "JWT"}, claims_for(email))
        assert body(Client(base_url, authorization="Bearer " + token).get("/api/auth/me/"), 200)["email"] == email
        forged = sign(new_key(), {"alg": "RS256"}, claims_for(email))
        assert Client(base_url, authorization="Bearer " + forged).get("/api/auth/me/").status_code == 403
    finally:
        stop_server(proc)


def test_bearer_without_clerk_configuration_is_refused(base_url):
    resp = Client(base_url, authorization="Bearer " + sign(new_key(), {"alg": "RS256"}, claims_for("a@b.co")))
    assert resp.get("/api/auth/me/").status_code == 403


# --------------------------------------------------------------------------------------------
# API tokens (on the shared test server)


def new_token(client, **fields):
    fields.setdefault("name", unique("token"))
    return body(client.post("/api/auth/tokens/", json=fields), 201)


def test_api_token_is_shown_once_and_works(owner, base_url):
    created = new_token(owner, name="ci bot")
    assert list(created) == ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "token"]
    assert created["token"].startswith(created["prefix"]) and created["name"] == "ci bot"
    c = Client(base_url, authorization="Token " + created["token"])
    assert body(c.get("/api/auth/me/"), 200)["email"] == owner.email
    listed = body(owner.get("/api/auth/tokens/"), 200)
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1 and "token" not in mine[0]
    assert all("token" not in t for t in listed)


def test_revoked_token_is_refused(owner, base_url):
    created = new_token(owner)
    c = Client(base_url, authorization="Token " + created["token"])
    assert c.get("/api/auth/me/").status_code == 200
    assert owner.delete(f"/api/auth/tokens/{created['id']}/").status_code == 204
    assert detail(c.get("/api/auth/me/"), 403) == "Invalid token."
    assert owner.delete(f"/api/auth/tokens/{created['id']}/").status_code == 404


def test_tokens_are_private_to_their_owner(owner, other):
    created = new_token(owner)
    assert other.delete(f"/api/auth/tokens/{created['id']}/").status_code == 404
    assert all(t["id"] != created["id"] for t in body(other.get("/api/auth/tokens/"), 200))


def test_expired_token_is_refused(owner, base_url):
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    created = new_token(owner, expires_at=soon)
    c = Client(base_url, authorization="Token " + created["token"])
    assert c.get("/api/auth/me/").status_code == 200
    time.sleep(2.5)
    assert detail(c.get("/api/auth/me/"), 403) == "Invalid token."


def test_token_lifetime_in_days(owner):
    created = new_token(owner, expires_in_days=30)
    assert created["expires_at"] is not None


@pytest.mark.parametrize("fields,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "t", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "t", "expires_at": "soon"}, "expires_at"),
    ({"name": "t", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "t", "expires_in_days": "7"}, "expires_in_days"),
])
def test_token_validation(owner, fields, field):
    resp = owner.post("/api/auth/tokens/", json=fields)
    assert resp.status_code == 400, resp.text
    assert field in resp.json()


def test_a_token_cannot_mint_tokens(owner, base_url):
    c = Client(base_url, authorization="Token " + new_token(owner)["token"])
    assert c.post("/api/auth/tokens/", json={"name": "child"}).status_code == 403


@pytest.mark.parametrize("header", ["Token", "Token  ", "Token a b", "Token cst_" + "x" * 40, "Token " + "y" * 500])
def test_bad_token_headers_are_refused(base_url, header):
    assert Client(base_url, authorization=header).get("/api/auth/me/").status_code == 403


def test_tokens_need_credentials(anon):
    assert anon.get("/api/auth/tokens/").status_code == 403
    assert anon.post("/api/auth/tokens/", json={"name": "x"}).status_code == 403


def test_websocket_accepts_an_api_token(owner, base_url):
    token = new_token(owner)["token"]
    m = owner.create_meeting()

    async def chat():
        ws = await ws_open(base_url, m["room_id"], query="?access_token=" + token)
        await ws_sync(ws, owner.email)
        await ws.close()
    run(chat())


# --------------------------------------------------------------------------------------------
# Throttling, from distinct loopback addresses so that tests do not share a budget.


def request_from(w, address, method, path, headers=None, body_json=None):
    host, port = host_port(w.base_url)
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(address, 0))
    data = json.dumps(body_json).encode() if body_json is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), (json.loads(payload) if payload else None)


def login_from(w, address, email, password):
    return request_from(w, address, "POST", "/api/auth/login/",
                        body_json={"email": email, "password": password})


def basic(email, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def test_failed_logins_throttle_the_account(world):
    email, password = make_user(world)
    for i in range(3):
        assert login_from(world, f"127.0.1.{i + 1}", email, "wrong")[0] == 400
    status, headers, data = login_from(world, "127.0.1.9", email, password)
    assert status == 429
    assert data["detail"].startswith("Request was throttled. Expected available in ")
    assert 1 <= int(headers["Retry-After"]) <= 3
    time.sleep(int(headers["Retry-After"]) + 0.2)
    assert login_from(world, "127.0.1.9", email, password)[0] == 200


def test_failed_basic_logins_count_too(world):
    email, password = make_user(world)
    for _ in range(3):
        assert request_from(world, "127.0.2.1", "GET", "/api/auth/me/", basic(email, "wrong"))[0] == 403
    status, headers, _ = request_from(world, "127.0.2.2", "GET", "/api/auth/me/", basic(email, password))
    assert status == 429 and "Retry-After" in headers


def test_failed_logins_throttle_the_address(world):
    address = "127.0.3.1"
    for _ in range(6):
        assert login_from(world, address, unique("nobody") + "@example.com", "wrong")[0] == 400
    email, password = make_user(world)
    assert login_from(world, address, email, password)[0] == 429
    assert login_from(world, "127.0.3.2", email, password)[0] == 200


def test_a_good_login_clears_the_account(world):
    email, password = make_user(world)
    for _ in range(2):
        assert login_from(world, "127.0.4.1", email, "wrong")[0] == 400
    assert login_from(world, "127.0.4.2", email, password)[0] == 200
    for _ in range(2):
        assert login_from(world, "127.0.4.3", email, "wrong")[0] == 400
    assert login_from(world, "127.0.4.4", email, password)[0] == 200


def test_account_throttle_ignores_email_case(world):
    email, password = make_user(world)
    for variant in (email.upper(), email.title(), email):
        login_from(world, "127.0.5.1", variant, "wrong")
    assert login_from(world, "127.0.5.2", email, password)[0] == 429


def test_per_user_request_rate_limit(tmp_path):
    env, proc, base_url = start_world(str(tmp_path), {"CASTERA_USER_REQUESTS_PER_MINUTE": "5"})
    try:
        assert run_cli(castera_bin(), env, "createuser", "--email", "r@example.com", "--password-stdin",
                       input="rate-pass-1\n").returncode == 0
        c = Client(base_url, "r@example.com", "rate-pass-1")
        statuses = [c.get("/api/auth/me/").status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5
        assert statuses[5] == 429
    finally:
        stop_server(proc)


# --------------------------------------------------------------------------------------------
# Cookies, CSRF, CORS, headers, the secret key


def test_session_cookies_are_secure_outside_debug(world):
    email, password = make_user(world)
    resp = SessionClient(world.base_url).login(email, password)
    assert resp.status_code == 200
    _, session = find_cookie(resp, "sessionid")
    assert session.get("httponly") and session.get("secure") and session.get("samesite") == "Lax"
    _, csrf = find_cookie(resp, "csrftoken")
    assert csrf.get("secure") and csrf.get("samesite") == "Lax"


def session_headers(w):
    email, password = make_user(w)
    c = SessionClient(w.base_url)
    assert c.login(email, password).status_code == 200
    cookie = f"sessionid={c.http.cookies.get('sessionid')}; csrftoken={c.http.cookies.get('csrftoken')}"
    return {"Cookie": cookie, "X-CSRFToken": c.http.cookies.get("csrftoken"),
            "X-Forwarded-Proto": "https"}


NEW_MEETING = {"title": "t", "scheduled_date": "2030-01-01T00:00:00Z"}


def test_https_csrf_needs_a_referer(world):
    h = session_headers(world)
    status, _, data = request_from(world, "127.0.6.1", "POST", "/api/meetings/", h, NEW_MEETING)
    assert status == 403 and data["detail"] == "CSRF Failed: Referer checking failed - no Referer."
    h["Referer"] = "http://" + host_port(world.base_url)[0] + "/page"
    status, _, data = request_from(world, "127.0.6.1", "POST", "/api/meetings/", h, NEW_MEETING)
    assert status == 403 and "insecure" in data["detail"]
    h["Referer"] = "https://evil.example/page"
    status, _, data = request_from(world, "127.0.6.1", "POST", "/api/meetings/", h, NEW_MEETING)
    assert status == 403 and "does not match any trusted origins" in data["detail"]
    h["Referer"] = PARTY + "/meetings"
    assert request_from(world, "127.0.6.1", "POST", "/api/meetings/", h, NEW_MEETING)[0] == 201


def test_cors_preflight_from_an_allowed_origin(world):
    status, headers, _ = request_from(world, "127.0.7.1", "OPTIONS", "/api/meetings/", {
        "Origin": PARTY, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-csrftoken"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == PARTY
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "X-CSRFToken" in headers["Access-Control-Allow-Headers"]


def test_cors_says_nothing_to_other_origins(world):
    status, headers, _ = request_from(world, "127.0.7.2", "OPTIONS", "/api/meetings/", {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in headers
    email, password = make_user(world)
    _, headers, _ = request_from(world, "127.0.7.2", "GET", "/api/auth/me/",
                                 {"Origin": "https://evil.example", **basic(email, password)})
    assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = request_from(world, "127.0.7.2", "GET", "/api/auth/me/",
                                      {"Origin": PARTY, **basic(email, password)})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == PARTY
    assert headers["Vary"] == "Origin"


def test_security_headers(base_url, owner):
    for resp in (owner.get("/api/auth/me/"), Client(base_url).get("/api/nope/")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"]


@pytest.mark.parametrize("key", [None, "", "django-insecure-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn",
                                 "short-key", "a" * 60])
def test_weak_or_missing_secret_key_stops_startup(tmp_path, key):
    env = base_env(str(tmp_path))
    env["DJANGO_DEBUG"] = "False"
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("CASTERA_SECRET_KEY", None)
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    res = run_cli(castera_bin(), env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY" in lines[0], res.stderr


def test_bad_clerk_key_stops_startup(tmp_path):
    env = base_env(str(tmp_path))
    env["CLERK_JWT_KEY"] = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"
    res = run_cli(castera_bin(), env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), timeout=15)
    assert res.returncode != 0 and "CLERK_JWT_KEY" in res.stderr
