"""A game day on the three deployed nodes (issue 20 §4), bounded form.

Deploys with docs/operations.md's commands (tests/nodes/deployment.py). Then, for
CHAOS_SECONDS, while Nova's notifications of a busy stretch (tests/chaos/month.py) are published
to RabbitMQ on sws-n3, readers and a writer of top-ups go through HAProxy, and:
- every KILL_EVERY seconds a random SWS process on sws-n1 or sws-n2 gets kill -9 (the API, the
  ticker or the events worker; one API down at a time);
- PostgreSQL is restarted once, and RabbitMQ once;
- sws-n2 is cut off the network for 30 s (all its packets dropped inside its namespace), then
  healed.
At the end every top-up whose answer was lost is sent again with its key, and then:
- the share of requests answered without error, outside the cut, is at least 99.5%;
- every notification was journalled once (message ids), and none was dead-lettered;
- the ledger, charges and balances of the game day's tenants equal, entry by entry, those of
  a clean single-node run over the same notifications and top-ups (tests/chaos/books.py);
- every unit is back, both APIs are in HAProxy's pool, and `sws billing check` is clean;
- each of the tenant's alarms, whose metric rises and falls as the faults go on
  (tests/chaos/alarms.py), went insufficient_data -> alarm -> ok -> insufficient_data, and its
  webhook got each transition under one delivery id, none lost and none made twice.

In `make test`'s `nodes` stage (SWS_TEST_NODES=1, as root), or alone with `make nodes-chaos`;
SWS_CHAOS_SECONDS sets the length (at least 90: the cut starts at 50 s).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from sws.db.engine import make_engine
from tests.chaos.alarms import EXPECTED, Receiver, RiseAndFall, fired, histories, receiving
from tests.chaos.books import Books, TopUp, books, single_node
from tests.chaos.faults import Faults, Publisher, Tally, Writer, reads
from tests.chaos.month import BusyStretch, notifications, phases
from tests.nodes.deployment import (
    ADMIN,
    DB_URL,
    OPT_IN,
    api_backends_up,
    login,
    node,
)

pytestmark = OPT_IN

CHAOS_SECONDS = max(90.0, float(os.environ.get("SWS_CHAOS_SECONDS", "100")))
KILL_EVERY = 4.0
POSTGRES_AT, RABBITMQ_AT, CUT_AT, CUT_SECONDS = 15.0, 35.0, 50.0, 30.0
READERS = 3
NODES = ("sws-n1", "sws-n2")
UNITS = ("sws-api@8001", "sws-ticker", "sws-events@1")
GOAL = 0.995
TENANTS, INSTANCES = 12, 15
STARTING_CASH = "2000.00"
ALARMS, ALARM_LEAD = 12, 20.0  # the alarms rise at the first whole minute 20 s after the start


@pytest.fixture(scope="module")
def webhooks() -> Iterator[tuple[Receiver, str]]:
    with receiving() as receiver_and_url:
        yield receiver_and_url


@pytest.fixture(scope="module")
def cluster_db() -> Iterator[Engine]:
    engine = make_engine(DB_URL)
    yield engine
    engine.dispose()


def tenants(front: httpx.Client, admin: dict[str, str], run: str) -> dict[str, str]:
    """The game day's tenants, by name, each with its starting cash; and a member of the first."""
    ids = {}
    for n in range(TENANTS):
        name = f"{run}-t{n:02d}"
        made = front.post("/v1/admin/tenants", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
        ids[name] = made.json()["id"]
        cash = {"amount": STARTING_CASH, "currency": "CNY", "idempotency_key": f"{name}-start"}
        paid = front.post(f"/v1/admin/billing/{ids[name]}/topups", json=cash, headers=admin)
        assert paid.status_code == 201, paid.text
    return ids


def a_member(
    front: httpx.Client, admin: dict[str, str], tenant_id: str, run: str
) -> dict[str, str]:
    user = {"tenant_id": tenant_id, "name": f"{run}-reader", "password": "chaos-load-1"}
    assert front.post("/v1/admin/users", json=user, headers=admin).status_code == 201
    return login(front, user["name"], user["password"])


def the_month_so_far(names: tuple[str, ...]) -> BusyStretch:
    """The month up to two hours ago, from its first day, and at least 36 h: early in a month
    that reaches into the month before, which the ticker closes only on the 4th of the next
    (`close_delay_hours`), so no month closes during the game day."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    start = min(end.replace(day=1, hour=0, minute=0), end - timedelta(hours=36))
    return BusyStretch(tenants=names, instances=INSTANCES, start=start, end=end)


def settled(front: httpx.Client) -> None:
    """Every SWS unit active again and both APIs in HAProxy's pool (within 90 s)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = {(n, u): node(n, "systemctl", "is-active", u, check=False).stdout.strip()
                  for n in NODES for u in UNITS}
        if set(states.values()) == {"active"} and len(api_backends_up()) == 2:
            return
        time.sleep(2)
    raise AssertionError(f"not back after 90 s: {states}, HAProxy has {api_backends_up()}")


