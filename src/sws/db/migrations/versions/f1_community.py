"""community (StackLab) mode: free instances' leases and idle/mining flags

Revision ID: f1_community
Revises: cb8eb46f1405
Create Date: 2026-12-06 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "f1_community"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None

_TIME = sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "community_instances",
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("warned_at", _TIME, nullable=True),
        sa.Column("shelved_at", _TIME, nullable=True),
        sa.Column("deleted_at", _TIME, nullable=True),
        sa.Column("idle_since", _TIME, nullable=True),
        sa.Column("idle_shelved_at", _TIME, nullable=True),
        sa.Column("mining_since", _TIME, nullable=True),
        sa.Column("mining_cpu", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("server_id", name=op.f("pk_community_instances")),
    )
    with op.batch_alter_table("community_instances", schema=None) as batch_op:
        batch_op.create_index("ix_community_instances_project_id", ["project_id"])
        batch_op.create_index("ix_community_instances_expires_at", ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("community_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_community_instances_expires_at")
        batch_op.drop_index("ix_community_instances_project_id")
    op.drop_table("community_instances")
