"""Migrated schemas for tests, at the cost of a copy: Alembic runs once per process and dialect.

Every test still gets a database of its own. On SQLite the template is copied in with SQLite's
backup API; on PostgreSQL a test's database is created from a migrated template database
(tests/servicedb.py). Other dialects run the migrations themselves.
"""

from __future__ import annotations

import sqlite3
import tempfile
from functools import cache
from pathlib import Path

from sqlalchemy import Engine

from sws.db.engine import make_engine
from sws.db.migrate import upgrade


@cache
def _sqlite_template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="sws-schema-")) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def migrate(engine: Engine) -> None:
    """Bring `engine`'s (new, empty) database to the head schema, by copy where possible."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        upgrade(engine)  # a no-op on a database made from the PostgreSQL template
        return
    source = sqlite3.connect(_sqlite_template())
    target = engine.raw_connection()
    try:
        source.backup(target.driver_connection)  # type: ignore[arg-type]
    finally:
        target.close()
        source.close()
