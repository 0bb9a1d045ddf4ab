"""free tier quotas: the free tier's quota as SWS set it on each project in a free region

Revision ID: f2_free_tier_quotas
Revises: m1_metering_buffer
Create Date: 2026-12-07 04:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "f2_free_tier_quotas"
down_revision = "m1_metering_buffer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_quotas",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("quota", sa.String(length=255), nullable=False),
        sa.Column("set_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "region", name=op.f("pk_community_quotas")),
    )


def downgrade() -> None:
    op.drop_table("community_quotas")
