"""billing: the volume and volume snapshot categories on closed bills (GB-hours, GB-months)

Revision ID: b7_billing_volumes
Revises: b6_billing_cdn
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7_billing_volumes"
down_revision = "b6_billing_cdn"
branch_labels = None
depends_on = None

COLUMNS = ("volume", "volume_snapshot")


def upgrade() -> None:
    # Bills closed before volumes were billed had no volume charges: 0 (0 micro-units on SQLite).
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(
                sa.Column(name, sa.Numeric(precision=24, scale=6), nullable=False,
                          server_default="0")
            )
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
