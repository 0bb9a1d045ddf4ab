"""The injected Clock: every periodic job asks it for "now", so demos can fast-forward time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to; used by tests and `sws demo`."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += delta
            return self._now

    def warp_to(self, moment: datetime) -> datetime:
        return self.advance(ensure_utc(moment) - self.now())


def ensure_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime is a bug, not a guess."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: SWS times are timezone-aware UTC")
    return moment.astimezone(UTC)
