"""On SQLite a transaction that reads, then writes beside another writer fails at once unless
it began IMMEDIATE: `Database.begin(immediate=True)` waits for the write lock instead."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from sws.db.engine import Database, make_engine
from sws.errors import Contended


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'sws.db'}"))
    with database.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (n INTEGER)"))
    return database


def read_then_write(db: Database, immediate: bool, tries: int) -> int:
    """How many of `tries` read-then-write transactions failed while another thread writes."""
    stop = threading.Event()

    def busy_writer() -> None:
        while not stop.is_set():
            with db.begin() as conn:
                conn.execute(text("INSERT INTO jobs VALUES (1)"))
            time.sleep(0.005)

    writer = threading.Thread(target=busy_writer)
    writer.start()
    failed = 0
    try:
        for _ in range(tries):
            try:
                with db.begin(immediate=immediate) as conn:
                    conn.execute(text("SELECT count(*) FROM jobs")).scalar()
                    time.sleep(0.02)  # another writer commits meanwhile
                    conn.execute(text("INSERT INTO jobs VALUES (2)"))
            except Contended:
                failed += 1
    finally:
        stop.set()
        writer.join()
    return failed


def test_a_deferred_read_then_write_fails_beside_a_writer(db: Database) -> None:
    assert read_then_write(db, immediate=False, tries=10) > 0


def test_an_immediate_one_waits_for_the_lock_and_never_fails(db: Database) -> None:
    assert read_then_write(db, immediate=True, tries=10) == 0
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs WHERE n = 2")).scalar() == 10
