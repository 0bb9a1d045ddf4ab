"""metering: index the series tables by time, so sealing and retention read only their range

Revision ID: m2_metering_time_index
Revises: m1_metering
Create Date: 2026-11-23 09:00:00.000000

Sealing reads one time range of all metrics (raw for the 1-minute rollup, each rollup for the
next coarser one) and retention deletes everything before a horizon. The primary keys lead with
the metric, so without these indexes both read the whole table (SQLite) or the whole partition
(PostgreSQL). On PostgreSQL they are BRIN: rows arrive in time order, so a block range summary
is tiny and nearly free to maintain; elsewhere B-tree.
"""

from __future__ import annotations

from alembic import op

revision = "m2_metering_time_index"
down_revision = "m1_metering"
branch_labels = None
depends_on = None

ROLLUPS = ("metering_rollup_1m", "metering_rollup_5m", "metering_rollup_1h", "metering_rollup_1d")


def upgrade() -> None:
    op.create_index("ix_metering_raw_ts", "metering_raw", ["ts"], postgresql_using="brin")
    for name in ROLLUPS:
        op.create_index(f"ix_{name}_bucket", name, ["bucket"], postgresql_using="brin")


def downgrade() -> None:
    for name in ROLLUPS:
        op.drop_index(f"ix_{name}_bucket", table_name=name)
    op.drop_index("ix_metering_raw_ts", table_name="metering_raw")
