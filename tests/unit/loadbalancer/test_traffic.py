"""LB traffic: the agent's byte accounting, its reports, and the bandwidth billing charges."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sws.billing import service as billing
from sws.loadbalancer import service as lb_service
from sws_agent.lb import Traffic, parse_backend_bytes
from tests.api.conftest import Cloud

CATALOG = Path(billing.__file__).with_name("prices.yaml")
STAT = (
    "# pxname,svname,qcur,bin,bout,status\n"
    "fe_http,FRONTEND,0,900,9000,OPEN\n"
    "spare_0,m_a,0,100,1000,UP\n"
    "spare_0,BACKEND,0,100,1000,UP\n"
    "spare_1,BACKEND,0,0,0,UP\n"
)


def test_backend_bytes_come_from_the_backend_rows_bout() -> None:
    assert parse_backend_bytes(STAT) == {"spare_0": 1000, "spare_1": 0}
    assert parse_backend_bytes("") == {}


def test_traffic_counts_differences_across_restarts_and_reassigned_spares() -> None:
    traffic = Traffic()
    traffic.count(10, {"spare_0": "lb-a"}, {"spare_0": 1000})
    traffic.count(10, {"spare_0": "lb-a"}, {"spare_0": 1500})
    assert traffic.take() == {"lb-a": 1500}
    # lb-a deleted, its spare counted once more, then handed to lb-b: lb-b pays only its own.
    traffic.count(10, {"spare_0": "lb-a"}, {"spare_0": 1700})
    traffic.count(10, {"spare_0": None}, {"spare_0": 1700})
    traffic.count(10, {"spare_0": "lb-b"}, {"spare_0": 1750})
    assert traffic.take() == {"lb-a": 200, "lb-b": 50}
    # A reload: the new worker's counters start at zero.
    traffic.count(11, {"spare_0": "lb-b"}, {"spare_0": 30})
    # A reload the agent has not noticed yet: a counter going backwards restarted.
    traffic.count(11, {"spare_0": "lb-b"}, {"spare_0": 10})
    taken = traffic.take()
    assert taken == {"lb-b": 40}
    traffic.give_back(taken)  # a failed report: sent with the next one
    assert traffic.take() == {"lb-b": 40}


def _lb(cloud: Cloud, server: Any) -> Any:
    made = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers, json={
        "name": "web", "type": "http", "members": [{"server_id": server["id"], "port": 80}],
    })
    assert made.status_code == 201, made.text
    return made.json()


def _report(cloud: Cloud, traffic: dict[str, int]) -> None:
    reply = cloud.client.post("/v1/admin/lb-nodes/lb-1/report",
                              json={"version": 1, "members": {}, "traffic": traffic},
                              headers=cloud.admin)
    assert reply.status_code == 204, reply.text


def test_reported_bytes_are_stored_per_lb_per_hour_and_billed_as_bandwidth(
    cloud: Cloud,
) -> None:
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock,
                              text=CATALOG.read_text())
    cloud.client.post(f"/v1/admin/billing/{cloud.acme.id}/topups", headers=cloud.admin,
                      json={"amount": "100", "currency": "CNY", "idempotency_key": "t"})
    lb = _lb(cloud, cloud.boot(cloud.acme))
    hour = cloud.clock.now().replace(minute=0, second=0, microsecond=0)
    _report(cloud, {lb["id"]: 1_000_000_000, "f" * 32: 77})  # an unknown LB is ignored
    _report(cloud, {lb["id"]: 500_000_000})  # two nodes, or two reports: added
    usage = lb_service.traffic_usage(db=cloud.container.db, start=hour,
                                     end=hour + timedelta(hours=1))
    assert [(u.project_id, u.lb_id, u.hour_start, u.bytes_out) for u in usage] == [
        (cloud.acme.id, lb["id"], hour, 1_500_000_000)
    ]
    # Bytes the agent counted just before the LB was deleted still bill its project.
    cloud.client.delete(f"/v1/loadbalancers/{lb['id']}", headers=cloud.acme.headers)
    _report(cloud, {lb["id"]: 1_000})
    usage = lb_service.traffic_usage(db=cloud.container.db, start=hour,
                                     end=hour + timedelta(hours=1))
    assert [u.bytes_out for u in usage] == [1_500_001_000]
    for _ in range(3):
        cloud.settle(3600)
    bill = cloud.client.get("/v1/billing/bills/2026-03", headers=cloud.acme.headers).json()
    lines = [x for x in bill["lines"] if x["type"] == "bandwidth"
             and x["resource_name"] == lb["id"]]
    assert len(lines) == 1, bill["lines"]
    assert Decimal(lines[0]["quantity"]) == Decimal("1.500001")  # GB = 10^9 bytes
    assert Decimal(lines[0]["total"]) > 0


def test_bad_traffic_reports_are_refused(cloud: Cloud) -> None:
    for bad in ({"x": -1}, {"x": 2**63}, {"x": "many"}):
        reply = cloud.client.post("/v1/admin/lb-nodes/lb-1/report",
                                  json={"members": {}, "traffic": bad}, headers=cloud.admin)
        assert reply.status_code == 422, reply.text
