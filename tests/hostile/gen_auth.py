"""Credentials of every shape: Basic headers that are malformed or wrong, API tokens and bearer
tokens that are not, unknown schemes, session cookies and CSRF tokens that do not match.

castera's rules (src/auth/authenticate.cpp, DRF's messages): the scheme word is matched without
case and must be followed by a space or nothing; an unknown scheme is no credential at all
(403 `Authentication credentials were not provided.`); a malformed Basic header, a wrong
password, a bad token or any bearer token without a Clerk key configured is a 403 with its own
detail; a bad credential is never treated as anonymous; a session without its CSRF token
cannot write.
"""

import base64
import random

from hostile import Case, expect, request

NOT_PROVIDED = "Authentication credentials were not provided."
BAD_BASIC_B64 = "Invalid basic header. Credentials not correctly base64 encoded."
BASIC_EMPTY = "Invalid basic header. No credentials provided."
BASIC_SPACES = "Invalid basic header. Credentials string should not contain spaces."
TOKEN_EMPTY = "Invalid token header. No credentials provided."
TOKEN_SPACES = "Invalid token header. Token string should not contain spaces."
INVALID_TOKEN = "Invalid token."
WRONG = "Invalid username/password."


def b64(data):
    return base64.b64encode(data).decode()


def basic_shapes(world):
    """(label, header value, expected detail or None for success)."""
    victim = world.users["victim"]
    owner = world.users["owner"]
    rng = random.Random(2617)
    out = [
        ("Basic alone", "Basic", BASIC_EMPTY), ("Basic and spaces", "Basic    ", BASIC_EMPTY),
        ("lower-case basic alone", "basic", BASIC_EMPTY),
        ("two parts", "Basic abc def", BASIC_SPACES), ("three parts", "Basic a b c", BASIC_SPACES),
        ("not base64", "Basic !!!!", BAD_BASIC_B64), ("base64 with a dot", "Basic YWJj.ZGVm", BAD_BASIC_B64),
        ("base64url", "Basic " + base64.urlsafe_b64encode(b"\xfb\xff:\xfe").decode(), BAD_BASIC_B64),
        ("bad padding", "Basic YQ=", BAD_BASIC_B64), ("too much padding", "Basic YWJj====", BAD_BASIC_B64),
        ("padding in the middle", "Basic YW=Jj", BAD_BASIC_B64), ("one character", "Basic Y", BAD_BASIC_B64),
        ("NUL in the email", "Basic " + b64(victim.email.encode() + b"\x00:x"), BAD_BASIC_B64),
        ("NUL in the password", "Basic " + b64(victim.email.encode() + b":p\x00w"), BAD_BASIC_B64),
        ("invalid UTF-8 email", "Basic " + b64(b"\xff\xfe@example.com:pw"), BAD_BASIC_B64),
        ("overlong UTF-8 email", "Basic " + b64(b"\xc0\xafvictim@example.com:pw"), BAD_BASIC_B64),
        ("encoded surrogate", "Basic " + b64(b"\xed\xa0\x80@example.com:pw"), BAD_BASIC_B64),
        ("invalid UTF-8 password", "Basic " + b64(victim.email.encode() + b":\xff"), BAD_BASIC_B64),
        ("no colon", "Basic " + b64(victim.email.encode()), WRONG),
        ("only a colon", "Basic " + b64(b":"), WRONG), ("two colons", "Basic " + b64(b"::"), WRONG),
        ("empty password", "Basic " + b64(victim.email.encode() + b":"), WRONG),
        ("empty email", "Basic " + b64(b":" + victim.password.encode()), WRONG),
        ("wrong password", "Basic " + b64(victim.email.encode() + b":wrong"), WRONG),
        ("password with a trailing space", "Basic " + b64((victim.email + ":" + victim.password + " ").encode()), WRONG),
        ("email upper-case, wrong password", "Basic " + b64(victim.email.upper().encode() + b":x"), WRONG),
        ("unknown user", "Basic " + b64(b"nobody@example.com:x"), WRONG),
        ("an email of 10 KB", "Basic " + b64(b"a" * 10240 + b"@example.com:x"), WRONG),
        ("a password of 8 KB", "Basic " + b64(victim.email.encode() + b":" + b"p" * 8192), WRONG),
        ("SQL in the email", "Basic " + b64(b"' OR '1'='1:x"), WRONG),
        ("wildcards in the email", "Basic " + b64(b"%@%:x"), WRONG),
        ("emoji email", "Basic " + b64("\U0001f600@example.com:x".encode()), WRONG),
        ("the email with spaces", "Basic " + b64(b" " + victim.email.encode() + b" :x"), WRONG),
        ("right credentials, upper-case scheme", "BASIC " + b64(f"{owner.email}:{owner.password}".encode()), None),
        ("right credentials, odd-case scheme", "bAsIc " + b64(f"{owner.email}:{owner.password}".encode()), None),
        ("right credentials, spaces around", "Basic   " + b64(f"{owner.email}:{owner.password}".encode()) + "  ", None),
    ]
    for i in range(40):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 60)))
        try:
            text = raw.decode("utf-8")
            valid = "\x00" not in text
        except UnicodeDecodeError:
            valid = False
        out.append((f"random bytes {i}", "Basic " + b64(raw), WRONG if valid else BAD_BASIC_B64))
    for i in range(20):
        text = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~!*")
                       for _ in range(rng.randint(1, 80)))
        try:
            decoded = base64.b64decode(text, validate=True)
            shape = WRONG if "\x00" not in decoded.decode("utf-8") else BAD_BASIC_B64
        except (ValueError, UnicodeDecodeError):
            shape = BAD_BASIC_B64
        out.append((f"random text {i}", "Basic " + text, shape))
    return out


