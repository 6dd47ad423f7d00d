#!/usr/bin/env python3
"""Fills a castera database, already migrated by `castera migrate`, with realistic data.

    seed.py sqlite PATH [--quick]   writes straight into the SQLite file
    seed.py postgres [--quick]      prints a psql script (COPY ... FROM STDIN) on stdout
    seed.py facts [--quick]         prints the facts below as shell assignments, for bench/run

Full size: 10,000 users, 100,000 meetings, 1,000,000 messages, 20,000 recordings, 50,000
participant states; --quick is a tenth of that. Rows go in with a few big transactions (SQLite)
or COPY (PostgreSQL), because row-by-row inserts through the API would take hours.

The benchmark's own facts are fixed, so that bench/run need not ask the database:
user 1 is BENCH_EMAIL / BENCH_PASSWORD and owns meetings 1..50 (and no other), the meeting the
read benchmark fetches is READ_MEETING (owned by someone else: any user may read it), and
messages are posted to meeting 1 (only a meeting's owner may post).
"""

import argparse
import base64
import hashlib
import random
import shlex
import sys
import time
import uuid

BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-not-secret"
OWNED_MEETINGS = 50


def read_meeting(n):
    """A meeting in the middle of the table, so the read is not of a first or last page."""
    return n["meetings"] // 2

# Django's pbkdf2_sha256 with its current iteration count. Every user shares this one hash:
# computing 10,000 of them would take an hour and measure nothing.
ITERATIONS = 600000
SALT = "benchsaltbenchsalt0000"

WORDS = ("standup planning review retro sync design budget hiring launch roadmap onboarding "
         "incident demo quarterly weekly product sales support security infra mobile web").split()
SENTENCES = (
    "Can everyone hear me?", "I'll share my screen in a second.", "Sounds good to me.",
    "Let's move on to the next item.", "The build is green again.", "Who takes the action item?",
    "I have a hard stop at the hour.", "Notes are in the doc.", "Thanks, that helps a lot!",
    "Could you repeat the last part?", "+1", "Agreed, let's ship it on Thursday.",
)


def sizes(quick):
    if quick:
        return dict(users=1000, meetings=10000, messages=100000, recordings=2000, states=5000)
    return dict(users=10000, meetings=100000, messages=1000000, recordings=20000, states=50000)


def django_hash(password):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), SALT.encode(), ITERATIONS)
    return "pbkdf2_sha256$%d$%s$%s" % (ITERATIONS, SALT, base64.b64encode(digest).decode())


class Clock:
    """Datetimes as castera writes them: SQLite "YYYY-MM-DD hh:mm:ss.uuuuuu" (UTC, Django's
    form), PostgreSQL the same with "+00" (timestamptz)."""

    def __init__(self, suffix):
        self.suffix = suffix
        self.now = int(time.time())

    def at(self, seconds_from_now, micros=0):
        t = self.now + seconds_from_now
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + ".%06d" % micros + self.suffix


def users(n, password_hash):
    for i in range(1, n + 1):
        email = BENCH_EMAIL if i == 1 else "user%d@example.com" % i
        image = "https://avatars.example.com/%d.png" % i if i % 3 == 0 else None
        # id, password, last_login, is_superuser, email, full_name, image, role, is_active, is_staff
        yield (i, password_hash, None, False, email, "User %d" % i, image, "admin" if i == 2 else "user", True, False)


def meetings(n, n_users, rng, clock, owners):
    """Meetings 1..50 belong to the bench user; the rest are spread over the other users."""
    for i in range(1, n + 1):
        owner = 1 if i <= OWNED_MEETINGS else rng.randint(2, n_users)
        owners[i] = owner
        age = n - i  # older ids were created earlier
        created = clock.at(-age * 60 - 3600, rng.randrange(1000000))
        scheduled = clock.at(rng.randint(-90, 90) * 86400 + rng.randint(0, 86399))
        title = "%s %s #%d" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS), i)
        description = None if i % 4 == 0 else "Agenda: %s, %s and %s." % tuple(rng.sample(WORDS, 3))
        type_of = "private" if i % 5 == 0 else "public"
        status = "ended" if (i > OWNED_MEETINGS and i % 3 == 0) else "active"
        room = uuid.UUID(int=rng.getrandbits(128), version=4)
        # id, title, description, type_of, created_on, room_id, scheduled_date, status, user_id
        yield (i, title, description, type_of, created, room, scheduled, status, owner)


def messages(n, n_meetings, n_users, rng, clock):
    for i in range(1, n + 1):
        meeting = rng.randint(1, n_meetings)
        user = rng.randint(1, n_users)
        stamp = clock.at(-rng.randint(0, 90 * 86400), rng.randrange(1000000))
        # id, content, timestamp, meeting_id, user_id
        yield (i, rng.choice(SENTENCES), stamp, meeting, user)


def recordings(n, n_meetings, rng, clock, owners):
    for i in range(1, n + 1):
        meeting = rng.randint(1, n_meetings)
        url = "https://recordings.example.com/%d/%d.mp4" % (meeting, i)
        # id, file_url, created_at, meeting_id, uploaded_by_id
        yield (i, url, clock.at(-rng.randint(0, 90 * 86400)), meeting, owners[meeting])


