"""cdn: a distribution's allowed methods, and why SWS disabled it (its origin was deleted)

Revision ID: d4_cdn_methods_disabled
Revises: d3_cdn_signing_tls
Create Date: 2026-12-06 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d4_cdn_methods_disabled"
down_revision = "d3_cdn_signing_tls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cdn_distributions") as batch:
        batch.add_column(
            sa.Column(
                "allowed_methods", sa.String(length=64), nullable=False, server_default="GET,HEAD"
            )
        )
        batch.add_column(sa.Column("disabled_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdn_distributions") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("allowed_methods")
