"""metering buffer: SQLite appends new points here, moved into metering_raw once a minute

Revision ID: m1_metering_buffer
Revises: n1_notice_marks
Create Date: 2026-12-07 00:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "m1_metering_buffer"
down_revision = "n1_notice_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metering_buffer",
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("ts", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # points still waiting go to metering_raw first
        op.execute(
            "INSERT INTO metering_raw (metric_id, ts, value) SELECT metric_id, ts, value "
            "FROM metering_buffer WHERE true ORDER BY metric_id, ts, rowid ON CONFLICT DO NOTHING"
        )
    op.drop_table("metering_buffer")
