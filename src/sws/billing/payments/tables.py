"""Payment tables: checkouts, events, dead letters, refunds, bank references, auto-recharge."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from sws.db.metadata import UTCDateTime, metadata, money_column_type

ID = 64
KEY = 255

#: One row per checkout; its credit is the ledger entry keyed `payment:<provider>:<id>`.
billing_payments = Table(
    "billing_payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", money_column_type(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("provider_ref", String(KEY), nullable=True),
    Column("redirect_url", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("account_id", "idempotency_key"),
    UniqueConstraint("provider", "provider_ref"),
    Index("ix_billing_payments_account", "account_id", "created_at"),
    Index("ix_billing_payments_state", "state", "created_at"),
)

#: Every provider event applied, once: a replay finds its row here and changes nothing.
billing_payment_events = Table(
    "billing_payment_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("event_id", String(KEY), nullable=False),
    Column("payment_id", String(ID), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("provider", "event_id"),
)

#: Callbacks refused (bad signature, stale, wrong amount, unknown payment), with the reason.
billing_payment_dead_letters = Table(
    "billing_payment_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("payment_id", String(ID), nullable=True),
    Column("reason", String(KEY), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

#: Refunds of succeeded payments: never more in all than was paid. The ledger debit is keyed
#: `refund:<id>` and written with the move to `succeeded`.
billing_refunds = Table(
    "billing_refunds",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("payment_id", String(ID), nullable=False, index=True),
    Column("account_id", String(ID), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", money_column_type(), nullable=False),
    Column("state", String(16), nullable=False),  # pending | succeeded | failed
    Column("reason", String(KEY), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("provider_ref", String(KEY), nullable=True),
    Column("error", String(KEY), nullable=True),
    Column("actor", String(KEY), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("payment_id", "idempotency_key"),
)

#: The reference code a tenant writes on a bank transfer, so the operator can match it.
billing_bank_references = Table(
    "billing_bank_references",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: A tenant's auto-recharge: below `threshold`, charge `amount` on the saved method, at most
#: once per crossing (`armed` is cleared by the charge, set again above the threshold) and
#: within `monthly_cap`.
billing_auto_recharge = Table(
    "billing_auto_recharge",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("threshold", money_column_type(), nullable=False),
    Column("amount", money_column_type(), nullable=False),
    Column("monthly_cap", money_column_type(), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("method_ref", String(KEY), nullable=False),
    Column("customer_ref", String(KEY), nullable=True),
    Column("armed", Boolean, nullable=False),
    Column("crossings", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
