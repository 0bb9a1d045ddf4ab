"""The volume snapshot schedules and the snapshots they took, in SQLAlchemy Core tables."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from sws.db.metadata import UTCDateTime, metadata

volume_schedules = Table(
    "volume_schedules",
    metadata,
    Column("volume_id", String(64), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("daily_keep", Integer, nullable=False),
    Column("weekly_keep", Integer, nullable=False),
    Column("last_run_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_volume_schedules_tenant", "tenant_id"),
)

# Each snapshot a schedule took: retention deletes only these, never one taken on demand.
volume_scheduled_snapshots = Table(
    "volume_scheduled_snapshots",
    metadata,
    Column("snapshot_id", String(64), primary_key=True),
    Column("volume_id", String(64), nullable=False, index=True),
    Column("region", String(64), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("taken_at", UTCDateTime(), nullable=False),
)
