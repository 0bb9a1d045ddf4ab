"""Persistence of audit entries (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from sws.audit.model import AuditEntry, AuditRecord
from sws.audit.tables import audit_log


def insert_entry(conn: Connection, record: AuditRecord, occurred_at: datetime) -> int:
    values = {
        "occurred_at": occurred_at, "actor_user_id": record.actor_user_id,
        "actor_name": record.actor_name, "action": record.action,
        "target_type": record.target_type, "target_id": record.target_id,
        "detail": record.detail, "outcome": record.outcome, "source": record.source,
        "remote_addr": record.remote_addr,
    }
    result = conn.execute(insert(audit_log).values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _where(query: Select[Any], action: str | None, actor: str | None) -> Select[Any]:
    if action:
        query = query.where(audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor_name == actor)
    return query


def list_entries(
    conn: Connection, *, limit: int, offset: int, action: str | None, actor: str | None,
    before: int | None = None, target_id: str | None = None,
) -> list[AuditEntry]:
    query = _where(select(audit_log), action, actor)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    if target_id:
        query = query.where(audit_log.c.target_id == target_id)
    query = query.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    return [AuditEntry(**row._asdict()) for row in conn.execute(query)]


def count_entries(conn: Connection, *, action: str | None, actor: str | None) -> int:
    query = _where(select(func.count()).select_from(audit_log), action, actor)
    return int(conn.execute(query).scalar_one())
