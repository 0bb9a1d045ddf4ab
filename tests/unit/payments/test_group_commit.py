"""The group commit's lanes: which thread applies which events together, with a fake in place
of the database work (each batch is recorded; some are held until the test lets them go)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from sws.billing.payments import group
from sws.billing.payments.applying import Applied
from sws.billing.payments.group import GroupCommit
from sws.billing.payments.model import CallbackRejected, PaymentEvent
from sws.clock import SimulatedClock
from sws.db.engine import Database

WAIT = 5.0  # seconds a step may take before the test fails


class Batches:
    """Records each batch's payment ids; a batch holding a gated id waits for its gate."""

    def __init__(self, pause: Callable[[], None] = lambda: None) -> None:
        self.seen: list[list[str]] = []
        self.gates: dict[str, threading.Event] = {}
        self.pause = pause
        self._lock = threading.Lock()

    def __call__(
        self, *, db: Database, clock: object, events: Sequence[PaymentEvent], issuing: object
    ) -> list[Applied | CallbackRejected]:
        ids = [e.payment_id for e in events]
        with self._lock:
            self.seen.append(ids)
        for payment_id in ids:
            if payment_id in self.gates:
                assert self.gates[payment_id].wait(WAIT), f"gate {payment_id} never opened"
        self.pause()
        return [Applied(e.payment_id, "t", "succeeded", credited=True) for e in events]


def _event(payment_id: str) -> PaymentEvent:
    return PaymentEvent("test", f"evt_{payment_id}", payment_id, "succeeded")


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the group commit never got there"
        time.sleep(0.001)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Batches:
    fake = Batches()
    monkeypatch.setattr(group, "apply_events", fake)
    return fake


def test_a_lane_leaves_a_short_queue_to_the_lane_still_busy(batches: Batches) -> None:
    commit = GroupCommit(lanes=2, spill=3)
    db, clock = Database.__new__(Database), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    batches.gates = {"a": threading.Event(), "b": threading.Event()}
    done: dict[str, Applied] = {}

    def pay(payment_id: str) -> None:
        done[payment_id] = commit.apply(db=db, clock=clock, event=_event(payment_id), issuing=None)

    threads = {p: threading.Thread(target=pay, args=(p,)) for p in "abcde"}
    threads["a"].start()  # the first lane, held on a
    _until(lambda: batches.seen == [["a"]])
    for payment_id in "bc":  # too few to open a second lane
        threads[payment_id].start()
    _until(lambda: len(commit._queue) == 2)
    threads["d"].start()  # the third waiting opens it: b, c and d, held on b
    _until(lambda: batches.seen == [["a"], ["b", "c", "d"]])
    threads["e"].start()
    _until(lambda: len(commit._queue) == 1)

    batches.gates["b"].set()  # the second lane is done; e alone waits: it leaves e
    for payment_id in "bcd":
        threads[payment_id].join(WAIT)
    assert set(done) == {"b", "c", "d"} and batches.seen == [["a"], ["b", "c", "d"]]

    batches.gates["a"].set()  # the first lane takes e after its own batch
    for thread in threads.values():
        thread.join(WAIT)
    assert batches.seen == [["a"], ["b", "c", "d"], ["e"]]
    assert set(done) == set("abcde")
    assert commit._leaders == 0 and not commit._queue


def test_alone_a_lane_applies_what_is_queued_however_little(batches: Batches) -> None:
    commit = GroupCommit(lanes=2, spill=20)
    db, clock = Database.__new__(Database), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    batches.gates = {"a": threading.Event()}
    threads = [
        threading.Thread(target=commit.apply,
                         kwargs={"db": db, "clock": clock, "event": _event(p), "issuing": None})
        for p in "ab"
    ]
    threads[0].start()
    _until(lambda: batches.seen == [["a"]])
    threads[1].start()
    _until(lambda: len(commit._queue) == 1)
    batches.gates["a"].set()
    for thread in threads:
        thread.join(WAIT)
    assert batches.seen == [["a"], ["b"]]


def test_every_event_is_applied_once_whatever_the_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    chance = random.Random(15)
    fake = Batches(pause=lambda: time.sleep(chance.random() / 500))
    monkeypatch.setattr(group, "apply_events", fake)
    commit = GroupCommit(lanes=2, spill=5)
    db, clock = Database.__new__(Database), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    ids = [f"pay_{n}" for n in range(600)]

    def pay(payment_id: str) -> str:
        time.sleep(chance.random() / 2000)
        return commit.apply(db=db, clock=clock, event=_event(payment_id), issuing=None).payment_id

    with ThreadPoolExecutor(24) as pool:
        paid = list(pool.map(pay, ids))

    assert paid == ids
    applied = [p for batch in fake.seen for p in batch]
    assert sorted(applied) == sorted(ids)
    assert max(len(batch) for batch in fake.seen) > 1  # they did share transactions
    assert commit._leaders == 0 and not commit._queue
