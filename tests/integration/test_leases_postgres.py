"""Leader fail-over with two real `sws worker alarms` processes on PostgreSQL.

- kill -9 the leader: the standby leads within 10 s (the default TTL 6 s + renew 2 s);
- SIGSTOP the leader in the middle of a pass, let the standby take over and finish it, then
  SIGCONT the old leader: it acts on nothing (fencing), so every alarm transition fired once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sws.clock import SystemClock
from sws.db.engine import Database, make_engine
from sws.leases import service as leases
from sws.metering import alarms, service
from sws.metering.model import Sample
from sws.metering.tables import alarm_history
from sws.metering.tables import alarms as alarm_table
from sws.metering.targets import WebhookTargets
from tests.servicedb import postgres_database

pytestmark = pytest.mark.postgres
FAIL_OVER_LIMIT = 10.0  # seconds, what SWS promises with the default lease settings


@pytest.fixture
def pg() -> Iterator[tuple[str, Database]]:
    with postgres_database() as url:
        engine = make_engine(url)
        yield url, Database(engine)
        engine.dispose()


def _worker(url: str, home: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = home / f"{name}.log"
    env = {**os.environ, "SWS_DATABASE_URL": url, "SWS_HOME": str(home), "SWS_DEMO_DATA": "false",
           "SWS_TICK_SECONDS": "0.2", "SWS_METERING_EVALUATION_SECONDS": "1"}
    command = [sys.executable, "-c", "from sws.cli import main; main()", "worker", "alarms"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def _wait(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> float:
    """Seconds until `condition` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def _leader_pid(db: Database) -> int | None:
    lease = leases.lease_of(db=db, name=leases.ALARM_EVALUATOR)
    if lease is None or not lease.live(SystemClock().now()):
        return None
    return int(lease.holder.split(":")[-2])


def _started(log: Path) -> Callable[[], bool]:
    return lambda: b"alarm worker" in log.read_bytes()


def _alarms(db: Database, count: int) -> None:
    rule = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "gt",
            "threshold": 80.0, "granularity": 60, "evaluation_periods": 1}
    clock = SystemClock()
    for n in range(count):
        alarms.create_alarm(db=db, clock=clock, project_id="proj", name=f"hot-{n}", rule=rule,
                            actions={}, targets=WebhookTargets())


def _hot(db: Database) -> None:
    """cpu_util 95 every 10 s over the last 30 minutes: every alarm's window breaches."""
    clock = SystemClock()
    now = clock.now()
    samples = [Sample("srv", "proj", "cpu_util", "", now - timedelta(seconds=10 * n), 95.0)
               for n in range(180)]
    service.ingest(db=db, clock=clock, samples=samples)


def _in_alarm(db: Database) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(alarm_table).where(alarm_table.c.state == "alarm")
        return int(conn.execute(query).scalar_one())


def _transitions_per_alarm(db: Database) -> list[int]:
    with db.read() as conn:
        query = select(alarm_table.c.id, func.count(alarm_history.c.alarm_id)).outerjoin(
            alarm_history, alarm_history.c.alarm_id == alarm_table.c.id
        ).group_by(alarm_table.c.id)
        return [int(n) for _, n in conn.execute(query)]


def _noticed(log: Path, within: float) -> str:
    """How the woken leader found out: its write refused, or its transaction ended by the
    server (paused inside one: PostgreSQL ended the idle session after the TTL)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        text = log.read_bytes()
        if b"no longer leads" in text:
            return "its write was refused (lease lost)"
        if b"alarm pass failed" in text:
            return "its transaction was ended by the server"
        time.sleep(0.1)
    return "nothing"


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_standby_leads_within_10_s_of_the_leaders_kill_9(
    pg: tuple[str, Database], tmp_path: Path
) -> None:
    url, db = pg
    _alarms(db, 20)
    _hot(db)
    a, _ = _worker(url, tmp_path, "a")
    b = None
    try:
        _wait("the first worker to lead", lambda: _leader_pid(db) == a.pid)
        b, b_log = _worker(url, tmp_path, "b")
        _wait("the standby to start", _started(b_log))
        _wait("the leader to fire every alarm", lambda: _in_alarm(db) == 20)
        time.sleep(3)  # the standby asks at least once, and is refused
        assert _leader_pid(db) == a.pid
        a.kill()
        took = _wait("the standby to lead", lambda: _leader_pid(db) == b.pid, timeout=30)
        print(f"\nfail-over after kill -9: the standby led after {took:.1f} s")
        assert took < FAIL_OVER_LIMIT
        assert _transitions_per_alarm(db) == [1] * 20  # the standby fired none again
    finally:
        _stop(a, *([b] if b else []))


ALARMS = 400


def test_a_leader_paused_past_its_lease_acts_on_nothing_when_it_wakes(
    pg: tuple[str, Database], tmp_path: Path
) -> None:
    url, db = pg
    _alarms(db, ALARMS)
    a, a_log = _worker(url, tmp_path, "a")
    b = None
    try:
        _wait("the first worker to lead", lambda: _leader_pid(db) == a.pid)
        b, b_log = _worker(url, tmp_path, "b")
        _wait("the standby to start", _started(b_log))
        _hot(db)  # the leader's next pass fires the alarms one by one...
        _wait("the leader's pass to begin", lambda: _in_alarm(db) > 0)
        os.kill(a.pid, signal.SIGSTOP)  # ... and it is paused in the middle of it
        paused_at = _in_alarm(db)
        assert paused_at < ALARMS, "the pass ended before the pause: nothing stale to act on"
        took = _wait("the standby to lead", lambda: _leader_pid(db) == b.pid, timeout=30)
        _wait("the standby to fire the rest", lambda: _in_alarm(db) == ALARMS)
        os.kill(a.pid, signal.SIGCONT)  # the old leader wakes up with its stale pass
        noticed = _noticed(a_log, within=15.0)
        print(f"\npaused after {paused_at}/{ALARMS} alarms; the standby led after {took:.1f} s;"
              f" the old leader, woken: {noticed}")
        assert _transitions_per_alarm(db) == [1] * ALARMS  # no transition fired twice
        assert noticed != "nothing"
        assert a.poll() is None  # it lives on, as a standby
        assert _leader_pid(db) == b.pid
    finally:
        _stop(a, *([b] if b else []))
