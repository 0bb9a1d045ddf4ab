"""Ports for metered usage that billing rates: bandwidth, CDN egress and object storage.

Billing never imports the metering domain. Whatever implements these ports (metering's
`bandwidth_usage`, a Swift accounting reader, a test fake) is handed in by the composition root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sws.billing.model import BANDWIDTH, CDN, OBJECT_STORAGE
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
    """Object storage of one container in one hour: GB-month accrued, requests, bytes out."""

    project_id: str
    container: str
    hour_start: datetime
    gb_month: Decimal
    requests: int
    region: str = ""
    bytes_out: int = 0


class ObjectStorageSource(Protocol):
    def storage(self, *, start: datetime, end: datetime) -> Iterable[StorageUsage]: ...


@dataclass(frozen=True, slots=True)
class CDNEgress:
    """Bytes the CDN edges sent for one distribution to one ISP view in one clock hour."""

    project_id: str
    distribution_id: str
    hour_start: datetime
    isp: str  # "" when the clients were in no ISP view
    bytes_out: int
    region: str = ""


class CDNSource(Protocol):
    """CDN egress per (project, distribution, ISP view, hour), hours starting in `[start, end)`."""

    def egress(self, *, start: datetime, end: datetime) -> Iterable[CDNEgress]: ...


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
    """A `UsageSource` over an `ObjectStorageSource`: GB-months, 10k-request blocks, GB out.

    Every container hour gives all three points, zeros included; the farmer charges no zero.
    """

    name = "usage:object_storage"

    def __init__(self, source: ObjectStorageSource, *, default_region: str) -> None:
        self.source = source
        self.default_region = default_region

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]:
        return [
            point
            for u in self.source.storage(start=start, end=end)
            for point in self._container_hour(u)
        ]

    def _container_hour(self, u: StorageUsage) -> list[UsagePoint]:
        region = u.region or self.default_region
        quantities = (
            ("gb_month", u.gb_month),
            ("requests_10k", Decimal(u.requests) / 10_000),
            ("gb_out", Decimal(u.bytes_out) / BYTES_PER_GB),
        )
        return [
            UsagePoint(
                u.project_id, u.container, region, OBJECT_STORAGE, item_type, u.hour_start, quantity
            )
            for item_type, quantity in quantities
        ]


class CDNFeed:
    """A `UsageSource` over a `CDNSource`: GB out (10^9 bytes) as `gb_out.<view>`, which the
    catalog prices by that view's own price or else by the plain `gb_out`."""

    name = "usage:cdn"

    def __init__(self, source: CDNSource, *, default_region: str) -> None:
        self.source = source
        self.default_region = default_region

    def points(self, *, start: datetime, end: datetime) -> Sequence[UsagePoint]:
        return [self._point(u) for u in self.source.egress(start=start, end=end)]

    def _point(self, u: CDNEgress) -> UsagePoint:
        item_type = f"gb_out.{u.isp}" if u.isp else "gb_out"
        gb = Decimal(u.bytes_out) / BYTES_PER_GB
        region = u.region or self.default_region
        return UsagePoint(u.project_id, u.distribution_id, region, CDN, item_type, u.hour_start, gb)
