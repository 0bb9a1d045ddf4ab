"""The farmer on PostgreSQL: kill -9 at random points, and two farmers at once.

Each run seeds the same cloud (12 tenants, the sample catalog, top-ups, coupons and 120
instances over a week of events) into a throwaway database, then charges it with
`sws billing settle --until ...` run as a subprocess. The ledger of a run killed 20 times and
then finished, and of two farmers racing, must equal the ledger of one clean run, entry by entry.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sws.billing import farmer
from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.model import LIFETIME_ITEMS
from sws.billing.tables import billing_charges, billing_ledger, billing_subscriptions
from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws.events import repository as events_repo
from sws.identity import service as identity
from sws.money import Money
from tests.budget import repeats
from tests.servicedb import postgres_database
from tests.unit.billing.helpers import event

pytestmark = [pytest.mark.postgres, pytest.mark.chaos]
T0 = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
UNTIL = (T0 + timedelta(days=7)).isoformat()
CATALOG = Path(billing.__file__).with_name("prices.yaml")
FLAVORS = ("m1.small", "m1.medium", "ssd.tiny", "m1.large", "m1.xlarge")


def _seed(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    db, clock = Database(engine), SimulatedClock(T0)
    billing.load_catalog_text(db=db, clock=clock, text=CATALOG.read_text())
    rng = random.Random(7)
    for name in [f"tenant-{n:02d}" for n in range(12)]:
        tenant = identity.create_tenant(db=db, clock=clock, name=name, currency="CNY")
        billing.top_up(
            db=db,
            clock=clock,
            tenant_id=tenant.id,
            amount=Money.of("300", "CNY"),
            idempotency_key=f"seed-{name}",
        )
        billing.grant_coupon(
            db=db,
            clock=clock,
            tenant_id=tenant.id,
            amount=Money.of("25", "CNY"),
            expires_at=T0 + timedelta(days=30),
            idempotency_key=f"c-{name}",
        )
        _instances(db, tenant.id, name, rng)
    engine.dispose()


def _instances(db: Database, project: str, name: str, rng: random.Random) -> None:
    events = []
    for n in range(10):
        rid, start = f"{name}-vm-{n}", T0 + timedelta(minutes=rng.randrange(0, 3000))
        flavor = FLAVORS[n % len(FLAVORS)]
        mine = {"resource_id": rid, "project_id": project}
        events.append(event(f"{rid}-c", "create", start, flavor=flavor, **mine))
        if n % 3 == 0:
            resized = start + timedelta(minutes=rng.randrange(30, 900))
            events.append(event(f"{rid}-r", "resize_finish", resized, flavor="m1.medium", **mine))
        if n % 2 == 0:
            deleted = start + timedelta(minutes=rng.randrange(60, 2000))
            events.append(event(f"{rid}-d", "delete", deleted, flavor=flavor, **mine))
    with db.begin() as conn:
        events_repo.insert_events(conn, events, region="RegionOne", received_at=T0)


def _settle(url: str, home: Path, batch: int = 5) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SWS_DATABASE_URL": url, "SWS_HOME": str(home)}
    command = [
        sys.executable,
        "-c",
        "from sws.cli import main; main()",
        "billing",
        "settle",
        "--until",
        UNTIL,
        "--batch",
        str(batch),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen[bytes]) -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode()


def _ledger(url: str) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, datetime, str]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        entries = sorted(
            (r.idempotency_key, str(r.amount), r.coupon_id)
            for r in conn.execute(select(billing_ledger))
        )
        charges = sorted(
            (r.subscription_id, r.period_start, str(r.amount))
            for r in conn.execute(select(billing_charges))
        )
    assert billing.check(db=Database(engine)).ok
    engine.dispose()
    return entries, charges


def _wait_for_progress(url: str, process: subprocess.Popen[bytes], before: int) -> None:
    deadline = time.monotonic() + 60
    engine = make_engine(url)
    charged = select(func.count()).select_from(billing_charges)
    with engine.connect() as conn:
        while process.poll() is None and time.monotonic() < deadline:
            if conn.execute(charged).scalar_one() > before:
                break
            conn.rollback()
            time.sleep(0.01)
    engine.dispose()


def _count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = len(conn.execute(select(billing_charges.c.id)).all())
    engine.dispose()
    return count


@pytest.fixture
def clean_ledger(
    tmp_path: Path,
) -> Iterator[tuple[list[tuple[str, str, str | None]], list[tuple[str, datetime, str]]]]:
    with postgres_database() as url:
        _seed(url)
        _finish(_settle(url, tmp_path, batch=500))
        yield _ledger(url)


def test_7_kill_minus_9_twenty_times_gives_the_clean_ledger(
    tmp_path: Path,
    clean_ledger: tuple[list[tuple[str, str, str | None]], list[tuple[str, datetime, str]]],
) -> None:
    rng = random.Random(20)
    with postgres_database() as url:
        _seed(url)
        seen = [0]
        for _ in range(repeats(20)):
            process = _settle(url, tmp_path, batch=1)
            _wait_for_progress(url, process, seen[-1])  # the pass is under way...
            # ...then a random moment later, within the few ms the rest of the pass takes:
            time.sleep(rng.uniform(0, 0.005))
            process.send_signal(signal.SIGKILL)
            process.wait()
            seen.append(_count(url))
        _finish(_settle(url, tmp_path))
        entries, charges = _ledger(url)
    assert len(charges) > 3000
    assert any(0 < n < len(charges) for n in seen), seen  # some kills landed mid-pass
    assert (entries, charges) == clean_ledger


def test_8_two_farmers_on_one_database_give_the_ledger_of_one(
    tmp_path: Path,
    clean_ledger: tuple[list[tuple[str, str, str | None]], list[tuple[str, datetime, str]]],
) -> None:
    with postgres_database() as url:
        _seed(url)
        farmers = [_settle(url, tmp_path, batch=5), _settle(url, tmp_path, batch=5)]
        for process in farmers:
            _finish(process)
        assert _ledger(url) == clean_ledger


def test_9_a_sync_under_way_holds_whole_accounts_never_part_of_one() -> None:
    """While a sync transaction is open, a charger charges each account it can take whole.

    The sync re-reads every resource (as its overlap does) and one of them has a late event.
    Its owner waits for the sync; every other account is charged in full, none in part.
    """
    with postgres_database() as url:
        _seed(url)
        db = Database(make_engine(url))
        clock = SimulatedClock(datetime.fromisoformat(UNTIL))
        policy, policies = billing.load_policy(db=db)
        catalog = billing.load_catalog(db=db)
        farmer.sync(db=db, clock=clock, policy=policy, policies=policies)
        with db.begin() as conn:
            tenants = identity.list_tenants(db=db, limit=100, marker=None)
            owner = next(t.id for t in tenants if t.name == "tenant-00")
            resized = event("late-resize", "resize_finish", T0 + timedelta(hours=60),
                            flavor="m1.large", resource_id="tenant-00-vm-1", project_id=owner)
            events_repo.insert_events(conn, [resized], region="RegionOne", received_at=T0)
        with db.begin() as conn:  # the sync, caught in the middle of its transaction
            keys, _ = repo.changed_resources(
                conn, after_id=0, types=LIFETIME_ITEMS, limit=farmer.SYNC_ROWS
            )
            assert farmer._resync(conn, keys, policy, policies, clock.now()) == 1
            report = farmer.charge_due(db=db, clock=clock, catalog=catalog, batch=500)
            assert owner not in report.accounts and len(report.accounts) == 11
            with db.read() as other:
                due = other.execute(
                    select(billing_subscriptions.c.account_id).where(
                        billing_subscriptions.c.due_at <= clock.now()
                    )
                ).scalars()
                assert set(due) == {owner}  # all of the others' periods are charged
        after = farmer.charge_due(db=db, clock=clock, catalog=catalog, batch=500)
        assert after.accounts == {owner}
        assert billing.check(db=db).ok
        db.engine.dispose()
