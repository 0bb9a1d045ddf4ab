"""Refused inputs as pure values, and the admin's filter over them (kind, source, days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sws.errors import Invalid

NOTIFICATION, PAYMENT = "notification", "payment"
KINDS = (NOTIFICATION, PAYMENT)
#: A payment callback's source is `payment:<provider>`, so `payment` filters them all.
PAYMENT_SOURCE = "payment:"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused input: a notification SWS could not parse, or a payment callback refused
    (bad signature, stale, wrong amount, unknown payment), kept with the reason."""

    kind: str
    id: int
    received_at: datetime
    source: str
    reason: str
    body: str
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which letters to show: one kind, sources starting with `source`, received in the UTC
    days `since` to `until`, both included. Empty means no limit."""

    kind: str | None = None
    source: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def received_from(self) -> datetime | None:
        return _midnight(self.since) if self.since else None

    @property
    def received_before(self) -> datetime | None:
        return _midnight(self.until + timedelta(days=1)) if self.until else None


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    letters: list[DeadLetter]
    total: int


def parse_filter(*, kind: str, source: str, since: str, until: str) -> DeadLetterFilter:
    """A filter from a form's strings; a bad kind or day is Invalid, naming the field."""
    if kind and kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise Invalid("since must not be after until", field="since")
    return DeadLetterFilter(kind=kind or None, source=source.strip(), since=first, until=last)


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} must be a day such as 2026-12-31", field=field) from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
