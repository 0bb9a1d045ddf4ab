"""Billing benchmark: an hourly farmer pass and a month close on PostgreSQL, then rating usage
points against CloudKitty's hashmap, each at three sizes.

At each size N (default 1k, 10k and 100k): an hourly pass over N due subscriptions in N / 10
accounts, then rating N points (SWS and CloudKitty, the same points; and N bandwidth points
whose quantities all differ). At each close size A (default 1k, 10k and 100k accounts): the
month close of A accounts with 10 charges each (10 bill lines; a third of the prices leave a
rounding entry), seeded in SQL. Each figure is wall time, this process's CPU and the CPU of
the PostgreSQL backends it used, in total and per unit.

    .venv/bin/python bench/billing.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--sizes 1k,10k,100k] [--close-sizes 1k,10k,100k] [--skip-farmer] [--skip-rating]
        [--json] [--cloudkitty-python /tmp/sws-cloudkitty-venv/bin/python]

Goals (issue 17): the hourly pass at most 5 s of total CPU (Python + PostgreSQL) per 100,000
charges, the month close at most 10 s per 10,000 accounts (1 ms per account) with its cost per
account flat (here: at most 1.5x from the smallest size to the largest), rating at least 10x
CloudKitty.

A throwaway database (`sws_bench_<random>`) is created on the server and dropped at the end.
CloudKitty runs in its own venv (made by bench/setup-cloudkitty.sh when missing), driven like
its unit tests: in-memory SQLite rules, `HashMap.process()` over one DataFrame.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from _measure import (
    Cost,
    Verdict,
    Watched,
    add_options,
    best_of,
    growth,
    measured,
    parse_sizes,
    per_unit_row,
    watch_backends,
)
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
HOURLY_CPU_US, CLOSE_CPU_US, RATING_RATIO = 50.0, 1000.0, 10.0  # per charge, per account
FLOOR_RATIO = 3.0  # the hourly pass: wall at most 3x the floor measured in the same run
CLOSE_GROWTH = 1.5  # "flat": CPU per account at the largest size over that at the smallest
LINES_PER_ACCOUNT = 10
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


def bench_farmer(url: str, subscriptions: int, accounts: int) -> tuple[Cost, Cost, int]:
    """The hourly pass of `subscriptions` in `accounts`, on a throwaway database; and the
    floor: the same rows written the cheapest way PostgreSQL offers, in the same run; and how
    many charges the set-based ordinary hour made (the rest went row by row).

    The seeded tables are ANALYZEd before the pass, as autovacuum would have done on a running
    SWS: without statistics the planner finds a batch's due subscriptions by a scan of every
    row still due (BitmapAnd with `ix_billing_subscriptions_due_at` at 1M, a Seq Scan at 100k),
    once per batch, and the cost per charge grows with the table."""
    name, bench_url = _throwaway(url)
    try:
        backends = Watched("PostgreSQL")
        engine = watch_backends(make_engine(bench_url), backends)
        upgrade(engine)
        db, clock = Database(engine), SimulatedClock(T0)
        _seed(db, clock, subscriptions, accounts)
        with engine.begin() as conn:  # as autovacuum does on a running SWS (off on this server)
            conn.execute(text("ANALYZE"))
        clock.warp_to(T0 + timedelta(hours=1))
        catalog = billing.load_catalog(db=db)
        with measured(backends) as hourly:  # 100 accounts per transaction
            report = farmer.charge_due(db=db, clock=clock, catalog=catalog, batch=100)
        assert report.charges == subscriptions, report
        floor = _floor(engine, backends)
        engine.dispose()
        return hourly, floor, report.ordinary
    finally:
        _drop(url, name)


FLOOR_COPIED = ("billing_charges", "billing_ledger")


def _floor(engine: Engine, backends: Watched) -> Cost:
    """The pass's writes at the floor of the database: its charges and journal rows COPYed
    into empty copies of their tables (same columns, keys and indexes), the subscriptions'
    cursors and the accounts' balances set by one `UPDATE ... FROM unnest` each; one
    transaction. The rows are read before the clock starts."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        copied = {}
        for table in FLOOR_COPIED:
            cur.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cur.description]
            copied[table] = (columns, cur.fetchall())
            cur.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
        cur.execute("SELECT id, cursor, due_at, updated_at FROM billing_subscriptions")
        subs = list(zip(*cur.fetchall(), strict=True))
        cur.execute("SELECT id, balance, updated_at FROM billing_accounts")
        balances = list(zip(*cur.fetchall(), strict=True))
        raw.commit()
        with measured(backends) as floor:
            for table, (columns, rows) in copied.items():
                listed = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f"COPY floor_{table} ({listed}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute(
                "UPDATE billing_subscriptions AS s SET cursor = v.c, due_at = v.d, "
                "updated_at = v.u FROM unnest(%s::text[], %s::timestamptz[], "
                "%s::timestamptz[], %s::timestamptz[]) AS v(id, c, d, u) WHERE s.id = v.id",
                [list(column) for column in subs],
            )
            cur.execute(
                "UPDATE billing_accounts AS a SET balance = v.b, updated_at = v.u "
                "FROM unnest(%s::text[], %s::numeric[], %s::timestamptz[]) AS v(id, b, u) "
                "WHERE a.id = v.id",
                [list(column) for column in balances],
            )
            raw.commit()
        return floor
    finally:
        raw.close()


