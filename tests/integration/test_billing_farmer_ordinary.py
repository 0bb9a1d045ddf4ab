"""One hourly pass on PostgreSQL that mixes ordinary hours (set-based) with every kind of
subscription the set-based hour must leave to the per-row path, against the oracle.

Each subscription below is one case: the ordinary ones (`FAST`) owe one plain hour at a price
that held still; each other one breaks exactly one condition of the ordinary hour (a coupon, a
cap, an unrated piece, a half-hour time zone, a closed month, a price that just changed, ...).
The pass is run by `farmer.charge_due` on one database and by the pre-issue-17 charge
(`tests/unit/billing/farmer_oracle.py`) on another: every table must be equal, row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, insert, select

from sws.billing import farmer
from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.model import make_product
from sws.billing.segments import Span, spans_to_json
from sws.billing.tables import (
    billing_accounts,
    billing_adjustments,
    billing_charges,
    billing_coupons,
    billing_ledger,
    billing_subscriptions,
    billing_unrated,
)
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from tests.servicedb import postgres_database
from tests.unit.billing import farmer_oracle

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 on April 1st in Shanghai
HOUR = timedelta(hours=1)
CURSOR = NOW - HOUR  # one hour due
START = datetime(2026, 3, 29, tzinfo=UTC)
CATALOG = Path(billing.__file__).with_name("prices.yaml")
LARGE = make_product(  # the sample catalog's m1.large: 3.33 an hour, at most 2000 a month
    region="*", item="instance", item_type="m1.large", payment_type="per_started_hour",
    price=Decimal("3.33"), currency="CNY", valid_from=datetime(2020, 1, 1, tzinfo=UTC),
    monthly_cap=Decimal("2000"),
)

#: account: (time zone, currency, last closed month)
ACCOUNTS = {
    "a-utc": ("UTC", "CNY", None),
    "a-shanghai": ("Asia/Shanghai", "CNY", None),
    "a-kolkata": ("Asia/Kolkata", "CNY", None),  # its hours start at :30 UTC
    "a-coupon": ("UTC", "CNY", None),
    "a-coupon-fip": ("UTC", "CNY", None),
    "a-coupon-spent": ("UTC", "CNY", None),
    "a-closed": ("UTC", "CNY", "2026-03"),
    "a-eur": ("UTC", "EUR", None),
}
#: coupon: (account, remaining, items, expires)
COUPONS = {
    "c-any": ("a-coupon", "5", "", NOW + timedelta(days=9)),
    "c-fip": ("a-coupon-fip", "5", "floating_ip", NOW + timedelta(days=9)),
    "c-expired": ("a-coupon-spent", "5", "", NOW - HOUR),
    "c-empty": ("a-coupon-spent", "0", "", NOW + timedelta(days=9)),
}


def _sub(
    account: str = "a-utc",
    spans: tuple[Span, ...] = (Span(START, None, "m1.small"),),
    *,
    item: str = "instance",
    region: str = "RegionOne",
    cursor: datetime = CURSOR,
    dirty: bool = False,
    cap: tuple[str | None, str] = (None, "0"),
    unrated_until: datetime | None = CURSOR,
) -> dict[str, Any]:
    return {
        "account_id": account,
        "item": item,
        "region": region,
        "spans": spans_to_json(spans),
        "cursor": cursor,
        "dirty": dirty,
        "cap_key": cap[0],
        "cap_spent": Decimal(cap[1]),
        "unrated_until": unrated_until,
    }


RESIZED = (Span(START, START + 24 * HOUR, "m1.tiny"), Span(START + 24 * HOUR, None, "m1.small"))
FAST = {
    "small": _sub(),
    "per-second": _sub(spans=(Span(START, None, "ssd.tiny"),)),
    "capped-near-the-cap": _sub(
        spans=(Span(START, None, "m1.large"),), cap=(f"{LARGE.id}:2026-03", "1998")
    ),
    "capped-at-the-cap": _sub(
        spans=(Span(START, None, "m1.large"),), cap=(f"{LARGE.id}:2026-03", "2000")
    ),
    "capped-last-month": _sub(
        spans=(Span(START, None, "m1.large"),), cap=(f"{LARGE.id}:2026-02", "2000")
    ),
    "ends-after-the-hour": _sub(spans=(Span(START, CURSOR + HOUR * 3 / 2, "m1.small"),)),
    "never-looked-for-unpriced-time": _sub(unrated_until=None),
    "resized-before": _sub(spans=RESIZED),
    "own-region-price": _sub(region="RegionTwo"),
    "free": _sub(region="RegionFour"),
    "instance-beside-a-floating-ip-coupon": _sub("a-coupon-fip"),
    "expired-and-empty-coupons": _sub("a-coupon-spent"),
    "month-boundary-in-shanghai": _sub("a-shanghai"),
}
SLOW = {
    "monthly": _sub(spans=(Span(START, None, "m1.xlarge"),)),
    "dirty": _sub(dirty=True),
    "two-hours-due": _sub(cursor=CURSOR - HOUR),
    "ends-within-the-hour": _sub(spans=(Span(START, CURSOR + HOUR / 2, "m1.small"),)),
    "ends-with-the-hour": _sub(spans=(Span(START, CURSOR + HOUR, "m1.small"),)),
    "two-spans-never-looked-for": _sub(spans=RESIZED, unrated_until=None),
    "restarted-after-the-cursor": _sub(
        spans=(Span(START, CURSOR - 2 * HOUR, "m1.small"), Span(CURSOR + HOUR / 6, None, "m1.tiny"))
    ),
    "unrated-piece": _sub(),
    "own-region-daily-price": _sub(region="RegionThree", spans=(Span(START, None, "m1.tiny"),)),
    "half-past-cursor": _sub(cursor=CURSOR - HOUR / 2),
    "kolkata": _sub("a-kolkata", cursor=CURSOR - HOUR / 2),
    "coupon": _sub("a-coupon"),
    "floating-ip-with-its-coupon": _sub(
        "a-coupon-fip", item="floating_ip", spans=(Span(START, None, "standard"),)
    ),
    "closed-month": _sub("a-closed"),
    "price-changed-half-an-hour-ago": _sub("a-eur"),
}


def _prices() -> list[Any]:
    since = datetime(2025, 1, 1, tzinfo=UTC)

    def price(region: str, item_type: str, amount: str, payment: str = "per_started_hour",
              currency: str = "CNY", valid_from: datetime = since) -> Any:
        return make_product(region=region, item="instance", item_type=item_type,
                            payment_type=payment, price=Decimal(amount), currency=currency,
                            valid_from=valid_from)

    return [
        price("RegionTwo", "m1.small", "0.50"),
        price("RegionThree", "m1.tiny", "2.00", "daily"),
        price("RegionFour", "m1.small", "0"),
        price("RegionOne", "m1.small", "0.07", currency="EUR", valid_from=NOW - HOUR / 2),
    ]


def _seed(url: str) -> Database:
    db, clock = Database(make_engine(url)), SimulatedClock(START)
    billing.load_catalog_text(db=db, clock=clock, text=CATALOG.read_text())
    clock.warp_to(NOW)
    billing.add_prices(db=db, clock=clock, products=_prices())
    with db.begin() as conn:
        conn.execute(insert(billing_accounts), [_account(k, *v) for k, v in ACCOUNTS.items()])
        conn.execute(insert(billing_coupons), [_coupon(k, *v) for k, v in COUPONS.items()])
        conn.execute(insert(billing_ledger), [_grant(k, *v) for k, v in COUPONS.items()])
        subs = {**FAST, **SLOW}
        conn.execute(insert(billing_subscriptions), [_row(k, v) for k, v in subs.items()])
        conn.execute(insert(billing_unrated), [_piece("unrated-piece")])
    return db


def _account(key: str, zone: str, currency: str, closed: str | None) -> dict[str, Any]:
    return {
        "id": key, "currency": currency, "timezone": zone, "payment_mode": "postpaid",
        "credit_limit": Decimal(100), "low_balance_threshold": Decimal(10),
        "balance": Decimal(0), "status": "ok", "grace_until": None,
        "last_closed_month": closed, "created_at": START, "updated_at": START,
    }


def _coupon(key: str, account: str, left: str, items: str, expires: datetime) -> dict[str, Any]:
    return {
        "id": key, "account_id": account, "currency": "CNY", "amount": Decimal(left),
        "remaining": Decimal(left), "items": items, "expires_at": expires, "created_at": START,
    }


def _grant(key: str, account: str, left: str, _items: str, _expires: datetime) -> dict[str, Any]:
    return {
        "account_id": account, "idempotency_key": f"grant-{key}", "kind": "coupon",
        "coupon_id": key, "amount": Decimal(left), "currency": "CNY", "created_at": START,
        "memo": "",
    }


def _row(key: str, sub: dict[str, Any]) -> dict[str, Any]:
    return {
        **sub, "id": key, "resource_type": sub["item"], "resource_id": f"vm-{key}",
        "resource_name": key, "events_count": 1, "due_at": sub["cursor"] + HOUR,
        "updated_at": START,
    }


def _piece(key: str) -> dict[str, Any]:
    return {
        "subscription_id": key, "period_start": START + HOUR, "period_end": START + 2 * HOUR,
        "account_id": "a-utc", "item": "instance", "item_type": "m1.small",
        "region": "RegionOne", "resource_id": f"vm-{key}", "resource_name": key,
        "quantity": Decimal(1), "unit": "hour", "status": "open", "recorded_at": START,
        "resolved_at": None, "note": "",
    }


TABLES = (
    billing_accounts, billing_adjustments, billing_charges, billing_coupons, billing_ledger,
    billing_subscriptions, billing_unrated,
)


def _tables(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table the charge writes, but the serial ids (their order differs)."""
    found = {}
    with db.read() as conn:
        for table in TABLES:
            columns = [c for c in table.c if not (c.name == "id" and _serial(table))]
            rows = conn.execute(select(*columns))
            found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def _serial(table: Table) -> bool:
    return table.name in ("billing_adjustments", "billing_charges", "billing_ledger",
                          "billing_unrated")


