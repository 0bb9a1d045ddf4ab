"""Activity entries from several stores, merged newest first, and which of them are notices.

Pure: no SQL, no framework. An `Entry` is one fact ("instance web-1 was powered off at T",
"alarm cpu-hot went to alarm", "a payment failed"); `kind` names the fact for the page's
translated text, `values` fill it. A *notice* is an entry the bell counts until the user has
seen it: an alarm that fired, a low balance, grace or suspension, a payment that succeeded
or failed, a finished long task (a volume's or an instance's snapshot) or an instance that
failed to build.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sws.errors import Invalid

PAGE_SIZE = 50
#: A user who never opened the notices sees those of the last 30 days counted.
LOOKBACK = timedelta(days=30)

RESOURCE, ALARM, BILLING, PAYMENT, ACCOUNT = "resource", "alarm", "billing", "payment", "account"
SOURCES = (RESOURCE, ALARM, BILLING, PAYMENT, ACCOUNT)
#: Sources whose key is a row number (zero-padded, so text and number order agree).
NUMBERED = (RESOURCE, ALARM, BILLING, ACCOUNT)

#: Resource types of the events journal the feed shows (flavors are the operator's).
RESOURCE_TYPES = ("instance", "floating_ip", "load_balancer", "volume", "volume_snapshot")
#: Journal actions left out: `exists` is Nova's periodic audit, not something that happened.
QUIET_ACTIONS = ("exists",)
#: (resource type, action) pairs that are notices: finished long tasks (a volume's or an
#: instance's snapshot) and failed builds.
RESOURCE_NOTICES = (("volume_snapshot", "create"), ("instance", "snapshot"),
                    ("instance", "create_error"))
ALARM_NOTICE_STATE = "alarm"
#: billing_audit actions shown, and those that are notices.
BILLING_ACTIONS = ("topup", "coupon_granted", "payment", "notified", "grace_started",
                   "suspended", "suspension_withheld", "resumed", "recovered", "month_closed",
                   "server_stopped", "server_started")
BILLING_NOTICES = ("payment", "notified", "grace_started", "suspended", "suspension_withheld")
PAYMENT_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Entry:
    """One fact of the feed; `key` is unique within its source and breaks ties in time."""

    at: datetime
    source: str
    kind: str  # e.g. "instance.power_off", "alarm.alarm", "billing.topup", "payment.failed"
    key: str
    resource_type: str | None = None
    resource_id: str | None = None
    name: str = ""
    region: str | None = None
    notice: bool = False
    live: bool = True  # False once the resource is deleted: the page shows no link to it
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def order(self) -> tuple[datetime, str, str]:
        return (self.at, self.source, self.key)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.source, self.key)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in the feed's total order (time, source, key): a page starts past it. Pages
    are keyset pages: each source reads its newest PAGE_SIZE + 1 entries past the cursor in
    SQL, whatever the page's depth, and the sources are merged."""

    at: datetime
    source: str
    key: str

    @property
    def order(self) -> tuple[datetime, str, str]:
        return (self.at, self.source, self.key)

    @property
    def token(self) -> str:
        return f"{self.at.isoformat()}~{self.source}~{self.key}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """A cursor from a page link; Invalid when the link was not one the feed made."""
        parts = token.split("~")
        try:
            at = datetime.fromisoformat(parts[0])
        except ValueError:
            raise Invalid("not a place in the activity feed", field="before") from None
        if (len(parts) != 3 or at.tzinfo is None or parts[1] not in SOURCES
                or not parts[2] or len(parts[2]) > 64
                or (parts[1] in NUMBERED and not parts[2].isdigit())):
            raise Invalid("not a place in the activity feed", field="before")
        return cls(at.astimezone(UTC), parts[1], parts[2])


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page, newest first, and the cursors of the pages around it (None: no such page)."""

    entries: Sequence[Entry]
    newer: Cursor | None  # entries newer than this one are the previous page
    older: Cursor | None  # entries older than this one are the next page


def older_page(sources: Iterable[Sequence[Entry]], before: Cursor | None) -> FeedPage:
    """The newest PAGE_SIZE entries past `before` (all of them when None) of `sources`, each
    newest first and holding up to PAGE_SIZE + 1 entries past `before`."""
    merged = list(heapq.merge(*sources, key=lambda e: e.order, reverse=True))
    shown = merged[:PAGE_SIZE]
    older = shown[-1].cursor if len(merged) > PAGE_SIZE else None
    newer = shown[0].cursor if before is not None and shown else None
    return FeedPage(shown, newer, older)


def newer_page(sources: Iterable[Sequence[Entry]], after: Cursor) -> FeedPage | None:
    """The PAGE_SIZE entries just newer than `after`, from `sources` each oldest first; None
    when fewer are left: the newest page is then the first page."""
    merged = list(heapq.merge(*sources, key=lambda e: e.order))
    if len(merged) <= PAGE_SIZE:
        return None
    shown = merged[:PAGE_SIZE][::-1]
    return FeedPage(shown, shown[0].cursor, shown[-1].cursor)


def unread_since(read_until: datetime | None, now: datetime) -> datetime:
    """Notices after this moment are unread: the user's mark, but never before LOOKBACK."""
    floor = now - LOOKBACK
    return floor if read_until is None or read_until < floor else read_until


def is_resource_notice(resource_type: str, action: str) -> bool:
    return (resource_type, action) in RESOURCE_NOTICES
