"""CDN traffic as values, pure: counts with hit and miss, the edges' reports, hourly rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sws.dns.model import parse_client, view_of
from sws.errors import Invalid

MAX_ROWS = 10_000  # (distribution, client) pairs in one report


@dataclass(frozen=True, slots=True)
class Counts:
    """Requests and bytes sent to clients, split by whether the edge had the object."""

    hit_requests: int = 0
    miss_requests: int = 0
    hit_bytes: int = 0
    miss_bytes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.hit_requests + other.hit_requests,
                      self.miss_requests + other.miss_requests,
                      self.hit_bytes + other.hit_bytes, self.miss_bytes + other.miss_bytes)

    @property
    def requests(self) -> int:
        return self.hit_requests + self.miss_requests

    @property
    def bytes(self) -> int:
        return self.hit_bytes + self.miss_bytes

    @property
    def hit_ratio(self) -> float | None:
        """The share of requests answered from the cache; None without requests."""
        return self.hit_requests / self.requests if self.requests else None

    def check(self) -> Counts:
        if min(self.hit_requests, self.miss_requests, self.hit_bytes, self.miss_bytes) < 0:
            raise Invalid("traffic counts are never negative", field="rows")
        return self


@dataclass(frozen=True, slots=True)
class ClientTraffic:
    """One distribution's traffic to one client address, in a report."""

    distribution_id: str
    client: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class TrafficReport:
    """A byte window `[start, end)` of one edge's access log (`stream`) and what it holds."""

    edge: str
    stream: str
    start: int
    end: int
    rows: tuple[ClientTraffic, ...]

    def check(self) -> TrafficReport:
        if not 0 <= self.start < self.end:
            raise Invalid("a report is a window: 0 <= start < end", field="start")
        if len(self.rows) > MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows in one report", field="rows")
        for row in self.rows:
            row.counts.check()
        return self


@dataclass(frozen=True, slots=True)
class HourTraffic:
    """A distribution's traffic in one clock hour and ISP view ("" for no view)."""

    distribution_id: str
    project_id: str
    region: str
    isp: str
    hour_start: datetime
    counts: Counts


def isp_of(client: str, views: Mapping[str, Sequence[str]]) -> str:
    """The ISP view holding `client` (an address), "" for none or an unreadable address."""
    try:
        network = parse_client(client)
    except ValueError:
        return ""
    return view_of(network, views)[0] or ""


def by_view(report: TrafficReport, views: Mapping[str, Sequence[str]]
            ) -> dict[tuple[str, str], Counts]:
    """The report's counts summed per (distribution, ISP view)."""
    summed: dict[tuple[str, str], Counts] = {}
    for row in report.rows:
        key = (row.distribution_id, isp_of(row.client, views))
        summed[key] = summed.get(key, Counts()) + row.counts
    return summed
