"""load balancers: outbound bytes per LB per hour (billing's bandwidth item)

Revision ID: l2_lb_traffic
Revises: l1_loadbalancer
Create Date: 2026-11-21 08:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "l2_lb_traffic"
down_revision = "l1_loadbalancer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lb_traffic",
        sa.Column("lb_id", sa.String(length=64), nullable=False),
        sa.Column("hour_start", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("lb_id", "hour_start", name=op.f("pk_lb_traffic")),
    )
    with op.batch_alter_table("lb_traffic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lb_traffic_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lb_traffic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lb_traffic_project_id"))
    op.drop_table("lb_traffic")
