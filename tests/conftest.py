"""Shared fixtures: a fresh, migrated database per test, a simulated clock, the local Redis.

In CI (`CI=true`) a skipped test is a failure: every service a test needs must be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws_swift.resp import Redis

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test is required: {report.longrepr}"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sws.db'}")
    upgrade(engine)
    yield Database(engine)
    engine.dispose()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def resp_redis() -> Iterator[Redis]:
    """The storage firewall's own Redis client, on the Redis at 127.0.0.1:6379."""
    client = Redis(host="127.0.0.1", port=6379, timeout=1)
    try:
        client.call("PING")
    except OSError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is not running (scripts/services ensure): {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(resp_redis: Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"sws-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    keys = resp_redis.call("KEYS", prefix + "*")
    if isinstance(keys, list) and keys:
        resp_redis.call("DEL", *keys)
