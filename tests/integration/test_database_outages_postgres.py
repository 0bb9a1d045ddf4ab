"""A PostgreSQL restart as SWS's processes meet it, on a real server.

- while the server refuses connections (restarting), a transaction waits and then goes through;
- a server that stays away gives `Unavailable` (the API's 503), not a driver's exception (500),
  and so, at once, does a database that is not there: no wait mends that;
- a connection cut mid-transaction gives `Unavailable` too, and nothing of it is written.

The restart is a TCP relay in front of the test's PostgreSQL that starts listening late: the
address refuses connections as a restarting server's does, then reaches the real server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from sws.billing.tables import billing_settings
from sws.db.engine import Database, make_engine
from sws.errors import Unavailable
from tests.servicedb import postgres_database

pytestmark = pytest.mark.postgres


class Pauses:
    """The injected sleep: sleeps for real and keeps what it was asked."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)
        time.sleep(seconds)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


@contextmanager
def relay_opening_after(delay: float, *, to: tuple[str, int]) -> Iterator[int]:
    """A port that refuses connections for `delay` seconds, then relays them to `to`."""
    port, stop = _free_port(), threading.Event()

    def serve() -> None:
        time.sleep(delay)
        with socket.create_server(("127.0.0.1", port)) as server:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(to)
                for ends in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=ends, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)


def _through(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_a_transaction_waits_out_a_restart_and_goes_through(pg_url: str) -> None:
    real = make_url(pg_url)
    pauses = Pauses()
    with relay_opening_after(0.6, to=(real.host or "127.0.0.1", real.port or 5432)) as port:
        db = Database(make_engine(_through(pg_url, port)), patience=8, sleep=pauses)
        with db.begin() as conn:
            conn.execute(billing_settings.insert().values(name="restart", value="survived"))
        with db.read() as conn:
            saved = conn.execute(select(billing_settings.c.value)).scalar_one()
        db.engine.dispose()
    assert saved == "survived"
    assert sum(pauses.taken) >= 0.5  # it waited while the port refused
    assert max(pauses.taken) <= 1.0  # in pauses that grow to a second at most


def test_a_database_that_stays_away_is_unavailable(pg_url: str) -> None:
    pauses = Pauses()
    db = Database(make_engine(_through(pg_url, _free_port())), patience=0.3, sleep=pauses)
    with pytest.raises(Unavailable) as raised, db.read() as conn:
        conn.execute(text("SELECT 1"))
    assert raised.value.status == 503
    assert "database" in raised.value.detail
    assert sum(pauses.taken) >= 0.3


def test_a_connection_cut_mid_transaction_is_unavailable_and_writes_nothing(pg_url: str) -> None:
    db = Database(make_engine(pg_url))
    admin = make_engine(pg_url)
    with pytest.raises(Unavailable), db.begin() as conn:
        conn.execute(billing_settings.insert().values(name="half", value="written"))
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.begin() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        conn.execute(text("SELECT 1"))
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(billing_settings)).scalar_one() == 0
    admin.dispose()
    db.engine.dispose()


def test_a_missing_database_fails_at_once_without_waiting(pg_url: str) -> None:
    pauses = Pauses()
    wrong = make_url(pg_url).set(database="sws_no_such_database")
    db = Database(make_engine(wrong.render_as_string(hide_password=False)), patience=8,
                  sleep=pauses)
    with pytest.raises(Unavailable, match="refused"), db.read() as conn:
        conn.execute(text("SELECT 1"))
    assert pauses.taken == []  # waiting mends no database name
