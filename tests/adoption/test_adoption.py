"""Adoption: castera runs in place on a PostgreSQL database that the old Django app made and filled.

The module plays one deployment's life, step by step, in file order:

1. Django (tests/adoption/djangoapp, the old app's models and migrations) runs `migrate` on a
   fresh database and fills it through its ORM: users with hashes from several Django versions,
   meetings, messages, signals, recordings, participant states, plus rows in Django's own tables.
2. `castera migrate` runs twice: it may add only `castera_*` relations, and Django's schema and
   rows must come out byte-identical.
3. `castera serve` on that database: every user logs in with their old password, and every
   row reads back exactly as Django REST Framework rendered it (expected JSON is computed here
   from the ORM objects, never copied from castera).
4. castera writes (meeting, message, recording, participant state, a user from the command
   line); ids must continue Django's sequences.
5. castera stops and Django reads and validates every row castera wrote, keeps inserting
   without id collisions, deletes a user who has castera sessions, and its `check` and
   `migrate --check` still pass.
6. castera deletes a meeting: exactly its messages, signals, recordings and states go with it.

Environment:
  CASTERA_BIN                the binary (default: build/castera under the repository root)
  CASTERA_TEST_PG_ADMIN_URL  a postgresql:// URL whose role may CREATE DATABASE; the test makes
                             (and drops) a database of its own there. Without it, a throwaway
                             cluster is started with scripts/pg-test-cluster and stopped after.
"""

import base64
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DJANGO_DIR = os.path.join(HERE, "djangoapp")
PG_BIN = "/usr/lib/postgresql/15/bin"
UTC = dt.timezone.utc

MEETING_KEYS = ["id", "title", "description", "type_of", "created_on", "room_id",
                "scheduled_date", "status", "user"]
MESSAGE_KEYS = ["id", "meeting", "user", "user_email", "content", "timestamp"]
RECORDING_KEYS = ["id", "meeting", "uploaded_by", "uploaded_by_email", "file_url", "created_at"]
PARTICIPANT_KEYS = ["id", "meeting", "user", "user_email", "audio_muted", "video_stopped",
                    "in_call", "raised_hand", "screen_sharing"]
ME_KEYS = ["id", "email", "full_name", "image", "role", "is_staff", "is_superuser"]

# Django's tables in a database the old app made; castera must leave each of them as it is.
DJANGO_TABLES = [
    "auth_group", "auth_group_permissions", "auth_permission", "django_admin_log",
    "django_content_type", "django_migrations", "django_session", "meetings_meeting",
    "meetings_message", "meetings_participantstate", "meetings_recording", "meetings_signal",
    "users_user", "users_user_groups", "users_user_user_permissions",
]
# The tables that hang off a meeting, and the column naming it.
MEETING_CHILDREN = {
    "meetings_message": "meeting_id",
    "meetings_signal": "meeting_id",
    "meetings_recording": "meeting_id",
    "meetings_participantstate": "meeting_id",
}


# ---------------------------------------------------------------------------------------------
# PostgreSQL, Django and castera processes


