"""billing: saved cards for auto-recharge (the tenant's customer at a provider, card setups,
the saved card's display details)

Revision ID: b6_billing_saved_cards
Revises: b5_billing_documents_refunds
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "b6_billing_saved_cards"
down_revision = "b5_billing_documents_refunds"
branch_labels = None
depends_on = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sws.db.metadata.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "billing_payment_customers",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", "provider",
                                name=op.f("pk_billing_payment_customers")),
    )
    op.create_table(
        "billing_card_setups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        sa.Column("session_ref", sa.String(length=255), nullable=True),
        sa.Column("redirect_url", sa.String(length=2048), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_card_setups")),
    )
    op.create_index("ix_billing_card_setups_account", "billing_card_setups",
                    ["account_id", "created_at"])
    op.create_table(
        "billing_saved_cards",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.String(length=64), nullable=False),
        _time("saved_at"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_saved_cards")),
    )


def downgrade() -> None:
    op.drop_table("billing_saved_cards")
    op.drop_index("ix_billing_card_setups_account", table_name="billing_card_setups")
    op.drop_table("billing_card_setups")
    op.drop_table("billing_payment_customers")
