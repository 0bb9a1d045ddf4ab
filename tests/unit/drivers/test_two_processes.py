"""An API and a ticker as two processes on one database: the ticker finishes what the API began."""

from __future__ import annotations

from datetime import timedelta

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import ServerCreate

from .conftest import PROJECT, USER, ListBus, cirros, make_region


def test_a_ticker_finishes_a_build_that_another_process_started(
    database: Database, clock: SimulatedClock
) -> None:
    ticker = make_region(database, clock, ListBus())
    api = make_region(database, clock, ListBus())
    assert ticker.advance() == 0  # the ticker has looked: nothing is due anywhere

    (server,) = api.create_servers(
        PROJECT, USER, ServerCreate(name="web", flavor_id="2", image_id=cirros())
    )
    clock.advance(timedelta(seconds=10))

    assert ticker.advance() == 1
    assert api.get_server(PROJECT, server.id).status == "ACTIVE"


def test_an_idle_ticker_trusts_its_hint_only_briefly(
    database: Database, clock: SimulatedClock
) -> None:
    ticker = make_region(database, clock, ListBus(), task_seconds=0.5)
    api = make_region(database, clock, ListBus(), task_seconds=0.5)
    ticker.advance()
    api.create_servers(PROJECT, USER, ServerCreate(name="web", flavor_id="2", image_id=cirros()))

    clock.advance(timedelta(seconds=1))
    assert ticker.advance() == 0  # within the hint's trust the ticker does not look again
    clock.advance(timedelta(seconds=1))
    assert ticker.advance() == 1
