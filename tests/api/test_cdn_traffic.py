"""CDN traffic through the API: the edges' reports counted once per window, by ISP view and
hour; the tenant's hourly series; and CDN egress on the bill, charged once per hour row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sws.billing import service as billing
from sws.cdn import traffic
from sws.clock import SimulatedClock
from sws.config import LBNodeConfig, Settings
from tests.api.conftest import TASK_SECONDS, Cloud, open_cloud

D = "/v1/cdn/distributions"
EDGE = "/v1/admin/cdn-edges/edge-1/traffic"
GB = 1_000_000_000
CATALOG = Path(billing.__file__).with_name("prices.yaml")
TELECOM = """
region: "*"
valid_from: "2020-01-01T00:00:00Z"
prices:
  - {item: cdn, item_type: gb_out.telecom, payment_type: per_unit, price: {CNY: "0.30"}}
"""


@pytest.fixture
def cloud(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    settings = Settings(
        home=tmp_path, database_url=database_url, sim_task_seconds=TASK_SECONDS,
        demo_data=False, lb_isp_views={"telecom": ["10.1.0.0/16"], "unicom": ["10.2.0.0/16"]},
        cdn_edges=[LBNodeConfig(name="edge-1", address="127.0.0.1", isp="telecom"),
                   LBNodeConfig(name="edge-2", address="127.0.0.2", isp="unicom")],
    )
    with open_cloud(settings, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as made:
        yield made


def _distribution(cloud: Cloud) -> str:
    lb = cloud.client.post("/v1/loadbalancers", json={"name": "web", "type": "http"},
                           headers=cloud.acme.headers)
    assert lb.status_code == 201, lb.text
    made = cloud.client.post(D, json={"name": "site", "origin": {
        "kind": "loadbalancer", "ref": lb.json()["id"]}}, headers=cloud.acme.headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _row(dist: str, client: str, hits: int, misses: int, size: int) -> dict[str, Any]:
    return {"distribution": dist, "client": client, "hit_requests": hits,
            "miss_requests": misses, "hit_bytes": hits * size, "miss_bytes": misses * size}


def _report(cloud: Cloud, start: int, end: int, *rows: dict[str, Any],
            stream: str = "log-1") -> Any:
    return cloud.client.post(EDGE, json={"stream": stream, "start": start, "end": end,
                                         "rows": list(rows)}, headers=cloud.admin)


def _series(cloud: Cloud, dist: str, hours: int = 2) -> list[dict[str, Any]]:
    answer = cloud.client.get(f"{D}/{dist}/traffic?hours={hours}", headers=cloud.acme.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_window_replayed_after_a_restart_counts_once(cloud: Cloud) -> None:
    dist = _distribution(cloud)
    window = _row(dist, "10.1.4.5", hits=3, misses=1, size=1000)

    first = _report(cloud, 0, 300, window)
    replay = _report(cloud, 0, 300, window)
    overlapping = _report(cloud, 200, 400, window)
    following = _report(cloud, 300, 400, _row(dist, "10.1.4.5", hits=1, misses=0, size=1000))

    assert first.json() == {"counted": True} and replay.json() == {"counted": False}
    assert overlapping.status_code == 409 and overlapping.json()["field"] == "start"
    assert following.json() == {"counted": True}
    (now,) = _series(cloud, dist, hours=1)
    assert (now["hit_requests"], now["miss_requests"], now["bytes"]) == (4, 1, 5000)
    assert now["hit_ratio"] == pytest.approx(0.8)


def test_traffic_is_kept_per_isp_view_of_the_client_and_per_hour(cloud: Cloud) -> None:
    dist = _distribution(cloud)
    _report(cloud, 0, 10, _row(dist, "10.1.0.9", 1, 0, 100), _row(dist, "10.2.0.9", 0, 1, 200),
            _row(dist, "192.0.2.1", 1, 1, 50))
    cloud.clock.advance(timedelta(hours=1))
    _report(cloud, 10, 20, _row(dist, "10.2.7.7", 2, 0, 10))

    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    rows = traffic.usage(db=cloud.container.db, start=start, end=start + timedelta(hours=2))
    assert [(r.hour_start.hour, r.isp, r.counts.bytes) for r in rows] == [
        (10, "", 100), (10, "telecom", 100), (10, "unicom", 200), (11, "unicom", 20)]
    assert [h["requests"] for h in _series(cloud, dist)] == [4, 2]


def test_bad_reports_and_other_tenants_are_refused(cloud: Cloud) -> None:
    dist = _distribution(cloud)

    assert cloud.client.post("/v1/admin/cdn-edges/nope/traffic", headers=cloud.admin, json={
        "stream": "s", "start": 0, "end": 1}).status_code == 404
    assert _report(cloud, 5, 5).status_code == 422
    assert _report(cloud, 0, 5, {**_row(dist, "10.1.0.1", 1, 0, 1), "hit_bytes": -1}
                   ).status_code == 422
    assert cloud.client.post(EDGE, json={"stream": "s", "start": 0, "end": 1},
                             headers=cloud.acme.headers).status_code == 403
    other = cloud.client.get(f"{D}/{dist}/traffic", headers=cloud.globex.headers)
    assert other.status_code == 404
    assert cloud.client.get(f"{D}/{dist}/traffic?hours=0",
                            headers=cloud.acme.headers).status_code == 422


def test_cdn_egress_is_on_the_bill_by_isp_view_charged_once_per_hour(cloud: Cloud) -> None:
    dist = _distribution(cloud)
    db, clock = cloud.container.db, cloud.clock
    for text in (CATALOG.read_text(), TELECOM):
        billing.load_catalog_text(db=db, clock=clock, text=text)
    _report(cloud, 0, 10, _row(dist, "10.1.0.9", 2, 0, GB), _row(dist, "10.2.0.9", 0, 1, GB))

    clock.advance(timedelta(hours=2))
    for _ in range(2):
        cloud.container.billing.tick()

    bill = billing.get_bill(db=db, tenant_id=cloud.acme.id, month="2026-03")
    cdn = sorted((line.item_type, line.total) for line in bill.lines if line.type == "cdn")
    # telecom: 2 GB at its own 0.30; unicom has no price of its own: 1 GB at the plain 0.50.
    assert cdn == [("gb_out.telecom", Decimal("0.60")), ("gb_out.unicom", Decimal("0.50"))]
    assert bill.category("cdn") == Decimal("1.10")
