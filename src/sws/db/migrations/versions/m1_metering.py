"""metering: metrics, raw samples and rollups (time-partitioned on PostgreSQL), alarms

Revision ID: m1_metering
Revises: cb8eb46f1405
Create Date: 2026-11-21 07:32:13.149188

On PostgreSQL the raw and rollup tables are partitioned by range of time; the metering
repository creates their partitions ahead of writes and drops them to enforce retention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "m1_metering"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None

ROLLUPS = ("metering_rollup_1m", "metering_rollup_5m", "metering_rollup_1h", "metering_rollup_1d")


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def _series_tables() -> None:
    op.create_table(
        "metering_raw",
        sa.Column("metric_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", _utc(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("metric_id", "ts", name=op.f("pk_metering_raw")),
        postgresql_partition_by="RANGE (ts)",
    )
    for name in ROLLUPS:
        op.create_table(
            name,
            sa.Column("metric_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("bucket", _utc(), nullable=False),
            sa.Column("min", sa.Float(), nullable=False),
            sa.Column("max", sa.Float(), nullable=False),
            sa.Column("sum", sa.Float(), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.Column("last", sa.Float(), nullable=False),
            sa.Column("last_at", _utc(), nullable=False),
            sa.PrimaryKeyConstraint("metric_id", "bucket", name=op.f(f"pk_{name}")),
            postgresql_partition_by="RANGE (bucket)",
        )


def _metric_tables() -> None:
    op.create_table(
        "metering_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("meter", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metering_metrics")),
        sa.UniqueConstraint("resource_id", "meter", "device", name="uq_metering_metrics_key"),
    )
    op.create_index("ix_metering_metrics_project", "metering_metrics", ["project_id"])
    op.create_table(
        "metering_watermarks",
        sa.Column("resolution", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed_until", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("resolution", name=op.f("pk_metering_watermarks")),
    )
    op.create_table(
        "metering_cursors",
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("meter", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("read_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "meter", "device", name=op.f("pk_metering_cursors")),
    )


def _alarm_tables() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("repeat_actions", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("state_changed_at", _utc(), nullable=False),
        sa.Column("evaluated_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("project_id", "name", name="uq_alarms_project_name"),
    )
    op.create_index(op.f("ix_alarms_project_id"), "alarms", ["project_id"])
    op.create_table(
        "alarm_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("previous", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_history")),
    )
    op.create_index("ix_alarm_history_alarm_at", "alarm_history", ["alarm_id", "at"])
    op.create_table(
        "alarm_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_deliveries")),
    )
    op.create_index("ix_alarm_deliveries_due", "alarm_deliveries", ["status", "next_attempt_at"])


def upgrade() -> None:
    _series_tables()
    _metric_tables()
    _alarm_tables()


def downgrade() -> None:
    for name in (
        "alarm_deliveries", "alarm_history", "alarms", "metering_cursors",
        "metering_watermarks", "metering_metrics", "metering_raw", *ROLLUPS,
    ):
        op.drop_table(name)
