"""Activity entries from several stores, merged newest first, and which of them are notices.

Pure: no SQL, no framework. An `Entry` is one fact ("instance web-1 was powered off at T",
"alarm cpu-hot went to alarm", "a payment failed"); `kind` names the fact for the page's
translated text, `values` fill it. A *notice* is an entry the bell counts until the user has
seen it: an alarm that fired, a low balance, grace or suspension, a payment that succeeded
or failed, a finished long task (a volume snapshot) or an instance that failed to build.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PAGE_SIZE = 50
MAX_PAGES = 20  # 1,000 entries back; older history is on each resource's own page
#: A user who never opened the notices sees those of the last 30 days counted.
LOOKBACK = timedelta(days=30)

RESOURCE, ALARM, BILLING, PAYMENT, ACCOUNT = "resource", "alarm", "billing", "payment", "account"
SOURCES = (RESOURCE, ALARM, BILLING, PAYMENT, ACCOUNT)

#: Resource types of the events journal the feed shows (flavors are the operator's).
RESOURCE_TYPES = ("instance", "floating_ip", "load_balancer", "volume", "volume_snapshot")
#: Journal actions left out: `exists` is Nova's periodic audit, not something that happened.
QUIET_ACTIONS = ("exists",)
#: (resource type, action) pairs that are notices: finished long tasks and failed builds.
RESOURCE_NOTICES = (("volume_snapshot", "create"), ("instance", "create_error"))
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


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: Sequence[Entry]
    page: int  # from 0
    has_next: bool


def wanted(page: int) -> int:
    """How many newest entries each source must give for `page` (from 0) and one more."""
    return (page + 1) * PAGE_SIZE + 1


def merge(sources: Iterable[Sequence[Entry]], page: int) -> FeedPage:
    """`page` (from 0) of the entries of all `sources`, each newest first, newest first."""
    start = page * PAGE_SIZE
    merged = list(heapq.merge(*sources, key=lambda e: e.order, reverse=True))
    shown = merged[start:start + PAGE_SIZE]
    return FeedPage(shown, page, len(merged) > start + PAGE_SIZE)


def check_page(page: int) -> int:
    """A page number the feed serves: from 0 to MAX_PAGES - 1."""
    return min(max(page, 0), MAX_PAGES - 1)


def unread_since(read_until: datetime | None, now: datetime) -> datetime:
    """Notices after this moment are unread: the user's mark, but never before LOOKBACK."""
    floor = now - LOOKBACK
    return floor if read_until is None or read_until < floor else read_until


def is_resource_notice(resource_type: str, action: str) -> bool:
    return (resource_type, action) in RESOURCE_NOTICES
