"""Billing tables: catalog, accounts, coupons, ledger, subscriptions, charges, bills, audit."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata, money_column_type

ID = 64
KEY = 255
WORD = 32


def _money(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, money_column_type(), nullable=nullable)


billing_products = Table(
    "billing_products",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("item", String(WORD), nullable=False),
    Column("item_type", String(64), nullable=False),
    Column("payment_type", String(WORD), nullable=False),
    Column("currency", String(3), nullable=False),
    _money("price"),
    _money("monthly_cap", nullable=True),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_billing_products_key", "region", "item", "item_type", "currency"),
)

#: Operator settings kept with the catalog: per-item stopped policy, grace, close delay.
billing_settings = Table(
    "billing_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(KEY), nullable=False),
)

billing_accounts = Table(
    "billing_accounts",
    metadata,
    Column("id", String(ID), primary_key=True),  # the tenant (project) id
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("payment_mode", String(16), nullable=False),
    _money("credit_limit"),
    _money("low_balance_threshold"),
    _money("balance"),  # cash: equal to the sum of the account's cash journal entries
    Column("status", String(16), nullable=False),
    Column("grace_until", UTCDateTime(), nullable=True),
    Column("last_closed_month", String(7), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # enforce: suspended after the grace period; observe: bills accrue, nothing is stopped
    Column("enforcement", String(16), nullable=False, server_default="enforce"),
)

billing_coupons = Table(
    "billing_coupons",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("billing_accounts.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    _money("amount"),
    _money("remaining"),  # equal to the sum of the coupon's journal entries
    Column("items", String(KEY), nullable=False),  # comma-separated; empty: every item
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: The append-only journal: top-up, coupon grant, charge, refund, adjustment, rounding.
billing_ledger = Table(
    "billing_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), ForeignKey("billing_accounts.id"), nullable=False, index=True),
    Column("idempotency_key", String(KEY), nullable=False, unique=True),
    Column("kind", String(WORD), nullable=False),
    Column("coupon_id", String(ID), ForeignKey("billing_coupons.id"), nullable=True, index=True),
    _money("amount"),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("memo", String(KEY), nullable=False),
)

billing_subscriptions = Table(
    "billing_subscriptions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("billing_accounts.id"), nullable=False, index=True),
    Column("item", String(WORD), nullable=False),
    Column("resource_type", String(WORD), nullable=False),
    Column("resource_id", String(KEY), nullable=False),
    Column("resource_name", String(KEY), nullable=False),
    Column("region", String(64), nullable=False),
    Column("spans", Text, nullable=False),  # JSON, derived from the resource's events
    Column("events_count", Integer, nullable=False),
    Column("cursor", UTCDateTime(), nullable=True),  # charging has reached here
    Column("due_at", UTCDateTime(), nullable=True, index=True),  # None: nothing more is due
    Column("dirty", Boolean, nullable=False),  # spans changed behind the cursor: re-rate
    Column("cap_key", String(KEY), nullable=True),
    _money("cap_spent"),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("unrated_until", UTCDateTime(), nullable=True),  # unpriced time looked for up to here
    UniqueConstraint("resource_type", "resource_id"),
)


def _charge_columns() -> list[Column[object]]:
    return [
        Column("account_id", String(ID), nullable=False),
        Column("product_id", String(ID), nullable=False),
        Column("item", String(WORD), nullable=False),
        Column("item_type", String(64), nullable=False),
        Column("resource_id", String(KEY), nullable=False),
        Column("resource_name", String(KEY), nullable=False),
        Column("unit", String(WORD), nullable=False),
        _money("unit_price"),
        _money("quantity"),
        _money("amount"),
        Column("bill_month", String(7), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    ]


#: One charge per (subscription, period_start), enforced here: never twice, whoever farms.
billing_charges = Table(
    "billing_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(ID), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    *_charge_columns(),
    UniqueConstraint("subscription_id", "period_start"),
    Index("ix_billing_charges_account_month", "account_id", "bill_month"),
)

#: Corrections of charged periods after late events; each period's `seq` counts up from 0.
billing_adjustments = Table(
    "billing_adjustments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(ID), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("seq", Integer, nullable=False),
    *_charge_columns(),
    UniqueConstraint("subscription_id", "period_start", "seq"),
    Index("ix_billing_adjustments_account_month", "account_id", "bill_month"),
)

billing_bills = Table(
    "billing_bills",
    metadata,
    Column("account_id", String(ID), ForeignKey("billing_accounts.id"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("currency", String(3), nullable=False),
    _money("total"),
    _money("instance"),
    _money("bandwidth"),
    _money("cdn"),
    _money("floating_ip"),
    _money("load_balancer"),
    _money("object_storage"),
    _money("volume"),
    _money("volume_snapshot"),
    Column("closed_at", UTCDateTime(), nullable=False),
)

billing_bill_lines = Table(
    "billing_bill_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False),
    Column("month", String(7), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(WORD), nullable=False),
    Column("type", String(WORD), nullable=False),
    Column("item_type", String(64), nullable=False),
    Column("resource_id", String(KEY), nullable=False),
    Column("resource_name", String(KEY), nullable=False),
    _money("unit_price"),
    Column("unit", String(WORD), nullable=False),
    Column("start", UTCDateTime(), nullable=False),
    Column("end", UTCDateTime(), nullable=False),
    _money("quantity"),
    _money("total"),
    UniqueConstraint("account_id", "month", "position"),
)

#: Positions of the farmer's feeds: the events journal, each usage source.
billing_cursors = Table(
    "billing_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=True),
)

#: Billable time (or metered usage) that no price covered: kept, never silently free, until a
#: price that covers it is loaded (`rated`, with the charge) or the operator waives it.
billing_unrated = Table(
    "billing_unrated",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(ID), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("account_id", String(ID), nullable=False, index=True),
    Column("item", String(WORD), nullable=False),
    Column("item_type", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("resource_id", String(KEY), nullable=False),
    Column("resource_name", String(KEY), nullable=False),
    _money("quantity"),
    Column("unit", String(WORD), nullable=False),  # hour, or the usage item type's unit
    Column("status", String(16), nullable=False),  # open | rated | waived
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("note", String(KEY), nullable=False),
    UniqueConstraint("subscription_id", "period_start"),
    Index("ix_billing_unrated_status", "status", "account_id"),
)

#: Every low-balance step, top-up, coupon and month close, for the operator to read.
billing_audit = Table(
    "billing_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(WORD), nullable=False),
    Column("detail", String(KEY), nullable=False),
)

#: Instances billing stopped for lack of funds; a top-up starts exactly these again.
billing_suspensions = Table(
    "billing_suspensions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False, index=True),
    Column("region", String(64), nullable=False),
    Column("server_id", String(KEY), nullable=False),
    Column("stopped_at", UTCDateTime(), nullable=False),
    Column("resumed_at", UTCDateTime(), nullable=True),
)
