"""Shared fixtures: a fresh, migrated database per test, a simulated clock, the local Redis.

In CI (`CI=true`) a skipped test is a failure: every service a test needs must be there.
Hypothesis runs under a profile (docs/testing.md): `ci` (derandomized, a bounded number of
examples, a deadline) in CI, `dev` on a laptop, `soak` for `make soak`; HYPOTHESIS_PROFILE
chooses one explicitly.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from rich.console import Console

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.identity import auth
from sws_swift.resp import Redis
from tests.schema import migrate

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# A test's own `@settings(max_examples=...)` wins over the profile's count: the profile fixes
# everything else, so that a test's time does not swing from run to run in CI.
settings.register_profile(
    "ci", derandomize=True, deadline=timedelta(seconds=30), max_examples=100,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=timedelta(seconds=30), max_examples=100)
settings.register_profile(
    "soak", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


# Tests that share one real service run on one xdist worker, so the service starts once and
# stops when its package ends. Under `--dist loadgroup` SWS schedules by folder itself:
# xdist's own `xdist_group` marks do not group anything under pytest 9 (checked with 3.8).
SHARED_SERVICES = {
    "tests/integration/openstack/": "openstack",
    "tests/integration/swift/": "swift",
    "tests/integration/netfilter/test_kernel.py": "netns",  # one topology for the module
    "tests/e2e/test_cdn_container_flow.py": "swift",  # scripts/swift-dev, up and down
}


def shared_service(nodeid: str) -> str | None:
    """The real service a test shares with its package, if any."""
    return next((g for folder, g in SHARED_SERVICES.items() if nodeid.startswith(folder)), None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedServiceScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """One work unit per shared service; every other test is a unit of its own."""

        def _split_scope(self, nodeid: str) -> str:
            return shared_service(nodeid) or nodeid

    return SharedServiceScheduling(config, log)


CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its lowest cost inside the test process: the same algorithm and format.

    Production parameters cost ~0.2 CPU-seconds a hash on purpose; an API fixture makes seven
    (three users, three logins, the timing-safe dummy), which was a third of the suite's CPU.
    tests/unit/identity/test_password_cost.py checks that production keeps its parameters.
    """
    original = auth.PasswordHasher
    auth.PasswordHasher = functools.partial(original, **CHEAP_ARGON2)  # type: ignore[misc]
    yield
    auth.PasswordHasher = original  # type: ignore[misc]


@pytest.fixture(autouse=True)
def root_logger_as_found() -> Iterator[None]:
    """A command that sets up logging (`sws worker ...`, `sws up`) adds a stderr handler to the
    root logger; left there, its INFO lines land in later tests' captured CLI output."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_server_left_on_a_closed_socket() -> Iterator[None]:
    """A `serve_forever` thread whose server was closed but never shut down polls its closed
    socket in a busy loop for the rest of the worker's life. Four such threads a test, left by
    one fixture, once made the integration tier take 3,499 s in CI (543 s without them); call
    `shutdown()` first."""
    yield
    for thread in threading.enumerate():
        if _serves_a_closed_socket(thread):
            thread.join(timeout=1)  # one that was shut down may still be on its way out
            assert not thread.is_alive(), f"{thread.name} serves a closed socket"


def _serves_a_closed_socket(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    server = getattr(target, "__self__", None)
    sock = getattr(server, "socket", None)
    return (getattr(target, "__name__", "") == "serve_forever" and sock is not None
            and sock.fileno() == -1)


@pytest.fixture(scope="session", autouse=True)
def own_sws_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each xdist worker gets its own SWS_HOME, so nothing falls back to a shared ./.sws."""
    os.environ["SWS_HOME"] = str(tmp_path_factory.mktemp("sws-home"))


@pytest.fixture
def wide_cli_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `sws` command's consoles print 200 columns, whatever the run's terminal or TERM.

    Rich wraps and truncates to the terminal it finds, which differs between a shell, CI and an
    xdist worker; tests that read the printed text must not depend on it.
    """
    monkeypatch.setenv("COLUMNS", "200")
    for name, module in list(sys.modules.items()):
        found = getattr(module, "console", None) if name.startswith("sws") else None
        if isinstance(found, Console):
            monkeypatch.setattr(found, "_width", 200)


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
    migrate(engine)
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


@pytest.fixture(scope="session")
def front() -> Iterator[Any]:
    """HAProxy on the three deployed nodes (an httpx client): deployed once per run with
    docs/operations.md's commands and shared by tests/nodes and tests/chaos, which run in one
    session in that order (scripts/test-stages' nodes stage); taken down at the end."""
    from tests.nodes.deployment import deployed

    with deployed() as client:
        yield client
