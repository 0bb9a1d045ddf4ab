"""`sws worker reconcile --once` and friends: one pass as the leader, one after another, and
exit 1 when another process holds the lease the whole time."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
import typer

from sws.clock import SystemClock
from sws.commands import workers
from sws.commands.workers import _as_leader
from sws.db.engine import Database
from sws.leases import service as leases
from sws.leases.model import LeaseTerms

# Long enough that a pass on a loaded machine keeps its lease (0.3 s lost it once in CI's unit
# tier); the give-up test waits two of them.
TERMS = LeaseTerms.of_seconds(ttl=2, renew=0.5)


@pytest.fixture(autouse=True)
def no_signal_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's stop event without installing SIGTERM/SIGINT handlers in the test process."""
    monkeypatch.setattr(workers, "_stop_event", threading.Event)


def _container(db: Database) -> Any:
    return SimpleNamespace(db=db, clock=SystemClock(),
                           settings=SimpleNamespace(lease_terms=TERMS))


def test_one_pass_runs_once_per_invocation_and_steps_down(database: Database) -> None:
    passes: list[leases.Fence | None] = []

    def work(guard: leases.Guard) -> None:
        with database.begin() as conn:
            guard.check(conn)  # it leads, in this transaction
        assert isinstance(guard, leases.Leadership)
        passes.append(guard.fence())

    _as_leader(_container(database), "reconciler:RegionOne", work, every=60, once=True)
    _as_leader(_container(database), "reconciler:RegionOne", work, every=60, once=True)
    assert len(passes) == 2
    assert passes[0] is not None and passes[1] is not None
    assert passes[1].epoch == passes[0].epoch + 1  # the second process, its own term
    lease = leases.lease_of(db=database, name="reconciler:RegionOne")
    assert lease is not None and not lease.live(SystemClock().now())  # stepped down


def test_once_gives_up_while_another_process_leads(database: Database) -> None:
    other = leases.Leadership(db=database, clock=SystemClock(), name="reconciler:RegionOne",
                              terms=LeaseTerms.of_seconds(ttl=60, renew=1))
    assert other.fence() is not None
    ran: list[bool] = []
    with pytest.raises(typer.Exit) as stopped:
        _as_leader(_container(database), "reconciler:RegionOne", lambda _g: ran.append(True),
                   every=60, once=True)
    assert stopped.value.exit_code == 1 and ran == []
