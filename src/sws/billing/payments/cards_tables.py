"""Saved-card tables: each tenant's customer at a provider, the card setups it started, and the
card it saved (display details only: brand, last 4 digits, expiry; never a card number)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from sws.db.metadata import UTCDateTime, metadata

ID = 64
KEY = 255

#: The tenant's customer at a provider (Stripe's `cus_…`), created once and reused.
billing_payment_customers = Table(
    "billing_payment_customers",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("provider", String(32), primary_key=True),
    Column("customer_ref", String(KEY), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: A "save a card" the tenant started (Stripe: a Checkout Session in setup mode); `saved` once
#: the provider's event was applied, so a replay of it changes nothing.
billing_card_setups = Table(
    "billing_card_setups",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("customer_ref", String(KEY), nullable=False),
    Column("session_ref", String(KEY), nullable=True),
    Column("redirect_url", String(2048), nullable=True),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_billing_card_setups_account", "account_id", "created_at"),
)

#: The tenant's saved card, which auto-recharge charges.
billing_saved_cards = Table(
    "billing_saved_cards",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("customer_ref", String(KEY), nullable=False),
    Column("method_ref", String(KEY), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("exp_month", Integer, nullable=False),
    Column("exp_year", Integer, nullable=False),
    Column("setup_id", String(ID), nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
)
