"""The simulated region's volumes and volume snapshots in SQLAlchemy Core tables (`sim_` prefix)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from sws.db.metadata import UTCDateTime, metadata

ID = 36

sim_volumes = Table(
    "sim_volumes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size_gb", Integer, nullable=False),
    Column("volume_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("host", String(255), nullable=False),
    Column("server_id", String(ID), nullable=True, index=True),
    Column("device", String(32), nullable=True),
    Column("snapshot_id", String(ID), nullable=True),
    # JSON list of 4 MiB chunk numbers written since `last_snapshot_id`; NULL: unknown.
    Column("dirty_chunks", Text, nullable=True),
    Column("last_snapshot_id", String(ID), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_sim_volumes_region_project", "region", "project_id"),
)

sim_volume_snapshots = Table(
    "sim_volume_snapshots",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("volume_id", String(ID), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size_gb", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("stored_bytes", BigInteger, nullable=True),
    Column("content_sha256", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sim_volume_snapshots_region_project", "region", "project_id"),
    Index("ix_sim_volume_snapshots_region_volume", "region", "volume_id"),
)
