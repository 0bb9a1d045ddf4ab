"""The audit table: one append-only row per admin action."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from sws.db.metadata import UTCDateTime, metadata

ID = 64
WORD = 32

#: Every admin action, in order; rows are inserted and never updated or deleted.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UTCDateTime(), nullable=False, index=True),
    Column("actor_user_id", String(ID), nullable=False),
    Column("actor_name", String(ID), nullable=False),
    Column("action", String(ID), nullable=False, index=True),
    Column("target_type", String(WORD), nullable=False),
    Column("target_id", String(255), nullable=False),
    Column("detail", Text, nullable=False),
    Column("outcome", String(WORD), nullable=False),
    Column("source", String(WORD), nullable=False),
    Column("remote_addr", String(ID), nullable=True),
)
