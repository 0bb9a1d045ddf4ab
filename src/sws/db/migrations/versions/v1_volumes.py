"""volumes: the simulated region's volumes and snapshots, snapshot schedules

Revision ID: v1_volumes
Revises: r1_sim_quotas
Create Date: 2026-12-06 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "v1_volumes"
down_revision = "r1_sim_quotas"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sim_volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("volume_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=True),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("dirty_chunks", sa.Text(), nullable=True),
        sa.Column("last_snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_volumes")),
    )
    op.create_index("ix_sim_volumes_region_project", "sim_volumes", ["region", "project_id"])
    op.create_index(op.f("ix_sim_volumes_server_id"), "sim_volumes", ["server_id"])
    op.create_table(
        "sim_volume_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_volume_snapshots")),
    )
    op.create_index("ix_sim_volume_snapshots_region_project", "sim_volume_snapshots",
                    ["region", "project_id"])
    op.create_index("ix_sim_volume_snapshots_region_volume", "sim_volume_snapshots",
                    ["region", "volume_id"])
    op.create_table(
        "volume_schedules",
        sa.Column("volume_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("daily_keep", sa.Integer(), nullable=False),
        sa.Column("weekly_keep", sa.Integer(), nullable=False),
        sa.Column("last_run_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("volume_id", name=op.f("pk_volume_schedules")),
    )
    op.create_index("ix_volume_schedules_tenant", "volume_schedules", ["tenant_id"])
    op.create_table(
        "volume_scheduled_snapshots",
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("volume_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("taken_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_volume_scheduled_snapshots")),
    )
    op.create_index(op.f("ix_volume_scheduled_snapshots_volume_id"),
                    "volume_scheduled_snapshots", ["volume_id"])


def downgrade() -> None:
    op.drop_table("volume_scheduled_snapshots")
    op.drop_table("volume_schedules")
    op.drop_table("sim_volume_snapshots")
    op.drop_table("sim_volumes")
