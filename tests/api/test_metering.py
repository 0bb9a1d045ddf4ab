"""The metering API end to end: the collector on the clock, queries, alarms, /metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Cloud


def _collect(cloud: Cloud, minutes: int) -> None:
    """Let the embedded collector poll every 10 s for `minutes` of simulated time."""
    for _ in range(minutes * 6):
        cloud.settle(10)


def _series(cloud: Cloud, server_id: str, meter: str, **params: Any) -> Any:
    return cloud.client.get(f"/v1/metrics/{server_id}/{meter}", params=params,
                            headers=cloud.acme.headers)


def test_the_collector_meters_a_running_server(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme, flavor="m1.medium")
    _collect(cloud, 12)
    url = f"/v1/metrics/{server['id']}"
    meters = cloud.client.get(url, headers=cloud.acme.headers).json()["items"]
    names = {(m["meter"], m["device"]) for m in meters}
    assert {("cpu", ""), ("cpu_util", ""), ("memory.usage", ""), ("vcpus", ""),
            ("network.outgoing.bytes", ""), ("network.outgoing.bytes.rate", ""),
            ("disk.device.read.bytes", "vda")} <= names
    start = cloud.clock.now() - timedelta(minutes=10)
    body = _series(cloud, server["id"], "cpu_util", granularity="1m", aggregate="mean",
                   **{"from": start.isoformat(), "to": cloud.clock.now().isoformat()}).json()
    assert body["unit"] == "%" and len(body["points"]) >= 9
    assert all(0 <= p["value"] <= 100 for p in body["points"])
    assert body["from"].endswith("+00:00") or body["from"].endswith("Z")


def test_another_tenants_metrics_and_alarms_answer_404(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, 1)
    foreign = cloud.client.get(f"/v1/metrics/{server['id']}/vcpus", headers=cloud.globex.headers)
    assert foreign.status_code == 404
    rule = {"type": "threshold", "resource_id": server["id"], "meter": "cpu_util",
            "comparison": "gt", "threshold": 90}
    sneaky = cloud.client.post("/v1/alarms", json={"name": "spy", "rule": rule},
                               headers=cloud.globex.headers)
    assert sneaky.status_code == 404
    mine = cloud.client.post("/v1/alarms", json={"name": "hot", "rule": rule},
                             headers=cloud.acme.headers)
    assert mine.status_code == 201, mine.text
    alarm_id = mine.json()["id"]
    other = cloud.client.get(f"/v1/alarms/{alarm_id}", headers=cloud.globex.headers)
    assert other.status_code == 404
    assert cloud.client.get("/v1/alarms", headers=cloud.globex.headers).json()["items"] == []


def test_bad_input_gets_4xx_naming_the_field(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, 1)
    now = cloud.clock.now()
    window = {"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()}
    cases = [
        ("nope.meter", window, 422, "meter"),
        ("cpu_util", {"from": window["to"], "to": window["from"]}, 422, "from"),
        ("cpu_util", {**window, "granularity": "7"}, 422, "granularity"),
        ("cpu_util", {**window, "aggregate": "median"}, 422, "aggregate"),
        ("cpu_util", {"from": "2026-03-02T10:00:00", "to": window["to"]}, 422, "from"),
        ("cpu_util", {"from": (now - timedelta(days=60)).isoformat(), "to": window["to"],
                      "granularity": "60"}, 400, "granularity"),
    ]
    for meter, params, status, field in cases:
        response = _series(cloud, server["id"], meter, **params)
        assert response.status_code == status, (meter, params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == field
    rule = {"type": "threshold", "resource_id": server["id"], "meter": "cpu_util",
            "comparison": "gt", "threshold": 90, "evaluation_periods": -1}
    negative = cloud.client.post("/v1/alarms", json={"name": "x", "rule": rule},
                                 headers=cloud.acme.headers)
    assert negative.status_code == 422


def test_alarm_lifecycle_over_the_api(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    rule = {"type": "threshold", "resource_id": server["id"], "meter": "vcpus",
            "comparison": "ge", "threshold": 1, "granularity": 60, "evaluation_periods": 2}
    hook = {"type": "webhook", "url": "https://hooks.acme.example/sws",
            "secret": "0123456789abcdef"}
    created = cloud.client.post("/v1/alarms", headers=cloud.acme.headers, json={
        "name": "has-cpus", "rule": rule, "alarm_actions": [hook]}).json()
    assert created["actions"]["alarm"][0]["secret"] == "********"
    _collect(cloud, 4)
    alarm = cloud.client.get(f"/v1/alarms/{created['id']}", headers=cloud.acme.headers).json()
    assert alarm["state"] == "alarm"
    history = cloud.client.get(f"/v1/alarms/{created['id']}/history",
                               headers=cloud.acme.headers).json()["items"]
    assert history[0]["state"] == "alarm"
    patched = cloud.client.patch(f"/v1/alarms/{created['id']}", json={"enabled": False},
                                 headers=cloud.acme.headers)
    assert patched.json()["enabled"] is False
    gone = cloud.client.delete(f"/v1/alarms/{created['id']}", headers=cloud.acme.headers)
    assert gone.status_code == 204


ALARM_FIELDS = {"id", "name", "description", "rule", "actions", "repeat_actions", "enabled",
                "state", "state_reason", "state_changed_at", "evaluated_at", "created_at"}


def test_an_alarm_answers_with_its_fields_but_not_its_owner(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    rule = {"type": "threshold", "resource_id": server["id"], "meter": "vcpus",
            "comparison": "ge", "threshold": 1}
    headers = cloud.acme.headers
    created = cloud.client.post("/v1/alarms", headers=headers,
                                json={"name": "cpus", "rule": rule}).json()
    url = f"/v1/alarms/{created['id']}"
    answers = [created, cloud.client.get(url, headers=headers).json(),
               *cloud.client.get("/v1/alarms", headers=headers).json()["items"],
               cloud.client.patch(url, json={"enabled": False}, headers=headers).json()]
    assert [set(a) for a in answers] == [ALARM_FIELDS] * 4


def test_prometheus_exposes_health_and_optionally_instances(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, 1)
    scraper = TestClient(cloud.client.app, client=("127.0.0.1", 40000))  # SWS_METRICS_ALLOW
    text = scraper.get("/metrics").text
    assert "sws_metering_polls_total" in text and server["id"] not in text
    cloud.container.settings.metering_prometheus_instances = True
    text = scraper.get("/metrics").text
    assert f'instance="{server["id"]}"' in text and 'flavor="m1.small"' in text
    assert "sws_instance_network_outgoing_bytes_total" in text


def test_admin_bandwidth_is_exact_bytes_per_hour(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    _collect(cloud, 3)
    now = cloud.clock.now()
    params = {"from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}
    rows = cloud.client.get("/v1/admin/metering/bandwidth", params=params,
                            headers=cloud.admin).json()["items"]
    mine = [r for r in rows if r["resource_id"] == server["id"]]
    assert mine and all(r["unit"] == "B" and isinstance(r["bytes"], int) for r in mine)
    assert mine[0]["project_id"] == cloud.acme.id
    member = cloud.client.get("/v1/admin/metering/bandwidth", params=params,
                              headers=cloud.acme.headers)
    assert member.status_code == 403
