"""Metering tables: metrics, raw samples, rollups per resolution, watermarks, alarms."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata

metering_metrics = Table(
    "metering_metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("meter", String(64), nullable=False),
    Column("device", String(64), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("resource_id", "meter", "device", name="uq_metering_metrics_key"),
    Index("ix_metering_metrics_project", "project_id"),
)

metering_raw = Table(
    "metering_raw",
    metadata,
    Column("metric_id", Integer, primary_key=True, autoincrement=False),
    Column("ts", UTCDateTime(), primary_key=True),
    Column("value", Float, nullable=False),
    # Sealing and retention read by time across metrics (BRIN: rows arrive in time order).
    Index("ix_metering_raw_ts", "ts", postgresql_using="brin"),
    postgresql_partition_by="RANGE (ts)",
)


# SQLite only: the points of the last minute or so, appended in arrival order (no index, so an
# INSERT is an append); moved into metering_raw in key order once a minute, and before reads.
metering_buffer = Table(
    "metering_buffer",
    metadata,
    Column("metric_id", Integer, nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("value", Float, nullable=False),
)

def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("metric_id", Integer, primary_key=True, autoincrement=False),
        Column("bucket", UTCDateTime(), primary_key=True),
        Column("min", Float, nullable=False),
        Column("max", Float, nullable=False),
        Column("sum", Float, nullable=False),
        Column("count", Integer, nullable=False),
        Column("last", Float, nullable=False),
        Column("last_at", UTCDateTime(), nullable=False),
        Index(f"ix_{name}_bucket", "bucket", postgresql_using="brin"),
        postgresql_partition_by="RANGE (bucket)",
    )


ROLLUPS: dict[int, Table] = {
    60: _rollup("metering_rollup_1m"),
    300: _rollup("metering_rollup_5m"),
    3600: _rollup("metering_rollup_1h"),
    86400: _rollup("metering_rollup_1d"),
}

# Per resolution: every window that ends at or before `sealed_until` is in its rollup table.
metering_watermarks = Table(
    "metering_watermarks",
    metadata,
    Column("resolution", Integer, primary_key=True, autoincrement=False),
    Column("sealed_until", UTCDateTime(), nullable=False),
)

# Counter readings last seen, so a collector restart does not lose an interval.
metering_cursors = Table(
    "metering_cursors",
    metadata,
    Column("resource_id", String(64), primary_key=True),
    Column("meter", String(64), primary_key=True),
    Column("device", String(64), primary_key=True),
    Column("value", Float, nullable=False),
    Column("read_at", UTCDateTime(), nullable=False),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("description", String(255), nullable=False),
    Column("rule", Text, nullable=False),  # JSON: a threshold rule or an and/or composite
    Column("actions", Text, nullable=False),  # JSON: {state: [action, ...]}
    Column("repeat_actions", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("state", String(32), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("state_changed_at", UTCDateTime(), nullable=False),
    Column("evaluated_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("project_id", "name", name="uq_alarms_project_name"),
)

alarm_history = Table(
    "alarm_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alarm_id", String(36), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("previous", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_alarm_history_alarm_at", "alarm_id", "at"),
)

# Notifications waiting to go out; retried with backoff on the injected clock.
alarm_deliveries = Table(
    "alarm_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("alarm_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),  # webhook | email
    Column("target", Text, nullable=False),  # JSON: the action
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_alarm_deliveries_due", "status", "next_attempt_at"),
)
