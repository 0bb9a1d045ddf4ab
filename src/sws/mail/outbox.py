"""The transactional outbox: a use case enqueues its mail in its own transaction (so a mail
goes out only if the action committed, and once per event key); the dispatcher sends due
rows afterwards through a Mailer, retrying failures with exponential backoff.

Claiming is safe with many dispatchers: rows are read with `FOR UPDATE SKIP LOCKED` on
PostgreSQL and MariaDB and each claim is a compare-and-set on `attempts`; SQLite, with one
writer at a time, claims in a single `UPDATE ... RETURNING`. A claim moves `due_at` a lease
ahead, so a sender that dies mid-send leaves its rows to be retried when the lease ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from sws.clock import Clock
from sws.db.bulk import insert_rows
from sws.db.engine import Database
from sws.db.once import insert_once
from sws.mail.model import Mail, from_json, to_json
from sws.mail.ports import Mailer
from sws.mail.tables import KEY, mail_outbox
from sws.observability import context

log = logging.getLogger("sws.mail")
_C = mail_outbox.c


def enqueue(conn: Connection, *, key: str, mail: Mail, now: datetime | None = None) -> bool:
    """Add `mail` to the outbox inside the caller's transaction; False (and nothing added)
    when `key` was enqueued before. `now` stamps the row (default: the system's UTC time)."""
    return insert_once(conn, mail_outbox, _row(key, mail, now or datetime.now(UTC)), key="key")


def enqueue_many(conn: Connection, mails: Sequence[tuple[str, Mail]], *, now: datetime) -> None:
    """`enqueue` for (key, mail) pairs in one statement on PostgreSQL (a key enqueued before,
    or twice here, adds nothing); elsewhere one by one."""
    if conn.dialect.name != "postgresql":
        for key, mail in mails:
            enqueue(conn, key=key, mail=mail, now=now)
        return
    fresh = {key: _row(key, mail, now) for key, mail in reversed(mails)}  # the first one wins
    insert_rows(conn, mail_outbox, list(reversed(fresh.values())), skip_existing="key")


def _row(key: str, mail: Mail, now: datetime) -> dict[str, Any]:
    if not 0 < len(key) <= KEY:
        raise ValueError(f"an outbox key has 1 to {KEY} characters")
    return {
        "key": key,
        "recipient": mail.to[:320],
        "subject": mail.subject[:255],
        "payload": json.dumps(_traced(to_json(mail)), ensure_ascii=False),
        "created_at": now,
        "due_at": now,
        "attempts": 0,
    }


def _traced(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with the request id of the work that enqueued it, so the sender logs it."""
    request_id = context.current()
    return {**payload, "request_id": request_id} if request_id else payload


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a failing mail is tried again before it is given up."""

    attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)  # doubled after each failure ...
    max_backoff: timedelta = timedelta(hours=2)  # ... up to this
    lease: timedelta = timedelta(minutes=5)  # a claim's hold on its row while sending

    def delay(self, attempts: int) -> timedelta:
        return min(self.backoff * (1 << max(0, attempts - 1)), self.max_backoff)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    attempts: int
    payload: str


class OutboxDispatcher:
    """Sends due outbox rows; `run_once` is called by the ticker or `sws worker mail`."""

    def __init__(
        self, *, db: Database, clock: Clock, mailer: Mailer, policy: RetryPolicy | None = None
    ) -> None:
        self.db, self.clock, self.mailer = db, clock, mailer
        self.policy = policy or RetryPolicy()

    def run_once(self, limit: int = 100) -> int:
        """Send up to `limit` due mails; the number sent."""
        sent = 0
        for row in self._claim(limit):
            sent += self._deliver(row)
        return sent

    def _claim(self, limit: int) -> list[_Claimed]:
        now = self.clock.now()
        due = or_(_C.due_at <= now, _C.attempts == 0)
        query = (
            select(_C.id, _C.attempts, _C.payload)
            .where(_C.sent_at.is_(None), _C.failed_at.is_(None), due)
            .order_by(_C.id)
            .limit(limit)
        )
        with self.db.begin() as conn:
            if conn.dialect.name == "sqlite":  # one writer at a time: claim in one statement
                return self._claim_at_once(conn, query, now)
            rows = conn.execute(query.with_for_update(skip_locked=True)).all()
            return [claimed for row in rows if (claimed := self._take(conn, row, now))]

    def _claim_at_once(self, conn: Connection, due: Any, now: datetime) -> list[_Claimed]:
        """UPDATE ... RETURNING takes SQLite's write lock first, so no read is ever stale."""
        ids = due.with_only_columns(_C.id).scalar_subquery()
        query = (
            update(mail_outbox)
            .where(_C.id.in_(ids))
            .values(attempts=_C.attempts + 1, due_at=now + self.policy.lease)
            .returning(_C.id, _C.attempts, _C.payload)
        )
        rows = sorted(conn.execute(query).all())
        return [_Claimed(row.id, row.attempts, row.payload) for row in rows]

    def _take(self, conn: Connection, row: Any, now: datetime) -> _Claimed | None:
        """Compare-and-set: the row is ours only if nobody claimed it since we read it."""
        result = conn.execute(
            update(mail_outbox)
            .where(and_(_C.id == row.id, _C.attempts == row.attempts, _C.sent_at.is_(None)))
            .values(attempts=row.attempts + 1, due_at=now + self.policy.lease)
        )
        return _Claimed(row.id, row.attempts + 1, row.payload) if result.rowcount == 1 else None

    def _deliver(self, row: _Claimed) -> int:
        payload = json.loads(row.payload)
        with context.bound(payload.get("request_id")):
            return self._send(row, payload)

    def _send(self, row: _Claimed, payload: dict[str, Any]) -> int:
        try:
            self.mailer.send(from_json(payload))
        except Exception as error:  # any failure is kept on the row and retried
            self._failed(row, f"{type(error).__name__}: {error}")
            return 0
        log.info("mail %d sent", row.id)
        with self.db.begin() as conn:
            conn.execute(
                update(mail_outbox)
                .where(_C.id == row.id)
                .values(sent_at=self.clock.now(), last_error=None)
            )
        return 1

    def _failed(self, row: _Claimed, reason: str) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"last_error": reason[:2000]}
        if row.attempts >= self.policy.attempts:
            values["failed_at"] = now
            log.error("mail %d given up after %d attempts: %s", row.id, row.attempts, reason)
        else:
            values["due_at"] = now + self.policy.delay(row.attempts)
            log.warning("mail %d failed (attempt %d), retrying: %s", row.id, row.attempts, reason)
        with self.db.begin() as conn:
            conn.execute(update(mail_outbox).where(_C.id == row.id).values(**values))
