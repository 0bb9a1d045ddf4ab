"""billing: the CDN category on closed bills (CDN egress, rated per GB and ISP view)

Revision ID: b6_billing_cdn
Revises: b5_billing_documents_refunds
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b6_billing_cdn"
down_revision = "b5_billing_documents_refunds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Bills closed before the CDN existed had no CDN charges: 0 (0 micro-units on SQLite too).
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cdn", sa.Numeric(precision=24, scale=6), nullable=False,
                      server_default="0")
        )
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        batch_op.alter_column("cdn", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("billing_bills", schema=None) as batch_op:
        batch_op.drop_column("cdn")