def token_shapes(world):
    rng = random.Random(4242)
    real = world.token
    out = [
        ("Token alone", "Token", TOKEN_EMPTY), ("Token and spaces", "Token    ", TOKEN_EMPTY),
        ("lower-case token alone", "token", TOKEN_EMPTY), ("two parts", "Token a b", TOKEN_SPACES),
        ("the key and a word", "Token " + real + " x", TOKEN_SPACES),
        ("one character off", "Token " + real[:-1] + ("A" if real[-1] != "A" else "B"), INVALID_TOKEN),
        ("cut short", "Token " + real[:-5], INVALID_TOKEN), ("doubled", "Token " + real + real, INVALID_TOKEN),
        ("the prefix only", "Token " + real[:12], INVALID_TOKEN), ("128 characters", "Token " + "x" * 128, INVALID_TOKEN),
        ("129 characters", "Token " + "x" * 129, INVALID_TOKEN), ("8 KB", "Token " + "x" * 8192, INVALID_TOKEN),
        ("UTF-8", "Token \xc3\xa9\xc3\xa9", INVALID_TOKEN), ("obs-text", "Token \xff\xfe", INVALID_TOKEN),
        ("SQL", "Token '--", INVALID_TOKEN), ("a JWT", "Token a.b.c", INVALID_TOKEN),
        ("right key, upper-case scheme", "TOKEN " + real, None), ("right key, spaces around", "Token   " + real + "  ", None),
    ]
    for i in range(30):
        n = rng.choice([1, 2, 8, 16, 32, 43, 44, 47, 64, 100, 127])
        key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for _ in range(n))
        out.append((f"random key {i} ({n})", "Token " + ("cst_" if i % 2 else "") + key, INVALID_TOKEN))
    return out


def bearer_shapes(world):
    rng = random.Random(7)
    seg = lambda n: base64.urlsafe_b64encode(bytes(rng.getrandbits(8) for _ in range(n))).rstrip(b"=").decode()
    jwt_head = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=").decode()
    none_head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    claims = base64.urlsafe_b64encode(b'{"email":"owner@example.com","exp":9999999999}').rstrip(b"=").decode()
    out = [("Bearer alone", "Bearer", TOKEN_EMPTY), ("two parts", "Bearer a b", TOKEN_SPACES),
           ("alg none", f"Bearer {none_head}.{claims}.", INVALID_TOKEN),
           ("RS256 with a random signature", f"Bearer {jwt_head}.{claims}.{seg(256)}", INVALID_TOKEN),
           ("four parts", "Bearer a.b.c.d", INVALID_TOKEN), ("one part", "Bearer abc", INVALID_TOKEN),
           ("empty parts", "Bearer ..", INVALID_TOKEN), ("64 KB", "Bearer " + "x" * 15000, INVALID_TOKEN),
           ("not base64", "Bearer !!!.???.###", INVALID_TOKEN), ("the API token", "Bearer " + world.token, INVALID_TOKEN)]
    for i in range(20):
        out.append((f"random segments {i}", f"Bearer {seg(rng.randint(0, 40))}.{seg(rng.randint(0, 200))}.{seg(rng.randint(0, 300))}",
                    INVALID_TOKEN))
    return out


UNKNOWN_SCHEMES = ["Digest username=\"x\"", "Negotiate YIIG", "NTLM TlRMTVNTUAAB", "Hoba x", "Mutual x",
                   "AWS4-HMAC-SHA256 Credential=x", "Basicx " + b64(b"a:b"), "Tokenx abc", "Bearerx a.b.c",
                   "Basic\t" + b64(b"a:b"), "Token\tabc", "X", "=", ",", "Basic," + b64(b"a:b"), "\xff\xfe",
                   "Bearer:abc", " ", "Basic" + b64(b"a:b")]