#: March's last hour charged for every subscription, as the hourly pass leaves it: prices with
#: 2, 4 and 6 decimals, so a third of the bills book a rounding entry.
SEED_CLOSE = """
INSERT INTO billing_accounts (id, currency, timezone, payment_mode, credit_limit,
    low_balance_threshold, balance, status, grace_until, last_closed_month, created_at,
    updated_at, enforcement)
SELECT 'acct-' || lpad(n::text, 6, '0'), 'CNY', 'UTC', 'postpaid', 10000, 0, 0, 'ok', NULL,
    NULL, :t0, :t0, 'enforce'
FROM generate_series(0, :accounts - 1) AS n;
INSERT INTO billing_charges (subscription_id, period_start, period_end, account_id, product_id,
    item, item_type, resource_id, resource_name, unit, unit_price, quantity, amount, bill_month,
    created_at)
SELECT 'sub-' || n, :t0, :t0 + interval '1 hour', 'acct-' || lpad((n % :accounts)::text, 6, '0'),
    'p-' || (n % 6), 'instance', (ARRAY['m1.tiny','m1.small','m1.medium','m1.large','ssd.tiny',
    'ssd.small'])[n % 6 + 1], 'vm-' || n, 'vm-' || n, 'hour', price, 1, price, '2026-03', :t0
FROM generate_series(0, :accounts * {lines} - 1) AS n,
    LATERAL (SELECT (ARRAY[0.12, 0.2417, 0.48, 0.960001, 0.0631, 1.92])[n % 6 + 1] AS price) p;
ANALYZE;
"""


def bench_close(url: str, accounts: int) -> Cost:
    """The month close of `accounts` accounts with 10 charges each, on a throwaway database."""
    name, bench_url = _throwaway(url)
    try:
        backends = Watched("PostgreSQL")
        engine = watch_backends(make_engine(bench_url), backends)
        upgrade(engine)
        with engine.begin() as conn:
            for statement in SEED_CLOSE.format(lines=LINES_PER_ACCOUNT).split(";"):
                if statement.strip():
                    conn.execute(text(statement), {"t0": T0, "accounts": accounts})
        db, clock = Database(engine), SimulatedClock(T0 + timedelta(hours=1, minutes=5))
        with measured(backends) as close:
            closed = billing.close_month(db=db, clock=clock, month="2026-03")
        assert len(closed) == accounts and billing.check(db=db).ok
        with engine.connect() as conn:
            lines = conn.execute(text("SELECT count(*) FROM billing_bill_lines")).scalar_one()
        assert lines == accounts * LINES_PER_ACCOUNT, lines
        engine.dispose()
        return close
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


def bench_rating(count: int, runs: int = 3, distinct: bool = False) -> Cost:
    text = Path(billing.__file__).with_name("prices.yaml").read_text()
    catalog = Catalog(catalog_file.parse(text).products)
    points = _points(count, distinct)
    cost = best_of(runs, lambda: rate_points(points, catalog, "CNY"))
    rated = rate_points(points[:100], catalog, "CNY")
    assert all(product is not None for product in rated.products)
    return cost


def cloudkitty_python(python: str) -> str:
    if Path(python).exists():
        return python
    venv = subprocess.run(
        [str(HERE / "setup-cloudkitty.sh")], check=True, capture_output=True, text=True
    )
    return str(Path(venv.stdout.strip().splitlines()[-1]) / "bin" / "python")


