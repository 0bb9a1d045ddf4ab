"""Leadership on a real database with the simulated clock: take-over, fencing, stepping down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.leases import service as leases
from sws.leases.model import LeaseTerms
from sws.metering import alarms, service
from sws.metering.model import Sample
from sws.metering.targets import WebhookTargets

TERMS = LeaseTerms.of_seconds(ttl=6, renew=2)


def _leader(db: Database, clock: SimulatedClock, holder: str) -> leases.Leadership:
    return leases.Leadership(db=db, clock=clock, name="alarm-evaluator", terms=TERMS,
                             holder=holder)


def test_a_standby_leads_once_the_leader_stops_renewing(
    database: Database, clock: SimulatedClock
) -> None:
    a, b = _leader(database, clock, "a"), _leader(database, clock, "b")
    assert a.fence() is not None and b.fence() is None
    for _ in range(10):  # a renews every 2 s: b never gets in
        clock.advance(timedelta(seconds=2))
        assert a.fence() is not None and b.fence() is None
    # a dies (no more renewals): b leads at its first ask after the TTL, with the next epoch
    waited = timedelta(0)
    while (fence := b.fence()) is None:
        clock.advance(timedelta(seconds=1))
        waited += timedelta(seconds=1)
    assert fence.epoch == 2 and waited <= TERMS.ttl + TERMS.renew
    lease = leases.lease_of(db=database, name="alarm-evaluator")
    assert lease is not None and lease.holder == "b"


def test_a_paused_leader_that_wakes_up_is_refused(
    database: Database, clock: SimulatedClock
) -> None:
    a, b = _leader(database, clock, "a"), _leader(database, clock, "b")
    assert a.fence() is not None
    clock.advance(timedelta(seconds=7))  # a is paused past its TTL
    assert b.fence() is not None
    with database.begin() as conn, pytest.raises(leases.LeaseLost):
        a.check(conn)
    with database.begin() as conn:
        b.check(conn)  # the new leader writes


def test_work_begun_in_an_older_term_is_refused_even_if_the_lease_came_back(
    database: Database, clock: SimulatedClock
) -> None:
    a = _leader(database, clock, "a")
    first = a.fence()
    clock.advance(timedelta(seconds=30))  # lapsed; nobody else claimed; a claims again
    with database.begin() as conn, pytest.raises(leases.LeaseLost):
        a.check(conn)
    assert first is not None and a.fence() is not None
    assert a.fence() != first  # the next pass starts in the new term, and may write
    with database.begin() as conn:
        a.check(conn)


def test_stepping_down_lets_a_standby_lead_at_once(
    database: Database, clock: SimulatedClock
) -> None:
    a, b = _leader(database, clock, "a"), _leader(database, clock, "b")
    assert a.fence() is not None and b.fence() is None
    a.step_down()
    clock.advance(TERMS.renew)  # b's next ask, long before the TTL
    assert b.fence() is not None


# ---- a stale alarm evaluator cannot fire a transition twice --------------------------------

ALARMS = 5


def _hot_alarms(db: Database, clock: SimulatedClock) -> None:
    rule = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "gt",
            "threshold": 80.0, "granularity": 60, "evaluation_periods": 1}
    for n in range(ALARMS):
        alarms.create_alarm(db=db, clock=clock, project_id="proj", name=f"hot-{n}", rule=rule,
                            actions={}, targets=WebhookTargets())
    service.ingest(db=db, clock=clock,
                   samples=[Sample("srv", "proj", "cpu_util", "", clock.now(), 95.0)])
    clock.advance(timedelta(minutes=1))


class PausedAfterFirst:
    """Lets the first alarm through, then 'pauses' the leader: the clock runs past its TTL
    and another evaluator takes over and evaluates everything before this one goes on."""

    def __init__(self, inner: leases.Guard | None, takeover: leases.Leadership,
                 db: Database, clock: SimulatedClock) -> None:
        self.inner, self.takeover, self.db, self.clock = inner, takeover, db, clock
        self.calls = 0

    def check(self, conn: Connection) -> None:
        self.calls += 1
        if self.calls == 2:
            self.clock.advance(TERMS.ttl + TERMS.renew)
            assert self.takeover.fence() is not None
            alarms.evaluate_alarms(db=self.db, clock=self.clock, guard=self.takeover)
        if self.inner is not None:
            self.inner.check(conn)


def _transitions(db: Database) -> list[int]:
    found = alarms.list_alarms(db=db, project_id="proj")
    return [len(alarms.history(db=db, project_id="proj", alarm_id=a.id)) for a in found]


def test_a_stale_evaluator_fires_nothing_the_new_leader_already_fired(
    database: Database, clock: SimulatedClock
) -> None:
    _hot_alarms(database, clock)
    a, b = _leader(database, clock, "a"), _leader(database, clock, "b")
    assert a.fence() is not None
    with pytest.raises(leases.LeaseLost):
        alarms.evaluate_alarms(db=database, clock=clock,
                               guard=PausedAfterFirst(a, b, database, clock))
    assert _transitions(database) == [1] * ALARMS  # insufficient_data -> alarm, once each


def test_without_the_lease_the_same_pause_fires_transitions_twice(
    database: Database, clock: SimulatedClock
) -> None:
    """The scenario above is a real hazard: unfenced, the stale pass repeats transitions."""
    _hot_alarms(database, clock)
    b = _leader(database, clock, "b")
    alarms.evaluate_alarms(db=database, clock=clock,
                           guard=PausedAfterFirst(None, b, database, clock))
    assert sorted(_transitions(database)) == [1] + [2] * (ALARMS - 1)