def castera_bin():
    return os.environ.get("CASTERA_BIN") or os.path.join(REPO_ROOT, "build", "castera")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def database_url():
    """A fresh, empty database for this run, removed afterwards."""
    admin_url = os.environ.get("CASTERA_TEST_PG_ADMIN_URL")
    if admin_url:
        import psycopg2

        name = "castera_adoption_" + secrets.token_hex(4)
        admin = psycopg2.connect(admin_url)
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
            yield with_database(admin_url, name)
            release_django_connections()
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()
        return

    script = os.path.join(REPO_ROOT, "scripts", "pg-test-cluster")
    if not os.path.exists(script):
        pytest.fail("set CASTERA_TEST_PG_ADMIN_URL, or provide scripts/pg-test-cluster")
    res = subprocess.run([script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"pg-test-cluster failed: {res.stderr.strip()}"
    cluster = next(line.split(": ", 1)[1] for line in res.stderr.splitlines()
                   if line.startswith("cluster: "))
    try:
        # The cluster's own database is brand new: nothing else uses it.
        yield res.stdout.strip()
    finally:
        release_django_connections()
        subprocess.run([script, "stop", cluster], capture_output=True, timeout=120)


def release_django_connections():
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()


def postgres_env(url):
    """The old server's own variables, which djangoapp/settings.py reads."""
    parts = urlsplit(url)
    return {
        "POSTGRES_DB": parts.path.lstrip("/"),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
    }


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("POSTGRES_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def manage(url, *args):
    """Runs djangoapp/manage.py as an operator would, in its own process."""
    env = clean_env()
    env.update(postgres_env(url))
    env["DJANGO_SETTINGS_MODULE"] = "settings"
    return subprocess.run([sys.executable, "manage.py", *args], cwd=DJANGO_DIR, env=env,
                          capture_output=True, text=True, timeout=300)


def castera_env(url):
    env = clean_env()
    env.update({
        "CASTERA_DATABASE_URL": url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_DEBUG": "False",
        # Plain http on 127.0.0.1: cookies must come back without TLS.
        "CASTERA_SECURE_COOKIES": "False",
    })
    return env


def castera(url, *args, input=None):
    return subprocess.run([castera_bin(), *args], env=castera_env(url), input=input,
                          capture_output=True, text=True, timeout=120)


class CasteraServer:
    """`castera serve` on a free port of 127.0.0.1, stopped with SIGTERM."""

    def __init__(self, url, log_path):
        self.url = url
        self.log_path = log_path
        self.proc = None
        self.base_url = None

    def start(self):
        port = free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [castera_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=castera_env(self.url), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if http().get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"castera serve did not become ready; log:\n{self.log_tail()}")

    def ensure_running(self):
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def stop(self):
        """Stops the server; returns its exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None

    def log_tail(self, n=4000):
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")


def http():
    s = requests.Session()
    s.trust_env = False  # never through a proxy from the environment
    return s


def basic(email, password):
    return "Basic " + base64.b64encode(f"{email}:{password}".encode("utf-8")).decode("ascii")


class Api:
    """Basic-auth calls as one user."""

    def __init__(self, server, email, password):
        self.server = server
        self.http = http()
        self.http.headers["Authorization"] = basic(email, password)

    def call(self, method, path, payload=None):
        kwargs = {"timeout": 30}
        if payload is not None:
            kwargs["json"] = payload
        return self.http.request(method, self.server.base_url + path, **kwargs)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, payload=None):
        return self.call("POST", path, payload if payload is not None else {})


def json_body(resp, status):
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.path_url}: expected {status}, got "
        f"{resp.status_code} {resp.text[:800]!r}")
    assert resp.headers.get("Content-Type", "").split(";")[0] == "application/json", resp.headers
    return resp.json()


def assert_same(got, expected, what):
    """Equal values and, for objects, the same key order (DRF's serializer field order)."""
    assert got == expected, f"{what}:\n got      {got!r}\n expected {expected!r}"
    pairs = zip(got, expected) if isinstance(got, list) else [(got, expected)]
    for g, e in pairs:
        if isinstance(e, dict):
            assert list(g) == list(e), f"{what}: key order {list(g)} != {list(e)}"


# ---------------------------------------------------------------------------------------------
# What Django REST Framework renders for the old app's objects (SPEC section 2)


def drf_datetime(value):
    # DRF's DateTimeField: isoformat() in the current time zone (UTC), "+00:00" spelled "Z";
    # isoformat() itself drops the fraction when the microseconds are zero.
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def drf_meeting(m):
    return {"id": m.id, "title": m.title, "description": m.description, "type_of": m.type_of,
            "created_on": drf_datetime(m.created_on), "room_id": str(m.room_id),
            "scheduled_date": drf_datetime(m.scheduled_date), "status": m.status,
            "user": m.user_id}


def drf_message(m):
    return {"id": m.id, "meeting": m.meeting_id, "user": m.user_id, "user_email": m.user.email,
            "content": m.content, "timestamp": drf_datetime(m.timestamp)}


def drf_recording(r):
    return {"id": r.id, "meeting": r.meeting_id, "uploaded_by": r.uploaded_by_id,
            "uploaded_by_email": r.uploaded_by.email, "file_url": r.file_url,
            "created_at": drf_datetime(r.created_at)}


def drf_participant(p):
    return {"id": p.id, "meeting": p.meeting_id, "user": p.user_id, "user_email": p.user.email,
            "audio_muted": p.audio_muted, "video_stopped": p.video_stopped,
            "in_call": p.in_call, "raised_hand": p.raised_hand,
            "screen_sharing": p.screen_sharing}


def me(u):
    return {"id": u.id, "email": u.email, "full_name": u.full_name, "image": u.image,
            "role": u.role, "is_staff": u.is_staff, "is_superuser": u.is_superuser}


# ---------------------------------------------------------------------------------------------
# The database as Django leaves it


def sql(query, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def schema_dump():
    """Django's part of the schema, from the catalogs, as one text: columns, constraints,
    indexes, sequences, triggers and relations of every table not named castera_*."""
    not_castera = r"NOT LIKE 'castera\_%'"
    sections = {
        "relations": f"""
            SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relpersistence,
                   coalesce(c.reloptions::text, '')
            FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
              AND c.relname {not_castera} ORDER BY 1""",
        "columns": f"""
            SELECT table_name, ordinal_position, column_name, data_type, udt_name,
                   character_maximum_length, numeric_precision, datetime_precision,
                   is_nullable, column_default, is_identity, identity_generation, is_generated,
                   collation_name
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name {not_castera} ORDER BY 1, 2""",
        "constraints": f"""
            SELECT tc.table_name, tc.constraint_name, tc.constraint_type, tc.is_deferrable,
                   tc.initially_deferred, pg_get_constraintdef(con.oid)
            FROM information_schema.table_constraints tc
            JOIN pg_constraint con ON con.conname = tc.constraint_name
                 AND con.conrelid = format('public.%I', tc.table_name)::regclass
            WHERE tc.table_schema = 'public' AND tc.table_name {not_castera}
            ORDER BY 1, 2""",
        "foreign keys": f"""
            SELECT rc.constraint_name, rc.unique_constraint_name, rc.match_option,
                   rc.update_rule, rc.delete_rule
            FROM information_schema.referential_constraints rc
            JOIN information_schema.table_constraints tc USING (constraint_schema, constraint_name)
            WHERE rc.constraint_schema = 'public' AND tc.table_name {not_castera} ORDER BY 1""",
        "indexes": f"""
            SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename {not_castera} ORDER BY 1, 2""",
        "sequences": f"""
            SELECT sequencename, data_type::text, start_value, min_value, max_value,
                   increment_by, cycle, last_value
            FROM pg_sequences WHERE schemaname = 'public' AND sequencename {not_castera}
            ORDER BY 1""",
        "sequence owners": f"""
            SELECT s.relname, t.relname, a.attname
            FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE s.relnamespace = 'public'::regnamespace AND s.relname {not_castera}
            ORDER BY 1""",
        "triggers": f"""
            SELECT event_object_table, trigger_name, event_manipulation, action_timing,
                   action_statement
            FROM information_schema.triggers
            WHERE event_object_schema = 'public' AND event_object_table {not_castera}
            ORDER BY 1, 2, 3""",
        "rules and policies": f"""
            SELECT 'rule', tablename, rulename FROM pg_rules
            WHERE schemaname = 'public' AND tablename {not_castera}
            UNION ALL SELECT 'policy', tablename, policyname FROM pg_policies
            WHERE schemaname = 'public' AND tablename {not_castera} ORDER BY 1, 2, 3""",
        "privileges": f"""
            SELECT table_name, grantee, privilege_type FROM information_schema.table_privileges
            WHERE table_schema = 'public' AND table_name {not_castera} ORDER BY 1, 2, 3""",
    }
    out = []
    for name, query in sections.items():
        out.append(f"## {name}")
        out.extend("|".join("" if v is None else str(v) for v in row) for row in sql(query))
    return "\n".join(out) + "\n"


def pg_dump_schema(url):
    """pg_dump's own view of Django's schema: an independent second witness."""
    res = subprocess.run([os.path.join(PG_BIN, "pg_dump"), "--schema-only", "--no-owner",
                          "--exclude-table=castera_*", "-d", url],
                         capture_output=True, text=True, timeout=120, env=clean_env())
    assert res.returncode == 0, res.stderr
    # pg_dump 15.14 and later fence the script with \restrict/\unrestrict and a random key
    # that differs on every run; it says nothing about the schema.
    return "".join(line for line in res.stdout.splitlines(keepends=True)
                   if not line.startswith(("\\restrict ", "\\unrestrict ")))


def rows_of(table):
    """Every row of a table as JSON objects, in a stable order."""
    return [json.loads(r[0]) for r in
            sql(f'SELECT row_to_json(t)::text AS j FROM "{table}" t ORDER BY j')]


def data_dump():
    return {table: rows_of(table) for table in DJANGO_TABLES}


def public_objects():
    """Names of every relation and function in the public schema."""
    rels = {r[0] for r in sql("SELECT relname FROM pg_class "
                              "WHERE relnamespace = 'public'::regnamespace")}
    funcs = {r[0] for r in sql("SELECT proname FROM pg_proc "
                               "WHERE pronamespace = 'public'::regnamespace")}
    return rels, funcs


# ---------------------------------------------------------------------------------------------
# The old deployment: Django's schema and data


class World:
    """What the steps share: the seeded objects, passwords, and what castera wrote."""

    def __init__(self):
        self.passwords = {}      # email -> password, for every user that may log in
        self.users = {}          # key -> User
        self.meetings = {}       # key -> Meeting
        self.max_ids = {}        # table -> largest id Django made
        self.written = {}        # what castera wrote, by name


def legacy_hash(password, iterations, salt=None):
    """A pbkdf2_sha256 hash as the Django release using that iteration count wrote it."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, salt or hasher.salt(), iterations)


def at(text):
    return dt.datetime.fromisoformat(text)


def seed(world):
    from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from meetings.models import Meeting, Message, ParticipantState, Recording, Signal

    User = get_user_model()

    def user(key, email, password, hashed=None, **fields):
        u = User(email=email, **fields)
        if password is None:
            u.set_unusable_password()
        else:
            u.password = hashed or make_password(password)
            world.passwords[email] = password
        u.save()
        world.users[key] = u
        return u

    # Hashes as different Django releases wrote them: 3.2's default (260000), older and newer
    # counts, an old 12-character salt, and a password with non-ASCII characters and a colon
    # (Basic auth splits at the first colon only).
    alice = user("alice", "alice@example.com", "alice-pass-1", full_name="Alice Liddell",
                 image="https://cdn.example.com/a/alice.png",
                 last_login=at("2025-06-01T12:00:00.250000+00:00"))
    user("bob", "bob@example.com", "bob-pass-2", hashed=legacy_hash("bob-pass-2", 1000))
    user("carol", "carol@example.com", "sésame: ouvre-toi ✓",
         hashed=legacy_hash("sésame: ouvre-toi ✓", 260000), full_name="Carol Ç. Ünïcode")
    user("dave", "dave@example.com", "dave-admin-3", hashed=legacy_hash("dave-admin-3", 600000),
         full_name="Dave Admin", role="admin")
    user("erin", "erin@example.com", "erin-pass-4",
         hashed=legacy_hash("erin-pass-4", 36000, salt="abcdefghijkl"))
    user("frank", "Frank.Mixed@example.com", "frank-pass-5",
         hashed=legacy_hash("frank-pass-5", 720000))
    root = User.objects.create_superuser("root@example.com", "root-pass-6", full_name="Root")
    world.users["root"] = root
    world.passwords[root.email] = "root-pass-6"
    # Signed in through Clerk only: an unusable password.
    user("clerk", "clerk@example.com", None, full_name="Clerk Only")
    # Deactivated, with a password that still matches.
    gone = user("gone", "gone@example.com", "gone-pass-7", is_active=False)
    world.passwords.pop(gone.email)
    world.inactive = (gone.email, "gone-pass-7")
    # Django deletes this one at the end, after castera gave them a session and a token.
    user("leaver", "leaver@example.com", "leaver-pass-8")

    bob, carol, dave = world.users["bob"], world.users["carol"], world.users["dave"]

    # Django's own tables, filled as in a real deployment: a group with a permission, a direct
    # permission, an admin log entry and a Django session.
    moderators = Group.objects.create(name="moderators")
    change_meeting = Permission.objects.get(codename="change_meeting")
    moderators.permissions.add(change_meeting)
    root.groups.add(moderators)
    bob.user_permissions.add(Permission.objects.get(codename="view_meeting"))
    session = SessionStore()
    session["_auth_user_id"] = str(root.pk)
    session.create()

    def meeting(key, owner, title, scheduled, created=None, **fields):
        m = Meeting.objects.create(user=owner, title=title, scheduled_date=at(scheduled), **fields)
        if created:
            # auto_now_add ignores given values; older rows are back-dated afterwards.
            Meeting.objects.filter(pk=m.pk).update(created_on=at(created))
            m.refresh_from_db()
        world.meetings[key] = m
        return m

    weekly = meeting("weekly", alice, "Weekly sync", "2031-03-04T09:30:00+01:00",
                     description="Agenda")
    retro = meeting("retro", alice, "Retro", "2024-01-02T03:04:05.123+00:00",
                    created="2023-12-01T10:00:00.000001+00:00", type_of="private",
                    status="ended")
    meeting("kickoff", bob, "Kickoff ✓ — ünïcode", "2020-05-05T05:05:05+00:00",
            created="2020-05-01T00:00:00+00:00", status="ended",
            description='Line 1\nLine "2"\t</script> \\ 😀')
    meeting("board", dave, "Board", "2032-12-31T23:59:59.999999-05:30", type_of="private")
    meeting("empty_desc", root, "Empty description", "2030-01-01T00:00:00+00:00",
            description="")
    meeting("old", bob, "Y2K", "1999-12-31T23:59:59.999999+00:00",
            created="1999-12-01T08:00:00.5+00:00")
    leaver_meeting = meeting("leaver", world.users["leaver"], "Leaver's", "2030-06-01T00:00:00Z")
    kickoff = world.meetings["kickoff"]

    def message(m, author, content, when=None):
        msg = Message.objects.create(meeting=m, user=author, content=content)
        if when:
            Message.objects.filter(pk=msg.pk).update(timestamp=at(when))
        return msg

    message(weekly, alice, "Hello")
    message(weekly, bob, "Hi Alice")
    message(weekly, carol, "Bonjour ✓ <b>bold</b>\nsecond line")
    # Imported later but older: "oldest first" is by timestamp, not by id.
    message(weekly, dave, "From the archive", when="2021-01-01T00:00:00+00:00")
    message(kickoff, bob, "Kickoff notes", when="2020-05-05T05:10:00+00:00")
    message(retro, alice, "What went well?")
    message(leaver_meeting, world.users["leaver"], "bye")

    def recording(m, uploader, url, when=None):
        rec = Recording.objects.create(meeting=m, uploaded_by=uploader, file_url=url)
        if when:
            Recording.objects.filter(pk=rec.pk).update(created_at=at(when))
        return rec

    recording(weekly, alice, "https://files.example.com/rec/weekly-1.webm")
    recording(weekly, bob, "https://files.example.com/rec/weekly-2.webm?sig=a%2Fb&x=1")
    recording(weekly, alice, "http://files.example.com/rec/archived.webm",
              when="2022-02-02T02:02:02+00:00")
    recording(kickoff, bob, "https://files.example.com/rec/kickoff.mp4",
              when="2020-05-05T06:00:00+00:00")

    Signal.objects.create(meeting=weekly, sender=alice, signal_type="offer",
                          data={"type": "offer", "sdp": "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\n"})
    Signal.objects.create(meeting=weekly, sender=bob, signal_type="ice",
                          data={"candidate": "candidate:1 1 UDP 2122 192.0.2.1 54400 typ host",
                                "sdpMid": "0", "sdpMLineIndex": 0})
    Signal.objects.create(meeting=kickoff, sender=bob, signal_type="answer",
                          data={"nested": {"list": [1, 2.5, None, True], "text": "ünïcode ✓"}})

    ParticipantState.objects.create(meeting=weekly, user=alice)
    ParticipantState.objects.create(meeting=weekly, user=bob, audio_muted=True,
                                    raised_hand=True)
    ParticipantState.objects.create(meeting=weekly, user=carol, video_stopped=True,
                                    in_call=False, screen_sharing=True)
    ParticipantState.objects.create(meeting=kickoff, user=bob, in_call=False)

    LogEntry.objects.log_action(
        user_id=root.pk, content_type_id=ContentType.objects.get_for_model(Meeting).pk,
        object_id=weekly.pk, object_repr=str(weekly), action_flag=ADDITION)
    LogEntry.objects.log_action(
        user_id=root.pk, content_type_id=ContentType.objects.get_for_model(User).pk,
        object_id=bob.pk, object_repr=str(bob), action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Full name"]}}]')

    for model in (User, Meeting, Message, Recording, Signal, ParticipantState):
        world.max_ids[model._meta.db_table] = model.objects.order_by("-id").values_list(
            "id", flat=True).first()
    world.now = timezone.now()


@pytest.fixture(scope="module")
def world(database_url):
    res = manage(database_url, "migrate", "--noinput")
    assert res.returncode == 0, f"manage.py migrate failed:\n{res.stdout}{res.stderr}"

    # The ORM runs in this process, on the same database, to build and later check the data.
    os.environ.update(postgres_env(database_url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    sys.dont_write_bytecode = True
    if DJANGO_DIR not in sys.path:
        sys.path.insert(0, DJANGO_DIR)
    import django

    django.setup()
    w = World()
    w.url = database_url
    seed(w)
    # castera must leave Django's part exactly as this.
    w.schema_before = schema_dump()
    w.pg_dump_before = pg_dump_schema(database_url)
    w.data_before = data_dump()
    w.objects_before = public_objects()
    yield w
    release_django_connections()


@pytest.fixture(scope="module")
def server(world, tmp_path_factory):
    srv = CasteraServer(world.url, str(tmp_path_factory.mktemp("castera") / "serve.log"))
    yield srv
    srv.stop()


def api(server, world, key):
    email = world.users[key].email
    return Api(server, email, world.passwords[email])


def models():
    from django.contrib.auth import get_user_model

    from meetings import models as m

    return get_user_model(), m.Meeting, m.Message, m.Recording, m.Signal, m.ParticipantState


# ---------------------------------------------------------------------------------------------
# 1-2. castera migrate on Django's database


def test_castera_migrate_adds_only_its_own_tables(world):
    for attempt in (1, 2):
        res = castera(world.url, "migrate")
        assert res.returncode == 0, f"castera migrate #{attempt} failed:\n{res.stdout}{res.stderr}"

    rels_before, funcs_before = world.objects_before
    rels_after, funcs_after = public_objects()
    assert rels_before <= rels_after, f"relations removed: {sorted(rels_before - rels_after)}"
    foreign = sorted(r for r in rels_after - rels_before if not r.startswith("castera_"))
    assert not foreign, f"castera migrate made relations without the castera_ prefix: {foreign}"
    assert any(r.startswith("castera_") for r in rels_after), "no castera_ table was made"
    new_funcs = sorted(f for f in funcs_after - funcs_before if not f.startswith("castera_"))
    assert not new_funcs and funcs_before <= funcs_after, f"functions changed: {new_funcs}"


def test_django_schema_and_rows_unchanged_by_migrate(world):
    schema_after = schema_dump()
    assert schema_after == world.schema_before, "Django's schema changed under castera migrate"
    assert pg_dump_schema(world.url) == world.pg_dump_before, "pg_dump of Django's schema changed"
    assert data_dump() == world.data_before, "Django's rows changed under castera migrate"


# ---------------------------------------------------------------------------------------------
# 3. castera serves the old data


def test_existing_users_log_in_with_their_old_passwords(world, server):
    server.ensure_running()
    User = models()[0]
    for email, password in world.passwords.items():
        u = User.objects.get(email=email)
        got = json_body(Api(server, email, password).get("/api/auth/me/"), 200)
        assert_same(got, me(u), f"/api/auth/me/ for {email} ({u.password.split('$')[1]} iterations)")


def test_refused_logins(world, server):
    server.ensure_running()
    User = models()[0]
    invalid = {"detail": "Invalid username/password."}
    # A wrong password for a real user.
    resp = Api(server, "alice@example.com", "alice-pass-1x").get("/api/meetings/")
    assert_same(json_body(resp, 403), invalid, "wrong password")
    # No password can open an unusable hash, not even the hash's own text.
    clerk = User.objects.get(email="clerk@example.com")
    assert not clerk.has_usable_password()
    for attempt in ("", clerk.password):
        resp = Api(server, clerk.email, attempt).get("/api/meetings/")
        assert_same(json_body(resp, 403), invalid, f"unusable password tried with {attempt!r}")
    # An inactive user with the right password: DRF answers 403, with ModelBackend's
    # "Invalid username/password." or its own "User inactive or deleted.".
    resp = Api(server, *world.inactive).get("/api/meetings/")
    got = json_body(resp, 403)
    assert got in (invalid, {"detail": "User inactive or deleted."}), got


def test_meetings_read_back_as_drf_rendered_them(world, server):
    server.ensure_running()
    _, Meeting, *_ = models()
    alice, admin = api(server, world, "alice"), api(server, world, "dave")
    for key, m in world.meetings.items():
        expected = drf_meeting(Meeting.objects.get(pk=m.pk))
        owner = Api(server, m.user.email, world.passwords[m.user.email])
        assert_same(json_body(owner.get(f"/api/meetings/{m.id}/"), 200), expected,
                    f"meeting {key}")
        assert_same(json_body(alice.get(f"/api/join/{m.room_id}/"), 200), expected,
                    f"join {key} by room_id")

    everything = sorted(Meeting.objects.all(), key=lambda m: (m.created_on, m.id), reverse=True)
    assert_same(json_body(admin.get("/api/meetings/"), 200),
                [drf_meeting(m) for m in everything], "admin's meeting list (all, newest first)")
    own = [m for m in everything if m.user_id == world.users["alice"].id]
    assert_same(json_body(alice.get("/api/meetings/"), 200), [drf_meeting(m) for m in own],
                "alice's meeting list")
    upcoming = sorted((m for m in own if m.scheduled_date > world.now),
                      key=lambda m: (m.scheduled_date, m.id))
    previous = sorted((m for m in own if m.scheduled_date <= world.now),
                      key=lambda m: (m.scheduled_date, m.id), reverse=True)
    assert_same(json_body(alice.get("/api/meetings/upcoming/"), 200),
                [drf_meeting(m) for m in upcoming], "upcoming")
    assert_same(json_body(alice.get("/api/meetings/previous/"), 200),
                [drf_meeting(m) for m in previous], "previous")


def test_messages_recordings_and_states_read_back(world, server):
    server.ensure_running()
    _, _, Message, Recording, _, ParticipantState = models()
    for key, m in world.meetings.items():
        owner = Api(server, m.user.email, world.passwords[m.user.email])
        messages = Message.objects.filter(meeting=m).select_related("user").order_by(
            "timestamp", "id")
        assert_same(json_body(owner.get(f"/api/meetings/{m.id}/messages/"), 200),
                    [drf_message(x) for x in messages], f"messages of {key}, oldest first")
        recordings = Recording.objects.filter(meeting=m).select_related(
            "uploaded_by").order_by("-created_at", "-id")
        assert_same(json_body(owner.get(f"/api/meetings/{m.id}/recordings/"), 200),
                    [drf_recording(x) for x in recordings], f"recordings of {key}, newest first")
        states = ParticipantState.objects.filter(meeting=m).select_related("user").order_by("id")
        got = json_body(owner.get(f"/api/meetings/{m.id}/participants/"), 200)
        assert_same(sorted(got, key=lambda s: s["id"]), [drf_participant(x) for x in states],
                    f"participant states of {key}")


# ---------------------------------------------------------------------------------------------
# 4. castera writes next to Django's rows


def test_castera_writes_continue_django_sequences(world, server):
    server.ensure_running()
    User, Meeting, Message, Recording, _, ParticipantState = models()
    bob, alice = api(server, world, "bob"), api(server, world, "alice")
    dave, carol = api(server, world, "dave"), api(server, world, "carol")
    weekly = world.meetings["weekly"]
    w = world.written

    created = json_body(bob.post("/api/meetings/", {
        "title": "Planned by castera", "description": "née ✓", "type_of": "private",
        "scheduled_date": "2033-07-08T10:11:12.345678+02:00"}), 201)
    assert list(created) == MEETING_KEYS, created
    w["meeting"] = created

    w["message"] = json_body(alice.post(f"/api/meetings/{weekly.id}/messages/", {
        "content": "Posted through castera ✓", "meeting": weekly.id}), 201)
    assert list(w["message"]) == MESSAGE_KEYS, w["message"]
    w["recording"] = json_body(alice.post(f"/api/meetings/{weekly.id}/recordings/", {
        "file_url": "https://files.example.com/rec/castera.webm"}), 201)
    assert list(w["recording"]) == RECORDING_KEYS, w["recording"]

    # carol's Django-made state is changed in place; dave gets a new row.
    carol_state = ParticipantState.objects.get(meeting=weekly, user=world.users["carol"])
    assert_same(json_body(carol.post(f"/api/meetings/{weekly.id}/raise-hand/"), 200),
                {"message": "Hand raised"}, "raise-hand")
    assert_same(json_body(dave.post(f"/api/meetings/{weekly.id}/mute-audio/"), 200),
                {"message": "Audio muted"}, "mute-audio")
    states = {s["user"]: s for s in json_body(
        alice.get(f"/api/meetings/{weekly.id}/participants/"), 200)}
    assert states[world.users["carol"].id]["id"] == carol_state.id, "carol's row was replaced"
    assert states[world.users["carol"].id]["raised_hand"] is True
    w["carol_state"] = states[world.users["carol"].id]
    w["dave_state"] = states[world.users["dave"].id]

    email, password = "newcomer@example.com", "newcomer-pass-" + secrets.token_hex(4)
    res = castera(world.url, "createuser", "--email", email, "--password-stdin",
                  "--full-name", "New Comer", input=password + "\n")
    assert res.returncode == 0, f"castera createuser failed: {res.stdout}{res.stderr}"
    world.passwords[email] = password
    newcomer = Api(server, email, password)
    w["user"] = json_body(newcomer.get("/api/auth/me/"), 200)
    assert_same(json_body(newcomer.post(f"/api/meetings/{weekly.id}/raise-hand/"), 200),
                {"message": "Hand raised"}, "raise-hand by the new user")
    states = {s["user"]: s for s in json_body(
        alice.get(f"/api/meetings/{weekly.id}/participants/"), 200)}
    w["newcomer_state"] = states[w["user"]["id"]]

    # The leaver signs in through castera (a castera session) and makes an API token.
    leaver = http()
    login = leaver.post(server.base_url + "/api/auth/login/", timeout=30,
                        json={"email": "leaver@example.com", "password": "leaver-pass-8"})
    assert login.status_code == 200, login.text
    token = api(server, world, "leaver").post("/api/auth/tokens/", {"name": "bot"})
    assert token.status_code == 201, token.text

    # Every new id comes after Django's: the tables' own sequences were used.
    new_ids = {
        "users_user": w["user"]["id"],
        "meetings_meeting": w["meeting"]["id"],
        "meetings_message": w["message"]["id"],
        "meetings_recording": w["recording"]["id"],
        "meetings_participantstate": max(w["dave_state"]["id"], w["newcomer_state"]["id"]),
    }
    for table, new_id in new_ids.items():
        assert new_id > world.max_ids[table], (
            f"{table}: castera wrote id {new_id}, not after Django's last id "
            f"{world.max_ids[table]}")
    assert w["dave_state"]["id"] != w["newcomer_state"]["id"]


# ---------------------------------------------------------------------------------------------
# 5. Django on the database castera wrote


def test_django_reads_what_castera_wrote(world, server):
    assert server.stop() == 0, f"castera did not stop cleanly; log:\n{server.log_tail()}"
    assert world.written.get("user"), "the castera write step did not complete"
    User, Meeting, Message, Recording, _, ParticipantState = models()
    from django.contrib.auth.hashers import check_password, identify_hasher

    w = world.written
    m = Meeting.objects.get(pk=w["meeting"]["id"])
    assert isinstance(m.room_id, uuid.UUID)
    m.full_clean()
    assert_same(drf_meeting(m), w["meeting"], "castera's meeting as Django renders it")
    assert m.user_id == world.users["bob"].id and m.type_of == "private" and m.status == "active"
    assert m.scheduled_date == at("2033-07-08T08:11:12.345678+00:00")
    assert abs((m.created_on - world.now).total_seconds()) < 600

    msg = Message.objects.select_related("user").get(pk=w["message"]["id"])
    msg.full_clean()
    assert_same(drf_message(msg), w["message"], "castera's message as Django renders it")
    rec = Recording.objects.select_related("uploaded_by").get(pk=w["recording"]["id"])
    rec.full_clean()
    assert_same(drf_recording(rec), w["recording"], "castera's recording as Django renders it")
    for name in ("carol_state", "dave_state", "newcomer_state"):
        state = ParticipantState.objects.select_related("user").get(pk=w[name]["id"])
        state.full_clean()
        assert_same(drf_participant(state), w[name], f"{name} as Django renders it")
    dave_state = ParticipantState.objects.get(pk=w["dave_state"]["id"])
    assert (dave_state.audio_muted, dave_state.video_stopped, dave_state.in_call,
            dave_state.raised_hand, dave_state.screen_sharing) == (True, False, True, False, False)

    newcomer = User.objects.get(pk=w["user"]["id"])
    assert newcomer.email == "newcomer@example.com" and newcomer.full_name == "New Comer"
    assert newcomer.role == "user" and newcomer.is_active
    assert not newcomer.is_staff and not newcomer.is_superuser
    assert identify_hasher(newcomer.password).algorithm == "pbkdf2_sha256"
    assert newcomer.check_password(world.passwords[newcomer.email])
    assert check_password(world.passwords[newcomer.email], newcomer.password)
    newcomer.full_clean()
    # Django's authentication backend accepts castera's user as its own.
    from django.contrib.auth import authenticate

    assert authenticate(email=newcomer.email, password=world.passwords[newcomer.email]) == newcomer


def test_django_keeps_writing_and_deleting_after_castera(world):
    User, Meeting, Message, Recording, Signal, ParticipantState = models()
    w = world.written
    assert w.get("meeting"), "the castera write step did not complete"
    bob = world.users["bob"]
    m = Meeting.objects.create(user=bob, title="After castera", scheduled_date=at(
        "2034-01-01T00:00:00+00:00"))
    assert m.id > w["meeting"]["id"]
    msg = Message.objects.create(meeting=m, user=bob, content="still Django")
    assert msg.id > w["message"]["id"]
    rec = Recording.objects.create(meeting=m, uploaded_by=bob, file_url="https://e.example/x")
    assert rec.id > w["recording"]["id"]
    state = ParticipantState.objects.create(meeting=m, user=bob)
    assert state.id > max(w["dave_state"]["id"], w["newcomer_state"]["id"])
    Signal.objects.create(meeting=m, sender=bob, signal_type="offer", data={"sdp": "x"})
    u = User.objects.create_user("after@example.com", "after-pass")
    assert u.id > w["user"]["id"]

    # A user castera gave a session and an API token can still be deleted from Django.
    leaver = world.users["leaver"]
    castera_rows = sql("SELECT (SELECT count(*) FROM castera_session WHERE user_id = %s) + "
                       "(SELECT count(*) FROM castera_api_token WHERE user_id = %s)",
                       [leaver.id, leaver.id])[0][0]
    assert castera_rows >= 2, "castera kept no session or token for the leaver"
    User.objects.get(pk=leaver.id).delete()
    assert not Meeting.objects.filter(pk=world.meetings.pop("leaver").pk).exists()


def test_django_management_commands_still_pass(world):
    res = manage(world.url, "check")
    assert res.returncode == 0, f"manage.py check:\n{res.stdout}{res.stderr}"
    res = manage(world.url, "migrate", "--check")
    assert res.returncode == 0, f"manage.py migrate --check:\n{res.stdout}{res.stderr}"
    res = manage(world.url, "makemigrations", "--check", "--dry-run")
    assert res.returncode == 0, f"manage.py makemigrations --check:\n{res.stdout}{res.stderr}"
    res = manage(world.url, "showmigrations")
    assert res.returncode == 0 and "[ ]" not in res.stdout, res.stdout + res.stderr


# ---------------------------------------------------------------------------------------------
# 6. castera deletes a meeting with everything that hangs off it, and nothing else


def test_castera_deletes_a_meeting_and_only_its_rows(world, server):
    _, Meeting, Message, Recording, Signal, ParticipantState = models()
    weekly = world.meetings["weekly"]
    # The meeting has rows of every kind, Django's and castera's.
    for model in (Message, Recording, Signal, ParticipantState):
        assert model.objects.filter(meeting_id=weekly.id).exists(), model.__name__
    before = data_dump()

    server.ensure_running()
    resp = api(server, world, "alice").call("DELETE", f"/api/meetings/{weekly.id}/")
    assert resp.status_code == 204 and resp.content == b"", (resp.status_code, resp.text)
    assert server.stop() == 0, f"castera did not stop cleanly; log:\n{server.log_tail()}"

    assert not Meeting.objects.filter(pk=weekly.id).exists()
    for model in (Message, Recording, Signal, ParticipantState):
        left = list(model.objects.filter(meeting_id=weekly.id).values_list("id", flat=True))
        assert not left, f"{model.__name__} rows of the deleted meeting remain: {left}"

    after = data_dump()
    for table in DJANGO_TABLES:
        if table == "meetings_meeting":
            expected = [r for r in before[table] if r["id"] != weekly.id]
        elif table in MEETING_CHILDREN:
            expected = [r for r in before[table] if r[MEETING_CHILDREN[table]] != weekly.id]
        else:
            expected = before[table]
        assert after[table] == expected, f"{table}: rows other than the meeting's changed"


# ---------------------------------------------------------------------------------------------
# castera's admin console on Django's database: one history for both admins


def test_castera_admin_history_is_djangos(world, server):
    """A change made in castera's admin is a LogEntry Django's admin reads as its own, and castera's
    history page shows the rows Django's admin wrote."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "api"))
    from admin_helpers import Admin, Page

    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    User, Meeting, *_ = models()
    kickoff = Meeting.objects.get(pk=world.meetings["kickoff"].pk)
    server.ensure_running()
    ui = Admin(server.base_url).logged_in("root@example.com", world.passwords["root@example.com"])
    path = f"/admin/meetings/meeting/{kickoff.pk}/change/"
    resp = ui.submit(path, "title", title=kickoff.title + " (moved)")
    assert resp.status_code == 302, Page(resp).errors

    entry = LogEntry.objects.filter(object_id=str(kickoff.pk),
                                    content_type=ContentType.objects.get_for_model(Meeting)).latest("id")
    assert entry.action_flag == CHANGE
    assert entry.user_id == world.users["root"].pk
    assert entry.object_repr == kickoff.title + " (moved)"
    assert entry.get_change_message() == "Changed Title."
    assert entry.is_change() and entry.get_edited_object().title == kickoff.title + " (moved)"

    bob = world.users["bob"]
    page = ui.page(f"/admin/users/user/{bob.pk}/history/")
    assert "Changed Full name." in page.text and "root@example.com" in page.text
    index = ui.page("/admin/")
    assert kickoff.title + " (moved)" in index.text
