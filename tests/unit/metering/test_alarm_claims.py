"""Alarm notices are claimed before they are sent: one process sends each at a time, and a
claim left by a process that died runs out, so another sends the notice later."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sws.clock import Clock, SimulatedClock
from sws.db.engine import Database
from sws.metering import alarms
from sws.metering import repository as repo
from sws.metering.tables import alarm_deliveries

CLAIM = alarms.DeliveryPolicy().claim
SECOND = timedelta(seconds=1)


class Recorder:
    """A notifier that records each send, then runs `during` (another process, a crash)."""

    def __init__(self, pause: float = 0.0, during: Callable[[], None] | None = None) -> None:
        self.sent: list[str] = []
        self._pause, self._during = pause, during
        self._lock = threading.Lock()

    def send(self, action: dict[str, Any], body: bytes, delivery_id: str) -> None:
        time.sleep(self._pause)
        with self._lock:
            self.sent.append(delivery_id)
        if self._during is not None:
            self._during()


class Crash(Exception):
    """The process dies between sending a notice and recording it."""


def queue(db: Database, clock: Clock, count: int = 1) -> set[str]:
    """`count` webhook notices due now; their delivery ids."""
    ids = {str(uuid.uuid4()) for _ in range(count)}
    action = {"type": "webhook", "url": "http://receiver.invalid/hook", "secret": "s" * 24}
    with db.begin() as conn:
        for delivery_id in ids:
            notice = {"delivery_id": delivery_id, "current": "alarm"}
            repo.insert_delivery(conn, delivery_id, "alarm-1", action, notice, clock.now())
    return ids


def _row(db: Database, delivery_id: str) -> Any:
    with db.read() as conn:
        query = select(alarm_deliveries).where(alarm_deliveries.c.id == delivery_id)
        return conn.execute(query).one()


def _crash() -> None:
    raise Crash


def test_a_claimed_notice_goes_to_no_other_process_until_the_claim_runs_out(
    database: Database, clock: SimulatedClock
) -> None:
    (delivery_id,) = queue(database, clock)
    first = Recorder(during=_crash)
    with pytest.raises(Crash):
        alarms.deliver_due(db=database, clock=clock, notifiers=first)
    second = Recorder()
    assert sum(alarms.deliver_due(db=database, clock=clock, notifiers=second).values()) == 0
    clock.advance(CLAIM - SECOND)
    assert sum(alarms.deliver_due(db=database, clock=clock, notifiers=second).values()) == 0
    clock.advance(SECOND)
    assert alarms.deliver_due(db=database, clock=clock, notifiers=second)["delivered"] == 1
    assert first.sent == second.sent == [delivery_id]  # the same X-SWS-Delivery id again
    assert _row(database, delivery_id).status == "delivered"


def test_a_second_process_leaves_the_notice_in_flight_and_sends_the_others(
    database: Database, clock: SimulatedClock
) -> None:
    ids = queue(database, clock, 3)
    second = Recorder()
    outcomes: list[dict[str, int]] = []

    def other_process() -> None:
        outcomes.append(alarms.deliver_due(db=database, clock=clock, notifiers=second))

    first = Recorder(during=other_process)
    assert alarms.deliver_due(db=database, clock=clock, notifiers=first)["delivered"] == 1
    assert outcomes == [{"delivered": 2, "retrying": 0, "dead": 0, "overtaken": 0}]
    assert sorted(first.sent + second.sent) == sorted(ids) and first.sent[0] not in second.sent
    assert {_row(database, i).status for i in ids} == {"delivered"}


def test_a_sender_whose_claim_ran_out_cannot_record_over_the_next_claim(
    database: Database, clock: SimulatedClock
) -> None:
    (delivery_id,) = queue(database, clock)
    with database.begin() as conn:
        late = repo.claim_delivery(conn, delivery_id, clock.now(), clock.now() + CLAIM)
    clock.advance(CLAIM)
    with database.begin() as conn:
        taken = repo.claim_delivery(conn, delivery_id, clock.now(), clock.now() + CLAIM)
        assert not repo.mark_delivery(conn, delivery_id, "dead", 1,
                                      claimed_until=late.next_attempt_at)
        assert repo.mark_delivery(conn, delivery_id, "delivered", 1,
                                  claimed_until=taken.next_attempt_at)
    assert _row(database, delivery_id).status == "delivered"


class Refusing(Recorder):
    """A receiver that answers with an error, after `during`."""

    def send(self, action: dict[str, Any], body: bytes, delivery_id: str) -> None:
        super().send(action, body, delivery_id)
        raise alarms.DeliveryFailed("HTTP 503")


@pytest.mark.parametrize("slow", [Recorder, Refusing], ids=["sent", "refused"])
def test_a_send_that_outlives_its_claim_counts_as_overtaken_not_as_its_outcome(
    database: Database, clock: SimulatedClock, slow: type[Recorder]
) -> None:
    """The metric says what happened: the notice is the other process's now, which counts it
    (and sends it again under the same id); the slow sender's outcome is not recorded."""
    (delivery_id,) = queue(database, clock)
    other: list[dict[str, int]] = []

    def claim_runs_out_and_another_process_sends() -> None:
        clock.advance(CLAIM)
        other.append(alarms.deliver_due(db=database, clock=clock, notifiers=Recorder()))

    late = slow(during=claim_runs_out_and_another_process_sends)
    counts = alarms.deliver_due(db=database, clock=clock, notifiers=late)
    assert counts == {"delivered": 0, "retrying": 0, "dead": 0, "overtaken": 1}
    assert other == [{"delivered": 1, "retrying": 0, "dead": 0, "overtaken": 0}]
    assert _row(database, delivery_id).status == "delivered"
