"""The batched month close writes what the per-account close wrote, on random books.

Random accounts (two currencies, some closed before, some never charged), charges and
adjustments (ties in the sort order, non-ASCII and mixed-case ids, renamed resources, negative
amounts, several open months) are written into two databases; `month_close_oracle` (the old
per-account close) runs on one and `billing.month_close` on the other, in small batches. The
bills, the lines (position included), the ledger, the audit rows, the balances and who was
closed must be equal, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select

from sws.billing import month_close
from sws.billing import service as billing
from sws.billing.tables import (
    billing_accounts,
    billing_adjustments,
    billing_audit,
    billing_bill_lines,
    billing_bills,
    billing_charges,
    billing_ledger,
)
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.errors import Conflict
from sws.leases.service import LeaseLost
from tests.budget import examples
from tests.schema import migrate
from tests.servicedb import mariadb_database, postgres_database
from tests.unit.billing import month_close_oracle as oracle

NOW = datetime(2026, 5, 2, 3, 0, tzinfo=UTC)
EARLY = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")
RESOURCES = ("vm-a", "vm-B", "VM-c", "vm-é", "vm-z", "Ωmega")
TABLES = (
    billing_ledger,
    billing_audit,
    billing_bill_lines,
    billing_bills,
    billing_charges,
    billing_adjustments,
    billing_accounts,
)


def _account(n: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"acct-{n:02d}-{rng.choice('aZé')}",
        "currency": rng.choice(("CNY", "CNY", "JPY")),
        "timezone": rng.choice(("UTC", "Asia/Shanghai", "America/New_York")),
        "payment_mode": "postpaid",
        "credit_limit": Decimal(100),
        "low_balance_threshold": Decimal(0),
        "balance": Decimal(rng.randrange(-500, 500)) / 10,
        "status": "ok",
        "grace_until": None,
        "last_closed_month": rng.choice((None, None, "2026-01", "2026-02")),
        "created_at": NOW,
        "updated_at": NOW,
    }


def _charge(account: str, n: int, rng: random.Random, *, seq: int | None) -> dict[str, Any]:
    day = datetime(2026, rng.randrange(1, 5), rng.choice((1, 2, 28)), tzinfo=UTC)
    start = day + timedelta(hours=rng.choice((0, 0, 7)), minutes=rng.choice((0, 0, 0, 30)))
    price = rng.choice((Decimal("0.42"), Decimal("0.123457"), Decimal("1.5"), Decimal(3)))
    quantity = rng.choice((Decimal(1), Decimal("0.5"), Decimal("0.333333")))
    amount = (price * quantity).quantize(Decimal("0.000001"))
    row = {
        "subscription_id": f"sub-{account}-{n}",
        "period_start": start,
        "period_end": start + timedelta(hours=1),
        "account_id": account,
        "product_id": "p",
        "item": rng.choice(("instance", "bandwidth", "floating_ip")),
        "item_type": rng.choice(("m1.small", "m1.large")),
        "resource_id": rng.choice(RESOURCES),
        "resource_name": rng.choice(("web", "db", "renamed")),
        "unit": "hour",
        "unit_price": price,
        "quantity": quantity,
        "amount": amount if seq is None else -amount,
        "bill_month": rng.choice(MONTHS[:4]) if rng.random() < 0.3 else f"{start:%Y-%m}",
        "created_at": NOW,
    }
    if seq is not None:
        row["seq"] = seq
    return row


def _seed(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    accounts = [_account(n, rng) for n in range(rng.randrange(1, 9))]
    charges, adjustments = [], []
    for account in accounts:
        for n in range(rng.choice((0, 1, 3, 12))):
            charges.append(_charge(account["id"], n, rng, seq=None))
        for n in range(rng.choice((0, 0, 2))):
            adjustments.append(_charge(account["id"], n, rng, seq=0))
    with db.begin() as conn:
        for table in TABLES:
            conn.execute(delete(table))
        conn.execute(insert(billing_accounts), accounts)
        for table, rows in ((billing_charges, charges), (billing_adjustments, adjustments)):
            if rows:
                conn.execute(insert(table), rows)


def _state(db: Database) -> dict[str, Any]:
    def rows(table: Any, *drop: str) -> list[tuple[Any, ...]]:
        names = [c for c in table.c if c.name not in drop]
        return sorted(tuple(r) for r in conn.execute(select(*names)))

    with db.read() as conn:
        state = {
            "accounts": rows(billing_accounts),
            "bills": rows(billing_bills),
            "lines": rows(billing_bill_lines, "id"),
            "ledger": rows(billing_ledger, "id"),
            "audit": rows(billing_audit, "id"),
        }
    return state


def _close(
    close: Callable[..., list[str]], db: Database, month: str, now: datetime = NOW
) -> list[str] | str:
    try:
        return close(db=db, clock=SimulatedClock(now), month=month)
    except Conflict as refused:
        return f"refused: {refused}"


def _same_as_oracle(
    old: Database, new: Database, seed: int, month: str, now: datetime = NOW
) -> list[str] | str:
    _seed(old, seed)
    _seed(new, seed)
    expected = _close(oracle.close_month, old, month, now)
    batched = _close(lambda **kw: month_close.close_month(**kw, batch=3), new, month, now)
    assert batched == expected
    assert _state(new) == _state(old)
    again = _close(month_close.close_month, new, month, now)
    assert again == _close(oracle.close_month, old, month, now)
    assert _state(new) == _state(old)
    return expected


@contextmanager
def _sqlite(tmp_path: Path, name: str) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / name}"
    migrate(make_engine(url))
    yield url


def _databases(backend: str, tmp_path: Path) -> tuple[AbstractContextManager[str], ...]:
    if backend == "sqlite":
        return _sqlite(tmp_path, "old.db"), _sqlite(tmp_path, "new.db")
    if backend == "postgres":
        return postgres_database(), postgres_database()
    return mariadb_database(), mariadb_database()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    first, second = _databases(request.param, tmp_path)
    with first as old_url, second as new_url:
        old, new = make_engine(old_url), make_engine(new_url)
        yield Database(old), Database(new)
        old.dispose()
        new.dispose()


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32), month=st.sampled_from(("2026-03", "2026-04")))
def test_the_batched_close_writes_what_the_per_account_close_wrote(
    pair: tuple[Database, Database], seed: int, month: str
) -> None:
    _same_as_oracle(*pair, seed, month)


def test_a_month_not_over_stops_the_close_where_the_old_close_stopped(
    pair: tuple[Database, Database],
) -> None:
    """At 02:00 UTC on 1 May, April is over in UTC and Shanghai, not in New York: both closes
    close the accounts before the first New York one, then refuse, naming it."""
    outcomes = [_same_as_oracle(*pair, seed, "2026-04", EARLY) for seed in range(12)]
    assert any(isinstance(o, str) and "not over yet" in o for o in outcomes), outcomes
    assert any(isinstance(o, list) and o for o in outcomes), outcomes


class LosesTheLeaseAfter:
    """A leader lease that holds for `batches` transactions, then is lost."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def check(self, conn: Connection) -> None:
        if self.left == 0:
            raise LeaseLost("another farmer leads the month close now")
        self.left -= 1


