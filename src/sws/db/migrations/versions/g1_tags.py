"""tags: a tenant's key or key=value labels on its resources

Revision ID: g1_tags
Revises: b7_billing_volumes
Create Date: 2026-12-07 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "g1_tags"
down_revision = "b7_billing_volumes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resource_tags",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "region", "kind", "resource_id", "key",
                                name=op.f("pk_resource_tags")),
    )
    op.create_index("ix_resource_tags_filter", "resource_tags",
                    ["tenant_id", "region", "kind", "key", "value"])


def downgrade() -> None:
    op.drop_index("ix_resource_tags_filter", table_name="resource_tags")
    op.drop_table("resource_tags")
