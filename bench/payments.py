"""Payments benchmark: provider callbacks applied exactly once on PostgreSQL, in one process.

At each size N (default 1k, 5k and 20k): N pending checkouts of 100 tenants, each paid by one
signed test-provider callback (every tenant has an owner with an e-mail address, mailed once
per payment), delivered together with a replay of a quarter of them, by
`--threads` threads of this one process (as many concurrent requests; 40 by default, anyio's
limit on the thread pool the API's callback route runs in), through `handle_callback` as the
API runs it: signature check, then the group commit, which applies
the callbacks waiting together in one transaction (the checkouts' row locks, the events
recorded once, the state steps, the ledger credits, the receipts numbered from their issuer's
counter, the notices). Then the run checks that exactly N credits, N receipts numbered 1..N
and N mails exist and that the balances add up. Each figure is wall time,
this process's CPU and the CPU of the PostgreSQL backends it used, and the group commit's
batches (each batch's statements cost about as much Python as 25 callbacks' own rows, so the
callbacks per batch move the CPU per callback).

Before the timed run a tenth more checkouts are paid, untimed, and the tables ANALYZEd, as
autovacuum does on a running SWS: tables that grow from empty to N rows in seconds, faster
than autovacuum's one-minute round, would otherwise be planned (and their prepared statements
kept) as if still empty, and read whole — a state a running SWS leaves within a minute.

    .venv/bin/python bench/payments.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--sizes 1k,5k,20k] [--threads 40] [--json]

Goal (issue 15): 2,000 callbacks applied per second in one process.

A throwaway database (`sws_bench_<random>`) is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from _measure import Cost, Verdict, Watched, add_options, measured, per_unit_row, watch_backends
from billing import _drop, _throwaway  # the same throwaway database as the billing bench
from sws.billing import service as billing
from sws.billing.invoices.tables import billing_documents
from sws.billing.payments import service as payments
from sws.billing.payments.group import GroupCommit
from sws.billing.payments.model import PENDING
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.tables import billing_payments
from sws.billing.payments.testprovider import TestProvider
from sws.billing.tables import billing_accounts, billing_ledger
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws.identity.tables import tenants, users
from sws.mail.tables import mail_outbox

GOAL_PER_SECOND = 2_000.0
TENANTS, REPLAYED = 100, 4  # one callback in REPLAYED is delivered twice
THREADS = 40  # anyio's default limit on the threads of run_in_threadpool
WARM = 10  # a tenth more checkouts are paid before the timed run
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REGION = "RegionOne"


def _seed(db: Database, clock: SimulatedClock, size: int) -> list[str]:
    """TENANTS tenants with accounts, and `size` pending test-provider checkouts among them."""
    ids = [f"bench-{n:04d}" for n in range(TENANTS)]
    with db.begin() as conn:
        conn.execute(
            insert(tenants),
            [
                {"id": t, "name": t, "billing_timezone": "UTC", "currency": "CNY", "created_at": T0}
                for t in ids
            ],
        )
    with db.begin() as conn:  # each tenant's owner is mailed "payment received"
        conn.execute(insert(users), [_owner(t) for t in ids])
    for tenant in ids:
        billing.get_account(db=db, clock=clock, tenant_id=tenant)
    rows = [_checkout(n, ids[n % TENANTS]) for n in range(size)]
    with db.begin() as conn:
        for start in range(0, size, 5_000):
            conn.execute(insert(billing_payments), rows[start : start + 5_000])
    return [str(r["id"]) for r in rows]


def _owner(tenant: str) -> dict[str, object]:
    return {
        "id": f"u-{tenant}", "tenant_id": tenant, "name": f"owner-{tenant}",
        "email": f"owner@{tenant}.example", "password_hash": "-", "role": "owner",
        "enabled": True, "created_at": T0,
    }


def _checkout(n: int, tenant: str) -> dict[str, object]:
    payment = f"pay_bench_{n:08d}"
    return {
        "id": payment,
        "account_id": tenant,
        "provider": "test",
        "region": REGION,
        "currency": "CNY",
        "amount": Decimal(10 + n % 90),
        "state": PENDING,
        "idempotency_key": f"k{n}",
        "provider_ref": payment,
        "redirect_url": None,
        "created_at": T0,
        "updated_at": T0,
    }


def _callbacks(
    db: Database, provider: TestProvider, ids: list[str], clock: SimulatedClock
) -> list[tuple[bytes, dict[str, str]]]:
    with db.read() as conn:
        found = {c.id: c for c in (payments.repo.get(conn, i) for i in ids) if c is not None}
    signed = [provider.callback(found[i], "succeeded", at=clock.now()) for i in ids]
    return signed + signed[::REPLAYED]


def callbacks_at(url: str, size: int, threads: int) -> tuple[int, Cost, int]:
    """(deliveries, cost, group-commit batches) of `size` checkouts paid, with the replays, on
    a throwaway database."""
    name, bench_url = _throwaway(url)
    try:
        backends = Watched("PostgreSQL")
        engine = watch_backends(make_engine(bench_url), backends)
        upgrade(engine)
        db, clock = Database(engine), SimulatedClock(T0)
        provider = TestProvider()
        group = GroupCommit()
        setup = PaymentSetup(providers={"test": provider}, regions={REGION: ("test",)}, group=group)
        checkouts = _seed(db, clock, size + size // WARM)
        warm, timed = checkouts[: size // WARM], checkouts[size // WARM :]
        deliveries = _callbacks(db, provider, timed, clock)

        def deliver(callback: tuple[bytes, dict[str, str]]) -> None:
            payments.handle_callback(
                db=db,
                clock=clock,
                setup=setup,
                provider="test",
                body=callback[0],
                headers=callback[1],
            )

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(deliver, _callbacks(db, provider, warm, clock)[: len(warm)]))
        with db.begin() as conn:
            conn.execute(text("ANALYZE"))
        batches = group.batches
        with measured(backends) as cost, ThreadPoolExecutor(threads) as pool:
            list(pool.map(deliver, deliveries, chunksize=16))
        batches = group.batches - batches
        _check(db, len(checkouts))
        engine.dispose()
        return len(deliveries), cost, batches
    finally:
        _drop(url, name)


def _check(db: Database, size: int) -> None:
    """Exactly once: N credits, N receipts numbered 1..N, N mails, balances = what was paid."""
    with db.read() as conn:
        credits = conn.execute(
            select(func.count()).where(billing_ledger.c.kind == "topup").select_from(billing_ledger)
        ).scalar_one()
        numbers = sorted(conn.execute(select(billing_documents.c.number)).scalars())
        balances = conn.execute(select(func.sum(billing_accounts.c.balance))).scalar_one()
        paid = conn.execute(select(func.sum(billing_payments.c.amount))).scalar_one()
        mails = conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
    assert credits == size, (credits, size)
    assert mails == size, f"{mails} 'payment received' mails for {size} payments"
    assert numbers == list(range(1, size + 1)), "receipt numbers have a gap or a double"
    assert Decimal(balances) == Decimal(paid), (balances, paid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--threads", type=int, default=THREADS)
    add_options(parser, (1_000, 5_000, 20_000), "checkouts paid")
    args = parser.parse_args()
    verdict = Verdict("payments")
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    for size in args.sizes:
        delivered, cost, batches = callbacks_at(args.database_url, size, args.threads)
        rate = delivered / cost.wall
        print(
            f"{size:>8,} checkouts, {delivered:,} callbacks ({delivered - size:,} replays): "
            f"{rate:,.0f} callbacks/s; {cost.describe()}; each credited exactly once; "
            f"{batches:,} batches of {delivered / max(batches, 1):.1f} callbacks on average"
        )
        verdict.add(f"callbacks per second at {size}", rate, "/s", at_least=GOAL_PER_SECOND)
        verdict.add(f"callbacks per batch at {size}", delivered / max(batches, 1), "")
        rows.append((delivered, cost))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("cost per callback at each size:")
    for delivered, cost in rows:
        print(per_unit_row(delivered, "callbacks", cost))
    verdict.add_sizes("callbacks", "callback", rows)
    sys.stdout.flush()
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
