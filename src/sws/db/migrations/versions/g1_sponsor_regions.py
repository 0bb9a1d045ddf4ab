"""sponsor regions: a region added at run time, or a configured one the admin edited

Revision ID: g1_sponsor_regions
Revises: cb8eb46f1405
Create Date: 2026-12-06 16:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "g1_sponsor_regions"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None

_TIME = sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sponsor_regions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sponsor_name", sa.String(length=100), nullable=True),
        sa.Column("logo_text", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=False),
        sa.Column("driver", sa.String(length=16), nullable=False),
        sa.Column("cloud", sa.String(length=64), nullable=True),
        sa.Column("catalog_region", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sponsor_regions")),
    )


def downgrade() -> None:
    op.drop_table("sponsor_regions")
