"""Free instances' CPU from metering (the `cpu_util` meter), averaged per hour or per day."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from sws.db.engine import Database
from sws.metering import repository as metering_repo
from sws.metering import service as metering
from sws.metering.model import Aggregate, SeriesQuery, align

CPU_METER = "cpu_util"


class CpuSource(Protocol):
    """Per instance, its average CPU (%) in each whole window of `seconds` before `end`
    (oldest first; None where nothing was measured)."""

    def averages(
        self, server_ids: Collection[str], *, end: datetime, seconds: int, windows: int
    ) -> dict[str, list[float | None]]: ...


class MeteredCpu:
    """The metering store's CPU series (rollups where sealed, raw samples for the rest)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def averages(
        self, server_ids: Collection[str], *, end: datetime, seconds: int, windows: int
    ) -> dict[str, list[float | None]]:
        stop = align(end, seconds)
        start = stop - timedelta(seconds=seconds * windows)
        starts = [start + timedelta(seconds=seconds * i) for i in range(windows)]
        with self.db.read() as conn:
            wanted = {
                mid: row.resource_id
                for mid, row in metering_repo.metric_ids_of_meter(conn, CPU_METER).items()
                if row.resource_id in server_ids
            }
            if not wanted:
                return {}
            query = SeriesQuery(start, stop, seconds, "mean")
            buckets, _ = metering.series(conn, sorted(wanted), query)
        return {
            server_id: [_mean(buckets.get(mid, {}), at) for at in starts]
            for mid, server_id in wanted.items()
        }


def _mean(found: dict[datetime, Aggregate], at: datetime) -> float | None:
    aggregate = found.get(at)
    return None if aggregate is None else aggregate.value("mean")
