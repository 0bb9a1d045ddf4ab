"""Ports for metered usage that billing rates: bandwidth now, object storage later.

Billing never imports the metering domain. Whatever implements these ports (metering's
`bandwidth_usage`, a Swift accounting reader, a test fake) is handed in by the composition root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sws.billing.model import BANDWIDTH, OBJECT_STORAGE
from sws.billing.rating import BYTES_PER_GB, UsagePoint


@dataclass(frozen=True, slots=True)
class BandwidthUsage:
    """Outbound bytes of one resource in one clock hour (exact)."""

    project_id: str
    resource_id: str
    hour_start: datetime
    bytes_out: int
    region: str = ""


class BandwidthSource(Protocol):
    """Outbound traffic per (project, resource, hour) for hours starting in `[start, end)`."""

    def bandwidth(self, *, start: datetime, end: datetime) -> Iterable[BandwidthUsage]: ...


@dataclass(frozen=True, slots=True)
class StorageUsage:
    """Object storage of one container in one hour: GB-month accrued, and requests."""

    project_id: str
    container: str
    hour_start: datetime
    gb_month: Decimal
    requests: int
    region: str = ""


class ObjectStorageSource(Protocol):
    def storage(self, *, start: datetime, end: datetime) -> Iterable[StorageUsage]: ...


class UsageSource(Protocol):
    """What the farmer reads: usage points of any metered item."""

    name: str

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]: ...


class BandwidthFeed:
    """A `UsageSource` over a `BandwidthSource`: bytes out become GB (10^9 bytes), exactly."""

    name = "usage:bandwidth"

    def __init__(self, source: BandwidthSource, *, default_region: str) -> None:
        self.source = source
        self.default_region = default_region

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]:
        return [
            UsagePoint(
                u.project_id,
                u.resource_id,
                u.region or self.default_region,
                BANDWIDTH,
                "gb_out",
                u.hour_start,
                Decimal(u.bytes_out) / BYTES_PER_GB,
            )
            for u in self.source.bandwidth(start=start, end=end)
        ]


class ObjectStorageFeed:
    """A `UsageSource` over an `ObjectStorageSource`: GB-months and 10k-request blocks."""

    name = "usage:object_storage"

    def __init__(self, source: ObjectStorageSource, *, default_region: str) -> None:
        self.source = source
        self.default_region = default_region

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]:
        points: list[UsagePoint] = []
        for u in self.source.storage(start=start, end=end):
            region = u.region or self.default_region
            points.append(
                UsagePoint(
                    u.project_id,
                    u.container,
                    region,
                    OBJECT_STORAGE,
                    "gb_month",
                    u.hour_start,
                    u.gb_month,
                )
            )
            points.append(
                UsagePoint(
                    u.project_id,
                    u.container,
                    region,
                    OBJECT_STORAGE,
                    "requests_10k",
                    u.hour_start,
                    Decimal(u.requests) / 10_000,
                )
            )
        return points
