"""kill -9 under mixed concurrent writes, 20 rounds: REST messages, WebSocket chats, meetings
created and updated, all at once, and castera killed at a random moment of it. After each
restart every write that was acknowledged (a 2xx, or a `chat` frame delivered back to its
sender) is in the database, none twice, an updated meeting holds its last acknowledged title
or one sent after it, the database is sound (SQLite's integrity and foreign-key checks; on
PostgreSQL, no row whose meeting or user is gone) and castera started cleanly.

On SQLite in a file of its own; on PostgreSQL in a database of its own in the suite's cluster.
"""

import json
import random
import threading
import time

import slow_clients as sc
from castera_helpers import Client
from own_database import Database
from conftest import base_env, castera_bin, run_cli, start_server

ROUNDS = 20
PASSWORD = "crash-round-pass-1"


class Load:
    """Writers running until stopped, each recording what castera acknowledged."""

    def __init__(self, base_url, meeting, room_id, round_no):
        self.base_url, self.meeting, self.room_id, self.round = base_url, meeting, room_id, round_no
        self.messages = []      # contents of messages answered 201
        self.chats = []         # contents of chats delivered back to their sender
        self.meetings = []      # titles of meetings answered 201
        self.titles_sent = []   # every title PATCHed, in order
        self.title_acked = None  # index in titles_sent of the last one answered 200
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.rest_messages, self.rest_messages, self.meetings_writer, self.chats_writer)]

    def client(self):
        return Client(self.base_url, "crash@example.com", PASSWORD)

    def rest_messages(self):
        c = self.client()
        tag = threading.get_ident()
        for i in range(100000):
            if self.stop.is_set():
                return
            content = f"r{self.round} rest {tag} {i}"
            try:
                resp = c.post(f"/api/meetings/{self.meeting}/messages/", json={"content": content}, timeout=5)
            except Exception:  # noqa: BLE001 - the kill cuts requests off: not acknowledged
                return
            if resp.status_code == 201:
                self.messages.append(content)

    def meetings_writer(self):
        c = self.client()
        for i in range(100000):
            if self.stop.is_set():
                return
            try:
                title = f"r{self.round} meeting {i}"
                resp = c.post("/api/meetings/", json={"title": title, "scheduled_date": "2030-01-01T10:00:00Z"},
                              timeout=5)
                if resp.status_code == 201:
                    self.meetings.append(title)
                title = f"r{self.round} update {i}"
                self.titles_sent.append(title)
                resp = c.patch(f"/api/meetings/{self.meeting}/", json={"title": title}, timeout=5)
                if resp.status_code == 200:
                    self.title_acked = len(self.titles_sent) - 1
            except Exception:  # noqa: BLE001
                return

    def chats_writer(self):
        try:
            sock, rest = sc.websocket_upgrade(self.base_url, self.room_id, "crash@example.com", PASSWORD)
        except Exception:  # noqa: BLE001
            return
        sock.settimeout(0.05)
        reader = sc.FrameReader(sock, rest)
        sent = 0
        while not self.stop.is_set():
            try:
                if sent < 100000:
                    sock.sendall(sc.masked_text_frame(json.dumps({"type": "chat", "content": f"r{self.round} ws {sent}"})))
                    sent += 1
                for frame in reader.frames():
                    if frame.get("type") == "chat" and frame.get("content", "").startswith(f"r{self.round} ws "):
                        self.chats.append(frame["content"])
                time.sleep(0.002)
            except OSError:
                return

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


def counts(db, sql):
    found = {}
    for (content,) in db.rows(sql):
        found[content] = found.get(content, 0) + 1
    return found


def test_twenty_kill_9_rounds_under_mixed_writes_lose_and_duplicate_nothing(tmp_path):
    db = Database(tmp_path)
    env = base_env(str(tmp_path))
    env.update({"CASTERA_DATABASE_URL": db.url, "CASTERA_PASSWORD_ITERATIONS": "1000",
                "CASTERA_WS_MESSAGES_PER_SECOND": "100000", "CASTERA_WS_MESSAGE_BURST": "100000",
                "CASTERA_ACCESS_LOG": "False"})
    try:
        assert run_cli(castera_bin(), env, "migrate").returncode == 0
        assert run_cli(castera_bin(), env, "createuser", "--email", "crash@example.com", "--password-stdin",
                       input=PASSWORD + "\n").returncode == 0
        rng = random.Random(26)
        acknowledged = {"messages": 0, "chats": 0, "meetings": 0}
        meeting = None
        for round_no in range(ROUNDS):
            log = tmp_path / f"server-{round_no}.log"
            proc, base_url = start_server(castera_bin(), env, str(log))
            try:
                if meeting is None:
                    meeting = Client(base_url, "crash@example.com", PASSWORD).create_meeting()
                with Load(base_url, meeting["id"], meeting["room_id"], round_no) as load:
                    time.sleep(rng.uniform(0.5, 1.5))
                    proc.kill()  # SIGKILL, in the middle of the writes
                    proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
            text = log.read_text(errors="replace")
            assert " error " not in text, text[-2000:]

            r = f"r{round_no} "
            messages = counts(db, f"SELECT content FROM meetings_message WHERE content LIKE '{r}%'")
            for content in load.messages + load.chats:
                assert messages.get(content) == 1, (round_no, content, messages.get(content))
            assert all(n == 1 for n in messages.values()), [c for c, n in messages.items() if n > 1]
            titles = counts(db, f"SELECT title FROM meetings_meeting WHERE title LIKE '{r}meeting %'")
            for title in load.meetings:
                assert titles.get(title) == 1, (round_no, title)
            if load.title_acked is not None:
                (title,), = db.rows(f"SELECT title FROM meetings_meeting WHERE id = {meeting['id']}")
                assert title in load.titles_sent[load.title_acked:], (round_no, title, load.titles_sent[load.title_acked])
            db.check_sound()
            acknowledged["messages"] += len(load.messages)
            acknowledged["chats"] += len(load.chats)
            acknowledged["meetings"] += len(load.meetings)
        print(f"{ROUNDS} kill -9 rounds on {'PostgreSQL' if db.pg else 'SQLite'}: acknowledged and found {acknowledged}")
        assert acknowledged["messages"] > ROUNDS * 10 and acknowledged["chats"] > ROUNDS * 10
        # The last restart, once more: castera starts on what the kills left and answers.
        proc, base_url = start_server(castera_bin(), env, str(tmp_path / "server-last.log"))
        try:
            assert Client(base_url, "crash@example.com", PASSWORD).get(f"/api/meetings/{meeting['id']}/").status_code == 200
        finally:
            proc.kill()
            proc.wait(timeout=10)
    finally:
        db.drop()
