"""After the hostile traffic (this file always runs last, see conftest.py): the server still
answers, its memory and descriptors came back to what they were before, and every row the
suite's valid requests wrote is there."""

import time
from collections import Counter

import gen_auth
import gen_fields
import gen_http
import gen_ws
from castera_helpers import assert_serving, body
from conftest import open_fds, rss_kib

SETTLE_SECONDS = 20


def all_cases(world):
    return {
        "methods": list(gen_http.methods(world)), "paths": list(gen_http.paths(world)),
        "headers": gen_http.headers(world), "bodies": gen_http.bodies(world), "fields": gen_fields.fields(world),
        "auth": gen_auth.auth(world), "websocket upgrades": gen_ws.upgrades(world),
        "websocket frames": gen_ws.frames(world), "castera.v2 frames": gen_ws.v2_errors(world),
    }


def test_there_are_at_least_5000_cases(world):
    counts = {k: len(v) for k, v in all_cases(world).items()}
    assert sum(counts.values()) >= 5000, counts


def test_the_server_still_answers(world):
    world.assert_alive()
    assert_serving(world.base_url)
    assert body(world.client("owner").get("/api/auth/me/"), 200)["email"] == world.users["owner"].email


def test_descriptors_and_memory_came_back(world):
    # Closed connections are released and the allocator gives back what it freed within a few
    # seconds: the figures are taken once they stop changing (for two seconds), or at the end
    # of SETTLE_SECONDS.
    deadline = time.monotonic() + SETTLE_SECONDS
    samples = []
    while True:
        fds, rss = open_fds(world.pid), rss_kib(world.pid)
        samples = (samples + [(fds, rss)])[-5:]
        if len(samples) == 5 and len(set(samples)) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    anon = rss_kib(world.pid, "RssAnon")
    world.notes.append(f"{world.backend}: open descriptors {world.fds_before} before, {fds} after; "
                       f"resident memory {world.rss_before} KiB before, {rss} KiB after "
                       f"({(rss - world.rss_before) * 100 / world.rss_before:+.1f} %; "
                       f"anonymous {world.anon_before} -> {anon} KiB)")
    assert fds == world.fds_before, f"{fds} descriptors open, {world.fds_before} before the suite"
    assert rss <= world.rss_before * 1.10, f"resident memory {rss} KiB, {world.rss_before} KiB before the suite"


def test_every_valid_write_is_there(world):
    owner = world.client("owner")
    ledger = world.ledger
    wanted = {}
    for meeting, content in ledger.messages:
        wanted.setdefault(meeting, Counter())[content] += 1
    missing = []
    for meeting, contents in wanted.items():
        stored = Counter(m["content"] for m in body(owner.get(f"/api/meetings/{meeting}/messages/"), 200))
        missing += [f"message {c[:60]!r} in meeting {meeting}" for c in (contents - stored)]
        never = [c for m, c in ledger.unstored if m == meeting and stored[c]]
        missing += [f"message {c[:60]!r} stored, though it was never sent whole" for c in never]
    meetings = {m["id"]: m["title"] for m in body(world.client("admin").get("/api/meetings/"), 200)}  # all of them
    for ident, title in ledger.meetings.items():
        if meetings.get(ident) != title:
            missing.append(f"meeting {ident} titled {title[:40]!r}: {meetings.get(ident)!r:.40}")
    recordings = Counter((r["meeting"], r["file_url"]) for r in
                         body(owner.get(f"/api/meetings/{world.meetings['main'].id}/recordings/"), 200))
    missing += [f"recording {r}" for r in Counter(ledger.recordings) - recordings]
    tokens = Counter(t["name"] for t in body(owner.get("/api/auth/tokens/"), 200))
    missing += [f"token {t!r}" for t in Counter(ledger.tokens) - tokens]
    world.notes.append(f"{world.backend}: {ledger.rows()} rows written by valid requests, all found"
                       if not missing else f"{world.backend}: {len(missing)} rows missing")
    assert not missing, f"{len(missing)} rows missing:\n  " + "\n  ".join(missing[:50])
