"""Audit use cases: record an admin action, list and count the log."""

from __future__ import annotations

from sws.audit import repository as repo
from sws.audit.model import AuditEntry, AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Invalid

MAX_PAGE = 1000


def record(*, db: Database, clock: Clock, entry: AuditRecord) -> int:
    """Append one entry in its own transaction; returns its id."""
    checked = check_record(entry)
    with db.begin() as conn:
        return repo.insert_entry(conn, checked, clock.now())


def list_entries(
    *, db: Database, limit: int = 100, offset: int = 0,
    action: str | None = None, actor: str | None = None, before: int | None = None,
    target_id: str | None = None,
) -> list[AuditEntry]:
    """Newest first, optionally only one action, one actor's or one target's; `before` (an
    entry id, the API's marker) starts the page after that entry."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise Invalid(f"limit must be 1-{MAX_PAGE} and offset zero or more", field="limit")
    with db.read() as conn:
        return repo.list_entries(
            conn, limit=limit, offset=offset, action=action, actor=actor, before=before,
            target_id=target_id,
        )


def count_entries(*, db: Database, action: str | None = None, actor: str | None = None) -> int:
    with db.read() as conn:
        return repo.count_entries(conn, action=action, actor=actor)