def auth(world):
    targets = [("GET", "/api/auth/me/"), ("GET", f"/api/meetings/{world.meetings['main'].id}/"),
               ("POST", "/api/meetings/"), ("DELETE", f"/api/meetings/{world.meetings['other'].id}/")]
    cases = []
    shapes = ([("basic " + l, h, d) for l, h, d in basic_shapes(world)] +
              [("token " + l, h, d) for l, h, d in token_shapes(world)] +
              [("bearer " + l, h, d) for l, h, d in bearer_shapes(world)] +
              [(f"scheme {s[:20]!r}", s, NOT_PROVIDED) for s in UNKNOWN_SCHEMES])
    for i, (label, header, detail) in enumerate(shapes):
        for method, path in (targets if detail is not None else targets[:1]):
            body = b'{"title": "x"}' if method == "POST" else None
            headers = [("Authorization", header)] + ([("Content-Type", "application/json")] if body else [])
            raw = request(method, path, headers, body, host=world.host)
            if detail is None:
                want = expect(200)
            elif detail == NOT_PROVIDED:
                want = expect(403, detail=NOT_PROVIDED)
            else:
                want = expect(403, detail=detail)
            cases.append(Case(f"{label} on {method} {path}", raw, want))
    # The WebSocket's ?access_token= on a REST route is not a credential.
    cases.append(Case("access_token on REST", request("GET", "/api/auth/me/?access_token=" + world.token, host=world.host),
                      expect(403, detail=NOT_PROVIDED)))
    cases += _sessions(world)
    return cases


def _sessions(world):
    """Session cookies that name nothing, and session writes without a matching CSRF token."""
    h = world.host
    cases = []
    for label, cookie in [
        ("unknown", "sessionid=" + "a" * 32), ("empty", "sessionid="), ("129 characters", "sessionid=" + "b" * 129),
        ("obs-text", "sessionid=\xff\xfe\xfd"), ("NUL-ish", "sessionid=%00"), ("quoted", 'sessionid="x"'),
        ("no value", "sessionid"), ("only semicolons", ";;;;"), ("a thousand cookies", "; ".join(f"c{i}=v" for i in range(1000))),
        ("the key twice, the first unknown", f"sessionid=nope; sessionid={world.sessionid}"),
        ("SQL", "sessionid=' OR '1'='1"), ("the csrftoken only", f"csrftoken={world.csrftoken}"),
    ]:
        cases.append(Case(f"session {label}", request("GET", "/api/auth/me/", [("Cookie", cookie)], host=h),
                          expect(403, detail=NOT_PROVIDED)))
    cases.append(Case("session valid (read)", request("GET", "/api/auth/me/", [("Cookie", world.cookie)], host=h),
                      expect(200)))
    post = lambda headers: request("POST", "/api/meetings/", [("Content-Type", "application/json")] + headers,
                                   b'{"title": "csrf", "scheduled_date": "2030-01-01T00:00:00Z"}', host=h)
    sid = f"sessionid={world.sessionid}"
    other_token = world.csrftoken[::-1]
    for label, headers, detail in [
        ("no CSRF header", [("Cookie", world.cookie)], "CSRF Failed: CSRF token missing."),
        ("an empty CSRF header", [("Cookie", world.cookie), ("X-CSRFToken", "")], "CSRF Failed: CSRF token missing."),
        ("a wrong CSRF header", [("Cookie", world.cookie), ("X-CSRFToken", other_token)], "CSRF Failed: CSRF token incorrect."),
        ("a CSRF header of 8 KB", [("Cookie", world.cookie), ("X-CSRFToken", "a" * 8192)], "CSRF Failed: CSRF token incorrect."),
        ("a CSRF header of obs-text", [("Cookie", world.cookie), ("X-CSRFToken", "\xff" * 64)], "CSRF Failed: CSRF token incorrect."),
        ("no csrftoken cookie", [("Cookie", sid), ("X-CSRFToken", world.csrftoken)], "CSRF Failed: CSRF cookie not set."),
        ("a bad csrftoken cookie", [("Cookie", sid + "; csrftoken=short"), ("X-CSRFToken", "short")],
         "CSRF Failed: CSRF cookie not set."),
        ("a foreign Origin", [("Cookie", world.cookie), ("X-CSRFToken", world.csrftoken), ("Origin", "https://evil.example")],
         "CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins."),
        ("Origin null", [("Cookie", world.cookie), ("X-CSRFToken", world.csrftoken), ("Origin", "null")],
         "CSRF Failed: Origin checking failed - null does not match any trusted origins."),
        ("an Origin with another port", [("Cookie", world.cookie), ("X-CSRFToken", world.csrftoken),
                                         ("Origin", "http://" + h.split(":")[0] + ":1")],
         "CSRF Failed: Origin checking failed - http://" + h.split(":")[0] + ":1 does not match any trusted origins."),
    ]:
        cases.append(Case(f"session write with {label}", post(headers), expect(403, detail=detail)))
    # A login posted from another site's page.
    for origin in ("https://evil.example", "null", "http://" + h + ".evil.example"):
        cases.append(Case(f"login from Origin {origin}",
                          request("POST", "/api/auth/login/", [("Content-Type", "application/json"), ("Origin", origin)],
                                  b'{"email": "a@b.c", "password": "x"}', host=h),
                          expect(403, detail=f"CSRF Failed: Origin checking failed - {origin} does not match any trusted origins.")))
    return cases