@pytest.fixture
def two_databases() -> Iterator[tuple[Database, Database]]:
    with postgres_database() as fast, postgres_database() as oracle:
        dbs = (_seed(fast), _seed(oracle))
        yield dbs
        for db in dbs:
            db.engine.dispose()


def _ordinary_ids(db: Database) -> set[str]:
    """The subscriptions the set-based statement alone charges (rolled back after)."""
    catalog = billing.load_catalog(db=db)
    with db.begin() as conn:
        ids = sorted(ACCOUNTS)
        zones = farmer.zone_months(repo.account_timezones(conn), NOW)
        prices = farmer.ordinary_prices(catalog, NOW)
        repo.charge_ordinary_hours(conn, ids, now=NOW, prices=prices, zones=zones)
        charged = set(conn.execute(select(billing_charges.c.subscription_id)).scalars())
        conn.rollback()
    return charged


def test_one_hour_of_ordinary_and_unusual_subscriptions_books_what_the_oracle_books(
    two_databases: tuple[Database, Database],
) -> None:
    fast, oracle = two_databases
    assert _ordinary_ids(fast) == set(FAST)
    clock = SimulatedClock(NOW)
    report = farmer.charge_due(db=fast, clock=clock, catalog=billing.load_catalog(db=fast),
                               batch=3)
    charged = farmer_oracle.charge_due(
        db=oracle, clock=clock, catalog=billing.load_catalog(db=oracle), batch=3
    )
    assert report.ordinary == len(FAST) and report.charges == charged > len(FAST)
    assert report.adjustments > 0  # the dirty one is re-rated
    assert report.accounts == set(ACCOUNTS)
    assert _tables(fast) == _tables(oracle)
    assert billing.check(db=fast).ok


