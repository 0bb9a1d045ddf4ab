"""The injected Clock: every periodic job asks it for "now", so demos can fast-forward time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sws.errors import Invalid


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


class Cadence:
    """A job the ticker runs at most every `every`: the first ask is due, the next once `every`
    has passed since the last run."""

    def __init__(self, every: timedelta) -> None:
        self.every = every
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        return True


def ensure_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime is a bug, not a guess."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: SWS times are timezone-aware UTC")
    return moment.astimezone(UTC)


# Times a caller may send: years of four digits every database stores and reads back alike.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def check_moment(moment: datetime, *, field: str) -> datetime:
    """`moment` in UTC if it has a zone and lies in [EARLIEST, LATEST), else Invalid naming it."""
    if moment.tzinfo is None:
        raise Invalid(f"'{field}' needs a time zone, e.g. 2026-03-02T10:00:00Z", field=field)
    if not EARLIEST <= moment < LATEST:
        raise Invalid(
            f"'{field}' must lie from {EARLIEST:%Y-%m-%d} up to {LATEST:%Y-%m-%d} (UTC)",
            field=field,
        )
    return moment.astimezone(UTC)
