"""notice marks: each user's "read up to" time for the console's bell, per tenant

Revision ID: n1_notice_marks
Revises: g1_tags
Create Date: 2026-12-07 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "n1_notice_marks"
down_revision = "g1_tags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_marks",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("read_until", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "tenant_id", name=op.f("pk_notice_marks")),
    )


def downgrade() -> None:
    op.drop_table("notice_marks")
