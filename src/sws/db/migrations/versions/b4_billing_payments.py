"""billing: payments (checkouts), the provider events applied to them, rejected callbacks

Revision ID: b4_billing_payments
Revises: b3_billing_money_exact_on_sqlite
Create Date: 2026-12-06 07:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "b4_billing_payments"
down_revision = "b3_billing_money_exact_on_sqlite"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sws.db.metadata.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "billing_payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payments")),
        sa.UniqueConstraint(
            "account_id", "idempotency_key", name=op.f("uq_billing_payments_account_id")
        ),
        sa.UniqueConstraint("provider", "provider_ref", name=op.f("uq_billing_payments_provider")),
    )
    op.create_index("ix_billing_payments_account", "billing_payments", ["account_id", "created_at"])
    op.create_index("ix_billing_payments_state", "billing_payments", ["state", "created_at"])
    op.create_table(
        "billing_payment_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        _time("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payment_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_billing_payment_events_provider")
        ),
    )
    op.create_index(
        op.f("ix_billing_payment_events_payment_id"), "billing_payment_events", ["payment_id"]
    )
    op.create_table(
        "billing_payment_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _time("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payment_dead_letters")),
    )


def downgrade() -> None:
    op.drop_table("billing_payment_dead_letters")
    op.drop_index(op.f("ix_billing_payment_events_payment_id"), "billing_payment_events")
    op.drop_table("billing_payment_events")
    op.drop_index("ix_billing_payments_state", "billing_payments")
    op.drop_index("ix_billing_payments_account", "billing_payments")
    op.drop_table("billing_payments")
