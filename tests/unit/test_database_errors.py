"""The database layer speaks SWS's errors: a taken unique key is `Duplicate` (a 409), a lost
lock is `Contended` (a 503, worth a retry), and anything else stays the driver's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from sws.db.engine import Database, make_engine
from sws.errors import Conflict, Contended, Duplicate


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'errors.db'}"))
    with database.begin() as conn:
        conn.execute(text("CREATE TABLE hosts (name TEXT PRIMARY KEY)"))
        conn.execute(text("INSERT INTO hosts VALUES ('www.acme.example')"))
    return database


def test_a_taken_unique_key_is_a_duplicate_and_nothing_is_written(db: Database) -> None:
    with pytest.raises(Duplicate) as refused, db.begin() as conn:
        conn.execute(text("INSERT INTO hosts VALUES ('shop.acme.example')"))
        conn.execute(text("INSERT INTO hosts VALUES ('www.acme.example')"))
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert "hosts" not in refused.value.detail  # the schema stays out of what users read
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM hosts")).scalar_one() == 1


@pytest.mark.parametrize("message", ["deadlock detected", "database is locked",
                                     "could not serialize access"])
def test_a_lost_lock_is_contended(db: Database, message: str) -> None:
    with pytest.raises(Contended), db.begin():
        raise OperationalError("UPDATE hosts", {}, Exception(message))


def test_other_database_failures_stay_the_drivers_own(db: Database) -> None:
    with pytest.raises(OperationalError), db.begin():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
