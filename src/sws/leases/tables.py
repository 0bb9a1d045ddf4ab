"""The leader-lease table: one row per once-only role."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from sws.db.metadata import UTCDateTime, metadata

#: Who leads each role until when, and the epoch of that term (it only grows).
leader_leases = Table(
    "leader_leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("renewed_at", UTCDateTime(), nullable=False),
)
