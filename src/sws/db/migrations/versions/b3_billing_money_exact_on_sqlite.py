"""billing: money on SQLite as integer micro-units, so no amount is ever a double

Revision ID: b3_billing_money_exact_on_sqlite
Revises: b2_billing_unrated
Create Date: 2026-12-06 07:00:00

SQLite kept every NUMERIC(24, 6) amount as a REAL (a double). From this revision the column
type `ExactMoney` stores an integer count of micro-units there (10.50 is 10500000); this
rewrites the amounts already stored. The declared type stays NUMERIC(24, 6), so nothing changes
on PostgreSQL or MariaDB, which store NUMERIC exactly already.
"""

from __future__ import annotations

from alembic import op

revision = "b3_billing_money_exact_on_sqlite"
down_revision = "b2_billing_unrated"
branch_labels = None
depends_on = None

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "billing_accounts": ("credit_limit", "low_balance_threshold", "balance"),
    "billing_adjustments": ("unit_price", "quantity", "amount"),
    "billing_bill_lines": ("unit_price", "quantity", "total"),
    "billing_bills": (
        "total", "instance", "bandwidth", "floating_ip", "load_balancer", "object_storage",
    ),
    "billing_charges": ("unit_price", "quantity", "amount"),
    "billing_coupons": ("amount", "remaining"),
    "billing_ledger": ("amount",),
    "billing_products": ("price", "monthly_cap"),
    "billing_subscriptions": ("cap_spent",),
    "billing_unrated": ("quantity",),
}


def _rewrite(expression: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in MONEY_COLUMNS.items():
        assignments = ", ".join(f"{c} = {expression.format(c=c)}" for c in columns)
        op.execute(f"UPDATE {table} SET {assignments}")


def upgrade() -> None:
    # ROUND of the double is exact to 6 places for any amount below 2**53 micro-units.
    _rewrite("CAST(ROUND({c} * 1000000) AS INTEGER)")


def downgrade() -> None:
    _rewrite("{c} / 1000000.0")