def test_the_ordinary_hour_charges_the_price_the_cap_and_the_month_as_rating_does(
    two_databases: tuple[Database, Database],
) -> None:
    fast, _ = two_databases
    farmer.charge_due(db=fast, clock=SimulatedClock(NOW), catalog=billing.load_catalog(db=fast))
    with fast.read() as conn:
        c = billing_charges.c
        rows = conn.execute(select(c.subscription_id, c.amount, c.bill_month)).all()
        charged = {row.subscription_id: (row.amount, row.bill_month) for row in rows}
        keys = set(conn.execute(select(billing_ledger.c.idempotency_key)).scalars())
    assert charged["small"] == (Decimal("0.42"), "2026-03")
    assert charged["own-region-price"] == (Decimal("0.50"), "2026-03")
    assert charged["capped-near-the-cap"] == (Decimal("2"), "2026-03")
    assert charged["capped-at-the-cap"] == (Decimal("0"), "2026-03")
    assert charged["capped-last-month"] == (Decimal("3.33"), "2026-03")
    assert charged["month-boundary-in-shanghai"] == (Decimal("0.42"), "2026-04")
    assert charged["free"] == (Decimal("0"), "2026-03")
    assert "charge:small:2026-03-31T16:00:00+00:00" in keys
    assert not {k for k in keys if k.startswith(("charge:free:", "charge:capped-at-the-cap:"))}
