"""CDN traffic: what the edges served per distribution, ISP view and hour, with hit and miss.

Each edge's agent reads its Varnish access log (`varnishncsa`) and reports byte windows of it:
the requests and bytes per (distribution, client address) the window holds. SWS turns each
client address into its ISP view (`SWS_LB_ISP_VIEWS`, longest prefix; "" for none) and adds
the counts to the hour the report arrives in (the injected clock, as LB traffic does).

A window counts once: SWS keeps, per edge and log (the stream), how far the log was counted.
A window that ends at or before that point is a replay (an agent that restarted before it heard
the answer resends its pending window) and changes nothing; a window that starts inside the
counted part but ends beyond it is refused (409) because part of it was counted already.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.cdn import traffic_repository as repo
from sws.cdn.service import CDNConfig, get_distribution, known_edge
from sws.cdn.traffic_model import Counts, HourTraffic, TrafficReport, by_view
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid

MAX_HOURS = 24 * 31  # the longest series a graph asks for
HOUR = timedelta(hours=1)


# ---- use cases -----------------------------------------------------------------------------


def record(*, db: Database, clock: Clock, config: CDNConfig, report: TrafficReport) -> bool:
    """Count a report in the current hour, once; False when it was counted before (a replay)."""
    known_edge(config, report.edge)
    report.check()
    now = clock.now()
    with db.begin() as conn:
        counted_to = repo.counted_to(conn, report.edge, report.stream)
        if counted_to is not None and report.end <= counted_to:
            return False
        if counted_to is not None and report.start < counted_to:
            raise Conflict(f"bytes {report.start}-{counted_to} of {report.stream} were counted "
                           "already", field="start")
        repo.set_counted_to(conn, report.edge, report.stream, report.end, now,
                            new=counted_to is None)
        _add(conn, now, by_view(report, config.lb.isp_views))
    return True


def _add(conn: Connection, now: datetime, summed: Mapping[tuple[str, str], Counts]) -> None:
    owners = repo.owners(conn, {dist for dist, _ in summed})
    hour = now.replace(minute=0, second=0, microsecond=0)
    for (dist, isp), counts in sorted(summed.items()):
        if dist not in owners or not counts.requests:  # never seen, or nothing served
            continue
        project_id, region = owners[dist]
        repo.add(conn, HourTraffic(dist, project_id, region, isp, hour, counts))


def hourly(*, db: Database, clock: Clock, project_id: str, distribution_id: str,
           hours: int) -> list[tuple[datetime, Counts]]:
    """The project's distribution's last `hours` clock hours (this one included), every view
    summed; an hour without traffic is zeros. Another project's distribution is not found."""
    if not 1 <= hours <= MAX_HOURS:
        raise Invalid(f"hours is 1 to {MAX_HOURS}", field="hours")
    get_distribution(db=db, project_id=project_id, distribution_id=distribution_id)
    last = clock.now().replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    with db.read() as conn:
        rows = repo.of_distribution(conn, distribution_id, start=first, end=last + HOUR)
    summed: dict[datetime, Counts] = {}
    for row in rows:
        summed[row.hour_start] = summed.get(row.hour_start, Counts()) + row.counts
    return [(hour, summed.get(hour, Counts()))
            for hour in (first + timedelta(hours=n) for n in range(hours))]


def usage(*, db: Database, start: datetime, end: datetime) -> list[HourTraffic]:
    """Every row of hours starting in [start, end): billing's CDN egress."""
    with db.read() as conn:
        return repo.between(conn, start=start, end=end)