def states(n, n_meetings, n_users, rng):
    seen = set()
    i = 0
    while i < n:
        key = (rng.randint(1, n_meetings), rng.randint(1, n_users))
        if key in seen:
            continue
        seen.add(key)
        i += 1
        # id, audio_muted, video_stopped, in_call, raised_hand, screen_sharing, meeting_id, user_id
        yield (i, rng.random() < 0.3, rng.random() < 0.2, rng.random() < 0.5, rng.random() < 0.05,
               rng.random() < 0.02, key[0], key[1])


COLUMNS = {
    "users_user": "id, password, last_login, is_superuser, email, full_name, image, role, is_active, is_staff",
    "meetings_meeting": "id, title, description, type_of, created_on, room_id, scheduled_date, status, user_id",
    "meetings_message": "id, content, timestamp, meeting_id, user_id",
    "meetings_recording": "id, file_url, created_at, meeting_id, uploaded_by_id",
    "meetings_participantstate":
        "id, audio_muted, video_stopped, in_call, raised_hand, screen_sharing, meeting_id, user_id",
}


def tables(quick, suffix):
    """(table, rows) in foreign-key order, the same rows for both databases (fixed seed)."""
    n = sizes(quick)
    rng = random.Random(7)
    clock = Clock(suffix)
    owners = {}  # meeting id -> owner, filled by meetings() before recordings() reads it
    yield "users_user", users(n["users"], django_hash(BENCH_PASSWORD))
    yield "meetings_meeting", meetings(n["meetings"], n["users"], rng, clock, owners)
    yield "meetings_message", messages(n["messages"], n["meetings"], n["users"], rng, clock)
    yield "meetings_recording", recordings(n["recordings"], n["meetings"], rng, clock, owners)
    yield "meetings_participantstate", states(n["states"], n["meetings"], n["users"], rng)


def seed_sqlite(path, quick):
    import sqlite3
    db = sqlite3.connect(path, isolation_level=None)
    # A throwaway file: no need to survive a crash while it is being filled, nor to write every
    # page twice (WAL, then checkpoint). castera's WAL mode is set back at the end.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    for table, rows in tables(quick, ""):
        # Indexes are dropped and made again from their own stored SQL: building an index once
        # is several times faster than keeping it up to date row by row.
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                             "AND sql IS NOT NULL", (table,)).fetchall()
        db.execute("BEGIN")
        for name, _ in indexes:
            db.execute('DROP INDEX "%s"' % name)
        columns = COLUMNS[table]
        marks = ", ".join("?" * (columns.count(",") + 1))
        db.executemany('INSERT INTO "%s" (%s) VALUES (%s)' % (table, columns, marks),
                       (tuple(str(v.hex) if isinstance(v, uuid.UUID) else v for v in row) for row in rows))
        for _, sql in indexes:
            db.execute(sql)
        db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def pg_text(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def seed_postgres(quick, out):
    tables_list = ", ".join("'%s'" % t for t in COLUMNS)
    out.write("\\set ON_ERROR_STOP on\nBEGIN;\n")
    # The rows are consistent by construction: skip the foreign-key triggers, which Django's
    # DEFERRABLE INITIALLY DEFERRED constraints would otherwise queue once per row until COMMIT.
    out.write("SET LOCAL session_replication_role = replica;\n")
    # As for SQLite, plain indexes are dropped and made again from their own definitions after
    # the load; those behind constraints (primary keys, unique) stay.
    out.write("""CREATE TEMP TABLE seed_indexes ON COMMIT DROP AS
  SELECT indexname, indexdef FROM pg_indexes i
  WHERE schemaname = current_schema() AND tablename IN (%s)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM seed_indexes LOOP EXECUTE format('DROP INDEX %%I', r.indexname); END LOOP;
END $$;
""" % tables_list)
    for table, rows in tables(quick, "+00"):
        out.write('COPY "%s" (%s) FROM STDIN;\n' % (table, COLUMNS[table]))
        out.writelines("\t".join(map(pg_text, row)) + "\n" for row in rows)
        out.write("\\.\n")
        # Explicit ids leave the identity sequence behind: move it past them.
        out.write("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM \"%s\"));\n"
                  % (table, table))
    out.write("DO $$ DECLARE r record; BEGIN\n"
              "  FOR r IN SELECT indexdef FROM seed_indexes LOOP EXECUTE r.indexdef; END LOOP;\n"
              "END $$;\n")
    out.write("COMMIT;\nANALYZE;\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", choices=["sqlite", "postgres", "facts"])
    parser.add_argument("path", nargs="?")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.store == "facts":
        n = sizes(args.quick)
        facts = dict(BENCH_EMAIL=BENCH_EMAIL, BENCH_PASSWORD=BENCH_PASSWORD, OWNED_MEETINGS=OWNED_MEETINGS,
                     READ_MEETING=read_meeting(n), POST_MEETING=1,
                     SEED_SIZES=", ".join("%s %d" % item for item in n.items()))
        for key, value in facts.items():
            print("%s=%s" % (key, shlex.quote(str(value))))
    elif args.store == "sqlite":
        if not args.path:
            parser.error("sqlite needs the database file")
        seed_sqlite(args.path, args.quick)
    else:
        seed_postgres(args.quick, sys.stdout)


if __name__ == "__main__":
    main()
