"""The LB agent stops within a second of SIGTERM even while its long poll waits for 20 s."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sws_agent.lb._runner import Runner


@dataclass
class LongPollingSource:
    """The SWS API as the agent sees it: the first fetch answers, the next waits out the poll."""

    polling: threading.Event = field(default_factory=threading.Event)
    fetches: int = 0

    def fetch(self, *, after: int, wait: float) -> Any:
        self.fetches += 1
        if self.fetches > 1:
            self.polling.set()
            time.sleep(wait)  # nothing changed: the server holds the request for `wait` s
        return _State(version=1, loadbalancers=())

    def report(self, version: int, health: dict[str, str], traffic: dict[str, int]) -> None:
        pass


@dataclass(frozen=True)
class _State:
    version: int
    loadbalancers: tuple[Any, ...]


@dataclass
class IdleAgent:
    """An agent whose HAProxy is up and has nothing to change."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    live: _State | None = None
    worker: int = 4242

    def start(self, state: _State) -> None:
        self.live = state

    def apply(self, state: _State) -> str:
        return "unchanged"

    def take_report(self) -> tuple[dict[str, int], dict[str, str]]:
        return {}, {}

    def settle_files(self, timeout: float) -> bool:
        return True


def test_a_stop_during_a_long_poll_returns_within_a_second() -> None:
    source = LongPollingSource()
    runner = Runner(agent=IdleAgent(), source=source, poll_wait=20.0)  # type: ignore[arg-type]
    running = threading.Thread(target=runner.run)
    running.start()
    assert source.polling.wait(5), "the agent never started its long poll"

    stopped = time.monotonic()
    runner.stopping.set()  # what the SIGTERM handler does
    running.join(timeout=5)

    assert not running.is_alive()
    assert time.monotonic() - stopped < 1.0
