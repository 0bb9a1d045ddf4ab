"""Insert a row unless its unique key is there already, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError


def insert_once(conn: Connection, table: Table, values: dict[str, Any], *, key: str) -> bool:
    """True if the row went in; False if a row with the same `key` (a unique column) exists
    or is being inserted by a transaction that then commits. The caller's transaction stays
    usable either way: ON CONFLICT DO NOTHING on PostgreSQL and SQLite, a savepoint on MariaDB.
    """
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        module: Any = postgresql if dialect == "postgresql" else sqlite
        primary = next(iter(table.primary_key.columns))
        query = module.insert(table).values(**values)
        query = query.on_conflict_do_nothing(index_elements=[key]).returning(primary)
        return conn.execute(query).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
    except IntegrityError:
        return False
    return True
