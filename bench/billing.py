"""Billing benchmark: an hourly farmer pass over 100,000 subscriptions in 10,000 accounts and a
month close on PostgreSQL; then rating 100,000 usage points against CloudKitty's hashmap.

    .venv/bin/python bench/billing.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--subscriptions 100000 --accounts 10000 --points 100000]
        [--cloudkitty-python /tmp/sws-cloudkitty-venv/bin/python]

A throwaway database (`sws_bench_<random>`) is created on the server and dropped at the end.
CloudKitty runs in its own venv (made by bench/setup-cloudkitty.sh when missing), driven like
its unit tests: in-memory SQLite rules, `HashMap.process()` over one DataFrame.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from sws.billing import catalog_file, farmer
from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.model import Catalog
from sws.billing.rating import UsagePoint, rate_points
from sws.billing.segments import Span, spans_to_json
from sws.billing.tables import billing_accounts, billing_cursors, billing_subscriptions
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine, normalise_url
from sws.db.migrate import upgrade

HERE = Path(__file__).parent
T0 = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)  # the pass charges March's last hour
FLAVORS = ("m1.tiny", "m1.small", "m1.medium", "m1.large", "ssd.tiny", "ssd.small")
CK_FLAVORS = ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "ssd.tiny", "ssd.small")


def _throwaway(url: str) -> tuple[str, str]:
    name = f"sws_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(normalise_url(url)).set(database=name).render_as_string(
        hide_password=False
    )


def _drop(url: str, name: str) -> None:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(db: Database, clock: SimulatedClock, subscriptions: int, accounts: int) -> None:
    billing.load_catalog_text(
        db=db, clock=clock, text=(Path(billing.__file__).with_name("prices.yaml")).read_text()
    )
    with db.begin() as conn:
        conn.execute(insert(billing_accounts), [_account(n) for n in range(accounts)])
        rows = [_subscription(n, accounts) for n in range(subscriptions)]
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(billing_subscriptions), rows[start : start + 10_000])
        conn.execute(
            insert(billing_cursors).values(
                name=farmer.EVENTS_CURSOR, position=repo.last_event_id(conn), at=None
            )
        )


def _account(n: int) -> dict[str, object]:
    return {
        "id": f"acct-{n:05d}",
        "currency": "CNY",
        "timezone": "UTC",
        "payment_mode": "postpaid",
        "credit_limit": Decimal(10_000),
        "low_balance_threshold": Decimal(0),
        "balance": Decimal(0),
        "status": "ok",
        "grace_until": None,
        "last_closed_month": None,
        "created_at": T0,
        "updated_at": T0,
    }


def _subscription(n: int, accounts: int) -> dict[str, object]:
    flavor = FLAVORS[n % len(FLAVORS)]
    return {
        "id": f"sub-{n:06d}",
        "account_id": f"acct-{n % accounts:05d}",
        "item": "instance",
        "resource_type": "instance",
        "resource_id": f"vm-{n:06d}",
        "resource_name": f"vm-{n}",
        "region": "RegionOne",
        "spans": spans_to_json([Span(T0 - timedelta(days=2), None, flavor)]),
        "events_count": 1,
        "cursor": T0,
        "due_at": T0 + timedelta(hours=1),
        "dirty": False,
        "cap_key": None,
        "cap_spent": Decimal(0),
        "updated_at": T0,
    }


def bench_farmer(url: str, subscriptions: int, accounts: int) -> dict[str, float]:
    name, bench_url = _throwaway(url)
    try:
        engine = make_engine(bench_url)
        upgrade(engine)
        db, clock = Database(engine), SimulatedClock(T0)
        _seed(db, clock, subscriptions, accounts)
        clock.warp_to(T0 + timedelta(hours=1))
        catalog = billing.load_catalog(db=db)
        started = time.perf_counter()
        # 100 accounts (1,000 subscriptions) per transaction
        report = farmer.charge_due(db=db, clock=clock, catalog=catalog, batch=100)
        hourly = time.perf_counter() - started
        assert report.charges == subscriptions, report
        clock.advance(timedelta(minutes=5))
        started = time.perf_counter()
        closed = billing.close_month(db=db, clock=clock, month="2026-03")
        close = time.perf_counter() - started
        assert len(closed) == accounts and billing.check(db=db).ok
        engine.dispose()
        return {"hourly_pass_s": hourly, "month_close_s": close, "charges": report.charges}
    finally:
        _drop(url, name)


def _points(count: int, distinct: bool = False) -> list[UsagePoint]:
    """CloudKitty's points (one instance-hour each); `distinct`: every quantity differs."""
    hour = datetime(2026, 3, 1, tzinfo=UTC)
    if distinct:
        return [
            UsagePoint(
                f"p{n % 10000}",
                f"vm-{n}",
                "RegionOne",
                "bandwidth",
                "gb_out",
                hour,
                Decimal(n + 1) / 1000,
            )
            for n in range(count)
        ]
    return [
        UsagePoint(
            f"p{n % 10000}",
            f"vm-{n}",
            "RegionOne",
            "instance",
            CK_FLAVORS[n % len(CK_FLAVORS)],
            hour,
            Decimal(1),
        )
        for n in range(count)
    ]


def bench_rating(count: int, runs: int = 3, distinct: bool = False) -> float:
    text = Path(billing.__file__).with_name("prices.yaml").read_text()
    catalog = Catalog(catalog_file.parse(text).products)
    points, best = _points(count, distinct), float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        rated = rate_points(points, catalog, "CNY")
        best = min(best, time.perf_counter() - started)
    assert len(rated) == count and all(product is not None for product, _ in rated)
    return count / best


def bench_cloudkitty(python: str, count: int, runs: int = 3) -> float:
    if not Path(python).exists():
        venv = subprocess.run(
            [str(HERE / "setup-cloudkitty.sh")], check=True, capture_output=True, text=True
        )
        python = str(Path(venv.stdout.strip().splitlines()[-1]) / "bin" / "python")
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(
            [python, str(HERE / "cloudkitty_hashmap.py"), str(count)],
            check=True,
            capture_output=True,
            text=True,
        )
        best = min(best, json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--cloudkitty-python", default="/tmp/sws-cloudkitty-venv/bin/python")
    parser.add_argument("--skip-farmer", action="store_true")
    args = parser.parse_args()
    if not args.skip_farmer:
        figures = bench_farmer(args.database_url, args.subscriptions, args.accounts)
        print(
            f"hourly farmer pass, {args.subscriptions:,} subscriptions "
            f"in {args.accounts:,} accounts: "
            f"{figures['hourly_pass_s']:.1f} s "
            f"({args.subscriptions / figures['hourly_pass_s']:,.0f} charges/s)"
        )
        print(f"month close, {args.accounts:,} accounts: {figures['month_close_s']:.1f} s")
    ours = bench_rating(args.points)
    theirs = bench_cloudkitty(args.cloudkitty_python, args.points)
    varied = bench_rating(args.points, distinct=True)
    print(
        f"rating {args.points:,} bandwidth points, every quantity different: {varied:,.0f} points/s"
    )
    print(
        f"rating {args.points:,} points: SWS {ours:,.0f} points/s, "
        f"CloudKitty hashmap {theirs:,.0f} points/s, ratio {ours / theirs:.1f}x"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
