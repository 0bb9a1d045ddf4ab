"""cdn: traffic per distribution, ISP view and hour; how far each edge's log was counted

Revision ID: d2_cdn_traffic
Revises: d1_cdn
Create Date: 2026-12-06 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "d2_cdn_traffic"
down_revision = "d1_cdn"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cdn_traffic",
        sa.Column("distribution_id", sa.String(length=64), nullable=False),
        sa.Column("hour_start", _utc(), nullable=False),
        sa.Column("isp", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("hit_requests", sa.BigInteger(), nullable=False),
        sa.Column("miss_requests", sa.BigInteger(), nullable=False),
        sa.Column("hit_bytes", sa.BigInteger(), nullable=False),
        sa.Column("miss_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("distribution_id", "hour_start", "isp",
                                name=op.f("pk_cdn_traffic")),
    )
    with op.batch_alter_table("cdn_traffic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cdn_traffic_project_id"), ["project_id"],
                              unique=False)
    op.create_table(
        "cdn_traffic_streams",
        sa.Column("edge", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("counted_to", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("edge", "stream", name=op.f("pk_cdn_traffic_streams")),
    )


def downgrade() -> None:
    op.drop_table("cdn_traffic_streams")
    with op.batch_alter_table("cdn_traffic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cdn_traffic_project_id"))
    op.drop_table("cdn_traffic")
