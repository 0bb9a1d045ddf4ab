"""Request ids on every answer, latency by route template and the lags on `/metrics`."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sws.observability import metrics
from tests.api.conftest import Cloud


def scrape(cloud: Cloud) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of a real scrape, by sample name and sorted labels."""
    scraper = TestClient(cloud.client.app, client=("127.0.0.1", 40000))  # SWS_METRICS_ALLOW
    response = scraper.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def test_a_sane_request_id_comes_back_and_any_other_is_replaced(cloud: Cloud) -> None:
    given = cloud.client.get("/healthz", headers={"X-Request-Id": "deploy-42.check:7"})
    assert given.headers["X-Request-Id"] == "deploy-42.check:7"
    for bad in ("short", "has spaces in it", "x" * 129, "semi;colon-1234"):
        answer = cloud.client.get("/healthz", headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"]), bad
    first, second = (cloud.client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert first != second


def test_errors_and_refusals_carry_a_request_id_too(cloud: Cloud) -> None:
    missing = cloud.client.get("/v1/servers/nope", headers=cloud.acme.headers)
    assert missing.status_code == 404 and missing.headers["X-Request-Id"]
    forbidden = TestClient(cloud.client.app, client=("203.0.113.9", 40000)).get("/metrics")
    assert forbidden.status_code == 403 and forbidden.headers["X-Request-Id"]


def test_latency_is_counted_by_route_template_and_status_class(cloud: Cloud) -> None:
    before = scrape(cloud).get("sws_http_request_duration_seconds_count", {})
    template = (("method", "GET"), ("route", "/v1/servers/{server_id}"), ("status_class", "4xx"))
    for name in ("a-1", "b-2", "c-3"):
        cloud.client.get(f"/v1/servers/{name}", headers=cloud.acme.headers)
    counts = scrape(cloud)["sws_http_request_duration_seconds_count"]
    assert counts[template] - before.get(template, 0) == 3
    assert not any("a-1" in value for labels in counts for _, value in labels)
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status_class", "4xx"))
    cloud.client.get("/no/such/page/anywhere", headers=cloud.acme.headers)
    assert scrape(cloud)["sws_http_request_duration_seconds_count"][unmatched] >= 1


def test_the_lags_and_dead_letters_are_on_the_apis_metrics(cloud: Cloud) -> None:
    cloud.boot(cloud.acme)
    samples = scrape(cloud)
    assert samples["sws_up"] == {(("role", "api"),): 1}
    assert samples["sws_database_up"] == {(): 1}
    assert samples["sws_events_journal_backlog"] == {(): 0}  # the tick applied the boot
    assert samples["sws_dead_letters"] == {(("kind", "notification"),): 0,
                                           (("kind", "payment"),): 0}
    for name in metrics.GAUGES:
        assert name in samples or name == "sws_agent_apply_seconds", name