def test_a_lost_lease_stops_the_close_between_batches_writing_nothing_after(
    tmp_path: Path,
) -> None:
    with _sqlite(tmp_path, "lease.db") as url:
        db = Database(make_engine(url))
        _seed(db, 3)
        ids = sorted(row[0] for row in _state(db)["accounts"])
        assert len(ids) > 2
        with pytest.raises(LeaseLost):
            month_close.close_month(
                db=db,
                clock=SimulatedClock(NOW),
                month="2026-03",
                guard=LosesTheLeaseAfter(1),
                batch=2,
            )
        state = _state(db)
        closed = sorted(row[0] for row in state["accounts"] if row[9] == "2026-03")
        assert closed == ids[:2]
        assert {row[0] for row in state["bills"]} <= set(ids[:2])
        assert {row[0] for row in state["audit"]} <= set(ids[:2])


def test_due_months_close_in_batches_per_account_time_zone(tmp_path: Path) -> None:
    """At 02:00 UTC on 1 May April is over (with no delay) except in New York: each account
    closes its own last finished month; accounts never charged are left alone."""
    with _sqlite(tmp_path, "due.db") as url:
        db = Database(make_engine(url))
        _seed(db, 5)
        clock = SimulatedClock(EARLY)
        due = billing.months_due_for_close(db=db, clock=clock, delay=timedelta(0))
        with db.read() as conn:
            rows = conn.execute(select(billing_accounts)).mappings().all()
            charged = {r.account_id for r in conn.execute(select(billing_charges.c.account_id))}
            charged |= {
                r.account_id for r in conn.execute(select(billing_adjustments.c.account_id))
            }
        expected = {}
        for row in rows:
            month = "2026-03" if row["timezone"] == "America/New_York" else "2026-04"
            last = row["last_closed_month"]
            if row["id"] in charged and (last is None or last < month):
                expected[row["id"]] = month
        assert len(set(expected.values())) == 2, expected  # both months, two batches
        assert due == expected
        closed = billing.close_due_months(db=db, clock=clock, delay=timedelta(0))
        assert sorted(closed) == sorted(expected)
        assert billing.months_due_for_close(db=db, clock=clock, delay=timedelta(0)) == {}
