"""SQL for leader leases: read a role's row (locked as asked), write it, and say who won."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from sws.errors import Conflict
from sws.leases.model import Lease
from sws.leases.tables import leader_leases as t


def load(conn: Connection, name: str, *, lock: str | None = None) -> Lease | None:
    """The role's lease; `lock` "update" (to change it) or "share" (to write under it)."""
    query: Any = select(t).where(t.c.name == name)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    row = conn.execute(query).first()
    if row is None:
        return None
    return Lease(row.name, row.holder, int(row.epoch), row.expires_at)


def save(conn: Connection, lease: Lease, *, now: datetime, new: bool) -> None:
    """Insert or update the role's row; two first claims racing: the loser gets Conflict."""
    values = {
        "holder": lease.holder,
        "epoch": lease.epoch,
        "expires_at": lease.expires_at,
        "renewed_at": now,
    }
    if not new:
        conn.execute(update(t).where(t.c.name == lease.name).values(**values))
        return
    try:
        conn.execute(insert(t).values(name=lease.name, **values))
    except IntegrityError as error:
        raise Conflict(f"another process claimed {lease.name} first", field="lease") from error


def end_idle_transactions_after(conn: Connection, seconds: float) -> None:
    """Have the server end this transaction if its client stops talking for `seconds`.

    A leader paused inside a critical transaction holds the lease row's share lock, which a
    standby's claim waits for; the server ending the paused session frees it and rolls the
    stale work back. PostgreSQL scopes the setting to the transaction. MariaDB's is a session
    setting: it is set back to 0 when the connection returns to the pool.
    """
    name = conn.dialect.name
    if name == "postgresql":
        ms = math.ceil(seconds * 1000)
        conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {ms}"))
    elif name in ("mysql", "mariadb"):
        pool = conn.engine.pool
        if not event.contains(pool, "checkin", _reset_idle_timeout):
            event.listen(pool, "checkin", _reset_idle_timeout)
        conn.execute(text(f"SET SESSION idle_transaction_timeout = {math.ceil(seconds)}"))
        conn.info[IDLE_TIMEOUT_SET] = True


IDLE_TIMEOUT_SET = "sws.leases.idle_timeout"


def _reset_idle_timeout(dbapi_connection: Any, record: Any) -> None:
    """Pool checkin: the session that ran a fenced transaction gets MariaDB's default back."""
    if dbapi_connection is None or not record.info.pop(IDLE_TIMEOUT_SET, False):
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION idle_transaction_timeout = 0")
        cursor.close()
    except Exception:  # the server ended the session (a paused leader): pre-ping replaces it
        return