def converged(engine: Engine, names: list[str], want: Books, seconds: float) -> Books:
    """The cluster's books once they equal `want`, or as they stand after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        have = books(engine, names)
        if have == want or time.monotonic() > deadline:
            return have
        time.sleep(3)


def differences(have: Books, want: Books) -> str:
    lines = []
    for part in want:
        extra = sorted(set(have[part]) - set(want[part]))[:5]
        missing = sorted(set(want[part]) - set(have[part]))[:5]
        lines.append(f"{part}: {len(have[part])} rows against {len(want[part])}; "
                     f"extra {extra}; missing {missing}")
    return "\n".join(lines)


def test_a_game_day_keeps_the_books_of_a_calm_single_node(
    front: httpx.Client, cluster_db: Engine, webhooks: tuple[Receiver, str]
) -> None:
    run = f"chaos-{uuid.uuid4().hex[:6]}"
    admin = login(front, ADMIN["name"], ADMIN["password"])
    ids = tenants(front, admin, run)
    member = a_member(front, admin, ids[min(ids)], run)
    receiver, url = webhooks
    rising = RiseAndFall.starting_soon(run, ids[min(ids)], ALARMS, lead=ALARM_LEAD)
    alarm_ids = rising.create(front, member, url)
    rising.load(cluster_db)
    stretch = the_month_so_far(tuple(sorted(ids)))
    made = notifications(stretch, ids)
    month = time.strftime("%Y-%m", time.gmtime())
    paths = [("/v1/servers", member), (f"/v1/billing/bills/{month}", member),
             ("/v1/admin/tenants", admin)]

    tally, faults, stop, rng = Tally(), Faults(), threading.Event(), random.Random(20)
    writer = Writer(admin, ids, run)
    publisher = Publisher(cluster_db, rate=len(made) / (CHAOS_SECONDS * 0.6))
    publishing = threading.Event()
    threads = [threading.Thread(target=reads, args=(tally, stop, paths), daemon=True)
               for _ in range(READERS)]
    threads.append(threading.Thread(target=writer.run_until, args=(tally, stop), daemon=True))
    feeder = threading.Thread(target=publisher.run, daemon=True,
                              args=(phases(made), publishing))
    for thread in [*threads, feeder]:
        thread.start()
    next_kill = KILL_EVERY

    def tick() -> None:
        nonlocal next_kill
        if time.monotonic() - faults.started >= next_kill:
            faults.kill_one(rng, NODES, UNITS)
            next_kill += KILL_EVERY
        time.sleep(0.2)

    try:
        for at, fault in ((POSTGRES_AT, lambda: faults.restart("sws-n3", "postgresql")),
                          (RABBITMQ_AT, lambda: faults.restart("sws-n3", "rabbitmq-server")),
                          (CUT_AT, lambda: faults.partition("sws-n2", CUT_SECONDS, tick))):
            while time.monotonic() - faults.started < at:
                tick()
            fault()
        while time.monotonic() - faults.started < CHAOS_SECONDS:
            tick()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    seconds = time.monotonic() - faults.started
    good, total = tally.share(outside=faults.cut)
    print(f"\ngame day: {seconds:.0f} s; {sum(faults.kills.values())} kill -9 "
          f"({dict(faults.kills)});\n  " + "\n  ".join(faults.log + publisher.log))
    print(f"requests: {total} outside the cut, {good} answered without error "
          f"({good / max(total, 1):.2%}); all: {tally.share()}; answers {dict(tally.answers)}")

    settled(front)
    feeder.join(timeout=180)
    publishing.set()
    journalled = publisher.journalled(n.message_id for n in made)
    top_ups = [TopUp(name, STARTING_CASH, f"{name}-start") for name in ids]
    top_ups += writer.settle(front)
    want = single_node(stretch, top_ups, now=datetime.now(UTC))
    have = converged(cluster_db, list(ids), want, seconds=180)
    print(f"notifications: {len(made)} made, {publisher.sent} sent, {journalled} journalled; "
          f"top-ups: {len(top_ups)} ({len(writer.unsure)} sent again); ledger rows "
          f"{len(have['ledger'])} here, {len(want['ledger'])} in the single-node run")

    assert total > 0 and good / total >= GOAL, f"{good / total:.2%} answered, below {GOAL:.1%}"
    assert journalled == len(made), f"{journalled} of {len(made)} notifications journalled"
    assert publisher.dead_letters() == 0
    assert have == want, differences(have, want)
    assert len(api_backends_up()) == 2
    notified = fired(receiver, alarm_ids, rising.settled_at)
    recorded = histories(front, member, alarm_ids)
    print(f"alarms: {len(alarm_ids)} rising at {rising.rise:%H:%M:%S}; "
          f"{sum(map(len, notified.values()))} transitions notified, "
          f"{len(receiver.refused)} first attempts refused, {receiver.repeats()} repeated, "
          f"{receiver.forged} badly signed")
    assert receiver.forged == 0
    assert all(seen == EXPECTED for seen in recorded.values()), recorded
    assert notified == recorded, notified
    check = node("sws-n2", "/usr/local/sbin/sws", "billing", "check")
    assert "0 mismatches, 0 double charges" in check.stdout, check.stdout

