"""billing: documents (receipts, invoices, credit notes) with gapless counters, refunds, bank
transfer references, auto-recharge settings

Revision ID: b5_billing_documents_refunds
Revises: b4_billing_payments
Create Date: 2026-12-06 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "b5_billing_documents_refunds"
down_revision = "b4_billing_payments"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sws.db.metadata.UTCDateTime(timezone=True), nullable=nullable)


def _money(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(precision=24, scale=6), nullable=False)


def upgrade() -> None:
    op.create_table(
        "billing_document_counters",
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "series", name=op.f("pk_billing_document_counters")),
    )
    op.create_table(
        "billing_documents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("total"),
        _money("tax"),
        _money("tax_rate"),
        sa.Column("body", sa.Text(), nullable=False),
        _time("issued_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_documents")),
        sa.UniqueConstraint("source_key", name=op.f("uq_billing_documents_source_key")),
        sa.UniqueConstraint("issuer", "kind", "number", name=op.f("uq_billing_documents_issuer")),
    )
    op.create_index(
        "ix_billing_documents_account", "billing_documents", ["account_id", "issued_at"]
    )
    op.create_table(
        "billing_refunds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("amount"),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_refunds")),
        sa.UniqueConstraint(
            "payment_id", "idempotency_key", name=op.f("uq_billing_refunds_payment_id")
        ),
    )
    op.create_index(op.f("ix_billing_refunds_payment_id"), "billing_refunds", ["payment_id"])
    op.create_table(
        "billing_bank_references",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_bank_references")),
        sa.UniqueConstraint("code", name=op.f("uq_billing_bank_references_code")),
    )
    op.create_table(
        "billing_auto_recharge",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("threshold"),
        _money("amount"),
        _money("monthly_cap"),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=True),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_auto_recharge")),
    )


def downgrade() -> None:
    op.drop_table("billing_auto_recharge")
    op.drop_table("billing_bank_references")
    op.drop_index(op.f("ix_billing_refunds_payment_id"), "billing_refunds")
    op.drop_table("billing_refunds")
    op.drop_index("ix_billing_documents_account", "billing_documents")
    op.drop_table("billing_documents")
    op.drop_table("billing_document_counters")
