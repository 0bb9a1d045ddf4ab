"""A worker's /metrics, /healthz and /readyz when its database answers, and when it does not."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.observability.metrics import Exporter
from sws.observability.server import WorkerEndpoints

UNREACHABLE = "postgresql://sws@127.0.0.1:9/sws?connect_timeout=2"  # the discard port


def endpoints(db: Database, clock: SimulatedClock) -> WorkerEndpoints:
    return WorkerEndpoints(exporter=Exporter(db=db, clock=clock, role="ticker"), db=db,
                           role="ticker")


def values(text: str) -> dict[str, float]:
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if not sample.labels}


def test_a_worker_with_its_database_is_healthy_ready_and_reports_its_lags(
    database: Database, clock: SimulatedClock
) -> None:
    worker = endpoints(database, clock)
    assert worker.answer("/healthz")[0] == 200
    status, _, body = worker.answer("/readyz")
    assert (status, json.loads(body)["checks"]) == (200, {"database": "ok"})
    status, content_type, text = worker.answer("/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    found = values(text)
    assert found["sws_database_up"] == 1 and found["sws_farmer_lag_seconds"] == 0
    assert "sws_http_request_duration_seconds" not in text  # workers serve no API


def test_without_its_database_a_worker_stays_healthy_but_is_not_ready(
    clock: SimulatedClock
) -> None:
    db = Database(make_engine(UNREACHABLE))
    worker = endpoints(db, clock)
    assert worker.answer("/healthz")[0] == 200  # the process runs: do not restart it
    status, _, body = worker.answer("/readyz")
    assert (status, json.loads(body)["status"]) == (503, "unavailable")
    found = values(worker.answer("/metrics")[2])
    assert found["sws_database_up"] == 0 and "sws_farmer_lag_seconds" not in found
    db.engine.dispose()
