"""Quota request tables: one row per request, with the quota before and the quota asked for."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from sws.db.metadata import UTCDateTime, metadata
from sws.quotas.model import RESOURCES


def _limits(prefix: str) -> list[Column[int]]:
    return [Column(f"{prefix}_{name}", Integer, nullable=False) for name in RESOURCES]


quota_requests = Table(
    "quota_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("region", String(64), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("size", String(16), nullable=True),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("note", Text, nullable=False),
    *_limits("current"),
    *_limits("wanted"),
)
