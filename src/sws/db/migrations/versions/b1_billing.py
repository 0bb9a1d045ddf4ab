"""billing: catalog, accounts, coupons, ledger, subscriptions, charges, bills, audit

Revision ID: b1_billing
Revises: cb8eb46f1405
Create Date: 2026-11-21 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "b1_billing"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("payment_mode", sa.String(length=16), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("low_balance_threshold", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("balance", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grace_until", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_closed_month", sa.String(length=7), nullable=True),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_accounts")),
    )
    op.create_table(
        "billing_adjustments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("item_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("bill_month", sa.String(length=7), nullable=False),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_adjustments")),
        sa.UniqueConstraint(
            "subscription_id",
            "period_start",
            "seq",
            name=op.f("uq_billing_adjustments_subscription_id"),
        ),
    )
    with op.batch_alter_table("billing_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_adjustments_account_month", ["account_id", "bill_month"], unique=False
        )

    op.create_table(
        "billing_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_audit")),
    )
    with op.batch_alter_table("billing_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_audit_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "billing_bill_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("item_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("start", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("total", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_bill_lines")),
        sa.UniqueConstraint(
            "account_id", "month", "position", name=op.f("uq_billing_bill_lines_account_id")
        ),
    )
    op.create_table(
        "billing_charges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("item_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("bill_month", sa.String(length=7), nullable=False),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_charges")),
        sa.UniqueConstraint(
            "subscription_id", "period_start", name=op.f("uq_billing_charges_subscription_id")
        ),
    )
    with op.batch_alter_table("billing_charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_charges_account_month", ["account_id", "bill_month"], unique=False
        )

    op.create_table(
        "billing_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_billing_cursors")),
    )
    op.create_table(
        "billing_products",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("item_type", sa.String(length=64), nullable=False),
        sa.Column("payment_type", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("monthly_cap", sa.Numeric(precision=24, scale=6), nullable=True),
        sa.Column("valid_from", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_products")),
    )
    with op.batch_alter_table("billing_products", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_products_key", ["region", "item", "item_type", "currency"], unique=False
        )

    op.create_table(
        "billing_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_billing_settings")),
    )
    op.create_table(
        "billing_suspensions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.String(length=255), nullable=False),
        sa.Column("stopped_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_suspensions")),
    )
    with op.batch_alter_table("billing_suspensions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_suspensions_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "billing_bills",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("instance", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("bandwidth", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("floating_ip", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("load_balancer", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("object_storage", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("closed_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_billing_bills_account_id_billing_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "month", name=op.f("pk_billing_bills")),
    )
    op.create_table(
        "billing_coupons",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("remaining", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("items", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_billing_coupons_account_id_billing_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_coupons")),
    )
    with op.batch_alter_table("billing_coupons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_coupons_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("spans", sa.Text(), nullable=False),
        sa.Column("events_count", sa.Integer(), nullable=False),
        sa.Column("cursor", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("cap_key", sa.String(length=255), nullable=True),
        sa.Column("cap_spent", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("updated_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_billing_subscriptions_account_id_billing_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscriptions")),
        sa.UniqueConstraint(
            "resource_type", "resource_id", name=op.f("uq_billing_subscriptions_resource_type")
        ),
    )
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_subscriptions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_subscriptions_due_at"), ["due_at"], unique=False
        )

    op.create_table(
        "billing_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("coupon_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("memo", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_billing_ledger_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["billing_coupons.id"],
            name=op.f("fk_billing_ledger_coupon_id_billing_coupons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_ledger")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_billing_ledger_idempotency_key")),
    )
    with op.batch_alter_table("billing_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_ledger_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_ledger_coupon_id"), ["coupon_id"], unique=False
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("billing_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_ledger_coupon_id"))
        batch_op.drop_index(batch_op.f("ix_billing_ledger_account_id"))

    op.drop_table("billing_ledger")
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_subscriptions_due_at"))
        batch_op.drop_index(batch_op.f("ix_billing_subscriptions_account_id"))

    op.drop_table("billing_subscriptions")
    with op.batch_alter_table("billing_coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_coupons_account_id"))

    op.drop_table("billing_coupons")
    op.drop_table("billing_bills")
    with op.batch_alter_table("billing_suspensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_suspensions_account_id"))

    op.drop_table("billing_suspensions")
    op.drop_table("billing_settings")
    with op.batch_alter_table("billing_products", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_products_key")

    op.drop_table("billing_products")
    op.drop_table("billing_cursors")
    with op.batch_alter_table("billing_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_charges_account_month")

    op.drop_table("billing_charges")
    op.drop_table("billing_bill_lines")
    with op.batch_alter_table("billing_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_audit_account_id"))

    op.drop_table("billing_audit")
    with op.batch_alter_table("billing_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_adjustments_account_month")

    op.drop_table("billing_adjustments")
    op.drop_table("billing_accounts")
    # ### end Alembic commands ###
