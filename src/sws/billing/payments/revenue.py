"""The revenue report: per month and region, the cash taken in (payments, in the month their
credit was booked, less the refunds made that month); per month, the coupons granted and
spent; and the credit outstanding now.

Payments know their region; the ledger does not, so coupons are reported for all regions
together. Months are calendar months in UTC. Amounts are summed per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, literal, select

from sws.billing.payments.model import REFUND_SUCCEEDED
from sws.billing.payments.tables import billing_payments, billing_refunds
from sws.billing.periods import month_bounds
from sws.billing.tables import billing_accounts, billing_coupons, billing_ledger
from sws.clock import Clock
from sws.db.engine import Database
from sws.money import Money

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class RegionRevenue:
    region: str
    cash_in: Money
    refunded: Money

    @property
    def net(self) -> Money:
        return self.cash_in - self.refunded


@dataclass(frozen=True, slots=True)
class RevenueReport:
    month: str
    regions: tuple[RegionRevenue, ...]
    coupons_granted: tuple[Money, ...]
    coupons_spent: tuple[Money, ...]
    outstanding_cash: tuple[Money, ...]  # positive balances now, per currency
    outstanding_coupons: tuple[Money, ...]  # unspent, unexpired coupons now


def report(*, db: Database, clock: Clock, month: str) -> RevenueReport:
    """The report of `month` (`YYYY-MM`; an invalid one is a 4xx from `month_bounds`)."""
    start, end = month_bounds(month, UTC_ZONE)
    with db.read() as conn:
        return RevenueReport(
            month=month,
            regions=_regions(conn, start, end),
            coupons_granted=_ledger(conn, start, end, granted=True),
            coupons_spent=_ledger(conn, start, end, granted=False),
            outstanding_cash=_outstanding_cash(conn),
            outstanding_coupons=_outstanding_coupons(conn, clock.now()),
        )


def _regions(conn: Connection, start: datetime, end: datetime) -> tuple[RegionRevenue, ...]:
    p, r, entry = billing_payments.c, billing_refunds.c, billing_ledger.c
    credit_key = literal("payment:") + p.provider + ":" + p.id  # booked when the money came in
    paid = (
        select(p.region, p.currency, func.sum(p.amount))
        .join(billing_ledger, entry.idempotency_key == credit_key)
        .where(entry.created_at >= start, entry.created_at < end)
        .group_by(p.region, p.currency)
    )
    back = (
        select(p.region, r.currency, func.sum(r.amount))
        .join(billing_payments, p.id == r.payment_id)
        .where(r.state == REFUND_SUCCEEDED, r.updated_at >= start, r.updated_at < end)
        .group_by(p.region, r.currency)
    )
    cash = {(g, c): Decimal(t) for g, c, t in conn.execute(paid)}
    refunded = {(g, c): Decimal(t) for g, c, t in conn.execute(back)}
    return tuple(
        RegionRevenue(
            g, Money(cash.get((g, c), Decimal(0)), c), Money(refunded.get((g, c), Decimal(0)), c)
        )
        for g, c in sorted(set(cash) | set(refunded))
    )


def _ledger(
    conn: Connection, start: datetime, end: datetime, *, granted: bool
) -> tuple[Money, ...]:
    entry = billing_ledger.c
    which = (
        (entry.kind == "coupon_grant")
        if granted
        else (entry.coupon_id.is_not(None) & (entry.amount < 0))
    )
    query = (
        select(entry.currency, func.sum(entry.amount))
        .where(which, entry.created_at >= start, entry.created_at < end)
        .group_by(entry.currency)
    )
    return tuple(Money(abs(Decimal(t)), c) for c, t in sorted(conn.execute(query)))


def _outstanding_cash(conn: Connection) -> tuple[Money, ...]:
    a = billing_accounts.c
    query = select(a.currency, func.sum(a.balance)).where(a.balance > 0).group_by(a.currency)
    return tuple(Money(Decimal(t), c) for c, t in sorted(conn.execute(query)))


def _outstanding_coupons(conn: Connection, now: datetime) -> tuple[Money, ...]:
    c = billing_coupons.c
    query = (
        select(c.currency, func.sum(c.remaining))
        .where(c.remaining > 0, c.expires_at > now)
        .group_by(c.currency)
    )
    return tuple(Money(Decimal(t), cur) for cur, t in sorted(conn.execute(query)))