def bench_cloudkitty(python: str, count: int, runs: int = 3) -> Cost:
    """CloudKitty's `HashMap.process()` over `count` points: its own wall and CPU, best run."""
    costs = []
    for _ in range(runs):
        out = subprocess.run(
            [python, str(HERE / "cloudkitty_hashmap.py"), str(count)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        costs.append(Cost(figures["seconds"], figures["cpu_seconds"]))
    return min(costs, key=lambda c: c.cpu)


def farmer_at(url: str, size: int, verdict: Verdict) -> Cost:
    accounts = max(size // 10, 1)
    hourly, floor, ordinary = bench_farmer(url, size, accounts)
    print(f"hourly farmer pass, {size:,} subscriptions in {accounts:,} accounts: "
          f"{hourly.describe()} ({size / hourly.wall:,.0f} charges/s; load {_load()}); "
          f"{ordinary:,} charges set-based, {size - ordinary:,} row by row")
    print(f"  floor (COPY charges and journal, one UPDATE ... FROM unnest for cursors and "
          f"balances): {floor.describe()}; pass / floor {hourly.wall / floor.wall:.1f}x wall")
    verdict.add_cost(f"hourly pass {size}", hourly)
    verdict.add_cost(f"hourly pass floor {size}", floor)
    verdict.add(f"hourly pass {size} wall / floor", hourly.wall / floor.wall, "x",
                at_most=FLOOR_RATIO)
    if size == 100_000:
        verdict.add("hourly pass 100000 total cpu", hourly.total_cpu, "s", at_most=5.0)
    return hourly


def close_at(url: str, accounts: int, verdict: Verdict) -> Cost:
    close = bench_close(url, accounts)
    print(f"month close, {accounts:,} accounts ({accounts * LINES_PER_ACCOUNT:,} lines): "
          f"{close.describe()} ({accounts / close.wall:,.0f} accounts/s; load {_load()})")
    verdict.add_cost(f"month close {accounts}", close)
    if accounts == 10_000:
        verdict.add("month close 10000 total cpu", close.total_cpu, "s", at_most=10.0)
    return close


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rating_at(size: int, python: str, verdict: Verdict) -> tuple[Cost, Cost]:
    ours, theirs = bench_rating(size), bench_cloudkitty(python, size)
    varied = bench_rating(size, distinct=True)
    print(f"rating {size:,} bandwidth points, every quantity different: "
          f"{varied.describe(1e3, 'ms')} ({size / varied.wall:,.0f} points/s)")
    print(f"rating {size:,} points: SWS {ours.describe(1e3, 'ms')} ({size / ours.wall:,.0f} "
          f"points/s), CloudKitty hashmap {theirs.describe(1e3, 'ms')} "
          f"({size / theirs.wall:,.0f} points/s); "
          f"ratio {theirs.wall / ours.wall:.1f}x wall, {theirs.cpu / ours.cpu:.1f}x CPU")
    verdict.add_cost(f"rating {size}", ours)
    verdict.add_cost(f"rating distinct quantities {size}", varied)
    verdict.add_cost(f"cloudkitty rating {size}", theirs)
    verdict.add(f"rating {size} cpu ratio to cloudkitty", theirs.cpu / ours.cpu, "x",
                at_least=RATING_RATIO)
    print(f"  distinct quantities against the same CloudKitty run: "
          f"{theirs.cpu / varied.cpu:.1f}x CPU (CloudKitty multiplies every quantity anyway)")
    verdict.add(f"rating distinct quantities {size} cpu ratio to cloudkitty",
                theirs.cpu / varied.cpu, "x", at_least=RATING_RATIO)
    return ours, varied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cloudkitty-python", default="/tmp/sws-cloudkitty-venv/bin/python")
    parser.add_argument("--skip-farmer", action="store_true")
    parser.add_argument("--skip-rating", action="store_true")
    parser.add_argument("--close-sizes", type=parse_sizes, default=(1_000, 10_000, 100_000),
                        help="accounts the month close closes at each size (default 1k,10k,100k)")
    add_options(parser, (1_000, 10_000, 100_000), "subscriptions (and rated points)")
    args = parser.parse_args()
    verdict = Verdict("billing")
    python = "" if args.skip_rating else cloudkitty_python(args.cloudkitty_python)
    hourly, close, rated, varied = [], [], [], []
    for size in args.sizes:
        if not args.skip_farmer:
            hourly.append((size, farmer_at(args.database_url, size, verdict)))
        if not args.skip_rating:
            ours, distinct = rating_at(size, python, verdict)
            rated.append((size, ours))
            varied.append((size, distinct))
    for accounts in args.close_sizes:
        close.append((accounts, close_at(args.database_url, accounts, verdict)))
    print("cost per unit at each size:")
    for name, unit, rows, goal in (
        ("hourly pass", "charges", hourly, HOURLY_CPU_US),
        ("month close", "accounts", close, CLOSE_CPU_US),
        ("rating", "points", rated, None),
        ("rating distinct quantities", "points", varied, None),
    ):
        if rows:
            print(f" {name}:")
            for size, cost in rows:
                print(per_unit_row(size, unit, cost))
            verdict.add_sizes(name, unit.rstrip("s"), rows, cpu_at_most_us=goal)
    if len(close) > 1:
        verdict.add("month close growth, cpu per account largest / smallest", growth(close), "x",
                    at_most=CLOSE_GROWTH)
    sys.stdout.flush()
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
