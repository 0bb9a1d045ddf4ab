"""Every metric SWS exports, defined here once, and the text a process's `/metrics` serves.

HTTP metrics live in the process (one histogram per route template, method and status class:
bounded cardinality); lags, backlogs and dead letters are read from the database at scrape
time, so every process reports the same cluster-wide figures and none needs to be the leader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Unavailable
from sws.observability import lags

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("sws.observability")

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_http_registry = CollectorRegistry(auto_describe=True)
HTTP_DURATION = Histogram(
    "sws_http_request_duration_seconds",
    "API request latency by route template, method and status class (2xx, 4xx, 5xx...).",
    ("route", "method", "status_class"), buckets=HTTP_BUCKETS, registry=_http_registry,
)

#: name -> help of the gauges read from the database; the rules and the dashboard use these.
GAUGES = {
    "sws_up": "1 while this process serves its metrics (labelled with its role).",
    "sws_database_up": "1 when the database answered this scrape's queries.",
    "sws_events_journal_backlog": "Journal rows (applied notifications) the farmer has not read.",
    "sws_events_journal_lag_seconds": "Age of the oldest journal row the farmer has not read.",
    "sws_farmer_due_subscriptions": "Subscriptions with a charge due now.",
    "sws_farmer_lag_seconds": "Age of the oldest uncharged due period (0: nothing overdue).",
    "sws_alarm_evaluation_lag_seconds": "Time since the least recently evaluated enabled alarm.",
    "sws_dead_letters": "Refused messages kept for the operator, by kind.",
    "sws_agent_apply_seconds": "Seconds a node agent's last apply round took, by agent and host.",
}


class DatabaseLags(Collector):
    """At each scrape: the lags, backlogs and dead letters, from one read of the database."""

    def __init__(self, *, db: Database, clock: Clock, role: str) -> None:
        self.db, self.clock, self.role = db, clock, role

    def collect(self) -> Iterator[Metric]:
        yield _gauge("sws_up", 1, role=self.role)
        try:
            with self.db.read(patience=0) as conn:  # a scrape answers now, not after a wait
                found = lags.measure(conn, self.clock.now())
        except (SQLAlchemyError, Unavailable) as error:
            log.warning("metrics: the database did not answer: %s", error)
            yield _gauge("sws_database_up", 0)
            return
        yield _gauge("sws_database_up", 1)
        yield from _lag_metrics(found)


def _lag_metrics(found: lags.Lags) -> Iterator[Metric]:
    yield _gauge("sws_events_journal_backlog", found.journal_backlog)
    yield _gauge("sws_events_journal_lag_seconds", found.journal_lag)
    yield _gauge("sws_farmer_due_subscriptions", found.farmer_due)
    yield _gauge("sws_farmer_lag_seconds", found.farmer_lag)
    yield _gauge("sws_alarm_evaluation_lag_seconds", found.alarm_lag)
    letters = GaugeMetricFamily("sws_dead_letters", GAUGES["sws_dead_letters"], labels=["kind"])
    for kind, count in sorted(found.dead_letters.items()):
        letters.add_metric([kind], count)
    yield letters
    applies = GaugeMetricFamily("sws_agent_apply_seconds", GAUGES["sws_agent_apply_seconds"],
                                labels=["agent", "host"])
    for host, seconds in sorted(found.netfilter_apply.items()):
        applies.add_metric(["netfilter", host], seconds)
    yield applies


def _gauge(name: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, GAUGES[name], labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


class Exporter:
    """One process's metrics: the shared HTTP histograms plus its database lags."""

    def __init__(self, *, db: Database, clock: Clock, role: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseLags(db=db, clock=clock, role=role))

    def text(self, *, http: bool = True) -> str:
        body = generate_latest(self.registry).decode()
        if http:
            body += generate_latest(_http_registry).decode()
        return body


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_DURATION.labels(route, method, f"{status // 100}xx").observe(seconds)


def names() -> set[str]:
    """Every metric family SWS defines here (for checks of rules and dashboards)."""
    return set(GAUGES) | {"sws_http_request_duration_seconds"}
