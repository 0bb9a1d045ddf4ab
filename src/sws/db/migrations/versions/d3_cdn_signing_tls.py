"""cdn: signed-URL keys per distribution, tenants' certificates for custom domains

Revision ID: d3_cdn_signing_tls
Revises: d1_cdn
Create Date: 2026-12-06 13:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "d3_cdn_signing_tls"
down_revision = "d1_cdn"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cdn_signing",
        sa.Column("distribution_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("current_key", sa.String(length=64), nullable=False),
        sa.Column("previous_key", sa.String(length=64), nullable=True),
        sa.Column("rotated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["distribution_id"], ["cdn_distributions.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("distribution_id"),
    )
    op.create_table(
        "cdn_certificates",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("distribution_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_after", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["distribution_id"], ["cdn_distributions.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_index("ix_cdn_certificates_distribution_id", "cdn_certificates",
                    ["distribution_id"])


def downgrade() -> None:
    op.drop_index("ix_cdn_certificates_distribution_id", table_name="cdn_certificates")
    op.drop_table("cdn_certificates")
    op.drop_table("cdn_signing")
