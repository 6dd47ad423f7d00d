"""A database of a test's own: a SQLite file in its temporary directory, or, when the suite runs
on PostgreSQL, a database made in scripts/pg-test-cluster's cluster; and plain SQL on it, outside
castera, to check what castera stored."""

import os
import sqlite3
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import postgres_test_url


class Database:
    """The test's own database, and plain SQL on it (outside castera)."""

    def __init__(self, tmp_path, settings=()):
        pg = postgres_test_url()
        if pg:
            # scripts/pg-test-cluster's cluster trusts its superuser on its socket: the database
            # is made by it and owned by the suite's role.
            cluster = os.environ.get("CASTERA_TEST_PG_CLUSTER")
            if not cluster:
                pytest.skip("needs CASTERA_TEST_PG_CLUSTER (scripts/pg-test-cluster) to make a database")
            name = f"castera_crash_{os.getpid()}"
            parts = urlsplit(pg)
            self.admin = f"postgresql://postgres@/postgres?host={cluster}&port={parts.port}"
            self.psql("DROP DATABASE IF EXISTS " + name, url=self.admin)
            self.psql(f"CREATE DATABASE {name} OWNER {parts.username}", url=self.admin)
            for setting in settings:
                self.psql(f"ALTER DATABASE {name} SET {setting}", url=self.admin)
            self.url = urlunsplit(parts._replace(path="/" + name))
            self.name = name
        else:
            self.path = str(tmp_path / "crash.db")
            self.url = "sqlite:" + self.path
        self.pg = bool(pg)

    @staticmethod
    def psql(sql, url):
        res = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return [line.split("|") for line in res.stdout.splitlines() if line]

    def rows(self, sql):
        if self.pg:
            return self.psql(sql, self.url)
        with sqlite3.connect(self.path) as conn:
            return [[str(v) for v in row] for row in conn.execute(sql)]

    def check_sound(self):
        if self.pg:
            orphans = self.rows(
                "SELECT count(*) FROM meetings_message m LEFT JOIN meetings_meeting g ON g.id = m.meeting_id "
                "LEFT JOIN users_user u ON u.id = m.user_id WHERE g.id IS NULL OR u.id IS NULL")
            assert orphans == [["0"]], orphans
            orphans = self.rows("SELECT count(*) FROM meetings_meeting g LEFT JOIN users_user u ON u.id = g.user_id "
                                "WHERE u.id IS NULL")
            assert orphans == [["0"]], orphans
        else:
            assert self.rows("PRAGMA integrity_check") == [["ok"]]
            assert self.rows("PRAGMA foreign_key_check") == []

    def drop(self):
        if self.pg:
            self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", url=self.admin)
