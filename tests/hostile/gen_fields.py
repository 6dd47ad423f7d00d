"""Every wrong type for every field of every JSON body, and what castera must say about each.

The rules are DRF's, as castera applies them (src/validation/fields.cpp): a CharField takes a
string or a number (a number becomes Python's str() of it: 1e400 is "inf"), trims the string,
and refuses null, booleans, lists, objects, NUL characters, blank and too long text, each with
DRF's message naming the field; a ChoiceField compares Python's str() of the value with its
choices; a DateTimeField wants an ISO 8601 string; a URLField a valid http(s) URL. Text that is
not JSON at all (a lone surrogate, overlong UTF-8, NaN) is a `JSON parse error` instead. A
value a field accepts makes the request valid: its answer is checked and the row it wrote is
recorded, to be found again at the end.
"""

import json
import math
from urllib.parse import unquote_to_bytes

from hostile import Case, expect, request

NULL_MSG = "This field may not be null."
BLANK_MSG = "This field may not be blank."
NOT_STRING = "Not a valid string."
REQUIRED = "This field is required."
DATETIME_MSG = ("Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
OUT_OF_RANGE = "Datetime value out of the range."
NOT_BOOLEAN = "Must be a valid boolean."
BAD_URL = "Enter a valid URL."
FUTURE = "2030-01-01T00:00:00Z"


def py_float(x):
    """Python's str() of a float."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


class V:
    """A JSON value as text, with what it is to a DRF field."""

    def __init__(self, label, text, kind, value=None):
        self.label, self.text, self.kind, self.value = label, text, kind, value


def S(label, s, raw=None):
    return V(label, raw if raw is not None else json.dumps(s).encode(), "str", s)


def N(label, text, as_str):
    return V(label, text.encode() if isinstance(text, str) else text, "num", as_str)


# Wrong (and a few right) values for any field. "parse": not JSON at all.
VALUES = [
    V("null", b"null", "null"),
    V("true", b"true", "bool", True), V("false", b"false", "bool", False),
    N("0", "0", "0"), N("1", "1", "1"), N("-1", "-1", "-1"), N("-0", "-0", "0"), N("1.5", "1.5", "1.5"),
    N("0.1", "0.1", "0.1"), N("1e400", "1e400", "inf"), N("-1e400", "-1e400", "-inf"), N("1e-400", "1e-400", "0.0"),
    N("1e308", "1e308", "1e+308"), N("2^64-1", "18446744073709551615", "18446744073709551615"),
    N("2^64", "18446744073709551616", py_float(2.0 ** 64)), N("-2^63", "-9223372036854775808", "-9223372036854775808"),
    N("-2^63-1", "-9223372036854775809", py_float(-9223372036854775809.0)),
    N("30 digits", "123456789012345678901234567890", py_float(123456789012345678901234567890.0)),
    N("400 digits", "9" * 400, "inf"), N("1E5", "1E5", "100000.0"), N("-1.0e-5", "-1.0e-5", "-1e-05"),
    S("empty", ""), S("space", " "), S("white space", "\t\n \r"), S("x", "x"), S("10 KB", "x" * 10240),
    S("256 chars", "y" * 256), S("101 chars", "z" * 101), S("NUL", "\u0000"), S("NUL inside", "a\u0000b"),
    S("emoji", "\U0001f600"), S("script", "<script>alert(1)</script>"), S("sql", "'; DROP TABLE meetings_meeting; --"),
    S("right-to-left", "\u202eevil"), S("escapes", "\\\"/\b\f"), S("true as text", "true"), S("null as text", "null"),
    V("[]", b"[]", "list"), V("[1]", b"[1]", "list"), V('["x"]', b'["x"]', "list"), V("{}", b"{}", "object"),
    V('{"a":1}', b'{"a": 1}', "object"), V('{"$gt":""}', b'{"$gt": ""}', "object"),
    V("lone high surrogate", b'"\\ud800"', "parse"), V("lone low surrogate", b'"\\udfff"', "parse"),
    V("surrogate then text", b'"a\\udbffb"', "parse"), V("overlong UTF-8", b'"\xc0\xaf"', "parse"),
    V("overlong NUL", b'"\xc0\x80"', "parse"), V("encoded surrogate", b'"\xed\xa0\x80"', "parse"),
    V("raw 0xff", b'"\xff"', "parse"), V("raw NUL", b'"\x00"', "parse"), V("NaN", b"NaN", "parse"),
    V("Infinity", b"Infinity", "parse"), V("bare word", b"hello", "parse"),
]

DATETIMES = [
    S("date only", "2030-01-01"), S("year 0", "0000-01-01T00:00:00Z"), S("February 30", "2030-02-30T00:00:00Z"),
    S("hour 24", "2030-01-01T24:00:00Z"), S("leap second", "2030-01-01T23:59:60Z"),
    S("offset +24:00", "2030-01-01T00:00:00+24:00"), S("offset +99:99", "2030-01-01T00:00:00+99:99"),
    S("7 fraction digits", "2030-01-01T00:00:00.9999999Z"), S("empty fraction", "2030-01-01T00:00:00.Z"),
    S("five-digit year", "12030-01-01T00:00:00Z"), S("signed year", "+2030-01-01T00:00:00Z"),
    S("short fields", "2030-1-1T0:0:0Z"), S("1900-02-29", "1900-02-29T00:00:00Z"), S("words", "next tuesday"),
    S("unix time as text", "1893456000"), S("fullwidth digits", "\uff12\uff10\uff13\uff10-01-01T00:00:00Z"),
    S("trailing junk", "2030-01-01T00:00:00Zjunk"), S("RFC 2822", "Tue, 01 Jan 2030 00:00:00 GMT"),
    # Valid on their face, but UTC puts them before year 1 or after year 9999.
    V("before year 1 in UTC", b'"0001-01-01T00:00:00+01:00"', "range"),
    V("after year 9999 in UTC", b'"9999-12-31T23:59:59-23:59"', "range"),
    V("after year 9999 by a minute", b'"9999-12-31T23:59:00-00:01"', "range"),
]
GOOD_DATETIMES = [
    ("year 1", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("year 9999", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
    ("last microsecond", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
    ("year 1 ahead of UTC", "0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00Z"),
    ("comma fraction", "2030-01-01T00:00:00,5Z", "2030-01-01T00:00:00.500000Z"),
    ("space separator", "2030-01-01 00:00:00", "2030-01-01T00:00:00Z"),
    ("lower case", "2030-01-01t00:00:00z", "2030-01-01T00:00:00Z"),
    ("no seconds", "2030-01-01T00:00", "2030-01-01T00:00:00Z"),
    ("offset without colon", "2030-01-01T00:00:00+0100", "2029-12-31T23:00:00Z"),
    ("offset hours only", "2030-01-01T00:00:00-01", "2030-01-01T01:00:00Z"),
    ("leap day", "2000-02-29T12:00:00Z", "2000-02-29T12:00:00Z"),
    ("before 1970", "1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),
    ("padded", "  2030-01-01T00:00:00Z  ", "2030-01-01T00:00:00Z"),
]

URLS = [
    ("javascript", "javascript:alert(1)", False), ("ftp", "ftp://example.com/x", False),
    ("no host", "http://", False), ("no TLD", "http://example/x", False), ("localhost", "http://localhost/a", True),
    ("IPv6", "http://[::1]/rec", True), ("bad IPv4", "http://256.256.256.256/", False),
    ("space in host", "http://exa mple.com/", False), ("userinfo", "https://u:p@example.com/r", True),
    ("port", "https://example.com:8443/r", True), ("bad port", "https://example.com:999999/r", False),
    ("200 chars", "https://example.com/" + "a" * 180, True), ("201 chars", "https://example.com/" + "a" * 181, None),
    ("data", "data:text/html,<script>", False), ("relative", "/recordings/1", False),
    ("upper-case scheme", "HTTPS://EXAMPLE.COM/R", True), ("IDN", "https://b\u00fccher.example/r", True),
    ("punycode", "https://xn--bcher-kva.example/r", True), ("trailing dot", "https://example.com./r", True),
    ("two @", "https://a@b@example.com/", False), ("newline, trimmed", "https://example.com/\n", True),
]


# --------------------------------------------------------------------------------------------
# What a field makes of a value: ("ok", stored) | ("error", message or None) | ("parse",)


class Char:
    def __init__(self, required=True, null=False, blank=False, max_length=0, trim=True):
        self.required, self.null, self.blank, self.max_length, self.trim = required, null, blank, max_length, trim

    def judge(self, v):
        if v.kind == "parse":
            return ("parse",)
        if v.kind == "null":
            return ("ok", None) if self.null else ("error", NULL_MSG)
        if v.kind in ("bool", "list", "object"):
            return ("error", NOT_STRING)
        if v.kind == "range":
            return ("ok", json.loads(v.text))
        s = v.value if v.kind == "num" else (v.value.strip(" \t\r\n\f\v") if self.trim else v.value)
        if "\u0000" in s:
            return ("error", NOT_STRING)
        if not s and not self.blank:
            return ("error", BLANK_MSG)
        if self.max_length and len(s) > self.max_length:
            return ("error", f"Ensure this field has no more than {self.max_length} characters.")
        return ("ok", s)


class Choice:
    def __init__(self, choices):
        self.choices = choices

    def judge(self, v):
        if v.kind == "parse":
            return ("parse",)
        if v.kind == "null":
            return ("error", NULL_MSG)
        if v.kind == "num":
            text = v.value
        elif v.kind == "bool":
            text = "True" if v.value else "False"
        elif v.kind in ("str",):
            text = v.value
        else:
            text = None  # a list or an object: shown as castera serialises it
        if text in self.choices:
            return ("ok", text)
        return ("error", None if text is None else f'"{text}" is not a valid choice.')


class Datetime:
    def judge(self, v):
        if v.kind == "parse":
            return ("parse",)
        if v.kind == "null":
            return ("error", NULL_MSG)
        if v.kind == "range":
            return ("error", OUT_OF_RANGE)
        return ("error", DATETIME_MSG)  # every string in VALUES and DATETIMES is malformed


class Url(Char):
    def __init__(self):
        super().__init__(max_length=200)

    def judge(self, v):
        verdict = super().judge(v)
        if verdict[0] == "ok":
            label = getattr(v, "url_ok", False)
            return ("ok", verdict[1]) if label else ("error", BAD_URL)
        return verdict


class Boolean:
    def judge(self, v):
        if v.kind == "parse":
            return ("parse",)
        if v.kind == "bool":
            return ("ok", v.value)
        return ("error", NOT_BOOLEAN)


class Days:
    def judge(self, v):
        if v.kind == "parse":
            return ("parse",)
        if v.kind == "null":
            return ("ok", None)
        if v.kind == "num" and v.text.lstrip(b"-").isdigit():
            n = int(v.text)
            if 1 <= n <= 3650 and -2 ** 63 <= n < 2 ** 63:
                return ("ok", n)
        return ("error", "Ensure this value is a whole number from 1 to 3650.")


# --------------------------------------------------------------------------------------------
# The resources


def obj(pairs):
    return b"{" + b", ".join(json.dumps(k).encode() + b": " + v for k, v in pairs) + b"}"


class Resource:
    """One JSON body: its route, fields, a valid body to vary, and what success writes."""

    def __init__(self, name, method, path, fields, base, ok_status, partial=False):
        self.name, self.method, self.path, self.fields = name, method, path, fields
        self.base, self.ok_status, self.partial = base, ok_status, partial
        self.kind = name.split()[0]  # what a success writes: a meeting, message, recording, token


def resources(world):
    fields_id = world.meetings["fields"].id
    main = world.meetings["main"].id
    meeting_fields = {"title": Char(max_length=255), "description": Char(required=False, null=True, blank=True),
                      "type_of": Choice({"public", "private"}), "scheduled_date": Datetime(),
                      "status": Choice({"active", "ended"})}
    meeting_base = {"title": b'"hostile fields"', "description": b'"d"', "type_of": b'"public"',
                    "scheduled_date": json.dumps(FUTURE).encode(), "status": b'"active"'}
    return [
        Resource("meeting create", "POST", "/api/meetings/", meeting_fields, meeting_base, 201),
        Resource("meeting replace", "PUT", f"/api/meetings/{fields_id}/", meeting_fields, meeting_base, 200),
        Resource("meeting patch", "PATCH", f"/api/meetings/{fields_id}/", meeting_fields, {}, 200, partial=True),
        Resource("message", "POST", f"/api/meetings/{main}/messages/", {"content": Char()},
                 {"content": b'"hostile message"', "meeting": str(main).encode()}, 201),
        Resource("recording", "POST", f"/api/meetings/{main}/recordings/", {"file_url": Url()},
                 {"file_url": b'"https://example.com/rec.mp4"'}, 201),
        Resource("login", "POST", "/api/auth/login/", {"email": Char(), "password": Char(trim=False)},
                 {"email": json.dumps(world.users["victim"].email).encode(), "password": b'"wrong password"'}, 400),
        Resource("token", "POST", "/api/auth/tokens/",
                 {"name": Char(max_length=100), "expires_at": Datetime(), "expires_in_days": Days()},
                 {"name": b'"hostile field token"'}, 201),
    ]


def _recorder(world, kind, field_name, stored):
    """What a valid request wrote (a `kind`: meeting, message, recording, token), for the
    aftermath; and a check of the answer now."""
    ledger = world.ledger

    def on_answer(answer):
        data = answer.json()
        if kind == "meeting":
            if field_name == "title" and data.get("title") != stored:
                return f"title stored as {data.get('title')!r}, wanted {stored!r}"
            ledger.meetings[data["id"]] = data["title"]
        elif kind == "message":
            if field_name == "content" and data.get("content") != stored:
                return f"content stored as {data.get('content')!r}, wanted {stored!r}"
            if data.get("meeting") != world.meetings["main"].id:
                return f"the message went to meeting {data.get('meeting')!r}"
            ledger.messages.append((data["meeting"], data["content"]))
        elif kind == "recording":
            ledger.recordings.append((data["meeting"], data["file_url"]))
        elif kind == "token":
            ledger.tokens.append(data["name"])
        return None

    return on_answer


def _case(world, resource, name, field_name, judged, body, ctype="application/json"):
    headers = [("Content-Type", ctype)]
    if resource.name != "login":
        headers.insert(0, ("Authorization", world.basic("owner")))
    raw = request(resource.method, resource.path, headers, body, host=world.host)
    if judged[0] == "parse":
        return Case(name, raw, expect(400, detail_prefix="JSON parse error - "))
    if judged[0] == "error":
        messages = ((field_name, judged[1]),) if judged[1] else ()
        return Case(name, raw, expect(400, fields=(field_name,), messages=messages))
    if resource.name == "login":
        return Case(name, raw, expect(400, body={"non_field_errors": ["Unable to log in with provided credentials."]}))
    return Case(name, raw, expect(resource.ok_status), on_answer=_recorder(world, resource.kind, field_name, judged[1]))


def fields(world):
    cases = []
    for resource in resources(world):
        for field_name, rule in resource.fields.items():
            values = list(VALUES)
            if isinstance(rule, Datetime):
                values += DATETIMES
            if isinstance(rule, Url):
                for label, url, ok in URLS:
                    v = S(f"URL {label}", url)
                    v.url_ok = ok
                    values.append(v)
            for v in values:
                judged = rule.judge(v)
                if isinstance(rule, Url) and v.label.startswith("URL ") and v.url_ok is None:
                    judged = ("error", None)  # too long or not a string: named, message aside
                pairs = [(k, t) for k, t in resource.base.items() if k != field_name] + [(field_name, v.text)]
                cases.append(_case(world, resource, f"{resource.name}: {field_name} = {v.label}",
                                   field_name, judged, obj(pairs)))
            if not resource.partial and field_name in resource.base and getattr(rule, "required", True) \
                    and not isinstance(rule, (Days, Choice)):
                pairs = [(k, t) for k, t in resource.base.items() if k != field_name]
                cases.append(_case(world, resource, f"{resource.name}: {field_name} missing",
                                   field_name, ("error", REQUIRED), obj(pairs)))
        # The same field twice: the last one counts, as in Python's json.
        first = next(iter(resource.fields))
        pairs = list(resource.base.items()) + [(first, b"[]")]
        if resource.partial:
            pairs = [(first, b'"ok"'), (first, b"[]")]
        rule = resource.fields[first]
        cases.append(_case(world, resource, f"{resource.name}: {first} twice, the last a list", first,
                           rule.judge(V("[]", b"[]", "list")), obj(pairs)))
    # Datetimes that are valid: the meeting is stored and reads back as UTC.
    for label, text, utc in GOOD_DATETIMES:
        body = obj([("title", json.dumps(f"when {label}").encode()), ("scheduled_date", json.dumps(text).encode())])
        raw = request("POST", "/api/meetings/", [("Authorization", world.basic("owner")),
                                                 ("Content-Type", "application/json")], body, host=world.host)
        cases.append(Case(f"meeting create: scheduled_date = {label} (valid)", raw, expect(201),
                          on_answer=_datetime_recorder(world, utc)))
    # The message's "meeting" is ignored: the path says which meeting.
    main = world.meetings["main"].id
    for v in VALUES:
        if v.kind == "parse":
            continue
        content = f"meeting field {v.label}"
        body = obj([("content", json.dumps(content).encode()), ("meeting", v.text)])
        raw = request("POST", f"/api/meetings/{main}/messages/", [("Authorization", world.basic("owner")),
                                                                  ("Content-Type", "application/json")],
                      body, host=world.host)
        cases.append(Case(f"message: meeting = {v.label} (ignored)", raw, expect(201),
                          on_answer=_recorder(world, "message", "content", content)))
    cases += _set_status(world) + _room(world) + _forms(world)
    return cases


def _datetime_recorder(world, utc):
    def on_answer(answer):
        data = answer.json()
        world.ledger.meetings[data["id"]] = data["title"]
        if data["scheduled_date"] != utc:
            return f"scheduled_date {data['scheduled_date']!r}, wanted {utc!r}"
        return None
    return on_answer


def _set_status(world):
    path = f"/api/meetings/{world.meetings['main'].id}/set-status/"
    cases = []
    for v in VALUES + [S("ENDED", "ENDED"), S("Active", "Active"), S("ended ", "ended "), S("archived", "archived")]:
        body = obj([("status", v.text)])
        raw = request("POST", path, [("Authorization", world.basic("owner")), ("Content-Type", "application/json")],
                      body, host=world.host)
        if v.kind == "parse":
            want = expect(400, detail_prefix="JSON parse error - ")
        else:
            want = expect(400, body={"error": "Invalid status"})
        cases.append(Case(f"set-status: status = {v.label}", raw, want))
    raw = request("POST", path, [("Authorization", world.basic("owner")), ("Content-Type", "application/json")],
                  b'{"state": "ended"}', host=world.host)
    cases.append(Case("set-status: no status", raw, expect(400, body={"error": "Invalid status"})))
    return cases


def _room(world):
    path = f"/api/meetings/{world.meetings['room'].id}/room/"
    headers = [("Authorization", world.basic("owner")), ("Content-Type", "application/json")]
    cases = []
    for name in ("locked", "lobby"):
        for v in VALUES:
            raw = request("PATCH", path, headers, obj([(name, v.text)]), host=world.host)
            label = f"room: {name} = {v.label}"
            judged = Boolean().judge(v)
            if judged[0] == "parse":
                cases.append(Case(label, raw, expect(400, detail_prefix="JSON parse error - ")))
            elif judged[0] == "error":
                cases.append(Case(label, raw, expect(400, messages=((name, NOT_BOOLEAN),))))
            else:
                cases.append(Case(label, raw, expect(200)))
    for v in VALUES[:12]:
        raw = request("PATCH", path, headers, obj([("banned", v.text)]), host=world.host)
        cases.append(Case(f"room: banned = {v.label}", raw, expect(400, fields=("banned",))))
    for name in ("unknown", "LOCKED", "locked ", "", "\u0000", "id", "meeting", "x" * 1000):
        raw = request("PATCH", path, headers, obj([(name, b"true")]), host=world.host)
        cases.append(Case(f"room: field {name[:20]!r}", raw, expect(400, messages=((name, "Unknown field."),))))
    # Back to an open room whatever the order above left.
    raw = request("PATCH", path, headers, b'{"locked": false, "lobby": false}', host=world.host)
    cases.append(Case("room: open again", raw, expect(200, body={"locked": False, "lobby": False, "banned": []})))
    return cases


FORM_VALUES = [  # (label, urlencoded value, judged as a Char with trim)
    ("empty", b"", ("error", BLANK_MSG)), ("space", b"+", ("error", BLANK_MSG)),
    ("%00", b"%00", ("error", NOT_STRING)), ("a%00b", b"a%00b", ("error", NOT_STRING)),
    ("%ff", b"%ff", ("error", NOT_STRING)), ("%c0%af", b"%c0%af", ("error", NOT_STRING)),
    ("%ed%a0%80", b"%ed%a0%80", ("error", NOT_STRING)), ("raw 0xff", b"\xff", ("error", NOT_STRING)),
    ("%zz", b"%zz", ("ok", "%zz")), ("10 KB", b"x" * 10240, ("ok", "x" * 10240)),
    ("%F0%9F%98%80", b"%F0%9F%98%80", ("ok", "\U0001f600")),
]


def _forms(world):
    main = world.meetings["main"].id
    cases = []
    for label, value, judged in FORM_VALUES:
        body = b"content=" + value + b"&meeting=" + str(main).encode()
        raw = request("POST", f"/api/meetings/{main}/messages/", [("Authorization", world.basic("owner")),
                                                                  ("Content-Type", "application/x-www-form-urlencoded")],
                      body, host=world.host)
        if judged[0] == "error":
            cases.append(Case(f"message form: content = {label}", raw, expect(400, messages=(("content", judged[1]),))))
        else:
            cases.append(Case(f"message form: content = {label}", raw, expect(201),
                              on_answer=_recorder(world, "message", "content", judged[1])))
        for field_name, extra in (("title", b"&scheduled_date=2030-01-01T00:00:00Z"), ("scheduled_date", b"&title=form")):
            body = field_name.encode() + b"=" + value + extra
            raw = request("POST", "/api/meetings/", [("Authorization", world.basic("owner")),
                                                     ("Content-Type", "application/x-www-form-urlencoded")],
                          body, host=world.host)
            want_judged = judged
            if field_name == "scheduled_date":
                want_judged = ("error", DATETIME_MSG)  # not a datetime, whatever else it is
            if field_name == "title" and judged[0] == "ok" and len(judged[1]) > 255:
                want_judged = ("error", "Ensure this field has no more than 255 characters.")
            if want_judged[0] == "error":
                cases.append(Case(f"meeting form: {field_name} = {label}", raw,
                                  expect(400, messages=((field_name, want_judged[1]),))))
            else:
                cases.append(Case(f"meeting form: {field_name} = {label}", raw, expect(201),
                                  on_answer=_recorder(world, "meeting", field_name, want_judged[1])))
        body = b"email=" + value + b"&password=x"
        raw = request("POST", "/api/auth/login/", [("Content-Type", "application/x-www-form-urlencoded")], body,
                      host=world.host)
        if judged[0] == "error":
            cases.append(Case(f"login form: email = {label}", raw, expect(400, messages=(("email", judged[1]),))))
        else:
            cases.append(Case(f"login form: email = {label}", raw,
                              expect(400, body={"non_field_errors": ["Unable to log in with provided credentials."]})))
        # The same in multipart/form-data.
        part = (b"--hostile\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n" +
                _unquote(value) + b"\r\n--hostile--\r\n")
        raw = request("POST", f"/api/meetings/{main}/messages/", [("Authorization", world.basic("owner")),
                                                                  ("Content-Type", "multipart/form-data; boundary=hostile")],
                      part, host=world.host)
        if judged[0] == "error":
            cases.append(Case(f"message multipart: content = {label}", raw,
                              expect(400, messages=(("content", judged[1]),))))
        else:
            cases.append(Case(f"message multipart: content = {label}", raw, expect(201),
                              on_answer=_recorder(world, "message", "content", judged[1])))
    return cases


def _unquote(value):
    """A form value as the bytes a multipart part carries (no escapes there)."""
    return unquote_to_bytes(value.replace(b"+", b" "))
