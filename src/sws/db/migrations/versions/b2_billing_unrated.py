"""billing: unrated usage, per-account enforcement, how far unpriced time was looked for

Revision ID: b2_billing_unrated
Revises: b1_billing
Create Date: 2026-12-06 06:40:00

Accounts that existed before this revision keep enforcement on (`enforce`), as they had it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "b2_billing_unrated"
down_revision = "b1_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_unrated",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("item_type", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_unrated")),
        sa.UniqueConstraint(
            "subscription_id", "period_start", name=op.f("uq_billing_unrated_subscription_id")
        ),
    )
    with op.batch_alter_table("billing_unrated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_unrated_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_billing_unrated_status", ["status", "account_id"], unique=False)
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "enforcement", sa.String(length=16), server_default="enforce", nullable=False
            )
        )
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unrated_until", sws.db.metadata.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("unrated_until")
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_column("enforcement")
    with op.batch_alter_table("billing_unrated", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_unrated_status")
        batch_op.drop_index(batch_op.f("ix_billing_unrated_account_id"))
    op.drop_table("billing_unrated")
